//! `GET /v1/admin/nodes`: the nodes serving from the database and the
//! release each runs, to follow a rolling upgrade (ADR 0037). Runs on both
//! backends (`scripts/test-all.sh` runs it again on PostgreSQL).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

#[tokio::test]
async fn the_admin_sees_the_node_its_release_and_schema() {
    let (_dir, server) = TestServer::start_with(|c| c.node_name = "вузол-1".into()).await;
    // A PostgreSQL node reports itself from a task of its own as it starts:
    // wait for its row (a SQLite server lists itself at once).
    let mut body = serde_json::Value::Null;
    for _ in 0..200 {
        let (status, answer) = admin(&server, TOKEN, reqwest::Method::GET, "/nodes", None).await;
        assert_eq!(status, 200, "{answer}");
        body = answer;
        if !body["nodes"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let nodes = body["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{body}");
    let node = &nodes[0];
    assert_eq!(node["name"], "вузол-1");
    assert_eq!(node["release"], env!("CARGO_PKG_VERSION"));
    assert_eq!(node["live"], true);
    let schema =
        if on_postgres() { rapport_store_postgres::schema_version() } else { rapport_server::db::schema_version() };
    assert_eq!(node["schema_version"], schema as i64);
    assert!(node["started_at"].as_i64().unwrap() <= node["seen_at"].as_i64().unwrap(), "{node}");

    // Other users' devices are refused.
    let rep = add_user(&server, "olena", "rep", &[], &[]).await;
    let (status, answer) = admin(&server, &rep, reqwest::Method::GET, "/nodes", None).await;
    assert_eq!(status, 403, "{answer}");
}
