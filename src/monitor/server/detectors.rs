//! The stateful detectors run after inference, on the rows of a request and the model's
//! answers.

use super::*;
use crate::monitor::state::replicate::Observation;

/// The stateful detectors, after inference, over every row of the request; `scores`: whether
/// score vectors went back to the client.
pub(super) fn detect(
    app: &App,
    seen: &mut Seen,
    rows: &[Vec<f32>],
    answers: Option<&(Vec<usize>, Vec<f32>)>,
    scores: bool,
    now: f64,
) {
    let client = seen.client.clone();
    let answers = answers.map(|(labels, margins)| Answers { labels, margins });
    let sent = if scores { rows.len().max(1) as u64 } else { 0 };
    if let (Some(r), Some(features)) = (app.replicator.get(), app.features)
        && !rows.is_empty()
    {
        r.publish(Observation {
            client: client.clone(),
            features,
            rows: rows.concat(),
            answers: answers.map(|a| {
                (
                    a.labels.iter().map(|&l| l as u32).collect(),
                    a.margins.to_vec(),
                )
            }),
            scores: sent,
        });
    }
    app.clients.with(&client, now, |c| {
        let signals = if app.features.is_some() {
            app.engine
                .observe(&mut c.detectors, &client, rows, answers, sent)
        } else {
            app.engine
                .observe(&mut c.detectors, &client, &[], None, sent)
        };
        for s in signals {
            seen.fired.push(Fired {
                action: app.cfg.action(s.rule.id),
                rule: s.rule,
                message: s.message,
                evidence: s.evidence,
            });
        }
        settle_client(app, c, seen, now);
    });
}

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
