//! The front door every protocol shares: capacity, identity, blocks, rate and volume, and
//! the body, bounded before it is read.

use super::*;
use std::time::Duration;

/// A request let through the monitor's front door: its body, the monitor's clock, its share
/// of the buffered-bytes budget and the in-flight slot, both held until dropped.
pub(super) struct Admitted<'a> {
    pub(super) bytes: axum::body::Bytes,
    pub(super) now: f64,
    pub(super) _slot: InFlight<'a>,
    pub(super) _held: Held,
}

/// The bytes of request and response bodies held in memory, over all requests
/// (`server.max_buffered_bytes`), counted in KiB.
pub(super) struct Budget {
    sem: Arc<tokio::sync::Semaphore>,
}

/// A share of the [`Budget`], given back when dropped.
pub(super) struct Held(Option<tokio::sync::OwnedSemaphorePermit>);

impl Budget {
    pub(super) fn new(bytes: usize) -> Budget {
        let kib = bytes
            .div_ceil(1024)
            .min(tokio::sync::Semaphore::MAX_PERMITS);
        Budget {
            sem: Arc::new(tokio::sync::Semaphore::new(kib)),
        }
    }

    /// `bytes` more, now or never.
    pub(super) fn take(&self, bytes: usize, held: &mut Held) -> bool {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        if kib == 0 {
            return true;
        }
        match self.sem.clone().try_acquire_many_owned(kib) {
            Ok(p) => {
                match &mut held.0 {
                    Some(h) => h.merge(p),
                    None => held.0 = Some(p),
                }
                true
            }
            Err(_) => false,
        }
    }

    /// KiB in use now.
    pub(super) fn in_use_bytes(&self, total: usize) -> usize {
        total.saturating_sub(self.sem.available_permits() * 1024)
    }
}

impl Held {
    pub(super) fn none() -> Held {
        Held(None)
    }
}

/// The answer for a body that could not be read, without the monitor's findings.
pub(super) fn body_error(app: &App, e: BodyError) -> Response {
    let s = &app.cfg.server;
    match e {
        BodyError::TooLarge(_) => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "request body over {} bytes (server.max_body_bytes)",
                s.max_body_bytes
            ),
        ),
        BodyError::Budget => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server at capacity; retry later",
        ),
        BodyError::Slow { .. } => error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request body was not complete within {} s",
                s.body_timeout
            ),
        ),
        BodyError::Broken(e) => error(
            StatusCode::BAD_REQUEST,
            &format!("the request body could not be read: {e}"),
        ),
    }
}

/// Why a body could not be read.
pub(super) enum BodyError {
    /// Over `server.max_body_bytes` (413); the size when known.
    TooLarge(Option<usize>),
    /// The buffered-bytes budget is spent (503).
    Budget,
    /// Not complete within `server.body_timeout` (408).
    Slow { received: usize },
    /// The client broke off (400).
    Broken(String),
}

/// Bytes per second that extend a body's deadline (Apache's mod_reqtimeout does the same).
const MIN_BODY_RATE: f64 = 64.0 * 1024.0;

/// Read a request body: at most `server.max_body_bytes` (a larger declared length is refused
/// before anything is read), within `server.body_timeout`, each byte counted against the
/// buffered-bytes budget as it arrives.
pub(super) async fn read_body(
    app: &App,
    headers: &HeaderMap,
    body: Body,
) -> Result<(axum::body::Bytes, Held), BodyError> {
    use http_body_util::BodyExt;
    let max = app.cfg.server.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared
        && len > max
    {
        return Err(BodyError::TooLarge(Some(len)));
    }
    let mut held = Held::none();
    if !app.budget.take(declared.unwrap_or(0), &mut held) {
        return Err(BodyError::Budget);
    }
    let start = tokio::time::Instant::now();
    let timeout = conn::secs(app.cfg.server.body_timeout);
    let mut buf: Vec<u8> = Vec::with_capacity(declared.unwrap_or(0));
    let mut body = body;
    loop {
        // A large body on a slow link gets a second per MIN_BODY_RATE bytes received; a
        // trickle gets the timeout alone.
        let deadline = start + timeout + Duration::from_secs_f64(buf.len() as f64 / MIN_BODY_RATE);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(BodyError::Slow {
                    received: buf.len(),
                });
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(BodyError::Broken(e.to_string())),
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let after = buf.len() + data.len();
        if after > max {
            return Err(BodyError::TooLarge(None));
        }
        if after > declared.unwrap_or(0) && !app.budget.take(data.len(), &mut held) {
            return Err(BodyError::Budget);
        }
        buf.extend_from_slice(&data);
    }
    Ok((buf.into(), held))
}

