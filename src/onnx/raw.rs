//! ONNX Runtime's `Run` and output reads straight through the C API: the path every fuzz probe,
//! attack query and served request takes. `ort`'s safe `run` builds, on every run, the name
//! lists, a typed `Value` per output (type info, shape, dimension names) and a name-keyed
//! `SessionOutputs`; on a small classifier (~5 µs per run) that is a good part of the time. Here
//! the names are C strings made once per session, the outputs asked for are fetched as owned
//! raw values (released once when dropped), and tensors are read with one call for their type
//! and shape (a reference, nothing allocated) and one for their data.
//!
//! The run path's C API calls are here and in `zipmap` (which reads sequences of maps).

use super::bounded::status_result as check;
use ort::AsPointer;
use ort::memory::MemoryInfo;
use ort::session::{RunOptions, Session};
use ort::sys::{ONNXTensorElementDataType as Elem, OrtValue};
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// An `OrtValue` ONNX Runtime handed over (a run's output, an element of a sequence or a map),
/// released once when dropped.
pub(super) struct Owned(NonNull<OrtValue>);

impl Owned {
    /// Take ownership of a value ONNX Runtime returned (`None` when it returned none).
    fn new(value: *mut OrtValue) -> Option<Owned> {
        NonNull::new(value).map(Owned)
    }

    pub(super) fn ptr(&self) -> *const OrtValue {
        self.0.as_ptr()
    }
}

impl Drop for Owned {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the pointer came from ONNX Runtime (Run or GetValue), which hands ownership to
        // the caller; `Owned` is not Clone, so it is released exactly once, here.
        unsafe { (ort::api().ReleaseValue)(self.0.as_ptr()) }
    }
}

/// Take ownership of what a C API call returned in `out`, or say that it returned nothing.
pub(super) fn owned(out: *mut OrtValue) -> Result<Owned, String> {
    Owned::new(out).ok_or_else(|| "ONNX Runtime returned no value".to_string())
}

/// A session's input and output names as C strings, made once.
pub(super) struct Names {
    inputs: Vec<(String, CString)>,
    outputs: Vec<CString>,
}

impl Names {
    pub(super) fn new(session: &Session) -> Result<Names, String> {
        let c = |name: &str| {
            CString::new(name).map_err(|_| format!("the model's name `{name}` holds a NUL byte"))
        };
        Ok(Names {
            inputs: session
                .inputs()
                .iter()
                .map(|i| Ok((i.name().to_string(), c(i.name())?)))
                .collect::<Result<_, String>>()?,
            outputs: session
                .outputs()
                .iter()
                .map(|o| c(o.name()))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Input `name` as a C string: the session's own when it has that input, else a new one
    /// (ONNX Runtime then says the name is not an input).
    pub(super) fn input(&self, name: &str) -> Result<std::borrow::Cow<'_, CStr>, String> {
        match self.inputs.iter().find(|(n, _)| n == name) {
            Some((_, c)) => Ok(std::borrow::Cow::Borrowed(c.as_c_str())),
            None => CString::new(name)
                .map(std::borrow::Cow::Owned)
                .map_err(|_| format!("the input name `{name}` holds a NUL byte")),
        }
    }

    /// Input at position `i` as a C string.
    pub(super) fn input_at(&self, i: usize) -> Option<&CStr> {
        self.inputs.get(i).map(|(_, c)| c.as_c_str())
    }
}

/// An input tensor that borrows the caller's data (no copy): it cannot outlive the data.
pub(super) struct View<'a> {
    value: Owned,
    _data: PhantomData<&'a [u8]>,
}

/// A tensor of `shape` over `data` (`None` when the shape does not describe exactly `data`'s
/// elements, or `data` is empty: those take `ort`'s path, which says what is wrong).
#[allow(unsafe_code)]
pub(super) fn view<'a, T: Primitive>(
    memory: &MemoryInfo,
    shape: &[i64],
    data: &'a [T],
) -> Result<Option<View<'a>>, String> {
    if data.is_empty() || count(shape).ok() != Some(data.len()) {
        return Ok(None);
    }
    let mut out: *mut OrtValue = ptr::null_mut();
    // SAFETY: `data` is a live, non-empty slice of `shape`'s element count of `T` (checked
    // above), passed with its exact size in bytes; ONNX Runtime only reads an input tensor, so
    // the shared borrow (cast to the mutable pointer the C signature asks for) is never written
    // through. The `View` borrows `data` for as long as the tensor lives. `shape` is copied by
    // the call; `memory` is a live CPU memory description.
    let status = unsafe {
        (ort::api().CreateTensorWithDataAsOrtValue)(
            memory.ptr(),
            data.as_ptr().cast_mut().cast(),
            std::mem::size_of_val(data),
            shape.as_ptr(),
            shape.len(),
            T::ELEM,
            &mut out,
        )
    };
    check(status)?;
    Ok(Some(View {
        value: owned(out)?,
        _data: PhantomData,
    }))
}

