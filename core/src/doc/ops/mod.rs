//! Validated write operations on an account document.
//!
//! Every public operation validates all of its input before writing, then
//! writes and commits exactly one change attributed to the [`Author`]. On any
//! error the pending operations are rolled back: the document is unchanged.

mod absorb;
mod contacts;
mod create;
mod deals;
mod inputs;
mod line_items;
mod notes;
mod party;
mod records;

pub use inputs::{HeldInteraction, NewAccount, NewConsent, NewContact, NewDeal, NewInteraction, NewTask, NewTie};
use inputs::{clean, required, validate_email, validate_money, validate_phone, validate_probability, validate_tag};
pub use line_items::{LineItemChange, NewLineItem};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ReadDoc, ScalarValue};
use time::OffsetDateTime;
use uuid::Uuid;

use super::access::{self as a, obj, obj_path};
use super::fields::{Collection, FieldPath, Kind, retarget};
use super::{AccountDoc, Author, commit_options};
use crate::error::{Error, Result};
use crate::model::*;
use crate::settings::Settings;

/// Edits one account as one author. Obtained from [`AccountDoc::edit`].
#[derive(Debug)]
pub struct Editor<'a> {
    doc: &'a mut AccountDoc,
    author: &'a Author,
    settings: &'a Settings,
    /// The device's clock reading for the changes (`None`: this machine's clock now).
    clock: Option<OffsetDateTime>,
}

impl<'a> Editor<'a> {
    pub(super) fn new(doc: &'a mut AccountDoc, author: &'a Author, settings: &'a Settings) -> Self {
        Editor { doc, author, settings, clock: None }
    }

    /// Dates this editor's changes `at` instead of now: a change carries the
    /// clock of the device that made it, and the server keeps that time
    /// beside the time it received the change. For tools that replay a
    /// device's edits and for tests of late edits (a device offline over a
    /// period's end).
    #[doc(hidden)]
    pub fn dated(&mut self, at: OffsetDateTime) -> &mut Self {
        self.clock = Some(at);
        self
    }