/// The checks every protocol shares, in order: identity (401), an unknown model (404, when
/// `unknown` says so), a blocked client (403), rate and volume (429), the body (413 over the
/// size limit, before it is read; 408 when it trickles; 503 when the buffered-bytes budget is
/// spent), and capacity (503). Fills `seen`. The body is read before an in-flight slot is
/// taken, so clients trickling bodies cannot hold the slots.
pub(super) async fn admit<'a>(
    app: &'a App,
    headers: &HeaderMap,
    unknown: Option<String>,
    body: Body,
    seen: &mut Seen,
) -> Result<Admitted<'a>, Response> {
    // Identity.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    seen.client = match bearer {
        Some(key) => {
            let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()));
            match app.keys.get(&hash) {
                Some(c) => c.clone(),
                None if app.cfg.auth.required || !app.keys.is_empty() => {
                    seen.client = format!("unknown-key:{}", &hash[..12]);
                    seen.fired.push(Fired {
                        rule: &sig::AUTH_FAILED,
                        action: Action::Block,
                        message: "an API key that is not in the config".into(),
                        evidence: json!({ "key_sha256_prefix": &hash[..12] }),
                    });
                    return Err(error(StatusCode::UNAUTHORIZED, "unknown API key"));
                }
                None => seen.ip.clone(),
            }
        }
        None if app.cfg.auth.required => {
            seen.client = seen.ip.clone();
            seen.fired.push(Fired {
                rule: &sig::AUTH_FAILED,
                action: Action::Block,
                message: "no API key (Authorization: Bearer …)".into(),
                evidence: json!({}),
            });
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "an API key is required: Authorization: Bearer <key>",
            ));
        }
        None => seen.ip.clone(),
    };
    if let Some(message) = unknown {
        return Err(error(StatusCode::NOT_FOUND, &message));
    }
    let now = now_secs(app);
    // Blocked clients and the request rate: one short critical section.
    let refused = app.clients.with(&seen.client, now, |c| {
        let limits = &app.cfg.limits;
        c.roll_window(now, limits.volume_window_seconds as f64);
        if c.blocked_until > now {
            return Some(error(
                StatusCode::FORBIDDEN,
                &format!(
                    "client blocked by {} for {:.0} more seconds",
                    c.blocked_by,
                    c.blocked_until - now
                ),
            ));
        }
        if limits.rate > 0.0
            && local_limits(app)
            && !c.requests.take(limits.rate, limits.burst, now)
        {
            let action = app.cfg.action(sig::RATE.id);
            seen.fired.push(Fired {
                rule: &sig::RATE,
                action,
                message: format!("over {} requests/s (burst {})", limits.rate, limits.burst),
                evidence: json!({ "rate": limits.rate, "burst": limits.burst, "unit": "requests" }),
            });
            if action != Action::Log {
                return Some(error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded"));
            }
        }
        None
    });
    if let Some(r) = refused {
        return Err(r);
    }
    // Body, bounded before it is read.
    let max = app.cfg.server.max_body_bytes;
    let (bytes, held) = match read_body(app, headers, body).await {
        Ok(x) => x,
        Err(BodyError::TooLarge(size)) => {
            let size = size.map_or(format!("more than {max}"), |s| s.to_string());
            seen.fired.push(Fired {
                rule: &sig::OVERSIZE,
                action: Action::Block,
                message: format!("a body of {size} bytes (limit {max})"),
                evidence: json!({ "limit": max }),
            });
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body over {max} bytes (server.max_body_bytes)"),
            ));
        }
        Err(BodyError::Budget) => return Err(overloaded(app, seen, "buffered request bodies")),
        Err(BodyError::Slow { received }) => {
            let limit = app.cfg.server.body_timeout;
            seen.fired.push(Fired {
                rule: &sig::SLOW_CLIENT,
                action: Action::Block,
                message: format!(
                    "the request body was not complete within {limit} s ({received} bytes received)"
                ),
                evidence: json!({ "reason": "body_timeout", "received": received, "limit_seconds": limit }),
            });
            return Err(error(
                StatusCode::REQUEST_TIMEOUT,
                &format!("the request body was not complete within {limit} s"),
            ));
        }
        Err(BodyError::Broken(e)) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                &format!("the request body could not be read: {e}"),
            ));
        }
    };
    seen.bytes = bytes.len();
    // Capacity.
    let n = app.in_flight.fetch_add(1, Ordering::Relaxed);
    let slot = InFlight(&app.in_flight);
    if n >= app.cfg.server.max_in_flight {
        return Err(overloaded(app, seen, "requests in flight"));
    }
    Ok(Admitted {
        bytes,
        now,
        _slot: slot,
        _held: held,
    })
}

