//! The reporting index: one account's reportable facts as rows of the
//! `rpt_*` tables, rewritten from the typed [`Account`] in the transaction of
//! every accepted change (delete, then insert), so the figures managers read
//! never disagree with the documents.

use automerge::AutoCommit;
use rapport_core::{Account, AccountDoc, Conflict, Interaction};
use rusqlite::{Connection, params};
use time::OffsetDateTime;

/// Tables holding one account's rows, keyed by `doc_id`.
const TABLES: [&str; 8] = [
    "rpt_accounts",
    "rpt_deals",
    "rpt_stage_moves",
    "rpt_interactions",
    "rpt_interaction_contacts",
    "rpt_ladder_moves",
    "rpt_lifecycle_moves",
    "rpt_conflicts",
];

/// Milliseconds since the Unix epoch (UTC).
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The ISO week of an instant (UTC), as `2026-W07`.
pub(crate) fn iso_week(t: OffsetDateTime) -> String {
    let (year, week, _) = t.to_offset(time::UtcOffset::UTC).to_iso_week_date();
    format!("{year}-W{week:02}")
}

/// Who an interaction counts for: each staff member, or whoever logged it.
pub(crate) fn interaction_reps(i: &Interaction) -> Vec<String> {
    if i.staff.is_empty() { vec![i.logged_by.clone()] } else { i.staff.iter().cloned().collect() }
}

/// Rewrites the reporting rows of account `doc` from its current state. A
/// document that is not a readable account leaves no rows.
pub(crate) fn write_report_rows(conn: &Connection, doc: &str, am: &AutoCommit) -> rusqlite::Result<()> {
    for table in TABLES {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE doc_id = ?1"))?.execute([doc])?;
    }
    match AccountDoc::from_automerge(am.clone()) {
        Ok(mut account) => {
            let typed = account.read();
            insert(conn, doc, &typed)?;
            insert_conflicts(conn, doc, &typed, &account.conflicts())
        }
        Err(e) => {
            tracing::warn!(doc, error = %e, "not indexing a document that is not a readable account");
            Ok(())
        }
    }
}

fn insert(conn: &Connection, doc: &str, a: &Account) -> rusqlite::Result<()> {
    let p = &a.party;
    let hidden = a.deleted.is_some() || a.merged_into.is_some();
    let ending = p.ending.as_ref();
    conn.prepare_cached(
        "INSERT INTO rpt_accounts (doc_id, name, owner, team, territory, tier, rung, phase, status,
                                   end_reason, ended_phase, ended_on, hidden)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        doc,
        p.name,
        p.owner,
        p.team,
        p.territory,
        p.value_tier.as_str(),
        p.loyalty_rung.as_str(),
        p.lifecycle_phase.as_str(),
        p.status.as_str(),
        ending.map(|e| e.reason.as_str()),
        ending.map(|e| e.phase.as_str()),
        ending.map(|e| e.on.to_string()),
        hidden,
    ])?;
    let mut deal = conn.prepare_cached(
        "INSERT INTO rpt_deals (doc_id, deal_id, stage, amount_minor, currency, probability, forecast, outcome,
                                lost_reason, expected_close, stage_changed_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut moved = conn.prepare_cached(
        "INSERT INTO rpt_stage_moves (doc_id, deal_id, n, from_stage, to_stage, at, by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for d in &a.deals {
        let id = d.id.to_string();
        deal.execute(params![
            doc,
            id,
            d.stage,
            d.amount.minor,
            d.amount.currency,
            d.probability,
            d.forecast.as_str(),
            d.outcome.as_str(),
            d.lost_reason,
            d.expected_close.map(|c| c.to_string()),
            d.stage_history.iter().map(|m| millis(m.at)).max(),
            d.stage_history.iter().map(|m| millis(m.at)).min(),
        ])?;
        for (n, m) in d.stage_history.iter().enumerate() {
            moved.execute(params![doc, id, n as i64, m.from, m.to, millis(m.at), m.by])?;
        }
    }
    let mut held = conn.prepare_cached(
        "INSERT INTO rpt_interactions (doc_id, interaction_id, rep, kind, status, planned_start, actual_start,
                                       at, week, contacts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut engaged = conn.prepare_cached(
        "INSERT INTO rpt_interaction_contacts (doc_id, interaction_id, contact_id) VALUES (?1, ?2, ?3)",
    )?;
    for i in &a.interactions {
        let id = i.id.to_string();
        for rep in interaction_reps(i) {
            held.execute(params![
                doc,
                id,
                rep,
                i.kind.as_str(),
                i.status.as_str(),
                i.planned_start.map(millis),
                i.actual_start.map(millis),
                millis(i.when()),
                iso_week(i.when()),
                i.contacts.len() as i64,
            ])?;
        }
        for c in &i.contacts {
            engaged.execute(params![doc, id, c.to_string()])?;
        }
    }
    let mut ladder = conn.prepare_cached(
        "INSERT INTO rpt_ladder_moves (doc_id, move_id, from_rung, to_rung, up, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for m in &a.ladder_history {
        ladder.execute(params![doc, m.id.to_string(), m.from.as_str(), m.to.as_str(), m.to > m.from, millis(m.at)])?;
    }
    let mut phase = conn.prepare_cached(
        "INSERT INTO rpt_lifecycle_moves (doc_id, move_id, from_phase, to_phase, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for m in &a.lifecycle_history {
        phase.execute(params![doc, m.id.to_string(), m.from.as_str(), m.to.as_str(), millis(m.at)])?;
    }
    Ok(())
}

/// One row per field holding concurrent values: how many, the one shown, every
/// value with who wrote it, on which device and when (a JSON array), and when
/// the newest was written.
fn insert_conflicts(conn: &Connection, doc: &str, a: &Account, conflicts: &[Conflict]) -> rusqlite::Result<()> {
    let p = &a.party;
    let hidden = a.deleted.is_some() || a.merged_into.is_some();
    let mut row = conn.prepare_cached(
        "INSERT INTO rpt_conflicts (doc_id, field, name, owner, team, territory, hidden, n_values, shown, value_list,
                                    newest_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for c in conflicts {
        let values: Vec<serde_json::Value> = c
            .values
            .iter()
            .map(|v| {
                serde_json::json!({
                    "value": v.value,
                    "user": v.user,
                    "device": v.device,
                    "at_ms": millis(v.at),
                    "winner": v.winner,
                })
            })
            .collect();
        let shown = c.values.iter().find(|v| v.winner).map_or("", |v| v.value.as_str());
        let newest = c.values.iter().map(|v| millis(v.at)).max().unwrap_or(0);
        row.execute(params![
            doc,
            c.field,
            p.name,
            p.owner,
            p.team,
            p.territory,
            hidden,
            c.values.len() as i64,
            shown,
            serde_json::Value::Array(values).to_string(),
            newest,
        ])?;
    }
    Ok(())
}
