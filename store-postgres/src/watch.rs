//! [`HeadWatch`]: the log's head as every node sees it, within a second of
//! a commit on any node, and a generation of the directory that moves when
//! anyone's rights shrink or change (ADR `docs/adr/0031-head-watch.md`).
//!
//! Each append notifies the channel [`HEAD_CHANNEL`] with the new head in
//! its transaction, so PostgreSQL delivers it at COMMIT (never for a
//! rolled-back append). A watcher holds a dedicated connection (not one of
//! the pool's) that LISTENs and polls its messages. Notifications are lost
//! while that connection is down, so after every (re)connect it LISTENs
//! first and then reads the head, and it also reads the head every
//! `poll_every` in case a notification went missing anyway. The head is
//! published on a `tokio::sync::watch` channel: live pushes wait on it.
//!
//! Directory writes that take rights away or change them (revoking a
//! device, deleting a user, a new role, teams or territories) notify
//! [`DIRECTORY_CHANNEL`]; the watcher counts them, and counts every
//! (re)connect too, since one may have been missed while disconnected: a
//! node drops its cached rules whenever the count moves.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::PgError;
use crate::log::PgLog;

/// The channel appends notify, with the new head as the payload.
pub(crate) const HEAD_CHANNEL: &str = "rapport_log";

/// The channel directory writes that change rights notify.
pub(crate) const DIRECTORY_CHANNEL: &str = "rapport_directory";

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
    directory: watch::Receiver<u64>,
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
        let (directory_tx, directory) = watch::channel(0);
        let channels = Channels { head: head_tx, connects: connects_tx, directory: directory_tx };
        let config = self.config();
        let task = self.spawn_handle(async move {
            let mut wait = RECONNECT_MIN;
            loop {
                match listen(&config, poll_every, &channels).await {
                    Ok(()) => wait = RECONNECT_MIN,
                    Err(e) => tracing::warn!(error = %e, "the head watcher lost its connection; reconnecting"),
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RECONNECT_MAX);
            }
        });
        HeadWatch { log: self.clone(), head, connects, directory, task }
    }
}

/// Where the watcher publishes what it learns.
struct Channels {
    head: watch::Sender<u64>,
    connects: watch::Sender<u64>,
    directory: watch::Sender<u64>,
}

/// What a notification said.
enum Notified {
    /// An append committed; the new head, if the payload parses.
    Head(Option<u64>),
    /// A directory write that changes rights committed.
    Directory,
}

/// One connection's life: LISTEN, read the head, then follow notifications
/// and poll until the connection ends.
async fn listen(config: &tokio_postgres::Config, poll_every: Duration, channels: &Channels) -> Result<(), PgError> {
    let Channels { head, connects, directory } = channels;
    let mut config = config.clone();
    config.application_name(WATCH_APPLICATION);
    let (client, mut connection) = config.connect(NoTls).await.map_err(PgError::statement)?;
    let (notified_tx, mut notified) = tokio::sync::mpsc::unbounded_channel::<Notified>();
    // The connection's messages must be polled for the client to work at all.
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let what = match n.channel() {
                        DIRECTORY_CHANNEL => Notified::Directory,
                        _ => Notified::Head(n.payload().parse().ok()),
                    };
                    let _ = notified_tx.send(what);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    let result = async {
        client.batch_execute(&format!("LISTEN {HEAD_CHANNEL}; LISTEN {DIRECTORY_CHANNEL}")).await?;
        // Anything committed while no connection listened is read now, and
        // a directory change may have been missed: cached rules are dropped.
        publish(head, read_head(&client).await?);
        directory.send_modify(|n| *n += 1);
        connects.send_modify(|n| *n += 1);
        let mut poll = tokio::time::interval(poll_every);
        poll.tick().await;
        loop {
            tokio::select! {
                message = notified.recv() => match message {
                    Some(Notified::Head(Some(new))) => publish(head, new),
                    Some(Notified::Head(None)) => publish(head, read_head(&client).await?),
                    Some(Notified::Directory) => directory.send_modify(|n| *n += 1),
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

    /// The directory's generation: it moves whenever someone's rights
    /// shrank or changed on any node, and on every reconnect. Rules cached
    /// at an older generation must be read again.
    pub fn directory_generation(&self) -> u64 {
        *self.directory.borrow()
    }

    /// A receiver of the directory's generation, for async code.
    pub fn directory_receiver(&self) -> watch::Receiver<u64> {
        self.directory.clone()
    }

    /// Blocks until the directory's generation is past `generation`, for at
    /// most `timeout`; returns whether it moved.
    pub fn wait_directory(&self, generation: u64, timeout: Duration) -> bool {
        let mut receiver = self.directory.clone();
        self.log
            .run(async move { tokio::time::timeout(timeout, receiver.wait_for(|n| *n > generation)).await.is_ok() })
            .unwrap_or(false)
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
