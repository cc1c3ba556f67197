//! Which log this database holds: its identity, its epoch, and the hash of
//! the change at every log position (protocol version 2, ADR 0011).
//!
//! A restore (or a copy of the data directory put back) brings back an older
//! log under the same identity. [`start_new_epoch`] declares it; a device
//! that saw more of the log than this database holds proves it too, and the
//! protocol then starts a new epoch itself. Devices that saw another epoch
//! re-announce what they hold and push what the restored server lacks.

use std::path::Path;

use rapport_core::sync::{Fingerprint, LogIdentity, fingerprint_of};
use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;

/// The database's identity and current epoch.
pub(crate) fn identity(conn: &Connection) -> Result<LogIdentity, DbError> {
    let mut get = conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
    let server: Vec<u8> = get.query_row(["server_id"], |r| r.get(0))?;
    let epoch: i64 = get.query_row(["epoch"], |r| r.get(0))?;
    let server = <[u8; 16]>::try_from(server.as_slice())
        .map_err(|_| DbError::Corrupt { doc: "meta".into(), reason: "the server id is not 16 bytes".into() })?;
    Ok(LogIdentity { server, epoch: epoch.max(0) as u64 })
}

/// Starts a new epoch: the time now in milliseconds since the Unix epoch,
/// or one past the current epoch if that is later. Two restores of the same
/// backup thus never share an epoch.
pub(crate) fn start_epoch(conn: &Connection) -> Result<LogIdentity, DbError> {
    let current = identity(conn)?;
    let epoch = (current.epoch + 1).max(super::now_millis().max(0) as u64);
    conn.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'epoch'")?
        .execute([i64::try_from(epoch).unwrap_or(i64::MAX)])?;
    Ok(LogIdentity { epoch, ..current })
}

/// The fingerprint of the change logged at `seq`, if known.
pub(crate) fn fingerprint(conn: &Connection, seq: u64) -> Result<Option<Fingerprint>, DbError> {
    let hash: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM log_hashes WHERE seq = ?1")?
        .query_row([i64::try_from(seq).unwrap_or(i64::MAX)], |r| r.get(0))
        .optional()?;
    Ok(hash.and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok()).map(|h| fingerprint_of(&h)))
}

/// Makes the next change's position greater than `seen` (the change log's
/// AUTOINCREMENT counter); returns whether it moved.
pub(crate) fn skip_past(conn: &Connection, seen: u64) -> Result<bool, DbError> {
    let seen = i64::try_from(seen).unwrap_or(i64::MAX);
    let current: Option<i64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    match current {
        Some(seq) if seq >= seen => Ok(false),
        Some(_) => {
            conn.prepare_cached("UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'changes'")?.execute([seen])?;
            Ok(true)
        }
        None => {
            conn.prepare_cached("INSERT INTO sqlite_sequence (name, seq) VALUES ('changes', ?1)")?.execute([seen])?;
            Ok(true)
        }
    }
}

/// Declares that the database at `path` was restored (from a backup or a
/// copy of the data directory): starts a new epoch, so that every device
/// re-announces what it holds and pushes what this database lacks. The
/// server must not be running. Returns the new identity and epoch.
pub fn start_new_epoch(path: &Path) -> Result<LogIdentity, DbError> {
    if !path.is_file() {
        return Err(DbError::NoDatabase(path.to_path_buf()));
    }
    let (mut conn, _lock) = super::open_for_management(path)?;
    let tx = conn.transaction()?;
    let old = identity(&tx)?;
    let new = start_epoch(&tx)?;
    tx.commit()?;
    tracing::warn!(old_epoch = old.epoch, new_epoch = new.epoch, "started a new epoch: devices will heal this server");
    Ok(new)
}

/// Fills in `log_hashes` for changes stored before it existed. Rows that do
/// not parse are left out (their position has no fingerprint).
pub(crate) fn backfill_log_hashes(conn: &mut Connection) -> Result<usize, DbError> {
    let missing: i64 = conn.query_row(
        "SELECT count(*) FROM changes c WHERE NOT EXISTS (SELECT 1 FROM log_hashes h WHERE h.seq = c.seq)",
        [],
        |r| r.get(0),
    )?;
    if missing == 0 {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    let mut done = 0;
    {
        let mut select = tx.prepare(
            "SELECT seq, bytes FROM changes c WHERE NOT EXISTS (SELECT 1 FROM log_hashes h WHERE h.seq = c.seq)",
        )?;
        let mut insert = tx.prepare("INSERT INTO log_hashes (seq, hash) VALUES (?1, ?2)")?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let (seq, bytes): (i64, Vec<u8>) = (row.get(0)?, row.get(1)?);
            if let Ok(change) = automerge::Change::from_bytes(bytes) {
                insert.execute(params![seq, &change.hash().0[..]])?;
                done += 1;
            }
        }
    }
    tx.commit()?;
    tracing::info!(changes = done, "recorded the hashes of stored changes");
    Ok(done)
}
