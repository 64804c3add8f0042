//! From the paths on the command line to the files to scan. Directory links are followed the way
//! loaders follow them (with loop detection); entries that cannot be read as files (FIFOs,
//! sockets, devices, link loops, unlistable directories) are findings, never skipped silently;
//! version-control folders are not scanned (loaders never read them), but their files are still
//! opened so `sign`, which hashes nested ones, knows they are the files it hashes.

use super::{FileResult, ScanError, formats, rules};
use crate::report::{Finding, Location};
use crate::util::fs::FileIdentity;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Folders of version-control systems: their content is history, not model files.
const VCS_DIRS: &[&str] = &[".git", ".hg", ".svn", ".bzr"];

/// One file to scan.
pub(super) struct FileEntry {
    pub path: PathBuf,
    /// How the report names it.
    pub shown: String,
    /// The directory being scanned (external data must stay inside it).
    pub root: PathBuf,
    /// Inside a version-control folder: identity only.
    pub vcs: bool,
}

/// The files, plus findings about entries that could not be read.
pub(super) struct Listing {
    pub files: Vec<FileEntry>,
    pub findings: Vec<Finding>,
    pub followed_links: u64,
}

fn unreadable(path: &Path, msg: String) -> Finding {
    Finding::new(&rules::UNREADABLE, msg).at(Location::path(path.display().to_string()))
}

/// List the files under `paths`, leaving out `exclude`.
pub(super) fn list(paths: &[PathBuf], exclude: &[PathBuf]) -> Result<Listing, ScanError> {
    let mut out = Listing {
        files: Vec::new(),
        findings: Vec::new(),
        followed_links: 0,
    };
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| ScanError::Path {
            path: p.clone(),
            source,
        })?;
        if !meta.is_dir() {
            // A file, or a special file named on the command line (scan_file reports it).
            let root = p.parent().map(Path::to_path_buf).unwrap_or_default();
            out.files.push(FileEntry {
                path: p.clone(),
                shown: p.display().to_string(),
                root,
                vcs: false,
            });
            continue;
        }
        let root = p.clone();
        let mut walker = walkdir::WalkDir::new(p)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = walker.next() {
            let e = match entry {
                Ok(e) => e,
                Err(err) => {
                    let path = err.path().map(Path::to_path_buf).unwrap_or_default();
                    let msg = if let Some(anc) = err.loop_ancestor() {
                        format!(
                            "directory link loop: it leads back to `{}`; not followed again",
                            anc.display()
                        )
                    } else if path.is_symlink() && !path.exists() {
                        "dangling symlink: its target does not exist".to_string()
                    } else {
                        format!("could not list: {err}")
                    };
                    out.findings.push(unreadable(&path, msg));
                    continue;
                }
            };
            let path = e.path();
            if exclude.iter().any(|x| path.starts_with(x)) {
                if e.file_type().is_dir() {
                    walker.skip_current_dir();
                }
                continue;
            }
            let ft = e.file_type();
            if ft.is_dir() {
                if e.path_is_symlink() {
                    out.followed_links += 1;
                }
                continue;
            }
            let vcs = path.strip_prefix(&root).is_ok_and(|rel| {
                rel.components()
                    .any(|c| VCS_DIRS.iter().any(|v| c.as_os_str() == *v))
            });
            if ft.is_file() {
                out.files.push(FileEntry {
                    path: path.to_path_buf(),
                    shown: path.display().to_string(),
                    root: root.clone(),
                    vcs,
                });
            } else if !vcs {
                out.findings.push(unreadable(
                    path,
                    format!(
                        "{} in the model folder: not a regular file, so it was not read (a loader opening it would block or read device data)",
                        crate::util::fs::kind_of(ft)
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Canonical paths of the files ONNX models among `files` name as external data (raw tensor
/// bytes, not a format of their own). Models in the directories of the files scanned count, so
/// a weights file scanned on its own is still recognised by the model next to it.
pub(super) fn onnx_external_data(files: &[FileEntry]) -> HashSet<PathBuf> {
    use rayon::prelude::*;
    let dirs: std::collections::BTreeSet<PathBuf> = files
        .iter()
        .map(|f| f.path.parent().map(Path::to_path_buf).unwrap_or_default())
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
        .flat_map_iter(|p| formats::onnx::external_files(p))
        .collect()
}

/// A file that is not analysed, opened only to record which file it is.
pub(super) fn identity_only(path: &Path, format: &'static str) -> FileResult {
    FileResult {
        format,
        identity: crate::util::fs::open_regular(path)
            .ok()
            .and_then(|f| FileIdentity::of(&f).ok()),
        ..FileResult::default()
    }
}
