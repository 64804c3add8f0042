//! The upstream of `proxy`: one HTTP client for every protocol, the OIP v2 metadata read at
//! start, forwarding, and answers passed back.

use super::*;

use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Answers read in full for the detectors are capped at this size (streamed answers are not).
pub(super) const MAX_ANSWER_BYTES: usize = 64 << 20;

pub(super) type Upstream = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<axum::body::Bytes>,
>;

pub(super) fn upstream_client() -> Upstream {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Run the checked tensors: in-process, or by forwarding the original body upstream (then the
/// upstream's answer is parsed for the detectors and passed through unchanged). An upstream
/// error status is passed through too; an unreachable upstream is 502.
pub(super) async fn infer_backend(
    app: &App,
    name: &str,
    data: &[(String, Data)],
    body: axum::body::Bytes,
) -> Result<(Outputs, Option<axum::body::Bytes>), Response> {
    match &app.backend {
        Backend::Local(pool) => {
            let outputs = {
                let i = app.next_model.fetch_add(1, Ordering::Relaxed) % pool.len();
                let mut model = pool[i].lock().unwrap_or_else(|p| p.into_inner());
                model.run(data)
            };
            outputs.map(|o| (o, None)).map_err(|e| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("inference failed: {}", e.lines().next().unwrap_or("")),
                )
            })
        }
        Backend::Remote { client, base } => {
            use http_body_util::BodyExt;
            let url = format!("{base}/v2/models/{name}/infer");
            let req = hyper::Request::post(&url)
                .header(header::CONTENT_TYPE, "application/json")
                .body(http_body_util::Full::new(body))
                .map_err(|e| error(StatusCode::BAD_GATEWAY, &e.to_string()))?;
            let resp = client.request(req).await.map_err(|e| {
                error(
                    StatusCode::BAD_GATEWAY,
                    &format!(
                        "upstream `{base}` did not answer ({e}); is the model server running there?"
                    ),
                )
            })?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| error(StatusCode::BAD_GATEWAY, &format!("upstream body: {e}")))?
                .to_bytes();
            if !status.is_success() {
                return Err((status, pass_through(bytes)).into_response());
            }
            let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                error(
                    StatusCode::BAD_GATEWAY,
                    &format!("upstream answered something that is not JSON: {e}"),
                )
            })?;
            Ok((parse_outputs(&v), Some(bytes)))
        }
    }
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
    client: &Upstream,
    base: &str,
    name: &str,
) -> Result<(Vec<InputSpec>, Vec<InputSpec>), ServeError> {
    use http_body_util::BodyExt;
    let url = format!("{base}/v2/models/{name}");
    let err = |m: String| ServeError::Other(format!("upstream metadata `{url}`: {m}"));
    let req = hyper::Request::get(&url)
        .body(http_body_util::Full::new(axum::body::Bytes::new()))
        .map_err(|e| err(e.to_string()))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| err(format!("{e}; is the upstream running and speaking OIP v2?")))?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| err(e.to_string()))?
        .to_bytes();
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
/// is never forwarded (the config's upstream key is, when set). 502 when there is no answer.
pub(super) async fn forward(
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

pub(super) fn copy_headers(from: &axum::http::HeaderMap, to: &mut axum::http::HeaderMap) {
    for h in [header::CONTENT_TYPE, header::CACHE_CONTROL] {
        if let Some(v) = from.get(&h) {
            to.insert(h, v.clone());
        }
    }
}

/// The upstream's answer, streamed through unchanged.
pub(super) fn stream_back(resp: hyper::Response<Incoming>) -> Response {
    let (parts, body) = resp.into_parts();
    let mut r = Response::new(Body::new(body));
    *r.status_mut() = parts.status;
    copy_headers(&parts.headers, r.headers_mut());
    r
}

/// Read a whole answer (bounded) for the detectors.
pub(super) async fn read_answer(
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

pub(super) fn answer_back(
    parts: &axum::http::response::Parts,
    bytes: axum::body::Bytes,
) -> Response {
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = parts.status;
    copy_headers(&parts.headers, r.headers_mut());
    r
}

/// Forward as is, without the monitor (the benchmark's baseline).
pub(super) async fn forward_unmonitored(
    app: &App,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, app.cfg.server.max_body_bytes).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    };
    match forward(app, path, headers, bytes).await {
        Ok(r) => stream_back(r),
        Err(r) => r,
    }
}
