//! `fuzz`: an ONNX model's inputs, through ONNX Runtime.
//!
//! The model file is scanned first (it is untrusted), its input contract is read from the
//! model, then probes run it on batch sizes 0/1/large, every dynamic dimension at 0/1/large,
//! special values per feature (NaN, ±Inf, ±f32::MAX, −0, subnormal), wrong dtype/rank/name,
//! integer extremes and large integer values (past the memory cap, when there is one); oracles
//! check outputs for non-finite values, invalid probabilities, label ≠ argmax, silently accepted
//! NaN, determinism and batch invariance. Then a robustness attack ([`attack`]) gives robust
//! accuracy at ε. Every finding carries its reproducer (the input, the output, the seed), the
//! input minimised with proptest's shrinking ([`shrink`]) where there is one to minimise.

pub mod attack;
pub mod rules;
pub mod shrink;
pub mod supervisor;

use crate::onnx::{self, Data, Elem, InputSpec, Model, Outputs, json_row, row_features};
use crate::report::{Finding, Location, Report, Severity};
use crate::rows::RowsError;
use crate::util::Rng;
use onnx::OnnxError;
use ort::value::Tensor;
use std::path::{Path, PathBuf};

/// Errors that stop `fuzz` from running (exit 2). Model misbehaviour is a finding, not an error.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error(transparent)]
    Onnx(#[from] onnx::OnnxError),
    #[error(transparent)]
    Rows(#[from] RowsError),
    #[error("`{path}` does not exist; check the path")]
    NoSuchModel { path: String },
    #[error("{0}")]
    Range(String),
}

/// What to fuzz and how.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    pub model: PathBuf,
    /// Rows to start from (`.npy`, `.csv`, `.jsonl`); without, values are sampled from the
    /// `ranges` (default floats in [0, 1), integers in [0, 10)).
    pub seeds: Option<PathBuf>,
    /// RNG seed: same seed, same report.
    pub seed: u64,
    /// Robustness attack (None: probes only).
    pub attack: Option<attack::Attack>,
    /// L∞ radius.
    pub epsilon: f32,
    /// Queries per row.
    pub budget: usize,
    /// Rows to attack (from the seeds, else sampled).
    pub rows: usize,
    /// Fail (exit 1) when robust accuracy is below this.
    pub min_robust_accuracy: Option<f32>,
    /// Value ranges for sampling inputs and bounding the attacks (`--range`).
    pub ranges: Vec<ValueRange>,
    /// The address-space cap the process runs under (set by the caller, e.g. the `fuzz`
    /// worker); with one, integer inputs are also probed at values that would allocate past it.
    pub memory_limit_mib: Option<u64>,
    /// A file the current probe's name is written to before it runs, so a supervising process
    /// can say which probe crashed or hung the runtime.
    pub progress: Option<PathBuf>,
}

/// Where values are drawn from when there are no seed rows, and the box the attacks stay in:
/// `LO..HI` for every input, `NAME=LO..HI` for one input, `NAME[F]=LO..HI` for one feature
/// (index into the input's last dimension).
#[derive(Clone, Debug, PartialEq)]
pub struct ValueRange {
    pub input: Option<String>,
    pub feature: Option<usize>,
    pub lo: f32,
    pub hi: f32,
}

impl std::str::FromStr for ValueRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage =
            "expected LO..HI, NAME=LO..HI or NAME[F]=LO..HI (e.g. 0..16, X=0..1, X[3]=-1..1)";
        let (target, span) = match text.rsplit_once('=') {
            Some((t, r)) => (Some(t.trim()), r.trim()),
            None => (None, text.trim()),
        };
        let (lo, hi) = span
            .split_once("..")
            .ok_or_else(|| format!("`{text}`: no `..` between the bounds; {usage}"))?;
        let num = |v: &str| {
            v.trim()
                .parse::<f32>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("`{text}`: `{}` is not a finite number; {usage}", v.trim()))
        };
        let (lo, hi) = (num(lo)?, num(hi)?);
        if lo >= hi {
            return Err(format!(
                "`{text}`: the low bound must be below the high bound"
            ));
        }
        let (input, feature) = match target {
            None => (None, None),
            Some(t) => match t.strip_suffix(']').and_then(|t| t.split_once('[')) {
                Some((name, f)) => {
                    let f = f.trim().parse::<usize>().map_err(|_| {
                        format!("`{text}`: `[{f}]` is not a feature index; {usage}")
                    })?;
                    (Some(name.trim().to_string()), Some(f))
                }
                None if t.contains(['[', ']']) => {
                    return Err(format!("`{text}`: unbalanced `[`/`]`; {usage}"));
                }
                None => (Some(t.to_string()), None),
            },
        };
        if input.as_deref() == Some("") {
            return Err(format!("`{text}`: empty input name; {usage}"));
        }
        Ok(ValueRange {
            input,
            feature,
            lo,
            hi,
        })
    }
}

/// The range for `input`'s feature `feature`: the most specific `--range` that matches, else
/// `default`.
fn range_for(
    ranges: &[ValueRange],
    input: &str,
    feature: usize,
    default: (f32, f32),
) -> (f32, f32) {
    let matches = |r: &&ValueRange| {
        r.input.as_deref().is_none_or(|n| n == input) && r.feature.is_none_or(|f| f == feature)
    };
    ranges
        .iter()
        .filter(matches)
        .max_by_key(|r| (r.input.is_some() as u8) + 2 * (r.feature.is_some() as u8))
        .map(|r| (r.lo, r.hi))
        .unwrap_or(default)
}

