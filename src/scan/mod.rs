//! Static analysis of model files for code-execution payloads. Nothing scanned is ever loaded,
//! imported or executed.
//!
//! Formats are recognised by content first and by name second, and read the way their real
//! loaders read them: pickles through a static pickle machine ([`pickle`]), PyTorch zips the way
//! PyTorch's miniz reader does (central directory first, CRC and flag bits ignored) with every
//! quirk that makes another reader disagree reported, TorchScript archives with TorchScript's
//! own unpickler rules and their `code/` read for operations outside the tensor op set, legacy
//! torch (stacked pickles and tar), joblib (raw and compressed), numpy, skops, compressed
//! wrappers (gzip, bz2, xz, lzma, zlib, LZ4, zstd), nested archives, safetensors, GGUF, ONNX,
//! Keras, TensorFlow graphs, TFLite, CoreML, word vectors, SentencePiece, and chat templates.
//! Anything that could not be fully read is a finding: a clean verdict means every byte a
//! loader would interpret was interpreted.
//!
//! Layout: [`walk`] turns paths into files; [`ctx`] holds one file's scan (its findings, its
//! budget) and dispatches on what [`sniff`] says the bytes are; [`compress`] and [`zip`] open
//! containers; [`formats`] reads everything else; [`pickle`] is the pickle machine.

pub mod allowlist;
mod compat;
mod compress;
mod ctx;
pub mod emit;
mod formats;
pub mod input;
pub mod pickle;
mod pickled;
pub mod rules;
mod sniff;
mod walk;
mod zip;

pub use allowlist::{Allowlist, AllowlistError, PROFILES, Profile};
pub use ctx::Limits;

use crate::report::{Finding, Location, Report};
use crate::util::fs::FileIdentity;
use rayon::prelude::*;
use std::io;
use std::path::{Path, PathBuf};

/// Why a scan could not run at all (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// A path given on the command line does not exist or cannot be listed.
    #[error("cannot scan `{}`: check that the path exists and is readable", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// No path was given.
    #[error("nothing to scan: give at least one file or directory")]
    NoPaths,
}

/// Progress callbacks (the CLI draws a bar on a terminal).
pub trait ScanProgress: Sync {
    /// Called once with the number of files.
    fn start(&self, _files: u64) {}
    /// Called after each file.
    fn file_done(&self, _path: &str) {}
}

/// No progress output.
pub struct Quiet;
impl ScanProgress for Quiet {}

/// What one file scan found.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Whether the file was recognised as a model format (or a file of a model folder that
    /// modelsec reads: configs, tokenizers, chat templates) and analysed.
    pub scanned: bool,
    /// Format name, for the report.
    pub format: &'static str,
    /// The file read, the same when the scan opened it and when it finished (`None` when it
    /// could not be opened, or changed while it was read: then there is a finding too).
    pub identity: Option<FileIdentity>,
    /// Python source (reported once per scan, not once per file).
    pub python_source: bool,
}

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanOptions<'a> {
    /// The allow-list.
    pub allowlist: &'a Allowlist,
    /// Leave out files at or under these paths.
    pub exclude: &'a [PathBuf],
    /// When no file is a model file: a finding (`scan/no-model-files`), unless this is set.
    pub allow_empty: bool,
    /// Per-file budgets.
    pub limits: Limits,
}

impl<'a> ScanOptions<'a> {
    /// Defaults for `allowlist`: nothing excluded, an empty scan is a finding.
    pub fn new(allowlist: &'a Allowlist) -> Self {
        ScanOptions {
            allowlist,
            exclude: &[],
            allow_empty: false,
            limits: Limits::default(),
        }
    }
}

/// Scan files and directories (recursively) and return one report. Scanning nothing that is a
/// model is a finding (a CI job pointed at the wrong folder is not green).
pub fn scan(
    paths: &[PathBuf],
    policy: &Allowlist,
    progress: &dyn ScanProgress,
) -> Result<Report, ScanError> {
    scan_with(paths, &ScanOptions::new(policy), progress).map(|(r, _)| r)
}

/// [`scan`], leaving out files at or under `exclude` (how `sign` scans exactly what it signs:
/// its `--ignore` paths and the signature itself are left out). An empty scan is not a finding
/// here: `sign` records how many files were scanned instead.
pub fn scan_excluding(
    paths: &[PathBuf],
    policy: &Allowlist,
    progress: &dyn ScanProgress,
    exclude: &[PathBuf],
) -> Result<Report, ScanError> {
    scan_with_identities(paths, policy, progress, exclude).map(|(r, _)| r)
}

/// [`scan_excluding`], also returning the identity (device, inode, size, times) of every file
/// opened and unchanged while it was read, so `sign` can prove it hashes the same files the
/// scan judged.
pub fn scan_with_identities(
    paths: &[PathBuf],
    policy: &Allowlist,
    progress: &dyn ScanProgress,
    exclude: &[PathBuf],
) -> Result<(Report, Vec<FileIdentity>), ScanError> {
    let opts = ScanOptions {
        exclude,
        allow_empty: true,
        ..ScanOptions::new(policy)
    };
    scan_with(paths, &opts, progress)
}

