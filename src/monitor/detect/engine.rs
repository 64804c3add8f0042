//! The detectors run over every row of a request and the model's answers: one [`Engine`] for
//! the server (the space rows are measured in, the baseline, the cross-client index) and one
//! [`ClientDetectors`] per client (its near duplicates, PRADA state, distinct inputs). What
//! fired comes back as [`Signal`]s, at most one per signal per request (the first row that
//! fired it gives the evidence).

use super::baseline::Baseline;
use super::basis::{BasisWalk, Dct, Image};
use super::bisect::Bisect;
use super::coverage::Coverage;
use super::cross::CrossIndex;
use super::hll::Hll;
use super::neardup::{NearDup, NearObs};
use super::prada::{Prada, Projection};
use super::select::Selection;
use super::signsteps::SignSteps;
use super::space::Space;
use crate::monitor::config::Detect;
use crate::monitor::rules::signals as sig;
use crate::report::Rule;
use serde_json::{Value, json};
use std::sync::Mutex;

/// A signal that fired on a request.
#[derive(Clone, Debug)]
pub struct Signal {
    pub rule: &'static Rule,
    pub message: String,
    pub evidence: Value,
}

/// What the evasion signals read of a row besides its near duplicates (see `Engine::evasion`):
/// whether many clients send its input, whether the client shows a search's structure, whether
/// it is one of a mask batch's rows, and its answer.
#[derive(Clone, Copy, Debug)]
struct RowContext {
    popular: bool,
    structured: bool,
    masked: bool,
    label: usize,
    margin: f32,
}

/// Requests that added a variant before a confident flip of the input counts (unless the row is
/// an L∞ step), and before answers moving toward the boundary do.
const FLIP_HITS: u32 = 6;
const DESCENT_HITS: u32 = 8;

/// One client's detector state: bounded (a ring of 128 queries as codes, PRADA's capped
/// growing set, a 1 KiB HyperLogLog), so it can live in a shared store.
#[derive(Clone, Debug)]
pub struct ClientDetectors {
    pub near: NearDup,
    pub prada: Prada,
    /// Distinct inputs answered in the window (a noise copy of the previous row is not a new one).
    pub distinct: Hll,
    /// Different inputs answered in the window: those not a near duplicate of an earlier one
    /// (extraction coverage; noise copies left out as for `distinct`).
    pub coverage: Coverage,
    /// Distinct inputs whose score vectors were sent in the window (a re-sent input hands out
    /// nothing new).
    pub scored: Hll,
    /// Rows the client has sent, and the positions of its latest out-of-distribution rows
    /// (at most `detect.ood_rows`).
    pub rows: u64,
    pub ood_recent: RecentRows,
    /// Its previous row, for noise copies; the first row of its current run of noise copies and
    /// how many copies the run has; the sum of the run's rows and whether its centre (their mean,
    /// last measured) was out of distribution (copies::CENTRE_OOD).
    pub prev: Vec<f32>,
    pub run_first: Vec<f32>,
    pub copy_run: u32,
    pub run_sum: Vec<f32>,
    pub run_odd: bool,
    /// Its recent rows for midpoints, each with its depth of nested midpoints.
    pub bisect: Bisect,
    /// Its recent rows for L∞ steps, and the positions of its latest step rows (at most
    /// `detect.sign_steps`).
    pub steps: SignSteps,
    pub steps_recent: RecentRows,
    /// Its recent rows, answers and basis steps for coordinate walks.
    pub basis: BasisWalk,
    /// Its recent rows and answers for answer-driven selection.
    pub select: Selection,
    pub generations: super::generations::Generations,
    /// Its latest one-feature probe batch and the combinations of its probes it sent since.
    pub ablation: super::ablation::Ablation,
    /// Its recent requests' lowest-answered rows and sparse steps (L0 searches).
    pub sparse: super::sparse::SparseWalk,
    /// The client's latest mask batch's values and the requests since
    /// (signsteps::MASK_MEMORY).
    pub masks: Option<(u32, super::signsteps::MaskValues)>,
    /// Its recent population batches' rows and fittest rows, and which were re-sent.
    pub resends: super::resend::Resends,
}

impl ClientDetectors {
    /// Window counters restart (the remembered queries and PRADA's state stay).
    pub fn new_window(&mut self) {
        self.near.new_window();
        self.distinct.clear();
        self.coverage.clear();
        self.scored.clear();
    }
}

/// The positions of a client's latest rows that showed something (an odd input, a midpoint),
/// for signals that need several of them among its last [`RING`](super::neardup::RING) rows.
#[derive(Clone, Debug, Default)]
pub struct RecentRows(std::collections::VecDeque<u64>);

impl RecentRows {
    /// Note row `seq` (the client's row count); when `need` noted rows are among its last RING
    /// rows, how many (the signal fires).
    pub fn note(&mut self, seq: u64, need: u32) -> Option<usize> {
        let need = need as usize;
        self.0.push_back(seq);
        while self.0.len() > need {
            self.0.pop_front();
        }
        self.0.retain(|&s| seq - s < super::neardup::RING as u64);
        (self.0.len() >= need).then_some(self.0.len())
    }
}

/// The answers to a request's rows: labels and top-1 margins, one per row.
#[derive(Clone, Copy, Debug)]
pub struct Answers<'a> {
    pub labels: &'a [usize],
    pub margins: &'a [f32],
}

pub struct Engine {
    space: Space,
    baseline: Option<Baseline>,
    projection: Projection,
    cross: Mutex<CrossIndex>,
    params: Detect,
    /// Far features a cross-client near duplicate may have: half the per-client allowance
    /// (coincidences grow with the traffic of every client, so cross-client matches must be
    /// closer).
    strict_allow: usize,
    /// The layout rows are read in for the DCT of coordinate walks (square images of at most
    /// 128 values, whose compared features are all of them in order).
    image: Option<Image>,
    /// The DCT basis of `image`, for coordinate walks.
    dct: Option<Dct>,
    /// Clients' own `extraction_distinct` (`[clients."…"]`), in place of the default.
    coverage: std::collections::HashMap<String, u64>,
}

impl Engine {
    /// For rows of `d` values.
    pub fn new(d: usize, baseline: Option<Baseline>, params: &Detect, key: [u8; 32]) -> Engine {
        let space = Space::new(
            d,
            baseline.as_ref(),
            params.near_scale,
            params.near_share,
            key,
        );
        let cross = CrossIndex::new(space.width(), params.probing_window, key);
        let image = (space.width() == d).then(|| Image::of(d)).flatten();
        Engine {
            strict_allow: space.allow() / 2,
            image,
            dct: image.map(Dct::new),
            projection: Projection::new(d, 0x9d5a_11ce),
            cross: Mutex::new(cross),
            baseline,
            space,
            params: params.clone(),
            coverage: Default::default(),
        }
    }

    /// Clients whose `extraction_distinct` is their own (`[clients."…"]`).
    pub fn with_coverage_budgets(
        mut self,
        budgets: impl IntoIterator<Item = (String, u64)>,
    ) -> Engine {
        self.coverage = budgets.into_iter().collect();
        self
    }

    /// New per-client state.
    pub fn client(&self) -> ClientDetectors {
        ClientDetectors {
            near: NearDup::new(self.space.width()),
            prada: Prada::default(),
            distinct: Hll::default(),
            coverage: Coverage::default(),
            scored: Hll::default(),
            rows: 0,
            prev: Vec::new(),
            run_first: Vec::new(),
            copy_run: 0,
            run_sum: Vec::new(),
            run_odd: false,
            ood_recent: RecentRows::default(),
            bisect: Bisect::default(),
            steps: SignSteps::default(),
            steps_recent: RecentRows::default(),
            basis: BasisWalk::default(),
            select: Selection::default(),
            generations: Default::default(),
            ablation: Default::default(),
            sparse: Default::default(),
            masks: None,
            resends: Default::default(),
        }
    }

