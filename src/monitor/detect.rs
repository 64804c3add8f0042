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

use std::collections::{HashMap, VecDeque};

/// Token bucket: `rate` per second, at most `burst` at once.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: f64,
}

impl TokenBucket {
    pub fn new(burst: f64, now: f64) -> Self {
        TokenBucket {
            tokens: burst,
            last: now,
        }
    }

    /// Take one token at time `now` (seconds); false when empty.
    pub fn take(&mut self, rate: f64, burst: f64, now: f64) -> bool {
        self.tokens = (self.tokens + (now - self.last).max(0.0) * rate).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Per-feature statistics of sample rows.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    pub mean: Vec<f32>,
    /// Standard deviations, floored so constant features do not make every deviation infinite.
    pub std: Vec<f32>,
    pub rows: usize,
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
        let span = (0..d).map(|j| max[j] - min[j]).fold(0f32, f32::max);
        let floor = (0.05 * span).max(1e-6);
        let std = (0..d)
            .map(|j| {
                let m = sum[j] / n;
                ((sq[j] / n - m * m).max(0.0).sqrt() as f32).max(floor)
            })
            .collect();
        Some(Baseline {
            min,
            max,
            mean,
            std,
            rows: rows.len(),
        })
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

    /// The share of features whose |z| exceeds `z`, and the largest |z|.
    pub fn ood(&self, row: &[f32], z: f32) -> (f32, f32) {
        let mut over = 0;
        let mut worst = 0f32;
        for (j, &v) in row.iter().enumerate() {
            let zj = ((v - self.mean[j]) / self.std[j]).abs();
            worst = worst.max(zj);
            if zj > z {
                over += 1;
            }
        }
        (over as f32 / row.len().max(1) as f32, worst)
    }
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, |rel. error| < 1.2e-9).
fn norm_ppf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The Shapiro–Wilk W statistic (Royston 1992 coefficients, as scipy's swilk), for 3 ≤ n ≤
/// 5000; `None` outside that or for constant data.
pub fn shapiro_w(data: &[f64]) -> Option<f64> {
    let n = data.len();
    if !(3..=5000).contains(&n) {
        return None;
    }
    let mut x = data.to_vec();
    x.sort_by(f64::total_cmp);
    let nf = n as f64;
    let m: Vec<f64> = (1..=n)
        .map(|i| norm_ppf((i as f64 - 0.375) / (nf + 0.25)))
        .collect();
    let mm: f64 = m.iter().map(|v| v * v).sum();
    let u = 1.0 / nf.sqrt();
    let an = m[n - 1] / mm.sqrt() + 0.221_157 * u - 0.147_981 * u.powi(2) - 2.071_190 * u.powi(3)
        + 4.434_685 * u.powi(4)
        - 2.706_056 * u.powi(5);
    let mut a = vec![0f64; n];
    if n > 5 {
        let an1 =
            m[n - 2] / mm.sqrt() + 0.042_981 * u - 0.293_762 * u.powi(2) - 1.752_461 * u.powi(3)
                + 5.682_633 * u.powi(4)
                - 3.582_633 * u.powi(5);
        let phi = (mm - 2.0 * m[n - 1].powi(2) - 2.0 * m[n - 2].powi(2))
            / (1.0 - 2.0 * an.powi(2) - 2.0 * an1.powi(2));
        for i in 2..n - 2 {
            a[i] = m[i] / phi.sqrt();
        }
        a[n - 1] = an;
        a[n - 2] = an1;
        a[0] = -an;
        a[1] = -an1;
    } else {
        let phi = (mm - 2.0 * m[n - 1].powi(2)) / (1.0 - 2.0 * an.powi(2));
        for i in 1..n - 1 {
            a[i] = m[i] / phi.sqrt();
        }
        a[n - 1] = an;
        a[0] = -an;
    }
    let mean = x.iter().sum::<f64>() / nf;
    let ss: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    if ss <= 0.0 {
        return None;
    }
    let num: f64 = a
        .iter()
        .zip(&x)
        .map(|(ai, xi)| ai * xi)
        .sum::<f64>()
        .powi(2);
    Some((num / ss).min(1.0))
}

/// A fixed random projection to at most 32 dimensions (identity below that).
#[derive(Clone, Debug)]
pub struct Projection {
    d: usize,
    k: usize,
    w: Vec<f32>,
}

impl Projection {
    pub fn new(d: usize, seed: u64) -> Projection {
        let k = d.min(32);
        let mut w = vec![];
        if k < d {
            let mut rng = crate::util::Rng::new(seed);
            // Box–Muller normals, scaled so distances are preserved on average.
            let scale = 1.0 / (k as f32).sqrt();
            while w.len() < d * k {
                let (u1, u2) = (rng.unit().max(1e-7), rng.unit());
                let r = (-2.0 * u1.ln()).sqrt();
                w.push(r * (std::f32::consts::TAU * u2).cos() * scale);
                w.push(r * (std::f32::consts::TAU * u2).sin() * scale);
            }
            w.truncate(d * k);
        }
        Projection { d, k, w }
    }

    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        if self.w.is_empty() {
            return x.to_vec();
        }
        (0..self.k)
            .map(|i| {
                self.w[i * self.d..(i + 1) * self.d]
                    .iter()
                    .zip(x)
                    .map(|(a, b)| a * b)
                    .sum()
            })
            .collect()
    }
}

/// Growing-set points kept per class, and distances kept for the normality test.
const PRADA_SET: usize = 2000;
const PRADA_RING: usize = 1000;

/// PRADA state of one client.
#[derive(Clone, Debug, Default)]
pub struct Prada {
    sets: HashMap<usize, Vec<Vec<f32>>>,
    thresholds: HashMap<usize, f32>,
    class_dists: HashMap<usize, VecDeque<f32>>,
    dists: VecDeque<f64>,
    pub queries: usize,
}

impl Prada {
    /// Observe one (projected) query with its predicted class; every 10 queries once
    /// `min_queries` are in, the W statistic of the distances (outliers beyond 3σ removed).
    pub fn observe(&mut self, x: &[f32], class: usize, min_queries: usize) -> Option<f64> {
        self.queries += 1;
        let set = self.sets.entry(class).or_default();
        if let Some(d) = set
            .iter()
            .map(|g| {
                g.iter()
                    .zip(x)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>()
                    .sqrt()
            })
            .min_by(f32::total_cmp)
        {
            self.dists.push_back(d as f64);
            if self.dists.len() > PRADA_RING {
                self.dists.pop_front();
            }
            let t = self.thresholds.entry(class).or_insert(0.0);
            if d > *t && set.len() < PRADA_SET {
                set.push(x.to_vec());
                // As in the paper's algorithm: the threshold follows the distances of the
                // points that joined the growing set, not of every query.
                let cd = self.class_dists.entry(class).or_default();
                cd.push_back(d);
                if cd.len() > PRADA_RING {
                    cd.pop_front();
                }
                let n = cd.len() as f32;
                let mean = cd.iter().sum::<f32>() / n;
                let sd = (cd.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
                *t = t.max(mean - sd);
            }
        } else {
            set.push(x.to_vec());
        }
        if self.queries < min_queries.max(10)
            || !self.queries.is_multiple_of(10)
            || self.dists.len() < 50
        {
            return None;
        }
        let v: Vec<f64> = self.dists.iter().copied().collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        let kept: Vec<f64> = v
            .into_iter()
            .filter(|x| (x - mean).abs() <= 3.0 * sd)
            .collect();
        shapiro_w(&kept)
    }
}

/// Hashes per fingerprint.
const HASHES: usize = 50;
/// Query ids remembered per hash value: the most recent ones (a hash shared by very many
/// queries says little, and attack queries follow each other closely).
const PER_HASH: usize = 16;

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

/// The global near-duplicate table.
pub struct Probing {
    key: [u8; 32],
    subsets: Vec<Vec<usize>>,
    /// Quantisation: value → bucket per feature.
    lo: Vec<f32>,
    step: Vec<f32>,
    window: usize,
    /// Remembered queries, oldest first; ids are consecutive, so id − front id is the index.
    ring: VecDeque<Stored>,
    index: U64Map<VecDeque<u64>>,
    next_id: u64,
    clusters: U64Map<Cluster>,
    /// Remembered queries per cluster (a cluster is forgotten with its last member).
    members: U64Map<usize>,
}

struct Stored {
    id: u64,
    cluster: u64,
    hashes: Vec<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// Near-duplicate queries in the cluster.
    pub near: usize,
    /// Near duplicates by client (at most 16 clients listed).
    pub clients: Vec<(String, usize)>,
}

/// What one query matched.
#[derive(Clone, Debug)]
pub struct Match {
    /// Hashes shared with the closest earlier query (0 when none).
    pub shared: usize,
    pub near_duplicate: bool,
    pub cluster: Cluster,
}

impl Probing {
    /// For inputs of `d` values; `lo`/`hi` per feature set the quantisation (256 steps per
    /// range); `window` queries are remembered.
    pub fn new(d: usize, lo: Vec<f32>, hi: Vec<f32>, window: usize, key: [u8; 32]) -> Probing {
        let mut rng =
            crate::util::Rng::new(u64::from_le_bytes(key[..8].try_into().unwrap_or([0; 8])));
        let s = (d / 8).clamp(1, 16).min(d);
        let subsets = (0..HASHES)
            .map(|_| {
                let mut idx: Vec<usize> = (0..d).collect();
                for i in (1..d).rev() {
                    idx.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
                }
                let mut sub = idx[..s].to_vec();
                sub.sort_unstable();
                sub
            })
            .collect();
        let step = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| ((h - l) / 256.0).max(1e-6))
            .collect();
        Probing {
            key,
            subsets,
            lo,
            step,
            window: window.max(1),
            ring: VecDeque::new(),
            index: U64Map::default(),
            next_id: 0,
            clusters: U64Map::default(),
            members: U64Map::default(),
        }
    }

