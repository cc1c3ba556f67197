//! Planning an account's own fields: a new account from its cells, or the
//! cells that differ from the account on this device; then its contacts and
//! deals, and every change run on an in-memory copy of the document.

use std::collections::{BTreeSet, HashMap};

use rapport_core::{
    Account, AccountDoc, AccountId, AccountStatus, Address, LifecyclePhase, LoyaltyRung, NewAccount, PartyKind,
    ValueTier,
};

use super::groups::Group;
use super::{
    AccountPlan, Cells, Counts, Op, Planner, RowError, Source, Target, invalid, reason, refine, run_op, same_cell,
};
use crate::cells::{self, iso_date};
use crate::headers::Column;
use crate::problem::Problem;

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
    Column::EndReason,
    Column::EndDate,
    Column::Tags,
    Column::Source,
    Column::RegistrationCode,
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
        Column::Source => "party.source",
        Column::RegistrationCode => "party.registration_code",
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
        Column::EndReason => p.ending.as_ref().map(|e| e.reason.clone()).unwrap_or_default(),
        Column::EndDate => p.ending.as_ref().map(|e| iso_date(e.on)).unwrap_or_default(),
        Column::Tags => p.tags.iter().cloned().collect::<Vec<_>>().join(";"),
        Column::Source => o(&p.source),
        Column::RegistrationCode => o(&p.registration_code),
        _ => String::new(),
    }
}

