//! Coordinate walks: SimBA (Guo et al. 2019) and its kin build each candidate from the best
//! input so far by one step along one direction of a fixed basis, the pixels or the image's
//! 2-D DCT, and keep it when the answer fell: `x + ε·q` or `x − ε·q`, one `q` after another,
//! always the same `ε`. Between a candidate and the row it was built on, the change is one basis
//! direction (or two, when the row it was built on has left the client's recent rows and the
//! nearest is a rejected sibling), of one magnitude, either sign.
//!
//! A row is a *basis step* when, against its nearest earlier row of the client (raw values,
//! L2), at least [`SHARE`] of the change's energy lies on one coefficient of the pixel basis or
//! of the orthonormal 2-D DCT (or on two of equal size), no feature moved by more than [`CAP`]
//! of the two rows' range (a stroke drawn, erased or swapped between background and ink is a
//! change of level, not a step), and the step is at least [`MIN_STEP`] of the features' median
//! spread. A client walks when, among its last [`WINDOW`] rows, `detect.basis_steps` basis
//! steps have one magnitude (within ±[`TOL`] of their median, and at least [`MAJORITY`] of the
//! window's steps), both signs, at least
//! [`MIN_DIRECTIONS`] directions, and there is an improving line of [`MIN_CHAIN`] of them, each
//! built on a row answered with its label and a higher margin (the search kept what lowered the
//! answer); a request holding [`PROBES`] steps or more is a batch of probes and none of its rows
//! extends a line (a backward selection masks one pixel a row and keeps the row answered
//! highest, yet its rows pair up across batches as steps answered lower). Explainers that
//! replace pixels or superpixels (LIME, occlusion, KernelSHAP's coalitions against a
//! background) change one or two pixels at a time too, by whatever the
//! pixel and its replacement differ by — on a quantised image a handful of those coincide in
//! size, most do not — and do not build on their answers.
//!
//! Rows are compared on the sampled features of [`super::space::Space`]: every feature of rows
//! of at most 128 values (and the DCT for square images of one or three channels among them),
//! a fixed sample of wider rows (the pixel basis only: a step outside the sample is not seen).
//! Rows that are not steps go to a short ring of [`LOOSE`], so padding between a search's
//! candidates does not push the input it is built on out: a row that turns out to be a step's
//! origin moves to the walk's ring of [`RECENT`].

use super::baseline::dist2;
use super::signsteps::value_range;
use std::collections::VecDeque;

/// Rows of the walk (steps and their origins) kept.
pub const RECENT: usize = 16;
/// Other recent rows kept.
const LOOSE: usize = 4;
/// The client's rows the steps are counted among.
pub const WINDOW: u64 = 32;
/// Energy share of the change on one (or two equal) coefficients.
const SHARE: f32 = 0.7;
/// Steps of one magnitude: within this share of their median.
const TOL: f32 = 0.1;
/// No feature moved by more than this share of the two rows' range.
const CAP: f32 = 0.5;
/// The step, at least this share of the features' median spread.
const MIN_STEP: f32 = 0.1;
/// The steps of one magnitude are at least this share (numerator, denominator) of the
/// window's basis steps.
const MAJORITY: (usize, usize) = (2, 3);
/// Directions a walk takes at least.
pub const MIN_DIRECTIONS: usize = 4;
/// Improving steps in a line a walk has.
pub const MIN_CHAIN: u32 = 3;
/// Steps in one request that make it a batch of probes: none of them extends an improving line
/// (a walk sends one candidate, or `x ± ε·q`, at a time; a batch of one input with one feature
/// replaced in each row is an ablation's probes, read by the applied-ablation test, and a
/// backward selection's — sufficient input subsets — keeps its highest-answered).
pub const PROBES: usize = 3;

/// The layout a DCT is taken in: channels of `side` × `side` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Image {
    pub channels: usize,
    pub side: usize,
}

impl Image {
    /// Square images of one or three channels (channels first) of `d` values, at least 4 × 4.
    pub fn of(d: usize) -> Option<Image> {
        [1usize, 3].into_iter().find_map(|channels| {
            if !d.is_multiple_of(channels) {
                return None;
            }
            let side = (d / channels).isqrt();
            (side >= 4 && side * side * channels == d).then_some(Image { channels, side })
        })
    }
}

