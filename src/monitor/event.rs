//! The events of the monitor's log, typed. One [`Event`] is one line of the log: `kind` says
//! which, and the writer adds `prev`, `schema`, `seq`, `time` and `hash` (see [`super::log`]).
//! Members are written with sorted keys, absent optional members are left out, and non-finite
//! floats are written as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, so logs written
//! before these types existed read the same.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One event of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Event {
    /// One request, as the monitor saw it.
    Request(RequestEvent),
    /// A signal that fired (for a request, or for the monitor itself).
    Finding(Finding),
    /// A proxied LLM answer stream that ended.
    Stream(StreamEvent),
    /// The monitor's own life: started, stopped, the log rotated.
    Health(Health),
}

/// Who sent a request: the configured client name (or the address without auth, or
/// `unknown-key:<sha256 prefix>`), and its address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientRef {
    pub id: String,
    pub ip: String,
}

/// A request named by its id (16 hex digits, unique per run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRef {
    pub id: String,
}

/// The model a request was for (empty when the path named none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestEvent {
    pub client: ClientRef,
    pub request: RequestInfo,
    pub model: ModelRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    /// The signals that fired on this request, findings written or not (cooldowns).
    pub signals: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestInfo {
    pub id: String,
    /// `oip_v2`, `openai` or `torchserve`.
    pub protocol: String,
    pub path: String,
    pub status: u16,
    /// Body bytes read.
    pub bytes: usize,
    pub latency_us: u64,
    /// Rows (queries) in the request, when the detectors read rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
}

/// What a request carried: never raw content unless `log.log_inputs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input {
    /// OpenAI: the prompt's digest and size, and the parameters that cost.
    Prompt(PromptSummary),
    /// TorchServe: the body's digest, size and type.
    Body(BodySummary),
    /// OIP v2: each input tensor by name.
    Tensors(BTreeMap<String, TensorSummary>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSummary {
    /// Keyed BLAKE3 of the values (little-endian f32).
    pub digest: String,
    pub shape: Vec<i64>,
    pub dtype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
    /// Raw values, only with `log.log_inputs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Floats>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub min: f32,
    pub max: f32,
    pub mean: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSummary {
    pub digest: String,
    pub chars: usize,
    pub prompt_tokens_estimate: u64,
    pub messages: usize,
    pub max_tokens: Option<u64>,
    pub n: u64,
    pub stream: bool,
    pub scores: Vec<String>,
    /// The text itself, only with `log.log_inputs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodySummary {
    pub digest: String,
    pub bytes: usize,
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSummary>,
    /// Rows of a JSON body the tabular detectors read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageSummary {
    pub format: String,
    pub width: usize,
    pub height: usize,
}

/// What the answer said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Output {
    /// A classifier's label and top-1 margin per row.
    Labels { labels: Vec<usize>, margins: Floats },
    /// An LLM answer's size and token usage.
    Tokens {
        prompt_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        chars: usize,
    },
}

/// Floats written as JSON numbers, except NaN and infinities, written as strings (JSON has no
/// such numbers).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Floats(pub Vec<f32>);

impl Serialize for Floats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::onnx::json_row(&self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Floats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<Value> = Vec::deserialize(d)?;
        v.iter()
            .map(|x| match x {
                Value::Number(n) => n.as_f64().map(|f| f as f32),
                Value::String(s) if s == "NaN" => Some(f32::NAN),
                Value::String(s) if s == "Infinity" => Some(f32::INFINITY),
                Value::String(s) if s == "-Infinity" => Some(f32::NEG_INFINITY),
                _ => None,
            })
            .collect::<Option<Vec<f32>>>()
            .map(Floats)
            .ok_or_else(|| serde::de::Error::custom("a float, \"NaN\" or \"±Infinity\""))
    }
}

/// A signal that fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub signal: SignalRef,
    /// `info` … `critical`.
    pub severity: String,
    /// What was done: `log`, `throttle`, `block`.
    pub action: super::config::Action,
    pub attack: Vec<Attack>,
    pub message: String,
    /// Signal-specific numbers (`shapiro_w`, the clients of a cluster, …).
    pub evidence: Value,
    /// The request's client, id and model; absent for the monitor's own findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalRef {
    pub id: String,
    pub title: String,
}

/// A MITRE ATLAS technique.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attack {
    pub framework: String,
    pub version: String,
    pub technique: Technique,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
}

