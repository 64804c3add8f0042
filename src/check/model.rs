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

/// Annotation that carries suppressions on a Kubernetes object or pod template.
pub const IGNORE_ANNOTATION: &str = "modelsec.dev/ignore";

fn key(name: &str, pos: Pos) -> Key {
    Key {
        name: name.to_string(),
        pos,
    }
}

fn set(root: &mut Node, name: &str, value: Node) {
    if let Kind::Map(entries) = &mut root.kind {
        let pos = value.pos;
        if let Some(slot) = entries.iter_mut().find(|(k, _)| k.name == name) {
            slot.1 = value;
        } else {
            entries.push((key(name, pos), value));
        }
    }
}

fn str_at<'a>(n: &'a Node, path: &str) -> Option<&'a str> {
    n.at(path).and_then(Node::as_str)
}

/// Split a command line the way a shell would, keeping the string's position for every word.
fn split_words(n: &Node) -> Vec<Node> {
    match n.as_str() {
        Some(s) => shlex::split(s)
            .unwrap_or_else(|| s.split_whitespace().map(str::to_string).collect())
            .into_iter()
            .map(|w| Node::scalar(w, n.pos))
            .collect(),
        None => vec![],
    }
}

/// The words a container runs: `command` then `args` (lists or strings), with `sh -c "…"`
/// opened up.
pub fn command_words(command: Option<&Node>, args: Option<&Node>) -> Vec<Node> {
    let mut words: Vec<Node> = Vec::new();
    for part in [command, args].into_iter().flatten() {
        match &part.kind {
            Kind::Seq(items) => {
                words.extend(items.iter().filter(|i| i.as_str().is_some()).cloned())
            }
            Kind::Scalar(_) => words.extend(split_words(part)),
            _ => {}
        }
    }
    // sh -c "vllm serve … --host 0.0.0.0": the script's words are the real command line.
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str().unwrap_or("");
        let base = w.rsplit('/').next().unwrap_or(w);
        let is_shell = matches!(base, "sh" | "bash" | "dash" | "ash" | "zsh");
        let next = words.get(i + 1).and_then(Node::as_str).unwrap_or("");
        if is_shell && next.starts_with('-') && next.ends_with('c') && i + 2 < words.len() {
            out.extend(split_words(&words[i + 2]));
            i += 3;
            continue;
        }
        out.push(words[i].clone());
        i += 1;
    }
    out
}

/// The `argv` view: `--flag value`, `--flag=value` and bare `--flag` (value `true`), keyed by
/// the flag as written; a snake_case long flag is also filed under its kebab-case spelling,
/// since argparse-based servers (vLLM) accept both.
pub fn argv_view(words: &[Node]) -> Node {
    let mut entries: Vec<(Key, Node)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str().unwrap_or("");
        let pos = words[i].pos;
        let is_flag =
            w.len() > 1 && w.starts_with('-') && !w[1..].starts_with(|c: char| c.is_ascii_digit());
        if !is_flag || w == "--" {
            i += 1;
            continue;
        }
        let (name, value) = match w.split_once('=') {
            Some((n, v)) => (n.to_string(), Node::scalar(v, pos)),
            None => {
                let next = words.get(i + 1).and_then(Node::as_str);
                match next {
                    Some(v)
                        if !(matches!(v, "&&" | "||" | ";" | "|")
                            || v.starts_with('-') && v.len() > 1) =>
                    {
                        i += 1;
                        (w.to_string(), words[i].clone())
                    }
                    _ => (w.to_string(), Node::scalar("true", pos)),
                }
            }
        };
        let alias = (name.starts_with("--") && name.contains('_') && !name.contains('.'))
            .then(|| name.replace('_', "-"));
        for n in std::iter::once(name).chain(alias) {
            if let Some(slot) = entries.iter_mut().find(|(k, _)| k.name == n) {
                *slot = (key(&n, pos), value.clone());
            } else {
                entries.push((key(&n, pos), value.clone()));
            }
        }
        i += 1;
    }
    Node::map(entries, words.first().map(|w| w.pos).unwrap_or_default())
}

