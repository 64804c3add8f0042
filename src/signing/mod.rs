//! Sign and verify models as OpenSSF Model Signing (OMS) bundles.
//!
//! - [`manifest()`] enumerates and hashes a model (directory or single file).
//! - [`sign`] turns that into a signed bundle (Sigstore bundle v0.3 / DSSE / in-toto v1).
//! - [`verify()`] checks a bundle against a public key and the model on disk and returns a
//!   [`Report`](crate::report::Report) listing every difference. It returns `Err` only when it cannot run at all.
//!
//! Signing refuses what OMS tools silently accept: an empty model, symlinks (unless allowed),
//! symlinked directories, links leaving the model, special files and non-UTF-8 names.

pub mod attest;
pub mod bundle;
pub mod keys;
pub mod manifest;
pub mod rules;
mod verify;

pub use attest::{
    SCAN_ANNOTATION, ScanAttestation, ScanVerdict, SignOutcome, SignRequest, sign_scanned,
};
pub use keys::{Algorithm, KeyError, SigningKey, VerifyingKey};
pub use manifest::{HashAlg, NoProgress, Problem, Progress};
pub use verify::{VerifyError, VerifyOptions, verify};

use manifest::{DEFAULT_IGNORES, component_cmp};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Why a model could not be enumerated, hashed or signed (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The model path itself is unusable.
    #[error(transparent)]
    Walk(#[from] manifest::WalkError),
    /// Things in the model that cannot be signed as they are; all of them are listed.
    #[error("the model cannot be signed as it is:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Problems(Vec<Problem>),
    /// Nothing to sign.
    #[error("the model `{}` has no files to sign (after ignore paths); an empty signature would prove nothing", .0.display())]
    Empty(PathBuf),
    /// A file could not be read.
    #[error("could not read `{name}`")]
    Read {
        /// Manifest name.
        name: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A bad `--ignore` value.
    #[error("{0}")]
    Ignore(String),
    /// The signature would overwrite the model.
    #[error("the signature path `{}` is the model file itself", .0.display())]
    SignatureIsModel(PathBuf),
    /// Key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Writing the signature there would destroy something.
    #[error("refusing to write the signature to `{}`: {why}", path.display())]
    SignaturePath {
        /// The signature path.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Files were replaced or rewritten between the scan and the hashing: what would be signed
    /// is not what was scanned.
    #[error("the model changed while it was being signed; nothing was written (sign again when nothing writes to it):\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Changed(Vec<String>),
    /// The scan before signing could not run.
    #[error("could not scan the model before signing: {0}")]
    Scan(String),
}

/// How to enumerate a model.
#[derive(Clone, Debug, Default)]
pub struct ManifestOptions {
    /// Extra ignore paths as the user gave them (relative to the model root, or absolute inside it).
    pub ignore: Vec<String>,
    /// Hash allowed file symlinks by their target's content (OMS semantics).
    pub allow_symlinks: bool,
    /// Where the signature will be written; excluded from the model if it lies inside it.
    pub signature: Option<PathBuf>,
}

/// One file of a manifest.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Entry {
    /// Manifest name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex digest.
    pub digest: String,
    /// The file hashed (device, inode, times), to prove it is the file the scan read.
    #[serde(skip)]
    pub identity: Option<crate::util::fs::FileIdentity>,
}

/// A hashed model.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Manifest {
    /// Absolute model path.
    pub model: PathBuf,
    /// OMS subject name.
    pub subject_name: String,
    /// OMS subject digest (hex SHA-256 over the raw resource digests in order).
    pub subject_sha256: String,
    /// Hash algorithm.
    pub hash_type: &'static str,
    /// Whether symlinks were allowed.
    pub allow_symlinks: bool,
    /// Ignore paths applied (and recorded when signing), sorted.
    pub ignore_paths: Vec<String>,
    /// Files in canonical order.
    pub files: Vec<Entry>,
    /// Total bytes hashed.
    pub total_bytes: u64,
    /// The model is a single file.
    pub single_file: bool,
}

/// The OMS subject digest: SHA-256 over the concatenated raw digests, in the given order.
pub fn subject_digest<'a>(digests: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = Sha256::new();
    for d in digests {
        h.update(d);
    }
    hex::encode(h.finalize())
}

/// Refuse a signature path whose file would be lost by writing the bundle there: the private
/// key (always), or any existing file that is not a signature bundle — a weights file of the
/// model, say — unless `force`. Existing non-files (directories, FIFOs) are always refused.
pub fn check_signature_path(
    out: &Path,
    model: &Path,
    key: &Path,
    force: bool,
) -> Result<(), SignError> {
    let refuse = |why: String| {
        Err(SignError::SignaturePath {
            path: out.to_path_buf(),
            why,
        })
    };
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(()); // nothing there to lose
    };
    let (abs, key_abs) = (std::fs::canonicalize(out), std::fs::canonicalize(key));
    if let (Ok(a), Ok(k)) = (&abs, &key_abs)
        && a == k
    {
        return refuse("it is the private key".into());
    }
    if !meta.is_file() {
        return refuse(format!(
            "it is a {}, not a file",
            crate::util::fs::kind_of(meta.file_type())
        ));
    }
    if force || is_bundle_file(out) {
        return Ok(());
    }
    let inside_model = match (&abs, std::fs::canonicalize(model)) {
        (Ok(a), Ok(m)) => a == &m || a.starts_with(&m),
        _ => false,
    };
    refuse(if inside_model {
        "it is a file of the model and not a signature bundle; pass --force to overwrite it".into()
    } else {
        "it exists and is not a signature bundle; pass --force to overwrite it".into()
    })
}

