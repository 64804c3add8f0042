//! `monitor.toml`: who may call, how much, what each signal does, where events go. Every key
//! has a default, so the monitor runs with no file (auth off, clients by address); unknown keys
//! are errors, with the line and column.

use super::log::Durability;
use crate::report::diag::{self, Diagnostics, Key as At};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a signal does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Write a finding event; serve the request.
    Log,
    /// Answer 429 while the condition holds.
    Throttle,
    /// Refuse this request and, for detectors, every later one from the client (403) for
    /// `block_seconds`.
    Block,
}

/// Recommended action sets for the detectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Every detector only logs.
    #[default]
    Log,
    /// The high-confidence evasion and extraction signals (`boundary-walk`, `probing`,
    /// `extraction`) answer 429 while they fire; the rest log.
    Throttle,
    /// Those three block the client (403 for `block_seconds`); `extraction-coverage` throttles.
    Block,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Actions for the detectors, as a set: `log` (the default: findings only), `throttle` or
    /// `block`. `[signals."…"]` overrides a signal's action.
    pub preset: Preset,
    pub server: Server,
    pub auth: Auth,
    pub limits: Limits,
    pub log: Log,
    pub detect: Detect,
    pub llm: Llm,
    pub upstream: UpstreamCfg,
    /// Where client state lives: this process, or Redis shared by replicas.
    pub state: super::state::redis::StateCfg,
    /// Events to a SIEM.
    pub export: super::export::ExportCfg,
    /// Per-signal overrides: `[signals."monitor/probing"] action = "block"`.
    pub signals: BTreeMap<String, SignalConfig>,
    /// Clients whose listed signals never fire (known benign optimisers, red teams).
    pub allow: Vec<Allow>,
    /// Budgets of one client (by its name: the `client` of its key, or its address without
    /// auth) in place of the defaults: `[clients."nightly-batch"] volume = 2000000`. A
    /// high-volume client (a batch job, a gateway sending many users' inputs under one key)
    /// keeps its volume and coverage signals at its own scale, where `[[allow]]` would
    /// silence them.
    pub clients: BTreeMap<String, ClientBudget>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientBudget {
    /// `limits.volume` for this client: queries per volume window.
    pub volume: Option<u64>,
    /// `detect.extraction_distinct` for this client: different inputs (none a near duplicate
    /// of another) answered per volume window that fire `monitor/extraction-coverage`.
    pub extraction_distinct: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Larger request bodies are refused with 413 before they are read. The default takes one
    /// realistic image request (a 640×640×3 float tensor as JSON is about 15 MB).
    pub max_body_bytes: usize,
    /// Request and response bodies held in memory at once, over all requests; a request that
    /// would pass it is shed with 503.
    pub max_buffered_bytes: usize,
    /// Requests being answered at once (from a complete body to the last byte of the answer);
    /// more are shed with 503.
    pub max_in_flight: usize,
    /// Clients whose state is kept (least recently seen evicted first).
    pub max_clients: usize,
    /// The model's name in the API (default: the file's stem).
    pub model_name: Option<String>,
    /// Seconds a request may wait for and spend in inference; a run still going then is
    /// stopped (504), a request still waiting is shed (503).
    pub inference_timeout: f64,
    /// Inference threads, one ONNX Runtime session each (0: one per core).
    pub inference_threads: usize,
    /// Largest answer, in bytes (and at most half as many output values: each takes two bytes
    /// of JSON or more), checked before the answer is built; over it, 422. For `proxy`, the
    /// largest upstream answer: a larger one is cut there (502).
    pub max_response_bytes: usize,
    /// Memory ONNX Runtime may allocate for runs, all sessions together (bytes; weights are
    /// outside it); a run that needs more fails (503).
    pub max_memory: usize,
    /// Connections open at once (lowered to fit the process's file-descriptor limit); at the
    /// cap the oldest idle connection is closed to make room, or the new one is refused.
    pub max_connections: usize,
    /// Connections open at once from one IP address, by the same rule.
    pub max_connections_per_ip: usize,
    /// Seconds a connection has to send a request's headers (from its first byte, or from the
    /// accept): slowloris.
    pub header_timeout: f64,
    /// Seconds a request has to send its body, plus one per 64 KiB received (408 after).
    pub body_timeout: f64,
    /// Seconds an idle keep-alive connection stays open.
    pub keep_alive_timeout: f64,
    /// Seconds SIGTERM/SIGINT waits for requests being answered before the server stops
    /// anyway (runs still going are stopped).
    pub shutdown_timeout: f64,
    /// This replica's name in its log's genesis and checkpoints, exported events and shared
    /// state (default: the host name).
    pub replica: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Require `Authorization: Bearer <key>`; when off, clients are told apart by address.
    pub required: bool,
    pub keys: Vec<Key>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// The client's name in events and metrics.
    pub client: String,
    /// Hex SHA-256 of the key (`printf %s KEY | sha256sum`); keys themselves are never stored.
    pub sha256: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Sustained requests per second per client (token bucket); 0 disables.
    pub rate: f64,
    /// Bucket size: requests a client may send at once.
    pub burst: f64,
    /// Sustained rows (queries) per second per client, every row of a batch counted; 0
    /// disables.
    pub row_rate: f64,
    /// Rows a client may send at once.
    pub row_burst: f64,
    /// Queries per client per `volume_window_seconds`: rows for tabular requests (every row
    /// of a batch), else requests; 0 disables.
    pub volume: u64,
    pub volume_window_seconds: u64,
    /// Images (TorchServe bodies) with more pixels than this are refused before the upstream
    /// decodes them: decompression bombs.
    pub max_image_pixels: u64,
}

