//! Generation selection: a population search (a genetic algorithm such as GenAttack, an
//! evolution strategy with a population) sends its candidates a batch at a time and builds the
//! next batch on the candidates the model answered best, mostly on the fittest one. Clients
//! that batch variants of their inputs for their own reasons (the cells of a photo, frames of a
//! video, tiles, exposures, augmentations) build each batch on whatever came before.
//!
//! For each request that follows a request of at least [`MIN_PARENTS`] rows, each of its rows
//! that is not an exact copy of one of those rows has a **parent**: its nearest near duplicate
//! among them (squared distance on the codes of [`super::space`]). The previous request's
//! **fittest** row is the one answered closest to the decision boundary: the lowest top-1 margin
//! with its majority label, or the most confident other label (a tie is no answer). The pair of
//! requests is a **selected generation** when at least two of the `k` (≥ 2) new rows with a
//! parent, and at least half of them, were built on the fittest row. By chance — which rows
//! become parents not depending on their answers — the fittest is any of the `n` rows alike,
//! so the pair is selected with probability `p0 = m / n`, `m` being the rows that had that many
//! children (a central row, such as the clean image among its noisy copies, is everyone's
//! parent; it is the fittest only as often as any other row). The test is a one-sided z of the
//! selected generations against the sum of their `p0`:
//!
//! - Pairs whose fittest row is the previous request's last row are not read: a stream (video
//!   frames, a card sliding out of view) builds its next batch on its latest frame, and a trend
//!   in its answers makes that frame the fittest; a population's fittest candidate can sit
//!   anywhere in the batch.
//! - Exact copies (a popular image re-sent, a retried request, an elite re-sent as is) do not
//!   count: a client re-sending its favourite, ambiguous image is not building on it.
//! - One new row built on the fittest (a client retaking the photo it was least sure of) is
//!   not a generation: a population's fittest candidate has several children.
//!
//! The counts halve every [`DECAY`] pairs, so an old search does not carry the score for ever.
//!
//! **Drift** is the other shape of a population search: a distribution search (NATTACK, an
//! evolution strategy, NES without antithetic pairs) sends each iteration as one batch of noise
//! around its current mean, and moves the mean along the answers. A request of at least
//! [`DRIFT_ROWS`] rows of which [`DRIFT_SHARE`] are near duplicates of their centre (the median
//! of each code) is a **population**; consecutive populations whose centres are near duplicates
//! form a chain (requests in between that are not populations neither extend nor break it).
//! Each population's answer is the median of its near rows' signed margins (for the chain's
//! first label); a search lowers it batch after batch, and a Mann–Kendall z over the chain's
//! last [`DRIFT_WINDOW`] answers is read against the probing trend threshold, with the steps
//! between consecutive answers falling more often than rising ([`DRIFT_STEPS_Z`]). Clients that
//! send noise around one image (randomized smoothing) or around the frames of a stream make
//! their batches without looking at the answers: no trend, or a random walk's.

use super::space::{dist2, far};

/// Rows of the previous request kept (a population is a batch; the rest is not read).
pub const BATCH: usize = 64;
/// Rows the previous request needs for a pair to be read (the chance of the fittest being a
/// row's nearest is 1/n: two rows say little).
pub const MIN_PARENTS: usize = 3;
/// Selected generations before the test is read.
pub const MIN_GENERATIONS: f32 = 4.0;
/// The test's threshold (one-sided z).
pub const Z: f32 = 4.0;
const DECAY: u32 = 256;
/// Rows a request needs to be read as a population.
pub const DRIFT_ROWS: usize = 8;
/// Share of a population's rows that are near duplicates of its centre.
pub const DRIFT_SHARE: f32 = 0.8;
/// Share of the features a population's row moves from its centre (by more than
/// [`DRIFT_MOVED`]), more than: a distribution's samples move most (an L∞-bounded one whose
/// samples saturate at the ball's faces, as TREMBA's decoded perturbations do, a fifth of a digit's
/// features); a batch of one input with one feature masked in each row moves one. An eighth is
/// also where the sparse-step test's changes end.
pub const DRIFT_DENSE: f32 = 0.125;
/// A change smaller than this is no change (the values a client re-sends as they were).
pub const DRIFT_MOVED: f32 = 1e-4;
/// Populations of a chain whose answers the trend reads.
pub const DRIFT_WINDOW: usize = 32;
/// The steps between consecutive populations' answers must also fall more often than they
/// rise, by this one-sided sign-test z: a stream whose frames wander at random (a hand-held
/// camera) makes its answers a random walk, and a random walk's levels trend by Mann–Kendall
/// however independent its steps are.
pub const DRIFT_STEPS_Z: f32 = 2.5;

