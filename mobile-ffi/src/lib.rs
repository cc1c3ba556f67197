//! # rapport-ffi
//!
//! Rapport for Android and iOS (and Python scripts): a thin
//! [uniffi](https://mozilla.github.io/uniffi-rs) layer over `rapport-core`
//! and `rapport-client`. It holds no domain rules: it exports core's types as
//! uniffi Records and Enums, forwards calls, and maps every error to the one
//! [`RapportError`] in one place ([`error`]).
//!
//! * [`Replica`]: the local replica (blocking calls; use a background thread),
//!   with `sync` as an async method (Kotlin `suspend`, Swift `async`).
//! * [`whoami`] / [`open_with_token`]: the user and device a token belongs
//!   to, so the replica writes as the token's user.
//! * [`encryption`]: encrypted replicas (`Replica.openEncrypted`,
//!   [`encrypt_replica`]) with a key from the platform's keystore.
//! * [`SyncListener`]: implemented by the app to follow a sync.
//! * `Replica.watch` ([`live`]): the live connection, with a [`LiveListener`]
//!   told which accounts changed, stopped through its [`LiveWatch`].
//! * `android::initialize` (Android only): the JNI call HTTPS needs first.
//! * Bindings: `scripts/bindings.sh` (library mode); see `docs/MOBILE.md`.

// No `#![allow(unsafe_code)]`: the `unsafe` in uniffi's scaffolding is
// expanded from uniffi's own macros, which the workspace's
// `forbid(unsafe_code)` does not reach; this crate's code has none.

uniffi::setup_scaffolding!();

#[cfg(target_os = "android")]
pub mod android;
pub mod encryption;
pub mod error;
pub mod identity;
pub mod input;
pub mod live;
pub mod replica;
pub mod sync;
pub mod types;

pub use encryption::{encrypt_replica, open_encrypted_with_token, replica_key_length};
pub use error::RapportError;
pub use identity::{TokenOwner, open_with_token, whoami};
pub use input::{
    AccountFilter, LineItemChange, NewAccount, NewConsent, NewContact, NewDeal, NewInteraction, NewLineItem, NewTask,
    NewTie,
};
pub use live::{LiveListener, LiveStatus, LiveUpdate, LiveWatch};
/// Core's value types, exported as they are (see [`types`]).
pub use rapport_core::{
    AccountStatus, Address, Channel, ConsentStatus, DealOutcome, Direction, ForecastCategory, Geo, InteractionKind,
    InteractionStatus, LifecyclePhase, LoyaltyRung, Money, PartyKind, Phone, PhoneKind, Role, StageKind, TaskStatus,
    TieKind, ValueTier,
};
pub use replica::Replica;
pub use sync::{ListenerError, SyncListener, SyncProgress, SyncReport};
pub use types::*;

/// Every settable field path pattern, for help texts and forms: `<id>` stands
/// for a record id and `<key>` for a free key (e.g. `deals.<id>.amount`).
#[uniffi::export]
pub fn settable_fields() -> Vec<String> {
    rapport_core::settable_fields()
}
