//! Per-client state, behind one small boundary ([`ClientStore`]): everything the monitor keeps
//! about a client is one bounded [`ClientState`] (rate buckets, window counters, detector
//! state, cooldowns, a block), reached only through [`ClientStore::with`]. [`LocalStore`]
//! keeps it in this process (a sharded LRU); a store shared by replicas implements the same
//! trait.

pub mod redis;
pub mod replicate;

use super::config::Limits;
use super::detect::{ClientDetectors, TokenBucket};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// What the monitor knows about one client.
#[derive(Clone, Debug)]
pub struct ClientState {
    /// Requests per second.
    pub requests: TokenBucket,
    /// Rows (queries) per second.
    pub rows: TokenBucket,
    /// LLM tokens per second.
    pub tokens: TokenBucket,
    /// The volume window: its start, and what was counted in it.
    pub window_start: f64,
    /// Queries: rows of tabular requests, else requests.
    pub volume: u64,
    /// LLM tokens (prompt and completion).
    pub token_count: u64,
    /// LLM requests for raw scores (`logprobs`, `top_logprobs`, `logit_bias`).
    pub score_requests: u64,
    pub detectors: ClientDetectors,
    /// When each signal's last finding was written (cooldowns).
    pub last_finding: HashMap<&'static str, f64>,
    pub blocked_until: f64,
    pub blocked_by: &'static str,
}

impl ClientState {
    pub fn new(now: f64, limits: &Limits, token_burst: f64, detectors: ClientDetectors) -> Self {
        ClientState {
            requests: TokenBucket::new(limits.burst.max(1.0), now),
            rows: TokenBucket::new(limits.row_burst.max(1.0), now),
            tokens: TokenBucket::new(token_burst.max(1.0), now),
            window_start: now,
            volume: 0,
            token_count: 0,
            score_requests: 0,
            detectors,
            last_finding: HashMap::new(),
            blocked_until: 0.0,
            blocked_by: "",
        }
    }

    /// Start a new volume window when `window` seconds have passed.
    pub fn roll_window(&mut self, now: f64, window: f64) {
        if now - self.window_start >= window {
            self.window_start = now;
            self.volume = 0;
            self.token_count = 0;
            self.score_requests = 0;
            self.detectors.new_window();
        }
    }

    /// Refuse the client's requests (403) until `until`, naming the signal.
    pub fn block(&mut self, by: &'static str, until: f64) {
        self.blocked_until = until;
        self.blocked_by = by;
    }
}

/// Where client state lives. `with` runs `f` on one client's state (made by the store's
/// constructor when the client is new), as one atomic step: no other call sees the client's
/// state half-updated.
pub trait ClientStore: Send + Sync {
    fn with<R>(&self, client: &str, now: f64, f: impl FnOnce(&mut ClientState) -> R) -> R;
    /// Clients whose state is kept.
    fn clients(&self) -> usize;
}

type Make = Box<dyn Fn(f64) -> ClientState + Send + Sync>;

/// Client state in this process: an LRU of at most `max_clients` (the least recently seen is
/// forgotten first), in shards so that clients do not wait on each other's locks.
pub struct LocalStore {
    shards: Vec<Mutex<lru::LruCache<String, ClientState>>>,
    make: Make,
}

const SHARDS: usize = 16;

impl LocalStore {
    pub fn new(
        max_clients: usize,
        make: impl Fn(f64) -> ClientState + Send + Sync + 'static,
    ) -> Self {
        let per = NonZeroUsize::new(max_clients.div_ceil(SHARDS)).unwrap_or(NonZeroUsize::MIN);
        LocalStore {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(lru::LruCache::new(per)))
                .collect(),
            make: Box::new(make),
        }
    }

    fn shard(&self, client: &str) -> &Mutex<lru::LruCache<String, ClientState>> {
        let h = xxhash_rust::xxh3::xxh3_64(client.as_bytes());
        &self.shards[(h % SHARDS as u64) as usize]
    }
}

impl ClientStore for LocalStore {
    fn with<R>(&self, client: &str, now: f64, f: impl FnOnce(&mut ClientState) -> R) -> R {
        let mut shard = self.shard(client).lock().unwrap_or_else(|p| p.into_inner());
        if !shard.contains(client) {
            shard.put(client.to_string(), (self.make)(now));
        }
        f(shard.get_mut(client).expect("just inserted"))
    }

    fn clients(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::config::Detect;
    use crate::monitor::detect::Engine;

    #[test]
    fn a_store_keeps_bounded_state_per_client_and_windows_roll() {
        let engine = std::sync::Arc::new(Engine::new(4, None, &Detect::default(), [1; 32]));
        let e = engine.clone();
        let limits = Limits::default();
        let store = LocalStore::new(32, move |now| {
            ClientState::new(now, &limits, 10.0, e.client())
        });
        for i in 0..200 {
            store.with(&format!("c{i}"), 0.0, |s| s.volume += 1);
        }
        assert!(store.clients() <= 32 + SHARDS, "{}", store.clients());
        store.with("a", 0.0, |s| s.volume = 5);
        assert_eq!(store.with("a", 1.0, |s| s.volume), 5);
        store.with("a", 10.0, |s| s.roll_window(10.0, 5.0));
        assert_eq!(store.with("a", 10.0, |s| s.volume), 0);
    }
}
