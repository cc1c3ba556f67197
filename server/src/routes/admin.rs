//! `/v1/admin/...`: users, teams, devices, the audit log and the nodes, as JSON, for
//! devices of admin users. The same operations as the `rapport-server`
//! management commands, for when the server holds the database.
//!
//! Request bodies refuse fields they do not know (400 naming the field), so
//! a misspelt field never silently does less than asked.

use std::collections::BTreeSet;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use rapport_server_store::rules::MAX_NAME_LEN;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::access::Role;
use crate::auth::Principal;
use crate::backup::BackupError;
use crate::db::audit::{ActedBy, AdminAction, AdminActionEntry, AuditEntry, Recorded, acted, user_change};
use crate::db::users::{AdminError, DeviceInfo, NewDevice, UserChange, UserInfo};
use crate::error::ApiError;
use crate::openapi::ErrorBody;

/// Control characters (Unicode `Cc`), as a regex class body.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// Audit rows listed when `limit` is not given, and the most listed.
const AUDIT_DEFAULT: u32 = 1000;
const AUDIT_MAX: u32 = 100_000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, add_user))
        .routes(routes!(set_user, delete_user))
        .routes(routes!(add_device))
        .routes(routes!(list_teams, add_team))
        .routes(routes!(list_devices))
        .routes(routes!(revoke_device))
        .routes(routes!(list_audit))
        .routes(routes!(list_actions))
        .routes(routes!(backup))
        .routes(routes!(list_nodes))
}

/// The request body, or a 400 naming what is wrong with it (413 if too large).
fn body<T>(state: &AppState, json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    json.map(|Json(t)| t).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit: state.limits().max_body_bytes }
        } else {
            ApiError::InvalidRequest(format!("invalid JSON body: {}", e.body_text()))
        }
    })
}

/// The built-in admin may be deleted or demoted by no one: 403, as the request
/// itself is well formed.
fn refused(e: AdminError) -> ApiError {
    match e {
        AdminError::BuiltInAdmin => ApiError::Forbidden(e.to_string()),
        other => other.into(),
    }
}

/// A name as `rapport_server_store::rules::check_name` accepts it: once trimmed of white space, 1 to 64
/// characters without control characters.
fn name_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .pattern(Some(format!(r"^\s*[^\s{CONTROL}](?:[^{CONTROL}]{{0,{}}}[^\s{CONTROL}])?\s*$", MAX_NAME_LEN - 2)))
}

/// `null` or a name (an optional field may be sent as `null`).
fn name_or_null_schema() -> ObjectBuilder {
    name_schema().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// Names (a name given twice counts once).
fn names_schema() -> ArrayBuilder {
    ArrayBuilder::new().items(name_schema())
}

fn names_or_null_schema() -> ArrayBuilder {
    names_schema().schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
}

/// Team names: each must name an existing team (a name given twice counts once).
fn teams_schema() -> ArrayBuilder {
    ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String))
}

fn teams_or_null_schema() -> ArrayBuilder {
    teams_schema().schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
}

/// One of the roles the server knows.
fn role_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(Role::ALL.map(Role::as_str)))
}

fn role_or_null_schema() -> ObjectBuilder {
    role_schema().schema_type(SchemaType::from_iter([Type::String, Type::Null])).enum_values(Some(
        Role::ALL.map(|r| serde_json::Value::from(r.as_str())).into_iter().chain([serde_json::Value::Null]),
    ))
}

/// A user to create, with a first device.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    #[schema(schema_with = name_schema)]
    name: String,
    #[schema(schema_with = role_schema)]
    role: String,
    /// Teams the user belongs to; each must exist.
    #[serde(default)]
    #[schema(schema_with = teams_schema)]
    teams: BTreeSet<String>,
    /// Territories the user covers.
    #[serde(default)]
    #[schema(schema_with = names_schema)]
    territories: BTreeSet<String>,
    /// The first device's name (default "first device").
    #[schema(schema_with = name_or_null_schema)]
    device: Option<String>,
}

/// What to change about a user; a field left out stays as it is, a list given replaces the old one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    #[schema(schema_with = role_or_null_schema)]
    role: Option<String>,
    /// Teams the user belongs to; each must exist.
    #[schema(schema_with = teams_or_null_schema)]
    teams: Option<BTreeSet<String>>,
    #[schema(schema_with = names_or_null_schema)]
    territories: Option<BTreeSet<String>>,
}

