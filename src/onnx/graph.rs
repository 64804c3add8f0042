//! What `fuzz` reads from an ONNX graph beyond what ONNX Runtime reports: the nodes (operator,
//! inputs, outputs, the attributes that matter), small constant tensors and the opset. It is a
//! minimal protobuf walker over the model file, hardened for hostile input: every length is
//! checked against the bytes left, large tensors are skipped without being read into memory,
//! nesting is bounded, and nothing here ever panics or allocates from a size the file claims.
//!
//! Only what the planner and the output oracles use is kept (see `fuzz::infer`): node
//! `op_type`/`domain`/inputs/outputs, integer, float and string attributes, subgraph nodes
//! (flattened, for `If`/`Loop` bodies), and constants (initializers and `Constant` nodes) of at
//! most [`SMALL_TENSOR`] elements with their values.

use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Constants with at most this many elements keep their values.
pub const SMALL_TENSOR: u64 = 4096;
/// A node message larger than this is skipped (nodes are small; a huge one is a `Constant`
/// holding weights).
const MAX_NODE: u64 = 16 << 20;
/// Subgraph nesting depth kept.
const MAX_DEPTH: u32 = 8;

/// One attribute value (only the kinds the planner reads).
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Str(String),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Strs(Vec<String>),
    Tensor(Const),
    Graph,
}

/// A node of the graph (or of a subgraph, with `depth` > 0).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    pub op: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<(String, Attr)>,
    pub depth: u32,
    /// The output names of each subgraph attribute (`If`: then, else; `Loop`: body).
    pub branches: Vec<Vec<String>>,
}

impl Node {
    /// An attribute by name.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// An integer attribute.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.attr(name)? {
            Attr::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A string attribute.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.attr(name)? {
            Attr::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A constant tensor: its dims, ONNX element type and (when small and stored inline) values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Const {
    pub dims: Vec<i64>,
    pub data_type: i32,
    /// The values as f64, when the tensor is numeric, small and inline.
    pub values: Option<Vec<f64>>,
}

/// The parts of a model `fuzz` reads.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Nodes of the main graph, then of subgraphs (depth > 0).
    pub nodes: Vec<Node>,
    /// Initializers and `Constant` node outputs by name.
    pub consts: HashMap<String, Const>,
    /// Opset of the default domain (0 when absent).
    pub opset: i64,
}

impl Graph {
    /// The node producing `name` in the main graph.
    pub fn producer(&self, name: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.depth == 0 && n.outputs.iter().any(|o| o == name))
    }

    /// The node producing `name` at any depth (names are unique across scopes).
    pub fn producer_any(&self, name: &str) -> Option<&Node> {
        self.producer(name).or_else(|| {
            self.nodes
                .iter()
                .find(|n| n.outputs.iter().any(|o| o == name))
        })
    }

    /// Nodes (any depth) that read `name`.
    pub fn consumers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes
            .iter()
            .filter(move |n| n.inputs.iter().any(|i| i == name))
    }
}

/// Why a model's graph could not be read; `fuzz` then plans without it.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("cannot read the model file: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed protobuf: {0}")]
    Malformed(String),
}

fn bad(m: impl Into<String>) -> GraphError {
    GraphError::Malformed(m.into())
}

/// Read the graph of the model at `path`, streaming (large tensors are skipped, not read).
pub fn read(path: &Path) -> Result<Graph, GraphError> {
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    read_from(BufReader::with_capacity(1 << 16, f), len)
}

/// Parse a model held in memory (tests and the cargo-fuzz target).
pub fn read_bytes(bytes: &[u8]) -> Result<Graph, GraphError> {
    read_from(std::io::Cursor::new(bytes), bytes.len() as u64)
}

/// ModelProto: graph = 7, opset_import = 8.
fn read_from<R: Read + Seek>(r: R, len: u64) -> Result<Graph, GraphError> {
    let mut s = Stream { r, pos: 0 };
    let mut g = Graph::default();
    while s.pos < len {
        let (field, wire) = s.tag()?;
        match (field, wire) {
            (7, 2) => {
                let n = s.len(len)?;
                let end = s.pos + n;
                read_graph(&mut s, end, &mut g)?;
            }
            (8, 2) => {
                let n = s.len(len)?;
                let buf = s.bytes(n)?;
                let (mut domain, mut version) = (String::new(), 0i64);
                for f in Fields::new(&buf) {
                    match f? {
                        (1, Value::Bytes(b)) => domain = String::from_utf8_lossy(b).into_owned(),
                        (2, Value::Varint(v)) => version = v as i64,
                        _ => {}
                    }
                }
                if domain.is_empty() || domain == "ai.onnx" {
                    g.opset = g.opset.max(version);
                }
            }
            _ => s.skip_value(wire, len)?,
        }
    }
    Ok(g)
}

