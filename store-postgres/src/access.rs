//! [`PgAccessStore`]: the access rules' reads and writes on PostgreSQL
//! (`rapport_server_store::access::AccessStore`, ADR
//! `docs/adr/0030-access-store.md`), on the connection of a sync request's
//! transaction ([`crate::PgTransaction::access_store`]), so the rules see
//! what the request has written so far and their writes (actor bindings)
//! commit or roll back with it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use deadpool_postgres::Object;
use rapport_core::rules::AccountScope;
use rapport_server_store::Subject;
use rapport_server_store::access::AccessStore;

use crate::PgError;
use crate::clock::now_millis;
use crate::directory::subject_of;
use crate::log::PgLog;

/// A handle on a sync request's transaction for the access rules.
pub struct PgAccessStore {
    log: PgLog,
    client: Arc<Object>,
    /// The transaction's failure flag: a failed statement here fails its COMMIT.
    failed: Arc<AtomicBool>,
}

impl std::fmt::Debug for PgAccessStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgAccessStore").field("failed", &self.failed.load(Ordering::Acquire)).finish()
    }
}

impl PgAccessStore {
    pub(crate) fn new(log: PgLog, client: Arc<Object>, failed: Arc<AtomicBool>) -> PgAccessStore {
        PgAccessStore { log, client, failed }
    }

    fn call<T, F>(&self, work: impl FnOnce(Arc<Object>) -> F) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        let outcome = self.log.run(work(self.client.clone())).and_then(|done| done);
        if outcome.is_err() {
            self.failed.store(true, Ordering::Release);
        }
        outcome
    }
}

impl AccessStore for PgAccessStore {
    type Error = PgError;

    fn account_scope(&self, doc: &str) -> Result<Option<AccountScope>, PgError> {
        let id = doc.to_owned();
        self.call(|c| async move {
            let get = c.prepare_cached("SELECT owner, team, territory FROM accounts WHERE doc_id = $1").await?;
            let row = c.query_opt(&get, &[&id]).await?;
            Ok(row.map(|r| AccountScope { owner: r.get(0), team: r.get(1), territory: r.get(2) }))
        })
    }

    fn held(&self, device_id: i64, doc: &str) -> Result<Option<(i64, Option<i64>)>, PgError> {
        let id = doc.to_owned();
        self.call(|c| async move {
            let get =
                c.prepare_cached("SELECT since, gone FROM device_docs WHERE device_id = $1 AND doc_id = $2").await?;
            Ok(c.query_opt(&get, &[&device_id, &id]).await?.map(|r| (r.get(0), r.get(1))))
        })
    }

    fn actor_device(&self, actor: &[u8]) -> Result<Option<i64>, PgError> {
        let actor = actor.to_vec();
        self.call(|c| async move {
            let get = c.prepare_cached("SELECT device_id FROM actors WHERE actor = $1").await?;
            Ok(c.query_opt(&get, &[&actor]).await?.map(|r| r.get(0)))
        })
    }

    /// Settled by the database: a device binding the same actor id on
    /// another node at the same moment waits for that transaction, then
    /// finds the binding taken.
    fn bind_actor(&self, actor: &[u8], device_id: i64) -> Result<bool, PgError> {
        let actor = actor.to_vec();
        self.call(|c| async move {
            let bind = c
                .prepare_cached(
                    "INSERT INTO actors (actor, device_id, bound_at) VALUES ($1, $2, $3) ON CONFLICT (actor) DO NOTHING",
                )
                .await?;
            if c.execute(&bind, &[&actor, &device_id, &now_millis()]).await? == 1 {
                return Ok(true);
            }
            let get = c.prepare_cached("SELECT device_id FROM actors WHERE actor = $1").await?;
            let bound: Option<i64> = c.query_opt(&get, &[&actor]).await?.map(|r| r.get(0));
            Ok(bound == Some(device_id))
        })
    }

    fn document_bytes(&self, doc: &str) -> Result<u64, PgError> {
        let id = doc.to_owned();
        self.call(|c| async move {
            let get = c.prepare_cached("SELECT bytes FROM documents WHERE id = $1").await?;
            let bytes: Option<i64> = c.query_opt(&get, &[&id]).await?.map(|r| r.get(0));
            Ok(bytes.unwrap_or(0).max(0) as u64)
        })
    }

    fn device_subject(&self, device_id: i64) -> Result<Option<Subject>, PgError> {
        self.call(|c| async move { subject_of(&c, device_id).await })
    }
}
