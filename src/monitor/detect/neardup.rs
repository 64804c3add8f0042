//! One client's near duplicates: its last 128 queries as codes ([`super::space`]), each in a
//! cluster (the cluster of the earliest remembered query it is a near duplicate of, else a new
//! one). What a query-based attack does and a benign client rarely does:
//!
//! - **many distinct variants of one input** (a cluster's distinct members; exact re-sends
//!   are not new queries and do not count);
//! - **variants moving toward the decision boundary** (members whose answer has another label
//!   than the cluster's first, or a top-1 margin lower by [`DESCENT`] or more);
//! - **a label flip of a confident answer**: a near duplicate of an earlier query that the
//!   model answered confidently gets another label. Small perturbations of inputs a model is
//!   sure about do not change its answer unless they were searched for: this is the moment an
//!   adversarial example is handed out;
//! - **augmentation across many inputs** (JbDA-style extraction): clusters that reached three
//!   distinct members, counted over the window and among the last [`RING`] queries (a
//!   synthetic set makes one such cluster every query or two; a benign client augmenting its
//!   own images at most one every three).
//!
//! **Focus** tells a search from a heavy benign client: a search spends (nearly) every request
//! on its one input, so the requests that added a new variant to the cluster are most of the
//! client's requests since the cluster began ([`NearObs::focused`]; requests of exact
//! re-sends only, as Square re-checking its current best, are not counted); a client that sends, re-sends
//! and augments many images of its own spreads its variants of any one image over its traffic,
//! however long it goes on. The evasion signals read a cluster only while it is focused.
//!
//! State is bounded: the ring, and only the clusters its queries are in.

use super::space::far;
use std::collections::HashMap;

/// Queries remembered per client.
pub const RING: usize = 128;
/// A member's margin this much below its cluster's first answer moves toward the boundary.
pub const DESCENT: f32 = 0.1;
/// Distinct members that make a cluster an augmented base.
const AUGMENTED: u32 = 3;
/// Variants of one input in one request, answered with two labels (each at least twice), that
/// make a batch straddling the decision boundary: the candidates a decision-based attack samples
/// around a point on the boundary (HopSkipJump's gradient estimate, the Boundary attack's
/// orthogonal steps). Augmented copies of a confidently answered image get one label; a batch of
/// consecutive video frames or test-time augmentations holds a handful of rows.
pub const STRADDLE_ROWS: u32 = 12;
/// ... and that are samples around one point: at least [`STRADDLE_NEAR_NUM`]/[`STRADDLE_NEAR_DEN`]
/// of the batch's pairs of variants are near duplicates of each other. A search draws its
/// candidates within a small radius of its current point (HopSkipJump, QEBA, the Boundary
/// attack, NES, NATTACK, ZO-signSGD: every pair near, seen 0.93–1.0); independent renderings of
/// one glyph (a class's whiteboards, many writers, many receipts) chain through the
/// near-duplicate ball, each near some of the others (seen 0.12–0.83).
pub const STRADDLE_NEAR_NUM: u32 = 7;
pub const STRADDLE_NEAR_DEN: u32 = 8;
/// ... and that hold exactly two labels: a search samples around a point on the boundary between
/// its current class and one other (every tight batch of HopSkipJump, QEBA, QFool, NES, NATTACK,
/// blind ZO-signSGD, and all but 1 in 188 of the Boundary attack's, seen); one font's different
/// digits printed alike (a hall's bingo cards, a puzzle's grid) are near duplicates of each
/// other across three to seven labels. The input's cluster straddles the boundary once
/// [`STRADDLE_BATCHES`] requests each sent such a batch: a search straddles again at every step
/// (HopSkipJump at each gradient estimate), one batch of glyphs that happen to fall on two labels
/// does not repeat.
pub const STRADDLE_BATCHES: u32 = 2;
/// ... and that are samples, not renderings: fewer than [`REPEAT_NUM`]/[`REPEAT_DEN`] of the
/// batch's variants after its first repeat an earlier one of it (are nearer to one of the batch's
/// earlier variants than [`REPEAT_CLOSE`] times their mean distance to them, in the codes' space
/// unrounded: [`super::space::Space::distance`]; rounded, a search's late samples within a code step apart look alike). A search's
/// samples are spread evenly around their point: random directions put every pair about the same
/// distance apart. Renderings of a few glyphs come in tight groups: a press camera's folios (every
/// page number's digits, so each digit many times), one font's tiles or flap cards each rendered
/// again and again, two renderings of one glyph apart by the noise and two glyphs by their shapes.
/// Small print makes every glyph a near duplicate of the others and an uncertain model answers
/// them two ways: without this a batch of them straddles as a search's does.
pub const REPEAT_NUM: u32 = 1;
pub const REPEAT_DEN: u32 = 4;
pub const REPEAT_CLOSE: f32 = 0.5;
/// A cluster is focused when at least this many requests added a variant to it, and they are at
/// least [`FOCUS_NUM`]/[`FOCUS_DEN`] of the client's requests since the cluster began.
pub const FOCUS_HITS: u32 = 3;
const FOCUS_NUM: u64 = 3;
const FOCUS_DEN: u64 = 4;

