//! A database left by an older server is upgraded in place at start.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[tokio::test]
async fn every_older_schema_is_upgraded_and_served() {
    for version in 0..rapport_server::db::schema_version() {
        let dir = tempfile::tempdir().unwrap();
        rapport_server::db::create_at_version(&dir.path().join(rapport_server::config::DATABASE_FILE), version)
            .unwrap();
        let server = TestServer::start_in(dir.path(), |_| {}).await;
        let mut ana = Device::new("ana");
        let id = ana.account("Acme");
        sync(&server, &mut ana.replica).await;
        server.stop().await;

        let server = TestServer::start_in(dir.path(), |_| {}).await;
        let mut bob = Device::new("bob");
        assert_eq!(sync(&server, &mut bob.replica).await, 1, "from version {version}");
        assert_eq!(bob.replica.account(id).unwrap(), ana.replica.account(id).unwrap());
        server.stop().await;
    }
}

/// `(type, name, sql)` of every schema object, sorted.
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

/// One sync exchange loop in protocol version 1, as a device speaks to a
/// 0.1.0 server (which answers only version 1: the device learns no log mark).
async fn sync_v1(server: &TestServer, replica: &mut rapport_core::Replica) {
    use rapport_core::SyncLimits;
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

/// Upgrading a server that ran release 0.1.0 (server schema 12, docs/COMPATIBILITY.md)
/// while a device holds edits it has not sent: the new server migrates the
/// database at start, the device keeps its replica and identity and sends
/// the edits; nothing is re-initialised, nothing is lost.
#[tokio::test]
async fn a_0_1_0_database_with_data_is_upgraded_while_a_device_holds_unsynced_edits() {
    const RELEASE_0_1_0_SCHEMA: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(rapport_server::config::DATABASE_FILE);
    rapport_server::db::create_at_version(&db, RELEASE_0_1_0_SCHEMA).unwrap();
    let reference = tempfile::tempdir().unwrap();
    let reference = reference.path().join("reference.db");
    rapport_server::db::create_at_version(&reference, RELEASE_0_1_0_SCHEMA).unwrap();

    // Devices sync as with a 0.1.0 server (protocol version 1).
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let mut ana = Device::new("ana");
    let acme = ana.account("Acme");
    sync_v1(&server, &mut ana.replica).await;
    server.stop().await;
    // What the 0.1.0 server's database holds is what the tables of its 12
    // migrations hold; the later migrations only added tables and two columns
    // of the reporting index. Take them away again: the file is then a 0.1.0
    // server's database with data in it.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "DROP TABLE admin_actions; DROP TABLE actor_newest; DROP TABLE device_wipes; DROP TABLE log_hashes; DROP TABLE meta;
             ALTER TABLE rpt_deals DROP COLUMN title; ALTER TABLE rpt_deals DROP COLUMN next_step;
             DROP TABLE change_times; DROP TABLE rpt_field_changes;
             DROP TABLE rpt_accounts_hist; DROP TABLE rpt_deals_hist; DROP TABLE rpt_stage_moves_hist; DROP TABLE rpt_interactions_hist;
             DROP TABLE rpt_interaction_contacts_hist; DROP TABLE rpt_ladder_moves_hist; DROP TABLE rpt_lifecycle_moves_hist; DROP TABLE rpt_conflicts_hist; DROP TABLE rpt_known_from;
             DROP TABLE rpt_changes_pending;
             PRAGMA user_version = 12;",
        )
        .unwrap();
    }
    assert_eq!(schema_of(&db), schema_of(&reference), "the file has exactly the 0.1.0 server's schema");

    // Offline, while the server is upgraded, ana edits.
    ana.replica.edit(acme, |e| e.set_field("party.industry", "Paper")).unwrap();
    let globex = ana.account("Globex");
    assert_eq!(ana.replica.unsynced_count().unwrap(), 2);
    let actor = ana.replica.author().actor.clone();

    // The upgraded server starts on the same directory (migrations at start).
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    sync(&server, &mut ana.replica).await;
    let version: i64 =
        rusqlite::Connection::open(&db).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version as usize, rapport_server::db::schema_version(), "migrated at start");
    assert_eq!(ana.replica.unsynced_count().unwrap(), 0, "the edits made during the upgrade are sent");
    assert_eq!(ana.replica.author().actor, actor, "the device keeps its identity");
    let mut bob = Device::new("bob");
    assert_eq!(sync(&server, &mut bob.replica).await, 2);
    assert_eq!(bob.replica.account(acme).unwrap(), ana.replica.account(acme).unwrap());
    assert_eq!(bob.replica.account(acme).unwrap().party.industry.as_deref(), Some("Paper"));
    assert_eq!(bob.replica.account(globex).unwrap().party.name, "Globex");
    // And version 1 (0.1.0 devices) still syncs after the upgrade.
    let mut old = Device::new("old");
    sync_v1(&server, &mut old.replica).await;
    assert_eq!(old.replica.account(acme).unwrap(), ana.replica.account(acme).unwrap());
    server.stop().await;
}
