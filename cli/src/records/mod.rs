//! Offline commands: they read and edit the local replica only. Edits reach
//! the server on the next `rapport sync` (or within seconds under `rapport watch`).
//!
//! One file per noun group; this file holds what they share: naming records
//! by id prefix, and parsing flag values, dates and times.

use std::fmt::Display;
use std::str::FromStr;

use rapport_core::replica::MIN_ID_PREFIX;
use rapport_core::{AccountId, ContactId, DealId, InteractionId, RecordKind, Replica, TaskId};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::error::{CliError, Result};

mod account;
mod conflicts;
mod contact;
mod deal;
mod interaction;
mod office;
mod party;
mod settings;
mod task;

pub use account::account;
pub use conflicts::{conflicts, resolve};
pub use contact::{consent, contact};
pub use deal::deal;
pub use interaction::interaction;
pub use party::{ladder, lifecycle, notes, role, tag, tie};
pub use settings::settings;
pub use task::task;

/// An account named by its id or the first few characters of it (as `git`
/// accepts short hashes).
pub fn account_id(replica: &Replica, s: &str) -> Result<AccountId> {
    replica.find_account(s).map_err(|e| match e {
        rapport_core::Error::InvalidValue { .. } => CliError::Usage(format!(
            "{s:?} is not an account id (a UUID, or its first {MIN_ID_PREFIX} or more characters); find ids with \
             `rapport account list`"
        )),
        other => CliError::Core(other),
    })
}

/// A record of one account (a deal, contact, task, …) named by its id or the
/// first few characters of it, chosen among `ids`. A whole id is taken as is
/// (the operation reports it if the account has no such record).
pub fn member_id<T: FromStr + Display + Copy>(
    kind: RecordKind,
    account: AccountId,
    ids: impl IntoIterator<Item = T>,
    s: &str,
) -> Result<T> {
    if let Ok(id) = T::from_str(s.trim()) {
        return Ok(id);
    }
    let prefix = s.trim().to_ascii_lowercase();
    let article = if kind.to_string().starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    let usage = || {
        CliError::Usage(format!(
            "{s:?} is not {article} {kind} id of this account (a UUID, or its first {MIN_ID_PREFIX} or more characters); see \
             the account's {kind}s with `rapport account show {account}`"
        ))
    };
    if prefix.len() < MIN_ID_PREFIX {
        return Err(usage());
    }
    let found: Vec<T> = ids.into_iter().filter(|id| id.to_string().starts_with(&prefix)).collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(usage()),
        _ => Err(CliError::Core(rapport_core::Error::AmbiguousId {
            kind,
            prefix,
            matches: found.iter().map(ToString::to_string).collect(),
            more: false,
        })),
    }
}

/// A deal of `account` named by its id or the first few characters of it.
pub fn deal_id(replica: &Replica, account: AccountId, s: &str) -> Result<DealId> {
    if let Ok(id) = DealId::from_str(s.trim()) {
        return Ok(id);
    }
    member_id(RecordKind::Deal, account, replica.account(account)?.deals.iter().map(|d| d.id), s)
}

/// A contact of `account` named by its id or the first few characters of it.
pub fn contact_id(replica: &Replica, account: AccountId, s: &str) -> Result<ContactId> {
    if let Ok(id) = ContactId::from_str(s.trim()) {
        return Ok(id);
    }
    member_id(RecordKind::Contact, account, replica.account(account)?.contacts.iter().map(|c| c.id), s)
}

/// A task of `account` named by its id or the first few characters of it.
pub fn task_id(replica: &Replica, account: AccountId, s: &str) -> Result<TaskId> {
    if let Ok(id) = TaskId::from_str(s.trim()) {
        return Ok(id);
    }
    member_id(RecordKind::Task, account, replica.account(account)?.tasks.iter().map(|t| t.id), s)
}

/// An interaction of `account` named by its id or the first few characters of it.
pub fn interaction_id(replica: &Replica, account: AccountId, s: &str) -> Result<InteractionId> {
    if let Ok(id) = InteractionId::from_str(s.trim()) {
        return Ok(id);
    }
    member_id(RecordKind::Interaction, account, replica.account(account)?.interactions.iter().map(|i| i.id), s)
}

/// Parses an enum value given on the command line, naming the flag on error.
pub fn parse_flag<T: FromStr<Err = rapport_core::Error>>(flag: &str, value: &str) -> Result<T> {
    parse_arg(&format!("--{flag}"), value)
}

/// Parses an enum value given as an argument, naming it (`role`) on error.
pub fn parse_arg<T: FromStr<Err = rapport_core::Error>>(what: &str, value: &str) -> Result<T> {
    value.parse::<T>().map_err(|e| match e {
        rapport_core::Error::InvalidValue { reason, .. } => {
            CliError::Usage(format!("invalid {what} {value:?}: {reason}"))
        }
        other => CliError::Core(other),
    })
}

/// A calendar date given as `YYYY-MM-DD`.
pub fn parse_date(flag: &str, value: &str) -> Result<Date> {
    Date::parse(value.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| {
        CliError::Usage(format!("invalid --{flag} {value:?}: expected a date as YYYY-MM-DD, e.g. 2027-03-31"))
    })
}

/// An instant given in RFC 3339 (`2027-03-31T09:30:00+03:00`) or as
/// `YYYY-MM-DD HH:MM` (or with a `T`) in UTC.
pub fn parse_time(flag: &str, value: &str) -> Result<OffsetDateTime> {
    let v = value.trim();
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t);
    }
    let plain = v.replacen('T', " ", 1);
    PrimitiveDateTime::parse(&plain, format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            CliError::Usage(format!(
                "invalid --{flag} {value:?}: expected a time as RFC 3339 (2027-03-31T09:30:00+03:00) or as \
                 YYYY-MM-DD HH:MM in UTC"
            ))
        })
}

/// Today's date in UTC.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}
