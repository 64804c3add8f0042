//! What each output means, and the oracles that judge outputs by it.
//!
//! An output is probabilities (a Softmax, a Sigmoid, a ZipMap, an L1 Normalizer, a
//! scikit-learn/LightGBM/XGBoost classifier operator with a probability transform, or values
//! that form a simplex), raw class scores, log-probabilities, a label, a regression, recurrent
//! state or something else (a feature map, an embedding, a detector's boxes). The graph says
//! it where it can; the values of a valid run confirm or decide. The oracles then ask only
//! what the role makes a defect:
//!
//! - on a valid input: no NaN/∞ anywhere, probabilities in [0, 1] (summing to 1 for a
//!   simplex), the label = the arg-max of the probabilities;
//! - on a NaN or ∞ input: a confident label beside undefined probabilities, or (NaN) an answer
//!   that looks ordinary — every answer-bearing output finite — is a finding; NaN in → NaN out
//!   is the input's invalidity showing, not a defect;
//! - on an ordinary special value (−0, a subnormal): NaN/∞ out is a finding;
//! - a row alone vs in a batch: a difference above the tolerance of the output's dtype,
//!   relative to its magnitude.

use super::infer::{self, Producer};
use super::rules;
use crate::onnx::graph::{Attr, Graph};
use crate::onnx::{ClassKeys, InputSpec, Outputs, elements};
use crate::report::{Finding, Severity};

/// What an output means.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// Probabilities over `axis` (a simplex: they sum to 1) or independent ones in [0, 1].
    Probs { axis: usize, simplex: bool },
    /// Class scores (logits), not normalised.
    Scores,
    /// Log-probabilities.
    LogProbs,
    /// A predicted label.
    Label,
    /// A regression value.
    Regression,
    /// Recurrent state handed back to the caller.
    State,
    /// Anything else.
    Other,
}

impl Role {
    /// Outputs that carry the model's answer (what a caller acts on).
    pub fn answers(&self) -> bool {
        !matches!(self, Role::State | Role::Other)
    }

    fn name(&self) -> &'static str {
        match self {
            Role::Probs { simplex: true, .. } => "probabilities",
            Role::Probs { .. } => "independent probabilities",
            Role::Scores => "class scores",
            Role::LogProbs => "log-probabilities",
            Role::Label => "label",
            Role::Regression => "regression",
            Role::State => "state",
            Role::Other => "other",
        }
    }
}

/// One output's role and how it was recognised.
#[derive(Clone, Debug)]
pub struct OutputInfo {
    pub name: String,
    pub role: Role,
    pub why: String,
    /// The batch symbol's axis in this output, when the model names it.
    pub batch_axis: Option<usize>,
    /// Class labels from the classifier operator (ints or strings, in score-column order).
    pub classes: Option<ClassKeys>,
    /// Whether each row of it is one vector (a class axis and dimensions of 1), as a
    /// classifier's scores are — not a map, a sequence or boxes.
    pub vector: bool,
}

/// All outputs' roles.
#[derive(Clone, Debug, Default)]
pub struct Roles {
    pub outputs: Vec<OutputInfo>,
}

fn state_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["state", "hidden", "cache", "present", "memory"]
        .iter()
        .any(|k| n.contains(k))
        || matches!(n.as_str(), "hn" | "cn" | "h" | "c" | "hy" | "cy")
}

/// Whether every group of `axis` is a probability simplex (within f32 tolerance).
fn is_simplex(shape: &[i64], v: &[f32], axis: usize) -> bool {
    !v.is_empty()
        && groups(shape, axis, false).all(|g| {
            let row: Vec<f32> = g.map(|i| v[i]).collect();
            row.len() > 1
                && row.iter().all(|p| (-1e-6..=1.0 + 1e-6).contains(p))
                && (row.iter().sum::<f32>() - 1.0).abs() <= sum_tolerance(row.len())
        })
}

fn sum_tolerance(classes: usize) -> f32 {
    1e-3 + 1e-6 * classes as f32
}

