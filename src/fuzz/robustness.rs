//! The robustness attack on whatever model kind has an identifiable classifier output: one
//! float input is attacked (`--attack-input`, else the first float input that is not
//! recurrent state), every other input held at its seed (or baseline) values for that row.
//! Images (rank 4 with a channel axis of 1, 3 or 4) get Square Attack in image form and need
//! `--seeds` images to attack; tabular rows come from the seeds or are drawn from `--range`.
//! Queries, rows and minimisation are scaled to the time left in `--budget-seconds`, measured
//! from the baseline run. Robust accuracy is over the rows actually attacked; when none could
//! be, it is unknown (and a required minimum fails), never 1.

use super::args::range_for;
use super::attack::{self, Image, Setting};
use super::baseline::{Baseline, slice_rows};
use super::contract::Contract;
use super::ctx::fits;
use super::ctx::{Ctx, Feed};
use super::oracle::{self, Roles};
use super::probes::{row_element, row_len};
use super::{FuzzOptions, rules};
use crate::onnx::session::Prepared;
use crate::onnx::{Model, Outputs, json_row};
use crate::report::Finding;
use std::time::{Duration, Instant};

/// The model as the attacks see it: one row of one input rewritten in place per query.
struct Query<'a> {
    model: &'a mut Model,
    prepared: Prepared,
    input: usize,
    at: Vec<usize>,
    roles: &'a Roles,
    rows: usize,
    row: usize,
    wanted: Vec<usize>,
    queries: usize,
    /// When the attack's time is up, the planned seconds per query, and the time queries took.
    deadline: Instant,
    per_query: f64,
    spent: Duration,
    /// The time ran out during this row.
    stopped: bool,
}

impl Query<'_> {
    fn ask(&mut self, row: &[f32]) -> Option<Outputs> {
        self.queries += 1;
        self.prepared.write(self.input, &self.at, row).ok()?;
        let t = Instant::now();
        let out = self.prepared.run(self.model, &self.wanted).ok();
        self.spent += t.elapsed();
        out
    }

    /// Seconds the next query is expected to take: the plan's, or what queries have taken
    /// so far when that is more.
    fn expected(&self) -> f64 {
        let observed = self.spent.as_secs_f64() / self.queries.max(1) as f64;
        self.per_query
            .max(if self.queries >= 3 { observed } else { 0.0 })
    }
}

impl attack::Oracle for Query<'_> {
    fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>> {
        let out = self.ask(row)?;
        let p = oracle::scores_row(self.roles, &out, self.rows, self.row)?;
        p.iter().all(|v| v.is_finite()).then_some(p)
    }

    fn label(&mut self, row: &[f32]) -> Option<usize> {
        if self.roles.label().is_none() {
            return self.probs(row).and_then(|p| oracle::argmax(&p));
        }
        let out = self.ask(row)?;
        oracle::label_row(self.roles, &out, self.rows, self.row)
            .and_then(|l| usize::try_from(l).ok())
    }

    fn out_of_time(&mut self) -> bool {
        if !self.stopped && !fits(Instant::now(), self.expected(), self.deadline) {
            self.stopped = true;
        }
        self.stopped
    }
}

/// The input to attack, or why there is none.
fn target(c: &Contract, opts: &FuzzOptions) -> Result<usize, String> {
    if let Some(name) = &opts.attack_input {
        let i = c
            .inputs
            .iter()
            .position(|p| p.spec.name == *name)
            .ok_or_else(|| {
                format!("--attack-input names `{name}`, which is not an input of the model")
            })?;
        return if c.inputs[i].is_float() {
            Ok(i)
        } else {
            Err(format!(
                "--attack-input `{name}` is {}, not a float input",
                c.inputs[i].spec.dtype
            ))
        };
    }
    c.inputs
        .iter()
        .position(|p| p.is_float() && !p.state)
        .ok_or_else(|| "it needs a float input to perturb".to_string())
}

