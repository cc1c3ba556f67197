//! Server CPU per accepted change and per pulled document on each backend
//! (issue 15).
//!
//! One device pushes single edits, one sync request each, through each
//! backend's request handling as a node runs it, without HTTP: the SQLite
//! server's `LogFile::sync` (one transaction per request, `synchronous =
//! FULL`) and PostgreSQL's `PgLog::sync_request` (one transaction per
//! request; no group commit at this level). Each request is the whole
//! protocol: the access rules, the actor binding, the change logged and
//! audited, the scope index, the reporting rows and the late-edits index
//! (on SQLite these two are left to the database thread; the bench writes
//! them after each request, a second commit, so each change pays its own).
//!
//! Two kinds of edit: a rename (a field the reports read: the account's
//! reporting rows are rewritten) and an industry (no report reads it: the
//! rows' digest skips the rewrite). The anchor, in the same run and the
//! same database, is one `INSERT` of the change's bytes and a `COMMIT` per
//! change, sequential. Per accepted change it reports the wall time, the
//! CPU of this process while the backend handled the request (the node's
//! CPU, all threads: `CLOCK_PROCESS_CPUTIME_ID`), and for PostgreSQL the
//! CPU of the `postgres` processes (`/proc/*/schedstat`; every such process
//! on the machine counts, so run it on a quiet one).
//!
//! **Per pulled document**: a second device of the same user, fresh, pulls
//! every account in as many requests as the limits ask; the same costs are
//! measured over the backend's handling of those requests and divided by
//! the documents pulled. The anchor reads every stored change row of the
//! same log in one query (`SELECT doc_id, bytes FROM changes`), the least a
//! pull must read.
//!
//! * `cargo bench -p rapport-server --bench append`: 1,000 changes per row.
//! * `RAPPORT_BENCH_CHANGES=N` sets the changes per row.
//! * Needs PostgreSQL like the tests: a throwaway cluster from Debian's
//!   binaries, or the cluster of `RAPPORT_TEST_PG_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rapport_core::sync::{SyncRequest, SyncResponse};
use rapport_core::{
    AccountId, DeviceIdentity, InteractionKind, Money, NewAccount, NewDeal, NewInteraction, Replica, SyncLimits,
};
use rapport_server::db::LogFile;
use rapport_server_store::{DirectoryStore, Principal, TokenHash, UserChange};
use rapport_store_postgres::cluster::TestDatabase;
use rapport_store_postgres::{PgLog, PgOptions};
use rustix::time::{ClockId, clock_gettime};

/// Accounts the device edits in turn.
const ACCOUNTS: usize = 50;

/// Handles one sync request as a node does.
trait Backend {
    fn name(&self) -> &'static str;
    fn sync(&mut self, principal: &Principal, request: &SyncRequest) -> SyncResponse;
    /// One `INSERT` of `bytes` and a `COMMIT`, into the anchor's own table.
    fn anchor(&mut self, bytes: &[u8]);
    /// CPU of the database server's processes, if it has its own.
    fn server_cpu(&self) -> Option<Duration>;
    /// Reads every stored change row: (rows, bytes).
    fn read_log(&mut self) -> (usize, usize);
    /// A fresh device of the user `device` belongs to.
    fn second_device(&self, user: &str) -> Device;
}

