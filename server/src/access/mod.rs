//! Who may read and write what: roles, the permission rules, the server-side
//! index of each account's owner/team/territory, the sync protocol's
//! [`rapport_core::sync::Access`] over that index, and per-device rate limits.
//!
//! The rules are core's (`rapport_core::rules`, re-exported by [`policy`]; pure, no storage);
//! `rapport_server_store::access::RulesAccess` applies them to one sync request, here over the SQLite
//! file's storage ([`sql_access`]) inside the database thread's transaction. The table
//! they implement is `docs/adr/0004-access.md`.

mod index;
mod limits;
pub mod policy;
mod sql;

pub(crate) use index::{read_scope, write_index};
pub use limits::RateLimiter;
pub use policy::{Role, Subject};
pub(crate) use sql::sql_access;
