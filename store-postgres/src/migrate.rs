//! Numbered, append-only migrations, run once however many nodes start at
//! the same time.
//!
//! The same runner shape as the server's SQLite schema
//! (`server/src/db/schema.rs`): an ordered list of SQL scripts, never
//! edited once shipped; the database records how many it applied; each is
//! applied in its own transaction together with the new count; a database
//! with more than this binary knows is refused. Only the bookkeeping is
//! dialect-specific: SQLite keeps the count in `PRAGMA user_version` and its
//! file lock keeps out a second process; PostgreSQL keeps it in
//! `rapport_schema` and every migration transaction first takes a
//! transaction-level advisory lock, so concurrent nodes apply each script
//! exactly once (the others wait, then find it applied).

use tokio_postgres::Client;

use crate::PgError;

/// The migrations, oldest first. Append only.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_log.sql"),
    include_str!("../migrations/0002_directory.sql"),
    include_str!("../migrations/0003_audit.sql"),
    include_str!("../migrations/0004_device_state.sql"),
    include_str!("../migrations/0005_scope.sql"),
    include_str!("../migrations/0006_reports.sql"),
    include_str!("../migrations/0007_field_changes.sql"),
    include_str!("../migrations/0008_report_collation.sql"),
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
             INSERT INTO rapport_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
        )
        .await?;
        let version: i64 = tx.query_one("SELECT version FROM rapport_schema WHERE id = 1", &[]).await?.get(0);
        if version > supported {
            return Err(PgError::TooNew { found: version, supported });
        }
        let Some(script) = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v)) else {
            tx.commit().await.map_err(PgError::commit)?;
            return Ok(applied);
        };
        tx.batch_execute(script).await?;
        tx.execute("UPDATE rapport_schema SET version = $1 WHERE id = 1", &[&(version + 1)]).await?;
        tx.commit().await.map_err(PgError::commit)?;
        tracing::info!(version = version + 1, "applied a PostgreSQL migration");
        applied += 1;
    }
}

/// How many migrations this build has.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}
