//! Sparse (L0) searches: Sparse-RS (Croce et al. 2022), Pixle (Pomponi et al. 2022),
//! BruSLeAttack (Vo et al. 2024) and the pointwise attack's reduction (Schott et al. 2019) send
//! one candidate at a time, each the best input so far with a few pixels replaced (swapped for
//! other pixels, values drawn at random or copied from elsewhere in the image), and keep a
//! candidate when it was answered closer to the decision boundary. Every value outside the
//! replaced pixels is the best input's, bit for bit, and the replaced pixels are scattered over
//! the image. They succeed within tens of queries, before any test of near duplicates or
//! L∞ steps has a structure to read: a row a few pixels off is not a near duplicate.
//!
//! A row is a *sparse step* when, against the client's *lowest-answered recent row* (of the last
//! [`PARENTS`] earlier requests, each request's row answered with the lowest top-1 margin), it
//! differs in 1 to [`max_changed`] features (all others equal within [`SAME`]), is answered with
//! that row's label, the changed features are *scattered* (on a square one-channel image, at
//! least two 8-connected groups; otherwise at least two runs of consecutive features), and no
//! other row of its own request is that close to it (it was built alone, on an answer the client
//! already had). A step built on a row that was itself a step *chains* (the search kept a
//! candidate and built on it). `detect.sparse_steps` (3) requests with a step among the client's
//! last [`WINDOW`] requests, one of them chained, make a sparse search.
//!
//! What does not: a drawing app revealing ink stroke by stroke changes one connected run of
//! pixels; an occlusion map moves one window; an explainer's coalitions (LIME, KernelSHAP, LORE's
//! neighbourhoods) come a batch at a time, each row a few features off its siblings in the
//! request; a pixel-font editor's clicks and the digits of one font change the label or one
//! pixel at a time; a hand edit of a documented example is built on the example, not on the
//! lowest-answered edit. A search for the fewest pixels that an image needs flips cannot be
//! told from a person toggling scattered pixels of one image and keeping those that lowered the
//! answer; allow-list such a client.
//!
//! Rows are read on the compared values of [`super::space::Space`]: every feature of rows of at
//! most 128 values, a fixed sample of 128 of wider ones (a change outside the sample is not
//! seen), so a client's state is at most 16 rows of 128 values.

use std::collections::VecDeque;

/// Earlier requests whose lowest-answered row may be a step's parent.
pub const PARENTS: usize = 16;
/// The client's requests the steps are counted among.
pub const WINDOW: u64 = 8;
/// Values within this (absolute, or relative to the value) are the same: a float written
/// out and read back; any change a person or a search makes is far larger.
pub const SAME: f32 = 1e-4;
/// Rows of the request, on each side of a row, read for siblings (a batch's variants of one
/// input sit together; the bound keeps a huge request linear).
const SIBLINGS: usize = 64;

/// Features a sparse step changes at most: an eighth of the row (8 of an 8 × 8 image), at
/// least 2 and at most 64.
pub fn max_changed(d: usize) -> usize {
    (d / 8).clamp(2, 64)
}

/// Whether `a` and `b` differ in at most `max` features; the count when they do.
pub fn changed_within(a: &[f32], b: &[f32], max: usize) -> Option<usize> {
    let mut n = 0;
    for (x, y) in a.iter().zip(b) {
        if !same(*x, *y) {
            n += 1;
            if n > max {
                return None;
            }
        }
    }
    Some(n)
}

fn same(x: f32, y: f32) -> bool {
    let d = (x - y).abs();
    d <= SAME || d <= SAME * x.abs().max(y.abs())
}

/// For each row of a request, whether no other row within [`SIBLINGS`] positions of it differs
/// from it in at most [`max_changed`] features (0 included: a copy in the same request is a
/// sibling too).
pub fn alone(rows: &[Vec<f32>]) -> Vec<bool> {
    let n = rows.len();
    let mut out = vec![true; n];
    if n < 2 {
        return out;
    }
    let max = max_changed(rows[0].len());
    for i in 0..n {
        let hi = (i + SIBLINGS).min(n - 1);
        for j in i + 1..=hi {
            if changed_within(&rows[i], &rows[j], max).is_some() {
                out[i] = false;
                out[j] = false;
            }
        }
    }
    out
}

