//! Compaction on PostgreSQL ([`PgLog::compact`]): a document's changes
//! folded into a snapshot, and its change rows pruned once there are many,
//! done once however many nodes run it (ADR `docs/adr/0032-compaction-once.md`).
//!
//! Each document is compacted in a transaction of its own that first locks
//! its row with `FOR UPDATE SKIP LOCKED`: a document another node is
//! compacting is skipped, not compacted twice. An append to that document
//! meanwhile waits for the row (its change rows, not yet committed, are
//! neither read nor pruned here), then goes on after the snapshot.

use rapport_core::untrusted::loads_back;

use crate::PgError;
use crate::log::PgLog;
use crate::transaction::assemble;

/// What one call of [`PgLog::compact`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compacted {
    /// Documents given a new snapshot.
    pub snapshots: usize,
    /// Of those, documents whose change rows were pruned.
    pub pruned: usize,
    /// Documents skipped: another node held them, or their snapshot did not load back.
    pub skipped: usize,
}

impl PgLog {
    /// Compacts up to `limit` documents whose snapshot is older than their
    /// newest change: each gets a snapshot of all its changes, and its
    /// change rows are deleted once more than `compact_after` are kept
    /// (devices that far behind receive the snapshot).
    pub fn compact(&self, limit: usize, compact_after: u64) -> Result<Compacted, PgError> {
        let pool = self.pool();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let due: Vec<String> = self.run(async move {
            let client = pool.get().await?;
            let rows = client
                .query("SELECT id FROM documents WHERE last_seq > snapshot_seq ORDER BY last_seq LIMIT $1", &[&limit])
                .await?;
            Ok::<_, PgError>(rows.iter().map(|r| r.get(0)).collect())
        })??;
        let mut done = Compacted::default();
        for id in due {
            match self.compact_one(&id, compact_after)? {
                Some(true) => {
                    done.snapshots += 1;
                    done.pruned += 1;
                }
                Some(false) => done.snapshots += 1,
                None => done.skipped += 1,
            }
        }
        Ok(done)
    }

    /// One document, in its own transaction: `Some(pruned)` once compacted,
    /// `None` if skipped.
    fn compact_one(&self, id: &str, compact_after: u64) -> Result<Option<bool>, PgError> {
        let pool = self.pool();
        let doc_id = id.to_owned();
        let id = id.to_owned();
        self.run(async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let Some(row) = tx
                .query_opt(
                    "SELECT snapshot, snapshot_seq, last_seq, change_count FROM documents
                     WHERE id = $1 AND last_seq > snapshot_seq FOR UPDATE SKIP LOCKED",
                    &[&id],
                )
                .await?
            else {
                return Ok(None);
            };
            let (snapshot, snapshot_seq, last_seq, count): (Option<Vec<u8>>, i64, i64, i64) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let changes: Vec<Vec<u8>> = tx
                .query("SELECT bytes FROM changes WHERE doc_id = $1 AND seq > $2 ORDER BY seq", &[&id, &snapshot_seq])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut doc = assemble(&id, snapshot, changes)?;
            let saved = doc.save();
            if !loads_back(&saved, &doc.get_heads()) {
                tracing::warn!(doc = id, "a compacted snapshot does not load back; the change rows are kept instead");
                return Ok(None);
            }
            tx.execute(
                "UPDATE documents SET snapshot = $2, snapshot_seq = $3 WHERE id = $1",
                &[&id, &saved, &last_seq],
            )
            .await?;
            let prune = u64::try_from(count).unwrap_or(0) > compact_after;
            if prune {
                tx.execute("UPDATE documents SET pruned_seq = $2, change_count = 0 WHERE id = $1", &[&id, &last_seq])
                    .await?;
                tx.execute("DELETE FROM changes WHERE doc_id = $1 AND seq <= $2", &[&id, &last_seq]).await?;
            }
            tx.commit().await.map_err(PgError::commit)?;
            Ok(Some(prune))
        })?
        .map_err(|e: PgError| {
            tracing::warn!(doc = doc_id, error = %e, "compacting a document failed");
            e
        })
    }
}
