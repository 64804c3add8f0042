//! Shared helpers for the integration tests: a deterministic model directory, key pairs, running
//! the built binary, and re-signing edited bundles.
#![allow(dead_code)]

use assert_cmd::cargo::cargo_bin_cmd;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use modelsec::signing::{SigningKey, bundle};
use std::path::{Path, PathBuf};
use std::process::Output;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oms")
}

/// A small model directory exercising the OMS edge cases: hidden file, nested dirs, component
/// ordering (`a/b`, `a-b`, `a.txt`), an empty file, a top-level `.git`, and some binary weights.
pub fn make_model(dir: &Path) {
    let w = |rel: &str, data: &[u8]| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    w(
        "config.json",
        b"{\"architectures\":[\"Demo\"],\"hidden_size\":64}\n",
    );
    w("README.md", b"# demo model\n");
    w(".hidden", b"hidden file\n");
    w("a/b", b"b in a\n");
    w("a-b", b"a-b\n");
    w("a.txt", b"a.txt\n");
    w("empty.bin", b"");
    let weights: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    w("model.safetensors", &safetensors(&weights));
    w("sub/dir/extra.raw", &weights[..4096]);
    w(".git/HEAD", b"ref: refs/heads/main\n");
}

/// A valid safetensors file holding `data` as one U8 tensor (so `sign`'s scan passes).
pub fn safetensors(data: &[u8]) -> Vec<u8> {
    let mut header = format!(
        "{{\"w\":{{\"dtype\":\"U8\",\"shape\":[{n}],\"data_offsets\":[0,{n}]}}}}",
        n = data.len()
    )
    .into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

/// Run the built `modelsec` with `args` in `cwd`.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    cargo_bin_cmd!("modelsec")
        .current_dir(cwd)
        .env_remove("MODELSEC_PASSPHRASE")
        .args(args)
        .output()
        .unwrap()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `keygen` a pair named `name` in `dir`.
pub fn keygen(dir: &Path, name: &str, alg: &str) {
    let o = run(dir, &["keygen", "--out", name, "--algorithm", alg]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Verify with JSON output; returns (exit code, rule ids found).
pub fn verify_rules(
    dir: &Path,
    model: &str,
    key: &str,
    sig: &str,
    extra: &[&str],
) -> (i32, Vec<String>) {
    let mut args = vec![
        "verify",
        model,
        "--key",
        key,
        "--signature",
        sig,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(dir, &args);
    let c = code(&o);
    if c == 2 {
        return (2, vec![stderr(&o)]);
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", stdout(&o)));
    let ids = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    (c, ids)
}

/// Read a bundle as JSON plus its decoded statement.
pub fn open_bundle(path: &Path) -> (serde_json::Value, serde_json::Value) {
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let payload = B64
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    (b, serde_json::from_slice(&payload).unwrap())
}

/// Write `bundle` with `statement` as its payload; re-sign it with `key` when given (so only the
/// edit under test is wrong), or keep the old signature.
pub fn write_bundle(
    path: &Path,
    mut b: serde_json::Value,
    statement: &serde_json::Value,
    key: Option<&Path>,
) {
    let payload = serde_json::to_vec(statement).unwrap();
    b["dsseEnvelope"]["payload"] = B64.encode(&payload).into();
    if let Some(key) = key {
        let sk = SigningKey::from_pem(&std::fs::read_to_string(key).unwrap(), &mut || {
            unreachable!("test keys are not encrypted")
        })
        .unwrap();
        let pt = b["dsseEnvelope"]["payloadType"]
            .as_str()
            .unwrap()
            .to_string();
        let sig = sk.sign(&bundle::pae(&pt, &payload));
        b["dsseEnvelope"]["signatures"][0]["sig"] = B64.encode(sig).into();
    }
    std::fs::write(path, serde_json::to_vec_pretty(&b).unwrap()).unwrap();
}

/// Why a test that needs the Python peers is ignored without the `peers` feature.
pub const NEEDS_PEERS: &str = "needs the Python peers and PyPI vectors: run scripts/test.sh (CI does), or scripts/peers.sh then cargo test --features peers";

/// The Python with `model_signing` 1.1.1 that `scripts/peers.sh` installs into `.venv`. Only
/// tests built with the `peers` feature call it, and for them a missing peer is a failure.
pub fn peer_python() -> PathBuf {
    let candidates = [
        std::env::var_os("MODELSEC_PEER_PYTHON").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")),
    ];
    for c in candidates.into_iter().flatten() {
        let ok = std::process::Command::new(&c)
            .args(["-c", "import model_signing, OpenSSL"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return c;
        }
    }
    panic!("model_signing 1.1.1 is not installed; run scripts/peers.sh (scripts/test.sh does)")
}

/// `model_signing`'s real interop vectors (`scripts/tests/` of the rh-model-signing 1.0.5 sdist
/// that `scripts/peers.sh` unpacks into `.local/vectors`; Apache-2.0, its LICENSE beside them).
pub fn vectors() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".local/vectors/rh_model_signing-1.0.5/scripts/tests");
    assert!(
        d.join("v1.1.0-sigstore/model.sig").is_file(),
        "model_signing's vectors are missing; run scripts/peers.sh (scripts/test.sh does)"
    );
    d
}

/// Run `openssl` with `args` in `cwd`; panics with its stderr when it fails.
pub fn openssl(cwd: &Path, args: &[&str]) {
    let o = std::process::Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("openssl is installed (scripts/test.sh checks)");
    assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
}

/// The first numeric attribute `name="…"` in an XML text (JUnit `tests`, `failures`).
pub fn xml_count(xml: &str, name: &str) -> usize {
    xml.split(&format!("{name}=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {name}=\"…\" in {xml}"))
}

/// The address a just-spawned `serve`/`proxy` announces on the first line of its stderr
/// (`… listening on http://ADDR …`); the rest of stderr is drained on a thread so the server
/// never blocks writing to it.
pub fn listening_addr(child: &mut std::process::Child) -> String {
    use std::io::{BufRead, Read};
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr piped"));
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in: {line}"))
        .to_string();
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = err.read_to_string(&mut sink);
    });
    addr
}
