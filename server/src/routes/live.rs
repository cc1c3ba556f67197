//! `GET /v1/live`: the sync protocol over a WebSocket, plus server pushes.
//!
//! The client sends binary request frames; each gets a binary response
//! frame (or a text frame holding the JSON error). After other clients'
//! changes are committed, the server sends an unsolicited response computed
//! from where this client stands: the position of the last response it was
//! sent, so `Replica::sync_apply` accepts it (its `base` is the client's).

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use rapport_core::sync::{HealRequest, LogMark, SyncRequest};

use super::sync::{Exchanged, encode, exchange};
use crate::AppState;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::metrics::Transport;

/// Most pages pushed in a row after one commit; the client asks for the rest.
const MAX_PUSH_PAGES: usize = 16;
/// How long a closing socket waits for the peer's Close.
const CLOSE_HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(2);

/// The sync protocol over a WebSocket (RFC 6455), with server pushes.
///
/// Not a JSON endpoint: the client upgrades the connection, then sends binary
/// frames each holding a postcard-encoded sync request (as the body of
/// `POST /v1/sync`); each is answered by a binary frame holding the sync
/// response, or a text frame holding an `ErrorBody`. After other devices'
/// changes are stored, the server sends unsolicited responses. A message
/// larger than the body limit closes the socket with 1009; a revoked token
/// with 1008; shutdown with 1001.
#[utoipa::path(
    get,
    path = "/v1/live",
    tag = "sync",
    params(Handshake),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; frames as described above."),
        (status = 400, description = "Not a WebSocket upgrade request (`invalid_request`): connect with a WebSocket client.", body = crate::openapi::ErrorBody),
    )
)]
pub(super) async fn live(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| {
        ApiError::InvalidRequest(format!(
            "this endpoint is a WebSocket; connect with a WebSocket client ({})",
            e.body_text().to_lowercase()
        ))
    })?;
    let limit = state.limits().max_body_bytes;
    Ok(ws
        .max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| Session::new(state, principal).run(socket)))
}

/// The chunk a live socket reads at a time. tungstenite's default, 128 KiB,
/// is zero-filled at the first read and kept for the socket's life: most of
/// an idle socket's memory (docs/BENCHMARKS.md, the fleet's (g)). A push of
/// a megabyte arrives in more reads; no message is refused for it.
const READ_BUFFER: usize = 8 * 1024;

/// The headers of a WebSocket opening handshake, as the server checks them
/// (case-insensitively, as RFC 6455 says).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only describes the headers; `WebSocketUpgrade` reads them.
struct Handshake {
    /// Holds the token `upgrade`.
    #[param(rename = "Connection", pattern = "(^|,)[ \\t]*[Uu][Pp][Gg][Rr][Aa][Dd][Ee][ \\t]*(,|$)")]
    connection: String,
    /// `websocket`.
    #[param(rename = "Upgrade", pattern = "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$")]
    upgrade: String,
    /// `13`.
    #[param(rename = "Sec-WebSocket-Version", pattern = "^13$")]
    version: String,
    /// The client's handshake key.
    #[param(rename = "Sec-WebSocket-Key")]
    key: String,
}

/// Where the client stands, as of the last response it was sent.
#[derive(Debug, Clone)]
struct Position {
    base: u64,
    after: u64,
    actor: Vec<u8>,
    budget: u64,
    /// The log mark of the last response (protocol version 2; `None`: the
    /// client speaks version 1 and is answered in it).
    seen: Option<LogMark>,
}

struct Session {
    state: AppState,
    principal: Principal,
    position: Option<Position>,
}

/// Why a session ends: `None` when the peer is gone, else the Close frame to send.
type End = Option<CloseFrame>;

fn close(code: u16, reason: &str) -> End {
    Some(CloseFrame { code, reason: reason.into() })
}

impl Session {
    fn new(state: AppState, principal: Principal) -> Session {
        Session { state, principal, position: None }
    }

