//! rapport-csv through its public API on a real replica file: an Excel file
//! in Windows-1251 is read and planned, row problems come as codes, a plan is
//! applied once and a second plan of the same file changes nothing, and the
//! duplicates include the same registration code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rapport_core::{DeviceIdentity, NewAccount, Replica};
use rapport_csv::{Delimiter, Encoding, Files, Other, Same};

fn replica(dir: &tempfile::TempDir) -> Replica {
    Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new("ana", "ana-laptop")).unwrap()
}

fn cp1251(text: &str) -> Vec<u8> {
    let crlf = text.replace('\n', "\r\n");
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&crlf);
    assert!(!unmappable);
    bytes.into_owned()
}

#[test]
fn an_excel_file_is_planned_applied_once_and_its_duplicate_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = replica(&dir);
    let here = r.create_accounts(&[NewAccount::new("ТОВ Зоря")]).unwrap()[0];
    r.edit(here, |e| e.set_field("party.registration_code", "12345678")).unwrap();

    let bytes = cp1251(
        "Назва;Місто;ЄДРПОУ;Контактна особа;Телефон\n\
         ПП Весна;Львів;87654321;Іван Сидоренко;+380 32 765 43 21\n\
         Зоря-Південь;Одеса;1234 5678;;\n",
    );
    let files = Files { accounts: Some(&bytes), ..Files::default() };
    let plan = rapport_csv::plan(&r, &files, None).unwrap();
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(plan.files[0].encoding, Encoding::Windows1251);
    assert_eq!(plan.files[0].delimiter, Delimiter::Semicolon);
    let duplicates = rapport_csv::duplicates(&r, &plan).unwrap();
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert!(matches!(duplicates[0].same, Same::RegistrationCode));
    assert_eq!(duplicates[0].row, 3);
    assert!(matches!(duplicates[0].other, Other::Account(id) if id == here));

    let summary = rapport_csv::apply(&mut r, plan, None).unwrap();
    assert_eq!((summary.accounts.created, summary.contacts.created), (2, 1));
    let again = rapport_csv::plan(&r, &files, None).unwrap();
    let summary = rapport_csv::Summary::of(&again);
    assert!(!summary.changes_anything(), "{summary:?}");
    assert_eq!(summary.accounts.unchanged, 2);
}

#[test]
fn row_problems_are_codes_with_arguments_and_header_problems_stop_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let r = replica(&dir);
    let bytes = b"name,deal_title,deal_amount,deal_currency,deal_stage\nA,Supply,10.00,UAH,nowhere\n".to_vec();
    let plan = rapport_csv::plan(&r, &Files { accounts: Some(&bytes), ..Files::default() }, None).unwrap();
    assert_eq!(plan.errors.len(), 1);
    let e = &plan.errors[0];
    assert_eq!((e.problem.code(), e.row, e.column.as_deref()), ("unknown_stage", 2, Some("deal_stage")));
    assert!(e.problem.args()["choices"].as_str().is_some_and(|c| c.contains("proposal")), "{:?}", e.problem.args());
    assert!(e.message().starts_with("unknown stage; the stages are"));

    let bytes = b"name,colour\nA,red\n".to_vec();
    match rapport_csv::plan(&r, &Files { accounts: Some(&bytes), ..Files::default() }, None) {
        Err(rapport_csv::CsvError::Header { problems, .. }) => {
            assert_eq!(problems[0].problem.code(), "unknown_column");
            assert_eq!(problems[0].column.as_deref(), Some("colour"));
        }
        other => panic!("expected a header problem, got {other:?}"),
    }
}