    /// Queries remembered across clients.
    pub fn cross_len(&self) -> usize {
        self.cross.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Run every detector over `rows` of `client` (with the model's answers when it is a
    /// classifier); `scores`: score vectors sent back.
    pub fn observe(
        &self,
        det: &mut ClientDetectors,
        client: &str,
        rows: &[Vec<f32>],
        answers: Option<Answers<'_>>,
        scores: u64,
    ) -> Vec<Signal> {
        let p = &self.params;
        let mut out: Vec<Signal> = Vec::new();
        let mut fire = |s: Signal| {
            if !out.iter().any(|o| o.rule.id == s.rule.id) {
                out.push(s);
            }
        };
        let client_hash = xxhash_rust::xxh3::xxh3_64(client.as_bytes());
        let mut codes = Vec::with_capacity(self.space.width());
        let (mut sample_buf, mut scratch) = (Vec::new(), Vec::new());
        // The layout and scale the noise-copy tests read (square images of at most 128 values,
        // with a baseline), and the request's rows for antithetic pairs.
        let copies = self.image.zip(self.baseline.as_ref());
        // The side of a one-channel square image (its compared features are its pixels in
        // order), for the tests that read a row's layout: sign steps and local edits.
        let gray_side = self.image.filter(|i| i.channels == 1).map(|i| i.side);
        // The client's coverage budget (0: never); its different inputs are counted up to it.
        let budget = self
            .coverage
            .get(client)
            .copied()
            .unwrap_or(p.extraction_distinct);
        let mut batch = super::copies::Batch::default();
        // The request's near duplicates (index in the request, row position) — the ones that
        // are odd are read once the request is seen — and whether any of its rows came with a
        // search's structure.
        let mut varied: Vec<(usize, u64)> = Vec::new();
        let mut searched = false;
        let mut cross = self.cross.lock().unwrap_or_else(|p| p.into_inner());
        det.near.begin_request();
        det.select.begin_request();
        det.basis.begin_request();
        let generations = p.selection_z > 0.0 && answers.is_some();
        let sparse = p.sparse_steps > 0 && answers.is_some();
        let ablating = generations && det.ablation.reads(rows.len());
        let remembered = det
            .masks
            .as_mut()
            .map(|(age, _)| {
                *age += 1;
                *age
            })
            .is_some_and(|age| age <= super::signsteps::MASK_MEMORY);
        let masking = p.sign_steps > 0 && (rows.len() >= super::signsteps::MASK_ROWS || remembered);
        // The request's rows as compared values (every feature of rows of at most 128 values, a
        // fixed sample of wider ones: the state and the work stay bounded whatever the row's
        // width), read once before the loop by the tests that look at the request as a whole:
        // applied ablations (so that a search's first combinations count as its structure on
        // their own rows), sparse steps (rows built alone in their request, no sibling a few
        // features off) and mask batches.
        let samples: Vec<Vec<f32>> = if ablating || masking || (sparse && rows.len() >= 2) {
            rows.iter()
                .map(|row| {
                    let mut v = Vec::with_capacity(self.space.width());
                    self.space.sample(row, &mut v);
                    v
                })
                .collect()
        } else {
            Vec::new()
        };
        let ablation: &[Vec<f32>] = if ablating { &samples } else { &[] };
        if generations && let Some(a) = det.ablation.begin_request(ablation) {
            fire(ablation_signal(&a, false));
        }
        if generations {
            det.generations.begin_request();
        }
        if sparse {
            det.sparse.begin_request();
        }
        let alone = if !sparse {
            Vec::new()
        } else if rows.len() < 2 {
            vec![true; rows.len()]
        } else {
            super::sparse::alone(&samples)
        };
        // A batch of masked copies of one input (every feature one of two values, their gaps of
        // many sizes): its rows are no L∞ steps of one another or of the client's earlier masks;
        // nor are a later request's (an explainer's last, smaller batch) whose every value is
        // one of the latest batch's two for the feature.
        let masked = masking
            && match super::signsteps::mask_values(&samples) {
                Some(values) => {
                    det.masks = Some((0, values));
                    true
                }
                None => {
                    remembered
                        && det
                            .masks
                            .as_ref()
                            .is_some_and(|(_, values)| values.holds(&samples))
                }
            };
        // The request's row hashes (re-sent fittest rows), and its rows' codes when it may be a
        // population batch.
        let mut hashes: Vec<u64> = Vec::new();
        let mut batch_codes: Vec<i8> = Vec::new();
        let population_rows = generations && rows.len() >= super::resend::MIN_ROWS;
        for (r, row) in rows.iter().enumerate() {
            codes.clear();
            self.space.codes(row, &mut codes);
            let hash = self.space.row_hash(row);
            if generations {
                hashes.push(hash);
                if population_rows {
                    batch_codes.extend_from_slice(&codes);
                }
            }
            // A noise copy of the previous row, or of the first row of the run of copies it
            // continues, covers the point that run covers, up to copies::COPY_RUN copies in a
            // run (checking the run's first row too keeps a run whole when one pair's noise is
            // not white by chance), while the run's centre is a natural input (copies::
            // CENTRE_OOD, measured every copies::CENTRE_EVERY copies). Only rows the test reads
            // are kept (square images of at most 128 values, with a baseline).
            let copy = match copies {
                Some((image, b)) => {
                    let copy = super::copies::is_noise_copy(&det.prev, row, image, b)
                        || super::copies::is_noise_copy(&det.run_first, row, image, b);
                    det.prev.clear();
                    det.prev.extend_from_slice(row);
                    if copy {
                        det.copy_run = det.copy_run.saturating_add(1);
                        for (s, v) in det.run_sum.iter_mut().zip(row) {
                            *s += v;
                        }
                        if det.copy_run.is_multiple_of(super::copies::CENTRE_EVERY) {
                            let n = (det.copy_run + 1) as f32;
                            scratch.clear();
                            scratch.extend(det.run_sum.iter().map(|s| s / n));
                            det.run_odd = b
                                .ood(&scratch)
                                .is_some_and(|o| o > super::copies::CENTRE_OOD);
                        }
                    } else {
                        det.copy_run = 0;
                        det.run_odd = false;
                        det.run_first.clear();
                        det.run_first.extend_from_slice(row);
                        det.run_sum.clear();
                        det.run_sum.extend_from_slice(row);
                    }
                    copy
                }
                None => false,
            };
            if !copy || det.run_odd || det.copy_run > super::copies::COPY_RUN {
                det.distinct.add(hash);
                if budget > 0 {
                    det.coverage
                        .observe(&codes, self.space.allow(), budget, gray_side);
                }
            }
            if scores > 0 {
                det.scored.add(hash);
            }
            det.rows += 1;
            let (label, margin) = match answers {
                Some(a) => (
                    a.labels.get(r).copied().unwrap_or(0),
                    a.margins.get(r).copied().unwrap_or(0.0),
                ),
                None => (0, 0.0),
            };
            let margin = if margin.is_finite() { margin } else { 0.0 };
            let near = det.near.observe_row(
                &codes,
                hash,
                label as u32,
                margin,
                self.space.allow(),
                p.flip_margin,
                r as u32,
                |j| {
                    rows.get(j as usize)
                        .map_or(f32::INFINITY, |e| self.space.distance(e, row))
                },
            );
            let x = cross.observe(
                &codes,
                client_hash,
                hash,
                label as u32,
                margin,
                self.strict_allow,
                p.flip_margin,
            );
            let popular = x.clients + 1 > p.popular_clients;
            // Odd inputs that the client varies: an attack started from noise or another odd
            // point walks from it in near duplicates. One-off odd inputs (crops, tiles of wider
            // images, blank frames, augmentations) are the deployment's drift, not a search, and
            // one odd row is not a pattern: the signal needs `ood_rows` odd near duplicates among
            // the client's last RING rows, read once the request is seen (below).
            if !near.exact && near.near > 0 {
                varied.push((r, det.rows));
            }
            let selecting = p.selection_z > 0.0 && answers.is_some();
            // The row's compared values: already read when a request-wide test read them.
            let sample: &[f32] = match samples.get(r) {
                Some(v) => v,
                None => {
                    sample_buf.clear();
                    self.space.sample(row, &mut sample_buf);
                    &sample_buf
                }
            };
            if sparse {
                det.sparse
                    .observe(sample, alone[r], label as u32, margin, gray_side);
            }
            let step = if p.sign_steps > 0 && !near.exact {
                det.steps
                    .observe_image(sample, self.space.median_spread(), gray_side, &mut scratch)
                    .filter(|_| !masked)
            } else {
                None
            };
            let (noise, point) = match copies {
                Some((image, b)) if selecting && !near.exact => {
                    use super::select::Noise;
                    let noise = batch
                        .antithetic(sample, image, b)
                        .map(Noise::Pair)
                        .or_else(|| batch.forward(sample, image, b).map(Noise::Forward));
                    let point = batch.push_star(sample, image, b, super::select::FORWARD_ROWS);
                    (noise, point)
                }
                _ => (None, None),
            };
            if let Some(point) = point {
                let moved = det.select.note_sparse_batch(&point);
                let n = det.select.finite_differences();
                if moved || n >= super::select::FD_SEARCH {
                    fire(Signal {
                        rule: &sig::PROBING,
                        message: format!(
                            "sparse finite differences: {n} of the client's last {} requests each held {} or more rows that each differ from one point of the request in {} to {} scattered features by a step far below the inputs' spacing{} (zeroth-order gradient estimation over random sparse directions, as SZOHT does)",
                            super::select::FD_REQUESTS,
                            super::select::FORWARD_ROWS,
                            super::copies::SPARSE_FORWARD_MIN,
                            super::sparse::max_changed(point.len()),
                            if moved {
                                ", the point of one a few features from an earlier one's (the search moved)"
                            } else {
                                ""
                            }
                        ),
                        evidence: json!({ "finite_difference_requests": n,
                            "of_requests": super::select::FD_REQUESTS, "moved": moved,
                            "cross_client": false }),
                    });
                }
            }
            if selecting && !near.exact && det.select.note_difference(sample, noise) {
                let n = det.select.finite_differences();
                if n >= super::select::FD_SEARCH {
                    fire(Signal {
                        rule: &sig::PROBING,
                        message: format!(
                            "finite differences: {n} of the client's last {} requests each held {} or more rows that differ from another of its rows in one or two features, or pair with one around a third by white noise of the request's one size, or {} or more rows each another of its rows plus white noise of one size far below the inputs' spacing (zeroth-order gradient estimation, as ZOO, NES and ZO-AdaMM do; allow-list explainers that perturb one feature at a time)",
                            super::select::FD_REQUESTS,
                            super::select::FD_ROWS,
                            super::select::FORWARD_ROWS
                        ),
                        evidence: json!({ "finite_difference_requests": n,
                            "of_requests": super::select::FD_REQUESTS, "cross_client": false }),
                    });
                }
            }
            let selected = if selecting && !near.exact {
                det.select
                    .observe(&codes, label as u32, margin, self.space.allow())
                    .filter(|s| {
                        s.z >= p.selection_z
                            && 4 * s.of_improved >= 3 * s.parents
                            && s.chain >= super::select::MIN_CHAIN
                    })
            } else {
                None
            };
            if let Some(s) = &selected {
                det.select.mark_selected();
                fire(Signal {
                    rule: &sig::PROBING,
                    message: format!(
                        "answer-driven search: {} of the {} variants the client built new ones on were answered closer to the decision boundary than the variant they were built on, where {:.0} % of its variants are (z {:.1}): a search keeping what lowered the answer",
                        s.of_improved,
                        s.parents,
                        100.0 * s.improved_share,
                        s.z
                    ),
                    evidence: json!({ "selection_z": s.z, "threshold": p.selection_z,
                        "parents": s.parents, "improved_parents": s.of_improved, "improving_line": s.chain,
                        "improved_share": s.improved_share, "cross_client": false }),
                });
            }
            if generations {
                det.generations
                    .observe(&codes, hash, label as u32, margin, self.space.allow());
            }
            let walk = if p.basis_steps > 0 && answers.is_some() && !near.exact {
                det.basis.observe(
                    det.rows,
                    sample,
                    label as u32,
                    margin,
                    p.basis_steps,
                    self.space.median_spread(),
                    self.dct.as_ref(),
                )
            } else {
                None
            };
            if let Some(w) = &walk {
                fire(Signal {
                    rule: &sig::PROBING,
                    message: format!(
                        "a coordinate walk: {} of the client's last {} rows each differ from an earlier row of its own along one basis direction (a pixel or a DCT coefficient) by one step ({:.3}), both ways, in {} directions, with an improving line of {} (each kept step answered closer to the boundary than the row it was built on): SimBA moves this way",
                        w.steps,
                        super::basis::WINDOW,
                        w.step,
                        w.directions,
                        w.chain
                    ),
                    evidence: json!({ "basis_steps": w.steps, "threshold": p.basis_steps,
                        "of_rows": super::basis::WINDOW, "step": w.step, "directions": w.directions,
                        "improving_line": w.chain, "cross_client": false }),
                });
            }
            // `sign_steps` L∞-step rows among the client's last rows are a search's structure
            // (one by default: Square may succeed at its first candidate). With more, one still
            // is for a flip from a client searching this input (focused on it, or nothing else
            // sent).
            // A step that is not exact (its moves spread as two renderings' do) needs a second.
            let steps = step.as_ref().and_then(|st| {
                let need = if st.exact {
                    p.sign_steps
                } else {
                    p.sign_steps.max(2)
                };
                Some((st, det.steps_recent.note(det.rows, need)?))
            });
            if let Some((st, n)) = steps {
                fire(Signal {
                    rule: &sig::PROBING,
                    message: format!(
                        "an L∞ search: this row differs from one of the client's recent rows by one step ({:.3}) up and down on {} features, {} such rows among its last {} rows (Square, SimBA and sign-gradient attacks move this way)",
                        st.step,
                        st.changed,
                        n,
                        super::neardup::RING
                    ),
                    evidence: json!({ "sign_steps": n, "step": st.step, "changed_features": st.changed,
                            "of_rows": super::neardup::RING, "cross_client": false }),
                });
            }
            let structured = steps.is_some()
                || (step.is_some() && near.searching())
                || det.select.selecting()
                || det.select.differencing()
                || det.ablation.active();
            searched |= structured;
            let context = RowContext {
                popular,
                structured,
                masked,
                label,
                margin,
            };
            self.evasion(&near, &x, context, &mut fire);
            let projected = (answers.is_some()
                && (p.bisect_midpoints > 0 || (!near.exact && near.near == 0)))
                .then(|| self.projection.apply(row));
            if let Some(pr) = projected.as_deref().filter(|_| p.bisect_midpoints > 0)
                && let Some(m) = det
                    .bisect
                    .observe(pr, sample, label as u32, p.bisect_tolerance)
                && m.depth >= p.bisect_midpoints
            {
                fire(Signal {
                    rule: &sig::BOUNDARY_WALK,
                    message: format!(
                        "a binary search for the decision boundary: this row is the midpoint of two of the client's recent queries answered {} and {} (within {:.3} of their distance), {} nested midpoints in its chain (each halving an earlier midpoint's gap)",
                        m.labels.0, m.labels.1, m.offset, m.depth,
                    ),
                    evidence: json!({ "bisection": true, "end_labels": [m.labels.0, m.labels.1],
                            "label": label, "offset": m.offset, "nested_midpoints": m.depth,
                            "cross_client": false }),
                });
            }
            // PRADA reads the inputs that are new to this client: a re-send, a variant of a
            // remembered query (a benign client augmenting its own images) or a noise copy of
            // the previous row is not a fresh point of an extraction set; synthetic augmentation
            // is counted by its own signal below.
            if !near.exact
                && near.near == 0
                && !copy
                && let Some(pr) = projected.as_deref()
                && let Some(w) = det.prada.observe(pr, label, p.extraction_min_queries)
                && w < p.extraction_w
            {
                fire(Signal {
                    rule: &sig::EXTRACTION,
                    message: format!(
                        "PRADA: Shapiro–Wilk W = {w:.3} < {} over the distances between the client's queries ({} distinct queries)",
                        p.extraction_w, det.prada.queries
                    ),
                    evidence: json!({ "shapiro_w": w, "threshold": p.extraction_w, "queries": det.prada.queries }),
                });
            }
        }
        drop(cross);
        if sparse && let Some(w) = det.sparse.end_request(p.sparse_steps as usize) {
            fire(Signal {
                rule: &sig::PROBING,
                message: format!(
                    "a sparse search: {} of the client's last {} requests each held a row that differs in a few scattered features ({} this time; every other value the same) from its lowest-answered recent row, built alone in its request, with that row's label, and one such row was built on another (Sparse-RS, Pixle and BruSLeAttack replace a few pixels of their best input so far, one candidate at a time)",
                    w.steps,
                    super::sparse::WINDOW,
                    w.changed
                ),
                evidence: json!({ "sparse_steps": w.steps, "threshold": p.sparse_steps,
                    "of_requests": super::sparse::WINDOW, "changed_features": w.changed,
                    "cross_client": false }),
            });
        }
        // A search walking from an odd start spends its requests on it, and walks: odd near
        // duplicates count from requests that are at least half of them and that came with a
        // search's structure (the one the evasion signals read: L∞ steps, variants selected by
        // their answers, finite differences, applied ablations). A batch that merely holds some
        // odd inputs among others (a page of scraped crops with a few blank backgrounds, a
        // dataset's outliers) is data, whatever its odd rows resemble; frames of odd inputs
        // (a camera the baseline does not hold, a team's shirts, a test generator's edge
        // cases) vary them without a search's structure: that is the deployment's drift.
        // Distances to the baseline are measured only for such requests.
        let odd: Vec<(u64, f32)> = match &self.baseline {
            Some(b) if searched && 2 * varied.len() >= rows.len() => varied
                .iter()
                .filter_map(|&(r, seq)| Some((seq, b.ood(&rows[r])?)))
                .filter(|&(_, ratio)| ratio > p.ood_distance)
                .collect(),
            _ => Vec::new(),
        };
        if 2 * odd.len() >= rows.len() {
            for &(seq, ratio) in &odd {
                if let Some(n) = det.ood_recent.note(seq, p.ood_rows) {
                    fire(Signal {
                        rule: &sig::OOD,
                        message: format!(
                            "{} of the client's last {} rows are out of distribution and near duplicates of its earlier queries (it varies odd inputs, in requests that are mostly such rows); this one's nearest baseline row is {ratio:.1} times farther than baseline rows are from each other (at most)",
                            n,
                            super::neardup::RING
                        ),
                        evidence: json!({ "distance_ratio": ratio, "threshold": p.ood_distance,
                            "ood_rows": n, "of_rows": super::neardup::RING }),
                    });
                }
            }
        }
        if let Some(a) = answers.filter(|_| generations)
            && let Some(g) = det.ablation.end_request(ablation, a.labels, a.margins)
        {
            fire(ablation_signal(&g, true));
        }
        if let Some(a) = answers.filter(|_| generations) {
            let width = self.space.width();
            let allow = self.space.allow();
            // Its fittest row, read only for a request that may be a population batch.
            let population = (population_rows && batch_codes.len() == rows.len() * width)
                .then(|| super::resend::fittest(a.labels, a.margins))
                .flatten()
                .filter(|&f| {
                    let fit = &batch_codes[f * width..(f + 1) * width];
                    let near = batch_codes
                        .chunks_exact(width)
                        .filter(|c| super::space::far(c, fit, allow) <= allow)
                        .count();
                    2 * near >= rows.len()
                });
            if let Some(x) = det.resends.observe(&hashes, population) {
                fire(Signal {
                    rule: &sig::PROBING,
                    message: format!(
                        "a population search re-sending its fittest candidate: of the client's last {} batches of variants of one input, {} had the variant answered closest to the decision boundary sent again on its own (or among at most a quarter of the batch) within {} requests, where {:.2} were expected by chance (z {:.1}): differential evolution checking its best individual, basin hopping its accepted point",
                        x.batches,
                        x.hits,
                        super::resend::FOLLOW,
                        x.expected,
                        x.z
                    ),
                    evidence: json!({ "resent_fittest": x.hits, "batches": x.batches,
                        "expected": x.expected, "resend_z": x.z,
                        "threshold": super::resend::Z, "cross_client": false }),
                });
            }
        }
        if generations
            && let Some(g) = det.generations.end_request()
            && g.z >= super::generations::Z
        {
            fire(Signal {
                rule: &sig::PROBING,
                message: format!(
                    "generations of a population search: in {:.0} of the client's last {} pairs of consecutive batches, most of the new rows were built on the previous batch's row answered closest to the decision boundary, where {:.1} were expected by chance (z {:.1}): a genetic or evolutionary search keeping its fittest candidate",
                    g.selected, g.pairs, g.expected, g.z
                ),
                evidence: json!({ "selected_generations": g.selected, "pairs": g.pairs,
                    "expected": g.expected, "generation_z": g.z,
                    "threshold": super::generations::Z, "cross_client": false }),
            });
        }
        // A distribution search's iterations: batches of noise around a mean it moves along
        // the answers (NATTACK, evolution strategies).
        if generations
            && p.probing_trend_z > 0.0
            && rows.len() >= super::generations::DRIFT_ROWS
            && let Some(d) = det
                .generations
                .drift(self.space.allow(), population_noise(rows, copies))
            && d.falling(p.probing_trend_z)
        {
            fire(Signal {
                rule: &sig::PROBING,
                message: format!(
                    "a distribution search: {} consecutive batches of noise around one moving centre, answered lower batch after batch (Mann–Kendall z {:.1}, steps z {:.1}): a search moving its population's mean along the answers (NATTACK, evolution strategies)",
                    d.populations, d.z, d.steps_z
                ),
                evidence: json!({ "populations": d.populations, "population_trend_z": d.z, "population_steps_z": d.steps_z,
                    "trend_threshold": -p.probing_trend_z, "cross_client": false }),
            });
        }
        if det.near.recent_augmented >= p.extraction_augmented {
            fire(Signal {
                rule: &sig::EXTRACTION,
                message: format!(
                    "{} inputs reached 3 distinct near-duplicate variants within the client's last {} queries (threshold {}; {} this window): synthetic augmentation, as Jacobian-based extraction (JbDA) does",
                    det.near.recent_augmented,
                    super::neardup::RING,
                    p.extraction_augmented,
                    det.near.augmented
                ),
                evidence: json!({ "augmented_inputs": det.near.recent_augmented, "of_queries": super::neardup::RING,
                    "window_augmented_inputs": det.near.augmented, "threshold": p.extraction_augmented }),
            });
        }
        let covered = det.coverage.count();
        if budget > 0 && covered >= budget {
            let distinct = det.distinct.count().round() as u64;
            fire(Signal {
                rule: &sig::EXTRACTION_COVERAGE,
                message: format!(
                    "answers for {covered} different inputs this window, none a near duplicate of another (threshold {budget}; about {distinct} distinct rows)"
                ),
                evidence: json!({ "different_inputs": covered, "distinct_rows": distinct, "threshold": budget }),
            });
        }
        let scored = if scores > 0 {
            det.scored.count().round() as u64
        } else {
            0
        };
        if scored > p.harvest_scores {
            fire(Signal {
                rule: &sig::HARVEST,
                message: format!(
                    "score vectors for about {scored} distinct inputs in the current window (over {})",
                    p.harvest_scores
                ),
                evidence: json!({ "score_vectors": scored, "distinct_inputs": true }),
            });
        }
        out
    }

    /// The evasion signals of one row: a confident flip (boundary walk; also when the client has
    /// sent nothing but variants of this input), and a growing or
    /// descending cluster (probing), both only with the structure of a search (`structured`: the
    /// row is an L∞ step from a recent one or the client's variants are selected by their
    /// answers; or a request sent a batch of the input's variants around one point straddling the boundary) and
    /// only while the client's cluster is focused (most of
    /// its requests since the cluster began added a variant to it: a search, not a heavy
    /// client varying one of its many images now and then). Cross-client evidence only for
    /// inputs few clients send, a flip only with a focused cluster of this client's own, and
    /// counts only when those clients sent several variants each (a search spread over keys),
    /// not one each (a popular input that every client re-encodes a little), only from a
    /// client spending its requests on the input (focused, or nothing else sent): heavy
    /// clients that each vary a shared image now and then pile up variants across clients
    /// without any of them searching; and only when this row is answered closer to the
    /// boundary than at least half the other clients' variants were, and the variants' answers
    /// fall in the order sent (Mann–Kendall z at or below −`probing_trend_z`): a search spread
    /// over keys lowers the answer as it goes; clients augmenting a shared image, or rendering
    /// one template with their own noise, do not, together (a new variant's rank among
    /// independent ones is uniform: "answered lower than half" holds half the time).
    fn evasion(
        &self,
        near: &NearObs,
        x: &super::cross::CrossObs,
        row: RowContext,
        fire: &mut impl FnMut(Signal),
    ) {
        let RowContext {
            popular,
            structured,
            masked,
            label,
            margin,
        } = row;
        let p = &self.params;
        // An exact re-send hands out no new answer: it is not evidence.
        if near.exact {
            return;
        }
        let focused = near.focused();
        // Many variants of one input, answers moving toward the boundary and flips are also what
        // a video of one scene, an image re-sent while a slider is dragged or a burst of
        // augmented copies (test-time augmentation) show: they count with a search's structure.
        // A flip counts from a row that is an L∞ step from a recent one or of a client selecting
        // by answers, or once more requests went into an input a batch straddled the boundary of
        // (a batch of masked copies straddles it by design: an explainer measures what hiding each
        // part of the input does to the answer).
        let searching =
            structured || (!masked && near.straddled && near.searching() && near.hits >= FLIP_HITS);
        let structured = searching;
        let cross_flip = x.flip.filter(|_| !popular && searching);
        if let Some((was, m)) = near.flip.filter(|_| searching) {
            fire(Signal {
                rule: &sig::BOUNDARY_WALK,
                message: format!(
                    "a near duplicate of an earlier query answered {was} with margin {m:.2} is answered {label} (margin {margin:.2})"
                ),
                evidence: json!({ "earlier_label": was, "earlier_margin": m, "label": label,
                    "margin": margin, "near_duplicates": near.near, "cross_client": false,
                    "requests_with_variants": near.hits, "requests": near.span }),
            });
        } else if let Some((_, was, m)) = cross_flip {
            fire(Signal {
                rule: &sig::BOUNDARY_WALK,
                message: format!(
                    "another client's near duplicate answered {was} with margin {m:.2} is answered {label} (margin {margin:.2}); {} other client(s) sent near duplicates of this input",
                    x.clients
                ),
                evidence: json!({ "earlier_label": was, "earlier_margin": m, "label": label,
                    "margin": margin, "cross_client": true, "other_clients": x.clients,
                    "requests_with_variants": near.hits, "requests": near.span }),
            });
        }
        let trending = structured
            && p.probing_trend_z > 0.0
            && near.distinct >= p.probing_trend_members
            && near.descents >= p.probing_descents
            && near.trend <= -p.probing_trend_z;
        let descending = near.descents >= p.probing_descents && near.hits >= DESCENT_HITS;
        // Many variants alone are also a video stream of one scene or an image re-sent while a
        // slider is dragged: a search's variants move some answer toward the boundary.
        let many = near.distinct >= p.probing_queries && near.descents >= 1;
        if structured && focused && (many || descending) {
            fire(Signal {
                rule: &sig::PROBING,
                message: format!(
                    "{} distinct near-duplicate variants of one input from this client, {} of them answered closer to the decision boundary; {} of the client's {} requests since the first sent a new variant",
                    near.distinct, near.descents, near.hits, near.span
                ),
                evidence: json!({ "variants": near.distinct, "descents": near.descents, "cross_client": false,
                    "requests_with_variants": near.hits, "requests": near.span, "trend_z": near.trend }),
            });
        } else if trending {
            fire(Signal {
                rule: &sig::PROBING,
                message: format!(
                    "{} distinct near-duplicate variants of one input from this client are answered lower in the order sent (Mann–Kendall z {:.1}, {} closer to the decision boundary): a search keeping what lowered the answer, interleaved with {} other requests",
                    near.distinct,
                    near.trend,
                    near.descents,
                    near.span.saturating_sub(u64::from(near.hits))
                ),
                evidence: json!({ "variants": near.distinct, "descents": near.descents, "cross_client": false,
                    "requests_with_variants": near.hits, "requests": near.span, "trend_z": near.trend,
                    "trend_threshold": -p.probing_trend_z }),
            });
        } else if !popular
            && (focused || near.whole)
            && x.clients >= 1
            && x.distinct + 1 >= p.probing_queries
            && x.distinct + 1 >= 2 * (x.clients + 1)
            && 2 * x.higher >= x.distinct
            && p.probing_trend_z > 0.0
            && x.trend(margin) <= -p.probing_trend_z
        {
            let trend = x.trend(margin);
            fire(Signal {
                rule: &sig::PROBING,
                message: format!(
                    "{} distinct near-duplicate variants of one input from {} clients (an input few clients send), answered lower in the order sent (Mann–Kendall z {trend:.1}): a search spread over keys",
                    x.distinct + 1,
                    x.clients + 1
                ),
                evidence: json!({ "variants": x.distinct + 1, "clients": x.clients + 1, "cross_client": true, "labels": x.labels,
                    "answered_higher": x.higher, "trend_z": trend, "trend_threshold": -p.probing_trend_z }),
            });
        }
    }
}

/// The probing signal of applied ablations (`greedy`: a greedy step passed, else the
/// combination test).
fn ablation_signal(a: &super::ablation::Applied, greedy: bool) -> Signal {
    use super::ablation as ab;
    let message = if greedy {
        format!(
            "a greedy sparse search: {} probe batches in a row (rows that each change one feature of one input) were each centred on the previous batch's input with several of its probes applied at once, all of them among the lower half of that batch's answers, or with its lowest-answered probe applied (it kept what lowered the answer and looked again around the result, as LocSearchAdv and EvoBA do)",
            a.chain
        )
    } else {
        format!(
            "applied ablations: {:.0} of the {:.0} combinations of the client's one-feature probes it sent (an input with 2 to {} of the probes' changes at once) used only probes among the lowest-answered {:.0} %, where {:.1} were expected if the combinations did not depend on the answers (z {:.1}): a sparse search building on its best probes, as CornerSearch does (a deletion curve's nested sets are left out)",
            a.low,
            a.combos,
            ab::MAX_CHANGED,
            100.0 * ab::LOW,
            a.expected,
            a.z
        )
    };
    Signal {
        rule: &sig::PROBING,
        message,
        evidence: json!({ "applied_ablations": true, "combinations": a.combos, "low_combinations": a.low,
            "expected_low": a.expected, "ablation_z": a.z, "threshold": ab::Z, "greedy_steps": a.chain,
            "greedy_threshold": ab::CHAIN, "cross_client": false }),
    }
}

/// Whether a request's rows (the first [`super::generations::BATCH`]) are noise around their
/// centre (each feature's median): at least [`super::generations::DRIFT_SHARE`] of them differ
/// from it on more than [`super::generations::DRIFT_DENSE`] of the features and, on square images
/// with a baseline, by white noise (see [`super::copies::white`]). A distribution's sample moves
/// most features (less those clipped at the range's end or at its ε-ball's faces); a batch of one input with one feature
/// masked in each row (a backward selection's step, as sufficient input subsets take; an
/// ablation's probes) differs from its centre in one feature — white by the autocorrelation
/// test, as any one-pixel change is, but not noise. Without the layout only the share is read:
/// the codes' near-duplicate test still applies.
fn population_noise(rows: &[Vec<f32>], copies: Option<(Image, &Baseline)>) -> bool {
    let rows = &rows[..rows.len().min(super::generations::BATCH)];
    let d = rows.first().map_or(0, Vec::len);
    if rows.is_empty() || d == 0 || rows.iter().any(|r| r.len() != d) {
        return false;
    }
    let mut column = Vec::with_capacity(rows.len());
    let centre: Vec<f32> = (0..d)
        .map(|j| {
            column.clear();
            column.extend(rows.iter().map(|r| r[j]));
            let mid = column.len() / 2;
            *column.select_nth_unstable_by(mid, f32::total_cmp).1
        })
        .collect();
    let dense = |r: &[f32]| {
        let moved = r
            .iter()
            .zip(&centre)
            .filter(|(v, c)| (*v - *c).abs() > super::generations::DRIFT_MOVED)
            .count();
        moved as f32 > super::generations::DRIFT_DENSE * d as f32
    };
    let noise = rows
        .iter()
        .filter(|r| {
            dense(r) && copies.is_none_or(|(image, _)| super::copies::white(&centre, r, image))
        })
        .count();
    noise as f32 >= super::generations::DRIFT_SHARE * rows.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    fn engine() -> Engine {
        engine_with(Detect::default())
    }

    fn engine_with(params: Detect) -> Engine {
        let mut rng = Rng::new(40);
        let rows: Vec<Vec<f32>> = (0..200)
            .map(|_| (0..64).map(|_| rng.unit()).collect())
            .collect();
        let b = Baseline::from_rows(&rows).unwrap();
        Engine::new(64, Some(b), &params, [9; 32])
    }

    fn image(rng: &mut Rng) -> Vec<f32> {
        (0..64).map(|_| rng.unit()).collect()
    }

    /// A variant within a third of the near scale (±0.04 against a spread of 0.29 × 0.5).
    fn variant(x: &[f32], rng: &mut Rng) -> Vec<f32> {
        x.iter()
            .map(|v| (v + (rng.unit() - 0.5) * 0.08).clamp(0.0, 1.0))
            .collect()
    }

    /// A vertex of the ε-ball around `x`: every feature moved by +ε or −ε (Square's candidates).
    fn vertex(x: &[f32], eps: f32, rng: &mut Rng) -> Vec<f32> {
        odd_step(x, eps, rng)
            .into_iter()
            .map(|v| v.clamp(0.0, 1.0))
            .collect()
    }

    /// One request of `rows`, each answered (label, margin); the signal ids that fired.
    fn ask(
        e: &Engine,
        d: &mut ClientDetectors,
        rows: &[Vec<f32>],
        ans: &[(usize, f32)],
    ) -> Vec<&'static str> {
        signals(e, d, rows, ans)
            .into_iter()
            .map(|s| s.rule.id)
            .collect()
    }

    /// The signals of one request of client "c", with their evidence.
    fn signals(
        e: &Engine,
        d: &mut ClientDetectors,
        rows: &[Vec<f32>],
        ans: &[(usize, f32)],
    ) -> Vec<Signal> {
        let labels: Vec<usize> = ans.iter().map(|a| a.0).collect();
        let margins: Vec<f32> = ans.iter().map(|a| a.1).collect();
        let a = Answers {
            labels: &labels,
            margins: &margins,
        };
        e.observe(d, "c", rows, Some(a), 0)
    }

    #[test]
    fn a_heavy_client_varying_its_popular_image_now_and_then_is_not_a_search() {
        // 400 requests: every 8th a new variant of one popular image (50 in all), some of them
        // answered with another label or a low margin; the rest other images (and re-sends).
        // Before focus, 8 variants (or 2 descents, or one confident flip) of one input fired
        // whatever the client's volume.
        let e = engine();
        let mut d = e.client();
        let mut rng = Rng::new(1);
        let popular = image(&mut rng);
        let mut fired = vec![];
        let mut others: Vec<Vec<f32>> = vec![];
        for q in 0..400 {
            let (row, ans) = if q % 8 == 0 {
                let flip = q % 24 == 8;
                let low = q % 24 == 16;
                (
                    if q == 0 {
                        popular.clone()
                    } else {
                        variant(&popular, &mut rng)
                    },
                    if flip {
                        (5, 0.3)
                    } else if low {
                        (3, 0.4)
                    } else {
                        (3, 0.95)
                    },
                )
            } else if q % 5 == 0 && !others.is_empty() {
                (others[(q * 7) % others.len()].clone(), (1, 0.9))
            } else {
                let x = image(&mut rng);
                others.push(x.clone());
                (x, (1, 0.9))
            };
            fired.extend(ask(&e, &mut d, &[row], &[ans]));
        }
        fired.retain(|s| *s != sig::OOD.id && *s != sig::EXTRACTION_COVERAGE.id);
        assert!(fired.is_empty(), "{fired:?}");
    }

    /// `client` sends `row` answered `ans`; the signal ids that fired.
    fn ask_as(
        e: &Engine,
        d: &mut ClientDetectors,
        client: &str,
        row: Vec<f32>,
        ans: (usize, f32),
    ) -> Vec<&'static str> {
        let a = Answers {
            labels: &[ans.0],
            margins: &[ans.1],
        };
        e.observe(d, client, &[row], Some(a), 0)
            .into_iter()
            .map(|s| s.rule.id)
            .collect()
    }

