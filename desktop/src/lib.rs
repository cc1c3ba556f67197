//! # rapport-desktop
//!
//! The office staff's desktop app (`rapport app`): a local web app over the
//! device's replica, served on 127.0.0.1 and opened in the user's browser,
//! with sync running in the same process.
//!
//! * The page and its scripts are built into the binary (`include_str!`);
//!   nothing is fetched from the network at run time.
//! * Only the person who ran `rapport app` gets in: a one-time secret in the
//!   link is exchanged for an `HttpOnly`, `SameSite=Strict` cookie (see
//!   [`session`]); every API call without it is refused.
//! * Edits go straight to the replica and are pushed in the background over
//!   the server's live WebSocket; other devices' changes arrive on the page as
//!   they land. Without the server everything still works on the replica and
//!   the page counts the unsent changes (see [`live`]).
//!
//! ```no_run
//! # fn run() -> Result<(), rapport_desktop::DesktopError> {
//! use rapport_core::{DeviceIdentity, Replica};
//! use rapport_client::Client;
//!
//! let replica = Replica::open("replica.db", &DeviceIdentity::new("ana", "ana-laptop"))?;
//! let client = Client::new("https://rapport.example.com", "device-token")?;
//! rapport_desktop::run(replica, client, &rapport_desktop::AppOptions::default())?;
//! # Ok(()) }
//! ```

mod assets;
mod error;
pub mod live;
mod routes;
pub mod session;

// The security headers are the dashboard's: one definition for both pages.
#[path = "../../server/src/web/headers.rs"]
mod headers;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use rapport_client::Client;
use rapport_core::Replica;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use error::{ApiError, DesktopError};
pub use live::SyncStatus;

use crate::live::Live;
use crate::session::Session;

/// How `rapport app` runs.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The local port; 0 lets the system choose a free one.
    pub port: u16,
    /// Open the link in the user's browser (else only print it).
    pub open_browser: bool,
    /// How often local changes are pushed when nothing else pushed them.
    pub push_interval: Duration,
    /// The longest wait between attempts to reach the server while offline.
    pub max_reconnect_wait: Duration,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            port: 0,
            open_browser: true,
            push_interval: Duration::from_secs(5),
            max_reconnect_wait: Duration::from_secs(10),
        }
    }
}

/// What the handlers share.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) replica: Arc<Mutex<Replica>>,
    pub(crate) session: Arc<Session>,
    pub(crate) live: Arc<Live>,
}

impl AppState {
    pub(crate) fn replica(&self) -> std::sync::MutexGuard<'_, Replica> {
        self.replica.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running app: its address, its one-time link, and how to stop it.
#[derive(Debug)]
pub struct RunningApp {
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    sync: JoinHandle<()>,
}

impl RunningApp {
    /// The address the app listens on (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The one-time link that signs the browser in, until it was used.
    pub fn open_url(&self) -> Option<String> {
        self.state.session.secret().map(|s| format!("http://{}/open?secret={s}", self.addr))
    }

    /// The sync status the page shows.
    pub fn status(&self) -> SyncStatus {
        self.state.live.status(&self.state.replica)
    }

    /// Stops sync and the web server, and hands the replica back once nothing
    /// else holds it.
    pub async fn stop(mut self) -> Result<Option<Replica>, DesktopError> {
        self.state.live.close();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Sync may be between two attempts; it notices the stop within a moment.
        let _ = self.sync.await;
        self.server.await.map_err(|e| DesktopError::Io(std::io::Error::other(e.to_string())))??;
        let AppState { replica, .. } = self.state;
        Ok(Arc::try_unwrap(replica).ok().map(|m| m.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)))
    }
}

/// Starts the app on `listener` (which must be on 127.0.0.1) with `replica`,
/// syncing through `client`. Returns at once; the app runs until
/// [`RunningApp::stop`].
pub async fn start(
    listener: TcpListener,
    replica: Replica,
    client: Client,
    options: &AppOptions,
) -> Result<RunningApp, DesktopError> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() || !addr.is_ipv4() {
        return Err(DesktopError::NotLoopback(addr));
    }
    let state = AppState {
        replica: Arc::new(Mutex::new(replica)),
        session: Arc::new(Session::new(addr.port())?),
        live: Arc::new(Live::new()),
    };
    let app = router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    let sync = tokio::spawn(live::run(
        client,
        state.replica.clone(),
        state.live.clone(),
        options.push_interval,
        options.max_reconnect_wait,
    ));
    Ok(RunningApp { addr, state, shutdown: Some(tx), server, sync })
}

/// Every route: the page and its assets, the one-time link, and the API
/// behind the session cookie; the `Host` check and the security headers on all.
fn router(state: AppState) -> Router {
    let api = routes::api().route_layer(axum::middleware::from_fn_with_state(state.clone(), session::require_cookie));
    Router::new()
        .merge(assets::routes())
        .route("/open", axum::routing::get(session::open))
        .nest("/api", api)
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::require_host))
        .layer(axum::middleware::map_response(headers::add))
        .with_state(state)
}

/// `rapport app`: binds 127.0.0.1:`port`, starts the app, opens the link in
/// the browser (or prints it), and runs until Ctrl-C.
pub fn run(replica: Replica, client: Client, options: &AppOptions) -> Result<(), DesktopError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))
            .await
            .map_err(|source| DesktopError::Bind { port: options.port, source })?;
        let app = start(listener, replica, client, options).await?;
        let url = app.open_url().unwrap_or_default();
        if options.open_browser && open_in_browser(&url) {
            println!("Rapport is open in your browser (at http://{}); press Ctrl-C here to stop it", app.addr());
        } else {
            println!("open this link in your browser (it works once): {url}");
            println!("press Ctrl-C here to stop Rapport");
        }
        stop_requested().await;
        app.stop().await?;
        println!("stopped");
        Ok(())
    })
}

/// Ctrl-C, or (on Unix) SIGTERM: the app then stops cleanly, with the page
/// still open. A signal that cannot be listened for counts as given.
async fn stop_requested() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Asks the desktop to open `url` in the default browser. False when no
/// opener could be started (the link is then printed).
fn open_in_browser(url: &str) -> bool {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}
