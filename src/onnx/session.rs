//! A model loaded into ONNX Runtime: one session with its declared inputs, run on [`Data`] and
//! decoded into [`Outputs`].

use super::OnnxError;
use super::runtime;
use super::tensor::{ClassKeys, Data, Elem, InputSpec, Outputs};
use ort::session::Session;
use ort::value::{TensorElementType, ValueType};
use std::path::Path;

/// A model loaded into ONNX Runtime (one session, one intra-op thread).
pub struct Model {
    /// The ONNX Runtime session.
    pub session: Session,
    pub inputs: Vec<InputSpec>,
    /// Per input, per axis: the symbolic name of a dynamic dimension (`None` when the dimension
    /// is fixed or unnamed).
    pub symbols: Vec<Vec<Option<String>>>,
}

impl Model {
    /// The declared outputs (name, dtype, dims).
    pub fn outputs(&self) -> Vec<InputSpec> {
        self.session
            .outputs()
            .iter()
            .map(|o| spec_of(o.name(), o.dtype()))
            .collect()
    }

    /// Per output, per axis: the symbolic name of a dynamic dimension.
    pub fn output_symbols(&self) -> Vec<Vec<Option<String>>> {
        self.session
            .outputs()
            .iter()
            .map(|o| symbols_of(o.dtype()))
            .collect()
    }

    /// Run on `data` (inputs by name; passed by position when they are exactly the model's
    /// inputs in order, float and int64 data without a copy) and decode every output.
    pub fn run(&mut self, data: &[(String, Data)]) -> Result<Outputs, String> {
        let mut values = Vec::with_capacity(data.len());
        for (_, d) in data {
            values.push(d.input().map_err(|e| e.to_string())?);
        }
        let in_order = data.len() == self.inputs.len()
            && data
                .iter()
                .zip(&self.inputs)
                .all(|((n, _), s)| *n == s.name);
        let out = if in_order {
            self.session.run(&values[..])
        } else {
            let named: Vec<(String, ort::session::SessionInputValue<'_>)> =
                data.iter().map(|(n, _)| n.clone()).zip(values).collect();
            self.session.run(named)
        }
        .map_err(|e| e.to_string())?;
        let mut o = Outputs::default();
        for (name, v) in out.iter() {
            decode(name, &v, &mut o).map_err(|e| e.to_string())?;
        }
        Ok(o)
    }
}

/// Input tensors made once and run many times, one of them rewritten in place between runs: the
/// attacks' query path (no tensor allocation per query, inputs passed by position, only the
/// outputs asked for decoded).
pub struct Prepared {
    values: Vec<ort::value::DynValue>,
}

impl Prepared {
    /// Tensors for `data`, which must hold every input of `model` in its declared order.
    pub fn new(model: &Model, data: &[(String, Data)]) -> Result<Prepared, String> {
        let mut values = Vec::with_capacity(model.inputs.len());
        for spec in &model.inputs {
            let (_, d) = data
                .iter()
                .find(|(n, _)| *n == spec.name)
                .ok_or_else(|| format!("no value for input `{}`", spec.name))?;
            values.push(d.value().map_err(|e| e.to_string())?);
        }
        Ok(Prepared { values })
    }

    /// Write `row` into input `input` at the flat positions `at` (a float tensor).
    pub fn write(&mut self, input: usize, at: &[usize], row: &[f32]) -> Result<(), String> {
        let v = self.values.get_mut(input).ok_or("no such input")?;
        if let Ok((_, t)) = v.try_extract_tensor_mut::<f32>() {
            for (&i, &x) in at.iter().zip(row) {
                *t.get_mut(i).ok_or("position outside the tensor")? = x;
            }
            return Ok(());
        }
        let (_, t) = v
            .try_extract_tensor_mut::<f64>()
            .map_err(|e| e.to_string())?;
        for (&i, &x) in at.iter().zip(row) {
            *t.get_mut(i).ok_or("position outside the tensor")? = f64::from(x);
        }
        Ok(())
    }

