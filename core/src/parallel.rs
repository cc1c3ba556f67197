//! Work spread over the machine's cores while the calling thread keeps the
//! storage: for a response or a request that carries many documents.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};

/// Below this many items, working on the calling thread is cheaper than
/// starting workers.
pub(crate) const PARALLEL_FROM: usize = 64;

/// Most documents loaded at once for one batch of work: a response or a
/// push may name tens of thousands (small changes to many accounts), and
/// each loaded document costs ~20 KB or more.
pub(crate) const BATCH_DOCS: usize = 256;

/// Runs `work` on every item, on one worker per core (up to 8), while the
/// calling thread hands each result to `store` in the items' order. The first
/// error, from `work` or `store`, stops the workers and is returned. Small
/// batches and single-core machines run everything on the calling thread.
pub(crate) fn in_order<T: Send, U: Send, E: Send>(
    items: Vec<T>,
    work: impl Fn(T) -> Result<U, E> + Sync,
    mut store: impl FnMut(U) -> Result<(), E>,
) -> Result<(), E> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if items.len() < PARALLEL_FROM || workers < 2 {
        return items.into_iter().try_for_each(|item| store(work(item)?));
    }
    let queue = Mutex::new(items.into_iter().enumerate());
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<(usize, Result<U, E>)>(workers * 4);
        for _ in 0..workers {
            let sender = sender.clone();
            let (queue, failed, work) = (&queue, &failed, &work);
            scope.spawn(move || {
                while !failed.load(Ordering::Relaxed) {
                    // The queue only hands out items: a panic elsewhere cannot leave it half-changed.
                    let Some((i, item)) = queue.lock().unwrap_or_else(PoisonError::into_inner).next() else {
                        return;
                    };
                    if sender.send((i, work(item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        // Results that came before their turn; the channel is always drained,
        // so a slow item never blocks the workers.
        let mut early = BTreeMap::new();
        let mut next = 0;
        let stored = receiver.iter().try_for_each(|(i, result)| {
            early.insert(i, result?);
            while let Some(done) = early.remove(&next) {
                next += 1;
                store(done)?;
            }
            Ok(())
        });
        if stored.is_err() {
            failed.store(true, Ordering::Relaxed);
            // Unblock workers waiting on a full channel.
            drop(receiver);
        }
        stored
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_stored_in_order_and_the_first_error_stops_everything() {
        for n in [3, PARALLEL_FROM, 1000] {
            let mut seen = Vec::new();
            let done: Result<(), String> = in_order(
                (0..n).collect(),
                |i| Ok(i * 2),
                |d| {
                    seen.push(d);
                    Ok(())
                },
            );
            assert_eq!(done, Ok(()));
            assert_eq!(seen, (0..n).map(|i| i * 2).collect::<Vec<_>>());

            let mut stored = 0;
            let failed = in_order(
                (0..n).collect(),
                |i| if i == 2 { Err(format!("item {i}")) } else { Ok(i) },
                |_| {
                    stored += 1;
                    Ok(())
                },
            );
            assert_eq!(failed, Err("item 2".to_owned()));
            assert_eq!(stored, 2, "nothing after the failed item is stored");
        }
    }
}
