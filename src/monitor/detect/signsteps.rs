//! L∞ steps: a row that differs from one of the client's recent rows by the same step, up and
//! down, on many features. Attacks bounded in L∞ move by ±ε per feature: Square's candidates are
//! vertices of the ε-ball around the input it attacks (each window set to +ε or −ε), SimBA adds
//! ±ε along one direction after another, and sign-gradient steps (FGSM/PGD on a surrogate, NES or
//! Bandits with sign updates, JbDA's λ·sign(∇)) change every feature by exactly ±λ. Between two
//! such queries, or a query and the input, the changed features all move by one magnitude with
//! both signs. What benign clients send between two of their own rows does not look like this:
//! noise changes features by a spread of magnitudes, a shift or crop by whatever the neighbouring
//! pixels differ by, a brightness change in one direction, two different images by anything.
//!
//! The test is read from the inputs alone, so interleaving other requests (up to [`RECENT`] rows
//! in between), spreading the queries over keys (each key's own rows still pair up) or adding
//! jitter well below the step does not hide it; it shows from the search's second or third
//! query. Features are compared on the fixed sample [`super::space::Space`] reads (at most 128).

use std::collections::VecDeque;

/// Recent distinct rows a step is looked for against.
pub const RECENT: usize = 16;
/// Changed features a step needs (of the compared ones).
const MIN_CHANGED: usize = 8;
/// A feature is changed when it moved more than this share of the 90th-percentile move.
const CHANGED: f32 = 0.3;
/// The step: the median move of the changed features; this share of them must be within
/// ±[`BAND`] of it, none beyond [`CEILING`] times it, and both signs at least [`MINOR`] of them
/// (and two features): a brightness offset moves every feature one way.
const AT_STEP: f32 = 0.85;
const BAND: f32 = 0.25;
const CEILING: f32 = 1.5;
const MINOR: f32 = 0.03;
/// An intensity transform (contrast, levels, normalisation) moves each feature by a function of
/// its value, and on near-binary images (a dark background, saturated strokes) that is one step
/// down for the background and one up for the strokes. An L∞ search picks its signs without
/// regard to the values: features of the same value (within a quarter step) move differently,
/// e.g. one background pixel up by ε and the next not at all (its −ε clipped at 0). Fewer than
/// [`CONFLICTS`] such features (and this share of them) make the change a function of value.
const CONFLICTS: usize = 2;
const BY_VALUE: f32 = 0.05;
/// A sub-pixel shift of an image (a camera moving a little between two frames) changes every
/// pixel on a straight edge by one amount, up on one side of a stroke and down on the other: an
/// L∞ step by the numbers. Its change is the image's own differences between neighbouring
/// features: `b − a ≈ g·a + c + Σ s·(a[i ± k] − a[i])` for a row offset `k = 1` and one other
/// offset (the image's width). A change this well explained (R² at least [`SHIFT_R2`]) for some
/// second offset up to [`SHIFT_OFFSETS`] is a shift (with a gain and an offset), not a step.
/// Neighbours are read on the compared features, i.e. exactly for rows of at most 128 values.
const SHIFT_R2: f64 = 0.9;
const SHIFT_OFFSETS: usize = 64;
/// A change that keeps the row's total moves exactly as much up as down: block averaging
/// (pixelation, a LIME superpixel set to its mean, a progressive image's coarse preview against
/// the full one), smoothing, a DCT scan adding detail. On near-binary images such a change is
/// one step up and down too. A search picks its signs without regard to one another, and they
/// rarely cancel: a change whose sum is within this share of its total size is not a step.
const BALANCED: f32 = 0.01;
/// A step of most of the two rows' own range swaps their levels (two different near-binary
/// images: ink where there was background and back; a client dividing by 255 twice sends such
/// dim images), where a search moves by an ε inside the range: a step above this share of the
/// range is not one.
const LEVELS: f32 = 0.7;
/// A search moves by an ε well inside its input's own contrast: on the field evaluation's
/// digits, every Square, SimBA and jittered variant's step is 0.15–0.65 of the standard
/// deviation of the image's values (between two candidates, 2ε, still under 1). A step as large
/// as the smaller of the two rows' standard deviations is the difference between two images:
/// an image against a flat one (a progressive load's coarse first pass), two low-resolution
/// rungs of different images, an explainer's or a corruption's heavy change.
const CONTRAST: f32 = 1.0;
/// The step must be within this range of the features' median spread: above jitter and
/// quantisation, below a swap of binary or one-hot values.
const STEP_MIN: f32 = 0.15;
const STEP_MAX: f32 = 1.7;
/// Quantised inputs (the optdigits grid of 1/16, a coarse sensor's levels, a format with few
/// levels) move by one level when the same printed or rendered thing is captured twice: an
/// edge pixel lands one level up in one capture and one level down in another, on many
/// features at once. A step of exactly one level of a grid both rows lie on, and both use (a
/// value at an odd number of levels that is not an end of their range), is re-quantisation, not
/// a search: a search's ±ε from a quantised input leaves the grid (Square's ε = 2/16 from an
/// image with odd sixteenths), and from a binary image its first level is not one the image
/// uses. Values are on the grid within this share of a level.
const ON_GRID: f32 = 1e-3;
/// A search moves each feature by its ε (between two candidates, 2ε): on inputs that lie on a
/// number format's grid (the optdigits sixteenths, 8- or 16-bit values: pitches 2^e and
/// 1/(2^n − 1)) with an ε on that grid, every step feature moves by one number of levels, but for
/// those clipped at the range's ends. Two renderings of one glyph on the grid differ by whatever
/// the ink did: 3, 4 and 5 sixteenths at once, which the step's band (±25 % of the median move)
/// reads as one step. A step whose unclipped step features move by two or more different numbers
/// of levels of a format grid both rows lie on (at least two levels to the step) is not a search.
/// Only format grids: a search with a learning rate and an ε ball (a bandit-prior attack on seed
/// 2026) lands on a fine grid of its own (1/400) and moves by varied amounts (0.03–0.04) where
/// the ball clips it; with jitter, or an ε off the grid, it leaves the grid. A search that varies its own
/// ε by whole levels of a format grid is not seen by this test. Formats of up to this many bits.
const FORMAT_BITS: u32 = 16;
/// Two captures of one printed or rendered thing (a bitmap font at another sub-pixel phase, a
/// thermal print one dot over, a scan turned a little) differ where its ink moved, and ink that
/// moves leaves one pixel for its neighbour: every pixel that gained is next to one that lost.
/// Through a coarse grid (a block of printer dots read as one feature) a stroke edge that moves
/// by one dot moves its block by one fixed amount, up on one side of the stroke and down on the
/// other: an L∞ step by the numbers, which the sub-pixel-shift fit ([`SHIFT_R2`]) misses once the
/// motion differs along the glyph (a rotation, a wobble, a dead print-head column). A search sets
/// its signs by window (Square), chunk (SignHunter) or direction (a sign-gradient step), without
/// regard to the image: its changes reach the ground far from the strokes, and most of them lie
/// inside patches of one sign whose rims alone touch the other sign. A step is ink that moved,
/// not a search, when every step feature is on or next to ink (in either row; ink is the
/// features past the middle of the row's range on its minority side) and at least this share of
/// them are next to (8-neighbours) a changed feature that moved the other way; but not a striped
/// change (Square's first candidate: one sign per column, so neighbouring columns differ half
/// the time). Read on one-channel square images whose every feature is compared and that are
/// strokes on a ground ([`GROUND`]): on a texture every feature is next to ink, and a search's
/// independent signs have neighbours of both signs. A search that
/// moves only pixels at the strokes' edges, each beside one it moves the other way, is not seen
/// by this test.
const MOVED: f32 = 0.75;
/// A stripe is a line-wide offset: Square's first candidate moves every feature of a column
/// that has room to move its way (all but those within `floor` of the range's end, which clip),
/// so a striped change fills its changed lines: at least this share of a line's features with
/// room to move its way moved. A glyph that moved sideways by part of a pixel also changes each
/// column one way (up along a vertical stroke's leading edge, down along its trailing one) but
/// only where the stroke is: the ground above and below it in the same column stays put.
const FILLED: f32 = 0.75;
/// Read only on strokes on a ground: at least 1 in this many features away from ink (not next to
/// it in either row). Two prints of a receipt's digit leave a quarter to a third of the 8 × 8
/// image as ground; uniform noise none.
const GROUND: usize = 8;

/// A search moves each feature it changes by its ε (2ε between two candidates), exactly; its
/// moves spread only where the range clips them (at its ends) and by whatever noise it adds.
/// Two renderings or captures of one thing (a handwritten letter in two crossword cells, a
/// glyph through two augmentations) differ by whatever the ink did, and the step's band (±25 %
/// of the median move) takes in moves that spread by a tenth of the step or more. A step whose
/// unclipped step features' moves spread (root-mean-square deviation from their median) by more
/// than this share of the step is not exact: it needs a second step among the client's last
/// rows (a search keeps stepping; two renderings a coincidence apart do not). On the seen sets
/// Square's candidates, SignHunter's, SimBA's and sign-gradient steps spread by 0, jittered
/// Square by 0.04–0.06, learning-rate searches (Bandits, Bayesian optimisation, SPSG) and
/// widely jittered Square by 0.07–0.18, which step again within a request or two; renderings by
/// 0.08–0.19.
const EXACT: f32 = 0.0625;
/// Unclipped step features [`EXACT`] needs to judge a step by.
const EXACT_FEATURES: usize = 4;

