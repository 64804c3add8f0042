//! The opcode loop: CPython's `load_*` functions over symbolic values.

use super::super::allowlist::{Allowlist, Verdict, is_dunder_path};
use super::super::compat;
use super::super::input::{Input, ReadError};
use super::super::rules;
use super::text::{
    KEEP_STR, bytes_as_str, invalid, long_value, parse_decimal, raw_unicode_escape, str_value,
    unquote_string, utf8_value,
};
use super::value::{Coll, Global, V, obj, tuple};
use super::{End, GlobalRef, Loader, Options, Outcome, RawFinding};
use crate::report::{Rule, Severity};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Instant;

/// Stack entries (across all marks) before the resource limit trips.
const MAX_STACK: usize = 4 << 20;
/// Memo entries of plain data kept; beyond this, reads of forgotten slots are unknown values.
const MAX_MEMO: usize = 2 << 20;
/// How often (in opcodes) the deadline is looked at.
const DEADLINE_EVERY: u64 = 1 << 16;

impl From<ReadError> for End {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Eof => End::Truncated,
            ReadError::Io(e) => End::Io(e.to_string()),
        }
    }
}

/// Scans pickles against a policy.
pub struct Machine<'p> {
    pub(super) policy: &'p Allowlist,
    pub(super) opts: Options,
    /// (subject, rule id) pairs already reported by [`Machine::find_once`].
    seen: HashSet<(String, &'static str)>,
    /// Verdicts of the globals imported so far (each is judged and reported once).
    verdicts: HashMap<(String, String), Verdict>,
    /// Globals the pickle calls or instantiates.
    called: HashSet<(String, String)>,
    pub(super) out: Outcome,
    pub(super) nest: u32,
}

