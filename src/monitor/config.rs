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

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    pub auth: Auth,
    pub limits: Limits,
    pub log: Log,
    pub detect: Detect,
    pub llm: Llm,
    pub upstream: UpstreamCfg,
    /// Per-signal overrides: `[signals."monitor/probing"] action = "block"`.
    pub signals: BTreeMap<String, SignalConfig>,
    /// Clients whose listed signals never fire (known benign optimisers, red teams).
    pub allow: Vec<Allow>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Larger request bodies are refused with 413 before they are read.
    pub max_body_bytes: usize,
    /// Requests in flight at once; more are shed with 503.
    pub max_in_flight: usize,
    /// Clients whose state is kept (least recently seen evicted first).
    pub max_clients: usize,
    /// The model's name in the API (default: the file's stem).
    pub model_name: Option<String>,
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
    /// Requests per client per `volume_window_seconds`; 0 disables.
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
    /// Strings that must never appear in an answer (a marker planted in the system prompt).
    pub canaries: Vec<String>,
    /// Run the tier-1 prompt-attack screen on user text.
    pub screen_prompts: bool,
}

/// How to reach the upstream (`proxy`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamCfg {
    /// Environment variable holding the upstream's API key, sent as `Authorization: Bearer`.
    /// Clients' own keys are never forwarded.
    pub api_key_env: Option<String>,
}

impl Default for Llm {
    fn default() -> Self {
        Llm {
            max_tokens: 4096,
            max_n: 4,
            max_prompt_tokens: 32_768,
            token_budget: 2_000_000,
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
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Detect {
    /// Sample rows (.npy, .csv, .jsonl) of normal traffic: the out-of-distribution baseline,
    /// the value ranges the schema check enforces, and the probing threshold's calibration.
    pub baseline: Option<PathBuf>,
    /// A finding of one signal for one client is written at most once per this many seconds.
    pub cooldown_seconds: u64,
    /// How long a `block` action lasts.
    pub block_seconds: u64,
    /// Out-of-distribution: a feature's |z| beyond this counts, and a share of features
    /// beyond `ood_share` fires.
    pub ood_z: f32,
    pub ood_share: f32,
    /// Probing: the global fingerprint window (queries remembered across all clients).
    pub probing_window: usize,
    /// Probing: matching hashes (of 50) that make a query a near duplicate.
    pub probing_match: usize,
    /// Probing: near-duplicate queries by one client before the signal fires.
    pub probing_queries: usize,
    /// Extraction (PRADA): Shapiro–Wilk W below this fires, once a client has sent
    /// `extraction_min_queries`.
    pub extraction_w: f64,
    pub extraction_min_queries: usize,
    /// Boundary walk: label flips at margins below `boundary_margin` among near duplicates.
    pub boundary_flips: usize,
    pub boundary_margin: f32,
    /// Output harvesting: full score vectors a client may fetch per volume window.
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
            max_body_bytes: 1 << 20,
            max_in_flight: 256,
            max_clients: 10_000,
            model_name: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rate: 100.0,
            burst: 200.0,
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
        }
    }
}

impl Default for Detect {
    fn default() -> Self {
        Detect {
            baseline: None,
            cooldown_seconds: 60,
            block_seconds: 600,
            ood_z: 6.0,
            ood_share: 0.1,
            probing_window: 20_000,
            probing_match: 25,
            probing_queries: 10,
            extraction_w: 0.9,
            extraction_min_queries: 100,
            boundary_flips: 5,
            boundary_margin: 0.2,
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
        if self.server.max_in_flight == 0 || self.server.max_clients == 0 {
            d.push_at(
                text,
                &[At::Name("server")],
                "server: max_in_flight and max_clients must be > 0",
                None,
            );
        }
        if self.llm.canaries.iter().any(|c| c.len() < 8) {
            d.push_at(
                text,
                &[At::Name("llm"), At::Name("canaries")],
                "llm.canaries: each canary needs 8 characters or more, or normal answers would contain it",
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

    /// The action for a signal: the config's, else the signal's default.
    pub fn action(&self, id: &str) -> Action {
        use super::rules::signals as s;
        if let Some(c) = self.signals.get(id) {
            return c.action;
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
        assert!(!c.allowed("lime", "monitor/extraction"));
    }
}
