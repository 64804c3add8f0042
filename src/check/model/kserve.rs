//! KServe as it runs: a predictor written as `sklearn:` / `pytorch:` / `model: {modelFormat}`
//! runs the container of a ServingRuntime (built-in, or one given among the files), merged
//! with what the predictor sets; the defaulting webhook fills CPU and memory limits
//! (`inferenceservice-config`: 1 CPU, 2Gi); and upstream KServe publishes every
//! InferenceService through the ingress unless it is labelled cluster-local.
//!
//! The built-in runtimes (`config/runtimes/kserve-*.yaml`) set `runAsNonRoot: true`,
//! `allowPrivilegeEscalation: false`, `privileged: false` and drop ALL capabilities since KServe
//! 0.14 (before that they set none); the table says which, by version.

use super::{key, set};
use crate::check::doc::{Kind, Node, Pos};

/// KServe version assumed when none is given (`--kserve-version`).
pub const DEFAULT_VERSION: [u64; 2] = [0, 15];

/// A built-in ServingRuntime.
pub struct Runtime {
    pub name: &'static str,
    /// Model formats it is auto-selected for (framework keys of the old v1beta1 form too).
    pub formats: &'static [&'static str],
    pub image: &'static str,
    /// Command line of its container (command, then args).
    pub words: &'static [&'static str],
    /// First KServe version whose manifest sets the restricted securityContext.
    pub secure_since: Option<[u64; 2]>,
    /// `runAsUser` it sets (images without a USER), if any.
    pub run_as_user: Option<u32>,
}

pub const RUNTIMES: &[Runtime] = &[
    Runtime {
        name: "kserve-sklearnserver",
        formats: &["sklearn"],
        image: "kserve/sklearnserver",
        words: &[
            "--model_name={{.Name}}",
            "--model_dir=/mnt/models",
            "--http_port=8080",
        ],
        secure_since: Some([0, 14]),
        run_as_user: None,
    },
    Runtime {
        name: "kserve-xgbserver",
        formats: &["xgboost"],
        image: "kserve/xgbserver",
        words: &[
            "--model_name={{.Name}}",
            "--model_dir=/mnt/models",
            "--http_port=8080",
        ],
        secure_since: Some([0, 14]),
        run_as_user: None,
    },
    Runtime {
        name: "kserve-lgbserver",
        formats: &["lightgbm"],
        image: "kserve/lgbserver",
        words: &[
            "--model_name={{.Name}}",
            "--model_dir=/mnt/models",
            "--http_port=8080",
        ],
        secure_since: Some([0, 14]),
        run_as_user: None,
    },
    Runtime {
        name: "kserve-paddleserver",
        formats: &["paddle"],
        image: "kserve/paddleserver",
        words: &[
            "--model_name={{.Name}}",
            "--model_dir=/mnt/models",
            "--http_port=8080",
        ],
        secure_since: Some([0, 14]),
        run_as_user: None,
    },
    Runtime {
        name: "kserve-pmmlserver",
        formats: &["pmml"],
        image: "kserve/pmmlserver",
        words: &[
            "--model_name={{.Name}}",
            "--model_dir=/mnt/models",
            "--http_port=8080",
        ],
        secure_since: Some([0, 14]),
        run_as_user: None,
    },
    Runtime {
        name: "kserve-autogluonserver",
        formats: &["autogluon"],
        image: "kserve/autogluonserver",
        words: &[
            "--model_name={{.Name}}",
            "--model_dir=/mnt/models",
            "--http_port=8080",
        ],
        secure_since: Some([0, 14]),
        run_as_user: None,
    },
    Runtime {
        name: "kserve-tensorflow-serving",
        formats: &["tensorflow"],
        image: "tensorflow/serving",
        words: &[
            "/usr/bin/tensorflow_model_server",
            "--model_name={{.Name}}",
            "--port=9000",
            "--rest_api_port=8080",
            "--model_base_path=/mnt/models",
        ],
        secure_since: Some([0, 14]),
        run_as_user: Some(1000),
    },
    Runtime {
        name: "kserve-torchserve",
        formats: &["pytorch"],
        image: "pytorch/torchserve-kfs",
        words: &[
            "torchserve",
            "--start",
            "--model-store=/mnt/models/model-store",
            "--ts-config=/mnt/models/config/config.properties",
        ],
        secure_since: Some([0, 14]),
        run_as_user: Some(1000),
    },
    Runtime {
        name: "kserve-tritonserver",
        formats: &["triton", "tensorrt", "onnx"],
        image: "nvcr.io/nvidia/tritonserver",
        words: &[
            "tritonserver",
            "--model-store=/mnt/models",
            "--grpc-port=9000",
            "--http-port=8080",
            "--allow-grpc=true",
            "--allow-http=true",
        ],
        secure_since: Some([0, 14]),
        run_as_user: Some(1000),
    },
    Runtime {
        name: "kserve-huggingfaceserver",
        formats: &["huggingface"],
        image: "kserve/huggingfaceserver",
        words: &["--model_name={{.Name}}"],
        secure_since: Some([0, 14]),
        run_as_user: None,
    },
    Runtime {
        name: "kserve-mlserver",
        formats: &["mlflow"],
        image: "docker.io/seldonio/mlserver",
        words: &[],
        secure_since: Some([0, 14]),
        run_as_user: None,
    },
    Runtime {
        name: "kserve-vllmserver",
        formats: &[],
        image: "kserve/huggingfaceserver",
        words: &["--model_name={{.Name}}"],
        secure_since: None,
        run_as_user: None,
    },
    Runtime {
        name: "kserve-huggingfaceserver-multinode",
        formats: &[],
        image: "kserve/huggingfaceserver",
        words: &[],
        secure_since: None,
        run_as_user: None,
    },
];

