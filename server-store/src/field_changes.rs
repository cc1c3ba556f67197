//! The rows of the late-edits index (`rpt_field_changes`, ADR 0022) as pure
//! code every backend shares (ADR 0033): for every accepted change, one row
//! per field it set. Only the appended changes' history entries are
//! computed ([`AccountDoc::history_of`]), never the account's whole history.
//!
//! Each row carries the change's two times (made on the device, received by
//! the server), what it moved (the deal's won amount and weighted pipeline,
//! after minus before) and the account's name and scope, which a backend
//! keeps equal to the account's current ones on all its rows
//! ([`FieldChanges::copy`]), so reports filter without joins like every
//! other `rpt_*` table.

use std::collections::HashMap;

use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc, Value};
use rapport_core::AccountDoc;
use rapport_core::doc::FieldChange;
use rapport_core::rules::AccountScope;

use crate::report_rows::Cell;

/// The table's name in every backend.
pub const TABLE: &str = "rpt_field_changes";

/// The columns of a row, in the order of its cells.
pub const COLUMNS: [&str; 19] = [
    "seq",
    "n",
    "doc_id",
    "deal_id",
    "field",
    "old_value",
    "new_value",
    "user",
    "device",
    "made_at",
    "received_at",
    "currency",
    "won_delta",
    "weighted_delta",
    "name",
    "owner",
    "team",
    "territory",
    "hidden",
];

/// The deal fields whose change can move a figure (and the deal itself,
/// added or removed).
const FIGURE_FIELDS: [&str; 5] = ["stage", "amount", "probability", "outcome", "currency"];

/// One change appended to the log: its position, hash, the device's time
/// and the server's when it stored the change.
#[derive(Debug, Clone, Copy)]
pub struct Appended {
    pub seq: i64,
    pub hash: ChangeHash,
    pub made_at: i64,
    pub received_at: i64,
}

/// The account's name and scope, copied on every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCopy {
    pub name: String,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
    pub hidden: bool,
}

/// The rows of some appended changes, and the copy every row of the
/// account must now carry.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChanges {
    pub copy: AccountCopy,
    /// One row per field set, each [`COLUMNS`] in order.
    pub rows: Vec<Vec<Cell>>,
}

/// The rows of the changes `appended` (already applied to `am`, the account
/// `doc`, which may hold later changes too: each change is read at its own
/// heads, the name and scope are the current ones). `None` for a document
/// that is not a readable account: it gets no rows.
pub fn project(doc: &str, am: &mut AutoCommit, appended: &[Appended]) -> Option<FieldChanges> {
    let scope = AccountScope::of(am, None);
    let name = party_name(am);
    // Reading a pushed document at earlier heads runs Automerge on remote
    // data: a panic there leaves this index without rows, never refuses the push.
    let outcome = rapport_core::untrusted::contain("a change's fields for the late-edits index", || {
        AccountDoc::with_borrowed(am, |account| {
            let copy = AccountCopy {
                name,
                owner: scope.owner,
                team: scope.team,
                territory: scope.territory,
                hidden: account.is_hidden(),
            };
            let hashes: Vec<ChangeHash> = appended.iter().map(|a| a.hash).collect();
            let mut rows = Vec::new();
            for entry in account.history_of(&hashes) {
                // `history_of` skips a hash the document lacks: match by hash, never by place.
                let Some(change) = appended.iter().find(|a| a.hash.to_string() == entry.hash) else { continue };
                let deps: Vec<ChangeHash> = account
                    .automerge_mut()
                    .get_change_by_hash(&change.hash)
                    .map(|c| c.deps().to_vec())
                    .unwrap_or_default();
                let mut after = deps.clone();
                after.push(change.hash);
                let carriers = carriers(&entry.changes);
                for (n, fc) in entry.changes.iter().enumerate() {
                    let deal = deal_of(&fc.field);
                    let mut effect = (None, 0, 0);
                    if let (true, Some((id, _))) = (carriers[n], deal) {
                        let before = account.deal_figures_at(id, &deps);
                        let now = account.deal_figures_at(id, &after);
                        let currency = now.as_ref().or(before.as_ref()).map(|f| f.currency.clone());
                        let won = |f: &Option<rapport_core::DealFigures>| f.as_ref().map_or(0, |f| f.won_minor());
                        let weighted =
                            |f: &Option<rapport_core::DealFigures>| f.as_ref().map_or(0, |f| f.weighted_minor());
                        effect = (
                            currency,
                            won(&now).saturating_sub(won(&before)),
                            weighted(&now).saturating_sub(weighted(&before)),
                        );
                    }
                    rows.push(vec![
                        change.seq.into(),
                        (n as i64).into(),
                        doc.into(),
                        deal.map(|(id, _)| id).into(),
                        fc.field.as_str().into(),
                        fc.old.clone().into(),
                        fc.new.clone().into(),
                        entry.user.as_str().into(),
                        entry.device.as_str().into(),
                        change.made_at.into(),
                        change.received_at.into(),
                        effect.0.into(),
                        effect.1.into(),
                        effect.2.into(),
                        copy.name.as_str().into(),
                        copy.owner.as_deref().into(),
                        copy.team.as_deref().into(),
                        copy.territory.as_deref().into(),
                        copy.hidden.into(),
                    ]);
                }
            }
            FieldChanges { copy, rows }
        })
    });
    match outcome {
        Ok(projected) => Some(projected),
        Err(e) => {
            tracing::warn!(doc, error = %e, "not indexing the field changes of a document that is not a readable account");
            None
        }
    }
}

