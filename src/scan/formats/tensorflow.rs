//! TensorFlow graphs (SavedModel `saved_model.pb`, frozen GraphDef `.pb`): every node of the
//! graph and of its function library is read, and the operations that reach outside the tensor
//! computation are reported: Python callbacks (`PyFunc`, `EagerPyFunc`), RPC, file reads and
//! writes (`ReadFile`, `WriteFile`, `MatchingFiles`, dataset and summary readers/writers,
//! `ImmutableConst`), and checkpoint ops (`Save*`, `Restore*`, …) whose path is a constant
//! written into the graph rather than the path the loader feeds in. Checkpoint indexes
//! (`variables.index`, an SSTable) and shards are data.

use super::protobuf::{Val, fields};
use crate::report::Severity;
use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;
use std::collections::{HashMap, HashSet};

/// Operations that run Python or talk to other machines.
const CODE_OPS: &[(&str, &str)] = &[
    (
        "PyFunc",
        "calls a Python function registered in the loading process",
    ),
    (
        "PyFuncStateless",
        "calls a Python function registered in the loading process",
    ),
    (
        "EagerPyFunc",
        "calls a Python function registered in the loading process",
    ),
    ("Rpc", "makes RPC calls to an address it is given"),
    ("TryRpc", "makes RPC calls to an address it is given"),
];

/// Operations that read or write files wherever their inputs say.
const FILE_OPS: &[(&str, &str)] = &[
    ("ReadFile", "reads a file"),
    ("WriteFile", "writes a file"),
    ("MatchingFiles", "lists files matching a pattern"),
    ("ImmutableConst", "memory-maps a file named in the graph"),
    ("WholeFileReader", "reads whole files"),
    ("WholeFileReaderV2", "reads whole files"),
    ("TextLineReader", "reads files"),
    ("TextLineReaderV2", "reads files"),
    ("TFRecordReader", "reads files"),
    ("TFRecordReaderV2", "reads files"),
    ("FixedLengthRecordReader", "reads files"),
    ("FixedLengthRecordReaderV2", "reads files"),
    ("LMDBReader", "reads files"),
    ("TextLineDataset", "reads files"),
    ("TFRecordDataset", "reads files"),
    ("FixedLengthRecordDataset", "reads files"),
    ("CSVDataset", "reads files"),
    ("ExperimentalCSVDataset", "reads files"),
    ("SqlDataset", "opens a database"),
    ("ExperimentalSqlDataset", "opens a database"),
    ("LMDBDataset", "reads files"),
    ("ExperimentalLMDBDataset", "reads files"),
    ("MatchingFilesDataset", "lists files"),
    ("ExperimentalMatchingFilesDataset", "lists files"),
    ("SnapshotDataset", "reads and writes files"),
    ("SnapshotDatasetV2", "reads and writes files"),
    ("SaveDataset", "writes files"),
    ("SaveDatasetV2", "writes files"),
    ("LoadDataset", "reads files"),
    ("DatasetToTFRecord", "writes files"),
    ("ExperimentalDatasetToTFRecord", "writes files"),
    ("CreateSummaryFileWriter", "writes event files"),
    ("CreateSummaryDbWriter", "writes a database"),
    ("WriteSummary", "writes event files"),
    ("WriteScalarSummary", "writes event files"),
    ("WriteHistogramSummary", "writes event files"),
    ("WriteImageSummary", "writes event files"),
    ("WriteAudioSummary", "writes event files"),
    ("WriteGraphSummary", "writes event files"),
    ("WriteRawProtoSummary", "writes event files"),
    ("ImportEvent", "writes event files"),
];

/// Checkpoint and table ops: normal in SavedModels, where the path is the loader's; reported
/// when their path input is a constant the graph itself carries. (op, index of the path input)
const PATH_OPS: &[(&str, usize)] = &[
    ("Save", 0),
    ("SaveV2", 0),
    ("SaveSlices", 0),
    ("Restore", 0),
    ("RestoreV2", 0),
    ("RestoreSlice", 0),
    ("MergeV2Checkpoints", 1),
    ("InitializeTableFromTextFile", 1),
    ("InitializeTableFromTextFileV2", 1),
    ("LoadAndRemapMatrix", 0),
];

/// What an op that always reaches outside the computation does (`None` for other ops).
pub(crate) fn unsafe_op(op: &str) -> Option<&'static str> {
    CODE_OPS
        .iter()
        .chain(FILE_OPS)
        .find(|(o, _)| *o == op)
        .map(|(_, what)| *what)
}

/// Nodes whose value the caller supplies (so a path through them is the loader's choice).
const FED: &[&str] = &[
    "Placeholder",
    "PlaceholderV2",
    "PlaceholderWithDefault",
    "_Arg",
];

