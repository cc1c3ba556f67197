//! Party-level edits: notes, tags, roles, ties, and moves on the loyalty
//! ladder and through the lifecycle.

use std::str::FromStr;

use rapport_core::{AccountId, LifecyclePhase, LoyaltyRung, NewTie, Replica, Role, TieKind};
use uuid::Uuid;

use super::{account_id, parse_arg, parse_flag};
use crate::args::{LadderCommand, LifecycleCommand, NotesCommand, RoleCommand, TagCommand, TieCommand};
use crate::error::{CliError, Result};

pub fn notes(replica: &mut Replica, command: NotesCommand) -> Result<()> {
    match command {
        NotesCommand::Set { id, text } => {
            let id = account_id(replica, &id)?;
            replica.edit(id, |e| e.set_notes(&text))?;
            outln!("notes of {id} replaced");
        }
    }
    Ok(())
}

pub fn tag(replica: &mut Replica, command: TagCommand) -> Result<()> {
    match command {
        TagCommand::Add { id, tag } => {
            let id = account_id(replica, &id)?;
            replica.edit(id, |e| e.add_tag(&tag))?;
            outln!("tagged {id} {:?}", tag.trim());
        }
        TagCommand::Remove { id, tag } => {
            let id = account_id(replica, &id)?;
            replica.edit(id, |e| e.remove_tag(&tag))?;
            outln!("removed tag {:?} from {id}", tag.trim());
        }
    }
    Ok(())
}

pub fn role(replica: &mut Replica, command: RoleCommand) -> Result<()> {
    match command {
        RoleCommand::Add { id, role } => {
            let id = account_id(replica, &id)?;
            let role = parse_arg::<Role>("role", &role)?;
            replica.edit(id, |e| e.add_role(role))?;
            outln!("{id} is a {}", role.as_str());
        }
        RoleCommand::Remove { id, role } => {
            let id = account_id(replica, &id)?;
            let role = parse_arg::<Role>("role", &role)?;
            replica.edit(id, |e| e.remove_role(role))?;
            outln!("{id} is no longer a {}", role.as_str());
        }
    }
    Ok(())
}

pub fn ladder(replica: &mut Replica, command: LadderCommand) -> Result<()> {
    match command {
        LadderCommand::Move { id, to, reason } => {
            let id = account_id(replica, &id)?;
            let to = parse_flag::<LoyaltyRung>("to", &to)?;
            replica.edit(id, |e| e.move_ladder(to, reason.as_deref()))?;
            outln!("moved {id} to {} on the loyalty ladder", to.as_str());
        }
    }
    Ok(())
}

pub fn lifecycle(replica: &mut Replica, command: LifecycleCommand) -> Result<()> {
    match command {
        LifecycleCommand::Move { id, to, reason } => {
            let id = account_id(replica, &id)?;
            let to = parse_flag::<LifecyclePhase>("to", &to)?;
            replica.edit(id, |e| e.move_lifecycle(to, reason.as_deref()))?;
            outln!("moved {id} to the {} phase", to.as_str());
        }
    }
    Ok(())
}

pub fn tie(replica: &mut Replica, command: TieCommand) -> Result<()> {
    match command {
        TieCommand::Add { id, from, to, kind, role } => {
            let account = account_id(replica, &id)?;
            let new = NewTie {
                from: end(replica, account, "from", &from)?,
                to: end(replica, account, "to", &to)?,
                kind: parse_flag::<TieKind>("kind", &kind)?,
                role,
            };
            let tie = replica.edit(account, |e| e.add_tie(&new))?;
            outln!("tied {} to {} ({})", new.from, new.to, new.kind.as_str());
            outln!("{tie}");
        }
    }
    Ok(())
}

/// One end of a tie: a whole id (a contact or party, possibly one this
/// replica does not hold), or the first characters of a contact of this
/// account or of an account on this replica.
fn end(replica: &Replica, account: AccountId, flag: &str, s: &str) -> Result<Uuid> {
    if let Ok(id) = Uuid::from_str(s.trim()) {
        return Ok(id);
    }
    let prefix = s.trim().to_ascii_lowercase();
    let contacts: Vec<Uuid> = replica
        .account(account)?
        .contacts
        .iter()
        .map(|c| c.id.0)
        .filter(|id| prefix.len() >= rapport_core::replica::MIN_ID_PREFIX && id.to_string().starts_with(&prefix))
        .collect();
    match contacts.as_slice() {
        [one] => return Ok(*one),
        [] => {}
        _ => {
            return Err(CliError::Core(rapport_core::Error::AmbiguousId {
                kind: rapport_core::RecordKind::Contact,
                prefix,
                matches: contacts.iter().map(ToString::to_string).collect(),
                more: false,
            }));
        }
    }
    match replica.find_account(s) {
        Ok(id) => Ok(id.0),
        Err(e @ rapport_core::Error::AmbiguousId { .. }) => Err(CliError::Core(e)),
        Err(_) => Err(CliError::Usage(format!(
            "--{flag} {s:?} is neither a contact of this account nor an account on this replica (give a whole id, \
             or the first {} or more characters of one)",
            rapport_core::replica::MIN_ID_PREFIX
        ))),
    }
}
