//! `POST /v1/sync`, and the exchange it shares with the live socket.

use std::time::Instant;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use rapport_core::sync::{LogMark, Message, SyncResponse};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::metrics::Transport;

/// One sync exchange: a binary `SyncRequest` in, a binary `SyncResponse` out.
///
/// Both are postcard-encoded `rapport_core::sync::Message`s (docs/PROTOCOL.md):
/// the request carries the changes the device pushes and where it stands; the
/// response what the server stored, refused and sends back. Nothing is
/// acknowledged before it is on disk.
#[utoipa::path(
    post,
    path = "/v1/sync",
    tag = "sync",
    request_body(content = crate::openapi::Binary, content_type = "application/octet-stream", description = "A postcard-encoded sync request (docs/PROTOCOL.md)."),
    responses(
        (status = 200, description = "A postcard-encoded sync response.", content_type = "application/octet-stream", body = crate::openapi::Binary),
        (status = 400, description = "The body is not a sync request (`malformed_message`), is of an unsupported protocol version (`unsupported_version`), or could not be read (`bad_request`).", body = crate::openapi::ErrorBody),
        (status = 403, description = "The request's actor id is bound to another device (`forbidden`).", body = crate::openapi::ErrorBody),
        (status = 413, description = "The body exceeds the server's size limit (`payload_too_large`).", body = crate::openapi::ErrorBody),
    )
)]
pub(super) async fn sync(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| ApiError::from_body(r, state.limits().max_body_bytes))?;
    let exchanged = exchange(&state, &principal, &body, Transport::Http).await?;
    state.metrics().bytes_out(Transport::Http, exchanged.encoded.len());
    Ok(([(CONTENT_TYPE, "application/octet-stream")], exchanged.encoded).into_response())
}

/// One answered request, with what the live socket tracks of it.
pub(super) struct Exchanged {
    /// The requester's actor and pull budget.
    pub(super) actor: Vec<u8>,
    pub(super) budget: u64,
    /// The response's base, resume point and whether more waits.
    pub(super) base: u64,
    pub(super) after: u64,
    pub(super) more: bool,
    /// Version 2: the log mark the response carried (`None`: version 1), and
    /// whether it told the client to heal (it re-pulls from 0 next).
    pub(super) seen: Option<LogMark>,
    pub(super) heal: bool,
    pub(super) encoded: Vec<u8>,
}

/// Decodes a request, handles it durably, and encodes the response in the
/// request's protocol version.
pub(super) async fn exchange(
    state: &AppState,
    principal: &Principal,
    bytes: &[u8],
    transport: Transport,
) -> Result<Exchanged, ApiError> {
    let started = Instant::now();
    state.metrics().bytes_in(transport, bytes.len());
    let message = Message::decode(bytes)?;
    crate::min_client::check_protocol(state, message.version())?;
    let mut request = match message {
        Message::Request(r) => r,
        Message::Response(_) => {
            return Err(ApiError::MalformedMessage("expected a sync request, got a sync response".into()));
        }
    };
    request.max_pull_bytes = request.max_pull_bytes.min(state.limits().max_pull_bytes);
    let (actor, budget) = (request.actor.clone(), request.max_pull_bytes);
    let (response, stats) = state.backend().sync(request, principal.clone()).await?;
    let exchanged = encode(actor, budget, response);
    state.metrics().sync_latency(started.elapsed());
    tracing::debug!(
        user = principal.user_id,
        device = principal.device_id,
        stored = stats.docs_stored,
        rejected = stats.docs_rejected,
        sent = stats.docs_sent,
        "sync"
    );
    Ok(exchanged)
}

pub(super) fn encode(actor: Vec<u8>, budget: u64, response: SyncResponse) -> Exchanged {
    let (base, after, more) = (response.base, response.after, response.more);
    let (seen, heal) = match &response.v2 {
        Some(ext) => (Some(ext.log), ext.heal),
        None => (None, false),
    };
    Exchanged { actor, budget, base, after, more, seen, heal, encoded: Message::Response(response).encode() }
}
