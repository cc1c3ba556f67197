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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
