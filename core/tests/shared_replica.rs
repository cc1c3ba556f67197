//! One replica file, several handles (ADR 0021): `rapport watch` syncing
//! while other commands edit. Every edit survives, every document loads, and
//! no two changes share an (actor, sequence number).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashSet};

use common::*;
use proptest::prelude::*;
use rapport_core::sync::*;
use rapport_core::*;

fn open(path: &std::path::Path) -> Replica {
    Replica::open(path, &identity("ana")).unwrap()
}

/// Every change of the account's document, as a fresh handle loads it from
/// the file: asserts no two share an (actor, seq) and returns how many there are.
#[track_caller]
fn assert_unique_changes(path: &std::path::Path, id: AccountId) -> usize {
    let fresh = open(path);
    let mut doc = fresh.document(id).unwrap();
    let changes = doc.automerge_mut().get_changes(&[]);
    let mut seen = HashSet::new();
    for c in &changes {
        assert!(seen.insert((c.actor_id().clone(), c.seq())), "two changes share actor and seq {}", c.seq());
    }
    changes.len()
}

fn tags(replica: &Replica, id: AccountId) -> BTreeSet<String> {
    replica.account(id).unwrap().party.tags.into_iter().collect()
}

#[test]
fn two_handles_interleaving_edits_on_one_account_lose_none() {
    let fx = Fixture::new("ana");
    let path = fx.path();
    let Fixture { dir: _dir, replica: mut a } = fx;
    let mut b = open(&path);
    assert_eq!(a.author().actor, b.author().actor, "one device, one actor id");
    let id = a.create_account(&NewAccount::new("Shared Ltd")).unwrap();
    let mut expected = BTreeSet::new();
    for i in 0..30 {
        // Each handle reads first, so its copy is loaded (and would be stale).
        assert_eq!(tags(&a, id), expected);
        a.edit(id, |e| e.add_tag(&format!("a{i:02}"))).unwrap();
        expected.insert(format!("a{i:02}"));
        assert_eq!(tags(&b, id), expected, "b sees a's commit");
        b.edit(id, |e| e.add_tag(&format!("b{i:02}"))).unwrap();
        expected.insert(format!("b{i:02}"));
    }
    b.edit(id, |e| e.set_notes("written by b")).unwrap();
    a.edit(id, |e| e.set_field("party.address.city", "Lviv")).unwrap();
    for r in [&a, &b, &open(&path)] {
        let account = r.account(id).unwrap();
        assert_eq!(account.party.tags.iter().cloned().collect::<BTreeSet<_>>(), expected);
        assert_eq!(account.party.notes, "written by b");
        assert_eq!(r.history(id).unwrap().len(), 1 + 60 + 2, "one history entry per edit");
    }
    assert_eq!(assert_unique_changes(&path, id), 1 + 60 + 2);
    // Both handles' edits wait to be pushed.
    assert_eq!(a.unsynced_count().unwrap(), 1);
    assert_eq!(b.unsynced_count().unwrap(), 1);
}

#[test]
fn a_write_on_another_handle_is_seen_by_lists_searches_and_new_accounts() {
    let fx = Fixture::new("ana");
    let path = fx.path();
    let Fixture { dir: _dir, replica: mut a } = fx;
    let mut b = open(&path);
    let one = a.create_account(&NewAccount::new("Ромашка")).unwrap();
    assert_eq!(b.search("Ромашка", 5).unwrap().len(), 1);
    let two = b.create_account(&NewAccount::new("Second")).unwrap();
    assert_eq!(a.list(&AccountFilter::default()).unwrap().len(), 2);
    assert_eq!(a.find_account(&two.to_string()).unwrap(), two);
    b.merge_accounts(one, two).unwrap();
    assert_eq!(a.account(two).unwrap().merged_into, Some(one), "a sees the merge b made");
    a.edit(one, |e| e.add_tag("after-merge")).unwrap();
    assert!(tags(&b, one).contains("after-merge"));
    assert_unique_changes(&path, one);
    assert_unique_changes(&path, two);
}

/// One exchange with the in-memory server half, split so that another handle
/// can write between the request and its response.
fn request(r: &mut Replica) -> (SyncRequest, PushPlan) {
    r.sync_request(SyncLimits::default()).unwrap()
}

fn respond(store: &mut MemoryStore, req: &SyncRequest) -> SyncResponse {
    handle(store, &OpenAccess, req).unwrap().0
}