/// Whether the changed features are scattered: on a square one-channel image of `side`, at
/// least two 8-connected groups; otherwise at least two runs of consecutive features.
pub(super) fn scattered(changed: &[usize], side: Option<usize>) -> bool {
    if changed.len() < 2 {
        return false;
    }
    match side {
        Some(s) => {
            // changed.len() ≤ 64: a small union-find by flood fill
            let mut seen = [false; 64];
            let mut stack = Vec::with_capacity(changed.len());
            seen[0] = true;
            stack.push(0usize);
            let mut reached = 1;
            while let Some(a) = stack.pop() {
                let (ra, ca) = (changed[a] / s, changed[a] % s);
                for (b, &f) in changed.iter().enumerate() {
                    if seen[b] {
                        continue;
                    }
                    let (rb, cb) = (f / s, f % s);
                    if ra.abs_diff(rb) <= 1 && ca.abs_diff(cb) <= 1 {
                        seen[b] = true;
                        reached += 1;
                        stack.push(b);
                    }
                }
            }
            reached < changed.len()
        }
        None => changed.windows(2).any(|w| w[1] != w[0] + 1),
    }
}

#[derive(Clone, Debug)]
struct Parent {
    row: Vec<f32>,
    label: u32,
    margin: f32,
    /// The row was a sparse step itself.
    step: bool,
}

/// A sparse search found: requests with a step in the window, and the latest step's size.
#[derive(Clone, Debug, PartialEq)]
pub struct Walk {
    pub steps: usize,
    pub changed: usize,
}

/// One client's sparse-step state.
#[derive(Clone, Debug, Default)]
pub struct SparseWalk {
    /// Each of the last [`PARENTS`] requests' lowest-answered row.
    parents: VecDeque<Parent>,
    /// This request's lowest-answered row so far.
    pending: Option<Parent>,
    /// The client's request count, and the requests (by count) that held a step, and a chained
    /// one, among the last [`WINDOW`].
    requests: u64,
    stepped: VecDeque<u64>,
    chained: VecDeque<u64>,
    /// This request's latest step's size and whether one chained.
    this: Option<usize>,
    this_chained: bool,
}

impl SparseWalk {
    pub fn begin_request(&mut self) {
        self.requests += 1;
        self.pending = None;
        self.this = None;
        self.this_chained = false;
    }

    /// One row of the request: `alone` from [`alone`], `side` for square one-channel images.
    pub fn observe(
        &mut self,
        row: &[f32],
        alone: bool,
        label: u32,
        margin: f32,
        side: Option<usize>,
    ) {
        let mut step = false;
        if alone
            && let Some(p) = self
                .parents
                .iter()
                .rev()
                .min_by(|a, b| a.margin.total_cmp(&b.margin))
            && p.label == label
            && p.row.len() == row.len()
            && let Some(k) = changed_within(row, &p.row, max_changed(row.len()))
            && k > 0
        {
            let changed: Vec<usize> = row
                .iter()
                .zip(&p.row)
                .enumerate()
                .filter(|(_, (x, y))| !same(**x, **y))
                .map(|(i, _)| i)
                .collect();
            if scattered(&changed, side) {
                step = true;
                self.this = Some(k);
                self.this_chained |= p.step;
            }
        }
        if self.pending.as_ref().is_none_or(|q| margin <= q.margin) {
            match &mut self.pending {
                Some(q) => {
                    q.row.clear();
                    q.row.extend_from_slice(row);
                    q.label = label;
                    q.margin = margin;
                    q.step = step;
                }
                None => {
                    self.pending = Some(Parent {
                        row: row.to_vec(),
                        label,
                        margin,
                        step,
                    })
                }
            }
        }
    }

