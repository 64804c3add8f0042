//! The input contract `fuzz` works to: every input's axes as fixed sizes or symbols, which
//! symbol is the batch, the sizes the user gave (`--dim`, `--shape`), the seeds imply, or the
//! graph suggests, and how each input's values are drawn. Symbols are shared: a symbol has one
//! size in every input that uses it, so every probe keeps the inputs consistent (an empty batch
//! is `input [0, 576]` with `state [2, 0, 128]`).

use super::FuzzError;
use super::args::{DimBinding, ShapeSpec, ValueRange};
use super::infer::{self, IntHint};
use super::seeds::Seeds;
use crate::onnx::graph::Graph;
use crate::onnx::{Data, Elem, InputSpec};
use std::collections::BTreeMap;

/// Sizes of symbols (the batch included).
pub type Sizes = BTreeMap<String, i64>;

/// One axis of an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axis {
    Fixed(i64),
    Sym(String),
}

/// How an input's values are drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Floats; the range per feature comes from `--range` (default 0..1).
    Float,
    /// Integers `lo..=hi`, or one of `candidates` when there are some.
    Int {
        elem: Elem,
        lo: i64,
        hi: i64,
        candidates: Vec<i64>,
        /// The vocabulary size when the range is one (ids `0..vocab`).
        vocab: Option<i64>,
    },
    Bool,
    Str,
}

/// One input as planned.
#[derive(Clone, Debug)]
pub struct InputPlan {
    pub spec: InputSpec,
    pub axes: Vec<Axis>,
    pub kind: Kind,
    /// The user's (or the seed file's) tensor for this input.
    pub seed: Option<Data>,
    /// Looks like recurrent state (`state`, `h0`, `past_…`): not an answer-bearing input.
    pub state: bool,
}

impl InputPlan {
    /// Concrete dims for `sizes` (a symbol without a size gets 1).
    pub fn dims(&self, sizes: &Sizes) -> Vec<i64> {
        self.axes
            .iter()
            .map(|a| match a {
                Axis::Fixed(n) => *n,
                Axis::Sym(s) => sizes.get(s).copied().unwrap_or(1),
            })
            .collect()
    }

    /// The axis holding symbol `sym`, if any.
    pub fn axis_of(&self, sym: &str) -> Option<usize> {
        self.axes
            .iter()
            .position(|a| matches!(a, Axis::Sym(s) if s == sym))
    }

    pub fn is_float(&self) -> bool {
        self.kind == Kind::Float
    }
}

/// The resolved contract.
#[derive(Clone, Debug)]
pub struct Contract {
    pub inputs: Vec<InputPlan>,
    /// Sizes known so far (non-batch symbols; the batch when the user fixed it).
    pub sizes: Sizes,
    /// Why each size is what it is.
    pub sources: BTreeMap<String, String>,
    /// The batch symbol.
    pub batch: Option<String>,
    /// Whether batch probes may vary the batch (not when `--shape` fixed it and the inputs do
    /// not all start with a dynamic axis).
    pub batch_varies: bool,
    /// Non-batch symbols nobody gave a size: the planner searches for sizes that run.
    pub open: Vec<String>,
    /// What was inferred, for the report.
    pub notes: Vec<String>,
}

/// State-like input names.
fn looks_like_state(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["state", "hidden", "cache", "past", "memory"]
        .iter()
        .any(|k| n.contains(k))
        || matches!(n.as_str(), "h" | "c" | "h0" | "c0" | "hx" | "cx")
}

