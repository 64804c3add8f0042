//! Client state shared by replicas, in Redis (`[state] backend = "redis"`): request and row
//! rates (GCRA token buckets), the query budget of the window, and blocks. One script call per
//! request (`EVALSHA`: one round trip), atomic in Redis, on Redis's clock; a block is written
//! as soon as it is decided. Everything else stays in each replica's [`super::LocalStore`],
//! which also keeps enforcing its own limits, so a replica cut off from Redis still limits
//! its clients (per replica) under `fail-open`.
//!
//! Keys (all with the configured prefix; each expires by itself: a bucket when it is full
//! again, a budget with its window, a block with its time): `<prefix>req:<client>`,
//! `<prefix>rows:<client>`, `<prefix>vol:<client>`, `<prefix>block:<client>`.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Where client state lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// In this process only.
    #[default]
    Local,
    /// Shared by every replica through Redis.
    Redis,
}

/// What a request meets when Redis cannot answer in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Answer it, under this replica's local limits only.
    #[default]
    FailOpen,
    /// Refuse it (503).
    FailClosed,
}

/// `[state]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateCfg {
    pub backend: Backend,
    /// `redis://HOST:PORT[/DB]` (or `redis+unix://`; TLS, `rediss://`, is not built in).
    pub url: Option<String>,
    /// Prepended to every key (several deployments can share one Redis).
    pub key_prefix: String,
    /// Milliseconds a request waits for Redis before the failure policy applies.
    pub timeout_ms: u64,
    pub on_state_error: OnError,
    /// Share the detectors' per-client state too (near duplicates, cross-client index, PRADA,
    /// coverage): every replica replays the others' observations
    /// ([`super::replicate`]).
    pub share_detectors: bool,
    /// Observations kept in the stream (about: Redis trims whole blocks).
    pub stream_max_len: u64,
    /// Seconds the stream outlives the last observation written to it.
    pub stream_ttl_seconds: u64,
}

impl Default for StateCfg {
    fn default() -> Self {
        StateCfg {
            backend: Backend::Local,
            url: None,
            key_prefix: "modelsec:".into(),
            timeout_ms: 50,
            on_state_error: OnError::FailOpen,
            share_detectors: true,
            stream_max_len: 100_000,
            stream_ttl_seconds: 3600,
        }
    }
}

impl StateCfg {
    /// Problems with `[state]`, as (key, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match (&self.backend, &self.url) {
            (Backend::Redis, None) => out.push((
                "backend",
                "state.backend = \"redis\" needs state.url = \"redis://HOST:PORT\"".to_string(),
            )),
            (Backend::Redis, Some(u)) => {
                if let Err(e) = redis::Client::open(u.as_str()) {
                    out.push(("url", format!("state.url: not a Redis URL ({e})")));
                }
            }
            _ => {}
        }
        if !(1..=10_000).contains(&self.timeout_ms) {
            out.push((
                "timeout_ms",
                "state.timeout_ms must be from 1 to 10000".into(),
            ));
        }
        if !(1_000..=10_000_000).contains(&self.stream_max_len) {
            out.push((
                "stream_max_len",
                "state.stream_max_len must be from 1000 to 10000000 observations".into(),
            ));
        }
        if !(60..=7 * 86_400).contains(&self.stream_ttl_seconds) {
            out.push((
                "stream_ttl_seconds",
                "state.stream_ttl_seconds must be from 60 to 604800".into(),
            ));
        }
        if self.key_prefix.len() > 128 {
            out.push(("key_prefix", "state.key_prefix: 128 bytes at most".into()));
        }
        out
    }
}

/// Rate, row and budget limits of one request.
#[derive(Clone, Copy, Debug)]
pub struct Ask {
    pub rate: f64,
    pub burst: f64,
    pub row_rate: f64,
    pub row_burst: f64,
    /// Queries in this request.
    pub rows: u64,
    /// Query budget of the window (0: none).
    pub volume: u64,
    pub window_seconds: u64,
    /// LLM requests: the prompt's estimated tokens (0: not an LLM request).
    pub tokens: u64,
    /// LLM tokens per second and burst (`llm.token_rate`, `llm.token_burst`).
    pub token_rate: f64,
    pub token_burst: f64,
    /// LLM tokens per client in the window (`llm.token_budget`; 0: none).
    pub token_budget: u64,
}

