//! Likely duplicate accounts: accounts that share a normalized name,
//! registration code, or a contact's phone or e-mail (`crate::matching`;
//! ADR 0024). The keys are kept in the index (`account_keys`), rewritten with
//! every document write, so listing the groups is one query.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Replica;
use super::index::{self, AccountSummary};
use crate::error::Result;
use crate::model::AccountId;

/// Why accounts are listed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    /// The same name once case, quotes, punctuation and legal forms are set aside.
    Name,
    /// The same registration code (ЄДРПОУ, ИНН) without spaces.
    RegistrationCode,
    /// A contact of each has the same phone number (its last 9 digits).
    Phone,
    /// A contact of each has the same e-mail address, ignoring case.
    Email,
}

impl DuplicateReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DuplicateReason::Name => "name",
            DuplicateReason::RegistrationCode => "registration_code",
            DuplicateReason::Phone => "phone",
            DuplicateReason::Email => "email",
        }
    }

    fn from_kind(kind: &str) -> Option<Self> {
        Some(match kind {
            "name" => DuplicateReason::Name,
            "code" => DuplicateReason::RegistrationCode,
            "phone" => DuplicateReason::Phone,
            "email" => DuplicateReason::Email,
            _ => return None,
        })
    }
}

/// One thing the accounts of a group share: what it is and its compared value
/// (e.g. `name` "ромашка", `phone` "441234567").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SharedKey {
    pub reason: DuplicateReason,
    pub value: String,
}

/// Accounts that are likely one customer, and every reason why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    /// Two or more accounts, by name.
    pub accounts: Vec<AccountSummary>,
    /// What they share, strongest first (registration code, e-mail, phone, name).
    pub shared: Vec<SharedKey>,
}

impl Replica {
    /// Groups of likely duplicate accounts on this replica: accounts (neither
    /// deleted nor merged away) with the same normalized name, registration
    /// code, contact phone or contact e-mail. Accounts that share several
    /// keys form one group listing each; a group is shown until its accounts
    /// are merged ([`Replica::merge_accounts`]) or changed apart. Groups
    /// sharing a registration code come first, then e-mail, phone, name.
    pub fn duplicates(&self) -> Result<Vec<DuplicateGroup>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, key, account_id FROM (
                 SELECT k.kind, k.key, k.account_id, count(*) OVER (PARTITION BY k.kind, k.key) AS n
                 FROM account_keys k JOIN accounts a ON a.id = k.account_id
                 WHERE a.merged_into IS NULL AND a.deleted = 0)
             WHERE n > 1 ORDER BY kind, key, account_id",
        )?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
        let mut by_key: BTreeMap<SharedKey, Vec<AccountId>> = BTreeMap::new();
        for row in rows {
            let (kind, key, id) = row?;
            let (Some(reason), Ok(id)) = (DuplicateReason::from_kind(&kind), id.parse::<AccountId>()) else {
                continue;
            };
            by_key.entry(SharedKey { reason, value: key }).or_default().push(id);
        }
        let mut by_members: BTreeMap<Vec<AccountId>, Vec<SharedKey>> = BTreeMap::new();
        for (key, mut ids) in by_key {
            ids.sort();
            by_members.entry(ids).or_default().push(key);
        }
        let mut groups = Vec::with_capacity(by_members.len());
        for (ids, mut shared) in by_members {
            shared.sort_by_key(|k| (strength(k.reason), k.value.clone()));
            let mut accounts = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(s) = index::get(&self.conn, id)? {
                    accounts.push(s);
                }
            }
            accounts.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
            groups.push(DuplicateGroup { accounts, shared });
        }
        groups.sort_by(|a, b| {
            let first = |g: &DuplicateGroup| g.shared.first().map(|k| strength(k.reason)).unwrap_or(u8::MAX);
            first(a).cmp(&first(b)).then_with(|| {
                let name = |g: &DuplicateGroup| g.accounts.first().map(|s| s.name.to_lowercase()).unwrap_or_default();
                name(a).cmp(&name(b))
            })
        });
        Ok(groups)
    }
}

/// The order reasons are listed in: the surest sign first.
fn strength(reason: DuplicateReason) -> u8 {
    match reason {
        DuplicateReason::RegistrationCode => 0,
        DuplicateReason::Email => 1,
        DuplicateReason::Phone => 2,
        DuplicateReason::Name => 3,
    }
}
