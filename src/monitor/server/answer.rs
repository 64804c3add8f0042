//! Local inference and its answer: the run on the inference pool under the request's deadline,
//! the OIP v2 response body built on the inference thread, straight from the outputs and
//! capped at `server.max_response_bytes` (writing stops at the cap), and every way a run can
//! fail turned into its status code and finding: 504 past the deadline, 503 when no thread was
//! free or the memory cap was reached, 422 over the answer cap, 500 (generic; the runtime's
//! message only in the event log) when the model failed.

use super::pool::Abandoned;
use super::*;
use crate::onnx::{ClassKeys, RunError};
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// Run the checked tensors on the pool; the outputs (for the detectors) and the answer's body.
pub(super) async fn infer_local(
    app: &Arc<App>,
    pool: &Pool,
    data: Vec<(String, Data)>,
    request: &Value,
    wanted: Option<Vec<String>>,
    seen: &mut Seen,
) -> Result<(Outputs, axum::body::Bytes), Response> {
    let s = &app.cfg.server;
    let cap = s.max_response_bytes;
    let deadline = tokio::time::Instant::now() + conn::secs(s.inference_timeout);
    let id = request.get("id").cloned();
    let a = app.clone();
    let ran = pool
        .run(&seen.client, data, cap / 2, deadline, move |r, gone| {
            r.map(|o| {
                let body = oip_answer(&a, id.as_ref(), &o, wanted.as_deref(), cap, gone);
                (o, body)
            })
        })
        .await
        .and_then(|r| r.map_err(PoolError::Run));
    match ran {
        Ok((o, Ok(body))) => Ok((o, body.into())),
        Ok((_, Err(()))) => Err(resource_limit(
            app,
            seen,
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "the answer would be over {cap} bytes (server.max_response_bytes); ask for fewer outputs or a smaller batch"
            ),
            json!({ "limit": "max_response_bytes", "max_response_bytes": cap }),
        )),
        Err(PoolError::Run(RunError::TooLarge {
            output, elements, ..
        })) => Err(resource_limit(
            app,
            seen,
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "the outputs hold {elements} values or more (output `{output}`): the answer would be over {cap} bytes (server.max_response_bytes)"
            ),
            json!({ "limit": "max_response_bytes", "output": output, "elements": elements, "max_elements": cap / 2 }),
        )),
        Err(PoolError::Run(RunError::OutOfMemory(m))) => Err(resource_limit(
            app,
            seen,
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the model's memory limit ({} bytes, server.max_memory) was reached while answering this request",
                s.max_memory
            ),
            json!({ "limit": "max_memory", "max_memory": s.max_memory, "runtime": truncate(&m, 2000) }),
        )),
        Err(PoolError::Timeout) => {
            seen.fired.push(Fired {
                rule: &sig::INFERENCE_TIMEOUT,
                action: Action::Block,
                message: format!(
                    "the run took longer than {} s (server.inference_timeout) and was stopped",
                    s.inference_timeout
                ),
                evidence: json!({ "limit_seconds": s.inference_timeout }),
            });
            Err(error(
                StatusCode::GATEWAY_TIMEOUT,
                &format!(
                    "inference took longer than {} s and was stopped",
                    s.inference_timeout
                ),
            ))
        }
        Err(PoolError::Busy) => Err(overloaded(app, seen, "inference")),
        Err(PoolError::Preempted) => Err(overloaded(app, seen, "preempted")),
        Err(PoolError::Run(RunError::Stopped)) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down; retry later",
        )),
        Err(PoolError::Run(RunError::Failed(m))) => {
            seen.fired.push(Fired {
                rule: &sig::INFERENCE_ERROR,
                action: Action::Log,
                message: "the model failed on this request".into(),
                evidence: json!({ "runtime": truncate(&m, 2000) }),
            });
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!(
                    "inference failed (request {:016x}; the server's event log has the details)",
                    seen.id
                ),
            ))
        }
    }
}

