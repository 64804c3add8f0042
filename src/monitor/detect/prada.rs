//! PRADA (Juuti et al., EuroS&P 2019) and the random projection it runs on.

use super::stats::shapiro_w;
use std::collections::{HashMap, VecDeque};

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

/// Growing-set points kept per client (over all classes), and distances kept for the
/// normality test.
const PRADA_SET: usize = 1024;
const PRADA_RING: usize = 1000;

/// PRADA state of one client.
#[derive(Clone, Debug, Default)]
pub struct Prada {
    sets: HashMap<usize, Vec<Vec<f32>>>,
    /// Points in all sets.
    kept: usize,
    thresholds: HashMap<usize, f32>,
    class_dists: HashMap<usize, VecDeque<f32>>,
    dists: VecDeque<f64>,
    pub queries: usize,
}

impl Prada {
    /// Observe one (projected) query with its predicted class; every 10 queries once
    /// `min_queries` are in, the W statistic of the distances (outliers beyond 3σ removed).
    /// A query at distance 0 from the growing set is a re-send of an answered query: it tells
    /// the client nothing new and is not counted (benign clients re-send; a run of zero
    /// distances is not an extraction set).
    pub fn observe(&mut self, x: &[f32], class: usize, min_queries: usize) -> Option<f64> {
        let set = self.sets.entry(class).or_default();
        let nearest = set
            .iter()
            .map(|g| {
                g.iter()
                    .zip(x)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>()
                    .sqrt()
            })
            .min_by(f32::total_cmp);
        if nearest == Some(0.0) {
            return None;
        }
        self.queries += 1;
        if let Some(d) = nearest {
            self.dists.push_back(d as f64);
            if self.dists.len() > PRADA_RING {
                self.dists.pop_front();
            }
            let t = self.thresholds.entry(class).or_insert(0.0);
            if d > *t && self.kept < PRADA_SET {
                set.push(x.to_vec());
                self.kept += 1;
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
        } else if self.kept < PRADA_SET {
            set.push(x.to_vec());
            self.kept += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

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
