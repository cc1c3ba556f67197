//! An in-memory [`ServerStore`], for tests and simulations.

use std::collections::{BTreeMap, HashMap};

use automerge::{AutoCommit, Change};

use super::protocol::{Fingerprint, fingerprint_of};
use super::server::{AccessError, ActorNewest, DocMeta, LogIdentity, LoggedChange, ServerStore};

#[derive(Debug, Default, Clone)]
struct Doc {
    snapshot: Option<Vec<u8>>,
    snapshot_seq: u64,
    pruned_seq: u64,
    changes: Vec<LoggedChange>,
    last_seq: u64,
}

/// Keeps the whole log in memory. `compact` folds a document's changes into a
/// snapshot, as a real server's background compaction does.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    head: u64,
    /// The last position given to a change (at or past `head`).
    last_position: u64,
    docs: BTreeMap<String, Doc>,
    identity: LogIdentity,
    hashes: HashMap<u64, [u8; 32]>,
    newest: HashMap<Vec<u8>, ActorNewest>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store with this identity (a restored copy keeps its original's).
    pub fn with_identity(identity: LogIdentity) -> Self {
        MemoryStore { identity, ..Self::default() }
    }

    /// Starts a new epoch, as restoring a server from a backup does.
    pub fn restored(mut self) -> Self {
        self.start_epoch().ok();
        self
    }

    /// Folds every logged change of `doc` into its snapshot; with `prune`,
    /// also deletes the folded change rows.
    pub fn compact(&mut self, doc: &str, prune: bool) {
        let Some(Some(mut loaded)) = self.load(doc).ok() else { return };
        if let Some(d) = self.docs.get_mut(doc) {
            d.snapshot = Some(loaded.save());
            d.snapshot_seq = d.last_seq;
            if prune {
                d.pruned_seq = d.last_seq;
                d.changes.clear();
            }
        }
    }

    pub fn doc_ids(&self) -> Vec<String> {
        self.docs.keys().cloned().collect()
    }
}

impl ServerStore for MemoryStore {
    /// The store itself never fails: its only error is that of the access
    /// rules a request is judged with.
    type Error = AccessError;

    fn head(&mut self) -> Result<u64, AccessError> {
        Ok(self.head)
    }

    fn load(&mut self, doc: &str) -> Result<Option<AutoCommit>, AccessError> {
        let Some(d) = self.docs.get(doc) else { return Ok(None) };
        let mut out = match &d.snapshot {
            Some(s) => AutoCommit::load(s).unwrap_or_default(),
            None => AutoCommit::new(),
        };
        let changes: Vec<Change> = d.changes.iter().filter_map(|c| Change::from_bytes(c.bytes.clone()).ok()).collect();
        let _ = out.apply_changes(changes);
        Ok(Some(out))
    }

    fn append(&mut self, doc: &str, changes: &[Change], _updated: AutoCommit) -> Result<(), AccessError> {
        let d = self.docs.entry(doc.to_owned()).or_default();
        for c in changes {
            self.last_position = self.last_position.max(self.head) + 1;
            self.head = self.last_position;
            self.hashes.insert(self.head, c.hash().0);
            d.changes.push(LoggedChange {
                seq: self.head,
                actor: c.actor_id().to_bytes().to_vec(),
                bytes: c.raw_bytes().to_vec(),
            });
            d.last_seq = self.head;
            self.newest.insert(
                c.actor_id().to_bytes().to_vec(),
                ActorNewest { seq: self.head, doc: doc.to_owned(), hash: c.hash().0 },
            );
        }
        Ok(())
    }

    fn changed(&mut self, after: u64, upto: u64, limit: usize) -> Result<Vec<(String, DocMeta)>, AccessError> {
        let mut out: Vec<(String, DocMeta)> = self
            .docs
            .iter()
            .filter(|(_, d)| d.last_seq > after && d.last_seq <= upto)
            .map(|(id, d)| {
                (id.clone(), DocMeta { last_seq: d.last_seq, snapshot_seq: d.snapshot_seq, pruned_seq: d.pruned_seq })
            })
            .collect();
        out.sort_by_key(|(_, m)| m.last_seq);
        out.truncate(limit);
        Ok(out)
    }

    fn snapshot(&mut self, doc: &str) -> Result<Option<Vec<u8>>, AccessError> {
        Ok(self.docs.get(doc).and_then(|d| d.snapshot.clone()))
    }

    fn changes_after(&mut self, doc: &str, after: u64) -> Result<Vec<LoggedChange>, AccessError> {
        Ok(self
            .docs
            .get(doc)
            .map(|d| d.changes.iter().filter(|c| c.seq > after).cloned().collect())
            .unwrap_or_default())
    }

    fn identity(&mut self) -> Result<LogIdentity, AccessError> {
        Ok(self.identity)
    }

    fn fingerprint(&mut self, seq: u64) -> Result<Option<Fingerprint>, AccessError> {
        Ok(self.hashes.get(&seq).map(fingerprint_of))
    }

    fn skip_past(&mut self, seen: u64) -> Result<bool, AccessError> {
        let moved = self.last_position < seen;
        self.last_position = self.last_position.max(seen);
        Ok(moved)
    }

    fn start_epoch(&mut self) -> Result<LogIdentity, AccessError> {
        self.identity.epoch += 1;
        Ok(self.identity)
    }

    fn newest_by_actor(&mut self, actor: &[u8]) -> Result<Option<ActorNewest>, AccessError> {
        Ok(self.newest.get(actor).cloned())
    }
}
