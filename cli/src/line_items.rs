//! `rapport deal line-item …`: a deal's products and services, priced in
//! major units of the deal's currency on the command line.

use std::str::FromStr;

use rapport_core::replica::MIN_ID_PREFIX;
use rapport_core::{
    AccountId, DealId, LineItemChange, LineItemId, NewLineItem, RecordKind, Replica, format_major_units,
    parse_major_units,
};
use serde::Serialize;

use crate::args::LineItemCommand;
use crate::error::{CliError, Result};
use crate::output;
use crate::records::{account_id, deal_id, member_id};

/// A line item of `deal` named by its id or the first few characters of it.
fn item_id(replica: &Replica, account: AccountId, deal: DealId, s: &str) -> Result<LineItemId> {
    if let Ok(id) = LineItemId::from_str(s.trim()) {
        return Ok(id);
    }
    let items: Vec<LineItemId> =
        replica.account(account)?.deal(deal).map(|d| d.line_items.iter().map(|i| i.id).collect()).unwrap_or_default();
    member_id(RecordKind::LineItem, account, items, s).map_err(|e| match e {
        CliError::Usage(_) => CliError::Usage(format!(
            "{s:?} is not a line item id of this deal (a UUID, or its first {MIN_ID_PREFIX} or more characters); see \
             the deal's line items with `rapport deal line-item list ID DEAL`"
        )),
        other => other,
    })
}

/// `rapport deal line-item list --json`.
#[derive(Debug, Serialize)]
struct ListJson<'a> {
    deal: rapport_core::DealId,
    currency: &'a str,
    /// The amount in major units of the currency, e.g. "2260.80".
    amount: String,
    amount_minor: i64,
    amount_from_line_items: bool,
    line_items: &'a [rapport_core::LineItem],
}

pub fn line_item(replica: &mut Replica, command: LineItemCommand) -> Result<()> {
    match command {
        LineItemCommand::Add { id, deal, name, quantity, unit_price, discount } => {
            let account = account_id(replica, &id)?;
            let deal = deal_id(replica, account, &deal)?;
            let currency = currency_of(replica, account, deal)?;
            let unit_price_minor = parse_major_units("--unit-price", &unit_price, &currency)?;
            let new = NewLineItem { name, quantity, unit_price_minor, discount_percent: discount };
            let item = replica.edit(account, |e| e.add_line_item(deal, &new))?;
            outln!("added line item {:?} to deal {deal}", new.name.trim());
            outln!("{item}");
        }
        LineItemCommand::Set { id, deal, item, name, quantity, unit_price, discount } => {
            let account = account_id(replica, &id)?;
            let deal = deal_id(replica, account, &deal)?;
            let item = item_id(replica, account, deal, &item)?;
            let currency = currency_of(replica, account, deal)?;
            let unit_price_minor = unit_price.map(|p| parse_major_units("--unit-price", &p, &currency)).transpose()?;
            let change = LineItemChange { name, quantity, unit_price_minor, discount_percent: discount };
            if change == LineItemChange::default() {
                return Err(CliError::Usage(
                    "nothing to change: give --name, --quantity, --unit-price or --discount".into(),
                ));
            }
            replica.edit(account, |e| e.update_line_item(deal, item, &change))?;
            outln!("changed line item {item} of deal {deal}");
        }
        LineItemCommand::Remove { id, deal, item } => {
            let account = account_id(replica, &id)?;
            let deal = deal_id(replica, account, &deal)?;
            let item = item_id(replica, account, deal, &item)?;
            replica.edit(account, |e| e.remove_line_item(deal, item))?;
            outln!("removed line item {item} from deal {deal}");
        }
        LineItemCommand::List { id, deal, json } => {
            let account = account_id(replica, &id)?;
            let deal_id = deal_id(replica, account, &deal)?;
            let account = replica.account(account)?;
            let deal = account.deal(deal_id).ok_or_else(|| no_deal(deal_id))?;
            let currency = deal.amount.currency.as_str();
            if json {
                return output::json(&ListJson {
                    deal: deal.id,
                    currency,
                    amount: format_major_units(deal.amount.minor, currency),
                    amount_minor: deal.amount.minor,
                    amount_from_line_items: deal.amount_from_line_items,
                    line_items: &deal.line_items,
                });
            }
            for i in &deal.line_items {
                let total = i.total_minor().map(|t| format_major_units(t, currency)).unwrap_or_default();
                outln!(
                    "{}  {}  {} × {} {currency}  -{}%  = {total} {currency}",
                    i.id,
                    i.name,
                    i.quantity,
                    format_major_units(i.unit_price_minor, currency),
                    i.discount_percent
                );
            }
            let source = if deal.amount_from_line_items { "from the line items" } else { "set by hand" };
            outln!("amount {} {currency} ({source})", format_major_units(deal.amount.minor, currency));
        }
    }
    Ok(())
}

/// The currency of a deal, in which its line items are priced.
fn currency_of(replica: &Replica, account: rapport_core::AccountId, deal: rapport_core::DealId) -> Result<String> {
    let account = replica.account(account)?;
    let deal = account.deal(deal).ok_or_else(|| no_deal(deal))?;
    Ok(deal.amount.currency.clone())
}

fn no_deal(deal: rapport_core::DealId) -> CliError {
    CliError::Core(rapport_core::Error::NotFound { kind: rapport_core::RecordKind::Deal, id: deal.to_string() })
}
