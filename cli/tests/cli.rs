//! The `rapport` binary on temporary replica directories, offline.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

struct Replica {
    dir: tempfile::TempDir,
}

struct Run {
    out: Output,
}

impl Run {
    fn ok(self) -> Run {
        assert!(self.out.status.success(), "failed: {}\nstdout: {}", self.stderr(), self.stdout());
        self
    }
    fn fails(self) -> Run {
        assert!(!self.out.status.success(), "unexpected success: {}", self.stdout());
        self
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn last_line(&self) -> String {
        self.stdout().lines().last().unwrap_or_default().to_owned()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout()))
    }
}

fn rapport(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("--replica")
        .arg(dir)
        .args(args)
        .env_remove("RAPPORT_REPLICA")
        .output()
        .unwrap();
    Run { out }
}

impl Replica {
    fn new() -> Replica {
        let r = Replica { dir: tempfile::tempdir().unwrap() };
        r.run(&[
            "init",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--user",
            "ana",
            "--device",
            "pc",
            "--offline",
        ])
        .ok();
        r
    }
    fn run(&self, args: &[&str]) -> Run {
        rapport(self.dir.path(), args)
    }
    fn add(&self, name: &str, extra: &[&str]) -> String {
        let mut args = vec!["account", "add", "--name", name];
        args.extend_from_slice(extra);
        let id = self.run(&args).ok().last_line();
        assert_eq!(id.len(), 36, "{id}");
        assert!(id.parse::<uuid_like::Id>().is_ok(), "{id}");
        id
    }
    fn names(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["account", "list", "--json"];
        all.extend_from_slice(args);
        let mut names: Vec<String> = self
            .run(&all)
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
    fn history_len(&self, id: &str) -> usize {
        self.run(&["account", "history", id, "--json"]).ok().json().as_array().unwrap().len()
    }
}

mod uuid_like {
    pub struct Id;
    impl std::str::FromStr for Id {
        type Err = ();
        fn from_str(s: &str) -> Result<Id, ()> {
            let groups: Vec<usize> = s.split('-').map(str::len).collect();
            let hex = s.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
            if groups == [8, 4, 4, 4, 12] && hex { Ok(Id) } else { Err(()) }
        }
    }
}

#[test]
fn commands_before_init_say_how_to_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let run = rapport(dir.path(), &["account", "list"]).fails();
    assert!(run.stderr().contains("no replica at"), "{}", run.stderr());
    assert!(run.stderr().contains("rapport init --server URL --token TOKEN"), "{}", run.stderr());
}

#[test]
fn init_against_an_unreachable_server_explains_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = format!("http://127.0.0.1:{port}");
    let run = rapport(&dir.path().join("r"), &["init", "--server", &server, "--token", "t"]).fails();
    assert!(run.stderr().contains("connection refused"), "{}", run.stderr());
    assert!(run.stderr().contains("--offline"), "{}", run.stderr());
    assert!(!dir.path().join("r/config.json").exists());
    assert!(!dir.path().join("r/replica.db").exists());
    let run = rapport(&dir.path().join("r"), &["init", "--server", "localhost:80", "--token", "t"]).fails();
    assert!(run.stderr().contains("invalid server URL"), "{}", run.stderr());
}

