//! [`PgLog`]: the connection pool, the runtime that drives it, and the
//! bridge from the synchronous [`rapport_core::sync::ServerStore`] to async
//! tokio-postgres (ADR 0017, `docs/adr/0017-postgres-backend.md`).

use std::future::Future;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::runtime::{Handle, Runtime};

use crate::PgError;
use crate::migrate::migrate;
use crate::transaction::PgTransaction;

/// Tuning of a [`PgLog`].
#[derive(Debug, Clone, Copy)]
pub struct PgOptions {
    /// Most connections this node opens.
    pub max_connections: usize,
    /// Threads driving the connections' sockets.
    pub io_threads: usize,
    /// Longest wait for a new connection (unless the URL sets `connect_timeout`),
    /// and for the check of a pooled one before it is handed out.
    pub connect_timeout: Duration,
    /// Longest wait for a free connection of the pool; then [`PgError::Connect`] (retryable).
    pub pool_wait: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            io_threads: 2,
            connect_timeout: Duration::from_secs(10),
            pool_wait: Duration::from_secs(30),
        }
    }
}

/// The change log in one PostgreSQL database. Cheap to clone; every clone
/// shares the pool. Its methods block the calling thread: call them from a
/// worker thread (the server's database thread, `spawn_blocking`), not from
/// async code.
#[derive(Debug, Clone)]
pub struct PgLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: Pool,
    /// How to open a connection of its own (the head watcher's LISTEN).
    config: tokio_postgres::Config,
    handle: Handle,
    /// Shut down in the background on drop, so a log may be dropped anywhere.
    runtime: Option<Runtime>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl PgLog {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, or
    /// key=value pairs), applies the migrations it lacks (once, under an
    /// advisory lock, whatever other nodes do at the same time) and returns the log.
    pub fn connect(url: &str, options: PgOptions) -> Result<PgLog, PgError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(PgError::BadUrl)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.io_threads.max(1))
            .thread_name("rapport-pg")
            .enable_all()
            .build()
            .map_err(PgError::Runtime)?;
        // A pooled connection is checked with a round trip before it is
        // handed out (`Verified`), within `connect_timeout`: one to a server
        // that went away (a primary lost in a failover, even one whose
        // socket never closed) is dropped, and a new one is made through
        // the URL's hosts (with `target_session_attrs=read-write`, only to
        // the primary). ADR `docs/adr/0025-postgres-failover.md`.
        let recycle_timeout = config.get_connect_timeout().copied().unwrap_or(options.connect_timeout);
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Verified },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .wait_timeout(Some(options.pool_wait))
            .recycle_timeout(Some(recycle_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| PgError::CreatePool(deadpool_postgres::CreatePoolError::Build(e)))?;
        let log =
            PgLog { inner: Arc::new(Inner { pool, config, handle: runtime.handle().clone(), runtime: Some(runtime) }) };
        let pool = log.inner.pool.clone();
        log.run(async move {
            let mut client = pool.get().await?;
            migrate(&mut client).await
        })??;
        Ok(log)
    }

    /// Begins a transaction (READ COMMITTED). Nothing of it is stored, and
    /// nothing may be acknowledged, before [`PgTransaction::commit`] returns `Ok`.
    pub fn begin(&self) -> Result<PgTransaction, PgError> {
        let client = self.open("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        Ok(PgTransaction::new(self.clone(), client))
    }

    /// A connection of the pool with a transaction opened by `begin` (a
    /// `BEGIN …` statement).
    pub(crate) fn open(&self, begin: &'static str) -> Result<Object, PgError> {
        let pool = self.inner.pool.clone();
        self.run(async move {
            let client = pool.get().await?;
            client.batch_execute(begin).await?;
            Ok::<_, PgError>(client)
        })?
    }

    /// Whether the database answers: a connection from the pool (a new one
    /// through the URL's hosts if the pooled ones are gone) runs `SELECT 1`.
    pub fn ping(&self) -> Result<(), PgError> {
        let pool = self.inner.pool.clone();
        self.run(async move {
            let client = pool.get().await?;
            client.simple_query("SELECT 1").await.map_err(PgError::statement)?;
            Ok::<_, PgError>(())
        })?
    }

    /// How many documents the log holds, whichever node stored them.
    pub fn document_count(&self) -> Result<u64, PgError> {
        let pool = self.inner.pool.clone();
        self.run(async move {
            let client = pool.get().await?;
            let row = client.query_one("SELECT count(*) FROM documents", &[]).await.map_err(PgError::statement)?;
            Ok::<_, PgError>(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })?
    }

    /// Connections open now, and how many of them are idle in the pool.
    pub fn pool_status(&self) -> (usize, usize) {
        let status = self.inner.pool.status();
        (status.size, status.available)
    }

    /// Runs `work` to completion on the log's runtime and waits for it on
    /// this thread. The future is spawned, not polled here: once started
    /// it finishes even if the caller goes away, so a COMMIT is never cancelled.
    pub(crate) fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> Result<T, PgError> {
        let (done, outcome) = mpsc::sync_channel(1);
        self.inner.handle.spawn(async move {
            let _ = done.send(work.await);
        });
        outcome.recv().map_err(|_| PgError::Closed)
    }

    /// The pool, for work spawned through [`PgLog::run`] (the directory's).
    pub(crate) fn pool(&self) -> Pool {
        self.inner.pool.clone()
    }

    /// The connection settings, for a connection of its own.
    pub(crate) fn config(&self) -> tokio_postgres::Config {
        self.inner.config.clone()
    }

    /// Spawns `work` on the log's runtime; the handle can abort it.
    pub(crate) fn spawn_handle<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        self.inner.handle.spawn(work)
    }

    /// Rolls back the open transaction of `client` in the background; the
    /// connection goes back to the pool only after its ROLLBACK (a broken
    /// one is discarded by the pool's recycling check).
    pub(crate) fn roll_back(&self, client: Arc<Object>) {
        self.spawn(async move {
            if let Err(e) = client.batch_execute("ROLLBACK").await {
                tracing::debug!(error = %e, "rolling back an abandoned transaction failed");
            }
        });
    }

    /// Spawns `work` on the log's runtime without waiting for it.
    pub(crate) fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.inner.handle.spawn(work);
    }
}
