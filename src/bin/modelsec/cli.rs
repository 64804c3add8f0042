//! Command-line interface (clap derive only; no logic).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  clean: verified, or nothing found
  1  findings, or verification failed (every difference is listed)
  2  could not run (bad arguments, unreadable key, malformed bundle, I/O error)";

const SCAN_HELP: &str = "\
A pickle global is allowed only when it is on the allow-list (exact module and name; the \
built-in list covers PyTorch weights, numpy, collections, joblib arrays and scikit-learn \
estimators). Everything else is a finding; known-dangerous globals are critical. A file that \
could not be fully read is a finding too (fail closed).

Exit codes:
  0  every file was fully read and nothing was found
  1  findings (including files that could not be fully read)
  2  could not run (missing path, invalid allow-list)";

const CHECK_HELP: &str = "\
Files are recognised by name and content; an unrecognised file is reported (info) and an \
unparsable one is a finding (fail closed). Rules are TOML (policies/check/*.toml, embedded); \
add your own with --policy. `modelsec rules` lists them.

Suppressions need a reason and an expiry date, in .modelsec.toml ([[suppress]] rule, reason, \
expires, optional paths/resource), an inline comment (# modelsec:ignore RULE expires=YYYY-MM-DD \
reason=\"…\") or the Kubernetes annotation modelsec.dev/ignore. Expired or incomplete ones hide \
nothing and are reported.

Exit codes:
  0  no failing findings
  1  findings (including unparsable files and expired suppressions)
  2  could not run (missing path, invalid policy or suppressions file)";

const THREATS_HELP: &str = "\
A threat is mitigated when one of its controls passes and none fails; weakened when one passes \
but another fails; unmitigated when none passes. Rule controls are judged by running check on \
PATH with the model's exposure (which raises severities where rules say so); capability \
controls (verify, scan, fuzz, monitor) by the modelsec JSON reports given with --evidence.

Exit codes:
  0  every threat mitigated (or no PATH: models listed)
  1  a threat is unmitigated or weakened
  2  could not run";

const FUZZ_HELP: &str = "\
ONNX Runtime 1.31 is found via ORT_DYLIB_PATH, a project-local install (.local/onnxruntime, made \
by scripts/ort.sh), or the active Python's onnxruntime package.

Probes: batch of 0/1/4096 rows, dynamic dimensions at 0/256, NaN/±Inf/±f32::MAX/-0/subnormal per \
feature, wrong dtype/rank/name (must be rejected), large integer inputs. Oracles: non-finite \
outputs, probabilities outside [0,1] or not summing to 1, label != argmax, silently accepted NaN, \
determinism, batch invariance. Then a Square, SimBA or HopSkipJump attack (L-inf, --epsilon) on \
--rows rows gives robust accuracy. Every finding's input is minimised with proptest's shrinking \
(fewest changed features, smallest change) and reported with its reproducer: the input, the \
output and the seed (in --format json/sarif).

The model runs in a child process under --memory-limit: a crash of ONNX Runtime, or a run longer \
than --timeout, is a finding naming the probe that was running.

Exit codes:
  0  no failing findings
  1  a contract defect, a crash or hang, or robust accuracy below --min-robust-accuracy
  2  could not run (ONNX Runtime missing, model not loadable, bad seeds file)";

const SERVE_HELP: &str = "\
Routes: GET /v2, /v2/health/live, /v2/health/ready, /v2/models/{name}, POST \
/v2/models/{name}/infer (Open Inference Protocol v2), GET /metrics (Prometheus).

Per request: capacity (503), API key (401), blocked client (403), body limit (413), rate and \
volume (429), tensor schema and baseline ranges (400); after inference the detectors: \
out-of-distribution, extraction (PRADA), near-duplicate probing across all clients \
(Blacklight-style), boundary walk, output harvesting. Every request and finding is a JSON \
Lines event in a hash-chained log (`modelsec log verify`). Stop with SIGINT or SIGTERM.

Exit codes:
  0  stopped cleanly
  2  could not start (model, config, log or address)";

/// Secure-AI-development toolkit: sign, verify and scan models; check deployment configs.
#[derive(Debug, Parser)]
#[command(name = "modelsec", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a signing key pair: KEY (PKCS#8 PEM, mode 0600) and KEY.pub (SPKI PEM).
    #[command(after_help = "\
The passphrase for --encrypt comes from MODELSEC_PASSPHRASE or a terminal prompt, never from \
the command line. Encrypted keys use PKCS#8 PBES2 with scrypt and AES-256-CBC; `openssl pkey` \
reads both files.

Use --algorithm ecdsa-p256 for bundles that other OMS tools (model_signing) can verify; they \
accept only NIST curves.")]
    Keygen {
        /// Where to write the private key; the public key goes to KEY.pub.
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
        /// Signature algorithm.
        #[arg(long, value_enum, default_value_t = AlgorithmArg::Ed25519)]
        algorithm: AlgorithmArg,
        /// Encrypt the private key with a passphrase.
        #[arg(long)]
        encrypt: bool,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Sign a model directory or file, writing an OMS bundle (Sigstore bundle v0.3 / DSSE / in-toto).
    #[command(after_help = "\
The signature goes to MODEL.sig beside the model unless --signature is given; a signature \
placed inside the model directory is excluded from what is signed. The top-level git files \
(.git, .gitattributes, .github, .gitignore) are excluded as OMS does; hidden files are signed. \
Ignore paths are recorded in the bundle and re-applied by verify. Bundles are byte-reproducible.

An encrypted key's passphrase comes from MODELSEC_PASSPHRASE or a terminal prompt.

The model is scanned first (as `modelsec scan` does); with findings, nothing is signed unless \
--allow-unsafe is given. The scan's tool version, allow-list digest and verdict are recorded \
in the signed statement (in-toto subject annotation `dev.modelsec.scan`), and verify shows them.

Exit codes: 0 signed, 1 refused because the scan found something, 2 could not sign (nothing \
is written in either case).")]
    Sign {
        /// Model directory or file.
        model: PathBuf,
        /// Private key (PKCS#8 or SEC1 PEM, optionally encrypted).
        #[arg(long)]
        key: PathBuf,
        /// Where to write the bundle [default: MODEL.sig beside the model].
        #[arg(long, value_name = "OUT")]
        signature: Option<PathBuf>,
        /// Leave this path (relative to the model root) out of the signature; repeatable.
        #[arg(long, value_name = "PATH")]
        ignore: Vec<String>,
        /// Sign file symlinks that point inside the model by their target's content.
        #[arg(long)]
        allow_symlinks: bool,
        /// Sign even when the scan finds something (the signature records that verdict).
        #[arg(long)]
        allow_unsafe: bool,
        /// Extra scan allow-list (TOML); repeatable.
        #[arg(long, value_name = "FILE")]
        allowlist: Vec<PathBuf>,
    },
    /// Verify a model against an OMS bundle and a trusted public key.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// Model directory or file.
        model: PathBuf,
        /// Trusted public key (SPKI PEM).
        #[arg(long)]
        key: PathBuf,
        /// The bundle [default: MODEL.sig beside the model].
        #[arg(long, value_name = "SIG")]
        signature: Option<PathBuf>,
        /// An ignore path you expect; it must match one recorded at signing.
        #[arg(long, value_name = "PATH")]
        ignore: Vec<String>,
        /// Also fail unless the signature records a clean modelsec scan (made by `sign`).
        #[arg(long)]
        require_scan: bool,
        /// Report format.
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
    },
    /// Scan model files for code-execution payloads (pickle, PyTorch, joblib, numpy, Keras, ONNX,
    /// safetensors, GGUF). Nothing scanned is loaded or executed.
    #[command(after_help = SCAN_HELP)]
    Scan {
        /// Files or directories (scanned recursively).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
        /// Extra allow-list (TOML, same shape as policies/scan.toml); repeatable.
        #[arg(long, value_name = "FILE")]
        allowlist: Vec<PathBuf>,
    },
    /// Check deployment configs (Kubernetes, compose, Dockerfile, .env, systemd, TorchServe,
    /// MLflow INI, Jupyter, requirements) against secure-default rules for AI serving.
    #[command(after_help = CHECK_HELP)]
    Check {
        /// Config files or directories (walked recursively).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Extra policy file, or a directory of *.toml policies; repeatable.
        #[arg(long, value_name = "FILE_OR_DIR")]
        policy: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
        /// Leave out findings below this severity.
        #[arg(long, value_enum, default_value_t = SeverityArg::Info, value_name = "LEVEL")]
        min_severity: SeverityArg,
        /// Ignore `# modelsec:ignore` comments and `modelsec.dev/ignore` annotations (for CI);
        /// suppressions in the config file still apply.
        #[arg(long)]
        no_inline_suppressions: bool,
        /// Suppressions file [default: ./.modelsec.toml when it exists].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Judge as if exposed this way: raises severities where a rule says so.
        #[arg(long, value_enum)]
        exposure: Option<ExposureArg>,
        /// Also write the results as JUnit XML (one test case per rule).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// List the check rules (built-in and --policy), run their inline test cases, or write the
    /// rule reference.
    Rules {
        /// Extra policy file or directory; repeatable.
        #[arg(long, value_name = "FILE_OR_DIR")]
        policy: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
        format: RulesFormat,
        /// Run every rule's inline test cases; exit 1 if one does not hold.
        #[arg(long)]
        test: bool,
    },
    /// Show threat models and, given configs, which controls mitigate each threat.
    #[command(after_help = THREATS_HELP)]
    Threats {
        /// Deployment configs to judge (as for check); without them, the models are listed.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Threat model: a built-in id (classifier-http-k8s, llm-inference-api) or a TOML file;
        /// repeatable [default: every built-in model].
        #[arg(long, value_name = "ID_OR_FILE")]
        model: Vec<String>,
        /// A modelsec JSON report (verify, scan, fuzz, serve) evidencing a capability control;
        /// repeatable.
        #[arg(long, value_name = "FILE")]
        evidence: Vec<PathBuf>,
        /// Extra policy file or directory; repeatable.
        #[arg(long, value_name = "FILE_OR_DIR")]
        policy: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
        /// Suppressions file [default: ./.modelsec.toml when it exists].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Ignore inline suppressions.
        #[arg(long)]
        no_inline_suppressions: bool,
    },
    /// Probe an ONNX model's input contract and output sanity through ONNX Runtime.
    #[command(after_help = FUZZ_HELP)]
    Fuzz {
        /// The model (.onnx). It is scanned first and not run if the scan finds something.
        model: PathBuf,
        /// Rows to start from: .npy (float32/float64 [rows, features]), .csv or .jsonl.
        #[arg(long, value_name = "FILE")]
        seeds: Option<PathBuf>,
        /// Also write the results as JUnit XML (one test case per rule).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// RNG seed; the same seed gives the same report.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Robustness attack (L∞): square and simba need probabilities, hopskipjump only labels.
        #[arg(long, value_enum, default_value_t = AttackArg::Square)]
        attack: AttackArg,
        /// Value range for sampled inputs and the attack's box: LO..HI (every input),
        /// NAME=LO..HI (one input) or NAME[F]=LO..HI (one feature); repeatable, the most
        /// specific wins. Default: floats in [0, 1), integers in [0, 10).
        #[arg(long, value_name = "RANGE")]
        range: Vec<modelsec::fuzz::ValueRange>,
        /// L∞ radius of the attack.
        #[arg(long, default_value_t = 0.1, value_name = "E")]
        epsilon: f32,
        /// Queries per attacked row.
        #[arg(long, default_value_t = 1000, value_name = "QUERIES")]
        budget: usize,
        /// Rows to attack (the first of --seeds, else sampled).
        #[arg(long, default_value_t = 20)]
        rows: usize,
        /// Exit 1 when robust accuracy is below R (0..1).
        #[arg(long, value_name = "R")]
        min_robust_accuracy: Option<f32>,
        /// Seconds the whole run may take; a hang is then a finding (the model runs in a child
        /// process, so a crash of ONNX Runtime is a finding too).
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        timeout: u64,
        /// Address-space cap for the process running the model, in MiB (0: none). An input that
        /// makes the runtime allocate past it fails (a finding) instead of exhausting the host.
        #[arg(long, default_value_t = 4096, value_name = "MIB")]
        memory_limit: u64,
        /// Report format.
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
    },
    /// Print a model's files with sizes and SHA-256 digests, as `sign` would record them.
    Manifest {
        /// Model directory or file.
        model: PathBuf,
        /// Leave this path out; repeatable.
        #[arg(long, value_name = "PATH")]
        ignore: Vec<String>,
        /// Include file symlinks that point inside the model.
        #[arg(long)]
        allow_symlinks: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ManifestFormat::Human)]
        format: ManifestFormat,
    },
    /// Serve an ONNX model over the Open Inference Protocol v2 REST API with the misuse
    /// monitor in the request path and a hash-chained event log.
    #[command(after_help = SERVE_HELP)]
    Serve {
        /// The model (.onnx). It is scanned first and not served if the scan finds something.
        model: PathBuf,
        #[command(flatten)]
        monitor: MonitorArgs,
    },
    /// The same monitor in front of another model server: Open Inference Protocol v2 (KServe,
    /// Triton, MLServer, `modelsec serve`), an OpenAI-compatible LLM server (vLLM, Ollama,
    /// llama.cpp, TGI) or TorchServe. Requests are checked, forwarded, and the upstream's
    /// answers read by the detectors and passed through.
    #[command(after_help = SERVE_HELP)]
    Proxy {
        /// The upstream server's base URL (http://HOST:PORT).
        #[arg(long, value_name = "URL")]
        upstream: String,
        /// The API the upstream speaks; the proxy serves the same routes, and no others.
        #[arg(long, value_enum, default_value_t = ProtocolArg::OipV2)]
        protocol: ProtocolArg,
        /// The model's name upstream. Required for oip-v2 (its metadata gives the tensors to
        /// check); for torchserve, the only model let through (default: any).
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
        #[command(flatten)]
        monitor: MonitorArgs,
    },
    /// The monitor's event log (`serve`, `proxy`).
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
}

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
    pub durability: Option<DurabilityArg>,
    /// Sample rows of normal traffic (.npy, .csv, .jsonl): ranges, OOD baseline.
    #[arg(long, value_name = "ROWS")]
    pub baseline: Option<PathBuf>,
    /// Without the monitor (no auth, limits, detectors or events): for comparison.
    #[arg(long)]
    pub no_monitor: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// Open Inference Protocol v2 REST: POST /v2/models/{name}/infer.
    OipV2,
    /// OpenAI-compatible: POST /v1/chat/completions, /v1/completions, /v1/embeddings.
    Openai,
    /// TorchServe: POST /predictions/{model}[/{version}].
    Torchserve,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DurabilityArg {
    /// fdatasync before the response: no acknowledged event is lost.
    Always,
    /// fdatasync every 64 events or 50 ms: a crash loses at most that window.
    Group,
}

