//! `GET /v1/me/rules`: who the caller's device writes as to the permission
//! rules (user, role, teams, territories), so that the device can run the
//! same rules before it commits an edit (ADR 0010). Read fresh from the
//! user directory on each call.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;

/// The caller as the rules see them.
#[derive(Debug, Serialize)]
pub(super) struct Rules {
    user: String,
    role: &'static str,
    teams: Vec<String>,
    territories: Vec<String>,
}

pub(super) async fn rules(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Rules>, ApiError> {
    let device = principal.device_id;
    let subject = state
        .db()
        .call(move |conn| crate::db::users::subject(conn, device))
        .await?
        .ok_or(ApiError::Unauthorized("the token is unknown or revoked"))?;
    Ok(Json(Rules {
        user: subject.user,
        role: subject.role.as_str(),
        teams: subject.teams.into_iter().collect(),
        territories: subject.territories.into_iter().collect(),
    }))
}
