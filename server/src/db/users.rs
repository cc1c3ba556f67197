//! Users, teams, territories and device tokens: bootstrap, authentication,
//! and the management operations shared by the CLI and the admin API.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{DbError, now_millis};
use crate::access::{Role, Subject};
use crate::auth::{Principal, TokenHash};

/// The name of the user created on first start.
pub(crate) const ADMIN_USER: &str = "admin";
/// Longest user, team, territory or device name.
const MAX_NAME_LEN: usize = 64;

/// What opening the database set up for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The admin user was created by this start.
    pub created_admin: bool,
    /// A freshly generated admin device token, to be shown once.
    pub new_token: Option<String>,
}

/// Why a management operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("there is no user with this name")]
    UnknownUser,
    #[error("a user with this name already exists")]
    UserExists,
    #[error("there is no team with this name; add it first")]
    UnknownTeam,
    #[error("a team with this name already exists")]
    TeamExists,
    #[error("there is no device with this id")]
    UnknownDevice,
    #[error("names must be 1 to 64 visible characters without control characters")]
    InvalidName,
    #[error("unknown role; expected admin, manager, office or rep")]
    InvalidRole,
    #[error("the built-in admin user cannot be deleted or demoted")]
    BuiltInAdmin,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for AdminError {
    fn from(e: rusqlite::Error) -> Self {
        AdminError::Db(DbError::Sqlite(e))
    }
}

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    pub name: String,
    pub role: String,
    pub teams: BTreeSet<String>,
    pub territories: BTreeSet<String>,
    pub deleted: bool,
}

/// A device as listed (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeviceInfo {
    pub id: i64,
    pub user: String,
    pub name: String,
    pub created_at: i64,
    pub revoked: bool,
    /// Automerge actor ids bound to the device, hex.
    pub actors: Vec<String>,
    /// Set when the device was revoked as lost (`device revoke --wipe`).
    pub wipe: Option<WipeInfo>,
}

/// A remote wipe: when it was asked for and, once the device erased its
/// data, when it said so and what unsynced work was lost with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WipeInfo {
    /// Server time of `device revoke --wipe`, milliseconds since the Unix epoch (UTC).
    pub requested_at: i64,
    /// Server time the device reported its data erased; `None` until it does.
    pub done_at: Option<i64>,
    /// Documents with edits the server never received, erased with the device.
    pub lost_documents: Option<i64>,
    /// Changes the server never received (edits and edits set aside after a refusal), erased with the device.
    pub lost_changes: Option<i64>,
}

/// What a wiped device reports it erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WipeReport {
    pub lost_documents: i64,
    pub lost_changes: i64,
}

/// A new device and its token, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NewDevice {
    pub user: String,
    pub device_id: i64,
    pub token: String,
}

/// What to change about a user; `None` leaves it as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct UserChange {
    pub role: Option<String>,
    pub teams: Option<BTreeSet<String>>,
    pub territories: Option<BTreeSet<String>>,
}

/// Creates the admin user on first start. `admin_token` (from the
/// environment, for automation) is registered as an admin device if it is not
/// yet; otherwise a fresh token is generated when the admin is created.
pub(crate) fn bootstrap(conn: &mut Connection, admin_token: Option<&str>) -> Result<Bootstrap, DbError> {
    let tx = conn.transaction()?;
    let existing: Option<i64> =
        tx.query_row("SELECT id FROM users WHERE name = ?1", [ADMIN_USER], |r| r.get(0)).optional()?;
    let created_admin = existing.is_none();
    let admin = match existing {
        Some(id) => id,
        None => {
            tx.execute(
                "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)",
                params![ADMIN_USER, Role::Admin.as_str(), now_millis()],
            )?;
            tx.last_insert_rowid()
        }
    };
    let mut new_token = None;
    match admin_token {
        Some(token) => {
            let hash = TokenHash::of(token);
            let known: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM devices WHERE token_hash = ?1)", [hash.as_bytes()], |r| {
                    r.get(0)
                })?;
            if !known {
                insert_device(&tx, admin, "automation", &hash)?;
            }
        }
        None if created_admin => {
            let token = crate::auth::generate_token()?;
            insert_device(&tx, admin, "first device", &TokenHash::of(&token))?;
            new_token = Some(token);
        }
        None => {}
    }
    tx.commit()?;
    Ok(Bootstrap { created_admin, new_token })
}