#[test]
fn add_set_show_and_history() {
    let r = Replica::new();
    let id = r.add("Acme Oy", &["--owner", "ana", "--territory", "north", "--team", "east", "--allow-unknown-owner"]);
    r.run(&["account", "set", &id, "party.address.city", "Tampere"]).ok();
    r.run(&["account", "set", &id, "postcode", "33100"]).ok();
    r.run(&["notes", "set", &id, "Met at the fair"]).ok();
    r.run(&["tag", "add", &id, "vip"]).ok();
    let deal =
        r.run(&["deal", "add", &id, "--title", "Paper", "--amount", "1200.00", "--currency", "eur"]).ok().last_line();
    r.run(&["deal", "stage", &id, &deal, "proposal"]).ok();
    let visit =
        r.run(&["interaction", "log", &id, "--kind", "visit", "--subject", "Intro", "--notes", "ok"]).ok().last_line();

    let shown = r.run(&["account", "show", &id, "--json"]).ok().json();
    let a = &shown["account"];
    assert_eq!(a["party"]["name"], "Acme Oy");
    assert_eq!(a["party"]["address"]["city"], "Tampere");
    assert_eq!(a["party"]["address"]["postcode"], "33100");
    assert_eq!(a["party"]["territory"], "north");
    assert_eq!(a["party"]["notes"], "Met at the fair");
    assert_eq!(a["party"]["tags"], serde_json::json!(["vip"]));
    assert_eq!(a["deals"][0]["id"], deal.as_str());
    assert_eq!(a["deals"][0]["stage"], "proposal");
    assert_eq!(a["deals"][0]["amount"], serde_json::json!({"minor": 120000, "currency": "EUR"}));
    assert_eq!(a["interactions"][0]["id"], visit.as_str());
    assert_eq!(a["visit_count"], 1);
    assert_eq!(shown["conflicts"], serde_json::json!([]));

    let text = r.run(&["account", "show", &id]).ok().stdout();
    assert!(text.contains("Acme Oy") && text.contains("1200.00 EUR") && text.contains("Intro"), "{text}");

    let history = r.run(&["account", "history", &id, "--json"]).ok().json();
    let ops: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["op"].as_str().unwrap()).collect();
    for op in [
        "account.create",
        "account.set_field",
        "account.notes",
        "account.add_tag",
        "deal.add",
        "deal.stage",
        "interaction.log",
    ] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    assert!(history.as_array().unwrap().iter().all(|h| h["user"] == "ana" && h["device"] == "pc"));
    assert!(r.run(&["account", "history", &id]).ok().stdout().contains("ana@pc"));
}

#[test]
fn bad_values_fail_clearly_and_change_nothing() {
    let r = Replica::new();
    let id = r.add("Acme", &[]);
    let before = r.history_len(&id);
    let run = r.run(&["account", "set", &id, "party.value_tier", "gold"]).fails();
    assert!(
        run.stderr().contains("party.value_tier") && run.stderr().contains("key, standard, low"),
        "{}",
        run.stderr()
    );
    let run = r.run(&["account", "set", &id, "party.shoe_size", "42"]).fails();
    assert!(run.stderr().contains("unknown field") && run.stderr().contains("party.address.city"), "{}", run.stderr());
    let run = r.run(&["account", "set", &id, "name", "  "]).fails();
    assert!(run.stderr().contains("must not be empty"), "{}", run.stderr());
    let run = r.run(&["deal", "add", &id, "--title", "X", "--amount", "5", "--currency", "euro"]).fails();
    assert!(run.stderr().contains("three-letter"), "{}", run.stderr());
    for amount in ["12,3,4", "1,200.50", "1200.505", "дуже багато"] {
        let run = r.run(&["deal", "add", &id, "--title", "X", "--amount", amount, "--currency", "UAH"]).fails();
        assert_eq!(
            run.stderr().trim(),
            "error: invalid value for --amount: expected an amount in major units with at most 2 decimals, e.g. 1200.50",
            "{amount}"
        );
    }
    let run = r.run(&["interaction", "log", &id, "--kind", "lunch", "--subject", "x"]).fails();
    assert!(run.stderr().contains("--kind") && run.stderr().contains("visit"), "{}", run.stderr());
    let run = r.run(&["account", "show", "not-an-id"]).fails();
    assert!(run.stderr().contains("not an account id"), "{}", run.stderr());
    let run = r.run(&["account", "show", "01a205f6-9d8f-712f-bfbd-5ac4763e37aa"]).fails();
    assert!(run.stderr().contains("rapport account list"), "{}", run.stderr());
    assert_eq!(r.history_len(&id), before);
    assert_eq!(r.run(&["account", "show", &id, "--json"]).ok().json()["account"]["party"]["value_tier"], "standard");
}

