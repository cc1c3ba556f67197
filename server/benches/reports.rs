//! Manager reports benchmark (issue 6).
//!
//! Seeds the reporting index (`rpt_*`) of a real server database file and
//! times every report as the server runs it (`reports::queries::run` on a
//! connection opened like the server's), unfiltered and with a team filter.
//! Each report is paired with an *anchor* in the same run on the same rows:
//! the equivalent aggregate over bare copies of the tables (account columns
//! copied onto every row, no indexes, no join). Rows report ours / anchor.
//!
//! * `cargo bench -p rapport-server --bench reports`: 100,000 accounts.
//! * `RAPPORT_BENCH_ACCOUNTS=2000`: a cheap smoke run; `RAPPORT_BENCH_RUNS`
//!   sets the timed runs per measurement (default 7, at least 5 under `--bench`);
//!   `RAPPORT_BENCH_CACHE_MIB` sets SQLite's page cache for both sides (server: default 2 MiB);
//!   `RAPPORT_BENCH_KEEP` keeps the database file (for `EXPLAIN QUERY PLAN`).
//! * Without `--bench` (`cargo test --all-targets`) it runs 200 accounts once.
//!
//! Seeding is a **fast path**: rows are inserted with rusqlite straight into
//! the `rpt_*` tables in one transaction, not produced by pushing Automerge
//! changes through sync (which would take hours at this size and is measured
//! by the sync benchmark). The rows have the shape `reports::index` writes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rapport_server::access::{Role, Subject};
use rapport_server::reports::known::{Known, TABLES as KNOWN_TABLES};
use rapport_server::reports::sql::ReportDb;
use rapport_server::reports::{Filter, queries};
use rusqlite::types::Value;
use rusqlite::{Connection, params};
use time::OffsetDateTime;

#[path = "reports/postgres.rs"]
mod postgres;

type Res<T> = Result<T, Box<dyn StdError>>;

const DAY_MS: i64 = 86_400_000;
const TEAMS: [&str; 4] = ["north", "south", "east", "west"];
const STAGES: [&str; 6] = ["prospecting", "qualification", "proposal", "negotiation", "won", "lost"];
const PROBABILITY: [i64; 6] = [10, 20, 50, 80, 100, 0];
const RUNGS: [&str; 6] = ["prospect", "customer", "client", "supporter", "advocate", "partner"];
const PHASES: [&str; 5] = ["pre_relationship", "early", "development", "long_term", "final"];
const KINDS: [&str; 5] = ["call", "meeting", "visit", "email", "note"];
const LOST: [&str; 5] = ["price", "timing", "competitor", "no_budget", "no_decision"];
const ENDED: [&str; 4] = ["price", "service", "moved", "other"];
const FIELDS: [&str; 3] = ["party.website", "party.industry", "party.address.city"];

/// A random id, as the app makes them (a UUID).
fn random_id(rng: &mut SmallRng) -> String {
    uuid::Uuid::from_u128(rng.random()).to_string()
}

fn rep(i: usize) -> String {
    format!("rep{:02}", i + 1)
}

fn week(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).expect("instant in range");
    let (y, w, _) = t.to_iso_week_date();
    format!("{y}-W{w:02}")
}

/// Monday 00:00 UTC of the ISO week holding `ms`.
fn week_start(ms: i64) -> i64 {
    let day = ms.div_euclid(DAY_MS);
    (day - (day + 3).rem_euclid(7)) * DAY_MS
}

fn date(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).expect("instant in range").date().to_string()
}

#[derive(Default, Debug)]
struct Counts {
    accounts: u64,
    deals: u64,
    stage_moves: u64,
    interactions: u64,
    interaction_rows: u64,
    contacts: u64,
    ladder: u64,
    lifecycle: u64,
    conflicts: u64,
    field_changes: u64,
}

