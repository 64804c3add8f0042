//! Scan before sign: the rule that a model is scanned (exactly what is signed) before it is
//! signed, and the typed record of that scan that the signed statement carries.
//!
//! The record is an in-toto `subject[0].annotations` entry under [`SCAN_ANNOTATION`]; the OMS
//! predicate itself stays untouched, so other OMS verifiers still accept the bundle.

use super::{ManifestOptions, SignError, Signed, SigningKey, manifest};
use crate::report::Report;
use crate::scan::{self, Allowlist, ScanProgress};
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
    let scan = scan::scan_excluding(
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
    let signed = super::sign_annotated(
        req.model,
        &req.manifest,
        req.key,
        Some(&record.annotations()),
        hash_progress,
    )?;
    Ok(SignOutcome {
        scan,
        failing,
        signed: Some(signed),
    })
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
