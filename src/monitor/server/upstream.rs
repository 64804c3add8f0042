//! The upstream of `proxy`: one HTTP client for every protocol, the OIP v2 metadata read at
//! start, forwarding, and answers passed back. Every exchange is bounded: the connect, the
//! wait for the response headers and the whole exchange each have a timeout, and no answer
//! passes `server.max_response_bytes`, whether it is read in full (for the detectors) or
//! streamed through (cut there, with an error).

use super::*;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<axum::body::Bytes>,
>;

/// The upstream server: its base URL, a pooled client and the limits of an exchange.
pub(super) struct Upstream {
    client: Client,
    pub(super) base: String,
    header_timeout: Duration,
    total_timeout: Duration,
    max_bytes: usize,
}

/// Why the upstream gave no usable answer; each is a 502 or 504 and a
/// `monitor/upstream-failure` finding.
#[derive(Debug)]
pub(super) enum Failure {
    /// No connection (refused, unreachable, or not within the connect timeout).
    Unreachable(String),
    /// Connected, but no response headers within `upstream.header_timeout`.
    NoHeaders,
    /// The exchange passed `upstream.total_timeout`.
    Total,
    /// The answer passed `server.max_response_bytes`.
    TooLarge,
    /// The answer broke off, or is not what the protocol says.
    Broken(String),
}

impl Failure {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Failure::NoHeaders | Failure::Total => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Failure::Unreachable(_) => "unreachable",
            Failure::NoHeaders => "header_timeout",
            Failure::Total => "total_timeout",
            Failure::TooLarge => "too_large",
            Failure::Broken(_) => "broken_answer",
        }
    }

    fn describe(&self, app: &App, base: &str) -> String {
        let u = &app.cfg.upstream;
        match self {
            Failure::Unreachable(e) => format!(
                "upstream `{base}` did not answer ({e}); is the model server running there?"
            ),
            Failure::NoHeaders => format!(
                "upstream `{base}` sent no response within {} s (upstream.header_timeout)",
                u.header_timeout
            ),
            Failure::Total => format!(
                "upstream `{base}` did not finish its answer within {} s (upstream.total_timeout)",
                u.total_timeout
            ),
            Failure::TooLarge => format!(
                "upstream `{base}` answered more than {} bytes (server.max_response_bytes)",
                app.cfg.server.max_response_bytes
            ),
            Failure::Broken(e) => format!("upstream `{base}` answered something unusable: {e}"),
        }
    }
}

/// The answer to a client for an upstream failure, and its finding.
pub(super) fn upstream_failed(app: &App, seen: &mut Seen, f: Failure) -> Response {
    let base = match &app.backend {
        Backend::Remote(u) => u.base.as_str(),
        Backend::Local(_) => "",
    };
    let message = f.describe(app, base);
    seen.fired.push(Fired {
        rule: &sig::UPSTREAM_FAILURE,
        action: Action::Log,
        message: message.clone(),
        evidence: json!({ "reason": f.reason() }),
    });
    error(f.status(), &message)
}

impl Upstream {
    pub(super) fn new(base: &str, cfg: &Config) -> Upstream {
        let u = &cfg.upstream;
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_connect_timeout(Some(conn::secs(u.connect_timeout)));
        connector.set_nodelay(true);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(256)
                .build(connector);
        Upstream {
            client,
            base: base.trim_end_matches('/').to_string(),
            header_timeout: conn::secs(u.header_timeout),
            total_timeout: conn::secs(u.total_timeout),
            max_bytes: cfg.server.max_response_bytes,
        }
    }

    /// Send `req`; the response headers, and the deadline for the rest of the exchange.
    pub(super) async fn send(
        &self,
        req: hyper::Request<http_body_util::Full<axum::body::Bytes>>,
    ) -> Result<(hyper::Response<Incoming>, tokio::time::Instant), Failure> {
        let deadline = tokio::time::Instant::now() + self.total_timeout;
        let headers = (tokio::time::Instant::now() + self.header_timeout).min(deadline);
        match tokio::time::timeout_at(headers, self.client.request(req)).await {
            Err(_) if headers == deadline => Err(Failure::Total),
            Err(_) => Err(Failure::NoHeaders),
            Ok(Err(e)) if e.is_connect() => Err(Failure::Unreachable(connect_error(&e))),
            Ok(Err(e)) => Err(Failure::Broken(e.to_string())),
            Ok(Ok(r)) => Ok((r, deadline)),
        }
    }

    /// Read a whole body: at most `server.max_response_bytes`, before `deadline`.
    pub(super) async fn read(
        &self,
        body: Incoming,
        deadline: tokio::time::Instant,
    ) -> Result<axum::body::Bytes, Failure> {
        let mut body = body;
        let mut buf: Vec<u8> = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Err(_) => return Err(Failure::Total),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(Failure::Broken(e.to_string())),
                Ok(Some(Ok(f))) => {
                    if let Ok(d) = f.into_data() {
                        if buf.len() + d.len() > self.max_bytes {
                            return Err(Failure::TooLarge);
                        }
                        buf.extend_from_slice(&d);
                    }
                }
            }
        }
        Ok(buf.into())
    }

    /// A body streamed through as it comes: cut at the size cap and at the deadline.
    pub(super) fn bounded(
        &self,
        body: Incoming,
        deadline: tokio::time::Instant,
        origin: Option<Origin>,
    ) -> Bounded {
        Bounded {
            inner: body,
            left: self.max_bytes,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            origin,
            done: false,
        }
    }
}

