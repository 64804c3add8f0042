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
//! State is bounded: the new inputs are kept as codes up to the client's budget (at most
//! [`KEPT`]); past that, a row is compared with the kept ones only, so the count is exact up to
//! the budget and an upper bound after it.

use super::space::far;

/// New inputs kept per client at most (`KEPT` × the space's width bytes: 512 KiB for the widest
/// space, 256 KiB for 64-value rows).
pub const KEPT: usize = 4096;

#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// The window's new inputs as codes, one after another.
    kept: Vec<i8>,
    /// New inputs in the window.
    count: u64,
}

impl Coverage {
    /// Whether the row (its `codes`) is a new input: not within `allow` far features of any kept
    /// one. A new input is kept while fewer than `keep` (capped at [`KEPT`]) are.
    pub fn observe(&mut self, codes: &[i8], allow: usize, keep: u64) -> bool {
        let w = codes.len();
        if w == 0 {
            return false;
        }
        // Latest first: a client re-sending or re-rendering an input mostly does so soon after.
        if self
            .kept
            .chunks_exact(w)
            .rev()
            .any(|k| far(k, codes, allow) <= allow)
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
        other[..7].fill(100); // seven: another input
        assert!(c.observe(&a, 6, 10));
        assert!(!c.observe(&a, 6, 10), "an exact re-send");
        assert!(!c.observe(&b, 6, 10), "a near duplicate");
        let jitter: Vec<i8> = (0..64)
            .map(|i| if i % 2 == 0 { FAR as i8 } else { -8 })
            .collect();
        assert!(!c.observe(&jitter, 6, 10), "dense jitter within the scale");
        assert!(c.observe(&other, 6, 10));
        assert_eq!(c.count(), 2);
        c.clear();
        assert_eq!(c.count(), 0);
        assert!(c.observe(&a, 6, 10));
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
            assert!(c.observe(&row(i), 0, 3));
        }
        assert_eq!(c.kept.len(), 3 * 16);
        assert!(c.observe(&row(8), 0, 3));
        assert!(!c.observe(&row(1), 0, 3));
        assert_eq!(c.count(), 5);
        assert!(!c.observe(&[], 0, 3));
    }
}
