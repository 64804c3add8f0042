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

use std::collections::VecDeque;

/// Recent rows a midpoint is looked for between.
pub const RECENT: usize = 16;

/// One client's recent rows (projected) and their labels.
#[derive(Clone, Debug, Default)]
pub struct Bisect {
    rows: VecDeque<(Vec<f32>, u32)>,
}

/// A midpoint found: the labels at its two ends and how far it is from the exact midpoint,
/// relative to the ends' distance.
#[derive(Clone, Debug, PartialEq)]
pub struct Midpoint {
    pub labels: (u32, u32),
    pub offset: f32,
}

impl Bisect {
    /// Look `row` (projected) up against the recent rows, then remember it. `tolerance`: how
    /// far from the exact midpoint, as a share of the ends' distance, still counts.
    pub fn observe(&mut self, row: &[f32], label: u32, tolerance: f32) -> Option<Midpoint> {
        let found = self.midpoint(row, tolerance);
        if self.rows.len() == RECENT {
            self.rows.pop_front();
        }
        self.rows.push_back((row.to_vec(), label));
        found
    }

    fn midpoint(&self, q: &[f32], tolerance: f32) -> Option<Midpoint> {
        let rows = &self.rows;
        for i in 0..rows.len() {
            for j in i + 1..rows.len() {
                let ((a, la), (b, lb)) = (&rows[i], &rows[j]);
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
                if within {
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
            assert_eq!(b.observe(&point(&mut rng), l, 0.05), None);
        }
        let x = point(&mut rng);
        let s = point(&mut rng);
        assert_eq!(b.observe(&x, 3, 0.05), None);
        assert_eq!(b.observe(&s, 5, 0.05), None);
        let m1 = mid(&x, &s);
        assert_eq!(b.observe(&m1, 5, 0.05).unwrap().labels, (3, 5));
        let m2 = mid(&x, &m1);
        assert!(b.observe(&m2, 3, 0.05).is_some());
        // The midpoint of two rows of the same label is not a boundary search.
        let m3 = mid(&x, &m2);
        assert_eq!(b.observe(&m3, 3, 0.05), None);
    }

    #[test]
    fn a_midpoint_is_found_across_interleaved_rows_until_its_ends_leave_the_window() {
        let mut rng = Rng::new(2);
        let mut b = Bisect::default();
        let x = point(&mut rng);
        let s = point(&mut rng);
        b.observe(&x, 3, 0.05);
        b.observe(&s, 5, 0.05);
        for _ in 0..RECENT - 3 {
            b.observe(&point(&mut rng), 1, 0.05);
        }
        assert!(b.observe(&mid(&x, &s), 4, 0.05).is_some());
        for _ in 0..RECENT {
            b.observe(&point(&mut rng), 1, 0.05);
        }
        assert_eq!(b.observe(&mid(&x, &s), 4, 0.05), None);
    }
}
