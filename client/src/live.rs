//! The live connection: `GET /v1/live` over WebSocket.
//!
//! The socket carries the same messages as `POST /v1/sync`, in binary frames.
//! [`Client::watch`] syncs over it first, then applies the responses the
//! server sends on its own when other devices' changes land, and pushes local
//! changes every [`WatchOptions::push_interval`] or when
//! [`LiveControl::push_now`] is called.
//!
//! The replica is shared as `Arc<Mutex<Replica>>` and locked only for the
//! synchronous `sync_request` / `sync_apply` calls, never across a network
//! wait, so the app can keep reading and editing while the socket is open.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rapport_core::sync::SyncResponse;
use rapport_core::{PushPlan, Replica, SyncLimits};
use reqwest::header::{AUTHORIZATION, HeaderValue, USER_AGENT};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message as Frame};

use crate::client::Client;
use crate::error::{ClientError, root_cause, with_hint};
use crate::retry::RetryPolicy;
use crate::sync::{MAX_IDLE_ROUNDS, SyncSummary, made_progress, next_request};

/// Largest frame accepted from the server. A pull page is capped by the byte
/// budget, but one large document is always sent whole.
const MAX_FRAME_BYTES: usize = 256 << 20;

/// What [`Client::watch`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// The socket is open; the initial sync starts.
    Connected { url: String },
    /// The initial sync over the socket finished.
    Synced(SyncSummary),
    /// One later exchange moved something: changes from other devices were
    /// applied, local changes were stored, or the server refused a document.
    Update(SyncSummary),
}

/// Asks a running [`Client::watch`] to push now or to stop. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LiveControl {
    inner: Arc<ControlInner>,
}

#[derive(Debug, Default)]
struct ControlInner {
    push: Notify,
    stop: Notify,
    stopped: AtomicBool,
}

impl LiveControl {
    pub fn new() -> LiveControl {
        LiveControl::default()
    }

    /// Push local changes now instead of at the next interval.
    pub fn push_now(&self) {
        self.inner.push.notify_one();
    }

    /// Close the socket cleanly; `watch` then returns `Ok(())`.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.stop.notify_one();
    }

    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }
}

/// How [`Client::watch`] behaves.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub limits: SyncLimits,
    /// How often local changes are pushed (and the connection pinged).
    pub push_interval: Duration,
    pub control: LiveControl,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            limits: SyncLimits::default(),
            push_interval: Duration::from_secs(5),
            control: LiveControl::new(),
        }
    }
}

/// The request sent and not answered yet.
struct InFlight {
    plan: PushPlan,
    sent: SyncSummary,
    position: (u64, u64),
    deadline: Instant,
}

