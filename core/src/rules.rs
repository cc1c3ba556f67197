//! Who may change what: the one rule set the server's access check and the
//! device's pre-check both run (`docs/adr/0004-access.md` has the table,
//! `docs/adr/0010-refused-edits.md` why the device runs it too).
//!
//! Pure functions of a [`Principal`], an account's [`AccountScope`] and the
//! Automerge changes being judged: no SQL, no HTTP. Where the principal comes
//! from (the server's user directory, or what a device was told of it) is the
//! caller's business.

use std::collections::BTreeSet;

use automerge::{AutoCommit, Change, ChangeHash, ObjType, Patch, PatchAction, Prop, ReadDoc, Value};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
pub struct Principal {
    /// The user name, which is what `party.owner` holds.
    pub user: String,
    pub role: Role,
    pub teams: BTreeSet<String>,
    pub territories: BTreeSet<String>,
}

impl Principal {
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

    /// Whether some fields are closed to this user (then judging a change
    /// needs the fields it changed).
    pub fn has_field_rules(&self) -> bool {
        self.role == Role::Rep
    }

    /// Whether the user may change `field` (a dotted path such as
    /// `party.owner`) of an account in scope. Replacing a container that holds
    /// a protected field counts as changing it.
    pub fn may_change_field(&self, field: &str) -> bool {
        if !self.has_field_rules() {
            return true;
        }
        !PROTECTED_FIELDS.iter().any(|p| *p == field || p.strip_prefix(field).is_some_and(|rest| rest.starts_with('.')))
    }

    /// Judges one change of an account on the state it was based on (its
    /// dependencies; for the change that creates the account, the state it
    /// creates): causal permission. `doc` must hold the change; `fields`
    /// lists the fields changed between two sets of heads of `doc` (see
    /// [`changed_fields`]; a callback, so that a caller only copies a
    /// document to diff it when the role has field rules).
    pub fn check_account_change(
        &self,
        doc: &AutoCommit,
        change: &Change,
        fields: &mut ChangedFields<'_>,
    ) -> Result<(), Refusal> {
        if self.sees_everything() {
            return Ok(());
        }
        let hash = [change.hash()];
        let creating = change.deps().is_empty();
        let based_on = if creating { &hash[..] } else { change.deps() };
        if !self.may_access(&AccountScope::of(doc, Some(based_on))) {
            return Err(if creating { Refusal::CreateOutOfScope { role: self.role } } else { Refusal::OutOfScope });
        }
        if creating || !self.has_field_rules() {
            return Ok(());
        }
        for field in fields(change.deps(), &hash) {
            if !self.may_change_field(&field) {
                return Err(Refusal::Field { role: self.role, field });
            }
        }
        Ok(())
    }

    /// Judges a change to the settings document.
    pub fn check_settings_change(&self) -> Result<(), Refusal> {
        if self.may_write_settings() { Ok(()) } else { Err(Refusal::Settings { role: self.role }) }
    }
}

/// Lists the fields changed between two sets of heads of the document being
/// judged (usually [`changed_fields`] on a copy of it).
pub type ChangedFields<'a> = dyn FnMut(&[ChangeHash], &[ChangeHash]) -> Vec<String> + 'a;

/// Why the rules refuse a change. The text is safe to show and to send (no
/// customer data); the server prefixes it with the document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("role {role} may not create an account outside this user's scope")]
    CreateOutOfScope { role: Role },
    #[error("the account is not in this user's scope")]
    OutOfScope,
    #[error("role {role} may not change {field}")]
    Field { role: Role, field: String },
    #[error("role {role} may not change the settings")]
    Settings { role: Role },
}

impl Refusal {
    /// The field refused, if the refusal is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Refusal::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Who an account belongs to: `party.owner`, `party.team`, `party.territory`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountScope {
    pub owner: Option<String>,
    pub team: Option<String>,
    pub territory: Option<String>,
}

impl AccountScope {
    /// The scope of `doc` as of `heads` (`None`: its current state). Where a
    /// field has concurrent values, the deterministic winner counts, as
    /// everywhere else.
    pub fn of(doc: &AutoCommit, heads: Option<&[ChangeHash]>) -> AccountScope {
        let get = |obj: &automerge::ObjId, key: &str| match heads {
            Some(h) => doc.get_at(obj, key, h),
            None => doc.get(obj, key),
        };
        let party = match get(&automerge::ROOT, "party") {
            Ok(Some((Value::Object(ObjType::Map), id))) => id,
            _ => return AccountScope::default(),
        };
        let text = |key: &str| match get(&party, key) {
            Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_owned).filter(|s| !s.is_empty()),
            _ => None,
        };
        AccountScope { owner: text("owner"), team: text("team"), territory: text("territory") }
    }
}

/// The dotted paths of the fields changed between `before` and `after` of
/// `doc` (`party.owner`, `deleted_at`, `party.notes` for a text splice), in
/// the order the diff lists them, without repeats.
pub fn changed_fields(doc: &mut AutoCommit, before: &[ChangeHash], after: &[ChangeHash]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for patch in doc.diff(before, after) {
        let field = touched_field(&patch);
        if !out.contains(&field) {
            out.push(field);
        }
    }
    out
}

/// The dotted path of the field a patch changes.
pub fn touched_field(patch: &Patch) -> String {
    let prop = |p: &Prop| match p {
        Prop::Map(k) => k.clone(),
        Prop::Seq(i) => i.to_string(),
    };
    let mut parts: Vec<String> = patch.path.iter().map(|(_, p)| prop(p)).collect();
    match &patch.action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => parts.push(key.clone()),
        PatchAction::Increment { prop: p, .. } | PatchAction::Conflict { prop: p } => parts.push(prop(p)),
        _ => {}
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
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
            let s = principal(role);
            let got = [&own, &team, &territory, &other].map(|a| s.may_access(a));
            assert_eq!(got, cells, "{role}");
        }
    }

    #[test]
    fn reps_may_not_reassign_or_delete() {
        let rep = principal(Role::Rep);
        for field in ["party.owner", "party.team", "party.territory", "deleted_at", "party"] {
            assert!(!rep.may_change_field(field), "{field}");
        }
        for field in ["party.industry", "party.notes", "deals.x.amount", "party.ownership", "merged_into"] {
            assert!(rep.may_change_field(field), "{field}");
        }
        assert!(principal(Role::Manager).may_change_field("party.owner"));
        assert!(!rep.may_write_settings());
        assert!(principal(Role::Office).may_write_settings());
        assert_eq!(rep.check_settings_change(), Err(Refusal::Settings { role: Role::Rep }));
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
