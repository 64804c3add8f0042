//! `fuzz`: an ONNX model's inputs, through ONNX Runtime.
//!
//! The model file is scanned first (it is untrusted). Its input contract is read from the
//! model and completed from the command line (`--dim`, `--shape`, `--range`, `--seeds`) and the
//! graph ([`contract`], [`infer`]); symbols keep one size in every input. A first valid run is
//! found and timed ([`baseline`]): every later timeout, probe size and the attack's budget is
//! scaled from it, within `--budget-seconds`. The probes ([`probes`]) vary batch and
//! dimension sizes, put special values in float inputs, break the type/rank/name contract,
//! push integers across their range and vocabulary, and send edge-case strings; oracles that
//! know what each output means judge the answers ([`oracle`]). Then a robustness attack
//! ([`robustness`], [`attack`]) gives robust accuracy at ε. Every finding carries its
//! reproducer, minimised with proptest's shrinking ([`shrink`]) where there is one to minimise.
//! The model runs in a supervised worker process ([`supervisor`]) that streams its progress,
//! so a crash or hang of ONNX Runtime is a finding naming its probe and nothing found before
//! it is lost.

pub mod args;
pub mod attack;
mod baseline;
pub mod contract;
pub mod ctx;
pub mod infer;
mod inputs;
pub mod oracle;
mod probes;
mod robustness;
pub mod rules;
pub mod seeds;
pub mod shrink;
pub mod supervisor;

pub use args::{DimBinding, ShapeSpec, ValueRange};
pub use ctx::{Control, Events, Quiet};

use crate::onnx::{self, OnnxError};
use crate::report::{Finding, Location, Report};
use crate::rows::RowsError;
pub(crate) use crate::util::Rng;
use ctx::Ctx;
use std::path::PathBuf;
use std::time::Duration;

