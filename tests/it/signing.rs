//! keygen / sign / verify / manifest through the built binary: key files, OpenSSL interop,
//! strict enumeration, reproducibility, output formats and exit codes.

use crate::common::*;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

fn openssl(args: &[&str], cwd: &Path) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .map(|o| o.status.success())
        .unwrap_or_else(|e| panic!("openssl is needed for these tests: {e}"))
}

#[test]
fn keygen_writes_0600_pkcs8_and_spki_that_openssl_reads() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for alg in ["ed25519", "ecdsa-p256"] {
        keygen(d, alg, alg);
        let mode = std::fs::metadata(d.join(alg)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let key = std::fs::read_to_string(d.join(alg)).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(
            openssl(&["pkey", "-in", alg, "-noout"], d),
            "openssl pkey reads {alg}"
        );
        let pubf = format!("{alg}.pub");
        assert!(openssl(&["pkey", "-pubin", "-in", &pubf, "-noout"], d));
    }
}

#[test]
fn keygen_never_overwrites_without_force() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    keygen(d, "k", "ed25519");
    let before = std::fs::read(d.join("k")).unwrap();
    let o = run(d, &["keygen", "--out", "k"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.join("k")).unwrap(), before);
    // Only the .pub exists: still refused, and the private key is not written.
    std::fs::remove_file(d.join("k")).unwrap();
    let o = run(d, &["keygen", "--out", "k"]);
    assert_eq!(code(&o), 2);
    assert!(!d.join("k").exists());
    let o = run(d, &["keygen", "--out", "k", "--force"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn encrypted_key_roundtrip_with_openssl_and_env_passphrase() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let o = assert_cmd::cargo::cargo_bin_cmd!("modelsec")
        .current_dir(d)
        .env("MODELSEC_PASSPHRASE", "s3cret pass")
        .args([
            "keygen",
            "--out",
            "ek",
            "--encrypt",
            "--algorithm",
            "ecdsa-p256",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(d.join("ek")).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(openssl(
        &["pkey", "-in", "ek", "-passin", "pass:s3cret pass", "-noout"],
        d
    ));
    assert!(!openssl(
        &["pkey", "-in", "ek", "-passin", "pass:wrong", "-noout"],
        d
    ));
    // OpenSSL's description of the encryption names scrypt.
    let out = Command::new("openssl")
        .args(["asn1parse", "-in", "ek"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(":scrypt"));

    make_model(&d.join("m"));
    // No passphrase, no terminal: a clear error, exit 2.
    let o = run(d, &["sign", "m", "--key", "ek"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("MODELSEC_PASSPHRASE"), "{}", stderr(&o));
    let sign = |pw: &str| {
        assert_cmd::cargo::cargo_bin_cmd!("modelsec")
            .current_dir(d)
            .env("MODELSEC_PASSPHRASE", pw)
            .args(["sign", "m", "--key", "ek"])
            .output()
            .unwrap()
    };
    let o = sign("nope");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("wrong passphrase"), "{}", stderr(&o));
    assert!(!d.join("m.sig").exists(), "nothing written on failure");
    assert_eq!(code(&sign("s3cret pass")), 0);
    assert_eq!(verify_rules(d, "m", "ek.pub", "m.sig", &[]), (0, vec![]));
}

#[test]
fn openssl_generated_keys_are_accepted() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    let cases: [&[&str]; 3] = [
        &["genpkey", "-algorithm", "ed25519", "-out", "k"],
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "k",
        ],
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "k",
        ],
    ];
    for gen_args in cases {
        let _ = std::fs::remove_file(d.join("k"));
        assert!(openssl(gen_args, d));
        assert!(openssl(
            &["pkey", "-in", "k", "-pubout", "-out", "k.pub"],
            d
        ));
        let o = run(d, &["sign", "m", "--key", "k", "--signature", "s.sig"]);
        assert_eq!(code(&o), 0, "{gen_args:?}: {}", stderr(&o));
        assert_eq!(
            verify_rules(d, "m", "k.pub", "s.sig", &[]),
            (0, vec![]),
            "{gen_args:?}"
        );
    }
    // Unsupported keys get a clear error.
    assert!(openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
            "-out",
            "k256k1"
        ],
        d
    ));
    let o = run(d, &["sign", "m", "--key", "k256k1"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("secp256k1"), "{}", stderr(&o));
}

