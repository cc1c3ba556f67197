//! The reporting index: one account's reportable facts as rows of the
//! `rpt_*` tables, rewritten from the typed [`Account`] in the transaction of
//! every accepted change (delete, then insert), so the figures managers read
//! never disagree with the documents.
//!
//! Every fact row carries the account's scope (`owner`, `team`, `territory`,
//! `hidden`), so a report reads one table and never joins. Two rollups,
//! `rpt_activity` (held interactions per rep × kind × week) and
//! `rpt_stage_flow` (stage moves per from → to × week), are maintained in the
//! same rewrite: what the account's old rows contributed is subtracted before
//! they are deleted, what the new rows contribute is added after they are
//! inserted. [`rebuild_rollups`] recomputes them from the fact rows.
//!
//! Each rewrite also keeps the rows as they were known: the fact rows are
//! copied into `rpt_*_hist` with the log range over which they were the
//! account's rows ([`super::known`], ADR 0023).

use std::cell::RefCell;
use std::collections::HashMap;

use automerge::AutoCommit;
use rapport_core::{Account, AccountDoc, Conflict, DealOutcome, Interaction, InteractionStatus};
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Tables holding one account's rows, keyed by `doc_id`; each has a
/// `{table}_hist` of its rows as they were known (ADR 0023).
pub const TABLES: [&str; 8] = [
    "rpt_accounts",
    "rpt_deals",
    "rpt_stage_moves",
    "rpt_interactions",
    "rpt_interaction_contacts",
    "rpt_ladder_moves",
    "rpt_lifecycle_moves",
    "rpt_conflicts",
];

pub(crate) const DAY_MS: i64 = 86_400_000;

/// `prev_day` of a stage move that is the deal's first entry into its stage.
pub(crate) const FIRST_ENTRY: i64 = -1;

/// Held interactions of the rows selected by `{rows}`, grouped by the key of `rpt_activity`.
const ACTIVITY_OF: &str =
    "SELECT hidden, rep, kind, week_start, coalesce(team, '') AS team, coalesce(owner, '') AS owner,
                                  week, count(*) AS n
                           FROM rpt_interactions WHERE {rows} AND status = 'held'
                           GROUP BY hidden, rep, kind, week_start, coalesce(team, ''), coalesce(owner, '')";

/// Stage moves of the rows selected by `{rows}`, grouped by the key of `rpt_stage_flow`.
const FLOW_OF: &str = "SELECT hidden, coalesce(team, '') AS team, coalesce(owner, '') AS owner,
                              coalesce(from_stage, '') AS from_stage, to_stage, week_start, prev_day, count(*) AS n
                       FROM rpt_stage_moves WHERE {rows}
                       GROUP BY hidden, coalesce(team, ''), coalesce(owner, ''), coalesce(from_stage, ''), to_stage,
                                week_start, prev_day";

