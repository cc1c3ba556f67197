//! The manager dashboard: the page and its assets are served without a
//! token, and its drill-down agrees with the `stages` report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::*;
use serde_json::Value;

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = client().get(format!("{}{path}", server.url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, res.text().await.unwrap())
}

/// Pages, assets, API answers and errors carry the headers a security
/// review expects.
#[tokio::test]
async fn every_answer_has_the_security_headers() {
    let (_dir, server) = TestServer::start().await;
    for (path, token) in [
        ("/", None),
        ("/assets/app.js", None),
        ("/v1/reports/pipeline", Some(TOKEN)),
        ("/v1/reports/pipeline", None),
        ("/no/such/page", None),
    ] {
        let mut req = client().get(format!("{}{path}", server.url));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let csp = header("content-security-policy");
        for directive in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
    }
}

#[tokio::test]
async fn the_page_and_its_assets_load_without_a_token() {
    let (_dir, server) = TestServer::start().await;
    for path in ["/", "/index.html"] {
        let (status, content_type, body) = get(&server, path, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(body.contains("<form id=\"sign-in-form\""), "{path}");
        assert!(body.contains("<label for=\"token\" data-i18n=\"token\">"), "{path}");
        assert!(body.contains("id=\"weighted-value\""), "{path}");
        // Nothing from another origin.
        assert!(!body.contains("http://") && !body.contains("https://"), "{path}");
    }
    for (path, kind, marker) in [
        ("/assets/app.js", "text/javascript", "/v1/reports/events"),
        ("/assets/i18n.js", "text/javascript", "Зважена воронка"),
        ("/assets/app.css", "text/css", ".grid"),
    ] {
        let (status, content_type, body) = get(&server, path, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(body.contains(marker), "{path}");
        assert!(!body.contains("https://"), "{path} loads nothing from the network");
    }
    let (status, _, _) = get(&server, "/assets/missing.js", None).await;
    assert_eq!(status, 404);
    // The data stays behind the token.
    let (status, _, _) = get(&server, "/v1/reports/pipeline", None).await;
    assert_eq!(status, 401);
    let (status, _, _) = get(&server, "/v1/dashboard/stage-deals?stage=proposal", None).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn the_stage_drill_down_lists_the_deals_the_stages_report_counts() {
    let (_dir, server) = TestServer::start().await;
    let mut device = Device::new("admin");
    let acme = device.account("Acme");
    let globex = device.account("Globex");
    for (id, amount, stage) in [(acme, 120_000, "proposal"), (globex, 50_000, "proposal"), (globex, 7_000, "won")] {
        let mut deal = NewDeal::new("Deal", Money::new(amount, "EUR").unwrap());
        deal.stage = Some(stage.to_owned());
        device.replica.edit(id, |e| e.add_deal(&deal)).unwrap();
    }
    sync(&server, &mut device.replica).await;

    let (status, _, body) = get(&server, "/v1/reports/stages", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let stages: Value = serde_json::from_str(&body).unwrap();
    let proposal = stages["rows"].as_array().unwrap().iter().find(|r| r["stage"] == "proposal").unwrap().clone();

    let (status, content_type, body) = get(&server, "/v1/dashboard/stage-deals?stage=proposal", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("application/json"));
    let drill: Value = serde_json::from_str(&body).unwrap();
    let rows = drill["rows"].as_array().unwrap();
    assert_eq!(rows.len() as i64, proposal["deals"].as_i64().unwrap());
    let sum: i64 = rows.iter().map(|r| r["amount_minor"].as_i64().unwrap()).sum();
    assert_eq!(sum, proposal["amount_minor"].as_i64().unwrap());
    let names: Vec<&str> = rows.iter().map(|r| r["account"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme", "Globex"]);
    assert_eq!(rows[0]["account_id"], acme.to_string());

    // Filters are checked like the reports'.
    for path in [
        "/v1/dashboard/stage-deals",
        "/v1/dashboard/stage-deals?stage=proposal&bogus=1",
        "/v1/dashboard/stage-deals?stage=proposal&rep=nobody",
        "/v1/dashboard/stage-deals?stage=proposal&from=2026-13-01",
        "/v1/dashboard/stage-deals?stage=proposal&limit=5",
    ] {
        let (status, _, body) = get(&server, path, Some(TOKEN)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(error_code(body.as_bytes()), "bad_request", "{path}");
    }
    server.stop().await;
}
