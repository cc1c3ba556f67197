//! Editing every part of an account with the `rapport` binary, offline on a
//! real replica: contacts, consents, roles, ties, tasks, ladder and lifecycle
//! moves, ending and reopening a relationship, lost deals, planned
//! interactions and the settings. Bad input fails with a plain error and
//! changes nothing.

#![allow(clippy::unwrap_used)]

mod offline;

use offline::{Replica, is_uuid, short};
use serde_json::{Value, json};

fn contact<'a>(a: &'a Value, id: &str) -> &'a Value {
    a["account"]["contacts"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()
}

fn deal<'a>(a: &'a Value, id: &str) -> &'a Value {
    a["account"]["deals"].as_array().unwrap().iter().find(|d| d["id"] == id).unwrap()
}

#[test]
fn contacts_phones_emails_and_deactivation() {
    let r = Replica::new();
    let acme = r.add("Acme");
    let olena = r.new_id(&[
        "contact",
        "add",
        short(&acme, 8),
        "--name",
        "Olena Kovalenko",
        "--job-title",
        "Buyer",
        "--email",
        "olena@acme.ua",
        "--phone",
        "work:+380 44 123 4567",
        "--phone",
        "+380 67 000 1111",
        "--preferred-channel",
        "email",
        "--language",
        "uk",
    ]);
    let c = short(&olena, 8);
    r.run(&["contact", "edit", &acme, c, "--job-title", "Head of purchasing", "--preferred-channel", "phone"]).ok();
    r.run(&["contact", "phone", "add", &acme, c, "+380 50 222 3333", "--kind", "home"]).ok();
    r.run(&["contact", "phone", "remove", &acme, c, "+380 67 000 1111"]).ok();
    r.run(&["contact", "email", "add", &acme, c, "o.k@acme.ua"]).ok();
    r.run(&["contact", "email", "remove", &acme, c, "olena@acme.ua"]).ok();
    r.run(&["contact", "deactivate", &acme, c]).ok();

    let a = r.show(&acme);
    let got = contact(&a, &olena);
    assert_eq!(got["name"], "Olena Kovalenko");
    assert_eq!(got["job_title"], "Head of purchasing");
    assert_eq!(got["preferred_channel"], "phone");
    assert_eq!(got["language"], "uk");
    assert_eq!(got["emails"], json!(["o.k@acme.ua"]));
    let mut phones: Vec<(String, String)> = got["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap().to_owned(), p["number"].as_str().unwrap().to_owned()))
        .collect();
    phones.sort();
    assert_eq!(
        phones,
        [("home".to_owned(), "+380 50 222 3333".to_owned()), ("work".to_owned(), "+380 44 123 4567".to_owned())]
    );
    assert_eq!(got["active"], false);
    let text = r.run(&["account", "show", &acme]).ok().stdout();
    assert!(text.contains("Olena Kovalenko, Head of purchasing (inactive)  [prefers phone, language uk]"), "{text}");
    assert!(text.contains("phone  +380 44 123 4567 (work)") && text.contains("e-mail o.k@acme.ua"), "{text}");

    r.run(&["contact", "reactivate", &acme, c]).ok();
    assert_eq!(contact(&r.show(&acme), &olena)["active"], true);

    // Bad input: a plain error, nothing changed.
    let before = r.snapshot(&acme);
    let bad: &[(&[&str], &str)] = &[
        (
            &["contact", "email", "add", &acme, c, "not-an-address"],
            "invalid value for contact.emails: not an email address",
        ),
        (&["contact", "phone", "add", &acme, c, "call me"], "expected a phone number of 3 to 20 digits"),
        (&["contact", "phone", "add", &acme, c, "+380 1", "--kind", "pager"], "invalid --kind \"pager\""),
        (&["contact", "phone", "remove", &acme, c, "+1 555 0000"], "has no phone \"+1 555 0000\""),
        (&["contact", "email", "remove", &acme, c, "nobody@acme.ua"], "has no e-mail \"nobody@acme.ua\""),
        (&["contact", "edit", &acme, c], "nothing to change"),
        (&["contact", "edit", &acme, c, "--preferred-channel", "pigeon"], "invalid --preferred-channel \"pigeon\""),
        (&["contact", "deactivate", &acme, "ffff"], "\"ffff\" is not a contact id of this account"),
        (&["contact", "add", &acme, "--name", " "], "invalid value for contact.name: must not be empty"),
        (&["contact", "add", "ffffffff", "--name", "X"], "no account with id ffffffff"),
    ];
    for (args, message) in bad {
        let run = r.run(args).fails();
        assert!(run.error().contains(message), "{args:?}: {}", run.stderr());
    }
    assert_eq!(r.snapshot(&acme), before, "failed commands changed nothing");
}

#[test]
fn consents_roles_and_ties() {
    let r = Replica::new();
    let acme = r.add("Acme");
    let olena = r.new_id(&["contact", "add", &acme, "--name", "Olena"]);
    let taras = r.new_id(&["contact", "add", &acme, "--name", "Taras"]);
    let refusal = r.new_id(&[
        "consent",
        "record",
        &acme,
        &olena,
        "--channel",
        "email",
        "--topic",
        "newsletter",
        "--status",
        "refused",
        "--reason",
        "Asked on the phone",
    ]);
    r.run(&["consent", "record", &acme, &olena, "--channel", "sms", "--topic", "offers", "--status", "opt-in"]).ok();
    r.run(&["role", "add", &acme, "supplier"]).ok();
    r.run(&["role", "remove", &acme, "customer"]).ok();
    let tie = r.new_id(&[
        "tie",
        "add",
        &acme,
        "--from",
        &olena,
        "--to",
        &taras,
        "--kind",
        "professional",
        "--role",
        "reports to",
    ]);

    let a = r.show(&acme);
    let consents = contact(&a, &olena)["consents"].as_array().unwrap().clone();
    assert_eq!(consents.len(), 2);
    let c = consents.iter().find(|c| c["id"] == refusal).unwrap();
    assert_eq!(
        (&c["channel"], &c["topic"], &c["status"], &c["reason"], &c["by"]),
        (&json!("email"), &json!("newsletter"), &json!("refused"), &json!("Asked on the phone"), &json!("ana"))
    );
    assert!(c["at"].as_str().unwrap().ends_with('Z'), "RFC 3339: {}", c["at"]);
    assert_eq!(a["account"]["party"]["roles"], json!(["supplier"]));
    let ties = a["account"]["ties"].as_array().unwrap();
    assert_eq!(ties.len(), 1);
    assert_eq!((&ties[0]["id"], &ties[0]["from"], &ties[0]["to"]), (&json!(tie), &json!(olena), &json!(taras)));
    assert_eq!((&ties[0]["kind"], &ties[0]["role"]), (&json!("professional"), &json!("reports to")));
    let text = r.run(&["account", "show", &acme]).ok().stdout();
    assert!(text.contains("consent refused email about \"newsletter\": Asked on the phone"), "{text}");
    assert!(text.contains("Olena → Taras  professional (reports to)"), "{text}");
    assert!(text.contains("roles:       supplier"), "{text}");

    // A tie to another account, named by a prefix.
    let other = r.add("Borealis");
    r.run(&["tie", "add", &acme, "--from", &acme, "--to", &other, "--kind", "group"]).ok();
    assert_eq!(r.show(&acme)["account"]["ties"].as_array().unwrap().len(), 2);
    // `show` names the other account, with its id.
    let text = r.run(&["account", "show", &acme]).ok().stdout();
    assert!(text.contains(&format!("Acme → Borealis ({other})  group")), "{text}");

    let before = r.snapshot(&acme);
    let bad: &[(&[&str], &str)] = &[
        (
            &["consent", "record", &acme, &olena, "--channel", "fax", "--topic", "x", "--status", "refused"],
            "invalid --channel \"fax\": expected one of: phone, email, sms, messenger, visit, post",
        ),
        (
            &["consent", "record", &acme, &olena, "--channel", "email", "--topic", "x", "--status", "maybe"],
            "invalid --status \"maybe\": expected one of: opt_in, opt_out, refused",
        ),
        (
            &["consent", "record", &acme, &olena, "--channel", "email", "--topic", " ", "--status", "opt-in"],
            "consent.topic: must not be empty",
        ),
        (
            &["role", "add", &acme, "friend"],
            "invalid role \"friend\": expected one of: customer, supplier, partner, reseller, government, internal",
        ),
        (
            &["tie", "add", &acme, "--from", &olena, "--to", &olena, "--kind", "social"],
            "a tie needs two different ends",
        ),
        (&["tie", "add", &acme, "--from", &olena, "--to", &taras, "--kind", "cousin"], "invalid --kind \"cousin\""),
        (
            &["tie", "add", &acme, "--from", &olena, "--to", "zzzz", "--kind", "social"],
            "--to \"zzzz\" is neither a contact of this account nor an account on this replica",
        ),
    ];
    for (args, message) in bad {
        let run = r.run(args).fails();
        assert!(run.error().contains(message), "{args:?}: {}", run.stderr());
    }
    assert_eq!(r.snapshot(&acme), before, "failed commands changed nothing");
}

#[test]
fn tasks_add_list_and_done() {
    let r = Replica::new();
    let acme = r.add("Acme");
    let call = r.new_id(&["task", "add", &acme, "--title", "Call back", "--due", "2027-01-10", "--assignee", "bob"]);
    let mail = r.new_id(&["task", "add", &acme, "--title", "Send the price list"]);
    r.run(&["task", "done", &acme, &call]).ok();

    let all = r.run(&["task", "list", &acme, "--json"]).ok().json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let done = all.as_array().unwrap().iter().find(|t| t["id"] == call).unwrap();
    assert_eq!(
        (&done["status"], &done["due"], &done["assignee"]),
        (&json!("done"), &json!("2027-01-10"), &json!("bob"))
    );
    let open = r.run(&["task", "list", &acme, "--open", "--json"]).ok().json();
    assert_eq!(open.as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>(), [json!(mail)]);
    let text = r.run(&["task", "list", &acme]).ok().stdout();
    assert!(text.contains("[done] Call back  due 2027-01-10  for bob"), "{text}");

    let before = r.snapshot(&acme);
    let bad: &[(&[&str], &str)] = &[
        (
            &["task", "add", &acme, "--title", "X", "--due", "10.01.2027"],
            "invalid --due \"10.01.2027\": expected a date as YYYY-MM-DD",
        ),
        (&["task", "add", &acme, "--title", "X", "--due", "2027-02-30"], "invalid --due \"2027-02-30\""),
        (&["task", "add", &acme, "--title", ""], "task.title: must not be empty"),
        (&["task", "done", &acme, "0000"], "\"0000\" is not a task id of this account"),
        (
            &["task", "done", &acme, "01a2b3c4-0000-7000-8000-000000000000"],
            "no task with id 01a2b3c4-0000-7000-8000-000000000000",
        ),
    ];
    for (args, message) in bad {
        let run = r.run(args).fails();
        assert!(run.error().contains(message), "{args:?}: {}", run.stderr());
    }
    assert_eq!(r.snapshot(&acme), before, "failed commands changed nothing");
}

#[test]
fn ladder_and_lifecycle_moves_keep_their_reasons() {
    let r = Replica::new();
    let acme = r.add("Acme");
    r.run(&["ladder", "move", &acme, "--to", "customer", "--reason", "First order"]).ok();
    r.run(&["ladder", "move", &acme, "--to", "client", "--reason", "Third order this year"]).ok();
    r.run(&["lifecycle", "move", &acme, "--to", "early", "--reason", "Contract signed"]).ok();
    let a = r.show(&acme);
    let p = &a["account"]["party"];
    assert_eq!((&p["loyalty_rung"], &p["lifecycle_phase"]), (&json!("client"), &json!("early")));
    let ladder: Vec<(String, String, String)> = a["account"]["ladder_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (m["from"].as_str().unwrap().into(), m["to"].as_str().unwrap().into(), m["reason"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(
        ladder,
        [
            ("prospect".into(), "customer".into(), "First order".into()),
            ("customer".into(), "client".into(), "Third order this year".into())
        ]
    );
    let life = &a["account"]["lifecycle_history"][0];
    assert_eq!(
        (&life["from"], &life["to"], &life["reason"], &life["by"]),
        (&json!("pre_relationship"), &json!("early"), &json!("Contract signed"), &json!("ana"))
    );
    let text = r.run(&["account", "show", &acme]).ok().stdout();
    assert!(text.contains("customer → client  by ana: Third order this year"), "{text}");
    assert!(text.contains("pre_relationship → early  by ana: Contract signed"), "{text}");

    let before = r.snapshot(&acme);
    let run = r.run(&["ladder", "move", &acme, "--to", "fan"]).fails();
    assert_eq!(
        run.error(),
        "invalid --to \"fan\": expected one of: prospect, customer, client, supporter, advocate, partner"
    );
    let run = r.run(&["lifecycle", "move", &acme, "--to", "over"]).fails();
    assert!(run.error().contains("pre_relationship, early, development, long_term, final"), "{}", run.stderr());
    assert_eq!(r.snapshot(&acme), before, "failed commands changed nothing");
}

#[test]
fn ending_a_relationship_needs_a_catalogue_reason_and_can_be_reopened() {
    let r = Replica::new();
    let acme = r.add("Acme");
    r.run(&["lifecycle", "move", &acme, "--to", "long_term"]).ok();

    let before = r.snapshot(&acme);
    let run = r.run(&["account", "set", &acme, "party.status", "lost"]).fails();
    assert!(run.error().contains("`rapport account end ID --reason REASON"), "{}", run.stderr());
    assert_eq!(run.out.status.code(), Some(2));
    let run = r.run(&["account", "set", &acme, "status", "former"]).fails();
    assert!(run.error().contains("rapport account end"), "the CSV column name too: {}", run.stderr());
    let run = r.run(&["account", "end", &acme, "--reason", "bored"]).fails();
    assert_eq!(
        run.error(),
        "unknown --reason \"bored\": the end-reason catalogue has closed_business, dissatisfied, merged, moved_away, \
         other, switched_supplier; an administrator adds reasons with `rapport settings reason add end REASON`"
    );
    let run = r.run(&["account", "end", &acme, "--reason", "moved_away", "--date", "31/01/2027"]).fails();
    assert_eq!(run.error(), "invalid --date \"31/01/2027\": expected a date as YYYY-MM-DD, e.g. 2027-03-31");
    let run = r.run(&["account", "end", &acme, "--reason", "moved_away", "--status", "active"]).fails();
    assert!(run.error().contains("give former or lost"), "{}", run.stderr());
    let run = r.run(&["account", "end", &acme, "--reason", "moved_away", "--phase", "afterlife"]).fails();
    assert!(run.error().starts_with("invalid --phase \"afterlife\""), "{}", run.stderr());
    let run = r.run(&["account", "reopen", &acme]).fails();
    assert!(run.error().contains("has not ended"), "{}", run.stderr());
    assert_eq!(r.snapshot(&acme), before, "failed commands changed nothing");

    r.run(&[
        "account",
        "end",
        &acme,
        "--reason",
        "switched_supplier",
        "--date",
        "2027-01-31",
        "--status",
        "former",
        "--phase",
        "final",
    ])
    .ok();
    let p = r.show(&acme)["account"]["party"].clone();
    assert_eq!(p["status"], "former");
    assert_eq!(p["ending"], json!({"reason": "switched_supplier", "on": "2027-01-31", "phase": "final"}));
    assert_eq!(p["lifecycle_phase"], "final");
    let text = r.run(&["account", "show", &acme]).ok().stdout();
    assert!(text.contains("ended:       2027-01-31 (switched_supplier, in phase final"), "{text}");
    assert_eq!(r.run(&["account", "list", "--status", "former", "--json"]).ok().json()[0]["id"], json!(acme));

    r.run(&["account", "restore-relationship", &acme]).ok();
    let p = r.show(&acme)["account"]["party"].clone();
    assert_eq!((&p["status"], &p["ending"]), (&json!("active"), &Value::Null));
    // The ending stays in the history.
    let history = r.run(&["account", "history", &acme, "--json"]).ok().json();
    let ops: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["op"].as_str().unwrap()).collect();
    assert!(ops.contains(&"party.end") && ops.ends_with(&["party.reopen"]), "{ops:?}");

    // Ending today by default; in the phase it is in already, the lifecycle does not move again.
    r.run(&["account", "end", &acme, "--reason", "closed_business", "--phase", "final"]).ok();
    let a = r.show(&acme);
    let moves: Vec<&str> =
        a["account"]["lifecycle_history"].as_array().unwrap().iter().map(|m| m["to"].as_str().unwrap()).collect();
    assert_eq!(moves, ["long_term", "final"]);
    let p = a["account"]["party"].clone();
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(p["ending"], json!({"reason": "closed_business", "on": today, "phase": "final"}));
    assert_eq!(p["status"], "lost");
}