#[derive(Clone, Debug, Default)]
struct Row {
    codes: Vec<i8>,
    hash: u64,
    label: u32,
    margin: f32,
}

/// One client's last two requests' rows and the test's counts.
#[derive(Clone, Debug, Default)]
pub struct Generations {
    prev: Vec<Row>,
    cur: Vec<Row>,
    /// The previous request's fittest row (None: the pair is not read).
    fittest: Option<usize>,
    /// This request's new rows built on each of the previous request's rows.
    children: Vec<u32>,
    /// Selected generations, their expected number by chance and its variance, pairs read.
    selected: f32,
    expected: f32,
    variance: f32,
    pairs: u32,
    /// The chain of populations: the last one's centre, the chain's label and its answers.
    centre: Vec<i8>,
    chain_label: u32,
    chain: std::collections::VecDeque<f32>,
    populations: u32,
}

/// A chain of populations after a request that extended it.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    /// Populations in the chain (all of them; the trend reads the last [`DRIFT_WINDOW`]).
    pub populations: u32,
    /// Mann–Kendall z of the answers' levels.
    pub z: f32,
    /// Sign-test z of the steps between consecutive answers (negative: falling).
    pub steps_z: f32,
}

impl Drift {
    /// The drift is a search: levels and steps both falling (`z_threshold`: the levels' test).
    pub fn falling(&self, z_threshold: f32) -> bool {
        self.z <= -z_threshold && self.steps_z <= -DRIFT_STEPS_Z
    }
}

/// The test's state after a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    pub z: f32,
    pub selected: f32,
    pub expected: f32,
    pub pairs: u32,
}

impl Generations {
    /// The rows observed from now on belong to the client's next request.
    pub fn begin_request(&mut self) {
        if !self.cur.is_empty() {
            std::mem::swap(&mut self.prev, &mut self.cur);
            self.cur.clear();
        }
        self.children.clear();
        self.children.resize(self.prev.len(), 0);
        self.fittest = None;
        let n = self.prev.len();
        if n < MIN_PARENTS {
            return;
        }
        let mut labels: Vec<(u32, u32)> = Vec::new();
        for r in &self.prev {
            match labels.iter_mut().find(|(l, _)| *l == r.label) {
                Some((_, c)) => *c += 1,
                None => labels.push((r.label, 1)),
            }
        }
        let majority = labels
            .iter()
            .max_by_key(|(_, c)| *c)
            .map(|(l, _)| *l)
            .unwrap_or(0);
        let signed = |r: &Row| super::neardup::signed(r.label, r.margin, majority);
        let fittest = (0..n)
            .min_by(|&a, &b| signed(&self.prev[a]).total_cmp(&signed(&self.prev[b])))
            .filter(|&i| i + 1 != n)
            .filter(|&i| {
                let m = signed(&self.prev[i]);
                self.prev.iter().filter(|r| signed(r) == m).count() == 1
            });
        self.fittest = fittest;
    }

    /// Observe a row of the current request (its codes, exact-value hash and answer); `allow`:
    /// far features a near duplicate may have.
    pub fn observe(&mut self, codes: &[i8], hash: u64, label: u32, margin: f32, allow: usize) {
        if self.fittest.is_some() && !self.prev.iter().any(|r| r.hash == hash) {
            let mut parent: Option<(i32, usize)> = None;
            for (i, r) in self.prev.iter().enumerate() {
                if r.codes.len() != codes.len() || far(&r.codes, codes, allow) > allow {
                    continue;
                }
                let d = dist2(&r.codes, codes);
                if parent.is_none_or(|(best, _)| d < best) {
                    parent = Some((d, i));
                }
            }
            if let Some((_, i)) = parent {
                self.children[i] += 1;
            }
        }
        if self.cur.len() < BATCH {
            self.cur.push(Row {
                codes: codes.to_vec(),
                hash,
                label,
                margin,
            });
        }
    }

