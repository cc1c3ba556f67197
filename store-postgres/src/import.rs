//! [`PgImport`]: one transaction that loads a whole deployment into an
//! empty database, keeping every id and log position, for
//! `rapport-server migrate --from-data` (ADR `docs/adr/0029-migrate-to-postgres.md`).
//!
//! The caller reads the rows from the old database and hands them over
//! table by table, in [`Table`]'s order (referenced rows first), in batches;
//! each row is a list of [`Value`]s in the table's column order. Nothing is
//! visible to anyone before [`PgImport::commit`], and a database that holds
//! anything (a log position, a document, a user) is refused, so an import
//! never mixes two deployments.

use std::future::Future;
use std::sync::Arc;

use bytes::BytesMut;
use deadpool_postgres::Object;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

pub use rapport_server_store::report_rows::Table as ReportTable;
use rapport_server_store::{field_changes, report_sql};

use crate::log::PgLog;
use crate::{PgError, PgTransaction};

/// The tables an import fills, in the order they must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `id, last_seq, snapshot, snapshot_seq, pruned_seq, change_count, bytes`
    Documents,
    /// `doc_id, owner, team, territory`: the accounts' scope index.
    Accounts,
    /// `seq, doc_id, actor, bytes`
    Changes,
    /// `seq, doc_id, hash`: every logged position's change hash (pruned changes' too).
    LogHashes,
    /// `actor, seq, doc_id`
    ActorNewest,
    /// `seq, made_at, received_at`
    ChangeTimes,
    /// `id, name, role, created_at, deleted_at`
    Users,
    /// `name, created_at`
    Teams,
    /// `user_id, team`
    UserTeams,
    /// `user_id, territory`
    UserTerritories,
    /// `id, user_id, name, token_hash, created_at, revoked_at`
    Devices,
    /// `device_id, requested_at, done_at, lost_documents, lost_changes`
    DeviceWipes,
    /// `actor, device_id, bound_at`
    Actors,
    /// `device_id, doc_id, since, gone`
    DeviceDocs,
    /// `id, at, user_id, device_id, doc_id, seq, change, op`
    Audit,
    /// `id, at, user_id, device_id, console_user, action, subject, detail` (JSON text)
    AdminActions,
    /// A fact table of the reporting index, its [`ReportTable::columns`]
    /// (the digest is not copied: an account's first rewrite here finds
    /// its rows as they are and leaves their ranges as known).
    Report(ReportTable),
    /// A fact table's rows as known: its columns, `valid_from`, `valid_to`.
    ReportKnown(ReportTable),
    /// `rpt_activity`: `report_sql::ACTIVITY_COLUMNS`.
    Activity,
    /// `rpt_stage_flow`: `report_sql::STAGE_FLOW_COLUMNS`.
    StageFlow,
    /// The late-edits index: `rapport_server_store::field_changes::COLUMNS`.
    FieldChanges,
    /// `id, seq, at`: from when the rows as known are exact.
    KnownFrom,
}

impl Table {
    /// The log's and the directory's tables, in the order an import fills them.
    const LOG: [Table; 16] = [
        Table::Documents,
        Table::Accounts,
        Table::Changes,
        Table::LogHashes,
        Table::ActorNewest,
        Table::ChangeTimes,
        Table::Users,
        Table::Teams,
        Table::UserTeams,
        Table::UserTerritories,
        Table::Devices,
        Table::DeviceWipes,
        Table::Actors,
        Table::DeviceDocs,
        Table::Audit,
        Table::AdminActions,
    ];

    /// Every table, in the order an import fills them: the log and the
    /// directory, then the reporting index.
    pub fn all() -> Vec<Table> {
        let reports = ReportTable::ALL.into_iter();
        Table::LOG
            .into_iter()
            .chain(reports.clone().map(Table::Report))
            .chain(reports.map(Table::ReportKnown))
            .chain([Table::Activity, Table::StageFlow, Table::FieldChanges, Table::KnownFrom])
            .collect()
    }

