//! CSV import over the app's HTTP API on a real replica file: the preview
//! (encoding, delimiter, counts, row errors with codes, duplicates) writes
//! nothing; an import with a row error writes nothing; import then
//! re-import changes nothing; the session is required.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Text as Excel saves "CSV" in a Ukrainian or Russian locale: Windows-1251, no byte-order mark, CRLF.
fn cp1251(text: &str) -> Vec<u8> {
    let crlf = text.replace('\n', "\r\n");
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&crlf);
    assert!(!unmappable, "the test's text is all Windows-1251");
    bytes.into_owned()
}

/// Two accounts with a contact each and a deal, in Ukrainian, separated by semicolons.
const ACCOUNTS_UK: &str = "Назва;Місто;ЄДРПОУ;Контактна особа;Посада;Телефон;E-mail;Угода;Сума;Валюта\n\
ТОВ Зоря;Київ;12345678;Олена Петренко;Бухгалтерка;+380 44 123 45 67;olena@zorya.ua;Постачання;360 000,00;UAH\n\
ПП Весна;Львів;87654321;Іван Сидоренко;Директор;+380 32 765 43 21;ivan@vesna.ua;;;\n";

async fn accounts(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get("/accounts").await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_windows_1251_semicolon_file_is_previewed_without_writing_then_imported_once() {
    let app = TestApp::signed_in().await;
    let body = json!({ "accounts": b64(&cp1251(ACCOUNTS_UK)) });

    let (status, preview) = app.post("/import/preview", body.clone()).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["written"], false);
    assert_eq!(
        preview["files"],
        json!([{ "file": "accounts", "encoding": "windows-1251", "delimiter": "semicolon", "rows": 2 }])
    );
    assert_eq!(preview["counts"]["accounts"], json!({ "created": 2, "updated": 0, "unchanged": 0 }));
    assert_eq!(preview["counts"]["contacts"]["created"], 2);
    assert_eq!(preview["counts"]["deals"]["created"], 1);
    assert_eq!(preview["errors"], json!([]));
    assert!(accounts(&app).await.is_empty(), "the preview wrote nothing");

    let (status, done) = app.post("/import", body.clone()).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["written"], true);
    assert_eq!(done["counts"]["accounts"]["created"], 2);
    let list = accounts(&app).await;
    assert_eq!(list.len(), 2);
    let zorya = list.iter().find(|a| a["name"] == "ТОВ Зоря").expect("the account is listed");
    let card = app.card(zorya["id"].as_str().unwrap()).await;
    assert_eq!(card["account"]["party"]["address"]["city"], "Київ");
    assert_eq!(card["account"]["party"]["registration_code"], "12345678");
    let contact = &card["account"]["contacts"][0];
    assert_eq!(contact["name"], "Олена Петренко");
    assert_eq!(contact["job_title"], "Бухгалтерка");
    assert_eq!(contact["emails"], json!(["olena@zorya.ua"]));
    assert_eq!(card["account"]["deals"][0]["amount"]["minor"], 36_000_000);

    // The same file again: nothing to create or update, nothing written.
    let heads = card["heads"].clone();
    let (status, again) = app.post("/import", body).await;
    assert_eq!(status, 200, "{again}");
    for kind in ["accounts", "contacts", "deals"] {
        assert_eq!(again["counts"][kind]["created"], 0, "{again}");
        assert_eq!(again["counts"][kind]["updated"], 0, "{again}");
    }
    assert_eq!(again["counts"]["accounts"]["unchanged"], 2);
    assert_eq!(accounts(&app).await.len(), 2);
    assert_eq!(app.card(zorya["id"].as_str().unwrap()).await["heads"], heads, "the document did not change");
}

#[tokio::test]
async fn a_row_with_an_error_refuses_the_whole_import_and_writes_nothing() {
    let app = TestApp::signed_in().await;
    let file = "name;city;deal_title;deal_amount;deal_currency;deal_close\n\
                Good Co;Kyiv;Supply;100.00;UAH;31.12.2026\n\
                Bad Co;Lviv;Service;100.00;UAH;someday\n";
    let body = json!({ "accounts": b64(file.as_bytes()) });

    let (status, preview) = app.post("/import/preview", body.clone()).await;
    assert_eq!(status, 200, "{preview}");
    let errors = preview["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{preview}");
    assert_eq!(errors[0]["file"], "accounts");
    assert_eq!(errors[0]["row"], 3);
    assert_eq!(errors[0]["column"], "deal_close");
    assert_eq!(errors[0]["code"], "expected_date");
    assert_eq!(errors[0]["args"], json!({}));
    assert!(!errors[0].to_string().contains("someday"), "no cell value in the error: {}", errors[0]);

    let refused = app.post("/import", body).await;
    assert_error(&refused, 422, "import_has_errors");
    assert_eq!(refused.1["error"]["rows"][0]["code"], "expected_date");
    assert!(accounts(&app).await.is_empty(), "nothing was written, not even the good row");
}

