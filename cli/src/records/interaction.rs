//! `rapport interaction …`: the interaction log.

use super::*;

pub fn interaction(replica: &mut Replica, command: InteractionCommand) -> Result<()> {
    match command {
        InteractionCommand::Log { id, kind, subject, notes } => {
            let account = account_id(replica, &id)?;
            let mut new = NewInteraction::new(parse_flag::<InteractionKind>("kind", &kind)?, subject);
            new.notes = notes;
            let interaction = replica.edit(account, |e| e.log_interaction(&new))?;
            outln!("logged {} on {account}", new.kind.as_str());
            outln!("{interaction}");
        }
    }
    Ok(())
}
