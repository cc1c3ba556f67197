//! Every edit endpoint, end to end on a real replica file: what it changes,
//! and that bad input gets a typed 4xx JSON error and changes nothing.
//! No server is reachable: the app works offline and counts what is unsent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

/// The card's account, for comparing before and after a refused edit.
async fn account(app: &TestApp, id: &str) -> Value {
    app.card(id).await["account"].clone()
}

async fn history_len(app: &TestApp, id: &str) -> usize {
    app.get(&format!("/accounts/{id}/history")).await.1.as_array().unwrap().len()
}

/// Asserts that `answer` is the typed error and that the account is unchanged.
async fn refused_unchanged(app: &TestApp, id: &str, before: &Value, answer: (u16, Value), status: u16, code: &str) {
    assert_error(&answer, status, code);
    assert_eq!(&account(app, id).await, before, "a refused edit changed the account");
}

#[tokio::test]
async fn the_list_filters_and_searches() {
    let app = TestApp::signed_in().await;
    let romashka = app.account("Ромашка").await;
    let acme = app.account("Acme Tools").await;
    app.post(&format!("/accounts/{acme}/field"), json!({ "field": "party.address.city", "value": "Tampere" })).await;
    app.post(&format!("/accounts/{acme}/tags"), json!({ "tag": "vip" })).await;
    let names =
        |v: Value| v.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();

    assert_eq!(names(app.get("/accounts").await.1), ["Acme Tools", "Ромашка"]);
    // Another grammatical form of the name; a city.
    assert_eq!(names(app.get("/accounts?q=%D0%A0%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B8").await.1), ["Ромашка"]);
    assert_eq!(names(app.get("/accounts?q=tampere").await.1), ["Acme Tools"]);
    assert_eq!(names(app.get("/accounts?tag=vip").await.1), ["Acme Tools"]);
    assert_eq!(names(app.get("/accounts?owner=ana&status=active").await.1), ["Acme Tools", "Ромашка"]);
    assert_eq!(names(app.get("/accounts?limit=1").await.1).len(), 1);
    assert_eq!(
        app.card(&romashka[..32]).await["account"]["id"],
        romashka.as_str(),
        "a unique id prefix opens the card"
    );
    // Ids made in the same moment start alike (UUID v7): their common start names neither.
    let common = romashka.chars().zip(acme.chars()).take_while(|(a, b)| a == b).count();
    assert!(common >= 4, "{romashka} {acme}");
    assert_error(&app.get(&format!("/accounts/{}", &romashka[..common])).await, 400, "ambiguous_id");

    assert_error(&app.get("/accounts?status=sleeping").await, 400, "invalid_value");
    assert_error(&app.get("/accounts?limit=0").await, 400, "bad_request");
    assert_error(&app.get("/accounts?colour=red").await, 400, "bad_request");
    assert_error(&app.get("/accounts?conflicts=maybe").await, 400, "bad_request");
    assert_error(&app.get("/accounts/0000").await, 404, "not_found");
    assert_error(&app.get("/accounts/xyz").await, 400, "invalid_value");
}

