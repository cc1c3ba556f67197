//! One conformance suite for the audit log, run against every backend: the
//! server's SQLite file (`server/tests/store_conformance.rs`) and PostgreSQL
//! (`store-postgres/tests/store_conformance.rs`).
//!
//! It checks both halves: the rows a backend's change log writes when it
//! logs changes with an [`Author`], and the administrators' actions of
//! [`AuditStore`]. A backend implements [`AuditBackend`] and instantiates
//! every test with [`audit_conformance_tests!`]:
//!
//! ```text
//! rapport_server_store::audit_conformance_tests!(my_backend_for_a_test());
//! ```
//!
//! Enabled by the `conformance` feature.

use std::time::{SystemTime, UNIX_EPOCH};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, Change, ROOT};

use crate::audit::{MAX_OP_LEN, hex};
use crate::{
    ActedBy, AdminAction, AdminActionEntry, AdminError, AuditEntry, AuditStore, Author, DirectoryStore, Recorded,
    TokenHash, UserChange,
};

/// A database under test, with its directory, its audit log and its change log.
pub trait AuditBackend {
    /// The directory's handle.
    type Directory<'a>: DirectoryStore
    where
        Self: 'a;
    /// The audit log's handle.
    type Audit<'a>: AuditStore
    where
        Self: 'a;

    /// A handle on the backend's directory.
    fn directory(&self) -> Self::Directory<'_>;

    /// A handle on the backend's audit log.
    fn audit(&self) -> Self::Audit<'_>;

    /// Logs `changes` of document `doc` (`updated` is the document with
    /// them applied) in one transaction of the backend's change log, pushed
    /// by `author` (`None`: by the server itself, not audited). Commits if
    /// `commit`, otherwise rolls back. Returns the log's head afterwards.
    fn append(
        &mut self,
        author: Option<Author>,
        doc: &str,
        changes: &[Change],
        updated: &AutoCommit,
        commit: bool,
    ) -> u64;
}

/// Instantiates every conformance test as a `#[test]` in the calling module.
/// `$backend` is an expression giving a fresh, empty [`AuditBackend`]; it
/// is evaluated once per test.
#[macro_export]
macro_rules! audit_conformance_tests {
    ($backend:expr) => {
        $crate::audit_conformance_tests!(@tests $backend;
            changes_are_audited_with_who_pushed_them_in_log_order,
            the_newest_changes_are_listed_oldest_first_and_by_document,
            operations_are_read_from_untrusted_messages,
            unattributed_and_rolled_back_changes_are_not_audited,
            administrators_actions_say_who_did_what,
            a_deleted_user_is_still_named,
            acted_records_only_what_succeeded,
        );
    };
    (@tests $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let mut backend = $backend;
                $crate::audit_conformance::$name(&mut backend);
            }
        )*
    };
}

