//! A bounded least-recently-used cache of loaded documents.
//!
//! Loading a document (snapshot + change rows) costs far more than cloning a
//! loaded one, and a sync touches the same few documents again and again. The
//! cache is owned by the database thread, so it needs no locking; only a
//! bounded number of documents (about 20 KB each) stay resident.

use std::collections::HashMap;

use automerge::AutoCommit;

#[derive(Debug)]
pub(crate) struct DocCache {
    capacity: usize,
    clock: u64,
    docs: HashMap<String, Entry>,
}

#[derive(Debug)]
struct Entry {
    doc: AutoCommit,
    used: u64,
}

impl DocCache {
    pub(crate) fn new(capacity: usize) -> Self {
        DocCache { capacity, clock: 0, docs: HashMap::with_capacity(capacity.min(4096)) }
    }

    /// Takes the cached document out (no copy); the caller puts it back with
    /// `insert` once done, so a document being changed is never also cached.
    pub(crate) fn take(&mut self, id: &str) -> Option<AutoCommit> {
        self.docs.remove(id).map(|e| e.doc)
    }

    /// Caches `doc`, evicting the least recently used document when full.
    pub(crate) fn insert(&mut self, id: &str, doc: AutoCommit) {
        if self.capacity == 0 {
            return;
        }
        self.clock += 1;
        if !self.docs.contains_key(id) && self.docs.len() >= self.capacity {
            // A linear scan: the cache holds a few hundred entries and evicts
            // at most once per load from disk, which costs far more.
            if let Some(oldest) = self.docs.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) {
                self.docs.remove(&oldest);
            }
        }
        self.docs.insert(id.to_owned(), Entry { doc, used: self.clock });
    }

    pub(crate) fn remove(&mut self, id: &str) {
        self.docs.remove(id);
    }

    pub(crate) fn len(&self) -> usize {
        self.docs.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut cache = DocCache::new(2);
        cache.insert("a", AutoCommit::new());
        cache.insert("b", AutoCommit::new());
        let a = cache.take("a").unwrap();
        cache.insert("a", a);
        cache.insert("c", AutoCommit::new());
        assert_eq!(cache.len(), 2);
        assert!(cache.take("b").is_none(), "b was least recently used");
        assert!(cache.take("a").is_some());
        assert!(cache.take("c").is_some());
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let mut cache = DocCache::new(0);
        cache.insert("a", AutoCommit::new());
        assert_eq!(cache.len(), 0);
    }
}
