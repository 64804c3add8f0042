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
    /// Valid inputs to start from: .npz with one array per input name (each a whole input
    /// tensor; inputs missing from it are generated), .npy (the whole input of a single-input
    /// model, or rows of features), .csv or .jsonl (rows of features).
    #[arg(long, value_name = "FILE")]
    pub seeds: Option<PathBuf>,
    /// Size of a symbolic dimension, everywhere it appears (e.g. --dim height=320); repeatable.
    #[arg(long, value_name = "SYMBOL=N")]
    pub dim: Vec<modelsec::fuzz::DimBinding>,
    /// Every dimension of one input (e.g. --shape x=1x3x224x224); repeatable. Axis 0 still
    /// varies as a batch when every input has a dynamic axis 0.
    #[arg(long, value_name = "INPUT=AxBxC")]
    pub shape: Vec<modelsec::fuzz::ShapeSpec>,
    /// Value range for generated inputs and the attack's box: LO..HI (every input),
    /// NAME=LO..HI (one input), NAME[F]=LO..HI (one feature) or NAME=VALUE; negative bounds as
    /// in -1..1; integers inclusive. Repeatable, the most specific wins. Default: floats in
    /// [0, 1); integers from the graph's vocabulary, else 0..9.
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub range: Vec<modelsec::fuzz::ValueRange>,
    /// Seconds the probes and the attack may take together; probe sizes, sampled positions and
    /// the attack's rows and queries are scaled to it from the measured time of one valid run.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub budget_seconds: f64,
    /// Also write the results as JUnit XML (one test case per rule).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// RNG seed; the same seed gives the same report.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Robustness attack (L∞): square and simba need probabilities or class scores,
    /// hopskipjump only labels. Square works in image form on image inputs.
    #[arg(long, value_enum, default_value_t = AttackArg::Square)]
    pub attack: AttackArg,
    /// The input the attack perturbs (default: the first float input that is not recurrent
    /// state); the others are held at their seed values.
    #[arg(long, value_name = "NAME")]
    pub attack_input: Option<String>,
    /// L∞ radius of the attack, on the input's scale.
    #[arg(long, default_value_t = 0.1, value_name = "E")]
    pub epsilon: f32,
    /// Queries per attacked row, at most (fewer when --budget-seconds requires).
    #[arg(long, default_value_t = 1000, value_name = "QUERIES")]
    pub budget: usize,
    /// Rows to attack, at most (the first of --seeds, else sampled; images need --seeds).
    #[arg(long, default_value_t = 20)]
    pub rows: usize,
    /// Exit 1 when robust accuracy is below R (0..1), or unknown because nothing was attacked.
    #[arg(long, value_name = "R")]
    pub min_robust_accuracy: Option<f32>,
    /// Seconds the whole run may take before it is stopped as a hang (a single probe hangs
    /// after 30× the measured time of a valid run, at least 10 s). The model runs in a child
    /// process, so a crash of ONNX Runtime is a finding too.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Address-space cap for the process running the model, in MiB (0: none). An input that
    /// makes the runtime allocate past it fails instead of exhausting the host; such failures
    /// are reported as skipped probes, not as the model's defects.
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
        if !(self.budget_seconds.is_finite() && self.budget_seconds >= 1.0) {
            bail!(
                "--budget-seconds must be at least 1, not {}",
                self.budget_seconds
            );
        }
        Ok(fuzz::FuzzOptions {
            seeds: self.seeds.clone(),
            seed: self.seed,
            attack: self.attack.attack(),
            attack_input: self.attack_input.clone(),
            epsilon: self.epsilon,
            budget: self.budget.max(1),
            rows: self.rows,
            min_robust_accuracy: self.min_robust_accuracy,
            ranges: self.range.clone(),
            dims: self.dim.clone(),
            shapes: self.shape.clone(),
            budget_seconds: self.budget_seconds,
            memory_limit_mib: (self.memory_limit > 0).then_some(self.memory_limit),
            ..fuzz::FuzzOptions::new(self.model.clone())
        })
    }
}

pub fn run(a: FuzzArgs) -> Result<ExitStatus> {
    let opts = a.options()?;
    if let Some(control) = supervisor::worker_control() {
        // The worker: run the model, streaming events to the supervisor on stdout.
        return Ok(if supervisor::worker(&opts, &control) {
            ExitStatus::Clean
        } else {
            ExitStatus::Error
        });
    }
    let cmd = supervisor::Command {
        exe: std::env::current_exe()?,
        args: std::env::args_os().skip(1).collect(),
    };
    let report = supervisor::supervise(&cmd, &opts, Duration::from_secs(a.timeout))?;
    output::junit(a.junit.as_deref(), &report)?;
    output::report(&report, a.format)
}
