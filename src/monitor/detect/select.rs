//! Answer-driven selection: a search builds each new candidate on the variant the model answered
//! best for it so far, and drops the others. Variants made without looking at the answers — the
//! frames of a video, an image re-sent while a slider moves, noise, crops, re-encodings — are
//! built on whatever came before, whatever it was answered.
//!
//! Each new (not exactly re-sent) row's **parent** is its nearest near duplicate (Euclidean on the
//! compared features) among the client's last [`RECENT`] distinct rows *of earlier requests*: a
//! client can only build on an answer it has received, so the other rows of the same request (a
//! batch of consecutive frames) never count. A row is **improved** when it was answered with its
//! parent's label and a lower top-1 margin (closer to the decision boundary). Then:
//!
//! - `n`: rows that became a parent and had a parent themselves, `k` of them improved (each
//!   parent counts once, however many rows were built on it: a central frame of a video is the
//!   nearest of many, and counting its children would weigh its one answer many times);
//! - `p`: the share of improved rows among all rows that have a parent.
//!
//! When parenthood does not depend on the answer, `k` is about `n·p`; a search that keeps what
//! lowered the answer (SimBA, ZOO, Square, the Boundary attack's accepted steps) builds only on
//! improved rows, so `k ≈ n` while `p` is its acceptance rate. The test is a one-sided binomial z
//! of `k` against `n·p` (with `p` kept within [0.05, 0.95]), from [`MIN_PARENTS`] parents on, and
//! with an improving line of [`MIN_CHAIN`] rows: a transform that lowers the answer can also make
//! an image more central (a blurred or low-contrast copy is nearer to the other copies), so
//! augmentations of one image pile improved parents up around the image without building on one
//! another. The
//! counts halve once [`DECAY`] rows had a parent, so an old search does not carry the score for
//! ever and a long benign stream cannot accumulate a drift into it.
//!
//! Near duplicates are read on the same codes as [`super::neardup`] (within half a feature's
//! spread in all but a share of the features), distances on those codes too (each feature in
//! units of its spread in the baseline).

use super::space::{dist2, far};
use std::collections::VecDeque;

/// Recent distinct rows a parent is looked for among (as many as [`super::neardup::RING`]: most
/// are far from the row on the first few codes compared, so this is cheap), and related rows
/// (that had a parent or became one) kept after they left the recent ones.
pub const RECENT: usize = super::neardup::RING;
const RELATED: usize = 32;
/// Parents that had a parent themselves, before the test is read.
pub const MIN_PARENTS: u32 = 8;
/// An improving line the test needs besides: this many rows in a row of descent, each improved
/// over its parent (a search's accepted candidates, each built on the last). Variants of one
/// image all built on the image (test-time augmentation, re-encodings) have no such line,
/// however their answers fall; a stream drifting toward the boundary has one, and no excess of
/// improved parents.
pub const MIN_CHAIN: u32 = 6;
/// The counts halve when this many rows had a parent.
const DECAY: u32 = 512;
/// Rows of one request that each differ from one of its recent other rows in at most
/// [`FD_FEATURES`] of the compared features make a finite-difference batch.
pub const FD_ROWS: u32 = 12;
const FD_FEATURES: usize = 2;
/// The request's latest rows that were not such a difference (the points differences are
/// taken around).
const FD_ANCHORS: usize = 8;
/// A request's finite differences move their features by one step `h` (a coordinate difference
/// `x ± h·e_i`: `h` from the centre, `2h` between the two ends, `h` on each of two features
/// between two coordinates): a sparse row's changes are of the request's step when each is
/// within this share of `h/2`, `h` or `2h` (the first sparse row sets `h`). Masking — an
/// explainer (KernelSHAP, LIME, occlusion) replacing one or two features by a reference row's
/// values — changes each by whatever the feature and its replacement differ by, and the request's
/// sparse rows are mostly of other sizes.
const STEP_TOL: f32 = 0.02;
/// An antithetic gradient estimate draws its request's directions at one scale (NES's `σ·u`
/// with Gaussian `u`, SPSA's `δ` times random signs, a sphere's radius): its pairs `x ± σu`
/// are alike in size, their sizes differing by about `1/√d` of it on `d` features (the
/// spread of the ratio of two χ_d norms; signs and a sphere give one size). A pair is of the
/// request's noise when its size is within this many times `1/√d` of the request's first pair
/// (3: about 37 % on the digits' 64). A quasi-Monte Carlo design over masks (Sobol
/// attributions: the design's centre, the mask at ½ everywhere, is the midpoint of many of its
/// pairs, and a mask's difference is as white as its cells are) spreads its points over the
/// whole cube, at every distance from its centre: held out 19's Sobol clients' pairs were 0.03
/// to 1.7 of the baseline's median nearest-neighbour distance, from one client 0.04 to 0.9 (NES
/// and bandits: 0.07 to 0.19 over all their requests).
const NOISE_SDS: f32 = 3.0;
/// Forward differences (see [`super::copies::Batch::forward`]) of the request's one size that
/// make a finite-difference batch: fewer than [`FD_ROWS`], as one-sided estimates draw about 10
/// directions an iteration (ZO-AdaMM's and ZO-signSGD's q = 10, P-RGF's 10 to 50), and white
/// copies this close to one another are not something natural inputs make (see
/// [`super::copies::FORWARD_RADIUS`]). Their sizes are compared as antithetic pairs' are.
pub const FORWARD_ROWS: u32 = 8;
/// A finite-difference batch marks the client's next requests this long.
pub const FD_REQUESTS: u64 = 16;
/// Finite-difference batches among the client's last [`FD_REQUESTS`] requests that make a
/// search on their own (zeroth-order gradient estimation, whether or not it gets anywhere).
pub const FD_SEARCH: usize = 3;
/// Sparse finite-difference batches' points kept (see [`Selection::note_sparse_batch`]).
const POINTS: usize = 4;