/// The Kubernetes `env` list as a map: `name` → `value` (or the `valueFrom` table, which is
/// not a literal).
fn k8s_env(env: Option<&Node>) -> Node {
    let mut entries: Vec<(Key, Node)> = Vec::new();
    for item in env.map(Node::items).unwrap_or(&[]) {
        let Some(name) = item.get("name") else {
            continue;
        };
        let value = item
            .get("value")
            .or_else(|| item.get("valueFrom"))
            .cloned()
            .unwrap_or_else(|| Node::scalar("", name.pos));
        entries.push((key(name.as_str().unwrap_or(""), name.pos), value));
    }
    Node::map(entries, env.map(|e| e.pos).unwrap_or_default())
}

/// Compose `environment`: a map, or a list of `KEY=value` strings.
fn compose_env(env: Option<&Node>) -> Node {
    let Some(env) = env else {
        return Node::map(vec![], Pos::default());
    };
    match &env.kind {
        Kind::Map(_) => env.clone(),
        Kind::Seq(items) => {
            let entries = items
                .iter()
                .filter_map(|i| {
                    let s = i.as_str()?;
                    let (k, v) = s.split_once('=').unwrap_or((s, ""));
                    let vpos = Pos {
                        line: i.pos.line,
                        col: i.pos.col + k.chars().count() as u32 + 1,
                    };
                    Some((key(k, i.pos), Node::scalar(v, vpos)))
                })
                .collect();
            Node::map(entries, env.pos)
        }
        _ => Node::map(vec![], env.pos),
    }
}

fn add_views(root: &mut Node, env: Node, words: &[Node]) {
    let program = words
        .first()
        .and_then(Node::as_str)
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
    let cmdline = words
        .iter()
        .filter_map(Node::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let first_pos = words.first().map(|w| w.pos).unwrap_or_default();
    set(root, "env", env);
    set(root, "argv", argv_view(words));
    if let Some(p) = program {
        set(root, "program", Node::scalar(p, first_pos));
    }
    set(root, "cmdline", Node::scalar(cmdline, first_pos));
}

/// A pod spec found in a Kubernetes object, with what owns it.
struct PodSpec<'a> {
    spec: &'a Node,
    labels: Option<&'a Node>,
    annotations: Vec<&'a Node>,
    /// Containers, each with extra argv words (KubeRay's `rayStartParams`).
    containers: Vec<(&'a Node, Vec<Node>)>,
    what: String,
}

fn containers_of(spec: &Node) -> Vec<(&Node, Vec<Node>)> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec.get(k).map(Node::items).unwrap_or(&[]))
        .map(|c| (c, vec![]))
        .collect()
}

fn ray_params(group: &Node) -> Vec<Node> {
    let mut words = Vec::new();
    if let Some(params) = group.get("rayStartParams") {
        for (k, v) in params.entries() {
            words.push(Node::scalar(format!("--{}", k.name), k.pos));
            words.push(v.clone());
        }
    }
    words
}

fn template_pod<'a>(template: &'a Node, what: String, obj: &'a Node) -> Option<PodSpec<'a>> {
    let spec = template.get("spec")?;
    let mut annotations: Vec<&Node> = obj.at("metadata.annotations").into_iter().collect();
    annotations.extend(template.at("metadata.annotations"));
    Some(PodSpec {
        spec,
        labels: template.at("metadata.labels"),
        annotations,
        containers: containers_of(spec),
        what,
    })
}

fn ray_cluster_pods<'a>(spec: &'a Node, obj: &'a Node, out: &mut Vec<PodSpec<'a>>) {
    let groups = spec
        .get("headGroupSpec")
        .into_iter()
        .map(|g| ("head".to_string(), g))
        .chain(
            spec.get("workerGroupSpecs")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .map(|g| {
                    (
                        format!(
                            "worker group {}",
                            g.get("groupName").and_then(Node::as_str).unwrap_or("?")
                        ),
                        g,
                    )
                }),
        );
    for (what, group) in groups {
        let Some(template) = group.get("template") else {
            continue;
        };
        if let Some(mut pod) = template_pod(template, what, obj) {
            let params = ray_params(group);
            for c in pod.containers.iter_mut() {
                c.1 = params.clone();
            }
            out.push(pod);
        }
    }
}