    #[test]
    fn heavy_clients_each_varying_a_shared_image_now_and_then_are_not_a_sybil_search() {
        // Six clients (under the popularity bar of 8), each sending 300 requests: every 10th a
        // variant of one shared image, the rest their own images. 180 variants from 6 clients:
        // before the focus gate, the cross-client count fired.
        let e = engine();
        let mut rng = Rng::new(5);
        let shared = image(&mut rng);
        let mut ds: Vec<ClientDetectors> = (0..6).map(|_| e.client()).collect();
        let mut fired = vec![];
        for q in 0..300 {
            for (c, d) in ds.iter_mut().enumerate() {
                let row = if q % 10 == c % 10 {
                    variant(&shared, &mut rng)
                } else {
                    image(&mut rng)
                };
                fired.extend(ask_as(&e, d, &format!("c{c}"), row, (3, 0.9)));
            }
        }
        fired.retain(|s| *s != sig::OOD.id && *s != sig::EXTRACTION_COVERAGE.id);
        assert!(fired.is_empty(), "{fired:?}");
    }

    #[test]
    fn clients_each_sending_a_burst_of_augmented_copies_of_a_shared_image_are_not_a_search() {
        // Five clients (not popular), each a burst of 5 augmented copies (dense noise) of one
        // shared, confidently answered image, then images of its own: 25 variants from 5
        // clients, each client focused on the image during its burst. Before the cross-client
        // count asked for answers closer to the boundary, this fired.
        let e = engine();
        let mut rng = Rng::new(8);
        let shared = image(&mut rng);
        let mut fired = vec![];
        for c in 0..5 {
            let mut d = e.client();
            for q in 0..20 {
                let row = if q < 5 {
                    variant(&shared, &mut rng)
                } else {
                    image(&mut rng)
                };
                let m = 0.99 - 0.004 * rng.unit();
                fired.extend(ask_as(&e, &mut d, &format!("b{c}"), row, (3, m)));
            }
        }
        fired.retain(|s| *s != sig::OOD.id && *s != sig::EXTRACTION_COVERAGE.id);
        assert!(fired.is_empty(), "{fired:?}");
    }

