//! A primary with a synchronous standby, for failover tests (ADR
//! `docs/adr/0025-postgres-failover.md`).
//!
//! [`ReplicatedPair::start`] makes a primary (`wal_level=replica`,
//! `synchronous_commit=on`, `synchronous_standby_names` naming the standby)
//! and a standby copied from it with `pg_basebackup -R` that streams from it
//! under the `application_name` the primary waits for; it returns once the
//! primary reports the standby `streaming` and `sync` in
//! `pg_stat_replication`. A test then stops the primary the hard way
//! ([`ReplicatedPair::kill_primary`], `pg_ctl stop -m immediate`) and
//! promotes the standby ([`ReplicatedPair::promote_standby`]). Both are
//! throwaway clusters of [`super::Cluster`] (Debian's binaries, as `nobody`
//! when root, free ports of 127.0.0.1), whatever `RAPPORT_TEST_PG_URL` says:
//! a shared cluster cannot be killed.

use std::time::{Duration, Instant};

use super::{Cluster, ClusterError};

/// The `application_name` the standby streams under, and the primary's
/// `synchronous_standby_names`.
pub const STANDBY_NAME: &str = "rapport_standby";

/// How long the standby may take to catch up, or to leave recovery.
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(30);

/// A primary and its synchronous standby; both stopped and deleted on drop.
/// Like a [`super::TestDatabase`], it must not outlive the thread that made it.
#[derive(Debug)]
pub struct ReplicatedPair {
    primary: Cluster,
    standby: Cluster,
}

impl ReplicatedPair {
    /// Starts both and waits until the standby is streaming and synchronous.
    pub fn start() -> Result<ReplicatedPair, ClusterError> {
        let mut primary = Cluster::prepare()?;
        for tool in ["pg_ctl", "pg_basebackup"] {
            if !primary.bin.join(tool).is_file() {
                return Err(ClusterError::MissingTool { tool, dir: primary.bin.display().to_string() });
            }
        }
        primary.init()?;
        // In postgresql.conf, not on the command line, so that ALTER SYSTEM
        // (postgresql.auto.conf) can still change them, as an operator would.
        append(
            &primary.data().join("postgresql.conf"),
            &format!(
                "wal_level = replica\nmax_wal_senders = 4\nsynchronous_commit = on\n\
                 synchronous_standby_names = '{STANDBY_NAME}'\n"
            ),
        )?;
        primary.listen()?;

        let standby = Cluster::prepare()?;
        let backup = standby
            .command("pg_basebackup")
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string(), "-U", "rapport", "-D"])
            .arg(standby.data())
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"])
            .output()?;
        standby.check("pg_basebackup", &backup)?;
        // After -R's own lines (the last one wins): where it streams from,
        // under the name the primary waits for; and, once promoted, no
        // synchronous standby of its own until an operator attaches one
        // (it would otherwise wait for itself).
        append(
            &standby.data().join("postgresql.auto.conf"),
            &format!(
                "primary_conninfo = 'host=127.0.0.1 port={} user=rapport application_name={STANDBY_NAME}'\n\
                 synchronous_standby_names = ''\n",
                primary.port
            ),
        )?;
        let mut pair = ReplicatedPair { primary, standby };
        pair.standby.listen()?;
        pair.wait_for(
            pair.primary.port,
            "report the standby streaming and synchronous",
            &format!(
                "SELECT state = 'streaming' AND sync_state = 'sync' FROM pg_stat_replication \
                 WHERE application_name = '{STANDBY_NAME}'"
            ),
        )?;
        Ok(pair)
    }

    /// The URL a node is given: both hosts, and only a read-write session accepted.
    pub fn url(&self) -> String {
        format!(
            "postgres://rapport@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write",
            self.primary.port, self.standby.port
        )
    }

    /// The primary's port (nothing listens there once it is killed).
    pub fn primary_port(&self) -> u16 {
        self.primary.port
    }

    /// The standby's port (the primary's, once promoted).
    pub fn standby_port(&self) -> u16 {
        self.standby.port
    }

    /// A URL of one of the two, for administration (any session).
    pub fn url_of(port: u16) -> String {
        format!("postgres://rapport@127.0.0.1:{port}/postgres")
    }

    /// Stops the primary as a crash would: `pg_ctl stop -m immediate`
    /// (no checkpoint, connections cut, nothing more sent to the standby).
    pub fn kill_primary(&mut self) -> Result<(), ClusterError> {
        let stop = self
            .primary
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.primary.data())
            .args(["-m", "immediate", "-w"])
            .output()?;
        self.primary.check("pg_ctl stop", &stop)?;
        if let Some(mut postgres) = self.primary.postgres.take() {
            postgres.wait()?;
        }
        Ok(())
    }

    /// Promotes the standby (`pg_ctl promote`) and waits until it accepts
    /// writes (`pg_is_in_recovery()` is false).
    pub fn promote_standby(&mut self) -> Result<(), ClusterError> {
        let promote = self
            .standby
            .command("pg_ctl")
            .arg("promote")
            .arg("-D")
            .arg(self.standby.data())
            .args(["-w", "-t", &REPLICATION_TIMEOUT.as_secs().to_string()])
            .output()?;
        self.standby.check("pg_ctl promote", &promote)?;
        self.wait_for(self.standby.port, "leave recovery", "SELECT NOT pg_is_in_recovery()")
    }

    /// Polls `sql` (one boolean) on the cluster at `port` until it is true.
    fn wait_for(&self, port: u16, what: &'static str, sql: &str) -> Result<(), ClusterError> {
        let deadline = Instant::now() + REPLICATION_TIMEOUT;
        loop {
            if query(port, sql)?.as_deref() == Some("t") {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = if port == self.primary.port { &self.primary } else { &self.standby };
                return Err(ClusterError::Timeout {
                    port,
                    what,
                    seconds: REPLICATION_TIMEOUT.as_secs(),
                    log: log.log_text(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Appends `lines` to the configuration file at `path` (owned by the cluster's user).
fn append(path: &std::path::Path, lines: &str) -> Result<(), ClusterError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(lines.as_bytes())?;
    Ok(())
}

/// The first column of the first row `sql` answers on the cluster at `port`, as text.
fn query(port: u16, sql: &str) -> Result<Option<String>, ClusterError> {
    let failed = |source| ClusterError::Query { port, source };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&ReplicatedPair::url_of(port), tokio_postgres::NoTls).await.map_err(failed)?;
        let driver = tokio::spawn(connection);
        let answer = client.simple_query(sql).await.map_err(failed);
        drop(client);
        let _ = driver.await;
        Ok(answer?.iter().find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        }))
    })
}