#[derive(Clone, Debug)]
struct Row {
    /// Its codes (see [`super::space`]): near duplicates and distances are read on them, so a
    /// row costs 128 bytes however wide the input (a client's state stays about 30 KiB).
    codes: Vec<i8>,
    label: u32,
    margin: f32,
    request: u64,
    /// Answered closer to the boundary than its parent (None: it had no parent).
    improved: Option<bool>,
    /// A later row was built on it.
    parent: bool,
    /// Improved rows in a row down its line of parents, this one included (0: not improved).
    chain: u32,
}

/// One client's recent rows and the counts of the test.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    rows: VecDeque<Row>,
    /// Rows that left `rows` after they had a parent or became one: the variants of the input a
    /// client works on, kept however many unrelated rows (padding) it sends around them. Which
    /// rows are kept does not depend on their answers, so it does not bias the test.
    related: VecDeque<Row>,
    request: u64,
    /// Rows that became a parent and had a parent themselves, and of those the improved ones.
    parents: u32,
    of_improved: u32,
    /// Rows that had a parent, and of those the improved ones.
    parented: u32,
    improved: u32,
    /// The longest improving line so far (halved with the counts).
    chain: u32,
    /// The client's latest request in which the test passed (see [`Selection::selecting`]).
    selected_request: Option<u64>,
    /// The current request's anchors and rows that were a finite difference from one, and the
    /// client's latest request that was a finite-difference batch.
    anchors: VecDeque<Vec<f32>>,
    /// The request's step (see [`STEP_TOL`]), and its sparse rows of that step and of other
    /// sizes.
    step: Option<f32>,
    /// The size of the request's first antithetic pair and of its first forward difference
    /// (see [`NOISE_SDS`]).
    noise: Option<f32>,
    forward: Option<f32>,
    differences: u32,
    forwards: u32,
    off_step: u32,
    fd_requests: VecDeque<u64>,
    /// The points of the client's latest sparse finite-difference batches (request, values).
    points: VecDeque<(u64, Vec<f32>)>,
}

/// The test's state after a row.
#[derive(Clone, Debug, PartialEq)]
pub struct Selected {
    pub z: f32,
    pub parents: u32,
    pub of_improved: u32,
    /// The share of improved rows (`p`).
    pub improved_share: f32,
    /// The longest improving line (see [`MIN_CHAIN`]).
    pub chain: u32,
}

/// What a row of a finite-difference batch differs by: a sparse change of an earlier row (the
/// size and scale of each changed feature, at most [`FD_FEATURES`]), or noise (see [`Noise`]).
enum Difference {
    Sparse([(f32, f32); FD_FEATURES]),
    Pair(f32),
    Forward(f32),
}

/// The noise a row differs from another of its request by, as the caller found it: the size of
/// the antithetic pair it makes around a third row ([`super::copies::Batch::antithetic`]), or
/// of the forward difference it is of one ([`super::copies::Batch::forward`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Noise {
    Pair(f32),
    Forward(f32),
}

