//! The `modelsec` binary: parse the command line, call the library, render, map to an exit
//! code (0 clean, 1 findings or failed verification, 2 could not run). Each command is one file
//! in `commands/`: its clap arguments, converted once into library options, the library call,
//! and the rendering.

mod cli;
mod commands;
mod output;
mod progress;

// The server answers thousands of small JSON requests a second; mimalloc makes their many short
// allocations cheaper than glibc malloc (measured in bench/monitor.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use modelsec::report::ExitStatus;
use std::process::ExitCode;

/// The exit code of a process killed by SIGPIPE (128 + 13), used when the reader of stdout
/// went away before anything decided the outcome: never 0, so `set -o pipefail` still fails.
const BROKEN_PIPE: u8 = 141;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(status) => ExitCode::from(status.code()),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::from(BROKEN_PIPE);
            }
            // Messages may quote file names, configs and keys: escape them for the terminal.
            let msg = modelsec::report::escape::text(&chain(&err)).into_owned();
            eprintln!("error: {msg}");
            ExitCode::from(ExitStatus::Error.code())
        }
    }
}

/// The error and its causes, `: `-separated like anyhow's `{:#}`, but without a cause whose text
/// the message already carries (many errors quote their source in their own message).
fn chain(err: &anyhow::Error) -> String {
    let mut msg = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}
