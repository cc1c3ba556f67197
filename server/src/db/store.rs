//! [`ServerStore`] over the server's SQLite file, through the document cache.
//!
//! A `SqlStore` borrows a connection (in practice a transaction or savepoint
//! owned by the database thread) and the cache. It remembers which documents
//! it appended to, so the caller can evict them if the transaction is rolled
//! back and the cache would otherwise run ahead of the disk.

use automerge::{AutoCommit, Change};
use rapport_core::settings::SETTINGS_DOC_ID;
use rapport_core::sync::{ActorNewest, DocMeta, Fingerprint, LogIdentity, LoggedChange, ServerStore};
use rapport_core::untrusted::loads_back;
use rusqlite::{Connection, OptionalExtension, params};

use super::cache::DocCache;
use super::{DbError, audit, meta, now_millis};
use crate::access::write_index;
use crate::reports::changes::{self, Appended};
use crate::reports::write_report_rows;

pub(crate) struct SqlStore<'a> {
    conn: &'a Connection,
    cache: &'a mut DocCache,
    compact_after: u64,
    /// Who the changes appended through this store come from, for the audit log.
    author: Option<audit::Author>,
    /// What this store wrote, for the caller to act on after commit or rollback.
    pub(crate) written: Written,
}

/// The effects of appends made through one [`SqlStore`].
#[derive(Debug, Default)]
pub(crate) struct Written {
    /// Documents appended to (to evict from the cache on rollback).
    pub(crate) touched: Vec<String>,
    /// How many of them did not exist before.
    pub(crate) new_docs: u64,
    /// Documents whose change rows passed the compaction threshold.
    pub(crate) compact: Vec<String>,
}

impl<'a> SqlStore<'a> {
    pub(crate) fn new(conn: &'a Connection, cache: &'a mut DocCache, compact_after: u64) -> Self {
        SqlStore { conn, cache, compact_after, author: None, written: Written::default() }
    }

    /// Attributes appended changes to a user and device in the audit log.
    pub(crate) fn with_author(mut self, author: audit::Author) -> Self {
        self.author = Some(author);
        self
    }

    fn load_from_disk(&self, id: &str) -> Result<Option<AutoCommit>, DbError> {
        let row: Option<(Option<Vec<u8>>, i64)> = self
            .conn
            .prepare_cached("SELECT snapshot, snapshot_seq FROM documents WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((snapshot, snapshot_seq)) = row else { return Ok(None) };
        let corrupt = |e: automerge::AutomergeError| DbError::Corrupt { doc: id.to_owned(), reason: e.to_string() };
        let mut doc = match snapshot {
            Some(bytes) => AutoCommit::load(&bytes).map_err(corrupt)?,
            None => AutoCommit::new(),
        };
        let mut stmt =
            self.conn.prepare_cached("SELECT bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq")?;
        let mut changes = Vec::new();
        for raw in stmt.query_map(params![id, snapshot_seq], |r| r.get::<_, Vec<u8>>(0))? {
            let change =
                Change::from_bytes(raw?).map_err(|e| DbError::Corrupt { doc: id.to_owned(), reason: e.to_string() })?;
            changes.push(change);
        }
        doc.apply_changes(changes).map_err(corrupt)?;
        Ok(Some(doc))
    }

    /// Folds every change of `id` into a new snapshot, so a device that holds
    /// none of the document receives it compressed. Change rows are kept for
    /// devices that are only a few changes behind, and deleted (pruned) once
    /// there are more than `compact_after` of them. Returns whether the
    /// document exists.
    pub(crate) fn compact(&mut self, id: &str) -> Result<bool, DbError> {
        let Some(mut doc) = self.cached(id)? else { return Ok(false) };
        let snapshot = doc.save();
        // Automerge 0.12 can save a document it cannot load back (found by
        // fuzzing: server/fuzz/corpus/ingest/crash-compacted-snapshot-mismatching-heads).
        // A snapshot is stored only once it loads with the same heads;
        // otherwise the change rows stay and the document is served from them.
        if !loads_back(&snapshot, &doc.get_heads()) {
            tracing::warn!(doc = id, "a compacted snapshot does not load back; the change rows are kept instead");
            self.cache.insert(id, doc);
            return Ok(false);
        }
        let rows: i64 = self
            .conn
            .prepare_cached(
                "UPDATE documents SET snapshot = ?2, snapshot_seq = last_seq WHERE id = ?1 RETURNING change_count",
            )?
            .query_row(params![id, snapshot], |r| r.get(0))?;
        if rows.max(0) as u64 > self.compact_after {
            self.conn
                .prepare_cached("UPDATE documents SET pruned_seq = last_seq, change_count = 0 WHERE id = ?1")?
                .execute([id])?;
            self.conn.prepare_cached("DELETE FROM changes WHERE doc_id = ?1")?.execute([id])?;
        }
        self.cache.insert(id, doc);
        Ok(true)
    }

    /// Rewrites the reporting rows of `docs` from their current documents,
    /// writes the late-edits rows of their pending changes and clears their
    /// stale marks; returns how many were rewritten. A document that cannot
    /// be loaded is logged and stays marked.
    pub(crate) fn refresh_reports<'d>(&mut self, docs: impl IntoIterator<Item = &'d str>) -> Result<usize, DbError> {
        let mut done = 0;
        for id in docs {
            match self.cached(id) {
                Ok(Some(mut doc)) => {
                    let written = write_report_rows(self.conn, id, &mut doc)
                        .and_then(|()| changes::write_pending(self.conn, id, &mut doc));
                    self.release(id, doc);
                    written?;
                }
                Ok(None) => changes::forget_pending(self.conn, id)?,
                Err(e @ DbError::Corrupt { .. }) => {
                    tracing::error!(doc = id, error = %e, "cannot write the reporting rows of a damaged document");
                    continue;
                }
                Err(e) => return Err(e),
            }
            self.conn.prepare_cached("DELETE FROM rpt_stale WHERE doc_id = ?1")?.execute([id])?;
            done += 1;
        }
        Ok(done)
    }