/// Whether `path` holds a Sigstore bundle (what `sign` writes, and may overwrite).
fn is_bundle_file(path: &Path) -> bool {
    crate::util::fs::read_bytes(path, verify::MAX_BUNDLE_BYTES)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("mediaType")?.as_str().map(str::to_string))
        .is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.bundle"))
}

/// Absolute path of `p` with its parent directory resolved (the file itself need not exist).
fn resolve_output(p: &Path) -> Option<PathBuf> {
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(p.file_name()?))
}

/// The default signature path for a model: `MODEL.sig` beside it (outside a model directory, so
/// writing it never changes what was signed).
pub fn default_signature_path(model: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
    let mut s = abs.into_os_string();
    s.push(".sig");
    PathBuf::from(s)
}

/// Enumerate and hash a model with SHA-256 (OMS `files` method).
pub fn manifest(
    model: &Path,
    opts: &ManifestOptions,
    progress: &dyn Progress,
) -> Result<Manifest, SignError> {
    let root = std::fs::canonicalize(model).map_err(|source| manifest::WalkError::Open {
        path: model.to_path_buf(),
        source,
    })?;
    let is_dir = root.is_dir();
    let mut ignores: Vec<String> = Vec::new();
    if is_dir {
        ignores.extend(DEFAULT_IGNORES.iter().map(|s| s.to_string()));
        for i in &opts.ignore {
            ignores.push(manifest::normalize_ignore(&root, i).map_err(SignError::Ignore)?);
        }
    } else if !opts.ignore.is_empty() {
        return Err(SignError::Ignore(
            "--ignore applies to model directories, not to a single file".into(),
        ));
    }
    if let Some(sig) = &opts.signature
        && let Some(abs) = resolve_output(sig)
    {
        if abs == root {
            return Err(SignError::SignatureIsModel(sig.clone()));
        }
        if is_dir
            && let Ok(rel) = abs.strip_prefix(&root)
            && let Some(rel) = rel.to_str()
        {
            ignores.push(rel.to_string());
        }
    }
    ignores.sort_by(|a, b| component_cmp(a, b));
    ignores.dedup();

    let walk = manifest::walk(&root, &ignores, opts.allow_symlinks)?;
    if !walk.problems.is_empty() {
        return Err(SignError::Problems(walk.problems));
    }
    if walk.files.is_empty() {
        return Err(SignError::Empty(root));
    }
    let results = manifest::hash_files(&walk.files, HashAlg::Sha256, progress);
    let mut files = Vec::with_capacity(results.len());
    let mut raw = Vec::with_capacity(results.len());
    for (f, r) in walk.files.iter().zip(results) {
        let d = r.map_err(|source| SignError::Read {
            name: f.name.clone(),
            source,
        })?;
        files.push(Entry {
            name: d.name,
            size: d.size,
            digest: hex::encode(&d.digest),
            identity: Some(d.identity),
        });
        raw.push(d.digest);
    }
    let subject_name = root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model")
        .to_string();
    Ok(Manifest {
        model: root,
        subject_name,
        subject_sha256: subject_digest(raw.iter().map(Vec::as_slice)),
        hash_type: HashAlg::Sha256.name(),
        allow_symlinks: opts.allow_symlinks,
        ignore_paths: if is_dir { ignores } else { Vec::new() },
        total_bytes: files.iter().map(|f| f.size).sum(),
        single_file: !is_dir,
        files,
    })
}

/// A signed model: the bundle bytes to write and what they cover.
#[derive(Debug)]
pub struct Signed {
    /// The bundle file content.
    pub bundle: Vec<u8>,
    /// What was signed.
    pub manifest: Manifest,
    /// The signer's key hint.
    pub hint: String,
}

/// Hash and sign a model. The caller writes [`Signed::bundle`] (atomically) to
/// `opts.signature`.
pub fn sign(
    model: &Path,
    opts: &ManifestOptions,
    key: &SigningKey,
    progress: &dyn Progress,
) -> Result<Signed, SignError> {
    sign_annotated(model, opts, key, None, progress)
}

/// [`sign`], recording `annotations` (a JSON object) as in-toto `subject[0].annotations`, the
/// place the OMS statement leaves for extensions (the predicate itself stays OMS-exact).
pub fn sign_annotated(
    model: &Path,
    opts: &ManifestOptions,
    key: &SigningKey,
    annotations: Option<&serde_json::Value>,
    progress: &dyn Progress,
) -> Result<Signed, SignError> {
    let m = manifest(model, opts, progress)?;
    sign_manifest(m, key, annotations)
}

/// Sign an already hashed model.
pub fn sign_manifest(
    m: Manifest,
    key: &SigningKey,
    annotations: Option<&serde_json::Value>,
) -> Result<Signed, SignError> {
    let resources: Vec<bundle::ResourceOut> = m
        .files
        .iter()
        .map(|f| bundle::ResourceOut {
            algorithm: m.hash_type.to_string(),
            digest: f.digest.clone(),
            // model_signing names a single-file model's resource "." and rejects the basename
            // (which the OMS v1.0 text asks for); we write what the deployed verifier accepts
            // and read both.
            name: if m.single_file {
                ".".to_string()
            } else {
                f.name.clone()
            },
        })
        .collect();
    let payload = bundle::statement_bytes(&bundle::StatementInput {
        subject_name: &m.subject_name,
        subject_sha256: &m.subject_sha256,
        resources: &resources,
        hash_type: m.hash_type,
        allow_symlinks: m.allow_symlinks,
        ignore_paths: &m.ignore_paths,
        annotations,
    });
    let signature = key.sign(&bundle::pae(bundle::PAYLOAD_TYPE, &payload));
    let hint = key.verifying_key().hint()?;
    Ok(Signed {
        bundle: bundle::bundle_bytes(&payload, &signature, &hint),
        manifest: m,
        hint,
    })
}
