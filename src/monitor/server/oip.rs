//! Open Inference Protocol v2 (REST): metadata routes, `POST /v2/models/{name}/infer`, the
//! tensor checks, and the answer.

use super::*;

pub(super) fn oip_dtype(e: Option<Elem>) -> &'static str {
    match e {
        Some(Elem::F32) => "FP32",
        Some(Elem::F64) => "FP64",
        Some(Elem::I64) => "INT64",
        Some(Elem::I32) => "INT32",
        Some(Elem::I16) => "INT16",
        Some(Elem::I8) => "INT8",
        Some(Elem::U64) => "UINT64",
        Some(Elem::U32) => "UINT32",
        Some(Elem::U16) => "UINT16",
        Some(Elem::U8) => "UINT8",
        Some(Elem::Bool) => "BOOL",
        None => "BYTES",
    }
}

pub(super) fn tensor_meta(specs: &[InputSpec]) -> Value {
    specs
        .iter()
        .map(|s| {
            if is_zipmap(s) {
                // A sequence of {class: probability} maps is answered as an [N, classes]
                // float tensor, the classes in `parameters.classes`.
                json!({ "name": s.name, "datatype": "FP32", "shape": [-1, -1] })
            } else {
                json!({ "name": s.name, "datatype": oip_dtype(s.elem), "shape": s.dims })
            }
        })
        .collect()
}

/// A ZipMap output: `seq(map(int64|string, float))`.
pub(super) fn is_zipmap(s: &InputSpec) -> bool {
    s.dtype.starts_with("Sequence<Map<")
}

pub(super) async fn server_meta() -> Response {
    axum::Json(
        json!({ "name": "modelsec", "version": env!("CARGO_PKG_VERSION"), "extensions": [] }),
    )
    .into_response()
}

pub(super) async fn ready_route(State(app): State<Arc<App>>) -> StatusCode {
    if app.log.stats.failed.load(Ordering::Relaxed) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

pub(super) async fn model_ready(
    State(app): State<Arc<App>>,
    UrlPath(name): UrlPath<String>,
) -> StatusCode {
    if name == app.name {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

pub(super) async fn model_meta(
    State(app): State<Arc<App>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    if name != app.name {
        return error(StatusCode::NOT_FOUND, &format!("no model `{name}`"));
    }
    axum::Json(json!({
        "name": app.name,
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": tensor_meta(&app.inputs),
        "outputs": tensor_meta(&app.outputs),
    }))
    .into_response()
}

/// Paths the monitor does not cover are not forwarded: fail closed.
pub(super) async fn not_served(State(app): State<Arc<App>>, uri: axum::http::Uri) -> Response {
    let routes = match app.protocol {
        Protocol::OipV2 => "/v2, /v2/models/{name}[/ready|/infer]",
        Protocol::OpenAi => "POST /v1/chat/completions, /v1/completions, /v1/embeddings",
        Protocol::TorchServe => "POST /predictions/{model}[/{version}]",
    };
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "`{}` is not a route of this {} monitor (it serves {routes}, /v2/health/live|ready and /metrics)",
            uri.path(),
            app.protocol.as_str()
        ),
    )
}

pub(super) async fn infer(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let mut seen = Seen::new(&app, peer, format!("/v2/models/{name}/infer"), name.clone());
    let response = if app.monitor_on {
        handle(&app, &name, &headers, body, &mut seen).await
    } else {
        unmonitored(&app, &name, &headers, body, &mut seen).await
    };
    finish(&app, seen, response, started).await
}

/// The OIP v2 pipeline; fills `seen` for the event.
pub(super) async fn handle(
    app: &Arc<App>,
    name: &str,
    headers: &HeaderMap,
    body: Body,
    seen: &mut Seen,
) -> Response {
    let unknown = (name != app.name).then(|| format!("no model `{name}`"));
    let Admitted {
        bytes, now, _slot, ..
    } = match admit(app, headers, unknown, body, seen).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    // Parse and check the tensors.
    let request: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return schema_violation(app, seen, format!("the body is not JSON: {e}")),
    };
    let (data, rows) = match check_request(app, &request) {
        Ok(x) => x,
        Err(m) => return schema_violation(app, seen, m),
    };
    let wanted = match requested_outputs(app, &request) {
        Ok(w) => w,
        Err(m) => return schema_violation(app, seen, m),
    };
    seen.input = Some(input_summary(app, &data));
    seen.rows = app.features.map(|_| rows.len());
    if let Some(r) = charge(app, seen, rows.len(), now).await {
        return r;
    }
    // Inference, here or upstream.
    let ran = match &app.backend {
        Backend::Local(pool) => infer_local(app, pool, data, &request, wanted.clone(), seen).await,
        Backend::Remote(up) => infer_remote(app, up, name, bytes, seen).await,
    };
    let (outputs, answer) = match ran {
        Ok(x) => x,
        Err(r) => return r,
    };
    let scores_sent = outputs
        .probabilities()
        .is_some_and(|p| wanted.as_ref().is_none_or(|w| w.iter().any(|n| n == &p.0)));
    let answers = classifier(&outputs);
    if let Some((labels, margins)) = &answers {
        seen.output = Some(ev::Output::Labels {
            labels: labels.clone(),
            margins: ev::Floats(margins.clone()),
        });
    }
    detect(app, seen, &rows, answers.as_ref(), scores_sent, now);
    if let Some(r) = refused(seen) {
        return r;
    }
    buffered(app, seen, answer)
}

