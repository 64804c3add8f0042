//! The whole file dispatcher (zip, tar, compression, npy, safetensors, GGUF, ONNX, Keras) on
//! arbitrary bytes; the first byte picks the file name so every extension path is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsec::scan::{self, Allowlist};
use std::sync::OnceLock;

const NAMES: &[&str] = &["m.pkl", "m.pt", "m.zip", "m.npy", "m.safetensors", "m.gguf", "m.onnx", "m.joblib", "m.h5", "m.bin", "m.txt"];

fuzz_target!(|data: &[u8]| {
    static P: OnceLock<Allowlist> = OnceLock::new();
    let policy = P.get_or_init(Allowlist::builtin);
    let Some((&pick, rest)) = data.split_first() else { return };
    let name = NAMES[pick as usize % NAMES.len()];
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, rest).unwrap();
    let _ = scan::scan_file(&p, name, dir.path(), policy);
});
