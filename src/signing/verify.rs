//! Verification: signature, statement, manifest and the model on disk, every difference a
//! finding. Only "cannot run" (unreadable bundle or model path, malformed bundle) is an error.

use super::bundle::{self, Method, ParsedBundle, Statement};
use super::manifest::{self, FileDigest, HashAlg, ModelFile, Problem, Progress, Shard};
use super::rules;
use super::{VerifyingKey, subject_digest};
use crate::report::{Finding, Location, Report};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Why verification could not run (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle file could not be read.
    #[error("could not read the signature bundle `{}` (sign the model first, or pass --signature)", path.display())]
    ReadBundle {
        /// Bundle path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: crate::util::fs::ReadError,
    },
    /// The bundle is not a usable OMS bundle.
    #[error("signature bundle `{}` cannot be used", path.display())]
    Bundle {
        /// Bundle path.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: bundle::BundleError,
    },
    /// The model path is unusable.
    #[error(transparent)]
    Walk(#[from] manifest::WalkError),
    /// The given key cannot be used.
    #[error(transparent)]
    Key(#[from] super::KeyError),
}

/// What to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The model directory or file.
    pub model: PathBuf,
    /// The bundle.
    pub signature: PathBuf,
    /// Ignore paths the user passed at verify time; each must have been recorded when signing.
    pub ignore: Vec<String>,
    /// Fail unless the signed statement records a clean modelsec scan.
    pub require_scan: bool,
}

/// Largest bundle read (a manifest of a million files is about 150 MB); a hostile bundle must
/// not exhaust memory.
pub(crate) const MAX_BUNDLE_BYTES: u64 = 1 << 30;

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(16)]
}

fn check_signature(
    report: &mut Report,
    b: &ParsedBundle,
    key: &VerifyingKey,
) -> Result<bool, VerifyError> {
    let key_hint = key.hint()?;
    report.fact("key", format!("{} {}", key.algorithm(), key_hint));
    if b.media_type != bundle::BUNDLE_MEDIA_TYPE {
        report.push(Finding::new(
            &rules::MEDIA_TYPE,
            format!(
                "mediaType is `{}`, expected `{}`",
                b.media_type,
                bundle::BUNDLE_MEDIA_TYPE
            ),
        ));
    }
    if b.payload_type != bundle::PAYLOAD_TYPE {
        report.push(Finding::new(
            &rules::PAYLOAD_TYPE,
            format!(
                "payloadType is `{}`, expected `{}`",
                b.payload_type,
                bundle::PAYLOAD_TYPE
            ),
        ));
    }
    let hint_ok = match &b.hint {
        Some(h) if h != &key_hint => {
            report.push(Finding::new(
                &rules::WRONG_KEY,
                format!(
                    "the bundle was signed by the key with hint {}…, but the key given ({}) has hint {}…",
                    short(h),
                    key.algorithm(),
                    short(&key_hint)
                ),
            ));
            false
        }
        Some(_) => true,
        None => {
            report.push(Finding::new(
                &rules::LEGACY_KEY_REFERENCE,
                "the bundle has no publicKey.hint; checking the signature against the given key",
            ));
            true
        }
    };
    if b.signatures.is_empty() {
        report.push(Finding::new(
            &rules::NO_SIGNATURE,
            "dsseEnvelope.signatures is empty",
        ));
        return Ok(false);
    }
    let pae = bundle::pae(&b.payload_type, &b.payload);
    let valid = b
        .signatures
        .iter()
        .filter(|s| {
            s.sig
                .as_ref()
                .map(|sig| key.verify(&pae, sig))
                .unwrap_or(false)
        })
        .count();
    if valid == 0 {
        let mut why = format!(
            "none of the {} signature(s) verifies with the given {} key",
            b.signatures.len(),
            key.algorithm()
        );
        for (i, s) in b.signatures.iter().enumerate() {
            if let Err(e) = &s.sig {
                why.push_str(&format!("; signatures[{i}].sig is {e}"));
            }
        }
        if !hint_ok {
            why.push_str(" (it was made by another key)");
        }
        report.push(Finding::new(&rules::SIGNATURE_INVALID, why));
        report.fact("signature", "INVALID");
        return Ok(false);
    }
    let others = b.signatures.len() - valid;
    report.fact(
        "signature",
        if others == 0 {
            format!("valid ({})", key.algorithm())
        } else {
            format!(
                "valid ({}); {others} other signature(s) in the envelope are not by this key and were not checked",
                key.algorithm()
            )
        },
    );
    Ok(hint_ok)
}

