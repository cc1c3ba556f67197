//! The materialized account index: what lists, filters and search read.
//!
//! It is derived from the documents and rewritten in the same SQLite
//! transaction as every document write, so it can never disagree with them.

use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value as SqlValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::doc::AccountDoc;
use crate::doc::access::{self as a, Fields};
use crate::doc::conflicts;
use crate::error::Result;
use crate::matching;
use crate::model::*;

use super::words;

/// One row of the index, as lists return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub id: AccountId,
    pub name: String,
    pub kind: PartyKind,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
    pub loyalty_rung: LoyaltyRung,
    pub lifecycle_phase: LifecyclePhase,
    pub value_tier: ValueTier,
    pub status: AccountStatus,
    pub deleted: bool,
    pub open_deals: u32,
    /// Number of fields with concurrent values.
    pub conflicts: u32,
    #[serde(with = "crate::serde_time::instant")]
    pub updated_at: OffsetDateTime,
}

/// Filters for [`crate::Replica::list`]. Every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFilter {
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
    pub loyalty_rung: Option<LoyaltyRung>,
    pub lifecycle_phase: Option<LifecyclePhase>,
    pub value_tier: Option<ValueTier>,
    pub status: Option<AccountStatus>,
    /// Accounts with at least one deal in this stage.
    pub deal_stage: Option<String>,
    pub tag: Option<String>,
    /// Full-text query over names, contacts, registration codes, notes and addresses, by prefix and by word form.
    pub text: Option<String>,
    /// Only accounts with open conflicts.
    pub with_conflicts: bool,
    /// Include soft-deleted accounts.
    pub include_deleted: bool,
    pub limit: Option<u32>,
}