#[tokio::test]
async fn duplicates_of_accounts_here_are_listed_by_registration_code_and_phone() {
    let app = TestApp::signed_in().await;
    let here = app.account("ТОВ Зоря").await;
    let (status, card) = app
        .post(&format!("/accounts/{here}/field"), json!({ "field": "party.registration_code", "value": "1234 5678" }))
        .await;
    assert_eq!(status, 200, "{card}");
    let other = app.account("Інша фірма").await;
    let (status, card) = app
        .post(&format!("/accounts/{other}/contacts"), json!({ "name": "Марія", "phone": "+380 32 765-43-21" }))
        .await;
    assert_eq!(status, 200, "{card}");

    // Another city (so not the same account), the same code; and another account's phone.
    let file = "Назва;Місто;ЄДРПОУ;Контактна особа;Телефон\n\
                Зоря;Одеса;12345678;;\n\
                ПП Весна;Львів;;Іван Сидоренко;+380 32 765 43 21\n";
    let (status, preview) = app.post("/import/preview", json!({ "accounts": b64(file.as_bytes()) })).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["files"][0]["encoding"], "utf-8");
    let dups = preview["duplicates"].as_array().unwrap();
    let code = dups.iter().find(|d| d["same"] == "registration_code").unwrap_or_else(|| panic!("{preview}"));
    assert_eq!(code["row"], 2);
    assert_eq!(code["account"], json!({ "id": here, "name": "ТОВ Зоря" }));
    let phone = dups.iter().find(|d| d["same"] == "phone").unwrap_or_else(|| panic!("{preview}"));
    assert_eq!(phone["row"], 3);
    assert_eq!(phone["account"]["id"], other.as_str());
    assert_eq!(accounts(&app).await.len(), 2, "the preview wrote nothing");
}

#[tokio::test]
async fn related_files_header_problems_and_bad_bodies_are_typed() {
    let app = TestApp::signed_in().await;
    // A contacts file beside the accounts file, UTF-8 with a byte-order mark, by tabs.
    let accounts_file = "name,city\nGood Co,Kyiv\n";
    let contacts_file = "\u{feff}account_name\tcity\tname\tjob_title\nGood Co\tKyiv\tOlena\tAccountant\n";
    let body = json!({ "accounts": b64(accounts_file.as_bytes()), "contacts": b64(contacts_file.as_bytes()) });
    let (status, preview) = app.post("/import/preview", body).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        preview["files"][1],
        json!({ "file": "contacts", "encoding": "utf-8-bom", "delimiter": "tab", "rows": 1 })
    );
    assert_eq!(preview["counts"]["contacts"]["created"], 1);

    // An unknown column: 422 with the header's problem at row 1, nothing written.
    let bad = app.post("/import/preview", json!({ "accounts": b64("name;colour\nA;red\n".as_bytes()) })).await;
    assert_error(&bad, 422, "unreadable_csv");
    assert_eq!(bad.1["error"]["rows"][0]["code"], "unknown_column");
    assert_eq!(bad.1["error"]["rows"][0]["row"], 1);
    assert_eq!(bad.1["error"]["rows"][0]["column"], "colour");

    assert_error(&app.post("/import/preview", json!({ "accounts": "not base64!" })).await, 400, "bad_request");
    assert_error(&app.post("/import", json!({ "contacts": b64(b"a") })).await, 400, "bad_request");
    assert_error(&app.post("/import", json!({ "accounts": "" })).await, 400, "bad_request");
    assert!(accounts(&app).await.is_empty());
}

#[tokio::test]
async fn import_needs_the_session_and_a_bounded_body() {
    let dir = tempfile::tempdir().unwrap();
    let replica = replica_in(&dir);
    let mut app = TestApp::start(dir, replica).await;
    let body = json!({ "accounts": b64(b"name\nSneaky Co\n") });
    assert_error(&app.post("/import", body.clone()).await, 401, "unauthorized");
    assert_error(&app.post("/import/preview", body).await, 401, "unauthorized");
    app.sign_in().await;
    assert!(accounts(&app).await.is_empty(), "nothing was written without the session");

    // More than the files' limit (16 MB): refused, nothing read.
    let big = vec![b'a'; 16 * 1024 * 1024 + 1];
    let res = app.post("/import/preview", json!({ "accounts": b64(&big) })).await;
    assert_error(&res, 413, "too_large");
}

/// Every row error's code is said in English, Ukrainian and Russian by the page.
#[test]
fn every_row_error_code_has_words_in_three_languages() {
    let words = include_str!("../assets/words.js");
    let block = &words[words.find("// CSV import (import.js)").expect("the import words")..];
    let (en, rest) = block.split_once("\n    uk: {").expect("the Ukrainian words");
    let (uk, ru) = rest.split_once("\n    ru: {").expect("the Russian words");
    for code in rapport_csv::CODES {
        let key = format!("'import.error.{code}':");
        for (lang, words) in [("en", en), ("uk", uk), ("ru", ru)] {
            assert!(words.contains(&key), "{lang} has no words for {code}");
        }
    }
}
