//! Search finds accounts by another grammatical form of their name, their
//! contacts' names, and their address, in Ukrainian, Russian and English.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::*;

fn names(found: Vec<AccountSummary>) -> Vec<String> {
    let mut names: Vec<String> = found.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

#[test]
fn word_forms_addresses_and_contacts_are_found() {
    let mut fx = Fixture::new("olena");
    let romashka = fx.account("ТОВ «Ромашка»");
    let kyiv = fx.account("Сонячні панелі");
    let moscow = fx.account("Компания Северный ветер");
    let acme = fx.account("Acme Company");
    fx.replica.edit(kyiv, |e| e.set_field("address.city", "Київ")).unwrap();
    fx.replica.edit(kyiv, |e| e.set_field("address.street", "вулиця Хрещатик, 22")).unwrap();
    fx.replica.edit(acme, |e| e.set_field("address.postcode", "01001")).unwrap();
    fx.replica
        .edit(romashka, |e| {
            e.add_contact(&NewContact { name: "Петро Коваленко".into(), ..Default::default() })
        })
        .unwrap();
    let _ = moscow;

    let search = |text: &str| names(fx.replica.search(text, 10).unwrap());
    // Ukrainian cases of a company name.
    assert_eq!(search("Ромашки"), ["ТОВ «Ромашка»"]);
    assert_eq!(search("ромашкою"), ["ТОВ «Ромашка»"]);
    // Russian.
    assert_eq!(search("компании"), ["Компания Северный ветер"]);
    assert_eq!(search("компании северной"), ["Компания Северный ветер"]);
    // English.
    assert_eq!(search("companies"), ["Acme Company"]);
    // Addresses: city, street (in another case), postcode.
    assert_eq!(search("Київ"), ["Сонячні панелі"]);
    assert_eq!(search("Хрещатику"), ["Сонячні панелі"]);
    assert_eq!(search("01001"), ["Acme Company"]);
    // A contact's name in another case.
    assert_eq!(search("Коваленка"), ["ТОВ «Ромашка»"]);
    // Prefixes still work while typing.
    assert_eq!(search("Ром"), ["ТОВ «Ромашка»"]);
    // Nothing matches nonsense; FTS syntax is taken as words.
    assert!(search("Жираф").is_empty());
    assert!(search("\"NEAR( OR").is_empty());
}

#[test]
fn edits_keep_the_stems_current() {
    let mut fx = Fixture::new("olena");
    let id = fx.account("Ромашка");
    fx.replica.edit(id, |e| e.set_field("name", "Волошка")).unwrap();
    assert!(fx.replica.search("ромашки", 10).unwrap().is_empty());
    assert_eq!(names(fx.replica.search("волошки", 10).unwrap()), ["Волошка"]);
    // And they survive a reopen.
    let fx = fx.reopen();
    assert_eq!(names(fx.replica.search("волошкою", 10).unwrap()), ["Волошка"]);
}
