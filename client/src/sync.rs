//! The sync loop over HTTP: request, apply, repeat until nothing is left.

use rapport_core::sync::{AckStatus, DocData, Message, SyncRequest, SyncResponse};
use rapport_core::{PushPlan, Replica, SyncLimits, SyncReport};
use serde::Serialize;

use crate::client::Client;
use crate::error::ClientError;

/// Most exchanges one [`Client::sync`] makes before giving up.
pub const MAX_ROUNDS: usize = 10_000;
/// Consecutive exchanges without progress after which a sync gives up.
pub const MAX_IDLE_ROUNDS: usize = 3;

/// Totals of a sync (one or more exchanges).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// Request/response exchanges made.
    pub rounds: usize,
    /// Documents the server acknowledged as stored.
    pub pushed_docs: usize,
    /// Individual changes sent (documents sent whole count in `pushed_snapshots`).
    pub pushed_changes: usize,
    /// Documents sent whole (first push, or the server asked for it).
    pub pushed_snapshots: usize,
    /// Document bytes sent (changes and snapshots, without framing).
    pub pushed_bytes: usize,
    /// Documents received from the server.
    pub pulled_docs: usize,
    pub pulled_changes: usize,
    pub pulled_snapshots: usize,
    pub pulled_bytes: usize,
    /// Bytes on the wire, both ways (encoded messages).
    pub bytes_up: usize,
    pub bytes_down: usize,
    /// Documents the server refused, with its reason. Local edits are kept.
    pub rejected: Vec<RejectedDoc>,
    /// Account ids (or `settings`) received, in the order they arrived.
    pub pulled_ids: Vec<String>,
    /// The server was restored from a backup and lacked what this device
    /// saw: the device announced what it holds and pulled everything again.
    pub server_restored: bool,
    /// Documents the restored server lacked, sent to it whole.
    pub resent_docs: usize,
    /// This device's replica was restored from a device backup: it pulled
    /// everything again under a fresh actor id (ADR 0013).
    pub replica_restored: bool,
    /// Edits the server lacked, rebuilt after that pull and sent.
    pub rebuilt_after_restore: usize,
}

/// A document the server refused to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedDoc {
    pub doc: String,
    pub reason: String,
}

/// Where a running sync is, after each exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    /// Exchanges made so far.
    pub round: usize,
    /// Documents with local changes not yet acknowledged, when the sync started.
    pub unsynced_at_start: usize,
    /// Documents with local changes not yet acknowledged, now.
    pub unsynced_now: usize,
    /// Documents pushed and pulled so far.
    pub pushed_docs: usize,
    pub pulled_docs: usize,
    /// Whether the server said it has more to send.
    pub more: bool,
}

impl SyncSummary {
    /// Whether anything moved in either direction.
    pub fn is_noop(&self) -> bool {
        self.pushed_docs == 0 && self.pulled_docs == 0 && self.rejected.is_empty()
    }

    /// Adds `other`'s totals to these.
    pub fn add(&mut self, other: &SyncSummary) {
        self.rounds += other.rounds;
        self.pushed_docs += other.pushed_docs;
        self.pushed_changes += other.pushed_changes;
        self.pushed_snapshots += other.pushed_snapshots;
        self.pushed_bytes += other.pushed_bytes;
        self.pulled_docs += other.pulled_docs;
        self.pulled_changes += other.pulled_changes;
        self.pulled_snapshots += other.pulled_snapshots;
        self.pulled_bytes += other.pulled_bytes;
        self.bytes_up += other.bytes_up;
        self.bytes_down += other.bytes_down;
        self.rejected.extend(other.rejected.iter().cloned());
        self.pulled_ids.extend(other.pulled_ids.iter().cloned());
        self.server_restored |= other.server_restored;
        self.resent_docs += other.resent_docs;
        self.replica_restored |= other.replica_restored;
        self.rebuilt_after_restore += other.rebuilt_after_restore;
    }

    pub(crate) fn count_request(&mut self, request: &SyncRequest, encoded: usize) {
        self.bytes_up += encoded;
        for d in &request.push {
            let (changes, snapshots, bytes) = sizes(d);
            self.pushed_changes += changes;
            self.pushed_snapshots += snapshots;
            self.pushed_bytes += bytes;
        }
    }