#[test]
fn deals_lost_with_a_catalogue_reason_amounts_in_major_units() {
    let r = Replica::new();
    let acme = r.add("Acme");
    let olena = r.new_id(&["contact", "add", &acme, "--name", "Olena"]);
    let boilers = r.new_id(&[
        "deal",
        "add",
        &acme,
        "--title",
        "Boilers",
        "--amount",
        "360 000,00",
        "--currency",
        "UAH",
        "--forecast",
        "commit",
        "--close-date",
        "2027-03-31",
        "--next-step",
        "Send the offer",
        "--next-step-due",
        "2027-01-15",
        "--contact",
        short(&olena, 8),
    ]);
    let d = short(&boilers, 8);
    r.run(&["account", "set", &acme, &format!("deals.{d}.amount"), "365000.50"]).ok();
    r.run(&["account", "set", &acme, &format!("deals.{d}.probability"), "40"]).ok();
    let a = r.show(&acme);
    let got = deal(&a, &boilers);
    assert_eq!(got["amount"], json!({"minor": 36_500_050, "currency": "UAH"}));
    assert_eq!(a["amounts"][&boilers], "365000.50");
    assert_eq!(
        (&got["forecast"], &got["expected_close"], &got["next_step"], &got["next_step_due"], &got["primary_contact"]),
        (&json!("commit"), &json!("2027-03-31"), &json!("Send the offer"), &json!("2027-01-15"), &json!(olena))
    );
    let text = r.run(&["account", "show", &acme]).ok().stdout();
    assert!(text.contains("Boilers  365000.50 UAH  prospecting (40%)  open  forecast commit"), "{text}");
    assert!(text.contains("close date  2027-03-31") && text.contains("next step   Send the offer (due 2027-01-15)"));
    assert!(text.contains("contact     Olena") && text.contains("stage - → prospecting"), "{text}");

    let before = r.snapshot(&acme);
    let bad: &[(&[&str], &str)] = &[
        (
            &["deal", "lost", &acme, d, "--reason", "too expensive"],
            "unknown --reason \"too expensive\": the lost-reason catalogue has competitor, no_budget, no_decision, \
             other, price, product_fit, timing; an administrator adds reasons with `rapport settings reason add lost \
             REASON`",
        ),
        (&["deal", "lost", &acme, "9999", "--reason", "price"], "\"9999\" is not a deal id of this account"),
        (
            &["account", "set", &acme, &format!("deals.{d}.amount"), "1,200.50"],
            "expected an amount in major units with at most 2 decimals, e.g. 1200.50",
        ),
        (&["account", "set", &acme, &format!("deals.{d}.expected_close"), "March"], "expected_close"),
        (
            &["deal", "add", &acme, "--title", "X", "--amount", "1", "--currency", "UAH", "--close-date", "2027-13-01"],
            "invalid --close-date",
        ),
        (
            &["deal", "add", &acme, "--title", "X", "--amount", "1", "--currency", "UAH", "--forecast", "sure"],
            "invalid --forecast \"sure\"",
        ),
        (
            &["deal", "add", &acme, "--title", "X", "--amount", "1", "--currency", "hryvnia"],
            "invalid --currency \"hryvnia\": expected a three-letter ISO 4217 code",
        ),
    ];
    for (args, message) in bad {
        let run = r.run(args).fails();
        assert!(run.error().contains(message), "{args:?}: {}", run.stderr());
    }
    assert_eq!(r.snapshot(&acme), before, "failed commands changed nothing");

    let pumps = r.new_id(&["deal", "add", &acme, "--title", "Pumps", "--amount", "1200", "--currency", "UAH"]);
    r.run(&["deal", "won", &acme, &pumps]).ok();
    let got = deal(&r.show(&acme), &pumps).clone();
    assert_eq!((&got["outcome"], &got["stage"], &got["probability"]), (&json!("won"), &json!("won"), &json!(100)));

    r.run(&["deal", "lost", &acme, &boilers, "--reason", "competitor", "--note", "Went with Bosch"]).ok();
    let got = deal(&r.show(&acme), &boilers).clone();
    assert_eq!((&got["outcome"], &got["stage"]), (&json!("lost"), &json!("lost")));
    assert_eq!((&got["lost_reason"], &got["lost_note"]), (&json!("competitor"), &json!("Went with Bosch")));
    let text = r.run(&["account", "show", &acme]).ok().stdout();
    assert!(text.contains("lost        competitor: Went with Bosch"), "{text}");

    // The history shows old and new values, amounts in major units with the currency.
    r.run(&["account", "set", &acme, &format!("deals.{pumps}.amount"), "1 500,50"]).ok();
    let history = r.run(&["account", "history", &acme]).ok().stdout();
    assert!(history.contains(&format!("deals.{pumps}.amount: 1200.00 UAH → 1500.50 UAH")), "{history}");
    assert!(history.contains(&format!("deals.{boilers}.lost_note: (none) → \"Went with Bosch\"")), "{history}");

    // Each change's short hash shows the account as it was right after it.
    let won_at =
        history.lines().find(|l| l.contains("deal.stage") && l.contains(&pumps)).unwrap_or_else(|| panic!("{history}"));
    let hash = won_at.split_whitespace().next().unwrap();
    let then = r.run(&["account", "show", &acme, "--at", hash, "--json"]).ok().json();
    assert_eq!(deal(&then, &pumps)["amount"]["minor"], 120_000, "before the amount was changed");
    assert_eq!(deal(&then, &pumps)["outcome"], "won");
    let text = r.run(&["account", "show", &acme, "--at", hash]).ok().stdout();
    assert!(text.starts_with(&format!("as it was after change {hash}")), "{text}");
    assert!(text.contains("1200.00 UAH"), "{text}");
    let run = r.run(&["account", "show", &acme, "--at", "abc"]).fails();
    assert!(run.error().contains("\"abc\" is not a change of this account"), "{}", run.stderr());
}