    /// The request is complete: count its pair with the previous one; the test's state once
    /// [`MIN_GENERATIONS`] generations were selected.
    pub fn end_request(&mut self) -> Option<Generation> {
        let k: u32 = self.children.iter().sum();
        if let Some(fittest) = self.fittest
            && k >= 2
        {
            let need = 2.max(k.div_ceil(2));
            let m = self.children.iter().filter(|&&c| c >= need).count();
            let p0 = m as f32 / self.prev.len() as f32;
            self.selected += f32::from(self.children[fittest] >= need);
            self.expected += p0;
            self.variance += p0 * (1.0 - p0);
            self.pairs += 1;
            if self.pairs >= DECAY {
                self.selected /= 2.0;
                self.expected /= 2.0;
                self.variance /= 2.0;
                self.pairs /= 2;
            }
        }
        if self.selected < MIN_GENERATIONS || self.variance <= 0.0 {
            return None;
        }
        Some(Generation {
            z: (self.selected - self.expected) / self.variance.sqrt(),
            selected: self.selected,
            expected: self.expected,
            pairs: self.pairs,
        })
    }
}

impl Generations {
    /// After [`end_request`](Self::end_request): whether the request was a population (see the
    /// module), and if so the chain it extended. `allow`: far features a near duplicate may
    /// have; `noise`: whether the request's rows are noise around their centre where the caller
    /// can tell (white differences on an image: augmentations such as shifts and crops around a
    /// stream's frames are not a population).
    pub fn drift(&mut self, allow: usize, noise: bool) -> Option<Drift> {
        let rows = &self.cur;
        if !noise
            || rows.len() < DRIFT_ROWS
            || rows.iter().any(|r| r.codes.len() != rows[0].codes.len())
        {
            return None;
        }
        let width = rows[0].codes.len();
        let mut column: Vec<i8> = Vec::with_capacity(rows.len());
        let centre: Vec<i8> = (0..width)
            .map(|j| {
                column.clear();
                column.extend(rows.iter().map(|r| r.codes[j]));
                let mid = column.len() / 2;
                *column.select_nth_unstable(mid).1
            })
            .collect();
        let near: Vec<&Row> = rows
            .iter()
            .filter(|r| far(&r.codes, &centre, allow) <= allow)
            .collect();
        if (near.len() as f32) < DRIFT_SHARE * rows.len() as f32 {
            return None;
        }
        let continues = !self.chain.is_empty() && far(&self.centre, &centre, allow) <= allow;
        if !continues {
            self.chain.clear();
            self.populations = 0;
            let mut labels: Vec<(u32, u32)> = Vec::new();
            for r in &near {
                match labels.iter_mut().find(|(l, _)| *l == r.label) {
                    Some((_, c)) => *c += 1,
                    None => labels.push((r.label, 1)),
                }
            }
            self.chain_label = labels.iter().max_by_key(|(_, c)| *c).map_or(0, |(l, _)| *l);
        }
        let mut values: Vec<f32> = near
            .iter()
            .map(|r| super::neardup::signed(r.label, r.margin, self.chain_label))
            .collect();
        let mid = values.len() / 2;
        let answer = *values.select_nth_unstable_by(mid, f32::total_cmp).1;
        if self.chain.len() == DRIFT_WINDOW {
            self.chain.pop_front();
        }
        self.chain.push_back(answer);
        self.populations = self.populations.saturating_add(1);
        self.centre = centre;
        let n = self.chain.len();
        let mut s = 0i64;
        for i in 0..n {
            for j in i + 1..n {
                s += super::neardup::order_sign(self.chain[j], self.chain[i]);
            }
        }
        let pairs = (n * n.saturating_sub(1) / 2) as u64;
        let (mut steps, mut moved) = (0i64, 0u32);
        for i in 1..n {
            let sign = super::neardup::order_sign(self.chain[i], self.chain[i - 1]);
            steps += sign;
            moved += u32::from(sign != 0);
        }
        Some(Drift {
            populations: self.populations,
            z: super::neardup::mann_kendall_z(s, pairs, n as u32),
            steps_z: if moved == 0 {
                0.0
            } else {
                steps as f32 / (moved as f32).sqrt()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    /// Codes at the engine's scale for values in [0, 1] (a code step of 1/64).
    fn codes(x: &[f32]) -> Vec<i8> {
        x.iter()
            .map(|v| ((v - 0.5) * 128.0).round().clamp(-127.0, 127.0) as i8)
            .collect()
    }

    fn hash(x: &[f32]) -> u64 {
        x.iter().fold(1469598103934665603u64, |h, v| {
            (h ^ u64::from(v.to_bits())).wrapping_mul(1099511628211)
        })
    }

    /// A toy loss: the margin falls as the row moves along `w`.
    fn margin(w: &[f32], x0: &[f32], x: &[f32]) -> f32 {
        let s: f32 = w.iter().zip(x).zip(x0).map(|((w, a), b)| w * (a - b)).sum();
        (0.9 - s).clamp(0.01, 1.0)
    }

    fn noise(x: &[f32], scale: f32, rng: &mut Rng) -> Vec<f32> {
        x.iter()
            .map(|v| (v + (rng.unit() - 0.5) * scale).clamp(0.0, 1.0))
            .collect()
    }

    /// Runs `gens` requests of `pop` rows through the test; `next` builds a request from the
    /// previous one's rows and margins. Returns the request at which z ≥ Z first held.
    fn run(
        gens: usize,
        pop: usize,
        seed: u64,
        next: impl Fn(&[Vec<f32>], &[f32], &mut Rng) -> Vec<Vec<f32>>,
    ) -> Option<usize> {
        let mut rng = Rng::new(seed);
        let x0: Vec<f32> = (0..64).map(|_| 0.2 + 0.6 * rng.unit()).collect();
        let w: Vec<f32> = (0..64).map(|_| (rng.unit() - 0.5) * 0.2).collect();
        let mut g = Generations::default();
        let mut rows: Vec<Vec<f32>> = (0..pop).map(|_| noise(&x0, 0.1, &mut rng)).collect();
        for r in 0..gens {
            g.begin_request();
            let margins: Vec<f32> = rows.iter().map(|x| margin(&w, &x0, x)).collect();
            for (x, m) in rows.iter().zip(&margins) {
                g.observe(&codes(x), hash(x), 3, *m, 6);
            }
            if g.end_request().is_some_and(|s| s.z >= Z) {
                return Some(r + 1);
            }
            rows = next(&rows, &margins, &mut rng);
        }
        None
    }

    fn fittest(margins: &[f32]) -> usize {
        (0..margins.len())
            .min_by(|&a, &b| margins[a].total_cmp(&margins[b]))
            .unwrap_or(0)
    }

    #[test]
    fn a_genetic_search_keeping_its_fittest_is_found_in_a_few_generations() {
        // GenAttack's shape: the elite re-sent as is, the others its mutated children or
        // crossovers of it with another parent.
        for seed in 0..10 {
            let found = run(40, 6, seed, |rows, m, rng| {
                let best = rows[fittest(m)].clone();
                let mut out = vec![best.clone()];
                while out.len() < rows.len() {
                    let other = &rows[(rng.next_u64() % rows.len() as u64) as usize];
                    let child: Vec<f32> = best
                        .iter()
                        .zip(other)
                        .map(|(a, b)| if rng.unit() < 0.8 { *a } else { *b })
                        .collect();
                    out.push(noise(&child, 0.04, rng));
                }
                out
            });
            assert!(found.is_some_and(|r| r <= 12), "seed {seed}: {found:?}");
        }
    }

    #[test]
    fn batches_built_without_looking_at_the_answers_are_not_generations() {
        for seed in 0..10 {
            // New noise around each of the previous rows (a batch of one input's variants).
            assert_eq!(
                run(200, 6, 100 + seed, |rows, _, rng| rows
                    .iter()
                    .map(|x| noise(x, 0.04, rng))
                    .collect()),
                None,
                "seed {seed}"
            );
            // Children of a row chosen at random (not by its answer).
            assert_eq!(
                run(200, 6, 200 + seed, |rows, _, rng| {
                    let p = rows[(rng.next_u64() % rows.len() as u64) as usize].clone();
                    (0..rows.len()).map(|_| noise(&p, 0.04, rng)).collect()
                }),
                None,
                "seed {seed}"
            );
            // A stream: every row of the next batch continues the previous batch's last row,
            // whatever the answers (the pairs whose fittest row is the last are not read).
            assert_eq!(
                run(200, 4, 300 + seed, |rows, _, rng| {
                    let mut last = rows[rows.len() - 1].clone();
                    (0..rows.len())
                        .map(|_| {
                            last = noise(&last, 0.02, rng).iter().map(|v| v + 0.002).collect();
                            last.clone()
                        })
                        .collect()
                }),
                None,
                "seed {seed}"
            );
            // One retake of the row answered least surely, the others new noise of their own.
            assert_eq!(
                run(200, 6, 400 + seed, |rows, m, rng| {
                    let b = fittest(m);
                    rows.iter()
                        .enumerate()
                        .map(|(i, x)| noise(if i == 0 { &rows[b] } else { x }, 0.04, rng))
                        .collect()
                }),
                None,
                "seed {seed}"
            );
        }
    }

    /// Runs `batches` populations of `pop` noise copies (scale 0.1) around a centre moved by
    /// `step` after each batch (from the batch's rows and margins); the batch at which the
    /// drift first read as falling (levels' z −4), and the levels' lowest z.
    fn drift_run(
        batches: usize,
        pop: usize,
        seed: u64,
        step: impl Fn(&[f32], &[Vec<f32>], &[f32], &[f32], &mut Rng) -> Vec<f32>,
    ) -> (Option<usize>, f32) {
        let mut rng = Rng::new(seed);
        let x0: Vec<f32> = (0..64).map(|_| 0.2 + 0.6 * rng.unit()).collect();
        let w: Vec<f32> = (0..64).map(|_| (rng.unit() - 0.5) * 0.2).collect();
        let mut g = Generations::default();
        let mut centre = x0.clone();
        let (mut first, mut low) = (None, 0f32);
        for b in 0..batches {
            let rows: Vec<Vec<f32>> = (0..pop).map(|_| noise(&centre, 0.1, &mut rng)).collect();
            let margins: Vec<f32> = rows.iter().map(|x| margin(&w, &x0, x)).collect();
            g.begin_request();
            for (x, m) in rows.iter().zip(&margins) {
                g.observe(&codes(x), hash(x), 3, *m, 6);
            }
            g.end_request();
            if let Some(d) = g.drift(6, true) {
                low = low.min(d.z);
                if d.falling(4.0) && first.is_none() {
                    first = Some(b + 1);
                }
            }
            centre = step(&centre, &rows, &margins, &w, &mut rng);
        }
        (first, low)
    }

    #[test]
    fn a_distribution_search_moving_its_mean_along_the_answers_drifts() {
        // NATTACK / NES without antithetic pairs: the mean moves by a small step along the
        // population's estimate of the answers' gradient (here: the noise weighted by the
        // margins' z-scores), clipped to the image's range.
        for seed in 0..10 {
            let (found, low) = drift_run(40, 20, seed, |c, rows, m, _, _| {
                let mean = m.iter().sum::<f32>() / m.len() as f32;
                let sd = (m.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / m.len() as f32)
                    .sqrt()
                    .max(1e-6);
                let mut g = vec![0f32; c.len()];
                for (x, v) in rows.iter().zip(m) {
                    for (gj, (xj, cj)) in g.iter_mut().zip(x.iter().zip(c)) {
                        *gj += (v - mean) / sd * (xj - cj);
                    }
                }
                c.iter()
                    .zip(&g)
                    .map(|(cj, gj)| (cj - 0.02 * gj.signum()).clamp(0.0, 1.0))
                    .collect()
            });
            assert!(
                found.is_some_and(|b| b <= 16),
                "seed {seed}: {found:?} (z {low})"
            );
        }
    }

    #[test]
    fn noise_around_one_image_or_a_drifting_scene_is_not_a_drift_without_a_falling_answer() {
        for seed in 0..10 {
            // Randomized smoothing: the same image under fresh noise, 200 batches.
            let (found, low) = drift_run(200, 20, 500 + seed, |c, _, _, _, _| c.to_vec());
            assert_eq!(found, None, "seed {seed}: z {low}");
            // A scene drifting at random (a hand-held camera), answered as it comes.
            let (found, low) = drift_run(200, 20, 600 + seed, |c, _, _, _, rng| {
                c.iter()
                    .map(|v| (v + (rng.unit() - 0.5) * 0.01).clamp(0.0, 1.0))
                    .collect()
            });
            assert_eq!(found, None, "seed {seed}: z {low}");
        }
        // Distinct images in a batch are not a population.
        let mut rng = Rng::new(7);
        let mut g = Generations::default();
        g.begin_request();
        for _ in 0..20 {
            let x: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
            g.observe(&codes(&x), hash(&x), 3, 0.5, 6);
        }
        g.end_request();
        assert_eq!(g.drift(6, true), None);
    }
}