/// The cause of a connect failure, without the client library's wrapping.
fn connect_error(e: &hyper_util::client::legacy::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// Who a streamed answer goes to, for the finding written when it is cut.
pub(super) struct Origin {
    pub(super) app: Arc<App>,
    pub(super) client: ev::ClientRef,
    pub(super) request: String,
    pub(super) model: String,
}

/// An upstream body on its way to the client, cut (with an error, so the client sees a broken
/// answer, never a short one passed off as whole) at `server.max_response_bytes` or at the end
/// of `upstream.total_timeout`.
pub(super) struct Bounded {
    inner: Incoming,
    left: usize,
    deadline: Pin<Box<tokio::time::Sleep>>,
    origin: Option<Origin>,
    done: bool,
}

/// Why a streamed answer was cut.
#[derive(Debug, thiserror::Error)]
pub(super) enum Cut {
    #[error("the upstream's answer passed the size limit (server.max_response_bytes)")]
    TooLarge,
    #[error("the upstream's answer passed upstream.total_timeout")]
    Total,
    #[error("the upstream's answer broke off: {0}")]
    Broken(hyper::Error),
}

impl Bounded {
    fn cut(&mut self, c: Cut) -> Poll<Option<Result<http_body::Frame<axum::body::Bytes>, Cut>>> {
        self.done = true;
        if let Some(o) = &self.origin
            && !matches!(c, Cut::Broken(_))
        {
            let fired = Fired {
                rule: &sig::UPSTREAM_FAILURE,
                action: Action::Log,
                message: format!("a streamed answer was cut: {c}"),
                evidence: json!({
                    "reason": if matches!(c, Cut::TooLarge) { "too_large" } else { "total_timeout" },
                    "streamed": true,
                }),
            };
            o.app
                .log
                .log(&request_finding(&fired, &o.client, &o.request, &o.model));
            o.app.metrics.count_signal(sig::UPSTREAM_FAILURE.id);
        }
        Poll::Ready(Some(Err(c)))
    }
}

impl http_body::Body for Bounded {
    type Data = axum::body::Bytes;
    type Error = Cut;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let n = frame.data_ref().map_or(0, |d| d.len());
                if n > this.left {
                    return this.cut(Cut::TooLarge);
                }
                this.left -= n;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => this.cut(Cut::Broken(e)),
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    return this.cut(Cut::Total);
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }
}

/// OIP v2 through the upstream: forward the original body, read the answer in full (bounded)
/// for the detectors and pass it through unchanged. An upstream error status is passed
/// through too.
pub(super) async fn infer_remote(
    app: &App,
    up: &Upstream,
    name: &str,
    body: axum::body::Bytes,
    seen: &mut Seen,
) -> Result<(Outputs, axum::body::Bytes), Response> {
    let url = format!("{}/v2/models/{name}/infer", up.base);
    let mut req = hyper::Request::post(&url).header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = &app.upstream_auth {
        req = req.header(header::AUTHORIZATION, a.clone());
    }
    let req = req
        .body(http_body_util::Full::new(body))
        .map_err(|e| error(StatusCode::BAD_GATEWAY, &e.to_string()))?;
    let (resp, deadline) = up
        .send(req)
        .await
        .map_err(|f| upstream_failed(app, seen, f))?;
    let status = resp.status();
    let bytes = up
        .read(resp.into_body(), deadline)
        .await
        .map_err(|f| upstream_failed(app, seen, f))?;
    if !status.is_success() {
        return Err((status, pass_through(bytes)).into_response());
    }
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| upstream_failed(app, seen, Failure::Broken(format!("not JSON ({e})"))))?;
    Ok((parse_outputs(&v), bytes))
}