/// Milliseconds since the Unix epoch (UTC).
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The start (00:00 UTC) of the day holding instant `ms`.
pub(crate) fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// The start (Monday 00:00 UTC) of the ISO week holding instant `ms`.
pub(crate) fn week_start(ms: i64) -> i64 {
    let day = ms.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday: three days after a Monday.
    (day - (day + 3).rem_euclid(7)) * DAY_MS
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
#[doc(hidden)]
pub fn write_report_rows(conn: &Connection, doc: &str, am: &mut AutoCommit) -> rusqlite::Result<()> {
    // Read in place: the document stays in the server's cache, no copy.
    match AccountDoc::with_borrowed(am, |account| (account.read(), account.conflicts())) {
        Ok((typed, conflicts)) => rewrite(conn, doc, Some((&typed, &conflicts))),
        Err(e) => {
            tracing::warn!(doc, error = %e, "not indexing a document that is not a readable account");
            rewrite(conn, doc, None)
        }
    }
}

/// Replaces the rows of account `doc` with those of `account` (none if `None`),
/// keeping the rollups in step.
///
/// The new rows are planned first; when their digest equals the one stored
/// with the account's current rows (an edit of a field no report reads), the
/// rows are already right and nothing is written.
pub(crate) fn rewrite(conn: &Connection, doc: &str, account: Option<(&Account, &[Conflict])>) -> rusqlite::Result<()> {
    let plan = Plan::default();
    let mut digest = None;
    if let Some((typed, conflicts)) = account {
        insert(&plan, doc, typed)?;
        insert_conflicts(&plan, doc, typed, conflicts)?;
        let planned = plan.digest();
        let stored: Option<Option<Vec<u8>>> = conn
            .prepare_cached("SELECT digest FROM rpt_accounts WHERE doc_id = ?1")?
            .query_row([doc], |r| r.get(0))
            .optional()?;
        if stored.flatten().is_some_and(|d| d == planned) {
            return Ok(());
        }
        digest = Some(planned);
    }
    subtract_rollups(conn, doc)?;
    for table in TABLES {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE doc_id = ?1"))?.execute([doc])?;
    }
    if let Some(digest) = digest {
        plan.run(conn)?;
        add_rollups(conn, doc)?;
        conn.prepare_cached("UPDATE rpt_accounts SET digest = ?2 WHERE doc_id = ?1")?
            .execute(params![doc, digest.as_slice()])?;
    }
    keep_as_known(conn, doc)
}

/// `valid_to` of a `rpt_*_hist` row that is still the account's current row.
pub(crate) const OPEN: i64 = i64::MAX;

/// The columns that name one of an account's rows in fact table `table`
/// (its primary key).
pub(crate) fn key(table: &str) -> &'static str {
    match table {
        "rpt_accounts" => "doc_id",
        "rpt_deals" => "doc_id, deal_id",
        "rpt_stage_moves" => "doc_id, deal_id, n",
        "rpt_interactions" => "doc_id, interaction_id, rep",
        "rpt_interaction_contacts" => "doc_id, interaction_id, contact_id",
        "rpt_ladder_moves" | "rpt_lifecycle_moves" => "doc_id, move_id",
        "rpt_conflicts" => "doc_id, field",
        other => unreachable!("{other} is not a fact table"),
    }
}

/// Records account `doc`'s rewritten rows in the `rpt_*_hist` tables (ADR
/// 0023), row by row: each open row that the new rows do not repeat value
/// for value is closed at the document's last log position `L` (or dropped,
/// if an earlier rewrite of the same state of the log opened it at `L`),
/// and each new row that is not open already is copied in, valid from `L`.
/// A row an edit left as it was keeps its range, so the rows replaced since
/// an instant are only those that changed.
fn keep_as_known(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    let seq: i64 = conn
        .prepare_cached("SELECT coalesce((SELECT last_seq FROM documents WHERE id = ?1), 0)")?
        .query_row([doc], |r| r.get(0))?;
    for table in TABLES {
        let columns = conn
            .prepare_cached(&format!("SELECT * FROM {table} LIMIT 0"))?
            .column_names()
            .collect::<Vec<_>>()
            .join(", ");
        let key = key(table);
        let open = format!("SELECT {columns} FROM {table}_hist WHERE doc_id = ?1 AND valid_to = {OPEN}");
        let new = format!("SELECT {columns} FROM {table} WHERE doc_id = ?1");
        let gone = format!("SELECT {key} FROM ({open} EXCEPT {new})");
        conn.prepare_cached(&format!(
            "DELETE FROM {table}_hist WHERE doc_id = ?1 AND valid_to = {OPEN} AND valid_from >= ?2 AND ({key}) IN ({gone})"
        ))?
        .execute(params![doc, seq])?;
        conn.prepare_cached(&format!(
            "UPDATE {table}_hist SET valid_to = ?2 WHERE doc_id = ?1 AND valid_to = {OPEN} AND ({key}) IN ({gone})"
        ))?
        .execute(params![doc, seq])?;
        conn.prepare_cached(&format!("INSERT INTO {table}_hist SELECT *, ?2, {OPEN} FROM ({new} EXCEPT {open})"))?
            .execute(params![doc, seq])?;
    }
    Ok(())
}

