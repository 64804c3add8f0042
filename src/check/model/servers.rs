//! What a container runs, decided by the program in its command line, else by its image (an
//! image whose entrypoint was replaced runs something else): the `server` view rules use
//! instead of port numbers.
//!
//! `server` = `{ name, product, class, auth }`: `name` is the rule family (`tgi` also covers TEI
//! and LoRAX, which share its launcher flags), `class` one of `model-server`, `artifact-store`,
//! `data-store`, `ui`, and `auth` is `on` when the settings in front of us turn authentication
//! on, else `off`.

use super::key;
use crate::check::doc::{Node, Pos};
use crate::check::lang::truthy;
use regex::Regex;
use std::sync::OnceLock;

struct Server {
    name: &'static str,
    product: &'static str,
    class: &'static str,
    image: &'static str,
    cmdline: &'static str,
}

const SERVERS: &[Server] = &[
    Server {
        name: "vllm",
        product: "vLLM",
        class: "model-server",
        image: r"(^|/)vllm-openai|(^|/)vllm/vllm-",
        cmdline: r"(^|[\s/])vllm\s+serve\b|vllm\.entrypoints\.openai",
    },
    Server {
        name: "sglang",
        product: "SGLang",
        class: "model-server",
        image: r"(^|/)lmsysorg/sglang",
        cmdline: r"sglang\.launch_server",
    },
    Server {
        name: "tgi",
        product: "Text Embeddings Inference",
        class: "model-server",
        image: r"text-embeddings-inference",
        cmdline: r"(^|[\s/])text-embeddings-router\b",
    },
    Server {
        name: "tgi",
        product: "LoRAX",
        class: "model-server",
        image: r"(^|/)predibase/lorax|(^|/)lorax:",
        cmdline: r"(^|[\s/])lorax-launcher\b",
    },
    Server {
        name: "tgi",
        product: "Text Generation Inference",
        class: "model-server",
        image: r"text-generation-inference",
        cmdline: r"(^|[\s/])text-generation-launcher\b",
    },
    Server {
        name: "ollama",
        product: "Ollama",
        class: "model-server",
        image: r"(^|/)ollama/ollama",
        cmdline: r"(^|[\s/])ollama\s+serve\b|^ollama$",
    },
    Server {
        name: "triton",
        product: "Triton Inference Server",
        class: "model-server",
        image: r"tritonserver",
        cmdline: r"(^|[\s/])tritonserver\b",
    },
    Server {
        name: "torchserve",
        product: "TorchServe",
        class: "model-server",
        image: r"(^|/)torchserve",
        cmdline: r"(^|[\s/])torchserve\b",
    },
    Server {
        name: "mlflow",
        product: "MLflow",
        class: "model-server",
        image: r"(^|/)mlflow[:/@]|ghcr\.io/mlflow/mlflow",
        cmdline: r"(^|[\s/])mlflow\s+(server|ui|models\s+serve)\b",
    },
    Server {
        name: "ray",
        product: "Ray",
        class: "model-server",
        image: r"(^|/)rayproject/ray",
        cmdline: r"\bray\s+start\b",
    },
    Server {
        name: "jupyter",
        product: "Jupyter",
        class: "model-server",
        image: r"(^|/)jupyter/|quay\.io/jupyter/|jupyterhub/k8s-singleuser",
        cmdline: r"\bjupyter(-lab|-notebook|-server)?\b|\bstart-notebook",
    },
    Server {
        name: "localai",
        product: "LocalAI",
        class: "model-server",
        image: r"(^|/)localai/localai|(^|/)local-ai[:@]",
        cmdline: r"(^|[\s/])local-ai\b",
    },
    Server {
        name: "llamacpp-rpc",
        product: "llama.cpp RPC server",
        class: "model-server",
        image: r"llama[-_.]?cpp[^/]*[-_](worker|rpc)|(^|/)llama[^/]*rpc",
        cmdline: r"(^|[\s/])rpc-server\b",
    },
    Server {
        name: "llamacpp",
        product: "llama.cpp server",
        class: "model-server",
        image: r"llama\.cpp|llama-cpp",
        cmdline: r"(^|[\s/])llama-server\b",
    },
    Server {
        name: "openwebui-pipelines",
        product: "Open WebUI Pipelines",
        class: "model-server",
        image: r"open-webui/pipelines",
        cmdline: r"^$",
    },
    Server {
        name: "nim",
        product: "NVIDIA NIM",
        class: "model-server",
        image: r"^nvcr\.io/nim/",
        cmdline: r"^$",
    },
    Server {
        name: "kserve",
        product: "KServe model server",
        class: "model-server",
        image: r"(^|/)kserve/|seldonio/",
        cmdline: r"^$",
    },
    Server {
        name: "openwebui",
        product: "Open WebUI",
        class: "ui",
        image: r"open-webui/open-webui",
        cmdline: r"^$",
    },
    Server {
        name: "minio",
        product: "MinIO",
        class: "artifact-store",
        image: r"(^|/)minio/minio|(^|/)bitnami/minio",
        cmdline: r"(^|[\s/])minio\s+server\b",
    },
    Server {
        name: "seaweedfs",
        product: "SeaweedFS",
        class: "artifact-store",
        image: r"seaweedfs",
        cmdline: r"(^|[\s/])weed\s+(server|s3|filer)\b",
    },
    Server {
        name: "redis",
        product: "Redis",
        class: "data-store",
        image: r"(^|/)redis[:@]|(^|/)redis$|bitnami/redis",
        cmdline: r"(^|[\s/])redis-server\b",
    },
];