#[derive(Clone, Debug)]
struct Entry {
    hash: u64,
    label: u32,
    margin: f32,
    cluster: u32,
    /// This query made its cluster an augmented base.
    augmented: bool,
    /// A distinct member of its cluster (not an exact re-send).
    distinct: bool,
    /// The client's request it came in (`NearDup::requests` then), and its place in it.
    request: u64,
    row: u32,
}

#[derive(Clone, Debug)]
struct Cluster {
    first_label: u32,
    first_margin: f32,
    distinct: u32,
    descents: u32,
    /// Remembered queries in the cluster; it is forgotten with the last.
    refs: u32,
    /// The client's request that began the cluster, the requests that added a distinct member
    /// to it, and the last of those.
    began: u64,
    hits: u32,
    last_hit: u64,
    /// Mann–Kendall trend of the members' answers to the first label (see [`NearObs::trend`]):
    /// the sum of the signs of (new − earlier) over the pairs compared, and the pairs.
    trend_s: i64,
    trend_pairs: u64,
    /// The client's request that the counts of the cluster's variants sent in one request are
    /// of, those variants, how many of them were answered the first one's label, the first other
    /// label and how many were answered it, and how many neither.
    burst_request: u64,
    burst_rows: u32,
    burst_label: u32,
    burst_same: u32,
    burst_second: Option<u32>,
    burst_other: u32,
    burst_rest: u32,
    /// Pairs of those variants, and the pairs that are near duplicates of each other.
    burst_pairs: u32,
    burst_near: u32,
    /// Those variants that repeat an earlier one of them (see [`REPEAT_NUM`]).
    burst_repeats: u32,
    /// The request's batch straddles the boundary so far (and is counted in `straddles`).
    burst_straddles: bool,
    /// Requests whose batch of variants straddled the boundary: at least [`STRADDLE_ROWS`],
    /// [`STRADDLE_NEAR_NUM`]/[`STRADDLE_NEAR_DEN`] of their pairs near duplicates, exactly two
    /// labels, each at least twice.
    straddles: u32,
}

/// What one query showed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NearObs {
    /// An exact re-send of a remembered query.
    pub exact: bool,
    /// Remembered queries it is a near duplicate of (exact re-sends excluded).
    pub near: u32,
    /// The earlier (label, margin) of a confident answer to a near duplicate that had another
    /// label: a confident flip.
    pub flip: Option<(u32, f32)>,
    /// Its cluster's distinct members and members that moved toward the boundary.
    pub distinct: u32,
    pub descents: u32,
    /// Requests that added a distinct member to its cluster, and the client's requests since
    /// the cluster began (this one included).
    pub hits: u32,
    pub span: u64,
    /// Every request the client sent so far was spent on this input (the cluster began with
    /// its first, and each since added a variant).
    pub whole: bool,
    /// Mann–Kendall z of the cluster's members in the order sent, each member's answer read as
    /// its margin for the cluster's first label (negative when answered another label): about
    /// N(0, 1) for variants made independently of their answers (noise, crops, re-encodings),
    /// strongly negative for a search that keeps the variants that lowered the answer (Square,
    /// SimBA), however many other requests it is interleaved with.
    pub trend: f32,
    /// [`STRADDLE_BATCHES`] requests each sent a batch of its variants straddling the decision
    /// boundary ([`STRADDLE_ROWS`]).
    pub straddled: bool,
}

