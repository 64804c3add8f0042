//! Batch and dimension sizes, with every symbol the same size in every input that uses it.
//!
//! The batch: an empty batch (0 rows) must run or be refused by the model's own checks; a
//! model that fails on it breaks a serving loop that batches requests. A large batch (as many
//! rows as the budget and the memory bound allow, up to 4,096) must run; an allocation failure
//! there is fuzz's own memory cap, not a defect, and is said as such. Other dynamic
//! dimensions at 0 and at twice their working size: a clean refusal is the model enforcing
//! its contract (not a finding); only a crash or a hang (seen by the supervisor) or broken
//! outputs are.

use super::Plan;
use crate::fuzz::baseline::{allocation_failure, first_line};
use crate::fuzz::contract::Axis;
use crate::fuzz::ctx::{Ctx, describe_inputs, shapes_text};
use crate::fuzz::oracle;
use crate::fuzz::rules;
use crate::report::{Finding, Severity};

pub fn run(ctx: &mut Ctx<'_>, plan: &Plan<'_>) {
    let c = plan.contract;
    if let Some(batch) = c.batch.clone()
        && c.batch_varies
    {
        empty_batch(ctx, plan, &batch);
        large_batch(ctx, plan, &batch);
    }
    let mut results = Vec::new();
    let mut seen = Vec::new();
    for p in &c.inputs {
        for a in &p.axes {
            let Axis::Sym(sym) = a else { continue };
            if Some(sym) == c.batch.as_ref() || seen.contains(sym) {
                continue;
            }
            seen.push(sym.clone());
            let working = plan.base.sizes.get(sym).copied().unwrap_or(1);
            for size in [0, (working * 2).max(2)] {
                if let Some(r) = dimension(ctx, plan, sym, size) {
                    results
                        .push(serde_json::json!({ "dimension": sym, "size": size, "result": r }));
                }
            }
        }
    }
    if !results.is_empty() {
        ctx.fact("dimension_probes", results);
    }
}

fn empty_batch(ctx: &mut Ctx<'_>, plan: &Plan<'_>, batch: &str) {
    let sizes = plan.sizes_with(batch, 0);
    let id = "batch-empty";
    let Some(data) = plan.inputs(ctx, id, &sizes) else {
        return;
    };
    let text = format!("an empty batch ({})", shapes_text(&data));
    let repro = describe_inputs(&data, ctx.seed, serde_json::json!({}));
    if !ctx.probe(id, &text, 1.0, Some(&repro)) {
        return;
    }
    if let Err(e) = ctx.run(&data) {
        let f = Finding::new(
            &rules::EMPTY_BATCH_FAILS,
            format!(
                "an empty batch ({}) fails: {}",
                shapes_text(&data),
                first_line(&e)
            ),
        )
        .with_reproducer(describe_inputs(
            &data,
            ctx.seed,
            serde_json::json!({ "error": first_line(&e) }),
        ));
        ctx.push(f);
    }
}

fn large_batch(ctx: &mut Ctx<'_>, plan: &Plan<'_>, batch: &str) {
    // As many rows as 5 % of the budget left buys, a power of two from 16 to 4,096, within
    // the memory bound.
    let per_row = ctx.per_run().unwrap_or(1.0) / plan.base.rows.max(1) as f64;
    let affordable = (ctx.left() * 0.05 / per_row.max(1e-9)).min(4096.0) as i64;
    let mut n = 4096i64;
    while n > affordable || plan.make.bytes(&plan.sizes_with(batch, n)) > (64 << 20) {
        n /= 2;
        if n < 16 {
            return;
        }
    }
    let id = "batch-large";
    let sizes = plan.sizes_with(batch, n);
    let Some(data) = plan.inputs(ctx, id, &sizes) else {
        return;
    };
    let text = format!("a batch of {n} rows ({})", shapes_text(&data));
    let repro = describe_inputs(&data, ctx.seed, serde_json::json!({}));
    if !ctx.probe(id, &text, plan.cost(n as usize), Some(&repro)) {
        return;
    }
    match ctx.run(&data) {
        Err(e) if allocation_failure(&e) => ctx.skipped(
            &format!("a batch of {n} rows"),
            &format!(
                "ONNX Runtime could not allocate its memory under fuzz's --memory-limit (raise it to test this batch): {}",
                first_line(&e)
            ),
        ),
        Err(e) => {
            let f = Finding::new(
                &rules::LARGE_BATCH_FAILS,
                format!("a batch of {n} rows fails: {}", first_line(&e)),
            )
            .with_reproducer(describe_inputs(&data, ctx.seed, serde_json::json!({ "error": first_line(&e) })));
            ctx.push(f);
        }
        Ok(out) => {
            let what = format!("a batch of {n} rows");
            for (f, row) in oracle::check_valid(plan.roles, &out, n as usize, &what, Severity::High) {
                ctx.push(f.with_reproducer(serde_json::json!({ "batch": n, "row": row, "output": out.row_json(row), "seed": ctx.seed })));
            }
        }
    }
}

/// One dynamic non-batch dimension at `size`: what happened, for the report.
fn dimension(ctx: &mut Ctx<'_>, plan: &Plan<'_>, sym: &str, size: i64) -> Option<String> {
    let id = format!("dim-{sym}-{size}");
    let sizes = plan.sizes_with(sym, size);
    let Some(data) = plan.inputs(ctx, &id, &sizes) else {
        return Some("not run: the input would exceed 256 MiB".into());
    };
    let text = format!("dimension `{sym}` = {size} ({})", shapes_text(&data));
    let repro = describe_inputs(&data, ctx.seed, serde_json::json!({}));
    let scale = plan.make.bytes(&sizes) as f64 / plan.make.bytes(&plan.base.sizes).max(1) as f64;
    if !ctx.probe(&id, &text, scale.max(0.1), Some(&repro)) {
        return None;
    }
    Some(match ctx.run(&data) {
        Err(e) => format!("refused: {}", first_line(&e)),
        Ok(out) => {
            let what = format!("dimension `{sym}` = {size}");
            for (f, row) in
                oracle::check_valid(plan.roles, &out, plan.base.rows, &what, Severity::Medium)
            {
                ctx.push(f.with_reproducer(describe_inputs(
                    &data,
                    ctx.seed,
                    serde_json::json!({ "row": row, "output": out.row_json(row) }),
                )));
            }
            "ran".into()
        }
    })
}
