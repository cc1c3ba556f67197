//! Real replicas sync through the server over HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::sync::Message;
use rapport_core::{AccountDoc, ActorId};

#[tokio::test]
async fn two_devices_converge_through_the_server() {
    let (_dir, server) = TestServer::start().await;
    let mut ana = Device::new("ana");
    let mut bob = Device::new("bob");

    let acme = ana.account("Acme Oy");
    ana.replica.edit(acme, |e| e.set_field("party.address.city", "Tampere")).unwrap();
    sync(&server, &mut ana.replica).await;
    assert_eq!(sync(&server, &mut bob.replica).await, 1, "bob pulls the account");
    assert_eq!(bob.replica.account(acme).unwrap(), ana.replica.account(acme).unwrap());

    // Both edit; both sync; both converge.
    bob.replica.edit(acme, |e| e.set_field("party.industry", "Paper")).unwrap();
    ana.replica.edit(acme, |e| e.set_notes("Call in May")).unwrap();
    let borealis = bob.account("Borealis");
    sync(&server, &mut bob.replica).await;
    sync(&server, &mut ana.replica).await;
    sync(&server, &mut bob.replica).await;
    assert_eq!(bob.replica.account(acme).unwrap(), ana.replica.account(acme).unwrap());
    assert_eq!(ana.replica.account(borealis).unwrap().party.name, "Borealis");
    let account = ana.replica.account(acme).unwrap();
    assert_eq!(account.party.industry.as_deref(), Some("Paper"));
    assert_eq!(account.party.address.city.as_deref(), Some("Tampere"));

    // A no-op sync is one small round trip (version 2: the log mark, about
    // 34 bytes, goes both ways).
    let (request, plan) = ana.replica.sync_request(Default::default()).unwrap();
    assert!(plan.is_empty());
    let up = Message::Request(request).encode();
    let (status, down) = post_sync(&server, up.clone()).await;
    assert_eq!(status, 200);
    assert!(up.len() < 80 && down.len() < 80, "no-op sync is tiny: {} up, {} down", up.len(), down.len());

    // The whole document is available as Automerge bytes.
    let response =
        client().get(format!("{}/v1/accounts/{acme}/automerge", server.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    let mut doc = AccountDoc::load(&response.bytes().await.unwrap(), ActorId::random()).unwrap();
    assert_eq!(doc.read(), ana.replica.account(acme).unwrap());
    server.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_account_ids() {
    let (_dir, server) = TestServer::start().await;
    let get = |path: String| client().get(format!("{}{path}", server.url)).bearer_auth(TOKEN).send();
    let unknown = get("/v1/accounts/6f1c2d3e-1111-4222-8333-444455556666/automerge".into()).await.unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(error_code(&unknown.bytes().await.unwrap()), "not_found");
    let malformed = get("/v1/accounts/not-a-uuid/automerge".into()).await.unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    assert_eq!(error_code(&malformed.bytes().await.unwrap()), "invalid_id");
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn concurrent_devices_are_group_committed_and_all_acknowledged() {
    let (_dir, server) = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let url = server.url.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let mut device = Device::new(&format!("user{i}"));
            for n in 0..3 {
                device.account(&format!("Account {i}-{n}"));
            }
            let (request, plan) = device.replica.sync_request(Default::default()).unwrap();
            let body = Message::Request(request).encode();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let bytes = runtime.block_on(async {
                let r = client().post(format!("{url}/v1/sync")).bearer_auth(TOKEN).body(body).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.unwrap()
            });
            let Message::Response(response) = Message::decode(&bytes).unwrap() else { panic!("response") };
            let report = device.replica.sync_apply(&plan, &response).unwrap();
            assert_eq!(report.pushed_docs, 3);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut reader = Device::new("reader");
    assert_eq!(sync(&server, &mut reader.replica).await, 24);
    assert_eq!(reader.replica.account_ids().unwrap().len(), 24);
    server.stop().await;
}
