//! Extraction coverage: how many *different* inputs a client has been answered for in the
//! window. A new input is one that is not a near duplicate ([`super::space`]: every feature but
//! a small share within half the feature's spread) of any earlier new input of the client: a
//! greedy covering of its queries by near-duplicate balls, after Kesarwani et al.'s extraction
//! monitor (how much of the input space one client has covered) at the scale near duplicates are
//! measured in everywhere else.
//!
//! What a copy is trained on is the model's answers at different places; renderings of one
//! document (a re-scan under new light, a frame of the same card, a re-sent glyph) land in one
//! ball and teach a surrogate little that the first did not. A natural-data extraction spends
//! its queries on different inputs; a busy client re-reading what it already sent does not.
//!
//! **Local edits** (square one-channel images): a row whose far features, however many, all lie
//! in one window of at most half the image's side each way is an edit of the kept input, not a
//! new one — an occlusion or prediction-difference window (Zintgraf et al.'s PredDiff replaces
//! every k × k window with samples), a patch, a stroke added or rubbed out. Two different natural
//! inputs differ all over: of the 224,250 pairs of five 300-digit baselines of the field
//! harness, 36 are near duplicates and 3 have their far features in one 4 × 4 window of the
//! 8 × 8 image, while 2,934 are far in 7–16 features spread wider. A quarter of the image is
//! more than the 10 % of features a near duplicate may differ in anywhere. An edit is read
//! against the client's latest [`EDITED`] kept inputs only: edits of edits do not drift (a ball
//! is a kept input and one window's worth of change), and the comparisons with older kept inputs
//! stop as early as the allowance lets them.
//!
//! State is bounded: the new inputs are kept as codes up to the client's budget (at most
//! [`KEPT`]); past that, a row is compared with the kept ones only, so the count is exact up to
//! the budget and an upper bound after it.

use super::space::{far, far_apart};

/// New inputs kept per client at most (`KEPT` × the space's width bytes: 512 KiB for the widest
/// space, 256 KiB for 64-value rows).
pub const KEPT: usize = 4096;

/// Kept inputs, latest first, a row is read against for a [`local_edit`]: an explainer or an
/// editor works on the input it has just sent.
pub const EDITED: usize = 16;

#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// The window's new inputs as codes, one after another.
    kept: Vec<i8>,
    /// New inputs in the window.
    count: u64,
}

impl Coverage {
    /// Whether the row (its `codes`) is a new input: not within `allow` far features of any kept
    /// one, nor (with the `side` of a square one-channel image whose codes are its pixels in
    /// order) a [`local_edit`] of one. A new input is kept while fewer than `keep` (capped at
    /// [`KEPT`]) are.
    pub fn observe(&mut self, codes: &[i8], allow: usize, keep: u64, side: Option<usize>) -> bool {
        let w = codes.len();
        if w == 0 {
            return false;
        }
        let side = side.filter(|s| s * s == w && *s >= 4);
        let window = side.map_or(0, |s| (s / 2) * (s / 2));
        // Latest first: a client re-sending or re-rendering an input mostly does so soon after,
        // and edits one it has just sent (only the latest EDITED are read for edits, which
        // count further and so cost more).
        if self
            .kept
            .chunks_exact(w)
            .rev()
            .enumerate()
            .any(|(i, k)| match side {
                Some(s) if i < EDITED => {
                    let n = far(k, codes, allow.max(window));
                    n <= allow || (n <= window && local_edit(k, codes, s))
                }
                _ => far(k, codes, allow) <= allow,
            })
        {
            return false;
        }
        self.count += 1;
        let keep = usize::try_from(keep).unwrap_or(usize::MAX).min(KEPT);
        if self.kept.len() / w < keep {
            self.kept.extend_from_slice(codes);
        }
        true
    }

    /// New inputs in the window.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// A new window: nothing covered yet.
    pub fn clear(&mut self) {
        self.kept.clear();
        self.count = 0;
    }
}

