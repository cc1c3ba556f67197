//! Party-level edits: notes and tags.

use super::*;

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
