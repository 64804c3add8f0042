//! GGUF: header bounds, tensor offsets, and the chat templates in its metadata.

use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;
use std::io::{self, BufReader, Read};

struct Cur<R> {
    r: R,
    pos: u64,
    len: u64,
}

impl<R: Read> Cur<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|_| format!("truncated at offset {}", self.pos))?;
        self.pos += N as u64;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn skip(&mut self, n: u64) -> Result<(), String> {
        if n > self.len.saturating_sub(self.pos) {
            return Err(format!(
                "a field of {n} bytes at offset {} runs past the end of the file",
                self.pos
            ));
        }
        let got =
            io::copy(&mut (&mut self.r).take(n), &mut io::sink()).map_err(|e| e.to_string())?;
        self.pos += got;
        if got < n {
            return Err(format!("truncated at offset {}", self.pos));
        }
        Ok(())
    }
    fn string(&mut self, v1: bool, keep: usize) -> Result<Option<String>, String> {
        let n = if v1 { self.u32()? as u64 } else { self.u64()? };
        if n > self.len.saturating_sub(self.pos) {
            return Err(format!(
                "a string of {n} bytes at offset {} runs past the end of the file",
                self.pos
            ));
        }
        if n as usize <= keep {
            let mut b = vec![0; n as usize];
            self.r
                .read_exact(&mut b)
                .map_err(|_| "truncated string".to_string())?;
            self.pos += n;
            Ok(Some(String::from_utf8_lossy(&b).into_owned()))
        } else {
            self.skip(n)?;
            Ok(None)
        }
    }
}

const GGUF_SCALAR: [u64; 13] = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];

/// GGUF: header bounds and chat templates.
pub(crate) fn scan(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let mut c = Cur {
        r: BufReader::with_capacity(1 << 16, blob.reader()),
        pos: 0,
        len: blob.len,
    };
    if let Err(e) = gguf_walk(ctx, &mut c, member) {
        ctx.add(
            &rules::GGUF_HEADER,
            member,
            Some(c.pos),
            format!("invalid GGUF header: {e}"),
        );
    }
}

fn gguf_value(
    c: &mut Cur<impl Read>,
    ty: u32,
    v1: bool,
    depth: u32,
    keep: usize,
) -> Result<Option<String>, String> {
    match ty {
        8 => c.string(v1, keep),
        9 => {
            if depth > 4 {
                return Err("arrays nested too deep".into());
            }
            let et = c.u32()?;
            let n = if v1 { c.u32()? as u64 } else { c.u64()? };
            if let Some(&sz) = GGUF_SCALAR.get(et as usize).filter(|s| **s > 0) {
                c.skip(n.checked_mul(sz).ok_or("array size overflows")?)?;
            } else {
                if n > c.len.saturating_sub(c.pos) / 8 + 1 {
                    return Err(format!("array of {n} items cannot fit in the file"));
                }
                for _ in 0..n {
                    gguf_value(c, et, v1, depth + 1, 0)?;
                }
            }
            Ok(None)
        }
        t if (t as usize) < GGUF_SCALAR.len() => {
            c.skip(GGUF_SCALAR[t as usize])?;
            Ok(None)
        }
        t => Err(format!("unknown value type {t}")),
    }
}

fn gguf_walk(ctx: &mut Ctx<'_>, c: &mut Cur<impl Read>, member: &Member) -> Result<(), String> {
    c.bytes::<4>()?;
    let version = c.u32()?;
    if !(1..=3).contains(&version) {
        return Err(format!("unsupported GGUF version {version}"));
    }
    let v1 = version == 1;
    let (tensors, kvs) = if v1 {
        (c.u32()? as u64, c.u32()? as u64)
    } else {
        (c.u64()?, c.u64()?)
    };
    if kvs > c.len / 12 || tensors > c.len / 24 {
        return Err(format!(
            "{kvs} key-value pairs and {tensors} tensors cannot fit in {} bytes",
            c.len
        ));
    }
    let mut alignment = 32u64;
    for _ in 0..kvs {
        let key = c.string(v1, 4096)?.unwrap_or_default();
        let ty = c.u32()?;
        let at = c.pos;
        if key.starts_with("tokenizer.chat_template") && ty == 8 {
            match c.string(v1, 16 << 20)? {
                Some(t) => super::template::check(
                    ctx,
                    &rules::GGUF_TEMPLATE,
                    member,
                    Some(at),
                    &format!("`{key}`"),
                    &t,
                ),
                None => ctx.add(
                    &rules::RESOURCE_LIMIT,
                    member,
                    Some(at),
                    format!("chat template `{key}` is larger than 16 MiB; not checked"),
                ),
            }
            continue;
        }
        if key == "general.alignment" && ty == 4 {
            alignment = c.u32()? as u64;
            if alignment == 0 || !alignment.is_power_of_two() {
                return Err(format!(
                    "general.alignment {alignment} is not a power of two"
                ));
            }
            continue;
        }
        gguf_value(c, ty, v1, 0, 0)?;
    }
    let mut max_end = 0u64;
    for _ in 0..tensors {
        let name = c.string(v1, 4096)?.unwrap_or_default();
        let nd = c.u32()?;
        if nd > 8 {
            return Err(format!("tensor `{name}` has {nd} dimensions"));
        }
        for _ in 0..nd {
            if v1 {
                c.u32()? as u64
            } else {
                c.u64()?
            };
        }
        c.u32()?;
        let off = c.u64()?;
        if off % alignment != 0 {
            return Err(format!(
                "tensor `{name}` offset {off} is not aligned to {alignment}"
            ));
        }
        max_end = max_end.max(off);
    }
    let data_start = c.pos.div_ceil(alignment) * alignment;
    if tensors > 0 && data_start.saturating_add(max_end) >= c.len {
        return Err(format!(
            "tensor data offset {max_end} lies beyond the end of the file"
        ));
    }
    Ok(())
}
