//! Safe file output: write to a temporary file in the target directory, flush it to disk, then
//! rename it into place, so a reader never sees a half-written file and a crash loses nothing
//! that was there before.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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
    let dir = parent_of(path);
    let io = |source: std::io::Error| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".modelsec-tmp-")
        .permissions(std::fs::Permissions::from_mode(opts.mode))
        .tempfile_in(dir)
        .map_err(io)?;
    // The umask may have narrowed the mode at creation; set it exactly.
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(opts.mode))
        .map_err(io)?;
    tmp.write_all(data).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    if opts.overwrite {
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
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
