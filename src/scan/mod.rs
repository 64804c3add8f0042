//! Static analysis of model files for code-execution payloads. Nothing scanned is ever loaded,
//! imported or executed.
//!
//! Formats are recognised by content first and by name second, and read the way their real
//! loaders read them: pickles through a static pickle machine ([`pickle`]), PyTorch zips the way
//! PyTorch's miniz reader does (central directory first, CRC and flag bits ignored) with every
//! quirk that makes another reader disagree reported, legacy torch (stacked pickles and tar),
//! joblib (raw and compressed), numpy `.npy`/`.npz`, gzip/bz2/xz/lzma/zlib wrappers, nested
//! archives, safetensors, GGUF, ONNX and Keras. Anything that could not be fully read is a
//! finding: a clean verdict means every byte a loader would interpret was interpreted.

pub mod allowlist;
mod compat;
mod formats;
pub mod input;
pub mod pickle;
pub mod rules;
mod zip;

pub use allowlist::{Allowlist, AllowlistError};

use crate::report::{Finding, Location, Report, Rule, Severity};
use crate::util::fs::FileIdentity;
use input::{Input, Mode};
use pickle::{End, Outcome, Stream};
use rayon::prelude::*;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// Archives nested deeper than this are not opened.
const MAX_DEPTH: u32 = 4;
/// Decompressed output above this many bytes per compressed byte is a bomb …
const MAX_RATIO: u64 = 5_000;
/// … once it is also above this size.
const BOMB_FLOOR: u64 = 512 << 20;
/// Memory liblzma may use for one stream (xz -9e needs 674 MiB to compress, 65 MiB to decode).
const LZMA_MEMLIMIT: u64 = 256 << 20;
/// Absolute cap for one decompressed stream.
const MAX_DECOMPRESSED: u64 = 64 << 30;

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
    /// Whether the file was recognised as a model format and analysed.
    pub scanned: bool,
    /// Format name, for the report.
    pub format: &'static str,
    /// The file read, the same when the scan opened it and when it finished (`None` when it
    /// could not be opened, or changed while it was read: then there is a finding too).
    pub identity: Option<FileIdentity>,
}

/// Scan files and directories (recursively) and return one report.
pub fn scan(
    paths: &[PathBuf],
    policy: &Allowlist,
    progress: &dyn ScanProgress,
) -> Result<Report, ScanError> {
    scan_excluding(paths, policy, progress, &[])
}

/// [`scan`], leaving out files at or under `exclude` (how `sign` scans exactly what it signs:
/// its `--ignore` paths and the signature itself are left out).
pub fn scan_excluding(
    paths: &[PathBuf],
    policy: &Allowlist,
    progress: &dyn ScanProgress,
    exclude: &[PathBuf],
) -> Result<Report, ScanError> {
    scan_with_identities(paths, policy, progress, exclude).map(|(r, _)| r)
}

