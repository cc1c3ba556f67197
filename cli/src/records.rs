//! Offline commands: they read and edit the local replica only. Edits reach
//! the server on the next `rapport sync` (or within seconds under `rapport watch`).

use std::str::FromStr;

use rapport_core::replica::MIN_ID_PREFIX;
use rapport_core::{
    AccountFilter, AccountId, AccountStatus, DealId, InteractionKind, LifecyclePhase, LoyaltyRung, Money, NewAccount,
    NewDeal, NewInteraction, PartyKind, Replica, ValueTier,
};
use serde::Serialize;

use crate::args::{AccountCommand, DealCommand, InteractionCommand, ListArgs, NotesCommand, TagCommand};
use crate::error::{CliError, Result};
use crate::output;

/// An account named by its id or the first few characters of it (as `git`
/// accepts short hashes).
pub fn account_id(replica: &Replica, s: &str) -> Result<AccountId> {
    replica.find_account(s).map_err(|e| match e {
        rapport_core::Error::InvalidValue { .. } => CliError::Usage(format!(
            "{s:?} is not an account id (a UUID, or its first {MIN_ID_PREFIX} or more characters); find ids with \
             `rapport account list`"
        )),
        other => CliError::Core(other),
    })
}

/// A deal of `account` named by its id or the first few characters of it.
pub fn deal_id(replica: &Replica, account: AccountId, s: &str) -> Result<DealId> {
    if let Ok(id) = DealId::from_str(s.trim()) {
        return Ok(id);
    }
    let prefix = s.trim().to_ascii_lowercase();
    let usage = || {
        CliError::Usage(format!(
            "{s:?} is not a deal id of this account (a UUID, or its first {MIN_ID_PREFIX} or more characters); see \
             the account's deals with `rapport account show {account}`"
        ))
    };
    if prefix.len() < MIN_ID_PREFIX {
        return Err(usage());
    }
    let deals: Vec<DealId> =
        replica.account(account)?.deals.iter().map(|d| d.id).filter(|id| id.to_string().starts_with(&prefix)).collect();
    match deals.as_slice() {
        [one] => Ok(*one),
        [] => Err(usage()),
        _ => Err(CliError::Core(rapport_core::Error::AmbiguousId {
            kind: rapport_core::RecordKind::Deal,
            prefix,
            matches: deals.iter().map(ToString::to_string).collect(),
        })),
    }
}

/// Parses an enum value given on the command line, naming the flag on error.
pub fn parse_flag<T: FromStr<Err = rapport_core::Error>>(flag: &str, value: &str) -> Result<T> {
    value.parse::<T>().map_err(|e| match e {
        rapport_core::Error::InvalidValue { reason, .. } => {
            CliError::Usage(format!("invalid --{flag} {value:?}: {reason}"))
        }
        other => CliError::Core(other),
    })
}

