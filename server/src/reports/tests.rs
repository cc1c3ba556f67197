//! The weekly rollups against the fact rows and against figures computed here
//! from the typed accounts, over seeded random histories with arbitrary times
//! (stage re-entries, weeks cut by the period, every scope), and the
//! incremental maintenance against a rebuild from the fact rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rapport_core::*;
use rusqlite::Connection;
use serde_json::{Value as Json, json};
use time::{Date, Duration, OffsetDateTime};

use super::Filter;
use super::index::{rebuild_rollups, rewrite};
use super::queries::run_at;
use crate::access::{Role, Subject};

const STAGES: [&str; 6] = ["prospecting", "qualification", "proposal", "negotiation", "won", "lost"];
const USERS: [&str; 3] = ["ana", "ben", "olga"];

fn base() -> OffsetDateTime {
    time::macros::datetime!(2026-03-01 00:00 UTC)
}

fn database() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::db::schema::migrate(&mut conn).unwrap();
    conn
}

/// A real account (written through the editor) to vary: three deals, eight interactions.
fn template() -> Account {
    let author = Author::new("olga", "laptop", ActorId::random());
    let settings = Settings::default();
    let mut doc = AccountDoc::create(&author, &NewAccount::new("Template")).unwrap();
    let mut editor = doc.edit(&author, &settings);
    for d in 0..3 {
        editor.add_deal(&NewDeal::new(format!("Deal {d}"), Money::new(1000, "EUR").unwrap())).unwrap();
    }
    for kind in InteractionKind::ALL.iter().cycle().take(8) {
        editor.log_interaction(&NewInteraction::new(*kind, "Touch")).unwrap();
    }
    doc.read()
}

/// Account `n` of the data set drawn from `rng`: any scope, a deleted one now
/// and then, interactions at any time in 150 days, deals wandering between
/// stages (re-entering some) over those days.
fn vary(template: &Account, rng: &mut SmallRng) -> Account {
    let mut a = template.clone();
    a.party.owner = [Some("ana"), Some("ben"), None].choose(rng).unwrap().map(str::to_owned);
    a.party.team = [Some("east"), Some("west"), None].choose(rng).unwrap().map(str::to_owned);
    a.party.territory = [Some("north"), Some("south"), None].choose(rng).unwrap().map(str::to_owned);
    a.deleted = (rng.random_range(0..10) == 0).then(|| Deletion { at: base(), by: "olga".into() });
    let mut at = || base() - Duration::milliseconds(rng.random::<u64>().rem_euclid(150 * 86_400_000) as i64);
    let times: Vec<OffsetDateTime> = (0..a.interactions.len() + 32).map(|_| at()).collect();
    let mut times = times.into_iter();
    for i in &mut a.interactions {
        let t = times.next().unwrap();
        i.status = [
            InteractionStatus::Held,
            InteractionStatus::Held,
            InteractionStatus::Held,
            InteractionStatus::Planned,
            InteractionStatus::Cancelled,
        ]
        .choose(rng)
        .cloned()
        .unwrap();
        (i.actual_start, i.planned_start) =
            if i.status == InteractionStatus::Planned { (None, Some(t)) } else { (Some(t), None) };
        i.staff = USERS.iter().filter(|_| rng.random_range(0..3) == 0).map(|u| (*u).to_owned()).collect();
    }
    for d in &mut a.deals {
        let mut t = times.next().unwrap();
        let mut from: Option<String> = None;
        d.stage_history.clear();
        for _ in 0..=rng.random_range(0..7) {
            let to = STAGES.choose(rng).unwrap().to_string();
            if from.as_deref() == Some(to.as_str()) {
                continue;
            }
            d.stage_history.push(StageMove { from: from.clone(), to: to.clone(), at: t, by: "olga".into() });
            from = Some(to);
            // Several moves on one day now and then.
            t += Duration::hours(rng.random_range(0..24 * 12) as i64);
        }
        d.stage = from.unwrap_or_else(|| "prospecting".into());
    }
    a
}

