//! Input tensors for a set of symbol sizes: the seeds when their shape fits (cycled along the
//! batch axis for other batch sizes), else values drawn from each input's kind and `--range`.

use super::args::{ValueRange, range_for};
use super::contract::{Contract, InputPlan, Kind, Sizes};
use crate::onnx::{Data, Elem, elements};
use crate::util::Rng;

/// Ordinary strings for string inputs without seeds.
const WORDS: &[&str] = &[
    "hello",
    "world",
    "monday",
    "paris",
    "model",
    "the quick brown fox",
    "42",
    "data",
];

/// The most bytes of input one probe may build; bigger probes are skipped, not run.
pub const MAX_PROBE_BYTES: u128 = 256 << 20;

/// Builds inputs for a contract.
pub struct Gen<'a> {
    pub contract: &'a Contract,
    pub ranges: &'a [ValueRange],
}

impl Gen<'_> {
    /// Bytes the inputs for `sizes` take (strings counted at 16 bytes).
    pub fn bytes(&self, sizes: &Sizes) -> u128 {
        self.contract
            .inputs
            .iter()
            .map(|p| {
                let per: u128 = match &p.kind {
                    Kind::Float if p.spec.elem == Some(Elem::F64) => 8,
                    Kind::Float => 4,
                    Kind::Int { .. } => 8,
                    Kind::Bool => 1,
                    Kind::Str => 16,
                };
                let n = p
                    .dims(sizes)
                    .iter()
                    .try_fold(1u128, |a, &d| a.checked_mul(d.max(0) as u128))
                    .unwrap_or(u128::MAX);
                n.saturating_mul(per)
            })
            .fold(0u128, u128::saturating_add)
    }

    /// Every input for `sizes`, by name.
    pub fn all(&self, sizes: &Sizes, rng: &mut Rng) -> Vec<(String, Data)> {
        (0..self.contract.inputs.len())
            .map(|i| {
                (
                    self.contract.inputs[i].spec.name.clone(),
                    self.input(i, sizes, rng),
                )
            })
            .collect()
    }

    /// Input `i` for `sizes`: its seed if the shape fits, else sampled values.
    pub fn input(&self, i: usize, sizes: &Sizes, rng: &mut Rng) -> Data {
        let p = &self.contract.inputs[i];
        let dims = p.dims(sizes);
        if let Some(seed) = &p.seed
            && let Some(d) = self.fit_seed(p, seed, &dims)
        {
            return d;
        }
        self.sample(p, dims, rng)
    }

    fn fit_seed(&self, p: &InputPlan, seed: &Data, dims: &[i64]) -> Option<Data> {
        let shape = seed.shape();
        if shape == dims {
            return Some(seed.clone());
        }
        let axis = self.contract.batch.as_deref().and_then(|b| p.axis_of(b))?;
        let same_elsewhere = shape.len() == dims.len()
            && shape
                .iter()
                .zip(dims)
                .enumerate()
                .all(|(k, (a, b))| k == axis || a == b);
        if !same_elsewhere {
            return None;
        }
        seed.along(axis, dims[axis].max(0) as usize, |j| j)
    }

    /// Values drawn for `p` with shape `dims`.
    pub fn sample(&self, p: &InputPlan, dims: Vec<i64>, rng: &mut Rng) -> Data {
        let n = elements(&dims);
        let name = &p.spec.name;
        match &p.kind {
            Kind::Float => {
                let width = dims.last().copied().unwrap_or(1).max(1) as usize;
                let bounds: Vec<(f64, f64)> = (0..width.min(4096))
                    .map(|f| range_for(self.ranges, name, f).unwrap_or((0.0, 1.0)))
                    .collect();
                let value = |i: usize, rng: &mut Rng| {
                    let (lo, hi) = bounds[(i % width).min(bounds.len() - 1)];
                    lo + f64::from(rng.unit()) * (hi - lo)
                };
                if p.spec.elem == Some(Elem::F64) {
                    Data::F64(dims, (0..n).map(|i| value(i, rng)).collect())
                } else {
                    Data::F32(dims, (0..n).map(|i| value(i, rng) as f32).collect())
                }
            }
            Kind::Int {
                elem,
                lo,
                hi,
                candidates,
                ..
            } => {
                let values = (0..n)
                    .map(|_| {
                        if candidates.is_empty() {
                            uniform_int(*lo, *hi, rng)
                        } else {
                            candidates[(rng.next_u64() % candidates.len() as u64) as usize]
                        }
                    })
                    .collect();
                Data::Int(*elem, dims, values)
            }
            Kind::Bool => Data::Int(
                Elem::Bool,
                dims,
                (0..n).map(|_| (rng.next_u64() & 1) as i64).collect(),
            ),
            Kind::Str => Data::Str(
                dims,
                (0..n)
                    .map(|_| WORDS[(rng.next_u64() % WORDS.len() as u64) as usize].to_string())
                    .collect(),
            ),
        }
    }
}

/// Uniform in `lo..=hi`.
pub fn uniform_int(lo: i64, hi: i64, rng: &mut Rng) -> i64 {
    let span = (hi as i128 - lo as i128 + 1).max(1) as u128;
    (lo as i128 + (u128::from(rng.next_u64()) % span) as i128) as i64
}