struct Sqlite {
    log: LogFile,
    anchor: rusqlite::Connection,
    /// A second connection to the log's file, for the pull's anchor.
    reader: rusqlite::Connection,
}

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "SQLite"
    }

    /// The request, then the reporting and late-edits rows it left to the
    /// database thread (written later there, once per burst; here at once,
    /// so every change pays for its own).
    fn sync(&mut self, principal: &Principal, request: &SyncRequest) -> SyncResponse {
        let response = self.log.sync(principal, request, 1 << 24).expect("the request succeeds");
        self.log.refresh_reports().expect("the deferred rows are written");
        response
    }

    fn anchor(&mut self, bytes: &[u8]) {
        let tx = self.anchor.transaction().unwrap();
        tx.execute("INSERT INTO anchor (bytes) VALUES (?1)", [bytes]).unwrap();
        tx.commit().unwrap();
    }

    fn server_cpu(&self) -> Option<Duration> {
        None
    }

    fn read_log(&mut self) -> (usize, usize) {
        let mut statement = self.reader.prepare("SELECT doc_id, bytes FROM changes").unwrap();
        let mut rows = statement.query([]).unwrap();
        let (mut n, mut bytes) = (0, 0);
        while let Some(row) = rows.next().unwrap() {
            let _doc: String = row.get(0).unwrap();
            bytes += row.get_ref(1).unwrap().as_blob().unwrap().len();
            n += 1;
        }
        (n, bytes)
    }

    fn second_device(&self, user: &str) -> Device {
        fresh_device(&self.log.directory(), user)
    }
}

struct Postgres {
    log: PgLog,
    _db: TestDatabase,
    anchor: postgres_anchor::Anchor,
}

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "PostgreSQL"
    }

    fn sync(&mut self, principal: &Principal, request: &SyncRequest) -> SyncResponse {
        self.log.sync_request(principal, request, 1 << 24).expect("the request succeeds").0
    }

    fn anchor(&mut self, bytes: &[u8]) {
        self.anchor.insert(bytes);
    }

    fn server_cpu(&self) -> Option<Duration> {
        Some(postgres_cpu())
    }

    fn read_log(&mut self) -> (usize, usize) {
        self.anchor.read_log()
    }

    fn second_device(&self, user: &str) -> Device {
        fresh_device(&self.log.directory(), user)
    }
}

/// The anchor's connection to PostgreSQL: a plain client on a runtime of its own.
mod postgres_anchor {
    pub struct Anchor {
        runtime: tokio::runtime::Runtime,
        client: tokio_postgres::Client,
    }

    impl Anchor {
        pub fn connect(url: &str) -> Anchor {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let client = runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                client
                    .batch_execute("CREATE TABLE anchor (seq bigserial PRIMARY KEY, bytes bytea NOT NULL)")
                    .await
                    .unwrap();
                client
            });
            Anchor { runtime, client }
        }

        pub fn read_log(&mut self) -> (usize, usize) {
            self.runtime.block_on(async {
                let rows = self.client.query("SELECT doc_id, bytes FROM changes", &[]).await.unwrap();
                (rows.len(), rows.iter().map(|r| r.get::<_, &[u8]>(1).len()).sum())
            })
        }

        pub fn insert(&mut self, bytes: &[u8]) {
            self.runtime.block_on(async {
                self.client.batch_execute("BEGIN").await.unwrap();
                self.client.execute("INSERT INTO anchor (bytes) VALUES ($1)", &[&bytes]).await.unwrap();
                self.client.batch_execute("COMMIT").await.unwrap();
            });
        }
    }
}

/// Time on a CPU of every `postgres` process now running (`/proc/PID/schedstat`, nanoseconds).
fn postgres_cpu() -> Duration {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let path = entry.path();
        let is_postgres = std::fs::read_to_string(path.join("comm")).is_ok_and(|c| c.trim() == "postgres");
        if is_postgres && let Ok(stat) = std::fs::read_to_string(path.join("schedstat")) {
            total += stat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Duration::from_nanos(total)
}

fn process_cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The device: an office user's replica with its accounts.
struct Device {
    principal: Principal,
    replica: Replica,
    accounts: Vec<AccountId>,
    _dir: tempfile::TempDir,
}

fn device(directory: &impl DirectoryStore) -> Device {
    let none = UserChange { role: None, teams: None, territories: None };
    let created = directory.add_user("Ірина", "office", &none, "desktop").expect("a user is added");
    let principal = directory.authenticate(&TokenHash::of(&created.token)).unwrap().expect("the token is known");
    let dir = tempfile::tempdir().unwrap();
    let replica = Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new("Ірина", "desktop")).unwrap();
    Device { principal, replica, accounts: Vec::new(), _dir: dir }
}

