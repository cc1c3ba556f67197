//! `rapport import` and `rapport export`: the commands over rapport-csv
//! (docs/CSV.md), which reads, checks, plans, writes and exports; here are
//! the files, the progress bar and the output:
//!
//! * [`preview`]: what an import would do (or did), as text or JSON;
//! * [`progress`]: the progress bar of a long import or export.

mod preview;
mod progress;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rapport_core::Replica;
use rapport_csv::{CsvError, FileKind, export::What};

use crate::args::{ExportArgs, ImportArgs};
use crate::error::{CliError, Result};
use progress::Bar;

/// `rapport import [FILE] [--contacts FILE] [--deals FILE] [--preview] [--json]`.
///
/// Every row of every file is checked first. If any row has an error, the
/// import writes nothing and lists the rows; `--preview` prints the same
/// plan, errors and duplicates and never writes.
pub fn import(replica: &mut Replica, args: &ImportArgs) -> Result<()> {
    let paths = [args.file.as_deref(), args.contacts.as_deref(), args.deals.as_deref()];
    let Some(shown) = paths.iter().flatten().next().copied() else {
        return Err(CliError::Usage(
            "nothing to import: give an accounts file, --contacts FILE or --deals FILE (see docs/CSV.md)".into(),
        ));
    };
    let read = |path: Option<&Path>| path.map(|p| std::fs::read(p).map_err(|e| CliError::io(p, e))).transpose();
    let (accounts, contacts, deals) = (read(paths[0])?, read(paths[1])?, read(paths[2])?);
    let files = rapport_csv::Files {
        accounts: accounts.as_deref(),
        contacts: contacts.as_deref(),
        deals: deals.as_deref(),
        allow_unknown_owner: args.allow_unknown_owner,
    };
    let path_of = |kind: FileKind| {
        let path = match kind {
            FileKind::Accounts => paths[0],
            FileKind::Contacts => paths[1],
            FileKind::Deals => paths[2],
        };
        path.unwrap_or(shown).to_path_buf()
    };
    let plan = rapport_csv::plan(replica, &files, Some(&mut Bar::default())).map_err(|e| csv_error(e, path_of))?;
    let duplicates = rapport_csv::duplicates(replica, &plan).map_err(|e| csv_error(e, path_of))?;
    if args.preview {
        return preview::print_preview(shown, &plan, &duplicates, args.json);
    }
    if !plan.errors.is_empty() {
        if args.json {
            preview::print_preview(shown, &plan, &duplicates, true)?;
        }
        return Err(CliError::InvalidCsv {
            path: shown.to_path_buf(),
            rows: plan.errors.iter().map(preview::line).collect(),
        });
    }
    let summary = rapport_csv::apply(replica, plan, Some(&mut Bar::default())).map_err(|e| csv_error(e, path_of))?;
    preview::print_done(shown, &summary, &duplicates, args.json)
}

/// The library's error as the CLI says it, naming the file.
fn csv_error(e: CsvError, path_of: impl Fn(FileKind) -> PathBuf) -> CliError {
    match e {
        CsvError::Unreadable { file, row } => CliError::InvalidCsv {
            path: path_of(file),
            rows: vec![format!("  row {row}: the file cannot be read as CSV here; save it again as CSV")],
        },
        CsvError::Header { file, problems } => CliError::InvalidCsv {
            path: path_of(file),
            rows: problems
                .iter()
                .map(|p| format!("  row 1, column {:?}: {}", p.column.as_deref().unwrap_or_default(), p.message()))
                .collect(),
        },
        CsvError::Core(e) => CliError::Core(e),
        CsvError::Write(e) => CliError::io(path_of(FileKind::Accounts), e),
    }
}

/// `rapport export [accounts|contacts|deals|interactions] FILE`.
pub fn export(replica: &Replica, args: &ExportArgs) -> Result<()> {
    let (what, path) = match &args.file {
        None => (What::Accounts, PathBuf::from(&args.what)),
        Some(file) => match What::parse(&args.what) {
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
    let options = rapport_csv::export::Options { include_deleted: args.include_deleted, excel: args.excel };
    let n = write_export(replica, what, &path, options)?;
    if path.as_os_str() == "-" {
        // The CSV went to standard output; the summary would end up inside it.
        let _ = writeln!(std::io::stderr(), "exported {n} {}", what.as_str());
    } else {
        outln!("exported {n} {} to {}", what.as_str(), path.display());
    }
    Ok(())
}

/// Where an export goes.
enum Sink {
    /// `-`: standard output.
    Stdout,
    /// A regular file (or a new one): written to `FILE.csv.partial`, renamed at the end,
    /// so a failed export never leaves half a file under the real name.
    Replace { tmp: PathBuf },
    /// Anything else that exists (`/dev/stdout`, a named pipe, a symbolic link): written
    /// in place. Renaming over it would replace the device or link with a file.
    InPlace,
}

impl Sink {
    fn of(path: &Path) -> Sink {
        if path.as_os_str() == "-" {
            return Sink::Stdout;
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_file() => Sink::InPlace,
            _ => Sink::Replace { tmp: path.with_extension("csv.partial") },
        }
    }
}

/// Writes the export to `path` (`-`: standard output); returns the number of rows.
fn write_export(replica: &Replica, what: What, path: &Path, options: rapport_csv::export::Options) -> Result<usize> {
    let sink = Sink::of(path);
    let (target, out): (PathBuf, Box<dyn std::io::Write>) = match &sink {
        Sink::Stdout => ("standard output".into(), Box::new(std::io::stdout().lock())),
        Sink::Replace { tmp } => (tmp.clone(), Box::new(std::fs::File::create(tmp).map_err(|e| CliError::io(tmp, e))?)),
        Sink::InPlace => {
            (path.to_path_buf(), Box::new(std::fs::File::create(path).map_err(|e| CliError::io(path, e))?))
        }
    };
    let n =
        rapport_csv::export::write(replica, what, options, out, Some(&mut Bar::default())).map_err(|e| match e {
            CsvError::Write(e) if e.kind() == std::io::ErrorKind::BrokenPipe => CliError::OutputClosed,
            CsvError::Write(e) => CliError::io(&target, e),
            CsvError::Core(e) => CliError::Core(e),
            other => CliError::io(&target, std::io::Error::other(other.to_string())),
        })?;
    if let Sink::Replace { tmp } = &sink {
        std::fs::rename(tmp, path).map_err(|e| CliError::io(path, e))?;
    }
    Ok(n)
}

/// The document field an accounts-file column writes (`city` →
/// `party.address.city`, also under its other names, e.g. `місто`), for
/// `rapport account set`.
pub fn field_path(column: &str) -> Option<&'static str> {
    rapport_csv::field_path(column)
}
