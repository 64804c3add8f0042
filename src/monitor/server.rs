//! `modelsec serve`: an ONNX model behind the Open Inference Protocol v2 REST API, with the
//! monitor in the request path; `modelsec proxy`: the same monitor in front of an OIP v2,
//! OpenAI-compatible or TorchServe server (the last two in [`protocols`]).
//!
//! Routes: `GET /v2`, `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2/models/{name}`,
//! `POST /v2/models/{name}/infer`, `GET /metrics` (Prometheus text format).
//!
//! Per request, in order: shed at capacity (503); identify the client (API key → 401, else the
//! address); refuse blocked clients (403); refuse bodies over the limit (413, before reading
//! them); rate (429) and volume budget; parse and check the tensors against the model's inputs
//! and the baseline's ranges (400); run the model; then the detectors (out-of-distribution,
//! extraction, probing, boundary walk, output harvesting), whose `block` action refuses this
//! and later requests. Every request and every finding is an event in the chained log; with
//! `always` durability the response waits until its events are on disk.

use super::config::{Action, Config};
use super::detect::{Baseline, Probing, Projection, TokenBucket, Walk};
use super::log::{Durability, EventLog, LogOptions};
use super::rules::signals as sig;
use crate::onnx::{Data, Elem, InputSpec, Outputs};
use crate::report::Rule;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod protocols;

/// Errors that stop `serve` from starting (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Model(#[from] crate::onnx::OnnxError),
    #[error(transparent)]
    Log(#[from] super::log::LogError),
    #[error("cannot listen on {addr}: {message}")]
    Listen { addr: String, message: String },
    #[error("{0}")]
    Other(String),
}

/// What to serve.
pub struct ServeOptions {
    /// The model file (`serve`); ignored when `upstream` is set.
    pub model: PathBuf,
    /// `proxy`: the upstream's base URL and the model's name there (empty: any, for the
    /// OpenAI and TorchServe protocols).
    pub upstream: Option<(String, String)>,
    pub config: Config,
    pub listen: SocketAddr,
    /// A digest of the config file, recorded in the start event.
    pub config_digest: Option<String>,
    /// Serve without the monitor (no auth, limits, detectors or request events): the
    /// baseline the benchmark compares against.
    pub monitor: bool,
    /// The API spoken (`serve`: always OIP v2).
    pub protocol: Protocol,
}

/// The inference API the server speaks, and the proxy forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Open Inference Protocol v2 REST: POST /v2/models/{name}/infer.
    OipV2,
    /// OpenAI-compatible: POST /v1/chat/completions, /v1/completions, /v1/embeddings.
    #[value(name = "openai")]
    OpenAi,
    /// TorchServe: POST /predictions/{model}[/{version}].
    #[value(name = "torchserve")]
    TorchServe,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OipV2 => "oip_v2",
            Protocol::OpenAi => "openai",
            Protocol::TorchServe => "torchserve",
        }
    }
}

type Upstream = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<axum::body::Bytes>,
>;

fn upstream_client() -> Upstream {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Where inference happens.
enum Backend {
    /// ONNX Runtime sessions in this process, one per core.
    Local(Vec<Mutex<crate::onnx::Model>>),
    /// The upstream server (`proxy`), speaking `App::protocol`.
    Remote { client: Upstream, base: String },
}

/// Per-client state.
struct Client {
    bucket: TokenBucket,
    window_start: f64,
    volume: u64,
    scores: u64,
    prada: super::detect::Prada,
    walk: Walk,
    /// LLM tokens (prompt and completion) in the current window.
    tokens: u64,
    last_finding: HashMap<&'static str, f64>,
    blocked_until: f64,
    blocked_by: &'static str,
}

impl Client {
    /// Refuse the client's requests (403) until `until`, naming the signal.
    fn block(&mut self, by: &'static str, until: f64) {
        self.blocked_until = until;
        self.blocked_by = by;
    }
}

struct Monitor {
    clients: lru::LruCache<String, Client>,
    probing: Option<Probing>,
}

/// Prometheus counters.
#[derive(Default)]
struct Metrics {
    requests: Mutex<BTreeMap<u16, u64>>,
    signals: Mutex<BTreeMap<&'static str, u64>>,
    /// Latency histogram: counts per bucket upper bound (seconds), then +Inf.
    latency: Vec<AtomicU64>,
    latency_sum_us: AtomicU64,
}

impl Metrics {
    /// One more firing of `signal` (every firing counts, cooldowns or not).
    fn count_signal(&self, signal: &'static str) {
        *self
            .signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(signal)
            .or_default() += 1;
    }
}

const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

struct App {
    cfg: Config,
    name: String,
    inputs: Vec<InputSpec>,
    outputs: Vec<InputSpec>,
    backend: Backend,
    next_model: AtomicUsize,
    keys: HashMap<String, String>,
    log: EventLog,
    monitor: Mutex<Monitor>,
    metrics: Metrics,
    in_flight: AtomicUsize,
    next_request: AtomicU64,
    /// Dropped events already reported by a `monitor/log-dropped` finding.
    dropped_reported: AtomicU64,
    baseline: Option<Baseline>,
    projection: Option<Projection>,
    key: [u8; 32],
    started: Instant,
    /// One float [N, F] input: the detectors can read rows.
    features: Option<usize>,
    monitor_on: bool,
    protocol: Protocol,
    /// `Authorization` for the upstream (from `upstream.api_key_env`).
    upstream_auth: Option<axum::http::HeaderValue>,
}

/// Serve until SIGINT/SIGTERM. `ready` gets the bound address once the server accepts.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .enable_all()
        .build()
        .map_err(|e| ServeError::Other(format!("cannot start the runtime: {e}")))?;
    rt.block_on(run(opts, ready))
}

