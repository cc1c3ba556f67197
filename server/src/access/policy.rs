//! The permission rules, as pure functions of a [`Subject`] and an account's
//! [`AccountScope`]. `docs/adr/0004-access.md` has the table; the
//! permission-matrix test checks the server against it.

use std::collections::BTreeSet;

use super::AccountScope;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Everything, and the admin API.
    Admin,
    /// Accounts of their teams (and accounts they own).
    Manager,
    /// Every account.
    Office,
    /// Accounts they own or that lie in their territories.
    Rep,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Office, Role::Rep];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Office => "office",
            Role::Rep => "rep",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Sees and edits every account.
    fn sees_everything(self) -> bool {
        matches!(self, Role::Admin | Role::Office)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fields only admin, office and manager may change: who an account belongs
/// to (reassignment), and its deletion marker.
pub const PROTECTED_FIELDS: [&str; 5] = ["party.owner", "party.team", "party.territory", "deleted_at", "deleted_by"];

/// A user as the rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The user name, which is what `party.owner` holds.
    pub user: String,
    pub role: Role,
    pub teams: BTreeSet<String>,
    pub territories: BTreeSet<String>,
}

impl Subject {
    /// Whether the account is in this user's scope (read, edit and create alike).
    pub fn may_access(&self, account: &AccountScope) -> bool {
        let own = account.owner.as_deref() == Some(self.user.as_str());
        let team = account.team.as_ref().is_some_and(|t| self.teams.contains(t));
        let territory = account.territory.as_ref().is_some_and(|t| self.territories.contains(t));
        match self.role {
            Role::Admin | Role::Office => true,
            Role::Manager => own || team,
            Role::Rep => own || territory,
        }
    }

    /// Whether every account is in scope (no index lookups needed).
    pub fn sees_everything(&self) -> bool {
        self.role.sees_everything()
    }

    /// Whether the user may change the settings document (everyone reads it).
    pub fn may_write_settings(&self) -> bool {
        self.role != Role::Rep
    }

    /// Whether the user may change `field` (a dotted path such as
    /// `party.owner`) of an account in scope. Replacing a container that holds
    /// a protected field counts as changing it.
    pub fn may_change_field(&self, field: &str) -> bool {
        if self.role != Role::Rep {
            return true;
        }
        !PROTECTED_FIELDS.iter().any(|p| *p == field || p.strip_prefix(field).is_some_and(|rest| rest.starts_with('.')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(role: Role) -> Subject {
        Subject {
            user: "ana".into(),
            role,
            teams: ["north".to_owned()].into(),
            territories: ["helsinki".to_owned()].into(),
        }
    }

    fn scope(owner: Option<&str>, team: Option<&str>, territory: Option<&str>) -> AccountScope {
        AccountScope {
            owner: owner.map(str::to_owned),
            team: team.map(str::to_owned),
            territory: territory.map(str::to_owned),
        }
    }

    #[test]
    fn scopes_follow_the_role() {
        let own = scope(Some("ana"), None, None);
        let team = scope(Some("bob"), Some("north"), None);
        let territory = scope(Some("bob"), Some("south"), Some("helsinki"));
        let other = scope(Some("bob"), Some("south"), Some("oulu"));
        let expect = [
            (Role::Admin, [true, true, true, true]),
            (Role::Office, [true, true, true, true]),
            (Role::Manager, [true, true, false, false]),
            (Role::Rep, [true, false, true, false]),
        ];
        for (role, cells) in expect {
            let s = subject(role);
            let got = [&own, &team, &territory, &other].map(|a| s.may_access(a));
            assert_eq!(got, cells, "{role}");
        }
    }

    #[test]
    fn reps_may_not_reassign_or_delete() {
        let rep = subject(Role::Rep);
        for field in ["party.owner", "party.team", "party.territory", "deleted_at", "party"] {
            assert!(!rep.may_change_field(field), "{field}");
        }
        for field in ["party.industry", "party.notes", "deals.x.amount", "party.ownership", "merged_into"] {
            assert!(rep.may_change_field(field), "{field}");
        }
        assert!(subject(Role::Manager).may_change_field("party.owner"));
        assert!(!rep.may_write_settings());
        assert!(subject(Role::Office).may_write_settings());
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