    /// The table's name (the same on SQLite).
    pub fn name(self) -> &'static str {
        match self {
            Table::Documents => "documents",
            Table::Accounts => "accounts",
            Table::Changes => "changes",
            Table::LogHashes => "log_hashes",
            Table::ActorNewest => "actor_newest",
            Table::ChangeTimes => "change_times",
            Table::Users => "users",
            Table::Teams => "teams",
            Table::UserTeams => "user_teams",
            Table::UserTerritories => "user_territories",
            Table::Devices => "devices",
            Table::DeviceWipes => "device_wipes",
            Table::Actors => "actors",
            Table::DeviceDocs => "device_docs",
            Table::Audit => "audit",
            Table::AdminActions => "admin_actions",
            Table::Report(t) => t.name(),
            Table::ReportKnown(t) => t.known_name(),
            Table::Activity => "rpt_activity",
            Table::StageFlow => "rpt_stage_flow",
            Table::FieldChanges => field_changes::TABLE,
            Table::KnownFrom => "rpt_known_from",
        }
    }

    /// The columns a row gives, in order.
    pub fn columns(self) -> Vec<&'static str> {
        let listed: &[&str] = match self {
            Table::Documents => &["id", "last_seq", "snapshot", "snapshot_seq", "pruned_seq", "change_count", "bytes"],
            Table::Accounts => &["doc_id", "owner", "team", "territory"],
            Table::Changes => &["seq", "doc_id", "actor", "bytes"],
            Table::LogHashes => &["seq", "doc_id", "hash"],
            Table::ActorNewest => &["actor", "seq", "doc_id"],
            Table::ChangeTimes => &["seq", "made_at", "received_at"],
            Table::Users => &["id", "name", "role", "created_at", "deleted_at"],
            Table::Teams => &["name", "created_at"],
            Table::UserTeams => &["user_id", "team"],
            Table::UserTerritories => &["user_id", "territory"],
            Table::Devices => &["id", "user_id", "name", "token_hash", "created_at", "revoked_at"],
            Table::DeviceWipes => &["device_id", "requested_at", "done_at", "lost_documents", "lost_changes"],
            Table::Actors => &["actor", "device_id", "bound_at"],
            Table::DeviceDocs => &["device_id", "doc_id", "since", "gone"],
            Table::Audit => &["id", "at", "user_id", "device_id", "doc_id", "seq", "change", "op"],
            Table::AdminActions => &["id", "at", "user_id", "device_id", "console_user", "action", "subject", "detail"],
            Table::Report(t) => t.columns(),
            Table::ReportKnown(t) => return [t.columns(), &["valid_from", "valid_to"]].concat(),
            Table::Activity => &report_sql::ACTIVITY_COLUMNS,
            Table::StageFlow => &report_sql::STAGE_FLOW_COLUMNS,
            Table::FieldChanges => &field_changes::COLUMNS,
            Table::KnownFrom => &["id", "seq", "at"],
        };
        listed.to_vec()
    }

    /// Whether the table's `id` is an identity column, whose sequence must
    /// continue after the imported ids.
    fn identity(self) -> bool {
        matches!(self, Table::Users | Table::Devices | Table::Audit | Table::AdminActions)
    }

    fn insert(self) -> String {
        let columns = self.columns();
        let values: Vec<String> = (1..=columns.len())
            .map(|i| match (self, columns[i - 1]) {
                (Table::AdminActions, "detail") => format!("${i}::text::jsonb"),
                _ => format!("${i}"),
            })
            .collect();
        let overriding = if self.identity() { " OVERRIDING SYSTEM VALUE" } else { "" };
        // Quoted: the late-edits index has a column named `user`.
        let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        format!("INSERT INTO {} ({}){overriding} VALUES ({})", self.name(), names.join(", "), values.join(", "))
    }
}

/// One value of an imported row: what SQLite stores. It is written as the
/// column's PostgreSQL type asks (an integer as `bigint`, text as `text`,
/// bytes as `bytea`); a value of the wrong kind is refused by PostgreSQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            // SQLite keeps a flag as 0 or 1.
            Value::Integer(v) if *ty == Type::BOOL => (*v != 0).to_sql(ty, out),
            Value::Integer(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
            Value::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty)
            || <bool as ToSql>::accepts(ty)
            || <String as ToSql>::accepts(ty)
            || <Vec<u8> as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// A deployment being imported: one log transaction holding the log's
