//! `rapport interaction …`: log held interactions, plan future ones, mark planned ones held.

use rapport_core::{
    AccountId, Direction, HeldInteraction, InteractionKind, InteractionStatus, NewInteraction, Replica,
};

use super::{account_id, contact_id, deal_id, interaction_id, parse_flag, parse_time};
use crate::args::{InteractionCommand, InteractionWith};
use crate::error::Result;

/// Fills in the contacts, deal and direction, resolving shortened ids.
fn with(replica: &Replica, account: AccountId, with: &InteractionWith, new: &mut NewInteraction) -> Result<()> {
    for c in &with.contacts {
        new.contacts.insert(contact_id(replica, account, c)?);
    }
    new.deal = with.deal.as_deref().map(|d| deal_id(replica, account, d)).transpose()?;
    new.direction = with.direction.as_deref().map(|d| parse_flag::<Direction>("direction", d)).transpose()?;
    Ok(())
}

pub fn interaction(replica: &mut Replica, command: InteractionCommand) -> Result<()> {
    match command {
        InteractionCommand::Log { id, kind, subject, notes, at, with: w, outcome } => {
            let account = account_id(replica, &id)?;
            let mut new = NewInteraction::new(parse_flag::<InteractionKind>("kind", &kind)?, subject);
            new.notes = notes;
            new.outcome = outcome;
            new.actual_start = at.as_deref().map(|t| parse_time("at", t)).transpose()?;
            with(replica, account, &w, &mut new)?;
            let interaction = replica.edit(account, |e| e.log_interaction(&new))?;
            outln!("logged {} on {account}", new.kind.as_str());
            outln!("{interaction}");
        }
        InteractionCommand::Plan { id, kind, subject, at, until, with: w, notes } => {
            let account = account_id(replica, &id)?;
            let mut new = NewInteraction::new(parse_flag::<InteractionKind>("kind", &kind)?, subject);
            new.status = InteractionStatus::Planned;
            let start = parse_time("at", &at)?;
            new.planned_start = Some(start);
            new.planned_end = until.as_deref().map(|t| parse_time("until", t)).transpose()?;
            new.notes = notes;
            with(replica, account, &w, &mut new)?;
            let interaction = replica.edit(account, |e| e.log_interaction(&new))?;
            outln!("planned {} on {account} at {}", new.kind.as_str(), crate::output::when(start));
            outln!("{interaction}");
        }
        InteractionCommand::Held { id, interaction, at, until, outcome, notes } => {
            let account = account_id(replica, &id)?;
            let interaction = interaction_id(replica, account, &interaction)?;
            let held = HeldInteraction {
                at: at.as_deref().map(|t| parse_time("at", t)).transpose()?,
                until: until.as_deref().map(|t| parse_time("until", t)).transpose()?,
                outcome,
                notes,
            };
            replica.edit(account, |e| e.hold_interaction(interaction, &held))?;
            outln!("marked interaction {interaction} on {account} as held");
        }
    }
    Ok(())
}
