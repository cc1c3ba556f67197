//! Entry points shared by the `cargo fuzz` targets (`server/fuzz`) and the
//! corpus replay test, so both exercise exactly the server's code.
//!
//! They panic when an invariant breaks: that is what a fuzzer looks for.

use automerge::AutoCommit;
use rapport_core::sync::{Message, OpenAccess, ServerStore, SyncRequest, handle};
use rusqlite::Connection;

use crate::db::schema;
use crate::db::{DocCache, SqlStore};

/// An actor id no client is expected to use, for pulling everything back.
const READER: &[u8] = b"rapport-fuzz-reader";

/// Makes a fuzz target abort on every panic that core's boundary for remote
/// bytes (`rapport_core::untrusted`) does not contain, and only on those.
/// libFuzzer's own hook aborts on any panic, which would report panics the
/// boundary turns into refusals; the targets call this once, so they look for
/// what the boundary misses. Idempotent.
pub fn abort_on_uncontained_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !rapport_core::untrusted::is_containing() {
                report(info);
                std::process::abort();
            }
        }));
    });
}

/// Decodes untrusted bytes; whatever decodes must re-encode to an equal message.
pub fn decode_for_fuzz(bytes: &[u8]) {
    if let Ok(message) = Message::decode(bytes) {
        let again = Message::decode(&message.encode());
        assert_eq!(again.as_ref(), Ok(&message), "a decoded message must survive re-encoding");
    }
}

/// Decodes untrusted bytes and, if they are a request, handles it against a
/// fresh in-memory SQLite store exactly as the server does; then checks that
/// everything stored reads back the same before and after compaction.
/// Returns how many documents ended up stored.
pub fn ingest_for_fuzz(bytes: &[u8]) -> usize {
    let Ok(Message::Request(request)) = Message::decode(bytes) else { return 0 };
    let mut conn = Connection::open_in_memory().expect("in-memory database");
    schema::migrate(&mut conn).expect("fresh schema");
    let mut cache = DocCache::new(4);

    let tx = conn.transaction().expect("transaction");
    let (response, _) =
        handle(&mut SqlStore::new(&tx, &mut cache, 4), &OpenAccess, &request).expect("handling a request");
    tx.commit().expect("commit");
    assert_eq!(response.acks.len(), request.push.len(), "one ack per pushed document");
    assert_eq!(response.base, request.base, "the response answers the request's base");
    let encoded = Message::Response(response).encode();
    assert!(Message::decode(&encoded).is_ok(), "the server's response must decode");

    let everything =
        SyncRequest { base: 0, after: 0, actor: READER.to_vec(), push: Vec::new(), max_pull_bytes: u64::MAX, v2: None };
    let mut store = SqlStore::new(&conn, &mut cache, 4);
    handle(&mut store, &OpenAccess, &everything).expect("pulling");
    let head = store.head().expect("head");
    let mut stored = Vec::new();
    for (id, _) in store.changed(0, head, usize::MAX).expect("listing") {
        let doc = store.load(&id).expect("loading").expect("a listed document exists");
        stored.push((id, heads(doc)));
    }
    drop(store);

    for (id, _) in &stored {
        let tx = conn.transaction().expect("transaction");
        let mut store = SqlStore::new(&tx, &mut cache, 4);
        // Compaction may decline (a snapshot that would not load back keeps
        // the rows); either way the document must read back whole below.
        store.compact(id).expect("compacting");
        drop(store);
        tx.commit().expect("commit");
    }
    // Read back from disk, not from the cache.
    let mut cache = DocCache::new(0);
    let mut store = SqlStore::new(&conn, &mut cache, 4);
    let (after, _) = handle(&mut store, &OpenAccess, &everything).expect("pulling after compaction");
    assert_eq!(after.pull.len(), stored.len(), "compaction keeps every document");
    for (data, (id, expected)) in after.pull.iter().zip(&stored) {
        assert_eq!(&data.doc, id, "documents keep their log order");
        // Compaction may keep recent rows: the pull sends the smaller of the
        // snapshot and the rows, and either rebuilds the whole document.
        let mut doc = match &data.snapshot {
            Some(snapshot) => AutoCommit::load(snapshot).expect("the snapshot loads"),
            None => AutoCommit::new(),
        };
        doc.apply_changes(data.parse_changes().expect("stored changes parse")).expect("stored changes apply");
        assert_eq!(&heads(doc), expected, "compaction keeps every change of {id}");
    }
    stored.len()
}

fn heads(mut doc: AutoCommit) -> Vec<automerge::ChangeHash> {
    let mut heads = doc.get_heads();
    heads.sort();
    heads
}
