//! Office work on the replica: registration codes (document lens 3), likely
//! duplicate accounts with their reasons, merging them, and bulk reassignment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rapport_core::*;

fn contact(fx: &mut Fixture, id: AccountId, name: &str, phone: Option<&str>, email: Option<&str>) {
    let new = NewContact {
        name: name.into(),
        emails: email.map(|e| [e.to_owned()].into()).unwrap_or_default(),
        phones: phone.map(|p| vec![Phone { kind: PhoneKind::Work, number: p.into() }]).unwrap_or_default(),
        ..NewContact::default()
    };
    fx.replica.edit(id, |e| e.add_contact(&new)).unwrap();
}

fn ids(group: &DuplicateGroup) -> Vec<AccountId> {
    let mut ids: Vec<AccountId> = group.accounts.iter().map(|a| a.id).collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<AccountId>) -> Vec<AccountId> {
    v.sort();
    v
}

#[test]
fn a_registration_code_is_kept_read_searched_and_raises_the_lens() {
    let mut fx = Fixture::new("ana");
    let id = fx.account("ТОВ «Ромашка»");
    assert_eq!(fx.replica.account(id).unwrap().lens_version, 1);
    fx.replica.edit(id, |e| e.set_field("party.registration_code", " 3214 5678 ")).unwrap();
    let account = fx.replica.account(id).unwrap();
    assert_eq!(account.party.registration_code.as_deref(), Some("3214 5678"), "kept as typed, trimmed");
    assert_eq!(account.lens_version, LENS_VERSION);
    assert_eq!(LENS_VERSION, 3);
    // The short path works too, and search finds the account by its code.
    fx.replica.edit(id, |e| e.set_field("registration_code", "32145678")).unwrap();
    let found = fx.replica.search("32145678", 5).unwrap();
    assert_eq!(found.iter().map(|s| s.id).collect::<Vec<_>>(), [id]);
    // Cleared by an empty value; gone from search.
    fx.replica.edit(id, |e| e.set_field("party.registration_code", "")).unwrap();
    assert_eq!(fx.replica.account(id).unwrap().party.registration_code, None);
    assert!(fx.replica.search("32145678", 5).unwrap().is_empty());
    assert!(settable_fields().contains(&"party.registration_code".to_owned()));
}

#[test]
fn duplicates_are_grouped_by_name_phone_email_and_code_with_their_reasons() {
    let mut fx = Fixture::new("ana");
    let romashka = fx.account("ТОВ «Ромашка»");
    let romashka_ru = fx.account("ООО \"Ромашка\"");
    let romashki = fx.account("Ромашки"); // another word form: a different name
    let acme = fx.account("Acme Ltd");
    let acme_llc = fx.account("ACME, LLC");
    let coffee = fx.account("Coffee House");
    let beans = fx.account("Beans & Co");
    let north = fx.account("Північ");
    let sever = fx.account("Север");
    let alone = fx.account("Товарна біржа");

    contact(&mut fx, coffee, "Olena", Some("+380 44 123-45-67"), None);
    contact(&mut fx, beans, "Oleh", Some("044 123 45 67"), None);
    contact(&mut fx, north, "Iryna", None, Some("Iryna@North.UA"));
    contact(&mut fx, sever, "Ирина", None, Some("iryna@north.ua "));
    // Acme's two records share an e-mail too: one group, two reasons.
    contact(&mut fx, acme, "Mia", None, Some("mia@acme.example"));
    contact(&mut fx, acme_llc, "Mia V.", None, Some("MIA@acme.example"));
    fx.replica.edit(romashka, |e| e.set_field("party.registration_code", "3214 5678")).unwrap();
    fx.replica.edit(romashki, |e| e.set_field("party.registration_code", "32145678")).unwrap();
    // The same phone twice in one account is no duplicate of itself.
    contact(&mut fx, alone, "A", Some("+380 67 000 00 01"), None);
    contact(&mut fx, alone, "B", Some("0670000001"), None);

    let groups = fx.replica.duplicates().unwrap();
    let find = |members: Vec<AccountId>| {
        groups.iter().find(|g| ids(g) == sorted(members.clone())).unwrap_or_else(|| panic!("no group {groups:#?}"))
    };
    let reasons = |g: &DuplicateGroup| g.shared.iter().map(|k| (k.reason, k.value.clone())).collect::<Vec<_>>();

    assert_eq!(reasons(find(vec![romashka, romashka_ru])), [(DuplicateReason::Name, "ромашка".to_owned())]);
    assert_eq!(reasons(find(vec![romashka, romashki])), [(DuplicateReason::RegistrationCode, "32145678".to_owned())]);
    assert_eq!(
        reasons(find(vec![acme, acme_llc])),
        [(DuplicateReason::Email, "mia@acme.example".to_owned()), (DuplicateReason::Name, "acme".to_owned())],
        "the surest reason first"
    );
    assert_eq!(reasons(find(vec![coffee, beans])), [(DuplicateReason::Phone, "441234567".to_owned())]);
    assert_eq!(reasons(find(vec![north, sever])), [(DuplicateReason::Email, "iryna@north.ua".to_owned())]);
    assert_eq!(groups.len(), 5, "{groups:#?}");
    assert!(groups.iter().all(|g| !ids(g).contains(&alone)));
    assert_eq!(groups[0].shared[0].reason, DuplicateReason::RegistrationCode, "code groups come first");

    // Merging a pair ends its group; a deleted account leaves its groups.
    fx.replica.merge_accounts(romashka, romashka_ru).unwrap();
    fx.replica.edit(beans, |e| e.soft_delete()).unwrap();
    let groups = fx.replica.duplicates().unwrap();
    assert!(!groups.iter().any(|g| ids(g).contains(&romashka_ru)), "{groups:#?}");
    assert!(!groups.iter().any(|g| ids(g).contains(&coffee)), "{groups:#?}");
    assert_eq!(groups.len(), 3);
}

