//! Non-zip formats: numpy `.npy`, legacy PyTorch (stacked pickles and tar), safetensors, GGUF,
//! ONNX, Keras configs (`.keras` config.json and `.h5` model_config).

use super::allowlist::Verdict;
use super::input::{Input, Mode, ReadError};
use super::pickle::{self, End, Machine};
use super::{Blob, Ctx, Member, TORCH_MAGIC, rules, torch_elsize};
use crate::util::npy;
use serde_json::Value;
use std::io::{self, BufRead, BufReader, Read};

// ---------------------------------------------------------------------------------------------
// numpy

fn parse_npy_header(blob: &Blob) -> Result<npy::Header, String> {
    let pre = blob.read_at(0, 12).map_err(|e| e.to_string())?;
    let (major, start, hlen) = npy::header_span(&pre).map_err(|e| e.to_string())?;
    let h = blob
        .read_at(start, hlen as usize)
        .map_err(|e| e.to_string())?;
    if (h.len() as u64) < hlen {
        return Err("truncated header".into());
    }
    npy::parse_dict(major, &String::from_utf8_lossy(&h), start + hlen).map_err(|e| e.to_string())
}

/// `.npy`: object arrays are pickles (scanned); plain arrays must match their header.
pub(crate) fn scan_npy(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let h = match parse_npy_header(blob) {
        Ok(h) => h,
        Err(e) => {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(0),
                format!("invalid .npy header: {e}"),
            );
            return;
        }
    };
    let data = blob.slice(h.data_start, blob.len);
    if h.is_object() {
        ctx.pickle_stream(&mut data.reader(), Some(&data), member);
        return;
    }
    if let Some(want) = h.data_bytes() {
        let have = data.len as u128;
        if have < want {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(h.data_start),
                format!(
                    "array data is truncated: the header needs {want} bytes, the file has {have}"
                ),
            );
        } else if have > want {
            ctx.add(
                &rules::TRAILING_BYTES,
                member,
                Some(h.data_start + want as u64),
                format!("{} byte(s) follow the array data", have - want),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// legacy PyTorch

fn read_err(e: ReadError) -> String {
    match e {
        ReadError::Eof => "the data ends early".into(),
        ReadError::Io(e) => e.to_string(),
    }
}

/// Legacy (torch < 1.6) checkpoint: magic, protocol, sys_info, the object pickle, the storage
/// keys pickle, then raw storages (8-byte element count + data, in sorted key order).
pub(crate) fn scan_legacy_torch(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    ctx.add(
        &rules::TORCH_LEGACY,
        member,
        Some(0),
        "legacy PyTorch checkpoint (pre-1.6 stacked pickles); all five pickles were scanned".into(),
    );
    let mut r = blob.reader();
    let mut inp = Input::new(&mut r, Mode::Linear);
    let mut storages = Vec::new();
    for i in 0..5 {
        let (o, end) = Machine::new(ctx.policy).run(&mut inp);
        ctx.report_outcome(&o, member);
        storages.extend(o.storages);
        if end != End::Stop {
            ctx.report_end(&end, member, o.ops);
            return;
        }
        if i == 0 && o.top_int != Some(TORCH_MAGIC) {
            return;
        }
    }
    let mut keys: Vec<&pickle::StorageRef> = Vec::new();
    for s in &storages {
        if !keys.iter().any(|k| k.key == s.key) {
            keys.push(s);
        }
    }
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    for s in keys {
        let at = inp.pos();
        let numel = match inp.array::<8>() {
            Ok(b) => u64::from_le_bytes(b),
            Err(e) => {
                ctx.add(
                    &rules::TORCH_STORAGE,
                    member,
                    Some(at),
                    format!("storage `{}`: {}", s.key, read_err(e)),
                );
                return;
            }
        };
        let Some(elsize) = torch_elsize(&s.class) else {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(at),
                format!(
                    "storage `{}` has unknown class `{}`; the rest of the file cannot be located",
                    s.key, s.class
                ),
            );
            return;
        };
        if numel != s.numel {
            ctx.add(
                &rules::TORCH_STORAGE,
                member,
                Some(at),
                format!(
                    "storage `{}` declares {} elements in the pickle but {numel} in the data",
                    s.key, s.numel
                ),
            );
        }
        if let Err(e) = inp.raw_skip(numel.saturating_mul(elsize)) {
            ctx.add(
                &rules::TORCH_STORAGE,
                member,
                Some(at),
                format!("storage `{}`: {}", s.key, read_err(e)),
            );
            return;
        }
    }
    legacy_tail(ctx, &mut inp, member, "the last storage");
}

/// Tar archives, including torch 0.1.x checkpoints (`sys_info`, `pickle`, `storages`, `tensors`).
pub(crate) fn scan_tar(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member, depth: u32) {
    let mut entries = Vec::new();
    {
        let mut ar = tar::Archive::new(blob.reader());
        let iter = match ar.entries() {
            Ok(i) => i,
            Err(e) => {
                ctx.add(
                    &rules::UNREADABLE,
                    member,
                    None,
                    format!("tar archive could not be read: {e}"),
                );
                return;
            }
        };
        for e in iter {
            match e {
                Ok(e) => {
                    let name = e
                        .path()
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let kind = e.header().entry_type();
                    entries.push((name, kind, e.raw_file_position(), e.size()));
                }
                Err(err) => {
                    ctx.add(
                        &rules::UNREADABLE,
                        member,
                        None,
                        format!("tar archive is corrupt: {err}"),
                    );
                    break;
                }
            }
        }
    }
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    let torch = names.contains(&"pickle") && names.contains(&"storages");
    if torch {
        ctx.add(
            &rules::TORCH_LEGACY,
            member,
            None,
            "legacy PyTorch tar checkpoint (torch 0.1.x); every pickle in it was scanned".into(),
        );
    }
    for (name, kind, pos, size) in &entries {
        if name.starts_with('/') || name.split('/').any(|c| c == "..") {
            ctx.add(
                &rules::ARCHIVE_PATH,
                member,
                Some(*pos),
                format!("member name `{name}` is absolute or climbs out with `..`"),
            );
        }
        if kind.is_symlink() || kind.is_hard_link() {
            ctx.add(
                &rules::ARCHIVE_PATH,
                member,
                Some(*pos),
                format!(
                    "member `{name}` is a link; extraction can write or read outside the target"
                ),
            );
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let child = member.child(name);
        let data = blob.slice(*pos, *size);
        match (torch, name.as_str()) {
            (true, "pickle" | "sys_info") => {
                ctx.pickle_stream(&mut data.reader(), Some(&data), &child);
            }
            (true, "storages") => walk_tar_storages(ctx, &data, &child),
            (true, "tensors") => walk_tar_tensors(ctx, &data, &child),
            _ => {
                let base = name.rsplit('/').next().unwrap_or(name).to_string();
                ctx.blob(&data, &child, &base, depth + 1);
            }
        }
    }
}

fn run_one(ctx: &mut Ctx<'_>, inp: &mut Input<'_>, member: &Member) -> Option<pickle::Outcome> {
    let (o, end) = Machine::new(ctx.policy).run(inp);
    ctx.report_outcome(&o, member);
    if end != End::Stop {
        ctx.report_end(&end, member, o.ops);
        return None;
    }
    Some(o)
}

/// The count pickle that starts a legacy `storages` or `tensors` member.
fn legacy_count(
    ctx: &mut Ctx<'_>,
    inp: &mut Input<'_>,
    member: &Member,
    what: &str,
) -> Option<i128> {
    let first = run_one(ctx, inp, member)?;
    let count = first.top_int.unwrap_or(-1);
    if !(0..=1 << 24).contains(&count) {
        ctx.add(
            &rules::UNREADABLE,
            member,
            Some(0),
            format!("the {what} count is not a small integer; the member cannot be walked"),
        );
        return None;
    }
    Some(count)
}

/// Anything after the records a legacy member should end with is trailing data (and scanned).
fn legacy_tail(ctx: &mut Ctx<'_>, inp: &mut Input<'_>, member: &Member, what: &str) {
    if !inp.at_end().unwrap_or(true) {
        let at = inp.pos();
        ctx.add(
            &rules::TRAILING_DATA,
            member,
            Some(at),
            format!("data follows {what} at offset {at}"),
        );
        let s = pickle::scan_stream(ctx.policy, inp, 1);
        ctx.report_stream(&s, member, false);
    }
}

fn walk_tar_storages(ctx: &mut Ctx<'_>, data: &Blob, member: &Member) {
    let mut r = data.reader();
    let mut inp = Input::new(&mut r, Mode::Linear);
    let Some(count) = legacy_count(ctx, &mut inp, member, "storage") else {
        return;
    };
    for _ in 0..count {
        let Some(o) = run_one(ctx, &mut inp, member) else {
            return;
        };
        let at = inp.pos();
        let elsize = o.top_tuple.get(2).and_then(|c| torch_elsize(c));
        let Some(elsize) = elsize else {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(at),
                "a storage record does not name a known storage class; the member cannot be walked"
                    .into(),
            );
            return;
        };
        let res = inp
            .array::<8>()
            .and_then(|b| inp.raw_skip(u64::from_le_bytes(b).saturating_mul(elsize)));
        if let Err(e) = res {
            ctx.add(
                &rules::TORCH_STORAGE,
                member,
                Some(at),
                format!("storage data: {}", read_err(e)),
            );
            return;
        }
    }
    // storage views, then the end.
    if run_one(ctx, &mut inp, member).is_none() {
        return;
    }
    legacy_tail(ctx, &mut inp, member, "the storage records");
}

fn walk_tar_tensors(ctx: &mut Ctx<'_>, data: &Blob, member: &Member) {
    let mut r = data.reader();
    let mut inp = Input::new(&mut r, Mode::Linear);
    let Some(count) = legacy_count(ctx, &mut inp, member, "tensor") else {
        return;
    };
    for _ in 0..count {
        if run_one(ctx, &mut inp, member).is_none() {
            return;
        }
        let at = inp.pos();
        let res = inp.array::<4>().and_then(|nd| {
            let ndim = i32::from_le_bytes(nd);
            if !(0..=64).contains(&ndim) {
                return Err(ReadError::Io(io::Error::other(format!(
                    "tensor with {ndim} dimensions"
                ))));
            }
            inp.raw_skip(4 + 16 * ndim as u64 + 8)
        });
        if let Err(e) = res {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(at),
                format!("tensor record: {}", read_err(e)),
            );
            return;
        }
    }
    legacy_tail(ctx, &mut inp, member, "the tensor records");
}

