//! An account moves from rep A to rep B while A has unsynced edits to it:
//! A's edits reach the server (they were made while A owned it), then the
//! account leaves A's replica and arrives whole on B's.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rapport_core::NewAccount;

#[tokio::test]
async fn a_reassigned_account_keeps_the_old_owners_edits_and_moves_devices() {
    let (_dir, server) = TestServer::start().await;
    let ana_token = add_user(&server, "ana", "rep", &[], &["north"]).await;
    let ben_token = add_user(&server, "ben", "rep", &[], &["south"]).await;
    let olga_token = add_user(&server, "olga", "office", &[], &[]).await;
    let (mut ana, mut ben, mut olga) = (Device::new("ana"), Device::new("ben"), Device::new("olga"));

    let mut new = NewAccount::new("Moving Oy");
    new.owner = Some("ana".into());
    new.territory = Some("east".into());
    let moving = olga.replica.create_account(&new).unwrap();
    let stays = olga
        .replica
        .create_account(&{
            let mut n = NewAccount::new("Staying Oy");
            n.owner = Some("ana".into());
            n
        })
        .unwrap();
    sync_as(&server, &olga_token, &mut olga.replica).await;
    sync_as(&server, &ana_token, &mut ana.replica).await;
    sync_as(&server, &ben_token, &mut ben.replica).await;
    assert_eq!(ana.replica.account_ids().unwrap().len(), 2);
    assert!(ben.replica.account_ids().unwrap().is_empty(), "ben sees nothing of ana's");

    // Ana edits offline; meanwhile the office reassigns the account to ben.
    ana.replica.edit(moving, |e| e.set_field("party.industry", "Paper")).unwrap();
    ana.replica.edit(moving, |e| e.set_notes("Visited on Tuesday")).unwrap();
    olga.replica.edit(moving, |e| e.set_field("party.owner", "ben")).unwrap();
    sync_as(&server, &olga_token, &mut olga.replica).await;

    // Ana's edits were made while she owned it: accepted; then it leaves her replica.
    let synced = sync_as(&server, &ana_token, &mut ana.replica).await;
    assert!(synced.rejected.is_empty(), "{:?}", synced.rejected);
    assert_eq!(synced.removed, vec![moving.to_string()]);
    assert_eq!(ana.replica.account_ids().unwrap(), vec![stays]);
    assert_eq!(ana.replica.unsynced_count().unwrap(), 0);

    // It arrives whole on ben's replica, with ana's edits.
    let synced = sync_as(&server, &ben_token, &mut ben.replica).await;
    assert_eq!(synced.pulled, 1);
    let account = ben.replica.account(moving).unwrap();
    assert_eq!(account.party.owner.as_deref(), Some("ben"));
    assert_eq!(account.party.industry.as_deref(), Some("Paper"));
    sync_as(&server, &olga_token, &mut olga.replica).await;
    assert_eq!(olga.replica.account(moving).unwrap(), account);

    // Ben edits it as its owner now; ana's copy obtained elsewhere is refused:
    // her new change is based on a state in which ben owns the account.
    ben.replica.edit(moving, |e| e.set_field("party.source", "referral")).unwrap();
    assert!(sync_as(&server, &ben_token, &mut ben.replica).await.rejected.is_empty());
    ana.replica.import_document(&olga.replica.export_document(moving).unwrap()).unwrap();
    ana.replica.edit(moving, |e| e.set_field("party.industry", "Steel")).unwrap();
    // Her device learns her rules (as a client sync would) only after the edit,
    // so the server is the one to refuse it.
    let rules = rapport_core::rules::Principal {
        user: "ana".into(),
        role: rapport_core::rules::Role::Rep,
        teams: Default::default(),
        territories: ["north".to_owned()].into(),
    };
    ana.replica.set_principal(Some(&rules)).unwrap();
    let synced = sync_as(&server, &ana_token, &mut ana.replica).await;
    assert_eq!(synced.rejected.len(), 1);
    assert!(synced.rejected[0].1.contains("not in this user's scope"), "{:?}", synced.rejected);
    assert_eq!(synced.kept_unsynced, Vec::<String>::new());
    // The refused edit is set aside (ADR 0010), not lost: listed, with its reason.
    let refused = ana.replica.refused_edits().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].fields, vec!["party.industry".to_owned()]);
    assert_eq!(refused[0].reason, "the account is not in this user's scope");
    assert!(ana.replica.rejected_documents().unwrap().is_empty());
    sync_as(&server, &ben_token, &mut ben.replica).await;
    assert_eq!(ben.replica.account(moving).unwrap().party.industry.as_deref(), Some("Paper"));

    // Moving it back: it arrives whole again on ana's replica (merging with her kept copy).
    olga.replica.edit(moving, |e| e.set_field("party.owner", "ana")).unwrap();
    sync_as(&server, &olga_token, &mut olga.replica).await;
    let synced = sync_as(&server, &ben_token, &mut ben.replica).await;
    assert_eq!(synced.removed, vec![moving.to_string()]);
    sync_as(&server, &ana_token, &mut ana.replica).await;
    assert_eq!(ana.replica.account(moving).unwrap().party.owner.as_deref(), Some("ana"));
    server.stop().await;
}
