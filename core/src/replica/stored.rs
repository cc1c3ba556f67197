//! The bytes a replica stores (or sends) for a whole document.
//!
//! Automerge 0.12 can save a document it cannot load back: the fuzzed
//! crasher `server/fuzz/corpus/ingest/crash-compacted-snapshot-mismatching-heads`
//! is an account whose `save()` fails to load with `MismatchingHeads`. The
//! server keeps its change rows when that happens (`SqlStore::compact`); a
//! replica compacts on every write (`COMPACT_AFTER`), so it checks every
//! snapshot it stores the same way. One that does not load back with the same
//! heads is replaced by the document's changes as change chunks, if
//! Automerge can list them and they load back; otherwise the write fails with
//! [`Error::InvalidDocument`] and nothing is stored (the replica keeps what
//! it had, readable).

use automerge::AutoCommit;

use crate::error::{Error, Result};
use crate::untrusted::loads_back;

/// `am` as bytes that load back with its heads: the compacted `save()` when
/// it does, else all its changes as change chunks.
pub(crate) fn whole(am: &mut AutoCommit) -> Result<Vec<u8>> {
    let snapshot = am.save();
    let heads = am.get_heads();
    if loads_back(&snapshot, &heads) {
        return Ok(snapshot);
    }
    tracing::warn!("a compacted document does not load back; storing its changes uncompacted instead");
    let chunks = crate::untrusted::contain("a document's changes", || {
        Ok(am.get_changes(&[]).iter().flat_map(|c| c.raw_bytes().to_vec()).collect::<Vec<u8>>())
    });
    match chunks {
        Ok(bytes) if loads_back(&bytes, &heads) => Ok(bytes),
        _ => Err(Error::InvalidDocument(
            "a document cannot be stored: the document engine cannot read back what it saved; \
             nothing was changed, report this to your administrator"
                .into(),
        )),
    }
}