/// LLM requests (`proxy --protocol openai`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Llm {
    /// Largest `max_tokens` / `max_completion_tokens` a request may ask for.
    pub max_tokens: u64,
    /// Most completions (`n`) a request may ask for.
    pub max_n: u64,
    /// Longest prompt, in estimated tokens (4 bytes each): context-window stuffing.
    pub max_prompt_tokens: u64,
    /// Tokens (prompt and completion, from the upstream's `usage`) per client per
    /// `limits.volume_window_seconds`; 0 disables.
    pub token_budget: u64,
    /// Sustained tokens per second per client (prompt estimate before, the answer's usage
    /// after); 0 disables.
    pub token_rate: f64,
    /// Tokens a client may spend at once.
    pub token_burst: f64,
    /// Strings that must never appear in an answer (a marker planted in the system prompt).
    pub canaries: Vec<String>,
    /// Run the tier-1 prompt-attack screen on user text.
    pub screen_prompts: bool,
}

/// How to reach the upstream (`proxy`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamCfg {
    /// Environment variable holding the upstream's API key, sent as `Authorization: Bearer`.
    /// Clients' own keys are never forwarded.
    pub api_key_env: Option<String>,
    /// Seconds to open a connection to the upstream (502 after).
    pub connect_timeout: f64,
    /// Seconds from sending a request to the upstream's response headers (504 after).
    pub header_timeout: f64,
    /// Seconds for the whole exchange, streamed answers included (504 after, or the stream is
    /// cut).
    pub total_timeout: f64,
}

impl Default for UpstreamCfg {
    fn default() -> Self {
        UpstreamCfg {
            api_key_env: None,
            connect_timeout: 5.0,
            header_timeout: 60.0,
            total_timeout: 300.0,
        }
    }
}

