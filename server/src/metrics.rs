//! Prometheus metrics (`prometheus-client`), exposed at `/metrics` in the
//! OpenMetrics text format. Every series carries this node's name (`node`
//! label), so the nodes of a fleet scraped together stay apart.

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::AppState;

/// Upper bounds (seconds) of the sync latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
/// Upper bounds of the requests-per-group-commit histogram buckets.
const GROUP_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The media type of what [`Metrics::render`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

type U64Gauge = Gauge<u64, AtomicU64>;

/// Every metric the server exports. Shared by the handlers and the database thread.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    sync_latency: Histogram,
    bytes_in: Family<TransportLabels, Counter>,
    bytes_out: Family<TransportLabels, Counter>,
    documents: U64Gauge,
    cached_documents: U64Gauge,
    head: U64Gauge,
    batches: Counter,
    batched_requests: Counter,
    group_size: Histogram,
    db_jobs: Gauge,
    changes_stored: Counter,
    docs_rejected: Counter,
    compactions: Counter,
    report_rewrites: Counter,
    live_connections: Gauge,
    live_pushes: Counter,
    storage_failures: Counter,
    storage_full: U64Gauge,
    free_bytes_at_failure: U64Gauge,
    pool_connections: U64Gauge,
    pool_idle: U64Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(&crate::config::default_node_name())
    }
}

impl Metrics {
    /// Every metric at zero, labelled with this node's name.
    pub fn new(node: &str) -> Metrics {
        let node: Cow<'static, str> = Cow::Owned(node.to_owned());
        let mut m = Metrics {
            registry: Registry::with_labels([(Cow::Borrowed("node"), node)].into_iter()),
            requests: Family::default(),
            sync_latency: Histogram::new(LATENCY_BUCKETS),
            bytes_in: Family::default(),
            bytes_out: Family::default(),
            documents: Gauge::default(),
            cached_documents: Gauge::default(),
            head: Gauge::default(),
            batches: Counter::default(),
            batched_requests: Counter::default(),
            group_size: Histogram::new(GROUP_BUCKETS),
            db_jobs: Gauge::default(),
            changes_stored: Counter::default(),
            docs_rejected: Counter::default(),
            compactions: Counter::default(),
            report_rewrites: Counter::default(),
            live_connections: Gauge::default(),
            live_pushes: Counter::default(),
            storage_failures: Counter::default(),
            storage_full: Gauge::default(),
            free_bytes_at_failure: Gauge::default(),
            pool_connections: Gauge::default(),
            pool_idle: Gauge::default(),
        };
        let r = &mut m.registry;
        // Counters are exposed with `_total` appended to these names.
        r.register("rapport_http_requests", "HTTP requests by route and status", m.requests.clone());
        r.register(
            "rapport_sync_duration_seconds",
            "Time to answer a sync request (HTTP or WebSocket), including the durable commit",
            m.sync_latency.clone(),
        );
        r.register("rapport_bytes_received", "Protocol message bytes received", m.bytes_in.clone());
        r.register("rapport_bytes_sent", "Protocol message and document bytes sent", m.bytes_out.clone());
        r.register("rapport_documents_stored", "Documents in the server's store", m.documents.clone());
        r.register("rapport_cached_documents", "Documents loaded in the memory cache", m.cached_documents.clone());
        r.register("rapport_log_head", "Newest position in the change log", m.head.clone());
        r.register(
            "rapport_db_pool_connections",
            "Connections this node holds open to PostgreSQL (0 on SQLite)",
            m.pool_connections.clone(),
        );
        r.register("rapport_db_pool_idle", "Of those, connections idle in the pool (0 on SQLite)", m.pool_idle.clone());
        r.register("rapport_commit_batches", "Group commits of sync requests", m.batches.clone());
        r.register("rapport_committed_requests", "Sync requests committed in batches", m.batched_requests.clone());
        r.register("rapport_commit_group_requests", "Sync requests answered by one group commit", m.group_size.clone());
        r.register(
            "rapport_db_jobs_in_flight",
            "Requests waiting for or being served by the database (its pool of work)",
            m.db_jobs.clone(),
        );
        r.register("rapport_changes_stored", "Automerge changes stored", m.changes_stored.clone());
        r.register("rapport_documents_rejected", "Pushed documents refused", m.docs_rejected.clone());
        r.register("rapport_compactions", "Documents folded into a new snapshot", m.compactions.clone());
        r.register(
            "rapport_report_rewrites",
            "Accounts whose reporting rows were rewritten after changes",
            m.report_rewrites.clone(),
        );
        r.register("rapport_live_connections", "Open live WebSocket connections", m.live_connections.clone());
        r.register("rapport_live_pushes", "Unsolicited responses sent on live sockets", m.live_pushes.clone());
        r.register(
            "rapport_storage_full",
            "Writes that failed because the disk holding the database is full",
            m.storage_failures.clone(),
        );
        r.register(
            "rapport_storage_disk_full",
            "1 while the disk is full (the last write failed for it and none has succeeded since)",
            m.storage_full.clone(),
        );
        r.register(
            "rapport_storage_free_bytes_at_failure",
            "Bytes free on the data directory's filesystem at the last full-disk failure",
            m.free_bytes_at_failure.clone(),
        );
        m
    }

