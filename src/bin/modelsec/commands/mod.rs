//! One module per command: its arguments (clap), their conversion into library options, the
//! library call, and the rendering. `run` dispatches.

pub mod check;
pub mod fuzz;
pub mod keygen;
pub mod log;
pub mod manifest;
pub mod rules;
pub mod scan;
pub mod serve;
pub mod sign;
pub mod threats;
pub mod verify;

mod keys;

use crate::cli::{Cli, Command};
use anyhow::Result;
use modelsec::report::ExitStatus;

/// Run the command the user gave.
pub fn run(cli: Cli) -> Result<ExitStatus> {
    match cli.command {
        Command::Keygen(a) => keygen::run(a),
        Command::Sign(a) => sign::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Scan(a) => scan::run(a),
        Command::Check(a) => check::run(a),
        Command::Rules(a) => rules::run(a),
        Command::Threats(a) => threats::run(a),
        Command::Fuzz(a) => fuzz::run(a),
        Command::Manifest(a) => manifest::run(a),
        Command::Serve(a) => serve::serve(a),
        Command::Proxy(a) => serve::proxy(a),
        Command::Log(a) => log::run(a),
    }
}
