//! The rest of the account card over HTTP on a real replica file: roles,
//! demographics and buying habits, ties and groups, notes edited from the
//! card's heads, the account as it was after any change, and the settings
//! editor (with a rep refused on the device and by the server). Bad input
//! gets a typed error and changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::rules::{Principal, Role};
use rapport_core::sync::{MemoryStore, PrincipalAccess, handle};
use rapport_core::{Replica, SyncLimits};
use serde_json::{Value, json};

async fn account(app: &TestApp, id: &str) -> Value {
    app.card(id).await["account"].clone()
}

#[tokio::test]
async fn roles_are_added_and_removed() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    let path = format!("/accounts/{id}/roles");
    let (status, card) = app.post(&path, json!({ "role": "supplier", "present": true })).await;
    assert_eq!(status, 200, "{card}");
    let (_, card) = app.post(&path, json!({ "role": "Reseller", "present": true })).await;
    assert_eq!(card["account"]["party"]["roles"], json!(["customer", "supplier", "reseller"]));
    app.post(&path, json!({ "role": "supplier", "present": false })).await;
    let (_, card) = app.post(&path, json!({ "role": "customer", "present": false })).await;
    assert_eq!(card["account"]["party"]["roles"], json!(["reseller"]));

    let before = account(&app, &id).await;
    assert_error(&app.post(&path, json!({ "role": "friend", "present": true })).await, 400, "invalid_value");
    assert_error(&app.post(&path, json!({ "role": "customer" })).await, 400, "bad_request");
    assert_error(&app.post(&path, json!({ "role": "customer", "present": "yes" })).await, 400, "bad_request");
    assert_eq!(account(&app, &id).await, before, "refused role edits changed the account");
}

#[tokio::test]
async fn demographics_and_buying_habits_are_free_fields() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    let path = format!("/accounts/{id}/field");
    for (field, value) in [
        ("party.demographics.employees", "120"),
        ("party.demographics.founded", "1998"),
        ("party.buying_habits.orders", "quarterly"),
    ] {
        let (status, card) = app.post(&path, json!({ "field": field, "value": value })).await;
        assert_eq!(status, 200, "{field}: {card}");
    }
    let (_, card) = app.post(&path, json!({ "field": "party.demographics.employees", "value": "150" })).await;
    assert_eq!(card["account"]["party"]["demographics"], json!({ "employees": "150", "founded": "1998" }));
    // An empty value removes the key.
    let (_, card) = app.post(&path, json!({ "field": "party.demographics.founded", "value": "" })).await;
    assert_eq!(card["account"]["party"]["demographics"], json!({ "employees": "150" }));
    assert_eq!(card["account"]["party"]["buying_habits"], json!({ "orders": "quarterly" }));

    let before = account(&app, &id).await;
    assert_error(
        &app.post(&path, json!({ "field": "party.demographics.a.b", "value": "x" })).await,
        400,
        "unknown_field",
    );
    assert_error(&app.post(&path, json!({ "field": "party.demographics.", "value": "x" })).await, 400, "unknown_field");
    let long = format!("party.buying_habits.{}", "k".repeat(65));
    assert_error(&app.post(&path, json!({ "field": long, "value": "x" })).await, 400, "unknown_field");
    assert_eq!(account(&app, &id).await, before);
}

