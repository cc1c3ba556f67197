//! The audit log's values and [`AuditStore`], the same for every backend
//! (ADR `docs/adr/0028-audit-store.md`).
//!
//! Two logs: every accepted change with the user and device that pushed it
//! (written by the change log's backend inside the transaction that logs
//! the change, so a change is never logged unaudited or audited unlogged),
//! and every administrator's action.

use serde::{Deserialize, Serialize};

use crate::{AdminError, UserChange};

/// Who pushed the changes being logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Author {
    pub user_id: i64,
    pub device_id: i64,
}

/// One audit row, as listed by `rapport-server audit` and the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
pub const MAX_OP_LEN: usize = 64;

/// The operation a change's message names (`{"op": "party.set", …}`), at
/// most [`MAX_OP_LEN`] characters; empty when the message names none. The
/// message comes from a device: anything else in it is ignored.
pub fn operation(message: Option<&str>) -> String {
    message
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|v| v.get("op").and_then(|op| op.as_str()).map(str::to_owned))
        .unwrap_or_default()
        .chars()
        .take(MAX_OP_LEN)
        .collect()
}

/// A change hash as the audit log shows it: lower-case hex.
pub fn hex(hash: &[u8]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
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

    /// The columns an action row keeps of it: user id, device id, console user.
    pub fn columns(&self) -> (Option<i64>, Option<i64>, Option<&str>) {
        match self {
            ActedBy::Device { user_id, device_id } => (Some(*user_id), Some(*device_id), None),
            ActedBy::Console { os_user } => (None, None, Some(os_user.as_str())),
            ActedBy::Schedule => (None, None, None),
        }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// What to record about an administrator's action that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub action: AdminAction,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// A user's change as the audit log keeps it (only what was given).
pub fn user_change(change: &UserChange) -> serde_json::Value {
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

/// The audit log, read, and administrators' actions, recorded.
///
/// Changes are not recorded through this trait: the change log's backend
/// writes their rows in the transaction that logs them, given the
/// [`Author`]. Like [`crate::DirectoryStore`], synchronous, on `&self`,
/// and each write is committed before the method returns.
pub trait AuditStore {
    /// Records an administrator's action, stamped with the server's time.
    fn record_action(
        &self,
        by: &ActedBy,
        action: AdminAction,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<(), AdminError>;

    /// The newest `limit` administrators' actions, oldest first.
    fn list_actions(&self, limit: u32) -> Result<Vec<AdminActionEntry>, AdminError>;

    /// The newest `limit` audited changes (of one document if given), in
    /// log order, oldest first.
    fn list_changes(&self, document: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>, AdminError>;

    /// Runs an administrator's operation and, if it succeeds, records it as done by `by`.
    fn acted<T, E: From<AdminError>>(&self, by: &ActedBy, op: impl FnOnce() -> Result<(T, Recorded), E>) -> Result<T, E>
    where
        Self: Sized,
    {
        acted(self, by, op)
    }
}

/// [`AuditStore::acted`] on any audit log, also one behind `dyn`.
pub fn acted<T, E: From<AdminError>>(
    audit: &dyn AuditStore,
    by: &ActedBy,
    op: impl FnOnce() -> Result<(T, Recorded), E>,
) -> Result<T, E> {
    let (done, recorded) = op()?;
    audit.record_action(by, recorded.action, &recorded.subject, &recorded.detail)?;
    Ok(done)
}