/// Parse, run, answer: the same serving path (and the same limits) without any monitoring.
pub(super) async fn unmonitored(
    app: &Arc<App>,
    name: &str,
    headers: &HeaderMap,
    body: Body,
    seen: &mut Seen,
) -> Response {
    if name != app.name {
        return error(StatusCode::NOT_FOUND, &format!("no model `{name}`"));
    }
    // Clients by address: the inference queue is fair between them.
    seen.client = seen.ip.clone();
    let (bytes, _held) = match read_body(app, headers, body).await {
        Ok(x) => x,
        Err(e) => return body_error(app, e),
    };
    let request: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
            );
        }
    };
    let checked = check_request(app, &request)
        .and_then(|(data, _)| requested_outputs(app, &request).map(|wanted| (data, wanted)));
    let (data, wanted) = match checked {
        Ok(x) => x,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    let answered = match &app.backend {
        Backend::Local(pool) => infer_local(app, pool, data, &request, wanted, seen).await,
        Backend::Remote(up) => infer_remote(app, up, name, bytes, seen).await,
    };
    match answered {
        Ok((_, body)) => buffered(app, seen, body),
        Err(r) => r,
    }
}

/// The outputs a request asks for (`None`: all); naming one the model does not have is a
/// 400, as OIP v2 servers answer.
pub(super) fn requested_outputs(app: &App, request: &Value) -> Result<Option<Vec<String>>, String> {
    let Some(list) = request.get("outputs") else {
        return Ok(None);
    };
    let list = list
        .as_array()
        .ok_or("`outputs` must be a list of {\"name\": …} (Open Inference Protocol v2)")?;
    let mut names = Vec::with_capacity(list.len());
    for o in list {
        let n = o
            .get("name")
            .and_then(Value::as_str)
            .ok_or("each requested output needs a `name`")?;
        if !app.outputs.is_empty() && !app.outputs.iter().any(|s| s.name == n) {
            let have: Vec<&str> = app.outputs.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "unknown output `{}` requested; the model's outputs: {}",
                n.chars().take(100).collect::<String>(),
                have.join(", ")
            ));
        }
        names.push(n.to_string());
    }
    Ok(Some(names))
}

pub(super) fn elem_for(datatype: &str) -> Option<Elem> {
    Some(match datatype {
        "FP32" => Elem::F32,
        "FP64" => Elem::F64,
        "INT64" => Elem::I64,
        "INT32" => Elem::I32,
        "INT16" => Elem::I16,
        "INT8" => Elem::I8,
        "UINT64" => Elem::U64,
        "UINT32" => Elem::U32,
        "UINT16" => Elem::U16,
        "UINT8" => Elem::U8,
        "BOOL" => Elem::Bool,
        _ => return None,
    })
}

