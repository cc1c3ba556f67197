//! The change log of a server database file on its own, without the database
//! thread: the door through which the log conformance suite
//! (`rapport_core::sync::conformance`) runs against the SQLite backend.
//!
//! Each [`LogTransaction`] is one SQLite transaction over a [`SqlStore`]
//! with no document cache, so every read comes from the file. The directory
//! and the audit log of the same file are there too, for the suites that
//! need a log with users (`rapport_server_store::audit_conformance`).

use std::path::Path;

use automerge::{AutoCommit, Change};
use rapport_core::sync::{
    ActorNewest, DocMeta, Fingerprint, LogIdentity, LoggedChange, ServerStore, SyncRequest, SyncResponse,
};
use rusqlite::Connection;

use super::audit::{Author, SqliteAudit};
use super::worker::sync_one;
use super::{DataLock, DbError, DbOptions, DocCache, SqlStore, SqliteDirectory, open_for_management};
use crate::auth::Principal;

/// A server database file opened (created or upgraded) for its change log.
#[doc(hidden)]
#[derive(Debug)]
pub struct LogFile {
    conn: Connection,
    _lock: DataLock,
}

impl LogFile {
    /// Opens the database at `path`, creating or upgrading it; no server may run on it.
    pub fn open(path: &Path) -> Result<LogFile, DbError> {
        let (conn, lock) = open_for_management(path)?;
        Ok(LogFile { conn, _lock: lock })
    }

    /// Begins a transaction; nothing of it is stored before [`LogTransaction::commit`].
    pub fn transaction(&mut self) -> Result<LogTransaction<'_>, DbError> {
        self.transaction_by(None)
    }

    /// Begins a transaction whose appended changes are audited as pushed by
    /// `author` (`None`: by the server itself, not audited).
    pub fn transaction_by(&mut self, author: Option<Author>) -> Result<LogTransaction<'_>, DbError> {
        Ok(LogTransaction { tx: self.conn.transaction()?, cache: DocCache::new(0), author })
    }

    /// Rewrites the reporting rows still marked stale, as the database
    /// thread does once syncs are quiet; returns how many accounts.
    pub fn refresh_reports(&mut self) -> Result<usize, DbError> {
        super::store::refresh_stale_reports(&mut self.conn)
    }

    /// The connection, for reading the file's tables (`to_postgres`).
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Handles one sync request of `principal` as the database thread does
    /// (the device's rules, its actor id bound, the audit, what it holds),
    /// in a transaction committed if the request succeeds.
    pub fn sync(
        &mut self,
        principal: &Principal,
        request: &SyncRequest,
        max_doc_bytes: u64,
    ) -> Result<SyncResponse, DbError> {
        let tx = self.conn.transaction()?;
        let mut cache = DocCache::new(0);
        let options = DbOptions { compact_after: u64::MAX, max_doc_bytes, ..DbOptions::default() };
        let (result, _) = sync_one(&tx, &mut cache, &options, request, principal);
        let (response, _) = result?;
        tx.commit()?;
        Ok(response)
    }

    /// The directory in this file (outside any transaction).
    pub fn directory(&self) -> SqliteDirectory<'_> {
        SqliteDirectory::new(&self.conn)
    }

    /// The audit log in this file (outside any transaction).
    pub fn audit(&self) -> SqliteAudit<'_> {
        SqliteAudit::new(&self.conn)
    }
}

/// One transaction on a [`LogFile`]; dropped without a commit, it rolls back.
#[doc(hidden)]
#[derive(Debug)]
pub struct LogTransaction<'a> {
    tx: rusqlite::Transaction<'a>,
    cache: DocCache,
    author: Option<Author>,
}

impl LogTransaction<'_> {
    pub fn commit(self) -> Result<(), DbError> {
        Ok(self.tx.commit()?)
    }

    fn store(&mut self) -> SqlStore<'_> {
        let store = SqlStore::new(&self.tx, &mut self.cache, u64::MAX);
        match self.author {
            Some(author) => store.with_author(author),
            None => store,
        }
    }
}

impl ServerStore for LogTransaction<'_> {
    type Error = DbError;

    fn head(&mut self) -> Result<u64, DbError> {
        self.store().head()
    }
    fn load(&mut self, doc: &str) -> Result<Option<AutoCommit>, DbError> {
        self.store().load(doc)
    }
    fn append(&mut self, doc: &str, changes: &[Change], updated: AutoCommit) -> Result<(), DbError> {
        self.store().append(doc, changes, updated)
    }
    fn release(&mut self, doc: &str, unchanged: AutoCommit) {
        self.store().release(doc, unchanged);
    }
    fn changed(&mut self, after: u64, upto: u64, limit: usize) -> Result<Vec<(String, DocMeta)>, DbError> {
        self.store().changed(after, upto, limit)
    }
    fn snapshot(&mut self, doc: &str) -> Result<Option<Vec<u8>>, DbError> {
        self.store().snapshot(doc)
    }
    fn changes_after(&mut self, doc: &str, after: u64) -> Result<Vec<LoggedChange>, DbError> {
        self.store().changes_after(doc, after)
    }
    fn identity(&mut self) -> Result<LogIdentity, DbError> {
        self.store().identity()
    }
    fn fingerprint(&mut self, seq: u64) -> Result<Option<Fingerprint>, DbError> {
        self.store().fingerprint(seq)
    }
    fn skip_past(&mut self, seen: u64) -> Result<bool, DbError> {
        self.store().skip_past(seen)
    }
    fn start_epoch(&mut self) -> Result<LogIdentity, DbError> {
        self.store().start_epoch()
    }
    fn newest_by_actor(&mut self, actor: &[u8]) -> Result<Option<ActorNewest>, DbError> {
        self.store().newest_by_actor(actor)
    }
}
