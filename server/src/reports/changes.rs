//! The late-edits index (`rpt_field_changes`, ADR 0022) on SQLite: the rows
//! of every accepted change, projected by the code every backend shares
//! (`rapport_server_store::field_changes`); the account's name and scope on
//! its older rows are kept equal to the current ones.
//!
//! The transaction that appends a change only records it as pending
//! ([`record_pending`]); its rows are written with the account's reporting
//! rows, off the acknowledgement path, before anything reads them (ADR 0022,
//! amended; ADR 0007).

use automerge::{AutoCommit, ChangeHash};
pub use rapport_server_store::field_changes::Appended;
use rapport_server_store::field_changes::{AccountCopy, COLUMNS, TABLE, project};
use rapport_server_store::report_sql::Dialect;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::index::Stored;

/// Records `appended` (changes of the account `doc` this transaction
/// appends) for [`write_pending`].
pub(crate) fn record_pending(conn: &Connection, doc: &str, appended: &[Appended]) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO rpt_changes_pending (seq, doc_id, hash, made_at, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for a in appended {
        insert.execute(params![a.seq, doc, &a.hash.0[..], a.made_at, a.received_at])?;
    }
    Ok(())
}

/// Writes the field changes of the account `doc`'s pending changes from
/// `am`, its current document, and clears them.
pub(crate) fn write_pending(conn: &Connection, doc: &str, am: &mut AutoCommit) -> rusqlite::Result<()> {
    let pending: Vec<Appended> = conn
        .prepare_cached(
            "SELECT seq, hash, made_at, received_at FROM rpt_changes_pending WHERE doc_id = ?1 ORDER BY seq",
        )?
        .query_map([doc], |r| {
            let hash: Vec<u8> = r.get(1)?;
            let hash = ChangeHash::try_from(hash.as_slice())
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Blob, Box::new(e)))?;
            Ok(Appended { seq: r.get(0)?, hash, made_at: r.get(2)?, received_at: r.get(3)? })
        })?
        .collect::<rusqlite::Result<_>>()?;
    if pending.is_empty() {
        return Ok(());
    }
    write_field_changes(conn, doc, am, &pending)?;
    forget_pending(conn, doc)
}

/// Drops the account `doc`'s pending changes (written, or the document is gone).
pub(crate) fn forget_pending(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM rpt_changes_pending WHERE doc_id = ?1")?.execute([doc])?;
    Ok(())
}

/// Writes the field changes of `appended` (already applied to `am`, the
/// account `doc`) and brings the name and scope of the account's older rows
/// up to date. A document that is not a readable account gets no rows.
pub fn write_field_changes(
    conn: &Connection,
    doc: &str,
    am: &mut AutoCommit,
    appended: &[Appended],
) -> rusqlite::Result<()> {
    let Some(projected) = project(doc, am, appended) else { return Ok(()) };
    refresh_copies(conn, doc, &projected.copy)?;
    let mut insert = conn.prepare_cached(&Dialect::Sqlite.insert(TABLE, &COLUMNS))?;
    for row in &projected.rows {
        insert.execute(params_from_iter(row.iter().map(Stored)))?;
    }
    Ok(())
}

/// Rewrites the name and scope on the account's existing rows when they
/// differ from `copy` (all its rows always agree, so one row tells).
fn refresh_copies(conn: &Connection, doc: &str, copy: &AccountCopy) -> rusqlite::Result<()> {
    let stored = conn
        .prepare_cached(
            "SELECT name, owner, team, territory, hidden FROM rpt_field_changes WHERE doc_id = ?1
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([doc], |r| {
            Ok(AccountCopy {
                name: r.get(0)?,
                owner: r.get(1)?,
                team: r.get(2)?,
                territory: r.get(3)?,
                hidden: r.get(4)?,
            })
        })
        .optional()?;
    if stored.is_some_and(|s| s != *copy) {
        conn.prepare_cached(
            "UPDATE rpt_field_changes SET name = ?2, owner = ?3, team = ?4, territory = ?5, hidden = ?6
             WHERE doc_id = ?1",
        )?
        .execute(params![doc, copy.name, copy.owner, copy.team, copy.territory, copy.hidden])?;
    }
    Ok(())
}