/// [`scan_excluding`], also returning the identity (device, inode, size, times) of every file
/// read whole and unchanged, so `sign` can prove it hashes the same files the scan judged.
pub fn scan_with_identities(
    paths: &[PathBuf],
    policy: &Allowlist,
    progress: &dyn ScanProgress,
    exclude: &[PathBuf],
) -> Result<(Report, Vec<FileIdentity>), ScanError> {
    if paths.is_empty() {
        return Err(ScanError::NoPaths);
    }
    let mut files: Vec<(PathBuf, String, PathBuf)> = Vec::new();
    let mut walk_findings = Vec::new();
    for p in paths {
        let meta = std::fs::symlink_metadata(p).map_err(|source| ScanError::Path {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            let root = p.clone();
            for entry in walkdir::WalkDir::new(p)
                .follow_links(false)
                .sort_by_file_name()
            {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        files.push((
                            e.path().to_path_buf(),
                            e.path().display().to_string(),
                            root.clone(),
                        ));
                    }
                    Ok(e) if e.file_type().is_symlink() => {
                        // Loaders follow links; so do we, for files inside the tree.
                        let target = std::fs::metadata(e.path());
                        if target.as_ref().is_ok_and(|m| m.is_file()) {
                            files.push((
                                e.path().to_path_buf(),
                                e.path().display().to_string(),
                                root.clone(),
                            ));
                        } else if target.is_err() {
                            walk_findings.push(
                                Finding::new(
                                    &rules::UNREADABLE,
                                    "dangling symlink: its target does not exist",
                                )
                                .at(Location::path(e.path().display().to_string())),
                            );
                        }
                    }
                    Ok(_) => {}
                    Err(err) => {
                        let path = err
                            .path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default();
                        walk_findings.push(
                            Finding::new(&rules::UNREADABLE, format!("could not list: {err}"))
                                .at(Location::path(path)),
                        );
                    }
                }
            }
        } else {
            let root = p.parent().map(Path::to_path_buf).unwrap_or_default();
            files.push((p.clone(), p.display().to_string(), root));
        }
    }
    files.retain(|(p, _, _)| !exclude.iter().any(|x| p.starts_with(x)));
    // Files that an ONNX model names as external data hold raw tensor bytes, not a format.
    let external: std::collections::HashSet<PathBuf> = {
        // ONNX models in the directories of the files being scanned (a weights file scanned on
        // its own is still recognised by the model next to it).
        let dirs: std::collections::BTreeSet<PathBuf> = files
            .iter()
            .map(|(p, _, _)| p.parent().map(Path::to_path_buf).unwrap_or_default())
            .collect();
        let onnx: Vec<PathBuf> = dirs
            .iter()
            .filter_map(|d| {
                std::fs::read_dir(if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                })
                .ok()
            })
            .flat_map(|rd| rd.filter_map(Result::ok).map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
                    && p.is_file()
            })
            .collect();
        onnx.par_iter()
            .flat_map_iter(|p| formats::onnx_external_files(p))
            .collect()
    };
    progress.start(files.len() as u64);
    let results: Vec<(String, FileResult)> = files
        .par_iter()
        .map(|(path, shown, root)| {
            let is_external = std::fs::canonicalize(path).is_ok_and(|c| external.contains(&c));
            let r = if is_external {
                FileResult {
                    scanned: true,
                    format: "onnx-external-data",
                    identity: File::open(path).and_then(|f| FileIdentity::of(&f)).ok(),
                    ..FileResult::default()
                }
            } else {
                scan_file(path, shown, root, policy)
            };
            progress.file_done(shown);
            (shown.clone(), r)
        })
        .collect();

    let mut report = Report::new("scan", rules::ALL);
    report.targets = paths.iter().map(|p| p.display().to_string()).collect();
    let mut scanned = 0u64;
    let mut skipped = Vec::new();
    let mut identities = Vec::new();
    let mut formats = std::collections::BTreeMap::<&str, u64>::new();
    for (shown, r) in results {
        identities.extend(r.identity);
        if r.scanned {
            scanned += 1;
            *formats.entry(r.format).or_default() += 1;
        } else {
            skipped.push(shown);
        }
        for f in r.findings {
            report.push(f);
        }
    }
    for f in walk_findings {
        report.push(f);
    }
    report.fact("files", files.len() as u64);
    report.fact("scanned", scanned);
    report.fact("not_model_files", skipped.len() as u64);
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
    report.fact("policy_digest", policy.digest());
    report.fact("allowlist", policy.sources().to_vec());
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

/// Scan one file. `shown` is how the path is reported; `root` is the directory being scanned
/// (ONNX external data must stay inside it).
///
/// Every caller (`scan`, `sign`, the scan before `fuzz` and `serve`) goes through here, so a bug
/// in a reader (a panic) becomes a finding on this file, never a crash or a clean verdict.
pub fn scan_file(path: &Path, shown: &str, root: &Path, policy: &Allowlist) -> FileResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scan_file_unguarded(path, shown, root, policy)
    }))
    .unwrap_or_else(|_| FileResult {
        findings: vec![
            Finding::new(
                &rules::UNREADABLE,
                "internal error while scanning this file (a modelsec bug; please report it); it is not judged clean",
            )
            .at(Location::path(shown.to_string())),
        ],
        scanned: true,
        format: "error",
        identity: None,
    })
}

