//! [`PgAudit`]: the audit log on PostgreSQL, as `rapport_server_store`'s
//! [`AuditStore`] (ADR `docs/adr/0028-audit-store.md`).
//!
//! The rows of changes are written by [`crate::PgTransaction`] when it logs
//! changes with an author, in the same transaction; this handle records
//! administrators' actions and lists both. It runs on the pool and runtime
//! of its [`PgLog`], as the directory does. Lists are one statement each.

use rapport_server_store::audit::hex;
use rapport_server_store::{ActedBy, AdminAction, AdminActionEntry, AdminError, AuditEntry, AuditStore};

use crate::clock::now_millis;
use crate::directory::pg;
use crate::log::PgLog;

/// The audit log in a PostgreSQL database. Cheap to clone; it shares the
/// pool and runtime of its [`PgLog`]. Its methods block the calling thread.
#[derive(Debug, Clone)]
pub struct PgAudit {
    log: PgLog,
}

impl PgLog {
    /// The audit log in the same database, on this log's connections.
    pub fn audit(&self) -> PgAudit {
        PgAudit { log: self.clone() }
    }
}

/// A limit as PostgreSQL's bigint.
fn limit(limit: u32) -> i64 {
    i64::from(limit)
}

impl AuditStore for PgAudit {
    fn record_action(
        &self,
        by: &ActedBy,
        action: AdminAction,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<(), AdminError> {
        let (user_id, device_id, console_user) = by.columns();
        let console_user = console_user.map(str::to_owned);
        let (subject, detail) = (subject.to_owned(), detail.to_string());
        self.log.run_admin(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let insert = client
                .prepare_cached(
                    "INSERT INTO admin_actions (at, user_id, device_id, console_user, action, subject, detail)
                     VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)",
                )
                .await
                .map_err(pg)?;
            client
                .execute(
                    &insert,
                    &[&now_millis(), &user_id, &device_id, &console_user, &action.as_str(), &subject, &detail],
                )
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn list_actions(&self, limit_to: u32) -> Result<Vec<AdminActionEntry>, AdminError> {
        let limit = limit(limit_to);
        self.log.run_admin(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let list = client
                .prepare_cached(
                    "SELECT * FROM (
                         SELECT a.at, u.name, a.device_id, a.console_user, a.action, a.subject, a.detail::text, a.id
                         FROM admin_actions a LEFT JOIN users u ON u.id = a.user_id
                         ORDER BY a.id DESC LIMIT $1
                     ) newest ORDER BY 8",
                )
                .await
                .map_err(pg)?;
            let rows = client.query(&list, &[&limit]).await.map_err(pg)?;
            Ok(rows
                .iter()
                .map(|r| AdminActionEntry {
                    at: r.get(0),
                    user: r.get(1),
                    device_id: r.get(2),
                    console_user: r.get(3),
                    action: r.get(4),
                    subject: r.get(5),
                    detail: serde_json::from_str(r.get(6)).unwrap_or(serde_json::Value::Null),
                })
                .collect())
        })
    }

    /// In log order: by a change's position (the rows' ids follow it, as
    /// they are inserted under the log's lock, but the order does not rest
    /// on that).
    fn list_changes(&self, document: Option<&str>, limit_to: u32) -> Result<Vec<AuditEntry>, AdminError> {
        let (document, limit) = (document.map(str::to_owned), limit(limit_to));
        self.log.run_admin(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let list = client
                .prepare_cached(
                    "SELECT * FROM (
                         SELECT a.at, u.name, a.device_id, d.name, a.doc_id, a.seq, a.change, a.op, a.id
                         FROM audit a JOIN users u ON u.id = a.user_id JOIN devices d ON d.id = a.device_id
                         WHERE $1::text IS NULL OR a.doc_id = $1 ORDER BY a.seq DESC, a.id DESC LIMIT $2
                     ) newest ORDER BY 6, 9",
                )
                .await
                .map_err(pg)?;
            let rows = client.query(&list, &[&document, &limit]).await.map_err(pg)?;
            Ok(rows
                .iter()
                .map(|r| AuditEntry {
                    at: r.get(0),
                    user: r.get(1),
                    device_id: r.get(2),
                    device: r.get(3),
                    document: r.get(4),
                    seq: r.get(5),
                    change: hex(r.get(6)),
                    op: r.get(7),
                })
                .collect())
        })
    }
}
