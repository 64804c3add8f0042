//! The chain's anchors: a genesis record that begins every chain, and signed checkpoints.
//!
//! Genesis. The first line of a chain (seq 0) is `{"kind":"genesis","nonce":…,"replica":…,
//! "version":…}`: a chain that does not start with it was cut at its start (or written by an
//! older modelsec).
//!
//! Checkpoints. With `[log] checkpoint_key`, the writer signs the chain head every
//! `checkpoint_events` events or `checkpoint_seconds` seconds (also when idle: a checkpoint is
//! a heartbeat), before a file is rotated, and when it closes (`"final": true`). A checkpoint is a
//! line of the chain: `{"kind":"checkpoint","covers":<seq of the line before>,"head":<its
//! hash>,"at":…,"every_events":…,"every_seconds":…,"final":…,"alg":…,"key":<key hint>,
//! "replica":…,"sig":<base64>}`. The signature is over `modelsec.checkpoint/1\n` followed by the
//! checkpoint's members other than `sig`, as compact JSON with sorted keys. As every line's hash
//! covers the line before it, a valid signature on the head vouches for every line up to it.

use super::Members;
use crate::signing::{KeyError, SigningKey, VerifyingKey};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a checkpoint signature is computed over, before the members.
pub const DOMAIN: &[u8] = b"modelsec.checkpoint/1\n";

/// Settings for signed checkpoints.
#[derive(Clone)]
pub struct CheckpointOptions {
    pub key: Arc<SigningKey>,
    /// A checkpoint at least every this many events.
    pub every_events: u64,
    /// A checkpoint at least this often, also when idle.
    pub every: Duration,
}

impl std::fmt::Debug for CheckpointOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointOptions")
            .field("algorithm", &self.key.algorithm())
            .field("every_events", &self.every_events)
            .field("every", &self.every)
            .finish()
    }
}

/// Load a checkpoint key from PKCS#8 (or SEC1) PEM as `modelsec keygen` writes it; an
/// encrypted key takes its passphrase from `MODELSEC_PASSPHRASE`.
pub fn load_key(path: &std::path::Path) -> Result<SigningKey, String> {
    let text = crate::util::fs::read_text(path, 1 << 20)
        .map_err(|e| format!("log.checkpoint_key: {e}"))?;
    SigningKey::from_pem(&text, &mut || {
        std::env::var("MODELSEC_PASSPHRASE")
            .map(zeroize::Zeroizing::new)
            .map_err(|_| KeyError::Malformed(
                "the key is encrypted: set MODELSEC_PASSPHRASE for the server, or use an unencrypted key readable only by the server's user".into(),
            ))
    })
    .map_err(|e| format!("log.checkpoint_key `{}`: {e}", path.display()))
}

/// The members of a genesis record.
pub(super) fn genesis(replica: &str) -> Members {
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let mut m = Map::new();
    m.insert("kind".into(), "genesis".into());
    m.insert("nonce".into(), hex::encode(nonce).into());
    m.insert("replica".into(), replica.into());
    m.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    Members::of_object(m)
}

/// The writer's checkpoint state.
pub(super) struct Checkpointer {
    opts: CheckpointOptions,
    hint: String,
    replica: String,
    /// Events since the last checkpoint.
    pub since: u64,
    pub last: Instant,
}

impl Checkpointer {
    pub fn new(opts: CheckpointOptions, replica: &str) -> Result<Self, KeyError> {
        let hint = opts.key.verifying_key().hint()?;
        Ok(Checkpointer {
            opts,
            hint,
            replica: replica.to_string(),
            since: 0,
            last: Instant::now(),
        })
    }

    /// Whether a checkpoint is due after `more` events.
    pub fn due(&self, more: u64) -> bool {
        self.since + more >= self.opts.every_events || self.last.elapsed() >= self.opts.every
    }

    /// How long until the time-based checkpoint is due.
    pub fn wait(&self) -> Duration {
        self.opts.every.saturating_sub(self.last.elapsed())
    }

    /// A signed checkpoint over the line `covers` whose hash is `head`.
    pub fn sign(&self, covers: u64, head: &str, at: &str, last: bool) -> Members {
        let mut m = Map::new();
        m.insert("kind".into(), "checkpoint".into());
        m.insert("covers".into(), covers.into());
        m.insert("head".into(), head.into());
        m.insert("at".into(), at.into());
        m.insert("every_events".into(), self.opts.every_events.into());
        m.insert("every_seconds".into(), self.opts.every.as_secs().into());
        m.insert("final".into(), last.into());
        m.insert("alg".into(), self.opts.key.algorithm().name().into());
        m.insert("key".into(), self.hint.clone().into());
        m.insert("replica".into(), self.replica.clone().into());
        let sig = self.opts.key.sign(&message(&m));
        m.insert(
            "sig".into(),
            base64::engine::general_purpose::STANDARD.encode(sig).into(),
        );
        Members::of_object(m)
    }

    pub fn reset(&mut self) {
        self.since = 0;
        self.last = Instant::now();
    }
}

/// The signed message of a checkpoint's members (`sig` and the chain's own members left out).
pub fn message(members: &Map<String, Value>) -> Vec<u8> {
    let mut m = members.clone();
    for k in ["sig", "prev", "schema", "seq", "time", "hash"] {
        m.remove(k);
    }
    let mut out = DOMAIN.to_vec();
    out.extend_from_slice(Value::Object(m).to_string().as_bytes());
    out
}

/// A checkpoint as read back.
#[derive(Debug)]
pub(super) struct Seen {
    pub covers: u64,
    pub head: String,
    pub at: Option<jiff::Timestamp>,
    pub every_events: u64,
    pub every_seconds: u64,
    pub last: bool,
    pub key: String,
    pub replica: String,
    /// With a key: whether the signature verifies.
    pub valid: Option<bool>,
}

/// Read a checkpoint's members; `Err` names what is missing. With `key`, checks the signature.
pub(super) fn read(v: &Map<String, Value>, key: Option<&VerifyingKey>) -> Result<Seen, String> {
    let num = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("checkpoint without a `{k}` number"))
    };
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("checkpoint without a `{k}` string"))
    };
    let sig = text("sig")?;
    let valid = key.map(|k| {
        base64::engine::general_purpose::STANDARD
            .decode(sig.as_bytes())
            .is_ok_and(|s| k.verify(&message(v), &s))
    });
    Ok(Seen {
        covers: num("covers")?,
        head: text("head")?,
        at: text("at")?.parse().ok(),
        every_events: num("every_events")?,
        every_seconds: num("every_seconds")?,
        last: v.get("final").and_then(Value::as_bool).unwrap_or(false),
        key: text("key").unwrap_or_default(),
        replica: text("replica").unwrap_or_default(),
        valid,
    })
}
