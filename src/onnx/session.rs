//! A model loaded into ONNX Runtime: one session with its declared inputs, run on [`Data`] and
//! decoded into [`Outputs`].

use super::OnnxError;
use super::runtime;
use super::tensor::{Data, Elem, InputSpec, Outputs};
use ort::session::Session;
use ort::value::{TensorElementType, ValueType};
use std::path::Path;

/// A model loaded into ONNX Runtime (one session, one intra-op thread).
pub struct Model {
    /// The ONNX Runtime session.
    pub session: Session,
    pub inputs: Vec<InputSpec>,
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

    pub fn run(&mut self, data: &[(String, Data)]) -> Result<Outputs, String> {
        let mut values = Vec::with_capacity(data.len());
        for (name, d) in data {
            values.push((name.clone(), d.value().map_err(|e| e.to_string())?));
        }
        let out = self.session.run(values).map_err(|e| e.to_string())?;
        let mut o = Outputs::default();
        for (name, v) in out.iter() {
            match v.dtype() {
                ValueType::Tensor {
                    ty: TensorElementType::Float32,
                    ..
                } => {
                    let (s, d) = v.try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
                    o.floats.push((name.to_string(), s.to_vec(), d.to_vec()));
                }
                ValueType::Tensor {
                    ty: TensorElementType::Int64,
                    ..
                } => {
                    let (s, d) = v.try_extract_tensor::<i64>().map_err(|e| e.to_string())?;
                    o.ints.push((name.to_string(), s.to_vec(), d.to_vec()));
                }
                _ => o.undecoded.push(name.to_string()),
            }
        }
        Ok(o)
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

pub fn open(path: &Path) -> Result<(Model, runtime::Located), OnnxError> {
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
    let session = builder.commit_from_file(path).map_err(model_err)?;
    let inputs = session
        .inputs()
        .iter()
        .map(|i| spec_of(i.name(), i.dtype()))
        .collect();
    Ok((Model { session, inputs }, lib))
}
