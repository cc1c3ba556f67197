//! Office work through the CLI against a real server: registration codes,
//! likely duplicates and their merge, bulk reassignment of a filtered set
//! (ADR 0024). Edits are local and reach another device through sync.
#![allow(clippy::unwrap_used)]

use rapport_e2e::*;

fn fails(d: &Desktop, args: &[&str]) -> String {
    let out = d.run(args);
    assert!(!out.status.success(), "`rapport {}` succeeded", args.join(" "));
    String::from_utf8(out.stderr).unwrap()
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = v.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

#[test]
fn registration_codes_and_duplicates_are_found_and_merged_and_reach_another_device() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    let office = Desktop::new(root.path(), "office");
    office.init(&server);
    let rep = Desktop::new(root.path(), "rep");
    rep.init(&server);

    let ua = office.last_line(&["account", "add", "--name", "ТОВ «Ромашка»"]);
    let ru = office.last_line(&["account", "add", "--name", "Ромашка, ООО"]);
    let coded = office.last_line(&["account", "add", "--name", "Агроінвест"]);
    let coded2 = office.last_line(&["account", "add", "--name", "Agroinvest Ltd"]);
    let phone_a = office.last_line(&["account", "add", "--name", "Кав'ярня Ранок"]);
    let phone_b = office.last_line(&["account", "add", "--name", "Ранкова кава"]);
    office.last_line(&["account", "add", "--name", "Товарна біржа"]);
    office.ok(&["contact", "add", &phone_a, "--name", "Олена", "--phone", "+380 44 123-45-67"]);
    office.ok(&["contact", "add", &phone_b, "--name", "Олег", "--phone", "work:044 123 45 67"]);

    // The registration code: set, shown, in JSON, searchable.
    office.ok(&["account", "set", &coded, "party.registration_code", "3214 5678"]);
    office.ok(&["account", "set", &coded2, "registration_code", "32145678"]);
    assert!(office.ok(&["account", "show", &coded]).contains("reg. code:   3214 5678"));
    let shown = office.json(&["account", "show", &coded, "--json"]);
    assert_eq!(shown["account"]["party"]["registration_code"], "3214 5678");
    let found = office.json(&["account", "list", "--search", "32145678", "--json"]);
    assert_eq!(ids(&found), {
        let mut v = vec![coded2.clone()];
        v.sort();
        v
    });

    // The likely duplicates, each group with its reason.
    let text = office.ok(&["account", "duplicates"]);
    assert!(text.contains("likely duplicates: same registration code \"32145678\""), "{text}");
    assert!(text.contains("likely duplicates: same phone (last digits) \"441234567\""), "{text}");
    assert!(text.contains("likely duplicates: same name \"ромашка\""), "{text}");
    assert!(!text.contains("Товарна"), "{text}");
    assert!(text.ends_with(
        "3 group(s); merge two accounts with `rapport account merge SURVIVOR DUPLICATE` (the survivor keeps its \
         values and gains the duplicate's records)\n"
    ));
    let groups = office.json(&["account", "duplicates", "--json"]);
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0]["shared"][0]["reason"], "registration_code");
    let mut pair = vec![coded.clone(), coded2.clone()];
    pair.sort();
    assert_eq!(ids(&groups[0]["accounts"]), pair);
    let names = groups.iter().find(|g| g["shared"][0]["reason"] == "name").unwrap();
    let mut pair = vec![ua.clone(), ru.clone()];
    pair.sort();
    assert_eq!(ids(&names["accounts"]), pair);

    // Merged: the group is gone; the survivor has the contact.
    office.ok(&["account", "merge", &phone_a, &phone_b]);
    let groups = office.json(&["account", "duplicates", "--json"]);
    assert_eq!(groups.as_array().unwrap().len(), 2);
    let survivor = office.json(&["account", "show", &phone_a, "--json"]);
    assert_eq!(survivor["account"]["contacts"].as_array().unwrap().len(), 2);
    // Merging an account with itself is refused.
    let err = fails(&office, &["account", "merge", &ua, &ua]);
    assert!(err.contains("cannot be merged with itself"), "{err}");

    // Another device sees the code, the merge and the remaining duplicates.
    office.ok(&["sync"]);
    rep.ok(&["sync"]);
    let seen = rep.json(&["account", "show", &coded2, "--json"]);
    assert_eq!(seen["account"]["party"]["registration_code"], "32145678");
    assert_eq!(rep.json(&["account", "duplicates", "--json"]).as_array().unwrap().len(), 2);
    let listed = rep.json(&["account", "list", "--json"]);
    assert!(!ids(&listed).contains(&phone_b), "the merged duplicate is not listed");
}

