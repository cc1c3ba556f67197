//! The directory on the server's SQLite file: users, teams, territories and
//! device tokens, as [`DirectoryStore`] over the database thread's
//! connection (ADR `docs/adr/0026-directory-store.md`).
//!
//! The operations, their types and their rules (names, roles, the built-in
//! admin) are `rapport_server_store`'s, shared with PostgreSQL; this file is
//! only their SQL. The types are re-exported here, where the server's
//! callers have always found them.

use std::collections::BTreeSet;

use rapport_server_store::rules::{self, ADMIN_USER, check_name};
use rapport_server_store::{DirectoryStore, token};
use rusqlite::{Connection, OptionalExtension, params};

pub use rapport_server_store::{
    AdminError, Bootstrap, DeviceInfo, NewDevice, UserChange, UserInfo, WipeInfo, WipeReport,
};

use super::{DbError, now_millis};
use crate::access::{Role, Subject};
use crate::auth::{Principal, TokenHash};

/// The directory in the server's database, through a borrowed connection.
///
/// Reads run on whatever the connection is in (the database thread's
/// savepoint during a sync, so a sync sees its own transaction). Each write
/// is a transaction of its own, begun with `unchecked_transaction` because
/// the callers hold the connection shared; the write operations are only
/// called between transactions, and SQLite refuses a nested BEGIN with an
/// error rather than doing anything silently.
#[derive(Debug, Clone, Copy)]
pub struct SqliteDirectory<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteDirectory<'c> {
    pub fn new(conn: &'c Connection) -> SqliteDirectory<'c> {
        SqliteDirectory { conn }
    }
}

/// A SQLite failure as the directory's error. The [`DbError`] is boxed
/// whole, so the server's error mapping finds a full disk again.
fn sql(e: rusqlite::Error) -> AdminError {
    AdminError::backend(DbError::Sqlite(e))
}

impl From<DbError> for AdminError {
    fn from(e: DbError) -> AdminError {
        AdminError::backend(e)
    }
}

