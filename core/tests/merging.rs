//! Replicas edited on different devices: merge rules, conflicts, resolution,
//! duplicate-account merge, history and document exchange.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::*;

/// Two replicas holding the same account.
fn pair() -> (Fixture, Fixture, AccountId) {
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    let id = ana.account("Acme");
    ana.send(id, &mut bob);
    (ana, bob, id)
}

fn sync(a: &mut Fixture, b: &mut Fixture, id: AccountId) {
    a.send(id, b);
    b.send(id, a);
    assert_eq!(a.heads(id), b.heads(id));
}

#[test]
fn different_fields_both_kept() {
    let (mut ana, mut bob, id) = pair();
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    bob.replica.edit(id, |e| e.set_field("address.city", "Oulu")).unwrap();
    sync(&mut ana, &mut bob, id);
    for fx in [&ana, &bob] {
        let a = fx.replica.account(id).unwrap();
        assert_eq!(a.party.industry.as_deref(), Some("Paper"));
        assert_eq!(a.party.address.city.as_deref(), Some("Oulu"));
        assert!(fx.replica.conflicts(id).unwrap().is_empty());
    }
    assert_eq!(ana.replica.account(id).unwrap(), bob.replica.account(id).unwrap());
}

#[test]
fn same_field_is_a_conflict_with_every_value_and_resolving_clears_it_everywhere() {
    let (mut ana, mut bob, id) = pair();
    ana.replica.edit(id, |e| e.set_field("party.owner", "ana")).unwrap();
    bob.replica.edit(id, |e| e.set_field("party.owner", "bob")).unwrap();
    sync(&mut ana, &mut bob, id);
    let winner = ana.replica.account(id).unwrap().party.owner;
    assert_eq!(winner, bob.replica.account(id).unwrap().party.owner, "deterministic winner");
    for fx in [&ana, &bob] {
        let conflicts = fx.replica.conflicts(id).unwrap();
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!(c.field, "party.owner");
        let mut values: Vec<(&str, &str, &str)> =
            c.values.iter().map(|v| (v.value.as_str(), v.user.as_str(), v.device.as_str())).collect();
        values.sort();
        assert_eq!(values, vec![("ana", "ana", "ana-device"), ("bob", "bob", "bob-device")]);
        assert_eq!(c.values.iter().filter(|v| v.winner).count(), 1);
        assert!(c.values.iter().all(|v| v.at.year() >= 2026 && !v.actor.is_empty()));
        assert_eq!(fx.replica.summary(id).unwrap().conflicts, 1, "index counts conflicts");
        assert_eq!(fx.replica.all_conflicts().unwrap().len(), 1);
    }
    // Bob resolves; the resolution syncs and clears the conflict on both.
    bob.replica.edit(id, |e| e.set_field("party.owner", "ana")).unwrap();
    sync(&mut ana, &mut bob, id);
    for fx in [&ana, &bob] {
        assert!(fx.replica.conflicts(id).unwrap().is_empty());
        assert_eq!(fx.replica.account(id).unwrap().party.owner.as_deref(), Some("ana"));
        assert_eq!(fx.replica.summary(id).unwrap().conflicts, 0);
    }
}

#[test]
fn concurrent_edits_inside_one_deal_merge_field_by_field() {
    let (mut ana, mut bob, id) = pair();
    let d = ana.replica.edit(id, |e| e.add_deal(&NewDeal::new("Deal", eur(100)))).unwrap();
    sync(&mut ana, &mut bob, id);
    ana.replica.edit(id, |e| e.set_field(&format!("deals.{d}.amount"), "250")).unwrap();
    bob.replica.edit(id, |e| e.set_field(&format!("deals.{d}.next_step"), "Call back")).unwrap();
    bob.replica.edit(id, |e| e.set_field(&format!("deals.{d}.title"), "Bob's title")).unwrap();
    ana.replica.edit(id, |e| e.set_field(&format!("deals.{d}.title"), "Ana's title")).unwrap();
    sync(&mut ana, &mut bob, id);
    let deal = ana.replica.account(id).unwrap().deal(d).unwrap().clone();
    assert_eq!(deal.amount.minor, 250);
    assert_eq!(deal.next_step.as_deref(), Some("Call back"));
    let conflicts = ana.replica.conflicts(id).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, format!("deals.{d}.title"));
}

