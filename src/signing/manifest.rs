//! What a model is, file by file: enumeration of a model directory (or single file) exactly as
//! OMS defines it, the path rules a manifest must obey, the canonical order of resources, and
//! parallel streaming hashing.
//!
//! Enumeration follows OMS (`model_signing` 1.1.1): recursive, hidden files included, the git
//! files `.git`, `.gitattributes`, `.github` and `.gitignore` excluded at the model root only,
//! ignore paths matched as "this path or anything under it". It is stricter where OMS is weak:
//! symlinks are problems unless allowed, a symlinked directory or a link leaving the model root
//! is always a problem (never silently skipped), and so are special files and non-UTF-8 names.

use crate::util::fs::FileIdentity;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// Paths OMS excludes at the model root by default.
pub const DEFAULT_IGNORES: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Read size for hashing: large enough to keep syscalls rare, small enough to stay in L2.
const CHUNK: usize = 256 * 1024;

/// Hash algorithms a manifest may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlg {
    /// SHA-256 (required by OMS, the only one we sign with).
    Sha256,
    /// BLAKE2b-512 (`blake2b` in OMS).
    Blake2b,
    /// BLAKE3 (`blake3` in OMS).
    Blake3,
}

impl HashAlg {
    /// The OMS name.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Blake2b => "blake2b",
            HashAlg::Blake3 => "blake3",
        }
    }

    /// Parse an OMS hash name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sha256" => Some(HashAlg::Sha256),
            "blake2b" => Some(HashAlg::Blake2b),
            "blake3" => Some(HashAlg::Blake3),
            _ => None,
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha256 | HashAlg::Blake3 => 32,
            HashAlg::Blake2b => 64,
        }
    }

    fn hasher(self) -> Hasher {
        match self {
            HashAlg::Sha256 => Hasher::Sha256(<sha2::Sha256 as sha2::Digest>::new()),
            HashAlg::Blake2b => Hasher::Blake2b(<blake2::Blake2b512 as blake2::Digest>::new()),
            HashAlg::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }
}

enum Hasher {
    Sha256(sha2::Sha256),
    Blake2b(blake2::Blake2b512),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => sha2::Digest::update(h, data),
            Hasher::Blake2b(h) => blake2::Digest::update(h, data),
            Hasher::Blake3(h) => {
                h.update(data);
            }
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => sha2::Digest::finalize(h).to_vec(),
            Hasher::Blake2b(h) => blake2::Digest::finalize(h).to_vec(),
            Hasher::Blake3(h) => h.finalize().as_bytes().to_vec(),
        }
    }
}

/// Receives progress while files are hashed. Implementations must be cheap and thread-safe.
pub trait Progress: Sync {
    /// `bytes` more are going to be hashed.
    fn add_total(&self, _bytes: u64) {}
    /// `bytes` more were hashed.
    fn advance(&self, _bytes: u64) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Order of resources in an OMS manifest: per path component, by code point (as Python's
/// `PurePosixPath` sorts), so `a/b` < `a-b` < `a.txt`.
pub fn component_cmp(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Why a manifest path is not acceptable, or `None` when it is: relative, `/`-separated, no
/// empty, `.` or `..` components, no NUL.
pub fn invalid_name_reason(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("the path is empty");
    }
    if name.starts_with('/') {
        return Some("the path is absolute");
    }
    if name.contains('\0') {
        return Some("the path contains a NUL byte");
    }
    for c in name.split('/') {
        match c {
            "" => return Some("the path has an empty component (`//` or a trailing `/`)"),
            "." => return Some("the path has a `.` component"),
            ".." => return Some("the path has a `..` component and could leave the model"),
            _ => {}
        }
    }
    None
}

/// Whether `name` is `ignore` or lies under it.
pub fn is_under(name: &str, ignore: &str) -> bool {
    name == ignore
        || (name.len() > ignore.len()
            && name.starts_with(ignore)
            && name.as_bytes()[ignore.len()] == b'/')
}

/// Turn a user-given ignore path into a model-relative manifest path. Relative paths are taken
/// relative to the model root; absolute ones must lie inside it.
pub fn normalize_ignore(root: &Path, given: &str) -> Result<String, String> {
    let p = Path::new(given);
    let rel: PathBuf = if p.is_absolute() {
        let abs = std::path::absolute(p).map_err(|e| e.to_string())?;
        match abs.strip_prefix(root) {
            Ok(r) => r.to_path_buf(),
            Err(_) => {
                return Err(format!(
                    "ignore path `{given}` is outside the model `{}`",
                    root.display()
                ));
            }
        }
    } else {
        p.to_path_buf()
    };
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => match s.to_str() {
                Some(s) => parts.push(s.to_string()),
                None => return Err(format!("ignore path `{given}` is not valid UTF-8")),
            },
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "ignore path `{given}` must be inside the model (no `..`)"
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err(format!(
            "ignore path `{given}` would ignore the whole model"
        ));
    }
    Ok(parts.join("/"))
}

/// A regular file of the model, to be hashed.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// Manifest name: `/`-separated, relative to the model root (basename for a single file).
    pub name: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// Size when enumerated.
    pub size: u64,
    /// It is an allowed symlink (open through it); otherwise opened with `O_NOFOLLOW`.
    pub via_symlink: bool,
}