impl Default for Llm {
    fn default() -> Self {
        Llm {
            max_tokens: 4096,
            max_n: 4,
            max_prompt_tokens: 32_768,
            token_budget: 2_000_000,
            token_rate: 0.0,
            token_burst: 200_000.0,
            canaries: vec![],
            screen_prompts: true,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    pub path: PathBuf,
    pub durability: Durability,
    /// Rotate the file past this size (0: never).
    pub rotate_bytes: u64,
    /// Also log raw inputs (off: digests and summary statistics only).
    pub log_inputs: bool,
    /// Log a request event for every request (off: findings and health only).
    pub requests: bool,
    /// Sign the chain head with this private key (PKCS#8 PEM, as `modelsec keygen` writes;
    /// Ed25519 by default): `modelsec log verify --key KEY.pub` then checks the checkpoints.
    pub checkpoint_key: Option<PathBuf>,
    /// A checkpoint at least every this many events…
    pub checkpoint_events: u64,
    /// …and at least every this many seconds, also when idle.
    pub checkpoint_seconds: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Detect {
    /// Sample rows (.npy, .csv, .jsonl) of normal traffic: the value ranges the schema check
    /// enforces, each feature's spread (the scale of near duplicates), and the reference for
    /// out-of-distribution inputs.
    pub baseline: Option<PathBuf>,
    /// A finding of one signal for one client is written at most once per this many seconds.
    pub cooldown_seconds: u64,
    /// How long a `block` action lasts.
    pub block_seconds: u64,
    /// Near duplicates: two inputs whose features all but `near_share` differ by at most
    /// `near_scale` times the feature's spread in the baseline.
    pub near_scale: f32,
    pub near_share: f32,
    /// Probing: distinct near-duplicate variants of one input from one client, or variants
    /// answered closer to the decision boundary (another label, or a top-1 margin lower by
    /// 0.1; counted once 8 requests went into the input), that fire — while the client is
    /// focused on that input (at least 3 of its requests, and 3 in 4 of its requests since the
    /// first, added a variant).
    pub probing_queries: u32,
    pub probing_descents: u32,
    /// Probing however diluted: a cluster of at least `probing_trend_members` distinct variants
    /// whose answers fall in the order sent (Mann–Kendall z at or below −`probing_trend_z`),
    /// with `probing_descents` of them closer to the boundary, fires whether or not the client
    /// is focused. A search keeps the variants that lowered the answer; variants made without
    /// looking at the answers show no trend. The same threshold reads the trend of other
    /// clients' variants of an input few clients send (a search spread over keys). 0 turns
    /// both off.
    pub probing_trend_z: f32,
    pub probing_trend_members: u32,
    /// Probing across clients: the queries remembered from all clients.
    pub probing_window: usize,
    /// An input that more clients than this sent near duplicates of is popular: no
    /// cross-client evidence comes from it.
    pub popular_clients: u32,
    /// Boundary walk: a near duplicate of an earlier query that the model answered with at
    /// least this top-1 margin gets another label (while the client is focused on the input,
    /// or has sent nothing else).
    pub flip_margin: f32,
    /// Boundary walk by bisection: a row that is the midpoint (within `bisect_tolerance` of the
    /// ends' distance) of two of the client's last 32 rows answered with different labels, this
    /// many times among its last 128 rows, fires. 0 turns it off.
    pub bisect_midpoints: u32,
    pub bisect_tolerance: f32,
    /// L∞ steps: a row that differs from one of the client's last 16 distinct rows by one step
    /// (up and down, between 0.15 and 1.7 times the features' median spread) on at least 8
    /// features, this many times among its last 128 rows (1 by default: benign clients' rows do
    /// not move this way), fires `probing`. 0 turns it off.
    pub sign_steps: u32,
    /// Coordinate walks: this many rows among a client's last 32 that each differ from its
    /// nearest earlier row along one pixel or DCT direction by one magnitude (both signs, 4
    /// directions, an improving line of 3) fire `probing`. 0 turns it off.
    pub basis_steps: u32,
    /// Sparse searches: this many of a client's last 8 requests each holding a row that differs
    /// in a few scattered features (at most an eighth of them; every other value the same) from
    /// its lowest-answered row of its last 16 requests, built alone in its request, with that
    /// row's label, one of them built on another such row, fire `probing`. 0 turns it off.
    pub sparse_steps: u32,
    /// Answer-driven selection: each new row's parent is its nearest near duplicate among the
    /// client's last 128 distinct rows of earlier requests (and 32 older related rows); once 8
    /// rows that had a parent became parents themselves, the number of them answered closer to
    /// the boundary than their own parent, against the share of such rows among all, at or
    /// above this binomial z (and 3 in 4 of them) fires `probing`. Benign streams build on
    /// whatever came before; a search builds on what lowered the answer. The same switch
    /// covers generation selection (batches built mostly on the previous batch's row answered
    /// closest to the boundary, 4 such pairs and z >= 4: genetic and evolutionary searches).
    /// 0 turns both off.
    pub selection_z: f32,
    /// Extraction (PRADA): Shapiro–Wilk W below this fires, once a client has sent
    /// `extraction_min_queries` distinct queries. The paper sets this δ per deployment from
    /// benign traffic. 0.75 by default: in the field evaluation on the digits model, benign
    /// clients' W went as low as 0.805 (pen strokes, padded batches, shuffled evaluation
    /// sets) while published Jacobian-based augmentation stayed at 0.898–0.99 (the
    /// augmentation test catches it instead), so at the paper's 0.9 PRADA flagged only benign
    /// clients there.
    pub extraction_w: f64,
    pub extraction_min_queries: usize,
    /// Extraction (synthetic augmentation): inputs that reached three distinct near-duplicate
    /// variants within the client's last 128 queries that fire (a benign client varying its
    /// own images reaches at most one such input every three queries).
    pub extraction_augmented: u32,
    /// Extraction coverage: different inputs (none a near duplicate of another) answered per
    /// client per volume window that fire (0: never).
    pub extraction_distinct: u64,
    /// Out-of-distribution: the nearest baseline row farther than this many times the largest
    /// distance between a baseline row and its nearest other row.
    pub ood_distance: f32,
    /// Out-of-distribution rows that are near duplicates of the client's earlier queries, among
    /// its last 128 rows, that fire (an attack started from noise varies its odd start; one-off
    /// odd inputs such as crops or tiles of wider images are drift, not a search).
    pub ood_rows: u32,
    /// Output harvesting: distinct inputs a client may fetch full score vectors for per volume
    /// window (a re-sent input hands out nothing new).
    pub harvest_scores: u64,
    /// Secret for the keyed fingerprints and digests (hex, 32 bytes); random per run when
    /// absent, which makes digests unlinkable across restarts.
    pub key: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalConfig {
    pub action: Action,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    pub client: String,
    /// Signal ids (or `*`).
    pub signals: Vec<String>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            max_body_bytes: 16 << 20,
            max_buffered_bytes: 256 << 20,
            max_in_flight: 4096,
            max_clients: 10_000,
            model_name: None,
            inference_timeout: 30.0,
            inference_threads: 0,
            max_response_bytes: 32 << 20,
            max_memory: 2 << 30,
            max_connections: 10_000,
            max_connections_per_ip: 4096,
            header_timeout: 10.0,
            body_timeout: 10.0,
            keep_alive_timeout: 30.0,
            shutdown_timeout: 10.0,
            replica: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rate: 100.0,
            burst: 200.0,
            row_rate: 1000.0,
            row_burst: 5000.0,
            volume: 100_000,
            volume_window_seconds: 86_400,
            max_image_pixels: 50_000_000,
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Log {
            path: PathBuf::from("modelsec-events.jsonl"),
            durability: Durability::Group,
            rotate_bytes: 100 << 20,
            log_inputs: false,
            requests: true,
            checkpoint_key: None,
            checkpoint_events: 1000,
            checkpoint_seconds: 60,
        }
    }
}

impl Default for Detect {
    fn default() -> Self {
        Detect {
            baseline: None,
            cooldown_seconds: 60,
            block_seconds: 600,
            near_scale: 0.5,
            near_share: 0.1,
            probing_queries: 12,
            probing_descents: 2,
            probing_trend_z: 4.0,
            probing_trend_members: 10,
            probing_window: 20_000,
            popular_clients: 5,
            flip_margin: 0.5,
            bisect_midpoints: 2,
            bisect_tolerance: 0.05,
            sign_steps: 1,
            basis_steps: 5,
            sparse_steps: 3,
            selection_z: 3.0,
            extraction_w: 0.75,
            extraction_min_queries: 100,
            extraction_augmented: 48,
            extraction_distinct: 500,
            ood_distance: 2.0,
            ood_rows: 3,
            harvest_scores: 10_000,
            key: None,
        }
    }
}

/// Why `monitor.toml` cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the monitor config: {0}")]
    Read(#[from] crate::util::fs::ReadError),
    /// The file is not a valid config; every problem is listed with its place.
    #[error(transparent)]
    Invalid(#[from] diag::ConfigError),
}

const KIND: &str = "monitor config";

impl Config {
    /// Read and validate `path`; relative paths in it are taken from its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = crate::util::fs::read_text(path, crate::util::fs::MAX_CONFIG_BYTES)?;
        let mut c = Config::parse_named(&path.display().to_string(), &text)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        if c.log.path.is_relative() {
            c.log.path = dir.join(&c.log.path);
        }
        if let Some(k) = &c.log.checkpoint_key
            && k.is_relative()
        {
            c.log.checkpoint_key = Some(dir.join(k));
        }
        if let Some(b) = &c.detect.baseline
            && b.is_relative()
        {
            c.detect.baseline = Some(dir.join(b));
        }
        Ok(c)
    }

    /// Parse and validate config text.
    pub fn parse(text: &str) -> Result<Config, diag::ConfigError> {
        Config::parse_named("monitor.toml", text)
    }

    fn parse_named(name: &str, text: &str) -> Result<Config, diag::ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| diag::toml_error(KIND, name, text, &e))?;
        let d = c.validate(text);
        if d.is_empty() {
            Ok(c)
        } else {
            Err(diag::render(KIND, name, text, &d))
        }
    }

    /// Every semantic problem, each pointed at its key.
    fn validate(&self, text: &str) -> Diagnostics {
        let mut d = Diagnostics::new();
        for (i, k) in self.auth.keys.iter().enumerate() {
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                d.push_at(
                    text,
                    &[
                        At::Name("auth"),
                        At::Name("keys"),
                        At::Index(i),
                        At::Name("sha256"),
                    ],
                    format!("auth key of `{}`: sha256 must be 64 hex digits", k.client),
                    Some("printf %s KEY | sha256sum".into()),
                );
            }
        }
        if self.auth.required && self.auth.keys.is_empty() {
            d.push_at(
                text,
                &[At::Name("auth"), At::Name("required")],
                "auth.required is on but there are no [[auth.keys]]",
                None,
            );
        }
        for id in self.signals.keys() {
            if !super::rules::signals::ALL.iter().any(|r| r.id == id) {
                d.push_at(
                    text,
                    &[At::Name("signals"), At::Name(id)],
                    format!("[signals.\"{id}\"]: no such signal"),
                    Some("`modelsec rules` lists the monitor/… signals".into()),
                );
            }
        }
        let keyed = self.auth.required && !self.auth.keys.is_empty();
        for name in self.clients.keys() {
            if name.is_empty() || (keyed && !self.auth.keys.iter().any(|k| &k.client == name)) {
                d.push_at(
                    text,
                    &[At::Name("clients"), At::Name(name)],
                    format!("[clients.\"{name}\"]: no client of that name in [[auth.keys]]"),
                    Some("name a key's `client`, or an address when auth is off".into()),
                );
            }
        }
        for (i, a) in self.allow.iter().enumerate() {
            for s in &a.signals {
                if s != "*" && !super::rules::signals::ALL.iter().any(|r| r.id == s) {
                    d.push_at(
                        text,
                        &[At::Name("allow"), At::Index(i), At::Name("signals")],
                        format!("[[allow]] for `{}`: no signal `{s}`", a.client),
                        None,
                    );
                }
            }
        }
        if self.limits.rate < 0.0 || self.limits.burst < 1.0 && self.limits.rate > 0.0 {
            d.push_at(
                text,
                &[At::Name("limits")],
                "limits: rate must be >= 0 and burst >= 1",
                None,
            );
        }
        if self.limits.row_rate < 0.0 || self.limits.row_burst < 1.0 && self.limits.row_rate > 0.0 {
            d.push_at(
                text,
                &[At::Name("limits")],
                "limits: row_rate must be >= 0 and row_burst >= 1",
                None,
            );
        }
        if self.llm.token_rate < 0.0 || self.llm.token_burst < 1.0 && self.llm.token_rate > 0.0 {
            d.push_at(
                text,
                &[At::Name("llm")],
                "llm: token_rate must be >= 0 and token_burst >= 1",
                None,
            );
        }
        let t = &self.detect;
        // Each bound: the key, whether its value is out of bounds, and what the bounds are.
        for (key, bad, message) in [
            (
                "near_scale",
                !(t.near_scale > 0.0 && t.near_scale.is_finite()),
                "detect.near_scale must be a positive number (0.5: half a feature's spread)",
            ),
            (
                "near_share",
                !(0.0..1.0).contains(&t.near_share),
                "detect.near_share must be at least 0 and below 1 (a share of the features)",
            ),
            (
                "probing_trend_z",
                !(t.probing_trend_z >= 0.0 && t.probing_trend_z.is_finite()),
                "detect.probing_trend_z must be a number >= 0 (4.0: a trend this many standard deviations from none; 0 turns the trend tests off, within a client and across clients)",
            ),
            (
                "selection_z",
                !(t.selection_z >= 0.0 && t.selection_z.is_finite()),
                "detect.selection_z must be a number >= 0 (3.0: variants built on better-answered ones this many standard deviations above chance; 0 turns the test off)",
            ),
            (
                "bisect_tolerance",
                !(0.0..0.5).contains(&t.bisect_tolerance),
                "detect.bisect_tolerance must be at least 0 and below 0.5 (a share of the distance between the two ends; 0.05)",
            ),
            (
                "bisect_midpoints",
                t.bisect_midpoints > 128,
                "detect.bisect_midpoints must be at most 128 (nested midpoints in a chain, each halving an earlier midpoint's gap; 0 turns bisection off)",
            ),
            (
                "sign_steps",
                t.sign_steps > 128,
                "detect.sign_steps must be at most 128 (L∞-step rows among a client's last 128 rows; 0 turns the test off)",
            ),
            (
                "basis_steps",
                t.basis_steps > 32,
                "detect.basis_steps must be at most 32 (basis-step rows among a client's last 32 rows; 0 turns the test off)",
            ),
            (
                "sparse_steps",
                t.sparse_steps > 8,
                "detect.sparse_steps must be at most 8 (requests with a sparse step among a client's last 8 requests; 0 turns the test off)",
            ),
            (
                "ood_rows",
                t.ood_rows < 1 || t.ood_rows > 128,
                "detect.ood_rows must be between 1 and 128 (out-of-distribution rows among a client's last 128 rows)",
            ),
            (
                "probing_trend_members",
                t.probing_trend_members < 3,
                "detect.probing_trend_members must be >= 3 (a trend needs at least 3 members)",
            ),
        ] {
            if bad {
                d.push_at(text, &[At::Name("detect"), At::Name(key)], message, None);
            }
        }
        if t.probing_queries < 2 || t.probing_descents < 1 || t.popular_clients < 1 {
            d.push_at(
                text,
                &[At::Name("detect")],
                "detect: probing_queries must be >= 2, probing_descents and popular_clients >= 1",
                None,
            );
        }
        let s = &self.server;
        for (key, v) in [
            ("max_in_flight", s.max_in_flight),
            ("max_clients", s.max_clients),
            ("max_body_bytes", s.max_body_bytes),
            ("max_buffered_bytes", s.max_buffered_bytes),
            ("max_response_bytes", s.max_response_bytes),
            ("max_memory", s.max_memory),
            ("max_connections", s.max_connections),
            ("max_connections_per_ip", s.max_connections_per_ip),
        ] {
            if v == 0 {
                d.push_at(
                    text,
                    &[At::Name("server"), At::Name(key)],
                    format!("server.{key} must be > 0"),
                    None,
                );
            }
        }
        if s.max_buffered_bytes < s.max_body_bytes {
            d.push_at(
                text,
                &[At::Name("server"), At::Name("max_buffered_bytes")],
                format!(
                    "server.max_buffered_bytes ({}) is below max_body_bytes ({}): one largest request could never be read",
                    s.max_buffered_bytes, s.max_body_bytes
                ),
                None,
            );
        }
        let u = &self.upstream;
        for (table, key, v) in [
            ("server", "inference_timeout", s.inference_timeout),
            ("server", "header_timeout", s.header_timeout),
            ("server", "body_timeout", s.body_timeout),
            ("server", "keep_alive_timeout", s.keep_alive_timeout),
            ("server", "shutdown_timeout", s.shutdown_timeout),
            ("upstream", "connect_timeout", u.connect_timeout),
            ("upstream", "header_timeout", u.header_timeout),
            ("upstream", "total_timeout", u.total_timeout),
        ] {
            // A day at most: a longer "timeout" is no bound.
            if !(v > 0.0 && v <= 86_400.0) {
                d.push_at(
                    text,
                    &[At::Name(table), At::Name(key)],
                    format!("{table}.{key} must be seconds, more than 0 and at most 86400"),
                    None,
                );
            }
        }
        if self.llm.canaries.iter().any(|c| c.len() < 8) {
            d.push_at(
                text,
                &[At::Name("llm"), At::Name("canaries")],
                "llm.canaries: each canary needs 8 characters or more, or normal answers would contain it",
                None,
            );
        }
        if let Some(t) = &self.export.syslog
            && let Err(message) = super::export::parse_target(t)
        {
            d.push_at(
                text,
                &[At::Name("export"), At::Name("syslog")],
                message,
                None,
            );
        }
        for (key, message) in self.state.problems() {
            d.push_at(text, &[At::Name("state"), At::Name(key)], message, None);
        }
        if self.log.checkpoint_events == 0 {
            d.push_at(
                text,
                &[At::Name("log"), At::Name("checkpoint_events")],
                "log.checkpoint_events must be at least 1",
                None,
            );
        }
        if !(1..=86_400).contains(&self.log.checkpoint_seconds) {
            d.push_at(
                text,
                &[At::Name("log"), At::Name("checkpoint_seconds")],
                "log.checkpoint_seconds must be from 1 to 86400",
                None,
            );
        }
        if let Some(r) = &self.server.replica
            && (r.is_empty() || r.len() > 64 || !r.bytes().all(|b| b.is_ascii_graphic()))
        {
            d.push_at(
                text,
                &[At::Name("server"), At::Name("replica")],
                "server.replica must be 1 to 64 printable ASCII characters without spaces (it names the replica in syslog and Redis)",
                None,
            );
        }
        if let Some(k) = &self.detect.key
            && (k.len() != 64 || !k.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            d.push_at(
                text,
                &[At::Name("detect"), At::Name("key")],
                "detect.key must be 64 hex digits (32 bytes)",
                None,
            );
        }
        d
    }