fn subjects() -> Vec<Subject> {
    let subject = |user: &str, role, teams: &[&str], territories: &[&str]| Subject {
        user: user.into(),
        role,
        teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        territories: territories.iter().map(|t| (*t).to_owned()).collect(),
    };
    vec![
        subject("admin", Role::Admin, &[], &[]),
        subject("ana", Role::Manager, &["west"], &[]),
        subject("ben", Role::Rep, &[], &["north"]),
        subject("ana", Role::Rep, &[], &[]),
    ]
}

fn filters(rng: &mut SmallRng) -> Vec<Filter> {
    let day = |rng: &mut SmallRng| base().date() - Duration::days(rng.random_range(0..165) as i64 - 5);
    let mut out = vec![Filter::default()];
    for _ in 0..12 {
        let (a, b) = (day(rng), day(rng));
        let (from, to) = (a.min(b), a.max(b));
        out.push(Filter { from: Some(from), to: Some(to), ..Filter::default() });
        out.push(Filter { from: Some(from), ..Filter::default() });
        out.push(Filter { to: Some(to), ..Filter::default() });
    }
    // A single day, a Monday-to-Sunday week, and the other filters.
    let monday = time::macros::date!(2026 - 01 - 05);
    out.push(Filter { from: Some(monday), to: Some(monday), ..Filter::default() });
    out.push(Filter { from: Some(monday), to: Some(monday + Duration::days(6)), ..Filter::default() });
    out.push(Filter {
        from: Some(monday),
        to: Some(monday + Duration::days(13)),
        team: Some("east".into()),
        ..Filter::default()
    });
    out.push(Filter { rep: Some("ben".into()), ..Filter::default() });
    out.push(Filter { territory: Some("south".into()), to: Some(monday), ..Filter::default() });
    out
}

/// Whether the subject may read the account and it passes the filter.
fn passes(a: &Account, s: &Subject, f: &Filter) -> bool {
    let p = &a.party;
    a.deleted.is_none() && a.merged_into.is_none() && visible(s, f, &p.owner, &p.team, &p.territory)
}

/// Whether a row of an account with this owner, team and territory is in the
/// subject's scope and passes the filter's team, rep and territory.
fn visible(s: &Subject, f: &Filter, owner: &Option<String>, team: &Option<String>, territory: &Option<String>) -> bool {
    let in_scope = match s.role {
        Role::Admin | Role::Office => true,
        Role::Manager => owner.as_ref() == Some(&s.user) || team.as_ref().is_some_and(|t| s.teams.contains(t)),
        Role::Rep => owner.as_ref() == Some(&s.user) || territory.as_ref().is_some_and(|t| s.territories.contains(t)),
    };
    let eq = |want: &Option<String>, got: &Option<String>| want.is_none() || want == got;
    in_scope && eq(&f.team, team) && eq(&f.rep, owner) && eq(&f.territory, territory)
}

fn in_period(t: OffsetDateTime, f: &Filter) -> bool {
    let start = |d: Date| d.midnight().assume_utc();
    f.from.is_none_or(|d| t >= start(d)) && f.to.is_none_or(|d| t < start(d + Duration::days(1)))
}

/// `rep-activity` from the typed accounts.
fn expected_activity(accounts: &[Account], s: &Subject, f: &Filter) -> Vec<Vec<Json>> {
    let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for a in accounts.iter().filter(|a| passes(a, s, f)) {
        for i in a.interactions.iter().filter(|i| i.status == InteractionStatus::Held && in_period(i.when(), f)) {
            let (y, w, _) = i.when().to_iso_week_date();
            let reps: Vec<String> =
                if i.staff.is_empty() { vec![i.logged_by.clone()] } else { i.staff.iter().cloned().collect() };
            for rep in reps {
                *counts.entry((rep, i.kind.as_str().to_owned(), format!("{y}-W{w:02}"))).or_default() += 1;
            }
        }
    }
    counts.into_iter().map(|((r, k, w), n)| vec![json!(r), json!(k), json!(w), json!(n)]).collect()
}

