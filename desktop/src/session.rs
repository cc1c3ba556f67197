//! Who may use the app: the person who ran `rapport app`.
//!
//! The app listens on 127.0.0.1 only, but any program on the machine, and
//! any web page the user visits, can send requests there. So:
//!
//! * `rapport app` makes a random one-time **secret** and opens
//!   `http://127.0.0.1:PORT/open?secret=…`. `GET /open` takes the secret once
//!   and answers with a session **cookie** (`HttpOnly`, `SameSite=Strict`,
//!   random, never in a URL) and a redirect to `/`. The secret is then spent:
//!   the link in the browser's history opens nothing.
//! * Every `/api/…` request needs that cookie, else `401 unauthorized`.
//!   `SameSite=Strict` keeps other sites' pages from sending it; a JSON body
//!   (`Content-Type: application/json`, which a plain form cannot send) is
//!   required for every edit.
//! * Every request must name this app in `Host` (`127.0.0.1:PORT` or
//!   `localhost:PORT`), so a page of another site reaching the port through a
//!   DNS name that resolves to 127.0.0.1 (DNS rebinding) is refused.

use std::sync::Mutex;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, DesktopError};

/// The session cookie's name starts so; the app's port follows, because
/// browsers keep cookies per host, not per port: two apps open in one
/// browser (two replicas, two users) would otherwise sign each other out.
pub const COOKIE_PREFIX: &str = "rapport_session_";

/// The secret of the link and the session it opens.
#[derive(Debug)]
pub(crate) struct Session {
    /// The one-time secret, until it is used.
    secret: Mutex<Option<String>>,
    /// The session cookie's value.
    token: String,
    /// The port the app listens on, for the `Host` check.
    port: u16,
}

/// 32 random bytes as hex.
fn random_hex() -> Result<String, DesktopError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DesktopError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Session {
    pub(crate) fn new(port: u16) -> Result<Session, DesktopError> {
        Ok(Session { secret: Mutex::new(Some(random_hex()?)), token: random_hex()?, port })
    }

    /// The secret, for the link; `None` once it was used.
    pub(crate) fn secret(&self) -> Option<String> {
        self.secret.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Takes the secret if `candidate` is it: true once, false ever after.
    fn redeem(&self, candidate: &str) -> bool {
        let mut secret = self.secret.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match secret.as_deref() {
            Some(s) if same(s, candidate) => {
                *secret = None;
                true
            }
            _ => false,
        }
    }

    /// The session cookie's name: [`COOKIE_PREFIX`] and the port.
    fn cookie_name(&self) -> String {
        format!("{COOKIE_PREFIX}{}", self.port)
    }

    fn has_cookie(&self, headers: &HeaderMap) -> bool {
        let own = self.cookie_name();
        headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).any(|pair| {
            pair.trim().split_once('=').is_some_and(|(name, value)| name == own && same(value, &self.token))
        })
    }

    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else { return false };
        let port = self.port.to_string();
        matches!(host.rsplit_once(':'), Some(("127.0.0.1" | "localhost", p)) if p == port)
    }
}

#[derive(Deserialize)]
pub(crate) struct OpenQuery {
    #[serde(default)]
    secret: String,
}

/// `GET /open?secret=…`: the one-time link. The right secret, once, gets the
/// session cookie and a redirect to the app; anything else gets 401.
pub(crate) async fn open(State(state): State<AppState>, query: Result<Query<OpenQuery>, QueryRejection>) -> Response {
    let candidate = query.map(|Query(q)| q.secret).unwrap_or_default();
    if !state.session.redeem(&candidate) {
        return ApiError::SecretRefused.into_response();
    }
    let cookie = format!("{}={}; HttpOnly; SameSite=Strict; Path=/", state.session.cookie_name(), state.session.token);
    (StatusCode::SEE_OTHER, [(SET_COOKIE, cookie.as_str()), (LOCATION, "/"), (CACHE_CONTROL, "no-store")])
        .into_response()
}

/// Refuses a request whose `Host` is not this app's (every route).
pub(crate) async fn require_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.session.host_allowed(request.headers()) {
        return ApiError::WrongHost.into_response();
    }
    next.run(request).await
}

/// Refuses an API request without the session cookie.
pub(crate) async fn require_cookie(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.session.has_cookie(request.headers()) {
        return ApiError::Unauthorized.into_response();
    }
    next.run(request).await
}
