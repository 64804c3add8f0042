//! `scan` on the formats issue 14 found unread or misread in real downloads, each from a minimal
//! file written here: TorchScript, skops, joblib `ZF`, LZ4 and zstd wrappers, TFLite,
//! TensorFlow graphs, CoreML, word vectors, SentencePiece, ONNX test tensors, chat templates.

use crate::common::{code, run, stdout};
use crate::scan_fixtures::{EVIL, Method, PLAIN, ld, tf_graph, tf_node, vi, zip};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// Scan `name` in `dir`: exit code, rule ids of failing findings, the report.
fn scan(dir: &Path, name: &str) -> (i32, Vec<String>, Value) {
    let o = run(dir, &["scan", name, "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    let rules = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    (code(&o), rules, v)
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

/// A `torch.jit.save` archive: a TorchScript module with one float parameter.
fn torchscript(code_py: &str) -> Vec<u8> {
    let data_pkl: &[u8] = b"\x80\x02c__torch__.m\nM\n)\x81}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00K\x01\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRsb.";
    zip(&[
        ("m/data.pkl", data_pkl, Method::Stored),
        ("m/code/__torch__/m.py", code_py.as_bytes(), Method::Deflate),
        (
            "m/code/__torch__/m.py.debug_pkl",
            b"\x80\x02).",
            Method::Deflate,
        ),
        ("m/constants.pkl", b"\x80\x02).", Method::Stored),
        ("m/data/0", &[0, 0, 0x80, 0x3f], Method::Stored),
        ("m/version", b"3\n", Method::Stored),
    ])
}

#[test]
fn torchscript_is_read_as_torchscript_issue_14_item_2() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let clean = "class M(Module):\n  __parameters__ = [\"w\", ]\n  w : Tensor\n  def forward(self: __torch__.m.M,\n    x: Tensor) -> Tensor:\n    _0 = ops.prim.device(x)\n    return torch.add(torch.to(self.w, _0), x)\n";
    write(d, "clean.pt", &torchscript(clean));
    let (c, rules, v) = scan(d, "clean.pt");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    assert_eq!(v["facts"]["formats"]["torchscript"], 1);
    // Its code/ is TorchScript, not Python a loader imports.
    assert!(!v.to_string().contains("scan/python-code"));
    let evil = clean.replace(
        "    return",
        "    _1 = torch.from_file(\"/etc/shadow\", False, 16)\n    _2 = ops.myvendor.op(x)\n    return",
    );
    write(d, "evil.pt", &torchscript(&evil));
    let (c, rules, _) = scan(d, "evil.pt");
    assert_eq!(c, 1);
    assert!(
        rules.contains(&"scan/torchscript-code".to_string()),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"scan/torchscript-custom-op".to_string()),
        "{rules:?}"
    );
}

#[test]
fn skops_schema_names_are_judged_issue_14_item_5() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let schema = |func: &str| {
        format!(
            r#"{{"__class__": "FunctionTransformer", "__module__": "sklearn.preprocessing._function_transformer", "__loader__": "ObjectNode", "__id__": 1, "content": {{"func": {func}, "validate": {{"__class__": "bool", "__module__": "builtins", "__loader__": "JsonNode", "content": "false"}}}}, "protocol": 2, "_skops_version": "0.10.0"}}"#
        )
    };
    let evil = schema(
        r#"{"__class__": "system", "__module__": "posix", "__loader__": "FunctionNode", "__id__": 2}"#,
    );
    write(
        d,
        "evil.skops",
        &zip(&[("schema.json", evil.as_bytes(), Method::Deflate)]),
    );
    let (c, rules, v) = scan(d, "evil.skops");
    assert_eq!(
        (c, rules.as_slice()),
        (1, &["scan/skops-dangerous-type".to_string()][..]),
        "{v}"
    );
    let odd = schema(
        r#"{"__class__": "log1p", "__module__": "mylib.math", "__loader__": "FunctionNode", "__id__": 2}"#,
    );
    write(
        d,
        "odd.skops",
        &zip(&[("schema.json", odd.as_bytes(), Method::Deflate)]),
    );
    let (c, rules, v) = scan(d, "odd.skops");
    assert_eq!(
        (c, rules.as_slice()),
        (1, &["scan/skops-unknown-type".to_string()][..])
    );
    let f = &v["findings"][0]["subject"];
    assert_eq!(
        (
            f["module"].as_str(),
            f["name"].as_str(),
            f["called"].as_bool()
        ),
        (Some("mylib.math"), Some("log1p"), Some(false))
    );
    let fine = schema(
        r#"{"__class__": "bool", "__module__": "builtins", "__loader__": "JsonNode", "content": "true"}"#,
    );
    write(
        d,
        "fine.skops",
        &zip(&[("schema.json", fine.as_bytes(), Method::Deflate)]),
    );
    assert_eq!(scan(d, "fine.skops").0, 0);
    // A zip with a model name and nothing recognisable inside is never clean.
    write(
        d,
        "empty.skops",
        &zip(&[("notes.txt", b"hello", Method::Stored)]),
    );
    let (c, rules, _) = scan(d, "empty.skops");
    assert_eq!(
        (c, rules.as_slice()),
        (1, &["scan/unsupported-format".to_string()][..])
    );
}

