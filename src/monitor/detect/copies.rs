//! Noise copies: a client that sends one input many times, each time with fresh independent
//! noise on every feature — randomized smoothing's prediction (Cohen et al. 2019), Monte-Carlo
//! uncertainty estimates, noise-robustness QA — covers one point of the input space, however
//! many distinct rows it sends. Its rows are not fresh points of an extraction set either.
//!
//! A row is a *noise copy* of the client's previous row when their difference is
//!
//! - **white**: on an image, the lag-1 autocorrelation of the difference between neighbouring
//!   pixels (across and down, every channel) is at most [`WHITE`], about two standard
//!   deviations of independent noise's on an 8 × 8 image (its 112 neighbour pairs give a
//!   standard deviation of 1/√112 ≈ 0.095). Two different natural images differ in strokes
//!   and shapes, which neighbouring pixels share (0.3–0.7 on digits);
//! - **small**: at most [`RADIUS`] times the median distance from a baseline row to its
//!   nearest other baseline row (features divided by their spread). Without this bound,
//!   distinct inputs under heavy noise would pass as copies of each other (a natural-data
//!   extraction hiding its coverage): on the digits, noise heavy enough to whiten the
//!   difference of two different digits also takes them beyond it, so at most about 6 % of
//!   such pairs pass at any noise level, while copies pass up to a noise of σ ≈ 0.25 on
//!   [0, 1] values (a share of them at 0.3, none at 0.5: heavier smoothing counts in full).
//!
//! Coverage counts the first row of a run of copies and, as a volume backstop, every copy after
//! [`COPY_RUN`] in a row (randomized smoothing's prediction draws about 100).
//!
//! **A run's centre**: copies count as one point only while the run is centred on a natural
//! input. Every [`CENTRE_EVERY`] copies the run's mean (its rows' average, where the noise
//! cancels) is measured against the baseline ([`Baseline::ood`]); farther than [`CENTRE_OOD`],
//! the run's later copies count as different inputs. Randomized smoothing, Monte-Carlo
//! estimates and noise-robustness QA put noise on an input they hold, and their runs centre on
//! it (held out 7's smoothing clients: 0.31–0.89 of the baseline's largest nearest-neighbour
//! distance, at every measurement). A data-free extraction's generator (IDEAL, DisGUIDE: a
//! small MLP from noise to pixels, no spatial structure) emits rows that differ from each other
//! by white noise, so they pass as copies, but they centre on grey mush no real input is near
//! (1.18–1.97 at every measurement on held out 18's sessions): without this, 1,948 of IDEAL's
//! 2,000 rows were copies and coverage counted 136 different inputs.
//!
//! Only square images of one or three channels of at most 128 values are tested (the layout
//! the neighbours are read in), and only with a baseline (the distance scale). Otherwise no row
//! is a copy: coverage counts every distinct row, as before (fail closed).
//!
//! **Antithetic pairs**: a symmetric finite-difference gradient estimate (NES, SPSA, zeroth-order
//! sign methods) queries `x + σu` and `x − σu` for fresh noise directions `u` around a point
//! `x` it queries too. A row is *antithetic* when an earlier row `q` of its request is a noise
//! copy of it (white and small, as above) and another row `a` of the request is their
//! midpoint: on the features that changed and that neither row has at the midpoint's own lowest
//! or highest value (clipping to the valid range breaks the symmetry there), at least
//! [`ANTI_SHARE`] within [`ANTI_TOL`] of `q − row`'s size and at least [`ANTI_FEATURES`] of
//! them. Independent noise copies (randomized
//! smoothing), augmentations and a morph's frames (symmetric around the middle frame, but not
//! white) are not antithetic. Rounding coarser than a quarter of the noise (an estimate with
//! σ = 0.01 stored as 8-bit values) breaks the symmetry: such a search is not seen this way.
//! The pair's size goes to the finite-difference test, which wants a request's pairs of one
//! size (`select::NOISE_SDS`): a quasi-Monte Carlo design over masks (Sobol attributions) has
//! the shape too — its centre, the mask at ½, is the midpoint of pairs `M`, `1 − M` whose
//! difference is as white as the cells are — but at every distance from the centre.
//!
//! **Forward differences** (round 22): a one-sided gradient estimate (ZO-AdaMM, ZO-signSGD,
//! P-RGF: `(f(x + μu) − f(x)) / μ` over random directions `u`) queries `x + μu` for fresh `u`
//! around a point it queries too, or only the probes, with a step `μ` chosen to be far below
//! anything the inputs vary by (the difference must approximate a derivative). A row is a
//! *forward difference* of an earlier row of its request when the two differ on at least
//! [`FORWARD_DENSE`] of the compared features, by white noise (as above), no more than
//! [`FORWARD_RADIUS`] of the baseline's median nearest-neighbour distance apart. Two probes
//! `x + μu`, `x + μv` differ by `μ(u − v)`, white too, and a prior shared by the probes (P-RGF's
//! transfer gradient) cancels. Natural inputs are never this close: the seen sets' benign dense
//! white copies (a codec's or a sensor's noise on one image, smoothing) were 0.076 and more of
//! it; the attacks' steps were 0.0006–0.006.
//!
//! **Sparse forward differences** (round 26): the same estimate over random *sparse* directions
//! (SZOHT's few-pixel attack: `x + μu`, `u` on the unit sphere of 8 random pixels) changes a
//! few scattered features of the point, every other value bit for bit the point's: see
//! [`Batch::push_star`]. Such a batch and a second one around a point the search moved a few
//! features are a search (`select::Selection::note_sparse_batch`): SZOHT succeeds at its second
//! request, so three batches (as dense estimates need) would come after it.

