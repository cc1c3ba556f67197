//! The reporting index on SQLite: one account's reportable facts as rows of
//! the `rpt_*` tables, projected from the typed [`Account`] by the code every
//! backend shares (`rapport_server_store::report_rows`) and rewritten here
//! (delete, then insert) shortly after every accepted change, so the figures
//! managers read never disagree with the documents.
//!
//! Only the tables whose rows changed are rewritten (the digest of the
//! projected rows holds one hash per table).
//!
//! Every fact row carries the account's scope (`owner`, `team`, `territory`,
//! `hidden`), so a report reads one table and never joins. Two rollups,
//! `rpt_activity` (held interactions per rep × kind × week) and
//! `rpt_stage_flow` (stage moves per from → to × week), are maintained in the
//! same rewrite: what the account's old rows contributed is subtracted before
//! they are deleted, what the new rows contribute is added after they are
//! inserted. [`rebuild_rollups`] recomputes them from the fact rows.
//!
//! Each rewrite also keeps the rows as they were known: the fact rows are
//! copied into `rpt_*_hist` with the log range over which they were the
//! account's rows ([`super::known`], ADR 0023).

use automerge::AutoCommit;
use rapport_core::{Account, AccountDoc, Conflict};
use rapport_server_store::report_rows::{Cell, Table, changed_tables, project};
use rapport_server_store::report_sql::{self, Dialect};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

/// Tables holding one account's rows, keyed by `doc_id`; each has a
/// `{table}_hist` of its rows as they were known (ADR 0023).
pub use rapport_server_store::report_rows::NAMES as TABLES;
pub(crate) use rapport_server_store::report_rows::{DAY_MS, FIRST_ENTRY, millis, week_start};

const SQLITE: Dialect = Dialect::Sqlite;

/// Rewrites the reporting rows of account `doc` from its current state. A
/// document that is not a readable account leaves no rows.
#[doc(hidden)]
pub fn write_report_rows(conn: &Connection, doc: &str, am: &mut AutoCommit) -> rusqlite::Result<()> {
    // Read in place: the document stays in the server's cache, no copy.
    match AccountDoc::with_borrowed(am, |account| (account.read(), account.conflicts())) {
        Ok((typed, conflicts)) => rewrite(conn, doc, Some((&typed, &conflicts))),
        Err(e) => {
            tracing::warn!(doc, error = %e, "not indexing a document that is not a readable account");
            rewrite(conn, doc, None)
        }
    }
}

/// Replaces the rows of account `doc` with those of `account` (none if `None`),
/// keeping the rollups in step.
///
/// The new rows are planned first; only the tables whose part of their
/// digest differs from the one stored with the account's current rows are
/// rewritten, and none when an edit changed no field a report reads.
pub(crate) fn rewrite(conn: &Connection, doc: &str, account: Option<(&Account, &[Conflict])>) -> rusqlite::Result<()> {
    let (planned, tables) = match account {
        Some((typed, conflicts)) => {
            let rows = project(doc, typed, conflicts);
            let digest = rows.digest();
            let stored: Option<Option<Vec<u8>>> = conn
                .prepare_cached("SELECT digest FROM rpt_accounts WHERE doc_id = ?1")?
                .query_row([doc], |r| r.get(0))
                .optional()?;
            let tables = changed_tables(&digest, stored.flatten().as_deref());
            if tables.is_empty() {
                return Ok(());
            }
            (Some((rows, digest)), tables)
        }
        None => (None, Table::ALL.to_vec()),
    };
    for sql in report_sql::remove(SQLITE, &tables) {
        conn.prepare_cached(&sql)?.execute([doc])?;
    }
    if let Some((rows, digest)) = planned {
        let mut inserts: [Option<String>; 8] = Default::default();
        for row in rows.rows.iter().filter(|r| tables.contains(&r.table)) {
            let table = row.table;
            let sql = inserts[table as usize].get_or_insert_with(|| SQLITE.insert(table.name(), table.columns()));
            conn.prepare_cached(sql)?.execute(params_from_iter(row.cells.iter().map(Stored)))?;
        }
        add_rollups(conn, &format!("doc_id = {}", SQLITE.param(1)), &tables, &[&doc])?;
        conn.prepare_cached("UPDATE rpt_accounts SET digest = ?2 WHERE doc_id = ?1")?
            .execute(params![doc, digest.as_slice()])?;
    }
    for sql in report_sql::keep_as_known(SQLITE, &tables) {
        conn.prepare_cached(&sql)?.execute([doc])?;
    }
    Ok(())
}

/// A projected cell as SQLite stores it (a flag as 0 or 1), borrowed.
pub(crate) struct Stored<'a>(pub(crate) &'a Cell);

impl ToSql for Stored<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Cell::Null => ValueRef::Null,
            Cell::Flag(b) => ValueRef::Integer(i64::from(*b)),
            Cell::Int(i) => ValueRef::Integer(*i),
            Cell::Text(t) => ValueRef::Text(t.as_bytes()),
        }))
    }
}

/// `valid_to` of a `rpt_*_hist` row that is still the account's current row.
pub(crate) use rapport_server_store::report_sql::OPEN;

/// The columns that name one of an account's rows in fact table `table`
/// (its primary key).
pub(crate) fn key(table: &str) -> &'static str {
    Table::named(table).map_or_else(|| unreachable!("{table} is not a fact table"), Table::key)
}

/// Adds the contribution of the fact rows of `tables` selected by `rows` to the rollups.
fn add_rollups(conn: &Connection, rows: &str, tables: &[Table], params: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for sql in report_sql::add_rollups(rows, tables) {
        conn.prepare_cached(&sql)?.execute(params)?;
    }
    Ok(())
}

/// Recomputes both rollups from every fact row (for rows written without
/// [`write_report_rows`], such as the benchmark's fast seeding path, and to
/// check the incremental maintenance).
#[doc(hidden)]
pub fn rebuild_rollups(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("DELETE FROM rpt_activity; DELETE FROM rpt_stage_flow;")?;
    add_rollups(conn, "true", &Table::ALL, &[])
}