impl FuzzOptions {
    /// Probes plus a Square attack at ε = 0.1 with 1,000 queries on 20 rows.
    pub fn new(model: PathBuf) -> Self {
        FuzzOptions {
            model,
            seeds: None,
            seed: 0,
            attack: Some(attack::Attack::Square),
            epsilon: 0.1,
            budget: 1000,
            rows: 20,
            min_robust_accuracy: None,
            ranges: vec![],
            memory_limit_mib: None,
            progress: None,
        }
    }
}

/// One-row queries for the attacks, on the hot path: one input tensor allocated once and
/// overwritten per query, inputs passed by position, only the probabilities output read.
struct ModelOracle<'a> {
    model: &'a mut Model,
    input: RowTensor,
    probs_index: Option<usize>,
    label_index: Option<usize>,
    queries: usize,
}

enum RowTensor {
    F32(Tensor<f32>),
    F64(Tensor<f64>),
}

impl<'a> ModelOracle<'a> {
    /// For a model with one float [N, F] input; `sample` is one of its runs, which tells which
    /// output holds the probabilities and which the label (at least one must exist).
    fn new(model: &'a mut Model, features: usize, f64: bool, sample: &Outputs) -> Option<Self> {
        let index = |name: &str| {
            model
                .session
                .outputs()
                .iter()
                .position(|o| o.name() == name)
        };
        let probs_index = sample.probabilities().and_then(|p| index(&p.0));
        let label_index = sample.label().and_then(|l| index(&l.0));
        if probs_index.is_none() && label_index.is_none() {
            return None;
        }
        let shape = vec![1i64, features as i64];
        let input = if f64 {
            RowTensor::F64(Tensor::from_array((shape, vec![0f64; features])).ok()?)
        } else {
            RowTensor::F32(Tensor::from_array((shape, vec![0f32; features])).ok()?)
        };
        Some(ModelOracle {
            model,
            input,
            probs_index,
            label_index,
            queries: 0,
        })
    }

    /// Run one row; the outputs are read by the caller.
    fn run_row(&mut self, row: &[f32]) -> Option<ort::session::SessionOutputs<'_>> {
        self.queries += 1;
        let value: ort::session::SessionInputValue<'_> = match &mut self.input {
            RowTensor::F32(t) => {
                t.try_extract_tensor_mut::<f32>()
                    .ok()?
                    .1
                    .copy_from_slice(row);
                (&*t).into()
            }
            RowTensor::F64(t) => {
                for (d, &v) in t
                    .try_extract_tensor_mut::<f64>()
                    .ok()?
                    .1
                    .iter_mut()
                    .zip(row)
                {
                    *d = v as f64;
                }
                (&*t).into()
            }
        };
        self.model.session.run([value]).ok()
    }
}

impl attack::Oracle for ModelOracle<'_> {
    fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>> {
        let index = self.probs_index?;
        let out = self.run_row(row)?;
        let (_, p) = out[index].try_extract_tensor::<f32>().ok()?;
        p.iter().all(|v| v.is_finite()).then(|| p.to_vec())
    }

    fn label(&mut self, row: &[f32]) -> Option<usize> {
        let Some(index) = self.label_index else {
            return self.probs(row).and_then(|p| argmax(&p));
        };
        let out = self.run_row(row)?;
        let (_, l) = out[index].try_extract_tensor::<i64>().ok()?;
        l.first().and_then(|&l| usize::try_from(l).ok())
    }
}

const LARGE_BATCH: i64 = 4096;
const LARGE_DIM: i64 = 256;
/// Large value given to an integer input (bounded so a Range-style model allocates ~76 MiB).
const LARGE_INT: i64 = 10_000_000;
/// At least this value is tried under a memory cap (×8 bytes: far past any cap).
const HUGE_INT: i64 = 1_000_000_000_000;

/// The probe plan's view of one input at a given batch size.
struct Plan<'a> {
    specs: &'a [InputSpec],
    rows: Vec<Vec<f32>>,
    ranges: &'a [ValueRange],
    rng: Rng,
}

impl Plan<'_> {
    /// Concrete dims: the first dim (when dynamic) is the batch, other dynamic dims `other`.
    fn dims(spec: &InputSpec, batch: i64, other: i64) -> Vec<i64> {
        spec.dims
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if d >= 0 {
                    d
                } else if i == 0 {
                    batch
                } else {
                    other
                }
            })
            .collect()
    }

    /// Well-formed values: seed rows (cycled) for a float [N, F] input whose F matches, else
    /// values drawn from the `--range`s (default: floats in [0, 1), integers in [0, 10)).
    fn data(&mut self, spec: &InputSpec, dims: Vec<i64>) -> Data {
        let n: usize = dims.iter().map(|&d| d.max(0) as usize).product();
        let feat = dims.last().copied().unwrap_or(1).max(1) as usize;
        let seeded = !self.rows.is_empty() && self.rows[0].len() == feat && dims.len() == 2;
        let int = spec.elem.is_some_and(|e| !e.is_float());
        let default = match spec.elem {
            Some(Elem::Bool) => (0.0, 2.0),
            _ if int => (0.0, 10.0),
            _ => (0.0, 1.0),
        };
        let bounds: Vec<(f32, f32)> = (0..feat)
            .map(|f| range_for(self.ranges, &spec.name, f, default))
            .collect();
        let floats: Vec<f32> = (0..n)
            .map(|i| {
                if seeded {
                    self.rows[(i / feat) % self.rows.len()][i % feat]
                } else {
                    let (lo, hi) = bounds[i % feat];
                    lo + self.rng.unit() * (hi - lo)
                }
            })
            .collect();
        match spec.elem {
            Some(Elem::F64) => Data::F64(dims, floats.iter().map(|&v| v as f64).collect()),
            Some(e) if !e.is_float() => {
                let (lo, hi) = e.int_range();
                let ints = floats.iter().map(|&v| (v.floor() as i64).clamp(lo, hi));
                Data::Int(e, dims, ints.collect())
            }
            _ => Data::F32(dims, floats),
        }
    }

    fn all(&mut self, batch: i64, other: i64) -> Vec<(String, Data)> {
        let specs = self.specs;
        specs
            .iter()
            .map(|s| (s.name.clone(), self.data(s, Self::dims(s, batch, other))))
            .collect()
    }
}

