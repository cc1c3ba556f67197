//! [`HeadWatch`]: the log's head as every node sees it, within a second of
//! a commit on any node (ADR `docs/adr/0031-head-watch.md`).
//!
//! Each append notifies the channel [`HEAD_CHANNEL`] with the new head in
//! its transaction, so PostgreSQL delivers it at COMMIT (never for a
//! rolled-back append). A watcher holds a dedicated connection (not one of
//! the pool's) that LISTENs and polls its messages. Notifications are lost
//! while that connection is down, so after every (re)connect it LISTENs
//! first and then reads the head, and it also reads the head every
//! `poll_every` in case a notification went missing anyway. The head is
//! published on a `tokio::sync::watch` channel: live pushes wait on it.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::PgError;
use crate::log::PgLog;

/// The channel appends notify, with the new head as the payload.
pub(crate) const HEAD_CHANNEL: &str = "rapport_log";

/// The watcher connection's `application_name`, as `pg_stat_activity` shows it.
pub const WATCH_APPLICATION: &str = "rapport-head-watch";

/// First wait before reconnecting; doubled up to [`RECONNECT_MAX`].
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The log's head, kept current by a background task on the log's runtime.
/// Dropping it stops the task and closes its connection.
#[derive(Debug)]
pub struct HeadWatch {
    log: PgLog,
    head: watch::Receiver<u64>,
    connects: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Drop for HeadWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PgLog {
    /// Starts watching the head: LISTEN on a connection of its own, reading
    /// the head after each (re)connect and every `poll_every`.
    pub fn watch_head(&self, poll_every: Duration) -> HeadWatch {
        let (head_tx, head) = watch::channel(0);
        let (connects_tx, connects) = watch::channel(0);
        let config = self.config();
        let task = self.spawn_handle(async move {
            let mut wait = RECONNECT_MIN;
            loop {
                match listen(&config, poll_every, &head_tx, &connects_tx).await {
                    Ok(()) => wait = RECONNECT_MIN,
                    Err(e) => tracing::warn!(error = %e, "the head watcher lost its connection; reconnecting"),
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RECONNECT_MAX);
            }
        });
        HeadWatch { log: self.clone(), head, connects, task }
    }
}

/// One connection's life: LISTEN, read the head, then follow notifications
/// and poll until the connection ends.
async fn listen(
    config: &tokio_postgres::Config,
    poll_every: Duration,
    head: &watch::Sender<u64>,
    connects: &watch::Sender<u64>,
) -> Result<(), PgError> {
    let mut config = config.clone();
    config.application_name(WATCH_APPLICATION);
    let (client, mut connection) = config.connect(NoTls).await.map_err(PgError::statement)?;
    let (notified_tx, mut notified) = tokio::sync::mpsc::unbounded_channel::<Option<u64>>();
    // The connection's messages must be polled for the client to work at all.
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let _ = notified_tx.send(n.payload().parse().ok());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    let result = async {
        client.batch_execute(&format!("LISTEN {HEAD_CHANNEL}")).await?;
        // Anything committed while no connection listened is read now.
        publish(head, read_head(&client).await?);
        connects.send_modify(|n| *n += 1);
        let mut poll = tokio::time::interval(poll_every);
        poll.tick().await;
        loop {
            tokio::select! {
                message = notified.recv() => match message {
                    Some(Some(new)) => publish(head, new),
                    Some(None) => publish(head, read_head(&client).await?),
                    None => return Ok::<(), PgError>(()),
                },
                _ = poll.tick() => publish(head, read_head(&client).await?),
            }
        }
    }
    .await;
    driver.abort();
    result
}

async fn read_head(client: &Client) -> Result<u64, PgError> {
    let head: i64 = client.query_one("SELECT head FROM log_state WHERE id = 1", &[]).await?.get(0);
    u64::try_from(head).map_err(|_| PgError::Invalid { what: "log position" })
}

/// Publishes a head read or notified. Commits notify in position order, but
/// a read may race a notification: the head only moves forward here.
fn publish(head: &watch::Sender<u64>, new: u64) {
    head.send_if_modified(|current| {
        let moved = new > *current;
        if moved {
            *current = new;
        }
        moved
    });
}

impl HeadWatch {
    /// The newest head seen.
    pub fn head(&self) -> u64 {
        *self.head.borrow()
    }

    /// A receiver of the head, for async code (live pushes) on any runtime.
    pub fn receiver(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }

    /// How many times the watcher has connected and read the head.
    pub fn connects(&self) -> u64 {
        *self.connects.borrow()
    }

    /// Blocks until the head is at least `head`, for at most `timeout`;
    /// returns the head then, or `None` on timeout.
    pub fn wait_for(&self, head: u64, timeout: Duration) -> Option<u64> {
        let mut receiver = self.head.clone();
        self.log
            .run(async move {
                tokio::time::timeout(timeout, receiver.wait_for(|h| *h >= head)).await.ok()?.ok().map(|h| *h)
            })
            .ok()
            .flatten()
    }

    /// Blocks until the watcher has connected more than `count` times, for
    /// at most `timeout`; returns whether it did.
    pub fn wait_connects(&self, count: u64, timeout: Duration) -> bool {
        let mut receiver = self.connects.clone();
        self.log
            .run(async move { tokio::time::timeout(timeout, receiver.wait_for(|n| *n > count)).await.is_ok() })
            .unwrap_or(false)
    }
}
