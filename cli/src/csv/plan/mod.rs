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

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use rapport_core::{
    Account, AccountDoc, AccountId, AccountStatus, Address, ContactId, DealId, Editor, LifecyclePhase, LoyaltyRung,
    NewAccount, NewContact, NewDeal, PartyKind, Phone, Replica, ValueTier,
};

use super::cells::name_key;
use super::detect::{self, Table};

mod contacts;
mod deals;
use super::headers::{self, Column, FileKind};
use crate::error::{CliError, Result, core_message};

/// Where an operation or a problem comes from: a file, a row, a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub file: FileKind,
    pub row: u64,
    pub column: Option<Column>,
}

/// A problem with one row: where, and what to do. Carries no cell values.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowError {
    pub file: &'static str,
    pub row: u64,
    pub column: Option<String>,
    pub message: String,
}

impl RowError {
    fn at(src: Source, message: impl Into<String>) -> RowError {
        RowError {
            file: src.file.as_str(),
            row: src.row,
            column: src.column.map(|c| headers::canonical(src.file, c).to_owned()),
            message: message.into(),
        }
    }

    /// `row 3, column deal_amount: …` (with the file's kind for related files).
    pub fn line(&self) -> String {
        let file = if self.file == "accounts" { String::new() } else { format!("{} file, ", self.file) };
        match &self.column {
            Some(c) => format!("  {file}row {}, column {c}: {}", self.row, self.message),
            None => format!("  {file}row {}: {}", self.row, self.message),
        }
    }
}

/// One change to an account's document.
#[derive(Debug, Clone)]
pub enum Op {
    Set { path: String, value: String },
    AddTag(String),
    RemoveTag(String),
    AddContact { new: NewContact, inactive: bool },
    AddEmail { contact: ContactId, email: String },
    AddPhone { contact: ContactId, phone: Phone },
    AddDeal(Box<NewDeal>),
    MoveStage { deal: DealId, stage: String },
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
}

#[derive(Debug, Default)]
pub struct Plan {
    pub accounts: Vec<AccountPlan>,
    pub errors: Vec<RowError>,
}

/// The files of one import.
pub struct Files<'a> {
    pub accounts: &'a Path,
    pub contacts: Option<&'a Path>,
    pub deals: Option<&'a Path>,
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

/// Rows that are one account.
struct Group {
    first: Source,
    given_id: Option<AccountId>,
    key: (String, String),
    rows: Vec<Entry>,
    contacts: Vec<Entry>,
    deals: Vec<Entry>,
    existing: Option<AccountId>,
    in_accounts_file: bool,
}

/// Columns of the account itself.
const ACCOUNT_COLUMNS: &[Column] = &[
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
];

const CONTACT_COLUMNS: &[Column] = &[
    Column::ContactId,
    Column::ContactName,
    Column::ContactTitle,
    Column::ContactPhone,
    Column::ContactMobile,
    Column::ContactEmail,
    Column::ContactChannel,
    Column::ContactLanguage,
    Column::ContactActive,
];

const DEAL_COLUMNS: &[Column] = &[
    Column::DealId,
    Column::DealTitle,
    Column::DealAmount,
    Column::DealCurrency,
    Column::DealStage,
    Column::DealProbability,
    Column::DealClose,
    Column::DealNextStep,
];

/// The document field a party column writes.
pub fn party_path(column: Column) -> Option<&'static str> {
    Some(match column {
        Column::Name => "party.name",
        Column::Kind => "party.kind",
        Column::Owner => "party.owner",
        Column::Team => "party.team",
        Column::Territory => "party.territory",
        Column::Industry => "party.industry",
        Column::Website => "party.website",
        Column::Street => "party.address.street",
        Column::City => "party.address.city",
        Column::Region => "party.address.region",
        Column::Postcode => "party.address.postcode",
        Column::Country => "party.address.country",
        Column::ValueTier => "party.value_tier",
        Column::LoyaltyRung => "party.loyalty_rung",
        Column::LifecyclePhase => "party.lifecycle_phase",
        Column::Status => "party.status",
        Column::Source => "party.source",
        _ => return None,
    })
}