/// Index sets of the groups along `axis` (or, `flattened`, of everything from `axis` on).
fn groups(
    shape: &[i64],
    axis: usize,
    flattened: bool,
) -> impl Iterator<Item = impl Iterator<Item = usize>> {
    let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    let axis = axis.min(dims.len().saturating_sub(1));
    let (len, inner) = if flattened {
        (elements(&shape[axis.min(shape.len())..]), 1)
    } else {
        (
            dims.get(axis).copied().unwrap_or(1),
            dims.get(axis + 1..).map_or(1, |d| d.iter().product()),
        )
    };
    let outer: usize = dims[..axis].iter().product();
    let count = if dims.is_empty() { 0 } else { outer * inner };
    (0..count).map(move |g| {
        let (o, i) = (g / inner.max(1), g % inner.max(1));
        (0..len).map(move |k| (o * len + k) * inner + i)
    })
}

/// Class labels of a classifier operator producing `output` (ints or strings).
fn class_labels(g: &Graph, output: &str) -> Option<ClassKeys> {
    let mut name = output.to_string();
    for _ in 0..8 {
        let n = g.producer(&name)?;
        for key in [
            "classlabels_ints",
            "classlabels_int64s",
            "classlabels_strings",
        ] {
            match n.attr(key) {
                Some(Attr::Ints(v)) => return Some(ClassKeys::Int(v.clone())),
                Some(Attr::Strs(v)) => return Some(ClassKeys::Str(v.clone())),
                _ => {}
            }
        }
        name = n.inputs.first()?.clone();
    }
    None
}

impl Roles {
    /// Recognise every decoded output of `base` (a valid run) with the graph's help.
    pub fn recognise(
        graph: Option<&Graph>,
        declared: &[InputSpec],
        symbols: &[Vec<Option<String>>],
        batch: Option<&str>,
        inputs: &[InputSpec],
        base: &Outputs,
    ) -> Roles {
        let mut outputs = Vec::new();
        for (k, spec) in declared.iter().enumerate() {
            let name = &spec.name;
            let batch_axis =
                batch.and_then(|b| symbols.get(k)?.iter().position(|s| s.as_deref() == Some(b)));
            let float = base.floats.iter().find(|(n, ..)| n == name);
            let int_or_str = base.ints.iter().any(|(n, ..)| n == name)
                || base.strings.iter().any(|(n, ..)| n == name);
            if float.is_none() && !int_or_str {
                continue;
            }
            let producer = graph.and_then(|g| infer::producer(g, name));
            let classes = graph
                .and_then(|g| class_labels(g, name))
                .or_else(|| base.keys(name).cloned());
            let rank = float.map_or(spec.dims.len(), |f| f.1.len());
            let simplex_at = |axis: usize| float.is_some_and(|(_, s, v)| is_simplex(s, v, axis));
            let last = rank.saturating_sub(1);
            let mirrors_input = inputs.iter().any(|i| {
                i.elem.is_some_and(|e| e.is_float())
                    && i.dims.len() == spec.dims.len()
                    && name.starts_with(&i.name)
                    && *name != i.name
            });
            let (role, why) = if float.is_none() {
                let lower = name.to_lowercase();
                if matches!(producer, Some(Producer::Label))
                    || (rank <= 2
                        && (lower.contains("label")
                            || lower.contains("class")
                            || lower.contains("pred")))
                {
                    (Role::Label, "an integer or string output".to_string())
                } else {
                    (Role::Other, "an integer or string tensor".into())
                }
            } else if state_name(name) || mirrors_input {
                (Role::State, "named like recurrent state".into())
            } else {
                match producer {
                    Some(Producer::Softmax { axis, flattened }) => {
                        let axis = if axis < 0 { axis + rank as i64 } else { axis }.max(0) as usize;
                        let dims_after =
                            float.map_or(1, |f| elements(&f.1[(axis + 1).min(rank)..]));
                        let axis = if flattened && dims_after == 1 {
                            axis
                        } else if flattened {
                            last
                        } else {
                            axis
                        };
                        (
                            Role::Probs {
                                axis,
                                simplex: true,
                            },
                            "a Softmax".into(),
                        )
                    }
                    Some(Producer::Sigmoid) => (
                        Role::Probs {
                            axis: last,
                            simplex: false,
                        },
                        "a Sigmoid".into(),
                    ),
                    Some(Producer::ZipMap) => (
                        Role::Probs {
                            axis: 1,
                            simplex: true,
                        },
                        "a ZipMap".into(),
                    ),
                    Some(Producer::Normalizer) => (
                        Role::Probs {
                            axis: last,
                            simplex: true,
                        },
                        "an L1 Normalizer".into(),
                    ),
                    Some(Producer::LogSoftmax) => (Role::LogProbs, "a LogSoftmax".into()),
                    Some(Producer::ClassifierScores { probabilities }) => {
                        if probabilities || simplex_at(last) {
                            let simplex =
                                simplex_at(last) || rank == 2 && float.is_some_and(|f| f.1[1] > 1);
                            (
                                Role::Probs {
                                    axis: last,
                                    simplex,
                                },
                                "a classifier operator's probabilities".into(),
                            )
                        } else {
                            (Role::Scores, "a classifier operator's raw scores".into())
                        }
                    }
                    Some(Producer::Regressor) => (Role::Regression, "a regressor operator".into()),
                    Some(Producer::Label) => (Role::Label, "an ArgMax or classifier label".into()),
                    _ if simplex_at(last) && rank >= 2 => (
                        Role::Probs {
                            axis: last,
                            simplex: true,
                        },
                        "values that sum to 1".into(),
                    ),
                    Some(Producer::Linear) if rank == 2 && float.is_some_and(|f| f.1[1] > 1) => {
                        (Role::Scores, "a linear layer's class scores".into())
                    }
                    Some(Producer::Linear)
                        if float.is_some_and(|f| elements(f.1.get(1..).unwrap_or(&[])) == 1) =>
                    {
                        (Role::Regression, "a linear layer's single value".into())
                    }
                    Some(Producer::Other(op)) => (Role::Other, format!("a {op}")),
                    _ => (Role::Other, "nothing known".into()),
                }
            };
            let shape = float.map_or(&spec.dims, |f| &f.1);
            let vector = shape.iter().skip(1).filter(|&&d| d != 1).count() <= 1;
            outputs.push(OutputInfo {
                name: name.clone(),
                role,
                why,
                batch_axis,
                classes,
                vector,
            });
        }
        Roles { outputs }
    }

