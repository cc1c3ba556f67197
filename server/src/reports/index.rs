//! The reporting index on SQLite: one account's reportable facts as rows of
//! the `rpt_*` tables, projected from the typed [`Account`] by the code every
//! backend shares (`rapport_server_store::report_rows`) and rewritten here
//! (delete, then insert) shortly after every accepted change, so the figures
//! managers read never disagree with the documents.
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
use rapport_server_store::report_rows::{Cell, Table, project};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

/// Tables holding one account's rows, keyed by `doc_id`; each has a
/// `{table}_hist` of its rows as they were known (ADR 0023).
pub use rapport_server_store::report_rows::NAMES as TABLES;
pub(crate) use rapport_server_store::report_rows::{DAY_MS, FIRST_ENTRY, millis, week_start};

/// Held interactions of the rows selected by `{rows}`, grouped by the key of `rpt_activity`.
const ACTIVITY_OF: &str =
    "SELECT hidden, rep, kind, week_start, coalesce(team, '') AS team, coalesce(owner, '') AS owner,
                                  week, count(*) AS n
                           FROM rpt_interactions WHERE {rows} AND status = 'held'
                           GROUP BY hidden, rep, kind, week_start, coalesce(team, ''), coalesce(owner, '')";

/// Stage moves of the rows selected by `{rows}`, grouped by the key of `rpt_stage_flow`.
const FLOW_OF: &str = "SELECT hidden, coalesce(team, '') AS team, coalesce(owner, '') AS owner,
                              coalesce(from_stage, '') AS from_stage, to_stage, week_start, prev_day, count(*) AS n
                       FROM rpt_stage_moves WHERE {rows}
                       GROUP BY hidden, coalesce(team, ''), coalesce(owner, ''), coalesce(from_stage, ''), to_stage,
                                week_start, prev_day";

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
/// The new rows are planned first; when their digest equals the one stored
/// with the account's current rows (an edit of a field no report reads), the
/// rows are already right and nothing is written.
pub(crate) fn rewrite(conn: &Connection, doc: &str, account: Option<(&Account, &[Conflict])>) -> rusqlite::Result<()> {
    let mut planned = None;
    if let Some((typed, conflicts)) = account {
        let rows = project(doc, typed, conflicts);
        let digest = rows.digest();
        let stored: Option<Option<Vec<u8>>> = conn
            .prepare_cached("SELECT digest FROM rpt_accounts WHERE doc_id = ?1")?
            .query_row([doc], |r| r.get(0))
            .optional()?;
        if stored.flatten().is_some_and(|d| d == digest) {
            return Ok(());
        }
        planned = Some((rows, digest));
    }
    subtract_rollups(conn, doc)?;
    for table in TABLES {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE doc_id = ?1"))?.execute([doc])?;
    }
    if let Some((rows, digest)) = planned {
        let mut inserts: [Option<String>; 8] = Default::default();
        for row in &rows.rows {
            let sql = inserts[row.table as usize].get_or_insert_with(|| insert_sql(row.table));
            conn.prepare_cached(sql)?.execute(params_from_iter(row.cells.iter().map(Stored)))?;
        }
        add_rollups(conn, doc)?;
        conn.prepare_cached("UPDATE rpt_accounts SET digest = ?2 WHERE doc_id = ?1")?
            .execute(params![doc, digest.as_slice()])?;
    }
    keep_as_known(conn, doc)
}

/// The statement inserting one row of `table`.
fn insert_sql(table: Table) -> String {
    let columns = table.columns();
    let values: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
    format!("INSERT INTO {} ({}) VALUES ({})", table.name(), columns.join(", "), values.join(", "))
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
pub(crate) const OPEN: i64 = i64::MAX;

/// The columns that name one of an account's rows in fact table `table`
/// (its primary key).
pub(crate) fn key(table: &str) -> &'static str {
    Table::named(table).map_or_else(|| unreachable!("{table} is not a fact table"), Table::key)
}

