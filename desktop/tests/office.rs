//! Office work over the app's HTTP API on a real replica file: the
//! registration code on the card, likely duplicates with their reasons and
//! the merge of two of them, the bulk reassignment of the filtered list with
//! its preview and the directory's names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::{Directory, NewAccount};
use serde_json::json;

#[tokio::test]
async fn duplicates_are_listed_with_their_reasons_and_merged_into_a_chosen_survivor() {
    let app = TestApp::signed_in().await;
    let ua = app.account("ТОВ «Ромашка»").await;
    let ru = app.account("Ромашка, ООО").await;
    let a = app.account("Agro One").await;
    let b = app.account("Агро Один").await;
    app.account("Товарна біржа").await;
    for id in [&a, &b] {
        let (status, card) = app
            .post(&format!("/accounts/{id}/field"), json!({ "field": "party.registration_code", "value": "3214 5678" }))
            .await;
        assert_eq!(status, 200, "{card}");
        assert_eq!(card["account"]["party"]["registration_code"], "3214 5678");
    }

    let (status, groups) = app.get("/office/duplicates").await;
    assert_eq!(status, 200);
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0]["shared"][0], json!({ "reason": "registration_code", "value": "32145678" }));
    assert_eq!(groups[1]["shared"][0], json!({ "reason": "name", "value": "ромашка" }));
    let mut members: Vec<&str> =
        groups[1]["accounts"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    members.sort();
    let mut expected = vec![ua.as_str(), ru.as_str()];
    expected.sort();
    assert_eq!(members, expected);

    // The office picks the survivor; the duplicate redirects; the group is gone.
    let (status, card) = app.post("/office/merge", json!({ "survivor": ru, "duplicate": &ua })).await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["account"]["id"], ru.as_str());
    assert_eq!(app.card(&ua).await["account"]["merged_into"], ru.as_str());
    let (_, groups) = app.get("/office/duplicates").await;
    assert_eq!(groups.as_array().unwrap().len(), 1);

    // Bad merges: typed errors, nothing changed.
    assert_error(&app.post("/office/merge", json!({ "survivor": a, "duplicate": a })).await, 400, "invalid_value");
    assert_error(&app.post("/office/merge", json!({ "survivor": a })).await, 400, "bad_request");
    assert_error(
        &app.post("/office/merge", json!({ "survivor": a, "duplicate": "00000000-0000-7000-8000-000000000000" })).await,
        404,
        "not_found",
    );
    assert_error(&app.post("/office/merge", json!({ "survivor": ua, "duplicate": b })).await, 409, "account_merged");
    assert!(app.card(&b).await["account"]["merged_into"].is_null());
}

#[tokio::test]
async fn the_filtered_list_is_reassigned_after_a_preview_with_names_from_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut replica = replica_in(&dir);
    let mut kyiv = Vec::new();
    for i in 0..10 {
        let id = replica.create_account(&NewAccount::new(format!("Клієнт {i}"))).unwrap();
        replica.edit(id, |e| e.add_tag("kyiv")).unwrap();
        kyiv.push(id.to_string());
    }
    let other = replica.create_account(&NewAccount::new("Elsewhere Oy")).unwrap();
    let mut app = TestApp::start(dir, replica).await;
    app.sign_in().await;
    let body = |dry_run: bool| json!({ "filter": { "tag": "kyiv", "limit": "3" }, "owner": "mia", "team": "east", "dry_run": dry_run });

    // Before the first sync there is no directory: names cannot be checked.
    let (_, directory) = app.get("/office/directory").await;
    assert_eq!(directory["fetched"], false);
    assert_error(&app.post("/office/reassign", body(true)).await, 400, "directory_not_fetched");

    // What a sync stores: through a second handle on the same file, as `rapport sync` would.
    let mut second = rapport_core::Replica::open(
        app.dir.path().join("replica.db"),
        &rapport_core::DeviceIdentity::new("ana", "ana-laptop"),
    )
    .unwrap();
    second
        .store_directory(&Directory {
            users: vec!["ana".into(), "mia".into()],
            teams: vec!["east".into()],
            territories: vec!["UA-46".into()],
            ..Directory::default()
        })
        .unwrap();
    let (_, directory) = app.get("/office/directory").await;
    assert_eq!(
        directory,
        json!({ "fetched": true, "users": ["ana", "mia"], "teams": ["east"], "territories": ["UA-46"] })
    );

    // A typo: refused with the close name, naming the field.
    let typo = app.post("/office/reassign", json!({ "filter": { "tag": "kyiv" }, "owner": "mai" })).await;
    assert_error(&typo, 400, "unknown_name");
    assert_eq!(typo.1["error"]["field"], "party.owner");
    assert!(typo.1["error"]["message"].as_str().unwrap().contains("did you mean mia?"), "{}", typo.1);
    // Nothing to reassign to, an unknown filter: refused.
    assert_error(&app.post("/office/reassign", json!({ "filter": { "tag": "kyiv" } })).await, 400, "invalid_value");
    assert_error(
        &app.post("/office/reassign", json!({ "filter": { "colour": "red" }, "owner": "mia" })).await,
        400,
        "bad_request",
    );

    // The preview: all ten (the list's limit does not apply), nothing written.
    let (status, preview) = app.post("/office/reassign", body(true)).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!((preview["matched"].as_u64(), preview["changed"].as_u64()), (Some(10), Some(0)));
    assert_eq!(preview["changes"].as_array().unwrap().len(), 10);
    assert_eq!(preview["changes"][0]["changes"][0], json!({ "field": "owner", "from": "ana", "to": "mia" }));
    assert_eq!(app.card(&kyiv[3]).await["account"]["party"]["owner"], "ana");

    let (_, before) = app.get("/status").await;
    let (status, done) = app.post("/office/reassign", body(false)).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["changed"], 10);
    for id in &kyiv {
        let party = &app.card(id).await["account"]["party"];
        assert_eq!((party["owner"].as_str(), party["team"].as_str()), (Some("mia"), Some("east")));
    }
    assert_eq!(app.card(&other.to_string()).await["account"]["party"]["owner"], "ana");
    let (_, list) = app.get("/accounts?owner=mia").await;
    assert_eq!(list.as_array().unwrap().len(), 10);
    // One change per account, waiting for the next push (no server is reachable).
    let (_, after) = app.get("/status").await;
    let unsent = |s: &serde_json::Value| s["unsent_changes"].as_u64().unwrap();
    assert_eq!(unsent(&after) - unsent(&before), 10, "{before} {after}");
}
