//! Graceful shutdown: the OS signals that start it, and the closing flag
//! that tells live sockets to say goodbye.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Listens for SIGINT (Ctrl-C) and SIGTERM from the moment it is called,
/// and resolves on the first of them. Call it before the server says that
/// it listens: a signal's default action kills the process at once, and a
/// SIGTERM sent as soon as the address is printed (a supervisor replacing
/// the node) must be a graceful shutdown.
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn first(kind: &'static str, listening: std::io::Result<Signal>) {
            match listening {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, signal = kind, "cannot listen for the signal");
                    std::future::pending::<()>().await;
                }
            }
        }
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            tokio::select! {
                () = first("SIGINT", interrupt) => {}
                () = first("SIGTERM", terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}

/// Runs `tick` once `first` has passed and then every `every`, until
/// `closing` turns true; a tick under way finishes first, and ticks missed
/// meanwhile are not made up. The server's timers (compaction, scheduled
/// backups, a node's reports of itself) all run on it.
pub fn spawn_every<F, Fut>(
    first: Duration,
    every: Duration,
    mut closing: watch::Receiver<bool>,
    mut tick: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = timer.tick() => {}
                _ = closing.wait_for(|closing| *closing) => return,
            }
            tick().await;
        }
    })
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
