//! The management commands (`rapport-server user|team|device|audit`).
//!
//! [`Managed::open`] picks where they act: the running server's admin API
//! (`/v1/admin/...`, [`AdminApi`]) when `--server URL` is given or when a
//! server holds the data directory (it wrote its address into [`URL_FILE`]),
//! with an admin device's token from `RAPPORT_ADMIN_TOKEN`; otherwise the
//! data directory's database file ([`Manager`]), which the server holds with
//! an exclusive lock while it runs. Both record what they do in the audit
//! log of administrators' actions (docs/OPERATIONS.md).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use rapport_server_store::DirectoryStore;
use rusqlite::Connection;

use crate::admin_client::AdminApi;
use crate::config::{DATABASE_FILE, URL_FILE};
use crate::db::audit::{
    ActedBy, AdminAction, AdminActionEntry, AuditEntry, AuditStore, Recorded, SqliteAudit, user_change,
};
use crate::db::users::{AdminError, DeviceInfo, NewDevice, SqliteDirectory, UserChange, UserInfo, WipeInfo};
use crate::db::{DbError, open_for_management};

/// Why a management command failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error(
        "the server is running and holds the database in {}; to use the admin API through it, set \
         RAPPORT_ADMIN_TOKEN to an admin device's token (and give --server URL if it is not found by itself), \
         or stop the server first", .0.display()
    )]
    ServerRunning(PathBuf),
    #[error("managing the server at {0} needs an admin device's token in RAPPORT_ADMIN_TOKEN")]
    NoToken(String),
    #[error("RAPPORT_ADMIN_TOKEN is not a device token (16 to 256 visible characters)")]
    InvalidToken,
    #[error("{0:?} is not a server address; write it as http://HOST:PORT or https://HOST")]
    InvalidServer(String),
    #[error("cannot reach the server at {server} ({reason}); check --server and that the server runs")]
    Unreachable { server: String, reason: String },
    #[error("the server at {server} refused RAPPORT_ADMIN_TOKEN ({message}); set it to an admin device's token")]
    TokenRefused { server: String, message: String },
    #[error("the server refused: {message}")]
    Refused { status: u16, message: String },
    #[error("{server} answered {status} with something that is not Rapport's admin API; check --server")]
    BadAnswer { server: String, status: u16 },
    #[error("cannot set up HTTPS to the server: {0}")]
    Tls(String),
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
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
        op: impl FnOnce(&Connection) -> Result<(T, Recorded), AdminError>,
    ) -> Result<T, ManageError> {
        let conn = &self.conn;
        Ok(SqliteAudit::new(conn).acted(&ActedBy::console(), || op(conn))?)
    }

    pub fn add_user(
        &mut self,
        name: &str,
        role: &str,
        change: &UserChange,
        device: &str,
    ) -> Result<NewDevice, ManageError> {
        self.acted(|conn| {
            let created = SqliteDirectory::new(conn).add_user(name, role, change, device)?;
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
            SqliteDirectory::new(conn).set_user(name, change)?;
            let detail = user_change(change);
            Ok(((), Recorded { action: AdminAction::UserChanged, subject: name.to_owned(), detail }))
        })
    }

    pub fn delete_user(&mut self, name: &str) -> Result<(), ManageError> {
        self.acted(|conn| {
            SqliteDirectory::new(conn).delete_user(name)?;
            let detail = serde_json::json!({ "devices_revoked": true });
            Ok(((), Recorded { action: AdminAction::UserDeleted, subject: name.to_owned(), detail }))
        })
    }

    pub fn add_team(&mut self, name: &str) -> Result<(), ManageError> {
        self.acted(|conn| {
            SqliteDirectory::new(conn).add_team(name)?;
            let (subject, detail) = (name.trim().to_owned(), serde_json::json!({}));
            Ok(((), Recorded { action: AdminAction::TeamAdded, subject, detail }))
        })
    }

    pub fn add_device(&mut self, user: &str, name: &str) -> Result<NewDevice, ManageError> {
        self.acted(|conn| {
            let created = SqliteDirectory::new(conn).add_device(user, name)?;
            let detail = serde_json::json!({ "user": created.user, "name": name.trim() });
            let subject = created.device_id.to_string();
            Ok((created, Recorded { action: AdminAction::DeviceAdded, subject, detail }))
        })
    }

    pub fn revoke_device(&mut self, id: i64) -> Result<(), ManageError> {
        self.acted(|conn| {
            SqliteDirectory::new(conn).revoke_device(id)?;
            let detail = serde_json::json!({ "wipe": false });
            Ok(((), Recorded { action: AdminAction::DeviceRevoked, subject: id.to_string(), detail }))
        })
    }

    /// Revokes a device as lost: at its next contact it is told to erase its data.
    pub fn revoke_device_for_wipe(&mut self, id: i64) -> Result<(), ManageError> {
        self.acted(|conn| {
            SqliteDirectory::new(conn).revoke_device_for_wipe(id)?;
            let detail = serde_json::json!({ "wipe": true });
            Ok(((), Recorded { action: AdminAction::DeviceRevokedForWipe, subject: id.to_string(), detail }))
        })
    }

    pub fn users(&self) -> Result<Vec<UserInfo>, ManageError> {
        Ok(SqliteDirectory::new(&self.conn).list_users()?)
    }

    pub fn teams(&self) -> Result<Vec<String>, ManageError> {
        Ok(SqliteDirectory::new(&self.conn).list_teams()?)
    }

    pub fn devices(&self) -> Result<Vec<DeviceInfo>, ManageError> {
        Ok(SqliteDirectory::new(&self.conn).list_devices()?)
    }

    pub fn audit(&self, account: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>, ManageError> {
        Ok(SqliteAudit::new(&self.conn).list_changes(account, limit)?)
    }

    pub fn actions(&self, limit: u32) -> Result<Vec<AdminActionEntry>, ManageError> {
        Ok(SqliteAudit::new(&self.conn).list_actions(limit)?)
    }
}

