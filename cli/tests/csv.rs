//! `rapport import` and `rapport export` on real files, the binary on a
//! temporary replica, offline: office files (semicolons, Windows-1251, tabs,
//! a byte-order mark, Ukrainian and Russian headers), contacts and deals as
//! columns or related files, the preview, re-import and round trips.

#![allow(clippy::unwrap_used)]

mod offline;

use std::path::PathBuf;

use serde_json::Value;

use offline::Run;

/// A replica and a directory for the files imported into it and exported from it.
struct Replica {
    r: offline::Replica,
    files: tempfile::TempDir,
}

impl Replica {
    fn new() -> Replica {
        Replica { r: offline::Replica::new(), files: tempfile::tempdir().unwrap() }
    }
    fn run(&self, args: &[&str]) -> Run {
        self.r.run(args)
    }
    /// `rapport import FILE [more args]`.
    fn import(&self, file: &std::path::Path, more: &[&str]) -> Run {
        let mut args = vec!["import", file.to_str().unwrap()];
        args.extend_from_slice(more);
        self.run(&args)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        self.bytes(name, text.as_bytes())
    }
    fn bytes(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.files.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
    fn accounts(&self) -> Vec<Value> {
        self.run(&["account", "list", "--json"]).ok().json().as_array().unwrap().clone()
    }
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.accounts().iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect();
        names.sort();
        names
    }
    /// The whole account (`account show --json`) of the account with this name.
    fn show(&self, name: &str) -> Value {
        self.r.show(&self.id(name))["account"].clone()
    }
    fn id(&self, name: &str) -> String {
        let all = self.accounts();
        let found = all.iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("no account {name}"));
        found["id"].as_str().unwrap().to_owned()
    }
    fn history_len(&self, name: &str) -> usize {
        let id = self.id(name);
        self.run(&["account", "history", &id, "--json"]).ok().json().as_array().unwrap().len()
    }
    /// Every byte of the replica directory, to show a command wrote nothing.
    fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(self.r.dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    }
}

fn cp1251(text: &str) -> Vec<u8> {
    let (bytes, _, lossy) = encoding_rs::WINDOWS_1251.encode(text);
    assert!(!lossy, "the text has characters Windows-1251 lacks");
    bytes.into_owned()
}