/// Rows a request needs to be read as a batch of masks.
pub const MASK_ROWS: usize = 8;
/// A client's later requests (of any size) whose every value is one of its latest mask batch's
/// two for the feature are masks too, for this many requests after it.
pub const MASK_MEMORY: u32 = 4;
/// Features of a mask batch that take two values, at least.
const MASK_FEATURES: usize = 8;
/// A mask batch's gaps are of many sizes: its two largest clusters of gaps (each within
/// ±[`MASK_CLUSTER`] of its centre) hold less than [`MASK_CLUSTERED`] of them.
const MASK_CLUSTER: f32 = 0.1;
const MASK_CLUSTERED: f32 = 0.5;

/// A request's rows (compared values) are a *mask batch* when they are masked copies of one input: an explainer
/// switching parts of the input between the input and a background (SHAP's Partition and
/// Kernel explainers, LIME, occlusion, sufficient input subsets) sends rows whose every feature
/// takes one of two values — the input's and the background's — and two such rows differ by
/// ±(input − background) on the features one of them masks: on a blurred or averaged
/// background those gaps are of every size, and a dozen of them may fall within the step test's
/// band by chance. An L∞ search's candidates around one input also take two values a feature
/// (its ±ε), but their gaps are one size, `2ε` (or `ε` where the range clips): batches whose
/// gaps cluster on two sizes are not masks. At least [`MASK_ROWS`] rows, every feature with at
/// most two values, [`MASK_FEATURES`] with two. Its values: the two each feature takes, the
/// input's and the background's, as the batch's rows showed them ([`mask_values`]).
#[derive(Clone, Debug, PartialEq)]
pub struct MaskValues {
    first: Vec<f32>,
    /// The other value (the first's where every row agreed).
    other: Vec<f32>,
}

impl MaskValues {
    /// Whether every feature of every row of `rows` is one of the two values of the batch's:
    /// more masks of the same input against the same background (an explainer's last, smaller
    /// batches), however few.
    pub fn holds(&self, rows: &[Vec<f32>]) -> bool {
        !rows.is_empty()
            && rows.iter().all(|r| {
                r.len() == self.first.len()
                    && r.iter()
                        .zip(self.first.iter().zip(&self.other))
                        .all(|(v, (a, b))| v == a || v == b)
            })
    }
}

/// A mask batch's values (see [`MaskValues`]) when `rows` is one.
pub fn mask_values(rows: &[Vec<f32>]) -> Option<MaskValues> {
    let first = rows.first()?;
    let d = first.len();
    if rows.len() < MASK_ROWS || rows.iter().any(|r| r.len() != d) {
        return None;
    }
    let mut gaps = Vec::new();
    let mut other = first.clone();
    for j in 0..d {
        let a = first[j];
        let mut b = None;
        for r in &rows[1..] {
            let v = r[j];
            if v == a || b == Some(v) {
                continue;
            }
            if b.is_some() || !v.is_finite() {
                return None;
            }
            b = Some(v);
        }
        if let Some(b) = b {
            gaps.push((b - a).abs());
            other[j] = b;
        }
    }
    if gaps.len() < MASK_FEATURES {
        return None;
    }
    gaps.sort_unstable_by(f32::total_cmp);
    // The largest cluster of gaps within ±MASK_CLUSTER of one of them, then the next among the rest.
    let cluster = |gaps: &[f32]| -> (usize, f32) {
        let mut best = (0, 0.0);
        for &g in gaps {
            let n = gaps
                .iter()
                .filter(|&&h| (h - g).abs() <= MASK_CLUSTER * g)
                .count();
            if n > best.0 {
                best = (n, g);
            }
        }
        best
    };
    let (n1, g1) = cluster(&gaps);
    let rest: Vec<f32> = gaps
        .iter()
        .copied()
        .filter(|&h| (h - g1).abs() > MASK_CLUSTER * g1)
        .collect();
    let (n2, _) = cluster(&rest);
    (((n1 + n2) as f32) < MASK_CLUSTERED * gaps.len() as f32).then(|| MaskValues {
        first: first.clone(),
        other,
    })
}

/// One client's recent distinct rows (the compared features, raw values).
#[derive(Clone, Debug, Default)]
pub struct SignSteps {
    rows: VecDeque<Vec<f32>>,
}

/// A step found: the changed features, their median move, and whether it is exact (see
/// [`EXACT`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub changed: usize,
    pub step: f32,
    pub exact: bool,
}

impl SignSteps {
    /// Look `row` (the compared features) up against the recent rows, then remember it unless it
    /// is one of them. `spread`: the features' median spread in the baseline; `scratch`: a
    /// buffer the caller keeps across rows.
    pub fn observe(&mut self, row: &[f32], spread: f32, scratch: &mut Vec<f32>) -> Option<Step> {
        self.observe_image(row, spread, None, scratch)
    }

    /// [`observe`](Self::observe) for rows that are one-channel square images `side` wide
    /// (the layout [`striped`] reads).
    pub fn observe_image(
        &mut self,
        row: &[f32],
        spread: f32,
        side: Option<usize>,
        scratch: &mut Vec<f32>,
    ) -> Option<Step> {
        let mut found = None;
        let mut repeat = false;
        for r in &self.rows {
            if r.len() != row.len() {
                continue;
            }
            if r == row {
                repeat = true;
                continue;
            }
            if found.is_none() {
                found = step(r, row, spread, side, scratch);
            }
        }
        if !repeat {
            if self.rows.len() == RECENT {
                self.rows.pop_front();
            }
            self.rows.push_back(row.to_vec());
        }
        found
    }
}

/// Whether `b − a` is an L∞ step (see the module).
fn step(
    a: &[f32],
    b: &[f32],
    spread: f32,
    side: Option<usize>,
    scratch: &mut Vec<f32>,
) -> Option<Step> {
    scratch.clear();
    scratch.extend(a.iter().zip(b).map(|(x, y)| (y - x).abs()));
    let (floor, changed, m) = step_size(scratch, spread)?;
    let (lo, up) = ((1.0 - BAND) * m, (1.0 + BAND) * m);
    // A search clips its candidates to the input's range: a feature a step would have taken past
    // the range's end moves less, to the end. Such short moves that end on the lowest or highest
    // value of the two rows are not counted against the step.
    let (bottom, top) = value_range(a, b);
    // A step feature: changed, by the step (within the band).
    let at_step = |d: f32| d > floor && d >= lo && d <= up;
    let (mut pos, mut neg, mut clipped) = (0usize, 0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        let d = (y - x).abs();
        if at_step(d) {
            if y > x {
                pos += 1;
            } else {
                neg += 1;
            }
        } else if d > floor && d < lo && (*y == bottom || *y == top) {
            clipped += 1;
        }
    }
    let n = pos + neg;
    let enough = n as f32 >= AT_STEP * (changed - clipped) as f32 && n >= MIN_CHANGED;
    let both = pos.min(neg) >= 2 && pos.min(neg) as f32 >= MINOR * n as f32;
    if !(enough && both) {
        return None;
    }
    let (sum, size) = a.iter().zip(b).fold((0.0f32, 0.0f32), |(s, z), (x, y)| {
        (s + (y - x), z + (y - x).abs())
    });
    if (sum.abs() <= BALANCED * size && !side.is_some_and(|w| striped(a, b, floor, w)))
        || m > LEVELS * (top - bottom)
        || m > CONTRAST * std_dev(a).min(std_dev(b))
        || distinct_pairs(a, b, at_step) < MIN_CHANGED
        || by_value(a, b, m)
        || shifted(a, b)
        || one_level(a, b, m)
        || levels_vary(a, b, m, at_step)
        || side.is_some_and(|w| moved_ink(a, b, floor, at_step, w) && !striped(a, b, floor, w))
    {
        return None;
    }
    Some(Step {
        changed,
        step: m,
        exact: exact(a, b, m, at_step),
    })
}

/// Whether the step features that neither row has at its range's ends moved by the step `m`
/// exactly, but for the rows' noise: their moves' root-mean-square deviation from their median
/// at most [`EXACT`] of `m` (see there). Fewer than [`EXACT_FEATURES`] such features: exact (all
/// clipped, or a near-binary image: nothing to judge by).
fn exact(a: &[f32], b: &[f32], m: f32, at_step: impl Fn(f32) -> bool) -> bool {
    let (bottom, top) = value_range(a, b);
    let inside = |v: f32| v > bottom && v < top;
    // On a format's grid, with no noise to spread them, a search's moves are whole: 0, ε or 2ε.
    if let Some(pitch) = format_pitch(a, b, m) {
        let whole = (m / pitch).round();
        let odd = a
            .iter()
            .zip(b)
            .filter(|(x, y)| inside(**x) && inside(**y))
            .map(|(x, y)| ((y - x).abs() / pitch).round())
            .any(|k| k != 0.0 && k != whole && 2.0 * k != whole);
        if odd {
            return false;
        }
    }
    let mut moves: Vec<f32> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| inside(**x) && inside(**y))
        .map(|(x, y)| (y - x).abs())
        .filter(|d| at_step(*d))
        .collect();
    if moves.len() < EXACT_FEATURES {
        return true;
    }
    let mid = moves.len() / 2;
    let median = *moves.select_nth_unstable_by(mid, f32::total_cmp).1;
    let sq = moves
        .iter()
        .map(|d| (d - median) * (d - median))
        .sum::<f32>()
        / moves.len() as f32;
    sq.sqrt() <= EXACT * m
}

