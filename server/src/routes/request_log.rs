//! One log event per request: method, matched route, status, latency and
//! the authenticated device. Never the path's values, the query string,
//! headers or a body: those can hold customer data (account ids, names in a
//! report filter) or secrets.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The event's target, for filtering (`RUST_LOG=rapport_server::request=info`).
pub(crate) const TARGET: &str = "rapport_server::request";

/// The device a response was made for, put in the response's extensions by
/// the token middleware (`auth::require_token`), which runs inside this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedDevice(pub i64);

/// Logs the request once its response is ready (for a WebSocket: once upgraded).
pub(crate) async fn log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // The route's pattern (`/v1/admin/users/{name}`), never the path itself.
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let device = response.extensions().get::<ServedDevice>().map(|d| d.0);
    if response.status().is_server_error() {
        tracing::warn!(target: TARGET, method = %method, route = %route, status, latency_ms, device, "request");
    } else {
        tracing::info!(target: TARGET, method = %method, route = %route, status, latency_ms, device, "request");
    }
    response
}