fn names_of(contacts: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        contacts.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

/// The file Excel saves as "CSV" in a Ukrainian locale: semicolons,
/// Windows-1251, Ukrainian headers, several contacts of one account on
/// several rows, a deal with an amount written `360 000,00` and a date
/// `31.12.2026`. A second import of the same file changes nothing.
#[test]
fn excel_semicolon_windows_1251_file_with_contacts_and_deals_imports_and_reimport_changes_nothing() {
    let r = Replica::new();
    let text = "Назва;Місто;Індекс;Контакт;Посада;Телефон;E-mail;Угода;Сума;Валюта;Етап;Дата закриття\r\n\
                ТОВ «Ромашка»;Київ;01001;Іван Петренко;Директор;+380 44 123 45 67;ivan@romashka.ua;Котли;360 000,00;UAH;proposal;31.12.2026\r\n\
                ТОВ «Ромашка»;Київ;;Олена Коваль;Бухгалтер;+380\u{a0}44\u{a0}765\u{a0}43\u{a0}21;olena@romashka.ua;;;;;\r\n\
                ТОВ «Ромашка»;Київ;;Іван Петренко;;+380 67 000 11 22;;;;;;\r\n\
                \"Бета; Груп\";Львів;79000;;;;;Сервіс;12000.50;UAH;Qualification;2027-01-15\r\n";
    let file = r.bytes("excel.csv", &cp1251(text));
    let run = r.import(&file, &[]).ok();
    let out = run.stdout();
    assert!(out.contains("2 created, 0 updated, 0 unchanged"), "{out}");
    assert!(out.contains("contacts: 2 created, 0 updated, 0 unchanged"), "{out}");
    assert!(out.contains("deals: 2 created, 0 updated, 0 unchanged"), "{out}");
    assert_eq!(r.names(), ["Бета; Груп", "ТОВ «Ромашка»"]);

    let romashka = r.show("ТОВ «Ромашка»");
    assert_eq!(romashka["party"]["address"]["city"], "Київ");
    assert_eq!(romashka["party"]["address"]["postcode"], "01001", "the leading zero is kept");
    assert_eq!(names_of(&romashka["contacts"]), ["Іван Петренко", "Олена Коваль"]);
    let ivan = romashka["contacts"].as_array().unwrap().iter().find(|c| c["name"] == "Іван Петренко").unwrap();
    assert_eq!(ivan["job_title"], "Директор");
    assert_eq!(ivan["emails"], serde_json::json!(["ivan@romashka.ua"]));
    let mut numbers: Vec<&str> =
        ivan["phones"].as_array().unwrap().iter().map(|p| p["number"].as_str().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, ["+380 44 123 45 67", "+380 67 000 11 22"], "both rows' phones, on one contact");
    let olena = romashka["contacts"].as_array().unwrap().iter().find(|c| c["name"] == "Олена Коваль").unwrap();
    assert_eq!(olena["phones"][0]["number"], "+380 44 765 43 21", "Excel's no-break spaces read as spaces");
    let deal = &romashka["deals"][0];
    assert_eq!(deal["title"], "Котли");
    assert_eq!(deal["amount"], serde_json::json!({"minor": 36_000_000, "currency": "UAH"}));
    assert_eq!(deal["stage"], "proposal");
    assert_eq!(deal["expected_close"], "2026-12-31");
    let beta = r.show("Бета; Груп");
    assert_eq!(beta["deals"][0]["amount"]["minor"], 1_200_050);
    assert_eq!(beta["deals"][0]["stage"], "qualification", "a stage by its name");
    assert_eq!(beta["contacts"], serde_json::json!([]));

    let before = (r.history_len("ТОВ «Ромашка»"), r.history_len("Бета; Груп"));
    let run = r.import(&file, &[]).ok();
    let out = run.stdout();
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "{out}");
    assert!(out.contains("contacts: 0 created, 0 updated, 2 unchanged"), "{out}");
    assert!(out.contains("deals: 0 created, 0 updated, 2 unchanged"), "{out}");
    assert_eq!((r.history_len("ТОВ «Ромашка»"), r.history_len("Бета; Груп")), before, "nothing written");
    assert_eq!(r.show("ТОВ «Ромашка»")["contacts"].as_array().unwrap().len(), 2, "no duplicate contacts");
    assert_eq!(r.show("ТОВ «Ромашка»")["deals"].as_array().unwrap().len(), 1, "no duplicate deals");

    // A changed amount and a new phone on the next import update exactly those.
    let edited = text
        .replace("360 000,00", "365 000,00")
        .replace(";+380 67 000 11 22;", ";+380 67 000 11 22, +380 50 999 88 77;");
    let file = r.bytes("edited.csv", &cp1251(&edited));
    let out = r.import(&file, &[]).ok().stdout();
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "the accounts' own fields are the same: {out}");
    assert!(out.contains("contacts: 0 created, 1 updated, 1 unchanged"), "{out}");
    assert!(out.contains("deals: 0 created, 1 updated, 1 unchanged"), "{out}");
    assert_eq!(r.show("ТОВ «Ромашка»")["deals"][0]["amount"]["minor"], 36_500_000);

    // Problems name the columns as the file does.
    let bad = "Назва;Місто;Контакт;Телефон;Угода;Сума;Валюта\r\n\
               Гамма;Одеса;;;Ремонт;12x;UAH\r\n\
               Дельта;Одеса;Іра;+380 44 123 45 67;;;\r\n";
    let out = r.import(&r.bytes("bad.csv", &cp1251(bad)), &["--preview"]).ok().stdout();
    assert!(out.contains("  row 2, column Сума: expected an amount in major units"), "{out}");
    assert!(out.contains("  row 3, column Телефон: the same phone as account"), "{out}");
}

/// Tab-separated UTF-8, UTF-8 with a byte-order mark, Russian headers, and
/// Excel's "Unicode text" (tab-separated UTF-16): each imports, and the same
/// rows again in another encoding change nothing.
#[test]
fn tab_bom_and_utf16_files_import_and_match_by_name_and_city() {
    let r = Replica::new();
    let tabbed = "Название\tГород\tИндекс\tФИО\tДолжность\tТелефон\n\
                  ООО «Альфа»\tОдесса\t65000\tПётр Сидоров\tЗакупщик\t+380 48 111 22 33\n";
    let run = r.import(&r.file("tab.txt", tabbed), &[]).ok();
    assert!(run.stdout().contains("1 created, 0 updated"), "{}", run.stdout());
    let alfa = r.show("ООО «Альфа»");
    assert_eq!(alfa["party"]["address"]["city"], "Одесса");
    assert_eq!(alfa["contacts"][0]["job_title"], "Закупщик");

    // The same account and contact with a byte-order mark and semicolons,
    // the name in other case and spacing: matched, nothing changes.
    let bom = "\u{feff}название;город;фио\n  ооо  «альфа» ;ОДЕССА;Пётр Сидоров\n";
    let run = r.import(&r.file("bom.csv", bom), &[]).ok();
    let out = run.stdout();
    assert!(out.contains("0 created, 0 updated, 1 unchanged"), "{out}");
    assert!(out.contains("contacts: 0 created, 0 updated, 1 unchanged"), "{out}");

    // A trailing semicolon on every line (as some programs write): the
    // column without a header is ignored while its cells are empty.
    let trailing = "Название;Город;Телефон;\nООО «Альфа»;Одесса;;\n";
    let run = r.import(&r.file("trailing.csv", trailing), &[]).ok();
    assert!(run.stdout().contains("0 created, 0 updated, 1 unchanged"), "{}", run.stdout());
    let filled = "Название;Город;\nООО «Альфа»;Одесса;x\n";
    let err = r.import(&r.file("filled.csv", filled), &[]).fails().stderr();
    assert!(err.contains("row 2: a cell under a column without a header"), "{err}");

    // UTF-16 with a byte-order mark, tabs, one changed cell.
    let changed = tabbed.replace("65000", "65001");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(changed.encode_utf16().flat_map(u16::to_le_bytes));
    let run = r.import(&r.bytes("unicode.txt", &utf16), &[]).ok();
    assert!(run.stdout().contains("0 created, 1 updated, 0 unchanged"), "{}", run.stdout());
    assert_eq!(r.show("ООО «Альфа»")["party"]["address"]["postcode"], "65001");
    assert_eq!(r.names(), ["ООО «Альфа»"]);
}

