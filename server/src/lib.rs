//! # rapport-server
//!
//! The sync server: Rapport's batched sync protocol (`rapport_core::sync`)
//! over HTTP and a WebSocket, stored durably in one SQLite file, or in a
//! PostgreSQL database shared by many nodes ([`backend`], ADR 0034).
//!
//! * [`run`] serves on a listener until a shutdown future resolves; tests
//!   bind port 0 and call it in-process. `main.rs` only parses arguments.
//! * [`router`] is every route over an [`AppState`].
//! * [`db`] owns the SQLite file on one thread that group-commits sync
//!   requests: an acknowledgement always means "on disk".
//!
//! This crate knows HTTP, tokens and SQL; the protocol's rules (what to store,
//! what to send back) live in `rapport_core::sync::handle`.

pub mod access;
pub mod admin_client;
pub mod auth;
pub mod backend;
pub mod backup;
pub mod config;
pub mod db;
pub mod error;
mod fuzz;
pub mod manage;
pub mod metrics;
pub mod min_client;
pub mod openapi;
pub mod reports;
mod routes;
pub mod settings;
pub mod shutdown;
pub mod tls;
pub mod to_postgres;
mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use backend::{Backend, PgNode};
pub use config::Config;
pub use db::{Bootstrap, Db, DbError, DbOptions};
pub use error::{ApiError, ServerError};
pub use fuzz::{abort_on_uncontained_panics, decode_for_fuzz, ingest_for_fuzz};
pub use metrics::Metrics;
pub use routes::router;
pub use shutdown::Closing;

/// How long shutdown waits for live sockets to close.
const SOCKET_CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Limits the routes enforce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_pull_bytes: u64,
    pub request_timeout: Duration,
}

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    backend: Backend,
    metrics: Arc<Metrics>,
    limits: Limits,
    closing: Closing,
    limiter: access::RateLimiter,
    /// Bumped whenever a device is revoked or a user deleted; live sockets re-check theirs.
    revocations: tokio::sync::watch::Sender<u64>,
    backups: backup::Backups,
    /// The oldest client accepted (`--min-client-version`).
    min_client: Option<min_client::ClientVersion>,
    /// This process as a node: name, release, start time.
    node: backend::ThisNode,
}

impl AppState {
    pub fn new(backend: Backend, metrics: Arc<Metrics>, config: &Config, closing: Closing) -> AppState {
        AppState {
            inner: Arc::new(Shared {
                backend,
                metrics,
                limits: Limits {
                    max_body_bytes: config.max_body_bytes,
                    max_pull_bytes: config.max_pull_bytes,
                    request_timeout: config.request_timeout,
                },
                closing,
                limiter: access::RateLimiter::new(config.rate_per_sec, config.rate_burst),
                revocations: tokio::sync::watch::channel(0).0,
                backups: backup::Backups { database: config.database_path(), dir: config.backup.dir.clone() },
                min_client: config.min_client_version,
                node: backend::ThisNode::new(&config.node_name),
            }),
        }
    }

    /// The oldest client release accepted, if the operator set one.
    pub fn min_client(&self) -> Option<min_client::ClientVersion> {
        self.inner.min_client
    }

    /// The per-device request rate limiter.
    pub fn limiter(&self) -> &access::RateLimiter {
        &self.inner.limiter
    }

    /// Tells live sockets that a device was revoked or a user deleted.
    pub fn revoked(&self) {
        self.inner.revocations.send_modify(|n| *n += 1);
    }

    /// Changes when a device was revoked or a user deleted.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.revocations.subscribe()
    }

    /// This process as a node.
    pub fn this_node(&self) -> &backend::ThisNode {
        &self.inner.node
    }

    /// What the routes store through: the node's SQLite file or the shared PostgreSQL database.
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    pub fn closing(&self) -> &Closing {
        &self.inner.closing
    }

    /// The database file and backup directory, for backups through the admin API.
    pub fn backups(&self) -> &backup::Backups {
        &self.inner.backups
    }
}