    fn stored(&self, id: u64) -> Option<&Stored> {
        let front = self.ring.front()?.id;
        self.ring.get(id.checked_sub(front)? as usize)
    }

    fn fingerprint(&self, x: &[f32]) -> Vec<u64> {
        // Keyed xxh3 (the seed is secret), as the research note measured: SHA-256 is not
        // needed when the key is the secret.
        let seed = u64::from_le_bytes(self.key[8..16].try_into().unwrap_or([0; 8]));
        let mut buf: Vec<u8> = Vec::with_capacity(8 * 16 + 4);
        self.subsets
            .iter()
            .enumerate()
            .map(|(j, sub)| {
                buf.clear();
                buf.extend_from_slice(&(j as u32).to_le_bytes());
                for &f in sub {
                    let v = x.get(f).copied().unwrap_or(0.0);
                    let q = ((v - self.lo.get(f).copied().unwrap_or(0.0))
                        / self.step.get(f).copied().unwrap_or(1.0))
                    .floor();
                    let q = if q.is_finite() { q as i64 } else { i64::MIN };
                    buf.extend_from_slice(&q.to_le_bytes());
                }
                xxhash_rust::xxh3::xxh3_64_with_seed(&buf, seed)
            })
            .collect()
    }

    /// Look a query up, then remember it.
    pub fn observe(&mut self, x: &[f32], client: &str, threshold: usize) -> Match {
        let hashes = self.fingerprint(x);
        let mut counts: U64Map<usize> = U64Map::default();
        counts.reserve(HASHES * PER_HASH);
        for h in &hashes {
            if let Some(ids) = self.index.get(h) {
                for &id in ids {
                    *counts.entry(id).or_default() += 1;
                }
            }
        }
        let best = counts
            .into_iter()
            .max_by_key(|&(id, c)| (c, std::cmp::Reverse(id)));
        let id = self.next_id;
        self.next_id += 1;
        let (shared, near, cluster_id) = match best {
            Some((bid, c)) if c >= threshold => {
                let cl = self.stored(bid).map(|s| s.cluster).unwrap_or(bid);
                (c, true, cl)
            }
            Some((_, c)) => (c, false, id),
            None => (0, false, id),
        };
        let cluster = self.clusters.entry(cluster_id).or_default();
        if near {
            cluster.near += 1;
            if let Some((_, n)) = cluster.clients.iter_mut().find(|(c, _)| c == client) {
                *n += 1;
            } else if cluster.clients.len() < 16 {
                cluster.clients.push((client.to_string(), 1));
            }
        }
        let snapshot = cluster.clone();
        for &h in &hashes {
            let ids = self.index.entry(h).or_default();
            ids.push_back(id);
            if ids.len() > PER_HASH {
                ids.pop_front();
            }
        }
        self.ring.push_back(Stored {
            id,
            cluster: cluster_id,
            hashes,
        });
        *self.members.entry(cluster_id).or_default() += 1;
        while self.ring.len() > self.window {
            if let Some(old) = self.ring.pop_front() {
                for h in old.hashes {
                    if let Some(ids) = self.index.get_mut(&h) {
                        ids.retain(|&i| i != old.id);
                        if ids.is_empty() {
                            self.index.remove(&h);
                        }
                    }
                }
                if let Some(n) = self.members.get_mut(&old.cluster) {
                    *n -= 1;
                    if *n == 0 {
                        self.members.remove(&old.cluster);
                        self.clusters.remove(&old.cluster);
                    }
                }
            }
        }
        Match {
            shared,
            near_duplicate: near,
            cluster: snapshot,
        }
    }

