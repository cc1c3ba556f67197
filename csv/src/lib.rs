//! Rapport's CSV: accounts with their contacts and deals, as office
//! software writes them, to a plan checked before anything is written; and
//! accounts, contacts, deals and interactions back to CSV. The rules are in
//! docs/CSV.md. The CLI (`rapport import`, `rapport export`) and the desktop
//! app (`POST /api/import`) both use it; it prints nothing (ADR 0027).
//!
//! ```no_run
//! # fn demo(replica: &mut rapport_core::Replica, bytes: &[u8]) -> rapport_csv::Result<()> {
//! let files = rapport_csv::Files { accounts: Some(bytes), ..Default::default() };
//! let plan = rapport_csv::plan(replica, &files, None)?;
//! let duplicates = rapport_csv::duplicates(replica, &plan)?;
//! if plan.errors.is_empty() {
//!     let summary = rapport_csv::apply(replica, plan, None)?;
//!     println!("{} accounts created, {} duplicates to check", summary.accounts.created, duplicates.len());
//! }
//! # Ok(()) }
//! ```
//!
//! One concern per module:
//!
//! * [`detect`]: encoding and delimiter, rows with their row numbers;
//! * [`headers`]: the columns and their English, Ukrainian and Russian names;
//! * `cells`: typed values out of cells (lists, dates, amounts' keys);
//! * `plan`: files → the changes, each checked by core on an in-memory copy;
//! * [`Problem`]: what is wrong with a row, as a code, arguments and English;
//! * `duplicates`: the duplicates an import would make;
//! * [`Summary`]: what an import would do, or did;
//! * `apply`: writing a checked plan;
//! * [`export`]: accounts, contacts, deals and interactions to CSV.

mod apply;
mod cells;
pub mod detect;
mod duplicates;
mod error;
pub mod export;
pub mod headers;
mod plan;
mod problem;
mod progress;
mod summary;

pub use apply::{BATCH, apply};
pub use detect::{Delimiter, Encoding};
pub use duplicates::{Duplicate, Other, Same, find as duplicates};
pub use error::{CsvError, Result};
pub use headers::FileKind;
pub use plan::{AccountPlan, Counts, FileRead, Files, Plan, RowError, Target, plan};
pub use problem::{CODES, Problem};
pub use progress::{Progress, Stage};
pub use summary::Summary;

/// The document field an accounts-file column writes (`city` →
/// `party.address.city`, also under its other names, e.g. `місто`).
pub fn field_path(column: &str) -> Option<&'static str> {
    headers::resolve(headers::FileKind::Accounts, column).and_then(plan::party_path)
}