/// Errors that stop `fuzz` from running (exit 2). Model misbehaviour is a finding, not an error.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error(transparent)]
    Onnx(#[from] onnx::OnnxError),
    #[error(transparent)]
    Rows(#[from] RowsError),
    #[error(transparent)]
    Read(#[from] crate::util::fs::ReadError),
    #[error("`{path}` does not exist; check the path")]
    NoSuchModel { path: String },
    /// The command line and the model disagree about the input contract.
    #[error("{0}")]
    Contract(String),
    /// A seeds file cannot be used.
    #[error("{0}")]
    Seeds(String),
    /// No input modelsec could build ran: the contract needs describing.
    #[error("{0}")]
    NoValidInput(String),
    #[error("{0}")]
    Range(String),
}

/// What to fuzz and how.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    pub model: PathBuf,
    /// Valid inputs to start from: `.npz` (one array per input name), `.npy`, `.csv`, `.jsonl`.
    pub seeds: Option<PathBuf>,
    /// RNG seed: same seed, same report.
    pub seed: u64,
    /// Robustness attack (None: probes only).
    pub attack: Option<attack::Attack>,
    /// The input the attack perturbs (default: the first float input that is not state).
    pub attack_input: Option<String>,
    /// L∞ radius.
    pub epsilon: f32,
    /// Queries per row, at most.
    pub budget: usize,
    /// Rows to attack, at most.
    pub rows: usize,
    /// Fail (exit 1) when robust accuracy is below this.
    pub min_robust_accuracy: Option<f32>,
    /// Value ranges (`--range`).
    pub ranges: Vec<ValueRange>,
    /// Symbol sizes (`--dim`).
    pub dims: Vec<DimBinding>,
    /// Whole input shapes (`--shape`).
    pub shapes: Vec<ShapeSpec>,
    /// Seconds the probes and the attack may take together.
    pub budget_seconds: f64,
    /// The address-space cap the process runs under (set by the worker); with one, integer
    /// inputs are also probed at values that would allocate past it.
    pub memory_limit_mib: Option<u64>,
}

impl FuzzOptions {
    /// Probes plus a Square attack at ε = 0.1 with at most 1,000 queries on 20 rows, in 60 s.
    pub fn new(model: PathBuf) -> Self {
        FuzzOptions {
            model,
            seeds: None,
            seed: 0,
            attack: Some(attack::Attack::Square),
            attack_input: None,
            epsilon: 0.1,
            budget: 1000,
            rows: 20,
            min_robust_accuracy: None,
            ranges: vec![],
            dims: vec![],
            shapes: vec![],
            budget_seconds: 60.0,
            memory_limit_mib: None,
        }
    }
}

/// Run the probes and the attack, in this process.
pub fn fuzz(opts: &FuzzOptions) -> Result<Report, FuzzError> {
    fuzz_with(opts, &mut Quiet, &Control::default())
}

/// Run the probes and the attack, telling `events` as it goes; `control` says what a restarted
/// worker skips.
pub fn fuzz_with(
    opts: &FuzzOptions,
    events: &mut dyn Events,
    control: &Control,
) -> Result<Report, FuzzError> {
    let shown = opts.model.display().to_string();
    if !opts.model.is_file() {
        return Err(FuzzError::NoSuchModel { path: shown });
    }
    let mut report = Report::new("fuzz", rules::ALL);
    report.targets = vec![shown.clone()];
    let loc = Location::path(shown.clone());
    events.fact("seed", &opts.seed.into());
    report.fact("seed", opts.seed);

    // The model file is untrusted: the static scan (external data, operator domains) first.
    let bad = crate::scan::before_running(&opts.model);
    if !bad.is_empty() {
        let f = Finding::new(&rules::MODEL_UNSAFE, format!("not run: {}", bad.join("; "))).at(loc);
        events.finding(&f);
        report.push(f);
        report.finish();
        return Ok(report);
    }
    events.stage(
        "setup:load",
        "loading the model into ONNX Runtime",
        None,
        None,
    );
    let (model, lib) = onnx::open(&opts.model)?;
    let graph = onnx::graph::read(&opts.model);
    let specs = model.inputs.clone();
    let symbols = model.symbols.clone();
    let seeds = match &opts.seeds {
        Some(p) => seeds::read(p, &specs)?,
        None => seeds::Seeds::default(),
    };
    let c = contract::Contract::resolve(
        &specs,
        &symbols,
        &opts.dims,
        &opts.shapes,
        &opts.ranges,
        &seeds,
        graph.as_ref().ok(),
    )?;
    let budget = Duration::from_secs_f64(opts.budget_seconds.max(1.0));
    let mut ctx = Ctx::new(model, report, events, loc, opts.seed, budget, control);
    ctx.fact(
        "onnxruntime",
        format!("{} ({})", lib.path.display(), lib.how),
    );
    ctx.fact("inputs", serde_json::to_value(&specs).unwrap_or_default());
    ctx.fact("input_contract", c.describe());
    if let Err(e) = &graph {
        ctx.fact("graph", format!("not read ({e}); planning without it"));
    }
    if !c.notes.is_empty() {
        ctx.fact("inferred", c.notes.clone());
    }
    if !c.sources.is_empty() {
        let sizes: serde_json::Map<String, serde_json::Value> = c
            .sources
            .iter()
            .map(|(k, why)| (k.clone(), format!("{} ({why})", c.sizes[k]).into()))
            .collect();
        ctx.fact("dimensions", sizes);
    }
    ctx.fact(
        "seeded_inputs",
        seeds
            .tensors
            .iter()
            .map(|(n, _)| n.clone())
            .collect::<Vec<_>>(),
    );
    // Samples in the seeds: the leading dimension of the (first) seed tensor.
    let seed_rows = seeds
        .tensors
        .first()
        .map_or(0, |(_, d)| d.shape().first().map_or(1, |&n| n.max(0)));
    ctx.fact("seed_rows", seed_rows);
    if !opts.ranges.is_empty() {
        ctx.fact(
            "ranges",
            opts.ranges
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
        );
    }
    ctx.fact("budget_seconds", opts.budget_seconds);

    let make = inputs::Gen {
        contract: &c,
        ranges: &opts.ranges,
    };
    let user_fixed_batch = c.batch.as_ref().is_some_and(|b| c.sizes.contains_key(b));
    let base = baseline::find(&mut ctx, &make, user_fixed_batch)?;
    let roles = oracle::Roles::recognise(
        graph.as_ref().ok(),
        &ctx.model.outputs(),
        &ctx.model.output_symbols(),
        c.batch.as_deref(),
        &specs,
        &base.out,
    );
    ctx.fact("outputs", roles.describe());
    baseline::time_and_repeat(&mut ctx, &c, &base);
    // A batch nobody named, found tied by running the model.
    let (c, base) = match baseline::tie(&mut ctx, &c, &base) {
        Some(members) => {
            let tied = c.with_batch(&members);
            let mut base = base;
            if let Some(b) = &tied.batch {
                base.sizes
                    .insert(b.clone(), base.data[members[0].0].1.shape()[members[0].1]);
                base.sizes.retain(|k, _| {
                    !k.ends_with(']') || tied.inputs.iter().any(|p| p.axis_of(k).is_some())
                });
            }
            ctx.fact("inferred", tied.notes.clone());
            ctx.fact("input_contract", tied.describe());
            (tied, base)
        }
        None => (c, base),
    };
    let make = inputs::Gen {
        contract: &c,
        ranges: &opts.ranges,
    };
    baseline::check(&mut ctx, &make, &roles, &base);

    // The probes get 40 % of what is left when an attack follows, else all of it.
    let share = if opts.attack.is_some() && roles.classifier() {
        0.4
    } else {
        1.0
    };
    ctx.probe_deadline = std::time::Instant::now() + Duration::from_secs_f64(ctx.left() * share);
    let plan = probes::Plan {
        contract: &c,
        make,
        roles: &roles,
        base: &base,
        opts,
    };
    probes::run_all(&mut ctx, &plan);
    ctx.fact("probes", ctx.runs);
    ctx.report_over_budget(opts.budget_seconds);
    ctx.probe_deadline = ctx.deadline;
    if let Some(kind) = opts.attack {
        robustness::run(&mut ctx, &c, &roles, &base, kind, opts);
        ctx.report_over_budget(opts.budget_seconds);
    }
    let seconds = ctx.run_time.as_secs_f64();
    ctx.fact("inferences", ctx.runs);
    ctx.fact("inference_seconds", (seconds * 1000.0).round() / 1000.0);
    ctx.fact(
        "seconds",
        (ctx.started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
    );
    let mut report = ctx.report;
    report.finish();
    Ok(report)
}

/// Queries per second through the attacks' query path (one row in, class scores out), for
/// `bench/fuzz.sh`: `n` queries cycling over `rows`, on a model with one float `[N, F]` input.
pub fn oracle_throughput(
    model_path: &std::path::Path,
    rows: &[Vec<f32>],
    n: usize,
) -> Result<f64, FuzzError> {
    let (mut model, _) = onnx::open(model_path)?;
    let features = rows.first().map(Vec::len).unwrap_or(0);
    let name = model
        .inputs
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let data = vec![(
        name,
        onnx::Data::F32(
            vec![1, features as i64],
            rows.first().cloned().unwrap_or_default(),
        ),
    )];
    let err = |message: String| {
        FuzzError::Onnx(OnnxError::Model {
            path: model_path.display().to_string(),
            message,
        })
    };
    let out = model.run(&data).map_err(err)?;
    let roles = oracle::Roles::recognise(
        None,
        &model.outputs(),
        &model.output_symbols(),
        None,
        &model.inputs,
        &out,
    );
    let scores = roles
        .scores()
        .ok_or_else(|| err("no probabilities output".into()))?
        .name
        .clone();
    let wanted: Vec<usize> = model
        .session
        .outputs()
        .iter()
        .position(|o| o.name() == scores)
        .into_iter()
        .collect();
    let mut prepared = onnx::session::Prepared::new(&model, &data).map_err(err)?;
    let at: Vec<usize> = (0..features).collect();
    let started = std::time::Instant::now();
    let mut sink = 0f32;
    for i in 0..n {
        prepared.write(0, &at, &rows[i % rows.len()]).map_err(err)?;
        let o = prepared.run(&mut model, &wanted).map_err(err)?;
        if let Some(p) = oracle::scores_row(&roles, &o, 1, 0) {
            sink += p[0];
        }
    }
    std::hint::black_box(sink);
    Ok(n as f64 / started.elapsed().as_secs_f64())
}
