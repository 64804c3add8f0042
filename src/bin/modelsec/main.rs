//! The `modelsec` binary: parse, call the library, render, map to an exit code.

mod cli;

// The server answers thousands of small JSON requests a second; mimalloc makes their many short
// allocations cheaper than glibc malloc (measured in bench/monitor.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{
    AlgorithmArg, Cli, Command, ExposureArg, FormatArg, ManifestFormat, RulesFormat, SeverityArg,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use modelsec::fsutil::{self, WriteOptions};
use modelsec::policy::{self, PolicySet};
use modelsec::report::{ExitStatus, Format, Severity};
use modelsec::scan;
use modelsec::signing::{self, Algorithm, KeyError, SigningKey, VerifyingKey};
use modelsec::threat;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

const PASSPHRASE_ENV: &str = "MODELSEC_PASSPHRASE";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) => {
            for cause in err.chain() {
                if let Some(io) = cause.downcast_ref::<std::io::Error>()
                    && io.kind() == std::io::ErrorKind::BrokenPipe
                {
                    return ExitCode::from(0);
                }
            }
            eprintln!("error: {err:#}");
            ExitCode::from(ExitStatus::Error.code())
        }
    }
}

fn run(cli: Cli) -> Result<ExitStatus> {
    match cli.command {
        Command::Keygen {
            out,
            algorithm,
            encrypt,
            force,
        } => keygen(&out, algorithm, encrypt, force),
        Command::Sign {
            model,
            key,
            signature,
            ignore,
            allow_symlinks,
            allow_unsafe,
            allowlist,
        } => sign(
            &model,
            &key,
            signature,
            ignore,
            allow_symlinks,
            allow_unsafe,
            &allowlist,
        ),
        Command::Verify {
            model,
            key,
            signature,
            ignore,
            require_scan,
            format,
        } => verify(&model, &key, signature, ignore, require_scan, format),
        Command::Scan {
            paths,
            format,
            allowlist,
        } => scan(&paths, format, &allowlist),
        Command::Check {
            paths,
            policy,
            format,
            min_severity,
            no_inline_suppressions,
            config,
            exposure,
            junit,
        } => check(
            &paths,
            &policy,
            format,
            min_severity,
            no_inline_suppressions,
            config,
            exposure,
            junit,
        ),
        Command::Rules {
            policy,
            format,
            test,
        } => rules(&policy, format, test),
        Command::Threats {
            paths,
            model,
            evidence,
            policy,
            format,
            config,
            no_inline_suppressions,
        } => threats(
            &paths,
            &model,
            &evidence,
            &policy,
            format,
            config,
            no_inline_suppressions,
        ),
        Command::Fuzz {
            model,
            seeds,
            junit,
            seed,
            attack,
            epsilon,
            budget,
            rows,
            min_robust_accuracy,
            timeout,
            memory_limit,
            range,
            format,
        } => {
            use modelsec::fuzz::attack::Attack;
            if !(epsilon.is_finite() && epsilon >= 0.0) {
                bail!("--epsilon must be a finite number >= 0, not {epsilon}");
            }
            if let Some(r) = min_robust_accuracy
                && !(0.0..=1.0).contains(&r)
            {
                bail!("--min-robust-accuracy must be between 0 and 1, not {r}");
            }
            let opts = modelsec::fuzz::FuzzOptions {
                seeds,
                seed,
                attack: match attack {
                    cli::AttackArg::Square => Some(Attack::Square),
                    cli::AttackArg::Simba => Some(Attack::Simba),
                    cli::AttackArg::Hopskipjump => Some(Attack::HopSkipJump),
                    cli::AttackArg::None => None,
                },
                epsilon,
                budget: budget.max(1),
                rows,
                min_robust_accuracy,
                ranges: range,
                memory_limit_mib: (memory_limit > 0).then_some(memory_limit),
                ..modelsec::fuzz::FuzzOptions::new(model)
            };
            fuzz(opts, junit, timeout, format)
        }
        Command::Manifest {
            model,
            ignore,
            allow_symlinks,
            format,
        } => manifest(&model, ignore, allow_symlinks, format),
        Command::Serve { model, monitor } => serve(Backend::Model(model), monitor),
        Command::Proxy {
            upstream,
            protocol,
            model,
            monitor,
        } => {
            use modelsec::monitor::server::Protocol;
            let protocol = match protocol {
                cli::ProtocolArg::OipV2 => Protocol::OipV2,
                cli::ProtocolArg::Openai => Protocol::OpenAi,
                cli::ProtocolArg::Torchserve => Protocol::TorchServe,
            };
            let model = match (model, protocol) {
                (Some(m), _) => m,
                (None, Protocol::OipV2) => bail!(
                    "--model NAME is required with --protocol oip-v2: the proxy reads that model's metadata upstream (GET /v2/models/NAME) to check tensors"
                ),
                (None, _) => String::new(),
            };
            serve(Backend::Upstream(upstream, model, protocol), monitor)
        }
        Command::Log {
            command: cli::LogCommand::Verify { files, format },
        } => {
            let report = modelsec::monitor::log::verify(&files);
            let mut stdout = std::io::stdout().lock();
            report.render(to_format(format), &mut stdout)?;
            stdout.flush()?;
            Ok(report.exit_status())
        }
    }
}