/// Records account `doc`'s rewritten rows in the `rpt_*_hist` tables (ADR
/// 0023), row by row: each open row that the new rows do not repeat value
/// for value is closed at the document's last log position `L` (or dropped,
/// if an earlier rewrite of the same state of the log opened it at `L`),
/// and each new row that is not open already is copied in, valid from `L`.
/// A row an edit left as it was keeps its range, so the rows replaced since
/// an instant are only those that changed.
fn keep_as_known(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    let seq: i64 = conn
        .prepare_cached("SELECT coalesce((SELECT last_seq FROM documents WHERE id = ?1), 0)")?
        .query_row([doc], |r| r.get(0))?;
    for table in TABLES {
        let columns = conn
            .prepare_cached(&format!("SELECT * FROM {table} LIMIT 0"))?
            .column_names()
            .collect::<Vec<_>>()
            .join(", ");
        let key = key(table);
        let open = format!("SELECT {columns} FROM {table}_hist WHERE doc_id = ?1 AND valid_to = {OPEN}");
        let new = format!("SELECT {columns} FROM {table} WHERE doc_id = ?1");
        let gone = format!("SELECT {key} FROM ({open} EXCEPT {new})");
        conn.prepare_cached(&format!(
            "DELETE FROM {table}_hist WHERE doc_id = ?1 AND valid_to = {OPEN} AND valid_from >= ?2 AND ({key}) IN ({gone})"
        ))?
        .execute(params![doc, seq])?;
        conn.prepare_cached(&format!(
            "UPDATE {table}_hist SET valid_to = ?2 WHERE doc_id = ?1 AND valid_to = {OPEN} AND ({key}) IN ({gone})"
        ))?
        .execute(params![doc, seq])?;
        conn.prepare_cached(&format!("INSERT INTO {table}_hist SELECT *, ?2, {OPEN} FROM ({new} EXCEPT {open})"))?
            .execute(params![doc, seq])?;
    }
    Ok(())
}

/// Takes what account `doc`'s current rows contribute out of the rollups
/// (and drops rollup rows left at zero).
fn subtract_rollups(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    let activity = ACTIVITY_OF.replace("{rows}", "doc_id = ?1");
    conn.prepare_cached(&format!(
        "UPDATE rpt_activity AS v SET n = v.n - x.n FROM ({activity}) AS x
         WHERE v.hidden = x.hidden AND v.rep = x.rep AND v.kind = x.kind AND v.week_start = x.week_start
           AND v.team = x.team AND v.owner = x.owner"
    ))?
    .execute([doc])?;
    conn.prepare_cached(&format!(
        "DELETE FROM rpt_activity WHERE n <= 0
           AND (hidden, rep, kind, week_start, team, owner) IN
               (SELECT hidden, rep, kind, week_start, team, owner FROM ({activity}))"
    ))?
    .execute([doc])?;
    let flow = FLOW_OF.replace("{rows}", "doc_id = ?1");
    conn.prepare_cached(&format!(
        "UPDATE rpt_stage_flow AS v SET n = v.n - x.n FROM ({flow}) AS x
         WHERE v.hidden = x.hidden AND v.team = x.team AND v.owner = x.owner AND v.from_stage = x.from_stage
           AND v.to_stage = x.to_stage AND v.week_start = x.week_start AND v.prev_day = x.prev_day"
    ))?
    .execute([doc])?;
    conn.prepare_cached(&format!(
        "DELETE FROM rpt_stage_flow WHERE n <= 0
           AND (hidden, team, owner, from_stage, to_stage, week_start, prev_day) IN
               (SELECT hidden, team, owner, from_stage, to_stage, week_start, prev_day FROM ({flow}))"
    ))?
    .execute([doc])?;
    Ok(())
}

/// Adds what account `doc`'s rows contribute to the rollups.
fn add_rollups(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    upsert_rollups(conn, "doc_id = ?1", &[&doc])
}

/// Adds the contribution of the fact rows selected by `rows` to the rollups.
fn upsert_rollups(conn: &Connection, rows: &str, params: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<()> {
    let activity = ACTIVITY_OF.replace("{rows}", rows);
    conn.prepare_cached(&format!(
        "INSERT INTO rpt_activity (hidden, rep, kind, week_start, team, owner, week, n)
         SELECT * FROM ({activity}) WHERE true
         ON CONFLICT (hidden, rep, kind, week_start, team, owner) DO UPDATE SET n = n + excluded.n"
    ))?
    .execute(params)?;
    let flow = FLOW_OF.replace("{rows}", rows);
    conn.prepare_cached(&format!(
        "INSERT INTO rpt_stage_flow (hidden, team, owner, from_stage, to_stage, week_start, prev_day, n)
         SELECT * FROM ({flow}) WHERE true
         ON CONFLICT (hidden, team, owner, from_stage, to_stage, week_start, prev_day) DO UPDATE SET n = n + excluded.n"
    ))?
    .execute(params)?;
    Ok(())
}

/// Recomputes both rollups from every fact row (for rows written without
/// [`write_report_rows`], such as the benchmark's fast seeding path, and to
/// check the incremental maintenance).
#[doc(hidden)]
pub fn rebuild_rollups(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("DELETE FROM rpt_activity; DELETE FROM rpt_stage_flow;")?;
    upsert_rollups(conn, "true", &[])
}
