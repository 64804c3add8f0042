//! Bounded runs, for serving untrusted requests: a [`Stopper`] ends a run from another thread
//! (ONNX Runtime's terminate flag, checked between kernels and between the iterations of a
//! `Loop`), outputs are counted before they are copied out ([`Model::run_bounded`]), and every
//! session of the process can share one memory arena with a hard cap ([`cap_memory`]).

use super::raw;
use super::session::decode;
use super::{Data, Model, OnnxError, Outputs, runtime};
use ort::session::RunOptions;
use ort::value::ValueType;
use std::sync::OnceLock;

/// Ends a run from another thread. ONNX Runtime checks the flag between kernels (and between a
/// `Loop`'s iterations), so a run stops soon after [`Stopper::stop`] unless one kernel runs
/// long on its own (bounded by the memory cap).
pub struct Stopper {
    options: RunOptions,
}

impl Stopper {
    /// A fresh stopper for one run. With `shrink`, the shared arena gives memory no run is
    /// using back to the system when the run ends (see [`cap_memory`]).
    pub fn new(shrink: bool) -> Result<Stopper, String> {
        let mut options = RunOptions::new().map_err(|e| e.to_string())?;
        if shrink {
            options
                .set("memory.enable_memory_arena_shrinkage", "cpu:0")
                .map_err(|e| e.to_string())?;
        }
        Ok(Stopper { options })
    }

    /// Ask the run to stop; it returns [`RunError::Stopped`] soon.
    pub fn stop(&self) {
        let _ = self.options.terminate();
    }
}

/// Why a bounded run gave no outputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// Stopped by its [`Stopper`] (a deadline, a shutdown).
    #[error("the run was stopped")]
    Stopped,
    /// The outputs hold more values than allowed; nothing was copied out.
    #[error(
        "the outputs hold {elements} values or more (output `{output}`), over the limit of {limit}"
    )]
    TooLarge {
        output: String,
        elements: usize,
        limit: usize,
    },
    /// The capped arena refused an allocation.
    #[error("the model's memory limit was reached ({0})")]
    OutOfMemory(String),
    /// Anything else: ONNX Runtime's message (internal detail: not for clients).
    #[error("{0}")]
    Failed(String),
}

impl RunError {
    fn from_ort(message: String) -> RunError {
        if message.contains("terminate flag") {
            RunError::Stopped
        } else if message.contains("Failed to allocate memory")
            || message.contains("Available memory of")
            || message.contains("bad_alloc")
        {
            RunError::OutOfMemory(message)
        } else {
            RunError::Failed(message)
        }
    }
}

impl Model {
    /// Run under `stopper`; the outputs are decoded only when they hold at most `max_elements`
    /// values in all (counted from their shapes, before anything is copied).
    pub fn run_bounded(
        &mut self,
        data: &[(String, Data)],
        stopper: &Stopper,
        max_elements: usize,
    ) -> Result<Outputs, RunError> {
        let mut values = Vec::with_capacity(data.len());
        for (_, d) in data {
            values.push(d.value().map_err(|e| RunError::Failed(e.to_string()))?);
        }
        let mut inputs = Vec::with_capacity(data.len());
        for ((name, _), v) in data.iter().zip(&values) {
            inputs.push((
                self.names.input(name).map_err(RunError::Failed)?,
                raw::Input::Ort(v.into()),
            ));
        }
        let out = raw::run(
            &mut self.session,
            &self.names,
            Some(&stopper.options),
            &inputs,
            &self.all_outputs,
        )
        .map_err(RunError::from_ort)?;
        drop(inputs);
        let outputs = self.session.outputs();
        let mut total = 0usize;
        for (k, v) in self.all_outputs.iter().zip(&out) {
            total = total.saturating_add(match outputs.get(*k).map(|o| o.dtype()) {
                Some(ValueType::Tensor { .. }) => {
                    super::elements(&raw::shape(v).map_err(RunError::Failed)?.1)
                }
                // A sequence (ZipMap's maps): counted as its maps are decoded below.
                _ => 0,
            });
            if total > max_elements {
                return Err(RunError::TooLarge {
                    output: name_of(outputs, *k),
                    elements: total,
                    limit: max_elements,
                });
            }
        }
        let mut o = Outputs::default();
        for (k, v) in self.all_outputs.iter().zip(&out) {
            decode(outputs, *k, v, &mut o, &mut self.class_keys).map_err(RunError::Failed)?;
            if o.elements() > max_elements {
                return Err(RunError::TooLarge {
                    output: name_of(outputs, *k),
                    elements: o.elements(),
                    limit: max_elements,
                });
            }
        }
        Ok(o)
    }
}