/// A progress bar of bytes hashed, drawn only when stderr is a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let pb = if std::io::stderr().is_terminal() {
            let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template(
                    "hashing {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            pb
        } else {
            ProgressBar::hidden()
        };
        Bar(pb)
    }
}

impl signing::Progress for Bar {
    fn add_total(&self, bytes: u64) {
        self.0.inc_length(bytes);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn pub_path(key: &Path) -> PathBuf {
    let mut s = key.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

fn prompt(text: &str) -> Result<Zeroizing<String>, KeyError> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|_| KeyError::PassphraseRequired)
}

fn passphrase_for(key: &Path) -> Result<Zeroizing<String>, KeyError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Err(KeyError::PassphraseRequired);
    }
    prompt(&format!("Passphrase for `{}`: ", key.display()))
}

fn new_passphrase() -> Result<Zeroizing<String>> {
    let pw = match std::env::var(PASSPHRASE_ENV) {
        Ok(p) => Zeroizing::new(p),
        Err(_) => {
            if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
                bail!("--encrypt needs a passphrase: set {PASSPHRASE_ENV} or run in a terminal");
            }
            let a = prompt("New passphrase: ")?;
            let b = prompt("Repeat passphrase: ")?;
            if *a != *b {
                bail!("the passphrases do not match; nothing was written");
            }
            a
        }
    };
    if pw.is_empty() {
        bail!("the passphrase is empty; choose a non-empty passphrase or drop --encrypt");
    }
    Ok(pw)
}

fn keygen(out: &Path, algorithm: AlgorithmArg, encrypt: bool, force: bool) -> Result<ExitStatus> {
    let alg = match algorithm {
        AlgorithmArg::Ed25519 => Algorithm::Ed25519,
        AlgorithmArg::EcdsaP256 => Algorithm::EcdsaP256,
    };
    let public = pub_path(out);
    // Check both targets before writing either, so a refusal leaves nothing half-done.
    fsutil::check_writable(out, force)?;
    fsutil::check_writable(&public, force)?;
    let passphrase = if encrypt {
        Some(new_passphrase()?)
    } else {
        None
    };
    let key = SigningKey::generate(alg);
    let private_pem = key.to_pkcs8_pem(passphrase.as_ref().map(|p| p.as_bytes()))?;
    let vk = key.verifying_key();
    let public_pem = vk.to_pem()?;
    fsutil::write_atomic(
        out,
        private_pem.as_bytes(),
        WriteOptions {
            mode: 0o600,
            overwrite: force,
        },
    )?;
    fsutil::write_atomic(
        &public,
        public_pem.as_bytes(),
        WriteOptions {
            mode: 0o644,
            overwrite: force,
        },
    )?;
    eprintln!(
        "wrote {} private key `{}`{} and public key `{}`\nkey hint: {}",
        alg,
        out.display(),
        if encrypt { " (encrypted)" } else { "" },
        public.display(),
        vk.hint()?
    );
    if alg == Algorithm::Ed25519 {
        eprintln!(
            "note: model_signing and other OMS tools verify only NIST-curve keys; use --algorithm ecdsa-p256 for bundles they must read"
        );
    }
    Ok(ExitStatus::Clean)
}

fn load_signing_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read private key `{}`", path.display()))?;
    let mut ask = || passphrase_for(path);
    SigningKey::from_pem(&text, &mut ask)
        .with_context(|| format!("could not load private key `{}`", path.display()))
}

