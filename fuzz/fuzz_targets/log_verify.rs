//! Any bytes as an event log: `log verify` reports findings, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("events.jsonl");
    std::fs::write(&p, data).expect("write");
    let _ = modelsec::monitor::log::verify(&[p]);
});
