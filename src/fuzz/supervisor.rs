//! Crash isolation: `fuzz` runs the model in a child process (the same executable, marked by
//! [`WORKER_ENV`]) under an address-space cap, so that a crash or hang of ONNX Runtime becomes a
//! finding naming the probe that caused it instead of a crash of modelsec.

use super::{FuzzError, FuzzOptions, rules as fr};
use crate::report::{Finding, Location, Report, RuleInfo};
use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Set in the child process that actually runs the model; its value is the progress file.
pub const WORKER_ENV: &str = "MODELSEC_FUZZ_WORKER";

/// Whether this process is a fuzzing worker, and if so the progress file it reports to.
pub fn worker_progress() -> Option<PathBuf> {
    std::env::var_os(WORKER_ENV).map(PathBuf::from)
}

/// Why the supervisor could not get a report (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The worker could not be started or watched.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The worker exited 0/1 but its report is not JSON.
    #[error("the fuzzing worker's report is not valid JSON: {0}")]
    Report(serde_json::Error),
    /// The worker could not run (exit 2) and said why on stderr.
    #[error("{0}")]
    WorkerFailed(String),
}

/// In the worker: cap the address space, fuzz, and return the report (which the caller writes
/// to stdout as JSON for the supervisor).
pub fn worker(opts: &FuzzOptions, progress: PathBuf) -> Result<Report, FuzzError> {
    let mut opts = opts.clone();
    opts.progress = Some(progress);
    if let Some(mib) = opts.memory_limit_mib {
        let bytes = mib.saturating_mul(1 << 20);
        rlimit::setrlimit(rlimit::Resource::AS, bytes, bytes).map_err(|e| {
            FuzzError::Range(format!(
                "cannot set the fuzzing worker's memory limit (--memory-limit): {e}"
            ))
        })?;
    }
    super::fuzz(&opts).map_err(|e| match (&e, opts.memory_limit_mib) {
        (FuzzError::Onnx(crate::onnx::OnnxError::Model { .. }), Some(mib)) => FuzzError::Range(format!(
            "{e}\n(the model runs under --memory-limit {mib} MiB; if it needs more, raise it, or 0 for none)"
        )),
        _ => e,
    })
}

/// How to start the worker: this executable and the arguments it was given.
pub struct Command {
    /// The executable (normally `std::env::current_exe()`).
    pub exe: PathBuf,
    /// Its arguments (normally the process's own, without argv\[0\]).
    pub args: Vec<OsString>,
}

/// In the supervisor: run the worker with `timeout`, and turn its death or silence into a
/// finding naming the probe that was running.
pub fn supervise(
    cmd: &Command,
    opts: &FuzzOptions,
    timeout: Duration,
) -> Result<Report, SupervisorError> {
    let io = |what| move |source| SupervisorError::Io { what, source };
    let progress = tempfile::NamedTempFile::new().map_err(io("cannot create a temporary file"))?;
    let mut child = std::process::Command::new(&cmd.exe)
        .args(&cmd.args)
        .env(WORKER_ENV, progress.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(io("cannot start the fuzzing worker process"))?;
    let mut out = child.stdout.take().ok_or_else(|| SupervisorError::Io {
        what: "worker stdout",
        source: std::io::Error::other("not piped"),
    })?;
    let mut err = child.stderr.take().ok_or_else(|| SupervisorError::Io {
        what: "worker stderr",
        source: std::io::Error::other("not piped"),
    })?;
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout.max(Duration::from_secs(1));
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(io("waiting for the fuzzing worker"))?
        {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout_bytes = out_reader.join().unwrap_or_default();
    let stderr_bytes = err_reader.join().unwrap_or_default();
    let stage = std::fs::read_to_string(progress.path()).unwrap_or_default();
    let stage = if stage.is_empty() {
        "starting".to_string()
    } else {
        stage
    };
    let shown = opts.model.display().to_string();
    let mut report = match status {
        Some(s) if matches!(s.code(), Some(0) | Some(1)) => {
            let mut r: Report =
                serde_json::from_slice(&stdout_bytes).map_err(SupervisorError::Report)?;
            r.rules = fr::ALL.iter().map(RuleInfo::from).collect();
            r
        }
        Some(s) if s.code() == Some(2) => {
            // Could not run: the worker already said why.
            let msg = String::from_utf8_lossy(&stderr_bytes);
            let msg = msg.trim().trim_start_matches("error: ");
            return Err(SupervisorError::WorkerFailed(msg.to_string()));
        }
        other => {
            let mut r = Report::new("fuzz", fr::ALL);
            r.targets = vec![shown.clone()];
            r.fact("seed", opts.seed);
            let finding = match other {
                None => Finding::new(
                    &fr::RUNTIME_HANG,
                    format!(
                        "inference did not finish within {} s; the probe running was: {stage}",
                        timeout.as_secs()
                    ),
                ),
                Some(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    let how = match (s.signal(), s.code()) {
                        (Some(sig), _) => format!("signal {sig}"),
                        (None, Some(code)) => format!("exit code {code}"),
                        _ => "unknown status".to_string(),
                    };
                    let tail = String::from_utf8_lossy(&stderr_bytes);
                    let tail = tail.lines().last().unwrap_or("").to_string();
                    Finding::new(
                        &fr::RUNTIME_CRASH,
                        format!(
                            "ONNX Runtime died ({how}) during: {stage}{}",
                            if tail.is_empty() {
                                String::new()
                            } else {
                                format!("; last message: {tail}")
                            }
                        ),
                    )
                }
            };
            r.push(finding.at(Location::path(shown)));
            r
        }
    };
    report.finish();
    Ok(report)
}