fn scan_file_unguarded(path: &Path, shown: &str, root: &Path, policy: &Allowlist) -> FileResult {
    let mut ctx = Ctx {
        policy,
        path: shown.to_string(),
        root: root.to_path_buf(),
        file_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        out: FileResult::default(),
    };
    // Regular files only, opened without blocking: a FIFO or device is reported, never read
    // forever.
    let opened = crate::util::fs::open_regular(path)
        .map_err(|e| match e {
            crate::util::fs::ReadError::Io { source, .. } => source,
            other => io::Error::other(other.to_string()),
        })
        .and_then(|f| FileIdentity::of(&f).map(|id| (f, id)));
    match opened {
        Ok((f, before)) => {
            let blob = Blob {
                file: Arc::new(f),
                start: 0,
                len: before.size,
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            ctx.blob(&blob, &Member::root(), &name, 0);
            // fstat again on the same descriptor: bytes that changed under the scan were not
            // judged (fail closed).
            match FileIdentity::of(&blob.file) {
                Ok(after) if after == before => ctx.out.identity = Some(before),
                _ => ctx.add(
                    &rules::UNREADABLE,
                    &Member::root(),
                    None,
                    "the file changed while it was being scanned; scan it again when nothing writes to it".to_string(),
                ),
            }
        }
        Err(e) => ctx.add(
            &rules::UNREADABLE,
            &Member::root(),
            None,
            format!("could not read the file: {e}"),
        ),
    }
    ctx.out
}

/// A byte range of an open file (the file itself, a stored zip member, or a temporary file
/// holding decompressed data).
#[derive(Clone)]
pub(crate) struct Blob {
    file: Arc<File>,
    start: u64,
    len: u64,
}

impl Blob {
    fn reader(&self) -> BlobReader {
        BlobReader {
            blob: self.clone(),
            pos: 0,
        }
    }

    fn slice(&self, start: u64, len: u64) -> Blob {
        let start = start.min(self.len);
        Blob {
            file: self.file.clone(),
            start: self.start + start,
            len: len.min(self.len - start),
        }
    }

    /// Read up to `n` bytes at `off` (fewer at the end).
    fn read_at(&self, off: u64, n: usize) -> io::Result<Vec<u8>> {
        if off >= self.len {
            return Ok(Vec::new());
        }
        let n = (n as u64).min(self.len - off) as usize;
        let mut buf = vec![0; n];
        self.file.read_exact_at(&mut buf, self.start + off)?;
        Ok(buf)
    }
}

pub(crate) struct BlobReader {
    blob: Blob,
    pos: u64,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.blob.len - self.pos;
        let n = (buf.len() as u64).min(left) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self
            .blob
            .file
            .read_at(&mut buf[..n], self.blob.start + self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

/// Where inside a file: a chain of container members.
#[derive(Clone, Debug, Default)]
pub(crate) struct Member(Option<String>);

impl Member {
    fn root() -> Self {
        Member(None)
    }
    fn child(&self, name: &str) -> Self {
        Member(Some(match &self.0 {
            None => name.to_string(),
            Some(p) => format!("{p}!{name}"),
        }))
    }
}

/// What the first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zip,
    Npy,
    Gzip,
    Bzip2,
    Xz,
    Lzma,
    Zlib,
    JoblibZlib,
    SevenZip,
    Zstd,
    Lz4,
    Tar,
    Gguf,
    Hdf5,
    Safetensors,
    Pickle,
    Onnx,
    TfGraph,
    Python,
    Other,
}

fn sniff(head: &[u8], name: &str, len: u64) -> Kind {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Kind::Zip;
    }
    if head.starts_with(b"\x93NUMPY") {
        return Kind::Npy;
    }
    const MAGIC: &[(&[u8], Kind)] = &[
        (b"\x1f\x8b", Kind::Gzip),
        (b"\xfd7zXZ\x00", Kind::Xz),
        (b"7z\xbc\xaf\x27\x1c", Kind::SevenZip),
        (b"\x28\xb5\x2f\xfd", Kind::Zstd),
        (b"\x04\x22\x4d\x18", Kind::Lz4),
        (b"ZF0x", Kind::JoblibZlib),
        (b"GGUF", Kind::Gguf),
        (b"\x89HDF\r\n\x1a\n", Kind::Hdf5),
    ];
    if let Some((_, k)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return *k;
    }
    if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        return Kind::Bzip2;
    }
    if head.len() > 262 && &head[257..262] == b"ustar" {
        return Kind::Tar;
    }
    if head.len() >= 9 && head[8] == b'{' {
        let n = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
        if n > 0 && n <= len.saturating_sub(8) {
            return Kind::Safetensors;
        }
    }
    if head.len() >= 2 && head[0] == 0x80 && head[1] <= 5 {
        return Kind::Pickle;
    }
    // LZMA-alone (joblib .lzma): properties byte 0x5d and a dictionary size.
    if head.len() >= 13
        && head[0] == 0x5d
        && head[1..5] != [0, 0, 0, 0]
        && matches!(ext, "lzma" | "joblib" | "pkl" | "z")
    {
        return Kind::Lzma;
    }
    if head.len() >= 2
        && head[0] == 0x78
        && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0
        && matches!(head[1], 0x01 | 0x5e | 0x9c | 0xda)
    {
        return Kind::Zlib;
    }
    match ext {
        "onnx" => Kind::Onnx,
        "safetensors" if head.len() >= 8 => Kind::Safetensors,
        "pb" | "pbtxt" => Kind::TfGraph,
        "py" => Kind::Python,
        _ if model_ext(name) && head.first().is_some_and(|b| PICKLE_FIRST.contains(b)) => {
            Kind::Pickle
        }
        _ => Kind::Other,
    }
}

