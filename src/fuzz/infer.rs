//! What the graph says about the input contract and the outputs, cheaply: integer inputs that
//! index a `Gather` table or a one-hot (their vocabulary), scalar inputs compared against
//! constants (`sr == 16000`), and what produces each output (a Softmax, a Sigmoid, a ZipMap, a
//! scikit-learn / LightGBM / XGBoost classifier or regressor operator). Every inference is
//! reported as a fact with its reason; a graph that cannot be read just means no inferences.

use crate::onnx::graph::{Attr, Graph, Node};

/// Operators that pass their first input's values through (reshaped or retyped).
const PASS: &[&str] = &[
    "Identity",
    "Cast",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Flatten",
    "Expand",
    "Transpose",
];

/// What the graph tells about one integer input.
#[derive(Clone, Debug, PartialEq)]
pub struct IntHint {
    /// Valid values `lo..=hi` (a vocabulary or one-hot width).
    pub range: Option<(i64, i64)>,
    /// Values the graph compares the input against (`Equal` with a scalar constant).
    pub candidates: Vec<i64>,
    /// Why, for the report.
    pub why: String,
}

/// Names carrying `input`'s values (itself and pass-through results), bounded.
fn aliases(g: &Graph, input: &str) -> Vec<String> {
    let mut seen: Vec<String> = vec![input.to_string()];
    let mut i = 0;
    while i < seen.len() && seen.len() < 64 {
        let name = seen[i].clone();
        for n in g.nodes.iter().filter(|n| n.inputs.first() == Some(&name)) {
            if PASS.contains(&n.op.as_str()) {
                for o in &n.outputs {
                    if !seen.contains(o) {
                        seen.push(o.clone());
                    }
                }
            }
        }
        i += 1;
    }
    seen
}

/// Consecutive integers `m, m+1, …` as (m, last).
fn arange(values: &[f64]) -> Option<(i64, i64)> {
    let first = *values.first()?;
    (values.len() > 1
        && values
            .iter()
            .enumerate()
            .all(|(i, &v)| v == first + i as f64 && v.fract() == 0.0))
    .then(|| (first as i64, first as i64 + values.len() as i64 - 1))
}

/// The vocabulary and compared-against constants of integer `input`.
pub fn int_hint(g: &Graph, input: &str) -> Option<IntHint> {
    let names = aliases(g, input);
    let mut hint = IntHint {
        range: None,
        candidates: vec![],
        why: String::new(),
    };
    let mut why = Vec::new();
    for n in &g.nodes {
        let uses = |i: usize| n.inputs.get(i).is_some_and(|x| names.contains(x));
        match n.op.as_str() {
            "Gather" if uses(1) => {
                let Some(table) = n.inputs.first().and_then(|t| g.consts.get(t)) else {
                    continue;
                };
                let axis = n.int("axis").unwrap_or(0);
                let axis = if axis < 0 {
                    axis + table.dims.len() as i64
                } else {
                    axis
                };
                if let Some(&v) = table.dims.get(axis as usize).filter(|&&v| v > 0) {
                    if hint.range.is_none_or(|(_, hi)| v - 1 < hi) {
                        hint.range = Some((0, v - 1));
                    }
                    why.push(format!(
                        "indexes a Gather table of shape {:?} (ids 0..{})",
                        table.dims,
                        v - 1
                    ));
                }
            }
            "OneHot" if uses(0) => {
                let depth = n
                    .inputs
                    .get(1)
                    .and_then(|d| g.consts.get(d))
                    .and_then(|c| c.values.as_ref()?.first().copied());
                if let Some(d) = depth.filter(|&d| d >= 1.0) {
                    hint.range = Some((0, d as i64 - 1));
                    why.push(format!("is one-hot encoded with depth {d}"));
                }
            }
            "Equal" if uses(0) || uses(1) => {
                let other = if uses(0) { 1 } else { 0 };
                let Some(values) = n
                    .inputs
                    .get(other)
                    .and_then(|c| g.consts.get(c))
                    .and_then(|c| c.values.clone())
                else {
                    continue;
                };
                if let Some((lo, hi)) = arange(&values) {
                    hint.range = Some((lo, hi));
                    why.push(format!(
                        "is compared against the constants {lo}..{hi} (a one-hot)"
                    ));
                } else if values.len() == 1 && values[0].fract() == 0.0 {
                    let v = values[0] as i64;
                    if !hint.candidates.contains(&v) {
                        hint.candidates.push(v);
                        why.push(format!("is compared against {v}"));
                    }
                }
            }
            _ => {}
        }
    }
    if why.is_empty() {
        return None;
    }
    hint.why = why.join("; ");
    Some(hint)
}

/// What produces an output, as far as the graph says.
#[derive(Clone, Debug, PartialEq)]
pub enum Producer {
    /// Softmax over `axis` (normalised, opset-aware: before opset 13 the dims from `axis` on
    /// are flattened).
    Softmax { axis: i64, flattened: bool },
    /// LogSoftmax: log-probabilities.
    LogSoftmax,
    /// Element-wise Sigmoid: independent probabilities.
    Sigmoid,
    /// ZipMap: probabilities keyed by class.
    ZipMap,
    /// An L1 Normalizer (scikit-learn's probability normalisation).
    Normalizer,
    /// A classifier operator's label (ai.onnx.ml) or an ArgMax.
    Label,
    /// A classifier operator's scores: probabilities when `probabilities`.
    ClassifierScores { probabilities: bool },
    /// A regressor operator (ai.onnx.ml).
    Regressor,
    /// A linear layer (Gemm, MatMul, Add after one): logits or a regression.
    Linear,
    /// Something else (`op`).
    Other(String),
}