/// Seeds the `rpt_*` tables in one transaction (the fast path), their
/// rollups from those rows, then the bare anchor tables.
fn seed(conn: &mut Connection, accounts: usize, now: i64) -> Res<Counts> {
    let mut rng = SmallRng::seed_from_u64(0x5241_5053);
    let mut n = Counts::default();
    let tx = conn.transaction()?;
    for t in TEAMS {
        tx.execute("INSERT OR IGNORE INTO teams (name, created_at) VALUES (?1, ?2)", params![t, now])?;
    }
    {
        let mut acc = tx.prepare(
            "INSERT INTO rpt_accounts (doc_id, name, owner, team, territory, hidden, tier, rung, phase, status,
                                       end_reason, ended_phase, ended_on, last_touch, open_deals)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        let mut deal = tx.prepare(
            "INSERT INTO rpt_deals (doc_id, deal_id, name, owner, team, territory, hidden, last_touch, stage,
                                    amount_minor, currency, probability, forecast, outcome, lost_reason, expected_close,
                                    stage_changed_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        let mut moved = tx.prepare(
            "INSERT INTO rpt_stage_moves (doc_id, deal_id, n, owner, team, territory, hidden, from_stage, to_stage, at,
                                          week_start, prev_day, by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let mut inter = tx.prepare(
            "INSERT INTO rpt_interactions (doc_id, interaction_id, rep, owner, team, territory, hidden, kind, status,
                                           planned_start, actual_start, at, week, week_start, contacts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        let mut engaged = tx
            .prepare("INSERT INTO rpt_interaction_contacts (doc_id, interaction_id, contact_id) VALUES (?1, ?2, ?3)")?;
        let mut ladder = tx.prepare(
            "INSERT INTO rpt_ladder_moves (doc_id, move_id, owner, team, territory, hidden, from_rung, to_rung, up, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        let mut life = tx.prepare(
            "INSERT INTO rpt_lifecycle_moves (doc_id, move_id, owner, team, territory, hidden, from_phase, to_phase, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut conflict = tx.prepare(
            "INSERT INTO rpt_conflicts (doc_id, field, name, owner, team, territory, hidden, n_values, shown,
                                        value_list, newest_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let mut edit = tx.prepare(
            "INSERT INTO rpt_field_changes (seq, n, doc_id, deal_id, field, old_value, new_value, user, device,
                                            made_at, received_at, currency, won_delta, weighted_delta,
                                            name, owner, team, territory, hidden)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        )?;
        let mut seq = 0i64;
        let year_ago = now - 364 * DAY_MS;
        for k in 0..accounts {
            let doc = random_id(&mut rng);
            let name = format!("Account {k}");
            let owner_i = rng.random_range(0..20) as usize;
            let owner = (!rng.random_ratio(2, 100)).then(|| rep(owner_i));
            let team = owner.as_ref().map(|_| TEAMS[owner_i / 5]);
            let territory = (!rng.random_ratio(3, 100)).then(|| format!("T{:02}", rng.random_range(1..=19)));
            let tier = match rng.random_range(0..10) {
                0 => "key",
                1..=6 => "standard",
                _ => "low",
            };
            let status = match rng.random_range(0..20) {
                0..=16 => "active",
                17 | 18 => "former",
                _ => "lost",
            };
            let (end_reason, ended_phase, ended_on) = if status == "active" {
                (None, None, None)
            } else {
                (
                    Some(*ENDED.choose(&mut rng).unwrap()),
                    Some(*PHASES.choose(&mut rng).unwrap()),
                    Some(date(rng.random_range(year_ago..=now))),
                )
            };
            let hidden = rng.random_ratio(1, 100);
            let staff_default = owner.clone().unwrap_or_else(|| rep(owner_i));
            // Interactions: 5–15, over the last 52 weeks and the next 4.
            let contacts: Vec<String> = (0..rng.random_range(1..=4)).map(|_| random_id(&mut rng)).collect();
            let mut last_touch: Option<i64> = None;
            for _ in 0..rng.random_range(5..=15) {
                let id = random_id(&mut rng);
                let at = rng.random_range(year_ago..=now + 28 * DAY_MS);
                let status = if at > now {
                    "planned"
                } else {
                    match rng.random_range(0..20) {
                        0..=16 => "held",
                        17 => "not_held",
                        18 => "cancelled",
                        _ => "planned",
                    }
                };
                if status == "held" {
                    last_touch = last_touch.max(Some(at));
                }
                let mut staff = vec![if rng.random_ratio(80, 100) {
                    staff_default.clone()
                } else {
                    rep(rng.random_range(0..20) as usize)
                }];
                if rng.random_ratio(10, 100) {
                    let other = rep(rng.random_range(0..20) as usize);
                    if other != staff[0] {
                        staff.push(other);
                    }
                }
                let engaged_n = rng.random_range(0..3) as usize;
                let actual = (status == "held").then_some(at);
                for r in &staff {
                    inter.execute(params![
                        doc,
                        id,
                        r,
                        owner,
                        team,
                        territory,
                        hidden,
                        KINDS.choose(&mut rng).unwrap(),
                        status,
                        at,
                        actual,
                        at,
                        week(at),
                        week_start(at),
                        engaged_n as i64
                    ])?;
                    n.interaction_rows += 1;
                }
                for c in contacts.iter().take(engaged_n) {
                    engaged.execute(params![doc, id, c])?;
                    n.contacts += 1;
                }
                n.interactions += 1;
            }
            // Deals: 0–4, 2 on average, in every stage and outcome.
            let mut open_deals = 0;
            for _ in 0..*[0, 1, 1, 2, 2, 2, 3, 3, 4].choose(&mut rng).unwrap() {
                let deal_id = random_id(&mut rng);
                let last = match rng.random_range(0..10) {
                    0..=5 => rng.random_range(0..4) as usize,
                    6 | 7 => 4,
                    _ => 5,
                };
                let created = rng.random_range(year_ago..=now - DAY_MS);
                let mut at = created;
                let path: Vec<usize> = if last == 5 {
                    (0..=rng.random_range(0..4) as usize).chain([5]).collect()
                } else {
                    (0..=last).collect()
                };
                let mut from: Option<&str> = None;
                let mut entered: HashMap<usize, i64> = HashMap::new();
                for (i, &s) in path.iter().enumerate() {
                    if i > 0 {
                        at = (at + rng.random_range(1..=30) * DAY_MS).min(now);
                    }
                    let prev_day = entered.insert(s, at).map_or(-1, |t| t.div_euclid(DAY_MS) * DAY_MS);
                    moved.execute(params![
                        doc,
                        deal_id,
                        i as i64,
                        owner,
                        team,
                        territory,
                        hidden,
                        from,
                        STAGES[s],
                        at,
                        week_start(at),
                        prev_day,
                        staff_default
                    ])?;
                    from = Some(STAGES[s]);
                    n.stage_moves += 1;
                }
                let outcome = match last {
                    4 => "won",
                    5 => "lost",
                    _ => "open",
                };
                open_deals += i64::from(outcome == "open");
                let forecast = if outcome == "open" {
                    *["pipeline", "best_case", "commit", "omitted"].choose(&mut rng).unwrap()
                } else {
                    "closed"
                };
                let currency = match rng.random_range(0..10) {
                    0..=6 => "EUR",
                    7 | 8 => "USD",
                    _ => "GBP",
                };
                deal.execute(params![
                    doc,
                    deal_id,
                    name,
                    owner,
                    team,
                    territory,
                    hidden,
                    last_touch,
                    STAGES[last],
                    rng.random_range(10..=5000) * 10_000,
                    currency,
                    PROBABILITY[last],
                    forecast,
                    outcome,
                    (outcome == "lost").then(|| *LOST.choose(&mut rng).unwrap()),
                    date(created + rng.random_range(30..=180) * DAY_MS),
                    at,
                    created
                ])?;
                n.deals += 1;
            }
            acc.execute(params![
                doc,
                name,
                owner,
                team,
                territory,
                hidden,
                tier,
                RUNGS.choose(&mut rng).unwrap(),
                PHASES.choose(&mut rng).unwrap(),
                status,
                end_reason,
                ended_phase,
                ended_on,
                last_touch,
                open_deals
            ])?;
            n.accounts += 1;
            // Ladder and lifecycle moves.
            for _ in 0..rng.random_range(0..4) {
                let (a, b) = (rng.random_range(0..6) as usize, rng.random_range(0..6) as usize);
                if a == b {
                    continue;
                }
                ladder.execute(params![
                    doc,
                    random_id(&mut rng),
                    owner,
                    team,
                    territory,
                    hidden,
                    RUNGS[a],
                    RUNGS[b],
                    b > a,
                    rng.random_range(year_ago..=now)
                ])?;
                n.ladder += 1;
            }
            for _ in 0..rng.random_range(0..3) {
                let a = rng.random_range(0..4) as usize;
                life.execute(params![
                    doc,
                    random_id(&mut rng),
                    owner,
                    team,
                    territory,
                    hidden,
                    PHASES[a],
                    PHASES[a + 1],
                    rng.random_range(year_ago..=now)
                ])?;
                n.lifecycle += 1;
            }
            // Open conflicts: 3 % of the accounts, 1–3 fields with 2–3 values each.
            if rng.random_ratio(3, 100) {
                for field in FIELDS.iter().take(rng.random_range(1..=3) as usize) {
                    let values: Vec<serde_json::Value> = (0..rng.random_range(2..=3))
                        .map(|v| {
                            serde_json::json!({"value": format!("value {v}"), "user": rep(rng.random_range(0..20) as usize),
                                               "device": "phone", "at_ms": rng.random_range(year_ago..=now), "winner": v == 0})
                        })
                        .collect();
                    let newest = values.iter().filter_map(|v| v["at_ms"].as_i64()).max().unwrap_or(now);
                    conflict.execute(params![
                        doc,
                        field,
                        name,
                        owner,
                        team,
                        territory,
                        hidden,
                        values.len() as i64,
                        "value 0",
                        serde_json::Value::Array(values).to_string(),
                        newest
                    ])?;
                    n.conflicts += 1;
                }
            }
            // Field changes: 4 per account over the year, each a deal's stage
            // (moving its figures) or a party field; 1 in 20 received 1–20 days
            // after it was made, the others within the hour.
            let hidden = rng.random_ratio(2, 100);
            for _ in 0..4 {
                seq += 1;
                let made = rng.random_range(year_ago..=now);
                let received = made
                    + if rng.random_ratio(5, 100) {
                        rng.random_range(DAY_MS..=20 * DAY_MS)
                    } else {
                        rng.random_range(100..=3_600_000)
                    };
                let stage = rng.random_ratio(50, 100);
                let deal_id = stage.then(|| random_id(&mut rng));
                let (field, old, new) = match &deal_id {
                    Some(d) => (
                        format!("deals.{d}.stage"),
                        "proposal",
                        *["negotiation", "won", "lost"].choose(&mut rng).unwrap(),
                    ),
                    None => ((*FIELDS.choose(&mut rng).unwrap()).to_owned(), "old", "new"),
                };
                let amount = rng.random_range(10..=5000) * 10_000;
                let (won, weighted) = match new {
                    "won" => (amount, -amount / 2),
                    "lost" => (0, -amount / 2),
                    _ => (0, amount * 3 / 10),
                };
                edit.execute(params![
                    seq,
                    0,
                    doc,
                    deal_id,
                    field,
                    old,
                    new,
                    rep(rng.random_range(0..20) as usize),
                    "phone",
                    made,
                    received,
                    stage.then_some("EUR"),
                    won,
                    weighted,
                    name,
                    owner,
                    team,
                    territory,
                    hidden
                ])?;
                n.field_changes += 1;
            }
        }
    }
    // What `write_report_rows` maintains row by row, computed once from the seeded rows.
    rapport_server::reports::rebuild_rollups(&tx)?;
    // The anchor: bare copies with the account's columns on every row, no indexes, no rollups.
    bare_tables(&tx, &|table| table.to_owned())?;
    tx.commit()?;
    Ok(n)
}

/// Makes the anchor's bare tables (no indexes, the account's columns on
/// every row) of the rows `of` gives for each fact table.
fn bare_tables(conn: &Connection, of: &dyn Fn(&str) -> String) -> Res<()> {
    conn.execute_batch(&bare_tables_sql(of))?;
    Ok(())
}

/// The statements that make the anchor's bare tables (for SQLite and PostgreSQL alike).
fn bare_tables_sql(of: &dyn Fn(&str) -> String) -> String {
    let (accounts, interactions, contacts) =
        (of("rpt_accounts"), of("rpt_interactions"), of("rpt_interaction_contacts"));
    format!(
        "DROP TABLE IF EXISTS bare_accounts; DROP TABLE IF EXISTS bare_deals; DROP TABLE IF EXISTS bare_moves;
         DROP TABLE IF EXISTS bare_interactions; DROP TABLE IF EXISTS bare_contacts; DROP TABLE IF EXISTS bare_ladder;
         DROP TABLE IF EXISTS bare_conflicts; DROP TABLE IF EXISTS bare_field_changes;
         CREATE TABLE bare_accounts AS SELECT * FROM {accounts};
         CREATE TABLE bare_deals AS SELECT * FROM {};
         CREATE TABLE bare_moves AS SELECT * FROM {};
         CREATE TABLE bare_interactions AS SELECT * FROM {interactions};
         CREATE TABLE bare_contacts AS SELECT ic.*, a.owner, a.team, a.territory, a.hidden,
             (SELECT i.status FROM {interactions} i
               WHERE i.doc_id = ic.doc_id AND i.interaction_id = ic.interaction_id LIMIT 1) AS status,
             (SELECT i.at FROM {interactions} i
               WHERE i.doc_id = ic.doc_id AND i.interaction_id = ic.interaction_id LIMIT 1) AS at
             FROM {contacts} ic JOIN {accounts} a ON a.doc_id = ic.doc_id;
         CREATE TABLE bare_ladder AS SELECT * FROM {};
         CREATE TABLE bare_conflicts AS SELECT * FROM {};
         CREATE TABLE bare_field_changes AS SELECT * FROM rpt_field_changes;",
        of("rpt_deals"),
        of("rpt_stage_moves"),
        of("rpt_ladder_moves"),
        of("rpt_conflicts"),
    )
}

/// The anchor of a report: its statements and, for a per-row report, the
/// statement counting every row (the statements then end in `LIMIT ? OFFSET ?`,
/// the page asked for). `{T}` becomes the team condition.
#[derive(Clone)]
struct Anchor {
    sqls: Vec<String>,
    count: Option<String>,
}

fn anchor(report: &str, now: i64, today: &str, today_ms: i64, known_ms: Option<i64>) -> Anchor {
    let sqls = anchor_rows(report, now, today, today_ms, known_ms);
    let stale = format!("outcome = 'open' AND stage_changed_at < {now} - ({LIMITS}) * CAST({DAY_MS} AS BIGINT)");
    let last = LAST;
    let since = now - 30 * DAY_MS;
    let count = match report {
        "stale-deals" => format!("SELECT count(*) FROM bare_deals WHERE hidden = 0 {{T}} AND {stale}"),
        "overdue-deals" => format!(
            "SELECT count(*) FROM bare_deals WHERE hidden = 0 {{T}} AND outcome = 'open' AND expected_close < '{today}'"
        ),
        "contact-depth" => "SELECT count(*) FROM bare_accounts WHERE hidden = 0 {T}".into(),
        "key-accounts-at-risk" => format!(
            "SELECT count(*) FROM bare_accounts a LEFT JOIN {last} l ON l.doc_id = a.doc_id
             WHERE a.hidden = 0 {{T}} AND a.tier = 'key' AND a.status = 'active' AND (l.last IS NULL OR l.last < {since})"
        ),
        "open-conflicts" => "SELECT count(*) FROM bare_conflicts WHERE hidden = 0 {T}".into(),
        "late-edits" => {
            let (from, end) = late_period(today_ms);
            let received = known_ms.map_or(String::new(), |k| format!(" AND received_at <= {k}"));
            format!(
                "SELECT count(*) FROM bare_field_changes WHERE hidden = 0 {{T}} AND made_at >= {from} AND made_at < {end}
                   AND received_at >= {end}{received}"
            )
        }
        _ => return Anchor { sqls, count: None },
    };
    Anchor { sqls: sqls.into_iter().map(|s| format!("{s} LIMIT ?1 OFFSET ?2")).collect(), count: Some(count) }
}

/// The period the late-edits report is asked for: the 30 days that ended a
/// week ago, as `[from, end)` in milliseconds (`to` = today − 7 days).
fn late_period(today_ms: i64) -> (i64, i64) {
    (today_ms - 37 * DAY_MS, today_ms - 6 * DAY_MS)
}

/// Stale-stage thresholds of the default settings, as the reports use them.
const LIMITS: &str = "CASE stage WHEN 'prospecting' THEN 30 WHEN 'qualification' THEN 30 WHEN 'proposal' THEN 21
                      WHEN 'negotiation' THEN 14 ELSE NULL END";
/// Each account's last held interaction, the plain way.
const LAST: &str = "(SELECT doc_id, max(at) AS last FROM bare_interactions WHERE status = 'held' GROUP BY doc_id)";

fn anchor_rows(report: &str, now: i64, today: &str, today_ms: i64, known_ms: Option<i64>) -> Vec<String> {
    // As known at an instant: only the changes received by then.
    let received = known_ms.map_or(String::new(), |k| format!(" AND received_at <= {k}"));
    let tomorrow = today_ms + DAY_MS;
    let since = now - 30 * DAY_MS;
    let (limits, last) = (LIMITS, LAST);
    let sqls: Vec<String> = match report {
        "pipeline" => vec![
            "SELECT currency, count(*), sum(amount_minor), sum(amount_minor * probability) / 100 FROM bare_deals
             WHERE hidden = 0 {T} AND outcome = 'open' GROUP BY currency ORDER BY 1"
                .into(),
        ],
        "stages" => vec![
            "SELECT stage, currency, count(*), sum(amount_minor) FROM bare_deals WHERE hidden = 0 {T}
             GROUP BY 1, 2 ORDER BY 1, 2"
                .into(),
        ],
        "forecast" => vec![
            "SELECT forecast, currency, count(*), sum(amount_minor) FROM bare_deals
             WHERE hidden = 0 {T} AND forecast != 'omitted' GROUP BY 1, 2 ORDER BY 1, 2"
                .into(),
        ],
        "win-rate" => vec![
            "SELECT coalesce(sum(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END), 0),
                    coalesce(sum(CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END), 0) FROM bare_deals
             WHERE hidden = 0 {T} AND outcome IN ('won', 'lost')"
                .into(),
        ],
        "stage-conversion" => vec![
            "WITH m AS (SELECT doc_id, deal_id, from_stage, to_stage FROM bare_moves WHERE hidden = 0 {T}),
                  entered AS (SELECT to_stage AS stage, count(DISTINCT doc_id || '/' || deal_id) AS n
                              FROM m GROUP BY to_stage)
             SELECT m.from_stage, m.to_stage, count(*), coalesce(max(e.n), 0)
             FROM m LEFT JOIN entered e ON e.stage = m.from_stage
             WHERE m.from_stage IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
                .into(),
        ],
        "stale-deals" => vec![format!(
            "SELECT d.doc_id, d.name, d.deal_id, d.stage, d.stage_changed_at, {limits}, l.last
             FROM bare_deals d LEFT JOIN {last} l ON l.doc_id = d.doc_id
             WHERE d.hidden = 0 {{T}} AND d.outcome = 'open'
               AND d.stage_changed_at < {now} - ({limits}) * CAST({DAY_MS} AS BIGINT)
             ORDER BY 5, 1, 3"
        )],
        "overdue-deals" => vec![format!(
            "SELECT doc_id, name, deal_id, stage, expected_close, amount_minor, currency FROM bare_deals
             WHERE hidden = 0 {{T}} AND outcome = 'open' AND expected_close < '{today}' ORDER BY 5, 1, 3"
        )],
        "lost-reasons" => vec![
            "SELECT 'deal', coalesce(lost_reason, ''), count(*) FROM bare_deals WHERE hidden = 0 {T}
               AND outcome = 'lost' GROUP BY 2
             UNION ALL
             SELECT 'relationship', end_reason, count(*) FROM bare_accounts WHERE hidden = 0 {T}
               AND end_reason IS NOT NULL GROUP BY 2
             ORDER BY 1, 2"
                .into(),
        ],
        "rep-activity" => vec![
            "SELECT rep, kind, week, count(*) FROM bare_interactions WHERE hidden = 0 {T} AND status = 'held'
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                .into(),
        ],
        "rep-summary" => vec![format!(
            "WITH owned AS (SELECT owner AS rep, count(*) AS n FROM bare_accounts
                            WHERE hidden = 0 {{T}} AND owner IS NOT NULL GROUP BY owner),
             deals AS (SELECT owner AS rep, count(*) AS n FROM bare_deals
                       WHERE hidden = 0 {{T}} AND outcome = 'open' AND owner IS NOT NULL GROUP BY owner),
             planned AS (SELECT rep, sum(CASE WHEN at < {today_ms} THEN 1 ELSE 0 END) AS overdue,
                                sum(CASE WHEN at >= {today_ms} AND at < {tomorrow} THEN 1 ELSE 0 END) AS today,
                                sum(CASE WHEN at >= {tomorrow} THEN 1 ELSE 0 END) AS later
                         FROM bare_interactions WHERE hidden = 0 {{T}} AND status = 'planned' GROUP BY rep),
             reps AS (SELECT rep FROM owned UNION SELECT rep FROM deals UNION SELECT rep FROM planned)
             SELECT reps.rep, coalesce(owned.n, 0), coalesce(deals.n, 0), coalesce(planned.overdue, 0),
                    coalesce(planned.today, 0), coalesce(planned.later, 0)
             FROM reps LEFT JOIN owned ON owned.rep = reps.rep LEFT JOIN deals ON deals.rep = reps.rep
                       LEFT JOIN planned ON planned.rep = reps.rep ORDER BY 1"
        )],
        "contact-depth" => vec![format!(
            "WITH c AS (SELECT doc_id, count(DISTINCT contact_id) AS n FROM bare_contacts
                        WHERE hidden = 0 {{T}} AND status = 'held' GROUP BY doc_id),
                  h AS (SELECT doc_id, count(DISTINCT interaction_id) AS n, max(at) AS last FROM bare_interactions
                        WHERE hidden = 0 {{T}} AND status = 'held' GROUP BY doc_id),
                  p AS (SELECT doc_id, min(at) AS next FROM bare_interactions
                        WHERE hidden = 0 {{T}} AND status = 'planned' AND at >= {now} GROUP BY doc_id)
             SELECT a.doc_id, a.name, coalesce(c.n, 0), coalesce(h.n, 0), h.last, p.next
             FROM bare_accounts a LEFT JOIN c ON c.doc_id = a.doc_id LEFT JOIN h ON h.doc_id = a.doc_id
                  LEFT JOIN p ON p.doc_id = a.doc_id
             WHERE a.hidden = 0 {{T}} ORDER BY a.name, a.doc_id"
        )],
        "ladder" => vec![
            "SELECT rung, count(*) FROM bare_accounts WHERE hidden = 0 {T} GROUP BY 1".into(),
            "SELECT from_rung, sum(up), sum(1 - up) FROM bare_ladder WHERE hidden = 0 {T} GROUP BY 1".into(),
        ],
        "lifecycle" => vec![
            "SELECT phase, count(*) FROM bare_accounts WHERE hidden = 0 {T} GROUP BY 1".into(),
            "SELECT ended_phase, count(*) FROM bare_accounts WHERE hidden = 0 {T} AND ended_phase IS NOT NULL
             GROUP BY 1"
                .into(),
        ],
        "key-accounts-at-risk" => vec![format!(
            "SELECT a.doc_id, a.name, a.owner, l.last FROM bare_accounts a LEFT JOIN {last} l ON l.doc_id = a.doc_id
             WHERE a.hidden = 0 {{T}} AND a.tier = 'key' AND a.status = 'active' AND (l.last IS NULL OR l.last < {since})
             ORDER BY l.last NULLS FIRST, a.name, a.doc_id"
        )],
        "open-conflicts" => vec![
            "SELECT doc_id, name, owner, field, n_values, shown, value_list, newest_at FROM bare_conflicts
             WHERE hidden = 0 {T} ORDER BY newest_at DESC, doc_id, field"
                .into(),
        ],
        "late-edits" => {
            let (from, end) = late_period(today_ms);
            vec![format!(
                "SELECT doc_id, name, owner, deal_id, field, old_value, new_value, \"user\", device, made_at, received_at,
                        round((received_at - {end}) / 3600000.0, 2), currency,
                        CASE WHEN currency IS NULL THEN NULL ELSE won_delta END,
                        CASE WHEN currency IS NULL THEN NULL ELSE weighted_delta END, seq
                 FROM bare_field_changes WHERE hidden = 0 {{T}} AND made_at >= {from} AND made_at < {end}
                   AND received_at >= {end}{received}
                 ORDER BY made_at, seq, n"
            )]
        }
        other => panic!("no anchor for report {other}"),
    };
    sqls
}

/// A filter or scope the benchmark asks for: as the report API takes it, and
/// as a condition on the anchor's bare rows.
struct Shape {
    label: &'static str,
    subject: Subject,
    filter: Filter,
    cond: &'static str,
}

/// Runs anchor statements with `cond` for `{T}`, materialising rows like the
/// reports do, for the page `(limit, offset)` of a per-row report; returns the
/// row count and the total of a per-row report.
fn run_anchor(db: &dyn ReportDb, anchor: &Anchor, cond: &str, page: (i64, i64)) -> Res<(usize, Option<i64>)> {
    let run = |sql: &str| -> Res<Vec<Vec<serde_json::Value>>> {
        let params: Vec<Value> =
            if sql.contains("?1") { vec![Value::Integer(page.0), Value::Integer(page.1)] } else { Vec::new() };
        Ok(db.rows(usize::MAX, &sql.replace("{T}", cond), &params)?)
    };
    let mut rows = 0;
    for sql in &anchor.sqls {
        rows += run(sql)?.len();
    }
    let total = match &anchor.count {
        Some(sql) => {
            let rows = run(sql)?;
            Some(rows.first().and_then(|r| r.first()).and_then(serde_json::Value::as_i64).ok_or("no count")?)
        }
        None => None,
    };
    Ok((rows, total))
}

/// `n` account documents written through the editor, shaped like the
/// seeded ones: two deals moved through two stages, ten held interactions,
/// a ladder move.
fn account_docs(n: usize) -> Res<Vec<(String, automerge::AutoCommit)>> {
    use rapport_core::*;
    let author = Author::new("rep01", "phone", ActorId::random());
    let settings = Settings::default();
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let mut new = NewAccount::new(format!("Written {k}"));
        new.owner = Some(rep(k % 20));
        new.team = Some(TEAMS[(k % 20) / 5].to_owned());
        new.territory = Some(format!("T{:02}", k % 19 + 1));
        let mut doc = AccountDoc::create(&author, &new)?;
        let mut e = doc.edit(&author, &settings);
        for d in 0..2 {
            let deal = e.add_deal(&NewDeal::new(format!("Deal {d}"), Money::new(120_000, "EUR")?))?;
            e.move_deal_stage(deal, "qualification", None)?;
            e.move_deal_stage(deal, "proposal", None)?;
        }
        for i in 0..10 {
            e.log_interaction(&NewInteraction::new(
                *InteractionKind::ALL.iter().cycle().nth(i).ok_or("no kind")?,
                "Call",
            ))?;
        }
        e.move_ladder(LoyaltyRung::Customer, None)?;
        out.push((doc.id().to_string(), doc.into_automerge()));
    }
    Ok(out)
}

