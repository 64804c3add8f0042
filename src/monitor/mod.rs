//! `serve`, `proxy` and `log verify`: a runtime monitor that detects misuse of a deployed model
//! and writes a verifiable event log.

pub mod config;
pub mod detect;
pub mod event;
pub mod export;
pub mod llm;
pub mod log;
pub mod rules;
pub mod server;
pub mod state;