/// Something in the model tree that cannot be signed as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A symlink, and symlinks are not allowed.
    Symlink {
        /// Manifest name.
        name: String,
        /// Where it points.
        target: String,
    },
    /// A symlink to a directory (never followed).
    SymlinkedDirectory {
        /// Manifest name.
        name: String,
        /// Where it points.
        target: String,
    },
    /// A symlink that resolves outside the model root.
    SymlinkOutside {
        /// Manifest name.
        name: String,
        /// Where it points.
        target: String,
    },
    /// A symlink whose target does not exist.
    BrokenSymlink {
        /// Manifest name.
        name: String,
        /// Where it points.
        target: String,
    },
    /// A FIFO, socket or device.
    SpecialFile {
        /// Manifest name.
        name: String,
        /// What it is.
        kind: &'static str,
    },
    /// A name that is not UTF-8 (cannot be represented in an OMS manifest).
    NonUtf8 {
        /// The name, lossily decoded.
        name: String,
    },
    /// Could not list or stat something.
    Unreadable {
        /// Manifest name or path.
        name: String,
        /// The error.
        error: String,
    },
}

impl Problem {
    /// The manifest name it concerns.
    pub fn name(&self) -> &str {
        match self {
            Problem::Symlink { name, .. }
            | Problem::SymlinkedDirectory { name, .. }
            | Problem::SymlinkOutside { name, .. }
            | Problem::BrokenSymlink { name, .. }
            | Problem::SpecialFile { name, .. }
            | Problem::NonUtf8 { name }
            | Problem::Unreadable { name, .. } => name,
        }
    }
}

impl Problem {
    /// What is wrong, without the name (for reports that show the name as the location).
    pub fn describe(&self) -> String {
        match self {
            Problem::Symlink { target, .. } => {
                format!(
                    "is a symlink (to `{target}`); symlinks are not allowed (--allow-symlinks signs a file symlink by its target's content)"
                )
            }
            Problem::SymlinkedDirectory { target, .. } => format!(
                "is a symlink to a directory (`{target}`); its contents would not be signed, so it is refused even with --allow-symlinks"
            ),
            Problem::SymlinkOutside { target, .. } => format!(
                "is a symlink that leaves the model root (to `{target}`); refused even with --allow-symlinks"
            ),
            Problem::BrokenSymlink { target, .. } => {
                format!("is a symlink to `{target}`, which does not exist")
            }
            Problem::SpecialFile { kind, .. } => format!("is a {kind}, not a regular file"),
            Problem::NonUtf8 { .. } => {
                "has a name that is not valid UTF-8 and cannot be recorded in an OMS manifest"
                    .into()
            }
            Problem::Unreadable { error, .. } => format!("could not be read: {error}"),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.name(), self.describe())
    }
}

/// The files of a model and what was wrong on the way.
#[derive(Debug, Default)]
pub struct Walk {
    /// Absolute, canonical model root (the file itself for a single-file model).
    pub root: PathBuf,
    /// Whether the model is a single file.
    pub single_file: bool,
    /// Regular files, in canonical order.
    pub files: Vec<ModelFile>,
    /// Problems, in canonical order of their names.
    pub problems: Vec<Problem>,
}

