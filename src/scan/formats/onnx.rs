//! ONNX (protobuf wire format, streamed): external data paths and operator domains.

use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;
use std::io::{self, BufRead, BufReader, Read};

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
pub(crate) fn external_files(path: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(f) = crate::util::fs::open_regular(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let blob = Blob::whole(f, len);
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
pub(crate) fn scan(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
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

/// An ONNX TensorProto file (test inputs and outputs): its external data location, if any,
/// must stay inside the model folder like a model's.
pub(crate) fn check_tensor_locations(ctx: &mut Ctx<'_>, buf: &[u8], member: &Member) {
    use super::protobuf::{Val, fields};
    for (f, v) in fields(buf).flatten() {
        let (13, Val::Bytes(entry)) = (f, v) else {
            continue;
        };
        let mut kv = (String::new(), String::new());
        for (k, val) in fields(entry).flatten() {
            match k {
                1 => kv.0 = val.text().unwrap_or_default(),
                2 => kv.1 = val.text().unwrap_or_default(),
                _ => {}
            }
        }
        let loc = kv.1;
        if kv.0 == "location"
            && (loc.starts_with('/')
                || loc.starts_with('\\')
                || loc.as_bytes().get(1) == Some(&b':')
                || loc.split(['/', '\\']).any(|c| c == ".."))
        {
            ctx.add(
                &rules::ONNX_EXTERNAL_PATH,
                member,
                None,
                format!("tensor external data location `{loc}` is absolute or climbs out with `..`: loading the tensor reads that file"),
            );
        }
    }
}