/// Accounts, contacts and deals as three files, related by account id or by
/// account name and city; a related row may name an account that is only on
/// this device.
#[test]
fn related_contacts_and_deals_files_import_and_reimport_changes_nothing() {
    let r = Replica::new();
    let existing = r.run(&["account", "add", "--name", "Gamma GmbH"]).ok();
    let gamma = existing.stdout().lines().last().unwrap().to_owned();
    let accounts = r.file("accounts.csv", "name,city,postcode\nAcme Oy,Tampere,00100\nBeta Ltd,Oulu,90100\n");
    let contacts = r.file(
        "contacts.csv",
        &format!(
            "account_name;account_city;account_id;name;job_title;phones;emails\n\
             acme oy;tampere;;Anna Virtanen;CEO;+358 40 123 4567;\"anna@acme.example; anna.v@acme.example\"\n\
             ;;{gamma};Hans Müller;;+49 30 1234567;\n\
             Beta Ltd;Oulu;;Pekka;Buyer;;pekka@beta.example\n"
        ),
    );
    let deals = r.file(
        "deals.csv",
        &format!(
            "account_id\taccount_name\tcity\ttitle\tamount\tcurrency\tstage\tclose\n\
             \tAcme Oy\tTampere\tPaper machine\t1200000.00\tEUR\tnegotiation\t2027-03-31\n\
             {gamma}\t\t\tService\t5 000,00\teur\t\t\n"
        ),
    );
    let args = ["--contacts", contacts.to_str().unwrap(), "--deals", deals.to_str().unwrap()];
    let out = r.import(&accounts, &args).ok().stdout();
    assert!(out.contains("2 created, 0 updated, 0 unchanged"), "{out}");
    assert!(out.contains("contacts: 3 created, 0 updated, 0 unchanged"), "{out}");
    assert!(out.contains("deals: 2 created, 0 updated, 0 unchanged"), "{out}");
    let acme = r.show("Acme Oy");
    assert_eq!(acme["contacts"][0]["name"], "Anna Virtanen");
    assert_eq!(acme["contacts"][0]["emails"], serde_json::json!(["anna.v@acme.example", "anna@acme.example"]));
    assert_eq!(acme["deals"][0]["amount"], serde_json::json!({"minor": 120_000_000, "currency": "EUR"}));
    assert_eq!(acme["deals"][0]["stage"], "negotiation");
    let g = r.show("Gamma GmbH");
    assert_eq!(g["contacts"][0]["name"], "Hans Müller");
    assert_eq!(g["deals"][0]["amount"], serde_json::json!({"minor": 500_000, "currency": "EUR"}));
    assert_eq!(g["deals"][0]["stage"], "prospecting", "the first open stage by default");

    let before = r.history_len("Gamma GmbH");
    let out = r.import(&accounts, &args).ok().stdout();
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "{out}");
    assert!(out.contains("contacts: 0 created, 0 updated, 3 unchanged"), "{out}");
    assert!(out.contains("deals: 0 created, 0 updated, 2 unchanged"), "{out}");
    assert_eq!(r.history_len("Gamma GmbH"), before);

    // A contacts file alone, for accounts already on this device.
    let more = r.file("more.csv", "account_name,city,name,phone\nAcme Oy,Tampere,Matti,+358 50 765 4321\n");
    let out = r.run(&["import", "--contacts", more.to_str().unwrap()]).ok().stdout();
    assert!(out.contains("contacts: 1 created, 0 updated, 0 unchanged"), "{out}");
    assert_eq!(names_of(&r.show("Acme Oy")["contacts"]), ["Anna Virtanen", "Matti"]);
    let err = r.run(&["import"]).fails().stderr();
    assert!(err.contains("nothing to import: give an accounts file, --contacts FILE or --deals FILE"), "{err}");

    // A related row naming no known account is an error; nothing is written.
    let orphan = r.file("orphan.csv", "account_name,city,name\nNobody Inc,Turku,Someone\n");
    let err = r.import(&accounts, &["--contacts", orphan.to_str().unwrap()]).fails().stderr();
    assert!(err.contains("contacts file, row 2, column account_name: no account with this name and city"), "{err}");
    assert!(!err.contains("Nobody"), "no customer data in errors: {err}");
}

