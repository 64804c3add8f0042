//! The pickle machine on arbitrary bytes, in both frame modes: no panic, bounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsec::scan::{Allowlist, input::Mode, pickle};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static P: OnceLock<Allowlist> = OnceLock::new();
    let policy = P.get_or_init(Allowlist::builtin);
    let _ = pickle::scan_bytes(policy, data, Mode::Linear);
    let _ = pickle::scan_bytes(policy, data, Mode::Buffered);
});
