//! Sample rows of normal traffic (`--baseline`): per-feature ranges for the schema check, each
//! feature's spread (the scale near duplicates are measured in), and a reference sample for
//! out-of-distribution inputs.

/// Rows of the reference sample kept for the out-of-distribution test, and features compared.
const PROBES: usize = 512;
const PROBE_FEATURES: usize = 256;

/// What the baseline rows say about normal inputs.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    pub mean: Vec<f32>,
    /// Each feature's spread: its standard deviation, floored at the median standard deviation
    /// of all features, so that a feature which hardly varies in the sample does not make
    /// small differences look large.
    pub spread: Vec<f32>,
    pub rows: usize,
    /// The features the out-of-distribution test compares (all, or a fixed sample of 256).
    probe_features: Vec<usize>,
    /// Up to 512 of the rows (a fixed sample) on those features, divided by the spread.
    probes: Vec<Vec<f32>>,
    /// The largest distance from a probe to its nearest other probe: how far apart normal
    /// inputs can be.
    nn_max: f32,
    /// The median distance from a probe to its nearest other probe: how far apart normal
    /// inputs typically are.
    nn_median: f32,
}

impl Baseline {
    pub fn from_rows(rows: &[Vec<f32>]) -> Option<Baseline> {
        let d = rows.first()?.len();
        if d == 0 || rows.iter().any(|r| r.len() != d) {
            return None;
        }
        let n = rows.len() as f64;
        let mut min = vec![f32::INFINITY; d];
        let mut max = vec![f32::NEG_INFINITY; d];
        let mut sum = vec![0f64; d];
        let mut sq = vec![0f64; d];
        for r in rows {
            for (j, &v) in r.iter().enumerate() {
                min[j] = min[j].min(v);
                max[j] = max[j].max(v);
                sum[j] += v as f64;
                sq[j] += (v as f64) * (v as f64);
            }
        }
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std: Vec<f32> = (0..d)
            .map(|j| {
                let m = sum[j] / n;
                (sq[j] / n - m * m).max(0.0).sqrt() as f32
            })
            .collect();
        let mut sorted = std.clone();
        sorted.sort_by(f32::total_cmp);
        let median = sorted[d / 2].max(1e-6);
        let spread: Vec<f32> = std.iter().map(|s| s.max(median)).collect();
        // A fixed sample (the same for the same rows), so that runs are comparable.
        let mut rng = crate::util::Rng::new(0x0b5e_7a11);
        let probe_features = sample(d, PROBE_FEATURES, &mut rng);
        let picked = sample(rows.len(), PROBES, &mut rng);
        let probes: Vec<Vec<f32>> = picked
            .iter()
            .map(|&i| {
                probe_features
                    .iter()
                    .map(|&j| rows[i][j] / spread[j])
                    .collect()
            })
            .collect();
        let mut nn: Vec<f32> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                probes
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| k != i)
                    .map(|(_, q)| dist2(p, q))
                    .fold(f32::INFINITY, f32::min)
            })
            .filter(|d| d.is_finite())
            .map(f32::sqrt)
            .collect();
        nn.sort_by(f32::total_cmp);
        let nn_max = nn.last().copied().unwrap_or(0.0);
        let nn_median = nn.get(nn.len() / 2).copied().unwrap_or(0.0);
        Some(Baseline {
            min,
            max,
            mean,
            spread,
            rows: rows.len(),
            probe_features,
            probes,
            nn_max,
            nn_median,
        })
    }

    /// The median distance from a baseline row to its nearest other one (features divided by
    /// their spread; over the probe features, all of them for rows of at most 256 values); 0
    /// with fewer than two rows.
    pub fn nn_median(&self) -> f32 {
        self.nn_median
    }

    /// A feature outside the baseline's range widened by its span, or by the widest feature's
    /// span for a feature that was (nearly) constant in the sample (a schema violation).
    pub fn out_of_range(&self, row: &[f32]) -> Option<(usize, f32, f32, f32)> {
        let widest = (0..self.min.len())
            .map(|j| self.max[j] - self.min[j])
            .fold(0f32, f32::max);
        row.iter().enumerate().find_map(|(j, &v)| {
            let span = (self.max[j] - self.min[j]).max(widest).max(1e-6);
            let (lo, hi) = (self.min[j] - span, self.max[j] + span);
            (!(lo..=hi).contains(&v)).then_some((j, v, lo, hi))
        })
    }

    /// How far `row` is from normal inputs: the distance to its nearest baseline row (features
    /// divided by their spread) over the largest such distance between baseline rows. 1 is as
    /// far from the others as the most isolated baseline row; `None` with fewer than two rows.
    pub fn ood(&self, row: &[f32]) -> Option<f32> {
        if self.probes.len() < 2 || self.nn_max <= 0.0 {
            return None;
        }
        let x: Vec<f32> = self
            .probe_features
            .iter()
            .map(|&j| row.get(j).copied().unwrap_or(0.0) / self.spread[j])
            .collect();
        let nearest = self
            .probes
            .iter()
            .map(|p| dist2(p, &x))
            .fold(f32::INFINITY, f32::min);
        Some(nearest.sqrt() / self.nn_max)
    }
}

/// Squared Euclidean distance.
pub(super) fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `k` of `0..n` (all of them when `n <= k`), in order, chosen with `rng`.
pub(super) fn sample(n: usize, k: usize, rng: &mut crate::util::Rng) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = i + (rng.next_u64() % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    let mut s = idx[..k].to_vec();
    s.sort_unstable();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_floored_at_the_median_and_ood_is_relative_to_normal_spacing() {
        let mut rng = crate::util::Rng::new(9);
        // Feature 0 never varies; the others are uniform on [0, 1].
        let rows: Vec<Vec<f32>> = (0..200)
            .map(|_| {
                let mut r: Vec<f32> = (0..8).map(|_| rng.unit()).collect();
                r[0] = 0.0;
                r
            })
            .collect();
        let b = Baseline::from_rows(&rows).unwrap();
        assert!((b.spread[0] - b.spread[3]).abs() < 0.1, "{:?}", b.spread);
        assert!(b.spread[0] > 0.2);
        // A baseline row is at distance 0; a far row is far.
        assert_eq!(b.ood(&rows[5]).unwrap(), 0.0);
        assert!(b.ood(&[5.0; 8]).unwrap() > 3.0);
        assert!(
            Baseline::from_rows(&rows[..1])
                .unwrap()
                .ood(&rows[0])
                .is_none()
        );
        assert!(Baseline::from_rows(&[vec![1.0], vec![1.0, 2.0]]).is_none());
        assert_eq!(sample(5, 10, &mut rng), [0, 1, 2, 3, 4]);
        let s = sample(100, 10, &mut rng);
        assert_eq!(s.len(), 10);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
    }
}