/// NCHW or NHWC with 1, 3 or 4 channels.
fn image_of(dims: &[i64], axis: Option<usize>) -> Option<Image> {
    if dims.len() != 4 || axis != Some(0) {
        return None;
    }
    let d: Vec<usize> = dims.iter().map(|&x| x.max(0) as usize).collect();
    let channels = |n: usize| matches!(n, 1 | 3 | 4);
    if channels(d[1]) && d[2] > 1 && d[3] > 1 {
        Some(Image {
            channels: d[1],
            height: d[2],
            width: d[3],
            channels_first: true,
        })
    } else if channels(d[3]) && d[1] > 1 && d[2] > 1 {
        Some(Image {
            channels: d[3],
            height: d[1],
            width: d[2],
            channels_first: false,
        })
    } else {
        None
    }
}

/// Run the attack and report it.
pub fn run(
    ctx: &mut Ctx<'_>,
    c: &Contract,
    roles: &Roles,
    base: &Baseline,
    kind: attack::Attack,
    opts: &FuzzOptions,
) {
    let not_attacked = |ctx: &mut Ctx<'_>, why: &str| {
        ctx.push(Finding::new(
            &rules::NOT_ATTACKED,
            format!("no {} attack: {why}", kind.name()),
        ));
        if let Some(min) = opts.min_robust_accuracy {
            ctx.push(Finding::new(
                &rules::ROBUST_ACCURACY_LOW,
                format!("robust accuracy is unknown (no row was attacked: {why}), so the required {min} is not shown"),
            ));
        }
        ctx.fact("robustness", serde_json::json!({ "attack": kind.name(), "rows": 0, "robust_accuracy": null, "why": why }));
    };
    if !roles.classifier() {
        return not_attacked(
            ctx,
            "no output was identified as a classifier's (probabilities, class scores or a label)",
        );
    }
    if kind.needs_scores() && roles.scores().is_none() {
        return not_attacked(
            ctx,
            "the model returns a label but no probabilities or class scores; use --attack hopskipjump, which needs only the label",
        );
    }
    let i = match target(c, opts) {
        Ok(i) => i,
        Err(why) => return not_attacked(ctx, &why),
    };
    let name = c.inputs[i].spec.name.clone();
    let row_axis = c
        .batch
        .as_deref()
        .and_then(|b| c.inputs[i].axis_of(b))
        .or((c.inputs[i].axes.len() >= 2).then_some(0));
    let batched = c.batch_varies
        && c.batch
            .as_deref()
            .is_some_and(|b| c.inputs[i].axis_of(b).is_some());
    // The contexts: one row of every input (batch 1), or the fixed batch with row r attacked.
    let contexts: Vec<(Feed, usize, usize)> = if batched {
        let b = c.batch.as_deref().unwrap_or_default();
        (0..base.rows)
            .filter_map(|r| slice_rows(c, &base.data, b, r).map(|d| (d, 1, 0)))
            .collect()
    } else {
        (0..base.rows)
            .map(|r| (base.data.clone(), base.rows, r))
            .collect()
    };
    let Some((first, ..)) = contexts.first() else {
        return not_attacked(ctx, "no row to attack");
    };
    let dims = first[i].1.shape().to_vec();
    let axis_in_context = row_axis;
    let width = row_len(&dims, axis_in_context);
    let image = image_of(&dims, row_axis);
    // Rows: the seed's rows (all of them), else the baseline's for tabular inputs.
    let seed_rows: Vec<Vec<f32>> = match &c.inputs[i].seed {
        Some(seed) => {
            let n = row_axis.map_or(1, |a| seed.shape()[a].max(0) as usize);
            (0..n)
                .filter_map(|r| {
                    let d = match row_axis {
                        Some(a) => seed.slice_axis(a, r)?,
                        None => seed.clone(),
                    };
                    let v = d.floats();
                    (v.len() == width).then_some(v)
                })
                .collect()
        }
        None => vec![],
    };
    if seed_rows.is_empty() && image.is_some() {
        return not_attacked(
            ctx,
            &format!(
                "input `{name}` is an image; give --seeds with real images to attack (random pixels say nothing about robustness)"
            ),
        );
    }
    let mut rng = ctx.rng("attack");
    let mut bounds: Vec<(f32, f32)> = (0..width)
        .map(|f| {
            let feature = f % (*dims.last().unwrap_or(&1)).max(1) as usize;
            let (lo, hi) = range_for(&opts.ranges, &name, feature).unwrap_or((0.0, 1.0));
            (lo as f32, hi as f32)
        })
        .collect();
    let rows: Vec<Vec<f32>> = if seed_rows.is_empty() {
        (0..opts.rows)
            .map(|_| {
                bounds
                    .iter()
                    .map(|&(lo, hi)| lo + rng.unit() * (hi - lo))
                    .collect()
            })
            .collect()
    } else {
        seed_rows
    };
    for row in &rows {
        for (b, &v) in bounds.iter_mut().zip(row) {
            if v.is_finite() {
                *b = (b.0.min(v), b.1.max(v));
            }
        }
    }
    // The budget: queries the time left buys, at what runs cost now.
    let per_run = ctx.per_run().unwrap_or(1e-3).max(1e-9);
    let per_query = per_run
        / if batched {
            base.rows.max(1) as f64
        } else {
            1.0
        };
    let left = (ctx.left() * 0.95 - 0.5).max(0.0);
    let affordable = (left / per_query.max(1e-9)) as usize;
    let want_rows = rows.len().min(opts.rows).max(1);
    let min_per_row = if image.is_some() { 100 } else { 50 }.min(opts.budget);
    let n_rows = want_rows.min((affordable / min_per_row.max(1)).max(1));
    let per_row = opts.budget.min(affordable / n_rows.max(1));
    if per_row < 10 {
        return not_attacked(
            ctx,
            &format!(
                "--budget-seconds leaves no time for it (one query takes {:.3} s)",
                per_query
            ),
        );
    }
    let scaled = n_rows < want_rows || per_row < opts.budget;
    let minimise = width <= 4096 && per_query * (width * 8 * n_rows) as f64 <= left * 0.2;
    ctx.fact(
        "attack_plan",
        serde_json::json!({
            "input": name,
            "form": if image.is_some() { "image" } else { "tabular" },
            "rows": n_rows,
            "queries_per_row": per_row,
            "scaled_to_budget": scaled,
            "minimised": minimise,
        }),
    );
    let wanted: Vec<usize> = ctx
        .model
        .session
        .outputs()
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            roles.scores().is_some_and(|s| s.name == o.name())
                || roles.label().is_some_and(|l| l.name == o.name())
        })
        .map(|(k, _)| k)
        .collect();
    let input_index = ctx
        .model
        .inputs
        .iter()
        .position(|s| s.name == name)
        .unwrap_or(i);
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    let mut queries = 0usize;
    for (j, x) in rows.iter().take(n_rows).enumerate() {
        if x.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let (context, rows_in_context, r) = &contexts[j % contexts.len()];
        let id = format!("attack-row-{j}");
        let runs = per_row as f64 * per_query / per_run;
        if !ctx.probe(
            &id,
            &format!("{} attack on row {j} of input `{name}`", kind.name()),
            runs,
            None,
        ) {
            continue;
        }
        let Ok(prepared) = Prepared::new(&ctx.model, context) else {
            continue;
        };
        let at: Vec<usize> = (0..width)
            .map(|p| row_element(&dims, axis_in_context, *r, p))
            .collect();
        let mut q = Query {
            model: &mut ctx.model,
            prepared,
            input: input_index,
            at,
            roles,
            rows: *rows_in_context,
            row: *r,
            wanted: wanted.clone(),
            queries: 0,
            deadline: ctx.deadline,
            per_query,
            spent: Duration::ZERO,
            stopped: false,
        };
        let setting = Setting { image, minimise };
        let result = attack::attack_row_with(
            &mut q,
            kind,
            x,
            j,
            opts.epsilon,
            per_row,
            &bounds,
            &mut rng,
            setting,
        );
        queries += q.queries;
        ctx.runs += q.queries;
        if q.queries > 0 {
            let seconds = q.spent.as_secs_f64() / q.queries as f64;
            let base = ctx.base_seconds.unwrap_or(0.0);
            ctx.pace.observe(seconds, per_query / per_run, base);
        }
        let stopped = q.stopped;
        let done = q.queries;
        let unfinished = result.as_ref().is_none_or(|r| r.stopped);
        if let Some(r) = result {
            results.push(r);
        }
        if stopped && unfinished {
            ctx.over_budget.push(format!(
                "the {} attack on row {j} of input `{name}`, stopped after {done} of {per_row} queries (not counted as robust)",
                kind.name()
            ));
        }
        if stopped {
            break;
        }
    }
    let elapsed = started.elapsed();
    ctx.run_time += elapsed;
    if results.iter().all(|r| r.stopped) && !ctx.over_budget.is_empty() {
        return not_attacked(
            ctx,
            &format!(
                "--budget-seconds {} ran out before any row was attacked to the end",
                opts.budget_seconds
            ),
        );
    }
    if results.is_empty() {
        return not_attacked(
            ctx,
            "no row could be attacked (the model did not answer the attack's queries)",
        );
    }
    report(ctx, kind, opts, per_row, (&name, &rows), &results, scaled);
    let shrink_time: std::time::Duration = results.iter().map(|r| r.shrink_time).sum();
    let shrink_queries: usize = results.iter().map(|r| r.shrink_queries).sum();
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
    ctx.fact("attack_queries", queries - shrink_queries);
    ctx.fact("attack_seconds", ms(elapsed.saturating_sub(shrink_time)));
    ctx.fact("minimise_queries", shrink_queries);
    ctx.fact("minimise_seconds", ms(shrink_time));
}

