//! Writing a checked plan to the replica: new accounts in batches of
//! [`BATCH`] (one transaction each) and then their contacts and deals; each
//! existing account's changes in one transaction.

use indicatif::{ProgressBar, ProgressStyle};
use rapport_core::{AccountId, NewAccount, Replica};

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
    for account in plan.accounts {
        match account.target {
            Target::Create(new) => creates.push((*new, account.ops)),
            Target::Existing(id) => {
                write(replica, id, &account.ops)?;
                bar.inc(1);
            }
        }
    }
    for chunk in creates.chunks(BATCH) {
        let batch: Vec<NewAccount> = chunk.iter().map(|(n, _)| n.clone()).collect();
        let ids = replica.create_accounts(&batch)?;
        for (id, (_, ops)) in ids.iter().zip(chunk) {
            write(replica, *id, ops)?;
        }
        bar.inc(ids.len() as u64);
    }
    bar.finish_and_clear();
    Ok(summary)
}

fn write(replica: &mut Replica, id: AccountId, ops: &[(Source, Op)]) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    replica.edit(id, |e| ops.iter().try_for_each(|(_, op)| run_op(e, op)))?;
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
