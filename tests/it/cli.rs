//! What every command shares: exit codes when stdout goes away, special files as arguments,
//! escaping of untrusted text in human output, signature paths that would destroy a file, and
//! snapshots of every command's `--help`.

use crate::common::{code, keygen, make_model, run, stderr, stdout};
use std::path::Path;
use std::time::{Duration, Instant};

/// `cos\nsystem\n(S'id'\ntR.`: a protocol-0 pickle calling `os.system("id")`.
const EVIL: &[u8] = b"cos\nsystem\n(S'id'\ntR.";

/// Run `modelsec args` in `cwd` with stdout a pipe whose reader is already gone.
fn run_with_closed_stdout(cwd: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(env!("CARGO_BIN_EXE_modelsec"))
        .current_dir(cwd)
        .args(args)
        .stdout(writer)
        .output()
        .unwrap()
}

/// Regression (foundation issue, bug 7): `modelsec scan evil.pkl | true` and `check insecure/ |
/// head -1` exited 0, so a CI step with `pipefail` passed a failed check.
#[test]
fn a_broken_pipe_keeps_the_exit_status() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("evil.pkl"), EVIL).unwrap();
    for format in ["human", "json", "sarif"] {
        let o = run_with_closed_stdout(t.path(), &["scan", "evil.pkl", "--format", format]);
        assert_eq!(code(&o), 1, "{format}: {}", stderr(&o));
    }
    let insecure = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/deploy/insecure");
    let o = run_with_closed_stdout(t.path(), &["check", insecure.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // A clean run stays 0; a list command too.
    let o = run_with_closed_stdout(t.path(), &["rules"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Regression (bug 9): `/dev/zero` as a key, signature, config, policy, allow-list, evidence,
/// baseline or log was read without limit; a FIFO hung forever. Each is refused quickly (exit 2,
/// or a finding where the file is the thing examined).
#[test]
fn special_files_are_refused_not_read_forever() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let fifo = d.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    make_model(&d.join("model"));
    keygen(d, "k", "ed25519");
    let o = run(d, &["sign", "model", "--key", "k"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let onnx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx/iris_logreg.onnx");
    let onnx = onnx.to_str().unwrap();
    for special in ["/dev/zero", fifo.to_str().unwrap()] {
        // Row files are chosen by extension: a link named like one.
        let _ = std::fs::remove_file(d.join("s.npy"));
        std::os::unix::fs::symlink(special, d.join("s.npy")).unwrap();
        let cases: Vec<(Vec<&str>, i32)> = vec![
            (vec!["sign", "model", "--key", special], 2),
            (vec!["verify", "model", "--key", special], 2),
            (
                vec!["verify", "model", "--key", "k.pub", "--signature", special],
                2,
            ),
            (vec!["scan", "model", "--allowlist", special], 2),
            (vec!["check", "model", "--config", special], 2),
            (vec!["check", "model", "--policy", special], 2),
            (vec!["threats", "model", "--evidence", special], 2),
            (vec!["fuzz", onnx, "--seeds", "s.npy"], 2),
            (vec!["log", "verify", special], 1),
            (vec!["check", special], 1),
            (vec!["scan", special], 1),
        ];
        for (args, want) in cases {
            let started = Instant::now();
            let o = run(d, &args);
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{args:?} took {:?}",
                started.elapsed()
            );
            assert_eq!(code(&o), want, "{args:?}: {}{}", stdout(&o), stderr(&o));
            let all = format!("{}{}", stdout(&o), stderr(&o));
            assert!(
                all.contains("not a regular file") || all.contains("does not exist"),
                "{args:?}: {all}"
            );
        }
    }
}

/// Regression (bug 5): a pickle global such as `system\x1b[2K\x1b[1A…scan PASS` faked a clean
/// report on a terminal. Human output escapes every control character.
#[test]
fn untrusted_text_is_escaped_in_human_output() {
    let t = tempfile::tempdir().unwrap();
    let fake = b"cos\nsystem\x1b[2K\x1b[1A\rscan PASS: evil.pkl: no findings\n(S'id'\ntR.";
    std::fs::write(t.path().join("evil\x1b[31m.pkl"), fake).unwrap();
    let o = run(t.path(), &["scan", "."]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(!out.contains('\x1b') && !out.contains('\r'), "{out:?}");
    assert!(out.contains("\\x1b"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("scan ")).count(),
        1,
        "{out}"
    );
    assert!(
        out.lines().last().unwrap().starts_with("scan FAIL"),
        "{out}"
    );
}

/// Regression (bug 8): `sign --signature` overwrote any file: a weights file of the model (the
/// result still verified; the weights were gone), or the private key itself.
#[test]
fn sign_refuses_a_signature_path_that_would_destroy_a_file() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    make_model(&d.join("model"));
    keygen(d, "k", "ecdsa-p256");
    let weights = std::fs::read(d.join("model/model.safetensors")).unwrap();
    let o = run(
        d,
        &[
            "sign",
            "model",
            "--key",
            "k",
            "--signature",
            "model/model.safetensors",
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("file of the model"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(d.join("model/model.safetensors")).unwrap(),
        weights
    );
    let key = std::fs::read(d.join("k")).unwrap();
    for force in [false, true] {
        let mut args = vec!["sign", "model", "--key", "k", "--signature", "k"];
        if force {
            args.push("--force");
        }
        let o = run(d, &args);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(stderr(&o).contains("private key"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(d.join("k")).unwrap(), key);
    // Another existing file: refused unless --force; an existing bundle is replaced.
    std::fs::write(d.join("notes.txt"), b"mine").unwrap();
    let o = run(
        d,
        &["sign", "model", "--key", "k", "--signature", "notes.txt"],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_eq!(std::fs::read(d.join("notes.txt")).unwrap(), b"mine");
    let o = run(
        d,
        &["sign", "model", "--key", "k", "--signature", "model.sig"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        d,
        &["sign", "model", "--key", "k", "--signature", "model.sig"],
    );
    assert_eq!(code(&o), 0, "re-signing replaces a bundle: {}", stderr(&o));
    let o = run(
        d,
        &[
            "sign",
            "model",
            "--key",
            "k",
            "--signature",
            "notes.txt",
            "--force",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Every command's `--help`, so a change to the command line shows up in review.
#[test]
fn help_snapshots() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commands: &[&[&str]] = &[
        &[],
        &["keygen"],
        &["sign"],
        &["verify"],
        &["manifest"],
        &["scan"],
        &["check"],
        &["rules"],
        &["threats"],
        &["fuzz"],
        &["serve"],
        &["proxy"],
        &["log"],
        &["log", "verify"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("--help");
        let o = run(d, &args);
        assert_eq!(code(&o), 0);
        let name = if c.is_empty() {
            "modelsec".to_string()
        } else {
            c.join("-")
        };
        insta::assert_snapshot!(format!("help-{name}"), stdout(&o));
    }
}

/// The rule registry as `rules --format json` prints it: renaming or dropping a rule shows up in
/// review.
#[test]
fn rules_json_snapshot() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = run(d, &["rules", "--format", "json"]);
    assert_eq!(code(&o), 0);
    insta::assert_snapshot!("rules-json", stdout(&o));
}

/// Every kind of config file reports every problem at its line and column, the same way.
#[test]
fn config_diagnostics_snapshots() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("app.env"), "A=1\n").unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "policy.toml",
            "[[rule]]\nid = \"acme/x\"\ntitle = \"x\"\nseverity = \"severe\"\ntarget = \"nope\"\nmessage = \"m\"\nremediation = \"r\"\nfail_when = { path = \"env.X\", op = \"exists\" }\nrefs = { ncsc = [\"x\"] }\n",
            &["check", "app.env", "--policy", "policy.toml"],
        ),
        (
            "suppress.toml",
            "[[suppress]]\nrule = \"k8s/run-as-root\"\nreason = \"x\"\nexpires = \"soon\"\ncolour = 1\n",
            &["check", "app.env", "--config", "suppress.toml"],
        ),
        (
            "threat.toml",
            "[threat_model]\nid = \"t\"\ntitle = \"t\"\nexposure = \"space\"\n\n[[threat]]\nid = \"x\"\ntitle = \"x\"\narea = \"Secure design\"\natlas = [\"AML.T0040\"]\ncontrols = [{ capability = \"pray\" }]\n",
            &["threats", "--model", "threat.toml"],
        ),
        (
            "allow.toml",
            "version = 2\n\n[[allow]]\nmodule = \"mypkg\"\nnames = [\"*\", \"__class__\"]\n",
            &["scan", "app.env", "--allowlist", "allow.toml"],
        ),
        (
            "monitor.toml",
            "[server]\nmax_in_flight = 0\n\n[auth]\nrequired = true\n\n[signals.\"monitor/nope\"]\naction = \"log\"\n",
            &["serve", "m.onnx", "--config", "monitor.toml"],
        ),
    ];
    std::fs::write(d.join("m.onnx"), b"").unwrap();
    for (name, text, args) in cases {
        std::fs::write(d.join(name), text).unwrap();
        let o = run(d, args);
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        insta::assert_snapshot!(format!("diagnostics-{name}"), stderr(&o));
    }
}

#[test]
fn an_error_names_its_cause_once() {
    // The read error quotes the OS error in its message and carries it as its source too.
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("m.bin"), b"x").unwrap();
    let o = run(
        t.path(),
        &["verify", "m.bin", "--certificate-chain", "missing.pem"],
    );
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("missing.pem"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}
