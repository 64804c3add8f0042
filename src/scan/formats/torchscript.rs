//! TorchScript source (`code/` of a `torch.jit.save` archive). `torch.jit.load` compiles it
//! with TorchScript's own compiler: no Python module can be imported, every call is an operator
//! (`torch.*`, `ops.<namespace>.*`) or a method of a class compiled from the same archive. What
//! reaches outside tensor computation is therefore a short list: operators of namespaces that
//! only a native library the application loads provides (custom ops), TorchBind classes from
//! such libraries, operators that read files (`from_file`) and the RPC/collective operators that
//! talk to other processes. Each is reported; everything else is the tensor op set.

use crate::report::{Rule, Severity};
use crate::scan::rules;

/// Operator namespaces libtorch registers itself.
const BUILTIN_NAMESPACES: &[&str] = &[
    "aten",
    "prim",
    "quantized",
    "_quantized",
    "quantized_decomposed",
    "prepacked",
    "profiler",
    "xnnpack",
    "mkldnn",
    "mkldnn_prepacked",
    "onednn",
    "sparse",
    "cuda",
    "_caffe2",
    "inductor",
    "debugprims",
    "rngprims",
    "higher_order",
];

/// Operators (by name, in any builtin namespace or as `torch.<name>`) that leave the process's
/// tensors: (name, what it does, severity).
const IO_OPS: &[(&str, &str, Severity)] = &[
    (
        "from_file",
        "maps a file named at run time into a tensor",
        Severity::High,
    ),
    (
        "rpc_sync",
        "calls a function on another process over RPC",
        Severity::High,
    ),
    (
        "rpc_async",
        "calls a function on another process over RPC",
        Severity::High,
    ),
    (
        "rpc_remote",
        "creates an object on another process over RPC",
        Severity::High,
    ),
];

/// Namespaces of collective communication (process groups reach other machines).
const NETWORK_NAMESPACES: &[&str] = &[
    "c10d",
    "_c10d_functional",
    "c10d_functional",
    "_dist_autograd",
    "dist_autograd",
];

/// One problem found in TorchScript source.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Issue {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub what: String,
}

/// Dotted name chains of `src` (`torch.ops.myns.op`), outside strings and comments.
fn chains(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut cur = String::new();
    let mut after_dot = false;
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if cur.contains('.') && out.len() < 1 << 20 {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    while i < b.len() {
        let c = b[i];
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'"' || c == b'\'' {
            flush(&mut cur, &mut out);
            after_dot = false;
            let triple = b
                .get(i..i + 3)
                .is_some_and(|t| t[0] == c && t[1] == c && t[2] == c);
            i += if triple { 3 } else { 1 };
            while i < b.len() {
                if b[i] == b'\\' {
                    i += 2;
                    continue;
                }
                if triple {
                    if b.get(i..i + 3).is_some_and(|t| t.iter().all(|&x| x == c)) {
                        i += 3;
                        break;
                    }
                } else if b[i] == c || b[i] == b'\n' {
                    i += 1;
                    break;
                }
                i += 1;
            }
            continue;
        }
        if c == b'_' || c.is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            if !after_dot {
                flush(&mut cur, &mut out);
            }
            if after_dot {
                cur.push('.');
            }
            cur.push_str(&src[start..i]);
            after_dot = false;
            continue;
        }
        if c == b'.' && !cur.is_empty() {
            after_dot = true;
        } else if !c.is_ascii_whitespace() || !after_dot {
            flush(&mut cur, &mut out);
            after_dot = false;
        }
        i += 1;
    }
    flush(&mut cur, &mut out);
    out
}