fn problem_finding(p: &Problem) -> Finding {
    let rule = match p {
        Problem::Symlink { .. }
        | Problem::SymlinkedDirectory { .. }
        | Problem::SymlinkOutside { .. }
        | Problem::BrokenSymlink { .. } => &rules::SYMLINK,
        Problem::SpecialFile { .. } => &rules::SPECIAL_FILE,
        Problem::NonUtf8 { .. } => &rules::NON_UTF8,
        Problem::Unreadable { .. } => &rules::UNREADABLE,
    };
    Finding::new(rule, p.describe()).at(Location::path(p.name()))
}

/// Expected digest for a path (files) or per shard (shards).
struct Expected {
    alg: HashAlg,
    digest: String,
}

/// Resolve a resource's algorithm for the statement's method.
fn resource_alg(st: &Statement, algorithm: &str) -> Option<HashAlg> {
    if let Some(a) = HashAlg::parse(algorithm) {
        return Some(a);
    }
    // model_signing 1.1.1 writes `sha256-sharded-<N>` for shards.
    if let Method::Shards { .. } = st.method {
        let (base, _) = algorithm.split_once("-sharded-")?;
        return HashAlg::parse(base);
    }
    None
}

/// Check the statement's internal consistency; returns the usable expectations.
fn check_statement(
    report: &mut Report,
    st: &Statement,
    single_file: Option<&str>,
) -> (BTreeMap<String, Expected>, BTreeMap<Shard, Expected>) {
    if st.statement_type != bundle::STATEMENT_TYPE {
        report.push(Finding::new(
            &rules::STATEMENT_INVALID,
            format!(
                "_type is `{}`, expected `{}`",
                st.statement_type,
                bundle::STATEMENT_TYPE
            ),
        ));
    }
    if st.predicate_type != bundle::PREDICATE_TYPE {
        report.push(Finding::new(
            &rules::PREDICATE_TYPE,
            format!(
                "predicateType is `{}`, expected `{}`",
                st.predicate_type,
                bundle::PREDICATE_TYPE
            ),
        ));
    }
    if st.resources.is_empty() {
        report.push(Finding::new(
            &rules::MANIFEST_EMPTY,
            "predicate.resources is empty",
        ));
    }
    // Subject digest, recomputed in the listed order as OMS does.
    let mut raw = Vec::with_capacity(st.resources.len());
    let mut raw_ok = true;
    for r in &st.resources {
        match hex::decode(&r.digest) {
            Ok(d) => raw.push(d),
            Err(_) => {
                raw_ok = false;
                report.push(
                    Finding::new(
                        &rules::STATEMENT_INVALID,
                        format!("the digest of `{}` is not hex: `{}`", r.name, r.digest),
                    )
                    .at(Location::path(&r.name)),
                );
            }
        }
    }
    if raw_ok {
        let computed = subject_digest(raw.iter().map(Vec::as_slice));
        if !computed.eq_ignore_ascii_case(&st.subject_sha256) {
            report.push(Finding::new(
                &rules::SUBJECT_DIGEST,
                format!(
                    "subject digest is {}…, but the resources hash to {}…",
                    short(&st.subject_sha256),
                    short(&computed)
                ),
            ));
        }
    }

    let mut files = BTreeMap::new();
    let mut shards = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for r in &st.resources {
        if !seen.insert(r.name.as_str()) {
            report.push(
                Finding::new(
                    &rules::MANIFEST_DUPLICATE,
                    format!("`{}` is listed more than once", r.name),
                )
                .at(Location::path(&r.name)),
            );
            continue;
        }
        let (path, range) = match st.method {
            Method::Files => (r.name.as_str(), None),
            Method::Shards { .. } => match bundle::split_shard_name(&r.name) {
                Some((p, s, e)) if s < e => (p, Some((s, e))),
                _ => {
                    report.push(
                        Finding::new(
                            &rules::MANIFEST_PATH,
                            format!("shard resource `{}` is not `path:start:end`", r.name),
                        )
                        .at(Location::path(&r.name)),
                    );
                    continue;
                }
            },
        };
        // A single-file model: model_signing writes ".", the OMS spec the basename.
        let path = match single_file {
            Some(base) if path == "." => base,
            _ => path,
        };
        if let Some(reason) = manifest::invalid_name_reason(path) {
            report.push(
                Finding::new(&rules::MANIFEST_PATH, format!("`{path}`: {reason}"))
                    .at(Location::path(path)),
            );
            continue;
        }
        let Some(alg) = resource_alg(st, &r.algorithm) else {
            report.push(
                Finding::new(
                    &rules::HASH_ALGORITHM,
                    format!("`{path}` uses hash algorithm `{}`", r.algorithm),
                )
                .at(Location::path(path)),
            );
            continue;
        };
        if r.digest.len() != alg.digest_len() * 2 {
            report.push(
                Finding::new(
                    &rules::STATEMENT_INVALID,
                    format!(
                        "the {} digest of `{path}` has {} hex digits, expected {}",
                        alg.name(),
                        r.digest.len(),
                        alg.digest_len() * 2
                    ),
                )
                .at(Location::path(path)),
            );
            continue;
        }
        let exp = Expected {
            alg,
            digest: r.digest.to_ascii_lowercase(),
        };
        match range {
            None => {
                files.insert(path.to_string(), exp);
            }
            Some((start, end)) => {
                shards.insert(
                    Shard {
                        name: path.to_string(),
                        start,
                        end,
                    },
                    exp,
                );
            }
        }
    }
    (files, shards)
}