fn sync_all(r: &mut Replica, store: &mut MemoryStore) {
    for _ in 0..20 {
        let (req, plan) = request(r);
        let resp = respond(store, &req);
        let report = r.sync_apply(&plan, &resp).unwrap();
        if !report.more && r.unsynced_count().unwrap() == 0 {
            return;
        }
    }
    panic!("sync did not settle");
}

#[test]
fn an_edit_made_while_another_handle_syncs_is_kept_and_pushed_on_the_next_round() {
    let mut store = MemoryStore::default();
    // Another device's edits, so that the sync also pulls into the shared account.
    let mut other = Fixture::new("bob");
    let fx = Fixture::new("ana");
    let path = fx.path();
    let Fixture { dir: _dir, replica: mut watch } = fx;
    let id = watch.create_account(&NewAccount::new("Pulled and pushed")).unwrap();
    sync_all(&mut watch, &mut store);
    sync_all(&mut other.replica, &mut store);
    other.replica.edit(id, |e| e.set_notes("from bob's device")).unwrap();
    sync_all(&mut other.replica, &mut store);

    // The running watch builds its request (loading the account) ...
    watch.edit(id, |e| e.add_tag("watch")).unwrap();
    let (req, plan) = request(&mut watch);
    // ... while another command edits the same account in its own handle ...
    let mut cli = open(&path);
    cli.edit(id, |e| e.set_field("party.address.city", "Kharkiv")).unwrap();
    // ... and then applies the response, which pulls bob's edit into the account.
    let resp = respond(&mut store, &req);
    watch.sync_apply(&plan, &resp).unwrap();

    let account = watch.account(id).unwrap();
    assert_eq!(account.party.address.city.as_deref(), Some("Kharkiv"), "the other command's edit was not overwritten");
    assert_eq!(account.party.notes, "from bob's device");
    assert!(account.party.tags.contains("watch"));
    assert_eq!(watch.unsynced_count().unwrap(), 1, "the edit made during the exchange waits to be pushed");
    assert_unique_changes(&path, id);

    // The next round pushes it, and bob's device gets it.
    sync_all(&mut watch, &mut store);
    assert_eq!(cli.unsynced_count().unwrap(), 0, "the other handle sees it acknowledged");
    sync_all(&mut other.replica, &mut store);
    assert_eq!(other.replica.account(id).unwrap().party.address.city.as_deref(), Some("Kharkiv"));
    assert!(other.replica.account(id).unwrap().party.tags.contains("watch"));
}

#[test]
fn a_response_overtaken_by_another_handles_sync_changes_nothing_and_the_next_round_goes_on() {
    let mut store = MemoryStore::default();
    let mut other = Fixture::new("bob");
    let id = other.account("Pulled twice");
    sync_all(&mut other.replica, &mut store);
    let fx = Fixture::new("ana");
    let path = fx.path();
    let Fixture { dir: _dir, replica: mut cli } = fx;
    let mut watch = open(&path);
    // `rapport sync` asks; meanwhile the running watch syncs the same replica.
    let (req, plan) = request(&mut cli);
    let stale = respond(&mut store, &req);
    sync_all(&mut watch, &mut store);
    let position = cli.sync_position().unwrap();
    let err = cli.sync_apply(&plan, &stale).unwrap_err();
    assert!(matches!(err, Error::SyncPositionMoved), "got {err:?}");
    assert!(err.to_string().contains("sync again"), "{err}");
    assert_eq!(cli.sync_position().unwrap(), position, "nothing was applied");
    // The next round starts from where the watch got to.
    cli.edit(id, |e| e.add_tag("after")).unwrap();
    sync_all(&mut cli, &mut store);
    sync_all(&mut other.replica, &mut store);
    assert!(other.replica.account(id).unwrap().party.tags.contains("after"));
}

#[test]
fn encrypted_replicas_are_shared_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    let key = ReplicaKey::passphrase("correct horse battery staple").unwrap();
    let mut a = Replica::open_encrypted(&path, &identity("ana"), &key).unwrap();
    let mut b = Replica::open_encrypted(&path, &identity("ana"), &key).unwrap();
    let id = a.create_account(&NewAccount::new("Secret Ltd")).unwrap();
    b.edit(id, |e| e.add_tag("b")).unwrap();
    a.edit(id, |e| e.add_tag("a")).unwrap();
    assert_eq!(tags(&b, id), BTreeSet::from(["a".to_owned(), "b".to_owned()]));
    drop(a);
    drop(b);
    let fresh = Replica::open_encrypted(&path, &identity("ana"), &key).unwrap();
    assert_eq!(fresh.account(id).unwrap().party.tags.len(), 2);
}