/// A device or team to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Named {
    #[schema(schema_with = name_schema)]
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct Done {
    /// Always true.
    ok: bool,
}

const DONE: Json<Done> = Json(Done { ok: true });

#[derive(Debug, Serialize, ToSchema)]
struct UserList {
    users: Vec<UserInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
struct TeamList {
    teams: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
struct DeviceList {
    devices: Vec<DeviceInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
struct AuditList {
    /// Newest first.
    audit: Vec<AuditEntry>,
}

/// Every user, deleted ones included.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", responses((status = 200, body = UserList)))]
async fn list_users(State(state): State<AppState>) -> Result<Json<UserList>, ApiError> {
    let users = state.backend().directory(|d, _| Ok(d.list_users()?)).await?;
    Ok(Json(UserList { users }))
}

/// Creates a user and a first device; the answer holds the device's token, shown this once.
#[utoipa::path(
    post,
    path = "/v1/admin/users",
    tag = "admin",
    request_body = NewUser,
    responses(
        (status = 200, description = "The user's first device and its token.", body = NewDevice),
        (status = 400, description = "Not valid JSON, an unknown field, a bad name or role, or a team that does not exist (`invalid_request`).", body = ErrorBody),
        (status = 409, description = "A user with this name exists or existed (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body exceeds the server's size limit.", body = ErrorBody),
    )
)]
async fn add_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    json: Result<Json<NewUser>, JsonRejection>,
) -> Result<Json<NewDevice>, ApiError> {
    let new = body(&state, json)?;
    let change = UserChange { role: None, teams: Some(new.teams), territories: Some(new.territories) };
    let device = new.device.unwrap_or_else(|| "first device".into());
    let by = acted_by(&principal);
    let created = state
        .backend()
        .directory(move |d, audit| {
            Ok(acted(audit, &by, || {
                let created = d.add_user(&new.name, &new.role, &change, &device)?;
                let detail = serde_json::json!({
                    "role": new.role, "teams": change.teams, "territories": change.territories,
                    "device": device.trim(), "device_id": created.device_id,
                });
                let subject = created.user.clone();
                Ok::<_, AdminError>((created, Recorded { action: AdminAction::UserAdded, subject, detail }))
            }))
        })
        .await??;
    Ok(Json(created))
}

/// Changes a user's role, teams or territories; takes effect at each of their devices' next request.
#[utoipa::path(
    patch,
    path = "/v1/admin/users/{name}",
    tag = "admin",
    params(("name" = String, Path, description = "The user's name.")),
    request_body = UserPatch,
    responses(
        (status = 200, body = Done),
        (status = 400, description = "Not valid JSON, an unknown field, a bad role or territory, or a team that does not exist (`invalid_request`).", body = ErrorBody),
        (status = 403, description = "The token's user is not an admin, or the change would demote the built-in admin (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No user with this name.", body = ErrorBody),
        (status = 413, description = "The body exceeds the server's size limit.", body = ErrorBody),
    )
)]
async fn set_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    json: Result<Json<UserPatch>, JsonRejection>,
) -> Result<Json<Done>, ApiError> {
    let patch = body(&state, json)?;
    let change = UserChange { role: patch.role, teams: patch.teams, territories: patch.territories };
    let by = acted_by(&principal);
    state
        .backend()
        .directory(move |d, audit| {
            Ok(acted(audit, &by, || {
                d.set_user(&name, &change)?;
                Ok::<_, AdminError>((
                    (),
                    Recorded { action: AdminAction::UserChanged, subject: name, detail: user_change(&change) },
                ))
            }))
        })
        .await?
        .map_err(refused)?;
    Ok(DONE)
}

