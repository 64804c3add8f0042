//! The probes, each a small module: shapes (batch and dimension sizes), special values in
//! float inputs, the type/rank/name contract, integer inputs (extremes, the vocabulary bound,
//! input-driven allocation) and string inputs. Every probe runs through [`Ctx::probe`], so it
//! is announced to the supervisor before it runs, bounded by the budget, and skipped when a
//! restarted worker resumes past it.

mod contract;
mod integers;
mod shapes;
mod strings;
mod values;

use super::FuzzOptions;
use super::baseline::Baseline;
use super::contract::{Contract, Sizes};
use super::ctx::Ctx;
use super::inputs::{Gen, MAX_PROBE_BYTES};
use super::oracle::Roles;
use crate::onnx::{Data, elements};

/// What every probe works from.
pub struct Plan<'a> {
    pub contract: &'a Contract,
    pub make: Gen<'a>,
    pub roles: &'a Roles,
    pub base: &'a Baseline,
    pub opts: &'a FuzzOptions,
}

impl Plan<'_> {
    /// The baseline's sizes with `sym` set to `n`.
    pub fn sizes_with(&self, sym: &str, n: i64) -> Sizes {
        let mut s = self.base.sizes.clone();
        s.insert(sym.to_string(), n);
        s
    }

    /// Inputs for `sizes` (drawn for probe `id`), unless they would take more than the
    /// per-probe memory bound.
    pub fn inputs(&self, ctx: &Ctx<'_>, id: &str, sizes: &Sizes) -> Option<Vec<(String, Data)>> {
        (self.make.bytes(sizes) <= MAX_PROBE_BYTES).then(|| self.make.all(sizes, &mut ctx.rng(id)))
    }

    /// The axis of input `i` that holds rows: the batch axis, else axis 0 of a rank ≥ 2 input.
    pub fn row_axis(&self, i: usize) -> Option<usize> {
        let p = &self.contract.inputs[i];
        self.contract
            .batch
            .as_deref()
            .and_then(|b| p.axis_of(b))
            .or((p.axes.len() >= 2).then_some(0))
    }

    /// Time of a run with `rows` rows, in baseline runs.
    pub fn cost(&self, rows: usize) -> f64 {
        rows as f64 / self.base.rows.max(1) as f64
    }
}

/// Flat index of element `p` of row `r` of a tensor of `dims` whose rows lie along `axis`.
pub fn row_element(dims: &[i64], axis: Option<usize>, r: usize, p: usize) -> usize {
    match axis {
        Some(a) => {
            let inner = elements(&dims[a + 1..]).max(1);
            let n = dims[a].max(0) as usize;
            let (o, i) = (p / inner, p % inner);
            (o * n + r) * inner + i
        }
        None => p,
    }
}

/// Elements per row of input `dims` with rows along `axis`.
pub fn row_len(dims: &[i64], axis: Option<usize>) -> usize {
    match axis {
        Some(a) => elements(dims) / (dims[a].max(1) as usize),
        None => elements(dims),
    }
}

/// Run every probe.
pub fn run_all(ctx: &mut Ctx<'_>, plan: &Plan<'_>) {
    shapes::run(ctx, plan);
    values::run(ctx, plan);
    contract::run(ctx, plan);
    integers::run(ctx, plan);
    strings::run(ctx, plan);
}
