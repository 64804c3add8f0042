//! Safe file input and output.
//!
//! Input: every file modelsec reads whole (keys, signatures, configs, policies, allow-lists,
//! evidence, baselines) goes through [`read_bytes`]/[`read_text`], which refuse anything that is
//! not a regular file (a FIFO would block forever, `/dev/zero` never ends) and cap the size.
//!
//! Output: write to a temporary file in the target directory, flush it to disk, then rename it
//! into place, so a reader never sees a half-written file and a crash loses nothing that was
//! there before.

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Keys (PEM): far below this.
pub const MAX_KEY_BYTES: u64 = 1 << 20;
/// Configs, policies, allow-lists, threat models, suppressions.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;
/// modelsec JSON reports read back (evidence).
pub const MAX_REPORT_BYTES: u64 = 256 << 20;
/// Row files (seeds, baselines).
pub const MAX_ROWS_BYTES: u64 = 1 << 30;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A FIFO, device, socket or directory where a file was expected.
    #[error("`{}` is not a regular file (it is a {kind}); give the path of a file", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// Larger than this kind of file may be.
    #[error("`{}` is larger than {limit} bytes, the limit for this kind of file; check that it is the right file", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// Not UTF-8 text.
    #[error("`{}` is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The path.
        path: PathBuf,
    },
    /// Missing, unreadable, or an I/O error.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// What kind of non-regular file `t` is.
pub fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else if t.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

/// Open `path` for reading only if it is a regular file. Opened non-blocking, so a FIFO swapped
/// in cannot hang the open; the check is made on the open descriptor, so it cannot race.
pub fn open_regular(path: &Path) -> Result<std::fs::File, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(io)?;
    let t = f.metadata().map_err(io)?.file_type();
    if !t.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(t),
        });
    }
    Ok(f)
}

/// Which file an open descriptor is, and which version of it: device, inode, size, and the
/// modification and status-change times in nanoseconds. Two reads of the same file see the same
/// bytes only if its identity is the same before and after both; `ctime` cannot be set by a
/// user, so an in-place rewrite always shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, ns since the epoch.
    pub ctime_ns: i128,
}

impl FileIdentity {
    /// The identity of an open file (fstat).
    pub fn of(f: &std::fs::File) -> std::io::Result<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let m = f.metadata()?;
        Ok(FileIdentity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })
    }
}

/// Read a whole regular file of at most `limit` bytes.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let f = open_regular(path)?;
    let mut buf = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(buf)
}