/// Per account: reading the document (typed account and conflicts), writing
/// its reporting rows the first time, and rewriting them, in a transaction
/// rolled back afterwards; `drop_indexes` first drops the reports' secondary
/// indexes, to tell their share.
/// What the write-cost measurement takes away first (in its transaction, rolled back after).
#[derive(Clone, Copy)]
enum Without {
    Nothing,
    /// The reports' secondary indexes (not those of the `_hist` tables).
    SecondaryIndexes,
    /// Keeping the rows as known (ADR 0023): the `_hist` tables ignore inserts.
    RowsAsKnown,
}

fn write_cost(
    conn: &mut Connection,
    docs: &mut [(String, automerge::AutoCommit)],
    without: Without,
) -> Res<(Duration, Duration, Duration)> {
    let count = docs.len() as u32;
    let per = |d: Duration| d / count;
    let tx = conn.transaction()?;
    match without {
        Without::Nothing => {}
        Without::SecondaryIndexes => {
            let indexes: Vec<String> = tx
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'rpt_%'
                     AND tbl_name NOT LIKE '%_hist' AND sql IS NOT NULL",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for index in indexes {
                tx.execute_batch(&format!("DROP INDEX {index}"))?;
            }
        }
        Without::RowsAsKnown => {
            for table in KNOWN_TABLES {
                tx.execute_batch(&format!(
                    "DROP TABLE {table}_hist;
                     CREATE TABLE {table}_hist AS SELECT *, 0 AS valid_from, 0 AS valid_to FROM {table} WHERE false;
                     CREATE TRIGGER {table}_hist_ignored BEFORE INSERT ON {table}_hist BEGIN SELECT RAISE(IGNORE); END;"
                ))?;
            }
        }
    }
    let start = Instant::now();
    for (_, doc) in docs.iter() {
        let mut account = rapport_core::AccountDoc::from_automerge(doc.clone())?;
        std::hint::black_box((account.read(), account.conflicts()));
    }
    let read = per(start.elapsed());
    let start = Instant::now();
    for (id, doc) in docs.iter_mut() {
        rapport_server::reports::write_report_rows(&tx, id, doc)?;
    }
    let first = per(start.elapsed());
    let start = Instant::now();
    for (id, doc) in docs.iter_mut() {
        rapport_server::reports::write_report_rows(&tx, id, doc)?;
    }
    let again = per(start.elapsed());
    tx.rollback()?;
    Ok((read, first, again))
}

