//! A device that says it heals a restored server may relay changes made by
//! other devices, judged with their authors' rules (ADR 0011), but only for
//! accounts in its own user's scope: claiming to heal never opens an account
//! a user may not see.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::sync::{AckStatus, DocData, HealRequest, Message, SyncRequest};

#[tokio::test]
async fn a_healing_rep_cannot_relay_an_admin_change_to_an_account_outside_its_scope() {
    let (_dir, server) = TestServer::start().await;
    let mallory_token = add_user(&server, "mallory", "rep", &[], &["north"]).await;

    // The admin's device creates an account in another territory and syncs:
    // its actor id is bound to the admin's device.
    let mut admin = Device::new("admin");
    let secret = admin.replica.create_account(&{
        let mut new = rapport_core::NewAccount::new("Secret Oy");
        new.territory = Some("south".into());
        new
    });
    let secret = secret.unwrap();
    sync_as(&server, TOKEN, &mut admin.replica).await;
    // A change under the admin's actor id that never reaches the server from
    // the admin's device: as a forger would craft it.
    admin.replica.edit(secret, |e| e.set_field("party.owner", "mallory")).unwrap();
    let (forged, _) = admin.replica.sync_request(Default::default()).unwrap();
    let forged: Vec<DocData> = forged.push;
    assert_eq!(forged.len(), 1);

    let mut mallory = Device::new("mallory");
    let (request, _) = mallory.replica.sync_request(Default::default()).unwrap();
    let request = SyncRequest {
        push: forged,
        v2: Some(HealRequest { seen: None, healing: true, announce: Vec::new() }),
        ..request
    };
    let (status, body) = post_sync_as(&server, &mallory_token, Message::Request(request).encode()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let Message::Response(response) = Message::decode(&body).unwrap() else { panic!("a response") };
    match &response.acks[0].status {
        AckStatus::Rejected(reason) => assert!(reason.contains("not in this user's scope"), "{reason}"),
        other => panic!("the relayed change was not refused: {other:?}"),
    }

    // The admin's own device still pushes it.
    let synced = sync_as(&server, TOKEN, &mut admin.replica).await;
    assert!(synced.rejected.is_empty(), "{:?}", synced.rejected);
    server.stop().await;
}
