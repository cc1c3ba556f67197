//! `/metrics` speaks the Prometheus text format.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[tokio::test]
async fn metrics_count_requests_latency_documents_and_bytes() {
    let (_dir, server) = TestServer::start_with(|c| c.node_name = "node-b".into()).await;
    let mut ana = Device::new("ana");
    ana.account("Acme");
    ana.account("Borealis");
    sync(&server, &mut ana.replica).await;
    let refused = client().post(format!("{}/v1/sync", server.url)).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);

    let response = client().get(format!("{}/metrics", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        sample(&text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"))
    };
    let node = "node-b";
    assert!(
        text.lines().filter(|l| !l.starts_with('#')).all(|l| l.contains(&format!("node=\"{node}\""))),
        "every sample names the node: {text}"
    );
    assert!(value("rapport_http_requests_total", &[("route", "/v1/sync"), ("status", "200")]) >= 1.0);
    assert_eq!(value("rapport_http_requests_total", &[("route", "/v1/sync"), ("status", "401")]), 1.0);
    assert!(value("rapport_sync_duration_seconds_count", &[]) >= 1.0);
    assert_eq!(
        value("rapport_sync_duration_seconds_bucket", &[("le", "+Inf")]),
        value("rapport_sync_duration_seconds_count", &[])
    );
    // On PostgreSQL: every node's documents, counted at the scrape.
    assert_eq!(value("rapport_documents_stored", &[]), 2.0);
    if on_postgres() {
        // A node of a fleet shows its connections to the shared database,
        // and the head as every node moved it.
        assert!(value("rapport_db_pool_connections", &[]) >= 1.0);
        assert!(value("rapport_log_head", &[]) >= 2.0);
    } else {
        assert_eq!(value("rapport_db_pool_connections", &[]), 0.0, "no pool on SQLite");
    }
    assert_eq!(value("rapport_changes_stored_total", &[]), 2.0);
    assert!(value("rapport_commit_group_requests_count", &[]) >= 1.0);
    assert_eq!(value("rapport_db_jobs_in_flight", &[]), 0.0, "nothing is waiting for the database");
    assert!(value("rapport_bytes_received_total", &[("transport", "http")]) > 0.0);
    assert!(value("rapport_bytes_sent_total", &[("transport", "http")]) > 0.0);
    assert!(text.contains("# TYPE rapport_sync_duration_seconds histogram"));
    server.stop().await;
}