#[test]
fn list_filters_search_and_deletion() {
    let r = Replica::new();
    let acme = r.add("Acme Oy", &["--owner", "ana", "--team", "east", "--territory", "north", "--allow-unknown-owner"]);
    let boreal = r.add("Borealis", &["--owner", "bob", "--team", "east", "--allow-unknown-owner"]);
    let cobalt = r.add("Cobalt Mining", &["--owner", "ana", "--team", "west", "--allow-unknown-owner"]);
    r.run(&["account", "set", &acme, "value_tier", "key"]).ok();
    r.run(&["account", "set", &boreal, "loyalty_rung", "client"]).ok();
    r.run(&["account", "set", &cobalt, "lifecycle_phase", "early"]).ok();
    r.run(&["tag", "add", &boreal, "export"]).ok();
    r.run(&[
        "deal",
        "add",
        &cobalt,
        "--title",
        "Ore",
        "--amount",
        "1,00",
        "--currency",
        "EUR",
        "--stage",
        "negotiation",
    ])
    .ok();
    r.run(&["notes", "set", &boreal, "They want a reindeer discount"]).ok();

    assert_eq!(r.names(&[]), ["Acme Oy", "Borealis", "Cobalt Mining"]);
    assert_eq!(r.names(&["--owner", "ana"]), ["Acme Oy", "Cobalt Mining"]);
    assert_eq!(r.names(&["--filter", "owner=ana", "--filter", "team=west"]), ["Cobalt Mining"]);
    assert_eq!(r.names(&["--team", "east", "--territory", "north"]), ["Acme Oy"]);
    assert_eq!(r.names(&["--tier", "key"]), ["Acme Oy"]);
    assert_eq!(r.names(&["--rung", "client"]), ["Borealis"]);
    assert_eq!(r.names(&["--filter", "phase=early"]), ["Cobalt Mining"]);
    assert_eq!(r.names(&["--tag", "export"]), ["Borealis"]);
    assert_eq!(r.names(&["--stage", "negotiation"]), ["Cobalt Mining"]);
    assert_eq!(r.names(&["--search", "reindeer"]), ["Borealis"]);
    assert_eq!(r.names(&["--search", "cobalt"]), ["Cobalt Mining"]);

    r.run(&["account", "delete", &boreal]).ok();
    assert_eq!(r.names(&[]), ["Acme Oy", "Cobalt Mining"]);
    assert_eq!(r.names(&["--include-deleted"]), ["Acme Oy", "Borealis", "Cobalt Mining"]);
    r.run(&["account", "restore", &boreal]).ok();
    assert_eq!(r.names(&[]).len(), 3);

    let text = r.run(&["account", "list", "--owner", "bob"]).ok().stdout();
    assert!(text.lines().next().unwrap().starts_with("ID") && text.contains("Borealis"), "{text}");

    let run = r.run(&["account", "list", "--filter", "owner"]).fails();
    assert_eq!(run.out.status.code(), Some(2));
    assert!(run.stderr().contains("KEY=VALUE"), "{}", run.stderr());
    let run = r.run(&["account", "list", "--filter", "colour=red"]).fails();
    assert!(run.stderr().contains("unknown filter"), "{}", run.stderr());
    let run = r.run(&["account", "list", "--rung", "king"]).fails();
    assert!(run.stderr().contains("--rung") && run.stderr().contains("advocate"), "{}", run.stderr());
}

#[test]
fn merge_conflicts_and_resolve_offline() {
    let r = Replica::new();
    let a = r.add("Acme", &[]);
    let b = r.add("ACME Oy (dup)", &[]);
    r.run(&["tag", "add", &b, "from-dup"]).ok();
    r.run(&["account", "merge", &a, &b]).ok();
    assert_eq!(r.names(&[]), ["Acme"]);
    let shown = r.run(&["account", "show", &a, "--json"]).ok().json();
    assert_eq!(shown["account"]["party"]["tags"], serde_json::json!(["from-dup"]));
    assert_eq!(r.run(&["account", "show", &b, "--json"]).ok().json()["account"]["merged_into"], a.as_str());

    assert_eq!(r.run(&["conflicts", "--json"]).ok().json(), serde_json::json!([]));
    assert!(r.run(&["conflicts"]).ok().stdout().contains("no conflicts"));
    let run = r.run(&["resolve", &a, "owner", "ana"]).fails();
    assert!(run.stderr().contains("party.owner") && run.stderr().contains("has no conflict"), "{}", run.stderr());
    let status = r.run(&["status", "--json"]).ok().json();
    assert_eq!(status["user"], "ana");
    assert_eq!(status["accounts"], 2);
}

