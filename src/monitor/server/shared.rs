//! The request path's use of state shared by replicas ([`crate::monitor::state::redis`]): one
//! round trip per request for blocks, rates and the budget, and the failure policy when Redis
//! does not answer.

use super::*;
use crate::monitor::state::redis::{Ask, OnError, Verdict};

/// Seconds between two `monitor/state-unavailable` findings while Redis stays down (every
/// failure is counted in the metrics).
const SIGNAL_EVERY: u64 = 10;

/// Charge the request against the shared state; the refusal, when one applies.
pub(super) async fn charge_shared(
    app: &App,
    seen: &mut Seen,
    queries: usize,
    now: f64,
) -> Option<Response> {
    let shared = app.shared.as_ref()?;
    let l = &app.cfg.limits;
    let ask = Ask {
        rate: l.rate,
        burst: l.burst,
        row_rate: l.row_rate,
        row_burst: l.row_burst,
        rows: queries.max(1) as u64,
        volume: app.cfg.volume(&seen.client),
        window_seconds: l.volume_window_seconds,
        tokens: seen.tokens_asked,
        token_rate: app.cfg.llm.token_rate,
        token_burst: app.cfg.llm.token_burst,
        token_budget: app.cfg.llm.token_budget,
    };
    let refuse = |action: Action, what: &str| {
        (action != Action::Log).then(|| error(StatusCode::TOO_MANY_REQUESTS, what))
    };
    match shared.admit(&seen.client, ask).await {
        Verdict::Ok {
            tokens_ok,
            tokens_used,
            ..
        } => {
            if ask.tokens > 0 {
                seen.shared_tokens = Some((tokens_ok, tokens_used));
            }
            None
        }
        Verdict::Blocked { by, ms } => {
            // Remember it here too: this replica refuses without asking while it lasts.
            let until = now + ms as f64 / 1000.0;
            let id = sig::ALL
                .iter()
                .find(|r| r.id == by)
                .map_or("another replica", |r| r.id);
            app.clients.with(&seen.client, now, |c| {
                if c.blocked_until < until {
                    c.block(id, until);
                }
            });
            Some(error(
                StatusCode::FORBIDDEN,
                &format!(
                    "client blocked by {id} for {:.0} more seconds",
                    ms as f64 / 1000.0
                ),
            ))
        }
        Verdict::Rate => {
            let action = app.cfg.action(sig::RATE.id);
            seen.fired.push(Fired {
                rule: &sig::RATE,
                action,
                message: format!(
                    "over {} requests/s (burst {}) over all replicas",
                    l.rate, l.burst
                ),
                evidence: json!({ "rate": l.rate, "burst": l.burst, "unit": "requests", "scope": "shared" }),
            });
            refuse(action, "rate limit exceeded")
        }
        Verdict::Rows => {
            let action = app.cfg.action(sig::RATE.id);
            seen.fired.push(Fired {
                rule: &sig::RATE,
                action,
                message: format!(
                    "a request of {} rows over {} rows/s (burst {}) over all replicas",
                    ask.rows, l.row_rate, l.row_burst
                ),
                evidence: json!({ "rate": l.row_rate, "burst": l.row_burst, "unit": "rows", "rows": ask.rows, "scope": "shared" }),
            });
            refuse(action, "rate limit exceeded (rows per second)")
        }
        Verdict::Volume { volume } => {
            let action = app.cfg.action(sig::VOLUME.id);
            seen.fired.push(Fired {
                rule: &sig::VOLUME,
                action,
                message: format!(
                    "{volume} queries in the current {} s window over all replicas (budget {})",
                    l.volume_window_seconds, ask.volume
                ),
                evidence: json!({ "volume": volume, "budget": ask.volume, "scope": "shared" }),
            });
            refuse(action, "query budget exhausted")
        }
        Verdict::Unavailable(why) => {
            app.metrics.count_signal(sig::STATE_UNAVAILABLE.id);
            let tick = now as u64 + 1;
            let last = shared.stats.signalled.load(Ordering::Relaxed);
            if (last == 0 || tick >= last + SIGNAL_EVERY)
                && shared
                    .stats
                    .signalled
                    .compare_exchange(last, tick, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                seen.fired.push(Fired {
                    rule: &sig::STATE_UNAVAILABLE,
                    action: Action::Log,
                    message: format!(
                        "{why}; {}",
                        match shared.policy {
                            OnError::FailOpen =>
                                "answering under this replica's local limits (fail-open)",
                            OnError::FailClosed => "refusing requests (fail-closed)",
                        }
                    ),
                    evidence: json!({
                        "policy": match shared.policy { OnError::FailOpen => "fail-open", OnError::FailClosed => "fail-closed" },
                        "errors_total": shared.stats.errors.load(Ordering::Relaxed),
                    }),
                });
            }
            match shared.policy {
                OnError::FailOpen => None,
                OnError::FailClosed => Some(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the shared client state is unavailable (state.on_state_error = \"fail-closed\")",
                )),
            }
        }
    }
}
