//! Account documents kept loaded between calls, least recently used out first.
//!
//! Loading a document from its bytes is the largest cost of an edit or of
//! applying a pulled change (ADR 0002). The replica keeps a bounded number of
//! loaded documents; a write path *takes* a document out, changes it, and
//! puts it back only after its transaction committed, so a failed write (or
//! an edit whose closure failed halfway) never leaves a document in memory
//! that differs from the file.

use std::collections::HashMap;

use crate::doc::AccountDoc;
use crate::model::AccountId;

/// Documents kept loaded (~20 KB each for a typical account).
pub(crate) const LOADED_DOCS: usize = 256;

#[derive(Debug)]
pub(crate) struct Loaded {
    capacity: usize,
    clock: u64,
    docs: HashMap<AccountId, (AccountDoc, u64)>,
}

impl Loaded {
    pub(crate) fn new(capacity: usize) -> Loaded {
        Loaded { capacity, clock: 0, docs: HashMap::new() }
    }

    /// Takes the document out, if loaded; [`Loaded::keep`] puts it back.
    pub(crate) fn take(&mut self, id: AccountId) -> Option<AccountDoc> {
        self.docs.remove(&id).map(|(doc, _)| doc)
    }

    /// Keeps `doc` loaded, evicting the least recently used document when full.
    pub(crate) fn keep(&mut self, doc: AccountDoc) {
        if self.capacity == 0 {
            return;
        }
        let id = doc.id();
        if !self.docs.contains_key(&id) && self.docs.len() >= self.capacity {
            // A linear scan over a few hundred entries, once per load from
            // the file, which costs far more.
            if let Some(oldest) = self.docs.iter().min_by_key(|(_, (_, used))| *used).map(|(id, _)| *id) {
                self.docs.remove(&oldest);
            }
        }
        self.clock += 1;
        self.docs.insert(id, (doc, self.clock));
    }

    /// Drops every loaded document (they are loaded again from the file).
    pub(crate) fn clear(&mut self) {
        self.docs.clear();
    }

    /// Forgets a document (it was removed from the replica).
    pub(crate) fn forget(&mut self, id: AccountId) {
        self.docs.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::doc::{Author, NewAccount};

    fn account(name: &str) -> AccountDoc {
        let author = Author::new("u", "d", automerge::ActorId::random());
        AccountDoc::create(&author, &NewAccount::new(name)).unwrap()
    }

    #[test]
    fn the_least_recently_kept_document_goes_first_and_taken_ones_are_out() {
        let mut loaded = Loaded::new(2);
        let (a, b, c) = (account("A"), account("B"), account("C"));
        let ids = [a.id(), b.id(), c.id()];
        loaded.keep(a);
        loaded.keep(b);
        let a = loaded.take(ids[0]).unwrap();
        assert!(loaded.take(ids[0]).is_none(), "a taken document is not also kept");
        loaded.keep(a);
        loaded.keep(c);
        assert!(loaded.take(ids[1]).is_none(), "B was used least recently");
        assert!(loaded.take(ids[0]).is_some());
        assert!(loaded.take(ids[2]).is_some());
        let mut none = Loaded::new(0);
        none.keep(account("D"));
        assert!(none.docs.is_empty());
    }
}