impl Attack {
    /// The ATLAS (5.6.0) technique of a signal id (empty when it has none).
    pub fn atlas(signal: &str) -> Attack {
        let (id, name) = super::rules::signals::atlas(signal).unwrap_or(("", ""));
        Attack {
            framework: "MITRE ATLAS".into(),
            version: "5.6.0".into(),
            technique: Technique {
                id: id.into(),
                name: name.into(),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamEvent {
    pub client: ClientRef,
    pub request: RequestRef,
    pub model: ModelRef,
    pub output: StreamOutput,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamOutput {
    pub chars: usize,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// Tokens charged to the client (the upstream's counts, else estimates).
    pub tokens_counted: u64,
    /// Cut at a canary.
    pub cut: bool,
}

/// The monitor's own events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Health {
    Started {
        monitor: Started,
    },
    Stopped {
        log: LogCounts,
    },
    /// The log continues in a new file; `previous_file` is the rotated one's name.
    Rotated {
        previous_file: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Started {
    pub version: String,
    pub listen: String,
    /// `sha256:<hex>` of the config file; null without one.
    pub config_digest: Option<String>,
    pub durability: super::log::Durability,
    pub monitoring: bool,
    pub protocol: String,
    pub model: ModelSource,
}

/// A served file, or the upstream of a proxy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ModelSource {
    File { name: String, file: String },
    Upstream { name: String, upstream: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogCounts {
    pub written: u64,
    pub dropped: u64,
}

impl Event {
    /// The event's members as one JSON object with sorted keys: the canonical form the log
    /// chains.
    pub fn to_object(&self) -> serde_json::Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            // Every variant is a struct, so this is unreachable; an empty object keeps the
            // log's chain intact if it ever were.
            _ => serde_json::Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(e: &Event, want: Value) {
        let v = Value::Object(e.to_object());
        assert_eq!(v, want);
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(&back, e);
    }

    #[test]
    fn events_keep_the_log_s_json_shape() {
        let client = ClientRef {
            id: "client0".into(),
            ip: "127.0.0.1".into(),
        };
        let mut tensors = BTreeMap::new();
        tensors.insert(
            "X".to_string(),
            TensorSummary {
                digest: "ab".into(),
                shape: vec![1, 2],
                dtype: "FP32".into(),
                stats: Some(Stats {
                    min: 0.0,
                    max: 1.0,
                    mean: 0.5,
                }),
                values: None,
            },
        );
        roundtrip(
            &Event::Request(RequestEvent {
                client: client.clone(),
                request: RequestInfo {
                    id: "0000000000000001".into(),
                    protocol: "oip_v2".into(),
                    path: "/v2/models/m/infer".into(),
                    status: 200,
                    bytes: 10,
                    latency_us: 5,
                    rows: None,
                },
                model: ModelRef { name: "m".into() },
                input: Some(Input::Tensors(tensors)),
                output: Some(Output::Labels {
                    labels: vec![3],
                    margins: Floats(vec![f32::NEG_INFINITY, 0.5]),
                }),
                signals: vec![],
            }),
            json!({"kind": "request", "client": {"id": "client0", "ip": "127.0.0.1"},
                "request": {"id": "0000000000000001", "protocol": "oip_v2", "path": "/v2/models/m/infer",
                            "status": 200, "bytes": 10, "latency_us": 5},
                "model": {"name": "m"},
                "input": {"X": {"digest": "ab", "shape": [1, 2], "dtype": "FP32",
                                "stats": {"min": 0.0, "max": 1.0, "mean": 0.5}}},
                "output": {"labels": [3], "margins": ["-Infinity", 0.5]}, "signals": []}),
        );
        roundtrip(
            &Event::Health(Health::Rotated {
                previous_file: "e.jsonl.000000000000".into(),
            }),
            json!({"kind": "health", "event": "rotated", "previous_file": "e.jsonl.000000000000"}),
        );
        roundtrip(
            &Event::Health(Health::Stopped {
                log: LogCounts {
                    written: 3,
                    dropped: 0,
                },
            }),
            json!({"kind": "health", "event": "stopped", "log": {"written": 3, "dropped": 0}}),
        );
        roundtrip(
            &Event::Finding(Finding {
                signal: SignalRef {
                    id: "monitor/log-dropped".into(),
                    title: "t".into(),
                },
                severity: "high".into(),
                action: super::super::config::Action::Log,
                attack: vec![Attack::atlas("monitor/log-dropped")],
                message: "m".into(),
                evidence: json!({"dropped": 1}),
                client: None,
                request: None,
                model: None,
            }),
            json!({"kind": "finding", "signal": {"id": "monitor/log-dropped", "title": "t"},
                "severity": "high", "action": "log",
                "attack": [{"framework": "MITRE ATLAS", "version": "5.6.0",
                            "technique": {"id": "AML.T0029", "name": "Denial of AI Service"}}],
                "message": "m", "evidence": {"dropped": 1}}),
        );
        roundtrip(
            &Event::Stream(StreamEvent {
                client,
                request: RequestRef { id: "01".into() },
                model: ModelRef { name: "m".into() },
                output: StreamOutput {
                    chars: 6,
                    prompt_tokens: None,
                    completion_tokens: Some(2),
                    tokens_counted: 4,
                    cut: false,
                },
            }),
            json!({"kind": "stream", "client": {"id": "client0", "ip": "127.0.0.1"},
                "request": {"id": "01"}, "model": {"name": "m"},
                "output": {"chars": 6, "prompt_tokens": null, "completion_tokens": 2,
                           "tokens_counted": 4, "cut": false}}),
        );
    }
}
