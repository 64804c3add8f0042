//! `modelsec keygen`: a key pair as PKCS#8 and SPKI PEM.

use super::keys;
use anyhow::Result;
use modelsec::report::ExitStatus;
use modelsec::signing::{Algorithm, SigningKey};
use modelsec::util::fs::{self, WriteOptions};
use std::path::PathBuf;

/// Arguments of `modelsec keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key; the public key goes to KEY.pub.
    #[arg(long, value_name = "KEY")]
    pub out: PathBuf,
    /// Signature algorithm.
    #[arg(long, value_enum, default_value_t = Algorithm::Ed25519)]
    pub algorithm: Algorithm,
    /// Encrypt the private key with a passphrase.
    #[arg(long)]
    pub encrypt: bool,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: KeygenArgs) -> Result<ExitStatus> {
    let public = keys::pub_path(&a.out);
    // Check both targets before asking for a passphrase, so a refusal costs nothing.
    fs::check_writable(&a.out, a.force)?;
    fs::check_writable(&public, a.force)?;
    let passphrase = if a.encrypt {
        Some(keys::new_passphrase()?)
    } else {
        None
    };
    let key = SigningKey::generate(a.algorithm);
    let private_pem = key.to_pkcs8_pem(passphrase.as_ref().map(|p| p.as_bytes()))?;
    let vk = key.verifying_key();
    let public_pem = vk.to_pem()?;
    let private_opts = WriteOptions {
        mode: 0o600,
        overwrite: a.force,
    };
    let public_opts = WriteOptions {
        mode: 0o644,
        overwrite: a.force,
    };
    // Both files or neither: a failed write never leaves a mismatched pair.
    fs::write_pair_atomic(
        (&a.out, private_pem.as_bytes(), private_opts),
        (&public, public_pem.as_bytes(), public_opts),
    )?;
    eprintln!(
        "wrote {} private key `{}`{} and public key `{}`\nkey hint: {}",
        a.algorithm,
        a.out.display(),
        if a.encrypt { " (encrypted)" } else { "" },
        public.display(),
        vk.hint()?
    );
    if a.algorithm == Algorithm::Ed25519 {
        eprintln!(
            "note: model_signing and other OMS tools verify only NIST-curve keys; use --algorithm ecdsa-p256 (or ecdsa-p384, ecdsa-p521) for bundles they must read"
        );
    }
    Ok(ExitStatus::Clean)
}
