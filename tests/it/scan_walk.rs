//! `scan` over folders and the choices around a scan (issue 14): what is walked and what is
//! reported when it is not read, empty scans, one line for Python sources, allow-list
//! generation and printing, profiles, refused allow-list entries, `verify --scan-policy`, and
//! one budget per file for nested archives.

use crate::common::{code, keygen, run, stderr, stdout};
use crate::scan_fixtures::{EVIL, Method, PLAIN, zip};
use modelsec::scan::{self, Allowlist, Limits, ScanOptions};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let o = run(dir, &[&["scan", "--format", "json"], args].concat());
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!("{e}: {}{}", stdout(&o), stderr(&o));
    });
    (code(&o), v)
}

fn rules(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

#[test]
fn a_scan_that_reads_no_model_is_not_green_issue_14_item_11() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(d, "wrong/README.md", b"# not a model\n");
    write(d, "wrong/train.py", b"print('hi')\n");
    let (c, v) = json(d, &["wrong"]);
    assert_eq!(c, 1);
    assert!(
        rules(&v).contains(&"scan/no-model-files".to_string()),
        "{v}"
    );
    let (c, _) = json(d, &["wrong", "--allow-empty"]);
    assert_eq!(c, 0);
    // A file checked for a chat template counts as scanned.
    write(
        d,
        "tpl/chat_template.jinja",
        b"{{ messages[0]['content'] }}",
    );
    let (c, v) = json(d, &["tpl"]);
    assert_eq!((c, v["facts"]["scanned"].as_u64()), (0, Some(1)), "{v}");
}

#[test]
fn python_sources_are_one_line_per_scan_issue_14_item_12() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(d, "m/model.pkl", PLAIN);
    for i in 0..30 {
        write(d, &format!("m/pkg/mod{i:02}.py"), b"x = 1\n");
    }
    let (c, v) = json(d, &["m"]);
    assert_eq!(c, 0);
    let py: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "scan/python-code")
        .collect();
    assert_eq!(py.len(), 1, "{v}");
    assert!(
        py[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("30 Python source file(s)")
    );
}

