//! `GET /v1/whoami`: whom the bearer token belongs to, so that a device
//! takes its user and device name from the server instead of guessing them.

use axum::extract::State;
use axum::{Extension, Json};
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::AppState;
use crate::auth::Principal;
use crate::db::DbError;
use crate::error::ApiError;

/// The answer: the token's user, role and device.
#[derive(Debug, Serialize)]
pub(super) struct WhoAmI {
    user: String,
    role: &'static str,
    device: String,
    device_id: i64,
}

pub(super) async fn whoami(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<WhoAmI>, ApiError> {
    let device_id = principal.device_id;
    let device = state
        .db()
        .call(move |conn| {
            conn.prepare_cached("SELECT name FROM devices WHERE id = ?1 AND revoked_at IS NULL")?
                .query_row([device_id], |r| r.get::<_, String>(0))
                .optional()?
                .ok_or(DbError::Revoked)
        })
        .await?;
    Ok(Json(WhoAmI { user: principal.user, role: principal.role.as_str(), device, device_id }))
}
