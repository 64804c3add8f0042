//! `proxy --protocol openai` and `proxy --protocol torchserve`: the monitor in front of an
//! OpenAI-compatible LLM server or TorchServe. The front door ([`admit`]) is the one OIP v2
//! uses; what differs is how bodies and answers are read.
//!
//! OpenAI: the request's text is screened for prompt attacks, its cost parameters and the
//! client's token budget are checked, score requests (`logprobs`, `top_logprobs`,
//! `logit_bias`) count toward output harvesting, and answers are searched for canaries (a
//! streamed answer is tapped as it passes and cut at a canary). TorchServe: image headers are
//! checked for decompression bombs, JSON rows go through the tabular detectors (the baseline
//! gives their length), and probability answers (a list, or TorchServe's `{class: p}`) feed
//! extraction, boundary-walk and harvesting.

use super::*;
use crate::monitor::llm::{self, CanaryWatch, Endpoint};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Answers read in full for the detectors are capped at this size (streamed answers are not).
const MAX_ANSWER_BYTES: usize = 64 << 20;

pub(super) async fn openai(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let endpoint = match uri.path() {
        "/v1/chat/completions" => Endpoint::Chat,
        "/v1/completions" => Endpoint::Completions,
        _ => Endpoint::Embeddings,
    };
    let mut seen = Seen::new(&app, peer, endpoint.path().to_string(), String::new());
    let response = if app.monitor_on {
        openai_handle(&app, endpoint, &headers, body, &mut seen).await
    } else {
        unmonitored(&app, endpoint.path(), &headers, body).await
    };
    finish(&app, seen, response, started).await
}

pub(super) async fn torchserve(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UrlPath(params): UrlPath<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let model = params.get("model").cloned().unwrap_or_default();
    let path = match params.get("version") {
        Some(v) => format!("/predictions/{model}/{v}"),
        None => format!("/predictions/{model}"),
    };
    let mut seen = Seen::new(&app, peer, path.clone(), model.clone());
    let response = if app.monitor_on {
        torchserve_handle(&app, &model, &path, &headers, body, &mut seen).await
    } else {
        unmonitored(&app, &path, &headers, body).await
    };
    finish(&app, seen, response, started).await
}

/// Forward as is, without the monitor (the benchmark's baseline).
async fn unmonitored(app: &App, path: &str, headers: &HeaderMap, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, app.cfg.server.max_body_bytes).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    };
    match forward(app, path, headers, bytes).await {
        Ok(r) => stream_back(r),
        Err(r) => r,
    }
}

/// POST the body upstream with the client's content type; the client's own `Authorization`
/// is never forwarded (the config's upstream key is, when set). 502 when there is no answer.
async fn forward(
    app: &App,
    path: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Result<hyper::Response<Incoming>, Response> {
    let Backend::Remote { client, base } = &app.backend else {
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no upstream configured",
        ));
    };
    let mut req = hyper::Request::post(format!("{base}{path}"));
    for h in [header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(v) = headers.get(&h) {
            req = req.header(h, v);
        }
    }
    if let Some(a) = &app.upstream_auth {
        req = req.header(header::AUTHORIZATION, a.clone());
    }
    let req = req
        .body(http_body_util::Full::new(body))
        .map_err(|e| error(StatusCode::BAD_GATEWAY, &e.to_string()))?;
    client.request(req).await.map_err(|e| {
        error(
            StatusCode::BAD_GATEWAY,
            &format!("upstream `{base}` did not answer ({e}); is the model server running there?"),
        )
    })
}

fn copy_headers(from: &axum::http::HeaderMap, to: &mut axum::http::HeaderMap) {
    for h in [header::CONTENT_TYPE, header::CACHE_CONTROL] {
        if let Some(v) = from.get(&h) {
            to.insert(h, v.clone());
        }
    }
}

/// The upstream's answer, streamed through unchanged.
fn stream_back(resp: hyper::Response<Incoming>) -> Response {
    let (parts, body) = resp.into_parts();
    let mut r = Response::new(Body::new(body));
    *r.status_mut() = parts.status;
    copy_headers(&parts.headers, r.headers_mut());
    r
}

