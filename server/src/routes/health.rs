//! `/healthz` and `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::openapi::ErrorBody;

/// `200 ok` while the server takes writes. While its disk is full (the last
/// write failed for it, none succeeded since): `503` with
/// `{"status": "degraded", "error": {"code": "server_storage_full", …}}`, so
/// that monitoring sees it and a 0.1.0 client's health check shows the message.
/// A node serving from PostgreSQL asks its database: while it cannot be
/// reached (a failover under way), `503` with `server_unavailable`, so that
/// a load balancer sends clients elsewhere.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The server is up and takes writes.", content_type = "text/plain; charset=utf-8", body = String, example = "ok"),
        (status = 503, description = "Degraded: the server's disk is full (`server_storage_full`); reads still work. Or, on PostgreSQL, the database cannot be reached (`server_unavailable`).", body = ErrorBody),
    )
)]
pub(super) async fn healthz(State(state): State<AppState>) -> Response {
    let problem = match state.backend().reachable().await {
        Err(e) => e,
        Ok(()) if state.metrics().storage_is_full() => ApiError::StorageFull,
        Ok(()) => return "ok".into_response(),
    };
    let mut body = problem.body();
    body["status"] = json!("degraded");
    // 503 whatever the cause (not the 507 a write gets for a full disk):
    // what monitors and 0.1.0 clients' health checks expect of a degraded server.
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// The server's metrics in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Every metric in the OpenMetrics text format, each sample labelled with the node's name.", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String))
)]
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.backend().refresh_gauges().await;
    ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], state.metrics().render())
}