#[tokio::test]
async fn party_fields_tags_and_notes() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    let (status, card) =
        app.post(&format!("/accounts/{id}/field"), json!({ "field": "party.name", "value": "Acme Oy" })).await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["account"]["party"]["name"], "Acme Oy");
    for (field, value) in [
        ("party.address.street", "Hämeenkatu 1"),
        ("party.address.postcode", "01234"),
        ("party.loyalty_rung", "client"),
    ] {
        let (status, card) =
            app.post(&format!("/accounts/{id}/field"), json!({ "field": field, "value": value })).await;
        assert_eq!(status, 200, "{field}: {card}");
    }
    let (_, card) = app.post(&format!("/accounts/{id}/tags"), json!({ "tag": "vip" })).await;
    assert_eq!(card["account"]["party"]["tags"], json!(["vip"]));
    let (_, card) = app.post(&format!("/accounts/{id}/notes"), json!({ "text": "Met the buyer" })).await;
    assert_eq!(card["account"]["party"]["notes"], "Met the buyer");
    let a = account(&app, &id).await;
    assert_eq!(a["party"]["address"]["postcode"], "01234", "a postcode keeps its leading zero");
    assert_eq!(a["party"]["loyalty_rung"], "client");
    assert_eq!(a["ladder_history"].as_array().unwrap().len(), 1);
    let (_, card) = app.post(&format!("/accounts/{id}/tags/remove"), json!({ "tag": "vip" })).await;
    assert_eq!(card["account"]["party"]["tags"], json!([]));

    let before = account(&app, &id).await;
    let path = format!("/accounts/{id}/field");
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&path, json!({ "field": "party.nope", "value": "x" })).await,
        400,
        "unknown_field",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&path, json!({ "field": "party.name", "value": "  " })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&path, json!({ "field": "party.value_tier", "value": "gold" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(&app, &id, &before, app.post(&path, json!({ "field": "party.name" })).await, 400, "bad_request")
        .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&path, json!({ "field": "party.name", "value": "A", "extra": 1 })).await,
        400,
        "bad_request",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/tags"), json!({ "tag": "" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/tags/remove"), json!({ "tag": "never" })).await,
        400,
        "invalid_value",
    )
    .await;
    assert_error(
        &app.post("/accounts/0000/field", json!({ "field": "party.name", "value": "x" })).await,
        404,
        "not_found",
    );
    assert_error(&app.post("/accounts", json!({ "name": "" })).await, 400, "invalid_value");
    // Not JSON: refused before anything runs.
    let res = app
        .http
        .post(format!("{}/api/accounts/{id}/field", app.base))
        .header("cookie", app.cookie.clone().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("field=party.name&value=Evil")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(account(&app, &id).await, before);
    assert_eq!(app.get("/accounts").await.1.as_array().unwrap().len(), 1, "the empty name created nothing");
}

