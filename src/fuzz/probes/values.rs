//! Special values in float inputs: NaN, ±∞, ±f32::MAX, −0, a subnormal and 1e30, each placed
//! in a sample of positions of a row (every position when a row has at most 64; otherwise as
//! many as the budget buys, 8 to 64, the first and last included), one position per row of a
//! run. The oracles ([`crate::fuzz::oracle::judge_special`]) decide by what the outputs mean;
//! a clean refusal is always the right answer. The first defect per input and value is
//! reported, its row minimised toward zeros with the special value kept (proptest's shrinking).

use super::{Plan, row_element, row_len};
use crate::fuzz::args::range_for;
use crate::fuzz::ctx::{Ctx, describe_inputs, shapes_text};
use crate::fuzz::oracle;
use crate::fuzz::rules;
use crate::fuzz::shrink;
use crate::onnx::{Data, json_row};
use crate::report::Finding;

const SPECIALS: [(&str, f64); 8] = [
    ("NaN", f64::NAN),
    ("+Inf", f64::INFINITY),
    ("-Inf", f64::NEG_INFINITY),
    ("f32::MAX", f32::MAX as f64),
    ("-f32::MAX", -(f32::MAX as f64)),
    ("-0.0", -0.0),
    ("subnormal 1e-45", 1e-45),
    ("1e30", 1e30),
];

fn set(d: &mut Data, idx: usize, v: f64) {
    match d {
        Data::F32(_, x) => x[idx] = v as f32,
        Data::F64(_, x) => x[idx] = v,
        _ => {}
    }
}

fn get(d: &Data, idx: usize) -> f32 {
    match d {
        Data::F32(_, x) => x[idx],
        Data::F64(_, x) => x[idx] as f32,
        _ => 0.0,
    }
}

/// Element `p` of a row, as a multi-index (`[c, h, w]`) or a feature number.
fn position_text(dims: &[i64], axis: Option<usize>, p: usize) -> String {
    let row_dims: Vec<i64> = dims
        .iter()
        .enumerate()
        .filter(|(k, _)| Some(*k) != axis)
        .map(|(_, &d)| d)
        .collect();
    if row_dims.len() <= 1 {
        return format!("feature {p}");
    }
    let mut idx = Vec::new();
    let mut rest = p;
    for &d in row_dims.iter().rev() {
        let d = d.max(1) as usize;
        idx.push(rest % d);
        rest /= d;
    }
    idx.reverse();
    format!("element {idx:?}")
}

pub fn run(ctx: &mut Ctx<'_>, plan: &Plan<'_>) {
    let c = plan.contract;
    let floats: Vec<usize> = (0..c.inputs.len())
        .filter(|&i| c.inputs[i].is_float())
        .collect();
    if floats.is_empty() {
        return;
    }
    // Runs the special values may take: half of what the probe budget buys.
    let per_run = ctx.per_run().unwrap_or(0.01).max(1e-7);
    let left = ctx
        .probe_deadline
        .saturating_duration_since(std::time::Instant::now())
        .as_secs_f64();
    let share = (left / per_run * 0.5 / floats.len() as f64 / SPECIALS.len() as f64).max(1.0);
    for &i in &floats {
        input(ctx, plan, i, share);
    }
}

fn input(ctx: &mut Ctx<'_>, plan: &Plan<'_>, i: usize, share: f64) {
    let c = plan.contract;
    let name = c.inputs[i].spec.name.clone();
    let axis = plan.row_axis(i);
    let batched = c.batch_varies
        && c.batch
            .as_deref()
            .is_some_and(|b| c.inputs[i].axis_of(b) == axis && axis.is_some());
    let dims = plan.base.data[i].1.shape().to_vec();
    let width = row_len(&dims, axis);
    if width == 0 {
        return;
    }
    let fixed_rows = axis.map_or(1, |a| dims[a].max(1) as usize);
    // Positions: all of a short row, else a sample the budget buys.
    let cost = |k: usize| {
        if batched {
            plan.cost(k)
        } else {
            k.div_ceil(fixed_rows) as f64
        }
    };
    let mut k = width.min(64);
    while k > 8 && cost(k) > share {
        k /= 2;
    }
    let mut rng = ctx.rng(&format!("special-{name}"));
    let positions: Vec<usize> = if width <= k {
        (0..width).collect()
    } else {
        let mut p = vec![0, width - 1];
        while p.len() < k {
            let x = (rng.next_u64() % width as u64) as usize;
            if !p.contains(&x) {
                p.push(x);
            }
        }
        p.sort_unstable();
        p
    };
    let chunk = if batched { positions.len() } else { fixed_rows };
    // Positions shown not to be read by the model (checked at most MAX_UNREAD times per input).
    let mut unread = 0usize;
    for (label, value) in SPECIALS {
        for (ci, part) in positions.chunks(chunk.max(1)).enumerate() {
            let id = format!("special-{name}-{label}-{ci}");
            let sizes = match (&c.batch, batched) {
                (Some(b), true) => plan.sizes_with(b, part.len() as i64),
                _ => plan.base.sizes.clone(),
            };
            let Some(mut data) = plan.inputs(ctx, &id, &sizes) else {
                return;
            };
            let dims = data[i].1.shape().to_vec();
            let rows = super::super::baseline::rows_of(c, &sizes, &data);
            for (r, &p) in part.iter().enumerate() {
                set(&mut data[i].1, row_element(&dims, axis, r, p), value);
            }
            let text = format!(
                "input `{name}` with {label} in {} position(s) ({})",
                part.len(),
                shapes_text(&data)
            );
            let repro = describe_inputs(&data, ctx.seed, serde_json::json!({}));
            if !ctx.probe(&id, &text, cost(part.len()), Some(&repro)) {
                return;
            }
            let Ok(out) = ctx.run(&data) else {
                continue; // a clean refusal is the right answer
            };
            let mut found = None;
            for (r, &p) in part.iter().enumerate() {
                let at = position_text(&dims, axis, p);
                let where_ = format!("input `{name}` {at} = {label} (seed {})", ctx.seed);
                let Some(f) = oracle::judge_special(plan.roles, &out, rows, r, value, &where_)
                else {
                    continue;
                };
                // An ordinary answer to NaN shows the NaN was swallowed only where the model
                // reads that element at all (audio past the last frame, a cropped border).
                if f.rule_id == rules::ACCEPTS_NONFINITE.id {
                    if unread >= MAX_UNREAD {
                        continue;
                    }
                    let at = row_element(&dims, axis, r, p);
                    // Unconfirmed is not reported: the check needs up to 4 runs.
                    if !ctx.affords(4.0 * cost(part.len())) {
                        ctx.over_budget.push(format!(
                            "confirming that the model reads {where_} (not reported without it)"
                        ));
                        unread = MAX_UNREAD;
                        continue;
                    }
                    if !reads_element(ctx, plan, i, &data, at, &out) {
                        unread += 1;
                        continue;
                    }
                }
                found = Some((f, r, where_));
                break;
            }
            if let Some((finding, r, where_)) = found {
                report(
                    ctx,
                    plan,
                    i,
                    (finding, r, where_),
                    &data,
                    &out,
                    part[r],
                    value,
                    rows,
                );
                break; // one finding per input and value
            }
        }
    }
}

