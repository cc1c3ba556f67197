//! `GET /v1/accounts/{id}/automerge`: one whole Automerge document.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::metrics::Transport;

/// One account's whole Automerge document (the binary save format).
///
/// Accounts outside the caller's scope are answered 404, as if unknown.
#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/automerge",
    tag = "sync",
    params(("id" = uuid::Uuid, Path, description = "The account id (a UUID).")),
    responses(
        (status = 200, description = "The document in Automerge's binary save format.", content_type = "application/octet-stream", body = crate::openapi::Binary),
        (status = 400, description = "The id is not a UUID (`invalid_id`).", body = crate::openapi::ErrorBody),
        (status = 404, description = "No account with this id that the caller may read.", body = crate::openapi::ErrorBody),
    )
)]
pub(super) async fn automerge(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::InvalidId)?;
    let bytes = state
        .backend()
        .document(id.to_string(), principal)
        .await?
        .ok_or(ApiError::NotFound("the server has no account with this id"))?;
    state.metrics().bytes_out(Transport::Http, bytes.len());
    Ok(([(CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
