//! Prometheus counters and the `/metrics` route.

use super::*;

/// Prometheus counters.
#[derive(Default)]
pub(super) struct Metrics {
    pub(super) requests: Mutex<BTreeMap<u16, u64>>,
    pub(super) signals: Mutex<BTreeMap<&'static str, u64>>,
    /// Latency histogram: counts per bucket upper bound (seconds), then +Inf.
    pub(super) latency: Vec<AtomicU64>,
    pub(super) latency_sum_us: AtomicU64,
}

impl Metrics {
    /// One more firing of `signal` (every firing counts, cooldowns or not).
    pub(super) fn count_signal(&self, signal: &'static str) {
        *self
            .signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(signal)
            .or_default() += 1;
    }
}

pub(super) const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

pub(super) async fn metrics(State(app): State<Arc<App>>) -> Response {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# HELP modelsec_requests_total Inference requests by HTTP status."
    );
    let _ = writeln!(t, "# TYPE modelsec_requests_total counter");
    for (code, n) in app
        .metrics
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let _ = writeln!(t, "modelsec_requests_total{{code=\"{code}\"}} {n}");
    }
    let _ = writeln!(
        t,
        "# HELP modelsec_request_duration_seconds Time to answer an inference request, monitor and log included."
    );
    let _ = writeln!(t, "# TYPE modelsec_request_duration_seconds histogram");
    let mut cum = 0u64;
    for (i, b) in BUCKETS.iter().enumerate() {
        cum += app.metrics.latency[i].load(Ordering::Relaxed);
        let _ = writeln!(
            t,
            "modelsec_request_duration_seconds_bucket{{le=\"{b}\"}} {cum}"
        );
    }
    cum += app.metrics.latency[BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(
        t,
        "modelsec_request_duration_seconds_bucket{{le=\"+Inf\"}} {cum}"
    );
    let _ = writeln!(
        t,
        "modelsec_request_duration_seconds_sum {}",
        app.metrics.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(t, "modelsec_request_duration_seconds_count {cum}");
    let _ = writeln!(
        t,
        "# HELP modelsec_signals_total Misuse signals fired, by signal id."
    );
    let _ = writeln!(t, "# TYPE modelsec_signals_total counter");
    let signals = app
        .metrics
        .signals
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    for r in sig::ALL {
        let _ = writeln!(
            t,
            "modelsec_signals_total{{signal=\"{}\"}} {}",
            r.id,
            signals.get(r.id).copied().unwrap_or(0)
        );
    }
    let s = &app.log.stats;
    for (name, help, v) in [
        (
            "modelsec_log_events_written_total",
            "Events written to the chained log.",
            s.written.load(Ordering::Relaxed),
        ),
        (
            "modelsec_log_events_dropped_total",
            "Events dropped (queue full or write failed).",
            s.dropped.load(Ordering::Relaxed),
        ),
        (
            "modelsec_log_write_errors_total",
            "Failed log writes.",
            s.write_errors.load(Ordering::Relaxed),
        ),
        (
            "modelsec_log_syncs_total",
            "fdatasync calls on the log.",
            s.syncs.load(Ordering::Relaxed),
        ),
    ] {
        let _ = writeln!(t, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
    }
    let clients = app.clients.clients();
    let _ = writeln!(
        t,
        "# HELP modelsec_clients Clients whose state is kept.\n# TYPE modelsec_clients gauge\nmodelsec_clients {clients}"
    );
    let _ = writeln!(
        t,
        "# HELP modelsec_in_flight Requests being answered.\n# TYPE modelsec_in_flight gauge\nmodelsec_in_flight {}",
        app.in_flight.load(Ordering::Relaxed)
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        t,
    )
        .into_response()
}
