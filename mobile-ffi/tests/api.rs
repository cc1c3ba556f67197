//! The exported API from Rust: error mapping and listener handling, without a server.
//! The full scenarios (real server, two devices) run from Kotlin and Python:
//! `scripts/test-mobile.sh`.

use std::sync::{Arc, Mutex};

use rapport_ffi::{
    AccountFilter, ListenerError, Money, NewAccount, NewDeal, NewTask, RapportError, Replica, SyncListener,
    SyncProgress, SyncReport,
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
    let second = Replica::open(dir.path().join("r.db").to_string_lossy().into_owned(), "ana".into(), "x".into());
    assert!(matches!(second, Err(RapportError::Storage { .. })));
    assert_eq!(r.list(AccountFilter::default()).expect("list").len(), 1);
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