/// Opcodes a pickle can start with (protocol 0/1 pickles have no magic).
const PICKLE_FIRST: &[u8] = b"()]}.NIJKLMFGSTUVXBCcilpqrdgh\x80";

fn model_ext(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    matches!(
        ext,
        "pkl"
            | "pickle"
            | "pt"
            | "pth"
            | "bin"
            | "ckpt"
            | "joblib"
            | "sav"
            | "p"
            | "model"
            | "mar"
            | "npy"
            | "npz"
            | "safetensors"
            | "gguf"
            | "keras"
            | "h5"
            | "hdf5"
            | "pdparams"
            | "nemo"
            | "dill"
            | "cloudpickle"
            | "onnx"
            | "tflite"
            | "pb"
            | "dat"
            | "tar"
            | "gz"
            | "bz2"
            | "xz"
            | "lzma"
            | "zip"
            | "7z"
    ) || lower == "data.pkl"
}

pub(crate) struct Ctx<'p> {
    policy: &'p Allowlist,
    path: String,
    root: PathBuf,
    file_dir: PathBuf,
    out: FileResult,
}

/// A reader that counts what it returns and stops at a limit (decompression bombs).
struct Limited<R> {
    inner: R,
    count: u64,
    limit: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.count >= self.limit {
            self.tripped.set(true);
            return Err(io::Error::other("decompression limit reached"));
        }
        let max = ((self.limit - self.count) as usize).min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        self.count += n as u64;
        Ok(n)
    }
}

fn bomb_limit(compressed: u64) -> u64 {
    compressed
        .saturating_mul(MAX_RATIO)
        .clamp(BOMB_FLOOR, MAX_DECOMPRESSED)
}

