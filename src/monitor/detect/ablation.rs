//! Applied ablations: a sparse (L0) search first asks one-feature changes of its input — a
//! request of rows that each differ from one centre in one feature, the **probes** — ranks them
//! by their answers, and then sends the centre with several of the probes' changes at once,
//! chosen from the ones answered lowest (CornerSearch samples sets from its best-ranked pixels,
//! LocSearchAdv applies its best two and probes again around the result).
//!
//! An explainer's ablation batch (occlusion, KernelSHAP's coalitions, feature-ablation
//! attribution) has the same probes, but what it sends next does not depend on which probes were
//! answered lowest: its coalitions combine features whatever they were answered, and a deletion
//! curve (pixel flipping, RISE's deletion metric) removes the top features in order, each row
//! one more than the last (nested sets). So, per client:
//!
//! - **Combinations.** A later row that differs from the latest centre in 2 to [`MAX_CHANGED`]
//!   features, each change being one of the probes (the feature set to exactly the probe's
//!   value), is a combination; it is **low** when every one of its probes ranks in the lowest
//!   [`LOW`] share of the centre's probes (another label than most probes got ranks lowest, then
//!   the top-1 margin). Picked without looking at the answers, a combination of `k` probes is
//!   low with chance `LOW^k`; the test is a one-sided binomial z of the low combinations against
//!   that expectation (at least [`MIN_LOW`] of them). Combinations nested in one another (one's
//!   set inside the other's) within a request or the next are left out, both: that is a deletion
//!   curve, not a search.
//! - **Greedy steps.** A new probe batch centred exactly on an earlier combination whose probes
//!   all ranked in the lower half of their centre's is a step of a greedy local search (it
//!   applied what lowered the answer and looks again around the result); so is a probe batch
//!   centred exactly on the previous batch's lowest-answered probe (an evolution strategy over
//!   pixels keeps its best child and mutates it again, as EvoBA does; chosen without the
//!   answers, the next centre is that probe once in as many probes). [`CHAIN`] such step makes
//!   a search.
//!
//! Either marks the client's next [`ACTIVE_REQUESTS`] requests as a search's (see
//! [`Ablation::active`]). State is bounded: one centre, at most [`MAX_PROBES`] probes, and the
//! feature sets of the last two requests' combinations.

/// Rows of a request that must be probes of one centre (and at least half its rows) for it to
/// be a probe batch.
pub const MIN_PROBES: usize = 6;
/// Probes kept for one centre (a batch asked over several requests adds up to this many).
const MAX_PROBES: usize = 256;
/// The most features a combination changes.
pub const MAX_CHANGED: usize = 8;
/// The share of a centre's probes, lowest-ranked first, a low combination's probes all fall in.
pub const LOW: f32 = 0.25;
/// The share a greedy step's applied probes all fall in.
const APPLIED: f32 = 0.5;
/// Low combinations the binomial test needs, and its threshold.
pub const MIN_LOW: f32 = 4.0;
pub const Z: f32 = 4.0;
/// Greedy steps in a row that make a search: one (a batch centred exactly on an input made of
/// the lower half of the previous batch's probes is not a coincidence).
pub const CHAIN: u32 = 1;
/// A passed test marks the client's next requests this long.
pub const ACTIVE_REQUESTS: u64 = 16;
/// Combinations kept per request for the nesting test, and applied rows kept for greedy steps.
const SETS: usize = 64;
const APPLIED_ROWS: usize = 16;
/// The counts halve when this many combinations were counted.
const DECAY: f32 = 256.0;

#[derive(Clone, Debug)]
struct Probe {
    feature: u32,
    value: u32,
    score: f32,
}

/// A combination of the current or the previous request: its features (sorted), whether it was
/// counted and what it added.
#[derive(Clone, Debug)]
struct Combo {
    features: Vec<u32>,
    counted: bool,
    low: bool,
    chance: f32,
}

