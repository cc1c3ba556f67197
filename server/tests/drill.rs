//! The rows behind the figures (issue 16): each drill-down lists exactly the
//! deals, accounts or interactions its report counts, with the same filters,
//! and refuses bad parameters with a typed 400. The settings route serves
//! the stage names.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::*;
use serde_json::Value;
use time::macros::date;

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    get_as(server, TOKEN, path).await
}

async fn get_as(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let res = client().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}")))
}

async fn rows(server: &TestServer, path: &str) -> Vec<Value> {
    let (status, body) = get(server, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["rows"].as_array().unwrap().clone()
}

fn titles(rows: &[Value]) -> Vec<&str> {
    let mut t: Vec<&str> = rows.iter().map(|r| r["title"].as_str().unwrap()).collect();
    t.sort();
    t
}

#[tokio::test]
async fn each_drill_down_lists_what_its_report_counts() {
    let (_dir, server) = TestServer::start().await;
    let mut device = Device::new("admin");
    let acme = device.account("Acme");
    let globex = device.account("Globex");
    let deal = |title: &str, amount: i64, close| {
        let mut d = NewDeal::new(title, Money::new(amount, "UAH").unwrap());
        d.expected_close = Some(close);
        d.next_step = Some(format!("call about {title}"));
        d
    };
    let late = device.replica.edit(acme, |e| e.add_deal(&deal("Late", 100_000, date!(2020 - 01 - 10)))).unwrap();
    let _future = device.replica.edit(acme, |e| e.add_deal(&deal("Future", 200_000, date!(2099 - 06 - 01)))).unwrap();
    let won = device.replica.edit(globex, |e| e.add_deal(&deal("Won one", 300_000, date!(2099 - 01 - 01)))).unwrap();
    let lost = device.replica.edit(globex, |e| e.add_deal(&deal("Lost one", 50_000, date!(2099 - 01 - 01)))).unwrap();
    device.replica.edit(globex, |e| e.move_deal_stage(won, "won", None)).unwrap();
    device.replica.edit(globex, |e| e.mark_deal_lost(lost, "price", None)).unwrap();
    device.replica.edit(acme, |e| e.move_deal_stage(late, "proposal", None)).unwrap();
    device.replica.edit(globex, |e| e.set_field("party.lifecycle_phase", "long_term")).unwrap();
    let gone = device.account("Gone Ltd");
    device
        .replica
        .edit(gone, |e| e.end_relationship(AccountStatus::Former, "moved_away", date!(2026 - 03 - 02)))
        .unwrap();
    let mut plan = NewInteraction::new(InteractionKind::Call, "Follow-up");
    plan.status = InteractionStatus::Planned;
    plan.planned_start = Some(time::OffsetDateTime::now_utc() - time::Duration::days(2));
    device.replica.edit(acme, |e| e.log_interaction(&plan)).unwrap();
    device.replica.edit(acme, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Visit"))).unwrap();
    sync(&server, &mut device.replica).await;

    // Stage: the deals the stages report counts, with title, next step and close date.
    let proposal = rows(&server, "/v1/reports/deals?by=stage&key=proposal").await;
    assert_eq!(titles(&proposal), ["Late"]);
    assert_eq!(proposal[0]["next_step"], "call about Late");
    assert_eq!(proposal[0]["expected_close"], "2020-01-10");
    assert_eq!(proposal[0]["amount_minor"], 100_000);
    assert_eq!(proposal[0]["account"], "Acme");
    let (_, stages) = get(&server, "/v1/reports/stages").await;
    for row in stages["rows"].as_array().unwrap() {
        let stage = row["stage"].as_str().unwrap();
        let listed = rows(&server, &format!("/v1/reports/deals?by=stage&key={stage}")).await;
        assert_eq!(listed.len() as i64, row["deals"].as_i64().unwrap(), "{stage}");
    }
    // Overdue: past close, still open; a period on the close date that
    // excludes it drops it (the dashboard asks without one).
    assert_eq!(titles(&rows(&server, "/v1/reports/deals?by=overdue").await), ["Late"]);
    let (_, overdue) = get(&server, "/v1/reports/overdue-deals").await;
    assert_eq!(overdue["total"], 1);
    assert!(rows(&server, "/v1/reports/deals?by=overdue&from=2026-01-01").await.is_empty());
    // Open deals (the pipeline), won and lost (win rate, lost reasons).
    assert_eq!(titles(&rows(&server, "/v1/reports/deals?by=open").await), ["Future", "Late"]);
    assert_eq!(titles(&rows(&server, "/v1/reports/deals?by=won").await), ["Won one"]);
    assert_eq!(titles(&rows(&server, "/v1/reports/deals?by=lost&key=price").await), ["Lost one"]);
    assert!(rows(&server, "/v1/reports/deals?by=lost&key=timing").await.is_empty());
    assert!(rows(&server, "/v1/reports/deals?by=won&to=2000-01-01").await.is_empty());
    let forecast = rows(&server, "/v1/reports/deals?by=forecast&key=pipeline").await;
    let (_, fc) = get(&server, "/v1/reports/forecast").await;
    let pipeline_row = fc["rows"].as_array().unwrap().iter().find(|r| r["forecast"] == "pipeline").unwrap().clone();
    assert_eq!(forecast.len() as i64, pipeline_row["deals"].as_i64().unwrap());
    // Stage conversion: the deals behind a move.
    let (_, conv) = get(&server, "/v1/reports/stage-conversion").await;
    let mv = conv["rows"].as_array().unwrap().iter().find(|r| r["to_stage"] == "won").unwrap().clone();
    let path = format!("/v1/reports/deals?by=moved&key={}&to_stage=won", mv["from_stage"].as_str().unwrap());
    assert_eq!(titles(&rows(&server, &path).await), ["Won one"]);

    // Accounts behind a lifecycle phase; interactions behind a rep's planned count.
    let retention = rows(&server, "/v1/reports/accounts?by=phase&key=long_term").await;
    assert_eq!(retention.len(), 1);
    assert_eq!(retention[0]["account_id"], globex.to_string());
    // Ended relationships, per phase (lifecycle) and per reason (lost-reasons), in the period.
    let (_, lifecycle) = get(&server, "/v1/reports/lifecycle").await;
    let ended: Vec<(String, i64)> = lifecycle["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ended"].as_i64().unwrap() > 0)
        .map(|r| (r["phase"].as_str().unwrap().to_owned(), r["ended"].as_i64().unwrap()))
        .collect();
    assert_eq!(ended, [("pre_relationship".to_owned(), 1)]);
    let by_phase = rows(&server, "/v1/reports/accounts?by=ended-phase&key=pre_relationship").await;
    assert_eq!(by_phase.len(), 1);
    assert_eq!(
        (by_phase[0]["account_id"].as_str(), by_phase[0]["ended_on"].as_str()),
        (Some(gone.to_string().as_str()), Some("2026-03-02"))
    );
    let (_, lost_reasons) = get(&server, "/v1/reports/lost-reasons").await;
    assert!(
        lost_reasons["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["record"] == "relationship" && r["reason"] == "moved_away" && r["count"] == 1)
    );
    let by_reason = rows(&server, "/v1/reports/accounts?by=end-reason&key=moved_away").await;
    assert_eq!(by_reason.len(), 1);
    assert_eq!(by_reason[0]["end_reason"], "moved_away");
    assert!(rows(&server, "/v1/reports/accounts?by=end-reason&key=moved_away&from=2026-04-01").await.is_empty());
    let planned = rows(&server, "/v1/reports/interactions?by=planned&key=admin").await;
    assert_eq!(planned.len(), 1);
    assert_eq!((planned[0]["account"].as_str(), planned[0]["kind"].as_str()), (Some("Acme"), Some("call")));
    let (_, summary) = get(&server, "/v1/reports/rep-summary").await;
    let admin = summary["rows"].as_array().unwrap().iter().find(|r| r["rep"] == "admin").unwrap().clone();
    assert_eq!(admin["planned_overdue"], 1);
    assert_eq!(rows(&server, "/v1/reports/interactions?by=held&key=admin").await.len(), 1);

    // Settings: stage names in funnel order.
    let (status, settings) = get(&server, "/v1/settings").await;
    assert_eq!(status, 200);
    assert_eq!(settings["stages"][2]["id"], "proposal");
    assert_eq!(settings["stages"][2]["name"], "Proposal");
    assert!(settings["lost_reasons"].as_array().unwrap().iter().any(|r| r == "price"));

    // Bad parameters: a typed 400 that names the parameter; other methods: 405.
    for path in [
        "/v1/reports/deals",
        "/v1/reports/deals?by=nope",
        "/v1/reports/deals?by=stage",
        "/v1/reports/deals?by=moved&key=proposal",
        "/v1/reports/deals?by=stage&key=proposal&to_stage=won",
        "/v1/reports/deals?by=open&bogus=1",
        "/v1/reports/deals?by=open&limit=5",
        "/v1/reports/deals?by=open&rep=nobody",
        "/v1/reports/accounts?by=phase",
        "/v1/reports/accounts?by=tier&key=key",
        "/v1/reports/interactions?by=planned&key=admin&from=2026-02-30",
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}");
    }
    for path in ["/v1/reports/deals?by=open", "/v1/reports/accounts?by=phase&key=early", "/v1/settings"] {
        let res = client().get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401, "{path} needs a token");
        let res = client().post(format!("{}{path}", server.url)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 405, "{path}");
    }
    server.stop().await;
}