#[test]
fn notes_merge_character_by_character() {
    let (mut ana, mut bob, id) = pair();
    ana.replica.edit(id, |e| e.set_notes("Customer wants delivery.")).unwrap();
    sync(&mut ana, &mut bob, id);
    ana.replica.edit(id, |e| e.splice_notes(9, 0, "really ")).unwrap();
    bob.replica.edit(id, |e| e.set_notes("Customer wants delivery in May.")).unwrap();
    sync(&mut ana, &mut bob, id);
    assert_eq!(ana.replica.account(id).unwrap().party.notes, "Customer really wants delivery in May.");
    assert!(ana.replica.conflicts(id).unwrap().is_empty());
}

#[test]
fn sets_are_add_wins_and_logs_union_and_counters_sum() {
    let (mut ana, mut bob, id) = pair();
    ana.replica.edit(id, |e| e.add_tag("paper")).unwrap();
    sync(&mut ana, &mut bob, id);
    // Ana removes the tag she saw while Bob re-adds it concurrently: the add wins.
    ana.replica.edit(id, |e| e.remove_tag("paper")).unwrap();
    bob.replica.edit(id, |e| e.add_tag("paper")).unwrap();
    bob.replica.edit(id, |e| e.add_tag("pulp")).unwrap();
    ana.replica.edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Ana's visit"))).unwrap();
    bob.replica.edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Bob's visit"))).unwrap();
    bob.replica.edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Call, "Bob's call"))).unwrap();
    ana.replica.edit(id, |e| e.move_ladder(LoyaltyRung::Customer, None)).unwrap();
    bob.replica.edit(id, |e| e.move_lifecycle(LifecyclePhase::Early, None)).unwrap();
    sync(&mut ana, &mut bob, id);
    let a = ana.replica.account(id).unwrap();
    assert_eq!(a.party.tags, ["paper".to_string(), "pulp".to_string()].into());
    assert_eq!(a.interactions.len(), 3);
    assert_eq!(a.visit_count, 2);
    assert_eq!(a.ladder_history.len(), 1);
    assert_eq!(a.lifecycle_history.len(), 1);
    assert_eq!(a, bob.replica.account(id).unwrap());
}

#[test]
fn soft_delete_is_not_undone_by_a_device_that_was_offline() {
    let (mut ana, mut bob, id) = pair();
    // Bob is offline for months editing; Ana deletes.
    ana.replica.edit(id, |e| e.soft_delete()).unwrap();
    for i in 0..5 {
        bob.replica.edit(id, |e| e.set_field("party.source", &format!("edit {i}"))).unwrap();
    }
    sync(&mut ana, &mut bob, id);
    for fx in [&ana, &bob] {
        let a = fx.replica.account(id).unwrap();
        assert!(a.deleted.is_some(), "not resurrected");
        assert_eq!(a.party.source.as_deref(), Some("edit 4"), "and Bob's edits are not lost");
    }
}

#[test]
fn duplicate_accounts_merge_into_one_on_every_replica() {
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    // Two reps create the same customer offline.
    let a = ana.account("Acme Oy");
    let b = bob.account("ACME");
    ana.replica.edit(a, |e| e.add_tag("paper")).unwrap();
    let contact =
        bob.replica.edit(b, |e| e.add_contact(&NewContact { name: "Mia".into(), ..Default::default() })).unwrap();
    let deal = bob.replica.edit(b, |e| e.add_deal(&NewDeal::new("Boiler", eur(5000)))).unwrap();
    bob.replica.edit(b, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Visit, "Visit"))).unwrap();
    bob.replica.edit(b, |e| e.set_field("party.industry", "Paper")).unwrap();
    bob.replica.edit(b, |e| e.set_notes("Bob's notes")).unwrap();
    bob.send(b, &mut ana);

    ana.replica.merge_accounts(a, b).unwrap();
    let survivor = ana.replica.account(a).unwrap();
    assert_eq!(survivor.party.name, "Acme Oy");
    assert!(survivor.contact(contact).is_some());
    assert!(survivor.deal(deal).is_some());
    assert_eq!(survivor.interactions.len(), 1);
    assert_eq!(survivor.visit_count, 1);
    assert_eq!(survivor.party.industry.as_deref(), Some("Paper"));
    assert!(survivor.party.notes.contains("Bob's notes"));
    assert!(survivor.merged_from.contains(&b));
    assert_eq!(ana.replica.account(b).unwrap().merged_into, Some(a));
    let listed: Vec<_> = ana.replica.list(&AccountFilter::default()).unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![a], "the duplicate is a redirect, not a listed account");
    // Merging again changes nothing.
    let heads = ana.heads(a);
    ana.replica.merge_accounts(a, b).unwrap();
    assert_eq!(ana.replica.account(a).unwrap().contacts.len(), 1);
    assert_eq!(ana.replica.account(a).unwrap().visit_count, 1);
    assert_ne!(heads, Vec::new());

    // Bob receives both documents and sees the same merge.
    ana.send(a, &mut bob);
    ana.send(b, &mut bob);
    assert_eq!(bob.replica.account(b).unwrap().merged_into, Some(a));
    assert_eq!(bob.replica.account(a).unwrap(), ana.replica.account(a).unwrap());
    assert!(matches!(bob.replica.edit(b, |e| e.set_field("name", "x")), Err(Error::AccountMerged { .. })));
    assert!(matches!(ana.replica.merge_accounts(a, a), Err(Error::InvalidMerge(_))));
    let c = ana.account("Third");
    assert!(matches!(ana.replica.merge_accounts(c, b), Err(Error::InvalidMerge(_))));
    assert!(matches!(ana.replica.merge_accounts(b, c), Err(Error::AccountMerged { .. })));
}

