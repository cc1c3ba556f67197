//! What compaction checks before it trusts a snapshot, the same for every backend.

use automerge::{AutoCommit, ChangeHash};

/// Whether `snapshot` loads back into a document with `heads`. Automerge
/// 0.12 can save a document it cannot load back (found by fuzzing:
/// `server/fuzz/corpus/ingest/crash-compacted-snapshot-mismatching-heads`),
/// so a snapshot is stored only once this holds; otherwise the change rows
/// stay and the document is served from them.
pub fn loads_back(snapshot: &[u8], heads: &[ChangeHash]) -> bool {
    let loaded = rapport_core::untrusted::contain("a compacted snapshot", || Ok(AutoCommit::load(snapshot).ok()));
    let Ok(Some(mut doc)) = loaded else { return false };
    let mut found = doc.get_heads();
    let mut expected = heads.to_vec();
    found.sort();
    expected.sort();
    found == expected
}
