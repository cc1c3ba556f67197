//! The local replica: account documents stored durably in one SQLite file.
//!
//! * One connection per handle, WAL, `synchronous = FULL`: a call that
//!   returns `Ok` has committed to disk and survives `kill -9` and power loss.
//! * Several handles and processes share the file (`rapport watch` syncs
//!   while other commands edit): writes take turns and each first catches up
//!   with what the others committed (see `shared`, ADR 0021). Encrypting and
//!   erasing need the file alone ([`Error::ReplicaLocked`]).
//! * Each document is a snapshot plus appended change chunks, compacted into
//!   a new snapshot every [`COMPACT_AFTER`] chunks (today every write: see
//!   ADR 0002 for the measurement).
//! * The materialized index (lists, filters, full-text search) is rewritten in
//!   the same transaction as the document it describes.
//! * The file can be encrypted at rest ([`Replica::open_encrypted`],
//!   [`Replica::encrypt`]; SQLCipher, see `key`).

mod directory;
mod duplicates;
mod erase;
mod index;
mod key;
mod loaded;
mod refused;
mod refused_settings;
mod restored;
pub mod schema;
mod shared;
mod stored;
mod sync;
mod words;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use automerge::{ActorId, ChangeHash};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::doc::access;
use crate::doc::{AccountDoc, Author, Conflict, Editor, HistoryEntry, NewAccount};
use crate::error::{Error, RecordKind, Result};
use crate::model::{Account, AccountId};
use crate::rules::Principal;
use crate::settings::{SETTINGS_DOC_ID, Settings, SettingsDoc};

pub use directory::{Directory, NameKind};
pub use duplicates::{DuplicateGroup, DuplicateReason, SharedKey};
pub use erase::Unsynced;
pub use index::{AccountFilter, AccountSummary, SUMMARY_SELECT};
pub use key::{Encryption, RAW_KEY_LEN, ReplicaKey};
pub use reassign::{FieldChange, Reassignment};
pub use refused::{RefusedEdit, RefusedEditId};
pub use shared::{BUSY_WAIT, ERASE_WAIT};
pub use sync::{PushPlan, SyncLimits, SyncReport};

/// The fewest characters of an id [`Replica::find_account`] accepts.
pub const MIN_ID_PREFIX: usize = 4;

/// The FTS5 query [`Replica::search`] runs for `text` (for benchmarks that
/// run the same SQL without the replica).
#[doc(hidden)]
pub fn search_query(text: &str) -> Option<String> {
    words::fts_query(text)
}

/// Change chunks kept after a snapshot before the document is re-saved whole.
/// 1: every write saves the whole document, which measured faster overall
/// (loading chunks costs more than saving).
pub const COMPACT_AFTER: i64 = 1;

/// The user and device a replica writes as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub user: String,
    pub device: String,
}

impl DeviceIdentity {
    pub fn new(user: impl Into<String>, device: impl Into<String>) -> Self {
        DeviceIdentity { user: user.into(), device: device.into() }
    }
}

/// What [`Replica::import_document`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    Account(AccountId),
    Settings,
}

/// Begins a write on `$r` (a `Replica`): `BEGIN IMMEDIATE`, then catches up
/// with what other handles committed (see `shared::catch_up`). Borrows the
/// connection shared and the cached fields apart, so the caller keeps using both.
macro_rules! write_tx {
    ($r:expr) => {{
        let tx = $crate::replica::shared::begin(&$r.conn, &$r.path)?;
        $crate::replica::shared::catch_up(
            &tx,
            &$r.seen,
            &$r.loaded,
            $crate::replica::shared::Cached {
                author: &mut $r.author,
                settings: &mut $r.settings,
                principal: &mut $r.principal,
            },
        )?;
        tx
    }};
}
pub(crate) use write_tx;

// After the macro it uses.
mod reassign;