/// The preview lists what would be created, updated and left unchanged, the
/// rows with errors (row, column, what to do; no cell values) and the
/// duplicates, and writes nothing. The real import of the same file writes
/// nothing either: one bad row stops it all.
#[test]
fn preview_shows_errors_and_duplicates_and_writes_nothing() {
    let r = Replica::new();
    let seed = r.file(
        "seed.csv",
        "name,city,contact_name,contact_phone,contact_email\n\
         Acme Oy,Tampere,Anna,+358 40 123 4567,anna@acme.example\n\
         Kappa,Espoo,,,\n",
    );
    r.import(&seed, &[]).ok();
    let file = r.file(
        "new.csv",
        "name,city,contact_name,contact_phone,contact_email,deal_title,deal_amount,deal_currency,deal_stage\n\
         Acme Oy,Helsinki,Aino,+358-40-1234567,,,,,\n\
         Beta,Oulu,Bert,,ANNA@acme.example,,,,\n\
         Gamma,Turku,,,,Boiler,12x00,EUR,\n\
         Delta,Vaasa,Dora,,dora-at-example,,,,\n\
         Epsilon,Pori,,,,Pump,100.00,EUR,closing\n\
         Kappa,Espoo,,,,,,,\n\
         Zeta,Lahti,,,,,,,\n\
         zeta,Kotka,,,,,,,\n",
    );
    let before = r.snapshot();
    let out = r.import(&file, &["--preview"]).ok().stdout();
    assert_eq!(r.snapshot(), before, "the preview wrote nothing");
    assert!(out.contains("nothing was written"), "{out}");
    assert!(out.contains("accounts: 4 to create, 0 to update, 1 unchanged"), "the good rows: {out}");
    assert!(out.contains("3 row error(s)"), "{out}");
    assert!(out.contains("  row 4, column deal_amount: expected an amount in major units"), "{out}");
    assert!(out.contains("  row 5, column contact_email: not an email address"), "{out}");
    assert!(out.contains("  row 6, column deal_stage: unknown stage; the stages are prospecting"), "{out}");
    let acme = r.id("Acme Oy");
    assert!(out.contains(&format!("  row 2, column name: the same name as account {acme} on this device")), "{out}");
    assert!(out.contains(&format!("  row 2, column contact_phone: the same phone as account {acme}")), "{out}");
    assert!(out.contains(&format!("  row 3, column contact_email: the same e-mail as account {acme}")), "{out}");
    assert!(out.contains("  row 9, column name: the same name as row 8"), "{out}");
    for value in ["12x00", "dora-at-example", "closing", "Gamma", "Delta", "+358"] {
        assert!(!out.contains(value), "no cell values in the preview's problems ({value}): {out}");
    }

    // The same as JSON, for scripts.
    let json = r.import(&file, &["--dry-run", "--json"]).ok().json();
    assert_eq!(json["written"], false);
    assert_eq!(json["accounts"]["created"], 4);
    assert_eq!(json["errors"].as_array().unwrap().len(), 3);
    let first = &json["errors"][0];
    assert_eq!(
        (&first["file"], &first["row"], &first["column"]),
        (&"accounts".into(), &4.into(), &"deal_amount".into())
    );
    assert!(first["message"].as_str().unwrap().starts_with("expected an amount in major units"), "{json}");
    assert!(
        json["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["same"] == "phone" && d["other"]["account"] == acme.as_str()),
        "{json}"
    );
    assert_eq!(r.snapshot(), before);

    // The import itself refuses the file as a whole (with --json, the
    // report is printed too).
    let json = r.import(&file, &["--json"]).fails().json();
    assert_eq!((json["written"].as_bool(), json["errors"].as_array().unwrap().len()), (Some(false), 3));
    let err = r.import(&file, &[]).fails().stderr();
    assert!(err.contains("has 3 invalid row(s); nothing was imported"), "{err}");
    assert!(err.contains("row 5, column contact_email"), "{err}");
    assert_eq!(r.snapshot(), before, "a refused import wrote nothing");
    assert_eq!(r.names(), ["Acme Oy", "Kappa"]);

    // Without the bad rows it imports, and still tells of the duplicates.
    let good: String = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| !["Gamma", "Delta", "Epsilon"].iter().any(|bad| l.starts_with(bad)))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = r.import(&r.file("good.csv", &good), &[]).ok().stdout();
    assert!(out.contains("4 created, 0 updated, 1 unchanged"), "{out}");
    assert!(out.contains("possible duplicate(s)"), "{out}");
    assert_eq!(r.names(), ["Acme Oy", "Acme Oy", "Beta", "Kappa", "Zeta", "zeta"]);
}

