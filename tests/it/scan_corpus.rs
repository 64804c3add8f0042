//! The scan corpus: `scripts/gen_scan_corpus.py` writes one sample per technique from the
//! research note (malicious, benign twins, malformed files, real files from numpy / joblib /
//! scikit-learn) with the expected verdict and rule; the built binary must agree on every one.

use crate::common::{code, run, stdout};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Python with numpy/joblib/scikit-learn when available (the project venv), else plain python3.
fn corpus_python() -> PathBuf {
    let venv = std::env::var_os("MODELSEC_PEER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let has_libs = std::process::Command::new(&venv)
        .args(["-c", "import numpy, joblib, sklearn, h5py"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_libs {
        return venv;
    }
    // With the peers (scripts/test.sh, CI) their absence is a failure, never a smaller corpus.
    if cfg!(feature = "peers") {
        panic!(
            "numpy/joblib/scikit-learn/h5py are not installed; run scripts/test.sh (it installs them into .venv)"
        );
    }
    eprintln!(
        "note: numpy/joblib/scikit-learn/h5py not installed; the corpus has no real-library files"
    );
    PathBuf::from("python3")
}

struct Corpus {
    _dir: tempfile::TempDir,
    root: PathBuf,
    manifest: Vec<Value>,
    /// path relative to root → findings
    findings: BTreeMap<String, Vec<Value>>,
    exit: i32,
}

fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("corpus");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_scan_corpus.py");
        let out = std::process::Command::new(corpus_python())
            .arg(&script)
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "generator failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Vec<Value> =
            serde_json::from_slice(&std::fs::read(root.join("manifest.json")).unwrap()).unwrap();
        let o = run(&root, &["scan", ".", "--format", "json"]);
        let report: Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
        let mut findings: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for f in report["findings"].as_array().unwrap() {
            let p = f["location"]["path"]
                .as_str()
                .unwrap()
                .trim_start_matches("./")
                .to_string();
            findings.entry(p).or_default().push(f.clone());
        }
        Corpus {
            _dir: dir,
            root,
            manifest,
            findings,
            exit: code(&o),
        }
    })
}

fn failing(fs: &[Value]) -> Vec<&Value> {
    fs.iter().filter(|f| f["severity"] != "info").collect()
}

#[test]
fn every_sample_gets_its_expected_verdict_and_rule() {
    let c = corpus();
    assert_eq!(c.exit, 1, "the corpus holds malicious files");
    let mut wrong = Vec::new();
    for e in &c.manifest {
        let file = e["file"].as_str().unwrap();
        let none = Vec::new();
        let fs = c.findings.get(file).unwrap_or(&none);
        let flagged = !failing(fs).is_empty();
        let expect_flag = e["expect"] == "flag";
        if flagged != expect_flag {
            wrong.push(format!(
                "{file}: expected {}, got {:?}",
                e["expect"],
                fs.iter()
                    .map(|f| f["message"].as_str().unwrap_or(""))
                    .collect::<Vec<_>>()
            ));
            continue;
        }
        if let Some(rule) = e["rule"].as_str()
            && !fs.iter().any(|f| f["rule_id"] == rule)
        {
            wrong.push(format!(
                "{file}: expected rule {rule}, got {:?}",
                fs.iter()
                    .map(|f| f["rule_id"].as_str().unwrap_or(""))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} samples wrong:\n{}",
        wrong.len(),
        c.manifest.len(),
        wrong.join("\n")
    );
}

#[test]
fn corpus_covers_every_group() {
    let c = corpus();
    let groups: std::collections::BTreeSet<&str> = c
        .manifest
        .iter()
        .map(|e| e["group"].as_str().unwrap())
        .collect();
    for g in ["benign", "malicious", "invalid", "policy"] {
        assert!(groups.contains(g), "{g} missing");
    }
    let malicious = c
        .manifest
        .iter()
        .filter(|e| e["group"] == "malicious")
        .count();
    assert!(malicious >= 120, "{malicious} malicious samples");
}

/// Real files written by numpy, joblib, scikit-learn and h5py: present, and clean.
#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs numpy/joblib/scikit-learn/h5py: scripts/test.sh"
)]
fn real_library_files_are_in_the_corpus_and_clean() {
    let c = corpus();
    assert!(
        c.manifest.iter().any(|e| e["group"] == "real"),
        "real-library files missing"
    );
    let o = run(&c.root, &["scan", "real"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn findings_name_file_offset_import_and_rule() {
    let c = corpus();
    let fs = &c.findings["malicious/pickle/reduce_posix_system_v2.pkl"];
    let f = fs
        .iter()
        .find(|f| f["rule_id"] == "scan/pickle-dangerous-global")
        .unwrap();
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["location"]["offset"], 2, "GLOBAL right after PROTO");
    assert!(f["message"].as_str().unwrap().contains("posix.system"));
    let fs = &c.findings["malicious/containers/torch_zip_payload.pt"];
    let f = fs
        .iter()
        .find(|f| f["rule_id"] == "scan/pickle-dangerous-global")
        .unwrap();
    assert_eq!(f["location"]["member"], "archive/data.pkl");
    // py2 names are reported under the name the loader maps them to
    let fs = &c.findings["malicious/alias/cPickle_loads_nested_v2.pkl"];
    assert!(fs.iter().any(|f| {
        f["message"]
            .as_str()
            .unwrap()
            .contains("`pickle.loads` (Python 2 module cPickle")
    }));
}

#[test]
fn policy_sample_is_clean_once_allow_listed() {
    let c = corpus();
    let allow = c.root.join("../allow.toml");
    std::fs::write(
        &allow,
        "[[allow]]\nmodule = \"mypkg.layers\"\nnames = [\"MyLayer\"]\nwhy = \"our layer\"\n",
    )
    .unwrap();
    let o = run(&c.root, &["scan", "policy/custom_layer_v2.pkl"]);
    assert_eq!(code(&o), 1);
    let o = run(
        &c.root,
        &[
            "scan",
            "policy/custom_layer_v2.pkl",
            "--allowlist",
            allow.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // an allow-list never makes a dangerous global safe by prefix
    let o = run(
        &c.root,
        &[
            "scan",
            "malicious/pickle/reduce_os_system_v0.pkl",
            "--allowlist",
            allow.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn benign_directory_is_clean_and_sarif_is_one_document() {
    let c = corpus();
    let o = run(&c.root, &["scan", "benign", "--format", "sarif"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["version"], "2.1.0");
}

#[test]
fn every_truncation_of_a_malicious_pickle_is_flagged() {
    let c = corpus();
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "malicious/pickle/reduce_posix_system_v2.pkl",
        "malicious/stream/frame_boundary_divergence_v5.pkl",
        "malicious/joblib/array_then_payload.joblib",
    ] {
        let data = std::fs::read(c.root.join(rel)).unwrap();
        for cut in 1..data.len() {
            let p = dir.path().join("cut.pkl");
            std::fs::write(&p, &data[..cut]).unwrap();
            let o = run(dir.path(), &["scan", "cut.pkl"]);
            assert_eq!(code(&o), 1, "{rel} cut at {cut} scanned clean");
        }
    }
}
