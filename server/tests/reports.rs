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
                // Key account 9 is never touched (listed first among the key accounts at risk).
                let held_count = if n == 9 { 0 } else { n % kinds.len() + 1 };
                for (k, kind) in kinds.iter().enumerate().take(held_count) {
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
    /// A manager's scope: own or these teams.
    manager_scope: Option<(&'static str, &'static [&'static str])>,
}

impl Sel {
    fn passes(&self, a: &Account) -> bool {
        let p = &a.party;
        let eq = |want: Option<&str>, got: &Option<String>| want.is_none_or(|w| got.as_deref() == Some(w));
        let in_scope = self.rep_scope.is_none_or(|(user, territories)| {
            p.owner.as_deref() == Some(user) || p.territory.as_deref().is_some_and(|t| territories.contains(&t))
        }) && self.manager_scope.is_none_or(|(user, teams)| {
            p.owner.as_deref() == Some(user) || p.team.as_deref().is_some_and(|t| teams.contains(&t))
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

/// What a replica reads after syncing everything: the typed accounts and
/// each account's fields with concurrent values.
struct Data {
    accounts: Vec<Account>,
    conflicts: BTreeMap<AccountId, Vec<Conflict>>,
}

impl Data {
    fn read(replica: &Replica) -> Data {
        let ids = replica.account_ids().unwrap();
        Data {
            accounts: ids.iter().map(|id| replica.account(*id).unwrap()).collect(),
            conflicts: ids.iter().map(|id| (*id, replica.conflicts(*id).unwrap())).collect(),
        }
    }
}

/// Every report, computed from the typed accounts (no period given).
fn expected(data: &Data, sel: &Sel, report: &str, days: Option<i64>) -> Rows {
    let now = OffsetDateTime::now_utc();
    let acc: Vec<&Account> = data.accounts.iter().filter(|a| sel.passes(a)).collect();
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
        "open-conflicts" => {
            for a in &acc {
                for c in data.conflicts.get(&a.id).into_iter().flatten() {
                    let values: Vec<Value> = c
                        .values
                        .iter()
                        .map(|v| {
                            json!({"value": v.value, "user": v.user, "device": v.device, "at_ms": ms(v.at),
                                   "winner": v.winner})
                        })
                        .collect();
                    let shown = c.values.iter().find(|v| v.winner).map(|v| v.value.clone());
                    rows.push(vec![
                        json!(a.id.to_string()),
                        json!(a.party.name),
                        json!(a.party.owner),
                        json!(c.field),
                        json!(c.values.len()),
                        json!(shown),
                        json!(values),
                        json!(c.values.iter().map(|v| ms(v.at)).max()),
                    ]);
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

/// Each `(path, parameter)` is refused with 400 `bad_request` naming the parameter.
async fn refused_naming(server: &TestServer, cases: &[(&str, &str)]) {
    for (path, param) in cases {
        let (status, body) = get(server, TOKEN, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(error_code(body.as_bytes()), "bad_request", "{path}");
        let message: Value = serde_json::from_str(&body).unwrap();
        assert!(message["error"]["message"].as_str().unwrap().contains(&format!("`{param}`")), "{path}: {body}");
    }
}

async fn report(server: &TestServer, token: &str, path: &str) -> Rows {
    let (status, body) = get(server, token, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    let value: Value = serde_json::from_str(&body).unwrap();
    let columns: Vec<String> = serde_json::from_value(value["columns"].clone()).unwrap();
    let rows = value["rows"].as_array().unwrap();
    sorted(rows.iter().map(|r| columns.iter().map(|c| r[c].clone()).collect()).collect())
}

/// The id of the seeded account called `name`.
fn named(device: &Device, name: &str) -> AccountId {
    let ids = device.replica.account_ids().unwrap();
    ids.into_iter().find(|id| device.replica.account(*id).unwrap().party.name == name).unwrap()
}

/// Concurrent writes to one field: `(account name, field path, [(device user, value)])`.
type Writes = (&'static str, String, Vec<(&'static str, &'static str)>);

/// One open conflict as the tests compare it: `(account name, field, value count, [(value, user)] sorted)`.
type Listed = (String, String, u64, Vec<(String, String)>);

/// The concurrent writes that leave open conflicts.
/// Each device writes its value without having seen the others'.
fn concurrent_writes(office: &Device) -> Vec<Writes> {
    let account5 = named(office, "Account 5");
    let deal = office.replica.account(account5).unwrap().deals[0].id;
    vec![
        ("Account 0", "party.website".into(), vec![("olga", "https://a.example"), ("tom", "https://b.example")]),
        ("Account 0", "party.industry".into(), vec![("olga", "Retail"), ("tom", "Wholesale")]),
        ("Account 5", format!("deals.{deal}.amount"), vec![("olga", "123400"), ("tom", "567800")]),
        ("Account 6", "party.address.city".into(), vec![("olga", "Lyon"), ("tom", "Porto"), ("una", "Turku")]),
        // A deleted account's conflict is left out of the report.
        ("Account 11", "party.website".into(), vec![("olga", "https://c.example"), ("tom", "https://d.example")]),
    ]
}

/// Three devices write the same fields without syncing in between, then all sync.
async fn make_conflicts(server: &TestServer, office: &mut Device) {
    let mut others = [Device::new("tom"), Device::new("una")];
    for device in &mut others {
        sync(server, &mut device.replica).await;
    }
    for (account, field, writes) in concurrent_writes(office) {
        for (user, value) in writes {
            let device = if user == "olga" {
                &mut *office
            } else {
                others.iter_mut().find(|d| d.replica.author().user == user).unwrap()
            };
            let id = named(device, account);
            device.replica.edit(id, |e| e.set_field(&field, value)).unwrap();
        }
    }
    sync(server, &mut office.replica).await;
    for device in &mut others {
        sync(server, &mut device.replica).await;
    }
    sync(server, &mut office.replica).await;
}

async fn setup() -> (tempfile::TempDir, TestServer, Device, String, Data) {
    let (dir, server) = TestServer::start().await;
    add_team(&server, "east").await;
    add_team(&server, "west").await;
    let ana = add_user(&server, "ana", "rep", &[], &["south"]).await;
    add_user(&server, "ben", "rep", &[], &["south"]).await;
    add_user(&server, "mia", "manager", &["east"], &[]).await;
    let mut office = Device::new("olga");
    seed(&mut office);
    sync(&server, &mut office.replica).await;
    make_conflicts(&server, &mut office).await;
    // The figures are checked against what another replica reads after syncing.
    let data = read_back(&server).await;
    assert_eq!(data.accounts.len(), 12);
    (dir, server, office, ana, data)
}

/// What a new replica reads after syncing everything from the server.
async fn read_back(server: &TestServer) -> Data {
    let mut reader = Device::new("reader");
    sync(server, &mut reader.replica).await;
    Data::read(&reader.replica)
}

const ALL: [&str; 15] = [
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
    "open-conflicts",
];

#[tokio::test]
async fn every_report_matches_figures_computed_from_the_records() {
    let (_dir, server, _office, _ana, data) = setup().await;
    let everyone = Sel::default();
    for name in ALL {
        let got = report(&server, TOKEN, &format!("/v1/reports/{name}")).await;
        assert_eq!(got, expected(&data, &everyone, name, None), "{name}");
        // Every deal moved moments ago: stale deals show only with a shorter
        // `days` (below). Every key account but the untouched one was touched
        // within 30 days.
        assert_eq!(got.is_empty(), name == "stale-deals", "{name} has figures in the data set");
        if name == "key-accounts-at-risk" {
            assert_eq!(got.len(), 1, "only the untouched key account is at risk after 30 days");
        }
    }
    for days in [1, 4, 10] {
        for name in ["stale-deals", "key-accounts-at-risk"] {
            let got = report(&server, TOKEN, &format!("/v1/reports/{name}?days={days}")).await;
            assert_eq!(got, expected(&data, &everyone, name, Some(days)), "{name} days={days}");
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
            assert_eq!(got, expected(&data, &sel, name, None), "{name}?{query}");
        }
    }
}

#[tokio::test]
async fn a_rep_sees_only_own_and_territory_figures() {
    let (_dir, server, _office, ana, data) = setup().await;
    let scope = Sel { rep_scope: Some(("ana", &["south"])), ..Sel::default() };
    let everyone = Sel::default();
    for name in ALL {
        let got = report(&server, &ana, &format!("/v1/reports/{name}")).await;
        assert_eq!(got, expected(&data, &scope, name, None), "{name} as ana");
    }
    assert_ne!(expected(&data, &scope, "stages", None), expected(&data, &everyone, "stages", None));
    // A filter cannot widen the scope.
    let got = report(&server, &ana, "/v1/reports/pipeline?team=west").await;
    let sel = Sel { team: Some("west"), rep_scope: Some(("ana", &["south"])), ..Sel::default() };
    assert_eq!(got, expected(&data, &sel, "pipeline", None));
}

#[tokio::test]
async fn a_period_limits_events_to_it() {
    let (_dir, server, _office, _ana, data) = setup().await;
    let today = OffsetDateTime::now_utc().date();
    let past = format!("from={}&to={}", today - Duration::days(400), today - Duration::days(300));
    let got = report(&server, TOKEN, &format!("/v1/reports/win-rate?{past}")).await;
    assert_eq!(got, sorted(vec![vec![json!(0), json!(0), Value::Null]]));
    assert!(report(&server, TOKEN, &format!("/v1/reports/rep-activity?{past}")).await.is_empty());
    let now = format!("from={}&to={}", today - Duration::days(1), today + Duration::days(1));
    let got = report(&server, TOKEN, &format!("/v1/reports/win-rate?{now}")).await;
    assert_eq!(got, expected(&data, &Sel::default(), "win-rate", None));
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
    refused_naming(&server, &cases).await;
    let (status, _) = get(&server, TOKEN, "/v1/reports/pipeline?team=east").await;
    assert_eq!(status, 200);
    let (status, _) = get(&server, TOKEN, "/v1/reports/nonsense").await;
    assert_eq!(status, 404);
    let (status, _) = get(&server, "not-a-valid-token-at-all", "/v1/reports/pipeline").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn reports_come_as_csv_and_the_api_is_described() {
    let (_dir, server, _office, _ana, data) = setup().await;
    let (status, body) = get(&server, TOKEN, "/v1/reports/stages?format=csv").await;
    assert_eq!(status, 200);
    assert!(body.starts_with('\u{feff}'), "a spreadsheet's CSV starts with a byte-order mark");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["stage", "currency", "deals", "amount"]);
    let rows: Rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let minor = rapport_core::parse_major_units("amount", &r[3], &r[1]).unwrap();
            vec![json!(r[0]), json!(r[1]), json!(r[2].parse::<i64>().unwrap()), json!(minor)]
        })
        .collect();
    assert_eq!(sorted(rows), expected(&data, &Sel::default(), "stages", None));

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
        let paged = rapport_server::reports::queries::PAGINATED.contains(&name);
        for p in ["limit", "offset"] {
            assert_eq!(names.contains(&p), paged, "{name} documents {p} only if it is paginated");
        }
    }
    assert!(spec["paths"]["/v1/reports/accounts/{id}/history"].is_object());
}

#[tokio::test]
async fn the_index_follows_edits_and_history_names_who_changed_what() {
    let (_dir, server, mut office, _ana, _data) = setup().await;
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

/// The open conflicts listed by report rows.
fn conflict_summary(rows: &[Value]) -> BTreeSet<Listed> {
    rows.iter()
        .map(|r| {
            let mut values: Vec<(String, String)> = r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (v["value"].as_str().unwrap().to_owned(), v["user"].as_str().unwrap().to_owned()))
                .collect();
            values.sort();
            let name = r["account"].as_str().unwrap().to_owned();
            (name, r["field"].as_str().unwrap().to_owned(), r["value_count"].as_u64().unwrap(), values)
        })
        .collect()
}

async fn report_rows(server: &TestServer, token: &str, path: &str) -> Vec<Value> {
    let (status, body) = get(server, token, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    let value: Value = serde_json::from_str(&body).unwrap();
    value["rows"].as_array().unwrap().clone()
}

#[tokio::test]
async fn open_conflicts_list_concurrent_writes_until_one_is_resolved() {
    let (_dir, server, mut office, _ana, data) = setup().await;
    // What the devices wrote, independently of how either side detects conflicts.
    let written: BTreeSet<Listed> = concurrent_writes(&office)
        .into_iter()
        .filter(|(account, _, _)| *account != "Account 11")
        .map(|(account, field, writes)| {
            let mut values: Vec<(String, String)> =
                writes.iter().map(|(user, value)| ((*value).to_owned(), (*user).to_owned())).collect();
            values.sort();
            (account.to_owned(), field, writes.len() as u64, values)
        })
        .collect();
    let rows = report_rows(&server, TOKEN, "/v1/reports/open-conflicts").await;
    assert_eq!(conflict_summary(&rows), written);
    // Newest first; the value shown is the one every replica reads.
    let newest: Vec<i64> = rows.iter().map(|r| r["newest_ms"].as_i64().unwrap()).collect();
    assert!(newest.windows(2).all(|w| w[0] >= w[1]), "{newest:?}");
    for r in &rows {
        let account = data.accounts.iter().find(|a| a.id.to_string() == r["account_id"]).unwrap();
        if r["field"] == "party.website" {
            assert_eq!(r["shown_value"], json!(account.party.website), "{r}");
        }
        let winners = r["values"].as_array().unwrap().iter().filter(|v| v["winner"] == json!(true)).count();
        assert_eq!(winners, 1, "{r}");
        let max_at = r["values"].as_array().unwrap().iter().map(|v| v["at_ms"].as_i64().unwrap()).max();
        assert_eq!(r["newest_ms"].as_i64(), max_at);
    }

    // The period is when the newest value was written.
    let today = OffsetDateTime::now_utc().date();
    let past = format!("from={}&to={}", today - Duration::days(400), today - Duration::days(300));
    assert!(report(&server, TOKEN, &format!("/v1/reports/open-conflicts?{past}")).await.is_empty());
    let around = format!("from={}&to={}", today - Duration::days(1), today + Duration::days(1));
    let got = report(&server, TOKEN, &format!("/v1/reports/open-conflicts?{around}")).await;
    assert_eq!(got, expected(&data, &Sel::default(), "open-conflicts", None));

    // Writing the field again on any device resolves it everywhere.
    let id = named(&office, "Account 0");
    office.replica.edit(id, |e| e.set_field("party.website", "https://b.example")).unwrap();
    sync(&server, &mut office.replica).await;
    let rows = report_rows(&server, TOKEN, "/v1/reports/open-conflicts").await;
    let left: BTreeSet<_> =
        written.iter().filter(|w| !(w.0 == "Account 0" && w.1 == "party.website")).cloned().collect();
    assert_eq!(conflict_summary(&rows), left);
    let after = read_back(&server).await;
    let got = report(&server, TOKEN, "/v1/reports/open-conflicts").await;
    assert_eq!(got, expected(&after, &Sel::default(), "open-conflicts", None));

    // CSV carries the values as a JSON text.
    let (status, body) = get(&server, TOKEN, "/v1/reports/open-conflicts?format=csv").await;
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(headers, ["account_id", "account", "owner", "field", "value_count", "shown_value", "values", "newest"]);
    let csv_rows: Vec<Value> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            json!({"account": &r[1], "field": &r[3], "value_count": r[4].parse::<u64>().unwrap(),
                   "values": serde_json::from_str::<Value>(&r[6]).unwrap()})
        })
        .collect();
    assert_eq!(conflict_summary(&csv_rows), left);
}

#[tokio::test]
async fn figures_follow_reassignment_deletion_and_new_activity() {
    let (_dir, server, mut office, _ana, _data) = setup().await;
    let moved = named(&office, "Account 1");
    office
        .replica
        .edit(moved, |e| {
            e.set_field("party.team", "east")?;
            e.set_field("party.owner", "mia")
        })
        .unwrap();
    let deleted = named(&office, "Account 2");
    office.replica.edit(deleted, |e| e.soft_delete()).unwrap();
    let busy = named(&office, "Account 3");
    office
        .replica
        .edit(busy, |e| {
            let mut call = NewInteraction::new(InteractionKind::Call, "Follow-up");
            call.actual_start = Some(OffsetDateTime::now_utc() - Duration::days(8));
            call.staff = ["ben".to_owned()].into();
            e.log_interaction(&call)?;
            let deal = e.add_deal(&NewDeal::new("Upsell", Money::new(9_900, "EUR")?))?;
            e.move_deal_stage(deal, "proposal", None)
        })
        .unwrap();
    sync(&server, &mut office.replica).await;
    let data = read_back(&server).await;
    let filters: [(&str, Sel); 4] = [
        ("", Sel::default()),
        ("team=east", Sel { team: Some("east"), ..Sel::default() }),
        ("team=west", Sel { team: Some("west"), ..Sel::default() }),
        ("rep=mia", Sel { owner: Some("mia"), ..Sel::default() }),
    ];
    for (query, sel) in filters {
        for name in ALL {
            let got = report(&server, TOKEN, &format!("/v1/reports/{name}?{query}")).await;
            assert_eq!(got, expected(&data, &sel, name, None), "{name}?{query}");
        }
    }
    // The manager of team east now sees the moved account's activity.
    let mia = add_device(&server, "mia").await.1;
    let scope = Sel { manager_scope: Some(("mia", &["east"])), ..Sel::default() };
    for name in ALL {
        let got = report(&server, &mia, &format!("/v1/reports/{name}")).await;
        assert_eq!(got, expected(&data, &scope, name, None), "{name} as mia");
    }
}

/// The whole JSON body of a report request that must succeed.
async fn body(server: &TestServer, path: &str) -> Value {
    let (status, body) = get(server, TOKEN, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The documented order of each per-row report, as a sort key of a row.
fn order_key(report: &str, r: &Value) -> Vec<Value> {
    let cols: &[&str] = match report {
        "stale-deals" => &["stage_changed_ms", "account_id", "deal_id"],
        "overdue-deals" => &["expected_close", "account_id", "deal_id"],
        "contact-depth" => &["account", "account_id"],
        "key-accounts-at-risk" => &["last_touch_ms", "account", "account_id"],
        "open-conflicts" => &["newest_ms", "account_id", "field"],
        other => panic!("{other} is not a per-row report"),
    };
    cols.iter().map(|c| r[*c].clone()).collect()
}

fn in_order(report: &str, a: &Value, b: &Value) -> bool {
    let cmp = |x: &Value, y: &Value| match (x, y) {
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Less,
        (_, Value::Null) => std::cmp::Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x.as_i64().cmp(&y.as_i64()),
        _ => x.as_str().cmp(&y.as_str()),
    };
    let (ka, kb) = (order_key(report, a), order_key(report, b));
    let mut ord = std::cmp::Ordering::Equal;
    for (n, (x, y)) in ka.iter().zip(&kb).enumerate() {
        ord = if report == "open-conflicts" && n == 0 { cmp(y, x) } else { cmp(x, y) };
        if ord != std::cmp::Ordering::Equal {
            break;
        }
    }
    ord != std::cmp::Ordering::Greater
}

#[tokio::test]
async fn per_row_reports_come_in_pages_with_the_total() {
    let (_dir, server, _office, _ana, data) = setup().await;
    for (name, query) in [
        ("stale-deals", "days=4"),
        ("overdue-deals", ""),
        ("contact-depth", ""),
        ("key-accounts-at-risk", "days=4"),
        ("open-conflicts", ""),
    ] {
        let days = query.strip_prefix("days=").map(|d| d.parse().unwrap());
        let want = expected(&data, &Sel::default(), name, days);
        assert!(want.len() >= 3, "{name} has several rows");
        let all = body(&server, &format!("/v1/reports/{name}?{query}&limit=10000")).await;
        let rows = all["rows"].as_array().unwrap().clone();
        assert_eq!(all["total"], json!(want.len()), "{name}");
        assert_eq!(rows.len(), want.len(), "{name}");
        assert!(rows.windows(2).all(|w| in_order(name, &w[0], &w[1])), "{name} is in its documented order");
        if name == "key-accounts-at-risk" {
            // Never touched comes first, on either backend (PostgreSQL puts NULL last unless told).
            let touched: Vec<bool> = rows.iter().map(|r| !r["last_touch_ms"].is_null()).collect();
            assert!(touched.contains(&false) && touched.contains(&true), "{touched:?}");
        }
        // Without `limit` JSON has the first 100 rows (all of these), with the page described.
        let default = body(&server, &format!("/v1/reports/{name}?{query}")).await;
        assert_eq!((default["limit"].clone(), default["offset"].clone()), (json!(100), json!(0)), "{name}");
        assert_eq!(default["rows"], all["rows"], "{name}");
        // Pages of two put together are the whole report, in order.
        let mut paged = Vec::new();
        for offset in (0..want.len() + 2).step_by(2) {
            let page = body(&server, &format!("/v1/reports/{name}?{query}&limit=2&offset={offset}")).await;
            assert_eq!(page["total"], json!(want.len()), "{name} offset {offset}");
            let got = page["rows"].as_array().unwrap();
            assert_eq!(got.len(), 2.min(want.len().saturating_sub(offset)), "{name} offset {offset}");
            paged.extend(got.iter().cloned());
        }
        assert_eq!(paged, rows, "{name}");
        // CSV has every row, and the total in a header.
        let response = client()
            .get(format!("{}/v1/reports/{name}?{query}&format=csv", server.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-total-count"], want.len().to_string().as_str(), "{name}");
        let csv = response.text().await.unwrap();
        assert_eq!(csv::Reader::from_reader(csv.as_bytes()).records().count(), want.len(), "{name}");
        let (_, one) = get(&server, TOKEN, &format!("/v1/reports/{name}?{query}&format=csv&limit=1&offset=1")).await;
        assert_eq!(csv::Reader::from_reader(one.as_bytes()).records().count(), 1, "{name}");
    }
    let cases = [
        ("/v1/reports/stale-deals?limit=0", "limit"),
        ("/v1/reports/stale-deals?limit=10001", "limit"),
        ("/v1/reports/stale-deals?limit=ten", "limit"),
        ("/v1/reports/open-conflicts?offset=-1", "offset"),
        ("/v1/reports/contact-depth?offset=1e3", "offset"),
        ("/v1/reports/pipeline?limit=10", "limit"),
        ("/v1/reports/rep-activity?offset=10", "offset"),
    ];
    refused_naming(&server, &cases).await;
}

#[tokio::test]
async fn the_planner_has_statistics_of_the_reporting_index_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_sqlite_in(dir.path(), |_| {}).await;
    let mut office = Device::new("olga");
    seed(&mut office);
    sync(&server, &mut office.replica).await;
    server.stop().await;
    // Start gathers what is missing (the database thread refreshes it hourly).
    TestServer::start_sqlite_in(dir.path(), |_| {}).await.stop().await;
    let conn = rusqlite::Connection::open(dir.path().join(rapport_server::config::DATABASE_FILE)).unwrap();
    let analysed: BTreeSet<String> = conn
        .prepare("SELECT DISTINCT tbl FROM sqlite_stat1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for table in ["rpt_accounts", "rpt_deals", "rpt_interactions", "rpt_stage_moves", "rpt_activity"] {
        assert!(analysed.contains(table), "{table} has statistics: {analysed:?}");
    }
}

/// Every report, as `TOKEN` reads it.
async fn all_reports(server: &TestServer) -> Vec<Rows> {
    let mut out = Vec::new();
    for name in ALL {
        out.push(report(server, TOKEN, &format!("/v1/reports/{name}")).await);
    }
    out
}

#[tokio::test]
async fn reporting_rows_a_crash_left_behind_are_rewritten_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(rapport_server::config::DATABASE_FILE);
    let server = TestServer::start_sqlite_in(dir.path(), |_| {}).await;
    let mut office = Device::new("olga");
    seed(&mut office);
    sync(&server, &mut office.replica).await;
    server.stop().await;
    let old_rows = dir.path().join("old-rows.db");
    std::fs::copy(&file, &old_rows).unwrap();

    let server = TestServer::start_sqlite_in(dir.path(), |_| {}).await;
    let id = office.replica.account_ids().unwrap()[0];
    office.replica.edit(id, |e| e.add_deal(&NewDeal::new("Late", Money::new(5_000_000, "NOK").unwrap()))).unwrap();
    sync(&server, &mut office.replica).await;
    let expected = all_reports(&server).await;
    server.stop().await;
    let field_changes = |conn: &rusqlite::Connection| -> Vec<(i64, i64, String, Option<String>)> {
        conn.prepare("SELECT seq, n, field, new_value FROM rpt_field_changes ORDER BY seq, n")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let expected_changes = field_changes(&rusqlite::Connection::open(&file).unwrap());
    assert!(expected_changes.iter().any(|c| c.3.as_deref() == Some("Late")), "{expected_changes:?}");

    // What `kill -9` between a commit and the rewrite of its reporting rows
    // leaves: the new change stored, the account's old rows, its stale mark,
    // the change recorded as pending for the late-edits rows.
    let conn = rusqlite::Connection::open(&file).unwrap();
    let seq: i64 = conn.query_row("SELECT max(seq) FROM rpt_field_changes", [], |r| r.get(0)).unwrap();
    let (hash, made_at, received_at): (Vec<u8>, i64, i64) = conn
        .query_row(
            "SELECT h.hash, t.made_at, t.received_at FROM log_hashes h JOIN change_times t USING (seq) WHERE seq = ?1",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    conn.execute("ATTACH ?1 AS old", [old_rows.to_str().unwrap()]).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rpt%'
             AND name NOT IN ('rpt_stale', 'rpt_changes_pending')",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(tables.len() >= 10, "{tables:?}");
    for table in &tables {
        conn.execute_batch(&format!("DELETE FROM main.{table}; INSERT INTO main.{table} SELECT * FROM old.{table};"))
            .unwrap();
    }
    conn.execute("INSERT INTO rpt_stale (doc_id) VALUES (?1)", [id.to_string()]).unwrap();
    conn.execute(
        "INSERT INTO rpt_changes_pending (seq, doc_id, hash, made_at, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![seq, id.to_string(), hash, made_at, received_at],
    )
    .unwrap();
    assert_ne!(field_changes(&conn), expected_changes, "the late-edits rows of the new change are gone");
    drop(conn);

    let server = TestServer::start_sqlite_in(dir.path(), |_| {}).await;
    let got = all_reports(&server).await;
    assert_eq!(got, expected);
    assert!(got[0].contains(&vec![json!("NOK"), json!(1), json!(5_000_000), json!(500_000)]), "{:?}", got[0]);
    server.stop().await;
    let conn = rusqlite::Connection::open(&file).unwrap();
    assert_eq!(field_changes(&conn), expected_changes);
    let pending: i64 = conn.query_row("SELECT count(*) FROM rpt_changes_pending", [], |r| r.get(0)).unwrap();
    assert_eq!(pending, 0);
}

/// Without any report being asked for, the reporting rows of a burst of
/// changes are rewritten once the server is quiet (in steps, so a request
/// arriving meanwhile waits for one step at most).
#[tokio::test]
async fn reporting_rows_are_rewritten_unasked_once_the_server_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_sqlite_in(dir.path(), |_| {}).await;
    let mut office = Device::new("olga");
    let batch: Vec<NewAccount> = (0..150).map(|i| NewAccount::new(format!("Customer {i:03}"))).collect();
    office.replica.create_accounts(&batch).unwrap();
    sync(&server, &mut office.replica).await;
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while metric(&server, "rapport_report_rewrites_total").await < 150 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("every account's rows are rewritten");
    let (status, body) = get(&server, TOKEN, "/v1/reports/pipeline").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        metric(&server, "rapport_report_rewrites_total").await,
        150,
        "nothing was left to rewrite for the report"
    );
    server.stop().await;
}

/// Every report as an Excel workbook holds the JSON answer's rows, read back
/// with `calamine`: amounts in major units of their currency, instants as
/// dates, ids and names as text; the CSV says the same.
#[tokio::test]
async fn every_report_downloads_as_xlsx_and_csv_with_the_json_figures() {
    use calamine::{Data as X, Reader};
    let (_dir, server, _office, _ana, _data) = setup().await;
    for name in ALL {
        let paged = if ["stale-deals", "overdue-deals", "contact-depth", "key-accounts-at-risk", "open-conflicts"]
            .contains(&name)
        {
            "&limit=10000"
        } else {
            ""
        };
        let (_, json_body) = get(&server, TOKEN, &format!("/v1/reports/{name}?from=2000-01-01{paged}")).await;
        let json: Value = serde_json::from_str(&json_body).unwrap();
        let columns: Vec<&str> = json["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let rows = json["rows"].as_array().unwrap();

        let response = client()
            .get(format!("{}/v1/reports/{name}?from=2000-01-01&format=xlsx", server.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{name}");
        assert_eq!(
            response.headers()["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"{name}.xlsx\"")
        );
        let bytes = response.bytes().await.unwrap().to_vec();
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range(name).unwrap();
        let mut sheet_rows = range.rows();
        let header: Vec<String> = sheet_rows.next().unwrap().iter().map(|c| c.to_string()).collect();
        let (_, csv_body) = get(&server, TOKEN, &format!("/v1/reports/{name}?from=2000-01-01&format=csv")).await;
        let mut csv = csv::Reader::from_reader(csv_body.as_bytes());
        assert_eq!(csv.headers().unwrap().iter().collect::<Vec<_>>(), header, "{name}");
        let csv_rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
        let sheet_rows: Vec<&[X]> = sheet_rows.collect();
        assert_eq!((sheet_rows.len(), csv_rows.len()), (rows.len(), rows.len()), "{name}");
        for ((row, cells), line) in rows.iter().zip(&sheet_rows).zip(&csv_rows) {
            for (i, column) in columns.iter().enumerate() {
                let (value, cell, text) = (&row[*column], &cells[i], &line[i]);
                if let Some(base) = column.strip_suffix("_minor") {
                    assert_eq!(header[i], base);
                    let currency = row["currency"].as_str().unwrap();
                    let minor = value.as_i64().unwrap();
                    let major = minor as f64 / 10f64.powi(currency_exponent(currency) as i32);
                    assert_eq!(cell, &X::Float(major), "{name}.{column}");
                    assert_eq!(parse_major_units(column, text, currency).unwrap(), minor, "{name}.{column}");
                } else if let Some(base) = column.strip_suffix("_ms") {
                    assert_eq!(header[i], base);
                    match value.as_i64() {
                        None => assert_eq!((cell, text), (&X::Empty, ""), "{name}.{column}"),
                        Some(ms) => {
                            let X::DateTime(at) = cell else { panic!("{name}.{column}: {cell:?}") };
                            assert!(at.is_datetime(), "{name}.{column}");
                            // Excel counts days from 1899-12-30; 25569 of them before 1970.
                            let seconds = ((at.as_f64() - 25569.0) * 86400.0).round() as i64;
                            assert_eq!(seconds, ms.div_euclid(1000), "{name}.{column}");
                            let parsed =
                                OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
                            assert_eq!(parsed.unix_timestamp_nanos() / 1_000_000, i128::from(ms), "{name}.{column}");
                        }
                    }
                } else {
                    assert_eq!(header[i], *column);
                    match value {
                        Value::Null => assert_eq!(cell, &X::Empty, "{name}.{column}"),
                        Value::String(s) => {
                            assert_eq!(cell, &X::String(s.clone()), "{name}.{column}");
                            assert_eq!(text, s, "{name}.{column}");
                        }
                        Value::Number(n) => {
                            // serde_json reads a rate's 17th digit loosely: compare as numbers.
                            let X::Float(x) = cell else { panic!("{name}.{column}: {cell:?}") };
                            let want = n.as_f64().unwrap();
                            assert!((x - want).abs() < 1e-12, "{name}.{column}: {x} {n}");
                            assert!((text.parse::<f64>().unwrap() - want).abs() < 1e-12, "{name}.{column}: {text}");
                        }
                        other => assert_eq!(cell, &X::String(other.to_string()), "{name}.{column}"),
                    }
                }
            }
        }
    }
    let (status, body) = get(&server, TOKEN, "/v1/reports/stages?format=pdf").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("expected json, csv or xlsx"), "{body}");
    server.stop().await;
}
