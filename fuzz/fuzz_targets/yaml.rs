//! Any bytes through the YAML reader: an error or documents, never a panic or unbounded growth.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = modelsec::check::yaml::parse(text);
    }
});
