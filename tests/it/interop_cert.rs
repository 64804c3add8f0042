//! Certificate mode (a test PKI made here with `openssl ca`), P-384/P-521 keys, several signers,
//! and their interoperability with `model_signing` 1.1.1.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const IDENTITY: &str = "publisher@example.com";

const CA_CNF: &str = "
[ca]
default_ca = CA_default
[CA_default]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha256
policy = policy_any
preserve = yes
unique_subject = no
email_in_dn = no
copy_extensions = none
[policy_any]
commonName = supplied
[req]
distinguished_name = dn
[dn]
[v3_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectAltName = email:publisher@example.com
[v3_leaf_misuse]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = email:publisher@example.com
[v3_leaf_ca_nosign]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
[v3_leaf_ca_certsign]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign
extendedKeyUsage = codeSigning
subjectAltName = email:publisher@example.com
";

/// A PKI in `dir`: `root` (P-384) → `int` (P-256, pathlen 0) → leaves.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("newcerts")).unwrap();
        std::fs::write(dir.join("ca.cnf"), CA_CNF).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        let pki = Pki {
            dir: dir.to_path_buf(),
        };
        pki.cert(
            "root",
            "secp384r1",
            "Test Root CA",
            "v3_root",
            None,
            "20200101000000Z",
            "20450101000000Z",
        );
        pki.cert(
            "int",
            "prime256v1",
            "Test Intermediate CA",
            "v3_int",
            Some("root"),
            "20200101000000Z",
            "20450101000000Z",
        );
        pki
    }

    /// Issue `name` (a new key on `curve`) with extension section `ext`, valid `start`..`end`.
    #[allow(clippy::too_many_arguments)]
    fn cert(
        &self,
        name: &str,
        curve: &str,
        cn: &str,
        ext: &str,
        issuer: Option<&str>,
        start: &str,
        end: &str,
    ) {
        let d = &self.dir;
        let key = format!("{name}.key");
        openssl(
            d,
            &["ecparam", "-name", curve, "-genkey", "-noout", "-out", &key],
        );
        openssl(
            d,
            &[
                "pkey",
                "-in",
                &key,
                "-pubout",
                "-out",
                &format!("{name}.pub"),
            ],
        );
        let csr = format!("{name}.csr");
        openssl(
            d,
            &[
                "req",
                "-new",
                "-key",
                &key,
                "-subj",
                &format!("/CN={cn}"),
                "-out",
                &csr,
                "-config",
                "ca.cnf",
            ],
        );
        let out = format!("{name}.pem");
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-in",
            &csr,
            "-out",
            &out,
            "-extensions",
            ext,
            "-startdate",
            start,
            "-enddate",
            end,
        ];
        let (icert, ikey);
        match issuer {
            None => args.extend(["-selfsign", "-keyfile", &key]),
            Some(i) => {
                icert = format!("{i}.pem");
                ikey = format!("{i}.key");
                args.extend(["-cert", &icert, "-keyfile", &ikey]);
            }
        }
        openssl(d, &args);
    }

    /// A leaf under `int`, valid 2024–2044.
    fn leaf(&self, name: &str, curve: &str, ext: &str) {
        self.cert(
            name,
            curve,
            &format!("Test signer {name}"),
            ext,
            Some("int"),
            "20240101000000Z",
            "20440101000000Z",
        );
    }

    /// `name.pem` + `int.pem` as `name.chain.pem` (what `sign --certificate` takes).
    fn chain(&self, name: &str) -> String {
        let mut s = std::fs::read_to_string(self.dir.join(format!("{name}.pem"))).unwrap();
        s.push_str(&std::fs::read_to_string(self.dir.join("int.pem")).unwrap());
        let out = format!("{name}.chain.pem");
        std::fs::write(self.dir.join(&out), s).unwrap();
        out
    }
}

/// A model and a PKI with a good P-256 leaf, in one temp dir (`m`, `pki/`).
fn setup() -> (tempfile::TempDir, Pki) {
    let t = tempfile::tempdir().unwrap();
    make_model(&t.path().join("m"));
    let pki = Pki::new(&t.path().join("pki"));
    pki.leaf("leaf", "prime256v1", "v3_leaf");
    (t, pki)
}