fn compiled() -> &'static [(Regex, Regex)] {
    static RE: OnceLock<Vec<(Regex, Regex)>> = OnceLock::new();
    RE.get_or_init(|| {
        SERVERS
            .iter()
            .map(|s| {
                (
                    Regex::new(&format!("(?i){}", s.image)).expect("static regex"),
                    Regex::new(s.cmdline).expect("static regex"),
                )
            })
            .collect()
    })
}

/// Which server a container runs: by its command line first; by its image only when the image's
/// own entrypoint still runs (`entrypoint_replaced` false).
fn recognise(image: &str, cmdline: &str, entrypoint_replaced: bool) -> Option<&'static Server> {
    let re = compiled();
    if !cmdline.is_empty()
        && let Some(i) = re.iter().position(|(_, c)| c.is_match(cmdline))
    {
        return Some(&SERVERS[i]);
    }
    if entrypoint_replaced {
        // `sh -c "… && exec vllm serve"` was searched above; anything else replaced the server.
        return None;
    }
    re.iter()
        .position(|(i, _)| !image.is_empty() && i.is_match(image))
        .map(|i| &SERVERS[i])
}

fn has(n: &Node, path: &str) -> bool {
    n.at(path).is_some()
}

fn argv(n: &Node, flag: &str) -> Option<String> {
    n.get("argv")
        .and_then(|a| a.get(flag))
        .map(|v| v.as_str().unwrap_or("x").to_string())
}

fn env(n: &Node, name: &str) -> Option<String> {
    n.get("env")
        .and_then(|e| e.get(name))
        .map(|v| v.as_str().unwrap_or("<from a secret>").to_string())
}

