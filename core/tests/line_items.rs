//! Deal line items (document lens 2): editing them, the amount that follows
//! them unless set by hand, merging them, and reading documents of lens 1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rapport_core::*;

fn item(name: &str, quantity: u32, unit_price_minor: i64, discount_percent: u8) -> NewLineItem {
    NewLineItem { name: name.into(), quantity, unit_price_minor, discount_percent }
}

/// An account with one deal added with a hand-set amount of 100.00 EUR.
fn deal_fixture(user: &str) -> (Fixture, AccountId, DealId) {
    let mut fx = Fixture::new(user);
    let id = fx.account("Acme");
    let deal = fx.replica.edit(id, |e| e.add_deal(&NewDeal::new("Boiler", eur(10_000)))).unwrap();
    (fx, id, deal)
}

fn deal_of(fx: &Fixture, id: AccountId, deal: DealId) -> Deal {
    fx.replica.account(id).unwrap().deal(deal).unwrap().clone()
}

fn sync(a: &mut Fixture, b: &mut Fixture, id: AccountId) {
    a.send(id, b);
    b.send(id, a);
    assert_eq!(a.heads(id), b.heads(id));
}

#[test]
fn line_items_are_added_changed_and_removed_and_the_amount_follows_them() {
    let (mut fx, id, deal) = deal_fixture("ana");
    assert!(!deal_of(&fx, id, deal).amount_from_line_items, "a deal is added with a hand-set amount");

    let boiler = fx.replica.edit(id, |e| e.add_line_item(deal, &item("Boiler B-200", 2, 120_050, 10))).unwrap();
    let d = deal_of(&fx, id, deal);
    assert!(d.amount_from_line_items, "the first line item makes the amount follow");
    assert_eq!(d.amount.minor, 216_090, "2 × 1,200.50 − 10 %");
    assert_eq!(d.line_items.len(), 1);
    assert_eq!(d.line_items[0].name, "Boiler B-200");

    let service = fx.replica.edit(id, |e| e.add_line_item(deal, &item("Installation", 1, 5_000, 0))).unwrap();
    assert_eq!(deal_of(&fx, id, deal).amount.minor, 221_090);

    let change = LineItemChange { quantity: Some(3), ..LineItemChange::default() };
    fx.replica.edit(id, |e| e.update_line_item(deal, boiler, &change)).unwrap();
    assert_eq!(deal_of(&fx, id, deal).amount.minor, 324_135 + 5_000, "3 × 1,200.50 − 10 %, rounded, + 50.00");

    fx.replica.edit(id, |e| e.remove_line_item(deal, service)).unwrap();
    let d = deal_of(&fx, id, deal);
    assert_eq!(d.amount.minor, 324_135);
    assert_eq!(d.line_items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![boiler]);

    // A replica file opened again reads the same.
    let fx = fx.reopen();
    assert_eq!(deal_of(&fx, id, deal).amount.minor, 324_135);
    assert_eq!(fx.replica.account(id).unwrap().lens_version, LENS_VERSION);
    assert_eq!(fx.replica.account(id).unwrap().schema_version, 1, "the schema 0.1.0 checks is not bumped");
}

#[test]
fn a_hand_set_amount_wins_over_line_items_until_the_amount_follows_them_again() {
    let (mut fx, id, deal) = deal_fixture("ana");
    fx.replica.edit(id, |e| e.add_line_item(deal, &item("Boiler", 1, 100_000, 0))).unwrap();
    fx.replica.edit(id, |e| e.set_field(&format!("deals.{deal}.amount"), "90000")).unwrap();
    let d = deal_of(&fx, id, deal);
    assert_eq!((d.amount.minor, d.amount_from_line_items), (90_000, false));

    fx.replica.edit(id, |e| e.add_line_item(deal, &item("Valve", 4, 2_500, 0))).unwrap();
    let d = deal_of(&fx, id, deal);
    assert_eq!((d.amount.minor, d.line_items.len()), (90_000, 2), "a hand-set amount stays");

    fx.replica.edit(id, |e| e.follow_line_items(deal)).unwrap();
    let d = deal_of(&fx, id, deal);
    assert_eq!((d.amount.minor, d.amount_from_line_items), (110_000, true));
}

