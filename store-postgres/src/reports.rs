//! The reporting index on PostgreSQL (ADR 0033): an account's rows in the
//! `rpt_*` tables (migration 0006) and the fields each change set (the
//! late-edits index, migration 0007), projected by the code every backend
//! shares (`rapport_server_store::report_rows`, `::field_changes`) and
//! written in the transaction that logs a change to the account, under the
//! log's lock.
//! The rewrite is therefore done once, by the node that logged the change,
//! and its rows are known from the account's new log position: no rewrite
//! is deferred, so no state an account held is ever skipped.
//!
//! As on SQLite: the digest of the projected rows skips a rewrite that
//! would change nothing; the two rollups lose the account's old rows'
//! contribution and gain the new rows'; each fact row that changed is
//! closed in `rpt_*_hist` at the account's position and the new row
//! opened there, while a row the change left as it was keeps its range.
//!
//! The rewrite runs while the log's lock is held, so every append on every
//! node waits for it: after the digest is read, its forty-odd statements
//! are sent together ([`Batch`]) and cost one round trip, not one each.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use bytes::BytesMut;
use deadpool_postgres::Object;
use futures_util::future::{MaybeDone, maybe_done};
use rapport_core::{Account, Conflict};
use rapport_server_store::field_changes::{self, FieldChanges};
use rapport_server_store::report_rows::{Cell, NAMES, Table, project};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::PgError;

/// `valid_to` of a `rpt_*_hist` row that is still the account's current row.
const OPEN: i64 = i64::MAX;

/// The account's log position, in a statement whose `$1` is the account.
const POSITION: &str = "(SELECT last_seq FROM documents WHERE id = $1)";

/// Held interactions of the rows selected by `{rows}`, grouped by the key of `rpt_activity`.
const ACTIVITY_OF: &str = "SELECT hidden, rep, kind, week_start, coalesce(team, '') AS team,
                                  coalesce(owner, '') AS owner, min(week) AS week, count(*) AS n
                           FROM rpt_interactions WHERE {rows} AND status = 'held'
                           GROUP BY hidden, rep, kind, week_start, coalesce(team, ''), coalesce(owner, '')";

/// Stage moves of the rows selected by `{rows}`, grouped by the key of `rpt_stage_flow`.
const FLOW_OF: &str = "SELECT hidden, coalesce(team, '') AS team, coalesce(owner, '') AS owner,
                              coalesce(from_stage, '') AS from_stage, to_stage, week_start, prev_day, count(*) AS n
                       FROM rpt_stage_moves WHERE {rows}
                       GROUP BY hidden, coalesce(team, ''), coalesce(owner, ''), coalesce(from_stage, ''), to_stage,
                                week_start, prev_day";

/// A statement parameter: a projected cell, or the digest.
#[derive(Debug)]
enum Param {
    Cell(Cell),
    Bytes(Vec<u8>),
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Cell(Cell::Null) => Ok(IsNull::Yes),
            Param::Cell(Cell::Flag(b)) => b.to_sql(ty, out),
            Param::Cell(Cell::Int(i)) => i.to_sql(ty, out),
            Param::Cell(Cell::Text(t)) => t.as_str().to_sql(ty, out),
            Param::Bytes(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <bool as ToSql>::accepts(ty)
            || <i64 as ToSql>::accepts(ty)
            || <&str as ToSql>::accepts(ty)
            || <Vec<u8> as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// Statements run in order in one round trip: tokio-postgres sends a
/// request when its future is first polled, and PostgreSQL runs requests
/// in the order they arrive. After a failed statement the rest fail too
/// (the transaction is aborted); the first error is returned.
#[derive(Default)]
struct Batch {
    statements: Vec<(String, Vec<Param>)>,
}

impl Batch {
    fn push(&mut self, sql: String, params: Vec<Param>) {
        self.statements.push((sql, params));
    }

    /// A statement whose one parameter is the account.
    fn for_doc(&mut self, sql: String, doc: &str) {
        self.push(sql, vec![Param::Cell(Cell::Text(doc.to_owned()))]);
    }

    async fn run(self, c: &Object) -> Result<(), PgError> {
        let mut prepared = Vec::with_capacity(self.statements.len());
        for (sql, _) in &self.statements {
            // Prepared once per connection; cached after.
            prepared.push(c.prepare_cached(sql).await?);
        }
        let mut runs: Vec<Pin<Box<MaybeDone<_>>>> = prepared
            .iter()
            .zip(&self.statements)
            .map(|(statement, (_, params))| {
                Box::pin(maybe_done(async move {
                    let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                    c.execute(statement, &params).await
                }))
            })
            .collect();
        // Send every request, in order, before waiting for any answer.
        poll_fn(|cx| {
            for run in &mut runs {
                let _ = run.as_mut().poll(cx);
            }
            Poll::Ready(())
        })
        .await;
        for run in &mut runs {
            run.as_mut().await;
        }
        for run in &mut runs {
            if let Some(Err(e)) = run.as_mut().take_output() {
                return Err(e.into());
            }
        }
        Ok(())
    }
}

/// The statement inserting one row of `table` with `columns` (quoted: the
/// late-edits index has a column named `user`).
fn insert_sql(table: &str, columns: &[&str]) -> String {
    let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let values: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
    format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), values.join(", "))
}

