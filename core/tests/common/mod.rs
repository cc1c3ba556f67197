//! Fixtures shared by core's integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rapport_core::*;
use tempfile::TempDir;

/// A replica in its own temporary directory, writing as `user` on `user-device`.
pub struct Fixture {
    pub dir: TempDir,
    pub replica: Replica,
}

impl Fixture {
    pub fn new(user: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let replica = Replica::open(dir.path().join("replica.db"), &identity(user)).expect("open replica");
        Fixture { dir, replica }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("replica.db")
    }

    /// Drops the replica and opens the same file again.
    pub fn reopen(self) -> Fixture {
        let Fixture { dir, replica } = self;
        let user = replica.author().user.clone();
        drop(replica);
        let replica = Replica::open(dir.path().join("replica.db"), &identity(&user)).expect("reopen replica");
        Fixture { dir, replica }
    }

    pub fn account(&mut self, name: &str) -> AccountId {
        self.replica.create_account(&NewAccount::new(name)).expect("create account")
    }

    pub fn heads(&self, id: AccountId) -> Vec<ChangeHash> {
        self.replica.document(id).expect("document").heads()
    }

    /// Copies one account from `self` to `other` as document bytes.
    pub fn send(&self, id: AccountId, other: &mut Fixture) {
        let bytes = self.replica.export_document(id).expect("export");
        other.replica.import_document(&bytes).expect("import");
    }
}

pub fn identity(user: &str) -> DeviceIdentity {
    DeviceIdentity::new(user, format!("{user}-device"))
}

pub fn eur(minor: i64) -> Money {
    Money::new(minor, "EUR").expect("valid money")
}

/// Asserts `result` is an `InvalidValue` error naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T>, field: &str) {
    match result {
        Err(Error::InvalidValue { field: f, .. }) => {
            assert!(f.contains(field), "error names {f:?}, expected {field:?}")
        }
        other => panic!("expected InvalidValue for {field}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T>, kind: RecordKind) {
    match result {
        Err(Error::NotFound { kind: k, .. }) => assert_eq!(k, kind),
        other => panic!("expected NotFound({kind}), got {other:?}"),
    }
}