/// A layout with its orthonormal DCT-II basis (`side` × `side` cosines), built once per engine.
#[derive(Clone, Debug)]
pub struct Dct {
    image: Image,
    basis: Vec<f32>,
}

impl Dct {
    pub fn new(image: Image) -> Dct {
        let n = image.side;
        let basis = (0..n * n)
            .map(|i| {
                let (k, j) = (i / n, i % n);
                let scale = if k == 0 {
                    (1.0 / n as f32).sqrt()
                } else {
                    (2.0 / n as f32).sqrt()
                };
                scale
                    * (std::f32::consts::PI * (2 * j + 1) as f32 * k as f32 / (2 * n) as f32).cos()
            })
            .collect();
        Dct { image, basis }
    }
}

#[derive(Clone, Debug)]
struct Kept {
    row: Vec<f32>,
    label: u32,
    margin: f32,
    chain: u32,
    /// The row's number in the client's stream (the identity steps name their origin by).
    seq: u64,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    seq: u64,
    /// The client's request it came in.
    request: u64,
    /// Basis (0 pixels, 1 DCT) and coefficient.
    direction: (u8, u32),
    coef: f32,
    chain: u32,
}

/// One client's coordinate-walk state.
#[derive(Clone, Debug, Default)]
pub struct BasisWalk {
    related: VecDeque<Kept>,
    loose: VecDeque<Kept>,
    steps: VecDeque<Step>,
    /// The client's requests so far.
    request: u64,
}

/// A walk found.
#[derive(Clone, Debug, PartialEq)]
pub struct Walk {
    pub steps: usize,
    pub step: f32,
    pub directions: usize,
    pub chain: u32,
}

impl BasisWalk {
    /// A new request of the client.
    pub fn begin_request(&mut self) {
        self.request += 1;
    }

    /// Look `row` (the compared features), the client's row number `seq`, answered `label` with
    /// top-1 margin `margin`, up against the kept rows; a walk when `need` steps make one.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        seq: u64,
        row: &[f32],
        label: u32,
        margin: f32,
        need: u32,
        spread: f32,
        dct: Option<&Dct>,
    ) -> Option<Walk> {
        if row.iter().any(|v| !v.is_finite())
            || self.related.iter().chain(&self.loose).any(|k| k.row == row)
        {
            return None;
        }
        // The nearest kept row, as (in the loose ring, index in its ring).
        let nearest = self
            .related
            .iter()
            .enumerate()
            .map(|(i, k)| (false, i, k))
            .chain(self.loose.iter().enumerate().map(|(i, k)| (true, i, k)))
            .filter(|(_, _, k)| k.row.len() == row.len())
            .map(|(loose, i, k)| (loose, i, k, dist2(&k.row, row)))
            .min_by(|a, b| a.3.total_cmp(&b.3));
        let found = nearest.and_then(|(loose, i, parent, _)| {
            let (direction, coef) = basis_step(&parent.row, row, spread, dct)?;
            let chain = if label == parent.label && margin < parent.margin {
                parent.chain + 1
            } else {
                0
            };
            Some((loose, i, direction, coef, chain))
        });
        let Some((loose, origin, direction, coef, mut chain)) = found else {
            push(
                &mut self.loose,
                LOOSE,
                Kept {
                    row: row.to_vec(),
                    label,
                    margin,
                    chain: 0,
                    seq,
                },
            );
            return None;
        };
        // The step's origin is part of the walk now.
        if loose && let Some(k) = self.loose.remove(origin) {
            push(&mut self.related, RECENT, k);
        }
        // A batch of probes: no line runs through it.
        let request = self.request;
        let siblings = self.steps.iter().filter(|s| s.request == request).count();
        if siblings + 1 >= PROBES {
            chain = 0;
            let mut batch = Vec::new();
            for s in self.steps.iter_mut().filter(|s| s.request == request) {
                s.chain = 0;
                batch.push(s.seq);
            }
            for k in self.related.iter_mut().filter(|k| batch.contains(&k.seq)) {
                k.chain = 0;
            }
        }
        push(
            &mut self.related,
            RECENT,
            Kept {
                row: row.to_vec(),
                label,
                margin,
                chain,
                seq,
            },
        );
        self.steps.push_back(Step {
            seq,
            request,
            direction,
            coef,
            chain,
        });
        while self.steps.front().is_some_and(|s| s.seq + WINDOW <= seq) {
            self.steps.pop_front();
        }
        self.walk(need)
    }

    fn walk(&self, need: u32) -> Option<Walk> {
        if need == 0 || self.steps.len() < need as usize {
            return None;
        }
        let mut mags: Vec<f32> = self.steps.iter().map(|s| s.coef.abs()).collect();
        let mid = mags.len() / 2;
        let median = *mags.select_nth_unstable_by(mid, f32::total_cmp).1;
        let same: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| (s.coef.abs() - median).abs() <= TOL * median)
            .collect();
        let up = same.iter().filter(|s| s.coef > 0.0).count();
        let mut directions: Vec<(u8, u32)> = same.iter().map(|s| s.direction).collect();
        directions.sort_unstable();
        directions.dedup();
        let chain = self.steps.iter().map(|s| s.chain).max().unwrap_or(0);
        // One magnitude for most of the window's steps (MAJORITY): a search's step is its ε;
        // an explainer's replacements differ by whatever each pixel and its replacement differ
        // by, and on a quantised image some of them coincide.
        (same.len() >= need as usize
            && same.len() * MAJORITY.1 >= self.steps.len() * MAJORITY.0
            && up > 0
            && up < same.len()
            && directions.len() >= MIN_DIRECTIONS
            && chain >= MIN_CHAIN)
            .then_some(Walk {
                steps: same.len(),
                step: median,
                directions: directions.len(),
                chain,
            })
    }
}