#[test]
fn history_lists_who_changed_what_and_old_versions_can_be_read() {
    let (mut ana, mut bob, id) = pair();
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    let after_industry = ana.heads(id);
    bob.replica.edit(id, |e| e.set_field("address.city", "Oulu")).unwrap();
    sync(&mut ana, &mut bob, id);
    ana.replica.edit(id, |e| e.set_field("party.industry", "Pulp")).unwrap();

    let history = ana.replica.history(id).unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history[0].op, "account.create");
    let summary: Vec<(&str, &str, Vec<&str>)> = history[1..]
        .iter()
        .map(|h| (h.user.as_str(), h.device.as_str(), h.fields.iter().map(String::as_str).collect()))
        .collect();
    assert!(summary.contains(&("ana", "ana-device", vec!["party.industry"])));
    assert!(summary.contains(&("bob", "bob-device", vec!["party.address.city"])));
    let old = ana.replica.account_at(id, &after_industry).unwrap();
    assert_eq!(old.party.industry.as_deref(), Some("Paper"));
    assert_eq!(old.party.address.city, None);
    let first = history[0].change_hash().unwrap();
    assert_eq!(ana.replica.account_at(id, &[first]).unwrap().party.industry, None);
    let bogus: ChangeHash = "00".repeat(32).parse().unwrap();
    assert_not_found(ana.replica.account_at(id, &[bogus]), RecordKind::Account);
}

#[test]
fn document_bytes_round_trip_and_bad_bytes_change_nothing() {
    let (mut ana, _bob, id) = pair();
    ana.replica.edit(id, |e| e.set_field("party.industry", "Paper")).unwrap();
    let bytes = ana.replica.export_document(id).unwrap();
    // Any Automerge implementation can load it.
    let raw = automerge::AutoCommit::load(&bytes).unwrap();
    assert!(!raw.get_heads_cloned().is_empty());

    let mut other = Fixture::new("carol");
    let before = other.replica.account_ids().unwrap();
    let truncated = &bytes[..bytes.len() / 2];
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let foreign = {
        use automerge::transaction::Transactable;
        let mut d = automerge::AutoCommit::new();
        d.put(automerge::ROOT, "hello", "world").unwrap();
        d.save()
    };
    for bad in [&b""[..], b"garbage bytes", truncated, &flipped, &foreign] {
        assert!(
            matches!(other.replica.import_document(bad), Err(Error::InvalidDocument(_))),
            "bad bytes must be refused"
        );
    }
    assert_eq!(other.replica.account_ids().unwrap(), before, "nothing stored");
    other.replica.import_document(&bytes).unwrap();
    assert_eq!(other.replica.account(id).unwrap(), ana.replica.account(id).unwrap());
}

trait HeadsCloned {
    fn get_heads_cloned(self) -> Vec<ChangeHash>;
}
impl HeadsCloned for automerge::AutoCommit {
    fn get_heads_cloned(mut self) -> Vec<ChangeHash> {
        self.get_heads()
    }
}

