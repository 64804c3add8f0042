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
    /// Check the event log's hash chain: every line's hash, seq/prev continuity within and
    /// across rotated files, the genesis record at the start, signed checkpoints (with --key)
    /// and the tail after the last one. Any edit, deletion, reordering or truncation is reported
    /// with the first bad line.
    #[command(
        after_help = "Files are grouped into chains by name (`<log>.<seq>` rotated files, then `<log>`), so the logs of several replicas verify in one call: `modelsec log verify a/events.jsonl* b/events.jsonl*`.\n\nWithout --key, a log rewritten from its start with fresh hashes cannot be told from the real one; with it, everything up to the last checkpoint is vouched for, and a tail cut after it is found once no checkpoint came within two intervals.\n\nExit codes:\n  0  the chain is intact\n  1  the log was tampered with (or files are missing)\n  2  could not run"
    )]
    Verify {
        /// Log files: every file of every chain (any order).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The checkpoint public key (`KEY.pub` from `modelsec keygen`, for the writer's
        /// `[log] checkpoint_key`): checks every checkpoint's signature.
        #[arg(long, value_name = "PUB")]
        key: Option<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

pub fn run(a: LogArgs) -> Result<ExitStatus> {
    match a.command {
        LogCommand::Verify { files, key, format } => {
            let key = match key {
                Some(p) => {
                    let text = modelsec::util::fs::read_text(&p, 1 << 20)?;
                    Some(
                        modelsec::signing::VerifyingKey::from_pem(&text).map_err(|e| {
                            anyhow::anyhow!(
                                "--key `{}`: {e}; give the public key (KEY.pub)",
                                p.display()
                            )
                        })?,
                    )
                }
                None => None,
            };
            let opts = modelsec::monitor::log::VerifyOptions { key, now: None };
            let report = modelsec::monitor::log::verify_with(&files, &opts);
            output::report(&report, format)
        }
    }
}