/// The rows one account's rewrite inserts, recorded before anything is
/// written, so that their digest can tell whether anything changed.
#[derive(Default)]
struct Plan {
    rows: RefCell<Vec<(&'static str, Vec<Value>)>>,
}

impl Plan {
    /// A statement whose `execute` records its row (infallible; `Result` to
    /// read like `Connection::prepare_cached`).
    fn statement(&self, sql: &'static str) -> rusqlite::Result<Planned<'_>> {
        Ok(Planned { plan: self, sql })
    }

    /// SHA-256 over every statement and value, in order.
    fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        for (sql, values) in self.rows.borrow().iter() {
            hash.update((sql.len() as u64).to_le_bytes());
            hash.update(sql.as_bytes());
            hash.update((values.len() as u64).to_le_bytes());
            for value in values {
                match value {
                    Value::Null => hash.update([0]),
                    Value::Integer(i) => {
                        hash.update([1]);
                        hash.update(i.to_le_bytes());
                    }
                    Value::Real(f) => {
                        hash.update([2]);
                        hash.update(f.to_bits().to_le_bytes());
                    }
                    Value::Text(t) => {
                        hash.update([3]);
                        hash.update((t.len() as u64).to_le_bytes());
                        hash.update(t.as_bytes());
                    }
                    Value::Blob(b) => {
                        hash.update([4]);
                        hash.update((b.len() as u64).to_le_bytes());
                        hash.update(b);
                    }
                }
            }
        }
        hash.finalize().into()
    }

    fn run(&self, conn: &Connection) -> rusqlite::Result<()> {
        for (sql, values) in self.rows.borrow().iter() {
            conn.prepare_cached(sql)?.execute(params_from_iter(values))?;
        }
        Ok(())
    }
}

/// One statement of a [`Plan`].
struct Planned<'p> {
    plan: &'p Plan,
    sql: &'static str,
}

impl Planned<'_> {
    fn execute(&mut self, params: &[&dyn ToSql]) -> rusqlite::Result<usize> {
        let values = params
            .iter()
            .map(|p| {
                Ok(match p.to_sql()? {
                    ToSqlOutput::Borrowed(v) => {
                        Value::try_from(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
                    }
                    ToSqlOutput::Owned(v) => v,
                    _ => return Err(rusqlite::Error::ToSqlConversionFailure("unsupported report value".into())),
                })
            })
            .collect::<rusqlite::Result<Vec<Value>>>()?;
        self.plan.rows.borrow_mut().push((self.sql, values));
        Ok(1)
    }
}

/// Takes what account `doc`'s current rows contribute out of the rollups
/// (and drops rollup rows left at zero).
fn subtract_rollups(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    let activity = ACTIVITY_OF.replace("{rows}", "doc_id = ?1");
    conn.prepare_cached(&format!(
        "UPDATE rpt_activity AS v SET n = v.n - x.n FROM ({activity}) AS x
         WHERE v.hidden = x.hidden AND v.rep = x.rep AND v.kind = x.kind AND v.week_start = x.week_start
           AND v.team = x.team AND v.owner = x.owner"
    ))?
    .execute([doc])?;
    conn.prepare_cached(&format!(
        "DELETE FROM rpt_activity WHERE n <= 0
           AND (hidden, rep, kind, week_start, team, owner) IN
               (SELECT hidden, rep, kind, week_start, team, owner FROM ({activity}))"
    ))?
    .execute([doc])?;
    let flow = FLOW_OF.replace("{rows}", "doc_id = ?1");
    conn.prepare_cached(&format!(
        "UPDATE rpt_stage_flow AS v SET n = v.n - x.n FROM ({flow}) AS x
         WHERE v.hidden = x.hidden AND v.team = x.team AND v.owner = x.owner AND v.from_stage = x.from_stage
           AND v.to_stage = x.to_stage AND v.week_start = x.week_start AND v.prev_day = x.prev_day"
    ))?
    .execute([doc])?;
    conn.prepare_cached(&format!(
        "DELETE FROM rpt_stage_flow WHERE n <= 0
           AND (hidden, team, owner, from_stage, to_stage, week_start, prev_day) IN
               (SELECT hidden, team, owner, from_stage, to_stage, week_start, prev_day FROM ({flow}))"
    ))?
    .execute([doc])?;
    Ok(())
}