/// `stage-conversion` from the typed accounts: moves in the period, and the
/// distinct deals that entered the from-stage in the period.
fn expected_conversion(accounts: &[Account], s: &Subject, f: &Filter) -> Vec<Vec<Json>> {
    let mut moves: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut entered: BTreeMap<String, BTreeSet<(usize, usize)>> = BTreeMap::new();
    for (n, a) in accounts.iter().enumerate().filter(|(_, a)| passes(a, s, f)) {
        for (k, d) in a.deals.iter().enumerate() {
            for m in d.stage_history.iter().filter(|m| in_period(m.at, f)) {
                entered.entry(m.to.clone()).or_default().insert((n, k));
                if let Some(from) = &m.from {
                    *moves.entry((from.clone(), m.to.clone())).or_default() += 1;
                }
            }
        }
    }
    moves
        .into_iter()
        .map(|((from, to), n)| {
            let e = entered.get(&from).map_or(0, |s| s.len() as i64);
            let rate = if e > 0 { json!(n as f64 / e as f64) } else { Json::Null };
            vec![json!(from), json!(to), json!(n), json!(e), rate]
        })
        .collect()
}

fn rows(conn: &Connection, report: &str, s: &Subject, f: &Filter, rollups: bool) -> Vec<Vec<Json>> {
    run_at(conn, report, s, f, base(), rollups).unwrap().unwrap().rows
}

/// Every row of a rollup table, in key order.
fn snapshot(conn: &Connection, table: &str) -> Vec<Vec<rusqlite::types::Value>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5, 6, 7")).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect()).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

fn write_all(conn: &Connection, accounts: &[Account]) {
    for (n, a) in accounts.iter().enumerate() {
        rewrite(conn, &format!("doc-{n}"), Some((a, &[]))).unwrap();
    }
}

#[test]
fn weekly_rollups_give_the_figures_of_the_records_for_every_period_and_scope() {
    let mut rng = SmallRng::seed_from_u64(0x5241_5053);
    let template = template();
    let accounts: Vec<Account> = (0..60).map(|_| vary(&template, &mut rng)).collect();
    let conn = database();
    write_all(&conn, &accounts);
    let rollup_rows: i64 = conn.query_row("SELECT count(*) FROM rpt_activity", [], |r| r.get(0)).unwrap();
    let reentries: i64 =
        conn.query_row("SELECT count(*) FROM rpt_stage_flow WHERE prev_day != -1", [], |r| r.get(0)).unwrap();
    assert!(rollup_rows > 0 && reentries > 0, "the data set exercises the rollups ({rollup_rows}, {reentries})");
    let mut checked = 0;
    for f in filters(&mut rng) {
        for s in subjects() {
            let activity = expected_activity(&accounts, &s, &f);
            let conversion = expected_conversion(&accounts, &s, &f);
            for rollups in [true, false] {
                let what = format!("{} {f:?} rollups={rollups}", s.user);
                assert_eq!(rows(&conn, "rep-activity", &s, &f, rollups), activity, "rep-activity as {what}");
                assert_eq!(rows(&conn, "stage-conversion", &s, &f, rollups), conversion, "stage-conversion as {what}");
            }
            checked += usize::from(!activity.is_empty() && !conversion.is_empty());
        }
    }
    assert!(checked > 100, "most cases have figures ({checked})");
}

#[test]
fn rollups_stay_equal_to_a_rebuild_through_every_rewrite() {
    let mut rng = SmallRng::seed_from_u64(7);
    let template = template();
    let mut accounts: Vec<Account> = (0..40).map(|_| vary(&template, &mut rng)).collect();
    let conn = database();
    write_all(&conn, &accounts);
    for round in 0..4 {
        // Reassign, hide, move in time: every account drawn again, some twice.
        for (n, account) in accounts.iter_mut().enumerate() {
            if rng.random_range(0..2) == 0 {
                *account = vary(&template, &mut rng);
                rewrite(&conn, &format!("doc-{n}"), Some((account, &[]))).unwrap();
            }
        }
        // A document that stops being a readable account leaves nothing behind.
        let gone = format!("doc-{}", rng.random_range(0..accounts.len()));
        rewrite(&conn, &gone, None).unwrap();
        let incremental = [snapshot(&conn, "rpt_activity"), snapshot(&conn, "rpt_stage_flow")];
        assert!(incremental.iter().all(|t| !t.is_empty()));
        rebuild_rollups(&conn).unwrap();
        assert_eq!([snapshot(&conn, "rpt_activity"), snapshot(&conn, "rpt_stage_flow")], incremental, "round {round}");
        let zero: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM rpt_activity WHERE n <= 0) + (SELECT count(*) FROM rpt_stage_flow WHERE n <= 0)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(zero, 0, "no empty rollup rows are kept");
        let n: usize = gone.trim_start_matches("doc-").parse().unwrap();
        rewrite(&conn, &gone, Some((&accounts[n], &[]))).unwrap();
    }
}

