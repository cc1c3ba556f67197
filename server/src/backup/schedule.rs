//! Scheduled backups: time-stamped names that sort by time, and retention.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;

use super::{BackupError, Backups, run_blocking};

/// Prefix and suffix of scheduled backup names; only such files are pruned.
const SCHEDULED_PREFIX: &str = "rapport-backup-";
const SCHEDULED_SUFFIX: &str = ".db";
/// The timestamp of a scheduled name, digit by digit (`d`) and literal.
const SCHEDULED_STAMP: &str = "dddd-dd-ddTdd-dd-dd.dddZ";

/// The name of a backup taken at `at`: `rapport-backup-2026-12-04T16-35-00.123Z.db`.
/// Names sort by time.
pub fn scheduled_name(at: OffsetDateTime) -> String {
    format!("{SCHEDULED_PREFIX}{}{SCHEDULED_SUFFIX}", stamp(at))
}

/// `at` in UTC as `2026-12-04T16-35-00.123Z`: fixed width, sorts by time, fits a file name.
pub(super) fn stamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Whether `name` is one [`scheduled_name`] makes (and so subject to retention).
pub fn is_scheduled_name(name: &str) -> bool {
    let Some(stamp) = name.strip_prefix(SCHEDULED_PREFIX).and_then(|n| n.strip_suffix(SCHEDULED_SUFFIX)) else {
        return false;
    };
    stamp.len() == SCHEDULED_STAMP.len()
        && stamp.bytes().zip(SCHEDULED_STAMP.bytes()).all(|(c, t)| if t == b'd' { c.is_ascii_digit() } else { c == t })
}

/// Keeps the newest `keep` scheduled backups in `dir` and deletes the older
/// ones, and temporary files of scheduled backups a crash left behind (older
/// than [`STALE_PARTIAL`]); other files are left alone. Returns the deleted files.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let io = |source| BackupError::Io { path: dir.to_path_buf(), source };
    let mut names = Vec::new();
    let mut deleted = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let Ok(entry) = entry else { continue };
        let Ok(name) = entry.file_name().into_string() else { continue };
        if is_scheduled_name(&name) {
            names.push(name);
        } else if is_stale_partial(&entry, &name) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|source| BackupError::Io { path: path.clone(), source })?;
            deleted.push(path);
        }
    }
    names.sort_unstable_by(|a, b| b.cmp(a));
    for name in names.into_iter().skip(keep) {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(|source| BackupError::Io { path: path.clone(), source })?;
        deleted.push(path);
    }
    Ok(deleted)
}

/// A scheduled backup's temporary file is this old only if its writer died.
const STALE_PARTIAL: Duration = Duration::from_secs(24 * 3600);

fn is_stale_partial(entry: &std::fs::DirEntry, name: &str) -> bool {
    let ours = name.strip_prefix('.').is_some_and(|n| n.starts_with(SCHEDULED_PREFIX)) && name.contains(".partial-");
    ours && entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_PARTIAL)
}

/// Scheduled backups: every `every`, a backup into `dir` (recorded in `db`'s
/// log of administrators' actions), then the newest `keep` kept. Ends once
/// `closing` turns true (a running backup finishes first).
pub fn spawn_schedule(
    backups: Backups,
    db: crate::Db,
    every: Duration,
    keep: usize,
    closing: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let Some(dir) = backups.dir.clone() else { return tokio::spawn(async {}) };
    crate::shutdown::spawn_every(every, every, closing, move || {
        let (backups, db, dir) = (backups.clone(), db.clone(), dir.clone());
        async move {
            let written = match backups.backup_named(None).await {
                Ok(info) => {
                    tracing::info!(
                        file = %info.path.display(), head = info.head, bytes = info.bytes, millis = info.millis,
                        "scheduled backup written"
                    );
                    Some(info)
                }
                Err(e) => {
                    tracing::error!(error = %e, "scheduled backup failed");
                    None
                }
            };
            let pruned = run_blocking(move || prune(&dir, keep)).await;
            match pruned {
                Ok(deleted) => {
                    for file in deleted {
                        tracing::info!(file = %file.display(), "deleted an old scheduled backup");
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot delete old scheduled backups"),
            }
            // Recorded once the old ones are pruned, so that no more than
            // `keep` are in the directory for longer than the backup takes.
            if let Some(info) = written {
                record(&db, &info).await;
            }
        }
    })
}

/// Records a scheduled backup as an administrator's action of the schedule.
async fn record(db: &crate::Db, info: &super::BackupInfo) {
    use crate::db::audit::{ActedBy, AdminAction, AuditStore, SqliteAudit};
    let file = info.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let detail = serde_json::json!({
        "scheduled": true, "head": info.head, "documents": info.documents, "bytes": info.bytes,
    });
    let recorded = db.call(move |conn| {
        Ok(SqliteAudit::new(conn).record_action(&ActedBy::Schedule, AdminAction::BackupTaken, &file, &detail)?)
    });
    if let Err(e) = recorded.await {
        tracing::error!(error = %e, "cannot record a scheduled backup in the audit log");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn scheduled_names_sort_by_time_and_are_recognised() {
        let a = scheduled_name(time::macros::datetime!(2026-12-04 09:05:07.004 UTC));
        let b = scheduled_name(time::macros::datetime!(2026-12-04 10:00:00.000 UTC));
        assert_eq!(a, "rapport-backup-2026-12-04T09-05-07.004Z.db");
        assert!(a < b);
        assert!(is_scheduled_name(&a) && is_scheduled_name(&b));
        for other in ["before-upgrade.db", "rapport-backup-2026-12-04T09-05-07.004Z.db.tmp", "rapport-backup-x.db"] {
            assert!(!is_scheduled_name(other), "{other}");
        }
    }

    #[test]
    fn prune_keeps_the_newest_scheduled_backups_and_nothing_else_goes() {
        let dir = tempfile::tempdir().unwrap();
        let at =
            |h: u8| scheduled_name(time::macros::datetime!(2026-12-04 00:00 UTC) + time::Duration::hours(h.into()));
        let old_partial = format!(".{}.partial-1-0", at(9));
        let fresh_partial = format!(".{}.partial-2-0", at(10));
        for name in [at(1), at(3), at(2), "by-hand.db".into(), old_partial.clone(), fresh_partial.clone()] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let day_ago = std::time::SystemTime::now() - STALE_PARTIAL - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(dir.path().join(&old_partial))
            .unwrap()
            .set_modified(day_ago)
            .unwrap();
        let mut deleted: Vec<String> =
            prune(dir.path(), 2).unwrap().iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        deleted.sort();
        assert_eq!(deleted, vec![old_partial, at(1)]);
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, vec![fresh_partial, "by-hand.db".to_owned(), at(2), at(3)]);
    }
}
