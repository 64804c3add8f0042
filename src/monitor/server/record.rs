//! What a request fired, and its events: `Seen` collects the request as the monitor saw it;
//! `finish` writes its events (waiting for them with `always` durability) and counts it.

use super::*;

/// A fired signal, before it becomes an event.
pub(super) struct Fired {
    pub(super) rule: &'static Rule,
    pub(super) action: Action,
    pub(super) message: String,
    pub(super) evidence: Value,
}

/// The request as the monitor saw it, for its event.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) id: u64,
    pub(super) path: String,
    pub(super) model: String,
    pub(super) client: String,
    pub(super) ip: String,
    pub(super) status: u16,
    pub(super) bytes: usize,
    /// Rows (queries) the detectors read, when they read rows.
    pub(super) rows: Option<usize>,
    pub(super) input: Option<ev::Input>,
    pub(super) output: Option<ev::Output>,
    pub(super) fired: Vec<Fired>,
    /// An LLM request's estimated prompt tokens, charged with the shared state.
    pub(super) tokens_asked: u64,
    /// The shared state's word on them: whether they fit the token bucket, and the tokens
    /// the client used in the window over every replica (`None`: local state decides).
    pub(super) shared_tokens: Option<(bool, u64)>,
}

impl Seen {
    /// A new request from `peer` to `path` (`model`: as far as the path names it).
    pub(super) fn new(app: &App, peer: SocketAddr, path: String, model: String) -> Seen {
        Seen {
            id: app.next_request.fetch_add(1, Ordering::Relaxed),
            ip: peer.ip().to_string(),
            path,
            model,
            ..Seen::default()
        }
    }
}

/// Record the request's events (waiting for them with `always` durability) and count it. A
/// request whose event cannot be recorded is not answered.
pub(super) async fn finish(
    app: &Arc<App>,
    mut seen: Seen,
    response: Response,
    started: Instant,
) -> Response {
    seen.status = response.status().as_u16();
    let durable = if app.monitor_on {
        record(app, &seen, started).await
    } else {
        Ok(())
    };
    let response = match durable {
        Ok(()) => response,
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the event log cannot record this request ({e}); refusing to answer unlogged"),
        ),
    };
    let status = response.status().as_u16();
    *app.metrics
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(status)
        .or_default() += 1;
    let secs = started.elapsed().as_secs_f64();
    let bucket = BUCKETS
        .iter()
        .position(|&b| secs <= b)
        .unwrap_or(BUCKETS.len());
    app.metrics.latency[bucket].fetch_add(1, Ordering::Relaxed);
    app.metrics
        .latency_sum_us
        .fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    response
}

/// The answer that refuses a request on which a signal with a `block` (403) or `throttle` (429)
/// action fired; `block` wins when both did.
pub(super) fn refused(seen: &Seen) -> Option<Response> {
    let f = seen
        .fired
        .iter()
        .find(|f| f.action == Action::Block)
        .or_else(|| seen.fired.iter().find(|f| f.action == Action::Throttle))?;
    let code = match f.action {
        Action::Throttle => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::FORBIDDEN,
    };
    Some(error(
        code,
        &format!("refused: {} ({})", f.rule.id, f.message),
    ))
}

pub(super) fn schema_violation(app: &App, seen: &mut Seen, message: String) -> Response {
    seen.fired.push(Fired {
        rule: &sig::SCHEMA,
        action: app.cfg.action(sig::SCHEMA.id),
        message: message.clone(),
        evidence: json!({}),
    });
    error(StatusCode::BAD_REQUEST, &message)
}

/// A `finding` event: the signal, its ATLAS technique, what was done, and the evidence.
pub(super) fn finding_event(f: &Fired) -> ev::Finding {
    ev::Finding {
        signal: ev::SignalRef {
            id: f.rule.id.into(),
            title: f.rule.description.into(),
        },
        severity: f.rule.severity.as_str().into(),
        action: f.action,
        attack: vec![ev::Attack::atlas(f.rule.id)],
        message: f.message.clone(),
        evidence: f.evidence.clone(),
        client: None,
        request: None,
        model: None,
    }
}