fn digest_key(cfg: &Config) -> [u8; 32] {
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

async fn run(opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let cfg = opts.config;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let protocol = opts.protocol;
    let (backend, inputs, outputs, name) = match &opts.upstream {
        None => {
            let mut pool = Vec::new();
            let (first, _) = crate::onnx::open(&opts.model)?;
            let inputs = first.inputs.clone();
            let outputs = first.outputs();
            pool.push(Mutex::new(first));
            for _ in 1..workers {
                pool.push(Mutex::new(crate::onnx::open(&opts.model)?.0));
            }
            let name = cfg.server.model_name.clone().unwrap_or_else(|| {
                opts.model
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_else(|| "model".into())
            });
            (Backend::Local(pool), inputs, outputs, name)
        }
        Some((base, name)) => {
            let client = upstream_client();
            let base = base.trim_end_matches('/').to_string();
            // OIP v2 describes the model's tensors; OpenAI and TorchServe describe none.
            let (inputs, outputs) = if protocol == Protocol::OipV2 {
                let (inputs, outputs) = upstream_tensors(&client, &base, name).await?;
                if inputs.is_empty() {
                    return Err(ServeError::Other(format!(
                        "upstream `{base}` describes model `{name}` without inputs"
                    )));
                }
                (inputs, outputs)
            } else {
                (vec![], vec![])
            };
            (
                Backend::Remote { client, base },
                inputs,
                outputs,
                name.clone(),
            )
        }
    };
    let mut features = crate::onnx::row_features(&inputs);
    let baseline = match &cfg.detect.baseline {
        Some(p) => {
            let rows = crate::rows::read_rows(p).map_err(|e| ServeError::Other(e.to_string()))?;
            let b = Baseline::from_rows(&rows).ok_or_else(|| {
                ServeError::Other(format!(
                    "baseline `{}`: rows of different lengths",
                    p.display()
                ))
            })?;
            if features.is_some_and(|f| f != b.mean.len()) {
                return Err(ServeError::Other(format!(
                    "baseline `{}` has {} features, the model's input {}",
                    p.display(),
                    b.mean.len(),
                    features.unwrap_or(0)
                )));
            }
            Some(b)
        }
        None => None,
    };
    if protocol == Protocol::TorchServe {
        // No tensor metadata in TorchServe: the baseline says how long a row is.
        features = baseline.as_ref().map(|b| b.mean.len());
    }
    let upstream_auth = match &cfg.upstream.api_key_env {
        Some(var) => {
            let key = std::env::var(var).map_err(|_| {
                ServeError::Other(format!(
                    "upstream.api_key_env names `{var}`, which is not set; export it or remove the setting"
                ))
            })?;
            let mut v = axum::http::HeaderValue::from_str(&format!("Bearer {}", key.trim()))
                .map_err(|_| {
                    ServeError::Other(format!("`{var}` holds characters a header cannot carry"))
                })?;
            v.set_sensitive(true);
            Some(v)
        }
        None => None,
    };
    let key = digest_key(&cfg);
    let probing = features.map(|d| {
        let (lo, hi) = match &baseline {
            Some(b) => (b.min.clone(), b.max.clone()),
            None => (vec![0.0; d], vec![1.0; d]),
        };
        Probing::new(d, lo, hi, cfg.detect.probing_window, key)
    });
    let projection = features.map(|d| Projection::new(d, 0x9d5a_11ce));
    let log = EventLog::open(LogOptions {
        path: cfg.log.path.clone(),
        durability: cfg.log.durability,
        rotate_bytes: (cfg.log.rotate_bytes > 0).then_some(cfg.log.rotate_bytes),
    })?;
    let keys = cfg
        .auth
        .keys
        .iter()
        .map(|k| (k.sha256.to_ascii_lowercase(), k.client.clone()))
        .collect();
    let max_clients = NonZeroUsize::new(cfg.server.max_clients).unwrap_or(NonZeroUsize::MIN);
    let app = Arc::new(App {
        name: name.clone(),
        inputs,
        outputs,
        backend,
        next_model: AtomicUsize::new(0),
        keys,
        log,
        monitor: Mutex::new(Monitor {
            clients: lru::LruCache::new(max_clients),
            probing,
        }),
        metrics: Metrics {
            latency: (0..=BUCKETS.len()).map(|_| AtomicU64::new(0)).collect(),
            ..Metrics::default()
        },
        in_flight: AtomicUsize::new(0),
        next_request: AtomicU64::new(0),
        dropped_reported: AtomicU64::new(0),
        baseline,
        projection,
        key,
        started: Instant::now(),
        features,
        monitor_on: opts.monitor,
        protocol,
        upstream_auth,
        cfg,
    });
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| ServeError::Listen {
            addr: opts.listen.to_string(),
            message: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| ServeError::Listen {
        addr: opts.listen.to_string(),
        message: e.to_string(),
    })?;
    let mut start = Map::new();
    start.insert("kind".into(), "health".into());
    start.insert("event".into(), "started".into());
    start.insert(
        "monitor".into(),
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "listen": addr.to_string(),
            "config_digest": opts.config_digest,
            "durability": app.cfg.log.durability,
            "monitoring": opts.monitor,
            "protocol": protocol.as_str(),
            "model": match &opts.upstream {
                None => json!({ "name": name, "file": opts.model.display().to_string() }),
                Some((base, _)) => json!({ "name": name, "upstream": base }),
            },
        }),
    );
    app.log
        .log_durable(start)
        .map_err(|e| ServeError::Other(format!("cannot write the event log: {e}")))?;
    let router = Router::new()
        .route("/v2/health/live", get(|| async { StatusCode::OK }))
        .route("/v2/health/ready", get(ready_route))
        .route("/metrics", get(metrics));
    let router = match protocol {
        Protocol::OipV2 => router
            .route("/v2", get(server_meta))
            .route("/v2/models/{name}", get(model_meta))
            .route("/v2/models/{name}/ready", get(model_ready))
            .route("/v2/models/{name}/infer", post(infer)),
        Protocol::OpenAi => router
            .route("/v1/chat/completions", post(protocols::openai))
            .route("/v1/completions", post(protocols::openai))
            .route("/v1/embeddings", post(protocols::openai)),
        Protocol::TorchServe => router
            .route("/predictions/{model}", post(protocols::torchserve))
            .route(
                "/predictions/{model}/{version}",
                post(protocols::torchserve),
            ),
    };
    let router = router.fallback(not_served).with_state(app.clone());
    ready(addr);
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await;
    let mut stop = Map::new();
    stop.insert("kind".into(), "health".into());
    stop.insert("event".into(), "stopped".into());
    stop.insert(
        "log".into(),
        json!({
            "written": app.log.stats.written.load(Ordering::Relaxed),
            "dropped": app.log.stats.dropped.load(Ordering::Relaxed),
        }),
    );
    let _ = app.log.log_durable(stop);
    app.log.close();
    served.map_err(|e| ServeError::Other(e.to_string()))
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn oip_dtype(e: Option<Elem>) -> &'static str {
    match e {
        Some(Elem::F32) => "FP32",
        Some(Elem::F64) => "FP64",
        Some(Elem::I64) => "INT64",
        Some(Elem::I32) => "INT32",
        Some(Elem::I16) => "INT16",
        Some(Elem::I8) => "INT8",
        Some(Elem::U64) => "UINT64",
        Some(Elem::U32) => "UINT32",
        Some(Elem::U16) => "UINT16",
        Some(Elem::U8) => "UINT8",
        Some(Elem::Bool) => "BOOL",
        None => "BYTES",
    }
}