#[test]
fn a_filtered_set_is_reassigned_at_once_with_names_checked_and_a_dry_run() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    assert_eq!(server.admin_post("/v1/admin/teams", &serde_json::json!({ "name": "east" })).0, 200);
    let body = serde_json::json!({
        "name": "mia", "role": "rep", "device": "mia-phone", "teams": ["east"], "territories": ["UA-46"]
    });
    assert_eq!(server.admin_post("/v1/admin/users", &body).0, 200);
    let office = Desktop::new(root.path(), "office");
    office.init(&server);
    let rep = Desktop::new(root.path(), "rep");
    rep.init(&server);

    let mut kyiv = Vec::new();
    for i in 0..10 {
        let id = office.last_line(&["account", "add", "--name", &format!("Клієнт {i}"), "--owner", "office"]);
        office.ok(&["tag", "add", &id, "kyiv"]);
        kyiv.push(id);
    }
    let other = office.last_line(&["account", "add", "--name", "Elsewhere Oy", "--owner", "office"]);
    // One already belongs to mia: it matches but does not change.
    office.ok(&["account", "set", &kyiv[0], "party.owner", "mia"]);

    // A typo is refused with the close name, and nothing is written.
    let err = fails(&office, &["account", "reassign", "--tag", "kyiv", "--owner", "mai"]);
    assert_eq!(
        err,
        "error: no owner named \"mai\" is in the directory this device fetched at its last sync (did you mean mia?); \
         if it is new, sync to fetch the newest directory, or pass --allow-unknown-owner to write it anyway\n"
    );
    let err = fails(&office, &["account", "reassign", "--tag", "kyiv", "--owner", "mia", "--territory", "UA-64"]);
    assert!(err.contains("no territory named \"UA-64\"") && err.contains("did you mean UA-46?"), "{err}");
    // No target, no filter, a bad filter: refused with what to do.
    let err = fails(&office, &["account", "reassign", "--tag", "kyiv"]);
    assert_eq!(err, "error: nothing to reassign to: give --owner NAME, --team NAME or --territory NAME\n");
    let err = fails(&office, &["account", "reassign", "--owner", "mia"]);
    assert!(err.starts_with("error: no filter given: choose the accounts with the filters of `account list`"), "{err}");
    let err = fails(&office, &["account", "reassign", "--owner", "mia", "--filter", "colour=red"]);
    assert!(err.contains("unknown filter \"colour\""), "{err}");
    assert_eq!(office.json(&["account", "list", "--owner", "mia", "--json"]).as_array().unwrap().len(), 1);

    // The dry run lists what would change and writes nothing.
    let preview = office.ok(&["account", "reassign", "--tag", "kyiv", "--owner", "mia", "--team", "east", "--dry-run"]);
    assert!(preview.contains(&format!("{}  Клієнт 1  owner office -> mia, team - -> east", kyiv[1])), "{preview}");
    assert!(preview.contains(&format!("{}  Клієнт 0  team - -> east", kyiv[0])), "{preview}");
    assert!(
        preview.ends_with("10 of 10 matching account(s) would change (0 already match); nothing written (--dry-run)\n")
    );
    let json = office.json(&["account", "reassign", "--filter", "tag=kyiv", "--owner", "mia", "--dry-run", "--json"]);
    assert_eq!(json["matched"], 10);
    assert_eq!(json["changes"].as_array().unwrap().len(), 9);
    assert_eq!(json["changes"][0]["changes"][0]["field"], "owner");
    assert_eq!(office.json(&["account", "list", "--owner", "mia", "--json"]).as_array().unwrap().len(), 1);

    // Reassigned in one go; the account outside the filter stays.
    let done = office.ok(&["account", "reassign", "--tag", "kyiv", "--from-owner", "office", "--owner", "mia"]);
    assert!(
        done.ends_with(
            "reassigned 9 of 9 matching account(s) (0 already matched); the next `rapport sync` sends them\n"
        ),
        "{done}"
    );
    assert_eq!(ids(&office.json(&["account", "list", "--owner", "mia", "--json"])), {
        let mut k = kyiv.clone();
        k.sort();
        k
    });
    assert_eq!(office.json(&["account", "show", &other, "--json"])["account"]["party"]["owner"], "office");
    // Again: nothing differs, nothing is written.
    let again = office.ok(&["account", "reassign", "--tag", "kyiv", "--owner", "mia"]);
    assert!(again.ends_with(
        "reassigned 0 of 10 matching account(s) (10 already matched); the next `rapport sync` sends them\n"
    ));

    // The next sync sends them all; another device sees them.
    office.ok(&["sync"]);
    rep.ok(&["sync"]);
    assert_eq!(rep.json(&["account", "list", "--owner", "mia", "--json"]).as_array().unwrap().len(), 10);
    // The override writes an unknown name.
    office.ok(&["account", "reassign", "--search", "Elsewhere", "--territory", "UA-99", "--allow-unknown-owner"]);
    assert_eq!(office.json(&["account", "show", &other, "--json"])["account"]["party"]["territory"], "UA-99");
}