/// The general form: scan `paths` with `opts`; the report and the identities of the files read.
pub fn scan_with(
    paths: &[PathBuf],
    opts: &ScanOptions<'_>,
    progress: &dyn ScanProgress,
) -> Result<(Report, Vec<FileIdentity>), ScanError> {
    if paths.is_empty() {
        return Err(ScanError::NoPaths);
    }
    let listing = walk::list(paths, opts.exclude)?;
    let external = walk::onnx_external_data(&listing.files);
    progress.start(listing.files.len() as u64);
    let results: Vec<(String, FileResult)> = listing
        .files
        .par_iter()
        .map(|f| {
            let r = if f.vcs {
                walk::identity_only(&f.path, "vcs")
            } else if std::fs::canonicalize(&f.path).is_ok_and(|c| external.contains(&c)) {
                FileResult {
                    scanned: true,
                    ..walk::identity_only(&f.path, "onnx-external-data")
                }
            } else {
                ctx::scan_file_with(&f.path, &f.shown, &f.root, opts.allowlist, &opts.limits)
            };
            progress.file_done(&f.shown);
            (f.shown.clone(), r)
        })
        .collect();

    let mut report = Report::new("scan", rules::ALL);
    report.targets = paths.iter().map(|p| p.display().to_string()).collect();
    let mut scanned = 0u64;
    let mut skipped = Vec::new();
    let mut python = Vec::new();
    let mut vcs = 0u64;
    let mut identities = Vec::new();
    let mut formats = std::collections::BTreeMap::<&str, u64>::new();
    for (shown, r) in results {
        identities.extend(r.identity);
        if r.scanned {
            scanned += 1;
            *formats.entry(r.format).or_default() += 1;
        } else if r.format == "vcs" {
            vcs += 1;
        } else if r.python_source {
            python.push(shown);
        } else {
            skipped.push(shown);
        }
        for f in r.findings {
            report.push(f);
        }
    }
    for f in listing.findings {
        report.push(f);
    }
    if !python.is_empty() {
        // One line per scan: a source tree (pandas ships 1,260 .py files) is one fact.
        let shown: Vec<&str> = python.iter().take(5).map(String::as_str).collect();
        report.push(
            Finding::new(
                &rules::PYTHON_CODE,
                format!(
                    "{} Python source file(s) ship with the model ({}{}); `trust_remote_code` loaders import them",
                    python.len(),
                    shown.join(", "),
                    if python.len() > shown.len() { ", …" } else { "" }
                ),
            )
            .at(Location::path(python[0].clone())),
        );
    }
    if scanned == 0 && !opts.allow_empty {
        let total = listing.files.len();
        report.push(
            Finding::new(
                &rules::NO_MODEL_FILES,
                format!(
                    "no model file was found: {total} file(s) looked at, none in a format modelsec reads; a scan that reads nothing proves nothing"
                ),
            )
            .at(Location::path(
                paths
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            )),
        );
    }
    report.fact("files", listing.files.len() as u64);
    report.fact("scanned", scanned);
    report.fact("not_model_files", skipped.len() as u64);
    report.fact("python_files", python.len() as u64);
    if vcs > 0 {
        report.fact("vcs_files_skipped", vcs);
    }
    if listing.followed_links > 0 {
        report.fact("directory_links_followed", listing.followed_links);
    }
    if !skipped.is_empty() {
        // Say which files were not judged as models, so "not scanned" never looks like "clean".
        let mut list: Vec<serde_json::Value> =
            skipped.iter().take(100).map(|s| s.clone().into()).collect();
        if skipped.len() > 100 {
            list.push(format!("… and {} more", skipped.len() - 100).into());
        }
        report.fact("not_model_file_list", list);
    }
    report.fact(
        "formats",
        serde_json::to_value(&formats).unwrap_or_default(),
    );
    report.fact("policy_digest", opts.allowlist.digest());
    report.fact("allowlist", opts.allowlist.sources().to_vec());
    report.finish();
    Ok((report, identities))
}

/// What the static scan finds wrong with a model file about to be run (`fuzz`, `serve`): each
/// failing finding as `rule (message)`; empty when it may run.
pub fn before_running(path: &Path) -> Vec<String> {
    let shown = path.display().to_string();
    let root = path.parent().unwrap_or(Path::new("."));
    scan_file(path, &shown, root, &Allowlist::builtin())
        .findings
        .iter()
        .filter(|f| f.severity.fails())
        .map(|f| format!("{} ({})", f.rule_id, f.message))
        .collect()
}

/// Scan one file with the default limits. `shown` is how the path is reported; `root` is the
/// directory being scanned (ONNX external data must stay inside it).
///
/// Every caller (`scan`, `sign`, the scan before `fuzz` and `serve`) goes through here, so a bug
/// in a reader (a panic) becomes a finding on this file, never a crash or a clean verdict.
pub fn scan_file(path: &Path, shown: &str, root: &Path, policy: &Allowlist) -> FileResult {
    ctx::scan_file_with(path, shown, root, policy, &Limits::default())
}