/// Errors that stop enumeration altogether.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalkError {
    /// The model path does not exist or cannot be resolved.
    #[error("model `{}` cannot be opened", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The model is neither a directory nor a regular file.
    #[error("model `{}` is neither a directory nor a regular file", path.display())]
    NotAModel {
        /// The path given.
        path: PathBuf,
    },
}

fn kind_of(ft: &std::fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

/// Enumerate a model. `ignores` are model-relative manifest paths (already normalised).
pub fn walk(model: &Path, ignores: &[String], allow_symlinks: bool) -> Result<Walk, WalkError> {
    let root = std::fs::canonicalize(model).map_err(|source| WalkError::Open {
        path: model.to_path_buf(),
        source,
    })?;
    let meta = std::fs::metadata(&root).map_err(|source| WalkError::Open {
        path: model.to_path_buf(),
        source,
    })?;
    let mut out = Walk {
        root: root.clone(),
        ..Walk::default()
    };
    if meta.is_file() {
        let name = root
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string);
        match name {
            Some(name) => out.files.push(ModelFile {
                name,
                path: root.clone(),
                size: meta.len(),
                via_symlink: false,
            }),
            None => out.problems.push(Problem::NonUtf8 {
                name: root.to_string_lossy().into_owned(),
            }),
        }
        out.single_file = true;
        return Ok(out);
    }
    if !meta.is_dir() {
        return Err(WalkError::NotAModel {
            path: model.to_path_buf(),
        });
    }

    let mut it = walkdir::WalkDir::new(&root)
        .follow_links(false)
        .min_depth(1)
        .into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let name = e
                    .path()
                    .and_then(|p| p.strip_prefix(&root).ok())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|| root.to_string_lossy().into_owned());
                out.problems.push(Problem::Unreadable {
                    name,
                    error: e
                        .io_error()
                        .map(|io| io.to_string())
                        .unwrap_or_else(|| e.to_string()),
                });
                continue;
            }
        };
        let rel = entry.path().strip_prefix(&root).unwrap_or(entry.path());
        let name = match rel.to_str() {
            Some(s) => s.to_string(),
            None => {
                out.problems.push(Problem::NonUtf8 {
                    name: rel.to_string_lossy().into_owned(),
                });
                if entry.file_type().is_dir() {
                    it.skip_current_dir();
                }
                continue;
            }
        };
        let top_level_git = entry.depth() == 1 && DEFAULT_IGNORES.contains(&name.as_str());
        let ignored = top_level_git || ignores.iter().any(|i| is_under(&name, i));
        if ignored {
            if entry.file_type().is_dir() {
                it.skip_current_dir();
            }
            continue;
        }
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        if ft.is_file() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.files.push(ModelFile {
                name,
                path: entry.path().to_path_buf(),
                size,
                via_symlink: false,
            });
            continue;
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(entry.path())
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let resolved = match std::fs::canonicalize(entry.path()) {
                Ok(r) => r,
                Err(_) => {
                    out.problems.push(Problem::BrokenSymlink { name, target });
                    continue;
                }
            };
            let tmeta = std::fs::metadata(&resolved);
            if tmeta.as_ref().map(|m| m.is_dir()).unwrap_or(false) {
                out.problems
                    .push(Problem::SymlinkedDirectory { name, target });
            } else if !resolved.starts_with(&root) {
                out.problems.push(Problem::SymlinkOutside { name, target });
            } else if !allow_symlinks {
                out.problems.push(Problem::Symlink { name, target });
            } else {
                match tmeta {
                    Ok(m) if m.is_file() => out.files.push(ModelFile {
                        name,
                        path: entry.path().to_path_buf(),
                        size: m.len(),
                        via_symlink: true,
                    }),
                    Ok(m) => out.problems.push(Problem::SpecialFile {
                        name,
                        kind: kind_of(&m.file_type()),
                    }),
                    Err(e) => out.problems.push(Problem::Unreadable {
                        name,
                        error: e.to_string(),
                    }),
                }
            }
            continue;
        }
        out.problems.push(Problem::SpecialFile {
            name,
            kind: kind_of(&ft),
        });
    }
    out.files.sort_by(|a, b| component_cmp(&a.name, &b.name));
    out.problems
        .sort_by(|a, b| component_cmp(a.name(), b.name()));
    Ok(out)
}