impl Selection {
    /// The rows observed from now on belong to the client's next request.
    pub fn begin_request(&mut self) {
        self.request += 1;
        self.anchors.clear();
        self.step = None;
        self.noise = None;
        self.forward = None;
        self.differences = 0;
        self.forwards = 0;
        self.off_step = 0;
    }

    /// Note that the test passed (the caller's threshold) on the current request.
    pub fn mark_selected(&mut self) {
        self.selected_request = Some(self.request);
    }

    /// The test passed on one of the client's last [`FD_REQUESTS`] requests: its variants of any
    /// input are a search's, even on a row whose own answer pulled the score down a little.
    pub fn selecting(&self) -> bool {
        self.selected_request
            .is_some_and(|r| self.request.saturating_sub(r) < FD_REQUESTS)
    }

    /// A request among the client's last [`FD_REQUESTS`] was a batch of finite differences:
    /// [`FD_ROWS`] rows each differing from another of the request's rows in one or two
    /// features (coordinate-wise gradient estimation, as ZOO does) or pairing with one around a
    /// third by white noise (antithetic estimation, as NES does). Augmentation, independent
    /// noise and video frames do neither.
    pub fn differencing(&self) -> bool {
        self.finite_differences() > 0
    }

    /// The client's requests among its last [`FD_REQUESTS`] that were finite-difference
    /// batches.
    pub fn finite_differences(&self) -> usize {
        self.fd_requests
            .iter()
            .filter(|&&r| self.request.saturating_sub(r) < FD_REQUESTS)
            .count()
    }

    /// Note a (not exactly re-sent) row of the current request for the finite-difference test
    /// (`noise`: see [`Noise`]); whether it made the request a
    /// finite-difference batch (once a request): [`FD_ROWS`] rows of the request's step or of its
    /// pairs' size, or [`FORWARD_ROWS`] of its forward differences' size ([`NOISE_SDS`]), at
    /// least twice as many as its sparse rows and noise rows of other sizes.
    pub fn note_difference(&mut self, values: &[f32], noise: Option<Noise>) -> bool {
        let changes = |a: &[f32]| -> Option<[(f32, f32); FD_FEATURES]> {
            if a.len() != values.len() {
                return None;
            }
            let mut out = [(0.0, 0.0); FD_FEATURES];
            let mut n = 0;
            for (x, y) in a.iter().zip(values) {
                if x != y {
                    if n == FD_FEATURES {
                        return None;
                    }
                    out[n] = ((y - x).abs(), x.abs().max(y.abs()));
                    n += 1;
                }
            }
            (n > 0).then(|| {
                // One changed feature: the second slot repeats the first.
                if n == 1 {
                    out[1] = out[0];
                }
                out
            })
        };
        // A pair first, then a sparse change of an anchor, then a forward difference (dense:
        // never sparse).
        let sparse = || {
            self.anchors
                .iter()
                .find_map(|a| changes(a))
                .map(Difference::Sparse)
        };
        let difference = match noise {
            Some(Noise::Pair(size)) => Some(Difference::Pair(size)),
            Some(Noise::Forward(size)) => Some(sparse().unwrap_or(Difference::Forward(size))),
            None => sparse(),
        };
        let Some(difference) = difference else {
            if self.anchors.len() == FD_ANCHORS {
                self.anchors.pop_front();
            }
            self.anchors.push_back(values.to_vec());
            return false;
        };
        let of_size = |first: &mut Option<f32>, size: f32| {
            let s = *first.get_or_insert(size);
            (size - s).abs() <= NOISE_SDS / (values.len().max(1) as f32).sqrt() * s
        };
        let forward = matches!(difference, Difference::Forward(_));
        let on_step = match difference {
            Difference::Pair(size) => of_size(&mut self.noise, size),
            Difference::Forward(size) => of_size(&mut self.forward, size),
            Difference::Sparse(changed) => {
                let h = *self.step.get_or_insert_with(|| {
                    changed.iter().map(|c| c.0).fold(f32::INFINITY, f32::min)
                });
                changed.iter().all(|&(m, scale)| {
                    [0.5 * h, h, 2.0 * h]
                        .iter()
                        .any(|&c| (m - c).abs() <= STEP_TOL * c + 4.0 * f32::EPSILON * scale)
                })
            }
        };
        if on_step && forward {
            self.forwards += 1;
        } else if on_step {
            self.differences += 1;
        } else {
            self.off_step += 1;
        }
        // Once a request (mark_batch: the request is the latest batch already).
        let enough = self.differences >= FD_ROWS || self.forwards >= FORWARD_ROWS;
        enough && self.differences + self.forwards >= 2 * self.off_step && self.mark_batch()
    }

