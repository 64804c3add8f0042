//! `modelsec log verify`: the monitor's hash-chained event log.

use crate::output;
use anyhow::Result;
use modelsec::report::{ExitStatus, Format};
use std::path::PathBuf;

/// Arguments of `modelsec log`.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    #[command(subcommand)]
    pub command: LogCommand,
}

/// `modelsec log …`
#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Check the event log's hash chain: every line's hash, and seq/prev continuity within and
    /// across rotated files. Any edit, deletion, reordering or truncation in the middle is
    /// reported with the first bad line.
    #[command(
        after_help = "Give rotated files first, the active file last: `modelsec log verify events.jsonl.* events.jsonl`.\n\nExit codes:\n  0  the chain is intact\n  1  the log was tampered with (or files are missing)\n  2  could not run"
    )]
    Verify {
        /// Log files, in chain order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

pub fn run(a: LogArgs) -> Result<ExitStatus> {
    match a.command {
        LogCommand::Verify { files, format } => {
            let report = modelsec::monitor::log::verify(&files);
            output::report(&report, format)
        }
    }
}