/// Header and row problems of the accounts file, by row and column.
#[test]
fn bad_rows_and_headers_are_listed_by_row_and_column_and_nothing_is_imported() {
    let r = Replica::new();
    let existing = r.run(&["account", "add", "--name", "Existing"]).ok().stdout().lines().last().unwrap().to_owned();
    let csv = format!(
        "id,name,kind,value_tier,city\n\
         ,Good Row,organization,standard,\n\
         ,,organization,standard,\n\
         ,Tiered,organization,gold,\n\
         not-a-uuid,Bad Id,organization,standard,\n\
         {existing},Existing,robot,standard,\n\
         ,Short row\n\
         ,Twice,,standard,Oulu\n\
         ,twice,,key,oulu\n"
    );
    let err = r.import(&r.file("bad.csv", &csv), &[]).fails().stderr();
    assert!(err.contains("has 6 invalid row(s); nothing was imported"), "{err}");
    assert!(err.contains("  row 3, column name: must not be empty"), "{err}");
    assert!(err.contains("  row 4, column value_tier: expected one of: key, standard, low"), "{err}");
    assert!(err.contains("  row 5, column id: not a UUID"), "{err}");
    assert!(err.contains("  row 6, column kind: expected one of: organization, person"), "{err}");
    assert!(err.contains("  row 7: 2 cells where the header has 5"), "{err}");
    assert!(err.contains("  row 9, column value_tier: differs from row 8 for the same account"), "{err}");
    assert!(!err.contains("row 2"), "{err}");
    assert!(!err.contains("gold") && !err.contains("robot") && !err.contains("not-a-uuid"), "{err}");
    assert_eq!(r.names(), ["Existing"]);

    // Two rows that reach one account on this device by different ways.
    let twice = format!("id,name\n{existing},Renamed\n,existing\n");
    let err = r.import(&r.file("twice.csv", &twice), &[]).fails().stderr();
    assert!(err.contains("  row 3, column name: the same account on this device as row 2"), "{err}");
    assert_eq!(r.names(), ["Existing"]);

    let err = r.import(&r.file("header.csv", "name,colour\nAcme,red\n"), &[]).fails().stderr();
    assert!(err.contains("row 1, column \"colour\": unknown column"), "{err}");
    let err = r.import(&r.file("noname.csv", "city\nOulu\n"), &[]).fails().stderr();
    assert!(err.contains("the header has no \"name\" column"), "{err}");
    let err = r.run(&["import", r.files.path().join("missing.csv").to_str().unwrap()]).fails().stderr();
    assert!(err.contains("missing.csv"), "{err}");
    assert_eq!(r.names(), ["Existing"]);
}

/// Every export is UTF-8 with a byte-order mark, every cell quoted, amounts
/// in major units beside the currency; postcodes and ids keep their leading
/// zeros; importing the three files back changes nothing. `rapport export
/// FILE` still writes accounts.
#[test]
fn export_round_trips_through_import_with_leading_zero_postcodes() {
    let r = Replica::new();
    let text = "id,name,city,postcode,tags,contact_name,contact_title,contact_phone,contact_email,deal_title,deal_amount,deal_currency,deal_stage,deal_close\n\
                01a205f6-9d8f-712f-bfbd-5ac4763e37aa,ТОВ «Ромашка»,Київ,01001,опт;vip,Іван,Директор,044 123 45 67,ivan@romashka.ua,Котли,360000.00,UAH,proposal,2026-12-31\n\
                ,Omega,Vaasa,=\"00120\",,,,,,Yen deal,1500,JPY,,\n";
    r.import(&r.file("in.csv", text), &[]).ok();
    assert_eq!(r.show("Omega")["party"]["address"]["postcode"], "00120", "Excel's =\"…\" form is read as text");
    let romashka = r.id("ТОВ «Ромашка»");
    r.run(&["interaction", "log", &romashka, "--kind", "call", "--subject", "Ціна котлів"]).ok();

    let out = |name: &str| r.files.path().join(name);
    let (accounts, contacts, deals, interactions, legacy) =
        (out("a.csv"), out("c.csv"), out("d.csv"), out("i.csv"), out("legacy.csv"));
    for (what, path, n) in [
        ("accounts", &accounts, "2 accounts"),
        ("contacts", &contacts, "1 contacts"),
        ("deals", &deals, "2 deals"),
        ("interactions", &interactions, "1 interactions"),
    ] {
        let run = r.run(&["export", what, path.to_str().unwrap()]).ok();
        assert!(run.stdout().contains(&format!("exported {n} to")), "{}", run.stdout());
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.starts_with("\u{feff}\"".as_bytes()), "{what}: UTF-8 with a byte-order mark, quoted");
    }
    r.run(&["export", legacy.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(&legacy).unwrap(), std::fs::read(&accounts).unwrap(), "`export FILE` is accounts");

    let a = std::fs::read_to_string(&accounts).unwrap();
    assert!(a.starts_with("\u{feff}\"id\",\"name\",\"kind\",\"owner\""), "{a}");
    assert!(a.contains("\"01a205f6-9d8f-712f-bfbd-5ac4763e37aa\",\"ТОВ «Ромашка»\""), "{a}");
    assert!(a.contains("\"01001\"") && a.contains("\"00120\""), "postcodes as quoted text: {a}");
    assert!(!a.contains("=\""), "no formulas: {a}");
    let c = std::fs::read_to_string(&contacts).unwrap();
    assert!(
        c.contains("\"account_id\",\"account_name\",\"account_city\",\"contact_id\",\"name\",\"job_title\""),
        "{c}"
    );
    assert!(c.contains("\"Іван\",\"Директор\",\"044 123 45 67\",\"ivan@romashka.ua\""), "{c}");
    let d = std::fs::read_to_string(&deals).unwrap();
    assert!(d.contains("\"Котли\",\"360000.00\",\"UAH\",\"proposal\",\"50\",\"2026-12-31\""), "{d}");
    assert!(d.contains("\"Yen deal\",\"1500\",\"JPY\",\"prospecting\""), "{d}");
    let i = std::fs::read_to_string(&interactions).unwrap();
    assert!(i.contains("\"call\"") && i.contains("\"Ціна котлів\""), "{i}");

    let before = (r.history_len("ТОВ «Ромашка»"), r.history_len("Omega"));
    let args = ["--contacts", contacts.to_str().unwrap(), "--deals", deals.to_str().unwrap()];
    let out = r.import(&accounts, &args).ok().stdout();
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "{out}");
    assert!(out.contains("contacts: 0 created, 0 updated, 1 unchanged"), "{out}");
    assert!(out.contains("deals: 0 created, 0 updated, 2 unchanged"), "{out}");
    assert_eq!((r.history_len("ТОВ «Ромашка»"), r.history_len("Omega")), before, "the round trip wrote nothing");

    // Renaming a contact and a deal in the exported files renames them (matched by id).
    let renamed_contacts = std::fs::read_to_string(&contacts).unwrap().replace("\"Іван\"", "\"Іван Петренко\"");
    let renamed_deals = std::fs::read_to_string(&deals).unwrap().replace("\"Котли\"", "\"Котли 2027\"");
    let (rc, rd) = (r.file("rc.csv", &renamed_contacts), r.file("rd.csv", &renamed_deals));
    let out = r.run(&["import", "--contacts", rc.to_str().unwrap(), "--deals", rd.to_str().unwrap()]).ok().stdout();
    assert!(out.contains("contacts: 0 created, 1 updated, 0 unchanged"), "{out}");
    assert!(out.contains("deals: 0 created, 1 updated, 1 unchanged"), "{out}");
    let shown = r.show("ТОВ «Ромашка»");
    assert_eq!(
        (shown["contacts"][0]["name"].as_str(), shown["deals"][0]["title"].as_str()),
        (Some("Іван Петренко"), Some("Котли 2027"))
    );

    let err = r.run(&["export", "tasks", out_path(&r).as_str()]).fails().stderr();
    assert!(err.contains("say accounts, contacts, deals or interactions"), "{err}");
}

