//! Minimising a finding's input with proptest's shrinking.
//!
//! A finding starts as some input that shows a defect (an adversarial row, a row with NaN in
//! one feature). Before it is reported it is minimised: proptest's `TestRunner` drives its
//! shrink loop (simplify while the defect still shows, complicate when it stops; a result cache
//! so no input is run twice) over [`MinimiseTree`], a `ValueTree` that pulls the input toward an
//! origin — the clean row for an adversarial example, zeros for a contract reproducer — in two
//! passes: first each changed feature is put back whole (fewest changed features), then each
//! remaining change is bisected toward the origin (smallest change). Features listed as fixed
//! (the NaN itself) are never touched. The walk is deterministic, so the same seed gives the
//! same reproducer.

use proptest::strategy::{NewTree, Strategy, ValueTree};
use proptest::test_runner::{
    Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner, basic_result_cache,
};
use std::cell::{Cell, RefCell};

/// Bisection steps per feature in the second pass (the change is found to within 1/2^STEPS of
/// its size).
const STEPS: u32 = 6;

/// The strategy: one value, the input the defect was found with; its tree shrinks it.
#[derive(Clone, Debug)]
struct Found {
    origin: Vec<f32>,
    start: Vec<f32>,
    fixed: Vec<bool>,
}

impl Strategy for Found {
    type Tree = MinimiseTree;
    type Value = Vec<f32>;

