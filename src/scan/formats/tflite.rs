//! TensorFlow Lite (a FlatBuffer, identifier `TFL3`): the operator table is read. Builtin ops are
//! tensor math; custom ops run native code the application registered (listed, for review);
//! Flex ops run full TensorFlow kernels, so the TensorFlow op rules apply to them.

use crate::report::Severity;
use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;

/// Largest TFLite file read whole (the FlatBuffer format itself is limited to 2 GiB).
const MAX_TFLITE: u64 = 2 << 30;
/// `BuiltinOperator.CUSTOM`.
const CUSTOM: i64 = 32;

/// A bounds-checked FlatBuffer reader.
struct Fb<'a>(&'a [u8]);

impl<'a> Fb<'a> {
    fn u32(&self, at: usize) -> Result<u32, String> {
        self.0
            .get(at..at.checked_add(4).ok_or("offset overflow")?)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
            .ok_or_else(|| format!("offset {at} is outside the file"))
    }

    fn u16(&self, at: usize) -> Result<u16, String> {
        self.0
            .get(at..at.checked_add(2).ok_or("offset overflow")?)
            .map(|b| u16::from_le_bytes(b.try_into().unwrap_or_default()))
            .ok_or_else(|| format!("offset {at} is outside the file"))
    }

    /// The position a uoffset at `at` points to.
    fn deref(&self, at: usize) -> Result<usize, String> {
        let off = self.u32(at)? as usize;
        at.checked_add(off)
            .filter(|&p| p < self.0.len())
            .ok_or_else(|| format!("offset at {at} points outside the file"))
    }

    /// Position of field `i` of the table at `t`, if present.
    fn field(&self, t: usize, i: usize) -> Result<Option<usize>, String> {
        let soff = self.u32(t)? as i32 as i64;
        let vt = usize::try_from(t as i64 - soff).map_err(|_| "vtable offset out of range")?;
        let vsize = self.u16(vt)? as usize;
        let slot = 4 + 2 * i;
        if slot + 2 > vsize {
            return Ok(None);
        }
        let off = self.u16(vt + slot)? as usize;
        Ok((off != 0).then_some(t + off))
    }

    /// Elements' positions of the vector at uoffset `at`.
    fn vector(&self, at: usize) -> Result<(usize, usize), String> {
        let v = self.deref(at)?;
        let n = self.u32(v)? as usize;
        if n > self.0.len() / 4 {
            return Err(format!("vector of {n} elements cannot fit in the file"));
        }
        Ok((v + 4, n))
    }

    fn string(&self, at: usize) -> Result<String, String> {
        let s = self.deref(at)?;
        let n = self.u32(s)? as usize;
        let b = self
            .0
            .get(s + 4..(s + 4).checked_add(n).ok_or("string overflow")?)
            .ok_or("string outside the file")?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    fn int(&self, at: usize, width: usize) -> Result<i64, String> {
        Ok(match width {
            1 => *self.0.get(at).ok_or("byte outside the file")? as i8 as i64,
            _ => self.u32(at)? as i32 as i64,
        })
    }
}

/// The custom op names of a TFLite model.
fn custom_ops(buf: &[u8]) -> Result<Vec<String>, String> {
    let fb = Fb(buf);
    let root = fb.deref(0)?;
    let Some(codes) = fb.field(root, 1)? else {
        return Ok(Vec::new());
    };
    let (start, n) = fb.vector(codes)?;
    let mut out = Vec::new();
    for k in 0..n {
        let code = fb.deref(start + 4 * k)?;
        let deprecated = match fb.field(code, 0)? {
            Some(p) => fb.int(p, 1)?,
            None => 0,
        };
        let builtin = match fb.field(code, 3)? {
            Some(p) => fb.int(p, 4)?,
            None => 0,
        };
        if deprecated.max(builtin) == CUSTOM {
            let name = match fb.field(code, 1)? {
                Some(p) => fb.string(p)?,
                None => String::new(),
            };
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    // The subgraphs must be reachable too (a truncated file fails here).
    if let Some(sg) = fb.field(root, 2)? {
        let (start, n) = fb.vector(sg)?;
        for k in 0..n {
            fb.deref(start + 4 * k)?;
        }
    }
    Ok(out)
}

pub(crate) fn scan(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let buf = match blob.read_all(MAX_TFLITE) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return ctx.add(
                &rules::RESOURCE_LIMIT,
                member,
                None,
                "TFLite file larger than 2 GiB; not read".into(),
            );
        }
        Err(e) => {
            return ctx.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("could not read: {e}"),
            );
        }
    };
    let ops = match custom_ops(&buf) {
        Ok(ops) => ops,
        Err(e) => {
            return ctx.add(
                &rules::FORMAT_MALFORMED,
                member,
                None,
                format!("not a valid TFLite model: {e}"),
            );
        }
    };
    let (flex, custom): (Vec<&String>, Vec<&String>) =
        ops.iter().partition(|o| o.starts_with("Flex"));
    for f in flex {
        let tf_op = &f["Flex".len()..];
        if let Some(what) = super::tensorflow::unsafe_op(tf_op) {
            ctx.add_sev(
                &rules::TF_UNSAFE_OP,
                Some(Severity::High),
                member,
                None,
                format!("Flex op `{f}` runs TensorFlow's `{tf_op}` kernel, which {what}"),
            );
        }
    }
    if !custom.is_empty() {
        let names: Vec<&str> = custom.iter().map(|s| s.as_str()).collect();
        ctx.add(
            &rules::TFLITE_CUSTOM_OP,
            member,
            None,
            format!(
                "uses custom op(s) {}: the application must register native implementations for them",
                names.join(", ")
            ),
        );
    }
}