    /// Queries remembered.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// Recent (label, margin) of one client, for the boundary-walk signal.
#[derive(Clone, Debug, Default)]
pub struct Walk {
    recent: VecDeque<(usize, f32)>,
}

impl Walk {
    /// Record one answer; the label flips at margins below `margin` among the last 64.
    pub fn observe(&mut self, label: usize, m: f32, margin: f32) -> usize {
        self.recent.push_back((label, m));
        if self.recent.len() > 64 {
            self.recent.pop_front();
        }
        self.recent
            .iter()
            .zip(self.recent.iter().skip(1))
            .filter(|(a, b)| a.0 != b.0 && a.1 < margin && b.1 < margin)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapiro_w_matches_scipy() {
        // scipy 1.x `scipy.stats.shapiro` on the same data.
        let u: Vec<f64> = (0..120).map(|i| ((i * 37) % 101) as f64).collect();
        let e: Vec<f64> = u.iter().map(|v| (v / 20.0).exp()).collect();
        let n: Vec<f64> = (0..120)
            .map(|i| norm_ppf((i as f64 + 0.5) / 120.0))
            .collect();
        for (data, want) in [
            (u, 0.954_662_428_920_064_5),
            (e, 0.759_275_732_519_762_1),
            (n, 0.999_629_195_518_708_5),
        ] {
            let w = shapiro_w(&data).unwrap();
            assert!((w - want).abs() < 2e-4, "{w} vs {want}");
        }
        assert!(shapiro_w(&[1.0, 1.0, 1.0]).is_none());
        assert!((norm_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-8);
    }

    #[test]
    fn token_bucket_admits_burst_then_rate() {
        let mut b = TokenBucket::new(3.0, 0.0);
        assert!((0..3).all(|_| b.take(1.0, 3.0, 0.0)));
        assert!(!b.take(1.0, 3.0, 0.0));
        assert!(b.take(1.0, 3.0, 1.0));
        assert!(!b.take(1.0, 3.0, 1.5));
    }

    #[test]
    fn probing_sees_near_duplicates_across_clients_not_distinct_rows() {
        let d = 64;
        let mut p = Probing::new(d, vec![0.0; d], vec![1.0; d], 1000, [7; 32]);
        let mut rng = crate::util::Rng::new(1);
        // Distinct random rows: no near duplicates.
        for _ in 0..200 {
            let x: Vec<f32> = (0..d).map(|_| rng.unit()).collect();
            assert!(!p.observe(&x, "benign", 25).near_duplicate);
        }
        // A random search around one row, changing 2 features a query, split over 5 clients.
        let mut x: Vec<f32> = (0..d).map(|_| rng.unit()).collect();
        let mut last = Match {
            shared: 0,
            near_duplicate: false,
            cluster: Cluster::default(),
        };
        for q in 0..40 {
            for _ in 0..2 {
                let f = (rng.next_u64() % d as u64) as usize;
                x[f] = (x[f] + 0.2).min(1.0);
            }
            last = p.observe(&x, &format!("key{}", q % 5), 25);
        }
        assert!(last.near_duplicate);
        assert!(last.cluster.near >= 30, "{:?}", last.cluster);
        assert_eq!(last.cluster.clients.len(), 5);
        assert!(p.len() <= 1000);
    }

    #[test]
    fn prada_separates_synthetic_from_natural_queries() {
        let d = 8;
        // Natural: i.i.d. Gaussian rows → distances look normal.
        let mut rng = crate::util::Rng::new(3);
        let mut normal = || {
            let (u1, u2) = (rng.unit().max(1e-7), rng.unit());
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        };
        let mut benign = Prada::default();
        let mut w_benign = vec![];
        for _ in 0..600 {
            let x: Vec<f32> = (0..d).map(|_| normal()).collect();
            if let Some(w) = benign.observe(&x, 0, 100) {
                w_benign.push(w);
            }
        }
        // Synthetic (JbDA-style): small steps from a few seeds → many tiny distances.
        let mut attack = Prada::default();
        let mut w_attack = vec![];
        let seeds: Vec<Vec<f32>> = (0..5).map(|_| (0..d).map(|_| normal()).collect()).collect();
        for i in 0..600 {
            let mut x = seeds[i % 5].clone();
            let f = i % d;
            x[f] += 0.01 * (i / 5) as f32;
            if let Some(w) = attack.observe(&x, 0, 100) {
                w_attack.push(w);
            }
        }
        let min_benign = w_benign.iter().copied().fold(1.0, f64::min);
        let min_attack = w_attack.iter().copied().fold(1.0, f64::min);
        assert!(min_benign > 0.9, "{w_benign:?}");
        assert!(min_attack < 0.9, "{w_attack:?}");
    }
}