#[tokio::test]
async fn ties_to_parties_groups_and_from_contacts() {
    let app = TestApp::signed_in().await;
    let acme = app.account("Acme").await;
    let group = app.account("Northern Buyers Group").await;
    let partner = app.account("Globex").await;
    let (_, card) = app.post(&format!("/accounts/{acme}/contacts"), json!({ "name": "Olena" })).await;
    let olena = card["account"]["contacts"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/accounts/{acme}/ties");

    let (status, card) = app.post(&path, json!({ "to": group, "kind": "group", "role": "member" })).await;
    assert_eq!(status, 200, "{card}");
    // A unique prefix names the other account, as everywhere.
    let (_, card) = app.post(&path, json!({ "to": &partner[..32], "kind": "professional", "from": olena })).await;
    let ties = card["account"]["ties"].as_array().unwrap();
    assert_eq!(ties.len(), 2);
    let to_group = ties.iter().find(|t| t["kind"] == "group").unwrap();
    assert_eq!((to_group["from"].as_str(), to_group["to"].as_str()), (Some(&*acme), Some(&*group)));
    assert_eq!(to_group["role"], "member");
    let from_olena = ties.iter().find(|t| t["kind"] == "professional").unwrap();
    assert_eq!((from_olena["from"].as_str(), from_olena["to"].as_str()), (Some(&*olena), Some(&*partner)));
    assert_eq!(card["names"][&group], "Northern Buyers Group");
    assert_eq!(card["names"][&olena], "Olena");
    assert_eq!(card["names"][&partner], "Globex");

    let before = account(&app, &acme).await;
    for (body, status, code) in [
        (json!({ "to": group, "kind": "enemy" }), 400, "invalid_value"),
        (json!({ "to": acme, "kind": "social" }), 400, "invalid_value"),
        (json!({ "to": "0000", "kind": "social" }), 400, "invalid_value"),
        (json!({ "to": "", "kind": "social" }), 400, "invalid_value"),
        (json!({ "to": group, "kind": "social", "from": partner }), 400, "invalid_value"),
        (json!({ "kind": "social" }), 400, "bad_request"),
    ] {
        assert_error(&app.post(&path, body.clone()).await, status, code);
        assert_eq!(account(&app, &acme).await, before, "{body} changed the account");
    }
}

#[tokio::test]
async fn notes_edited_from_the_cards_heads_keep_what_arrived_since() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    let path = format!("/accounts/{id}/notes");
    let (_, card) = app.post(&path, json!({ "text": "Price list sent." })).await;
    let page = card["heads"].clone();
    assert_eq!(page.as_array().unwrap().len(), 1);
    // Another page (or a device, through sync) adds a sentence first…
    let (_, card) = app.post(&path, json!({ "text": "Price list sent. Waiting for an answer.", "base": page })).await;
    assert_eq!(card["account"]["party"]["notes"], "Price list sent. Waiting for an answer.");
    // …then this page saves what it changed in the text it showed: both stay.
    let (status, card) = app.post(&path, json!({ "text": "New price list sent.", "base": page })).await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["account"]["party"]["notes"], "New price list sent. Waiting for an answer.");

    let before = account(&app, &id).await;
    assert_error(&app.post(&path, json!({ "text": "x", "base": ["zz"] })).await, 400, "bad_request");
    assert_error(&app.post(&path, json!({ "text": "x", "base": [] })).await, 400, "invalid_value");
    let unknown = "00".repeat(32);
    assert_error(&app.post(&path, json!({ "text": "x", "base": [unknown] })).await, 400, "invalid_value");
    assert_eq!(account(&app, &id).await, before);
}

#[tokio::test]
async fn the_account_as_it_was_after_any_change() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    app.post(&format!("/accounts/{id}/field"), json!({ "field": "party.address.city", "value": "Kyiv" })).await;
    app.post(&format!("/accounts/{id}/field"), json!({ "field": "party.name", "value": "Acme Oy" })).await;
    app.post(&format!("/accounts/{id}/roles"), json!({ "role": "partner", "present": true })).await;
    let (_, history) = app.get(&format!("/accounts/{id}/history")).await;
    let entries = history.as_array().unwrap();
    // Newest first: the city's change is the third from the top.
    let city_change = entries.iter().find(|e| e["fields"] == json!(["party.address.city"])).unwrap();
    let hash = city_change["hash"].as_str().unwrap();
    let (status, past) = app.get(&format!("/accounts/{id}/at/{hash}")).await;
    assert_eq!(status, 200, "{past}");
    assert_eq!(past["at_change"], hash);
    assert_eq!(past["account"]["party"]["name"], "Acme");
    assert_eq!(past["account"]["party"]["address"]["city"], "Kyiv");
    assert_eq!(past["account"]["party"]["roles"], json!(["customer"]));
    assert_eq!(account(&app, &id).await["party"]["name"], "Acme Oy", "looking back changes nothing");

    assert_error(&app.get(&format!("/accounts/{id}/at/nothex")).await, 400, "bad_request");
    assert_error(&app.get(&format!("/accounts/{id}/at/{}", "ab".repeat(32))).await, 404, "not_found");
    assert_error(&app.get(&format!("/accounts/0000/at/{hash}")).await, 404, "not_found");
}

fn stage<'a>(settings: &'a Value, id: &str) -> Option<&'a Value> {
    settings["settings"]["stages"].as_array().unwrap().iter().find(|s| s["id"] == id)
}