impl NearObs {
    /// The cluster is what the client is spending its requests on (a search), not one image
    /// among many it sends and varies.
    pub fn focused(&self) -> bool {
        self.hits >= FOCUS_HITS && self.hits as u64 * FOCUS_DEN >= self.span * FOCUS_NUM
    }

    /// Focused, or a client that has sent nothing but variants of this input (a search whose
    /// first candidate already flips the answer: Square's first stripe pattern often does).
    pub fn searching(&self) -> bool {
        self.focused() || (self.whole && self.hits >= 2)
    }
}

#[derive(Clone, Debug)]
pub struct NearDup {
    width: usize,
    codes: Vec<i8>,
    entries: Vec<Entry>,
    /// The slot the next query goes to.
    head: usize,
    clusters: HashMap<u32, Cluster>,
    next_cluster: u32,
    /// Clusters that reached three distinct members (in the window).
    pub augmented: u32,
    /// Of those, the ones whose third member is still among the remembered queries.
    pub recent_augmented: u32,
    /// The client's requests so far that sent something new (a request of exact re-sends
    /// only, as a search re-checking its current best, does not count).
    requests: u64,
    /// The current request has been counted in `requests`.
    counted: bool,
}

impl NearDup {
    pub fn new(width: usize) -> NearDup {
        NearDup {
            width,
            codes: Vec::new(),
            entries: Vec::new(),
            head: 0,
            clusters: HashMap::new(),
            next_cluster: 0,
            augmented: 0,
            recent_augmented: 0,
            requests: 0,
            counted: false,
        }
    }

    /// The rows observed from now on belong to the client's next request.
    pub fn begin_request(&mut self) {
        self.counted = false;
    }

