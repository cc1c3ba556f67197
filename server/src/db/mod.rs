//! The server's storage: one SQLite file, owned by one database thread.
//!
//! Every read and write goes through [`Db`], which sends a job to the thread
//! and awaits the answer. The thread group-commits: it takes every queued
//! sync request, handles each in its own savepoint inside one transaction,
//! commits once (one fsync), and only then answers them. An `Ack::Stored` is
//! therefore always on disk. Between batches, the thread folds documents with
//! many change rows into snapshots (compaction).

pub mod audit;
mod cache;
mod log_file;
mod meta;
pub(crate) mod schema;
pub mod space;
mod store;
pub mod users;
mod worker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rapport_core::sync::{HandleStats, SyncRequest, SyncResponse};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::{oneshot, watch};

use rapport_server_store::DirectoryStore;

use crate::auth::{Principal, TokenHash};
use crate::metrics::Metrics;

pub use audit::SqliteAudit;
pub(crate) use cache::DocCache;
#[doc(hidden)]
pub use log_file::{LogFile, LogTransaction};
pub use meta::start_new_epoch;
pub(crate) use store::SqlStore;
pub use users::{AdminError, Bootstrap, SqliteDirectory};

/// Why the database could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("the database file is in use by another server process")]
    Locked,
    #[error("there is no server database at {0}; check the --data directory")]
    NoDatabase(PathBuf),
    #[error("the file is not a Rapport server database")]
    NotServerDatabase,
    #[error("the database has schema version {found}; this server supports up to {supported}")]
    TooNew { found: i64, supported: i64 },
    #[error("stored document {doc} cannot be loaded: {reason}")]
    Corrupt { doc: String, reason: String },
    #[error("cannot generate a token: {0}")]
    Random(#[from] getrandom::Error),
    #[error("the transaction of a batch of sync requests could not be committed")]
    BatchFailed,
    #[error("cannot start the database thread: {0}")]
    Thread(std::io::Error),
    #[error("the database thread has stopped")]
    Stopped,
    #[error("the device token was revoked or its user deleted")]
    Revoked,
    #[error("the request's actor id is bound to another device")]
    ForeignActor,
    /// Processing the message panicked (a bug, or bytes the Automerge decoder
    /// chokes on): that request was rolled back, the server goes on.
    #[error("the server could not process this sync message; nothing of it was stored")]
    Unprocessable,
    /// The access rules could not be read while a request was judged: the
    /// request failed as a whole and nothing of it was stored.
    #[error(transparent)]
    Access(#[from] rapport_core::sync::AccessError),
    /// The disk holding the database is full (`SQLITE_FULL`, `ENOSPC`): the
    /// request was rolled back.
    #[error("the disk holding the database is full")]
    StorageFull,
    /// A directory operation was refused (a caller that expects none, such
    /// as a read, passes the refusal on as it is).
    #[error(transparent)]
    Directory(AdminError),
}

/// The directory's error in the server's storage error: SQLite's failures
/// come back as the [`DbError`] the SQLite directory boxed (so a full disk
/// is still a full disk), a failed token as [`DbError::Random`].
impl From<AdminError> for DbError {
    fn from(e: AdminError) -> DbError {
        match e {
            AdminError::Backend(b) => match b.downcast::<DbError>() {
                Ok(db) => *db,
                Err(other) => DbError::Directory(AdminError::Backend(other)),
            },
            AdminError::Token(e) => DbError::Random(e),
            refused => DbError::Directory(refused),
        }
    }
}

impl DbError {
    /// The SQLite error behind this one, if any.
    pub fn sqlite(&self) -> Option<&rusqlite::Error> {
        match self {
            DbError::Sqlite(e) => Some(e),
            DbError::Access(a) => a.0.downcast_ref::<rusqlite::Error>(),
            _ => None,
        }
    }

    /// Whether the disk holding the database is full.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, DbError::StorageFull) || self.sqlite().is_some_and(space::is_full)
    }
}

