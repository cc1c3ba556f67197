//! HTTP routes. The only place that knows URLs.

mod admin;
mod documents;
mod health;
mod live;
mod me;
mod sync;
mod whoami;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::{ApiError, panic_response};
use crate::{auth, metrics};

/// Every route, with authentication, body limits, timeouts, metrics,
/// tracing and panic catching.
pub fn router(state: AppState) -> Router {
    let admin = admin::routes().route_layer(axum::middleware::from_fn(auth::require_admin));
    let protected = Router::new()
        .merge(admin)
        .route("/v1/sync", post(sync::sync))
        .route("/v1/whoami", get(whoami::whoami))
        .route("/v1/live", get(live::live))
        .route("/v1/me/rules", get(me::rules))
        .route("/v1/accounts/{id}/automerge", get(documents::automerge))
        .route("/metrics", get(health::metrics))
        .merge(crate::reports::routes::routes())
        .merge(crate::web::api_routes())
        .route_layer(from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/v1/openapi.json", get(crate::reports::routes::openapi))
        .merge(crate::web::routes())
        .merge(protected)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.limits().max_body_bytes))
        .layer(from_fn_with_state(state.clone(), deadline))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(panic_response))
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
