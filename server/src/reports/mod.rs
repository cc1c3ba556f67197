//! What managers read (issue 6): figures over the merged records, per team,
//! rep, territory and period, from a reporting index the server keeps beside
//! the documents.
//!
//! * [`index`] rewrites one account's `rpt_*` rows from its typed
//!   [`rapport_core::Account`] in the transaction of every accepted change
//!   (and backfills accounts stored before the index existed).
//! * [`filter`] parses and checks the query string and turns the caller's
//!   scope (the rules of [`crate::access`]) into SQL.
//! * [`queries`] is every report as SQL over the index, written once and
//!   run through [`sql::ReportDb`] on SQLite or PostgreSQL (ADR 0035).
//! * [`drill`] lists the deals, accounts or interactions behind a figure.
//! * [`routes`] serves them under `/v1/reports/…` as JSON, CSV or XLSX
//!   (`sheet`: amounts in major units, instants as times), with the
//!   account history, the live events stream and the OpenAPI description.
//!
//! `docs/adr/0005-reports.md` records the decisions.

pub(crate) mod changes;
mod csv;
pub(crate) mod drill;
pub mod filter;
pub(crate) mod index;
pub mod known;
pub mod queries;
pub(crate) mod routes;
pub(crate) mod settings;
mod sheet;
pub mod sql;
mod xlsx;

#[doc(hidden)]
pub use changes::{Appended, write_field_changes};
pub use filter::{BadFilter, Filter};
pub use index::{rebuild_rollups, write_report_rows};
pub use queries::{REPORTS, Table};

#[cfg(test)]
mod tests;
