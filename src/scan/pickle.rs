//! A static pickle machine: CPython's unpickler (protocols 0–5, stack, metastack, memo, frames)
//! run over symbolic values. Nothing is imported or called; every import and every call is
//! judged against the [`Allowlist`], and what the pickle does with imported objects is tracked
//! (calls of call results, BUILD/SETITEM on classes and modules, computed STACK_GLOBAL operands).

use super::allowlist::{Allowlist, Verdict, is_dunder_path};
use super::compat;
use super::input::{Input, Mode, ReadError};
use super::rules;
use crate::report::{Rule, Severity};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Strings longer than this are not kept (they cannot be module or attribute names).
const KEEP_STR: usize = 512;
/// Elements kept per container (enough for shapes, dtype arguments and state dicts).
const KEEP_ITEMS: usize = 64;
/// Stack entries (across all marks) before the resource limit trips.
const MAX_STACK: usize = 4 << 20;
/// Memo entries of plain data kept; beyond this, reads of forgotten slots are unknown values.
const MAX_MEMO: usize = 2 << 20;
/// Nested pickles (joblib object arrays) deeper than this are not followed.
const MAX_NEST: u32 = 8;

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
    /// Opcodes executed.
    pub ops: u64,
    /// Value at STOP when it is a small integer (legacy torch counts and magic numbers).
    pub top_int: Option<i128>,
    /// Value at STOP when it is a short tuple: its items as text (strings, `module.name` of
    /// globals, integers); used to walk legacy torch tar members.
    pub top_tuple: Vec<String>,
}

#[derive(Debug)]
struct Global {
    module: String,
    name: String,
    verdict: Verdict,
}

