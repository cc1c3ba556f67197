//! Refused edits (ADR 0010): the device runs the server's rules at the moment
//! of the edit; an edit the server refuses anyway is set aside, and the
//! device's other edits are rebuilt on the server's state and still arrive.
//! The server half here judges pushes with the same rules as the real
//! server's access check (`rapport_core::rules`), over a `MemoryStore`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::rules::{Principal, Role, changed_fields};
use rapport_core::sync::*;
use rapport_core::*;

fn principal(user: &str, role: Role, territories: &[&str]) -> Principal {
    Principal {
        user: user.into(),
        role,
        teams: Default::default(),
        territories: territories.iter().map(|t| t.to_string()).collect(),
    }
}

/// Syncs until nothing is left; returns every document the server refused.
fn sync(r: &mut Replica, store: &mut MemoryStore, access: &PrincipalAccess) -> Vec<(String, String)> {
    let mut rejected = Vec::new();
    for _ in 0..20 {
        let (req, plan) = r.sync_request(SyncLimits::default()).unwrap();
        let (resp, _) = handle(store, access, &req).unwrap();
        let report = r.sync_apply(&plan, &resp).unwrap();
        rejected.extend(report.rejected);
        if !report.more && r.unsynced_count().unwrap() == 0 {
            return rejected;
        }
    }
    panic!("sync did not finish");
}

fn office() -> PrincipalAccess {
    PrincipalAccess(principal("office", Role::Office, &[]))
}

fn rep(user: &str) -> PrincipalAccess {
    PrincipalAccess(principal(user, Role::Rep, &["north"]))
}

