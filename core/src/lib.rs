//! # rapport-core
//!
//! Rapport's CRM records as Automerge CRDT documents, with a local SQLite
//! replica. This crate knows records, merging, conflicts, history and local
//! storage. It knows nothing of HTTP, servers or FFI.
//!
//! ```
//! use rapport_core::{NewAccount, Replica, DeviceIdentity};
//!
//! # fn main() -> Result<(), rapport_core::Error> {
//! let dir = tempfile::tempdir().unwrap();
//! let mut replica = Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new("ana", "ana-phone"))?;
//! let id = replica.create_account(&NewAccount::new("Acme Oy"))?;
//! replica.edit(id, |e| e.set_field("party.address.city", "Tampere"))?;
//! let account = replica.account(id)?;
//! assert_eq!(account.party.address.city.as_deref(), Some("Tampere"));
//! # Ok(()) }
//! ```
//!
//! * [`AccountDoc`] is one account's document: validated operations through
//!   an [`Editor`], [`AccountDoc::read`] to a typed [`Account`], conflicts,
//!   history, merge.
//! * [`Replica`] stores documents durably in SQLite with a materialized index
//!   for filtered lists and full-text search.
//! * [`SettingsDoc`] holds pipeline stages and reason catalogues.

pub mod doc;
mod error;
pub mod matching;
pub mod model;
mod parallel;
pub mod replica;
pub mod rules;
pub mod serde_time;
pub mod settings;
pub mod sync;
pub mod untrusted;

pub use automerge::{ActorId, ChangeHash};
pub use doc::{
    AccountDoc, Author, Conflict, ConflictValue, DealFigures, Editor, FieldPath, HeldInteraction, HistoryEntry,
    LENS_VERSION, LineItemChange, NewAccount, NewConsent, NewContact, NewDeal, NewInteraction, NewLineItem, NewTask,
    NewTie, SCHEMA_VERSION, settable_fields,
};
pub use error::{Error, KeyProblem, RecordKind, Result};
pub use model::*;
pub use replica::{
    AccountFilter, AccountSummary, DeviceIdentity, Directory, DuplicateGroup, DuplicateReason, Encryption, FieldChange,
    Imported, NameKind, PushPlan, RAW_KEY_LEN, Reassignment, RefusedEdit, RefusedEditId, Replica, ReplicaKey,
    SharedKey, SyncLimits, SyncReport, Unsynced,
};
pub use settings::{ReasonCatalogue, Settings, SettingsDoc, Stage};