/// A party column's current value, as the accounts CSV writes it.
pub fn party_value(a: &Account, column: Column) -> String {
    let p = &a.party;
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match column {
        Column::AccountId => a.id.to_string(),
        Column::Name => p.name.clone(),
        Column::Kind => p.kind.as_str().to_owned(),
        Column::Owner => o(&p.owner),
        Column::Team => o(&p.team),
        Column::Territory => o(&p.territory),
        Column::Industry => o(&p.industry),
        Column::Website => o(&p.website),
        Column::Street => o(&p.address.street),
        Column::City => o(&p.address.city),
        Column::Region => o(&p.address.region),
        Column::Postcode => o(&p.address.postcode),
        Column::Country => o(&p.address.country),
        Column::ValueTier => p.value_tier.as_str().to_owned(),
        Column::LoyaltyRung => p.loyalty_rung.as_str().to_owned(),
        Column::LifecyclePhase => p.lifecycle_phase.as_str().to_owned(),
        Column::Status => p.status.as_str().to_owned(),
        Column::Tags => p.tags.iter().cloned().collect::<Vec<_>>().join(";"),
        Column::Source => o(&p.source),
        _ => String::new(),
    }
}

fn tags(cell: &str) -> BTreeSet<String> {
    cell.split(';').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// A core error as a row problem: the reason, without the field path core
/// uses (the column says where).
fn reason(e: &rapport_core::Error) -> String {
    match e {
        rapport_core::Error::InvalidValue { reason, .. } => reason.clone(),
        other => core_message(other),
    }
}

/// Reads and checks every file and plans every change; nothing is written.
pub fn plan(replica: &Replica, files: &Files<'_>) -> Result<Plan> {
    let mut planner = Planner::new(replica)?;
    let accounts = read(files.accounts, FileKind::Accounts, &mut planner.plan.errors)?;
    for entry in accounts {
        planner.add_account_row(entry);
    }
    planner.resolve_groups();
    for (path, kind) in [(files.contacts, FileKind::Contacts), (files.deals, FileKind::Deals)] {
        let Some(path) = path else { continue };
        for entry in read(path, kind, &mut planner.plan.errors)? {
            planner.add_related_row(entry);
        }
    }
    let groups = std::mem::take(&mut planner.groups);
    for group in groups {
        if let Some(account) = planner.plan_group(group) {
            planner.plan.accounts.push(account);
        }
    }
    planner.plan.errors.sort_by_key(|e| (e.file != "accounts", e.file, e.row));
    Ok(planner.plan)
}

/// A file's rows as entries; header problems and unreadable rows go to `errors`.
fn read(path: &Path, kind: FileKind, errors: &mut Vec<RowError>) -> Result<Vec<Entry>> {
    let Table { headers, rows, unreadable } = detect::read(path)?;
    let header = headers::check(kind, &headers).map_err(|problems| CliError::InvalidCsv {
        path: path.to_path_buf(),
        rows: problems.into_iter().map(|(c, m)| format!("  row 1, column {c:?}: {m}")).collect(),
    })?;
    for (row, message) in unreadable {
        errors.push(RowError { file: kind.as_str(), row, column: None, message });
    }
    Ok(rows
        .into_iter()
        .map(|(row, cells)| Entry { file: kind, row, cells: header.columns.iter().copied().zip(cells).collect() })
        .collect())
}

struct Planner<'r> {
    replica: &'r Replica,
    plan: Plan,
    groups: Vec<Group>,
    by_id: HashMap<AccountId, usize>,
    by_key: HashMap<(String, String), usize>,
    /// Accounts on this replica by name key, from the index.
    names: HashMap<String, Vec<AccountId>>,
}

