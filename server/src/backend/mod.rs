//! [`Backend`]: what the routes store through, whichever database serves.
//!
//! The routes know no SQL dialect. A node serves either from its own SQLite
//! file ([`Db`]: one database thread, group commit, a document cache) or
//! from a PostgreSQL database shared with other nodes ([`PgNode`], ADR 0034).
//! The sync protocol (on PostgreSQL with group commit, ADR 0036),
//! authentication, the directory and the audit log go through this type on
//! both, and so do the reports, their drill-downs, account histories and
//! the dashboard's data ([`Backend::reports`], ADR 0035). Backups through
//! the server need SQLite and are refused with `501 not_on_this_database`
//! on PostgreSQL ([`Backend::sqlite`]).

mod group;
mod nodes;

use std::sync::Arc;
use std::time::Duration;

use rapport_core::sync::{Access, HandleStats, ServerStore, SyncRequest, SyncResponse};
use rapport_server_store::access::{AccessStore, RulesAccess};
use rapport_server_store::{AdminError, Bootstrap};
use rapport_server_store::{AuditStore, DirectoryStore};
use rapport_store_postgres::{HeadWatch, PgError, PgLog, PgOptions};
use tokio::sync::watch;

use crate::access::Subject;
use crate::auth::{Principal, TokenHash};
use crate::db::{Db, DbError, SqliteAudit, SqliteDirectory};
use crate::error::{ApiError, ServerError};
use crate::metrics::Metrics;
use crate::reports::sql::{ReportDb, SqlError};
use group::GroupCommitter;
pub use nodes::{NODE_REPORT_EVERY, ThisNode};

/// How often a node reads the head when no notification came (the head
/// watcher's fallback; ADR 0031).
const HEAD_POLL: Duration = Duration::from_secs(1);

/// Longest wait of the health check for the database's answer.
const HEALTH_WAIT: Duration = Duration::from_secs(5);

/// Documents a compaction pass folds before it looks for more.
const COMPACT_BATCH: usize = 100;

/// The storage a node serves from. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The node's own SQLite file (the default).
    Sqlite(Db),
    /// A PostgreSQL database, shared by any number of nodes.
    Postgres(PgNode),
}

/// A node's handle on the shared PostgreSQL database: the pool, the head
/// watcher (LISTEN/NOTIFY; ADR 0031) and the committer of pushes (ADR 0036).
#[derive(Debug, Clone)]
pub struct PgNode {
    log: PgLog,
    watch: Arc<HeadWatch>,
    /// Runs the sync requests that push changes, a group per COMMIT.
    committer: Arc<GroupCommitter>,
    metrics: Arc<Metrics>,
    /// The largest document a push may produce.
    max_doc_bytes: u64,
}

impl PgNode {
    /// Connects to the database at `url` (migrating it once, under an
    /// advisory lock, whatever other nodes do), creates the admin user on
    /// first start and starts following the head. Blocks.
    pub fn open(
        url: &str,
        admin_token: Option<&str>,
        max_doc_bytes: u64,
        metrics: Arc<Metrics>,
    ) -> Result<(PgNode, Bootstrap), ServerError> {
        let log = PgLog::connect(url, PgOptions::default())?;
        let bootstrap = log.directory().bootstrap(admin_token).map_err(|e| match postgres_cause(e) {
            Ok(pg) => ServerError::Postgres(pg),
            Err(other) => ServerError::Db(DbError::from(other)),
        })?;
        let committer = GroupCommitter::start(log.clone(), max_doc_bytes, metrics.clone()).map_err(ServerError::Io)?;
        let watch = Arc::new(log.watch_head(HEAD_POLL));
        let node = PgNode { log, watch, committer: Arc::new(committer), metrics, max_doc_bytes };
        Ok((node, bootstrap))
    }

