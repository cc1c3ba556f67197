//! The API description served at `/v1/openapi.json`, generated from the
//! routes themselves (`utoipa`): each handler carries its `#[utoipa::path]`
//! and is registered with `utoipa_axum::routes!`, which adds the route and
//! its description together. What every route shares (the bearer token, the
//! error body, the answers any request can get) is added here, from the same
//! groups of routes that `routes::router` puts behind the token and admin
//! middleware.

use std::sync::LazyLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The name of the bearer-token security scheme.
const BEARER: &str = "bearer";

/// `{"error": {"code", "message"}}`: the body of every error answer
/// (`crate::error::ApiError`), also sent as a text frame on the live socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `bad_request`, `unauthorized`, `rate_limited`.
    pub code: String,
    /// A plain sentence saying what to do; it never carries customer data.
    pub message: String,
    /// `client_too_old` only: the oldest client release the server accepts, e.g. `0.2.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<String>,
}

/// Raw bytes (`application/octet-stream`): sync messages and Automerge documents.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Rapport server API",
        version = "1",
        description = "Rapport's sync server: the batched sync protocol (binary, over HTTP and a \
            WebSocket; see docs/PROTOCOL.md), the manager reports, the admin API and the \
            operational endpoints. Every endpoint except `/healthz`, `/v1/openapi.json` and the \
            dashboard page needs `Authorization: Bearer <device token>`; `/v1/admin/...` needs \
            a device of an admin user. Every error answer is an `ErrorBody`. Reports are \
            restricted to what the caller may read (admin and office: all; manager: own and \
            team accounts; rep: own and territory accounts); amounts are integer minor units \
            per currency; instants are milliseconds since the Unix epoch (UTC)."
    ),
    servers((url = "/")),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerScheme)
)]
struct Base;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A device token (64 hex digits) issued by the admin API or `rapport-server user add`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Who may call a group of routes; decides the answers added to each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// No token needed.
    Public,
    /// A device token (`auth::require_token`).
    Token,
    /// A device token of an admin user (`auth::require_admin` too).
    Admin,
}

/// Adds to every operation of `group` what its access implies: the security
/// requirement, 401, 429 and 503 (while the server shuts down) for a token,
/// 403 for the admin API, and the answers any request can get (408 from the
/// deadline, 500).
pub(crate) fn mark(mut group: OpenApiRouter<AppState>, access: Access) -> OpenApiRouter<AppState> {
    let doc = group.get_openapi_mut();
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            if access != Access::Public {
                op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                add(op, "401", "No, an invalid, unknown or revoked device token.");
                add(
                    op,
                    "426",
                    "The client is older than the server's minimum (`client_too_old`; `minimum` names the release to update to). Its unsent changes stay on the device.",
                );
                add(
                    op,
                    "410",
                    "The device was revoked as lost (`device_wiped`): it must erase its local data and report it with `POST /v1/device/wiped`.",
                );
                let limited = ResponseBuilder::new()
                    .description("Too many requests from this (non-admin) device; retry after `Retry-After` seconds.")
                    .header(
                        "Retry-After",
                        HeaderBuilder::new().schema(u64_schema()).description(Some("Seconds to wait.")).build(),
                    )
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                    )
                    .build();
                op.responses.responses.entry("429".into()).or_insert(limited.into());
            }
            if access == Access::Admin {
                add(op, "403", "The token's user is not an admin.");
            }
            add(op, "408", "The request took longer than the server's request timeout.");
            add(op, "500", "An internal error; it is logged on the server.");
            if access != Access::Public {
                // Checking the token reads the database, which is closed while the server stops.
                add(op, "503", "The server is shutting down; retry shortly.");
            }
        }
    }
    group
}

/// An error answer with the `ErrorBody`, unless the operation already describes `status`.
fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.into()).or_insert_with(|| error_response(description).into());
}

/// A response described by `description` whose body is an `ErrorBody`.
pub(crate) fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build()
}

fn u64_schema() -> utoipa::openapi::ObjectBuilder {
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::Integer).minimum(Some(1))
}

/// Every operation of a path item.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The description of every route, with the shared parts.
pub(crate) fn document() -> OpenApi {
    OpenApiRouter::with_openapi(<Base as utoipa::OpenApi>::openapi()).merge(crate::routes::described()).into_openapi()
}

/// The description as served (built once).
static DOCUMENT: LazyLock<String> = LazyLock::new(|| match serde_json::to_string_pretty(&document()) {
    Ok(json) => json,
    Err(e) => {
        tracing::error!(error = %e, "cannot serialize the API description");
        String::from("{}")
    }
});

/// This description.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "This OpenAPI description.", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.as_str()).into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::error::ApiError;

    #[test]
    fn every_error_body_is_an_error_body() {
        for e in [
            ApiError::Unauthorized("no"),
            ApiError::BadRequest("query parameter `team`: must not be empty".into()),
            ApiError::PayloadTooLarge { limit: 10 },
            ApiError::Unavailable,
        ] {
            let body: ErrorBody = serde_json::from_value(e.body()).unwrap();
            assert_eq!(body.error.code, e.code());
        }
    }

    #[test]
    fn the_description_serializes_and_names_its_schemas() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let text = DOCUMENT.as_str();
        // Every `$ref` names a schema the description holds.
        for piece in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            assert!(doc["components"]["schemas"][name].is_object(), "{name} is referenced but not described");
        }
    }
}
