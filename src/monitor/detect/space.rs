//! The space near duplicates are measured in. Two inputs are near duplicates when every
//! feature but a small share (`near_share`, 10 %) differs by at most `near_scale` (0.5) times
//! the feature's spread in the baseline: dense small changes (an L∞ perturbation, sensor noise,
//! jitter) and sparse changes of any size (a few pixels) both stay near, while two different
//! natural inputs differ in many features. Distances, not exact hashes, so jitter below the
//! scale changes nothing.
//!
//! Rows are kept as codes: each compared feature (all of them, or a fixed sample of 128 for
//! wide inputs) as an `i8` in steps of 1/8 of the near scale around the baseline mean. A
//! feature is "far" when its codes differ by more than [`FAR`] steps.

use super::baseline::{Baseline, sample};

/// Code steps per near scale: features whose codes differ by more are far apart.
pub const FAR: i16 = 8;
/// Features compared at most (a fixed sample of wider inputs).
const FEATURES: usize = 128;

#[derive(Clone, Debug)]
pub struct Space {
    features: Vec<usize>,
    mean: Vec<f32>,
    /// 1 / (one code step) per compared feature.
    inv_step: Vec<f32>,
    /// Far features a near duplicate may have (of the compared ones).
    allow: usize,
    /// The compared features' median spread.
    median_spread: f32,
    seed: u64,
}

impl Space {
    /// For rows of `d` values. Without a baseline, features are taken to vary on a unit scale
    /// around 0 (spread 0.25, the standard deviation of values spread over [0, 1]).
    pub fn new(
        d: usize,
        baseline: Option<&Baseline>,
        near_scale: f32,
        near_share: f32,
        key: [u8; 32],
    ) -> Space {
        let mut rng =
            crate::util::Rng::new(u64::from_le_bytes(key[..8].try_into().unwrap_or([0; 8])));
        let features = sample(d, FEATURES, &mut rng);
        let (mean, spread): (Vec<f32>, Vec<f32>) = features
            .iter()
            .map(|&j| match baseline {
                Some(b) => (b.mean[j], b.spread[j]),
                None => (0.0, 0.25),
            })
            .unzip();
        let inv_step = spread
            .iter()
            .map(|s| FAR as f32 / (near_scale.max(1e-6) * s.max(1e-9)))
            .collect();
        let allow = (near_share.clamp(0.0, 1.0) * features.len() as f32).floor() as usize;
        let mut sorted = spread.clone();
        sorted.sort_by(f32::total_cmp);
        let median_spread = sorted.get(sorted.len() / 2).copied().unwrap_or(0.25);
        Space {
            features,
            mean,
            inv_step,
            allow,
            median_spread,
            seed: u64::from_le_bytes(key[8..16].try_into().unwrap_or([0; 8])),
        }
    }

    /// Codes per row.
    pub fn width(&self) -> usize {
        self.features.len()
    }

    /// Far features a near duplicate may have.
    pub fn allow(&self) -> usize {
        self.allow
    }

    /// A row's codes, appended to `out`.
    pub fn codes(&self, row: &[f32], out: &mut Vec<i8>) {
        out.extend(self.features.iter().enumerate().map(|(k, &j)| {
            let v = (row.get(j).copied().unwrap_or(0.0) - self.mean[k]) * self.inv_step[k];
            v.round().clamp(-127.0, 127.0) as i8
        }));
    }

    /// The compared features' median spread (in the baseline).
    pub fn median_spread(&self) -> f32 {
        self.median_spread
    }

    /// A row's compared features, raw, appended to `out`.
    pub fn sample(&self, row: &[f32], out: &mut Vec<f32>) {
        out.extend(
            self.features
                .iter()
                .map(|&j| row.get(j).copied().unwrap_or(0.0)),
        );
    }

    /// The Euclidean distance of two rows over the compared features, each in units of its
    /// code step (the codes' space, unrounded).
    pub fn distance(&self, a: &[f32], b: &[f32]) -> f32 {
        self.features
            .iter()
            .zip(&self.inv_step)
            .map(|(&j, s)| {
                let d = (a.get(j).copied().unwrap_or(0.0) - b.get(j).copied().unwrap_or(0.0)) * s;
                d * d
            })
            .sum::<f32>()
            .sqrt()
    }