/// `modelsec sign m --key pki/NAME.key --certificate pki/NAME.chain.pem --signature OUT`.
fn sign_cert(d: &Path, pki: &Pki, name: &str, out: &str) {
    let chain = pki.chain(name);
    let o = run(
        d,
        &[
            "sign",
            "m",
            "--key",
            &format!("pki/{name}.key"),
            "--certificate",
            &format!("pki/{chain}"),
            "--signature",
            out,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Verify in certificate mode with JSON output: (exit code, failing rule ids).
fn verify_cert(d: &Path, sig: &str, roots: &str, extra: &[&str]) -> (i32, Vec<String>) {
    let mut args = vec![
        "verify",
        "m",
        "--signature",
        sig,
        "--certificate-chain",
        roots,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    json_rules(&run(d, &args))
}

fn json_rules(o: &Output) -> (i32, Vec<String>) {
    let c = code(o);
    if c == 2 {
        return (2, vec![stderr(o)]);
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", stdout(o)));
    let ids = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    (c, ids)
}

#[test]
fn certificate_bundles_verify_and_pin_the_identity() {
    let (t, pki) = setup();
    let d = t.path();
    sign_cert(d, &pki, "leaf", "c.sig");
    let (b, _) = open_bundle(&d.join("c.sig"));
    let chain = b["verificationMaterial"]["x509CertificateChain"]["certificates"]
        .as_array()
        .unwrap();
    assert_eq!(chain.len(), 2, "leaf + intermediate");
    assert!(b["verificationMaterial"].get("publicKey").is_none());
    assert_eq!(
        verify_cert(
            d,
            "c.sig",
            "pki/root.pem",
            &["--certificate-identity", IDENTITY]
        ),
        (0, vec![])
    );
    assert_eq!(
        verify_cert(
            d,
            "c.sig",
            "pki/root.pem",
            &["--certificate-identity-regexp", "^publisher@example\\.com$"]
        ),
        (0, vec![])
    );
    // Unpinned: verified, with a note saying any certificate of the roots is accepted.
    let o = run(
        d,
        &[
            "verify",
            "m",
            "--signature",
            "c.sig",
            "--certificate-chain",
            "pki/root.pem",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("verify/identity-not-pinned"));
    assert!(stdout(&o).contains(IDENTITY), "the report names the signer");
}

#[test]
fn certificate_trust_failures_exit_1() {
    let (t, pki) = setup();
    let d = t.path();
    sign_cert(d, &pki, "leaf", "c.sig");
    // Identity mismatch.
    assert_eq!(
        verify_cert(
            d,
            "c.sig",
            "pki/root.pem",
            &["--certificate-identity", "someone@example.com"]
        ),
        (1, vec!["verify/identity-mismatch".to_string()])
    );
    assert_eq!(
        verify_cert(
            d,
            "c.sig",
            "pki/root.pem",
            &["--certificate-identity-regexp", "^evil@"]
        )
        .0,
        1
    );
    // Wrong root: another PKI's.
    let other = Pki::new(&d.join("other"));
    let _ = other;
    assert_eq!(
        verify_cert(d, "c.sig", "other/root.pem", &[]),
        (1, vec!["verify/certificate-untrusted".to_string()])
    );
    // The intermediate alone is not a root (no partial chains).
    assert_eq!(verify_cert(d, "c.sig", "pki/int.pem", &[]).0, 1);
    // Expired leaf (valid 2021-01-01 .. 2021-06-01).
    pki.cert(
        "old",
        "prime256v1",
        "Test signer old",
        "v3_leaf",
        Some("int"),
        "20210101000000Z",
        "20210601000000Z",
    );
    sign_cert(d, &pki, "old", "old.sig");
    assert_eq!(
        verify_cert(d, "old.sig", "pki/root.pem", &[]),
        (1, vec!["verify/certificate-expired".to_string()])
    );
    // A leaf not for signing.
    pki.leaf("misuse", "prime256v1", "v3_leaf_misuse");
    sign_cert(d, &pki, "misuse", "misuse.sig");
    assert_eq!(
        verify_cert(d, "misuse.sig", "pki/root.pem", &[]),
        (1, vec!["verify/certificate-usage".to_string()])
    );
    // A CA key signing models directly (keyCertSign) is refused ...
    pki.leaf("cakey", "prime256v1", "v3_leaf_ca_certsign");
    sign_cert(d, &pki, "cakey", "cakey.sig");
    assert_eq!(
        verify_cert(d, "cakey.sig", "pki/root.pem", &[]),
        (1, vec!["verify/certificate-usage".to_string()])
    );
    // ... a CA:TRUE leaf that cannot sign certificates (model_signing's test PKI) is accepted, noted.
    pki.leaf("canosign", "secp384r1", "v3_leaf_ca_nosign");
    sign_cert(d, &pki, "canosign", "canosign.sig");
    let o = run(
        d,
        &[
            "verify",
            "m",
            "--signature",
            "canosign.sig",
            "--certificate-chain",
            "pki/root.pem",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("verify/leaf-is-ca"));
    // A key-mode trust input for a certificate bundle: verification failed, and says how.
    let (c, ids) = verify_rules(d, "m", "pki/leaf.pub", "c.sig", &[]);
    assert_eq!((c, ids), (1, vec!["verify/material-mismatch".to_string()]));
    // Tampered model.
    std::fs::write(d.join("m/a.txt"), b"changed\n").unwrap();
    assert_eq!(
        verify_cert(
            d,
            "c.sig",
            "pki/root.pem",
            &["--certificate-identity", IDENTITY]
        ),
        (1, vec!["verify/file-modified".to_string()])
    );
}

#[test]
fn path_length_and_bad_inputs() {
    let (t, pki) = setup();
    let d = t.path();
    // root -> int (pathlen:0) -> int2 -> leaf: int allows no intermediate below it.
    pki.cert(
        "int2",
        "prime256v1",
        "Test Sub CA",
        "v3_int",
        Some("int"),
        "20200101000000Z",
        "20450101000000Z",
    );
    pki.cert(
        "deep",
        "prime256v1",
        "Test signer deep",
        "v3_leaf",
        Some("int2"),
        "20240101000000Z",
        "20440101000000Z",
    );
    let mut chain = std::fs::read_to_string(d.join("pki/deep.pem")).unwrap();
    chain.push_str(&std::fs::read_to_string(d.join("pki/int2.pem")).unwrap());
    chain.push_str(&std::fs::read_to_string(d.join("pki/int.pem")).unwrap());
    std::fs::write(d.join("pki/deep.chain.pem"), chain).unwrap();
    let o = run(
        d,
        &[
            "sign",
            "m",
            "--key",
            "pki/deep.key",
            "--certificate",
            "pki/deep.chain.pem",
            "--signature",
            "deep.sig",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (c, ids) = verify_cert(d, "deep.sig", "pki/root.pem", &[]);
    assert_eq!(
        (c, ids),
        (1, vec!["verify/certificate-untrusted".to_string()])
    );
    let o = run(
        d,
        &[
            "verify",
            "m",
            "--signature",
            "deep.sig",
            "--certificate-chain",
            "pki/root.pem",
        ],
    );
    assert!(stdout(&o).contains("pathLen"), "{}", stdout(&o));
    // Inputs that cannot be read are 2: roots that are not PEM certificates, a bad regexp,
    // an identity without a mode.
    sign_cert(d, &pki, "leaf", "c.sig");
    assert_eq!(verify_cert(d, "c.sig", "pki/root.key", &[]).0, 2);
    assert_eq!(
        verify_cert(
            d,
            "c.sig",
            "pki/root.pem",
            &["--certificate-identity-regexp", "("]
        )
        .0,
        2
    );
    let o = run(
        d,
        &[
            "verify",
            "m",
            "--signature",
            "c.sig",
            "--certificate-identity",
            IDENTITY,
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = run(
        d,
        &[
            "verify",
            "m",
            "--signature",
            "c.sig",
            "--key",
            "pki/leaf.pub",
            "--certificate-chain",
            "pki/root.pem",
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn sign_refuses_a_chain_that_is_not_the_keys() {
    let (t, pki) = setup();
    let d = t.path();
    pki.leaf("other", "prime256v1", "v3_leaf");
    let chain = pki.chain("other");
    let o = run(
        d,
        &[
            "sign",
            "m",
            "--key",
            "pki/leaf.key",
            "--certificate",
            &format!("pki/{chain}"),
            "--signature",
            "x.sig",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("not the private key's certificate"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("x.sig").exists());
}

#[test]
fn several_signers_and_a_threshold() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    keygen(d, "a", "ecdsa-p256");
    keygen(d, "b", "ed25519");
    for (k, s) in [("a", "a.sig"), ("b", "b.sig")] {
        let o = run(d, &["sign", "m", "--key", k, "--signature", s]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let v = |args: &[&str]| {
        let mut a = vec!["verify", "m", "--format", "json"];
        a.extend_from_slice(args);
        json_rules(&run(d, &a))
    };
    let both = [
        "--key",
        "a.pub",
        "--key",
        "b.pub",
        "--signature",
        "a.sig",
        "--signature",
        "b.sig",
    ];
    assert_eq!(v(&[&both[..], &["--threshold", "2"]].concat()), (0, vec![]));
    // Every bundle given must verify by default.
    assert_eq!(v(&both), (0, vec![]));
    // Two required, one given.
    assert_eq!(
        v(&[
            "--key",
            "a.pub",
            "--key",
            "b.pub",
            "--signature",
            "a.sig",
            "--threshold",
            "2"
        ]),
        (1, vec!["verify/threshold-not-met".to_string()])
    );
    // The same signer twice counts once.
    assert_eq!(
        v(&[
            "--key",
            "a.pub",
            "--key",
            "b.pub",
            "--signature",
            "a.sig",
            "--signature",
            "a.sig",
            "--threshold",
            "2"
        ]),
        (1, vec!["verify/threshold-not-met".to_string()])
    );
    // An untrusted signer's bundle fails and does not count.
    let (c, ids) = v(&[
        "--key",
        "a.pub",
        "--signature",
        "a.sig",
        "--signature",
        "b.sig",
        "--threshold",
        "1",
    ]);
    assert_eq!(c, 1);
    assert!(ids.contains(&"verify/wrong-key".to_string()), "{ids:?}");
    // The JSON report lists who signed.
    let o = run(
        d,
        &[&["verify", "m", "--format", "json"][..], &both].concat(),
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let signers = r["facts"]["signers"].as_array().unwrap();
    assert_eq!(signers.len(), 2);
    assert!(signers.iter().all(|s| s["verified"] == true));
    assert!(
        signers[0]["signer"]
            .as_str()
            .unwrap()
            .contains("ecdsa-p256")
    );
    assert!(signers[1]["signer"].as_str().unwrap().contains("ed25519"));
}

#[test]
fn p384_p521_and_openssl_keys_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    for alg in ["ecdsa-p384", "ecdsa-p521"] {
        keygen(d, alg, alg);
        let sig = format!("{alg}.sig");
        let o = run(d, &["sign", "m", "--key", alg, "--signature", &sig]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(
            verify_rules(d, "m", &format!("{alg}.pub"), &sig, &[]),
            (0, vec![])
        );
    }
    // Keys made by OpenSSL: SEC1 with EC PARAMETERS (ecparam -genkey), and PKCS#8 (genpkey).
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "secp521r1",
            "-genkey",
            "-out",
            "o521.key",
        ],
    );
    openssl(
        d,
        &["pkey", "-in", "o521.key", "-pubout", "-out", "o521.pub"],
    );
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "o384.key",
        ],
    );
    openssl(
        d,
        &["pkey", "-in", "o384.key", "-pubout", "-out", "o384.pub"],
    );
    for k in ["o521", "o384"] {
        let sig = format!("{k}.sig");
        let o = run(
            d,
            &[
                "sign",
                "m",
                "--key",
                &format!("{k}.key"),
                "--signature",
                &sig,
            ],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(
            verify_rules(d, "m", &format!("{k}.pub"), &sig, &[]),
            (0, vec![])
        );
        // OpenSSL verifies our DER signature over the PAE with the curve's hash.
        let (b, _) = open_bundle(&d.join(&sig));
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let payload = b64
            .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap();
        let pae = modelsec::signing::bundle::pae(modelsec::signing::bundle::PAYLOAD_TYPE, &payload);
        std::fs::write(d.join("pae.bin"), pae).unwrap();
        let der = b64
            .decode(b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap())
            .unwrap();
        std::fs::write(d.join("sig.der"), der).unwrap();
        let hash = if k == "o521" { "-sha512" } else { "-sha384" };
        openssl(
            d,
            &[
                "dgst",
                hash,
                "-verify",
                &format!("{k}.pub"),
                "-signature",
                "sig.der",
                "pae.bin",
            ],
        );
    }
    assert_eq!(verify_rules(d, "m", "o384.pub", "o521.sig", &[]).0, 1);
}

#[test]
fn a_pre_1_1_bundle_with_key_details_verifies() {
    // model_signing 0.3-1.0.1 wrote `publicKey: {rawBytes: b64(PEM), keyDetails}` and `keyid: null`.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    keygen(d, "k", "ecdsa-p384");
    let o = run(d, &["sign", "m", "--key", "k", "--signature", "new.sig"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (mut b, _) = open_bundle(&d.join("new.sig"));
    use base64::Engine;
    let pem = std::fs::read(d.join("k.pub")).unwrap();
    b["verificationMaterial"] = serde_json::json!({
        "publicKey": {
            "rawBytes": base64::engine::general_purpose::STANDARD.encode(&pem),
            "keyDetails": "PKIX_ECDSA_P384_SHA_384",
        }
    });
    b["dsseEnvelope"]["signatures"][0]["keyid"] = serde_json::Value::Null;
    std::fs::write(d.join("old.sig"), serde_json::to_vec(&b).unwrap()).unwrap();
    assert_eq!(verify_rules(d, "m", "k.pub", "old.sig", &[]), (0, vec![]));
    // The key it carries is never trusted: another trusted key does not verify it.
    keygen(d, "other", "ecdsa-p384");
    let (c, ids) = verify_rules(d, "m", "other.pub", "old.sig", &[]);
    assert_eq!(c, 1);
    assert!(ids.contains(&"verify/wrong-key".to_string()), "{ids:?}");
}

// ---------------------------------------------------------------- with model_signing 1.1.1

fn peer(py: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(py.with_file_name("model_signing"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the Python peers: scripts/test.sh"
)]
fn certificate_mode_interop_with_model_signing() {
    let py = peer_python();
    let (t, pki) = setup();
    let d = t.path();
    // Theirs, verified by us.
    let o = peer(
        &py,
        d,
        &[
            "sign",
            "certificate",
            "m",
            "--private_key",
            "pki/leaf.key",
            "--signing_certificate",
            "pki/leaf.pem",
            "--certificate_chain",
            "pki/int.pem",
            "--signature",
            "theirs.sig",
        ],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        verify_cert(
            d,
            "theirs.sig",
            "pki/root.pem",
            &["--certificate-identity", IDENTITY]
        ),
        (0, vec![])
    );
    // Ours, verified by them.
    sign_cert(d, &pki, "leaf", "ours.sig");
    let theirs_verify = |sig: &str| {
        peer(
            &py,
            d,
            &[
                "verify",
                "certificate",
                "m",
                "--signature",
                sig,
                "--certificate_chain",
                "pki/root.pem",
            ],
        )
    };
    let o = theirs_verify("ours.sig");
    assert!(
        o.status.success(),
        "model_signing rejected our certificate bundle: {}{}",
        stdout(&o),
        stderr(&o)
    );
    // Tampered: both fail.
    std::fs::write(d.join("m/a.txt"), b"changed\n").unwrap();
    assert_eq!(theirs_verify("ours.sig").status.code(), Some(1));
    assert_eq!(verify_cert(d, "theirs.sig", "pki/root.pem", &[]).0, 1);
}

#[test]
#[cfg_attr(
    not(feature = "peers"),
    ignore = "needs the Python peers: scripts/test.sh"
)]
fn p384_and_p521_interop_with_model_signing() {
    let py = peer_python();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("m"));
    for alg in ["ecdsa-p384", "ecdsa-p521"] {
        keygen(d, alg, alg);
        let ours = format!("{alg}.ours.sig");
        let o = run(d, &["sign", "m", "--key", alg, "--signature", &ours]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let o = peer(
            &py,
            d,
            &[
                "verify",
                "key",
                "m",
                "--signature",
                &ours,
                "--public_key",
                &format!("{alg}.pub"),
            ],
        );
        assert!(
            o.status.success(),
            "model_signing rejected our {alg} bundle: {}{}",
            stdout(&o),
            stderr(&o)
        );
        let theirs = format!("{alg}.theirs.sig");
        let o = peer(
            &py,
            d,
            &[
                "sign",
                "key",
                "m",
                "--private_key",
                alg,
                "--signature",
                &theirs,
            ],
        );
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        assert_eq!(
            verify_rules(d, "m", &format!("{alg}.pub"), &theirs, &[]),
            (0, vec![])
        );
    }
}
