//! The office's inboxes over HTTP: a conflict two devices made, resolved by
//! picking one of its values; edits the server refused, discarded or retried.
//! The conflicts and refusals are made with core's own sync engine (an
//! in-memory server judging with the real permission rules) before the app
//! opens the replica.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::rules::{Principal, Role};
use rapport_core::sync::{MemoryStore, PrincipalAccess, handle};
use rapport_core::{AccountId, DeviceIdentity, Imported, NewAccount, Replica, SyncLimits};
use serde_json::json;

/// The server's permission check for one user, as the real server runs it.
fn rules(user: &str, role: Role) -> PrincipalAccess {
    PrincipalAccess(Principal { user: user.into(), role, teams: Default::default(), territories: Default::default() })
}

fn sync(r: &mut Replica, store: &mut MemoryStore, access: &PrincipalAccess) {
    for _ in 0..20 {
        let (req, plan) = r.sync_request(SyncLimits::default()).unwrap();
        let (resp, _) = handle(store, access, &req).unwrap();
        let report = r.sync_apply(&plan, &resp).unwrap();
        if !report.more && r.unsynced_count().unwrap() == 0 {
            return;
        }
    }
    panic!("sync did not finish");
}

#[tokio::test]
async fn a_conflict_is_resolved_by_picking_one_of_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut mine = replica_in(&dir);
    let other_dir = tempfile::tempdir().unwrap();
    let mut other = Replica::open(other_dir.path().join("r.db"), &DeviceIdentity::new("bob", "bob-phone")).unwrap();
    let id = mine.create_account(&NewAccount::new("Acme")).unwrap();
    assert_eq!(other.import_document(&mine.export_document(id).unwrap()).unwrap(), Imported::Account(id));
    mine.edit(id, |e| e.set_field("party.website", "acme.example")).unwrap();
    other.edit(id, |e| e.set_field("party.website", "acme-tools.example")).unwrap();
    mine.import_document(&other.export_document(id).unwrap()).unwrap();

    let mut app = TestApp::start(dir, mine).await;
    app.sign_in().await;
    let (status, conflicts) = app.get("/conflicts").await;
    assert_eq!(status, 200);
    let row = &conflicts[0];
    assert_eq!(
        (row["account"].as_str(), row["name"].as_str(), row["field"].as_str()),
        (Some(&*id.to_string()), Some("Acme"), Some("party.website"))
    );
    let mut values: Vec<(String, String, String)> = row["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().into(),
                v["user"].as_str().unwrap().into(),
                v["device"].as_str().unwrap().into(),
            )
        })
        .collect();
    values.sort();
    assert_eq!(
        values,
        [
            ("acme-tools.example".into(), "bob".into(), "bob-phone".into()),
            ("acme.example".into(), "ana".into(), "ana-laptop".into())
        ]
    );
    assert!(row["values"][0]["at"].as_str().is_some());

    // Only one of the conflicting values, on a field in conflict, is taken.
    let path = format!("/accounts/{id}/resolve");
    let before = app.card(&id.to_string()).await;
    assert_error(
        &app.post(&path, json!({ "field": "party.website", "value": "elsewhere.example" })).await,
        400,
        "bad_request",
    );
    assert_error(&app.post(&path, json!({ "field": "party.name", "value": "Acme" })).await, 400, "bad_request");
    assert_eq!(app.card(&id.to_string()).await, before);

    let (status, card) = app.post(&path, json!({ "field": "party.website", "value": "acme-tools.example" })).await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["account"]["party"]["website"], "acme-tools.example");
    assert_eq!(card["conflicts"], json!([]));
    assert_eq!(app.get("/conflicts").await.1, json!([]));
}

/// A replica of rep `ana` with two accounts whose owner she changed, which
/// the server refused: two refused edits, set aside.
fn replica_with_refused_edits(dir: &tempfile::TempDir) -> (Replica, [AccountId; 2]) {
    let mut store = MemoryStore::new();
    let office_dir = tempfile::tempdir().unwrap();
    let mut office =
        Replica::open(office_dir.path().join("r.db"), &DeviceIdentity::new("office", "office-pc")).unwrap();
    let mut ids = Vec::new();
    for name in ["Acme", "Globex"] {
        let mut new = NewAccount::new(name);
        new.owner = Some("ana".into());
        ids.push(office.create_account(&new).unwrap());
    }
    sync(&mut office, &mut store, &rules("office", Role::Office));
    let mut ana = replica_in(dir);
    let rep = rules("ana", Role::Rep);
    sync(&mut ana, &mut store, &rep);
    for id in &ids {
        ana.edit(*id, |e| e.set_field("party.owner", "bob")).unwrap();
    }
    sync(&mut ana, &mut store, &rep);
    assert_eq!(ana.refused_edits().unwrap().len(), 2);
    (ana, [ids[0], ids[1]])
}

#[tokio::test]
async fn refused_edits_are_listed_discarded_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (replica, [acme, globex]) = replica_with_refused_edits(&dir);
    let mut app = TestApp::start(dir, replica).await;
    app.sign_in().await;

    let (status, refused) = app.get("/refused").await;
    assert_eq!(status, 200);
    let rows = refused.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["fields"], json!(["party.owner"]));
    assert_eq!(rows[0]["kind"], "edit");
    assert_eq!(rows[0]["reason"], "role rep may not change party.owner");
    let find = |account: AccountId| {
        rows.iter().find(|r| r["account"] == account.to_string().as_str()).unwrap()["id"].as_str().unwrap().to_owned()
    };
    let (acme_edit, globex_edit) = (find(acme), find(globex));
    assert_eq!(app.get("/status").await.1["refused_edits"], 2);

    assert_error(&app.post("/refused/999/discard", json!({})).await, 404, "not_found");
    assert_error(&app.post("/refused/abc/retry", json!({})).await, 400, "invalid_value");
    assert_eq!(app.get("/refused").await.1.as_array().unwrap().len(), 2, "bad ids changed nothing");

    let (status, left) = app.post(&format!("/refused/{acme_edit}/discard"), json!({})).await;
    assert_eq!(status, 200, "{left}");
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(
        app.card(&acme.to_string()).await["account"]["party"]["owner"],
        "ana",
        "discarded: the server's value stays"
    );

    let (status, left) = app.post(&format!("/refused/{globex_edit}/retry"), json!({})).await;
    assert_eq!(status, 200, "{left}");
    assert_eq!(left, json!([]));
    assert_eq!(
        app.card(&globex.to_string()).await["account"]["party"]["owner"],
        "bob",
        "retried: made again, to be pushed"
    );
    let (_, status) = app.get("/status").await;
    assert_eq!((status["refused_edits"].as_u64(), status["unsent_accounts"].as_u64()), (Some(0), Some(1)));
}
