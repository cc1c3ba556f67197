//! # rapport-store-postgres
//!
//! The server's change log on PostgreSQL, behind core's
//! [`rapport_core::sync::ServerStore`], for a fleet of stateless server
//! nodes on one database (issue 15).
//!
//! * [`PgLog::connect`] opens a pool (`tokio-postgres` + `deadpool-postgres`)
//!   and applies the numbered migrations once, under an advisory lock.
//! * [`PgLog::begin`] gives a [`PgTransaction`], the `ServerStore` that
//!   [`rapport_core::sync::handle`] runs on; [`PgTransaction::commit`] is the
//!   only acknowledgement. Log positions are gap-free across nodes (see
//!   `transaction.rs`); inserts are idempotent by change hash.
//! * The API is synchronous, like the trait: the calls block on a small
//!   runtime of the log's own (ADR `docs/adr/0017-postgres-backend.md`).
//! * [`PgLog::directory`] gives the server's directory (users, teams,
//!   territories, devices and tokens) in the same database, as
//!   `rapport_server_store`'s `DirectoryStore`, on the log's pool
//!   (ADR `docs/adr/0026-directory-store.md`).
//! * [`PgLog::audit`] gives the audit log (`rapport_server_store`'s
//!   `AuditStore`); a transaction given an author with
//!   [`PgTransaction::set_author`] audits the changes it logs
//!   (ADR `docs/adr/0028-audit-store.md`).
//! * [`PgTransaction::access_store`] gives the access rules
//!   (`rapport_server_store::access::RulesAccess`) their storage on the
//!   request's transaction; appends keep the accounts' scope index, and
//!   [`PgTransaction::record_held`] what each device holds (ADR
//!   `docs/adr/0030-access-store.md`).
//! * [`PgLog::reader`] gives a read-only snapshot ([`PgReader`]) that the
//!   server's report queries run in, their rows returned as SQLite gives
//!   them (ADR `docs/adr/0035-reports-served-from-postgres.md`).
//! * [`PgLog::watch_head`] follows the log's head as every node commits
//!   (LISTEN/NOTIFY on a connection of its own, re-read after every
//!   reconnect, polled as a fallback; ADR `docs/adr/0031-head-watch.md`).
//! * [`PgLog::compact`] folds documents into snapshots and prunes their
//!   change rows, each document once however many nodes run it
//!   (`FOR UPDATE SKIP LOCKED`; ADR `docs/adr/0032-compaction-once.md`).
//! * [`PgLog::import`] loads a whole deployment (a SQLite server's, for
//!   `rapport-server migrate --from-data`) into an empty database, keeping
//!   ids and log positions ([`import`]; ADR `docs/adr/0029-migrate-to-postgres.md`).
//! * [`PgLog::report_node`] and [`PgLog::nodes`]: which release every node
//!   serving from the database runs (ADR `docs/adr/0037-rolling-upgrades.md`).
//! * [`cluster::TestDatabase`] makes throwaway databases for tests, and
//!   [`cluster::ReplicatedPair`] a primary with a synchronous standby for
//!   failover tests (ADR `docs/adr/0025-postgres-failover.md`).
//!
//! ```no_run
//! use rapport_core::sync::ServerStore;
//! use rapport_store_postgres::{PgLog, PgOptions};
//!
//! let log = PgLog::connect("postgres://rapport@127.0.0.1:5432/rapport", PgOptions::default())?;
//! let mut tx = log.begin()?;
//! let head = tx.head()?;
//! tx.commit()?;
//! # let _ = head;
//! # Ok::<(), rapport_store_postgres::PgError>(())
//! ```

mod access;
mod audit;
mod clock;
pub mod cluster;
mod compact;
mod directory;
mod error;
pub mod import;
mod log;
mod migrate;
mod nodes;
mod read;
mod reports;
mod sync;
mod transaction;
mod watch;

pub use access::PgAccessStore;
pub use audit::PgAudit;
pub use compact::Compacted;
pub use directory::PgDirectory;
pub use error::PgError;
pub use import::PgImport;
pub use log::{PgLog, PgOptions};
pub use migrate::schema_version;
pub use nodes::NodeSeen;
pub use read::PgReader;
pub use sync::SyncAnswer;
pub use transaction::PgTransaction;
pub use watch::{HeadWatch, WATCH_APPLICATION};
