//! Re-sent fittest candidates: a population search evaluates a batch of candidates around one
//! input and then sends again, exactly and on its own (or among a few others), the candidate the
//! model answered closest to the decision boundary. Differential evolution checks its best
//! individual after each generation (ART's `PixelAttack` and `ThresholdAttack`, after Su et al.
//! 2019 and Kotyan & Vargas 2019), basin hopping re-evaluates the point it accepted among its next
//! perturbations (Adv-watermark, Jia et al. 2020), and a trust-region or evolution step starts
//! its next batch from its best point so far. Which candidate is re-sent is chosen by the
//! answers: that is the search.
//!
//! A *population batch* is a request of at least [`MIN_ROWS`] rows, half or more of them near
//! duplicates of its *fittest* row: the one answered with the lowest signed margin (the top-1
//! margin of rows with the request's majority label, minus it for rows with another label),
//! unique, and not itself repeated in the request. In each of the client's next [`FOLLOW`]
//! requests that sends again, exactly, `k` of the batch's rows with `k` at most a
//! [`SHARE_DEN`]th of them, the batch is *tried*: a client choosing which rows to re-send
//! without the answers includes the fittest with probability `k / n`. A batch whose fittest was
//! re-sent is a *hit*. [`HITS`] hits among the client's last [`BATCHES`] batches, and a
//! one-sided z of at least [`Z`] against the chances summed, fire.
//!
//! What does not: a retry re-sends a whole request (more than a quarter of the batch: no
//! evidence either way); a review screen re-fetching the least certain of a page of scans
//! re-sends one of many different inputs (no population); an explainer's or an audit's batches
//! are never re-sent by their answers; a backward selection (sufficient input subsets) keeps the
//! candidate answered *highest* and re-sends most of its batch with it (more than a quarter: not
//! read). A client that re-sends
//! its least certain variant of one input on purpose (a person double-checking the case the
//! model was least sure of, time after time) cannot be told from a search; allow-list it.
//!
//! State: the hashes of the client's last [`ROWS`] rows of population batches, and its last
//! [`BATCHES`] batches' counts.

use std::collections::VecDeque;

/// Rows a population batch holds at least.
pub const MIN_ROWS: usize = 8;
/// A batch's fittest row counts as re-sent in the client's next this many requests.
pub const FOLLOW: u32 = 16;
/// A request that re-sends more than `1 / SHARE_DEN` of a batch's rows tells nothing of it.
pub const SHARE_DEN: usize = 4;
/// Hits that fire (with [`Z`]).
pub const HITS: u32 = 2;
/// One-sided z of the hits against their chances that fires.
pub const Z: f32 = 4.0;
/// Batches remembered (the evidence window).
pub const BATCHES: usize = 32;
/// Row hashes of population batches remembered.
pub const ROWS: usize = 512;

#[derive(Clone, Debug)]
struct Batch {
    seq: u64,
    rows: u32,
    fittest: u64,
    /// Requests since the batch.
    follow: u32,
    /// The chance its fittest row was re-sent without the answers, summed over its tries.
    chance: f32,
    hit: bool,
}

/// One client's population batches and their re-sends.
#[derive(Clone, Debug, Default)]
pub struct Resends {
    seq: u64,
    /// (row hash, batch seq), oldest first.
    hashes: VecDeque<(u64, u64)>,
    batches: VecDeque<Batch>,
}

/// The test's counts when it fires.
#[derive(Clone, Debug, PartialEq)]
pub struct Resent {
    /// Batches whose fittest row was re-sent.
    pub hits: u32,
    /// Batches remembered.
    pub batches: u32,
    /// Hits expected by chance.
    pub expected: f32,
    pub z: f32,
}

/// The row of a request answered with the lowest signed margin: rows with the request's
/// majority label (the smallest label among equally common ones) count their top-1 margin,
/// rows with another label minus it. None when the lowest is tied or a margin is not finite.
pub fn fittest(labels: &[usize], margins: &[f32]) -> Option<usize> {
    let n = labels.len().min(margins.len());
    if n == 0 || margins[..n].iter().any(|m| !m.is_finite()) {
        return None;
    }
    let mut sorted = labels[..n].to_vec();
    sorted.sort_unstable();
    let (mut majority, mut best, mut run) = (sorted[0], 0, 0);
    for (i, &l) in sorted.iter().enumerate() {
        run = if i > 0 && sorted[i - 1] == l {
            run + 1
        } else {
            1
        };
        if run > best {
            (majority, best) = (l, run);
        }
    }
    let signed = |i: usize| {
        if labels[i] == majority {
            margins[i]
        } else {
            -margins[i]
        }
    };
    let low = (0..n).min_by(|&a, &b| signed(a).total_cmp(&signed(b)))?;
    let tied = (0..n).filter(|&i| signed(i) == signed(low)).count() > 1;
    (!tied).then_some(low)
}