pub(super) fn tags(cell: &str) -> BTreeSet<String> {
    cell.split(';').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

impl Planner<'_> {
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
                        self.error(entry.src(*column), Problem::DiffersForAccount { row: first });
                    }
                    Some(_) => {}
                }
            }
        }
        merged
    }

    pub(super) fn plan_group(&mut self, group: Group) -> Option<AccountPlan> {
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
                        self.error(first, Problem::AccountUnreadable { message: e.to_string() });
                        return None;
                    }
                };
                let account = doc.read();
                if account.merged_into.is_some() {
                    self.error(at(Column::AccountId), Problem::MergedAccount);
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
                self.plan_status(&cells, Some(&account), first, &mut ops);
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
                        self.error(at(column), invalid(&e));
                        return None;
                    }
                };
                self.plan_status(&cells, None, first, &mut ops);
                // A new account takes its code after it is created (not a field of `NewAccount`).
                if let Some(code) = cells.get(&Column::RegistrationCode).filter(|c| !c.trim().is_empty()) {
                    let path = "party.registration_code".to_owned();
                    ops.push((at(Column::RegistrationCode), Op::Set { path, value: code.clone() }));
                }
                (Target::Create(Box::new(new)), doc)
            }
        };
        self.check_names(first, &target, &ops);
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
            code: cells
                .get(&Column::RegistrationCode)
                .and_then(|c| rapport_core::matching::code_key(c))
                .map(|key| (at(Column::RegistrationCode), key)),
        };
        self.plan_contacts(&account, &group.contacts, &mut plan);
        self.plan_deals(&account, &group.deals, &mut plan);
        // Every change, on the in-memory copy: core checks every value.
        let author = self.replica.author();
        let mut editor = doc.edit(author, self.replica.settings());
        for (src, op) in &plan.ops {
            if let Err(e) = run_op(&mut editor, op) {
                let src = refine(*src, &e);
                let hint = match (&e, src.column) {
                    (_, Some(Column::ContactEmail)) => {
                        "; write addresses like name@example.com, several separated by ;"
                    }
                    (_, Some(Column::ContactPhone | Column::ContactMobile)) => {
                        "; write numbers like +380 44 123 45 67, several separated by ;"
                    }
                    (rapport_core::Error::InvalidValue { .. }, _) => "; correct the cell and import again",
                    _ => "",
                };
                self.error(src, Problem::InvalidValue { message: format!("{}{hint}", reason(&e)) });
            }
        }
        (self.plan.errors.len() == errors_before).then_some(plan)
    }

    /// The `status` column: ending a relationship (with a catalogue reason
    /// from `end_reason` and the date from `end_date`, else the ending's or
    /// today's) or reopening it, never a bare status write, so that ended
    /// relationships keep their reason, date and phase.
    fn plan_status(&mut self, cells: &Cells, account: Option<&Account>, first: Source, ops: &mut Vec<(Source, Op)>) {
        let at = |column: Column| Source { column: Some(column), ..first };
        let text = |c: Column| cells.get(&c).filter(|v| !v.is_empty());
        let now = account.map_or(AccountStatus::Active, |a| a.party.status);
        let ending = account.and_then(|a| a.party.ending.as_ref());
        let status = match text(Column::Status).map_or(Ok(now), |v| v.parse::<AccountStatus>()) {
            Ok(status) => status,
            Err(e) => {
                self.error(at(Column::Status), invalid(&e));
                return;
            }
        };
        let catalogue = || self.replica.settings().end_reasons.clone();
        let reason = text(Column::EndReason).cloned().or_else(|| ending.map(|e| e.reason.clone()));
        let date = match text(Column::EndDate) {
            Some(v) => match cells::date(v) {
                Some(d) => Some(d),
                None => {
                    self.error(at(Column::EndDate), Problem::ExpectedDate);
                    return;
                }
            },
            None => None,
        };
        if status == AccountStatus::Active {
            if text(Column::EndReason).is_some() || date.is_some() {
                self.error(at(Column::EndReason), Problem::EndOnlyForEnded);
            } else if now != AccountStatus::Active {
                ops.push((at(Column::Status), Op::Reopen));
            }
            return;
        }
        let Some(reason) = reason else {
            self.error(at(Column::Status), Problem::EndedNeedsReason { reasons: catalogue() });
            return;
        };
        if !self.replica.settings().end_reasons.contains(&reason) {
            self.error(at(Column::EndReason), Problem::NotEndReason { reasons: catalogue() });
            return;
        }
        let on = date.or(ending.map(|e| e.on)).unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
        let same = now == status && ending.is_some_and(|e| e.reason == reason && e.on == on);
        if !same {
            ops.push((at(Column::Status), Op::End { status, reason, on }));
        }
    }

    fn new_account(&mut self, id: Option<AccountId>, cells: &Cells, first: Source) -> Option<NewAccount> {
        let text = |c: Column| cells.get(&c).filter(|v| !v.is_empty()).cloned();
        let before = self.plan.errors.len();
        let errors = &mut self.plan.errors;
        let mut new = NewAccount::new(text(Column::Name).unwrap_or_default());
        new.id = id;
        new.kind = parsed(cells, Column::Kind, PartyKind::Organization, first, errors);
        new.value_tier = parsed(cells, Column::ValueTier, ValueTier::Standard, first, errors);
        new.loyalty_rung = parsed(cells, Column::LoyaltyRung, LoyaltyRung::Prospect, first, errors);
        new.lifecycle_phase = parsed(cells, Column::LifecyclePhase, LifecyclePhase::PreRelationship, first, errors);
        // Checked here, set after the account is created (see plan_group).
        parsed(cells, Column::Status, AccountStatus::Active, first, errors);
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
        (self.plan.errors.len() == before).then_some(new)
    }
}

/// A cell parsed as `T`, or `default` when empty or absent; a bad value is
/// an error at the cell.
fn parsed<T: std::str::FromStr<Err = rapport_core::Error>>(
    cells: &Cells,
    column: Column,
    default: T,
    first: Source,
    errors: &mut Vec<RowError>,
) -> T {
    match cells.get(&column).filter(|v| !v.is_empty()) {
        None => default,
        Some(v) => v.parse().unwrap_or_else(|e| {
            errors.push(RowError::at(Source { column: Some(column), ..first }, invalid(&e)));
            default
        }),
    }
}
