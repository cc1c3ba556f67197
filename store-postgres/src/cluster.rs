//! Throwaway PostgreSQL databases for tests.
//!
//! [`TestDatabase::create`] gives each test an empty database, and removes
//! it when dropped:
//!
//! * with `RAPPORT_TEST_PG_URL` set (a superuser's URL of an existing
//!   cluster), a new database `rapport_test_<uuid>` in that cluster;
//! * otherwise a new cluster made with Debian's `initdb` and `postgres`
//!   (`/usr/lib/postgresql/<version>/bin`, the newest; or the directory in
//!   `RAPPORT_PG_BIN`), in a temporary directory, listening on a free port
//!   of 127.0.0.1 only, with trust authentication.
//!
//! PostgreSQL refuses to run as root: as root, the cluster's commands run as
//! the unprivileged user `nobody` (through `setpriv`, from util-linux, part
//! of every Debian system) and the temporary directory is handed to it.
//! When no PostgreSQL can be had, `create` returns an error saying how to
//! install one: a test that needs PostgreSQL fails, it never skips.
//!
//! [`ReplicatedPair`] makes two such clusters, a primary and its synchronous
//! standby, for failover tests (always its own, whatever `RAPPORT_TEST_PG_URL` says).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use rapport_server_store::report_rows::Cell;
use tempfile::TempDir;
use tokio_postgres::types::Type;

mod replicated;
pub use replicated::ReplicatedPair;

/// Why no test database could be had.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL's initdb, postgres and pg_isready were not found; install Debian's postgresql \
         (scripts/install-test-deps.sh does), set RAPPORT_PG_BIN to their directory, \
         or set RAPPORT_TEST_PG_URL to an existing cluster"
    )]
    NotInstalled,
    #[error("cannot prepare the cluster's directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("{command} failed ({status}): {stderr}")]
    Command { command: &'static str, status: String, stderr: String },
    #[error("cannot reach the PostgreSQL cluster of RAPPORT_TEST_PG_URL: {0}")]
    Shared(#[source] tokio_postgres::Error),
    #[error(
        "PostgreSQL's {tool} was not found in {dir}; install Debian's postgresql \
         (its postgresql-client holds pg_basebackup), or set RAPPORT_PG_BIN"
    )]
    MissingTool { tool: &'static str, dir: String },
    #[error("cannot query the test cluster on port {port}: {source}")]
    Query { port: u16, source: tokio_postgres::Error },
    #[error("the test cluster on port {port} did not {what} within {seconds} s; its log: {log}")]
    Timeout { port: u16, what: &'static str, seconds: u64, log: String },
}

/// An empty database, dropped (with its cluster, if made for it) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    owner: Owner,
}

#[derive(Debug)]
enum Owner {
    Cluster(Cluster),
    Shared { admin_url: String, name: String },
}

impl TestDatabase {
    /// A new empty database: in the cluster of `RAPPORT_TEST_PG_URL`, or in
    /// a new throwaway cluster.
    pub fn create() -> Result<TestDatabase, ClusterError> {
        match std::env::var("RAPPORT_TEST_PG_URL") {
            Ok(admin_url) if !admin_url.is_empty() => shared(admin_url),
            _ => {
                let cluster = Cluster::start()?;
                let url = format!("postgres://rapport@127.0.0.1:{}/postgres", cluster.port);
                Ok(TestDatabase { url, owner: Owner::Cluster(cluster) })
            }
        }
    }

    /// Its connection string.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs statements on a connection of their own (to stage a database
    /// state a test needs).
    pub fn execute(&self, sql: &str) -> Result<(), ClusterError> {
        admin(&self.url, sql)
    }

    /// The one `bigint` a query answers, on a connection of its own (to
    /// look at the database from outside the log under test).
    pub fn query_i64(&self, sql: &str) -> Result<i64, ClusterError> {
        on_connection(&self.url, |client| async move { Ok(client.query_one(sql, &[]).await?.get(0)) })
    }
}

