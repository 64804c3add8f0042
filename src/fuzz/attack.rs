//! Query-only robustness attacks on a classifier's probabilities (L∞ ball of radius ε):
//! Square Attack (Andriushchenko et al., ECCV 2020), adapted to tabular inputs — the "square"
//! is a random subset of features whose size follows the paper's halving schedule — and SimBA
//! (Guo et al., ICML 2019) in the coordinate basis. Untargeted: an attack succeeds when the
//! model's label for the row changes. Every found example is then minimised greedily: changed
//! features are put back one at a time while the label stays flipped (fewest changed
//! features), then each remaining change is halved while it still flips.

use super::Rng;

/// Which attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    Square,
    Simba,
}

/// The model as the attacks see it: one row in, probabilities out (one query per call).
pub trait Oracle {
    fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>>;
}

/// Outcome for one row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RowResult {
    pub row: usize,
    pub label: usize,
    pub success: bool,
    /// Queries spent until success (or the budget).
    pub queries: usize,
    /// After minimisation, when successful.
    pub adversarial_label: Option<usize>,
    pub changed_features: Vec<(usize, f32, f32)>,
    pub linf: f32,
    pub l2: f32,
    /// Extra queries the minimisation spent.
    pub shrink_queries: usize,
}

fn argmax(p: &[f32]) -> usize {
    p.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap_or(0)
}

/// Margin of the true class over the best other class (< 0 means the label flipped).
fn margin(p: &[f32], label: usize) -> f32 {
    let best_other = p
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != label)
        .map(|(_, v)| *v)
        .fold(f32::NEG_INFINITY, f32::max);
    p[label] - best_other
}

/// The Square Attack's fraction of features to change after `i` of `budget` queries
/// (the paper's schedule for p_init, rescaled to the budget).
fn square_fraction(i: usize, budget: usize, p_init: f32) -> f32 {
    let t = (i as f32 / budget.max(1) as f32 * 10_000.0) as usize;
    let div = match t {
        0..=10 => 1.0,
        11..=50 => 2.0,
        51..=200 => 4.0,
        201..=500 => 8.0,
        501..=1000 => 16.0,
        1001..=2000 => 32.0,
        2001..=4000 => 64.0,
        4001..=6000 => 128.0,
        6001..=8000 => 256.0,
        _ => 512.0,
    };
    p_init / div
}

/// Attack one row. `lo`/`hi` bound every feature.
#[allow(clippy::too_many_arguments)]
pub fn attack_row(
    oracle: &mut dyn Oracle,
    attack: Attack,
    x: &[f32],
    row: usize,
    eps: f32,
    budget: usize,
    (lo, hi): (f32, f32),
    rng: &mut Rng,
) -> Option<RowResult> {
    let d = x.len();
    let clean = oracle.probs(x)?;
    let label = argmax(&clean);
    let mut queries = 1usize;
    let clip = |v: f32, orig: f32| v.clamp((orig - eps).max(lo), (orig + eps).min(hi));
    let mut best: Vec<f32>;
    let mut best_margin;
    match attack {
        Attack::Square => {
            // Initialise on the ε-ball's boundary with random signs (the paper's init for L∞).
            best = x
                .iter()
                .map(|&v| clip(v + if rng.next_u64() & 1 == 0 { eps } else { -eps }, v))
                .collect();
            let p = oracle.probs(&best)?;
            queries += 1;
            best_margin = margin(&p, label);
            while best_margin >= 0.0 && queries < budget {
                let frac = square_fraction(queries, budget, 0.3);
                let k = ((frac * d as f32).round() as usize).clamp(1, d);
                let mut cand = best.clone();
                for _ in 0..k {
                    let f = (rng.next_u64() % d as u64) as usize;
                    let s = if rng.next_u64() & 1 == 0 { eps } else { -eps };
                    cand[f] = clip(x[f] + s, x[f]);
                }
                let p = oracle.probs(&cand)?;
                queries += 1;
                let m = margin(&p, label);
                if m < best_margin {
                    best_margin = m;
                    best = cand;
                }
            }
        }
        Attack::Simba => {
            best = x.to_vec();
            best_margin = margin(&clean, label);
            let mut order: Vec<usize> = (0..d).collect();
            'outer: while best_margin >= 0.0 && queries < budget {
                // Fisher–Yates with our RNG, so runs reproduce.
                for i in (1..d).rev() {
                    order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
                }
                let mut improved = false;
                for &f in &order {
                    for s in [eps, -eps] {
                        if queries >= budget {
                            break 'outer;
                        }
                        let mut cand = best.clone();
                        cand[f] = clip(x[f] + s, x[f]);
                        if cand[f] == best[f] {
                            continue;
                        }
                        let p = oracle.probs(&cand)?;
                        queries += 1;
                        let m = margin(&p, label);
                        if m < best_margin {
                            best_margin = m;
                            best = cand;
                            improved = true;
                            if m < 0.0 {
                                break 'outer;
                            }
                            break;
                        }
                    }
                }
                if !improved {
                    break;
                }
            }
        }
    }
    let success = best_margin < 0.0;
    let mut result = RowResult {
        row,
        label,
        success,
        queries,
        adversarial_label: None,
        changed_features: vec![],
        linf: 0.0,
        l2: 0.0,
        shrink_queries: 0,
    };
    if success {
        let (adv, spent) = shrink(oracle, x, best, label)?;
        let p = oracle.probs(&adv)?;
        result.shrink_queries = spent + 1;
        result.adversarial_label = Some(argmax(&p));
        result.changed_features = x
            .iter()
            .zip(&adv)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| (i, *a, *b))
            .collect();
        result.linf = x
            .iter()
            .zip(&adv)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        result.l2 = x
            .iter()
            .zip(&adv)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt();
    }
    Some(result)
}

