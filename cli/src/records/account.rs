//! `rapport account …`: create, edit, show, list, history, delete, merge,
//! end and reopen the relationship.

use rapport_core::{
    Account, AccountFilter, AccountId, AccountStatus, Conflict, FieldPath, HistoryEntry, LifecyclePhase, LoyaltyRung,
    NameKind, NewAccount, PartyKind, RecordKind, Replica, ValueTier, parse_major_units,
};
use serde::Serialize;

use super::{account_id, contact_id, deal_id, interaction_id, member_id, parse_date, parse_flag, task_id, today};
use crate::args::{AccountCommand, ListArgs};
use crate::error::{CliError, Result};
use crate::output;

pub fn account(replica: &mut Replica, command: AccountCommand) -> Result<()> {
    match command {
        AccountCommand::Add { name, kind, owner, territory, team, allow_unknown_owner } => {
            if !allow_unknown_owner {
                for (kind, name) in
                    [(NameKind::Owner, &owner), (NameKind::Team, &team), (NameKind::Territory, &territory)]
                {
                    if let Some(name) = name.as_deref().filter(|n| !n.trim().is_empty()) {
                        replica.check_name(kind, name.trim())?;
                    }
                }
            }
            let mut new = NewAccount::new(name);
            new.kind = parse_flag::<PartyKind>("kind", &kind)?;
            new.owner = owner;
            new.territory = territory;
            new.team = team;
            let id = replica.create_account(&new)?;
            outln!("created account {:?}", new.name.trim());
            outln!("{id}");
        }
        AccountCommand::Set { id, field, value, allow_unknown_owner } => {
            let id = account_id(replica, &id)?;
            let (field, stored) = settable(replica, id, &field, &value)?;
            if let Some(kind) = assignment(&field).filter(|_| !allow_unknown_owner && !stored.trim().is_empty()) {
                replica.check_name(kind, stored.trim())?;
            }
            replica.edit(id, |e| e.set_field(&field, &stored))?;
            outln!("set {field} on {id}");
        }
        AccountCommand::Show { id, json, at } => {
            let id = account_id(replica, &id)?;
            let (account, conflicts) = match at {
                None => (replica.account(id)?, replica.conflicts(id)?),
                Some(hash) => {
                    let change = change_at(replica, id, &hash)?;
                    if !json {
                        outln!(
                            "as it was after change {} ({}, {}@{}, {})",
                            change.hash,
                            output::when(change.at),
                            change.user,
                            change.device,
                            change.op
                        );
                    }
                    let heads = [change.change_hash().ok_or_else(|| bad_hash(&hash))?];
                    (replica.account_at(id, &heads)?, Vec::new())
                }
            };
            if json {
                output::json(&ShowJson::new(&account, &conflicts))?;
            } else {
                let other = |id: uuid::Uuid| replica.account(AccountId(id)).ok().map(|a| a.party.name);
                outln!("{}", output::account(&account, &conflicts, &other));
            }
        }
        AccountCommand::List(args) => list(replica, args)?,
        AccountCommand::History { id, json } => {
            let id = account_id(replica, &id)?;
            let history = replica.history(id)?;
            if json {
                output::json(&history)?;
            } else {
                let account = replica.account(id)?;
                for h in &history {
                    outln!("{}", output::history_line(h));
                    for line in output::change_lines(&account, h) {
                        outln!("{line}");
                    }
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
        AccountCommand::End { id, reason, date, status, phase } => {
            let id = account_id(replica, &id)?;
            let status = parse_flag::<AccountStatus>("status", &status)?;
            if status == AccountStatus::Active {
                return Err(CliError::Usage(
                    "--status active does not end a relationship: give former or lost (to reopen an ended one, use \
                     `rapport account reopen`)"
                        .into(),
                ));
            }
            let reasons = &replica.settings().end_reasons;
            if !reasons.iter().any(|r| r == reason.trim()) {
                return Err(CliError::Usage(format!(
                    "unknown --reason {reason:?}: the end-reason catalogue has {}; an administrator adds reasons with \
                     `rapport settings reason add end REASON`",
                    reasons.join(", ")
                )));
            }
            let on = date.as_deref().map(|d| parse_date("date", d)).transpose()?.unwrap_or_else(today);
            let phase = phase.as_deref().map(|p| parse_flag::<LifecyclePhase>("phase", p)).transpose()?;
            // Moving to the phase it is in already would only add a step to the history.
            let current = replica.account(id)?.party.lifecycle_phase;
            let phase = phase.filter(|p| *p != current);
            replica.edit(id, |e| {
                if let Some(phase) = phase {
                    e.move_lifecycle(phase, Some(&reason))?;
                }
                e.end_relationship(status, &reason, on)
            })?;
            outln!("ended the relationship with {id} on {on} ({}, {})", status.as_str(), reason.trim());
        }
        AccountCommand::Duplicates { json } => super::office::duplicates(replica, json)?,
        AccountCommand::Reassign(args) => super::office::reassign(replica, args)?,
        AccountCommand::Reopen { id } => {
            let id = account_id(replica, &id)?;
            let party = replica.account(id)?.party;
            if party.ending.is_none() && party.status == AccountStatus::Active {
                return Err(CliError::Usage(format!("the relationship with {id} has not ended; nothing to reopen")));
            }
            replica.edit(id, |e| e.reopen_relationship())?;
            outln!("reopened the relationship with {id}");
        }
    }
    Ok(())
}

/// `rapport account show --json`: the account as core serializes it (RFC 3339
/// times, ISO dates, amounts in minor units) with every amount also in major
/// units, and the open conflicts.
#[derive(Serialize)]
struct ShowJson<'a> {
    account: &'a Account,
    /// Each deal's amount in major units of its currency (`"3600.00"`), by deal id.
    amounts: std::collections::BTreeMap<String, String>,
    conflicts: &'a [Conflict],
}

impl<'a> ShowJson<'a> {
    fn new(account: &'a Account, conflicts: &'a [Conflict]) -> Self {
        let amounts = account
            .deals
            .iter()
            .map(|d| (d.id.to_string(), rapport_core::format_major_units(d.amount.minor, &d.amount.currency)))
            .collect();
        ShowJson { account, amounts, conflicts }
    }
}

/// The field path and stored value `account set` writes: CSV column names
/// work as paths, record ids in the path may be shortened, amounts and prices
/// are typed in major units of the deal's currency. The status is refused:
/// ending a relationship needs a reason, a date and a phase.
fn settable(replica: &Replica, account: AccountId, field: &str, value: &str) -> Result<(String, String)> {
    let field = crate::csv::field_path(field).unwrap_or(field);
    let path = full_path(replica, account, field)?;
    if path == "party.status" {
        return Err(CliError::Usage(
            "the status is not set by hand: end a relationship with `rapport account end ID --reason REASON [--date \
             YYYY-MM-DD] [--status former|lost]` (it records the reason, date and phase), and reopen it with \
             `rapport account reopen ID`"
                .into(),
        ));
    }
    let money = path.starts_with("deals.") && (path.ends_with(".amount") || path.ends_with(".unit_price"));
    if !money {
        return Ok((path, value.to_owned()));
    }
    let deal: rapport_core::DealId = path.split('.').nth(1).unwrap_or_default().parse()?;
    let currency = replica.account(account)?.deal(deal).map(|d| d.amount.currency.clone()).ok_or_else(|| {
        CliError::Core(rapport_core::Error::NotFound { kind: RecordKind::Deal, id: deal.to_string() })
    })?;
    let minor = parse_major_units(&path, value, &currency)?;
    Ok((path, minor.to_string()))
}

/// A field path with the record ids in it (`deals.<id>.…`,
/// `deals.<id>.line_item:<id>.…`) given whole or shortened, made whole and
/// checked.
pub fn full_path(replica: &Replica, account: AccountId, field: &str) -> Result<String> {
    let mut parts: Vec<String> = field.split('.').map(str::to_owned).collect();
    if parts.len() >= 3 {
        let short = parts[1].clone();
        parts[1] = match parts[0].as_str() {
            "deals" => deal_id(replica, account, &short)?.to_string(),
            "contacts" => contact_id(replica, account, &short)?.to_string(),
            "tasks" => task_id(replica, account, &short)?.to_string(),
            "interactions" => interaction_id(replica, account, &short)?.to_string(),
            "ties" => {
                let ties = replica.account(account)?.ties.iter().map(|t| t.id).collect::<Vec<_>>();
                member_id(RecordKind::Tie, account, ties, &short)?.to_string()
            }
            _ => short,
        };
        if parts[0] == "deals"
            && let Some(item) = parts[2].strip_prefix("line_item:")
        {
            let deal: rapport_core::DealId = parts[1].parse()?;
            let items = replica.account(account)?.deal(deal).map(|d| d.line_items.iter().map(|i| i.id).collect());
            let item = member_id(RecordKind::LineItem, account, items.unwrap_or_else(Vec::new), item)?;
            parts[2] = format!("line_item:{item}");
        }
    }
    let path: FieldPath = parts.join(".").parse()?;
    Ok(path.to_string())
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

/// Shortest change-hash prefix `show --at` accepts (hashes are random, unlike ids).
const MIN_HASH_PREFIX: usize = 6;

fn bad_hash(hash: &str) -> CliError {
    CliError::Usage(format!(
        "{hash:?} is not a change of this account: give a hash from `rapport account history ID`, or its first \
         {MIN_HASH_PREFIX} or more characters"
    ))
}

/// The change of `account`'s history named by its hash or a unique prefix of it.
fn change_at(replica: &Replica, account: AccountId, hash: &str) -> Result<HistoryEntry> {
    let prefix = hash.trim().to_ascii_lowercase();
    if prefix.len() < MIN_HASH_PREFIX {
        return Err(bad_hash(hash));
    }
    let mut found: Vec<HistoryEntry> =
        replica.history(account)?.into_iter().filter(|h| h.hash.starts_with(&prefix)).collect();
    match found.len() {
        0 => Err(bad_hash(hash)),
        1 => Ok(found.remove(0)),
        _ => Err(CliError::Usage(format!(
            "the hash {prefix} could be any of {} changes of this account; type more of it",
            found.len()
        ))),
    }
}

/// The directory name a field path holds, if any: owner, team or territory.
fn assignment(field: &str) -> Option<NameKind> {
    match field {
        "party.owner" | "owner" => Some(NameKind::Owner),
        "party.team" | "team" => Some(NameKind::Team),
        "party.territory" | "territory" => Some(NameKind::Territory),
        _ => None,
    }
}