/// Read a whole answer (bounded) for the detectors.
async fn read_answer(
    resp: hyper::Response<Incoming>,
) -> Result<(axum::http::response::Parts, axum::body::Bytes), Response> {
    let (parts, body) = resp.into_parts();
    let bytes = http_body_util::Limited::new(body, MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| error(StatusCode::BAD_GATEWAY, &format!("upstream answer: {e}")))?
        .to_bytes();
    Ok((parts, bytes))
}

fn answer_back(parts: &axum::http::response::Parts, bytes: axum::body::Bytes) -> Response {
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = parts.status;
    copy_headers(&parts.headers, r.headers_mut());
    r
}

/// A keyed digest (BLAKE3) of bytes: linkable within a run, not reversible offline.
fn digest(app: &App, bytes: &[u8]) -> String {
    blake3::keyed_hash(&app.key, bytes).to_hex().to_string()
}

async fn openai_handle(
    app: &Arc<App>,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Body,
    seen: &mut Seen,
) -> Response {
    let Admitted {
        bytes, now, _slot, ..
    } = match admit(app, headers, None, body, seen).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let v: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return schema_violation(app, seen, format!("the body is not JSON: {e}")),
    };
    let req = match llm::parse_request(endpoint, &v) {
        Ok(r) => r,
        Err(m) => return schema_violation(app, seen, m),
    };
    seen.model = req.model.clone();
    let l = &app.cfg.llm;
    let prompt = llm::estimate_tokens(&req.text) + llm::estimate_tokens(&req.system_text);
    let (used, scores) = {
        let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
        let c = client_state(&mut m, &seen.client, app.cfg.limits.burst, now);
        if !req.scores.is_empty() {
            c.scores += 1;
        }
        (c.tokens, c.scores)
    };
    // Cost.
    let mut over = vec![];
    if let Some(m) = req.max_tokens
        && m > l.max_tokens
    {
        over.push(format!("max_tokens {m} over the cap of {}", l.max_tokens));
    }
    if req.n > l.max_n {
        over.push(format!("n = {} over the cap of {}", req.n, l.max_n));
    }
    if prompt > l.max_prompt_tokens {
        over.push(format!(
            "a prompt of about {prompt} tokens, over {} (context stuffing)",
            l.max_prompt_tokens
        ));
    }
    if l.token_budget > 0 && used + prompt > l.token_budget {
        over.push(format!(
            "{used} tokens used in the window and about {prompt} more asked, over the budget of {}",
            l.token_budget
        ));
    }
    if !over.is_empty() {
        seen.fired.push(Fired {
            rule: &sig::COST,
            action: app.cfg.action(sig::COST.id),
            message: over.join("; "),
            evidence: json!({
                "prompt_tokens_estimate": prompt,
                "max_tokens": req.max_tokens,
                "n": req.n,
                "tokens_in_window": used,
            }),
        });
    }
    // Prompt attacks.
    let tells = if l.screen_prompts {
        llm::prompt_attack(&req.text)
    } else {
        vec![]
    };
    if !tells.is_empty() {
        seen.fired.push(Fired {
            rule: &sig::PROMPT_ATTACK,
            action: app.cfg.action(sig::PROMPT_ATTACK.id),
            message: format!("the prompt carries: {}", tells.join(", ")),
            evidence: json!({ "tells": tells }),
        });
    }
    // Raw scores.
    if !req.scores.is_empty() && scores > app.cfg.detect.harvest_scores {
        seen.fired.push(Fired {
            rule: &sig::HARVEST,
            action: app.cfg.action(sig::HARVEST.id),
            message: format!(
                "{scores} requests for {} in the current window (over {})",
                req.scores.join("/"),
                app.cfg.detect.harvest_scores
            ),
            evidence: json!({ "score_requests": scores, "asked": req.scores }),
        });
    }
    let mut input = json!({
        "digest": digest(app, req.text.as_bytes()),
        "chars": req.text.chars().count(),
        "prompt_tokens_estimate": prompt,
        "messages": req.messages,
        "max_tokens": req.max_tokens,
        "n": req.n,
        "stream": req.stream,
        "scores": req.scores,
    });
    if app.cfg.log.log_inputs {
        input["text"] = req.text.clone().into();
    }
    seen.input = Some(input);
    settle(app, seen, now);
    if let Some(r) = refused(seen) {
        return r;
    }
    let upstream = match forward(app, endpoint.path(), headers, bytes).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !upstream.status().is_success() {
        return stream_back(upstream);
    }
    if req.stream {
        let (parts, body) = upstream.into_parts();
        let tap = Tap {
            inner: body,
            app: app.clone(),
            client: seen.client.clone(),
            ip: seen.ip.clone(),
            request: format!("{:016x}", seen.id),
            model: seen.model.clone(),
            watch: CanaryWatch::new(&l.canaries),
            line: Vec::new(),
            chars: 0,
            prompt_tokens: None,
            completion_tokens: None,
            prompt_estimate: prompt,
            cut: false,
        };
        let mut r = Response::new(Body::new(tap));
        *r.status_mut() = parts.status;
        copy_headers(&parts.headers, r.headers_mut());
        return r;
    }
    let (parts, answer) = match read_answer(upstream).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let a = serde_json::from_slice::<Value>(&answer)
        .map(|v| llm::parse_answer(&v))
        .unwrap_or_default();
    let spent = a.prompt_tokens.unwrap_or(prompt)
        + a.completion_tokens
            .unwrap_or_else(|| llm::estimate_tokens(&a.text));
    add_tokens(app, &seen.client, spent, now);
    seen.output = Some(json!({
        "prompt_tokens": a.prompt_tokens,
        "completion_tokens": a.completion_tokens,
        "chars": a.text.chars().count(),
    }));
    if let Some(i) = CanaryWatch::new(&l.canaries).feed(&a.text) {
        seen.fired.push(Fired {
            rule: &sig::PROMPT_LEAK,
            action: app.cfg.action(sig::PROMPT_LEAK.id),
            message: format!("the answer contains canary {i} of the config"),
            evidence: json!({ "canary": i }),
        });
        settle(app, seen, now);
        if seen
            .fired
            .iter()
            .any(|f| f.rule.id == sig::PROMPT_LEAK.id && f.action == Action::Block)
        {
            return error(
                StatusCode::FORBIDDEN,
                "refused: monitor/prompt-leak (the answer contains a canary from the config; it is withheld)",
            );
        }
    }
    answer_back(&parts, answer)
}

