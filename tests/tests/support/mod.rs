//! Helpers shared by the end-to-end tests that need them.
pub mod test_ca;
