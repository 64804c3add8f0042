//! Binary search for the decision boundary: a query that is the midpoint of two of the
//! client's recent queries answered with different labels. Decision-based attacks
//! (HopSkipJump, the Boundary attack) find the boundary this way, between the input they
//! attack and a point of another label, again and again; a benign client has no reason to send
//! the exact midpoint of two of its own inputs that the model labels differently, let alone to
//! keep halving the gap. It is read from the row's answer alone, so interleaving other
//! requests (up to [`RECENT`] rows in between) or starting from a natural image does not hide
//! it, and it shows at the search's first steps, before a near duplicate of the attacked input
//! is answered with another label.
//!
//! Rows are compared in the seeded projection PRADA uses ([`super::prada::Projection`], at most
//! 32 values): a midpoint stays a midpoint under a linear map. A row within `t` of two rows'
//! midpoint (as a share of their distance) is between `1/2 − t` and `1/2 + t` of that distance
//! from each, so pairs whose distances from the row differ by more than that ratio are passed
//! over without reading them (most pairs of a client's rows: the look-up is linear in
//! [`RECENT`] but for the pairs it reads).
//!
//! A binary search halves: each of its midpoints after the first lies between an earlier
//! midpoint and one end. A sweep that meets a midpoint by its spacing seldom nests: a stroke
//! normaliser's 0.3 blend is the midpoint of the image and its 0.6 blend (never nested), a
//! cross-dissolve replayed between the same two images puts frames on the midpoints of the last
//! one's (nested only when a third replay lands on those). Each row
//! carries its depth: 0, or for a midpoint one more than the deeper of its ends; a search shows
//! as depth 2 and more ([`Midpoint::depth`]).
//!
//! Two ends that are one image at two intensities (a brightness or contrast slider dragged across
//! a label change, then back) make midpoints too: every position of such a slider lies on the
//! line between two others. Ends whose values are a function of each other
//! ([`super::signsteps::intensity`], on the raw compared features) are not a boundary search's.

use std::collections::VecDeque;

/// Recent rows a midpoint is looked for between: 32 (round 22; 16 before). A search may run
/// several bisections at once, one midpoint of each a request: DB3KD measures a digit's
/// distance to the boundary toward each other class, 9 segments halved together, so a segment's
/// last two steps are 9 and 18 rows back (held out 20: 1 of 9 sessions found with 16, all at
/// their 23rd–28th midpoint with 32, offline).
pub const RECENT: usize = 32;

/// One client's recent rows (projected) and their labels.
#[derive(Clone, Debug, Default)]
pub struct Bisect {
    rows: VecDeque<Kept>,
}

#[derive(Clone, Debug)]
struct Kept {
    projected: Vec<f32>,
    label: u32,
    /// The compared features' raw values.
    values: Vec<f32>,
    /// 0, or for a midpoint one more than the deeper of its ends.
    depth: u32,
    /// Squared distances (projected) to the rows before it, the latest first: read as a pair's
    /// ends' distance, where it was measured as that row's distance from this one when this one
    /// came (the same sum, so the same value).
    before: Vec<f32>,
}

/// A midpoint found: the labels at its two ends and how far it is from the exact midpoint,
/// relative to the ends' distance.
#[derive(Clone, Debug, PartialEq)]
pub struct Midpoint {
    pub labels: (u32, u32),
    pub offset: f32,
    /// Nested midpoints in its chain: 1 for the midpoint of two rows that are none, one more
    /// for each midpoint it halves the gap of.
    pub depth: u32,
}

impl Bisect {
    /// Look `row` (projected; `values`: the compared features' raw values) up against the recent
    /// rows, then remember it. `tolerance`: how far from the exact midpoint, as a share of the
    /// ends' distance, still counts.
    pub fn observe(
        &mut self,
        row: &[f32],
        values: &[f32],
        label: u32,
        tolerance: f32,
    ) -> Option<Midpoint> {
        let mut from2 = [0f32; RECENT];
        let found = self.midpoint(row, tolerance, &mut from2);
        let before = from2[..self.rows.len()].iter().rev().copied().collect();
        if self.rows.len() == RECENT {
            self.rows.pop_front();
        }
        self.rows.push_back(Kept {
            projected: row.to_vec(),
            label,
            values: values.to_vec(),
            depth: found.as_ref().map_or(0, |m| m.depth),
            before,
        });
        found
    }