#[tokio::test]
async fn the_settings_editor_changes_stages_and_catalogues() {
    let app = TestApp::signed_in().await;
    let (_, me) = app.get("/settings").await;
    assert_eq!(me["may_change_settings"], true, "an unknown role: the server judges");
    assert_eq!(me["role"], Value::Null);

    let (status, s) = app
        .post(
            "/settings/stages",
            json!({ "id": "proposal", "name": "Offer", "probability": 55, "stale_after_days": 10 }),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    let p = stage(&s, "proposal").unwrap();
    assert_eq!(
        (p["name"].as_str(), p["probability"].as_u64(), p["stale_after_days"].as_u64()),
        (Some("Offer"), Some(55), Some(10))
    );
    assert_eq!((p["kind"].as_str(), p["order"].as_u64()), (Some("open"), Some(3)), "kept from the stage");
    let (_, s) = app.post("/settings/stages", json!({ "id": "demo", "name": "Demo", "probability": 30 })).await;
    let d = stage(&s, "demo").unwrap();
    assert_eq!(
        (d["kind"].as_str(), d["order"].as_u64(), d["stale_after_days"].as_u64()),
        (Some("open"), Some(7), Some(30))
    );
    let (_, s) = app.post("/settings/reasons", json!({ "catalogue": "lost", "reason": "Too slow" })).await;
    assert!(s["settings"]["lost_reasons"].as_array().unwrap().contains(&json!("Too slow")));
    let (_, s) = app.post("/settings/reasons", json!({ "catalogue": "end", "reason": "bankrupt" })).await;
    assert!(s["settings"]["end_reasons"].as_array().unwrap().contains(&json!("bankrupt")));
    assert_eq!(app.get("/settings").await.1["settings"], s["settings"]);
    assert!(app.get("/status").await.1["unsent_accounts"].as_u64().unwrap() >= 1, "the settings wait to be sent");
    // A reason taken out of its catalogue is no longer offered; one it does not hold is a 404.
    let (status, s) = app.post("/settings/reasons/remove", json!({ "catalogue": "end", "reason": "bankrupt" })).await;
    assert_eq!(status, 200, "{s}");
    assert!(!s["settings"]["end_reasons"].as_array().unwrap().contains(&json!("bankrupt")));
    let after_removal = app.get("/settings").await.1;
    assert_error(
        &app.post("/settings/reasons/remove", json!({ "catalogue": "end", "reason": "bankrupt" })).await,
        404,
        "not_found",
    );
    assert_eq!(app.get("/settings").await.1, after_removal, "a refused removal changes nothing");

    let before = app.get("/settings").await.1;
    for (path, body, code) in [
        ("/settings/stages", json!({ "id": "x", "name": "X", "probability": 101 }), "invalid_value"),
        ("/settings/stages", json!({ "id": "x", "name": "X", "probability": 300 }), "bad_request"),
        ("/settings/stages", json!({ "id": "x", "name": "X", "probability": 5, "kind": "maybe" }), "invalid_value"),
        ("/settings/stages", json!({ "id": "a.b", "name": "X", "probability": 5 }), "invalid_value"),
        ("/settings/stages", json!({ "id": "x", "name": " ", "probability": 5 }), "invalid_value"),
        ("/settings/stages", json!({ "id": "x", "name": "X" }), "bad_request"),
        ("/settings/reasons", json!({ "catalogue": "moods", "reason": "x" }), "bad_request"),
        ("/settings/reasons", json!({ "catalogue": "lost", "reason": "  " }), "invalid_value"),
        ("/settings/reasons/remove", json!({ "catalogue": "moods", "reason": "price" }), "bad_request"),
        ("/settings/reasons/remove", json!({ "catalogue": "lost", "reason": " " }), "invalid_value"),
    ] {
        assert_error(&app.post(path, body.clone()).await, 400, code);
        assert_eq!(app.get("/settings").await.1, before, "{body} changed the settings");
    }
}

fn principal(user: &str, role: Role) -> Principal {
    Principal { user: user.into(), role, teams: Default::default(), territories: Default::default() }
}

#[tokio::test]
async fn a_rep_sees_the_settings_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut replica = replica_in(&dir);
    replica.set_principal(Some(&principal("ana", Role::Rep))).unwrap();
    let mut app = TestApp::start(dir, replica).await;
    app.sign_in().await;
    let before = app.get("/settings").await.1;
    assert_eq!((before["may_change_settings"].as_bool(), before["role"].as_str()), (Some(false), Some("rep")));
    assert_error(
        &app.post("/settings/stages", json!({ "id": "proposal", "name": "Offer", "probability": 55 })).await,
        403,
        "not_permitted",
    );
    assert_error(
        &app.post("/settings/reasons", json!({ "catalogue": "lost", "reason": "x" })).await,
        403,
        "not_permitted",
    );
    assert_error(
        &app.post("/settings/reasons/remove", json!({ "catalogue": "lost", "reason": "price" })).await,
        403,
        "not_permitted",
    );
    assert_eq!(app.get("/settings").await.1, before);
    assert_eq!(app.get("/status").await.1["unsent_accounts"], 0);
}

#[tokio::test]
async fn a_settings_change_the_server_refused_is_listed_with_the_refused_edits() {
    let dir = tempfile::tempdir().unwrap();
    let mut replica: Replica = replica_in(&dir);
    // The device does not know its role yet: the change is made, and the server refuses it.
    replica
        .edit_settings(|doc, author| doc.add_reason(author, rapport_core::ReasonCatalogue::LostReasons, "x"))
        .unwrap();
    let mut store = MemoryStore::new();
    let (req, plan) = replica.sync_request(SyncLimits::default()).unwrap();
    let (resp, _) = handle(&mut store, &PrincipalAccess(principal("ana", Role::Rep)), &req).unwrap();
    let report = replica.sync_apply(&plan, &resp).unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");

    let mut app = TestApp::start(dir, replica).await;
    app.sign_in().await;
    let (_, rows) = app.get("/refused").await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["kind"], "settings");
    assert_eq!(rows[0]["reason"], "document settings: role rep may not change the settings");
    assert_eq!(app.get("/status").await.1["refused_edits"], 1);
}