#[test]
fn planned_and_held_interactions_with_contacts_deal_and_direction() {
    let r = Replica::new();
    let acme = r.add("Acme");
    let olena = r.new_id(&["contact", "add", &acme, "--name", "Olena"]);
    let boilers = r.new_id(&["deal", "add", &acme, "--title", "Boilers", "--amount", "1000", "--currency", "EUR"]);
    let visit = r.new_id(&[
        "interaction",
        "plan",
        &acme,
        "--kind",
        "visit",
        "--subject",
        "Site survey",
        "--at",
        "2027-01-15 10:00",
        "--until",
        "2027-01-15T12:30:00+02:00",
        "--contact",
        short(&olena, 8),
        "--deal",
        short(&boilers, 8),
        "--direction",
        "outbound",
    ]);
    let call = r.new_id(&[
        "interaction",
        "log",
        &acme,
        "--kind",
        "call",
        "--subject",
        "Asked for a discount",
        "--at",
        "2026-12-01T09:15:00Z",
        "--contact",
        &olena,
        "--direction",
        "inbound",
        "--outcome",
        "Offer by Friday",
    ]);
    let a = r.show(&acme);
    let all = a["account"]["interactions"].as_array().unwrap();
    let v = all.iter().find(|i| i["id"] == visit).unwrap();
    assert_eq!((&v["status"], &v["kind"], &v["direction"]), (&json!("planned"), &json!("visit"), &json!("outbound")));
    assert_eq!(
        (&v["planned_start"], &v["planned_end"]),
        (&json!("2027-01-15T10:00:00Z"), &json!("2027-01-15T10:30:00Z"))
    );
    assert_eq!((&v["contacts"], &v["deal"], &v["actual_start"]), (&json!([olena]), &json!(boilers), &Value::Null));
    let c = all.iter().find(|i| i["id"] == call).unwrap();
    assert_eq!(
        (&c["status"], &c["actual_start"], &c["outcome"]),
        (&json!("held"), &json!("2026-12-01T09:15:00Z"), &json!("Offer by Friday"))
    );
    assert_eq!(a["account"]["visit_count"], 0, "a planned visit is not a visit yet");
    let text = r.run(&["account", "show", &acme]).ok().stdout();
    assert!(text.contains("planned (1):"), "{text}");
    assert!(
        text.contains("2027-01-15T10:00:00Z  visit   outbound  Site survey  (planned, ana)  with Olena, deal Boilers"),
        "{text}"
    );
    assert!(text.contains("call    inbound  Asked for a discount  (held, ana)  with Olena"), "{text}");

    let before = r.snapshot(&acme);
    let bad: &[(&[&str], &str)] = &[
        (
            &["interaction", "plan", &acme, "--kind", "call", "--subject", "x", "--at", "tomorrow"],
            "invalid --at \"tomorrow\": expected a time as RFC 3339 (2027-03-31T09:30:00+03:00) or as YYYY-MM-DD HH:MM in UTC",
        ),
        (
            &[
                "interaction",
                "plan",
                &acme,
                "--kind",
                "call",
                "--subject",
                "x",
                "--at",
                "2027-01-15 10:00",
                "--until",
                "2027-01-15 09:00",
            ],
            "ends before it starts",
        ),
        (
            &[
                "interaction",
                "plan",
                &acme,
                "--kind",
                "call",
                "--subject",
                "x",
                "--at",
                "2027-01-15 10:00",
                "--direction",
                "sideways",
            ],
            "invalid --direction \"sideways\"",
        ),
        (
            &[
                "interaction",
                "plan",
                &acme,
                "--kind",
                "call",
                "--subject",
                "x",
                "--at",
                "2027-01-15 10:00",
                "--contact",
                "abcd",
            ],
            "\"abcd\" is not a contact id of this account",
        ),
        (
            &[
                "interaction",
                "log",
                &acme,
                "--kind",
                "call",
                "--subject",
                "x",
                "--deal",
                "01a2b3c4-0000-7000-8000-000000000000",
            ],
            "no deal with id 01a2b3c4-0000-7000-8000-000000000000",
        ),
    ];
    for (args, message) in bad {
        let run = r.run(args).fails();
        assert!(run.error().contains(message), "{args:?}: {}", run.stderr());
    }
    assert_eq!(r.snapshot(&acme), before, "failed commands changed nothing");
}