    /// Remembered queries, oldest first (slot indices).
    fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.entries.len();
        let start = if n < RING { 0 } else { self.head };
        (0..n).map(move |i| (start + i) % n.max(1))
    }

    /// [`NearDup::observe_row`] of a request's only row.
    #[cfg(test)]
    pub fn observe(
        &mut self,
        codes: &[i8],
        hash: u64,
        label: u32,
        margin: f32,
        allow: usize,
        confident: f32,
    ) -> NearObs {
        self.observe_row(codes, hash, label, margin, allow, confident, 0, |_| 0.0)
    }

    /// Look a query up, then remember it. `allow`: far features a near duplicate may have;
    /// `confident`: the margin above which an earlier answer counts for a flip; `row`: its place
    /// in its request, and `distance`: its distance to the request's row at a place (only asked
    /// of the request's earlier variants of its input, for [`REPEAT_NUM`]).
    #[allow(clippy::too_many_arguments)]
    pub fn observe_row(
        &mut self,
        codes: &[i8],
        hash: u64,
        label: u32,
        margin: f32,
        allow: usize,
        confident: f32,
        row: u32,
        mut distance: impl FnMut(u32) -> f32,
    ) -> NearObs {
        debug_assert_eq!(codes.len(), self.width);
        let mut obs = NearObs::default();
        let mut cluster = None;
        // Remembered slots this query is a near duplicate of (RING slots).
        let mut near_slots = [0u64; RING / 64];
        for slot in self.slots() {
            let e = &self.entries[slot];
            if e.hash == hash {
                obs.exact = true;
                cluster.get_or_insert(e.cluster);
                continue;
            }
            let c = &self.codes[slot * self.width..(slot + 1) * self.width];
            if far(c, codes, allow) <= allow {
                near_slots[slot / 64] |= 1 << (slot % 64);
                obs.near += 1;
                cluster.get_or_insert(e.cluster);
                if e.label != label
                    && e.margin >= confident
                    && obs.flip.is_none_or(|(_, m)| e.margin > m)
                {
                    obs.flip = Some((e.label, e.margin));
                }
            }
        }
        if !obs.exact && !self.counted {
            self.requests += 1;
            self.counted = true;
        }
        let id = match cluster {
            Some(id) if self.clusters.contains_key(&id) => id,
            _ => {
                let id = self.next_cluster;
                self.next_cluster = self.next_cluster.wrapping_add(1);
                self.clusters.insert(
                    id,
                    Cluster {
                        first_label: label,
                        first_margin: margin,
                        distinct: 0,
                        descents: 0,
                        refs: 0,
                        began: self.requests,
                        hits: 0,
                        last_hit: u64::MAX,
                        trend_s: 0,
                        trend_pairs: 0,
                        burst_request: u64::MAX,
                        burst_rows: 0,
                        burst_label: label,
                        burst_same: 0,
                        burst_second: None,
                        burst_other: 0,
                        burst_rest: 0,
                        burst_pairs: 0,
                        burst_near: 0,
                        burst_repeats: 0,
                        burst_straddles: false,
                        straddles: 0,
                    },
                );
                id
            }
        };
        let first_label = self.clusters.get(&id).map_or(label, |c| c.first_label);
        let value = signed(label, margin, first_label);
        let (mut s_inc, mut pairs) = (0i64, 0u64);
        // This request's earlier variants of the cluster, and those this one is near.
        let (mut burst_pairs, mut burst_near) = (0u32, 0u32);
        // ... and its distances to them (unrounded): their sum and the least.
        let (mut burst_sum, mut burst_min) = (0f32, f32::INFINITY);
        if !obs.exact {
            for slot in self.slots() {
                let e = &self.entries[slot];
                if e.cluster == id && e.distinct {
                    let earlier = signed(e.label, e.margin, first_label);
                    s_inc += order_sign(value, earlier);
                    pairs += 1;
                    if e.request == self.requests {
                        burst_pairs += 1;
                        burst_near += u32::from(near_slots[slot / 64] >> (slot % 64) & 1 == 1);
                        let d = distance(e.row);
                        burst_sum += d;
                        burst_min = burst_min.min(d);
                    }
                }
            }
        }
        let c = self.clusters.get_mut(&id).expect("present");
        let mut augmented = false;
        if !obs.exact {
            c.trend_s += s_inc;
            c.trend_pairs += pairs;
            c.distinct += 1;
            if label != c.first_label || margin <= c.first_margin - DESCENT {
                c.descents += 1;
            }
            if c.last_hit != self.requests {
                c.hits += 1;
                c.last_hit = self.requests;
            }
            if c.burst_request != self.requests {
                c.burst_request = self.requests;
                c.burst_rows = 0;
                c.burst_label = label;
                c.burst_same = 0;
                c.burst_second = None;
                c.burst_other = 0;
                c.burst_rest = 0;
                c.burst_pairs = 0;
                c.burst_near = 0;
                c.burst_repeats = 0;
                c.burst_straddles = false;
            }
            c.burst_rows += 1;
            if label == c.burst_label {
                c.burst_same += 1;
            } else if *c.burst_second.get_or_insert(label) == label {
                c.burst_other += 1;
            } else {
                c.burst_rest += 1;
            }
            c.burst_pairs += burst_pairs;
            c.burst_near += burst_near;
            if burst_pairs > 0 && burst_min < REPEAT_CLOSE * burst_sum / burst_pairs as f32 {
                c.burst_repeats += 1;
            }
            // Judged on the batch so far: a batch that straddled until a third label or a row
            // far from the others arrived is no longer counted.
            let straddles = c.burst_rows >= STRADDLE_ROWS
                && c.burst_same.min(c.burst_other) >= 2
                && c.burst_rest == 0
                && c.burst_near * STRADDLE_NEAR_DEN >= c.burst_pairs * STRADDLE_NEAR_NUM
                && c.burst_repeats * REPEAT_DEN < (c.burst_rows - 1) * REPEAT_NUM;
            if straddles != c.burst_straddles {
                c.burst_straddles = straddles;
                if straddles {
                    c.straddles += 1;
                } else {
                    c.straddles -= 1;
                }
            }
            if c.distinct == AUGMENTED {
                self.augmented += 1;
                self.recent_augmented += 1;
                augmented = true;
            }
        }
        obs.distinct = c.distinct;
        obs.descents = c.descents;
        obs.hits = c.hits;
        obs.span = self.requests.saturating_sub(c.began) + 1;
        obs.whole = c.began <= 1 && c.hits as u64 == obs.span;
        obs.trend = mann_kendall_z(c.trend_s, c.trend_pairs, c.distinct);
        obs.straddled = c.straddles >= STRADDLE_BATCHES;
        c.refs += 1;
        self.remember(
            codes,
            Entry {
                hash,
                label,
                margin,
                cluster: id,
                augmented,
                distinct: !obs.exact,
                request: self.requests,
                row,
            },
        );
        obs
    }

    fn remember(&mut self, codes: &[i8], e: Entry) {
        if self.entries.len() < RING {
            self.entries.push(e);
            self.codes.extend_from_slice(codes);
            self.head = self.entries.len() % RING;
            return;
        }
        let slot = self.head;
        let old = std::mem::replace(&mut self.entries[slot], e);
        if old.augmented {
            self.recent_augmented -= 1;
        }
        if let Some(c) = self.clusters.get_mut(&old.cluster) {
            c.refs -= 1;
            if c.refs == 0 {
                self.clusters.remove(&old.cluster);
            }
        }
        self.codes[slot * self.width..(slot + 1) * self.width].copy_from_slice(codes);
        self.head = (slot + 1) % RING;
    }

    /// Start a new window: the augmentation count restarts (the queries stay remembered).
    pub fn new_window(&mut self) {
        self.augmented = 0;
    }
}