/// Replaces the reporting rows of account `doc` with those of `account`
/// (none if `None`: not a readable account), and indexes the fields its
/// appended changes set (`changes`). Runs inside the transaction that
/// logged the changes, after the account's position moved.
pub(crate) async fn rewrite(
    c: &Object,
    doc: &str,
    account: Option<(Account, Vec<Conflict>)>,
    changes: Option<FieldChanges>,
) -> Result<(), PgError> {
    let mut batch = Batch::default();
    if let Some(changes) = changes {
        index_field_changes(&mut batch, doc, changes);
    }
    let mut planned = None;
    if let Some((typed, conflicts)) = account {
        let rows = project(doc, &typed, &conflicts);
        let digest = rows.digest();
        let stored = c.prepare_cached("SELECT digest FROM rpt_accounts WHERE doc_id = $1").await?;
        let stored: Option<Option<Vec<u8>>> = c.query_opt(&stored, &[&doc]).await?.map(|r| r.get(0));
        if stored.flatten().is_some_and(|d| d == digest) {
            return batch.run(c).await;
        }
        planned = Some((rows, digest));
    }
    subtract_rollups(&mut batch, doc);
    for table in NAMES {
        batch.for_doc(format!("DELETE FROM {table} WHERE doc_id = $1"), doc);
    }
    if let Some((rows, digest)) = planned {
        for row in rows.rows {
            batch.push(
                insert_sql(row.table.name(), row.table.columns()),
                row.cells.into_iter().map(Param::Cell).collect(),
            );
        }
        add_rollups(&mut batch, doc);
        batch.push(
            "UPDATE rpt_accounts SET digest = $2 WHERE doc_id = $1".to_owned(),
            vec![Param::Cell(Cell::Text(doc.to_owned())), Param::Bytes(digest.to_vec())],
        );
    }
    keep_as_known(&mut batch, doc);
    batch.run(c).await
}

/// The rows of the late-edits index for some appended changes; the
/// account's older rows take its current name and scope.
fn index_field_changes(batch: &mut Batch, doc: &str, changes: FieldChanges) {
    let copy = changes.copy;
    batch.push(
        "UPDATE rpt_field_changes SET name = $2, owner = $3, team = $4, territory = $5, hidden = $6
         WHERE doc_id = $1
           AND (name, owner, team, territory, hidden) IS DISTINCT FROM ($2::text, $3::text, $4::text, $5::text, $6::boolean)"
            .to_owned(),
        [
            Cell::Text(doc.to_owned()),
            Cell::Text(copy.name),
            copy.owner.into(),
            copy.team.into(),
            copy.territory.into(),
            Cell::Flag(copy.hidden),
        ]
        .into_iter()
        .map(Param::Cell)
        .collect(),
    );
    for row in changes.rows {
        batch.push(
            insert_sql(field_changes::TABLE, &field_changes::COLUMNS),
            row.into_iter().map(Param::Cell).collect(),
        );
    }
}

