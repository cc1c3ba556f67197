//! Notes as collaborative text: edits made from the text a person saw are
//! merged character by character with what other devices typed meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::*;

fn pair(notes: &str) -> (Fixture, Fixture, AccountId) {
    let mut ana = Fixture::new("ana");
    let mut bob = Fixture::new("bob");
    let id = ana.account("Acme");
    ana.replica.edit(id, |e| e.set_notes(notes)).unwrap();
    ana.send(id, &mut bob);
    (ana, bob, id)
}

fn sync(a: &mut Fixture, b: &mut Fixture, id: AccountId) {
    a.send(id, b);
    b.send(id, a);
    assert_eq!(a.heads(id), b.heads(id));
}

fn notes(fx: &Fixture, id: AccountId) -> String {
    fx.replica.account(id).unwrap().party.notes
}

#[test]
fn concurrent_edits_on_two_devices_both_stay() {
    let (mut ana, mut bob, id) = pair("Met the buyer. Call back in May.");
    let seen = ana.replica.heads(id).unwrap();
    ana.replica.edit(id, |e| e.edit_notes(&seen, "Met the new buyer. Call back in May.")).unwrap();
    let seen_bob = bob.replica.heads(id).unwrap();
    bob.replica.edit(id, |e| e.edit_notes(&seen_bob, "Met the buyer. Call back in June.")).unwrap();
    sync(&mut ana, &mut bob, id);
    assert_eq!(notes(&ana, id), "Met the new buyer. Call back in June.");
    assert_eq!(notes(&bob, id), notes(&ana, id));
}

#[test]
fn an_edit_from_an_older_view_keeps_what_arrived_since() {
    // Ana's page shows the notes; Bob's typing arrives before she saves.
    let (mut ana, mut bob, id) = pair("Прайс надіслано.");
    let page = ana.replica.heads(id).unwrap();
    let bob_seen = bob.replica.heads(id).unwrap();
    bob.replica.edit(id, |e| e.edit_notes(&bob_seen, "Прайс надіслано. Чекаємо відповіді.")).unwrap();
    bob.send(id, &mut ana);
    assert_eq!(notes(&ana, id), "Прайс надіслано. Чекаємо відповіді.");
    // Her save is made from the text her page showed, not today's: Bob's sentence stays.
    ana.replica.edit(id, |e| e.edit_notes(&page, "Новий прайс надіслано.")).unwrap();
    assert_eq!(notes(&ana, id), "Новий прайс надіслано. Чекаємо відповіді.");
    // A whole-value set from the same view would have dropped it: that is what edit_notes avoids.
    sync(&mut ana, &mut bob, id);
    assert_eq!(notes(&bob, id), "Новий прайс надіслано. Чекаємо відповіді.");
}

#[test]
fn deleting_text_another_device_deleted_too_deletes_nothing_more() {
    let (mut ana, mut bob, id) = pair("alpha beta gamma");
    let page = ana.replica.heads(id).unwrap();
    let bob_seen = bob.replica.heads(id).unwrap();
    bob.replica.edit(id, |e| e.edit_notes(&bob_seen, "alpha gamma")).unwrap();
    bob.send(id, &mut ana);
    ana.replica.edit(id, |e| e.edit_notes(&page, "alpha gamma delta")).unwrap();
    assert_eq!(notes(&ana, id), "alpha gamma delta");
}

#[test]
fn unknown_heads_are_refused_and_change_nothing() {
    let (mut ana, bob, id) = pair("kept");
    let mut other = bob;
    let elsewhere = other.account("Other");
    let foreign = other.replica.heads(elsewhere).unwrap();
    let before = ana.heads(id);
    let err = ana.replica.edit(id, |e| e.edit_notes(&foreign, "lost")).unwrap_err();
    assert!(matches!(err, Error::InvalidValue { ref field, .. } if field == "party.notes"), "{err}");
    let err = ana.replica.edit(id, |e| e.edit_notes(&[], "lost")).unwrap_err();
    assert!(matches!(err, Error::InvalidValue { .. }), "{err}");
    assert_eq!(ana.heads(id), before);
    assert_eq!(notes(&ana, id), "kept");
}