fn tensor_meta(specs: &[InputSpec]) -> Value {
    specs
        .iter()
        .map(|s| json!({ "name": s.name, "datatype": oip_dtype(s.elem), "shape": s.dims }))
        .collect()
}

async fn server_meta() -> Response {
    axum::Json(
        json!({ "name": "modelsec", "version": env!("CARGO_PKG_VERSION"), "extensions": [] }),
    )
    .into_response()
}

async fn ready_route(State(app): State<Arc<App>>) -> StatusCode {
    if app.log.stats.failed.load(Ordering::Relaxed) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

async fn model_ready(State(app): State<Arc<App>>, UrlPath(name): UrlPath<String>) -> StatusCode {
    if name == app.name {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn model_meta(State(app): State<Arc<App>>, UrlPath(name): UrlPath<String>) -> Response {
    if name != app.name {
        return error(StatusCode::NOT_FOUND, &format!("no model `{name}`"));
    }
    axum::Json(json!({
        "name": app.name,
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": tensor_meta(&app.inputs),
        "outputs": tensor_meta(&app.outputs),
    }))
    .into_response()
}

/// Paths the monitor does not cover are not forwarded: fail closed.
async fn not_served(State(app): State<Arc<App>>, uri: axum::http::Uri) -> Response {
    let routes = match app.protocol {
        Protocol::OipV2 => "/v2, /v2/models/{name}[/ready|/infer]",
        Protocol::OpenAi => "POST /v1/chat/completions, /v1/completions, /v1/embeddings",
        Protocol::TorchServe => "POST /predictions/{model}[/{version}]",
    };
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "`{}` is not a route of this {} monitor (it serves {routes}, /v2/health/live|ready and /metrics)",
            uri.path(),
            app.protocol.as_str()
        ),
    )
}

fn error(code: StatusCode, message: &str) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

fn now_secs(app: &App) -> f64 {
    app.started.elapsed().as_secs_f64()
}

/// A fired signal, before it becomes an event.
struct Fired {
    rule: &'static Rule,
    action: Action,
    message: String,
    evidence: Value,
}

/// The request as the monitor saw it, for its event.
#[derive(Default)]
struct Seen {
    id: u64,
    path: String,
    model: String,
    client: String,
    ip: String,
    status: u16,
    bytes: usize,
    input: Option<Value>,
    output: Option<Value>,
    fired: Vec<Fired>,
}

impl Seen {
    /// A new request from `peer` to `path` (`model`: as far as the path names it).
    fn new(app: &App, peer: SocketAddr, path: String, model: String) -> Seen {
        Seen {
            id: app.next_request.fetch_add(1, Ordering::Relaxed),
            ip: peer.ip().to_string(),
            path,
            model,
            ..Seen::default()
        }
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn infer(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let mut seen = Seen::new(&app, peer, format!("/v2/models/{name}/infer"), name.clone());
    let response = if app.monitor_on {
        handle(&app, &name, &headers, body, &mut seen).await
    } else {
        unmonitored(&app, &name, body).await
    };
    finish(&app, seen, response, started).await
}

/// Record the request's events (waiting for them with `always` durability) and count it. A
/// request whose event cannot be recorded is not answered.
async fn finish(app: &Arc<App>, mut seen: Seen, response: Response, started: Instant) -> Response {
    seen.status = response.status().as_u16();
    let durable = if app.monitor_on {
        record(app, &seen, started).await
    } else {
        Ok(())
    };
    let response = match durable {
        Ok(()) => response,
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the event log cannot record this request ({e}); refusing to answer unlogged"),
        ),
    };
    let status = response.status().as_u16();
    *app.metrics
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(status)
        .or_default() += 1;
    let secs = started.elapsed().as_secs_f64();
    let bucket = BUCKETS
        .iter()
        .position(|&b| secs <= b)
        .unwrap_or(BUCKETS.len());
    app.metrics.latency[bucket].fetch_add(1, Ordering::Relaxed);
    app.metrics
        .latency_sum_us
        .fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    response
}

/// A request let through the monitor's front door: its body, the monitor's clock, and the
/// in-flight slot it holds until dropped.
struct Admitted<'a> {
    bytes: axum::body::Bytes,
    now: f64,
    _slot: InFlight<'a>,
}

/// The checks every protocol shares, in order: capacity (503), identity (401), an unknown model
/// (404, when `unknown` says so), a blocked client (403), rate and volume (429), and the body,
/// bounded before it is read (413). Fills `seen`.
async fn admit<'a>(
    app: &'a App,
    headers: &HeaderMap,
    unknown: Option<String>,
    body: Body,
    seen: &mut Seen,
) -> Result<Admitted<'a>, Response> {
    // Capacity.
    let n = app.in_flight.fetch_add(1, Ordering::Relaxed);
    let slot = InFlight(&app.in_flight);
    if n >= app.cfg.server.max_in_flight {
        seen.client = seen.ip.clone();
        seen.fired.push(Fired {
            rule: &sig::OVERLOAD,
            action: Action::Block,
            message: format!(
                "{n} requests in flight (max {})",
                app.cfg.server.max_in_flight
            ),
            evidence: json!({ "in_flight": n }),
        });
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server at capacity; retry later",
        ));
    }
    // Identity.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    seen.client = match bearer {
        Some(key) => {
            let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()));
            match app.keys.get(&hash) {
                Some(c) => c.clone(),
                None if app.cfg.auth.required || !app.keys.is_empty() => {
                    seen.client = format!("unknown-key:{}", &hash[..12]);
                    seen.fired.push(Fired {
                        rule: &sig::AUTH_FAILED,
                        action: Action::Block,
                        message: "an API key that is not in the config".into(),
                        evidence: json!({ "key_sha256_prefix": &hash[..12] }),
                    });
                    return Err(error(StatusCode::UNAUTHORIZED, "unknown API key"));
                }
                None => seen.ip.clone(),
            }
        }
        None if app.cfg.auth.required => {
            seen.client = seen.ip.clone();
            seen.fired.push(Fired {
                rule: &sig::AUTH_FAILED,
                action: Action::Block,
                message: "no API key (Authorization: Bearer …)".into(),
                evidence: json!({}),
            });
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "an API key is required: Authorization: Bearer <key>",
            ));
        }
        None => seen.ip.clone(),
    };
    if let Some(message) = unknown {
        return Err(error(StatusCode::NOT_FOUND, &message));
    }
    let now = now_secs(app);
    // Blocked clients, rate and volume: one short critical section.
    {
        let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
        let limits = &app.cfg.limits;
        let c = client_state(&mut m, &seen.client, limits.burst, now);
        if c.blocked_until > now {
            let by = c.blocked_by;
            return Err(error(
                StatusCode::FORBIDDEN,
                &format!(
                    "client blocked by {by} for {:.0} more seconds",
                    c.blocked_until - now
                ),
            ));
        }
        if limits.rate > 0.0 && !c.bucket.take(limits.rate, limits.burst, now) {
            let action = app.cfg.action(sig::RATE.id);
            seen.fired.push(Fired {
                rule: &sig::RATE,
                action,
                message: format!("over {} requests/s (burst {})", limits.rate, limits.burst),
                evidence: json!({ "rate": limits.rate, "burst": limits.burst }),
            });
            if action != Action::Log {
                return Err(error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded"));
            }
        }
        if now - c.window_start >= limits.volume_window_seconds as f64 {
            c.window_start = now;
            c.volume = 0;
            c.scores = 0;
            c.tokens = 0;
        }
        c.volume += 1;
        if limits.volume > 0 && c.volume > limits.volume {
            let action = app.cfg.action(sig::VOLUME.id);
            seen.fired.push(Fired {
                rule: &sig::VOLUME,
                action,
                message: format!(
                    "{} requests in the current {} s window (budget {})",
                    c.volume, limits.volume_window_seconds, limits.volume
                ),
                evidence: json!({ "volume": c.volume, "budget": limits.volume }),
            });
            if action != Action::Log {
                return Err(error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "query budget exhausted",
                ));
            }
        }
    }
    // Body, bounded before it is read.
    let max = app.cfg.server.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let oversize = |seen: &mut Seen, size: String| {
        seen.fired.push(Fired {
            rule: &sig::OVERSIZE,
            action: Action::Block,
            message: format!("a body of {size} bytes (limit {max})"),
            evidence: json!({ "limit": max }),
        });
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body over {max} bytes"),
        )
    };
    if let Some(len) = declared
        && len > max
    {
        return Err(oversize(seen, len.to_string()));
    }
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(_) => return Err(oversize(seen, format!("more than {max}"))),
    };
    seen.bytes = bytes.len();
    Ok(Admitted {
        bytes,
        now,
        _slot: slot,
    })
}