// ---------------------------------------------------------------------------------------------
// safetensors

/// Bits per element of a safetensors dtype.
fn st_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        _ => return None,
    })
}

/// safetensors: the header is validated as strictly as the reference Rust parser does.
pub(crate) fn scan_safetensors(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let bad =
        |ctx: &mut Ctx<'_>, msg: String| ctx.add(&rules::SAFETENSORS_HEADER, member, Some(0), msg);
    let n = match blob.read_at(0, 8) {
        Ok(b) if b.len() == 8 => u64::from_le_bytes(b.try_into().unwrap_or_default()),
        _ => return bad(ctx, "file shorter than the 8-byte header length".into()),
    };
    if n > 100_000_000 {
        return bad(ctx, format!("header length {n} exceeds the 100 MB limit"));
    }
    if n > blob.len - 8 {
        return bad(
            ctx,
            format!("header length {n} runs past the end of the file"),
        );
    }
    let header = match blob.read_at(8, n as usize) {
        Ok(h) => h,
        Err(e) => {
            return ctx.add(
                &rules::UNREADABLE,
                member,
                Some(8),
                format!("could not read the header: {e}"),
            );
        }
    };
    let map: serde_json::Map<String, Value> = match serde_json::from_slice(&header) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad(ctx, "header is not a JSON object".into()),
        Err(e) => return bad(ctx, format!("header is not valid JSON: {e}")),
    };
    let data_len = blob.len - 8 - n;
    let mut ranges = Vec::new();
    for (name, v) in &map {
        if name == "__metadata__" {
            let ok = v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !ok {
                bad(ctx, "`__metadata__` must map strings to strings".into());
            }
            continue;
        }
        let Some(t) = v.as_object() else {
            bad(ctx, format!("tensor `{name}` is not an object"));
            continue;
        };
        if let Some(k) = t
            .keys()
            .find(|k| !matches!(k.as_str(), "dtype" | "shape" | "data_offsets"))
        {
            bad(ctx, format!("tensor `{name}` has unknown field `{k}`"));
        }
        let dtype = t.get("dtype").and_then(Value::as_str).unwrap_or("");
        let Some(bits) = st_bits(dtype) else {
            bad(ctx, format!("tensor `{name}` has unknown dtype `{dtype}`"));
            continue;
        };
        let shape: Option<Vec<u64>> = t
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect());
        let offs: Option<Vec<u64>> = t
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect());
        let (Some(shape), Some(offs)) = (shape, offs) else {
            bad(
                ctx,
                format!(
                    "tensor `{name}` needs a `shape` of non-negative integers and two `data_offsets`"
                ),
            );
            continue;
        };
        if offs.len() != 2 || offs[0] > offs[1] {
            ctx.add(
                &rules::SAFETENSORS_OFFSETS,
                member,
                Some(8),
                format!("tensor `{name}` has invalid data_offsets {offs:?}"),
            );
            continue;
        }
        let numel = shape
            .iter()
            .try_fold(1u128, |a, &d| a.checked_mul(d as u128));
        let want = numel
            .and_then(|n| n.checked_mul(bits as u128))
            .filter(|b| b % 8 == 0)
            .map(|b| b / 8);
        if want != Some((offs[1] - offs[0]) as u128) {
            ctx.add(&rules::SAFETENSORS_OFFSETS, member, Some(8), format!(
                "tensor `{name}`: shape {shape:?} × {dtype} needs {} bytes but data_offsets cover {}",
                want.map_or("an impossible number of".to_string(), |w| w.to_string()),
                offs[1] - offs[0]
            ));
        }
        ranges.push((offs[0], offs[1], name.clone()));
    }
    ranges.sort();
    let mut expect = 0u64;
    for (b, e, name) in &ranges {
        if *b != expect {
            let what = if *b < expect {
                "overlaps the previous tensor"
            } else {
                "leaves a gap before it"
            };
            ctx.add(
                &rules::SAFETENSORS_OFFSETS,
                member,
                Some((8 + n).saturating_add(*b)),
                format!("tensor `{name}` starts at {b}, which {what} (expected {expect})"),
            );
        }
        expect = expect.max(*e);
    }
    if expect > data_len {
        ctx.add(
            &rules::SAFETENSORS_OFFSETS,
            member,
            Some(8 + n),
            format!("tensors end at {expect} but the buffer has {data_len} bytes"),
        );
    } else if expect < data_len {
        ctx.add(
            &rules::TRAILING_BYTES,
            member,
            Some((8 + n).saturating_add(expect)),
            format!(
                "{} byte(s) follow the last tensor; the reference loader rejects the file",
                data_len - expect
            ),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// GGUF

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
pub(crate) fn scan_gguf(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
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
            if let Some(t) = c.string(v1, 16 << 20)? {
                for why in jinja_escapes(&t) {
                    ctx.add(
                        &rules::GGUF_TEMPLATE,
                        member,
                        Some(at),
                        format!("chat template `{key}` {why}"),
                    );
                }
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

/// Jinja constructs that reach Python objects from a template (SSTI).
pub(crate) fn jinja_escapes(t: &str) -> Vec<String> {
    const PATTERNS: &[(&str, &str)] = &[
        ("__class__", "walks to an object's class (`__class__`)"),
        ("__mro__", "walks the class hierarchy (`__mro__`)"),
        ("__base__", "walks to a base class (`__base__`)"),
        (
            "__subclasses__",
            "lists every loaded class (`__subclasses__`)",
        ),
        (
            "__globals__",
            "reaches a function's globals (`__globals__`)",
        ),
        ("__builtins__", "reaches the builtins (`__builtins__`)"),
        ("__import__", "imports modules (`__import__`)"),
        ("__init__", "reaches a constructor (`__init__`)"),
        ("__getattribute__", "walks attributes (`__getattribute__`)"),
        ("__dict__", "reads an object's namespace (`__dict__`)"),
        ("__code__", "reaches code objects (`__code__`)"),
        (
            "|attr(",
            "uses the `attr` filter to reach attributes by computed name",
        ),
        (
            "| attr(",
            "uses the `attr` filter to reach attributes by computed name",
        ),
        (".mro(", "walks the class hierarchy (`mro()`)"),
        ("\\x5f", "spells `_` as an escape to hide dunder names"),
        ("\\u005f", "spells `_` as an escape to hide dunder names"),
        ("lipsum", "uses `lipsum`, whose globals reach `os`"),
        ("cycler", "uses `cycler`, whose globals reach `os`"),
        ("joiner", "uses `joiner`, whose globals reach `os`"),
        ("popen", "calls `popen`"),
        ("subprocess", "names `subprocess`"),
        ("os.system", "names `os.system`"),
        ("import os", "imports `os`"),
        ("eval(", "calls `eval`"),
        ("exec(", "calls `exec`"),
    ];
    let mut out = Vec::new();
    for (p, why) in PATTERNS {
        if t.contains(p) {
            out.push((*why).to_string());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// ONNX (protobuf wire format, streamed)

#[derive(Clone, Copy, PartialEq, Eq)]
enum Msg {
    Model,
    Graph,
    Node,
    Attribute,
    Tensor,
    Sparse,
    Function,
    Entry,
    Opset,
}

#[derive(Default)]
struct OnnxState {
    domains: Vec<(String, String)>,
    functions: Vec<(String, String)>,
    locations: Vec<String>,
    cur_node: (String, String),
    cur_entry: (String, String),
    cur_locations: Vec<String>,
}

struct Pb<R> {
    r: R,
    pos: u64,
}

impl<R: BufRead> Pb<R> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for i in 0..10 {
            let mut b = [0u8];
            self.r
                .read_exact(&mut b)
                .map_err(|_| format!("truncated varint at {}", self.pos))?;
            self.pos += 1;
            v |= ((b[0] & 0x7f) as u64) << (7 * i);
            if b[0] & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("varint too long at {}", self.pos))
    }
    fn skip(&mut self, n: u64) -> Result<(), String> {
        let got =
            io::copy(&mut (&mut self.r).take(n), &mut io::sink()).map_err(|e| e.to_string())?;
        self.pos += got;
        if got < n {
            return Err(format!(
                "field runs past the end of the file at {}",
                self.pos
            ));
        }
        Ok(())
    }
    fn string(&mut self, n: u64) -> Result<String, String> {
        if n > 1 << 16 {
            self.skip(n)?;
            return Ok(String::new());
        }
        let mut b = vec![0; n as usize];
        self.r
            .read_exact(&mut b)
            .map_err(|_| "truncated string".to_string())?;
        self.pos += n;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
}

fn child_msg(kind: Msg, field: u64) -> Option<Msg> {
    use Msg::*;
    Some(match (kind, field) {
        (Model, 7) => Graph,
        (Model, 8) => Opset,
        (Model, 25) => Function,
        (Graph, 1) => Node,
        (Graph, 5) => Tensor,
        (Graph, 15) => Sparse,
        (Node, 5) => Attribute,
        (Attribute, 5) | (Attribute, 10) => Tensor,
        (Attribute, 6) | (Attribute, 11) => Graph,
        (Attribute, 22) | (Attribute, 23) => Sparse,
        (Sparse, 1) | (Sparse, 2) => Tensor,
        (Tensor, 13) => Entry,
        (Function, 7) => Node,
        _ => return None,
    })
}

fn pb_msg(
    p: &mut Pb<impl BufRead>,
    end: u64,
    kind: Msg,
    st: &mut OnnxState,
    depth: u32,
) -> Result<(), String> {
    if depth > 64 {
        return Err("messages nested more than 64 deep".into());
    }
    let mut fn_name = (String::new(), String::new());
    while p.pos < end {
        let tag = p.varint()?;
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                p.varint()?;
            }
            1 => p.skip(8)?,
            5 => p.skip(4)?,
            2 => {
                let n = p.varint()?;
                if p.pos.checked_add(n).is_none_or(|e| e > end) {
                    return Err(format!("field {field} at {} runs past its message", p.pos));
                }
                if let Some(sub) = child_msg(kind, field) {
                    if sub == Msg::Node {
                        st.cur_node = Default::default();
                    }
                    if sub == Msg::Tensor {
                        st.cur_locations.clear();
                    }
                    pb_msg(p, p.pos + n, sub, st, depth + 1)?;
                    if sub == Msg::Node {
                        let d = std::mem::take(&mut st.cur_node);
                        st.domains.push(d);
                    }
                    if sub == Msg::Tensor {
                        st.locations.append(&mut st.cur_locations);
                    }
                } else {
                    match (kind, field) {
                        (Msg::Node, 4) => st.cur_node.1 = p.string(n)?,
                        (Msg::Node, 7) => st.cur_node.0 = p.string(n)?,
                        (Msg::Entry, 1) => st.cur_entry.0 = p.string(n)?,
                        (Msg::Entry, 2) => st.cur_entry.1 = p.string(n)?,
                        (Msg::Function, 1) => fn_name.1 = p.string(n)?,
                        (Msg::Function, 10) => fn_name.0 = p.string(n)?,
                        _ => p.skip(n)?,
                    }
                }
            }
            w => return Err(format!("unsupported wire type {w} at {}", p.pos)),
        }
    }
    if kind == Msg::Entry {
        let (k, v) = std::mem::take(&mut st.cur_entry);
        if k == "location" {
            st.cur_locations.push(v);
        }
    }
    if kind == Msg::Function {
        st.functions.push(fn_name);
    }
    if p.pos != end {
        return Err("a message overruns its length".into());
    }
    Ok(())
}

const ONNX_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "com.ms.internal.nhwc",
];

/// Canonical paths of the external data files an ONNX model names (that exist beside it).
pub(crate) fn onnx_external_files(path: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let blob = Blob {
        file: std::sync::Arc::new(f),
        start: 0,
        len,
    };
    let mut p = Pb {
        r: BufReader::with_capacity(1 << 16, blob.reader()),
        pos: 0,
    };
    let mut st = OnnxState::default();
    if pb_msg(&mut p, blob.len, Msg::Model, &mut st, 0).is_err() {
        return Vec::new();
    }
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    st.locations
        .iter()
        .filter(|l| !l.starts_with('/') && !l.split(['/', '\\']).any(|c| c == ".."))
        .filter_map(|l| std::fs::canonicalize(dir.join(l)).ok())
        .collect()
}

/// ONNX: external data paths and operator domains.
pub(crate) fn scan_onnx(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let mut p = Pb {
        r: BufReader::with_capacity(1 << 16, blob.reader()),
        pos: 0,
    };
    let mut st = OnnxState::default();
    if let Err(e) = pb_msg(&mut p, blob.len, Msg::Model, &mut st, 0) {
        ctx.add(
            &rules::ONNX_MALFORMED,
            member,
            Some(p.pos),
            format!("not a valid ONNX model: {e}"),
        );
        return;
    }
    let mut reported = std::collections::HashSet::new();
    for (domain, op) in &st.domains {
        if ONNX_DOMAINS.contains(&domain.as_str())
            || st.functions.iter().any(|(d, n)| d == domain && n == op)
        {
            continue;
        }
        if reported.insert(domain.clone()) {
            ctx.add(&rules::ONNX_CUSTOM_DOMAIN, member, None, format!("operator `{op}` comes from the custom domain `{domain}`, which needs a native custom-op library"));
        }
    }
    for loc in &st.locations {
        if !reported.insert(format!("loc:{loc}")) {
            continue;
        }
        let absolute =
            loc.starts_with('/') || loc.starts_with('\\') || loc.as_bytes().get(1) == Some(&b':');
        if absolute || loc.split(['/', '\\']).any(|c| c == "..") {
            ctx.add(&rules::ONNX_EXTERNAL_PATH, member, None, format!("external data location `{loc}` is absolute or climbs out with `..`: loading reads that file"));
            continue;
        }
        if member.0.is_some() {
            continue;
        }
        let target = ctx.file_dir.join(loc);
        match std::fs::symlink_metadata(&target) {
            Err(_) => ctx.add(
                &rules::ONNX_EXTERNAL_MISSING,
                member,
                None,
                format!("external data file `{loc}` does not exist next to the model"),
            ),
            Ok(m) if m.file_type().is_symlink() => {
                let inside = std::fs::canonicalize(&target)
                    .ok()
                    .zip(std::fs::canonicalize(&ctx.root).ok())
                    .is_some_and(|(t, r)| t.starts_with(r));
                let rule = if inside {
                    &rules::ONNX_EXTERNAL_MISSING
                } else {
                    &rules::ONNX_EXTERNAL_PATH
                };
                ctx.add(
                    rule,
                    member,
                    None,
                    format!(
                        "external data file `{loc}` is a symlink{}",
                        if inside {
                            ""
                        } else {
                            " that leaves the model directory"
                        }
                    ),
                );
            }
            Ok(m) => {
                use std::os::unix::fs::MetadataExt;
                if m.nlink() > 1 {
                    ctx.add(&rules::ONNX_EXTERNAL_MISSING, member, None, format!("external data file `{loc}` is a hard link ({} links); it may alias a file outside the model", m.nlink()));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keras

fn keras_walk(
    ctx: &mut Ctx<'_>,
    v: &Value,
    member: &Member,
    found: &mut std::collections::HashSet<String>,
) {
    match v {
        Value::Object(m) => {
            let class = m.get("class_name").and_then(Value::as_str).unwrap_or("");
            let module = m.get("module").and_then(Value::as_str);
            let mut add = |ctx: &mut Ctx<'_>,
                           rule: &'static crate::report::Rule,
                           sev: Option<crate::report::Severity>,
                           msg: String| {
                if found.insert(msg.clone()) {
                    ctx.add_sev(rule, sev, member, None, msg);
                }
            };
            if class == "Lambda" {
                add(ctx, &rules::KERAS_LAMBDA, None, "Lambda layer: its function is serialized Python (bytecode or a function reference)".into());
            }
            if class == "TFSMLayer" {
                let path = m
                    .get("config")
                    .and_then(|c| c.get("filepath"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                add(
                    ctx,
                    &rules::KERAS_TFSMLAYER,
                    None,
                    format!("TFSMLayer loads the SavedModel at `{path}`"),
                );
            }
            if let Some(module) = module
                && module != "keras"
                && !module.starts_with("keras.")
            {
                let name = m.get("config").and_then(Value::as_str).unwrap_or(class);
                let (sev, extra) = match ctx.policy.judge(module, name) {
                    Verdict::Dangerous(why) => {
                        (Some(crate::report::Severity::Critical), format!(": {why}"))
                    }
                    _ => (None, String::new()),
                };
                add(
                    ctx,
                    &rules::KERAS_MODULE,
                    sev,
                    format!("config imports `{name}` from module `{module}`{extra}"),
                );
            }
            if let Some(r) = m.get("registered_name").and_then(Value::as_str)
                && r.contains('>')
            {
                add(
                    ctx,
                    &rules::KERAS_MODULE,
                    Some(crate::report::Severity::Medium),
                    format!("config uses the custom registered object `{r}`"),
                );
            }
            for x in m.values() {
                keras_walk(ctx, x, member, found);
            }
        }
        Value::Array(a) => {
            for x in a {
                keras_walk(ctx, x, member, found);
            }
        }
        _ => {}
    }
}

/// `.keras` archives: `config.json`.
pub(crate) fn scan_keras_config(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let data = match blob.read_at(0, blob.len.min(256 << 20) as usize) {
        Ok(d) => d,
        Err(e) => {
            return ctx.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("could not read config.json: {e}"),
            );
        }
    };
    match serde_json::from_slice::<Value>(&data) {
        Ok(v) => keras_walk(ctx, &v, member, &mut Default::default()),
        Err(e) => ctx.add(
            &rules::KERAS_MALFORMED,
            member,
            None,
            format!("config.json is not valid JSON: {e}"),
        ),
    }
}

/// HDF5 (`.h5` Keras): the `model_config` attribute is JSON stored contiguously in the file.
pub(crate) fn scan_h5(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let needle = b"{\"class_name\"";
    let mut r = BufReader::with_capacity(1 << 20, blob.reader());
    let mut pos = 0u64;
    let mut carry: Vec<u8> = Vec::new();
    let mut hits = Vec::new();
    loop {
        let chunk = match r.fill_buf() {
            Ok([]) => break,
            Ok(c) => c.to_vec(),
            Err(e) => {
                return ctx.add(
                    &rules::UNREADABLE,
                    member,
                    Some(pos),
                    format!("could not read: {e}"),
                );
            }
        };
        r.consume(chunk.len());
        let base = pos - carry.len() as u64;
        let mut window = std::mem::take(&mut carry);
        window.extend_from_slice(&chunk);
        for i in memchr::memmem::find_iter(&window, needle) {
            hits.push(base + i as u64);
        }
        pos += chunk.len() as u64;
        let keep = needle.len() - 1;
        carry = window[window.len().saturating_sub(keep)..].to_vec();
        if hits.len() > 64 {
            break;
        }
    }
    let mut parsed_to = 0u64;
    let mut found = Default::default();
    for at in hits {
        if at < parsed_to {
            continue;
        }
        let rest = blob.slice(at, blob.len);
        let mut de = serde_json::Deserializer::from_reader(BufReader::new(rest.reader()))
            .into_iter::<Value>();
        match de.next() {
            Some(Ok(v)) => {
                parsed_to = at + de.byte_offset() as u64;
                keras_walk(ctx, &v, member, &mut found);
            }
            _ => ctx.add(&rules::KERAS_MALFORMED, member, Some(at), "a Keras config in the HDF5 file is not valid JSON (compressed or cut); it could not be checked".into()),
        }
    }
}
