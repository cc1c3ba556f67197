//! The figures as the server knew them at an instant (issue 16, ADR 0023):
//! every report and drill-down takes `known_at` and answers from the
//! reporting rows as they were at the last log position received by then.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::*;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let res = client().get(format!("{}{path}", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}")))
}

async fn report(server: &TestServer, path: &str) -> Value {
    let (status, body) = get(server, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// An instant as a query-string value.
fn at(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap().replace('+', "%2B")
}

/// A moment strictly between two syncs (the server's clock counts milliseconds).
async fn moment() -> OffsetDateTime {
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let t = OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    t
}

fn titles(body: &Value) -> Vec<String> {
    let mut t: Vec<String> =
        body["rows"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap().to_owned()).collect();
    t.sort();
    t
}

/// Accounts counted by the ladder report.
fn accounts(body: &Value) -> i64 {
    body["rows"].as_array().unwrap().iter().map(|r| r["accounts"].as_i64().unwrap()).sum()
}

fn pipeline_total(body: &Value) -> i64 {
    body["rows"].as_array().unwrap().iter().map(|r| r["amount_minor"].as_i64().unwrap()).sum()
}

#[tokio::test]
async fn each_report_answers_as_known_then_and_as_known_now() {
    let (_dir, server) = TestServer::start().await;
    let before_anything = moment().await;

    // Monday: the office enters Acme with an open boiler deal.
    let mut office = Device::new("office");
    let acme = office.account("Acme");
    let boiler = office
        .replica
        .edit(acme, |e| e.add_deal(&NewDeal::new("Boiler", Money::new(125_000, "EUR").unwrap())))
        .unwrap();
    sync(&server, &mut office.replica).await;
    let monday = moment().await;

    // Later: the boiler is won, a pump deal opened, Globex entered, the industry fixed.
    office.replica.edit(acme, |e| e.move_deal_stage(boiler, "won", None)).unwrap();
    office
        .replica
        .edit(acme, |e| e.add_deal(&NewDeal::new("Pump", Money::new(80_000, "EUR").unwrap())).map(|_| ()))
        .unwrap();
    office.account("Globex");
    sync(&server, &mut office.replica).await;
    let later = moment().await;

    // As known on Monday: the boiler open, nothing won, one account.
    let then = report(&server, &format!("/v1/reports/pipeline?known_at={}", at(monday))).await;
    assert_eq!(pipeline_total(&then), 125_000, "{then}");
    let open = report(&server, &format!("/v1/reports/deals?by=open&known_at={}", at(monday))).await;
    assert_eq!(titles(&open), ["Boiler"]);
    let won = report(&server, &format!("/v1/reports/deals?by=won&known_at={}", at(monday))).await;
    assert!(titles(&won).is_empty());
    let ladder = report(&server, &format!("/v1/reports/ladder?known_at={}", at(monday))).await;
    assert_eq!(accounts(&ladder), 1, "{ladder}");
    assert_eq!(accounts(&report(&server, "/v1/reports/ladder").await), 2);

    // As known now: the pump open, the boiler won, two accounts.
    let now = report(&server, "/v1/reports/pipeline").await;
    assert_eq!(pipeline_total(&now), 80_000);
    assert_eq!(titles(&report(&server, "/v1/reports/deals?by=open").await), ["Pump"]);
    assert_eq!(titles(&report(&server, &format!("/v1/reports/deals?by=won&known_at={}", at(later))).await), ["Boiler"]);

    // Before anything was received the server knew nothing.
    let empty = report(&server, &format!("/v1/reports/pipeline?known_at={}", at(before_anything))).await;
    assert_eq!(pipeline_total(&empty), 0, "{empty}");

    // Every report as known at an instant after the last change is the report as known now.
    for name in rapport_server::reports::queries::REPORTS {
        let period = if name == "late-edits" { "from=2020-01-01&to=2099-12-31&" } else { "" };
        let (_, current) = get(&server, &format!("/v1/reports/{name}?{period}")).await;
        let (status, known) = get(&server, &format!("/v1/reports/{name}?{period}known_at={}", at(later))).await;
        assert_eq!(status, 200, "{name}: {known}");
        assert_eq!(known["rows"], current["rows"], "{name} as known just now equals {name} now");
    }
}

/// A state an account held for a few milliseconds only (changed again
/// before the server's deferred rewrite of its reporting rows) is still the
/// state as known in between.
#[tokio::test]
async fn a_state_held_for_moments_is_known_then() {
    let (_dir, server) = TestServer::start().await;
    let mut office = Device::new("office");
    for round in 0..3 {
        let acme = office.account(&format!("Acme {round}"));
        let boiler = office
            .replica
            .edit(acme, |e| e.add_deal(&NewDeal::new("Boiler", Money::new(125_000, "EUR").unwrap())))
            .unwrap();
        sync(&server, &mut office.replica).await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let between = OffsetDateTime::now_utc();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        office.replica.edit(acme, |e| e.move_deal_stage(boiler, "won", None)).unwrap();
        sync(&server, &mut office.replica).await;

        let open = report(&server, &format!("/v1/reports/deals?by=open&known_at={}", at(between))).await;
        assert_eq!(titles(&open), ["Boiler"], "round {round}: {open}");
        let won = report(&server, "/v1/reports/deals?by=won").await;
        assert_eq!(titles(&won).len(), round + 1, "round {round}: {won}");
    }
}

#[tokio::test]
async fn a_bad_known_at_is_refused_and_names_the_parameter() {
    let (_dir, server) = TestServer::start().await;
    for bad in ["yesterday", "2026-10-05", "2026-13-01T00:00:00Z", ""] {
        let (status, body) = get(&server, &format!("/v1/reports/pipeline?known_at={bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(body["error"]["message"].as_str().unwrap().contains("known_at"), "{body}");
        let (status, _) = get(&server, &format!("/v1/reports/deals?by=open&known_at={bad}")).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn an_accounts_history_shows_when_each_change_was_made_and_when_the_server_received_it() {
    let (_dir, server) = TestServer::start().await;
    let mut phone = Device::new("phone");
    let acme = phone.account("Acme");
    let made = OffsetDateTime::now_utc() - time::Duration::days(3);
    phone
        .replica
        .edit(acme, |e| {
            e.dated(made);
            e.set_field("party.industry", "Paper")
        })
        .unwrap();
    let before_sync = OffsetDateTime::now_utc() - time::Duration::milliseconds(1);
    sync(&server, &mut phone.replica).await;
    let after_sync = OffsetDateTime::now_utc() + time::Duration::milliseconds(1);

    let history = report(&server, &format!("/v1/reports/accounts/{acme}/history")).await;
    let changes = history["changes"].as_array().unwrap();
    let industry = changes
        .iter()
        .find(|c| c["changes"].as_array().unwrap().iter().any(|f| f["field"] == "party.industry"))
        .unwrap();
    let parse = |v: &Value| OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap();
    assert_eq!(parse(&industry["at"]).unix_timestamp(), made.unix_timestamp(), "made: the device's time");
    let received = parse(&industry["received"]);
    assert!(before_sync <= received && received <= after_sync, "received: the server's time, {received}");
    assert!(changes.iter().all(|c| !c["received"].is_null()), "every change of this server has its receipt time");
}