/// Per account: one more change (its first deal won) is appended, and its
/// field-change rows written as the server does (only that change's history
/// entry, its deal's figures before and after, the rows), against an anchor
/// that computes the account's whole history and inserts the same change's
/// fields into a bare table. In a transaction rolled back afterwards.
fn field_change_cost(
    conn: &mut Connection,
    docs: &[(String, automerge::AutoCommit)],
    now: i64,
) -> Res<(Duration, Duration)> {
    use rapport_core::*;
    let author = Author::new("rep01", "phone", ActorId::random());
    let settings = Settings::default();
    let mut appended = Vec::with_capacity(docs.len());
    for (id, doc) in docs {
        let mut account = AccountDoc::from_automerge(doc.clone())?;
        let deal = account.read().deals.first().ok_or("no deal")?.id;
        account.edit(&author, &settings).move_deal_stage(deal, "won", None)?;
        let hash = *account.heads().first().ok_or("no head")?;
        appended.push((id.clone(), account.into_automerge(), hash));
    }
    let count = docs.len() as u32;
    let tx = conn.transaction()?;
    tx.execute_batch(
        "CREATE TEMP TABLE bare_appended (seq INTEGER, n INTEGER, doc_id TEXT, field TEXT, old TEXT, new TEXT,
                                          made_at INTEGER, received_at INTEGER)",
    )?;
    let mut ours = Duration::ZERO;
    let mut whole = Duration::ZERO;
    for (k, (id, am, hash)) in appended.iter_mut().enumerate() {
        let seq = 2_000_000_000 + k as i64;
        let made_at = am.get_change_by_hash(hash).map_or(now, |c| c.timestamp());
        let start = Instant::now();
        let change = rapport_server::reports::Appended { seq, hash: *hash, made_at, received_at: now };
        rapport_server::reports::write_field_changes(&tx, id, am, &[change])?;
        ours += start.elapsed();
        let start = Instant::now();
        let mut account = AccountDoc::from_automerge(std::mem::take(am))?;
        let history = account.history();
        let entry = history.iter().find(|e| e.hash == hash.to_string()).ok_or("no entry")?;
        let mut insert = tx.prepare_cached("INSERT INTO bare_appended VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
        for (n, c) in entry.changes.iter().enumerate() {
            insert.execute(params![seq, n as i64, id.as_str(), c.field, c.old, c.new, made_at, now])?;
        }
        whole += start.elapsed();
        *am = account.into_automerge();
    }
    tx.rollback()?;
    Ok((ours / count, whole / count))
}

