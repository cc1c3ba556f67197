//! `rapport refused list|discard|retry`: edits the server refused, kept aside
//! on this device (ADR 0010), and a settings change it refused (`settings`
//! in place of a number).

use rapport_core::settings::SETTINGS_DOC_ID;
use rapport_core::{RefusedEdit, Replica};
use serde::Serialize;

use crate::args::RefusedCommand;
use crate::error::Result;
use crate::output;

#[derive(Serialize)]
struct Row<'a> {
    /// A number, or `"settings"` for the refused settings change.
    id: serde_json::Value,
    account: Option<String>,
    fields: Vec<String>,
    reason: &'a str,
    refused_at: Option<String>,
}

pub fn run(replica: &mut Replica, command: RefusedCommand) -> Result<()> {
    match command {
        RefusedCommand::List(f) => list(replica, f.json),
        RefusedCommand::Discard { id } if is_settings(&id) => {
            replica.discard_refused_settings()?;
            outln!("discarded the refused settings change; the settings are the server's again");
            Ok(())
        }
        RefusedCommand::Discard { id } => {
            replica.discard_refused(id.parse()?)?;
            outln!("discarded refused edit {id}");
            Ok(())
        }
        RefusedCommand::Retry { id } if is_settings(&id) => {
            replica.retry_refused_settings()?;
            outln!("the refused settings change is sent again at the next `rapport sync`");
            Ok(())
        }
        RefusedCommand::Retry { id } => {
            replica.retry_refused(id.parse()?)?;
            outln!("refused edit {id} made again; `rapport sync` sends it");
            Ok(())
        }
    }
}

/// `settings` names the refused settings change.
fn is_settings(id: &str) -> bool {
    id.trim().eq_ignore_ascii_case(SETTINGS_DOC_ID)
}

fn list(replica: &Replica, json: bool) -> Result<()> {
    let edits = replica.refused_edits()?;
    let settings = replica.refused_settings()?;
    if json {
        let rows: Vec<Row<'_>> = edits.iter().map(row).chain(settings.as_deref().map(settings_row)).collect();
        return output::json(&rows);
    }
    if edits.is_empty() && settings.is_none() {
        outln!("no refused edits");
        return Ok(());
    }
    for e in &edits {
        outln!("{}  {}  {}  {}: {}", e.id, output::when(e.refused_at), e.account, e.fields.join(", "), e.reason);
    }
    if let Some(reason) = &settings {
        outln!("settings  this device's settings changes: {reason}");
    }
    outln!("discard one with `rapport refused discard ID`, or make it again with `rapport refused retry ID`");
    Ok(())
}

fn row(e: &RefusedEdit) -> Row<'_> {
    Row {
        id: e.id.0.into(),
        account: Some(e.account.to_string()),
        fields: e.fields.clone(),
        reason: &e.reason,
        refused_at: Some(output::when(e.refused_at)),
    }
}

fn settings_row(reason: &str) -> Row<'_> {
    Row {
        id: SETTINGS_DOC_ID.into(),
        account: None,
        fields: vec![SETTINGS_DOC_ID.to_owned()],
        reason,
        refused_at: None,
    }
}
