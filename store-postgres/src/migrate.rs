//! Numbered, append-only migrations, run once however many nodes start at
//! the same time, and old and new nodes side by side during an upgrade.
//!
//! The same runner shape as the server's SQLite schema
//! (`server/src/db/schema.rs`): an ordered list of SQL scripts, never
//! edited once shipped; the database records how many it applied; each is
//! applied in its own transaction together with the new count. Only the
//! bookkeeping is dialect-specific: SQLite keeps the count in
//! `PRAGMA user_version` and its file lock keeps out a second process;
//! PostgreSQL keeps it in `rapport_schema` and every migration transaction
//! first takes a transaction-level advisory lock, so concurrent nodes apply
//! each script exactly once (the others wait, then find it applied).
//!
//! **Rolling upgrades (ADR 0037).** Several nodes share the database, so
//! during an upgrade a new node migrates it while older nodes still serve
//! from it, and an older node may restart. Every migration is therefore
//! marked *additive* (older servers keep serving correctly: it only adds
//! tables, nullable or defaulted columns and indexes, and nothing an older
//! server writes makes it wrong) or *breaking*. `rapport_schema.required`
//! holds the number of the newest breaking migration applied: a server that
//! knows fewer migrations than the database holds still serves it when it
//! knows at least `required` of them, and is refused otherwise.

use tokio_postgres::Client;

use crate::PgError;

/// One numbered migration.
pub(crate) struct Migration {
    sql: &'static str,
    /// Whether servers that know only the migrations before this one still
    /// serve a database it was applied to.
    additive: bool,
}

impl Migration {
    const fn breaking(sql: &'static str) -> Migration {
        Migration { sql, additive: false }
    }

    const fn additive(sql: &'static str) -> Migration {
        Migration { sql, additive: true }
    }
}

/// The migrations, oldest first. Append only; a new one is additive unless
/// it cannot be (ADR 0037). The first eight came before any release served
/// from PostgreSQL (0.2.0 knows 1-8), so they count as breaking.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration::breaking(include_str!("../migrations/0001_log.sql")),
    Migration::breaking(include_str!("../migrations/0002_directory.sql")),
    Migration::breaking(include_str!("../migrations/0003_audit.sql")),
    Migration::breaking(include_str!("../migrations/0004_device_state.sql")),
    Migration::breaking(include_str!("../migrations/0005_scope.sql")),
    Migration::breaking(include_str!("../migrations/0006_reports.sql")),
    Migration::breaking(include_str!("../migrations/0007_field_changes.sql")),
    Migration::breaking(include_str!("../migrations/0008_report_collation.sql")),
    // 0.3.0
    Migration::additive(include_str!("../migrations/0009_nodes.sql")),
];

/// The advisory lock key of migrations ("rapport" and 1).
const MIGRATION_LOCK: i64 = 0x7261_7070_6f72_7401;

/// Applies every migration the database lacks; returns how many were applied.
pub(crate) async fn migrate(client: &mut Client) -> Result<usize, PgError> {
    let supported = MIGRATIONS.len() as i64;
    let mut applied = 0;
    loop {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS rapport_schema (
                 id      smallint PRIMARY KEY CHECK (id = 1),
                 version bigint   NOT NULL
             );
             INSERT INTO rapport_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
             ALTER TABLE rapport_schema ADD COLUMN IF NOT EXISTS required bigint;
             UPDATE rapport_schema SET required = version WHERE required IS NULL;",
        )
        .await?;
        let row = tx.query_one("SELECT version, required FROM rapport_schema WHERE id = 1", &[]).await?;
        let (version, required): (i64, i64) = (row.get(0), row.get(1));
        if required > supported {
            return Err(PgError::TooNew { found: version, required, supported });
        }
        let Some(migration) = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v)) else {
            tx.commit().await.map_err(PgError::commit)?;
            if version > supported {
                tracing::warn!(
                    version,
                    supported,
                    "the database holds additive migrations newer than this server: an upgrade is under way; \
                     this server serves it as before"
                );
            }
            return Ok(applied);
        };
        tx.batch_execute(migration.sql).await?;
        let required = if migration.additive { required } else { version + 1 };
        tx.execute("UPDATE rapport_schema SET version = $1, required = $2 WHERE id = 1", &[&(version + 1), &required])
            .await?;
        tx.commit().await.map_err(PgError::commit)?;
        tracing::info!(version = version + 1, "applied a PostgreSQL migration");
        applied += 1;
    }
}

/// How many migrations this build has.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}
