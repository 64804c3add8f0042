//! Replaying the other replicas' detector observations ([`crate::monitor::state::replicate`])
//! into this replica's detectors: state only, no findings (the replica that answered the
//! request reports what it raised).

use super::*;
use crate::monitor::state::replicate::{Observation, Replicator};

pub(super) fn start(app: &Arc<App>) -> Result<Replicator, String> {
    let weak = Arc::downgrade(app);
    let window = std::time::Duration::from_secs(app.cfg.limits.volume_window_seconds);
    Replicator::start(&app.cfg.state, window, move |o| {
        if let Some(app) = weak.upgrade() {
            replay(&app, o);
        }
    })
}

fn replay(app: &App, o: Observation) {
    if app.features != Some(o.features) {
        if let Some(r) = app.replicator.get() {
            r.stats.rejected.fetch_add(1, Ordering::Relaxed);
        }
        return;
    }
    let rows: Vec<Vec<f32>> = o.rows.chunks(o.features).map(<[f32]>::to_vec).collect();
    let labels: Option<Vec<usize>> = o
        .answers
        .as_ref()
        .map(|(l, _)| l.iter().map(|&v| v as usize).collect());
    let answers = match (&labels, &o.answers) {
        (Some(labels), Some((_, margins))) => Some(Answers { labels, margins }),
        _ => None,
    };
    let now = now_secs(app);
    let window = app.cfg.limits.volume_window_seconds as f64;
    app.clients.with(&o.client, now, |c| {
        c.roll_window(now, window);
        let _ = app
            .engine
            .observe(&mut c.detectors, &o.client, &rows, answers, o.scores);
    });
}