    async fn run(mut self, mut socket: WebSocket) {
        let metrics = self.state.metrics().clone();
        metrics.live_connected();
        let mut closing = self.state.closing().watch();
        let mut head = self.state.backend().subscribe();
        head.mark_unchanged();
        let mut revocations = self.state.revocations();
        revocations.mark_unchanged();
        let end = loop {
            if *closing.borrow_and_update() {
                break close(close_code::AWAY, "the server is shutting down");
            }
            tokio::select! {
                _ = closing.changed() => continue,
                changed = revocations.changed() => {
                    if changed.is_err() {
                        break close(close_code::AWAY, "the server is shutting down");
                    }
                    if let Err(end) = self.check_still_allowed().await {
                        break end;
                    }
                }
                changed = head.changed() => {
                    if changed.is_err() {
                        break close(close_code::AWAY, "the server is shutting down");
                    }
                    if let Err(end) = self.push_updates(&mut socket).await {
                        break end;
                    }
                }
                msg = socket.recv() => {
                    if let Err(end) = self.receive(&mut socket, msg).await {
                        break end;
                    }
                }
            }
        };
        if let Some(frame) = end
            && socket.send(Message::Close(Some(frame))).await.is_ok()
        {
            // Wait for the peer's Close (reading what it still sends), so
            // it reads our Close before the connection goes away.
            let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
                while let Some(Ok(msg)) = socket.recv().await {
                    if matches!(msg, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
        metrics.live_disconnected();
    }

    async fn receive(&mut self, socket: &mut WebSocket, msg: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        match msg {
            None | Some(Ok(Message::Close(_))) => Err(None),
            Some(Ok(Message::Binary(bytes))) => {
                if self.principal.role != Role::Admin
                    && let Err(retry_after) = self.state.limiter().check(self.principal.device_id)
                {
                    return send_error(socket, &ApiError::RateLimited { retry_after }).await;
                }
                match exchange(&self.state, &self.principal, &bytes, Transport::WebSocket).await {
                    Ok(exchanged) => self.send(socket, exchanged).await,
                    Err(ApiError::Unavailable) => Err(close(close_code::AWAY, "the server is shutting down")),
                    Err(ApiError::Unauthorized(_)) => Err(revoked()),
                    Err(e) => send_error(socket, &e).await,
                }
            }
            Some(Ok(Message::Text(_))) => {
                let e = ApiError::MalformedMessage("send sync requests as binary frames".into());
                send_error(socket, &e).await
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Err(e)) => {
                let limit = self.state.limits().max_body_bytes;
                if is_too_long(&e) {
                    tracing::info!("closing a live socket that sent an oversize message");
                    Err(close(close_code::SIZE, &format!("message too large: the limit is {limit} bytes")))
                } else {
                    tracing::debug!(error = %e, "live socket failed");
                    Err(None)
                }
            }
        }
    }

    /// Sends what other clients committed since this client's position.
    async fn push_updates(&mut self, socket: &mut WebSocket) -> Result<(), End> {
        for _ in 0..MAX_PUSH_PAGES {
            let Some(pos) = self.position.clone() else { return Ok(()) };
            let request = SyncRequest {
                base: pos.base,
                after: pos.after,
                actor: pos.actor.clone(),
                push: Vec::new(),
                max_pull_bytes: pos.budget,
                v2: pos.seen.map(|seen| HealRequest { seen: Some(seen), ..HealRequest::default() }),
            };
            let response = match self.state.backend().sync(request, self.principal.clone()).await {
                Ok((response, _)) => response,
                Err(e) => {
                    return match e {
                        ApiError::Unavailable => Err(close(close_code::AWAY, "the server is shutting down")),
                        ApiError::Unauthorized(_) => Err(revoked()),
                        _ => Ok(()),
                    };
                }
            };
            if response.pull.is_empty() && response.removed.is_empty() {
                // Nothing new for this client (e.g. its own changes): send nothing.
                return Ok(());
            }
            let exchanged = encode(pos.actor, pos.budget, response);
            let more = exchanged.more;
            self.state.metrics().live_pushed();
            self.send(socket, exchanged).await?;
            if !more {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Ends the session if this device was revoked or its user deleted.
    async fn check_still_allowed(&self) -> Result<(), End> {
        let device = self.principal.device_id;
        // Fails closed: a node that cannot tell whether the device may still
        // connect ends the session, and the client reconnects (and is checked) anew.
        match self.state.backend().directory(move |d, _| Ok(d.device_active(device)?)).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(revoked()),
            Err(ApiError::Unavailable) => Err(close(close_code::AWAY, "the server is shutting down")),
            Err(_) => Err(close(close_code::AGAIN, "the server cannot check this device's access now; reconnect")),
        }
    }

    /// Sends a response and moves the tracked position as the client will.
    async fn send(&mut self, socket: &mut WebSocket, exchanged: Exchanged) -> Result<(), End> {
        let Exchanged { actor, budget, base, after, more, seen, heal, encoded } = exchanged;
        self.state.metrics().bytes_out(Transport::WebSocket, encoded.len());
        socket.send(Message::Binary(encoded.into())).await.map_err(|_| None)?;
        // A client told to heal pulls again from 0 with its next request:
        // nothing is sent unasked until then.
        self.position =
            (!heal).then_some(Position { base: if more { base } else { after }, after, actor, budget, seen });
        Ok(())
    }
}

/// The Close frame for a device whose token stopped being valid.
fn revoked() -> End {
    tracing::info!("closing a live socket whose device token was revoked");
    close(close_code::POLICY, "the device token was revoked")
}

async fn send_error(socket: &mut WebSocket, e: &ApiError) -> Result<(), End> {
    socket.send(Message::Text(e.body().to_string().into())).await.map_err(|_| None)
}

/// Whether the socket failed because a message or frame passed the size limit.
/// axum does not expose tungstenite's error type, so this reads its message.
fn is_too_long(e: &axum::Error) -> bool {
    let text = e.to_string();
    text.contains("too long") || text.contains("Space limit exceeded")
}
