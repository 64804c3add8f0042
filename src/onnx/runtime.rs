//! Finding and loading ONNX Runtime (`libonnxruntime`, from the PyPI wheel `onnxruntime==1.31.1`).
//!
//! Order, first found wins:
//! 1. `ORT_DYLIB_PATH`, when set (it must name a file);
//! 2. beside the executable: its own directory, `../lib` and `../lib/modelsec` (an installed
//!    layout);
//! 3. the checkout the executable was built from: `.local/onnxruntime/` there, as
//!    `scripts/ort.sh` installs it;
//! 4. the active Python's `onnxruntime` package, found with `python3 -I` (isolated: the working
//!    directory is not on its path) without importing it.
//!
//! Never the working directory or its ancestors: `fuzz` and `serve` run inside model
//! repositories, and a shared library planted in one would run as soon as it is loaded.
//! Loading goes through `ort::init_from`, which returns an error instead of panicking. One
//! environment per process.

use super::OnnxError as FuzzError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The ONNX Runtime release modelsec is built against (`ort` feature `api-31`).
pub const ORT_VERSION: &str = "1.31.1";
/// Where `scripts/ort.sh` installs it, relative to the project root.
pub const LOCAL_DIR: &str = ".local/onnxruntime";

/// How to install it, for error messages.
pub fn install_hint() -> String {
    format!(
        "install ONNX Runtime {ORT_VERSION} from PyPI into the active Python \
         (`python3 -m pip install onnxruntime=={ORT_VERSION}`), or run scripts/ort.sh in the \
         modelsec checkout, or point ORT_DYLIB_PATH at libonnxruntime.so.{ORT_VERSION}"
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

/// Directories to look in, in order, with how each was found: beside the executable, then the
/// checkout it was built from. Nothing here depends on the working directory.
pub fn candidates() -> Vec<(PathBuf, &'static str)> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.canonicalize().ok())
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push((exe_dir.clone(), "beside the executable"));
        dirs.push((exe_dir.join("../lib"), "beside the executable"));
        dirs.push((exe_dir.join("../lib/modelsec"), "beside the executable"));
    }
    dirs.push((
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(LOCAL_DIR)
            .join("onnxruntime")
            .join("capi"),
        "the checkout modelsec was built from",
    ));
    dirs
}

fn python_capi() -> Option<PathBuf> {
    // -I: isolated mode, so neither the working directory nor PYTHON* variables are on the
    // module path; find_spec locates the package without running its code.
    const FIND: &str = "import importlib.util, os; s = importlib.util.find_spec('onnxruntime'); \
        print(os.path.join(os.path.dirname(s.origin), 'capi') if s and s.origin else '')";
    for py in ["python3", "python"] {
        let Ok(out) = std::process::Command::new(py)
            .args(["-I", "-c", FIND])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
        else {
            continue;
        };
        if out.status.success() {
            let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if p.is_absolute() && p.is_dir() {
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
    for (dir, how) in candidates() {
        if let Some(path) = lib_in(&dir) {
            return Ok(Located { path, how });
        }
    }
    if let Some(path) = python_capi().and_then(|c| lib_in(&c)) {
        return Ok(Located {
            path,
            how: "the active Python's onnxruntime package",
        });
    }
    Err(FuzzError::Runtime(format!(
        "ONNX Runtime not found (looked at ORT_DYLIB_PATH, beside the modelsec executable, in {LOCAL_DIR}/ of the checkout it was built from, and in the active Python); {}",
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
