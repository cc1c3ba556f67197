//! `Replica.watch`: the live connection (`rapport_client::Client::watch`)
//! for apps. Other devices' edits are applied as the server pushes them, and
//! a foreign-implemented [`LiveListener`] is told which accounts changed.
//!
//! Each watch runs on its own thread with its own small Tokio runtime, so it
//! needs nothing from the app's threads. It reconnects after every transient
//! failure (server restart, network loss, 429/503/507) with the client's
//! persistent backoff ([`RetryPolicy::persistent`]: the server's
//! `Retry-After`, else capped, jittered exponential waits that start over
//! after each successful connection). The replica is locked only for the
//! synchronous steps of each exchange, never across a network wait, so the
//! app keeps reading and editing while the watch runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

use rapport_client::{Client, LiveControl, LiveEvent, RetryPolicy, SyncSummary, WatchOptions};

use crate::error::RapportError;
use crate::replica::Replica;
use crate::sync::ListenerError;
use crate::types::Rejection;

/// How long `LiveWatch.stop()` waits for the connection to close.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// What one exchange on the live connection changed on this replica.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LiveUpdate {
    /// Accounts whose changes from other devices were applied, each once, in
    /// arrival order: refresh the screens showing them.
    pub accounts: Vec<String>,
    /// Whether the shared settings (pipeline stages, reasons) changed.
    pub settings_changed: bool,
    /// Documents with this device's edits the server stored.
    pub pushed_docs: u64,
    /// Documents the server refused edits of, with its reason; the refused
    /// edits are set aside (`Replica.refusedEdits()`), the others were sent.
    pub refused: Vec<Rejection>,
    /// Whether this is the sync that follows a (re)connection: it brings what
    /// changed while the device was not connected.
    pub after_connect: bool,
}

impl LiveUpdate {
    fn new(s: &SyncSummary, after_connect: bool) -> LiveUpdate {
        let mut accounts: Vec<String> = Vec::new();
        let mut settings_changed = false;
        for id in &s.pulled_ids {
            if id == rapport_core::settings::SETTINGS_DOC_ID {
                settings_changed = true;
            } else if !accounts.contains(id) {
                accounts.push(id.clone());
            }
        }
        LiveUpdate {
            accounts,
            settings_changed,
            pushed_docs: s.pushed_docs as u64,
            refused: s
                .rejected
                .iter()
                .map(|r| Rejection { document: r.doc.clone(), reason: r.reason.clone() })
                .collect(),
            after_connect,
        }
    }
}

/// Where the live connection is.
#[derive(Debug, uniffi::Enum)]
pub enum LiveStatus {
    /// The connection is open; the sync that catches up starts.
    Connected,
    /// The catch-up sync finished: the replica has everything the server had.
    InSync,
    /// The connection failed or was lost (`message` says why, plainly); the
    /// watch reconnects by itself after `retry_in_ms` milliseconds.
    Reconnecting { message: String, retry_in_ms: u64 },
    /// The watch gave up on an error retrying cannot fix (e.g. `Unauthorized`:
    /// the token was revoked). No callbacks follow; start a new watch once
    /// the cause is fixed.
    Failed { error: RapportError },
}

/// Implemented by the app to hear from a live watch. Callbacks arrive on the
/// watch's own thread, one at a time, not on the UI thread; they may call the
/// `Replica` (the watch does not hold it while calling). An exception thrown
/// by a callback is ignored. After `LiveWatch.stop()` no callback is made.
#[uniffi::export(with_foreign)]
pub trait LiveListener: Send + Sync + std::fmt::Debug {
    /// Changes were applied to the replica (or this device's edits stored).
    fn on_update(&self, update: LiveUpdate) -> Result<(), ListenerError>;
    /// The connection changed state.
    fn on_status(&self, status: LiveStatus) -> Result<(), ListenerError>;
}

/// A running live watch. Stopping it (or dropping the last reference:
/// Kotlin `close()`, Swift/Python release) closes the connection.
#[derive(Debug, uniffi::Object)]
pub struct LiveWatch {
    control: LiveControl,
    shared: Arc<Shared>,
    thread: ThreadId,
}

/// What the watch's thread and its handle share.
#[derive(Debug, Default)]
struct Shared {
    /// Set by `stop()`: no more callbacks.
    silenced: AtomicBool,
    /// Set (and signalled) when the watch's thread has finished.
    finished: Mutex<bool>,
    done: Condvar,
}

impl Shared {
    fn finish(&self) {
        *self.finished.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.done.notify_all();
    }