#[tokio::test]
async fn contacts_phones_emails_and_leaving() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    let (status, card) = app
        .post(
            &format!("/accounts/{id}/contacts"),
            json!({ "name": "Olena", "job_title": "Buyer", "email": "olena@acme.example", "phone": "+380 44 123 4567" }),
        )
        .await;
    assert_eq!(status, 200, "{card}");
    let contact = &card["account"]["contacts"][0];
    let cid = contact["id"].as_str().unwrap().to_owned();
    assert_eq!(contact["emails"], json!(["olena@acme.example"]));
    assert_eq!(contact["phones"][0]["kind"], "work");
    let c = |card: &Value| card["account"]["contacts"][0].clone();

    let base = format!("/accounts/{id}/contacts/{cid}");
    let (_, card) = app.post(&format!("{base}/emails"), json!({ "email": "o@acme.example" })).await;
    assert_eq!(c(&card)["emails"], json!(["o@acme.example", "olena@acme.example"]));
    let (_, card) = app.post(&format!("{base}/emails/remove"), json!({ "email": "olena@acme.example" })).await;
    assert_eq!(c(&card)["emails"], json!(["o@acme.example"]));
    let (_, card) =
        app.post(&format!("{base}/phones"), json!({ "number": "+380 50 000 0000", "kind": "mobile" })).await;
    assert_eq!(c(&card)["phones"].as_array().unwrap().len(), 2);
    let (_, card) = app.post(&format!("{base}/phones/remove"), json!({ "number": "+380 44 123 4567" })).await;
    assert_eq!(c(&card)["phones"], json!([{ "kind": "mobile", "number": "+380 50 000 0000" }]));
    let (_, card) = app
        .post(
            &format!("/accounts/{id}/field"),
            json!({ "field": format!("contacts.{cid}.job_title"), "value": "Head buyer" }),
        )
        .await;
    assert_eq!(c(&card)["job_title"], "Head buyer");
    let (_, card) = app.post(&format!("{base}/active"), json!({ "active": false })).await;
    assert_eq!(c(&card)["active"], false);
    let (_, card) = app.post(&format!("{base}/active"), json!({ "active": true })).await;
    assert_eq!(c(&card)["active"], true);
    let (status, card) = app
        .post(
            &format!("{base}/consents"),
            json!({ "channel": "email", "topic": "newsletter", "status": "refused", "reason": "asked" }),
        )
        .await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(c(&card)["consents"][0]["status"], "refused");

    let before = account(&app, &id).await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("{base}/emails"), json!({ "email": "not-an-email" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("{base}/phones"), json!({ "number": "call me" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("{base}/phones"), json!({ "number": "+380 1", "kind": "pager" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/contacts"), json!({ "name": "" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/contacts"), json!({ "name": "Bob", "email": "bob" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("{base}/active"), json!({ "active": "no" })).await,
        400,
        "bad_request",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("{base}/consents"), json!({ "channel": "pigeon", "topic": "x", "status": "refused" })).await,
        400,
        "invalid_value",
    )
    .await;
    let unknown = format!("/accounts/{id}/contacts/{}/active", uuid::Uuid::nil());
    refused_unchanged(&app, &id, &before, app.post(&unknown, json!({ "active": false })).await, 404, "not_found").await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/contacts/42/emails"), json!({ "email": "a@b.example" })).await,
        400,
        "invalid_value",
    )
    .await;
}

#[tokio::test]
async fn deals_move_between_stages_and_are_lost_with_a_catalogue_reason() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    let (status, card) = app
        .post(&format!("/accounts/{id}/deals"), json!({ "title": "Fleet", "amount": "360 000,50", "currency": "eur" }))
        .await;
    assert_eq!(status, 200, "{card}");
    let deal = &card["account"]["deals"][0];
    assert_eq!(deal["amount"], json!({ "minor": 36000050, "currency": "EUR" }));
    assert_eq!(deal["stage"], "prospecting");
    let did = deal["id"].as_str().unwrap().to_owned();
    let (_, card) = app.post(&format!("/accounts/{id}/deals/{did}/stage"), json!({ "stage": "proposal" })).await;
    let d = &card["account"]["deals"][0];
    assert_eq!((d["stage"].as_str(), d["stage_history"].as_array().unwrap().len()), (Some("proposal"), 2));
    let (_, card) = app
        .post(
            &format!("/accounts/{id}/deals"),
            json!({ "title": "Pilot", "amount": "10", "currency": "EUR", "stage": "negotiation" }),
        )
        .await;
    let won = card["account"]["deals"][1]["id"].as_str().unwrap().to_owned();
    let (_, card) = app.post(&format!("/accounts/{id}/deals/{won}/stage"), json!({ "stage": "won" })).await;
    assert_eq!(card["account"]["deals"][1]["outcome"], "won");

    let (_, settings) = app.get("/settings").await;
    let reason = settings["settings"]["lost_reasons"][0].as_str().unwrap().to_owned();
    let before = account(&app, &id).await;
    let lost = format!("/accounts/{id}/deals/{did}/lost");
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&lost, json!({ "reason": "the moon was full" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/deals/{did}/stage"), json!({ "stage": "dreaming" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/deals/{did}/stage"), json!({ "stage": "won", "probability": 101 })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/deals"), json!({ "title": "X", "amount": "12.345", "currency": "EUR" }))
            .await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/deals"), json!({ "title": "X", "amount": "-5", "currency": "EUR" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/deals"), json!({ "title": "X", "amount": "5", "currency": "EURO" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/deals"), json!({ "title": "", "amount": "5", "currency": "EUR" })).await,
        400,
        "invalid_value",
    )
    .await;
    let nil = uuid::Uuid::nil();
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/deals/{nil}/lost"), json!({ "reason": reason })).await,
        404,
        "not_found",
    )
    .await;

    let (status, card) = app.post(&lost, json!({ "reason": reason, "note": "went with a rival" })).await;
    assert_eq!(status, 200, "{card}");
    let d = &card["account"]["deals"][0];
    assert_eq!(
        (d["outcome"].as_str(), d["lost_reason"].as_str(), d["lost_note"].as_str()),
        (Some("lost"), Some(reason.as_str()), Some("went with a rival"))
    );
}

#[tokio::test]
async fn interactions_held_and_planned_and_tasks() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    let (status, card) = app
        .post(
            &format!("/accounts/{id}/interactions"),
            json!({ "kind": "call", "subject": "Intro", "direction": "outbound" }),
        )
        .await;
    assert_eq!(status, 200, "{card}");
    let held = &card["account"]["interactions"][0];
    assert_eq!((held["status"].as_str(), held["direction"].as_str()), (Some("held"), Some("outbound")));
    assert!(held["actual_start"].is_string());
    let (status, card) = app
        .post(
            &format!("/accounts/{id}/interactions"),
            json!({ "kind": "visit", "subject": "Demo", "status": "planned", "when": "2027-01-15T09:30:00Z" }),
        )
        .await;
    assert_eq!(status, 200, "{card}");
    let planned =
        card["account"]["interactions"].as_array().unwrap().iter().find(|i| i["subject"] == "Demo").unwrap().clone();
    assert_eq!(
        (planned["status"].as_str(), planned["planned_start"].as_str()),
        (Some("planned"), Some("2027-01-15T09:30:00Z"))
    );
    assert_eq!(card["account"]["visit_count"], 0, "a planned visit is not a visit yet");

    let (status, card) =
        app.post(&format!("/accounts/{id}/tasks"), json!({ "title": "Send the offer", "due": "2026-12-31" })).await;
    assert_eq!(status, 200, "{card}");
    let task = &card["account"]["tasks"][0];
    assert_eq!((task["due"].as_str(), task["status"].as_str()), (Some("2026-12-31"), Some("todo")));
    let tid = task["id"].as_str().unwrap().to_owned();
    let (_, card) = app.post(&format!("/accounts/{id}/tasks/{tid}/done"), json!({})).await;
    assert_eq!(card["account"]["tasks"][0]["status"], "done");

    let before = account(&app, &id).await;
    let log = format!("/accounts/{id}/interactions");
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&log, json!({ "kind": "telepathy", "subject": "x" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&log, json!({ "kind": "call", "subject": " " })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&log, json!({ "kind": "call", "subject": "x", "status": "planned" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&log, json!({ "kind": "call", "subject": "x", "when": "tomorrow" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&log, json!({ "kind": "call", "subject": "x", "contact": uuid::Uuid::nil() })).await,
        404,
        "not_found",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/tasks"), json!({ "title": "x", "due": "31.12.2026" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/tasks"), json!({ "title": "" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/tasks/{}/done", uuid::Uuid::nil()), json!({})).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn history_says_each_change_with_its_old_and_new_value() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    app.post(&format!("/accounts/{id}/field"), json!({ "field": "party.address.city", "value": "Tampere" })).await;
    app.post(&format!("/accounts/{id}/field"), json!({ "field": "party.address.city", "value": "Lviv" })).await;
    let (status, history) = app.get(&format!("/accounts/{id}/history")).await;
    assert_eq!(status, 200);
    let newest = &history[0];
    assert_eq!((newest["user"].as_str(), newest["device"].as_str()), (Some("ana"), Some("ana-laptop")));
    assert_eq!(newest["changes"], json!([{ "field": "party.address.city", "old": "Tampere", "new": "Lviv" }]));
    assert!(newest["at"].as_str().unwrap().ends_with('Z'), "RFC 3339 times");
    assert_eq!(history_len(&app, &id).await, 3);
}

#[tokio::test]
async fn offline_edits_are_counted_as_unsent() {
    let app = TestApp::signed_in().await;
    let (_, status) = app.get("/status").await;
    assert_eq!((status["online"].as_bool(), status["unsent_changes"].as_u64()), (Some(false), Some(0)));
    let id = app.account("Acme").await;
    app.post(&format!("/accounts/{id}/field"), json!({ "field": "party.industry", "value": "Paper" })).await;
    let (_, status) = app.get("/status").await;
    assert_eq!(status["online"], false);
    assert_eq!(status["unsent_accounts"], 1);
    assert_eq!(status["unsent_changes"], 2, "the account's creation and the edit: {status}");
    assert!(status["problem"].as_str().is_some_and(|p| !p.is_empty()), "{status}");

    // The page's event stream opens with the same status.
    let res = app
        .http
        .get(format!("{}/api/events", app.base))
        .header("cookie", app.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut res = res;
    let chunk = String::from_utf8(res.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(chunk.starts_with("event: status\ndata: {"), "{chunk}");
    assert!(chunk.contains("\"unsent_changes\":2"), "{chunk}");

    // Stopping hands the replica back with the edits on disk.
    let TestApp { app, dir, .. } = app;
    let replica = app.stop().await.unwrap().expect("the replica comes back");
    assert_eq!(replica.unsynced_count().unwrap(), 1);
    drop(dir);
}

#[tokio::test]
async fn a_refused_token_stops_sync_and_the_status_says_what_to_do() {
    // A server that refuses this device's token.
    let server = axum::Router::new().route(
        "/v1/live",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::UNAUTHORIZED,
                [("content-type", "application/json")],
                r#"{"error":{"code":"unauthorized","message":"unknown token"}}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server).await });

    let dir = tempfile::tempdir().unwrap();
    let replica = replica_in(&dir);
    let mut app = TestApp::start_with_server(dir, replica, &url).await;
    app.sign_in().await;
    let mut status = serde_json::Value::Null;
    for _ in 0..100 {
        status = app.get("/status").await.1;
        if status["stopped"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!((status["stopped"].as_bool(), status["online"].as_bool()), (Some(true), Some(false)), "{status}");
    assert!(status["problem"].as_str().unwrap().contains("rapport sync"), "{status}");
    // The app keeps working on the replica.
    let id = app.account("Acme").await;
    assert_eq!(app.card(&id).await["account"]["party"]["name"], "Acme");
}

#[tokio::test]
async fn ladder_and_lifecycle_moves_with_reasons_and_ending_the_relationship() {
    let app = TestApp::signed_in().await;
    let id = app.account("Acme").await;
    let (status, card) =
        app.post(&format!("/accounts/{id}/ladder"), json!({ "to": "client", "reason": "second order" })).await;
    assert_eq!(status, 200, "{card}");
    let moved = &card["account"]["ladder_history"][0];
    assert_eq!(
        (moved["from"].as_str(), moved["to"].as_str(), moved["reason"].as_str()),
        (Some("prospect"), Some("client"), Some("second order"))
    );
    let (_, card) = app.post(&format!("/accounts/{id}/lifecycle"), json!({ "to": "development" })).await;
    assert_eq!(card["account"]["lifecycle_history"][0]["to"], "development");

    let before = account(&app, &id).await;
    let end = format!("/accounts/{id}/end");
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&format!("/accounts/{id}/ladder"), json!({ "to": "emperor" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&end, json!({ "status": "lost", "reason": "bored", "on": "2026-12-04" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&end, json!({ "status": "active", "reason": "moved_away", "on": "2026-12-04" })).await,
        400,
        "invalid_value",
    )
    .await;
    refused_unchanged(
        &app,
        &id,
        &before,
        app.post(&end, json!({ "status": "lost", "reason": "moved_away", "on": "04.12.2026" })).await,
        400,
        "invalid_value",
    )
    .await;

    let (status, card) = app.post(&end, json!({ "status": "lost", "reason": "moved_away", "on": "2026-12-04" })).await;
    assert_eq!(status, 200, "{card}");
    let party = &card["account"]["party"];
    assert_eq!(party["status"], "lost");
    assert_eq!(party["ending"], json!({ "reason": "moved_away", "on": "2026-12-04", "phase": "development" }));
    let (status, card) = app.post(&format!("/accounts/{id}/reopen"), json!({})).await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(
        (card["account"]["party"]["status"].as_str(), card["account"]["party"]["ending"].is_null()),
        (Some("active"), true)
    );
}