#[test]
fn bad_line_items_are_refused_and_change_nothing() {
    let (mut fx, id, deal) = deal_fixture("ana");
    let good = fx.replica.edit(id, |e| e.add_line_item(deal, &item("Boiler", 1, 100, 0))).unwrap();
    let heads = fx.heads(id);
    assert_invalid(fx.replica.edit(id, |e| e.add_line_item(deal, &item("  ", 1, 100, 0))), "line_item.name");
    assert_invalid(fx.replica.edit(id, |e| e.add_line_item(deal, &item("X", 0, 100, 0))), "line_item.quantity");
    assert_invalid(fx.replica.edit(id, |e| e.add_line_item(deal, &item("X", 1, -1, 0))), "line_item.unit_price");
    assert_invalid(fx.replica.edit(id, |e| e.add_line_item(deal, &item("X", 1, 100, 101))), "line_item.discount");
    assert_invalid(
        fx.replica.edit(id, |e| e.add_line_item(deal, &item("X", 1_000_000_000, i64::MAX / 2, 0))),
        "line_item.unit_price",
    );
    let zero = LineItemChange { quantity: Some(0), ..LineItemChange::default() };
    assert_invalid(fx.replica.edit(id, |e| e.update_line_item(deal, good, &zero)), "line_item.quantity");
    assert_invalid(
        fx.replica.edit(id, |e| e.set_field(&format!("deals.{deal}.line_item:{good}.discount"), "150")),
        "discount",
    );
    let (mut empty, empty_id, empty_deal) = deal_fixture("bob");
    let empty_heads = empty.heads(empty_id);
    assert_invalid(empty.replica.edit(empty_id, |e| e.follow_line_items(empty_deal)), "amount");
    assert_eq!(empty.heads(empty_id), empty_heads);
    let missing = LineItemId::new();
    assert_not_found(fx.replica.edit(id, |e| e.remove_line_item(deal, missing)), RecordKind::LineItem);
    assert_not_found(fx.replica.edit(id, |e| e.add_line_item(DealId::new(), &item("X", 1, 1, 0))), RecordKind::Deal);
    assert_eq!(fx.heads(id), heads, "nothing was written");
}

#[test]
fn line_items_added_on_two_devices_are_both_kept_and_both_counted_without_a_conflict() {
    let (mut ana, id, deal) = deal_fixture("ana");
    let mut bob = Fixture::new("bob");
    ana.replica.edit(id, |e| e.add_line_item(deal, &item("Boiler", 1, 100_000, 0))).unwrap();
    ana.send(id, &mut bob);
    ana.replica.edit(id, |e| e.add_line_item(deal, &item("Valve", 2, 1_000, 0))).unwrap();
    bob.replica.edit(id, |e| e.add_line_item(deal, &item("Service", 1, 30_000, 50))).unwrap();
    sync(&mut ana, &mut bob, id);
    for fx in [&ana, &bob] {
        let d = deal_of(fx, id, deal);
        let mut names: Vec<&str> = d.line_items.iter().map(|i| i.name.as_str()).collect();
        names.sort();
        assert_eq!(names, vec!["Boiler", "Service", "Valve"]);
        assert_eq!(d.amount.minor, 100_000 + 2_000 + 15_000, "the merged items' total");
        assert!(fx.replica.conflicts(id).unwrap().is_empty(), "two written totals are not a conflict");
        assert_eq!(fx.replica.summary(id).unwrap().conflicts, 0);
    }
}

#[test]
fn a_hand_set_amount_concurrent_with_line_items_is_a_conflict_resolved_like_any_other() {
    let (mut ana, id, deal) = deal_fixture("ana");
    let mut bob = Fixture::new("bob");
    ana.replica.edit(id, |e| e.add_line_item(deal, &item("Boiler", 1, 100_000, 0))).unwrap();
    ana.send(id, &mut bob);
    ana.replica.edit(id, |e| e.add_line_item(deal, &item("Valve", 1, 1_000, 0))).unwrap();
    bob.replica.edit(id, |e| e.set_field(&format!("deals.{deal}.amount"), "250000")).unwrap();
    sync(&mut ana, &mut bob, id);
    let field = format!("deals.{deal}.amount");
    for fx in [&ana, &bob] {
        let conflicts = fx.replica.conflicts(id).unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(conflicts[0].field, field);
        let mut values: Vec<&str> = conflicts[0].values.iter().map(|v| v.value.as_str()).collect();
        values.sort();
        assert_eq!(values, vec!["101000", "250000"]);
        assert_eq!(deal_of(fx, id, deal).line_items.len(), 2, "line items intact");
    }
    assert_eq!(deal_of(&ana, id, deal), deal_of(&bob, id, deal), "one winner everywhere");
    bob.replica.edit(id, |e| e.set_field(&field, "250000")).unwrap();
    sync(&mut ana, &mut bob, id);
    assert!(ana.replica.conflicts(id).unwrap().is_empty());
    let d = deal_of(&ana, id, deal);
    assert_eq!((d.amount.minor, d.amount_from_line_items, d.line_items.len()), (250_000, false, 2));
}