/// Count a request's queries (rows of a tabular request, every row of a batch; else 1) against
/// the client's row rate and volume budget, once the body says how many there are; the
/// refusal, when an action refuses.
pub(super) async fn charge(
    app: &App,
    seen: &mut Seen,
    queries: usize,
    now: f64,
) -> Option<Response> {
    match charge_local(app, seen, queries, now) {
        Some(r) => Some(r),
        None => charge_shared(app, seen, queries, now).await,
    }
}

/// Whether this replica enforces rates and budgets itself: always with local state; with
/// shared state, while Redis is unreachable (`fail-open` then still limits per replica).
fn local_limits(app: &App) -> bool {
    app.shared
        .as_ref()
        .is_none_or(|s| s.stats.down.load(Ordering::Relaxed))
}

fn charge_local(app: &App, seen: &mut Seen, queries: usize, now: f64) -> Option<Response> {
    let limits = &app.cfg.limits;
    let n = queries.max(1) as u64;
    let client = seen.client.clone();
    let local = local_limits(app);
    app.clients.with(&client, now, |c| {
        if limits.row_rate > 0.0
            && local
            && !c
                .rows
                .take_n(n as f64, limits.row_rate, limits.row_burst, now)
        {
            let action = app.cfg.action(sig::RATE.id);
            seen.fired.push(Fired {
                rule: &sig::RATE,
                action,
                message: format!(
                    "a request of {n} rows over {} rows/s (burst {})",
                    limits.row_rate, limits.row_burst
                ),
                evidence: json!({ "rate": limits.row_rate, "burst": limits.row_burst, "unit": "rows", "rows": n }),
            });
            if action != Action::Log {
                return Some(error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate limit exceeded (rows per second)",
                ));
            }
        }
        c.volume += n;
        let budget = app.cfg.volume(&client);
        if budget > 0 && local && c.volume > budget {
            let action = app.cfg.action(sig::VOLUME.id);
            seen.fired.push(Fired {
                rule: &sig::VOLUME,
                action,
                message: format!(
                    "{} queries in the current {} s window (budget {})",
                    c.volume, limits.volume_window_seconds, budget
                ),
                evidence: json!({ "volume": c.volume, "budget": budget }),
            });
            if action != Action::Log {
                return Some(error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "query budget exhausted",
                ));
            }
        }
        None
    })
}

/// Shed a request (503) with a `monitor/overload` finding naming what ran out.
pub(super) fn overloaded(app: &App, seen: &mut Seen, what: &str) -> Response {
    let s = &app.cfg.server;
    let (message, evidence) = match what {
        "requests in flight" => (
            format!(
                "{} requests in flight (server.max_in_flight = {})",
                app.in_flight.load(Ordering::Relaxed),
                s.max_in_flight
            ),
            json!({ "in_flight": app.in_flight.load(Ordering::Relaxed), "limit": s.max_in_flight }),
        ),
        "buffered request bodies" | "buffered answers" => (
            format!(
                "{what}: {} bytes held of server.max_buffered_bytes = {}",
                app.budget.in_use_bytes(s.max_buffered_bytes),
                s.max_buffered_bytes
            ),
            json!({ "buffered_bytes": app.budget.in_use_bytes(s.max_buffered_bytes), "limit": s.max_buffered_bytes }),
        ),
        "preempted" => (
            format!(
                "the run was stopped after {:.1} s to give its inference thread to a client with none (this client held more than its share)",
                s.inference_timeout / 10.0
            ),
            json!({ "preempted_after_seconds": s.inference_timeout / 10.0 }),
        ),
        _ => (
            format!(
                "no inference thread was free within {} s (server.inference_timeout; {} threads)",
                s.inference_timeout,
                match &app.backend {
                    Backend::Local(p) => p.workers,
                    Backend::Remote(_) => 0,
                }
            ),
            json!({ "waited_seconds": s.inference_timeout }),
        ),
    };
    if seen.client.is_empty() {
        seen.client = seen.ip.clone();
    }
    seen.fired.push(Fired {
        rule: &sig::OVERLOAD,
        action: Action::Block,
        message,
        evidence,
    });
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "server at capacity; retry later",
    )
}