fn out_path(r: &Replica) -> String {
    r.files.path().join("x.csv").to_str().unwrap().to_owned()
}

/// A deal imported into the lost stage, or moved there by an import, needs a
/// reason from the catalogue, so it counts in the lost-reasons report.
#[test]
fn lost_deals_need_a_reason_from_the_catalogue() {
    let r = Replica::new();
    let head = "name,city,deal_title,deal_amount,deal_currency,deal_stage,deal_lost_reason\n";
    let err = r.import(&r.file("a.csv", &format!("{head}Acme,Oulu,Boiler,100,EUR,lost,\n")), &[]).fails().stderr();
    assert!(err.contains("row 2, column deal_stage: a lost deal needs its reason: add a lost_reason column with one of competitor, no_budget"), "{err}");
    let err = r.import(&r.file("b.csv", &format!("{head}Acme,Oulu,Boiler,100,EUR,lost,cheap\n")), &[]).fails().stderr();
    assert!(
        err.contains("row 2, column deal_lost_reason: not in the lost-reason catalogue; use one of competitor"),
        "{err}"
    );
    let err =
        r.import(&r.file("c.csv", &format!("{head}Acme,Oulu,Boiler,100,EUR,proposal,price\n")), &[]).fails().stderr();
    assert!(
        err.contains("row 2, column deal_lost_reason: a lost reason is only for a deal in the lost stage"),
        "{err}"
    );
    assert_eq!(r.names(), Vec::<String>::new());

    let file =
        r.file("d.csv", &format!("{head}Acme,Oulu,Boiler,100,EUR,lost,price\nAcme,Oulu,Pump,200,EUR,proposal,\n"));
    r.import(&file, &[]).ok();
    let deals = r.show("Acme")["deals"].clone();
    let boiler = deals.as_array().unwrap().iter().find(|d| d["title"] == "Boiler").unwrap();
    assert_eq!((boiler["outcome"].as_str(), boiler["lost_reason"].as_str()), (Some("lost"), Some("price")));

    // Moving the open deal to lost by an import marks it lost with its reason.
    let moved = r.file("e.csv", &format!("{head}Acme,Oulu,Pump,200,EUR,lost,competitor\n"));
    let out = r.import(&moved, &[]).ok().stdout();
    assert!(out.contains("deals: 0 created, 1 updated, 0 unchanged"), "{out}");
    let deals = r.show("Acme")["deals"].clone();
    let pump = deals.as_array().unwrap().iter().find(|d| d["title"] == "Pump").unwrap();
    assert_eq!((pump["outcome"].as_str(), pump["lost_reason"].as_str()), (Some("lost"), Some("competitor")));
    let moves: Vec<&str> =
        pump["stage_history"].as_array().unwrap().iter().map(|m| m["to"].as_str().unwrap()).collect();
    assert_eq!(moves, ["proposal", "lost"], "the move is in the deal's stage history");

    // The deals export carries the reasons and imports back unchanged.
    let accounts = r.files.path().join("accounts.csv");
    let deals = r.files.path().join("deals.csv");
    r.run(&["export", "accounts", accounts.to_str().unwrap()]).ok();
    r.run(&["export", "deals", deals.to_str().unwrap()]).ok();
    assert!(std::fs::read_to_string(&deals).unwrap().contains("\"lost\",\"0\",\"\",\"\",\"competitor\""));
    let out = r.import(&accounts, &["--deals", deals.to_str().unwrap()]).ok().stdout();
    assert!(out.contains("deals: 0 created, 0 updated, 2 unchanged"), "{out}");
}