#[test]
fn a_line_item_edited_on_two_devices_is_listed_and_resolved_by_its_path() {
    let (mut ana, id, deal) = deal_fixture("ana");
    let mut bob = Fixture::new("bob");
    let boiler = ana.replica.edit(id, |e| e.add_line_item(deal, &item("Boiler", 1, 100_000, 0))).unwrap();
    ana.send(id, &mut bob);
    let change = |q| LineItemChange { quantity: Some(q), ..LineItemChange::default() };
    ana.replica.edit(id, |e| e.update_line_item(deal, boiler, &change(2))).unwrap();
    bob.replica.edit(id, |e| e.update_line_item(deal, boiler, &change(3))).unwrap();
    sync(&mut ana, &mut bob, id);
    let field = format!("deals.{deal}.line_item:{boiler}.quantity");
    for fx in [&ana, &bob] {
        let fields: Vec<String> = fx.replica.conflicts(id).unwrap().into_iter().map(|c| c.field).collect();
        assert_eq!(fields, vec![field.clone()], "the quantity, not the totals written with it");
    }
    ana.replica.edit(id, |e| e.set_field(&field, "3")).unwrap();
    sync(&mut ana, &mut bob, id);
    assert!(bob.replica.conflicts(id).unwrap().is_empty());
    assert_eq!(deal_of(&bob, id, deal).amount.minor, 300_000);
}

#[test]
fn a_lens_1_document_reads_with_its_hand_set_amount_and_keeps_its_history_when_line_items_arrive() {
    // Today's account, deal and field operations write exactly the lens-1
    // layout 0.1.0 writes (tests/tests/compat.rs checks it with 0.1.0 itself).
    let (mut fx, id, deal) = deal_fixture("ana");
    fx.replica.edit(id, |e| e.set_field(&format!("deals.{deal}.amount"), "123456")).unwrap();
    let old = fx.replica.account(id).unwrap();
    assert_eq!(old.lens_version, 1, "no lens key: 0.1.0's shape");
    let d = old.deal(deal).unwrap();
    assert_eq!((d.amount.minor, d.amount_from_line_items, d.line_items.len()), (123_456, false, 0));

    let before = fx.heads(id);
    let changes_before = fx.replica.history(id).unwrap().len();
    fx.replica.edit(id, |e| e.add_line_item(deal, &item("Boiler", 1, 200_000, 0))).unwrap();
    assert_eq!(fx.replica.history(id).unwrap().len(), changes_before + 1, "one change added, none rewritten");
    assert_eq!(fx.replica.account_at(id, &before).unwrap(), old, "the old state reads as it did");
    assert_eq!(deal_of(&fx, id, deal).amount.minor, 200_000);
}

#[test]
fn merging_duplicate_accounts_carries_line_items_and_the_following_amount() {
    let (mut fx, survivor, _) = deal_fixture("ana");
    let dup = fx.account("Acme (duplicate)");
    let deal = fx.replica.edit(dup, |e| e.add_deal(&NewDeal::new("Pumps", eur(0)))).unwrap();
    fx.replica.edit(dup, |e| e.add_line_item(deal, &item("Pump", 3, 10_000, 0))).unwrap();
    fx.replica.merge_accounts(survivor, dup).unwrap();
    let d = deal_of(&fx, survivor, deal);
    assert_eq!((d.amount.minor, d.amount_from_line_items, d.line_items.len()), (30_000, true, 1));
}

