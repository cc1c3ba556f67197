//! What an import would do, or did: counts per kind of record, the rows
//! with errors and the duplicates found, as text or JSON. Row problems name
//! the row and the column, never a cell's value.

use std::path::Path;

use super::duplicates::Duplicate;
use super::plan::{Counts, Plan, RowError, Target};
use crate::error::Result;

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Summary {
    pub accounts: Counts,
    pub contacts: Counts,
    pub deals: Counts,
}

impl Summary {
    pub fn of(plan: &Plan) -> Summary {
        let mut s = Summary::default();
        for a in &plan.accounts {
            match a.target {
                Target::Create(_) => s.accounts.created += 1,
                Target::Existing(_) if a.party_changed => s.accounts.updated += 1,
                Target::Existing(_) if a.in_accounts_file => s.accounts.unchanged += 1,
                Target::Existing(_) => {}
            }
            for (total, part) in [(&mut s.contacts, a.contacts), (&mut s.deals, a.deals)] {
                total.created += part.created;
                total.updated += part.updated;
                total.unchanged += part.unchanged;
            }
        }
        s
    }

    /// `3 created, 1 updated, 2 unchanged` (accounts), then contacts and deals if any.
    fn lines(&self, created: &str, updated: &str) -> Vec<String> {
        let c = |n: &Counts| format!("{} {created}, {} {updated}, {} unchanged", n.created, n.updated, n.unchanged);
        let mut out = vec![c(&self.accounts)];
        let any = |n: &Counts| n.created + n.updated + n.unchanged > 0;
        if any(&self.contacts) {
            out.push(format!("contacts: {}", c(&self.contacts)));
        }
        if any(&self.deals) {
            out.push(format!("deals: {}", c(&self.deals)));
        }
        out
    }
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
    let mut lines = summary.lines("to create", "to update").into_iter();
    outln!("accounts: {}", lines.next().unwrap_or_default());
    for line in lines {
        outln!("{line}");
    }
    if plan.errors.is_empty() {
        outln!("no errors: `rapport import` without --preview would write this");
    } else {
        outln!("{} row error(s): the import would stop and write nothing until they are fixed:", plan.errors.len());
        for e in &plan.errors {
            outln!("{}", e.line());
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
    let mut lines = summary.lines("created", "updated").into_iter();
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
            outln!("{}", d.line());
        }
    }
    Ok(())
}
