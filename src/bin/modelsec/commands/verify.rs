//! `modelsec verify`: a model against one or more OMS bundles, with explicit trust inputs: public
//! keys, X.509 trust anchors, or a Sigstore trusted root and the signer's OIDC identity.

use super::keys;
use crate::{output, progress};
use anyhow::{Context, Result, bail};
use modelsec::report::{ExitStatus, Format};
use modelsec::signing::{self, CertificateTrust, KeylessTrust, Trust, keyless, x509};
use modelsec::util::fs;
use std::path::{Path, PathBuf};

/// Largest trust file read (roots PEM, trusted_root.json).
const MAX_TRUST_BYTES: u64 = 16 << 20;

/// Arguments of `modelsec verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Model directory or file.
    pub model: PathBuf,
    /// Key mode: a trusted public key (SPKI PEM); repeatable (any of them may sign).
    #[arg(long, value_name = "PUB", conflicts_with_all = ["certificate_chain", "certificate_oidc_issuer", "certificate_oidc_issuer_regexp", "trusted_root", "certificate_identity", "certificate_identity_regexp"])]
    pub key: Vec<PathBuf>,
    /// Certificate mode: the trusted root certificates (PEM); the signing certificate must chain
    /// to one of them through the intermediates in the bundle, and be valid now.
    #[arg(long, value_name = "ROOTS.pem", conflicts_with_all = ["certificate_oidc_issuer", "certificate_oidc_issuer_regexp", "trusted_root"])]
    pub certificate_chain: Vec<PathBuf>,
    /// The signer's identity: a SAN (email, URI or DNS name) of the signing certificate must equal it.
    #[arg(
        long,
        value_name = "SAN",
        conflicts_with = "certificate_identity_regexp"
    )]
    pub certificate_identity: Option<String>,
    /// As --certificate-identity, a regular expression a SAN must match (unanchored, as cosign's: use ^…$).
    #[arg(long, value_name = "RE")]
    pub certificate_identity_regexp: Option<String>,
    /// Sigstore keyless: the OIDC issuer that authenticated the signer (e.g. https://token.actions.githubusercontent.com).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "certificate_oidc_issuer_regexp"
    )]
    pub certificate_oidc_issuer: Option<String>,
    /// As --certificate-oidc-issuer, a regular expression (unanchored).
    #[arg(long, value_name = "RE")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// Sigstore keyless: the trusted_root.json to verify against [default: the embedded public-good root].
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// The bundle [default: MODEL.sig beside the model]; repeatable, one per signer.
    #[arg(long, value_name = "SIG")]
    pub signature: Vec<PathBuf>,
    /// Distinct trusted signers required [default: every --signature].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threshold: Option<u32>,
    /// An ignore path you expect: re-applied when recorded at signing; otherwise applied only if
    /// it covers no signed file (reported).
    #[arg(long, value_name = "PATH")]
    pub ignore: Vec<String>,
    /// Partial verification: files the signature does not cover are reported, not failed.
    #[arg(long)]
    pub ignore_unsigned_files: bool,
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

fn regex(flag: &str, re: &Option<String>) -> Result<Option<regex::Regex>> {
    re.as_deref()
        .map(|r| {
            regex::Regex::new(r)
                .with_context(|| format!("{flag} `{r}` is not a valid regular expression"))
        })
        .transpose()
}

fn read_trust_file(path: &Path, what: &str) -> Result<String> {
    fs::read_text(path, MAX_TRUST_BYTES)
        .with_context(|| format!("could not read the {what} `{}`", path.display()))
}

fn trust(a: &VerifyArgs) -> Result<Trust> {
    let identity_regexp = regex(
        "--certificate-identity-regexp",
        &a.certificate_identity_regexp,
    )?;
    if !a.key.is_empty() {
        let keys = a
            .key
            .iter()
            .map(|k| keys::verifying_key(k))
            .collect::<Result<Vec<_>>>()?;
        return Ok(Trust::Keys(keys));
    }
    if !a.certificate_chain.is_empty() {
        let mut roots = Vec::new();
        for p in &a.certificate_chain {
            let text = read_trust_file(p, "trust anchors")?;
            roots.extend(
                x509::Cert::all_from_pem(&text, &format!("`{}`", p.display()))
                    .context("--certificate-chain must hold the trusted root certificates (PEM)")?,
            );
        }
        return Ok(Trust::Certificates(CertificateTrust {
            roots,
            identity: a.certificate_identity.clone(),
            identity_regexp,
            at: std::time::SystemTime::now(),
        }));
    }
    let issuer_regexp = regex(
        "--certificate-oidc-issuer-regexp",
        &a.certificate_oidc_issuer_regexp,
    )?;
    if a.certificate_oidc_issuer.is_some() || issuer_regexp.is_some() {
        if a.certificate_identity.is_none() && identity_regexp.is_none() {
            bail!(
                "Sigstore keyless verification needs the signer's identity: --certificate-identity SAN or --certificate-identity-regexp RE"
            );
        }
        let (trusted_root, source) = match &a.trusted_root {
            Some(p) => (read_trust_file(p, "trusted root")?, p.display().to_string()),
            None => (
                keyless::embedded_trusted_root().to_string(),
                format!(
                    "embedded Sigstore public-good root (sha256 {}…)",
                    &keyless::EMBEDDED_TRUSTED_ROOT_SHA256[..16]
                ),
            ),
        };
        if let Err(e) = keyless::check_trusted_root(&trusted_root) {
            bail!("the trusted root `{source}` cannot be used: {e}");
        }
        return Ok(Trust::Keyless(KeylessTrust {
            trusted_root,
            source,
            policy: keyless::IdentityPolicy {
                identity: a.certificate_identity.clone(),
                identity_regexp,
                issuer: a.certificate_oidc_issuer.clone(),
                issuer_regexp,
            },
        }));
    }
    if a.certificate_identity.is_some() || identity_regexp.is_some() || a.trusted_root.is_some() {
        bail!(
            "--certificate-identity and --trusted-root need a mode: --certificate-chain ROOTS.pem (certificate mode) or --certificate-oidc-issuer URL (Sigstore keyless)"
        );
    }
    bail!(
        "say what to trust: --key PUB (key mode), --certificate-chain ROOTS.pem (certificate mode), or --certificate-identity SAN --certificate-oidc-issuer URL (Sigstore keyless)"
    )
}

pub fn run(a: VerifyArgs) -> Result<ExitStatus> {
    let trust = trust(&a)?;
    let signatures = if a.signature.is_empty() {
        vec![signing::default_signature_path(&a.model)]
    } else {
        a.signature
    };
    let opts = signing::VerifyOptions {
        signatures,
        model: a.model,
        ignore: a.ignore,
        require_scan: a.require_scan,
        ignore_unsigned_files: a.ignore_unsigned_files,
        trust,
        threshold: a.threshold.map(|t| t as usize),
        scan_policy: match a.scan_policy.as_deref() {
            None => None,
            Some("builtin") => Some(modelsec::scan::Allowlist::builtin().digest().to_string()),
            Some(d) if d.starts_with("sha256:") && d.len() == 71 => Some(d.to_string()),
            Some(other) => anyhow::bail!(
                "--scan-policy `{other}`: give `builtin` or a `sha256:` digest of 64 hex digits"
            ),
        },
    };
    let report = signing::verify(&opts, &progress::Bytes::new())?;
    output::report(&report, a.format)
}
