//! Owners, teams and territories are checked on the device against the
//! directory it fetched from the server (ADR 0021): a typo is refused with
//! the names it may have meant, and nothing is written.
#![allow(clippy::unwrap_used)]

use rapport_e2e::*;

fn fails(d: &Desktop, args: &[&str]) -> String {
    let out = d.run(args);
    assert!(!out.status.success(), "`rapport {}` succeeded", args.join(" "));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn an_unknown_owner_team_or_territory_is_refused_with_close_names() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    assert_eq!(server.admin_post("/v1/admin/teams", &serde_json::json!({ "name": "east" })).0, 200);
    let body = serde_json::json!({
        "name": "bohdan", "role": "rep", "device": "bohdan-phone", "teams": ["east"], "territories": ["UA-46"]
    });
    assert_eq!(server.admin_post("/v1/admin/users", &body).0, 200);
    let office = Desktop::new(root.path(), "office");
    office.init(&server); // fetches the directory

    // A typo of an owner: refused, the close name offered, nothing written.
    let err = fails(&office, &["account", "add", "--name", "Typo Ltd", "--owner", "bohdna"]);
    assert_eq!(
        err,
        "error: no owner named \"bohdna\" is in the directory this device fetched at its last sync (did you mean \
         bohdan?); if it is new, sync to fetch the newest directory, or pass --allow-unknown-owner to write it \
         anyway\n"
    );
    let listed = office.json(&["account", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 0, "nothing was written");
    // Far from every name: the known ones are listed.
    let err = fails(&office, &["account", "add", "--name", "Typo Ltd", "--team", "westwardho"]);
    assert!(err.contains("no team named \"westwardho\"") && err.contains("(known teams: east)"), "{err}");
    let err = fails(&office, &["account", "add", "--name", "Typo Ltd", "--territory", "UA-64"]);
    assert!(err.contains("did you mean UA-46?"), "{err}");

    // Known names are written; `account set` checks the same way.
    let id = office.last_line(&[
        "account",
        "add",
        "--name",
        "Good Ltd",
        "--owner",
        "bohdan",
        "--team",
        "east",
        "--territory",
        "UA-46",
    ]);
    let err = fails(&office, &["account", "set", &id, "party.owner", "Bohdan "]);
    assert!(err.contains("did you mean bohdan?"), "{err}");
    office.ok(&["account", "set", &id, "party.owner", "office"]);
    assert_eq!(office.json(&["account", "show", &id, "--json"])["account"]["party"]["owner"], "office");

    // A user created after the last sync is known once the device syncs.
    office.ok(&["sync"]);
    server.device_token("vasyl", "rep", "vasyl-phone");
    let err = fails(&office, &["account", "set", &id, "party.owner", "vasyl"]);
    assert!(err.contains("sync to fetch the newest directory"), "{err}");
    office.ok(&["sync"]);
    office.ok(&["account", "set", &id, "party.owner", "vasyl"]);
    // And the override writes a name the directory does not list.
    office.ok(&["account", "set", &id, "party.territory", "UA-99", "--allow-unknown-owner"]);
    assert_eq!(office.json(&["account", "show", &id, "--json"])["account"]["party"]["territory"], "UA-99");
}

#[test]
fn a_device_that_never_fetched_the_directory_needs_the_override() {
    let root = tempfile::tempdir().unwrap();
    let rep = Desktop::new(root.path(), "offline-rep");
    rep.ok(&["init", "--offline", "--server", "http://127.0.0.1:9", "--token", "t", "--user", "rep"]);
    let err = fails(&rep, &["account", "add", "--name", "Offline Ltd", "--owner", "someone"]);
    assert_eq!(
        err,
        "error: owner \"someone\" cannot be checked: this device has not fetched the directory of owners, teams and \
         territories yet; sync first, or pass --allow-unknown-owner to write it anyway\n"
    );
    assert_eq!(rep.json(&["account", "list", "--json"]).as_array().unwrap().len(), 0);
    let id = rep.last_line(&["account", "add", "--name", "Offline Ltd", "--owner", "someone", "--allow-unknown-owner"]);
    assert_eq!(rep.json(&["account", "show", &id, "--json"])["account"]["party"]["owner"], "someone");
    // Without an owner named, nothing needs checking.
    rep.ok(&["account", "add", "--name", "Unowned Ltd"]);
}

#[test]
fn a_csv_import_checks_owners_teams_and_territories_row_by_row() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server"));
    assert_eq!(server.admin_post("/v1/admin/teams", &serde_json::json!({ "name": "east" })).0, 200);
    let body = serde_json::json!({
        "name": "bohdan", "role": "rep", "device": "bohdan-phone", "teams": ["east"], "territories": ["UA-46"]
    });
    assert_eq!(server.admin_post("/v1/admin/users", &body).0, 200);
    let office = Desktop::new(root.path(), "office");
    office.init(&server);

    let file = root.path().join("accounts.csv");
    std::fs::write(
        &file,
        "name;city;owner;team;territory\n\
         Good Ltd;Lviv;bohdan;east;UA-46\n\
         Typo Ltd;Kyiv;bohdna;east;UA-46\n\
         Far Ltd;Odesa;bohdan;westwardho;UA-64\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();

    // The preview names each unknown name's row and column and the close names; nothing is written.
    let preview = office.ok(&["import", path, "--preview"]);
    for line in [
        "  row 3, column owner: no owner named \"bohdna\" is in the directory this device fetched at its last sync \
         (did you mean bohdan?); if it is new, sync to fetch the newest directory, or pass --allow-unknown-owner to \
         write it anyway",
        "  row 4, column team: no team named \"westwardho\" is in the directory this device fetched at its last sync \
         (known teams: east); if it is new, sync to fetch the newest directory, or pass --allow-unknown-owner to \
         write it anyway",
        "  row 4, column territory: no territory named \"UA-64\" is in the directory this device fetched at its last \
         sync (did you mean UA-46?); if it is new, sync to fetch the newest directory, or pass \
         --allow-unknown-owner to write it anyway",
    ] {
        assert!(preview.lines().any(|l| l == line), "{line:?} missing from:\n{preview}");
    }
    assert!(preview.contains("3 row error(s)"), "{preview}");
    let json = office.json(&["import", path, "--preview", "--json"]);
    let errors = json["errors"].as_array().unwrap();
    let owner = errors.iter().find(|e| e["row"] == 3).unwrap();
    assert_eq!(
        (&owner["column"], &owner["suggestions"]),
        (&serde_json::json!("owner"), &serde_json::json!(["bohdan"]))
    );
    assert_eq!(office.json(&["account", "list", "--json"]).as_array().unwrap().len(), 0);

    // The import is refused whole; with the override it writes the names as given.
    let err = fails(&office, &["import", path]);
    assert!(
        err.contains("row 3, column owner: no owner named \"bohdna\"") && err.contains("row 4, column team"),
        "{err}"
    );
    assert_eq!(office.json(&["account", "list", "--json"]).as_array().unwrap().len(), 0, "nothing was written");
    let done = office.ok(&["import", path, "--allow-unknown-owner"]);
    assert!(done.contains("3 created"), "{done}");
    let typo = office.json(&["account", "list", "--search", "Typo", "--json"]);
    assert_eq!(typo[0]["owner"], "bohdna", "{typo}");

    // Re-importing the same file checks no unchanged name again: it changes nothing and needs no override.
    let again = office.ok(&["import", path]);
    assert!(again.contains("0 created, 0 updated, 3 unchanged"), "{again}");
    // A changed name is checked again.
    std::fs::write(&file, "name;city;owner\nGood Ltd;Lviv;bohdann\n").unwrap();
    let err = fails(&office, &["import", path]);
    assert!(
        err.contains("row 2, column owner: no owner named \"bohdann\"") && err.contains("did you mean bohdan?"),
        "{err}"
    );
}
