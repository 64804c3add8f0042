//! The `modelsec` binary: parse, call the library, render, map to an exit code.

mod cli;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{AlgorithmArg, Cli, Command, FormatArg, ManifestFormat};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use modelsec::fsutil::{self, WriteOptions};
use modelsec::report::{ExitStatus, Format};
use modelsec::scan;
use modelsec::signing::{self, Algorithm, KeyError, SigningKey, VerifyingKey};
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
        Command::Manifest {
            model,
            ignore,
            allow_symlinks,
            format,
        } => manifest(&model, ignore, allow_symlinks, format),
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
