//! Writing results to stdout. A reader that goes away (`modelsec scan … | head -1`) must not
//! turn a failing run into a passing one: the status computed before the write is kept.

use anyhow::{Context, Result};
use modelsec::report::{ExitStatus, Format, Report};
use modelsec::util::fs::{self, WriteOptions};
use std::io::Write;
use std::path::Path;

/// Whether an error is, at some depth, a broken pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Write to stdout with `write`, then flush; the command's `status` is returned whatever
/// happens to the pipe.
pub fn stdout(
    status: ExitStatus,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    let res = write(&mut out).and_then(|()| out.flush());
    match res {
        Ok(()) => Ok(status),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(status),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// Render `report` in `format` to stdout; the report's exit status.
pub fn report(report: &Report, format: Format) -> Result<ExitStatus> {
    stdout(report.exit_status(), |out| report.render(format, out))
}

/// Write `--junit FILE` (atomically), if asked.
pub fn junit(path: Option<&Path>, report: &Report) -> Result<()> {
    if let Some(path) = path {
        let opts = WriteOptions {
            mode: 0o644,
            overwrite: true,
        };
        fs::write_atomic(path, report.to_junit().as_bytes(), opts)
            .with_context(|| format!("cannot write JUnit report `{}`", path.display()))?;
    }
    Ok(())
}