/// A reproducer for a probe that is about its inputs' shapes and types: each input's dtype and
/// shape, its values when they are few, and the seed that drew them.
fn input_reproducer(
    data: &[(String, Data)],
    seed: u64,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut inputs = serde_json::Map::new();
    for (name, d) in data {
        let mut v = serde_json::json!({ "dtype": d.dtype(), "shape": d.shape() });
        let values = d.floats();
        if values.len() <= 64 {
            v["values"] = json_row(&values);
        }
        inputs.insert(name.clone(), v);
    }
    let mut r = serde_json::json!({ "input": inputs, "seed": seed });
    if let (Some(r), serde_json::Value::Object(extra)) = (r.as_object_mut(), extra) {
        r.extend(extra);
    }
    r
}

/// Record the probe about to run (see [`FuzzOptions::progress`]).
fn stage(opts: &FuzzOptions, name: &str) {
    if let Some(p) = &opts.progress {
        let _ = std::fs::write(p, name);
    }
}

/// Run the probe suite and return the report.
pub fn fuzz(opts: &FuzzOptions) -> Result<Report, FuzzError> {
    let shown = opts.model.display().to_string();
    if !opts.model.is_file() {
        return Err(FuzzError::NoSuchModel { path: shown });
    }
    let mut report = Report::new("fuzz", rules::ALL);
    report.targets = vec![shown.clone()];
    report.fact("seed", opts.seed);
    let loc = || Location::path(shown.clone());

    // The model file is untrusted: the static scan (external data, operator domains) first.
    let bad = crate::scan::before_running(&opts.model);
    if !bad.is_empty() {
        report.push(
            Finding::new(&rules::MODEL_UNSAFE, format!("not run: {}", bad.join("; "))).at(loc()),
        );
        report.finish();
        return Ok(report);
    }

    stage(opts, "loading the model into ONNX Runtime");
    let (mut model, lib) = onnx::open(&opts.model)?;
    report.fact(
        "onnxruntime",
        format!("{} ({})", lib.path.display(), lib.how),
    );
    report.fact(
        "inputs",
        serde_json::to_value(&model.inputs).unwrap_or_default(),
    );
    let rows = match &opts.seeds {
        Some(p) => crate::rows::read_rows(p)?,
        None => vec![],
    };
    report.fact("seed_rows", rows.len());
    let specs = model.inputs.clone();
    for s in specs.iter().filter(|s| s.elem.is_none()) {
        report.push(
            Finding::new(
                &rules::NOT_PROBED,
                format!("input `{}` is {}; not probed", s.name, s.dtype),
            )
            .at(loc()),
        );
    }
    if specs.iter().any(|s| s.elem.is_none()) {
        report.fact("probes", 0);
        report.finish();
        return Ok(report);
    }
    for r in &opts.ranges {
        let known = r
            .input
            .as_deref()
            .is_none_or(|n| specs.iter().any(|s| s.name == n));
        let width = specs
            .iter()
            .find(|s| Some(&s.name) == r.input.as_ref())
            .and_then(|s| s.dims.last().copied())
            .filter(|&w| w > 0);
        if let (Some(f), Some(w)) = (r.feature, width)
            && f as i64 >= w
        {
            return Err(FuzzError::Range(format!(
                "--range names feature {f} of input `{}`, which has {w} (0..{})",
                r.input.as_deref().unwrap_or(""),
                w - 1
            )));
        }
        if !known {
            let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(FuzzError::Range(format!(
                "--range names input `{}`, but the model's inputs are: {}",
                r.input.as_deref().unwrap_or(""),
                names.join(", ")
            )));
        }
    }
    if !opts.ranges.is_empty() {
        let shown: Vec<String> = opts
            .ranges
            .iter()
            .map(|r| {
                let target = match (&r.input, r.feature) {
                    (Some(n), Some(f)) => format!("{n}[{f}]="),
                    (Some(n), None) => format!("{n}="),
                    _ => String::new(),
                };
                format!("{target}{}..{}", r.lo, r.hi)
            })
            .collect();
        report.fact("ranges", shown);
    }
    let mut plan = Plan {
        specs: &specs,
        rows,
        ranges: &opts.ranges,
        rng: Rng::new(opts.seed),
    };
    let mut runs = 0usize;
    let mut run = |model: &mut Model, d: &[(String, Data)]| {
        runs += 1;
        model.run(d)
    };

    // 1. Baseline: a well-formed batch must work.
    let batch_dynamic = specs.iter().any(|s| s.dims.first() == Some(&-1));
    let base_n: i64 = if batch_dynamic { 8 } else { 1 };
    let base = plan.all(base_n, 1);
    stage(opts, &format!("a well-formed batch of {base_n} rows"));
    let base_out = match run(&mut model, &base) {
        Ok(o) => o,
        Err(e) => {
            report.push(
                Finding::new(
                    &rules::BASELINE_FAILS,
                    format!("a well-formed batch of {base_n} fails: {e}"),
                )
                .at(loc())
                .with_reproducer(input_reproducer(
                    &base,
                    opts.seed,
                    serde_json::json!({ "error": first_line(&e) }),
                )),
            );
            report.fact("probes", runs);
            report.finish();
            return Ok(report);
        }
    };
    check_outputs(
        &mut report,
        &base,
        &base_out,
        "well-formed rows",
        Severity::High,
        opts.seed,
        &loc,
    );

    // 2. Determinism and batch invariance.
    if let Ok(again) = run(&mut model, &base)
        && again != base_out
    {
        report.push(
            Finding::new(
                &rules::NONDETERMINISTIC,
                format!(
                    "the same {base_n} rows gave different outputs on a second run (seed {})",
                    opts.seed
                ),
            )
            .at(loc())
            .with_reproducer(input_reproducer(
                &base,
                opts.seed,
                serde_json::json!({ "output": base_out.row_json(0), "output_again": again.row_json(0) }),
            )),
        );
    }
    if batch_dynamic && base_n > 1 {
        for row in 0..base_n.min(4) as usize {
            let single: Vec<(String, Data)> = base
                .iter()
                .map(|(n, d)| (n.clone(), slice_row(d, row)))
                .collect();
            if let Ok(alone) = run(&mut model, &single)
                && let Some(diff) = row_difference(&base_out, &alone, row)
            {
                report.push(
                    Finding::new(
                        &rules::BATCH_VARIANCE,
                        format!(
                            "row {row} alone differs from the same row inside a batch of {base_n} by {diff:e} (seed {})",
                            opts.seed
                        ),
                    )
                    .at(loc())
                    .with_reproducer(input_reproducer(
                        &single,
                        opts.seed,
                        serde_json::json!({
                            "batch": base_n,
                            "row": row,
                            "output_alone": alone.row_json(0),
                            "output_in_batch": base_out.row_json(row),
                        }),
                    )),
                );
                break;
            }
        }
    }

    // 3. Batch sizes and dynamic dims.
    if batch_dynamic {
        stage(opts, "an empty batch");
        let empty = plan.all(0, 1);
        if let Err(e) = run(&mut model, &empty) {
            report.push(
                Finding::new(
                    &rules::EMPTY_BATCH_FAILS,
                    format!("a batch of 0 rows fails: {}", first_line(&e)),
                )
                .at(loc())
                .with_reproducer(input_reproducer(
                    &empty,
                    opts.seed,
                    serde_json::json!({ "error": first_line(&e) }),
                )),
            );
        }
        stage(opts, "a batch of 4096 rows");
        let large = plan.all(LARGE_BATCH, 1);
        match run(&mut model, &large) {
            Err(e) => report.push(
                Finding::new(
                    &rules::LARGE_BATCH_FAILS,
                    format!("a batch of {LARGE_BATCH} rows fails: {}", first_line(&e)),
                )
                .at(loc())
                .with_reproducer(input_reproducer(
                    &large,
                    opts.seed,
                    serde_json::json!({ "error": first_line(&e) }),
                )),
            ),
            Ok(o) => {
                check_outputs(
                    &mut report,
                    &large,
                    &o,
                    "a large batch",
                    Severity::High,
                    opts.seed,
                    &loc,
                );
            }
        }
    }
    let other_dynamic = specs.iter().any(|s| s.dims.iter().skip(1).any(|&d| d < 0));
    if other_dynamic {
        for other in [0, LARGE_DIM] {
            stage(opts, &format!("a non-batch dynamic dimension of {other}"));
            let d = plan.all(1, other);
            if let Err(e) = run(&mut model, &d) {
                let f = if other == 0 {
                    &rules::EMPTY_BATCH_FAILS
                } else {
                    &rules::LARGE_BATCH_FAILS
                };
                report.push(
                    Finding::new(
                        f,
                        format!(
                            "a non-batch dynamic dimension of {other} fails: {}",
                            first_line(&e)
                        ),
                    )
                    .at(loc())
                    .with_reproducer(input_reproducer(
                        &d,
                        opts.seed,
                        serde_json::json!({ "error": first_line(&e) }),
                    )),
                );
            }
        }
    }

    // 4. Special values, one feature at a time, on float inputs.
    let specials: [(&str, f32); 8] = [
        ("NaN", f32::NAN),
        ("+Inf", f32::INFINITY),
        ("-Inf", f32::NEG_INFINITY),
        ("f32::MAX", f32::MAX),
        ("-f32::MAX", -f32::MAX),
        ("-0.0", -0.0),
        ("subnormal 1e-45", 1e-45),
        ("1e30", 1e30),
    ];
    for (ii, spec) in specs.iter().enumerate() {
        if !spec.elem.is_some_and(Elem::is_float) {
            continue;
        }
        let row_dims = Plan::dims(spec, 1, 1);
        let features: usize = row_dims
            .iter()
            .skip(1)
            .map(|&d| d.max(1) as usize)
            .product::<usize>()
            .max(1);
        let per_row = row_dims.first().is_some_and(|&d| d == 1) && !batch_dynamic;
        for (label, value) in specials {
            let mut reported = false;
            // With a dynamic batch: one run, row f has feature f set. Otherwise row by row.
            let batches: Vec<Vec<usize>> = if per_row {
                (0..features).map(|f| vec![f]).collect()
            } else {
                vec![(0..features).collect()]
            };
            for feats in batches {
                let n = feats.len() as i64;
                stage(
                    opts,
                    &format!("input `{}` with {label} in a feature", spec.name),
                );
                let mut data = plan.all(n, 1);
                set_feature(&mut data[ii].1, &feats, features, value);
                let out = match run(&mut model, &data) {
                    Ok(o) => o,
                    Err(_) => continue, // a clean rejection is the right answer
                };
                if reported {
                    continue;
                }
                let Some((finding, r)) = judge_special(&out, spec, label, value, &feats, opts.seed)
                else {
                    continue;
                };
                reported = true;
                // Minimise the row around the special value (it stays; the rest goes toward 0)
                // and report the smallest input that still shows the defect, with its output.
                let start_row = slice_row(&data[ii].1, r).floats();
                let one_row =
                    specs.len() == 1 && spec.dims.len() == 2 && matches!(spec.dims[0], -1 | 1);
                let mut finding = finding;
                let mut input = start_row.clone();
                let mut output = out.row_json(r);
                if one_row {
                    stage(
                        opts,
                        &format!(
                            "minimising input `{}` with {label} in feature {}",
                            spec.name, feats[r]
                        ),
                    );
                    let as_data = |row: &[f32]| {
                        let shape = vec![1, row.len() as i64];
                        match spec.elem {
                            Some(Elem::F64) => {
                                Data::F64(shape, row.iter().map(|&v| v as f64).collect())
                            }
                            _ => Data::F32(shape, row.to_vec()),
                        }
                    };
                    let rule = finding.rule_id.clone();
                    let fixed = [feats[r]];
                    let minimised =
                        shrink::minimise(&vec![0.0; start_row.len()], &start_row, &fixed, |cand| {
                            let Ok(o) = run(&mut model, &[(spec.name.clone(), as_data(cand))])
                            else {
                                return false;
                            };
                            judge_special(&o, spec, label, value, &fixed, opts.seed)
                                .is_some_and(|(f, _)| f.rule_id == rule)
                        });
                    if let Some(m) = minimised
                        && let Ok(o) = run(&mut model, &[(spec.name.clone(), as_data(&m.input))])
                        && let Some((f, _)) =
                            judge_special(&o, spec, label, value, &fixed, opts.seed)
                        && f.rule_id == rule
                    {
                        finding = f;
                        input = m.input;
                        output = o.row_json(0);
                    }
                }
                let changed = input
                    .iter()
                    .enumerate()
                    .filter(|(f, v)| *f != feats[r] && **v != 0.0)
                    .count();
                report.push(finding.at(loc()).with_reproducer(serde_json::json!({
                    "input": { spec.name.clone(): json_row(&input) },
                    "output": output,
                    "seed": opts.seed,
                    "other_nonzero_features": changed,
                })));
            }
        }
    }

    // 5. Contract: wrong dtype, rank and name must be rejected.
    let spec0 = &specs[0];
    stage(opts, "wrong element type, rank and input name");
    let mut wrong = plan.all(base_n, 1);
    let swapped = match &wrong[0].1 {
        Data::F32(s, v) => Data::F64(s.clone(), v.iter().map(|&x| x as f64).collect()),
        Data::F64(s, v) => Data::F32(s.clone(), v.iter().map(|&x| x as f32).collect()),
        Data::Int(Elem::I64, s, v) => Data::Int(Elem::I32, s.clone(), v.clone()),
        Data::Int(_, s, v) => Data::Int(Elem::I64, s.clone(), v.clone()),
        Data::Str(s, v) => Data::F32(s.clone(), vec![0.0; v.len()]),
    };
    wrong[0].1 = swapped;
    if run(&mut model, &wrong).is_ok() {
        report.push(
            Finding::new(
                &rules::CONTRACT_NOT_ENFORCED,
                format!(
                    "input `{}` accepted a tensor of the wrong element type",
                    spec0.name
                ),
            )
            .at(loc())
            .with_reproducer(input_reproducer(
                &wrong,
                opts.seed,
                serde_json::json!({}),
            )),
        );
    }
    if !spec0.dims.is_empty() {
        let mut rank = plan.all(base_n, 1);
        let shape = rank[0].1.shape();
        let len: usize = shape.iter().map(|&d| d.max(0) as usize).product();
        let flat = rank[0]
            .1
            .part(vec![shape.iter().product::<i64>().max(1)], 0..len);
        if spec0.dims.len() > 1 {
            rank[0].1 = flat;
            if run(&mut model, &rank).is_ok() {
                report.push(
                    Finding::new(
                        &rules::CONTRACT_NOT_ENFORCED,
                        format!(
                            "input `{}` accepted a tensor of rank 1 (declared rank {})",
                            spec0.name,
                            spec0.dims.len()
                        ),
                    )
                    .at(loc())
                    .with_reproducer(input_reproducer(
                        &rank,
                        opts.seed,
                        serde_json::json!({}),
                    )),
                );
            }
        }
    }
    let mut named = plan.all(base_n, 1);
    named[0].0 = "__modelsec_no_such_input__".into();
    if run(&mut model, &named).is_ok() {
        report.push(
            Finding::new(
                &rules::CONTRACT_NOT_ENFORCED,
                "an input with an undeclared name was accepted",
            )
            .at(loc())
            .with_reproducer(input_reproducer(
                &named,
                opts.seed,
                serde_json::json!({}),
            )),
        );
    }

    // 6. Integer inputs that drive allocation: does the output grow with the value? Under a
    // memory cap, also a value whose allocation would pass the cap: a clean failure there is
    // the runtime refusing what an attacker asked for; a crash is a finding of its own.
    if let Some(mib) = opts.memory_limit_mib {
        report.fact("memory_limit_mib", mib);
    }
    for (ii, spec) in specs.iter().enumerate() {
        let Some(elem) = spec.elem.filter(|e| !e.is_float() && *e != Elem::Bool) else {
            continue;
        };
        // Extremes of the type (negative indices, MIN, and MAX under a memory cap): a clean
        // rejection is fine; garbage out or a crash is not.
        let (min, max) = elem.int_range();
        let mut extremes = vec![];
        if min < 0 {
            extremes.extend([-1, min]);
        }
        if opts.memory_limit_mib.is_some() || max <= LARGE_INT {
            extremes.push(max);
        }
        for v in extremes {
            stage(opts, &format!("integer input `{}` = {v}", spec.name));
            let mut d = plan.all(1, 1);
            fill_int(&mut d[ii].1, v);
            if let Ok(o) = run(&mut model, &d) {
                check_outputs(
                    &mut report,
                    &d,
                    &o,
                    &format!("input `{}` = {v}", spec.name),
                    Severity::Medium,
                    opts.seed,
                    &loc,
                );
            }
        }
        if max < LARGE_INT {
            continue; // too narrow a type to ask for much memory
        }
        let mut sizes = Vec::new();
        for v in [1_000i64, LARGE_INT] {
            stage(opts, &format!("integer input `{}` = {v}", spec.name));
            let mut d = plan.all(1, 1);
            fill_int(&mut d[ii].1, v);
            let started = std::time::Instant::now();
            if let Ok(o) = run(&mut model, &d) {
                sizes.push((v, o.elements(), started.elapsed()));
            }
        }
        let in_bytes: usize = {
            let d = &plan.all(1, 1)[ii].1;
            d.floats().len() * d.element_bytes()
        };
        let grows = match sizes[..] {
            [(small_v, small_n, _), (big_v, big_n, took)]
                if big_n >= 1_000_000 && big_n >= small_n * ((big_v / small_v) as usize) / 2 =>
            {
                Some(format!(
                    "input `{}` = {big_v} makes the model return {big_n} elements ({:.0} MiB, {:.2} s) from {in_bytes} input bytes; output grows with the value ({small_v} gave {small_n})",
                    spec.name,
                    (big_n * 8) as f64 / 1048576.0,
                    took.as_secs_f64()
                ))
            }
            _ => None,
        };
        let mut refused = None;
        if let (Some(mib), Some(_)) = (opts.memory_limit_mib, &grows) {
            let huge = (mib as i64)
                .saturating_mul(1 << 20)
                .saturating_mul(4)
                .max(HUGE_INT);
            let huge = huge.min(max);
            stage(
                opts,
                &format!(
                    "integer input `{}` = {huge} under a {mib} MiB memory cap",
                    spec.name
                ),
            );
            let mut d = plan.all(1, 1);
            fill_int(&mut d[ii].1, huge);
            refused = Some(match run(&mut model, &d) {
                Ok(o) => format!("{huge} returned {} elements", o.elements()),
                Err(e) => format!(
                    "{huge} failed inside the {mib} MiB cap: {}",
                    allocation_message(&e)
                ),
            });
        }
        if let Some(msg) = grows {
            let msg = match &refused {
                Some(r) => format!("{msg}; {r}"),
                None => msg,
            };
            report.push(
                Finding::new(&rules::INPUT_DRIVEN_ALLOCATION, msg)
                    .at(loc())
                    .with_reproducer(serde_json::json!({
                        "input": { spec.name.clone(): LARGE_INT },
                        "seed": opts.seed,
                    })),
            );
        }
    }

    report.fact("probes", runs);

    // 7. Robustness: a query-only attack on the probabilities.
    if let Some(kind) = opts.attack {
        robustness(
            &mut report,
            &mut model,
            &specs,
            &base_out,
            &plan.rows,
            kind,
            opts,
            &loc,
        );
    }
    report.finish();
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn robustness(
    report: &mut Report,
    model: &mut Model,
    specs: &[InputSpec],
    base_out: &Outputs,
    seed_rows: &[Vec<f32>],
    kind: attack::Attack,
    opts: &FuzzOptions,
    loc: &dyn Fn() -> Location,
) {
    let not_attacked = |report: &mut Report, why: &str| {
        report.push(
            Finding::new(
                &rules::NOT_ATTACKED,
                format!("no {} attack: {why}", kind.name()),
            )
            .at(loc()),
        );
    };
    let Some(features) = row_features(specs) else {
        return not_attacked(report, "it needs one float [N, F] input");
    };
    let has_probs = base_out.probabilities().is_some_and(|p| p.1[1] > 1);
    if kind.needs_scores() && !has_probs {
        return not_attacked(
            report,
            "the model returns no probabilities (a 2-D float output); use --attack hopskipjump, which needs only the label",
        );
    }
    if !has_probs && base_out.label().is_none() {
        return not_attacked(
            report,
            "the model returns neither probabilities nor a label",
        );
    }
    let name = specs[0].name.clone();
    let mut rng = Rng::new(opts.seed ^ 0x005E_EDA7_7AC4_u64);
    // The box the attack stays in: the --range for the feature, else [0, 1], widened to cover
    // the rows attacked (a real row is never outside its own box).
    let mut bounds: Vec<(f32, f32)> = (0..features)
        .map(|f| range_for(&opts.ranges, &name, f, (0.0, 1.0)))
        .collect();
    let rows: Vec<Vec<f32>> = if seed_rows.first().is_some_and(|r| r.len() == features) {
        seed_rows.iter().take(opts.rows).cloned().collect()
    } else {
        (0..opts.rows)
            .map(|_| {
                bounds
                    .iter()
                    .map(|&(lo, hi)| lo + rng.unit() * (hi - lo))
                    .collect()
            })
            .collect()
    };
    for row in &rows {
        for (b, &v) in bounds.iter_mut().zip(row) {
            if v.is_finite() {
                *b = (b.0.min(v), b.1.max(v));
            }
        }
    }
    let Some(mut oracle) =
        ModelOracle::new(model, features, specs[0].elem == Some(Elem::F64), base_out)
    else {
        return not_attacked(report, "the model's outputs could not be bound");
    };
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    for (i, x) in rows.iter().enumerate() {
        if x.iter().any(|v| !v.is_finite()) {
            continue;
        }
        stage(opts, &format!("{} attack on row {i}", summary_name(kind)));
        if let Some(r) = attack::attack_row(
            &mut oracle,
            kind,
            x,
            i,
            opts.epsilon,
            opts.budget,
            &bounds,
            &mut rng,
        ) {
            results.push(r);
        }
    }
    let summary = attack::summarise(kind, opts.epsilon, opts.budget, &results);
    let shown: Vec<&attack::RowResult> = results.iter().filter(|r| r.success).take(5).collect();
    for r in &shown {
        let changes: Vec<String> = r
            .changed_features
            .iter()
            .map(|(f, a, b)| format!("x[{f}] {a} → {b}"))
            .collect();
        let mut output = serde_json::Map::new();
        output.insert("label".into(), r.adversarial_label.into());
        if let Some(p) = &r.adversarial_probs {
            output.insert("probabilities".into(), json_row(p));
        }
        report.push(
            Finding::new(
                &rules::ADVERSARIAL_EXAMPLE,
                format!(
                    "row {} (label {}) becomes label {} after {} queries with {} change(s): {} (L∞ {:.3}, seed {})",
                    r.row,
                    r.label,
                    r.adversarial_label.unwrap_or(0),
                    r.queries,
                    r.changed_features.len(),
                    changes.join(", "),
                    r.linf,
                    opts.seed
                ),
            )
            .at(loc())
            .with_reproducer(serde_json::json!({
                "input": { name.clone(): json_row(&r.adversarial) },
                "original": { "row": r.row, name.clone(): json_row(&rows[r.row]), "label": r.label },
                "output": output,
                "seed": opts.seed,
                "attack": kind.name(),
                "epsilon": summary.epsilon,
            })),
        );
    }
    if let Some(min) = opts.min_robust_accuracy
        && summary.robust_accuracy < attack::shown(min)
    {
        report.push(
            Finding::new(
                &rules::ROBUST_ACCURACY_LOW,
                format!(
                    "robust accuracy {:.3} at ε = {} ({} attack, {} queries per row, {} rows) is below the required {min}",
                    summary.robust_accuracy, opts.epsilon, summary.attack, opts.budget, summary.rows
                ),
            )
            .at(loc()),
        );
    }
    report.fact(
        "robustness",
        serde_json::to_value(&summary).unwrap_or_default(),
    );
    // The attack's own time and queries, and what minimising its examples cost on top.
    let shrink_time: std::time::Duration = results.iter().map(|r| r.shrink_time).sum();
    let shrink_queries: usize = results.iter().map(|r| r.shrink_queries).sum();
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
    report.fact("attack_queries", oracle.queries - shrink_queries);
    report.fact(
        "attack_seconds",
        ms(started.elapsed().saturating_sub(shrink_time)),
    );
    report.fact("minimise_queries", shrink_queries);
    report.fact("minimise_seconds", ms(shrink_time));
}

/// Queries per second through the attacks' query path (one row in, probabilities out), for
/// `bench/fuzz.sh`: `n` queries cycling over `rows`.
pub fn oracle_throughput(model_path: &Path, rows: &[Vec<f32>], n: usize) -> Result<f64, FuzzError> {
    use attack::Oracle;
    let (mut model, _) = onnx::open(model_path)?;
    let features = rows.first().map(Vec::len).unwrap_or(0);
    let probe = model
        .run(&[(
            model.inputs[0].name.clone(),
            Data::F32(
                vec![1, features as i64],
                rows.first().cloned().unwrap_or_default(),
            ),
        )])
        .map_err(|e| {
            FuzzError::Onnx(OnnxError::Model {
                path: model_path.display().to_string(),
                message: e,
            })
        })?;
    let mut oracle = ModelOracle::new(&mut model, features, false, &probe).ok_or_else(|| {
        FuzzError::Onnx(OnnxError::Model {
            path: model_path.display().to_string(),
            message: "no probabilities output".into(),
        })
    })?;
    let started = std::time::Instant::now();
    let mut sink = 0f32;
    for i in 0..n {
        if let Some(p) = oracle.probs(&rows[i % rows.len()]) {
            sink += p[0];
        }
    }
    std::hint::black_box(sink);
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

fn summary_name(kind: attack::Attack) -> &'static str {
    match kind {
        attack::Attack::Square => "Square",
        attack::Attack::Simba => "SimBA",
        attack::Attack::HopSkipJump => "HopSkipJump",
    }
}

/// The gist of an ONNX Runtime error: the allocation failure if there is one, else its first line.
fn allocation_message(e: &str) -> String {
    for key in [
        "Failed to allocate memory",
        "overflowed",
        "bad_alloc",
        "Integer overflow",
    ] {
        if let Some(i) = e.find(key) {
            let tail = &e[i..];
            return tail
                .lines()
                .next()
                .unwrap_or(tail)
                .chars()
                .take(160)
                .collect();
        }
    }
    first_line(e).chars().take(160).collect()
}

fn first_line(e: &str) -> &str {
    e.lines().next().unwrap_or(e)
}

fn slice_row(d: &Data, row: usize) -> Data {
    let mut shape = d.shape().to_vec();
    let per: usize = shape.iter().skip(1).map(|&x| x.max(0) as usize).product();
    if !shape.is_empty() {
        shape[0] = 1;
    }
    d.part(shape, row * per..(row + 1) * per)
}

/// Largest difference between row `row` of a batched run and a single-row run, if above
/// tolerance.
fn row_difference(batch: &Outputs, alone: &Outputs, row: usize) -> Option<f32> {
    let mut worst = 0f32;
    for ((_, bs, bv), (_, _, av)) in batch.floats.iter().zip(&alone.floats) {
        let per: usize = bs.iter().skip(1).map(|&x| x.max(0) as usize).product();
        for (a, b) in av.iter().zip(&bv[row * per..(row + 1) * per]) {
            if a.is_finite() && b.is_finite() {
                worst = worst.max((a - b).abs() / a.abs().max(b.abs()).max(1.0));
            }
        }
    }
    for ((_, bs, bv), (_, _, av)) in batch.ints.iter().zip(&alone.ints) {
        let per: usize = bs.iter().skip(1).map(|&x| x.max(0) as usize).product();
        if av[..] != bv[row * per..(row + 1) * per] {
            worst = worst.max(1.0);
        }
    }
    (worst > 1e-5).then_some(worst)
}

fn set_feature(d: &mut Data, feats: &[usize], features: usize, value: f32) {
    match d {
        Data::F32(_, v) => {
            for (r, &f) in feats.iter().enumerate() {
                v[r * features + f] = value;
            }
        }
        Data::F64(_, v) => {
            for (r, &f) in feats.iter().enumerate() {
                v[r * features + f] = value as f64;
            }
        }
        _ => {}
    }
}

/// Set every value of an integer input to `value`, clamped to its type.
fn fill_int(d: &mut Data, value: i64) {
    if let Data::Int(e, _, v) = d {
        let (lo, hi) = e.int_range();
        v.iter_mut().for_each(|x| *x = value.clamp(lo, hi));
    }
}

/// Output oracles on rows that are well-formed (`data` gave `out`); findings carry the row that
/// shows them.
fn check_outputs(
    report: &mut Report,
    data: &[(String, Data)],
    out: &Outputs,
    what: &str,
    sev: Severity,
    seed: u64,
    loc: &dyn Fn() -> Location,
) {
    let repro = |r: usize| {
        let row: Vec<(String, Data)> = data
            .iter()
            .map(|(n, d)| (n.clone(), slice_row(d, r)))
            .collect();
        input_reproducer(
            &row,
            seed,
            serde_json::json!({ "row": r, "output": out.row_json(r) }),
        )
    };
    let nf = out.nonfinite();
    if nf > 0 {
        let row = out
            .floats
            .iter()
            .find_map(|(_, shape, v)| {
                let per: usize = shape.iter().skip(1).map(|&x| x.max(0) as usize).product();
                v.iter()
                    .position(|x| !x.is_finite())
                    .map(|i| i / per.max(1))
            })
            .unwrap_or(0);
        report.push(
            Finding::new(
                &rules::NONFINITE_OUTPUT,
                format!("{what}: {nf} output value(s) are NaN or infinite, first in row {row} (seed {seed})"),
            )
            .with_severity(sev)
            .at(loc())
            .with_reproducer(repro(row)),
        );
    }
    if let Some((labels, classes, probs)) = out.classifier() {
        for (r, &label) in labels.iter().enumerate() {
            let row = &probs[r * classes..(r + 1) * classes];
            if row.iter().any(|p| !p.is_finite()) {
                continue; // reported above
            }
            let sum: f32 = row.iter().sum();
            if row.iter().any(|&p| !(-1e-6..=1.0 + 1e-6).contains(&p)) || (sum - 1.0).abs() > 1e-3 {
                report.push(
                    Finding::new(
                        &rules::INVALID_PROBABILITIES,
                        format!("{what}: row {r} probabilities {row:?} (sum {sum}, seed {seed})"),
                    )
                    .at(loc())
                    .with_reproducer(repro(r)),
                );
                break;
            }
            let argmax = argmax(row);
            if argmax != Some(label as usize)
                && row
                    .iter()
                    .filter(|&&p| Some(p) == argmax.map(|a| row[a]))
                    .count()
                    == 1
            {
                report.push(
                    Finding::new(
                        &rules::LABEL_SCORE_DISAGREE,
                        format!(
                            "{what}: row {r} has label {label} but the highest probability is class {} (seed {seed})",
                            argmax.unwrap_or(0)
                        ),
                    )
                    .at(loc())
                    .with_reproducer(repro(r)),
                );
                break;
            }
        }
    }
}

fn argmax(row: &[f32]) -> Option<usize> {
    row.iter()
        .enumerate()
        .filter(|(_, p)| p.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

/// Oracles for a special value placed in `feats` (row r holds feature feats[r]): the finding and
/// the row that shows it.
fn judge_special(
    out: &Outputs,
    spec: &InputSpec,
    label: &str,
    value: f32,
    feats: &[usize],
    seed: u64,
) -> Option<(Finding, usize)> {
    let where_ = |r: usize| {
        format!(
            "input `{}` feature {} = {label} (seed {seed})",
            spec.name, feats[r]
        )
    };
    let special_is_invalid = !value.is_finite() || value.abs() >= 1e30;
    if let Some((labels, classes, probs)) = out.classifier() {
        for (r, &l) in labels.iter().enumerate().take(feats.len()) {
            let row = &probs[r * classes..(r + 1) * classes];
            let nonfinite = row.iter().any(|p| !p.is_finite());
            if nonfinite && l >= 0 && (l as usize) < classes {
                let f = Finding::new(
                    &rules::LABEL_SCORE_DISAGREE,
                    format!(
                        "{}: probabilities {row:?} but label {l}: a confident label from undefined scores",
                        where_(r)
                    ),
                );
                return Some((f, r));
            }
            if value.is_nan() && !nonfinite {
                let f = Finding::new(
                    &rules::ACCEPTS_NONFINITE,
                    format!(
                        "{}: answered label {l} with probabilities {row:?}, no sign the input was invalid",
                        where_(r)
                    ),
                );
                return Some((f, r));
            }
        }
        return None;
    }
    let nf = out.nonfinite();
    if nf > 0 {
        let sev = if special_is_invalid {
            Severity::Medium
        } else {
            Severity::High
        };
        let f = Finding::new(
            &rules::NONFINITE_OUTPUT,
            format!("{}: {nf} output value(s) are NaN or infinite", where_(0)),
        )
        .with_severity(sev);
        return Some((f, 0));
    }
    None
}