    pub(crate) fn count_response(&mut self, response: &SyncResponse, report: &SyncReport, encoded: usize) {
        self.rounds += 1;
        self.bytes_down += encoded;
        self.pushed_docs += report.pushed_docs;
        self.pulled_docs += report.pulled_docs;
        self.server_restored |= report.heal_started;
        self.resent_docs += report.lacking;
        self.replica_restored |= report.replica_restored;
        self.rebuilt_after_restore += report.rebuilt_after_restore;
        for d in &response.pull {
            let (changes, snapshots, bytes) = sizes(d);
            self.pulled_changes += changes;
            self.pulled_snapshots += snapshots;
            self.pulled_bytes += bytes;
            self.pulled_ids.push(d.doc.clone());
        }
        self.rejected.extend(
            report.rejected.iter().map(|(doc, reason)| RejectedDoc { doc: doc.clone(), reason: reason.clone() }),
        );
    }
}

fn sizes(d: &DocData) -> (usize, usize, usize) {
    let snapshot = d.snapshot.as_ref().map_or(0, Vec::len);
    (d.changes.len(), usize::from(d.snapshot.is_some()), snapshot + d.changes.iter().map(Vec::len).sum::<usize>())
}

/// The next request from the replica, encoded (in protocol version 1 when
/// `v1` is set: the server speaks no later one), with its plan.
pub(crate) fn next_request(
    replica: &mut Replica,
    limits: SyncLimits,
    summary: &mut SyncSummary,
    v1: bool,
) -> Result<(Vec<u8>, PushPlan), ClientError> {
    let (mut request, plan) = replica.sync_request(limits)?;
    if v1 {
        request.v2 = None;
    }
    Ok((encode_request(request, summary), plan))
}

/// Encodes `request` for the wire, counting what it pushes and its size.
fn encode_request(request: SyncRequest, summary: &mut SyncSummary) -> Vec<u8> {
    let message = Message::Request(request);
    let bytes = message.encode();
    if let Message::Request(request) = &message {
        summary.count_request(request, bytes.len());
    }
    bytes
}

/// Whether an exchange changed anything: something stored, pulled, refused,
/// or the pull position moved.
pub(crate) fn made_progress(report: &SyncReport, response: &SyncResponse, position_before: (u64, u64)) -> bool {
    report.pushed_docs > 0
        || report.pulled_docs > 0
        || !report.rejected.is_empty()
        || response.acks.iter().any(|a| a.status != AckStatus::NeedSnapshot)
        || response.after > position_before.1
        || report.heal_started
        || report.announced > 0
        || report.replica_restored
        || report.rebuilt_after_restore > 0
}

impl Client {
    /// Syncs `replica` with the server until nothing is left to push or pull,
    /// calling `progress` after every exchange.
    ///
    /// Every exchange is committed locally before the next one starts, so an
    /// interrupted sync (network loss, Ctrl-C) loses nothing and resumes where
    /// it stopped. The replica is borrowed for the whole call; SQLite work runs
    /// on the calling task between network waits.
    ///
    /// Each exchange is retried under the client's [`crate::RetryPolicy`]; a
    /// full server disk is reported with the number of unsent documents.
    pub async fn sync(
        &self,
        replica: &mut Replica,
        limits: SyncLimits,
        progress: impl FnMut(&SyncProgress),
    ) -> Result<SyncSummary, ClientError> {
        let result = self.sync_rounds(replica, limits, progress).await;
        result.map_err(|e| match e {
            ClientError::ClientTooOld { .. } => e.with_unsent(|| replica.unsynced_work().map_or(0, |u| u.changes)),
            e => e.with_unsent(|| replica.unsynced_count().unwrap_or(0)),
        })
    }

