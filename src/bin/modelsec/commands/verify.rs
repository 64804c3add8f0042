//! `modelsec verify`: a model against an OMS bundle and a trusted public key.

use super::keys;
use crate::{output, progress};
use anyhow::Result;
use modelsec::report::{ExitStatus, Format};
use modelsec::signing;
use std::path::PathBuf;

/// Arguments of `modelsec verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Model directory or file.
    pub model: PathBuf,
    /// Trusted public key (SPKI PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The bundle [default: MODEL.sig beside the model].
    #[arg(long, value_name = "SIG")]
    pub signature: Option<PathBuf>,
    /// An ignore path you expect; it must match one recorded at signing.
    #[arg(long, value_name = "PATH")]
    pub ignore: Vec<String>,
    /// Also fail unless the signature records a clean modelsec scan (made by `sign`).
    #[arg(long)]
    pub require_scan: bool,
    /// With --require-scan: the scan must have used this allow-list: `builtin` (this
    /// modelsec's built-in policy, no profiles or extra files) or a `sha256:` digest (as
    /// `scan --print-allowlist` shows it).
    #[arg(long, value_name = "POLICY", requires = "require_scan")]
    pub scan_policy: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(a: VerifyArgs) -> Result<ExitStatus> {
    let key = keys::verifying_key(&a.key)?;
    let opts = signing::VerifyOptions {
        signature: a
            .signature
            .unwrap_or_else(|| signing::default_signature_path(&a.model)),
        model: a.model,
        ignore: a.ignore,
        require_scan: a.require_scan,
        scan_policy: match a.scan_policy.as_deref() {
            None => None,
            Some("builtin") => Some(modelsec::scan::Allowlist::builtin().digest().to_string()),
            Some(d) if d.starts_with("sha256:") && d.len() == 71 => Some(d.to_string()),
            Some(other) => anyhow::bail!(
                "--scan-policy `{other}`: give `builtin` or a `sha256:` digest of 64 hex digits"
            ),
        },
    };
    let report = signing::verify(&opts, &key, &progress::Bytes::new())?;
    output::report(&report, a.format)
}