#[test]
fn prices_typed_in_major_units_are_read_in_the_currency_s_minor_units() {
    assert_eq!(parse_major_units("p", "1200.50", "EUR").unwrap(), 120_050);
    assert_eq!(parse_major_units("p", "1200.5", "eur").unwrap(), 120_050);
    assert_eq!(parse_major_units("p", " 1200 ", "EUR").unwrap(), 120_000);
    assert_eq!(parse_major_units("p", "1200", "JPY").unwrap(), 1_200);
    assert_eq!(parse_major_units("p", "1.234", "KWD").unwrap(), 1_234);
    // As typed in Ukrainian and Russian: a decimal comma, spaces between thousands.
    assert_eq!(parse_major_units("p", "1200,50", "UAH").unwrap(), 120_050);
    assert_eq!(parse_major_units("p", "360 000,00", "UAH").unwrap(), 36_000_000);
    assert_eq!(parse_major_units("p", "360\u{a0}000", "UAH").unwrap(), 36_000_000);
    assert_invalid(parse_major_units("p", "1,2,3", "UAH"), "p");
    for bad in ["", "1.", ".5", "-1", "1,200.50", "1.234", "12a", "99999999999999999999"] {
        assert_invalid(parse_major_units("p", bad, "EUR"), "p");
    }
    assert_invalid(parse_major_units("p", "1.5", "JPY"), "p");
    assert_eq!(format_major_units(120_050, "EUR"), "1200.50");
    assert_eq!(format_major_units(5, "EUR"), "0.05");
    assert_eq!(format_major_units(1_200, "JPY"), "1200");
}

#[test]
fn line_items_edited_on_three_devices_in_any_order_converge_and_the_amount_stays_their_total() {
    for seed in 0..6u64 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let (first, id, deal) = deal_fixture("r0");
        let mut fx = [first, Fixture::new("r1"), Fixture::new("r2")];
        let (head, tail) = fx.split_at_mut(1);
        head[0].send(id, &mut tail[0]);
        head[0].send(id, &mut tail[1]);
        let mut added = std::collections::BTreeSet::new();
        let mut removed = std::collections::BTreeSet::new();
        for _ in 0..60 {
            let r = rng.random_range(0..3) as usize;
            let seen: Vec<LineItemId> = deal_of(&fx[r], id, deal).line_items.iter().map(|i| i.id).collect();
            match rng.random_range(0..6) {
                0 | 1 => {
                    let new =
                        item("Part", 1 + rng.random_range(0..5) as u32, 100 * (1 + rng.random_range(0..50) as i64), 0);
                    added.insert(fx[r].replica.edit(id, |e| e.add_line_item(deal, &new)).unwrap());
                }
                2 | 3 if !seen.is_empty() => {
                    let pick = seen[rng.random_range(0..seen.len())];
                    let change = LineItemChange {
                        quantity: Some(1 + rng.random_range(0..9) as u32),
                        discount_percent: Some(rng.random_range(0..3) as u8 * 10),
                        ..LineItemChange::default()
                    };
                    fx[r].replica.edit(id, |e| e.update_line_item(deal, pick, &change)).unwrap();
                }
                4 if seen.len() > 1 => {
                    let pick = seen[rng.random_range(0..seen.len())];
                    fx[r].replica.edit(id, |e| e.remove_line_item(deal, pick)).unwrap();
                    removed.insert(pick);
                }
                _ => {
                    let (a, b) = (rng.random_range(0..3) as usize, rng.random_range(0..3) as usize);
                    if a != b {
                        let (from, into) = if a < b {
                            let (x, y) = fx.split_at_mut(b);
                            (&x[a], &mut y[0])
                        } else {
                            let (x, y) = fx.split_at_mut(a);
                            (&y[0], &mut x[b])
                        };
                        from.send(id, into);
                    }
                }
            }
        }
        // Everyone meets everyone.
        for _ in 0..2 {
            for a in 0..3 {
                for b in 0..3 {
                    if a < b {
                        let (x, y) = fx.split_at_mut(b);
                        x[a].send(id, &mut y[0]);
                        y[0].send(id, &mut x[a]);
                    }
                }
            }
        }
        let d = deal_of(&fx[0], id, deal);
        for other in &fx[1..] {
            assert_eq!(deal_of(other, id, deal), d, "seed {seed}: converged");
            assert_eq!(other.replica.conflicts(id).unwrap(), fx[0].replica.conflicts(id).unwrap(), "seed {seed}");
        }
        let kept: std::collections::BTreeSet<LineItemId> = d.line_items.iter().map(|i| i.id).collect();
        assert_eq!(kept, added.difference(&removed).copied().collect(), "seed {seed}: every item kept unless removed");
        assert!(d.amount_from_line_items, "seed {seed}: nobody set the amount by hand");
        assert_eq!(Some(d.amount.minor), line_items_total(&d.line_items), "seed {seed}");
        let amount_conflicts =
            fx[0].replica.conflicts(id).unwrap().into_iter().filter(|c| c.field.ends_with(".amount")).count();
        assert_eq!(amount_conflicts, 0, "seed {seed}: written totals are never a conflict");
    }
}