#[test]
fn a_planned_interaction_is_marked_held_by_its_id_prefix() {
    let r = Replica::new();
    let acme = r.add("Acme");
    let visit = r.new_id(&[
        "interaction",
        "plan",
        &acme,
        "--kind",
        "visit",
        "--subject",
        "Site survey",
        "--at",
        "2027-01-15 10:00",
        "--notes",
        "bring samples",
    ]);
    let run = r
        .run(&[
            "interaction",
            "held",
            short(&acme, 6),
            short(&visit, 6),
            "--at",
            "2027-01-15T10:20:00+02:00",
            "--until",
            "2027-01-15 11:00",
            "--outcome",
            "Ordered two boilers",
        ])
        .ok();
    assert_eq!(run.stdout().trim(), format!("marked interaction {visit} on {acme} as held"));
    let a = r.show(&acme);
    let v = a["account"]["interactions"].as_array().unwrap().iter().find(|i| i["id"] == visit).unwrap().clone();
    assert_eq!(
        (&v["status"], &v["planned_start"], &v["actual_start"], &v["actual_end"]),
        (
            &json!("held"),
            &json!("2027-01-15T10:00:00Z"),
            &json!("2027-01-15T08:20:00Z"),
            &json!("2027-01-15T11:00:00Z")
        )
    );
    assert_eq!((&v["outcome"], &v["notes"]), (&json!("Ordered two boilers"), &json!("bring samples")));
    assert_eq!(a["account"]["visit_count"], 1, "the held visit counts");

    let before = r.snapshot(&acme);
    let bad: &[(&[&str], &str)] = &[
        (&["interaction", "held", &acme, &visit], "this interaction is already marked held"),
        (&["interaction", "held", &acme, "abcd"], "\"abcd\" is not an interaction id of this account"),
        (&["interaction", "held", &acme, short(&visit, 8), "--at", "soon"], "invalid --at \"soon\""),
    ];
    for (args, message) in bad {
        let run = r.run(args).fails();
        assert!(run.error().contains(message), "{args:?}: {}", run.stderr());
    }
    assert_eq!(r.snapshot(&acme), before, "failed commands changed nothing");
    let help = r.run(&["interaction", "--help"]).ok().stdout();
    assert!(help.lines().any(|l| l.trim_start().starts_with("held")), "{help}");
}