/// Tuning of the database thread.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    /// Documents kept loaded in memory.
    pub cache_docs: usize,
    /// Change rows a document may have before it is folded into a snapshot.
    pub compact_after: u64,
    /// How often every document is checked for compaction.
    pub compact_interval: Duration,
    /// Most sync requests committed together.
    pub max_batch: usize,
    /// Largest document accepted from a push (bytes of its accepted changes).
    pub max_doc_bytes: u64,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            cache_docs: 256,
            compact_after: 64,
            compact_interval: Duration::from_secs(30),
            max_batch: 256,
            max_doc_bytes: 16 << 20,
        }
    }
}

/// A job run on the database thread with its connection (admin operations).
pub(crate) type Call = Box<dyn FnOnce(&mut Connection) + Send>;

pub(crate) enum Job {
    Sync {
        request: SyncRequest,
        principal: Principal,
        reply: oneshot::Sender<Result<(SyncResponse, HandleStats), DbError>>,
    },
    /// Replies with the token's principal and the [`AuthCache`] generation it was read in.
    Authenticate {
        hash: TokenHash,
        reply: oneshot::Sender<Result<(Option<Principal>, u64), DbError>>,
    },
    Document {
        id: String,
        principal: Principal,
        reply: oneshot::Sender<Result<Option<Vec<u8>>, DbError>>,
    },
    Call(Call),
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Creates a database file with only the first `n` migrations applied, as an
/// older server left it (for upgrade tests).
#[doc(hidden)]
pub fn create_at_version(path: &Path, n: usize) -> Result<(), DbError> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "application_id", schema::APPLICATION_ID)?;
    schema::apply(&mut conn, 0, n)
}

/// How many migrations this server has (for upgrade tests).
#[doc(hidden)]
pub fn schema_version() -> usize {
    schema::MIGRATIONS.len()
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

/// A handle to the database thread. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    jobs: mpsc::Sender<Job>,
    head: watch::Receiver<u64>,
    thread: Mutex<Option<JoinHandle<()>>>,
    auth: AuthCache,
    metrics: Arc<Metrics>,
}

/// Most tokens remembered; a full cache starts over.
const AUTH_CACHE_TOKENS: usize = 4096;

/// The principals of recently seen tokens, so that a request does not wait
/// for the database thread (behind a batch and its fsync) only to learn who
/// sent it. An entry is valid while the generation it was read in is
/// current: the database thread moves to the next generation before every
/// call — the admin API, the only way users, roles and devices change while
/// the server runs — so a revoked token, a deleted user or a changed role is
/// never answered from here. Unknown tokens are not remembered. Writes do
/// not depend on it: every sync re-reads its device's user in its transaction.
#[derive(Debug, Default)]
pub(crate) struct AuthCache {
    generation: Arc<AtomicU64>,
    tokens: Mutex<HashMap<TokenHash, (u64, Principal)>>,
}

impl AuthCache {
    fn get(&self, hash: &TokenHash) -> Option<Principal> {
        let current = self.generation.load(Ordering::Acquire);
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.get(hash).filter(|(generation, _)| *generation == current).map(|(_, p)| p.clone())
    }

    fn put(&self, hash: TokenHash, generation: u64, principal: Principal) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if tokens.len() >= AUTH_CACHE_TOKENS {
            tokens.clear();
        }
        tokens.insert(hash, (generation, principal));
    }
}

impl Db {
    /// Opens (creating or upgrading) the database at `path` and starts its thread.
    pub fn open(
        path: &Path,
        options: DbOptions,
        admin_token: Option<&str>,
        metrics: Arc<Metrics>,
    ) -> Result<(Db, Bootstrap), DbError> {
        let (conn, lock) = open_exclusive(path)?;
        Self::start(conn, Some(lock), options, admin_token, metrics)
    }