impl<'r> Planner<'r> {
    fn new(replica: &'r Replica) -> Result<Planner<'r>> {
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
        })
    }

    fn error(&mut self, src: Source, message: impl Into<String>) {
        self.plan.errors.push(RowError::at(src, message));
    }

    fn add_account_row(&mut self, entry: Entry) {
        let given_id = match entry.get(Column::AccountId) {
            Some(v) => match v.parse::<AccountId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    self.error(
                        entry.src(Column::AccountId),
                        "not a UUID; give the account's id as exported, or leave the cell empty",
                    );
                    return;
                }
            },
            None => None,
        };
        if entry.get(Column::Name).is_none() {
            self.error(entry.src(Column::Name), "must not be empty; every row needs the account's name");
            return;
        }
        let key = (
            name_key(entry.get(Column::Name).unwrap_or_default()),
            name_key(entry.get(Column::City).unwrap_or_default()),
        );
        let found = match given_id {
            Some(id) => self.by_id.get(&id).copied(),
            None => self.by_key.get(&key).copied(),
        };
        let index = match found {
            Some(i) => i,
            None => {
                let i = self.groups.len();
                self.groups.push(Group {
                    first: Source { file: FileKind::Accounts, row: entry.row, column: None },
                    given_id,
                    key: key.clone(),
                    rows: Vec::new(),
                    contacts: Vec::new(),
                    deals: Vec::new(),
                    existing: None,
                    in_accounts_file: true,
                });
                if let Some(id) = given_id {
                    self.by_id.insert(id, i);
                }
                self.by_key.entry(key).or_insert(i);
                i
            }
        };
        let group = &mut self.groups[index];
        if CONTACT_COLUMNS.iter().any(|c| entry.get(*c).is_some()) {
            group.contacts.push(Entry { file: entry.file, row: entry.row, cells: entry.cells.clone() });
        }
        if DEAL_COLUMNS.iter().any(|c| entry.get(*c).is_some()) {
            group.deals.push(Entry { file: entry.file, row: entry.row, cells: entry.cells.clone() });
        }
        group.rows.push(entry);
    }

    /// Finds the account each group of the accounts file stands for.
    fn resolve_groups(&mut self) {
        for i in 0..self.groups.len() {
            let (first, given, key) = {
                let g = &self.groups[i];
                (g.first, g.given_id, g.key.clone())
            };
            let existing = match given {
                Some(id) => match self.replica.document(id) {
                    Ok(_) => Some(id),
                    Err(rapport_core::Error::NotFound { .. }) => None,
                    Err(e) => {
                        self.error(first, core_message(&e));
                        None
                    }
                },
                None => match self.find(&key) {
                    Ok(found) => found,
                    Err(message) => {
                        self.error(Source { column: Some(Column::Name), ..first }, message);
                        None
                    }
                },
            };
            if let Some(id) = existing {
                self.by_id.entry(id).or_insert(i);
            }
            self.groups[i].existing = existing;
        }
    }

    /// The account on this replica with this name and city, if one.
    fn find(&self, key: &(String, String)) -> std::result::Result<Option<AccountId>, String> {
        let mut same = Vec::new();
        for id in self.names.get(&key.0).into_iter().flatten() {
            let account = self.replica.account(*id).map_err(|e| core_message(&e))?;
            if name_key(account.party.address.city.as_deref().unwrap_or_default()) == key.1 {
                same.push(*id);
            }
        }
        match same.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(*id)),
            ids => Err(format!(
                "{} accounts on this device have this name and city; add the id column to say which one",
                ids.len()
            )),
        }
    }

    /// Puts a row of a contacts or deals file with the account it names.
    fn add_related_row(&mut self, entry: Entry) {
        let index = if let Some(v) = entry.get(Column::AccountId) {
            let Ok(id) = v.parse::<AccountId>() else {
                self.error(entry.src(Column::AccountId), "not a UUID; give the account's id as exported");
                return;
            };
            match self.by_id.get(&id) {
                Some(i) => *i,
                None => match self.replica.document(id) {
                    Ok(_) => self.related_group(&entry, id),
                    Err(_) => {
                        self.error(
                            entry.src(Column::AccountId),
                            "no account with this id in the accounts file or on this device; check the id",
                        );
                        return;
                    }
                },
            }
        } else {
            let Some(name) = entry.get(Column::Name) else {
                self.error(
                    entry.src(Column::Name),
                    "must not be empty; say which account the row belongs to (account_id, or account_name and city)",
                );
                return;
            };
            let key = (name_key(name), name_key(entry.get(Column::City).unwrap_or_default()));
            match self.by_key.get(&key) {
                Some(i) => *i,
                None => match self.find(&key) {
                    Ok(Some(id)) => match self.by_id.get(&id) {
                        Some(i) => *i,
                        None => self.related_group(&entry, id),
                    },
                    Ok(None) => {
                        self.error(
                            entry.src(Column::Name),
                            "no account with this name and city in the accounts file or on this device; check the \
                             spelling, or add the account to the accounts file",
                        );
                        return;
                    }
                    Err(message) => {
                        self.error(entry.src(Column::Name), message);
                        return;
                    }
                },
            }
        };
        let group = &mut self.groups[index];
        match entry.file {
            FileKind::Deals => group.deals.push(entry),
            _ => group.contacts.push(entry),
        }
    }

    /// A group for an account on this replica that only a related file names.
    fn related_group(&mut self, entry: &Entry, id: AccountId) -> usize {
        let i = self.groups.len();
        self.groups.push(Group {
            first: Source { file: entry.file, row: entry.row, column: None },
            given_id: Some(id),
            key: (String::new(), String::new()),
            rows: Vec::new(),
            contacts: Vec::new(),
            deals: Vec::new(),
            existing: Some(id),
            in_accounts_file: false,
        });
        self.by_id.insert(id, i);
        i
    }

    /// The account's cells: the first non-empty value of each column over
    /// its rows (empty if none); a later row with another value is an error.
    fn merged_cells(&mut self, group: &Group) -> Cells {
        let mut merged: Cells = HashMap::new();
        let mut from: HashMap<Column, u64> = HashMap::new();
        for entry in &group.rows {
            for column in ACCOUNT_COLUMNS {
                let Some(value) = entry.cells.get(column) else { continue };
                match merged.get(column) {
                    None => {
                        merged.insert(*column, value.clone());
                        from.insert(*column, entry.row);
                    }
                    Some(v) if v.is_empty() && !value.is_empty() => {
                        merged.insert(*column, value.clone());
                        from.insert(*column, entry.row);
                    }
                    Some(v) if !value.is_empty() && !same_cell(*column, v, value) => {
                        let first = from.get(column).copied().unwrap_or_default();
                        self.error(
                            entry.src(*column),
                            format!(
                                "differs from row {first} for the same account; give the account's fields once, or \
                                 the same on every row"
                            ),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
        merged
    }

    fn plan_group(&mut self, group: Group) -> Option<AccountPlan> {
        let errors_before = self.plan.errors.len();
        let cells = self.merged_cells(&group);
        let first = group.first;
        let at = |column: Column| Source { column: Some(column), ..first };
        let mut ops = Vec::new();
        let mut party_changed = false;
        let (target, mut doc) = match group.existing {
            Some(id) => {
                let mut doc = match self.replica.document(id) {
                    Ok(doc) => doc,
                    Err(e) => {
                        self.error(first, core_message(&e));
                        return None;
                    }
                };
                let account = doc.read();
                if account.merged_into.is_some() {
                    self.error(
                        at(Column::AccountId),
                        "this account was merged into another; use the surviving account's id",
                    );
                    return None;
                }
                for column in ACCOUNT_COLUMNS {
                    let (Some(path), Some(value)) = (party_path(*column), cells.get(column)) else { continue };
                    if !same_cell(*column, &party_value(&account, *column), value) {
                        ops.push((at(*column), Op::Set { path: path.to_owned(), value: value.clone() }));
                    }
                }
                if let Some(cell) = cells.get(&Column::Tags) {
                    let new = tags(cell);
                    for t in new.difference(&account.party.tags) {
                        ops.push((at(Column::Tags), Op::AddTag(t.clone())));
                    }
                    for t in account.party.tags.difference(&new) {
                        ops.push((at(Column::Tags), Op::RemoveTag(t.clone())));
                    }
                }
                party_changed = !ops.is_empty();
                (Target::Existing(id), doc)
            }
            None => {
                let new = self.new_account(group.given_id, &cells, first)?;
                let doc = match AccountDoc::create(self.replica.author(), &new) {
                    Ok(doc) => doc,
                    Err(e) => {
                        let column = match &e {
                            rapport_core::Error::InvalidValue { field, .. } if field.contains("tag") => Column::Tags,
                            _ => Column::Name,
                        };
                        self.error(at(column), reason(&e));
                        return None;
                    }
                };
                if let Some(status) = cells
                    .get(&Column::Status)
                    .filter(|s| s.parse::<AccountStatus>().is_ok_and(|s| s != AccountStatus::Active))
                {
                    ops.push((at(Column::Status), Op::Set { path: "party.status".into(), value: status.clone() }));
                }
                (Target::Create(Box::new(new)), doc)
            }
        };
        let account = doc.read();
        let name = account.party.name.clone();
        let mut plan = AccountPlan {
            first,
            target,
            ops,
            in_accounts_file: group.in_accounts_file,
            party_changed,
            contacts: Counts::default(),
            deals: Counts::default(),
            name,
            phones: Vec::new(),
            emails: Vec::new(),
        };
        self.plan_contacts(&account, &group.contacts, &mut plan);
        self.plan_deals(&account, &group.deals, &mut plan);
        // Every change, on the in-memory copy: core checks every value.
        let author = self.replica.author();
        let mut editor = doc.edit(author, self.replica.settings());
        for (src, op) in &plan.ops {
            if let Err(e) = run_op(&mut editor, op) {
                let src = refine(*src, &e);
                let hint = match src.column {
                    Some(Column::ContactEmail) => "; write addresses like name@example.com, several separated by ;",
                    Some(Column::ContactPhone | Column::ContactMobile) => {
                        "; write numbers like +380 44 123 45 67, several separated by ;"
                    }
                    _ => "; correct the cell and import again",
                };
                self.error(src, format!("{}{hint}", reason(&e)));
            }
        }
        (self.plan.errors.len() == errors_before).then_some(plan)
    }

    fn new_account(&mut self, id: Option<AccountId>, cells: &Cells, first: Source) -> Option<NewAccount> {
        let text = |c: Column| cells.get(&c).filter(|v| !v.is_empty()).cloned();
        let mut ok = true;
        let mut parsed = |column: Column, errors: &mut Vec<RowError>| -> Option<String> {
            let v = text(column)?;
            let check = match column {
                Column::Kind => v.parse::<PartyKind>().err(),
                Column::ValueTier => v.parse::<ValueTier>().err(),
                Column::LoyaltyRung => v.parse::<LoyaltyRung>().err(),
                Column::LifecyclePhase => v.parse::<LifecyclePhase>().err(),
                Column::Status => v.parse::<AccountStatus>().err(),
                _ => None,
            };
            if let Some(e) = check {
                errors.push(RowError::at(Source { column: Some(column), ..first }, reason(&e)));
                ok = false;
            }
            Some(v)
        };
        let errors = &mut self.plan.errors;
        let kind = parsed(Column::Kind, errors);
        let tier = parsed(Column::ValueTier, errors);
        let rung = parsed(Column::LoyaltyRung, errors);
        let phase = parsed(Column::LifecyclePhase, errors);
        parsed(Column::Status, errors);
        if !ok {
            return None;
        }
        let mut new = NewAccount::new(text(Column::Name).unwrap_or_default());
        new.id = id;
        new.kind = kind.and_then(|v| v.parse().ok()).unwrap_or(PartyKind::Organization);
        new.value_tier = tier.and_then(|v| v.parse().ok()).unwrap_or(ValueTier::Standard);
        new.loyalty_rung = rung.and_then(|v| v.parse().ok()).unwrap_or(LoyaltyRung::Prospect);
        new.lifecycle_phase = phase.and_then(|v| v.parse().ok()).unwrap_or(LifecyclePhase::PreRelationship);
        new.owner = text(Column::Owner);
        new.team = text(Column::Team);
        new.territory = text(Column::Territory);
        new.industry = text(Column::Industry);
        new.website = text(Column::Website);
        new.address = Address {
            street: text(Column::Street),
            city: text(Column::City),
            region: text(Column::Region),
            postcode: text(Column::Postcode),
            country: text(Column::Country),
        };
        new.source = text(Column::Source);
        new.tags = cells.get(&Column::Tags).map(|t| tags(t)).unwrap_or_default();
        Some(new)
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
        Op::AddDeal(new) => e.add_deal(new).map(|_| ()),
        Op::MoveStage { deal, stage } => e.move_deal_stage(*deal, stage, None),
    }
}
