//! The exported API from Rust: error mapping and listener handling, without a server.
//! The full scenarios (real server, two devices) run from Kotlin and Python:
//! `scripts/test-mobile.sh`.

use std::sync::{Arc, Mutex};

use rapport_ffi::{
    AccountFilter, LineItemChange, ListenerError, Money, NewAccount, NewDeal, NewLineItem, NewTask, RapportError,
    Replica, SyncListener, SyncProgress, SyncReport,
};

fn replica(dir: &tempfile::TempDir) -> Arc<Replica> {
    Replica::open(dir.path().join("r.db").to_string_lossy().into_owned(), "ana".into(), "ana-phone".into())
        .expect("open")
}

fn new_account(name: &str) -> NewAccount {
    NewAccount {
        name: name.into(),
        id: None,
        kind: None,
        roles: None,
        industry: None,
        website: None,
        address: None,
        geo: None,
        owner: None,
        team: None,
        territory: None,
        parent: None,
        value_tier: None,
        loyalty_rung: None,
        lifecycle_phase: None,
        source: None,
        tags: vec![],
        demographics: Default::default(),
        buying_habits: Default::default(),
        notes: None,
    }
}

#[test]
fn line_items_are_edited_through_the_bindings_and_the_amount_follows_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = replica(&dir);
    let acme = r.create_account(new_account("Acme Oy")).expect("create");
    let deal = NewDeal {
        title: "Boilers".into(),
        amount: Money { minor: 1, currency: "EUR".into() },
        stage: None,
        probability: None,
        forecast: None,
        expected_close: None,
        next_step: None,
        next_step_due: None,
        primary_contact: None,
    };
    let deal = r.add_deal(acme.clone(), deal).expect("deal");
    let item = |name: &str, quantity, unit_price_minor| NewLineItem {
        name: name.into(),
        quantity,
        unit_price_minor,
        discount_percent: 0,
    };
    let boiler = r.add_line_item(acme.clone(), deal.clone(), item("Boiler", 2, 100_000)).expect("add");
    let valve = r.add_line_item(acme.clone(), deal.clone(), item("Valve", 1, 5_000)).expect("add");
    let change = LineItemChange { discount_percent: Some(10), ..LineItemChange::default() };
    r.update_line_item(acme.clone(), deal.clone(), boiler.clone(), change).expect("update");
    r.remove_line_item(acme.clone(), deal.clone(), valve).expect("remove");
    let shown = r.account(acme.clone()).expect("account").deals.remove(0);
    assert_eq!(shown.amount.minor, 180_000);
    assert!(shown.amount_from_line_items);
    assert_eq!(shown.line_items.len(), 1);
    assert_eq!((shown.line_items[0].id.as_str(), shown.line_items[0].total_minor), (boiler.as_str(), 180_000));

    r.set_field(acme.clone(), format!("deals.{deal}.amount"), "150000".into()).expect("by hand");
    assert_eq!(r.account(acme.clone()).expect("account").deals[0].amount.minor, 150_000);
    r.follow_line_items(acme.clone(), deal.clone()).expect("follow");
    assert_eq!(r.account(acme.clone()).expect("account").deals[0].amount.minor, 180_000);

    let bad = item("", 1, 1);
    assert!(matches!(r.add_line_item(acme.clone(), deal.clone(), bad), Err(RapportError::InvalidInput { .. })));
    let unknown = "0190f5a4-0000-7000-8000-000000000000".to_string();
    assert!(matches!(r.remove_line_item(acme, deal, unknown), Err(RapportError::NotFound { .. })));
}

#[test]
fn core_errors_map_to_the_variant_an_app_acts_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = replica(&dir);
    let acme = r.create_account(new_account("Acme Oy")).expect("create");
    let unknown = "0190f5a4-0000-7000-8000-000000000000".to_string();

    assert!(matches!(r.account(unknown.clone()), Err(RapportError::NotFound { .. })));
    assert!(matches!(r.account("nope".into()), Err(RapportError::InvalidInput { .. })));
    assert!(matches!(
        r.set_field(acme.clone(), "party.nope".into(), "x".into()),
        Err(RapportError::InvalidInput { .. })
    ));
    let task = NewTask { title: "Call".into(), due: Some("31.12.2026".into()), assignee: None };
    assert!(matches!(r.add_task(acme.clone(), task), Err(RapportError::InvalidInput { .. })));
    let deal = NewDeal {
        title: "X".into(),
        amount: Money { minor: 1, currency: "EUR".into() },
        stage: None,
        probability: Some(101),
        forecast: None,
        expected_close: None,
        next_step: None,
        next_step_due: None,
        primary_contact: None,
    };
    assert!(matches!(r.add_deal(acme.clone(), deal), Err(RapportError::InvalidInput { .. })));
    let other = r.create_account(new_account("Acme Duplicate")).expect("create");
    r.merge_accounts(acme.clone(), other.clone()).expect("merge");
    assert!(matches!(r.add_tag(other, "x".into()), Err(RapportError::Merged { .. })));
    // A second handle on the same file works beside the first (ADR 0021) and sees its accounts.
    let second = Replica::open(dir.path().join("r.db").to_string_lossy().into_owned(), "ana".into(), "x".into())
        .expect("second open");
    assert_eq!(second.list(AccountFilter::default()).expect("list").len(), 1);
    assert_eq!(r.list(AccountFilter::default()).expect("list").len(), 1);
    // A file that is not a replica is a storage error.
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "not a database, just some notes about customers").expect("write");
    let opened = Replica::open(foreign.to_string_lossy().into_owned(), "ana".into(), "x".into());
    assert!(matches!(opened, Err(RapportError::Storage { .. })));
}

#[derive(Debug, Default)]
struct Failing {
    calls: Mutex<Vec<&'static str>>,
}

impl SyncListener for Failing {
    fn on_progress(&self, _: SyncProgress) -> Result<(), ListenerError> {
        self.calls.lock().expect("lock").push("progress");
        Err(ListenerError::Failed { message: "bug".into() })
    }
    fn on_complete(&self, _: SyncReport) -> Result<(), ListenerError> {
        self.calls.lock().expect("lock").push("complete");
        Err(ListenerError::Failed { message: "bug".into() })
    }
    fn on_error(&self, _: String) -> Result<(), ListenerError> {
        self.calls.lock().expect("lock").push("error");
        Err(ListenerError::Failed { message: "bug".into() })
    }
}

#[tokio::test]
async fn sync_errors_are_typed_and_a_failing_listener_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = replica(&dir);
    let listener = Arc::new(Failing::default());
    let bad_url = r.clone().sync("not a url".into(), "token-token-token".into(), Some(listener.clone()), None).await;
    assert!(matches!(bad_url, Err(RapportError::InvalidInput { .. })), "{bad_url:?}");
    let no_token = r.clone().sync("http://127.0.0.1:9".into(), " ".into(), None, None).await;
    assert!(matches!(no_token, Err(RapportError::Unauthorized { .. })), "{no_token:?}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let offline = r.clone().sync(format!("http://127.0.0.1:{port}"), "token-token-token".into(), None, None).await;
    assert!(matches!(offline, Err(RapportError::Network { .. })), "{offline:?}");
    assert_eq!(*listener.calls.lock().expect("lock"), vec!["error"]);
    // Still usable.
    r.create_account(new_account("After")).expect("create after failed syncs");
}
