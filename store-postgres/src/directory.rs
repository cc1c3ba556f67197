//! [`PgDirectory`]: the server's directory (users, teams, territories,
//! devices and their tokens) on PostgreSQL, as `rapport_server_store`'s
//! [`DirectoryStore`] (ADR `docs/adr/0026-directory-store.md`).
//!
//! It runs on the pool and runtime of the [`PgLog`] it came from
//! ([`PgLog::directory`]), through the same bridge: each call spawns its
//! work on the log's runtime and blocks until it is done (ADR 0017). Each
//! write is one transaction, committed before the call returns. Reads are
//! one statement each (the teams and territories of a user come as arrays
//! of the same statement), so a reader never mixes two moments.
//!
//! The rules (names, roles, the built-in admin) are the shared crate's, in
//! the same order as on SQLite, so both refuse the same request the same
//! way. Names are ordered with `COLLATE "C"`, code point order, as SQLite's
//! binary collation orders them, whatever the database's locale.
//!
//! A device lists the actor ids bound to it (by the access rules,
//! `access.rs`), and the territories listed include those accounts are
//! placed in (the scope index the log keeps), as on SQLite.

use std::collections::BTreeSet;
use std::future::Future;

use deadpool_postgres::{ClientWrapper, Pool, Transaction};
use rapport_server_store::rules::{self, ADMIN_USER, check_name};
use rapport_server_store::{
    AdminError, Bootstrap, DeviceInfo, DirectoryStore, NewDevice, Principal, Role, Subject, TokenHash, UserChange,
    UserInfo, WipeInfo, WipeReport, token,
};

use crate::PgError;
use crate::clock::now_millis;
use crate::log::PgLog;
use crate::watch::DIRECTORY_CHANNEL;

/// The directory in a PostgreSQL database. Cheap to clone; it shares the
/// pool and runtime of its [`PgLog`]. Its methods block the calling thread,
/// like the log's.
#[derive(Debug, Clone)]
pub struct PgDirectory {
    log: PgLog,
}

impl PgLog {
    /// The directory in the same database, on this log's connections.
    pub fn directory(&self) -> PgDirectory {
        PgDirectory { log: self.clone() }
    }
}

/// A PostgreSQL failure as the directory's error, classified as the log
/// classifies it (a lost connection, a rollback, a refused statement).
pub(crate) fn pg(e: impl Into<PgError>) -> AdminError {
    AdminError::backend(e.into())
}

/// A failed COMMIT: only PostgreSQL's own answer says the write was not stored.
fn commit_failed(e: tokio_postgres::Error) -> AdminError {
    AdminError::backend(PgError::commit(e))
}

impl PgLog {
    /// Runs a directory or audit operation on the log's runtime with the
    /// pool to draw from.
    pub(crate) fn run_admin<T: Send + 'static, F>(&self, work: impl FnOnce(Pool) -> F) -> Result<T, AdminError>
    where
        F: Future<Output = Result<T, AdminError>> + Send + 'static,
    {
        self.run(work(self.pool())).map_err(pg)?
    }
}

impl PgDirectory {
    fn run<T: Send + 'static, F>(&self, work: impl FnOnce(Pool) -> F) -> Result<T, AdminError>
    where
        F: Future<Output = Result<T, AdminError>> + Send + 'static,
    {
        self.log.run_admin(work)
    }
}

