//! One Automerge document per account.
//!
//! [`AccountDoc`] owns the Automerge document and is the only code that writes
//! to it. Reads go through [`AccountDoc::read`] (typed [`Account`]); writes go
//! through an [`Editor`], whose every operation validates its input first,
//! writes, and commits one attributed change, or returns an error and leaves
//! the document exactly as it was.
//!
//! ## Layout (schema version 1, lenses 1–2)
//!
//! ```text
//! ROOT { type: "account", schema: 1, id, created_by, created_at,
//!        deleted_at?, deleted_by?, merged_into?, merged_from: {id: true},
//!        party: { kind, name, industry, website, geo ("lat,lon"), owner, team,
//!                 territory, parent, value_tier, loyalty_rung, lifecycle_phase,
//!                 status, end_reason, ended_on, ended_in_phase, source,
//!                 roles: {role: true}, tags: {tag: true},
//!                 address: {street, city, region, postcode, country},
//!                 demographics: {k: v}, buying_habits: {k: v}, notes: Text },
//!        contacts: {id: {name, job_title, emails: {e: true}, phones: {n: kind},
//!                        preferred_channel, language, active, consents: {id: {...}}}},
//!        deals: {id: {title, amount (int minor units), currency, stage, probability,
//!                     forecast, expected_close, next_step, next_step_due, outcome,
//!                     lost_reason, lost_note, primary_contact, stage_history: {id: {...}},
//!                     // lens 2 (0.2.0), see `lens`:
//!                     "line_item:<id>": {name, quantity, unit_price, discount},
//!                     amount_by_items: {op}}},
//!        interactions: {id: {...}}, tasks: {id: {...}}, ties: {id: {...}},
//!        ladder: {id: {from, to, at, by, reason}}, lifecycle: {id: {...}},
//!        counters: {visits: Counter},
//!        lens?: 2 }
//! ```
//!
//! Every container is created once, by the change that creates its parent,
//! so concurrent edits never race to create the same map. Sets are maps whose
//! keys are the members (add-wins; a removal removes only what it saw).
//! Append-only logs are maps keyed by a fresh UUID (union on merge).

pub(crate) mod access;
pub(crate) mod conflicts;
mod fields;
mod history;
pub(crate) mod lens;
mod ops;
mod read;

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, ChangeHash, LoadOptions, OnPartialLoad, ReadDoc, VerificationMode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::model::{Account, AccountId};
use crate::settings::Settings;

pub use conflicts::{Conflict, ConflictValue};
pub use fields::{FieldPath, settable_fields};
pub use history::{DealFigures, FieldChange, HistoryEntry};
pub use lens::LENS_VERSION;
pub use ops::{
    Editor, HeldInteraction, LineItemChange, NewAccount, NewConsent, NewContact, NewDeal, NewInteraction, NewLineItem,
    NewTask, NewTie,
};

/// The account document schema this build writes and the newest it reads.
///
/// This is the *breaking* version, which 0.1.0 checks (it refuses anything
/// above 1): additive changes of shape raise the document's lens instead
/// ([`LENS_VERSION`], see [`lens`]).
pub const SCHEMA_VERSION: u64 = 1;

/// Who is editing: the user, the device, and the device's Automerge actor id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub user: String,
    pub device: String,
    pub actor: ActorId,
}

impl Author {
    pub fn new(user: impl Into<String>, device: impl Into<String>, actor: ActorId) -> Self {
        Author { user: user.into(), device: device.into(), actor }
    }
}

/// What every change Rapport commits says about itself, as its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeNote {
    pub user: String,
    pub device: String,
    pub op: String,
}

pub(crate) fn commit_options(author: &Author, op: &str, at: OffsetDateTime) -> CommitOptions {
    let note = ChangeNote { user: author.user.clone(), device: author.device.clone(), op: op.to_owned() };
    CommitOptions::default()
        .with_message(serde_json::to_string(&note).unwrap_or_default())
        .with_time(access::millis(at))
}

pub(crate) fn parse_note(message: Option<&str>) -> ChangeNote {
    message.and_then(|m| serde_json::from_str(m).ok()).unwrap_or(ChangeNote {
        user: "unknown".into(),
        device: "unknown".into(),
        op: message.unwrap_or("").to_owned(),
    })
}

/// An account document.
#[derive(Debug, Clone)]
pub struct AccountDoc {
    doc: AutoCommit,
    id: AccountId,
}

impl AccountDoc {
    /// Loads and validates document bytes (a full save, optionally followed by
    /// incremental chunks). Empty, truncated or corrupt bytes, and documents
    /// that are not Rapport accounts, are refused with [`Error::InvalidDocument`].
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<AccountDoc> {
        let doc = load_verified(bytes)?.with_actor(actor);
        Self::from_automerge(doc)
    }

    /// Wraps an Automerge document after checking it is a Rapport account this build can read.
    pub fn from_automerge(doc: AutoCommit) -> Result<AccountDoc> {
        let id = Self::check(&doc)?;
        Ok(AccountDoc { doc, id })
    }