fn open_for_hashing(f: &ModelFile) -> std::io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    if !f.via_symlink {
        // A file swapped for a symlink after enumeration must not be followed.
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    let file = opts.open(&f.path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("no longer a regular file"));
    }
    Ok(file)
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Hash a file, reading and hashing on one thread.
fn hash_reader(
    mut file: File,
    alg: HashAlg,
    progress: &dyn Progress,
) -> std::io::Result<(Vec<u8>, u64)> {
    let mut h = alg.hasher();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = read_full(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
        progress.advance(n as u64);
    }
    Ok((h.finish(), total))
}

/// Hash a file with reads on a second thread, so the copy out of the page cache overlaps the
/// hashing. Used when there are fewer files than cores. Memory: `BUFFERS` × [`CHUNK`].
fn hash_pipelined(
    mut file: File,
    alg: HashAlg,
    progress: &dyn Progress,
) -> std::io::Result<(Vec<u8>, u64)> {
    const BUFFERS: usize = 4;
    let (full_tx, full_rx) =
        std::sync::mpsc::sync_channel::<std::io::Result<(Vec<u8>, usize)>>(BUFFERS);
    let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Ok(mut buf) = empty_rx.recv() {
                let r = read_full(&mut file, &mut buf);
                let done = !matches!(r, Ok(n) if n > 0);
                if full_tx.send(r.map(|n| (buf, n))).is_err() || done {
                    break;
                }
            }
        });
        let mut h = alg.hasher();
        let mut total = 0u64;
        loop {
            let (buf, n) = full_rx
                .recv()
                .map_err(|_| std::io::Error::other("reader thread stopped"))??;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            total += n as u64;
            progress.advance(n as u64);
            // The reader may already have finished; a closed channel is fine then.
            let _ = empty_tx.send(buf);
        }
        drop(empty_tx);
        Ok((h.finish(), total))
    })
}

/// Files at least this large get a reader thread of their own when cores are idle.
const PIPELINE_MIN: u64 = 32 * 1024 * 1024;

/// A hashed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// Manifest name.
    pub name: String,
    /// Bytes hashed.
    pub size: u64,
    /// Raw digest.
    pub digest: Vec<u8>,
    /// The file's identity, the same before and after hashing (else hashing fails).
    pub identity: FileIdentity,
}

/// Hash every file in parallel (largest first, one file a task), streaming each in fixed-size
/// reads. Results come back in the order of `files`; a file that cannot be read yields its error.
pub fn hash_files(
    files: &[ModelFile],
    alg: HashAlg,
    progress: &dyn Progress,
) -> Vec<Result<FileDigest, std::io::Error>> {
    progress.add_total(files.iter().map(|f| f.size).sum());
    let pipeline = files.len() < rayon::current_num_threads();
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| files[b].size.cmp(&files[a].size));
    let mut results: Vec<(usize, Result<FileDigest, std::io::Error>)> = order
        .into_par_iter()
        .with_max_len(1)
        .map(|i| {
            let f = &files[i];
            let r = open_for_hashing(f).and_then(|file| {
                // fstat before and after on the same descriptor: bytes that changed while they
                // were read are an error, never a digest.
                let before = FileIdentity::of(&file)?;
                let watch = file.try_clone()?;
                let (digest, size) = if pipeline && f.size >= PIPELINE_MIN {
                    hash_pipelined(file, alg, progress)?
                } else {
                    hash_reader(file, alg, progress)?
                };
                if FileIdentity::of(&watch)? != before || size != before.size {
                    return Err(std::io::Error::other(
                        "the file changed while it was being hashed",
                    ));
                }
                Ok(FileDigest {
                    name: f.name.clone(),
                    size,
                    digest,
                    identity: before,
                })
            });
            (i, r)
        })
        .collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// One shard of a file: `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    /// Manifest name of the file.
    pub name: String,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// The shards OMS's `shards` method cuts a file of `size` bytes into (none for an empty file).
