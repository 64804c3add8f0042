//! The command line: the top-level parser and one variant per command. Each command's
//! arguments live beside its code in `commands/`.

use crate::commands;
use clap::{Parser, Subcommand};

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
    Keygen(commands::keygen::KeygenArgs),
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
    Sign(commands::sign::SignArgs),
    /// Verify a model against OMS bundles: trusted keys, X.509 roots, or Sigstore keyless (offline).
    #[command(after_help = EXIT_CODES)]
    Verify(commands::verify::VerifyArgs),
    /// Scan model files for code-execution payloads (pickle, PyTorch, joblib, numpy, Keras, ONNX,
    /// safetensors, GGUF). Nothing scanned is loaded or executed.
    #[command(after_help = SCAN_HELP)]
    Scan(commands::scan::ScanArgs),
    /// Check deployment configs (Kubernetes, compose, Dockerfile, .env, systemd, TorchServe,
    /// MLflow INI, Jupyter, requirements) against secure-default rules for AI serving.
    #[command(after_help = CHECK_HELP)]
    Check(commands::check::CheckArgs),
    /// List every rule id any command reports (the built-in catalogues, the check policies and
    /// --policy), run the check policies' inline test cases, or write the rule reference.
    Rules(commands::rules::RulesArgs),
    /// Show threat models and, given configs, which controls mitigate each threat.
    #[command(after_help = THREATS_HELP)]
    Threats(commands::threats::ThreatsArgs),
    /// Probe an ONNX model's input contract and output sanity through ONNX Runtime.
    #[command(after_help = FUZZ_HELP)]
    Fuzz(commands::fuzz::FuzzArgs),
    /// Print a model's files with sizes and SHA-256 digests, as `sign` would record them.
    Manifest(commands::manifest::ManifestArgs),
    /// Serve an ONNX model over the Open Inference Protocol v2 REST API with the misuse
    /// monitor in the request path and a hash-chained event log.
    #[command(after_help = SERVE_HELP)]
    Serve(commands::serve::ServeArgs),
    /// The same monitor in front of another model server: Open Inference Protocol v2 (KServe,
    /// Triton, MLServer, `modelsec serve`), an OpenAI-compatible LLM server (vLLM, Ollama,
    /// llama.cpp, TGI) or TorchServe. Requests are checked, forwarded, and the upstream's
    /// answers read by the detectors and passed through.
    #[command(after_help = SERVE_HELP)]
    Proxy(commands::serve::ProxyArgs),
    /// The monitor's event log (`serve`, `proxy`).
    Log(commands::log::LogArgs),
}