    /// The request is over: its lowest-answered row joins the parents; a search when `need`
    /// of the last [`WINDOW`] requests held a step (this one among them) and one chained.
    pub fn end_request(&mut self, need: usize) -> Option<Walk> {
        if let Some(p) = self.pending.take() {
            if self.parents.len() == PARENTS {
                self.parents.pop_front();
            }
            self.parents.push_back(p);
        }
        let now = self.requests;
        let keep = |q: &mut VecDeque<u64>| {
            while q.front().is_some_and(|&r| now - r >= WINDOW) {
                q.pop_front();
            }
        };
        if self.this.is_some() {
            self.stepped.push_back(now);
        }
        if self.this_chained {
            self.chained.push_back(now);
        }
        keep(&mut self.stepped);
        keep(&mut self.chained);
        let changed = self.this?;
        (self.stepped.len() >= need && !self.chained.is_empty()).then_some(Walk {
            steps: self.stepped.len(),
            changed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    fn below(rng: &mut Rng, n: u64) -> u64 {
        rng.next_u64() % n
    }

    fn digit(rng: &mut Rng) -> Vec<f32> {
        (0..64)
            .map(|i| {
                let (r, c) = (i / 8, i % 8);
                if (2..6).contains(&c) && (1..7).contains(&r) && rng.unit() < 0.7 {
                    (below(rng, 16) + 1) as f32 / 16.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// A toy model's answer: the margin falls with the number of pixels set off the original.
    fn answer(x0: &[f32], x: &[f32]) -> (u32, f32) {
        let off: f32 = x0.iter().zip(x).map(|(a, b)| (a - b).abs()).sum();
        (3, (0.9 - 0.05 * off).max(0.01))
    }

    fn run(walk: &mut SparseWalk, reqs: &[Vec<Vec<f32>>], x0: &[f32]) -> Option<usize> {
        for (i, req) in reqs.iter().enumerate() {
            walk.begin_request();
            let al = alone(req);
            for (row, a) in req.iter().zip(al) {
                let (l, m) = answer(x0, row);
                walk.observe(row, a, l, m, Some(8));
            }
            if walk.end_request(3).is_some() {
                return Some(i + 1);
            }
        }
        None
    }

    /// Sparse-RS's loop on the toy: swap one of 4 replaced pixels for another, keep it when the
    /// answer fell.
    fn sparse_rs(rng: &mut Rng, x0: &[f32], queries: usize) -> Vec<Vec<Vec<f32>>> {
        let mut set: Vec<usize> = Vec::new();
        while set.len() < 4 {
            let p = below(rng, 64) as usize;
            if !set.contains(&p) {
                set.push(p);
            }
        }
        // the extreme farther from the pixel, as Sparse-RS's 0/1 values mostly are
        let vals: Vec<f32> = x0
            .iter()
            .map(|&v| if v > 0.5 { 0.0 } else { 1.0 })
            .collect();
        let build = |set: &[usize]| {
            let mut x = x0.to_vec();
            for &p in set {
                x[p] = vals[p];
            }
            x
        };
        let mut best = build(&set);
        let mut best_m = answer(x0, &best).1;
        let mut out = vec![vec![best.clone()]];
        for _ in 1..queries {
            let mut cand = set.clone();
            let i = below(rng, 4) as usize;
            loop {
                let p = below(rng, 64) as usize;
                if !cand.contains(&p) {
                    cand[i] = p;
                    break;
                }
            }
            let x = build(&cand);
            let m = answer(x0, &x).1;
            if m < best_m {
                best_m = m;
                best = x.clone();
                set = cand;
            }
            out.push(vec![x]);
        }
        let _ = best;
        out
    }

    #[test]
    fn a_sparse_search_is_found_within_a_few_queries() {
        let mut found = 0;
        for seed in 0..20 {
            let mut rng = Rng::new(seed);
            let x0 = digit(&mut rng);
            let reqs = sparse_rs(&mut rng, &x0, 30);
            let mut w = SparseWalk::default();
            if let Some(q) = run(&mut w, &reqs, &x0) {
                assert!(q <= 12, "seed {seed}: found at query {q}");
                found += 1;
            }
        }
        assert!(found >= 18, "{found} of 20");
    }

    #[test]
    fn padding_natural_rows_around_each_candidate_does_not_hide_it() {
        let mut rng = Rng::new(7);
        let x0 = digit(&mut rng);
        let reqs = sparse_rs(&mut rng, &x0, 30);
        let padded: Vec<Vec<Vec<f32>>> = reqs
            .into_iter()
            .map(|mut r| {
                let mut out: Vec<Vec<f32>> = (0..40).map(|_| digit(&mut rng)).collect();
                out.append(&mut r);
                out
            })
            .collect();
        // The natural rows are answered confidently (far from the original: margin floor
        // would make them parents), so answer them by their own toy margin of 0.9.
        let mut w = SparseWalk::default();
        let mut hit = None;
        for (i, req) in padded.iter().enumerate() {
            w.begin_request();
            let al = alone(req);
            for (k, (row, a)) in req.iter().zip(al).enumerate() {
                let (l, m) = if k < 40 { (3, 0.9) } else { answer(&x0, row) };
                w.observe(row, a, l, m, Some(8));
            }
            if w.end_request(3).is_some() {
                hit = Some(i + 1);
                break;
            }
        }
        assert!(hit.is_some_and(|q| q <= 12), "{hit:?}");
    }

    #[test]
    fn strokes_drawn_one_frame_a_request_are_not_a_sparse_search() {
        // A drawing app: each frame reveals the next 3 pixels along the pen path (one stroke,
        // connected), each frame a few pixels off the previous one, answered ever less surely
        // while the digit is half drawn (so the latest frame is the lowest-answered).
        let mut target = vec![0.0f32; 64];
        let path: Vec<usize> = (1..7)
            .map(|r| r * 8 + 2)
            .chain((2..6).map(|c| 6 * 8 + c))
            .chain((1..7).rev().map(|r| r * 8 + 5))
            .collect();
        for (i, &p) in path.iter().enumerate() {
            target[p] = (8 + i % 8) as f32 / 16.0;
        }
        let mut frame = vec![0.0f32; 64];
        let mut w = SparseWalk::default();
        for (i, chunk) in path.chunks(3).enumerate() {
            for &p in chunk {
                frame[p] = target[p];
            }
            w.begin_request();
            w.observe(&frame, true, 3, 0.9 - 0.05 * i as f32, Some(8));
            assert_eq!(w.end_request(3), None, "frame {i}");
        }
    }

    #[test]
    fn an_explainers_batches_of_coalitions_are_not_a_sparse_search() {
        // An explainer's batches of 20 rows, each the image with two scattered pixels hidden:
        // every row is a few scattered pixels off the previous batch's lowest-answered row, with
        // its label, but a few pixels off its siblings in the request too.
        let mut rng = Rng::new(11);
        let x0: Vec<f32> = (0..64).map(|i| (1 + i % 15) as f32 / 16.0).collect();
        let mut w = SparseWalk::default();
        for b in 0..30 {
            let req: Vec<Vec<f32>> = (0..20)
                .map(|_| {
                    let mut x = x0.clone();
                    let a = below(&mut rng, 32) as usize;
                    x[a] = 0.0;
                    x[a + 32] = 0.0;
                    x
                })
                .collect();
            w.begin_request();
            let al = alone(&req);
            for (row, a) in req.iter().zip(al) {
                let (l, m) = answer(&x0, row);
                w.observe(row, a, l, m, Some(8));
            }
            assert_eq!(w.end_request(3), None, "batch {b}");
        }
    }

    #[test]
    fn scattered_reads_groups_on_the_image_and_runs_otherwise() {
        assert!(!scattered(&[9], Some(8)));
        assert!(!scattered(&[9, 10, 18], Some(8))); // one group
        assert!(!scattered(&[9, 18], Some(8))); // diagonal neighbours
        assert!(scattered(&[9, 11], Some(8)));
        assert!(scattered(&[0, 63], Some(8)));
        assert!(!scattered(&[4, 5, 6], None));
        assert!(scattered(&[4, 6], None));
    }

    proptest::proptest! {
        #[test]
        fn changed_within_counts_what_differs(a in proptest::collection::vec(0u8..4, 64),
                                              b in proptest::collection::vec(0u8..4, 64),
                                              max in 0usize..70) {
            let (x, y): (Vec<f32>, Vec<f32>) = (a.iter().map(|&v| v as f32 / 4.0).collect(),
                                                b.iter().map(|&v| v as f32 / 4.0).collect());
            let n = a.iter().zip(&b).filter(|(p, q)| p != q).count();
            proptest::prop_assert_eq!(changed_within(&x, &y, max), (n <= max).then_some(n));
        }

        #[test]
        fn alone_matches_reading_every_pair(rows in proptest::collection::vec(
                proptest::collection::vec(0u8..2, 64), 1..12)) {
            let rows: Vec<Vec<f32>> = rows.iter().map(|r| r.iter().map(|&v| v as f32).collect()).collect();
            let got = alone(&rows);
            for i in 0..rows.len() {
                let want = (0..rows.len()).all(|j| j == i || changed_within(&rows[i], &rows[j], 8).is_none());
                proptest::prop_assert_eq!(got[i], want);
            }
        }
    }
}
