//! The management commands (`rapport-server user|team|device|audit`), run
//! on the data directory directly. The server holds its database with an
//! exclusive lock, so while it runs these refuse with
//! [`ManageError::ServerRunning`] and the operator uses the admin HTTP API
//! (`/v1/admin/...`) instead (`docs/adr/0004-access.md`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::config::DATABASE_FILE;
use crate::db::audit::{ActedBy, AdminAction, Recorded};
use crate::db::users::{self, AdminError, NewDevice, UserChange};
use crate::db::{DbError, audit, open_for_management};

/// Why a management command failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error(
        "the server is running and holds the database in {0}; use the admin API (/v1/admin/...) with an admin \
         token, or stop the server first"
    )]
    ServerRunning(PathBuf),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for ManageError {
    fn from(e: DbError) -> Self {
        ManageError::Db(e)
    }
}

/// The data directory's database, opened for management.
#[derive(Debug)]
pub struct Manager {
    conn: Connection,
    _lock: crate::db::DataLock,
}

impl Manager {
    pub fn open(data_dir: &Path) -> Result<Manager, ManageError> {
        match open_for_management(&data_dir.join(DATABASE_FILE)) {
            Ok((conn, lock)) => Ok(Manager { conn, _lock: lock }),
            Err(DbError::Locked) => Err(ManageError::ServerRunning(data_dir.to_path_buf())),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs an operation and records it in the audit log as done by the
    /// operating-system user running this command.
    fn acted<T>(
        &mut self,
        op: impl FnOnce(&mut Connection) -> Result<(T, Recorded), AdminError>,
    ) -> Result<T, ManageError> {
        Ok(audit::acted(&mut self.conn, &ActedBy::console(), op)?)
    }

    pub fn add_user(
        &mut self,
        name: &str,
        role: &str,
        change: &UserChange,
        device: &str,
    ) -> Result<NewDevice, ManageError> {
        self.acted(|conn| {
            let created = users::add_user(conn, name, role, change, device)?;
            let detail = serde_json::json!({
                "role": role, "teams": change.teams, "territories": change.territories,
                "device": device.trim(), "device_id": created.device_id,
            });
            let subject = created.user.clone();
            Ok((created, Recorded { action: AdminAction::UserAdded, subject, detail }))
        })
    }

    pub fn set_user(&mut self, name: &str, change: &UserChange) -> Result<(), ManageError> {
        self.acted(|conn| {
            users::set_user(conn, name, change)?;
            let detail = audit::user_change(change);
            Ok(((), Recorded { action: AdminAction::UserChanged, subject: name.to_owned(), detail }))
        })
    }

    pub fn delete_user(&mut self, name: &str) -> Result<(), ManageError> {
        self.acted(|conn| {
            users::delete_user(conn, name)?;
            let detail = serde_json::json!({ "devices_revoked": true });
            Ok(((), Recorded { action: AdminAction::UserDeleted, subject: name.to_owned(), detail }))
        })
    }

    pub fn add_team(&mut self, name: &str) -> Result<(), ManageError> {
        self.acted(|conn| {
            users::add_team(conn, name)?;
            let (subject, detail) = (name.trim().to_owned(), serde_json::json!({}));
            Ok(((), Recorded { action: AdminAction::TeamAdded, subject, detail }))
        })
    }

    pub fn add_device(&mut self, user: &str, name: &str) -> Result<NewDevice, ManageError> {
        self.acted(|conn| {
            let created = users::add_device(conn, user, name)?;
            let detail = serde_json::json!({ "user": created.user, "name": name.trim() });
            let subject = created.device_id.to_string();
            Ok((created, Recorded { action: AdminAction::DeviceAdded, subject, detail }))
        })
    }

    pub fn revoke_device(&mut self, id: i64) -> Result<(), ManageError> {
        self.acted(|conn| {
            users::revoke_device(conn, id)?;
            let detail = serde_json::json!({ "wipe": false });
            Ok(((), Recorded { action: AdminAction::DeviceRevoked, subject: id.to_string(), detail }))
        })
    }

    /// Revokes a device as lost: at its next contact it is told to erase its data.
    pub fn revoke_device_for_wipe(&mut self, id: i64) -> Result<(), ManageError> {
        self.acted(|conn| {
            users::revoke_device_for_wipe(conn, id)?;
            let detail = serde_json::json!({ "wipe": true });
            Ok(((), Recorded { action: AdminAction::DeviceRevokedForWipe, subject: id.to_string(), detail }))
        })
    }

    /// `name  role  teams  territories` per user.
    pub fn users_table(&self) -> Result<String, ManageError> {
        let mut out = String::from("NAME\tROLE\tTEAMS\tTERRITORIES\tSTATUS\n");
        for u in users::list_users(&self.conn)? {
            let join = |s: &std::collections::BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
            let status = if u.deleted { "deleted" } else { "active" };
            let _ = writeln!(out, "{}\t{}\t{}\t{}\t{status}", u.name, u.role, join(&u.teams), join(&u.territories));
        }
        Ok(out)
    }

    pub fn teams_table(&self) -> Result<String, ManageError> {
        Ok(users::list_teams(&self.conn)?.into_iter().map(|t| t + "\n").collect())
    }

    pub fn devices_table(&self) -> Result<String, ManageError> {
        let mut out = String::from("ID\tUSER\tNAME\tSTATUS\tACTORS\n");
        for d in users::list_devices(&self.conn)? {
            let status = match &d.wipe {
                Some(users::WipeInfo { done_at: Some(_), lost_documents, lost_changes, .. }) => format!(
                    "wiped (lost {} unsynced change(s) in {} document(s))",
                    lost_changes.unwrap_or(0),
                    lost_documents.unwrap_or(0)
                ),
                Some(_) => "revoked, wipe pending".to_owned(),
                None if d.revoked => "revoked".to_owned(),
                None => "active".to_owned(),
            };
            let _ = writeln!(out, "{}\t{}\t{}\t{status}\t{}", d.id, d.user, d.name, d.actors.join(","));
        }
        Ok(out)
    }

    /// The audit log (of one account), oldest first, with RFC 3339 server times.
    pub fn audit_table(&self, account: Option<&str>, limit: u32) -> Result<String, ManageError> {
        let mut out = String::from("TIME\tUSER\tDEVICE\tDOCUMENT\tSEQ\tOP\tCHANGE\n");
        for e in audit::list(&self.conn, account, limit)? {
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at) * 1_000_000)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_else(|| e.at.to_string());
            let _ = writeln!(
                out,
                "{at}\t{}\t{} ({})\t{}\t{}\t{}\t{}",
                e.user, e.device_id, e.device, e.document, e.seq, e.op, e.change
            );
        }
        Ok(out)
    }
}
