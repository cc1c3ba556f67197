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