/// Adds what account `doc`'s rows contribute to the rollups.
fn add_rollups(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    upsert_rollups(conn, "doc_id = ?1", &[&doc])
}

/// Adds the contribution of the fact rows selected by `rows` to the rollups.
fn upsert_rollups(conn: &Connection, rows: &str, params: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<()> {
    let activity = ACTIVITY_OF.replace("{rows}", rows);
    conn.prepare_cached(&format!(
        "INSERT INTO rpt_activity (hidden, rep, kind, week_start, team, owner, week, n)
         SELECT * FROM ({activity}) WHERE true
         ON CONFLICT (hidden, rep, kind, week_start, team, owner) DO UPDATE SET n = n + excluded.n"
    ))?
    .execute(params)?;
    let flow = FLOW_OF.replace("{rows}", rows);
    conn.prepare_cached(&format!(
        "INSERT INTO rpt_stage_flow (hidden, team, owner, from_stage, to_stage, week_start, prev_day, n)
         SELECT * FROM ({flow}) WHERE true
         ON CONFLICT (hidden, team, owner, from_stage, to_stage, week_start, prev_day) DO UPDATE SET n = n + excluded.n"
    ))?
    .execute(params)?;
    Ok(())
}

/// Recomputes both rollups from every fact row (for rows written without
/// [`write_report_rows`], such as the benchmark's fast seeding path, and to
/// check the incremental maintenance).
#[doc(hidden)]
pub fn rebuild_rollups(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("DELETE FROM rpt_activity; DELETE FROM rpt_stage_flow;")?;
    upsert_rollups(conn, "true", &[])
}

/// The account's scope, copied on every fact row.
struct Scope<'a> {
    owner: Option<&'a str>,
    team: Option<&'a str>,
    territory: Option<&'a str>,
    hidden: bool,
}