/// Every row the reporting index holds, table by table.
fn all_rows(conn: &Connection) -> Vec<Vec<Vec<rusqlite::types::Value>>> {
    ["rpt_accounts", "rpt_deals", "rpt_stage_moves", "rpt_interactions", "rpt_conflicts", "rpt_activity"]
        .iter()
        .map(|table| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3")).unwrap();
            let n = stmt.column_count();
            stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_rewrite_that_changes_no_row_writes_nothing_and_one_that_does_rewrites() {
    let mut rng = SmallRng::seed_from_u64(11);
    let template = template();
    let mut account = vary(&template, &mut rng);
    let conn = database();
    rewrite(&conn, "doc-0", Some((&account, &[]))).unwrap();
    let before = all_rows(&conn);

    // A field no report reads: the planned rows are the same, nothing is written.
    account.party.industry = Some("Paper".into());
    account.party.address.city = Some("Oulu".into());
    let writes = conn.total_changes();
    rewrite(&conn, "doc-0", Some((&account, &[]))).unwrap();
    assert_eq!(conn.total_changes(), writes, "an unchanged account costs no write");
    assert_eq!(all_rows(&conn), before);

    // A field reports read: the rows are rewritten, equal to a write from scratch.
    account.party.name = "Renamed Oy".into();
    account.deals[0].amount.minor += 500;
    rewrite(&conn, "doc-0", Some((&account, &[]))).unwrap();
    let after = all_rows(&conn);
    assert_ne!(after, before);
    let fresh = database();
    rewrite(&fresh, "doc-0", Some((&account, &[]))).unwrap();
    assert_eq!(after, all_rows(&fresh));
}

#[test]
fn reports_use_the_amount_a_deal_s_line_items_give_unless_it_was_set_by_hand() {
    let author = Author::new("olga", "laptop", ActorId::random());
    let settings = Settings::default();
    let mut doc = AccountDoc::create(&author, &NewAccount::new("Acme")).unwrap();
    let (follows, by_hand) = {
        let mut e = doc.edit(&author, &settings);
        let follows = e.add_deal(&NewDeal::new("Boilers", Money::new(1, "EUR").unwrap())).unwrap();
        let item = |name: &str, quantity, unit_price_minor, discount_percent| NewLineItem {
            name: name.into(),
            quantity,
            unit_price_minor,
            discount_percent,
        };
        e.add_line_item(follows, &item("Boiler", 2, 120_050, 10)).unwrap();
        e.add_line_item(follows, &item("Installation", 1, 5_000, 0)).unwrap();
        let by_hand = e.add_deal(&NewDeal::new("Pumps", Money::new(1, "EUR").unwrap())).unwrap();
        e.add_line_item(by_hand, &item("Pump", 10, 10_000, 0)).unwrap();
        e.set_field(&format!("deals.{by_hand}.amount"), "75000").unwrap();
        (follows, by_hand)
    };
    let conn = database();
    let mut am = doc.into_automerge();
    super::index::write_report_rows(&conn, "doc-0", &mut am).unwrap();
    let amount = |deal: DealId| -> i64 {
        conn.query_row("SELECT amount_minor FROM rpt_deals WHERE deal_id = ?1", [deal.to_string()], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(amount(follows), 216_090 + 5_000, "the line items' total");
    assert_eq!(amount(by_hand), 75_000, "the hand-set amount");
    let admin = subjects().remove(0);
    let pipeline = rows(&conn, "pipeline", &admin, &Filter::default(), true);
    assert_eq!(pipeline, vec![vec![json!("EUR"), json!(2), json!(296_090), json!(296_090 * 10 / 100)]], "{pipeline:?}");
}

/// As known then (ADR 0023): every report read in parts — today's rows of
/// the accounts not rewritten since, the rows replaced since, and for the
/// rollup reports today's rollups corrected by both — equals the plain scan
/// of every row valid then, at every position of a history where accounts
/// are rewritten, deleted and brought back, for every scope, filter and page.
#[test]
fn figures_as_known_then_read_in_parts_equal_a_scan_of_every_row_valid_then() {
    use super::known::Known;
    use super::queries::{PAGINATED, REPORTS, run, run_scanned};

    let mut rng = SmallRng::seed_from_u64(0x4B4E_4F57);
    let template = template();
    let conn = database();
    let mut seq = 0;
    let mut write = |conn: &Connection, doc: &str, account: Option<&Account>| {
        seq += 1;
        conn.execute(
            "INSERT INTO documents (id, last_seq) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET last_seq = ?2",
            rusqlite::params![doc, seq],
        )
        .unwrap();
        rewrite(conn, doc, account.map(|a| (a, &[][..]))).unwrap();
        seq
    };
    let mut heads = vec![0];
    for n in 0..40 {
        heads.push(write(&conn, &format!("doc-{n}"), Some(&vary(&template, &mut rng))));
    }
    for _ in 0..3 {
        for n in 0..40 {
            let doc = format!("doc-{n}");
            match rng.random_range(0..6) {
                0 => heads.push(write(&conn, &doc, None)),
                1 | 2 => heads.push(write(&conn, &doc, Some(&vary(&template, &mut rng)))),
                _ => {}
            }
        }
    }
    let versions: i64 = conn.query_row("SELECT count(*) FROM rpt_deals_hist", [], |r| r.get(0)).unwrap();
    let current: i64 = conn.query_row("SELECT count(*) FROM rpt_deals", [], |r| r.get(0)).unwrap();
    assert!(versions > current * 3 / 2, "a history of several versions per row: {versions} for {current}");

    let mut filters = filters(&mut rng);
    filters.truncate(8);
    filters.push(Filter { limit: Some(3), offset: Some(2), ..Filter::default() });
    filters.push(Filter { territory: Some("north".into()), limit: Some(4), ..Filter::default() });
    let positions = [0, heads[10], heads[40], heads[heads.len() / 2], heads[heads.len() - 3], seq];
    let mut compared = 0;
    for &p in &positions {
        let known = Known { seq: p, at_ms: crate::reports::index::millis(base()) };
        for report in REPORTS {
            for s in &subjects() {
                for f in &filters {
                    if (f.limit.is_some() || f.offset.is_some()) && !PAGINATED.contains(&report) {
                        continue;
                    }
                    let mut f = f.clone();
                    if report == "late-edits" && f.to.is_none() {
                        f.to = Some(base().date());
                    }
                    let parts = run(&conn, report, s, &f, Some(known)).unwrap().unwrap();
                    let scan = run_scanned(&conn, report, s, &f, known).unwrap().unwrap();
                    assert_eq!(parts, scan, "{report} as known at {p} for {} with {f:?}", s.user);
                    compared += usize::from(!scan.rows.is_empty());
                }
            }
        }
    }
    assert!(compared > 500, "most comparisons have rows: {compared}");
}

/// The late-edits report reads its changes in two parts (those received
/// within the hour they were made, from the last hour before the end; the
/// others, from the partial index of migration 22): together exactly the
/// changes made in the period and received at or after its end, for every
/// scope, filter, page and instant, with lags on both sides of the hour and
/// at it.
#[test]
fn late_edits_list_exactly_the_changes_made_in_the_period_and_received_after_its_end() {
    use super::known::Known;
    use super::queries::run;

    const HOUR: i64 = 3_600_000;
    struct Change {
        seq: i64,
        made: i64,
        received: i64,
        owner: Option<String>,
        team: Option<String>,
        territory: Option<String>,
        hidden: bool,
    }
    let mut rng = SmallRng::seed_from_u64(0x4C41_5445);
    let conn = database();
    let start = crate::reports::index::millis(base());
    let days = [0, 3, 7, 12, 19];
    let mut changes = Vec::new();
    for seq in 1..=800 {
        // Half of them made in the two hours before a period's end, where both parts meet.
        let made = if rng.random_range(0..2) == 0 {
            start + (days.choose(&mut rng).unwrap() + 1) * 24 * HOUR - 1 - rng.random_range(0..2 * HOUR)
        } else {
            start + rng.random_range(0..20 * 24) as i64 * HOUR + rng.random_range(0..HOUR)
        };
        let lag = match rng.random_range(0..6) {
            0 => 0,
            1 => HOUR - 1,
            2 => HOUR,
            3 | 4 => rng.random_range(0..HOUR),
            _ => HOUR + rng.random_range(0..6 * 24 * HOUR),
        };
        let maybe =
            |rng: &mut SmallRng, xs: &[&str]| (rng.random_range(0..5) > 0).then(|| xs.choose(rng).unwrap().to_string());
        let change = Change {
            seq,
            made,
            received: made + lag,
            owner: maybe(&mut rng, &USERS),
            team: maybe(&mut rng, &["west", "north", "east"]),
            territory: maybe(&mut rng, &["north", "south"]),
            hidden: rng.random_range(0..8) == 0,
        };
        conn.execute(
            "INSERT INTO rpt_field_changes (seq, n, doc_id, deal_id, field, old_value, new_value, user, device,
                 made_at, received_at, currency, won_delta, weighted_delta, name, owner, team, territory, hidden)
             VALUES (?1, 0, 'doc', NULL, 'name', 'old', 'new', 'ana', 'phone', ?2, ?3, NULL, 0, 0, 'Acme', ?4, ?5, ?6, ?7)",
            rusqlite::params![
                seq,
                change.made,
                change.received,
                change.owner,
                change.team,
                change.territory,
                change.hidden
            ],
        )
        .unwrap();
        changes.push(change);
    }
    changes.sort_by_key(|c| (c.made, c.seq));

    let mut compared = 0;
    for day in days {
        let to = base().date() + Duration::days(day);
        for from in [None, Some(to), Some(to - Duration::days(4))] {
            for known in [None, Some(start + (day + 2) * 24 * HOUR), Some(i64::MAX)] {
                let filters = [
                    Filter::default(),
                    Filter { team: Some("north".into()), ..Filter::default() },
                    Filter { rep: Some("ben".into()), territory: Some("north".into()), ..Filter::default() },
                    Filter { limit: Some(5), offset: Some(3), ..Filter::default() },
                ];
                for f in filters {
                    let f = Filter { from, to: Some(to), ..f };
                    let (first, end) = f.period_ms();
                    for s in &subjects() {
                        let want: Vec<i64> = changes
                            .iter()
                            .filter(|c| {
                                !c.hidden
                                    && visible(s, &f, &c.owner, &c.team, &c.territory)
                                    && c.made >= first
                                    && c.made < end
                                    && c.received >= end
                                    && known.is_none_or(|k| c.received <= k)
                            })
                            .map(|c| c.seq)
                            .collect();
                        let known = known.map(|at_ms| Known { seq: 800, at_ms });
                        let got = run(&conn, "late-edits", s, &f, known).unwrap().unwrap();
                        let page: Vec<i64> = got.rows.iter().map(|r| r[15].as_i64().unwrap()).collect();
                        let offset = f.offset.unwrap_or(0) as usize;
                        let limit = f.limit.map_or(usize::MAX, |l| l as usize);
                        let context = format!("{} with {f:?} known at {known:?}", s.user);
                        assert_eq!(
                            page,
                            want.iter().copied().skip(offset).take(limit).collect::<Vec<_>>(),
                            "{context}"
                        );
                        assert_eq!(got.total, Some(want.len() as u64), "{context}");
                        compared += usize::from(!want.is_empty());
                    }
                }
            }
        }
    }
    assert!(compared > 300, "most comparisons have rows: {compared}");
}
