//! `Replica.sync`: the async sync over rapport-client, and the
//! foreign-implemented `SyncListener` that hears about it.

use std::cell::Cell;
use std::sync::Arc;

use rapport_client::{Client, ClientError, ClientOptions, SyncProgress as ClientProgress, SyncSummary};
use rapport_core::SyncLimits;

use crate::error::RapportError;
use crate::replica::{Replica, lock};
use crate::types::Rejection;

/// Where a running sync is, after each exchange with the server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    /// Exchanges made so far.
    pub round: u64,
    /// Documents with unsynced local edits when the sync started, and now.
    pub unsynced_at_start: u64,
    pub unsynced_now: u64,
    /// Documents pushed and pulled so far.
    pub pushed_docs: u64,
    pub pulled_docs: u64,
    /// Whether the server has more to send.
    pub more: bool,
}

impl From<&ClientProgress> for SyncProgress {
    fn from(p: &ClientProgress) -> Self {
        SyncProgress {
            round: p.round as u64,
            unsynced_at_start: p.unsynced_at_start as u64,
            unsynced_now: p.unsynced_now as u64,
            pushed_docs: p.pushed_docs as u64,
            pulled_docs: p.pulled_docs as u64,
            more: p.more,
        }
    }
}

/// What a finished sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Request/response exchanges made.
    pub rounds: u64,
    /// Documents the server acknowledged as stored.
    pub pushed_docs: u64,
    pub pushed_changes: u64,
    /// Documents received from the server.
    pub pulled_docs: u64,
    pub pulled_changes: u64,
    /// Bytes on the wire, each way.
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Ids of the documents received (account ids, or `settings`), in arrival order.
    pub pulled_ids: Vec<String>,
    /// Edits the server refused in this sync, set aside on this device
    /// (`Replica.refusedEdits()` lists them, to discard or retry). The
    /// device's other edits were sent without them.
    pub refused_edits: u64,
    /// The documents the server refused edits of, with its reason (an account
    /// whose creation was refused is also in `Replica.rejectedDocuments()`).
    pub refused: Vec<Rejection>,
    /// Set when the server said this device was revoked as lost
    /// (`device_wiped`): the replica's files were erased and this `Replica`
    /// is empty and unusable. Drop it and delete the token and anything else
    /// the app keeps for this server. Nothing else in the report moved.
    pub wiped: Option<Wiped>,
}

/// What a remote wipe erased (docs/PROTOCOL.md, "Remote wipe").
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Wiped {
    /// Documents with edits the server never received, and those edits
    /// (with edits set aside after a refusal): lost with the device.
    pub lost_documents: u64,
    pub lost_changes: u64,
    /// Whether the server recorded the wipe (it may have been unreachable).
    pub reported: bool,
}

impl SyncReport {
    /// The report of `s`, which set `refused_edits` edits aside.
    pub(crate) fn new(s: &SyncSummary, refused_edits: u64) -> Self {
        SyncReport {
            rounds: s.rounds as u64,
            pushed_docs: s.pushed_docs as u64,
            pushed_changes: s.pushed_changes as u64,
            pulled_docs: s.pulled_docs as u64,
            pulled_changes: s.pulled_changes as u64,
            bytes_up: s.bytes_up as u64,
            bytes_down: s.bytes_down as u64,
            pulled_ids: s.pulled_ids.clone(),
            refused_edits,
            refused: s
                .rejected
                .iter()
                .map(|r| Rejection { document: r.doc.clone(), reason: r.reason.clone() })
                .collect(),
            wiped: None,
        }
    }
}

/// What a listener may throw. It is ignored: a failing listener never stops a sync.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum ListenerError {
    #[error("{message}")]
    Failed { message: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed { message: e.reason }
    }
}

/// Implemented by the app to follow a sync. Callbacks arrive on a Rust worker
/// thread, not the UI thread. An exception thrown by a callback is ignored.
///
/// `on_progress` runs while the sync holds the replica: calling a `Replica`
/// method from it fails with `Storage`; post to your own thread instead.
/// Exactly one of `on_complete` / `on_error` ends every sync.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync + std::fmt::Debug {
    /// After each exchange with the server.
    fn on_progress(&self, progress: SyncProgress) -> Result<(), ListenerError>;
    /// The sync finished: nothing left to push or pull.
    fn on_complete(&self, report: SyncReport) -> Result<(), ListenerError>;
    /// The sync failed; `sync` throws the matching `RapportError`.
    fn on_error(&self, message: String) -> Result<(), ListenerError>;
}