fn insert_device(conn: &Connection, user: i64, name: &str, hash: &TokenHash) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO devices (user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user, name, hash.as_bytes(), now_millis()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The user and device a token belongs to, unless unknown, revoked or deleted.
pub(crate) fn authenticate(conn: &Connection, hash: &TokenHash) -> Result<Option<Principal>, DbError> {
    let row: Option<(i64, i64, String, String)> = conn
        .prepare_cached(
            "SELECT d.id, u.id, u.name, u.role FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.deleted_at IS NULL",
        )?
        .query_row([hash.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((device_id, user_id, user, role)) = row else { return Ok(None) };
    let Some(role) = Role::parse(&role) else {
        tracing::warn!(user_id, "user has a role this server does not know; access refused");
        return Ok(None);
    };
    Ok(Some(Principal { user_id, device_id, user, role }))
}

/// The current rules for a device's user, or `None` if the device was revoked
/// or its user deleted since it authenticated.
pub(crate) fn subject(conn: &Connection, device_id: i64) -> Result<Option<Subject>, DbError> {
    let row: Option<(i64, String, String)> = conn
        .prepare_cached(
            "SELECT u.id, u.name, u.role FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.id = ?1 AND d.revoked_at IS NULL AND u.deleted_at IS NULL",
        )?
        .query_row([device_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((user_id, user, role)) = row else { return Ok(None) };
    let Some(role) = Role::parse(&role) else { return Ok(None) };
    Ok(Some(Subject {
        user,
        role,
        teams: strings(conn, "SELECT team FROM user_teams WHERE user_id = ?1", user_id)?,
        territories: strings(conn, "SELECT territory FROM user_territories WHERE user_id = ?1", user_id)?,
    }))
}

fn strings(conn: &Connection, sql: &str, id: i64) -> rusqlite::Result<BTreeSet<String>> {
    conn.prepare_cached(sql)?.query_map([id], |r| r.get(0))?.collect()
}

fn check_name(name: &str) -> Result<&str, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(AdminError::InvalidName);
    }
    Ok(name)
}

fn user_id(conn: &Connection, name: &str) -> Result<i64, AdminError> {
    conn.prepare_cached("SELECT id FROM users WHERE name = ?1 AND deleted_at IS NULL")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .ok_or(AdminError::UnknownUser)
}

/// Creates a user with a first device; returns the device's token (shown once).
pub fn add_user(
    conn: &mut Connection,
    name: &str,
    role: &str,
    change: &UserChange,
    device: &str,
) -> Result<NewDevice, AdminError> {
    let name = check_name(name)?;
    let role = Role::parse(role).ok_or(AdminError::InvalidRole)?;
    let tx = conn.transaction()?;
    let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)", [name], |r| r.get(0))?;
    if exists {
        return Err(AdminError::UserExists);
    }
    tx.execute(
        "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)",
        params![name, role.as_str(), now_millis()],
    )?;
    let id = tx.last_insert_rowid();
    set_memberships(&tx, id, change)?;
    let new = issue_device(&tx, id, name, device)?;
    tx.commit()?;
    Ok(new)
}

fn issue_device(tx: &Transaction<'_>, user_id: i64, user: &str, device: &str) -> Result<NewDevice, AdminError> {
    let device = check_name(device)?;
    let token = crate::auth::generate_token().map_err(DbError::from)?;
    let device_id = insert_device(tx, user_id, device, &TokenHash::of(&token))?;
    Ok(NewDevice { user: user.to_owned(), device_id, token })
}

/// Adds another device (and token) to a user.
pub fn add_device(conn: &mut Connection, user: &str, device: &str) -> Result<NewDevice, AdminError> {
    let tx = conn.transaction()?;
    let id = user_id(&tx, user)?;
    let new = issue_device(&tx, id, user, device)?;
    tx.commit()?;
    Ok(new)
}

fn set_memberships(tx: &Transaction<'_>, id: i64, change: &UserChange) -> Result<(), AdminError> {
    if let Some(teams) = &change.teams {
        tx.execute("DELETE FROM user_teams WHERE user_id = ?1", [id])?;
        for team in teams {
            let known: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM teams WHERE name = ?1)", [team], |r| r.get(0))?;
            if !known {
                return Err(AdminError::UnknownTeam);
            }
            tx.execute("INSERT INTO user_teams (user_id, team) VALUES (?1, ?2)", params![id, team])?;
        }
    }
    if let Some(territories) = &change.territories {
        tx.execute("DELETE FROM user_territories WHERE user_id = ?1", [id])?;
        for territory in territories {
            let territory = check_name(territory)?;
            // Names that differ only in surrounding white space are one territory.
            tx.execute(
                "INSERT OR IGNORE INTO user_territories (user_id, territory) VALUES (?1, ?2)",
                params![id, territory],
            )?;
        }
    }
    Ok(())
}

/// Changes a user's role, teams or territories; takes effect at each device's next request.
pub fn set_user(conn: &mut Connection, name: &str, change: &UserChange) -> Result<(), AdminError> {
    let tx = conn.transaction()?;
    let id = user_id(&tx, name)?;
    if let Some(role) = &change.role {
        let role = Role::parse(role).ok_or(AdminError::InvalidRole)?;
        if name == ADMIN_USER && role != Role::Admin {
            return Err(AdminError::BuiltInAdmin);
        }
        tx.execute("UPDATE users SET role = ?2 WHERE id = ?1", params![id, role.as_str()])?;
    }
    set_memberships(&tx, id, change)?;
    tx.commit()?;
    Ok(())
}

/// Deletes a user (kept for the audit log) and revokes every device of theirs.
pub fn delete_user(conn: &mut Connection, name: &str) -> Result<(), AdminError> {
    if name == ADMIN_USER {
        return Err(AdminError::BuiltInAdmin);
    }
    let tx = conn.transaction()?;
    let id = user_id(&tx, name)?;
    let now = now_millis();
    tx.execute("UPDATE users SET deleted_at = ?2 WHERE id = ?1", params![id, now])?;
    tx.execute("UPDATE devices SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL", params![id, now])?;
    tx.commit()?;
    Ok(())
}

pub fn list_users(conn: &Connection) -> Result<Vec<UserInfo>, AdminError> {
    let rows: Vec<(i64, String, String, bool)> = conn
        .prepare_cached("SELECT id, name, role, deleted_at IS NOT NULL FROM users ORDER BY name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut users = Vec::with_capacity(rows.len());
    for (id, name, role, deleted) in rows {
        users.push(UserInfo {
            name,
            role,
            teams: strings(conn, "SELECT team FROM user_teams WHERE user_id = ?1", id)?,
            territories: strings(conn, "SELECT territory FROM user_territories WHERE user_id = ?1", id)?,
            deleted,
        });
    }
    Ok(users)
}

pub fn add_team(conn: &Connection, name: &str) -> Result<(), AdminError> {
    let name = check_name(name)?;
    let added = conn
        .prepare_cached("INSERT INTO teams (name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
        .execute(params![name, now_millis()])?;
    if added == 0 {
        return Err(AdminError::TeamExists);
    }
    Ok(())
}

pub fn list_teams(conn: &Connection) -> Result<Vec<String>, AdminError> {
    Ok(conn
        .prepare_cached("SELECT name FROM teams ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Every territory a user works in or an account is placed in.
pub fn list_territories(conn: &Connection) -> Result<Vec<String>, AdminError> {
    Ok(conn
        .prepare_cached(
            "SELECT territory FROM user_territories
             UNION SELECT territory FROM accounts WHERE territory IS NOT NULL
             ORDER BY 1",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn list_devices(conn: &Connection) -> Result<Vec<DeviceInfo>, AdminError> {
    let rows: Vec<(i64, String, String, i64, bool)> = conn
        .prepare_cached(
            "SELECT d.id, u.name, d.name, d.created_at, d.revoked_at IS NOT NULL
             FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut devices = Vec::with_capacity(rows.len());
    for (id, user, name, created_at, revoked) in rows {
        let actors: Vec<Vec<u8>> = conn
            .prepare_cached("SELECT actor FROM actors WHERE device_id = ?1 ORDER BY bound_at")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let actors = actors.iter().map(|a| a.iter().map(|b| format!("{b:02x}")).collect()).collect();
        let wipe = wipe_info(conn, id)?;
        devices.push(DeviceInfo { id, user, name, created_at, revoked, actors, wipe });
    }
    Ok(devices)
}

fn wipe_info(conn: &Connection, device_id: i64) -> rusqlite::Result<Option<WipeInfo>> {
    conn.prepare_cached(
        "SELECT requested_at, done_at, lost_documents, lost_changes FROM device_wipes WHERE device_id = ?1",
    )?
    .query_row([device_id], |r| {
        Ok(WipeInfo { requested_at: r.get(0)?, done_at: r.get(1)?, lost_documents: r.get(2)?, lost_changes: r.get(3)? })
    })
    .optional()
}

/// Revokes a device's token: refused from the next request on (open sockets are closed).
pub fn revoke_device(conn: &Connection, id: i64) -> Result<(), AdminError> {
    let changed = conn
        .prepare_cached("UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1")?
        .execute(params![id, now_millis()])?;
    if changed == 0 {
        return Err(AdminError::UnknownDevice);
    }
    Ok(())
}

/// Revokes a device as lost: its token is refused from the next request on,
/// and answered `410 device_wiped`, which tells the device to erase its data.
/// Asking again (or after a plain revoke) is allowed; the first request's time is kept.
pub fn revoke_device_for_wipe(conn: &mut Connection, id: i64) -> Result<(), AdminError> {
    let tx = conn.transaction()?;
    revoke_device(&tx, id)?;
    tx.prepare_cached("INSERT OR IGNORE INTO device_wipes (device_id, requested_at) VALUES (?1, ?2)")?
        .execute(params![id, now_millis()])?;
    tx.commit()?;
    Ok(())
}

/// The device a token belongs to if it was revoked as lost, whether or not
/// it has reported its data erased yet.
pub(crate) fn wiped_device(conn: &Connection, hash: &TokenHash) -> Result<Option<i64>, DbError> {
    Ok(conn
        .prepare_cached("SELECT d.id FROM devices d JOIN device_wipes w ON w.device_id = d.id WHERE d.token_hash = ?1")?
        .query_row([hash.as_bytes()], |r| r.get(0))
        .optional()?)
}

/// Records that a device revoked as lost erased its data, and what unsynced
/// work went with it. Only the first report counts: the device has no data
/// left to count after it.
pub(crate) fn record_wipe_done(conn: &Connection, device_id: i64, report: WipeReport) -> Result<bool, DbError> {
    let changed = conn
        .prepare_cached(
            "UPDATE device_wipes SET done_at = ?2, lost_documents = ?3, lost_changes = ?4
             WHERE device_id = ?1 AND done_at IS NULL",
        )?
        .execute(params![device_id, now_millis(), report.lost_documents, report.lost_changes])?;
    Ok(changed > 0)
}

/// Whether a device may still connect.
pub(crate) fn device_active(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(subject(conn, id)?.is_some())
}