#[test]
fn erasing_waits_for_the_other_handles_and_is_refused_while_one_stays_open() {
    let fx = Fixture::new("ana");
    let path = fx.path();
    let Fixture { dir, replica: mut a } = fx;
    let b = open(&path);
    a.create_account(&NewAccount::new("Kept")).unwrap();
    let started = std::time::Instant::now();
    let refused = a.erase_in_place().unwrap_err();
    assert!(matches!(refused, Error::ReplicaLocked(_)), "got {refused:?}");
    assert!(started.elapsed() >= rapport_core::replica::ERASE_WAIT, "it waited for the other handle first");
    assert!(refused.to_string().contains("needs it alone"), "{refused}");
    // Nothing was erased, and both handles still work.
    assert_eq!(b.list(&AccountFilter::default()).unwrap().len(), 1);
    a.create_account(&NewAccount::new("Still works")).unwrap();
    drop(b);
    a.erase().unwrap();
    assert!(!path.exists());
    // While another process erases or encrypts, opening is refused with its own error
    // (here: a lock taken by hand on the lock file, as `Replica::encrypt` takes it).
    let lock = std::fs::File::create(dir.path().join("replica.db.lock")).unwrap();
    lock.lock().unwrap();
    let rewriting = Replica::open(&path, &identity("ana")).unwrap_err();
    assert!(matches!(rewriting, Error::ReplicaRewriting(_)), "got {rewriting:?}");
    drop(lock);
    open(&path);
}

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Tag { handle: usize, account: usize },
    Notes { handle: usize, account: usize },
    Read { handle: usize, account: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize).prop_map(Op::Create),
        (0..3usize, 0..4usize).prop_map(|(handle, account)| Op::Tag { handle, account }),
        (0..3usize, 0..4usize).prop_map(|(handle, account)| Op::Notes { handle, account }),
        (0..3usize, 0..4usize).prop_map(|(handle, account)| Op::Read { handle, account }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any interleaving of creates, edits and reads on three handles of one
    /// file: every tag added is there, the last notes written win, every
    /// handle reads what a fresh open reads, and changes are unique.
    #[test]
    fn any_interleaving_of_three_handles_loses_nothing(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replica.db");
        let mut handles: Vec<Replica> = (0..3).map(|_| open(&path)).collect();
        let mut accounts: Vec<AccountId> = Vec::new();
        let mut expected_tags: Vec<BTreeSet<String>> = Vec::new();
        let mut expected_notes: Vec<String> = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            match *op {
                Op::Create(h) => {
                    accounts.push(handles[h].create_account(&NewAccount::new(format!("A{step}"))).unwrap());
                    expected_tags.push(BTreeSet::new());
                    expected_notes.push(String::new());
                }
                Op::Tag { handle, account } if account < accounts.len() => {
                    let tag = format!("t{step}");
                    handles[handle].edit(accounts[account], |e| e.add_tag(&tag)).unwrap();
                    expected_tags[account].insert(tag);
                }
                Op::Notes { handle, account } if account < accounts.len() => {
                    let notes = format!("notes {step} by {handle}");
                    handles[handle].edit(accounts[account], |e| e.set_notes(&notes)).unwrap();
                    expected_notes[account] = notes;
                }
                Op::Read { handle, account } if account < accounts.len() => {
                    let read = handles[handle].account(accounts[account]).unwrap();
                    prop_assert_eq!(read.party.tags.into_iter().collect::<BTreeSet<_>>(), expected_tags[account].clone());
                }
                _ => {}
            }
        }
        let fresh = open(&path);
        for (i, id) in accounts.iter().enumerate() {
            let want = fresh.account(*id).unwrap();
            prop_assert_eq!(want.party.tags.iter().cloned().collect::<BTreeSet<_>>(), expected_tags[i].clone());
            prop_assert_eq!(&want.party.notes, &expected_notes[i]);
            for h in &handles {
                prop_assert_eq!(&h.account(*id).unwrap(), &want);
            }
            assert_unique_changes(&path, *id);
        }
        prop_assert_eq!(fresh.list(&AccountFilter::default()).unwrap().len(), accounts.len());
        handles.clear();
    }
}
