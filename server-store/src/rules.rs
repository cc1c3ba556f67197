//! The directory's rules that are not storage, kept here once so no backend
//! can apply them differently: what a name is, which roles exist, and what
//! may not happen to the built-in admin.

use crate::{AdminError, Role};

/// The name of the user created on first start.
pub const ADMIN_USER: &str = "admin";
/// Longest user, team, territory or device name, in characters (not bytes:
/// a Cyrillic name of 64 letters is valid).
pub const MAX_NAME_LEN: usize = 64;

/// A name as stored: trimmed of surrounding white space, then 1 to 64
/// characters without control characters.
pub fn check_name(name: &str) -> Result<&str, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(AdminError::InvalidName);
    }
    Ok(name)
}

/// A role as given by an administrator.
pub fn parse_role(role: &str) -> Result<Role, AdminError> {
    Role::parse(role).ok_or(AdminError::InvalidRole)
}

/// A role as read back from storage: one this server does not know (a
/// newer server's, or a database changed by hand) grants nothing.
pub fn stored_role(user_id: i64, role: &str) -> Option<Role> {
    let parsed = Role::parse(role);
    if parsed.is_none() {
        tracing::warn!(user_id, "user has a role this server does not know; access refused");
    }
    parsed
}

/// Refuses deleting the built-in admin: the server must keep a way in.
pub fn check_deletable(name: &str) -> Result<(), AdminError> {
    if name == ADMIN_USER { Err(AdminError::BuiltInAdmin) } else { Ok(()) }
}

/// Refuses demoting the built-in admin, for the same reason.
pub fn check_role_change(name: &str, role: Role) -> Result<(), AdminError> {
    if name == ADMIN_USER && role != Role::Admin { Err(AdminError::BuiltInAdmin) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded_in_characters() {
        assert_eq!(check_name("  Олена Петренко ").ok(), Some("Олена Петренко"));
        let long = "ж".repeat(MAX_NAME_LEN);
        assert_eq!(check_name(&long).ok(), Some(long.as_str()), "64 Cyrillic letters are 128 bytes, and valid");
        for bad in ["", "   ", "a\u{7}b", "tab\tinside", &"ж".repeat(MAX_NAME_LEN + 1)] {
            assert!(matches!(check_name(bad), Err(AdminError::InvalidName)), "{bad:?} is refused");
        }
    }

    #[test]
    fn roles_and_the_built_in_admin() {
        assert_eq!(parse_role("rep").ok(), Some(Role::Rep));
        assert!(matches!(parse_role("Rep"), Err(AdminError::InvalidRole)));
        assert_eq!(stored_role(1, "boss"), None);
        assert!(matches!(check_deletable(ADMIN_USER), Err(AdminError::BuiltInAdmin)));
        assert!(check_deletable("olena").is_ok());
        assert!(matches!(check_role_change(ADMIN_USER, Role::Office), Err(AdminError::BuiltInAdmin)));
        assert!(check_role_change(ADMIN_USER, Role::Admin).is_ok());
        assert!(check_role_change("olena", Role::Rep).is_ok());
    }
}
