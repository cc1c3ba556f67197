//! Everything acknowledged survives a restart, and compaction changes nothing
//! a client can observe.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

#[tokio::test]
async fn acknowledged_changes_survive_a_restart_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let compacting = |c: &mut rapport_server::Config| {
        c.db.compact_after = 3;
        c.db.compact_interval = Duration::from_millis(50);
    };
    let server = TestServer::start_in(dir.path(), compacting).await;
    let mut ana = Device::new("ana");
    let mut bob = Device::new("bob");
    let ids: Vec<_> = (0..5).map(|i| ana.account(&format!("Account {i}"))).collect();
    sync(&server, &mut ana.replica).await;
    sync(&server, &mut bob.replica).await;
    // Many small pushes of one document: its change rows pass the threshold.
    for i in 0..8 {
        ana.replica.edit(ids[0], |e| e.set_notes(&format!("note {i}"))).unwrap();
        sync(&server, &mut ana.replica).await;
    }
    tokio::time::timeout(Duration::from_secs(5), async {
        while metric(&server, "rapport_compactions_total").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the document is compacted");
    // Bob's base predates the snapshot: he gets the whole document and converges.
    sync(&server, &mut bob.replica).await;
    assert_eq!(bob.replica.account(ids[0]).unwrap(), ana.replica.account(ids[0]).unwrap());
    assert_eq!(metric(&server, "rapport_documents_stored").await, 5);
    server.stop().await;

    // Same data directory, new process state: everything acknowledged is there.
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    assert_eq!(metric(&server, "rapport_documents_stored").await, 5);
    let mut carol = Device::new("carol");
    assert_eq!(sync(&server, &mut carol.replica).await, 5);
    for id in &ids {
        assert_eq!(carol.replica.account(*id).unwrap(), ana.replica.account(*id).unwrap());
    }
    // The log continues after the restart (no position is reused).
    ana.replica.edit(ids[4], |e| e.set_field("party.industry", "Paper")).unwrap();
    sync(&server, &mut ana.replica).await;
    assert_eq!(sync(&server, &mut bob.replica).await, 1);
    assert_eq!(sync(&server, &mut carol.replica).await, 1);
    assert_eq!(carol.replica.account(ids[4]).unwrap().party.industry.as_deref(), Some("Paper"));
    assert_eq!(bob.replica.account(ids[4]).unwrap(), ana.replica.account(ids[4]).unwrap());
    server.stop().await;
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let (dir, server) = TestServer::start().await;
    assert_serving(&server).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = rapport_server::Config::new(dir.path());
    config.admin_token = Some(TOKEN.into());
    let second = rapport_server::run(listener, config, async {}).await;
    assert!(matches!(second, Err(rapport_server::ServerError::Db(rapport_server::DbError::Locked))), "got {second:?}");
    assert_serving(&server).await;
    server.stop().await;
}
