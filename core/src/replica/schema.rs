//! Versioned schema of the replica's SQLite file.
//!
//! `PRAGMA user_version` holds the number of migrations applied;
//! `PRAGMA application_id` marks the file as a Rapport replica. Migrations are
//! append-only: never edit one that has shipped, add the next.

use rusqlite::Connection;

use crate::error::Result;

/// Identifies a Rapport replica file ("RAPR").
pub(crate) const APPLICATION_ID: i32 = 0x5241_5052;

pub(crate) struct Migration {
    pub sql: &'static str,
    /// Whether the materialized index must be rebuilt from the documents afterwards.
    pub reindex: bool,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    // 1: documents as a snapshot plus appended change chunks; device identity.
    Migration {
        sql: "
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value BLOB NOT NULL
        );
        CREATE TABLE documents (
            id         TEXT PRIMARY KEY,
            snapshot   BLOB NOT NULL,
            pending    INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE doc_changes (
            doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq    INTEGER NOT NULL,
            bytes  BLOB NOT NULL,
            PRIMARY KEY (doc_id, seq)
        );
        ",
        reindex: false,
    },
    // 2: materialized account index and full-text search.
    Migration {
        sql: "
        CREATE TABLE accounts (
            id              TEXT PRIMARY KEY,
            name            TEXT NOT NULL,
            kind            TEXT NOT NULL,
            owner           TEXT,
            team            TEXT,
            territory       TEXT,
            loyalty_rung    TEXT NOT NULL,
            lifecycle_phase TEXT NOT NULL,
            value_tier      TEXT NOT NULL,
            status          TEXT NOT NULL,
            deleted         INTEGER NOT NULL,
            merged_into     TEXT,
            open_deals      INTEGER NOT NULL,
            conflicts       INTEGER NOT NULL,
            updated_at      INTEGER NOT NULL
        );
        CREATE INDEX accounts_name ON accounts(name COLLATE NOCASE);
        CREATE INDEX accounts_owner ON accounts(owner);
        CREATE INDEX accounts_team ON accounts(team);
        CREATE INDEX accounts_territory ON accounts(territory);
        CREATE INDEX accounts_conflicts ON accounts(conflicts) WHERE conflicts > 0;
        CREATE TABLE account_tags (
            account_id TEXT NOT NULL,
            tag        TEXT NOT NULL,
            PRIMARY KEY (account_id, tag)
        ) WITHOUT ROWID;
        CREATE INDEX account_tags_tag ON account_tags(tag);
        CREATE TABLE account_deal_stages (
            account_id TEXT NOT NULL,
            stage      TEXT NOT NULL,
            PRIMARY KEY (account_id, stage)
        ) WITHOUT ROWID;
        CREATE INDEX account_deal_stages_stage ON account_deal_stages(stage);
        CREATE VIRTUAL TABLE accounts_fts USING fts5(
            name, contacts, notes,
            tokenize = 'unicode61 remove_diacritics 2'
        );
        ",
        reindex: true,
    },
    // 3: sync bookkeeping. Every document that exists when this runs was never
    // pushed, so it starts dirty.
    Migration {
        sql: "
        CREATE TABLE sync_state (
            key   TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        );
        CREATE TABLE doc_sync (
            doc_id        TEXT PRIMARY KEY,
            synced_heads  BLOB NOT NULL DEFAULT x'',
            local_version INTEGER NOT NULL DEFAULT 0,
            acked_version INTEGER NOT NULL DEFAULT 0,
            need_snapshot INTEGER NOT NULL DEFAULT 0,
            rejected      TEXT
        );
        CREATE INDEX doc_sync_dirty ON doc_sync(doc_id) WHERE local_version > acked_version;
        INSERT INTO doc_sync (doc_id, local_version) SELECT id, 1 FROM documents;
        ",
        reindex: false,
    },
    // 4: edits the server refused, set aside so that they hold nothing else
    // back (ADR 0010), and the actor ids this device wrote with before.
    // Documents an older build marked rejected (and stopped pushing) are
    // pushed again: a refusal now sets only the refused edits aside.
    Migration {
        sql: "
        CREATE TABLE refused_edits (
            id         INTEGER PRIMARY KEY,
            doc_id     TEXT NOT NULL,
            change     BLOB NOT NULL,
            source     BLOB NOT NULL,
            fields     TEXT NOT NULL,
            reason     TEXT NOT NULL,
            refused_at INTEGER NOT NULL
        );
        CREATE INDEX refused_edits_doc ON refused_edits(doc_id);
        CREATE TABLE past_actors (
            actor      BLOB PRIMARY KEY,
            retired_at INTEGER NOT NULL
        );
        UPDATE doc_sync SET rejected = NULL WHERE rejected IS NOT NULL;
        ",
        reindex: false,
    },
    // 5: healing a restored server (protocol version 2). `sync_log` keeps the
    // server's log mark from the last version-2 response (`mark`: server id,
    // epoch, head, fingerprint); `heal_announce` lists the documents still to
    // announce after the server asked this device to heal.
    Migration {
        sql: "
        CREATE TABLE sync_log (
            key   TEXT PRIMARY KEY,
            value BLOB NOT NULL
        );
        CREATE TABLE heal_announce (
            doc_id TEXT PRIMARY KEY
        ) WITHOUT ROWID;
        ",
        reindex: false,
    },
    // 6: search by word forms and by address. The full-text index gains the
    // address (street, city, region, postcode) and the stems of every word
    // (`words.rs`); it is rebuilt from the documents.
    Migration {
        sql: "
        DROP TABLE accounts_fts;
        CREATE VIRTUAL TABLE accounts_fts USING fts5(
            name, contacts, notes, address, stems,
            tokenize = 'unicode61 remove_diacritics 2'
        );
        ",
        reindex: true,
    },
    // 7: a replica restored from a device backup (ADR 0013). When the server
    // says it holds newer changes of this device than the replica does, each
    // document's unacknowledged local changes are set aside here (`source`:
    // the document as it was; `changes`: their hashes, 32 bytes each, oldest
    // first) until everything was pulled again; then those the server lacks
    // are rebuilt under a fresh actor id.
    Migration {
        sql: "
        CREATE TABLE restore_rebuild (
            doc_id  TEXT PRIMARY KEY,
            source  BLOB NOT NULL,
            changes BLOB NOT NULL
        ) WITHOUT ROWID;
        ",
        reindex: false,
    },
    // 8: the server's directory as last fetched (owners, teams, territories
    // an account may be given to; ADR 0021). `kind`: `user`, `team` or
    // `territory`; `active`: 0 for a user an administrator deleted. When it
    // was fetched is kept in `meta` (`directory_at`).
    Migration {
        sql: "
        CREATE TABLE directory_names (
            kind   TEXT NOT NULL,
            name   TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (kind, name)
        ) WITHOUT ROWID;
        ",
        reindex: false,
    },
    // 9: what duplicate detection compares (ADR 0024): per account its
    // normalized name, registration code, contacts' phones and e-mails
    // (`kind`: `name`, `code`, `phone`, `email`; `key` as `matching.rs`
    // makes it). Derived from the documents: filled by the reindex, which
    // also puts registration codes into the full-text index.
    Migration {
        sql: "
        CREATE TABLE account_keys (
            account_id TEXT NOT NULL,
            kind       TEXT NOT NULL,
            key        TEXT NOT NULL,
            PRIMARY KEY (kind, key, account_id)
        ) WITHOUT ROWID;
        CREATE INDEX account_keys_by_account ON account_keys (account_id);
        ",
        reindex: true,
    },
];

/// The schema version a fully migrated replica has.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// How many migrations exist (for upgrade tests).
#[doc(hidden)]
pub fn migration_count() -> usize {
    MIGRATIONS.len()
}

/// Applies migrations after `from` in one transaction each. Returns whether
/// the index must be rebuilt.
pub(crate) fn migrate(conn: &mut Connection, from: i64) -> Result<bool> {
    let mut reindex = false;
    for (i, m) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process opening the same replica may have applied it meanwhile.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > i as i64 {
            continue;
        }
        tx.execute_batch(m.sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        reindex |= m.reindex;
    }
    Ok(reindex && from > 0)
}

/// Applies exactly the first `n` migrations to a fresh database (for upgrade tests).
#[doc(hidden)]
pub fn create_at_version(conn: &mut Connection, n: usize) -> Result<()> {
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    for (i, m) in MIGRATIONS.iter().enumerate().take(n) {
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