#[test]
fn joblib_zf_dumps_are_decompressed_issue_14_item_6() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for (payload, space) in [(EVIL, true), (EVIL, false), (PLAIN, true)] {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(payload).unwrap();
        // joblib < 0.10: "ZF" + hex(len) left-justified to 19 characters (+ a space).
        let mut f = format!("ZF{:<19}", format!("{:#x}", payload.len())).into_bytes();
        assert_eq!(f.len(), 21);
        if space {
            f.push(b' ');
        }
        f.extend(z.finish().unwrap());
        write(d, "old.pkl", &f);
        let (c, rules, v) = scan(d, "old.pkl");
        if payload == EVIL {
            assert_eq!(rules, ["scan/pickle-dangerous-global"], "{v}");
        } else {
            assert_eq!(c, 0, "{v}");
        }
    }
}

#[test]
fn lz4_and_zstd_wrappers_are_read_issue_14_item_9() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
    e.write_all(EVIL).unwrap();
    write(d, "weights.lz4", &e.finish().unwrap());
    assert_eq!(scan(d, "weights.lz4").1, ["scan/pickle-dangerous-global"]);
    let z = ruzstd::encoding::compress_to_vec(EVIL, ruzstd::encoding::CompressionLevel::Fastest);
    write(d, "weights.pkl.zst", &z);
    assert_eq!(
        scan(d, "weights.pkl.zst").1,
        ["scan/pickle-dangerous-global"]
    );
    let z = ruzstd::encoding::compress_to_vec(PLAIN, ruzstd::encoding::CompressionLevel::Fastest);
    write(d, "plain.pkl.zst", &z);
    assert_eq!(scan(d, "plain.pkl.zst").0, 0);
}

/// A TFLite flatbuffer whose one operator code is the custom op `op`.
fn tflite(op: &str) -> Vec<u8> {
    let mut b = vec![0u8; 76];
    b[0..4].copy_from_slice(&20u32.to_le_bytes()); // root table at 20
    b[4..8].copy_from_slice(b"TFL3");
    // Model vtable at 8: size 10, table 16, version@4, operator_codes@8, subgraphs@12.
    for (i, v) in [10u16, 16, 4, 8, 12].iter().enumerate() {
        b[8 + 2 * i..10 + 2 * i].copy_from_slice(&v.to_le_bytes());
    }
    b[20..24].copy_from_slice(&12i32.to_le_bytes()); // vtable at 20 - 12
    b[24..28].copy_from_slice(&3u32.to_le_bytes());
    b[28..32].copy_from_slice(&8u32.to_le_bytes()); // codes vector at 36
    b[32..36].copy_from_slice(&12u32.to_le_bytes()); // subgraphs vector at 44
    b[36..40].copy_from_slice(&1u32.to_le_bytes());
    b[40..44].copy_from_slice(&20u32.to_le_bytes()); // OperatorCode table at 60
    b[44..48].copy_from_slice(&0u32.to_le_bytes());
    // OperatorCode vtable at 48: size 12, table 16, deprecated@4, custom@8, version none, builtin@12.
    for (i, v) in [12u16, 16, 4, 8, 0, 12].iter().enumerate() {
        b[48 + 2 * i..50 + 2 * i].copy_from_slice(&v.to_le_bytes());
    }
    b[60..64].copy_from_slice(&12i32.to_le_bytes());
    b[64] = 32; // CUSTOM
    b[68..72].copy_from_slice(&8u32.to_le_bytes()); // string at 76
    b[72..76].copy_from_slice(&32i32.to_le_bytes());
    b.extend_from_slice(&(op.len() as u32).to_le_bytes());
    b.extend_from_slice(op.as_bytes());
    b.push(0);
    b
}

