//! `GET /v1/directory`: the people, teams and territories an account may be
//! given to, so that devices check an owner's name before they write it (a
//! typo would otherwise create a phantom rep in every report) and the
//! dashboard offers its filters as choices instead of free text.
//!
//! Names of colleagues, teams and territory codes are not customer data:
//! every device may read them, whatever its role.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use rapport_server_store::{AdminError, DirectoryStore};

use crate::AppState;
use crate::error::ApiError;
use crate::openapi::ErrorBody;

/// Everyone an account may be given to, every team and every territory.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Directory {
    /// Every user, by name; deleted users are listed with `active: false`
    /// because past records and reports still name them.
    users: Vec<DirectoryUser>,
    /// Every team, by name.
    teams: Vec<String>,
    /// Every territory a user works in or an account is placed in.
    territories: Vec<String>,
}

/// One user as colleagues see them (never a token or a device).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DirectoryUser {
    name: String,
    /// `admin`, `manager`, `office` or `rep`.
    role: String,
    teams: Vec<String>,
    territories: Vec<String>,
    /// False once an administrator deleted the user.
    active: bool,
}

#[utoipa::path(
    get,
    path = "/v1/directory",
    tag = "sync",
    responses(
        (status = 200, description = "Every user, team and territory.", body = Directory),
        (status = 401, description = "The token is unknown or revoked (`unauthorized`).", body = ErrorBody),
    )
)]
pub(super) async fn directory(State(state): State<AppState>) -> Result<Json<Directory>, ApiError> {
    Ok(Json(state.backend().directory(|d, _| Ok(read(d)?)).await?))
}

fn read(d: &dyn DirectoryStore) -> Result<Directory, AdminError> {
    let users = d
        .list_users()?
        .into_iter()
        .map(|u| DirectoryUser {
            name: u.name,
            role: u.role,
            teams: u.teams.into_iter().collect(),
            territories: u.territories.into_iter().collect(),
            active: !u.deleted,
        })
        .collect();
    Ok(Directory { users, teams: d.list_teams()?, territories: d.list_territories()? })
}