use super::baseline::Baseline;
use super::basis::Image;

/// Largest neighbour autocorrelation of a white difference.
pub const WHITE: f32 = 0.2;
/// Largest distance of a copy, in median baseline nearest-neighbour distances.
pub const RADIUS: f32 = 2.0;
/// Noise copies in a row that count as one point; the ones after count again: a search that
/// spends thousands of queries as noise around one input (an evolutionary search's population,
/// ThresholdAttack's 384 a generation) is volume however it is drawn.
pub const COPY_RUN: u32 = 128;
/// Copies between measurements of a run's centre (the first after this many, when the mean of
/// nine rows has a third of one row's noise).
pub const CENTRE_EVERY: u32 = 8;
/// A run's centre farther than this from the baseline ([`Baseline::ood`]: 1 is as far as the
/// most isolated baseline row is from the others) is not a natural input.
pub const CENTRE_OOD: f32 = 1.0;

/// Whether `row` is a noise copy of `prev` (see the module's documentation).
pub fn is_noise_copy(prev: &[f32], row: &[f32], image: Image, baseline: &Baseline) -> bool {
    let n = image.side;
    let area = n * n;
    if prev.len() != row.len() || row.len() != image.channels * area {
        return false;
    }
    let limit = RADIUS * baseline.nn_median();
    if limit <= 0.0 || baseline.spread.len() != row.len() {
        return false;
    }
    scaled_dist2(prev, row, &baseline.spread, limit).is_some_and(|d| d > 0.0)
        && white(prev, row, image)
}

/// The squared distance between `a` and `b`, features divided by their `spread`, when it is
/// finite and at most `limit` squared (stops at the first features past it: most rows are far
/// from most others).
fn scaled_dist2(a: &[f32], b: &[f32], spread: &[f32], limit: f32) -> Option<f32> {
    let bound = limit * limit;
    let mut d2 = 0f32;
    for ((x, y), s) in a.iter().zip(b).zip(spread) {
        let d = (y - x) / s;
        d2 += d * d;
        if d2 > bound {
            return None;
        }
    }
    d2.is_finite().then_some(d2)
}

