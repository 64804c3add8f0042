//! A fast read of ZipMap outputs (`seq(map(int64, float|double))`, skl2onnx's default classifier
//! output) straight through the C API. `ort`'s safe path builds a typed `Value` (type info,
//! shape, dimension names) for every map of the sequence and for both tensors of each map: on
//! a small classifier that costs more than the inference itself. This reads the same values
//! with only the calls that copy them out.

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

/// The elements of a 1-D tensor of `T`, copied out. The caller has checked the element type.
#[allow(unsafe_code)]
fn elements<T: Copy>(t: &Owned) -> Result<Vec<T>, String> {
    let api = ort::api();
    let mut info = ptr::null_mut();
    let mut n = 0usize;
    // SAFETY: `t` is a live tensor; the shape info is released once after its count is read.
    unsafe {
        check((api.GetTensorTypeAndShape)(t.0.as_ptr(), &mut info))?;
        let counted = check((api.GetTensorShapeElementCount)(info, &mut n));
        (api.ReleaseTensorTypeAndShapeInfo)(info);
        counted?;
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    // SAFETY: `t` is a live CPU tensor of `n` elements of `T` (the map's declared key or value
    // type); the slice is copied before `t` is released.
    unsafe {
        check((api.GetTensorMutableData)(t.0.as_ptr(), &mut data))?;
        if data.is_null() {
            return Err("ONNX Runtime returned no tensor data".to_string());
        }
        Ok(std::slice::from_raw_parts(data.cast::<T>(), n).to_vec())
    }
}

/// A `seq(map(int64, V))` output as (class keys, number of maps, values row by row as f32),
/// where `V` is f32 (`double` false) or f64. Every map must have the same keys.
#[allow(unsafe_code)]
pub(super) fn read_i64(
    seq: &ort::value::DynValue,
    double: bool,
) -> Result<(Vec<i64>, usize, Vec<f32>), String> {
    let api = ort::api();
    let mut alloc: *mut OrtAllocator = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: plain out-parameters; the default allocator is owned by ONNX Runtime.
    unsafe {
        check((api.GetAllocatorWithDefaultOptions)(&mut alloc))?;
        check((api.GetValueCount)(seq.ptr(), &mut len))?;
    }
    let mut keys: Option<Vec<i64>> = None;
    let mut values = Vec::new();
    for i in 0..len {
        let index = i32::try_from(i).map_err(|_| "a sequence too long".to_string())?;
        let map = get(seq.ptr(), index, alloc)?;
        let k: Vec<i64> = elements(&get(map.0.as_ptr(), 0, alloc)?)?;
        let v = get(map.0.as_ptr(), 1, alloc)?;
        let row: Vec<f32> = if double {
            elements::<f64>(&v)?.iter().map(|&x| x as f32).collect()
        } else {
            elements::<f32>(&v)?
        };
        if row.len() != k.len() {
            return Err("a map with more keys than values".to_string());
        }
        match &keys {
            None => keys = Some(k),
            Some(first) if *first != k => {
                return Err("the maps of the sequence have different keys".to_string());
            }
            _ => {}
        }
        values.extend(row);
    }
    Ok((keys.unwrap_or_default(), len, values))
}