fn load_verifying_key(path: &Path) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read public key `{}`", path.display()))?;
    VerifyingKey::from_pem(&text)
        .with_context(|| format!("could not load public key `{}`", path.display()))
}

fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

fn sign(
    model: &Path,
    key: &Path,
    signature: Option<PathBuf>,
    ignore: Vec<String>,
    allow_symlinks: bool,
    allow_unsafe: bool,
    allowlist: &[PathBuf],
) -> Result<ExitStatus> {
    let key = load_signing_key(key)?;
    let out = signature.unwrap_or_else(|| signing::default_signature_path(model));
    fsutil::check_writable(&out, true)?;
    // Scan first: a model with code-execution findings is not signed unless the user says so.
    // The scan covers what is signed: ignore paths and the signature itself are left out (a bad
    // ignore path is reported by signing below).
    let policy = scan::Policy::load(allowlist)?;
    let mut exclude: Vec<PathBuf> = Vec::new();
    if let Ok(root) = std::fs::canonicalize(model)
        && root.is_dir()
    {
        for ig in &ignore {
            if let Ok(rel) = signing::manifest::normalize_ignore(&root, ig) {
                exclude.push(model.join(rel));
            }
        }
        let out_dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let (Ok(dir), Some(name)) = (std::fs::canonicalize(out_dir), out.file_name())
            && let Ok(rel) = dir.join(name).strip_prefix(&root)
        {
            exclude.push(model.join(rel));
        }
    }
    let report = {
        let bar = FileBar::new();
        scan::scan_excluding(&[model.to_path_buf()], &policy, &bar, &exclude)?
    };
    let failing = report
        .findings
        .iter()
        .filter(|f| f.severity.fails())
        .count();
    if failing > 0 {
        let mut err = std::io::stderr().lock();
        report.render(Format::Human, &mut err)?;
        if !allow_unsafe {
            eprintln!(
                "error: refusing to sign `{}`: the scan found {failing} problem(s) (above); nothing was written. Fix the model, allow-list trusted globals with --allowlist, or pass --allow-unsafe to sign anyway (the signature records the verdict)",
                model.display()
            );
            return Ok(ExitStatus::Findings);
        }
        eprintln!(
            "warning: signing despite {failing} scan finding(s) (--allow-unsafe); the signature records this"
        );
    }
    let annotation = serde_json::json!({
        signing::SCAN_ANNOTATION: {
            "tool": format!("modelsec {}", env!("CARGO_PKG_VERSION")),
            "policy": policy.digest(),
            "verdict": if failing == 0 { "clean" } else { "findings (signed with --allow-unsafe)" },
            "findings": failing,
            "files_scanned": report.facts.get("scanned").cloned().unwrap_or_default(),
        }
    });
    let opts = signing::ManifestOptions {
        ignore,
        allow_symlinks,
        signature: Some(out.clone()),
    };
    let started = std::time::Instant::now();
    let signed = {
        let bar = Bar::new();
        signing::sign_annotated(model, &opts, &key, Some(&annotation), &bar)
            .with_context(|| format!("could not sign `{}`", model.display()))?
    };
    fsutil::write_atomic(
        &out,
        &signed.bundle,
        WriteOptions {
            mode: 0o644,
            overwrite: true,
        },
    )?;
    let m = &signed.manifest;
    eprintln!(
        "signed {} file(s), {} of `{}` with {} key {} in {:.2?}\nsubject sha256:{}\nsignature: {}",
        m.files.len(),
        human_bytes(m.total_bytes),
        model.display(),
        key.algorithm(),
        &signed.hint[..16],
        started.elapsed(),
        m.subject_sha256,
        out.display()
    );
    Ok(ExitStatus::Clean)
}

fn verify(
    model: &Path,
    key: &Path,
    signature: Option<PathBuf>,
    ignore: Vec<String>,
    require_scan: bool,
    format: FormatArg,
) -> Result<ExitStatus> {
    let vk = load_verifying_key(key)?;
    let signature = signature.unwrap_or_else(|| signing::default_signature_path(model));
    let opts = signing::VerifyOptions {
        model: model.to_path_buf(),
        signature,
        ignore,
        require_scan,
    };
    let report = {
        let bar = Bar::new();
        signing::verify(&opts, &vk, &bar)?
    };
    let format = match format {
        FormatArg::Human => Format::Human,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
    };
    let mut stdout = std::io::stdout().lock();
    report.render(format, &mut stdout)?;
    stdout.flush()?;
    Ok(report.exit_status())
}

