//! model_signing's real interop vectors (signed by upstream releases 0.2.0-1.1.0: certificate
//! mode, P-384 keys, Sigstore keyless), as the rh-model-signing 1.0.5 sdist on PyPI ships them
//! (`scripts/peers.sh` unpacks them into `.local/vectors`, Apache-2.0 LICENSE beside them).
//! Sigstore bundles are verified offline against the embedded public-good trusted root.

use crate::common::*;
use std::path::Path;

const ID: &str = "stefanb@us.ibm.com";
const ISSUER: &str = "https://sigstore.verify.ibm.com/oauth2";

/// Copy a vector folder (so tests may tamper with it).
fn copy_vector(name: &str, to: &Path) -> std::path::PathBuf {
    let src = vectors().join(name);
    let dst = to.join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    dst
}

fn rules_of(o: &std::process::Output) -> (i32, Vec<String>) {
    let c = code(o);
    if c == 2 {
        return (2, vec![stderr(o)]);
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", stdout(o)));
    let ids = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    (c, ids)
}

/// `verify DIR --signature DIR/model.sig --ignore ignore-me --format json EXTRA…` in `cwd`.
fn verify_vector(cwd: &Path, dir: &str, extra: &[&str]) -> (i32, Vec<String>) {
    let sig = format!("{dir}/model.sig");
    // The v0.3.1 and v1.0.0 key vectors sign one file of the folder (upstream verifies `…/signme-1`).
    let model = if dir == "v0.3.1-elliptic-key" || dir == "v1.0.0-elliptic-key" {
        format!("{dir}/signme-1")
    } else {
        dir.to_string()
    };
    let mut args = vec!["verify", &model, "--signature", &sig, "--format", "json"];
    if cwd.join(dir).join("ignore-me").exists() {
        args.extend(["--ignore", "ignore-me"]);
    }
    args.extend_from_slice(extra);
    rules_of(&run(cwd, &args))
}

fn keyless<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "--certificate-identity",
        ID,
        "--certificate-oidc-issuer",
        ISSUER,
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the PyPI vectors: scripts/test.sh"
)]
fn sigstore_keyless_vectors_verify_offline() {
    let t = tempfile::tempdir().unwrap();
    for v in [
        "v0.3.1-sigstore",
        "v1.0.0-sigstore",
        "v1.0.1-sigstore",
        "v1.1.0-sigstore",
    ] {
        copy_vector(v, t.path());
        assert_eq!(
            verify_vector(t.path(), v, &keyless(&[])),
            (0, vec![]),
            "{v}"
        );
    }
    // Regexp variants, as cosign has them.
    let v = "v1.1.0-sigstore";
    assert_eq!(
        verify_vector(
            t.path(),
            v,
            &[
                "--certificate-identity-regexp",
                "^stefanb@.*ibm\\.com$",
                "--certificate-oidc-issuer-regexp",
                "^https://sigstore\\.verify\\.ibm\\.com/"
            ]
        ),
        (0, vec![])
    );
    // The JSON names the signer.
    let o = run(
        t.path(),
        &[
            &[
                "verify",
                v,
                "--signature",
                "v1.1.0-sigstore/model.sig",
                "--ignore",
                "ignore-me",
                "--format",
                "json",
            ][..],
            &keyless(&[]),
        ]
        .concat(),
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["facts"]["signer"]["identity"], ID);
    assert_eq!(r["facts"]["signer"]["issuer"], ISSUER);
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the PyPI vectors: scripts/test.sh"
)]
fn sigstore_keyless_failures_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let v = "v1.1.0-sigstore";
    let dir = copy_vector(v, d);
    let mismatch = (1, vec!["verify/identity-mismatch".to_string()]);
    assert_eq!(
        verify_vector(
            d,
            v,
            &[
                "--certificate-identity",
                "someone@example.com",
                "--certificate-oidc-issuer",
                ISSUER
            ]
        ),
        mismatch
    );
    assert_eq!(
        verify_vector(
            d,
            v,
            &[
                "--certificate-identity",
                ID,
                "--certificate-oidc-issuer",
                "https://accounts.google.com"
            ]
        ),
        mismatch
    );
    assert_eq!(
        verify_vector(
            d,
            v,
            &[
                "--certificate-identity-regexp",
                "^evil",
                "--certificate-oidc-issuer",
                ISSUER
            ]
        ),
        mismatch
    );
    // The staging instance's root does not vouch for production's Fulcio, Rekor or TSA.
    std::fs::write(
        d.join("staging.json"),
        modelsec::signing::keyless::staging_trusted_root(),
    )
    .unwrap();
    assert_eq!(
        verify_vector(d, v, &keyless(&["--trusted-root", "staging.json"])),
        (1, vec!["verify/keyless-invalid".to_string()])
    );
    // One flipped byte in the inclusion proof.
    let sig = dir.join("model.sig");
    let orig = std::fs::read(&sig).unwrap();
    let mut b: serde_json::Value = serde_json::from_slice(&orig).unwrap();
    let h = b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0]
        .as_str()
        .unwrap()
        .to_string();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw = b64.decode(&h).unwrap();
    raw[0] ^= 1;
    b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] =
        b64.encode(raw).into();
    std::fs::write(&sig, serde_json::to_vec(&b).unwrap()).unwrap();
    assert_eq!(
        verify_vector(d, v, &keyless(&[])),
        (1, vec!["verify/keyless-invalid".to_string()])
    );
    std::fs::write(&sig, &orig).unwrap();
    assert_eq!(verify_vector(d, v, &keyless(&[])), (0, vec![]));
    // A key for a keyless bundle: failed, not unreadable.
    let (c, ids) = verify_vector(
        d,
        v,
        &[
            "--key",
            vectors()
                .join("keys/certificate/signing-key-pub.pem")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!((c, ids), (1, vec!["verify/material-mismatch".to_string()]));
    // A tampered model.
    std::fs::write(dir.join("signme-1"), b"tampered").unwrap();
    assert_eq!(
        verify_vector(d, v, &keyless(&[])),
        (1, vec!["verify/file-modified".to_string()])
    );
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the PyPI vectors: scripts/test.sh"
)]
fn certificate_and_p384_key_vectors_of_every_release_verify() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let keys = vectors().join("keys/certificate");
    let root = keys.join("ca-cert.pem");
    let public = keys.join("signing-key-pub.pem");
    for v in [
        "v0.2.0-certificate",
        "v0.3.1-certificate",
        "v1.0.0-certificate",
        "v1.0.1-certificate",
        "v1.1.0-certificate",
    ] {
        copy_vector(v, d);
        // Upstream's leaf is CA:TRUE without keyCertSign: accepted, and said so.
        let (c, ids) = verify_vector(d, v, &["--certificate-chain", root.to_str().unwrap()]);
        assert_eq!((c, ids), (0, vec![]), "{v}");
        // It has no SAN: a pinned identity cannot match.
        assert_eq!(
            verify_vector(
                d,
                v,
                &[
                    "--certificate-chain",
                    root.to_str().unwrap(),
                    "--certificate-identity",
                    "x@example.com"
                ]
            ),
            (1, vec!["verify/identity-mismatch".to_string()]),
            "{v}"
        );
    }
    // The intermediate is not a root.
    let v = "v1.1.0-certificate";
    assert_eq!(
        verify_vector(
            d,
            v,
            &[
                "--certificate-chain",
                keys.join("int-ca-cert.pem").to_str().unwrap()
            ]
        )
        .0,
        1
    );
    for v in [
        "v0.3.1-elliptic-key",
        "v1.0.0-elliptic-key",
        "v1.0.1-elliptic-key",
        "v1.1.0-elliptic-key",
    ] {
        copy_vector(v, d);
        assert_eq!(
            verify_vector(d, v, &["--key", public.to_str().unwrap()]),
            (0, vec![]),
            "{v}"
        );
    }
}