/// A local replica. Not `Sync`: one owner, one connection. Other handles
/// (in this process or others) may have the same file open.
#[derive(Debug)]
pub struct Replica {
    conn: Connection,
    path: PathBuf,
    author: Author,
    settings: Settings,
    /// Who the user is to the permission rules, when this device knows it.
    principal: Option<Principal>,
    /// Recently used account documents, kept loaded (see `loaded`).
    loaded: Mutex<loaded::Loaded>,
    /// What this handle last saw of the file (see `shared`).
    seen: shared::Seen,
    /// The shared lock on `<replica>.lock`, released after the connection closes.
    lock: shared::FileLock,
}

impl Replica {
    /// Opens the replica at `path`, creating it if the file does not exist.
    /// An encrypted replica fails with [`Error::WrongKey`]: use [`Replica::open_encrypted`].
    pub fn open(path: impl AsRef<Path>, identity: &DeviceIdentity) -> Result<Replica> {
        Replica::open_with(path.as_ref(), identity, None)
    }

    /// Opens the encrypted replica at `path` with `key`, creating it
    /// (encrypted) if the file does not exist. A wrong key, or a replica that
    /// is not encrypted (see [`Replica::encrypt`]), fails with
    /// [`Error::WrongKey`] and changes nothing.
    pub fn open_encrypted(path: impl AsRef<Path>, identity: &DeviceIdentity, key: &ReplicaKey) -> Result<Replica> {
        Replica::open_with(path.as_ref(), identity, Some(key))
    }

    /// Encrypts the plain replica at `path` with `key`, in place: its
    /// write-ahead log is checkpointed, the whole file is copied encrypted to
    /// a new file beside it, which is synced to disk and renamed over the
    /// replica; the plain file's bytes are then overwritten with zeros.
    /// A crash at any point leaves either the plain or the encrypted replica,
    /// whole. A replica already encrypted with `key` is left as it is
    /// ([`Encryption::AlreadyEncrypted`]); with another key, [`Error::WrongKey`].
    /// Fails with [`Error::ReplicaLocked`] while the replica is open (in any process).
    pub fn encrypt(path: impl AsRef<Path>, key: &ReplicaKey) -> Result<Encryption> {
        key::encrypt_in_place(path.as_ref(), key)
    }

