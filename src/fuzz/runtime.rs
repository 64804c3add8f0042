//! Finding and loading ONNX Runtime (`libonnxruntime`, from the PyPI wheel `onnxruntime==1.31.1`).
//!
//! Order: `ORT_DYLIB_PATH`; a project-local install (`.local/onnxruntime/` in the working
//! directory or an ancestor of it or of the executable, as `scripts/ort.sh` makes it); the
//! active Python's `onnxruntime` package. Loading goes through `ort::init_from`, which returns
//! an error instead of panicking. One environment per process.

use super::FuzzError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The ONNX Runtime release modelsec is built against (`ort` feature `api-31`).
pub const ORT_VERSION: &str = "1.31.1";
/// Where `scripts/ort.sh` installs it, relative to the project root.
pub const LOCAL_DIR: &str = ".local/onnxruntime";

/// How to install it, for error messages.
pub fn install_hint() -> String {
    format!(
        "install ONNX Runtime {ORT_VERSION} from PyPI into the project: \
         `python3 -m pip install --no-deps --target {LOCAL_DIR} onnxruntime=={ORT_VERSION}` \
         (or run scripts/ort.sh), or point ORT_DYLIB_PATH at libonnxruntime.so.{ORT_VERSION}"
    )
}

fn lib_in(capi: &Path) -> Option<PathBuf> {
    let exact = capi.join(format!("libonnxruntime.so.{ORT_VERSION}"));
    if exact.is_file() {
        return Some(exact);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(capi)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so.") || n == "libonnxruntime.dylib")
        })
        .collect();
    found.sort();
    found.pop()
}

fn local_candidates() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots
        .into_iter()
        .map(|r| r.join(LOCAL_DIR).join("onnxruntime").join("capi"))
        .collect()
}

fn python_capi() -> Option<PathBuf> {
    for py in ["python3", "python"] {
        let out = std::process::Command::new(py)
            .args([
                "-c",
                "import os, onnxruntime; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))",
            ])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        if out.status.success() {
            let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if p.is_dir() {
                return Some(p);
            }
        }
    }
    None
}

/// Where the library is, and how it was found.
#[derive(Clone, Debug)]
pub struct Located {
    pub path: PathBuf,
    pub how: &'static str,
}

/// Find `libonnxruntime` without loading it.
pub fn locate() -> Result<Located, FuzzError> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        let path = PathBuf::from(p);
        if path.is_file() {
            return Ok(Located {
                path,
                how: "ORT_DYLIB_PATH",
            });
        }
        return Err(FuzzError::Runtime(format!(
            "ORT_DYLIB_PATH is `{}`, which is not a file; {}",
            path.display(),
            install_hint()
        )));
    }
    for capi in local_candidates() {
        if let Some(path) = lib_in(&capi) {
            return Ok(Located {
                path,
                how: "project-local install",
            });
        }
    }
    if let Some(path) = python_capi().and_then(|c| lib_in(&c)) {
        return Ok(Located {
            path,
            how: "the active Python's onnxruntime package",
        });
    }
    Err(FuzzError::Runtime(format!(
        "ONNX Runtime not found (looked at ORT_DYLIB_PATH, {LOCAL_DIR}/ here and above, and the active Python); {}",
        install_hint()
    )))
}

/// The process-wide ONNX Runtime environment, loaded on first use.
pub fn environment() -> Result<(ort::environment::Environment, Located), FuzzError> {
    static ENV: OnceLock<Result<(ort::environment::Environment, Located), String>> =
        OnceLock::new();
    ENV.get_or_init(|| {
        let lib = locate().map_err(|e| e.to_string())?;
        let builder = ort::init_from(&lib.path).map_err(|e| {
            format!(
                "cannot load ONNX Runtime from `{}` ({}): {e}; {}",
                lib.path.display(),
                lib.how,
                install_hint()
            )
        })?;
        // ORT's own log lines would interleave with reports; errors reach us as Results.
        let silent: ort::logging::LoggerFunction = Arc::new(|_, _, _, _, _| {});
        let env = builder
            .with_name("modelsec")
            .with_telemetry(false)
            .with_logger(silent)
            .build()
            .map_err(|e| {
                format!(
                    "cannot start ONNX Runtime from `{}`: {e}",
                    lib.path.display()
                )
            })?;
        Ok((env, lib))
    })
    .clone()
    .map_err(FuzzError::Runtime)
}
