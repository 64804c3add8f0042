//! Any bytes as a seed/baseline rows file (`.npy`, `.csv`, `.jsonl`): rows or an error, never a
//! panic, an overflow or an allocation the bytes do not pay for.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelsec::util::npy::read_f32_rows(data);
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["r.npy", "r.csv", "r.jsonl"] {
        let p = dir.path().join(name);
        std::fs::write(&p, data).expect("write");
        let _ = modelsec::rows::read_rows(&p);
    }
});