#[test]
fn a_forbidden_edit_is_refused_at_once_and_changes_nothing() {
    let mut ana = Fixture::new("ana");
    let id = ana.account("Acme");
    ana.replica.edit(id, |e| e.set_field("party.owner", "ana")).unwrap();
    ana.replica.set_principal(Some(&principal("ana", Role::Rep, &["north"]))).unwrap();
    let before = ana.heads(id);
    let err = ana.replica.edit(id, |e| e.set_field("party.owner", "bob")).unwrap_err();
    match &err {
        Error::NotPermitted { field, reason } => {
            assert_eq!(field.as_deref(), Some("party.owner"));
            assert_eq!(reason, "role rep may not change party.owner");
        }
        other => panic!("expected NotPermitted, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "not permitted: role rep may not change party.owner; ask a manager or the office to make this change"
    );
    assert_eq!(ana.heads(id), before);
    assert_eq!(ana.replica.account(id).unwrap().party.owner.as_deref(), Some("ana"));
    // Permitted edits go through; the principal survives a reopen.
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    let mut ana = ana.reopen();
    assert_eq!(ana.replica.principal().map(|p| p.role), Some(Role::Rep));
    assert!(matches!(ana.replica.edit(id, |e| e.soft_delete()), Err(Error::NotPermitted { .. })));
    // Out of scope: creating an account owned by someone else outside the rep's territories.
    let mut theirs = NewAccount::new("Theirs");
    theirs.owner = Some("bob".into());
    assert!(matches!(ana.replica.create_account(&theirs), Err(Error::NotPermitted { field: None, .. })));
    // Unknown principal: no pre-check.
    ana.replica.set_principal(None).unwrap();
    ana.replica.edit(id, |e| e.set_field("party.owner", "bob")).unwrap();
}

#[test]
fn a_refused_edit_is_set_aside_and_later_edits_still_arrive() {
    let mut store = MemoryStore::new();
    let mut office_dev = Fixture::new("office");
    let mut ana = Fixture::new("ana");
    let office_access = office();
    let mut ana_access = rep("ana");

    let id = office_dev.account("Acme");
    office_dev.replica.edit(id, |e| e.set_field("party.owner", "ana")).unwrap();
    let deal = office_dev.replica.edit(id, |e| e.add_deal(&NewDeal::new("Deal", eur(100)))).unwrap();
    sync(&mut office_dev.replica, &mut store, &office_access);
    sync(&mut ana.replica, &mut store, &ana_access);
    let old_actor = ana.replica.author().actor.clone();

    // Ana's device does not know her role: the owner change is not pre-checked.
    ana.replica.edit(id, |e| e.set_field("party.owner", "bob")).unwrap();
    ana.replica
        .edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Visit")).map(|_| ()))
        .unwrap();
    ana.replica.edit(id, |e| e.set_notes("Met the buyer")).unwrap();
    ana.replica.edit(id, |e| e.move_deal_stage(deal, "proposal", None)).unwrap();

    let rejected = sync(&mut ana.replica, &mut store, &ana_access);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(ana.replica.rejected_documents().unwrap().is_empty());
    assert_ne!(ana.replica.author().actor, old_actor, "rebuilt under a fresh actor id");
    let refused = ana.replica.refused_edits().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].account, id);
    assert_eq!(refused[0].fields, vec!["party.owner".to_owned()]);
    assert_eq!(refused[0].reason, "role rep may not change party.owner");

    // The device shows everything but the refused edit, and so does the server.
    let shown = ana.replica.account(id).unwrap();
    assert_eq!(shown.party.owner.as_deref(), Some("ana"));
    assert_eq!(shown.interactions.len(), 1);
    assert_eq!(shown.party.notes, "Met the buyer");
    assert_eq!(shown.deal(deal).unwrap().stage, "proposal");
    sync(&mut office_dev.replica, &mut store, &office_access);
    assert_eq!(office_dev.replica.account(id).unwrap(), shown);

    // Later edits keep flowing, under the new actor id.
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    assert!(sync(&mut ana.replica, &mut store, &ana_access).is_empty());
    sync(&mut office_dev.replica, &mut store, &office_access);
    assert_eq!(office_dev.replica.account(id).unwrap().party.industry.as_deref(), Some("Paper"));

    // Retrying while still a rep is refused at once when the role is known.
    ana.replica.set_principal(Some(&principal("ana", Role::Rep, &["north"]))).unwrap();
    assert!(matches!(ana.replica.retry_refused(refused[0].id), Err(Error::NotPermitted { .. })));
    assert_eq!(ana.replica.refused_edits().unwrap().len(), 1);

    // Promoted to office: the retry is a new change, pushed and accepted.
    let promoted = principal("ana", Role::Office, &[]);
    ana.replica.set_principal(Some(&promoted)).unwrap();
    ana_access = PrincipalAccess(promoted);
    ana.replica.retry_refused(refused[0].id).unwrap();
    assert!(ana.replica.refused_edits().unwrap().is_empty());
    assert!(sync(&mut ana.replica, &mut store, &ana_access).is_empty());
    sync(&mut office_dev.replica, &mut store, &office_access);
    let merged = office_dev.replica.account(id).unwrap();
    assert_eq!(merged.party.owner.as_deref(), Some("bob"));
    assert_eq!(merged.party.notes, "Met the buyer");
    assert!(matches!(ana.replica.retry_refused(refused[0].id), Err(Error::NotFound { .. })));
}

#[test]
fn a_refused_edit_can_be_discarded_and_survives_a_reopen_until_then() {
    let mut store = MemoryStore::new();
    let mut office_dev = Fixture::new("office");
    let mut ana = Fixture::new("ana");
    let office_access = office();
    let ana_access = rep("ana");
    let id = office_dev.account("Acme");
    office_dev.replica.edit(id, |e| e.set_field("party.owner", "ana")).unwrap();
    sync(&mut office_dev.replica, &mut store, &office_access);
    sync(&mut ana.replica, &mut store, &ana_access);

    // Edits made before the refused one are rebuilt too.
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    ana.replica.edit(id, |e| e.set_field("party.team", "south")).unwrap();
    ana.replica.edit(id, |e| e.set_notes("Second visit")).unwrap();
    let rejected = sync(&mut ana.replica, &mut store, &ana_access);
    assert_eq!(rejected.len(), 1);
    let refused = ana.replica.refused_edits().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");

    let mut ana = ana.reopen();
    assert_eq!(ana.replica.refused_edits().unwrap(), refused);
    ana.replica.discard_refused(refused[0].id).unwrap();
    assert!(ana.replica.refused_edits().unwrap().is_empty());
    assert!(matches!(ana.replica.discard_refused(refused[0].id), Err(Error::NotFound { .. })));
    assert!(matches!("x".parse::<RefusedEditId>(), Err(Error::InvalidValue { .. })));

    sync(&mut office_dev.replica, &mut store, &office_access);
    let shown = office_dev.replica.account(id).unwrap();
    assert_eq!(shown, ana.replica.account(id).unwrap());
    assert_eq!(shown.party.industry.as_deref(), Some("Paper"));
    assert_eq!(shown.party.notes, "Second visit");
    assert_eq!(shown.party.team, None);
}

