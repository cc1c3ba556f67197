//! The audit conformance suite (`rapport_server_store::audit_conformance`)
//! against the server's SQLite backend, on a real database file per test.

use automerge::{AutoCommit, Change};
use rapport_core::sync::ServerStore;
use rapport_server::db::{LogFile, SqliteAudit, SqliteDirectory};
use rapport_server_store::Author;
use rapport_server_store::audit_conformance::AuditBackend;
use tempfile::TempDir;

/// A fresh database file (every migration applied) in its own directory.
struct SqliteBackend {
    log: LogFile,
    _dir: TempDir,
}

impl SqliteBackend {
    fn new() -> SqliteBackend {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = LogFile::open(&dir.path().join("rapport.db")).expect("a fresh server database opens");
        SqliteBackend { log, _dir: dir }
    }
}

impl AuditBackend for SqliteBackend {
    type Directory<'a> = SqliteDirectory<'a>;
    type Audit<'a> = SqliteAudit<'a>;

    fn directory(&self) -> SqliteDirectory<'_> {
        self.log.directory()
    }

    fn audit(&self) -> SqliteAudit<'_> {
        self.log.audit()
    }

    fn append(
        &mut self,
        author: Option<Author>,
        doc: &str,
        changes: &[Change],
        updated: &AutoCommit,
        commit: bool,
    ) -> u64 {
        let mut tx = match author {
            Some(author) => self.log.transaction_by(author),
            None => self.log.transaction(),
        }
        .expect("a transaction begins");
        tx.append(doc, changes, updated.clone()).expect("the changes are appended");
        if commit {
            tx.commit().expect("the transaction commits");
        } else {
            drop(tx);
        }
        self.log.transaction().and_then(|mut tx| tx.head()).expect("the head is read")
    }
}

rapport_server_store::audit_conformance_tests!(SqliteBackend::new());