/// Whether the difference `row − prev` is white on `image`: the lag-1 autocorrelation between
/// neighbouring pixels (across and down, every channel) at most [`WHITE`].
pub fn white(prev: &[f32], row: &[f32], image: Image) -> bool {
    let n = image.side;
    let area = n * n;
    if prev.len() != row.len() || row.len() != image.channels * area {
        return false;
    }
    let (mut across, mut energy) = (0f32, 0f32);
    for c in 0..image.channels {
        let d = |i: usize, j: usize| row[c * area + i * n + j] - prev[c * area + i * n + j];
        for i in 0..n {
            for j in 0..n {
                let v = d(i, j);
                energy += v * v;
                if j + 1 < n {
                    across += v * d(i, j + 1);
                }
                if i + 1 < n {
                    across += v * d(i + 1, j);
                }
            }
        }
    }
    // Each pixel has two neighbour pairs, less the edges: the autocorrelation is the pairs'
    // mean product over the pixels' mean square.
    let pairs = (image.channels * 2 * n * (n - 1)) as f32;
    let pixels = (image.channels * area) as f32;
    energy > 0.0 && (across / pairs) / (energy / pixels) <= WHITE
}

/// The midpoint relation's tolerance, as a share of the pair's difference on each feature.
pub const ANTI_TOL: f32 = 0.25;
/// The share of the compared features the relation holds on, and their least number.
pub const ANTI_SHARE: f32 = 0.9;
pub const ANTI_FEATURES: usize = 8;
/// Rows of a request a row is paired among.
pub const BATCH: usize = 64;
/// A forward difference's largest size, in median baseline nearest-neighbour distances (see the
/// module's documentation): a fiftieth.
pub const FORWARD_RADIUS: f32 = 0.02;
/// The share of the compared features a forward difference changes (a random direction moves
/// every feature, less those clipped at the range's end; a change of one or two features is a
/// coordinate difference, read as such).
pub const FORWARD_DENSE: f32 = 0.5;

/// A sparse forward difference's largest size, in median baseline nearest-neighbour distances
/// (see the module's documentation): three times a dense one's, as a change of a few scattered
/// features is rarer among natural variants than white noise on all of them. On the seen sets
/// no benign request held even one batch of such differences; SZOHT's probes (μ 0.05 on 8 of
/// the digits' 64 pixels) were at most 0.05.
pub const SPARSE_FORWARD_RADIUS: f32 = 0.06;
/// The fewest features a sparse forward difference changes (one or two: a coordinate
/// difference, which `select` reads on its own).
pub const SPARSE_FORWARD_MIN: usize = 3;

/// A request's rows (the first [`BATCH`]) for antithetic pairs, each with its lowest and highest
/// value (computed once: a row is the midpoint candidate of every later pair), and for sparse
/// forward differences, each with the number of kept rows that are one of it.
#[derive(Debug, Default)]
pub struct Batch {
    rows: Vec<(Vec<f32>, f32, f32)>,
    star: Vec<u32>,
    /// The request was found a sparse finite-difference batch already.
    starred: bool,
    changed: Vec<usize>,
}

impl Batch {
    /// Keep `row` (up to [`BATCH`] rows).
    pub fn push(&mut self, row: &[f32]) {
        if self.rows.len() < BATCH {
            let (lo, hi) = row
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            self.rows.push((row.to_vec(), lo, hi));
            self.star.push(0);
        }
    }

