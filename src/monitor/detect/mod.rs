//! Misuse detectors, free of I/O: each takes what a request showed and says whether its signal
//! fires, with the evidence. State is bounded everywhere (caps on sets, rings and tables).
//!
//! - [`Engine`] runs them over every row of a request ([`engine`]).
//! - [`TokenBucket`]: request, row and token rates.
//! - [`Baseline`]: the baseline rows: ranges for the schema check, each feature's spread, and
//!   the reference for out-of-distribution inputs (distance to the nearest baseline row).
//! - [`Space`]: rows as codes in which near duplicates are measured (a share of features
//!   within half a feature's spread), robust to jitter.
//! - [`NearDup`]: one client's near duplicates: clusters of variants, answers moving toward
//!   the decision boundary, confident answers that flip (evasion), and inputs augmented into
//!   several variants (synthetic extraction).
//! - [`CrossIndex`]: near duplicates across clients (Sybil attacks), popularity-aware.
//! - [`Prada`]: model extraction (Juuti et al., EuroS&P 2019): per client and predicted class a
//!   growing set of past queries; the minimum L2 distance of each new query to it; when the
//!   client's distances stop being normally distributed (Shapiro–Wilk W below a threshold) the
//!   queries are synthetic. Inputs of more than 32 values are first projected to 32
//!   dimensions with a seeded Gaussian matrix (Johnson–Lindenstrauss).
//! - [`Bisect`](bisect): a client's queries that are midpoints of two of its recent queries
//!   answered differently (a binary search for the decision boundary, as HopSkipJump does).
//! - [`SignSteps`](signsteps): a client's rows that differ from one of its recent rows by one
//!   step up and down on many features (the L∞ steps of Square, SimBA and sign-gradient attacks).
//! - [`BasisWalk`](basis): a client's rows that each move from an earlier one by one step along
//!   one pixel or DCT direction, building on the ones answered lower (SimBA's coordinate walk).
//! - [`Selection`](select): whether a client builds its new variants on the ones the model
//!   answered closer to the boundary (a search keeping what lowered the answer).
//! - [`Generations`](generations): whether a client's batches are generations of a
//!   population search (each built mostly on the previous batch's row answered closest to the
//!   boundary, as genetic and evolutionary attacks do).
//! - [`Ablation`](ablation): whether a client combines its one-feature probes by their
//!   answers (a sparse search building on its lowest-answered probes, as CornerSearch and
//!   LocSearchAdv do; explainers' coalitions and deletion curves do not).
//! - [`SparseWalk`](sparse): whether a client sends candidates a few scattered pixels off its
//!   lowest-answered recent row, one at a time, building on those it kept (the L0 searches of
//!   Sparse-RS, Pixle and BruSLeAttack).
//! - [`Resends`](resend): whether a client sends again, on its own, the candidate of its
//!   batches of variants of one input that the model answered closest to the boundary
//!   (differential evolution checking its best individual, basin hopping its accepted point).
//! - [`Coverage`](coverage): the different inputs a client was answered for (extraction
//!   coverage): a greedy covering of its rows by near-duplicate balls, noise copies of its
//!   previous row left out ([`copies`]); [`Hll`] counts its distinct rows and score vectors.

use std::collections::HashMap;

mod ablation;
mod baseline;
mod basis;
mod bisect;
mod copies;
mod coverage;
mod cross;
pub mod engine;
mod generations;
mod hll;
mod neardup;
mod prada;
mod rate;
mod resend;
mod select;
mod signsteps;
mod space;
mod sparse;
mod stats;

pub use baseline::Baseline;
pub use cross::{CrossIndex, CrossObs};
pub use engine::{Answers, ClientDetectors, Engine, Signal};
pub use hll::Hll;
pub use neardup::{NearDup, NearObs};
pub use prada::{Prada, Projection};
pub use rate::TokenBucket;
pub use space::Space;
pub use stats::shapiro_w;

/// Hashing for u64 keys that are already uniform (fingerprint hashes) or consecutive (query
/// ids): one multiply (Fibonacci hashing) instead of SipHash on the hot path.
#[derive(Default, Clone, Copy)]
pub struct U64Hasher(u64);

impl std::hash::Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type U64Map<V> = HashMap<u64, V, std::hash::BuildHasherDefault<U64Hasher>>;