/// Deletes a user (kept in the audit log) and revokes their devices.
#[utoipa::path(
    delete,
    path = "/v1/admin/users/{name}",
    tag = "admin",
    params(("name" = String, Path, description = "The user's name.")),
    responses(
        (status = 200, body = Done),
        (status = 403, description = "The token's user is not an admin, or this is the built-in admin, which cannot be deleted (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No user with this name.", body = ErrorBody),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<Done>, ApiError> {
    let by = acted_by(&principal);
    state
        .backend()
        .directory(move |d, audit| {
            Ok(acted(audit, &by, || {
                d.delete_user(&name)?;
                let detail = serde_json::json!({ "devices_revoked": true });
                Ok::<_, AdminError>(((), Recorded { action: AdminAction::UserDeleted, subject: name, detail }))
            }))
        })
        .await?
        .map_err(refused)?;
    state.revoked();
    Ok(DONE)
}

/// Adds a device to a user; the answer holds its token, shown this once.
#[utoipa::path(
    post,
    path = "/v1/admin/users/{name}/devices",
    tag = "admin",
    params(("name" = String, Path, description = "The user's name.")),
    request_body = Named,
    responses(
        (status = 200, description = "The device and its token.", body = NewDevice),
        (status = 400, description = "Not valid JSON, an unknown field or a bad name (`invalid_request`).", body = ErrorBody),
        (status = 404, description = "No user with this name.", body = ErrorBody),
        (status = 413, description = "The body exceeds the server's size limit.", body = ErrorBody),
    )
)]
async fn add_device(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(user): Path<String>,
    json: Result<Json<Named>, JsonRejection>,
) -> Result<Json<NewDevice>, ApiError> {
    let device = body(&state, json)?.name;
    let by = acted_by(&principal);
    let created = state
        .backend()
        .directory(move |d, audit| {
            Ok(acted(audit, &by, || {
                let created = d.add_device(&user, &device)?;
                let detail = serde_json::json!({ "user": created.user, "name": device.trim() });
                let subject = created.device_id.to_string();
                Ok::<_, AdminError>((created, Recorded { action: AdminAction::DeviceAdded, subject, detail }))
            }))
        })
        .await??;
    Ok(Json(created))
}

/// Every team.
#[utoipa::path(get, path = "/v1/admin/teams", tag = "admin", responses((status = 200, body = TeamList)))]
async fn list_teams(State(state): State<AppState>) -> Result<Json<TeamList>, ApiError> {
    let teams = state.backend().directory(|d, _| Ok(d.list_teams()?)).await?;
    Ok(Json(TeamList { teams }))
}

/// Adds a team.
#[utoipa::path(
    post,
    path = "/v1/admin/teams",
    tag = "admin",
    request_body = Named,
    responses(
        (status = 200, body = Done),
        (status = 400, description = "Not valid JSON, an unknown field or a bad name (`invalid_request`).", body = ErrorBody),
        (status = 409, description = "A team with this name exists (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body exceeds the server's size limit.", body = ErrorBody),
    )
)]
async fn add_team(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    json: Result<Json<Named>, JsonRejection>,
) -> Result<Json<Done>, ApiError> {
    let name = body(&state, json)?.name;
    let by = acted_by(&principal);
    state
        .backend()
        .directory(move |d, audit| {
            Ok(acted(audit, &by, || {
                d.add_team(&name)?;
                let (subject, detail) = (name.trim().to_owned(), serde_json::json!({}));
                Ok::<_, AdminError>(((), Recorded { action: AdminAction::TeamAdded, subject, detail }))
            }))
        })
        .await??;
    Ok(DONE)
}

/// Every device (never its token) with its bound actor ids.
#[utoipa::path(get, path = "/v1/admin/devices", tag = "admin", responses((status = 200, body = DeviceList)))]
async fn list_devices(State(state): State<AppState>) -> Result<Json<DeviceList>, ApiError> {
    let devices = state.backend().directory(|d, _| Ok(d.list_devices()?)).await?;
    Ok(Json(DeviceList { devices }))
}

/// How to revoke a device.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Revoke {
    /// The device is lost: at its next contact it is told to erase its local
    /// data (`410 device_wiped`) and reports that it did. Default false: the
    /// device keeps its data but can no longer sync.
    #[serde(default)]
    wipe: bool,
}

