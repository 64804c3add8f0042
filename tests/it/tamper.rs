//! The tamper suite: each class of change to a signed model or its bundle must fail `verify`
//! with exit 1 and name the right rule; the untouched model must verify with exit 0.

use crate::common::*;
use std::os::unix::fs::symlink;
use std::path::Path;

/// A signed model in a fresh temp dir: `model/`, keys `k` (ed25519), `other` (ed25519),
/// `p` (P-256), bundle `model.sig`.
fn setup() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("model"));
    keygen(d, "k", "ed25519");
    keygen(d, "other", "ed25519");
    keygen(d, "p", "ecdsa-p256");
    let o = run(
        d,
        &["sign", "model", "--key", "k", "--signature", "model.sig"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    t
}

fn verify(d: &Path) -> (i32, Vec<String>) {
    verify_rules(d, "model", "k.pub", "model.sig", &[])
}

fn assert_fails(d: &Path, rule: &str) {
    let (c, ids) = verify(d);
    assert_eq!(c, 1, "expected exit 1 with {rule}, got {c}: {ids:?}");
    assert!(ids.iter().any(|i| i == rule), "expected {rule} in {ids:?}");
}

fn edit_statement(d: &Path, resign: bool, f: impl FnOnce(&mut serde_json::Value)) {
    let (b, mut st) = open_bundle(&d.join("model.sig"));
    f(&mut st);
    let key = d.join("k");
    write_bundle(
        &d.join("model.sig"),
        b,
        &st,
        resign.then_some(key.as_path()),
    );
}

fn edit_bundle(d: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = d.join("model.sig");
    let mut b: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    f(&mut b);
    std::fs::write(p, serde_json::to_vec(&b).unwrap()).unwrap();
}

#[test]
fn untouched_model_verifies() {
    let t = setup();
    let (c, ids) = verify(t.path());
    assert_eq!((c, ids), (0, vec![]));
}

#[test]
fn byte_flipped() {
    let t = setup();
    let p = t.path().join("model/model.safetensors");
    let mut b = std::fs::read(&p).unwrap();
    b[12345] ^= 0x01;
    std::fs::write(&p, b).unwrap();
    assert_fails(t.path(), "verify/file-modified");
}

#[test]
fn file_truncated() {
    let t = setup();
    let p = t.path().join("model/model.safetensors");
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(1000).unwrap();
    assert_fails(t.path(), "verify/file-modified");
}

#[test]
fn bytes_appended() {
    let t = setup();
    let p = t.path().join("model/config.json");
    let mut b = std::fs::read(&p).unwrap();
    b.extend_from_slice(b" ");
    std::fs::write(&p, b).unwrap();
    assert_fails(t.path(), "verify/file-modified");
}

#[test]
fn file_added() {
    let t = setup();
    std::fs::write(t.path().join("model/new.bin"), b"x").unwrap();
    assert_fails(t.path(), "verify/file-unexpected");
}

#[test]
fn hidden_file_added() {
    let t = setup();
    std::fs::write(t.path().join("model/.pth"), b"import os").unwrap();
    assert_fails(t.path(), "verify/file-unexpected");
}

#[test]
fn file_added_in_new_subdirectory() {
    let t = setup();
    std::fs::create_dir_all(t.path().join("model/new/dir")).unwrap();
    std::fs::write(t.path().join("model/new/dir/x.py"), b"print(1)").unwrap();
    assert_fails(t.path(), "verify/file-unexpected");
}

#[test]
fn empty_file_added() {
    let t = setup();
    std::fs::write(t.path().join("model/__init__.py"), b"").unwrap();
    assert_fails(t.path(), "verify/file-unexpected");
}

#[test]
fn file_removed() {
    let t = setup();
    std::fs::remove_file(t.path().join("model/a/b")).unwrap();
    assert_fails(t.path(), "verify/file-missing");
}

#[test]
fn file_renamed() {
    let t = setup();
    std::fs::rename(t.path().join("model/a.txt"), t.path().join("model/b.txt")).unwrap();
    assert_fails(t.path(), "verify/file-renamed");
}

#[test]
fn file_replaced_by_symlink() {
    let t = setup();
    let p = t.path().join("model/config.json");
    std::fs::copy(&p, t.path().join("model/copy.json")).unwrap();
    std::fs::remove_file(&p).unwrap();
    symlink("copy.json", &p).unwrap();
    assert_fails(t.path(), "verify/symlink");
}

#[test]
fn directory_replaced_by_symlink() {
    let t = setup();
    let d = t.path();
    std::fs::rename(d.join("model/sub"), d.join("elsewhere")).unwrap();
    symlink(d.join("elsewhere"), d.join("model/sub")).unwrap();
    assert_fails(d, "verify/symlink");
}

#[test]
fn file_replaced_by_fifo() {
    let t = setup();
    let p = t.path().join("model/a.txt");
    std::fs::remove_file(&p).unwrap();
    let ok = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .unwrap();
    assert!(ok.success());
    assert_fails(t.path(), "verify/special-file");
}

#[test]
fn bundle_path_traversal() {
    let t = setup();
    edit_statement(t.path(), true, |st| {
        st["predicate"]["resources"][0]["name"] = "../outside.txt".into();
    });
    assert_fails(t.path(), "verify/manifest-path");
}

#[test]
fn bundle_path_traversal_unsigned_edit() {
    let t = setup();
    edit_statement(t.path(), false, |st| {
        st["predicate"]["resources"][0]["name"] = "../../etc/passwd".into();
    });
    let (c, ids) = verify(t.path());
    assert_eq!(c, 1);
    assert!(
        ids.contains(&"verify/signature-invalid".to_string()),
        "{ids:?}"
    );
    assert!(ids.contains(&"verify/manifest-path".to_string()), "{ids:?}");
}

#[test]
fn absolute_path() {
    let t = setup();
    edit_statement(t.path(), true, |st| {
        st["predicate"]["resources"][1]["name"] = "/etc/passwd".into();
    });
    assert_fails(t.path(), "verify/manifest-path");
}

#[test]
fn duplicate_entry() {
    let t = setup();
    edit_statement(t.path(), true, |st| {
        let r = st["predicate"]["resources"][0].clone();
        st["predicate"]["resources"].as_array_mut().unwrap().push(r);
    });
    assert_fails(t.path(), "verify/manifest-duplicate");
}

#[test]
fn resource_digest_edited() {
    let t = setup();
    edit_statement(t.path(), false, |st| {
        st["predicate"]["resources"][2]["digest"] = "00".repeat(32).into();
    });
    let (c, ids) = verify(t.path());
    assert_eq!(c, 1);
    for r in [
        "verify/signature-invalid",
        "verify/subject-digest",
        "verify/file-modified",
    ] {
        assert!(ids.contains(&r.to_string()), "{r} missing from {ids:?}");
    }
}

#[test]
fn subject_digest_edited() {
    let t = setup();
    edit_statement(t.path(), true, |st| {
        st["subject"][0]["digest"]["sha256"] = "11".repeat(32).into();
    });
    assert_fails(t.path(), "verify/subject-digest");
}

#[test]
fn payload_edited() {
    let t = setup();
    edit_statement(t.path(), false, |st| {
        st["predicate"]["serialization"]["allow_symlinks"] = true.into();
    });
    assert_fails(t.path(), "verify/signature-invalid");
}

#[test]
fn payload_type_changed() {
    let t = setup();
    edit_bundle(t.path(), |b| {
        b["dsseEnvelope"]["payloadType"] = "application/json".into();
    });
    let (c, ids) = verify(t.path());
    assert_eq!(c, 1);
    assert!(ids.contains(&"verify/payload-type".to_string()), "{ids:?}");
    assert!(
        ids.contains(&"verify/signature-invalid".to_string()),
        "{ids:?}"
    );
}

#[test]
fn predicate_type_changed() {
    let t = setup();
    edit_statement(t.path(), true, |st| {
        st["predicateType"] = "https://slsa.dev/provenance/v1".into();
    });
    assert_fails(t.path(), "verify/predicate-type");
}

#[test]
fn signature_bit_flipped() {
    use base64::Engine;
    let t = setup();
    edit_bundle(t.path(), |b| {
        let e = base64::engine::general_purpose::STANDARD;
        let mut sig = e
            .decode(b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap())
            .unwrap();
        sig[5] ^= 0x10;
        b["dsseEnvelope"]["signatures"][0]["sig"] = e.encode(sig).into();
    });
    assert_fails(t.path(), "verify/signature-invalid");
}

#[test]
fn signature_by_another_key() {
    let t = setup();
    let o = run(
        t.path(),
        &[
            "sign",
            "model",
            "--key",
            "other",
            "--signature",
            "model.sig",
        ],
    );
    assert_eq!(code(&o), 0);
    let (c, ids) = verify(t.path());
    assert_eq!(c, 1);
    assert!(ids.contains(&"verify/wrong-key".to_string()), "{ids:?}");
    assert!(
        ids.contains(&"verify/signature-invalid".to_string()),
        "{ids:?}"
    );
}

#[test]
fn wrong_key_algorithm() {
    let t = setup();
    let (c, ids) = verify_rules(t.path(), "model", "p.pub", "model.sig", &[]);
    assert_eq!(c, 1);
    assert!(ids.contains(&"verify/wrong-key".to_string()), "{ids:?}");
}

#[test]
fn hint_edited() {
    let t = setup();
    edit_bundle(t.path(), |b| {
        b["verificationMaterial"]["publicKey"]["hint"] = "ab".repeat(32).into();
    });
    assert_fails(t.path(), "verify/wrong-key");
}

#[test]
fn zero_signatures() {
    let t = setup();
    edit_bundle(t.path(), |b| {
        b["dsseEnvelope"]["signatures"] = serde_json::json!([]);
    });
    assert_fails(t.path(), "verify/no-signature");
}

#[test]
fn unknown_hash_algorithm() {
    let t = setup();
    edit_statement(t.path(), true, |st| {
        st["predicate"]["resources"][0]["algorithm"] = "md5".into();
    });
    assert_fails(t.path(), "verify/hash-algorithm");
}

#[test]
fn ignore_path_mismatch() {
    let t = setup();
    let (c, ids) = verify_rules(
        t.path(),
        "model",
        "k.pub",
        "model.sig",
        &["--ignore", "sub"],
    );
    assert_eq!(c, 1);
    assert!(ids.contains(&"verify/ignore-path".to_string()), "{ids:?}");
}

#[test]
fn ignore_path_added_to_statement_hides_nothing() {
    // An attacker who adds an ignore path to hide a planted file also breaks the signature.
    let t = setup();
    std::fs::write(t.path().join("model/evil.py"), b"import os").unwrap();
    edit_statement(t.path(), false, |st| {
        st["predicate"]["serialization"]["ignore_paths"]
            .as_array_mut()
            .unwrap()
            .push("evil.py".into());
    });
    assert_fails(t.path(), "verify/signature-invalid");
}

#[test]
fn signed_ignore_paths_are_reapplied_without_leaking() {
    let t = setup();
    let d = t.path();
    std::fs::create_dir_all(d.join("model/logs")).unwrap();
    std::fs::write(d.join("model/logs/run.txt"), b"1").unwrap();
    let o = run(
        d,
        &[
            "sign",
            "model",
            "--key",
            "k",
            "--signature",
            "ign.sig",
            "--ignore",
            "logs",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::write(d.join("model/logs/run2.txt"), b"2").unwrap();
    assert_eq!(
        verify_rules(d, "model", "k.pub", "ign.sig", &[]),
        (0, vec![])
    );
    // The same tree against a bundle without that ignore path: the logs are unexpected.
    let o = run(
        d,
        &["sign", "model", "--key", "k", "--signature", "plain.sig"],
    );
    assert_eq!(code(&o), 0);
    std::fs::write(d.join("model/logs/run3.txt"), b"3").unwrap();
    let (c, ids) = verify_rules(d, "model", "k.pub", "plain.sig", &[]);
    assert_eq!(c, 1);
    assert!(
        ids.contains(&"verify/file-unexpected".to_string()),
        "{ids:?}"
    );
}

#[test]
fn every_difference_is_listed() {
    let t = setup();
    let d = t.path();
    std::fs::write(d.join("model/config.json"), b"{}").unwrap();
    std::fs::remove_file(d.join("model/README.md")).unwrap();
    std::fs::write(d.join("model/planted.py"), b"import os").unwrap();
    let (c, ids) = verify(d);
    assert_eq!(c, 1);
    for r in [
        "verify/file-modified",
        "verify/file-missing",
        "verify/file-unexpected",
    ] {
        assert!(ids.contains(&r.to_string()), "{r} missing from {ids:?}");
    }
}
