//! From the files to a plan: which accounts, contacts and deals a file
//! creates or changes, as operations on core's [`Editor`], every one checked
//! on an in-memory copy of its document before anything is written.
//!
//! Rows of the accounts file that name the same account (the same id, or
//! without an id the same name and city) are one account: the rows after the
//! first add contacts and deals, and their account cells must be empty or
//! the same. Contacts are matched within their account by id, else by name;
//! deals by id, else by title (ignoring case and extra spaces), so a
//! re-import finds them again instead of adding them twice.

use std::collections::HashMap;

use rapport_core::{
    AccountId, AccountStatus, ContactId, DealId, Editor, NewAccount, NewContact, NewDeal, Phone, Replica,
};

use crate::cells::name_key;
use crate::detect::{self, Delimiter, Encoding, Table};
use crate::problem::Problem;
use crate::progress::{Progress, Stage};

mod account;
mod contacts;
mod deals;
mod groups;
mod names;

use crate::error::{CsvError, Result};
use crate::headers::{self, Column, FileKind};
use account::tags;
pub use account::{party_path, party_value};
use groups::Group;

/// Where an operation or a problem comes from: a file, a row, a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub file: FileKind,
    pub row: u64,
    pub column: Option<Column>,
}

/// A problem with one row: where, and what to do. Carries no cell values.
///
/// Serialized as `file`, `row`, `column`, `code`, `args` (the problem's
/// stable code and arguments), `message` (English) and, for an unknown
/// owner, team or territory, `suggestions`.
#[derive(Debug, Clone)]
pub struct RowError {
    pub file: &'static str,
    pub row: u64,
    /// The column's header as the file writes it.
    pub column: Option<String>,
    pub problem: Problem,
    /// For an unknown owner, team or territory: the names in the directory it may have meant.
    pub suggestions: Vec<String>,
    source: Option<Source>,
}

impl serde::Serialize for RowError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("file", self.file)?;
        map.serialize_entry("row", &self.row)?;
        map.serialize_entry("column", &self.column)?;
        map.serialize_entry("code", self.problem.code())?;
        map.serialize_entry("args", &self.problem.args())?;
        map.serialize_entry("message", &self.message())?;
        if !self.suggestions.is_empty() {
            map.serialize_entry("suggestions", &self.suggestions)?;
        }
        map.end()
    }
}

impl RowError {
    fn at(src: Source, problem: Problem) -> RowError {
        RowError {
            file: src.file.as_str(),
            row: src.row,
            column: src.column.map(|c| headers::canonical(src.file, c).to_owned()),
            problem,
            suggestions: Vec::new(),
            source: Some(src),
        }
    }

    /// A problem of a whole row, or of a column the import does not know.
    pub fn in_row(file: FileKind, row: u64, column: Option<String>, problem: Problem) -> RowError {
        RowError { file: file.as_str(), row, column, problem, suggestions: Vec::new(), source: None }
    }

    /// The English text of the problem.
    pub fn message(&self) -> String {
        self.problem.to_string()
    }

    /// `row 3, column deal_amount: …` (with the file's kind for related files).
    pub fn line(&self) -> String {
        let file = if self.file == "accounts" { String::new() } else { format!("{} file, ", self.file) };
        match &self.column {
            Some(c) => format!("  {file}row {}, column {c}: {}", self.row, self.message()),
            None => format!("  {file}row {}: {}", self.row, self.message()),
        }
    }
}

/// One change to an account's document.
#[derive(Debug, Clone)]
pub enum Op {
    Set {
        path: String,
        value: String,
    },
    AddTag(String),
    RemoveTag(String),
    AddContact {
        new: NewContact,
        inactive: bool,
    },
    AddEmail {
        contact: ContactId,
        email: String,
    },
    AddPhone {
        contact: ContactId,
        phone: Phone,
    },
    /// A new deal; one added in the lost stage gets its reason.
    AddDeal {
        new: Box<NewDeal>,
        lost_reason: Option<String>,
    },
    MoveStage {
        deal: DealId,
        stage: String,
    },
    MarkLost {
        deal: DealId,
        reason: String,
    },
    /// Ends the relationship (former or lost) with a catalogue reason.
    End {
        status: AccountStatus,
        reason: String,
        on: time::Date,
    },
    /// Reopens an ended relationship.
    Reopen,
}

#[derive(Debug)]
pub enum Target {
    Create(Box<NewAccount>),
    Existing(AccountId),
}