/// Revokes a device's token; its live socket is closed. With `{"wipe": true}`
/// the device is revoked as lost and erases its data at its next contact.
#[utoipa::path(
    post,
    path = "/v1/admin/devices/{id}/revoke",
    tag = "admin",
    params(("id" = i64, Path, description = "The device id (as listed).")),
    request_body(content = Option<Revoke>, description = "Optional; no body (or `null`) is a plain revoke."),
    responses(
        (status = 200, body = Done),
        (status = 400, description = "The id is not a number, or the body is not valid JSON or has unknown fields (`invalid_request`).", body = ErrorBody),
        (status = 404, description = "No device with this id.", body = ErrorBody),
    )
)]
async fn revoke_device(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<Done>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::InvalidRequest("the device id is not a number".into()))?;
    let request: Revoke = if bytes.iter().all(u8::is_ascii_whitespace) {
        Revoke::default()
    } else {
        serde_json::from_slice::<Option<Revoke>>(&bytes)
            .map_err(|e| ApiError::InvalidRequest(format!("invalid JSON body: {e}")))?
            .unwrap_or_default()
    };
    let (by, wipe) = (acted_by(&principal), request.wipe);
    state
        .backend()
        .directory(move |d, audit| {
            Ok(acted(audit, &by, || {
                let action = if wipe {
                    d.revoke_device_for_wipe(id)?;
                    AdminAction::DeviceRevokedForWipe
                } else {
                    d.revoke_device(id)?;
                    AdminAction::DeviceRevoked
                };
                let detail = serde_json::json!({ "wipe": wipe });
                Ok::<_, AdminError>(((), Recorded { action, subject: id.to_string(), detail }))
            }))
        })
        .await??;
    if wipe {
        tracing::warn!(device = id, "device revoked as lost; it erases its data at its next contact");
    }
    state.revoked();
    Ok(DONE)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only this account.
    #[param(value_type = Option<uuid::Uuid>)]
    account: Option<String>,
    /// The newest entries to list (default 1000; a larger number than 100000 lists 100000).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4294967295_u64)]
    limit: Option<u32>,
}

/// The audit log: every accepted change with user, device and server time, newest first.
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditList),
        (status = 400, description = "An unknown parameter or a bad value (`invalid_request`), or an account id that is not a UUID (`invalid_id`).", body = ErrorBody),
    )
)]
async fn list_audit(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditList>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::InvalidRequest(format!("invalid query: {}", e.body_text())))?;
    let account = match q.account {
        Some(a) => Some(uuid::Uuid::parse_str(&a).map_err(|_| ApiError::InvalidId)?.to_string()),
        None => None,
    };
    let limit = q.limit.unwrap_or(AUDIT_DEFAULT).min(AUDIT_MAX);
    let audit = state.backend().directory(move |_, audit| Ok(audit.list_changes(account.as_deref(), limit)?)).await?;
    Ok(Json(AuditList { audit }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ActionsQuery {
    /// The newest actions to list (default 1000; a larger number than 100000 lists 100000).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4294967295_u64)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
struct ActionList {
    /// The newest actions, oldest first.
    actions: Vec<AdminActionEntry>,
}

/// Administrators' actions: users, teams and devices added, changed, deleted
/// or revoked and backups taken, with who did it and when.
#[utoipa::path(
    get,
    path = "/v1/admin/actions",
    tag = "admin",
    params(ActionsQuery),
    responses(
        (status = 200, body = ActionList),
        (status = 400, description = "An unknown parameter or a bad value (`invalid_request`).", body = ErrorBody),
    )
)]
async fn list_actions(
    State(state): State<AppState>,
    query: Result<Query<ActionsQuery>, QueryRejection>,
) -> Result<Json<ActionList>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::InvalidRequest(format!("invalid query: {}", e.body_text())))?;
    let limit = q.limit.unwrap_or(AUDIT_DEFAULT).min(AUDIT_MAX);
    let actions = state.backend().directory(move |_, audit| Ok(audit.list_actions(limit)?)).await?;
    Ok(Json(ActionList { actions }))
}

/// Who an admin API call is done by.
fn acted_by(principal: &Principal) -> ActedBy {
    ActedBy::Device { user_id: principal.user_id, device_id: principal.device_id }
}

/// A backup's file name inside the server's backup directory (never a path).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BackupRequest {
    /// A plain file name (no directory part); default: a new time-stamped name.
    name: Option<String>,
}

