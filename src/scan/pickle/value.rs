//! The symbolic values on the pickle machine's stack: enough of each value to judge what the
//! pickle does with it (names for imports, shapes and dtypes for joblib arrays, dict keys for
//! BUILD states), never the data itself.

use super::super::allowlist::Verdict;
use std::cell::RefCell;
use std::rc::Rc;

/// Elements kept per container (enough for shapes, dtype arguments and state dicts).
pub(super) const KEEP_ITEMS: usize = 64;
/// Nesting limit for tuples and call results kept with their contents.
const MAX_NEST_VALUES: u8 = 16;

/// An imported global, with the policy's verdict on it.
#[derive(Debug)]
pub(super) struct Global {
    pub module: String,
    pub name: String,
    pub verdict: Verdict,
}

impl Global {
    pub fn full(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// The result of calling (or instantiating) a global.
#[derive(Debug)]
pub(super) struct Obj {
    pub class: Rc<Global>,
    pub args: V,
    depth: u8,
}

/// The items of a list or dict (dicts as key, value, key, value …), kept up to a bound.
#[derive(Debug, Default)]
pub(super) struct Coll {
    pub items: Vec<V>,
    pub overflow: bool,
}

impl Coll {
    pub fn push(&mut self, v: V) {
        if self.items.len() < KEEP_ITEMS * 2 {
            self.items.push(shallow(v));
        } else {
            self.overflow = true;
        }
    }
}

#[derive(Clone, Debug)]
pub(super) enum V {
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
    pub fn kind(&self) -> &'static str {
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

    pub fn as_int(&self) -> Option<i128> {
        match self {
            V::Int(i) => Some(*i),
            V::Bool(b) => Some(*b as i128),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    /// How a message names this value.
    pub fn describe(&self) -> String {
        match self {
            V::Obj(o) => format!("the result of calling `{}`", o.class.full()),
            V::LongStr => "a string too long to be a name".into(),
            other => other.kind().into(),
        }
    }
}

fn depth(v: &V) -> u8 {
    match v {
        V::Tuple(_, d) => *d,
        V::Obj(o) => o.depth,
        _ => 0,
    }
}

pub(super) fn tuple(items: Vec<V>) -> V {
    let d = 1 + items.iter().map(depth).max().unwrap_or(0);
    if items.len() <= KEEP_ITEMS && d <= MAX_NEST_VALUES {
        V::Tuple(items.into(), d)
    } else {
        V::BigTuple
    }
}

pub(super) fn obj(class: Rc<Global>, args: V) -> V {
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

/// `d[key]` when `d` is a dict with a string key `key` among the items kept.
pub(super) fn dict_get(d: &V, key: &str) -> Option<V> {
    let V::Dict(c) = d else { return None };
    let c = c.borrow();
    c.items
        .chunks(2)
        .find(|kv| kv[0].as_str() == Some(key))
        .and_then(|kv| kv.get(1).cloned())
}

/// The string keys of a BUILD state: a dict, or the dicts of a `(state, slotstate)` tuple.
pub(super) fn state_keys(state: &V) -> Vec<String> {
    let mut out = Vec::new();
    let mut scan = |d: &V| {
        if let V::Dict(c) = d {
            for kv in c.borrow().items.chunks(2) {
                if let Some(k) = kv[0].as_str() {
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
pub(super) fn numpy_itemsize(d: &V) -> Option<Option<u64>> {
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
        "U" => size.checked_mul(4)?,
        _ => size,
    }))
}
