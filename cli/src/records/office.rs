//! `rapport account duplicates` and `rapport account reassign`: keeping the
//! customer base clean (ADR 0024).

use rapport_core::{AccountSummary, DuplicateGroup, DuplicateReason, FieldChange, Reassignment, Replica};
use serde::Serialize;

use super::account::filter;
use crate::args::{ListArgs, ReassignArgs};
use crate::error::{CliError, Result};
use crate::output;

/// `rapport account duplicates`: groups of likely duplicate accounts and why.
pub fn duplicates(replica: &Replica, json: bool) -> Result<()> {
    let groups = replica.duplicates()?;
    if json {
        return output::json(&groups);
    }
    if groups.is_empty() {
        eprintln!("no likely duplicates");
        return Ok(());
    }
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        outln!("likely duplicates: {}", reasons(g));
        for a in &g.accounts {
            outln!("  {}", output::summary_line(a));
        }
    }
    outln!();
    outln!(
        "{} group(s); merge two accounts with `rapport account merge SURVIVOR DUPLICATE` (the survivor keeps its \
         values and gains the duplicate's records)",
        groups.len()
    );
    Ok(())
}

fn reasons(g: &DuplicateGroup) -> String {
    g.shared
        .iter()
        .map(|k| {
            let what = match k.reason {
                DuplicateReason::Name => "same name",
                DuplicateReason::RegistrationCode => "same registration code",
                DuplicateReason::Phone => "same phone (last digits)",
                DuplicateReason::Email => "same e-mail",
            };
            format!("{what} {:?}", k.value)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One account a reassignment changes, as `--json` prints it.
#[derive(Serialize)]
struct Planned<'a> {
    id: String,
    name: &'a str,
    changes: Vec<FieldChange>,
}

#[derive(Serialize)]
struct ReassignJson<'a> {
    dry_run: bool,
    /// Accounts the filters matched.
    matched: usize,
    /// Those that change (the others have these names already).
    changes: Vec<Planned<'a>>,
}

/// `rapport account reassign`: every account the filters match given to the
/// new owner, team or territory, in one transaction.
pub fn reassign(replica: &mut Replica, args: ReassignArgs) -> Result<()> {
    let to = Reassignment { owner: args.owner.clone(), team: args.team.clone(), territory: args.territory.clone() };
    if to.owner.is_none() && to.team.is_none() && to.territory.is_none() {
        return Err(CliError::Usage(
            "nothing to reassign to: give --owner NAME, --team NAME or --territory NAME".into(),
        ));
    }
    let list = ListArgs {
        owner: args.from_owner.clone(),
        team: args.from_team.clone(),
        territory: args.from_territory.clone(),
        tag: args.tag.clone(),
        stage: args.stage.clone(),
        rung: args.rung.clone(),
        phase: args.phase.clone(),
        tier: args.tier.clone(),
        status: args.status.clone(),
        search: args.search.clone(),
        conflicts: args.conflicts,
        filter: args.filter.clone(),
        ..ListArgs::default()
    };
    let f = filter(&list)?;
    if f == rapport_core::AccountFilter::default() && !args.all {
        return Err(CliError::Usage(
            "no filter given: choose the accounts with the filters of `account list` (e.g. --from-owner ana, --tag \
             vip, --search kyiv, --filter territory=North), or pass --all to reassign every account"
                .into(),
        ));
    }
    if !args.allow_unknown_owner {
        replica.check_reassignment(&to)?;
    }
    let matched: Vec<AccountSummary> = replica.list(&f)?;
    let mut plan = Vec::new();
    for s in &matched {
        let changes = to.changes(s)?;
        if !changes.is_empty() {
            plan.push(Planned { id: s.id.to_string(), name: &s.name, changes });
        }
    }
    if !args.dry_run && !plan.is_empty() {
        let ids: Vec<_> = matched.iter().map(|s| s.id).collect();
        replica.reassign(&ids, &to)?;
    }
    if args.json {
        return output::json(&ReassignJson { dry_run: args.dry_run, matched: matched.len(), changes: plan });
    }
    for p in &plan {
        let what = p
            .changes
            .iter()
            .map(|c| format!("{} {} -> {}", c.field, c.from.as_deref().unwrap_or("-"), c.to))
            .collect::<Vec<_>>()
            .join(", ");
        outln!("{}  {}  {what}", p.id, p.name);
    }
    let unchanged = matched.len() - plan.len();
    if args.dry_run {
        outln!(
            "{} of {} matching account(s) would change ({unchanged} already match); nothing written (--dry-run)",
            plan.len(),
            matched.len()
        );
    } else {
        outln!(
            "reassigned {} of {} matching account(s) ({unchanged} already matched); the next `rapport sync` sends them",
            plan.len(),
            matched.len()
        );
    }
    Ok(())
}