/// What in TorchScript source `src` reaches outside the tensor op set.
pub(crate) fn analyse(src: &str) -> Vec<Issue> {
    let mut out: Vec<Issue> = Vec::new();
    let mut add = |rule: &'static Rule, severity: Severity, what: String| {
        if !out.iter().any(|i| i.what == what) {
            out.push(Issue {
                rule,
                severity,
                what,
            });
        }
    };
    for chain in chains(src) {
        let parts: Vec<&str> = chain.split('.').collect();
        // `ops.NS.op` or `torch.ops.NS.op`
        let ns_op = match parts.as_slice() {
            ["ops", ns, op, ..] => Some((*ns, *op)),
            ["torch", "ops", ns, op, ..] => Some((*ns, *op)),
            _ => None,
        };
        if let Some((ns, op)) = ns_op {
            if NETWORK_NAMESPACES.contains(&ns) {
                add(
                    &rules::TORCHSCRIPT_CODE,
                    Severity::High,
                    format!(
                        "calls `{ns}::{op}`, a collective/distributed operator that talks to other processes"
                    ),
                );
            } else if !BUILTIN_NAMESPACES.contains(&ns) {
                add(
                    &rules::TORCHSCRIPT_CUSTOM_OP,
                    Severity::Medium,
                    format!(
                        "calls the custom operator `{ns}::{op}`, implemented in a native library the loading application must provide"
                    ),
                );
            } else if let Some((_, what, sev)) = IO_OPS.iter().find(|(n, _, _)| *n == op) {
                add(
                    &rules::TORCHSCRIPT_CODE,
                    *sev,
                    format!("calls `{ns}::{op}`, which {what}"),
                );
            }
            continue;
        }
        if let ["torch", op, ..] = parts.as_slice()
            && let Some((_, what, sev)) = IO_OPS.iter().find(|(n, _, _)| n == op)
        {
            add(
                &rules::TORCHSCRIPT_CODE,
                *sev,
                format!("calls `torch.{op}`, which {what}"),
            );
        }
        let class = match parts.as_slice() {
            ["torch", "classes", ns, cls, ..] => Some((*ns, *cls)),
            ["__torch__", "torch", "classes", ns, cls, ..] => Some((*ns, *cls)),
            _ => None,
        };
        if let Some((ns, cls)) = class
            && !BUILTIN_NAMESPACES.contains(&ns)
        {
            add(
                &rules::TORCHSCRIPT_CUSTOM_CLASS,
                Severity::Medium,
                format!(
                    "uses the custom class `torch.classes.{ns}.{cls}`, implemented in a native library the loading application must provide"
                ),
            );
        }
        if parts.first() == Some(&"torch")
            && parts.get(1).is_some_and(|p| *p == "distributed")
            && parts.iter().any(|p| p.starts_with("rpc") || *p == "remote")
        {
            add(
                &rules::TORCHSCRIPT_CODE,
                Severity::High,
                format!("calls `{chain}`, which talks to other processes over RPC"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_torchscript_is_the_tensor_op_set() {
        // As torch.jit.save writes it (silero-vad's shape): torch.*, ops.prim.*, methods.
        let code = "class VAD(Module):\n  __parameters__ = []\n  def forward(self: __torch__.vad.model.VAD,\n    x: Tensor) -> Tensor:\n    _0 = \"torch.ops.evil.op and from_file in a string\"\n    # ops.evil.op in a comment\n    x0 = torch.unsqueeze(x, 0)\n    _1 = ops.prim.device(x0)\n    out = torch.to(torch.cat([x0, x0], 1), _1)\n    ops.prim.RaiseException(_0, \"builtins.ValueError\")\n    y = torch.ops.quantized.linear(out, self.w, 1.0, 0)\n    return torch.slice(out, -1, torch.neg(self.ctx))\n";
        assert_eq!(analyse(code), []);
    }

    #[test]
    fn calls_outside_the_tensor_op_set_are_reported() {
        let code = "def forward(self, x: Tensor) -> Tensor:\n  y = torch.from_file(\"/etc/shadow\", False, 10)\n  z = ops.myvendor.fused_attention(x)\n  w = torch.ops.c10d.allreduce_([x], self.pg)\n  k = torch.classes.myvendor.Cache()\n  return torch.add(y, z)\n";
        let rules: Vec<&str> = analyse(code).iter().map(|i| i.rule.id).collect();
        assert_eq!(
            rules,
            [
                "scan/torchscript-code",
                "scan/torchscript-custom-op",
                "scan/torchscript-code",
                "scan/torchscript-custom-class"
            ]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 256, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(1953719154), ..proptest::test_runner::Config::default() })]
        #[test]
        fn never_panics(t in ".{0,300}") {
            let _ = analyse(&t);
        }
    }
}
