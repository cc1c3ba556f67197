//! `rapport account …`: create, edit, show, list, history, delete, merge.

use super::*;

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
            let field = crate::csv_io::field_path(&field).map_or(field, str::to_owned);
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
