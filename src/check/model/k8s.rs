//! Kubernetes objects: where pod specs live in each kind, label selection, and the
//! cross-document links (Service → pods, pod → Services and NetworkPolicies).

use super::{File, IGNORE_ANNOTATION, key, set, str_at};
use crate::check::doc::{Kind, Node, Pos};
use crate::check::formats::Format;

/// A pod spec found in a Kubernetes object, with what owns it.
pub(super) struct PodSpec<'a> {
    pub(super) spec: &'a Node,
    pub(super) labels: Option<&'a Node>,
    pub(super) annotations: Vec<&'a Node>,
    pub(super) containers: Vec<Container<'a>>,
    pub(super) what: String,
}

/// A container as written, with what the platform adds to it.
pub(super) struct Container<'a> {
    pub(super) node: &'a Node,
    /// Extra argv words (KubeRay's `rayStartParams`).
    pub(super) extra: Vec<Node>,
    /// A KServe component container: the model format and runtime named (framework key or
    /// `modelFormat.name`, `runtime`); `None` inside for a custom container.
    pub(super) kserve: Option<(Option<String>, Option<String>)>,
}

impl<'a> Container<'a> {
    fn plain(node: &'a Node) -> Self {
        Container {
            node,
            extra: vec![],
            kserve: None,
        }
    }
}

pub(super) fn containers_of(spec: &Node) -> Vec<Container<'_>> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec.get(k).map(Node::items).unwrap_or(&[]))
        .map(Container::plain)
        .collect()
}

pub(super) fn ray_params(group: &Node) -> Vec<Node> {
    let mut words = Vec::new();
    if let Some(params) = group.get("rayStartParams") {
        for (k, v) in params.entries() {
            words.push(Node::scalar(format!("--{}", k.name), k.pos));
            words.push(v.clone());
        }
    }
    words
}

pub(super) fn template_pod<'a>(
    template: &'a Node,
    what: String,
    obj: &'a Node,
) -> Option<PodSpec<'a>> {
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

pub(super) fn ray_cluster_pods<'a>(spec: &'a Node, obj: &'a Node, out: &mut Vec<PodSpec<'a>>) {
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
                c.extra = params.clone();
            }
            out.push(pod);
        }
    }
}

