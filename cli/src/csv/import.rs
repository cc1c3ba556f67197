//! Writing a checked plan to the replica in batches of [`BATCH`] accounts:
//! the changes of existing accounts, one transaction per batch; new accounts,
//! one transaction per batch, then their contacts and deals in another.

use indicatif::{ProgressBar, ProgressStyle};
use rapport_core::{AccountId, Editor, NewAccount, Replica};

use super::plan::{Op, Plan, Source, Target, run_op};
use super::preview::Summary;
use crate::error::Result;

/// New accounts per `create_accounts` transaction.
pub const BATCH: usize = 500;

/// Writes a plan that has no errors (the caller checks).
pub fn apply(replica: &mut Replica, plan: Plan) -> Result<Summary> {
    let summary = Summary::of(&plan);
    let bar = progress(plan.accounts.len() as u64, "importing");
    let mut creates: Vec<(NewAccount, Vec<(Source, Op)>)> = Vec::new();
    let mut existing: Vec<(AccountId, Vec<(Source, Op)>)> = Vec::new();
    for account in plan.accounts {
        match account.target {
            Target::Create(new) => creates.push((*new, account.ops)),
            Target::Existing(id) => existing.push((id, account.ops)),
        }
    }
    for chunk in existing.chunks(BATCH) {
        write(replica, chunk.iter().map(|(id, ops)| (*id, ops.as_slice())))?;
        bar.inc(chunk.len() as u64);
    }
    for chunk in creates.chunks(BATCH) {
        let batch: Vec<NewAccount> = chunk.iter().map(|(n, _)| n.clone()).collect();
        let ids = replica.create_accounts(&batch)?;
        write(replica, ids.iter().zip(chunk).map(|(id, (_, ops))| (*id, ops.as_slice())))?;
        bar.inc(ids.len() as u64);
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// Makes the contacts, deals and field changes of many accounts in one transaction.
fn write<'a>(replica: &mut Replica, edits: impl Iterator<Item = (AccountId, &'a [(Source, Op)])>) -> Result<()> {
    let edits = edits
        .filter(|(_, ops)| !ops.is_empty())
        .map(|(id, ops)| (id, move |e: &mut Editor<'_>| ops.iter().try_for_each(|(_, op)| run_op(e, op))));
    replica.edit_each(edits)?;
    Ok(())
}

pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} rows")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}