impl Ctx<'_> {
    pub(crate) fn add(&mut self, rule: &Rule, member: &Member, offset: Option<u64>, msg: String) {
        self.add_sev(rule, None, member, offset, msg);
    }

    fn add_sev(
        &mut self,
        rule: &Rule,
        sev: Option<Severity>,
        member: &Member,
        offset: Option<u64>,
        msg: String,
    ) {
        let mut f = Finding::new(rule, msg).at(Location {
            path: self.path.clone(),
            member: member.0.clone(),
            offset,
            ..Location::default()
        });
        if let Some(s) = sev {
            f = f.with_severity(s);
        }
        if !self.out.findings.contains(&f) {
            self.out.findings.push(f);
        }
    }

    fn mark(&mut self, format: &'static str) {
        if !self.out.scanned {
            self.out.format = format;
        }
        self.out.scanned = true;
    }

    /// Scan a blob whose format is not known yet.
    pub(crate) fn blob(&mut self, blob: &Blob, member: &Member, name: &str, depth: u32) {
        let head = match blob.read_at(0, 512) {
            Ok(h) => h,
            Err(e) => {
                self.add(
                    &rules::UNREADABLE,
                    member,
                    None,
                    format!("could not read: {e}"),
                );
                return;
            }
        };
        if head.is_empty() {
            return;
        }
        if name == "config.json" && member.0.is_some() {
            self.mark("keras");
            formats::scan_keras_config(self, blob, member);
            return;
        }
        let kind = sniff(&head, name, blob.len);
        match kind {
            Kind::Zip => {
                if depth > MAX_DEPTH {
                    self.add(
                        &rules::ARCHIVE_DEPTH,
                        member,
                        None,
                        format!("archive nested more than {MAX_DEPTH} deep; not opened"),
                    );
                    return;
                }
                self.mark("zip");
                zip::scan_zip(self, blob, member, depth);
            }
            Kind::Npy => {
                self.mark("npy");
                formats::scan_npy(self, blob, member);
            }
            Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::Lzma | Kind::Zlib | Kind::JoblibZlib => {
                self.mark("compressed");
                self.compressed(blob, kind, member, name, depth);
            }
            Kind::SevenZip | Kind::Zstd | Kind::Lz4 => {
                let what = match kind {
                    Kind::SevenZip => "a 7z archive",
                    Kind::Zstd => "zstd-compressed",
                    _ => "lz4-compressed",
                };
                self.mark("unsupported");
                self.add(
                    &rules::UNREADABLE,
                    member,
                    Some(0),
                    format!("{what}: modelsec cannot open it, so its content was not scanned"),
                );
            }
            Kind::Tar => {
                self.mark("tar");
                formats::scan_tar(self, blob, member, depth);
            }
            Kind::Gguf => {
                self.mark("gguf");
                formats::scan_gguf(self, blob, member);
            }
            Kind::Hdf5 => {
                self.mark("hdf5");
                formats::scan_h5(self, blob, member);
            }
            Kind::Safetensors => {
                self.mark("safetensors");
                formats::scan_safetensors(self, blob, member);
            }
            Kind::Onnx => {
                self.mark("onnx");
                formats::scan_onnx(self, blob, member);
            }
            Kind::TfGraph => {
                self.mark("tensorflow");
                self.add(&rules::UNSUPPORTED, member, None, "TensorFlow graph (.pb): its ops are not analysed by this version, so it cannot be called clean".into());
            }
            Kind::Python => {
                self.add(&rules::PYTHON_CODE, member, None, format!("Python source `{name}` ships with the model; loaders run it with trust_remote_code"));
            }
            Kind::Pickle => {
                self.mark("pickle");
                self.pickle_blob(blob, member);
            }
            Kind::Other => {
                // Not a known model format. A protocol-0/1 pickle has no magic, so probe: if the
                // whole file is a pickle that imports something, it is one.
                if head[0] == 0x80 || looks_like_text_pickle(&head) {
                    let (s, crossing) = self.first_pass(&mut blob.reader());
                    if s.end == End::Stop && s.outcomes.iter().any(|o| !o.imports.is_empty()) {
                        self.mark("pickle");
                        self.finish_pickle_blob(blob, member, s, crossing);
                    }
                } else if model_ext(name) {
                    self.mark("unknown");
                    self.add(&rules::UNSUPPORTED, member, Some(0), format!("`{name}` has a model file name but its content is not a format modelsec recognises"));
                }
            }
        }
    }

    /// Scan a pickle file or member held in a blob.
    fn pickle_blob(&mut self, blob: &Blob, member: &Member) {
        let (first, crossing) = self.first_pass(&mut blob.reader());
        self.finish_pickle_blob(blob, member, first, crossing);
    }

    /// Report a pickle blob's first (linear) pass: as a legacy torch checkpoint when its first
    /// pickle is the torch magic number, otherwise as one stream; then look for a zip behind it.
    fn finish_pickle_blob(
        &mut self,
        blob: &Blob,
        member: &Member,
        first: Stream,
        crossing: Option<u64>,
    ) {
        // Legacy torch: the first pickle is the magic number; five pickles, then raw storages.
        if first.outcomes.first().and_then(|o| o.top_int) == Some(TORCH_MAGIC) {
            formats::scan_legacy_torch(self, blob, member);
            self.frame_divergence(crossing, None, member);
        } else {
            self.report_stream(&first, member, true);
            self.frame_divergence(crossing, Some(blob), member);
        }
        if blob.len >= 22 && zip::has_eocd(blob) {
            self.add(&rules::POLYGLOT, member, Some(0), "the file is a pickle and also ends with a zip directory: pickle.load runs the pickle, zip readers see the archive; both were scanned".into());
            zip::scan_zip(self, blob, member, 1);
        }
    }

    /// The linear pass over a pickle stream (what `pickle.loads` and every linear reader see).
    fn first_pass(&self, r: &mut dyn Read) -> (Stream, Option<u64>) {
        let mut inp = Input::new(r, Mode::Linear);
        let s = pickle::scan_stream(self.policy, &mut inp, 1);
        (s, inp.crossing)
    }

    /// Scan and report the pickle stream that `first` reads, and return it. `again` holds the
    /// same bytes when they can be read a second time (see [`Ctx::frame_divergence`]).
    pub(crate) fn pickle_stream(
        &mut self,
        first: &mut dyn Read,
        again: Option<&Blob>,
        member: &Member,
    ) -> Stream {
        let (s, crossing) = self.first_pass(first);
        self.report_stream(&s, member, true);
        self.frame_divergence(crossing, again, member);
        s
    }

    /// A read crossed the end of a FRAME: report it, and when the bytes can be read again,
    /// scan them as CPython's C unpickler reads a file without `peek()`.
    pub(crate) fn frame_divergence(
        &mut self,
        crossing: Option<u64>,
        again: Option<&Blob>,
        member: &Member,
    ) {
        let Some(at) = crossing else { return };
        if let Some(blob) = again {
            let mut r = blob.reader();
            let mut inp = Input::new(&mut r, Mode::Buffered);
            let s = pickle::scan_stream(self.policy, &mut inp, 1);
            self.report_stream(&s, member, false);
        }
        self.add(&rules::FRAME_DIVERGENCE, member, Some(at), format!(
            "a read at offset {at} crosses the end of its FRAME: CPython's C unpickler reading a file without peek() skips the rest of the frame there, so it runs different opcodes than a linear reader; {}",
            if again.is_some() { "both readings were scanned" } else { "only the linear reading was scanned" }
        ));
    }

    /// Report what the pickle machine found in a stream.
    pub(crate) fn report_stream(&mut self, s: &Stream, member: &Member, with_end: bool) {
        for o in &s.outcomes {
            self.report_outcome(o, member);
        }
        if let Some(at) = s.trailing {
            self.add(&rules::TRAILING_DATA, member, Some(at), format!(
                "data follows STOP at offset {at}; it was scanned as further pickles ({} pickle(s) in total)",
                s.outcomes.len()
            ));
        }
        if with_end {
            self.report_end(&s.end, member, s.outcomes.iter().map(|o| o.ops).sum());
        }
    }

    pub(crate) fn report_outcome(&mut self, o: &Outcome, member: &Member) {
        for f in &o.findings {
            self.add_sev(
                f.rule,
                f.severity,
                member,
                Some(f.offset),
                f.message.clone(),
            );
        }
    }

    pub(crate) fn report_end(&mut self, end: &End, member: &Member, ops: u64) {
        match end {
            End::Stop => {}
            End::Truncated => self.add(&rules::MALFORMED, member, None, format!("the pickle ends before its STOP opcode (truncated after {ops} opcodes); everything before the break was scanned, the loader would run it too")),
            End::Invalid(why) => self.add(&rules::MALFORMED, member, None, format!("not a valid pickle: {why}")),
            End::Io(why) => self.add(&rules::UNREADABLE, member, None, format!("could not read the stream: {why}")),
            End::Limit(why) => self.add(&rules::RESOURCE_LIMIT, member, None, format!("analysis stopped: {why}")),
        }
    }

    fn compressed(&mut self, blob: &Blob, kind: Kind, member: &Member, name: &str, depth: u32) {
        if depth > MAX_DEPTH {
            self.add(
                &rules::ARCHIVE_DEPTH,
                member,
                None,
                format!("compression nested more than {MAX_DEPTH} deep; not opened"),
            );
            return;
        }
        let inner_name = name
            .rsplit_once('.')
            .filter(|(_, e)| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "gz" | "bz2" | "xz" | "lzma" | "z" | "zlib"
                )
            })
            .map(|(n, _)| n.to_string())
            .unwrap_or_else(|| format!("{name}.decompressed"));
        let tripped = Rc::new(Cell::new(false));
        let mut src = blob.reader();
        if kind == Kind::JoblibZlib {
            // joblib < 0.10: "ZF0x" + 16 hex digits of length + zlib stream.
            let mut hdr = [0u8; 19];
            if src.read_exact(&mut hdr).is_err() {
                self.add(
                    &rules::UNREADABLE,
                    member,
                    None,
                    "truncated joblib zlib header".into(),
                );
                return;
            }
        }
        let dec: Box<dyn Read> = match kind {
            Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(src)),
            Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(src)),
            // A crafted header can ask liblzma for a 4 GiB dictionary: cap its memory.
            Kind::Xz => match liblzma::stream::Stream::new_stream_decoder(
                LZMA_MEMLIMIT,
                liblzma::stream::CONCATENATED,
            ) {
                Ok(s) => Box::new(liblzma::read::XzDecoder::new_stream(src, s)),
                Err(e) => {
                    self.add(&rules::UNREADABLE, member, None, format!("xz decoder: {e}"));
                    return;
                }
            },
            Kind::Lzma => match liblzma::stream::Stream::new_lzma_decoder(LZMA_MEMLIMIT) {
                Ok(s) => Box::new(liblzma::read::XzDecoder::new_stream(src, s)),
                Err(e) => {
                    self.add(
                        &rules::UNREADABLE,
                        member,
                        None,
                        format!("lzma decoder: {e}"),
                    );
                    return;
                }
            },
            _ => Box::new(flate2::read::ZlibDecoder::new(src)),
        };
        let mut lim = io::BufReader::with_capacity(
            64 * 1024,
            Limited {
                inner: dec,
                count: 0,
                limit: bomb_limit(blob.len),
                tripped: tripped.clone(),
            },
        );
        let head = match io::BufRead::fill_buf(&mut lim) {
            Ok(h) => h.to_vec(),
            Err(e) => {
                self.add(
                    &rules::UNREADABLE,
                    member,
                    None,
                    format!("could not decompress: {e}"),
                );
                return;
            }
        };
        let child = member.child(&inner_name);
        let inner_kind = sniff(&head, &inner_name, u64::MAX);
        if inner_kind == Kind::Pickle || looks_like_text_pickle(&head) {
            // Stream straight through the pickle machine (joblib arrays are skipped inline).
            let (mut s, crossing) = self.first_pass(&mut lim);
            if tripped.get() {
                self.add(&rules::ARCHIVE_BOMB, &child, None, format!("decompressed data exceeds {} bytes (limit {MAX_RATIO}:1 past 512 MiB); the rest was not scanned", bomb_limit(blob.len)));
                s.end = End::Stop;
            } else if s.end == End::Stop {
                // Drain to surface corrupt compressed data after STOP.
                if let Err(e) = io::copy(&mut lim, &mut io::sink()) {
                    self.add(
                        &rules::UNREADABLE,
                        &child,
                        None,
                        format!("corrupt compressed data after the pickle: {e}"),
                    );
                }
            }
            self.report_stream(&s, &child, true);
            self.frame_divergence(crossing, None, &child);
            return;
        }
        // Anything else: decompress into a temporary file and scan that.
        let mut tmp = match tempfile::tempfile() {
            Ok(t) => t,
            Err(e) => {
                self.add(
                    &rules::UNREADABLE,
                    member,
                    None,
                    format!("no temporary file for decompression: {e}"),
                );
                return;
            }
        };
        let copied = io::copy(&mut lim, &mut tmp);
        if tripped.get() {
            self.add(
                &rules::ARCHIVE_BOMB,
                &child,
                None,
                format!(
                    "decompressed data exceeds {} bytes; not scanned",
                    bomb_limit(blob.len)
                ),
            );
            return;
        }
        match copied {
            Ok(n) => {
                let inner = Blob {
                    file: Arc::new(tmp),
                    start: 0,
                    len: n,
                };
                self.blob(&inner, &child, &inner_name, depth + 1);
            }
            Err(e) => self.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("could not decompress: {e}"),
            ),
        }
    }
}