pub fn account(replica: &mut Replica, command: AccountCommand) -> Result<()> {
    match command {
        AccountCommand::Add { name, kind, owner, territory, team } => {
            let mut new = NewAccount::new(name);
            new.kind = parse_flag::<PartyKind>("kind", &kind)?;
            new.owner = owner;
            new.territory = territory;
            new.team = team;
            let id = replica.create_account(&new)?;
            outln!("created account {:?}", new.name.trim());
            outln!("{id}");
        }
        AccountCommand::Set { id, field, value } => {
            let id = account_id(replica, &id)?;
            // The CSV column names (`city`, `postcode`, …) work too.
            let field = crate::csv::field_path(&field).map_or(field, str::to_owned);
            replica.edit(id, |e| e.set_field(&field, &value))?;
            outln!("set {field} on {id}");
        }
        AccountCommand::Show { id, json } => {
            let id = account_id(replica, &id)?;
            let account = replica.account(id)?;
            let conflicts = replica.conflicts(id)?;
            if json {
                output::json(&ShowJson { account: &account, conflicts: &conflicts })?;
            } else {
                outln!("{}", output::account(&account, &conflicts));
            }
        }
        AccountCommand::List(args) => list(replica, args)?,
        AccountCommand::History { id, json } => {
            let history = replica.history(account_id(replica, &id)?)?;
            if json {
                output::json(&history)?;
            } else {
                for h in &history {
                    outln!("{}", output::history_line(h));
                }
            }
        }
        AccountCommand::Delete { id } => {
            let id = account_id(replica, &id)?;
            replica.edit(id, |e| e.soft_delete())?;
            outln!("deleted {id} (undo with `rapport account restore {id}`)");
        }
        AccountCommand::Restore { id } => {
            let id = account_id(replica, &id)?;
            replica.edit(id, |e| e.restore())?;
            outln!("restored {id}");
        }
        AccountCommand::Merge { survivor, duplicate } => {
            let (s, d) = (account_id(replica, &survivor)?, account_id(replica, &duplicate)?);
            replica.merge_accounts(s, d)?;
            outln!("merged {d} into {s}; {d} now redirects to {s}");
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct ShowJson<'a> {
    account: &'a rapport_core::Account,
    conflicts: &'a [rapport_core::Conflict],
}

/// Builds the index filter from flags and repeated `--filter key=value`.
pub fn filter(args: &ListArgs) -> Result<AccountFilter> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for (key, value) in [
        ("owner", &args.owner),
        ("team", &args.team),
        ("territory", &args.territory),
        ("tag", &args.tag),
        ("stage", &args.stage),
        ("rung", &args.rung),
        ("phase", &args.phase),
        ("tier", &args.tier),
        ("status", &args.status),
        ("search", &args.search),
    ] {
        if let Some(v) = value {
            pairs.push((key, v));
        }
    }
    for f in &args.filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--filter {f:?} must be KEY=VALUE, e.g. --filter owner=ana")))?;
        pairs.push((k.trim(), v.trim()));
    }
    let mut out = AccountFilter {
        include_deleted: args.include_deleted,
        with_conflicts: args.conflicts,
        limit: args.limit,
        ..AccountFilter::default()
    };
    for (key, value) in pairs {
        let v = value.to_owned();
        match key {
            "owner" => out.owner = Some(v),
            "team" => out.team = Some(v),
            "territory" => out.territory = Some(v),
            "tag" => out.tag = Some(v),
            "stage" => out.deal_stage = Some(v),
            "search" | "text" => out.text = Some(v),
            "rung" => out.loyalty_rung = Some(parse_flag::<LoyaltyRung>("rung", value)?),
            "phase" => out.lifecycle_phase = Some(parse_flag::<LifecyclePhase>("phase", value)?),
            "tier" => out.value_tier = Some(parse_flag::<ValueTier>("tier", value)?),
            "status" => out.status = Some(parse_flag::<AccountStatus>("status", value)?),
            other => {
                return Err(CliError::Usage(format!(
                    "unknown filter {other:?}; use owner, team, territory, tag, stage, rung, phase, tier, status or search"
                )));
            }
        }
    }
    Ok(out)
}

fn list(replica: &Replica, args: ListArgs) -> Result<()> {
    let rows = replica.list(&filter(&args)?)?;
    if args.json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        eprintln!("no accounts match");
        return Ok(());
    }
    outln!("{}", output::summary_header());
    for r in &rows {
        outln!("{}", output::summary_line(r));
    }
    Ok(())
}

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

/// One open conflict, as `rapport conflicts --json` prints it.
#[derive(Debug, Serialize)]
pub struct ConflictRow {
    pub account: AccountId,
    pub name: String,
    #[serde(flatten)]
    pub conflict: rapport_core::Conflict,
}

pub fn conflicts(replica: &Replica, json: bool) -> Result<()> {
    let mut rows = Vec::new();
    for (account, conflict) in replica.all_conflicts()? {
        let name = replica.summary(account).map(|s| s.name).unwrap_or_default();
        rows.push(ConflictRow { account, name, conflict });
    }
    if json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        outln!("no conflicts");
        return Ok(());
    }
    for r in &rows {
        outln!("{}  {}  {}", r.account, r.name, r.conflict.field);
        for v in &r.conflict.values {
            let shown = if v.value.is_empty() { "(cleared)" } else { v.value.as_str() };
            outln!(
                "    {} {:?}  by {}@{} at {}",
                if v.winner { "*" } else { " " },
                shown,
                v.user,
                v.device,
                output::when(v.at)
            );
        }
    }
    outln!("(* = shown now) resolve with `rapport resolve ID FIELD VALUE`");
    Ok(())
}

pub fn resolve(replica: &mut Replica, id: &str, field: &str, value: &str) -> Result<()> {
    let id = account_id(replica, id)?;
    let path: rapport_core::FieldPath = field.parse()?;
    let path = path.to_string();
    if !replica.conflicts(id)?.iter().any(|c| c.field == path) {
        return Err(CliError::Usage(format!(
            "{path} of {id} has no conflict; see open conflicts with `rapport conflicts`, or set a field with `rapport account set`"
        )));
    }
    replica.edit(id, |e| e.set_field(&path, value))?;
    outln!("resolved {path} on {id}; run `rapport sync` to clear it on every device");
    Ok(())
}
