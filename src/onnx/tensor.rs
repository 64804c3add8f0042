//! Tensors as modelsec handles them: declared input/output specs, input data of every numeric
//! type, and decoded outputs with the classifier views (labels, probabilities) that `fuzz` and
//! the monitor read.

use ort::value::{DynValue, Tensor};

/// A row as JSON, with non-finite values as the strings "NaN", "Infinity", "-Infinity" (JSON
/// has no numbers for them).
pub fn json_row(row: &[f32]) -> serde_json::Value {
    row.iter()
        .map(|&v| {
            if v.is_nan() {
                "NaN".into()
            } else if v.is_infinite() {
                if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
            } else {
                serde_json::Value::from(v)
            }
        })
        .collect()
}

/// Element types the probes generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    F32,
    F64,
    I64,
    I32,
    I16,
    I8,
    U64,
    U32,
    U16,
    U8,
    Bool,
}

impl Elem {
    /// Whether the type is a float type.
    pub fn is_float(self) -> bool {
        matches!(self, Elem::F32 | Elem::F64)
    }

    /// The smallest and largest value of an integer type (bool: 0..1; u64 capped at i64::MAX).
    pub fn int_range(self) -> (i64, i64) {
        match self {
            Elem::I64 | Elem::F32 | Elem::F64 => (i64::MIN, i64::MAX),
            Elem::I32 => (i32::MIN as i64, i32::MAX as i64),
            Elem::I16 => (i16::MIN as i64, i16::MAX as i64),
            Elem::I8 => (i8::MIN as i64, i8::MAX as i64),
            Elem::U64 => (0, i64::MAX),
            Elem::U32 => (0, u32::MAX as i64),
            Elem::U16 => (0, u16::MAX as i64),
            Elem::U8 => (0, u8::MAX as i64),
            Elem::Bool => (0, 1),
        }
    }

    /// Short name (`f32`, `i64`, `bool`, …).
    pub fn name(self) -> &'static str {
        match self {
            Elem::F32 => "f32",
            Elem::F64 => "f64",
            Elem::I64 => "i64",
            Elem::I32 => "i32",
            Elem::I16 => "i16",
            Elem::I8 => "i8",
            Elem::U64 => "u64",
            Elem::U32 => "u32",
            Elem::U16 => "u16",
            Elem::U8 => "u8",
            Elem::Bool => "bool",
        }
    }
}

/// One declared input.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InputSpec {
    pub name: String,
    pub dtype: String,
    /// Declared dims; -1 is dynamic.
    pub dims: Vec<i64>,
    #[serde(skip)]
    pub elem: Option<Elem>,
}

impl InputSpec {
    /// Whether this is a string tensor (`elem` is `None` for it: not a numeric type).
    pub fn is_string(&self) -> bool {
        self.dtype == "String"
    }
}

/// Values for one input: a shape and the data. Integer and bool inputs are held as i64 (within
/// their type's range) and converted when the tensor is made; strings as UTF-8 (ONNX Runtime
/// takes NUL-terminated strings, so a string holding NUL cannot be sent).
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<i64>, Vec<f32>),
    F64(Vec<i64>, Vec<f64>),
    Int(Elem, Vec<i64>, Vec<i64>),
    Str(Vec<i64>, Vec<String>),
}

/// The number of elements of `shape` (negative dims count as 0), saturating.
pub fn elements(shape: &[i64]) -> usize {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d.max(0) as usize))
        .unwrap_or(usize::MAX)
}

