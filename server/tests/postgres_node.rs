//! What a node serving from PostgreSQL does on its own (ADR 0034): it
//! compacts the shared log on a timer, and devices still sync whole
//! documents from the snapshots afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

/// The value of an unlabelled sample in `/metrics`, 0 if absent.
async fn metric(server: &TestServer, name: &str) -> f64 {
    let text = client().get(format!("{}/metrics", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    let text = text.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.split(['{', ' ']).next() == Some(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_postgres_node_compacts_on_a_timer_and_devices_sync_from_the_snapshots() {
    let postgres = Postgres::create();
    let url = postgres.url.clone();
    let (_dir, server) = TestServer::start_with(move |c| {
        c.database_url = Some(url);
        c.db.compact_interval = Duration::from_millis(100);
        c.db.compact_after = 2;
    })
    .await;
    let mut ana = Device::new("ana");
    let acme = ana.account("Acme Oy");
    for city in ["Київ", "Львів", "Одеса", "Харків"] {
        ana.replica.edit(acme, |e| e.set_field("address.city", city)).unwrap();
        sync(&server, &mut ana.replica).await;
    }

    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&server, "rapport_compactions_total").await < 1.0 {
        assert!(Instant::now() < deadline, "the node compacted nothing within 20 s at a 100 ms interval");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A device that never synced gets the whole document, every edit in it.
    let mut bob = Device::new("bob");
    sync(&server, &mut bob.replica).await;
    assert_eq!(bob.replica.account(acme).unwrap(), ana.replica.account(acme).unwrap());
    assert_eq!(bob.replica.account(acme).unwrap().party.address.city.as_deref(), Some("Харків"));
    server.stop().await;
    drop(postgres);
}