fn name_of(outputs: &[ort::value::Outlet], k: usize) -> String {
    outputs
        .get(k)
        .map(|o| o.name().to_string())
        .unwrap_or_default()
}

/// One CPU memory arena for every session of the process that opts in (`shared_arena` in
/// [`super::session::SessionOptions`]), refusing allocations past `max_bytes` in all: a run that
/// would need more fails with [`RunError::OutOfMemory`] instead of taking the machine. Model
/// weights stay outside it (they are allocated once, at load). Once per process; a second call
/// must ask for the same cap.
pub fn cap_memory(max_bytes: usize) -> Result<(), OnnxError> {
    // ONNX Runtime itself missing is its own error, with how to install it.
    runtime::environment()?;
    static DONE: OnceLock<Result<usize, String>> = OnceLock::new();
    let done = DONE.get_or_init(|| register_arena(max_bytes).map(|()| max_bytes));
    match done {
        Ok(m) if *m == max_bytes => Ok(()),
        Ok(m) => Err(OnnxError::Runtime(format!(
            "the memory arena is already capped at {m} bytes"
        ))),
        Err(e) => Err(OnnxError::Runtime(format!(
            "cannot cap ONNX Runtime's memory: {e}"
        ))),
    }
}

#[allow(unsafe_code)]
fn register_arena(max_bytes: usize) -> Result<(), String> {
    use ort::AsPointer;
    use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
    let (env, _) = runtime::environment().map_err(|e| e.to_string())?;
    let api = ort::api();
    // arena_extend_strategy 1 (kSameAsRequested): the arena grows by what a run asks for, so
    // the cap is reached only when the memory is really needed.
    let keys = [c"max_mem".as_ptr(), c"arena_extend_strategy".as_ptr()];
    let values = [max_bytes, 1usize];
    let mut cfg: *mut ort::sys::OrtArenaCfg = std::ptr::null_mut();
    // SAFETY: `keys` and `values` are arrays of `keys.len()` valid entries (NUL-terminated
    // static strings, plain integers); `cfg` is a valid place for the result.
    let status =
        unsafe { (api.CreateArenaCfgV2)(keys.as_ptr(), values.as_ptr(), keys.len(), &mut cfg) };
    status_result(status)?;
    let info = MemoryInfo::new(
        AllocationDevice::CPU,
        0,
        AllocatorType::Arena,
        MemoryType::Default,
    )
    .map_err(|e| e.to_string())?;
    // SAFETY: the environment lives for the process (a static); `info` and `cfg` are valid
    // for the call, which copies what it needs from them.
    let status = unsafe {
        (api.CreateAndRegisterAllocator)(env.ptr().cast_mut(), info.ptr(), cfg.cast_const())
    };
    // SAFETY: `cfg` came from CreateArenaCfgV2 and is released once.
    unsafe { (api.ReleaseArenaCfg)(cfg) };
    status_result(status)
}

#[allow(unsafe_code)]
pub(super) fn status_result(status: ort::sys::OrtStatusPtr) -> Result<(), String> {
    if status.0.is_null() {
        return Ok(());
    }
    let api = ort::api();
    // SAFETY: a non-null status from the API; its message is a NUL-terminated string owned by
    // the status, copied before the status is released (once).
    let message = unsafe {
        let m = std::ffi::CStr::from_ptr((api.GetErrorMessage)(status.0))
            .to_string_lossy()
            .into_owned();
        (api.ReleaseStatus)(status.0);
        m
    };
    Err(message)
}