pub(super) fn pods_of<'a>(kind: &str, obj: &'a Node) -> Vec<PodSpec<'a>> {
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
                for x in containers.iter_mut() {
                    x.kserve = Some((None, None));
                }
                let runtime =
                    |n: &Node| n.get("runtime").and_then(Node::as_str).map(str::to_string);
                if let Some(model) = c.get("model") {
                    let format = model
                        .at("modelFormat.name")
                        .and_then(Node::as_str)
                        .map(str::to_string);
                    containers.push(Container {
                        node: model,
                        extra: vec![],
                        kserve: Some((format, runtime(model))),
                    });
                }
                for (k, framework) in c.entries() {
                    // Older v1beta1 form: predictor.sklearn / predictor.pytorch / …
                    let known = super::kserve::RUNTIMES
                        .iter()
                        .any(|r| r.formats.contains(&k.name.as_str()));
                    if matches!(framework.kind, Kind::Map(_))
                        && (known || framework.get("storageUri").is_some())
                        && k.name != "model"
                        && !containers.iter().any(|x| std::ptr::eq(x.node, framework))
                    {
                        containers.push(Container {
                            node: framework,
                            extra: vec![],
                            kserve: Some((Some(k.name.clone()), runtime(framework))),
                        });
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
        "ServingRuntime" | "ClusterServingRuntime" => out.push(PodSpec {
            spec,
            labels: obj.at("metadata.labels"),
            annotations: obj.at("metadata.annotations").into_iter().collect(),
            containers: containers_of(spec),
            what: String::new(),
        }),
        "LLMInferenceService" => {
            // spec.template / spec.worker are pod specs; prefill has its own.
            for (what, path) in [
                ("", "template"),
                ("worker", "worker"),
                ("prefill", "prefill.template"),
                ("prefill worker", "prefill.worker"),
            ] {
                if let Some(p) = spec.at(path) {
                    out.push(PodSpec {
                        spec: p,
                        labels: obj.at("metadata.labels"),
                        annotations: obj.at("metadata.annotations").into_iter().collect(),
                        containers: containers_of(p),
                        what: what.to_string(),
                    });
                }
            }
        }
        "LeaderWorkerSet" => {
            for (what, path) in [
                ("leader", "leaderWorkerTemplate.leaderTemplate"),
                ("worker", "leaderWorkerTemplate.workerTemplate"),
            ] {
                if let Some(t) = spec.at(path) {
                    out.extend(template_pod(t, what.to_string(), obj));
                }
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

pub(super) fn without(n: &Node, drop: &[&str]) -> Node {
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

pub(super) fn annotation_directives(annotations: &[&Node]) -> Vec<(Pos, String)> {
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

pub(super) fn selects(selector: &Node, labels: Option<&Node>) -> bool {
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

pub(super) fn namespace(obj: &Node) -> &str {
    str_at(obj, "metadata.namespace").unwrap_or("default")
}

pub(super) fn object_name(obj: &Node) -> &str {
    str_at(obj, "metadata.name").unwrap_or("?")
}

pub(super) fn is_k8s(doc: &Node) -> bool {
    str_at(doc, "apiVersion").is_some() && str_at(doc, "kind").is_some()
}

pub(super) fn is_compose(doc: &Node) -> bool {
    doc.get("services").is_some_and(|s| {
        !s.entries().is_empty()
            && s.entries()
                .iter()
                .all(|(_, v)| matches!(v.kind, Kind::Map(_) | Kind::Null))
    }) && !is_k8s(doc)
}

pub(super) const TORCHSERVE_KEYS: &[&str] = &[
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

pub(super) fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A pod spec's identity: (file, document, index among the object's pod specs).
pub type PodId = (usize, usize, usize);
/// A document's identity: (file, document).
pub type DocId = (usize, usize);

/// Cross-document links among every file given: which pods each Service selects, and which
/// Services and NetworkPolicies select each pod (within a namespace).
#[derive(Default, Debug)]
pub struct Links {
    /// ServingRuntime / ClusterServingRuntime documents by name.
    pub runtimes: std::collections::HashMap<String, DocId>,
    /// KServe version whose built-in runtimes are assumed.
    pub kserve_version: [u64; 2],
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
    let mut links = Links {
        kserve_version: super::kserve::DEFAULT_VERSION,
        ..Links::default()
    };
    for (fi, file) in files.iter().enumerate() {
        for (di, doc) in file.docs.iter().enumerate() {
            let kind = str_at(doc, "kind").unwrap_or("");
            if matches!(kind, "ServingRuntime" | "ClusterServingRuntime")
                && let Some(name) = str_at(doc, "metadata.name")
            {
                links.runtimes.insert(name.to_string(), (fi, di));
            }
        }
    }
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
pub(super) fn workload_node(kind: &str, name: &str, ns: &str, anchor: Pos) -> Node {
    Node::map(
        vec![
            (key("kind", anchor), Node::scalar(kind, anchor)),
            (key("name", anchor), Node::scalar(name, anchor)),
            (key("namespace", anchor), Node::scalar(ns, anchor)),
        ],
        anchor,
    )
}

pub(super) fn object_anchor(doc: &Node) -> Pos {
    doc.at("metadata")
        .and_then(|m| m.entry("name"))
        .map(|(k, _)| k.pos)
        .unwrap_or(doc.pos)
}

/// A pod subject's root: the pod spec plus `workload` and `labels`.
pub(super) fn pod_root(
    files: &[File],
    links: &Links,
    kind: &str,
    doc: &Node,
    pod: &PodSpec<'_>,
) -> Node {
    let anchor = object_anchor(doc);
    let mut root = pod.spec.clone();
    // What its containers run, for rules on the Services that select it.
    let servers: Vec<Node> = pod
        .containers
        .iter()
        .filter_map(|c| super::container_root(files, links, kind, doc, pod, c))
        .filter_map(|c| c.get("server").cloned())
        .collect();
    set(&mut root, "servers", Node::seq(servers, anchor));
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

pub(super) fn pod_root_by_id(files: &[File], links: &Links, id: PodId) -> Option<Node> {
    let doc = files.get(id.0)?.docs.get(id.1)?;
    let kind = str_at(doc, "kind").unwrap_or("");
    let pods = pods_of(kind, doc);
    pods.get(id.2).map(|p| pod_root(files, links, kind, doc, p))
}

pub(super) fn doc_by_id(files: &[File], id: DocId) -> Option<Node> {
    files.get(id.0)?.docs.get(id.1).cloned()
}
