//! `modelsec scan`: model files for code-execution payloads.

use crate::{output, progress};
use anyhow::Result;
use modelsec::report::{ExitStatus, Format};
use modelsec::scan;
use std::path::PathBuf;

/// Arguments of `modelsec scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or directories (scanned recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Extra allow-list (TOML, same shape as policies/scan.toml); repeatable.
    #[arg(long, value_name = "FILE")]
    pub allowlist: Vec<PathBuf>,
}

pub fn run(a: ScanArgs) -> Result<ExitStatus> {
    let allowlist = scan::Allowlist::load(&a.allowlist)?;
    let report = scan::scan(&a.paths, &allowlist, &progress::Files::new())?;
    output::report(&report, a.format)
}