impl DirectoryStore for SqliteDirectory<'_> {
    fn bootstrap(&self, admin_token: Option<&str>) -> Result<Bootstrap, AdminError> {
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        let existing: Option<i64> =
            tx.query_row("SELECT id FROM users WHERE name = ?1", [ADMIN_USER], |r| r.get(0)).optional().map_err(sql)?;
        let created_admin = existing.is_none();
        let admin = match existing {
            Some(id) => id,
            None => {
                tx.execute(
                    "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)",
                    params![ADMIN_USER, Role::Admin.as_str(), now_millis()],
                )
                .map_err(sql)?;
                tx.last_insert_rowid()
            }
        };
        let mut new_token = None;
        match admin_token {
            Some(token) => {
                let hash = TokenHash::of(token);
                let known: bool = tx
                    .query_row("SELECT EXISTS (SELECT 1 FROM devices WHERE token_hash = ?1)", [hash.as_bytes()], |r| {
                        r.get(0)
                    })
                    .map_err(sql)?;
                if !known {
                    insert_device(&tx, admin, "automation", &hash).map_err(sql)?;
                }
            }
            None if created_admin => {
                let token = token::generate()?;
                insert_device(&tx, admin, "first device", &TokenHash::of(&token)).map_err(sql)?;
                new_token = Some(token);
            }
            None => {}
        }
        tx.commit().map_err(sql)?;
        Ok(Bootstrap { created_admin, new_token })
    }

    fn authenticate(&self, hash: &TokenHash) -> Result<Option<Principal>, AdminError> {
        let row: Option<(i64, i64, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT d.id, u.id, u.name, u.role FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.deleted_at IS NULL",
            )
            .and_then(|mut s| s.query_row([hash.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))))
            .optional()
            .map_err(sql)?;
        let Some((device_id, user_id, user, role)) = row else { return Ok(None) };
        let Some(role) = rules::stored_role(user_id, &role) else { return Ok(None) };
        Ok(Some(Principal { user_id, device_id, user, role }))
    }

    fn subject(&self, device_id: i64) -> Result<Option<Subject>, AdminError> {
        let row: Option<(i64, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT u.id, u.name, u.role FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.id = ?1 AND d.revoked_at IS NULL AND u.deleted_at IS NULL",
            )
            .and_then(|mut s| s.query_row([device_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .optional()
            .map_err(sql)?;
        let Some((user_id, user, role)) = row else { return Ok(None) };
        let Some(role) = Role::parse(&role) else { return Ok(None) };
        Ok(Some(Subject {
            user,
            role,
            teams: strings(self.conn, "SELECT team FROM user_teams WHERE user_id = ?1", user_id).map_err(sql)?,
            territories: strings(self.conn, "SELECT territory FROM user_territories WHERE user_id = ?1", user_id)
                .map_err(sql)?,
        }))
    }

    fn add_user(&self, name: &str, role: &str, change: &UserChange, device: &str) -> Result<NewDevice, AdminError> {
        let name = check_name(name)?;
        let role = rules::parse_role(role)?;
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        let exists: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)", [name], |r| r.get(0)).map_err(sql)?;
        if exists {
            return Err(AdminError::UserExists);
        }
        tx.execute(
            "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)",
            params![name, role.as_str(), now_millis()],
        )
        .map_err(sql)?;
        let id = tx.last_insert_rowid();
        set_memberships(&tx, id, change)?;
        let new = issue_device(&tx, id, name, device)?;
        tx.commit().map_err(sql)?;
        Ok(new)
    }

    fn add_device(&self, user: &str, device: &str) -> Result<NewDevice, AdminError> {
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        let id = user_id(&tx, user)?;
        let new = issue_device(&tx, id, user, device)?;
        tx.commit().map_err(sql)?;
        Ok(new)
    }

    fn set_user(&self, name: &str, change: &UserChange) -> Result<(), AdminError> {
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        let id = user_id(&tx, name)?;
        if let Some(role) = &change.role {
            let role = rules::parse_role(role)?;
            rules::check_role_change(name, role)?;
            tx.execute("UPDATE users SET role = ?2 WHERE id = ?1", params![id, role.as_str()]).map_err(sql)?;
        }
        set_memberships(&tx, id, change)?;
        tx.commit().map_err(sql)?;
        Ok(())
    }

    fn delete_user(&self, name: &str) -> Result<(), AdminError> {
        rules::check_deletable(name)?;
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        let id = user_id(&tx, name)?;
        let now = now_millis();
        tx.execute("UPDATE users SET deleted_at = ?2 WHERE id = ?1", params![id, now]).map_err(sql)?;
        tx.execute("UPDATE devices SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL", params![id, now])
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(())
    }

    fn list_users(&self) -> Result<Vec<UserInfo>, AdminError> {
        let conn = self.conn;
        let rows: Vec<(i64, String, String, bool)> = conn
            .prepare_cached("SELECT id, name, role, deleted_at IS NOT NULL FROM users ORDER BY name")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<rusqlite::Result<_>>()
            })
            .map_err(sql)?;
        let mut users = Vec::with_capacity(rows.len());
        for (id, name, role, deleted) in rows {
            users.push(UserInfo {
                name,
                role,
                teams: strings(conn, "SELECT team FROM user_teams WHERE user_id = ?1", id).map_err(sql)?,
                territories: strings(conn, "SELECT territory FROM user_territories WHERE user_id = ?1", id)
                    .map_err(sql)?,
                deleted,
            });
        }
        Ok(users)
    }

    fn add_team(&self, name: &str) -> Result<(), AdminError> {
        let name = check_name(name)?;
        let added = self
            .conn
            .prepare_cached("INSERT INTO teams (name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
            .and_then(|mut s| s.execute(params![name, now_millis()]))
            .map_err(sql)?;
        if added == 0 {
            return Err(AdminError::TeamExists);
        }
        Ok(())
    }

    fn list_teams(&self) -> Result<Vec<String>, AdminError> {
        self.conn
            .prepare_cached("SELECT name FROM teams ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sql)
    }

    /// Every territory a user works in or an account is placed in (the
    /// `accounts` scope index lives in this database).
    fn list_territories(&self) -> Result<Vec<String>, AdminError> {
        self.conn
            .prepare_cached(
                "SELECT territory FROM user_territories
                 UNION SELECT territory FROM accounts WHERE territory IS NOT NULL
                 ORDER BY 1",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sql)
    }

    fn list_devices(&self) -> Result<Vec<DeviceInfo>, AdminError> {
        let conn = self.conn;
        let rows: Vec<(i64, String, String, i64, bool)> = conn
            .prepare_cached(
                "SELECT d.id, u.name, d.name, d.created_at, d.revoked_at IS NOT NULL
                 FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(sql)?;
        let mut devices = Vec::with_capacity(rows.len());
        for (id, user, name, created_at, revoked) in rows {
            let actors: Vec<Vec<u8>> = conn
                .prepare_cached("SELECT actor FROM actors WHERE device_id = ?1 ORDER BY bound_at, actor")
                .and_then(|mut s| s.query_map([id], |r| r.get(0))?.collect())
                .map_err(sql)?;
            let actors = actors.iter().map(|a| a.iter().map(|b| format!("{b:02x}")).collect()).collect();
            let wipe = wipe_info(conn, id).map_err(sql)?;
            devices.push(DeviceInfo { id, user, name, created_at, revoked, actors, wipe });
        }
        Ok(devices)
    }

    fn revoke_device(&self, id: i64) -> Result<(), AdminError> {
        revoke(self.conn, id)
    }

    fn revoke_device_for_wipe(&self, id: i64) -> Result<(), AdminError> {
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        revoke(&tx, id)?;
        tx.prepare_cached("INSERT OR IGNORE INTO device_wipes (device_id, requested_at) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![id, now_millis()]))
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(())
    }

    fn device_name(&self, id: i64) -> Result<Option<String>, AdminError> {
        self.conn
            .prepare_cached("SELECT name FROM devices WHERE id = ?1 AND revoked_at IS NULL")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(sql)
    }

    fn wiped_device(&self, hash: &TokenHash) -> Result<Option<i64>, AdminError> {
        self.conn
            .prepare_cached(
                "SELECT d.id FROM devices d JOIN device_wipes w ON w.device_id = d.id WHERE d.token_hash = ?1",
            )
            .and_then(|mut s| s.query_row([hash.as_bytes()], |r| r.get(0)).optional())
            .map_err(sql)
    }

    fn record_wipe_done(&self, device_id: i64, report: WipeReport) -> Result<bool, AdminError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE device_wipes SET done_at = ?2, lost_documents = ?3, lost_changes = ?4
                 WHERE device_id = ?1 AND done_at IS NULL",
            )
            .and_then(|mut s| s.execute(params![device_id, now_millis(), report.lost_documents, report.lost_changes]))
            .map_err(sql)?;
        Ok(changed > 0)
    }
}

fn insert_device(conn: &Connection, user: i64, name: &str, hash: &TokenHash) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO devices (user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user, name, hash.as_bytes(), now_millis()],
    )?;
    Ok(conn.last_insert_rowid())
}

