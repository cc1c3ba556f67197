//! Late edits (issue 16, ADR 0022): a rep offline over a period's end edits
//! deals dated inside the period and syncs after it; the server records when
//! it received each change beside when the device made it, and the
//! late-edits report lists exactly those changes with what they moved.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::*;
use serde_json::Value;
use time::{Duration, OffsetDateTime, Time};

const HOUR_MS: i64 = 3_600_000;

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    let response = client().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

async fn rows(server: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let (status, _, body) = get(server, token, &format!("/v1/reports/late-edits?{query}")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["report"], "late-edits");
    json["rows"].as_array().unwrap().clone()
}

fn acme() -> NewAccount {
    let mut new = NewAccount::new("Acme");
    new.owner = Some("ana".into());
    new.team = Some("south".into());
    new.territory = Some("oulu".into());
    new
}

#[tokio::test]
async fn a_change_made_in_a_closed_period_and_received_after_it_is_listed_with_its_lateness_and_effect() {
    let (_dir, server) = TestServer::start().await;
    add_team(&server, "south").await;
    add_team(&server, "north").await;
    let ana = add_user(&server, "ana", "rep", &[], &["oulu"]).await;
    let ben = add_user(&server, "ben", "rep", &["north"], &["helsinki"]).await;
    let mia = add_user(&server, "mia", "manager", &["south"], &[]).await;

    // The office creates ana's account with two open deals; ana's device pulls it.
    let mut office = Device::new("office");
    let id = office.replica.create_account(&acme()).unwrap();
    let (boiler, pump) = office
        .replica
        .edit(id, |e| {
            let boiler = e.add_deal(&NewDeal::new("Boiler", Money::new(125_000, "EUR")?))?;
            let pump = e.add_deal(&NewDeal::new("Pump", Money::new(80_000, "EUR")?))?;
            e.move_deal_stage(pump, "proposal", Some(40))?;
            Ok((boiler, pump))
        })
        .unwrap();
    sync(&server, &mut office.replica).await;
    let mut phone = Device::new("ana");
    sync_as(&server, &ana, &mut phone.replica).await;
    let boiler_before = phone.replica.account(id).unwrap().deals.into_iter().find(|d| d.id == boiler).unwrap();

    // The closed period: ten days ago up to three days ago (it ended two days ago at 00:00 UTC).
    let today = OffsetDateTime::now_utc().date();
    let (from, to) = (today - Duration::days(10), today - Duration::days(3));
    let end = ms((to + Duration::days(1)).with_time(Time::MIDNIGHT).assume_utc());
    let period = format!("from={from}&to={to}");
    let thursday = (to - Duration::days(1)).with_time(Time::from_hms(15, 30, 0).unwrap()).assume_utc();
    assert!(rows(&server, TOKEN, &period).await.is_empty(), "nothing late before the rep syncs");

    // Offline inside the period, ana wins the boiler and moves the pump on; she syncs now.
    phone
        .replica
        .edit(id, |e| {
            e.dated(thursday);
            e.move_deal_stage(boiler, "won", None)
        })
        .unwrap();
    phone
        .replica
        .edit(id, |e| {
            e.dated(thursday + Duration::hours(1));
            e.move_deal_stage(pump, "negotiation", Some(70))
        })
        .unwrap();
    let before_sync = ms(OffsetDateTime::now_utc());
    sync_as(&server, &ana, &mut phone.replica).await;
    let after_sync = ms(OffsetDateTime::now_utc());

    // The server kept both times of every change it stored (read in its
    // SQLite file here; on PostgreSQL the account history of `known_at.rs`
    // shows the same times through the API).
    if !on_postgres() {
        let conn = rusqlite::Connection::open(server.data.join(rapport_server::config::DATABASE_FILE)).unwrap();
        let times: Vec<(i64, i64)> = conn
            .prepare("SELECT made_at, received_at FROM change_times ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let logged: i64 = conn.query_row("SELECT count(*) FROM log_hashes", [], |r| r.get(0)).unwrap();
        assert_eq!(times.len() as i64, logged, "every log position has its times");
        let late: Vec<_> = times.iter().filter(|(made, _)| *made < end).collect();
        assert_eq!(late.len(), 2, "{times:?}");
        assert_eq!(late[0].0, ms(thursday));
        assert!(late.iter().all(|(_, received)| (before_sync..=after_sync).contains(received)));
    }

    let got = rows(&server, TOKEN, &period).await;
    let field = |f: &str| got.iter().find(|r| r["field"] == f).unwrap_or_else(|| panic!("{f} not in {got:#?}"));
    let won = field(&format!("deals.{boiler}.stage"));
    assert_eq!(won["account_id"], id.to_string());
    assert_eq!(won["account"], "Acme");
    assert_eq!(won["deal_id"], boiler.to_string());
    assert_eq!((won["old_value"].as_str(), won["new_value"].as_str()), (Some("prospecting"), Some("won")));
    assert_eq!((won["user"].as_str(), won["device"].as_str()), (Some("ana"), Some("ana-device")));
    assert_eq!(won["made_ms"], ms(thursday));
    let received = won["received_ms"].as_i64().unwrap();
    assert!((before_sync..=after_sync).contains(&received));
    let hours = won["late_hours"].as_f64().unwrap();
    assert!((hours - (received - end) as f64 / HOUR_MS as f64).abs() < 0.01, "{hours}");
    assert!(hours >= 48.0, "{hours}");
    assert_eq!(won["currency"], "EUR");
    assert_eq!(won["won_delta_minor"], 125_000);
    assert_eq!(won["weighted_delta_minor"], -(125_000 * i64::from(boiler_before.probability) / 100));
    // The other fields the win set are listed too, without counting the win twice.
    let outcome = field(&format!("deals.{boiler}.outcome"));
    assert_eq!((outcome["old_value"].as_str(), outcome["new_value"].as_str()), (Some("open"), Some("won")));
    assert_eq!(outcome["won_delta_minor"], Value::Null);
    let moved = field(&format!("deals.{pump}.stage"));
    assert_eq!(moved["won_delta_minor"], 0);
    assert_eq!(moved["weighted_delta_minor"], 80_000 * 70 / 100 - 80_000 * 40 / 100);
    assert_eq!(moved["made_ms"], ms(thursday + Duration::hours(1)));
    let won_total: i64 = got.iter().filter_map(|r| r["won_delta_minor"].as_i64()).sum();
    assert_eq!(won_total, 125_000, "the period's won amount moved by the boiler");
    // Nothing the office made (now, after the period) is listed; every row is of the two late changes.
    assert!(got.iter().all(|r| r["user"] == "ana" && r["made_ms"].as_i64().unwrap() < end), "{got:#?}");

    // A change made and received inside a period is not late: this week's period holds the office's changes.
    let this_week = format!("from={}&to={today}", today - Duration::days(1));
    assert!(rows(&server, TOKEN, &this_week).await.is_empty());
    // Made after the period's start only: a period before Thursday lists nothing.
    let earlier = format!("from={from}&to={}", to - Duration::days(3));
    assert!(rows(&server, TOKEN, &earlier).await.is_empty());

    // Scope: ana and her manager see the late edits; ben, without access to the account, does not.
    assert_eq!(rows(&server, &ana, &period).await.len(), got.len());
    assert_eq!(rows(&server, &mia, &period).await.len(), got.len());
    assert!(rows(&server, &ben, &period).await.is_empty());
    assert!(rows(&server, TOKEN, &format!("{period}&territory=helsinki")).await.is_empty());
    assert_eq!(rows(&server, TOKEN, &format!("{period}&rep=ana&team=south")).await.len(), got.len());
    // Paged like every per-row report.
    let (_, _, body) = get(&server, TOKEN, &format!("/v1/reports/late-edits?{period}&limit=1&offset=1")).await;
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["total"], got.len() as u64);
    assert_eq!(page["rows"][0], got[1]);

    // Exports: CSV in major units, XLSX a workbook.
    let (status, kind, csv) = get(&server, TOKEN, &format!("/v1/reports/late-edits?{period}&format=csv")).await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
    let text = String::from_utf8(csv).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert!(header.contains(&"won_delta") && header.contains(&"made") && header.contains(&"late_hours"), "{header:?}");
    let won_at = header.iter().position(|c| *c == "won_delta").unwrap();
    let stage_line = lines.find(|l| l.contains(&format!("deals.{boiler}.stage"))).unwrap();
    assert_eq!(stage_line.split(',').nth(won_at), Some("1250.00"));
    let (status, kind, xlsx) = get(&server, TOKEN, &format!("/v1/reports/late-edits?{period}&format=xlsx")).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/vnd.openxmlformats"), "{kind}");
    assert!(xlsx.starts_with(b"PK"), "an XLSX is a zip");

    // Reassigned after the fact, the account's late edits follow it into its new owner's scope.
    sync(&server, &mut office.replica).await;
    office
        .replica
        .edit(id, |e| {
            e.set_field("party.owner", "ben")?;
            e.set_field("party.territory", "helsinki")
        })
        .unwrap();
    sync(&server, &mut office.replica).await;
    assert_eq!(rows(&server, &ben, &period).await.len(), got.len(), "the new owner sees them");
    assert!(rows(&server, &ana, &period).await.is_empty(), "the former owner no longer does");
    let moved = rows(&server, TOKEN, &format!("{period}&territory=helsinki")).await;
    assert!(moved.len() == got.len() && moved.iter().all(|r| r["owner"] == "ben"), "{moved:#?}");

    // Bad parameters get a typed 400.
    for bad in
        [format!("from={from}"), "to=yesterday".into(), format!("from={to}&to={from}"), format!("{period}&known=1")]
    {
        let (status, _, body) = get(&server, TOKEN, &format!("/v1/reports/late-edits?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(error_code(&body), "bad_request", "{bad}");
    }
    server.stop().await;
}

/// One sync exchange loop in protocol version 1, as a 0.1.0 device speaks.
async fn sync_v1(server: &TestServer, replica: &mut Replica) {
    use rapport_core::sync::Message;
    for _ in 0..100 {
        let (request, plan) = replica.sync_request(SyncLimits::default()).unwrap();
        let request = rapport_core::sync::SyncRequest { v2: None, ..request };
        let response = exchange(server, &Message::Request(request)).await;
        assert!(response.v2.is_none(), "a version-1 request is answered in version 1");
        let report = replica.sync_apply(&plan, &response).unwrap();
        if !report.more && replica.unsynced_count().unwrap() == 0 {
            return;
        }
    }
    panic!("sync did not finish");
}

fn schema_of(path: &std::path::Path) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut rows: Vec<(String, String, String)> = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    rows.sort();
    rows
}

/// A database from before the two times were recorded opens, keeps serving
/// 0.1.0 devices, and counts its older changes as known when they were made:
/// they are never late. Changes stored after the upgrade are.
#[tokio::test]
async fn a_database_from_before_the_times_were_recorded_is_upgraded_and_keeps_syncing() {
    // Migration 18 added the times; the file is made as the one before it.
    let before = 17;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(rapport_server::config::DATABASE_FILE);
    rapport_server::db::create_at_version(&db, before).unwrap();
    let reference = tempfile::tempdir().unwrap();
    let reference = reference.path().join("reference.db");
    rapport_server::db::create_at_version(&reference, before).unwrap();

    let today = OffsetDateTime::now_utc().date();
    let to = today - Duration::days(3);
    let period = format!("from={}&to={to}", today - Duration::days(10));
    let in_period = (to - Duration::days(1)).with_time(Time::from_hms(12, 0, 0).unwrap()).assume_utc();

    // An old device stores an account and a change dated inside the period.
    let server = TestServer::start_sqlite_in(dir.path(), |_| {}).await;
    let mut old = Device::new("old");
    let id = old.account("Acme");
    let deal = old.replica.edit(id, |e| e.add_deal(&NewDeal::new("Boiler", Money::new(5_000, "EUR")?))).unwrap();
    old.replica
        .edit(id, |e| {
            e.dated(in_period);
            e.move_deal_stage(deal, "won", None)
        })
        .unwrap();
    sync_v1(&server, &mut old.replica).await;
    server.stop().await;
    // Take this feature's tables away again: the file is then a database of
    // the schema before it, with those changes in it.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            "DROP TABLE rpt_field_changes; DROP TABLE change_times; DROP TABLE rpt_known_from;
             DROP TABLE rpt_accounts_hist; DROP TABLE rpt_deals_hist; DROP TABLE rpt_stage_moves_hist; DROP TABLE rpt_interactions_hist;
             DROP TABLE rpt_interaction_contacts_hist; DROP TABLE rpt_ladder_moves_hist; DROP TABLE rpt_lifecycle_moves_hist; DROP TABLE rpt_conflicts_hist;
             DROP TABLE rpt_changes_pending;
             PRAGMA user_version = {before};"
        ))
        .unwrap();
    }
    assert_eq!(schema_of(&db), schema_of(&reference), "the file has exactly the older schema");

    let upgrading = OffsetDateTime::now_utc() - Duration::seconds(1);
    let server = TestServer::start_sqlite_in(dir.path(), |_| {}).await;
    assert!(rows(&server, TOKEN, &period).await.is_empty(), "changes stored before count as known when made");
    // Figures as known before the upgrade cannot be told (ADR 0023); from it on they can.
    let known_at = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, _, body) =
        get(&server, TOKEN, &format!("/v1/reports/win-rate?known_at={}", known_at(upgrading))).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("known_at"));
    let now = OffsetDateTime::now_utc() + Duration::seconds(1);
    let (status, _, then) = get(&server, TOKEN, &format!("/v1/reports/win-rate?known_at={}", known_at(now))).await;
    assert_eq!(status, 200);
    let (_, _, current) = get(&server, TOKEN, "/v1/reports/win-rate").await;
    assert_eq!(then, current, "the rows stored before the upgrade are known from it on");
    // The old device keeps syncing (version 1) and its late edits now count.
    old.replica
        .edit(id, |e| {
            e.dated(in_period + Duration::hours(1));
            e.set_field(&format!("deals.{deal}.next_step"), "Invoice")
        })
        .unwrap();
    sync_v1(&server, &mut old.replica).await;
    let got = rows(&server, TOKEN, &period).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["field"], format!("deals.{deal}.next_step"));
    assert_eq!(got[0]["new_value"], "Invoice");
    assert_eq!(got[0]["won_delta_minor"], Value::Null, "a next step moves no figure");
    let mut fresh = Device::new("fresh");
    sync(&server, &mut fresh.replica).await;
    assert_eq!(fresh.replica.account(id).unwrap(), old.replica.account(id).unwrap());
    let version: i64 =
        rusqlite::Connection::open(&db).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version as usize, rapport_server::db::schema_version());
    server.stop().await;
}
