//! A model loaded into ONNX Runtime: one session with its declared inputs, run on [`Data`] and
//! decoded into [`Outputs`].

use super::OnnxError;
use super::raw;
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
    /// The session's input and output names as C strings, for [`raw::run`].
    pub(super) names: raw::Names,
    /// Every output position, in order.
    pub(super) all_outputs: Vec<usize>,
    /// Per output, the class keys of a ZipMap output once read (they are the node's
    /// attributes: the same on every run).
    pub(super) class_keys: Vec<Option<ClassKeys>>,
    /// CPU memory, for input tensors over the caller's data.
    memory: ort::memory::MemoryInfo<'static>,
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

    /// Run on `data` (inputs by name; float and int64 data passed without a copy) and decode
    /// every output.
    pub fn run(&mut self, data: &[(String, Data)]) -> Result<Outputs, String> {
        let mut inputs = Vec::with_capacity(data.len());
        for (name, d) in data {
            inputs.push((self.names.input(name)?, self.input(d)?));
        }
        let out = raw::run(
            &mut self.session,
            &self.names,
            None,
            &inputs,
            &self.all_outputs,
        )?;
        drop(inputs);
        let mut o = Outputs::default();
        for (k, v) in self.all_outputs.iter().zip(&out) {
            decode(self.session.outputs(), *k, v, &mut o, &mut self.class_keys)?;
        }
        Ok(o)
    }

    /// The tensor for `d`: float and int64 data borrowed, the rest made by `ort`.
    fn input<'d>(&self, d: &'d Data) -> Result<raw::Input<'d>, String> {
        let view = match d {
            Data::F32(s, v) => raw::view(&self.memory, s, v)?,
            Data::F64(s, v) => raw::view(&self.memory, s, v)?,
            Data::Int(Elem::I64, s, v) => raw::view(&self.memory, s, v)?,
            _ => None,
        };
        Ok(match view {
            Some(v) => raw::Input::View(v),
            None => raw::Input::Ort(d.input().map_err(|e| e.to_string())?),
        })
    }
}

/// Input tensors made once and run many times, one of them rewritten in place between runs: the
/// attacks' query path (no tensor allocation per query, only the outputs asked for fetched and
/// decoded).
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

    /// Run `model` on the tensors, fetching and decoding only the outputs at positions `wanted`
    /// (in the model's output order; positions it does not have are ignored).
    pub fn run(&self, model: &mut Model, wanted: &[usize]) -> Result<Outputs, String> {
        let mut inputs = Vec::with_capacity(self.values.len());
        for (i, v) in self.values.iter().enumerate() {
            let name = model
                .names
                .input_at(i)
                .ok_or("more tensors than model inputs")?;
            inputs.push((name, raw::Input::Ort(v.into())));
        }
        let mut fetch: Vec<usize> = model
            .all_outputs
            .iter()
            .copied()
            .filter(|k| wanted.contains(k))
            .collect();
        fetch.dedup();
        let out = raw::run(&mut model.session, &model.names, None, &inputs, &fetch)?;
        let mut o = Outputs::default();
        for (k, v) in fetch.iter().zip(&out) {
            decode(
                model.session.outputs(),
                *k,
                v,
                &mut o,
                &mut model.class_keys,
            )?;
        }
        Ok(o)
    }
}

/// Decode output `k` (of the session's declared `outputs`), fetched as `v`, into `o`: numeric
/// and string tensors, and ZipMap sequences of maps (`seq(map(int64|string, float|double))`,
/// skl2onnx's default classifier output) as a `[N, classes]` float tensor with its class keys
/// (read once per output into `class_keys`).
pub(super) fn decode(
    outputs: &[ort::value::Outlet],
    k: usize,
    v: &raw::Owned,
    o: &mut Outputs,
    class_keys: &mut [Option<ClassKeys>],
) -> Result<(), String> {
    use ort::sys::ONNXTensorElementDataType as E;
    fn ints<T: raw::Primitive>(
        v: &raw::Owned,
        elem: E,
        dims: &[i64],
        f: impl Fn(T) -> i64,
    ) -> Result<Vec<i64>, String> {
        Ok(raw::elements::<T>(v, elem, dims)?
            .iter()
            .map(|&x| f(x))
            .collect())
    }
    let outlet = outputs.get(k).ok_or("no such output")?;
    let name = outlet.name().to_string();
    match outlet.dtype() {
        ValueType::Tensor { .. } => {}
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
            let known = class_keys.get_mut(k).ok_or("no such output")?;
            let (keys, maps, values) = super::zipmap::read(v, key, double, known)
                .map_err(|e| format!("output `{name}`: {e}"))?;
            let classes = match &keys {
                ClassKeys::Int(k) => k.len(),
                ClassKeys::Str(k) => k.len(),
            };
            o.floats
                .push((name.clone(), vec![maps as i64, classes as i64], values));
            o.classes.push((name, keys));
            return Ok(());
        }
        _ => {
            o.undecoded.push(name);
            return Ok(());
        }
    }
    let (elem, dims) = raw::shape(v)?;
    let int = match elem {
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT => {
            let d = raw::elements::<f32>(v, elem, &dims)?.to_vec();
            o.floats.push((name, dims, d));
            return Ok(());
        }
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE => {
            let d = raw::elements::<f64>(v, elem, &dims)?
                .iter()
                .map(|&x| x as f32)
                .collect();
            o.floats.push((name.clone(), dims, d));
            o.doubles.push(name);
            return Ok(());
        }
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING => {
            let d = raw::strings(v, elem, &dims)?;
            o.strings.push((name, dims, d));
            return Ok(());
        }
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 => ints::<i64>(v, elem, &dims, |x| x)?,
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 => ints::<i32>(v, elem, &dims, i64::from)?,
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 => ints::<i16>(v, elem, &dims, i64::from)?,
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 => ints::<i8>(v, elem, &dims, i64::from)?,
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 => {
            ints::<u64>(v, elem, &dims, |x| x.min(i64::MAX as u64) as i64)?
        }
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 => ints::<u32>(v, elem, &dims, i64::from)?,
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 => ints::<u16>(v, elem, &dims, i64::from)?,
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 => ints::<u8>(v, elem, &dims, i64::from)?,
        E::ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL => raw::bools(v, elem, &dims)?
            .iter()
            .map(|&b| i64::from(b != 0))
            .collect(),
        _ => {
            o.undecoded.push(name);
            return Ok(());
        }
    };
    o.ints.push((name, dims, int));
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
    let names = raw::Names::new(&session).map_err(|message| OnnxError::Model {
        path: path.display().to_string(),
        message,
    })?;
    let all_outputs = (0..session.outputs().len()).collect();
    let class_keys = vec![None; session.outputs().len()];
    let memory = ort::memory::MemoryInfo::new(
        ort::memory::AllocationDevice::CPU,
        0,
        ort::memory::AllocatorType::Device,
        ort::memory::MemoryType::Default,
    )
    .map_err(model_err)?;
    Ok((
        Model {
            session,
            inputs,
            symbols,
            names,
            all_outputs,
            class_keys,
            memory,
        },
        lib,
    ))
}
