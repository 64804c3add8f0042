//! The first input the model accepts, and what one run of it costs.
//!
//! Symbols nobody gave a size are searched for together, from sizes typical of where they
//! sit (image height and width, a sequence length, a small count). If no input runs, `fuzz`
//! stops with exit 2 and says which flags describe the contract: the fuzzer failing to build
//! an input is never reported as the model's defect. Then the batch is raised to a few rows
//! (when the batch is free), the run is timed (the clock every later timeout, probe size and
//! attack budget is scaled from), and repeated for determinism and batch invariance.

use super::contract::{Axis, Contract, Kind, Sizes};
use super::ctx::{Ctx, describe_inputs, shapes_text};
use super::inputs::{Gen, MAX_PROBE_BYTES};
use super::oracle::{self, Roles};
use super::{FuzzError, rules};
use crate::onnx::{Data, Outputs};
use crate::report::{Finding, Severity};
use std::time::Instant;

/// The valid run the probes start from.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub sizes: Sizes,
    pub data: Vec<(String, Data)>,
    pub out: Outputs,
    /// Rows in the run (the batch size, or the fixed leading dimension).
    pub rows: usize,
    /// Seconds the run took (the first timing; a slow model gets no other before the budget).
    pub seconds: f64,
}

/// Sizes to try for an open symbol, most typical first.
fn ladder(c: &Contract, sym: &str) -> Vec<i64> {
    const IMAGE: &[i64] = &[224, 320, 256, 192, 160, 128, 96, 64, 48, 32, 640, 512];
    const SEQUENCE: &[i64] = &[256, 512, 1024, 128, 2048, 64, 32, 16, 8, 4096, 16000];
    const COUNT: &[i64] = &[1, 8, 16, 32, 64, 128, 256, 512, 2, 4];
    for p in &c.inputs {
        let Some(axis) = p.axis_of(sym) else { continue };
        let rank = p.axes.len();
        let fixed = |k: usize| match p.axes.get(k) {
            Some(Axis::Fixed(n)) => Some(*n),
            _ => None,
        };
        let channels = |k: usize| fixed(k).is_some_and(|n| matches!(n, 1 | 3 | 4));
        if axis == 0 {
            return vec![1];
        }
        if rank == 4 && ((axis >= 2 && channels(1)) || (axis <= 2 && channels(3))) {
            return IMAGE.to_vec();
        }
        if rank == 4 && axis >= 2 {
            return IMAGE.to_vec();
        }
        if (rank == 2 && axis == 1) || (rank == 3 && axis == 1 && !p.is_float()) {
            return SEQUENCE.to_vec();
        }
        if rank == 3 && (axis == 1 || axis == 2) && p.is_float() {
            return if fixed(3 - axis).is_some() {
                SEQUENCE.to_vec()
            } else {
                COUNT.to_vec()
            };
        }
    }
    COUNT.to_vec()
}

/// Whether an ONNX Runtime error is an allocation failure (under fuzz's memory cap).
pub fn allocation_failure(e: &str) -> bool {
    [
        "Failed to allocate memory",
        "bad_alloc",
        "overflowed",
        "Integer overflow",
        "out of memory",
    ]
    .iter()
    .any(|k| e.contains(k))
}

/// The first line of an error, bounded.
pub fn first_line(e: &str) -> String {
    e.lines().next().unwrap_or(e).chars().take(300).collect()
}

/// Find the valid run: sizes for the open symbols, one row per batch.
pub fn find(ctx: &mut Ctx<'_>, make: &Gen<'_>, batch_fixed: bool) -> Result<Baseline, FuzzError> {
    let c = make.contract;
    let mut base = c.sizes.clone();
    if let Some(b) = &c.batch {
        base.entry(b.clone()).or_insert(1);
    }
    let ladders: Vec<(String, Vec<i64>)> =
        c.open.iter().map(|s| (s.clone(), ladder(c, s))).collect();
    let tries = ladders.iter().map(|l| l.1.len()).max().unwrap_or(1).max(1);
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut rng = ctx.rng("baseline");
    for k in 0..tries {
        let mut sizes = base.clone();
        for (s, l) in &ladders {
            sizes.insert(s.clone(), l[k.min(l.len() - 1)]);
        }
        if make.bytes(&sizes) > MAX_PROBE_BYTES {
            continue;
        }
        let data = make.all(&sizes, &mut rng);
        let shapes = shapes_text(&data);
        ctx.setup(
            &format!("setup:baseline-{k}"),
            &format!("a well-formed input ({shapes})"),
            Some(&describe_inputs(&data, ctx.seed, serde_json::json!({}))),
        );
        let t = Instant::now();
        let ran = ctx.run(&data);
        let seconds = t.elapsed().as_secs_f64();
        match ran {
            Ok(out) => {
                if !c.open.is_empty() {
                    let chosen: Vec<String> = ladders
                        .iter()
                        .map(|(s, _)| format!("{s}={}", sizes[s]))
                        .collect();
                    ctx.fact(
                        "sizes_searched",
                        format!(
                            "{} (the first that ran, after {k} that did not; pass --dim or --shape for the sizes the model is meant for)",
                            chosen.join(", ")
                        ),
                    );
                }
                let rows = rows_of(c, &sizes, &data);
                let mut b = Baseline {
                    sizes,
                    data,
                    out,
                    rows,
                    seconds,
                };
                if !batch_fixed {
                    grow_batch(ctx, make, &mut b);
                }
                return Ok(b);
            }
            Err(e) => errors.push((shapes, first_line(&e))),
        }
    }
    Err(FuzzError::NoValidInput(no_input_message(c, make, &errors)))
}

