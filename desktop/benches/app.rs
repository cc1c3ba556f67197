//! The desktop app's endpoints at 10,000 accounts, each against a bare-SQL
//! anchor in the same run (issue 14): the list (`GET /api/accounts`, the
//! first 200 by name), a stemmed search (`GET /api/accounts?q=…` with a word
//! form the names do not contain) and the account card
//! (`GET /api/accounts/{id}`).
//!
//! Ours is the whole request: HTTP on 127.0.0.1, the session and host checks,
//! the replica, the JSON. The anchors run on the same replica file through
//! bare rusqlite: the same SQL (list and search) read column by column and
//! written as JSON, and for the card the document's stored bytes loaded with
//! Automerge, which is what the card is made from. The ratio is printed per row.
//!
//! `cargo bench -p rapport-desktop --bench app` (RAPPORT_BENCH_ACCOUNTS to
//! change the 10,000; RAPPORT_BENCH_REPS the 21 repetitions per row).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use automerge::AutoCommit;
use rapport_client::Client;
use rapport_core::replica::SUMMARY_SELECT as SUMMARY_SQL;
use rapport_core::{AccountId, Address, DeviceIdentity, Editor, Money, NewAccount, NewContact, NewDeal, Replica};
use rapport_desktop::AppOptions;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

/// Words a stemmed search must find in other forms: «Ромашки» finds «Ромашка».
const STEMMED: &str = "Ромашки";
const LIST_LIMIT: u32 = 200;
fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// 10,000 accounts with Ukrainian names, a city, an owner, a contact and a deal.
fn fill(replica: &mut Replica, n: usize) -> Vec<AccountId> {
    const WORDS: [&str; 5] = ["Ромашка", "Сонях", "Берізка", "Калина", "Лелека"];
    const CITIES: [&str; 4] = ["Київ", "Львів", "Одеса", "Харків"];
    let mut ids = Vec::with_capacity(n);
    for start in (0..n).step_by(500) {
        let batch: Vec<NewAccount> = (start..(start + 500).min(n))
            .map(|i| {
                let mut a = NewAccount::new(format!("ТОВ «{} {i}»", WORDS[i % WORDS.len()]));
                a.owner = Some(format!("rep{}", i % 40));
                a.territory = Some(format!("region{}", i % 8));
                a.address = Address { city: Some(CITIES[i % CITIES.len()].into()), ..Address::default() };
                a
            })
            .collect();
        let created = replica.create_accounts(&batch).unwrap();
        let edits = created.iter().enumerate().map(|(k, id)| {
            let i = start + k;
            (*id, move |e: &mut Editor<'_>| {
                e.add_contact(&NewContact {
                    name: format!("Олена Петренко {i}"), ..NewContact::default()
                })?;
                e.add_deal(&NewDeal::new(format!("Постачання {i}"), Money::new(100_000 + i as i64, "UAH")?))?;
                Ok(())
            })
        });
        replica.edit_each(edits).unwrap();
        ids.extend(created);
    }
    ids
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bare_rows(conn: &Connection, sql: &str, param: Option<&str>) -> Vec<u8> {
    let mut stmt = conn.prepare_cached(sql).unwrap();
    // Each row as a JSON array of its columns, whatever the SELECT names.
    let width = stmt.column_count();
    let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Vec<serde_json::Value>> {
        (0..width)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => serde_json::Value::Null,
                    ValueRef::Integer(n) => n.into(),
                    ValueRef::Real(x) => x.into(),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                    ValueRef::Blob(b) => b.len().into(),
                })
            })
            .collect()
    };
    let rows: Vec<Vec<serde_json::Value>> = match param {
        Some(p) => stmt.query_map([p], map).unwrap().collect::<rusqlite::Result<_>>().unwrap(),
        None => stmt.query_map([], map).unwrap().collect::<rusqlite::Result<_>>().unwrap(),
    };
    serde_json::to_vec(&rows).unwrap()
}

fn bare_card(conn: &Connection, id: &str) -> usize {
    let snapshot: Vec<u8> = conn
        .prepare_cached("SELECT snapshot FROM documents WHERE id = ?1")
        .unwrap()
        .query_row([id], |r| r.get(0))
        .unwrap();
    let mut doc = AutoCommit::load(&snapshot).unwrap();
    let mut stmt = conn.prepare_cached("SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq").unwrap();
    for chunk in stmt.query_map([id], |r| r.get::<_, Vec<u8>>(0)).unwrap() {
        doc.load_incremental(&chunk.unwrap()).unwrap();
    }
    automerge::ReadDoc::length(&doc, automerge::ROOT)
}

struct Table(Vec<(String, Duration, Duration, String)>);