    /// Run `model` on the tensors, decoding only the outputs at positions `wanted`.
    pub fn run(&self, model: &mut Model, wanted: &[usize]) -> Result<Outputs, String> {
        let inputs: Vec<ort::session::SessionInputValue<'_>> =
            self.values.iter().map(Into::into).collect();
        let out = model.session.run(&inputs[..]).map_err(|e| e.to_string())?;
        let mut o = Outputs::default();
        for (k, (name, v)) in out.iter().enumerate() {
            if wanted.contains(&k) {
                decode(name, &v, &mut o).map_err(|e| e.to_string())?;
            }
        }
        Ok(o)
    }
}

/// Decode one output into `o`: numeric and string tensors, and ZipMap sequences of maps
/// (`seq(map(int64|string, float|double))`, skl2onnx's default classifier output) as a
/// `[N, classes]` float tensor with its class keys.
pub(super) fn decode(name: &str, v: &ort::value::DynValue, o: &mut Outputs) -> ort::Result<()> {
    fn ints<T: ort::value::PrimitiveTensorElementType + Copy>(
        v: &ort::value::DynValue,
        f: impl Fn(T) -> i64,
    ) -> ort::Result<(Vec<i64>, Vec<i64>)> {
        let (s, d) = v.try_extract_tensor::<T>()?;
        Ok((s.to_vec(), d.iter().map(|&x| f(x)).collect()))
    }
    let name = name.to_string();
    match v.dtype() {
        ValueType::Tensor { ty, .. } => {
            let int = match ty {
                TensorElementType::Float32 => {
                    let (s, d) = v.try_extract_tensor::<f32>()?;
                    o.floats.push((name, s.to_vec(), d.to_vec()));
                    return Ok(());
                }
                TensorElementType::Float64 => {
                    let (s, d) = v.try_extract_tensor::<f64>()?;
                    o.floats.push((
                        name.clone(),
                        s.to_vec(),
                        d.iter().map(|&x| x as f32).collect(),
                    ));
                    o.doubles.push(name);
                    return Ok(());
                }
                TensorElementType::String => {
                    let (s, d) = v.try_extract_strings()?;
                    o.strings.push((name, s.to_vec(), d));
                    return Ok(());
                }
                TensorElementType::Int64 => ints::<i64>(v, |x| x)?,
                TensorElementType::Int32 => ints::<i32>(v, i64::from)?,
                TensorElementType::Int16 => ints::<i16>(v, i64::from)?,
                TensorElementType::Int8 => ints::<i8>(v, i64::from)?,
                TensorElementType::Uint64 => ints::<u64>(v, |x| x.min(i64::MAX as u64) as i64)?,
                TensorElementType::Uint32 => ints::<u32>(v, i64::from)?,
                TensorElementType::Uint16 => ints::<u16>(v, i64::from)?,
                TensorElementType::Uint8 => ints::<u8>(v, i64::from)?,
                TensorElementType::Bool => ints::<bool>(v, i64::from)?,
                _ => {
                    o.undecoded.push(name);
                    return Ok(());
                }
            };
            o.ints.push((name, int.0, int.1));
        }
        ValueType::Sequence(inner)
            if matches!(
                **inner,
                ValueType::Map {
                    key: TensorElementType::Int64 | TensorElementType::String,
                    value: TensorElementType::Float32 | TensorElementType::Float64
                }
            ) =>
        {
            let ValueType::Map { key, value } = &**inner else {
                return Ok(());
            };
            let key = if *key == TensorElementType::Int64 {
                super::zipmap::Keys::Int
            } else {
                super::zipmap::Keys::Str
            };
            let double = *value == TensorElementType::Float64;
            let (keys, maps, values) = super::zipmap::read(v, key, double)
                .map_err(|e| ort::Error::new(format!("output `{name}`: {e}")))?;
            let classes = match &keys {
                ClassKeys::Int(k) => k.len(),
                ClassKeys::Str(k) => k.len(),
            };
            o.floats
                .push((name.clone(), vec![maps as i64, classes as i64], values));
            o.classes.push((name, keys));
        }
        _ => o.undecoded.push(name),
    }
    Ok(())
}

/// The symbolic names of a tensor type's dynamic dimensions.
fn symbols_of(ty: &ValueType) -> Vec<Option<String>> {
    match ty {
        ValueType::Tensor {
            shape,
            dimension_symbols,
            ..
        } => shape
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                // "?" and "None" are what some exporters write for "no name".
                dimension_symbols
                    .get(i)
                    .filter(|s| {
                        d < 0 && !s.is_empty() && !matches!(s.as_str(), "?" | "None" | "-1")
                    })
                    .cloned()
            })
            .collect(),
        _ => vec![],
    }
}