/// A backup that was written and checked.
#[derive(Debug, Serialize, ToSchema)]
struct BackupWritten {
    /// The file name inside the backup directory.
    file: String,
    /// Where the server wrote it.
    #[schema(value_type = String)]
    path: std::path::PathBuf,
    /// The server log position the backup holds everything up to.
    head: u64,
    /// Documents in the backup.
    documents: u64,
    /// Size of the file.
    bytes: u64,
    /// How long the backup took.
    millis: u64,
}

/// `POST /v1/admin/backup`: a consistent, checked backup into the configured
/// backup directory, under `name` or a new time-stamped name.
#[utoipa::path(
    post,
    path = "/v1/admin/backup",
    tag = "admin",
    request_body(content = Option<BackupRequest>, description = "Optional; no body (or `null`) picks a time-stamped name."),
    responses(
        (status = 200, description = "The backup was written and passed `PRAGMA integrity_check`.", body = BackupWritten),
        (status = 400, description = "Not a plain file name, or unknown fields (`invalid_request`).", body = ErrorBody),
        (status = 409, description = "The server has no backup directory (`--backup-dir`), or the file exists (`conflict`).", body = ErrorBody),
    )
)]
async fn backup(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    bytes: axum::body::Bytes,
) -> Result<Json<BackupWritten>, ApiError> {
    state.backend().sqlite("backups through the server")?;
    // No body, or `null`, asks for a time-stamped name.
    let request: BackupRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        BackupRequest::default()
    } else {
        serde_json::from_slice::<Option<BackupRequest>>(&bytes)
            .map_err(|e| ApiError::InvalidRequest(format!("invalid JSON body: {e}")))?
            .unwrap_or_default()
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
    let (by, subject) = (acted_by(&principal), file.clone());
    let detail = serde_json::json!({ "head": info.head, "documents": info.documents, "bytes": info.bytes });
    state
        .backend()
        .directory(move |_, audit| Ok(audit.record_action(&by, AdminAction::BackupTaken, &subject, &detail)?))
        .await?;
    Ok(Json(BackupWritten {
        file,
        path: info.path,
        head: info.head,
        documents: info.documents as u64,
        bytes: info.bytes as u64,
        millis: info.millis as u64,
    }))
}

/// A server node serving from the database, as it last reported itself.
#[derive(Debug, Serialize, ToSchema)]
struct NodeInfo {
    /// The node's name (`--node-name`, default the host name).
    name: String,
    /// The release it runs, e.g. `0.3.0`.
    release: String,
    /// How many migrations of its database it knows: the SQLite server's
    /// migrations, or on PostgreSQL the store's.
    schema_version: i64,
    /// When it started, milliseconds since the Unix epoch (UTC), by its clock.
    started_at: i64,
    /// When it last reported itself (a PostgreSQL node does every 10 s), milliseconds since the Unix epoch (UTC).
    seen_at: i64,
    /// Whether it reported itself in the last three intervals, by the clock
    /// of the node that answers: false for a node that stopped or died.
    live: bool,
}

/// The nodes serving from this database.
#[derive(Debug, Serialize, ToSchema)]
struct NodeList {
    nodes: Vec<NodeInfo>,
}

/// The server nodes serving from this database and the release each runs,
/// to follow a rolling upgrade (ADR 0037). A SQLite server lists itself;
/// PostgreSQL nodes of 0.2.0 do not report themselves and are not listed;
/// a node silent for a week is forgotten.
#[utoipa::path(get, path = "/v1/admin/nodes", tag = "admin", responses((status = 200, body = NodeList)))]
async fn list_nodes(State(state): State<AppState>) -> Result<Json<NodeList>, ApiError> {
    let seen = state.backend().nodes(state.this_node()).await?;
    let now = crate::db::now_millis();
    let live_within = 3 * i64::try_from(crate::backend::NODE_REPORT_EVERY.as_millis()).unwrap_or(i64::MAX);
    let nodes = seen
        .into_iter()
        .map(|n| NodeInfo {
            live: now.saturating_sub(n.seen_at) <= live_within,
            name: n.name,
            release: n.release,
            schema_version: n.schema_version,
            started_at: n.started_at,
            seen_at: n.seen_at,
        })
        .collect();
    Ok(Json(NodeList { nodes }))
}
