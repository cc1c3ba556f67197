//! The database thread: group commit and compaction.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rapport_core::settings::SETTINGS_DOC_ID;
use rapport_core::sync::{Access, AckStatus, HandleStats, ServerStore, SyncRequest, SyncResponse, handle};
use rapport_server_store::DirectoryStore;
use rusqlite::{Connection, params};
use tokio::sync::{oneshot, watch};

use super::audit::Author;
use super::cache::DocCache;
use super::store::{SqlStore, Written};
use super::users::SqliteDirectory;
use super::{DbError, DbOptions, Job};
use crate::access::sql_access;
use crate::auth::Principal;
use crate::metrics::Metrics;

type SyncReply = oneshot::Sender<Result<(SyncResponse, HandleStats), DbError>>;

/// How often an idle database thread refreshes the planner's statistics.
const OPTIMIZE_INTERVAL: Duration = Duration::from_secs(3600);

/// Stale reporting rows are rewritten unasked once no sync has come for this
/// long: a burst of syncs touching the same accounts is over (one rewrite
/// per account instead of one per sync), and the rewrite neither delays the
/// next sync nor competes with it for the CPU.
const REPORTS_QUIET: Duration = Duration::from_millis(100);

/// Unasked rewrites run in steps of at most this many accounts, one
/// transaction each: a job that arrives meanwhile waits for one step at most.
const REPORTS_STEP: usize = 64;

/// Under sustained load, a step runs after every committed batch once the
/// oldest stale account has waited this long...
const REPORTS_MAX_LAG: Duration = Duration::from_secs(1);

/// ...or once this many accounts wait.
const REPORTS_MAX_STALE: usize = 1024;

pub(super) struct Worker {
    conn: Connection,
    cache: DocCache,
    options: DbOptions,
    metrics: Arc<Metrics>,
    head: watch::Sender<u64>,
    /// Documents waiting to be compacted.
    to_compact: BTreeSet<String>,
    /// Accounts whose reporting rows are behind their documents (marked in
    /// `rpt_stale` too, for a restart), and since when the oldest waits.
    stale_reports: BTreeSet<String>,
    stale_since: Option<Instant>,
    /// After a failed rewrite, when the next one may run unasked.
    reports_retry_at: Option<Instant>,
    /// When the last sync request arrived.
    last_sync: Instant,
    /// The authentication cache's generation (`super::AuthCache`).
    auth_generation: Arc<AtomicU64>,
    /// The database file (`None` in memory), for full-disk reports.
    data_path: Option<PathBuf>,
}

