//! Encryption at rest: encrypted replicas round trip, refuse wrong and
//! missing keys with a typed error, hold no customer data in clear, and a
//! plain replica is encrypted in place without losing what its log held.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::identity;
use rapport_core::*;

/// A name that appears nowhere else: found in the bytes, it leaked.
const NAME: &str = "Quackenbush Zebulon Haberdashery";
const NOTES: &str = "Prefers visits on Thursdays, gate code 4711";

fn raw(byte: u8) -> ReplicaKey {
    ReplicaKey::raw(&[byte; RAW_KEY_LEN]).unwrap()
}

/// The bytes of every file in `dir` (replica, log, leftovers).
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn leaks(dir: &Path) -> Vec<String> {
    all_bytes(dir)
        .into_iter()
        .filter(|(_, bytes)| contains(bytes, NAME) || contains(bytes, NOTES))
        .map(|(name, _)| name)
        .collect()
}

fn fill(replica: &mut Replica) -> AccountId {
    let id = replica.create_account(&NewAccount::new(NAME)).unwrap();
    replica.edit(id, |e| e.set_notes(NOTES)).unwrap();
    id
}

#[test]
fn an_encrypted_replica_round_trips_with_a_raw_key_and_with_a_passphrase() {
    for key in [raw(7), ReplicaKey::passphrase("correct horse battery staple").unwrap()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replica.db");
        let mut replica = Replica::open_encrypted(&path, &identity("ana"), &key).unwrap();
        let id = fill(&mut replica);
        drop(replica);
        let replica = Replica::open_encrypted(&path, &identity("ana"), &key).unwrap();
        let account = replica.account(id).unwrap();
        assert_eq!(account.party.name, NAME);
        assert_eq!(account.party.notes, NOTES);
        assert_eq!(replica.search("haberdashery", 5).unwrap().len(), 1, "full-text search works encrypted");
    }
}

#[test]
fn no_customer_data_is_in_clear_in_the_file_or_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    let mut replica = Replica::open_encrypted(&path, &identity("ana"), &raw(1)).unwrap();
    fill(&mut replica);
    // While open, the latest writes are in the write-ahead log.
    let wal = std::fs::metadata(dir.path().join("replica.db-wal")).unwrap().len();
    assert!(wal > 0, "the log holds the writes");
    assert_eq!(leaks(dir.path()), Vec::<String>::new(), "while open");
    drop(replica);
    assert_eq!(leaks(dir.path()), Vec::<String>::new(), "after closing");

    // The same search finds the name in a plain replica: the check can fail.
    let plain = tempfile::tempdir().unwrap();
    let mut replica = Replica::open(plain.path().join("replica.db"), &identity("ana")).unwrap();
    fill(&mut replica);
    assert!(!leaks(plain.path()).is_empty());
}

#[test]
fn a_wrong_or_missing_key_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    let mut replica = Replica::open_encrypted(&path, &identity("ana"), &raw(1)).unwrap();
    let id = fill(&mut replica);
    drop(replica);
    let before = all_bytes(dir.path());

    let wrong = Replica::open_encrypted(&path, &identity("ana"), &raw(2)).unwrap_err();
    assert!(matches!(wrong, Error::WrongKey { problem: KeyProblem::Wrong, .. }), "got {wrong:?}");
    let message = wrong.to_string();
    assert!(message.contains("use the key it was encrypted with"), "{message}");
    assert!(!message.contains("not a database") && !message.contains("not a Rapport replica"), "{message}");

    let passphrase = ReplicaKey::passphrase("guess").unwrap();
    let wrong = Replica::open_encrypted(&path, &identity("ana"), &passphrase).unwrap_err();
    assert!(matches!(wrong, Error::WrongKey { problem: KeyProblem::Wrong, .. }), "got {wrong:?}");

    let missing = Replica::open(&path, &identity("ana")).unwrap_err();
    assert!(matches!(missing, Error::WrongKey { problem: KeyProblem::Missing, .. }), "got {missing:?}");
    assert!(missing.to_string().contains("open it with its key"), "{missing}");

    assert_eq!(all_bytes(dir.path()), before, "failed opens changed nothing");
    let replica = Replica::open_encrypted(&path, &identity("ana"), &raw(1)).unwrap();
    assert_eq!(replica.account(id).unwrap().party.name, NAME);
}