#[derive(Default)]
struct Node {
    name: String,
    op: String,
    inputs: Vec<String>,
    /// The string values of a `Const` node, or string attributes of interest.
    strings: Vec<String>,
    /// `PrintV2.output_stream`, `Debug*.debug_urls`, `*Proto.descriptor_source`,
    /// `ImmutableConst.memory_region_name`.
    io_attr: Option<String>,
}

struct Graph {
    /// `None` for the main graph, else the function's name.
    function: Option<String>,
    nodes: Vec<Node>,
    args: HashSet<String>,
}

fn attr_value_strings(v: &[u8], out: &mut Vec<String>) {
    for (f, val) in fields(v).flatten() {
        match (f, val) {
            (2, Val::Bytes(s)) => out.push(String::from_utf8_lossy(s).into_owned()),
            // list.s
            (1, Val::Bytes(list)) => {
                for (lf, lv) in fields(list).flatten() {
                    if let (2, Val::Bytes(s)) = (lf, lv) {
                        out.push(String::from_utf8_lossy(s).into_owned());
                    }
                }
            }
            // tensor.string_val
            (8, Val::Bytes(t)) => {
                for (tf, tv) in fields(t).flatten() {
                    if let (8, Val::Bytes(s)) = (tf, tv)
                        && out.len() < 64
                    {
                        out.push(String::from_utf8_lossy(s).into_owned());
                    }
                }
            }
            _ => {}
        }
    }
}