    fn new_tree(&self, _: &mut TestRunner) -> NewTree<Self> {
        Ok(MinimiseTree {
            origin: self.origin.clone(),
            committed: self.start.clone(),
            fixed: self.fixed.clone(),
            phase: Phase::Drop { next: 0 },
            attempt: None,
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Try putting feature `next` (and the ones after it) back to the origin.
    Drop {
        next: usize,
    },
    /// Bisect feature `i`'s change: `lo`/`hi` are fractions of `delta` known to lose/keep the
    /// defect.
    Bisect {
        i: usize,
        delta: f32,
        lo: f32,
        hi: f32,
        step: u32,
    },
    Done,
}

/// A `ValueTree` over a row. `committed` always shows the defect; `attempt` is the one-feature
/// change being tried. `simplify` (the attempt still showed the defect) keeps it, `complicate`
/// (it did not) drops it; both then move to the next attempt and say whether there is one.
#[derive(Clone, Debug)]
pub struct MinimiseTree {
    origin: Vec<f32>,
    committed: Vec<f32>,
    fixed: Vec<bool>,
    phase: Phase,
    attempt: Option<(usize, f32)>,
}

impl MinimiseTree {
    fn changed(&self, i: usize) -> bool {
        !self.fixed[i] && self.committed[i].to_bits() != self.origin[i].to_bits()
    }

    /// Move to the next attempt, if any.
    fn advance(&mut self) -> bool {
        loop {
            match self.phase {
                Phase::Drop { next } => {
                    match (next..self.committed.len()).find(|&j| self.changed(j)) {
                        Some(j) => {
                            self.phase = Phase::Drop { next: j + 1 };
                            self.attempt = Some((j, self.origin[j]));
                            return true;
                        }
                        None => self.phase = self.bisect_from(0),
                    }
                }
                Phase::Bisect {
                    i,
                    delta,
                    lo,
                    hi,
                    step,
                } => {
                    if step >= STEPS || !delta.is_finite() {
                        self.phase = self.bisect_from(i + 1);
                        continue;
                    }
                    let mid = (lo + hi) / 2.0;
                    let value = self.origin[i] + delta * mid;
                    if value.to_bits() == self.committed[i].to_bits() {
                        self.phase = self.bisect_from(i + 1);
                        continue;
                    }
                    self.attempt = Some((i, value));
                    return true;
                }
                Phase::Done => {
                    self.attempt = None;
                    return false;
                }
            }
        }
    }

    fn bisect_from(&self, from: usize) -> Phase {
        match (from..self.committed.len()).find(|&j| self.changed(j)) {
            Some(i) => Phase::Bisect {
                i,
                delta: self.committed[i] - self.origin[i],
                lo: 0.0,
                hi: 1.0,
                step: 0,
            },
            None => Phase::Done,
        }
    }

    /// Record the outcome of the current attempt in the bisection state.
    fn settle(&mut self, kept: bool) {
        if let Phase::Bisect {
            i,
            delta,
            lo,
            hi,
            step,
        } = self.phase
        {
            let mid = (lo + hi) / 2.0;
            let (lo, hi) = if kept { (lo, mid) } else { (mid, hi) };
            self.phase = Phase::Bisect {
                i,
                delta,
                lo,
                hi,
                step: step + 1,
            };
        }
    }
}

impl ValueTree for MinimiseTree {
    type Value = Vec<f32>;

    fn current(&self) -> Vec<f32> {
        let mut v = self.committed.clone();
        if let Some((i, value)) = self.attempt {
            v[i] = value;
        }
        v
    }

    fn simplify(&mut self) -> bool {
        if let Some((i, value)) = self.attempt.take() {
            self.committed[i] = value;
            self.settle(true);
        }
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        if self.attempt.take().is_some() {
            self.settle(false);
        }
        self.advance()
    }
}

/// The minimised input and the number of inputs tested.
#[derive(Clone, Debug)]
pub struct Minimised {
    pub input: Vec<f32>,
    pub tested: usize,
}

/// Minimise `start` (which must show the defect) toward `origin`, leaving `fixed` features
/// alone. `shows_defect` runs one input; it is called at most once per distinct input. `None`
/// when `start` itself no longer shows the defect (the model is not deterministic).
pub fn minimise(
    origin: &[f32],
    start: &[f32],
    fixed: &[usize],
    shows_defect: impl FnMut(&[f32]) -> bool,
) -> Option<Minimised> {
    let mut flags = vec![false; start.len()];
    for &f in fixed {
        if let Some(x) = flags.get_mut(f) {
            *x = true;
        }
    }
    let found = Found {
        origin: origin.to_vec(),
        start: start.to_vec(),
        fixed: flags,
    };
    let config = Config {
        cases: 1,
        failure_persistence: None,
        // (u32::MAX means "4 × cases" to proptest; the tree bounds itself: d + d·STEPS attempts.)
        max_shrink_iters: u32::MAX - 1,
        max_shrink_time: 0,
        verbose: 0,
        result_cache: basic_result_cache,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let tested = Cell::new(0usize);
    let shows = RefCell::new(shows_defect);
    let result = runner.run(&found, |row| {
        tested.set(tested.get() + 1);
        if (shows.borrow_mut())(&row) {
            Err(TestCaseError::fail("defect"))
        } else {
            Ok(())
        }
    });
    match result {
        Err(TestError::Fail(_, input)) => Some(Minimised {
            input,
            tested: tested.get(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_only_the_features_that_matter_and_shrinks_them() {
        // Defect: x[1] + x[3] > 1. Start with everything at 2.
        let origin = vec![0.0f32; 6];
        let start = vec![2.0f32; 6];
        let m = minimise(&origin, &start, &[], |v| v[1] + v[3] > 1.0).unwrap();
        // One of x[1], x[3] survives (the other can be dropped once the first carries it).
        let changed: Vec<usize> = (0..6).filter(|&i| m.input[i] != 0.0).collect();
        assert_eq!(changed.len(), 1, "{:?}", m.input);
        let v = m.input[changed[0]];
        assert!(v > 1.0 && v <= 1.0 + 2.0 / 32.0, "{v}");
        assert!(m.tested < 40, "{}", m.tested);
    }

    #[test]
    fn fixed_features_are_never_touched_and_a_vanished_defect_is_none() {
        let origin = vec![0.0f32; 3];
        let start = vec![f32::NAN, 5.0, 5.0];
        let m = minimise(&origin, &start, &[0], |v| v[0].is_nan()).unwrap();
        assert!(m.input[0].is_nan());
        assert_eq!(&m.input[1..], &[0.0, 0.0]);
        assert!(minimise(&origin, &start, &[], |_| false).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(1936224769), ..ProptestConfig::default() })]
        /// Whatever the linear defect, the result still shows it, never moves away from the
        /// origin, and has no more changed features than the start.
        #[test]
        fn result_shows_the_defect_and_is_no_bigger(
            w in proptest::collection::vec(-2.0f32..2.0, 1..12),
            seed in any::<u64>(),
        ) {
            let d = w.len();
            let mut rng = crate::fuzz::Rng::new(seed);
            let origin: Vec<f32> = (0..d).map(|_| rng.unit()).collect();
            let start: Vec<f32> = origin.iter().map(|&o| o + rng.unit() * 2.0 - 1.0).collect();
            let score = |v: &[f32]| v.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>();
            let threshold = (score(&origin) + score(&start)) / 2.0;
            let above = score(&start) > threshold;
            let defect = |v: &[f32]| (score(v) > threshold) == above && score(v) != threshold;
            prop_assume!(defect(&start) && !defect(&origin));
            let m = minimise(&origin, &start, &[], defect).unwrap();
            prop_assert!(defect(&m.input));
            let changed = |v: &[f32]| (0..d).filter(|&i| v[i] != origin[i]).count();
            prop_assert!(changed(&m.input) <= changed(&start));
            for i in 0..d {
                prop_assert!((m.input[i] - origin[i]).abs() <= (start[i] - origin[i]).abs() + 1e-6);
            }
        }
    }
}
