//! From parsed files to the *subjects* rules look at.
//!
//! A subject is one thing a rule can be about, with a root [`Node`] the rule's paths start from:
//!
//! | target | one per | root holds |
//! |---|---|---|
//! | `container` | Kubernetes container (any workload, KServe, Ray, Seldon), compose service, Dockerfile, systemd unit, `.env` file | the container's own keys plus the views `env`, `argv`, `cmdline`, `program`, `pod`, `workload`, `labels` |
//! | `pod` | Kubernetes pod spec | the pod spec plus `labels`, `workload`, `services` and `network_policies` that select it |
//! | `k8s:<Kind>` | Kubernetes object | the object; a `Service` also gets `selected` (the pods it selects) |
//! | `compose`, `yaml`, `json`, `toml`, `properties`, `ini`, `systemd` | document | the document |
//! | `torchserve` | TorchServe `config.properties` | the properties |
//! | `jupyter` | Jupyter JSON or Python config | `ServerApp.…` / `NotebookApp.…` |
//! | `requirements` | `requirements.txt`, `pyproject.toml` | package → version specifier |

use super::doc::{Key, Kind, Node, Pos};
use super::formats::{self, Format};

mod compose;
mod k8s;
mod kserve;
mod secrets;
mod servers;
mod words;

use k8s::*;
pub use k8s::{DocId, Links, PodId, links};
pub use kserve::{
    DEFAULT_VERSION as KSERVE_DEFAULT_VERSION, parse_version as parse_kserve_version,
};
use words::*;
pub use words::{argv_view, command_words};

/// A file read for checking.
#[derive(Debug)]
pub struct File {
    pub path: String,
    pub format: Format,
    /// Inline suppression comments: (line, document index for YAML streams, directive text).
    /// The text itself is not kept.
    pub directives: Vec<(usize, Option<usize>, String)>,
    pub docs: Vec<Node>,
}

/// One thing a rule can be about.
#[derive(Clone, Debug)]
pub struct Subject {
    /// Which targets it matches (`container`, `k8s:Service`, …).
    pub target: String,
    /// Index into the file list.
    pub file: usize,
    /// Index of the document inside the file.
    pub doc: usize,
    /// Human name: `Deployment/ml/vllm container vllm`, `service ollama`, the file name.
    pub resource: String,
    /// Where to point when the offending key is missing.
    pub anchor: Pos,
    pub root: Node,
    /// Suppression directives from Kubernetes annotations (`modelsec.dev/ignore`), with where
    /// they were written.
    pub annotations: Vec<(Pos, String)>,
}

/// Target of a placeholder subject recording something not checked (a kind modelsec does not
/// model, a kustomize patch); no rule targets it, the report lists it in its facts.
pub const SKIPPED: &str = "$skipped";

/// A Helm chart's values file: `values.yaml`, `values-*.yaml`, `*-values.yaml` (or beside a
/// `Chart.yaml`).
pub fn helm_values(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    let Some(stem) = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
    else {
        return false;
    };
    stem != "chart"
        && stem != "requirements"
        && (stem == "values"
            || stem.starts_with("values-")
            || stem.starts_with("values.")
            || stem.ends_with("-values")
            || std::path::Path::new(path)
                .parent()
                .is_some_and(|d| d.join("Chart.yaml").is_file()))
}

/// Annotation that carries suppressions on a Kubernetes object or pod template.
pub const IGNORE_ANNOTATION: &str = "modelsec.dev/ignore";

pub(super) fn key(name: &str, pos: Pos) -> Key {
    Key {
        name: name.to_string(),
        pos,
    }
}

pub(super) fn set(root: &mut Node, name: &str, value: Node) {
    if let Kind::Map(entries) = &mut root.kind {
        let pos = value.pos;
        if let Some(slot) = entries.iter_mut().find(|(k, _)| k.name == name) {
            slot.1 = value;
        } else {
            entries.push((key(name, pos), value));
        }
    }
}

pub(super) fn str_at<'a>(n: &'a Node, path: &str) -> Option<&'a str> {
    n.at(path).and_then(Node::as_str)
}