    /// A keyed hash of the row's exact values: equal for an exact re-send.
    pub fn row_hash(&self, row: &[f32]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::with_seed(self.seed);
        for v in row {
            h.update(&v.to_bits().to_le_bytes());
        }
        h.digest()
    }
}

/// Squared Euclidean distance between two code rows (each feature in code steps).
pub fn dist2(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = i32::from(*x) - i32::from(*y);
            d * d
        })
        .sum()
}

/// Whether two codes of one feature are far apart (more than [`FAR`] steps).
#[inline]
pub fn far_apart(p: i8, q: i8) -> bool {
    (i16::from(p) - i16::from(q)).abs() > FAR
}

/// Far features between two code rows: the exact number up to `limit`, and some number past it
/// once past (counting stops). Counted 16 features at a time without a branch, so the count
/// vectorises, with a way out after each 16: a busy client's row is compared with hundreds of
/// remembered ones, most of them far from it. Fixed 16-code chunks, an `i8` test (a saturating
/// difference is more than [`FAR`] exactly when the true one is) and wrapping adds let the
/// compiler count a chunk in a few vector instructions.
pub fn far(a: &[i8], b: &[i8], limit: usize) -> usize {
    let n = a.len().min(b.len());
    let (ac, ar) = a[..n].as_chunks::<16>();
    let (bc, br) = b[..n].as_chunks::<16>();
    let mut count = 0;
    for (x, y) in ac.iter().zip(bc) {
        count += usize::from(far16(x, y));
        if count > limit {
            return count;
        }
    }
    count
        + ar.iter()
            .zip(br)
            .filter(|(p, q)| far_apart(**p, **q))
            .count()
}

/// Far features among 16 codes.
#[inline]
fn far16(x: &[i8; 16], y: &[i8; 16]) -> u8 {
    const F: i8 = FAR as i8;
    // Wrapping adds (16 at most, so none wraps): the release profile checks overflow, and a
    // checked add in the loop would keep it scalar.
    let mut n = 0u8;
    for i in 0..16 {
        n = n.wrapping_add(
            u8::from(x[i].saturating_sub(y[i]) > F) | u8::from(y[i].saturating_sub(x[i]) > F),
        );
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(13),
            ..ProptestConfig::default()
        })]
        /// The chunked count is the plain one up to the limit, and past it once past.
        #[test]
        fn far_counts_exactly_up_to_the_limit(
            pairs in proptest::collection::vec((any::<i8>(), any::<i8>()), 0..140),
            limit in 0usize..40,
        ) {
            let (a, b): (Vec<i8>, Vec<i8>) = pairs.into_iter().unzip();
            let plain = a.iter().zip(&b).filter(|(x, y)| (**x as i16 - **y as i16).abs() > FAR).count();
            let n = far(&a, &b, limit);
            if plain <= limit {
                prop_assert_eq!(n, plain);
            } else {
                prop_assert!(n > limit && n <= plain, "{} vs {}", n, plain);
            }
        }
    }

    #[test]
    fn jitter_is_near_a_different_row_is_far_and_a_few_changed_features_are_near() {
        let mut rng = crate::util::Rng::new(4);
        let rows: Vec<Vec<f32>> = (0..100)
            .map(|_| (0..64).map(|_| rng.unit()).collect())
            .collect();
        let b = Baseline::from_rows(&rows).unwrap();
        let s = Space::new(64, Some(&b), 0.5, 0.1, [3; 32]);
        assert_eq!((s.width(), s.allow()), (64, 6));
        let code = |r: &[f32]| {
            let mut c = vec![];
            s.codes(r, &mut c);
            c
        };
        let x = rows[0].clone();
        // ±0.05 everywhere (a third of the near scale of 0.5 × 0.29): near.
        let jit: Vec<f32> = x
            .iter()
            .map(|v| v + if rng.unit() < 0.5 { 0.05 } else { -0.05 })
            .collect();
        assert_eq!(far(&code(&x), &code(&jit), 6), 0);
        // Five features changed a lot: still near (sparse change).
        let mut sparse = x.clone();
        for v in sparse.iter_mut().take(5) {
            *v += 0.9;
        }
        assert!(far(&code(&x), &code(&sparse), 6) <= 6);
        // Another random row: far in many features.
        assert!(far(&code(&x), &code(&rows[1]), 6) > 6);
        assert_eq!(s.row_hash(&x), s.row_hash(&x.clone()));
        assert_ne!(s.row_hash(&x), s.row_hash(&jit));
    }
}
