//! One sync request on PostgreSQL as a server node handles it
//! ([`PgLog::sync_request`]): the device's current rules, its actor id
//! bound, the protocol run through the access rules, the audit, what the
//! device holds, one COMMIT. The SQLite server does the same on its
//! database thread (`server/src/db/worker.rs`, `sync_one`).

use rapport_core::sync::{HandleStats, SyncRequest, SyncResponse, handle};
use rapport_server_store::access::{AccessStore, RulesAccess};
use rapport_server_store::{Author, Principal};

use crate::PgError;
use crate::log::PgLog;

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
        let store = tx.access_store()?;
        let subject = store.device_subject(principal.device_id)?.ok_or(PgError::Revoked)?;
        let access = RulesAccess::new(store, subject, principal.device_id, request.after, max_doc_bytes)
            .healing(request.v2.as_ref().is_some_and(|ext| ext.healing));
        if !access.bind_request_actor(&request.actor)? {
            return Err(PgError::ForeignActor);
        }
        tx.set_author(Some(Author { user_id: principal.user_id, device_id: principal.device_id }));
        let answer = handle(&mut tx, &access, request)?;
        tx.record_held(principal.device_id, &answer.0)?;
        tx.commit()?;
        Ok(answer)
    }
}
