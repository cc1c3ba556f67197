//! The permission matrix against a real server: every role × action × scope
//! is allowed or refused exactly as `docs/adr/0004-access.md` says, nothing
//! outside a user's scope is served, and nothing refused is stored.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashSet};

use common::*;
use rapport_core::{AccountId, NewAccount};

const ROLES: [&str; 4] = ["admin", "office", "manager", "rep"];
const ACTIONS: [&str; 6] = ["read", "create", "edit field", "reassign", "delete", "resolve conflict"];
const SCOPES: [&str; 4] = ["own", "team", "territory", "other"];

const Y: bool = true;
const N: bool = false;

/// The ADR's table: per role, per action (rows as in `ACTIONS`), per scope
/// (columns as in `SCOPES`), whether it is allowed.
const EXPECTED: [(&str, [[bool; 4]; 6]); 4] = [
    ("admin", [[Y, Y, Y, Y]; 6]),
    ("office", [[Y, Y, Y, Y]; 6]),
    ("manager", [[Y, Y, N, N]; 6]),
    ("rep", [[Y, N, Y, N], [Y, N, Y, N], [Y, N, Y, N], [N, N, N, N], [N, N, N, N], [Y, N, Y, N]]),
];

/// Every subject is in team `north` and covers territory `helsinki`, so
/// the roles differ only by what those memberships grant.
fn user_of(role: &str) -> &'static str {
    match role {
        "admin" => "ada",
        "office" => "olga",
        "manager" => "mia",
        _ => "ray",
    }
}

/// `(owner, team, territory)` of an account in `scope` relative to `user`.
fn placement(scope: &str, user: &str) -> (String, &'static str, &'static str) {
    match scope {
        "own" => (user.to_owned(), "south", "oulu"),
        "team" => ("zed".into(), "north", "oulu"),
        "territory" => ("zed".into(), "south", "helsinki"),
        _ => ("zed".into(), "south", "oulu"),
    }
}

fn new_account(name: &str, (owner, team, territory): (String, &str, &str)) -> NewAccount {
    let mut new = NewAccount::new(name);
    new.owner = Some(owner);
    new.team = Some(team.to_owned());
    new.territory = Some(territory.to_owned());
    new
}

fn expected(role: &str, action: &str, scope: &str) -> bool {
    let a = ACTIONS.iter().position(|x| *x == action).unwrap();
    let s = SCOPES.iter().position(|x| *x == scope).unwrap();
    EXPECTED.iter().find(|(r, _)| *r == role).unwrap().1[a][s]
}

/// Which of `SCOPES` an account with this placement is in for `user`.
fn classify(user: &str, (owner, team, territory): &(String, &str, &str)) -> &'static str {
    if owner == user {
        "own"
    } else if *team == "north" {
        "team"
    } else if *territory == "helsinki" {
        "territory"
    } else {
        "other"
    }
}

