//! Device tokens and the bearer-token middleware.
//!
//! A token is 32 random bytes shown once as 64 hex digits; the server keeps
//! only its SHA-256 hash. Every route except `/healthz` runs behind
//! [`require_token`], which puts the caller's [`Principal`] in the request
//! extensions and applies the device's rate limit; `/v1/admin` also runs
//! behind [`require_admin`].

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::ApiError;

/// Longest token accepted in a header (generated tokens are 64 characters).
const MAX_TOKEN_LEN: usize = 256;

pub use crate::access::Role;

/// An authenticated caller, and the SHA-256 of a token (what storage keeps):
/// the directory's, shared by every backend (`rapport_server_store`).
pub use rapport_server_store::{Principal, TokenHash};

/// A fresh device token: 32 bytes from the OS's random source, as hex.
pub use rapport_server_store::token::generate as generate_token;

/// Whether `token` is acceptable as a device token (also checked for
/// `RAPPORT_ADMIN_TOKEN`): 16 to 256 visible ASCII characters.
pub fn valid_token(token: &str) -> bool {
    (16..=MAX_TOKEN_LEN).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic())
}

/// The hash of the request's `Authorization: Bearer <token>`.
fn bearer(req: &Request) -> Result<TokenHash, ApiError> {
    let header =
        req.headers().get(AUTHORIZATION).ok_or(ApiError::Unauthorized("the request has no Authorization header"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| valid_token(t))
        .ok_or(ApiError::Unauthorized("the Authorization header is not a valid bearer token"))?;
    Ok(TokenHash::of(token))
}

/// Rejects requests without a valid `Authorization: Bearer <token>` header.
pub async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let hash = bearer(&req)?;
    let Some(principal) = state.backend().authenticate(hash).await? else {
        return Err(refusal(&state, hash).await?);
    };
    // Admin devices are the operator's own automation and are not throttled.
    if principal.role != Role::Admin {
        state.limiter().check(principal.device_id).map_err(|wait| ApiError::RateLimited { retry_after: wait })?;
    }
    let device = crate::routes::ServedDevice(principal.device_id);
    req.extensions_mut().insert(principal);
    let mut response = next.run(req).await;
    response.extensions_mut().insert(device);
    Ok(response)
}

/// Why a token that does not authenticate is refused: `410 device_wiped` for
/// a device revoked as lost, else `401`.
async fn refusal(state: &AppState, hash: TokenHash) -> Result<ApiError, ApiError> {
    let wiped = state.backend().directory(move |d, _| Ok(d.wiped_device(&hash)?)).await?;
    Ok(match wiped {
        Some(_) => ApiError::DeviceWiped,
        None => ApiError::Unauthorized("the token is unknown or revoked"),
    })
}

/// A device revoked as lost, authenticated by its (revoked) token: the one
/// caller of `POST /v1/device/wiped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WipedDevice {
    pub device_id: i64,
}

/// Accepts only the token of a device revoked as lost (`device revoke
/// --wipe`), for it to report that it erased its data. Any other token is
/// refused: an active one with `409 conflict` (it has nothing to report), an
/// unknown or plainly revoked one with `401`.
pub async fn require_wiped_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // Another method is answered 405 by the route, whoever asks.
    if req.method() != axum::http::Method::POST {
        return Ok(next.run(req).await);
    }
    let hash = bearer(&req)?;
    let wiped = state.backend().directory(move |d, _| Ok(d.wiped_device(&hash)?)).await?;
    let Some(device_id) = wiped else {
        return Err(match state.backend().authenticate(hash).await? {
            Some(_) => ApiError::Conflict("this device was not revoked as lost; it has no wipe to report".into()),
            None => ApiError::Unauthorized("the token is unknown or revoked"),
        });
    };
    // A lost device reports once; the limit keeps a stolen token from hammering the server.
    state.limiter().check(device_id).map_err(|wait| ApiError::RateLimited { retry_after: wait })?;
    req.extensions_mut().insert(WipedDevice { device_id });
    let mut response = next.run(req).await;
    response.extensions_mut().insert(crate::routes::ServedDevice(device_id));
    Ok(response)
}

/// Refuses callers whose user is not an admin (after [`require_token`]).
pub async fn require_admin(
    Extension(principal): Extension<Principal>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if principal.role != Role::Admin {
        return Err(ApiError::Forbidden("the admin API needs a device of an admin user".into()));
    }
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn generated_tokens_are_valid_and_distinct() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(valid_token(&a));
        assert_ne!(a, b);
        assert_ne!(TokenHash::of(&a), TokenHash::of(&b));
    }

    #[test]
    fn short_or_odd_tokens_are_invalid() {
        assert!(!valid_token("short"));
        assert!(!valid_token("has a space in the middle of it"));
        assert!(!valid_token(&"x".repeat(MAX_TOKEN_LEN + 1)));
    }
}