/// Which rows of one change carry their deal's figures: per deal, one row,
/// the first figure field in [`FIGURE_FIELDS`] order (the stage of a win),
/// else the deal's record row (a deal added or removed), so a change's
/// effect is counted once however many of the deal's fields it set.
fn carriers(changes: &[FieldChange]) -> Vec<bool> {
    fn rank(field: &str) -> Option<(&str, usize)> {
        let (id, f) = deal_of(field)?;
        let rank = match f {
            None => FIGURE_FIELDS.len(),
            Some(f) => FIGURE_FIELDS.iter().position(|x| *x == f)?,
        };
        Some((id, rank))
    }
    let mut best: HashMap<&str, (usize, usize)> = HashMap::new();
    for (n, c) in changes.iter().enumerate() {
        if let Some((id, r)) = rank(&c.field) {
            let entry = best.entry(id).or_insert((r, n));
            if r < entry.0 {
                *entry = (r, n);
            }
        }
    }
    let mut out = vec![false; changes.len()];
    for (_, n) in best.values() {
        out[*n] = true;
    }
    out
}

/// `(deal id, field within the deal)` of a `deals.<id>[.<field>]` path.
fn deal_of(field: &str) -> Option<(&str, Option<&str>)> {
    let rest = field.strip_prefix("deals.")?;
    Some(match rest.split_once('.') {
        Some((id, f)) => (id, Some(f)),
        None => (rest, None),
    })
}

/// The account's name (`party.name`), empty if it has none.
fn party_name(am: &AutoCommit) -> String {
    let Ok(Some((Value::Object(ObjType::Map), party))) = am.get(&automerge::ROOT, "party") else {
        return String::new();
    };
    match am.get(&party, "name") {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().unwrap_or_default().to_owned(),
        Ok(Some((Value::Object(ObjType::Text), id))) => am.text(&id).unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deal_paths_split_into_the_deal_and_its_field() {
        assert_eq!(deal_of("deals.abc.stage"), Some(("abc", Some("stage"))));
        assert_eq!(deal_of("deals.abc"), Some(("abc", None)));
        assert_eq!(deal_of("deals.abc.stage_history"), Some(("abc", Some("stage_history"))));
        assert_eq!(deal_of("party.name"), None);
    }

    #[test]
    fn each_deal_s_figures_are_carried_by_one_row_of_a_change() {
        let rows = |fields: &[&str]| -> Vec<bool> {
            carriers(
                &fields.iter().map(|f| FieldChange { field: (*f).into(), old: None, new: None }).collect::<Vec<_>>(),
            )
        };
        let won =
            ["deals.a.forecast", "deals.a.outcome", "deals.a.probability", "deals.a.stage", "deals.a.stage_history"];
        assert_eq!(rows(&won), [false, false, false, true, false]);
        assert_eq!(rows(&["deals.a", "deals.b.title", "deals.b.amount", "party.name"]), [true, false, true, false]);
        assert_eq!(rows(&["deals.a.title", "deals.a.next_step"]), [false, false], "no figure field");
    }
}