/// An OIP v2 response's outputs as the detectors read them.
pub(super) fn parse_outputs(v: &Value) -> Outputs {
    let mut o = Outputs::default();
    for t in v["outputs"].as_array().into_iter().flatten() {
        let name = t["name"].as_str().unwrap_or("").to_string();
        let shape: Vec<i64> = t["shape"]
            .as_array()
            .map(|d| d.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let mut values = vec![];
        if flatten(&t["data"], &mut values, usize::MAX).is_err() {
            o.undecoded.push(name);
            continue;
        }
        match t["datatype"].as_str().unwrap_or("") {
            "FP32" | "FP64" | "FP16" => {
                o.floats
                    .push((name, shape, values.iter().map(|&x| x as f32).collect()))
            }
            dt if elem_for(dt).is_some() => {
                o.ints
                    .push((name, shape, values.iter().map(|&x| x as i64).collect()))
            }
            _ => o.undecoded.push(name),
        }
    }
    o
}

/// `GET {base}/v2/models/{name}`: the upstream model's inputs and outputs.
pub(super) async fn upstream_tensors(
    up: &Upstream,
    name: &str,
) -> Result<(Vec<InputSpec>, Vec<InputSpec>), ServeError> {
    let url = format!("{}/v2/models/{name}", up.base);
    let err = |m: String| ServeError::Other(format!("upstream metadata `{url}`: {m}"));
    let req = hyper::Request::get(&url)
        .body(http_body_util::Full::new(axum::body::Bytes::new()))
        .map_err(|e| err(e.to_string()))?;
    let fail = |f: Failure| match f {
        Failure::Unreachable(e) => {
            err(format!("{e}; is the upstream running and speaking OIP v2?"))
        }
        Failure::NoHeaders => err(format!(
            "no answer within {} s; is the upstream running and speaking OIP v2?",
            up.header_timeout.as_secs_f64()
        )),
        Failure::Total => err("the answer did not finish in time".into()),
        Failure::TooLarge => err("the answer is over server.max_response_bytes".into()),
        Failure::Broken(e) => err(e),
    };
    let (resp, deadline) = up.send(req).await.map_err(fail)?;
    let status = resp.status();
    let bytes = up.read(resp.into_body(), deadline).await.map_err(fail)?;
    if !status.is_success() {
        return Err(err(format!("HTTP {status}")));
    }
    let meta: Value = serde_json::from_slice(&bytes).map_err(|e| err(format!("not JSON: {e}")))?;
    let specs = |key: &str| -> Vec<InputSpec> {
        meta.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|t| InputSpec {
                        name: t["name"].as_str().unwrap_or("").to_string(),
                        dtype: t["datatype"].as_str().unwrap_or("").to_string(),
                        dims: t["shape"]
                            .as_array()
                            .map(|d| d.iter().filter_map(Value::as_i64).collect())
                            .unwrap_or_default(),
                        elem: elem_for(t["datatype"].as_str().unwrap_or("")),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok((specs("inputs"), specs("outputs")))
}

pub(super) fn pass_through(body: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// POST the body upstream with the client's content type; the client's own `Authorization`
/// is never forwarded (the config's upstream key is, when set). The response headers and the
/// exchange's deadline.
pub(super) async fn forward(
    app: &App,
    path: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Result<(hyper::Response<Incoming>, tokio::time::Instant), Failure> {
    let Backend::Remote(up) = &app.backend else {
        return Err(Failure::Broken("no upstream configured".into()));
    };
    let mut req = hyper::Request::post(format!("{}{path}", up.base));
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
        .map_err(|e| Failure::Broken(e.to_string()))?;
    up.send(req).await
}

/// The upstream of the app (`proxy` only).
pub(super) fn upstream(app: &App) -> &Upstream {
    match &app.backend {
        Backend::Remote(u) => u,
        Backend::Local(_) => unreachable!("the proxy's handlers run only with an upstream"),
    }
}

pub(super) fn copy_headers(from: &axum::http::HeaderMap, to: &mut axum::http::HeaderMap) {
    for h in [header::CONTENT_TYPE, header::CACHE_CONTROL] {
        if let Some(v) = from.get(&h) {
            to.insert(h, v.clone());
        }
    }
}

/// The upstream's answer, streamed through unchanged (bounded).
pub(super) fn stream_back(
    app: &App,
    resp: hyper::Response<Incoming>,
    deadline: tokio::time::Instant,
    origin: Option<Origin>,
) -> Response {
    let (parts, body) = resp.into_parts();
    let mut r = Response::new(Body::new(upstream(app).bounded(body, deadline, origin)));
    *r.status_mut() = parts.status;
    copy_headers(&parts.headers, r.headers_mut());
    r
}

/// Read a whole answer (bounded) for the detectors.
pub(super) async fn read_answer(
    app: &App,
    seen: &mut Seen,
    resp: hyper::Response<Incoming>,
    deadline: tokio::time::Instant,
) -> Result<(axum::http::response::Parts, axum::body::Bytes), Response> {
    let (parts, body) = resp.into_parts();
    let bytes = upstream(app)
        .read(body, deadline)
        .await
        .map_err(|f| upstream_failed(app, seen, f))?;
    Ok((parts, bytes))
}

pub(super) fn answer_back(
    parts: &axum::http::response::Parts,
    bytes: axum::body::Bytes,
) -> Response {
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = parts.status;
    copy_headers(&parts.headers, r.headers_mut());
    r
}

/// Forward as is, without the monitor (the benchmark's baseline); the same limits apply.
pub(super) async fn forward_unmonitored(
    app: &App,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let (bytes, _held) = match read_body(app, headers, body).await {
        Ok(x) => x,
        Err(e) => return body_error(app, e),
    };
    match forward(app, path, headers, bytes).await {
        Ok((r, deadline)) => stream_back(app, r, deadline, None),
        Err(f) => {
            let base = &upstream(app).base;
            error(f.status(), &f.describe(app, base))
        }
    }
}