/// lock. Dropped without [`PgImport::commit`], nothing is stored.
#[derive(Debug)]
pub struct PgImport {
    tx: PgTransaction,
    /// The table rows were last given for, to keep the order.
    at: usize,
}

impl PgLog {
    /// Begins importing a deployment into this database, which must be
    /// empty: no log position given out, no document, no user
    /// ([`PgError::NotEmpty`] otherwise). The log's identity is set by
    /// [`PgImport::log_state`].
    pub fn import(&self) -> Result<PgImport, PgError> {
        let mut tx = self.begin()?;
        tx.lock_log()?;
        let used: bool = tx.call(|c| async move {
            let row = c
                .query_one(
                    "SELECT (SELECT last_position FROM log_state WHERE id = 1) > 0
                         OR EXISTS (SELECT 1 FROM documents) OR EXISTS (SELECT 1 FROM users)",
                    &[],
                )
                .await?;
            Ok(row.get(0))
        })?;
        if used {
            return Err(PgError::NotEmpty);
        }
        Ok(PgImport { tx, at: 0 })
    }
}

impl PgImport {
    /// The log's identity, epoch, head and last position given out, as the
    /// old database had them: devices see the same log and go on from
    /// where they were.
    pub fn log_state(&mut self, server: [u8; 16], epoch: i64, head: i64, last_position: i64) -> Result<(), PgError> {
        self.call(move |c| async move {
            c.execute(
                "UPDATE log_state SET server = $1, epoch = $2, head = $3, last_position = $4 WHERE id = 1",
                &[&server.to_vec(), &epoch, &head, &last_position],
            )
            .await?;
            Ok(())
        })
    }

    /// Inserts rows of `table`, each its [`Table::columns`] in order. Tables
    /// come in [`Table::all`]'s order; one may be given in many batches.
    pub fn rows(&mut self, table: Table, rows: Vec<Vec<Value>>) -> Result<(), PgError> {
        let index = Table::all().iter().position(|t| *t == table).unwrap_or(usize::MAX);
        if index < self.at {
            return Err(PgError::Invalid { what: "import order (a table came after one it must precede)" });
        }
        self.at = index;
        if rows.iter().any(|r| r.len() != table.columns().len()) {
            return Err(PgError::Invalid { what: "imported row (its number of values)" });
        }
        self.call(move |c| async move {
            let insert = c.prepare_cached(&table.insert()).await?;
            for row in &rows {
                let params: Vec<&(dyn ToSql + Sync)> = row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                c.execute(&insert, &params).await?;
            }
            Ok(())
        })
    }

    /// Makes the identity columns continue after the imported ids, then
    /// commits. `Ok` means the whole deployment is stored; a connection
    /// lost during COMMIT is [`PgError::CommitOutcomeUnknown`] (run the
    /// import again: it is refused if the first one was stored).
    pub fn commit(mut self) -> Result<(), PgError> {
        self.call(|client| async move {
            for table in Table::all().iter().filter(|t| t.identity()) {
                let name = table.name();
                client
                    .execute(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{name}', 'id'), coalesce(max(id), 0) + 1, false) FROM {name}"
                        ),
                        &[],
                    )
                    .await?;
            }
            Ok(())
        })?;
        self.tx.commit()
    }

    /// Runs work in the import's transaction; once a statement failed,
    /// nothing more runs ([`PgError::Aborted`]).
    fn call<T, F>(&mut self, work: impl FnOnce(Arc<Object>) -> F) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        if self.tx.failed() {
            return Err(PgError::Aborted);
        }
        self.tx.call(work)
    }
}

impl PgLog {
    /// How many rows `table` holds (to verify an import).
    pub fn count_rows(&self, table: Table) -> Result<i64, PgError> {
        let pool = self.pool();
        self.run(async move {
            let client = pool.get().await?;
            let row = client.query_one(&format!("SELECT count(*) FROM {}", table.name()), &[]).await?;
            Ok::<_, PgError>(row.get(0))
        })?
    }
}