/// Where a management command acts.
#[derive(Debug)]
pub enum Managed {
    /// The data directory's database (no server holds it).
    File(Manager),
    /// A running server's admin API.
    Api(AdminApi),
}

impl Managed {
    /// The admin API at `server` if given; else the data directory's file if
    /// no server holds it; else the admin API of the server that does, at the
    /// address it wrote into the data directory. `token` is an admin device's
    /// token (`RAPPORT_ADMIN_TOKEN`), needed for the admin API.
    pub fn open(data_dir: &Path, server: Option<&str>, token: Option<&str>) -> Result<Managed, ManageError> {
        let api = |server: &str| match token {
            Some(token) => AdminApi::new(server, token).map(Managed::Api),
            None => Err(ManageError::NoToken(server.trim().to_owned())),
        };
        if let Some(server) = server {
            return api(server);
        }
        match Manager::open(data_dir) {
            Err(ManageError::ServerRunning(dir)) => {
                let url = std::fs::read_to_string(dir.join(URL_FILE)).ok();
                match (url.as_deref().map(str::trim).filter(|u| !u.is_empty()), token) {
                    (Some(url), Some(_)) => api(url),
                    _ => Err(ManageError::ServerRunning(dir)),
                }
            }
            opened => opened.map(Managed::File),
        }
    }

    pub async fn add_user(
        &mut self,
        name: &str,
        role: &str,
        change: &UserChange,
        device: &str,
    ) -> Result<NewDevice, ManageError> {
        match self {
            Managed::File(m) => m.add_user(name, role, change, device),
            Managed::Api(api) => api.add_user(name, role, change, device).await,
        }
    }

    pub async fn set_user(&mut self, name: &str, change: &UserChange) -> Result<(), ManageError> {
        match self {
            Managed::File(m) => m.set_user(name, change),
            Managed::Api(api) => api.set_user(name, change).await,
        }
    }

    pub async fn delete_user(&mut self, name: &str) -> Result<(), ManageError> {
        match self {
            Managed::File(m) => m.delete_user(name),
            Managed::Api(api) => api.delete_user(name).await,
        }
    }