#[test]
fn records_made_by_rebuilt_edits_are_found_again_by_later_ones() {
    let mut store = MemoryStore::new();
    let mut office_dev = Fixture::new("office");
    let mut ana = Fixture::new("ana");
    let (office_access, ana_access) = (office(), rep("ana"));
    let id = office_dev.account("Acme");
    office_dev.replica.edit(id, |e| e.set_field("party.owner", "ana")).unwrap();
    sync(&mut office_dev.replica, &mut store, &office_access);
    sync(&mut ana.replica, &mut store, &ana_access);

    // A deal made before the refused edit is rebuilt under a new object id;
    // the stage move after it still finds it (by its key), as does a contact's email.
    let deal = ana.replica.edit(id, |e| e.add_deal(&NewDeal::new("Boiler", eur(500)))).unwrap();
    let maija =
        ana.replica.edit(id, |e| e.add_contact(&NewContact { name: "Maija".into(), ..Default::default() })).unwrap();
    ana.replica.edit(id, |e| e.set_field("party.territory", "south")).unwrap();
    ana.replica.edit(id, |e| e.move_deal_stage(deal, "proposal", None)).unwrap();
    ana.replica.edit(id, |e| e.add_email(maija, "maija@example.com")).unwrap();
    ana.replica.edit(id, |e| e.splice_notes(0, 0, "Boiler room visit. ")).unwrap();
    ana.replica.edit(id, |e| e.splice_notes(0, 0, "Tuesday: ")).unwrap();

    let rejected = sync(&mut ana.replica, &mut store, &ana_access);
    assert_eq!(rejected.len(), 1);
    let refused = ana.replica.refused_edits().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].fields, vec!["party.territory".to_owned()]);

    sync(&mut office_dev.replica, &mut store, &office_access);
    let shown = office_dev.replica.account(id).unwrap();
    assert_eq!(shown, ana.replica.account(id).unwrap());
    assert_eq!(shown.party.territory, None);
    assert_eq!(shown.deal(deal).unwrap().stage, "proposal");
    assert!(shown.contact(maija).unwrap().emails.contains("maija@example.com"));
    assert_eq!(shown.party.notes, "Tuesday: Boiler room visit. ");
    // The history still says who made each rebuilt edit.
    let history = office_dev.replica.history(id).unwrap();
    assert!(history.iter().filter(|h| h.user == "ana").count() >= 5, "{history:?}");
}

/// Refuses any change that touches one field, naming it as the server does.
struct RefuseField(String);

impl Access for RefuseField {
    fn may_read(&self, _: &str) -> Result<bool, AccessError> {
        Ok(true)
    }
    fn check_write(
        &self,
        doc: &str,
        _: Option<&[ChangeHash]>,
        after: &automerge::AutoCommit,
        changes: &[automerge::Change],
    ) -> Result<Verdict, AccessError> {
        let mut copy = after.clone();
        for change in changes {
            if changed_fields(&mut copy, change.deps(), &[change.hash()]).contains(&self.0) {
                return Ok(Err(format!("document {doc}: role rep may not change {}", self.0)));
            }
        }
        Ok(Ok(()))
    }
}

