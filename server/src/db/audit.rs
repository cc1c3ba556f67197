//! The audit log on the server's SQLite file: every accepted change with the
//! user and device that pushed it and the server's time, written in the
//! transaction that stores it, and administrators' actions, as
//! `rapport_server_store`'s [`AuditStore`] (ADR `docs/adr/0028-audit-store.md`).
//!
//! The values and the rules (what a change's operation is) are the shared
//! crate's, as on PostgreSQL; this file is only their SQL. The types are
//! re-exported here, where the server's callers have always found them.

use automerge::Change;
use rapport_server_store::AdminError;
use rapport_server_store::audit::{hex, operation};
use rusqlite::{Connection, params};

pub use rapport_server_store::audit::{acted, user_change};
pub use rapport_server_store::{ActedBy, AdminAction, AdminActionEntry, AuditEntry, AuditStore, Author, Recorded};

use super::{DbError, now_millis};

/// Writes the audit row of a change logged at `seq`, in the caller's transaction.
pub(crate) fn record(conn: &Connection, author: Author, doc: &str, seq: i64, change: &Change) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at, user_id, device_id, doc_id, seq, change, op) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        now_millis(),
        author.user_id,
        author.device_id,
        doc,
        seq,
        change.hash().0,
        operation(change.message())
    ])?;
    Ok(())
}

/// The audit log in the server's database, through a borrowed connection.
/// Each write is one statement, so it commits on its own unless the
/// connection is in a transaction.
#[derive(Debug, Clone, Copy)]
pub struct SqliteAudit<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteAudit<'c> {
    pub fn new(conn: &'c Connection) -> SqliteAudit<'c> {
        SqliteAudit { conn }
    }
}

fn sql(e: rusqlite::Error) -> AdminError {
    AdminError::backend(DbError::Sqlite(e))
}

impl AuditStore for SqliteAudit<'_> {
    fn record_action(
        &self,
        by: &ActedBy,
        action: AdminAction,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<(), AdminError> {
        let (user_id, device_id, console_user) = by.columns();
        self.conn
            .prepare_cached(
                "INSERT INTO admin_actions (at, user_id, device_id, console_user, action, subject, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    now_millis(),
                    user_id,
                    device_id,
                    console_user,
                    action.as_str(),
                    subject,
                    detail.to_string()
                ])
            })
            .map_err(sql)?;
        Ok(())
    }

    fn list_actions(&self, limit: u32) -> Result<Vec<AdminActionEntry>, AdminError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT * FROM (
                     SELECT a.at, u.name, a.device_id, a.console_user, a.action, a.subject, a.detail, a.id
                     FROM admin_actions a LEFT JOIN users u ON u.id = a.user_id
                     ORDER BY a.id DESC LIMIT ?1
                 ) ORDER BY 8",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map(params![limit], |r| {
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
            })
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    fn list_changes(&self, document: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>, AdminError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT * FROM (
                     SELECT a.at, u.name, a.device_id, d.name, a.doc_id, a.seq, a.change, a.op, a.id
                     FROM audit a JOIN users u ON u.id = a.user_id JOIN devices d ON d.id = a.device_id
                     WHERE ?1 IS NULL OR a.doc_id = ?1 ORDER BY a.id DESC LIMIT ?2
                 ) ORDER BY 9",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map(params![document, limit], |r| {
                let hash: Vec<u8> = r.get(6)?;
                Ok(AuditEntry {
                    at: r.get(0)?,
                    user: r.get(1)?,
                    device_id: r.get(2)?,
                    device: r.get(3)?,
                    document: r.get(4)?,
                    seq: r.get(5)?,
                    change: hex(&hash),
                    op: r.get(7)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }
}
