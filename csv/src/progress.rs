//! How far a long import or export is, for whoever shows it (the CLI's
//! progress bar). The library itself shows nothing.

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Accounts checked on in-memory copies.
    Checking,
    /// Accounts written.
    Importing,
    /// Accounts exported.
    Exporting,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Checking => "checking",
            Stage::Importing => "importing",
            Stage::Exporting => "exporting",
        }
    }
}

/// Told when a stage starts (with the number of accounts), as accounts are
/// done, and when it ends.
pub trait Progress {
    fn start(&mut self, stage: Stage, total: u64);
    fn advance(&mut self, done: u64);
    fn finish(&mut self);
}
