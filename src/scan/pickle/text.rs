//! Decoding the text arguments of pickle opcodes into values (strings are kept only when short
//! enough to be names).

use super::End;
use super::value::V;

/// Strings longer than this are not kept (they cannot be module or attribute names).
pub(super) const KEEP_STR: usize = 512;

pub(super) fn invalid<T>(msg: impl Into<String>) -> Result<T, End> {
    Err(End::Invalid(msg.into()))
}

pub(super) fn parse_decimal(l: &[u8]) -> Option<u64> {
    std::str::from_utf8(l).ok()?.trim().parse().ok()
}

pub(super) fn str_value(s: String) -> V {
    if s.len() <= KEEP_STR {
        V::Str(s.into())
    } else {
        V::LongStr
    }
}

/// BINSTRING/SHORT_BINSTRING: Python 2 `str`, decoded (ASCII by default) into a Python 3 str.
pub(super) fn bytes_as_str(d: Option<Vec<u8>>) -> V {
    match d {
        Some(d) => match String::from_utf8(d) {
            Ok(s) => str_value(s),
            Err(_) => V::Bytes,
        },
        None => V::LongStr,
    }
}

pub(super) fn utf8_value(d: Option<Vec<u8>>, at: u64) -> Result<V, End> {
    match d {
        Some(d) => match String::from_utf8(d) {
            Ok(s) => Ok(str_value(s)),
            Err(_) => invalid(format!("string at {at} is not valid UTF-8")),
        },
        None => Ok(V::LongStr),
    }
}

pub(super) fn long_value(d: Option<Vec<u8>>) -> V {
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
pub(super) fn unquote_string(l: &[u8]) -> Result<String, String> {
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
pub(super) fn raw_unicode_escape(l: &[u8]) -> Option<String> {
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
