//! Manager reports over a data set written by real replicas and synced to a
//! real server: every report's figures are compared with figures computed
//! here, independently, from the typed accounts the replicas read.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use rapport_core::*;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const DAY_MS: i64 = 86_400_000;

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Writes the data set through an office replica: four accounts per
/// (team, territory, owner) mix, deals in every stage, interactions of every
/// kind, ladder and lifecycle moves, ended relationships, a deleted account.
fn seed(office: &mut Device) {
    let now = OffsetDateTime::now_utc();
    let today = now.date();
    let owners =
        [("ana", "east", "north"), ("ben", "west", "south"), ("mia", "east", "central"), ("ana", "west", "north")];
    let stages = ["prospecting", "qualification", "proposal", "negotiation", "won", "lost"];
    let kinds = InteractionKind::ALL;
    for (n, (owner, team, territory)) in owners.iter().cycle().take(12).enumerate() {
        let mut new = NewAccount::new(format!("Account {n}"));
        new.owner = Some((*owner).into());
        new.team = Some((*team).into());
        new.territory = Some((*territory).into());
        new.value_tier = if n % 3 == 0 { ValueTier::Key } else { ValueTier::Standard };
        let id = office.replica.create_account(&new).unwrap();
        office
            .replica
            .edit(id, |e| {
                let c1 = e.add_contact(&NewContact { name: "C1".into(), ..Default::default() })?;
                let c2 = e.add_contact(&NewContact { name: "C2".into(), ..Default::default() })?;
                for d in 0..(n % 4 + 1) {
                    let currency = if d % 2 == 0 { "EUR" } else { "SEK" };
                    let mut deal = NewDeal::new(
                        format!("Deal {n}.{d}"),
                        Money::new(1000 * (n as i64 + 1) + 7 * d as i64, currency)?,
                    );
                    deal.expected_close =
                        Some(if (n + d) % 3 == 0 { today - Duration::days(5) } else { today + Duration::days(20) });
                    if (n + d) % 5 == 0 {
                        deal.forecast = Some(ForecastCategory::Omitted);
                    }
                    let id = e.add_deal(&deal)?;
                    let target = stages[(n + d) % stages.len()];
                    for stage in stages.iter().take_while(|s| **s != target).skip(1).take(3) {
                        e.move_deal_stage(id, stage, None)?;
                    }
                    match target {
                        "lost" => e.mark_deal_lost(id, ["price", "competitor", "timing"][n % 3], None)?,
                        "prospecting" => {}
                        other => e.move_deal_stage(id, other, None)?,
                    }
                }
                for (k, kind) in kinds.iter().enumerate().take(n % kinds.len() + 1) {
                    let mut held = NewInteraction::new(*kind, "Touch");
                    held.actual_start = Some(now - Duration::days((n * 3 + k) as i64));
                    held.contacts = if k % 2 == 0 { [c1].into() } else { [c1, c2].into() };
                    if k == 1 {
                        held.staff = [(*owner).to_owned(), "olga".to_owned()].into();
                    }
                    e.log_interaction(&held)?;
                }
                let mut planned = NewInteraction::new(InteractionKind::Call, "Plan");
                planned.status = InteractionStatus::Planned;
                planned.planned_start = Some(now + Duration::hours(24 * (n as i64 % 3) - 30));
                planned.staff = [(*owner).to_owned()].into();
                e.log_interaction(&planned)?;
                if n % 2 == 0 {
                    e.move_ladder(LoyaltyRung::Customer, None)?;
                    e.move_ladder(LoyaltyRung::Client, None)?;
                }
                if n % 4 == 1 {
                    e.move_ladder(LoyaltyRung::Supporter, None)?;
                    e.move_ladder(LoyaltyRung::Customer, Some("complaint"))?;
                }
                e.move_lifecycle(LifecyclePhase::Early, None)?;
                if n % 3 == 1 {
                    e.move_lifecycle(LifecyclePhase::Development, None)?;
                }
                if n % 5 == 2 {
                    e.end_relationship(AccountStatus::Former, ["moved_away", "dissatisfied"][n % 2], today)?;
                }
                Ok(())
            })
            .unwrap();
        if n == 11 {
            office.replica.edit(id, |e| e.soft_delete()).unwrap();
        }
    }
}

