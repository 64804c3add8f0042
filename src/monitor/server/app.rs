//! The server's shared state: the model backend, the config, the log, the monitor's
//! state and counters; and small helpers every handler uses.

use super::*;

/// Where inference happens.
pub(super) enum Backend {
    /// ONNX Runtime sessions in this process, one per inference thread.
    Local(Pool),
    /// The upstream server (`proxy`), speaking `App::protocol`.
    Remote(Upstream),
}

pub(super) struct App {
    pub(super) cfg: Config,
    pub(super) name: String,
    pub(super) inputs: Vec<InputSpec>,
    pub(super) outputs: Vec<InputSpec>,
    pub(super) backend: Backend,
    /// Open connections, their caps and counters.
    pub(super) conns: Conns,
    /// Request and response bodies held in memory.
    pub(super) budget: Budget,
    pub(super) keys: HashMap<String, String>,
    pub(super) log: EventLog,
    /// Per-client state.
    pub(super) clients: LocalStore,
    /// Client state shared by replicas (`[state] backend = "redis"`).
    pub(super) shared: Option<Arc<crate::monitor::state::redis::Shared>>,
    /// Detector observations exchanged with the other replicas (`state.share_detectors`).
    pub(super) replicator: std::sync::OnceLock<crate::monitor::state::replicate::Replicator>,
    /// The detectors (over rows, when the model takes one float [N, F] input).
    pub(super) engine: Arc<Engine>,
    pub(super) metrics: Metrics,
    pub(super) in_flight: AtomicUsize,
    pub(super) next_request: AtomicU64,
    /// Dropped events already reported by a `monitor/log-dropped` finding.
    pub(super) dropped_reported: AtomicU64,
    /// When drops were last reported (seconds, as f64 bits): at most one report per
    /// `detect.cooldown_seconds`, so a log or SIEM outage does not add a finding to every request.
    pub(super) dropped_reported_at: AtomicU64,
    pub(super) baseline: Option<Baseline>,
    pub(super) key: [u8; 32],
    pub(super) started: Instant,
    /// One float [N, F] input: the detectors can read rows.
    pub(super) features: Option<usize>,
    pub(super) monitor_on: bool,
    pub(super) protocol: Protocol,
    /// `Authorization` for the upstream (from `upstream.api_key_env`).
    pub(super) upstream_auth: Option<axum::http::HeaderValue>,
}

pub(super) fn digest_key(cfg: &Config) -> [u8; 32] {
    if let Some(hex) = &cfg.detect.key {
        let mut k = [0u8; 32];
        if hex::decode_to_slice(hex, &mut k).is_ok() {
            return k;
        }
    }
    let mut k = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut k);
    k
}

pub(super) fn now_secs(app: &App) -> f64 {
    app.started.elapsed().as_secs_f64()
}

pub(super) fn error(code: StatusCode, message: &str) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

pub(super) struct InFlight<'a>(pub(super) &'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A keyed digest (BLAKE3) of bytes: linkable within a run, not reversible offline.
pub(super) fn digest(app: &App, bytes: &[u8]) -> String {
    blake3::keyed_hash(&app.key, bytes).to_hex().to_string()
}