/// The OIP v2 pipeline; fills `seen` for the event.
async fn handle(
    app: &App,
    name: &str,
    headers: &HeaderMap,
    body: Body,
    seen: &mut Seen,
) -> Response {
    let unknown = (name != app.name).then(|| format!("no model `{name}`"));
    let Admitted {
        bytes, now, _slot, ..
    } = match admit(app, headers, unknown, body, seen).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    // Parse and check the tensors.
    let request: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return schema_violation(app, seen, format!("the body is not JSON: {e}")),
    };
    let (data, rows) = match check_request(app, &request) {
        Ok(x) => x,
        Err(m) => return schema_violation(app, seen, m),
    };
    seen.input = Some(input_summary(app, &data));
    // Inference, here or upstream.
    let (outputs, upstream_body) = match infer_backend(app, name, &data, bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let wanted = requested_outputs(&request);
    let scores_sent = outputs
        .probabilities()
        .is_some_and(|p| wanted.as_ref().is_none_or(|w| w.iter().any(|n| n == &p.0)));
    let answers = classifier(&outputs);
    if let Some((labels, margins)) = &answers {
        seen.output = Some(json!({ "labels": labels, "margins": crate::onnx::json_row(margins) }));
    }
    detect(app, seen, &rows, answers.as_ref(), scores_sent, now);
    if let Some(r) = refused(seen) {
        return r;
    }
    match upstream_body {
        Some(body) => pass_through(body),
        None => respond(app, &request, &outputs),
    }
}

/// The answer that refuses a request on which a signal with a `block` (403) or `throttle` (429)
/// action fired; `block` wins when both did.
fn refused(seen: &Seen) -> Option<Response> {
    let f = seen
        .fired
        .iter()
        .find(|f| f.action == Action::Block)
        .or_else(|| seen.fired.iter().find(|f| f.action == Action::Throttle))?;
    let code = match f.action {
        Action::Throttle => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::FORBIDDEN,
    };
    Some(error(
        code,
        &format!("refused: {} ({})", f.rule.id, f.message),
    ))
}