/// Whether every far feature between two code rows of a `side` × `side` image (pixels in
/// order) lies in one window of at most `side / 2` rows and `side / 2` columns.
pub fn local_edit(a: &[i8], b: &[i8], side: usize) -> bool {
    let half = side / 2;
    let (mut top, mut bottom, mut left, mut right) = (usize::MAX, 0, usize::MAX, 0);
    for (i, (&p, &q)) in a.iter().zip(b).enumerate() {
        if far_apart(p, q) {
            let (r, c) = (i / side, i % side);
            (top, bottom) = (top.min(r), bottom.max(r));
            (left, right) = (left.min(c), right.max(c));
            if bottom - top >= half || right - left >= half {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::detect::space::FAR;

    #[test]
    fn re_renderings_of_an_input_cover_it_once_and_different_inputs_each_count() {
        let mut c = Coverage::default();
        let a = vec![0i8; 64];
        let mut b = vec![0i8; 64];
        b[..6].fill(100); // six features far: within an allowance of 6
        let mut other = vec![0i8; 64];
        other[..7].fill(100); // seven, across seven columns of the 8 x 8 image: another input
        assert!(c.observe(&a, 6, 10, Some(8)));
        assert!(!c.observe(&a, 6, 10, Some(8)), "an exact re-send");
        assert!(!c.observe(&b, 6, 10, Some(8)), "a near duplicate");
        let jitter: Vec<i8> = (0..64)
            .map(|i| if i % 2 == 0 { FAR as i8 } else { -8 })
            .collect();
        assert!(
            !c.observe(&jitter, 6, 10, Some(8)),
            "dense jitter within the scale"
        );
        assert!(c.observe(&other, 6, 10, Some(8)));
        assert_eq!(c.count(), 2);
        c.clear();
        assert_eq!(c.count(), 0);
        assert!(c.observe(&a, 6, 10, Some(8)));
    }

    #[test]
    fn past_the_budget_the_count_is_an_upper_bound_and_memory_stays_bounded() {
        let mut c = Coverage::default();
        let row = |i: usize| -> Vec<i8> {
            (0..16)
                .map(|j| if (i >> (j % 8)) & 1 == 1 { 100 } else { -100 })
                .collect()
        };
        // 3 kept; a fourth new input counts, is not kept, and so counts again when re-sent.
        for i in [1, 2, 4, 8] {
            assert!(c.observe(&row(i), 0, 3, None));
        }
        assert_eq!(c.kept.len(), 3 * 16);
        assert!(c.observe(&row(8), 0, 3, None));
        assert!(!c.observe(&row(1), 0, 3, None));
        assert_eq!(c.count(), 5);
        assert!(!c.observe(&[], 0, 3, None));
    }

    #[test]
    fn an_edit_inside_one_window_of_a_kept_image_is_the_same_input() {
        let mut c = Coverage::default();
        let a = vec![0i8; 64];
        assert!(c.observe(&a, 6, 10, Some(8)));
        // Every pixel of a 4 x 4 window (rows 2-5, columns 3-6) far: an edit of `a`.
        let window = |top: usize, left: usize, h: usize, w: usize, v: i8| {
            let mut x = a.clone();
            for r in top..top + h {
                for col in left..left + w {
                    x[r * 8 + col] = v;
                }
            }
            x
        };
        assert!(local_edit(&a, &window(2, 3, 4, 4, 100), 8));
        assert!(!c.observe(&window(2, 3, 4, 4, 100), 6, 10, Some(8)));
        assert!(!c.observe(&window(4, 4, 4, 4, -100), 6, 10, Some(8)));
        assert!(!c.observe(&window(0, 0, 3, 3, 50), 6, 10, Some(8)));
        // Five columns wide, or two windows apart: another input.
        assert!(!local_edit(&a, &window(2, 2, 2, 5, 100), 8));
        assert!(c.observe(&window(2, 2, 2, 5, 100), 6, 10, Some(8)));
        let mut two = window(0, 0, 2, 2, 100);
        two[63] = 100;
        two[62] = 100;
        two[55] = 100;
        assert!(!local_edit(&a, &two, 8));
        assert!(c.observe(&two, 6, 10, Some(8)));
        // `a`, the five-column edit and the two-window one.
        assert_eq!(c.count(), 3);
        // Edits are read against the latest EDITED new inputs: `a` is the 16th, then the 17th.
        let mut rng = crate::util::Rng::new(21);
        for i in 0..EDITED - 3 {
            let x: Vec<i8> = (0..64)
                .map(|_| if rng.unit() < 0.5 { 127 } else { -127 })
                .collect();
            assert!(c.observe(&x, 6, 100, Some(8)), "{i}");
        }
        assert!(!c.observe(&window(4, 0, 4, 4, 100), 6, 100, Some(8)));
        let mut y = vec![0i8; 64];
        y[..8].fill(127);
        assert!(c.observe(&y, 6, 100, Some(8)));
        assert!(c.observe(&window(4, 0, 4, 4, -100), 6, 100, Some(8)));
        // Without the image's layout (or for rows that are not its square), only the allowance.
        let mut d = Coverage::default();
        assert!(d.observe(&a, 6, 10, None));
        assert!(d.observe(&window(2, 3, 4, 4, 100), 6, 10, None));
        let mut e = Coverage::default();
        assert!(e.observe(&a, 6, 10, Some(7)));
        assert!(e.observe(&window(2, 3, 4, 4, 100), 6, 10, Some(7)));
    }
}
