//! `--seeds`: valid inputs to start from. An `.npz` holds one array per input name, each a whole
//! input tensor (inputs missing from it are generated); an `.npy` is the whole tensor of a
//! single-input model, or rows of features for a float `[N, F]` input, as `.csv` and `.jsonl`
//! are. Values are checked against the input's type here, shapes by the contract.

use super::FuzzError;
use crate::onnx::{Data, Elem, InputSpec};
use crate::util::{fs, npy, npz};
use std::path::Path;

/// Seed tensors by input name, and where they came from.
#[derive(Clone, Debug, Default)]
pub struct Seeds {
    pub tensors: Vec<(String, Data)>,
}

impl Seeds {
    /// The seed tensor of `input`.
    pub fn get(&self, input: &str) -> Option<&Data> {
        self.tensors
            .iter()
            .find(|(n, _)| n == input)
            .map(|(_, d)| d)
    }
}

fn invalid(path: &Path, message: String) -> FuzzError {
    FuzzError::Seeds(format!("seeds `{}`: {message}", path.display()))
}

/// Convert a numpy array to `spec`'s element type, refusing what does not fit.
fn to_data(spec: &InputSpec, a: npy::Array) -> Result<Data, String> {
    let shape: Vec<i64> = a
        .shape
        .iter()
        .map(|&d| i64::try_from(d).map_err(|_| "a dimension overflows".to_string()))
        .collect::<Result<_, _>>()?;
    let kind = a.values.kind();
    let mismatch = || {
        format!(
            "array `{}` holds {kind} values, the input is {}",
            spec.name, spec.dtype
        )
    };
    if spec.is_string() {
        return match a.values {
            npy::Values::Str(v) => {
                if let Some(s) = v.iter().find(|s| s.contains('\0')) {
                    return Err(format!(
                        "array `{}` holds a string with NUL ({s:?}), which ONNX Runtime cannot take",
                        spec.name
                    ));
                }
                Ok(Data::Str(shape, v))
            }
            _ => Err(mismatch()),
        };
    }
    let elem = spec.elem.ok_or_else(|| {
        format!(
            "input `{}` is {}, which modelsec does not build tensors of",
            spec.name, spec.dtype
        )
    })?;
    match (elem, a.values) {
        (Elem::F32, npy::Values::Float(v)) => {
            Ok(Data::F32(shape, v.into_iter().map(|x| x as f32).collect()))
        }
        (Elem::F64, npy::Values::Float(v)) => Ok(Data::F64(shape, v)),
        (Elem::F32, npy::Values::Int(v)) => {
            Ok(Data::F32(shape, v.into_iter().map(|x| x as f32).collect()))
        }
        (Elem::F64, npy::Values::Int(v)) => {
            Ok(Data::F64(shape, v.into_iter().map(|x| x as f64).collect()))
        }
        (e, npy::Values::Int(v) | npy::Values::Bool(v)) if !e.is_float() => {
            let (lo, hi) = e.int_range();
            if let Some(bad) = v.iter().find(|x| !(lo..=hi).contains(*x)) {
                return Err(format!(
                    "array `{}` holds {bad}, outside {} ({lo}..{hi})",
                    spec.name,
                    e.name()
                ));
            }
            Ok(Data::Int(e, shape, v))
        }
        _ => Err(mismatch()),
    }
}

/// Read `path` for a model with inputs `specs`.
pub fn read(path: &Path, specs: &[InputSpec]) -> Result<Seeds, FuzzError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let names = || {
        specs
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut seeds = Seeds::default();
    match ext.as_str() {
        "npz" => {
            let bytes = fs::read_bytes(path, fs::MAX_ROWS_BYTES)?;
            let arrays =
                npz::read(&bytes, fs::MAX_ROWS_BYTES).map_err(|e| invalid(path, e.to_string()))?;
            for (name, a) in arrays {
                let spec = specs.iter().find(|s| s.name == name).ok_or_else(|| {
                    invalid(
                        path,
                        format!(
                            "array `{name}` names no input of the model (its inputs: {})",
                            names()
                        ),
                    )
                })?;
                let d = to_data(spec, a).map_err(|m| invalid(path, m))?;
                seeds.tensors.push((name, d));
            }
        }
        "npy" if specs.len() == 1 && !specs[0].is_string() => {
            let bytes = fs::read_bytes(path, fs::MAX_ROWS_BYTES)?;
            let a = npy::read_array(&bytes).map_err(|e| invalid(path, e.to_string()))?;
            let spec = &specs[0];
            let rows_of_f = spec.dims.len() == 2 && a.shape.len() <= 2;
            if a.shape.len() == spec.dims.len() || !rows_of_f {
                let d = to_data(spec, a).map_err(|m| invalid(path, m))?;
                seeds.tensors.push((spec.name.clone(), d));
            } else {
                // One row of features (1-D) for an [N, F] input.
                let d = to_data(spec, a).map_err(|m| invalid(path, m))?;
                let n = d.len() as i64;
                seeds
                    .tensors
                    .push((spec.name.clone(), d.part(vec![1, n], 0..n as usize)));
            }
        }
        "npy" => {
            return Err(invalid(
                path,
                format!(
                    "the model has {} inputs ({}): give --seeds as an .npz with one array per input name (numpy: np.savez(path, name=array, ...))",
                    specs.len(),
                    names()
                ),
            ));
        }
        _ => {
            let rows = crate::rows::read_rows(path)?;
            let [spec] = specs else {
                return Err(invalid(
                    path,
                    format!(
                        "rows of features fit a model with one [N, F] input; this one has {} ({}); use an .npz with one array per input",
                        specs.len(),
                        names()
                    ),
                ));
            };
            let width = rows.first().map_or(0, Vec::len);
            let values: Vec<f64> = rows.iter().flatten().map(|&v| f64::from(v)).collect();
            let a = npy::Array {
                shape: vec![rows.len() as u64, width as u64],
                values: npy::Values::Float(values),
            };
            let d = to_data(spec, a).map_err(|m| invalid(path, m))?;
            seeds.tensors.push((spec.name.clone(), d));
        }
    }
    Ok(seeds)
}