#[test]
fn settings_show_and_change_stages_and_reasons() {
    let r = Replica::new();
    let text = r.run(&["settings", "show"]).ok().stdout();
    assert!(text.contains("proposal") && text.contains("50%") && text.contains("21 days"), "{text}");
    assert!(text.contains("lost reasons: competitor, no_budget"), "{text}");
    let s = r.run(&["settings", "show", "--json"]).ok().json();
    assert_eq!(s["stages"].as_array().unwrap().len(), 6);

    r.run(&["settings", "stage", "proposal", "--probability", "60", "--stale-after-days", "10"]).ok();
    r.run(&["settings", "stage", "demo", "--name", "Demo", "--probability", "30", "--order", "3"]).ok();
    r.run(&["settings", "reason", "add", "lost", "too_slow"]).ok();
    r.run(&["settings", "reason", "add", "end", "retired"]).ok();
    let s = r.run(&["settings", "show", "--json"]).ok().json();
    let stage = |id: &str| s["stages"].as_array().unwrap().iter().find(|st| st["id"] == id).unwrap().clone();
    assert_eq!(
        (stage("proposal")["probability"].clone(), stage("proposal")["stale_after_days"].clone()),
        (json!(60), json!(10))
    );
    assert_eq!(stage("proposal")["name"], "Proposal", "unchanged fields kept");
    assert_eq!((stage("demo")["kind"].clone(), stage("demo")["stale_after_days"].clone()), (json!("open"), json!(30)));
    assert!(s["lost_reasons"].as_array().unwrap().contains(&json!("too_slow")));
    assert!(s["end_reasons"].as_array().unwrap().contains(&json!("retired")));

    // The new stage and reasons are usable at once.
    let acme = r.add("Acme");
    let d = r.new_id(&["deal", "add", &acme, "--title", "X", "--amount", "5", "--currency", "EUR", "--stage", "demo"]);
    assert_eq!(deal(&r.show(&acme), &d)["probability"], 30);
    r.run(&["deal", "lost", &acme, &d, "--reason", "too_slow"]).ok();
    r.run(&["account", "end", &acme, "--reason", "retired"]).ok();

    let before = r.run(&["settings", "show", "--json"]).ok().stdout();
    let run = r.run(&["settings", "stage", "pilot"]).fails();
    assert!(run.error().contains("a new stage needs --name and --probability"), "{}", run.stderr());
    let run = r.run(&["settings", "stage", "proposal", "--probability", "120"]).fails();
    assert!(run.error().contains("must be between 0 and 100"), "{}", run.stderr());
    let run = r.run(&["settings", "stage", "proposal", "--kind", "maybe"]).fails();
    assert!(run.error().contains("invalid --kind \"maybe\""), "{}", run.stderr());
    let run = r.run(&["settings", "reason", "add", "won", "luck"]).fails();
    assert!(run.error().contains("unknown catalogue \"won\": use lost"), "{}", run.stderr());
    let run = r.run(&["settings", "reason", "add", "lost", "  "]).fails();
    assert!(run.error().contains("must not be empty"), "{}", run.stderr());
    let run = r.run(&["settings", "reason", "remove", "lost", "luck"]).fails();
    assert!(run.error().contains("the catalogue has no reason \"luck\""), "{}", run.stderr());
    let run = r.run(&["settings", "reason", "remove", "won", "too_slow"]).fails();
    assert!(run.error().contains("unknown catalogue \"won\": use lost"), "{}", run.stderr());
    assert_eq!(r.run(&["settings", "show", "--json"]).ok().stdout(), before, "failed commands changed nothing");

    // A reason taken out is no longer offered; the deal lost for it keeps it.
    r.run(&["settings", "reason", "remove", "lost", "too_slow"]).ok();
    let s = r.run(&["settings", "show", "--json"]).ok().json();
    assert!(!s["lost_reasons"].as_array().unwrap().contains(&json!("too_slow")));
    assert_eq!(deal(&r.show(&acme), &d)["lost_reason"], "too_slow");
    let d2 = r.new_id(&["deal", "add", &acme, "--title", "Y", "--amount", "5", "--currency", "EUR"]);
    let run = r.run(&["deal", "lost", &acme, &d2, "--reason", "too_slow"]).fails();
    assert!(run.error().contains("too_slow"), "{}", run.stderr());
}