/// Another device of `user`, holding nothing yet.
fn fresh_device(directory: &impl DirectoryStore, user: &str) -> Device {
    let created = directory.add_device(user, "phone").expect("a device is added");
    let principal = directory.authenticate(&TokenHash::of(&created.token)).unwrap().expect("the token is known");
    let dir = tempfile::tempdir().unwrap();
    let replica = Replica::open(dir.path().join("replica.db"), &DeviceIdentity::new(user, "phone")).unwrap();
    Device { principal, replica, accounts: Vec::new(), _dir: dir }
}

/// A fresh device pulls everything; the costs of the backend's handling
/// per document pulled, and the anchor's (one read of the whole log) per
/// document.
fn pull(backend: &mut dyn Backend, documents: usize) -> (Cost, Cost) {
    let mut fresh = backend.second_device("Ірина");
    let mut spent = Spent::default();
    loop {
        let (request, plan) = fresh.replica.sync_request(SyncLimits::default()).unwrap();
        let response = spent.time(backend, |b| b.sync(&fresh.principal, &request));
        let report = fresh.replica.sync_apply(&plan, &response).unwrap();
        if !report.more {
            break;
        }
    }
    assert_eq!(fresh.replica.account_ids().unwrap().len(), documents, "every account pulled");
    let ours = spent.per(backend, documents);
    let mut read = Spent::default();
    let (rows, _) = read.time(backend, |b| b.read_log());
    assert!(rows >= documents);
    (ours, read.per(backend, documents))
}

fn sync(backend: &mut dyn Backend, device: &mut Device) {
    loop {
        let (request, plan) = device.replica.sync_request(SyncLimits::default()).unwrap();
        let response = backend.sync(&device.principal, &request);
        let report = device.replica.sync_apply(&plan, &response).unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        if !report.more && device.replica.unsynced_count().unwrap() == 0 {
            return;
        }
    }
}

/// Accounts with a deal and a held call each, pushed (not timed).
fn seed(backend: &mut dyn Backend, device: &mut Device) {
    for i in 0..ACCOUNTS {
        let mut new = NewAccount::new(format!("Київ Агро {i}"));
        new.team = Some("північ".into());
        new.territory = Some("Київ".into());
        let id = device.replica.create_account(&new).unwrap();
        device
            .replica
            .edit(id, |e| e.add_deal(&NewDeal::new("Котельня", Money::new(125_000, "UAH").unwrap())).map(|_| ()))
            .unwrap();
        device
            .replica
            .edit(id, |e| e.log_interaction(&NewInteraction::new(InteractionKind::Call, "Дзвінок")).map(|_| ()))
            .unwrap();
        device.accounts.push(id);
    }
    sync(backend, device);
}

/// Per accepted change: wall time, this process's CPU, the database server's CPU.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: Duration,
    node: Duration,
    server: Option<Duration>,
}

impl Cost {
    fn show(&self) -> String {
        let server = self.server.map_or("—".to_owned(), |s| format!("{} µs", s.as_micros()));
        format!("{} µs wall, {} µs node CPU, {server} database CPU", self.wall.as_micros(), self.node.as_micros())
    }
}

/// Sums of the costs of the backend's handling of requests.
#[derive(Default)]
struct Spent {
    wall: Duration,
    node: Duration,
    server: Duration,
}

impl Spent {
    /// Runs `work` on the backend, adding up its wall time, this process's
    /// CPU and the database server's.
    fn time<T>(&mut self, backend: &mut dyn Backend, work: impl FnOnce(&mut dyn Backend) -> T) -> T {
        // Read outside the node's measured CPU: scanning /proc costs more than a request.
        let pg0 = backend.server_cpu();
        let (cpu0, t0) = (process_cpu(), Instant::now());
        let out = work(&mut *backend);
        self.wall += t0.elapsed();
        self.node += process_cpu() - cpu0;
        if let (Some(before), Some(after)) = (pg0, backend.server_cpu()) {
            self.server += after - before;
        }
        out
    }