pub fn shards_of(name: &str, size: u64, shard_size: u64) -> Vec<Shard> {
    let mut v = Vec::new();
    let mut start = 0;
    while start < size {
        let end = (start + shard_size).min(size);
        v.push(Shard {
            name: name.to_string(),
            start,
            end,
        });
        start = end;
    }
    v
}

/// Hash shards in parallel with positioned reads. A shard that cannot be fully read (the file
/// is shorter than expected) is an error.
pub fn hash_shards(
    files: &[ModelFile],
    shards: &[Shard],
    alg: HashAlg,
    progress: &dyn Progress,
) -> Vec<Result<Vec<u8>, std::io::Error>> {
    progress.add_total(shards.iter().map(|s| s.end - s.start).sum());
    let by_name: std::collections::HashMap<&str, &ModelFile> =
        files.iter().map(|f| (f.name.as_str(), f)).collect();
    shards
        .par_iter()
        .with_max_len(1)
        .map(|s| {
            let f = by_name
                .get(s.name.as_str())
                .ok_or_else(|| std::io::Error::other("file vanished"))?;
            let file = open_for_hashing(f)?;
            let mut h = alg.hasher();
            let mut buf = vec![0u8; CHUNK];
            let mut pos = s.start;
            while pos < s.end {
                let want = ((s.end - pos) as usize).min(CHUNK);
                let n = file.read_at(&mut buf[..want], pos)?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "file ended inside a shard",
                    ));
                }
                h.update(&buf[..n]);
                pos += n as u64;
                progress.advance(n as u64);
            }
            Ok(h.finish())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_order_matches_python_purepath() {
        let mut v = vec![
            "a.txt",
            "a-b",
            "a/b",
            ".hidden",
            "README.md",
            "sub/dir/extra.bin",
        ];
        v.sort_by(|a, b| component_cmp(a, b));
        assert_eq!(
            v,
            vec![
                ".hidden",
                "README.md",
                "a/b",
                "a-b",
                "a.txt",
                "sub/dir/extra.bin"
            ]
        );
    }

    #[test]
    fn names_are_validated() {
        assert_eq!(invalid_name_reason("a/b.bin"), None);
        assert!(invalid_name_reason("../x").is_some());
        assert!(invalid_name_reason("/etc/passwd").is_some());
        assert!(invalid_name_reason("a//b").is_some());
        assert!(invalid_name_reason("a/./b").is_some());
        assert!(invalid_name_reason("").is_some());
    }

    #[test]
    fn ignore_matching_is_by_component() {
        assert!(is_under("logs", "logs"));
        assert!(is_under("logs/a", "logs"));
        assert!(!is_under("logs2", "logs"));
        assert!(!is_under("log", "logs"));
    }

    #[test]
    fn ignore_normalisation() {
        let root = Path::new("/m");
        assert_eq!(normalize_ignore(root, "./a/b/").unwrap(), "a/b");
        assert_eq!(normalize_ignore(root, "/m/x").unwrap(), "x");
        assert!(normalize_ignore(root, "/other/x").is_err());
        assert!(normalize_ignore(root, "../x").is_err());
        assert!(normalize_ignore(root, ".").is_err());
    }

    #[test]
    fn pipelined_hashing_equals_plain_hashing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let data: Vec<u8> = (0..(3 * CHUNK + 17))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        std::fs::write(&p, &data).unwrap();
        for alg in [HashAlg::Sha256, HashAlg::Blake2b, HashAlg::Blake3] {
            let a = hash_reader(File::open(&p).unwrap(), alg, &NoProgress).unwrap();
            let b = hash_pipelined(File::open(&p).unwrap(), alg, &NoProgress).unwrap();
            assert_eq!(a, b);
            assert_eq!(a.1, data.len() as u64);
        }
        let e = d.path().join("empty");
        std::fs::write(&e, b"").unwrap();
        let (digest, n) =
            hash_pipelined(File::open(&e).unwrap(), HashAlg::Sha256, &NoProgress).unwrap();
        assert_eq!(n, 0);
        assert_eq!(
            hex::encode(digest),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn shards_cover_the_file() {
        let s = shards_of("f", 10, 4);
        assert_eq!(
            s.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
            vec![(0, 4), (4, 8), (8, 10)]
        );
        assert!(shards_of("f", 0, 4).is_empty());
    }
}