/// Parse, run, answer: the same serving path without any monitoring.
async fn unmonitored(app: &App, name: &str, body: Body) -> Response {
    if name != app.name {
        return error(StatusCode::NOT_FOUND, &format!("no model `{name}`"));
    }
    let Ok(bytes) = axum::body::to_bytes(body, app.cfg.server.max_body_bytes).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    };
    let request: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
            );
        }
    };
    let (data, _) = match check_request(app, &request) {
        Ok(x) => x,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    match infer_backend(app, name, &data, bytes).await {
        Ok((_, Some(body))) => pass_through(body),
        Ok((o, None)) => respond(app, &request, &o),
        Err(r) => r,
    }
}

fn pass_through(body: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Run the checked tensors: in-process, or by forwarding the original body upstream (then the
/// upstream's answer is parsed for the detectors and passed through unchanged). An upstream
/// error status is passed through too; an unreachable upstream is 502.
async fn infer_backend(
    app: &App,
    name: &str,
    data: &[(String, Data)],
    body: axum::body::Bytes,
) -> Result<(Outputs, Option<axum::body::Bytes>), Response> {
    match &app.backend {
        Backend::Local(pool) => {
            let outputs = {
                let i = app.next_model.fetch_add(1, Ordering::Relaxed) % pool.len();
                let mut model = pool[i].lock().unwrap_or_else(|p| p.into_inner());
                model.run(data)
            };
            outputs.map(|o| (o, None)).map_err(|e| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("inference failed: {}", e.lines().next().unwrap_or("")),
                )
            })
        }
        Backend::Remote { client, base } => {
            use http_body_util::BodyExt;
            let url = format!("{base}/v2/models/{name}/infer");
            let req = hyper::Request::post(&url)
                .header(header::CONTENT_TYPE, "application/json")
                .body(http_body_util::Full::new(body))
                .map_err(|e| error(StatusCode::BAD_GATEWAY, &e.to_string()))?;
            let resp = client.request(req).await.map_err(|e| {
                error(
                    StatusCode::BAD_GATEWAY,
                    &format!(
                        "upstream `{base}` did not answer ({e}); is the model server running there?"
                    ),
                )
            })?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| error(StatusCode::BAD_GATEWAY, &format!("upstream body: {e}")))?
                .to_bytes();
            if !status.is_success() {
                return Err((status, pass_through(bytes)).into_response());
            }
            let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                error(
                    StatusCode::BAD_GATEWAY,
                    &format!("upstream answered something that is not JSON: {e}"),
                )
            })?;
            Ok((parse_outputs(&v), Some(bytes)))
        }
    }
}

/// An OIP v2 response's outputs as the detectors read them.
fn parse_outputs(v: &Value) -> Outputs {
    let mut o = Outputs::default();
    for t in v["outputs"].as_array().into_iter().flatten() {
        let name = t["name"].as_str().unwrap_or("").to_string();
        let shape: Vec<i64> = t["shape"]
            .as_array()
            .map(|d| d.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let mut values = vec![];
        if flatten(&t["data"], &mut values, usize::MAX).is_err() {
            o.undecoded.push(name);
            continue;
        }
        match t["datatype"].as_str().unwrap_or("") {
            "FP32" | "FP64" | "FP16" => {
                o.floats
                    .push((name, shape, values.iter().map(|&x| x as f32).collect()))
            }
            dt if elem_for(dt).is_some() => {
                o.ints
                    .push((name, shape, values.iter().map(|&x| x as i64).collect()))
            }
            _ => o.undecoded.push(name),
        }
    }
    o
}

/// `GET {base}/v2/models/{name}`: the upstream model's inputs and outputs.
async fn upstream_tensors(
    client: &Upstream,
    base: &str,
    name: &str,
) -> Result<(Vec<InputSpec>, Vec<InputSpec>), ServeError> {
    use http_body_util::BodyExt;
    let url = format!("{base}/v2/models/{name}");
    let err = |m: String| ServeError::Other(format!("upstream metadata `{url}`: {m}"));
    let req = hyper::Request::get(&url)
        .body(http_body_util::Full::new(axum::body::Bytes::new()))
        .map_err(|e| err(e.to_string()))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| err(format!("{e}; is the upstream running and speaking OIP v2?")))?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| err(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        return Err(err(format!("HTTP {status}")));
    }
    let meta: Value = serde_json::from_slice(&bytes).map_err(|e| err(format!("not JSON: {e}")))?;
    let specs = |key: &str| -> Vec<InputSpec> {
        meta.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|t| InputSpec {
                        name: t["name"].as_str().unwrap_or("").to_string(),
                        dtype: t["datatype"].as_str().unwrap_or("").to_string(),
                        dims: t["shape"]
                            .as_array()
                            .map(|d| d.iter().filter_map(Value::as_i64).collect())
                            .unwrap_or_default(),
                        elem: elem_for(t["datatype"].as_str().unwrap_or("")),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok((specs("inputs"), specs("outputs")))
}

/// The OIP v2 response: the outputs the request asked for (all by default).
fn respond(app: &App, request: &Value, outputs: &Outputs) -> Response {
    let wanted = requested_outputs(request);
    let mut out = vec![];
    for (n, shape, v) in &outputs.floats {
        if wanted.as_ref().is_none_or(|w| w.contains(n)) {
            out.push(json!({ "name": n, "shape": shape, "datatype": "FP32", "data": crate::onnx::json_row(v) }));
        }
    }
    for (n, shape, v) in &outputs.ints {
        if wanted.as_ref().is_none_or(|w| w.contains(n)) {
            out.push(json!({ "name": n, "shape": shape, "datatype": "INT64", "data": v }));
        }
    }
    let mut body = json!({ "model_name": app.name, "model_version": "1", "outputs": out });
    if let Some(id) = request.get("id") {
        body["id"] = id.clone();
    }
    axum::Json(body).into_response()
}

fn requested_outputs(request: &Value) -> Option<Vec<String>> {
    request.get("outputs").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|o| o.get("name").and_then(Value::as_str).map(String::from))
            .collect()
    })
}