/// Read a whole regular UTF-8 text file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, limit)?).map_err(|_| ReadError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The target exists and overwriting was not allowed.
    #[error("`{}` already exists; pass --force to overwrite it", path.display())]
    Exists {
        /// The target.
        path: PathBuf,
    },
    /// The directory the file should go into does not exist.
    #[error("directory `{}` does not exist", path.display())]
    MissingDir {
        /// The missing directory.
        path: PathBuf,
    },
    /// Any other I/O failure, with the path it happened on.
    #[error("could not write `{}`", path.display())]
    Io {
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// How to write a file.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// Unix permission bits of the new file (e.g. `0o600` for a private key).
    pub mode: u32,
    /// Replace an existing file. Without it an existing target is an error and is left as it was.
    pub overwrite: bool,
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Whether `path` would be refused by [`write_atomic`] without `overwrite`.
pub fn check_writable(path: &Path, overwrite: bool) -> Result<(), WriteError> {
    let dir = parent_of(path);
    if !dir.is_dir() {
        return Err(WriteError::MissingDir {
            path: dir.to_path_buf(),
        });
    }
    if !overwrite && path.symlink_metadata().is_ok() {
        return Err(WriteError::Exists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Write `data` to `path` atomically with the given mode.
///
/// The temporary file is created with the final mode from the start (never world-readable for a
/// 0600 file), fsynced, then renamed into place; without `overwrite` the final step refuses to
/// replace a file that appeared in the meantime.
pub fn write_atomic(path: &Path, data: &[u8], opts: WriteOptions) -> Result<(), WriteError> {
    check_writable(path, opts.overwrite)?;
    let tmp = stage(path, data, opts)?;
    put(tmp, path, opts.overwrite)?;
    sync_dir(parent_of(path));
    Ok(())
}

/// Write two files as a pair, both or neither: each is staged in a temporary file first, and
/// when the second cannot be put in place the first is restored (or removed), so a key pair is
/// never left mismatched.
pub fn write_pair_atomic(
    first: (&Path, &[u8], WriteOptions),
    second: (&Path, &[u8], WriteOptions),
) -> Result<(), WriteError> {
    check_writable(first.0, first.2.overwrite)?;
    check_writable(second.0, second.2.overwrite)?;
    let staged_first = stage(first.0, first.1, first.2)?;
    let staged_second = stage(second.0, second.1, second.2)?;
    // Keep the old first file (if any) until the second is in place.
    let backup = if first.0.symlink_metadata().is_ok() {
        let b = tempfile::Builder::new()
            .prefix(".modelsec-old-")
            .make_in(parent_of(first.0), |p| std::fs::hard_link(first.0, p))
            .map_err(|source| WriteError::Io {
                path: first.0.to_path_buf(),
                source,
            })?;
        Some(b.into_temp_path())
    } else {
        None
    };
    put(staged_first, first.0, first.2.overwrite)?;
    if let Err(e) = put(staged_second, second.0, second.2.overwrite) {
        match &backup {
            Some(b) => {
                let _ = std::fs::rename(b, first.0);
            }
            None => {
                let _ = std::fs::remove_file(first.0);
            }
        }
        return Err(e);
    }
    drop(backup);
    sync_dir(parent_of(first.0));
    sync_dir(parent_of(second.0));
    Ok(())
}

fn stage(
    path: &Path,
    data: &[u8],
    opts: WriteOptions,
) -> Result<tempfile::NamedTempFile, WriteError> {
    let io = |source: std::io::Error| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".modelsec-tmp-")
        .permissions(std::fs::Permissions::from_mode(opts.mode))
        .tempfile_in(parent_of(path))
        .map_err(io)?;
    // The umask may have narrowed the mode at creation; set it exactly.
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(opts.mode))
        .map_err(io)?;
    tmp.write_all(data).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    Ok(tmp)
}

fn put(tmp: tempfile::NamedTempFile, path: &Path, overwrite: bool) -> Result<(), WriteError> {
    let io = |source: std::io::Error| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    if overwrite {
        tmp.persist(path).map_err(|e| io(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                WriteError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                io(e.error)
            }
        })?;
    }
    Ok(())
}

/// Make renames in `dir` durable.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_and_sizes_capped() {
        let e = read_bytes(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::NotRegular {
                    kind: "character device",
                    ..
                }
            ),
            "{e}"
        );
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        #[allow(unsafe_code)]
        // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
        let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(rc, 0);
        // Without the non-blocking open this would hang forever (no writer).
        let e = read_text(&fifo, 100).unwrap_err();
        assert!(
            matches!(e, ReadError::NotRegular { kind: "FIFO", .. }),
            "{e}"
        );
        let e = read_text(d.path(), 100).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
        let big = d.path().join("big");
        std::fs::write(&big, vec![b'a'; 101]).unwrap();
        assert!(matches!(
            read_text(&big, 100),
            Err(ReadError::TooLarge { .. })
        ));
        assert_eq!(read_text(&big, 101).unwrap().len(), 101);
    }

    #[test]
    fn refuses_overwrite_and_keeps_old_content() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k");
        let opts = WriteOptions {
            mode: 0o600,
            overwrite: false,
        };
        write_atomic(&p, b"one", opts).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let e = write_atomic(&p, b"two", opts).unwrap_err();
        assert!(matches!(e, WriteError::Exists { .. }));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_atomic(
            &p,
            b"two",
            WriteOptions {
                overwrite: true,
                ..opts
            },
        )
        .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_pair_is_written_whole_or_not_at_all() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("k"), d.path().join("k.pub"));
        let o = WriteOptions {
            mode: 0o600,
            overwrite: true,
        };
        write_pair_atomic((&a, b"priv1", o), (&b, b"pub1", o)).unwrap();
        // The second target cannot be replaced (a non-empty directory): the first keeps its
        // old content.
        std::fs::remove_file(&b).unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("x"), b"").unwrap();
        assert!(write_pair_atomic((&a, b"priv2", o), (&b, b"pub2", o)).is_err());
        assert_eq!(std::fs::read(&a).unwrap(), b"priv1");
        // Without an old first file, a failure leaves none.
        std::fs::remove_file(&a).unwrap();
        assert!(write_pair_atomic((&a, b"priv3", o), (&b, b"pub3", o)).is_err());
        assert!(!a.exists());
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
    }

    #[test]
    fn missing_directory_is_named() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope/k");
        let e = write_atomic(
            &p,
            b"x",
            WriteOptions {
                mode: 0o644,
                overwrite: false,
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
}