/// How many elements per input may be checked for being read before the rest are assumed not.
const MAX_UNREAD: usize = 16;

/// Whether the model reads flat element `at` of input `i`: some finite value there (the ends
/// of its range, then far outside it) changes an output from what `with_nan` gave.
fn reads_element(
    ctx: &mut Ctx<'_>,
    plan: &Plan<'_>,
    i: usize,
    data: &[(String, Data)],
    at: usize,
    with_nan: &crate::onnx::Outputs,
) -> bool {
    let name = &data[i].0;
    let last = data[i].1.shape().last().copied().unwrap_or(1).max(1) as usize;
    let (lo, hi) = range_for(plan.make.ranges, name, at % last).unwrap_or((0.0, 1.0));
    let far = 1e4 * lo.abs().max(hi.abs()).max(1.0);
    let mut d = data.to_vec();
    for v in [lo, hi, -far, far] {
        set(&mut d[i].1, at, v);
        match ctx.run(&d) {
            Ok(o) if o.same_bits(with_nan) => {}
            // A different answer, or a refusal of this value: the element is read.
            _ => return true,
        }
    }
    false
}

/// Minimise the row that showed the defect (toward zeros, the special value kept) and report.
#[allow(clippy::too_many_arguments)]
fn report(
    ctx: &mut Ctx<'_>,
    plan: &Plan<'_>,
    i: usize,
    (finding, r, where_): (Finding, usize, String),
    data: &[(String, Data)],
    out: &crate::onnx::Outputs,
    p: usize,
    value: f64,
    rows: usize,
) {
    let axis = plan.row_axis(i);
    let dims = data[i].1.shape().to_vec();
    let width = row_len(&dims, axis);
    let index = |k: usize| row_element(&dims, axis, r, k);
    let start: Vec<f32> = (0..width).map(|k| get(&data[i].1, index(k))).collect();
    let mut finding = finding;
    let mut row = start.clone();
    let mut output = out.row_json(r);
    let affordable = ctx
        .per_run()
        .is_some_and(|s| s * (width * 8) as f64 <= ctx.left() * 0.05);
    if width <= 256 && affordable {
        let rule = finding.rule_id.clone();
        let with_row = |cand: &[f32]| {
            let mut d = data.to_vec();
            for (k, &v) in cand.iter().enumerate() {
                set(&mut d[i].1, index(k), f64::from(v));
            }
            set(&mut d[i].1, index(p), value);
            d
        };
        let judge = |ctx: &mut Ctx<'_>, cand: &[f32]| {
            let d = with_row(cand);
            let o = ctx.run(&d).ok()?;
            let f = oracle::judge_special(plan.roles, &o, rows, r, value, &where_)?;
            (f.rule_id == rule).then_some((f, o))
        };
        let m = shrink::minimise(&vec![0.0; width], &start, &[p], |cand| {
            judge(ctx, cand).is_some()
        });
        if let Some(m) = m
            && let Some((f, o)) = judge(ctx, &m.input)
        {
            finding = f;
            row = m.input;
            row[p] = value as f32;
            output = o.row_json(r);
        }
    }
    let other_nonzero = row
        .iter()
        .enumerate()
        .filter(|&(k, v)| k != p && *v != 0.0)
        .count();
    let name = &data[i].0;
    let mut repro = serde_json::json!({
        "input": { name.clone(): if width <= 4096 { json_row(&row) } else { serde_json::json!({ "shape": dims, "row": r, "position": p, "value": json_row(&[value as f32])[0] }) } },
        "output": output,
        "seed": ctx.seed,
        "other_nonzero_features": other_nonzero,
    });
    if data.len() > 1 {
        let others: Vec<(String, Data)> = data.iter().filter(|(n, _)| n != name).cloned().collect();
        repro["other_inputs"] =
            describe_inputs(&others, ctx.seed, serde_json::json!({}))["input"].clone();
    }
    ctx.push(finding.with_reproducer(repro));
}
