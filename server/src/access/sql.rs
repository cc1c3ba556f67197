//! The sync protocol's [`Access`] for one request, over the server's SQLite
//! transaction: scoping from the `accounts` index, what the device holds
//! from `device_docs`, actor binding from `actors`, and write rules judged
//! on the state each pushed change was based on (causal permission).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use automerge::{AutoCommit, Change, ChangeHash};
use rapport_core::SettingsDoc;
use rapport_core::rules::changed_fields;
use rapport_core::sync::{Access, AccessError, Verdict};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Subject, read_scope};
use crate::db::DbError;

const SETTINGS: &str = rapport_core::settings::SETTINGS_DOC_ID;

/// One sync request's access rules, evaluated inside its savepoint.
pub(crate) struct SqlAccess<'a> {
    conn: &'a Connection,
    subject: Subject,
    device_id: i64,
    /// The request's resume point: documents sent in a response are held once
    /// the device asks from a position at or past that response's `after`.
    client_after: u64,
    max_doc_bytes: u64,
}

impl<'a> SqlAccess<'a> {
    pub(crate) fn new(
        conn: &'a Connection,
        subject: Subject,
        device_id: i64,
        client_after: u64,
        max_doc_bytes: u64,
    ) -> Self {
        SqlAccess { conn, subject, device_id, client_after, max_doc_bytes }
    }

    /// Binds the request's actor id to this device on first use; refuses an
    /// actor id bound to another device (a replayed or forged request).
    pub(crate) fn bind_request_actor(&self, actor: &[u8]) -> Result<(), DbError> {
        if actor.is_empty() {
            return Ok(());
        }
        match self.actor_device(actor)? {
            Some(device) if device != self.device_id => Err(DbError::ForeignActor),
            Some(_) => Ok(()),
            None => Ok(self.bind(actor)?),
        }
    }

    fn actor_device(&self, actor: &[u8]) -> rusqlite::Result<Option<i64>> {
        self.conn
            .prepare_cached("SELECT device_id FROM actors WHERE actor = ?1")?
            .query_row([actor], |r| r.get(0))
            .optional()
    }

    fn bind(&self, actor: &[u8]) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO actors (actor, device_id, bound_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?
            .execute(params![actor, self.device_id, crate::db::now_millis()])?;
        Ok(())
    }

    fn check_size(&self, doc: &str, changes: &[Change]) -> Result<Verdict, AccessError> {
        let stored: i64 = self
            .conn
            .prepare_cached("SELECT bytes FROM documents WHERE id = ?1")
            .and_then(|mut s| s.query_row([doc], |r| r.get(0)).optional())
            .map_err(|e| failed(doc, e))?
            .unwrap_or(0);
        let pushed: u64 = changes.iter().map(|c| c.raw_bytes().len() as u64).sum();
        let total = stored.max(0) as u64 + pushed;
        if total > self.max_doc_bytes {
            return Ok(Err(format!(
                "document {doc}: {total} bytes of changes exceed the {}-byte document limit",
                self.max_doc_bytes
            )));
        }
        Ok(Ok(()))
    }

    /// Actor ids of `changes` not bound yet; refuses changes by another device's actor.
    fn check_actors(&self, doc: &str, changes: &[Change]) -> Result<Result<BTreeSet<Vec<u8>>, String>, AccessError> {
        let mut unbound = BTreeSet::new();
        for change in changes {
            if settings_genesis().contains(&change.hash()) {
                continue;
            }
            let actor = change.actor_id().to_bytes().to_vec();
            if unbound.contains(&actor) {
                continue;
            }
            match self.actor_device(&actor).map_err(|e| failed(doc, e))? {
                Some(device) if device != self.device_id => {
                    return Ok(Err(format!(
                        "document {doc}: a change is made with an actor id bound to another device"
                    )));
                }
                Some(_) => {}
                None => {
                    unbound.insert(actor);
                }
            }
        }
        Ok(Ok(unbound))
    }

    /// Judges every change on the state it was based on (causal permission),
    /// with the rules core shares with the devices.
    fn check_account(&self, doc: &str, after: &AutoCommit, changes: &[Change]) -> Result<(), String> {
        // Diffing needs a mutable document: copied only if a rule asks for it.
        let mut copy: Option<AutoCommit> = None;
        let mut fields = |before: &[ChangeHash], at: &[ChangeHash]| {
            changed_fields(copy.get_or_insert_with(|| after.clone()), before, at)
        };
        for change in changes {
            self.subject
                .check_account_change(after, change, &mut fields)
                .map_err(|r| format!("document {doc}: {r}"))?;
        }
        Ok(())
    }
}

impl Access for SqlAccess<'_> {
    fn may_read(&self, doc: &str) -> Result<bool, AccessError> {
        if doc == SETTINGS || self.subject.sees_everything() {
            return Ok(true);
        }
        match read_scope(self.conn, doc).map_err(|e| failed(doc, e))? {
            Some(scope) => Ok(self.subject.may_access(&scope)),
            None => Ok(false),
        }
    }

    fn holds(&self, doc: &str) -> Result<bool, AccessError> {
        let row: rusqlite::Result<Option<(i64, Option<i64>)>> = self
            .conn
            .prepare_cached("SELECT since, gone FROM device_docs WHERE device_id = ?1 AND doc_id = ?2")
            .and_then(|mut s| s.query_row(params![self.device_id, doc], |r| Ok((r.get(0)?, r.get(1)?))).optional());
        let after = i64::try_from(self.client_after).unwrap_or(i64::MAX);
        Ok(match row.map_err(|e| failed(doc, e))? {
            Some((since, gone)) => since <= after && gone.is_none_or(|g| after < g),
            None => false,
        })
    }

    fn check_write(
        &self,
        doc: &str,
        _before: Option<&[ChangeHash]>,
        after: &AutoCommit,
        changes: &[Change],
    ) -> Result<Verdict, AccessError> {
        if let Err(reason) = self.check_size(doc, changes)? {
            return Ok(Err(reason));
        }
        let unbound = match self.check_actors(doc, changes)? {
            Ok(unbound) => unbound,
            Err(reason) => return Ok(Err(reason)),
        };
        if doc == SETTINGS {
            if let Err(r) = self.subject.check_settings_change() {
                return Ok(Err(format!("document {doc}: {r}")));
            }
        } else if !self.subject.sees_everything()
            && let Err(reason) = self.check_account(doc, after, changes)
        {
            return Ok(Err(reason));
        }
        for actor in unbound {
            self.bind(&actor).map_err(|e| failed(doc, e))?;
        }
        Ok(Ok(()))
    }
}

/// The changes of the settings genesis every replica starts from (written
/// with a fixed actor id, so they are nobody's to bind).
fn settings_genesis() -> &'static [ChangeHash] {
    static GENESIS: OnceLock<Vec<ChangeHash>> = OnceLock::new();
    GENESIS.get_or_init(|| SettingsDoc::genesis().automerge_mut().get_heads())
}

/// A storage failure while judging: the whole request fails (503 or 507),
/// never a refusal the device would keep.
fn failed(doc: &str, e: rusqlite::Error) -> AccessError {
    tracing::error!(error = %e, doc, "storage error while judging a sync request; the request fails");
    AccessError::new(e)
}