/// Redis's answer for one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Within the request, row and query limits; the client's queries in the window, and for
    /// an LLM request whether its prompt fit the token bucket and the tokens used in the window
    /// (over every replica).
    Ok {
        volume: u64,
        tokens_ok: bool,
        tokens_used: u64,
    },
    /// Blocked (on any replica) by `by`, for `ms` more milliseconds.
    Blocked { by: String, ms: u64 },
    /// Over the request rate.
    Rate,
    /// Over the row rate.
    Rows,
    /// Over the window's budget.
    Volume { volume: u64 },
    /// Redis did not answer in time, or failed.
    Unavailable(String),
}

/// Health counters.
#[derive(Debug, Default)]
pub struct SharedStats {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    /// Whether the last call failed.
    pub down: AtomicBool,
    /// When the last `monitor/state-unavailable` signal was raised (seconds of the server's
    /// clock + 1; 0: never).
    pub signalled: AtomicU64,
}

/// GCRA over microseconds on Redis's clock, then the window's budget; a block short-circuits.
/// KEYS: req, rows, vol, block, tok, tokvol. ARGV: request interval µs, request burst, row
/// interval µs, row burst, rows, budget, window s, token interval µs, token burst, prompt
/// tokens. Returns {code, value…}: 0 ok (volume, prompt fit the token bucket 1/0, tokens used
/// in the window), 1 blocked (by, ms), 2 rate, 3 rows, 4 budget (volume). LLM tokens do not
/// refuse here: like local state, they raise `monitor/cost`, whose action decides.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local by = redis.call('GET', KEYS[4])
if by then
  return {1, by, redis.call('PTTL', KEYS[4])}
end
local function take(key, interval, burst, cost)
  if interval <= 0 then return true end
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new = tat + cost * interval
  if new - now > burst * interval then return false end
  redis.call('SET', key, string.format('%.0f', new), 'PX', math.floor((new - now) / 1000) + 1000)
  return true
end
local rows = tonumber(ARGV[5])
if not take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 1) then return {2, 0} end
if not take(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), rows) then return {3, 0} end
local vol = redis.call('INCRBY', KEYS[3], rows)
if vol == rows then redis.call('EXPIRE', KEYS[3], ARGV[7]) end
local budget = tonumber(ARGV[6])
if budget > 0 and vol > budget then return {4, vol} end
local tokens = tonumber(ARGV[10])
local fit = 1
if tokens > 0 and not take(KEYS[5], tonumber(ARGV[8]), tonumber(ARGV[9]), tokens) then fit = 0 end
local used = tonumber(redis.call('GET', KEYS[6]) or '0')
return {0, vol, fit, used}
";

/// An LLM answer's tokens, after it: added to the window's count and, beyond the prompt
/// estimate already taken, to the token bucket (never refused: the answer is out).
/// KEYS: tok, tokvol. ARGV: token interval µs, tokens spent, tokens beyond the estimate,
/// window s.
const TOKENS: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local more = tonumber(ARGV[3])
if interval > 0 and more > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  if tat < now then tat = now end
  local new = tat + more * interval
  redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.floor((new - now) / 1000) + 1000)
end
local used = redis.call('INCRBY', KEYS[2], ARGV[2])
if used == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return used
";

