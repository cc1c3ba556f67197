//! Group commit on a PostgreSQL node (issue 15): sync requests that push
//! changes and arrive together share one transaction and one COMMIT
//! ([`PgLog::sync_group`]), each in a savepoint of its own, so that a
//! request refused on its own leaves the others' changes in place. None is
//! answered before the COMMIT returns. One thread per node runs the groups,
//! as the SQLite server's database thread does; requests that push nothing
//! do not wait for it and run in parallel, each in a transaction of its own.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use rapport_core::sync::{HandleStats, SyncRequest, SyncResponse};
use rapport_store_postgres::PgLog;
use tokio::sync::oneshot;

use crate::auth::Principal;
use crate::error::{ApiError, STORAGE_RETRY_AFTER};
use crate::metrics::Metrics;

/// Most requests in one group (as the SQLite server's `max_batch`).
const MAX_GROUP: usize = 256;
/// Requests that may wait for the committer; beyond, a retryable 503.
const QUEUE: usize = 4096;

struct Job {
    principal: Principal,
    request: SyncRequest,
    reply: oneshot::Sender<Result<(SyncResponse, HandleStats), ApiError>>,
}

/// The node's committer: a queue and the thread that empties it a group at a time.
#[derive(Debug)]
pub(super) struct GroupCommitter {
    jobs: SyncSender<Job>,
}

impl GroupCommitter {
    /// Starts the committer's thread; it ends once the committer is dropped
    /// and every queued request has been answered.
    pub(super) fn start(log: PgLog, max_doc_bytes: u64, metrics: Arc<Metrics>) -> std::io::Result<GroupCommitter> {
        let (jobs, queue) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("rapport-pg-commit".into())
            .spawn(move || run(&log, &queue, max_doc_bytes, &metrics))?;
        Ok(GroupCommitter { jobs })
    }

    /// Handles `request` in the next group; resolves once the group is committed.
    pub(super) async fn sync(
        &self,
        principal: Principal,
        request: SyncRequest,
    ) -> Result<(SyncResponse, HandleStats), ApiError> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job { principal, request, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("the node's commit queue is full; the client retries");
                return Err(ApiError::ServerUnavailable { retry_after: STORAGE_RETRY_AFTER });
            }
            Err(TrySendError::Disconnected(_)) => return Err(ApiError::Unavailable),
        }
        answer.await.map_err(|_| {
            tracing::error!("the commit thread ended without answering a request");
            ApiError::Internal
        })?
    }
}

fn run(log: &PgLog, queue: &Receiver<Job>, max_doc_bytes: u64, metrics: &Metrics) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let requests: Vec<(&Principal, &SyncRequest)> = group.iter().map(|j| (&j.principal, &j.request)).collect();
        let answers = log.sync_group(&requests, max_doc_bytes);
        metrics.set_pool(log.pool_status());
        match answers {
            Ok(answers) => {
                let stats = answers.iter().filter_map(|a| a.as_ref().ok()).map(|(_, s)| s);
                let (changes, rejected) =
                    stats.fold((0, 0), |(c, r), s| (c + s.changes_stored as u64, r + s.docs_rejected as u64));
                metrics.batch_committed(group.len(), changes, rejected, 0);
                for (job, answer) in group.into_iter().zip(answers) {
                    let _ = job.reply.send(answer.map_err(ApiError::from));
                }
            }
            Err(e) => {
                // `From<PgError>` logs it once; every request of the group gets the same answer.
                let failed = ApiError::from(e);
                for job in group {
                    let _ = job.reply.send(Err(same_as(&failed)));
                }
            }
        }
    }
}

/// The answer of a failed group again, for each of its requests: retry
/// later (nothing of the group was stored, or its COMMIT's outcome is
/// unknown), or a fault of the server.
fn same_as(failed: &ApiError) -> ApiError {
    match failed {
        ApiError::ServerUnavailable { retry_after } => ApiError::ServerUnavailable { retry_after: *retry_after },
        _ => ApiError::Internal,
    }
}
