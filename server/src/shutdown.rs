//! Graceful shutdown: the OS signals that start it, and the closing flag
//! that tells live sockets to say goodbye.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Set once the server stops accepting; every live socket watches it and
/// holds a receiver until it has closed, so the server can wait for them.
#[derive(Debug, Clone, Default)]
pub struct Closing {
    flag: Arc<watch::Sender<bool>>,
}

impl Closing {
    pub fn begin(&self) {
        self.flag.send_replace(true);
    }

    /// A receiver for one live socket; hold it until the socket is closed.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.flag.subscribe()
    }

    /// Waits until every live socket dropped its receiver, or `limit` passed.
    pub async fn wait(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.flag.closed()).await.is_ok()
    }
}