/// Who sees an account, and which filter it passes.
#[derive(Clone, Default)]
struct Sel {
    owner: Option<&'static str>,
    team: Option<&'static str>,
    territory: Option<&'static str>,
    /// A rep's scope: own or these territories.
    rep_scope: Option<(&'static str, &'static [&'static str])>,
}

impl Sel {
    fn passes(&self, a: &Account) -> bool {
        let p = &a.party;
        let eq = |want: Option<&str>, got: &Option<String>| want.is_none_or(|w| got.as_deref() == Some(w));
        let in_scope = self.rep_scope.is_none_or(|(user, territories)| {
            p.owner.as_deref() == Some(user) || p.territory.as_deref().is_some_and(|t| territories.contains(&t))
        });
        a.deleted.is_none()
            && a.merged_into.is_none()
            && in_scope
            && eq(self.owner, &p.owner)
            && eq(self.team, &p.team)
            && eq(self.territory, &p.territory)
    }
}

type Rows = Vec<Vec<Value>>;

/// Sorts rows and writes rates to nine decimals (JSON text does not round-trip every last bit).
fn sorted(rows: Rows) -> Rows {
    let rate = |v: Value| match v.as_f64() {
        Some(f) if v.is_f64() => json!(format!("{f:.9}")),
        _ => v,
    };
    let mut rows: Rows = rows.into_iter().map(|r| r.into_iter().map(rate).collect()).collect();
    rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
    rows
}

fn held(a: &Account) -> impl Iterator<Item = &Interaction> {
    a.interactions.iter().filter(|i| i.status == InteractionStatus::Held)
}

fn last_touch(a: &Account) -> Option<i64> {
    held(a).map(|i| ms(i.when())).max()
}

/// Every report, computed from the typed accounts (no period given).
fn expected(accounts: &[Account], sel: &Sel, report: &str, days: Option<i64>) -> Rows {
    let now = OffsetDateTime::now_utc();
    let acc: Vec<&Account> = accounts.iter().filter(|a| sel.passes(a)).collect();
    let deals = || acc.iter().flat_map(|a| a.deals.iter().map(move |d| (*a, d)));
    let open = || deals().filter(|(_, d)| d.outcome == DealOutcome::Open);
    let mut rows: Rows = Vec::new();
    let group = |keys: Vec<(Vec<Value>, i64)>| -> Rows {
        let mut m: BTreeMap<String, (Vec<Value>, i64, i64)> = BTreeMap::new();
        for (k, amount) in keys {
            let e = m.entry(serde_json::to_string(&k).unwrap()).or_insert((k, 0, 0));
            e.1 += 1;
            e.2 += amount;
        }
        m.into_values()
            .map(|(mut k, n, s)| {
                k.push(json!(n));
                k.push(json!(s));
                k
            })
            .collect()
    };
    match report {
        "pipeline" => {
            let mut m: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
            for (_, d) in open() {
                let e = m.entry(d.amount.currency.clone()).or_default();
                e.0 += 1;
                e.1 += d.amount.minor;
                e.2 += d.amount.minor * i64::from(d.probability);
            }
            rows = m.into_iter().map(|(c, (n, s, w))| vec![json!(c), json!(n), json!(s), json!(w / 100)]).collect();
        }
        "stages" => {
            rows =
                group(deals().map(|(_, d)| (vec![json!(d.stage), json!(d.amount.currency)], d.amount.minor)).collect())
        }
        "forecast" => {
            rows = group(
                deals()
                    .filter(|(_, d)| d.forecast != ForecastCategory::Omitted)
                    .map(|(_, d)| (vec![json!(d.forecast.as_str()), json!(d.amount.currency)], d.amount.minor))
                    .collect(),
            )
        }
        "win-rate" => {
            let won = deals().filter(|(_, d)| d.outcome == DealOutcome::Won).count() as i64;
            let lost = deals().filter(|(_, d)| d.outcome == DealOutcome::Lost).count() as i64;
            let rate = if won + lost > 0 { json!(won as f64 / (won + lost) as f64) } else { Value::Null };
            rows = vec![vec![json!(won), json!(lost), rate]];
        }
        "stage-conversion" => {
            let mut entered: BTreeMap<&str, BTreeSet<(AccountId, DealId)>> = BTreeMap::new();
            let mut moves: BTreeMap<(&str, &str), i64> = BTreeMap::new();
            for (a, d) in deals() {
                for m in &d.stage_history {
                    entered.entry(m.to.as_str()).or_default().insert((a.id, d.id));
                    if let Some(from) = &m.from {
                        *moves.entry((from.as_str(), m.to.as_str())).or_default() += 1;
                    }
                }
            }
            for ((from, to), n) in moves {
                let e = entered.get(from).map_or(0, |s| s.len() as i64);
                let rate = if e > 0 { json!(n as f64 / e as f64) } else { Value::Null };
                rows.push(vec![json!(from), json!(to), json!(n), json!(e), rate]);
            }
        }
        "stale-deals" => {
            let limits: BTreeMap<String, u32> = Settings::default()
                .stages
                .iter()
                .filter(|s| s.kind == StageKind::Open && s.stale_after_days > 0)
                .map(|s| (s.id.clone(), s.stale_after_days))
                .collect();
            for (a, d) in open() {
                let changed = d.stage_history.iter().map(|m| ms(m.at)).max();
                let limit = limits.get(&d.stage).copied();
                let last = last_touch(a);
                let stage_stale = matches!((limit, changed), (Some(l), Some(c)) if c < ms(now) - i64::from(l) * DAY_MS);
                let idle = days.is_some_and(|n| last.is_none_or(|l| l < ms(now) - n * DAY_MS));
                if stage_stale || idle {
                    rows.push(vec![
                        json!(a.id.to_string()),
                        json!(a.party.name),
                        json!(d.id.to_string()),
                        json!(d.stage),
                        json!(changed),
                        json!(limit),
                        json!(last),
                    ]);
                }
            }
        }
        "overdue-deals" => {
            for (a, d) in open().filter(|(_, d)| d.expected_close.is_some_and(|c| c < now.date())) {
                rows.push(vec![
                    json!(a.id.to_string()),
                    json!(a.party.name),
                    json!(d.id.to_string()),
                    json!(d.stage),
                    json!(d.expected_close.unwrap().to_string()),
                    json!(d.amount.minor),
                    json!(d.amount.currency),
                ]);
            }
        }
        "lost-reasons" => {
            let mut m: BTreeMap<(&str, String), i64> = BTreeMap::new();
            for (_, d) in deals().filter(|(_, d)| d.outcome == DealOutcome::Lost) {
                *m.entry(("deal", d.lost_reason.clone().unwrap_or_default())).or_default() += 1;
            }
            for a in &acc {
                if let Some(e) = &a.party.ending {
                    *m.entry(("relationship", e.reason.clone())).or_default() += 1;
                }
            }
            rows = m.into_iter().map(|((k, r), n)| vec![json!(k), json!(r), json!(n)]).collect();
        }
        "rep-activity" => {
            let mut m: BTreeMap<(String, &str, String), i64> = BTreeMap::new();
            for a in &acc {
                for i in held(a) {
                    let reps: Vec<String> =
                        if i.staff.is_empty() { vec![i.logged_by.clone()] } else { i.staff.iter().cloned().collect() };
                    let (y, w, _) = i.when().to_iso_week_date();
                    for rep in reps {
                        *m.entry((rep, i.kind.as_str(), format!("{y}-W{w:02}"))).or_default() += 1;
                    }
                }
            }
            rows = m.into_iter().map(|((r, k, w), n)| vec![json!(r), json!(k), json!(w), json!(n)]).collect();
        }
        "rep-summary" => {
            let start = ms(now.date().midnight().assume_utc());
            let mut m: BTreeMap<String, [i64; 5]> = BTreeMap::new();
            for a in &acc {
                if let Some(o) = &a.party.owner {
                    let e = m.entry(o.clone()).or_default();
                    e[0] += 1;
                    e[1] += a.deals.iter().filter(|d| d.outcome == DealOutcome::Open).count() as i64;
                }
                for i in a.interactions.iter().filter(|i| i.status == InteractionStatus::Planned) {
                    let at = ms(i.when());
                    let slot = if at < start {
                        2
                    } else if at < start + DAY_MS {
                        3
                    } else {
                        4
                    };
                    let reps: Vec<String> =
                        if i.staff.is_empty() { vec![i.logged_by.clone()] } else { i.staff.iter().cloned().collect() };
                    for rep in reps {
                        m.entry(rep).or_default()[slot] += 1;
                    }
                }
            }
            rows = m
                .into_iter()
                .map(|(r, v)| {
                    let mut row = vec![json!(r)];
                    row.extend(v.map(|x| json!(x)));
                    row
                })
                .collect();
        }
        "contact-depth" => {
            for a in &acc {
                let contacts: BTreeSet<ContactId> = held(a).flat_map(|i| i.contacts.iter().copied()).collect();
                let next = a
                    .interactions
                    .iter()
                    .filter(|i| i.status == InteractionStatus::Planned)
                    .map(|i| ms(i.when()))
                    .filter(|t| *t >= ms(now))
                    .min();
                rows.push(vec![
                    json!(a.id.to_string()),
                    json!(a.party.name),
                    json!(contacts.len()),
                    json!(held(a).count()),
                    json!(last_touch(a)),
                    json!(next),
                ]);
            }
        }
        "ladder" => {
            for r in LoyaltyRung::ALL {
                let n = acc.iter().filter(|a| a.party.loyalty_rung == *r).count();
                let moves: Vec<&LadderMove> =
                    acc.iter().flat_map(|a| a.ladder_history.iter()).filter(|m| m.from == *r).collect();
                let up = moves.iter().filter(|m| m.to > m.from).count();
                rows.push(vec![json!(r.as_str()), json!(n), json!(up), json!(moves.len() - up)]);
            }
        }
        "lifecycle" => {
            for p in LifecyclePhase::ALL {
                let n = acc.iter().filter(|a| a.party.lifecycle_phase == *p).count();
                let ended = acc.iter().filter(|a| a.party.ending.as_ref().is_some_and(|e| e.phase == *p)).count();
                rows.push(vec![json!(p.as_str()), json!(n), json!(ended)]);
            }
        }
        "key-accounts-at-risk" => {
            let since = ms(now) - days.unwrap_or(30) * DAY_MS;
            for a in
                acc.iter().filter(|a| a.party.value_tier == ValueTier::Key && a.party.status == AccountStatus::Active)
            {
                let last = last_touch(a);
                if last.is_none_or(|l| l < since) {
                    rows.push(vec![json!(a.id.to_string()), json!(a.party.name), json!(a.party.owner), json!(last)]);
                }
            }
        }
        other => panic!("no expectation for {other}"),
    }
    sorted(rows)
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, String) {
    let response = client().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn report(server: &TestServer, token: &str, path: &str) -> Rows {
    let (status, body) = get(server, token, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    let value: Value = serde_json::from_str(&body).unwrap();
    let columns: Vec<String> = serde_json::from_value(value["columns"].clone()).unwrap();
    let rows = value["rows"].as_array().unwrap();
    sorted(rows.iter().map(|r| columns.iter().map(|c| r[c].clone()).collect()).collect())
}

async fn setup() -> (tempfile::TempDir, TestServer, Device, String, Vec<Account>) {
    let (dir, server) = TestServer::start().await;
    add_team(&server, "east").await;
    add_team(&server, "west").await;
    let ana = add_user(&server, "ana", "rep", &[], &["south"]).await;
    add_user(&server, "ben", "rep", &[], &["south"]).await;
    add_user(&server, "mia", "manager", &["east"], &[]).await;
    let mut office = Device::new("olga");
    seed(&mut office);
    sync(&server, &mut office.replica).await;
    // The figures are checked against what another replica reads after syncing.
    let mut reader = Device::new("reader");
    sync(&server, &mut reader.replica).await;
    let accounts: Vec<Account> =
        reader.replica.account_ids().unwrap().into_iter().map(|id| reader.replica.account(id).unwrap()).collect();
    assert_eq!(accounts.len(), 12);
    (dir, server, office, ana, accounts)
}

const ALL: [&str; 14] = [
    "pipeline",
    "stages",
    "forecast",
    "win-rate",
    "stage-conversion",
    "stale-deals",
    "overdue-deals",
    "lost-reasons",
    "rep-activity",
    "rep-summary",
    "contact-depth",
    "ladder",
    "lifecycle",
    "key-accounts-at-risk",
];

#[tokio::test]
async fn every_report_matches_figures_computed_from_the_records() {
    let (_dir, server, _office, _ana, accounts) = setup().await;
    let everyone = Sel::default();
    for name in ALL {
        let got = report(&server, TOKEN, &format!("/v1/reports/{name}")).await;
        assert_eq!(got, expected(&accounts, &everyone, name, None), "{name}");
        // Every deal moved moments ago and every key account was touched within
        // 30 days: these two have figures only with a shorter `days` (below).
        let quiet = ["stale-deals", "key-accounts-at-risk"].contains(&name);
        assert_eq!(got.is_empty(), quiet, "{name} has figures in the data set");
    }
    for days in [1, 4, 10] {
        for name in ["stale-deals", "key-accounts-at-risk"] {
            let got = report(&server, TOKEN, &format!("/v1/reports/{name}?days={days}")).await;
            assert_eq!(got, expected(&accounts, &everyone, name, Some(days)), "{name} days={days}");
            assert!(!got.is_empty(), "{name} days={days} has figures");
        }
    }
    let filters: [(&str, Sel); 3] = [
        ("team=east", Sel { team: Some("east"), ..Sel::default() }),
        ("rep=ana", Sel { owner: Some("ana"), ..Sel::default() }),
        ("territory=south&team=west", Sel { territory: Some("south"), team: Some("west"), ..Sel::default() }),
    ];
    for (query, sel) in filters {
        for name in ALL {
            let got = report(&server, TOKEN, &format!("/v1/reports/{name}?{query}")).await;
            assert_eq!(got, expected(&accounts, &sel, name, None), "{name}?{query}");
        }
    }
}

#[tokio::test]
async fn a_rep_sees_only_own_and_territory_figures() {
    let (_dir, server, _office, ana, accounts) = setup().await;
    let scope = Sel { rep_scope: Some(("ana", &["south"])), ..Sel::default() };
    let everyone = Sel::default();
    for name in ALL {
        let got = report(&server, &ana, &format!("/v1/reports/{name}")).await;
        assert_eq!(got, expected(&accounts, &scope, name, None), "{name} as ana");
    }
    assert_ne!(expected(&accounts, &scope, "stages", None), expected(&accounts, &everyone, "stages", None));
    // A filter cannot widen the scope.
    let got = report(&server, &ana, "/v1/reports/pipeline?team=west").await;
    let sel = Sel { team: Some("west"), rep_scope: Some(("ana", &["south"])), ..Sel::default() };
    assert_eq!(got, expected(&accounts, &sel, "pipeline", None));
}

#[tokio::test]
async fn a_period_limits_events_to_it() {
    let (_dir, server, _office, _ana, accounts) = setup().await;
    let today = OffsetDateTime::now_utc().date();
    let past = format!("from={}&to={}", today - Duration::days(400), today - Duration::days(300));
    let got = report(&server, TOKEN, &format!("/v1/reports/win-rate?{past}")).await;
    assert_eq!(got, sorted(vec![vec![json!(0), json!(0), Value::Null]]));
    assert!(report(&server, TOKEN, &format!("/v1/reports/rep-activity?{past}")).await.is_empty());
    let now = format!("from={}&to={}", today - Duration::days(1), today + Duration::days(1));
    let got = report(&server, TOKEN, &format!("/v1/reports/win-rate?{now}")).await;
    assert_eq!(got, expected(&accounts, &Sel::default(), "win-rate", None));
}

#[tokio::test]
async fn bad_filters_are_refused_naming_the_parameter() {
    let (_dir, server) = TestServer::start().await;
    add_team(&server, "east").await;
    let cases = [
        ("/v1/reports/pipeline?team=nowhere", "team"),
        ("/v1/reports/pipeline?rep=nobody", "rep"),
        ("/v1/reports/pipeline?from=2026-05-01&to=2026-04-01", "from"),
        ("/v1/reports/pipeline?from=yesterday", "from"),
        ("/v1/reports/stale-deals?days=ten", "days"),
        ("/v1/reports/stale-deals?days=0", "days"),
        ("/v1/reports/pipeline?format=xml", "format"),
        ("/v1/reports/pipeline?colour=blue", "query"),
    ];
    for (path, param) in cases {
        let (status, body) = get(&server, TOKEN, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(error_code(body.as_bytes()), "bad_request", "{path}");
        let message: Value = serde_json::from_str(&body).unwrap();
        assert!(message["error"]["message"].as_str().unwrap().contains(&format!("`{param}`")), "{path}: {body}");
    }
    let (status, _) = get(&server, TOKEN, "/v1/reports/pipeline?team=east").await;
    assert_eq!(status, 200);
    let (status, _) = get(&server, TOKEN, "/v1/reports/nonsense").await;
    assert_eq!(status, 404);
    let (status, _) = get(&server, "not-a-valid-token-at-all", "/v1/reports/pipeline").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn reports_come_as_csv_and_the_api_is_described() {
    let (_dir, server, _office, _ana, accounts) = setup().await;
    let (status, body) = get(&server, TOKEN, "/v1/reports/stages?format=csv").await;
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["stage", "currency", "deals", "amount_minor"]);
    let rows: Rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            vec![json!(r[0]), json!(r[1]), json!(r[2].parse::<i64>().unwrap()), json!(r[3].parse::<i64>().unwrap())]
        })
        .collect();
    assert_eq!(sorted(rows), expected(&accounts, &Sel::default(), "stages", None));

    let response = client().get(format!("{}/v1/openapi.json", server.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let spec: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for name in ALL {
        let params = &spec["paths"][format!("/v1/reports/{name}")]["get"]["parameters"];
        let names: Vec<&str> = params.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        for p in ["team", "rep", "territory", "from", "to", "format"] {
            assert!(names.contains(&p), "{name} documents {p}");
        }
    }
    assert!(spec["paths"]["/v1/reports/accounts/{id}/history"].is_object());
}

#[tokio::test]
async fn the_index_follows_edits_and_history_names_who_changed_what() {
    let (_dir, server, mut office, _ana, _accounts) = setup().await;
    let (_, before) = get(&server, TOKEN, "/v1/reports/version").await;
    let before: Value = serde_json::from_str(&before).unwrap();
    let id = office.replica.account_ids().unwrap()[0];
    let deal =
        office.replica.edit(id, |e| e.add_deal(&NewDeal::new("Late", Money::new(5_000_000, "NOK").unwrap()))).unwrap();
    sync(&server, &mut office.replica).await;
    let got = report(&server, TOKEN, "/v1/reports/pipeline").await;
    assert!(got.contains(&vec![json!("NOK"), json!(1), json!(5_000_000), json!(500_000)]), "{got:?}");
    let (_, after) = get(&server, TOKEN, "/v1/reports/version").await;
    let after: Value = serde_json::from_str(&after).unwrap();
    assert!(after["head"].as_u64() > before["head"].as_u64());

    let (status, body) = get(&server, TOKEN, &format!("/v1/reports/accounts/{id}/history")).await;
    assert_eq!(status, 200, "{body}");
    let history: Value = serde_json::from_str(&body).unwrap();
    let changes = history["changes"].as_array().unwrap();
    let last = changes.iter().find(|c| c["fields"].to_string().contains(&deal.to_string())).unwrap();
    assert_eq!(last["user"], "olga");
    assert_eq!(last["op"], "deal.add");
    assert!(history["audit"].as_array().unwrap().iter().any(|a| a["op"] == "deal.add" && a["user"] == "admin"));
    let (status, _) = get(&server, TOKEN, "/v1/reports/accounts/not-a-uuid/history").await;
    assert_eq!(status, 400);
}