/// Rows in a run: the batch size, else the leading dimension of a rank ≥ 2 input.
pub fn rows_of(c: &Contract, sizes: &Sizes, data: &[(String, Data)]) -> usize {
    if let Some(b) = &c.batch
        && c.inputs.iter().any(|p| p.axis_of(b).is_some())
    {
        return sizes.get(b).copied().unwrap_or(1).max(0) as usize;
    }
    data.iter()
        .map(|(_, d)| d.shape())
        .find(|s| s.len() >= 2)
        .map_or(1, |s| s[0].max(0) as usize)
}

/// What to tell the user when no input ran.
fn no_input_message(c: &Contract, make: &Gen<'_>, errors: &[(String, String)]) -> String {
    let mut help = Vec::new();
    for s in &c.open {
        if s.contains('[') {
            help.push(format!("--shape INPUT=AxBx… (dimension {s} is unnamed)"));
        } else {
            help.push(format!("--dim {s}=N"));
        }
    }
    for p in &c.inputs {
        match &p.kind {
            Kind::Int {
                lo: 0,
                hi: 9,
                candidates,
                vocab: None,
                ..
            } if candidates.is_empty() => {
                help.push(format!(
                    "--range {}=LO..HI (its ids or values)",
                    p.spec.name
                ));
            }
            Kind::Float if make.ranges.is_empty() => {
                help.push(format!("--range {}=LO..HI", p.spec.name));
            }
            _ => {}
        }
    }
    help.push("--seeds FILE.npz (one valid array per input name)".into());
    help.dedup();
    let tried: Vec<String> = errors
        .iter()
        .take(4)
        .map(|(shapes, e)| format!("  {shapes}: {e}"))
        .collect();
    format!(
        "the model rejected every input modelsec built, so it was not fuzzed (this says nothing about the model yet).\nIts inputs: {}\nTried:\n{}{}\nDescribe a valid input with: {}",
        c.describe(),
        tried.join("\n"),
        if errors.len() > 4 {
            format!("\n  … and {} more", errors.len() - 4)
        } else {
            String::new()
        },
        help.join(", ")
    )
}

/// Raise the batch to a few rows when the batch is free and it is cheap.
fn grow_batch(ctx: &mut Ctx<'_>, make: &Gen<'_>, b: &mut Baseline) {
    let c = make.contract;
    let Some(batch) = c.batch.clone() else { return };
    if !c.batch_varies || c.sizes.contains_key(&batch) || b.rows != 1 {
        return;
    }
    // A batch of up to 8 rows must stay a small part of the budget.
    let one = b.seconds;
    let n = ((ctx.left() * 0.01 / one.max(1e-9)) as i64).clamp(1, 8);
    if n < 2 {
        return;
    }
    let mut sizes = b.sizes.clone();
    sizes.insert(batch.clone(), n);
    if make.bytes(&sizes) > MAX_PROBE_BYTES / 4 {
        return;
    }
    let data = make.all(&sizes, &mut ctx.rng("baseline-batch"));
    ctx.setup(
        "setup:baseline-batch",
        &format!("a well-formed batch of {n} rows ({})", shapes_text(&data)),
        Some(&describe_inputs(&data, ctx.seed, serde_json::json!({}))),
    );
    let t = Instant::now();
    let ran = ctx.run(&data);
    let seconds = t.elapsed().as_secs_f64();
    match ran {
        Ok(out) => {
            *b = Baseline {
                sizes,
                data,
                out,
                rows: n as usize,
                seconds,
            };
        }
        Err(e) => {
            let f = Finding::new(
                &rules::LARGE_BATCH_FAILS,
                format!(
                    "a batch of {n} rows fails where 1 row runs (the batch `{batch}` is declared dynamic): {}",
                    first_line(&e)
                ),
            )
            .with_reproducer(describe_inputs(&data, ctx.seed, serde_json::json!({ "error": first_line(&e) })));
            ctx.push(f);
        }
    }
}