impl DirectoryStore for PgDirectory {
    fn bootstrap(&self, admin_token: Option<&str>) -> Result<Bootstrap, AdminError> {
        let admin_token = admin_token.map(TokenHash::of);
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            // Nodes starting together: the second waits for the first's
            // insert and then finds the admin there.
            let inserted = tx
                .query_opt(
                    "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                    &[&ADMIN_USER, &Role::Admin.as_str(), &now_millis()],
                )
                .await
                .map_err(pg)?;
            let created_admin = inserted.is_some();
            let admin: i64 = match inserted {
                Some(row) => row.get(0),
                None => tx.query_one("SELECT id FROM users WHERE name = $1", &[&ADMIN_USER]).await.map_err(pg)?.get(0),
            };
            let mut new_token = None;
            match admin_token {
                Some(hash) => {
                    insert_device(&tx, admin, "automation", &hash).await?;
                }
                None if created_admin => {
                    let token = token::generate()?;
                    insert_device(&tx, admin, "first device", &TokenHash::of(&token))
                        .await?
                        .ok_or_else(|| pg(PgError::Invalid { what: "device token (its hash is taken)" }))?;
                    new_token = Some(token);
                }
                None => {}
            }
            tx.commit().await.map_err(commit_failed)?;
            Ok(Bootstrap { created_admin, new_token })
        })
    }

    fn authenticate(&self, hash: &TokenHash) -> Result<Option<Principal>, AdminError> {
        let hash = *hash;
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let statement = client
                .prepare_cached(
                    "SELECT d.id, u.id, u.name, u.role FROM devices d JOIN users u ON u.id = d.user_id
                     WHERE d.token_hash = $1 AND d.revoked_at IS NULL AND u.deleted_at IS NULL",
                )
                .await
                .map_err(pg)?;
            let Some(row) = client.query_opt(&statement, &[&hash.as_bytes()]).await.map_err(pg)? else {
                return Ok(None);
            };
            let user_id: i64 = row.get(1);
            let Some(role) = rules::stored_role(user_id, row.get(3)) else { return Ok(None) };
            Ok(Some(Principal { user_id, device_id: row.get(0), user: row.get(2), role }))
        })
    }

    fn subject(&self, device_id: i64) -> Result<Option<Subject>, AdminError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            subject_of(&client, device_id).await.map_err(pg)
        })
    }

    fn add_user(&self, name: &str, role: &str, change: &UserChange, device: &str) -> Result<NewDevice, AdminError> {
        let name = check_name(name)?.to_owned();
        let role = rules::parse_role(role)?;
        let (change, device) = (change.clone(), device.to_owned());
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            let Some(row) = tx
                .query_opt(
                    "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                    &[&name, &role.as_str(), &now_millis()],
                )
                .await
                .map_err(pg)?
            else {
                return Err(AdminError::UserExists);
            };
            let id: i64 = row.get(0);
            set_memberships(&tx, id, &change).await?;
            let new = issue_device(&tx, id, &name, &device).await?;
            tx.commit().await.map_err(commit_failed)?;
            Ok(new)
        })
    }

    fn add_device(&self, user: &str, device: &str) -> Result<NewDevice, AdminError> {
        let (user, device) = (user.to_owned(), device.to_owned());
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            let id = user_id(&tx, &user).await?;
            let new = issue_device(&tx, id, &user, &device).await?;
            tx.commit().await.map_err(commit_failed)?;
            Ok(new)
        })
    }

    fn set_user(&self, name: &str, change: &UserChange) -> Result<(), AdminError> {
        let (name, change) = (name.to_owned(), change.clone());
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            let id = user_id(&tx, &name).await?;
            if let Some(role) = &change.role {
                let role = rules::parse_role(role)?;
                rules::check_role_change(&name, role)?;
                tx.execute("UPDATE users SET role = $2 WHERE id = $1", &[&id, &role.as_str()]).await.map_err(pg)?;
            }
            set_memberships(&tx, id, &change).await?;
            notify_directory(&tx).await?;
            tx.commit().await.map_err(commit_failed)?;
            Ok(())
        })
    }

    fn delete_user(&self, name: &str) -> Result<(), AdminError> {
        rules::check_deletable(name)?;
        let name = name.to_owned();
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            let id = user_id(&tx, &name).await?;
            let now = now_millis();
            tx.execute("UPDATE users SET deleted_at = $2 WHERE id = $1", &[&id, &now]).await.map_err(pg)?;
            tx.execute("UPDATE devices SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", &[&id, &now])
                .await
                .map_err(pg)?;
            notify_directory(&tx).await?;
            tx.commit().await.map_err(commit_failed)?;
            Ok(())
        })
    }

    fn list_users(&self) -> Result<Vec<UserInfo>, AdminError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let rows = client
                .query(
                    r#"SELECT u.name, u.role,
                              ARRAY(SELECT team FROM user_teams WHERE user_id = u.id),
                              ARRAY(SELECT territory FROM user_territories WHERE user_id = u.id),
                              u.deleted_at IS NOT NULL
                       FROM users u ORDER BY u.name COLLATE "C""#,
                    &[],
                )
                .await
                .map_err(pg)?;
            Ok(rows
                .iter()
                .map(|row| UserInfo {
                    name: row.get(0),
                    role: row.get(1),
                    teams: set(row.get(2)),
                    territories: set(row.get(3)),
                    deleted: row.get(4),
                })
                .collect())
        })
    }

    fn add_team(&self, name: &str) -> Result<(), AdminError> {
        let name = check_name(name)?.to_owned();
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let added = client
                .execute(
                    "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&name, &now_millis()],
                )
                .await
                .map_err(pg)?;
            if added == 0 {
                return Err(AdminError::TeamExists);
            }
            Ok(())
        })
    }

    fn list_teams(&self) -> Result<Vec<String>, AdminError> {
        self.strings(r#"SELECT name FROM teams ORDER BY name COLLATE "C""#)
    }

    /// Every territory a user works in. The accounts' scope index is not on
    /// PostgreSQL yet, so the territories only accounts are placed in are not
    /// listed here until it is (ADR 0026).
    fn list_territories(&self) -> Result<Vec<String>, AdminError> {
        self.strings(
            r#"SELECT territory FROM (
                   SELECT territory FROM user_territories
                   UNION SELECT territory FROM accounts WHERE territory IS NOT NULL
               ) listed ORDER BY territory COLLATE "C""#,
        )
    }

    fn list_devices(&self) -> Result<Vec<DeviceInfo>, AdminError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let rows = client
                .query(
                    "SELECT d.id, u.name, d.name, d.created_at, d.revoked_at IS NOT NULL,
                            w.requested_at, w.done_at, w.lost_documents, w.lost_changes,
                            ARRAY(SELECT encode(a.actor, 'hex') FROM actors a WHERE a.device_id = d.id
                                  ORDER BY a.bound_at, a.actor)
                     FROM devices d JOIN users u ON u.id = d.user_id
                     LEFT JOIN device_wipes w ON w.device_id = d.id
                     ORDER BY d.id",
                    &[],
                )
                .await
                .map_err(pg)?;
            Ok(rows
                .iter()
                .map(|row| DeviceInfo {
                    id: row.get(0),
                    user: row.get(1),
                    name: row.get(2),
                    created_at: row.get(3),
                    revoked: row.get(4),
                    actors: row.get(9),
                    wipe: row.get::<_, Option<i64>>(5).map(|requested_at| WipeInfo {
                        requested_at,
                        done_at: row.get(6),
                        lost_documents: row.get(7),
                        lost_changes: row.get(8),
                    }),
                })
                .collect())
        })
    }

    fn revoke_device(&self, id: i64) -> Result<(), AdminError> {
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            revoke(&tx, id).await?;
            tx.commit().await.map_err(commit_failed)
        })
    }

    fn revoke_device_for_wipe(&self, id: i64) -> Result<(), AdminError> {
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            revoke(&tx, id).await?;
            tx.execute(
                "INSERT INTO device_wipes (device_id, requested_at) VALUES ($1, $2) ON CONFLICT (device_id) DO NOTHING",
                &[&id, &now_millis()],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(commit_failed)
        })
    }

    fn device_name(&self, id: i64) -> Result<Option<String>, AdminError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let statement = client
                .prepare_cached("SELECT name FROM devices WHERE id = $1 AND revoked_at IS NULL")
                .await
                .map_err(pg)?;
            Ok(client.query_opt(&statement, &[&id]).await.map_err(pg)?.map(|row| row.get(0)))
        })
    }

    fn wiped_device(&self, hash: &TokenHash) -> Result<Option<i64>, AdminError> {
        let hash = *hash;
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let statement = client
                .prepare_cached(
                    "SELECT d.id FROM devices d JOIN device_wipes w ON w.device_id = d.id WHERE d.token_hash = $1",
                )
                .await
                .map_err(pg)?;
            Ok(client.query_opt(&statement, &[&hash.as_bytes()]).await.map_err(pg)?.map(|row| row.get(0)))
        })
    }

    fn record_wipe_done(&self, device_id: i64, report: WipeReport) -> Result<bool, AdminError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let changed = client
                .execute(
                    "UPDATE device_wipes SET done_at = $2, lost_documents = $3, lost_changes = $4
                     WHERE device_id = $1 AND done_at IS NULL",
                    &[&device_id, &now_millis(), &report.lost_documents, &report.lost_changes],
                )
                .await
                .map_err(pg)?;
            Ok(changed > 0)
        })
    }
}

