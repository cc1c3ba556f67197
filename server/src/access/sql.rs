//! The access rules' storage on the server's SQLite file
//! ([`rapport_server_store::access::AccessStore`], ADR 0030): the `accounts`
//! scope index, `device_docs`, `actors`, and the documents' sizes, read and
//! written on the request's savepoint. The rules themselves are
//! `rapport_server_store::access::RulesAccess`, the same for every backend.

use rapport_core::rules::AccountScope;
use rapport_server_store::DirectoryStore;
use rapport_server_store::access::{AccessStore, RulesAccess};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Subject, read_scope};
use crate::db::DbError;
use crate::db::users::SqliteDirectory;

/// The access rules' reads and writes through a borrowed connection (the
/// request's savepoint).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqliteAccessStore<'c> {
    conn: &'c Connection,
}

/// The access rules of one request of `device_id`, on `conn`.
pub(crate) fn sql_access(
    conn: &Connection,
    subject: Subject,
    device_id: i64,
    client_after: u64,
    max_doc_bytes: u64,
) -> RulesAccess<SqliteAccessStore<'_>> {
    RulesAccess::new(SqliteAccessStore { conn }, subject, device_id, client_after, max_doc_bytes)
}

impl AccessStore for SqliteAccessStore<'_> {
    type Error = DbError;

    fn account_scope(&self, doc: &str) -> Result<Option<AccountScope>, DbError> {
        Ok(read_scope(self.conn, doc)?)
    }

    fn held(&self, device_id: i64, doc: &str) -> Result<Option<(i64, Option<i64>)>, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT since, gone FROM device_docs WHERE device_id = ?1 AND doc_id = ?2")?
            .query_row(params![device_id, doc], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn actor_device(&self, actor: &[u8]) -> Result<Option<i64>, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT device_id FROM actors WHERE actor = ?1")?
            .query_row([actor], |r| r.get(0))
            .optional()?)
    }

    fn bind_actor(&self, actor: &[u8], device_id: i64) -> Result<bool, DbError> {
        let bound = self
            .conn
            .prepare_cached(
                "INSERT INTO actors (actor, device_id, bound_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?
            .execute(params![actor, device_id, crate::db::now_millis()])?;
        Ok(bound == 1 || self.actor_device(actor)? == Some(device_id))
    }

    fn document_bytes(&self, doc: &str) -> Result<u64, DbError> {
        let stored: Option<i64> = self
            .conn
            .prepare_cached("SELECT bytes FROM documents WHERE id = ?1")?
            .query_row([doc], |r| r.get(0))
            .optional()?;
        Ok(stored.unwrap_or(0).max(0) as u64)
    }

    fn device_subject(&self, device_id: i64) -> Result<Option<Subject>, DbError> {
        Ok(SqliteDirectory::new(self.conn).subject(device_id)?)
    }
}
