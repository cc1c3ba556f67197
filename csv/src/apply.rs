//! Writing a checked plan to the replica in batches of [`BATCH`] accounts:
//! the changes of existing accounts, one transaction per batch; new accounts,
//! one transaction per batch, then their contacts and deals in another.

use rapport_core::{AccountId, Editor, NewAccount, Replica};

use crate::error::Result;
use crate::plan::{Op, Plan, Source, Target, run_op};
use crate::progress::{Progress, Stage};
use crate::summary::Summary;

/// New accounts per `create_accounts` transaction.
pub const BATCH: usize = 500;

/// Writes a plan that has no errors (the caller checks); `progress` hears
/// of the accounts written.
pub fn apply(replica: &mut Replica, plan: Plan, progress: Option<&mut dyn Progress>) -> Result<Summary> {
    let summary = Summary::of(&plan);
    let mut progress = progress;
    if let Some(p) = progress.as_deref_mut() {
        p.start(Stage::Importing, plan.accounts.len() as u64);
    }
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
        if let Some(p) = progress.as_deref_mut() {
            p.advance(chunk.len() as u64);
        }
    }
    for chunk in creates.chunks(BATCH) {
        let batch: Vec<NewAccount> = chunk.iter().map(|(n, _)| n.clone()).collect();
        let ids = replica.create_accounts(&batch)?;
        write(replica, ids.iter().zip(chunk).map(|(id, (_, ops))| (*id, ops.as_slice())))?;
        if let Some(p) = progress.as_deref_mut() {
            p.advance(ids.len() as u64);
        }
    }
    if let Some(p) = progress {
        p.finish();
    }
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
