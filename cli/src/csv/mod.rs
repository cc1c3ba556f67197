//! `rapport import` and `rapport export`: accounts with their contacts and
//! deals as CSV files the way office software writes them. The rules are in
//! docs/CSV.md; one concern per file:
//!
//! * [`detect`]: encoding and delimiter, rows with their row numbers;
//! * [`headers`]: the columns and their English, Ukrainian and Russian names;
//! * [`cells`]: typed values out of cells (lists, dates, amounts' keys);
//! * [`plan`]: files → the changes, each checked by core on an in-memory copy;
//! * [`duplicates`]: the duplicates an import would make;
//! * [`preview`]: what an import would do (or did), as text or JSON;
//! * [`import`]: writing a checked plan;
//! * [`export`]: accounts, contacts, deals and interactions to files.

mod cells;
mod detect;
mod duplicates;
mod export;
mod headers;
mod import;
mod plan;
mod preview;

use std::io::Write as _;

use rapport_core::Replica;

use crate::args::{ExportArgs, ImportArgs};
use crate::error::{CliError, Result};

/// `rapport import [FILE] [--contacts FILE] [--deals FILE] [--preview] [--json]`.
///
/// Every row of every file is checked first. If any row has an error, the
/// import writes nothing and lists the rows; `--preview` prints the same
/// plan, errors and duplicates and never writes.
pub fn import(replica: &mut Replica, args: &ImportArgs) -> Result<()> {
    let files = plan::Files {
        accounts: args.file.as_deref(),
        contacts: args.contacts.as_deref(),
        deals: args.deals.as_deref(),
        allow_unknown_owner: args.allow_unknown_owner,
    };
    let Some(shown) = files.accounts.or(files.contacts).or(files.deals) else {
        return Err(CliError::Usage(
            "nothing to import: give an accounts file, --contacts FILE or --deals FILE (see docs/CSV.md)".into(),
        ));
    };
    let plan = plan::plan(replica, &files)?;
    let duplicates = duplicates::find(replica, &plan)?;
    if args.preview {
        return preview::print_preview(shown, &plan, &duplicates, args.json);
    }
    if !plan.errors.is_empty() {
        if args.json {
            preview::print_preview(shown, &plan, &duplicates, true)?;
        }
        return Err(CliError::InvalidCsv {
            path: shown.to_path_buf(),
            rows: plan.errors.iter().map(plan::RowError::line).collect(),
        });
    }
    let summary = import::apply(replica, plan)?;
    preview::print_done(shown, &summary, &duplicates, args.json)
}

/// `rapport export [accounts|contacts|deals|interactions] FILE`.
pub fn export(replica: &Replica, args: &ExportArgs) -> Result<()> {
    let (what, path) = match &args.file {
        None => (export::What::Accounts, std::path::PathBuf::from(&args.what)),
        Some(file) => match export::What::parse(&args.what) {
            Some(what) => (what, file.clone()),
            None => {
                return Err(CliError::Usage(format!(
                    "cannot export {:?}: say accounts, contacts, deals or interactions, e.g. `rapport export \
                     contacts contacts.csv`",
                    args.what
                )));
            }
        },
    };
    let n = export::export(replica, what, &path, args.include_deleted, args.excel)?;
    if path.as_os_str() == "-" {
        // The CSV went to standard output; the summary would end up inside it.
        let _ = writeln!(std::io::stderr(), "exported {n} {}", what.as_str());
    } else {
        outln!("exported {n} {} to {}", what.as_str(), path.display());
    }
    Ok(())
}

/// The document field an accounts-file column writes (`city` →
/// `party.address.city`, also under its other names, e.g. `місто`), for
/// `rapport account set`.
pub fn field_path(column: &str) -> Option<&'static str> {
    headers::resolve(headers::FileKind::Accounts, column).and_then(plan::party_path)
}
