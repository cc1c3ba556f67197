//! `rapport deal …`: deals, their stages, and losing one with a reason.

use rapport_core::{ForecastCategory, Money, NewDeal, Replica, StageKind};

use super::{account_id, contact_id, deal_id, parse_date, parse_flag};
use crate::args::DealCommand;
use crate::error::{CliError, Result};

pub fn deal(replica: &mut Replica, command: DealCommand) -> Result<()> {
    match command {
        DealCommand::Add {
            id,
            title,
            amount,
            currency,
            stage,
            probability,
            forecast,
            close_date,
            next_step,
            next_step_due,
            contact,
        } => {
            let account = account_id(replica, &id)?;
            let currency = Money::new(0, &currency).map(|m| m.currency).map_err(|e| match e {
                rapport_core::Error::InvalidValue { reason, .. } => {
                    CliError::Usage(format!("invalid --currency {currency:?}: {reason}"))
                }
                other => CliError::Core(other),
            })?;
            let minor = rapport_core::parse_major_units("--amount", &amount, &currency)?;
            let mut new = NewDeal::new(title, Money::new(minor, &currency)?);
            new.stage = stage;
            new.probability = probability;
            new.forecast = forecast.as_deref().map(|f| parse_flag::<ForecastCategory>("forecast", f)).transpose()?;
            new.expected_close = close_date.as_deref().map(|d| parse_date("close-date", d)).transpose()?;
            new.next_step = next_step;
            new.next_step_due = next_step_due.as_deref().map(|d| parse_date("next-step-due", d)).transpose()?;
            new.primary_contact = contact.as_deref().map(|c| contact_id(replica, account, c)).transpose()?;
            let deal = replica.edit(account, |e| e.add_deal(&new))?;
            outln!("added deal {:?} to {account}", new.title.trim());
            outln!("{deal}");
        }
        DealCommand::Lost { id, deal, reason, note } => {
            let account = account_id(replica, &id)?;
            let deal = deal_id(replica, account, &deal)?;
            let reasons = &replica.settings().lost_reasons;
            if !reasons.iter().any(|r| r == reason.trim()) {
                return Err(CliError::Usage(format!(
                    "unknown --reason {reason:?}: the lost-reason catalogue has {}; an administrator adds reasons \
                     with `rapport settings reason add lost REASON`",
                    reasons.join(", ")
                )));
            }
            replica.edit(account, |e| e.mark_deal_lost(deal, &reason, note.as_deref()))?;
            outln!("deal {deal} lost ({})", reason.trim());
        }
        DealCommand::Won { id, deal } => {
            let account = account_id(replica, &id)?;
            let deal = deal_id(replica, account, &deal)?;
            let won = replica.settings().stages.iter().find(|s| s.kind == StageKind::Won).map(|s| s.id.clone());
            let won = won.ok_or_else(|| {
                CliError::Usage(
                    "the pipeline has no won stage; an administrator adds one with `rapport settings stage won \
                     --name Won --probability 100 --kind won`"
                        .into(),
                )
            })?;
            replica.edit(account, |e| e.move_deal_stage(deal, &won, None))?;
            outln!("deal {deal} won (stage {won})");
        }
        DealCommand::Stage { id, deal, stage, probability } => {
            let account = account_id(replica, &id)?;
            let deal = deal_id(replica, account, &deal)?;
            replica.edit(account, |e| e.move_deal_stage(deal, &stage, probability))?;
            outln!("moved deal {deal} to {stage}");
        }
        DealCommand::LineItem(command) => crate::line_items::line_item(replica, command)?,
        DealCommand::FollowLineItems { id, deal } => {
            let account = account_id(replica, &id)?;
            let deal = deal_id(replica, account, &deal)?;
            replica.edit(account, |e| e.follow_line_items(deal))?;
            outln!("the amount of deal {deal} follows its line items");
        }
    }
    Ok(())
}
