//! The server's half of refused edits (ADR 0010): a device that set a refused
//! edit aside pushes its other edits rebuilt under a fresh actor id, which
//! the server binds to the same device (while another device still may not
//! use it); and `GET /v1/whoami` tells a device the rules it writes under.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::sync::{AckStatus, Message};
use rapport_core::{InteractionKind, NewAccount, NewInteraction, SyncLimits};

#[tokio::test]
async fn rebuilt_edits_under_a_second_actor_of_the_same_device_are_accepted_and_stay_its_own() {
    let (_dir, server) = TestServer::start().await;
    let ana_token = add_user(&server, "ana", "rep", &[], &["north"]).await;
    let olga_token = add_user(&server, "olga", "office", &[], &[]).await;
    let otto_token = add_user(&server, "otto", "office", &[], &[]).await;
    let (mut ana, mut olga) = (Device::new("ana"), Device::new("olga"));
    let mut new = NewAccount::new("Acme");
    new.owner = Some("ana".into());
    let id = olga.replica.create_account(&new).unwrap();
    sync_as(&server, &olga_token, &mut olga.replica).await;
    sync_as(&server, &ana_token, &mut ana.replica).await;
    let first_actor = ana.replica.author().actor.clone();
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    sync_as(&server, &ana_token, &mut ana.replica).await;

    // Ana's device does not know her role: the owner change reaches the server.
    ana.replica.edit(id, |e| e.set_field("party.owner", "ben")).unwrap();
    ana.replica
        .edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Call, "Call")).map(|_| ()))
        .unwrap();
    let synced = sync_as(&server, &ana_token, &mut ana.replica).await;
    assert_eq!(synced.rejected.len(), 1, "{:?}", synced.rejected);
    assert!(synced.rejected[0].1.ends_with("role rep may not change party.owner"), "{:?}", synced.rejected);
    let second_actor = ana.replica.author().actor.clone();
    assert_ne!(second_actor, first_actor);
    assert_eq!(ana.replica.unsynced_count().unwrap(), 0, "the rebuilt call was accepted");
    sync_as(&server, &olga_token, &mut olga.replica).await;
    let account = olga.replica.account(id).unwrap();
    assert_eq!(account.interactions.len(), 1);
    assert_eq!(account.party.owner.as_deref(), Some("ana"));
    assert_eq!(account.party.industry.as_deref(), Some("Paper"));

    // The new actor id is ana's device's: another device may not push with it.
    ana.replica.edit(id, |e| e.set_field("party.industry", "Forged")).unwrap();
    let (mut request, _) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    let otto = Device::new("otto");
    request.actor = otto.replica.author().actor.to_bytes().to_vec();
    let (status, body) = post_sync_as(&server, &otto_token, Message::Request(request).encode()).await;
    assert_eq!(status, 200);
    let Message::Response(response) = Message::decode(&body).unwrap() else { panic!("not a response") };
    match &response.acks[0].status {
        AckStatus::Rejected(reason) => assert!(reason.contains("another device"), "{reason}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    // Ana's own device still pushes with both of its actor ids' history.
    assert!(sync_as(&server, &ana_token, &mut ana.replica).await.rejected.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_device_learns_the_rules_it_writes_under() {
    let (_dir, server) = TestServer::start().await;
    let ana_token = add_user(&server, "ana", "rep", &[], &["north", "east"]).await;
    let response = client().get(format!("{}/v1/whoami", server.url)).bearer_auth(&ana_token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    for (key, value) in [
        ("user", serde_json::json!("ana")),
        ("role", serde_json::json!("rep")),
        ("teams", serde_json::json!([])),
        ("territories", serde_json::json!(["east", "north"])),
    ] {
        assert_eq!(body[key], value, "{key} in {body}");
    }
    let response = client().get(format!("{}/v1/whoami", server.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);

    server.stop().await;
}