    /// Keep `row` (as [`Batch::push`]) and read it for **sparse forward differences**: a
    /// one-sided gradient estimate over random sparse directions (SZOHT, de Vazelhes et al.
    /// 2022: `x + μu` with `u` on the unit sphere of a random support of a few coordinates)
    /// makes rows that each differ from the point `x` in a few scattered features
    /// ([`SPARSE_FORWARD_MIN`] to [`super::sparse::max_changed`]; on a one-channel image at
    /// least two 8-connected groups, otherwise two runs), every other value bit for bit the
    /// point's, no more than [`SPARSE_FORWARD_RADIUS`] of the baseline's median
    /// nearest-neighbour distance from it. The first time a kept row has `rows` such
    /// differences among the request's kept rows, the request is a sparse finite-difference
    /// batch: that row (the point) is returned, once a request. Masking explainers change
    /// one connected region by whatever the mask and the image differ by; quantised formats
    /// change values by whole levels, far more than this.
    pub fn push_star(
        &mut self,
        row: &[f32],
        image: Image,
        baseline: &Baseline,
        rows: u32,
    ) -> Option<Vec<f32>> {
        let kept = self.rows.len();
        self.push(row);
        let limit = SPARSE_FORWARD_RADIUS * baseline.nn_median();
        if self.starred
            || self.rows.len() == kept
            || limit <= 0.0
            || baseline.spread.len() != row.len()
        {
            return None;
        }
        let side = (image.channels == 1).then_some(image.side);
        let max = super::sparse::max_changed(row.len());
        let mut own = 0;
        let mut point = None;
        for i in 0..kept {
            let q = &self.rows[i].0;
            if q.len() != row.len()
                || !sparse_difference(q, row, max, &mut self.changed)
                || !super::sparse::scattered(&self.changed, side)
                || scaled_dist2(q, row, &baseline.spread, limit).is_none()
            {
                continue;
            }
            own += 1;
            self.star[i] += 1;
            if self.star[i] >= rows && point.is_none() {
                point = Some(i);
            }
        }
        self.star[kept] = own;
        if own >= rows && point.is_none() {
            point = Some(kept);
        }
        let point = point?;
        self.starred = true;
        Some(self.rows[point].0.clone())
    }

    /// Whether `row` pairs with one of the kept rows around another: the two are noise copies of
    /// each other ([`is_noise_copy`]) and another is their midpoint. The pair's size (the
    /// Euclidean distance between its two rows) when it does.
    pub fn antithetic(&self, row: &[f32], image: Image, baseline: &Baseline) -> Option<f32> {
        self.rows.iter().enumerate().find_map(|(qi, (q, _, _))| {
            (is_noise_copy(q, row, image, baseline)
                && self
                    .rows
                    .iter()
                    .enumerate()
                    .any(|(ai, (a, lo, hi))| ai != qi && midpoint(q, row, a, *lo, *hi)))
            .then(|| super::baseline::dist2(q, row).sqrt())
        })
    }

    /// Whether `row` is a forward difference of one of the kept rows (see the module's
    /// documentation): its size (the Euclidean distance between the two) when it is.
    pub fn forward(&self, row: &[f32], image: Image, baseline: &Baseline) -> Option<f32> {
        let limit = FORWARD_RADIUS * baseline.nn_median();
        if limit <= 0.0 || baseline.spread.len() != row.len() {
            return None;
        }
        let dense = (FORWARD_DENSE * row.len() as f32).ceil() as usize;
        self.rows.iter().find_map(|(q, _, _)| {
            (q.len() == row.len()
                && scaled_dist2(q, row, &baseline.spread, limit).is_some_and(|d| d > 0.0)
                && q.iter().zip(row).filter(|(a, b)| a != b).count() >= dense.max(1)
                && white(q, row, image))
            .then(|| super::baseline::dist2(q, row).sqrt())
        })
    }
}

/// Whether `q` and `row` differ in [`SPARSE_FORWARD_MIN`] to `max` features (exactly: every
/// other value is the same float); the changed features' indices in `changed`.
fn sparse_difference(q: &[f32], row: &[f32], max: usize, changed: &mut Vec<usize>) -> bool {
    changed.clear();
    for (i, (a, b)) in q.iter().zip(row).enumerate() {
        if a != b {
            if changed.len() == max {
                return false;
            }
            changed.push(i);
        }
    }
    changed.len() >= SPARSE_FORWARD_MIN
}

/// `a` is the midpoint of `q` and `r` (see the module's documentation); `lo`, `hi`: `a`'s lowest
/// and highest value.
fn midpoint(q: &[f32], r: &[f32], a: &[f32], lo: f32, hi: f32) -> bool {
    if a.len() != r.len() || a == r {
        return false;
    }
    let (mut held, mut failed) = (0usize, 0usize);
    let budget = ((1.0 - ANTI_SHARE) * r.len() as f32) as usize;
    for ((&x, &y), &m) in q.iter().zip(r).zip(a) {
        if x == y || x == lo || x == hi || y == lo || y == hi {
            continue;
        }
        if (x + y - 2.0 * m).abs() <= ANTI_TOL * (x - y).abs() {
            held += 1;
        } else {
            failed += 1;
            if failed > budget {
                return false;
            }
        }
    }
    held >= ANTI_FEATURES && held as f32 >= ANTI_SHARE * (held + failed) as f32
}