fn push(ring: &mut VecDeque<Kept>, cap: usize, k: Kept) {
    if ring.len() == cap {
        ring.pop_front();
    }
    ring.push_back(k);
}

/// Whether `b − a` is a basis step (see the module): its direction and signed size.
fn basis_step(a: &[f32], b: &[f32], spread: f32, dct: Option<&Dct>) -> Option<((u8, u32), f32)> {
    let delta: Vec<f32> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let energy: f32 = delta.iter().map(|v| v * v).sum();
    if energy.is_nan() || energy <= 0.0 {
        return None;
    }
    let (lo, hi) = value_range(a, b);
    let moved = delta.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if moved > CAP * (hi - lo) {
        return None;
    }
    let on = |coefs: &[f32]| -> Option<(u32, f32)> {
        let (mut i0, mut i1) = (0usize, usize::MAX);
        for (i, c) in coefs.iter().enumerate() {
            if c.abs() > coefs[i0].abs() || i0 == i {
                if i != i0 {
                    i1 = i0;
                }
                i0 = i;
            } else if i1 == usize::MAX || c.abs() > coefs[i1].abs() {
                i1 = i;
            }
        }
        let c0 = coefs[i0];
        let c1 = if i1 == usize::MAX { 0.0 } else { coefs[i1] };
        let one = c0 * c0 >= SHARE * energy;
        let two =
            (c0 * c0 + c1 * c1) >= SHARE * energy && (c1.abs() - c0.abs()).abs() <= TOL * c0.abs();
        ((one || two) && c0.abs() >= MIN_STEP * spread).then_some((i0 as u32, c0))
    };
    if let Some((i, c)) = on(&delta) {
        // One level of a grid both rows lie on (the sixteenths of an optdigits image, a 4-bit
        // grey) is the smallest change the format makes: a re-rendered or masked pixel, as for
        // L∞ steps (see `signsteps::one_level`).
        if super::signsteps::one_level(a, b, c.abs()) {
            return None;
        }
        return Some(((0, i), c));
    }
    let dct = dct.filter(|t| t.image.channels * t.image.side * t.image.side == delta.len())?;
    let coefs = dct2(&delta, dct);
    on(&coefs).map(|(i, c)| ((1, i), c))
}

