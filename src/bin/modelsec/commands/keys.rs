//! Loading keys from files, and asking for passphrases (environment or terminal, never the
//! command line).

use anyhow::{Context, Result, bail};
use modelsec::signing::{KeyError, SigningKey, VerifyingKey};
use modelsec::util::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const PASSPHRASE_ENV: &str = "MODELSEC_PASSPHRASE";

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

/// A new passphrase for `keygen --encrypt`, asked twice on a terminal.
pub fn new_passphrase() -> Result<Zeroizing<String>> {
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

/// `KEY.pub` for `KEY`.
pub fn pub_path(key: &Path) -> PathBuf {
    let mut s = key.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// A private key from a PEM file (asking for its passphrase when it is encrypted).
pub fn signing_key(path: &Path) -> Result<SigningKey> {
    let text = fs::read_text(path, fs::MAX_KEY_BYTES).context("could not read the private key")?;
    let mut ask = || passphrase_for(path);
    SigningKey::from_pem(&text, &mut ask)
        .with_context(|| format!("could not load private key `{}`", path.display()))
}

/// A public key from a PEM file.
pub fn verifying_key(path: &Path) -> Result<VerifyingKey> {
    let text = fs::read_text(path, fs::MAX_KEY_BYTES).context("could not read the public key")?;
    VerifyingKey::from_pem(&text)
        .with_context(|| format!("could not load public key `{}`", path.display()))
}
