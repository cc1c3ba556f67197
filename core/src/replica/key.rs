//! Encryption at rest: the key a replica is opened with, and encrypting a
//! plain replica in place (ADR 0014).
//!
//! The replica file and its write-ahead log are encrypted page by page with
//! SQLCipher (AES-256). A [`ReplicaKey`] is either a raw 32-byte key (from
//! the Android Keystore, the iOS Keychain or the desktop's keyring: no key
//! derivation on open) or a passphrase (SQLCipher derives the key with
//! PBKDF2-HMAC-SHA512, 256,000 iterations).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, KeyProblem, Result};

/// Length of a raw key, in bytes.
pub const RAW_KEY_LEN: usize = 32;

/// The first 16 bytes of every plain SQLite file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The key of an encrypted replica. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub enum ReplicaKey {
    /// 32 random bytes, kept by the platform's keystore.
    Raw([u8; RAW_KEY_LEN]),
    /// A passphrase the user types (not empty).
    Passphrase(String),
}

impl std::fmt::Debug for ReplicaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplicaKey::Raw(_) => "ReplicaKey::Raw(..)",
            ReplicaKey::Passphrase(_) => "ReplicaKey::Passphrase(..)",
        })
    }
}

impl ReplicaKey {
    /// A raw key; [`Error::InvalidValue`] unless `bytes` is exactly 32 bytes long.
    pub fn raw(bytes: &[u8]) -> Result<ReplicaKey> {
        let key: [u8; RAW_KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::invalid("key", format!("a raw replica key is {RAW_KEY_LEN} bytes, not {}", bytes.len()))
        })?;
        Ok(ReplicaKey::Raw(key))
    }

    /// A passphrase; [`Error::InvalidValue`] if it is empty (SQLCipher would
    /// take an empty key as no key at all).
    pub fn passphrase(text: impl Into<String>) -> Result<ReplicaKey> {
        let text = text.into();
        if text.is_empty() {
            return Err(Error::invalid("key", "the passphrase is empty"));
        }
        Ok(ReplicaKey::Passphrase(text))
    }

    /// The key as SQLCipher reads it: `x'<64 hex digits>'` for a raw key
    /// (used as is), else the passphrase (derived).
    fn sqlcipher_text(&self) -> String {
        match self {
            ReplicaKey::Raw(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("x'{hex}'")
            }
            ReplicaKey::Passphrase(text) => text.clone(),
        }
    }
}

/// What a file on disk looks like before SQLite opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// No file, or an empty one: a new replica.
    New,
    /// A plain (unencrypted) SQLite file.
    Plain,
    /// Whole pages of bytes that are not a plain SQLite file: an encrypted
    /// file (or random bytes; SQLCipher's output cannot be told from them).
    Opaque,
    /// Anything else (a text file, a truncated file).
    Other,
}

pub(crate) fn file_kind(path: &Path) -> Result<FileKind> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::New),
        Err(source) => return Err(Error::Io { path: path.to_path_buf(), source }),
    };
    let len = file.metadata().map_err(|source| Error::Io { path: path.to_path_buf(), source })?.len();
    if len == 0 {
        return Ok(FileKind::New);
    }
    let mut header = [0u8; 16];
    let read = file.read(&mut header).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    Ok(if read == 16 && &header == SQLITE_HEADER {
        FileKind::Plain
    } else if len >= 512 && len % 512 == 0 {
        FileKind::Opaque
    } else {
        FileKind::Other
    })
}

/// Gives the freshly opened connection its key. Must run before anything reads the file.
pub(crate) fn apply(conn: &Connection, key: &ReplicaKey) -> Result<()> {
    // A wrong key is reported as `Error::WrongKey`; SQLCipher would also
    // print its page errors to stderr (the terminal, Android's logcat).
    conn.execute_batch("PRAGMA cipher_log_level = NONE")?;
    conn.pragma_update(None, "key", key.sqlcipher_text())?;
    Ok(())
}