    /// Compacts the log every `every` until `closing` turns true: documents
    /// changed since their snapshot get a new one, and their change rows
    /// are pruned past `compact_after`. Every node runs it; each document is
    /// compacted by one node at a time (`SKIP LOCKED`, ADR 0032).
    pub fn spawn_compaction(
        &self,
        every: Duration,
        compact_after: u64,
        closing: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let node = self.clone();
        let batches_closing = closing.clone();
        crate::shutdown::spawn_every(every, every, closing, move || {
            let (node, closing) = (node.clone(), batches_closing.clone());
            async move {
                // Batch after batch while batches come back full.
                while !*closing.borrow() {
                    let log = node.log.clone();
                    match tokio::task::spawn_blocking(move || log.compact(COMPACT_BATCH, compact_after)).await {
                        Ok(Ok(done)) => {
                            node.metrics.compacted(done.snapshots as u64);
                            if done.snapshots < COMPACT_BATCH {
                                break;
                            }
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "compaction failed; it is tried again at the next interval");
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
        })
    }

    /// The log's head as committed by any node (ADR 0031).
    pub fn head_changes(&self) -> watch::Receiver<u64> {
        self.watch.receiver()
    }

    /// Moves whenever a directory write took rights away or changed them on
    /// any node, and at every reconnect of the watcher (notifications may
    /// have been lost meanwhile).
    pub fn directory_changes(&self) -> watch::Receiver<u64> {
        self.watch.directory_receiver()
    }

    /// Runs blocking work on the log (its calls block; ADR 0017) off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PgLog) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let log = self.log.clone();
        let _in_flight = self.metrics.db_job();
        tokio::task::spawn_blocking(move || work(&log)).await.map_err(|e| {
            tracing::error!(error = %e, "a PostgreSQL call ended abnormally");
            ApiError::Internal
        })?
    }
}

/// The whole document on PostgreSQL, if it exists and the device's user may read it.
fn postgres_document(
    log: &PgLog,
    max_doc_bytes: u64,
    id: &str,
    principal: &Principal,
) -> Result<Option<Vec<u8>>, PgError> {
    let mut tx = log.begin()?;
    let store = tx.access_store()?;
    let subject = store.device_subject(principal.device_id)?.ok_or(PgError::Revoked)?;
    let access = RulesAccess::new(store, subject, principal.device_id, 0, max_doc_bytes);
    if !access.may_read(id)? {
        return Ok(None);
    }
    Ok(tx.load(id)?.map(|mut doc| doc.save()))
}

impl Backend {
    /// Handles one sync request of `principal`'s device; resolves once its
    /// effects are durable (committed), and only then may it be answered.
    pub async fn sync(
        &self,
        request: SyncRequest,
        principal: Principal,
    ) -> Result<(SyncResponse, HandleStats), ApiError> {
        match self {
            Backend::Sqlite(db) => Ok(db.sync(request, principal).await?),
            // Pushes are grouped, a COMMIT per group (`group`); a pull
            // stores nothing and runs at once, in parallel with others.
            Backend::Postgres(node) if !request.push.is_empty() => node.committer.sync(principal, request).await,
            Backend::Postgres(node) => {
                let max_doc_bytes = node.max_doc_bytes;
                let answer = node.blocking(move |log| Ok(log.sync_request(&principal, &request, max_doc_bytes)?)).await;
                let metrics = &node.metrics;
                metrics.set_pool(node.log.pool_status());
                if let Ok((_, stats)) = &answer {
                    metrics.batch_committed(1, stats.changes_stored as u64, stats.docs_rejected as u64, 0);
                }
                answer
            }
        }
    }

    /// Brings the gauges that only the database knows up to date before a
    /// scrape: on PostgreSQL the documents every node stored (one count; if
    /// the database cannot answer, the gauge keeps its last value and the
    /// scrape goes on). The SQLite server keeps them as it writes.
    pub async fn refresh_gauges(&self) {
        if let Backend::Postgres(node) = self {
            let metrics = node.metrics.clone();
            let counted = node.blocking(|log| Ok(log.document_count()?)).await;
            match counted {
                Ok(n) => metrics.set_documents(n),
                Err(e) => tracing::warn!(error = %e, "cannot count the stored documents for /metrics"),
            }
        }
    }

    /// The principal of a device token, or `None` if it is unknown, revoked
    /// or its user deleted. On PostgreSQL every request asks the database,
    /// so a device revoked through any node is refused by every node from
    /// the moment the revocation committed.
    pub async fn authenticate(&self, hash: TokenHash) -> Result<Option<Principal>, ApiError> {
        match self {
            Backend::Sqlite(db) => Ok(db.authenticate(hash).await?),
            Backend::Postgres(node) => node.blocking(move |log| Ok(log.directory().authenticate(&hash)?)).await,
        }
    }

    /// The whole saved Automerge document, or `None` if unknown or not
    /// readable by `principal`.
    pub async fn document(&self, id: String, principal: Principal) -> Result<Option<Vec<u8>>, ApiError> {
        match self {
            Backend::Sqlite(db) => Ok(db.document(id, principal).await?),
            Backend::Postgres(node) => {
                let max_doc_bytes = node.max_doc_bytes;
                node.blocking(move |log| Ok(postgres_document(log, max_doc_bytes, &id, &principal)?)).await
            }
        }
    }

    /// The log head after each commit that stored changes (on PostgreSQL,
    /// the commits of every node).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        match self {
            Backend::Sqlite(db) => db.subscribe(),
            Backend::Postgres(node) => node.head_changes(),
        }
    }

