//! The served API description (`/v1/openapi.json`, generated from the
//! routes) against the router: every described operation is routed, every
//! route is described, every report has its path, and the token and error
//! answers it states are the ones given.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{TOKEN, TestServer, admin, client};
use reqwest::Method;
use serde_json::{Value, json};

async fn description(server: &TestServer) -> Value {
    let response = client().get(format!("{}/v1/openapi.json", server.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// Every operation of the description as `(method, path, operation)`.
fn operations(doc: &Value) -> Vec<(Method, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            out.push((method, path.clone(), op.clone()));
        }
    }
    out
}

/// The path with sample values for its parameters (unknown ids and names).
fn concrete(path: &str) -> String {
    path.replace("{id}", "999999").replace("{name}", "nobody-such")
}

#[tokio::test]
async fn every_described_operation_is_routed_and_its_token_rule_holds() {
    let (_dir, server) = TestServer::start().await;
    let doc = description(&server).await;
    let ops = operations(&doc);
    assert!(ops.len() >= 30, "{} operations", ops.len());
    for (method, path, op) in &ops {
        let url = format!("{}{}", server.url, concrete(path));
        // With the admin token: routed (never the fallback's 404 nor 405), and
        // every status it answers is one the description lists.
        let response = client().request(method.clone(), &url).bearer_auth(TOKEN).send().await.unwrap();
        let status = response.status().as_u16();
        assert_ne!(status, 405, "{method} {path} is described but not routed");
        let streams = response.headers().get("content-type").is_some_and(|t| t == "text/event-stream");
        // An event stream does not end: its first answer is enough.
        let body = if streams { String::new() } else { response.text().await.unwrap() };
        assert!(!body.contains("no such endpoint"), "{method} {path} is described but not routed");
        assert!(op["responses"][status.to_string()].is_object(), "{method} {path} answered {status}, not described");
        if status >= 400 {
            let error: Value = serde_json::from_str(&body).unwrap();
            assert!(error["error"]["code"].is_string() && error["error"]["message"].is_string(), "{body}");
        }
        // Without a token: 401 with the error body exactly where a token is described.
        let response = client().request(method.clone(), &url).send().await.unwrap();
        let status = response.status().as_u16();
        let needs_token = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(status == 401, needs_token, "{method} {path} without a token answered {status}");
        if needs_token {
            assert!(op["responses"]["401"].is_object(), "{method} {path} does not describe 401");
            let error: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
            assert_eq!(error["error"]["code"], "unauthorized");
        }
    }
}

#[tokio::test]
async fn every_report_has_its_described_path_and_the_parameters_it_takes() {
    let (_dir, server) = TestServer::start().await;
    let doc = description(&server).await;
    for name in rapport_server::reports::REPORTS {
        let op = &doc["paths"][format!("/v1/reports/{name}")]["get"];
        assert!(op.is_object(), "report {name} is not described");
        let params: Vec<&str> =
            op["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        let paged = rapport_server::reports::queries::PAGINATED.contains(&name);
        assert_eq!(params.contains(&"limit"), paged, "{name}: limit");
        assert_eq!(params.contains(&"offset"), paged, "{name}: offset");
        // A parameter the description does not list is refused.
        let (status, _) = get(&server, &format!("/v1/reports/{name}?colour=blue")).await;
        assert_eq!(status, 400);
    }
    // The constraints stated are the ones enforced, at their bounds.
    let stale = &doc["paths"]["/v1/reports/stale-deals"]["get"]["parameters"];
    let schema = |n: &str| stale.as_array().unwrap().iter().find(|p| p["name"] == n).unwrap()["schema"].clone();
    for param in ["limit", "days"] {
        let max = schema(param)["maximum"].as_u64().unwrap();
        let min = schema(param)["minimum"].as_u64().unwrap();
        for (value, ok) in [(min, true), (max, true), (max + 1, false), (min - 1, false)] {
            let (status, body) = get(&server, &format!("/v1/reports/stale-deals?{param}={value}")).await;
            assert_eq!(status == 200, ok, "{param}={value}: {status} {body}");
        }
    }
    assert_eq!(schema("team")["minLength"], 1);
    let (status, _) = get(&server, "/v1/reports/stale-deals?team=").await;
    assert_eq!(status, 400);
    assert_eq!(schema("format")["enum"], json!(["json", "csv", "xlsx"]));
}

async fn get(server: &TestServer, path: &str) -> (u16, String) {
    let response = client().get(format!("{}{path}", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Every route is registered through `utoipa_axum::routes!`, which adds it to
/// the description with its handler's `#[utoipa::path]` (a handler without
/// one does not compile there). This keeps a route from being added the
/// plain axum way, undescribed.
#[test]
fn no_route_is_registered_without_its_description() {
    let mut offenders = Vec::new();
    scan(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut offenders);
    assert!(offenders.is_empty(), "routes registered without a description: {offenders:?}");
}

fn scan(dir: &Path, offenders: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scan(&path, offenders);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if [".route(", ".route_service(", ".nest(", ".nest_service(", "routing::get", "routing::post"]
                    .iter()
                    .any(|p| code.contains(p))
                {
                    offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
}

#[tokio::test]
async fn the_admin_api_refuses_unknown_fields_and_changes_nothing() {
    let (_dir, server) = TestServer::start().await;
    common::add_team(&server, "east").await;
    // `territory` instead of `territories`: refused, naming the field; no user made.
    let (status, body) = admin(
        &server,
        TOKEN,
        Method::POST,
        "/users",
        Some(json!({ "name": "ana", "role": "rep", "territory": ["north"] })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("unknown field `territory`"), "{message}");
    let (_, users) = admin(&server, TOKEN, Method::GET, "/users", None).await;
    assert!(users["users"].as_array().unwrap().iter().all(|u| u["name"] != "ana"), "{users}");

    // The right field works, and a misspelt change to it is refused and changes nothing.
    let body = json!({ "name": "ana", "role": "rep", "territories": ["north"] });
    let (status, created) = admin(&server, TOKEN, Method::POST, "/users", Some(body)).await;
    assert_eq!(status, 200, "{created}");
    let (status, body) =
        admin(&server, TOKEN, Method::PATCH, "/users/ana", Some(json!({ "role": "manager", "team": ["east"] }))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("unknown field `team`"), "{body}");
    let (_, users) = admin(&server, TOKEN, Method::GET, "/users", None).await;
    let ana = users["users"].as_array().unwrap().iter().find(|u| u["name"] == "ana").unwrap().clone();
    assert_eq!(ana["role"], "rep");
    assert_eq!(ana["territories"], json!(["north"]));

    for (path, body) in
        [("/teams", json!({ "name": "west", "colour": "red" })), ("/users/ana/devices", json!({ "nam": "x" }))]
    {
        let (status, answer) = admin(&server, TOKEN, Method::POST, path, Some(body)).await;
        assert_eq!(status, 400, "{path}: {answer}");
    }
    let (_, teams) = admin(&server, TOKEN, Method::GET, "/teams", None).await;
    assert_eq!(teams["teams"], json!(["east"]));
    let (status, body) = admin(&server, TOKEN, Method::GET, "/audit?limt=5", None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("limt"), "{body}");
}

#[tokio::test]
async fn an_admin_body_over_the_limit_is_413_as_described() {
    let (_dir, server) = TestServer::start_with(|c| c.max_body_bytes = 1024).await;
    let doc = description(&server).await;
    assert!(doc["paths"]["/v1/admin/teams"]["post"]["responses"]["413"].is_object());
    let (status, body) = admin(&server, TOKEN, Method::POST, "/teams", Some(json!({ "name": "x".repeat(4096) }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{body}");
}

#[tokio::test]
async fn the_built_in_admin_is_neither_deleted_nor_demoted() {
    let (_dir, server) = TestServer::start().await;
    let (status, body) = admin(&server, TOKEN, Method::DELETE, "/users/admin", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    let (status, body) = admin(&server, TOKEN, Method::PATCH, "/users/admin", Some(json!({ "role": "rep" }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    let (_, users) = admin(&server, TOKEN, Method::GET, "/users", None).await;
    let admin_user = users["users"].as_array().unwrap().iter().find(|u| u["name"] == "admin").unwrap().clone();
    assert_eq!((admin_user["role"].as_str(), admin_user["deleted"].as_bool()), (Some("admin"), Some(false)));
}

#[tokio::test]
async fn the_live_socket_answers_a_plain_request_with_the_error_body() {
    let (_dir, server) = TestServer::start().await;
    let response = client().get(format!("{}/v1/live", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("WebSocket"), "{body}");
}
