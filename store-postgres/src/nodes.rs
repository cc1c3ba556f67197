//! The nodes serving from the database, as each last reported itself
//! (store migration 9, ADR 0037): during a rolling upgrade an operator sees
//! which release every node runs.

use crate::clock::now_millis;
use crate::{PgError, PgLog, schema_version};

/// A node that stays silent this long is forgotten (its row deleted).
const FORGET_AFTER_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// A node as it last reported itself. Times are milliseconds since the Unix
/// epoch, from that node's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSeen {
    pub name: String,
    pub release: String,
    /// How many store migrations the node knows.
    pub schema_version: i64,
    pub started_at: i64,
    pub seen_at: i64,
}

impl PgLog {
    /// Records that node `name`, of `release`, started at `started_at`,
    /// serves now; forgets nodes silent for a week. Nodes are told apart by
    /// name only: two nodes with one name overwrite each other's row.
    pub fn report_node(&self, name: &str, release: &str, started_at: i64) -> Result<(), PgError> {
        let pool = self.pool();
        let (name, release) = (name.to_owned(), release.to_owned());
        self.run(async move {
            let client = pool.get().await?;
            let now = now_millis();
            client
                .execute(
                    "INSERT INTO nodes (name, release, schema_version, started_at, seen_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (name) DO UPDATE SET release = EXCLUDED.release,
                         schema_version = EXCLUDED.schema_version, started_at = EXCLUDED.started_at,
                         seen_at = EXCLUDED.seen_at",
                    &[&name, &release, &(schema_version() as i64), &started_at, &now],
                )
                .await
                .map_err(PgError::statement)?;
            client
                .execute("DELETE FROM nodes WHERE seen_at < $1", &[&(now - FORGET_AFTER_MS)])
                .await
                .map_err(PgError::statement)?;
            Ok::<_, PgError>(())
        })?
    }

    /// Every node that reported itself in the last week, by name.
    pub fn nodes(&self) -> Result<Vec<NodeSeen>, PgError> {
        let pool = self.pool();
        self.run(async move {
            let client = pool.get().await?;
            let rows = client
                .query(
                    "SELECT name, release, schema_version, started_at, seen_at FROM nodes ORDER BY name COLLATE \"C\"",
                    &[],
                )
                .await
                .map_err(PgError::statement)?;
            Ok::<_, PgError>(
                rows.iter()
                    .map(|r| NodeSeen {
                        name: r.get(0),
                        release: r.get(1),
                        schema_version: r.get(2),
                        started_at: r.get(3),
                        seen_at: r.get(4),
                    })
                    .collect(),
            )
        })?
    }
}
