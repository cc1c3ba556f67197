//! An account's history says, per change, each field with its value before
//! and after.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::*;

fn change(entry: &HistoryEntry, field: &str) -> (Option<String>, Option<String>) {
    let c =
        entry.changes.iter().find(|c| c.field == field).unwrap_or_else(|| panic!("{field} not in {:?}", entry.changes));
    (c.old.clone(), c.new.clone())
}

#[test]
fn each_change_has_its_old_and_new_values() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Ромашка");
    fx.replica.edit(id, |e| e.set_field("address.city", "Київ")).unwrap();
    fx.replica.edit(id, |e| e.set_field("address.city", "Львів")).unwrap();
    fx.replica.edit(id, |e| e.add_tag("vip")).unwrap();
    let deal = fx.replica.edit(id, |e| e.add_deal(&NewDeal::new("Boiler", eur(125_000)))).unwrap();
    fx.replica.edit(id, |e| e.move_deal_stage(deal, "proposal", None)).unwrap();
    fx.replica.edit(id, |e| e.set_notes("Дзвонити зранку")).unwrap();
    fx.replica.edit(id, |e| e.set_field("address.city", "")).unwrap();

    let history = fx.replica.history(id).unwrap();
    assert_eq!(history.len(), 8, "{history:#?}");
    assert_eq!(change(&history[1], "party.address.city"), (None, Some("Київ".into())));
    assert_eq!(change(&history[2], "party.address.city"), (Some("Київ".into()), Some("Львів".into())));
    assert_eq!(change(&history[3], "party.tags"), (Some(String::new()), Some("vip".into())));
    assert_eq!(change(&history[4], &format!("deals.{deal}")), (None, Some("Boiler".into())));
    let (old, new) = change(&history[5], &format!("deals.{deal}.stage"));
    assert_eq!((old.as_deref(), new.as_deref()), (Some("prospecting"), Some("proposal")));
    assert_eq!(change(&history[6], "party.notes"), (Some(String::new()), Some("Дзвонити зранку".into())));
    let (old, new) = change(&history[7], "party.address.city");
    assert_eq!(old.as_deref(), Some("Львів"));
    assert!(new.as_deref().is_none_or(str::is_empty), "cleared: {new:?}");
}

/// `history_of` gives exactly the entries `history` has for the changes asked
/// for, and a deal's figures before and after a change tell what it moved.
#[test]
fn the_entries_of_some_changes_match_the_whole_history_and_deal_figures_follow_the_changes() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("Ромашка");
    let deal = fx.replica.edit(id, |e| e.add_deal(&NewDeal::new("Boiler", eur(125_000)))).unwrap();
    fx.replica.edit(id, |e| e.move_deal_stage(deal, "proposal", Some(40))).unwrap();
    fx.replica.edit(id, |e| e.move_deal_stage(deal, "won", None)).unwrap();

    let mut doc = fx.replica.document(id).unwrap();
    let whole = doc.history();
    let last_two: Vec<ChangeHash> = whole[whole.len() - 2..].iter().map(|e| e.change_hash().unwrap()).collect();
    assert_eq!(doc.history_of(&last_two), whole[whole.len() - 2..].to_vec());
    assert_eq!(doc.history_of(&[last_two[1], last_two[0]])[0], whole[whole.len() - 1], "in the order given");

    let won = doc.automerge_mut().get_change_by_hash(&last_two[1]).unwrap().deps().to_vec();
    let before = doc.deal_figures_at(&deal.to_string(), &won).unwrap();
    let after = doc.deal_figures_at(&deal.to_string(), &[last_two[1]]).unwrap();
    assert_eq!((before.outcome.as_str(), before.amount_minor, before.probability), ("open", 125_000, 40));
    assert_eq!((before.won_minor(), before.weighted_minor()), (0, 50_000));
    assert_eq!((after.outcome.as_str(), after.won_minor(), after.weighted_minor()), ("won", 125_000, 0));
    assert_eq!(after.currency, "EUR");
    let first = doc.automerge_mut().get_change_by_hash(&whole[1].change_hash().unwrap()).unwrap().deps().to_vec();
    assert_eq!(doc.deal_figures_at(&deal.to_string(), &first), None, "no deal before it was added");
    assert!(!doc.is_hidden());
}
