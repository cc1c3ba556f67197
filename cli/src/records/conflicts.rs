//! `rapport conflicts` and `rapport resolve`.

use rapport_core::{AccountId, Replica};
use serde::Serialize;

use super::account_id;
use crate::error::{CliError, Result};
use crate::output;

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
        let account = replica.account(r.account).ok();
        for v in &r.conflict.values {
            let shown = if v.value.is_empty() { "(cleared)" } else { v.value.as_str() };
            // An amount is resolved with the stored value (minor units); its major units beside it.
            let money = account
                .as_ref()
                .and_then(|a| output::money_in_words(a, &r.conflict.field, &v.value))
                .map(|m| format!(" (= {m})"))
                .unwrap_or_default();
            outln!(
                "    {} {:?}{money}  by {}@{} at {}",
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
    let path = super::account::full_path(replica, id, field)?;
    if !replica.conflicts(id)?.iter().any(|c| c.field == path) {
        return Err(CliError::Usage(format!(
            "{path} of {id} has no conflict; see open conflicts with `rapport conflicts`, or set a field with `rapport account set`"
        )));
    }
    replica.edit(id, |e| e.set_field(&path, value))?;
    outln!("resolved {path} on {id}; run `rapport sync` to clear it on every device");
    Ok(())
}