#[test]
fn unknown_globals_become_reviewable_allow_list_entries_issue_14_item_12() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(
        d,
        "m/a.pkl",
        b"\x80\x02cmypkg.layers\nDense\n)\x81cmypkg.acts\nrelu\nb.",
    );
    write(d, "m/evil.pkl", EVIL);
    let (_, v) = json(d, &["m"]);
    let unknown: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "scan/pickle-unknown-global")
        .collect();
    assert_eq!(unknown.len(), 2);
    assert_eq!(unknown[0]["subject"]["module"], "mypkg.acts");
    assert_eq!(unknown[0]["subject"]["called"], false);
    let o = run(d, &["scan", "m", "--emit-allowlist", "allow.toml"]);
    assert_eq!(code(&o), 1, "the report is shown and fails as usual");
    assert!(
        stderr(&o).contains("wrote 2 allow-list entries"),
        "{}",
        stderr(&o)
    );
    let toml = std::fs::read_to_string(d.join("allow.toml")).unwrap();
    assert!(
        toml.contains("UNREVIEWED") && !toml.contains("posix"),
        "{toml}"
    );
    // Not overwritten without --force.
    let o = run(d, &["scan", "m", "--emit-allowlist", "allow.toml"]);
    assert_eq!(code(&o), 2);
    // Passed back, it allows the two globals; the dangerous one still fails.
    std::fs::remove_file(d.join("m/evil.pkl")).unwrap();
    let o = run(d, &["scan", "m", "--allowlist", "allow.toml"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn the_allow_list_in_effect_is_printable_issue_14_item_12() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let o = run(d, &["scan", "--print-allowlist"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("# ===== builtin:scan.toml") && out.contains("torch._utils"));
    assert!(out.starts_with(&format!(
        "# allow-list digest {}",
        Allowlist::builtin().digest()
    )));
    let o = run(d, &["scan", "--print-allowlist", "--profile", "gensim"]);
    assert!(stdout(&o).contains("# ===== profile:gensim"));
    let o = run(d, &["scan", "--list-profiles"]);
    assert!(stdout(&o).contains("sklearn-crfsuite"));
}

#[test]
fn directory_links_and_special_files_are_never_a_silent_pass_issue_14_item_13() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(d, "elsewhere/w.pkl", EVIL);
    write(d, "m/config.json", b"{}");
    std::os::unix::fs::symlink(d.join("elsewhere"), d.join("m/weights")).unwrap();
    let (c, v) = json(d, &["m"]);
    assert_eq!(c, 1);
    assert!(
        rules(&v).contains(&"scan/pickle-dangerous-global".to_string()),
        "{v}"
    );
    assert_eq!(v["facts"]["directory_links_followed"], 1);
    // A link loop is reported, and the walk ends.
    std::os::unix::fs::symlink(d.join("m"), d.join("m/loop")).unwrap();
    let (c, v) = json(d, &["m"]);
    assert_eq!(c, 1);
    assert!(v.to_string().contains("directory link loop"), "{v}");
    // A FIFO is not read (it would block) and is a finding.
    write(d, "f/model.pkl", PLAIN);
    let ok = std::process::Command::new("mkfifo")
        .arg(d.join("f/pipe.pkl"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo (coreutils) is needed by this test");
    let (c, v) = json(d, &["f"]);
    assert_eq!(c, 1);
    assert_eq!(rules(&v), ["scan/unreadable"], "{v}");
    assert!(v.to_string().contains("FIFO"), "{v}");
}

#[test]
fn vcs_folders_and_non_pickle_compressed_text_are_not_pickles_issue_14_item_4() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(
        d,
        "m/model.safetensors",
        &crate::common::safetensors(&[0; 8]),
    );
    // A zlib-compressed git object ("commit 126\0…") inside .git, and a gzipped text file whose
    // first byte is `c`.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(b"commit 126\x00tree 4b825dc\nauthor a <a@b> 0 +0000\n\nmsg\n")
        .unwrap();
    write(d, "m/.git/objects/ab/cdef", &z.finish().unwrap());
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    g.write_all(b"c1,c2\n1,2\n3,4\n").unwrap();
    write(d, "m/table.csv.gz", &g.finish().unwrap());
    // A protocol-1 pickle that starts with EMPTY_LIST (0x5d, like an LZMA header).
    write(
        d,
        "m/p1.pkl",
        b"]q\x00(X\x05\x00\x00\x00helloq\x01X\x05\x00\x00\x00worldq\x02e.",
    );
    let (c, v) = json(d, &["m"]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["facts"]["vcs_files_skipped"], 1);
    assert_eq!(v["facts"]["scanned"], 2, "safetensors and the pickle");
}

#[test]
fn allow_lists_cannot_allow_dangerous_globals_and_verify_can_require_the_policy_issue_14_item_14() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(d, "m/model.pkl", EVIL);
    write(
        d,
        "allow.toml",
        b"[[allow]]\nmodule = \"posix\"\nnames = [\"system\"]\n",
    );
    let o = run(d, &["scan", "m", "--allowlist", "allow.toml"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("known-dangerous global"),
        "{}",
        stderr(&o)
    );
    let o = run(d, &["sign", "m", "--key", "k", "--allowlist", "allow.toml"]);
    assert_eq!(code(&o), 2);
    // A signature made with an extra allow-list (or profile) does not meet `--scan-policy builtin`.
    keygen(d, "k", "ed25519");
    write(d, "m/model.pkl", b"\x80\x02cmypkg\nLayer\n)\x81.");
    write(
        d,
        "mine.toml",
        b"[[allow]]\nmodule = \"mypkg\"\nnames = [\"Layer\"]\n",
    );
    assert_eq!(
        code(&run(
            d,
            &["sign", "m", "--key", "k", "--allowlist", "mine.toml"]
        )),
        0
    );
    let req = ["verify", "m", "--key", "k.pub", "--require-scan"];
    assert_eq!(code(&run(d, &req)), 0);
    let o = run(
        d,
        &[&req[..], &["--scan-policy", "builtin", "--format", "json"]].concat(),
    );
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("verify/scan-policy"), "{}", stdout(&o));
    let digest = Allowlist::load(&[d.join("mine.toml")])
        .unwrap()
        .digest()
        .to_string();
    assert_eq!(
        code(&run(d, &[&req[..], &["--scan-policy", &digest]].concat())),
        0
    );
    write(d, "m/model.pkl", PLAIN);
    std::fs::remove_file(d.join("m.sig")).unwrap();
    assert_eq!(code(&run(d, &["sign", "m", "--key", "k"])), 0);
    assert_eq!(
        code(&run(d, &[&req[..], &["--scan-policy", "builtin"]].concat())),
        0
    );
    assert_eq!(
        code(&run(
            d,
            &[&req[..], &["--scan-policy", "sha256:nope"]].concat()
        )),
        2
    );
}

#[test]
fn profiles_allow_reviewed_library_classes_only_with_safe_state() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // gensim: created with NEWOBJ, as SaveLoad.save writes it.
    write(
        d,
        "g/w2v.model",
        b"\x80\x02cgensim.models.word2vec\nWord2Vec\n)\x81}X\x06\x00\x00\x00windowK\x05sb.",
    );
    let (c, v) = json(d, &["g"]);
    assert_eq!(
        (c, rules(&v).as_slice()),
        (1, &["scan/pickle-unknown-global".to_string()][..])
    );
    assert_eq!(json(d, &["g", "--profile", "gensim"]).0, 0);
    // Calling the constructor with pickle arguments (training from a file) is not allowed.
    write(d, "g2/w2v.model", b"\x80\x02cgensim.models.word2vec\nWord2Vec\n)}X\x0b\x00\x00\x00corpus_fileX\x0b\x00\x00\x00/etc/passwdsR.");
    let (c, v) = json(d, &["g2", "--profile", "gensim"]);
    assert_eq!(
        (c, rules(&v).as_slice()),
        (1, &["scan/pickle-computed-call".to_string()][..])
    );
    // sklearn-crfsuite's FileResource, as pyvi ships it, passes; with a file name (which its
    // __del__ would unlink) or a prefix that leaves the temporary directory, it does not.
    let resource = |name: &[u8], prefix: &[u8]| {
        let mut p =
            b"\x80\x02csklearn_crfsuite._fileresource\nFileResource\n)\x81}(X\x04\x00\x00\x00name"
                .to_vec();
        p.extend_from_slice(name);
        p.extend_from_slice(b"X\x04\x00\x00\x00auto\x88X\x06\x00\x00\x00prefixX");
        p.extend_from_slice(&(prefix.len() as u32).to_le_bytes());
        p.extend_from_slice(prefix);
        p.extend_from_slice(b"X\x06\x00\x00\x00suffixX\x09\x00\x00\x00.crfsuiteX\x16\x00\x00\x00__FILE_RESOURCE_DATA__C\x04lCRFub.");
        p
    };
    let prof = ["--profile", "sklearn-crfsuite"];
    write(d, "c/ok.pkl", &resource(b"N", b"model"));
    assert_eq!(json(d, &[&["c"], &prof[..]].concat()).0, 0);
    write(
        d,
        "c1/bad.pkl",
        &resource(b"X\x0b\x00\x00\x00/etc/passwd", b"model"),
    );
    let (c, v) = json(d, &[&["c1"], &prof[..]].concat());
    assert_eq!(
        (c, rules(&v).as_slice()),
        (1, &["scan/pickle-unsafe-state".to_string()][..])
    );
    write(
        d,
        "c2/bad.pkl",
        &resource(b"N", b"../../home/u/.config/autostart/x"),
    );
    let (c, v) = json(d, &[&["c2"], &prof[..]].concat());
    assert_eq!(
        (c, rules(&v).as_slice()),
        (1, &["scan/pickle-unsafe-state".to_string()][..])
    );
    // transformers: Trainer's training_args.bin (TrainingArguments with an enum value).
    write(d, "t/training_args.bin", b"\x80\x02ctransformers.training_args\nTrainingArguments\n)\x81}X\r\x00\x00\x00eval_strategyctransformers.trainer_utils\nIntervalStrategy\nX\x05\x00\x00\x00steps\x85Rsb.");
    assert_eq!(json(d, &["t"]).0, 1);
    assert_eq!(json(d, &["t", "--profile", "transformers"]).0, 0);
    let o = run(d, &["scan", "c", "--profile", "tensorflow"]);
    assert_eq!(code(&o), 2);
}