fn schema_violation(app: &App, seen: &mut Seen, message: String) -> Response {
    seen.fired.push(Fired {
        rule: &sig::SCHEMA,
        action: app.cfg.action(sig::SCHEMA.id),
        message: message.clone(),
        evidence: json!({}),
    });
    error(StatusCode::BAD_REQUEST, &message)
}

fn client_state<'a>(m: &'a mut Monitor, client: &str, burst: f64, now: f64) -> &'a mut Client {
    if !m.clients.contains(client) {
        m.clients.put(
            client.to_string(),
            Client {
                bucket: TokenBucket::new(burst.max(1.0), now),
                window_start: now,
                volume: 0,
                scores: 0,
                prada: Default::default(),
                walk: Walk::default(),
                tokens: 0,
                last_finding: HashMap::new(),
                blocked_until: 0.0,
                blocked_by: "",
            },
        );
    }
    m.clients.get_mut(client).expect("just inserted")
}

/// A classifier's answers per row: the label (the label output, else the arg-max) and the margin
/// of the top probability over the next. `None` without a probabilities output.
fn classifier(o: &Outputs) -> Option<(Vec<usize>, Vec<f32>)> {
    let probs = o.probabilities()?;
    let classes = probs.1.get(1).copied().unwrap_or(0).max(0) as usize;
    if classes < 2 {
        return None;
    }
    let rows: Vec<&[f32]> = probs.2.chunks(classes).collect();
    let labels = match o.label() {
        Some(l) if l.2.len() == rows.len() => l.2.iter().map(|&v| v.max(0) as usize).collect(),
        _ => rows
            .iter()
            .map(|p| {
                p.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i)
            })
            .collect(),
    };
    Some((labels, rows.iter().map(|p| margin(p)).collect()))
}

fn margin(p: &[f32]) -> f32 {
    let mut top = [f32::NEG_INFINITY; 2];
    for &v in p {
        if v > top[0] {
            top = [v, top[0]];
        } else if v > top[1] {
            top[1] = v;
        }
    }
    top[0] - top[1]
}

fn elem_for(datatype: &str) -> Option<Elem> {
    Some(match datatype {
        "FP32" => Elem::F32,
        "FP64" => Elem::F64,
        "INT64" => Elem::I64,
        "INT32" => Elem::I32,
        "INT16" => Elem::I16,
        "INT8" => Elem::I8,
        "UINT64" => Elem::U64,
        "UINT32" => Elem::U32,
        "UINT16" => Elem::U16,
        "UINT8" => Elem::U8,
        "BOOL" => Elem::Bool,
        _ => return None,
    })
}

fn flatten(v: &Value, out: &mut Vec<f64>, limit: usize) -> Result<(), String> {
    match v {
        Value::Array(a) => {
            for x in a {
                flatten(x, out, limit)?;
            }
            Ok(())
        }
        Value::Number(n) => {
            if out.len() >= limit {
                return Err("more values than the shape says".into());
            }
            out.push(n.as_f64().ok_or("a number out of range")?);
            Ok(())
        }
        Value::Bool(b) => {
            out.push(if *b { 1.0 } else { 0.0 });
            Ok(())
        }
        Value::String(s) => Err(format!(
            "a string value `{}`: tensors hold numbers (NaN and infinities are not valid input)",
            s.chars().take(20).collect::<String>()
        )),
        Value::Null => Err("a null value".into()),
        Value::Object(_) => Err("an object where a number belongs".into()),
    }
}

/// Check an OIP v2 infer body against the model; the tensors to run, and the rows of a single
/// float [N, F] input (for the detectors).
/// The named tensors to run, and the rows the detectors read.
type Checked = (Vec<(String, Data)>, Vec<Vec<f32>>);

fn check_request(app: &App, v: &Value) -> Result<Checked, String> {
    let inputs = v
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or("no `inputs` array (Open Inference Protocol v2)")?;
    let mut data = Vec::new();
    let mut rows = Vec::new();
    for spec in &app.inputs {
        let given: Vec<&Value> = inputs
            .iter()
            .filter(|i| i.get("name").and_then(Value::as_str) == Some(spec.name.as_str()))
            .collect();
        let t = match given[..] {
            [t] => t,
            [] => return Err(format!("input `{}` is missing", spec.name)),
            _ => return Err(format!("input `{}` is given twice", spec.name)),
        };
        let elem = spec.elem.ok_or(format!(
            "input `{}` has a type this server cannot take",
            spec.name
        ))?;
        let dt = t.get("datatype").and_then(Value::as_str).unwrap_or("");
        if elem_for(dt) != Some(elem) {
            return Err(format!(
                "input `{}`: datatype `{dt}`, the model takes {}",
                spec.name,
                oip_dtype(Some(elem))
            ));
        }
        let shape: Vec<i64> = t
            .get("shape")
            .and_then(Value::as_array)
            .ok_or(format!("input `{}`: no `shape`", spec.name))?
            .iter()
            .map(|d| d.as_i64().filter(|&d| d >= 0))
            .collect::<Option<_>>()
            .ok_or(format!(
                "input `{}`: shape must be non-negative integers",
                spec.name
            ))?;
        if shape.len() != spec.dims.len()
            || shape
                .iter()
                .zip(&spec.dims)
                .any(|(&s, &d)| d >= 0 && s != d)
        {
            return Err(format!(
                "input `{}`: shape {shape:?}, the model takes {:?} (-1: any)",
                spec.name, spec.dims
            ));
        }
        let count = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d as usize))
            .ok_or(format!("input `{}`: shape too large", spec.name))?;
        let mut values = Vec::with_capacity(count.min(1 << 20));
        flatten(t.get("data").unwrap_or(&Value::Null), &mut values, count)
            .map_err(|m| format!("input `{}`: {m}", spec.name))?;
        if values.len() != count {
            return Err(format!(
                "input `{}`: {} values for shape {shape:?} ({count})",
                spec.name,
                values.len()
            ));
        }
        let d = match elem {
            Elem::F32 => Data::F32(shape.clone(), values.iter().map(|&x| x as f32).collect()),
            Elem::F64 => Data::F64(shape.clone(), values.clone()),
            e => {
                let (lo, hi) = e.int_range();
                if let Some(bad) = values
                    .iter()
                    .find(|&&x| x.fract() != 0.0 || x < lo as f64 || x > hi as f64)
                {
                    return Err(format!(
                        "input `{}`: {bad} is not a {} value",
                        spec.name,
                        oip_dtype(Some(e))
                    ));
                }
                Data::Int(e, shape.clone(), values.iter().map(|&x| x as i64).collect())
            }
        };
        if app.features.is_some() {
            let f = spec.dims[1] as usize;
            let floats: Vec<f32> = values.iter().map(|&x| x as f32).collect();
            if let Some(i) = floats.iter().position(|x| !x.is_finite()) {
                return Err(format!("input `{}`: value {i} is not finite", spec.name));
            }
            rows = floats.chunks(f).map(<[f32]>::to_vec).collect();
            if let Some(b) = &app.baseline {
                for (r, row) in rows.iter().enumerate() {
                    if let Some((j, v, lo, hi)) = b.out_of_range(row) {
                        return Err(format!(
                            "input `{}` row {r} feature {j} = {v}, outside the baseline's range [{lo}, {hi}]",
                            spec.name
                        ));
                    }
                }
            }
        }
        data.push((spec.name.clone(), d));
    }
    if inputs.len() != app.inputs.len() {
        let names: Vec<&str> = app.inputs.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "unknown inputs; the model takes: {}",
            names.join(", ")
        ));
    }
    Ok((data, rows))
}