/// Whether the settings visible in the container turn authentication on.
fn auth_on(name: &str, root: &Node) -> bool {
    let set = |s: Option<String>| s.is_some_and(|v| !v.is_empty());
    match name {
        "vllm" => set(argv(root, "--api-key")) || set(env(root, "VLLM_API_KEY")),
        "tgi" => set(argv(root, "--api-key")) || set(env(root, "API_KEY")),
        "localai" => {
            set(env(root, "LOCALAI_API_KEY"))
                || set(env(root, "API_KEY"))
                || env(root, "LOCALAI_AUTH").is_some_and(|v| truthy(&v))
        }
        "sglang" => set(argv(root, "--api-key")),
        "llamacpp" => set(argv(root, "--api-key")) || set(env(root, "LLAMA_API_KEY")),
        "mlflow" => argv(root, "--app-name").is_some_and(|v| v.contains("auth")),
        "ray" => env(root, "RAY_AUTH_MODE").is_some_and(|v| v == "token"),
        "torchserve" => {
            // Token authorization is on by default from TorchServe 0.11.
            let old = root
                .get("image")
                .and_then(Node::as_str)
                .and_then(|i| {
                    i.split('@')
                        .next()?
                        .rsplit_once(':')
                        .map(|(_, t)| t.to_string())
                })
                .and_then(|t| crate::check::lang::version(&t))
                .is_some_and(|v| v < vec![0, 11]);
            !(old
                || argv(root, "--disable-token-auth").is_some()
                || env(root, "TS_DISABLE_TOKEN_AUTHORIZATION").is_some_and(|v| truthy(&v)))
        }
        "jupyter" => true,
        "openwebui" | "minio" | "nim" => true,
        "openwebui-pipelines" => set(env(root, "PIPELINES_API_KEY")),
        "redis" => {
            let empty_ok = env(root, "ALLOW_EMPTY_PASSWORD").is_some_and(|v| truthy(&v));
            !empty_ok && (has(root, "env.REDIS_PASSWORD") || argv(root, "--requirepass").is_some())
        }
        _ => false,
    }
}

/// The `server` view of a container root (which already holds `image`, `cmdline`, `argv`,
/// `env`), or `None` when it runs nothing recognised.
pub fn view(root: &Node, entrypoint_replaced: bool) -> Option<Node> {
    let image = root.get("image").and_then(Node::as_str).unwrap_or("");
    let cmdline = root.get("cmdline").and_then(Node::as_str).unwrap_or("");
    let s = recognise(image, cmdline, entrypoint_replaced)?;
    let p = Pos::default();
    let auth = if auth_on(s.name, root) { "on" } else { "off" };
    Some(Node::map(
        vec![
            (key("name", p), Node::scalar(s.name, p)),
            (key("product", p), Node::scalar(s.product, p)),
            (key("class", p), Node::scalar(s.class, p)),
            (key("auth", p), Node::scalar(auth, p)),
        ],
        p,
    ))
}

/// The view of a KServe predictor whose runtime is not one the table knows.
pub fn kserve_predictor() -> Node {
    let p = Pos::default();
    Node::map(
        vec![
            (key("name", p), Node::scalar("kserve", p)),
            (key("product", p), Node::scalar("KServe predictor", p)),
            (key("class", p), Node::scalar("model-server", p)),
            (key("auth", p), Node::scalar("off", p)),
        ],
        p,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_wins_over_image() {
        assert_eq!(
            recognise("vllm/vllm-openai:v0.9", "", false).unwrap().name,
            "vllm"
        );
        assert!(
            recognise(
                "vllm/vllm-openai:v0.9",
                "/usr/local/bin/vllm-router --port 80",
                true
            )
            .is_none()
        );
        assert_eq!(
            recognise(
                "python:3.12",
                "python3 -m vllm.entrypoints.openai.api_server --model m",
                true
            )
            .unwrap()
            .name,
            "vllm"
        );
        assert_eq!(
            recognise(
                "ghcr.io/huggingface/text-embeddings-inference:1.5",
                "",
                false
            )
            .unwrap()
            .product,
            "Text Embeddings Inference"
        );
        assert_eq!(
            recognise("grafana/grafana:11", "", false).map(|s| s.name),
            None
        );
        assert_eq!(
            recognise("ghcr.io/open-webui/open-webui:main", "", false)
                .unwrap()
                .class,
            "ui"
        );
        assert_eq!(
            recognise("example/worker:1", "rpc-server --host 0.0.0.0", true)
                .unwrap()
                .name,
            "llamacpp-rpc"
        );
    }

    #[test]
    fn torchserve_token_auth_by_version() {
        let ts = |image: &str| {
            let p = Pos::default();
            let root = Node::map(vec![(key("image", p), Node::scalar(image, p))], p);
            auth_on("torchserve", &root)
        };
        assert!(ts("pytorch/torchserve:0.12.0-cpu"));
        assert!(
            !ts("pytorch/torchserve:0.8.2-cpu"),
            "token auth arrived in 0.11"
        );
    }
}
