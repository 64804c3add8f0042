//! Shared plumbing with no knowledge of any capability: safe file I/O, the hardened `.npy`
//! reader and `.npz` archives, and the seeded generator.

pub mod fs;
pub mod npy;
pub mod npz;
pub mod rng;

pub use rng::Rng;