/// The same budget across nesting levels: a zip holding zips holding a bzip2 stream of zeros,
/// and a fan-out of nested zips, are cut off with a finding (small limits keep the test fast).
#[test]
fn nested_archives_share_one_budget_issue_14_item_15() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let zeros = vec![0u8; 24 << 20];
    let inner = zip(&[("weights.pkl", &zeros, Method::Bzip2)]);
    let outer = zip(&[("inner.zip", &inner, Method::Deflate)]);
    let outer = zip(&[("outer.zip", &outer, Method::Deflate)]);
    assert!(outer.len() < 64 << 10);
    write(d, "bomb.pt", &outer);
    let policy = Allowlist::builtin();
    let mut opts = ScanOptions::new(&policy);
    opts.limits = Limits {
        floor: 8 << 20,
        ratio: 100,
        ..Limits::default()
    };
    let (r, _) = scan::scan_with(&[d.join("bomb.pt")], &opts, &scan::Quiet).unwrap();
    assert!(
        r.findings.iter().any(|f| f.rule_id == "scan/archive-bomb"),
        "{:?}",
        r.findings
    );
    assert!(r.failed());
    // Fan-out: 8 zips of 8 zips of 8 pickles; a budget of 40 members stops it.
    let names: Vec<String> = (0..8).map(|i| format!("{i}")).collect();
    let fan = |data: &[u8], ext: &str, method| {
        let named: Vec<String> = names.iter().map(|n| format!("{n}.{ext}")).collect();
        zip(&named
            .iter()
            .map(|n| (n.as_str(), data, method))
            .collect::<Vec<_>>())
    };
    let leaf = fan(PLAIN, "pkl", Method::Stored);
    let mid = fan(&leaf, "zip", Method::Deflate);
    let top = fan(&mid, "zip", Method::Deflate);
    write(d, "fan.zip", &top);
    opts.limits = Limits {
        members: 40,
        ..Limits::default()
    };
    let (r, _) = scan::scan_with(&[d.join("fan.zip")], &opts, &scan::Quiet).unwrap();
    let bomb: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule_id == "scan/archive-bomb")
        .collect();
    assert_eq!(bomb.len(), 1, "{:?}", r.findings);
    assert!(bomb[0].message.contains("members"));
    // With room, the same archive is clean; and a spent time budget is a finding too.
    opts.limits = Limits::default();
    let (r, _) = scan::scan_with(&[d.join("fan.zip")], &opts, &scan::Quiet).unwrap();
    assert!(!r.failed(), "{:?}", r.findings);
    opts.limits.time = Duration::ZERO;
    let (r, _) = scan::scan_with(&[d.join("fan.zip")], &opts, &scan::Quiet).unwrap();
    assert!(
        r.findings.iter().any(|f| f.message.contains("time budget")),
        "{:?}",
        r.findings
    );
}