#[test]
fn a_merge_keeps_the_survivors_fields_and_fills_its_empty_ones() {
    let mut fx = Fixture::new("ana");
    let survivor = fx.account("Ромашка");
    let duplicate = fx.account("ТОВ Ромашка");
    fx.replica.edit(duplicate, |e| e.set_field("party.registration_code", "32145678")).unwrap();
    fx.replica.edit(duplicate, |e| e.set_field("party.industry", "Agro")).unwrap();
    fx.replica.edit(survivor, |e| e.set_field("party.industry", "Retail")).unwrap();
    fx.replica.merge_accounts(survivor, duplicate).unwrap();
    let s = fx.replica.account(survivor).unwrap();
    assert_eq!(s.party.registration_code.as_deref(), Some("32145678"), "an empty field is filled");
    assert_eq!(s.party.industry.as_deref(), Some("Retail"), "the survivor's own value stays");
    assert_eq!(s.lens_version, LENS_VERSION);
    assert_eq!(fx.replica.account(duplicate).unwrap().merged_into, Some(survivor));
}

#[test]
fn a_replica_from_before_the_keys_finds_duplicates_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.db");
    let author = Author::new("ana", "ana-device", ActorId::from(&[7u8; 16][..]));
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    rapport_core::replica::schema::create_at_version(&mut conn, 8).unwrap();
    let mut names = Vec::new();
    for name in ["ТОВ «Ромашка»", "Ромашка, ООО"] {
        let mut doc = AccountDoc::create(&author, &NewAccount::new(name)).unwrap();
        conn.execute(
            "INSERT INTO documents (id, snapshot, pending, updated_at) VALUES (?1, ?2, 0, 0)",
            rusqlite::params![doc.id().to_string(), doc.save()],
        )
        .unwrap();
        names.push(doc.id());
    }
    drop(conn);
    let replica = Replica::open(&path, &identity("ana")).unwrap();
    let groups = replica.duplicates().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(ids(&groups[0]), sorted(names));
}

#[test]
fn a_reassignment_changes_every_account_in_one_go_and_only_what_differs() {
    let mut fx = Fixture::new("ana");
    let a = fx.account("A");
    let b = fx.account("B");
    let c = fx.account("C");
    fx.replica.edit(a, |e| e.set_field("party.owner", "bob")).unwrap();
    fx.replica.edit(c, |e| e.set_field("party.owner", "mia")).unwrap();
    let to = Reassignment { owner: Some("mia".into()), team: Some("North".into()), ..Reassignment::default() };

    let before_a = fx.heads(a);
    let summary = fx.replica.summary(a).unwrap();
    let changes = to.changes(&summary).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!((changes[0].field, changes[0].from.as_deref(), changes[0].to.as_str()), ("owner", Some("bob"), "mia"));

    let changed = fx.replica.reassign(&[a, b, c], &to).unwrap();
    assert_eq!(changed, [a, b, c], "c changes its team");
    for id in [a, b, c] {
        let p = fx.replica.account(id).unwrap().party;
        assert_eq!((p.owner.as_deref(), p.team.as_deref()), (Some("mia"), Some("North")));
    }
    let mut doc = fx.replica.document(a).unwrap();
    assert_eq!(doc.automerge_mut().get_changes(&before_a).len(), 1, "one change per account");
    // Again: nothing differs, nothing is written.
    let heads = fx.heads(b);
    assert!(fx.replica.reassign(&[a, b, c], &to).unwrap().is_empty());
    assert_eq!(fx.heads(b), heads);
    assert!(to.changes(&fx.replica.summary(b).unwrap()).unwrap().is_empty());

    // Nothing to reassign to, or an empty name: refused, nothing written.
    assert!(matches!(fx.replica.reassign(&[a], &Reassignment::default()), Err(Error::InvalidValue { .. })));
    let blank = Reassignment { territory: Some("  ".into()), ..Reassignment::default() };
    assert_invalid(fx.replica.reassign(&[a], &blank), "party.territory");
    // An account that does not exist: nothing of the batch is written.
    let ghost = AccountId::new();
    let other = Reassignment { owner: Some("zoe".into()), ..Reassignment::default() };
    assert_not_found(fx.replica.reassign(&[a, ghost], &other), RecordKind::Account);
    assert_eq!(fx.replica.account(a).unwrap().party.owner.as_deref(), Some("mia"));
    // An account named twice changes once.
    assert_eq!(fx.replica.reassign(&[a, a], &other).unwrap(), [a]);
    assert_eq!(fx.replica.account(a).unwrap().party.owner.as_deref(), Some("zoe"));
}

#[test]
fn reassignment_names_are_checked_against_the_directory() {
    let mut fx = Fixture::new("ana");
    let to = Reassignment { owner: Some("mia".into()), territory: Some("Sourh".into()), ..Reassignment::default() };
    assert!(matches!(fx.replica.check_reassignment(&to), Err(Error::DirectoryNotFetched { .. })));
    fx.replica
        .store_directory(&Directory {
            users: vec!["ana".into(), "mia".into()],
            territories: vec!["South".into()],
            ..Directory::default()
        })
        .unwrap();
    match fx.replica.check_reassignment(&to) {
        Err(Error::UnknownName { kind, close, .. }) => {
            assert_eq!(kind, "territory");
            assert_eq!(close, ["South"]);
        }
        other => panic!("expected an unknown territory, got {other:?}"),
    }
    let ok = Reassignment { territory: Some("South".into()), ..to };
    fx.replica.check_reassignment(&ok).unwrap();
}