    /// A database in memory (fuzzing, tests): nothing survives the process.
    pub fn open_in_memory(options: DbOptions, metrics: Arc<Metrics>) -> Result<Db, DbError> {
        let conn = Connection::open_in_memory()?;
        Ok(Self::start(conn, None, options, None, metrics)?.0)
    }

    fn start(
        mut conn: Connection,
        lock: Option<DataLock>,
        options: DbOptions,
        admin_token: Option<&str>,
        metrics: Arc<Metrics>,
    ) -> Result<(Db, Bootstrap), DbError> {
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        meta::backfill_log_hashes(&mut conn)?;
        let bootstrap = SqliteDirectory::new(&conn).bootstrap(admin_token)?;
        store::backfill_index(&mut conn)?;
        store::backfill_reports(&mut conn)?;
        store::refresh_stale_reports(&mut conn)?;
        optimize(&conn, true)?;
        let (jobs, rx) = mpsc::channel();
        let auth = AuthCache::default();
        let worker = worker::Worker::new(conn, options, metrics.clone(), auth.generation.clone())?;
        let head = worker.subscribe();
        let thread = std::thread::Builder::new()
            .name("rapport-db".into())
            .spawn(move || {
                worker.run(rx);
                // Released once the connection is closed.
                drop(lock);
            })
            .map_err(DbError::Thread)?;
        let db = Db { inner: Arc::new(Inner { jobs, head, thread: Mutex::new(Some(thread)), auth, metrics }) };
        Ok((db, bootstrap))
    }

    async fn ask<T>(&self, job: impl FnOnce(oneshot::Sender<Result<T, DbError>>) -> Job) -> Result<T, DbError> {
        let (reply, answer) = oneshot::channel();
        let _in_flight = self.inner.metrics.db_job();
        self.inner.jobs.send(job(reply)).map_err(|_| DbError::Stopped)?;
        answer.await.map_err(|_| DbError::Stopped)?
    }

    /// Handles one sync request of `principal`'s device under its user's
    /// access rules; resolves once its effects are durable.
    pub async fn sync(
        &self,
        request: SyncRequest,
        principal: Principal,
    ) -> Result<(SyncResponse, HandleStats), DbError> {
        self.ask(|reply| Job::Sync { request, principal, reply }).await
    }

    /// Runs `f` on the database thread with its connection, between sync batches.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        self.ask(|reply| {
            Job::Call(Box::new(move |conn: &mut Connection| {
                let _ = reply.send(f(conn));
            }))
        })
        .await
    }

    /// The principal of a device token, or `None` if it is unknown, revoked
    /// or its user deleted.
    pub async fn authenticate(&self, hash: TokenHash) -> Result<Option<Principal>, DbError> {
        if let Some(principal) = self.inner.auth.get(&hash) {
            return Ok(Some(principal));
        }
        let (principal, generation) = self.ask(|reply| Job::Authenticate { hash, reply }).await?;
        if let Some(principal) = &principal {
            self.inner.auth.put(hash, generation, principal.clone());
        }
        Ok(principal)
    }

    /// The whole saved Automerge document, or `None` if unknown or not
    /// readable by `principal`.
    pub async fn document(&self, id: String, principal: Principal) -> Result<Option<Vec<u8>>, DbError> {
        self.ask(|reply| Job::Document { id, principal, reply }).await
    }

    /// The log head after each commit that stored changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.head.clone()
    }

    /// Finishes every queued job, closes the database and joins its thread.
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self.inner.jobs.send(Job::Shutdown { reply }).is_ok() {
            let _ = done.await;
        }
        let thread = self.inner.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the database thread ended abnormally");
            }
        }
    }
}

/// The data directory's lock: held by the one process that writes the
/// database (a server, a management command, a restore) for as long as this
/// value lives. It is an OS file lock on `<database>.lock`, not SQLite's
/// exclusive locking mode, so that a backup can read the database through its
/// own connection while the server writes.
#[derive(Debug)]
pub struct DataLock {
    _file: std::fs::File,
}

