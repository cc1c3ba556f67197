//! Which nodes serve from the database and the release each runs (ADR
//! 0037): a PostgreSQL node reports itself every few seconds; a SQLite
//! server is its database's only node.

use std::time::Duration;

use rapport_store_postgres::NodeSeen;
use tokio::sync::watch;

use super::{Backend, PgNode};
use crate::db::now_millis;
use crate::error::ApiError;

/// How often a PostgreSQL node reports itself.
pub const NODE_REPORT_EVERY: Duration = Duration::from_secs(10);

/// This process as a node.
#[derive(Debug, Clone)]
pub struct ThisNode {
    /// `--node-name` (default: the host name).
    pub name: String,
    /// The release it runs.
    pub release: &'static str,
    /// When it started, milliseconds since the Unix epoch (UTC).
    pub started_at: i64,
}

impl ThisNode {
    /// This process, named `name`, starting now.
    pub fn new(name: &str) -> ThisNode {
        ThisNode { name: name.to_owned(), release: env!("CARGO_PKG_VERSION"), started_at: now_millis() }
    }
}

impl Backend {
    /// The nodes serving from the database, by name: every PostgreSQL node
    /// that reported itself in the last week (0.2.0 nodes do not), or this
    /// SQLite server alone.
    pub async fn nodes(&self, this: &ThisNode) -> Result<Vec<NodeSeen>, ApiError> {
        match self {
            Backend::Sqlite(_) => Ok(vec![NodeSeen {
                name: this.name.clone(),
                release: this.release.to_owned(),
                schema_version: crate::db::schema_version() as i64,
                started_at: this.started_at,
                seen_at: now_millis(),
            }]),
            Backend::Postgres(node) => node.blocking(|log| Ok(log.nodes()?)).await,
        }
    }
}

impl PgNode {
    /// Reports this node now and every [`NODE_REPORT_EVERY`] until `closing`
    /// turns true. A failed report is logged and tried at the next tick:
    /// serving never depends on it.
    pub fn spawn_node_report(&self, this: ThisNode, closing: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let log = self.log.clone();
        crate::shutdown::spawn_every(Duration::ZERO, NODE_REPORT_EVERY, closing, move || {
            let (log, this) = (log.clone(), this.clone());
            async move {
                let reported =
                    tokio::task::spawn_blocking(move || log.report_node(&this.name, this.release, this.started_at))
                        .await;
                if let Ok(Err(e)) = reported {
                    tracing::warn!(error = %e, "cannot report this node to the database; tried again in a few seconds");
                }
            }
        })
    }
}