    /// The document from the cache (handed over, no clone) or the disk.
    fn cached(&mut self, id: &str) -> Result<Option<AutoCommit>, DbError> {
        if let Some(cached) = self.cache.take(id) {
            return Ok(Some(cached));
        }
        self.load_from_disk(id)
    }

    /// Writes the reporting rows of account `doc` from `am`, its state as
    /// stored, if they still wait for the database thread's rewrite, before
    /// a change appended in this transaction moves the account on.
    /// Otherwise a state the account held for less than the rewrite's delay
    /// would never be kept "as known" (ADR 0023): the rows are known from
    /// the account's log position, which the append moves.
    ///
    /// Loading never fails for this: the write is a savepoint of its own,
    /// and if it fails (a full disk) it is undone and the rows stay marked
    /// for the database thread, so a read is still served.
    fn catch_up_reports(&mut self, doc: &str, am: &mut AutoCommit) {
        if doc == SETTINGS_DOC_ID {
            return;
        }
        let conn = self.conn;
        match conn.prepare_cached("SELECT 1 FROM rpt_stale WHERE doc_id = ?1").and_then(|mut s| s.exists([doc])) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(doc, error = %e, "cannot tell whether an account's reporting rows are behind it");
                return;
            }
        }
        let caught_up = conn.execute_batch("SAVEPOINT catch_up").and_then(|()| {
            conn.prepare_cached("DELETE FROM rpt_stale WHERE doc_id = ?1")?.execute([doc])?;
            write_report_rows(conn, doc, am)?;
            conn.execute_batch("RELEASE catch_up")
        });
        if let Err(e) = caught_up {
            if let Err(undo) = conn.execute_batch("ROLLBACK TO catch_up; RELEASE catch_up") {
                tracing::error!(doc, error = %undo, "cannot undo a failed write of an account's reporting rows");
            }
            tracing::warn!(doc, error = %e, "the reporting rows of an account stay behind it for now");
        }
    }

    /// Documents whose snapshot is older than their newest change.
    pub(crate) fn compaction_candidates(&self) -> Result<Vec<String>, DbError> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM documents WHERE last_seq > snapshot_seq")?;
        let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }
}