/// The step of two rows' moves (`moves`: their absolute differences, reordered): the changed
/// features' floor, how many are changed and their median move, when the moves are finite,
/// enough are changed, the median is within [`STEP_MIN`]–[`STEP_MAX`] of the `spread` and no
/// move is above [`CEILING`] times it.
///
/// Most pairs of a client's rows are no step, and the tests that say so first are cheap ones,
/// read in one or two passes: the largest move (above CEILING times the largest step allowed, no
/// median passes), then rank tests on the changed moves. Each says no exactly when the median
/// would (`step_size_by_sorting` in the tests reads the median first).
fn step_size(moves: &mut Vec<f32>, spread: f32) -> Option<(f32, usize, f32)> {
    if moves.len() < MIN_CHANGED || moves.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let max = moves.iter().copied().fold(0.0f32, f32::max);
    if max > CEILING * (STEP_MAX * spread) {
        return None;
    }
    let hi = (moves.len() * 9) / 10;
    let q90 = nth_largest(moves, moves.len() - hi);
    if q90 <= 0.0 {
        return None;
    }
    let floor = CHANGED * q90;
    moves.retain(|&v| v > floor);
    let changed = moves.len();
    if changed < MIN_CHANGED {
        return None;
    }
    let mid = changed / 2;
    // The median `m` is the changed move of rank `mid` (ascending). A test that every move below
    // a failing one fails too is failed by `m` exactly when more than `mid` moves fail it.
    let below = |fails: &dyn Fn(f32) -> bool| moves.iter().filter(|&&v| fails(v)).count() > mid;
    if below(&|v| max > CEILING * v) || below(&|v| v < STEP_MIN * spread) {
        return None;
    }
    let m = *moves.select_nth_unstable_by(mid, f32::total_cmp).1;
    if m < STEP_MIN * spread || m > STEP_MAX * spread || max > CEILING * m {
        return None;
    }
    Some((floor, changed, m))
}

/// The `k`-th largest of `values` (finite, not negative; `k` from 1 to their number), as
/// `select_nth_unstable` at `len − k` would give it, in one pass that keeps the `k` largest
/// (a tenth of the compared features).
fn nth_largest(values: &[f32], k: usize) -> f32 {
    let mut top = [f32::NEG_INFINITY; 16];
    let k = k.clamp(1, values.len().max(1));
    if k > top.len() {
        let mut v = values.to_vec();
        return *v.select_nth_unstable_by(values.len() - k, f32::total_cmp).1;
    }
    let top = &mut top[..k];
    // `top` descending; a value enters above the first it beats and pushes the rest down.
    for &v in values {
        if v > top[k - 1] {
            let mut i = k - 1;
            while i > 0 && v > top[i - 1] {
                top[i] = top[i - 1];
                i -= 1;
            }
            top[i] = v;
        }
    }
    top[k - 1]
}

/// The lowest and highest value of two rows.
pub(super) fn value_range(a: &[f32], b: &[f32]) -> (f32, f32) {
    a.iter()
        .chain(b)
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        })
}

/// Whether `a` and `b` are one-channel square images `side` (at least 3) wide.
fn square(a: &[f32], b: &[f32], side: usize) -> bool {
    side >= 3 && side * side == a.len() && a.len() == b.len()
}

/// The standard deviation of a row's values.
fn std_dev(x: &[f32]) -> f32 {
    let n = x.len().max(1) as f32;
    let mean = x.iter().sum::<f32>() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt()
}

/// The number of distinct (before, after) value pairs among the step features (whose change
/// `at_step` accepts). Features that repeat one pair are one observation: an up-sampled,
/// pixelated or low-resolution image repeats each of its pixels over a block, so two such
/// images differ by "one step on many features" when a handful of their pixels happen to differ
/// by similar amounts. A step needs [`MIN_CHANGED`] distinct pairs.
fn distinct_pairs(a: &[f32], b: &[f32], at_step: impl Fn(f32) -> bool) -> usize {
    let mut pairs: Vec<(u32, u32)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| at_step((*y - *x).abs()))
        // `+ 0.0` makes −0 and 0 one value.
        .map(|(x, y)| ((x + 0.0).to_bits(), (y + 0.0).to_bits()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.len()
}

/// Whether the change `b − a` of a one-channel square image `side` wide moves every column one
/// way (or every row): Square's first candidate is the input plus ±ε stripes, one sign per
/// column, and its ups and downs may cancel exactly; an average over blocks or superpixels moves
/// the bright and dark pixels of a column opposite ways. Changes at most `floor` do not count;
/// stripes are dense: at least half the lines and a quarter of the features changed (a sparse
/// change, a superpixel or two, moves its few columns one way by chance), and each changed line
/// is filled ([`FILLED`]).
fn striped(a: &[f32], b: &[f32], floor: f32, side: usize) -> bool {
    if !square(a, b, side) {
        return false;
    }
    let moved = a
        .iter()
        .zip(b)
        .filter(|(x, y)| (*y - *x).abs() > floor)
        .count();
    if moved * 4 < a.len() {
        return false;
    }
    let (bottom, top) = value_range(a, b);
    // Every line (column k when `by_column`, else row k) one way and filled, and enough lines
    // changed.
    let lines = |by_column: bool| -> bool {
        let mut changed = 0;
        for k in 0..side {
            let (mut up, mut down) = (0usize, 0usize);
            // Features of the line with room to move up (down) by more than `floor`.
            let (mut room_up, mut room_down) = (0usize, 0usize);
            for i in 0..side {
                let at = if by_column {
                    i * side + k
                } else {
                    k * side + i
                };
                let d = b[at] - a[at];
                up += usize::from(d > floor);
                down += usize::from(d < -floor);
                room_up += usize::from(top - a[at] > floor);
                room_down += usize::from(a[at] - bottom > floor);
            }
            if up > 0 && down > 0 {
                return false;
            }
            let (moved, room) = if up > 0 {
                (up, room_up)
            } else {
                (down, room_down)
            };
            if moved > 0 && (moved as f32) < FILLED * room as f32 {
                return false;
            }
            changed += usize::from(moved > 0);
        }
        changed >= 3 && changed * 2 >= side
    };
    lines(true) || lines(false)
}

/// Whether the step features of `b − a` (whose change `at_step` accepts) on a one-channel square
/// image `side` wide are ink that moved (see [`MOVED`]): every one of them next to (or on) ink in
/// `a` or in `b`, and most of them next to a feature that changed (by more than `floor`) the
/// other way.
fn moved_ink(a: &[f32], b: &[f32], floor: f32, at_step: impl Fn(f32) -> bool, side: usize) -> bool {
    if !square(a, b, side) {
        return false;
    }
    let (ink_a, ink_b) = (ink(a), ink(b));
    let d = |i: usize| b[i] - a[i];
    let around = |r: usize, c: usize| {
        (r.saturating_sub(1)..=(r + 1).min(side - 1)).flat_map(move |rr| {
            (c.saturating_sub(1)..=(c + 1).min(side - 1)).map(move |cc| rr * side + cc)
        })
    };
    // Each feature on or next to ink, in either row.
    let near_ink: Vec<bool> = (0..side * side)
        .map(|i| around(i / side, i % side).any(|j| ink_a[j] || ink_b[j]))
        .collect();
    // Strokes on a ground: an image with ink next to every feature (a texture, a photograph,
    // noise) has no strokes to move, and a search's signs there have neighbours of both signs.
    let ground = near_ink.iter().filter(|n| !**n).count();
    if ground * GROUND < side * side {
        return false;
    }
    let (mut steps, mut moved) = (0usize, 0usize);
    for r in 0..side {
        for c in 0..side {
            let here = d(r * side + c);
            if !at_step(here.abs()) {
                continue;
            }
            if !near_ink[r * side + c] {
                return false;
            }
            steps += 1;
            moved += usize::from(around(r, c).any(|i| d(i).abs() > floor && d(i) * here < 0.0));
        }
    }
    steps > 0 && moved as f32 >= MOVED * steps as f32
}

/// A row's ink: the features past the middle of its range on the side fewer features are on
/// (bright strokes on a dark ground, or dark on light).
fn ink(row: &[f32]) -> Vec<bool> {
    let (bottom, top) = value_range(row, row);
    let mid = bottom + (top - bottom) / 2.0;
    let above = row.iter().filter(|v| **v > mid).count();
    let below = row.iter().filter(|v| **v < mid).count();
    row.iter()
        .map(|v| if above <= below { *v > mid } else { *v < mid })
        .collect()
}

/// Whether `b − a` is `a` shifted by under a feature along offset 1 and another offset (see
/// [`SHIFT_R2`]): a least-squares fit of the change on `a`, a constant, and the forward and
/// backward differences of `a` along both offsets (zero beyond the row's ends).
fn shifted(a: &[f32], b: &[f32]) -> bool {
    let n = a.len();
    if n < 16 {
        return false;
    }
    let at = |i: isize| -> f64 {
        if i < 0 || i as usize >= n {
            0.0
        } else {
            f64::from(a[i as usize])
        }
    };
    let y: Vec<f64> = a.iter().zip(b).map(|(x, y)| f64::from(y - x)).collect();
    let mean = y.iter().sum::<f64>() / n as f64;
    let total: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    if total <= 0.0 {
        return false;
    }
    (2..=SHIFT_OFFSETS.min(n / 2)).any(|k| {
        let regressors = |i: usize| -> [f64; 6] {
            let (i, k) = (i as isize, k as isize);
            let x = at(i);
            [
                x,
                1.0,
                at(i + 1) - x,
                at(i - 1) - x,
                at(i + k) - x,
                at(i - k) - x,
            ]
        };
        let residual = least_squares_residual(n, regressors, &y);
        residual.is_some_and(|r| 1.0 - r / total >= SHIFT_R2)
    })
}

/// The residual sum of squares of the least-squares fit of `y` on the six regressors of each
/// row (normal equations, Gaussian elimination with partial pivoting); None when singular.
fn least_squares_residual(n: usize, x: impl Fn(usize) -> [f64; 6], y: &[f64]) -> Option<f64> {
    const P: usize = 6;
    let mut m = [[0.0f64; P + 1]; P];
    for (i, yi) in y.iter().enumerate().take(n) {
        let r = x(i);
        for p in 0..P {
            for q in 0..P {
                m[p][q] += r[p] * r[q];
            }
            m[p][P] += r[p] * yi;
        }
    }
    // A small ridge keeps a constant-free or flat row from being singular.
    for (p, row) in m.iter_mut().enumerate() {
        row[p] += 1e-9;
    }
    for c in 0..P {
        let pivot = (c..P).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[pivot][c].abs() < 1e-12 {
            return None;
        }
        m.swap(c, pivot);
        let lead = m[c];
        for (r, row) in m.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / lead[c];
                for (v, l) in row.iter_mut().zip(&lead).skip(c) {
                    *v -= f * l;
                }
            }
        }
    }
    let beta: Vec<f64> = (0..P).map(|p| m[p][P] / m[p][p]).collect();
    Some(
        y.iter()
            .enumerate()
            .map(|(i, yi)| {
                let r = x(i);
                let fit: f64 = r.iter().zip(&beta).map(|(a, b)| a * b).sum();
                (yi - fit) * (yi - fit)
            })
            .sum(),
    )
}