/// Greedy minimisation of an adversarial example: fewest changed features, then smallest changes.
fn shrink(
    oracle: &mut dyn Oracle,
    x: &[f32],
    mut adv: Vec<f32>,
    label: usize,
) -> Option<(Vec<f32>, usize)> {
    let mut spent = 0;
    let flipped = |p: &[f32]| argmax(p) != label;
    // Fewest features: revert each change if the label stays flipped.
    for f in 0..x.len() {
        if adv[f] == x[f] {
            continue;
        }
        let mut cand = adv.clone();
        cand[f] = x[f];
        let p = oracle.probs(&cand)?;
        spent += 1;
        if flipped(&p) {
            adv = cand;
        }
    }
    // Smallest change: halve each remaining delta while it still flips (a few rounds).
    for _ in 0..4 {
        let mut any = false;
        for f in 0..x.len() {
            if adv[f] == x[f] {
                continue;
            }
            let mut cand = adv.clone();
            cand[f] = x[f] + (adv[f] - x[f]) / 2.0;
            let p = oracle.probs(&cand)?;
            spent += 1;
            if flipped(&p) {
                adv = cand;
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    Some((adv, spent))
}

/// Summary over rows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub attack: String,
    pub epsilon: f64,
    pub budget: usize,
    pub rows: usize,
    pub successes: usize,
    /// Rows whose label did not flip within the budget, over rows attacked.
    pub robust_accuracy: f32,
    pub median_queries: Option<f32>,
    pub median_linf: Option<f32>,
    pub median_changed_features: Option<f32>,
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub fn summarise(attack: Attack, eps: f32, budget: usize, results: &[RowResult]) -> Summary {
    let ok: Vec<&RowResult> = results.iter().filter(|r| r.success).collect();
    Summary {
        attack: match attack {
            Attack::Square => "square",
            Attack::Simba => "simba",
        }
        .into(),
        // As written (0.2, not 0.20000000298…).
        epsilon: format!("{eps}").parse().unwrap_or(eps as f64),
        budget,
        rows: results.len(),
        successes: ok.len(),
        robust_accuracy: if results.is_empty() {
            1.0
        } else {
            1.0 - ok.len() as f32 / results.len() as f32
        },
        median_queries: median(ok.iter().map(|r| r.queries as f32).collect()),
        median_linf: median(ok.iter().map(|r| r.linf).collect()),
        median_changed_features: median(
            ok.iter().map(|r| r.changed_features.len() as f32).collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear two-class model: class 1 when the feature sum exceeds 2.
    struct Linear(usize);
    impl Oracle for Linear {
        fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>> {
            self.0 += 1;
            let s: f32 = row.iter().sum::<f32>() - 2.0;
            let p1 = 1.0 / (1.0 + (-4.0 * s).exp());
            Some(vec![1.0 - p1, p1])
        }
    }

    #[test]
    fn attacks_flip_a_linear_model_and_shrink() {
        for attack in [Attack::Square, Attack::Simba] {
            let x = vec![0.5f32; 5]; // sum 2.5: class 1, margin needs -0.5 in total
            let mut o = Linear(0);
            let r = attack_row(
                &mut o,
                attack,
                &x,
                0,
                0.2,
                500,
                (0.0, 1.0),
                &mut Rng::new(1),
            )
            .unwrap();
            assert!(r.success, "{attack:?}");
            assert_eq!(r.adversarial_label, Some(0));
            assert!(r.linf <= 0.2 + 1e-6);
            assert!(
                r.changed_features.len() >= 3,
                "needs at least 3 features at 0.2"
            );
            let x = vec![0.9f32; 5]; // sum 4.5: out of reach at ε = 0.2
            let r = attack_row(
                &mut Linear(0),
                attack,
                &x,
                0,
                0.2,
                200,
                (0.0, 1.0),
                &mut Rng::new(1),
            )
            .unwrap();
            assert!(!r.success);
            assert!(r.queries <= 200);
        }
    }
}