pub(super) fn flatten(v: &Value, out: &mut Vec<f64>, limit: usize) -> Result<(), String> {
    match v {
        Value::Array(a) => {
            for x in a {
                flatten(x, out, limit)?;
            }
            Ok(())
        }
        Value::Number(n) => {
            if out.len() >= limit {
                return Err("more values than the shape says".into());
            }
            out.push(n.as_f64().ok_or("a number out of range")?);
            Ok(())
        }
        Value::Bool(b) => {
            if out.len() >= limit {
                return Err("more values than the shape says".into());
            }
            out.push(if *b { 1.0 } else { 0.0 });
            Ok(())
        }
        Value::String(s) => Err(format!(
            "a string value `{}`: tensors hold numbers (NaN and infinities are not valid input)",
            s.chars().take(20).collect::<String>()
        )),
        Value::Null => Err("a null value".into()),
        Value::Object(_) => Err("an object where a number belongs".into()),
    }
}

/// The strings of a BYTES tensor (nested lists flattened). ONNX Runtime takes C strings: a
/// string holding NUL cannot be passed.
pub(super) fn flatten_strings(
    v: &Value,
    out: &mut Vec<String>,
    limit: usize,
) -> Result<(), String> {
    match v {
        Value::Array(a) => {
            for x in a {
                flatten_strings(x, out, limit)?;
            }
            Ok(())
        }
        Value::String(s) => {
            if out.len() >= limit {
                return Err("more values than the shape says".into());
            }
            if s.contains('\0') {
                return Err("a string holding NUL, which the model cannot take".into());
            }
            out.push(s.clone());
            Ok(())
        }
        _ => Err("BYTES tensors hold strings".into()),
    }
}

/// Check an OIP v2 infer body against the model; the tensors to run, and the rows of a single
/// float [N, F] input (for the detectors).
/// The named tensors to run, and the rows the detectors read.
pub(super) type Checked = (Vec<(String, Data)>, Vec<Vec<f32>>);

