//! The `Replica` object: one local SQLite replica, behind a mutex.
//!
//! Every method is blocking (SQLite with `synchronous=FULL`): call it from a
//! background thread / dispatcher. Methods take ids as strings and forward to
//! core; a method returning normally has committed to disk.

use rapport_core::{
    self as rc, AccountId, ContactId, DealId, InteractionId, LifecyclePhase, LineItemId, LoyaltyRung, Phone, TaskId,
};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::RapportError;
use crate::input::{
    AccountFilter, HeldInteraction, LineItemChange, NewAccount, NewConsent, NewContact, NewDeal, NewInteraction,
    NewLineItem, NewTask, NewTie, date, id,
};
use crate::types::{
    Account, AccountConflict, AccountSummary, Conflict, Directory, HistoryEntry, RefusedEdit, Rejection, Settings,
    Stage,
};

type Result<T, E = RapportError> = std::result::Result<T, E>;

/// A local replica of the accounts this device holds. Thread-safe: calls
/// from several threads are serialized; a running `sync` holds the replica
/// between its network waits.
#[derive(Debug, uniffi::Object)]
pub struct Replica {
    pub(crate) inner: Arc<Mutex<rc::Replica>>,
}

/// Locks the replica. Every write is one SQLite transaction, so a panic while
/// the lock was held cannot have left it half-written: a poisoned lock is taken over.
pub(crate) fn lock(replica: &Mutex<rc::Replica>) -> MutexGuard<'_, rc::Replica> {
    replica.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Replica {
    /// Runs `f` on the replica. Blocks while another call (or a sync) uses it.
    fn with<T>(&self, f: impl FnOnce(&mut rc::Replica) -> rc::Result<T>) -> Result<T> {
        if crate::sync::in_sync_callback() {
            return Err(RapportError::Storage {
                message: "the replica is busy syncing; do not call it from SyncListener.onProgress".into(),
            });
        }
        Ok(f(&mut lock(&self.inner))?)
    }

    /// Runs `f` as one validated edit of the account `account_id`.
    fn edit<T>(&self, account_id: &str, f: impl FnOnce(&mut rc::Editor<'_>) -> rc::Result<T>) -> Result<T> {
        let account: AccountId = id(account_id)?;
        self.with(|r| r.edit(account, f))
    }
}

#[uniffi::export]
impl Replica {
    /// Opens the replica file at `path` (created if missing) as `user` on `device`.
    /// Fails with `Storage` if another handle or process has it open.
    #[uniffi::constructor]
    pub fn open(path: String, user: String, device: String) -> Result<Arc<Replica>> {
        let replica = rc::Replica::open(path, &rc::DeviceIdentity::new(user, device))?;
        Ok(Arc::new(Replica { inner: Arc::new(Mutex::new(replica)) }))
    }

    // ── Accounts ────────────────────────────────────────────────────────────

    /// Creates an account and returns its id.
    pub fn create_account(&self, account: NewAccount) -> Result<String> {
        let new = rc::NewAccount::try_from(account)?;
        Ok(self.with(|r| r.create_account(&new))?.to_string())
    }

    /// Creates many accounts in one transaction (all or none); returns their ids in order.
    pub fn create_accounts(&self, accounts: Vec<NewAccount>) -> Result<Vec<String>> {
        let batch = accounts.into_iter().map(rc::NewAccount::try_from).collect::<Result<Vec<_>>>()?;
        Ok(self.with(|r| r.create_accounts(&batch))?.into_iter().map(|id| id.to_string()).collect())
    }

    /// The whole account as merged on this replica.
    pub fn account(&self, account_id: String) -> Result<Account> {
        let account: AccountId = id(&account_id)?;
        Ok(self.with(|r| r.account(account))?.into())
    }

    /// The account as it was right after the change `hash` (see `history`).
    pub fn account_at(&self, account_id: String, hash: String) -> Result<Account> {
        let account: AccountId = id(&account_id)?;
        let heads = [hash.trim().parse().map_err(|_| RapportError::InvalidInput {
            message: "invalid value for hash: expected a change hash from history()".into(),
        })?];
        Ok(self.with(|r| r.account_at(account, &heads))?.into())
    }

    /// Accounts matching `filter`, by name.
    pub fn list(&self, filter: AccountFilter) -> Result<Vec<AccountSummary>> {
        let filter = filter.into();
        Ok(self.with(|r| r.list(&filter))?.into_iter().map(Into::into).collect())
    }

    /// Full-text search over names, contacts and notes, best match first.
    pub fn search(&self, text: String, limit: u32) -> Result<Vec<AccountSummary>> {
        Ok(self.with(|r| r.search(&text, limit))?.into_iter().map(Into::into).collect())
    }

    /// Sets one field by path (`party.address.city`, `deals.<id>.amount`, …; see
    /// `settableFields()`) to a value given as text. An empty value clears an optional field.
    pub fn set_field(&self, account_id: String, path: String, value: String) -> Result<()> {
        self.edit(&account_id, |e| e.set_field(&path, &value))
    }

    /// Sets the account's notes to `text` (a text merge: concurrent edits elsewhere are kept).
    pub fn set_notes(&self, account_id: String, text: String) -> Result<()> {
        self.edit(&account_id, |e| e.set_notes(&text))
    }

    pub fn add_tag(&self, account_id: String, tag: String) -> Result<()> {
        self.edit(&account_id, |e| e.add_tag(&tag))
    }

    pub fn remove_tag(&self, account_id: String, tag: String) -> Result<()> {
        self.edit(&account_id, |e| e.remove_tag(&tag))
    }

    pub fn add_role(&self, account_id: String, role: rc::Role) -> Result<()> {
        self.edit(&account_id, |e| e.add_role(role))
    }

    pub fn remove_role(&self, account_id: String, role: rc::Role) -> Result<()> {
        self.edit(&account_id, |e| e.remove_role(role))
    }

    /// Moves the account on the loyalty ladder (recorded in `ladderHistory`).
    pub fn move_ladder(&self, account_id: String, to: LoyaltyRung, reason: Option<String>) -> Result<()> {
        self.edit(&account_id, |e| e.move_ladder(to, reason.as_deref()))
    }

    /// Moves the relationship to another lifecycle phase (recorded in `lifecycleHistory`).
    pub fn move_lifecycle(&self, account_id: String, to: LifecyclePhase, reason: Option<String>) -> Result<()> {
        self.edit(&account_id, |e| e.move_lifecycle(to, reason.as_deref()))
    }

    /// Ends the relationship (`former` or `lost`) with a reason, on `on` (`YYYY-MM-DD`).
    pub fn end_relationship(
        &self,
        account_id: String,
        status: rc::AccountStatus,
        reason: String,
        on: String,
    ) -> Result<()> {
        let on = date("party.ending.on", &on)?;
        self.edit(&account_id, |e| e.end_relationship(status, &reason, on))
    }

    /// Reopens an ended relationship: `active` again, the ending (reason,
    /// date, phase) cleared; the account's history keeps it.
    pub fn reopen_relationship(&self, account_id: String) -> Result<()> {
        self.edit(&account_id, |e| e.reopen_relationship())
    }

    /// Hides the account from lists; it is kept and can be restored.
    pub fn soft_delete(&self, account_id: String) -> Result<()> {
        self.edit(&account_id, |e| e.soft_delete())
    }

    pub fn restore(&self, account_id: String) -> Result<()> {
        self.edit(&account_id, |e| e.restore())
    }

    /// Merges `duplicate` into `survivor`; the duplicate becomes a redirect.
    pub fn merge_accounts(&self, survivor: String, duplicate: String) -> Result<()> {
        let (survivor, duplicate): (AccountId, AccountId) = (id(&survivor)?, id(&duplicate)?);
        self.with(|r| r.merge_accounts(survivor, duplicate))
    }

    // ── Contacts ────────────────────────────────────────────────────────────

    /// Adds a contact and returns its id.
    pub fn add_contact(&self, account_id: String, contact: NewContact) -> Result<String> {
        let new = contact.into();
        Ok(self.edit(&account_id, |e| e.add_contact(&new))?.to_string())
    }

    /// Marks a contact as gone (kept, inactive).
    pub fn deactivate_contact(&self, account_id: String, contact_id: String) -> Result<()> {
        let contact: ContactId = id(&contact_id)?;
        self.edit(&account_id, |e| e.deactivate_contact(contact))
    }

    pub fn reactivate_contact(&self, account_id: String, contact_id: String) -> Result<()> {
        let contact: ContactId = id(&contact_id)?;
        self.edit(&account_id, |e| e.reactivate_contact(contact))
    }

    pub fn add_email(&self, account_id: String, contact_id: String, email: String) -> Result<()> {
        let contact: ContactId = id(&contact_id)?;
        self.edit(&account_id, |e| e.add_email(contact, &email))
    }

    pub fn remove_email(&self, account_id: String, contact_id: String, email: String) -> Result<()> {
        let contact: ContactId = id(&contact_id)?;
        self.edit(&account_id, |e| e.remove_email(contact, &email))
    }

    pub fn add_phone(&self, account_id: String, contact_id: String, phone: Phone) -> Result<()> {
        let contact: ContactId = id(&contact_id)?;
        self.edit(&account_id, |e| e.add_phone(contact, &phone))
    }

    pub fn remove_phone(&self, account_id: String, contact_id: String, number: String) -> Result<()> {
        let contact: ContactId = id(&contact_id)?;
        self.edit(&account_id, |e| e.remove_phone(contact, &number))
    }

    /// Records a contact's consent, opt-out or refusal for a channel and topic; returns its id.
    pub fn record_consent(&self, account_id: String, contact_id: String, consent: NewConsent) -> Result<String> {
        let contact: ContactId = id(&contact_id)?;
        let new = consent.into();
        Ok(self.edit(&account_id, |e| e.record_consent(contact, &new))?.to_string())
    }

    /// Adds a tie between contacts or parties and returns its id.
    pub fn add_tie(&self, account_id: String, tie: NewTie) -> Result<String> {
        let new = tie.try_into()?;
        Ok(self.edit(&account_id, |e| e.add_tie(&new))?.to_string())
    }

    // ── Deals ───────────────────────────────────────────────────────────────

    /// Adds a deal and returns its id.
    pub fn add_deal(&self, account_id: String, deal: NewDeal) -> Result<String> {
        let new = deal.try_into()?;
        Ok(self.edit(&account_id, |e| e.add_deal(&new))?.to_string())
    }

    /// Moves a deal to the pipeline stage `stage` (a stage id from `settings().stages`);
    /// `probability` defaults to the stage's.
    pub fn move_deal_stage(
        &self,
        account_id: String,
        deal_id: String,
        stage: String,
        probability: Option<u8>,
    ) -> Result<()> {
        let deal: DealId = id(&deal_id)?;
        self.edit(&account_id, |e| e.move_deal_stage(deal, &stage, probability))
    }

    /// Marks a deal lost with a reason (and an optional note).
    pub fn mark_deal_lost(
        &self,
        account_id: String,
        deal_id: String,
        reason: String,
        note: Option<String>,
    ) -> Result<()> {
        let deal: DealId = id(&deal_id)?;
        self.edit(&account_id, |e| e.mark_deal_lost(deal, &reason, note.as_deref()))
    }

    /// Closes a deal as won: moves it to the pipeline's won stage. `InvalidInput`
    /// if the settings have no won stage.
    pub fn mark_deal_won(&self, account_id: String, deal_id: String) -> Result<()> {
        let account: AccountId = id(&account_id)?;
        let deal: DealId = id(&deal_id)?;
        self.with(|r| {
            let won = r.settings().stages.iter().find(|s| s.kind == rc::StageKind::Won).map(|s| s.id.clone());
            let won = won.ok_or_else(|| rc::Error::InvalidValue {
                field: "deal.stage".into(),
                reason: "the pipeline has no won stage; an administrator adds one in the settings".into(),
            })?;
            r.edit(account, |e| e.move_deal_stage(deal, &won, None))
        })
    }

    /// Adds a line item to a deal and returns its id. The first line item
    /// makes the deal's amount follow them; a hand-set amount stays otherwise.
    pub fn add_line_item(&self, account_id: String, deal_id: String, item: NewLineItem) -> Result<String> {
        let deal: DealId = id(&deal_id)?;
        let new = item.into();
        Ok(self.edit(&account_id, |e| e.add_line_item(deal, &new))?.to_string())
    }

    /// Changes the given fields of a line item.
    pub fn update_line_item(
        &self,
        account_id: String,
        deal_id: String,
        item_id: String,
        change: LineItemChange,
    ) -> Result<()> {
        let deal: DealId = id(&deal_id)?;
        let item: LineItemId = id(&item_id)?;
        let change = change.into();
        self.edit(&account_id, |e| e.update_line_item(deal, item, &change))
    }

    /// Removes a line item.
    pub fn remove_line_item(&self, account_id: String, deal_id: String, item_id: String) -> Result<()> {
        let deal: DealId = id(&deal_id)?;
        let item: LineItemId = id(&item_id)?;
        self.edit(&account_id, |e| e.remove_line_item(deal, item))
    }

    /// Makes a deal's amount follow its line items again after it was set by hand.
    pub fn follow_line_items(&self, account_id: String, deal_id: String) -> Result<()> {
        let deal: DealId = id(&deal_id)?;
        self.edit(&account_id, |e| e.follow_line_items(deal))
    }

    // ── Interactions and tasks ──────────────────────────────────────────────

    /// Logs an interaction (a visit counts in `visitCount`) and returns its id.
    pub fn log_interaction(&self, account_id: String, interaction: NewInteraction) -> Result<String> {
        let new = interaction.try_into()?;
        Ok(self.edit(&account_id, |e| e.log_interaction(&new))?.to_string())
    }

    /// Marks a planned interaction as held (at `held.at`, default now, with its
    /// outcome); a visit then counts in `visitCount`. `InvalidInput` if it is
    /// already held or was cancelled.
    pub fn hold_interaction(&self, account_id: String, interaction_id: String, held: HeldInteraction) -> Result<()> {
        let interaction: InteractionId = id(&interaction_id)?;
        let held = held.into();
        self.edit(&account_id, |e| e.hold_interaction(interaction, &held))
    }

    /// Adds a task and returns its id.
    pub fn add_task(&self, account_id: String, task: NewTask) -> Result<String> {
        let new = task.try_into()?;
        Ok(self.edit(&account_id, |e| e.add_task(&new))?.to_string())
    }

    pub fn complete_task(&self, account_id: String, task_id: String) -> Result<()> {
        let task: TaskId = id(&task_id)?;
        self.edit(&account_id, |e| e.complete_task(task))
    }

    // ── Conflicts and history ───────────────────────────────────────────────

    /// Fields of the account with concurrent values.
    pub fn conflicts(&self, account_id: String) -> Result<Vec<Conflict>> {
        let account: AccountId = id(&account_id)?;
        Ok(self.with(|r| r.conflicts(account))?.into_iter().map(Into::into).collect())
    }

    /// Every open conflict on this replica.
    pub fn all_conflicts(&self) -> Result<Vec<AccountConflict>> {
        Ok(self
            .with(|r| r.all_conflicts())?
            .into_iter()
            .map(|(account, c)| AccountConflict { account_id: account.to_string(), conflict: c.into() })
            .collect())
    }

    /// Resolves a conflict by writing the chosen value (one of the conflict's values, or
    /// any other): the same as `setField`, which supersedes every value it saw.
    pub fn resolve_conflict(&self, account_id: String, field: String, value: String) -> Result<()> {
        self.set_field(account_id, field, value)
    }

    /// Every change to the account, oldest first.
    pub fn history(&self, account_id: String) -> Result<Vec<HistoryEntry>> {
        let account: AccountId = id(&account_id)?;
        Ok(self.with(|r| r.history(account))?.into_iter().map(Into::into).collect())
    }

    // ── Settings and sync state ─────────────────────────────────────────────

    /// Pipeline stages and reason catalogues, as merged on this replica.
    pub fn settings(&self) -> Result<Settings> {
        self.with(|r| Ok(Settings::from(r.settings())))
    }

    /// Adds a pipeline stage, or changes the one with `stage.id`; sent at the
    /// next sync. Administrators, managers and the office only:
    /// `NotPermitted` for a rep (once the device knows its user's role).
    pub fn put_stage(&self, stage: Stage) -> Result<()> {
        let stage = stage.into();
        self.with(|r| r.edit_settings(|doc, author| doc.put_stage(author, &stage)))
    }

    /// Adds a reason to the lost-reason or end-reason catalogue; sent at the
    /// next sync. Who may: as `putStage`.
    pub fn add_reason(&self, catalogue: rc::ReasonCatalogue, reason: String) -> Result<()> {
        self.with(|r| r.edit_settings(|doc, author| doc.add_reason(author, catalogue, &reason)))
    }

    /// Takes a reason out of its catalogue (records that name it keep it);
    /// sent at the next sync. `NotFound` if the catalogue has no such
    /// reason. Who may: as `putStage`.
    pub fn remove_reason(&self, catalogue: rc::ReasonCatalogue, reason: String) -> Result<()> {
        self.with(|r| r.edit_settings(|doc, author| doc.remove_reason(author, catalogue, &reason)))
    }

    /// The server's users, teams and territories as of this device's last
    /// finished sync; `null` if it never fetched them.
    pub fn directory(&self) -> Result<Option<Directory>> {
        Ok(self.with(|r| r.directory())?.map(Directory::from))
    }

    /// Checks an owner (an active user), team or territory against the
    /// directory before `setField` writes it: `InvalidInput` naming the close
    /// names (or the known ones) if the directory does not list it, or if
    /// this device never fetched the directory (sync first).
    pub fn check_name(&self, kind: rc::NameKind, name: String) -> Result<()> {
        self.with(|r| r.check_name(kind, name.trim()))
    }

    /// How many documents have local edits the server has not acknowledged.
    pub fn unsynced_count(&self) -> Result<u64> {
        Ok(self.with(|r| r.unsynced_count())? as u64)
    }

    /// Documents whose latest local edits the server refused, with its reason.
    pub fn rejected_documents(&self) -> Result<Vec<Rejection>> {
        Ok(self
            .with(|r| r.rejected_documents())?
            .into_iter()
            .map(|(document, reason)| Rejection { document, reason })
            .collect())
    }

    // ── Refused edits (ADR 0010) ────────────────────────────────────────────

    /// Edits the server refused, kept aside on this device, oldest first.
    /// The device's other edits were sent without them.
    pub fn refused_edits(&self) -> Result<Vec<RefusedEdit>> {
        Ok(self.with(|r| r.refused_edits())?.into_iter().map(RefusedEdit::from).collect())
    }

    /// Throws a refused edit away for good.
    pub fn discard_refused(&self, refused_id: i64) -> Result<()> {
        self.with(|r| r.discard_refused(rc::RefusedEditId(refused_id)))
    }

    /// Makes a refused edit again on the account as it is now; the next sync
    /// sends it. Fails with `NotPermitted` if the rules still refuse it.
    pub fn retry_refused(&self, refused_id: i64) -> Result<()> {
        self.with(|r| r.retry_refused(rc::RefusedEditId(refused_id)))
    }

    /// Why the server refused this device's settings change, if it did; the
    /// change stays here, unsent, until discarded or sent again.
    pub fn refused_settings(&self) -> Result<Option<String>> {
        self.with(|r| r.refused_settings())
    }

    /// Throws the refused settings change away: the settings become the
    /// server's again.
    pub fn discard_refused_settings(&self) -> Result<()> {
        self.with(|r| r.discard_refused_settings())
    }

    /// Sends the refused settings change again at the next sync. Fails with
    /// `NotPermitted` if the user still may not change the settings.
    pub fn retry_refused_settings(&self) -> Result<()> {
        self.with(|r| r.retry_refused_settings())
    }
}