/// A drill-down lists only what the caller may read, as the reports count it.
#[tokio::test]
async fn a_drill_down_keeps_to_the_callers_scope() {
    let (_dir, server) = TestServer::start().await;
    let rep = add_user(&server, "rita", "rep", &[], &[]).await;
    let mut device = Device::new("admin");
    let hers = device.account("Hers");
    let other = device.account("Other");
    device.replica.edit(hers, |e| e.set_field("party.owner", "rita")).unwrap();
    for id in [hers, other] {
        device.replica.edit(id, |e| e.add_deal(&NewDeal::new("Deal", Money::new(1_000, "EUR").unwrap()))).unwrap();
    }
    sync(&server, &mut device.replica).await;

    let (status, all) = get(&server, "/v1/reports/deals?by=open").await;
    assert_eq!(status, 200);
    assert_eq!(all["rows"].as_array().unwrap().len(), 2);
    let (status, mine) = get_as(&server, &rep, "/v1/reports/deals?by=open").await;
    assert_eq!(status, 200, "{mine}");
    let mine = mine["rows"].as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["account_id"], hers.to_string());
    let (_, pipeline) = get_as(&server, &rep, "/v1/reports/pipeline").await;
    assert_eq!(pipeline["rows"][0]["open_deals"], 1);
    let (_, accounts) = get_as(&server, &rep, "/v1/reports/accounts?by=rung&key=prospect").await;
    let ids: Vec<&str> =
        accounts["rows"].as_array().unwrap().iter().map(|r| r["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [hers.to_string().as_str()]);
    server.stop().await;
}

/// Every drill-down table downloads as CSV and XLSX, with the same filters
/// and amounts in major units beside their currency.
#[tokio::test]
async fn each_drill_down_downloads_as_csv_and_xlsx() {
    use calamine::{Data as X, Reader};
    let (_dir, server) = TestServer::start().await;
    let mut device = Device::new("admin");
    let acme = device.account("Акме Україна");
    device
        .replica
        .edit(acme, |e| {
            let d = e.add_deal(&NewDeal::new("Котел", Money::new(36_000_000, "UAH")?))?;
            e.move_deal_stage(d, "proposal", None)
        })
        .unwrap();
    device.replica.edit(acme, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Visit"))).unwrap();
    sync(&server, &mut device.replica).await;

    for (path, name) in [
        ("/v1/reports/deals?by=stage&key=proposal", "deals"),
        ("/v1/reports/accounts?by=rung&key=prospect", "accounts"),
        ("/v1/reports/interactions?by=held&key=admin", "interactions"),
    ] {
        let (status, json) = get(&server, path).await;
        assert_eq!(status, 200, "{path}: {json}");
        let res = client().get(format!("{}{path}&format=csv", server.url)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            res.headers()["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"{name}.csv\"")
        );
        let text = res.text().await.unwrap();
        let text = text.strip_prefix('\u{feff}').expect("a byte-order mark, for Excel");
        let mut csv = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), json["rows"].as_array().unwrap().len(), "{path}");
        assert!(!rows.is_empty(), "{path}: {json}");

        let res = client().get(format!("{}{path}&format=xlsx", server.url)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
        let range = book.worksheet_range(name).unwrap();
        assert_eq!(range.rows().count(), rows.len() + 1, "{path}: a header and the rows");
        if name == "deals" {
            let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_owned).collect();
            let amount = header.iter().position(|h| h == "amount").expect("amount in major units");
            assert_eq!(&rows[0][amount], "360000.00");
            assert!(rows[0].iter().any(|c| c == "Котел"));
            let cells: Vec<&[X]> = range.rows().collect();
            assert_eq!(cells[1][amount], X::Float(360_000.0));
        }
    }
    let (status, body) = get(&server, "/v1/reports/deals?by=open&format=pdf").await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("format"), "{body}");
}