impl Data {
    pub fn dtype(&self) -> &'static str {
        match self {
            Data::F32(..) => "f32",
            Data::F64(..) => "f64",
            Data::Int(e, ..) => e.name(),
            Data::Str(..) => "string",
        }
    }

    pub fn shape(&self) -> &[i64] {
        match self {
            Data::F32(s, _) | Data::F64(s, _) | Data::Int(_, s, _) | Data::Str(s, _) => s,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Data::F32(_, v) => v.len(),
            Data::F64(_, v) => v.len(),
            Data::Int(_, _, v) => v.len(),
            Data::Str(_, v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same element type with `shape` and the values in `range`.
    pub fn part(&self, shape: Vec<i64>, range: std::ops::Range<usize>) -> Data {
        match self {
            Data::F32(_, v) => Data::F32(shape, v[range].to_vec()),
            Data::F64(_, v) => Data::F64(shape, v[range].to_vec()),
            Data::Int(e, _, v) => Data::Int(*e, shape, v[range].to_vec()),
            Data::Str(_, v) => Data::Str(shape, v[range].to_vec()),
        }
    }

    /// The same element type with `shape`, gathering value `index(i)` for each of `n` values.
    pub fn gather(&self, shape: Vec<i64>, n: usize, index: impl Fn(usize) -> usize) -> Data {
        match self {
            Data::F32(_, v) => Data::F32(shape, (0..n).map(|i| v[index(i)]).collect()),
            Data::F64(_, v) => Data::F64(shape, (0..n).map(|i| v[index(i)]).collect()),
            Data::Int(e, _, v) => Data::Int(*e, shape, (0..n).map(|i| v[index(i)]).collect()),
            Data::Str(_, v) => Data::Str(shape, (0..n).map(|i| v[index(i)].clone()).collect()),
        }
    }

    /// `n` entries along `axis`, entry `j` being entry `pick(j)` of this tensor (so the result
    /// can cycle, repeat or select entries). `None` when `axis` is out of range or this tensor
    /// has no entry along it to pick from.
    pub fn along(&self, axis: usize, n: usize, pick: impl Fn(usize) -> usize) -> Option<Data> {
        let shape = self.shape();
        let have = usize::try_from(*shape.get(axis)?).ok()?;
        if have == 0 && n > 0 {
            return None;
        }
        let outer = elements(&shape[..axis]);
        let inner = elements(&shape[axis + 1..]);
        let mut new_shape = shape.to_vec();
        new_shape[axis] = n as i64;
        let total = outer.checked_mul(n)?.checked_mul(inner)?;
        Some(self.gather(new_shape, total, |i| {
            let (o, rest) = (i / (n * inner).max(1), i % (n * inner).max(1));
            let (j, k) = (rest / inner.max(1), rest % inner.max(1));
            (o * have + pick(j) % have.max(1)) * inner + k
        }))
    }

    /// Entry `index` along `axis`, the axis kept with size 1.
    pub fn slice_axis(&self, axis: usize, index: usize) -> Option<Data> {
        self.along(axis, 1, |_| index)
    }

    /// The values as f32 (integers converted; strings as 0).
    pub fn floats(&self) -> Vec<f32> {
        match self {
            Data::F32(_, v) => v.clone(),
            Data::F64(_, v) => v.iter().map(|&x| x as f32).collect(),
            Data::Int(_, _, v) => v.iter().map(|&x| x as f32).collect(),
            Data::Str(_, v) => vec![0.0; v.len()],
        }
    }

    /// The values as JSON (non-finite floats as strings, see [`json_row`]).
    pub fn values_json(&self) -> serde_json::Value {
        match self {
            Data::F32(_, v) => json_row(v),
            Data::F64(_, v) => v
                .iter()
                .map(|&x| {
                    if x.is_finite() {
                        serde_json::Value::from(x)
                    } else {
                        json_row(&[x as f32])[0].clone()
                    }
                })
                .collect(),
            Data::Int(_, _, v) => v.clone().into(),
            Data::Str(_, v) => v.clone().into(),
        }
    }

    /// Bytes per element as the model receives it (strings: their average length).
    pub fn element_bytes(&self) -> usize {
        match self {
            Data::F32(..) => 4,
            Data::F64(..) => 8,
            Data::Int(e, ..) => match e {
                Elem::I64 | Elem::U64 | Elem::F64 => 8,
                Elem::I32 | Elem::U32 | Elem::F32 => 4,
                Elem::I16 | Elem::U16 => 2,
                Elem::I8 | Elem::U8 | Elem::Bool => 1,
            },
            Data::Str(_, v) => v.iter().map(String::len).sum::<usize>() / v.len().max(1),
        }
    }

    pub fn value(&self) -> ort::Result<DynValue> {
        fn int<T: ort::value::PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static>(
            s: &[i64],
            v: &[i64],
            f: impl Fn(i64) -> T,
        ) -> ort::Result<DynValue> {
            Ok(
                Tensor::from_array((s.to_vec(), v.iter().map(|&x| f(x)).collect::<Vec<T>>()))?
                    .into_dyn(),
            )
        }
        match self {
            Data::F32(s, v) => Ok(Tensor::from_array((s.clone(), v.clone()))?.into_dyn()),
            Data::F64(s, v) => Ok(Tensor::from_array((s.clone(), v.clone()))?.into_dyn()),
            Data::Str(s, v) => Ok(Tensor::from_string_array((s.clone(), &v[..]))?.into_dyn()),
            Data::Int(e, s, v) => match e {
                Elem::I64 => int(s, v, |x| x),
                Elem::I32 => int(s, v, |x| x as i32),
                Elem::I16 => int(s, v, |x| x as i16),
                Elem::I8 => int(s, v, |x| x as i8),
                Elem::U64 => int(s, v, |x| x as u64),
                Elem::U32 => int(s, v, |x| x as u32),
                Elem::U16 => int(s, v, |x| x as u16),
                Elem::U8 => int(s, v, |x| x as u8),
                Elem::Bool => int(s, v, |x| x != 0),
                Elem::F32 => int(s, v, |x| x as f32),
                Elem::F64 => int(s, v, |x| x as f64),
            },
        }
    }
}

/// The class keys of a decoded ZipMap output (`seq(map(int64|string, float))`).
#[derive(Clone, Debug, PartialEq)]
pub enum ClassKeys {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl ClassKeys {
    /// Key `i` as JSON.
    pub fn json(&self, i: usize) -> serde_json::Value {
        match self {
            ClassKeys::Int(k) => k.get(i).copied().into(),
            ClassKeys::Str(k) => k.get(i).cloned().into(),
        }
    }

    /// Key `i` as text.
    pub fn text(&self, i: usize) -> String {
        match self {
            ClassKeys::Int(k) => k.get(i).map(|v| v.to_string()).unwrap_or_default(),
            ClassKeys::Str(k) => k.get(i).cloned().unwrap_or_default(),
        }
    }
}

/// Decoded outputs of one run: float tensors (float32, and float64 converted, and ZipMap
/// `seq(map)` probabilities as `[N, classes]`), integer tensors (every integer type and bool, as
/// i64) and string tensors, by name, in the model's output order within each kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs {
    pub floats: Vec<(String, Vec<i64>, Vec<f32>)>,
    pub ints: Vec<(String, Vec<i64>, Vec<i64>)>,
    /// String tensors.
    pub strings: Vec<(String, Vec<i64>, Vec<String>)>,
    /// For each float output decoded from a ZipMap, its class keys (column order).
    pub classes: Vec<(String, ClassKeys)>,
    /// Float outputs that were float64 before conversion.
    pub doubles: Vec<String>,
    pub undecoded: Vec<String>,
}

impl Outputs {
    /// Number of values in every decoded output.
    pub fn elements(&self) -> usize {
        self.floats.iter().map(|f| f.2.len()).sum::<usize>()
            + self.ints.iter().map(|f| f.2.len()).sum::<usize>()
            + self.strings.iter().map(|f| f.2.len()).sum::<usize>()
    }
    /// Number of NaN or infinite float values.
    pub fn nonfinite(&self) -> usize {
        self.floats
            .iter()
            .map(|f| f.2.iter().filter(|v| !v.is_finite()).count())
            .sum()
    }

    /// Whether two runs gave the same outputs bit for bit (NaN equals NaN).
    pub fn same_bits(&self, other: &Outputs) -> bool {
        self.ints == other.ints
            && self.strings == other.strings
            && self.floats.len() == other.floats.len()
            && self.floats.iter().zip(&other.floats).all(|(a, b)| {
                a.0 == b.0
                    && a.1 == b.1
                    && a.2.len() == b.2.len()
                    && a.2
                        .iter()
                        .zip(&b.2)
                        .all(|(x, y)| x.to_bits() == y.to_bits())
            })
    }

    /// The class keys of a ZipMap output.
    pub fn keys(&self, name: &str) -> Option<&ClassKeys> {
        self.classes.iter().find(|(n, _)| n == name).map(|(_, k)| k)
    }

    /// The probabilities output: a 2-D float output named like one, else the first 2-D one.
    pub fn probabilities(&self) -> Option<&(String, Vec<i64>, Vec<f32>)> {
        self.floats
            .iter()
            .find(|(n, s, _)| s.len() == 2 && (n.contains("prob") || n.contains("score")))
            .or_else(|| self.floats.iter().find(|(_, s, _)| s.len() == 2))
    }

    /// The label output: a 1-D int64 output named like one, else the first 1-D one.
    pub fn label(&self) -> Option<&(String, Vec<i64>, Vec<i64>)> {
        self.ints
            .iter()
            .find(|(n, s, _)| s.len() == 1 && n.contains("label"))
            .or_else(|| self.ints.iter().find(|(_, s, _)| s.len() == 1))
    }

    /// Row `r` (entry `r` along axis 0) of every output, as JSON (for reproducers); ZipMap
    /// outputs as `{class: probability}`.
    pub fn row_json(&self, r: usize) -> serde_json::Value {
        let per = |shape: &[i64]| elements(shape.get(1..).unwrap_or(&[]));
        let mut m = serde_json::Map::new();
        for (name, shape, v) in &self.floats {
            let p = per(shape);
            if let Some(row) = v.get(r * p..(r + 1) * p) {
                let value = match self.keys(name) {
                    Some(keys) => row
                        .iter()
                        .enumerate()
                        .map(|(i, &x)| (keys.text(i), json_row(&[x])[0].clone()))
                        .collect::<serde_json::Map<_, _>>()
                        .into(),
                    None if shape.len() <= 1 => json_row(row)[0].clone(),
                    None if row.len() > 256 => serde_json::json!({
                        "values": row.len(),
                        "nonfinite": row.iter().filter(|x| !x.is_finite()).count(),
                        "first": json_row(&row[..16]),
                    }),
                    None => json_row(row),
                };
                m.insert(name.clone(), value);
            }
        }
        for (name, shape, v) in &self.ints {
            let p = per(shape);
            if let Some(row) = v.get(r * p..(r + 1) * p) {
                let value = if shape.len() <= 1 {
                    serde_json::Value::from(row[0])
                } else {
                    serde_json::Value::from(row.iter().take(256).copied().collect::<Vec<_>>())
                };
                m.insert(name.clone(), value);
            }
        }
        for (name, shape, v) in &self.strings {
            let p = per(shape);
            if let Some(row) = v.get(r * p..(r + 1) * p) {
                let value = if shape.len() <= 1 {
                    serde_json::Value::from(row[0].clone())
                } else {
                    serde_json::Value::from(row.iter().take(64).cloned().collect::<Vec<_>>())
                };
                m.insert(name.clone(), value);
            }
        }
        m.into()
    }

    /// The classifier view: labels [N] (i64) and probabilities [N, C] (f32), if present.
    pub fn classifier(&self) -> Option<(&[i64], usize, &[f32])> {
        let label = self.label()?;
        let probs = self.probabilities()?;
        let classes = probs.1[1].max(0) as usize;
        (classes > 1 && probs.1[0] == label.1[0]).then_some((&label.2, classes, &probs.2))
    }
}