impl Contract {
    /// Resolve the contract of a model with `specs` (and per-axis `symbols` from ONNX
    /// Runtime) from the command line, the seeds and the graph.
    pub fn resolve(
        specs: &[InputSpec],
        symbols: &[Vec<Option<String>>],
        dims: &[DimBinding],
        shapes: &[ShapeSpec],
        ranges: &[ValueRange],
        seeds: &Seeds,
        graph: Option<&Graph>,
    ) -> Result<Contract, FuzzError> {
        let input_names = || {
            specs
                .iter()
                .map(|s| {
                    format!(
                        "`{}` {}",
                        s.name,
                        shape_text(&s.dims, symbols_for(symbols, specs, &s.name))
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        // 1. Axes as declared: fixed, named, or anonymous (None for now).
        let mut axes: Vec<Vec<Option<Axis>>> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.dims
                    .iter()
                    .enumerate()
                    .map(|(a, &d)| {
                        if d >= 0 {
                            Some(Axis::Fixed(d))
                        } else {
                            symbols
                                .get(i)
                                .and_then(|v| v.get(a).cloned().flatten())
                                .map(Axis::Sym)
                        }
                    })
                    .collect()
            })
            .collect();
        // 2. The batch: a named symbol at axis 0, else axis 0 shared by every input that has
        // one when every such input's axis 0 is dynamic.
        let ranked: Vec<usize> = (0..specs.len())
            .filter(|&i| !specs[i].dims.is_empty())
            .collect();
        let all_dynamic_0 = !ranked.is_empty() && ranked.iter().all(|&i| specs[i].dims[0] < 0);
        let named_0 = ranked.iter().find_map(|&i| match &axes[i][0] {
            Some(Axis::Sym(s)) => Some(s.clone()),
            _ => None,
        });
        let batch = match named_0 {
            Some(s) => Some(s),
            None if all_dynamic_0 => {
                let taken = |n: &str| {
                    axes.iter()
                        .flatten()
                        .any(|a| matches!(a, Some(Axis::Sym(s)) if s == n))
                };
                Some(
                    ["batch", "N", "axis 0"]
                        .into_iter()
                        .find(|n| !taken(n))
                        .unwrap_or("axis 0")
                        .to_string(),
                )
            }
            None => None,
        };
        if all_dynamic_0 && let Some(b) = &batch {
            for &i in &ranked {
                if axes[i][0].is_none() {
                    axes[i][0] = Some(Axis::Sym(b.clone()));
                }
            }
        }
        let axes: Vec<Vec<Axis>> = axes
            .into_iter()
            .zip(specs)
            .map(|(a, s)| {
                a.into_iter()
                    .enumerate()
                    .map(|(k, x)| x.unwrap_or_else(|| Axis::Sym(format!("{}[{k}]", s.name))))
                    .collect()
            })
            .collect();
        let mut c = Contract {
            inputs: specs
                .iter()
                .zip(axes)
                .map(|(spec, axes)| InputPlan {
                    spec: spec.clone(),
                    axes,
                    kind: Kind::Float,
                    seed: None,
                    state: looks_like_state(&spec.name),
                })
                .collect(),
            sizes: Sizes::new(),
            sources: BTreeMap::new(),
            batch_varies: batch.is_some(),
            batch,
            open: vec![],
            notes: vec![],
        };
        let bind = |c: &mut Contract, sym: &str, size: i64, why: String| -> Result<(), FuzzError> {
            match c.sizes.get(sym) {
                Some(&old) if old != size => Err(FuzzError::Contract(format!(
                    "dimension `{sym}` is {old} ({}) but {size} ({why}); a symbol has one size in every input",
                    c.sources.get(sym).map(String::as_str).unwrap_or("")
                ))),
                _ => {
                    c.sizes.insert(sym.to_string(), size);
                    c.sources.entry(sym.to_string()).or_insert(why);
                    Ok(())
                }
            }
        };
        // 3. --shape.
        for sh in shapes {
            let Some(i) = c.inputs.iter().position(|p| p.spec.name == sh.input) else {
                return Err(FuzzError::Contract(format!(
                    "--shape {sh} names input `{}`, but the model's inputs are: {}",
                    sh.input,
                    input_names()
                )));
            };
            let plan = c.inputs[i].clone();
            if plan.axes.len() != sh.dims.len() {
                return Err(FuzzError::Contract(format!(
                    "--shape {sh} has {} dimensions; input `{}` has {} ({})",
                    sh.dims.len(),
                    sh.input,
                    plan.axes.len(),
                    shape_text(&plan.spec.dims, None)
                )));
            }
            for (k, (axis, &n)) in plan.axes.iter().zip(&sh.dims).enumerate() {
                match axis {
                    Axis::Fixed(d) if *d != n => {
                        return Err(FuzzError::Contract(format!(
                            "--shape {sh}: axis {k} of `{}` is fixed at {d} by the model",
                            sh.input
                        )));
                    }
                    Axis::Fixed(_) => {}
                    Axis::Sym(s) if Some(s) == c.batch.as_ref() && k == 0 && all_dynamic_0 => {
                        bind(&mut c, s, n, format!("--shape {sh}"))?;
                    }
                    Axis::Sym(s) => {
                        if Some(s) == c.batch.as_ref() {
                            c.batch_varies = false;
                        }
                        bind(&mut c, s, n, format!("--shape {sh}"))?;
                    }
                }
            }
        }
        // 4. --dim.
        for d in dims {
            let known = c.inputs.iter().any(|p| {
                p.axes
                    .iter()
                    .any(|a| matches!(a, Axis::Sym(s) if *s == d.symbol))
            });
            if !known {
                let mut syms: Vec<String> = c
                    .inputs
                    .iter()
                    .flat_map(|p| p.axes.iter())
                    .filter_map(|a| match a {
                        Axis::Sym(s) => Some(format!("`{s}`")),
                        _ => None,
                    })
                    .collect();
                syms.dedup();
                return Err(FuzzError::Contract(format!(
                    "--dim {}={}: the model has no dimension `{}`; its symbolic dimensions: {} (inputs: {}); unnamed ones are set with --shape",
                    d.symbol,
                    d.size,
                    d.symbol,
                    if syms.is_empty() {
                        "none".into()
                    } else {
                        syms.join(", ")
                    },
                    input_names()
                )));
            }
            bind(
                &mut c,
                &d.symbol,
                d.size,
                format!("--dim {}={}", d.symbol, d.size),
            )?;
        }
        // 5. Seeds: their shapes give every non-batch symbol a size.
        for (name, d) in &seeds.tensors {
            let i = c
                .inputs
                .iter()
                .position(|p| p.spec.name == *name)
                .ok_or_else(|| FuzzError::Contract(format!("seed `{name}` names no input")))?;
            let mut d = d.clone();
            let plan = &c.inputs[i];
            if d.shape().len() + 1 == plan.axes.len()
                && plan
                    .axes
                    .first()
                    .is_some_and(|a| matches!(a, Axis::Sym(s) if Some(s) == c.batch.as_ref()))
            {
                // One sample without its batch axis.
                let mut shape = vec![1];
                shape.extend_from_slice(d.shape());
                d = d.part(shape, 0..d.len());
            }
            if d.shape().len() != plan.axes.len() {
                return Err(FuzzError::Contract(format!(
                    "seed `{name}` has shape {:?}; input `{name}` has {} dimensions ({})",
                    d.shape(),
                    plan.axes.len(),
                    shape_text(&plan.spec.dims, None)
                )));
            }
            for (k, (axis, &n)) in plan.axes.clone().iter().zip(d.shape()).enumerate() {
                match axis {
                    Axis::Fixed(f) if *f != n => {
                        return Err(FuzzError::Contract(format!(
                            "seed `{name}` has {n} on axis {k}, where the model fixes {f}"
                        )));
                    }
                    Axis::Sym(s) if Some(s) != c.batch.as_ref() || !c.batch_varies => {
                        bind(&mut c, s, n, format!("the seed of `{name}`"))?;
                    }
                    _ => {}
                }
            }
            if d.is_empty() {
                return Err(FuzzError::Contract(format!(
                    "seed `{name}` holds no values"
                )));
            }
            c.inputs[i].seed = Some(d);
        }
        // 6. Value kinds: --range, then the graph.
        for r in ranges {
            if let Some(n) = &r.input
                && !c.inputs.iter().any(|p| p.spec.name == *n)
            {
                return Err(FuzzError::Contract(format!(
                    "--range {r} names input `{n}`, but the model's inputs are: {}",
                    input_names()
                )));
            }
            if let (Some(n), Some(f)) = (&r.input, r.feature)
                && let Some(p) = c.inputs.iter().find(|p| p.spec.name == *n)
                && let Some(&w) = p.spec.dims.last().filter(|&&w| w > 0)
                && f as i64 >= w
            {
                return Err(FuzzError::Contract(format!(
                    "--range {r} names feature {f} of input `{n}`, which has {w} (0..{})",
                    w - 1
                )));
            }
        }
        for i in 0..c.inputs.len() {
            let spec = c.inputs[i].spec.clone();
            c.inputs[i].kind = if spec.is_string() {
                Kind::Str
            } else {
                match spec.elem {
                    Some(Elem::Bool) => Kind::Bool,
                    Some(e) if e.is_float() => Kind::Float,
                    Some(elem) => {
                        let hint = graph.and_then(|g| infer::int_hint(g, &spec.name));
                        c.int_kind(elem, &spec.name, ranges, hint)
                    }
                    None => {
                        return Err(FuzzError::Contract(format!(
                            "input `{}` is {}, which modelsec does not build tensors of yet (float, integer, bool and string tensors)",
                            spec.name, spec.dtype
                        )));
                    }
                }
            };
        }
        // 7. What is still open.
        for p in &c.inputs {
            for a in &p.axes {
                if let Axis::Sym(s) = a
                    && Some(s) != c.batch.as_ref()
                    && !c.sizes.contains_key(s)
                    && !c.open.contains(s)
                {
                    c.open.push(s.clone());
                }
            }
        }
        Ok(c)
    }

    fn int_kind(
        &mut self,
        elem: Elem,
        name: &str,
        ranges: &[ValueRange],
        hint: Option<IntHint>,
    ) -> Kind {
        let (tlo, thi) = elem.int_range();
        let clamp = |v: f64| (v.round() as i64).clamp(tlo, thi);
        if let Some((lo, hi)) = super::args::range_for(ranges, name, 0) {
            let vocab = hint.as_ref().and_then(|h| h.range).map(|(_, hi)| hi + 1);
            return Kind::Int {
                elem,
                lo: clamp(lo),
                hi: clamp(hi),
                candidates: vec![],
                vocab,
            };
        }
        match hint {
            Some(h) => {
                self.notes.push(format!("input `{name}` {}", h.why));
                let (lo, hi) = h.range.unwrap_or((0, 9));
                Kind::Int {
                    elem,
                    lo: lo.clamp(tlo, thi),
                    hi: hi.clamp(tlo, thi),
                    candidates: h.candidates,
                    vocab: h.range.filter(|r| r.0 == 0).map(|r| r.1 + 1),
                }
            }
            None => Kind::Int {
                elem,
                lo: 0.clamp(tlo, thi),
                hi: 9.clamp(tlo, thi),
                candidates: vec![],
                vocab: None,
            },
        }
    }

    /// The same contract with the unnamed `(input, axis)` dimensions `members` as one batch
    /// (found tied by running the model).
    pub fn with_batch(&self, members: &[(usize, usize)]) -> Contract {
        let mut c = self.clone();
        let taken = |n: &str| {
            c.inputs
                .iter()
                .flat_map(|p| p.axes.iter())
                .any(|a| matches!(a, Axis::Sym(s) if s == n))
        };
        let name = ["batch", "N", "axis 0"]
            .into_iter()
            .find(|n| !taken(n))
            .unwrap_or("axis 0")
            .to_string();
        let mut tied = Vec::new();
        for &(i, k) in members {
            if let Axis::Sym(old) = &c.inputs[i].axes[k] {
                c.sizes.remove(old);
                c.sources.remove(old);
                c.open.retain(|s| s != old);
                tied.push(old.clone());
            }
            c.inputs[i].axes[k] = Axis::Sym(name.clone());
        }
        c.notes.push(format!(
            "{} are one batch: the model runs with them grown together and refuses them grown alone",
            tied.join(" and ")
        ));
        c.batch = Some(name);
        c.batch_varies = true;
        c
    }

    /// The inputs as shapes with symbols, for messages (`x [batch, 3, height, width]`).
    pub fn describe(&self) -> String {
        self.inputs
            .iter()
            .map(|p| {
                let dims: Vec<String> = p
                    .axes
                    .iter()
                    .map(|a| match a {
                        Axis::Fixed(n) => n.to_string(),
                        Axis::Sym(s) => s.clone(),
                    })
                    .collect();
                format!("`{}` {} [{}]", p.spec.name, p.spec.dtype, dims.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn symbols_for<'a>(
    symbols: &'a [Vec<Option<String>>],
    specs: &[InputSpec],
    name: &str,
) -> Option<&'a Vec<Option<String>>> {
    specs
        .iter()
        .position(|s| s.name == name)
        .and_then(|i| symbols.get(i))
}

/// `[batch, 3, ?, 224]`.
fn shape_text(dims: &[i64], symbols: Option<&Vec<Option<String>>>) -> String {
    let parts: Vec<String> = dims
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if d >= 0 {
                d.to_string()
            } else {
                symbols
                    .and_then(|s| s.get(i).cloned().flatten())
                    .unwrap_or_else(|| "?".into())
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, dims: &[i64], elem: Elem) -> InputSpec {
        InputSpec {
            name: name.into(),
            dtype: elem.name().into(),
            dims: dims.to_vec(),
            elem: Some(elem),
        }
    }

    fn sym(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|s| s.map(String::from)).collect()
    }

    #[test]
    fn shared_symbols_and_the_batch() {
        // silero-vad's op15 export: `batch` is axis 0 of input and axis 1 of state.
        let specs = [
            spec("input", &[-1, -1], Elem::F32),
            spec("state", &[2, -1, 128], Elem::F32),
            spec("sr", &[], Elem::I64),
        ];
        let symbols = [
            sym(&[Some("batch"), Some("sequence")]),
            sym(&[None, Some("batch"), None]),
            vec![],
        ];
        let dims = ["sequence=576".parse().unwrap()];
        let c =
            Contract::resolve(&specs, &symbols, &dims, &[], &[], &Seeds::default(), None).unwrap();
        assert_eq!(c.batch.as_deref(), Some("batch"));
        assert!(c.batch_varies);
        assert_eq!(c.inputs[1].axis_of("batch"), Some(1));
        let mut sizes = c.sizes.clone();
        sizes.insert("batch".into(), 0);
        assert_eq!(c.inputs[0].dims(&sizes), [0, 576]);
        assert_eq!(c.inputs[1].dims(&sizes), [2, 0, 128]);
        assert!(c.open.is_empty());
        // A conflicting --shape is refused, naming both sources.
        let shapes = ["input=1x512".parse().unwrap()];
        let e = Contract::resolve(
            &specs,
            &symbols,
            &dims,
            &shapes,
            &[],
            &Seeds::default(),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sequence") && e.contains("--dim sequence=576"),
            "{e}"
        );
    }

    #[test]
    fn unnamed_dims_are_their_own_and_shape_fixes_them() {
        // silero_vad.onnx: no names at all; not every input starts with a dynamic axis, so
        // there is no batch to vary once --shape fixes the inputs.
        let specs = [
            spec("input", &[-1, -1], Elem::F32),
            spec("state", &[2, -1, 128], Elem::F32),
        ];
        let symbols = [sym(&[None, None]), sym(&[None, None, None])];
        let shapes = [
            "input=1x576".parse().unwrap(),
            "state=2x1x128".parse().unwrap(),
        ];
        let c = Contract::resolve(&specs, &symbols, &[], &shapes, &[], &Seeds::default(), None)
            .unwrap();
        assert_eq!(c.batch, None);
        assert!(!c.batch_varies);
        assert!(c.open.is_empty(), "{:?}", c.open);
        assert_eq!(c.inputs[1].dims(&c.sizes), [2, 1, 128]);
        // Every input dynamic on axis 0: one batch shared by all.
        let specs = [
            spec("a", &[-1, 2], Elem::F32),
            spec("b", &[-1, 1], Elem::F32),
        ];
        let c = Contract::resolve(
            &specs,
            &[sym(&[None, None]), sym(&[None, None])],
            &[],
            &[],
            &[],
            &Seeds::default(),
            None,
        )
        .unwrap();
        assert_eq!(c.inputs[0].axes[0], c.inputs[1].axes[0]);
        assert!(c.batch_varies);
        let e = Contract::resolve(
            &specs,
            &[],
            &["h=3".parse().unwrap()],
            &[],
            &[],
            &Seeds::default(),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no dimension `h`"), "{e}");
    }
}