/// `hashes` without repeats.
fn distinct(hashes: &[u64]) -> Vec<u64> {
    let mut out = hashes.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

impl Resends {
    /// One request: its rows' hashes (`row_hash`) and, when it is a population batch, its
    /// fittest row ([`fittest`], near duplicates of it half of the request or more: the caller
    /// measures that).
    pub fn observe(&mut self, hashes: &[u64], population: Option<usize>) -> Option<Resent> {
        self.seq += 1;
        if self.batches.iter().any(|b| !b.hit && b.follow < FOLLOW) {
            // (batch seq, its rows re-sent, its fittest among them).
            let mut tries: Vec<(u64, u32, bool)> = Vec::new();
            for h in &distinct(hashes) {
                let Some(&(_, seq)) = self.hashes.iter().rev().find(|(x, _)| x == h) else {
                    continue;
                };
                let fit = self.batches.iter().any(|b| b.seq == seq && b.fittest == *h);
                match tries.iter_mut().find(|t| t.0 == seq) {
                    Some(t) => {
                        t.1 += 1;
                        t.2 |= fit;
                    }
                    None => tries.push((seq, 1, fit)),
                }
            }
            for &(seq, k, fit) in &tries {
                let Some(b) = self.batches.iter_mut().find(|b| b.seq == seq) else {
                    continue;
                };
                if b.hit || b.follow >= FOLLOW || k as usize * SHARE_DEN > b.rows as usize {
                    continue;
                }
                b.chance = (b.chance + k as f32 / b.rows as f32).min(1.0);
                b.hit = fit;
            }
        }
        for b in &mut self.batches {
            b.follow = b.follow.saturating_add(1);
        }
        let hits = self.batches.iter().filter(|b| b.hit).count() as u32;
        let expected: f32 = self.batches.iter().map(|b| b.chance).sum();
        let variance: f32 = self
            .batches
            .iter()
            .map(|b| b.chance * (1.0 - b.chance))
            .sum();
        let z = (hits as f32 - expected) / variance.max(1e-6).sqrt();
        let out = (hits >= HITS && z >= Z).then_some(Resent {
            hits,
            batches: self.batches.len() as u32,
            expected,
            z,
        });
        if let Some(f) = population
            && let Some(&fit) = hashes.get(f)
            && hashes.iter().filter(|&&h| h == fit).count() == 1
        {
            self.batches.push_back(Batch {
                seq: self.seq,
                rows: hashes.len() as u32,
                fittest: fit,
                follow: 0,
                chance: 0.0,
                hit: false,
            });
            if self.batches.len() > BATCHES {
                self.batches.pop_front();
            }
            // At most ROWS of them (the ones the ring would keep), so a huge request does not
            // grow the ring's allocation past twice its bound.
            let rows = distinct(hashes);
            for &h in &rows[rows.len().saturating_sub(ROWS)..] {
                self.hashes.push_back((h, self.seq));
            }
            while self.hashes.len() > ROWS {
                self.hashes.pop_front();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    /// A batch of `n` rows (hashes `base..base + n`) whose fittest is row `f`.
    fn batch(base: u64, n: usize) -> Vec<u64> {
        (base..base + n as u64).collect()
    }

    #[test]
    fn the_fittest_is_the_lowest_signed_margin_and_must_be_unique() {
        // Majority label 3; the row with another label is lowest whatever its margin.
        assert_eq!(fittest(&[3, 3, 5, 3], &[0.9, 0.2, 0.1, 0.5]), Some(2));
        assert_eq!(fittest(&[3, 3, 3], &[0.9, 0.2, 0.5]), Some(1));
        assert_eq!(fittest(&[3, 3, 3], &[0.2, 0.2, 0.5]), None);
        assert_eq!(fittest(&[3, 3], &[f32::NAN, 0.2]), None);
        assert_eq!(fittest(&[], &[]), None);
    }

    #[test]
    fn a_search_re_sending_its_fittest_alone_fires_at_the_second_hit() {
        let mut r = Resends::default();
        let mut fired = None;
        for g in 0..6u64 {
            let rows = batch(g * 1000, 50);
            let f = (g * 7 % 50) as usize;
            assert!(r.observe(&rows, Some(f)).is_none() || fired.is_some());
            if let Some(x) = r.observe(&[rows[f]], None) {
                fired.get_or_insert((g, x));
            }
        }
        let (g, x) = fired.expect("fires");
        assert_eq!(g, 1);
        assert_eq!(x.hits, 2);
        assert!(x.expected < 0.05 && x.z >= Z, "{x:?}");
    }

    #[test]
    fn re_sending_other_rows_a_retry_or_after_the_follow_window_does_not_fire() {
        let mut rng = Rng::new(27);
        // Any row but the fittest, alone, for 40 batches of 8: chance 1/8 a try, no hit.
        let mut r = Resends::default();
        for g in 0..40u64 {
            let rows = batch(g * 1000, 8);
            r.observe(&rows, Some(0));
            let pick = 1 + (rng.unit() * 7.0) as usize % 7;
            assert!(r.observe(&[rows[pick]], None).is_none());
        }
        // A retry: the whole batch again, fittest included, every time.
        let mut r = Resends::default();
        for g in 0..40u64 {
            let rows = batch(g * 1000, 8);
            r.observe(&rows, Some(0));
            assert!(r.observe(&rows, None).is_none());
        }
        // The fittest re-sent only after FOLLOW other requests.
        let mut r = Resends::default();
        for g in 0..40u64 {
            let rows = batch(g * 1000, 8);
            r.observe(&rows, Some(0));
            for k in 0..FOLLOW as u64 {
                r.observe(&[1_000_000 + g * 10 + k], None);
            }
            assert!(r.observe(&[rows[0]], None).is_none());
        }
        // Not a population: the caller passes None, nothing is remembered.
        let mut r = Resends::default();
        for g in 0..40u64 {
            let rows = batch(g * 1000, 8);
            r.observe(&rows, None);
            assert!(r.observe(&[rows[0]], None).is_none());
        }
    }

    #[test]
    fn picks_made_without_the_answers_stay_below_the_threshold() {
        // A client re-sending one random row of each batch of 8: the fittest one time in 8;
        // the z test keeps it quiet over hundreds of batches.
        let mut rng = Rng::new(2027);
        let mut r = Resends::default();
        let mut fired = 0;
        for g in 0..400u64 {
            let rows = batch(g * 1000, 8);
            r.observe(&rows, Some(0));
            let pick = ((rng.unit() * 8.0) as usize).min(7);
            fired += usize::from(r.observe(&[rows[pick]], None).is_some());
        }
        assert_eq!(fired, 0);
    }
}