fn elem_of(ty: TensorElementType) -> Option<Elem> {
    match ty {
        TensorElementType::Float32 => Some(Elem::F32),
        TensorElementType::Float64 => Some(Elem::F64),
        TensorElementType::Int64 => Some(Elem::I64),
        TensorElementType::Int32 => Some(Elem::I32),
        TensorElementType::Int16 => Some(Elem::I16),
        TensorElementType::Int8 => Some(Elem::I8),
        TensorElementType::Uint64 => Some(Elem::U64),
        TensorElementType::Uint32 => Some(Elem::U32),
        TensorElementType::Uint16 => Some(Elem::U16),
        TensorElementType::Uint8 => Some(Elem::U8),
        TensorElementType::Bool => Some(Elem::Bool),
        _ => None,
    }
}

/// F when the model takes one float [N, F] input with a fixed F: inputs that are rows of
/// features, which the attacks perturb and the monitor's detectors read.
pub fn row_features(specs: &[InputSpec]) -> Option<usize> {
    match specs {
        [s] if s.elem.is_some_and(Elem::is_float) && s.dims.len() == 2 && s.dims[1] > 0 => {
            Some(s.dims[1] as usize)
        }
        _ => None,
    }
}

/// A declared input or output: name, element type, dims (-1: dynamic).
fn spec_of(name: &str, ty: &ValueType) -> InputSpec {
    match ty {
        ValueType::Tensor { ty, shape, .. } => InputSpec {
            name: name.to_string(),
            dtype: ty.to_string(),
            dims: shape.iter().copied().collect(),
            elem: elem_of(*ty),
        },
        other => InputSpec {
            name: name.to_string(),
            dtype: other.to_string(),
            dims: vec![],
            elem: None,
        },
    }
}

/// How a session is made.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionOptions {
    /// Use the process's capped arena ([`super::bounded::cap_memory`], which must come first)
    /// for what runs allocate; weights stay outside it.
    pub shared_arena: bool,
}

pub fn open(path: &Path) -> Result<(Model, runtime::Located), OnnxError> {
    open_with(path, SessionOptions::default())
}

pub fn open_with(
    path: &Path,
    opts: SessionOptions,
) -> Result<(Model, runtime::Located), OnnxError> {
    let (env, lib) = runtime::environment()?;
    let model_err = |e: ort::Error| OnnxError::Model {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut builder = Session::builder(&env).map_err(model_err)?;
    builder = builder
        .with_intra_threads(1)
        .map_err(|e| model_err(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| model_err(e.into()))?;
    if opts.shared_arena {
        builder = builder
            .with_env_allocators()
            .map_err(|e| model_err(e.into()))?
            .with_config_entry("session.use_device_allocator_for_initializers", "1")
            .map_err(|e| model_err(e.into()))?;
    }
    let session = builder.commit_from_file(path).map_err(model_err)?;
    let inputs = session
        .inputs()
        .iter()
        .map(|i| spec_of(i.name(), i.dtype()))
        .collect();
    let symbols = session
        .inputs()
        .iter()
        .map(|i| symbols_of(i.dtype()))
        .collect();
    Ok((
        Model {
            session,
            inputs,
            symbols,
        },
        lib,
    ))
}