fn node(buf: &[u8]) -> Result<Node, String> {
    let mut n = Node::default();
    for f in fields(buf) {
        match f? {
            (1, v) => n.name = v.text().ok_or("NodeDef.name is not a string")?,
            (2, v) => n.op = v.text().ok_or("NodeDef.op is not a string")?,
            (3, v) => n
                .inputs
                .push(v.text().ok_or("NodeDef.input is not a string")?),
            (5, Val::Bytes(entry)) => {
                let (mut key, mut value) = (String::new(), &[][..]);
                for e in fields(entry) {
                    match e? {
                        (1, v) => key = v.text().unwrap_or_default(),
                        (2, Val::Bytes(v)) => value = v,
                        _ => {}
                    }
                }
                match key.as_str() {
                    "value" => attr_value_strings(value, &mut n.strings),
                    "output_stream" | "debug_urls" | "descriptor_source" | "memory_region_name"
                    | "file_pattern" => {
                        let mut s = Vec::new();
                        attr_value_strings(value, &mut s);
                        n.io_attr = Some(s.join(", "));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(n)
}

fn function(buf: &[u8]) -> Result<Graph, String> {
    let mut g = Graph {
        function: Some(String::new()),
        nodes: Vec::new(),
        args: HashSet::new(),
    };
    for f in fields(buf) {
        match f? {
            (1, Val::Bytes(sig)) => {
                for s in fields(sig) {
                    match s? {
                        (1, v) => g.function = v.text(),
                        (2, Val::Bytes(arg)) => {
                            for a in fields(arg).flatten() {
                                if let (1, v) = a {
                                    g.args.extend(v.text());
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            (3, Val::Bytes(n)) => g.nodes.push(node(n)?),
            _ => {}
        }
    }
    Ok(g)
}

/// A GraphDef: its main graph and every function of its library.
fn graph_def(buf: &[u8], out: &mut Vec<Graph>) -> Result<(), String> {
    let mut main = Graph {
        function: None,
        nodes: Vec::new(),
        args: HashSet::new(),
    };
    for f in fields(buf) {
        match f? {
            (1, Val::Bytes(n)) => main.nodes.push(node(n)?),
            (2, Val::Bytes(lib)) => {
                for l in fields(lib) {
                    if let (1, Val::Bytes(func)) = l? {
                        out.push(function(func)?);
                    }
                }
            }
            (1 | 2, _) => return Err("GraphDef field of the wrong type".into()),
            _ => {}
        }
    }
    out.push(main);
    Ok(())
}

/// Whether `buf` is a SavedModel: schema version and meta graphs holding a graph_def.
pub(crate) fn is_saved_model(buf: &[u8]) -> bool {
    let mut metas = 0;
    for f in fields(buf) {
        match f {
            Ok((1, Val::Varint(_))) => {}
            Ok((2, Val::Bytes(m))) => {
                if !super::protobuf::conforms(m, |n| (1..=7).contains(&n).then_some(true)) {
                    return false;
                }
                metas += 1;
            }
            _ => return false,
        }
    }
    metas > 0
}

/// Whether `buf` is a GraphDef: nodes that each have a name and an op.
pub(crate) fn is_graph_def(buf: &[u8]) -> bool {
    let mut nodes = 0;
    for f in fields(buf) {
        match f {
            Ok((1, Val::Bytes(n))) => match node(n) {
                Ok(n) if !n.op.is_empty() && !n.name.is_empty() => nodes += 1,
                _ => return false,
            },
            Ok((2 | 4, Val::Bytes(_)) | (3, Val::Varint(_))) => {}
            _ => return false,
        }
    }
    nodes > 0
}

/// The constant strings a node's value comes from, or `None` when some input is fed by the
/// caller (a placeholder or a function argument) or cannot be followed.
fn constant_sources(g: &Graph, by_name: &HashMap<&str, &Node>, input: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut todo = vec![input.to_string()];
    let mut seen = HashSet::new();
    while let Some(name) = todo.pop() {
        if name.starts_with('^') {
            continue;
        }
        let base = name.split(':').next().unwrap_or(&name).to_string();
        if !seen.insert(base.clone()) || seen.len() > 10_000 {
            continue;
        }
        if g.args.contains(&base) {
            return None;
        }
        let n = by_name.get(base.as_str())?;
        if FED.contains(&n.op.as_str()) {
            return None;
        }
        if n.op == "Const" {
            out.extend(n.strings.iter().cloned());
            continue;
        }
        todo.extend(n.inputs.iter().cloned());
    }
    Some(out)
}

fn risky_path(p: &str) -> bool {
    p.starts_with('/')
        || p.starts_with('\\')
        || p.contains("://")
        || p.as_bytes().get(1) == Some(&b':')
        || p.split(['/', '\\']).any(|c| c == "..")
}

fn check_graph(ctx: &mut Ctx<'_>, g: &Graph, member: &Member, reported: &mut HashSet<String>) {
    let by_name: HashMap<&str, &Node> = g.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let place = |n: &Node| match &g.function {
        Some(f) => format!("node `{}` of function `{f}`", n.name),
        None => format!("node `{}`", n.name),
    };
    for n in &g.nodes {
        let mut report = |ctx: &mut Ctx<'_>, sev: Severity, msg: String| {
            if reported.insert(format!("{}:{msg}", n.op)) {
                ctx.add_sev(&rules::TF_UNSAFE_OP, Some(sev), member, None, msg);
            }
        };
        if let Some((_, what)) = CODE_OPS.iter().find(|(op, _)| *op == n.op) {
            report(
                ctx,
                Severity::High,
                format!(
                    "{} is a `{}` op: it {what} when the graph runs",
                    place(n),
                    n.op
                ),
            );
        } else if let Some((_, what)) = FILE_OPS.iter().find(|(op, _)| *op == n.op) {
            let path = n
                .inputs
                .first()
                .and_then(|i| constant_sources(g, &by_name, i))
                .filter(|s| !s.is_empty())
                .map(|s| format!(" (path `{}` is written into the graph)", s.join("`, `")))
                .or_else(|| n.io_attr.as_ref().map(|a| format!(" (`{a}`)")))
                .unwrap_or_default();
            report(
                ctx,
                Severity::High,
                format!(
                    "{} is a `{}` op: it {what} when the graph runs{path}",
                    place(n),
                    n.op
                ),
            );
        } else if let Some((_, idx)) = PATH_OPS.iter().find(|(op, _)| *op == n.op) {
            if let Some(consts) = n
                .inputs
                .get(*idx)
                .and_then(|i| constant_sources(g, &by_name, i))
                && !consts.is_empty()
            {
                let sev = if consts.iter().any(|c| risky_path(c)) {
                    Severity::Critical
                } else {
                    Severity::High
                };
                report(
                    ctx,
                    sev,
                    format!(
                        "{} is a `{}` op whose file path is the constant `{}` written into the graph, not the path the loader supplies",
                        place(n),
                        n.op,
                        consts.join("`, `")
                    ),
                );
            }
        } else if n.op == "PrintV2"
            && let Some(out) = &n.io_attr
            && out.starts_with("file://")
        {
            report(
                ctx,
                Severity::High,
                format!("{} prints to the file `{out}`", place(n)),
            );
        } else if n.op.starts_with("Debug")
            && let Some(urls) = &n.io_attr
            && !urls.is_empty()
        {
            report(
                ctx,
                Severity::High,
                format!(
                    "{} is a `{}` op sending tensors to `{urls}`",
                    place(n),
                    n.op
                ),
            );
        } else if (n.op == "EncodeProto" || n.op.starts_with("DecodeProto"))
            && let Some(src) = &n.io_attr
            && !src.is_empty()
            && src != "local://"
        {
            report(
                ctx,
                Severity::High,
                format!("{} reads protobuf descriptors from `{src}`", place(n)),
            );
        }
    }
}

/// Read a TensorFlow graph (`saved`: a SavedModel, else a GraphDef) and report its unsafe ops.
pub(crate) fn scan(ctx: &mut Ctx<'_>, buf: &[u8], member: &Member, saved: bool) {
    let mut graphs = Vec::new();
    let parsed = if saved {
        fields(buf).try_for_each(|f| -> Result<(), String> {
            if let (2, Val::Bytes(meta)) = f? {
                for m in fields(meta) {
                    if let (2, Val::Bytes(g)) = m? {
                        graph_def(g, &mut graphs)?;
                    }
                }
            }
            Ok(())
        })
    } else {
        graph_def(buf, &mut graphs)
    };
    if let Err(e) = parsed {
        ctx.add(
            &rules::FORMAT_MALFORMED,
            member,
            None,
            format!("TensorFlow graph could not be parsed: {e}"),
        );
        return;
    }
    let mut reported = HashSet::new();
    for g in &graphs {
        check_graph(ctx, g, member, &mut reported);
    }
}

/// SSTable magic number at the end of a checkpoint index (`variables.index`).
const SSTABLE_MAGIC: [u8; 8] = 0xdb47_7524_8b80_fb57u64.to_le_bytes();

/// A checkpoint index: data (tensor names, shapes and offsets), recognised by its footer.
pub(crate) fn scan_index(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let tail = blob
        .read_at(blob.len.saturating_sub(8), 8)
        .unwrap_or_default();
    if blob.len < 48 || tail != SSTABLE_MAGIC {
        ctx.add(
            &rules::FORMAT_MALFORMED,
            member,
            None,
            "named like a TensorFlow checkpoint index but has no SSTable footer".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(field: u32, body: &[u8]) -> Vec<u8> {
        let mut v = vec![(field << 3 | 2) as u8];
        let mut n = body.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                v.push(b);
                break;
            }
            v.push(b | 0x80);
        }
        v.extend_from_slice(body);
        v
    }

    /// A NodeDef; `value` makes it a string Const.
    pub(crate) fn node_def(name: &str, op: &str, inputs: &[&str], value: Option<&str>) -> Vec<u8> {
        let mut n = ld(1, name.as_bytes());
        n.extend(ld(2, op.as_bytes()));
        for i in inputs {
            n.extend(ld(3, i.as_bytes()));
        }
        if let Some(v) = value {
            let tensor = ld(8, v.as_bytes());
            let attr = ld(8, &tensor);
            let mut entry = ld(1, b"value");
            entry.extend(ld(2, &attr));
            n.extend(ld(5, &entry));
        }
        n
    }

    fn graph(nodes: &[Vec<u8>]) -> Vec<u8> {
        nodes.iter().flat_map(|n| ld(1, n)).collect()
    }

    #[test]
    fn graph_defs_and_saved_models_are_told_apart() {
        let g = graph(&[node_def("x", "Placeholder", &[], None)]);
        assert!(is_graph_def(&g));
        let mut sm = vec![0x08, 0x01];
        sm.extend(ld(2, &ld(2, &g)));
        assert!(is_saved_model(&sm));
        assert!(!is_graph_def(&sm));
        // An ONNX TensorProto (dims, data_type, raw_data) is neither.
        let t = b"\x08\x02\x08\x03\x10\x01\x4a\x04\x00\x00\x80\x3f";
        assert!(!is_graph_def(t) && !is_saved_model(t));
    }

    #[test]
    fn checkpoint_paths_from_the_loader_are_fine_constant_ones_are_not() {
        // TF1 saver: the path comes from a PlaceholderWithDefault.
        let fed = graph(&[
            node_def("save/filename/input", "Const", &[], Some("model")),
            node_def(
                "save/filename",
                "PlaceholderWithDefault",
                &["save/filename/input"],
                None,
            ),
            node_def("save/SaveV2", "SaveV2", &["save/filename", "t", "s"], None),
        ]);
        let hard = graph(&[
            node_def("p", "Const", &[], Some("/home/user/.ssh/authorized_keys")),
            node_def("join", "StringJoin", &["p"], None),
            node_def("save", "SaveV2", &["join", "t", "s"], None),
        ]);
        for (g, want) in [(&fed, None), (&hard, Some(true))] {
            let mut graphs = Vec::new();
            graph_def(g, &mut graphs).unwrap();
            let main = graphs.last().unwrap();
            let by_name: HashMap<&str, &Node> =
                main.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
            let save = main.nodes.last().unwrap();
            let c = constant_sources(main, &by_name, &save.inputs[0]);
            assert_eq!(c.map(|c| c.iter().any(|p| risky_path(p))), want);
        }
    }
}