/// `modelsec log …`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Check the event log's hash chain: every line's hash, and seq/prev continuity within and
    /// across rotated files. Any edit, deletion, reordering or truncation in the middle is
    /// reported with the first bad line.
    #[command(
        after_help = "Give rotated files first, the active file last: `modelsec log verify events.jsonl.* events.jsonl`.\n\nExit codes:\n  0  the chain is intact\n  1  the log was tampered with (or files are missing)\n  2  could not run"
    )]
    Verify {
        /// Log files, in chain order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AlgorithmArg {
    /// Ed25519 (default; verifiable by modelsec, not by model_signing).
    Ed25519,
    /// ECDSA P-256 with SHA-256 (verifiable by every OMS tool).
    EcdsaP256,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    /// Text for people.
    Human,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AttackArg {
    /// Square Attack (score-based random search).
    Square,
    /// SimBA (score-based, one coordinate at a time).
    Simba,
    /// HopSkipJump (label-only: needs only the predicted label).
    Hopskipjump,
    /// Probes only.
    None,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExposureArg {
    /// Reachable from the internet.
    Internet,
    /// Reachable inside the organisation's network.
    Internal,
    /// Reachable from the host only.
    Local,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RulesFormat {
    /// A table.
    Human,
    /// One JSON document.
    Json,
    /// The rule reference (docs/rules.md).
    Markdown,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ManifestFormat {
    /// A table: digest, size, path.
    Human,
    /// One JSON document.
    Json,
}
