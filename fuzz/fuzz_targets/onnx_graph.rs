//! The ONNX graph reader `fuzz` plans with (nodes, attributes, small constants, subgraphs) on
//! arbitrary bytes: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelsec::onnx::graph::read_bytes(data);
});
