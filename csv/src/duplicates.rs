//! Duplicates an import would make: a new account with the same name or
//! registration code as an account on this device or as another row, and a
//! phone or e-mail that another account's contact already has. They are shown, not refused: two
//! customers may share a name, and the office decides (and merges later
//! with `rapport account merge`).

use std::collections::HashMap;

use rapport_core::matching::code_key;
use rapport_core::{AccountId, Replica};

use crate::cells::{email_key, name_key, phone_key};
use crate::error::Result;
use crate::headers;
use crate::plan::{AccountPlan, Plan, Source, Target};

/// What the duplicate shares with the other record.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Same {
    Name,
    Phone,
    Email,
    RegistrationCode,
}

impl Same {
    pub fn as_str(self) -> &'static str {
        match self {
            Same::Name => "name",
            Same::Phone => "phone",
            Same::Email => "e-mail",
            Same::RegistrationCode => "registration code",
        }
    }
}

/// The other record: an account on this device or another row of the files.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Other {
    Account(AccountId),
    Row { file: &'static str, row: u64 },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Duplicate {
    pub file: &'static str,
    pub row: u64,
    pub column: String,
    pub same: Same,
    pub other: Other,
}

fn duplicate(plan: &Plan, src: Source, same: Same, other: Other) -> Duplicate {
    Duplicate {
        file: src.file.as_str(),
        row: src.row,
        column: src.column.map(|c| plan.column_name(src.file, c)).unwrap_or_default(),
        same,
        other,
    }
}

fn existing(plan: &AccountPlan) -> Option<AccountId> {
    match plan.target {
        Target::Existing(id) => Some(id),
        Target::Create(_) => None,
    }
}

/// The duplicates of a plan, against this replica and between its rows.
pub fn find(replica: &Replica, plan: &Plan) -> Result<Vec<Duplicate>> {
    let mut found = Vec::new();
    let summaries = replica.list(&rapport_core::AccountFilter::default())?;
    let mut names: HashMap<String, Vec<AccountId>> = HashMap::new();
    for s in &summaries {
        names.entry(name_key(&s.name)).or_default().push(s.id);
    }
    // New accounts: the same name as an account here (in another city, or
    // it would have been matched) or as another new account's row.
    let mut new_names: HashMap<String, Source> = HashMap::new();
    for p in plan.accounts.iter().filter(|p| existing(p).is_none()) {
        let src = Source { column: Some(headers::Column::Name), ..p.first };
        let key = name_key(&p.name);
        for id in names.get(&key).into_iter().flatten() {
            found.push(duplicate(plan, src, Same::Name, Other::Account(*id)));
        }
        match new_names.get(&key) {
            Some(first) => {
                found.push(duplicate(plan, src, Same::Name, Other::Row { file: first.file.as_str(), row: first.row }))
            }
            None => {
                new_names.insert(key, src);
            }
        }
    }
    // Registration codes, phones and e-mails: those of other accounts here
    // (documents are read only when the files give any), and of other
    // accounts' rows.
    let codes_given = plan.accounts.iter().any(|p| p.code.is_some());
    if codes_given || plan.accounts.iter().any(|p| !p.phones.is_empty() || !p.emails.is_empty()) {
        let mut phones: HashMap<String, Vec<AccountId>> = HashMap::new();
        let mut emails: HashMap<String, Vec<AccountId>> = HashMap::new();
        let mut codes: HashMap<String, Vec<AccountId>> = HashMap::new();
        for s in &summaries {
            let account = replica.account(s.id)?;
            if let Some(key) = account.party.registration_code.as_deref().and_then(code_key) {
                codes.entry(key).or_default().push(s.id);
            }
            for c in &account.contacts {
                for p in &c.phones {
                    phones.entry(phone_key(&p.number)).or_default().push(s.id);
                }
                for e in &c.emails {
                    emails.entry(email_key(e)).or_default().push(s.id);
                }
            }
        }
        let mut row_phones: HashMap<String, (usize, Source)> = HashMap::new();
        let mut row_emails: HashMap<String, (usize, Source)> = HashMap::new();
        let mut row_codes: HashMap<String, (usize, Source)> = HashMap::new();
        for (i, p) in plan.accounts.iter().enumerate() {
            let me = existing(p);
            let code: Vec<(Source, String)> = p.code.iter().cloned().collect();
            for (values, here, rows, same) in [
                (&code, &codes, &mut row_codes, Same::RegistrationCode),
                (&p.phones, &phones, &mut row_phones, Same::Phone),
                (&p.emails, &emails, &mut row_emails, Same::Email),
            ] {
                for (src, key) in values {
                    if key.is_empty() {
                        continue;
                    }
                    let mut others: Vec<AccountId> =
                        here.get(key).into_iter().flatten().copied().filter(|id| Some(*id) != me).collect();
                    others.dedup();
                    for id in others {
                        found.push(duplicate(plan, *src, same, Other::Account(id)));
                    }
                    match rows.get(key) {
                        Some((j, first)) if *j != i => {
                            found.push(duplicate(
                                plan,
                                *src,
                                same,
                                Other::Row { file: first.file.as_str(), row: first.row },
                            ));
                        }
                        Some(_) => {}
                        None => {
                            rows.insert(key.clone(), (i, *src));
                        }
                    }
                }
            }
        }
    }
    found.sort_by_key(|d| (d.file != "accounts", d.file, d.row));
    Ok(found)
}