    #[test]
    fn a_search_spread_over_keys_that_send_nothing_else_is_caught() {
        // A search over 5 keys: each key sends only variants of one input (dense noise, not L∞
        // steps), each answered 0.03 lower than the last (as SimBA lowers the answer);
        // `probing_queries` (12) variants from 5 clients reach the count (at least 2 per
        // client), most of them answered higher than the latest.
        let e = engine();
        let mut rng = Rng::new(6);
        let x0 = image(&mut rng);
        let mut ds: Vec<ClientDetectors> = (0..5).map(|_| e.client()).collect();
        let mut first = None;
        for q in 0..20 {
            let row = if q == 0 {
                x0.clone()
            } else {
                variant(&x0, &mut rng)
            };
            let f = ask_as(
                &e,
                &mut ds[q % 5],
                &format!("k{}", q % 5),
                row,
                (3, 0.95 - 0.03 * q as f32),
            );
            if first.is_none() && f.contains(&sig::PROBING.id) {
                first = Some(q + 1);
            }
        }
        assert!(
            first.is_some_and(|q| q <= 15),
            "first cross-client probing at {first:?}"
        );
    }

    #[test]
    fn clients_rendering_one_template_with_their_own_noise_are_not_a_search_over_keys() {
        // Four clients of one app render the same glyph (a template few clients send), each
        // sending nothing else: 40 noisy renderings each, interleaved, each answered at random
        // (the answer does not depend on when it was sent). Without a trend in the order sent
        // there is no search spread over the keys, however many of the others' variants were
        // answered higher than the latest. Checked over 20 seeds; with the trend condition
        // removed, "half answered higher" alone fires (seed 0, at query 17).
        let e = engine();
        for seed in 0..20 {
            let mut rng = Rng::new(900 + seed);
            let x0 = image(&mut rng);
            let mut ds: Vec<ClientDetectors> = (0..4).map(|_| e.client()).collect();
            for q in 0..160 {
                let row = variant(&x0, &mut rng);
                let f = ask_as(
                    &e,
                    &mut ds[q % 4],
                    &format!("m{}", q % 4),
                    row,
                    (8, 0.3 + 0.6 * rng.unit()),
                );
                assert!(
                    !f.contains(&sig::PROBING.id),
                    "seed {seed}: probing at query {}",
                    q + 1
                );
            }
        }
    }

    #[test]
    fn a_genetic_search_is_found_by_its_generations_and_a_batch_of_variants_is_not() {
        // GenAttack's shape through the engine: 6 candidates a request around one image, the
        // elite re-sent as is and the others bred from it (crossover with another candidate,
        // then mutation), answered by a toy model; the generation test alone is read (its
        // evidence), within 12 generations.
        let e = engine();
        let mut rng = Rng::new(41);
        let x0 = image(&mut rng);
        let w: Vec<f32> = (0..64).map(|_| (rng.unit() - 0.5) * 0.4).collect();
        let mut d = e.client();
        let mut pop: Vec<Vec<f32>> = (0..6).map(|_| variant(&x0, &mut rng)).collect();
        let mut found = None;
        for g in 0..12 {
            let ans: Vec<(usize, f32)> = pop.iter().map(|x| toy(&w, &x0, x)).collect();
            let margins: Vec<f32> = ans.iter().map(|a| a.1).collect();
            let out = signals(&e, &mut d, &pop, &ans);
            if found.is_none() && out.iter().any(|s| s.evidence.get("generation_z").is_some()) {
                found = Some(g + 1);
            }
            let best = (0..pop.len())
                .min_by(|&a, &b| margins[a].total_cmp(&margins[b]))
                .unwrap_or(0);
            let elite = pop[best].clone();
            let mut next = vec![elite.clone()];
            while next.len() < 6 {
                let other = &pop[(rng.next_u64() % 6) as usize];
                let child: Vec<f32> = elite
                    .iter()
                    .zip(other)
                    .map(|(a, b)| if rng.unit() < 0.8 { *a } else { *b })
                    .collect();
                next.push(
                    child
                        .iter()
                        .map(|v| (v + (rng.unit() - 0.5) * 0.02).clamp(0.0, 1.0))
                        .collect(),
                );
            }
            pop = next;
        }
        assert!(
            found.is_some_and(|g| g <= 10),
            "first generation alert at {found:?}"
        );
        // The same client shape without selection: each request 6 new variants of the image,
        // answered by the same model, 40 requests: no generation alert.
        let mut d = e.client();
        for _ in 0..40 {
            let rows: Vec<Vec<f32>> = (0..6).map(|_| variant(&x0, &mut rng)).collect();
            let ans: Vec<(usize, f32)> = rows.iter().map(|x| toy(&w, &x0, x)).collect();
            let out = signals(&e, &mut d, &rows, &ans);
            assert!(
                !out.iter().any(|s| s.evidence.get("generation_z").is_some()),
                "{:?}",
                out.iter().map(|s| &s.message).collect::<Vec<_>>()
            );
        }
    }