impl Table {
    fn row(&mut self, name: &str, ours: Vec<Duration>, anchor: Vec<Duration>, what: &str) {
        self.0.push((name.to_owned(), median(ours), median(anchor), what.to_owned()));
    }
    fn print(&self) {
        println!("| row | ours (median) | anchor (median) | ours / anchor | anchor |");
        println!("|---|---:|---:|---:|---|");
        for (name, ours, anchor, what) in &self.0 {
            let ratio = ours.as_secs_f64() / anchor.as_secs_f64();
            println!("| {name} | {ours:.2?} | {anchor:.2?} | {ratio:.2}× | {what} |");
        }
    }
}

fn main() {
    let n = env_or("RAPPORT_BENCH_ACCOUNTS", 10_000);
    let reps = env_or("RAPPORT_BENCH_REPS", 21);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    let mut replica = Replica::open(&path, &DeviceIdentity::new("olga", "office-pc")).unwrap();
    let started = Instant::now();
    let ids = fill(&mut replica, n);
    println!("filled {n} accounts in {:.1?}", started.elapsed());

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bare = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut table = Table(Vec::new());
    runtime.block_on(async {
        // No server: the app works on the replica alone, as offline.
        let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let client = Client::new(&format!("http://{nowhere}"), "bench-token-0123456789abcdef").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let options = AppOptions { open_browser: false, ..AppOptions::default() };
        let app = rapport_desktop::start(listener, replica, client, &options).await.unwrap();
        let base = format!("http://{}", app.addr());
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let signed_in = http.get(app.open_url().unwrap()).send().await.unwrap();
        let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let get = |path: String| {
            let request = http.get(format!("{base}/api{path}")).header("cookie", &cookie);
            async move {
                let res = request.send().await.unwrap();
                assert_eq!(res.status(), 200);
                res.bytes().await.unwrap()
            }
        };

        // The list: the first 200 by name.
        let list_sql = format!(
            "{SUMMARY_SQL} WHERE a.merged_into IS NULL AND a.deleted = 0 ORDER BY a.name COLLATE NOCASE LIMIT {LIST_LIMIT}"
        );
        let (mut ours, mut anchor) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let t = Instant::now();
            let body = get(format!("/accounts?limit={LIST_LIMIT}")).await;
            ours.push(t.elapsed());
            assert_eq!(serde_json::from_slice::<Vec<serde_json::Value>>(&body).unwrap().len(), LIST_LIMIT as usize);
            let t = Instant::now();
            let bytes = bare_rows(&bare, &list_sql, None);
            anchor.push(t.elapsed());
            assert!(!bytes.is_empty());
        }
        table.row("list, first 200 by name (GET /api/accounts)", ours, anchor, "same SQL via bare rusqlite, rows to JSON");

        // A stemmed search: «Ромашки» finds every «Ромашка» (a fifth of the accounts).
        let query = rapport_core::replica::search_query(STEMMED).unwrap();
        let search_sql = format!(
            "{SUMMARY_SQL} JOIN accounts_fts ON accounts_fts.rowid = a.rowid WHERE a.merged_into IS NULL \
             AND accounts_fts MATCH ?1 AND a.deleted = 0 ORDER BY accounts_fts.rank, a.name COLLATE NOCASE \
             LIMIT {LIST_LIMIT}"
        );
        let encoded: String = url_encode(STEMMED);
        let (mut ours, mut anchor) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let t = Instant::now();
            let body = get(format!("/accounts?q={encoded}&limit={LIST_LIMIT}")).await;
            ours.push(t.elapsed());
            let hits = serde_json::from_slice::<Vec<serde_json::Value>>(&body).unwrap();
            assert_eq!(hits.len(), (n / 5).min(LIST_LIMIT as usize), "the stem finds the other word form");
            let t = Instant::now();
            let bytes = bare_rows(&bare, &search_sql, Some(&query));
            anchor.push(t.elapsed());
            assert!(!bytes.is_empty());
        }
        table.row(
            &format!("stemmed search «{STEMMED}», the first {LIST_LIMIT} of {} hits (GET /api/accounts?q=)", n / 5),
            ours,
            anchor,
            "same FTS5 SQL via bare rusqlite, rows to JSON",
        );

        // The card of a different account each time (none loaded before).
        let (mut ours, mut anchor) = (Vec::new(), Vec::new());
        for k in 0..reps {
            let id = ids[(k * 7919) % ids.len()].to_string();
            let t = Instant::now();
            let body = get(format!("/accounts/{id}")).await;
            ours.push(t.elapsed());
            assert!(body.len() > 100);
            let other = ids[(k * 7919 + 1) % ids.len()].to_string();
            let t = Instant::now();
            assert!(bare_card(&bare, &other) > 0);
            anchor.push(t.elapsed());
        }
        table.row(
            "account card, not loaded before (GET /api/accounts/{id})",
            ours,
            anchor,
            "SELECT the stored bytes via bare rusqlite, Automerge load",
        );
        app.stop().await.unwrap();
    });
    println!("{n} accounts, {reps} repetitions per row, medians:");
    table.print();
}

/// Percent-encodes a query value.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
