//! `modelsec serve` (an ONNX model over OIP v2) and `modelsec proxy` (in front of another
//! server), both with the misuse monitor in the request path.

use anyhow::{Context, Result, bail};
use modelsec::monitor::config::Config;
use modelsec::monitor::log::Durability;
use modelsec::monitor::server::{self, Protocol};
use modelsec::report::ExitStatus;
use modelsec::scan;
use modelsec::util::fs;
use std::path::PathBuf;

/// The options `serve` and `proxy` share.
#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// monitor.toml: API keys (as SHA-256), limits, signal actions, allow-lists, log.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Event log path (overrides the config's [log] path).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// When an event counts as written (overrides the config).
    #[arg(long, value_enum)]
    pub durability: Option<Durability>,
    /// Sample rows of normal traffic (.npy, .csv, .jsonl): ranges, OOD baseline.
    #[arg(long, value_name = "ROWS")]
    pub baseline: Option<PathBuf>,
    /// Without the monitor (no auth, limits, detectors or events): for comparison.
    #[arg(long)]
    pub no_monitor: bool,
}

/// Arguments of `modelsec serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The model (.onnx). It is scanned first and not served if the scan finds something.
    pub model: PathBuf,
    #[command(flatten)]
    pub monitor: MonitorArgs,
}

/// Arguments of `modelsec proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// The upstream server's base URL (http://HOST:PORT).
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// The API the upstream speaks; the proxy serves the same routes, and no others.
    #[arg(long, value_enum, default_value_t = Protocol::OipV2)]
    pub protocol: Protocol,
    /// The model's name upstream. Required for oip-v2 (its metadata gives the tensors to
    /// check); for torchserve, the only model let through (default: any).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    #[command(flatten)]
    pub monitor: MonitorArgs,
}

pub fn serve(a: ServeArgs) -> Result<ExitStatus> {
    if !a.model.is_file() {
        bail!("`{}` does not exist; check the path", a.model.display());
    }
    // The model file is untrusted: the static scan first, as `fuzz` does.
    let bad = scan::before_running(&a.model);
    if !bad.is_empty() {
        bail!(
            "not serving `{}`: the scan found {}",
            a.model.display(),
            bad.join("; ")
        );
    }
    start(a.model, None, Protocol::OipV2, a.monitor)
}

pub fn proxy(a: ProxyArgs) -> Result<ExitStatus> {
    let model = match (a.model, a.protocol) {
        (Some(m), _) => m,
        (None, Protocol::OipV2) => bail!(
            "--model NAME is required with --protocol oip-v2: the proxy reads that model's metadata upstream (GET /v2/models/NAME) to check tensors"
        ),
        (None, _) => String::new(),
    };
    if !a.upstream.starts_with("http://") {
        bail!(
            "--upstream must be an http:// URL, not `{}` (put the proxy next to the model server; TLS to a remote upstream is not supported)",
            a.upstream
        );
    }
    start(
        PathBuf::new(),
        Some((a.upstream, model)),
        a.protocol,
        a.monitor,
    )
}

fn start(
    model: PathBuf,
    upstream: Option<(String, String)>,
    protocol: Protocol,
    m: MonitorArgs,
) -> Result<ExitStatus> {
    let (mut cfg, digest) = match &m.config {
        Some(p) => {
            let text = fs::read_bytes(p, fs::MAX_CONFIG_BYTES)
                .with_context(|| "cannot read the monitor config".to_string())?;
            let digest = format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&text))
            );
            (Config::load(p)?, Some(digest))
        }
        None => (Config::default(), None),
    };
    if let Some(l) = m.log {
        cfg.log.path = l;
    }
    if let Some(d) = m.durability {
        cfg.log.durability = d;
    }
    if let Some(b) = m.baseline {
        cfg.detect.baseline = Some(b);
    }
    let log_path = cfg.log.path.display().to_string();
    let mode = format!("{:?}", cfg.log.durability).to_lowercase();
    let what = if upstream.is_some() { "proxy" } else { "serve" };
    let no_monitor = m.no_monitor;
    let opts = server::ServeOptions {
        model,
        upstream,
        config: cfg,
        listen: m.listen,
        config_digest: digest,
        monitor: !no_monitor,
        protocol,
    };
    server::serve(opts, |addr| {
        eprintln!(
            "modelsec {what}: listening on http://{addr} ({}); {}",
            match protocol {
                Protocol::OipV2 => "Open Inference Protocol v2",
                Protocol::OpenAi => "OpenAI-compatible API",
                Protocol::TorchServe => "TorchServe inference API",
            },
            if no_monitor {
                "monitor OFF".to_string()
            } else {
                format!("events -> {log_path} (durability {mode})")
            }
        );
    })?;
    Ok(ExitStatus::Clean)
}
