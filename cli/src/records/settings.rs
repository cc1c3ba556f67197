//! `rapport settings …`: pipeline stages and reason catalogues.
//!
//! The settings are one document every device holds and syncs like an
//! account. Anyone sees them as of their last sync; a change made here is
//! pushed at the next sync, and the server accepts it only from an
//! administrator, a manager or the office (a rep's is refused: here already
//! when the device knows its user's role, which it learns at sync).

use rapport_core::{ReasonCatalogue, Replica, Stage, StageKind};

use super::parse_flag;
use crate::args::{ReasonCommand, SettingsCommand};
use crate::error::{CliError, Result};
use crate::output;

pub fn settings(replica: &mut Replica, command: SettingsCommand) -> Result<()> {
    if !matches!(command, SettingsCommand::Show(_)) {
        // Refused before anything else when this device knows its user's role.
        replica.may_change_settings()?;
    }
    match command {
        SettingsCommand::Show(f) => {
            let s = replica.settings();
            if f.json {
                return output::json(s);
            }
            outln!("pipeline stages:");
            outln!("  {:<16}  {:<20}  {:>5}  {:<5}  {:>5}  STALE AFTER", "ID", "NAME", "PROB", "KIND", "ORDER");
            for st in &s.stages {
                outln!(
                    "  {:<16}  {:<20}  {:>4}%  {:<5}  {:>5}  {}",
                    st.id,
                    st.name,
                    st.probability,
                    st.kind.as_str(),
                    st.order,
                    if st.stale_after_days == 0 { "-".to_owned() } else { format!("{} days", st.stale_after_days) }
                );
            }
            outln!("lost reasons: {}", s.lost_reasons.join(", "));
            outln!("end reasons:  {}", s.end_reasons.join(", "));
            if !s.tags.is_empty() {
                outln!("tags:         {}", s.tags.join(", "));
            }
            outln!(
                "(as this device knows them since its last sync; administrators, managers and the office change them)"
            );
        }
        SettingsCommand::Stage { id, name, probability, kind, order, stale_after_days } => {
            let current = replica.settings().stages.iter().find(|s| s.id == id.trim()).cloned();
            let kind = kind.as_deref().map(|k| parse_flag::<StageKind>("kind", k)).transpose()?;
            let stage = match current {
                Some(s) => Stage {
                    id: s.id,
                    name: name.unwrap_or(s.name),
                    probability: probability.unwrap_or(s.probability),
                    kind: kind.unwrap_or(s.kind),
                    order: order.unwrap_or(s.order),
                    stale_after_days: stale_after_days.unwrap_or(s.stale_after_days),
                },
                None => {
                    let (Some(name), Some(probability)) = (name, probability) else {
                        return Err(CliError::Usage(format!(
                            "there is no stage {:?} yet: a new stage needs --name and --probability (and --kind, \
                             --order, --stale-after-days if not open, last, 30)",
                            id.trim()
                        )));
                    };
                    let last = replica.settings().stages.iter().map(|s| s.order).max().unwrap_or(0);
                    Stage {
                        id: id.trim().to_owned(),
                        name,
                        probability,
                        kind: kind.unwrap_or(StageKind::Open),
                        order: order.unwrap_or(last + 1),
                        stale_after_days: stale_after_days.unwrap_or(30),
                    }
                }
            };
            replica.edit_settings(|doc, author| doc.put_stage(author, &stage))?;
            outln!(
                "stage {} saved ({}, {}%, {}); run `rapport sync` to send it",
                stage.id,
                stage.name,
                stage.probability,
                stage.kind.as_str()
            );
        }
        SettingsCommand::Reason(ReasonCommand::Add { catalogue, reason }) => {
            let which = catalogue_of(&catalogue)?;
            replica.edit_settings(|doc, author| doc.add_reason(author, which, &reason))?;
            outln!("added {:?} to the {} reasons; run `rapport sync` to send it", reason.trim(), catalogue.trim());
        }
        SettingsCommand::Reason(ReasonCommand::Remove { catalogue, reason }) => {
            let which = catalogue_of(&catalogue)?;
            replica.edit_settings(|doc, author| doc.remove_reason(author, which, &reason))?;
            outln!(
                "removed {:?} from the {} reasons (records that name it keep it); run `rapport sync` to send it",
                reason.trim(),
                catalogue.trim()
            );
        }
    }
    Ok(())
}

fn catalogue_of(catalogue: &str) -> Result<ReasonCatalogue> {
    match catalogue.trim() {
        "lost" | "lost_reasons" => Ok(ReasonCatalogue::LostReasons),
        "end" | "end_reasons" => Ok(ReasonCatalogue::EndReasons),
        other => Err(CliError::Usage(format!(
            "unknown catalogue {other:?}: use lost (why deals are lost) or end (why relationships end)"
        ))),
    }
}