#[test]
fn tflite_lists_custom_ops_and_judges_flex_ops_issue_14_item_9() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(d, "m.tflite", &tflite("Landmarks2TransformMatrix"));
    let (c, rules, v) = scan(d, "m.tflite");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    assert!(
        v.to_string().contains("Landmarks2TransformMatrix"),
        "custom ops are listed"
    );
    write(d, "flex.tflite", &tflite("FlexReadFile"));
    assert_eq!(scan(d, "flex.tflite").1, ["scan/tf-unsafe-op"]);
    write(d, "cut.tflite", &tflite("X")[..40]);
    assert_eq!(scan(d, "cut.tflite").1, ["scan/format-malformed"]);
}

#[test]
fn tensorflow_graphs_are_parsed_and_io_ops_flagged_issue_14_item_9() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // A serving graph with a TF1 saver: the checkpoint path is fed, so it is the loader's.
    let saver = [
        tf_node("x", "Placeholder", &[], None),
        tf_node("y", "Relu", &["x"], None),
        tf_node("save/filename/input", "Const", &[], Some("model")),
        tf_node(
            "save/filename",
            "PlaceholderWithDefault",
            &["save/filename/input"],
            None,
        ),
        tf_node(
            "save/RestoreV2",
            "RestoreV2",
            &["save/filename", "n", "s"],
            None,
        ),
    ];
    let mut saved = vi(1, 1);
    saved.extend(ld(2, &ld(2, &tf_graph(&saver))));
    write(d, "m/saved_model.pb", &saved);
    let (c, rules, v) = scan(d, "m/saved_model.pb");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    assert_eq!(v["facts"]["formats"]["tensorflow-savedmodel"], 1);
    let evil = [
        tf_node("p", "Const", &[], Some("/home/user/.bashrc")),
        tf_node("read", "ReadFile", &["p"], None),
        tf_node("py", "PyFunc", &["read"], None),
        tf_node("save", "SaveV2", &["p", "n", "t"], None),
    ];
    write(d, "frozen.pb", &tf_graph(&evil));
    let (c, rules, v) = scan(d, "frozen.pb");
    assert_eq!((c, rules.len()), (1, 3), "{v}");
    assert!(rules.iter().all(|r| r == "scan/tf-unsafe-op"));
    assert!(v.to_string().contains("/home/user/.bashrc"));
}

#[test]
fn onnx_test_tensors_are_data_not_tensorflow_graphs_issue_14_item_4() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // dims [2, 3], FLOAT, name, raw_data: as onnx/backend/test/data/*/test_data_set_0/input_0.pb.
    let mut tensor = vi(1, 2);
    tensor.extend(vi(1, 3));
    tensor.extend(vi(2, 1));
    tensor.extend(ld(8, b"x"));
    tensor.extend(ld(9, &[0u8; 24]));
    write(d, "test_add/test_data_set_0/input_0.pb", &tensor);
    let (c, rules, v) = scan(d, "test_add");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    assert_eq!(v["facts"]["formats"]["onnx-tensor"], 1);
    // Its external data may not leave the folder either.
    let mut entry = ld(1, b"location");
    entry.extend(ld(2, b"../../etc/passwd"));
    tensor.extend(ld(13, &entry));
    write(d, "bad/input_0.pb", &tensor);
    assert_eq!(scan(d, "bad").1, ["scan/onnx-external-path"]);
    write(d, "junk/x.pb", b"\xff\xff\xff\xff not protobuf");
    assert_eq!(scan(d, "junk").1, ["scan/unsupported-format"]);
}