/// GraphProto, streamed up to `end`: node = 1, initializer = 5.
fn read_graph<R: Read + Seek>(
    s: &mut Stream<R>,
    end: u64,
    g: &mut Graph,
) -> Result<(), GraphError> {
    while s.pos < end {
        let (field, wire) = s.tag()?;
        match (field, wire) {
            (1, 2) => {
                let n = s.len(end)?;
                if n > MAX_NODE {
                    s.skip(n)?;
                    continue;
                }
                let buf = s.bytes(n)?;
                parse_node(&buf, 0, g)?;
            }
            (5, 2) => {
                let n = s.len(end)?;
                let stop = s.pos + n;
                let (name, c) = read_tensor(s, stop)?;
                if !name.is_empty() {
                    g.consts.insert(name, c);
                }
            }
            _ => s.skip_value(wire, end)?,
        }
    }
    if s.pos != end {
        return Err(bad("a graph field overruns its message"));
    }
    Ok(())
}

/// TensorProto, streamed: dims = 1, data_type = 2, float_data = 4, int32_data = 5,
/// int64_data = 7, name = 8, raw_data = 9, double_data = 10, uint64_data = 11.
fn read_tensor<R: Read + Seek>(s: &mut Stream<R>, end: u64) -> Result<(String, Const), GraphError> {
    let mut name = String::new();
    let mut c = Const::default();
    let mut vals: Vec<f64> = Vec::new();
    let mut raw: Option<Vec<u8>> = None;
    let mut too_big = false;
    while s.pos < end {
        let (field, wire) = s.tag()?;
        match (field, wire) {
            (1, 0) => c.dims.push(s.varint()? as i64),
            (2, 0) => c.data_type = s.varint()? as i32,
            (8, 2) => {
                let n = s.len(end)?;
                if n > 1 << 16 {
                    return Err(bad("tensor name longer than 64 KiB"));
                }
                name = String::from_utf8_lossy(&s.bytes(n)?).into_owned();
            }
            (1 | 4 | 5 | 7 | 9 | 10 | 11, 2) => {
                let n = s.len(end)?;
                if n > SMALL_TENSOR * 8 {
                    too_big = true;
                    s.skip(n)?;
                    continue;
                }
                let buf = s.bytes(n)?;
                match field {
                    1 => c
                        .dims
                        .extend(packed_varints(&buf)?.into_iter().map(|v| v as i64)),
                    4 => vals.extend(
                        buf.chunks_exact(4)
                            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
                    ),
                    10 => vals.extend(
                        buf.chunks_exact(8)
                            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
                    ),
                    5 | 7 => vals.extend(packed_varints(&buf)?.into_iter().map(|v| {
                        if field == 5 {
                            v as i32 as f64
                        } else {
                            v as i64 as f64
                        }
                    })),
                    11 => vals.extend(packed_varints(&buf)?.into_iter().map(|v| v as f64)),
                    _ => raw = Some(buf),
                }
            }
            (5 | 7 | 11, 0) => {
                let v = s.varint()?;
                vals.push(match field {
                    5 => v as i32 as f64,
                    7 => v as i64 as f64,
                    _ => v as f64,
                });
            }
            (4, 5) => vals.push(f32::from_le_bytes(s.fixed::<4>()?) as f64),
            (10, 1) => vals.push(f64::from_le_bytes(s.fixed::<8>()?)),
            _ => s.skip_value(wire, end)?,
        }
    }
    if s.pos != end {
        return Err(bad("a tensor field overruns its message"));
    }
    c.values = tensor_values(&c, vals, raw, too_big);
    Ok((name, c))
}

/// The values of a small numeric tensor, when they are all there.
fn tensor_values(
    c: &Const,
    vals: Vec<f64>,
    raw: Option<Vec<u8>>,
    too_big: bool,
) -> Option<Vec<f64>> {
    if too_big {
        return None;
    }
    let count = c
        .dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(u64::try_from(d).ok()?))?;
    if count > SMALL_TENSOR {
        return None;
    }
    let values = match raw {
        Some(raw) => decode_raw(c.data_type, &raw)?,
        None => vals,
    };
    (values.len() as u64 == count).then_some(values)
}

