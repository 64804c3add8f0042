//! The model-runtime layer `fuzz` and `monitor` share: finding and loading ONNX Runtime
//! ([`runtime`]), sessions ([`session`]), tensors ([`tensor`]) and the
//! parts of a model's graph that ONNX Runtime does not report ([`graph`]).

pub mod bounded;
pub mod graph;
mod raw;
pub mod runtime;
pub mod session;
pub mod tensor;
mod zipmap;

pub use bounded::{RunError, Stopper, cap_memory};
pub use session::{Model, SessionOptions, open, open_with, row_features};
pub use tensor::{ClassKeys, Data, Elem, InputSpec, Outputs, elements, json_row};

/// Why a model could not be loaded or ONNX Runtime could not start (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// ONNX Runtime is missing or failed to load; the message says how to install it.
    #[error("{0}")]
    Runtime(String),
    /// The file is not a model ONNX Runtime accepts.
    #[error("cannot open `{path}` as an ONNX model: {message}")]
    Model {
        /// The model path.
        path: String,
        /// ONNX Runtime's message.
        message: String,
    },
}