impl Global {
    fn full(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

#[derive(Debug)]
struct Obj {
    class: Rc<Global>,
    args: V,
    depth: u8,
}

#[derive(Debug, Default)]
struct Coll {
    items: Vec<V>,
    overflow: bool,
}

impl Coll {
    fn push(&mut self, v: V) {
        if self.items.len() < KEEP_ITEMS * 2 {
            self.items.push(shallow(v));
        } else {
            self.overflow = true;
        }
    }
}

#[derive(Clone, Debug)]
enum V {
    None,
    Bool(bool),
    Int(i128),
    BigInt,
    Float,
    Str(Rc<str>),
    LongStr,
    Bytes,
    /// Items and nesting depth (capped: deep nesting would make dropping recurse).
    Tuple(Rc<[V]>, u8),
    /// A list or dict stored inside another container (contents not kept, so no cycles).
    Container(&'static str),
    BigTuple,
    List(Rc<RefCell<Coll>>),
    Dict(Rc<RefCell<Coll>>),
    Set,
    Global(Rc<Global>),
    Obj(Rc<Obj>),
    PersId,
    Buffer,
    Unknown,
}

impl V {
    fn kind(&self) -> &'static str {
        match self {
            V::None => "None",
            V::Bool(_) => "a bool",
            V::Int(_) | V::BigInt => "an int",
            V::Float => "a float",
            V::Str(_) | V::LongStr => "a str",
            V::Bytes => "bytes",
            V::Tuple(..) | V::BigTuple => "a tuple",
            V::Container(k) => k,
            V::List(_) => "a list",
            V::Dict(_) => "a dict",
            V::Set => "a set",
            V::Global(_) => "an imported global",
            V::Obj(_) => "a call result",
            V::PersId => "a persistent object",
            V::Buffer => "a buffer",
            V::Unknown => "an unknown value",
        }
    }

    fn as_int(&self) -> Option<i128> {
        match self {
            V::Int(i) => Some(*i),
            V::Bool(b) => Some(*b as i128),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Nesting limit for tuples and call results kept with their contents.
const MAX_NEST_VALUES: u8 = 16;

fn depth(v: &V) -> u8 {
    match v {
        V::Tuple(_, d) => *d,
        V::Obj(o) => o.depth,
        _ => 0,
    }
}

fn tuple(items: Vec<V>) -> V {
    let d = 1 + items.iter().map(depth).max().unwrap_or(0);
    if items.len() <= KEEP_ITEMS && d <= MAX_NEST_VALUES {
        V::Tuple(items.into(), d)
    } else {
        V::BigTuple
    }
}

fn obj(class: Rc<Global>, args: V) -> V {
    let d = 1 + depth(&args);
    let (args, d) = if d <= MAX_NEST_VALUES {
        (args, d)
    } else {
        (V::Unknown, 1)
    };
    V::Obj(Rc::new(Obj {
        class,
        args,
        depth: d,
    }))
}

/// The copy of `v` stored inside a list or dict: lists and dicts in it become opaque markers,
/// so containers never reference containers and no reference cycle (leak) can form.
fn shallow(v: V) -> V {
    match v {
        V::List(_) => V::Container("a list"),
        V::Dict(_) => V::Container("a dict"),
        V::Tuple(t, d) => {
            if t.iter()
                .any(|x| matches!(x, V::List(_) | V::Dict(_) | V::Tuple(..) | V::Obj(_)))
            {
                V::Tuple(t.iter().cloned().map(shallow).collect(), d)
            } else {
                V::Tuple(t, d)
            }
        }
        V::Obj(o) if matches!(o.args, V::List(_) | V::Dict(_) | V::Tuple(..) | V::Obj(_)) => {
            obj(o.class.clone(), shallow(o.args.clone()))
        }
        other => other,
    }
}

impl From<ReadError> for End {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Eof => End::Truncated,
            ReadError::Io(e) => End::Io(e.to_string()),
        }
    }
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, End> {
    Err(End::Invalid(msg.into()))
}

/// Scans pickles against a policy.
pub struct Machine<'p> {
    policy: &'p Allowlist,
    /// (subject, rule id) pairs already reported by [`Machine::find_once`].
    seen: HashSet<(String, &'static str)>,
    /// Verdicts of the globals imported so far (each is judged and reported once).
    verdicts: HashMap<(String, String), Verdict>,
    out: Outcome,
    nest: u32,
}

impl<'p> Machine<'p> {
    /// A machine judging imports with `policy`.
    pub fn new(policy: &'p Allowlist) -> Self {
        Machine {
            policy,
            seen: HashSet::new(),
            verdicts: HashMap::new(),
            out: Outcome::default(),
            nest: 0,
        }
    }

    /// Run one pickle (up to and including STOP) from `input`.
    pub fn run(mut self, input: &mut Input<'_>) -> (Outcome, End) {
        let end = self.run_one(input).err().unwrap_or(End::Stop);
        (self.out, end)
    }

    fn find(&mut self, rule: &'static Rule, sev: Option<Severity>, offset: u64, msg: String) {
        self.out.findings.push(RawFinding {
            rule,
            severity: sev,
            message: msg,
            offset,
        });
    }

    /// Report a finding once per (subject, rule) per stream.
    fn find_once(&mut self, rule: &'static Rule, key: &str, offset: u64, msg: String) {
        if !self.seen.insert((key.to_string(), rule.id)) {
            return;
        }
        self.find(rule, None, offset, msg);
    }

    fn import(&mut self, module: &str, name: &str, proto: u8, offset: u64, how: &str) -> V {
        let (mut m, mut n) = (module.to_string(), name.to_string());
        let mut mapped = String::new();
        if proto < 3 {
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
        let verdict = self.policy.judge(&m, &n);
        self.verdicts.insert(key, verdict.clone());
        let full = format!("{m}.{n}");
        if self.out.imports.len() < 4096 {
            self.out.imports.push(full.clone());
        }
        let walk = is_dunder_path(&n) || is_dunder_path(&m) || n.contains('.');
        if walk && !matches!(verdict, Verdict::Allowed { .. }) {
            let msg = format!(
                "{how} imports `{m}` `{n}`{mapped}: the loader resolves this by walking attributes{}",
                if is_dunder_path(&n) || is_dunder_path(&m) {
                    " through dunder names"
                } else {
                    ""
                }
            );
            self.find(&rules::ATTRIBUTE_WALK, None, offset, msg);
        }
        match &verdict {
            Verdict::Allowed { .. } => {}
            Verdict::Dangerous(why) => {
                let msg = format!("{how} imports `{full}`{mapped}: {why}");
                self.find(&rules::DANGEROUS_GLOBAL, None, offset, msg);
            }
            Verdict::Unknown if walk => {}
            Verdict::Unknown => {
                let msg = format!("{how} imports `{full}`{mapped}, which is not on the allow-list");
                self.find(&rules::UNKNOWN_GLOBAL, None, offset, msg);
            }
        }
        V::Global(Rc::new(Global {
            module: m,
            name: n,
            verdict,
        }))
    }

    /// A call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST) of `callee` with `args`.
    fn call(&mut self, callee: V, args: V, offset: u64, op: &str) -> V {
        match callee {
            V::Global(g) => {
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
                    return obj(cls.clone(), V::Unknown);
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

    fn run_one(&mut self, inp: &mut Input<'_>) -> Result<(), End> {
        let mut stack: Vec<V> = Vec::new();
        let mut meta: Vec<Vec<V>> = Vec::new();
        // Emptied mark stacks, reused so that APPENDS batches do not reallocate.
        let mut spare: Vec<Vec<V>> = Vec::new();
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
                        let items = std::mem::replace(&mut stack, prev);
                        depth_total = depth_total.saturating_sub(items.len());
                        items
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
                    let r = self.call(f, args, at, "REDUCE");
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
                                    describe(&module),
                                    describe(&name)
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
                    let r = self.call(g, tuple(args), at, "INST");
                    stack.push(r);
                }
                b'o' => {
                    let mut items = pop_mark!();
                    if items.is_empty() {
                        return invalid(format!("OBJ at {at}: no class on the stack"));
                    }
                    let cls = items.remove(0);
                    let r = self.call(cls, tuple(items), at, "OBJ");
                    stack.push(r);
                }
                0x81 => {
                    let args = pop!();
                    let cls = pop!();
                    let r = self.call(cls, args, at, "NEWOBJ");
                    stack.push(r);
                }
                0x92 => {
                    let _kwargs = pop!();
                    let args = pop!();
                    let cls = pop!();
                    let r = self.call(cls, args, at, "NEWOBJ_EX");
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
                    match target {
                        V::Set | V::Obj(_) | V::Unknown => {}
                        V::Global(g) => self.find_once(
                            &rules::MUTATES_GLOBAL,
                            &format!("additems:{}", g.full()),
                            at,
                            format!(
                                "ADDITEMS adds to `{}` (a module, class or function object)",
                                g.full()
                            ),
                        ),
                        other => self.find_once(
                            &rules::TYPE_CONFUSION,
                            "additems",
                            at,
                            format!("ADDITEMS on {}, not a set", other.kind()),
                        ),
                    }
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

    fn persistent_id(&mut self, pid: &V) {
        // torch: ('storage', storage_type, key, location, numel[, view_metadata])
        if let V::Tuple(t, _) = pid
            && t.len() >= 5
            && t[0].as_str() == Some("storage")
            && let (V::Global(cls), Some(key), Some(numel)) = (&t[1], t[2].as_str(), t[4].as_int())
            && numel >= 0
            && self.out.storages.len() < 1 << 20
        {
            self.out.storages.push(StorageRef {
                key: key.to_string(),
                class: cls.full(),
                numel: numel as u64,
            });
        }
    }

    /// APPEND(S) (`dict = false`) or SETITEM(S) (`dict = true`): the target must be a list or
    /// dict, or an object whose own method the loader calls; never a class or module.
    fn store_into(
        &mut self,
        target: &V,
        items: impl Iterator<Item = V>,
        at: u64,
        op: &str,
        dict: bool,
    ) {
        match (target, dict) {
            (V::List(c), false) | (V::Dict(c), true) => {
                let mut c = c.borrow_mut();
                for v in items {
                    c.push(v);
                }
            }
            (V::Obj(_) | V::Unknown, _) => {}
            (V::Global(g), _) => self.find_once(
                &rules::MUTATES_GLOBAL,
                &format!("{op}:{}", g.full()),
                at,
                format!(
                    "{op} stores into `{}` (a module, class or function object)",
                    g.full()
                ),
            ),
            (other, _) => self.find_once(
                &rules::TYPE_CONFUSION,
                op,
                at,
                if dict {
                    format!(
                        "{op} on {}, not a dict (CVE-2026-24747 class)",
                        other.kind()
                    )
                } else {
                    format!("{op} on {}, not a list", other.kind())
                },
            ),
        }
    }

    fn build(&mut self, target: &V, state: &V, at: u64, inp: &mut Input<'_>) -> Result<(), End> {
        match target {
            V::Global(g) => {
                self.find_once(
                    &rules::MUTATES_GLOBAL,
                    &format!("build:{}", g.full()),
                    at,
                    format!(
                        "BUILD sets attributes on `{}` itself (a module, class or function object): later imports of it read attacker values",
                        g.full()
                    ),
                );
            }
            V::Obj(o) => {
                for key in dunder_keys(state) {
                    self.find_once(
                        &rules::MUTATES_GLOBAL,
                        &format!("dunder:{key}"),
                        at,
                        format!(
                            "BUILD on a `{}` sets the dunder attribute `{key}`",
                            o.class.full()
                        ),
                    );
                }
                if o.class.module == "joblib.numpy_pickle" && o.class.name == "NumpyArrayWrapper" {
                    self.joblib_array(state, at, inp)?;
                }
            }
            V::Unknown => {}
            other => self.find_once(
                &rules::TYPE_CONFUSION,
                "build",
                at,
                format!("BUILD on {}, which has no state to set", other.kind()),
            ),
        }
        Ok(())
    }

    /// joblib writes a NumpyArrayWrapper's array bytes (or, for object arrays, a nested pickle)
    /// into the stream right after its BUILD; the joblib unpickler reads them there.
    fn joblib_array(&mut self, state: &V, at: u64, inp: &mut Input<'_>) -> Result<(), End> {
        let get = |k: &str| dict_get(state, k);
        let shape = get("shape");
        let count = match &shape {
            Some(V::Tuple(t, _)) => t.iter().try_fold(1u128, |acc, v| {
                v.as_int()
                    .filter(|i| *i >= 0)
                    .and_then(|i| acc.checked_mul(i as u128))
            }),
            _ => None,
        };
        let dtype = get("dtype").and_then(|d| numpy_itemsize(&d));
        let aligned = get("numpy_array_alignment_bytes").is_some_and(|v| !matches!(v, V::None));
        match (count, dtype) {
            (_, Some(None)) => {
                // Object array: a complete nested pickle follows.
                if self.nest >= MAX_NEST {
                    return Err(End::Limit(format!(
                        "joblib object arrays nested more than {MAX_NEST} deep"
                    )));
                }
                self.nest += 1;
                let r = self.run_one(inp);
                self.nest -= 1;
                r
            }
            (Some(count), Some(Some(itemsize))) => {
                if aligned {
                    let pad = inp.array::<1>()?[0] as u64;
                    inp.raw_skip(pad)?;
                }
                let n = count
                    .checked_mul(itemsize as u128)
                    .filter(|n| *n <= u64::MAX as u128)
                    .ok_or_else(|| End::Invalid(format!("joblib array at {at}: size overflows")))?;
                inp.raw_skip(n as u64)?;
                Ok(())
            }
            _ => invalid(format!(
                "joblib NumpyArrayWrapper at {at}: cannot determine the array's shape and dtype, so the bytes after it cannot be located"
            )),
        }
    }
}

fn describe(v: &V) -> String {
    match v {
        V::Obj(o) => format!("the result of calling `{}`", o.class.full()),
        V::LongStr => "a string too long to be a name".into(),
        other => other.kind().into(),
    }
}

fn dict_get(d: &V, key: &str) -> Option<V> {
    let V::Dict(c) = d else { return None };
    let c = c.borrow();
    c.items
        .chunks(2)
        .find(|kv| kv[0].as_str() == Some(key))
        .and_then(|kv| kv.get(1).cloned())
}

fn dunder_keys(state: &V) -> Vec<String> {
    let mut out = Vec::new();
    let mut scan = |d: &V| {
        if let V::Dict(c) = d {
            for kv in c.borrow().items.chunks(2) {
                if let Some(k) = kv[0].as_str()
                    && k.len() > 4
                    && k.starts_with("__")
                    && k.ends_with("__")
                {
                    out.push(k.to_string());
                }
            }
        }
    };
    scan(state);
    if let V::Tuple(t, _) = state {
        for x in t.iter() {
            scan(x);
        }
    }
    out
}

/// Item size of a pickled `numpy.dtype`: `Some(None)` for object dtypes, `None` when unknown.
fn numpy_itemsize(d: &V) -> Option<Option<u64>> {
    let V::Obj(o) = d else { return None };
    if o.class.name != "dtype" {
        return None;
    }
    let V::Tuple(args, _) = &o.args else {
        return None;
    };
    let code = args.first()?.as_str()?;
    let (kind, size) = code.split_at(
        code.find(|c: char| c.is_ascii_digit())
            .unwrap_or(code.len()),
    );
    if kind.contains('O') {
        return Some(None);
    }
    let size: u64 = size.parse().ok()?;
    Some(Some(match kind {
        "U" => size * 4,
        _ => size,
    }))
}

fn parse_decimal(l: &[u8]) -> Option<u64> {
    std::str::from_utf8(l).ok()?.trim().parse().ok()
}

fn str_value(s: String) -> V {
    if s.len() <= KEEP_STR {
        V::Str(s.into())
    } else {
        V::LongStr
    }
}

/// BINSTRING/SHORT_BINSTRING: Python 2 `str`, decoded (ASCII by default) into a Python 3 str.
fn bytes_as_str(d: Option<Vec<u8>>) -> V {
    match d {
        Some(d) => match String::from_utf8(d) {
            Ok(s) => str_value(s),
            Err(_) => V::Bytes,
        },
        None => V::LongStr,
    }
}

fn utf8_value(d: Option<Vec<u8>>, at: u64) -> Result<V, End> {
    match d {
        Some(d) => match String::from_utf8(d) {
            Ok(s) => Ok(str_value(s)),
            Err(_) => invalid(format!("string at {at} is not valid UTF-8")),
        },
        None => Ok(V::LongStr),
    }
}

fn long_value(d: Option<Vec<u8>>) -> V {
    match d {
        Some(d) if d.len() <= 16 => {
            let neg = d.last().is_some_and(|b| b & 0x80 != 0);
            let mut buf = if neg { [0xffu8; 16] } else { [0u8; 16] };
            buf[..d.len()].copy_from_slice(&d);
            V::Int(i128::from_le_bytes(buf))
        }
        _ => V::BigInt,
    }
}

/// Protocol-0 STRING argument: a quoted Python 2 string literal with escapes.
fn unquote_string(l: &[u8]) -> Result<String, String> {
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    if l.len() < 2 || l[0] != l[l.len() - 1] || !(l[0] == b'\'' || l[0] == b'"') {
        return Err("the STRING opcode argument must be quoted".into());
    }
    let body = &l[1..l.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&e) = body.get(i) else {
            return Err("trailing backslash".into());
        };
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' => out.push(e),
            b'\n' => {}
            b'x' => {
                let h = body.get(i..i + 2).ok_or("bad \\x escape")?;
                let v =
                    u8::from_str_radix(std::str::from_utf8(h).map_err(|_| "bad \\x escape")?, 16)
                        .map_err(|_| "bad \\x escape")?;
                out.push(v);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = (e - b'0') as u32;
                for _ in 0..2 {
                    match body.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    // Python 3 decodes protocol-0 strings with the unpickler's encoding (ASCII by default).
    String::from_utf8(out).map_err(|_| "not ASCII/UTF-8".into())
}

/// Protocol-0 UNICODE argument: raw-unicode-escape.
fn raw_unicode_escape(l: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        if l[i] == b'\\' && i + 1 < l.len() && (l[i + 1] == b'u' || l[i + 1] == b'U') {
            let n = if l[i + 1] == b'u' { 4 } else { 8 };
            let h = std::str::from_utf8(l.get(i + 2..i + 2 + n)?).ok()?;
            out.push(char::from_u32(u32::from_str_radix(h, 16).ok()?)?);
            i += 2 + n;
        } else {
            out.push(l[i] as char);
            i += 1;
        }
    }
    Some(out)
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

/// Scan `pickles` consecutive pickles from `input` (legacy torch reads several), then any data
/// after them: a second `pickle.load` on the same stream would run it, so it is scanned too.
pub fn scan_stream(policy: &Allowlist, input: &mut Input<'_>, pickles: usize) -> Stream {
    let mut outcomes = Vec::new();
    for _ in 0..pickles {
        let (o, end) = Machine::new(policy).run(input);
        outcomes.push(o);
        if end != End::Stop {
            return Stream {
                outcomes,
                end,
                trailing: None,
            };
        }
    }
    let trailing = match input.at_end() {
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
            let (o, end) = Machine::new(policy).run(input);
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

/// Scan a byte slice as one pickle stream (tests, fuzzing).
pub fn scan_bytes(policy: &Allowlist, data: &[u8], mode: Mode) -> (Stream, Option<u64>) {
    let mut r: &[u8] = data;
    let mut input = Input::new(&mut r, mode);
    let s = scan_stream(policy, &mut input, 1);
    (s, input.crossing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(data: &[u8]) -> (Stream, Option<u64>) {
        scan_bytes(&Allowlist::builtin(), data, Mode::Linear)
    }

    fn rules_of(s: &Stream) -> Vec<&'static str> {
        s.outcomes
            .iter()
            .flat_map(|o| o.findings.iter().map(|f| f.rule.id))
            .collect()
    }

    #[test]
    fn python2_names_are_mapped_only_below_protocol_3() {
        // protocol 2: cPickle.loads is pickle.loads (dangerous)
        let (s, _) = scan(b"\x80\x02ccPickle\nloads\n.");
        assert_eq!(s.outcomes[0].imports, ["pickle.loads"]);
        // protocol 4: no mapping; the name is still labelled dangerous by the catalogue
        let (s, _) = scan(b"\x80\x04ccPickle\nloads\n.");
        assert_eq!(s.outcomes[0].imports, ["cPickle.loads"]);
        assert_eq!(rules_of(&s), ["scan/pickle-dangerous-global"]);
        // __builtin__.set → builtins.set (allowed) under protocol 0
        let (s, _) = scan(b"c__builtin__\nset\n(]tR.");
        assert!(rules_of(&s).is_empty(), "{:?}", rules_of(&s));
    }

    #[test]
    fn allowed_globals_and_plain_data_are_clean() {
        let (s, c) = scan(b"\x80\x02ccollections\nOrderedDict\n)R}(X\x01\x00\x00\x00aK\x01ub.");
        // BUILD with a dict state on an OrderedDict instance is fine
        assert!(rules_of(&s).is_empty(), "{:?}", rules_of(&s));
        assert_eq!((s.end, c, s.trailing), (End::Stop, None, None));
    }

    #[test]
    fn memo_resolves_stack_global_operands() {
        // STACK_GLOBAL('os', 'system') with both names coming from the memo
        let (s, _) = scan(b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93.");
        assert_eq!(s.outcomes[0].imports, ["os.system"]);
    }

    #[test]
    fn unknown_stack_global_operand_is_computed_import() {
        let (s, _) = scan(b"\x80\x04K\x01\x8c\x06system\x93.");
        assert_eq!(rules_of(&s), ["scan/pickle-computed-import"]);
    }

    #[test]
    fn frame_crossing_is_detected_and_buffered_mode_sees_the_payload() {
        let p = b"cos\nsystem\n(S'id'\ntR";
        let mut d = b"\x80\x05\x95\x02\x00\x00\x00\x00\x00\x00\x00B".to_vec();
        d.push(1 + p.len() as u8);
        d.extend_from_slice(b"\0\0\0\0");
        d.extend_from_slice(p);
        d.push(b'.');
        let (lin, crossing) = scan(&d);
        assert_eq!(crossing, Some(12));
        assert!(
            rules_of(&lin).is_empty(),
            "the linear reading hides the call"
        );
        let (buf, _) = scan_bytes(&Allowlist::builtin(), &d, Mode::Buffered);
        assert_eq!(rules_of(&buf), ["scan/pickle-dangerous-global"]);
    }

    #[test]
    fn joblib_inline_array_is_skipped_and_what_follows_is_scanned() {
        let dtype = b"cnumpy\ndtype\n(X\x02\x00\x00\x00f8\x89\x88tR";
        let mut d = b"\x80\x04]cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(X\x05\x00\x00\x00shapeK\x03\x85X\x05\x00\x00\x00dtype".to_vec();
        d.extend_from_slice(dtype);
        d.extend_from_slice(b"X\x1b\x00\x00\x00numpy_array_alignment_bytesK\x10ub");
        d.extend_from_slice(b"\x02\xff\xff"); // padding length 2 + padding
        d.extend_from_slice(&[0x63; 24]); // 3 × f8 of 'c' bytes: would be GLOBAL opcodes if read as a pickle
        d.extend_from_slice(b"acos\nsystem\n.");
        let (s, _) = scan(&d);
        assert_eq!(s.end, End::Stop);
        assert_eq!(rules_of(&s), ["scan/pickle-dangerous-global"]);
    }

    #[test]
    fn truncated_and_invalid_streams_end_badly() {
        assert_eq!(scan(b"\x80\x02cos\nsys").0.end, End::Truncated);
        assert!(matches!(scan(b"\x80\x02\xff.").0.end, End::Invalid(_)));
        assert!(matches!(scan(b"\x80\x07.").0.end, End::Invalid(_)));
        assert!(matches!(scan(b"h\x05.").0.end, End::Invalid(_)));
    }

    #[test]
    fn huge_frame_lengths_do_not_overflow() {
        // Found by cargo-fuzz: FRAME u64::MAX, then a read (offset arithmetic must saturate).
        let mut d = b"\x80\x04\x95".to_vec();
        d.extend_from_slice(&[0xff; 8]);
        d.extend_from_slice(b"\x95\xff\xff\xff\xff\xff\xff\xff\xffJ\x00\x00\x00\x00.");
        for mode in [Mode::Linear, Mode::Buffered] {
            let _ = scan_bytes(&Allowlist::builtin(), &d, mode);
        }
    }

    #[test]
    fn deep_nesting_and_self_reference_are_bounded() {
        // 1M nested tuples, then 1M nested calls: dropping them must not recurse 1M deep.
        let mut d = b"\x80\x04N".to_vec();
        d.extend(std::iter::repeat_n(0x85u8, 1_000_000));
        d.extend_from_slice(b"0ccollections\nOrderedDict\n\x94N");
        for _ in 0..200_000 {
            d.extend_from_slice(b"h\x00\x8c\x01a\x86R"); // OrderedDict(('a', prev))
        }
        d.push(b'.');
        let (s, _) = scan(&d);
        assert_eq!(s.end, End::Stop);
        // A dict that contains itself (found by cargo-fuzz as a reference-cycle leak).
        let (s, _) = scan(b"\x80\x04}\x94(\x8c\x01kh\x00u.");
        assert_eq!(s.end, End::Stop);
    }

    #[test]
    fn trailing_pickles_are_scanned() {
        let (s, _) = scan(b"\x80\x02N.\x80\x02cos\nsystem\n.");
        assert_eq!(s.trailing, Some(4));
        assert_eq!(rules_of(&s), ["scan/pickle-dangerous-global"]);
    }
}
