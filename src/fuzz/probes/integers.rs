//! Integer inputs across their whole declared range: −1, the type's minimum and maximum (the
//! maximum under a memory cap, or when the type is narrow), and, when the graph gives the
//! vocabulary (a Gather table, a one-hot), its last id, the first id past it and −1. A clean
//! refusal is right; outputs are judged as for any valid run; an id outside the vocabulary
//! answered without error is a finding of its own (the model maps it to something —
//! Gather wraps negative ids, a one-hot gives an all-zero row — instead of refusing it).
//! Integers that size an allocation (`Range(0, n)`): does the output grow with the value, and
//! what does a value past the memory cap do?

use super::Plan;
use crate::fuzz::baseline::allocation_failure;
use crate::fuzz::contract::Kind;
use crate::fuzz::ctx::{Ctx, describe_inputs};
use crate::fuzz::oracle;
use crate::fuzz::rules;
use crate::onnx::{Data, Elem};
use crate::report::{Finding, Severity};

/// Large value given to an integer input (bounded so a Range-style model allocates ~76 MiB).
const LARGE_INT: i64 = 10_000_000;
/// At least this value is tried under a memory cap (×8 bytes: far past any cap).
const HUGE_INT: i64 = 1_000_000_000_000;

/// Every value of input `i` set to `value` (clamped to its type).
fn filled(plan: &Plan<'_>, i: usize, value: i64) -> Vec<(String, Data)> {
    let mut d = plan.base.data.clone();
    if let Data::Int(e, _, v) = &mut d[i].1 {
        let (lo, hi) = e.int_range();
        v.iter_mut().for_each(|x| *x = value.clamp(lo, hi));
    }
    d
}

pub fn run(ctx: &mut Ctx<'_>, plan: &Plan<'_>) {
    if let Some(mib) = plan.opts.memory_limit_mib {
        ctx.fact("memory_limit_mib", mib);
    }
    for i in 0..plan.contract.inputs.len() {
        let Kind::Int { elem, vocab, .. } = plan.contract.inputs[i].kind.clone() else {
            continue;
        };
        values(ctx, plan, i, elem, vocab);
        if vocab.is_none() {
            allocation(ctx, plan, i, elem);
        }
    }
}

fn values(ctx: &mut Ctx<'_>, plan: &Plan<'_>, i: usize, elem: Elem, vocab: Option<i64>) {
    let name = plan.contract.inputs[i].spec.name.clone();
    let (min, max) = elem.int_range();
    let mut list: Vec<i64> = Vec::new();
    if let Some(v) = vocab {
        list.extend([v - 1, v]);
    }
    if min < 0 {
        list.extend([-1, min]);
    }
    if plan.opts.memory_limit_mib.is_some() || max <= LARGE_INT {
        list.push(max);
    }
    list.retain(|v| (min..=max).contains(v));
    list.dedup();
    let mut accepted = Vec::new();
    for v in list {
        let id = format!("int-{name}-{v}");
        if !ctx.probe(&id, &format!("integer input `{name}` = {v}"), 1.0, None) {
            continue;
        }
        let data = filled(plan, i, v);
        let Ok(out) = ctx.run(&data) else { continue };
        let what = format!("input `{name}` = {v}");
        for (f, row) in
            oracle::check_valid(plan.roles, &out, plan.base.rows, &what, Severity::Medium)
        {
            ctx.push(f.with_reproducer(describe_inputs(
                &data,
                ctx.seed,
                serde_json::json!({ "row": row, "output": out.row_json(row) }),
            )));
        }
        if vocab.is_some_and(|n| v < 0 || v >= n) {
            accepted.push((v, out));
        }
    }
    if let (Some(n), Some((v, out))) = (vocab, accepted.first()) {
        let all: Vec<String> = accepted.iter().map(|(v, _)| v.to_string()).collect();
        let f = Finding::new(
            &rules::OUT_OF_VOCABULARY,
            format!(
                "input `{name}` indexes a vocabulary of {n} (ids 0..{}), but {} answered without error: the model maps an id it has no entry for to an ordinary-looking answer",
                n - 1,
                if all.len() == 1 { format!("{} was", all[0]) } else { format!("{} were", all.join(", ")) }
            ),
        )
        .with_reproducer(serde_json::json!({
            "input": { name.clone(): v },
            "output": out.row_json(0),
            "seed": ctx.seed,
        }));
        ctx.push(f);
    }
}

fn allocation(ctx: &mut Ctx<'_>, plan: &Plan<'_>, i: usize, elem: Elem) {
    let name = plan.contract.inputs[i].spec.name.clone();
    let max = elem.int_range().1;
    if max < LARGE_INT {
        return; // too narrow a type to ask for much memory
    }
    let mut sizes = Vec::new();
    for v in [1_000i64, LARGE_INT] {
        if !ctx.probe(
            &format!("alloc-{name}-{v}"),
            &format!("integer input `{name}` = {v}"),
            1.0,
            None,
        ) {
            return;
        }
        let data = filled(plan, i, v);
        let started = std::time::Instant::now();
        if let Ok(o) = ctx.run(&data) {
            sizes.push((v, o.elements(), started.elapsed()));
        }
    }
    let in_bytes = plan.base.data[i].1.len() * plan.base.data[i].1.element_bytes();
    let grows = match sizes[..] {
        [(small_v, small_n, _), (big_v, big_n, took)]
            if big_n >= 1_000_000 && big_n >= small_n * ((big_v / small_v) as usize) / 2 =>
        {
            format!(
                "input `{name}` = {big_v} makes the model return {big_n} elements ({:.0} MiB, {:.2} s) from {in_bytes} input bytes; output grows with the value ({small_v} gave {small_n})",
                (big_n * 8) as f64 / 1048576.0,
                took.as_secs_f64()
            )
        }
        _ => return,
    };
    let mut msg = grows;
    if let Some(mib) = plan.opts.memory_limit_mib {
        let huge = (mib as i64)
            .saturating_mul(1 << 20)
            .saturating_mul(4)
            .max(HUGE_INT)
            .min(max);
        if ctx.probe(
            &format!("alloc-{name}-huge"),
            &format!("integer input `{name}` = {huge} under a {mib} MiB memory cap"),
            1.0,
            None,
        ) {
            let data = filled(plan, i, huge);
            msg.push_str(&match ctx.run(&data) {
                Ok(o) => format!("; {huge} returned {} elements", o.elements()),
                Err(e) => format!(
                    "; {huge} failed inside the {mib} MiB cap: {}",
                    allocation_message(&e)
                ),
            });
        }
    }
    let f = Finding::new(&rules::INPUT_DRIVEN_ALLOCATION, msg).with_reproducer(serde_json::json!({
        "input": { name.clone(): LARGE_INT },
        "seed": ctx.seed,
    }));
    ctx.push(f);
}

/// The gist of an ONNX Runtime error: the allocation failure if there is one, else its first line.
fn allocation_message(e: &str) -> String {
    if allocation_failure(e) {
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
    }
    e.lines().next().unwrap_or(e).chars().take(160).collect()
}
