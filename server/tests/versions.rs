//! Protocol versions over HTTP and the restore epoch (ADR 0011): a version-1
//! request is answered in version 1 exactly as 0.1.0 answered it, a
//! version-2 request in version 2 with the database's identity and epoch;
//! `start_new_epoch` moves the epoch on a stopped server's database.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::sync::Message;
use rapport_server::config::DATABASE_FILE;
use rapport_server::db::{DbError, start_new_epoch};

fn version(bytes: &[u8]) -> u16 {
    u16::from_le_bytes([bytes[4], bytes[5]])
}

#[tokio::test]
async fn each_request_is_answered_in_its_version_and_a_new_epoch_is_seen_after_a_restart() {
    let (dir, server) = TestServer::start().await;
    let mut device = Device::new("ana");
    device.account("Acme");

    let (mut v1, _) = device.replica.sync_request(Default::default()).unwrap();
    v1.v2 = None;
    let (status, body) = post_sync(&server, Message::Request(v1).encode()).await;
    assert_eq!(status, 200);
    assert_eq!(version(&body), 1);
    let Message::Response(response) = Message::decode(&body).unwrap() else { panic!("a response") };
    assert!(response.v2.is_none());

    let (v2, plan) = device.replica.sync_request(Default::default()).unwrap();
    let (status, body) = post_sync(&server, Message::Request(v2).encode()).await;
    assert_eq!(status, 200);
    assert_eq!(version(&body), 2);
    let Message::Response(response) = Message::decode(&body).unwrap() else { panic!("a response") };
    device.replica.sync_apply(&plan, &response).unwrap();
    let first = response.v2.unwrap().log;
    assert_eq!(device.replica.log_mark().unwrap(), Some(first));
    assert_ne!(first.server, [0; 16], "the database has an identity");
    assert!(first.epoch > 0);
    assert!(first.head > 0 && first.fingerprint != [0; 8], "the head's change has a fingerprint");

    // Refused while the server holds the database.
    let path = server.data.join(DATABASE_FILE);
    assert!(matches!(start_new_epoch(&path), Err(DbError::Locked)));
    assert!(matches!(start_new_epoch(&dir.path().join("nowhere.db")), Err(DbError::NoDatabase(_))));
    server.stop().await;
    let epoch = start_new_epoch(&path).unwrap();
    assert!(epoch.epoch > first.epoch);
    assert_eq!(epoch.server, first.server, "a restore keeps the identity");

    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let (v2, _) = device.replica.sync_request(Default::default()).unwrap();
    let (_, body) = post_sync(&server, Message::Request(v2).encode()).await;
    let Message::Response(response) = Message::decode(&body).unwrap() else { panic!("a response") };
    let healed = response.v2.unwrap();
    assert!(healed.heal, "the device saw another epoch: it heals");
    assert_eq!(healed.log.epoch, epoch.epoch);
    server.stop().await;
}
