//! Scan before sign: the rule that a model is scanned (exactly what is signed) before it is
//! signed, and the typed record of that scan that the signed statement carries.
//!
//! The record is an in-toto `subject[0].annotations` entry under [`SCAN_ANNOTATION`]; the OMS
//! predicate itself stays untouched, so other OMS verifiers still accept the bundle.

use super::{Manifest, ManifestOptions, SignError, Signed, SigningKey, manifest};
use crate::report::Report;
use crate::scan::{self, Allowlist, ScanProgress};
use crate::util::fs::FileIdentity;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Key of the subject annotation where `sign` records the scan that preceded it.
pub const SCAN_ANNOTATION: &str = "dev.modelsec.scan";

/// What the scan before signing concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanVerdict {
    /// Nothing failing was found.
    #[serde(rename = "clean")]
    Clean,
    /// Findings, and the signer overrode them with `--allow-unsafe`.
    #[serde(rename = "findings (signed with --allow-unsafe)")]
    SignedDespiteFindings,
}

/// The scan record `sign` writes into the signed statement (`dev.modelsec.scan`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanAttestation {
    /// `modelsec VERSION`.
    pub tool: String,
    /// Digest of the allow-list the scan used (`sha256:…`).
    pub policy: String,
    /// The verdict.
    pub verdict: ScanVerdict,
    /// Number of failing findings.
    pub findings: u64,
    /// Number of files the scan analysed as model files.
    pub files_scanned: u64,
}

impl ScanAttestation {
    /// The record as the annotations object of the statement's subject.
    pub fn annotations(&self) -> serde_json::Value {
        serde_json::json!({ SCAN_ANNOTATION: self })
    }

    /// Read the record from a statement's subject annotations: `None` when there is none,
    /// `Err` with the reason when one is there but malformed.
    pub fn from_annotations(
        annotations: Option<&serde_json::Value>,
    ) -> Option<Result<Self, String>> {
        let v = annotations?.get(SCAN_ANNOTATION)?;
        Some(serde_json::from_value(v.clone()).map_err(|e| {
            format!("the `{SCAN_ANNOTATION}` annotation is not a modelsec scan record: {e}")
        }))
    }
}

/// What `sign` is asked to do.
pub struct SignRequest<'a> {
    /// The model directory or file.
    pub model: &'a Path,
    /// The private key.
    pub key: &'a SigningKey,
    /// Enumeration options; `signature` is where the bundle goes.
    pub manifest: ManifestOptions,
    /// The allow-list for the scan.
    pub allowlist: &'a Allowlist,
    /// Sign even when the scan finds something (the record says so).
    pub allow_unsafe: bool,
}

/// What `sign` did.
pub struct SignOutcome {
    /// The scan of what is (or would have been) signed.
    pub scan: Report,
    /// Number of failing scan findings.
    pub failing: u64,
    /// The signed bundle, unless the scan refused it.
    pub signed: Option<Signed>,
}

/// Scan exactly what would be signed, then sign it with the scan recorded, unless the scan
/// fails and `allow_unsafe` is not set (then `signed` is `None` and nothing is signed).
pub fn sign_scanned(
    req: &SignRequest<'_>,
    scan_progress: &dyn ScanProgress,
    hash_progress: &dyn super::Progress,
) -> Result<SignOutcome, SignError> {
    let exclude = excluded_from_scan(req.model, &req.manifest);
    let (scan, scanned) = scan::scan_with_identities(
        &[req.model.to_path_buf()],
        req.allowlist,
        scan_progress,
        &exclude,
    )
    .map_err(|e| SignError::Scan(e.to_string()))?;
    let failing = scan.findings.iter().filter(|f| f.severity.fails()).count() as u64;
    if failing > 0 && !req.allow_unsafe {
        return Ok(SignOutcome {
            scan,
            failing,
            signed: None,
        });
    }
    let record = ScanAttestation {
        tool: format!("modelsec {}", env!("CARGO_PKG_VERSION")),
        policy: req.allowlist.digest().to_string(),
        verdict: if failing == 0 {
            ScanVerdict::Clean
        } else {
            ScanVerdict::SignedDespiteFindings
        },
        findings: failing,
        files_scanned: scan
            .facts
            .get("scanned")
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
    };
    let manifest = super::manifest(req.model, &req.manifest, hash_progress)?;
    same_files(&scanned, &manifest)?;
    let signed = super::sign_manifest(manifest, req.key, Some(&record.annotations()))?;
    Ok(SignOutcome {
        scan,
        failing,
        signed: Some(signed),
    })
}

/// Every file hashed must be a file the scan read, unchanged since (same device and inode, same
/// size and times): a file swapped in by rename, or rewritten in place, between the scan and the
/// hashing would otherwise be signed with a "scanned clean" record over bytes nobody scanned.
fn same_files(scanned: &[FileIdentity], m: &Manifest) -> Result<(), SignError> {
    let by_inode: std::collections::HashMap<(u64, u64), &FileIdentity> =
        scanned.iter().map(|i| ((i.dev, i.ino), i)).collect();
    let changed: Vec<String> = m
        .files
        .iter()
        .filter_map(|f| {
            let why = match f.identity.as_ref() {
                None => "its identity was not recorded when it was hashed",
                Some(id) => match by_inode.get(&(id.dev, id.ino)) {
                    None => "it is not the file that was scanned (replaced after the scan)",
                    Some(s) if *s != id => "it was modified after the scan",
                    Some(_) => return None,
                },
            };
            Some(format!("`{}`: {why}", f.name))
        })
        .collect();
    if changed.is_empty() {
        Ok(())
    } else {
        Err(SignError::Changed(changed))
    }
}