/// The built-in runtime by name, or the one auto-selected for a model format.
pub fn builtin(runtime: Option<&str>, format: Option<&str>) -> Option<&'static Runtime> {
    match runtime {
        Some(name) => RUNTIMES.iter().find(|r| r.name == name),
        None => {
            let f = format?.to_ascii_lowercase();
            RUNTIMES.iter().find(|r| r.formats.contains(&f.as_str()))
        }
    }
}

fn m(entries: Vec<(&str, Node)>) -> Node {
    let p = Pos::default();
    Node::map(
        entries.into_iter().map(|(k, v)| (key(k, p), v)).collect(),
        p,
    )
}

fn s(v: &str) -> Node {
    Node::scalar(v, Pos::default())
}

/// The container a built-in runtime runs, as of KServe `version`.
pub fn container(rt: &Runtime, version: [u64; 2]) -> Node {
    let mut entries = vec![
        ("name", s("kserve-container")),
        ("image", s(rt.image)),
        (
            "args",
            Node::seq(rt.words.iter().map(|w| s(w)).collect(), Pos::default()),
        ),
        (
            "resources",
            m(vec![
                ("requests", m(vec![("cpu", s("1")), ("memory", s("2Gi"))])),
                ("limits", m(vec![("cpu", s("1")), ("memory", s("2Gi"))])),
            ]),
        ),
    ];
    if rt.secure_since.is_some_and(|since| version >= since) {
        let mut sc = vec![
            ("allowPrivilegeEscalation", s("false")),
            ("privileged", s("false")),
            ("runAsNonRoot", s("true")),
            (
                "capabilities",
                m(vec![("drop", Node::seq(vec![s("ALL")], Pos::default()))]),
            ),
        ];
        if let Some(u) = rt.run_as_user {
            sc.push(("runAsUser", s(&u.to_string())));
        }
        entries.push(("securityContext", m(sc)));
    }
    m(entries)
}

/// KServe's merge of a runtime container with the predictor's fields: the predictor's keys win
/// (maps merged key by key), its `args` are appended to the runtime's.
pub fn merge(runtime: &Node, predictor: &Node) -> Node {
    let mut out = runtime.clone();
    for (k, v) in predictor.entries() {
        let merged = match (out.get(&k.name), k.name.as_str()) {
            (Some(base), "args") if matches!(base.kind, Kind::Seq(_)) => {
                let mut items = base.items().to_vec();
                items.extend(v.items().iter().cloned());
                Node::seq(items, v.pos)
            }
            (Some(base), _)
                if matches!(base.kind, Kind::Map(_)) && matches!(v.kind, Kind::Map(_)) =>
            {
                let mut n = merge(base, v);
                n.pos = v.pos;
                n
            }
            _ => v.clone(),
        };
        if let Kind::Map(entries) = &mut out.kind {
            match entries.iter_mut().find(|(e, _)| e.name == k.name) {
                Some(slot) => *slot = (k.clone(), merged),
                None => entries.push((k.clone(), merged)),
            }
        }
    }
    out.pos = predictor.pos;
    out
}

/// The defaulting webhook: CPU and memory limits (and requests) from `inferenceservice-config`
/// where the container sets none.
pub fn webhook_defaults(c: &mut Node) {
    let mut resources = c.get("resources").cloned().unwrap_or_else(|| m(vec![]));
    for part in ["limits", "requests"] {
        let mut block = resources.get(part).cloned().unwrap_or_else(|| m(vec![]));
        for (k, v) in [("cpu", "1"), ("memory", "2Gi")] {
            if block.get(k).is_none() {
                set(&mut block, k, s(v));
            }
        }
        set(&mut resources, part, block);
    }
    set(c, "resources", resources);
}

/// Parse a `--kserve-version` value (`0.15`, `v0.14.1`).
pub fn parse_version(v: &str) -> Option<[u64; 2]> {
    let parts = crate::check::lang::version(v)?;
    Some([parts[0], parts.get(1).copied().unwrap_or(0)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_by_format_and_version() {
        let rt = builtin(None, Some("PyTorch")).unwrap();
        assert_eq!(rt.name, "kserve-torchserve");
        let c = container(rt, [0, 15]);
        assert_eq!(
            c.at("securityContext.runAsNonRoot").unwrap().as_str(),
            Some("true")
        );
        assert_eq!(
            c.at("securityContext.runAsUser").unwrap().as_str(),
            Some("1000")
        );
        assert!(container(rt, [0, 13]).get("securityContext").is_none());
        assert!(builtin(Some("my-runtime"), Some("sklearn")).is_none());
    }

    #[test]
    fn predictor_fields_win_and_args_append() {
        let rt = container(builtin(None, Some("pytorch")).unwrap(), [0, 15]);
        let p = Node::map(
            vec![
                (
                    key("image", Pos::new(3, 7)),
                    Node::scalar("me/ts:1", Pos::new(3, 14)),
                ),
                (
                    key("args", Pos::new(4, 7)),
                    Node::seq(
                        vec![Node::scalar("--disable-token-auth", Pos::new(4, 14))],
                        Pos::new(4, 13),
                    ),
                ),
            ],
            Pos::new(3, 7),
        );
        let c = merge(&rt, &p);
        assert_eq!(c.get("image").unwrap().as_str(), Some("me/ts:1"));
        let args = c.get("args").unwrap().items();
        assert_eq!(args[0].as_str(), Some("torchserve"));
        assert_eq!(args.last().unwrap().as_str(), Some("--disable-token-auth"));
        assert!(c.at("securityContext.allowPrivilegeEscalation").is_some());
    }
}
