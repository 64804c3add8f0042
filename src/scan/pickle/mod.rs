//! A static pickle machine: CPython's unpickler (protocols 0–5, stack, metastack, memo, frames)
//! run over symbolic values. Nothing is imported or called; every import and every call is
//! judged against the [`Allowlist`], and what the pickle does with imported objects is tracked
//! (calls of call results, BUILD/SETITEM on classes and modules, computed STACK_GLOBAL operands).
//!
//! Two loaders are modelled ([`Loader`]): Python's `pickle` (and everything built on it: torch,
//! joblib, numpy), and TorchScript's C++ unpickler, which resolves a fixed set of globals itself
//! and `__torch__.…` names against the TorchScript code shipped in the archive.

mod effects;
mod machine;
#[cfg(test)]
mod tests;
mod text;
mod value;

use super::allowlist::Allowlist;
use super::input::{Input, Mode};
use crate::report::{Rule, Severity};
use std::time::Instant;

pub use machine::Machine;

/// Which unpickler the bytes are meant for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Loader {
    /// Python's `pickle` (torch.load, joblib, numpy, pandas …): imports whatever it names.
    #[default]
    Python,
    /// TorchScript's C++ unpickler (`torch.jit.load`): never imports Python; resolves
    /// `__torch__.…` names to classes compiled from the archive's `code/`.
    TorchScript,
}

/// A finding from the pickle machine, located by offset in its stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFinding {
    /// Rule.
    pub rule: &'static Rule,
    /// Severity override.
    pub severity: Option<Severity>,
    /// Message.
    pub message: String,
    /// Offset in the stream.
    pub offset: u64,
    /// The global it is about, when it is about one.
    pub global: Option<GlobalRef>,
}

/// A global as a finding names it: what an allow-list entry would need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalRef {
    /// Module, after Python 2 name mapping.
    pub module: String,
    /// Qualified name in the module.
    pub name: String,
    /// Whether the pickle calls it (or instantiates it); `false` when it is only a value.
    pub called: bool,
}

/// A storage reference from a PyTorch persistent id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageRef {
    /// Key (the `data/<key>` member or legacy storage key).
    pub key: String,
    /// Storage class name, e.g. `torch.FloatStorage` or `torch.UntypedStorage`.
    pub class: String,
    /// Declared element count (bytes for untyped storages).
    pub numel: u64,
}

/// How one pickle ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Reached STOP.
    Stop,
    /// The data ended before STOP.
    Truncated,
    /// The stream is not a valid pickle from here on (message says why).
    Invalid(String),
    /// I/O or decompression error.
    Io(String),
    /// A resource limit stopped the analysis.
    Limit(String),
}

/// What scanning one pickle established.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings, in stream order.
    pub findings: Vec<RawFinding>,
    /// Storage references (PyTorch persistent ids).
    pub storages: Vec<StorageRef>,
    /// Every global imported, as `module.name` (after mapping), for reporting.
    pub imports: Vec<String>,
    /// TorchScript classes the pickle instantiates (`__torch__.…`), as qualified names.
    pub script_classes: Vec<String>,
    /// Files beside the pickle that its loader loads too (joblib < 0.10 `NDArrayWrapper`:
    /// `np.load(<dir>/<name>, allow_pickle=True)`), by plain file name.
    pub side_files: Vec<String>,
    /// Opcodes executed.
    pub ops: u64,
    /// Value at STOP when it is a small integer (legacy torch counts and magic numbers).
    pub top_int: Option<i128>,
    /// Value at STOP when it is a short tuple: its items as text (strings, `module.name` of
    /// globals, integers); used to walk legacy torch tar members.
    pub top_tuple: Vec<String>,
}

/// How a pickle is read: which loader, and until when.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// The unpickler the bytes are meant for.
    pub loader: Loader,
    /// Stop with [`End::Limit`] after this instant (the file's time budget).
    pub deadline: Option<Instant>,
}

/// The pickles of one stream.
#[derive(Debug)]
pub struct Stream {
    /// One outcome per pickle read (the expected ones, then any trailing ones).
    pub outcomes: Vec<Outcome>,
    /// How the expected pickles ended.
    pub end: End,
    /// Offset of data after the expected pickles, if any.
    pub trailing: Option<u64>,
}

/// Trailing bytes this short that are only whitespace (a newline after STOP, as numpy's own
/// test files have) are not data: `pickle.load` on them raises at once, so nothing can run.
const MAX_TRAILING_WHITESPACE: usize = 64;

/// Scan `pickles` consecutive pickles from `input` (legacy torch reads several), then any data
/// after them: a second `pickle.load` on the same stream would run it, so it is scanned too.
pub fn scan_stream(
    policy: &Allowlist,
    opts: Options,
    input: &mut Input<'_>,
    pickles: usize,
) -> Stream {
    let mut outcomes = Vec::new();
    for _ in 0..pickles {
        let (o, end) = Machine::new(policy, opts).run(input);
        outcomes.push(o);
        if end != End::Stop {
            return Stream {
                outcomes,
                end,
                trailing: None,
            };
        }
    }
    let trailing = match input.rest_is_whitespace(MAX_TRAILING_WHITESPACE) {
        Ok(true) => None,
        Ok(false) => Some(input.pos()),
        Err(e) => {
            return Stream {
                outcomes,
                end: e.into(),
                trailing: None,
            };
        }
    };
    if trailing.is_some() {
        for _ in 0..64 {
            let (o, end) = Machine::new(policy, opts).run(input);
            outcomes.push(o);
            if end != End::Stop || input.at_end().unwrap_or(true) {
                break;
            }
        }
    }
    Stream {
        outcomes,
        end: End::Stop,
        trailing,
    }
}

/// Scan a byte slice as one pickle stream for Python's loader (tests, fuzzing).
pub fn scan_bytes(policy: &Allowlist, data: &[u8], mode: Mode) -> (Stream, Option<u64>) {
    let mut r: &[u8] = data;
    let mut input = Input::new(&mut r, mode);
    let s = scan_stream(policy, Options::default(), &mut input, 1);
    (s, input.crossing)
}
