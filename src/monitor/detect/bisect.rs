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
//! 32 values): a midpoint stays a midpoint under a linear map.
//!
//! Two ends that are one image at two intensities (a brightness or contrast slider dragged across
//! a label change, then back) make midpoints too: every position of such a slider lies on the
//! line between two others. Ends whose values are a function of each other
//! ([`super::signsteps::intensity`], on the raw compared features) are not a boundary search's.

use std::collections::VecDeque;

/// Recent rows a midpoint is looked for between.
pub const RECENT: usize = 16;

/// One client's recent rows (projected) and their labels.
#[derive(Clone, Debug, Default)]
pub struct Bisect {
    /// (projected row, label, the compared features' raw values).
    rows: VecDeque<(Vec<f32>, u32, Vec<f32>)>,
}

/// A midpoint found: the labels at its two ends and how far it is from the exact midpoint,
/// relative to the ends' distance.
#[derive(Clone, Debug, PartialEq)]
pub struct Midpoint {
    pub labels: (u32, u32),
    pub offset: f32,
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
        let found = self.midpoint(row, tolerance);
        if self.rows.len() == RECENT {
            self.rows.pop_front();
        }
        self.rows.push_back((row.to_vec(), label, values.to_vec()));
        found
    }

    fn midpoint(&self, q: &[f32], tolerance: f32) -> Option<Midpoint> {
        let rows = &self.rows;
        for i in 0..rows.len() {
            for j in i + 1..rows.len() {
                let ((a, la, va), (b, lb, vb)) = (&rows[i], &rows[j]);
                if la == lb || a.len() != q.len() || b.len() != q.len() {
                    continue;
                }
                let ends: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
                if ends.is_nan() || ends <= 1e-12 {
                    continue;
                }
                let bound = tolerance * tolerance * ends;
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
                if within && !super::signsteps::intensity(va, vb) {
                    return Some(Midpoint {
                        labels: (*la, *lb),
                        offset: (off / ends).sqrt(),
                    });
                }
            }
        }
        None
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
        assert_eq!(b.observe(&m1, &m1, 5, 0.05).unwrap().labels, (3, 5));
        let m2 = mid(&x, &m1);
        assert!(b.observe(&m2, &m2, 3, 0.05).is_some());
        // The midpoint of two rows of the same label is not a boundary search.
        let m3 = mid(&x, &m2);
        assert_eq!(b.observe(&m3, &m3, 3, 0.05), None);
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
}