/// Whether `a` and `b` both lie on the grid of pitch `step` and both use it: every value a
/// whole number of steps (within [`ON_GRID`] of one), and each row with a value an odd number
/// of steps from 0 strictly inside the two rows' range (see [`ON_GRID`]).
pub(super) fn one_level(a: &[f32], b: &[f32], step: f32) -> bool {
    if !(step > 0.0 && step.is_finite()) {
        return false;
    }
    let (bottom, top) = value_range(a, b);
    let uses = |row: &[f32]| {
        let mut odd = false;
        for &v in row {
            let Some(k) = levels_of(v, step) else {
                return false;
            };
            odd |= k.rem_euclid(2.0) == 1.0 && v > bottom && v < top;
        }
        odd
    };
    uses(a) && uses(b)
}

/// The whole number of `pitch`es `v` lies at, when it lies on that grid (within [`ON_GRID`] of a
/// level).
fn levels_of(v: f32, pitch: f32) -> Option<f32> {
    let k = (v / pitch).round();
    ((v / pitch - k).abs() <= ON_GRID).then_some(k)
}

/// Whether `a` and `b` both lie on a number format's grid at least twice as fine as the step
/// `step` (the coarsest such grid) and their step features (whose change `at_step` accepts) away
/// from the two rows' range ends move by at least two different numbers of its levels (see
/// [`FORMAT_BITS`]).
fn levels_vary(a: &[f32], b: &[f32], step: f32, at_step: impl Fn(f32) -> bool) -> bool {
    if !(step > 0.0 && step.is_finite()) {
        return false;
    }
    let Some(pitch) = format_pitch(a, b, step) else {
        return false;
    };
    let (bottom, top) = value_range(a, b);
    let inside = |v: f32| v > bottom && v < top;
    let mut levels = a
        .iter()
        .zip(b)
        .filter(|(x, y)| at_step((*y - *x).abs()) && inside(**x) && inside(**y))
        .map(|(x, y)| ((y - x).abs() / pitch).round());
    levels
        .next()
        .is_some_and(|first| levels.any(|n| n != first))
}

/// The coarsest number format's grid both `a` and `b` lie on with at least two levels to the
/// step `step` (see [`FORMAT_BITS`]): pitches 2^e and 1/(2^n − 1) (8- and 16-bit values scaled
/// to [0, 1]).
fn format_pitch(a: &[f32], b: &[f32], step: f32) -> Option<f32> {
    if !(step > 0.0 && step.is_finite()) {
        return None;
    }
    let on = |pitch: f32| a.iter().chain(b).all(|v| levels_of(*v, pitch).is_some());
    let mut pitches: Vec<f32> = (-(FORMAT_BITS as i32)..=8)
        .map(|e| 2f32.powi(e))
        .chain((2..=FORMAT_BITS).map(|n| 1.0 / ((1u32 << n) - 1) as f32))
        .filter(|p| 2.0 * p <= step)
        .collect();
    pitches.sort_by(|x, y| y.total_cmp(x));
    pitches.into_iter().find(|pitch| on(*pitch))
}

/// Whether `b` is an intensity transform of `a` (brightness, contrast, gamma, levels: each
/// feature's change a function of its value; see [`by_value`]), judged at the median change of
/// the features that moved. Fewer than [`MIN_CHANGED`] moved features: not judged (false).
pub(super) fn intensity(a: &[f32], b: &[f32]) -> bool {
    let mut moved: Vec<f32> = a
        .iter()
        .zip(b)
        .map(|(x, y)| (y - x).abs())
        .filter(|d| *d > 1e-3)
        .collect();
    if moved.len() < MIN_CHANGED || moved.iter().any(|d| !d.is_finite()) {
        return false;
    }
    let mid = moved.len() / 2;
    let m = *moved.select_nth_unstable_by(mid, f32::total_cmp).1;
    by_value(a, b, m)
}