impl PgDirectory {
    /// The first column of every row of a query without parameters.
    fn strings(&self, sql: &'static str) -> Result<Vec<String>, AdminError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            Ok(client.query(sql, &[]).await.map_err(pg)?.iter().map(|row| row.get(0)).collect())
        })
    }
}

/// The current rules of a device's user, read on `client` (a pooled
/// connection, or the connection of a sync request's transaction).
pub(crate) async fn subject_of(client: &ClientWrapper, device_id: i64) -> Result<Option<Subject>, PgError> {
    let statement = client
        .prepare_cached(
            "SELECT u.name, u.role,
                    ARRAY(SELECT team FROM user_teams WHERE user_id = u.id),
                    ARRAY(SELECT territory FROM user_territories WHERE user_id = u.id)
             FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.id = $1 AND d.revoked_at IS NULL AND u.deleted_at IS NULL",
        )
        .await?;
    let Some(row) = client.query_opt(&statement, &[&device_id]).await? else { return Ok(None) };
    let Some(role) = Role::parse(row.get(1)) else { return Ok(None) };
    Ok(Some(Subject { user: row.get(0), role, teams: set(row.get(2)), territories: set(row.get(3)) }))
}

fn set(names: Vec<String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

async fn insert_device(
    tx: &Transaction<'_>,
    user: i64,
    name: &str,
    hash: &TokenHash,
) -> Result<Option<i64>, AdminError> {
    // A token already registered (the automation token at a later start, or
    // on another node starting at the same time) stays with its device.
    let row = tx
        .query_opt(
            "INSERT INTO devices (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (token_hash) DO NOTHING RETURNING id",
            &[&user, &name, &hash.as_bytes(), &now_millis()],
        )
        .await
        .map_err(pg)?;
    Ok(row.map(|row| row.get(0)))
}

async fn user_id(tx: &Transaction<'_>, name: &str) -> Result<i64, AdminError> {
    let row =
        tx.query_opt("SELECT id FROM users WHERE name = $1 AND deleted_at IS NULL", &[&name]).await.map_err(pg)?;
    row.map(|row| row.get(0)).ok_or(AdminError::UnknownUser)
}

async fn issue_device(tx: &Transaction<'_>, user_id: i64, user: &str, device: &str) -> Result<NewDevice, AdminError> {
    let device = check_name(device)?;
    let token = token::generate()?;
    // 32 random bytes do not collide; a conflict would be a broken random source.
    let device_id = insert_device(tx, user_id, device, &TokenHash::of(&token))
        .await?
        .ok_or_else(|| pg(PgError::Invalid { what: "device token (its hash is taken)" }))?;
    Ok(NewDevice { user: user.to_owned(), device_id, token })
}

async fn set_memberships(tx: &Transaction<'_>, id: i64, change: &UserChange) -> Result<(), AdminError> {
    if let Some(teams) = &change.teams {
        tx.execute("DELETE FROM user_teams WHERE user_id = $1", &[&id]).await.map_err(pg)?;
        for team in teams {
            let added = tx
                .execute(
                    "INSERT INTO user_teams (user_id, team) SELECT $1, name FROM teams WHERE name = $2",
                    &[&id, team],
                )
                .await
                .map_err(pg)?;
            if added == 0 {
                return Err(AdminError::UnknownTeam);
            }
        }
    }
    if let Some(territories) = &change.territories {
        tx.execute("DELETE FROM user_territories WHERE user_id = $1", &[&id]).await.map_err(pg)?;
        for territory in territories {
            let territory = check_name(territory)?;
            // Names that differ only in surrounding white space are one territory.
            tx.execute(
                "INSERT INTO user_territories (user_id, territory) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id, &territory],
            )
            .await
            .map_err(pg)?;
        }
    }
    Ok(())
}

/// Revokes a device unless it already is (the first revocation's time is kept).
async fn revoke(tx: &Transaction<'_>, id: i64) -> Result<(), AdminError> {
    let changed = tx
        .execute("UPDATE devices SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1", &[&id, &now_millis()])
        .await
        .map_err(pg)?;
    if changed == 0 {
        return Err(AdminError::UnknownDevice);
    }
    notify_directory(tx).await
}

/// Tells every node's watcher, at COMMIT, that someone's rights shrank or
/// changed (a revoked device, a deleted user, a new role, teams or
/// territories): cached rules must be read again (`watch.rs`).
async fn notify_directory(tx: &Transaction<'_>) -> Result<(), AdminError> {
    tx.execute("SELECT pg_notify($1, '')", &[&DIRECTORY_CHANNEL]).await.map_err(pg)?;
    Ok(())
}