    /// A toy model's answer to `row`: label 3, its margin falling as the row moves along `w`
    /// away from `x0`.
    fn toy(w: &[f32], x0: &[f32], row: &[f32]) -> (usize, f32) {
        let s: f32 = w
            .iter()
            .zip(row)
            .zip(x0)
            .map(|((w, r), x)| w * (r - x))
            .sum();
        (3, (0.95 - 0.2 * s).clamp(0.0, 1.0))
    }

    /// SimBA against [`toy`]: ±0.05 on one feature at a time, the candidate kept when it lowered
    /// the answer; `k` requests of new images of the client's own between candidates, and (with
    /// `recheck`) the current best re-sent exactly after each candidate. The candidate count at
    /// the first probing (up to 60).
    fn simba(k: usize, recheck: bool, seed: u64) -> (Engine, ClientDetectors, Option<usize>) {
        // Its accumulated ±0.05 moves make L∞ steps and its candidates a coordinate walk too:
        // this reads the selection test alone.
        let e = engine_with(Detect {
            sign_steps: 0,
            basis_steps: 0,
            ..Detect::default()
        });
        let mut d = e.client();
        let mut rng = Rng::new(seed);
        let x0 = image(&mut rng);
        let w: Vec<f32> = (0..64).map(|_| rng.unit() - 0.5).collect();
        let mut best = x0.clone();
        ask(&e, &mut d, std::slice::from_ref(&x0), &[toy(&w, &x0, &x0)]);
        let mut q = 0;
        for j in 0..64 {
            for sign in [1.0, -1.0] {
                let mut c = best.clone();
                c[j] = (c[j] + sign * 0.05).clamp(0.0, 1.0);
                q += 1;
                let a = toy(&w, &x0, &c);
                let f = ask(&e, &mut d, std::slice::from_ref(&c), &[a]);
                if f.contains(&sig::PROBING.id) {
                    return (e, d, Some(q));
                }
                let kept = a.1 < toy(&w, &x0, &best).1;
                if kept {
                    best = c;
                }
                if recheck {
                    ask(
                        &e,
                        &mut d,
                        std::slice::from_ref(&best),
                        &[toy(&w, &x0, &best)],
                    );
                }
                for _ in 0..k {
                    ask(&e, &mut d, &[image(&mut rng)], &[(1, 0.9)]);
                }
                if q == 60 {
                    return (e, d, None);
                }
                if kept {
                    break;
                }
            }
        }
        (e, d, None)
    }

    #[test]
    fn a_search_keeping_what_lowered_the_answer_is_caught() {
        // SimBA re-checking its best exactly after each candidate (not a new query).
        for seed in [2, 3, 4] {
            let (e, mut d, q) = simba(0, true, seed);
            assert!(
                q.is_some_and(|q| (9..=40).contains(&q)),
                "seed {seed}: {q:?}"
            );
            // A flip of a confident answer in that search: the boundary walk.
            let mut rng = Rng::new(seed);
            let x0 = image(&mut rng);
            let f = ask(&e, &mut d, &[variant(&x0, &mut rng)], &[(5, 0.2)]);
            assert!(f.contains(&sig::BOUNDARY_WALK.id), "seed {seed}: {f:?}");
        }
    }

    #[test]
    fn a_search_interleaved_with_other_requests_is_caught() {
        // Two or five other requests between candidates: never focused (1 in 3, 1 in 6); the
        // variants it builds on are still the ones that lowered the answer.
        for (k, seed) in [(2, 11), (5, 12), (2, 13)] {
            let (_, _, q) = simba(k, false, seed);
            assert!(
                q.is_some_and(|q| q <= 40),
                "k = {k}: first probing at {q:?}"
            );
        }
    }

    #[test]
    fn coordinate_wise_finite_differences_are_a_search_noisy_copies_are_not() {
        let e = engine();
        let mut rng = Rng::new(5);
        let x0 = image(&mut rng);
        // ZOO: 16 coordinates a request, x ± h on each, answered the same (h is tiny); it finds
        // nothing to move, and still estimates gradients.
        let mut d = e.client();
        let mut fired = vec![];
        for q in 0..3 {
            let rows: Vec<Vec<f32>> = (0..32)
                .map(|i| {
                    let mut r = x0.clone();
                    r[(q * 16 + i / 2) % 64] += if i % 2 == 0 { 1e-4 } else { -1e-4 };
                    r
                })
                .collect();
            fired = ask(&e, &mut d, &rows, &[(3, 0.95); 32]);
            assert_eq!(fired.is_empty(), q < 2, "request {q}: {fired:?}");
        }
        assert_eq!(fired, [sig::PROBING.id]);
        // Randomised smoothing or test-time noise: 32 noisy copies a request.
        let mut d = e.client();
        for _ in 0..3 {
            let rows: Vec<Vec<f32>> = (0..32).map(|_| variant(&x0, &mut rng)).collect();
            let f = ask(&e, &mut d, &rows, &[(3, 0.95); 32]);
            assert!(f.is_empty(), "{f:?}");
        }
    }

    #[test]
    fn many_variants_answered_ever_closer_to_the_boundary_are_not_a_search_by_themselves() {
        // A video of one scene drifting out of focus: every frame a new variant, each answered a
        // little lower than the last, but each built on the previous frame whatever it was
        // answered. Before round 5 this fired probing at the twelfth frame.
        let e = engine();
        let mut d = e.client();
        let mut rng = Rng::new(2);
        let x0 = image(&mut rng);
        let mut fired = vec![];
        for q in 0..40 {
            let frame = variant(&x0, &mut rng);
            fired.extend(ask(&e, &mut d, &[frame], &[(3, 0.95 - 0.01 * q as f32)]));
        }
        assert!(fired.is_empty(), "{fired:?}");
    }

    #[test]
    fn variants_made_without_looking_at_the_answers_show_no_trend() {
        // A client varying an ambiguous image (answers scattered around the boundary, flips
        // included) every third request, 300 requests: no search, nothing fires.
        let e = engine();
        for seed in 0..20 {
            let mut d = e.client();
            let mut rng = Rng::new(100 + seed);
            let x0 = image(&mut rng);
            let mut fired = vec![];
            for q in 0..300 {
                let (row, ans) = if q % 3 == 0 {
                    let m = rng.unit() * 0.6;
                    (
                        variant(&x0, &mut rng),
                        if rng.unit() < 0.3 { (5, m) } else { (3, m) },
                    )
                } else {
                    (image(&mut rng), (1, 0.9))
                };
                fired.extend(ask(&e, &mut d, &[row], &[ans]));
            }
            fired.retain(|s| *s != sig::OOD.id && *s != sig::EXTRACTION_COVERAGE.id);
            assert!(fired.is_empty(), "seed {seed}: {fired:?}");
        }
    }

    /// An L∞ step from `x`: every feature moved by +ε or −ε, not clamped (odd inputs lie
    /// outside the baseline's range; `vertex` clamps it to [0, 1]).
    fn odd_step(x: &[f32], eps: f32, rng: &mut Rng) -> Vec<f32> {
        x.iter()
            .map(|v| v + if rng.unit() < 0.5 { eps } else { -eps })
            .collect()
    }

    #[test]
    fn a_search_walking_from_an_odd_start_is_out_of_distribution_frames_of_odd_inputs_are_not() {
        let e = engine();
        let mut d = e.client();
        let mut rng = Rng::new(21);
        // Odd rows, each different (within the codes' range: rows past about 8 spreads from the
        // baseline's mean all share the saturated codes).
        let far = |rng: &mut Rng| -> Vec<f32> { (0..64).map(|_| 2.0 + 0.6 * rng.unit()).collect() };
        let vary = |x: &[f32], rng: &mut Rng| -> Vec<f32> {
            x.iter().map(|v| v + (rng.unit() - 0.5) * 0.08).collect()
        };
        // Tiles of a wider image, crops, blank frames: odd, each different, never varied.
        for _ in 0..20 {
            assert!(ask(&e, &mut d, &[far(&mut rng)], &[(1, 0.9)]).is_empty());
        }
        // Frames of one odd input (a camera the baseline does not hold: a player's shirt in
        // every frame, light and folds changing), one request a frame, answered alike: varied,
        // but with no search's structure — the deployment's drift.
        let shirt = far(&mut rng);
        for _ in 0..30 {
            let f = ask(&e, &mut d, &[vary(&shirt, &mut rng)], &[(7, 0.8)]);
            assert!(f.is_empty(), "frames of an odd input: {f:?}");
        }
        // A search walking from an odd start by L∞ steps: its third odd near duplicate fires.
        let mut d = e.client();
        let start = far(&mut rng);
        assert!(ask(&e, &mut d, std::slice::from_ref(&start), &[(1, 0.9)]).is_empty());
        let mut fired = Vec::new();
        for i in 0..3 {
            let f = ask(
                &e,
                &mut d,
                &[odd_step(&start, 0.05, &mut rng)],
                &[(1, 0.8 - 0.1 * i as f32)],
            );
            assert_eq!(f.contains(&sig::OOD.id), i == 2, "step {i}: {f:?}");
            fired.extend(f);
        }
        assert!(fired.contains(&sig::PROBING.id), "{fired:?}");
        // 200 normal rows later, the earlier steps are no longer among the last 128.
        for _ in 0..200 {
            ask(&e, &mut d, &[image(&mut rng)], &[(1, 0.9)]);
        }
        let s2 = far(&mut rng);
        ask(&e, &mut d, std::slice::from_ref(&s2), &[(1, 0.9)]);
        let f = ask(&e, &mut d, &[odd_step(&s2, 0.05, &mut rng)], &[(1, 0.8)]);
        assert!(!f.contains(&sig::OOD.id), "one in the last 128: {f:?}");
    }

    #[test]
    fn combinations_of_the_lowest_one_feature_probes_are_probing() {
        // CornerSearch: the image, every feature set to 0 and to 1 (two requests of 64 rows,
        // features 0..8 answered lowest), then pairs of the best-ranked pixels at 0.
        let e = engine();
        let mut d = e.client();
        let mut rng = Rng::new(23);
        let x = image(&mut rng);
        let mut fired = ask(&e, &mut d, std::slice::from_ref(&x), &[(3, 0.9)]);
        let rows = super::super::ablation::testing::corner_sweep(&x);
        let ans: Vec<(usize, f32)> = (0..rows.len())
            .map(|i| {
                (
                    3,
                    if i / 2 < 8 {
                        0.2
                    } else {
                        0.5 + 0.4 * rng.unit()
                    },
                )
            })
            .collect();
        for (r, a) in rows.chunks(64).zip(ans.chunks(64)) {
            fired.extend(ask(&e, &mut d, r, a));
        }
        assert!(!fired.contains(&sig::PROBING.id), "{fired:?}");
        let pairs: Vec<Vec<f32>> = (0..10)
            .map(|i| {
                let mut r = x.clone();
                r[i % 8] = 0.0;
                r[(i + 1 + i / 8) % 8] = 0.0;
                r
            })
            .collect();
        let f = signals(&e, &mut d, &pairs, &[(3, 0.15); 10]);
        let probing = f.iter().find(|s| s.rule.id == sig::PROBING.id);
        assert!(
            probing.is_some_and(|s| s.evidence["applied_ablations"] == true),
            "{f:?}"
        );
    }

