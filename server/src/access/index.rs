//! The server's index of who each account belongs to (`accounts` table),
//! read from the document itself and rewritten in the transaction of every
//! accepted change, so scoping never disagrees with the documents.

use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, params};

use rapport_core::rules::AccountScope;

/// The indexed scope of an account, or `None` if the server has no such account.
pub(crate) fn read_scope(conn: &Connection, doc: &str) -> rusqlite::Result<Option<AccountScope>> {
    conn.prepare_cached("SELECT owner, team, territory FROM accounts WHERE doc_id = ?1")?
        .query_row([doc], |r| Ok(AccountScope { owner: r.get(0)?, team: r.get(1)?, territory: r.get(2)? }))
        .optional()
}

/// Rewrites the index row of account `doc` from its current state. A row
/// that already says so is left as it is (most changes do not reassign:
/// no page is written for them).
pub(crate) fn write_index(conn: &Connection, doc: &str, am: &AutoCommit) -> rusqlite::Result<()> {
    let scope = AccountScope::of(am, None);
    conn.prepare_cached(
        "INSERT INTO accounts (doc_id, owner, team, territory) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (doc_id) DO UPDATE SET owner = ?2, team = ?3, territory = ?4
         WHERE owner IS NOT ?2 OR team IS NOT ?3 OR territory IS NOT ?4",
    )?
    .execute(params![doc, scope.owner, scope.team, scope.territory])?;
    Ok(())
}
