//! `modelsec serve`: an ONNX model behind the Open Inference Protocol v2 REST API, with the
//! monitor in the request path; `modelsec proxy`: the same monitor in front of an OIP v2,
//! OpenAI-compatible or TorchServe server.
//!
//! One file per protocol ([`oip`], [`openai`], [`torchserve`]) and per concern: the front door
//! every protocol shares ([`admission`]), the upstream client ([`upstream`]), per-client state
//! ([`state`]), the detectors' run over a request's rows ([`detectors`]), what a request fired
//! and its events ([`record`]), Prometheus counters ([`metrics`]) and the shared state
//! ([`app`]).
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
use super::detect::{Answers, Baseline, Engine};
use super::event::{self as ev, Event};
use super::log::{Durability, EventLog};
use super::rules::signals as sig;
use super::state::{ClientState, ClientStore, LocalStore};
use crate::onnx::{Data, Elem, InputSpec, Outputs};
use crate::report::Rule;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod admission;
mod answer;
mod app;
mod conn;
mod detectors;
mod metrics;
mod oip;
mod openai;
mod pool;
mod record;
mod replicate;
mod shared;
mod state;
mod torchserve;
mod upstream;

use admission::*;
use answer::*;
use app::*;
use conn::Conns;
use detectors::*;
use metrics::*;
use oip::*;
use pool::{Pool, PoolError};
use record::*;
use shared::charge_shared;
use state::*;
use upstream::*;

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

/// Serve until SIGINT/SIGTERM. `ready` gets the bound address once the server accepts.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .enable_all()
        .build()
        .map_err(|e| ServeError::Other(format!("cannot start the runtime: {e}")))?;
    rt.block_on(run(opts, ready))
}