/// Little-endian raw data of ONNX element type `t` as f64.
fn decode_raw(t: i32, raw: &[u8]) -> Option<Vec<f64>> {
    fn le<const N: usize>(raw: &[u8], f: impl Fn([u8; N]) -> f64) -> Vec<f64> {
        raw.chunks_exact(N)
            .map(|b| f(b.try_into().unwrap_or([0; N])))
            .collect()
    }
    Some(match t {
        1 => le::<4>(raw, |b| f32::from_le_bytes(b) as f64),
        2 => le::<1>(raw, |b| b[0] as f64),
        3 => le::<1>(raw, |b| b[0] as i8 as f64),
        4 => le::<2>(raw, |b| u16::from_le_bytes(b) as f64),
        5 => le::<2>(raw, |b| i16::from_le_bytes(b) as f64),
        6 => le::<4>(raw, |b| i32::from_le_bytes(b) as f64),
        7 => le::<8>(raw, |b| i64::from_le_bytes(b) as f64),
        9 => le::<1>(raw, |b| (b[0] != 0) as u8 as f64),
        11 => le::<8>(raw, f64::from_le_bytes),
        12 => le::<4>(raw, |b| u32::from_le_bytes(b) as f64),
        13 => le::<8>(raw, |b| u64::from_le_bytes(b) as f64),
        _ => return None,
    })
}

