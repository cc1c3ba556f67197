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
