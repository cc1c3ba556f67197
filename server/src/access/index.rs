//! The server's index of who each account belongs to (`accounts` table),
//! read from the document itself and rewritten in the transaction of every
//! accepted change, so scoping never disagrees with the documents.

use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc, Value};
use rusqlite::{Connection, OptionalExtension, params};

/// Who an account belongs to: `party.owner`, `party.team`, `party.territory`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountScope {
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
}

impl AccountScope {
    /// The scope of `doc` as of `heads` (`None`: its current state). Where a
    /// field has concurrent values, the deterministic winner counts, as
    /// everywhere else.
    pub(crate) fn of(doc: &AutoCommit, heads: Option<&[ChangeHash]>) -> AccountScope {
        let get = |obj: &automerge::ObjId, key: &str| match heads {
            Some(h) => doc.get_at(obj, key, h),
            None => doc.get(obj, key),
        };
        let party = match get(&automerge::ROOT, "party") {
            Ok(Some((Value::Object(ObjType::Map), id))) => id,
            _ => return AccountScope::default(),
        };
        let text = |key: &str| match get(&party, key) {
            Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_owned).filter(|s| !s.is_empty()),
            _ => None,
        };
        AccountScope { owner: text("owner"), team: text("team"), territory: text("territory") }
    }

    /// The indexed scope of an account, or `None` if the server has no such account.
    pub(crate) fn read(conn: &Connection, doc: &str) -> rusqlite::Result<Option<AccountScope>> {
        conn.prepare_cached("SELECT owner, team, territory FROM accounts WHERE doc_id = ?1")?
            .query_row([doc], |r| Ok(AccountScope { owner: r.get(0)?, team: r.get(1)?, territory: r.get(2)? }))
            .optional()
    }
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