#[test]
fn bundles_are_byte_reproducible_and_oms_shaped() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    keygen(d, "p", "ecdsa-p256");
    for out in ["a.sig", "b.sig"] {
        let o = run(d, &["sign", "m", "--key", "p", "--signature", out]);
        assert_eq!(code(&o), 0);
    }
    assert_eq!(
        std::fs::read(d.join("a.sig")).unwrap(),
        std::fs::read(d.join("b.sig")).unwrap()
    );
    let (b, st) = open_bundle(&d.join("a.sig"));
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        b["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], "https://model_signing/signature/v1.0");
    assert_eq!(st["subject"][0]["name"], "m");
    let ser = &st["predicate"]["serialization"];
    assert_eq!(ser["method"], "files");
    assert_eq!(ser["hash_type"], "sha256");
    assert_eq!(ser["allow_symlinks"], false);
    assert_eq!(
        ser["ignore_paths"],
        serde_json::json!([".git", ".gitattributes", ".github", ".gitignore"])
    );
    let names: Vec<&str> = st["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    // Per-component order, hidden files included, top-level .git excluded.
    assert_eq!(
        names,
        [
            ".hidden",
            "README.md",
            "a/b",
            "a-b",
            "a.txt",
            "config.json",
            "empty.bin",
            "model.safetensors",
            "sub/dir/extra.raw"
        ]
    );
}

#[test]
fn subject_digest_matches_model_signing_on_its_own_vectors() {
    // Our manifest of the OMS research model reproduces model_signing's subject digest.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let ok = Command::new("bash")
        .arg(fixtures().join("make_model.sh"))
        .args(["small", "1"])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(ok.success());
    let o = run(d, &["manifest", "small", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        m["subject_sha256"],
        "240b2ac814b0a9405ca39b19a2f9832366cbccb4df53a22c74b0f6645e30e24b"
    );
    // And the reference bundle verifies, with the reference key (hint match included).
    let sig = fixtures().join("small.sig.json");
    let key = fixtures().join("ec256.pub");
    let (c, ids) = verify_rules(
        d,
        "small",
        key.to_str().unwrap(),
        sig.to_str().unwrap(),
        &[],
    );
    assert_eq!((c, ids), (0, vec![]));
    // The reference private key (SEC1 PEM) signs too. The reference model's weights are random
    // bytes named .safetensors, so the scan refuses them until --allow-unsafe.
    let key = fixtures().join("ec256.key");
    let args = [
        "sign",
        "small",
        "--key",
        key.to_str().unwrap(),
        "--signature",
        "ours.sig",
    ];
    let o = run(d, &args);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("scan/safetensors-header") && !d.join("ours.sig").exists());
    let o = run(d, &[&args[..], &["--allow-unsafe"]].concat());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (_, st) = open_bundle(&d.join("ours.sig"));
    assert_eq!(
        st["subject"][0]["annotations"]["dev.modelsec.scan"]["verdict"],
        "findings (signed with --allow-unsafe)"
    );
    let (b, _) = open_bundle(&d.join("ours.sig"));
    assert_eq!(
        b["verificationMaterial"]["publicKey"]["hint"],
        "b84667b779d91106f6cfb8ce5b71e8f4b98c1cbca2402c08903b426dc9306793"
    );
}

#[test]
fn default_signature_path_and_signature_inside_model() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    keygen(d, "k", "ed25519");
    let o = run(d, &["sign", "m", "--key", "k"]);
    assert_eq!(code(&o), 0);
    assert!(
        d.join("m.sig").is_file(),
        "default is MODEL.sig beside the model"
    );
    let o = run(d, &["verify", "m", "--key", "k.pub"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // Inside the model: excluded from what is signed, and recorded as ignored.
    let o = run(
        d,
        &["sign", "m", "--key", "k", "--signature", "m/model.sig"],
    );
    assert_eq!(code(&o), 0);
    let (_, st) = open_bundle(&d.join("m/model.sig"));
    assert!(
        st["predicate"]["serialization"]["ignore_paths"]
            .as_array()
            .unwrap()
            .contains(&"model.sig".into())
    );
    assert_eq!(
        verify_rules(d, "m", "k.pub", "m/model.sig", &[]),
        (0, vec![])
    );
}

#[test]
fn single_file_model() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("w.onnx"), b"\x08\x07").unwrap();
    keygen(d, "k", "ed25519");
    let o = run(d, &["sign", "w.onnx", "--key", "k"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (_, st) = open_bundle(&d.join("w.onnx.sig"));
    assert_eq!(
        st["predicate"]["resources"][0]["name"], ".",
        "as model_signing writes (and requires) it"
    );
    assert_eq!(
        verify_rules(d, "w.onnx", "k.pub", "w.onnx.sig", &[]),
        (0, vec![])
    );
    std::fs::write(d.join("w.onnx"), b"\x08\x08").unwrap();
    let (c, ids) = verify_rules(d, "w.onnx", "k.pub", "w.onnx.sig", &[]);
    assert_eq!((c, ids), (1, vec!["verify/file-modified".to_string()]));
}

#[test]
fn strict_enumeration_refuses_what_oms_skips() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    keygen(d, "k", "ed25519");
    // Empty model.
    std::fs::create_dir(d.join("empty")).unwrap();
    let o = run(d, &["sign", "empty", "--key", "k"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no files to sign"), "{}", stderr(&o));
    assert!(!d.join("empty.sig").exists());

    make_model(&d.join("m"));
    symlink("config.json", d.join("m/link.json")).unwrap();
    let o = run(d, &["sign", "m", "--key", "k"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("`link.json` is a symlink"),
        "{}",
        stderr(&o)
    );
    // Allowed: the link is signed by its target's content and verifies.
    let o = run(d, &["sign", "m", "--key", "k", "--allow-symlinks"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(verify_rules(d, "m", "k.pub", "m.sig", &[]), (0, vec![]));

    // A symlinked directory and a link out of the model: refused even with --allow-symlinks.
    std::fs::create_dir(d.join("outside")).unwrap();
    std::fs::write(d.join("outside/secret"), b"s").unwrap();
    symlink(d.join("outside"), d.join("m/dirlink")).unwrap();
    symlink(d.join("outside/secret"), d.join("m/out.txt")).unwrap();
    let o = run(d, &["sign", "m", "--key", "k", "--allow-symlinks"]);
    assert_eq!(code(&o), 2);
    let e = stderr(&o);
    assert!(e.contains("`dirlink` is a symlink to a directory"), "{e}");
    assert!(
        e.contains("`out.txt` is a symlink that leaves the model root"),
        "{e}"
    );
}

#[test]
fn non_utf8_names_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    keygen(d, "k", "ed25519");
    make_model(&d.join("m"));
    let bad = std::ffi::OsStr::from_bytes(b"bad\xffname");
    if std::fs::write(d.join("m").join(bad), b"x").is_err() {
        return; // the filesystem itself refuses such names
    }
    let o = run(d, &["sign", "m", "--key", "k"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not valid UTF-8"), "{}", stderr(&o));
}

#[test]
fn nested_git_is_signed_top_level_git_is_not() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    std::fs::create_dir_all(d.join("m/sub/.git")).unwrap();
    std::fs::write(d.join("m/sub/.git/HEAD"), b"x").unwrap();
    let o = run(d, &["manifest", "m", "--format", "json"]);
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"sub/.git/HEAD"));
    assert!(!names.iter().any(|n| n.starts_with(".git/")));
}

#[test]
fn manifest_lists_sizes_and_digests() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    let o = run(d, &["manifest", "m"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(
        out.contains("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  ")
            && out.contains("empty.bin"),
        "{out}"
    );
    assert!(out.contains("9 file(s)"), "{out}");
}

#[test]
fn verify_formats_are_single_documents_and_errors_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    keygen(d, "k", "ed25519");
    assert_eq!(code(&run(d, &["sign", "m", "--key", "k"])), 0);
    std::fs::write(d.join("m/config.json"), b"{}").unwrap();
    let o = run(d, &["verify", "m", "--key", "k.pub", "--format", "sarif"]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one SARIF document");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "verify/file-modified");
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "config.json"
    );
    let o = run(d, &["verify", "m", "--key", "k.pub"]);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("critical[verify/file-modified] `config.json`"),
        "{}",
        stdout(&o)
    );

    // Could not run: exit 2 with a message naming the problem.
    std::fs::write(d.join("bad.sig"), br#"{"mediaType":"x","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"%%%","payloadType":"t"}}"#).unwrap();
    let o = run(
        d,
        &["verify", "m", "--key", "k.pub", "--signature", "bad.sig"],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("dsseEnvelope.payload"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    let o = run(d, &["verify", "m", "--key", "k", "--signature", "m.sig"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("private key"), "{}", stderr(&o));
    let o = run(d, &["verify", "m", "--key", "nope.pub"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope.pub"), "{}", stderr(&o));
    let o = run(
        d,
        &[
            "verify",
            "missing-model",
            "--key",
            "k.pub",
            "--signature",
            "m.sig",
        ],
    );
    assert_eq!(code(&o), 2);
}

#[test]
fn help_documents_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    let o = run(t.path(), &["--help"]);
    assert!(stdout(&o).contains("1  findings, or verification failed"));
    let o = run(t.path(), &["verify", "--help"]);
    assert!(stdout(&o).contains("2  could not run"));
}

#[test]
fn oversized_bundle_is_refused_without_reading_it() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    keygen(d, "k", "ed25519");
    let f = std::fs::File::create(d.join("huge.sig")).unwrap();
    f.set_len((1 << 30) + 1).unwrap(); // sparse: no disk used
    let o = run(
        d,
        &["verify", "m", "--key", "k.pub", "--signature", "huge.sig"],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("larger than"), "{}", stderr(&o));
}
