//! Shared plumbing with no knowledge of any capability: safe file I/O, the hardened `.npy`
//! header reader and the seeded generator.

pub mod fs;
pub mod npy;
pub mod rng;

pub use rng::Rng;