/// Takes the lock of the database at `path`: [`DbError::Locked`] if another
/// process (or another server in this process) holds it.
pub fn lock_data(path: &Path) -> Result<DataLock, DbError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbError::DataDir { path: dir.to_path_buf(), source })?;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| DbError::DataDir { path: lock_path.clone(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(DataLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(DbError::Locked),
        Err(std::fs::TryLockError::Error(source)) => Err(DbError::DataDir { path: lock_path, source }),
    }
}

/// Opens the database file with the data directory's lock held for as long
/// as the returned [`DataLock`] lives: [`DbError::Locked`] if another process
/// (a running server) holds it.
pub fn open_exclusive(path: &Path) -> Result<(Connection, DataLock), DbError> {
    let lock = lock_data(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let locked = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => DbError::Locked,
        Some(ErrorCode::NotADatabase) => DbError::NotServerDatabase,
        _ => DbError::Sqlite(e),
    };
    conn.busy_timeout(Duration::ZERO)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(locked)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(locked)?;
    // Fails at once if a server of 0.1.0 (SQLite's exclusive locking mode) holds the file.
    conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(locked)?;
    // A backup's read connection may briefly hold a lock the writer waits for.
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok((conn, lock))
}

/// Opens (creating or upgrading) the database for the management commands,
/// which work on the file directly while no server runs.
pub fn open_for_management(path: &Path) -> Result<(Connection, DataLock), DbError> {
    let (mut conn, lock) = open_exclusive(path)?;
    configure(&conn)?;
    schema::migrate(&mut conn)?;
    store::backfill_index(&mut conn)?;
    Ok((conn, lock))
}

/// How every connection that runs the server's statements is set up.
fn configure(conn: &Connection) -> Result<(), DbError> {
    conn.pragma_update(None, "foreign_keys", true)?;
    // Sync, access, audit and the reporting index use ~100 distinct
    // statements; rusqlite's default cache of 16 re-prepared most of them.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Plan each statement once: without this, binding a new value
    // re-prepares any statement whose plan looked at a bound value (a
    // table with a partial index is enough), so the cached statements of
    // authentication, access and pulls were compiled again on every request.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Refreshes the query planner's statistics (`sqlite_stat1`) of tables whose
/// size changed a lot since they were last analysed, or never were, reading
/// at most about 1000 rows per index (`analysis_limit`). With `all_tables`
/// (at start, after the backfill) every table is checked; otherwise (the
/// database thread, hourly) the tables this connection's queries used.
#[doc(hidden)]
pub fn optimize(conn: &Connection, all_tables: bool) -> Result<(), DbError> {
    conn.pragma_update(None, "analysis_limit", 1000)?;
    conn.execute_batch(if all_tables { "PRAGMA optimize = 0x10002;" } else { "PRAGMA optimize;" })?;
    Ok(())
}

/// Milliseconds since the Unix epoch, UTC: the server's clock for records.
pub(crate) fn now_millis() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::StatementStatus;

    use super::*;

    /// A cached statement is compiled once, whatever values it is run with
    /// (SQLite compiled the device lookup of every request again).
    #[tokio::test]
    async fn cached_statements_are_not_compiled_again_for_new_values() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::default());
        let (db, _) =
            Db::open(&dir.path().join("server.db"), DbOptions::default(), Some("t".repeat(32).as_str()), metrics)
                .unwrap();
        let reprepared = db
            .call(|conn| {
                let sql = "SELECT u.id FROM devices d JOIN users u ON u.id = d.user_id
                           WHERE d.id = ?1 AND d.revoked_at IS NULL AND u.deleted_at IS NULL";
                for device in 0..4 {
                    conn.prepare_cached(sql)?.query_map([device], |r| r.get::<_, i64>(0))?.count();
                }
                Ok(conn.prepare_cached(sql)?.get_status(StatementStatus::RePrepare))
            })
            .await
            .unwrap();
        assert_eq!(reprepared, 0);
        db.shutdown().await;
    }
}