    async fn sync_rounds(
        &self,
        replica: &mut Replica,
        limits: SyncLimits,
        mut progress: impl FnMut(&SyncProgress),
    ) -> Result<SyncSummary, ClientError> {
        let mut summary = SyncSummary::default();
        let unsynced_at_start = replica.unsynced_count()?;
        let mut idle = 0;
        let mut prefetch: Option<Prefetch> = None;
        while summary.rounds < MAX_ROUNDS {
            let position = replica.sync_position()?;
            let (response, received, plan) = match prefetch.take() {
                Some(next) => {
                    let (response, received) = next.response().await?;
                    (response, received, PushPlan::default())
                }
                None => {
                    // The first exchange asks for a small page, so the pipeline
                    // below starts applying while the server prepares the rest.
                    let budget = if summary.rounds == 0 { first_page(limits) } else { limits };
                    let (bytes, plan) = next_request(replica, budget, &mut summary, self.v1_only())?;
                    match self.post_sync_retrying(bytes).await {
                        Ok((response, received)) => (response, received, plan),
                        // A 0.1.0 server: the same request again, in version 1.
                        Err(e) if self.refused_v2(&e) => continue,
                        Err(e) => return Err(e),
                    }
                }
            };
            // While this page is applied (SQLite and Automerge work on this
            // task), the next one travels and the server prepares it.
            if let Some(request) = replica.next_pull(&response, limits) {
                prefetch = Some(Prefetch::start(self, encode_request(request, &mut summary)));
            }
            let report = match replica.sync_apply(&plan, &response) {
                Ok(report) => report,
                // Another handle synced this replica meanwhile (`rapport watch`
                // beside `rapport sync`): nothing was applied; the next
                // exchange asks from the new position and pushes again.
                Err(rapport_core::Error::SyncPositionMoved) => {
                    prefetch = None;
                    // Counted, so that the loop stays bounded by MAX_ROUNDS.
                    summary.rounds += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            summary.count_response(&response, &report, received);
            let unsynced_now = replica.unsynced_count()?;
            progress(&SyncProgress {
                round: summary.rounds,
                unsynced_at_start,
                unsynced_now,
                pushed_docs: summary.pushed_docs,
                pulled_docs: summary.pulled_docs,
                more: report.more,
            });
            if !report.more && unsynced_now == 0 {
                self.refresh_rules(replica).await?;
                self.refresh_directory(replica).await?;
                return Ok(summary);
            }
            if made_progress(&report, &response, position) {
                idle = 0;
            } else {
                idle += 1;
                if idle >= MAX_IDLE_ROUNDS {
                    break;
                }
            }
        }
        Err(ClientError::Stalled { rounds: summary.rounds, unsynced: replica.unsynced_count()? })
    }
}

impl Client {
    /// Stores the rules this device's user writes under, as the server says
    /// now, so that the next edits are judged on the device as the server
    /// would judge them (ADR 0010). Best effort after a finished sync: if the
    /// server cannot say (too old, or unreachable again), the replica keeps
    /// what it knew, and the server judges every push anyway.
    async fn refresh_rules(&self, replica: &mut Replica) -> Result<(), ClientError> {
        match self.rules().await {
            Ok(Some(principal)) if replica.principal() != Some(&principal) => {
                replica.set_principal(Some(&principal))?;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not read this device's rules; edits are judged by the server"),
        }
        Ok(())
    }
}

/// Pull budget of a sync's first exchange: small, so a large pull starts
/// being applied after one short wait instead of one full page.
const FIRST_PAGE_BYTES: u64 = 256 << 10;

fn first_page(limits: SyncLimits) -> SyncLimits {
    SyncLimits { max_pull_bytes: limits.max_pull_bytes.min(FIRST_PAGE_BYTES), ..limits }
}

/// The next page of a pull, requested before the current one is applied.
/// Dropping it (an error while applying) cancels the request.
struct Prefetch {
    task: tokio::task::JoinHandle<Result<(SyncResponse, usize), ClientError>>,
    url: String,
}

impl Prefetch {
    fn start(client: &Client, request: Vec<u8>) -> Prefetch {
        let url = client.endpoint.base().to_owned();
        let client = client.clone();
        Prefetch { task: tokio::spawn(async move { client.post_sync_retrying(request).await }), url }
    }

    async fn response(mut self) -> Result<(SyncResponse, usize), ClientError> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => {
                Err(ClientError::Network { url: self.url.clone(), reason: format!("the request was lost ({e})") })
            }
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Syncs `replica` with `server` using `token` once, with default limits and
/// no progress reporting: the convenience for tests and scripts.
pub async fn sync_once(server: &str, token: &str, replica: &mut Replica) -> Result<SyncSummary, ClientError> {
    Client::new(server, token)?.sync(replica, SyncLimits::default(), |_| {}).await
}