#[test]
fn coreml_custom_layers_are_reported_issue_14_item_9() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let layer = |extra: Vec<u8>| {
        let mut l = ld(1, b"conv");
        l.extend(extra);
        l
    };
    let model = |layer: Vec<u8>| {
        let mut m = vi(1, 4);
        m.extend(ld(500, &ld(1, &layer)));
        m
    };
    write(d, "plain.mlmodel", &model(layer(ld(100, &vi(1, 3)))));
    let (c, rules, v) = scan(d, "plain.mlmodel");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    write(
        d,
        "custom.mlmodel",
        &model(layer(ld(500, &ld(10, b"EvilLayer")))),
    );
    let (_, rules, v) = scan(d, "custom.mlmodel");
    assert_eq!(rules, ["scan/coreml-custom"]);
    assert!(v.to_string().contains("EvilLayer"));
}

#[test]
fn data_only_formats_are_recognised_as_data_issue_14_item_9() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // word2vec text and binary, fastText (with and without its magic), SentencePiece, CRFsuite.
    write(
        d,
        "m/vectors.txt",
        b"2 3\nthe 0.1 0.2 0.3\ncat -1 0 1.5e-3\n",
    );
    let mut bin = b"2 2\nthe ".to_vec();
    bin.extend_from_slice(&[0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    bin.extend_from_slice(b"\ncat ");
    bin.extend_from_slice(&[0, 0, 0x80, 0xbf, 0, 0, 0, 0xc0]);
    write(d, "m/vectors.bin", &bin);
    let args: Vec<u8> = [10i32, 5, 5, 5, 5, 1, 2, 2, 1000, 3, 6, 10000]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .chain(0.0001f64.to_le_bytes())
        .collect();
    write(d, "m/old_fasttext.bin", &args);
    let mut ft = b"\xba\x16\x4f\x2f\x0c\x00\x00\x00".to_vec();
    ft.extend(&args);
    write(d, "m/lid.ftz", &ft);
    let mut piece = ld(1, b"<unk>");
    piece.extend(vi(3, 2));
    let mut sp = ld(1, &piece);
    sp.extend(ld(2, &ld(1, b"botchan.txt")));
    write(d, "m/sp.model", &sp);
    let (c, rules, v) = scan(d, "m");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    assert_eq!(v["facts"]["scanned"], 5, "{}", v["facts"]);
    // A text file that only looks like a word2vec header is not one.
    write(d, "n/notes.txt", b"2 3\nsee you\n");
    write(
        d,
        "n/w.safetensors",
        &crate::common::safetensors(&[1, 2, 3]),
    );
    let (_, _, v) = scan(d, "n");
    assert_eq!(v["facts"]["scanned"], 1);
}

#[test]
fn chat_templates_in_tokenizer_configs_are_checked_issue_14_item_10() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let benign = r#"{"bos_token": "<s>", "chat_template": "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"}"#;
    write(d, "ok/tokenizer_config.json", benign.as_bytes());
    write(
        d,
        "ok/chat_template.jinja",
        b"{%- for m in messages %}{{ m.content | trim }}{%- endfor %}",
    );
    let (c, rules, v) = scan(d, "ok");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    // CVE-2024-34359: a template that walks to os through a Jinja global.
    let evil = r#"{"chat_template": "{{ cycler.__init__.__globals__.os.popen('id').read() }}", "model_max_length": 512}"#;
    write(d, "bad/tokenizer_config.json", evil.as_bytes());
    let (c, rules, _) = scan(d, "bad");
    assert_eq!((c, rules[0].as_str()), (1, "scan/chat-template"));
    write(d, "bad2/chat_template.jinja", b"{{ ''|attr('__class__') }}");
    assert_eq!(scan(d, "bad2").1[0], "scan/chat-template");
    // Python's json accepts NaN: the template is still found.
    let nan =
        r#"{"x": NaN, "chat_template": [{"name": "tool_use", "template": "{{ x.__globals__ }}"}]}"#;
    write(d, "bad3/tokenizer_config.json", nan.as_bytes());
    assert_eq!(scan(d, "bad3").1[0], "scan/chat-template");
}