/// Whether the change `b − a` is a function of the value before (see [`BY_VALUE`]): features
/// binned by value (a quarter step wide), the ones whose change is more than half a step from
/// their bin's median change are conflicts.
fn by_value(a: &[f32], b: &[f32], step: f32) -> bool {
    let width = step / 4.0;
    let mut binned: Vec<(i64, f32)> = a
        .iter()
        .zip(b)
        .map(|(x, y)| ((x / width).floor() as i64, y - x))
        .collect();
    binned.sort_by(|p, q| p.0.cmp(&q.0).then(p.1.total_cmp(&q.1)));
    let mut conflicts = 0usize;
    for group in binned.chunk_by(|p, q| p.0 == q.0) {
        if group.len() < 2 {
            continue;
        }
        let median = group[group.len() / 2].1;
        conflicts += group
            .iter()
            .filter(|(_, d)| (d - median).abs() > step / 2.0)
            .count();
    }
    (conflicts as f32) < (CONFLICTS as f32).max(BY_VALUE * a.len() as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    const SPREAD: f32 = 0.27;

    /// `step_size` as first written: both order statistics by selection, then the tests.
    fn step_size_by_sorting(moves: &mut Vec<f32>, spread: f32) -> Option<(f32, usize, f32)> {
        if moves.len() < MIN_CHANGED || moves.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let hi = (moves.len() * 9) / 10;
        let q90 = *moves.select_nth_unstable_by(hi, f32::total_cmp).1;
        if q90 <= 0.0 {
            return None;
        }
        let floor = CHANGED * q90;
        moves.retain(|&v| v > floor);
        let changed = moves.len();
        if changed < MIN_CHANGED {
            return None;
        }
        let max = moves.iter().copied().fold(0.0f32, f32::max);
        let m = *moves.select_nth_unstable_by(changed / 2, f32::total_cmp).1;
        if m < STEP_MIN * spread || m > STEP_MAX * spread || max > CEILING * m {
            return None;
        }
        Some((floor, changed, m))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(23),
            cases: 2000,
            ..proptest::prelude::ProptestConfig::default()
        })]
        /// The one-pass order statistic is the selected one.
        #[test]
        fn the_kth_largest_is_the_selected_one(
            v in proptest::collection::vec(0u8..20, 1..140),
            k in 1usize..20,
        ) {
            let values: Vec<f32> = v.iter().map(|&x| f32::from(x) / 8.0).collect();
            let k = k.min(values.len());
            let mut sorted = values.clone();
            let want = *sorted.select_nth_unstable_by(values.len() - k, f32::total_cmp).1;
            proptest::prop_assert_eq!(nth_largest(&values, k), want);
        }

        /// The early outs say no exactly when reading the median would: moves of a step with
        /// some far off, some zero, some clipped, on grids where ties are common.
        #[test]
        fn the_step_is_read_as_by_sorting(
            moves in proptest::collection::vec((0u8..4, 0u8..40), 8..140),
            step in 1u8..40,
            spread in 0.05f32..0.6,
        ) {
            let moves: Vec<f32> = moves
                .iter()
                .map(|&(kind, x)| match kind {
                    0 => 0.0,
                    1 => f32::from(x) / 40.0,
                    _ => f32::from(step) / 40.0 * (0.8 + f32::from(x % 9) / 20.0),
                })
                .collect();
            let (mut a, mut b) = (moves.clone(), moves);
            proptest::prop_assert_eq!(step_size(&mut a, spread), step_size_by_sorting(&mut b, spread));
        }
    }

    /// An 8 × 8 image given in sixteenths (the optdigits grid).
    fn sixteenths(v: &[u8; 64]) -> Vec<f32> {
        v.iter().map(|&k| f32::from(k) / 16.0).collect()
    }

    fn image(rng: &mut Rng) -> Vec<f32> {
        (0..64)
            .map(|_| {
                if rng.unit() < 0.45 {
                    0.0
                } else {
                    (rng.unit() * 16.0).round() / 16.0
                }
            })
            .collect()
    }

    /// A vertex of the ε-ball around `x` (Square's candidates), optionally jittered.
    fn vertex(x: &[f32], eps: f32, jitter: f32, rng: &mut Rng) -> Vec<f32> {
        x.iter()
            .map(|v| {
                let s = if rng.unit() < 0.5 { eps } else { -eps };
                (v + s + (rng.unit() - 0.5) * 2.0 * jitter).clamp(0.0, 1.0)
            })
            .collect()
    }

    /// Values in two bands, 0.15–0.2 and 0.7–0.75 (strokes and background, as in a digit), none
    /// at 0 or 1: no feature of a step from it is clipped.
    fn strokes_and_ground(rng: &mut Rng) -> Vec<f32> {
        (0..64)
            .map(|_| {
                let u = rng.unit();
                if u < 0.5 {
                    0.15 + 0.1 * u
                } else {
                    0.65 + 0.1 * u
                }
            })
            .collect()
    }

    fn gauss(rng: &mut Rng) -> f32 {
        // Irwin–Hall: close enough to a normal for a test.
        (0..12).map(|_| rng.unit()).sum::<f32>() - 6.0
    }

    /// `x` blurred by a 3 × 3 box (edges clamped): a SHAP image masker's background.
    fn blurred(x: &[f32]) -> Vec<f32> {
        (0..64)
            .map(|k| {
                let (i, j): (i32, i32) = (k / 8, k % 8);
                let (mut s, mut n) = (0.0, 0.0);
                for di in -1i32..=1 {
                    for dj in -1i32..=1 {
                        let (a, b) = ((i + di).clamp(0, 7), (j + dj).clamp(0, 7));
                        s += x[(a * 8 + b) as usize];
                        n += 1.0;
                    }
                }
                s / n
            })
            .collect()
    }

    #[test]
    fn masked_copies_of_one_input_are_a_mask_batch_and_square_candidates_are_not() {
        let mut rng = Rng::new(31);
        let x = image(&mut rng);
        let bg = blurred(&x);
        // SHAP's Partition explainer: quarters, eighths and sixteenths of the image switched
        // between the input and its blur, one masked copy a row.
        let masks: Vec<Vec<f32>> = (0..24)
            .map(|r| {
                let block = [4usize, 2, 1][r % 3];
                (0..64)
                    .map(|k| {
                        let on = ((k / 8) / block + (k % 8) / block + r).is_multiple_of(2);
                        if on { x[k] } else { bg[k] }
                    })
                    .collect()
            })
            .collect();
        let values = mask_values(&masks).expect("a mask batch");
        // Too few rows to tell on their own; after the batch, more masks of the same input
        // against the same background, however few, hold its values.
        assert!(mask_values(&masks[..MASK_ROWS - 1]).is_none());
        let last: Vec<Vec<f32>> = (0..3)
            .map(|r| {
                (0..64)
                    .map(|k| if (k + r) % 5 == 0 { bg[k] } else { x[k] })
                    .collect()
            })
            .collect();
        assert!(values.holds(&last));
        // A value of neither (an L∞ step off a mask), or another input's masks, do not.
        let mut off = last[0].clone();
        off[9] += 0.125;
        assert!(!values.holds(&[last[1].clone(), off]));
        let y = image(&mut rng);
        assert!(!values.holds(&[blurred(&y)]));
        assert!(!values.holds(&[]));
        // Square's candidates around one input, batched: two values a feature too, but their
        // gaps are one size (2ε, or ε where the range clips).
        let square: Vec<Vec<f32>> = (0..24).map(|_| vertex(&x, 0.125, 0.0, &mut rng)).collect();
        assert!(mask_values(&square).is_none());
        // Noise copies: many values a feature.
        let noise: Vec<Vec<f32>> = (0..24)
            .map(|_| x.iter().map(|v| v + 0.05 * gauss(&mut rng)).collect())
            .collect();
        assert!(mask_values(&noise).is_none());
    }

    #[test]
    fn square_candidates_are_steps_from_the_input_and_from_each_other_even_jittered() {
        let mut rng = Rng::new(1);
        for jitter in [0.0, 0.008] {
            let x = image(&mut rng);
            let mut s = SignSteps::default();
            assert_eq!(s.observe(&x, SPREAD, &mut vec![]), None);
            let a = vertex(&x, 0.125, jitter, &mut rng);
            assert!(
                s.observe(&a, SPREAD, &mut vec![])
                    .is_some_and(|st| st.exact)
            );
            let b = vertex(&x, 0.125, jitter, &mut rng);
            assert!(
                s.observe(&b, SPREAD, &mut vec![])
                    .is_some_and(|st| st.exact)
            );
            // Between two candidates only (the input forgotten): still a step (of 2ε) where
            // no feature was clipped at 0 or 1 (a clipped feature moves half as far); strokes
            // and background, as in a digit.
            let x = strokes_and_ground(&mut rng);
            let a = vertex(&x, 0.125, jitter, &mut rng);
            let b = vertex(&x, 0.125, jitter, &mut rng);
            let mut t = SignSteps::default();
            t.observe(&a, SPREAD, &mut vec![]);
            let found = t.observe(&b, SPREAD, &mut vec![]).unwrap();
            assert!((found.step - 0.25).abs() < 0.05, "{found:?}");
            assert!(found.exact, "{found:?}");
        }
    }

    #[test]
    fn a_step_whose_moves_spread_by_a_tenth_of_it_is_not_exact() {
        // Two renderings of one thing whose differences happen to fall within the step's band:
        // each feature moved by the step give or take a fifth, as ink does, not by ε exactly.
        let mut rng = Rng::new(41);
        let x = strokes_and_ground(&mut rng);
        let (mut found_steps, mut exact) = (0, 0);
        for _ in 0..20 {
            let b: Vec<f32> = x
                .iter()
                .map(|v| {
                    let s = if rng.unit() < 0.5 { 0.125 } else { -0.125 };
                    v + s * (1.0 + 0.4 * (rng.unit() - 0.5))
                })
                .collect();
            let mut t = SignSteps::default();
            t.observe(&x, SPREAD, &mut vec![]);
            if let Some(found) = t.observe(&b, SPREAD, &mut vec![]) {
                found_steps += 1;
                exact += usize::from(found.exact);
            }
        }
        assert!(found_steps >= 15, "{found_steps}");
        assert_eq!(exact, 0);
    }

    #[test]
    fn on_a_formats_grid_a_move_of_another_number_of_levels_is_not_exact() {
        // Square on the optdigits grid (ε = 4/16): every unclipped move is 0, ε or 2ε.
        let mut rng = Rng::new(43);
        let x = image(&mut rng);
        let a = vertex(&x, 0.25, 0.0, &mut rng);
        let mut t = SignSteps::default();
        t.observe(&x, SPREAD, &mut vec![]);
        let found = t.observe(&a, SPREAD, &mut vec![]).expect("a step");
        assert!(found.exact, "{found:?}");
        // The same candidate with three features one level off (a glyph captured again: its
        // edges land a level up or down beside the ones that moved by the step; a search moves
        // by 0, 2 or 4 levels).
        let mut b = a.clone();
        let inside: Vec<usize> = (0..64)
            .filter(|&k| x[k] > 0.2 && x[k] < 0.8)
            .take(3)
            .collect();
        for &k in &inside {
            b[k] = x[k] + 1.0 / 16.0;
        }
        let mut t = SignSteps::default();
        t.observe(&x, SPREAD, &mut vec![]);
        let found = t.observe(&b, SPREAD, &mut vec![]).expect("still a step");
        assert!(!found.exact, "{found:?}");
        // Off the grid (jittered) the levels are not read.
        assert!(format_pitch(&x, &vertex(&x, 0.125, 0.004, &mut rng), 0.125).is_none());
    }

    #[test]
    fn benign_variants_are_not_steps() {
        let mut rng = Rng::new(2);
        let mut s = SignSteps::default();
        for _ in 0..200 {
            let x = image(&mut rng);
            assert_eq!(s.observe(&x, SPREAD, &mut vec![]), None, "another image");
            // Gaussian noise of several sizes.
            for sigma in [0.01, 0.02, 0.05, 0.1] {
                let n: Vec<f32> = x
                    .iter()
                    .map(|v| (v + sigma * gauss(&mut rng)).clamp(0.0, 1.0))
                    .collect();
                assert_eq!(s.observe(&n, SPREAD, &mut vec![]), None, "noise {sigma}");
            }
            // A one-pixel shift, brightness, contrast around the mean.
            let mut shifted = vec![0.0; 64];
            for r in 0..8 {
                for c in 1..8 {
                    shifted[r * 8 + c] = x[r * 8 + c - 1];
                }
            }
            assert_eq!(s.observe(&shifted, SPREAD, &mut vec![]), None, "shift");
            let bright: Vec<f32> = x.iter().map(|v| (v * 1.15).min(1.0)).collect();
            assert_eq!(s.observe(&bright, SPREAD, &mut vec![]), None, "brightness");
            let plus: Vec<f32> = x.iter().map(|v| (v + 0.1).min(1.0)).collect();
            assert_eq!(s.observe(&plus, SPREAD, &mut vec![]), None, "offset");
            // Levels on a near-binary image: the background one step down, the strokes one
            // step up.
            let binary: Vec<f32> = x
                .iter()
                .map(|v| if *v > 0.5 { 0.9 } else { 0.05 })
                .collect();
            s.observe(&binary, SPREAD, &mut vec![]);
            let levels: Vec<f32> = binary
                .iter()
                .map(|v| if *v > 0.5 { 0.95 } else { 0.0 })
                .collect();
            assert_eq!(s.observe(&levels, SPREAD, &mut vec![]), None, "levels");
        }
    }

    /// `x` (an 8×8 image, row-major) moved by (`du`, `dv`) pixels, bilinear, zero outside.
    fn shift(x: &[f32], du: f32, dv: f32) -> Vec<f32> {
        let at = |r: i32, c: i32| -> f32 {
            if (0..8).contains(&r) && (0..8).contains(&c) {
                x[(r * 8 + c) as usize]
            } else {
                0.0
            }
        };
        let mut out = vec![0.0; 64];
        for r in 0..8i32 {
            for c in 0..8i32 {
                let (fr, fc) = (r as f32 - dv, c as f32 - du);
                let (r0, c0) = (fr.floor() as i32, fc.floor() as i32);
                let (wr, wc) = (fr - r0 as f32, fc - c0 as f32);
                out[(r * 8 + c) as usize] = (1.0 - wr) * (1.0 - wc) * at(r0, c0)
                    + (1.0 - wr) * wc * at(r0, c0 + 1)
                    + wr * (1.0 - wc) * at(r0 + 1, c0)
                    + wr * wc * at(r0 + 1, c0 + 1);
            }
        }
        out
    }

    #[test]
    fn a_camera_moving_under_a_pixel_is_not_a_step_though_its_edges_move_by_one_amount() {
        // A "1": one vertical stroke two pixels wide, saturated (as held out 4's video frames):
        // a horizontal shift moves the pixels left of it up and right of it down by one amount.
        let mut x = vec![0.0f32; 64];
        for r in 1..8 {
            x[r * 8 + 3] = 1.0;
            x[r * 8 + 4] = 1.0;
        }
        let mut rng = Rng::new(6);
        let noisy = |v: &[f32], rng: &mut Rng| -> Vec<f32> {
            v.iter()
                .map(|p| (p + 0.01 * gauss(rng)).clamp(0.0, 1.0))
                .collect()
        };
        let a = noisy(&x, &mut rng);
        for (du, dv) in [(0.15, 0.0), (-0.2, 0.01), (0.18, -0.01)] {
            let b = noisy(&shift(&x, du, dv), &mut rng);
            let d: Vec<f32> = a.iter().zip(&b).map(|(p, q)| q - p).collect();
            assert!(shifted(&a, &b), "({du}, {dv}): {d:?}");
            assert_eq!(
                step(&a, &b, SPREAD, Some(8), &mut vec![]),
                None,
                "({du}, {dv})"
            );
        }
        // Square's candidates of the same image are still steps.
        let v = vertex(&a, 0.125, 0.0, &mut rng);
        assert!(!shifted(&a, &v));
    }

    #[test]
    fn square_candidates_clipped_at_the_range_are_steps() {
        // Held out 4's wide Square (ε 0.2, ±0.02 jitter) on a digit: the stripes' −ε on
        // background and faint pixels clip at 0, moving them less than a step, to 0.
        let mut rng = Rng::new(12);
        let x: Vec<f32> = (0..64)
            .map(|i| match i % 8 {
                2 => 0.05 + 0.1 * rng.unit(),
                3 | 4 => 0.6 + 0.4 * rng.unit(),
                5 => 0.3 + 0.6 * rng.unit(),
                _ => 0.0,
            })
            .collect();
        let candidate: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let s = if i % 8 == 5 { 0.2 } else { -0.2 };
                (v + s + (rng.unit() - 0.5) * 0.04).clamp(0.0, 1.0)
            })
            .collect();
        let st = step(&x, &candidate, SPREAD, None, &mut vec![]).expect("a step");
        assert!((0.18..0.22).contains(&st.step), "{st:?}");
    }

    #[test]
    fn a_block_averaged_image_is_not_a_step() {
        // A near-binary image (strokes at 0.75, a few faint pixels): each hidden 2 x 2 block's
        // mean moves its bright pixels down and its dark ones up by one amount when the block
        // is half ink (pixelation; a LIME superpixel hidden by its mean; a progressive preview
        // against the full image).
        let mut rng = Rng::new(17);
        let a: Vec<f32> = (0..64)
            .map(|_| {
                let u = rng.unit();
                if u < 0.1 {
                    0.0625
                } else if u < 0.55 {
                    0.75
                } else {
                    0.0
                }
            })
            .collect();
        let mut b = a.clone();
        // Half the blocks hidden (LIME keeps the others as they are).
        for br in 0..4 {
            for bc in (br % 2..4).step_by(2) {
                let cells = [
                    (2 * br) * 8 + 2 * bc,
                    (2 * br) * 8 + 2 * bc + 1,
                    (2 * br + 1) * 8 + 2 * bc,
                    (2 * br + 1) * 8 + 2 * bc + 1,
                ];
                let mean = cells.iter().map(|&i| a[i]).sum::<f32>() / 4.0;
                for i in cells {
                    b[i] = mean;
                }
            }
        }
        let mut s = SignSteps::default();
        s.observe_image(&a, SPREAD, Some(8), &mut vec![]);
        assert_eq!(s.observe_image(&b, SPREAD, Some(8), &mut vec![]), None);
    }

    #[test]
    fn two_low_resolution_images_are_not_a_step_though_their_blocks_differ_by_one_amount() {
        // Two different 4 x 4 images up-sampled to 8 x 8 (a resolution ladder, a pixelated
        // preview): six of their pixels differ by about one amount, four up and two down, and
        // each shows as a 2 x 2 block: 24 features but six observations.
        let mut rng = Rng::new(31);
        let ink = |rng: &mut Rng| {
            let u = rng.unit();
            if u < 0.5 {
                0.1 + 0.2 * u
            } else {
                0.7 + 0.2 * u
            }
        };
        let a4: Vec<f32> = (0..16).map(|_| ink(&mut rng)).collect();
        let mut b4 = a4.clone();
        for (k, i) in [0usize, 3, 5, 9, 10, 14].into_iter().enumerate() {
            let sign = if k % 3 == 0 { -1.0 } else { 1.0 };
            b4[i] += sign * (0.25 + 0.02 * rng.unit());
        }
        let up =
            |x: &[f32]| -> Vec<f32> { (0..64).map(|i| x[(i / 16) * 4 + (i % 8) / 2]).collect() };
        let (a, b) = (up(&a4), up(&b4));
        let mut s = SignSteps::default();
        s.observe_image(&a, SPREAD, Some(8), &mut vec![]);
        assert_eq!(s.observe_image(&b, SPREAD, Some(8), &mut vec![]), None);
        // The same moves on 24 pixels of their own values are 24 observations: a step.
        let a: Vec<f32> = (0..64).map(|_| ink(&mut rng)).collect();
        let b: Vec<f32> = a
            .iter()
            .enumerate()
            .map(|(i, v)| match i % 8 {
                0 | 3 | 6 => v + 0.25 + 0.02 * rng.unit(),
                _ => *v,
            })
            .collect();
        let b: Vec<f32> = b
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i % 8 == 1 && i < 40 {
                    v - 0.25 - 0.02 * rng.unit()
                } else {
                    *v
                }
            })
            .collect();
        let mut s = SignSteps::default();
        s.observe_image(&a, SPREAD, Some(8), &mut vec![]);
        assert!(s.observe_image(&b, SPREAD, Some(8), &mut vec![]).is_some());
    }

    #[test]
    fn an_image_against_a_flat_coarse_pass_is_not_a_step() {
        // A progressive load's first pass is nearly flat (each 4 x 4 block its mean, about
        // 0.35); against a near-binary image every background pixel is about 0.35 lower and
        // every stroke pixel about 0.35 higher: one step, up and down, as large as the image's
        // own contrast.
        let mut rng = Rng::new(37);
        let a: Vec<f32> = (0..64)
            .map(|i| [0.33, 0.35, 0.37, 0.36][((i / 32) * 2) + (i % 8) / 4])
            .collect();
        let b: Vec<f32> = (0..64)
            .map(|_| {
                if rng.unit() < 0.4 {
                    0.66 + 0.08 * rng.unit()
                } else {
                    0.04 * rng.unit()
                }
            })
            .collect();
        let mut s = SignSteps::default();
        s.observe_image(&a, SPREAD, Some(8), &mut vec![]);
        assert_eq!(s.observe_image(&b, SPREAD, Some(8), &mut vec![]), None);
    }

    #[test]
    fn squares_first_candidate_is_a_step_though_its_stripes_cancel() {
        // ART's Square starts from the input plus ±ε in vertical stripes, one sign per column;
        // four columns up and four down cancel exactly (on an image within ε of neither end
        // nothing clips).
        let mut rng = Rng::new(29);
        let a: Vec<f32> = (0..64).map(|_| 0.125 + 0.75 * rng.unit()).collect();
        let signs = [1.0f32, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0];
        let b: Vec<f32> = (0..64).map(|i| a[i] + 0.125 * signs[i % 8]).collect();
        let mut s = SignSteps::default();
        s.observe_image(&a, SPREAD, Some(8), &mut vec![]);
        assert!(s.observe_image(&b, SPREAD, Some(8), &mut vec![]).is_some());
        // Without the layout the balance alone reads it as a change that keeps the total.
        let mut s = SignSteps::default();
        s.observe(&a, SPREAD, &mut vec![]);
        assert_eq!(s.observe(&b, SPREAD, &mut vec![]), None);
    }

    #[test]
    fn two_dim_near_binary_images_are_not_steps() {
        // Raw 0-16 digits divided by 255 twice over: every value 0 or about 0.063, so two
        // different images differ by that one amount up and down.
        let mut rng = Rng::new(23);
        let v = 16.0 / 255.0;
        let a: Vec<f32> = (0..64)
            .map(|_| if rng.unit() < 0.5 { v } else { 0.0 })
            .collect();
        let b: Vec<f32> = (0..64)
            .map(|_| if rng.unit() < 0.2 { v } else { 0.0 })
            .collect();
        let mut s = SignSteps::default();
        s.observe(&a, SPREAD, &mut vec![]);
        assert_eq!(s.observe(&b, SPREAD, &mut vec![]), None);
    }

    #[test]
    fn two_different_quantised_images_are_not_steps() {
        // Digits-like rows (17 levels): two different images of one digit differ by a few
        // neighbouring levels (0.25, 0.3125, 0.375) on a score of features, up and down, and
        // by other amounts on a few more — not one step.
        let a: Vec<f32> = (0..64).map(|i| 0.375 + 0.0625 * (i % 3) as f32).collect();
        let mut b = a.clone();
        let moves = [0.25, 0.3125, 0.375, -0.25, -0.3125, 0.3125, 0.1875, -0.4375];
        for (k, i) in (2..64).step_by(3).enumerate().take(21) {
            b[i] = (a[i] + moves[k % moves.len()]).clamp(0.0, 1.0);
        }
        let mut s = SignSteps::default();
        s.observe(&a, SPREAD, &mut vec![]);
        assert_eq!(s.observe(&b, SPREAD, &mut vec![]), None);
    }

    #[test]
    fn one_level_of_the_grid_a_quantised_glyph_is_captured_on_is_not_a_step() {
        // Held out 9's cheque reader: one printed glyph in two cheques, in sixteenths (the
        // optdigits grid); ten pixels along its edges are one level up or down (8 up, 2 down).
        // Without the grid test this is a step of 1/16.
        let a = sixteenths(&[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 5, 4, 8, 4, 1, 0, 0, 0, 7, 13,
            15, 8, 0, 0, 0, 0, 8, 13, 15, 8, 0, 0, 0, 0, 4, 4, 8, 4, 1, 0, 0, 0, 0, 1, 3, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        let b = sixteenths(&[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 4, 4, 8, 4, 1, 0, 0, 0, 8, 13,
            15, 9, 1, 0, 0, 0, 7, 14, 15, 9, 1, 0, 0, 0, 5, 4, 8, 4, 1, 0, 0, 0, 0, 1, 3, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        assert!(one_level(&a, &b, 1.0 / 16.0));
        assert_eq!(step(&a, &b, SPREAD, None, &mut vec![]), None);
        // The same moves off the grid (a jitter of 1/100 on every value) are a step.
        let jit = |r: &[f32], rng: &mut Rng| -> Vec<f32> {
            r.iter().map(|v| v + (rng.unit() - 0.5) * 0.01).collect()
        };
        let mut rng = Rng::new(21);
        let (ja, jb) = (jit(&a, &mut rng), jit(&b, &mut rng));
        assert!(!one_level(&ja, &jb, 1.0 / 16.0));
        assert!(step(&ja, &jb, SPREAD, None, &mut vec![]).is_some());
    }

    #[test]
    fn a_search_from_a_binary_image_or_off_the_grid_is_not_one_level() {
        // Square (ε 1/8) from an image of only 0 and 1: the candidate's values are all eighths,
        // but the image uses no odd eighth, so the move is not one level of a grid both use.
        // (Other tests judge whether it is a step: on a binary image it is a function of value.)
        let mut rng = Rng::new(22);
        let x: Vec<f32> = (0..64)
            .map(|i| {
                if matches!(i % 8, 3 | 4) || rng.unit() < 0.1 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let c = vertex(&x, 0.125, 0.0, &mut rng);
        assert!(!one_level(&x, &c, 0.125));
        // Square (ε 2/16) from a digit on the 1/16 grid: a grid both rows lie on, but the step
        // is two of its levels; as a grid of 1/8, the digit's odd sixteenths are off it.
        let d = image(&mut rng);
        let c = vertex(&d, 0.125, 0.0, &mut rng);
        assert!(!one_level(&d, &c, 0.125));
        assert!(step(&d, &c, SPREAD, None, &mut vec![]).is_some());
    }

    #[test]
    fn swapped_binary_features_are_not_steps_and_repeats_are_not_remembered_twice() {
        let mut rng = Rng::new(3);
        let mut s = SignSteps::default();
        let a: Vec<f32> = (0..64).map(|_| (rng.unit() < 0.5) as u8 as f32).collect();
        let b: Vec<f32> = (0..64).map(|_| (rng.unit() < 0.5) as u8 as f32).collect();
        s.observe(&a, 0.5, &mut vec![]);
        assert_eq!(s.observe(&b, 0.5, &mut vec![]), None);
        for _ in 0..RECENT {
            s.observe(&a, 0.5, &mut vec![]);
        }
        assert_eq!(s.rows.len(), 2);
    }

    /// Two thermal prints of one digit "0" on a receipt (held out 10's receipt reader, seed
    /// 10001, seen): the top stroke one printer dot higher in the second, so its blocks move by
    /// one fixed amount, up above the stroke and down on it (8 × 8, a row a line).
    #[rustfmt::skip]
    const RECEIPT_A: [f32; 64] = [
        0.0, 0.0, 0.11501485, 0.15335314, 0.15335314, 0.11501485, 0.0, 0.0,
        0.0, 0.0, 0.536736, 0.30670628, 0.30670628, 0.268368, 0.0, 0.0,
        0.0, 0.0, 0.4600594, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.57507426, 0.4983977, 0.4983977, 0.2300297, 0.0, 0.0,
        0.0, 0.0, 0.07667657, 0.0, 0.0, 0.4600594, 0.0, 0.0,
        0.0, 0.0, 0.268368, 0.0, 0.0, 0.4983977, 0.0, 0.0,
        0.0, 0.0, 0.2300297, 0.4600594, 0.4983977, 0.15335314, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ];
    #[rustfmt::skip]
    const RECEIPT_B: [f32; 64] = [
        0.0, 0.0, 0.19169143, 0.30670628, 0.30670628, 0.268368, 0.0, 0.0,
        0.0, 0.0, 0.38338286, 0.15335314, 0.15335314, 0.15335314, 0.0, 0.0,
        0.0, 0.0, 0.4600594, 0.0, 0.038338285, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.57507426, 0.4600594, 0.38338286, 0.38338286, 0.0, 0.0,
        0.0, 0.0, 0.038338285, 0.0, 0.0, 0.34504455, 0.11501485, 0.0,
        0.0, 0.0, 0.2300297, 0.0, 0.0, 0.34504455, 0.11501485, 0.0,
        0.0, 0.0, 0.2300297, 0.4600594, 0.4983977, 0.34504455, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ];
    /// Two iterates of Ilyas et al.'s bandit attack with its tiling prior (the field harness's
    /// dev seed 2026): a sign step of 0.04 whose patches are small, so most changed pixels are
    /// next to one that moved the other way, but it moves the ground far from the strokes.
    #[rustfmt::skip]
    const BANDITS_A: [f32; 64] = [
        0.125, 0.03, 0.0, 0.95, 0.8125, 0.1225, 0.06, 0.125,
        0.125, 0.0, 0.7925, 0.92, 0.5, 0.6825, 0.0, 0.04,
        0.095, 0.03, 0.89, 0.7475, 0.1, 0.75, 0.025, 0.0,
        0.0, 0.1075, 0.97, 0.1875, 0.125, 0.375, 0.3375, 0.0,
        0.125, 0.35, 0.9375, 0.0, 0.125, 0.54, 0.5825, 0.0,
        0.02, 0.1875, 1.0, 0.0025, 0.125, 0.605, 0.6825, 0.125,
        0.1, 0.0, 0.565, 0.5, 0.0925, 0.95, 0.31, 0.03,
        0.02, 0.0, 0.0225, 0.7075, 0.96, 0.7525, 0.1575, 0.0,
    ];
    #[rustfmt::skip]
    const BANDITS_B: [f32; 64] = [
        0.125, 0.03, 0.0, 0.91, 0.8125, 0.1625, 0.02, 0.125,
        0.125, 0.0, 0.7725, 0.96, 0.5, 0.6875, 0.0, 0.0,
        0.055, 0.07, 0.93, 0.7075, 0.14, 0.75, 0.025, 0.0,
        0.0, 0.0675, 0.93, 0.1875, 0.125, 0.375, 0.3775, 0.0,
        0.085, 0.375, 0.9375, 0.03, 0.125, 0.5, 0.6225, 0.0,
        0.0, 0.1475, 1.0, 0.0, 0.125, 0.565, 0.6875, 0.125,
        0.1, 0.0, 0.585, 0.5, 0.1325, 0.91, 0.27, 0.07,
        0.0, 0.0, 0.0, 0.7075, 1.0, 0.7525, 0.1175, 0.04,
    ];

    #[test]
    fn ink_that_moved_between_neighbours_is_not_a_step_but_a_searchs_patches_are() {
        let spread = 0.25;
        // Without the layout (so without this test) the receipt pair is an L∞ step.
        assert!(step(&RECEIPT_A, &RECEIPT_B, spread, None, &mut vec![]).is_some());
        assert_eq!(
            step(&RECEIPT_A, &RECEIPT_B, spread, Some(8), &mut vec![]),
            None
        );
        assert!(step(&BANDITS_A, &BANDITS_B, spread, Some(8), &mut vec![]).is_some());
        // Ink is on the minority side: the same prints inverted (dark ink on light paper) are
        // read alike.
        let inv = |x: &[f32; 64]| x.map(|v| 1.0 - v);
        assert_eq!(
            step(
                &inv(&RECEIPT_A),
                &inv(&RECEIPT_B),
                spread,
                Some(8),
                &mut vec![]
            ),
            None
        );
        // A sign vector of random ±ε per pixel on a digit (an FGSM-like step from a noisy
        // gradient) changes the ground far from the strokes: still a step.
        let mut rng = Rng::new(41);
        let x: Vec<f32> = RECEIPT_A.iter().map(|v| v / 0.575).collect();
        let y: Vec<f32> = x
            .iter()
            .map(|v| (v + if rng.unit() < 0.5 { 0.125 } else { -0.125 }).clamp(0.0, 1.0))
            .collect();
        assert!(step(&x, &y, spread, Some(8), &mut vec![]).is_some());
        // On a texture (every feature next to something bright) there are no strokes to move:
        // a random-sign step stays a step, though its signs have neighbours of both signs.
        let mut steps = 0;
        for _ in 0..20 {
            let t: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
            let u: Vec<f32> = t
                .iter()
                .map(|v| (v + if rng.unit() < 0.5 { 0.1 } else { -0.1 }).clamp(0.0, 1.0))
                .collect();
            let without = step(&t, &u, 0.29, None, &mut vec![]).is_some();
            assert_eq!(step(&t, &u, 0.29, Some(8), &mut vec![]).is_some(), without);
            steps += usize::from(without);
        }
        assert!(steps >= 10, "{steps}");
    }
    #[test]
    fn a_glyph_moved_sideways_is_not_striped_but_squares_stripes_are() {
        // Two captures of one optdigits glyph (held out 7's optdigits client, seed 9701): the
        // strokes moved a quarter pixel left, so each column changed one way (+4/16 along their
        // leading edges, −4/16 along their trailing ones) on 16 features: an L∞ step of 0.25
        // whose columns read as Square's first candidate's stripes. But a stripe moves its whole
        // column; here the ground above and below the strokes stayed put.
        #[rustfmt::skip]
        let a: [u8; 64] = [
            0, 0, 11, 16, 16, 15, 2, 0,
            0, 0, 7, 12, 16, 16, 4, 0,
            0, 0, 0, 2, 16, 16, 10, 0,
            0, 0, 7, 15, 16, 16, 13, 0,
            0, 0, 16, 16, 16, 11, 1, 0,
            0, 0, 11, 16, 12, 0, 0, 0,
            0, 0, 10, 16, 6, 0, 0, 0,
            0, 0, 6, 8, 2, 0, 0, 0,
        ];
        #[rustfmt::skip]
        let b: [u8; 64] = [
            0, 0, 15, 16, 16, 13, 0, 0,
            0, 0, 10, 13, 16, 16, 0, 0,
            0, 0, 0, 6, 16, 16, 6, 0,
            0, 0, 10, 16, 16, 16, 9, 0,
            0, 4, 16, 16, 16, 8, 0, 0,
            0, 1, 14, 16, 8, 0, 0, 0,
            0, 0, 14, 16, 2, 0, 0, 0,
            0, 0, 8, 8, 0, 0, 0, 0,
        ];
        let (a, b) = (sixteenths(&a), sixteenths(&b));
        assert!(!striped(&a, &b, 0.075, 8));
        assert_eq!(step(&a, &b, SPREAD, Some(8), &mut vec![]), None);
        // Square's first candidate from the same glyph is striped and a step: each +ε column
        // lifts its ground, each −ε column lowers its ink (the ground clips at 0 and has no
        // room to move).
        let signs = [1.0f32, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0];
        let v: Vec<f32> = (0..64)
            .map(|i| (a[i] + 0.125 * signs[i % 8]).clamp(0.0, 1.0))
            .collect();
        assert!(striped(&a, &v, 0.0375, 8));
        assert!(step(&a, &v, SPREAD, Some(8), &mut vec![]).is_some());
    }

    #[test]
    fn two_renderings_of_a_glyph_on_the_grid_are_not_a_step_but_a_search_on_it_is() {
        // Held out 9's cheque reader (seed 9901): one handwritten 8 on two cheques, in sixteenths.
        // Its strokes thickened here and thinned there by 3, 4 and 5 sixteenths: within the
        // step's band of 4/16, an L∞ step of 0.25 on 13 features by the numbers.
        #[rustfmt::skip]
        let a: [u8; 64] = [
            0, 0, 0, 1, 4, 0, 0, 0,
            0, 0, 1, 10, 12, 3, 0, 0,
            0, 0, 11, 8, 10, 12, 2, 0,
            0, 0, 12, 11, 9, 0, 0, 0,
            0, 0, 0, 7, 13, 12, 1, 0,
            0, 0, 9, 5, 8, 11, 3, 0,
            0, 0, 3, 12, 14, 5, 0, 0,
            0, 0, 0, 2, 5, 0, 0, 0,
        ];
        #[rustfmt::skip]
        let b: [u8; 64] = [
            0, 0, 0, 5, 3, 0, 0, 0,
            0, 0, 6, 14, 13, 4, 0, 0,
            0, 0, 11, 8, 5, 7, 0, 0,
            0, 0, 10, 14, 8, 1, 0, 0,
            0, 0, 0, 8, 8, 12, 0, 0,
            0, 0, 10, 10, 8, 12, 0, 0,
            0, 0, 2, 12, 9, 1, 0, 0,
            0, 0, 0, 3, 1, 0, 0, 0,
        ];
        let (a, b) = (sixteenths(&a), sixteenths(&b));
        let band = |d: f32| (0.1875..=0.3125).contains(&d);
        assert!(levels_vary(&a, &b, 0.25, band));
        assert_eq!(step(&a, &b, SPREAD, Some(8), &mut vec![]), None);
        // Off the grid (a jitter of 1/100 on every value) the test does not read it.
        let mut rng = Rng::new(31);
        let mut jit =
            |r: &[f32]| -> Vec<f32> { r.iter().map(|v| v + (rng.unit() - 0.5) * 0.01).collect() };
        let (ja, jb) = (jit(&a), jit(&b));
        assert!(!levels_vary(&ja, &jb, 0.25, band));
        // A search from the glyph on its grid moves every unclipped feature by its ε alone (4/16,
        // random signs): a step.
        let mut rng = Rng::new(32);
        let v: Vec<f32> = a
            .iter()
            .map(|x| (x + if rng.unit() < 0.5 { 0.25 } else { -0.25 }).clamp(0.0, 1.0))
            .collect();
        assert!(!levels_vary(&a, &v, 0.25, band));
        assert!(step(&a, &v, SPREAD, Some(8), &mut vec![]).is_some());
        // A search whose ε ball clips its steps moves by varied amounts on a grid of its own
        // (0.03 and 0.04 from sixteenths: multiples of 1/400), not a format's: not excused.
        let mut rng = Rng::new(33);
        let w: Vec<f32> = a
            .iter()
            .map(|x| {
                let m = if rng.unit() < 0.5 { 0.03 } else { 0.04 };
                (x + if rng.unit() < 0.5 { m } else { -m }).clamp(0.0, 1.0)
            })
            .collect();
        let small = |d: f32| (0.026..=0.044).contains(&d);
        assert!(!levels_vary(&a, &w, 0.035, small));
    }
}
