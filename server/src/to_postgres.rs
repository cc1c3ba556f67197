//! `rapport-server migrate --from-data DIR --to postgres://…`: copies a
//! SQLite deployment (documents, the log with its identity and positions,
//! users, teams, devices and token hashes, wipes, actor bindings, what each
//! device holds, the accounts' scope index, the two times of every change,
//! the audit log) into an
//! empty PostgreSQL database, in one transaction, then verifies the copy
//! (ADR `docs/adr/0029-migrate-to-postgres.md`).
//!
//! Ids and log positions are kept, and the log's identity and epoch with
//! them, so a device sees the same log and goes on from where it was: no
//! re-initialising, nothing sent again. The SQLite file is only read (its
//! schema is brought up to date first, as `serve` would); the server must
//! be stopped, which the data directory's lock ensures. The reporting
//! index, derived again from the documents, is not copied.

use std::collections::HashMap;
use std::path::Path;

use automerge::{AutoCommit, ChangeHash};
use rapport_core::sync::ServerStore;
use rapport_store_postgres::import::{Table, Value};
use rapport_store_postgres::{PgError, PgImport, PgLog, PgOptions};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::config::DATABASE_FILE;
use crate::db::{DbError, LogFile};

/// Rows handed to PostgreSQL at a time.
const BATCH: usize = 1000;

/// Why a migration to PostgreSQL stopped. The SQLite deployment is
/// unchanged either way, and PostgreSQL holds either nothing of the copy or
/// all of it (then unverified only for [`MoveError::Mismatch`]).
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("{0}")]
    Sqlite(#[from] DbError),
    #[error("{0}")]
    Postgres(#[from] PgError),
    #[error(
        "the SQLite database holds a value PostgreSQL cannot take (in {table}); check it with `rapport-server backup`"
    )]
    Value { table: &'static str },
    #[error(
        "log position {seq} has a change that is in no document; the SQLite database is damaged: restore a backup first"
    )]
    Orphan { seq: i64 },
    #[error(
        "the copy in PostgreSQL does not match the SQLite database ({what}); keep serving from SQLite, drop the PostgreSQL database and run the migration again"
    )]
    Mismatch { what: String },
}

/// What was copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// Rows copied per table, in [`Table::all`]'s order.
    pub rows: Vec<(Table, i64)>,
    /// The log's head.
    pub head: u64,
}

impl Moved {
    /// How many rows `table` got.
    pub fn count(&self, table: Table) -> i64 {
        self.rows.iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n)
    }
}

/// Copies the deployment in `data_dir` into the empty PostgreSQL database at `url`, and verifies it.
pub fn migrate(data_dir: &Path, url: &str) -> Result<Moved, MoveError> {
    let path = data_dir.join(DATABASE_FILE);
    if !path.is_file() {
        return Err(DbError::NoDatabase(path).into());
    }
    let mut file = LogFile::open(&path)?;
    // The reporting rows are copied as they are: bring the deferred ones up to date first.
    file.refresh_reports()?;
    let log = PgLog::connect(url, PgOptions { max_connections: 2, ..PgOptions::default() })?;
    let mut import = log.import()?;

    let (identity, head) = {
        let mut tx = file.transaction()?;
        (tx.identity()?, tx.head()?)
    };
    let last_position: i64 = file
        .connection()
        .query_row(
            "SELECT max(?1, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0))",
            [stored(head)],
            |r| r.get(0),
        )
        .map_err(DbError::from)?;
    import.log_state(identity.server, stored(identity.epoch), stored(head), last_position)?;

    let mut rows = Vec::new();
    for table in Table::all() {
        let copied = match table {
            Table::LogHashes => copy_log_hashes(&mut file, &mut import)?,
            _ => copy(file.connection(), &mut import, table)?,
        };
        rows.push((table, copied));
    }
    import.commit()?;
    let moved = Moved { rows, head };
    verify(&mut file, &log, &moved)?;
    Ok(moved)
}

fn stored(position: u64) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}

fn document_ids(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare("SELECT id FROM documents ORDER BY id")?;
    let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

fn value(table: Table, v: ValueRef<'_>) -> Result<Value, MoveError> {
    let bad = || MoveError::Value { table: table.name() };
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Text(t) => Value::Text(String::from_utf8(t.to_vec()).map_err(|_| bad())?),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Real(_) => return Err(bad()),
    })
}