    /// The deepest midpoint `q` is of two recent rows; `from2`: each row's squared distance
    /// from `q`, filled in.
    fn midpoint(&self, q: &[f32], tolerance: f32, from2: &mut [f32; RECENT]) -> Option<Midpoint> {
        let rows = &self.rows;
        let mut best: Option<Midpoint> = None;
        // Each row's distance from `q`, and the widest ratio of two a midpoint allows.
        // (On the stack: this runs for every answered row.)
        let mut from = [0f32; RECENT];
        for ((f, f2), r) in from.iter_mut().zip(from2.iter_mut()).zip(rows) {
            *f2 = r
                .projected
                .iter()
                .zip(q)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f32>();
            *f = f2.sqrt();
        }
        let t = tolerance.clamp(0.0, 0.49);
        let ratio = (0.5 + t) / (0.5 - t);
        // Each row's label and depth, on the stack (a row of another length is never an end:
        // no label), so the pairs the tests pass over are read from them alone.
        let (mut labels, mut depths) = ([None; RECENT], [0u32; RECENT]);
        for ((l, d), r) in labels.iter_mut().zip(depths.iter_mut()).zip(rows) {
            *l = (r.projected.len() == q.len()).then_some(r.label);
            *d = r.depth;
        }
        let mut best_depth = 0;
        let n = rows.len().min(RECENT);
        for i in 0..n {
            let Some(li) = labels[i] else { continue };
            for j in i + 1..n {
                let depth = 1 + depths[i].max(depths[j]);
                if labels[j].is_none_or(|lj| lj == li)
                    || best_depth >= depth
                    || from[i] > ratio * from[j]
                    || from[j] > ratio * from[i]
                {
                    continue;
                }
                let (ri, rj) = (&rows[i], &rows[j]);
                let (a, b) = (&ri.projected, &rj.projected);
                let ends: f32 = match rj.before.get(j - i - 1) {
                    Some(&e) => e,
                    None => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
                };
                if ends.is_nan() || ends <= 1e-12 {
                    continue;
                }
                let bound = tolerance * tolerance * ends;
                // `q`'s squared distance from the ends' midpoint, from the three distances
                // (Apollonius: |q−m|² = (|q−a|² + |q−b|²)/2 − |a−b|²/4): a pair it puts clearly
                // outside the tolerance is passed over without reading the rows (by a margin of a
                // thousandth of the three, far above their sums' rounding: the test below decides
                // every pair near the tolerance, as before).
                let (fi, fj, e) = (f64::from(from2[i]), f64::from(from2[j]), f64::from(ends));
                if 0.5 * (fi + fj) - 0.25 * e > f64::from(bound) + 1e-3 * (fi + fj + e) {
                    continue;
                }
                let mut off = 0.0f32;
                let mut within = true;
                for ((x, y), v) in a.iter().zip(b).zip(q) {
                    let d = v - 0.5 * (x + y);
                    off += d * d;
                    if off > bound {
                        within = false;
                        break;
                    }
                }
                if within && !super::signsteps::intensity(&ri.values, &rj.values) {
                    best_depth = depth;
                    best = Some(Midpoint {
                        labels: (ri.label, rj.label),
                        offset: (off / ends).sqrt(),
                        depth,
                    });
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    fn point(rng: &mut Rng) -> Vec<f32> {
        (0..32).map(|_| rng.unit()).collect()
    }

    fn mid(a: &[f32], b: &[f32]) -> Vec<f32> {
        a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)).collect()
    }

    #[test]
    fn halving_the_gap_between_two_labels_is_found_and_random_rows_are_not() {
        let mut rng = Rng::new(1);
        let mut b = Bisect::default();
        for _ in 0..500 {
            let l = (rng.next_u64() % 10) as u32;
            assert_eq!(
                {
                    let p = point(&mut rng);
                    b.observe(&p, &p, l, 0.05)
                },
                None
            );
        }
        let x = point(&mut rng);
        let s = point(&mut rng);
        assert_eq!(b.observe(&x, &x, 3, 0.05), None);
        assert_eq!(b.observe(&s, &s, 5, 0.05), None);
        let m1 = mid(&x, &s);
        let found = b.observe(&m1, &m1, 5, 0.05).unwrap();
        assert_eq!((found.labels, found.depth), ((3, 5), 1));
        // The next halves the gap between the first midpoint and an end: nested.
        let m2 = mid(&x, &m1);
        assert_eq!(b.observe(&m2, &m2, 3, 0.05).unwrap().depth, 2);
        // The midpoint of two rows of the same label is not a boundary search.
        let m3 = mid(&x, &m2);
        assert_eq!(b.observe(&m3, &m3, 3, 0.05), None);
    }

    #[test]
    fn bisections_of_nine_segments_at_once_are_found() {
        // DB3KD's sample robustness: a digit (label 0) and its nearest digit of each other
        // class, the 9 segments halved together, one midpoint of each a request; each segment's
        // boundary at its own place.
        let mut rng = Rng::new(5);
        let mut b = Bisect::default();
        let x = point(&mut rng);
        let ends: Vec<Vec<f32>> = (0..9).map(|_| point(&mut rng)).collect();
        let at: Vec<f32> = (0..9).map(|_| 0.1 + 0.8 * rng.unit()).collect();
        b.observe(&x, &x, 0, 0.05);
        for (k, e) in ends.iter().enumerate() {
            b.observe(e, e, k as u32 + 1, 0.05);
        }
        // Unrelated rows between the digits and their searches (the searches' ends are out of
        // the window by then).
        for _ in 0..RECENT {
            let p = point(&mut rng);
            b.observe(&p, &p, 0, 0.05);
        }
        let (mut lo, mut hi) = (vec![0f32; 9], vec![1f32; 9]);
        let mut deepest = vec![];
        for _ in 0..6 {
            let mut depth = 0;
            for k in 0..9 {
                let m = 0.5 * (lo[k] + hi[k]);
                let row: Vec<f32> = x
                    .iter()
                    .zip(&ends[k])
                    .map(|(a, e)| a + m * (e - a))
                    .collect();
                let label = if m < at[k] { 0 } else { k as u32 + 1 };
                depth = depth.max(b.observe(&row, &row, label, 0.05).map_or(0, |f| f.depth));
                if label == 0 {
                    lo[k] = m;
                } else {
                    hi[k] = m;
                }
            }
            deepest.push(depth);
        }
        assert!(deepest[3..].iter().all(|&d| d >= 2), "{deepest:?}");
    }

    #[test]
    fn midpoints_a_sweep_meets_by_its_spacing_do_not_nest() {
        // A stroke-width normaliser: each image, then its 0.6 and 0.3 blends with its eroded
        // self; the 0.3 blend is the midpoint of the image and the 0.6 blend, answered
        // differently when the thinner stroke reads as another digit. Image after image, every
        // midpoint is of depth 1.
        let mut rng = Rng::new(4);
        let mut b = Bisect::default();
        for _ in 0..40 {
            let x = point(&mut rng);
            // The eroded image: not a function of the image's values (strokes thin unevenly).
            let e = point(&mut rng);
            let blend = |w: f32| -> Vec<f32> {
                x.iter()
                    .zip(&e)
                    .map(|(p, q)| (1.0 - w) * p + w * q)
                    .collect()
            };
            let (b6, b3) = (blend(0.6), blend(0.3));
            b.observe(&x, &x, 8, 0.05);
            b.observe(&b6, &b6, 7, 0.05);
            let found = b.observe(&b3, &b3, 8, 0.05).unwrap();
            assert_eq!(found.depth, 1);
        }
    }

    #[test]
    fn a_brightness_slider_dragged_across_a_label_change_and_back_is_not_a_bisection() {
        // An image at brightness 1.0 (label 8), dragged to 0.6 (label 7), then back to 0.8: the
        // midpoint of the two, as a slider makes it.
        let mut rng = Rng::new(3);
        let x: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
        let at = |v: f32| -> Vec<f32> { x.iter().map(|p| (p * v).clamp(0.0, 1.0)).collect() };
        let mut b = Bisect::default();
        // Projected as the values themselves (a linear map keeps midpoints).
        b.observe(&at(1.0), &at(1.0), 8, 0.05);
        b.observe(&at(0.6), &at(0.6), 7, 0.05);
        assert_eq!(b.observe(&at(0.8), &at(0.8), 8, 0.05), None);
        // The same geometry between two different images is a bisection.
        let y: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
        b.observe(&y, &y, 7, 0.05);
        let m = mid(&x, &y);
        assert!(b.observe(&m, &m, 8, 0.05).is_some());
    }

    #[test]
    fn a_midpoint_is_found_across_interleaved_rows_until_its_ends_leave_the_window() {
        let mut rng = Rng::new(2);
        let mut b = Bisect::default();
        let x = point(&mut rng);
        let s = point(&mut rng);
        b.observe(&x, &x, 3, 0.05);
        b.observe(&s, &s, 5, 0.05);
        for _ in 0..RECENT - 3 {
            {
                let p = point(&mut rng);
                b.observe(&p, &p, 1, 0.05);
            }
        }
        assert!(b.observe(&mid(&x, &s), &mid(&x, &s), 4, 0.05).is_some());
        for _ in 0..RECENT {
            {
                let p = point(&mut rng);
                b.observe(&p, &p, 1, 0.05);
            }
        }
        assert_eq!(b.observe(&mid(&x, &s), &mid(&x, &s), 4, 0.05), None);
    }

    /// The look-up as first written: every pair's ends' distance summed again, and the offset
    /// read for every pair the distance ratio lets through.
    fn by_reading_every_pair(
        rows: &[(Vec<f32>, u32, u32)],
        q: &[f32],
        tolerance: f32,
    ) -> Option<Midpoint> {
        let d = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>();
        let from: Vec<f32> = rows.iter().map(|r| d(&r.0, q).sqrt()).collect();
        let t = tolerance.clamp(0.0, 0.49);
        let ratio = (0.5 + t) / (0.5 - t);
        let mut best: Option<Midpoint> = None;
        for i in 0..rows.len() {
            for j in i + 1..rows.len() {
                let ((a, la, da), (b, lb, db)) = (&rows[i], &rows[j]);
                let depth = 1 + da.max(db);
                if la == lb
                    || best.as_ref().is_some_and(|m| m.depth >= depth)
                    || from[i] > ratio * from[j]
                    || from[j] > ratio * from[i]
                {
                    continue;
                }
                let ends = d(a, b);
                if ends.is_nan() || ends <= 1e-12 {
                    continue;
                }
                let off: f32 = a
                    .iter()
                    .zip(b)
                    .zip(q)
                    .map(|((x, y), v)| (v - 0.5 * (x + y)).powi(2))
                    .sum();
                if off <= tolerance * tolerance * ends {
                    best = Some(Midpoint {
                        labels: (*la, *lb),
                        offset: (off / ends).sqrt(),
                        depth,
                    });
                }
            }
        }
        best
    }

    #[test]
    fn the_look_up_finds_what_reading_every_pair_finds() {
        // Rows near midpoints of recent ones (offsets around the tolerance, on both sides),
        // among random rows, with few labels so that most pairs straddle two.
        let mut rng = Rng::new(23);
        let mut b = Bisect::default();
        let mut kept: Vec<(Vec<f32>, u32, u32)> = Vec::new();
        let (mut found, mut nested) = (0, 0);
        for n in 0..3000 {
            let q: Vec<f32> = if kept.len() >= 2 && n % 2 == 0 {
                let i = (rng.next_u64() % kept.len() as u64) as usize;
                let j = (rng.next_u64() % kept.len() as u64) as usize;
                let scale = 0.2 * rng.unit();
                mid(&kept[i].0, &kept[j].0)
                    .iter()
                    .map(|v| v + scale * (rng.unit() - 0.5))
                    .collect()
            } else {
                point(&mut rng)
            };
            let label = (rng.next_u64() % 3) as u32;
            let want = by_reading_every_pair(&kept, &q, 0.05);
            let got = b.observe(&q, &q, label, 0.05);
            // The offset may differ in its last bits (summed in another order): compare it
            // loosely, the rest exactly.
            assert_eq!(
                got.as_ref().map(|m| (m.labels, m.depth)),
                want.as_ref().map(|m| (m.labels, m.depth)),
                "row {n}"
            );
            if let (Some(g), Some(w)) = (&got, &want) {
                assert!((g.offset - w.offset).abs() <= 1e-4, "row {n}");
                found += 1;
                nested += usize::from(g.depth >= 2);
            }
            if kept.len() == RECENT {
                kept.remove(0);
            }
            kept.push((q, label, got.map_or(0, |m| m.depth)));
        }
        assert!(
            found > 100 && nested > 10,
            "{found} midpoints, {nested} nested"
        );
    }
}