/// Opens the data directory, serves on `listener` until `shutdown` resolves,
/// then stops accepting, closes live sockets, lets in-flight requests
/// finish and closes the database.
///
/// Serves HTTPS when `config.tls` names a certificate and key (read before
/// anything else: a bad file stops the start with [`ServerError::Tls`]).
///
/// Prints `listening on http://ADDR` (or `https://`; and, on first start,
/// the admin token) to stdout.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    if let Some(token) = &config.admin_token
        && !auth::valid_token(token)
    {
        return Err(ServerError::InvalidAdminToken);
    }
    let tls = config.tls.as_ref().map(tls::load).transpose()?;
    let metrics = Arc::new(Metrics::new(&config.node_name));
    let (backend, bootstrap) = open_backend(&config, metrics.clone()).await?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url_file = config.data_dir.join(config::URL_FILE);
    write_url_file(&url_file, scheme, addr);
    announce(&bootstrap, &format!("{scheme}://{addr}"));

    let closing = Closing::default();
    let state = AppState::new(backend.clone(), metrics, &config, closing.clone());
    let (compaction, node_report) = match &backend {
        Backend::Postgres(node) => {
            follow_database(&state, node);
            (
                Some(node.spawn_compaction(config.db.compact_interval, config.db.compact_after, closing.watch())),
                Some(node.spawn_node_report(state.this_node().clone(), closing.watch())),
            )
        }
        Backend::Sqlite(_) => (None, None),
    };
    let schedule = match (config.backup.dir.is_some(), config.backup.every, &backend) {
        (true, Some(every), Backend::Sqlite(db)) => Some(backup::spawn_schedule(
            state.backups().clone(),
            db.clone(),
            every,
            config.backup.keep,
            closing.watch(),
        )),
        _ => None,
    };
    let signal_closing = closing.clone();
    let stop = async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, closing live sockets");
        signal_closing.begin();
    };
    let served = match tls {
        Some(tls) => {
            axum::serve(tls::TlsListener::new(listener, tls)?, router(state)).with_graceful_shutdown(stop).await
        }
        None => axum::serve(listener, router(state)).with_graceful_shutdown(stop).await,
    };
    closing.begin();
    if let Some(schedule) = schedule
        && schedule.await.is_err()
    {
        tracing::error!("the backup schedule ended abnormally");
    }
    if let Some(compaction) = compaction
        && compaction.await.is_err()
    {
        tracing::error!("compaction ended abnormally");
    }
    if let Some(report) = node_report
        && report.await.is_err()
    {
        tracing::error!("the node's reports ended abnormally");
    }
    if !closing.wait(SOCKET_CLOSE_GRACE).await {
        tracing::warn!("some live sockets did not close in time");
    }
    let _ = std::fs::remove_file(&url_file);
    backend.shutdown().await;
    tracing::info!("stopped");
    served.map_err(ServerError::from)
}

/// Opens the database the configuration names: PostgreSQL when it has a
/// `database_url`, else the data directory's SQLite file (created on first
/// start). Either way the admin user is created on first start.
async fn open_backend(config: &Config, metrics: Arc<Metrics>) -> Result<(Backend, Bootstrap), ServerError> {
    let token = config.admin_token.clone();
    if let Some(url) = config.database_url.clone() {
        let max_doc_bytes = config.db.max_doc_bytes;
        let (node, bootstrap) =
            tokio::task::spawn_blocking(move || PgNode::open(&url, token.as_deref(), max_doc_bytes, metrics))
                .await
                .map_err(|_| ServerError::Db(DbError::Stopped))??;
        if let Err(e) = std::fs::create_dir_all(&config.data_dir) {
            tracing::warn!(
                error = %e, dir = %config.data_dir.display(),
                "cannot create the data directory for the server's address file"
            );
        }
        return Ok((Backend::Postgres(node), bootstrap));
    }
    let (path, options) = (config.database_path(), config.db);
    let (db, bootstrap) = tokio::task::spawn_blocking(move || Db::open(&path, options, token.as_deref(), metrics))
        .await
        .map_err(|_| ServerError::Db(DbError::Stopped))??;
    Ok((Backend::Sqlite(db), bootstrap))
}

/// Follows what every node commits: tells this node's live sockets to
/// re-check their devices whenever the directory changed on any node (or
/// the head watcher reconnected and may have missed a notification), and
/// keeps the head's metric.
fn follow_database(state: &AppState, node: &PgNode) {
    let (state, mut directory, mut head) = (state.clone(), node.directory_changes(), node.head_changes());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = directory.changed() => match changed {
                    Ok(()) => state.revoked(),
                    Err(_) => return,
                },
                changed = head.changed() => match changed {
                    Ok(()) => state.metrics().set_head(*head.borrow_and_update()),
                    Err(_) => return,
                },
            }
        }
    });
}

/// Writes where this server answers into the data directory, for the
/// management commands to reach its admin API ([`manage::Managed::open`]):
/// a wildcard address (`0.0.0.0`, `::`) is written as the loopback one.
fn write_url_file(path: &std::path::Path, scheme: &str, addr: std::net::SocketAddr) {
    let mut local = addr;
    if local.ip().is_unspecified() {
        local.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    if let Err(e) = std::fs::write(path, format!("{scheme}://{local}\n")) {
        tracing::warn!(
            error = %e, file = %path.display(),
            "cannot write the server's address; management commands need --server while it runs"
        );
    }
}

fn announce(bootstrap: &Bootstrap, url: &str) {
    if let Some(token) = &bootstrap.new_token {
        println!("Created the admin user and its first device token (shown only this once):");
        println!();
        println!("    {token}");
        println!();
        println!("Connect the desktop app with:");
        println!();
        println!("    rapport init --server {url} --token {token}");
        println!();
    } else if bootstrap.created_admin {
        println!("Created the admin user with the token from RAPPORT_ADMIN_TOKEN.");
    }
    println!("listening on {url}");
}
