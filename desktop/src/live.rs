//! Sync in the app's process, and what the page is told about it.
//!
//! One task stays on the server's live WebSocket
//! ([`Client::watch_reconnecting`]) with the same replica the API edits
//! (`Arc<Mutex<Replica>>`, locked only for each call). Every edit asks it to
//! push at once. The page subscribes to `GET /api/events` (server-sent
//! events): a `status` event (online or not, the unsent changes) whenever it
//! may have changed, and a `changed` event with the account ids that other
//! devices' changes touched.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rapport_client::{Client, ClientError, LiveControl, LiveEvent, RetryPolicy, WatchOptions};
use rapport_core::Replica;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

/// What the page shows in its status bar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// The live connection to the server is open.
    pub online: bool,
    /// Changes made here that the server has not received yet (with edits
    /// the server refused and that are set aside).
    pub unsent_changes: usize,
    /// Accounts with unsent changes.
    pub unsent_accounts: usize,
    /// Edits the server refused, waiting to be discarded or retried.
    pub refused_edits: usize,
    /// Why the app is offline, when it knows (no customer data).
    pub problem: Option<String>,
    /// Sync stopped for good (token refused, device revoked): `problem` says what to do.
    pub stopped: bool,
}

/// One message to the page.
#[derive(Debug, Clone)]
pub(crate) enum PageEvent {
    Status(SyncStatus),
    /// Accounts that changes from other devices touched (`settings` for the settings).
    Changed(Vec<String>),
}

/// The sync side's shared state.
#[derive(Debug)]
pub(crate) struct Live {
    connection: Mutex<(bool, Option<String>, bool)>,
    events: broadcast::Sender<PageEvent>,
    pub(crate) control: LiveControl,
    /// Set when the app stops: open event streams end, so the web server can too.
    closing: watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Live {
    pub(crate) fn new() -> Live {
        let (events, _) = broadcast::channel(256);
        Live {
            connection: Mutex::new((false, Some("connecting to the server…".into()), false)),
            events,
            control: LiveControl::new(),
            closing: watch::Sender::new(false),
        }
    }

    /// Stops sync and ends every open event stream.
    pub(crate) fn close(&self) {
        self.control.stop();
        self.closing.send_replace(true);
    }

    /// Resolves once the app is stopping.
    pub(crate) fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<PageEvent> {
        self.events.subscribe()
    }

    /// The status now, from the replica's counts and the connection's state.
    pub(crate) fn status(&self, replica: &Mutex<Replica>) -> SyncStatus {
        let (online, problem, stopped) = lock(&self.connection).clone();
        let r = lock(replica);
        let work = r.unsynced_work().unwrap_or_default();
        let refused = r.refused_edits().map(|e| e.len()).unwrap_or(0)
            + r.rejected_documents()
                .map(|d| d.iter().filter(|(doc, _)| doc == rapport_core::settings::SETTINGS_DOC_ID).count())
                .unwrap_or(0);
        SyncStatus {
            online,
            unsent_changes: work.changes,
            unsent_accounts: work.documents,
            refused_edits: refused,
            problem,
            stopped,
        }
    }

    pub(crate) fn publish_status(&self, replica: &Mutex<Replica>) {
        // No page listening is fine.
        let _ = self.events.send(PageEvent::Status(self.status(replica)));
    }

    /// After an edit through the API: push it now and tell the page.
    pub(crate) fn edited(&self, replica: &Mutex<Replica>) {
        self.control.push_now();
        self.publish_status(replica);
    }

    fn set_connection(&self, online: bool, problem: Option<String>, stopped: bool) {
        *lock(&self.connection) = (online, problem, stopped);
    }

    fn on_event(&self, replica: &Mutex<Replica>, event: LiveEvent) {
        match event {
            LiveEvent::Connected { .. } => self.set_connection(true, None, false),
            LiveEvent::Synced(summary) | LiveEvent::Update(summary) => {
                if !summary.pulled_ids.is_empty() {
                    let _ = self.events.send(PageEvent::Changed(summary.pulled_ids));
                }
            }
        }
        self.publish_status(replica);
    }

    fn offline(&self, replica: &Mutex<Replica>, e: &ClientError, wait: Duration) {
        let problem = format!("{e}; trying again in {} s", wait.as_secs_f64().ceil() as u64);
        self.set_connection(false, Some(problem), false);
        self.publish_status(replica);
    }
}

/// How sync reconnects: soon, so that edits made offline arrive shortly after
/// the server is back (at most `max_wait` later).
pub(crate) fn reconnect_policy(max_wait: Duration) -> RetryPolicy {
    RetryPolicy { min_delay: Duration::from_millis(500).min(max_wait), max_delay: max_wait, max_retries: None }
}

/// Runs sync until [`LiveControl::stop`], reconnecting after every transient
/// failure. A failure that is not transient (token refused, device revoked)
/// stops sync; the app keeps working on the replica and says what to do.
pub(crate) async fn run(
    client: Client,
    replica: Arc<Mutex<Replica>>,
    live: Arc<Live>,
    push_interval: Duration,
    max_wait: Duration,
) {
    let options = WatchOptions { push_interval, control: live.control.clone(), ..WatchOptions::default() };
    let policy = reconnect_policy(max_wait);
    loop {
        let result = client
            .watch_reconnecting(
                replica.clone(),
                &options,
                &policy,
                |event| live.on_event(&replica, event),
                |e, wait| live.offline(&replica, e, wait),
            )
            .await;
        match result {
            Ok(()) => return,
            // The server asked for a longer pause than the policy waits.
            Err(e) if e.is_transient() => {
                let wait = e.retry_after().unwrap_or(max_wait);
                live.offline(&replica, &e, wait);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped(&live.control) => return,
                }
            }
            Err(e) => {
                let problem = format!("sync stopped: {e}; run `rapport sync` in a terminal to see what to do");
                live.set_connection(false, Some(problem), true);
                live.publish_status(&replica);
                return;
            }
        }
    }
}

async fn stopped(control: &LiveControl) {
    while !control.is_stopped() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