/// The error for a file SQLite could not read, given the key it was opened with.
pub(crate) fn unreadable(path: &Path, kind: FileKind, key: Option<&ReplicaKey>) -> Error {
    let path = path.to_path_buf();
    match (kind, key) {
        (FileKind::Opaque, None) => Error::WrongKey { path, problem: KeyProblem::Missing },
        (FileKind::Opaque, Some(_)) => Error::WrongKey { path, problem: KeyProblem::Wrong },
        (FileKind::Plain, Some(_)) => Error::WrongKey { path, problem: KeyProblem::NotEncrypted },
        _ => Error::NotAReplica(path),
    }
}

/// What [`super::Replica::encrypt`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// The plain replica is now encrypted with the key.
    Encrypted,
    /// The replica already was encrypted with this key; nothing changed.
    AlreadyEncrypted,
}

/// Encrypts the plain replica at `path` with `key` (see [`super::Replica::encrypt`]).
pub(crate) fn encrypt_in_place(path: &Path, key: &ReplicaKey) -> Result<Encryption> {
    match file_kind(path)? {
        FileKind::Plain => {}
        FileKind::Opaque => {
            // Encrypted already? Opening with the key says (and fails with WrongKey if not this key).
            let _lock = super::shared::FileLock::shared(path)?;
            drop(super::open_connection(path, Some(key))?);
            return Ok(Encryption::AlreadyEncrypted);
        }
        FileKind::New | FileKind::Other => return Err(Error::NotAReplica(path.to_path_buf())),
    }
    // The file alone: no other handle is open (it would keep reading the
    // plain file after the rename), and none opens until the copy replaced it.
    let lock = super::shared::FileLock::exclusive(path)?;
    let conn = super::open_connection(path, None)?;
    // Everything in the write-ahead log goes into the main file first, and the log is emptied.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let tmp = sibling(path, ".encrypting");
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&tmp)(e)),
    }
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tmp_text = tmp.to_str().ok_or_else(|| Error::invalid("path", "the replica path is not valid UTF-8"))?;
    conn.execute("ATTACH DATABASE ?1 AS encrypted KEY ?2", [tmp_text, &key.sqlcipher_text()])?;
    let exported = (|| -> Result<()> {
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.pragma_update(Some("encrypted"), "user_version", version)?;
        conn.pragma_update(Some("encrypted"), "application_id", super::schema::APPLICATION_ID)?;
        Ok(())
    })();
    conn.execute("DETACH DATABASE encrypted", [])?;
    if let Err(e) = exported {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
    // Held open across the rename, to wipe the plain copy once it is no longer the replica.
    let mut plain = OpenOptions::new().write(true).open(path).map_err(io(path))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(path)?;
    // The replica is the encrypted file now (a crash from here on loses
    // nothing). The plain log (emptied above) and its index (page numbers
    // only) still carry the replica's names: SQLite does not remove them when
    // it closes a file that was renamed over. Nobody else can have the new
    // file open (the lock is held), so they are the plain file's: wiped and removed.
    drop(conn);
    for suffix in ["-wal", "-shm"] {
        let file = sibling(path, suffix);
        match OpenOptions::new().write(true).open(&file) {
            Ok(mut f) => {
                let len = f.metadata().map_err(io(&file))?.len();
                wipe(&mut f, len).map_err(io(&file))?;
                drop(f);
                std::fs::remove_file(&file).map_err(io(&file))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&file)(e)),
        }
    }
    // The plain copy's pages are overwritten before it goes.
    let len = plain.metadata().map_err(io(path))?.len();
    wipe(&mut plain, len).map_err(io(path))?;
    drop(plain);
    // Proves the new file opens with the key before the caller relies on it.
    drop(super::open_connection(path, Some(key))?);
    drop(lock);
    Ok(Encryption::Encrypted)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// `path` with `suffix` added to its file name, in the same directory (so the rename is atomic).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Overwrites `len` bytes of `file` with zeros, on disk, then truncates it.
fn wipe(file: &mut File, len: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    file.set_len(0)?;
    file.sync_all()
}

fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(dir).and_then(|d| d.sync_all()).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