/// One client's probes and the counts of the tests.
#[derive(Clone, Debug, Default)]
pub struct Ablation {
    centre: Vec<u32>,
    probes: Vec<Probe>,
    /// Combinations of the previous and the current request (for the nesting test).
    previous: Vec<Combo>,
    current: Vec<Combo>,
    /// Hashes of the current centre's combinations whose probes all ranked in the lower half
    /// (a greedy step's applied rows).
    applied: Vec<u64>,
    counts: Counts,
    chain: u32,
    request: u64,
    active_request: Option<u64>,
}

/// The combination test's counts: combinations counted, the low ones among them, and the low
/// ones expected by chance with their variance.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    combos: f32,
    low: f32,
    expected: f32,
    variance: f32,
}

impl Counts {
    /// Count a combination (`sign` 1) or take it back (−1).
    fn tally(&mut self, c: &Combo, sign: f32) {
        self.combos += sign;
        self.expected += sign * c.chance;
        self.variance += sign * c.chance * (1.0 - c.chance);
        self.low += sign * f32::from(c.low);
    }

    /// The one-sided binomial z of the low combinations.
    fn z(&self) -> f32 {
        (self.low - self.expected) / self.variance.max(1e-6).sqrt()
    }
}

/// What the tests read when one passed.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// Combinations counted, low ones among them, and the low ones expected by chance.
    pub combos: f32,
    pub low: f32,
    pub expected: f32,
    pub z: f32,
    /// Greedy steps in a row.
    pub chain: u32,
}

fn bits(row: &[f32]) -> impl Iterator<Item = u32> + '_ {
    // +0.0 and -0.0 are one value.
    row.iter().map(|v| if *v == 0.0 { 0 } else { v.to_bits() })
}

fn hash(row: &[u32]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for v in row {
        h.update(&v.to_le_bytes());
    }
    h.digest()
}

/// One set strictly inside the other (both sorted).
fn nested(a: &[u32], b: &[u32]) -> bool {
    let (small, big) = if a.len() < b.len() { (a, b) } else { (b, a) };
    small.len() < big.len() && small.iter().all(|f| big.binary_search(f).is_ok())
}

impl Ablation {
    /// Whether [`Ablation::begin_request`] and [`Ablation::end_request`] read a request of `rows`
    /// rows (there are probes to combine, or it may be a probe batch); when not, they are
    /// called with no rows.
    pub fn reads(&self, rows: usize) -> bool {
        !self.probes.is_empty() || rows >= MIN_PROBES
    }

    /// The test passed on one of the client's last [`ACTIVE_REQUESTS`] requests.
    pub fn active(&self) -> bool {
        self.active_request
            .is_some_and(|r| self.request.saturating_sub(r) < ACTIVE_REQUESTS)
    }