/// Digest (keyed BLAKE3 of the values), shape, dtype and summary statistics; raw values only
/// when the config asks.
fn input_summary(app: &App, data: &[(String, Data)]) -> Value {
    let mut m = Map::new();
    for (name, d) in data {
        let values = d.floats();
        let mut h = blake3::Hasher::new_keyed(&app.key);
        for v in &values {
            h.update(&v.to_le_bytes());
        }
        let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0f64);
        for &v in &values {
            lo = lo.min(v);
            hi = hi.max(v);
            sum += v as f64;
        }
        let mut t = json!({
            "digest": h.finalize().to_hex().to_string(),
            "shape": d.shape(),
            "dtype": d.dtype(),
        });
        if !values.is_empty() {
            t["stats"] = json!({ "min": lo, "max": hi, "mean": sum / values.len() as f64 });
        }
        if app.cfg.log.log_inputs {
            t["values"] = crate::onnx::json_row(&values);
        }
        m.insert(name.clone(), t);
    }
    Value::Object(m)
}

/// The stateful detectors, after inference.
fn detect(
    app: &App,
    seen: &mut Seen,
    rows: &[Vec<f32>],
    answers: Option<&(Vec<usize>, Vec<f32>)>,
    scores: bool,
    now: f64,
) {
    let d = &app.cfg.detect;
    let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
    let client = seen.client.clone();
    // Probing first (global), then the client's own state.
    let mut near: Option<super::detect::Match> = None;
    if let Some(p) = m.probing.as_mut() {
        for row in rows.iter().take(64) {
            let hit = p.observe(row, &client, d.probing_match);
            if hit.near_duplicate
                && near
                    .as_ref()
                    .is_none_or(|n| hit.cluster.near > n.cluster.near)
            {
                near = Some(hit);
            }
        }
    }
    let burst = app.cfg.limits.burst;
    let c = client_state(&mut m, &client, burst, now);
    if let Some(hit) = near
        && hit.cluster.near >= d.probing_queries
    {
        let clients: Vec<Value> = hit
            .cluster
            .clients
            .iter()
            .map(|(c, n)| json!({ "client": c, "near_duplicates": n }))
            .collect();
        seen.fired.push(Fired {
            rule: &sig::PROBING,
            action: app.cfg.action(sig::PROBING.id),
            message: format!(
                "{} near-duplicate queries in one cluster from {} client(s); this query shares {} of 50 fingerprint hashes with an earlier one",
                hit.cluster.near,
                hit.cluster.clients.len(),
                hit.shared
            ),
            evidence: json!({ "cluster_near_duplicates": hit.cluster.near, "shared_hashes": hit.shared, "clients": clients }),
        });
    }
    if let (Some(b), Some(_)) = (&app.baseline, app.features) {
        for row in rows.iter().take(64) {
            let (share, worst) = b.ood(row, d.ood_z);
            if share > d.ood_share {
                seen.fired.push(Fired {
                    rule: &sig::OOD,
                    action: app.cfg.action(sig::OOD.id),
                    message: format!(
                        "{:.0} % of features beyond |z| {} of the baseline (worst |z| {worst:.1})",
                        share * 100.0,
                        d.ood_z
                    ),
                    evidence: json!({ "share": share, "max_z": worst }),
                });
                break;
            }
        }
    }
    if let Some((labels, margins)) = answers {
        for (r, row) in rows.iter().enumerate().take(64) {
            let label = labels.get(r).copied().unwrap_or(0);
            if let Some(proj) = &app.projection {
                let x = proj.apply(row);
                if let Some(w) = c.prada.observe(&x, label, d.extraction_min_queries)
                    && w < d.extraction_w
                {
                    seen.fired.push(Fired {
                        rule: &sig::EXTRACTION,
                        action: app.cfg.action(sig::EXTRACTION.id),
                        message: format!(
                            "Shapiro–Wilk W = {w:.3} < {} over the client's last query distances ({} queries)",
                            d.extraction_w, c.prada.queries
                        ),
                        evidence: json!({ "shapiro_w": w, "threshold": d.extraction_w, "queries": c.prada.queries }),
                    });
                }
            }
            let mg = margins.get(r).copied().unwrap_or(f32::INFINITY);
            let flips = c.walk.observe(label, mg, d.boundary_margin);
            if flips >= d.boundary_flips {
                seen.fired.push(Fired {
                    rule: &sig::BOUNDARY_WALK,
                    action: app.cfg.action(sig::BOUNDARY_WALK.id),
                    message: format!(
                        "{flips} label flips at margins below {} among the client's last 64 queries",
                        d.boundary_margin
                    ),
                    evidence: json!({ "flips": flips, "margin": d.boundary_margin }),
                });
            }
        }
    }
    if scores {
        c.scores += rows.len().max(1) as u64;
        if c.scores > d.harvest_scores {
            seen.fired.push(Fired {
                rule: &sig::HARVEST,
                action: app.cfg.action(sig::HARVEST.id),
                message: format!(
                    "{} score vectors in the current window (over {})",
                    c.scores, d.harvest_scores
                ),
                evidence: json!({ "score_vectors": c.scores }),
            });
        }
    }
    settle_client(app, c, seen, now);
}