thread_local! {
    /// Set while a listener callback runs inside a sync on this thread.
    static IN_SYNC_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is inside a sync's listener callback.
pub(crate) fn in_sync_callback() -> bool {
    IN_SYNC_CALLBACK.with(Cell::get)
}

/// Calls the listener, if any; what it throws is dropped on purpose.
fn notify(listener: &Option<Arc<dyn SyncListener>>, call: impl FnOnce(&dyn SyncListener) -> Result<(), ListenerError>) {
    if let Some(l) = listener {
        let _ignored = call(l.as_ref());
    }
}

/// Calls the listener while this thread holds the replica lock, so that a
/// call back into the replica fails instead of deadlocking.
fn notify_holding_replica(
    listener: &Option<Arc<dyn SyncListener>>,
    call: impl FnOnce(&dyn SyncListener) -> Result<(), ListenerError>,
) {
    IN_SYNC_CALLBACK.with(|f| f.set(true));
    notify(listener, call);
    IN_SYNC_CALLBACK.with(|f| f.set(false));
}

#[uniffi::export(async_runtime = "tokio")]
impl Replica {
    /// Pushes local edits to the server at `server_url` and pulls everyone
    /// else's, until nothing is left, authenticating with the device `token`.
    /// Every exchange is committed locally before the next, so an interrupted
    /// sync loses nothing; just sync again.
    ///
    /// Edits the server refuses do not fail the sync: they are set aside on
    /// this device, everything else is sent, and the report says how many
    /// (`refusedEdits`) and why (`refused`).
    ///
    /// Throws `Network` (offline, server down: retry later), `RateLimited`,
    /// `ServerUnavailable`, `ServerStorageFull` (after this sync's own retries), `Unauthorized`
    /// (a revoked token: the data stays), `Server` (also: this app is too old for the server;
    /// its edits stay), `InvalidInput` (bad URL or CA certificate), `UntrustedCertificate`, or
    /// `Storage`. A device revoked as lost does not throw: its data is erased and the report's
    /// `wiped` says so.
    #[uniffi::method(default(ca_cert_pem = None))]
    pub async fn sync(
        self: Arc<Self>,
        server_url: String,
        token: String,
        listener: Option<Arc<dyn SyncListener>>,
        ca_cert_pem: Option<String>,
    ) -> Result<SyncReport, RapportError> {
        let client = Client::with_ca_cert(&server_url, &token, ClientOptions::default(), ca_cert_pem.as_deref());
        let outcome = match client {
            Ok(client) => self.run_sync(client, listener.clone()).await,
            Err(e) => Err(e.into()),
        };
        match &outcome {
            Ok(report) => notify(&listener, |l| l.on_complete(report.clone())),
            Err(e) => notify(&listener, |l| l.on_error(e.to_string())),
        }
        outcome
    }
}

impl Replica {
    async fn run_sync(
        &self,
        client: Client,
        listener: Option<Arc<dyn SyncListener>>,
    ) -> Result<SyncReport, RapportError> {
        let replica = Arc::clone(&self.inner);
        let runtime = tokio::runtime::Handle::current();
        // The client borrows the replica for the whole sync; a std mutex guard
        // cannot cross an await of a `Send` future, so the sync is driven on a
        // blocking thread that holds the lock.
        let task = tokio::task::spawn_blocking(move || -> Result<SyncReport, ClientError> {
            let mut replica = lock(&replica);
            let refused_before = replica.refused_edits()?.len();
            let synced = runtime.block_on(client.sync(&mut replica, SyncLimits::default(), |p| {
                notify_holding_replica(&listener, |l| l.on_progress(p.into()))
            }));
            match synced {
                Ok(summary) => {
                    let set_aside = replica.refused_edits()?.len().saturating_sub(refused_before);
                    Ok(SyncReport::new(&summary, set_aside as u64))
                }
                // The device was revoked as lost: erase, then tell the server.
                Err(ClientError::DeviceWiped { .. }) => {
                    let lost = replica.erase_in_place()?;
                    let reported = runtime.block_on(client.report_wiped(lost)).is_ok();
                    let wiped =
                        Wiped { lost_documents: lost.documents as u64, lost_changes: lost.changes as u64, reported };
                    Ok(SyncReport { wiped: Some(wiped), ..SyncReport::new(&SyncSummary::default(), 0) })
                }
                Err(e) => Err(e),
            }
        });
        match task.await {
            Ok(result) => Ok(result?),
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
}
