//! Any text as `monitor.toml`: a config or diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = modelsec::monitor::config::Config::parse(text);
    }
});