/// A container's root as it runs: a KServe component merged with its runtime and the webhook's
/// defaults, KubeRay's injected settings, and the views `env`, `argv`, `program`, `cmdline`,
/// `server`. `None` for a container that is not a map.
fn container_root(
    files: &[File],
    links: &Links,
    kind: &str,
    doc: &Node,
    pod: &k8s::PodSpec<'_>,
    c: &k8s::Container<'_>,
) -> Option<Node> {
    if !matches!(c.node.kind, Kind::Map(_)) {
        return None;
    }
    let mut root = c.node.clone();
    if let Some((format, runtime)) = &c.kserve {
        if format.is_some() || runtime.is_some() {
            let from_files = runtime
                .as_deref()
                .and_then(|r| links.runtimes.get(r))
                .and_then(|(fi, di)| files.get(*fi)?.docs.get(*di))
                .and_then(|d| d.at("spec.containers"))
                .and_then(|cs| cs.items().first().cloned());
            let base = from_files.or_else(|| {
                kserve::builtin(runtime.as_deref(), format.as_deref())
                    .map(|rt| kserve::container(rt, links.kserve_version))
            });
            if let Some(base) = base {
                let own = without(
                    &root,
                    &["runtime", "modelFormat", "storageUri", "protocolVersion"],
                );
                root = kserve::merge(&base, &own);
            }
        }
        kserve::webhook_defaults(&mut root);
    }
    let mut words = command_words(root.get("command"), root.get("args"));
    words.extend(c.extra.iter().cloned());
    let mut env = k8s_env(root.get("env"));
    if kind.starts_with("Ray") {
        // KubeRay injects RAY_AUTH_MODE from spec.authOptions.mode …
        let mode = doc
            .at("spec.authOptions.mode")
            .or_else(|| doc.at("spec.rayClusterConfig.authOptions.mode"))
            .or_else(|| doc.at("spec.rayClusterSpec.authOptions.mode"));
        if let (Some(m), Kind::Map(entries)) = (mode, &mut env.kind)
            && !entries.iter().any(|(k, _)| k.name == "RAY_AUTH_MODE")
        {
            entries.push((key("RAY_AUTH_MODE", m.pos), m.clone()));
        }
        // … and starts the head with --dashboard-host=0.0.0.0 unless one is given.
        if pod.what == "head" && !words.iter().any(|w| w.as_str() == Some("--dashboard-host")) {
            words.push(Node::scalar("--dashboard-host", Pos::default()));
            words.push(Node::scalar("0.0.0.0", Pos::default()));
        }
    }
    add_views(&mut root, env, &words);
    // Images known to run as a non-root user (their Dockerfile ends with USER).
    if let Some(image) = root
        .get("image")
        .and_then(Node::as_str)
        .map(str::to_ascii_lowercase)
        && let Some((_, user)) = crate::check::dockerfile::NON_ROOT_BASES
            .iter()
            .find(|(p, _)| image.contains(p))
    {
        set(&mut root, "image_user", Node::scalar(*user, Pos::default()));
    }
    let replaced = c.node.get("command").is_some();
    let server = servers::view(&root, replaced).or_else(|| {
        // Whatever runtime serves it, a KServe predictor is a model server.
        (c.kserve.is_some() && pod.what == "predictor").then(servers::kserve_predictor)
    });
    if let Some(server) = server {
        set(&mut root, "server", server);
    }
    // An image the runtime supplies (the predictor names none) is the platform's, not this
    // config's: kept as `runtime_image`, out of the image rules' reach.
    if c.node.get("image").is_none()
        && let Kind::Map(entries) = &mut root.kind
        && let Some(slot) = entries.iter_mut().find(|(k, _)| k.name == "image")
    {
        slot.0.name = "runtime_image".into();
    }
    Some(root)
}

/// Every subject of every file, with cross-document links (Service → pods, pod → Services and
/// NetworkPolicies) resolved across all files given.
pub fn subjects(files: &[File]) -> Vec<Subject> {
    let links = links(files);
    (0..files.len())
        .flat_map(|fi| file_subjects(files, fi, &links))
        .collect()
}