fn report(
    ctx: &mut Ctx<'_>,
    kind: attack::Attack,
    opts: &FuzzOptions,
    per_row: usize,
    (name, rows): (&str, &[Vec<f32>]),
    results: &[attack::RowResult],
    scaled: bool,
) {
    let summary = attack::summarise(kind, opts.epsilon, per_row, results);
    for r in results.iter().filter(|r| r.success).take(5) {
        let many = r.changed_features.len() > 8;
        let changes: Vec<String> = r
            .changed_features
            .iter()
            .take(8)
            .map(|(f, a, b)| format!("x[{f}] {a} → {b}"))
            .collect();
        let mut output = serde_json::Map::new();
        output.insert("label".into(), r.adversarial_label.into());
        if let Some(p) = &r.adversarial_probs {
            output.insert("probabilities".into(), json_row(&p[..p.len().min(64)]));
        }
        let small = r.adversarial.len() <= 4096;
        let f = Finding::new(
            &rules::ADVERSARIAL_EXAMPLE,
            format!(
                "row {} (label {}) becomes label {} after {} queries with {} change(s): {}{} (L∞ {:.3}, seed {})",
                r.row,
                r.label,
                r.adversarial_label.unwrap_or(0),
                r.queries,
                r.changed_features.len(),
                changes.join(", "),
                if many { ", …" } else { "" },
                r.linf,
                ctx.seed
            ),
        )
        .with_reproducer(serde_json::json!({
            "input": { name: if small { json_row(&r.adversarial) } else { serde_json::json!({ "changed": r.changed_features.len(), "linf": r.linf }) } },
            "original": { "row": r.row, name: if small { json_row(&rows[r.row]) } else { serde_json::Value::Null }, "label": r.label },
            "output": output,
            "seed": ctx.seed,
            "attack": kind.name(),
            "epsilon": summary.epsilon,
        }));
        ctx.push(f);
    }
    if let (Some(min), Some(acc)) = (opts.min_robust_accuracy, summary.robust_accuracy)
        && acc < attack::shown(min)
    {
        ctx.push(Finding::new(
            &rules::ROBUST_ACCURACY_LOW,
            format!(
                "robust accuracy {acc:.3} at ε = {} ({} attack, {} queries per row, {} rows) is below the required {min}",
                opts.epsilon, summary.attack, summary.budget, summary.rows
            ),
        ));
    }
    let mut v = serde_json::to_value(&summary).unwrap_or_default();
    v["scaled_to_budget"] = scaled.into();
    ctx.fact("robustness", v);
}