fn is_ml_classifier(op: &str) -> bool {
    matches!(
        op,
        "TreeEnsembleClassifier" | "LinearClassifier" | "SVMClassifier" | "TreeEnsemble"
    )
}

/// Reductions that keep values in a probability's range (a mean of probabilities is one).
const REDUCE: &[&str] = &["ReduceMean", "ReduceMax", "ReduceMin"];

/// The producer of graph output `name`, looking through pass-through operators, reductions
/// that keep a probability a probability, and `If` branches (then-branch first).
pub fn producer(g: &Graph, name: &str) -> Option<Producer> {
    let mut name = name.to_string();
    let mut reduced = false;
    for _ in 0..32 {
        let n: &Node = g.producer_any(&name)?;
        let index = n.outputs.iter().position(|o| *o == name).unwrap_or(0);
        if PASS.contains(&n.op.as_str()) || REDUCE.contains(&n.op.as_str()) {
            reduced |= REDUCE.contains(&n.op.as_str());
            name = n.inputs.first()?.clone();
            continue;
        }
        if n.op == "If" {
            name = n.branches.first()?.get(index)?.clone();
            continue;
        }
        return Some(match n.op.as_str() {
            "Softmax" if reduced => Producer::Sigmoid,
            "Softmax" => {
                let flattened = g.opset > 0 && g.opset < 13;
                Producer::Softmax {
                    axis: n.int("axis").unwrap_or(if flattened { 1 } else { -1 }),
                    flattened,
                }
            }
            "LogSoftmax" => Producer::LogSoftmax,
            "Sigmoid" => Producer::Sigmoid,
            "ZipMap" => Producer::ZipMap,
            "Normalizer" if n.str("norm") == Some("L1") => Producer::Normalizer,
            "ArgMax" => Producer::Label,
            op if is_ml_classifier(op) => {
                if index == 0 {
                    Producer::Label
                } else {
                    let transform = n.str("post_transform").unwrap_or("NONE");
                    let platt = matches!(n.attr("prob_a"), Some(Attr::Floats(v)) if !v.is_empty());
                    Producer::ClassifierScores {
                        probabilities: transform != "NONE" || platt,
                    }
                }
            }
            "TreeEnsembleRegressor" | "LinearRegressor" | "SVMRegressor" => Producer::Regressor,
            "Gemm" | "MatMul" => Producer::Linear,
            "Add"
                if n.inputs.iter().any(|i| {
                    g.producer_any(i)
                        .is_some_and(|p| matches!(p.op.as_str(), "MatMul" | "Gemm"))
                }) =>
            {
                Producer::Linear
            }
            op => Producer::Other(op.to_string()),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::graph::Const;

    fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> Node {
        Node {
            op: op.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            ..Node::default()
        }
    }

    #[test]
    fn vocabularies_and_compared_constants() {
        let mut g = Graph::default();
        g.nodes.push(node("Cast", &["ids"], &["ids64"]));
        g.nodes.push(node("Gather", &["table", "ids64"], &["emb"]));
        g.consts.insert(
            "table".into(),
            Const {
                dims: vec![4, 3],
                data_type: 1,
                values: None,
            },
        );
        g.nodes.push(node("Reshape", &["bytes", "shape"], &["b3"]));
        g.nodes.push(node("Equal", &["b3", "arange"], &["onehot"]));
        g.consts.insert(
            "arange".into(),
            Const {
                dims: vec![1, 1, 257],
                data_type: 7,
                values: Some((0..257).map(f64::from).collect()),
            },
        );
        g.nodes.push(node("Equal", &["sr", "k"], &["is16k"]));
        g.consts.insert(
            "k".into(),
            Const {
                dims: vec![],
                data_type: 7,
                values: Some(vec![16000.0]),
            },
        );
        assert_eq!(int_hint(&g, "ids").unwrap().range, Some((0, 3)));
        assert_eq!(int_hint(&g, "bytes").unwrap().range, Some((0, 256)));
        let sr = int_hint(&g, "sr").unwrap();
        assert_eq!((sr.range, sr.candidates), (None, vec![16000]));
        assert!(int_hint(&g, "other").is_none());
    }

    #[test]
    fn producers_through_pass_through_ops() {
        let mut g = Graph {
            opset: 11,
            ..Graph::default()
        };
        g.nodes.push(node("MatMul", &["x", "w"], &["h"]));
        g.nodes.push(node("Add", &["h", "b"], &["logits"]));
        g.nodes.push(node("Softmax", &["logits"], &["p"]));
        g.nodes.push(node("Identity", &["p"], &["probs"]));
        g.nodes.push(node("Relu", &["x"], &["y"]));
        assert_eq!(
            producer(&g, "probs"),
            Some(Producer::Softmax {
                axis: 1,
                flattened: true
            })
        );
        assert_eq!(producer(&g, "logits"), Some(Producer::Linear));
        assert_eq!(producer(&g, "y"), Some(Producer::Other("Relu".into())));
        assert_eq!(producer(&g, "x"), None);
    }
}