#[tokio::test]
async fn every_role_action_and_scope_is_allowed_or_refused_as_documented() {
    let (_dir, server) = TestServer::start().await;
    add_team(&server, "north").await;
    add_team(&server, "south").await;
    let mut tokens = BTreeMap::new();
    for role in ROLES {
        tokens.insert(role, add_user(&server, user_of(role), role, &["north"], &["helsinki"]).await);
    }

    // The seeder (the built-in admin) creates, per role and scope, one account per write action.
    let mut seeder = Device::new("seeder");
    let mut placements: BTreeMap<AccountId, (String, &str, &str)> = BTreeMap::new();
    let mut targets: BTreeMap<(&str, &str, &str), AccountId> = BTreeMap::new();
    for role in ROLES {
        for scope in SCOPES {
            for action in ["read", "edit field", "reassign", "delete", "resolve conflict"] {
                let place = placement(scope, user_of(role));
                let id = seeder
                    .replica
                    .create_account(&new_account(&format!("{role} {scope} {action}"), place.clone()))
                    .unwrap();
                placements.insert(id, place);
                targets.insert((role, action, scope), id);
            }
        }
    }
    sync(&server, &mut seeder.replica).await;
    let before: BTreeMap<AccountId, Vec<u8>> =
        placements.keys().map(|id| (*id, seeder.replica.export_document(*id).unwrap())).collect();

    let mut served_outside = 0usize;
    let mut mismatches = Vec::new();
    let mut created: BTreeMap<(&str, &str), AccountId> = BTreeMap::new();
    for role in ROLES {
        let user = user_of(role);
        let token = &tokens[role];
        let mut device = Device::new(user);

        // Read: exactly the accounts in scope arrive.
        sync_as(&server, token, &mut device.replica).await;
        let held: HashSet<AccountId> = device.replica.account_ids().unwrap().into_iter().collect();
        for id in &held {
            let scope = classify(user, &placements[id]);
            if !expected(role, "read", scope) {
                served_outside += 1;
            }
        }
        for scope in SCOPES {
            let got = held.contains(&targets[&(role, "read", scope)]);
            if got != expected(role, "read", scope) {
                mismatches.push(format!("{role} read {scope}: got {got}"));
            }
        }

        // Writes: the device gets a copy of each target (as a device that
        // held it before, or that obtained it elsewhere) and acts on it.
        let mut acted: BTreeMap<AccountId, (&str, &str)> = BTreeMap::new();
        for scope in SCOPES {
            let id = device
                .replica
                .create_account(&new_account(&format!("new {role} {scope}"), placement(scope, user)))
                .unwrap();
            placements.insert(id, placement(scope, user));
            created.insert((role, scope), id);
            acted.insert(id, ("create", scope));
            for action in ["edit field", "reassign", "delete", "resolve conflict"] {
                let id = targets[&(role, action, scope)];
                device.replica.import_document(&before[&id]).unwrap();
                match action {
                    "edit field" => device.replica.edit(id, |e| e.set_field("party.industry", "Edited")).unwrap(),
                    "reassign" => device.replica.edit(id, |e| e.set_field("party.owner", "yves")).unwrap(),
                    "delete" => device.replica.edit(id, |e| e.soft_delete()).unwrap(),
                    _ => device.replica.edit(id, |e| e.set_field("party.industry", "Mine")).unwrap(),
                }
                acted.insert(id, (action, scope));
            }
        }
        // Resolving: the seeder writes the same field concurrently, the device
        // receives it (a conflict), and resolves it by writing its choice.
        for scope in SCOPES {
            let id = targets[&(role, "resolve conflict", scope)];
            seeder.replica.edit(id, |e| e.set_field("party.industry", "Theirs")).unwrap();
        }
        sync(&server, &mut seeder.replica).await;
        for scope in SCOPES {
            let id = targets[&(role, "resolve conflict", scope)];
            device.replica.import_document(&seeder.replica.export_document(id).unwrap()).unwrap();
            assert!(!device.replica.conflicts(id).unwrap().is_empty(), "a conflict to resolve");
            device.replica.edit(id, |e| e.set_field("party.industry", "Resolved")).unwrap();
        }
        let synced = sync_as(&server, token, &mut device.replica).await;
        let rejected: BTreeMap<String, String> = synced.rejected.into_iter().collect();
        for (id, (action, scope)) in &acted {
            let refused = rejected.get(&id.to_string());
            if let Some(reason) = refused {
                assert!(reason.contains(&id.to_string()), "the reason names the document: {reason}");
            }
            if refused.is_none() != expected(role, action, scope) {
                mismatches.push(format!("{role} {action} {scope}: refused {refused:?}"));
            }
        }
        // Refused edits stay on the device: set aside (ADR 0010), or, where the
        // account's creation itself was refused, the account is marked rejected.
        let expected_refusals = acted.values().filter(|(a, s)| !expected(role, a, s)).count();
        let aside: HashSet<AccountId> =
            device.replica.refused_edits().unwrap().into_iter().map(|e| e.account).collect();
        let rejected_docs = device.replica.rejected_documents().unwrap().len();
        assert_eq!(rejected_docs + aside.len(), expected_refusals, "{role}");
        assert_eq!(device.replica.unsynced_count().unwrap(), 0, "{role}: nothing else is held back");
    }

    // What the server stored, as an admin replica sees it.
    let mut auditor = Device::new("auditor");
    sync(&server, &mut auditor.replica).await;
    let mut unauthorized_stored = 0usize;
    for role in ROLES {
        for scope in SCOPES {
            let present = |id: AccountId| auditor.replica.account(id).ok();
            let effects = [
                ("create", present(created[&(role, scope)]).is_some()),
                (
                    "edit field",
                    present(targets[&(role, "edit field", scope)]).unwrap().party.industry.as_deref() == Some("Edited"),
                ),
                (
                    "reassign",
                    present(targets[&(role, "reassign", scope)]).unwrap().party.owner.as_deref() == Some("yves"),
                ),
                ("delete", present(targets[&(role, "delete", scope)]).unwrap().deleted.is_some()),
                (
                    "resolve conflict",
                    present(targets[&(role, "resolve conflict", scope)]).unwrap().party.industry.as_deref()
                        == Some("Resolved"),
                ),
            ];
            for (action, stored) in effects {
                let allowed = expected(role, action, scope);
                if stored && !allowed {
                    unauthorized_stored += 1;
                }
                if stored != allowed {
                    mismatches.push(format!("{role} {action} {scope}: stored {stored}"));
                }
            }
        }
    }
    println!("permission matrix: {} roles x {} actions x {} scopes", ROLES.len(), ACTIONS.len(), SCOPES.len());
    println!("documents served outside scope: {served_outside}");
    println!("unauthorized changes stored: {unauthorized_stored}");
    assert!(mismatches.is_empty(), "cells that differ from the ADR table:\n{}", mismatches.join("\n"));
    assert_eq!(served_outside, 0);
    assert_eq!(unauthorized_stored, 0);
    server.stop().await;
}