    /// `{name: "role (why)"}` for the report.
    pub fn describe(&self) -> serde_json::Value {
        self.outputs
            .iter()
            .map(|o| {
                (
                    o.name.clone(),
                    format!(
                        "{} ({}){}",
                        o.role.name(),
                        o.why,
                        if o.vector {
                            ""
                        } else {
                            ", not one vector per row"
                        }
                    )
                    .into(),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    pub fn get(&self, name: &str) -> Option<&OutputInfo> {
        self.outputs.iter().find(|o| o.name == name)
    }

    /// The label output.
    pub fn label(&self) -> Option<&OutputInfo> {
        self.outputs.iter().find(|o| o.role == Role::Label)
    }

    /// The scores a classifier's decision follows: a simplex, else independent
    /// probabilities of a binary decision, else class scores.
    pub fn scores(&self) -> Option<&OutputInfo> {
        let vectors = || self.outputs.iter().filter(|o| o.vector);
        vectors()
            .find(|o| matches!(o.role, Role::Probs { simplex: true, .. }))
            .or_else(|| vectors().find(|o| matches!(o.role, Role::Probs { .. })))
            .or_else(|| vectors().find(|o| o.role == Role::Scores || o.role == Role::LogProbs))
    }

    /// Whether the model looks like a classifier (has a label or class scores).
    pub fn classifier(&self) -> bool {
        self.label().is_some() || self.scores().is_some()
    }
}

/// The axis of `shape` that holds the run's `rows` (the named batch axis, else axis 0 when its
/// size is `rows`).
pub fn row_axis(info: Option<&OutputInfo>, shape: &[i64], rows: usize) -> Option<usize> {
    if let Some(a) = info.and_then(|i| i.batch_axis).filter(|&a| a < shape.len()) {
        return Some(a);
    }
    (shape.first() == Some(&(rows as i64))).then_some(0)
}

/// Entry `r` along `axis` of a tensor (all of it when `axis` is `None` and `r` is 0).
pub fn entry<T: Clone>(shape: &[i64], v: &[T], axis: Option<usize>, r: usize) -> Option<Vec<T>> {
    let Some(axis) = axis else {
        return (r == 0).then(|| v.to_vec());
    };
    let n = usize::try_from(*shape.get(axis)?).ok()?;
    if r >= n {
        return None;
    }
    let outer = elements(&shape[..axis]);
    let inner = elements(&shape[axis + 1..]);
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        let start = (o * n + r) * inner;
        out.extend_from_slice(v.get(start..start + inner)?);
    }
    Some(out)
}

/// The class scores of row `r` of a run with `rows` rows, as a vector a decision follows
/// (`[1 − p, p]` for a single independent probability).
pub fn scores_row(roles: &Roles, out: &Outputs, rows: usize, r: usize) -> Option<Vec<f32>> {
    let info = roles.scores()?;
    let (_, shape, v) = out.floats.iter().find(|(n, ..)| *n == info.name)?;
    let row = entry(shape, v, row_axis(Some(info), shape, rows), r)?;
    match (&info.role, row.len()) {
        (Role::Probs { simplex: false, .. }, 1) => Some(vec![1.0 - row[0], row[0]]),
        (_, n) if n >= 2 => Some(row),
        _ => None,
    }
}

/// The label of row `r`, as the index of its class in the scores' columns when the class
/// labels are known, else the label value itself.
pub fn label_row(roles: &Roles, out: &Outputs, rows: usize, r: usize) -> Option<i64> {
    let info = roles.label()?;
    if let Some((_, shape, v)) = out.ints.iter().find(|(n, ..)| *n == info.name) {
        let l = *entry(shape, v, row_axis(Some(info), shape, rows), r)?.first()?;
        return Some(match &info.classes {
            Some(ClassKeys::Int(k)) => k.iter().position(|&c| c == l).map_or(l, |i| i as i64),
            _ => l,
        });
    }
    let (_, shape, v) = out.strings.iter().find(|(n, ..)| *n == info.name)?;
    let l = entry(shape, v, row_axis(Some(info), shape, rows), r)?
        .first()?
        .clone();
    match &info.classes {
        Some(ClassKeys::Str(k)) => k.iter().position(|c| *c == l).map(|i| i as i64),
        _ => None,
    }
}

/// A regression value this large is an overflow in all but name.
const OUT_OF_RANGE: f32 = 1e30;

/// The arg-max, when unique and finite.
pub fn argmax(row: &[f32]) -> Option<usize> {
    let best = row
        .iter()
        .copied()
        .filter(|p| p.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    let mut at = row.iter().enumerate().filter(|(_, p)| **p == best);
    let first = at.next()?.0;
    at.next().is_none().then_some(first)
}

/// The first row (along the output's row axis) holding a non-finite value.
fn first_bad_row(info: Option<&OutputInfo>, shape: &[i64], v: &[f32], rows: usize) -> usize {
    let i = v.iter().position(|x| !x.is_finite()).unwrap_or(0);
    match row_axis(info, shape, rows) {
        Some(axis) => {
            let inner = elements(&shape[axis + 1..]);
            let n = shape[axis].max(1) as usize;
            (i / inner.max(1)) % n
        }
        None => 0,
    }
}

/// Oracles on a run of well-formed inputs: findings with the row that shows each.
pub fn check_valid(
    roles: &Roles,
    out: &Outputs,
    rows: usize,
    what: &str,
    sev: Severity,
) -> Vec<(Finding, usize)> {
    let mut found = Vec::new();
    let nonfinite: Vec<&(String, Vec<i64>, Vec<f32>)> = out
        .floats
        .iter()
        .filter(|(_, _, v)| v.iter().any(|x| !x.is_finite()))
        .collect();
    if let Some((name, shape, v)) = nonfinite.first() {
        let count: usize = nonfinite
            .iter()
            .map(|f| f.2.iter().filter(|x| !x.is_finite()).count())
            .sum();
        let row = first_bad_row(roles.get(name), shape, v, rows);
        found.push((
            Finding::new(
                &rules::NONFINITE_OUTPUT,
                format!("{what}: {count} output value(s) are NaN or infinite (first in `{name}`, row {row})"),
            )
            .with_severity(sev),
            row,
        ));
    } else if let Some((info, shape, v)) = roles
        .outputs
        .iter()
        .filter(|o| o.role == Role::Regression)
        .find_map(|o| {
            let (_, s, v) = out.floats.iter().find(|(n, ..)| *n == o.name)?;
            v.iter()
                .any(|x| x.abs() >= OUT_OF_RANGE)
                .then_some((o, s, v))
        })
    {
        // A regression beyond ±1e30 is an overflow in all but name.
        let at = v.iter().position(|x| x.abs() >= OUT_OF_RANGE).unwrap_or(0);
        let row = first_index_row(info, shape, at, rows);
        found.push((
            Finding::new(
                &rules::NONFINITE_OUTPUT,
                format!(
                    "{what}: regression `{}` row {row} is {:e}, out of any real range",
                    info.name, v[at]
                ),
            )
            .with_severity(sev),
            row,
        ));
    }
    for info in &roles.outputs {
        let Role::Probs { axis, simplex } = info.role else {
            continue;
        };
        let Some((_, shape, v)) = out.floats.iter().find(|(n, ..)| *n == info.name) else {
            continue;
        };
        for g in groups(shape, axis, false) {
            let idx: Vec<usize> = g.collect();
            let p: Vec<f32> = idx.iter().map(|&i| v[i]).collect();
            if p.iter().any(|x| !x.is_finite()) {
                continue; // reported above
            }
            let sum: f32 = p.iter().sum();
            let out_of_range = p.iter().any(|x| !(-1e-6..=1.0 + 1e-6).contains(x));
            if out_of_range || simplex && (sum - 1.0).abs() > sum_tolerance(p.len()) {
                let row = first_index_row(info, shape, idx[0], rows);
                let shown: Vec<f32> = p.iter().take(16).copied().collect();
                found.push((
                    Finding::new(
                        &rules::INVALID_PROBABILITIES,
                        format!(
                            "{what}: `{}` row {row} holds {shown:?}{} ({}sum {sum})",
                            info.name,
                            if p.len() > 16 { "…" } else { "" },
                            if simplex {
                                ""
                            } else {
                                "independent probabilities, "
                            }
                        ),
                    ),
                    row,
                ));
                break;
            }
        }
    }
    // The label must be the arg-max of the probabilities.
    if let (Some(label), Some(scores)) = (roles.label(), roles.scores())
        && matches!(scores.role, Role::Probs { simplex: true, .. })
    {
        let _ = label;
        for r in 0..rows {
            let (Some(p), Some(l)) = (
                scores_row(roles, out, rows, r),
                label_row(roles, out, rows, r),
            ) else {
                continue;
            };
            if p.iter().any(|x| !x.is_finite()) {
                continue;
            }
            if let Some(best) = argmax(&p)
                && best as i64 != l
            {
                found.push((
                    Finding::new(
                        &rules::LABEL_SCORE_DISAGREE,
                        format!(
                            "{what}: row {r} has label {} but the highest probability is class {}",
                            label_text(roles, l),
                            label_text(roles, best as i64)
                        ),
                    ),
                    r,
                ));
                break;
            }
        }
    }
    found
}

fn first_index_row(info: &OutputInfo, shape: &[i64], i: usize, rows: usize) -> usize {
    match row_axis(Some(info), shape, rows) {
        Some(axis) => (i / elements(&shape[axis + 1..]).max(1)) % (shape[axis].max(1) as usize),
        None => 0,
    }
}

/// A label index as the class it names.
pub fn label_text(roles: &Roles, l: i64) -> String {
    match roles.label().and_then(|i| i.classes.as_ref()) {
        Some(keys) if l >= 0 => keys.text(l as usize),
        _ => l.to_string(),
    }
}

/// What a special value in row `r` (of `rows`) did: the finding, if it shows a defect.
pub fn judge_special(
    roles: &Roles,
    out: &Outputs,
    rows: usize,
    r: usize,
    value: f64,
    where_: &str,
) -> Option<Finding> {
    let invalid = !value.is_finite() || value.abs() >= 1e30;
    // A confident label beside undefined probabilities.
    if let (Some(p), Some(l)) = (
        scores_row(roles, out, rows, r),
        label_row(roles, out, rows, r),
    ) && p.iter().any(|x| !x.is_finite())
        && l >= 0
        && (l as usize) < p.len().max(2)
    {
        let shown: Vec<f32> = p.iter().take(8).copied().collect();
        return Some(Finding::new(
            &rules::LABEL_SCORE_DISAGREE,
            format!(
                "{where_}: scores {shown:?} but label {}: a confident label from undefined scores",
                label_text(roles, l)
            ),
        ));
    }
    // Row r of every answer-bearing output (every non-state output when none is known).
    let answers: Vec<&OutputInfo> = {
        let a: Vec<&OutputInfo> = roles.outputs.iter().filter(|o| o.role.answers()).collect();
        if a.is_empty() {
            roles
                .outputs
                .iter()
                .filter(|o| o.role != Role::State)
                .collect()
        } else {
            a
        }
    };
    let mut finite_rows = Vec::new();
    let mut any_float = false;
    for info in &answers {
        if let Some((_, shape, v)) = out.floats.iter().find(|(n, ..)| *n == info.name) {
            any_float = true;
            let row = entry(shape, v, row_axis(Some(info), shape, rows), r)?;
            finite_rows.push((info.name.clone(), row.iter().all(|x| x.is_finite()), row));
        }
    }
    if !any_float {
        return None;
    }
    let all_finite = finite_rows.iter().all(|f| f.1);
    if value.is_nan() && all_finite {
        let shown: Vec<String> = finite_rows
            .iter()
            .map(|(n, _, row)| {
                let vals: Vec<f32> = row.iter().take(6).copied().collect();
                format!("`{n}` {vals:?}{}", if row.len() > 6 { "…" } else { "" })
            })
            .collect();
        let label = label_row(roles, out, rows, r)
            .map(|l| format!("label {}, ", label_text(roles, l)))
            .unwrap_or_default();
        return Some(Finding::new(
            &rules::ACCEPTS_NONFINITE,
            format!(
                "{where_}: answered {label}{}, no sign the input was invalid",
                shown.join(", ")
            ),
        ));
    }
    if !invalid && !all_finite {
        return Some(
            Finding::new(
                &rules::NONFINITE_OUTPUT,
                format!("{where_}: an ordinary value gives NaN or infinite output"),
            )
            .with_severity(Severity::High),
        );
    }
    None
}

/// The largest difference between row `r` of a batched run and the same row run alone,
/// relative to each output's magnitude, when above the tolerance of its dtype.
pub fn row_difference(
    roles: &Roles,
    batch: &Outputs,
    alone: &Outputs,
    rows: usize,
    r: usize,
) -> Option<(String, f32)> {
    let mut worst: Option<(String, f32)> = None;
    for (name, shape, v) in &batch.floats {
        let info = roles.get(name);
        let Some(a) = alone.floats.iter().find(|(n, ..)| n == name) else {
            continue;
        };
        let (Some(row), Some(solo)) = (
            entry(shape, v, row_axis(info, shape, rows), r),
            entry(&a.1, &a.2, row_axis(info, &a.1, 1), 0),
        ) else {
            continue;
        };
        if row.len() != solo.len() {
            continue;
        }
        let scale = v
            .iter()
            .filter(|x| x.is_finite())
            .fold(0f32, |m, x| m.max(x.abs()));
        let tolerance = if batch.doubles.contains(name) {
            1e-9
        } else {
            1e-3
        } * scale.max(1e-12);
        let diff = row
            .iter()
            .zip(&solo)
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        let nan_moved = row
            .iter()
            .zip(&solo)
            .any(|(x, y)| x.is_finite() != y.is_finite());
        if (diff > tolerance || nan_moved)
            && worst.as_ref().is_none_or(|w| diff / scale.max(1e-12) > w.1)
        {
            worst = Some((
                name.clone(),
                if nan_moved {
                    f32::NAN
                } else {
                    diff / scale.max(1e-12)
                },
            ));
        }
    }
    // Labels may only differ where the scores leave a real margin.
    if worst.is_none()
        && let (Some(lb), Some(ls)) = (
            label_row(roles, batch, rows, r),
            label_row(roles, alone, 1, 0),
        )
        && lb != ls
    {
        let margin = scores_row(roles, batch, rows, r).map_or(1.0, |p| {
            let mut s: Vec<f32> = p.into_iter().filter(|x| x.is_finite()).collect();
            s.sort_by(|a, b| b.total_cmp(a));
            s.first().copied().unwrap_or(0.0) - s.get(1).copied().unwrap_or(0.0)
        });
        if margin > 1e-3 {
            worst = Some((
                roles.label().map(|l| l.name.clone()).unwrap_or_default(),
                1.0,
            ));
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(outputs: Vec<OutputInfo>) -> Roles {
        Roles { outputs }
    }
    fn info(name: &str, role: Role) -> OutputInfo {
        OutputInfo {
            name: name.into(),
            role,
            why: String::new(),
            batch_axis: None,
            classes: None,
            vector: true,
        }
    }

    #[test]
    fn simplex_groups_along_any_axis() {
        // [2, 3] rows sum to 1; [1, 2, 2] sums along axis 1.
        assert!(is_simplex(&[2, 3], &[0.2, 0.3, 0.5, 1.0, 0.0, 0.0], 1));
        assert!(!is_simplex(&[2, 3], &[0.2, 0.3, 0.6, 1.0, 0.0, 0.0], 1));
        assert!(is_simplex(&[1, 2, 2], &[0.25, 0.5, 0.75, 0.5], 1));
        assert_eq!(
            entry(&[2, 3, 2], &(0..12).collect::<Vec<_>>(), Some(1), 2),
            Some(vec![4, 5, 10, 11])
        );
    }

    #[test]
    fn nan_behind_a_label_and_nan_accepted() {
        let r = roles(vec![
            info("label", Role::Label),
            info(
                "probs",
                Role::Probs {
                    axis: 1,
                    simplex: true,
                },
            ),
        ]);
        let out = Outputs {
            floats: vec![(
                "probs".into(),
                vec![2, 2],
                vec![f32::NAN, f32::NAN, 0.9, 0.1],
            )],
            ints: vec![("label".into(), vec![2], vec![0, 0])],
            ..Outputs::default()
        };
        let f = judge_special(&r, &out, 2, 0, f64::NAN, "x").unwrap();
        assert_eq!(f.rule_id, "fuzz/label-score-disagree");
        let f = judge_special(&r, &out, 2, 1, f64::NAN, "x").unwrap();
        assert_eq!(f.rule_id, "fuzz/accepts-nonfinite-input");
        // +Inf answered ordinarily is not a finding; NaN in, NaN out of a feature map neither.
        assert!(judge_special(&r, &out, 2, 1, f64::INFINITY, "x").is_none());
        let map = roles(vec![info(
            "map",
            Role::Probs {
                axis: 3,
                simplex: false,
            },
        )]);
        let out = Outputs {
            floats: vec![("map".into(), vec![1, 1, 1, 2], vec![f32::NAN, 0.5])],
            ..Outputs::default()
        };
        assert!(judge_special(&map, &out, 1, 0, f64::NAN, "x").is_none());
        assert_eq!(
            judge_special(&map, &out, 1, 0, -0.0, "x").map(|f| f.rule_id),
            Some("fuzz/nonfinite-output".into())
        );
    }

    #[test]
    fn batch_noise_is_relative_to_magnitude() {
        let r = roles(vec![info("y", Role::Other)]);
        let batch = Outputs {
            floats: vec![("y".into(), vec![2, 2], vec![1000.0, 2.0, 3.0, 4.0])],
            ..Outputs::default()
        };
        let alone = Outputs {
            floats: vec![("y".into(), vec![1, 2], vec![1000.01, 2.0])],
            ..Outputs::default()
        };
        assert!(row_difference(&r, &batch, &alone, 2, 0).is_none());
        let alone = Outputs {
            floats: vec![("y".into(), vec![1, 2], vec![1000.0, 12.0])],
            ..Outputs::default()
        };
        assert!(row_difference(&r, &batch, &alone, 2, 0).is_some());
    }

    #[test]
    fn a_regression_past_1e30_on_a_valid_input_is_out_of_range() {
        let r = Roles {
            outputs: vec![OutputInfo {
                name: "y".into(),
                role: Role::Regression,
                why: String::new(),
                batch_axis: None,
                classes: None,
                vector: true,
            }],
        };
        let out = |v: f32| Outputs {
            floats: vec![("y".into(), vec![2, 1], vec![1.0, v])],
            ..Outputs::default()
        };
        assert!(check_valid(&r, &out(5.0), 2, "x", Severity::High).is_empty());
        let f = check_valid(&r, &out(3e35), 2, "x", Severity::High);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].1, 1);
        assert!(f[0].0.message.contains("out of any real range"));
    }
}
