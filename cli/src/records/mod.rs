//! Offline commands: they read and edit the local replica only. Edits reach
//! the server on the next `rapport sync` (or within seconds under `rapport watch`).

use std::str::FromStr;

use rapport_core::replica::MIN_ID_PREFIX;
use rapport_core::{
    AccountFilter, AccountId, AccountStatus, DealId, InteractionKind, LifecyclePhase, LoyaltyRung, Money, NewAccount,
    NewDeal, NewInteraction, PartyKind, Replica, ValueTier,
};
use serde::Serialize;

use crate::args::{AccountCommand, DealCommand, InteractionCommand, ListArgs, NotesCommand, TagCommand};
use crate::error::{CliError, Result};
use crate::output;

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

/// A deal of `account` named by its id or the first few characters of it.
pub fn deal_id(replica: &Replica, account: AccountId, s: &str) -> Result<DealId> {
    if let Ok(id) = DealId::from_str(s.trim()) {
        return Ok(id);
    }
    let prefix = s.trim().to_ascii_lowercase();
    let usage = || {
        CliError::Usage(format!(
            "{s:?} is not a deal id of this account (a UUID, or its first {MIN_ID_PREFIX} or more characters); see \
             the account's deals with `rapport account show {account}`"
        ))
    };
    if prefix.len() < MIN_ID_PREFIX {
        return Err(usage());
    }
    let deals: Vec<DealId> =
        replica.account(account)?.deals.iter().map(|d| d.id).filter(|id| id.to_string().starts_with(&prefix)).collect();
    match deals.as_slice() {
        [one] => Ok(*one),
        [] => Err(usage()),
        _ => Err(CliError::Core(rapport_core::Error::AmbiguousId {
            kind: rapport_core::RecordKind::Deal,
            prefix,
            matches: deals.iter().map(ToString::to_string).collect(),
        })),
    }
}

/// Parses an enum value given on the command line, naming the flag on error.
pub fn parse_flag<T: FromStr<Err = rapport_core::Error>>(flag: &str, value: &str) -> Result<T> {
    value.parse::<T>().map_err(|e| match e {
        rapport_core::Error::InvalidValue { reason, .. } => {
            CliError::Usage(format!("invalid --{flag} {value:?}: {reason}"))
        }
        other => CliError::Core(other),
    })
}

mod account;
mod conflicts;
mod deal;
mod interaction;
mod party;

pub use account::account;
pub use conflicts::{conflicts, resolve};
pub use deal::deal;
pub use interaction::interaction;
pub use party::{notes, tag};
