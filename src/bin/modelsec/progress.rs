//! Progress bars on stderr, drawn only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use modelsec::{scan, signing};
use std::io::IsTerminal;

fn bar(template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Bytes hashed.
pub struct Bytes(ProgressBar);

impl Bytes {
    pub fn new() -> Self {
        Bytes(bar(
            "hashing {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        ))
    }
}

impl signing::Progress for Bytes {
    fn add_total(&self, bytes: u64) {
        self.0.inc_length(bytes);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Files scanned.
pub struct Files(ProgressBar);

impl Files {
    pub fn new() -> Self {
        Files(bar("scanning {bar:30} {pos}/{len} files {wide_msg}"))
    }
}

impl scan::ScanProgress for Files {
    fn start(&self, files: u64) {
        self.0.set_length(files);
    }
    fn file_done(&self, path: &str) {
        self.0.inc(1);
        // A file name is untrusted text.
        self.0
            .set_message(modelsec::report::escape::text(path).into_owned());
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