pub(super) fn check_request(app: &App, v: &Value) -> Result<Checked, String> {
    let inputs = v
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or("no `inputs` array (Open Inference Protocol v2)")?;
    let mut data = Vec::new();
    let mut rows = Vec::new();
    for spec in &app.inputs {
        let given: Vec<&Value> = inputs
            .iter()
            .filter(|i| i.get("name").and_then(Value::as_str) == Some(spec.name.as_str()))
            .collect();
        let t = match given[..] {
            [t] => t,
            [] => return Err(format!("input `{}` is missing", spec.name)),
            _ => return Err(format!("input `{}` is given twice", spec.name)),
        };
        let dt = t.get("datatype").and_then(Value::as_str).unwrap_or("");
        let want = if spec.is_string() {
            "BYTES"
        } else {
            oip_dtype(spec.elem)
        };
        if dt != want {
            return Err(format!(
                "input `{}`: datatype `{}`, the model takes {want}",
                spec.name,
                dt.chars().take(20).collect::<String>()
            ));
        }
        let shape: Vec<i64> = t
            .get("shape")
            .and_then(Value::as_array)
            .ok_or(format!("input `{}`: no `shape`", spec.name))?
            .iter()
            .map(|d| d.as_i64().filter(|&d| d >= 0))
            .collect::<Option<_>>()
            .ok_or(format!(
                "input `{}`: shape must be non-negative integers",
                spec.name
            ))?;
        if shape.len() != spec.dims.len()
            || shape
                .iter()
                .zip(&spec.dims)
                .any(|(&s, &d)| d >= 0 && s != d)
        {
            return Err(format!(
                "input `{}`: shape {shape:?}, the model takes {:?} (-1: any)",
                spec.name, spec.dims
            ));
        }
        let count = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d as usize))
            .ok_or(format!("input `{}`: shape too large", spec.name))?;
        if spec.is_string() {
            let mut strings = Vec::with_capacity(count.min(1 << 16));
            flatten_strings(t.get("data").unwrap_or(&Value::Null), &mut strings, count)
                .map_err(|m| format!("input `{}`: {m}", spec.name))?;
            if strings.len() != count {
                return Err(format!(
                    "input `{}`: {} strings for shape {shape:?} ({count})",
                    spec.name,
                    strings.len()
                ));
            }
            data.push((spec.name.clone(), Data::Str(shape, strings)));
            continue;
        }
        let Some(elem) = spec.elem else {
            return Err(format!(
                "input `{}` has a type this server cannot take",
                spec.name
            ));
        };
        let mut values = Vec::with_capacity(count.min(1 << 20));
        flatten(t.get("data").unwrap_or(&Value::Null), &mut values, count)
            .map_err(|m| format!("input `{}`: {m}", spec.name))?;
        if values.len() != count {
            return Err(format!(
                "input `{}`: {} values for shape {shape:?} ({count})",
                spec.name,
                values.len()
            ));
        }
        let d = match elem {
            Elem::F32 => Data::F32(shape.clone(), values.iter().map(|&x| x as f32).collect()),
            Elem::F64 => Data::F64(shape.clone(), values.clone()),
            e => {
                let (lo, hi) = e.int_range();
                if let Some(bad) = values
                    .iter()
                    .find(|&&x| x.fract() != 0.0 || x < lo as f64 || x > hi as f64)
                {
                    return Err(format!(
                        "input `{}`: {bad} is not a {} value",
                        spec.name,
                        oip_dtype(Some(e))
                    ));
                }
                Data::Int(e, shape.clone(), values.iter().map(|&x| x as i64).collect())
            }
        };
        if app.features.is_some() {
            let f = spec.dims[1] as usize;
            let floats: Vec<f32> = values.iter().map(|&x| x as f32).collect();
            if let Some(i) = floats.iter().position(|x| !x.is_finite()) {
                return Err(format!("input `{}`: value {i} is not finite", spec.name));
            }
            rows = floats.chunks(f).map(<[f32]>::to_vec).collect();
            if let Some(b) = &app.baseline {
                for (r, row) in rows.iter().enumerate() {
                    if let Some((j, v, lo, hi)) = b.out_of_range(row) {
                        return Err(format!(
                            "input `{}` row {r} feature {j} = {v}, outside the baseline's range [{lo}, {hi}]",
                            spec.name
                        ));
                    }
                }
            }
        }
        data.push((spec.name.clone(), d));
    }
    if inputs.len() != app.inputs.len() {
        let names: Vec<&str> = app.inputs.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "unknown inputs; the model takes: {}",
            names.join(", ")
        ));
    }
    Ok((data, rows))
}

/// Digest (keyed BLAKE3 of the values), shape, dtype and summary statistics; raw values only
/// when the config asks.
pub(super) fn input_summary(app: &App, data: &[(String, Data)]) -> ev::Input {
    let mut m = std::collections::BTreeMap::new();
    for (name, d) in data {
        let mut h = blake3::Hasher::new_keyed(&app.key);
        let values = match d {
            Data::Str(_, strings) => {
                for s in strings {
                    h.update(&(s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
                vec![]
            }
            d => d.floats(),
        };
        for v in &values {
            h.update(&v.to_le_bytes());
        }
        let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0f64);
        for &v in &values {
            lo = lo.min(v);
            hi = hi.max(v);
            sum += v as f64;
        }
        let stats = (!values.is_empty()).then(|| ev::Stats {
            min: lo,
            max: hi,
            mean: sum / values.len() as f64,
        });
        m.insert(
            name.clone(),
            ev::TensorSummary {
                digest: h.finalize().to_hex().to_string(),
                shape: d.shape().to_vec(),
                dtype: d.dtype().into(),
                stats,
                values: app.cfg.log.log_inputs.then_some(ev::Floats(values)),
            },
        );
    }
    ev::Input::Tensors(m)
}
