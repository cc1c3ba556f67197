//! The sync protocol's [`Access`] for one request, over any storage
//! (ADR `docs/adr/0030-access-store.md`): scoping from the accounts' scope
//! index, what the device holds, actor binding, and write rules judged on
//! the state each pushed change was based on (causal permission).
//!
//! The rules are core's (`rapport_core::rules`, shared with the devices)
//! and their application is here, once; a backend gives only the few reads
//! and writes of [`AccessStore`], inside the request's transaction.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use automerge::{AutoCommit, Change, ChangeHash};
use rapport_core::SettingsDoc;
use rapport_core::rules::{AccountScope, changed_fields};
use rapport_core::sync::{Access, AccessError, Verdict};

use crate::Subject;

const SETTINGS: &str = rapport_core::settings::SETTINGS_DOC_ID;

/// What the access rules read and write, inside the request's transaction.
pub trait AccessStore {
    /// The backend's own error; the request fails as a whole on it.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The indexed scope of an account, or `None` if there is no such account.
    fn account_scope(&self, doc: &str) -> Result<Option<AccountScope>, Self::Error>;

    /// What the device holds of `doc`: from which log position it holds it,
    /// and from which position it was told it left its scope (`None`: the
    /// device was never sent it).
    fn held(&self, device_id: i64, doc: &str) -> Result<Option<(i64, Option<i64>)>, Self::Error>;

    /// The device an actor id is bound to.
    fn actor_device(&self, actor: &[u8]) -> Result<Option<i64>, Self::Error>;

    /// Binds an actor id to a device unless it is bound already; returns
    /// whether it is bound to that device now (`false`: another device
    /// holds it, e.g. one whose request bound it first on another node).
    fn bind_actor(&self, actor: &[u8], device_id: i64) -> Result<bool, Self::Error>;

    /// The bytes of changes a document holds (0 if it does not exist).
    fn document_bytes(&self, doc: &str) -> Result<u64, Self::Error>;

    /// The current rules of a device's user (`None`: revoked or deleted).
    fn device_subject(&self, device_id: i64) -> Result<Option<Subject>, Self::Error>;
}

/// The users whose rules judge relayed changes, by actor id.
type Relayed = HashMap<Vec<u8>, Subject>;

/// A push's actor ids not bound yet, and its relayed ones.
type Actors = (BTreeSet<Vec<u8>>, Relayed);

/// One sync request's access rules over a backend's [`AccessStore`].
#[derive(Debug)]
pub struct RulesAccess<S> {
    store: S,
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

impl<S: AccessStore> RulesAccess<S> {
    pub fn new(store: S, subject: Subject, device_id: i64, client_after: u64, max_doc_bytes: u64) -> Self {
        RulesAccess { store, subject, device_id, client_after, max_doc_bytes, healing: false }
    }

    /// A request of a device that heals a restored server: changes by actor
    /// ids bound to other devices are relayed (judged with the rules of
    /// their device's user, as when that device pushed them), and actor ids
    /// other than the request's are not bound to this device.
    pub fn healing(mut self, healing: bool) -> Self {
        self.healing = healing;
        self
    }

    /// Binds the request's actor id to this device on first use. `false`:
    /// the actor id is bound to another device (a replayed or forged
    /// request), and the request must be refused.
    pub fn bind_request_actor(&self, actor: &[u8]) -> Result<bool, S::Error> {
        if actor.is_empty() {
            return Ok(true);
        }
        match self.store.actor_device(actor)? {
            Some(device) => Ok(device == self.device_id),
            None => self.store.bind_actor(actor, self.device_id),
        }
    }

    fn check_size(&self, doc: &str, changes: &[Change]) -> Result<Verdict, AccessError> {
        let stored = self.store.document_bytes(doc).map_err(|e| failed(doc, e))?;
        let pushed: u64 = changes.iter().map(|c| c.raw_bytes().len() as u64).sum();
        let total = stored + pushed;
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
            match self.store.actor_device(&actor).map_err(|e| failed(doc, e))? {
                Some(device) if device != self.device_id => {
                    if !self.healing {
                        return Ok(Err(format!(
                            "document {doc}: a change is made with an actor id bound to another device"
                        )));
                    }
                    // A revoked device's or deleted user's changes are judged
                    // with the relaying user's rules.
                    let author = self.store.device_subject(device).map_err(|e| failed(doc, e))?;
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
        let scope = match self.store.account_scope(doc).map_err(|e| failed(doc, e))? {
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

impl<S: AccessStore> Access for RulesAccess<S> {
    fn may_read(&self, doc: &str) -> Result<bool, AccessError> {
        if doc == SETTINGS || self.subject.sees_everything() {
            return Ok(true);
        }
        match self.store.account_scope(doc).map_err(|e| failed(doc, e))? {
            Some(scope) => Ok(self.subject.may_access(&scope)),
            None => Ok(false),
        }
    }

    fn holds(&self, doc: &str) -> Result<bool, AccessError> {
        let after = i64::try_from(self.client_after).unwrap_or(i64::MAX);
        Ok(match self.store.held(self.device_id, doc).map_err(|e| failed(doc, e))? {
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
            if !self.store.bind_actor(&actor, self.device_id).map_err(|e| failed(doc, e))? {
                return Ok(Err(format!("document {doc}: a change is made with an actor id bound to another device")));
            }
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
