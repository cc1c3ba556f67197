//! Accounts, contacts, deals and interactions as CSV.
//!
//! UTF-8 with a byte-order mark (so Excel reads Cyrillic), comma-separated,
//! every cell in quotes: the file says that ids, postcodes and phone numbers
//! are text, and the value is written as it is (`01001`, never `="01001"`),
//! so our own import and every other tool read it back unchanged. Excel
//! still turns a quoted `01001` into the number 1001 when the file is opened
//! by double-click; docs/CSV.md says how to open it keeping text, and
//! `--excel` writes such cells as `="01001"` for a file only Excel opens.
//! Amounts are in major units (`360000.00`) beside a currency column.

use std::io::Write;

use rapport_core::{Account, AccountId, Replica};

use crate::cells::iso_date;
use crate::error::{CsvError, Result};
use crate::headers::{Column, DEAL_COLUMNS, FileKind, canonical};
use crate::plan::party_value;
use crate::progress::{Progress, Stage};

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Accounts,
    Contacts,
    Deals,
    Interactions,
}

impl What {
    pub fn parse(word: &str) -> Option<What> {
        Some(match word {
            "accounts" => What::Accounts,
            "contacts" => What::Contacts,
            "deals" => What::Deals,
            "interactions" => What::Interactions,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            What::Accounts => "accounts",
            What::Contacts => "contacts",
            What::Deals => "deals",
            What::Interactions => "interactions",
        }
    }
}

/// The accounts file's columns: those 0.1.0 wrote, in its order, then the ending's.
pub const ACCOUNT_COLUMNS: &[Column] = &[
    Column::AccountId,
    Column::Name,
    Column::Kind,
    Column::Owner,
    Column::Team,
    Column::Territory,
    Column::Industry,
    Column::Website,
    Column::Street,
    Column::City,
    Column::Region,
    Column::Postcode,
    Column::Country,
    Column::ValueTier,
    Column::LoyaltyRung,
    Column::LifecyclePhase,
    Column::Status,
    Column::Tags,
    Column::Source,
    Column::EndReason,
    Column::EndDate,
    Column::RegistrationCode,
];

const ACCOUNT_REF: &[Column] = &[Column::AccountId, Column::Name, Column::City];

const CONTACT_COLUMNS: &[Column] = &[
    Column::ContactId,
    Column::ContactName,
    Column::ContactTitle,
    Column::ContactPhone,
    Column::ContactEmail,
    Column::ContactChannel,
    Column::ContactLanguage,
    Column::ContactActive,
];

/// Interactions are exported for reading and reports; they are not imported.
const INTERACTION_HEADER: &[&str] = &[
    "account_id",
    "account_name",
    "interaction_id",
    "kind",
    "direction",
    "status",
    "at",
    "subject",
    "contacts",
    "deal",
    "staff",
    "department",
    "notes",
    "outcome",
    "logged_by",
];

fn header(kind: FileKind, columns: &[&[Column]]) -> Vec<String> {
    columns.iter().copied().flatten().map(|c| canonical(kind, *c).to_owned()).collect()
}

fn account_ref(a: &Account) -> Vec<String> {
    vec![a.id.to_string(), a.party.name.clone(), a.party.address.city.clone().unwrap_or_default()]
}

/// The rows of one account in the file.
fn rows(what: What, a: &Account) -> Vec<Vec<String>> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match what {
        What::Accounts => vec![ACCOUNT_COLUMNS.iter().map(|c| party_value(a, *c)).collect()],
        What::Contacts => a
            .contacts
            .iter()
            .map(|c| {
                let mut row = account_ref(a);
                row.extend([
                    c.id.to_string(),
                    c.name.clone(),
                    o(&c.job_title),
                    c.phones.iter().map(|p| p.number.as_str()).collect::<Vec<_>>().join("; "),
                    c.emails.iter().map(String::as_str).collect::<Vec<_>>().join("; "),
                    c.preferred_channel.map(|ch| ch.as_str().to_owned()).unwrap_or_default(),
                    o(&c.language),
                    c.active.to_string(),
                ]);
                row
            })
            .collect(),
        What::Deals => a
            .deals
            .iter()
            .map(|d| {
                let mut row = account_ref(a);
                row.extend([
                    d.id.to_string(),
                    d.title.clone(),
                    rapport_core::format_major_units(d.amount.minor, &d.amount.currency),
                    d.amount.currency.clone(),
                    d.stage.clone(),
                    d.probability.to_string(),
                    d.expected_close.map(iso_date).unwrap_or_default(),
                    o(&d.next_step),
                    o(&d.lost_reason),
                ]);
                row
            })
            .collect(),
        What::Interactions => a
            .interactions
            .iter()
            .map(|i| {
                let names = |ids: &mut dyn Iterator<Item = String>| ids.collect::<Vec<_>>().join("; ");
                vec![
                    a.id.to_string(),
                    a.party.name.clone(),
                    i.id.to_string(),
                    i.kind.as_str().to_owned(),
                    i.direction.map(|d| d.as_str().to_owned()).unwrap_or_default(),
                    i.status.as_str().to_owned(),
                    when(i.when()),
                    i.subject.clone(),
                    names(
                        &mut i.contacts.iter().map(|c| a.contact(*c).map_or_else(|| c.to_string(), |c| c.name.clone())),
                    ),
                    i.deal.map(|d| a.deal(d).map_or_else(|| d.to_string(), |d| d.title.clone())).unwrap_or_default(),
                    names(&mut i.staff.iter().cloned()),
                    o(&i.department),
                    o(&i.notes),
                    o(&i.outcome),
                    i.logged_by.clone(),
                ]
            })
            .collect(),
    }
}