    /// Read a request (its rows' compared values and their answers) before its rows are
    /// observed: its combinations of the current centre's probes. Returns the counts when the
    /// combination test passes on it.
    pub fn begin_request(&mut self, rows: &[Vec<f32>]) -> Option<Applied> {
        self.request += 1;
        self.previous = std::mem::take(&mut self.current);
        if self.probes.is_empty() {
            return None;
        }
        let n = self.probes.len() as f32;
        let mut row_bits: Vec<u32> = Vec::with_capacity(self.centre.len());
        let mut fresh: Vec<(Combo, Option<u64>)> = Vec::new();
        for row in rows.iter().take(4 * SETS) {
            if row.len() != self.centre.len() {
                continue;
            }
            row_bits.clear();
            row_bits.extend(bits(row));
            let mut changed: Vec<u32> = Vec::with_capacity(MAX_CHANGED);
            let mut ranks = Vec::with_capacity(MAX_CHANGED);
            let mut probe_values = true;
            for (j, (a, c)) in row_bits.iter().zip(&self.centre).enumerate() {
                if a == c {
                    continue;
                }
                if changed.len() == MAX_CHANGED {
                    probe_values = false;
                    break;
                }
                changed.push(j as u32);
                match self
                    .probes
                    .iter()
                    .find(|p| p.feature == j as u32 && p.value == *a)
                {
                    Some(p) => {
                        let below = self.probes.iter().filter(|q| q.score < p.score).count();
                        let ties = self.probes.iter().filter(|q| q.score == p.score).count();
                        ranks.push((below as f32 + 0.5 * ties as f32) / n);
                    }
                    None => {
                        probe_values = false;
                        break;
                    }
                }
            }
            if !probe_values || changed.len() < 2 {
                continue;
            }
            let top = ranks.iter().copied().fold(0.0, f32::max);
            let combo = Combo {
                chance: LOW.powi(changed.len() as i32),
                low: top <= LOW,
                features: changed,
                counted: false,
            };
            let applied = (top <= APPLIED).then(|| hash(&row_bits));
            fresh.push((combo, applied));
        }
        for (mut combo, applied) in fresh {
            if self.current.len() == SETS {
                break;
            }
            if let Some(applied) = applied
                && !self.applied.contains(&applied)
            {
                if self.applied.len() == APPLIED_ROWS {
                    self.applied.remove(0);
                }
                self.applied.push(applied);
            }
            // A re-sent set adds nothing; a nested one is a deletion curve's: out, with the
            // set it nests with.
            let kept = self.previous.iter_mut().chain(self.current.iter_mut());
            let mut repeat = false;
            let mut nests = false;
            for other in kept {
                if other.features == combo.features {
                    repeat = true;
                } else if nested(&other.features, &combo.features) {
                    nests = true;
                    if other.counted {
                        other.counted = false;
                        self.counts.tally(other, -1.0);
                    }
                }
            }
            if !repeat && !nests {
                combo.counted = true;
                self.counts.tally(&combo, 1.0);
            }
            self.current.push(combo);
        }
        let c = &mut self.counts;
        if c.combos >= DECAY {
            for v in [&mut c.combos, &mut c.low, &mut c.expected, &mut c.variance] {
                *v /= 2.0;
            }
        }
        (c.low >= MIN_LOW && c.z() >= Z).then(|| {
            self.active_request = Some(self.request);
            self.applied()
        })
    }

    fn applied(&self) -> Applied {
        let c = &self.counts;
        Applied {
            combos: c.combos,
            low: c.low,
            expected: c.expected,
            z: c.z(),
            chain: self.chain,
        }
    }

    /// Read the request's rows once they are observed: when they are a probe batch (at least
    /// [`MIN_PROBES`] rows, and half of them, each one feature off one centre, the per-feature
    /// majority), its probes are kept (added to the current centre's when the centre is the
    /// same). Returns the counts when the batch is the [`CHAIN`]th greedy step in a row.
    pub fn end_request(
        &mut self,
        rows: &[Vec<f32>],
        labels: &[usize],
        margins: &[f32],
    ) -> Option<Applied> {
        if rows.len() < MIN_PROBES {
            return None;
        }
        let d = rows[0].len();
        if d == 0 || rows.iter().any(|r| r.len() != d) {
            return None;
        }
        // Boyer–Moore majority per feature, then the rows one feature off it.
        let mut centre = vec![0u32; d];
        let mut count = vec![0u32; d];
        for row in rows {
            for (j, v) in bits(row).enumerate() {
                vote(&mut centre[j], &mut count[j], v);
            }
        }
        let mut probes: Vec<(usize, u32, u32)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let mut off = None;
            let mut n = 0;
            for (j, (v, c)) in bits(row).zip(&centre).enumerate() {
                if v != *c {
                    n += 1;
                    if n > 1 {
                        break;
                    }
                    off = Some((j as u32, v));
                }
            }
            if let (1, Some((j, v))) = (n, off) {
                probes.push((i, j, v));
            }
        }
        if probes.len() < MIN_PROBES || 2 * probes.len() < rows.len() {
            return None;
        }
        // Most probes' label; another label ranks lowest.
        let (mut major, mut votes) = (0usize, 0u32);
        for &(i, _, _) in &probes {
            vote(&mut major, &mut votes, labels.get(i).copied().unwrap_or(0));
        }
        let score = |i: usize| -> f32 {
            match (labels.get(i), margins.get(i)) {
                (Some(&l), Some(&m)) if l == major && m.is_finite() => m,
                _ => -1.0,
            }
        };
        let mut fired = None;
        if centre != self.centre {
            let step = hash(&centre);
            if !self.probes.is_empty() && self.applied.contains(&step) {
                self.chain += 1;
            } else {
                self.chain = 0;
            }
            self.centre = centre;
            self.probes.clear();
            self.applied.clear();
            self.current.clear();
            self.previous.clear();
            if self.chain >= CHAIN {
                self.active_request = Some(self.request);
                fired = Some(self.applied());
            }
        }
        // The batch's lowest-answered probe, applied: a batch centred exactly on it next is a
        // greedy step too (an evolution strategy over pixels keeps its best child and mutates
        // it again, as EvoBA does; by chance a batch is centred on its predecessor's lowest
        // probe once in as many probes).
        if let Some(low) = probes
            .iter()
            .map(|&(i, _, _)| score(i))
            .min_by(f32::total_cmp)
        {
            let mut row = self.centre.clone();
            for &(i, j, v) in &probes {
                if score(i) == low {
                    row[j as usize] = v;
                    let h = hash(&row);
                    row[j as usize] = self.centre[j as usize];
                    if !self.applied.contains(&h) {
                        if self.applied.len() == APPLIED_ROWS {
                            self.applied.remove(0);
                        }
                        self.applied.push(h);
                    }
                }
            }
        }
        for (i, j, v) in probes {
            if self.probes.len() == MAX_PROBES {
                break;
            }
            if !self.probes.iter().any(|p| p.feature == j && p.value == v) {
                self.probes.push(Probe {
                    feature: j,
                    value: v,
                    score: score(i),
                });
            }
        }
        fired
    }
}