/// How many records a plan creates, changes and leaves as they are.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// What the import does to one account.
#[derive(Debug)]
pub struct AccountPlan {
    /// The first row that names it.
    pub first: Source,
    pub target: Target,
    pub ops: Vec<(Source, Op)>,
    /// Named by the accounts file (not only by a related file's rows).
    pub in_accounts_file: bool,
    pub party_changed: bool,
    pub contacts: Counts,
    pub deals: Counts,
    /// For the duplicate search: the account's name, and the phones and
    /// e-mails the files give its contacts.
    pub name: String,
    pub phones: Vec<(Source, String)>,
    pub emails: Vec<(Source, String)>,
    /// The registration code the files give it, as duplicates are matched.
    pub code: Option<(Source, String)>,
}

/// How a file was read.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct FileRead {
    pub file: FileKind,
    pub encoding: Encoding,
    pub delimiter: Delimiter,
    /// Rows other than the header and empty rows.
    pub rows: usize,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub accounts: Vec<AccountPlan>,
    pub errors: Vec<RowError>,
    /// Each file's encoding and delimiter, in the order accounts, contacts, deals.
    pub files: Vec<FileRead>,
    /// Each file's header for each column, as the file writes it («Сума»).
    pub headers: HashMap<(FileKind, Column), String>,
}

impl Plan {
    /// A column's name as the file writes it, for messages.
    pub fn column_name(&self, file: FileKind, column: Column) -> String {
        self.headers.get(&(file, column)).cloned().unwrap_or_else(|| headers::canonical(file, column).to_owned())
    }
}

/// The files of one import, as bytes in any encoding office software writes.
#[derive(Debug, Default)]
pub struct Files<'a> {
    pub accounts: Option<&'a [u8]>,
    pub contacts: Option<&'a [u8]>,
    pub deals: Option<&'a [u8]>,
    /// Write owners, teams and territories the directory does not list.
    pub allow_unknown_owner: bool,
}

type Cells = HashMap<Column, String>;

/// A row of any file, with its cells by column.
struct Entry {
    file: FileKind,
    row: u64,
    cells: Cells,
}