fn ok<T>(what: &str, result: Result<T, AdminError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

fn now_millis() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Server times are stamped between these two readings of this machine's clock.
fn assert_stamped(at: i64, before: i64, after: i64, what: &str) {
    assert!((before..=after).contains(&at), "{what} is stamped {at}, outside [{before}, {after}]");
}

/// A user with one device, as the audit log attributes their pushes.
struct Person {
    name: &'static str,
    device: &'static str,
    author: Author,
}

fn person<B: AuditBackend>(backend: &B, name: &'static str, device: &'static str) -> Person {
    let dir = backend.directory();
    let none = UserChange { role: None, teams: None, territories: None };
    let created = ok("add_user", dir.add_user(name, "rep", &none, device));
    let principal =
        ok("authenticate", dir.authenticate(&TokenHash::of(&created.token))).expect("a new device authenticates");
    Person { name, device, author: Author { user_id: principal.user_id, device_id: principal.device_id } }
}

/// A document being edited by one actor, each edit one change.
struct Doc {
    doc: AutoCommit,
    edits: u64,
}

impl Doc {
    fn new(actor: u8) -> Doc {
        Doc { doc: AutoCommit::new().with_actor(ActorId::from(vec![actor; 16])), edits: 0 }
    }

    /// One change with `message` (none if `None`).
    fn edit(&mut self, key: &str, message: Option<&str>) -> Change {
        self.edits += 1;
        self.doc.put(ROOT, key, format!("edit {}", self.edits)).expect("a put on the root map");
        let options = match message {
            Some(m) => CommitOptions::default().with_message(m.to_owned()),
            None => CommitOptions::default(),
        };
        self.doc.commit_with(options).expect("a change is made");
        self.doc.get_last_local_change().expect("the change just made").clone()
    }

    /// Edits with the given operation names, one change each.
    fn edits(&mut self, ops: &[&str]) -> Vec<Change> {
        ops.iter().enumerate().map(|(i, op)| self.edit(&format!("field{i}"), Some(&op_message(op)))).collect()
    }
}

fn op_message(op: &str) -> String {
    serde_json::json!({ "op": op, "fields": ["name"] }).to_string()
}

const DOC_A: &str = "6f1c2a52-0d4e-4e8a-9a3b-4f1b2c3d4e5f";
const DOC_B: &str = "0b6f9d2e-7c1a-4b3e-8f5d-2a1b3c4d5e6f";

/// What an audit row should say about a change.
fn expected(
    who: &Person,
    doc: &str,
    seq: u64,
    change: &Change,
    op: &str,
) -> (String, i64, String, String, i64, String, String) {
    let seq = i64::try_from(seq).expect("a small position");
    (
        who.name.to_owned(),
        who.author.device_id,
        who.device.to_owned(),
        doc.to_owned(),
        seq,
        hex(&change.hash().0),
        op.to_owned(),
    )
}

fn said(entry: &AuditEntry) -> (String, i64, String, String, i64, String, String) {
    (
        entry.user.clone(),
        entry.device_id,
        entry.device.clone(),
        entry.document.clone(),
        entry.seq,
        entry.change.clone(),
        entry.op.clone(),
    )
}

/// Every change logged with an author has one row: the user and device
/// that pushed it (names as the directory has them, Cyrillic included),
/// the document, its log position, its hash and its operation, stamped
/// with the server's time; listed in log order.
pub fn changes_are_audited_with_who_pushed_them_in_log_order<B: AuditBackend>(backend: &mut B) {
    let alla = person(backend, "Алла Коваленко", "телефон Алли");
    let boris = person(backend, "Борис", "desktop");
    let before = now_millis();
    let mut a = Doc::new(1);
    let mut b = Doc::new(2);
    let first = a.edits(&["party.set", "deal.add", "note.add"]);
    let head_a = backend.append(Some(alla.author), DOC_A, &first, &a.doc, true);
    let second = b.edits(&["party.create", "deal.stage"]);
    let head_b = backend.append(Some(boris.author), DOC_B, &second, &b.doc, true);
    let third = a.edits(&["interaction.add"]);
    let head_c = backend.append(Some(boris.author), DOC_A, &third, &a.doc, true);
    let after = now_millis();
    assert_eq!((head_b, head_c), (head_a + 2, head_a + 3), "each append moves the head by its changes");

    let mut want = Vec::new();
    for (i, (change, op)) in first.iter().zip(["party.set", "deal.add", "note.add"]).enumerate() {
        want.push(expected(&alla, DOC_A, head_a - 2 + i as u64, change, op));
    }
    for (i, (change, op)) in second.iter().zip(["party.create", "deal.stage"]).enumerate() {
        want.push(expected(&boris, DOC_B, head_b - 1 + i as u64, change, op));
    }
    want.push(expected(&boris, DOC_A, head_c, &third[0], "interaction.add"));

    let listed = ok("list_changes", backend.audit().list_changes(None, 100));
    assert_eq!(listed.iter().map(said).collect::<Vec<_>>(), want);
    for entry in &listed {
        assert_stamped(entry.at, before, after, "a change's audit row");
    }
}

/// A limit keeps the newest rows, still oldest first; a document filter
/// keeps that document's rows; an unknown document or a zero limit lists none.
pub fn the_newest_changes_are_listed_oldest_first_and_by_document<B: AuditBackend>(backend: &mut B) {
    let alla = person(backend, "Алла", "phone");
    let mut a = Doc::new(1);
    let mut b = Doc::new(2);
    for round in 0..3 {
        let changes = a.edits(&["party.set", "deal.add"]);
        backend.append(Some(alla.author), DOC_A, &changes, &a.doc, true);
        let changes = b.edits(&[if round == 0 { "party.create" } else { "party.set" }]);
        backend.append(Some(alla.author), DOC_B, &changes, &b.doc, true);
    }
    let audit = backend.audit();
    let all = ok("list_changes", audit.list_changes(None, 1000));
    assert_eq!(all.len(), 9);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first, in log order");

    assert_eq!(ok("list_changes", audit.list_changes(None, 4)), all[5..].to_vec(), "the newest four");
    let of_a: Vec<AuditEntry> = all.iter().filter(|e| e.document == DOC_A).cloned().collect();
    assert_eq!(of_a.len(), 6);
    assert_eq!(ok("list_changes of A", audit.list_changes(Some(DOC_A), 1000)), of_a);
    assert_eq!(ok("list_changes of A", audit.list_changes(Some(DOC_A), 2)), of_a[4..].to_vec());
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert!(ok("list_changes of an unknown document", audit.list_changes(Some(unknown), 10)).is_empty());
    assert!(ok("list_changes with limit 0", audit.list_changes(None, 0)).is_empty());
}

/// A change's message comes from a device: the operation is its `op`
/// string, cut to [`MAX_OP_LEN`] characters (not bytes); anything else (no
/// message, not JSON, no `op`, an `op` that is not a string) is an empty
/// operation, never a failure.
pub fn operations_are_read_from_untrusted_messages<B: AuditBackend>(backend: &mut B) {
    let alla = person(backend, "Алла", "phone");
    let long = "д".repeat(MAX_OP_LEN + 30);
    let messages: [(Option<String>, String); 7] = [
        (Some(op_message("party.set")), "party.set".into()),
        (None, String::new()),
        (Some("not json at all".into()), String::new()),
        (Some(r#"{"fields":["name"]}"#.into()), String::new()),
        (Some(r#"{"op":7}"#.into()), String::new()),
        (Some("[1,2,3]".into()), String::new()),
        (Some(op_message(&long)), "д".repeat(MAX_OP_LEN)),
    ];
    let mut a = Doc::new(1);
    let changes: Vec<Change> =
        messages.iter().enumerate().map(|(i, (m, _))| a.edit(&format!("f{i}"), m.as_deref())).collect();
    backend.append(Some(alla.author), DOC_A, &changes, &a.doc, true);
    let listed = ok("list_changes", backend.audit().list_changes(None, 100));
    let ops: Vec<&str> = listed.iter().map(|e| e.op.as_str()).collect();
    let want: Vec<&str> = messages.iter().map(|(_, op)| op.as_str()).collect();
    assert_eq!(ops, want);
}

/// Changes the server logs itself (no author) have no audit row, and
/// changes whose transaction rolled back have none either: an audit row
/// exists exactly when its change is in the log.
pub fn unattributed_and_rolled_back_changes_are_not_audited<B: AuditBackend>(backend: &mut B) {
    let alla = person(backend, "Алла", "phone");
    let mut a = Doc::new(1);
    let by_server = a.edits(&["settings.set"]);
    let head = backend.append(None, DOC_A, &by_server, &a.doc, true);
    assert_eq!(head, 1, "the server's change is logged");
    assert!(ok("list_changes", backend.audit().list_changes(None, 100)).is_empty(), "no author, no audit row");

    let mut b = Doc::new(2);
    let undone = b.edits(&["party.create"]);
    backend.append(Some(alla.author), DOC_B, &undone, &b.doc, false);
    assert!(ok("list_changes", backend.audit().list_changes(None, 100)).is_empty(), "rolled back, no audit row");

    let kept = a.edits(&["party.set"]);
    let head = backend.append(Some(alla.author), DOC_A, &kept, &a.doc, true);
    let listed = ok("list_changes", backend.audit().list_changes(None, 100));
    assert_eq!(listed.iter().map(said).collect::<Vec<_>>(), vec![expected(&alla, DOC_A, head, &kept[0], "party.set")]);
}

fn action(entry: &AdminActionEntry) -> (Option<&str>, Option<i64>, Option<&str>, &str, &str, &serde_json::Value) {
    (
        entry.user.as_deref(),
        entry.device_id,
        entry.console_user.as_deref(),
        entry.action.as_str(),
        entry.subject.as_str(),
        &entry.detail,
    )
}

/// An action names who took it (an admin's device, an operating-system
/// user at the console, or the schedule), what and on what, with its
/// detail as given; the newest are listed, oldest first.
pub fn administrators_actions_say_who_did_what<B: AuditBackend>(backend: &mut B) {
    let alla = person(backend, "Алла", "ноутбук");
    let audit = backend.audit();
    let by_alla = ActedBy::Device { user_id: alla.author.user_id, device_id: alla.author.device_id };
    let by_console = ActedBy::Console { os_user: "оператор".into() };
    let added = serde_json::json!({ "role": "rep", "teams": ["північ"], "territories": ["Київ", "Львів"] });
    let backup = serde_json::json!({ "bytes": 123_456, "scheduled": true, "note": null });
    let before = now_millis();
    ok("record_action", audit.record_action(&by_alla, AdminAction::UserAdded, "Борис", &added));
    ok("record_action", audit.record_action(&by_console, AdminAction::TeamAdded, "південь", &serde_json::json!({})));
    ok("record_action", audit.record_action(&ActedBy::Schedule, AdminAction::BackupTaken, "rapport-1.db", &backup));
    let after = now_millis();

    let listed = ok("list_actions", audit.list_actions(100));
    let empty = serde_json::json!({});
    assert_eq!(
        listed.iter().map(action).collect::<Vec<_>>(),
        vec![
            (Some("Алла"), Some(alla.author.device_id), None, "user.add", "Борис", &added),
            (None, None, Some("оператор"), "team.add", "південь", &empty),
            (None, None, None, "backup", "rapport-1.db", &backup),
        ]
    );
    for entry in &listed {
        assert_stamped(entry.at, before, after, "an action");
    }
    assert_eq!(ok("list_actions", audit.list_actions(2)), listed[1..].to_vec(), "the newest two, oldest first");
    assert!(ok("list_actions", audit.list_actions(0)).is_empty());
}

/// Users are never removed, so the audit log keeps naming a deleted user,
/// for their changes and their actions.
pub fn a_deleted_user_is_still_named<B: AuditBackend>(backend: &mut B) {
    let alla = person(backend, "Алла", "phone");
    let mut a = Doc::new(1);
    let changes = a.edits(&["party.set"]);
    backend.append(Some(alla.author), DOC_A, &changes, &a.doc, true);
    let by_alla = ActedBy::Device { user_id: alla.author.user_id, device_id: alla.author.device_id };
    let audit = backend.audit();
    ok("record_action", audit.record_action(&by_alla, AdminAction::TeamAdded, "захід", &serde_json::json!({})));
    ok("delete_user", backend.directory().delete_user("Алла"));

    let changes = ok("list_changes", audit.list_changes(None, 10));
    assert_eq!((changes.len(), changes[0].user.as_str(), changes[0].device.as_str()), (1, "Алла", "phone"));
    let actions = ok("list_actions", audit.list_actions(10));
    assert_eq!((actions.len(), actions[0].user.as_deref()), (1, Some("Алла")));
}

/// `acted` records an operation that succeeded, once, and nothing for one
/// that was refused.
pub fn acted_records_only_what_succeeded<B: AuditBackend>(backend: &mut B) {
    let dir = backend.directory();
    let audit = backend.audit();
    let by = ActedBy::Console { os_user: "ops".into() };
    let refused = audit.acted(&by, || {
        dir.set_user("nobody", &UserChange { role: None, teams: None, territories: None })?;
        Ok::<_, AdminError>((
            (),
            Recorded { action: AdminAction::UserChanged, subject: "nobody".into(), detail: serde_json::json!({}) },
        ))
    });
    assert!(matches!(refused, Err(AdminError::UnknownUser)), "the refusal is passed on: {refused:?}");
    assert!(ok("list_actions", audit.list_actions(10)).is_empty(), "a refused operation is not recorded");

    let done = audit.acted(&by, || {
        dir.add_team("схід")?;
        Ok::<_, AdminError>((
            7,
            Recorded { action: AdminAction::TeamAdded, subject: "схід".into(), detail: serde_json::json!({}) },
        ))
    });
    assert_eq!(ok("acted", done), 7, "the operation's result is returned");
    let actions = ok("list_actions", audit.list_actions(10));
    assert_eq!(
        actions.iter().map(|a| (a.action.as_str(), a.subject.as_str())).collect::<Vec<_>>(),
        [("team.add", "схід")]
    );
    assert_eq!(ok("list_teams", dir.list_teams()), ["схід"]);
}