    /// Runs `work` on the directory and the audit log, each write committed
    /// before it returns (on SQLite on the database thread, between sync batches).
    pub async fn directory<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn DirectoryStore, &dyn AuditStore) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        match self {
            Backend::Sqlite(db) => {
                db.call(move |conn| Ok(work(&SqliteDirectory::new(conn), &SqliteAudit::new(conn)))).await?
            }
            Backend::Postgres(node) => node.blocking(move |log| work(&log.directory(), &log.audit())).await,
        }
    }

    /// Whether the database answers (for `/healthz`). A SQLite file is the
    /// node's own; its faults show per request and as a full disk. A
    /// PostgreSQL database that does not answer within a few seconds is a
    /// retryable `server_unavailable`.
    pub async fn reachable(&self) -> Result<(), ApiError> {
        match self {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(node) => {
                match tokio::time::timeout(HEALTH_WAIT, node.blocking(|log| Ok(log.ping()?))).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        tracing::warn!("the database did not answer the health check in time");
                        Err(ApiError::ServerUnavailable { retry_after: crate::error::STORAGE_RETRY_AFTER })
                    }
                }
            }
        }
    }

    /// Runs `work` on the reporting rows for `principal`'s user (its
    /// [`Subject`]): on SQLite on the database thread, between sync
    /// batches; on PostgreSQL in a read-only snapshot, so that every query
    /// of a report sees one committed state.
    pub async fn reports<T: Send + 'static>(
        &self,
        principal: Principal,
        work: impl FnOnce(&dyn ReportDb, &Subject) -> Result<T, SqlError> + Send + 'static,
    ) -> Result<T, ApiError> {
        match self {
            Backend::Sqlite(db) => {
                let done = db
                    .call(move |conn| {
                        let subject =
                            SqliteDirectory::new(conn).subject(principal.device_id)?.ok_or(DbError::Revoked)?;
                        Ok(work(&*conn, &subject))
                    })
                    .await?;
                Ok(done?)
            }
            Backend::Postgres(node) => {
                node.blocking(move |log| {
                    let subject = log.directory().subject(principal.device_id)?.ok_or(PgError::Revoked)?;
                    let reader = log.reader()?;
                    Ok(work(&reader, &subject)?)
                })
                .await
            }
        }
    }

    /// The SQLite database, for what only it serves yet (`what`: the
    /// feature, in the refusal's message).
    pub fn sqlite(&self, what: &'static str) -> Result<&Db, ApiError> {
        match self {
            Backend::Sqlite(db) => Ok(db),
            Backend::Postgres(_) => Err(ApiError::NotOnThisDatabase(what)),
        }
    }

    /// Finishes queued work and closes the database.
    pub async fn shutdown(&self) {
        if let Backend::Sqlite(db) = self {
            db.shutdown().await;
        }
    }
}

/// The PostgreSQL error behind a directory or audit error, if that is what it is.
pub(crate) fn postgres_cause(e: AdminError) -> Result<PgError, AdminError> {
    match e {
        AdminError::Backend(b) => b.downcast::<PgError>().map(|pg| *pg).map_err(AdminError::Backend),
        other => Err(other),
    }
}

impl From<SqlError> for ApiError {
    fn from(e: SqlError) -> ApiError {
        match e {
            SqlError::Sqlite(e) => DbError::from(e).into(),
            SqlError::Postgres(e) => e.into(),
        }
    }
}

impl From<PgError> for ApiError {
    fn from(e: PgError) -> ApiError {
        match e {
            PgError::Revoked => ApiError::Unauthorized("the token is unknown or revoked"),
            PgError::ForeignActor => ApiError::Forbidden(
                "the request's actor id is bound to another device; each device syncs with its own".into(),
            ),
            e if e.is_retryable() => {
                tracing::warn!(error = %e, "the database could not serve a request; the client retries");
                ApiError::ServerUnavailable { retry_after: crate::error::STORAGE_RETRY_AFTER }
            }
            PgError::Access(_) => ApiError::ServerUnavailable { retry_after: crate::error::STORAGE_RETRY_AFTER },
            other => {
                tracing::error!(error = %other, "storage error while serving a request");
                ApiError::Internal
            }
        }
    }
}
