//! The server's directory as this device last fetched it: the users, teams
//! and territories an account may be given to (ADR 0021). A device checks an
//! owner's or team's name against it before writing it, so that a typo does
//! not create a phantom rep in every report; close names are offered.

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::Replica;
use crate::doc::access;
use crate::error::{Error, Result};

/// What a name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    Owner,
    Team,
    Territory,
}

impl NameKind {
    fn plural(self) -> &'static str {
        match self {
            NameKind::Owner => "owners",
            NameKind::Team => "teams",
            NameKind::Territory => "territories",
        }
    }
}

impl std::fmt::Display for NameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameKind::Owner => "owner",
            NameKind::Team => "team",
            NameKind::Territory => "territory",
        })
    }
}

/// The users, teams and territories the server knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Users accounts may be given to.
    pub users: Vec<String>,
    /// Users an administrator deleted (old records still name them).
    pub former_users: Vec<String>,
    pub teams: Vec<String>,
    pub territories: Vec<String>,
}

/// A name not in the directory: close names first (by edit distance), then
/// the others, as many as fit in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unknown {
    pub close: Vec<String>,
    pub known: Vec<String>,
}

/// Most names listed in an error.
const LISTED: usize = 12;

impl Replica {
    /// Replaces the stored directory with what the server sent, in one transaction.
    pub fn store_directory(&mut self, directory: &Directory) -> Result<()> {
        let tx = super::shared::begin(&self.conn, &self.path)?;
        tx.execute("DELETE FROM directory_names", [])?;
        {
            let mut insert =
                tx.prepare_cached("INSERT OR REPLACE INTO directory_names (kind, name, active) VALUES (?1, ?2, ?3)")?;
            let rows = (directory.users.iter().map(|n| ("user", n, true)))
                .chain(directory.former_users.iter().map(|n| ("user", n, false)))
                .chain(directory.teams.iter().map(|n| ("team", n, true)))
                .chain(directory.territories.iter().map(|n| ("territory", n, true)));
            for (kind, name, active) in rows {
                insert.execute(params![kind, name, active])?;
            }
        }
        let at = access::millis(OffsetDateTime::now_utc());
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('directory_at', ?1)
             ON CONFLICT (key) DO UPDATE SET value = ?1",
            [at.to_le_bytes().to_vec()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The directory as last fetched, or `None` if this device never fetched one.
    pub fn directory(&self) -> Result<Option<Directory>> {
        let fetched: Option<Vec<u8>> =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'directory_at'", [], |r| r.get(0)).optional()?;
        if fetched.is_none() {
            return Ok(None);
        }
        let mut out = Directory::default();
        let mut stmt = self.conn.prepare_cached("SELECT kind, name, active FROM directory_names ORDER BY name")?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))?;
        for row in rows {
            let (kind, name, active) = row?;
            match (kind.as_str(), active) {
                ("user", true) => out.users.push(name),
                ("user", false) => out.former_users.push(name),
                ("team", _) => out.teams.push(name),
                ("territory", _) => out.territories.push(name),
                _ => {}
            }
        }
        Ok(Some(out))
    }

    /// Checks that `name` is a known `kind` (an active user for an owner):
    /// [`Error::UnknownName`] with close names if not,
    /// [`Error::DirectoryNotFetched`] if this device has no directory yet.
    pub fn check_name(&self, kind: NameKind, name: &str) -> Result<()> {
        match self.unknown_name(kind, name)? {
            None => Ok(()),
            Some(Unknown { close, known }) => Err(Error::UnknownName {
                kind: kind.to_string(),
                kinds: kind.plural(),
                name: name.to_owned(),
                close,
                known,
            }),
        }
    }

    /// `Ok(None)` if `name` is known, the names it could have meant if not.
    fn unknown_name(&self, kind: NameKind, name: &str) -> Result<Option<Unknown>> {
        let Some(directory) = self.directory()? else {
            return Err(Error::DirectoryNotFetched { kind: kind.to_string(), name: name.to_owned() });
        };
        let names = match kind {
            NameKind::Owner => &directory.users,
            NameKind::Team => &directory.teams,
            NameKind::Territory => &directory.territories,
        };
        if names.iter().any(|n| n == name) {
            return Ok(None);
        }
        Ok(Some(suggest(name, names)))
    }
}

/// Names close to `name` (case-insensitive edit distance at most a third of
/// its length, at least 2), nearest first; then the rest.
fn suggest(name: &str, names: &[String]) -> Unknown {
    let wanted = name.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(2);
    let mut close: Vec<(usize, &String)> =
        names.iter().map(|n| (distance(&wanted, &n.to_lowercase()), n)).filter(|(d, _)| *d <= limit).collect();
    close.sort();
    let close: Vec<String> = close.into_iter().take(LISTED).map(|(_, n)| n.clone()).collect();
    let known = names.iter().filter(|n| !close.contains(n)).take(LISTED).cloned().collect();
    Unknown { close, known }
}

/// Levenshtein distance between two strings, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("bob", "bob"), 0);
        assert_eq!(distance("bbo", "bob"), 2);
        assert_eq!(distance("olga", "olha"), 1);
        assert_eq!(distance("", "ana"), 3);
        assert_eq!(distance("ОЛЬГА", "ольга".to_uppercase().as_str()), 0);
    }

    #[test]
    fn close_names_come_first_nearest_first() {
        let names: Vec<String> = ["ana", "bob", "boris", "olga", "robert"].map(String::from).to_vec();
        let u = suggest("Bobb", &names);
        assert_eq!(u.close, ["bob"]);
        assert_eq!(u.known, ["ana", "boris", "olga", "robert"]);
        assert!(suggest("zzzzzzzz", &names).close.is_empty());
    }
}