/// The status column ends a relationship with a catalogue reason and a date
/// (kept for the lifecycle and lost-reasons reports) or reopens it; it is
/// never a bare status write.
#[test]
fn status_ends_a_relationship_with_its_reason_or_reopens_it() {
    let r = Replica::new();
    r.import(&r.file("a.csv", "name,city\nAcme,Oulu\n"), &[]).ok();
    let err = r.import(&r.file("b.csv", "name,city,status\nAcme,Oulu,lost\n"), &[]).fails().stderr();
    assert!(
        err.contains(
            "row 2, column status: an ended relationship needs its reason: add an end_reason column with one of"
        ),
        "{err}"
    );
    let err = r.import(&r.file("c.csv", "name,city,status,end_reason\nAcme,Oulu,lost,bored\n"), &[]).fails().stderr();
    assert!(err.contains("row 2, column end_reason: not in the end-reason catalogue; use one of"), "{err}");
    let err = r.import(&r.file("d.csv", "name,city,status\nAcme,Oulu,gone\n"), &[]).fails().stderr();
    assert!(err.contains("row 2, column status: expected one of: active, former, lost"), "{err}");
    assert_eq!(r.show("Acme")["party"]["status"], "active");

    let ended = r.file(
        "e.csv",
        "Назва;Місто;Статус;Причина завершення;Дата завершення\nAcme;Oulu;lost;switched_supplier;01.11.2026\n",
    );
    let out = r.import(&ended, &[]).ok().stdout();
    assert!(out.contains("0 created, 1 updated, 0 unchanged"), "{out}");
    let party = r.show("Acme")["party"].clone();
    assert_eq!(party["status"], "lost");
    assert_eq!(
        (party["ending"]["reason"].as_str(), party["ending"]["on"].as_str()),
        (Some("switched_supplier"), Some("2026-11-01"))
    );
    assert!(r.import(&ended, &[]).ok().stdout().contains("0 created, 0 updated, 1 unchanged"));

    // A new account can arrive ended; the export carries the ending and imports back unchanged.
    r.import(&r.file("f.csv", "name,status,end_reason\nOld Client,former,moved_away\n"), &[]).ok();
    assert_eq!(r.show("Old Client")["party"]["ending"]["reason"], "moved_away");
    let accounts = r.files.path().join("accounts.csv");
    r.run(&["export", "accounts", accounts.to_str().unwrap()]).ok();
    let text = std::fs::read_to_string(&accounts).unwrap();
    assert!(
        text.lines().next().unwrap().ends_with("\"source\",\"end_reason\",\"end_date\",\"registration_code\""),
        "{text}"
    );
    assert!(text.contains("\"lost\",\"\",\"\",\"switched_supplier\",\"2026-11-01\""), "{text}");
    assert!(r.import(&accounts, &[]).ok().stdout().contains("0 created, 0 updated, 2 unchanged"));

    // Active again: the relationship is reopened and the ending cleared.
    let out = r.import(&r.file("g.csv", "name,city,status\nAcme,Oulu,active\n"), &[]).ok().stdout();
    assert!(out.contains("0 created, 1 updated, 0 unchanged"), "{out}");
    let party = r.show("Acme")["party"].clone();
    assert_eq!((party["status"].as_str(), &party["ending"]), (Some("active"), &Value::Null));
}

/// A flat sheet repeats the account's deal on each contact row: the same
/// deal cells again are one deal; other values for it are an error.
#[test]
fn a_flat_sheet_repeating_a_deal_on_each_contact_row_makes_one_deal() {
    let r = Replica::new();
    let head = "name;city;contact_name;deal_title;deal_amount;deal_currency\n";
    let flat = format!("{head}Acme;Oulu;Anna;Boiler;1 000,00;EUR\nAcme;Oulu;Bert;Boiler;1 000,00;EUR\n");
    let out = r.import(&r.file("flat.csv", &flat), &[]).ok().stdout();
    assert!(out.contains("contacts: 2 created") && out.contains("deals: 1 created"), "{out}");
    let other = format!("{head}Beta;Oulu;Anna;Pump;100;EUR\nBeta;Oulu;Bert;Pump;200;EUR\n");
    let err = r.import(&r.file("other.csv", &other), &[]).fails().stderr();
    assert!(
        err.contains("row 3, column deal_title: the same deal as row 2 with other values; give each deal once"),
        "{err}"
    );
}

