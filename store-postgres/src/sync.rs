//! Sync requests on PostgreSQL as a server node handles them: the device's
//! current rules, its actor id bound, the protocol run through the access
//! rules, the audit, what the device holds, and the COMMIT: one request in
//! a transaction of its own ([`PgLog::sync_request`]), or a group of them
//! in savepoints of one transaction with one COMMIT
//! ([`PgLog::sync_group`], group commit). The SQLite server does the same
//! on its database thread (`server/src/db/worker.rs`, `sync_one`).

use rapport_core::sync::{HandleStats, SyncRequest, SyncResponse, handle};
use rapport_server_store::access::{AccessStore, RulesAccess};
use rapport_server_store::{Author, Principal};

use crate::PgError;
use crate::log::PgLog;
use crate::transaction::PgTransaction;

/// A request's answer: the response and what it did.
pub type SyncAnswer = Result<(SyncResponse, HandleStats), PgError>;

impl PgLog {
    /// Handles one sync request of `principal`, committed before it
    /// returns: only an `Ok` may be answered to the device. A revoked
    /// device is [`PgError::Revoked`], a request whose actor id is bound
    /// to another device [`PgError::ForeignActor`]; nothing is stored then.
    pub fn sync_request(
        &self,
        principal: &Principal,
        request: &SyncRequest,
        max_doc_bytes: u64,
    ) -> Result<(SyncResponse, HandleStats), PgError> {
        let mut tx = self.begin()?;
        let answer = one(&mut tx, principal, request, max_doc_bytes)?;
        tx.commit()?;
        Ok(answer)
    }

    /// Handles several sync requests in one transaction, each in a
    /// savepoint of its own, and commits once. A request refused on its
    /// own (revoked, a foreign actor id, rules that cannot be read) is
    /// rolled back to its savepoint and answered with its error; the
    /// others' changes stay. The outer `Err` (the connection lost, the
    /// COMMIT's outcome unknown) means no answer may be given as an
    /// acknowledgement: every request of the group retries.
    pub fn sync_group(
        &self,
        requests: &[(&Principal, &SyncRequest)],
        max_doc_bytes: u64,
    ) -> Result<Vec<SyncAnswer>, PgError> {
        let mut tx = self.begin()?;
        let mut answers = Vec::with_capacity(requests.len());
        for (principal, request) in requests {
            tx.savepoint()?;
            match one(&mut tx, principal, request, max_doc_bytes) {
                Ok(answer) => {
                    tx.release_savepoint()?;
                    answers.push(Ok(answer));
                }
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => {
                    tx.rollback_to_savepoint()?;
                    answers.push(Err(e));
                }
            }
        }
        tx.commit()?;
        Ok(answers)
    }
}

/// One request inside transaction `tx`.
fn one(
    tx: &mut PgTransaction,
    principal: &Principal,
    request: &SyncRequest,
    max_doc_bytes: u64,
) -> Result<(SyncResponse, HandleStats), PgError> {
    let store = tx.access_store()?;
    let subject = store.device_subject(principal.device_id)?.ok_or(PgError::Revoked)?;
    let access = RulesAccess::new(store, subject, principal.device_id, request.after, max_doc_bytes)
        .healing(request.v2.as_ref().is_some_and(|ext| ext.healing));
    if !access.bind_request_actor(&request.actor)? {
        return Err(PgError::ForeignActor);
    }
    tx.set_author(Some(Author { user_id: principal.user_id, device_id: principal.device_id }));
    let answer = handle(tx, &access, request)?;
    tx.record_held(principal.device_id, &answer.0)?;
    Ok(answer)
}