/// `rapport … | head` or `| grep -q`: the reader goes away before the
/// output is written; the command ends quietly and successfully.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let r = Replica::new();
    let id = r.add("Acme Oy", &[]);
    r.add("Бета ТОВ", &[]);
    let deal = r.run(&["deal", "add", &id, "--title", "Paper", "--amount", "10", "--currency", "EUR"]).ok().last_line();
    r.run(&["deal", "line-item", "add", &id, &deal, "--name", "Ream", "--unit-price", "5"]).ok();
    r.run(&["task", "add", &id, "--title", "Call"]).ok();
    let export = r.dir.path().join("accounts.csv");
    r.run(&["export", export.to_str().unwrap()]).ok();
    let csv = export.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["account", "show", &id, "--json"],
        &["account", "show", &id],
        &["account", "list"],
        &["account", "list", "--json"],
        &["account", "history", &id],
        &["account", "history", &id, "--json"],
        &["status"],
        &["status", "--json"],
        &["task", "list", &id],
        &["task", "list", &id, "--json"],
        &["deal", "line-item", "list", &id, &deal],
        &["deal", "line-item", "list", &id, &deal, "--json"],
        &["settings", "show"],
        &["settings", "show", "--json"],
        &["conflicts"],
        &["conflicts", "--json"],
        &["refused", "list"],
        &["refused", "list", "--json"],
        &["import", csv, "--preview"],
        &["import", csv, "--preview", "--json"],
        &["import", csv],
        &["export", "contacts", "-"],
        &["export", "deals", "-"],
        &["tag", "add", &id, "piped"],
        &["--help"],
        &["account", "--help"],
        &["--version"],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
            .arg("--replica")
            .arg(r.dir.path())
            .args(*args)
            .env_remove("RAPPORT_REPLICA")
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?} failed: {stderr}");
        assert!(stderr.is_empty(), "{args:?} printed: {stderr}");
    }
}

/// JSON output gives instants in RFC 3339 and dates as ISO dates.
#[test]
fn json_times_are_rfc3339_and_dates_iso() {
    let r = Replica::new();
    let id = r.add("Acme Oy", &[]);
    let deal =
        r.run(&["deal", "add", &id, "--title", "Paper", "--amount", "1200.00", "--currency", "eur"]).ok().last_line();
    r.run(&["account", "set", &id, &format!("deals.{deal}.expected_close"), "2027-03-31"]).ok();
    let shown = r.run(&["account", "show", &id, "--json"]).ok().json();
    let created = shown["account"]["party"]["created_at"].as_str().unwrap_or_else(|| panic!("not a string: {shown}"));
    assert!(time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339).is_ok(), "{created}");
    assert_eq!(shown["account"]["deals"][0]["expected_close"], "2027-03-31");
    let listed = r.run(&["account", "list", "--json"]).ok().json();
    assert!(listed[0]["updated_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{listed}");
    let history = r.run(&["account", "history", &id, "--json"]).ok().json();
    assert!(history[0]["at"].as_str().is_some(), "{history}");
}

/// Ids can be shortened as git shortens hashes: a unique prefix of four or
/// more characters; an ambiguous or too short one is refused with the reason.
#[test]
fn unique_id_prefixes_are_accepted() {
    let r = Replica::new();
    let acme = r.add("Acme Oy", &[]);
    let beta = r.add("Beta Ltd", &[]);
    // Distinct from here on (ids made in the same millisecond share a prefix).
    let common = acme.chars().zip(beta.chars()).take_while(|(a, b)| a == b).count();
    let short = &acme[..(common + 1).max(4)];
    let shown = r.run(&["account", "show", short, "--json"]).ok().json();
    assert_eq!(shown["account"]["party"]["name"], "Acme Oy");
    r.run(&["account", "set", short, "city", "Tampere"]).ok();
    let deal =
        r.run(&["deal", "add", short, "--title", "Paper", "--amount", "10", "--currency", "eur"]).ok().last_line();
    r.run(&["deal", "stage", short, &deal[..8], "proposal"]).ok();
    let shown = r.run(&["account", "show", &acme, "--json"]).ok().json();
    assert_eq!(shown["account"]["deals"][0]["stage"], "proposal");

    // Ids are time-ordered (UUIDv7): accounts made together share their start.
    assert!(common >= 4, "{acme} {beta}");
    let run = r.run(&["account", "show", &acme[..4]]).fails();
    assert!(run.stderr().contains(&format!("the id {} could be any of 2 accounts", &acme[..4])), "{}", run.stderr());
    let run = r.run(&["account", "show", "01a"]).fails();
    assert!(
        run.stderr().contains("\"01a\" is not an account id (a UUID, or its first 4 or more characters)"),
        "{}",
        run.stderr()
    );
    let run = r.run(&["account", "show", "ffff"]).fails();
    assert!(run.stderr().contains("no account with id ffff"), "{}", run.stderr());
}