/// `-` writes the CSV to standard output (the summary to standard error), and
/// a path that is a symbolic link (as `/dev/stdout` is) is written through:
/// the link is never replaced by a file.
#[test]
fn export_to_standard_output_and_through_a_symbolic_link() {
    let r = Replica::new();
    r.import(&r.file("in.csv", "name,city,postcode\nАльфа,Київ,01001\n"), &[]).ok();
    let run = r.run(&["export", "accounts", "-"]).ok();
    let csv = run.stdout();
    assert!(csv.starts_with("\u{feff}\"id\",\"name\""), "{csv}");
    assert!(csv.contains("\"Альфа\"") && csv.contains("\"01001\""), "{csv}");
    assert!(!csv.contains("exported"), "the summary is not inside the CSV: {csv}");
    assert_eq!(run.stderr().trim(), "exported 1 accounts");

    let real = r.files.path().join("real.csv");
    std::fs::write(&real, "old").unwrap();
    let link = r.files.path().join("link.csv");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    r.run(&["export", "accounts", link.to_str().unwrap()]).ok();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
    assert_eq!(std::fs::read_to_string(&real).unwrap(), csv, "written through the link");
    assert!(!r.files.path().join("link.csv.partial").exists());
}

/// `--excel`: cells of digits (postcodes, phone numbers) as `="01001"`, so
/// Excel opened by double-click keeps their leading zeros; figures stay
/// numbers, and the file imports back changing nothing.
#[test]
fn excel_export_keeps_leading_zeros_as_text_and_imports_back_unchanged() {
    let r = Replica::new();
    let text = "name,city,postcode,contact_name,contact_phone,deal_title,deal_amount,deal_currency\n\
                Альфа,Київ,01001,Іван,0441234567,Котли,360000.00,UAH\n";
    r.import(&r.file("in.csv", text), &[]).ok();
    let (accounts, contacts, deals) =
        (r.files.path().join("a.csv"), r.files.path().join("c.csv"), r.files.path().join("d.csv"));
    for (what, path) in [("accounts", &accounts), ("contacts", &contacts), ("deals", &deals)] {
        r.run(&["export", what, path.to_str().unwrap(), "--excel"]).ok();
    }
    let a = std::fs::read_to_string(&accounts).unwrap();
    assert!(a.starts_with('\u{feff}') && a.contains(",\"=\"\"01001\"\"\","), "{a}");
    assert!(a.contains("\"Альфа\""), "{a}");
    let c = std::fs::read_to_string(&contacts).unwrap();
    assert!(c.contains("\"=\"\"0441234567\"\"\""), "{c}");
    let d = std::fs::read_to_string(&deals).unwrap();
    assert!(d.contains(",\"360000.00\",\"UAH\",") && d.contains(",\"10\","), "figures stay numbers: {d}");

    let before = r.snapshot();
    let run = r.import(&accounts, &["--contacts", contacts.to_str().unwrap(), "--deals", deals.to_str().unwrap()]).ok();
    assert!(run.stdout().contains("0 created, 0 updated, 1 unchanged"), "{}", run.stdout());
    assert_eq!(r.snapshot(), before, "re-importing the Excel export changed nothing");
    assert_eq!(r.show("Альфа")["party"]["address"]["postcode"], "01001");
}

/// A registration code column (ЄДРПОУ, ИНН) is imported onto the party,
/// exported beside the other account columns, and a re-import of the same
/// file changes nothing; a changed code updates only that account.
#[test]
fn registration_codes_import_export_and_reimport_unchanged() {
    let r = Replica::new();
    let text = "Назва;Місто;ЄДРПОУ\r\nТОВ «Ромашка»;Київ;01234567\r\nБета;Львів;\r\n";
    let file = r.bytes("codes.csv", &cp1251(text));
    let out = r.import(&file, &[]).ok().stdout();
    assert!(out.contains("2 created, 0 updated, 0 unchanged"), "{out}");
    assert_eq!(r.show("ТОВ «Ромашка»")["party"]["registration_code"], "01234567", "the leading zero is kept");
    assert_eq!(r.show("Бета")["party"]["registration_code"], serde_json::Value::Null);

    let out = r.import(&file, &[]).ok().stdout();
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "{out}");

    let exported = r.files.path().join("accounts.csv");
    r.run(&["export", "accounts", exported.to_str().unwrap()]).ok();
    let a = std::fs::read_to_string(&exported).unwrap();
    assert!(a.lines().next().unwrap().ends_with(",\"registration_code\""), "{a}");
    assert!(a.contains("\"01234567\""), "{a}");
    let out = r.import(&exported, &[]).ok().stdout();
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "the export imports back unchanged: {out}");

    let changed = r.bytes("changed.csv", &cp1251(&text.replace("01234567", "01234568")));
    let out = r.import(&changed, &[]).ok().stdout();
    assert!(out.contains("0 created, 1 updated, 1 unchanged"), "{out}");
    assert_eq!(r.show("ТОВ «Ромашка»")["party"]["registration_code"], "01234568");
}