#[test]
fn an_edit_inside_a_record_a_refused_edit_made_is_refused_with_it() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let id = ana.account("Acme");
    let open = PrincipalAccess(principal("office", Role::Office, &[]));
    sync(&mut ana.replica, &mut store, &open);

    let maija =
        ana.replica.edit(id, |e| e.add_contact(&NewContact { name: "Maija".into(), ..Default::default() })).unwrap();
    ana.replica.edit(id, |e| e.add_email(maija, "maija@example.com")).unwrap();
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    // The device's role is unknown: which change is refused comes from the server's reason.
    let refuse = RefuseField(format!("contacts.{maija}"));
    let (req, plan) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    let (resp, _) = handle(&mut store, &refuse, &req).unwrap();
    assert_eq!(ana.replica.sync_apply(&plan, &resp).unwrap().rejected.len(), 1);

    let refused = ana.replica.refused_edits().unwrap();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].reason, format!("role rep may not change contacts.{maija}"));
    assert_eq!(refused[1].reason, "it changes something a refused edit made");
    assert!(refused[1].fields.iter().all(|f| f.starts_with(&format!("contacts.{maija}."))), "{refused:?}");
    let shown = ana.replica.account(id).unwrap();
    assert!(shown.contacts.is_empty());
    assert_eq!(shown.party.industry.as_deref(), Some("Paper"));

    // The rebuilt edit is accepted; the dependent one cannot be retried alone
    // (its contact is not there), the contact itself can once allowed.
    sync(&mut ana.replica, &mut store, &open);
    assert!(matches!(ana.replica.retry_refused(refused[1].id), Err(Error::CannotRetry { .. })));
    ana.replica.retry_refused(refused[0].id).unwrap();
    ana.replica.retry_refused(refused[1].id).unwrap();
    sync(&mut ana.replica, &mut store, &open);
    let mut office_dev = Fixture::new("office");
    sync(&mut office_dev.replica, &mut store, &open);
    let contact = office_dev.replica.account(id).unwrap().contact(maija).cloned().unwrap();
    assert!(contact.emails.contains("maija@example.com"));
}

#[test]
fn edits_the_server_took_without_the_device_knowing_are_never_applied_twice() {
    let mut store = MemoryStore::new();
    let mut office_dev = Fixture::new("office");
    let mut ana = Fixture::new("ana");
    let (office_access, ana_access) = (office(), rep("ana"));
    let id = office_dev.account("Acme");
    office_dev.replica.edit(id, |e| e.set_field("party.owner", "ana")).unwrap();
    sync(&mut office_dev.replica, &mut store, &office_access);
    sync(&mut ana.replica, &mut store, &ana_access);

    // The server stores ana's notes, but its answer is lost on the way.
    ana.replica.edit(id, |e| e.splice_notes(0, 0, "Visited. ")).unwrap();
    ana.replica
        .edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Visit")).map(|_| ()))
        .unwrap();
    let (req, _lost) = ana.replica.sync_request(SyncLimits::default()).unwrap();
    handle(&mut store, &ana_access, &req).unwrap();

    // Then a refused edit, and a permitted one after it.
    ana.replica.edit(id, |e| e.set_field("party.owner", "bob")).unwrap();
    ana.replica.edit(id, |e| e.splice_notes(0, 0, "Tuesday. ")).unwrap();
    assert_eq!(sync(&mut ana.replica, &mut store, &ana_access).len(), 1);
    assert_eq!(ana.replica.refused_edits().unwrap().len(), 1);

    sync(&mut office_dev.replica, &mut store, &office_access);
    let shown = office_dev.replica.account(id).unwrap();
    assert_eq!(shown.party.notes, "Tuesday. Visited. ", "no text applied twice");
    assert_eq!((shown.interactions.len(), shown.visit_count), (1, 1), "no visit counted twice");
    assert_eq!(shown, ana.replica.account(id).unwrap());
    assert_eq!(shown.party.owner.as_deref(), Some("ana"));
}

#[test]
fn documents_an_older_build_stopped_pushing_are_pushed_again_after_the_upgrade() {
    let mut store = MemoryStore::new();
    let mut ana = Fixture::new("ana");
    let id = ana.account("Acme");
    ana.replica.edit(id, |e| e.set_field("party.owner", "bob")).unwrap();
    let path = ana.path();
    let Fixture { dir, replica } = ana;
    drop(replica);
    // As release 0.1.0 left it: schema 3, the account refused and no longer pushed.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE refused_edits; DROP TABLE past_actors; DROP TABLE sync_log; DROP TABLE heal_announce; DROP TABLE restore_rebuild;
             DROP TABLE directory_names; DROP TABLE account_keys;
             PRAGMA user_version = 3;
             UPDATE doc_sync SET rejected = 'document x: role rep may not change party.owner';",
        )
        .unwrap();
    }
    let mut ana = Fixture { dir, replica: Replica::open(&path, &identity("ana")).unwrap() };
    assert!(ana.replica.rejected_documents().unwrap().is_empty());
    assert_eq!(ana.replica.unsynced_count().unwrap(), 1);
    // Pushed again, and judged under today's rules: refused edits set aside.
    let rules = PrincipalAccess(principal("ana", Role::Rep, &[]));
    let rejected = sync(&mut ana.replica, &mut store, &rules);
    assert_eq!(rejected.len(), 1, "the account's creation is ana's, its owner change is not");
    assert_eq!(ana.replica.refused_edits().unwrap().len(), 1);
    assert_eq!(ana.replica.account(id).unwrap().party.owner.as_deref(), Some("ana"));
}