/// The orthonormal 2-D DCT-II of each channel of `x`.
fn dct2(x: &[f32], dct: &Dct) -> Vec<f32> {
    let n = dct.image.side;
    let basis = &dct.basis;
    let mut out = vec![0.0f32; x.len()];
    let mut tmp = vec![0.0f32; n * n];
    for (ch, plane) in x.chunks_exact(n * n).enumerate() {
        // Rows: tmp[r][k] = Σ_j plane[r][j] · basis[k][j]; then columns.
        for r in 0..n {
            for k in 0..n {
                tmp[r * n + k] = (0..n).map(|j| plane[r * n + j] * basis[k * n + j]).sum();
            }
        }
        let o = &mut out[ch * n * n..(ch + 1) * n * n];
        for k in 0..n {
            for c in 0..n {
                o[k * n + c] = (0..n).map(|r| tmp[r * n + c] * basis[k * n + r]).sum();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    impl BasisWalk {
        /// [`BasisWalk::observe`] for a request of one row.
        #[allow(clippy::too_many_arguments)]
        fn request_of_one(
            &mut self,
            seq: u64,
            row: &[f32],
            label: u32,
            margin: f32,
            need: u32,
            spread: f32,
            dct: Option<&Dct>,
        ) -> Option<Walk> {
            self.begin_request();
            self.observe(seq, row, label, margin, need, spread, dct)
        }
    }

    const SPREAD: f32 = 0.27;
    static DCT: std::sync::LazyLock<Dct> = std::sync::LazyLock::new(|| {
        Dct::new(Image {
            channels: 1,
            side: 8,
        })
    });

    fn digit(rng: &mut Rng) -> Vec<f32> {
        // A stroke on a dark background, 17 levels.
        (0..64)
            .map(|i| {
                let (r, c) = (i / 8, i % 8);
                if (2..6).contains(&c) && (1..7).contains(&r) && rng.unit() < 0.7 {
                    (rng.unit() * 16.0).round() / 16.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The probability-margin model of a search against a linear score: lower is better.
    fn margin(x: &[f32], w: &[f32]) -> f32 {
        2.0 + x.iter().zip(w).map(|(a, b)| a * b).sum::<f32>()
    }

    /// SimBA as ART runs it: from the best so far, try −ε then +ε along the next direction of
    /// the basis (an image in [0.2, 0.8], so neither is clipped away); keep what lowered the
    /// margin. Returns the query (1-based) the walk was found at.
    fn simba(dct: bool, eps: f32, jitter: f32, seed: u64) -> Option<usize> {
        let mut rng = Rng::new(seed);
        let w: Vec<f32> = (0..64).map(|_| rng.unit() - 0.5).collect();
        let mut best: Vec<f32> = (0..64).map(|_| 0.2 + 0.6 * rng.unit()).collect();
        let mut walk = BasisWalk::default();
        let mut seq = 0u64;
        let mut ask = |x: &[f32], walk: &mut BasisWalk, rng: &mut Rng| -> (f32, Option<Walk>) {
            seq += 1;
            let sent: Vec<f32> = x
                .iter()
                .map(|v| v + jitter * (rng.unit() * 2.0 - 1.0))
                .collect();
            let m = margin(&sent, &w);
            (
                m,
                walk.request_of_one(seq, &sent, 3, m, 5, SPREAD, Some(&*DCT)),
            )
        };
        let (mut m_best, _) = ask(&best, &mut walk, &mut rng);
        let order: Vec<usize> = (0..64).map(|i| (i * 29) % 64).collect();
        let mut queries = 1;
        for &i in &order {
            for sign in [-1.0f32, 1.0] {
                let mut x = best.clone();
                if dct {
                    let dir = dct_direction(i);
                    for (v, d) in x.iter_mut().zip(&dir) {
                        *v = (*v + sign * eps * d).clamp(0.0, 1.0);
                    }
                } else {
                    x[i] = (x[i] + sign * eps).clamp(0.0, 1.0);
                }
                if x == best {
                    continue;
                }
                let (m, found) = ask(&x, &mut walk, &mut rng);
                queries += 1;
                if found.is_some() {
                    return Some(queries);
                }
                if m < m_best {
                    (best, m_best) = (x, m);
                    break;
                }
            }
        }
        None
    }

    fn dct_direction(i: usize) -> Vec<f32> {
        // The inverse of dct2 on a unit coefficient: the basis image itself.
        let mut unit = vec![0.0f32; 64];
        unit[i] = 1.0;
        let mut out = vec![0.0f32; 64];
        for (p, o) in out.iter_mut().enumerate() {
            let mut e = vec![0.0f32; 64];
            e[p] = 1.0;
            *o = dct2(&e, &DCT)[i];
        }
        out
    }

    #[test]
    fn layouts() {
        assert_eq!(
            Image::of(64),
            Some(Image {
                channels: 1,
                side: 8
            })
        );
        assert_eq!(
            Image::of(3 * 36),
            Some(Image {
                channels: 3,
                side: 6
            })
        );
        assert_eq!(Image::of(60), None);
        assert_eq!(Image::of(9), None);
    }

    #[test]
    fn the_dct_is_orthonormal() {
        let mut rng = Rng::new(5);
        let x: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
        let c = dct2(&x, &DCT);
        let (ex, ec): (f32, f32) = (x.iter().map(|v| v * v).sum(), c.iter().map(|v| v * v).sum());
        assert!((ex - ec).abs() < 1e-3, "{ex} {ec}");
        let d = dct_direction(9);
        assert!((d.iter().map(|v| v * v).sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn simba_walks_are_found_within_a_few_queries_in_either_basis_and_under_jitter() {
        for seed in 0..4 {
            let px = simba(false, 0.2, 0.0, seed).expect("pixel SimBA");
            assert!(px <= 16, "pixel SimBA found at query {px}");
            let dct = simba(true, 0.2, 0.0, seed).expect("DCT SimBA");
            assert!(dct <= 16, "DCT SimBA found at query {dct}");
            assert!(
                simba(false, 0.2, 0.008, seed).is_some(),
                "jittered pixel SimBA"
            );
        }
    }

    #[test]
    fn drawing_and_erasing_saturated_ink_is_not_a_walk() {
        // Saturated ink revealed pixel by pixel, erased, and drawn again, each frame answered
        // a little more confidently: single-pixel changes of one size, both ways, building on
        // one another, but between background and ink, a change of level (above CAP of the
        // range), not a step.
        let mut rng = Rng::new(8);
        let mut walk = BasisWalk::default();
        let target: Vec<f32> = digit(&mut rng)
            .iter()
            .map(|v| if *v > 0.0 { 1.0 } else { 0.0 })
            .collect();
        let mut x = vec![0.0f32; 64];
        let mut seq = 0;
        for round in 0..3 {
            for i in 0..64 {
                if target[i] > 0.0 {
                    x[i] = if round == 1 { 0.0 } else { target[i] };
                    seq += 1;
                    let m = 1.0 - seq as f32 * 0.001;
                    assert_eq!(
                        walk.request_of_one(seq, &x, 1, m, 5, SPREAD, Some(&*DCT)),
                        None
                    );
                }
            }
        }
    }

    #[test]
    fn one_magnitude_steps_that_do_not_build_on_lower_answers_are_not_a_walk() {
        // Samples around one input, each a pixel moved by ±0.2 from it, answered at random:
        // steps of one size in many directions, but no improving line.
        let mut rng = Rng::new(11);
        let x = digit(&mut rng);
        let mut walk = BasisWalk::default();
        walk.request_of_one(1, &x, 2, 0.5, 5, SPREAD, Some(&*DCT));
        for seq in 2..40u64 {
            let mut y = x.clone();
            let i = (seq as usize * 7) % 64;
            y[i] = (y[i] + if seq % 2 == 0 { 0.2 } else { -0.2 }).clamp(0.0, 1.0);
            // Answered higher than the input each time: never kept as an improvement.
            assert_eq!(
                walk.request_of_one(seq, &y, 2, 0.6 + rng.unit() * 0.1, 5, SPREAD, Some(&*DCT)),
                None
            );
        }
    }

    /// A walk of one-pixel changes of `sizes` sixteenths on an image in sixteenths, each built
    /// on the last and answered lower (an improving line); whether it was found.
    fn sixteenths_walk(sizes: &[i32]) -> Option<Walk> {
        let mut walk = BasisWalk::default();
        let mut x: Vec<f32> = (0..64).map(|i| ((i * 5) % 17) as f32 / 16.0).collect();
        let mut m = 0.9;
        let mut found = walk.request_of_one(1, &x, 4, m, 5, SPREAD, Some(&*DCT));
        for (k, &d) in sizes.iter().enumerate() {
            x[k * 5 + 2] += d as f32 / 16.0;
            m -= 0.01;
            found = found.or(walk.request_of_one(k as u64 + 2, &x, 4, m, 5, SPREAD, Some(&*DCT)));
        }
        found
    }

    #[test]
    fn pixels_replaced_by_a_background_of_another_size_each_are_not_a_walk() {
        // KernelSHAP's coalitions: the explained input with one pixel replaced by a background
        // row's, five of the changes happen to be 3/16 (both ways, in five directions), six
        // others 1/16 .. 8/16. The same five steps alone are a walk.
        let sizes = [3, 1, -3, 5, 3, -4, -3, 6, 3, -7, 8];
        assert_eq!(sixteenths_walk(&sizes), None);
        let threes: Vec<i32> = sizes.iter().copied().filter(|d| d.abs() == 3).collect();
        assert!(sixteenths_walk(&threes).is_some(), "five 3/16 steps walk");
    }

    #[test]
    fn a_backward_selection_batch_by_batch_is_not_a_walk() {
        // Sufficient input subsets against a fill 0.2 away from every pixel (up or down): each
        // request the current input with each remaining pixel replaced by the fill, one row a
        // pixel; the replacement that kept the answer highest stays. Every row is one step of one
        // size from the current input, the answers fall batch after batch, and rows of one batch
        // pair up across batches as basis steps answered lower: probes, not a walk.
        let mut rng = Rng::new(23);
        let w: Vec<f32> = (0..64).map(|_| rng.unit() - 0.5).collect();
        let x0: Vec<f32> = (0..64).map(|_| 0.3 + 0.4 * rng.unit()).collect();
        let fill: Vec<f32> = x0
            .iter()
            .map(|v| if rng.unit() < 0.5 { v - 0.2 } else { v + 0.2 })
            .collect();
        let mut walk = BasisWalk::default();
        let (mut cur, mut rest, mut seq) = (x0.clone(), (0..64).collect::<Vec<usize>>(), 0u64);
        while rest.len() > 1 {
            walk.begin_request();
            let mut answers = Vec::new();
            for &i in &rest {
                let mut r = cur.clone();
                r[i] = fill[i];
                let m = 0.9 - 0.01 * (64 - rest.len()) as f32 + 0.001 * (margin(&r, &w) - 2.0);
                seq += 1;
                assert_eq!(walk.observe(seq, &r, 3, m, 5, SPREAD, Some(&*DCT)), None);
                answers.push(m);
            }
            let best = (0..answers.len())
                .max_by(|&a, &b| answers[a].total_cmp(&answers[b]))
                .unwrap();
            let i = rest.remove(best);
            cur[i] = fill[i];
        }
    }

    #[test]
    fn one_level_of_the_grid_the_image_lies_on_is_not_a_step() {
        // A pixel re-rendered or masked one sixteenth up or down, on an image in sixteenths.
        assert_eq!(sixteenths_walk(&[1, -1, 1, -1, 1, -1, 1]), None);
    }

    #[test]
    fn padding_between_candidates_does_not_hide_the_walk() {
        let mut rng = Rng::new(21);
        let w: Vec<f32> = (0..64).map(|_| rng.unit() - 0.5).collect();
        let mut best = digit(&mut rng);
        let mut walk = BasisWalk::default();
        let mut seq = 0u64;
        let mut m_best = margin(&best, &w);
        seq += 1;
        walk.request_of_one(seq, &best, 3, m_best, 5, SPREAD, Some(&*DCT));
        let mut found = false;
        'outer: for i in 0..64 {
            for sign in [1.0f32, -1.0] {
                // Two natural rows of padding before each candidate, in its request.
                walk.begin_request();
                for _ in 0..2 {
                    seq += 1;
                    let pad = digit(&mut rng);
                    if walk
                        .observe(seq, &pad, 7, 0.9, 5, SPREAD, Some(&*DCT))
                        .is_some()
                    {
                        panic!("padding alone made a walk");
                    }
                }
                let mut x = best.clone();
                x[i] = (x[i] + sign * 0.2).clamp(0.0, 1.0);
                if x == best {
                    continue;
                }
                seq += 1;
                let m = margin(&x, &w);
                if walk
                    .observe(seq, &x, 3, m, 5, SPREAD, Some(&*DCT))
                    .is_some()
                {
                    found = true;
                    break 'outer;
                }
                if m < m_best {
                    (best, m_best) = (x, m);
                    break;
                }
            }
        }
        assert!(found, "a padded walk was not found");
    }
}