/// PyTorch's legacy magic number (the first pickle of a pre-1.6 checkpoint).
pub(crate) const TORCH_MAGIC: i128 = 0x1950a86a20f9469cfc6c;

/// Protocol-0/1 pickles start with an opcode and usually a GLOBAL or MARK.
fn looks_like_text_pickle(head: &[u8]) -> bool {
    match head.first() {
        Some(b'c') => head.iter().take(256).filter(|&&b| b == b'\n').count() >= 2,
        Some(b'(') => matches!(
            head.get(1),
            Some(
                b'c' | b'd'
                    | b'l'
                    | b'i'
                    | b'S'
                    | b'V'
                    | b'I'
                    | b'X'
                    | b'U'
                    | b'K'
                    | b'J'
                    | b'('
                    | b']'
                    | b'}'
                    | b')'
            )
        ),
        Some(b']' | b'}' | b')') => {
            matches!(head.get(1), Some(b'q' | b'r' | b'(' | b'.' | b'c' | b'X'))
        }
        _ => false,
    }
}

/// Element size of a torch storage class (`torch.FloatStorage` …); `None` when unknown.
pub(crate) fn torch_elsize(class: &str) -> Option<u64> {
    let name = class.rsplit('.').next()?;
    Some(match name {
        "UntypedStorage" | "ByteStorage" | "CharStorage" | "BoolStorage" | "QUInt8Storage"
        | "QInt8Storage" | "QUInt4x2Storage" | "QUInt2x4Storage" => 1,
        "HalfStorage" | "BFloat16Storage" | "ShortStorage" => 2,
        "FloatStorage" | "IntStorage" | "QInt32Storage" => 4,
        "DoubleStorage" | "LongStorage" | "ComplexFloatStorage" => 8,
        "ComplexDoubleStorage" => 16,
        _ => return None,
    })
}