/// One measured cell of a report grid: ours against the anchor.
struct Cell<'a> {
    report: &'a str,
    label: &'a str,
    ours: Duration,
    base: Duration,
    table: &'a queries::Table,
    anchor_rows: usize,
    anchor_total: Option<i64>,
}

impl Cell<'_> {
    /// Prints the cell's row; whether it meets the target (≤ 2× anchor and < 100 ms).
    fn print(&self) -> bool {
        let ratio = self.ours.as_secs_f64() / self.base.as_secs_f64();
        let met = ratio <= 2.0 && self.ours < Duration::from_millis(100);
        let of = |total: Option<i64>| total.map_or(String::new(), |t| format!(" of {t}"));
        println!(
            "| {} | {} | {} | {} | {ratio:.2} | {}{} / {}{} | {} |",
            self.report,
            self.label,
            ms(self.ours),
            ms(self.base),
            self.table.rows.len(),
            of(self.table.total.map(|t| t as i64)),
            self.anchor_rows,
            of(self.anchor_total),
            if met { "yes" } else { "**no**" }
        );
        met
    }
}

/// The filter report `report` is asked with at instant `at` (its "now":
/// `known_at`, so that ours and the anchor count at the same instant and no
/// deal turns stale between the two): late edits get the period
/// [`late_period`] describes, the 30 days that ended a week before `at`.
fn report_filter(report: &str, filter: Filter, at: OffsetDateTime) -> Filter {
    let mut filter = Filter { known_at: Some(at), ..filter };
    if report == "late-edits" {
        (filter.from, filter.to) =
            (Some(at.date() - time::Duration::days(37)), Some(at.date() - time::Duration::days(7)));
    }
    filter
}