    /// This replica's name: `server.replica`, else the host name.
    pub fn replica(&self) -> String {
        self.server.replica.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
                .unwrap_or_else(|| "modelsec".into())
        })
    }

    /// The event log's settings (reads the checkpoint key).
    pub fn log_options(&self) -> Result<super::log::LogOptions, String> {
        let checkpoint = match &self.log.checkpoint_key {
            Some(path) => Some(super::log::CheckpointOptions {
                key: std::sync::Arc::new(super::log::checkpoint::load_key(path)?),
                every_events: self.log.checkpoint_events,
                every: std::time::Duration::from_secs(self.log.checkpoint_seconds),
            }),
            None => None,
        };
        Ok(super::log::LogOptions {
            path: self.log.path.clone(),
            durability: self.log.durability,
            rotate_bytes: (self.log.rotate_bytes > 0).then_some(self.log.rotate_bytes),
            replica: self.replica(),
            checkpoint,
            syslog: self.export.syslog.clone(),
        })
    }

    /// The action for a signal: the config's, else the preset's, else the signal's default.
    pub fn action(&self, id: &str) -> Action {
        use super::rules::signals as s;
        if let Some(c) = self.signals.get(id) {
            return c.action;
        }
        let confident = id == s::BOUNDARY_WALK.id || id == s::PROBING.id || id == s::EXTRACTION.id;
        match (self.preset, id) {
            (Preset::Throttle, _) if confident => return Action::Throttle,
            (Preset::Block, _) if confident => return Action::Block,
            (Preset::Block, _) if id == s::EXTRACTION_COVERAGE.id => return Action::Throttle,
            _ => {}
        }
        match id {
            _ if id == s::RATE.id || id == s::VOLUME.id || id == s::COST.id => Action::Throttle,
            _ if id == s::AUTH_FAILED.id
                || id == s::SCHEMA.id
                || id == s::OVERSIZE.id
                || id == s::PROMPT_LEAK.id =>
            {
                Action::Block
            }
            _ => Action::Log,
        }
    }

    /// The client's volume budget (queries per window; 0: none).
    pub fn volume(&self, client: &str) -> u64 {
        self.clients
            .get(client)
            .and_then(|b| b.volume)
            .unwrap_or(self.limits.volume)
    }

    /// Different inputs the client may have answered per window before
    /// `monitor/extraction-coverage` fires (0: never).
    pub fn extraction_distinct(&self, client: &str) -> u64 {
        self.clients
            .get(client)
            .and_then(|b| b.extraction_distinct)
            .unwrap_or(self.detect.extraction_distinct)
    }

    /// Whether `client` is allow-listed for `signal`.
    pub fn allowed(&self, client: &str, signal: &str) -> bool {
        self.allow
            .iter()
            .any(|a| a.client == client && a.signals.iter().any(|s| s == "*" || s == signal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_budget_replaces_the_default_for_that_client_and_must_name_a_key() {
        let key = "0".repeat(64);
        let text = format!(
            "[auth]\nrequired = true\n[[auth.keys]]\nclient = \"batch\"\nsha256 = \"{key}\"\n[limits]\nvolume = 100\n[clients.\"batch\"]\nvolume = 5000\nextraction_distinct = 0\n"
        );
        let c = Config::parse(&text).expect("valid");
        assert_eq!((c.volume("batch"), c.volume("other")), (5000, 100));
        assert_eq!(c.extraction_distinct("batch"), 0);
        assert_eq!(
            c.extraction_distinct("other"),
            Detect::default().extraction_distinct
        );
        let bad = text.replace("[clients.\"batch\"]", "[clients.\"bacth\"]");
        let e = Config::parse(&bad).unwrap_err().to_string();
        assert!(
            e.contains("[clients.\"bacth\"]: no client of that name"),
            "{e}"
        );
        let typo = text.replace("extraction_distinct = 0", "extraction_distnct = 0");
        assert!(Config::parse(&typo).is_err());
    }

    #[test]
    fn replica_state_export_and_checkpoint_mistakes_are_named() {
        let e = Config::parse(
            "[state]\nbackend = \"redis\"\ntimeout_ms = 0\n[export]\nsyslog = \"udp://h:514\"\n[log]\ncheckpoint_seconds = 0\n[server]\nreplica = \"a b\"\n",
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "needs state.url",
            "state.timeout_ms",
            "only tcp://HOST:PORT",
            "log.checkpoint_seconds",
            "server.replica",
        ] {
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let c = Config::parse(
            "[state]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\non_state_error = \"fail-closed\"\n[export]\nsyslog = \"tcp://127.0.0.1:514\"\n",
        )
        .unwrap();
        assert_eq!(
            c.state.on_state_error,
            crate::monitor::state::redis::OnError::FailClosed
        );
    }

    #[test]
    fn defaults_parse_and_mistakes_are_named() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.limits.rate, 100.0);
        assert_eq!(c.action("monitor/probing"), Action::Log);
        assert_eq!(c.action("monitor/rate-exceeded"), Action::Throttle);
        let e = Config::parse("[limits]\nrat = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `rat`"), "{e}");
        assert!(e.contains("monitor.toml:2:1"), "{e}");
        let e = Config::parse("[signals.\"monitor/nope\"]\naction = \"log\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no such signal"), "{e}");
        let e = Config::parse("[auth]\nrequired = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no [[auth.keys]]"), "{e}");
        let e = Config::parse("[[auth.keys]]\nclient = \"a\"\nsha256 = \"xyz\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("64 hex digits"), "{e}");
        let c = Config::parse(
            "[signals.\"monitor/probing\"]\naction = \"block\"\n[[allow]]\nclient = \"lime\"\nsignals = [\"monitor/probing\"]\n",
        )
        .unwrap();
        assert_eq!(c.action("monitor/probing"), Action::Block);
        assert!(c.allowed("lime", "monitor/probing"));
        // Presets set the detectors' actions; an explicit signal action wins.
        let c = Config::parse(
            "preset = \"throttle\"\n[signals.\"monitor/extraction\"]\naction = \"log\"\n",
        )
        .unwrap();
        assert_eq!(c.action("monitor/boundary-walk"), Action::Throttle);
        assert_eq!(c.action("monitor/extraction"), Action::Log);
        assert_eq!(c.action("monitor/extraction-coverage"), Action::Log);
        assert_eq!(c.action("monitor/schema-violation"), Action::Block);
        let c = Config::parse("preset = \"block\"\n").unwrap();
        assert_eq!(c.action("monitor/probing"), Action::Block);
        assert_eq!(c.action("monitor/extraction-coverage"), Action::Throttle);
        assert_eq!(c.action("monitor/out-of-distribution"), Action::Log);
        let e = Config::parse("[detect]\nnear_share = 1.5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("near_share"), "{e}");
        let e = Config::parse("[detect]\nbasis_steps = 33\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("detect.basis_steps must be at most 32"), "{e}");
        assert!(e.contains("monitor.toml:2"), "{e}");
        assert_eq!(
            Config::parse("[detect]\nbasis_steps = 0\n")
                .unwrap()
                .detect
                .basis_steps,
            0
        );
        assert!(!c.allowed("lime", "monitor/extraction"));
    }
}