    pub fn request(&self, route: &str, status: u16) {
        self.requests.get_or_create(&RequestLabels { route: route.to_owned(), status }).inc();
    }

    pub fn sync_latency(&self, elapsed: Duration) {
        self.sync_latency.observe(elapsed.as_secs_f64());
    }

    pub fn bytes_in(&self, transport: Transport, n: usize) {
        self.bytes_in.get_or_create(&TransportLabels { transport: transport.label() }).inc_by(n as u64);
    }

    pub fn bytes_out(&self, transport: Transport, n: usize) {
        self.bytes_out.get_or_create(&TransportLabels { transport: transport.label() }).inc_by(n as u64);
    }

    pub(crate) fn set_documents(&self, n: u64) {
        self.documents.set(n);
    }

    pub(crate) fn set_cached(&self, n: usize) {
        self.cached_documents.set(n as u64);
    }

    pub(crate) fn set_head(&self, head: u64) {
        self.head.set(head);
    }

    /// The PostgreSQL pool: connections open, and how many of them are idle.
    pub(crate) fn set_pool(&self, (open, idle): (usize, usize)) {
        self.pool_connections.set(open as u64);
        self.pool_idle.set(idle as u64);
    }

    pub(crate) fn batch_committed(&self, requests: usize, changes: u64, rejected: u64, new_docs: u64) {
        self.batches.inc();
        self.batched_requests.inc_by(requests as u64);
        self.group_size.observe(requests as f64);
        self.changes_stored.inc_by(changes);
        self.docs_rejected.inc_by(rejected);
        self.documents.inc_by(new_docs);
    }

    /// A request for the database thread was queued; the guard counts it
    /// until it is answered or given up.
    pub(crate) fn db_job(&self) -> DbJob<'_> {
        self.db_jobs.inc();
        DbJob(&self.db_jobs)
    }

    pub(crate) fn compacted(&self, documents: u64) {
        self.compactions.inc_by(documents);
    }

    pub(crate) fn reports_refreshed(&self, accounts: u64) {
        self.report_rewrites.inc_by(accounts);
    }

    pub(crate) fn live_connected(&self) {
        self.live_connections.inc();
    }

    pub(crate) fn live_disconnected(&self) {
        self.live_connections.dec();
    }

    pub(crate) fn live_pushed(&self) {
        self.live_pushes.inc();
    }

    /// A write failed because the disk is full (`free`: bytes still free then, if known).
    pub(crate) fn storage_full(&self, free: Option<u64>) {
        self.storage_failures.inc();
        self.free_bytes_at_failure.set(free.unwrap_or(0));
        self.storage_full.set(1);
    }

    /// A write that stored changes was committed: the disk takes writes again.
    pub(crate) fn storage_writable(&self) {
        self.storage_full.set(0);
    }

    /// Whether the last write failed for a full disk and none has succeeded since.
    pub fn storage_is_full(&self) -> bool {
        self.storage_full.get() == 1
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot render the metrics");
        }
        out
    }
}

/// A database request in flight (see [`Metrics::db_job`]).
pub(crate) struct DbJob<'a>(&'a Gauge);

impl Drop for DbJob<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
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
    fn renders_counters_and_a_cumulative_histogram_labelled_with_the_node() {
        let m = Metrics::new("node-a");
        m.request("/v1/sync", 200);
        m.request("/v1/sync", 200);
        m.sync_latency(Duration::from_millis(3));
        let text = m.render();
        assert!(
            text.contains("rapport_http_requests_total{node=\"node-a\",route=\"/v1/sync\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("rapport_sync_duration_seconds_bucket{node=\"node-a\",le=\"0.001\"} 0"), "{text}");
        assert!(text.contains("rapport_sync_duration_seconds_bucket{node=\"node-a\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("rapport_sync_duration_seconds_bucket{node=\"node-a\",le=\"+Inf\"} 1"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