fn insert(plan: &Plan, doc: &str, a: &Account) -> rusqlite::Result<()> {
    let p = &a.party;
    let s = Scope {
        owner: p.owner.as_deref(),
        team: p.team.as_deref(),
        territory: p.territory.as_deref(),
        hidden: a.deleted.is_some() || a.merged_into.is_some(),
    };
    let ending = p.ending.as_ref();
    let held = a.interactions.iter().filter(|i| i.status == InteractionStatus::Held);
    let last_touch = held.map(|i| millis(i.when())).max();
    let open_deals = a.deals.iter().filter(|d| d.outcome == DealOutcome::Open).count() as i64;
    plan.statement(
        "INSERT INTO rpt_accounts (doc_id, name, owner, team, territory, hidden, tier, rung, phase, status,
                                   end_reason, ended_phase, ended_on, last_touch, open_deals)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        doc,
        p.name,
        s.owner,
        s.team,
        s.territory,
        s.hidden,
        p.value_tier.as_str(),
        p.loyalty_rung.as_str(),
        p.lifecycle_phase.as_str(),
        p.status.as_str(),
        ending.map(|e| e.reason.as_str()),
        ending.map(|e| e.phase.as_str()),
        ending.map(|e| e.on.to_string()),
        last_touch,
        open_deals,
    ])?;
    let mut deal = plan.statement(
        "INSERT INTO rpt_deals (doc_id, deal_id, name, owner, team, territory, hidden, last_touch, stage, amount_minor,
                                currency, probability, forecast, outcome, lost_reason, expected_close,
                                stage_changed_at, created_at, title, next_step)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?;
    let mut moved = plan.statement(
        "INSERT INTO rpt_stage_moves (doc_id, deal_id, n, owner, team, territory, hidden, from_stage, to_stage, at,
                                      week_start, prev_day, by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for d in &a.deals {
        let id = d.id.to_string();
        deal.execute(params![
            doc,
            id,
            p.name,
            s.owner,
            s.team,
            s.territory,
            s.hidden,
            last_touch,
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
            d.title,
            d.next_step,
        ])?;
        // The day of each move's previous entry into the same stage, in time order.
        let mut order: Vec<usize> = (0..d.stage_history.len()).collect();
        order.sort_by_key(|&n| (millis(d.stage_history[n].at), n));
        let mut entered: HashMap<&str, i64> = HashMap::new();
        let mut prev_day = vec![FIRST_ENTRY; d.stage_history.len()];
        for n in order {
            let m = &d.stage_history[n];
            if let Some(before) = entered.insert(m.to.as_str(), millis(m.at)) {
                prev_day[n] = day_start(before);
            }
        }
        for (n, m) in d.stage_history.iter().enumerate() {
            let at = millis(m.at);
            moved.execute(params![
                doc,
                id,
                n as i64,
                s.owner,
                s.team,
                s.territory,
                s.hidden,
                m.from,
                m.to,
                at,
                week_start(at),
                prev_day[n],
                m.by
            ])?;
        }
    }
    let mut held = plan.statement(
        "INSERT INTO rpt_interactions (doc_id, interaction_id, rep, owner, team, territory, hidden, kind, status,
                                       planned_start, actual_start, at, week, week_start, contacts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let mut engaged = plan
        .statement("INSERT INTO rpt_interaction_contacts (doc_id, interaction_id, contact_id) VALUES (?1, ?2, ?3)")?;
    for i in &a.interactions {
        let id = i.id.to_string();
        let at = millis(i.when());
        for rep in interaction_reps(i) {
            held.execute(params![
                doc,
                id,
                rep,
                s.owner,
                s.team,
                s.territory,
                s.hidden,
                i.kind.as_str(),
                i.status.as_str(),
                i.planned_start.map(millis),
                i.actual_start.map(millis),
                at,
                iso_week(i.when()),
                week_start(at),
                i.contacts.len() as i64,
            ])?;
        }
        for c in &i.contacts {
            engaged.execute(params![doc, id, c.to_string()])?;
        }
    }
    let mut ladder = plan.statement(
        "INSERT INTO rpt_ladder_moves (doc_id, move_id, owner, team, territory, hidden, from_rung, to_rung, up, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for m in &a.ladder_history {
        ladder.execute(params![
            doc,
            m.id.to_string(),
            s.owner,
            s.team,
            s.territory,
            s.hidden,
            m.from.as_str(),
            m.to.as_str(),
            m.to > m.from,
            millis(m.at)
        ])?;
    }
    let mut phase = plan.statement(
        "INSERT INTO rpt_lifecycle_moves (doc_id, move_id, owner, team, territory, hidden, from_phase, to_phase, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for m in &a.lifecycle_history {
        phase.execute(params![
            doc,
            m.id.to_string(),
            s.owner,
            s.team,
            s.territory,
            s.hidden,
            m.from.as_str(),
            m.to.as_str(),
            millis(m.at)
        ])?;
    }
    Ok(())
}

/// One row per field holding concurrent values: how many, the one shown, every
/// value with who wrote it, on which device and when (a JSON array), and when
/// the newest was written.
fn insert_conflicts(plan: &Plan, doc: &str, a: &Account, conflicts: &[Conflict]) -> rusqlite::Result<()> {
    let p = &a.party;
    let hidden = a.deleted.is_some() || a.merged_into.is_some();
    let mut row = plan.statement(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_utc() {
        let at = |s: &str| {
            millis(OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap_or_else(|e| {
                panic!("{s}: {e}");
            }))
        };
        // 2026-11-23 is a Monday.
        let monday = at("2026-11-23T00:00:00Z");
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(at("2026-11-29T23:59:59.999Z")), monday);
        assert_eq!(week_start(at("2026-11-30T00:00:00Z")), monday + 7 * DAY_MS);
        assert_eq!(week_start(at("2026-11-22T23:59:59Z")), monday - 7 * DAY_MS);
        // Before 1970 too: 1969-12-29 was a Monday.
        assert_eq!(week_start(at("1969-12-31T12:00:00Z")), at("1969-12-29T00:00:00Z"));
        assert_eq!(day_start(at("1969-12-31T12:00:00Z")), at("1969-12-31T00:00:00Z"));
        // The label and the start agree.
        let t = OffsetDateTime::from_unix_timestamp(monday / 1000 + 3 * 86_400).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(iso_week(t), "2026-W48");
    }
}
