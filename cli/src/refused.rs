//! `rapport refused list|discard|retry`: edits the server refused, kept aside
//! on this device (ADR 0010).

use rapport_core::{RefusedEdit, Replica};
use serde::Serialize;

use crate::args::RefusedCommand;
use crate::error::Result;
use crate::output;

#[derive(Serialize)]
struct Row<'a> {
    id: i64,
    account: String,
    fields: &'a [String],
    reason: &'a str,
    refused_at: String,
}

pub fn run(replica: &mut Replica, command: RefusedCommand) -> Result<()> {
    match command {
        RefusedCommand::List(f) => list(replica, f.json),
        RefusedCommand::Discard { id } => {
            replica.discard_refused(id.parse()?)?;
            outln!("discarded refused edit {id}");
            Ok(())
        }
        RefusedCommand::Retry { id } => {
            replica.retry_refused(id.parse()?)?;
            outln!("refused edit {id} made again; `rapport sync` sends it");
            Ok(())
        }
    }
}

fn list(replica: &Replica, json: bool) -> Result<()> {
    let edits = replica.refused_edits()?;
    if json {
        let rows: Vec<Row<'_>> = edits.iter().map(row).collect();
        return output::json(&rows);
    }
    if edits.is_empty() {
        outln!("no refused edits");
        return Ok(());
    }
    for e in &edits {
        outln!("{}  {}  {}  {}: {}", e.id, output::when(e.refused_at), e.account, e.fields.join(", "), e.reason);
    }
    outln!("discard one with `rapport refused discard ID`, or make it again with `rapport refused retry ID`");
    Ok(())
}

fn row(e: &RefusedEdit) -> Row<'_> {
    Row {
        id: e.id.0,
        account: e.account.to_string(),
        fields: &e.fields,
        reason: &e.reason,
        refused_at: output::when(e.refused_at),
    }
}
