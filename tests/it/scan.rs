//! `modelsec scan` and its tie to `sign`/`verify`, through the built binary.

use crate::common::{code, keygen, run, stderr, stdout};
use serde_json::Value;

const EVIL: &[u8] = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.";
const PLAIN: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.";

#[test]
fn exit_codes_and_one_document_per_format() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("ok.pkl"), PLAIN).unwrap();
    std::fs::write(d.join("evil.pkl"), EVIL).unwrap();
    let o = run(d, &["scan", "ok.pkl"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("PASS"));
    let o = run(d, &["scan", "evil.pkl", "ok.pkl", "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_str(&stdout(&o)).expect("exactly one JSON document");
    assert_eq!(v["command"], "scan");
    assert_eq!(v["facts"]["scanned"], 2);
    assert_eq!(v["findings"][0]["rule_id"], "scan/pickle-dangerous-global");
    assert_eq!(v["findings"][0]["location"]["path"], "evil.pkl");
    let o = run(d, &["scan", "evil.pkl", "--format", "sarif"]);
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rules = &v["runs"][0]["tool"]["driver"]["rules"];
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "scan/pickle-dangerous-global")
    );
    assert_eq!(v["runs"][0]["results"][0]["level"], "error");
}

#[test]
fn could_not_run_is_exit_2_with_a_clear_message() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let o = run(d, &["scan", "missing-dir"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing-dir"), "{}", stderr(&o));
    std::fs::write(
        d.join("bad.toml"),
        "[[allow]]\nmodule = \"x\"\nnames = [\"*\"]\n",
    )
    .unwrap();
    std::fs::write(d.join("ok.pkl"), PLAIN).unwrap();
    let o = run(d, &["scan", "ok.pkl", "--allowlist", "bad.toml"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("bad.toml") && stderr(&o).contains("wildcards"),
        "{}",
        stderr(&o)
    );
    let o = run(d, &["scan", "ok.pkl", "--allowlist", "nope.toml"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn unreadable_files_fail_closed() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir(d.join("m")).unwrap();
    std::fs::write(d.join("m/weights.pkl"), PLAIN).unwrap();
    std::os::unix::fs::symlink("does-not-exist.pkl", d.join("m/dangling.pkl")).unwrap();
    let o = run(d, &["scan", "m", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["findings"][0]["rule_id"], "scan/unreadable");
}

#[test]
fn sign_refuses_unsafe_models_and_records_the_scan() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    keygen(d, "k", "ecdsa-p256");
    std::fs::create_dir(d.join("m")).unwrap();
    std::fs::write(d.join("m/model.pkl"), EVIL).unwrap();
    let o = run(d, &["sign", "m", "--key", "k"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("refusing to sign") && stderr(&o).contains("posix.system"));
    assert!(!d.join("m.sig").exists(), "nothing is written");
    // clean model: signed, and verify shows the recorded scan
    std::fs::write(d.join("m/model.pkl"), PLAIN).unwrap();
    let o = run(d, &["sign", "m", "--key", "k"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(d, &["verify", "m", "--key", "k.pub", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let scan = &v["facts"]["scan"];
    assert_eq!(scan["verdict"], "clean");
    assert!(scan["policy"].as_str().unwrap().starts_with("sha256:"));
    assert!(scan["tool"].as_str().unwrap().starts_with("modelsec "));
    assert_eq!(
        code(&run(
            d,
            &["verify", "m", "--key", "k.pub", "--require-scan"]
        )),
        0
    );
    // a user allow-list makes an unknown global acceptable to sign
    std::fs::write(d.join("m/model.pkl"), b"\x80\x02cmypkg\nLayer\n)\x81.").unwrap();
    assert_eq!(code(&run(d, &["sign", "m", "--key", "k"])), 1);
    std::fs::write(
        d.join("allow.toml"),
        "[[allow]]\nmodule = \"mypkg\"\nnames = [\"Layer\"]\n",
    )
    .unwrap();
    let o = run(d, &["sign", "m", "--key", "k", "--allowlist", "allow.toml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn verify_require_scan_rejects_overridden_and_unscanned_signatures() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    keygen(d, "k", "ecdsa-p256");
    std::fs::create_dir(d.join("m")).unwrap();
    std::fs::write(d.join("m/model.pkl"), EVIL).unwrap();
    let o = run(d, &["sign", "m", "--key", "k", "--allow-unsafe"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: signing despite"));
    // without --require-scan the signature itself is fine; with it, the override fails
    assert_eq!(code(&run(d, &["verify", "m", "--key", "k.pub"])), 0);
    let o = run(
        d,
        &[
            "verify",
            "m",
            "--key",
            "k.pub",
            "--require-scan",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["findings"][0]["rule_id"], "verify/scan-not-clean");
    // a signature with no scan record (as other OMS tools write it)
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oms");
    let status = std::process::Command::new("bash")
        .arg(fixtures.join("make_model.sh"))
        .args(["small", "1"])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(status.success());
    let sig = fixtures.join("small.sig.json");
    let key = fixtures.join("ec256.pub");
    let args = [
        "verify",
        "small",
        "--key",
        key.to_str().unwrap(),
        "--signature",
        sig.to_str().unwrap(),
    ];
    assert_eq!(code(&run(d, &args)), 0);
    let o = run(
        d,
        &[&args[..], &["--require-scan", "--format", "json"]].concat(),
    );
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["findings"][0]["rule_id"], "verify/scan-missing");
}

#[test]
fn sign_scans_what_it_signs() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    keygen(d, "k", "ecdsa-p256");
    std::fs::create_dir_all(d.join("m/scratch")).unwrap();
    std::fs::write(d.join("m/model.pkl"), PLAIN).unwrap();
    std::fs::write(d.join("m/scratch/evil.pkl"), EVIL).unwrap();
    // the unsafe file is part of the model: refused
    assert_eq!(code(&run(d, &["sign", "m", "--key", "k"])), 1);
    // left out of the signature with --ignore: not scanned either, so signing goes ahead
    let o = run(d, &["sign", "m", "--key", "k", "--ignore", "scratch"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // a signature written inside the model is not scanned as a model file
    let o = run(
        d,
        &[
            "sign",
            "m",
            "--key",
            "k",
            "--ignore",
            "scratch",
            "--signature",
            "m/model.sig",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(d, &["scan", "m", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let list = v["facts"]["not_model_file_list"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|f| f.as_str().unwrap().ends_with("model.sig")),
        "{list:?}"
    );
}

/// A pickle whose `os.system` call only CPython's buffered reader sees (FRAME divergence).
fn frame_divergence_pickle() -> Vec<u8> {
    let p = b"cos\nsystem\n(S'id'\ntR";
    let mut d = b"\x80\x05\x95\x02\x00\x00\x00\x00\x00\x00\x00B".to_vec();
    d.push(1 + p.len() as u8);
    d.extend_from_slice(b"\0\0\0\0");
    d.extend_from_slice(p);
    d.push(b'.');
    d
}

#[test]
fn frame_divergence_is_read_both_ways_inside_containers() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // an object array in a .npy file is a pickle stream too
    let header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&((header.len() + 1) as u16).to_le_bytes());
    npy.extend_from_slice(header);
    npy.push(b'\n');
    npy.extend_from_slice(&frame_divergence_pickle());
    std::fs::write(d.join("a.npy"), npy).unwrap();
    let o = run(d, &["scan", "a.npy", "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"scan/pickle-frame-divergence"), "{rules:?}");
    assert!(
        rules.contains(&"scan/pickle-dangerous-global"),
        "the buffered reading names the call: {rules:?}"
    );
}