/// Columns that hold numbers (Excel may read them as numbers).
const FIGURES: &[&str] = &["amount", "probability", "deal_amount", "deal_probability"];

/// A cell Excel opened by double-click would turn into a number, losing
/// leading zeros or a leading `+`: digits only, perhaps after a `+`
/// (`01001`, `0441234567`, `+380441234567`).
fn excel_reads_as_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('+').unwrap_or(cell);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An instant as RFC 3339, to the second.
fn when(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// How to write an export.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Accounts merged into others too.
    pub include_deleted: bool,
    /// Cells Excel would read as numbers written as `="01001"`.
    pub excel: bool,
}

/// Writes the export to `out` (a byte-order mark, then the rows); returns
/// the number of rows. `progress` hears of the accounts exported.
pub fn write(
    replica: &Replica,
    what: What,
    options: Options,
    mut out: impl Write,
    progress: Option<&mut dyn Progress>,
) -> Result<usize> {
    let ids: Vec<AccountId> = replica
        .list(&rapport_core::AccountFilter { include_deleted: options.include_deleted, ..Default::default() })?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let head = match what {
        What::Accounts => header(FileKind::Accounts, &[ACCOUNT_COLUMNS]),
        What::Contacts => header(FileKind::Contacts, &[ACCOUNT_REF, CONTACT_COLUMNS]),
        What::Deals => header(FileKind::Deals, &[ACCOUNT_REF, DEAL_COLUMNS]),
        What::Interactions => INTERACTION_HEADER.iter().map(|h| (*h).to_owned()).collect(),
    };
    out.write_all("\u{feff}".as_bytes()).map_err(CsvError::Write)?;
    let mut writer = ::csv::WriterBuilder::new().quote_style(::csv::QuoteStyle::Always).from_writer(out);
    let fail = |e: ::csv::Error| match e.into_kind() {
        ::csv::ErrorKind::Io(e) => CsvError::Write(e),
        other => CsvError::Write(std::io::Error::other(format!("{other:?}"))),
    };
    writer.write_record(&head).map_err(fail)?;
    let figures: Vec<bool> = head.iter().map(|h| FIGURES.contains(&h.as_str())).collect();
    let mut progress = progress;
    if let Some(p) = progress.as_deref_mut() {
        p.start(Stage::Exporting, ids.len() as u64);
    }
    let mut n = 0;
    for id in &ids {
        let account = replica.account(*id)?;
        for mut row in rows(what, &account) {
            if options.excel {
                for (cell, figure) in row.iter_mut().zip(&figures) {
                    if !figure && excel_reads_as_number(cell) {
                        *cell = format!("=\"{cell}\"");
                    }
                }
            }
            writer.write_record(&row).map_err(fail)?;
            n += 1;
        }
        if let Some(p) = progress.as_deref_mut() {
            p.advance(1);
        }
    }
    writer.flush().map_err(CsvError::Write)?;
    if let Some(p) = progress {
        p.finish();
    }
    Ok(n)
}
