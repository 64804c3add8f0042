//! `proxy --protocol openai`: the monitor in front of an OpenAI-compatible LLM server. The
//! request's text is screened for prompt attacks, its cost parameters and the client's token
//! budget are checked, score requests (`logprobs`, `top_logprobs`, `logit_bias`) count toward
//! output harvesting, and answers are searched for canaries (a streamed answer is tapped as
//! it passes and cut at a canary).

use super::*;
use crate::monitor::llm::{self, CanaryWatch, Endpoint};
use http_body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};

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
        forward_unmonitored(&app, endpoint.path(), &headers, body).await
    };
    finish(&app, seen, response, started).await
}

pub(super) async fn openai_handle(
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
    seen.tokens_asked = prompt.max(1);
    if let Some(r) = charge(app, seen, 1, now).await {
        return r;
    }
    // With shared state the token bucket and the window's count are every replica's (Redis
    // answered); else this replica's.
    let shared = seen.shared_tokens;
    let (used, scores, rate_ok) = app.clients.with(&seen.client, now, |c| {
        if !req.scores.is_empty() {
            c.score_requests += 1;
        }
        let (rate_ok, used) = match shared {
            Some((fit, used)) => (l.token_rate <= 0.0 || fit, used),
            None => (
                l.token_rate <= 0.0
                    || c.tokens
                        .take_n(prompt as f64, l.token_rate, l.token_burst, now),
                c.token_count,
            ),
        };
        (used, c.score_requests, rate_ok)
    });
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
    if !rate_ok {
        over.push(format!(
            "about {prompt} prompt tokens over the rate of {} tokens/s (burst {})",
            l.token_rate, l.token_burst
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
    seen.input = Some(ev::Input::Prompt(ev::PromptSummary {
        digest: digest(app, req.text.as_bytes()),
        chars: req.text.chars().count(),
        prompt_tokens_estimate: prompt,
        messages: req.messages,
        max_tokens: req.max_tokens,
        n: req.n,
        stream: req.stream,
        scores: req.scores.iter().map(|s| s.to_string()).collect(),
        text: app.cfg.log.log_inputs.then(|| req.text.clone()),
    }));
    settle(app, seen, now);
    if let Some(r) = refused(seen) {
        return r;
    }
    let (upstream, deadline) = match forward(app, endpoint.path(), headers, bytes).await {
        Ok(r) => r,
        Err(f) => return upstream_failed(app, seen, f),
    };
    let origin = Origin {
        app: app.clone(),
        client: ev::ClientRef {
            id: seen.client.clone(),
            ip: seen.ip.clone(),
        },
        request: format!("{:016x}", seen.id),
        model: seen.model.clone(),
    };
    if !upstream.status().is_success() {
        return stream_back(app, upstream, deadline, Some(origin));
    }
    if req.stream {
        let (parts, body) = upstream.into_parts();
        let tap = Tap {
            inner: super::upstream::upstream(app).bounded(body, deadline, Some(origin)),
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
    let (parts, answer) = match read_answer(app, seen, upstream, deadline).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let a = serde_json::from_slice::<Value>(&answer)
        .map(|v| llm::parse_answer(&v))
        .unwrap_or_default();
    let spent = a.prompt_tokens.unwrap_or(prompt)
        + a.completion_tokens
            .unwrap_or_else(|| llm::estimate_tokens(&a.text));
    add_tokens(app, &seen.client, spent, prompt, now);
    seen.output = Some(ev::Output::Tokens {
        prompt_tokens: a.prompt_tokens,
        completion_tokens: a.completion_tokens,
        chars: a.text.chars().count(),
    });
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
pub(super) struct Tap {
    pub(super) inner: Bounded,
    pub(super) app: Arc<App>,
    pub(super) client: String,
    pub(super) ip: String,
    pub(super) request: String,
    pub(super) model: String,
    pub(super) watch: CanaryWatch,
    /// The current, incomplete SSE line.
    pub(super) line: Vec<u8>,
    pub(super) chars: usize,
    pub(super) prompt_tokens: Option<u64>,
    pub(super) completion_tokens: Option<u64>,
    pub(super) prompt_estimate: u64,
    /// Cut at a canary (or by the upstream's limits): nothing more goes to the client.
    pub(super) cut: bool,
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
        let client = ev::ClientRef {
            id: self.client.clone(),
            ip: self.ip.clone(),
        };
        app.log.log(&request_finding(
            &fired,
            &client,
            &self.request,
            &self.model,
        ));
        app.metrics.count_signal(sig::PROMPT_LEAK.id);
        if action == Action::Block {
            let now = now_secs(app);
            app.clients.with(&self.client, now, |c| {
                c.block(
                    sig::PROMPT_LEAK.id,
                    now + app.cfg.detect.block_seconds as f64,
                )
            });
        }
        action == Action::Block
    }
}

impl http_body::Body for Tap {
    type Data = axum::body::Bytes;
    type Error = super::upstream::Cut;

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
            // Cut at the size cap or the deadline: an error event (which says it was cut),
            // and the stream ends, as it does at a canary.
            Poll::Ready(Some(Err(_))) if !this.cut => {
                this.cut = true;
                Poll::Ready(Some(Ok(Frame::data(axum::body::Bytes::from_static(
                    b"\n\ndata: {\"error\":{\"message\":\"stream cut by modelsec: monitor/upstream-failure\",\"type\":\"modelsec\"}}\n\n",
                )))))
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
        add_tokens(
            app,
            &self.client,
            spent,
            self.prompt_estimate,
            now_secs(app),
        );
        app.log.log(&Event::Stream(ev::StreamEvent {
            client: ev::ClientRef {
                id: self.client.clone(),
                ip: self.ip.clone(),
            },
            request: ev::RequestRef {
                id: self.request.clone(),
            },
            model: ev::ModelRef {
                name: self.model.clone(),
            },
            output: ev::StreamOutput {
                chars: self.chars,
                prompt_tokens: self.prompt_tokens,
                completion_tokens: self.completion_tokens,
                tokens_counted: spent,
                cut: self.cut,
            },
        }));
    }
}