/// One input of a run: a borrowed view, or a value `ort` made.
pub(super) enum Input<'a> {
    View(View<'a>),
    Ort(ort::session::SessionInputValue<'a>),
}

impl Input<'_> {
    fn ptr(&self) -> *const OrtValue {
        match self {
            Input::View(v) => v.value.ptr(),
            Input::Ort(v) => v.ptr(),
        }
    }
}

/// Run `session` on `inputs` (name, value), fetching the outputs at positions `wanted`, in that
/// order. `options` (a stopper's) may end the run from another thread.
#[allow(unsafe_code)]
pub(super) fn run<N: AsRef<CStr>>(
    session: &mut Session,
    names: &Names,
    options: Option<&RunOptions>,
    inputs: &[(N, Input<'_>)],
    wanted: &[usize],
) -> Result<Vec<Owned>, String> {
    let input_names: Vec<*const std::ffi::c_char> =
        inputs.iter().map(|(n, _)| n.as_ref().as_ptr()).collect();
    let input_values: Vec<*const OrtValue> = inputs.iter().map(|(_, v)| v.ptr()).collect();
    let output_names = wanted
        .iter()
        .map(|&k| {
            names
                .outputs
                .get(k)
                .map(|c| c.as_ptr())
                .ok_or_else(|| format!("the model has no output {k}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut outputs: Vec<*mut OrtValue> = vec![ptr::null_mut(); wanted.len()];
    let options = options.map_or(ptr::null(), |o| o.ptr());
    // SAFETY: the session is live and borrowed mutably (ONNX Runtime's Run is not to be called
    // concurrently on one session); the name arrays hold `inputs.len()` and `wanted.len()`
    // NUL-terminated strings that outlive the call (borrowed from `inputs` and `names`); the
    // input values are live `OrtValue`s borrowed from `inputs`; `outputs` has room for
    // `wanted.len()` results; `options` is null or a live run options object.
    let status = unsafe {
        (ort::api().Run)(
            session.ptr().cast_mut(),
            options,
            input_names.as_ptr(),
            input_values.as_ptr(),
            inputs.len(),
            output_names.as_ptr(),
            output_names.len(),
            outputs.as_mut_ptr(),
        )
    };
    // Whatever Run returned is owned (and released) even when it failed part way.
    let owned: Vec<Option<Owned>> = outputs.into_iter().map(Owned::new).collect();
    check(status)?;
    owned
        .into_iter()
        .map(|o| o.ok_or_else(|| "ONNX Runtime returned no output value".to_string()))
        .collect()
}

/// A tensor's element type and dims: one call, nothing allocated by ONNX Runtime. An error when
/// the value is not a tensor.
#[allow(unsafe_code)]
pub(super) fn shape(v: &Owned) -> Result<(Elem, Vec<i64>), String> {
    let mut elem = Elem::ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    let mut dims: *const i64 = ptr::null();
    let mut rank = 0usize;
    // SAFETY: `v` is a live value; plain out-parameters. The dims pointer refers to the value's
    // own shape and is copied out while `v` is borrowed.
    unsafe {
        check((ort::api().GetTensorElementTypeAndShapeDataReference)(
            v.ptr(),
            &mut elem,
            &mut dims,
            &mut rank,
        ))?;
        if rank == 0 {
            return Ok((elem, vec![]));
        }
        if dims.is_null() || !dims.is_aligned() {
            return Err("ONNX Runtime returned no tensor shape".to_string());
        }
        Ok((elem, std::slice::from_raw_parts(dims, rank).to_vec()))
    }
}

/// Element types whose tensors are read as slices.
pub(super) trait Primitive: Copy {
    /// ONNX Runtime's element type for it.
    const ELEM: Elem;
}

macro_rules! primitive {
    ($($t:ty => $e:ident),* $(,)?) => {
        $(impl Primitive for $t {
            const ELEM: Elem = Elem::$e;
        })*
    };
}

primitive!(
    f32 => ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
    f64 => ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE,
    i64 => ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
    i32 => ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32,
    i16 => ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16,
    i8 => ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8,
    u64 => ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64,
    u32 => ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32,
    u16 => ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16,
    u8 => ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8,
);

/// The number of elements of a tensor with dims `dims`.
fn count(dims: &[i64]) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(usize::try_from(d).ok()?))
        .ok_or_else(|| {
            "ONNX Runtime returned a tensor with a negative or huge dimension".to_string()
        })
}

/// The elements of a tensor of `T` (`elem` and `dims` as [`shape`] returned them for `v`), as a
/// slice borrowed from `v`.
pub(super) fn elements<'v, T: Primitive>(
    v: &'v Owned,
    elem: Elem,
    dims: &[i64],
) -> Result<&'v [T], String> {
    if elem != T::ELEM {
        return Err(format!("a tensor of {elem:?} read as {:?}", T::ELEM));
    }
    slice(v, count(dims)?)
}

/// The elements of a bool tensor as bytes (0 or 1).
pub(super) fn bools<'v>(v: &'v Owned, elem: Elem, dims: &[i64]) -> Result<&'v [u8], String> {
    if elem != Elem::ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL {
        return Err(format!("a tensor of {elem:?} read as bool"));
    }
    slice(v, count(dims)?)
}

