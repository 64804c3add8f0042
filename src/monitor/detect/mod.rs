//! Misuse detectors, free of I/O: each takes what a request showed and says whether its signal
//! fires, with the evidence. State is bounded everywhere (caps on sets, rings and tables).
//!
//! - [`TokenBucket`]: request rate.
//! - [`Baseline`]: per-feature statistics of sample data: ranges for the schema check and
//!   z-scores for out-of-distribution inputs.
//! - [`Prada`]: model extraction (Juuti et al., EuroS&P 2019): per client and predicted class a
//!   growing set of past queries; the minimum L2 distance of each new query to it; when the
//!   client's distances stop being normally distributed (Shapiro–Wilk W below a threshold) the
//!   queries are synthetic, as extraction sets are. Inputs of more than 32 values are first
//!   projected to 32 dimensions with a seeded Gaussian matrix (Johnson–Lindenstrauss).
//! - [`Probing`]: near-duplicate queries (after Blacklight, Li et al., USENIX Security 2022):
//!   each query's fingerprint is 50 keyed xxh3 hashes of its finely quantised values on fixed random
//!   feature subsets; a query sharing at least `match` of them with one earlier query is a near
//!   duplicate and joins that query's cluster. The table is global, so a cluster counts the
//!   near duplicates of every client in it: rotating API keys does not reset it.
//! - [`Walk`]: label flips at low margins among a client's recent queries (a boundary search).

use std::collections::HashMap;

mod baseline;
mod prada;
mod probing;
mod rate;
mod stats;
mod walk;

pub use baseline::Baseline;
pub use prada::{Prada, Projection};
pub use probing::{Cluster, Match, Probing};
pub use rate::TokenBucket;
pub use stats::shapiro_w;
pub use walk::Walk;

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