    pub async fn add_team(&mut self, name: &str) -> Result<(), ManageError> {
        match self {
            Managed::File(m) => m.add_team(name),
            Managed::Api(api) => api.add_team(name).await,
        }
    }

    pub async fn add_device(&mut self, user: &str, name: &str) -> Result<NewDevice, ManageError> {
        match self {
            Managed::File(m) => m.add_device(user, name),
            Managed::Api(api) => api.add_device(user, name).await,
        }
    }

    /// Revokes a device; with `wipe`, as lost: at its next contact it is told to erase its data.
    pub async fn revoke_device(&mut self, id: i64, wipe: bool) -> Result<(), ManageError> {
        match (self, wipe) {
            (Managed::File(m), false) => m.revoke_device(id),
            (Managed::File(m), true) => m.revoke_device_for_wipe(id),
            (Managed::Api(api), wipe) => api.revoke_device(id, wipe).await,
        }
    }

    /// `NAME  ROLE  TEAMS  TERRITORIES  STATUS` per user.
    pub async fn users_table(&self) -> Result<String, ManageError> {
        let users = match self {
            Managed::File(m) => m.users()?,
            Managed::Api(api) => api.list_users().await?,
        };
        let mut out = String::from("NAME\tROLE\tTEAMS\tTERRITORIES\tSTATUS\n");
        for u in users {
            let join = |s: &std::collections::BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
            let status = if u.deleted { "deleted" } else { "active" };
            let _ = writeln!(out, "{}\t{}\t{}\t{}\t{status}", u.name, u.role, join(&u.teams), join(&u.territories));
        }
        Ok(out)
    }

    pub async fn teams_table(&self) -> Result<String, ManageError> {
        let teams = match self {
            Managed::File(m) => m.teams()?,
            Managed::Api(api) => api.list_teams().await?,
        };
        Ok(teams.into_iter().map(|t| t + "\n").collect())
    }

    pub async fn devices_table(&self) -> Result<String, ManageError> {
        let devices = match self {
            Managed::File(m) => m.devices()?,
            Managed::Api(api) => api.list_devices().await?,
        };
        let mut out = String::from("ID\tUSER\tNAME\tSTATUS\tACTORS\n");
        for d in devices {
            let status = match &d.wipe {
                Some(WipeInfo { done_at: Some(_), lost_documents, lost_changes, .. }) => format!(
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
    pub async fn audit_table(&self, account: Option<&str>, limit: u32) -> Result<String, ManageError> {
        let entries = match self {
            Managed::File(m) => m.audit(account, limit)?,
            Managed::Api(api) => api.audit(account, limit).await?,
        };
        let mut out = String::from("TIME\tUSER\tDEVICE\tDOCUMENT\tSEQ\tOP\tCHANGE\n");
        for e in entries {
            let _ = writeln!(
                out,
                "{}\t{}\t{} ({})\t{}\t{}\t{}\t{}",
                rfc3339(e.at),
                e.user,
                e.device_id,
                e.device,
                e.document,
                e.seq,
                e.op,
                e.change
            );
        }
        Ok(out)
    }

    /// Administrators' actions, oldest first: who (an admin user and device,
    /// or the console user on the data directory), what, and on what.
    pub async fn actions_table(&self, limit: u32) -> Result<String, ManageError> {
        let entries = match self {
            Managed::File(m) => m.actions(limit)?,
            Managed::Api(api) => api.actions(limit).await?,
        };
        let mut out = String::from("TIME\tBY\tACTION\tSUBJECT\tDETAIL\n");
        for e in entries {
            let by = match (&e.user, e.device_id, &e.console_user) {
                (Some(user), Some(device), _) => format!("{user} (device {device})"),
                (_, _, Some(console)) => format!("{console} (console)"),
                _ => "the server (schedule)".to_owned(),
            };
            let _ = writeln!(out, "{}\t{by}\t{}\t{}\t{}", rfc3339(e.at), e.action, e.subject, e.detail);
        }
        Ok(out)
    }
}

/// Milliseconds since the Unix epoch as RFC 3339 (UTC).
fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}