fn strings(conn: &Connection, sql: &str, id: i64) -> rusqlite::Result<BTreeSet<String>> {
    conn.prepare_cached(sql)?.query_map([id], |r| r.get(0))?.collect()
}

fn user_id(conn: &Connection, name: &str) -> Result<i64, AdminError> {
    conn.prepare_cached("SELECT id FROM users WHERE name = ?1 AND deleted_at IS NULL")
        .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
        .map_err(sql)?
        .ok_or(AdminError::UnknownUser)
}

fn issue_device(conn: &Connection, user_id: i64, user: &str, device: &str) -> Result<NewDevice, AdminError> {
    let device = check_name(device)?;
    let token = token::generate()?;
    let device_id = insert_device(conn, user_id, device, &TokenHash::of(&token)).map_err(sql)?;
    Ok(NewDevice { user: user.to_owned(), device_id, token })
}

fn set_memberships(conn: &Connection, id: i64, change: &UserChange) -> Result<(), AdminError> {
    if let Some(teams) = &change.teams {
        conn.execute("DELETE FROM user_teams WHERE user_id = ?1", [id]).map_err(sql)?;
        for team in teams {
            let known: bool = conn
                .query_row("SELECT EXISTS (SELECT 1 FROM teams WHERE name = ?1)", [team], |r| r.get(0))
                .map_err(sql)?;
            if !known {
                return Err(AdminError::UnknownTeam);
            }
            conn.execute("INSERT INTO user_teams (user_id, team) VALUES (?1, ?2)", params![id, team]).map_err(sql)?;
        }
    }
    if let Some(territories) = &change.territories {
        conn.execute("DELETE FROM user_territories WHERE user_id = ?1", [id]).map_err(sql)?;
        for territory in territories {
            let territory = check_name(territory)?;
            // Names that differ only in surrounding white space are one territory.
            conn.execute(
                "INSERT OR IGNORE INTO user_territories (user_id, territory) VALUES (?1, ?2)",
                params![id, territory],
            )
            .map_err(sql)?;
        }
    }
    Ok(())
}

fn wipe_info(conn: &Connection, device_id: i64) -> rusqlite::Result<Option<WipeInfo>> {
    conn.prepare_cached(
        "SELECT requested_at, done_at, lost_documents, lost_changes FROM device_wipes WHERE device_id = ?1",
    )?
    .query_row([device_id], |r| {
        Ok(WipeInfo { requested_at: r.get(0)?, done_at: r.get(1)?, lost_documents: r.get(2)?, lost_changes: r.get(3)? })
    })
    .optional()
}

/// Revokes a device unless it already is (the first revocation's time is kept).
fn revoke(conn: &Connection, id: i64) -> Result<(), AdminError> {
    let changed = conn
        .prepare_cached("UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id, now_millis()]))
        .map_err(sql)?;
    if changed == 0 {
        return Err(AdminError::UnknownDevice);
    }
    Ok(())
}