/// The first `n` elements of tensor `v`, whose element type the caller has checked to be `T`
/// (or one byte, for bool), borrowed from `v`.
#[allow(unsafe_code)]
fn slice<T: Copy>(v: &Owned, n: usize) -> Result<&[T], String> {
    if n == 0 {
        return Ok(&[]);
    }
    let api = ort::api();
    let mut bytes = 0usize;
    let mut data: *const std::ffi::c_void = ptr::null();
    // SAFETY: `v` is a live CPU tensor whose elements are `T` (checked by the caller); plain
    // out-parameters. The slice is made only when the buffer holds at least `n` elements at an
    // aligned, non-null address, and it borrows `v`, so it cannot outlive the value.
    unsafe {
        check((api.GetTensorSizeInBytes)(v.ptr(), &mut bytes))?;
        if bytes / std::mem::size_of::<T>() < n {
            return Err("ONNX Runtime returned a tensor smaller than its shape".to_string());
        }
        check((api.GetTensorData)(v.ptr(), &mut data))?;
        if data.is_null() || !data.cast::<T>().is_aligned() {
            return Err("ONNX Runtime returned no tensor data".to_string());
        }
        Ok(std::slice::from_raw_parts(data.cast::<T>(), n))
    }
}

/// The strings of a string tensor with dims `dims`.
#[allow(unsafe_code)]
pub(super) fn strings(v: &Owned, elem: Elem, dims: &[i64]) -> Result<Vec<String>, String> {
    if elem != Elem::ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING {
        return Err(format!("a tensor of {elem:?} read as strings"));
    }
    let n = count(dims)?;
    let api = ort::api();
    let mut total = 0usize;
    // SAFETY: `v` is a live string tensor (checked above); plain out-parameter.
    check(unsafe { (api.GetStringTensorDataLength)(v.ptr(), &mut total) })?;
    let mut bytes = vec![0u8; total];
    let mut offsets = vec![0usize; n];
    // SAFETY: `bytes` holds `total` bytes and `offsets` `n` entries, as ONNX Runtime reported
    // (it checks both lengths against the tensor and fails rather than overrun).
    check(unsafe {
        (api.GetStringTensorContent)(
            v.ptr(),
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