/// A streamed (server-sent events) answer on its way to the client: its text is searched for
/// canaries across chunks (the stream is cut at one, when the action is `block`), its tokens
/// counted, and a `stream` event written when it ends or the client goes away.
struct Tap {
    inner: Incoming,
    app: Arc<App>,
    client: String,
    ip: String,
    request: String,
    model: String,
    watch: CanaryWatch,
    /// The current, incomplete SSE line.
    line: Vec<u8>,
    chars: usize,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_estimate: u64,
    /// Cut at a canary: nothing more goes to the client.
    cut: bool,
}

impl Tap {
    /// Read a chunk; true when it must not reach the client.
    fn inspect(&mut self, data: &[u8]) -> bool {
        let mut cut = false;
        for &b in data {
            if b != b'\n' {
                if self.line.len() < (1 << 20) {
                    self.line.push(b);
                }
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let text = String::from_utf8_lossy(&line);
            let Some(payload) = text.trim_end_matches('\r').strip_prefix("data:") else {
                continue;
            };
            let Some(a) = llm::parse_stream_event(payload.trim()) else {
                continue;
            };
            self.chars += a.text.chars().count();
            self.prompt_tokens = a.prompt_tokens.or(self.prompt_tokens);
            self.completion_tokens = a.completion_tokens.or(self.completion_tokens);
            if let Some(i) = self.watch.feed(&a.text) {
                cut |= self.leak(i);
            }
        }
        cut
    }

    /// A canary went by: the finding, and whether to cut the stream.
    fn leak(&mut self, canary: usize) -> bool {
        let app = &self.app;
        let action = app.cfg.action(sig::PROMPT_LEAK.id);
        if app.cfg.allowed(&self.client, sig::PROMPT_LEAK.id) {
            return false;
        }
        let fired = Fired {
            rule: &sig::PROMPT_LEAK,
            action,
            message: format!("the streamed answer contains canary {canary} of the config"),
            evidence: json!({ "canary": canary, "streamed": true }),
        };
        let client = json!({ "id": self.client, "ip": self.ip });
        app.log
            .log(request_finding(&fired, &client, &self.request, &self.model));
        app.metrics.count_signal(sig::PROMPT_LEAK.id);
        if action == Action::Block {
            let now = now_secs(app);
            let mut m = app.monitor.lock().unwrap_or_else(|p| p.into_inner());
            client_state(&mut m, &self.client, app.cfg.limits.burst, now).block(
                sig::PROMPT_LEAK.id,
                now + app.cfg.detect.block_seconds as f64,
            );
        }
        action == Action::Block
    }
}

impl http_body::Body for Tap {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.cut {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && this.inspect(data)
                {
                    // The chunk with the canary is replaced by an error event, and the stream ends.
                    this.cut = true;
                    return Poll::Ready(Some(Ok(Frame::data(axum::body::Bytes::from_static(
                        b"\n\ndata: {\"error\":{\"message\":\"stream cut by modelsec: monitor/prompt-leak\",\"type\":\"modelsec\"}}\n\n",
                    )))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }
}

impl Drop for Tap {
    /// The stream ended (or the client left): count its tokens and write its event.
    fn drop(&mut self) {
        let app = &self.app;
        let completion = self
            .completion_tokens
            .unwrap_or(self.chars.div_ceil(4) as u64);
        let spent = self.prompt_tokens.unwrap_or(self.prompt_estimate) + completion;
        add_tokens(app, &self.client, spent, now_secs(app));
        let mut e = Map::new();
        e.insert("kind".into(), "stream".into());
        e.insert("client".into(), json!({ "id": self.client, "ip": self.ip }));
        e.insert("request".into(), json!({ "id": self.request }));
        e.insert("model".into(), json!({ "name": self.model }));
        e.insert(
            "output".into(),
            json!({
                "chars": self.chars,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "tokens_counted": spent,
                "cut": self.cut,
            }),
        );
        app.log.log(e);
    }
}

async fn torchserve_handle(
    app: &Arc<App>,
    model: &str,
    path: &str,
    headers: &HeaderMap,
    body: Body,
    seen: &mut Seen,
) -> Response {
    let unknown = (!app.name.is_empty() && model != app.name).then(|| {
        format!(
            "no model `{model}` behind this proxy (it fronts `{}`)",
            app.name
        )
    });
    let Admitted {
        bytes, now, _slot, ..
    } = match admit(app, headers, unknown, body, seen).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut rows: Vec<Vec<f32>> = vec![];
    let mut input = json!({
        "digest": digest(app, &bytes),
        "bytes": bytes.len(),
        "content_type": content_type,
    });
    if let Ok(kind) = imagesize::image_type(&bytes) {
        let size = match imagesize::blob_size(&bytes) {
            Ok(s) => s,
            Err(e) => {
                return schema_violation(
                    app,
                    seen,
                    format!("an image whose header cannot be read ({e})"),
                );
            }
        };
        let pixels = size.width as u64 * size.height as u64;
        let max = app.cfg.limits.max_image_pixels;
        if pixels == 0 || pixels > max {
            return schema_violation(
                app,
                seen,
                format!(
                    "an image of {}×{} pixels ({pixels}); the limit is {max} (limits.max_image_pixels): a decompression bomb",
                    size.width, size.height
                ),
            );
        }
        input["image"] =
            json!({ "format": format!("{kind:?}"), "width": size.width, "height": size.height });
    } else if content_type.starts_with("image/") {
        return schema_violation(
            app,
            seen,
            format!(
                "content type `{content_type}`, but the body is not an image format this monitor reads (PNG, JPEG, GIF, BMP, WebP, TIFF, ICO, …)"
            ),
        );
    } else if content_type.contains("json")
        || bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{' || b == b'[')
    {
        let v: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return schema_violation(app, seen, format!("the body is not JSON: {e}"));
            }
        };
        if let Some(f) = app.features {
            match json_rows(&v, f) {
                Ok(r) => rows = r,
                Err(m) => return schema_violation(app, seen, m),
            }
            if let Some(b) = &app.baseline {
                for (r, row) in rows.iter().enumerate() {
                    if let Some((j, v, lo, hi)) = b.out_of_range(row) {
                        return schema_violation(
                            app,
                            seen,
                            format!(
                                "row {r} feature {j} = {v}, outside the baseline's range [{lo}, {hi}]"
                            ),
                        );
                    }
                }
            }
            input["rows"] = rows.len().into();
        }
    }
    seen.input = Some(input);
    let upstream = match forward(app, path, headers, bytes).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !upstream.status().is_success() {
        return stream_back(upstream);
    }
    let (parts, answer) = match read_answer(upstream).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let answers = serde_json::from_slice::<Value>(&answer)
        .ok()
        .and_then(|v| score_rows(&v));
    if let Some((labels, margins)) = &answers {
        seen.output = Some(json!({ "labels": labels, "margins": crate::onnx::json_row(margins) }));
    }
    // Rows and answers pair up only when there are as many of each.
    let rows = match &answers {
        Some((labels, _)) if labels.len() == rows.len() => rows,
        _ if answers.is_some() => vec![],
        _ => rows,
    };
    let pairs = answers.as_ref().filter(|_| !rows.is_empty());
    detect(app, seen, &rows, pairs, answers.is_some(), now);
    if let Some(r) = refused(seen) {
        return r;
    }
    answer_back(&parts, answer)
}

/// Numeric rows of `features` values in a TorchServe JSON body: a row, a list of rows, or
/// either under `data`, `instances`, `inputs` or `input`. No numbers: no rows.
fn json_rows(v: &Value, features: usize) -> Result<Vec<Vec<f32>>, String> {
    let v = match v {
        Value::Object(o) => match ["data", "instances", "inputs", "input"]
            .iter()
            .find_map(|k| o.get(*k))
        {
            Some(x) => x,
            None => return Ok(vec![]),
        },
        x => x,
    };
    let Value::Array(items) = v else {
        return Ok(vec![]);
    };
    let row = |a: &[Value]| -> Option<Vec<f32>> {
        a.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
    };
    let rows: Vec<Vec<f32>> = if items.iter().all(Value::is_number) {
        row(items).into_iter().collect()
    } else if items.iter().all(Value::is_array) {
        items
            .iter()
            .filter_map(|i| i.as_array().and_then(|a| row(a)))
            .collect()
    } else {
        return Ok(vec![]);
    };
    if let Some(r) = rows.iter().find(|r| r.len() != features) {
        return Err(format!(
            "a row of {} values; the baseline's rows have {features}",
            r.len()
        ));
    }
    Ok(rows)
}

/// Labels and margins from a TorchServe answer: probabilities as a list (or a list of lists),
/// or the `{class: probability}` maps of its image classifier (or a list of them). Class names
/// become labels through a hash.
fn score_rows(v: &Value) -> Option<(Vec<usize>, Vec<f32>)> {
    fn one(v: &Value) -> Option<(usize, f32)> {
        let (names, p): (Vec<Option<&str>>, Vec<f32>) = match v {
            Value::Array(a) if a.len() >= 2 && a.iter().all(Value::is_number) => a
                .iter()
                .map(|x| (None, x.as_f64().unwrap_or(0.0) as f32))
                .unzip(),
            Value::Object(o) if o.len() >= 2 && o.values().all(Value::is_number) => o
                .iter()
                .map(|(k, x)| (Some(k.as_str()), x.as_f64().unwrap_or(0.0) as f32))
                .unzip(),
            _ => return None,
        };
        let top = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)?;
        let label = match names[top] {
            Some(n) => (xxhash_rust::xxh3::xxh3_64(n.as_bytes()) % 1_000_003) as usize,
            None => top,
        };
        Some((label, margin(&p)))
    }
    let rows: Vec<(usize, f32)> = match one(v) {
        Some(r) => vec![r],
        None => v.as_array()?.iter().map(one).collect::<Option<_>>()?,
    };
    if rows.is_empty() {
        return None;
    }
    Some(rows.into_iter().unzip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torchserve_bodies_and_answers_are_read() {
        assert_eq!(
            json_rows(&json!({"data": [[1, 2], [3, 4]]}), 2).unwrap(),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
        assert_eq!(json_rows(&json!([1, 2]), 2).unwrap(), vec![vec![1.0, 2.0]]);
        assert!(json_rows(&json!({"text": "hi"}), 2).unwrap().is_empty());
        assert!(
            json_rows(&json!([1, 2, 3]), 2)
                .unwrap_err()
                .contains("3 values")
        );
        let (l, m) = score_rows(&json!([0.1, 0.7, 0.2])).unwrap();
        assert_eq!(l, [1]);
        assert!((m[0] - 0.5).abs() < 1e-6);
        let (l, _) =
            score_rows(&json!([{"cat": 0.9, "dog": 0.1}, {"cat": 0.2, "dog": 0.8}])).unwrap();
        assert_ne!(l[0], l[1]);
        assert!(score_rows(&json!({"text": "hi"})).is_none());
    }
}