    /// Calls the listener unless the watch was stopped; what it throws is dropped on purpose.
    fn notify(&self, listener: &dyn LiveListener, call: impl FnOnce(&dyn LiveListener) -> Result<(), ListenerError>) {
        if !self.silenced.load(Ordering::SeqCst) {
            let _ignored = call(listener);
        }
    }
}

/// Marks the watch finished when its thread ends.
struct Finished(Arc<Shared>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.finish();
    }
}

#[uniffi::export]
impl LiveWatch {
    /// Closes the connection and stops all callbacks. Returns once the
    /// connection is closed (at once, unless a sync holds the replica; at
    /// most 10 s). Safe to call more than once, and from a callback.
    pub fn stop(&self) {
        self.shared.silenced.store(true, Ordering::SeqCst);
        self.control.stop();
        if std::thread::current().id() == self.thread {
            return;
        }
        let finished = self.shared.finished.lock().unwrap_or_else(PoisonError::into_inner);
        let _waited = self
            .shared
            .done
            .wait_timeout_while(finished, STOP_WAIT, |finished| !*finished)
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// Sends this device's new edits now instead of within the next 5 s.
    pub fn push_now(&self) {
        self.control.push_now();
    }

    /// Whether the watch still runs (false after `stop()` or `Failed`).
    pub fn is_running(&self) -> bool {
        !*self.shared.finished.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for LiveWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

#[uniffi::export]
impl Replica {
    /// Opens the live connection to the server at `server_url` with the
    /// device `token` and keeps it open: this device's edits are sent within
    /// 5 s (or at `LiveWatch.pushNow()`), other devices' edits are applied as
    /// they land on the server, and `listener` hears which accounts changed.
    /// Returns at once; the connection runs on its own thread until
    /// `LiveWatch.stop()`, reconnecting after failures (see `LiveStatus`).
    /// Keep the returned handle: releasing it stops the watch. Stop the
    /// watch before closing the replica (the watch keeps the file open).
    ///
    /// Throws `InvalidInput` (bad URL), `Unauthorized` (an unusable token) or
    /// `Storage` (this device cannot start another thread). Failures once
    /// running arrive as `LiveStatus`.
    pub fn watch(
        &self,
        server_url: String,
        token: String,
        listener: Arc<dyn LiveListener>,
    ) -> Result<Arc<LiveWatch>, RapportError> {
        let client = Client::new(&server_url, &token)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(cannot_start)?;
        let control = LiveControl::new();
        let shared = Arc::new(Shared::default());
        let options = WatchOptions { control: control.clone(), ..WatchOptions::default() };
        let replica = Arc::clone(&self.inner);
        let on_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("rapport-live".into())
            .spawn(move || {
                let shared = on_thread;
                // Marks the watch finished however the thread ends (a panic included).
                let _finished = Finished(Arc::clone(&shared));
                let result = runtime.block_on(run(&client, replica, &options, listener.as_ref(), &shared));
                if let Err(e) = result {
                    shared.notify(listener.as_ref(), |l| l.on_status(LiveStatus::Failed { error: e.into() }));
                }
            })
            .map_err(cannot_start)?;
        Ok(Arc::new(LiveWatch { control, shared, thread: thread.thread().id() }))
    }
}

/// The watch itself: `watch_reconnecting` with the listener as its ears.
async fn run(
    client: &Client,
    replica: Arc<Mutex<rapport_core::Replica>>,
    options: &WatchOptions,
    listener: &dyn LiveListener,
    shared: &Shared,
) -> Result<(), rapport_client::ClientError> {
    client
        .watch_reconnecting(
            replica,
            options,
            &RetryPolicy::persistent(),
            |event| match event {
                LiveEvent::Connected { .. } => shared.notify(listener, |l| l.on_status(LiveStatus::Connected)),
                LiveEvent::Synced(summary) => {
                    if !summary.is_noop() {
                        shared.notify(listener, |l| l.on_update(LiveUpdate::new(&summary, true)));
                    }
                    shared.notify(listener, |l| l.on_status(LiveStatus::InSync));
                }
                LiveEvent::Update(summary) => {
                    shared.notify(listener, |l| l.on_update(LiveUpdate::new(&summary, false)))
                }
            },
            |e, wait| {
                let status = LiveStatus::Reconnecting {
                    message: e.to_string(),
                    retry_in_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                };
                shared.notify(listener, |l| l.on_status(status));
            },
        )
        .await
}

fn cannot_start(e: std::io::Error) -> RapportError {
    RapportError::Storage {
        message: format!(
            "this device cannot start the live connection ({e}); close other apps or restart the app, then try again"
        ),
    }
}