    #[test]
    fn pages_holding_some_odd_look_alikes_among_data_are_not_out_of_distribution() {
        // A scrape filter's pages: 40 images, and 6 blank backgrounds that all look alike
        // (odd, near duplicates of one another), page after page.
        let e = engine();
        let mut rng = Rng::new(22);
        let blank: Vec<f32> = (0..64).map(|_| 2.0 + 0.6 * rng.unit()).collect();
        let vary = |x: &[f32], rng: &mut Rng| -> Vec<f32> {
            x.iter().map(|v| v + (rng.unit() - 0.5) * 0.08).collect()
        };
        let mut d = e.client();
        for _ in 0..10 {
            let mut page: Vec<Vec<f32>> = (0..40).map(|_| image(&mut rng)).collect();
            page.extend((0..6).map(|_| vary(&blank, &mut rng)));
            let f = ask(&e, &mut d, &page, &vec![(1, 0.9); page.len()]);
            assert!(!f.contains(&sig::OOD.id), "{f:?}");
        }
        // L∞ steps from one look-alike as requests of their own are a search walking from an
        // odd start.
        let mut d = e.client();
        let page: Vec<Vec<f32>> = (0..6).map(|_| odd_step(&blank, 0.05, &mut rng)).collect();
        let f = ask(&e, &mut d, &page, &vec![(1, 0.9); page.len()]);
        assert!(f.contains(&sig::OOD.id), "{f:?}");
    }

    #[test]
    fn a_binary_search_for_the_boundary_is_caught_at_its_second_midpoint_interleaved_or_not() {
        // HopSkipJump from a natural start: the attacked image (label 3), an image of another
        // label (5), then midpoints of the bracket, each far from the image at first (no near
        // duplicate, no flip). With k other requests of the client's own between steps.
        for k in [0usize, 3] {
            let e = engine();
            let mut d = e.client();
            let mut rng = Rng::new(30 + k as u64);
            let x = image(&mut rng);
            let start = image(&mut rng);
            let mut fired = vec![];
            let mut steps = vec![(x.clone(), 3usize), (start.clone(), 5)];
            let (mut lo, mut hi) = (x.clone(), start);
            for step in 0..4 {
                let m: Vec<f32> = lo.iter().zip(&hi).map(|(a, b)| 0.5 * (a + b)).collect();
                let l = if step % 2 == 0 { 5 } else { 3 };
                steps.push((m.clone(), l));
                if l == 5 { hi = m } else { lo = m }
            }
            for (q, (row, l)) in steps.into_iter().enumerate() {
                let f = ask(&e, &mut d, &[row], &[(l, 0.6)]);
                fired.push((q, f.contains(&sig::BOUNDARY_WALK.id)));
                for _ in 0..k {
                    ask(&e, &mut d, &[image(&mut rng)], &[(1, 0.9)]);
                }
            }
            let first = fired.iter().find(|(_, b)| *b).map(|(q, _)| *q);
            assert_eq!(first, Some(3), "k = {k}: {fired:?}");
        }
    }

    #[test]
    fn a_stroke_normaliser_whose_blends_meet_midpoints_is_not_a_binary_search() {
        // Each image, its 0.6 blend with a thinned version (another label), then its 0.3 blend
        // (the midpoint of the two): midpoints image after image, none halving an earlier one.
        let e = engine();
        let mut d = e.client();
        let mut rng = Rng::new(12);
        for _ in 0..30 {
            let x = image(&mut rng);
            let thin = image(&mut rng);
            let blend = |w: f32| -> Vec<f32> {
                x.iter()
                    .zip(&thin)
                    .map(|(p, q)| (1.0 - w) * p + w * q)
                    .collect()
            };
            let f = ask(
                &e,
                &mut d,
                &[x.clone(), blend(0.6), blend(0.3)],
                &[(8, 0.9), (7, 0.6), (8, 0.7)],
            );
            assert!(!f.contains(&sig::BOUNDARY_WALK.id), "{f:?}");
        }
    }

    /// A client's traffic before a step: 4 other images, `x0` (answered 3), 4 others; none fires.
    fn among_other_images(e: &Engine, d: &mut ClientDetectors, x0: &[f32], rng: &mut Rng) {
        for _ in 0..4 {
            assert!(ask(e, d, &[image(rng)], &[(1, 0.9)]).is_empty());
        }
        assert!(ask(e, d, &[x0.to_vec()], &[(3, 0.9)]).is_empty());
        for _ in 0..4 {
            assert!(ask(e, d, &[image(rng)], &[(1, 0.9)]).is_empty());
        }
    }

    #[test]
    fn with_two_sign_steps_one_l_inf_step_is_not_a_search_but_a_searching_clients_flip_is() {
        // With `detect.sign_steps = 2`, a client with other traffic: one row an L∞ step from an
        // earlier one fires nothing; a second step within the client's last rows (Square's next
        // candidate) is a search.
        let e = engine_with(Detect {
            sign_steps: 2,
            ..Detect::default()
        });
        let mut d = e.client();
        let mut rng = Rng::new(8);
        let x0 = image(&mut rng);
        among_other_images(&e, &mut d, &x0, &mut rng);
        let f = ask(&e, &mut d, &[vertex(&x0, 0.1, &mut rng)], &[(3, 0.8)]);
        assert!(f.is_empty(), "one step: {f:?}");
        let f = ask(&e, &mut d, &[vertex(&x0, 0.1, &mut rng)], &[(3, 0.7)]);
        assert!(f.contains(&sig::PROBING.id), "two steps: {f:?}");
        // A client that has sent nothing but one input: its first step flipping a confident
        // answer is the search's structure already (Square's first candidate may succeed).
        let mut d = e.client();
        let x1 = image(&mut rng);
        assert!(ask(&e, &mut d, std::slice::from_ref(&x1), &[(3, 0.9)]).is_empty());
        let f = ask(
            &e,
            &mut d,
            &[x1.clone(), vertex(&x1, 0.1, &mut rng)],
            &[(3, 0.9), (8, 0.4)],
        );
        assert!(f.contains(&sig::BOUNDARY_WALK.id), "{f:?}");
    }

    #[test]
    fn a_step_whose_moves_spread_needs_a_second_and_an_exact_one_fires_alone() {
        // Two renderings of one thing can differ by about one amount up and down on many
        // features (a letter written twice in a crossword's cells): each move the step give or
        // take a fifth. One such step among other traffic is no search; a second within the
        // client's last rows is (a learning-rate search keeps stepping). A vertex of the
        // ε-ball (Square's candidate) fires at once.
        let e = engine();
        let mut rng = Rng::new(12);
        let spread = |x: &[f32], rng: &mut Rng| -> Vec<f32> {
            x.iter()
                .map(|v| {
                    let s = if rng.unit() < 0.5 { 0.1 } else { -0.1 };
                    (v + s * (1.0 + 0.4 * (rng.unit() - 0.5))).clamp(0.0, 1.0)
                })
                .collect()
        };
        let mut d = e.client();
        let x0 = image(&mut rng);
        among_other_images(&e, &mut d, &x0, &mut rng);
        let f = ask(&e, &mut d, &[spread(&x0, &mut rng)], &[(3, 0.9)]);
        assert!(f.is_empty(), "one step that spreads: {f:?}");
        let f = ask(&e, &mut d, &[spread(&x0, &mut rng)], &[(3, 0.9)]);
        assert!(f.contains(&sig::PROBING.id), "a second: {f:?}");
        let mut d = e.client();
        let x1 = image(&mut rng);
        for _ in 0..4 {
            assert!(ask(&e, &mut d, &[image(&mut rng)], &[(1, 0.9)]).is_empty());
        }
        assert!(ask(&e, &mut d, std::slice::from_ref(&x1), &[(3, 0.9)]).is_empty());
        let f = ask(&e, &mut d, &[vertex(&x1, 0.1, &mut rng)], &[(3, 0.9)]);
        assert!(f.contains(&sig::PROBING.id), "an exact step: {f:?}");
    }