/// One step of the Boyer–Moore majority vote: `candidate` is the majority of the values seen
/// when there is one.
fn vote<T: PartialEq>(candidate: &mut T, count: &mut u32, v: T) {
    if *count == 0 {
        *candidate = v;
        *count = 1;
    } else if *candidate == v {
        *count += 1;
    } else {
        *count -= 1;
    }
}

#[cfg(test)]
pub(super) mod testing {
    /// CornerSearch's sweep of `x`: every feature set to 0 and then to 1, feature by feature.
    pub fn corner_sweep(x: &[f32]) -> Vec<Vec<f32>> {
        (0..x.len())
            .flat_map(|j| {
                [0.0, 1.0].map(|corner| {
                    let mut r = x.to_vec();
                    r[j] = corner;
                    r
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::corner_sweep;
    use super::*;
    use crate::util::Rng;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(17),
            ..ProptestConfig::default()
        })]
        /// Any requests (rows of any lengths, values from a few levels so that probes and
        /// combinations occur, NaN and infinities, any answers) keep the state within its
        /// bounds and never panic.
        #[test]
        fn any_requests_keep_the_state_bounded(
            requests in proptest::collection::vec(
                proptest::collection::vec(
                    (proptest::collection::vec(
                        prop_oneof![Just(0.0f32), Just(1.0f32), Just(0.5f32), Just(-0.0f32),
                                    Just(f32::NAN), Just(f32::INFINITY), any::<f32>()],
                        6..9,
                    ), 0usize..12, any::<f32>()),
                    0..40,
                ),
                1..12,
            ),
        ) {
            let mut a = Ablation::default();
            for req in requests {
                let rows: Vec<Vec<f32>> = req.iter().map(|r| r.0.clone()).collect();
                let labels: Vec<usize> = req.iter().map(|r| r.1).collect();
                let margins: Vec<f32> = req.iter().map(|r| r.2).collect();
                a.begin_request(&rows);
                a.end_request(&rows, &labels, &margins);
                prop_assert!(a.probes.len() <= MAX_PROBES);
                prop_assert!(a.current.len() <= SETS && a.previous.len() <= SETS);
                prop_assert!(a.applied.len() <= APPLIED_ROWS);
                let c = a.counts;
                prop_assert!(c.low <= c.combos + 1e-3 && c.expected <= c.combos + 1e-3);
            }
        }
    }

    fn range(rng: &mut Rng, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * rng.unit()
    }

    const D: usize = 64;

    fn image(rng: &mut Rng) -> Vec<f32> {
        (0..D).map(|_| range(rng, 0.1, 0.9)).collect()
    }

    /// Every feature of `x` set to 0 and to 1 (CornerSearch's sweep), in requests of 64 rows;
    /// the answers: a margin per probe drawn from `rng`, features below 8 answered lowest.
    fn sweep(a: &mut Ablation, x: &[f32], rng: &mut Rng) -> Vec<f32> {
        let rows = corner_sweep(x);
        let margins: Vec<f32> = (0..rows.len())
            .map(|i| {
                if i / 2 < 8 {
                    range(rng, 0.0, 0.1)
                } else {
                    range(rng, 0.2, 0.9)
                }
            })
            .collect();
        for (rs, ms) in rows.chunks(64).zip(margins.chunks(64)) {
            assert!(a.begin_request(rs).is_none());
            a.end_request(rs, &[3; 64], ms);
        }
        margins
    }

    /// Requests of 10 rows, each `x` with `k` of the chosen features at corner 0.
    fn combos(
        a: &mut Ablation,
        x: &[f32],
        pool: &[usize],
        k: usize,
        requests: usize,
        rng: &mut Rng,
    ) -> bool {
        let mut fired = false;
        for _ in 0..requests {
            let rows: Vec<Vec<f32>> = (0..10)
                .map(|_| {
                    let mut r = x.to_vec();
                    let mut chosen: Vec<usize> = Vec::new();
                    while chosen.len() < k {
                        let f = pool[(rng.next_u64() % pool.len() as u64) as usize];
                        if !chosen.contains(&f) {
                            chosen.push(f);
                        }
                    }
                    for f in chosen {
                        r[f] = 0.0;
                    }
                    r
                })
                .collect();
            fired |= a.begin_request(&rows).is_some();
            a.end_request(&rows, &[3; 10], &[0.5; 10]);
        }
        fired
    }

    #[test]
    fn sampled_combinations_of_the_lowest_probes_are_a_search() {
        let mut rng = Rng::new(7);
        let x = image(&mut rng);
        let mut a = Ablation::default();
        sweep(&mut a, &x, &mut rng);
        // CornerSearch: pairs drawn from the best-ranked pixels.
        let best: Vec<usize> = (0..8).collect();
        assert!(combos(&mut a, &x, &best, 2, 1, &mut rng));
        assert!(a.active());
    }

    #[test]
    fn combinations_made_without_the_answers_are_not() {
        let mut rng = Rng::new(8);
        for _ in 0..20 {
            let x = image(&mut rng);
            let mut a = Ablation::default();
            sweep(&mut a, &x, &mut rng);
            // Coalitions of any features (KernelSHAP, LIME).
            let all: Vec<usize> = (0..D).collect();
            for k in 2..=4 {
                assert!(!combos(&mut a, &x, &all, k, 5, &mut rng));
            }
            assert!(!a.active());
        }
    }

    #[test]
    fn a_deletion_curve_is_not_a_search() {
        // Occlusion of every feature, then the top 2..8 features removed in order (each row
        // one more), image after image: every combination is low, and nested.
        let mut rng = Rng::new(9);
        let mut a = Ablation::default();
        for _ in 0..30 {
            let x = image(&mut rng);
            let margins = sweep(&mut a, &x, &mut rng);
            let mut order: Vec<usize> = (0..2 * D).filter(|i| i % 2 == 0).collect();
            order.sort_by(|&p, &q| margins[p].total_cmp(&margins[q]));
            let rows: Vec<Vec<f32>> = (2..=8)
                .map(|k| {
                    let mut r = x.clone();
                    for &p in &order[..k] {
                        r[p / 2] = 0.0;
                    }
                    r
                })
                .collect();
            assert!(a.begin_request(&rows).is_none());
            a.end_request(&rows, &[3; 7], &[0.5; 7]);
        }
        assert!(!a.active());
    }

    /// One greedy round: probes of the `candidates` set to 1 around `x`, answered by `margin`;
    /// then `x` with the two lowest applied (one request); returns the new centre.
    fn round(
        a: &mut Ablation,
        x: &[f32],
        candidates: &[usize],
        margin: impl Fn(usize) -> f32,
        greedy: bool,
    ) -> (Vec<f32>, bool) {
        let rows: Vec<Vec<f32>> = candidates
            .iter()
            .map(|&j| {
                let mut r = x.to_vec();
                r[j] = 1.0;
                r
            })
            .collect();
        let margins: Vec<f32> = candidates.iter().map(|&j| margin(j)).collect();
        let labels = vec![3; rows.len()];
        let mut fired = a.begin_request(&rows).is_some();
        fired |= a.end_request(&rows, &labels, &margins).is_some();
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&p, &q| margins[p].total_cmp(&margins[q]));
        let pick = if greedy {
            [order[0], order[1]]
        } else {
            [order[order.len() - 1], order[order.len() - 2]]
        };
        let mut next = x.to_vec();
        for p in pick {
            next[candidates[p]] = 1.0;
        }
        fired |= a.begin_request(&[next.clone()]).is_some();
        fired |= a.end_request(&[next.clone()], &[3], &[0.4]).is_some();
        (next, fired)
    }

