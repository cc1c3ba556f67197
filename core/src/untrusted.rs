//! The one boundary between Automerge and bytes that came from elsewhere.
//!
//! Automerge 0.12 can panic on crafted input: a pushed change made
//! `AutoCommit::apply_changes` unwrap `None` in `import_ops`
//! (`server/fuzz/corpus/ingest/crash-automerge-import-ops-panic`). The same
//! calls run on the server for pushed data and on devices for pulled data, so
//! every Automerge call on remote bytes — decoding a change, loading or
//! merging a saved document, applying changes, and reading the result — runs
//! inside [`contain`], which turns a panic into [`Error::InvalidDocument`].
//!
//! A panic may leave a document half-applied. Callers hand `contain` a
//! working copy (moved in, or borrowed from a value they drop on error) and
//! throw it away when `contain` fails; nothing a contained panic touched is
//! ever stored or kept loaded.
//!
//! Fuzz targets install a panic hook that aborts only outside this boundary
//! ([`is_containing`]), so they look for what it does not catch.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{Error, Result};

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Leaves the boundary when dropped, also while unwinding.
struct Inside;

impl Inside {
    fn enter() -> Inside {
        DEPTH.with(|d| d.set(d.get() + 1));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs `f`, which works on remote bytes with Automerge; a panic inside it
/// becomes [`Error::InvalidDocument`] naming `what` (never the bytes).
pub fn contain<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let outcome = {
        let _inside = Inside::enter();
        catch_unwind(AssertUnwindSafe(f))
    };
    outcome.unwrap_or_else(|_| {
        tracing::warn!(what, "the document engine panicked on remote data; the data was refused");
        Err(Error::InvalidDocument(format!("{what}: the data cannot be processed by the document engine")))
    })
}

/// Whether saved document bytes load back (inside this boundary) with
/// exactly `heads`. Automerge 0.12 can save a document it cannot load back
/// (found by fuzzing: `server/fuzz/corpus/ingest/crash-compacted-snapshot-mismatching-heads`),
/// so saved bytes are kept (a replica's stored document, a server's
/// compacted snapshot) only once this holds.
pub fn loads_back(bytes: &[u8], heads: &[automerge::ChangeHash]) -> bool {
    let loaded = contain("a compacted snapshot", || Ok(automerge::AutoCommit::load(bytes).ok()));
    let Ok(Some(mut doc)) = loaded else { return false };
    let mut found = doc.get_heads();
    let mut expected = heads.to_vec();
    found.sort();
    expected.sort();
    found == expected
}

/// Whether this thread is running inside [`contain`] (for fuzz targets'
/// panic hooks, which abort on every panic this boundary would not catch).
#[doc(hidden)]
pub fn is_containing() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_becomes_an_invalid_document_error() {
        let result: Result<()> = contain("test data", || panic!("engine bug"));
        match result {
            Err(Error::InvalidDocument(message)) => assert!(message.starts_with("test data:"), "{message}"),
            other => panic!("expected InvalidDocument, got {other:?}"),
        }
        assert!(!is_containing(), "the boundary is left after a panic");
    }

    #[test]
    fn results_pass_through_and_the_depth_follows_nesting() {
        assert!(!is_containing());
        let inner = contain("outer", || {
            assert!(is_containing());
            contain("inner", || Ok(is_containing()))
        });
        assert!(matches!(inner, Ok(true)));
        assert!(!is_containing());
        let refused: Result<()> = contain("refused", || Err(Error::InvalidDocument("no".into())));
        assert!(matches!(refused, Err(Error::InvalidDocument(m)) if m == "no"));
    }
}
