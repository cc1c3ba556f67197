//! The index of field changes (`rpt_field_changes`, ADR 0022 late edits):
//! for every accepted change, one row per field it set, written in the
//! transaction that appends the change to the log. Only the appended
//! changes' history entries are computed ([`AccountDoc::history_of`]), never
//! the account's whole history.
//!
//! Each row carries the change's two times (made on the device, received by
//! the server), what it moved (the deal's won amount and weighted pipeline,
//! after minus before) and the account's name and scope, kept equal to the
//! account's current ones so reports filter without joins like every other
//! `rpt_*` table.

use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc, Value};
use std::collections::HashMap;

use rapport_core::AccountDoc;
use rapport_core::doc::FieldChange;
use rapport_core::rules::AccountScope;
use rusqlite::{Connection, OptionalExtension, params};

/// The deal fields whose change can move a figure (and the deal itself,
/// added or removed).
const FIGURE_FIELDS: [&str; 5] = ["stage", "amount", "probability", "outcome", "currency"];

/// One change appended to the log: its position, hash and the device's time.
#[derive(Debug, Clone, Copy)]
pub struct Appended {
    pub seq: i64,
    pub hash: ChangeHash,
    pub made_at: i64,
}

/// The account's name and scope, copied on every row.
#[derive(Debug, PartialEq, Eq)]
struct Copied {
    name: String,
    owner: Option<String>,
    team: Option<String>,
    territory: Option<String>,
    hidden: bool,
}

/// Writes the field changes of `appended` (already applied to `am`, the
/// account `doc`), received by the server at `received_at`, and brings the
/// name and scope of the account's older rows up to date. A document that
/// is not a readable account gets no rows.
pub fn write_field_changes(
    conn: &Connection,
    doc: &str,
    am: &mut AutoCommit,
    appended: &[Appended],
    received_at: i64,
) -> rusqlite::Result<()> {
    let scope = AccountScope::of(am, None);
    let name = party_name(am);
    // Reading a pushed document at earlier heads runs Automerge on remote
    // data: a panic there refuses this index's rows, never the push.
    let outcome = rapport_core::untrusted::contain("a change's fields for the late-edits index", || {
        AccountDoc::with_borrowed(am, |account| {
            let copied = Copied {
                name,
                owner: scope.owner,
                team: scope.team,
                territory: scope.territory,
                hidden: account.is_hidden(),
            };
            refresh_copies(conn, doc, &copied)?;
            let hashes: Vec<ChangeHash> = appended.iter().map(|a| a.hash).collect();
            let entries = account.history_of(&hashes);
            let mut insert = conn.prepare_cached(
                "INSERT INTO rpt_field_changes (seq, n, doc_id, deal_id, field, old_value, new_value, user, device,
                                            made_at, received_at, currency, won_delta, weighted_delta,
                                            name, owner, team, territory, hidden)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            )?;
            for entry in entries {
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
                    insert.execute(params![
                        change.seq,
                        n as i64,
                        doc,
                        deal.map(|(id, _)| id),
                        fc.field,
                        fc.old,
                        fc.new,
                        entry.user,
                        entry.device,
                        change.made_at,
                        received_at,
                        effect.0,
                        effect.1,
                        effect.2,
                        copied.name,
                        copied.owner,
                        copied.team,
                        copied.territory,
                        copied.hidden,
                    ])?;
                }
            }
            Ok::<(), rusqlite::Error>(())
        })
    });
    match outcome {
        Ok(written) => written,
        Err(e) => {
            tracing::warn!(doc, error = %e, "not indexing the field changes of a document that is not a readable account");
            // A panic may have come after some of this push's rows: none stays.
            let mut delete = conn.prepare_cached("DELETE FROM rpt_field_changes WHERE seq = ?1")?;
            for change in appended {
                delete.execute([change.seq])?;
            }
            Ok(())
        }
    }
}

/// Rewrites the name and scope on the account's existing rows when they
/// differ from `copied` (all its rows always agree, so one row tells).
fn refresh_copies(conn: &Connection, doc: &str, copied: &Copied) -> rusqlite::Result<()> {
    let stored = conn
        .prepare_cached(
            "SELECT name, owner, team, territory, hidden FROM rpt_field_changes WHERE doc_id = ?1
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([doc], |r| {
            Ok(Copied { name: r.get(0)?, owner: r.get(1)?, team: r.get(2)?, territory: r.get(3)?, hidden: r.get(4)? })
        })
        .optional()?;
    if stored.is_some_and(|s| s != *copied) {
        conn.prepare_cached(
            "UPDATE rpt_field_changes SET name = ?2, owner = ?3, team = ?4, territory = ?5, hidden = ?6
             WHERE doc_id = ?1",
        )?
        .execute(params![doc, copied.name, copied.owner, copied.team, copied.territory, copied.hidden])?;
    }
    Ok(())
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