#[test]
fn a_refused_settings_change_is_kept_until_discarded_or_sent_again() {
    let mut store = MemoryStore::new();
    let mut office_dev = Fixture::new("office");
    let mut ana = Fixture::new("ana");
    let office_access = office();
    let mut ana_access = rep("ana");
    sync(&mut office_dev.replica, &mut store, &office_access);
    sync(&mut ana.replica, &mut store, &ana_access);
    assert!(matches!(ana.replica.discard_refused_settings(), Err(Error::NotFound { .. })));
    assert!(matches!(ana.replica.retry_refused_settings(), Err(Error::NotFound { .. })));

    // Ana's device does not know her role: the settings change is made, then refused.
    ana.replica.edit_settings(|s, a| s.add_reason(a, ReasonCatalogue::LostReasons, "Too far")).unwrap();
    let rejected = sync(&mut ana.replica, &mut store, &ana_access);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let reason = ana.replica.refused_settings().unwrap();
    assert_eq!(reason.as_deref(), Some("document settings: role rep may not change the settings"));
    assert!(ana.replica.settings().lost_reasons.contains(&"Too far".to_owned()), "kept on the device");

    // The office changes the settings meanwhile; Ana still receives that.
    office_dev.replica.edit_settings(|s, a| s.add_reason(a, ReasonCatalogue::LostReasons, "Merged")).unwrap();
    sync(&mut office_dev.replica, &mut store, &office_access);
    sync(&mut ana.replica, &mut store, &ana_access);
    assert!(ana.replica.settings().lost_reasons.contains(&"Merged".to_owned()));
    assert!(ana.replica.refused_settings().unwrap().is_some(), "still refused, still kept");

    // Sending it again as a rep is refused at once when the role is known; so is a new settings edit.
    ana.replica.set_principal(Some(&principal("ana", Role::Rep, &["north"]))).unwrap();
    let err = ana.replica.retry_refused_settings().unwrap_err();
    assert_eq!(
        err.to_string(),
        "not permitted: role rep may not change the settings: the pipeline stages and reason catalogues are changed by \
         administrators, managers and the office; ask a manager or the office to make this change"
    );
    assert!(matches!(
        ana.replica.edit_settings(|s, a| s.add_reason(a, ReasonCatalogue::LostReasons, "Price")),
        Err(Error::NotPermitted { .. })
    ));
    assert!(ana.replica.refused_settings().unwrap().is_some());

    // Discarded: the settings are the server's, survive a reopen, and nothing is left to send.
    let mut ana = ana.reopen();
    ana.replica.discard_refused_settings().unwrap();
    assert_eq!(ana.replica.refused_settings().unwrap(), None);
    assert_eq!(ana.replica.unsynced_count().unwrap(), 0);
    assert_eq!(ana.replica.settings(), office_dev.replica.settings());
    let mut ana = ana.reopen();
    assert_eq!(ana.replica.settings(), office_dev.replica.settings());
    assert!(sync(&mut ana.replica, &mut store, &ana_access).is_empty());

    // Refused again, then Ana is made office staff: sent again and accepted.
    ana.replica.set_principal(None).unwrap();
    ana.replica.edit_settings(|s, a| s.add_reason(a, ReasonCatalogue::EndReasons, "Closed down")).unwrap();
    assert_eq!(sync(&mut ana.replica, &mut store, &ana_access).len(), 1);
    let promoted = principal("ana", Role::Office, &[]);
    ana.replica.set_principal(Some(&promoted)).unwrap();
    ana_access = PrincipalAccess(promoted);
    ana.replica.retry_refused_settings().unwrap();
    assert!(sync(&mut ana.replica, &mut store, &ana_access).is_empty());
    assert_eq!(ana.replica.refused_settings().unwrap(), None);
    sync(&mut office_dev.replica, &mut store, &office_access);
    assert!(office_dev.replica.settings().end_reasons.contains(&"Closed down".to_owned()));
    assert_eq!(ana.replica.settings(), office_dev.replica.settings());
}