fn pods_of<'a>(kind: &str, obj: &'a Node) -> Vec<PodSpec<'a>> {
    let mut out = Vec::new();
    let spec = match obj.get("spec") {
        Some(s) => s,
        None => return out,
    };
    match kind {
        "Pod" => out.push(PodSpec {
            spec,
            labels: obj.at("metadata.labels"),
            annotations: obj.at("metadata.annotations").into_iter().collect(),
            containers: containers_of(spec),
            what: String::new(),
        }),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => {
            if let Some(t) = spec.get("template") {
                out.extend(template_pod(t, String::new(), obj));
            }
        }
        "CronJob" => {
            if let Some(t) = spec.at("jobTemplate.spec.template") {
                out.extend(template_pod(t, String::new(), obj));
            }
        }
        "InferenceService" => {
            for component in ["predictor", "transformer", "explainer"] {
                let Some(c) = spec.get(component) else {
                    continue;
                };
                let mut containers = containers_of(c);
                if let Some(model) = c.get("model") {
                    containers.push((model, vec![]));
                }
                for (_, framework) in c.entries() {
                    // Older v1beta1 form: predictor.sklearn / predictor.pytorch / …
                    if framework.get("storageUri").is_some()
                        && !std::ptr::eq(framework, c)
                        && !containers.iter().any(|(n, _)| std::ptr::eq(*n, framework))
                    {
                        containers.push((framework, vec![]));
                    }
                }
                out.push(PodSpec {
                    spec: c,
                    labels: obj.at("metadata.labels"),
                    annotations: obj.at("metadata.annotations").into_iter().collect(),
                    containers,
                    what: component.to_string(),
                });
            }
        }
        "RayCluster" => ray_cluster_pods(spec, obj, &mut out),
        "RayService" => {
            if let Some(c) = spec.get("rayClusterConfig") {
                ray_cluster_pods(c, obj, &mut out);
            }
        }
        "RayJob" => {
            if let Some(c) = spec.get("rayClusterSpec") {
                ray_cluster_pods(c, obj, &mut out);
            }
        }
        "SeldonDeployment" => {
            for p in spec.get("predictors").map(Node::items).unwrap_or(&[]) {
                for cs in p.get("componentSpecs").map(Node::items).unwrap_or(&[]) {
                    out.extend(template_pod(cs, String::new(), obj));
                }
            }
        }
        _ => {}
    }
    out
}

fn without(n: &Node, drop: &[&str]) -> Node {
    match &n.kind {
        Kind::Map(entries) => Node::map(
            entries
                .iter()
                .filter(|(k, _)| !drop.contains(&k.name.as_str()))
                .cloned()
                .collect(),
            n.pos,
        ),
        _ => n.clone(),
    }
}

fn annotation_directives(annotations: &[&Node]) -> Vec<(Pos, String)> {
    let mut out = Vec::new();
    for a in annotations {
        for (k, v) in a.entries() {
            if k.name == IGNORE_ANNOTATION || k.name.starts_with("modelsec.dev/ignore.") {
                for line in v.as_str().unwrap_or("").lines() {
                    for part in line.split(['\n']) {
                        if !part.trim().is_empty() {
                            out.push((v.pos, part.trim().to_string()));
                        }
                    }
                }
            }
        }
    }
    out
}