    #[test]
    fn a_client_whose_only_input_flips_at_its_first_variant_is_caught() {
        // Square's first candidate (stripes of ±ε over the whole image) can succeed at once:
        // the client has sent nothing but this input and its variant, an L∞ step from it. A
        // heavy client's single flip (above) does not fire, nor does a burst of augmented
        // copies (dense noise) whose third flips.
        let e = engine();
        let mut d = e.client();
        let mut rng = Rng::new(4);
        let x0 = image(&mut rng);
        assert!(ask(&e, &mut d, std::slice::from_ref(&x0), &[(3, 0.9)]).is_empty());
        let f = ask(
            &e,
            &mut d,
            &[x0.clone(), vertex(&x0, 0.1, &mut rng)],
            &[(3, 0.9), (8, 0.4)],
        );
        assert!(f.contains(&sig::BOUNDARY_WALK.id), "{f:?}");
        let mut d = e.client();
        let x1 = image(&mut rng);
        let mut fired = ask(&e, &mut d, std::slice::from_ref(&x1), &[(3, 0.9)]);
        fired.extend(ask(&e, &mut d, &[variant(&x1, &mut rng)], &[(3, 0.7)]));
        fired.extend(ask(&e, &mut d, &[variant(&x1, &mut rng)], &[(8, 0.4)]));
        assert!(fired.is_empty(), "augmentation burst: {fired:?}");
        // After another image, the same pattern is no longer the client's whole traffic.
        let mut d = e.client();
        ask(&e, &mut d, &[image(&mut rng)], &[(1, 0.9)]);
        ask(&e, &mut d, std::slice::from_ref(&x0), &[(3, 0.9)]);
        let f = ask(&e, &mut d, &[variant(&x0, &mut rng)], &[(8, 0.4)]);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn augmenting_own_images_is_not_a_synthetic_extraction_set_and_jbda_is() {
        let e = engine();
        // A client with 30 images of its own, 600 queries in requests of 1-4 rows: the images
        // as they are, re-sent, and varied (noise) half the time. Every image soon has 3+
        // variants; before, 20 such images fired `extraction`.
        let mut d = e.client();
        let mut rng = Rng::new(3);
        let own: Vec<Vec<f32>> = (0..30).map(|_| image(&mut rng)).collect();
        let mut fired = vec![];
        let mut q = 0;
        while q < 600 {
            let n = 1 + q % 4;
            let rows: Vec<Vec<f32>> = (0..n)
                .map(|k| {
                    let x = &own[(q * 7 + k * 13) % 30];
                    if rng.unit() < 0.5 {
                        variant(x, &mut rng)
                    } else {
                        x.clone()
                    }
                })
                .collect();
            let ans = vec![(2usize, 0.9f32); n];
            fired.extend(ask(&e, &mut d, &rows, &ans));
            q += n;
        }
        assert!(d.near.augmented >= 20, "{}", d.near.augmented);
        assert!(!fired.contains(&sig::EXTRACTION.id), "{fired:?}");
        // JbDA-style: 125 seeds, then each point stepped, 50 rows a request.
        let mut d = e.client();
        let seeds: Vec<Vec<f32>> = (0..125).map(|_| image(&mut rng)).collect();
        let mut set = seeds.clone();
        let mut fired = vec![];
        for _round in 0..2 {
            let new: Vec<Vec<f32>> = set.iter().map(|x| variant(x, &mut rng)).collect();
            for chunk in set.chunks(50) {
                fired.extend(ask(&e, &mut d, chunk, &vec![(1, 0.8); chunk.len()]));
            }
            set = new;
        }
        for chunk in set.chunks(50) {
            fired.extend(ask(&e, &mut d, chunk, &vec![(1, 0.8); chunk.len()]));
        }
        assert!(fired.contains(&sig::EXTRACTION.id), "{fired:?}");
    }

    #[test]
    fn noise_copies_cover_one_point_and_as_many_distinct_images_fire_coverage() {
        use super::super::copies::testing::{noisy, smooth_image};
        let mut rng = Rng::new(12);
        let base: Vec<Vec<f32>> = (0..300).map(|_| smooth_image(&mut rng, 8)).collect();
        let b = Baseline::from_rows(&base).unwrap();
        let sigma = 0.3 * b.spread[0];
        let params = Detect {
            extraction_distinct: 300,
            ..Detect::default()
        };
        let e = Engine::new(64, Some(b), &params, [9; 32]);
        // Randomized smoothing's prediction: 12 images, each as 48 noisy copies in requests
        // of 16 rows (576 rows).
        let mut d = e.client();
        let mut fired = vec![];
        for _ in 0..12 {
            let x = smooth_image(&mut rng, 8);
            let copies: Vec<Vec<f32>> = (0..48).map(|_| noisy(&x, sigma, &mut rng)).collect();
            for chunk in copies.chunks(16) {
                fired.extend(ask(&e, &mut d, chunk, &vec![(3, 0.9); chunk.len()]));
            }
        }
        assert!(d.distinct.count() < 100.0, "{}", d.distinct.count());
        assert!(!fired.contains(&sig::EXTRACTION_COVERAGE.id), "{fired:?}");
        assert!(!fired.contains(&sig::PROBING.id), "{fired:?}");
        assert!(!fired.contains(&sig::EXTRACTION.id), "{fired:?}");
        // The same number of rows, each a different image (with the same noise on it): the
        // client covers 576 points.
        let mut d = e.client();
        let rows: Vec<Vec<f32>> = (0..576)
            .map(|_| noisy(&smooth_image(&mut rng, 8), sigma, &mut rng))
            .collect();
        let mut fired = vec![];
        for chunk in rows.chunks(16) {
            fired.extend(ask(&e, &mut d, chunk, &vec![(3, 0.9); chunk.len()]));
        }
        assert!(fired.contains(&sig::EXTRACTION_COVERAGE.id), "{fired:?}");
    }

    #[test]
    fn re_reading_a_few_documents_covers_them_once_and_new_inputs_each_count() {
        use super::super::copies::testing::smooth_image;
        let mut rng = Rng::new(17);
        let params = Detect {
            extraction_distinct: 300,
            ..Detect::default()
        };
        let (e, spread) = smooth_engine(&mut rng, params);
        // A busy reader: 60 documents, each read 20 times (1,200 distinct rows) under new light
        // (±4 % contrast, a small offset) and with a speck of dust on one pixel.
        let docs: Vec<Vec<f32>> = (0..60).map(|_| smooth_image(&mut rng, 8)).collect();
        let mut d = e.client();
        let mut fired = vec![];
        for _ in 0..20 {
            let rows: Vec<Vec<f32>> = docs
                .iter()
                .map(|x| {
                    let (gain, offset) =
                        (0.96 + 0.08 * rng.unit(), 0.1 * spread * (rng.unit() - 0.5));
                    let mut y: Vec<f32> = x
                        .iter()
                        .map(|v| (v * gain + offset).clamp(0.0, 1.0))
                        .collect();
                    y[(rng.unit() * 64.0) as usize % 64] = 1.0;
                    y
                })
                .collect();
            for chunk in rows.chunks(15) {
                fired.extend(ask(&e, &mut d, chunk, &vec![(3, 0.9); chunk.len()]));
            }
        }
        assert!(d.distinct.count() > 1000.0, "{}", d.distinct.count());
        assert!(d.coverage.count() <= 60, "{}", d.coverage.count());
        assert!(!fired.contains(&sig::EXTRACTION_COVERAGE.id), "{fired:?}");
        // 330 different images (a quarter of the rows): past the budget.
        let mut d = e.client();
        let rows: Vec<Vec<f32>> = (0..330).map(|_| smooth_image(&mut rng, 8)).collect();
        let mut fired = vec![];
        for chunk in rows.chunks(15) {
            fired.extend(ask(&e, &mut d, chunk, &vec![(3, 0.9); chunk.len()]));
        }
        assert!(
            fired.contains(&sig::EXTRACTION_COVERAGE.id),
            "{fired:?} {}",
            d.coverage.count()
        );
    }

    #[test]
    fn a_client_with_its_own_coverage_budget_is_read_against_it() {
        use super::super::copies::testing::smooth_image;
        let mut rng = Rng::new(14);
        let params = Detect {
            extraction_distinct: 300,
            ..Detect::default()
        };
        let rows: Vec<Vec<f32>> = (0..576).map(|_| smooth_image(&mut rng, 8)).collect();
        let run = |budgets: Vec<(String, u64)>| {
            let mut rng = Rng::new(15);
            let (e, _) = smooth_engine(&mut rng, params.clone());
            let e = e.with_coverage_budgets(budgets);
            let mut d = e.client();
            let mut fired = vec![];
            for chunk in rows.chunks(16) {
                fired.extend(ask(&e, &mut d, chunk, &vec![(3, 0.9); chunk.len()]));
            }
            fired.contains(&sig::EXTRACTION_COVERAGE.id)
        };
        // 576 distinct images: over the default 300, under this client's own 1,000; another
        // client's budget changes nothing for it.
        assert!(run(vec![]));
        assert!(!run(vec![("c".into(), 1000)]));
        assert!(run(vec![("other".into(), 1000)]));
    }

    #[test]
    fn windows_replaced_in_a_few_images_cover_those_images_and_wider_edits_do_not() {
        use super::super::copies::testing::smooth_image;
        let mut rng = Rng::new(18);
        let params = Detect {
            extraction_distinct: 300,
            ..Detect::default()
        };
        let (e, _) = smooth_engine(&mut rng, params);
        // Each image asked alone, then every `h` x `w` window (stride 1) replaced by 2 samples
        // each (its pixels far from the image's).
        let explain = |rows: &mut Vec<Vec<f32>>, x: &[f32], h: usize, w: usize, rng: &mut Rng| {
            for top in 0..=8 - h {
                for left in 0..=8 - w {
                    for _ in 0..2 {
                        let mut y = x.to_vec();
                        for r in top..top + h {
                            for c in left..left + w {
                                let v = &mut y[r * 8 + c];
                                *v = if *v < 0.5 { 0.9 } else { 0.1 } + 0.05 * rng.unit();
                            }
                        }
                        rows.push(y);
                    }
                }
            }
        };
        // Prediction difference analysis (Zintgraf et al. 2017) of 6 images with 3 x 3 and 4 x 4
        // windows, in requests of 64 rows (738 rows).
        let mut rows: Vec<Vec<f32>> = Vec::new();
        for _ in 0..6 {
            let x = smooth_image(&mut rng, 8);
            rows.push(x.clone());
            for k in [3usize, 4] {
                explain(&mut rows, &x, k, k, &mut rng);
            }
        }
        let mut d = e.client();
        let mut fired = vec![];
        for chunk in rows.chunks(64) {
            fired.extend(ask(&e, &mut d, chunk, &vec![(3, 0.9); chunk.len()]));
        }
        assert_eq!(d.coverage.count(), 6);
        assert!(!fired.contains(&sig::EXTRACTION_COVERAGE.id), "{fired:?}");
        // Windows 5 wide reach past a local edit: 10 images' 40 such rows (20 places, 2 samples
        // each, the two near duplicates of each other) cover far more than 10 inputs.
        let mut d = e.client();
        let mut rows: Vec<Vec<f32>> = Vec::new();
        for _ in 0..10 {
            let x = smooth_image(&mut rng, 8);
            rows.push(x.clone());
            explain(&mut rows, &x, 4, 5, &mut rng);
        }
        for chunk in rows.chunks(64) {
            ask(&e, &mut d, chunk, &vec![(3, 0.9); chunk.len()]);
        }
        assert!(d.coverage.count() > 100, "{}", d.coverage.count());
    }

    #[test]
    fn a_distribution_search_is_found_by_its_drift_and_smoothing_is_not() {
        use super::super::copies::testing::{noisy, smooth_image};
        let mut rng = Rng::new(16);
        let (e, spread) = smooth_engine(&mut rng, Detect::default());
        let sigma = 0.15 * spread;
        let x0 = smooth_image(&mut rng, 8);
        let w: Vec<f32> = (0..64).map(|_| rng.unit() - 0.5).collect();
        let answer = |x: &[f32]| -> (usize, f32) {
            let s: f32 = w
                .iter()
                .zip(x)
                .zip(&x0)
                .map(|((w, a), b)| w * (a - b))
                .sum();
            (4, (0.95 - s).clamp(0.05, 1.0))
        };
        // A distribution search from x0: each request the mean and 20 samples around it (`sample`),
        // the mean moved a little along the answers after each; the request its drift was found at.
        let mut search = |sample: &dyn Fn(&[f32], &mut Rng) -> Vec<f32>| {
            let mut d = e.client();
            let mut mean = x0.clone();
            for r in 1..=24 {
                let mut rows = vec![mean.clone()];
                rows.extend((0..20).map(|_| sample(&mean, &mut rng)));
                let ans: Vec<(usize, f32)> = rows.iter().map(|x| answer(x)).collect();
                let fired = signals(&e, &mut d, &rows, &ans);
                if fired.iter().any(|s| {
                    s.rule.id == sig::PROBING.id && s.evidence.get("population_trend_z").is_some()
                }) {
                    return Some(r);
                }
                mean = mean
                    .iter()
                    .zip(&w)
                    .map(|(m, w)| (m + 0.002 * w.signum()).clamp(0.0, 1.0))
                    .collect();
            }
            None
        };
        // NATTACK's shape: noise on every feature.
        let found = search(&|mean, rng| noisy(mean, sigma, rng));
        assert!(found.is_some_and(|r| r <= 16), "{found:?}");
        // An L∞-bounded search whose samples saturate at the ball's faces (TREMBA's decoded
        // perturbations): each sample moves a fifth of the features, the rest stay at the mean.
        let found = search(&|mean, rng| {
            let n = noisy(mean, sigma, rng);
            n.iter()
                .zip(mean)
                .map(|(v, m)| if rng.unit() < 0.2 { *v } else { *m })
                .collect()
        });
        assert!(
            found.is_some_and(|r| r <= 16),
            "saturated samples: {found:?}"
        );
        // Randomized smoothing: one image under fresh noise, 80 requests.
        let mut d = e.client();
        for _ in 0..80 {
            let rows: Vec<Vec<f32>> = (0..21).map(|_| noisy(&x0, sigma, &mut rng)).collect();
            let ans: Vec<(usize, f32)> = rows.iter().map(|x| answer(x)).collect();
            let fired = signals(&e, &mut d, &rows, &ans);
            assert!(
                fired
                    .iter()
                    .all(|s| s.evidence.get("population_trend_z").is_none()),
                "{fired:?}"
            );
        }
    }

    #[test]
    fn a_backward_selection_is_no_distribution_search_and_no_coordinate_walk() {
        use super::super::copies::testing::smooth_image;
        let mut rng = Rng::new(17);
        let (e, _) = smooth_engine(&mut rng, Detect::default());
        // Sufficient input subsets: each request the current input with each remaining pixel
        // masked (to 0) in turn, one row a pixel; the pixel whose masking kept the class's answer
        // highest stays masked. Hiding evidence lowers the answer batch after batch.
        let x0 = smooth_image(&mut rng, 8);
        let w: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
        let total: f32 = w.iter().zip(&x0).map(|(w, x)| w * x).sum();
        let answer = |x: &[f32]| -> (usize, f32) {
            let kept: f32 = w.iter().zip(x).map(|(w, x)| w * x).sum();
            (4, (0.05 + 0.9 * kept / total).clamp(0.01, 1.0))
        };
        let mut d = e.client();
        let mut cur = x0.clone();
        let mut rest: Vec<usize> = (0..64).collect();
        while rest.len() > 8 {
            let rows: Vec<Vec<f32>> = rest
                .iter()
                .map(|&i| {
                    let mut r = cur.clone();
                    r[i] = 0.0;
                    r
                })
                .collect();
            let ans: Vec<(usize, f32)> = rows.iter().map(|x| answer(x)).collect();
            let fired = signals(&e, &mut d, &rows, &ans);
            assert!(
                fired
                    .iter()
                    .all(|s| s.evidence.get("population_trend_z").is_none()
                        && s.evidence.get("basis_steps").is_none()),
                "{} left: {fired:?}",
                rest.len()
            );
            let best = (0..rows.len())
                .max_by(|&a, &b| ans[a].1.total_cmp(&ans[b].1))
                .unwrap();
            cur[rest.remove(best)] = 0.0;
        }
    }

    fn smooth_engine(rng: &mut Rng, params: Detect) -> (Engine, f32) {
        use super::super::copies::testing::smooth_image;
        let base: Vec<Vec<f32>> = (0..300).map(|_| smooth_image(rng, 8)).collect();
        let b = Baseline::from_rows(&base).unwrap();
        let spread = b.spread[0];
        (Engine::new(64, Some(b), &params, [9; 32]), spread)
    }

    /// A new client's state after 600 noise copies of `x` (noise `sigma`), 100 a request.
    fn copies_of(e: &Engine, x: &[f32], sigma: f32, rng: &mut Rng) -> ClientDetectors {
        use super::super::copies::testing::noisy;
        let mut d = e.client();
        let rows: Vec<Vec<f32>> = (0..600).map(|_| noisy(x, sigma, rng)).collect();
        for chunk in rows.chunks(100) {
            ask(e, &mut d, chunk, &vec![(3, 0.9); chunk.len()]);
        }
        d
    }

    #[test]
    fn noise_around_one_point_counts_again_after_a_run_of_copies() {
        use super::super::copies::{COPY_RUN, testing::smooth_image};
        let mut rng = Rng::new(13);
        let (e, spread) = smooth_engine(&mut rng, Detect::default());
        // An evolutionary search's populations: 600 noise copies of one image in a row.
        let x = smooth_image(&mut rng, 8);
        let d = copies_of(&e, &x, 0.3 * spread, &mut rng);
        // The run's first row and every copy after COPY_RUN (HyperLogLog's error is a few %).
        let n = d.distinct.count();
        let want = (600 - COPY_RUN) as f64;
        assert!(
            (n - want).abs() < 0.1 * want,
            "{n} distinct, expected about {want}"
        );
    }

    #[test]
    fn copies_centred_on_no_natural_input_count_and_copies_of_one_input_do_not() {
        use super::super::copies::{COPY_RUN, testing::smooth_image};
        let mut rng = Rng::new(19);
        let (e, spread) = smooth_engine(&mut rng, Detect::default());
        // A data-free extraction's generator, an MLP with no spatial structure: its rows differ
        // from each other by white noise (each one passes as a noise copy of the one before)
        // about a centre of white mush that no baseline image is near.
        let mush: Vec<f32> = (0..64).map(|_| rng.unit()).collect();
        let d = copies_of(&e, &mush, 0.3 * spread, &mut rng);
        assert!(d.copy_run > 500, "not copies: a run of {}", d.copy_run);
        // All but the copies before the run's centre was first measured.
        let odd = d.distinct.count();
        assert!(odd > 0.9 * 600.0, "{odd} distinct of 600");
        // The same noise about a natural input is one point, up to COPY_RUN copies.
        let x = smooth_image(&mut rng, 8);
        let d = copies_of(&e, &x, 0.3 * spread, &mut rng);
        let natural = d.distinct.count();
        let want = (600 - COPY_RUN) as f64;
        assert!(
            (natural - want).abs() < 0.1 * want,
            "{natural} distinct, expected about {want}"
        );
    }

    #[test]
    fn an_antithetic_gradient_estimate_is_a_search_and_smoothing_is_not() {
        use super::super::copies::testing::{gauss, noisy, smooth_image};
        let mut rng = Rng::new(14);
        let (e, spread) = smooth_engine(&mut rng, Detect::default());
        // NES: each request the point and 25 noise directions each way; the point moves by a
        // small sign step between requests.
        let mut d = e.client();
        let mut x = smooth_image(&mut rng, 8);
        let mut fired = vec![];
        let mut at = None;
        for req in 0..6 {
            let us: Vec<Vec<f32>> = (0..25)
                .map(|_| (0..64).map(|_| 0.01 * gauss(&mut rng)).collect())
                .collect();
            let mut rows = vec![x.clone()];
            for sign in [1.0f32, -1.0] {
                rows.extend(us.iter().map(|u| {
                    x.iter()
                        .zip(u)
                        .map(|(v, du)| (v + sign * du).clamp(0.0, 1.0))
                        .collect::<Vec<f32>>()
                }));
            }
            let f = ask(
                &e,
                &mut d,
                &rows,
                &vec![(3, 0.9 - 0.05 * req as f32); rows.len()],
            );
            if at.is_none() && f.contains(&sig::PROBING.id) {
                at = Some(req);
            }
            fired.extend(f);
            for v in x.iter_mut() {
                *v = (*v + if rng.unit() < 0.5 { 0.01 } else { -0.01 }).clamp(0.0, 1.0);
            }
        }
        assert!(
            at.is_some_and(|r| r <= 2),
            "probing first at request {at:?}: {fired:?}"
        );
        // Randomized smoothing of the same image: as many requests of independent copies.
        let mut d = e.client();
        let mut fired = vec![];
        for _ in 0..6 {
            let rows: Vec<Vec<f32>> = std::iter::once(x.clone())
                .chain((0..50).map(|_| noisy(&x, 0.3 * spread, &mut rng)))
                .collect();
            fired.extend(ask(&e, &mut d, &rows, &vec![(3, 0.9); rows.len()]));
        }
        assert!(!fired.contains(&sig::PROBING.id), "{fired:?}");
    }
    #[test]
    fn a_forward_difference_gradient_estimate_is_a_search_and_noise_qa_is_not() {
        use super::super::copies::testing::{gauss, noisy, smooth_image};
        let mut rng = Rng::new(16);
        let (e, spread) = smooth_engine(&mut rng, Detect::default());
        // ZO-AdaMM: each request the iterate and 10 probes x + μu (u on the unit sphere, μ
        // 0.005, clipped to [0, 1]); the iterate moves by a small step between requests.
        let zo = |x: &[f32], rng: &mut Rng| -> Vec<Vec<f32>> {
            let mut rows = vec![x.to_vec()];
            for _ in 0..10 {
                let u: Vec<f32> = (0..64).map(|_| gauss(rng)).collect();
                let n = u.iter().map(|v| v * v).sum::<f32>().sqrt();
                rows.push(
                    x.iter()
                        .zip(&u)
                        .map(|(v, du)| (v + 0.005 * du / n).clamp(0.0, 1.0))
                        .collect(),
                );
            }
            rows
        };
        let mut d = e.client();
        let mut x = smooth_image(&mut rng, 8);
        let mut fired = vec![];
        let mut at = None;
        for req in 0..6 {
            let rows = zo(&x, &mut rng);
            let f = ask(&e, &mut d, &rows, &vec![(3, 0.9); rows.len()]);
            if at.is_none() && f.contains(&sig::PROBING.id) {
                at = Some(req);
            }
            fired.extend(f);
            for v in x.iter_mut() {
                *v = (*v + if rng.unit() < 0.5 { 0.01 } else { -0.01 }).clamp(0.0, 1.0);
            }
        }
        assert_eq!(at, Some(2), "probing first at request {at:?}: {fired:?}");
        // The probes alone, without the iterate (P-RGF sends the iterate on its own): each
        // pair of probes differs by μ(u − v), white too.
        let mut d = e.client();
        let mut fired = vec![];
        for _ in 0..3 {
            let rows = zo(&x, &mut rng)[1..].to_vec();
            fired.extend(ask(&e, &mut d, &rows, &vec![(3, 0.9); rows.len()]));
        }
        assert!(fired.contains(&sig::PROBING.id), "{fired:?}");
        // Noise-robustness QA: each request an image and 10 copies under noise a tenth of the
        // features' spread (sensor noise, one size): copies, but not a derivative's step.
        let mut d = e.client();
        let mut fired = vec![];
        for _ in 0..6 {
            let x = smooth_image(&mut rng, 8);
            let rows: Vec<Vec<f32>> = std::iter::once(x.clone())
                .chain((0..10).map(|_| noisy(&x, 0.1 * spread, &mut rng)))
                .collect();
            fired.extend(ask(&e, &mut d, &rows, &vec![(3, 0.9); rows.len()]));
        }
        assert_eq!(d.select.finite_differences(), 0, "{fired:?}");
        assert!(!fired.contains(&sig::PROBING.id), "{fired:?}");
    }

    #[test]
    fn differential_evolution_checking_its_best_individual_is_found_at_its_second_check() {
        use super::super::copies::testing::smooth_image;
        let mut rng = Rng::new(2027);
        let (e, _) = smooth_engine(&mut rng, Detect::default());
        let x = smooth_image(&mut rng, 8);
        // Generations of 24 candidates, each `x` with two pixels set anew (a one-pixel attack's
        // individuals), answered within a few hundredths of each other (no descent of 0.1: the
        // clusters' tests stay quiet); after each, one row of the generation sent alone: the
        // fittest (a search), or the most confident one (chosen against the answers).
        let run = |fittest: bool, rng: &mut Rng| -> Option<usize> {
            let mut d = e.client();
            for g in 0..6 {
                let rows: Vec<Vec<f32>> = (0..24)
                    .map(|_| {
                        let mut r = x.clone();
                        for _ in 0..2 {
                            r[(rng.unit() * 64.0) as usize % 64] = rng.unit();
                        }
                        r
                    })
                    .collect();
                let ans: Vec<(usize, f32)> =
                    (0..24).map(|_| (3, 0.95 + 0.04 * rng.unit())).collect();
                if ask(&e, &mut d, &rows, &ans).contains(&sig::PROBING.id) {
                    return Some(2 * g);
                }
                let by = |a: &usize, b: &usize| ans[*a].1.total_cmp(&ans[*b].1);
                let pick = if fittest {
                    (0..24).min_by(by)
                } else {
                    (0..24).max_by(by)
                }
                .unwrap();
                let again = ask(&e, &mut d, &[rows[pick].clone()], &[ans[pick]]);
                if again.contains(&sig::PROBING.id) {
                    return Some(2 * g + 1);
                }
            }
            None
        };
        assert_eq!(run(true, &mut rng), Some(3));
        assert_eq!(run(false, &mut rng), None);
    }

    #[test]
    fn a_sparse_zeroth_order_search_padded_among_natural_rows_is_found_at_its_second_request() {
        use super::super::copies::testing::{smooth_image, sparse_probes};
        let mut rng = Rng::new(26);
        let (e, _) = smooth_engine(&mut rng, Detect::default());
        let b = e.baseline.as_ref().unwrap();
        let min_spread = b.spread.iter().copied().fold(f32::INFINITY, f32::min);
        let mu = 0.5 * super::super::copies::SPARSE_FORWARD_RADIUS * b.nn_median() * min_spread;
        // `rows` at random places among as many natural rows.
        let padded = |rows: Vec<Vec<f32>>, rng: &mut Rng| -> Vec<Vec<f32>> {
            let mut out = Vec::new();
            for r in rows {
                out.push(smooth_image(rng, 8));
                if rng.unit() < 0.5 {
                    out.push(smooth_image(rng, 8));
                }
                out.push(r);
            }
            out
        };
        // SZOHT: the iterate and 10 probes `x + μu`, `u` on the unit sphere of 8 random
        // features; then a hard-thresholded step (8 features moved far) and again.
        let probes = |x: &[f32], rng: &mut Rng| sparse_probes(x, mu, 10, 8, rng);
        let mut d = e.client();
        let mut x = smooth_image(&mut rng, 8);
        let mut first = None;
        for req in 0..3 {
            let rows = padded(probes(&x, &mut rng), &mut rng);
            let f = ask(&e, &mut d, &rows, &vec![(3, 0.9); rows.len()]);
            if first.is_none() && f.contains(&sig::PROBING.id) {
                first = Some(req);
            }
            for f in (req..64).step_by(8) {
                x[f] = 1.0 - x[f];
            }
        }
        assert_eq!(first, Some(1));
        // One estimate each around unrelated inputs (a sensitivity check of two images) is
        // two batches, not yet a search.
        let mut d = e.client();
        for _ in 0..2 {
            let x = smooth_image(&mut rng, 8);
            let rows = padded(probes(&x, &mut rng), &mut rng);
            let f = ask(&e, &mut d, &rows, &vec![(3, 0.9); rows.len()]);
            assert!(!f.contains(&sig::PROBING.id), "{f:?}");
        }
        assert_eq!(d.select.finite_differences(), 2);
    }

    #[test]
    fn a_quasi_monte_carlo_design_over_masks_is_not_an_antithetic_gradient_estimate() {
        use super::super::copies::testing::smooth_image;
        let mut rng = Rng::new(15);
        let (e, _) = smooth_engine(&mut rng, Detect::default());
        // Sobol attributions as Xplique sends them: an image under the design's masks, the
        // centre (every cell at ½) first, then masks in pairs around it, M and 1 − M per
        // pixel, at every distance from the centre (a low-discrepancy design fills the cube:
        // one of held out 19's Sobol clients sent pairs of 0.04 to 0.9 of the baseline's median
        // nearest-neighbour distance). Each pair is white (cells drawn independently) and its
        // midpoint is in the request: the shape of NES's x ± σu, but not at one scale.
        let mut d = e.client();
        let mut fired = vec![];
        for _ in 0..6 {
            let x = smooth_image(&mut rng, 8);
            let mut rows = vec![x.iter().map(|v| 0.5 * v).collect::<Vec<f32>>()];
            for _ in 0..25 {
                let reach = 0.35 * (-3.0 * rng.unit()).exp();
                let m: Vec<f32> = (0..64)
                    .map(|_| 0.5 + reach * (2.0 * rng.unit() - 1.0))
                    .collect();
                rows.push(x.iter().zip(&m).map(|(v, m)| v * m).collect());
                rows.push(x.iter().zip(&m).map(|(v, m)| v * (1.0 - m)).collect());
            }
            fired.extend(ask(&e, &mut d, &rows, &vec![(3, 0.9); rows.len()]));
        }
        assert_eq!(d.select.finite_differences(), 0, "{fired:?}");
        assert!(!fired.contains(&sig::PROBING.id), "{fired:?}");
    }
}