/// Copies every row of `table` (the same columns on SQLite), in batches; returns how many.
fn copy(conn: &Connection, import: &mut PgImport, table: Table) -> Result<i64, MoveError> {
    let columns = table.columns();
    let sql = format!("SELECT {} FROM {}", columns.join(", "), table.name());
    let mut stmt = conn.prepare(&sql).map_err(DbError::from)?;
    let mut rows = stmt.query([]).map_err(DbError::from)?;
    let (mut batch, mut copied) = (Vec::with_capacity(BATCH), 0);
    while let Some(row) = rows.next().map_err(DbError::from)? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(value(table, row.get_ref(i).map_err(DbError::from)?)?);
        }
        batch.push(values);
        copied += 1;
        if batch.len() == BATCH {
            import.rows(table, std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        import.rows(table, batch)?;
    }
    Ok(copied)
}

/// The log's hashes: PostgreSQL keeps each position's document too. It is
/// the change row's; for a change pruned by compaction, it is found among
/// the changes of the documents' snapshots.
fn copy_log_hashes(file: &mut LogFile, import: &mut PgImport) -> Result<i64, MoveError> {
    let mut hashes: Vec<(i64, Option<String>, Vec<u8>)> = {
        let mut stmt = file
            .connection()
            .prepare(
                "SELECT h.seq, c.doc_id, h.hash FROM log_hashes h LEFT JOIN changes c ON c.seq = h.seq ORDER BY h.seq",
            )
            .map_err(DbError::from)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(DbError::from)?;
        rows.collect::<rusqlite::Result<_>>().map_err(DbError::from)?
    };
    let mut pruned: HashMap<Vec<u8>, usize> = hashes
        .iter()
        .enumerate()
        .filter(|(_, (_, doc, _))| doc.is_none())
        .map(|(i, (_, _, hash))| (hash.clone(), i))
        .collect();
    if !pruned.is_empty() {
        let ids = document_ids(file.connection())?;
        let mut tx = file.transaction()?;
        for id in ids {
            let Some(mut doc) = tx.load(&id)? else { continue };
            for change in doc.get_changes(&[]) {
                let ChangeHash(hash) = change.hash();
                if let Some(i) = pruned.remove(hash.as_slice()) {
                    hashes[i].1 = Some(id.clone());
                }
            }
            if pruned.is_empty() {
                break;
            }
        }
    }
    let mut rows = Vec::with_capacity(hashes.len());
    for (seq, doc, hash) in hashes {
        let doc = doc.ok_or(MoveError::Orphan { seq })?;
        rows.push(vec![Value::Integer(seq), Value::Text(doc), Value::Blob(hash)]);
    }
    let copied = rows.len() as i64;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(BATCH));
        import.rows(Table::LogHashes, std::mem::replace(&mut rows, rest))?;
    }
    Ok(copied)
}

/// A document's heads, in a stable order, or `None` if it does not exist.
fn heads(doc: Option<AutoCommit>) -> Option<Vec<ChangeHash>> {
    doc.map(|mut d| {
        let mut heads = d.get_heads();
        heads.sort();
        heads
    })
}

/// Checks the stored copy: every table's row count, the log's identity,
/// epoch and head, and every document's state (its heads, loaded from each
/// database).
fn verify(file: &mut LogFile, log: &PgLog, moved: &Moved) -> Result<(), MoveError> {
    for (table, copied) in &moved.rows {
        let stored = log.count_rows(*table)?;
        if stored != *copied {
            return Err(MoveError::Mismatch { what: format!("{}: {copied} rows read, {stored} stored", table.name()) });
        }
    }
    let ids = document_ids(file.connection())?;
    let mut old = file.transaction()?;
    let mut new = log.begin()?;
    if (old.identity()?, old.head()?) != (new.identity()?, new.head()?) {
        return Err(MoveError::Mismatch { what: "the log's identity, epoch or head".into() });
    }
    for id in ids {
        if heads(old.load(&id)?) != heads(new.load(&id)?) {
            return Err(MoveError::Mismatch { what: format!("document {id}") });
        }
    }
    new.commit()?;
    Ok(())
}