#[cfg(test)]
pub(super) mod testing {
    use crate::util::Rng;

    /// A blurred random image of `n` × `n` on [0, 1]: neighbouring pixels share their values,
    /// as strokes do.
    pub fn smooth_image(rng: &mut Rng, n: usize) -> Vec<f32> {
        let raw: Vec<f32> = (0..n * n).map(|_| rng.unit()).collect();
        let at = |i: isize, j: isize| {
            let (i, j) = (i.clamp(0, n as isize - 1), j.clamp(0, n as isize - 1));
            raw[i as usize * n + j as usize]
        };
        (0..n * n)
            .map(|k| {
                let (i, j) = ((k / n) as isize, (k % n) as isize);
                let s: f32 = [(0, 0), (0, 1), (1, 0), (1, 1), (-1, 0), (0, -1)]
                    .iter()
                    .map(|&(a, b)| at(i + a, j + b))
                    .sum();
                s / 6.0
            })
            .collect()
    }

    pub fn gauss(rng: &mut Rng) -> f32 {
        // Box–Muller.
        let (u, v) = (rng.unit().max(1e-9), rng.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }

    /// The point `x` and `n` probes `x + μu`, `u` on the unit sphere of a random support of
    /// `support` features, clipped to [0, 1].
    pub fn sparse_probes(
        x: &[f32],
        mu: f32,
        n: usize,
        support: usize,
        rng: &mut Rng,
    ) -> Vec<Vec<f32>> {
        let mut rows = vec![x.to_vec()];
        for _ in 0..n {
            let mut idx: Vec<usize> = (0..x.len()).collect();
            for i in 0..support {
                let j = i + (rng.next_u64() % (x.len() - i) as u64) as usize;
                idx.swap(i, j);
            }
            let u: Vec<f32> = (0..support).map(|_| gauss(rng)).collect();
            let norm = u.iter().map(|v| v * v).sum::<f32>().sqrt();
            let mut r = x.to_vec();
            for (k, &f) in idx[..support].iter().enumerate() {
                r[f] = (r[f] + mu * u[k] / norm).clamp(0.0, 1.0);
            }
            rows.push(r);
        }
        rows
    }

    pub fn noisy(x: &[f32], sigma: f32, rng: &mut Rng) -> Vec<f32> {
        x.iter()
            .map(|v| (v + sigma * gauss(rng)).clamp(0.0, 1.0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{noisy, smooth_image, sparse_probes};
    use super::*;
    use crate::util::Rng;

    fn setup() -> (Rng, Image, Baseline) {
        let mut rng = Rng::new(77);
        let rows: Vec<Vec<f32>> = (0..300).map(|_| smooth_image(&mut rng, 8)).collect();
        let b = Baseline::from_rows(&rows).unwrap();
        (rng, Image::of(64).unwrap(), b)
    }

    #[test]
    fn fresh_noise_on_one_image_is_a_copy_and_two_images_are_not() {
        let (mut rng, img, b) = setup();
        let (mut copies, mut distinct, mut tries) = (0, 0, 0);
        for _ in 0..200 {
            let x = smooth_image(&mut rng, 8);
            let y = smooth_image(&mut rng, 8);
            tries += 1;
            let sigma = 0.3 * b.spread[0];
            copies += is_noise_copy(
                &noisy(&x, sigma, &mut rng),
                &noisy(&x, sigma, &mut rng),
                img,
                &b,
            ) as u32;
            distinct += is_noise_copy(&x, &y, img, &b) as u32;
        }
        assert!(copies * 10 >= tries * 9, "{copies}/{tries} copies");
        assert!(distinct * 20 <= tries, "{distinct}/{tries} distinct pairs");
        // The same row is a re-send, not a copy; other layouts are never tested.
        let x = smooth_image(&mut rng, 8);
        assert!(!is_noise_copy(&x, &x, img, &b));
        assert!(!is_noise_copy(&x[..32], &x[..32], img, &b));
    }

    #[test]
    fn noise_that_hides_the_input_is_not_a_copy() {
        let (mut rng, img, b) = setup();
        // Uniform random rows (a random-query extraction): their difference is white but as
        // far apart as unrelated inputs.
        let u: Vec<Vec<f32>> = (0..2)
            .map(|_| (0..64).map(|_| rng.unit()).collect())
            .collect();
        assert!(!is_noise_copy(&u[0], &u[1], img, &b));
        // Noise far beyond the baseline's spacing.
        let x = smooth_image(&mut rng, 8);
        let heavy = 3.0 * b.spread[0];
        let hits = (0..50)
            .filter(|_| {
                is_noise_copy(
                    &noisy(&x, heavy, &mut rng),
                    &noisy(&x, heavy, &mut rng),
                    img,
                    &b,
                )
            })
            .count();
        assert_eq!(hits, 0);
    }

    /// How many rows of `rows`, sent as one request, are antithetic.
    fn antithetic_rows(rows: &[Vec<f32>], img: Image, b: &Baseline) -> usize {
        let mut batch = Batch::default();
        let mut n = 0;
        for r in rows {
            n += batch.antithetic(r, img, b).is_some() as usize;
            batch.push(r);
        }
        n
    }

    /// The point of the first sparse finite-difference batch found in `rows` sent as one
    /// request, and the row it was found at.
    fn star(rows: &[Vec<f32>], img: Image, b: &Baseline) -> Option<(Vec<f32>, usize)> {
        let mut batch = Batch::default();
        rows.iter()
            .enumerate()
            .find_map(|(i, r)| batch.push_star(r, img, b, 8).map(|p| (p, i)))
    }

    #[test]
    fn random_sparse_probes_around_a_point_are_a_batch_and_masks_levels_and_big_steps_are_not() {
        let (mut rng, img, b) = setup();
        let min_spread = b.spread.iter().copied().fold(f32::INFINITY, f32::min);
        let max_spread = b.spread.iter().copied().fold(0.0, f32::max);
        let mu = 0.5 * SPARSE_FORWARD_RADIUS * b.nn_median() * min_spread;
        let mut x = smooth_image(&mut rng, 8);
        for v in x.iter_mut().take(20) {
            *v = 0.0; // background: probes clip there
        }
        // SZOHT's estimate: the point and 10 probes on random 8-feature supports, found once
        // the point has 8 (whichever comes first), and found when the point comes last.
        let rows = sparse_probes(&x, mu, 10, 8, &mut rng);
        let (point, at) = star(&rows, img, &b).expect("a sparse batch");
        assert_eq!(point, x);
        assert!((8..=10).contains(&at), "{at}");
        let mut late = rows[1..].to_vec();
        late.push(x.clone());
        assert_eq!(star(&late, img, &b).map(|p| p.0), Some(x.clone()));
        // Natural rows around them change nothing; seven probes are not a batch.
        let mut mixed = Vec::new();
        for r in &rows {
            mixed.push(smooth_image(&mut rng, 8));
            mixed.push(r.clone());
        }
        assert_eq!(star(&mixed, img, &b).map(|p| p.0), Some(x.clone()));
        assert_eq!(star(&rows[..8], img, &b), None);
        // The same supports moved far more than the inputs' spacing allows (a person's edit).
        let big = 3.0 * SPARSE_FORWARD_RADIUS * b.nn_median() * max_spread;
        assert_eq!(
            star(&sparse_probes(&x, big, 10, 8, &mut rng), img, &b),
            None
        );
        // A mask slid over the image (one connected 2 × 2 region set a little lower), and
        // coordinate differences (ZOO's `x + h·e_i`; two of them differ in two features): not
        // sparse forward differences (`select` reads coordinate differences).
        let mut masks = vec![x.clone()];
        for k in 0..12 {
            let (i, j) = (k / 4 * 2, k % 4 * 2);
            let mut r = x.clone();
            for (a, c) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let f = (i + a) * 8 + j + c;
                r[f] = (r[f] - mu / 2.0).max(0.0);
            }
            masks.push(r);
        }
        assert_eq!(star(&masks, img, &b), None);
        let coords = sparse_probes(&x, mu, 12, 1, &mut rng);
        assert_eq!(star(&coords, img, &b), None);
    }

    #[test]
    fn probes_a_small_step_from_a_point_are_forward_differences_and_copies_are_not() {
        let (mut rng, img, b) = setup();
        let x = smooth_image(&mut rng, 8);
        let step = 0.005 * FORWARD_RADIUS * b.nn_median() * b.spread[0];
        let forward_rows = |rows: &[Vec<f32>]| {
            let mut batch = Batch::default();
            let mut n = 0;
            for r in rows {
                n += batch.forward(r, img, &b).is_some() as usize;
                batch.push(r);
            }
            n
        };
        // The point and 10 probes a small white step from it, or the probes alone.
        let mut rows = vec![x.clone()];
        rows.extend((0..10).map(|_| noisy(&x, step, &mut rng)));
        assert_eq!(forward_rows(&rows), 10);
        assert_eq!(forward_rows(&rows[1..]), 9);
        // Copies under noise an eighth of the spread (smoothing, sensor noise), a change of
        // one feature, and a smooth change (a gradient shift) of the same small size are not.
        let mut rows = vec![x.clone()];
        rows.extend((0..10).map(|_| noisy(&x, 0.125 * b.spread[0], &mut rng)));
        assert_eq!(forward_rows(&rows), 0);
        let mut one = x.clone();
        one[9] += step;
        let ramp: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v + step * (i % 8) as f32 / 8.0)
            .collect();
        assert_eq!(forward_rows(&[x.clone(), one, ramp]), 0);
    }

    #[test]
    fn an_antithetic_gradient_estimate_pairs_around_its_point_and_smoothing_does_not() {
        let (mut rng, img, b) = setup();
        // NES as Ilyas et al. query it: the point, then 25 directions each way, clipped to
        // [0, 1] (an image with background at 0 and a stroke at 1: clipping on both sides).
        let mut x = smooth_image(&mut rng, 8);
        for v in x.iter_mut().take(16) {
            *v = 0.0;
        }
        x[40] = 1.0;
        let us: Vec<Vec<f32>> = (0..25)
            .map(|_| {
                (0..64)
                    .map(|_| 0.01 * super::testing::gauss(&mut rng))
                    .collect()
            })
            .collect();
        let probe = |sign: f32, u: &[f32]| -> Vec<f32> {
            x.iter()
                .zip(u)
                .map(|(v, d)| (v + sign * d).clamp(0.0, 1.0))
                .collect()
        };
        let mut rows = vec![x.clone()];
        rows.extend(us.iter().map(|u| probe(1.0, u)));
        rows.extend(us.iter().map(|u| probe(-1.0, u)));
        // A pair's noise is now and then not white by chance (about 2 % above WHITE).
        let n = antithetic_rows(&rows, img, &b);
        assert!((22..=25).contains(&n), "{n}");
        // Randomized smoothing: the image and 50 independent noise copies.
        let mut rows = vec![x.clone()];
        rows.extend((0..50).map(|_| noisy(&x, 0.05, &mut rng)));
        assert_eq!(antithetic_rows(&rows, img, &b), 0);
        // A cross-dissolve between two images in one batch: its frames pair around the middle
        // one, but they differ by the images' difference, not by noise.
        let y = smooth_image(&mut rng, 8);
        let frames: Vec<Vec<f32>> = (0..=20)
            .map(|k| {
                let t = k as f32 / 20.0;
                x.iter()
                    .zip(&y)
                    .map(|(a, b)| (1.0 - t) * a + t * b)
                    .collect()
            })
            .collect();
        assert_eq!(antithetic_rows(&frames, img, &b), 0);
    }
}
