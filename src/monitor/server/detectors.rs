//! The stateful detectors run after inference, on the rows of a request and the model's
//! answers.

use super::*;

/// The stateful detectors, after inference.
pub(super) fn detect(
    app: &App,
    seen: &mut Seen,
    rows: &[Vec<f32>],
    answers: Option<&(Vec<usize>, Vec<f32>)>,
    scores: bool,
    now: f64,
) {
    let d = &app.cfg.detect;
    let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
    let client = seen.client.clone();
    // Probing first (global), then the client's own state.
    let mut near: Option<crate::monitor::detect::Match> = None;
    if let Some(p) = m.probing.as_mut() {
        for row in rows.iter().take(64) {
            let hit = p.observe(row, &client, d.probing_match);
            if hit.near_duplicate
                && near
                    .as_ref()
                    .is_none_or(|n| hit.cluster.near > n.cluster.near)
            {
                near = Some(hit);
            }
        }
    }
    let burst = app.cfg.limits.burst;
    let c = client_state(&mut m, &client, burst, now);
    if let Some(hit) = near
        && hit.cluster.near >= d.probing_queries
    {
        let clients: Vec<Value> = hit
            .cluster
            .clients
            .iter()
            .map(|(c, n)| json!({ "client": c, "near_duplicates": n }))
            .collect();
        seen.fired.push(Fired {
            rule: &sig::PROBING,
            action: app.cfg.action(sig::PROBING.id),
            message: format!(
                "{} near-duplicate queries in one cluster from {} client(s); this query shares {} of 50 fingerprint hashes with an earlier one",
                hit.cluster.near,
                hit.cluster.clients.len(),
                hit.shared
            ),
            evidence: json!({ "cluster_near_duplicates": hit.cluster.near, "shared_hashes": hit.shared, "clients": clients }),
        });
    }
    if let (Some(b), Some(_)) = (&app.baseline, app.features) {
        for row in rows.iter().take(64) {
            let (share, worst) = b.ood(row, d.ood_z);
            if share > d.ood_share {
                seen.fired.push(Fired {
                    rule: &sig::OOD,
                    action: app.cfg.action(sig::OOD.id),
                    message: format!(
                        "{:.0} % of features beyond |z| {} of the baseline (worst |z| {worst:.1})",
                        share * 100.0,
                        d.ood_z
                    ),
                    evidence: json!({ "share": share, "max_z": worst }),
                });
                break;
            }
        }
    }
    if let Some((labels, margins)) = answers {
        for (r, row) in rows.iter().enumerate().take(64) {
            let label = labels.get(r).copied().unwrap_or(0);
            if let Some(proj) = &app.projection {
                let x = proj.apply(row);
                if let Some(w) = c.prada.observe(&x, label, d.extraction_min_queries)
                    && w < d.extraction_w
                {
                    seen.fired.push(Fired {
                        rule: &sig::EXTRACTION,
                        action: app.cfg.action(sig::EXTRACTION.id),
                        message: format!(
                            "Shapiro–Wilk W = {w:.3} < {} over the client's last query distances ({} queries)",
                            d.extraction_w, c.prada.queries
                        ),
                        evidence: json!({ "shapiro_w": w, "threshold": d.extraction_w, "queries": c.prada.queries }),
                    });
                }
            }
            let mg = margins.get(r).copied().unwrap_or(f32::INFINITY);
            let flips = c.walk.observe(label, mg, d.boundary_margin);
            if flips >= d.boundary_flips {
                seen.fired.push(Fired {
                    rule: &sig::BOUNDARY_WALK,
                    action: app.cfg.action(sig::BOUNDARY_WALK.id),
                    message: format!(
                        "{flips} label flips at margins below {} among the client's last 64 queries",
                        d.boundary_margin
                    ),
                    evidence: json!({ "flips": flips, "margin": d.boundary_margin }),
                });
            }
        }
    }
    if scores {
        c.scores += rows.len().max(1) as u64;
        if c.scores > d.harvest_scores {
            seen.fired.push(Fired {
                rule: &sig::HARVEST,
                action: app.cfg.action(sig::HARVEST.id),
                message: format!(
                    "{} score vectors in the current window (over {})",
                    c.scores, d.harvest_scores
                ),
                evidence: json!({ "score_vectors": c.scores }),
            });
        }
    }
    settle_client(app, c, seen, now);
}

/// A classifier's answers per row: the label (the label output, else the arg-max) and the margin
/// of the top probability over the next. `None` without a probabilities output.
pub(super) fn classifier(o: &Outputs) -> Option<(Vec<usize>, Vec<f32>)> {
    let probs = o.probabilities()?;
    let classes = probs.1.get(1).copied().unwrap_or(0).max(0) as usize;
    if classes < 2 {
        return None;
    }
    let rows: Vec<&[f32]> = probs.2.chunks(classes).collect();
    let labels = match o.label() {
        Some(l) if l.2.len() == rows.len() => l.2.iter().map(|&v| v.max(0) as usize).collect(),
        _ => rows
            .iter()
            .map(|p| {
                p.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i)
            })
            .collect(),
    };
    Some((labels, rows.iter().map(|p| margin(p)).collect()))
}

pub(super) fn margin(p: &[f32]) -> f32 {
    let mut top = [f32::NEG_INFINITY; 2];
    for &v in p {
        if v > top[0] {
            top = [v, top[0]];
        } else if v > top[1] {
            top[1] = v;
        }
    }
    top[0] - top[1]
}
