//! `.npz` seed archives (the zip directory, stored and deflated members, every `.npy` member
//! as a whole typed array) on arbitrary bytes: errors, never panics or huge allocations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsec::util::{npy, npz};

fuzz_target!(|data: &[u8]| {
    let _ = npz::read(data, 1 << 24);
    let _ = npy::read_array(data);
});