/// Allow-lists, then blocks: a `block` finding refuses the client's later requests for
/// `block_seconds`.
fn settle_client(app: &App, c: &mut Client, seen: &mut Seen, now: f64) {
    let client = seen.client.clone();
    seen.fired.retain(|f| !app.cfg.allowed(&client, f.rule.id));
    if let Some(f) = seen.fired.iter().find(|f| f.action == Action::Block) {
        c.block(f.rule.id, now + app.cfg.detect.block_seconds as f64);
    }
}

/// Add LLM tokens to a client's count for the window.
fn add_tokens(app: &App, client: &str, tokens: u64, now: f64) {
    let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
    client_state(&mut m, client, app.cfg.limits.burst, now).tokens += tokens;
}

/// [`settle_client`] for handlers that do not hold the monitor.
fn settle(app: &App, seen: &mut Seen, now: f64) {
    let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
    let c = client_state(&mut m, &seen.client, app.cfg.limits.burst, now);
    settle_client(app, c, seen, now);
}

/// A `finding` event: the signal, its ATLAS technique, what was done, and the evidence.
fn finding_event(f: &Fired) -> Map<String, Value> {
    let (tid, tname) = sig::atlas(f.rule.id).unwrap_or(("", ""));
    let mut e = Map::new();
    e.insert("kind".into(), "finding".into());
    e.insert(
        "signal".into(),
        json!({ "id": f.rule.id, "title": f.rule.description }),
    );
    e.insert("severity".into(), f.rule.severity.as_str().into());
    e.insert("action".into(), json!(f.action));
    e.insert(
        "attack".into(),
        json!([{ "framework": "MITRE ATLAS", "version": "5.6.0", "technique": { "id": tid, "name": tname } }]),
    );
    e.insert("message".into(), f.message.clone().into());
    e.insert("evidence".into(), f.evidence.clone());
    e
}

/// A finding of one request: [`finding_event`] with the client, the request id and the model.
fn request_finding(f: &Fired, client: &Value, request_id: &str, model: &str) -> Map<String, Value> {
    let mut e = finding_event(f);
    e.insert("client".into(), client.clone());
    e.insert("request".into(), json!({ "id": request_id }));
    e.insert("model".into(), json!({ "name": model }));
    e
}

/// Write the request's events; with `always` durability, wait for them.
async fn record(app: &Arc<App>, seen: &Seen, started: Instant) -> Result<(), String> {
    let id = seen.id;
    let model = seen.model.as_str();
    let now = now_secs(app);
    let mut events = Vec::new();
    let mut findings = Vec::new();
    {
        let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
        let cooldown = app.cfg.detect.cooldown_seconds as f64;
        let burst = app.cfg.limits.burst;
        let c = client_state(&mut m, &seen.client, burst, now);
        for f in &seen.fired {
            app.metrics.count_signal(f.rule.id);
            let last = c.last_finding.get(f.rule.id).copied();
            if last.is_some_and(|t| now - t < cooldown) {
                continue;
            }
            c.last_finding.insert(f.rule.id, now);
            findings.push(f);
        }
    }
    let request_id = format!("{id:016x}");
    let client = json!({ "id": seen.client, "ip": seen.ip });
    // Dropped events are never silent: the next event says how many.
    let dropped = app.log.stats.dropped.load(Ordering::Relaxed);
    let reported = app.dropped_reported.swap(dropped, Ordering::Relaxed);
    if dropped > reported {
        app.metrics.count_signal(sig::LOG_DROPPED.id);
        events.push(finding_event(&Fired {
            rule: &sig::LOG_DROPPED,
            action: Action::Log,
            message: format!(
                "{} event(s) dropped since the last report ({dropped} in all)",
                dropped - reported
            ),
            evidence: json!({ "dropped": dropped - reported, "dropped_total": dropped }),
        }));
    }
    for f in findings {
        events.push(request_finding(f, &client, &request_id, model));
    }
    if app.cfg.log.requests || !events.is_empty() {
        let mut e = Map::new();
        e.insert("kind".into(), "request".into());
        e.insert("client".into(), client);
        e.insert(
            "request".into(),
            json!({
                "id": request_id,
                "protocol": app.protocol.as_str(),
                "path": seen.path,
                "status": seen.status,
                "bytes": seen.bytes,
                "latency_us": started.elapsed().as_micros() as u64,
            }),
        );
        e.insert("model".into(), json!({ "name": model }));
        if let Some(i) = &seen.input {
            e.insert("input".into(), i.clone());
        }
        if let Some(o) = &seen.output {
            e.insert("output".into(), o.clone());
        }
        let ids: Vec<&str> = seen.fired.iter().map(|f| f.rule.id).collect();
        e.insert("signals".into(), json!(ids));
        events.push(e);
    }
    let Some(last) = events.pop() else {
        return Ok(());
    };
    for e in events {
        app.log.log(e);
    }
    match app.log.durability {
        Durability::Group => {
            app.log.log(last);
            Ok(())
        }
        Durability::Always => {
            let app = app.clone();
            tokio::task::spawn_blocking(move || app.log.log_durable(last).map(|_| ()))
                .await
                .map_err(|e| e.to_string())?
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
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
    let clients = app
        .monitor
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clients
        .len();
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
