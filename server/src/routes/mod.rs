//! HTTP routes. The only place that knows URLs.

mod admin;
mod directory;
mod documents;
mod health;
mod live;
mod sync;
mod whoami;
mod wipe;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, panic_response};
use crate::openapi::{Access, mark};
use crate::{auth, metrics};

/// The routes anyone may call: they hold no data.
fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(crate::openapi::openapi))
        .merge(crate::web::routes())
}

/// The routes that need a device token.
fn protected() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sync::sync))
        .routes(routes!(whoami::whoami))
        .routes(routes!(directory::directory))
        .routes(routes!(live::live))
        .routes(routes!(documents::automerge))
        .routes(routes!(health::metrics))
        .merge(crate::reports::routes::routes())
        .merge(crate::web::api_routes())
}

/// The one route a device revoked as lost may still call.
fn wiping() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(wipe::wiped))
}

/// Every route with its description, grouped by who may call it: the
/// router and `/v1/openapi.json` are both made from this.
fn groups() -> [OpenApiRouter<AppState>; 4] {
    [
        mark(public(), Access::Public),
        mark(protected(), Access::Token),
        mark(admin::routes(), Access::Admin),
        mark(wiping(), Access::Token),
    ]
}

/// Every route, unlayered, for its description.
pub(crate) fn described() -> OpenApiRouter<AppState> {
    groups().into_iter().fold(OpenApiRouter::new(), OpenApiRouter::merge)
}

/// Every route, with authentication, body limits, timeouts, metrics,
/// tracing, panic catching and the security headers.
pub fn router(state: AppState) -> Router {
    let [public, protected, admin, wiping] = groups();
    let admin = admin.route_layer(axum::middleware::from_fn(auth::require_admin));
    let protected = protected
        .merge(admin)
        .route_layer(from_fn_with_state(state.clone(), crate::min_client::require_recent_client))
        .route_layer(from_fn_with_state(state.clone(), auth::require_token));
    let wiping = wiping.route_layer(from_fn_with_state(state.clone(), auth::require_wiped_token));
    let (routes, _) = public.merge(protected).merge(wiping).split_for_parts();
    routes
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.limits().max_body_bytes))
        .layer(from_fn_with_state(state.clone(), deadline))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::map_response(crate::web::headers::add))
        .with_state(state)
}

/// Answers 408 with the JSON error when a request takes longer than the
/// configured timeout (streams and sockets are past this once they start).
async fn deadline(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(state.limits().request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => axum::response::IntoResponse::into_response(ApiError::Timeout),
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint")
}
