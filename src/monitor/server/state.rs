//! The server's use of per-client state ([`crate::monitor::state`]): allow-lists and blocks
//! after a request's signals, and LLM token accounting.

use super::*;

/// Allow-lists, then blocks: a `block` finding refuses the client's later requests for
/// `block_seconds`.
pub(super) fn settle_client(app: &App, c: &mut ClientState, seen: &mut Seen, now: f64) {
    let client = seen.client.clone();
    seen.fired.retain(|f| !app.cfg.allowed(&client, f.rule.id));
    if let Some(f) = seen.fired.iter().find(|f| f.action == Action::Block) {
        c.block(f.rule.id, now + app.cfg.detect.block_seconds as f64);
        if let Some(shared) = &app.shared {
            shared.block(&client, f.rule.id, app.cfg.detect.block_seconds);
        }
    }
}

/// Add an answer's LLM tokens to a client's count for the window, and charge its token bucket
/// for them (less `prepaid`, the prompt estimate taken before forwarding).
pub(super) fn add_tokens(app: &App, client: &str, tokens: u64, prepaid: u64, now: f64) {
    let l = &app.cfg.llm;
    app.clients.with(client, now, |c| {
        c.token_count += tokens;
        if l.token_rate > 0.0 {
            let more = tokens.saturating_sub(prepaid) as f64;
            c.tokens.charge(more, l.token_rate, l.token_burst, now);
        }
    });
    if let Some(shared) = &app.shared {
        shared.add_tokens(
            client,
            tokens,
            tokens.saturating_sub(prepaid),
            l.token_rate,
            app.cfg.limits.volume_window_seconds,
        );
    }
}

/// [`settle_client`] for handlers that do not hold the client's state.
pub(super) fn settle(app: &App, seen: &mut Seen, now: f64) {
    let client = seen.client.clone();
    app.clients
        .with(&client, now, |c| settle_client(app, c, seen, now));
}
