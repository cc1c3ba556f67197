//! Bulk reassignment: a set of accounts given to another owner, team or
//! territory in one transaction (ADR 0024). Each account that differs gets
//! one change ([`crate::Editor::assign`]), so the edits sync like any other
//! and the next sync pushes them all.

use serde::{Deserialize, Serialize};

use super::directory::NameKind;
use super::index::AccountSummary;
use super::{Replica, keep_loaded, store_changes, take_loaded};
use crate::error::{Error, Result};
use crate::model::AccountId;

/// What a reassignment sets; `None` leaves that field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassignment {
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
}

/// One field one account would change in a reassignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// `owner`, `team` or `territory`.
    pub field: &'static str,
    pub from: Option<String>,
    pub to: String,
}

impl Reassignment {
    /// The names it sets, trimmed; an empty name is refused (a reassignment
    /// gives accounts to someone; it does not clear the field).
    fn fields(&self) -> Result<Vec<(NameKind, &'static str, &str)>> {
        let mut out = Vec::new();
        for (kind, field, value) in [
            (NameKind::Owner, "owner", &self.owner),
            (NameKind::Team, "team", &self.team),
            (NameKind::Territory, "territory", &self.territory),
        ] {
            if let Some(v) = value {
                let v = v.trim();
                if v.is_empty() {
                    return Err(Error::invalid(format!("party.{field}"), "give a name to reassign to"));
                }
                out.push((kind, field, v));
            }
        }
        if out.is_empty() {
            return Err(Error::invalid("reassignment", "give an owner, a team or a territory to reassign to"));
        }
        Ok(out)
    }

    /// What it would change on an account as the index lists it (nothing
    /// when the account already has these names).
    pub fn changes(&self, account: &AccountSummary) -> Result<Vec<FieldChange>> {
        Ok(self
            .fields()?
            .into_iter()
            .filter_map(|(_, field, to)| {
                let from = match field {
                    "owner" => &account.owner,
                    "team" => &account.team,
                    _ => &account.territory,
                };
                (from.as_deref() != Some(to)).then(|| FieldChange { field, from: from.clone(), to: to.to_owned() })
            })
            .collect())
    }
}

impl Replica {
    /// Checks every name of `to` against the directory ([`Replica::check_name`]):
    /// the first unknown one is [`Error::UnknownName`] with close names.
    pub fn check_reassignment(&self, to: &Reassignment) -> Result<()> {
        for (kind, _, name) in to.fields()? {
            self.check_name(kind, name)?;
        }
        Ok(())
    }

    /// Gives `accounts` to the owner, team and territory of `to`, all in one
    /// transaction (all or none), one change per account that differs.
    /// Returns the accounts changed. Names are not checked here: call
    /// [`Replica::check_reassignment`] first unless the caller chose to write
    /// unknown names.
    pub fn reassign(&mut self, accounts: &[AccountId], to: &Reassignment) -> Result<Vec<AccountId>> {
        let fields = to.fields()?;
        let tx = write_tx!(self);
        let mut docs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for &id in accounts {
            if !seen.insert(id) {
                continue;
            }
            let mut doc = take_loaded(&self.loaded, &tx, id, &self.author.actor)?;
            let party = doc.read().party;
            let before = doc.heads();
            let differ: Vec<(&str, &str)> = fields
                .iter()
                .filter(|(_, field, name)| {
                    let current = match *field {
                        "owner" => &party.owner,
                        "team" => &party.team,
                        _ => &party.territory,
                    };
                    current.as_deref() != Some(*name)
                })
                .map(|(_, field, name)| (*field, *name))
                .collect();
            let changed = !differ.is_empty();
            if changed {
                doc.edit(&self.author, &self.settings).assign(&differ)?;
                self.precheck(&mut doc, &before)?;
                store_changes(&tx, &mut doc, &before, true)?;
            }
            docs.push((doc, changed));
        }
        tx.commit()?;
        let mut out = Vec::new();
        for (doc, changed) in docs {
            if changed {
                out.push(doc.id());
            }
            keep_loaded(&self.loaded, doc);
        }
        Ok(out)
    }
}