/// What the index stores for one account.
pub(crate) struct Row {
    summary: AccountSummary,
    merged_into: Option<String>,
    tags: Vec<String>,
    stages: Vec<String>,
    contacts_text: String,
    notes: String,
    /// Street, city, region and postcode.
    address: String,
    /// What duplicate detection compares (`duplicates.rs`), sorted, without repeats.
    keys: Vec<(&'static str, String)>,
}

pub(crate) fn row(doc: &mut AccountDoc) -> Row {
    let (_, updated_at) = doc.last_change();
    let id = doc.id();
    let d: &AutoCommit = doc.automerge();
    // One walk counts conflicts and reads the objects the row needs.
    let walked = conflicts::walk(d);
    let empty = Fields::empty();
    let root = walked.root.as_ref().unwrap_or(&empty);
    let p = walked.party.as_ref().unwrap_or(&empty);
    let mut stages = Vec::new();
    let mut open_deals = 0;
    for deal in &walked.deals {
        if let Some(s) = deal.string("stage") {
            stages.push(s);
        }
        if deal.parsed::<DealOutcome>("outcome").unwrap_or(DealOutcome::Open) == DealOutcome::Open {
            open_deals += 1;
        }
    }
    stages.sort();
    stages.dedup();
    let mut contacts_text = String::new();
    let name = p.string("name").unwrap_or_default();
    let mut keys = Vec::new();
    keys.extend(matching::name_key(&name).map(|k| ("name", k)));
    // The registration code is searched with the ways to reach the party.
    if let Some(code) = p.string(crate::doc::lens::REGISTRATION_CODE) {
        keys.extend(matching::code_key(&code).map(|k| ("code", k)));
        contacts_text.push_str(&code);
        contacts_text.push(' ');
    }
    for contact in &walked.contacts {
        if let Some(n) = contact.string("name") {
            contacts_text.push_str(&n);
            contacts_text.push(' ');
        }
        let emails = contact.set(d, "emails");
        let phones = contact.set(d, "phones");
        keys.extend(emails.iter().filter_map(|e| matching::email_key(e)).map(|k| ("email", k)));
        keys.extend(phones.iter().filter_map(|n| matching::phone_key(n)).map(|k| ("phone", k)));
        for word in emails.into_iter().chain(phones) {
            contacts_text.push_str(&word);
            contacts_text.push(' ');
        }
    }
    keys.sort();
    keys.dedup();
    let address = p
        .obj("address")
        .map(|o| {
            let f = Fields::of(d, &o);
            ["street", "city", "region", "postcode"].iter().filter_map(|k| f.string(k)).collect::<Vec<_>>().join(" ")
        })
        .unwrap_or_default();
    let conflicts = walked.conflicts as u32;
    Row {
        summary: AccountSummary {
            id,
            name,
            kind: p.parsed("kind").unwrap_or(PartyKind::Organization),
            owner: p.string("owner"),
            team: p.string("team"),
            territory: p.string("territory"),
            loyalty_rung: p.parsed("loyalty_rung").unwrap_or(LoyaltyRung::Prospect),
            lifecycle_phase: p.parsed("lifecycle_phase").unwrap_or(LifecyclePhase::PreRelationship),
            value_tier: p.parsed("value_tier").unwrap_or(ValueTier::Standard),
            status: p.parsed("status").unwrap_or(AccountStatus::Active),
            deleted: root.timestamp("deleted_at").is_some(),
            open_deals,
            conflicts,
            updated_at,
        },
        merged_into: root.string("merged_into"),
        tags: p.set(d, "tags"),
        stages,
        contacts_text,
        notes: p.text(d, "notes"),
        address,
        keys,
    }
}

pub(crate) fn write(conn: &Connection, r: &Row) -> Result<()> {
    let s = &r.summary;
    let id = s.id.to_string();
    let rowid: i64 = conn
        .prepare_cached(
            "INSERT INTO accounts (id, name, kind, owner, team, territory, loyalty_rung, lifecycle_phase,
                value_tier, status, deleted, merged_into, open_deals, conflicts, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (id) DO UPDATE SET name = ?2, kind = ?3, owner = ?4, team = ?5, territory = ?6,
                loyalty_rung = ?7, lifecycle_phase = ?8, value_tier = ?9, status = ?10, deleted = ?11,
                merged_into = ?12, open_deals = ?13, conflicts = ?14, updated_at = ?15
             RETURNING rowid",
        )?
        .query_row(
            params![
                id,
                s.name,
                s.kind.as_str(),
                s.owner,
                s.team,
                s.territory,
                s.loyalty_rung.as_str(),
                s.lifecycle_phase.as_str(),
                s.value_tier.as_str(),
                s.status.as_str(),
                s.deleted,
                r.merged_into,
                s.open_deals,
                s.conflicts,
                a::millis(s.updated_at),
            ],
            |row| row.get(0),
        )?;
    // Most edits change none of the tags, deal stages or searchable text:
    // rewrite those rows only when they differ (a full-text rewrite tokenizes
    // the old and the new text).
    let mut tags = r.tags.clone();
    tags.sort();
    tags.dedup();
    if column(conn, "SELECT tag FROM account_tags WHERE account_id = ?1 ORDER BY tag", &id)? != tags {
        conn.prepare_cached("DELETE FROM account_tags WHERE account_id = ?1")?.execute([&id])?;
        let mut tag = conn.prepare_cached("INSERT INTO account_tags (account_id, tag) VALUES (?1, ?2)")?;
        for t in &tags {
            tag.execute(params![id, t])?;
        }
    }
    if column(conn, "SELECT stage FROM account_deal_stages WHERE account_id = ?1 ORDER BY stage", &id)? != r.stages {
        conn.prepare_cached("DELETE FROM account_deal_stages WHERE account_id = ?1")?.execute([&id])?;
        let mut stage = conn.prepare_cached("INSERT INTO account_deal_stages (account_id, stage) VALUES (?1, ?2)")?;
        for st in &r.stages {
            stage.execute(params![id, st])?;
        }
    }
    write_keys(conn, &id, &r.keys)?;
    let text: Option<(String, String, String, String)> = conn
        .prepare_cached("SELECT name, contacts, notes, address FROM accounts_fts WHERE rowid = ?1")?
        .query_row([rowid], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .optional()?;
    let unchanged = text.as_ref().is_some_and(|(name, contacts, notes, address)| {
        *name == s.name && *contacts == r.contacts_text && *notes == r.notes && *address == r.address
    });
    if !unchanged {
        if text.is_some() {
            conn.prepare_cached("DELETE FROM accounts_fts WHERE rowid = ?1")?.execute([rowid])?;
        }
        let stems = words::stem_text([s.name.as_str(), &r.contacts_text, &r.notes, &r.address]);
        conn.prepare_cached(
            "INSERT INTO accounts_fts (rowid, name, contacts, notes, address, stems) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![rowid, s.name, r.contacts_text, r.notes, r.address, stems])?;
    }
    Ok(())
}

/// Rewrites the account's duplicate keys when they changed.
fn write_keys(conn: &Connection, id: &str, keys: &[(&'static str, String)]) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("SELECT kind, key FROM account_keys WHERE account_id = ?1 ORDER BY kind, key")?;
    let stored = stmt
        .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if stored.iter().map(|(k, v)| (k.as_str(), v.as_str())).eq(keys.iter().map(|(k, v)| (*k, v.as_str()))) {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM account_keys WHERE account_id = ?1")?.execute([id])?;
    let mut insert = conn.prepare_cached("INSERT INTO account_keys (account_id, kind, key) VALUES (?1, ?2, ?3)")?;
    for (kind, key) in keys {
        insert.execute(params![id, kind, key])?;
    }
    Ok(())
}

/// The strings one query returns for `id`, in its order.
fn column(conn: &Connection, sql: &str, id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Drops one account's index rows.
pub(crate) fn remove(conn: &Connection, id: &str) -> Result<()> {
    let rowid: Option<i64> =
        conn.prepare_cached("SELECT rowid FROM accounts WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
    if let Some(rowid) = rowid {
        conn.prepare_cached("DELETE FROM accounts_fts WHERE rowid = ?1")?.execute([rowid])?;
    }
    conn.prepare_cached("DELETE FROM accounts WHERE id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM account_tags WHERE account_id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM account_deal_stages WHERE account_id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM account_keys WHERE account_id = ?1")?.execute([id])?;
    Ok(())
}

pub(crate) fn clear(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM accounts; DELETE FROM account_tags; DELETE FROM account_deal_stages; DELETE FROM accounts_fts;
         DELETE FROM account_keys;",
    )?;
    Ok(())
}

/// The SELECT behind every account list and search, one [`AccountSummary`]
/// per row (the table aliased `a`); benchmarks run it bare as their anchor.
pub const SUMMARY_SELECT: &str = "SELECT a.id, a.name, a.kind, a.owner, a.team, a.territory, a.loyalty_rung, \
    a.lifecycle_phase, a.value_tier, a.status, a.deleted, a.open_deals, a.conflicts, a.updated_at FROM accounts a";

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountSummary> {
    let text = |i: usize| -> rusqlite::Result<String> { row.get(i) };
    Ok(AccountSummary {
        id: text(0)?
            .parse()
            .map_err(|_| rusqlite::Error::InvalidColumnType(0, "id".into(), rusqlite::types::Type::Text))?,
        name: text(1)?,
        kind: text(2)?.parse().unwrap_or(PartyKind::Organization),
        owner: row.get(3)?,
        team: row.get(4)?,
        territory: row.get(5)?,
        loyalty_rung: text(6)?.parse().unwrap_or(LoyaltyRung::Prospect),
        lifecycle_phase: text(7)?.parse().unwrap_or(LifecyclePhase::PreRelationship),
        value_tier: text(8)?.parse().unwrap_or(ValueTier::Standard),
        status: text(9)?.parse().unwrap_or(AccountStatus::Active),
        deleted: row.get(10)?,
        open_deals: row.get(11)?,
        conflicts: row.get(12)?,
        updated_at: a::from_millis(row.get(13)?).unwrap_or(OffsetDateTime::UNIX_EPOCH),
    })
}

pub(crate) fn list(conn: &Connection, f: &AccountFilter) -> Result<Vec<AccountSummary>> {
    let mut sql = SUMMARY_SELECT.to_owned();
    let mut wheres: Vec<String> = vec!["a.merged_into IS NULL".into()];
    let mut args: Vec<SqlValue> = Vec::new();
    let mut order = "a.name COLLATE NOCASE, a.id".to_owned();
    if let Some(text) = &f.text {
        match words::fts_query(text) {
            Some(q) => {
                sql.push_str(" JOIN accounts_fts ON accounts_fts.rowid = a.rowid");
                wheres.push("accounts_fts MATCH ?".into());
                args.push(SqlValue::Text(q));
                order = "accounts_fts.rank, a.name COLLATE NOCASE".into();
            }
            None => return Ok(Vec::new()),
        }
    }
    let mut eq = |col: &str, v: Option<String>| {
        if let Some(v) = v {
            wheres.push(format!("{col} = ?"));
            args.push(SqlValue::Text(v));
        }
    };
    eq("a.owner", f.owner.clone());
    eq("a.team", f.team.clone());
    eq("a.territory", f.territory.clone());
    eq("a.loyalty_rung", f.loyalty_rung.map(|v| v.as_str().to_owned()));
    eq("a.lifecycle_phase", f.lifecycle_phase.map(|v| v.as_str().to_owned()));
    eq("a.value_tier", f.value_tier.map(|v| v.as_str().to_owned()));
    eq("a.status", f.status.map(|v| v.as_str().to_owned()));
    if let Some(tag) = &f.tag {
        wheres.push("EXISTS (SELECT 1 FROM account_tags t WHERE t.account_id = a.id AND t.tag = ?)".into());
        args.push(SqlValue::Text(tag.clone()));
    }
    if let Some(stage) = &f.deal_stage {
        wheres.push("EXISTS (SELECT 1 FROM account_deal_stages s WHERE s.account_id = a.id AND s.stage = ?)".into());
        args.push(SqlValue::Text(stage.clone()));
    }
    if f.with_conflicts {
        wheres.push("a.conflicts > 0".into());
    }
    if !f.include_deleted {
        wheres.push("a.deleted = 0".into());
    }
    sql.push_str(" WHERE ");
    sql.push_str(&wheres.join(" AND "));
    sql.push_str(" ORDER BY ");
    sql.push_str(&order);
    if let Some(limit) = f.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), summary)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn get(conn: &Connection, id: AccountId) -> Result<Option<AccountSummary>> {
    let sql = format!("{SUMMARY_SELECT} WHERE a.id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id.to_string()], summary).optional()?)
}