/// A progress bar of files scanned, drawn only when stderr is a terminal.
struct FileBar(ProgressBar);

impl FileBar {
    fn new() -> Self {
        let pb = if std::io::stderr().is_terminal() {
            let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template("scanning {bar:30} {pos}/{len} files {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            pb
        } else {
            ProgressBar::hidden()
        };
        FileBar(pb)
    }
}

impl scan::ScanProgress for FileBar {
    fn start(&self, files: u64) {
        self.0.set_length(files);
    }
    fn file_done(&self, path: &str) {
        self.0.inc(1);
        self.0.set_message(path.to_string());
    }
}

impl Drop for FileBar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn to_format(f: FormatArg) -> Format {
    match f {
        FormatArg::Human => Format::Human,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
    }
}

fn scan(paths: &[PathBuf], format: FormatArg, allowlist: &[PathBuf]) -> Result<ExitStatus> {
    let policy = scan::Policy::load(allowlist)?;
    let report = {
        let bar = FileBar::new();
        scan::scan(paths, &policy, &bar)?
    };
    let mut stdout = std::io::stdout().lock();
    report.render(to_format(format), &mut stdout)?;
    stdout.flush()?;
    Ok(report.exit_status())
}

fn manifest(
    model: &Path,
    ignore: Vec<String>,
    allow_symlinks: bool,
    format: ManifestFormat,
) -> Result<ExitStatus> {
    let opts = signing::ManifestOptions {
        ignore,
        allow_symlinks,
        signature: None,
    };
    let m = {
        let bar = Bar::new();
        signing::manifest(model, &opts, &bar)
            .with_context(|| format!("could not read `{}`", model.display()))?
    };
    let mut out = std::io::stdout().lock();
    match format {
        ManifestFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &m)?;
            writeln!(out)?;
        }
        ManifestFormat::Human => {
            let width = m
                .files
                .iter()
                .map(|f| f.size.to_string().len())
                .max()
                .unwrap_or(1);
            for f in &m.files {
                writeln!(out, "{}  {:>width$}  {}", f.digest, f.size, f.name)?;
            }
            writeln!(
                out,
                "{} file(s), {} bytes; subject {} sha256:{}",
                m.files.len(),
                m.total_bytes,
                m.subject_name,
                m.subject_sha256
            )?;
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn severity(s: SeverityArg) -> Severity {
    match s {
        SeverityArg::Info => Severity::Info,
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    }
}

/// Suppressions from --config, or ./.modelsec.toml when it exists.
fn load_suppressions(config: Option<PathBuf>) -> Result<Vec<policy::suppress::Suppression>> {
    let path = match config {
        Some(p) => p,
        None => {
            let default = PathBuf::from(".modelsec.toml");
            if !default.is_file() {
                return Ok(vec![]);
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read suppressions file `{}`", path.display()))?;
    Ok(policy::suppress::load_config(
        &path.display().to_string(),
        &text,
    )?)
}

#[allow(clippy::too_many_arguments)]
fn check(
    paths: &[PathBuf],
    policy_paths: &[PathBuf],
    format: FormatArg,
    min_severity: SeverityArg,
    no_inline_suppressions: bool,
    config: Option<PathBuf>,
    exposure: Option<ExposureArg>,
    junit: Option<PathBuf>,
) -> Result<ExitStatus> {
    let set = PolicySet::load(policy_paths)?;
    let opts = policy::CheckOptions {
        paths: paths.to_vec(),
        min_severity: severity(min_severity),
        inline_suppressions: !no_inline_suppressions,
        suppressions: load_suppressions(config)?,
        exposure: exposure.map(|e| {
            match e {
                ExposureArg::Internet => "internet",
                ExposureArg::Internal => "internal",
                ExposureArg::Local => "local",
            }
            .to_string()
        }),
        ..policy::CheckOptions::default()
    };
    let result = policy::check(&set, &opts)?;
    write_junit(junit.as_deref(), &result.report)?;
    let mut stdout = std::io::stdout().lock();
    result.report.render(to_format(format), &mut stdout)?;
    stdout.flush()?;
    Ok(result.report.exit_status())
}

fn rules(policy_paths: &[PathBuf], format: RulesFormat, test: bool) -> Result<ExitStatus> {
    let set = PolicySet::load(policy_paths)?;
    let mut out = std::io::stdout().lock();
    if test {
        let (count, failures) = policy::run_tests(&set);
        for f in &failures {
            writeln!(
                out,
                "FAIL {} ({}): expected {}, got {}",
                f.rule, f.origin, f.expected, f.got
            )?;
        }
        writeln!(
            out,
            "{count} inline case(s) in {} rule(s): {} failed",
            set.rules.len(),
            failures.len()
        )?;
        out.flush()?;
        return Ok(if failures.is_empty() {
            ExitStatus::Clean
        } else {
            ExitStatus::Findings
        });
    }
    match format {
        RulesFormat::Human => {
            let width = set.rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in &set.rules {
                writeln!(
                    out,
                    "{:<width$}  {:<8}  {}  [{}]",
                    r.id,
                    r.severity.as_str(),
                    r.title,
                    r.targets.join(", ")
                )?;
            }
            writeln!(out, "{} rule(s)", set.rules.len())?;
        }
        RulesFormat::Json => {
            let docs: Vec<_> = set.rules.iter().map(policy::docs::rule_doc).collect();
            serde_json::to_writer_pretty(&mut out, &docs)?;
            writeln!(out)?;
        }
        RulesFormat::Markdown => {
            let models = threat::builtin(&set)?;
            out.write_all(policy::docs::markdown(&set, &models).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn threats(
    paths: &[PathBuf],
    model_args: &[String],
    evidence_paths: &[PathBuf],
    policy_paths: &[PathBuf],
    format: FormatArg,
    config: Option<PathBuf>,
    no_inline_suppressions: bool,
) -> Result<ExitStatus> {
    let set = PolicySet::load(policy_paths)?;
    let builtin = threat::builtin(&set)?;
    let models: Vec<threat::ThreatModel> = if model_args.is_empty() {
        builtin
    } else {
        let mut v = Vec::new();
        for m in model_args {
            if let Some(b) = builtin.iter().find(|b| b.id == *m) {
                v.push(b.clone());
            } else if Path::new(m).is_file() {
                let text = std::fs::read_to_string(m)
                    .with_context(|| format!("cannot read threat model `{m}`"))?;
                v.push(threat::load(m, &text, &set)?);
            } else {
                let ids: Vec<&str> = builtin.iter().map(|b| b.id.as_str()).collect();
                bail!(
                    "`{m}` is neither a built-in threat model ({}) nor a file",
                    ids.join(", ")
                );
            }
        }
        v
    };
    let mut out = std::io::stdout().lock();
    if paths.is_empty() {
        match format {
            FormatArg::Human => {
                for m in &models {
                    writeln!(out, "{} — {} (exposure: {})", m.id, m.title, m.exposure)?;
                    for t in &m.threats {
                        writeln!(
                            out,
                            "  {} — {} [{}; {}]",
                            t.id,
                            t.title,
                            t.area,
                            t.atlas.join(", ")
                        )?;
                        for (c, why) in &t.controls {
                            let why = why
                                .as_deref()
                                .map(|w| format!(" ({w})"))
                                .unwrap_or_default();
                            writeln!(out, "      {}{why}", threat::control_name(c))?;
                        }
                    }
                    writeln!(out)?;
                }
            }
            FormatArg::Json | FormatArg::Sarif => {
                serde_json::to_writer_pretty(&mut out, &models)?;
                writeln!(out)?;
            }
        }
        out.flush()?;
        return Ok(ExitStatus::Clean);
    }
    let mut evidence = Vec::new();
    for e in evidence_paths {
        let text = std::fs::read_to_string(e)
            .with_context(|| format!("cannot read evidence `{}`", e.display()))?;
        evidence.push(
            threat::read_evidence(&e.display().to_string(), &text).map_err(anyhow::Error::msg)?,
        );
    }
    let suppressions = load_suppressions(config)?;
    // One check run per exposure the models use (the built-in models share one).
    let mut results: std::collections::BTreeMap<&str, policy::CheckResult> = Default::default();
    for m in &models {
        if !results.contains_key(m.exposure.as_str()) {
            let opts = policy::CheckOptions {
                paths: paths.to_vec(),
                inline_suppressions: !no_inline_suppressions,
                suppressions: suppressions.clone(),
                exposure: Some(m.exposure.clone()),
                ..policy::CheckOptions::default()
            };
            results.insert(m.exposure.as_str(), policy::check(&set, &opts)?);
        }
    }
    let check_failures = results
        .values()
        .map(|r| {
            r.report
                .findings
                .iter()
                .filter(|f| f.severity.fails() && f.suppressed.is_none())
                .count()
        })
        .max()
        .unwrap_or(0);
    let coverage: Vec<_> = models
        .iter()
        .map(|m| threat::evaluate(m, &results[m.exposure.as_str()], &evidence))
        .collect();
    let targets = paths.iter().map(|p| p.display().to_string()).collect();
    let mut report = threat::report(&models, &coverage, targets);
    report.fact("check_failing_findings", check_failures);
    report.fact(
        "evidence",
        evidence
            .iter()
            .map(|e| format!("{} ({}: {})", e.path, e.command, e.verdict))
            .collect::<Vec<_>>(),
    );
    if matches!(format, FormatArg::Human) {
        threat::render_human(&coverage, &mut out)?;
        // The coverage table above is the human form of facts.threats.
        report.facts.remove("threats");
    }
    report.render(to_format(format), &mut out)?;
    out.flush()?;
    Ok(report.exit_status())
}

/// Set in the child process that actually runs the model.
const FUZZ_WORKER: &str = "MODELSEC_FUZZ_WORKER";

/// `fuzz` runs the model in a child process (this executable again) so that a crash or hang of
/// ONNX Runtime becomes a finding naming the probe that caused it, not a crash of modelsec.
fn fuzz(
    mut opts: modelsec::fuzz::FuzzOptions,
    junit: Option<PathBuf>,
    timeout: u64,
    format: FormatArg,
) -> Result<ExitStatus> {
    use modelsec::fuzz::rules as fr;
    use modelsec::report::{Finding, Location, Report, RuleInfo};
    if let Some(progress) = std::env::var_os(FUZZ_WORKER) {
        // The worker: cap its address space, run, and hand the report back as JSON.
        opts.progress = Some(PathBuf::from(progress));
        if let Some(mib) = opts.memory_limit_mib {
            let bytes = mib.saturating_mul(1 << 20);
            rlimit::setrlimit(rlimit::Resource::AS, bytes, bytes)
                .context("cannot set the fuzzing worker's memory limit (--memory-limit)")?;
        }
        let report = modelsec::fuzz::fuzz(&opts).map_err(|e| match (&e, opts.memory_limit_mib) {
            (
                modelsec::fuzz::FuzzError::Model { .. } | modelsec::fuzz::FuzzError::Runtime(_),
                Some(mib),
            ) => anyhow::anyhow!(
                "{e}\n(the model runs under --memory-limit {mib} MiB; if it needs more, raise it, or 0 for none)"
            ),
            _ => e.into(),
        })?;
        let mut stdout = std::io::stdout().lock();
        report.render(Format::Json, &mut stdout)?;
        stdout.flush()?;
        return Ok(report.exit_status());
    }
    let progress = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    let exe = std::env::current_exe().context("cannot find the modelsec executable")?;
    let mut child = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(FUZZ_WORKER, progress.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot start the fuzzing worker process")?;
    let mut out = child.stdout.take().context("worker stdout")?;
    let mut err = child.stderr.take().context("worker stderr")?;
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut buf);
        buf
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout.max(1));
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the fuzzing worker")? {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stdout_bytes = out_reader.join().unwrap_or_default();
    let stderr_bytes = err_reader.join().unwrap_or_default();
    let stage = std::fs::read_to_string(progress.path()).unwrap_or_default();
    let stage = if stage.is_empty() {
        "starting".to_string()
    } else {
        stage
    };
    let shown = opts.model.display().to_string();
    let mut report = match status {
        Some(s) if matches!(s.code(), Some(0) | Some(1)) => {
            let mut r: Report = serde_json::from_slice(&stdout_bytes)
                .context("the fuzzing worker's report is not valid JSON")?;
            r.rules = fr::ALL.iter().map(RuleInfo::from).collect();
            r
        }
        Some(s) if s.code() == Some(2) => {
            // Could not run: the worker already said why.
            std::io::stderr().write_all(&stderr_bytes)?;
            return Ok(ExitStatus::Error);
        }
        other => {
            let mut r = Report::new("fuzz", fr::ALL);
            r.targets = vec![shown.clone()];
            r.fact("seed", opts.seed);
            let finding = match other {
                None => Finding::new(
                    &fr::RUNTIME_HANG,
                    format!(
                        "inference did not finish within {timeout} s; the probe running was: {stage}"
                    ),
                ),
                Some(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    let how = match (s.signal(), s.code()) {
                        (Some(sig), _) => format!("signal {sig}"),
                        (None, Some(code)) => format!("exit code {code}"),
                        _ => "unknown status".to_string(),
                    };
                    let tail = String::from_utf8_lossy(&stderr_bytes);
                    let tail = tail.lines().last().unwrap_or("").to_string();
                    Finding::new(
                        &fr::RUNTIME_CRASH,
                        format!(
                            "ONNX Runtime died ({how}) during: {stage}{}",
                            if tail.is_empty() {
                                String::new()
                            } else {
                                format!("; last message: {tail}")
                            }
                        ),
                    )
                }
            };
            r.push(finding.at(Location::path(shown)));
            r.finish();
            r
        }
    };
    report.finish();
    write_junit(junit.as_deref(), &report)?;
    let mut stdout = std::io::stdout().lock();
    report.render(to_format(format), &mut stdout)?;
    stdout.flush()?;
    Ok(report.exit_status())
}

/// What `serve`/`proxy` put behind the monitor.
enum Backend {
    Model(PathBuf),
    Upstream(String, String, modelsec::monitor::server::Protocol),
}

fn serve(backend: Backend, args: cli::MonitorArgs) -> Result<ExitStatus> {
    use modelsec::monitor::config::Config;
    use modelsec::monitor::log::Durability;
    let cli::MonitorArgs {
        config,
        listen,
        log,
        durability,
        baseline,
        no_monitor,
    } = args;
    let (mut cfg, digest) = match &config {
        Some(p) => {
            let text = std::fs::read(p)
                .with_context(|| format!("cannot read the config `{}`", p.display()))?;
            let digest = format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&text))
            );
            (Config::load(p)?, Some(digest))
        }
        None => (Config::default(), None),
    };
    if let Some(l) = log {
        cfg.log.path = l;
    }
    if let Some(d) = durability {
        cfg.log.durability = match d {
            cli::DurabilityArg::Always => Durability::Always,
            cli::DurabilityArg::Group => Durability::Group,
        };
    }
    if let Some(b) = baseline {
        cfg.detect.baseline = Some(b);
    }
    let (model, upstream, protocol) = match backend {
        Backend::Model(model) => {
            if !model.is_file() {
                bail!("`{}` does not exist; check the path", model.display());
            }
            // The model file is untrusted: the static scan first, as `fuzz` does.
            let bad = scan::before_running(&model);
            if !bad.is_empty() {
                bail!(
                    "not serving `{}`: the scan found {}",
                    model.display(),
                    bad.join("; ")
                );
            }
            (model, None, modelsec::monitor::server::Protocol::OipV2)
        }
        Backend::Upstream(url, name, protocol) => {
            if !url.starts_with("http://") {
                bail!(
                    "--upstream must be an http:// URL, not `{url}` (put the proxy next to the model server; TLS to a remote upstream is not supported)"
                );
            }
            (PathBuf::new(), Some((url, name)), protocol)
        }
    };
    let log_path = cfg.log.path.display().to_string();
    let mode = format!("{:?}", cfg.log.durability).to_lowercase();
    let what = if upstream.is_some() { "proxy" } else { "serve" };
    let opts = modelsec::monitor::server::ServeOptions {
        model,
        upstream,
        config: cfg,
        listen,
        config_digest: digest,
        monitor: !no_monitor,
        protocol,
    };
    modelsec::monitor::server::serve(opts, |addr| {
        eprintln!(
            "modelsec {what}: listening on http://{addr} ({}); {}",
            match protocol {
                modelsec::monitor::server::Protocol::OipV2 => "Open Inference Protocol v2",
                modelsec::monitor::server::Protocol::OpenAi => "OpenAI-compatible API",
                modelsec::monitor::server::Protocol::TorchServe => "TorchServe inference API",
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

/// Write `--junit FILE` (atomically), if asked.
fn write_junit(path: Option<&Path>, report: &modelsec::report::Report) -> Result<()> {
    if let Some(path) = path {
        let opts = WriteOptions {
            mode: 0o644,
            overwrite: true,
        };
        fsutil::write_atomic(path, report.to_junit().as_bytes(), opts)
            .with_context(|| format!("cannot write JUnit report `{}`", path.display()))?;
    }
    Ok(())
}