fn selects(selector: &Node, labels: Option<&Node>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Node::as_str);
    let match_labels = selector.get("matchLabels").unwrap_or(selector);
    for (k, v) in match_labels.entries() {
        if k.name == "matchExpressions" || k.name == "matchLabels" {
            continue;
        }
        if label(&k.name) != v.as_str() {
            return false;
        }
    }
    for e in selector
        .get("matchExpressions")
        .map(Node::items)
        .unwrap_or(&[])
    {
        let k = str_at(e, "key").unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(Node::as_str)
            .collect();
        let ok = match str_at(e, "operator").unwrap_or("") {
            "In" => label(k).is_some_and(|v| values.contains(&v)),
            "NotIn" => label(k).is_none_or(|v| !values.contains(&v)),
            "Exists" => label(k).is_some(),
            "DoesNotExist" => label(k).is_none(),
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn namespace(obj: &Node) -> &str {
    str_at(obj, "metadata.namespace").unwrap_or("default")
}

fn object_name(obj: &Node) -> &str {
    str_at(obj, "metadata.name").unwrap_or("?")
}

fn is_k8s(doc: &Node) -> bool {
    str_at(doc, "apiVersion").is_some() && str_at(doc, "kind").is_some()
}

fn is_compose(doc: &Node) -> bool {
    doc.get("services").is_some_and(|s| {
        !s.entries().is_empty()
            && s.entries()
                .iter()
                .all(|(_, v)| matches!(v.kind, Kind::Map(_) | Kind::Null))
    }) && !is_k8s(doc)
}

const TORCHSERVE_KEYS: &[&str] = &[
    "inference_address",
    "management_address",
    "metrics_address",
    "grpc_management_address",
    "model_store",
    "load_models",
    "allowed_urls",
    "enable_model_api",
    "disable_token_authorization",
];

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Every subject of every file, with cross-document links (Service → pods, pod → Services and
/// NetworkPolicies) resolved across all files given.
pub fn subjects(files: &[File]) -> Vec<Subject> {
    let links = links(files);
    (0..files.len())
        .flat_map(|fi| file_subjects(files, fi, &links))
        .collect()
}

/// A pod spec's identity: (file, document, index among the object's pod specs).
pub type PodId = (usize, usize, usize);
/// A document's identity: (file, document).
pub type DocId = (usize, usize);

/// Cross-document links among every file given: which pods each Service selects, and which
/// Services and NetworkPolicies select each pod (within a namespace).
#[derive(Default, Debug)]
pub struct Links {
    pub service_pods: std::collections::HashMap<DocId, Vec<PodId>>,
    pub pod_services: std::collections::HashMap<PodId, Vec<DocId>>,
    pub pod_policies: std::collections::HashMap<PodId, Vec<DocId>>,
}

/// Compute [`Links`]. Pods are indexed by (namespace, label, value), so a selector only looks at
/// pods carrying its first label: linear in the number of objects, not quadratic.
pub fn links(files: &[File]) -> Links {
    use std::collections::HashMap;
    let mut pods: Vec<(PodId, &str, Option<&Node>)> = Vec::new();
    let mut services: Vec<(DocId, &str, &Node)> = Vec::new();
    let mut policies: Vec<(DocId, &str, Option<&Node>)> = Vec::new();
    for (fi, file) in files.iter().enumerate() {
        if !matches!(file.format, Format::Yaml | Format::Json) {
            continue;
        }
        for (di, doc) in file.docs.iter().enumerate() {
            if !is_k8s(doc) {
                continue;
            }
            let kind = str_at(doc, "kind").unwrap_or("");
            let ns = namespace(doc);
            match kind {
                "Service" => {
                    if let Some(sel) = doc.at("spec.selector")
                        && !sel.entries().is_empty()
                    {
                        services.push(((fi, di), ns, sel));
                    }
                }
                "NetworkPolicy" => policies.push(((fi, di), ns, doc.at("spec.podSelector"))),
                _ => {
                    for (pi, pod) in pods_of(kind, doc).into_iter().enumerate() {
                        pods.push(((fi, di, pi), ns, pod.labels));
                    }
                }
            }
        }
    }
    let mut by_label: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::new();
    let mut by_ns: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, ns, labels)) in pods.iter().enumerate() {
        by_ns.entry(ns).or_default().push(i);
        for (k, v) in labels.map(Node::entries).unwrap_or(&[]) {
            if let Some(v) = v.as_str() {
                by_label
                    .entry((ns, k.name.as_str(), v))
                    .or_default()
                    .push(i);
            }
        }
    }
    let matching = |ns: &str, sel: &Node| -> Vec<usize> {
        let labels = sel.get("matchLabels").unwrap_or(sel);
        let first = labels
            .entries()
            .iter()
            .find(|(k, _)| k.name != "matchExpressions" && k.name != "matchLabels")
            .and_then(|(k, v)| v.as_str().map(|v| (k.name.as_str(), v)));
        let candidates: &[usize] = match first {
            Some((k, v)) => by_label.get(&(ns, k, v)).map(Vec::as_slice).unwrap_or(&[]),
            None => by_ns.get(ns).map(Vec::as_slice).unwrap_or(&[]),
        };
        candidates
            .iter()
            .copied()
            .filter(|&i| selects(sel, pods[i].2))
            .collect()
    };
    let mut links = Links::default();
    for (id, ns, sel) in &services {
        let matched = matching(ns, sel);
        for &i in &matched {
            links.pod_services.entry(pods[i].0).or_default().push(*id);
        }
        links
            .service_pods
            .insert(*id, matched.iter().map(|&i| pods[i].0).collect());
    }
    for (id, ns, sel) in &policies {
        let matched = match sel {
            Some(sel) => matching(ns, sel),
            None => by_ns.get(ns).cloned().unwrap_or_default(),
        };
        for i in matched {
            links.pod_policies.entry(pods[i].0).or_default().push(*id);
        }
    }
    links
}

/// The `workload` view of a Kubernetes object.
fn workload_node(kind: &str, name: &str, ns: &str, anchor: Pos) -> Node {
    Node::map(
        vec![
            (key("kind", anchor), Node::scalar(kind, anchor)),
            (key("name", anchor), Node::scalar(name, anchor)),
            (key("namespace", anchor), Node::scalar(ns, anchor)),
        ],
        anchor,
    )
}

fn object_anchor(doc: &Node) -> Pos {
    doc.at("metadata")
        .and_then(|m| m.entry("name"))
        .map(|(k, _)| k.pos)
        .unwrap_or(doc.pos)
}

/// A pod subject's root: the pod spec plus `workload` and `labels`.
fn pod_root(kind: &str, doc: &Node, pod: &PodSpec<'_>) -> Node {
    let anchor = object_anchor(doc);
    let mut root = pod.spec.clone();
    set(
        &mut root,
        "workload",
        workload_node(kind, object_name(doc), namespace(doc), anchor),
    );
    let labels = pod
        .labels
        .cloned()
        .unwrap_or_else(|| Node::map(vec![], anchor));
    set(&mut root, "labels", labels);
    root
}

fn pod_root_by_id(files: &[File], id: PodId) -> Option<Node> {
    let doc = files.get(id.0)?.docs.get(id.1)?;
    let kind = str_at(doc, "kind").unwrap_or("");
    let pods = pods_of(kind, doc);
    pods.get(id.2).map(|p| pod_root(kind, doc, p))
}

fn doc_by_id(files: &[File], id: DocId) -> Option<Node> {
    files.get(id.0)?.docs.get(id.1).cloned()
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
                    if let Some(pods) = links.service_pods.get(&(fi, di)) {
                        let selected = pods
                            .iter()
                            .filter_map(|id| pod_root_by_id(files, *id))
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
                    for (pi, pod) in pods_of(kind, doc).into_iter().enumerate() {
                        let pod_resource = if pod.what.is_empty() {
                            resource.clone()
                        } else {
                            format!("{resource} {}", pod.what)
                        };
                        let directives = annotation_directives(&pod.annotations);
                        let mut pod_root = pod_root(kind, doc, &pod);
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
                        set(
                            &mut pod_root,
                            "network_policies",
                            Node::seq(linked(&links.pod_policies), anchor),
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
                        for (c, extra) in &pod.containers {
                            let cname = str_at(c, "name").unwrap_or(if pod.what.is_empty() {
                                "?"
                            } else {
                                "kserve-container"
                            });
                            let mut root = (*c).clone();
                            if !matches!(root.kind, Kind::Map(_)) {
                                continue;
                            }
                            let mut words = command_words(c.get("command"), c.get("args"));
                            words.extend(extra.iter().cloned());
                            let mut env = k8s_env(c.get("env"));
                            if kind.starts_with("Ray") {
                                // KubeRay injects RAY_AUTH_MODE from spec.authOptions.mode.
                                let mode = doc
                                    .at("spec.authOptions.mode")
                                    .or_else(|| doc.at("spec.rayClusterConfig.authOptions.mode"))
                                    .or_else(|| doc.at("spec.rayClusterSpec.authOptions.mode"));
                                if let (Some(m), Kind::Map(entries)) = (mode, &mut env.kind)
                                    && !entries.iter().any(|(k, _)| k.name == "RAY_AUTH_MODE")
                                {
                                    entries.push((key("RAY_AUTH_MODE", m.pos), m.clone()));
                                }
                            }
                            add_views(&mut root, env, &words);
                            set(&mut root, "pod", pod_view.clone());
                            set(&mut root, "workload", workload.clone());
                            set(&mut root, "labels", labels.clone());
                            let anchor = c.entry("name").map(|(k, _)| k.pos).unwrap_or(c.pos);
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
                    for (svc, body) in doc.get("services").map(Node::entries).unwrap_or(&[]) {
                        let mut root = if matches!(body.kind, Kind::Map(_)) {
                            body.clone()
                        } else {
                            Node::map(vec![], svc.pos)
                        };
                        let words = command_words(body.get("entrypoint"), body.get("command"));
                        add_views(&mut root, compose_env(body.get("environment")), &words);
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
