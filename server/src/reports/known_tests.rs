//! Reading as known then the fast way — the current rows of the accounts
//! not rewritten since, the `_hist` rows of the others, the weekly rollups
//! corrected by them (ADR 0023, "Reading as known then fast") — against the
//! plain scan of the `_hist` rows valid then, for every report, over
//! accounts rewritten before and after the position asked for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rapport_core::Account;
use rusqlite::{Connection, params};

use super::index::rewrite;
use super::known::Known;
use super::queries::{REPORTS, Table, run, run_scanning};
use super::tests::{Rng, base, database, filters, subjects, template, vary};
use crate::access::Subject;
use crate::reports::Filter;

/// Rewrites account `n`'s rows (`None`: it stopped being a readable
/// account) as at log position `seq`.
fn write_at(conn: &Connection, seq: i64, n: usize, account: Option<&Account>) {
    let doc = format!("doc-{n}");
    conn.execute(
        "INSERT INTO documents (id, last_seq) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq",
        params![doc, seq],
    )
    .unwrap();
    rewrite(conn, &doc, account.map(|a| (a, &[][..]))).unwrap();
}

fn report(conn: &Connection, name: &str, s: &Subject, f: &Filter, known: Option<Known>) -> Table {
    run(conn, name, s, f, known).unwrap().unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_fast_reading_as_known_gives_the_figures_of_the_plain_scan() {
    let mut rng = Rng(23);
    let template = template();
    let conn = database();
    let mut accounts: Vec<Account> = (0..40).map(|_| vary(&template, &mut rng)).collect();
    let mut seq = 0;
    for (n, a) in accounts.iter().enumerate() {
        seq += 1;
        write_at(&conn, seq, n, Some(a));
    }
    // The positions asked for: after the first writes, and after each
    // round of rewrites (some accounts twice at one position, one gone).
    let mut marks = vec![0, seq];
    for _ in 0..3 {
        for (n, account) in accounts.iter_mut().enumerate() {
            if rng.below(3) == 0 {
                seq += 1;
                *account = vary(&template, &mut rng);
                write_at(&conn, seq, n, Some(account));
                if rng.below(4) == 0 {
                    *account = vary(&template, &mut rng);
                    write_at(&conn, seq, n, Some(account));
                }
            }
        }
        seq += 1;
        let gone = rng.below(accounts.len() as u64) as usize;
        write_at(&conn, seq, gone, None);
        marks.push(seq);
    }
    marks.push(seq - 1);
    let mut differs = 0;
    let mut checked = 0;
    let all_filters = filters(&mut rng);
    let some_filters: Vec<&Filter> = all_filters.iter().step_by(4).collect();
    for &mark in &marks {
        let known = Known { seq: mark, at_ms: super::index::millis(base()) };
        for name in REPORTS {
            for s in subjects() {
                for f in &some_filters {
                    let fast = report(&conn, name, &s, f, Some(known));
                    let scan = run_scanning(&conn, name, &s, f, known).unwrap().unwrap();
                    assert_eq!(fast, scan, "{name} as known at {mark}, {} {f:?}", s.user);
                    checked += usize::from(!fast.rows.is_empty());
                    differs += usize::from(fast != report(&conn, name, &s, f, None));
                }
            }
        }
    }
    assert!(checked > 1000, "most cases have rows ({checked})");
    assert!(differs > 300, "the figures as known differ from the current ones in many cases ({differs})");
}