/// The client for `state.url` and a lazily connecting, self-reconnecting (with backoff)
/// connection to it whose commands wait `response` at most.
pub(super) fn manager(
    cfg: &StateCfg,
    response: Duration,
) -> Result<(redis::Client, ConnectionManager), String> {
    let url = cfg.url.as_deref().unwrap_or_default();
    let client = redis::Client::open(url).map_err(|e| format!("state.url: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(response.max(Duration::from_millis(200))))
        .set_response_timeout(Some(response))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(Duration::from_millis(1000));
    let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
        .map_err(|e| format!("state.url `{url}`: {e}"))?;
    Ok((client, conn))
}

/// The shared store.
pub struct Shared {
    conn: ConnectionManager,
    script: redis::Script,
    tokens: redis::Script,
    prefix: String,
    timeout: Duration,
    pub policy: OnError,
    pub stats: SharedStats,
}

impl Shared {
    /// Connect lazily (replicas may start before Redis); reconnection is automatic, with
    /// backoff.
    pub fn connect(cfg: &StateCfg) -> Result<Shared, String> {
        let timeout = Duration::from_millis(cfg.timeout_ms);
        let (_, conn) = manager(cfg, timeout)?;
        Ok(Shared {
            conn,
            script: redis::Script::new(SCRIPT),
            tokens: redis::Script::new(TOKENS),
            prefix: cfg.key_prefix.clone(),
            timeout,
            policy: cfg.on_state_error,
            stats: SharedStats::default(),
        })
    }

    fn key(&self, what: &str, client: &str) -> String {
        format!("{}{what}:{client}", self.prefix)
    }

    fn failed(&self, e: String) -> Verdict {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        self.stats.down.store(true, Ordering::Relaxed);
        Verdict::Unavailable(e)
    }

    /// One round trip: a block, then the request and row buckets, then the budget.
    pub async fn admit(&self, client: &str, ask: Ask) -> Verdict {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let interval = |rate: f64| if rate > 0.0 { 1e6 / rate } else { 0.0 };
        let mut inv = self.script.prepare_invoke();
        inv.key(self.key("req", client))
            .key(self.key("rows", client))
            .key(self.key("vol", client))
            .key(self.key("block", client))
            .key(self.key("tok", client))
            .key(self.key("tokvol", client))
            .arg(interval(ask.rate))
            .arg(ask.burst.max(1.0))
            .arg(interval(ask.row_rate))
            .arg(ask.row_burst.max(1.0))
            .arg(ask.rows.max(1))
            .arg(ask.volume)
            .arg(ask.window_seconds.max(1))
            .arg(interval(ask.token_rate))
            .arg(ask.token_burst.max(1.0))
            .arg(ask.tokens);
        let mut conn = self.conn.clone();
        let reply: redis::Value =
            match tokio::time::timeout(self.timeout, inv.invoke_async(&mut conn)).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => return self.failed(format!("Redis: {e}")),
                Err(_) => {
                    return self.failed(format!("Redis did not answer within {:?}", self.timeout));
                }
            };
        self.stats.down.store(false, Ordering::Relaxed);
        parse(reply).unwrap_or_else(|| self.failed("Redis: an unexpected reply".into()))
    }

    /// Add an LLM answer's `spent` tokens to the client's window and `more` (beyond the
    /// prompt estimate taken at admission) to its token bucket, for every replica
    /// (asynchronously: the answer is already out).
    pub fn add_tokens(
        self: &std::sync::Arc<Self>,
        client: &str,
        spent: u64,
        more: u64,
        token_rate: f64,
        window_seconds: u64,
    ) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let keys = [self.key("tok", client), self.key("tokvol", client)];
        let interval = if token_rate > 0.0 {
            1e6 / token_rate
        } else {
            0.0
        };
        let me = self.clone();
        rt.spawn(async move {
            let mut inv = me.tokens.prepare_invoke();
            inv.key(&keys[0])
                .key(&keys[1])
                .arg(interval)
                .arg(spent)
                .arg(more)
                .arg(window_seconds.max(1));
            let mut conn = me.conn.clone();
            let done = tokio::time::timeout(me.timeout * 4, inv.invoke_async::<i64>(&mut conn));
            if !matches!(done.await, Ok(Ok(_))) {
                me.stats.errors.fetch_add(1, Ordering::Relaxed);
                me.stats.down.store(true, Ordering::Relaxed);
            }
        });
    }

    /// Record a block for every replica: queued as it is decided, not waited for (the answer that
    /// made it does not wait on Redis; a request on another replica within that round trip may
    /// still be answered).
    pub fn block(self: &std::sync::Arc<Self>, client: &str, by: &str, seconds: u64) {
        let key = self.key("block", client);
        let by = by.to_string();
        let me = self.clone();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let mut conn = me.conn.clone();
            let cmd = redis::cmd("SET")
                .arg(&key)
                .arg(&by)
                .arg("EX")
                .arg(seconds.max(1))
                .to_owned();
            match tokio::time::timeout(me.timeout * 4, cmd.query_async::<()>(&mut conn)).await {
                Ok(Ok(())) => {}
                _ => {
                    me.stats.errors.fetch_add(1, Ordering::Relaxed);
                    me.stats.down.store(true, Ordering::Relaxed);
                }
            }
        });
    }
}

fn parse(v: redis::Value) -> Option<Verdict> {
    use redis::Value as V;
    let V::Array(items) = v else { return None };
    let int = |v: &V| match v {
        V::Int(i) => Some(*i),
        _ => None,
    };
    let code = int(items.first()?)?;
    Some(match code {
        0 => Verdict::Ok {
            volume: int(items.get(1)?)?.max(0) as u64,
            tokens_ok: items.get(2).and_then(int).is_none_or(|f| f != 0),
            tokens_used: items.get(3).and_then(int).unwrap_or(0).max(0) as u64,
        },
        1 => Verdict::Blocked {
            by: match items.get(1)? {
                V::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                V::SimpleString(s) => s.clone(),
                _ => return None,
            },
            ms: int(items.get(2)?)?.max(0) as u64,
        },
        2 => Verdict::Rate,
        3 => Verdict::Rows,
        4 => Verdict::Volume {
            volume: int(items.get(1)?)?.max(0) as u64,
        },
        _ => return None,
    })
}