/// The paths the scan leaves out so that it covers what is signed: the ignore paths and a
/// signature inside the model (a bad ignore path is reported by signing itself).
fn excluded_from_scan(model: &Path, opts: &ManifestOptions) -> Vec<PathBuf> {
    let mut exclude = Vec::new();
    let Ok(root) = std::fs::canonicalize(model) else {
        return exclude;
    };
    if !root.is_dir() {
        return exclude;
    }
    for ig in &opts.ignore {
        if let Ok(rel) = manifest::normalize_ignore(&root, ig) {
            exclude.push(model.join(rel));
        }
    }
    if let Some(out) = &opts.signature {
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
    exclude
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{Algorithm, NoProgress};

    /// A protocol-2 pickle calling `os.system("id")` (malicious) and one holding a list (clean),
    /// the same length so a swap keeps the size.
    const EVIL: &[u8] = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
    const CLEAN: &[u8] =
        b"\x80\x02]q\x00(K\x01K\x02K\x03K\x04K\x05K\x06K\x07K\x08K\tK\nM\x0b\x00e.";

    fn request<'a>(model: &'a Path, key: &'a SigningKey, allow: &'a Allowlist) -> SignRequest<'a> {
        SignRequest {
            model,
            key,
            manifest: ManifestOptions::default(),
            allowlist: allow,
            allow_unsafe: false,
        }
    }

    /// Regression: `sign` scanned, then read the files again to hash them; a file swapped in
    /// between was signed with a "scanned clean" record. The identities must match.
    #[test]
    fn a_file_replaced_or_rewritten_after_the_scan_is_not_signed() {
        assert_eq!(EVIL.len(), CLEAN.len());
        let d = tempfile::tempdir().unwrap();
        let model = d.path().join("m");
        std::fs::create_dir(&model).unwrap();
        std::fs::write(model.join("w.pkl"), CLEAN).unwrap();
        let allow = Allowlist::builtin();
        let (scan, ids) =
            scan::scan_with_identities(std::slice::from_ref(&model), &allow, &scan::Quiet, &[])
                .unwrap();
        assert!(!scan.failed(), "{:?}", scan.findings);
        // Replaced by rename: another inode.
        std::fs::write(d.path().join("evil"), EVIL).unwrap();
        std::fs::rename(d.path().join("evil"), model.join("w.pkl")).unwrap();
        let m = manifest(&model, &ManifestOptions::default(), &NoProgress).unwrap();
        let e = same_files(&ids, &m).unwrap_err();
        assert!(
            e.to_string().contains("not the file that was scanned"),
            "{e}"
        );
        // Rewritten in place (same inode, same size): the change time moves.
        std::fs::write(model.join("w.pkl"), CLEAN).unwrap();
        let (_, ids) =
            scan::scan_with_identities(std::slice::from_ref(&model), &allow, &scan::Quiet, &[])
                .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        std::fs::write(model.join("w.pkl"), EVIL).unwrap();
        let m = manifest(&model, &ManifestOptions::default(), &NoProgress).unwrap();
        let e = same_files(&ids, &m).unwrap_err();
        assert!(e.to_string().contains("modified after the scan"), "{e}");
    }

    /// The reproduction: a rename loop swapping a clean and a malicious file while
    /// signing. Whatever the timing, a bundle that records a clean scan signs the clean bytes.
    #[test]
    fn a_rename_loop_never_gets_malicious_bytes_signed_as_clean() {
        use sha2::{Digest, Sha256};
        let d = tempfile::tempdir().unwrap();
        let model = d.path().join("m");
        std::fs::create_dir(&model).unwrap();
        std::fs::write(model.join("w.pkl"), CLEAN).unwrap();
        let key = SigningKey::generate(Algorithm::Ed25519);
        let allow = Allowlist::builtin();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (dir, model, stop) = (d.path().to_path_buf(), model.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let tmp = dir.join(format!("t{}", i % 2));
                    let _ = std::fs::write(&tmp, if i.is_multiple_of(2) { EVIL } else { CLEAN });
                    let _ = std::fs::rename(&tmp, model.join("w.pkl"));
                    i += 1;
                }
            })
        };
        let clean_digest = hex::encode(Sha256::digest(CLEAN));
        let mut signed = 0;
        for _ in 0..150 {
            if let Ok(out) = sign_scanned(&request(&model, &key, &allow), &scan::Quiet, &NoProgress)
                && let Some(s) = out.signed
            {
                signed += 1;
                assert_eq!(out.failing, 0);
                assert_eq!(
                    s.manifest.files[0].digest, clean_digest,
                    "malicious bytes signed as scanned clean"
                );
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        // Not a timing assertion: the property above is what matters; this only says the loop ran.
        let _ = signed;
    }

    #[test]
    fn attestation_round_trips_with_the_recorded_strings() {
        let a = ScanAttestation {
            tool: "modelsec 0.1.0".into(),
            policy: "sha256:00".into(),
            verdict: ScanVerdict::SignedDespiteFindings,
            findings: 2,
            files_scanned: 3,
        };
        let v = a.annotations();
        assert_eq!(
            v[SCAN_ANNOTATION]["verdict"],
            "findings (signed with --allow-unsafe)"
        );
        let back = ScanAttestation::from_annotations(Some(&v))
            .unwrap()
            .unwrap();
        assert_eq!(back, a);
        assert!(ScanAttestation::from_annotations(Some(&serde_json::json!({}))).is_none());
        let bad = serde_json::json!({ SCAN_ANNOTATION: { "verdict": "clean" } });
        assert!(
            ScanAttestation::from_annotations(Some(&bad))
                .unwrap()
                .is_err()
        );
    }
}
