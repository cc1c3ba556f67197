//! What an import would do, or did: counts per kind of record, the rows
//! with errors and the duplicates found, as text or JSON. Row problems name
//! the row and the column, never a cell's value.

use std::path::Path;

use rapport_csv::{Counts, Duplicate, Other, Plan, Problem, RowError, Summary};

use crate::error::Result;

/// `3 created, 1 updated, 2 unchanged` (accounts), then contacts and deals if any.
fn lines(summary: &Summary, created: &str, updated: &str) -> Vec<String> {
    let c = |n: &Counts| format!("{} {created}, {} {updated}, {} unchanged", n.created, n.updated, n.unchanged);
    let mut out = vec![c(&summary.accounts)];
    let any = |n: &Counts| n.created + n.updated + n.unchanged > 0;
    if any(&summary.contacts) {
        out.push(format!("contacts: {}", c(&summary.contacts)));
    }
    if any(&summary.deals) {
        out.push(format!("deals: {}", c(&summary.deals)));
    }
    out
}

/// A row error as the CLI prints it; an unknown owner, team or territory
/// also says how to write it anyway.
pub fn line(e: &RowError) -> String {
    match e.problem {
        Problem::UnknownName { .. } => format!("{}, or pass --allow-unknown-owner to write it anyway", e.line()),
        _ => e.line(),
    }
}

/// A duplicate as the CLI prints it.
fn duplicate_line(d: &Duplicate) -> String {
    let file = if d.file == "accounts" { String::new() } else { format!("{} file, ", d.file) };
    let other = match &d.other {
        Other::Account(id) => format!("account {id} on this device"),
        Other::Row { file, row } if *file == d.file => format!("row {row}"),
        Other::Row { file, row } => format!("{file} file, row {row}"),
    };
    format!("  {file}row {}, column {}: the same {} as {other}", d.row, d.column, d.same.as_str())
}

#[derive(serde::Serialize)]
struct Report<'a> {
    file: String,
    written: bool,
    #[serde(flatten)]
    summary: Summary,
    errors: &'a [RowError],
    duplicates: &'a [Duplicate],
}

/// Prints a preview: nothing was written.
pub fn print_preview(file: &Path, plan: &Plan, duplicates: &[Duplicate], json: bool) -> Result<()> {
    let summary = Summary::of(plan);
    if json {
        return crate::output::json(&Report {
            file: file.display().to_string(),
            written: false,
            summary,
            errors: &plan.errors,
            duplicates,
        });
    }
    outln!("preview of {} (nothing was written)", file.display());
    let mut lines = lines(&summary, "to create", "to update").into_iter();
    outln!("accounts: {}", lines.next().unwrap_or_default());
    for line in lines {
        outln!("{line}");
    }
    if plan.errors.is_empty() {
        outln!("no errors: `rapport import` without --preview would write this");
    } else {
        outln!("{} row error(s): the import would stop and write nothing until they are fixed:", plan.errors.len());
        for e in &plan.errors {
            outln!("{}", line(e));
        }
    }
    print_duplicates(duplicates)
}

/// Prints what an import wrote.
pub fn print_done(file: &Path, summary: &Summary, duplicates: &[Duplicate], json: bool) -> Result<()> {
    if json {
        return crate::output::json(&Report {
            file: file.display().to_string(),
            written: true,
            summary: *summary,
            errors: &[],
            duplicates,
        });
    }
    let mut lines = lines(summary, "created", "updated").into_iter();
    outln!("imported {}: {}", file.display(), lines.next().unwrap_or_default());
    for line in lines {
        outln!("{line}");
    }
    print_duplicates(duplicates)
}

fn print_duplicates(duplicates: &[Duplicate]) -> Result<()> {
    if !duplicates.is_empty() {
        outln!(
            "{} possible duplicate(s); check them, and merge real ones with `rapport account merge SURVIVOR DUPLICATE`:",
            duplicates.len()
        );
        for d in duplicates {
            outln!("{}", duplicate_line(d));
        }
    }
    Ok(())
}
