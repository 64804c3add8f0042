//! `modelsec sign`: scan exactly what is signed, then sign it as an OMS bundle with the scan
//! recorded.

use super::keys;
use crate::progress;
use anyhow::{Context, Result};
use modelsec::report::{ExitStatus, Format};
use modelsec::scan;
use modelsec::signing::{self, ManifestOptions, SignRequest};
use modelsec::util::fs::{self, WriteOptions};
use std::path::PathBuf;

/// Arguments of `modelsec sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Model directory or file.
    pub model: PathBuf,
    /// Private key (PKCS#8 or SEC1 PEM, optionally encrypted).
    #[arg(long)]
    pub key: PathBuf,
    /// Certificate mode: the key's certificate chain (PEM: the signing certificate first, then
    /// its intermediates); the bundle carries it instead of a key hint.
    #[arg(long, value_name = "CHAIN.pem")]
    pub certificate: Option<PathBuf>,
    /// Where to write the bundle [default: MODEL.sig beside the model].
    #[arg(long, value_name = "OUT")]
    pub signature: Option<PathBuf>,
    /// Leave this path (relative to the model root) out of the signature; repeatable.
    #[arg(long, value_name = "PATH")]
    pub ignore: Vec<String>,
    /// Sign file symlinks that point inside the model by their target's content.
    #[arg(long)]
    pub allow_symlinks: bool,
    /// Sign even when the scan finds something (the signature records that verdict).
    #[arg(long)]
    pub allow_unsafe: bool,
    /// Extra scan allow-list (TOML); repeatable.
    #[arg(long, value_name = "FILE")]
    pub allowlist: Vec<PathBuf>,
    /// A reviewed scan allow-list profile (see `scan --list-profiles`); repeatable.
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,
    /// Overwrite an existing file at --signature that is not a signature bundle.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: SignArgs) -> Result<ExitStatus> {
    let key = keys::signing_key(&a.key)?;
    let chain = match &a.certificate {
        Some(p) => {
            let text = fs::read_text(p, fs::MAX_KEY_BYTES).with_context(|| {
                format!("could not read the certificate chain `{}`", p.display())
            })?;
            Some(signing::load_signing_chain(
                &text,
                &format!("`{}`", p.display()),
                &key,
            )?)
        }
        None => None,
    };
    let out = a
        .signature
        .clone()
        .unwrap_or_else(|| signing::default_signature_path(&a.model));
    signing::check_signature_path(&out, &a.model, &a.key, a.force)?;
    fs::check_writable(&out, true)?;
    let allowlist = scan::Allowlist::with_profiles(&a.profile, &a.allowlist)?;
    let started = std::time::Instant::now();
    let req = SignRequest {
        model: &a.model,
        key: &key,
        certificate_chain: chain.as_deref(),
        manifest: ManifestOptions {
            ignore: a.ignore,
            allow_symlinks: a.allow_symlinks,
            signature: Some(out.clone()),
        },
        allowlist: &allowlist,
        allow_unsafe: a.allow_unsafe,
    };
    let outcome = signing::sign_scanned(&req, &progress::Files::new(), &progress::Bytes::new())
        .with_context(|| format!("could not sign `{}`", a.model.display()))?;
    if outcome.failing > 0 {
        let mut err = std::io::stderr().lock();
        outcome.scan.render(Format::Human, &mut err)?;
    }
    let Some(signed) = outcome.signed else {
        eprintln!(
            "error: refusing to sign `{}`: the scan found {} problem(s) (above); nothing was written. Fix the model, allow-list trusted globals with --allowlist, or pass --allow-unsafe to sign anyway (the signature records the verdict)",
            a.model.display(),
            outcome.failing
        );
        return Ok(ExitStatus::Findings);
    };
    if outcome.failing > 0 {
        eprintln!(
            "warning: signing despite {} scan finding(s) (--allow-unsafe); the signature records this",
            outcome.failing
        );
    }
    fs::write_atomic(
        &out,
        &signed.bundle,
        WriteOptions {
            mode: 0o644,
            overwrite: true,
        },
    )?;
    let m = &signed.manifest;
    eprintln!(
        "signed {} file(s), {} of `{}` with {} key {}{} in {:.2?}\nsubject sha256:{}\nsignature: {}",
        m.files.len(),
        indicatif::HumanBytes(m.total_bytes),
        a.model.display(),
        key.algorithm(),
        &signed.hint[..16],
        if chain.is_some() {
            " (certificate mode)"
        } else {
            ""
        },
        started.elapsed(),
        m.subject_sha256,
        out.display()
    );
    Ok(ExitStatus::Clean)
}