/// Verify `opts.model` against the bundle at `opts.signature` with `key`.
pub fn verify(
    opts: &VerifyOptions,
    key: &VerifyingKey,
    progress: &dyn Progress,
) -> Result<Report, VerifyError> {
    let mut report = Report::new("verify", rules::ALL);
    report.targets.push(opts.model.display().to_string());
    // Capped, regular files only: `/dev/zero` or a FIFO is refused, not read forever.
    let bytes =
        crate::util::fs::read_bytes(&opts.signature, MAX_BUNDLE_BYTES).map_err(|source| {
            VerifyError::ReadBundle {
                path: opts.signature.clone(),
                source,
            }
        })?;
    let b = bundle::parse_bundle(&bytes).map_err(|source| VerifyError::Bundle {
        path: opts.signature.clone(),
        source,
    })?;
    // Resolve the model before anything else so a missing model is exit 2, not a finding.
    let root = std::fs::canonicalize(&opts.model).map_err(|source| manifest::WalkError::Open {
        path: opts.model.clone(),
        source,
    })?;
    report.fact("bundle", opts.signature.display().to_string());

    check_signature(&mut report, &b, key)?;

    let st = match bundle::parse_statement(&b.payload) {
        Ok(st) => st,
        Err(why) => {
            report.push(Finding::new(&rules::STATEMENT_INVALID, why));
            report.finish();
            return Ok(report);
        }
    };
    let single_file = if root.is_file() {
        root.file_name().and_then(|n| n.to_str())
    } else {
        None
    };
    let (expected_files, expected_shards) = check_statement(&mut report, &st, single_file);
    report.fact(
        "method",
        match st.method {
            Method::Files => format!("files/{}", st.hash_type),
            Method::Shards { shard_size } => {
                format!("shards/{} (shard size {shard_size})", st.hash_type)
            }
        },
    );
    report.fact(
        "subject",
        format!("{} sha256:{}", st.subject_name, st.subject_sha256),
    );
    let scan = super::ScanAttestation::from_annotations(st.annotations.as_ref());
    report.fact(
        "scan",
        match &scan {
            Some(Ok(a)) => serde_json::to_value(a).unwrap_or_default(),
            Some(Err(why)) => why.clone().into(),
            None => "not recorded in the signature".into(),
        },
    );
    if opts.require_scan {
        match scan {
            None => report.push(Finding::new(
                &rules::SCAN_MISSING,
                "the signed statement has no `dev.modelsec.scan` annotation, so nothing says the model was scanned before it was signed",
            )),
            Some(Err(why)) => report.push(Finding::new(&rules::SCAN_MISSING, why)),
            Some(Ok(a)) if a.verdict == super::ScanVerdict::Clean => {}
            Some(Ok(a)) => report.push(Finding::new(
                &rules::SCAN_NOT_CLEAN,
                format!(
                    "the signed statement records the scan verdict `{}`",
                    serde_json::to_value(a.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ),
            )),
        }
    }

    // Ignore paths: exactly those recorded, plus the bundle itself if it sits in the model.
    let mut ignores: Vec<String> = Vec::new();
    for p in &st.ignore_paths {
        match manifest::invalid_name_reason(p) {
            None => ignores.push(p.clone()),
            Some(reason) => report.push(Finding::new(
                &rules::IGNORE_PATH,
                format!("recorded ignore path `{p}`: {reason}"),
            )),
        }
    }
    for given in &opts.ignore {
        match manifest::normalize_ignore(&root, given) {
            Ok(n) if st.ignore_paths.contains(&n) => {}
            Ok(n) => report.push(Finding::new(
                &rules::IGNORE_PATH,
                format!("--ignore `{n}` was not recorded when the model was signed; it is not applied (recorded: {})",
                    if st.ignore_paths.is_empty() { "none".to_string() } else { st.ignore_paths.join(", ") }),
            )),
            Err(e) => report.push(Finding::new(&rules::IGNORE_PATH, e)),
        }
    }
    if let Ok(sig_abs) = std::fs::canonicalize(&opts.signature)
        && let Ok(rel) = sig_abs.strip_prefix(&root)
        && let Some(rel) = rel.to_str().filter(|r| !r.is_empty())
    {
        ignores.push(rel.to_string());
    }

    let walk = manifest::walk(&root, &ignores, st.allow_symlinks)?;
    for p in &walk.problems {
        report.push(problem_finding(p));
    }
    let problem_names: BTreeSet<&str> = walk.problems.iter().map(|p| p.name()).collect();

    let (checked, bytes) = match st.method {
        Method::Files => compare_files(
            &mut report,
            &walk.files,
            &expected_files,
            &problem_names,
            &ignores,
            progress,
        ),
        Method::Shards { shard_size } => compare_shards(
            &mut report,
            &walk.files,
            &expected_shards,
            shard_size,
            &problem_names,
            progress,
        ),
    };
    report.fact("files checked", checked as u64);
    report.fact("bytes hashed", bytes);
    report.finish();
    Ok(report)
}

fn missing_finding(name: &str, ignores: &[String]) -> Finding {
    let msg = match ignores.iter().find(|i| manifest::is_under(name, i)) {
        Some(i) => format!("signed, but lies under the recorded ignore path `{i}`"),
        None => "signed but missing".to_string(),
    };
    Finding::new(&rules::FILE_MISSING, msg).at(Location::path(name))
}

fn compare_files(
    report: &mut Report,
    on_disk: &[ModelFile],
    expected: &BTreeMap<String, Expected>,
    problem_names: &BTreeSet<&str>,
    ignores: &[String],
    progress: &dyn Progress,
) -> (usize, u64) {
    let disk_names: BTreeSet<&str> = on_disk.iter().map(|f| f.name.as_str()).collect();
    let mut missing: Vec<&str> = expected
        .keys()
        .map(String::as_str)
        .filter(|n| !disk_names.contains(n) && !problem_names.contains(n))
        .collect();
    let unexpected: Vec<&ModelFile> = on_disk
        .iter()
        .filter(|f| !expected.contains_key(&f.name))
        .collect();

    // Hash per algorithm: the signed files, plus the unexpected ones (with the algorithm of the
    // missing ones) so that a rename can be named as such.
    let mut by_alg: BTreeMap<HashAlg, Vec<ModelFile>> = BTreeMap::new();
    for f in on_disk {
        if let Some(e) = expected.get(&f.name) {
            by_alg.entry(e.alg).or_default().push(f.clone());
        }
    }
    let missing_algs: BTreeSet<HashAlg> = missing.iter().map(|n| expected[*n].alg).collect();
    for alg in missing_algs {
        by_alg
            .entry(alg)
            .or_default()
            .extend(unexpected.iter().map(|f| (*f).clone()));
    }
    let mut digests: BTreeMap<(HashAlg, String), FileDigest> = BTreeMap::new();
    let mut checked = 0usize;
    let mut bytes = 0u64;
    for (alg, files) in &by_alg {
        for (f, r) in files
            .iter()
            .zip(manifest::hash_files(files, *alg, progress))
        {
            match r {
                Ok(d) => {
                    bytes += d.size;
                    digests.insert((*alg, f.name.clone()), d);
                }
                Err(e) => report.push(
                    Finding::new(&rules::UNREADABLE, format!("could not be read: {e}"))
                        .at(Location::path(&f.name)),
                ),
            }
        }
    }

    // Renames: a missing file whose digest is that of an unexpected file.
    let mut renamed_to: BTreeSet<String> = BTreeSet::new();
    missing.retain(|m| {
        let e = &expected[*m];
        let hit = unexpected.iter().find(|u| {
            !renamed_to.contains(&u.name)
                && digests
                    .get(&(e.alg, u.name.clone()))
                    .is_some_and(|d| hex::encode(&d.digest) == e.digest)
        });
        match hit {
            Some(u) => {
                renamed_to.insert(u.name.clone());
                report.push(
                    Finding::new(&rules::FILE_RENAMED, format!("renamed from `{m}`"))
                        .at(Location::path(&u.name)),
                );
                false
            }
            None => true,
        }
    });
    for m in missing {
        report.push(missing_finding(m, ignores));
    }
    for u in unexpected.iter().filter(|u| !renamed_to.contains(&u.name)) {
        report.push(
            Finding::new(
                &rules::FILE_UNEXPECTED,
                format!("not covered by the signature ({} bytes)", u.size),
            )
            .at(Location::path(&u.name)),
        );
    }
    for f in on_disk {
        let Some(e) = expected.get(&f.name) else {
            continue;
        };
        let Some(d) = digests.get(&(e.alg, f.name.clone())) else {
            continue;
        };
        checked += 1;
        let found = hex::encode(&d.digest);
        if found != e.digest {
            report.push(
                Finding::new(
                    &rules::FILE_MODIFIED,
                    format!(
                        "content changed: signed {} {}…, found {}… ({} bytes)",
                        e.alg.name(),
                        short(&e.digest),
                        short(&found),
                        d.size
                    ),
                )
                .at(Location::path(&f.name)),
            );
        }
    }
    (checked, bytes)
}

fn compare_shards(
    report: &mut Report,
    on_disk: &[ModelFile],
    expected: &BTreeMap<Shard, Expected>,
    shard_size: u64,
    problem_names: &BTreeSet<&str>,
    progress: &dyn Progress,
) -> (usize, u64) {
    let mut by_file: BTreeMap<&str, Vec<(&Shard, &Expected)>> = BTreeMap::new();
    for (s, e) in expected {
        by_file.entry(s.name.as_str()).or_default().push((s, e));
    }
    let disk: BTreeMap<&str, &ModelFile> = on_disk.iter().map(|f| (f.name.as_str(), f)).collect();
    for name in by_file.keys() {
        if !disk.contains_key(name) && !problem_names.contains(name) {
            report.push(
                Finding::new(&rules::FILE_MISSING, "signed but missing".to_string())
                    .at(Location::path(*name)),
            );
        }
    }
    let mut to_hash: Vec<(Shard, &Expected)> = Vec::new();
    let mut checked = 0;
    for f in on_disk {
        let Some(signed) = by_file.get(f.name.as_str()) else {
            if f.size == 0 {
                report.push(
                    Finding::new(
                        &rules::UNSIGNED_EMPTY_FILE,
                        "empty and not covered (shards bundles cannot record empty files)",
                    )
                    .at(Location::path(&f.name)),
                );
            } else {
                report.push(
                    Finding::new(
                        &rules::FILE_UNEXPECTED,
                        format!("not covered by the signature ({} bytes)", f.size),
                    )
                    .at(Location::path(&f.name)),
                );
            }
            continue;
        };
        checked += 1;
        let want: Vec<Shard> = manifest::shards_of(&f.name, f.size, shard_size);
        let have: Vec<Shard> = signed.iter().map(|(s, _)| (*s).clone()).collect();
        if want != have {
            let signed_size = have.iter().map(|s| s.end).max().unwrap_or(0);
            report.push(
                Finding::new(
                    &rules::FILE_MODIFIED,
                    format!(
                        "content changed: the signed shards cover {signed_size} bytes, the file has {} bytes",
                        f.size
                    ),
                )
                .at(Location::path(&f.name)),
            );
            continue;
        }
        to_hash.extend(signed.iter().map(|(s, e)| ((*s).clone(), *e)));
    }
    // Hash shards grouped by algorithm.
    let mut bytes = 0;
    let mut modified: BTreeSet<String> = BTreeSet::new();
    let algs: BTreeSet<HashAlg> = to_hash.iter().map(|(_, e)| e.alg).collect();
    for alg in algs {
        let group: Vec<&(Shard, &Expected)> =
            to_hash.iter().filter(|(_, e)| e.alg == alg).collect();
        let shards: Vec<Shard> = group.iter().map(|(s, _)| s.clone()).collect();
        let results = manifest::hash_shards(on_disk, &shards, alg, progress);
        for ((s, e), r) in group.iter().zip(results) {
            match r {
                Ok(d) => {
                    bytes += s.end - s.start;
                    if hex::encode(&d) != e.digest && modified.insert(s.name.clone()) {
                        report.push(
                            Finding::new(
                                &rules::FILE_MODIFIED,
                                format!("content changed: shard {}..{} differs", s.start, s.end),
                            )
                            .at(Location::path(&s.name)),
                        );
                    }
                }
                Err(err) => report.push(
                    Finding::new(&rules::UNREADABLE, format!("could not be read: {err}"))
                        .at(Location::path(&s.name)),
                ),
            }
        }
    }
    (checked, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharded_algorithm_names_resolve() {
        let st = Statement {
            statement_type: String::new(),
            predicate_type: String::new(),
            subject_name: String::new(),
            subject_sha256: String::new(),
            method: Method::Shards { shard_size: 10 },
            hash_type: "sha256".into(),
            allow_symlinks: false,
            ignore_paths: vec![],
            resources: vec![],
            annotations: None,
        };
        assert_eq!(
            resource_alg(&st, "sha256-sharded-10"),
            Some(HashAlg::Sha256)
        );
        assert_eq!(resource_alg(&st, "sha256"), Some(HashAlg::Sha256));
        assert_eq!(resource_alg(&st, "md5"), None);
    }
}