/// One cell of a grid: report `report` for `shape` at instant `at` (read as
/// known then when `known` is given), as the API answers JSON (the first
/// page of a per-row report), timed against `anchor`. Asserts that both list
/// the same rows, prints the cell and returns the report's table and whether
/// the cell met the target.
fn measure(
    conn: &dyn ReportDb,
    runs: usize,
    (report, shape): (&str, &Shape),
    at: OffsetDateTime,
    known: Option<Known>,
    anchor: &Anchor,
) -> Res<(queries::Table, bool)> {
    let limit = queries::PAGINATED.contains(&report).then_some(queries::DEFAULT_LIMIT);
    let filter = report_filter(report, Filter { limit, ..shape.filter.clone() }, at);
    let (ours, table) =
        time(runs, || Ok(queries::run(conn, report, &shape.subject, &filter, known).ok_or("unknown report")??))?;
    let page = (i64::from(limit.unwrap_or(0)), 0);
    let (base, (anchor_rows, anchor_total)) = time(runs, || run_anchor(conn, anchor, shape.cond, page))?;
    if anchor.sqls.len() == 1 {
        assert_eq!(table.rows.len(), anchor_rows, "{report} ({}): the rows", shape.label);
    }
    assert_eq!(table.total.map(|t| t as i64), anchor_total, "{report} ({}): every row", shape.label);
    let met = Cell { report, label: shape.label, ours, base, table: &table, anchor_rows, anchor_total }.print();
    Ok((table, met))
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> Res<T>) -> Res<(Duration, T)> {
    let mut out = f()?; // warm-up (statement cache, page cache)
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        out = f()?;
        times.push(start.elapsed());
    }
    Ok((median(times), out))
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> Res<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    let var = |k: &str| -> Res<Option<usize>> { Ok(std::env::var(k).ok().map(|v| v.parse()).transpose()?) };
    let accounts = var("RAPPORT_BENCH_ACCOUNTS")?.unwrap_or(if bench { 100_000 } else { 200 });
    let runs = var("RAPPORT_BENCH_RUNS")?.unwrap_or(if bench { 7 } else { 1 }).max(if bench { 5 } else { 1 });

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("rapport.db");
    let (mut conn, _lock) = rapport_server::db::open_for_management(&path)?;
    let now_t = OffsetDateTime::now_utc();
    let now = (now_t.unix_timestamp_nanos() / 1_000_000) as i64;
    let today_ms = now - now.rem_euclid(DAY_MS);
    let today = now_t.date().to_string();

    let start = Instant::now();
    let n = seed(&mut conn, accounts, now)?;
    let seeded = start.elapsed();
    // Steady state: the seed transaction checkpointed out of the WAL, as the server does over time,
    // and the planner's statistics gathered, as the server does at start and hourly.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    rapport_server::db::optimize(&conn, true)?;
    // The server keeps SQLite's default page cache (2 MiB); `RAPPORT_BENCH_CACHE_MIB` tries a larger one
    // (for both sides), to show how much of the time is page-cache misses.
    if let Some(mib) = var("RAPPORT_BENCH_CACHE_MIB")? {
        conn.pragma_update(None, "cache_size", -(mib as i64) * 1024)?;
        println!("page cache: {mib} MiB (server default: 2 MiB)");
    }
    let bytes =
        std::fs::metadata(&path)?.len() + std::fs::metadata(dir.path().join("rapport.db-wal")).map_or(0, |m| m.len());
    println!("seeded in {:.1} s (one transaction, incl. anchor tables): {n:?}", seeded.as_secs_f64());
    println!(
        "database file (with WAL): {:.0} MiB; {runs} timed runs per cell (median), after one warm-up",
        bytes as f64 / 1048576.0
    );

    let subject = |user: &str, role, teams: &[&str], territories: &[&str]| Subject {
        user: user.into(),
        role,
        teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        territories: territories.iter().map(|t| (*t).to_owned()).collect(),
    };
    let admin = subject("admin", Role::Admin, &[], &[]);
    // The target grid (unfiltered, and a team), then other filters and scopes.
    let grid = vec![
        Shape { label: "none", subject: admin.clone(), filter: Filter::default(), cond: "" },
        Shape {
            label: "team=north",
            subject: admin.clone(),
            filter: Filter { team: Some("north".into()), ..Filter::default() },
            cond: "AND team = 'north'",
        },
    ];
    let others = vec![
        Shape {
            label: "territory=T05",
            subject: admin.clone(),
            filter: Filter { territory: Some("T05".into()), ..Filter::default() },
            cond: "AND territory = 'T05'",
        },
        Shape {
            label: "rep=rep03",
            subject: admin.clone(),
            filter: Filter { rep: Some("rep03".into()), ..Filter::default() },
            cond: "AND owner = 'rep03'",
        },
        Shape {
            label: "manager rep01 (north)",
            subject: subject("rep01", Role::Manager, &["north"], &[]),
            filter: Filter::default(),
            cond: "AND (owner = 'rep01' OR team IN ('north'))",
        },
        Shape {
            label: "rep rep03 (T05)",
            subject: subject("rep03", Role::Rep, &[], &["T05"]),
            filter: Filter::default(),
            cond: "AND (owner = 'rep03' OR territory IN ('T05'))",
        },
    ];
    let mut last_pages = Vec::new();
    for (title, shapes) in [("filter", &grid), ("other filter or scope (outside the target grid)", &others)] {
        println!();
        println!("| report | {title} | ours | anchor | ratio | rows ours / anchor | target met? |");
        println!("|---|---|---:|---:|---:|---:|---|");
        let mut misses = 0;
        for report in queries::REPORTS {
            let anchor = anchor(report, now, &today, today_ms, None);
            for shape in shapes {
                let (table, met) = measure(&conn, runs, (report, shape), now_t, None, &anchor)?;
                misses += usize::from(!met);
                if let (Some(total), "none") = (table.total, shape.label) {
                    last_pages.push((report, total, anchor.clone()));
                }
            }
        }
        println!();
        println!(
            "{misses} of {} measurements miss the target (≤ 2× anchor and < 100 ms)",
            queries::REPORTS.len() * shapes.len()
        );
    }
    // OFFSET paging reads the rows it skips: the last page of each per-row report, unfiltered.
    println!();
    println!("| report (last page, no filter) | offset | ours | anchor | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (report, total, anchor) in last_pages {
        let offset = total.saturating_sub(u64::from(queries::DEFAULT_LIMIT));
        let last = Filter { limit: Some(queries::DEFAULT_LIMIT), offset: Some(offset), ..Filter::default() };
        let filter = report_filter(report, last, now_t);
        let (ours, _) =
            time(runs, || Ok(queries::run(&conn, report, &admin, &filter, None).ok_or("unknown report")??))?;
        let page = (i64::from(queries::DEFAULT_LIMIT), offset as i64);
        let (base, _) = time(runs, || run_anchor(&conn, &anchor, "", page))?;
        println!(
            "| {report} | {offset} | {} | {} | {:.2} |",
            ms(ours),
            ms(base),
            ours.as_secs_f64() / base.as_secs_f64()
        );
    }
    // The same reports on PostgreSQL, from a copy of the same rows.
    if bench || std::env::var("RAPPORT_BENCH_POSTGRES").is_ok() {
        postgres::reports(&conn, runs, &grid, (now_t, now, &today, today_ms))?;
    }
    // The figures as known at an earlier instant (ADR 0023). Each row has an
    // older version closed before position P = 1500 (the instant a week ago),
    // the version valid at P, and, for the accounts rewritten since (a share
    // picked by the first hex digit of the account id), a newer one. The
    // versions carry the same values, so the rows valid at P are exactly the
    // bare tables' rows: the anchor is the same plain aggregate over them,
    // as of that instant.
    let then_t = now_t - time::Duration::days(7);
    let then_ms = now - 7 * DAY_MS;
    let then_today_ms = then_ms - then_ms.rem_euclid(DAY_MS);
    let then_today = then_t.date().to_string();
    let then = Known { seq: 1500, at_ms: then_ms };
    for (cut, share) in [("1", "1 in 16 (6 %)"), ("4", "1 in 4 (25 %)")] {
        let open = i64::MAX;
        for table in KNOWN_TABLES {
            // Touched since: the account's own row, its deals (their last touch) and its newest
            // interaction (written up) changed.
            let changed = match table {
                "rpt_accounts" | "rpt_deals" => format!("doc_id < '{cut}'"),
                "rpt_interactions" => format!(
                    "doc_id < '{cut}' AND interaction_id =
                       (SELECT max(x.interaction_id) FROM rpt_interactions x WHERE x.doc_id = rpt_interactions.doc_id)"
                ),
                _ => "false".into(),
            };
            conn.execute_batch(&format!(
                "DELETE FROM {table}_hist;
                 INSERT INTO {table}_hist SELECT *, 0, 1000 FROM {table};
                 INSERT INTO {table}_hist SELECT *, 1000, CASE WHEN {changed} THEN 2000 ELSE {open} END FROM {table};
                 INSERT INTO {table}_hist SELECT *, 2000, {open} FROM {table} WHERE {changed};"
            ))?;
        }
        // The anchor's bare tables: the rows valid at P.
        let columns = |table: &str| -> Res<String> {
            Ok(conn.prepare(&format!("SELECT * FROM {table} LIMIT 0"))?.column_names().collect::<Vec<_>>().join(", "))
        };
        let mut sources = HashMap::new();
        for table in KNOWN_TABLES {
            sources.insert(
                table,
                format!("(SELECT {} FROM {table}_hist WHERE valid_from <= 1500 AND valid_to > 1500)", columns(table)?),
            );
        }
        bare_tables(&conn, &|table| sources[table].clone())?;
        conn.execute_batch("ANALYZE")?;
        let versions: i64 = conn.query_row("SELECT count(*) FROM rpt_deals_hist", [], |r| r.get(0))?;
        println!();
        println!(
            "As known a week ago, accounts rewritten since: {share}; {versions} rows in `rpt_deals_hist` for {} deals",
            n.deals
        );
        println!();
        println!("| report (as known then) | filter | ours | anchor | ratio | rows ours / anchor | target met? |");
        println!("|---|---|---:|---:|---:|---:|---|");
        let mut misses = 0;
        for report in queries::REPORTS {
            let anchor = anchor(report, then_ms, &then_today, then_today_ms, Some(then_ms));
            for shape in &grid {
                let (_, met) = measure(&conn, runs, (report, shape), then_t, Some(then), &anchor)?;
                misses += usize::from(!met);
            }
        }
        println!();
        println!(
            "{misses} of {} measurements miss the target (≤ 2× anchor and < 100 ms)",
            queries::REPORTS.len() * grid.len()
        );
    }
    // What the reporting index costs each accepted change: one account's rows rewritten.
    let mut docs = account_docs(if bench { 500 } else { 20 })?;
    println!();
    println!(
        "| reporting rows of one account ({} accounts, mean) | read document | first write (incl. read) | rewrite (incl. read) |",
        docs.len()
    );
    println!("|---|---:|---:|---:|");
    for (label, without) in [
        ("as the server keeps them", Without::Nothing),
        ("without the reports' secondary indexes", Without::SecondaryIndexes),
        ("without keeping the rows as known (ADR 0023)", Without::RowsAsKnown),
    ] {
        let mut runs_of = Vec::new();
        for _ in 0..3 {
            runs_of.push(write_cost(&mut conn, &mut docs, without)?);
        }
        runs_of.sort_by_key(|r| r.2);
        let (read, first, again) = runs_of[1];
        println!("| {label} | {} | {} | {} |", us(read), us(first), us(again));
    }
    // What the index of field changes costs each accepted change (late edits).
    println!();
    println!(
        "| field changes of one appended change ({} accounts, mean) | ours: its entries only | anchor: whole history, then the same rows | ratio |",
        docs.len()
    );
    println!("|---|---:|---:|---:|");
    let mut runs_of = Vec::new();
    for _ in 0..3 {
        runs_of.push(field_change_cost(&mut conn, &docs, now)?);
    }
    runs_of.sort_by_key(|r| r.0);
    let (ours, whole) = runs_of[1];
    println!("| a deal won | {} | {} | {:.2} |", us(ours), us(whole), ours.as_secs_f64() / whole.as_secs_f64());
    if std::env::var("RAPPORT_BENCH_KEEP").is_ok() {
        drop(conn);
        let kept = dir.keep();
        println!("kept {}", kept.join("rapport.db").display());
    }
    Ok(())
}
