//! The whole file dispatcher (zip, tar, compression, npy, safetensors, GGUF, ONNX, Keras,
//! TorchScript, skops, TensorFlow, TFLite, CoreML, word vectors, SentencePiece, JSON and chat
//! templates) on arbitrary bytes; the first byte picks the file name so every name-selected
//! path is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsec::scan::{self, Allowlist};
use std::sync::OnceLock;

const NAMES: &[&str] = &[
    "m.pkl", "m.pt", "m.zip", "m.npy", "m.safetensors", "m.gguf", "m.onnx", "m.joblib", "m.h5",
    "m.bin", "m.txt", "saved_model.pb", "m.tflite", "m.mlmodel", "sp.model", "lid.ftz",
    "tokenizer_config.json", "chat_template.jinja", "m.skops", "m.lz4", "m.zst", "vocab.txt",
    "variables.index",
];

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
