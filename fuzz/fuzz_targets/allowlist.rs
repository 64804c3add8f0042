//! Any text as a scan allow-list: an allow-list or diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("allow.toml");
    std::fs::write(&p, data).expect("write");
    let _ = modelsec::scan::Allowlist::load(&[p]);
});