async fn run(opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let cfg = opts.config;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let protocol = opts.protocol;
    let (backend, inputs, outputs, name) = match &opts.upstream {
        None => {
            let threads = match cfg.server.inference_threads {
                0 => workers,
                n => n,
            };
            crate::onnx::cap_memory(cfg.server.max_memory)?;
            let shared = crate::onnx::SessionOptions { shared_arena: true };
            let (first, _) = crate::onnx::open_with(&opts.model, shared)?;
            let inputs = first.inputs.clone();
            let outputs = first.outputs();
            servable(&inputs, &outputs)?;
            let mut models = vec![first];
            for _ in 1..threads {
                models.push(crate::onnx::open_with(&opts.model, shared)?.0);
            }
            // A tenth of the deadline: how long a run of a client holding more than its
            // share goes on before a waiting client with none takes its thread.
            let preempt_after = conn::secs(cfg.server.inference_timeout / 10.0);
            let pool = Pool::start(models, true, preempt_after).map_err(ServeError::Other)?;
            let name = cfg.server.model_name.clone().unwrap_or_else(|| {
                opts.model
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_else(|| "model".into())
            });
            (Backend::Local(pool), inputs, outputs, name)
        }
        Some((base, name)) => {
            let up = Upstream::new(base, &cfg);
            // OIP v2 describes the model's tensors; OpenAI and TorchServe describe none.
            let (inputs, outputs) = if protocol == Protocol::OipV2 {
                let (inputs, outputs) = upstream_tensors(&up, name).await?;
                if inputs.is_empty() {
                    return Err(ServeError::Other(format!(
                        "upstream `{}` describes model `{name}` without inputs",
                        up.base
                    )));
                }
                (inputs, outputs)
            } else {
                (vec![], vec![])
            };
            (Backend::Remote(up), inputs, outputs, name.clone())
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
    let engine = Arc::new(
        Engine::new(features.unwrap_or(0), baseline.clone(), &cfg.detect, key)
            .with_coverage_budgets(
                cfg.clients
                    .iter()
                    .filter_map(|(name, b)| Some((name.clone(), b.extraction_distinct?))),
            ),
    );
    let clients = {
        let (engine, limits, token_burst) =
            (engine.clone(), cfg.limits.clone(), cfg.llm.token_burst);
        LocalStore::new(cfg.server.max_clients, move |now| {
            ClientState::new(now, &limits, token_burst, engine.client())
        })
    };
    let log = EventLog::open(cfg.log_options().map_err(ServeError::Other)?)?;
    let shared = match cfg.state.backend {
        crate::monitor::state::redis::Backend::Redis => Some(Arc::new(
            crate::monitor::state::redis::Shared::connect(&cfg.state).map_err(ServeError::Other)?,
        )),
        crate::monitor::state::redis::Backend::Local => None,
    };
    let keys = cfg
        .auth
        .keys
        .iter()
        .map(|k| (k.sha256.to_ascii_lowercase(), k.client.clone()))
        .collect();
    let app = Arc::new(App {
        name: name.clone(),
        inputs,
        outputs,
        backend,
        conns: Conns::new(conn::ConnLimits::from_config(
            &cfg.server,
            opts.upstream.is_some(),
        )),
        budget: Budget::new(cfg.server.max_buffered_bytes),
        keys,
        log,
        clients,
        shared,
        replicator: std::sync::OnceLock::new(),
        engine,
        metrics: Metrics {
            latency: (0..=BUCKETS.len()).map(|_| AtomicU64::new(0)).collect(),
            ..Metrics::default()
        },
        in_flight: AtomicUsize::new(0),
        next_request: AtomicU64::new(0),
        dropped_reported: AtomicU64::new(0),
        dropped_reported_at: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
        baseline,
        key,
        started: Instant::now(),
        features,
        monitor_on: opts.monitor,
        protocol,
        upstream_auth,
        cfg,
    });
    if app.shared.is_some() && app.cfg.state.share_detectors && app.features.is_some() {
        let r = replicate::start(&app).map_err(ServeError::Other)?;
        let _ = app.replicator.set(r);
    }
    let listener = listen(opts.listen).map_err(|e| ServeError::Listen {
        addr: opts.listen.to_string(),
        message: e.to_string(),
    })?;
    let addr = listener.local_addr().map_err(|e| ServeError::Listen {
        addr: opts.listen.to_string(),
        message: e.to_string(),
    })?;
    let start = Event::Health(ev::Health::Started {
        monitor: ev::Started {
            version: env!("CARGO_PKG_VERSION").into(),
            listen: addr.to_string(),
            config_digest: opts.config_digest.clone(),
            durability: app.cfg.log.durability,
            monitoring: opts.monitor,
            protocol: protocol.as_str().into(),
            model: match &opts.upstream {
                None => ev::ModelSource::File {
                    name: name.clone(),
                    file: opts.model.display().to_string(),
                },
                Some((base, _)) => ev::ModelSource::Upstream {
                    name: name.clone(),
                    upstream: base.clone(),
                },
            },
        },
    });
    app.log
        .log_durable(&start)
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
            .route("/v1/chat/completions", post(openai::openai))
            .route("/v1/completions", post(openai::openai))
            .route("/v1/embeddings", post(openai::openai)),
        Protocol::TorchServe => router
            .route("/predictions/{model}", post(torchserve::torchserve))
            .route(
                "/predictions/{model}/{version}",
                post(torchserve::torchserve),
            ),
    };
    let router = router.fallback(not_served).with_state(app.clone());
    ready(addr);
    conn::serve_connections(listener, router, app.clone(), shutdown()).await;
    let stop = Event::Health(ev::Health::Stopped {
        log: ev::LogCounts {
            written: app.log.stats.written.load(Ordering::Relaxed),
            dropped: app.log.stats.dropped.load(Ordering::Relaxed),
        },
    });
    let _ = app.log.log_durable(&stop);
    app.log.close();
    Ok(())
}

/// Listen with a backlog of 4096 (the usual `somaxconn`): a burst of connections waits in the
/// kernel's queue rather than being dropped and retried a second later.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Refuse, at start, a model with an input or output this server cannot pass over OIP v2.
fn servable(inputs: &[InputSpec], outputs: &[InputSpec]) -> Result<(), ServeError> {
    for s in inputs {
        if s.elem.is_none() && !s.is_string() {
            return Err(ServeError::Other(format!(
                "input `{}` is {}, which OIP v2 requests cannot carry here: serve takes float32, float64, integer, bool and string (BYTES) tensors; convert that input (e.g. float16 to float32) and serve the converted model",
                s.name, s.dtype
            )));
        }
    }
    for s in outputs {
        if s.elem.is_none() && !s.is_string() && !is_zipmap(s) {
            return Err(ServeError::Other(format!(
                "output `{}` is {}, which this server cannot answer: serve returns float32, float64, integer, bool and string tensors, and ZipMap class maps",
                s.name, s.dtype
            )));
        }
    }
    Ok(())
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
