//! `rapport deal …`: deals and their stages.

use super::*;

pub fn deal(replica: &mut Replica, command: DealCommand) -> Result<()> {
    match command {
        DealCommand::Add { id, title, amount, currency, stage, probability } => {
            let account = account_id(replica, &id)?;
            let minor = rapport_core::parse_major_units("--amount", &amount, &currency)?;
            let mut new = NewDeal::new(title, Money::new(minor, &currency)?);
            new.stage = stage;
            new.probability = probability;
            let deal = replica.edit(account, |e| e.add_deal(&new))?;
            outln!("added deal {:?} to {account}", new.title.trim());
            outln!("{deal}");
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
