//! What an import would do, or did: how many accounts, contacts and deals
//! it creates, changes and leaves as they are.

use crate::plan::{Counts, Plan, Target};

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Summary {
    pub accounts: Counts,
    pub contacts: Counts,
    pub deals: Counts,
}

impl Summary {
    pub fn of(plan: &Plan) -> Summary {
        let mut s = Summary::default();
        for a in &plan.accounts {
            match a.target {
                Target::Create(_) => s.accounts.created += 1,
                Target::Existing(_) if a.party_changed => s.accounts.updated += 1,
                Target::Existing(_) if a.in_accounts_file => s.accounts.unchanged += 1,
                Target::Existing(_) => {}
            }
            for (total, part) in [(&mut s.contacts, a.contacts), (&mut s.deals, a.deals)] {
                total.created += part.created;
                total.updated += part.updated;
                total.unchanged += part.unchanged;
            }
        }
        s
    }

    /// Whether the plan writes anything.
    pub fn changes_anything(&self) -> bool {
        [self.accounts, self.contacts, self.deals].iter().any(|c| c.created + c.updated > 0)
    }
}