impl TestDatabase {
    /// Every row a query answers, as the reporting index's cells (a
    /// `boolean` as a flag, an integer as an integer, text as text; no
    /// other type), on a connection of its own.
    pub fn query_cells(&self, sql: &str) -> Result<Vec<Vec<Cell>>, ClusterError> {
        on_connection(&self.url, |client| async move {
            let rows = client.query(sql, &[]).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut cells = Vec::with_capacity(row.len());
                for (i, column) in row.columns().iter().enumerate() {
                    let ty = column.type_();
                    cells.push(if *ty == Type::BOOL {
                        row.get::<_, Option<bool>>(i).map_or(Cell::Null, Cell::Flag)
                    } else if *ty == Type::INT8 {
                        row.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int)
                    } else {
                        row.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text)
                    });
                }
                out.push(cells);
            }
            Ok(out)
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &mut self.owner {
            Owner::Cluster(cluster) => cluster.stop(),
            Owner::Shared { admin_url, name } => {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = admin(admin_url, &sql) {
                    eprintln!("cannot drop the test database {name}: {e}");
                }
            }
        }
    }
}

fn shared(admin_url: String) -> Result<TestDatabase, ClusterError> {
    let name = format!("rapport_test_{}", uuid::Uuid::new_v4().simple());
    admin(&admin_url, &format!("CREATE DATABASE {name}"))?;
    let mut config: tokio_postgres::Config = admin_url.parse().map_err(ClusterError::Shared)?;
    config.dbname(&name);
    let url = url_of(&config, &name);
    Ok(TestDatabase { url, owner: Owner::Shared { admin_url, name } })
}

/// A connection string for `config` with `dbname`, in key=value form (any host kind).
fn url_of(config: &tokio_postgres::Config, dbname: &str) -> String {
    let mut parts = vec![format!("dbname={}", quoted(dbname))];
    if let Some(user) = config.get_user() {
        parts.push(format!("user={}", quoted(user)));
    }
    if let Some(password) = config.get_password() {
        parts.push(format!("password={}", quoted(&String::from_utf8_lossy(password))));
    }
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if !hosts.is_empty() {
        parts.push(format!("host={}", quoted(&hosts.join(","))));
    }
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    if !ports.is_empty() {
        parts.push(format!("port={}", ports.join(",")));
    }
    parts.join(" ")
}

/// A key=value value in single quotes, with `\\` and `'` escaped.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Runs one statement on the cluster of `url`.
fn admin(url: &str, sql: &str) -> Result<(), ClusterError> {
    on_connection(url, |client| async move { client.batch_execute(sql).await })
}

/// Runs `work` on a connection of its own to `url`, then closes it.
fn on_connection<T, F>(url: &str, work: impl FnOnce(tokio_postgres::Client) -> F) -> Result<T, ClusterError>
where
    F: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.map_err(ClusterError::Shared)?;
        let driver = tokio::spawn(connection);
        // `work` owns the client and drops it when done, which ends the connection.
        let done = work(client).await.map_err(ClusterError::Shared);
        let _ = driver.await;
        done
    })
}

/// A cluster in a temporary directory, stopped and deleted on drop.
///
/// `postgres` runs as this process's child under `setpriv --pdeathsig
/// QUIT`: should the test process die without dropping it (killed, or a
/// panic that aborts), the kernel sends PostgreSQL its immediate-shutdown
/// signal, so no server outlives the tests. (Only its directory is then
/// left in the temporary directory.) The kernel sends that signal when the
/// *thread* that started the cluster ends: a cluster must not outlive the
/// thread that made it (a test's own thread, as `TestDatabase::create` does).
#[derive(Debug)]
struct Cluster {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
    /// The unprivileged user and group the cluster runs as, when we are root.
    run_as: Option<(u32, u32)>,
    postgres: Option<Child>,
}