impl Worker {
    pub(super) fn new(
        conn: Connection,
        options: DbOptions,
        metrics: Arc<Metrics>,
        auth_generation: Arc<AtomicU64>,
    ) -> Result<Worker, DbError> {
        let mut cache = DocCache::new(options.cache_docs);
        let (head, documents, to_compact) = {
            let mut store = SqlStore::new(&conn, &mut cache, options.compact_after);
            let head = store.head()?;
            let documents: i64 = conn.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?;
            (head, documents, store.compaction_candidates()?)
        };
        metrics.set_documents(documents.max(0) as u64);
        metrics.set_head(head);
        let data_path = conn.path().filter(|p| !p.is_empty()).map(PathBuf::from);
        Ok(Worker {
            data_path,
            conn,
            cache,
            options,
            metrics,
            head: watch::channel(head).0,
            to_compact: to_compact.into_iter().collect(),
            stale_reports: BTreeSet::new(),
            stale_since: None,
            reports_retry_at: None,
            last_sync: Instant::now(),
            auth_generation,
        })
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// Serves jobs until told to shut down or every sender is gone.
    pub(super) fn run(mut self, jobs: Receiver<Job>) {
        let mut next_scan = Instant::now() + self.options.compact_interval;
        let mut next_optimize = Instant::now() + OPTIMIZE_INTERVAL;
        loop {
            // Reporting rows and compaction only run while no job waits.
            let wait = if self.to_compact.is_empty() {
                next_scan.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let wait = match self.reports_at() {
                Some(at) => wait.min(at.saturating_duration_since(Instant::now())),
                None => wait,
            };
            let first = match jobs.recv_timeout(wait) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    if self.reports_at().is_some_and(|at| Instant::now() >= at) {
                        self.refresh_reports(REPORTS_STEP);
                    }
                    if Instant::now() >= next_scan {
                        self.scan_for_compaction();
                        next_scan = Instant::now() + self.options.compact_interval;
                    }
                    if Instant::now() >= next_optimize {
                        if let Err(e) = super::optimize(&self.conn, false) {
                            tracing::error!(error = %e, "cannot refresh the query planner's statistics");
                        }
                        next_optimize = Instant::now() + OPTIMIZE_INTERVAL;
                    }
                    self.compact_next();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut batch = vec![first];
            while batch.len() < self.options.max_batch.max(1) {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if let Some(reply) = self.process(batch) {
                // Close the database before saying it is closed.
                drop(self);
                let _ = reply.send(());
                return;
            }
        }
    }

    /// Answers a batch of jobs; returns the shutdown reply if one was asked.
    fn process(&mut self, batch: Vec<Job>) -> Option<oneshot::Sender<()>> {
        let mut syncs = Vec::new();
        let mut shutdown = None;
        for job in batch {
            match job {
                Job::Sync { request, principal, reply } => {
                    self.last_sync = Instant::now();
                    syncs.push((request, principal, reply));
                }
                Job::Call(call) => {
                    // Reports (and everything else a call reads) see every acknowledged change.
                    self.refresh_reports(usize::MAX);
                    // A call may revoke a device or change a user: remembered
                    // principals stop counting before it runs (and so before
                    // its caller hears back).
                    self.auth_generation.fetch_add(1, Ordering::AcqRel);
                    call(&mut self.conn)
                }
                Job::Authenticate { hash, reply } => {
                    let generation = self.auth_generation.load(Ordering::Acquire);
                    let _ = reply.send(
                        SqliteDirectory::new(&self.conn)
                            .authenticate(&hash)
                            .map(|p| (p, generation))
                            .map_err(DbError::from),
                    );
                }
                Job::Document { id, principal, reply } => {
                    let _ = reply.send(self.document(&id, &principal));
                }
                Job::Shutdown { reply } => shutdown = Some(reply),
            }
        }
        if !syncs.is_empty() {
            self.commit_group(syncs);
            let lagging = self.stale_since.is_some_and(|t| t.elapsed() >= REPORTS_MAX_LAG);
            if (lagging || self.stale_reports.len() >= REPORTS_MAX_STALE) && self.reports_due() {
                self.refresh_reports(REPORTS_STEP);
            }
        }
        if shutdown.is_some() {
            self.refresh_reports(usize::MAX);
        }
        self.metrics.set_cached(self.cache.len());
        shutdown
    }

    /// The whole document, if it exists and the device's user may read it.
    fn document(&mut self, id: &str, principal: &Principal) -> Result<Option<Vec<u8>>, DbError> {
        let subject = SqliteDirectory::new(&self.conn).subject(principal.device_id)?.ok_or(DbError::Revoked)?;
        let access = sql_access(&self.conn, subject, principal.device_id, 0, self.options.max_doc_bytes);
        if !access.may_read(id)? {
            return Ok(None);
        }
        let mut store = SqlStore::new(&self.conn, &mut self.cache, self.options.compact_after);
        Ok(store.load(id)?.map(|mut d| {
            let bytes = d.save();
            store.release(id, d);
            bytes
        }))
    }

    /// Handles every request in one transaction, each in its own savepoint
    /// (so one failing request does not undo the others), commits once, and
    /// only then answers.
    fn commit_group(&mut self, syncs: Vec<(SyncRequest, Principal, SyncReply)>) {
        let started = Instant::now();
        let mut tx = match self.conn.transaction() {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "cannot begin a transaction");
                let full =
                    storage_error(self.data_path.as_deref(), &self.metrics, DbError::Sqlite(e)).is_storage_full();
                for (_, _, reply) in syncs {
                    let _ = reply.send(Err(if full { DbError::StorageFull } else { DbError::BatchFailed }));
                }
                return;
            }
        };
        let mut answers = Vec::with_capacity(syncs.len());
        let mut written = Written::default();
        let mut changes_stored = 0u64;
        let mut docs_rejected = 0u64;
        for (request, principal, reply) in syncs {
            let outcome = tx.savepoint().map_err(DbError::from).and_then(|sp| {
                let (result, mine) = sync_one(&sp, &mut self.cache, &self.options, &request, &principal);
                match result.and_then(|answer| sp.commit().map(|()| answer).map_err(DbError::from)) {
                    Ok(answer) => Ok((answer, mine)),
                    Err(e) => {
                        // The savepoint rolled back: the cache must not keep its appends.
                        for doc in &mine.touched {
                            self.cache.remove(doc);
                        }
                        Err(e)
                    }
                }
            });
            match outcome {
                Ok((answer, mine)) => {
                    if let Some(seen) = answer.1.diverged_at {
                        tracing::warn!(
                            device = principal.device_id,
                            seen,
                            new_epoch = answer.1.new_epoch,
                            "a device saw a log position this database does not have (it was restored): \
                             the device re-sends what it holds"
                        );
                    }
                    if let Some(lost) = answer.1.replica_behind {
                        tracing::warn!(
                            device = principal.device_id,
                            lost,
                            "a device lacks its own change at this log position (its replica was restored \
                             from a device backup): it pulls everything again and rebuilds its unsent edits"
                        );
                    }
                    changes_stored += answer.1.changes_stored as u64;
                    docs_rejected += answer.1.docs_rejected as u64;
                    written.touched.extend(mine.touched);
                    written.new_docs += mine.new_docs;
                    written.compact.extend(mine.compact);
                    answers.push((reply, Ok(answer)));
                }
                Err(e) => {
                    tracing::error!(error = %e, "a sync request failed; its changes were rolled back");
                    answers.push((reply, Err(storage_error(self.data_path.as_deref(), &self.metrics, e))));
                }
            }
        }
        let head = SqlStore::new(&tx, &mut self.cache, self.options.compact_after).head();
        if let Err(e) = tx.commit() {
            tracing::error!(error = %e, "cannot commit a batch of sync requests");
            for doc in &written.touched {
                self.cache.remove(doc);
            }
            let full = storage_error(self.data_path.as_deref(), &self.metrics, DbError::Sqlite(e)).is_storage_full();
            for (reply, _) in answers {
                let _ = reply.send(Err(if full { DbError::StorageFull } else { DbError::BatchFailed }));
            }
            return;
        }
        if changes_stored > 0 {
            self.metrics.storage_writable();
        }
        self.metrics.batch_committed(answers.len(), changes_stored, docs_rejected, written.new_docs);
        self.to_compact.extend(written.compact);
        if !written.touched.is_empty() {
            self.stale_since.get_or_insert_with(Instant::now);
            self.stale_reports.extend(written.touched.into_iter().filter(|doc| doc != SETTINGS_DOC_ID));
        }
        for (reply, answer) in answers {
            let _ = reply.send(answer);
        }
        tracing::debug!(elapsed = ?started.elapsed(), changes_stored, "committed a batch of sync requests");
        if let Ok(head) = head {
            self.metrics.set_head(head);
            if changes_stored > 0 {
                self.head.send_replace(head);
            }
        }
    }

    /// Whether stale reporting rows may be rewritten without a reader asking
    /// (not within a second of a failed rewrite).
    fn reports_due(&self) -> bool {
        self.reports_retry_at.is_none_or(|at| Instant::now() >= at)
    }

    /// When stale reporting rows are next rewritten unasked, if any wait: once
    /// no sync has come for [`REPORTS_QUIET`], and not within a second of a
    /// failed rewrite.
    fn reports_at(&self) -> Option<Instant> {
        if self.stale_reports.is_empty() {
            return None;
        }
        let quiet = self.last_sync + REPORTS_QUIET;
        Some(self.reports_retry_at.map_or(quiet, |at| at.max(quiet)))
    }

    /// Rewrites the reporting rows of up to `limit` accounts changed since
    /// their last rewrite, in one transaction. If that fails, the accounts
    /// stay marked and are tried again before the next call, or unasked a
    /// second later.
    fn refresh_reports(&mut self, limit: usize) {
        if self.stale_reports.is_empty() {
            return;
        }
        let step: Vec<String> = if limit >= self.stale_reports.len() {
            std::mem::take(&mut self.stale_reports).into_iter().collect()
        } else {
            (0..limit).filter_map(|_| self.stale_reports.pop_first()).collect()
        };
        self.reports_retry_at = None;
        let result = self.conn.transaction().map_err(DbError::from).and_then(|tx| {
            let mut store = SqlStore::new(&tx, &mut self.cache, self.options.compact_after);
            let done = store.refresh_reports(step.iter().map(String::as_str))?;
            drop(store);
            tx.commit()?;
            Ok(done)
        });
        match result {
            Ok(done) => {
                self.metrics.reports_refreshed(done as u64);
                if self.stale_reports.is_empty() {
                    self.stale_since = None;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, accounts = step.len(), "cannot write reporting rows; retrying");
                self.stale_reports.extend(step);
                self.reports_retry_at = Some(Instant::now() + REPORTS_MAX_LAG);
            }
        }
    }

    fn scan_for_compaction(&mut self) {
        let store = SqlStore::new(&self.conn, &mut self.cache, self.options.compact_after);
        match store.compaction_candidates() {
            Ok(ids) => self.to_compact.extend(ids),
            Err(e) => tracing::error!(error = %e, "cannot list documents to compact"),
        }
    }

    /// Folds one waiting document's change rows into a snapshot, in its own transaction.
    fn compact_next(&mut self) {
        let Some(doc) = self.to_compact.pop_first() else { return };
        let result = self.conn.transaction().map_err(DbError::from).and_then(|tx| {
            SqlStore::new(&tx, &mut self.cache, self.options.compact_after).compact(&doc)?;
            tx.commit()?;
            Ok(())
        });
        match result {
            Ok(()) => self.metrics.compacted(1),
            Err(e) => tracing::error!(error = %e, "compacting a document failed"),
        }
    }
}

/// Turns a failure caused by a full disk into [`DbError::StorageFull`],
/// logged with the database file and the free space of its filesystem, and counted.
fn storage_error(path: Option<&Path>, metrics: &Metrics, e: DbError) -> DbError {
    let dir = path.and_then(Path::parent);
    let full = e.is_storage_full() || e.sqlite().zip(dir).is_some_and(|(s, d)| super::space::is_full_at(s, d));
    if !full {
        return e;
    }
    let free = dir.and_then(super::space::available);
    tracing::error!(
        path = %path.map_or_else(|| "(in memory)".into(), |p| p.display().to_string()),
        free_bytes = free,
        error = %e,
        "the disk holding the database is full: sync requests are answered 507 and rolled back \
         (nothing acknowledged is lost) until space is freed"
    );
    metrics.storage_full(free);
    DbError::StorageFull
}

/// One sync request of `principal` on `conn` (the request's savepoint or
/// transaction): the device's current rules, its actor id bound, the
/// request handled through the access rules and the document cache, and
/// what the device holds recorded. Returns the answer, and what was
/// written, for the caller to evict from the cache if it rolls back.
pub(super) fn sync_one(
    conn: &Connection,
    cache: &mut DocCache,
    options: &DbOptions,
    request: &SyncRequest,
    principal: &Principal,
) -> (Result<(SyncResponse, HandleStats), DbError>, Written) {
    let subject = match SqliteDirectory::new(conn).subject(principal.device_id) {
        Ok(Some(subject)) => subject,
        Ok(None) => return (Err(DbError::Revoked), Written::default()),
        Err(e) => return (Err(e.into()), Written::default()),
    };
    let access = sql_access(conn, subject, principal.device_id, request.after, options.max_doc_bytes)
        .healing(request.v2.as_ref().is_some_and(|ext| ext.healing));
    match access.bind_request_actor(&request.actor) {
        Ok(true) => {}
        Ok(false) => return (Err(DbError::ForeignActor), Written::default()),
        Err(e) => return (Err(e), Written::default()),
    }
    let author = Author { user_id: principal.user_id, device_id: principal.device_id };
    let mut store = SqlStore::new(conn, cache, options.compact_after).with_author(author);
    // A panic while handling one request (remote bytes are untrusted)
    // must not kill the database thread: that request is rolled back.
    let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(&mut store, &access, request)))
        .unwrap_or_else(|_| {
            tracing::error!(device = principal.device_id, "handling a sync request panicked; rolled back");
            Err(DbError::Unprocessable)
        });
    let result = handled.and_then(|answer| record_held(conn, principal.device_id, &answer.0).map(|()| answer));
    (result, std::mem::take(&mut store.written))
}

/// Updates what the device holds after a response: documents it was sent
/// (held once it asks from past this response), documents it pushed (held),
/// documents that left its scope (gone once it asks from past this response).
fn record_held(conn: &Connection, device: i64, response: &SyncResponse) -> Result<(), DbError> {
    let after = i64::try_from(response.after).unwrap_or(i64::MAX);
    let mut upsert = conn.prepare_cached(
        "INSERT INTO device_docs (device_id, doc_id, since, gone) VALUES (?1, ?2, ?3, NULL)
         ON CONFLICT (device_id, doc_id) DO UPDATE SET since = ?3, gone = NULL",
    )?;
    for data in &response.pull {
        upsert.execute(params![device, data.doc, after])?;
    }
    for ack in response.acks.iter().filter(|a| a.status == AckStatus::Stored) {
        upsert.execute(params![device, ack.doc, 0])?;
    }
    let mut gone = conn.prepare_cached("UPDATE device_docs SET gone = ?3 WHERE device_id = ?1 AND doc_id = ?2")?;
    for doc in &response.removed {
        gone.execute(params![device, doc, after])?;
    }
    Ok(())
}
