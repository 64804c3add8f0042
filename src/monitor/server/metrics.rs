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
    if let Some(sh) = &app.shared {
        let st = &sh.stats;
        let _ = writeln!(
            t,
            "# HELP modelsec_state_calls_total Round trips to the shared client state (Redis).\n# TYPE modelsec_state_calls_total counter\nmodelsec_state_calls_total {}\n# HELP modelsec_state_errors_total Round trips to the shared client state that failed or timed out.\n# TYPE modelsec_state_errors_total counter\nmodelsec_state_errors_total {}\n# HELP modelsec_state_up Whether the last round trip to the shared client state succeeded.\n# TYPE modelsec_state_up gauge\nmodelsec_state_up {}",
            st.calls.load(Ordering::Relaxed),
            st.errors.load(Ordering::Relaxed),
            u8::from(!st.down.load(Ordering::Relaxed))
        );
    }
    if let Some(r) = app.replicator.get() {
        let st = &r.stats;
        for (name, help, v) in [
            (
                "modelsec_replication_published_total",
                "Detector observations written for the other replicas.",
                &st.published,
            ),
            (
                "modelsec_replication_dropped_total",
                "Detector observations not shared (queue full, Redis down or slow).",
                &st.dropped,
            ),
            (
                "modelsec_replication_replayed_total",
                "Other replicas' detector observations replayed here.",
                &st.replayed,
            ),
            (
                "modelsec_replication_rejected_total",
                "Stream entries skipped as malformed or for another model shape.",
                &st.rejected,
            ),
        ] {
            let v = v.load(Ordering::Relaxed);
            let _ = writeln!(t, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
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
    let s = &app.cfg.server;
    let _ = writeln!(
        t,
        "# HELP modelsec_buffered_bytes Request and response bodies held in memory (server.max_buffered_bytes).\n# TYPE modelsec_buffered_bytes gauge\nmodelsec_buffered_bytes {}",
        app.budget.in_use_bytes(s.max_buffered_bytes)
    );
    let c = &app.conns.stats;
    let _ = writeln!(
        t,
        "# HELP modelsec_connections_open Client connections open.\n# TYPE modelsec_connections_open gauge\nmodelsec_connections_open {}",
        c.open.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        t,
        "# HELP modelsec_connections_limit The connection caps in force (after fitting the file-descriptor limit).\n# TYPE modelsec_connections_limit gauge\nmodelsec_connections_limit{{scope=\"global\"}} {}\nmodelsec_connections_limit{{scope=\"per_ip\"}} {}",
        app.conns.limits.max, app.conns.limits.per_ip
    );
    let _ = writeln!(
        t,
        "# HELP modelsec_connections_accepted_total Client connections accepted.\n# TYPE modelsec_connections_accepted_total counter\nmodelsec_connections_accepted_total {}",
        c.accepted.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        t,
        "# HELP modelsec_connections_cut_total Connections refused or closed by the server, by reason.\n# TYPE modelsec_connections_cut_total counter"
    );
    for (i, cut) in conn::Cut::ALL.iter().enumerate() {
        let _ = writeln!(
            t,
            "modelsec_connections_cut_total{{reason=\"{}\"}} {}",
            cut.as_str(),
            c.cut[i].load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        t,
        "# HELP modelsec_accept_errors_total Failed accepts (out of file descriptors, …).\n# TYPE modelsec_accept_errors_total counter\nmodelsec_accept_errors_total {}",
        c.accept_errors.load(Ordering::Relaxed)
    );
    if let Backend::Local(pool) = &app.backend {
        let p = &pool.stats;
        let _ = writeln!(
            t,
            "# HELP modelsec_inference_threads Inference threads (one session each).\n# TYPE modelsec_inference_threads gauge\nmodelsec_inference_threads {}",
            pool.workers
        );
        let _ = writeln!(
            t,
            "# HELP modelsec_inference_busy Inference threads running a request.\n# TYPE modelsec_inference_busy gauge\nmodelsec_inference_busy {}",
            p.busy.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            t,
            "# HELP modelsec_inference_queued Requests waiting for an inference thread.\n# TYPE modelsec_inference_queued gauge\nmodelsec_inference_queued {}",
            p.queued.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            t,
            "# HELP modelsec_inference_stopped_total Runs stopped at their deadline or because their client left.\n# TYPE modelsec_inference_stopped_total counter\nmodelsec_inference_stopped_total {}",
            p.stopped.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            t,
            "# HELP modelsec_inference_preempted_total Runs stopped to give their thread to a client with none.\n# TYPE modelsec_inference_preempted_total counter\nmodelsec_inference_preempted_total {}",
            p.preempted.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            t,
            "# HELP modelsec_inference_withdrawn_total Requests withdrawn before a thread took them (deadline, or client left).\n# TYPE modelsec_inference_withdrawn_total counter\nmodelsec_inference_withdrawn_total {}",
            p.withdrawn.load(Ordering::Relaxed)
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        t,
    )
        .into_response()
}