/// An answer as a value on one axis: the margin for `first` (the cluster's first label),
/// negated when another label won.
pub(super) fn signed(label: u32, margin: f32, first: u32) -> f32 {
    if label == first { margin } else { -margin }
}

/// A Mann–Kendall term: 1 when `later` is above `earlier`, −1 below, 0 tied (or not comparable).
pub(super) fn order_sign(later: f32, earlier: f32) -> i64 {
    match later.partial_cmp(&earlier) {
        Some(std::cmp::Ordering::Greater) => 1,
        Some(std::cmp::Ordering::Less) => -1,
        _ => 0,
    }
}

/// Mann–Kendall z from the sum of signs `s` over `pairs` compared pairs of `n` members: under no
/// trend S has mean 0 and, with every pair compared, variance n(n−1)(2n+5)/18, i.e. pairs ×
/// (2n+5)/9; a cluster that outlived some of its members compared fewer pairs, scaled alike.
/// Continuity-corrected; 0 below 3 members.
pub(super) fn mann_kendall_z(s: i64, pairs: u64, n: u32) -> f32 {
    if n < 3 || pairs == 0 {
        return 0.0;
    }
    let var = pairs as f64 * (2.0 * f64::from(n) + 5.0) / 9.0;
    let s = s as f64;
    let corrected = if s > 0.0 {
        s - 1.0
    } else if s < 0.0 {
        s + 1.0
    } else {
        0.0
    };
    (corrected / var.sqrt()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rng: &mut crate::util::Rng) -> Vec<i8> {
        (0..64)
            .map(|_| ((rng.next_u64() % 200) as i16 - 100) as i8)
            .collect()
    }

    /// `base` with feature `k` (mod 64) two codes up: every two such variants are near.
    fn variant(base: &[i8], k: u64) -> Vec<i8> {
        let mut v = base.to_vec();
        v[(k % 64) as usize] = v[(k % 64) as usize].saturating_add(2);
        v
    }

    #[test]
    fn distinct_variants_grow_a_cluster_and_exact_re_sends_do_not() {
        let mut rng = crate::util::Rng::new(1);
        let mut n = NearDup::new(64);
        // 50 distinct unrelated rows: all singletons.
        for i in 0..50 {
            let o = n.observe(&row(&mut rng), i, 1, 0.9, 6, 0.5);
            assert_eq!((o.near, o.distinct, o.exact), (0, 1, false));
        }
        let base = row(&mut rng);
        n.observe(&base, 100, 3, 0.9, 6, 0.5);
        // The same row again: exact, not distinct.
        let o = n.observe(&base, 100, 3, 0.9, 6, 0.5);
        assert!(o.exact);
        assert_eq!(o.distinct, 1);
        // Variants (two codes off, below FAR) with the same answer: distinct near duplicates.
        for k in 0..5u64 {
            let mut v = base.clone();
            v[k as usize] = v[k as usize].saturating_add(2);
            let o = n.observe(&v, 200 + k, 3, 0.88, 6, 0.5);
            assert!(!o.exact && o.near >= 1 && o.flip.is_none(), "{o:?}");
            assert_eq!((o.distinct, o.descents), (2 + k as u32, 0));
        }
        assert_eq!(n.augmented, 1);
        // A variant answered with another label: a confident flip (the base was at 0.9).
        let mut v = base.clone();
        v[10] = v[10].saturating_add(3);
        let o = n.observe(&v, 300, 5, 0.2, 6, 0.5);
        assert_eq!(o.flip, Some((3, 0.9)));
        assert_eq!(o.descents, 1);
        // Not confident enough: no flip.
        let o = n.observe(&v, 301, 3, 0.2, 6, 0.95);
        assert_eq!(o.flip, None);
    }

    #[test]
    fn batches_of_variants_answered_with_two_labels_in_two_requests_straddle_the_boundary() {
        let mut rng = crate::util::Rng::new(3);
        let base = row(&mut rng);
        let var = |k: u64| variant(&base, k);
        let two = |k: u64| if k.is_multiple_of(2) { 3 } else { 5 };
        // Test-time augmentation: 16 variants a request, one label.
        let mut n = NearDup::new(64);
        let mut o = NearObs::default();
        for r in 0..2 {
            n.begin_request();
            for k in 16 * r..16 * r + 16 {
                o = n.observe(&var(k), 10 + k, 3, 0.9, 6, 0.5);
            }
        }
        assert!(!o.straddled);
        // Gradient estimation at the boundary: 16 variants a request, half answered another
        // label. One such batch is not yet a search; the second request's is.
        let mut n = NearDup::new(64);
        n.begin_request();
        for k in 0..16 {
            o = n.observe(&var(k), 10 + k, two(k), 0.05, 6, 0.5);
            assert!(!o.straddled, "{k}");
        }
        n.begin_request();
        for k in 16..32 {
            o = n.observe(&var(k), 10 + k, two(k), 0.05, 6, 0.5);
            assert_eq!(o.straddled, k + 1 >= 16 + u64::from(STRADDLE_ROWS), "{k}");
        }
        // The same rows spread one a request: a handful of frames a request never straddles.
        let mut n = NearDup::new(64);
        for k in 0..32 {
            n.begin_request();
            o = n.observe(&var(k), 10 + k, two(k), 0.05, 6, 0.5);
        }
        assert!(!o.straddled);
    }

    #[test]
    fn a_batch_of_renderings_of_a_few_glyphs_does_not_straddle_but_samples_around_a_point_do() {
        // Two requests of 16 near-duplicate variants each, answered two ways. As samples around
        // one point every pair is about as far apart (1.0, jittered); as renderings of four
        // glyphs (a press camera's folio digits: row k shows glyph k mod 4) two renderings of one
        // glyph are 0.1 apart and two glyphs 1.0.
        let mut rng = crate::util::Rng::new(7);
        let base = row(&mut rng);
        let two = |k: u64| if k % 4 < 2 { 3 } else { 5 };
        let straddled = |renderings: bool| {
            let mut n = NearDup::new(64);
            let mut o = NearObs::default();
            for r in 0..2u64 {
                n.begin_request();
                for i in 0..16u64 {
                    let k = 16 * r + i;
                    let far = |j: u32| {
                        if renderings && u64::from(j) % 4 == i % 4 {
                            0.1
                        } else {
                            1.0 + 0.01 * ((u64::from(j) * 7 + i) % 5) as f32
                        }
                    };
                    o = n.observe_row(
                        &variant(&base, k),
                        10 + k,
                        two(k),
                        0.05,
                        6,
                        0.5,
                        i as u32,
                        far,
                    );
                }
            }
            o.straddled
        };
        assert!(straddled(false));
        assert!(!straddled(true));
    }

    #[test]
    fn a_batch_of_variants_answered_with_three_labels_is_glyphs_alike_not_a_search() {
        // One font's different digits, printed alike, are near duplicates of each other: a card
        // of them in each request straddles three labels, request after request.
        let mut rng = crate::util::Rng::new(6);
        let base = row(&mut rng);
        let three = |k: u64| [3, 5, 8][(k % 3) as usize];
        let mut n = NearDup::new(64);
        let mut o = NearObs::default();
        for r in 0..4 {
            n.begin_request();
            for k in 16 * r..16 * r + 16 {
                o = n.observe(&variant(&base, k), 10 + k, three(k), 0.6, 6, 0.5);
            }
        }
        assert_eq!((o.distinct, o.hits), (64, 4), "one cluster: {o:?}");
        assert!(!o.straddled, "{o:?}");
        // A batch is judged on its rows so far: two labels straddle in the second request until
        // a third label arrives in it.
        let mut n = NearDup::new(64);
        for r in 0..2 {
            n.begin_request();
            for k in 16 * r..16 * r + 16 {
                o = n.observe(
                    &variant(&base, k),
                    10 + k,
                    3 + 2 * (k % 2) as u32,
                    0.6,
                    6,
                    0.5,
                );
            }
        }
        assert!(o.straddled, "{o:?}");
        o = n.observe(&variant(&base, 40), 50, 8, 0.6, 6, 0.5);
        assert!(!o.straddled, "{o:?}");
    }

    #[test]
    fn a_batch_whose_variants_chain_rather_than_surround_one_point_does_not_straddle() {
        // Many writers' renderings of one glyph in one request (a class's whiteboards): each is
        // a near duplicate of the ones drawn most like it, not of all of them; two labels. A
        // chain: row k moves 8 features by 5 codes a step, so only neighbours are near.
        let mut rng = crate::util::Rng::new(4);
        let base = row(&mut rng);
        let chain = |k: u64| {
            let mut v = base.clone();
            for f in &mut v[..8] {
                *f = -100 + 5 * k as i8;
            }
            v
        };
        let mut n = NearDup::new(64);
        n.begin_request();
        let mut o = NearObs::default();
        for k in 0..16 {
            let label = if k % 3 == 0 { 5 } else { 3 };
            o = n.observe(&chain(k), 10 + k, label, 0.6, 6, 0.5);
            assert!(k == 0 || o.near >= 1, "{k}: {o:?}");
        }
        assert_eq!(o.distinct, 16, "one cluster: {o:?}");
        assert!(!o.straddled, "{o:?}");
        // The same labels on variants around one point (every pair near), in two requests: a
        // search's batches.
        let mut n = NearDup::new(64);
        for r in 0..2 {
            n.begin_request();
            for k in 16 * r..16 * r + 16 {
                let label = if k % 3 == 0 { 5 } else { 3 };
                o = n.observe(&variant(&base, k), 10 + k, label, 0.6, 6, 0.5);
            }
        }
        assert!(o.straddled, "{o:?}");
    }

    #[test]
    fn focus_counts_requests_that_add_a_variant_against_requests_that_send_something_new() {
        let mut rng = crate::util::Rng::new(5);
        let mut n = NearDup::new(64);
        let base = row(&mut rng);
        let var = |k: u64| variant(&base, k);
        n.begin_request();
        n.observe(&base, 1, 0, 0.9, 6, 0.5);
        // Three variants in one request: one request with a variant.
        n.begin_request();
        for k in 0..3 {
            n.observe(&var(k), 10 + k, 0, 0.9, 6, 0.5);
        }
        // A request of exact re-sends only sends nothing new: not counted.
        n.begin_request();
        let o = n.observe(&base, 1, 0, 0.9, 6, 0.5);
        assert!(o.exact);
        assert_eq!((o.hits, o.span, o.whole), (2, 2, true));
        // A request with another input only: the cluster's share drops.
        n.begin_request();
        n.observe(&row(&mut rng), 99, 1, 0.9, 6, 0.5);
        n.begin_request();
        let o = n.observe(&var(5), 15, 0, 0.9, 6, 0.5);
        assert_eq!((o.hits, o.span, o.distinct, o.whole), (3, 4, 5, false));
        assert!(o.focused(), "3 of 4 requests");
        n.begin_request();
        n.observe(&row(&mut rng), 98, 1, 0.9, 6, 0.5);
        n.begin_request();
        let o = n.observe(&var(6), 16, 0, 0.9, 6, 0.5);
        assert_eq!((o.hits, o.span), (4, 6));
        assert!(!o.focused(), "4 of 6 requests");
    }

    #[test]
    fn the_ring_forgets_old_queries_and_their_clusters() {
        let mut rng = crate::util::Rng::new(2);
        let mut n = NearDup::new(64);
        let base = row(&mut rng);
        n.observe(&base, 1, 0, 1.0, 6, 0.5);
        for i in 0..RING as u64 {
            n.observe(&row(&mut rng), 10 + i, 0, 1.0, 6, 0.5);
        }
        assert_eq!(n.entries.len(), RING);
        assert!(n.clusters.len() <= RING);
        // The base has been pushed out: its variant is new.
        let o = n.observe(&base, 2, 0, 1.0, 6, 0.5);
        assert_eq!((o.near, o.distinct), (0, 1));
    }
}