    /// Runs `f` as one change: commit on success, roll back on error.
    fn change<T>(&mut self, op: &str, f: impl FnOnce(&mut Ctx<'_>) -> Result<T>) -> Result<T> {
        self.change_inner(op, false, f)
    }

    fn change_inner<T>(
        &mut self,
        op: &str,
        allow_merged: bool,
        f: impl FnOnce(&mut Ctx<'_>) -> Result<T>,
    ) -> Result<T> {
        if !allow_merged && let Some(into) = a::string(&self.doc.doc, &automerge::ROOT, "merged_into") {
            return Err(Error::AccountMerged { id: self.doc.id.to_string(), into });
        }
        let now = self.clock.unwrap_or_else(OffsetDateTime::now_utc);
        let mut ctx = Ctx { doc: &mut self.doc.doc, author: self.author, now };
        match f(&mut ctx) {
            Ok(v) => {
                self.doc.doc.commit_with(commit_options(self.author, op, now));
                Ok(v)
            }
            Err(e) => {
                self.doc.doc.rollback();
                Err(e)
            }
        }
    }

    /// Sets one field given as a path (see [`FieldPath`]) to a value given as text.
    /// An empty value clears an optional field. This is also how a conflict is resolved.
    pub fn set_field(&mut self, path: &str, value: &str) -> Result<()> {
        let field: FieldPath = path.parse()?;
        let stored = field.parse_value(value)?;
        match field.kind {
            Kind::Stage => {
                let deal = DealId(field.record.unwrap_or_default());
                return self.move_deal_stage(deal, value.trim(), None);
            }
            Kind::Rung => {
                return self.move_ladder(value.parse().map_err(|e| retarget(e, &field.to_string()))?, None);
            }
            Kind::Phase => {
                return self.move_lifecycle(value.parse().map_err(|e| retarget(e, &field.to_string()))?, None);
            }
            Kind::LineItem(which) => return self.set_line_item_field(&field, which, stored),
            _ => {}
        }
        let raises_lens = field.collection == Collection::Party
            && field.field == super::lens::REGISTRATION_CODE
            && !matches!(stored, ScalarValue::Null);
        self.change("account.set_field", |c| {
            let (path, key) = field.location();
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let target = obj_path(c.doc, &path)
                .ok_or_else(|| Error::not_found(field.collection.record_kind(), field.record.unwrap_or_default()))?;
            if raises_lens {
                c.raise_lens()?;
            }
            a::put_fresh(c.doc, &target, &key, stored)
        })
    }

    pub fn add_tag(&mut self, tag: &str) -> Result<()> {
        let tag = validate_tag(tag)?;
        self.change("account.add_tag", |c| c.set_member(&["party", "tags"], &tag, true))
    }

    /// Removes a tag; only this replica's view of it is removed, so a concurrent re-add wins.
    pub fn remove_tag(&mut self, tag: &str) -> Result<()> {
        self.change("account.remove_tag", |c| c.set_member(&["party", "tags"], tag.trim(), false))
    }

    pub fn add_role(&mut self, role: Role) -> Result<()> {
        self.change("account.add_role", |c| c.set_member(&["party", "roles"], role.as_str(), true))
    }

    pub fn remove_role(&mut self, role: Role) -> Result<()> {
        self.change("account.remove_role", |c| c.set_member(&["party", "roles"], role.as_str(), false))
    }

    /// Replaces the notes text; the edit is stored as character-level splices, so
    /// concurrent typing on another device is kept.
    pub fn set_notes(&mut self, text: &str) -> Result<()> {
        self.change("account.notes", |c| {
            let notes = c.notes()?;
            c.doc.update_text(&notes, text)?;
            Ok(())
        })
    }

    /// Inserts `insert` at character `pos` after deleting `delete` characters.
    pub fn splice_notes(&mut self, pos: usize, delete: usize, insert: &str) -> Result<()> {
        self.change("account.notes", |c| {
            let notes = c.notes()?;
            let len = c.doc.length(&notes);
            if pos > len || delete > len - pos {
                return Err(Error::invalid("party.notes", "position is outside the text"));
            }
            c.doc.splice_text(&notes, pos, delete as isize, insert)?;
            Ok(())
        })
    }

    /// Copies everything of `duplicate` that this account lacks: records by id
    /// (contacts, deals, interactions, tasks, ties, histories), tags and roles,
    /// empty scalar fields, notes, visits. Idempotent: absorbing twice adds nothing.
    pub(crate) fn absorb(&mut self, duplicate: &Account) -> Result<()> {
        self.change("account.absorb", |c| c.absorb(duplicate))
    }

    /// Turns this account into a redirect to `survivor`.
    pub(crate) fn redirect_to(&mut self, survivor: AccountId) -> Result<()> {
        self.change_inner("account.merged", true, |c| {
            c.doc.put(&automerge::ROOT, "merged_into", survivor.to_string())?;
            Ok(())
        })
    }
}

fn damaged(what: &str) -> Error {
    Error::InvalidDocument(format!("document is damaged: {what}"))
}

/// The state one change works with.
struct Ctx<'d> {
    doc: &'d mut AutoCommit,
    author: &'d Author,
    now: OffsetDateTime,
}

impl Ctx<'_> {
    fn party(&self) -> Result<ObjId> {
        obj_path(self.doc, &["party"]).ok_or_else(|| damaged("no party"))
    }

    fn notes(&self) -> Result<ObjId> {
        obj_path(self.doc, &["party", "notes"]).ok_or_else(|| damaged("no notes text"))
    }

    fn collection(&self, c: Collection) -> Result<ObjId> {
        obj_path(self.doc, &[c.key()]).ok_or_else(|| damaged("missing collection"))
    }

    /// The record's map, or NotFound.
    fn record(&self, c: Collection, id: Uuid) -> Result<ObjId> {
        let map = self.collection(c)?;
        obj(self.doc, &map, &id.hyphenated().to_string()).ok_or_else(|| Error::not_found(c.record_kind(), id))
    }

    fn set_member(&mut self, path: &[&str], member: &str, present: bool) -> Result<()> {
        let set = obj_path(self.doc, path).ok_or_else(|| damaged("missing set"))?;
        if present {
            // A fresh operation each time: re-adding a member this replica
            // already sees still wins over a concurrent removal (observed-remove set).
            a::put_fresh(self.doc, &set, member, true)?;
        } else if self.doc.get(&set, member)?.is_some() {
            self.doc.delete(&set, member)?;
        }
        Ok(())
    }
}
