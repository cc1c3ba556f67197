//! The sync protocol's [`Access`] for one request, over the server's SQLite
//! transaction: scoping from the `accounts` index, what the device holds
//! from `device_docs`, actor binding from `actors`, and write rules judged
//! on the state each pushed change was based on (causal permission).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use automerge::{AutoCommit, Change, ChangeHash};
use rapport_core::SettingsDoc;
use rapport_core::rules::{AccountScope, changed_fields};
use rapport_core::sync::{Access, AccessError, Verdict};
use rapport_server_store::DirectoryStore;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Subject, read_scope};
use crate::db::DbError;
use crate::db::users::SqliteDirectory;

const SETTINGS: &str = rapport_core::settings::SETTINGS_DOC_ID;

/// The users whose rules judge relayed changes, by actor id.
type Relayed = std::collections::HashMap<Vec<u8>, Subject>;

/// A push's actor ids not bound yet, and its relayed ones.
type Actors = (BTreeSet<Vec<u8>>, Relayed);

/// One sync request's access rules, evaluated inside its savepoint.
pub(crate) struct SqlAccess<'a> {
    conn: &'a Connection,
    subject: Subject,
    device_id: i64,
    /// The request's resume point: documents sent in a response are held once
    /// the device asks from a position at or past that response's `after`.
    client_after: u64,
    max_doc_bytes: u64,
    /// The device heals a restored server (protocol version 2): it may relay
    /// changes made by other devices (ADR 0011).
    healing: bool,
}

impl<'a> SqlAccess<'a> {
    pub(crate) fn new(
        conn: &'a Connection,
        subject: Subject,
        device_id: i64,
        client_after: u64,
        max_doc_bytes: u64,
    ) -> Self {
        SqlAccess { conn, subject, device_id, client_after, max_doc_bytes, healing: false }
    }

    /// A request of a device that heals a restored server: changes by actor
    /// ids bound to other devices are relayed (judged with the rules of
    /// their device's user, as when that device pushed them), and actor ids
    /// other than the request's are not bound to this device.
    pub(crate) fn healing(mut self, healing: bool) -> Self {
        self.healing = healing;
        self
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

    /// Actor ids of `changes` not bound yet, and the users whose rules judge
    /// relayed changes (by actor id); refuses changes by another device's
    /// actor unless the device heals a restored server.
    fn check_actors(&self, doc: &str, changes: &[Change]) -> Result<Result<Actors, String>, AccessError> {
        let mut unbound = BTreeSet::new();
        let mut relayed = Relayed::new();
        for change in changes {
            if settings_genesis().contains(&change.hash()) {
                continue;
            }
            let actor = change.actor_id().to_bytes().to_vec();
            if unbound.contains(&actor) || relayed.contains_key(&actor) {
                continue;
            }
            match self.actor_device(&actor).map_err(|e| failed(doc, e))? {
                Some(device) if device != self.device_id => {
                    if !self.healing {
                        return Ok(Err(format!(
                            "document {doc}: a change is made with an actor id bound to another device"
                        )));
                    }
                    // A revoked device's or deleted user's changes are judged
                    // with the relaying user's rules.
                    let author = SqliteDirectory::new(self.conn)
                        .subject(device)
                        .map_err(DbError::from)
                        .map_err(|e| failed(doc, e))?;
                    relayed.insert(actor, author.unwrap_or_else(|| self.subject.clone()));
                }
                Some(_) => {}
                // While healing, only the request's own actor id (bound
                // before the push) is bound to this device.
                None if self.healing => {}
                None => {
                    unbound.insert(actor);
                }
            }
        }
        Ok(Ok((unbound, relayed)))
    }

    /// A device relays only accounts in its own user's scope (as the server
    /// holds them, or as pushed for one it lacks): the authors' rules never
    /// open an account to a relaying user who may not see it (ADR 0011).
    fn check_relay_scope(&self, doc: &str, after: &AutoCommit, relayed: &Relayed) -> Result<Verdict, AccessError> {
        if relayed.is_empty() || self.subject.sees_everything() {
            return Ok(Ok(()));
        }
        let scope = match read_scope(self.conn, doc).map_err(|e| failed(doc, e))? {
            Some(stored) => stored,
            None => AccountScope::of(after, None),
        };
        Ok(if self.subject.may_access(&scope) {
            Ok(())
        } else {
            Err(format!("document {doc}: the account is not in this user's scope"))
        })
    }

    /// Whose rules judge `change`: its device's user when relayed, else the requester.
    fn judge<'s>(&'s self, relayed: &'s Relayed, change: &Change) -> &'s Subject {
        if relayed.is_empty() {
            return &self.subject;
        }
        relayed.get(&change.actor_id().to_bytes().to_vec()).unwrap_or(&self.subject)
    }

    /// Judges every change on the state it was based on (causal permission),
    /// with the rules core shares with the devices.
    fn check_account(&self, doc: &str, after: &AutoCommit, changes: &[Change], relayed: &Relayed) -> Verdict {
        // Diffing needs a mutable document: copied only if a rule asks for it.
        let mut copy: Option<AutoCommit> = None;
        let mut fields = |before: &[ChangeHash], at: &[ChangeHash]| {
            changed_fields(copy.get_or_insert_with(|| after.clone()), before, at)
        };
        for change in changes {
            let subject = self.judge(relayed, change);
            if subject.sees_everything() {
                continue;
            }
            subject.check_account_change(after, change, &mut fields).map_err(|r| format!("document {doc}: {r}"))?;
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
        let (unbound, relayed) = match self.check_actors(doc, changes)? {
            Ok(found) => found,
            Err(reason) => return Ok(Err(reason)),
        };
        if doc == SETTINGS {
            // Relayed settings changes must be the relaying user's to make too.
            let refusal = self.subject.check_settings_change().err().or_else(|| {
                changes
                    .iter()
                    .filter(|c| !relayed.is_empty() && !settings_genesis().contains(&c.hash()))
                    .find_map(|c| self.judge(&relayed, c).check_settings_change().err())
            });
            if let Some(r) = refusal {
                return Ok(Err(format!("document {doc}: {r}")));
            }
        } else {
            if let Err(reason) = self.check_relay_scope(doc, after, &relayed)? {
                return Ok(Err(reason));
            }
            if !(relayed.is_empty() && self.subject.sees_everything())
                && let Err(reason) = self.check_account(doc, after, changes, &relayed)
            {
                return Ok(Err(reason));
            }
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
fn failed(doc: &str, e: impl std::error::Error + Send + Sync + 'static) -> AccessError {
    tracing::error!(error = %e, doc, "storage error while judging a sync request; the request fails");
    AccessError::new(e)
}
