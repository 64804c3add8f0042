//! Interoperability with the reference OMS implementation, `model_signing` 1.1.1 from PyPI
//! (installed into `.venv` by `scripts/test.sh`). Both directions, tampering, shards bundles,
//! single-file models, and the documented Ed25519 limitation.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn peer_cli(python: &Path) -> PathBuf {
    python.with_file_name("model_signing")
}

fn peer(python: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(peer_cli(python))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// `model_signing verify key MODEL --signature SIG --public_key PUB` in `cwd`.
fn peer_verify(python: &Path, cwd: &Path, model: &str, sig: &str, public: &str) -> Output {
    peer(
        python,
        cwd,
        &[
            "verify",
            "key",
            model,
            "--signature",
            sig,
            "--public_key",
            public,
        ],
    )
}

fn setup() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    make_model(&t.path().join("m"));
    keygen(t.path(), "p", "ecdsa-p256");
    t
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the Python peers: scripts/test.sh"
)]
fn model_signing_verifies_our_p256_bundles() {
    let py = peer_python();
    let t = setup();
    let d = t.path();
    let o = run(d, &["sign", "m", "--key", "p", "--signature", "ours.sig"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = peer_verify(&py, d, "m", "ours.sig", "p.pub");
    assert!(
        o.status.success(),
        "model_signing rejected our bundle: {}{}",
        stdout(&o),
        stderr(&o)
    );
    // Tampered: the peer fails too.
    std::fs::write(d.join("m/a.txt"), b"changed\n").unwrap();
    let o = peer_verify(&py, d, "m", "ours.sig", "p.pub");
    assert_eq!(o.status.code(), Some(1), "peer accepted a tampered model");
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the Python peers: scripts/test.sh"
)]
fn we_verify_model_signing_bundles() {
    let py = peer_python();
    let t = setup();
    let d = t.path();
    let o = peer(
        &py,
        d,
        &[
            "sign",
            "key",
            "m",
            "--private_key",
            "p",
            "--signature",
            "theirs.sig",
        ],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        verify_rules(d, "m", "p.pub", "theirs.sig", &[]),
        (0, vec![])
    );
    // Our manifest agrees with theirs, name by name and digest by digest.
    let (_, st) = open_bundle(&d.join("theirs.sig"));
    let o = run(d, &["manifest", "m", "--format", "json"]);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["subject_sha256"], st["subject"][0]["digest"]["sha256"]);
    // Tampered: we fail with the right finding.
    std::fs::write(d.join("m/new.bin"), b"x").unwrap();
    let (c, ids) = verify_rules(d, "m", "p.pub", "theirs.sig", &[]);
    assert_eq!((c, ids), (1, vec!["verify/file-unexpected".to_string()]));
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the Python peers: scripts/test.sh"
)]
fn we_verify_model_signing_shards_bundles() {
    let py = peer_python();
    let t = setup();
    let d = t.path();
    let script = fixtures().join("peer_sign.py");
    // 64 KiB shards: model.safetensors (300 kB) spans five.
    let o = Command::new(&py)
        .arg(&script)
        .args(["m", "p", "shards.sig", "shards", "65536"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, st) = open_bundle(&d.join("shards.sig"));
    assert_eq!(st["predicate"]["serialization"]["method"], "shards");
    let o = run(
        d,
        &[
            "verify",
            "m",
            "--key",
            "p.pub",
            "--signature",
            "shards.sig",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // model_signing's shards method drops empty files; we say so, without failing.
    let infos: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(infos, ["verify/unsigned-empty-file"]);
    // A flipped byte in the fourth shard is found.
    let p = d.join("m/model.safetensors");
    let mut b = std::fs::read(&p).unwrap();
    b[200_000] ^= 0x80;
    std::fs::write(&p, b).unwrap();
    let (c, ids) = verify_rules(d, "m", "p.pub", "shards.sig", &[]);
    assert_eq!((c, ids), (1, vec!["verify/file-modified".to_string()]));
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the Python peers: scripts/test.sh"
)]
fn single_file_bundles_both_ways() {
    let py = peer_python();
    let t = setup();
    let d = t.path();
    std::fs::write(d.join("w.raw"), b"weights").unwrap();
    let o = peer(
        &py,
        d,
        &[
            "sign",
            "key",
            "w.raw",
            "--private_key",
            "p",
            "--signature",
            "theirs.sig",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        verify_rules(d, "w.raw", "p.pub", "theirs.sig", &[]),
        (0, vec![])
    );
    let o = run(
        d,
        &["sign", "w.raw", "--key", "p", "--signature", "ours.sig"],
    );
    assert_eq!(code(&o), 0);
    let o = peer_verify(&py, d, "w.raw", "ours.sig", "p.pub");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the Python peers: scripts/test.sh"
)]
fn model_signing_cannot_verify_ed25519_as_documented() {
    let py = peer_python();
    let t = setup();
    let d = t.path();
    keygen(d, "e", "ed25519");
    let o = run(d, &["sign", "m", "--key", "e", "--signature", "ed.sig"]);
    assert_eq!(code(&o), 0);
    let o = peer_verify(&py, d, "m", "ed.sig", "e.pub");
    assert!(
        !o.status.success(),
        "model_signing now accepts Ed25519: update the README"
    );
}
