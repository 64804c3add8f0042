//! The detectors run over every row of a request and the model's answers: one [`Engine`] for
//! the server (the space rows are measured in, the baseline, the cross-client index) and one
//! [`ClientDetectors`] per client (its near duplicates, PRADA state, distinct inputs). What
//! fired comes back as [`Signal`]s, at most one per signal per request (the first row that
//! fired it gives the evidence).

use super::baseline::Baseline;
use super::cross::CrossIndex;
use super::hll::Hll;
use super::neardup::{NearDup, NearObs};
use super::prada::{Prada, Projection};
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

/// One client's detector state: bounded (a ring of 128 queries as codes, PRADA's capped
/// growing set, a 1 KiB HyperLogLog), so it can live in a shared store.
#[derive(Clone, Debug)]
pub struct ClientDetectors {
    pub near: NearDup,
    pub prada: Prada,
    /// Distinct inputs answered in the window.
    pub distinct: Hll,
    /// Score vectors sent in the window.
    pub scores: u64,
}

impl ClientDetectors {
    /// Window counters restart (the remembered queries and PRADA's state stay).
    pub fn new_window(&mut self) {
        self.near.new_window();
        self.distinct.clear();
        self.scores = 0;
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
        Engine {
            strict_allow: space.allow() / 2,
            projection: Projection::new(d, 0x9d5a_11ce),
            cross: Mutex::new(cross),
            baseline,
            space,
            params: params.clone(),
        }
    }

    /// New per-client state.
    pub fn client(&self) -> ClientDetectors {
        ClientDetectors {
            near: NearDup::new(self.space.width()),
            prada: Prada::default(),
            distinct: Hll::default(),
            scores: 0,
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
        let mut cross = self.cross.lock().unwrap_or_else(|p| p.into_inner());
        for (r, row) in rows.iter().enumerate() {
            codes.clear();
            self.space.codes(row, &mut codes);
            let hash = self.space.row_hash(row);
            det.distinct.add(hash);
            if let Some(ratio) = self.baseline.as_ref().and_then(|b| b.ood(row))
                && ratio > p.ood_distance
            {
                fire(Signal {
                    rule: &sig::OOD,
                    message: format!(
                        "the nearest baseline row is {ratio:.1} times farther than baseline rows are from each other (at most)"
                    ),
                    evidence: json!({ "distance_ratio": ratio, "threshold": p.ood_distance }),
                });
            }
            let (label, margin) = match answers {
                Some(a) => (
                    a.labels.get(r).copied().unwrap_or(0),
                    a.margins.get(r).copied().unwrap_or(0.0),
                ),
                None => (0, 0.0),
            };
            let margin = if margin.is_finite() { margin } else { 0.0 };
            let near = det.near.observe(
                &codes,
                hash,
                label as u32,
                margin,
                self.space.allow(),
                p.flip_margin,
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
            self.evasion(&near, &x, popular, label, margin, &mut fire);
            if answers.is_some()
                && let Some(w) =
                    det.prada
                        .observe(&self.projection.apply(row), label, p.extraction_min_queries)
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
        if det.near.augmented >= p.extraction_augmented {
            fire(Signal {
                rule: &sig::EXTRACTION,
                message: format!(
                    "{} inputs each queried in 3 or more distinct near-duplicate variants this window (threshold {}): synthetic augmentation, as Jacobian-based extraction (JbDA) does",
                    det.near.augmented, p.extraction_augmented
                ),
                evidence: json!({ "augmented_inputs": det.near.augmented, "threshold": p.extraction_augmented }),
            });
        }
        let distinct = det.distinct.count().round() as u64;
        if p.extraction_distinct > 0 && distinct >= p.extraction_distinct {
            fire(Signal {
                rule: &sig::EXTRACTION_COVERAGE,
                message: format!(
                    "answers for about {distinct} distinct inputs this window (threshold {})",
                    p.extraction_distinct
                ),
                evidence: json!({ "distinct_inputs": distinct, "threshold": p.extraction_distinct }),
            });
        }
        if scores > 0 {
            det.scores += scores;
            if det.scores > p.harvest_scores {
                fire(Signal {
                    rule: &sig::HARVEST,
                    message: format!(
                        "{} score vectors in the current window (over {})",
                        det.scores, p.harvest_scores
                    ),
                    evidence: json!({ "score_vectors": det.scores }),
                });
            }
        }
        out
    }

    /// The evasion signals of one row: a confident flip (boundary walk), and a growing or
    /// descending cluster (probing). Cross-client evidence only for inputs few clients send,
    /// and for counts only when those clients sent several variants each (a search spread
    /// over keys), not one each (a popular input that every client re-encodes a little).
    fn evasion(
        &self,
        near: &NearObs,
        x: &super::cross::CrossObs,
        popular: bool,
        label: usize,
        margin: f32,
        fire: &mut impl FnMut(Signal),
    ) {
        let p = &self.params;
        // An exact re-send hands out no new answer: it is not evidence.
        if near.exact {
            return;
        }
        let cross_flip = x.flip.filter(|_| !popular);
        if let Some((was, m)) = near.flip {
            fire(Signal {
                rule: &sig::BOUNDARY_WALK,
                message: format!(
                    "a near duplicate of an earlier query answered {was} with margin {m:.2} is answered {label} (margin {margin:.2})"
                ),
                evidence: json!({ "earlier_label": was, "earlier_margin": m, "label": label,
                    "margin": margin, "near_duplicates": near.near, "cross_client": false }),
            });
        } else if let Some((_, was, m)) = cross_flip {
            fire(Signal {
                rule: &sig::BOUNDARY_WALK,
                message: format!(
                    "another client's near duplicate answered {was} with margin {m:.2} is answered {label} (margin {margin:.2}); {} other client(s) sent near duplicates of this input",
                    x.clients
                ),
                evidence: json!({ "earlier_label": was, "earlier_margin": m, "label": label,
                    "margin": margin, "cross_client": true, "other_clients": x.clients }),
            });
        }
        if near.distinct >= p.probing_queries || near.descents >= p.probing_descents {
            fire(Signal {
                rule: &sig::PROBING,
                message: format!(
                    "{} distinct near-duplicate variants of one input from this client, {} of them answered closer to the decision boundary",
                    near.distinct, near.descents
                ),
                evidence: json!({ "variants": near.distinct, "descents": near.descents, "cross_client": false }),
            });
        } else if !popular
            && x.clients >= 1
            && x.distinct + 1 >= p.probing_queries
            && x.distinct + 1 >= 2 * (x.clients + 1)
        {
            fire(Signal {
                rule: &sig::PROBING,
                message: format!(
                    "{} distinct near-duplicate variants of one input from {} clients (an input few clients send)",
                    x.distinct + 1,
                    x.clients + 1
                ),
                evidence: json!({ "variants": x.distinct + 1, "clients": x.clients + 1, "cross_client": true }),
            });
        }
    }
}
