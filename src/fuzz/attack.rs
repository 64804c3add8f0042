//! Query-only robustness attacks on a classifier (L∞ ball of radius ε). Score-based, on the
//! probabilities (or class scores): Square Attack (Andriushchenko et al., ECCV 2020) — on images
//! in its original form (square windows over H × W, one ±ε value per channel in the window,
//! vertical-stripe initialisation, the paper's p schedule from p_init = 0.05), on tabular rows
//! adapted (the "square" is a random subset of features whose size follows the same halving
//! schedule from 0.3) — and SimBA (Guo et al., ICML 2019) in the coordinate basis. Label-only: HopSkipJump (Chen,
//! Jordan and Wainwright, IEEE S&P 2020), L∞ variant, which needs nothing but the predicted
//! label. Untargeted: an attack succeeds when the model's label for the row changes within ε.
//! Every found example is then minimised with proptest's shrinking ([`super::shrink`]): fewest
//! changed features, then the smallest change to each.

use super::Rng;
use super::shrink;

/// Which attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Attack {
    Square,
    Simba,
    #[value(name = "hopskipjump")]
    HopSkipJump,
}

impl Attack {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            Attack::Square => "square",
            Attack::Simba => "simba",
            Attack::HopSkipJump => "hopskipjump",
        }
    }

    /// Whether it needs probabilities (score-based) or only labels.
    pub fn needs_scores(self) -> bool {
        !matches!(self, Attack::HopSkipJump)
    }
}

/// The model as the attacks see it: one row in, one query per call.
pub trait Oracle {
    /// The probabilities (score-based attacks); `None` when the model has none or failed.
    fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>>;
    /// The predicted label (label-only attacks): by default the arg-max of the probabilities.
    fn label(&mut self, row: &[f32]) -> Option<usize> {
        self.probs(row).map(|p| argmax(&p))
    }
    /// Whether the time for the attack is up (`--budget-seconds`): the search stops there and
    /// keeps what it found; a row stopped before it succeeded is not counted as robust.
    fn out_of_time(&mut self) -> bool {
        false
    }
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
    /// The minimised adversarial row, when successful.
    pub adversarial: Vec<f32>,
    /// The model's probabilities for it (score-based attacks).
    pub adversarial_probs: Option<Vec<f32>>,
    pub changed_features: Vec<(usize, f32, f32)>,
    pub linf: f32,
    pub l2: f32,
    /// The search was stopped by the time budget before it succeeded or spent its queries.
    pub stopped: bool,
    /// Extra queries the minimisation spent.
    pub shrink_queries: usize,
    /// Wall time the minimisation took (not part of the attack's own time).
    #[serde(skip)]
    pub shrink_time: std::time::Duration,
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

/// The layout of an image row: `channels × height × width`, channels first (NCHW) or last
/// (NHWC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub channels_first: bool,
}

impl Image {
    fn at(&self, c: usize, h: usize, w: usize) -> usize {
        if self.channels_first {
            (c * self.height + h) * self.width + w
        } else {
            (h * self.width + w) * self.channels + c
        }
    }
}

/// How a row is attacked beyond the attack itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Setting {
    /// The row is an image (Square then works on square windows).
    pub image: Option<Image>,
    /// Minimise found examples (proptest's shrinking; costs about 7 queries per feature).
    pub minimise: bool,
}

/// Attack one tabular row and minimise what it finds. `bounds[f]` is the (low, high) box
/// feature `f` must stay in.
#[allow(clippy::too_many_arguments)]
pub fn attack_row(
    oracle: &mut dyn Oracle,
    attack: Attack,
    x: &[f32],
    row: usize,
    eps: f32,
    budget: usize,
    bounds: &[(f32, f32)],
    rng: &mut Rng,
) -> Option<RowResult> {
    let setting = Setting {
        image: None,
        minimise: true,
    };
    attack_row_with(oracle, attack, x, row, eps, budget, bounds, rng, setting)
}