#[test]
fn deal_line_items_priced_in_major_units_and_the_amount_they_give() {
    let r = Replica::new();
    let id = r.add("Acme Oy", &[]);
    let deal =
        r.run(&["deal", "add", &id, "--title", "Boilers", "--amount", "1", "--currency", "EUR"]).ok().last_line();
    let boiler = r
        .run(&[
            "deal",
            "line-item",
            "add",
            &id,
            &deal,
            "--name",
            "Boiler",
            "--quantity",
            "2",
            "--unit-price",
            "1200.50",
            "--discount",
            "10",
        ])
        .ok()
        .last_line();
    r.run(&["deal", "line-item", "add", &id, &deal, "--name", "Valve", "--unit-price", "99.9"]).ok();
    let listed = r.run(&["deal", "line-item", "list", &id, &deal, "--json"]).ok().json();
    assert_eq!(listed["amount_minor"], 216_090 + 9_990);
    assert_eq!(listed["amount"], "2260.80");
    assert_eq!(listed["amount_from_line_items"], true);
    assert_eq!(listed["line_items"][0]["unit_price_minor"], 120_050);
    let text = r.run(&["deal", "line-item", "list", &id, &deal]).ok().stdout();
    assert!(text.contains("Boiler") && text.contains("1200.50") && text.contains("amount 2260.80 EUR"), "{text}");
    let shown = r.run(&["account", "show", &id]).ok().stdout();
    assert!(shown.contains("2 × Boiler at 1200.50 EUR −10%  = 2160.90 EUR"), "{shown}");

    r.run(&["deal", "line-item", "set", &id, &deal, &boiler, "--quantity", "1", "--discount", "0"]).ok();
    let a = r.run(&["account", "show", &id, "--json"]).ok().json();
    assert_eq!(a["account"]["deals"][0]["amount"]["minor"], 120_050 + 9_990);

    // Bad input is refused with what to do, and changes nothing.
    let before = r.history_len(&id);
    let run = r.run(&["deal", "line-item", "add", &id, &deal, "--name", "X", "--unit-price", "12.345"]).fails();
    assert!(run.stderr().contains("--unit-price") && run.stderr().contains("1200.50"), "{}", run.stderr());
    let run = r.run(&["deal", "line-item", "add", &id, &deal, "--name", " ", "--unit-price", "1"]).fails();
    assert!(run.stderr().contains("line_item.name"), "{}", run.stderr());
    let run = r.run(&["deal", "line-item", "remove", &id, &deal, "not-an-id"]).fails();
    assert!(run.stderr().contains("line-item list"), "{}", run.stderr());
    let run = r.run(&["deal", "line-item", "remove", &id, &deal, "01a205f6-9d8f-712f-bfbd-5ac4763e37aa"]).fails();
    assert!(run.stderr().contains("no line item"), "{}", run.stderr());
    let run = r.run(&["deal", "line-item", "set", &id, &deal, &boiler]).fails();
    assert!(run.stderr().contains("nothing to change"), "{}", run.stderr());
    assert_eq!(r.history_len(&id), before);

    // A hand-set amount stays until the deal follows its line items again.
    r.run(&["account", "set", &id, &format!("deals.{deal}.amount"), "5000.00"]).ok();
    r.run(&["deal", "line-item", "remove", &id, &deal, &boiler]).ok();
    let a = r.run(&["account", "show", &id, "--json"]).ok().json();
    assert_eq!(a["account"]["deals"][0]["amount"]["minor"], 500_000);
    assert!(r.run(&["account", "show", &id]).ok().stdout().contains("amount set by hand"));
    r.run(&["deal", "follow-line-items", &id, &deal]).ok();
    let a = r.run(&["account", "show", &id, "--json"]).ok().json();
    assert_eq!(a["account"]["deals"][0]["amount"]["minor"], 9_990);
}
