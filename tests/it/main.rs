//! The one integration-test binary (one link of the crate instead of eleven). Each module drives
//! the built `modelsec` binary (or the library) for one capability; `common` holds the helpers.

mod check;
mod check_props;
mod cli;
mod common;
mod fuzz;
mod harness;
mod hostile;
mod interop;
mod interop_cert;
mod logchain;
mod replicas;
mod scan;
mod scan_corpus;
mod scan_fixtures;
mod scan_formats;
mod scan_props;
mod scan_walk;
mod serve;
mod signing;
mod signing_props;
mod syslog;
mod tamper;
mod vectors;
