//! `modelsec fuzz`: an ONNX model's input contract and output sanity, then a robustness attack.
//! The model runs in a worker process (this executable again); see
//! [`modelsec::fuzz::supervisor`].

use crate::output;
use anyhow::{Result, bail};
use modelsec::fuzz::{self, attack::Attack, supervisor};
use modelsec::report::{ExitStatus, Format};
use std::path::PathBuf;
use std::time::Duration;

/// `--attack`: one of the attacks, or none.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AttackArg {
    /// Square Attack (score-based random search).
    Square,
    /// SimBA (score-based, one coordinate at a time).
    Simba,
    /// HopSkipJump (label-only: needs only the predicted label).
    Hopskipjump,
    /// Probes only.
    None,
}

impl AttackArg {
    fn attack(self) -> Option<Attack> {
        match self {
            AttackArg::Square => Some(Attack::Square),
            AttackArg::Simba => Some(Attack::Simba),
            AttackArg::Hopskipjump => Some(Attack::HopSkipJump),
            AttackArg::None => None,
        }
    }
}

/// Arguments of `modelsec fuzz`.
#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// The model (.onnx). It is scanned first and not run if the scan finds something.
    pub model: PathBuf,
    /// Rows to start from: .npy (float32/float64 [rows, features]), .csv or .jsonl.
    #[arg(long, value_name = "FILE")]
    pub seeds: Option<PathBuf>,
    /// Also write the results as JUnit XML (one test case per rule).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// RNG seed; the same seed gives the same report.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Robustness attack (L∞): square and simba need probabilities, hopskipjump only labels.
    #[arg(long, value_enum, default_value_t = AttackArg::Square)]
    pub attack: AttackArg,
    /// Value range for sampled inputs and the attack's box: LO..HI (every input),
    /// NAME=LO..HI (one input) or NAME[F]=LO..HI (one feature); repeatable, the most
    /// specific wins. Default: floats in [0, 1), integers in [0, 10).
    #[arg(long, value_name = "RANGE")]
    pub range: Vec<modelsec::fuzz::ValueRange>,
    /// L∞ radius of the attack.
    #[arg(long, default_value_t = 0.1, value_name = "E")]
    pub epsilon: f32,
    /// Queries per attacked row.
    #[arg(long, default_value_t = 1000, value_name = "QUERIES")]
    pub budget: usize,
    /// Rows to attack (the first of --seeds, else sampled).
    #[arg(long, default_value_t = 20)]
    pub rows: usize,
    /// Exit 1 when robust accuracy is below R (0..1).
    #[arg(long, value_name = "R")]
    pub min_robust_accuracy: Option<f32>,
    /// Seconds the whole run may take; a hang is then a finding (the model runs in a child
    /// process, so a crash of ONNX Runtime is a finding too).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Address-space cap for the process running the model, in MiB (0: none). An input that
    /// makes the runtime allocate past it fails (a finding) instead of exhausting the host.
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    pub memory_limit: u64,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

impl FuzzArgs {
    /// The library options these arguments ask for.
    fn options(&self) -> Result<fuzz::FuzzOptions> {
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            bail!(
                "--epsilon must be a finite number >= 0, not {}",
                self.epsilon
            );
        }
        if let Some(r) = self.min_robust_accuracy
            && !(0.0..=1.0).contains(&r)
        {
            bail!("--min-robust-accuracy must be between 0 and 1, not {r}");
        }
        Ok(fuzz::FuzzOptions {
            seeds: self.seeds.clone(),
            seed: self.seed,
            attack: self.attack.attack(),
            epsilon: self.epsilon,
            budget: self.budget.max(1),
            rows: self.rows,
            min_robust_accuracy: self.min_robust_accuracy,
            ranges: self.range.clone(),
            memory_limit_mib: (self.memory_limit > 0).then_some(self.memory_limit),
            ..fuzz::FuzzOptions::new(self.model.clone())
        })
    }
}

pub fn run(a: FuzzArgs) -> Result<ExitStatus> {
    let opts = a.options()?;
    if let Some(progress) = supervisor::worker_progress() {
        // The worker: run the model and hand the report back to the supervisor as JSON.
        let report = supervisor::worker(&opts, progress)?;
        return output::report(&report, Format::Json);
    }
    let cmd = supervisor::Command {
        exe: std::env::current_exe()?,
        args: std::env::args_os().skip(1).collect(),
    };
    let report = supervisor::supervise(&cmd, &opts, Duration::from_secs(a.timeout))?;
    output::junit(a.junit.as_deref(), &report)?;
    output::report(&report, a.format)
}
