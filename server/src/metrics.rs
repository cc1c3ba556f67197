//! Prometheus metrics, rendered by hand in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds (seconds) of the sync latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Where traffic came through, for byte counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Http,
    WebSocket,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::WebSocket => "websocket",
        }
    }
}

/// Every metric the server exports. Shared by the handlers and the database thread.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    bytes_in: [AtomicU64; 2],
    bytes_out: [AtomicU64; 2],
    documents: AtomicU64,
    cached_documents: AtomicU64,
    head: AtomicU64,
    batches: AtomicU64,
    batched_requests: AtomicU64,
    changes_stored: AtomicU64,
    docs_rejected: AtomicU64,
    compactions: AtomicU64,
    report_rewrites: AtomicU64,
    live_connections: AtomicU64,
    live_pushes: AtomicU64,
    storage_failures: AtomicU64,
    storage_full: AtomicU64,
    free_bytes_at_failure: AtomicU64,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((route.to_owned(), status)).or_default() += 1;
        }
    }

    pub fn sync_latency(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_micros.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    pub fn bytes_in(&self, transport: Transport, n: usize) {
        self.bytes_in[transport as usize].fetch_add(n as u64, Relaxed);
    }

    pub fn bytes_out(&self, transport: Transport, n: usize) {
        self.bytes_out[transport as usize].fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn set_documents(&self, n: u64) {
        self.documents.store(n, Relaxed);
    }

    pub(crate) fn set_cached(&self, n: usize) {
        self.cached_documents.store(n as u64, Relaxed);
    }

    pub(crate) fn set_head(&self, head: u64) {
        self.head.store(head, Relaxed);
    }

    pub(crate) fn batch_committed(&self, requests: usize, changes: u64, rejected: u64, new_docs: u64) {
        self.batches.fetch_add(1, Relaxed);
        self.batched_requests.fetch_add(requests as u64, Relaxed);
        self.changes_stored.fetch_add(changes, Relaxed);
        self.docs_rejected.fetch_add(rejected, Relaxed);
        self.documents.fetch_add(new_docs, Relaxed);
    }

    pub(crate) fn compacted(&self) {
        self.compactions.fetch_add(1, Relaxed);
    }

    pub(crate) fn reports_refreshed(&self, accounts: u64) {
        self.report_rewrites.fetch_add(accounts, Relaxed);
    }

    pub(crate) fn live_connected(&self) {
        self.live_connections.fetch_add(1, Relaxed);
    }

    pub(crate) fn live_disconnected(&self) {
        self.live_connections.fetch_sub(1, Relaxed);
    }

    pub(crate) fn live_pushed(&self) {
        self.live_pushes.fetch_add(1, Relaxed);
    }

    /// A write failed because the disk is full (`free`: bytes still free then, if known).
    pub(crate) fn storage_full(&self, free: Option<u64>) {
        self.storage_failures.fetch_add(1, Relaxed);
        self.free_bytes_at_failure.store(free.unwrap_or(0), Relaxed);
        self.storage_full.store(1, Relaxed);
    }

    /// A write that stored changes was committed: the disk takes writes again.
    pub(crate) fn storage_writable(&self) {
        self.storage_full.store(0, Relaxed);
    }

    /// Whether the last write failed for a full disk and none has succeeded since.
    pub fn storage_is_full(&self) -> bool {
        self.storage_full.load(Relaxed) == 1
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        header(&mut out, "rapport_http_requests_total", "counter", "HTTP requests by route and status.");
        if let Ok(requests) = self.requests.lock() {
            for ((route, status), n) in requests.iter() {
                let _ = writeln!(out, "rapport_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        header(
            &mut out,
            "rapport_sync_duration_seconds",
            "histogram",
            "Time to answer a sync request (HTTP or WebSocket), including the durable commit.",
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(out, "rapport_sync_duration_seconds_bucket{{le=\"{bound}\"}} {}", bucket.load(Relaxed));
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "rapport_sync_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "rapport_sync_duration_seconds_sum {sum}");
        let _ = writeln!(out, "rapport_sync_duration_seconds_count {count}");
        for (name, help, values) in [
            ("rapport_bytes_received_total", "Protocol message bytes received.", &self.bytes_in),
            ("rapport_bytes_sent_total", "Protocol message and document bytes sent.", &self.bytes_out),
        ] {
            header(&mut out, name, "counter", help);
            for t in [Transport::Http, Transport::WebSocket] {
                let _ = writeln!(out, "{name}{{transport=\"{}\"}} {}", t.label(), values[t as usize].load(Relaxed));
            }
        }
        for (name, kind, help, value) in [
            ("rapport_documents_stored", "gauge", "Documents in the server's store.", &self.documents),
            ("rapport_cached_documents", "gauge", "Documents loaded in the memory cache.", &self.cached_documents),
            ("rapport_log_head", "gauge", "Newest position in the change log.", &self.head),
            ("rapport_commit_batches_total", "counter", "Group commits of sync requests.", &self.batches),
            (
                "rapport_committed_requests_total",
                "counter",
                "Sync requests committed in batches.",
                &self.batched_requests,
            ),
            ("rapport_changes_stored_total", "counter", "Automerge changes stored.", &self.changes_stored),
            ("rapport_documents_rejected_total", "counter", "Pushed documents refused.", &self.docs_rejected),
            ("rapport_compactions_total", "counter", "Documents folded into a new snapshot.", &self.compactions),
            (
                "rapport_report_rewrites_total",
                "counter",
                "Accounts whose reporting rows were rewritten after changes.",
                &self.report_rewrites,
            ),
            ("rapport_live_connections", "gauge", "Open live WebSocket connections.", &self.live_connections),
            ("rapport_live_pushes_total", "counter", "Unsolicited responses sent on live sockets.", &self.live_pushes),
            (
                "rapport_storage_full_total",
                "counter",
                "Writes that failed because the disk holding the database is full.",
                &self.storage_failures,
            ),
            (
                "rapport_storage_full",
                "gauge",
                "1 while the disk is full (the last write failed for it and none has succeeded since).",
                &self.storage_full,
            ),
            (
                "rapport_storage_free_bytes_at_failure",
                "gauge",
                "Bytes free on the data directory's filesystem at the last full-disk failure.",
                &self.free_bytes_at_failure,
            ),
        ] {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {}", value.load(Relaxed));
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Counts every request by matched route and response status.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    state.metrics().request(&route, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.request("/v1/sync", 200);
        m.request("/v1/sync", 200);
        m.sync_latency(Duration::from_millis(3));
        let text = m.render();
        assert!(text.contains("rapport_http_requests_total{route=\"/v1/sync\",status=\"200\"} 2"));
        assert!(text.contains("rapport_sync_duration_seconds_bucket{le=\"0.001\"} 0"));
        assert!(text.contains("rapport_sync_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("rapport_sync_duration_seconds_bucket{le=\"+Inf\"} 1"));
    }
}