#[test]
fn ids_inside_an_account_may_be_shortened_and_ambiguous_ones_are_named() {
    let r = Replica::new();
    let acme = r.add("Acme");
    let first = r.new_id(&["contact", "add", &acme, "--name", "First"]);
    let second = r.new_id(&["contact", "add", &acme, "--name", "Second"]);
    // Two ids of the same moment share their first characters (UUID v7).
    let common: String = first.chars().zip(second.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect();
    assert!(common.len() >= 4, "{first} and {second}");
    let run = r.run(&["contact", "deactivate", &acme, &common]).fails();
    assert!(run.error().starts_with(&format!("the id {common} could be any of 2 contacts")), "{}", run.stderr());
    let unique = &second[..common.len() + 1];
    r.run(&["contact", "deactivate", &acme, unique]).ok();
    let a = r.show(&acme);
    assert_eq!(
        (contact(&a, &first)["active"].clone(), contact(&a, &second)["active"].clone()),
        (json!(true), json!(false))
    );
    // Field paths of `account set` take shortened ids too.
    r.run(&["account", "set", &acme, &format!("contacts.{unique}.job_title"), "CFO"]).ok();
    assert_eq!(contact(&r.show(&acme), &second)["job_title"], "CFO");
    let run = r.run(&["account", "set", &acme, "contacts.abc.name", "X"]).fails();
    assert!(run.error().contains("\"abc\" is not a contact id of this account"), "{}", run.stderr());
    assert!(is_uuid(&first));
}

#[test]
fn help_names_every_command_group() {
    let r = Replica::new();
    let help = r.run(&["--help"]).ok().stdout();
    for group in ["contact", "consent", "task", "tie", "role", "ladder", "lifecycle", "settings", "refused"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(group)), "{group} missing from:\n{help}");
    }
    let help = r.run(&["contact", "--help"]).ok().stdout();
    for sub in ["add", "edit", "deactivate", "reactivate", "phone", "email"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(sub)), "{sub} missing from:\n{help}");
    }
    let help = r.run(&["account", "end", "--help"]).ok().stdout();
    assert!(help.contains("end-reason catalogue") && help.contains("--date <YYYY-MM-DD>"), "{help}");
    let help = r.run(&["deal", "lost", "--help"]).ok().stdout();
    assert!(help.contains("lost-reason catalogue"), "{help}");
}
