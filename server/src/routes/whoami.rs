//! `GET /v1/whoami`: whom the bearer token belongs to, so that a device
//! takes its user and device name from the server instead of guessing them,
//! and runs the same permission rules before it commits an edit (ADR 0010).
//! Read fresh from the user directory on each call.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;

/// The token's user and device, and the user as the permission rules see them.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct WhoAmI {
    user: String,
    /// `admin`, `manager`, `office` or `rep`.
    role: &'static str,
    device: String,
    device_id: i64,
    teams: Vec<String>,
    territories: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/v1/whoami",
    tag = "sync",
    responses(
        (status = 200, description = "The token's user, role, device, teams and territories.", body = WhoAmI),
        (status = 401, description = "The token is unknown or revoked (`unauthorized`).", body = ErrorBody),
    )
)]
pub(super) async fn whoami(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<WhoAmI>, ApiError> {
    let device_id = principal.device_id;
    let revoked = || ApiError::Unauthorized("the token is unknown or revoked");
    let (device, subject) = state
        .backend()
        .directory(move |d, _| {
            let device = d.device_name(device_id)?.ok_or_else(revoked)?;
            let subject = d.subject(device_id)?.ok_or_else(revoked)?;
            Ok((device, subject))
        })
        .await?;
    Ok(Json(WhoAmI {
        user: subject.user,
        role: subject.role.as_str(),
        device,
        device_id,
        teams: subject.teams.into_iter().collect(),
        territories: subject.territories.into_iter().collect(),
    }))
}