    /// Per unit, of `n`.
    fn per(&self, backend: &dyn Backend, n: usize) -> Cost {
        let n = n as u32;
        Cost { wall: self.wall / n, node: self.node / n, server: backend.server_cpu().map(|_| self.server / n) }
    }
}

/// Pushes `n` single edits, each in its own sync request; only the backend's handling is timed.
fn edits(backend: &mut dyn Backend, device: &mut Device, n: usize, field: &str) -> (Cost, Vec<Vec<u8>>) {
    let mut spent = Spent::default();
    let mut bytes = Vec::with_capacity(n);
    for i in 0..n {
        let id = device.accounts[i % device.accounts.len()];
        let value = format!("{} {i}", if field == "party.name" { "Київ Агро" } else { "Енергетика" });
        device.replica.edit(id, |e| e.set_field(field, &value)).unwrap();
        let (request, plan) = device.replica.sync_request(SyncLimits::default()).unwrap();
        bytes.push(request.push.iter().flat_map(|d| d.changes.iter()).next().cloned().expect("one change pushed"));
        let response = spent.time(backend, |b| b.sync(&device.principal, &request));
        let report = device.replica.sync_apply(&plan, &response).unwrap();
        assert!(report.rejected.is_empty() && !report.more, "{report:?}");
    }
    (spent.per(backend, n), bytes)
}

/// The anchor: one INSERT and COMMIT per change, sequential.
fn anchor(backend: &mut dyn Backend, bytes: &[Vec<u8>]) -> Cost {
    let mut spent = Spent::default();
    spent.time(backend, |b| {
        for change in bytes {
            b.anchor(change);
        }
    });
    spent.per(backend, bytes.len())
}

fn measure(backend: &mut dyn Backend, device: &mut Device, n: usize) {
    seed(backend, device);
    for (field, what) in [("party.name", "rename (rows rewritten)"), ("party.industry", "industry (digest skip)")] {
        let (ours, bytes) = edits(backend, device, n, field);
        let base = anchor(backend, &bytes);
        let ratio = ours.wall.as_secs_f64() / base.wall.as_secs_f64();
        println!("{:<10} {what:<24} ours: {}", backend.name(), ours.show());
        println!("{:<10} {:<24} anchor: {}", "", "", base.show());
        println!("{:<10} {:<24} wall ratio {ratio:.2}×", "", "");
    }
    let (ours, base) = pull(backend, device.accounts.len());
    let ratio = ours.wall.as_secs_f64() / base.wall.as_secs_f64();
    println!("{:<10} {:<24} ours: {}", backend.name(), "per pulled document", ours.show());
    println!("{:<10} {:<24} anchor: {} (one read of every change row)", "", "", base.show());
    println!("{:<10} {:<24} wall ratio {ratio:.2}×", "", "");
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("RAPPORT_BENCH_CHANGES").ok().and_then(|v| v.parse().ok()).unwrap_or(if bench {
        1000
    } else {
        20
    });

    let dir = tempfile::tempdir().unwrap();
    let log = LogFile::open(&dir.path().join("rapport.db")).unwrap();
    let anchor = rusqlite::Connection::open(dir.path().join("anchor.db")).unwrap();
    anchor
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE anchor (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL);",
        )
        .unwrap();
    let reader = rusqlite::Connection::open(dir.path().join("rapport.db")).unwrap();
    let mut sqlite = Sqlite { log, anchor, reader };
    let mut device_s = device(&sqlite.log.directory());
    measure(&mut sqlite, &mut device_s, n);

    let db = TestDatabase::create().unwrap_or_else(|e| panic!("no PostgreSQL for the benchmark: {e}"));
    let log = PgLog::connect(db.url(), PgOptions::default()).unwrap();
    let anchor = postgres_anchor::Anchor::connect(db.url());
    let mut postgres = Postgres { log, _db: db, anchor };
    let mut device_p = device(&postgres.log.directory());
    measure(&mut postgres, &mut device_p, n);
}
