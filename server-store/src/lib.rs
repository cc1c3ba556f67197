//! # rapport-server-store
//!
//! The server's directory (users, teams, territories, devices and their
//! tokens) and its audit log behind backend-neutral traits,
//! [`DirectoryStore`] and [`AuditStore`], so the same operations run on the
//! server's SQLite file and on PostgreSQL (issue 15; ADRs
//! `docs/adr/0026-directory-store.md` and `docs/adr/0028-audit-store.md`),
//! and the sync protocol's access rules over any storage
//! ([`access::RulesAccess`] over an [`access::AccessStore`]; ADR
//! `docs/adr/0030-access-store.md`).
//!
//! This crate holds what every backend shares: the trait, the types it
//! speaks, the one error type, the rules that are not storage (name
//! validation, role parsing, the built-in admin) and device tokens. It knows
//! no SQL: the SQLite implementation lives in the server
//! (`server/src/db/users.rs`), the PostgreSQL one in `rapport-store-postgres`.
//!
//! It also holds the projection of an account into the reporting index's
//! rows ([`report_rows`], ADR `docs/adr/0033-reports-on-postgres.md`),
//! pure code both backends write with their own SQL.
//!
//! With the `conformance` feature, `conformance`, `audit_conformance`,
//! `access_conformance` and `report_conformance` are the test suites every
//! backend runs, instantiated with `directory_conformance_tests!`,
//! `audit_conformance_tests!`, `access_conformance_tests!` and
//! `report_conformance_tests!`.

pub mod access;
#[cfg(feature = "conformance")]
pub mod access_conformance;
pub mod audit;
#[cfg(feature = "conformance")]
pub mod audit_conformance;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
pub mod field_changes;
#[cfg(feature = "conformance")]
pub mod report_conformance;
pub mod report_rows;
pub mod report_sql;
pub mod rules;
mod store;
pub mod token;
mod types;

pub use audit::{ActedBy, AdminAction, AdminActionEntry, AuditEntry, AuditStore, Author, Recorded};
pub use error::AdminError;
pub use rapport_core::rules::Role;
pub use store::DirectoryStore;
pub use token::TokenHash;
pub use types::{Bootstrap, DeviceInfo, NewDevice, Principal, Subject, UserChange, UserInfo, WipeInfo, WipeReport};