    #[test]
    fn greedy_steps_around_applied_probes_are_a_search() {
        let mut rng = Rng::new(10);
        let mut x = image(&mut rng);
        let margin = |j: usize| 0.9 - j as f32 / 100.0;
        let mut a = Ablation::default();
        let mut fired = Vec::new();
        for r in 0..4 {
            let candidates: Vec<usize> = (8 * r..8 * r + 8).collect();
            let (next, f) = round(&mut a, &x, &candidates, margin, true);
            fired.push(f);
            x = next;
        }
        // Every batch after the first is centred on the last one's two lowest probes applied.
        assert_eq!(fired, [false, true, true, true]);
        assert!(a.active());
    }

    /// Generations of one-pixel children, each batch centred on one child of the last: the
    /// lowest-answered (an evolution strategy, EvoBA) or the highest (a backward selection
    /// keeping what the answer needs least, as sufficient input subsets do).
    fn generations(keep_lowest: bool) -> Vec<bool> {
        let mut rng = Rng::new(12);
        let mut x = image(&mut rng);
        let mut a = Ablation::default();
        let mut fired = Vec::new();
        for r in 0..5 {
            let candidates: Vec<usize> = (8 * r..8 * r + 8).collect();
            let rows: Vec<Vec<f32>> = candidates
                .iter()
                .map(|&j| {
                    let mut c = x.clone();
                    c[j] = 1.0 - c[j].round();
                    c
                })
                .collect();
            let margins: Vec<f32> = (0..8).map(|k| 0.9 - 0.01 * ((k * 5) % 8) as f32).collect();
            let labels = vec![3; rows.len()];
            let mut f = a.begin_request(&rows).is_some();
            f |= a.end_request(&rows, &labels, &margins).is_some();
            fired.push(f);
            let pick = (0..8)
                .min_by(|&p, &q| {
                    let o = margins[p].total_cmp(&margins[q]);
                    if keep_lowest { o } else { o.reverse() }
                })
                .unwrap();
            x = rows[pick].clone();
        }
        fired
    }

    #[test]
    fn generations_built_on_the_lowest_answered_child_are_a_search() {
        assert_eq!(generations(true), [false, true, true, true, true]);
        assert_eq!(generations(false), [false; 5]);
    }

    #[test]
    fn batches_around_changes_chosen_otherwise_are_not() {
        let mut rng = Rng::new(11);
        let mut x = image(&mut rng);
        let margin = |j: usize| 0.9 - j as f32 / 100.0;
        let mut a = Ablation::default();
        for r in 0..6 {
            let candidates: Vec<usize> = (8 * r..8 * r + 8).collect();
            let (next, f) = round(&mut a, &x, &candidates, margin, false);
            assert!(!f);
            x = next;
        }
        assert!(!a.active());
    }
}
