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

/// Values for one input: a shape and the data. Integer and bool inputs are held as i64 (within
/// their type's range) and converted when the tensor is made.
#[derive(Clone, Debug)]
pub enum Data {
    F32(Vec<i64>, Vec<f32>),
    F64(Vec<i64>, Vec<f64>),
    Int(Elem, Vec<i64>, Vec<i64>),
}

impl Data {
    pub fn dtype(&self) -> &'static str {
        match self {
            Data::F32(..) => "f32",
            Data::F64(..) => "f64",
            Data::Int(e, ..) => e.name(),
        }
    }

    pub fn shape(&self) -> &[i64] {
        match self {
            Data::F32(s, _) | Data::F64(s, _) | Data::Int(_, s, _) => s,
        }
    }

    /// The same element type with `shape` and the values in `range`.
    pub fn part(&self, shape: Vec<i64>, range: std::ops::Range<usize>) -> Data {
        match self {
            Data::F32(_, v) => Data::F32(shape, v[range].to_vec()),
            Data::F64(_, v) => Data::F64(shape, v[range].to_vec()),
            Data::Int(e, _, v) => Data::Int(*e, shape, v[range].to_vec()),
        }
    }

    /// The values as f32 (integers converted).
    pub fn floats(&self) -> Vec<f32> {
        match self {
            Data::F32(_, v) => v.clone(),
            Data::F64(_, v) => v.iter().map(|&x| x as f32).collect(),
            Data::Int(_, _, v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// Bytes per element as the model receives it.
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

/// Decoded outputs of one run: float tensors and integer tensors by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs {
    pub floats: Vec<(String, Vec<i64>, Vec<f32>)>,
    pub ints: Vec<(String, Vec<i64>, Vec<i64>)>,
    pub undecoded: Vec<String>,
}

impl Outputs {
    /// Number of values in every decoded output.
    pub fn elements(&self) -> usize {
        self.floats.iter().map(|f| f.2.len()).sum::<usize>()
            + self.ints.iter().map(|f| f.2.len()).sum::<usize>()
    }
    /// Number of NaN or infinite float values.
    pub fn nonfinite(&self) -> usize {
        self.floats
            .iter()
            .map(|f| f.2.iter().filter(|v| !v.is_finite()).count())
            .sum()
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

    /// Row `r` of every output, as JSON (for reproducers).
    pub fn row_json(&self, r: usize) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (name, shape, v) in &self.floats {
            let per: usize = shape.iter().skip(1).map(|&x| x.max(0) as usize).product();
            if let Some(row) = v.get(r * per..(r + 1) * per) {
                m.insert(name.clone(), json_row(row));
            }
        }
        for (name, shape, v) in &self.ints {
            let per: usize = shape.iter().skip(1).map(|&x| x.max(0) as usize).product();
            if let Some(row) = v.get(r * per..(r + 1) * per) {
                let value = if shape.len() == 1 {
                    serde_json::Value::from(row[0])
                } else {
                    serde_json::Value::from(row.to_vec())
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
