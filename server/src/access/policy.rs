//! The permission rules. They live in `rapport_core::rules`, the one rule
//! set the server's check and the devices' pre-check both run
//! (`docs/adr/0010-refused-edits.md`); `docs/adr/0004-access.md` has the
//! table, the permission-matrix test checks the server against it.

pub use rapport_core::rules::{PROTECTED_FIELDS, Principal as Subject, Role};