impl ServerStore for SqlStore<'_> {
    type Error = DbError;

    fn head(&mut self) -> Result<u64, DbError> {
        let head: i64 = self
            .conn
            .prepare_cached("SELECT coalesce(max(last_seq), 0) FROM documents")?
            .query_row([], |r| r.get(0))?;
        Ok(head.max(0) as u64)
    }

    /// Hands over the cached copy (no clone); `append` or `release` puts it
    /// back. An account whose reporting rows wait for their rewrite gets
    /// them now, from this state, which a change may be about to move on.
    fn load(&mut self, doc: &str) -> Result<Option<AutoCommit>, DbError> {
        let Some(mut am) = self.cached(doc)? else { return Ok(None) };
        self.catch_up_reports(doc, &mut am);
        Ok(Some(am))
    }

    fn release(&mut self, doc: &str, unchanged: AutoCommit) {
        self.cache.insert(doc, unchanged);
    }

    fn append(&mut self, doc: &str, changes: &[Change], updated: AutoCommit) -> Result<(), DbError> {
        if changes.is_empty() {
            return Ok(());
        }
        let created = self
            .conn
            .prepare_cached("INSERT INTO documents (id, last_seq) VALUES (?1, 0) ON CONFLICT (id) DO NOTHING")?
            .execute([doc])?;
        self.written.touched.push(doc.to_owned());
        self.written.new_docs += created as u64;
        let mut insert = self.conn.prepare_cached("INSERT INTO changes (doc_id, actor, bytes) VALUES (?1, ?2, ?3)")?;
        let mut hash = self.conn.prepare_cached("INSERT OR REPLACE INTO log_hashes (seq, hash) VALUES (?1, ?2)")?;
        let mut newest = self.conn.prepare_cached(
            "INSERT INTO actor_newest (actor, seq, doc_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (actor) DO UPDATE SET seq = excluded.seq, doc_id = excluded.doc_id WHERE excluded.seq > seq",
        )?;
        let mut times =
            self.conn.prepare_cached("INSERT INTO change_times (seq, made_at, received_at) VALUES (?1, ?2, ?3)")?;
        let received_at = now_millis();
        let mut appended = Vec::with_capacity(changes.len());
        let mut bytes = 0i64;
        let mut last_seq = 0;
        for change in changes {
            insert.execute(params![doc, change.actor_id().to_bytes(), change.raw_bytes()])?;
            // Taken before any other insert: the audit row has its own rowid.
            last_seq = self.conn.last_insert_rowid();
            hash.execute(params![last_seq, &change.hash().0[..]])?;
            times.execute(params![last_seq, change.timestamp(), received_at])?;
            appended.push(Appended { seq: last_seq, hash: change.hash(), made_at: change.timestamp(), received_at });
            newest.execute(params![change.actor_id().to_bytes(), last_seq, doc])?;
            bytes += change.raw_bytes().len() as i64;
            if let Some(author) = self.author {
                audit::record(self.conn, author, doc, last_seq, change)?;
            }
        }
        let count: i64 = self
            .conn
            .prepare_cached(
                "UPDATE documents SET last_seq = ?2, change_count = change_count + ?3, bytes = bytes + ?4 WHERE id = ?1
                 RETURNING change_count",
            )?
            .query_row(params![doc, last_seq, changes.len() as i64, bytes], |r| r.get(0))?;
        if doc != SETTINGS_DOC_ID {
            write_index(self.conn, doc, &updated)?;
            // The reporting rows and the late-edits rows follow later, once
            // per burst of changes (the database thread's `refresh_reports`).
            changes::record_pending(self.conn, doc, &appended)?;
            self.conn.prepare_cached("INSERT OR IGNORE INTO rpt_stale (doc_id) VALUES (?1)")?.execute([doc])?;
        }
        if count.max(0) as u64 > self.compact_after {
            self.written.compact.push(doc.to_owned());
        }
        self.cache.insert(doc, updated);
        Ok(())
    }

    fn changed(&mut self, after: u64, upto: u64, limit: usize) -> Result<Vec<(String, DocMeta)>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, last_seq, snapshot_seq, pruned_seq FROM documents
             WHERE last_seq > ?1 AND last_seq <= ?2 ORDER BY last_seq LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![clamp(after), clamp(upto), limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    DocMeta {
                        last_seq: r.get::<_, i64>(1)?.max(0) as u64,
                        snapshot_seq: r.get::<_, i64>(2)?.max(0) as u64,
                        pruned_seq: r.get::<_, i64>(3)?.max(0) as u64,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn snapshot(&mut self, doc: &str) -> Result<Option<Vec<u8>>, DbError> {
        let snapshot: Option<Option<Vec<u8>>> = self
            .conn
            .prepare_cached("SELECT snapshot FROM documents WHERE id = ?1")?
            .query_row([doc], |r| r.get(0))
            .optional()?;
        Ok(snapshot.flatten())
    }

    fn identity(&mut self) -> Result<LogIdentity, DbError> {
        meta::identity(self.conn)
    }

    fn fingerprint(&mut self, seq: u64) -> Result<Option<Fingerprint>, DbError> {
        meta::fingerprint(self.conn, seq)
    }

    fn skip_past(&mut self, seen: u64) -> Result<bool, DbError> {
        meta::skip_past(self.conn, seen)
    }

    fn start_epoch(&mut self) -> Result<LogIdentity, DbError> {
        meta::start_epoch(self.conn)
    }

    fn newest_by_actor(&mut self, actor: &[u8]) -> Result<Option<ActorNewest>, DbError> {
        let row: Option<(i64, String, Option<Vec<u8>>)> = self
            .conn
            .prepare_cached(
                "SELECT a.seq, a.doc_id, h.hash FROM actor_newest a LEFT JOIN log_hashes h ON h.seq = a.seq
                 WHERE a.actor = ?1",
            )?
            .query_row([actor], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        // Without its hash (not backfilled yet) the change cannot be looked
        // for in the request: nothing is judged.
        Ok(row.and_then(|(seq, doc, hash)| {
            let hash: [u8; 32] = hash?.try_into().ok()?;
            Some(ActorNewest { seq: seq.max(0) as u64, doc, hash })
        }))
    }

    fn changes_after(&mut self, doc: &str, after: u64) -> Result<Vec<LoggedChange>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, actor, bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq")?;
        let rows = stmt
            .query_map(params![doc, clamp(after)], |r| {
                Ok(LoggedChange { seq: r.get::<_, i64>(0)?.max(0) as u64, actor: r.get(1)?, bytes: r.get(2)? })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// Indexes every account that has no `accounts` row yet (documents stored
/// before the index existed), so scoping covers them.
pub(crate) fn backfill_index(conn: &mut Connection) -> Result<(), DbError> {
    let done = backfill(conn, "accounts", |conn, doc, am| write_index(conn, doc, am))?;
    if done > 0 {
        tracing::info!(documents = done, "indexed the owner, team and territory of stored accounts");
    }
    Ok(())
}

/// Writes the reporting rows of every account that has none yet (documents
/// stored before the reporting index existed).
pub(crate) fn backfill_reports(conn: &mut Connection) -> Result<(), DbError> {
    let done = backfill(conn, "rpt_accounts", write_report_rows)?;
    if done > 0 {
        tracing::info!(documents = done, "wrote the reporting index of stored accounts");
    }
    Ok(())
}

/// Rewrites the reporting rows still marked stale, and the late-edits rows
/// of pending changes (changes accepted just before the server stopped or
/// was killed), in one transaction.
pub(crate) fn refresh_stale_reports(conn: &mut Connection) -> Result<usize, DbError> {
    let stale: Vec<String> = conn
        .prepare("SELECT doc_id FROM rpt_stale UNION SELECT doc_id FROM rpt_changes_pending")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if stale.is_empty() {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    let mut cache = DocCache::new(0);
    let done = SqlStore::new(&tx, &mut cache, u64::MAX).refresh_reports(stale.iter().map(String::as_str))?;
    tx.commit()?;
    tracing::info!(documents = done, "brought the reporting rows of recently changed accounts up to date");
    Ok(done)
}

/// Runs `write` for every stored account without a row in `table` (keyed by
/// `doc_id`), in one transaction; returns how many were written.
fn backfill(
    conn: &mut Connection,
    table: &'static str,
    write: fn(&Connection, &str, &mut AutoCommit) -> rusqlite::Result<()>,
) -> Result<usize, DbError> {
    let missing: Vec<String> = conn
        .prepare(&format!(
            "SELECT id FROM documents WHERE id != ?1
             AND NOT EXISTS (SELECT 1 FROM {table} a WHERE a.doc_id = documents.id)"
        ))?
        .query_map([SETTINGS_DOC_ID], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if missing.is_empty() {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    let mut cache = DocCache::new(0);
    let store = SqlStore::new(&tx, &mut cache, u64::MAX);
    for id in &missing {
        if let Some(mut doc) = store.load_from_disk(id)? {
            write(&tx, id, &mut doc)?;
        }
    }
    drop(store);
    tx.commit()?;
    Ok(missing.len())
}

/// Log positions come from clients as u64; SQLite integers are i64.
fn clamp(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}
