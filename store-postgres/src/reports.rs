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
//! As on SQLite, and with the same statements (`report_sql`): the digest of
//! the projected rows (one hash per table) limits the rewrite to the tables
//! whose rows changed, and skips it when none did; the two
//! rollups lose the account's old rows' contribution and gain the new
//! rows'; each fact row that changed is closed in `rpt_*_hist` at the
//! account's position and the new row opened there, while a row the change
//! left as it was keeps its range.
//!
//! The rewrite runs while the log's lock is held, so every append on every
//! node waits for it: after the digest is read, its statements (up to
//! forty-odd, when every table changed) are sent together ([`Batch`]) and
//! cost one round trip, not one each.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use bytes::BytesMut;
use deadpool_postgres::Object;
use futures_util::future::{MaybeDone, maybe_done};
use rapport_core::{Account, Conflict};
use rapport_server_store::field_changes::{self, FieldChanges};
use rapport_server_store::report_rows::{Cell, Table, changed_tables, project};
use rapport_server_store::report_sql::{self, Dialect};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::PgError;

const POSTGRES: Dialect = Dialect::Postgres;

/// A statement parameter: a projected cell, or the digest.
#[derive(Debug)]
pub(crate) enum Param {
    Cell(Cell),
    Bytes(Vec<u8>),
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Cell(Cell::Null) => Ok(IsNull::Yes),
            Param::Cell(Cell::Flag(b)) => b.to_sql(ty, out),
            // A parameter PostgreSQL typed as a narrower integer (from the
            // column or the literal it is compared with) takes the value if it fits.
            Param::Cell(Cell::Int(i)) => match *ty {
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Param::Cell(Cell::Text(t)) => t.as_str().to_sql(ty, out),
            Param::Bytes(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <bool as ToSql>::accepts(ty)
            || <i64 as ToSql>::accepts(ty)
            || <i32 as ToSql>::accepts(ty)
            || <i16 as ToSql>::accepts(ty)
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
    let (planned, tables) = match account {
        Some((typed, conflicts)) => {
            let rows = project(doc, &typed, &conflicts);
            let digest = rows.digest();
            let stored = c.prepare_cached("SELECT digest FROM rpt_accounts WHERE doc_id = $1").await?;
            let stored: Option<Option<Vec<u8>>> = c.query_opt(&stored, &[&doc]).await?.map(|r| r.get(0));
            let tables = changed_tables(&digest, stored.flatten().as_deref());
            if tables.is_empty() {
                return batch.run(c).await;
            }
            (Some((rows, digest)), tables)
        }
        None => (None, Table::ALL.to_vec()),
    };
    for sql in report_sql::remove(POSTGRES, &tables) {
        batch.for_doc(sql, doc);
    }
    if let Some((rows, digest)) = planned {
        for row in rows.rows.into_iter().filter(|r| tables.contains(&r.table)) {
            let table = row.table;
            batch
                .push(POSTGRES.insert(table.name(), table.columns()), row.cells.into_iter().map(Param::Cell).collect());
        }
        for sql in report_sql::add_rollups(&format!("doc_id = {}", POSTGRES.param(1)), &tables) {
            batch.for_doc(sql, doc);
        }
        batch.push(
            "UPDATE rpt_accounts SET digest = $2 WHERE doc_id = $1".to_owned(),
            vec![Param::Cell(Cell::Text(doc.to_owned())), Param::Bytes(digest)],
        );
    }
    for sql in report_sql::keep_as_known(POSTGRES, &tables) {
        batch.for_doc(sql, doc);
    }
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
            POSTGRES.insert(field_changes::TABLE, &field_changes::COLUMNS),
            row.into_iter().map(Param::Cell).collect(),
        );
    }
}