impl Entry {
    fn src(&self, column: Column) -> Source {
        Source { file: self.file, row: self.row, column: Some(column) }
    }
    fn get(&self, column: Column) -> Option<&str> {
        self.cells.get(&column).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// A core error as a row problem: the reason, without the field path core
/// uses (the column says where).
fn reason(e: &rapport_core::Error) -> String {
    match e {
        rapport_core::Error::InvalidValue { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// A value core refuses, as a row problem.
fn invalid(e: &rapport_core::Error) -> Problem {
    Problem::InvalidValue { message: reason(e) }
}

/// Reads and checks every file and plans every change; nothing is written.
/// `progress` hears of the accounts checked.
pub fn plan(replica: &Replica, files: &Files<'_>, progress: Option<&mut dyn Progress>) -> Result<Plan> {
    let mut planner = Planner::new(replica, files.allow_unknown_owner)?;
    if let Some(bytes) = files.accounts {
        for entry in read(bytes, FileKind::Accounts, &mut planner.plan)? {
            planner.add_account_row(entry);
        }
    }
    planner.resolve_groups();
    for (bytes, kind) in [(files.contacts, FileKind::Contacts), (files.deals, FileKind::Deals)] {
        let Some(bytes) = bytes else { continue };
        for entry in read(bytes, kind, &mut planner.plan)? {
            planner.add_related_row(entry);
        }
    }
    let groups = std::mem::take(&mut planner.groups);
    let mut progress = progress;
    if let Some(p) = progress.as_deref_mut() {
        p.start(Stage::Checking, groups.len() as u64);
    }
    for group in groups.into_iter().filter(|g| !g.failed) {
        if let Some(account) = planner.plan_group(group) {
            planner.plan.accounts.push(account);
        }
        if let Some(p) = progress.as_deref_mut() {
            p.advance(1);
        }
    }
    if let Some(p) = progress {
        p.finish();
    }
    let mut plan = planner.plan;
    let named: Vec<Option<String>> =
        plan.errors.iter().map(|e| e.source.and_then(|s| Some(plan.column_name(s.file, s.column?)))).collect();
    for (e, name) in plan.errors.iter_mut().zip(named) {
        if name.is_some() {
            e.column = name;
        }
    }
    plan.errors.sort_by_key(|e| (e.file != "accounts", e.file, e.row));
    Ok(plan)
}

/// A file's rows as entries; unreadable rows go to `errors`, header problems
/// stop the plan.
fn read(bytes: &[u8], kind: FileKind, plan: &mut Plan) -> Result<Vec<Entry>> {
    let Table { headers, rows, unreadable, encoding, delimiter } = detect::read(bytes, kind)?;
    plan.files.push(FileRead { file: kind, encoding, delimiter, rows: rows.len() + unreadable.len() });
    let header = headers::check(kind, &headers).map_err(|problems| CsvError::Header {
        file: kind,
        problems: problems.into_iter().map(|(c, p)| RowError::in_row(kind, 1, Some(c), p)).collect(),
    })?;
    for (name, column) in headers.iter().zip(&header.columns) {
        if let Some(c) = column {
            plan.headers.insert((kind, *c), name.trim().to_owned());
        }
    }
    let errors = &mut plan.errors;
    for (row, problem) in unreadable {
        errors.push(RowError::in_row(kind, row, None, problem));
    }
    let mut entries = Vec::with_capacity(rows.len());
    for (row, cells) in rows {
        let mut by_column = Cells::new();
        for (column, cell) in header.columns.iter().zip(cells) {
            match column {
                Some(c) => {
                    by_column.insert(*c, cell);
                }
                None if cell.is_empty() => {}
                None => errors.push(RowError::in_row(kind, row, None, Problem::CellWithoutHeader)),
            }
        }
        entries.push(Entry { file: kind, row, cells: by_column });
    }
    Ok(entries)
}

struct Planner<'r> {
    replica: &'r Replica,
    plan: Plan,
    groups: Vec<Group>,
    by_id: HashMap<AccountId, usize>,
    by_key: HashMap<(String, String), usize>,
    /// Accounts on this replica by name key, from the index.
    names: HashMap<String, Vec<AccountId>>,
    /// Owner, team and territory names looked up in the directory.
    names_checked: names::NameCheck,
}

impl<'r> Planner<'r> {
    fn new(replica: &'r Replica, allow_unknown_owner: bool) -> Result<Planner<'r>> {
        let mut names: HashMap<String, Vec<AccountId>> = HashMap::new();
        for s in replica.list(&rapport_core::AccountFilter::default())? {
            names.entry(name_key(&s.name)).or_default().push(s.id);
        }
        Ok(Planner {
            replica,
            plan: Plan::default(),
            groups: Vec::new(),
            by_id: HashMap::new(),
            by_key: HashMap::new(),
            names,
            names_checked: names::NameCheck::new(allow_unknown_owner),
        })
    }

    fn error(&mut self, src: Source, problem: Problem) {
        self.plan.errors.push(RowError::at(src, problem));
    }
}

/// The column a core error is about, when an operation takes several
/// columns (a new contact's e-mails and phones).
fn refine(src: Source, e: &rapport_core::Error) -> Source {
    let rapport_core::Error::InvalidValue { field, .. } = e else { return src };
    let column = match field.as_str() {
        "contact.emails" => Column::ContactEmail,
        "contact.phones" => Column::ContactPhone,
        "contact.name" => Column::ContactName,
        "deal.title" => Column::DealTitle,
        "deal.amount" => Column::DealAmount,
        "deal.currency" => Column::DealCurrency,
        "deal.next_step" => Column::DealNextStep,
        _ => return src,
    };
    Source { column: Some(column), ..src }
}

/// Two cells of one column say the same (names and cities ignoring case and spaces).
fn same_cell(column: Column, a: &str, b: &str) -> bool {
    match column {
        Column::Name | Column::City | Column::ContactName => name_key(a) == name_key(b),
        Column::Tags => tags(a) == tags(b),
        _ => a.trim() == b.trim(),
    }
}

/// Makes one planned change; the same code checks the plan on the
/// in-memory copy and writes it to the replica.
pub fn run_op(e: &mut Editor<'_>, op: &Op) -> rapport_core::Result<()> {
    match op {
        Op::Set { path, value } => e.set_field(path, value),
        Op::AddTag(t) => e.add_tag(t),
        Op::RemoveTag(t) => e.remove_tag(t),
        Op::AddContact { new, inactive } => {
            let id = e.add_contact(new)?;
            if *inactive {
                e.deactivate_contact(id)?;
            }
            Ok(())
        }
        Op::AddEmail { contact, email } => e.add_email(*contact, email),
        Op::AddPhone { contact, phone } => e.add_phone(*contact, phone),
        Op::AddDeal { new, lost_reason } => {
            let id = e.add_deal(new)?;
            match lost_reason {
                Some(reason) => e.set_field(&format!("deals.{id}.lost_reason"), reason),
                None => Ok(()),
            }
        }
        Op::MoveStage { deal, stage } => e.move_deal_stage(*deal, stage, None),
        Op::MarkLost { deal, reason } => e.mark_deal_lost(*deal, reason, None),
        Op::End { status, reason, on } => e.end_relationship(*status, reason, *on),
        Op::Reopen => e.reopen_relationship(),
    }
}
