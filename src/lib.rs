//! modelsec: the NCSC/CISA *Guidelines for secure AI system development* as commands.
//!
//! The library does the work and never prints; the `modelsec` binary parses arguments, calls
//! into these modules, renders a [`report::Report`] and maps it to an exit code
//! (0 clean, 1 findings or failed verification, 2 could not run).
//!
//! - [`signing`]: OpenSSF Model Signing (OMS) bundles: keys, sign, verify, manifest.
//! - [`scan`]: static analysis of model files for code-execution payloads.
//! - [`check`]: deployment configs against TOML rules; [`threat`]: threat models over `check`.
//! - [`fuzz`]: ONNX model input probes through ONNX Runtime.
//! - [`onnx`]: the ONNX Runtime layer `fuzz` and `monitor` share; [`rows`]: seed and baseline rows.
//! - [`monitor`]: the runtime misuse monitor (`serve`, `proxy`) and its verifiable event log.
//! - [`report`]: one `Report`/`Finding` type with human, JSON and SARIF renderers.
//! - [`registry`]: every rule id of every capability, in one place.
//! - [`util`]: safe file I/O, the `.npy` reader and the seeded RNG, shared by every command.

pub mod check;
pub mod fuzz;
pub mod monitor;
pub mod onnx;
pub mod registry;
pub mod report;
pub mod rows;
pub mod scan;
pub mod signing;
pub mod threat;
pub mod util;
