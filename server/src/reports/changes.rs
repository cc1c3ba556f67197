//! The late-edits index (`rpt_field_changes`, ADR 0022) on SQLite: the rows
//! of every accepted change, projected by the code every backend shares
//! (`rapport_server_store::field_changes`), written in the transaction that
//! appends the change to the log; the account's name and scope on its older
//! rows are kept equal to the current ones.

use automerge::AutoCommit;
pub use rapport_server_store::field_changes::Appended;
use rapport_server_store::field_changes::{AccountCopy, COLUMNS, TABLE, project};
use rapport_server_store::report_sql::Dialect;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::index::Stored;

/// Writes the field changes of `appended` (already applied to `am`, the
/// account `doc`), received by the server at `received_at`, and brings the
/// name and scope of the account's older rows up to date. A document that
/// is not a readable account gets no rows.
pub fn write_field_changes(
    conn: &Connection,
    doc: &str,
    am: &mut AutoCommit,
    appended: &[Appended],
    received_at: i64,
) -> rusqlite::Result<()> {
    let Some(projected) = project(doc, am, appended, received_at) else { return Ok(()) };
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