    /// Count the current request among the client's finite-difference batches (once); whether
    /// it was not counted already.
    fn mark_batch(&mut self) -> bool {
        if self.fd_requests.back() == Some(&self.request) {
            return false;
        }
        if self.fd_requests.len() == FD_REQUESTS as usize {
            self.fd_requests.pop_front();
        }
        self.fd_requests.push_back(self.request);
        true
    }

    /// Note that the current request is a sparse finite-difference batch around `point` (see
    /// [`super::copies::Batch::push_star`]): it counts as a finite-difference batch. Returns
    /// whether the search **moved**: an earlier such batch among the client's last
    /// [`FD_REQUESTS`] requests was around a point `point` differs from in at most twice
    /// [`super::sparse::max_changed`] features (each kept within its sparsity, two supports
    /// apart at most) — a gradient step from one estimate to the next, as a zeroth-order
    /// search takes. Estimates around unrelated inputs (a sensitivity map of each of many
    /// images) do not move this way.
    pub fn note_sparse_batch(&mut self, point: &[f32]) -> bool {
        self.mark_batch();
        let max = 2 * super::sparse::max_changed(point.len());
        let moved = self.points.iter().any(|(r, p)| {
            *r != self.request
                && self.request.saturating_sub(*r) < FD_REQUESTS
                && p.len() == point.len()
                && super::sparse::changed_within(p, point, max).is_some_and(|n| n > 0)
        });
        if self.points.len() == POINTS {
            self.points.pop_front();
        }
        self.points.push_back((self.request, point.to_vec()));
        moved
    }

    /// Observe a row (its `codes` and its answer),
    /// unless it is an exact re-send (the caller skips those). `allow`: far features a near
    /// duplicate may have. Returns the test's state once it has [`MIN_PARENTS`] parents.
    pub fn observe(
        &mut self,
        codes: &[i8],
        label: u32,
        margin: f32,
        allow: usize,
    ) -> Option<Selected> {
        let mut parent: Option<(i32, bool, usize)> = None;
        let rows = self.rows.iter().map(|r| (false, r));
        let related = self.related.iter().map(|r| (true, r));
        for (i, (kept, r)) in rows.enumerate().chain(related.enumerate()) {
            if r.request == self.request || r.codes.len() != codes.len() {
                continue;
            }
            if far(&r.codes, codes, allow) > allow {
                continue;
            }
            let d = dist2(&r.codes, codes);
            if parent.is_none_or(|(best, _, _)| d < best) {
                parent = Some((d, kept, i));
            }
        }
        let mut chain = 0;
        let improved = parent.map(|(_, kept, i)| {
            let p = if kept {
                &mut self.related[i]
            } else {
                &mut self.rows[i]
            };
            if let (Some(was), false) = (p.improved, p.parent) {
                self.parents += 1;
                self.of_improved += u32::from(was);
            }
            p.parent = true;
            let improved = label == p.label && margin < p.margin;
            if improved {
                chain = p.chain + 1;
            }
            improved
        });
        self.chain = self.chain.max(chain);
        if let Some(imp) = improved {
            self.parented += 1;
            self.improved += u32::from(imp);
            if self.parented >= DECAY {
                for c in [
                    &mut self.parents,
                    &mut self.of_improved,
                    &mut self.parented,
                    &mut self.improved,
                    &mut self.chain,
                ] {
                    *c /= 2;
                }
            }
        }
        if self.rows.len() == RECENT
            && let Some(old) = self.rows.pop_front()
            && (old.improved.is_some() || old.parent)
        {
            if self.related.len() == RELATED {
                self.related.pop_front();
            }
            self.related.push_back(old);
        }
        self.rows.push_back(Row {
            codes: codes.to_vec(),
            label,
            margin,
            request: self.request,
            improved,
            parent: false,
            chain,
        });
        self.state()
    }

