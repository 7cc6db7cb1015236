//! The collector's shared state: the store, the server's limits and counters, the ingest
//! queue, and the TokenReview client; one [`App`] behind an `Arc`, given to every handler.

use crate::server::{ServerLimits, ServerStats};
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shared state of the server.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub anonymous_read: bool,
    pub ingested: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    /// Served over TLS: session cookies are marked `Secure`.
    pub tls: bool,
    /// Agents' projected ServiceAccount tokens, checked with the Kubernetes API.
    pub kubernetes: Option<crate::kubernetes::TokenReviewer>,
    /// The ingest queue of the group-commit writer, started on first use.
    pub(crate) writer: std::sync::OnceLock<tokio::sync::mpsc::Sender<crate::ingest::IngestJob>>,
    /// Time from a report's arrival to its acknowledgement (stored or duplicate).
    pub ingest_latency: LatencyHistogram,
    /// The server's limits (body rate, ingest concurrency), set with [`App::set_limits`].
    pub(crate) limits: ServerLimits,
    /// Reports being received, parsed or stored now; one permit each.
    pub(crate) ingest_slots: Arc<tokio::sync::Semaphore>,
    /// Reports answered 503 because `max_ingest` were in progress.
    pub ingest_busy: AtomicU64,
    /// Reports whose claimed score differed from their findings' (stored recomputed).
    pub score_mismatches: AtomicU64,
    /// The server's connection counters, for /metrics.
    pub server: Arc<ServerStats>,
}

/// A fixed-bucket histogram of durations for /metrics, updated without locks.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Counts per bucket of [`LATENCY_BUCKETS_S`] (not cumulative), then the +Inf bucket.
    counts: [AtomicU64; LATENCY_BUCKETS_S.len() + 1],
    sum_us: AtomicU64,
}

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BUCKETS_S: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

impl LatencyHistogram {
    pub fn observe(&self, elapsed: std::time::Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS_S
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS_S.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The histogram as an OpenMetrics family.
    pub(crate) fn render(&self, name: &str, help: &str, out: &mut String) {
        out.push_str(&format!("# TYPE {name} histogram\n# HELP {name} {help}\n"));
        let mut cumulative = 0;
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = LATENCY_BUCKETS_S
                .get(index)
                .map_or("+Inf".to_string(), |b| b.to_string());
            out.push_str(&format!("{name}_bucket{{le=\"{bound}\"}} {cumulative}\n"));
        }
        out.push_str(&format!(
            "{name}_sum {}\n{name}_count {cumulative}\n",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        ));
    }
}

impl App {
    pub fn new(store: Store, anonymous_read: bool) -> App {
        App {
            store,
            anonymous_read,
            ingested: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            tls: false,
            kubernetes: None,
            writer: std::sync::OnceLock::new(),
            ingest_latency: LatencyHistogram::default(),
            limits: ServerLimits::default(),
            ingest_slots: Arc::new(tokio::sync::Semaphore::new(
                ServerLimits::default().max_ingest,
            )),
            ingest_busy: AtomicU64::new(0),
            score_mismatches: AtomicU64::new(0),
            server: Arc::default(),
        }
    }

    /// Applies the server's limits (before it serves).
    pub fn set_limits(&mut self, limits: ServerLimits) {
        self.ingest_slots = Arc::new(tokio::sync::Semaphore::new(limits.max_ingest));
        self.limits = limits;
    }

    pub fn limits(&self) -> &ServerLimits {
        &self.limits
    }
}
