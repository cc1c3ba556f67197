//! `/v1/admin/...`: users, teams, devices and the audit log, as JSON, for
//! devices of admin users. The same operations as the `rapport-server`
//! management commands, for when the server holds the database.

use std::collections::BTreeSet;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::backup::BackupError;
use crate::db::audit;
use crate::db::users::{self, UserChange};
use crate::error::ApiError;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/users", get(list_users).post(add_user))
        .route("/v1/admin/users/{name}", axum::routing::patch(set_user).delete(delete_user))
        .route("/v1/admin/users/{name}/devices", post(add_device))
        .route("/v1/admin/teams", get(list_teams).post(add_team))
        .route("/v1/admin/devices", get(list_devices))
        .route("/v1/admin/devices/{id}/revoke", post(revoke_device))
        .route("/v1/admin/audit", get(list_audit))
        .route("/v1/admin/backup", post(backup))
}

fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    json.map(|Json(t)| t).map_err(|e| ApiError::InvalidRequest(format!("invalid JSON body: {}", e.body_text())))
}

#[derive(Debug, Deserialize)]
struct NewUser {
    name: String,
    role: String,
    #[serde(default)]
    teams: BTreeSet<String>,
    #[serde(default)]
    territories: BTreeSet<String>,
    device: Option<String>,
}

async fn list_users(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let list = state.db().call(|conn| Ok(users::list_users(conn))).await??;
    Ok(Json(json!({ "users": list })))
}

async fn add_user(
    State(state): State<AppState>,
    json: Result<Json<NewUser>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let new = body(json)?;
    let change = UserChange { role: None, teams: Some(new.teams), territories: Some(new.territories) };
    let device = new.device.unwrap_or_else(|| "first device".into());
    let created =
        state.db().call(move |conn| Ok(users::add_user(conn, &new.name, &new.role, &change, &device))).await??;
    Ok(Json(json!(created)))
}

async fn set_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    json: Result<Json<UserChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let change = body(json)?;
    state.db().call(move |conn| Ok(users::set_user(conn, &name, &change))).await??;
    Ok(Json(json!({ "ok": true })))
}

async fn delete_user(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    state.db().call(move |conn| Ok(users::delete_user(conn, &name))).await??;
    state.revoked();
    Ok(Json(json!({ "ok": true })))
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
}

async fn add_device(
    State(state): State<AppState>,
    Path(user): Path<String>,
    json: Result<Json<Named>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let device = body(json)?.name;
    let created = state.db().call(move |conn| Ok(users::add_device(conn, &user, &device))).await??;
    Ok(Json(json!(created)))
}

async fn list_teams(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let teams = state.db().call(|conn| Ok(users::list_teams(conn))).await??;
    Ok(Json(json!({ "teams": teams })))
}

async fn add_team(
    State(state): State<AppState>,
    json: Result<Json<Named>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let name = body(json)?.name;
    state.db().call(move |conn| Ok(users::add_team(conn, &name))).await??;
    Ok(Json(json!({ "ok": true })))
}

async fn list_devices(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let devices = state.db().call(|conn| Ok(users::list_devices(conn))).await??;
    Ok(Json(json!({ "devices": devices })))
}

async fn revoke_device(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::InvalidRequest("the device id is not a number".into()))?;
    state.db().call(move |conn| Ok(users::revoke_device(conn, id))).await??;
    state.revoked();
    Ok(Json(json!({ "ok": true })))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    account: Option<String>,
    limit: Option<u32>,
}

async fn list_audit(State(state): State<AppState>, Query(q): Query<AuditQuery>) -> Result<Json<Value>, ApiError> {
    let account = match q.account {
        Some(a) => Some(uuid::Uuid::parse_str(&a).map_err(|_| ApiError::InvalidId)?.to_string()),
        None => None,
    };
    let limit = q.limit.unwrap_or(1000).min(100_000);
    let entries = state.db().call(move |conn| audit::list(conn, account.as_deref(), limit)).await?;
    Ok(Json(json!({ "audit": entries })))
}

/// A backup's file name inside the server's backup directory (never a path).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupRequest {
    name: Option<String>,
}

/// `POST /v1/admin/backup`: a consistent, checked backup into the configured
/// backup directory, under `name` or a new time-stamped name.
async fn backup(State(state): State<AppState>, bytes: axum::body::Bytes) -> Result<Json<Value>, ApiError> {
    let request: BackupRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        BackupRequest::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidRequest(format!("invalid JSON body: {e}")))?
    };
    let info = state.backups().backup_named(request.name.as_deref()).await.map_err(|e| match e {
        BackupError::InvalidName => ApiError::InvalidRequest(e.to_string()),
        BackupError::NoBackupDir | BackupError::TargetExists(_) => ApiError::Conflict(e.to_string()),
        other => {
            tracing::error!(error = %other, "a backup through the admin API failed");
            ApiError::Internal
        }
    })?;
    tracing::info!(
        file = %info.path.display(), head = info.head, bytes = info.bytes, millis = info.millis,
        "backup written through the admin API"
    );
    let file = info.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Json(json!({
        "file": file,
        "path": info.path,
        "head": info.head,
        "documents": info.documents,
        "bytes": info.bytes,
        "millis": info.millis,
    })))
}