#[test]
fn settings_merge_across_replicas_from_a_shared_genesis() {
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    ana.replica
        .edit_settings(|s, author| {
            s.put_stage(
                author,
                &Stage {
                    id: "demo".into(),
                    name: "Demo".into(),
                    probability: 30,
                    kind: StageKind::Open,
                    order: 3,
                    stale_after_days: 14,
                },
            )
        })
        .unwrap();
    bob.replica.edit_settings(|s, author| s.add_reason(author, ReasonCatalogue::LostReasons, "relocation")).unwrap();
    let a_bytes = ana.replica.export_settings().unwrap();
    let b_bytes = bob.replica.export_settings().unwrap();
    ana.replica.import_document(&b_bytes).unwrap();
    bob.replica.import_document(&a_bytes).unwrap();
    assert_eq!(ana.replica.settings(), bob.replica.settings());
    assert!(ana.replica.settings().stage("demo").is_ok());
    assert!(ana.replica.settings().lost_reasons.contains(&"relocation".to_string()));
    assert_eq!(ana.replica.settings().stages.len(), 7);
    // The new stage is usable for deals.
    let id = ana.account("Acme");
    let d = ana.replica.edit(id, |e| e.add_deal(&NewDeal::new("Deal", eur(1)))).unwrap();
    ana.replica.edit(id, |e| e.move_deal_stage(d, "demo", None)).unwrap();
    assert_eq!(ana.replica.account(id).unwrap().deal(d).unwrap().probability, 30);
    let bad = Stage {
        id: "".into(),
        name: "x".into(),
        probability: 10,
        kind: StageKind::Open,
        order: 1,
        stale_after_days: 1,
    };
    assert!(ana.replica.edit_settings(|s, author| s.put_stage(author, &bad)).is_err());
    let bad = Stage {
        id: "x".into(),
        name: "x".into(),
        probability: 101,
        kind: StageKind::Open,
        order: 1,
        stale_after_days: 1,
    };
    assert!(ana.replica.edit_settings(|s, author| s.put_stage(author, &bad)).is_err());
}

/// Reading an account in place (the server's cached documents) gives what
/// taking the document over gives, and leaves the document as it was.
#[test]
fn an_account_read_in_place_is_the_same_and_the_document_is_untouched() {
    let author = Author::new("ana", "ana-device", automerge::ActorId::from(&[7u8; 16][..]));
    let mut account = AccountDoc::create(&author, &NewAccount::new("Acme")).unwrap();
    account.edit(&author, &Settings::default()).set_field("party.industry", "Paper").unwrap();
    let bytes = account.save();
    let expected = account.read();

    let mut am = automerge::AutoCommit::load(&bytes).unwrap();
    let heads = am.get_heads();
    let (read, conflicts) = AccountDoc::with_borrowed(&mut am, |a| (a.read(), a.conflicts())).unwrap();
    assert_eq!(read, expected);
    assert!(conflicts.is_empty());
    assert_eq!(am.get_heads(), heads);
    assert_eq!(am.save(), bytes);

    let mut other = automerge::AutoCommit::new();
    assert!(matches!(AccountDoc::with_borrowed(&mut other, |a| a.read()), Err(Error::InvalidDocument(_))));
}

#[test]
fn a_reason_taken_out_of_a_catalogue_merges_with_a_concurrent_new_reason() {
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    let lost = |f: &Fixture| f.replica.settings().lost_reasons.clone();
    let reason = lost(&ana)[0].clone();
    let exchange = |ana: &mut Fixture, bob: &mut Fixture| {
        let a_bytes = ana.replica.export_settings().unwrap();
        let b_bytes = bob.replica.export_settings().unwrap();
        ana.replica.import_document(&b_bytes).unwrap();
        bob.replica.import_document(&a_bytes).unwrap();
    };
    // Ana takes a reason out; Bob, not knowing, adds a new one: both hold.
    ana.replica.edit_settings(|s, author| s.remove_reason(author, ReasonCatalogue::LostReasons, &reason)).unwrap();
    bob.replica.edit_settings(|s, author| s.add_reason(author, ReasonCatalogue::LostReasons, "relocation")).unwrap();
    exchange(&mut ana, &mut bob);
    assert_eq!(ana.replica.settings(), bob.replica.settings());
    assert!(!lost(&ana).contains(&reason));
    assert!(lost(&ana).contains(&"relocation".to_string()));
    // A reason the catalogue does not hold is refused, and nothing changes.
    let before = ana.replica.export_settings().unwrap();
    let refused =
        ana.replica.edit_settings(|s, author| s.remove_reason(author, ReasonCatalogue::LostReasons, "nonsense"));
    assert!(matches!(refused, Err(Error::NotFound { kind: RecordKind::Reason, .. })), "{refused:?}");
    assert_eq!(ana.replica.export_settings().unwrap(), before);
}
