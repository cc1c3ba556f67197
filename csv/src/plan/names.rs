//! Owner, team and territory names checked against the directory the device
//! fetched from the server, as `rapport account add` and `set` check them: an
//! unknown name is an error at its cell, with the names it may have meant,
//! unless the import runs with `--allow-unknown-owner`. Each distinct name is
//! looked up once per import.

use std::collections::HashMap;

use rapport_core::{NameKind, Replica};

use super::{Column, Op, Planner, RowError, Source, Target};
use crate::problem::Problem;

/// Why a name is refused: the message, and the close names it offers.
#[derive(Debug, Clone)]
struct Refusal {
    problem: Problem,
    close: Vec<String>,
}

/// The names looked up so far in this import.
#[derive(Debug, Default)]
pub(super) struct NameCheck {
    /// `--allow-unknown-owner`: names are written as given.
    allow: bool,
    seen: HashMap<(NameKind, String), Option<Refusal>>,
}

impl NameCheck {
    pub(super) fn new(allow: bool) -> NameCheck {
        NameCheck { allow, seen: HashMap::new() }
    }

    fn check(&mut self, replica: &Replica, kind: NameKind, name: &str) -> Option<Refusal> {
        self.seen
            .entry((kind, name.to_owned()))
            .or_insert_with(|| match replica.check_name(kind, name) {
                Ok(()) => None,
                Err(e) => {
                    let close = match &e {
                        rapport_core::Error::UnknownName { close, .. } => close.clone(),
                        _ => Vec::new(),
                    };
                    Some(Refusal {
                        problem: Problem::UnknownName { kind: kind_word(kind), message: e.to_string() },
                        close,
                    })
                }
            })
            .clone()
    }
}

fn kind_word(kind: NameKind) -> &'static str {
    match kind {
        NameKind::Owner => "owner",
        NameKind::Team => "team",
        NameKind::Territory => "territory",
    }
}

fn kind(column: Column) -> Option<NameKind> {
    match column {
        Column::Owner => Some(NameKind::Owner),
        Column::Team => Some(NameKind::Team),
        Column::Territory => Some(NameKind::Territory),
        _ => None,
    }
}

impl Planner<'_> {
    /// Checks the owner, team and territory a planned account is given (a new
    /// account's, or the ones an existing account's row changes; an unchanged
    /// name is not checked again, so a re-import never fails on it).
    pub(super) fn check_names(&mut self, first: Source, target: &Target, ops: &[(Source, Op)]) {
        if self.names_checked.allow {
            return;
        }
        let given: Vec<(Column, String)> = match target {
            Target::Create(new) => {
                [(Column::Owner, &new.owner), (Column::Team, &new.team), (Column::Territory, &new.territory)]
                    .into_iter()
                    .filter_map(|(c, v)| v.as_ref().map(|v| (c, v.clone())))
                    .collect()
            }
            Target::Existing(_) => ops
                .iter()
                .filter_map(|(src, op)| match (src.column, op) {
                    (Some(c), Op::Set { value, .. }) if kind(c).is_some() => Some((c, value.clone())),
                    _ => None,
                })
                .collect(),
        };
        for (column, name) in given {
            let (Some(kind), name) = (kind(column), name.trim()) else { continue };
            if name.is_empty() {
                continue;
            }
            if let Some(refusal) = self.names_checked.check(self.replica, kind, name) {
                let mut error = RowError::at(Source { column: Some(column), ..first }, refusal.problem);
                error.suggestions = refusal.close;
                self.plan.errors.push(error);
            }
        }
    }
}