/// A request refused by a resource limit, with its finding.
fn resource_limit(
    _app: &App,
    seen: &mut Seen,
    code: StatusCode,
    message: String,
    evidence: Value,
) -> Response {
    seen.fired.push(Fired {
        rule: &sig::RESOURCE_LIMIT,
        action: Action::Block,
        message: message.clone(),
        evidence,
    });
    error(code, &message)
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A body held in memory until it is sent, counted against the buffered-bytes budget (503
/// when the budget is spent).
pub(super) fn buffered(app: &App, seen: &mut Seen, body: axum::body::Bytes) -> Response {
    let mut held = Held::none();
    if !app.budget.take(body.len(), &mut held) {
        return overloaded(app, seen, "buffered answers");
    }
    let mut r = Response::new(Body::new(HeldBody {
        inner: http_body_util::Full::new(body),
        _held: held,
    }));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

struct HeldBody {
    inner: http_body_util::Full<axum::body::Bytes>,
    _held: Held,
}

impl http_body::Body for HeldBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A writer that refuses to grow past its cap, or to go on once nobody waits for it.
struct Capped<'a> {
    buf: Vec<u8>,
    cap: usize,
    gone: &'a Abandoned<'a>,
}

impl std::io::Write for Capped<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.cap || self.gone.get() {
            return Err(std::io::Error::other("over the cap"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The OIP v2 response body: the outputs the request asked for (all by default), written
/// straight from the outputs; `Err` when it would pass `cap` bytes.
pub(super) fn oip_answer(
    app: &App,
    id: Option<&Value>,
    outputs: &Outputs,
    wanted: Option<&[String]>,
    cap: usize,
    gone: &Abandoned<'_>,
) -> Result<Vec<u8>, ()> {
    let wants = |n: &str| wanted.is_none_or(|w| w.iter().any(|x| x == n));
    let declared = |n: &str| app.outputs.iter().find(|s| s.name == n);
    let mut tensors = Vec::new();
    // In the model's output order.
    for spec in &app.outputs {
        let n = spec.name.as_str();
        if !wants(n) {
            continue;
        }
        if let Some((_, shape, v)) = outputs.floats.iter().find(|f| f.0 == n) {
            let datatype = if outputs.doubles.iter().any(|d| d == n) {
                "FP64"
            } else {
                "FP32"
            };
            tensors.push(Tensor {
                name: n,
                datatype,
                shape,
                parameters: outputs.keys(n).map(|k| Parameters {
                    classes: ClassKeysRef(k),
                }),
                data: Values::Floats(v),
            });
        } else if let Some((_, shape, v)) = outputs.ints.iter().find(|f| f.0 == n) {
            let elem = declared(n).and_then(|s| s.elem).unwrap_or(Elem::I64);
            tensors.push(Tensor {
                name: n,
                datatype: oip_dtype(Some(elem)),
                shape,
                parameters: None,
                data: if elem == Elem::Bool {
                    Values::Bools(v)
                } else {
                    Values::Ints(v)
                },
            });
        } else if let Some((_, shape, v)) = outputs.strings.iter().find(|f| f.0 == n) {
            tensors.push(Tensor {
                name: n,
                datatype: "BYTES",
                shape,
                parameters: None,
                data: Values::Strings(v),
            });
        }
    }
    let answer = Answer {
        model_name: &app.name,
        model_version: "1",
        id,
        outputs: tensors,
    };
    let mut w = Capped {
        buf: Vec::new(),
        cap,
        gone,
    };
    serde_json::to_writer(&mut w, &answer).map_err(|_| ())?;
    Ok(w.buf)
}

#[derive(serde::Serialize)]
struct Answer<'a> {
    model_name: &'a str,
    model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    outputs: Vec<Tensor<'a>>,
}

#[derive(serde::Serialize)]
struct Tensor<'a> {
    name: &'a str,
    datatype: &'static str,
    shape: &'a [i64],
    /// ZipMap outputs: the class of each column.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Parameters<'a>>,
    data: Values<'a>,
}

#[derive(serde::Serialize)]
struct Parameters<'a> {
    classes: ClassKeysRef<'a>,
}

impl Serialize for ClassKeysRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ClassKeys::Int(k) => k.serialize(s),
            ClassKeys::Str(k) => k.serialize(s),
        }
    }
}

struct ClassKeysRef<'a>(&'a ClassKeys);

enum Values<'a> {
    Floats(&'a [f32]),
    Ints(&'a [i64]),
    Bools(&'a [i64]),
    Strings(&'a [String]),
}

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Values::Floats(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for &x in v.iter() {
                    // JSON has no numbers for these (see `json_row`).
                    if x.is_nan() {
                        seq.serialize_element("NaN")?;
                    } else if x.is_infinite() {
                        seq.serialize_element(if x > 0.0 { "Infinity" } else { "-Infinity" })?;
                    } else {
                        seq.serialize_element(&x)?;
                    }
                }
                seq.end()
            }
            Values::Ints(v) => v.serialize(s),
            Values::Bools(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for &x in v.iter() {
                    seq.serialize_element(&(x != 0))?;
                }
                seq.end()
            }
            Values::Strings(v) => v.serialize(s),
        }
    }
}