/// The globals TorchScript's C++ unpickler resolves itself (`Unpickler::readGlobal` in
/// torch/csrc/jit/serialization/unpickler.cpp); nothing of Python is imported for them.
const TORCHSCRIPT_GLOBALS: &[(&str, &str)] = &[
    ("torch.jit._pickle", "build_intlist"),
    ("torch.jit._pickle", "build_tensorlist"),
    ("torch.jit._pickle", "build_doublelist"),
    ("torch.jit._pickle", "build_boollist"),
    ("torch.jit._pickle", "build_tensor_from_id"),
    ("torch.jit._pickle", "restore_type_tag"),
    ("__main__", "TensorID"),
    ("__main__", "IntList"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_qtensor"),
    ("torch._utils", "_rebuild_sparse_tensor"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("builtins", "complex"),
    ("collections", "OrderedDict"),
    ("torch", "device"),
];

/// Namespaces of the TorchBind classes libtorch itself registers (quantized packed weights,
/// XNNPACK and oneDNN prepacked ops); any other `__torch__.torch.classes.NS` needs a native
/// library the application loads.
const TORCHBIND_BUILTIN: &[&str] = &["quantized", "xnnpack", "mkldnn", "onednn", "sparse"];

/// Python special names that change how an object behaves when set on it (BUILD through
/// `setattr`, or read back by library code): setting one is never plain data.
const SPECIAL_ATTRS: &[&str] = &[
    "__class__",
    "__dict__",
    "__reduce__",
    "__reduce_ex__",
    "__setstate__",
    "__getstate__",
    "__getattr__",
    "__getattribute__",
    "__setattr__",
    "__delattr__",
    "__init__",
    "__new__",
    "__call__",
    "__del__",
    "__module__",
    "__qualname__",
    "__globals__",
    "__code__",
    "__closure__",
    "__defaults__",
    "__kwdefaults__",
    "__builtins__",
    "__import__",
    "__loader__",
    "__spec__",
    "__wrapped__",
    "__get__",
    "__set__",
    "__delete__",
    "__set_name__",
    "__init_subclass__",
    "__class_getitem__",
    "__bases__",
    "__mro__",
    "__subclasses__",
    "__slots__",
    "__weakref__",
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__hash__",
    "__bool__",
    "__len__",
    "__iter__",
    "__next__",
    "__contains__",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__missing__",
    "__enter__",
    "__exit__",
    "__str__",
    "__repr__",
    "__format__",
    "__bytes__",
    "__index__",
    "__int__",
    "__float__",
    "__complex__",
    "__fspath__",
    "__instancecheck__",
    "__subclasscheck__",
    "__copy__",
    "__deepcopy__",
    "__getnewargs__",
    "__getnewargs_ex__",
    "__await__",
    "__aiter__",
    "__anext__",
    "__aenter__",
    "__aexit__",
];

/// joblib < 0.10 array wrappers: joblib's unpickler calls their `read()` at BUILD, which loads
/// the file named by the `filename` attribute from the pickle's directory:
/// `NDArrayWrapper` with `np.load(…, allow_pickle=True)` (a second, pickle-capable load),
/// `ZNDArrayWrapper` as zlib-compressed raw array bytes (data only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wrapper {
    Nd,
    Znd,
}

pub(super) fn joblib_wrapper(module: &str, name: &str) -> Option<Wrapper> {
    if !matches!(
        module,
        "joblib.numpy_pickle" | "sklearn.externals.joblib.numpy_pickle"
    ) {
        return None;
    }
    match name {
        "NDArrayWrapper" => Some(Wrapper::Nd),
        "ZNDArrayWrapper" => Some(Wrapper::Znd),
        _ => None,
    }
}

/// Whether setting attribute `key` on an instance changes behaviour rather than data.
pub(super) fn is_special_attr(key: &str) -> bool {
    SPECIAL_ATTRS.contains(&key)
}

impl<'p> Machine<'p> {
    /// A machine judging imports with `policy`.
    pub fn new(policy: &'p Allowlist, opts: Options) -> Self {
        Machine {
            policy,
            opts,
            seen: HashSet::new(),
            verdicts: HashMap::new(),
            called: HashSet::new(),
            out: Outcome::default(),
            nest: 0,
        }
    }

    /// Run one pickle (up to and including STOP) from `input`.
    pub fn run(mut self, input: &mut Input<'_>) -> (Outcome, End) {
        let end = self.run_one(input).err().unwrap_or(End::Stop);
        for f in &mut self.out.findings {
            if let Some(g) = &mut f.global {
                g.called = self.called.contains(&(g.module.clone(), g.name.clone()));
            }
        }
        (self.out, end)
    }

    pub(super) fn find(
        &mut self,
        rule: &'static Rule,
        sev: Option<Severity>,
        offset: u64,
        msg: String,
    ) {
        self.out.findings.push(RawFinding {
            rule,
            severity: sev,
            message: msg,
            offset,
            global: None,
        });
    }

    fn find_global(&mut self, rule: &'static Rule, offset: u64, msg: String, m: &str, n: &str) {
        self.out.findings.push(RawFinding {
            rule,
            severity: None,
            message: msg,
            offset,
            global: Some(GlobalRef {
                module: m.to_string(),
                name: n.to_string(),
                called: false,
            }),
        });
    }

    /// Report a finding once per (subject, rule) per stream.
    pub(super) fn find_once(&mut self, rule: &'static Rule, key: &str, offset: u64, msg: String) {
        if !self.seen.insert((key.to_string(), rule.id)) {
            return;
        }
        self.find(rule, None, offset, msg);
    }

    /// What TorchScript's own unpickler makes of `module.name`, when it resolves it itself.
    fn torchscript_verdict(&mut self, m: &str, n: &str, offset: u64) -> Option<Verdict> {
        if m == "__torch__" || m.starts_with("__torch__.") {
            let full = format!("{m}.{n}");
            if let Some(rest) = m.strip_prefix("__torch__.torch.classes.") {
                let ns = rest.split('.').next().unwrap_or(rest);
                if !TORCHBIND_BUILTIN.contains(&ns) {
                    self.find_once(
                        &rules::TORCHSCRIPT_CUSTOM_CLASS,
                        &full,
                        offset,
                        format!("the TorchScript archive instantiates the custom class `{full}`, implemented in a native library the loading application must provide (its `__setstate__` runs native code)"),
                    );
                }
            } else if self.out.script_classes.len() < 4096 {
                self.out.script_classes.push(full);
            }
            return Some(Verdict::Allowed { call: true });
        }
        TORCHSCRIPT_GLOBALS
            .iter()
            .any(|(a, b)| *a == m && *b == n)
            .then_some(Verdict::Allowed { call: true })
    }

    fn import(&mut self, module: &str, name: &str, proto: u8, offset: u64, how: &str) -> V {
        let (mut m, mut n) = (module.to_string(), name.to_string());
        let mut mapped = String::new();
        if proto < 3 && self.opts.loader == Loader::Python {
            if let Some((_, (m2, n2))) = compat::NAME_MAPPING
                .iter()
                .find(|((a, b), _)| *a == module && *b == name)
            {
                mapped = format!(" (Python 2 name {module}.{name}, mapped by the loader)");
                (m, n) = (m2.to_string(), n2.to_string());
            } else if let Some((_, m2)) = compat::IMPORT_MAPPING.iter().find(|(a, _)| *a == module)
            {
                mapped = format!(" (Python 2 module {module}, mapped by the loader)");
                m = m2.to_string();
            }
        }
        let key = (m.clone(), n.clone());
        if let Some(verdict) = self.verdicts.get(&key) {
            return V::Global(Rc::new(Global {
                module: m,
                name: n,
                verdict: verdict.clone(),
            }));
        }
        let verdict = match self.opts.loader {
            Loader::TorchScript => self.torchscript_verdict(&m, &n, offset),
            // The wrappers are judged by the file their BUILD names (see `build`).
            Loader::Python => joblib_wrapper(&m, &n).map(|_| Verdict::Allowed { call: true }),
        }
        .unwrap_or_else(|| self.policy.judge(&m, &n));
        self.verdicts.insert(key, verdict.clone());
        let full = format!("{m}.{n}");
        if self.out.imports.len() < 4096 {
            self.out.imports.push(full.clone());
        }
        // `find_class` imports the module by name and walks attributes through the *name*
        // only (dotted names, protocol 4+); a dunder module name is just a module.
        let walk = is_dunder_path(&n) || n.contains('.');
        if walk && !matches!(verdict, Verdict::Allowed { .. }) {
            let msg = format!(
                "{how} imports `{m}` `{n}`{mapped}: the loader resolves this by walking attributes{}",
                if is_dunder_path(&n) {
                    " through dunder names"
                } else {
                    ""
                }
            );
            self.find_global(&rules::ATTRIBUTE_WALK, offset, msg, &m, &n);
        }
        match &verdict {
            Verdict::Allowed { .. } => {}
            Verdict::Dangerous(why) => {
                let msg = format!("{how} imports `{full}`{mapped}: {why}");
                self.find_global(&rules::DANGEROUS_GLOBAL, offset, msg, &m, &n);
            }
            Verdict::Unknown if walk => {}
            Verdict::Unknown => {
                let profile = match self.policy.profile_allowing(&m, &n) {
                    Some(p) => format!(
                        "; the shipped, reviewed profile `{p}` allows it: pass --profile {p}"
                    ),
                    None => String::new(),
                };
                let msg = format!(
                    "{how} imports `{full}`{mapped}, which is not on the allow-list{profile}"
                );
                self.find_global(&rules::UNKNOWN_GLOBAL, offset, msg, &m, &n);
            }
        }
        V::Global(Rc::new(Global {
            module: m,
            name: n,
            verdict,
        }))
    }

    /// A call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST) of `callee` with `args`; `init` says
    /// whether the class's constructor runs (REDUCE and INST/OBJ with arguments call
    /// `cls(*args)`; NEWOBJ and `copyreg._reconstructor` only `cls.__new__`).
    fn call(&mut self, callee: V, args: V, offset: u64, op: &str, init: bool) -> V {
        match callee {
            V::Global(g) => {
                self.called.insert((g.module.clone(), g.name.clone()));
                if init
                    && joblib_wrapper(&g.module, &g.name).is_some()
                    && !matches!(&args, V::Tuple(t, _) if t.is_empty())
                {
                    let full = g.full();
                    let why = match self.policy.judge(&g.module, &g.name) {
                        Verdict::Dangerous(why) => why,
                        _ => String::new(),
                    };
                    self.find_global(&rules::DANGEROUS_GLOBAL, offset, format!("{op} calls `{full}(…)` with arguments from the pickle, which choose the file it loads: {why}"), &g.module, &g.name);
                }
                if init
                    && matches!(g.verdict, Verdict::Allowed { call: true })
                    && !self.policy.init_allowed(&g.module, &g.name)
                {
                    let full = g.full();
                    self.find_once(
                        &rules::COMPUTED_CALL,
                        &format!("init:{full}"),
                        offset,
                        format!("{op} calls `{full}(…)` with arguments from the pickle, running its constructor; the allow-list permits only creating it empty (as its own pickles do), because the constructor can read files or train"),
                    );
                }
                if let Verdict::Allowed { call: false } = g.verdict {
                    let full = g.full();
                    self.find_once(
                        &rules::COMPUTED_CALL,
                        &format!("valueonly:{full}"),
                        offset,
                        format!("{op} calls `{full}`, which the allow-list permits only as a value, never as a call"),
                    );
                }
                // `copyreg._reconstructor(cls, base, state)` instantiates `cls`: judge it as a call of cls.
                if g.module == "copyreg"
                    && g.name == "_reconstructor"
                    && let V::Tuple(a, _) = &args
                    && let Some(V::Global(cls)) = a.first()
                {
                    return self.call(V::Global(cls.clone()), V::Unknown, offset, op, false);
                }
                obj(g, args)
            }
            other => {
                let what = match &other {
                    V::Obj(o) => format!("the result of calling `{}`", o.class.full()),
                    v => v.kind().to_string(),
                };
                self.find_once(
                    &rules::COMPUTED_CALL,
                    &format!("call:{what}"),
                    offset,
                    format!("{op} calls {what}; only allow-listed globals may be called"),
                );
                V::Unknown
            }
        }
    }

    pub(super) fn run_one(&mut self, inp: &mut Input<'_>) -> Result<(), End> {
        let mut stack: Vec<V> = Vec::new();
        let mut meta: Vec<Vec<V>> = Vec::new();
        // Emptied mark stacks, reused so that APPENDS batches do not reallocate.
        let mut spare: Vec<Vec<V>> = Vec::new();
        // Values held in the stacks saved by MARK (the metastack), for the stack limit.
        let mut depth_total: usize = 0;
        let mut memo: HashMap<u64, V> = HashMap::new();
        let mut memo_dropped = false;
        let mut proto: u8 = 0;
        let mut seen_proto = false;

        macro_rules! pop {
            () => {
                match stack.pop() {
                    Some(v) => v,
                    None => return invalid("stack underflow (pop from an empty stack)"),
                }
            };
        }
        macro_rules! top {
            () => {
                match stack.last() {
                    Some(v) => v.clone(),
                    None => return invalid("stack underflow (empty stack)"),
                }
            };
        }
        macro_rules! pop_mark {
            () => {{
                match meta.pop() {
                    Some(prev) => {
                        // The restored stack leaves the metastack: it no longer counts there.
                        depth_total = depth_total.saturating_sub(prev.len());
                        std::mem::replace(&mut stack, prev)
                    }
                    None => return invalid("MARK expected but the metastack is empty"),
                }
            }};
        }

        loop {
            if stack.len() + depth_total > MAX_STACK {
                return Err(End::Limit(format!(
                    "more than {MAX_STACK} values on the pickle stack"
                )));
            }
            if self.out.ops.is_multiple_of(DEADLINE_EVERY)
                && let Some(d) = self.opts.deadline
                && Instant::now() >= d
            {
                return Err(End::Limit(
                    "the file's time budget ran out (--timeout)".into(),
                ));
            }
            let at = inp.pos();
            let op = inp.byte()?;
            self.out.ops += 1;
            match op {
                b'(' => {
                    depth_total += stack.len();
                    let fresh = spare.pop().unwrap_or_default();
                    meta.push(std::mem::replace(&mut stack, fresh));
                }
                b'.' => {
                    if let Some(v) = stack.last() {
                        self.out.top_int = v.as_int();
                        if let V::Tuple(t, _) = v {
                            self.out.top_tuple = t
                                .iter()
                                .take(8)
                                .map(|x| match x {
                                    V::Str(s) => s.to_string(),
                                    V::Global(g) => g.full(),
                                    V::Int(i) => i.to_string(),
                                    other => other.kind().to_string(),
                                })
                                .collect();
                        }
                    }
                    return Ok(());
                }
                b'0' => {
                    if stack.pop().is_none() {
                        // CPython pops a mark when the stack is empty.
                        pop_mark!();
                    }
                }
                b'1' => {
                    pop_mark!();
                }
                b'2' => {
                    let v = top!();
                    stack.push(v);
                }
                b'F' => {
                    let l = inp.line()?;
                    let ok = l
                        .as_deref()
                        .and_then(|l| std::str::from_utf8(l).ok())
                        .is_some_and(|s| s.trim().parse::<f64>().is_ok());
                    if !ok {
                        return invalid(format!("FLOAT at {at}: not a float"));
                    }
                    stack.push(V::Float);
                }
                b'I' => {
                    let l = inp.line()?.unwrap_or_default();
                    let v = match &l[..] {
                        b"00" => V::Bool(false),
                        b"01" => V::Bool(true),
                        _ => match std::str::from_utf8(&l)
                            .ok()
                            .map(|s| s.trim().parse::<i128>())
                        {
                            Some(Ok(i)) => V::Int(i),
                            _ if l.iter().all(|b| b.is_ascii_digit() || *b == b'-')
                                && !l.is_empty() =>
                            {
                                V::BigInt
                            }
                            _ => return invalid(format!("INT at {at}: not an integer")),
                        },
                    };
                    stack.push(v);
                }
                b'J' => {
                    let b = inp.array::<4>()?;
                    stack.push(V::Int(i32::from_le_bytes(b) as i128));
                }
                b'K' => {
                    let b = inp.array::<1>()?;
                    stack.push(V::Int(b[0] as i128));
                }
                b'M' => {
                    let b = inp.array::<2>()?;
                    stack.push(V::Int(u16::from_le_bytes(b) as i128));
                }
                b'L' => {
                    let l = inp.line()?.unwrap_or_default();
                    let s = String::from_utf8_lossy(&l);
                    let s = s.trim_end_matches('L');
                    let v = match s.parse::<i128>() {
                        Ok(i) => V::Int(i),
                        Err(_)
                            if !s.is_empty()
                                && s.trim_start_matches('-')
                                    .bytes()
                                    .all(|b| b.is_ascii_digit()) =>
                        {
                            V::BigInt
                        }
                        Err(_) => return invalid(format!("LONG at {at}: not an integer")),
                    };
                    stack.push(v);
                }
                b'N' => stack.push(V::None),
                b'P' => {
                    inp.line()?;
                    stack.push(V::PersId);
                }
                b'Q' => {
                    let pid = pop!();
                    self.persistent_id(&pid);
                    stack.push(V::PersId);
                }
                b'R' => {
                    let args = pop!();
                    let f = pop!();
                    let r = self.call(f, args, at, "REDUCE", true);
                    stack.push(r);
                }
                b'S' => {
                    let l = inp.line()?;
                    match l.as_deref().map(unquote_string) {
                        Some(Ok(s)) => stack.push(str_value(s)),
                        Some(Err(e)) => return invalid(format!("STRING at {at}: {e}")),
                        None => stack.push(V::LongStr),
                    }
                }
                b'T' => {
                    let n = i32::from_le_bytes(inp.array::<4>()?);
                    if n < 0 {
                        return invalid(format!("BINSTRING at {at}: negative length"));
                    }
                    let d = inp.data(n as u64, KEEP_STR)?;
                    stack.push(bytes_as_str(d));
                }
                b'U' => {
                    let n = inp.array::<1>()?[0];
                    let d = inp.data(n as u64, KEEP_STR)?;
                    stack.push(bytes_as_str(d));
                }
                b'V' => {
                    let l = inp.line()?;
                    stack.push(match l {
                        Some(l) => match raw_unicode_escape(&l) {
                            Some(s) => str_value(s),
                            None => return invalid(format!("UNICODE at {at}: bad escape")),
                        },
                        None => V::LongStr,
                    });
                }
                b'X' => {
                    let n = u32::from_le_bytes(inp.array::<4>()?) as u64;
                    let d = inp.data(n, KEEP_STR)?;
                    stack.push(utf8_value(d, at)?);
                }
                0x8c => {
                    let n = inp.array::<1>()?[0] as u64;
                    let d = inp.data(n, KEEP_STR)?;
                    stack.push(utf8_value(d, at)?);
                }
                0x8d => {
                    let n = u64::from_le_bytes(inp.array::<8>()?);
                    let d = inp.data(n, KEEP_STR)?;
                    stack.push(utf8_value(d, at)?);
                }
                b'B' => {
                    let n = u32::from_le_bytes(inp.array::<4>()?) as u64;
                    inp.skip(n)?;
                    stack.push(V::Bytes);
                }
                b'C' => {
                    let n = inp.array::<1>()?[0] as u64;
                    inp.skip(n)?;
                    stack.push(V::Bytes);
                }
                0x8e | 0x96 => {
                    let n = u64::from_le_bytes(inp.array::<8>()?);
                    inp.skip(n)?;
                    stack.push(V::Bytes);
                }
                b'a' => {
                    let v = pop!();
                    let target = top!();
                    self.store_into(&target, std::iter::once(v), at, "APPEND", false);
                }
                b'e' => {
                    let mut items = pop_mark!();
                    let target = top!();
                    self.store_into(&target, items.drain(..), at, "APPENDS", false);
                    if spare.len() < 16 {
                        spare.push(items);
                    }
                }
                b'b' => {
                    let state = pop!();
                    let target = top!();
                    self.build(&target, &state, at, inp)?;
                }
                b'c' => {
                    let m = inp.line()?;
                    let n = inp.line()?;
                    let (Some(m), Some(n)) = (m, n) else {
                        return invalid(format!("GLOBAL at {at}: name longer than 64 KiB"));
                    };
                    let (Ok(m), Ok(n)) = (String::from_utf8(m), String::from_utf8(n)) else {
                        return invalid(format!("GLOBAL at {at}: name is not UTF-8"));
                    };
                    let g = self.import(&m, &n, proto, at, "GLOBAL");
                    stack.push(g);
                }
                0x93 => {
                    let name = pop!();
                    let module = pop!();
                    match (module.as_str(), name.as_str()) {
                        (Some(m), Some(n)) => {
                            let (m, n) = (m.to_string(), n.to_string());
                            let g = self.import(&m, &n, proto, at, "STACK_GLOBAL");
                            stack.push(g);
                        }
                        _ => {
                            self.find(
                                &rules::COMPUTED_IMPORT,
                                None,
                                at,
                                format!(
                                    "STACK_GLOBAL takes its module from {} and its name from {}; only string literals can be judged",
                                    module.describe(),
                                    name.describe()
                                ),
                            );
                            stack.push(V::Unknown);
                        }
                    }
                }
                b'i' => {
                    let m = inp.line()?;
                    let n = inp.line()?;
                    let (Some(m), Some(n)) = (m, n) else {
                        return invalid(format!("INST at {at}: name longer than 64 KiB"));
                    };
                    let (Ok(m), Ok(n)) = (String::from_utf8(m), String::from_utf8(n)) else {
                        return invalid(format!("INST at {at}: name is not UTF-8"));
                    };
                    let args = pop_mark!();
                    let g = self.import(&m, &n, proto, at, "INST");
                    let init = !args.is_empty();
                    let r = self.call(g, tuple(args), at, "INST", init);
                    stack.push(r);
                }
                b'o' => {
                    let mut items = pop_mark!();
                    if items.is_empty() {
                        return invalid(format!("OBJ at {at}: no class on the stack"));
                    }
                    let cls = items.remove(0);
                    let init = !items.is_empty();
                    let r = self.call(cls, tuple(items), at, "OBJ", init);
                    stack.push(r);
                }
                0x81 => {
                    let args = pop!();
                    let cls = pop!();
                    let r = self.call(cls, args, at, "NEWOBJ", false);
                    stack.push(r);
                }
                0x92 => {
                    let _kwargs = pop!();
                    let args = pop!();
                    let cls = pop!();
                    let r = self.call(cls, args, at, "NEWOBJ_EX", false);
                    stack.push(r);
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => inp.array::<1>()?[0] as u32,
                        0x83 => u16::from_le_bytes(inp.array::<2>()?) as u32,
                        _ => u32::from_le_bytes(inp.array::<4>()?),
                    };
                    self.find(
                        &rules::EXTENSION_CODE,
                        None,
                        at,
                        format!("EXT opcode imports extension code {code} from the loader's copyreg registry"),
                    );
                    stack.push(V::Unknown);
                }
                b'd' => {
                    let items = pop_mark!();
                    let mut c = Coll::default();
                    for v in items {
                        c.push(v);
                    }
                    stack.push(V::Dict(Rc::new(RefCell::new(c))));
                }
                b'}' => stack.push(V::Dict(Rc::default())),
                b'l' => {
                    let items = pop_mark!();
                    let mut c = Coll::default();
                    for v in items {
                        c.push(v);
                    }
                    stack.push(V::List(Rc::new(RefCell::new(c))));
                }
                b']' => stack.push(V::List(Rc::default())),
                b't' => {
                    let items = pop_mark!();
                    stack.push(tuple(items));
                }
                b')' => stack.push(V::Tuple(Rc::new([]), 1)),
                0x85 => {
                    let a = pop!();
                    stack.push(tuple(vec![a]));
                }
                0x86 => {
                    let b = pop!();
                    let a = pop!();
                    stack.push(tuple(vec![a, b]));
                }
                0x87 => {
                    let c = pop!();
                    let b = pop!();
                    let a = pop!();
                    stack.push(tuple(vec![a, b, c]));
                }
                0x88 => stack.push(V::Bool(true)),
                0x89 => stack.push(V::Bool(false)),
                0x8a => {
                    let n = inp.array::<1>()?[0] as u64;
                    let d = inp.data(n, 16)?;
                    stack.push(long_value(d));
                }
                0x8b => {
                    let n = i32::from_le_bytes(inp.array::<4>()?);
                    if n < 0 {
                        return invalid(format!("LONG4 at {at}: negative length"));
                    }
                    let d = inp.data(n as u64, 16)?;
                    stack.push(long_value(d));
                }
                b'G' => {
                    inp.array::<8>()?;
                    stack.push(V::Float);
                }
                b's' => {
                    let v = pop!();
                    let k = pop!();
                    let target = top!();
                    self.store_into(&target, [k, v].into_iter(), at, "SETITEM", true);
                }
                b'u' => {
                    let items = pop_mark!();
                    if items.len() % 2 == 1 {
                        return invalid(format!("SETITEMS at {at}: odd number of items"));
                    }
                    let target = top!();
                    self.store_into(&target, items.into_iter(), at, "SETITEMS", true);
                }
                0x8f => stack.push(V::Set),
                0x90 => {
                    let _items = pop_mark!();
                    let target = top!();
                    self.add_items(&target, at);
                }
                0x91 => {
                    pop_mark!();
                    stack.push(V::Set);
                }
                b'g' | b'h' | b'j' => {
                    let id = match op {
                        b'g' => parse_decimal(&inp.line()?.unwrap_or_default())
                            .ok_or(())
                            .or_else(|_| invalid(format!("GET at {at}: bad memo key")))?,
                        b'h' => inp.array::<1>()?[0] as u64,
                        _ => u32::from_le_bytes(inp.array::<4>()?) as u64,
                    };
                    match memo.get(&id) {
                        Some(v) => stack.push(v.clone()),
                        None if memo_dropped => stack.push(V::Unknown),
                        None => {
                            return invalid(format!("memo key {id} read at {at} was never stored"));
                        }
                    }
                }
                b'p' | b'q' | b'r' | 0x94 => {
                    let id = match op {
                        b'p' => parse_decimal(&inp.line()?.unwrap_or_default())
                            .ok_or(())
                            .or_else(|_| invalid(format!("PUT at {at}: bad memo key")))?,
                        b'q' => inp.array::<1>()?[0] as u64,
                        b'r' => u32::from_le_bytes(inp.array::<4>()?) as u64,
                        _ => memo.len() as u64,
                    };
                    let v = top!();
                    let important = matches!(
                        v,
                        V::Global(_) | V::Obj(_) | V::Str(_) | V::Dict(_) | V::List(_)
                    );
                    if memo.len() < MAX_MEMO || important && memo.len() < MAX_MEMO * 2 {
                        memo.insert(id, v);
                    } else {
                        memo_dropped = true;
                        memo.remove(&id);
                    }
                }
                0x80 => {
                    let v = inp.array::<1>()?[0];
                    if v > 5 {
                        return invalid(format!("unsupported pickle protocol {v} at {at}"));
                    }
                    if seen_proto && v != proto {
                        self.find_once(
                            &rules::FRAME_DIVERGENCE,
                            "proto",
                            at,
                            format!("PROTO {v} at {at} changes the protocol mid-stream (was {proto}); it changes how names are mapped"),
                        );
                    }
                    seen_proto = true;
                    proto = v;
                }
                0x95 => {
                    let n = u64::from_le_bytes(inp.array::<8>()?);
                    inp.begin_frame(n)?;
                }
                0x97 => stack.push(V::Buffer),
                0x98 => {
                    top!();
                }
                other => {
                    return invalid(format!("invalid opcode 0x{other:02x} at offset {at}"));
                }
            }
        }
    }
}
