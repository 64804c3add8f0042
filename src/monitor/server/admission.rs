//! The front door every protocol shares: capacity, identity, blocks, rate and volume, and
//! the body, bounded before it is read.

use super::*;

/// A request let through the monitor's front door: its body, the monitor's clock, and the
/// in-flight slot it holds until dropped.
pub(super) struct Admitted<'a> {
    pub(super) bytes: axum::body::Bytes,
    pub(super) now: f64,
    pub(super) _slot: InFlight<'a>,
}

/// The checks every protocol shares, in order: capacity (503), identity (401), an unknown model
/// (404, when `unknown` says so), a blocked client (403), rate and volume (429), and the body,
/// bounded before it is read (413). Fills `seen`.
pub(super) async fn admit<'a>(
    app: &'a App,
    headers: &HeaderMap,
    unknown: Option<String>,
    body: Body,
    seen: &mut Seen,
) -> Result<Admitted<'a>, Response> {
    // Capacity.
    let n = app.in_flight.fetch_add(1, Ordering::Relaxed);
    let slot = InFlight(&app.in_flight);
    if n >= app.cfg.server.max_in_flight {
        seen.client = seen.ip.clone();
        seen.fired.push(Fired {
            rule: &sig::OVERLOAD,
            action: Action::Block,
            message: format!(
                "{n} requests in flight (max {})",
                app.cfg.server.max_in_flight
            ),
            evidence: json!({ "in_flight": n }),
        });
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server at capacity; retry later",
        ));
    }
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
        if limits.rate > 0.0 && !c.requests.take(limits.rate, limits.burst, now) {
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
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let oversize = |seen: &mut Seen, size: String| {
        seen.fired.push(Fired {
            rule: &sig::OVERSIZE,
            action: Action::Block,
            message: format!("a body of {size} bytes (limit {max})"),
            evidence: json!({ "limit": max }),
        });
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body over {max} bytes"),
        )
    };
    if let Some(len) = declared
        && len > max
    {
        return Err(oversize(seen, len.to_string()));
    }
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(_) => return Err(oversize(seen, format!("more than {max}"))),
    };
    seen.bytes = bytes.len();
    Ok(Admitted {
        bytes,
        now,
        _slot: slot,
    })
}

/// Count a request's queries (rows of a tabular request, every row of a batch; else 1) against
/// the client's row rate and volume budget, once the body says how many there are; the
/// refusal, when an action refuses.
pub(super) fn charge(app: &App, seen: &mut Seen, queries: usize, now: f64) -> Option<Response> {
    let limits = &app.cfg.limits;
    let n = queries.max(1) as u64;
    let client = seen.client.clone();
    app.clients.with(&client, now, |c| {
        if limits.row_rate > 0.0
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
        if limits.volume > 0 && c.volume > limits.volume {
            let action = app.cfg.action(sig::VOLUME.id);
            seen.fired.push(Fired {
                rule: &sig::VOLUME,
                action,
                message: format!(
                    "{} queries in the current {} s window (budget {})",
                    c.volume, limits.volume_window_seconds, limits.volume
                ),
                evidence: json!({ "volume": c.volume, "budget": limits.volume }),
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