#[test]
fn an_unknown_global_a_shipped_profile_allows_names_the_profile() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // A pandas DataFrame pickle (protocol 2, NEWOBJ), as DataFrame.to_pickle writes it.
    write(
        d,
        "df.pkl",
        b"\x80\x02cpandas.core.frame\nDataFrame\n)\x81}b.",
    );
    let o = run(d, &["scan", "df.pkl"]);
    assert_eq!(code(&o), 1, "the default stays strict");
    assert!(
        stdout(&o).contains("pass --profile pandas"),
        "{}",
        stdout(&o)
    );
    let o = run(d, &["scan", "df.pkl", "--profile", "pandas"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // A global no profile covers gets no such hint.
    write(d, "m.pkl", b"\x80\x02cmypkg\nLayer\n)\x81.");
    let o = run(d, &["scan", "m.pkl"]);
    assert_eq!(code(&o), 1);
    assert!(!stdout(&o).contains("--profile"), "{}", stdout(&o));
}

/// What Lightning-, fairseq- and research-style checkpoints keep beside their tensors: paths,
/// argparse hyper-parameters, timestamps, numbers (written by CPython 3.11's pickle, protocol 2).
const CHECKPOINT_METADATA: &[u8] =
    b"\x80\x02}q\x00(X\x01\x00\x00\x00pq\x01cpathlib\nPosixPath\nq\x02X\x01\x00\x00\x00/q\x03X\
    \x04\x00\x00\x00dataq\x04X\x01\x00\x00\x00xq\x05\x87q\x06Rq\x07X\x02\x00\x00\x00ppq\x08c\
    pathlib\nPurePosixPath\nq\x09X\x01\x00\x00\x00aq\nX\x01\x00\x00\x00bq\x0b\x86q\x0cRq\x0d\
    X\x02\x00\x00\x00pwq\x0ecpathlib\nPureWindowsPath\nq\x0fX\x03\x00\x00\x00c:\\q\x10h\x05\
    \x86q\x11Rq\x12X\x02\x00\x00\x00nsq\x13cargparse\nNamespace\nq\x14)\x81q\x15}q\x16(X\x02\
    \x00\x00\x00lrq\x17G?\xb9\x99\x99\x99\x99\x99\x9aX\x04\x00\x00\x00pathq\x18h\x05ubX\x01\
    \x00\x00\x00tq\x19cdatetime\ndatetime\nq\x1ac_codecs\nencode\nq\x1bX\x0b\x00\x00\x00\x07\
    \xc3\xaa\x0c\x01\x00\x00\x00\x00\x00\x00q\x1cX\x06\x00\x00\x00latin1q\x1d\x86q\x1eRq\x1f\
    cdatetime\ntimezone\nq cdatetime\ntimedelta\nq!K\x00K\x00K\x00\x87q\"Rq#\x85q$Rq%\x86q&R\
    q'X\x01\x00\x00\x00dq(cdatetime\ndate\nq)h\x1bX\x05\x00\x00\x00\x07\xc3\xaa\x01\x02q*h\
    \x1d\x86q+Rq,\x85q-Rq.X\x02\x00\x00\x00tmq/cdatetime\ntime\nq0h\x1bX\x06\x00\x00\x00\x01\
    \x02\x00\x00\x00\x00q1h\x1d\x86q2Rq3\x85q4Rq5X\x02\x00\x00\x00tdq6h!K\x03K\x00K\x00\x87q\
    7Rq8X\x03\x00\x00\x00decq9cdecimal\nDecimal\nq:X\x03\x00\x00\x001.5q;\x85q<Rq=X\x02\x00\
    \x00\x00frq>cfractions\nFraction\nq?K\x01K\x03\x86q@RqAu.";

#[test]
fn checkpoint_metadata_values_are_not_findings() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(d, "meta.pkl", CHECKPOINT_METADATA);
    let (c, v) = json(d, &["meta.pkl"]);
    assert_eq!(c, 0, "{v}");
    // A path object is only a value: reaching a method of it is still an attribute walk.
    write(
        d,
        "walk.pkl",
        b"\x80\x04\x8c\x07pathlib\x94\x8c\x0fPath.write_text\x94\x93\x94.",
    );
    let (c, v) = json(d, &["walk.pkl"]);
    assert_eq!(c, 1);
    assert!(
        rules(&v).contains(&"scan/pickle-attribute-walk".to_string()),
        "{v}"
    );
}