/// Attack one row as `setting` says (an image; minimised or not).
#[allow(clippy::too_many_arguments)]
pub fn attack_row_with(
    oracle: &mut dyn Oracle,
    attack: Attack,
    x: &[f32],
    row: usize,
    eps: f32,
    budget: usize,
    bounds: &[(f32, f32)],
    rng: &mut Rng,
    setting: Setting,
) -> Option<RowResult> {
    let d = x.len();
    if bounds.len() != d {
        return None;
    }
    let clip = |v: f32, f: usize| {
        let (lo, hi) = bounds[f];
        let orig = x[f];
        v.clamp(
            (orig - eps).max(lo).min(orig),
            (orig + eps).min(hi).max(orig),
        )
    };
    let mut best: Vec<f32>;
    let mut best_margin;
    let label;
    let mut queries = 1usize;
    match attack {
        Attack::HopSkipJump => {
            label = oracle.label(x)?;
            let (found, spent) =
                hop_skip_jump(oracle, x, label, eps, budget.saturating_sub(1), bounds, rng)?;
            queries += spent;
            (best, best_margin) = match found {
                Some(adv) => (adv, -1.0),
                None => (x.to_vec(), 1.0),
            };
        }
        Attack::Square if setting.image.is_some() => {
            let clean = oracle.probs(x)?;
            label = argmax(&clean);
            let img = setting.image?;
            (best, best_margin, queries) =
                square_image(oracle, x, label, eps, budget, &clip, img, rng)?;
        }
        Attack::Square => {
            let clean = oracle.probs(x)?;
            label = argmax(&clean);
            // Initialise on the ε-ball's boundary with random signs (the paper's init for L∞).
            best = x
                .iter()
                .enumerate()
                .map(|(f, &v)| clip(v + if rng.next_u64() & 1 == 0 { eps } else { -eps }, f))
                .collect();
            let p = oracle.probs(&best)?;
            queries += 1;
            best_margin = margin(&p, label);
            while best_margin >= 0.0 && queries < budget && !oracle.out_of_time() {
                let frac = square_fraction(queries, budget, 0.3);
                let k = ((frac * d as f32).round() as usize).clamp(1, d);
                let mut cand = best.clone();
                for _ in 0..k {
                    let f = (rng.next_u64() % d as u64) as usize;
                    let s = if rng.next_u64() & 1 == 0 { eps } else { -eps };
                    cand[f] = clip(x[f] + s, f);
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
            let clean = oracle.probs(x)?;
            label = argmax(&clean);
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
                        if queries >= budget || oracle.out_of_time() {
                            break 'outer;
                        }
                        let mut cand = best.clone();
                        cand[f] = clip(x[f] + s, f);
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
    let stopped = !success && queries < budget && oracle.out_of_time();
    let mut result = RowResult {
        row,
        label,
        success,
        stopped,
        queries,
        adversarial_label: None,
        adversarial: vec![],
        adversarial_probs: None,
        changed_features: vec![],
        linf: 0.0,
        l2: 0.0,
        shrink_queries: 0,
        shrink_time: std::time::Duration::ZERO,
    };
    if success {
        let started = std::time::Instant::now();
        let mut failed = false;
        let m = if setting.minimise {
            shrink::minimise(x, &best, &[], |row| {
                if failed || oracle.out_of_time() {
                    failed = true;
                    return false;
                }
                match oracle.label(row) {
                    Some(l) => l != label,
                    None => {
                        failed = true;
                        false
                    }
                }
            })
        } else {
            None
        };
        let adv = match m {
            Some(m) if !failed => {
                result.shrink_queries = m.tested;
                m.input
            }
            _ => best,
        };
        result.adversarial_probs = if attack.needs_scores() {
            oracle.probs(&adv)
        } else {
            None
        };
        result.adversarial_label = match &result.adversarial_probs {
            Some(p) => Some(argmax(p)),
            None => oracle.label(&adv),
        };
        result.shrink_queries += 1;
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
        result.adversarial = adv;
        result.shrink_time = started.elapsed();
    }
    Some(result)
}

/// Square Attack on an image (the paper's Algorithm 1 for L∞, as in its reference code):
/// start from vertical stripes of ±ε per channel and column; then each query draws a square
/// window whose side follows the p schedule (`s = round(√(p·H·W))`, 1 ≤ s < H), gives every
/// channel of it one fresh ±ε, and keeps the change when the margin drops. Returns the best
/// row, its margin and the queries spent (the clean query included).
#[allow(clippy::too_many_arguments)]
fn square_image(
    oracle: &mut dyn Oracle,
    x: &[f32],
    label: usize,
    eps: f32,
    budget: usize,
    clip: &dyn Fn(f32, usize) -> f32,
    img: Image,
    rng: &mut Rng,
) -> Option<(Vec<f32>, f32, usize)> {
    let (c, h, w) = (img.channels, img.height, img.width);
    if c * h * w != x.len() || h < 2 || w < 2 {
        return None;
    }
    let sign = |rng: &mut Rng| if rng.next_u64() & 1 == 0 { eps } else { -eps };
    // δ = x_best − x, initialised as vertical stripes.
    let mut delta = vec![0f32; x.len()];
    for ch in 0..c {
        for col in 0..w {
            let s = sign(rng);
            for r in 0..h {
                delta[img.at(ch, r, col)] = s;
            }
        }
    }
    let apply = |delta: &[f32]| -> Vec<f32> {
        x.iter()
            .zip(delta)
            .enumerate()
            .map(|(f, (&v, &d))| clip(v + d, f))
            .collect()
    };
    let mut best = apply(&delta);
    let mut best_margin = margin(&oracle.probs(&best)?, label);
    let mut queries = 2usize; // the clean query and the initialisation
    while best_margin >= 0.0 && queries < budget && !oracle.out_of_time() {
        let p = square_fraction(queries - 1, budget, 0.05);
        let side = ((p * (h * w) as f32).sqrt().round() as usize).clamp(1, h.min(w) - 1);
        let top = (rng.next_u64() % (h - side) as u64) as usize;
        let left = (rng.next_u64() % (w - side) as u64) as usize;
        let mut cand = delta.clone();
        // A fresh ±ε per channel; draw again while it changes nothing (the paper's check).
        for _ in 0..16 {
            for ch in 0..c {
                let s = sign(rng);
                for r in top..top + side {
                    for col in left..left + side {
                        cand[img.at(ch, r, col)] = s;
                    }
                }
            }
            let changed = (0..c).any(|ch| {
                let i = img.at(ch, top, left);
                clip(x[i] + cand[i], i) != best[i]
            });
            if changed {
                break;
            }
        }
        let next = apply(&cand);
        let m = margin(&oracle.probs(&next)?, label);
        queries += 1;
        if m < best_margin {
            best_margin = m;
            best = next;
            delta = cand;
        }
    }
    Some((best, best_margin, queries))
}

/// Adversarial starting points HopSkipJump compares before it walks.
const INITS: usize = 4;

fn linf(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max)
}

/// HopSkipJump, L∞, untargeted (the paper's Algorithm 2 with ART's constants: θ = 0.01/d,
/// probe radius d·θ·dist, 100·√t gradient samples at iteration t, geometric step from dist/√t). Returns an
/// adversarial row within ε of `x` if one is found within `budget` label queries, and the
/// queries spent.
fn hop_skip_jump(
    oracle: &mut dyn Oracle,
    x: &[f32],
    label: usize,
    eps: f32,
    budget: usize,
    bounds: &[(f32, f32)],
    rng: &mut Rng,
) -> Option<(Option<Vec<f32>>, usize)> {
    let d = x.len();
    let mut spent = 0usize;
    // Out of time mid-walk: the row ends unfinished (its queries are not counted as robust).
    let mut ask = |row: &[f32], spent: &mut usize| -> Option<bool> {
        if oracle.out_of_time() {
            return None;
        }
        *spent += 1;
        Some(oracle.label(row)? != label)
    };
    let theta = 0.01 / d as f32;
    // Starting points: uniform noise over the box until a few are misclassified (each may lie
    // in a different class's region), each blended toward x as close as the label allows; the
    // closest one is where the walk starts.
    let mut adv: Option<(Vec<f32>, f32)> = None;
    let mut found = 0;
    for _ in 0..100 {
        if found == INITS || spent >= budget {
            break;
        }
        let noise: Vec<f32> = bounds
            .iter()
            .map(|&(lo, hi)| lo + rng.unit() * (hi - lo))
            .collect();
        if !ask(&noise, &mut spent)? {
            continue;
        }
        found += 1;
        let (mut low, mut high) = (0f32, 1f32);
        while high - low > 0.001 && spent < budget {
            let mid = (low + high) / 2.0;
            let blend: Vec<f32> = x
                .iter()
                .zip(&noise)
                .map(|(a, b)| (1.0 - mid) * a + mid * b)
                .collect();
            if ask(&blend, &mut spent)? {
                high = mid;
            } else {
                low = mid;
            }
        }
        let start: Vec<f32> = x
            .iter()
            .zip(&noise)
            .map(|(a, b)| (1.0 - high) * a + high * b)
            .collect();
        let dist = linf(&start, x);
        if adv.as_ref().is_none_or(|(_, best)| dist < *best) {
            adv = Some((start, dist));
        }
    }
    let Some((mut adv, _)) = adv else {
        return Some((None, spent));
    };
    let project = |adv: &[f32], r: f32| -> Vec<f32> {
        adv.iter()
            .zip(x)
            .map(|(&a, &o)| a.clamp(o - r, o + r))
            .collect()
    };
    let mut dist = linf(&adv, x);
    let mut t = 0usize;
    while spent < budget {
        // Binary search toward x in the L∞ ball (adv projected onto radius r).
        let (mut low, mut high) = (0f32, dist);
        let tol = (dist * theta).min(theta).max(1e-6);
        while high - low > tol && spent < budget {
            let mid = (low + high) / 2.0;
            if ask(&project(&adv, mid), &mut spent)? {
                high = mid;
            } else {
                low = mid;
            }
        }
        adv = project(&adv, high);
        dist = high;
        if dist <= eps {
            return Some((Some(adv), spent));
        }
        t += 1;
        // Gradient-direction estimate at the boundary from the signs of random probes.
        let delta = if t == 1 {
            0.1 * bounds.iter().map(|(lo, hi)| hi - lo).sum::<f32>() / d as f32
        } else {
            d as f32 * theta * dist
        };
        let samples = ((100.0 * (t as f32).sqrt()) as usize)
            .min(budget.saturating_sub(spent))
            .min(10_000);
        if samples < 2 {
            break;
        }
        let mut grad = vec![0f32; d];
        let mut probes = Vec::with_capacity(samples);
        for _ in 0..samples {
            let mut u: Vec<f32> = (0..d).map(|_| rng.unit() * 2.0 - 1.0).collect();
            let norm = u.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            let probe: Vec<f32> = adv
                .iter()
                .zip(&u)
                .zip(bounds)
                .map(|((&a, v), &(lo, hi))| (a + delta * v / norm).clamp(lo, hi))
                .collect();
            for ((v, p), a) in u.iter_mut().zip(&probe).zip(&adv) {
                *v = (p - a) / delta;
            }
            let sign = if ask(&probe, &mut spent)? { 1.0 } else { -1.0 };
            probes.push((u, sign));
        }
        let mean_sign = probes.iter().map(|(_, s)| s).sum::<f32>() / probes.len() as f32;
        for (u, s) in &probes {
            let w = if mean_sign.abs() == 1.0 {
                *s
            } else {
                s - mean_sign
            };
            for (g, v) in grad.iter_mut().zip(u) {
                *g += w * v;
            }
        }
        // L∞: step along the sign of the gradient, halving until still adversarial.
        let mut step = dist / (t as f32).sqrt();
        let mut moved = false;
        for _ in 0..25 {
            if spent >= budget {
                break;
            }
            let cand: Vec<f32> = adv
                .iter()
                .zip(&grad)
                .zip(bounds)
                .map(|((&a, &g), &(lo, hi))| {
                    let sign = if g == 0.0 { 0.0 } else { g.signum() };
                    (a + step * sign).clamp(lo, hi)
                })
                .collect();
            if ask(&cand, &mut spent)? {
                adv = cand;
                moved = true;
                break;
            }
            step /= 2.0;
        }
        if !moved && spent >= budget {
            break;
        }
        dist = linf(&adv, x);
    }
    Some(((dist <= eps).then_some(adv), spent))
}

/// Summary over rows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub attack: String,
    pub epsilon: f64,
    pub budget: usize,
    /// Rows attacked to the end (a row the time budget stopped before it flipped is not).
    pub rows: usize,
    pub successes: usize,
    /// Rows whose label did not flip within the budget, over rows attacked (none when no row
    /// was attacked: unknown, never 1).
    pub robust_accuracy: Option<f64>,
    pub median_queries: Option<f64>,
    pub median_linf: Option<f64>,
    pub median_changed_features: Option<f64>,
}

/// An f32 as the f64 it reads as (0.2, not 0.20000000298…).
pub(crate) fn shown(v: f32) -> f64 {
    format!("{v}").parse().unwrap_or(v as f64)
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
    // A row the time budget stopped before it flipped was not attacked to the end: unknown.
    let done = results.iter().filter(|r| !r.stopped).count();
    let robust = (done > 0).then(|| 1.0 - ok.len() as f64 / done as f64);
    Summary {
        attack: attack.name().into(),
        epsilon: shown(eps),
        budget,
        rows: done,
        successes: ok.len(),
        robust_accuracy: robust.map(|r| (r * 1e6).round() / 1e6),
        median_queries: median(ok.iter().map(|r| r.queries as f32).collect()).map(shown),
        median_linf: median(ok.iter().map(|r| r.linf).collect()).map(shown),
        median_changed_features: median(
            ok.iter().map(|r| r.changed_features.len() as f32).collect(),
        )
        .map(shown),
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
        for attack in [Attack::Square, Attack::Simba, Attack::HopSkipJump] {
            let x = vec![0.5f32; 5]; // sum 2.5: class 1, margin needs -0.5 in total
            let mut o = Linear(0);
            let r = attack_row_with(
                &mut o,
                attack,
                &x,
                0,
                0.2,
                500,
                &[(0.0, 1.0); 5],
                &mut Rng::new(1),
                Setting {
                    image: None,
                    minimise: true,
                },
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
            let r = attack_row_with(
                &mut Linear(0),
                attack,
                &x,
                0,
                0.2,
                200,
                &[(0.0, 1.0); 5],
                &mut Rng::new(1),
                Setting::default(),
            )
            .unwrap();
            assert!(!r.success);
            assert!(r.queries <= 200);
        }
    }

    /// `Linear` whose time is up after `limit` queries.
    struct Timed(Linear, usize);
    impl Oracle for Timed {
        fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>> {
            self.0.probs(row)
        }
        fn out_of_time(&mut self) -> bool {
            self.0.0 >= self.1
        }
    }

    #[test]
    fn out_of_time_stops_the_search_and_the_row_is_not_robust() {
        let x = vec![0.9f32; 5]; // out of reach at ε = 0.2: the search would spend its budget
        for attack in [Attack::Square, Attack::Simba, Attack::HopSkipJump] {
            let mut o = Timed(Linear(0), 5);
            let r = attack_row_with(
                &mut o,
                attack,
                &x,
                0,
                0.2,
                500,
                &[(0.0, 1.0); 5],
                &mut Rng::new(1),
                Setting::default(),
            );
            // Not one query past the time (HopSkipJump ends the row mid-walk).
            assert!(o.0.0 <= 5, "{attack:?}: {} queries", o.0.0);
            match r {
                Some(r) => {
                    assert!(r.stopped && !r.success, "{attack:?}");
                    let s = summarise(attack, 0.2, 500, &[r]);
                    assert_eq!((s.rows, s.robust_accuracy), (0, None), "unknown, never 1");
                }
                None => assert_eq!(attack, Attack::HopSkipJump),
            }
        }
        // A row that ran to its budget is robust as before; a stopped one is left out.
        let full = attack_row_with(
            &mut Linear(0),
            Attack::Square,
            &x,
            0,
            0.2,
            50,
            &[(0.0, 1.0); 5],
            &mut Rng::new(1),
            Setting::default(),
        )
        .unwrap();
        assert!(!full.stopped);
        let mut stopped = full.clone();
        stopped.stopped = true;
        let s = summarise(Attack::Square, 0.2, 50, &[full, stopped]);
        assert_eq!((s.rows, s.robust_accuracy), (1, Some(1.0)));
    }

    /// Class 1 when the mean of the top-left 4×4 window of channel 0 exceeds 0.5.
    struct Patch;
    impl Oracle for Patch {
        fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>> {
            let img = Image {
                channels: 3,
                height: 16,
                width: 16,
                channels_first: true,
            };
            let mut s = 0.0;
            for r in 0..4 {
                for c in 0..4 {
                    s += row[img.at(0, r, c)];
                }
            }
            let p1 = 1.0 / (1.0 + (-8.0 * (s / 16.0 - 0.5)).exp());
            Some(vec![1.0 - p1, p1])
        }
    }

    #[test]
    fn square_attack_in_image_form_flips_a_patch_classifier_within_eps() {
        let x = vec![0.6f32; 3 * 16 * 16];
        let img = Image {
            channels: 3,
            height: 16,
            width: 16,
            channels_first: true,
        };
        let r = attack_row_with(
            &mut Patch,
            Attack::Square,
            &x,
            0,
            0.2,
            500,
            &vec![(0.0, 1.0); x.len()],
            &mut Rng::new(3),
            Setting {
                image: Some(img),
                minimise: false,
            },
        )
        .unwrap();
        assert!(r.success, "{r:?}");
        assert!(r.linf <= 0.2 + 1e-6);
        assert!(r.queries <= 500);
        // Changes come in windows shared by a channel, not scattered features.
        assert!(r.changed_features.len() >= 16);
    }
}