/// A `.npy` file with header `dict` and `data`.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut h = dict.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn joblib_wrappers_load_their_array_file_and_it_is_scanned_issue_14_item_8() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // joblib < 0.10: the pickle holds an NDArrayWrapper naming `model.pkl_01.npy`, which
    // joblib then loads with np.load(allow_pickle=True).
    let wrapper = |filename: &str| {
        let mut p =
            b"\x80\x02cjoblib.numpy_pickle\nNDArrayWrapper\n)\x81}(X\x08\x00\x00\x00filenameX"
                .to_vec();
        p.extend_from_slice(&(filename.len() as u32).to_le_bytes());
        p.extend_from_slice(filename.as_bytes());
        p.extend_from_slice(
            b"X\x08\x00\x00\x00subclasscnumpy\nndarray\nX\x0a\x00\x00\x00allow_mmap\x89ub.",
        );
        p
    };
    write(d, "ok/model.pkl", &wrapper("model.pkl_01.npy"));
    write(
        d,
        "ok/model.pkl_01.npy",
        &npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        ),
    );
    let (c, rules, v) = scan(d, "ok/model.pkl");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    // The array file is an object array whose pickle runs a command: found through the wrapper.
    write(d, "bad/model.pkl", &wrapper("model.pkl_01.npy"));
    write(
        d,
        "bad/model.pkl_01.npy",
        &npy(
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            EVIL,
        ),
    );
    let (_, rules, v) = scan(d, "bad/model.pkl");
    assert_eq!(rules, ["scan/pickle-dangerous-global"]);
    assert_eq!(
        v["findings"][0]["location"]["member"],
        "(loads model.pkl_01.npy)"
    );
    // A path instead of a file name chooses what joblib loads: dangerous.
    write(d, "path/model.pkl", &wrapper("/tmp/x.npy"));
    let (_, rules, v) = scan(d, "path/model.pkl");
    assert_eq!(rules, ["scan/pickle-dangerous-global"], "{v}");
    // A missing array file is not scanned, so the file is not clean.
    write(d, "gone/model.pkl", &wrapper("model.pkl_01.npy"));
    assert_eq!(scan(d, "gone/model.pkl").1, ["scan/unreadable"]);
}

#[test]
fn weight_files_of_other_frameworks_are_data() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // Flax msgpack, TF.js shards, OpenVINO IR weights beside their XML, DyNet parameters.
    write(d, "m/flax_model.msgpack", b"\x81\xa6params\x80");
    write(
        d,
        "m/model.json",
        br#"{"format": "layers-model", "weightsManifest": [{"paths": ["group1-shard1of1.bin"]}]}"#,
    );
    write(d, "m/group1-shard1of1.bin", &[7u8; 64]);
    write(
        d,
        "m/ir.xml",
        b"<?xml version=\"1.0\"?>\n<net name=\"m\" version=\"11\"><layers/></net>\n",
    );
    write(d, "m/ir.bin", &[9u8; 64]);
    write(
        d,
        "m/tagger.model",
        b"#Parameter# /W {2,2} 16 ZERO_GRAD\n0 0 0 0\n",
    );
    let (c, rules, v) = scan(d, "m");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    assert_eq!(v["facts"]["scanned"], 6, "{}", v["facts"]);
    // A `.bin` that is none of these is not called clean.
    write(d, "n/weights.bin", &[9u8; 64]);
    assert_eq!(scan(d, "n").1, ["scan/unsupported-format"]);
}

#[test]
fn joblib_zf_array_files_are_data_and_bundled_joblib_wrappers_are_read() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // The raw bytes of a ZNDArrayWrapper array, ZF-compressed (joblib < 0.10 `_01.npy.z`).
    let raw = [0x63u8; 40]; // bytes that would be GLOBAL opcodes if read as a pickle
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let mut f = format!("ZF{:<19}", format!("{:#x}", raw.len())).into_bytes();
    f.extend(z.finish().unwrap());
    write(d, "a/model.pkl_01.npy.z", &f);
    let (c, rules, v) = scan(d, "a/model.pkl_01.npy.z");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
    // scikit-learn < 0.23 bundled joblib: its inline arrays are skipped like joblib's own.
    let mut p = b"\x80\x04]csklearn.externals.joblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(X\x05\x00\x00\x00shapeK\x02\x85X\x05\x00\x00\x00dtypecnumpy\ndtype\n(X\x02\x00\x00\x00f8\x89\x88tRX\x05\x00\x00\x00orderX\x01\x00\x00\x00Cub".to_vec();
    p.extend_from_slice(&[0x63; 16]);
    p.extend_from_slice(b"a.");
    write(d, "b/model.pkl", &p);
    let (c, rules, v) = scan(d, "b/model.pkl");
    assert_eq!((c, rules.len()), (0, 0), "{v}");
}