    fn state(&self) -> Option<Selected> {
        if self.parents < MIN_PARENTS || self.parented == 0 {
            return None;
        }
        let p = (self.improved as f32 / self.parented as f32).clamp(0.05, 0.95);
        let n = self.parents as f32;
        let z = (self.of_improved as f32 - n * p) / (n * p * (1.0 - p)).sqrt();
        Some(Selected {
            z,
            parents: self.parents,
            of_improved: self.of_improved,
            improved_share: self.improved as f32 / self.parented as f32,
            chain: self.chain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    /// Codes at the scale the engine uses (a step of 1/16 of a 0.25 spread per code unit).
    fn codes(x: &[f32]) -> Vec<i8> {
        x.iter().map(|v| (v * 64.0).round() as i8).collect()
    }

    /// The model: margin falls as the even features rise and the odd ones fall (a stand-in for
    /// a classifier's confidence).
    fn answer(x: &[f32]) -> (u32, f32) {
        let s: f32 = x
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 2 == 0 { *v } else { -*v })
            .sum();
        (1, 0.5 - s / 64.0)
    }

    fn send(sel: &mut Selection, x: &[f32]) -> Option<Selected> {
        sel.begin_request();
        let (l, m) = answer(x);
        sel.observe(&codes(x), l, m, 6)
    }

    /// SimBA against [`answer`]: the input first, then ±0.05 on one coordinate at a time, the
    /// candidate kept when the answer went down; each candidate in a request of its own after
    /// `padding` unrelated rows. The test's last state.
    fn simba(seed: u64, padding: usize) -> Option<Selected> {
        let mut rng = Rng::new(seed);
        let mut sel = Selection::default();
        let mut best: Vec<f32> = (0..64).map(|_| 0.2 + 0.1 * rng.unit()).collect();
        let mut z = send(&mut sel, &best);
        for i in 0..40 {
            let j = (i * 7) % 64;
            for sign in [1.0, -1.0] {
                sel.begin_request();
                for _ in 0..padding {
                    let p: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
                    let (l, m) = answer(&p);
                    sel.observe(&codes(&p), l, m, 6);
                }
                let mut c = best.clone();
                c[j] = (c[j] + sign * 0.05).clamp(0.0, 1.0);
                let (l, m) = answer(&c);
                z = sel.observe(&codes(&c), l, m, 6).or(z);
                if m < answer(&best).1 {
                    best = c;
                    break;
                }
            }
        }
        z
    }

    #[test]
    fn sparse_batches_around_a_point_that_moved_are_a_search_and_around_other_inputs_are_not() {
        let mut rng = Rng::new(26);
        let digit = |rng: &mut Rng| -> Vec<f32> { (0..64).map(|_| rng.unit()).collect() };
        let x0 = digit(&mut rng);
        // A sensitivity map of each of several inputs: batches around unrelated points, and
        // the same point estimated again, never moved.
        let mut sel = Selection::default();
        for _ in 0..2 {
            sel.begin_request();
            assert!(!sel.note_sparse_batch(&x0));
        }
        for _ in 0..4 {
            sel.begin_request();
            assert!(!sel.note_sparse_batch(&digit(&mut rng)));
        }
        assert_eq!(sel.finite_differences(), 6);
        // A descent: the next point is the last one with eight features changed.
        let mut sel = Selection::default();
        sel.begin_request();
        assert!(!sel.note_sparse_batch(&x0));
        assert!(sel.differencing());
        let mut x1 = x0.clone();
        for f in (0..64).step_by(8) {
            x1[f] = 1.0 - x1[f];
        }
        sel.begin_request();
        assert!(sel.note_sparse_batch(&x1));
        assert_eq!(sel.finite_differences(), 2);
        // Far enough apart in requests, the earlier point is forgotten.
        let mut sel = Selection::default();
        sel.begin_request();
        sel.note_sparse_batch(&x0);
        for _ in 0..FD_REQUESTS {
            sel.begin_request();
        }
        assert!(!sel.note_sparse_batch(&x1));
    }

    #[test]
    fn a_search_keeping_what_lowered_the_answer_is_selected() {
        let z = simba(7, 0).expect("enough parents");
        assert!(z.z >= 4.0, "{z:?}");
    }

    #[test]
    fn a_stream_built_on_the_previous_frame_is_not() {
        let mut rng = Rng::new(8);
        let mut sel = Selection::default();
        let mut x: Vec<f32> = (0..64).map(|_| 0.2 + 0.1 * rng.unit()).collect();
        let mut worst: f32 = f32::MIN;
        // A random walk with noise: each frame from the previous one, whatever it was answered.
        for _ in 0..400 {
            for v in x.iter_mut() {
                *v = (*v + 0.004 * (rng.unit() - 0.5)).clamp(0.0, 1.0);
            }
            let frame: Vec<f32> = x.iter().map(|v| v + 0.01 * (rng.unit() - 0.5)).collect();
            if let Some(s) = send(&mut sel, &frame) {
                worst = worst.max(s.z);
            }
        }
        assert!(worst > f32::MIN, "the stream had parents");
        assert!(worst < 4.0, "{worst}");
    }

    #[test]
    fn a_batch_of_coordinate_wise_differences_is_differencing_and_noisy_copies_are_not() {
        let mut rng = Rng::new(9);
        let x: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
        let mut sel = Selection::default();
        sel.begin_request();
        for k in 0..16 {
            let mut y = x.clone();
            y[k] += if k % 2 == 0 { 1e-4 } else { -1e-4 };
            sel.note_difference(&y, None);
        }
        assert!(sel.differencing());
        for _ in 0..FD_REQUESTS {
            sel.begin_request();
        }
        assert!(!sel.differencing(), "it marks a limited number of requests");
        let mut sel = Selection::default();
        sel.begin_request();
        for _ in 0..64 {
            let y: Vec<f32> = x.iter().map(|v| v + 0.01 * rng.unit()).collect();
            sel.note_difference(&y, None);
        }
        assert!(!sel.differencing());
    }

    #[test]
    fn masking_one_feature_at_a_time_against_a_background_is_not_differencing() {
        // KernelSHAP's first coalitions, each against two background rows: the explained input
        // with one pixel taken from the background, and the background with one pixel taken
        // from the input (rows two features apart, but each change of the size the pixel and
        // its replacement differ by). ZOO's coordinate differences on the same input are.
        let x: Vec<f32> = (0..64).map(|i| ((i * 7) % 17) as f32 / 16.0).collect();
        let backgrounds: Vec<Vec<f32>> = (0..2)
            .map(|k| {
                (0..64)
                    .map(|i| ((i * 3 + 5 * k) % 13) as f32 / 16.0)
                    .collect()
            })
            .collect();
        let mut sel = Selection::default();
        sel.begin_request();
        for j in 0..48 {
            for b in &backgrounds {
                let mut on = b.clone();
                on[j] = x[j];
                let mut off = x.clone();
                off[j] = b[j];
                sel.note_difference(&on, None);
                sel.note_difference(&off, None);
            }
        }
        assert!(!sel.differencing());
        let mut sel = Selection::default();
        sel.begin_request();
        for j in 0..16 {
            for h in [1e-4f32, -1e-4] {
                let mut y = x.clone();
                y[j] += h;
                sel.note_difference(&y, None);
            }
        }
        assert!(sel.differencing(), "symmetric differences of one step h");
    }

    #[test]
    fn padding_around_each_candidate_does_not_hide_the_search() {
        // SimBA as above, each candidate after 48 unrelated rows in its request.
        let z = simba(10, 48).expect("enough parents");
        assert!(z.z >= 4.0, "{z:?}");
    }

    #[test]
    fn augmentations_of_one_image_answered_lower_are_not_selected() {
        // Test-time augmentation, one copy a request: contrast cut by 5-40 % and noise, each
        // answered lower the more it is cut (the low-contrast copies are also the most central).
        let mut rng = Rng::new(11);
        let x: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
        for _ in 0..10 {
            let mut sel = Selection::default();
            send(&mut sel, &x);
            for _ in 0..60 {
                let cut = 0.05 + 0.35 * rng.unit();
                let y: Vec<f32> = x
                    .iter()
                    .map(|v| 0.5 + (v - 0.5) * (1.0 - cut) + 0.01 * (rng.unit() - 0.5))
                    .collect();
                sel.begin_request();
                sel.observe(&codes(&y), 1, 0.9 - cut, 6);
            }
            let st = sel.state();
            let passes = st.as_ref().is_some_and(|s| {
                s.z >= 3.0 && 4 * s.of_improved >= 3 * s.parents && s.chain >= MIN_CHAIN
            });
            assert!(!passes, "{st:?}");
        }
    }

    #[test]
    fn rows_of_the_same_request_are_not_parents() {
        let mut sel = Selection::default();
        sel.begin_request();
        let x = vec![0.3f32; 64];
        for k in 0..5 {
            let mut y = x.clone();
            y[0] += 0.001 * k as f32;
            sel.observe(&codes(&y), 1, 0.5, 6);
        }
        assert_eq!(sel.parented, 0);
        sel.begin_request();
        sel.observe(&codes(&x), 1, 0.4, 6);
        assert_eq!((sel.parented, sel.improved), (1, 1));
    }
}
