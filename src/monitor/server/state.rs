//! Per-client state: rate buckets, window counters, detector state, blocks. It is kept in
//! one LRU behind a lock; everything about one client is in its [`Client`].

use super::*;

/// Per-client state.
pub(super) struct Client {
    pub(super) bucket: TokenBucket,
    pub(super) window_start: f64,
    pub(super) volume: u64,
    pub(super) scores: u64,
    pub(super) prada: crate::monitor::detect::Prada,
    pub(super) walk: Walk,
    /// LLM tokens (prompt and completion) in the current window.
    pub(super) tokens: u64,
    pub(super) last_finding: HashMap<&'static str, f64>,
    pub(super) blocked_until: f64,
    pub(super) blocked_by: &'static str,
}

impl Client {
    /// Refuse the client's requests (403) until `until`, naming the signal.
    pub(super) fn block(&mut self, by: &'static str, until: f64) {
        self.blocked_until = until;
        self.blocked_by = by;
    }
}

pub(super) struct Monitor {
    pub(super) clients: lru::LruCache<String, Client>,
    pub(super) probing: Option<Probing>,
}

pub(super) fn client_state<'a>(
    m: &'a mut Monitor,
    client: &str,
    burst: f64,
    now: f64,
) -> &'a mut Client {
    if !m.clients.contains(client) {
        m.clients.put(
            client.to_string(),
            Client {
                bucket: TokenBucket::new(burst.max(1.0), now),
                window_start: now,
                volume: 0,
                scores: 0,
                prada: Default::default(),
                walk: Walk::default(),
                tokens: 0,
                last_finding: HashMap::new(),
                blocked_until: 0.0,
                blocked_by: "",
            },
        );
    }
    m.clients.get_mut(client).expect("just inserted")
}

/// Allow-lists, then blocks: a `block` finding refuses the client's later requests for
/// `block_seconds`.
pub(super) fn settle_client(app: &App, c: &mut Client, seen: &mut Seen, now: f64) {
    let client = seen.client.clone();
    seen.fired.retain(|f| !app.cfg.allowed(&client, f.rule.id));
    if let Some(f) = seen.fired.iter().find(|f| f.action == Action::Block) {
        c.block(f.rule.id, now + app.cfg.detect.block_seconds as f64);
    }
}

/// Add LLM tokens to a client's count for the window.
pub(super) fn add_tokens(app: &App, client: &str, tokens: u64, now: f64) {
    let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
    client_state(&mut m, client, app.cfg.limits.burst, now).tokens += tokens;
}

/// [`settle_client`] for handlers that do not hold the monitor.
pub(super) fn settle(app: &App, seen: &mut Seen, now: f64) {
    let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
    let c = client_state(&mut m, &seen.client, app.cfg.limits.burst, now);
    settle_client(app, c, seen, now);
}