/// Takes what account `doc`'s current rows contribute out of the rollups,
/// and drops rollup rows left at zero.
fn subtract_rollups(batch: &mut Batch, doc: &str) {
    let activity = ACTIVITY_OF.replace("{rows}", "doc_id = $1");
    let flow = FLOW_OF.replace("{rows}", "doc_id = $1");
    for sql in [
        format!(
            "UPDATE rpt_activity AS v SET n = v.n - x.n FROM ({activity}) AS x
             WHERE v.hidden = x.hidden AND v.rep = x.rep AND v.kind = x.kind AND v.week_start = x.week_start
               AND v.team = x.team AND v.owner = x.owner"
        ),
        format!(
            "DELETE FROM rpt_activity WHERE n <= 0
               AND (hidden, rep, kind, week_start, team, owner) IN
                   (SELECT hidden, rep, kind, week_start, team, owner FROM ({activity}) AS x)"
        ),
        format!(
            "UPDATE rpt_stage_flow AS v SET n = v.n - x.n FROM ({flow}) AS x
             WHERE v.hidden = x.hidden AND v.team = x.team AND v.owner = x.owner AND v.from_stage = x.from_stage
               AND v.to_stage = x.to_stage AND v.week_start = x.week_start AND v.prev_day = x.prev_day"
        ),
        format!(
            "DELETE FROM rpt_stage_flow WHERE n <= 0
               AND (hidden, team, owner, from_stage, to_stage, week_start, prev_day) IN
                   (SELECT hidden, team, owner, from_stage, to_stage, week_start, prev_day FROM ({flow}) AS x)"
        ),
    ] {
        batch.for_doc(sql, doc);
    }
}

/// Adds what account `doc`'s rows contribute to the rollups.
fn add_rollups(batch: &mut Batch, doc: &str) {
    let activity = ACTIVITY_OF.replace("{rows}", "doc_id = $1");
    let flow = FLOW_OF.replace("{rows}", "doc_id = $1");
    batch.for_doc(
        format!(
            "INSERT INTO rpt_activity (hidden, rep, kind, week_start, team, owner, week, n)
             SELECT * FROM ({activity}) AS x
             ON CONFLICT (hidden, rep, kind, week_start, team, owner) DO UPDATE SET n = rpt_activity.n + excluded.n"
        ),
        doc,
    );
    batch.for_doc(
        format!(
            "INSERT INTO rpt_stage_flow (hidden, team, owner, from_stage, to_stage, week_start, prev_day, n)
             SELECT * FROM ({flow}) AS x
             ON CONFLICT (hidden, team, owner, from_stage, to_stage, week_start, prev_day)
             DO UPDATE SET n = rpt_stage_flow.n + excluded.n"
        ),
        doc,
    );
}

/// Records account `doc`'s rewritten rows in the `rpt_*_hist` tables, row
/// by row, at the account's log position `L`: each open row the new rows do
/// not repeat value for value is closed at `L` (or dropped, if it was
/// opened at `L`), and each new row not open already is opened at `L`.
fn keep_as_known(batch: &mut Batch, doc: &str) {
    for table in Table::ALL {
        let (name, known, key) = (table.name(), table.known_name(), table.key());
        let columns = table.columns().join(", ");
        let open = format!("SELECT {columns} FROM {known} WHERE doc_id = $1 AND valid_to = {OPEN}");
        let new = format!("SELECT {columns} FROM {name} WHERE doc_id = $1");
        let gone = format!("SELECT {key} FROM ({open} EXCEPT {new}) AS gone");
        for sql in [
            format!(
                "DELETE FROM {known} WHERE doc_id = $1 AND valid_to = {OPEN} AND valid_from >= {POSITION}
                   AND ({key}) IN ({gone})"
            ),
            format!(
                "UPDATE {known} SET valid_to = {POSITION} WHERE doc_id = $1 AND valid_to = {OPEN} AND ({key}) IN ({gone})"
            ),
            format!(
                "INSERT INTO {known} ({columns}, valid_from, valid_to)
                 SELECT *, {POSITION}, {OPEN} FROM ({new} EXCEPT {open}) AS fresh"
            ),
        ] {
            batch.for_doc(sql, doc);
        }
    }
}