/// A finding of one request: [`finding_event`] with the client, the request id and the model.
pub(super) fn request_finding(
    f: &Fired,
    client: &ev::ClientRef,
    request_id: &str,
    model: &str,
) -> Event {
    Event::Finding(ev::Finding {
        client: Some(client.clone()),
        request: Some(ev::RequestRef {
            id: request_id.into(),
        }),
        model: Some(ev::ModelRef { name: model.into() }),
        ..finding_event(f)
    })
}

/// Write the request's events; with `always` durability, wait for them.
pub(super) async fn record(app: &Arc<App>, seen: &Seen, started: Instant) -> Result<(), String> {
    let id = seen.id;
    let model = seen.model.as_str();
    let now = now_secs(app);
    let mut events = Vec::new();
    let mut findings = Vec::new();
    let cooldown = app.cfg.detect.cooldown_seconds as f64;
    app.clients.with(&seen.client, now, |c| {
        for f in &seen.fired {
            app.metrics.count_signal(f.rule.id);
            let last = c.last_finding.get(f.rule.id).copied();
            if last.is_some_and(|t| now - t < cooldown) {
                continue;
            }
            c.last_finding.insert(f.rule.id, now);
            findings.push(f);
        }
    });
    let request_id = format!("{id:016x}");
    let client = ev::ClientRef {
        id: seen.client.clone(),
        ip: seen.ip.clone(),
    };
    // Dropped events are never silent: the next event says how many — at most once per
    // cooldown (the count carries over), so an outage of the log's disk or of the SIEM does not
    // add a finding to every request (each of which the export would drop again).
    let dropped = app.log.stats.dropped.load(Ordering::Relaxed);
    let last = f64::from_bits(app.dropped_reported_at.load(Ordering::Relaxed));
    let reported = app.dropped_reported.load(Ordering::Relaxed);
    let due = dropped > reported
        && now - last >= cooldown
        && app
            .dropped_reported
            .compare_exchange(reported, dropped, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
    if due {
        app.dropped_reported_at
            .store(now.to_bits(), Ordering::Relaxed);
        app.metrics.count_signal(sig::LOG_DROPPED.id);
        events.push(Event::Finding(finding_event(&Fired {
            rule: &sig::LOG_DROPPED,
            action: Action::Log,
            message: format!(
                "{} event(s) dropped since the last report ({dropped} in all)",
                dropped - reported
            ),
            evidence: json!({ "dropped": dropped - reported, "dropped_total": dropped }),
        })));
    }
    for f in findings {
        events.push(request_finding(f, &client, &request_id, model));
    }
    if app.cfg.log.requests || !events.is_empty() {
        events.push(Event::Request(ev::RequestEvent {
            client,
            request: ev::RequestInfo {
                id: request_id,
                protocol: app.protocol.as_str().into(),
                path: seen.path.clone(),
                status: seen.status,
                bytes: seen.bytes,
                latency_us: started.elapsed().as_micros() as u64,
                rows: seen.rows,
            },
            model: ev::ModelRef { name: model.into() },
            input: seen.input.clone(),
            output: seen.output.clone(),
            signals: seen.fired.iter().map(|f| f.rule.id.to_string()).collect(),
        }));
    }
    let Some(last) = events.pop() else {
        return Ok(());
    };
    for e in &events {
        app.log.log(e);
    }
    match app.log.durability {
        Durability::Group => {
            app.log.log(&last);
            Ok(())
        }
        Durability::Always => {
            let app = app.clone();
            tokio::task::spawn_blocking(move || app.log.log_durable(&last).map(|_| ()))
                .await
                .map_err(|e| e.to_string())?
        }
    }
}