/// Attempts at finding a free port (another process may take the one found).
const PORT_ATTEMPTS: usize = 5;
/// How long a new cluster may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl Cluster {
    fn start() -> Result<Cluster, ClusterError> {
        let mut cluster = Cluster::prepare()?;
        cluster.init()?;
        cluster.listen()?;
        Ok(cluster)
    }

    /// A cluster with no data directory yet, in a new temporary directory
    /// the unprivileged user owns.
    fn prepare() -> Result<Cluster, ClusterError> {
        let bin = binaries().ok_or(ClusterError::NotInstalled)?;
        let dir = tempfile::Builder::new().prefix("rapport-pg-").tempdir()?;
        let run_as = if rustix::process::geteuid().is_root() { Some(nobody()) } else { None };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        Ok(Cluster { bin, dir, port: 0, run_as, postgres: None })
    }

    /// Makes a new data directory with `initdb` (superuser `rapport`, trust authentication).
    fn init(&self) -> Result<(), ClusterError> {
        let initdb = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", "rapport", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"])
            .output()?;
        self.check("initdb", &initdb)
    }

    /// Starts `postgres` on a free port of 127.0.0.1.
    fn listen(&mut self) -> Result<(), ClusterError> {
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            match self.serve(port) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(ClusterError::NotInstalled))
    }

    /// Starts `postgres` on `port` and waits until it accepts connections.
    fn serve(&mut self, port: u16) -> Result<(), ClusterError> {
        let log = std::fs::File::create(self.log())?;
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100"])
            .stdout(log.try_clone()?)
            .stderr(log);
        let mut child = command.spawn()?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(ClusterError::Command {
                    command: "postgres",
                    status: status.to_string(),
                    stderr: self.log_text(),
                });
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "rapport", "-d", "postgres"])
                .status()?;
            if ready.success() {
                self.port = port;
                self.postgres = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ClusterError::Command {
                    command: "postgres",
                    status: "not ready in time".into(),
                    stderr: self.log_text(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// One of the cluster's programs, run as the unprivileged user when we
    /// are root, in the cluster's directory (the user may not be able to
    /// enter the current one), and stopped with SIGQUIT if we die.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new("setpriv");
        if let Some((uid, gid)) = self.run_as {
            command.arg(format!("--reuid={uid}")).arg(format!("--regid={gid}")).arg("--clear-groups");
        }
        command.args(["--pdeathsig", "QUIT", "--"]).arg(self.bin.join(program)).current_dir(self.dir.path());
        command
    }

    fn check(&self, command: &'static str, output: &Output) -> Result<(), ClusterError> {
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        Err(ClusterError::Command { command, status: output.status.to_string(), stderr })
    }

    /// Immediate shutdown (SIGQUIT): nothing in a throwaway cluster is worth a checkpoint.
    fn stop(&mut self) {
        let Some(mut postgres) = self.postgres.take() else { return };
        let pid = rustix::process::Pid::from_child(&postgres);
        if let Err(e) = rustix::process::kill_process(pid, rustix::process::Signal::QUIT) {
            eprintln!("cannot stop the test cluster: {e}");
            let _ = postgres.kill();
        }
        let _ = postgres.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The directory of `initdb`, `postgres` and `pg_isready`.
fn binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RAPPORT_PG_BIN") {
        let bin = PathBuf::from(dir);
        return has_tools(&bin).then_some(bin);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| has_tools(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn has_tools(bin: &Path) -> bool {
    ["initdb", "postgres", "pg_isready"].iter().all(|tool| bin.join(tool).is_file())
}

/// The uid and gid of `nobody` (65534 on Debian if it cannot be read).
fn nobody() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"nobody") && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .unwrap_or((65534, 65534))
}

#[cfg(test)]
mod tests {
    use super::url_of;

    /// The connection string of a shared cluster's test database keeps every
    /// part of the administrator's URL, whatever characters they hold.
    #[test]
    fn a_test_database_url_parses_back() {
        let admin: tokio_postgres::Config =
            "postgres://o%27neil:p%20a%5Css@db.example:6543,10.0.0.2:6544/postgres".parse().expect("a URL");
        let url = url_of(&admin, "rapport_test_1");
        let back: tokio_postgres::Config = url.parse().expect("the test database's URL parses");
        assert_eq!(back.get_dbname(), Some("rapport_test_1"));
        assert_eq!(back.get_user(), Some("o'neil"));
        assert_eq!(back.get_password(), Some(&b"p a\\ss"[..]));
        assert_eq!(back.get_hosts(), admin.get_hosts());
        assert_eq!(back.get_ports(), [6543, 6544]);
    }
}