/// Locks the replica. A panic elsewhere while holding it cannot leave the
/// replica half-written (every write is one SQLite transaction), so a
/// poisoned lock is taken over.
fn lock(replica: &Mutex<Replica>) -> MutexGuard<'_, Replica> {
    replica.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Client {
    /// Stays connected to `GET /v1/live`: syncs, then applies what the server
    /// sends as other devices' changes land, and pushes local changes.
    ///
    /// Returns `Ok(())` after [`LiveControl::stop`], and an error when the
    /// connection fails or closes; callers reconnect (with a pause) when
    /// [`ClientError::is_transient`] says so. Dropping the future closes the
    /// socket without a close frame.
    pub async fn watch(
        &self,
        replica: Arc<Mutex<Replica>>,
        options: &WatchOptions,
        mut on_event: impl FnMut(LiveEvent),
    ) -> Result<(), ClientError> {
        let control = &options.control;
        let url = self.endpoint.websocket("v1/live");
        let mut request = url.as_str().into_client_request().map_err(|e| self.ws_error(e))?;
        request.headers_mut().insert(AUTHORIZATION, self.auth.clone());
        // The release, so a server with a minimum client version can refuse it (426) before the upgrade.
        request.headers_mut().insert(USER_AGENT, HeaderValue::from_static(crate::client::USER_AGENT_VALUE));
        let config =
            WebSocketConfig::default().max_message_size(Some(MAX_FRAME_BYTES)).max_frame_size(Some(MAX_FRAME_BYTES));
        let connector = tokio_tungstenite::Connector::Rustls(self.tls.clone());
        let connect = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, Some(connector));
        let (socket, _) = tokio::time::timeout(self.options.connect_timeout, connect)
            .await
            .map_err(|_| ClientError::Network {
                url: self.endpoint.base().to_owned(),
                reason: format!(
                    "no answer within {} s; check the network connection and try again",
                    self.options.connect_timeout.as_secs()
                ),
            })?
            .map_err(|e| self.ws_error(e))?;
        on_event(LiveEvent::Connected { url: url.to_string() });
        let (mut sink, mut stream) = socket.split();

        let mut tick = tokio::time::interval(options.push_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.reset();
        let mut in_flight: Option<InFlight> = None;
        let mut want_request = true;
        let mut initial: Option<SyncSummary> = Some(SyncSummary::default());
        let mut idle = 0usize;
        // The pull position after this connection's last exchange: another
        // program syncing the same replica (`rapport sync` beside watch) moves
        // it, and the server's pushes to this connection then answer a
        // position the replica left; a request from the new one catches up.
        let mut exchanged_at: Option<(u64, u64)> = None;

        loop {
            if control.is_stopped() {
                sink.send(Frame::Close(None)).await.ok();
                return Ok(());
            }
            if want_request && in_flight.is_none() {
                let mut sent = SyncSummary::default();
                let (bytes, plan, position) = {
                    let mut r = lock(&replica);
                    let position = r.sync_position()?;
                    let (bytes, plan) = next_request(&mut r, options.limits, &mut sent, self.v1_only())?;
                    (bytes, plan, position)
                };
                sink.send(Frame::Binary(bytes.into())).await.map_err(|e| self.ws_error(e))?;
                in_flight =
                    Some(InFlight { plan, sent, position, deadline: Instant::now() + self.options.request_timeout });
                want_request = false;
            }
            let deadline = in_flight.as_ref().map(|f| f.deadline);
            tokio::select! {
                _ = control.inner.stop.notified() => {}
                _ = control.inner.push.notified() => {
                    want_request = true;
                    idle = 0;
                }
                _ = tick.tick() => {
                    let (unsynced, position) = {
                        let r = lock(&replica);
                        (r.unsynced_count()?, r.sync_position()?)
                    };
                    let moved = exchanged_at.is_some_and(|at| at != position);
                    if unsynced > 0 || moved {
                        want_request = true;
                        idle = 0;
                    } else {
                        sink.send(Frame::Ping(Vec::new().into())).await.map_err(|e| self.ws_error(e))?;
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    return Err(ClientError::Network {
                        url: self.endpoint.base().to_owned(),
                        reason: format!(
                            "the live connection did not answer within {} s; it will be reopened",
                            self.options.request_timeout.as_secs()
                        ),
                    });
                }
                frame = stream.next() => {
                    let bytes = match frame {
                        Some(Ok(Frame::Binary(bytes))) => bytes,
                        Some(Ok(Frame::Text(text))) => {
                            let e = self.text_frame_error(text.as_bytes());
                            // A 0.1.0 server: the reopened connection speaks version 1.
                            self.refused_v2(&e);
                            return Err(e);
                        }
                        Some(Ok(Frame::Close(close))) => return Err(self.closed(close.map(|c| c.reason.to_string()))),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(self.ws_error(e)),
                        None => return Err(self.closed(None)),
                    };
                    let response = self.decode_response(&bytes)?;
                    let outcome = self.apply_live(&replica, &mut in_flight, &response, bytes.len())?;
                    let Some((summary, answered, progressed)) = outcome else {
                        want_request = true;
                        continue;
                    };
                    let unsynced = lock(&replica).unsynced_count()?;
                    exchanged_at = Some(lock(&replica).sync_position()?);
                    if answered {
                        idle = if progressed { 0 } else { idle + 1 };
                    }
                    // A replica healing a restored server announces its documents next.
                    let healing = lock(&replica).heal_pending()? > 0;
                    // A replica restored from a device backup pulls everything
                    // again, then pushes what it rebuilt (ADR 0013).
                    let restoring = summary.replica_restored || summary.rebuilt_after_restore > 0;
                    want_request =
                        response.more || healing || restoring || (unsynced > 0 && idle < MAX_IDLE_ROUNDS);
                    match initial.as_mut() {
                        Some(total) => {
                            total.add(&summary);
                            if in_flight.is_none() && !want_request {
                                let total = initial.take().unwrap_or_default();
                                on_event(LiveEvent::Synced(total));
                            }
                        }
                        None if !summary.is_noop() => on_event(LiveEvent::Update(summary)),
                        None => {}
                    }
                }
            }
        }
    }

    /// [`Client::watch`] again and again: after a transient failure it waits
    /// as `policy` says (the server's `Retry-After`, else a capped, jittered
    /// backoff that starts over once a connection has synced) and reconnects.
    /// `on_retry` is told each failure and the wait. Returns `Ok(())` after
    /// [`LiveControl::stop`], or the first error that is not transient, or
    /// the last one when `policy` gives up.
    pub async fn watch_reconnecting(
        &self,
        replica: Arc<Mutex<Replica>>,
        options: &WatchOptions,
        policy: &RetryPolicy,
        mut on_event: impl FnMut(LiveEvent),
        mut on_retry: impl FnMut(&ClientError, Duration),
    ) -> Result<(), ClientError> {
        let control = &options.control;
        let mut backoff = policy.start();
        loop {
            let mut synced = false;
            let result = self
                .watch(replica.clone(), options, |event| {
                    synced |= matches!(event, LiveEvent::Synced(_));
                    on_event(event)
                })
                .await;
            if synced {
                backoff.reset();
            }
            let e = match result {
                Ok(()) => return Ok(()),
                Err(_) if control.is_stopped() => return Ok(()),
                Err(e) => e,
            };
            // Every transient failure reconnects (a stalled exchange or a 5xx
            // too: the socket starts over), after the policy's wait.
            let wait = if e.is_transient() { backoff.next_wait(e.retry_after()) } else { None };
            let Some(wait) = wait else { return Err(e) };
            on_retry(&e, wait);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = control.inner.stop.notified() => return Ok(()),
            }
            if control.is_stopped() {
                return Ok(());
            }
        }
    }

    /// Applies one response from the socket. Returns `None` for a stale
    /// response (computed against an older pull position; a new request
    /// follows), else what it did, whether it answered our request, and
    /// whether that exchange made progress.
    fn apply_live(
        &self,
        replica: &Mutex<Replica>,
        in_flight: &mut Option<InFlight>,
        response: &SyncResponse,
        received: usize,
    ) -> Result<Option<(SyncSummary, bool, bool)>, ClientError> {
        let mut r = lock(replica);
        let (base, _) = r.sync_position()?;
        if response.base != base {
            // Our request's answer was overtaken by an unsolicited response:
            // its acknowledgements are dropped, and the next request pushes again
            // (the server stores each change once).
            *in_flight = None;
            return Ok(None);
        }
        let answers = match in_flight {
            Some(f) => f.plan.is_empty() || !response.acks.is_empty(),
            None => false,
        };
        let (plan, mut summary, position) = match (answers, in_flight.take()) {
            (true, Some(f)) => (f.plan, f.sent, f.position),
            (_, pending) => {
                *in_flight = pending;
                (PushPlan::default(), SyncSummary::default(), r.sync_position()?)
            }
        };
        let report = match r.sync_apply(&plan, response) {
            Ok(report) => report,
            // Another handle (a `rapport sync` beside watch) moved the position meanwhile.
            Err(rapport_core::Error::SyncPositionMoved) => {
                *in_flight = None;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        summary.count_response(response, &report, received);
        let progressed = made_progress(&report, response, position);
        Ok(Some((summary, answers, progressed)))
    }

    fn ws_error(&self, e: tungstenite::Error) -> ClientError {
        let url = self.endpoint.base().to_owned();
        match e {
            tungstenite::Error::Http(response) => {
                let body = response.body().clone().unwrap_or_default();
                let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok());
                ClientError::from_status(&url, response.status().as_u16(), retry_after, &body)
            }
            tungstenite::Error::Capacity(c) => {
                ClientError::Protocol { url, reason: format!("a live frame is too large ({c})") }
            }
            tungstenite::Error::Protocol(p) => {
                ClientError::Protocol { url, reason: format!("WebSocket protocol error ({p})") }
            }
            tungstenite::Error::Url(u) => ClientError::InvalidUrl { url, reason: u.to_string() },
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => self.closed(None),
            other => match crate::tls::untrusted_reason(&other) {
                Some(reason) => ClientError::UntrustedCertificate { url, reason },
                None => ClientError::Network { url, reason: with_hint(&root_cause(&other)) },
            },
        }
    }

    fn closed(&self, reason: Option<String>) -> ClientError {
        let reason = match reason.filter(|r| !r.is_empty()) {
            Some(r) => format!("the server closed the live connection ({r})"),
            None => "the server closed the live connection".to_owned(),
        };
        ClientError::Network { url: self.endpoint.base().to_owned(), reason }
    }

    /// The server sends errors on the socket as JSON text frames (without
    /// headers: a rate limit's wait is in its message only).
    fn text_frame_error(&self, text: &[u8]) -> ClientError {
        let status = serde_json::from_slice::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.pointer("/error/code").and_then(|c| c.as_str()).map(str::to_owned))
            .map_or(400, |code| match code.as_str() {
                "unauthorized" => 401,
                "device_wiped" => 410,
                "client_too_old" => 426,
                "rate_limited" => 429,
                "server_unavailable" => 503,
                "server_storage_full" => 507,
                _ => 400,
            });
        ClientError::from_status(self.endpoint.base(), status, None, text)
    }
}
