//! The oldest client the server accepts (`serve --min-client-version`).
//!
//! A client below it is answered `426 Upgrade Required` with code
//! `client_too_old` and the minimum version, and keeps its unsynced edits
//! (docs/COMPATIBILITY.md). Two signs tell a client's release:
//!
//! * the `User-Agent: rapport-client/X.Y.Z` header every release's HTTP
//!   requests carry (0.1.0 included; the WebSocket upgrade carries it from
//!   0.2.0 on), judged on every route behind the device token;
//! * the protocol version of each sync request (HTTP and live socket): a
//!   release speaks at most the protocol version of [`RELEASES`], so a
//!   minimum of 0.2.0 also refuses version-1 requests (what 0.1.0 sends on
//!   its live socket, which has no `User-Agent`).
//!
//! Requests that carry neither (tools, `curl`, the dashboard in a browser)
//! are judged only by their protocol version.

use std::fmt;
use std::str::FromStr;

use axum::extract::{Request, State};
use axum::http::header::USER_AGENT;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::ApiError;

/// A release number, `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ClientVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> ClientVersion {
        ClientVersion { major, minor, patch }
    }

    /// The highest sync protocol version the release speaks (its requests
    /// are in it): what a minimum of this release asks of sync requests.
    pub fn protocol(self) -> u16 {
        RELEASES.iter().rev().find(|(release, _)| *release <= self).map_or(1, |(_, protocol)| *protocol)
    }

    /// The client release a `User-Agent` header names (`rapport-client/X.Y.Z`).
    pub fn from_user_agent(header: &str) -> Option<ClientVersion> {
        let version = header.split_whitespace().next()?.strip_prefix("rapport-client/")?;
        // A pre-release (`0.3.0-rc.1`) counts as its release.
        version.split(['-', '+']).next()?.parse().ok()
    }
}

/// Each release and the sync protocol version it writes.
pub const RELEASES: &[(ClientVersion, u16)] = &[(ClientVersion::new(0, 1, 0), 1), (ClientVersion::new(0, 2, 0), 2)];

/// Why a `--min-client-version` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("expected a version like 0.2.0 (three numbers separated by dots)")]
    Malformed,
}

impl FromStr for ClientVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<ClientVersion, VersionError> {
        let mut parts = s.trim().split('.').map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::Malformed);
            }
            p.parse::<u32>().map_err(|_| VersionError::Malformed)
        });
        let (Some(major), Some(minor), Some(patch), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VersionError::Malformed);
        };
        Ok(ClientVersion::new(major?, minor?, patch?))
    }
}

impl fmt::Display for ClientVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Parses `--min-client-version`. It may name a release newer than this
/// server: newer clients sync with older servers (docs/COMPATIBILITY.md).
pub fn parse_minimum(s: &str) -> Result<ClientVersion, VersionError> {
    s.parse()
}

/// Refuses a request whose `User-Agent` names a release below the minimum.
pub async fn require_recent_client(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(minimum) = state.min_client() {
        let version =
            req.headers().get(USER_AGENT).and_then(|h| h.to_str().ok()).and_then(ClientVersion::from_user_agent);
        if version.is_some_and(|v| v < minimum) {
            return Err(ApiError::ClientTooOld { minimum });
        }
    }
    Ok(next.run(req).await)
}

/// Refuses a sync request in a protocol version below the minimum's.
pub fn check_protocol(state: &AppState, version: u16) -> Result<(), ApiError> {
    match state.min_client() {
        Some(minimum) if version < minimum.protocol() => Err(ApiError::ClientTooOld { minimum }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn versions_parse_compare_and_name_their_protocol() {
        let v = |s: &str| s.parse::<ClientVersion>().unwrap();
        assert!(v("0.1.0") < v("0.2.0") && v("0.2.0") < v("0.10.0") && v("0.9.9") < v("1.0.0"));
        for bad in ["", "0.2", "0.2.0.1", "a.b.c", "0.2.-1", "0..1", " 1.2.x"] {
            assert_eq!(bad.parse::<ClientVersion>(), Err(VersionError::Malformed), "{bad:?}");
        }
        assert_eq!((v("0.1.0").protocol(), v("0.1.5").protocol(), v("0.2.0").protocol()), (1, 1, 2));
        assert_eq!(ClientVersion::from_user_agent("rapport-client/0.1.0"), Some(v("0.1.0")));
        assert_eq!(ClientVersion::from_user_agent("rapport-client/0.3.0-rc.1 (android)"), Some(v("0.3.0")));
        assert_eq!(ClientVersion::from_user_agent("curl/8.5.0"), None);
        assert_eq!(parse_minimum("0.3.0"), Ok(v("0.3.0")));
        assert_eq!(v("0.3.0").protocol(), 2, "a release after the last known one writes the newest known protocol");
    }
}
