//! Which rows are one account: rows of the accounts file by id, else by
//! name and city; rows of related files by account id, else by account name
//! and city, in the accounts file or on this device.

use rapport_core::AccountId;

use super::{Entry, Planner, Source};
use crate::cells::name_key;
use crate::headers::{Column, DEAL_COLUMNS, FileKind};
use crate::problem::Problem;

/// Rows that are one account.
pub(super) struct Group {
    pub(super) first: Source,
    pub(super) given_id: Option<AccountId>,
    pub(super) key: (String, String),
    pub(super) rows: Vec<Entry>,
    pub(super) contacts: Vec<Entry>,
    pub(super) deals: Vec<Entry>,
    pub(super) existing: Option<AccountId>,
    pub(super) in_accounts_file: bool,
    /// Its account could not be found: nothing is planned for it.
    pub(super) failed: bool,
}

/// A row of the accounts file with any of these cells filled carries a contact.
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

impl Planner<'_> {
    pub(super) fn add_account_row(&mut self, entry: Entry) {
        let given_id = match entry.get(Column::AccountId) {
            Some(v) => match v.parse::<AccountId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    self.error(entry.src(Column::AccountId), Problem::AccountIdNotUuid);
                    return;
                }
            },
            None => None,
        };
        if entry.get(Column::Name).is_none() {
            self.error(entry.src(Column::Name), Problem::NameEmpty);
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
                    failed: false,
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
    pub(super) fn resolve_groups(&mut self) {
        for i in 0..self.groups.len() {
            let (first, given, key) = {
                let g = &self.groups[i];
                (g.first, g.given_id, g.key.clone())
            };
            let existing = match given {
                Some(id) => match self.replica.document(id) {
                    Ok(_) => Ok(Some(id)),
                    Err(rapport_core::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err((
                        Source { column: Some(Column::AccountId), ..first },
                        Problem::AccountUnreadable { message: e.to_string() },
                    )),
                },
                None => self.find(&key).map_err(|m| (Source { column: Some(Column::Name), ..first }, m)),
            };
            let existing = existing.and_then(|found| match found.and_then(|id| self.by_id.get(&id)) {
                Some(j) if *j != i => Err((
                    Source { column: Some(Column::Name), ..first },
                    Problem::SameAccountAs { row: self.groups[*j].first.row },
                )),
                _ => Ok(found),
            });
            match existing {
                Ok(existing) => {
                    if let Some(id) = existing {
                        self.by_id.insert(id, i);
                    }
                    self.groups[i].existing = existing;
                }
                Err((src, problem)) => {
                    self.error(src, problem);
                    self.groups[i].failed = true;
                }
            }
        }
    }

    /// The account on this replica with this name and city, if one.
    fn find(&self, key: &(String, String)) -> std::result::Result<Option<AccountId>, Problem> {
        let mut same = Vec::new();
        for id in self.names.get(&key.0).into_iter().flatten() {
            let account =
                self.replica.account(*id).map_err(|e| Problem::AccountUnreadable { message: e.to_string() })?;
            if name_key(account.party.address.city.as_deref().unwrap_or_default()) == key.1 {
                same.push(*id);
            }
        }
        match same.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(*id)),
            ids => Err(Problem::AmbiguousAccount { count: ids.len() }),
        }
    }

    /// Puts a row of a contacts or deals file with the account it names.
    pub(super) fn add_related_row(&mut self, entry: Entry) {
        let index = if let Some(v) = entry.get(Column::AccountId) {
            let Ok(id) = v.parse::<AccountId>() else {
                self.error(entry.src(Column::AccountId), Problem::RelatedAccountIdNotUuid);
                return;
            };
            match self.by_id.get(&id) {
                Some(i) => *i,
                None => match self.replica.document(id) {
                    Ok(_) => self.related_group(&entry, id),
                    Err(_) => {
                        self.error(entry.src(Column::AccountId), Problem::NoSuchAccountId);
                        return;
                    }
                },
            }
        } else {
            let Some(name) = entry.get(Column::Name) else {
                self.error(entry.src(Column::Name), Problem::RelatedNameEmpty);
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
                        self.error(entry.src(Column::Name), Problem::NoSuchAccountName);
                        return;
                    }
                    Err(problem) => {
                        self.error(entry.src(Column::Name), problem);
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
            failed: false,
        });
        self.by_id.insert(id, i);
        i
    }
}
