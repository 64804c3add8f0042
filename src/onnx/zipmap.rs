//! A fast read of ZipMap outputs (`seq(map(int64|string, float|double))`, skl2onnx's default
//! classifier output) straight through the C API. `ort`'s safe path builds a typed `Value` (type
//! info, shape, dimension names) for every map of the sequence and for both tensors of each map:
//! on a small classifier that costs more than the inference itself. This reads the same values
//! with only the calls that copy them out (ONNX Runtime still copies each map, and each map's
//! values into a tensor, on every `GetValue`: no C API call reads a map in place).

use super::raw::{self, Owned};
use super::tensor::ClassKeys;
use ort::sys::{OrtAllocator, OrtValue};
use std::ptr;

fn check(status: ort::sys::OrtStatusPtr) -> Result<(), String> {
    super::bounded::status_result(status)
}

/// Element `index` of a sequence or map (`GetValue`).
#[allow(unsafe_code)]
fn get(value: &Owned, index: i32, alloc: *mut OrtAllocator) -> Result<Owned, String> {
    let mut out: *mut OrtValue = ptr::null_mut();
    // SAFETY: `value` is a live value (ONNX Runtime checks that it is a sequence or a map and
    // the index in range), `alloc` ONNX Runtime's default allocator (or null, which it refuses),
    // `out` a valid place for the result.
    check(unsafe { (ort::api().GetValue)(value.ptr(), index, alloc, &mut out) })?;
    raw::owned(out)
}

/// A numeric tensor's elements (a map's keys or values).
fn numbers<T: raw::Primitive>(t: &Owned) -> Result<&[T], String> {
    let (elem, dims) = raw::shape(t)?;
    raw::elements::<T>(t, elem, &dims)
}

/// The key type of a ZipMap sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keys {
    Int,
    Str,
}

/// A `seq(map(int64|string, V))` output as (class keys, number of maps, values row by row as
/// f32), where `V` is f32 (`double` false) or f64, in one pass over the maps. Only ZipMap makes
/// a sequence of maps (the ONNX sequence operators hold tensors; the scan refuses other
/// operator domains before a model runs), and every map it makes has its class labels (node
/// attributes, the same on every run) as keys: so the keys are read once, from the first map of
/// the first run that has one, and kept in `known`; every map is checked to have as many values
/// (each key read costs a map copy and a tensor copy in ONNX Runtime, as much as the values).
#[allow(unsafe_code)]
pub(super) fn read(
    seq: &Owned,
    key: Keys,
    double: bool,
    known: &mut Option<ClassKeys>,
) -> Result<(ClassKeys, usize, Vec<f32>), String> {
    let api = ort::api();
    let mut alloc: *mut OrtAllocator = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: plain out-parameters; the default allocator is owned by ONNX Runtime.
    unsafe {
        check((api.GetAllocatorWithDefaultOptions)(&mut alloc))?;
        check((api.GetValueCount)(seq.ptr(), &mut len))?;
    }
    if len == 0 {
        let empty = match key {
            Keys::Int => ClassKeys::Int(vec![]),
            Keys::Str => ClassKeys::Str(vec![]),
        };
        return Ok((empty, 0, vec![]));
    }
    let mut values = Vec::new();
    for i in 0..len {
        let index = i32::try_from(i).map_err(|_| "a sequence too long".to_string())?;
        let map = get(seq, index, alloc)?;
        let count = match known.as_ref().filter(|k| same_kind(k, key)) {
            Some(k) => class_count(k),
            None => {
                let k = get(&map, 0, alloc)?;
                let k = match key {
                    Keys::Int => ClassKeys::Int(numbers::<i64>(&k)?.to_vec()),
                    Keys::Str => {
                        let (elem, dims) = raw::shape(&k)?;
                        ClassKeys::Str(raw::strings(&k, elem, &dims)?)
                    }
                };
                let n = class_count(&k);
                *known = Some(k);
                n
            }
        };
        let v = get(&map, 1, alloc)?;
        let before = values.len();
        if double {
            values.extend(numbers::<f64>(&v)?.iter().map(|&x| x as f32));
        } else {
            values.extend_from_slice(numbers::<f32>(&v)?);
        }
        if values.len() - before != count {
            return Err("the maps of the sequence have different numbers of classes".to_string());
        }
    }
    let keys = known.clone().ok_or("no class keys read")?;
    Ok((keys, len, values))
}

fn class_count(k: &ClassKeys) -> usize {
    match k {
        ClassKeys::Int(v) => v.len(),
        ClassKeys::Str(v) => v.len(),
    }
}

fn same_kind(k: &ClassKeys, key: Keys) -> bool {
    matches!(
        (k, key),
        (ClassKeys::Int(_), Keys::Int) | (ClassKeys::Str(_), Keys::Str)
    )
}