#[test]
fn a_key_for_a_plain_replica_is_refused_and_bad_keys_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    drop(Replica::open(&path, &identity("ana")).unwrap());
    let err = Replica::open_encrypted(&path, &identity("ana"), &raw(1)).unwrap_err();
    assert!(matches!(err, Error::WrongKey { problem: KeyProblem::NotEncrypted, .. }), "got {err:?}");
    assert!(err.to_string().contains("encrypt it first"), "{err}");
    let open = Replica::open(&path, &identity("ana")).unwrap();
    // Encrypting needs the file alone: refused while a handle has it open, and it stays plain.
    let locked = Replica::encrypt(&path, &raw(1)).unwrap_err();
    assert!(matches!(locked, Error::ReplicaLocked(_)), "got {locked:?}");
    assert!(locked.to_string().contains("needs it alone"), "{locked}");
    drop(open);
    Replica::open(&path, &identity("ana")).unwrap();

    assert!(matches!(ReplicaKey::raw(&[0; 16]), Err(Error::InvalidValue { .. })));
    assert!(matches!(ReplicaKey::passphrase(""), Err(Error::InvalidValue { .. })));
    assert_eq!(format!("{:?}", raw(9)), "ReplicaKey::Raw(..)", "Debug hides the key");
}

#[test]
fn a_plain_replica_is_encrypted_in_place_keeping_its_log_and_leaving_no_plaintext() {
    let live = tempfile::tempdir().unwrap();
    let mut replica = Replica::open(live.path().join("replica.db"), &identity("ana")).unwrap();
    let mut ids: Vec<AccountId> =
        (0..20).map(|i| replica.create_account(&NewAccount::new(format!("Customer {i}"))).unwrap()).collect();
    ids.push(fill(&mut replica));
    // The files as a crash (kill -9) leaves them: the latest commits only in the log.
    let dir = tempfile::tempdir().unwrap();
    for name in ["replica.db", "replica.db-wal"] {
        std::fs::copy(live.path().join(name), dir.path().join(name)).unwrap();
    }
    let unsynced = replica.unsynced_count().unwrap();
    assert!(unsynced >= 21);
    drop(replica);
    let path = dir.path().join("replica.db");
    assert!(std::fs::metadata(dir.path().join("replica.db-wal")).unwrap().len() > 0);
    assert!(!leaks(dir.path()).is_empty(), "the plain files hold the name");

    assert_eq!(Replica::encrypt(&path, &raw(3)).unwrap(), Encryption::Encrypted);
    assert_eq!(leaks(dir.path()), Vec::<String>::new(), "no plaintext left behind");
    let mut names: Vec<String> = all_bytes(dir.path()).into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(names, ["replica.db", "replica.db.lock"], "no temporary or log file left, only the empty lock file");
    assert_eq!(std::fs::metadata(dir.path().join("replica.db.lock")).unwrap().len(), 0);

    let replica = Replica::open_encrypted(&path, &identity("ana"), &raw(3)).unwrap();
    for id in &ids {
        replica.account(*id).unwrap();
    }
    assert_eq!(replica.account(ids[20]).unwrap().party.notes, NOTES, "the log's last commit was kept");
    assert_eq!(replica.list(&AccountFilter::default()).unwrap().len(), 21);
    assert_eq!(replica.unsynced_count().unwrap(), unsynced, "sync state kept");

    // Again with the key is a no-op (even while open: it only reads); another key is refused.
    assert_eq!(Replica::encrypt(&path, &raw(3)).unwrap(), Encryption::AlreadyEncrypted);
    drop(replica);
    assert_eq!(Replica::encrypt(&path, &raw(3)).unwrap(), Encryption::AlreadyEncrypted);
    let other = Replica::encrypt(&path, &raw(4)).unwrap_err();
    assert!(matches!(other, Error::WrongKey { problem: KeyProblem::Wrong, .. }), "got {other:?}");
    assert!(matches!(
        Replica::open(&path, &identity("ana")),
        Err(Error::WrongKey { problem: KeyProblem::Missing, .. })
    ));
}

#[test]
fn a_file_that_is_not_a_replica_is_not_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some text").unwrap();
    assert!(matches!(Replica::encrypt(&text, &raw(1)), Err(Error::NotAReplica(_))));
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "just some text");
    let missing = dir.path().join("missing.db");
    assert!(matches!(Replica::encrypt(&missing, &raw(1)), Err(Error::NotAReplica(_))));
    assert!(!missing.exists());
}
