//! The audit log: every accepted change with the user and device that pushed
//! it and the server's time, written in the transaction that stores it.

use automerge::Change;
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{DbError, now_millis};

/// Who pushed the changes being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Author {
    pub user_id: i64,
    pub device_id: i64,
}

/// One audit row, as listed by `rapport-server audit` and the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Server time, milliseconds since the Unix epoch (UTC).
    pub at: i64,
    pub user: String,
    pub device_id: i64,
    pub device: String,
    pub document: String,
    /// Position of the change in the server's log.
    pub seq: i64,
    /// The Automerge change hash, hex.
    pub change: String,
    /// The Rapport operation the change says it is (`party.set`, `deal.add`, …).
    pub op: String,
}

/// Longest operation name kept (they are short identifiers).
const MAX_OP_LEN: usize = 64;

pub(crate) fn record(conn: &Connection, author: Author, doc: &str, seq: i64, change: &Change) -> rusqlite::Result<()> {
    let op: String = change
        .message()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|v| v.get("op").and_then(|op| op.as_str()).map(str::to_owned))
        .unwrap_or_default()
        .chars()
        .take(MAX_OP_LEN)
        .collect();
    conn.prepare_cached(
        "INSERT INTO audit (at, user_id, device_id, doc_id, seq, change, op) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![now_millis(), author.user_id, author.device_id, doc, seq, change.hash().0, op])?;
    Ok(())
}

/// The newest `limit` audit rows (of one document if given), oldest first.
pub fn list(conn: &Connection, document: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM (
             SELECT a.at, u.name, a.device_id, d.name, a.doc_id, a.seq, a.change, a.op, a.id
             FROM audit a JOIN users u ON u.id = a.user_id JOIN devices d ON d.id = a.device_id
             WHERE ?1 IS NULL OR a.doc_id = ?1 ORDER BY a.id DESC LIMIT ?2
         ) ORDER BY 9",
    )?;
    let rows = stmt.query_map(params![document, limit], |r| {
        let hash: Vec<u8> = r.get(6)?;
        Ok(AuditEntry {
            at: r.get(0)?,
            user: r.get(1)?,
            device_id: r.get(2)?,
            device: r.get(3)?,
            document: r.get(4)?,
            seq: r.get(5)?,
            change: hash.iter().map(|b| format!("{b:02x}")).collect(),
            op: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Who took an administrator's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActedBy {
    /// An admin device, through the admin API.
    Device { user_id: i64, device_id: i64 },
    /// The operating-system user who ran a management command on the data directory.
    Console { os_user: String },
    /// The server itself, on the schedule the operator configured (`backup_every`).
    Schedule,
}

impl ActedBy {
    /// The operating-system user running this process (`$USER` or `$LOGNAME`).
    pub fn console() -> ActedBy {
        let os_user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        ActedBy::Console { os_user }
    }
}

/// What an administrator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    UserAdded,
    UserChanged,
    UserDeleted,
    TeamAdded,
    DeviceAdded,
    DeviceRevoked,
    /// Revoked as lost: the device erases its data at its next contact.
    DeviceRevokedForWipe,
    BackupTaken,
}

impl AdminAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::UserAdded => "user.add",
            AdminAction::UserChanged => "user.set",
            AdminAction::UserDeleted => "user.delete",
            AdminAction::TeamAdded => "team.add",
            AdminAction::DeviceAdded => "device.add",
            AdminAction::DeviceRevoked => "device.revoke",
            AdminAction::DeviceRevokedForWipe => "device.revoke_wipe",
            AdminAction::BackupTaken => "backup",
        }
    }
}

/// One administrator's action, as listed by `rapport-server audit --actions`
/// and `GET /v1/admin/actions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AdminActionEntry {
    /// Server time, milliseconds since the Unix epoch (UTC).
    pub at: i64,
    /// The admin user whose device did it (`None`: done on the data directory,
    /// or by the server's backup schedule when `console_user` is `None` too).
    pub user: Option<String>,
    /// That device's id.
    pub device_id: Option<i64>,
    /// The operating-system user who ran the management command on the data directory.
    pub console_user: Option<String>,
    /// `user.add`, `user.set`, `user.delete`, `team.add`, `device.add`,
    /// `device.revoke`, `device.revoke_wipe` or `backup`.
    pub action: String,
    /// The user or team name, the device id or the backup file acted on.
    pub subject: String,
    /// What changed, as JSON (e.g. the new role, teams and territories).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Records an administrator's action.
pub fn record_action(
    conn: &Connection,
    by: &ActedBy,
    action: AdminAction,
    subject: &str,
    detail: &serde_json::Value,
) -> Result<(), DbError> {
    let (user_id, device_id, console_user) = match by {
        ActedBy::Device { user_id, device_id } => (Some(*user_id), Some(*device_id), None),
        ActedBy::Console { os_user } => (None, None, Some(os_user.as_str())),
        ActedBy::Schedule => (None, None, None),
    };
    conn.prepare_cached(
        "INSERT INTO admin_actions (at, user_id, device_id, console_user, action, subject, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        now_millis(),
        user_id,
        device_id,
        console_user,
        action.as_str(),
        subject,
        detail.to_string()
    ])?;
    Ok(())
}

/// The newest `limit` administrators' actions, oldest first.
pub fn list_actions(conn: &Connection, limit: u32) -> Result<Vec<AdminActionEntry>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM (
             SELECT a.at, u.name, a.device_id, a.console_user, a.action, a.subject, a.detail, a.id
             FROM admin_actions a LEFT JOIN users u ON u.id = a.user_id
             ORDER BY a.id DESC LIMIT ?1
         ) ORDER BY 8",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        let detail: String = r.get(6)?;
        Ok(AdminActionEntry {
            at: r.get(0)?,
            user: r.get(1)?,
            device_id: r.get(2)?,
            console_user: r.get(3)?,
            action: r.get(4)?,
            subject: r.get(5)?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What to record about an administrator's action that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub action: AdminAction,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// Runs an administrator's operation and, if it succeeds, records it as done by `by`.
pub fn acted<T, E: From<DbError>>(
    conn: &mut Connection,
    by: &ActedBy,
    op: impl FnOnce(&mut Connection) -> Result<(T, Recorded), E>,
) -> Result<T, E> {
    let (done, recorded) = op(conn)?;
    record_action(conn, by, recorded.action, &recorded.subject, &recorded.detail)?;
    Ok(done)
}

/// A user's change as the audit log keeps it (only what was given).
pub fn user_change(change: &super::users::UserChange) -> serde_json::Value {
    let mut detail = serde_json::Map::new();
    if let Some(role) = &change.role {
        detail.insert("role".into(), role.as_str().into());
    }
    if let Some(teams) = &change.teams {
        detail.insert("teams".into(), teams.iter().cloned().collect::<Vec<_>>().into());
    }
    if let Some(territories) = &change.territories {
        detail.insert("territories".into(), territories.iter().cloned().collect::<Vec<_>>().into());
    }
    detail.into()
}