/// NodeProto (in memory): input = 1, output = 2, op_type = 4, attribute = 5, domain = 7.
fn parse_node(buf: &[u8], depth: u32, g: &mut Graph) -> Result<(), GraphError> {
    let mut node = Node {
        depth,
        ..Node::default()
    };
    let mut subgraphs: Vec<&[u8]> = Vec::new();
    for f in Fields::new(buf) {
        match f? {
            (1, Value::Bytes(b)) => node.inputs.push(String::from_utf8_lossy(b).into_owned()),
            (2, Value::Bytes(b)) => node.outputs.push(String::from_utf8_lossy(b).into_owned()),
            (4, Value::Bytes(b)) => node.op = String::from_utf8_lossy(b).into_owned(),
            (7, Value::Bytes(b)) => node.domain = String::from_utf8_lossy(b).into_owned(),
            (5, Value::Bytes(b)) => {
                if let Some(a) = parse_attr(b, &mut subgraphs)? {
                    node.attrs.push(a);
                }
            }
            _ => {}
        }
    }
    if node.op == "Constant"
        && let (Some(out), Some(Attr::Tensor(c))) = (node.outputs.first(), node.attr("value"))
    {
        g.consts.insert(out.clone(), c.clone());
    } else if node.op == "Constant"
        && let Some(out) = node.outputs.first()
    {
        // value_int / value_ints / value_float / value_floats
        let c = match node.attrs.first().map(|(_, a)| a) {
            Some(Attr::Int(i)) => Some(Const {
                dims: vec![],
                data_type: 7,
                values: Some(vec![*i as f64]),
            }),
            Some(Attr::Ints(v)) => Some(Const {
                dims: vec![v.len() as i64],
                data_type: 7,
                values: Some(v.iter().map(|&x| x as f64).collect()),
            }),
            Some(Attr::Float(f)) => Some(Const {
                dims: vec![],
                data_type: 1,
                values: Some(vec![*f as f64]),
            }),
            Some(Attr::Floats(v)) => Some(Const {
                dims: vec![v.len() as i64],
                data_type: 1,
                values: Some(v.iter().map(|&x| x as f64).collect()),
            }),
            _ => None,
        };
        if let Some(c) = c {
            g.consts.insert(out.clone(), c);
        }
    }
    for sub in &subgraphs {
        let mut outputs = Vec::new();
        for f in Fields::new(sub) {
            if let (12, Value::Bytes(vi)) = f? {
                for f in Fields::new(vi) {
                    if let (1, Value::Bytes(name)) = f? {
                        outputs.push(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
        }
        node.branches.push(outputs);
    }
    g.nodes.push(node);
    if depth < MAX_DEPTH {
        for sub in subgraphs {
            for f in Fields::new(sub) {
                match f? {
                    (1, Value::Bytes(b)) => parse_node(b, depth + 1, g)?,
                    (5, Value::Bytes(b)) => {
                        let mut s = Stream {
                            r: std::io::Cursor::new(b),
                            pos: 0,
                        };
                        let (name, c) = read_tensor(&mut s, b.len() as u64)?;
                        if !name.is_empty() {
                            g.consts.insert(name, c);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// AttributeProto: name = 1, f = 2, i = 3, s = 4, t = 5, g = 6, floats = 7, ints = 8,
/// strings = 9, graphs = 11. Subgraphs are handed back for the caller to walk.
fn parse_attr<'a>(
    buf: &'a [u8],
    subgraphs: &mut Vec<&'a [u8]>,
) -> Result<Option<(String, Attr)>, GraphError> {
    let mut name = String::new();
    let mut value = None;
    let mut ints = Vec::new();
    let mut floats = Vec::new();
    let mut strs = Vec::new();
    for f in Fields::new(buf) {
        match f? {
            (1, Value::Bytes(b)) => name = String::from_utf8_lossy(b).into_owned(),
            (2, Value::Fixed32(v)) => value = Some(Attr::Float(f32::from_bits(v))),
            (3, Value::Varint(v)) => value = Some(Attr::Int(v as i64)),
            (4, Value::Bytes(b)) => {
                value = Some(Attr::Str(String::from_utf8_lossy(b).into_owned()))
            }
            (5, Value::Bytes(b)) => {
                let mut s = Stream {
                    r: std::io::Cursor::new(b),
                    pos: 0,
                };
                value = Some(Attr::Tensor(read_tensor(&mut s, b.len() as u64)?.1));
            }
            (6 | 11, Value::Bytes(b)) => {
                subgraphs.push(b);
                value = Some(Attr::Graph);
            }
            (7, Value::Fixed32(v)) => floats.push(f32::from_bits(v)),
            (7, Value::Bytes(b)) => floats.extend(
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            (8, Value::Varint(v)) => ints.push(v as i64),
            (8, Value::Bytes(b)) => ints.extend(packed_varints(b)?.into_iter().map(|v| v as i64)),
            (9, Value::Bytes(b)) => strs.push(String::from_utf8_lossy(b).into_owned()),
            _ => {}
        }
    }
    let value = value.or(if !ints.is_empty() {
        Some(Attr::Ints(ints))
    } else if !floats.is_empty() {
        Some(Attr::Floats(floats))
    } else if !strs.is_empty() {
        Some(Attr::Strs(strs))
    } else {
        None
    });
    Ok(value.map(|v| (name, v)))
}

fn packed_varints(buf: &[u8]) -> Result<Vec<u64>, GraphError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < buf.len() {
        let (v, n) = varint_at(buf, i)?;
        out.push(v);
        i += n;
    }
    Ok(out)
}

fn varint_at(buf: &[u8], at: usize) -> Result<(u64, usize), GraphError> {
    let mut v = 0u64;
    for k in 0..10 {
        let b = *buf
            .get(at + k)
            .ok_or_else(|| bad(format!("truncated varint at {at}")))?;
        v |= u64::from(b & 0x7f) << (7 * k);
        if b & 0x80 == 0 {
            return Ok((v, k + 1));
        }
    }
    Err(bad(format!("varint too long at {at}")))
}

/// A field's value in an in-memory message.
enum Value<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64,
    Bytes(&'a [u8]),
}

/// The fields of an in-memory message, in order; a malformed one ends the walk with an error.
struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Fields {
            buf,
            at: 0,
            failed: false,
        }
    }

    fn next_field(&mut self) -> Result<(u64, Value<'a>), GraphError> {
        let (tag, n) = varint_at(self.buf, self.at)?;
        self.at += n;
        let field = tag >> 3;
        let value = match tag & 7 {
            0 => {
                let (v, n) = varint_at(self.buf, self.at)?;
                self.at += n;
                Value::Varint(v)
            }
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let (len, n) = varint_at(self.buf, self.at)?;
                self.at += n;
                let len = usize::try_from(len).map_err(|_| bad("length overflows"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            w => return Err(bad(format!("unsupported wire type {w}"))),
        };
        Ok((field, value))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], GraphError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| bad("a field runs past the end of its message"))?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), GraphError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.buf.len() {
            return None;
        }
        let r = self.next_field();
        self.failed = r.is_err();
        Some(r)
    }
}

/// A streamed message: a reader and the position in it.
struct Stream<R> {
    r: R,
    pos: u64,
}

impl<R: Read + Seek> Stream<R> {
    fn byte(&mut self) -> Result<u8, GraphError> {
        let mut b = [0u8; 1];
        self.r
            .read_exact(&mut b)
            .map_err(|_| bad(format!("truncated at {}", self.pos)))?;
        self.pos += 1;
        Ok(b[0])
    }

    fn varint(&mut self) -> Result<u64, GraphError> {
        let mut v = 0u64;
        for k in 0..10 {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << (7 * k);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad(format!("varint too long at {}", self.pos)))
    }

    fn tag(&mut self) -> Result<(u64, u64), GraphError> {
        let t = self.varint()?;
        Ok((t >> 3, t & 7))
    }

    /// A length that must fit before `end`.
    fn len(&mut self, end: u64) -> Result<u64, GraphError> {
        let n = self.varint()?;
        if self.pos.checked_add(n).is_none_or(|e| e > end) {
            return Err(bad(format!(
                "a field of {n} bytes at {} runs past the end of its message",
                self.pos
            )));
        }
        Ok(n)
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, GraphError> {
        let mut buf = Vec::new();
        (&mut self.r)
            .take(n)
            .read_to_end(&mut buf)
            .map_err(GraphError::Io)?;
        if buf.len() as u64 != n {
            return Err(bad(format!("truncated at {}", self.pos)));
        }
        self.pos += n;
        Ok(buf)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], GraphError> {
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|_| bad(format!("truncated at {}", self.pos)))?;
        self.pos += N as u64;
        Ok(b)
    }

    fn skip(&mut self, n: u64) -> Result<(), GraphError> {
        let n_i = i64::try_from(n).map_err(|_| bad("length overflows"))?;
        self.r.seek(SeekFrom::Current(n_i))?;
        self.pos += n;
        Ok(())
    }

    fn skip_value(&mut self, wire: u64, end: u64) -> Result<(), GraphError> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.fixed::<8>().map(|_| ()),
            2 => {
                let n = self.len(end)?;
                self.skip(n)
            }
            5 => self.fixed::<4>().map(|_| ()),
            w => Err(bad(format!("unsupported wire type {w} at {}", self.pos))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    fn field(n: u64, bytes: &[u8], out: &mut Vec<u8>) {
        varint(n << 3 | 2, out);
        varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }

    /// A model with one Gather on a [5, 2] table and an Equal against a scalar constant.
    fn model() -> Vec<u8> {
        let mut gather = Vec::new();
        field(1, b"table", &mut gather);
        field(1, b"ids", &mut gather);
        field(2, b"emb", &mut gather);
        field(4, b"Gather", &mut gather);
        let mut attr = Vec::new();
        field(1, b"axis", &mut attr);
        varint(3 << 3, &mut attr);
        varint(0, &mut attr);
        field(5, &attr, &mut gather);
        let mut table = Vec::new();
        varint(1 << 3, &mut table);
        varint(5, &mut table);
        varint(1 << 3, &mut table);
        varint(2, &mut table);
        varint(2 << 3, &mut table);
        varint(1, &mut table);
        field(8, b"table", &mut table);
        field(9, &[0u8; 40], &mut table);
        let mut k = Vec::new();
        varint(2 << 3, &mut k);
        varint(7, &mut k);
        field(
            7,
            &{
                let mut p = Vec::new();
                varint(16000, &mut p);
                p
            },
            &mut k,
        );
        let mut kattr = Vec::new();
        field(1, b"value", &mut kattr);
        field(5, &k, &mut kattr);
        let mut constant = Vec::new();
        field(2, b"k", &mut constant);
        field(4, b"Constant", &mut constant);
        field(5, &kattr, &mut constant);
        let mut graph = Vec::new();
        field(1, &gather, &mut graph);
        field(1, &constant, &mut graph);
        field(5, &table, &mut graph);
        let mut m = Vec::new();
        varint(1 << 3, &mut m);
        varint(8, &mut m);
        field(7, &graph, &mut m);
        m
    }

    #[test]
    fn reads_nodes_attributes_and_constants() {
        let g = read_bytes(&model()).unwrap();
        assert_eq!(g.nodes.len(), 2);
        let gather = &g.nodes[0];
        assert_eq!(gather.op, "Gather");
        assert_eq!(gather.inputs, ["table", "ids"]);
        assert_eq!(gather.int("axis"), Some(0));
        assert_eq!(g.consts["table"].dims, [5, 2]);
        assert_eq!(g.consts["table"].values.as_ref().map(Vec::len), Some(10));
        assert_eq!(g.consts["k"].values, Some(vec![16000.0]));
        assert_eq!(g.producer("emb").map(|n| n.op.as_str()), Some("Gather"));
        assert_eq!(g.consumers("ids").count(), 1);
    }

    #[test]
    fn truncations_and_overruns_are_errors_not_panics() {
        let m = model();
        for cut in 0..m.len() {
            let _ = read_bytes(&m[..cut]);
        }
        // A length far past the end.
        let mut m = Vec::new();
        varint(7 << 3 | 2, &mut m);
        varint(u64::MAX >> 1, &mut m);
        assert!(read_bytes(&m).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(478594103297), ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_bytes(&bytes);
            let mut m = model();
            let at = bytes.first().map_or(0, |&b| b as usize % m.len());
            m.splice(at..at, bytes.iter().copied());
            let _ = read_bytes(&m);
        }
    }
}
