//! # rapport-server-store
//!
//! The server's directory (users, teams, territories, devices and their
//! tokens) behind one backend-neutral trait, [`DirectoryStore`], so the
//! same operations run on the server's SQLite file and on PostgreSQL
//! (issue 15; ADR `docs/adr/0026-directory-store.md`).
//!
//! This crate holds what every backend shares: the trait, the types it
//! speaks, the one error type, the rules that are not storage (name
//! validation, role parsing, the built-in admin) and device tokens. It knows
//! no SQL: the SQLite implementation lives in the server
//! (`server/src/db/users.rs`), the PostgreSQL one in `rapport-store-postgres`.
//!
//! With the `conformance` feature, `conformance` is the one test suite
//! every backend runs, instantiated with `directory_conformance_tests!`.

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
pub mod rules;
mod store;
pub mod token;
mod types;

pub use error::AdminError;
pub use rapport_core::rules::Role;
pub use store::DirectoryStore;
pub use token::TokenHash;
pub use types::{Bootstrap, DeviceInfo, NewDevice, Principal, Subject, UserChange, UserInfo, WipeInfo, WipeReport};