    /// Runs `f` on the account held in `doc` without copying the document
    /// (the server indexes documents it keeps in its cache). `doc` is put back
    /// as `f` leaves it; `Err` if it is not a readable account.
    pub fn with_borrowed<T>(doc: &mut AutoCommit, f: impl FnOnce(&mut AccountDoc) -> T) -> Result<T> {
        let id = Self::check(doc)?;
        /// Gives the document back when `f` returns and when it unwinds (a
        /// panic contained by `untrusted::contain` must not leave `doc` empty).
        struct Lent<'a> {
            home: &'a mut AutoCommit,
            account: AccountDoc,
        }
        impl Drop for Lent<'_> {
            fn drop(&mut self) {
                std::mem::swap(self.home, &mut self.account.doc);
            }
        }
        let mut lent = Lent { account: AccountDoc { doc: std::mem::take(doc), id }, home: doc };
        Ok(f(&mut lent.account))
    }

    /// The account id of `doc`, if it is an account this build can read.
    fn check(doc: &AutoCommit) -> Result<AccountId> {
        // One pass over the root object (this runs for every document a pull brings).
        let root = access::Fields::of(doc, &automerge::ROOT);
        if root.string("type").as_deref() != Some("account") {
            return Err(Error::InvalidDocument("not a Rapport account document".into()));
        }
        let schema = root.int("schema").or_else(|| access::int(doc, &automerge::ROOT, "schema"));
        let found = schema.unwrap_or(0).max(0) as u64;
        if found == 0 {
            return Err(Error::InvalidDocument("account document has no schema version".into()));
        }
        if found > SCHEMA_VERSION {
            return Err(Error::UnsupportedSchema { found, supported: SCHEMA_VERSION });
        }
        let id = root
            .parsed::<AccountId>("id")
            .ok_or_else(|| Error::InvalidDocument("account document has no valid id".into()))?;
        if root.obj("party").is_none() {
            return Err(Error::InvalidDocument("account document has no party".into()));
        }
        Ok(id)
    }

    pub fn id(&self) -> AccountId {
        self.id
    }

    /// Who wrote the newest change (by time among the heads), and when.
    pub(crate) fn last_change(&mut self) -> (String, OffsetDateTime) {
        read::last_change(&mut self.doc)
    }

    /// The typed account.
    pub fn read(&mut self) -> Account {
        read::account(&mut self.doc, self.id)
    }

    /// Starts editing as `author`; each operation on the editor commits one change.
    pub fn edit<'a>(&'a mut self, author: &'a Author, settings: &'a Settings) -> Editor<'a> {
        self.doc.set_actor(author.actor.clone());
        Editor::new(self, author, settings)
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Changes since the last `save`/`save_incremental` call.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Merges another replica's copy of the same account into this one.
    pub fn merge(&mut self, other: &mut AccountDoc) -> Result<()> {
        if other.id != self.id {
            return Err(Error::InvalidMerge(format!("documents {} and {} are different accounts", self.id, other.id)));
        }
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// Applies validated bytes (changes or a whole document) of the same account.
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let mut other = AccountDoc::from_automerge(load_verified(bytes)?)?;
        self.merge(&mut other)
    }

    /// Every field with concurrent values.
    pub fn conflicts(&mut self) -> Vec<Conflict> {
        conflicts::list(&mut self.doc)
    }

    /// How many fields hold concurrent values (`conflicts().len()`, cheaper).
    pub fn conflict_count(&self) -> usize {
        conflicts::walk(&self.doc).conflicts
    }

    /// Every change, oldest first, with who, device, when and which fields.
    pub fn history(&mut self) -> Vec<HistoryEntry> {
        history::list(&mut self.doc)
    }

    /// The history entries of `changes` (changes already in this document),
    /// in the order given, as [`Self::history`] has them: for a server that
    /// appended a few changes, without computing the whole history again.
    pub fn history_of(&mut self, changes: &[ChangeHash]) -> Vec<HistoryEntry> {
        history::entries_of(&mut self.doc, changes)
    }

    /// Deal `deal`'s outcome, amount, currency and probability as they were
    /// at `heads`; `None` if it did not exist then.
    pub fn deal_figures_at(&self, deal: &str, heads: &[ChangeHash]) -> Option<DealFigures> {
        history::deal_figures_at(&self.doc, deal, heads)
    }

    /// Whether the account is deleted or merged into another (hidden from
    /// lists and reports).
    pub fn is_hidden(&self) -> bool {
        let root = access::Fields::of(&self.doc, &automerge::ROOT);
        root.timestamp("deleted_at").is_some() || root.string("merged_into").is_some()
    }

    /// The account as it was when `heads` were the document's heads.
    pub fn at(&mut self, heads: &[ChangeHash]) -> Result<Account> {
        if let Some(missing) = heads.iter().find(|h| self.doc.get_change_by_hash(h).is_none()) {
            return Err(Error::not_found(crate::error::RecordKind::Account, format!("{}@{missing}", self.id)));
        }
        let mut old = self.doc.fork_at(heads)?;
        Ok(read::account(&mut old, self.id))
    }

    /// The underlying Automerge document, for the sync layer and interop.
    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }
}

/// Loads untrusted bytes: refuses empty input and any partial load
/// (Automerge would otherwise keep the valid prefix of a corrupt chunk).
pub(crate) fn load_verified(bytes: &[u8]) -> Result<AutoCommit> {
    if bytes.is_empty() {
        return Err(Error::InvalidDocument("no bytes".into()));
    }
    crate::untrusted::contain("document bytes", || {
        let options =
            LoadOptions::new().on_partial_load(OnPartialLoad::Error).verification_mode(VerificationMode::Check);
        let mut doc = AutoCommit::load_with_options(bytes, options)
            .map_err(|e| Error::InvalidDocument(format!("cannot decode Automerge data ({e})")))?;
        if doc.document().get_heads().is_empty() {
            return Err(Error::InvalidDocument("document holds no changes".into()));
        }
        Ok(doc)
    })
}