/// The subjects of one file, with cross-document links from `links`.
pub fn file_subjects(files: &[File], fi: usize, links: &Links) -> Vec<Subject> {
    let mut out: Vec<Subject> = Vec::new();
    {
        let file = &files[fi];
        let fname = file_name(&file.path).to_string();
        for (di, doc) in file.docs.iter().enumerate() {
            let generic = |target: &str| Subject {
                target: target.to_string(),
                file: fi,
                doc: di,
                resource: fname.clone(),
                anchor: doc.pos,
                root: doc.clone(),
                annotations: vec![],
            };
            match file.format {
                Format::Yaml | Format::Json if is_k8s(doc) => {
                    let kind = str_at(doc, "kind").unwrap_or("");
                    let ns = namespace(doc).to_string();
                    let name = object_name(doc);
                    let resource = format!("{kind}/{ns}/{name}");
                    let anchor = object_anchor(doc);
                    let obj_annotations: Vec<&Node> =
                        doc.at("metadata.annotations").into_iter().collect();
                    let mut root = doc.clone();
                    if kind == "Secret"
                        && let Some(v) = secrets::view(doc)
                    {
                        set(&mut root, "secrets", v);
                    }
                    if let Some(pods) = links.service_pods.get(&(fi, di)) {
                        let selected = pods
                            .iter()
                            .filter_map(|id| pod_root_by_id(files, links, *id))
                            .collect();
                        set(&mut root, "selected", Node::seq(selected, anchor));
                    }
                    out.push(Subject {
                        target: format!("k8s:{kind}"),
                        file: fi,
                        doc: di,
                        resource: resource.clone(),
                        anchor,
                        root,
                        annotations: annotation_directives(&obj_annotations),
                    });
                    let workload = workload_node(kind, name, &ns, anchor);
                    let pods = pods_of(kind, doc);
                    let skipped = |why: String| Subject {
                        target: SKIPPED.into(),
                        file: fi,
                        doc: di,
                        resource: format!("{resource}: {why}"),
                        anchor,
                        root: Node::null(anchor),
                        annotations: vec![],
                    };
                    if kind == "Kustomization" {
                        out.push(skipped("a kustomization: its patches were checked as written, without their bases; check the rendered output (kustomize build DIR | modelsec check -)".into()));
                    } else if pods.is_empty() && secrets::holds_containers(doc) {
                        out.push(skipped(format!("kind {kind} holds containers modelsec does not model; they were not checked (render it to the workloads it creates, or file an issue)")));
                    }
                    let patch = !pods.is_empty()
                        && pods.iter().all(|p| {
                            !p.containers.is_empty()
                                && p.containers
                                    .iter()
                                    .all(|c| c.node.get("image").is_none() && c.kserve.is_none())
                        });
                    if patch {
                        out.push(skipped("containers without an image: a kustomize patch, not a workload; its pod and containers were not judged alone (check kustomize build DIR | modelsec check -)".into()));
                        continue;
                    }
                    for (pi, pod) in pods.into_iter().enumerate() {
                        let pod_resource = if pod.what.is_empty() {
                            resource.clone()
                        } else {
                            format!("{resource} {}", pod.what)
                        };
                        let directives = annotation_directives(&pod.annotations);
                        let mut pod_root = pod_root(files, links, kind, doc, &pod);
                        let labels = pod_root
                            .get("labels")
                            .cloned()
                            .unwrap_or_else(|| Node::map(vec![], anchor));
                        let id = (fi, di, pi);
                        let linked = |m: &std::collections::HashMap<PodId, Vec<DocId>>| {
                            m.get(&id)
                                .map(|ids| {
                                    ids.iter().filter_map(|d| doc_by_id(files, *d)).collect()
                                })
                                .unwrap_or_default()
                        };
                        set(
                            &mut pod_root,
                            "services",
                            Node::seq(linked(&links.pod_services), anchor),
                        );
                        let mut policies: Vec<Node> = linked(&links.pod_policies);
                        // KubeRay ≥ 1.5 writes its own NetworkPolicies (spec.networkPolicy).
                        if kind.starts_with("Ray")
                            && let Some(np) = [
                                "spec.networkPolicy",
                                "spec.rayClusterConfig.networkPolicy",
                                "spec.rayClusterSpec.networkPolicy",
                            ]
                            .iter()
                            .find_map(|p| doc.at(p))
                            && np.get("mode").and_then(Node::as_str) != Some("Disabled")
                        {
                            policies.push(np.clone());
                        }
                        set(
                            &mut pod_root,
                            "network_policies",
                            Node::seq(policies, anchor),
                        );
                        out.push(Subject {
                            target: "pod".into(),
                            file: fi,
                            doc: di,
                            resource: pod_resource.clone(),
                            anchor,
                            root: pod_root,
                            annotations: directives.clone(),
                        });
                        let pod_view = without(pod.spec, &["containers", "initContainers"]);
                        for c in &pod.containers {
                            let Some(mut root) = container_root(files, links, kind, doc, &pod, c)
                            else {
                                continue;
                            };
                            let cname = str_at(c.node, "name").unwrap_or(if pod.what.is_empty() {
                                "?"
                            } else {
                                "kserve-container"
                            });
                            set(&mut root, "pod", pod_view.clone());
                            set(&mut root, "workload", workload.clone());
                            set(&mut root, "labels", labels.clone());
                            // The container's first line (its first key), where the list
                            // item starts.
                            let anchor = c.node.pos;
                            out.push(Subject {
                                target: "container".into(),
                                file: fi,
                                doc: di,
                                resource: format!("{pod_resource} container {cname}"),
                                anchor,
                                root,
                                annotations: directives.clone(),
                            });
                        }
                    }
                }
                Format::Yaml if is_compose(doc) => {
                    out.push(generic("compose"));
                    let vars = compose::variables(&file.path);
                    for (svc, body) in doc.get("services").map(Node::entries).unwrap_or(&[]) {
                        // An override file (docker-compose.gpu.yaml) adds to the service of the
                        // same name in the base file beside it: judge what runs, the merge.
                        let merged = compose::with_base(files, fi, &svc.name, body)
                            .map(|m| compose::interpolate(&m, &vars));
                        let body = &compose::interpolate(body, &vars);
                        let mut root = if matches!(body.kind, Kind::Map(_)) {
                            body.clone()
                        } else {
                            Node::map(vec![], svc.pos)
                        };
                        // `build:` without `image:` (or pull_policy: build) runs what was built
                        // here, not a pulled image.
                        if body.get("build").is_some()
                            && (body.get("image").is_none()
                                || body.get("pull_policy").and_then(Node::as_str) == Some("build"))
                            && let Kind::Map(entries) = &mut root.kind
                        {
                            entries.retain(|(k, _)| k.name != "image");
                        }
                        let words = command_words(body.get("entrypoint"), body.get("command"));
                        let mut env = compose_env(body.get("environment"));
                        compose::add_env_files(&mut env, body, &file.path);
                        add_views(&mut root, env, &words);
                        set(
                            &mut root,
                            "$format",
                            Node::scalar("compose", Pos::default()),
                        );
                        // What runs is the merge with the base file's service; findings about
                        // keys written there belong to the base file.
                        let server = match &merged {
                            Some(m) => {
                                let mut mr = m.clone();
                                let words = command_words(m.get("entrypoint"), m.get("command"));
                                add_views(&mut mr, compose_env(m.get("environment")), &words);
                                servers::view(&mr, m.get("entrypoint").is_some())
                            }
                            None => servers::view(&root, body.get("entrypoint").is_some()),
                        };
                        if let Some(server) = server {
                            set(&mut root, "server", server);
                        }
                        out.push(Subject {
                            target: "container".into(),
                            file: fi,
                            doc: di,
                            resource: format!("service {}", svc.name),
                            anchor: svc.pos,
                            root,
                            annotations: vec![],
                        });
                    }
                }
                Format::Yaml | Format::Json => {
                    out.push(generic(file.format.as_str()));
                    if helm_values(&file.path) {
                        out.push(generic("helm-values"));
                    }
                    if file.format == Format::Json && fname.starts_with("jupyter") {
                        out.push(generic("jupyter"));
                    }
                }
                Format::Toml => {
                    out.push(generic("toml"));
                    if let Some(req) = formats::pyproject_requirements(doc) {
                        out.push(Subject {
                            target: "requirements".into(),
                            root: req,
                            ..generic("requirements")
                        });
                    }
                }
                Format::Properties => {
                    out.push(generic("properties"));
                    if fname == "config.properties"
                        || doc
                            .entries()
                            .iter()
                            .any(|(k, _)| TORCHSERVE_KEYS.contains(&k.name.as_str()))
                    {
                        out.push(generic("torchserve"));
                    }
                }
                Format::Ini => out.push(generic("ini")),
                Format::Requirements => out.push(generic("requirements")),
                Format::JupyterPy => out.push(generic("jupyter")),
                Format::Dotenv | Format::Dockerfile | Format::Systemd => {
                    if file.format == Format::Systemd {
                        out.push(generic("systemd"));
                    }
                    let mut root = doc.clone();
                    let words = command_words(doc.get("command"), doc.get("args"));
                    let env = doc
                        .get("env")
                        .cloned()
                        .unwrap_or_else(|| Node::map(vec![], doc.pos));
                    add_views(&mut root, env, &words);
                    set(
                        &mut root,
                        "$format",
                        Node::scalar(file.format.as_str(), Pos::default()),
                    );
                    let replaced = doc.get("command").is_some();
                    if let Some(server) = servers::view(&root, replaced) {
                        set(&mut root, "server", server);
                    }
                    out.push(Subject {
                        target: "container".into(),
                        root,
                        resource: fname.clone(),
                        ..generic("container")
                    });
                }
            }
        }
    }

    // `$target` lets a rule with several targets tell them apart.
    for s in out.iter_mut() {
        let t = Node::scalar(s.target.clone(), Pos::default());
        set(&mut s.root, "$target", t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> File {
        let format = formats::detect(path, text).unwrap();
        File {
            path: path.into(),
            format,
            directives: vec![],
            docs: formats::parse(format, text).unwrap(),
        }
    }

    #[test]
    fn argv_forms() {
        let words: Vec<Node> = [
            "vllm",
            "serve",
            "m",
            "--host=0.0.0.0",
            "--port",
            "8000",
            "--trust_remote_code",
            "-p",
            "1",
        ]
        .iter()
        .map(|w| Node::scalar(*w, Pos::new(1, 1)))
        .collect();
        let a = argv_view(&words);
        assert_eq!(a.get("--host").unwrap().as_str(), Some("0.0.0.0"));
        assert_eq!(a.get("--port").unwrap().as_str(), Some("8000"));
        assert_eq!(a.get("--trust-remote-code").unwrap().as_str(), Some("true"));
        assert_eq!(a.get("-p").unwrap().as_str(), Some("1"));
    }

    #[test]
    fn shell_c_is_opened() {
        let cmd = Node::seq(
            vec![
                Node::scalar("/bin/sh", Pos::new(1, 1)),
                Node::scalar("-c", Pos::new(1, 1)),
                Node::scalar(
                    "pip install x && vllm serve m --api-key \"$K\"",
                    Pos::new(2, 3),
                ),
            ],
            Pos::new(1, 1),
        );
        let words = command_words(Some(&cmd), None);
        let a = argv_view(&words);
        assert_eq!(a.get("--api-key").unwrap().as_str(), Some("$K"));
        assert_eq!(a.get("--api-key").unwrap().pos, Pos::new(2, 3));
    }

    #[test]
    fn k8s_links_services_and_policies() {
        let f = file(
            "d.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: tgi, namespace: ml}\nspec:\n  template:\n    metadata: {labels: {app: tgi}}\n    spec:\n      containers:\n        - name: tgi\n          image: ghcr.io/huggingface/text-generation-inference:3.0\n          env: [{name: API_KEY, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: tgi, namespace: ml}\nspec: {type: LoadBalancer, selector: {app: tgi}, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: default}\nspec: {selector: {app: tgi}}\n",
        );
        let s = subjects(&[f]);
        let svc = s.iter().find(|s| s.resource == "Service/ml/tgi").unwrap();
        assert_eq!(svc.root.get("selected").unwrap().items().len(), 1);
        let pod = s.iter().find(|s| s.target == "pod").unwrap();
        assert_eq!(
            pod.root.get("services").unwrap().items().len(),
            1,
            "namespaces separate"
        );
        let c = s.iter().find(|s| s.target == "container").unwrap();
        assert_eq!(c.resource, "Deployment/ml/tgi container tgi");
        assert!(c.root.at("env.API_KEY").unwrap().as_str().is_none());
    }

    #[test]
    fn compose_and_ray() {
        let f = file(
            "docker-compose.yml",
            "services:\n  ollama:\n    image: ollama/ollama\n    environment:\n      - OLLAMA_HOST=0.0.0.0\n    ports: [\"11434:11434\"]\n",
        );
        let s = subjects(&[f]);
        let c = s.iter().find(|s| s.target == "container").unwrap();
        let v = c.root.at("env.OLLAMA_HOST").unwrap();
        assert_eq!(v.as_str(), Some("0.0.0.0"));
        assert_eq!((v.pos.line, v.pos.col), (5, 21));
        let f = file(
            "ray.yaml",
            "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: r}\nspec:\n  headGroupSpec:\n    rayStartParams:\n      dashboard-host: '0.0.0.0'\n    template:\n      spec:\n        containers: [{name: head, image: rayproject/ray:2.40.0}]\n",
        );
        let s = subjects(&[f]);
        let c = s.iter().find(|s| s.target == "container").unwrap();
        assert_eq!(
            c.root
                .at("argv")
                .unwrap()
                .get("--dashboard-host")
                .unwrap()
                .as_str(),
            Some("0.0.0.0")
        );
    }
}