    fn open_with(path: &Path, identity: &DeviceIdentity, key: Option<&ReplicaKey>) -> Result<Replica> {
        let path = path.to_path_buf();
        let lock = shared::FileLock::shared(&path)?;
        let mut conn = open_connection(&path, key)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > schema::latest_version() {
            return Err(Error::ReplicaTooNew { found: version, supported: schema::latest_version() });
        }
        if version == 0 {
            conn.pragma_update(None, "application_id", schema::APPLICATION_ID)?;
        }
        let reindex = schema::migrate(&mut conn, version).map_err(|e| shared_busy(e, &path))?;

        let actor = {
            let tx = shared::begin(&conn, &path)?;
            let actor: Option<Vec<u8>> =
                tx.query_row("SELECT value FROM meta WHERE key = 'actor'", [], |r| r.get(0)).optional()?;
            let actor = match actor {
                Some(a) => a,
                None => {
                    let fresh = uuid::Uuid::new_v4().as_bytes().to_vec();
                    tx.execute("INSERT INTO meta (key, value) VALUES ('actor', ?1)", [&fresh])?;
                    fresh
                }
            };
            for (key, value) in [("user", &identity.user), ("device", &identity.device)] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = ?2 WHERE value IS NOT ?2",
                    params![key, value.as_bytes()],
                )?;
            }
            let has_settings: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1)", [SETTINGS_DOC_ID], |r| r.get(0))?;
            if !has_settings {
                let bytes = SettingsDoc::genesis().automerge_mut().save();
                tx.execute(
                    "INSERT INTO documents (id, snapshot, pending, updated_at) VALUES (?1, ?2, 0, 0)",
                    params![SETTINGS_DOC_ID, bytes],
                )?;
            }
            tx.commit()?;
            ActorId::from(actor)
        };
        let author = Author::new(identity.user.clone(), identity.device.clone(), actor);
        let seen = shared::Seen::new(&conn)?;
        let mut replica = Replica {
            conn,
            path,
            author,
            settings: Settings::default(),
            principal: None,
            loaded: Mutex::new(loaded::Loaded::new(loaded::LOADED_DOCS)),
            seen,
            lock,
        };
        replica.settings = replica.load_settings()?.read();
        replica.principal = refused::read_principal(&replica.conn)?;
        if reindex || !replica.index_complete()? {
            replica.reindex()?;
        }
        Ok(replica)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The author (user, device, actor id) this replica writes as.
    pub fn author(&self) -> &Author {
        &self.author
    }

    /// The merged workspace settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Creates an account and returns its id.
    pub fn create_account(&mut self, new: &NewAccount) -> Result<AccountId> {
        Ok(self.create_accounts(std::slice::from_ref(new))?[0])
    }

    /// Creates many accounts in one transaction (all or none).
    pub fn create_accounts(&mut self, batch: &[NewAccount]) -> Result<Vec<AccountId>> {
        let tx = write_tx!(self);
        let mut docs = Vec::with_capacity(batch.len());
        let mut ids_in_batch = std::collections::HashSet::new();
        for new in batch {
            if let Some(id) = new.id
                && (self.exists(id)? || !ids_in_batch.insert(id))
            {
                return Err(Error::invalid("id", format!("account {id} already exists")));
            }
            let mut doc = AccountDoc::create(&self.author, new)?;
            self.precheck(&mut doc, &[])?;
            docs.push(doc);
        }
        let mut ids = Vec::with_capacity(docs.len());
        let stored_at = access::millis(OffsetDateTime::now_utc());
        for mut doc in docs {
            let bytes = stored::whole(doc.automerge_mut())?;
            tx.prepare_cached("INSERT INTO documents (id, snapshot, pending, updated_at) VALUES (?1, ?2, 0, ?3)")?
                .execute(params![doc.id().to_string(), bytes, stored_at])?;
            index::write(&tx, &index::row(&mut doc))?;
            mark_dirty(&tx, &doc.id().to_string())?;
            ids.push(doc.id());
        }
        tx.commit()?;
        Ok(ids)
    }

    /// The account as merged on this replica.
    pub fn account(&self, id: AccountId) -> Result<Account> {
        self.with_document(id, |doc| Ok(doc.read()))
    }

    /// A copy of an account's document.
    pub fn document(&self, id: AccountId) -> Result<AccountDoc> {
        self.with_document(id, |doc| Ok(doc.clone()))
    }

    /// Runs `f` on the account's loaded document, which it must only read.
    fn with_document<T>(&self, id: AccountId, f: impl FnOnce(&mut AccountDoc) -> Result<T>) -> Result<T> {
        self.seen.look(&self.conn, &self.loaded)?;
        let mut doc = take_loaded(&self.loaded, &self.conn, id, &self.author.actor)?;
        let out = f(&mut doc);
        keep_loaded(&self.loaded, doc);
        out
    }

    /// Runs `f` on the account with an [`Editor`] and stores the result in one
    /// transaction. If `f` fails, nothing is stored. When this device knows
    /// its principal, the rules judge the change first: a change the server
    /// would refuse is refused here ([`Error::NotPermitted`]), and nothing is stored.
    pub fn edit<T>(&mut self, id: AccountId, f: impl FnOnce(&mut Editor<'_>) -> Result<T>) -> Result<T> {
        // The write lock is taken first: the edit is made on the document as
        // the file holds it, whatever other handles committed.
        let tx = write_tx!(self);
        // Taken out of the loaded documents: if `f` or the write fails, the
        // half-edited document is dropped and the next call loads the file's.
        let mut doc = take_loaded(&self.loaded, &tx, id, &self.author.actor)?;
        let before = doc.heads();
        let out = {
            let mut editor = doc.edit(&self.author, &self.settings);
            f(&mut editor)?
        };
        self.precheck(&mut doc, &before)?;
        store_changes(&tx, &mut doc, &before, true)?;
        tx.commit()?;
        keep_loaded(&self.loaded, doc);
        Ok(out)
    }

    /// Makes each edit (an account and what to do with its [`Editor`]) and
    /// stores them all in one transaction (all or none), each judged as by
    /// [`Replica::edit`]: bulk work such as an import writes the file once,
    /// not once per account.
    pub fn edit_each<F>(&mut self, edits: impl IntoIterator<Item = (AccountId, F)>) -> Result<()>
    where
        F: FnOnce(&mut Editor<'_>) -> Result<()>,
    {
        let tx = write_tx!(self);
        let mut docs = Vec::new();
        for (id, f) in edits {
            // Read through the transaction: an account named twice sees its first edit.
            let mut doc = take_loaded(&self.loaded, &tx, id, &self.author.actor)?;
            let before = doc.heads();
            f(&mut doc.edit(&self.author, &self.settings))?;
            self.precheck(&mut doc, &before)?;
            store_changes(&tx, &mut doc, &before, true)?;
            docs.push(doc);
        }
        tx.commit()?;
        for doc in docs {
            keep_loaded(&self.loaded, doc);
        }
        Ok(())
    }

    /// Accounts matching `filter`, by name. Merged-away accounts are never listed.
    pub fn list(&self, filter: &AccountFilter) -> Result<Vec<AccountSummary>> {
        index::list(&self.conn, filter)
    }

    /// Full-text search over names, contacts (names, emails, phones), registration
    /// codes, notes and addresses (street, city, region, postcode), best match first. Words
    /// match by prefix and by stem, in English, Ukrainian and Russian.
    pub fn search(&self, text: &str, limit: u32) -> Result<Vec<AccountSummary>> {
        index::list(
            &self.conn,
            &AccountFilter { text: Some(text.to_owned()), limit: Some(limit), ..AccountFilter::default() },
        )
    }

    /// The account an id or a shortened id names: a whole id, or its first
    /// [`MIN_ID_PREFIX`] or more characters, as `git` accepts short hashes.
    /// An id no account starts with is `NotFound`; one several start with is
    /// `AmbiguousId`, with some of them.
    pub fn find_account(&self, id_or_prefix: &str) -> Result<AccountId> {
        let prefix = id_or_prefix.trim().to_ascii_lowercase();
        if let Ok(id) = prefix.parse::<AccountId>() {
            return Ok(id);
        }
        if prefix.len() < MIN_ID_PREFIX || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::InvalidValue {
                field: "id".into(),
                reason: format!(
                    "{id_or_prefix:?} is not an account id or the first {MIN_ID_PREFIX} or more characters of one"
                ),
            });
        }
        let mut matches: Vec<String> = self
            .conn
            .prepare_cached(
                "SELECT id FROM accounts WHERE id >= ?1 AND substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 6",
            )?
            .query_map([&prefix], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match matches.as_slice() {
            [] => Err(Error::not_found(RecordKind::Account, prefix)),
            [one] => one.parse().map_err(|_| Error::not_found(RecordKind::Account, prefix)),
            _ => {
                let more = matches.len() > 5;
                matches.truncate(5);
                Err(Error::AmbiguousId { kind: RecordKind::Account, prefix, matches, more })
            }
        }
    }

    /// The index row of one account.
    pub fn summary(&self, id: AccountId) -> Result<AccountSummary> {
        index::get(&self.conn, id)?.ok_or_else(|| Error::not_found(RecordKind::Account, id))
    }

    /// Fields with concurrent values in one account.
    pub fn conflicts(&self, id: AccountId) -> Result<Vec<Conflict>> {
        self.with_document(id, |doc| Ok(doc.conflicts()))
    }

    /// Every open conflict on this replica.
    pub fn all_conflicts(&self) -> Result<Vec<(AccountId, Conflict)>> {
        let ids: Vec<AccountId> = self
            .list(&AccountFilter { with_conflicts: true, include_deleted: true, ..AccountFilter::default() })?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.conflicts(id)?.into_iter().map(|c| (id, c)));
        }
        Ok(out)
    }

    /// Every change to the account, oldest first.
    pub fn history(&self, id: AccountId) -> Result<Vec<HistoryEntry>> {
        self.with_document(id, |doc| Ok(doc.history()))
    }

    /// The account as it was right after the change(s) `heads`.
    pub fn account_at(&self, id: AccountId, heads: &[ChangeHash]) -> Result<Account> {
        self.with_document(id, |doc| doc.at(heads))
    }

    /// The account document's heads now: what an edit made from this view of
    /// the account (such as [`Editor::edit_notes`]) names as its base.
    pub fn heads(&self, id: AccountId) -> Result<Vec<ChangeHash>> {
        self.with_document(id, |doc| Ok(doc.heads()))
    }

    /// The account's whole Automerge document, for other Automerge implementations.
    pub fn export_document(&self, id: AccountId) -> Result<Vec<u8>> {
        self.with_document(id, |doc| stored::whole(doc.automerge_mut()))
    }

    /// Stores document bytes from elsewhere: a new account, or changes to one
    /// this replica has (merged). Bytes are validated first; on error nothing changes.
    pub fn import_document(&mut self, bytes: &[u8]) -> Result<Imported> {
        let loaded = crate::doc::load_verified(bytes)?;
        let kind = access::string(&loaded, &automerge::ROOT, "type");
        let tx = write_tx!(self);
        if kind.as_deref() == Some("settings") {
            let mut settings = load_settings(&tx)?;
            settings.automerge_mut().merge(&mut loaded.clone())?;
            let bytes = stored::whole(settings.automerge_mut())?;
            tx.execute(
                "UPDATE documents SET snapshot = ?2, pending = 0 WHERE id = ?1",
                params![SETTINGS_DOC_ID, bytes],
            )?;
            tx.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [SETTINGS_DOC_ID])?;
            mark_dirty(&tx, SETTINGS_DOC_ID)?;
            tx.commit()?;
            self.settings = settings.read();
            return Ok(Imported::Settings);
        }
        let mut incoming = AccountDoc::from_automerge(loaded)?;
        let id = incoming.id();
        let mut merged = None;
        match take_loaded(&self.loaded, &tx, id, &self.author.actor) {
            Ok(mut doc) => {
                let before = doc.heads();
                doc.merge(&mut incoming)?;
                store_changes(&tx, &mut doc, &before, true)?;
                merged = Some(doc);
            }
            Err(Error::NotFound { .. }) => {
                incoming.automerge_mut().set_actor(self.author.actor.clone());
                let now = OffsetDateTime::now_utc();
                tx.execute(
                    "INSERT INTO documents (id, snapshot, pending, updated_at) VALUES (?1, ?2, 0, ?3)",
                    params![id.to_string(), stored::whole(incoming.automerge_mut())?, access::millis(now)],
                )?;
                index::write(&tx, &index::row(&mut incoming))?;
                mark_dirty(&tx, &id.to_string())?;
            }
            Err(e) => return Err(e),
        }
        tx.commit()?;
        if let Some(doc) = merged {
            keep_loaded(&self.loaded, doc);
        }
        Ok(Imported::Account(id))
    }

    /// Merges `duplicate` into `survivor` (two records of the same customer):
    /// the survivor gains everything the duplicate holds, and the duplicate
    /// becomes a redirect to the survivor. Both documents change in one
    /// transaction, and both changes sync, so every replica sees the merge.
    pub fn merge_accounts(&mut self, survivor: AccountId, duplicate: AccountId) -> Result<()> {
        if survivor == duplicate {
            return Err(Error::InvalidMerge("an account cannot be merged with itself".into()));
        }
        let tx = write_tx!(self);
        // Both taken out of the loaded documents, like every write's: a merge
        // that fails leaves neither half-changed in memory.
        let mut dup = take_loaded(&self.loaded, &tx, duplicate, &self.author.actor)?;
        let mut surv = take_loaded(&self.loaded, &tx, survivor, &self.author.actor)?;
        let dup_account = dup.read();
        if let Some(into) = dup_account.merged_into
            && into != survivor
        {
            return Err(Error::InvalidMerge(format!("account {duplicate} was already merged into {into}")));
        }
        if let Some(into) = surv.read().merged_into {
            return Err(Error::AccountMerged { id: survivor.to_string(), into: into.to_string() });
        }
        let (surv_before, dup_before) = (surv.heads(), dup.heads());
        surv.edit(&self.author, &self.settings).absorb(&dup_account)?;
        if dup_account.merged_into.is_none() {
            dup.edit(&self.author, &self.settings).redirect_to(survivor)?;
        }
        store_changes(&tx, &mut surv, &surv_before, true)?;
        store_changes(&tx, &mut dup, &dup_before, true)?;
        tx.commit()?;
        keep_loaded(&self.loaded, dup);
        keep_loaded(&self.loaded, surv);
        Ok(())
    }

    /// Edits the settings document (stages, reason catalogues).
    /// Refused at once ([`Replica::may_change_settings`]) when this device
    /// knows its user may not change the settings.
    pub fn edit_settings<T>(&mut self, f: impl FnOnce(&mut SettingsDoc, &Author) -> Result<T>) -> Result<T> {
        self.may_change_settings()?;
        let tx = write_tx!(self);
        let mut doc = self.load_settings()?;
        let out = f(&mut doc, &self.author)?;
        let bytes = stored::whole(doc.automerge_mut())?;
        tx.execute("UPDATE documents SET snapshot = ?2, pending = 0 WHERE id = ?1", params![SETTINGS_DOC_ID, bytes])?;
        tx.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [SETTINGS_DOC_ID])?;
        mark_dirty(&tx, SETTINGS_DOC_ID)?;
        tx.commit()?;
        self.settings = doc.read();
        Ok(out)
    }

    /// Refuses what the server would refuse ([`Error::NotPermitted`] on the
    /// field `settings`) when this device knows its user may not change the
    /// settings; when the role is unknown, the server judges at the next sync.
    pub fn may_change_settings(&self) -> Result<()> {
        match self.principal.as_ref().map(Principal::check_settings_change) {
            Some(Err(refusal)) => Err(Error::NotPermitted {
                field: Some(SETTINGS_DOC_ID.into()),
                reason: format!(
                    "{refusal}: the pipeline stages and reason catalogues are changed by administrators, managers \
                     and the office"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The settings document's bytes, for sync and interop.
    pub fn export_settings(&self) -> Result<Vec<u8>> {
        stored::whole(self.load_settings()?.automerge_mut())
    }

    /// Ids of every account document stored here (including deleted and merged ones).
    pub fn account_ids(&self) -> Result<Vec<AccountId>> {
        let mut stmt = self.conn.prepare("SELECT id FROM documents WHERE id != ?1 ORDER BY id")?;
        let ids = stmt
            .query_map([SETTINGS_DOC_ID], |r| r.get::<_, String>(0))?
            .filter_map(|r| r.ok().and_then(|s| s.parse().ok()))
            .collect();
        Ok(ids)
    }

    /// Rebuilds the whole index from the documents (after a migration, or on demand).
    pub fn reindex(&mut self) -> Result<()> {
        let tx = write_tx!(self);
        let ids = self.account_ids()?;
        index::clear(&tx)?;
        for id in ids {
            let mut doc = load_account(&tx, id, &self.author.actor)?;
            index::write(&tx, &index::row(&mut doc))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether every account document has its index row (a cheap check on
    /// open; a replica written by an older build, or damaged by hand, is reindexed).
    fn index_complete(&self) -> Result<bool> {
        let (docs, rows): (i64, i64) = self.conn.query_row(
            "SELECT (SELECT count(*) FROM documents WHERE id != ?1), (SELECT count(*) FROM accounts)",
            [SETTINGS_DOC_ID],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(docs == rows)
    }

    fn exists(&self, id: AccountId) -> Result<bool> {
        holds(&self.conn, &id.to_string())
    }

    fn load_settings(&self) -> Result<SettingsDoc> {
        let mut doc = load_settings(&self.conn)?;
        doc.automerge_mut().set_actor(self.author.actor.clone());
        Ok(doc)
    }
}

/// Opens the SQLite file shared (WAL, writes waiting up to
/// [`shared::BUSY_WAIT`] for each other, every transaction `IMMEDIATE`) and
/// with full durability, decrypting it with `key` if one is given. The
/// caller holds the replica's [`shared::FileLock`].
fn open_connection(path: &Path, key: Option<&ReplicaKey>) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    }
    let kind = key::file_kind(path)?;
    let not_replica = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => key::unreadable(path, kind, key),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => shared::busy(e, path),
        _ => Error::Storage(e),
    };
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    if let Some(key) = key {
        key::apply(&conn, key)?;
    }
    conn.busy_timeout(shared::BUSY_WAIT)?;
    // A deferred transaction that reads and then writes fails at once when
    // another handle committed in between; an immediate one waits its turn.
    conn.set_transaction_behavior(TransactionBehavior::Immediate);
    // Edits, sync and the index use more distinct statements than rusqlite's default cache of 16.
    conn.set_prepared_statement_cache_capacity(128);
    // Plan each statement once: without this, binding a new value re-prepares
    // any statement whose plan looked at a bound value (a table with a partial
    // index is enough), so cached statements were compiled again on each use.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(not_replica)?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(not_replica)?;
    if app_id != schema::APPLICATION_ID && !(app_id == 0 && tables == 0) {
        return Err(Error::NotAReplica(path.to_path_buf()));
    }
    conn.pragma_update(None, "journal_mode", "WAL").map_err(not_replica)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(not_replica)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(not_replica)?;
    Ok(conn)
}

/// A migration that waited out [`shared::BUSY_WAIT`] as [`Error::ReplicaBusy`].
fn shared_busy(e: Error, path: &Path) -> Error {
    match e {
        Error::Storage(e) => shared::busy(e, path),
        e => e,
    }
}

/// A stored document: its snapshot and the change chunks appended after it.
type StoredChunks = (Vec<u8>, Vec<Vec<u8>>);

fn load_chunks(conn: &Connection, id: &str) -> Result<Option<StoredChunks>> {
    let snapshot: Option<Vec<u8>> = conn
        .prepare_cached("SELECT snapshot FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(snapshot) = snapshot else { return Ok(None) };
    let mut stmt = conn.prepare_cached("SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?;
    let chunks = stmt.query_map([id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<Vec<u8>>>>()?;
    Ok(Some((snapshot, chunks)))
}

/// Whether the replica stores document `doc` (an account id or `settings`).
fn holds(conn: &Connection, doc: &str) -> Result<bool> {
    Ok(conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1)")?.query_row([doc], |r| r.get(0))?)
}

fn loaded(loaded: &Mutex<loaded::Loaded>) -> std::sync::MutexGuard<'_, loaded::Loaded> {
    // The set holds whole documents only: a panic elsewhere cannot leave it half-changed.
    loaded.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The account's document, out of the loaded set (put it back with
/// [`keep_loaded`] once what changed it committed) or from the file.
fn take_loaded(
    loaded_docs: &Mutex<loaded::Loaded>,
    conn: &Connection,
    id: AccountId,
    actor: &ActorId,
) -> Result<AccountDoc> {
    match loaded(loaded_docs).take(id) {
        Some(doc) => Ok(doc),
        None => load_account(conn, id, actor),
    }
}

fn keep_loaded(loaded_docs: &Mutex<loaded::Loaded>, doc: AccountDoc) {
    loaded(loaded_docs).keep(doc);
}

fn load_account(conn: &Connection, id: AccountId, actor: &ActorId) -> Result<AccountDoc> {
    let (snapshot, chunks) =
        load_chunks(conn, &id.to_string())?.ok_or_else(|| Error::not_found(RecordKind::Account, id))?;
    if chunks.is_empty() {
        return AccountDoc::load(&snapshot, actor.clone());
    }
    // One load of the snapshot followed by its change chunks: Automerge reads
    // concatenated chunks in a single pass, far cheaper than one
    // `load_incremental` per chunk.
    let mut bytes = snapshot;
    for chunk in &chunks {
        bytes.extend_from_slice(chunk);
    }
    AccountDoc::load(&bytes, actor.clone())
        .map_err(|e| Error::InvalidDocument(format!("stored changes of account {id} are damaged ({e})")))
}

fn load_settings(conn: &Connection) -> Result<SettingsDoc> {
    let (snapshot, chunks) = load_chunks(conn, SETTINGS_DOC_ID)?
        .ok_or_else(|| Error::InvalidDocument("replica has no settings document".into()))?;
    let mut doc = crate::doc::load_verified(&snapshot)?;
    for chunk in chunks {
        doc.load_incremental(&chunk)?;
    }
    Ok(SettingsDoc::from_automerge(doc))
}

/// Records that `doc` has changes the server has not acknowledged.
fn mark_dirty(tx: &Transaction<'_>, doc: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO doc_sync (doc_id, local_version) VALUES (?1, 1)
         ON CONFLICT (doc_id) DO UPDATE SET local_version = local_version + 1, rejected = NULL",
    )?
    .execute([doc])?;
    Ok(())
}

/// Appends the changes made since `before` and rewrites the index row.
/// `local` changes (made here, not pulled from the server) mark the document for push.
fn store_changes(tx: &Transaction<'_>, doc: &mut AccountDoc, before: &[ChangeHash], local: bool) -> Result<()> {
    if doc.heads() == before {
        return Ok(());
    }
    let pending = stored_pending(tx, &doc.id().to_string())?;
    write_encoded(tx, encode_changes(doc, before, pending)?, local)
}

/// How many change chunks follow the stored snapshot of `doc`.
fn stored_pending(tx: &Transaction<'_>, doc: &str) -> Result<i64> {
    Ok(tx.prepare_cached("SELECT pending FROM documents WHERE id = ?1")?.query_row([doc], |r| r.get(0))?)
}

/// What storing a changed document writes, encoded without touching storage
/// (so that many documents can be encoded on worker threads).
struct Encoded {
    id: String,
    body: Body,
    row: index::Row,
}

enum Body {
    /// The whole document, replacing the snapshot and its chunks.
    Snapshot(Vec<u8>),
    /// The changes since the last write, as chunk number `seq`.
    Chunk { seq: i64, bytes: Vec<u8> },
}

/// Encodes the changes made since `before` to a document stored with
/// `pending` chunks: a new snapshot every [`COMPACT_AFTER`] writes.
fn encode_changes(doc: &mut AccountDoc, before: &[ChangeHash], pending: i64) -> Result<Encoded> {
    let body = if pending + 1 >= COMPACT_AFTER {
        Body::Snapshot(stored::whole(doc.automerge_mut())?)
    } else {
        Body::Chunk { seq: pending + 1, bytes: doc.automerge_mut().save_after(before) }
    };
    Ok(Encoded { id: doc.id().to_string(), body, row: index::row(doc) })
}

fn write_encoded(tx: &Transaction<'_>, encoded: Encoded, local: bool) -> Result<()> {
    let Encoded { id, body, row } = encoded;
    if local {
        mark_dirty(tx, &id)?;
    }
    let now = access::millis(OffsetDateTime::now_utc());
    match body {
        Body::Snapshot(bytes) => {
            tx.prepare_cached("UPDATE documents SET snapshot = ?2, pending = 0, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id, bytes, now])?;
            tx.prepare_cached("DELETE FROM doc_changes WHERE doc_id = ?1")?.execute([&id])?;
        }
        Body::Chunk { seq, bytes } => {
            tx.prepare_cached("INSERT INTO doc_changes (doc_id, seq, bytes) VALUES (?1, ?2, ?3)")?
                .execute(params![id, seq, bytes])?;
            tx.prepare_cached("UPDATE documents SET pending = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id, seq, now])?;
        }
    }
    index::write(tx, &row)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::StatementStatus;

    use super::*;

    /// A cached statement is compiled once, whatever values it is run with:
    /// `conflicts > ?1` against the partial index `WHERE conflicts > 0` made
    /// SQLite compile it again for each new value.
    #[test]
    fn cached_statements_are_not_compiled_again_for_new_values() {
        let dir = tempfile::tempdir().unwrap();
        let replica = Replica::open(dir.path().join("r.db"), &DeviceIdentity::new("u", "d")).unwrap();
        let sql = "SELECT count(*) FROM accounts WHERE conflicts > ?1";
        for value in 0..4 {
            replica.conn.prepare_cached(sql).unwrap().query_row([value], |r| r.get::<_, i64>(0)).unwrap();
        }
        assert_eq!(replica.conn.prepare_cached(sql).unwrap().get_status(StatementStatus::RePrepare), 0);
    }
}
