//! A fast read of ZipMap outputs (`seq(map(int64|string, float|double))`, skl2onnx's default
//! classifier output) straight through the C API. `ort`'s safe path builds a typed `Value` (type info,
//! shape, dimension names) for every map of the sequence and for both tensors of each map: on
//! a small classifier that costs more than the inference itself. This reads the same values
//! with only the calls that copy them out.

use super::tensor::ClassKeys;
use ort::AsPointer;
use ort::sys::{OrtAllocator, OrtStatusPtr, OrtValue};
use std::ptr::{self, NonNull};

/// An `OrtValue` this module owns, released once.
struct Owned(NonNull<OrtValue>);

impl Drop for Owned {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the pointer came from GetValue, which hands ownership to the caller; it is
        // released exactly once, here.
        unsafe { (ort::api().ReleaseValue)(self.0.as_ptr()) }
    }
}

fn check(status: OrtStatusPtr) -> Result<(), String> {
    super::bounded::status_result(status)
}

/// Element `index` of a sequence or map (`GetValue`).
#[allow(unsafe_code)]
fn get(value: *const OrtValue, index: i32, alloc: *mut OrtAllocator) -> Result<Owned, String> {
    let mut out: *mut OrtValue = ptr::null_mut();
    // SAFETY: `value` is a live sequence or map value, `alloc` ONNX Runtime's default
    // allocator, `out` a valid place for the result.
    check(unsafe { (ort::api().GetValue)(value, index, alloc, &mut out) })?;
    NonNull::new(out)
        .map(Owned)
        .ok_or_else(|| "ONNX Runtime returned no value".to_string())
}

/// The elements of a numeric tensor of `T` (the caller has checked the element type), as a
/// slice borrowed from `t`: one call for the size, one for the data, no allocation.
#[allow(unsafe_code)]
fn elements<T: Copy>(t: &Owned) -> Result<&[T], String> {
    let api = ort::api();
    let mut bytes = 0usize;
    // SAFETY: `t` is a live numeric tensor; plain out-parameter.
    check(unsafe { (api.GetTensorSizeInBytes)(t.0.as_ptr(), &mut bytes) })?;
    let n = bytes / std::mem::size_of::<T>();
    if n == 0 {
        return Ok(&[]);
    }
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    // SAFETY: `t` is a live CPU tensor of `n` elements of `T` (the map's declared key or value
    // type, `bytes` long); the slice borrows `t`, so it cannot outlive the value.
    unsafe {
        check((api.GetTensorMutableData)(t.0.as_ptr(), &mut data))?;
        if data.is_null() || !data.cast::<T>().is_aligned() {
            return Err("ONNX Runtime returned no tensor data".to_string());
        }
        Ok(std::slice::from_raw_parts(data.cast::<T>(), n))
    }
}

/// The strings of a string tensor.
#[allow(unsafe_code)]
fn strings(t: &Owned) -> Result<Vec<String>, String> {
    let api = ort::api();
    let mut info = ptr::null_mut();
    let mut n = 0usize;
    let mut total = 0usize;
    // SAFETY: `t` is a live string tensor; the shape info is released once after its count is
    // read; plain out-parameters.
    unsafe {
        check((api.GetTensorTypeAndShape)(t.0.as_ptr(), &mut info))?;
        let counted = check((api.GetTensorShapeElementCount)(info, &mut n));
        (api.ReleaseTensorTypeAndShapeInfo)(info);
        counted?;
        check((api.GetStringTensorDataLength)(t.0.as_ptr(), &mut total))?;
    }
    let mut bytes = vec![0u8; total];
    let mut offsets = vec![0usize; n];
    // SAFETY: `bytes` holds `total` bytes and `offsets` `n` entries, as ONNX Runtime reported.
    check(unsafe {
        (api.GetStringTensorContent)(
            t.0.as_ptr(),
            bytes.as_mut_ptr().cast(),
            total,
            offsets.as_mut_ptr(),
            n,
        )
    })?;
    (0..n)
        .map(|i| {
            let end = offsets.get(i + 1).copied().unwrap_or(total);
            let s = bytes
                .get(offsets[i]..end)
                .ok_or_else(|| "ONNX Runtime returned bad string offsets".to_string())?;
            Ok(String::from_utf8_lossy(s).into_owned())
        })
        .collect()
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
/// operator domains before a model runs), and every map it makes has its class labels as keys:
/// so the keys are read from the first map, and every other map is checked to have as many
/// values (each key read costs a tensor copy in ONNX Runtime, as much as the values).
#[allow(unsafe_code)]
pub(super) fn read(
    seq: &ort::value::DynValue,
    key: Keys,
    double: bool,
) -> Result<(ClassKeys, usize, Vec<f32>), String> {
    let api = ort::api();
    let mut alloc: *mut OrtAllocator = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: plain out-parameters; the default allocator is owned by ONNX Runtime.
    unsafe {
        check((api.GetAllocatorWithDefaultOptions)(&mut alloc))?;
        check((api.GetValueCount)(seq.ptr(), &mut len))?;
    }
    let mut keys: Option<ClassKeys> = None;
    let mut values = Vec::new();
    for i in 0..len {
        let index = i32::try_from(i).map_err(|_| "a sequence too long".to_string())?;
        let map = get(seq.ptr(), index, alloc)?;
        let count = match &keys {
            Some(ClassKeys::Int(k)) => k.len(),
            Some(ClassKeys::Str(k)) => k.len(),
            None => {
                let k = get(map.0.as_ptr(), 0, alloc)?;
                let k = match key {
                    Keys::Int => ClassKeys::Int(elements::<i64>(&k)?.to_vec()),
                    Keys::Str => ClassKeys::Str(strings(&k)?),
                };
                let n = match &k {
                    ClassKeys::Int(v) => v.len(),
                    ClassKeys::Str(v) => v.len(),
                };
                keys = Some(k);
                n
            }
        };
        let v = get(map.0.as_ptr(), 1, alloc)?;
        let before = values.len();
        if double {
            values.extend(elements::<f64>(&v)?.iter().map(|&x| x as f32));
        } else {
            values.extend_from_slice(elements::<f32>(&v)?);
        }
        if values.len() - before != count {
            return Err("the maps of the sequence have different numbers of classes".to_string());
        }
    }
    let keys = keys.unwrap_or(match key {
        Keys::Int => ClassKeys::Int(vec![]),
        Keys::Str => ClassKeys::Str(vec![]),
    });
    Ok((keys, len, values))
}