/// Time the baseline run (median of a few), and check it repeats bit for bit.
pub fn time_and_repeat(ctx: &mut Ctx<'_>, c: &Contract, b: &Baseline) {
    ctx.setup(
        "setup:timing",
        "the well-formed input again (timing, determinism)",
        None,
    );
    // The run that found the baseline is the first timing (a cold run: the median of several
    // outweighs it).
    let mut times = vec![b.seconds];
    let started = Instant::now();
    let mut differs: Option<Outputs> = None;
    let mut repeated = false;
    while times.len() < 20 && (times.len() < 4 || started.elapsed().as_secs_f64() < 0.3) {
        // A slow model: no more repeats than the budget has room for (one timing is enough).
        let last = times.last().copied().unwrap_or(b.seconds);
        if !super::ctx::fits(Instant::now(), last * 20.0, ctx.deadline) {
            break;
        }
        repeated = true;
        let t = Instant::now();
        match ctx.run(&b.data) {
            Ok(again) => {
                times.push(t.elapsed().as_secs_f64());
                if differs.is_none() && !again.same_bits(&b.out) {
                    differs = Some(again);
                }
            }
            Err(_) => break,
        }
        if times.len() == 2 && times[1] > 2.0 {
            break; // slow model: one repeat is enough
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(1.0);
    ctx.base_seconds = Some(median);
    if !repeated {
        ctx.over_budget
            .push("the well-formed input again (determinism)".into());
    }
    ctx.pace.base_elements = b.data.iter().map(|(_, d)| d.len()).sum();
    ctx.fact(
        "baseline",
        serde_json::json!({
            "input": shapes_text(&b.data),
            "rows": b.rows,
            "seconds_per_run": (median * 1e6).round() / 1e6,
        }),
    );
    // Throughput on the seed input as given (when every input has one): the run path every
    // probe takes (tensors made, ONNX Runtime, every output decoded), comparable with bare ONNX
    // Runtime on the same input.
    let seeds: Option<Vec<(String, Data)>> = c
        .inputs
        .iter()
        .map(|p| p.seed.clone().map(|d| (p.spec.name.clone(), d)))
        .collect();
    // One row, as the attack's queries (and bare ONNX Runtime's one-row rate) run.
    let seeds = match (seeds, &c.batch) {
        (Some(s), Some(batch)) if c.batch_varies => slice_rows(c, &s, batch, 0),
        (s, _) => s,
    };
    // Only when it is a small part of the budget (at least 6 runs).
    let seeds = seeds.filter(|_| ctx.affords(6.0 / 0.05) || median * 6.0 < 0.5);
    if let Some(seeds) = seeds {
        // The best of three loops of the same number of runs, sized to about 0.1 s (as the
        // field bench then times bare ONNX Runtime, with the same count): on a shared machine
        // the slowest loops measure the neighbours, not the model.
        let mut best: Option<f64> = None;
        let mut per_loop = 0usize;
        'loops: for k in 0..3 {
            let started = Instant::now();
            let mut n = 0usize;
            while if k == 0 {
                n < 35_000 && (n < 2 || started.elapsed().as_secs_f64() < 0.1)
            } else {
                n < per_loop
            } {
                if ctx.run(&seeds).is_err() {
                    break 'loops;
                }
                n += 1;
            }
            per_loop = n;
            let per = started.elapsed().as_secs_f64() / n as f64;
            best = Some(best.map_or(per, |b: f64| b.min(per)));
        }
        if let Some(per) = best {
            ctx.fact(
                "throughput",
                serde_json::json!({
                    "input": format!("the --seeds input ({})", shapes_text(&seeds)),
                    "runs": per_loop * 3,
                    "runs_per_loop": per_loop,
                    "inferences_per_second": (1.0 / per * 10.0).round() / 10.0,
                    "how": "the best of 3 timed loops of the same number of runs (about 0.1 s each)",
                }),
            );
        }
    }
    if let Some(again) = differs {
        let f = Finding::new(
            &rules::NONDETERMINISTIC,
            format!(
                "the same input gave different outputs on two runs (seed {})",
                ctx.seed
            ),
        )
        .with_reproducer(describe_inputs(
            &b.data,
            ctx.seed,
            serde_json::json!({ "output": b.out.row_json(0), "output_again": again.row_json(0) }),
        ));
        ctx.push(f);
    }
}

/// Oracles on the valid run, and each of its first rows alone against the batch.
pub fn check(ctx: &mut Ctx<'_>, make: &Gen<'_>, roles: &Roles, b: &Baseline) {
    let c = make.contract;
    for (f, row) in oracle::check_valid(roles, &b.out, b.rows, "well-formed input", Severity::High)
    {
        let repro = row_reproducer(c, b, row, ctx.seed);
        ctx.push(f.with_reproducer(repro));
    }
    let Some(batch) = &c.batch else { return };
    if b.rows < 2 {
        return;
    }
    ctx.setup(
        "setup:rows-alone",
        "each row alone against the same row in the batch",
        None,
    );
    for row in 0..b.rows.min(4) {
        if !ctx.affords(1.0) {
            ctx.over_budget
                .push("each row alone against the same row in the batch".into());
            return;
        }
        let Some(single) = slice_rows(c, &b.data, batch, row) else {
            return;
        };
        let Ok(alone) = ctx.run(&single) else {
            continue;
        };
        if let Some((output, diff)) = oracle::row_difference(roles, &b.out, &alone, b.rows, row) {
            let f = Finding::new(
                &rules::BATCH_VARIANCE,
                format!(
                    "row {row} alone differs from the same row inside a batch of {} in `{output}` by {} of the output's magnitude (seed {})",
                    b.rows,
                    if diff.is_nan() { "a NaN".to_string() } else { format!("{diff:.2e}") },
                    ctx.seed
                ),
            )
            .with_reproducer(describe_inputs(
                &single,
                ctx.seed,
                serde_json::json!({
                    "batch": b.rows,
                    "row": row,
                    "output_alone": alone.row_json(0),
                    "output_in_batch": b.out.row_json(row),
                }),
            ));
            ctx.push(f);
            break;
        }
    }
}

/// Row `row` of every input (along the batch axis; inputs without it whole).
pub fn slice_rows(
    c: &Contract,
    data: &[(String, Data)],
    batch: &str,
    row: usize,
) -> Option<Vec<(String, Data)>> {
    c.inputs
        .iter()
        .zip(data)
        .map(|(p, (n, d))| {
            Some((
                n.clone(),
                match p.axis_of(batch) {
                    Some(a) => d.slice_axis(a, row)?,
                    None => d.clone(),
                },
            ))
        })
        .collect()
}

/// A reproducer for row `row` of the baseline.
pub fn row_reproducer(c: &Contract, b: &Baseline, row: usize, seed: u64) -> serde_json::Value {
    let data = match &c.batch {
        Some(batch) if b.rows > 1 => {
            slice_rows(c, &b.data, batch, row).unwrap_or_else(|| b.data.clone())
        }
        _ => b.data.clone(),
    };
    describe_inputs(
        &data,
        seed,
        serde_json::json!({ "row": row, "output": b.out.row_json(row) }),
    )
}

/// Unnamed dimensions of different inputs that are one batch, found by running the model: when
/// no input names a batch, unnamed dynamic dimensions of equal size in different inputs (one of
/// them an axis 0) are grown to 2 together, then each alone. If together runs and alone fails,
/// they are tied: a batch the probes may vary (an exporter that drops dimension names, as
/// silero-vad's `input [?, ?]` with `state [2, ?, 128]`, still has one). Returns the tied
/// `(input, axis)` pairs.
pub fn tie(ctx: &mut Ctx<'_>, c: &Contract, b: &Baseline) -> Option<Vec<(usize, usize)>> {
    if c.batch.is_some() {
        return None;
    }
    let anonymous: Vec<(usize, usize, i64)> = c
        .inputs
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            p.axes.iter().enumerate().filter_map(move |(k, a)| match a {
                Axis::Sym(s) if s.ends_with(&format!("[{k}]")) => Some((i, k)),
                _ => None,
            })
        })
        .map(|(i, k)| (i, k, b.data[i].1.shape()[k]))
        .collect();
    let first = anonymous.iter().find(|(_, k, _)| *k == 0)?;
    // The axis-0 dimension, and in each other input its one unnamed dimension of that size.
    let mut group = vec![(first.0, first.1)];
    for i in 0..c.inputs.len() {
        let same: Vec<usize> = anonymous
            .iter()
            .filter(|(j, _, n)| *j == i && i != first.0 && *n == first.2)
            .map(|&(_, k, _)| k)
            .collect();
        if let [k] = same[..] {
            group.push((i, k));
        }
    }
    if group.len() < 2 {
        return None;
    }
    let grown = |members: &[(usize, usize)]| -> Option<Vec<(String, Data)>> {
        let mut d = b.data.clone();
        for &(i, k) in members {
            d[i].1 = d[i].1.along(k, 2, |j| j)?;
        }
        Some(d)
    };
    ctx.setup(
        "setup:tie",
        "unnamed dimensions of equal size, grown together and alone",
        None,
    );
    if !ctx.affords(1.0 + group.len() as f64) {
        ctx.over_budget
            .push("finding unnamed dimensions that are one batch".into());
        return None;
    }
    let together = grown(&group)?;
    ctx.run(&together).ok()?;
    let alone_fails = group
        .iter()
        .any(|m| grown(std::slice::from_ref(m)).is_some_and(|d| ctx.run(&d).is_err()));
    alone_fails.then_some(group)
}
