//! `modelsec fuzz` on the committed test models (scripts/gen_onnx_models.py), through the built
//! binary and a real ONNX Runtime 1.31.1 (scripts/ort.sh installs it into .local/onnxruntime;
//! scripts/test.sh runs that first).

mod budget;

use crate::common::{code, run, stderr, stdout, xml_count};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx")
}

fn fuzz_json(model: &str, extra: &[&str]) -> (i32, Value) {
    let m = models().join(model);
    let mut args = vec!["fuzz", m.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let o = run(&models(), &args);
    assert_ne!(code(&o), 2, "could not run: {}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
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

#[test]
fn finds_the_four_known_defects() {
    // 1. The skl2onnx MLP fails on an empty batch (ArrayFeatureExtractor).
    let (c, v) = fuzz_json("digits_mlp.onnx", &[]);
    assert_eq!(c, 1);
    let r = rules(&v);
    assert!(r.contains(&"fuzz/empty-batch-fails".to_string()), "{r:?}");
    // 2. NaN/Inf give NaN probabilities with a confident label, in LogReg and the MLP.
    assert!(
        r.contains(&"fuzz/label-score-disagree".to_string()),
        "{r:?}"
    );
    let nan = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule_id"] == "fuzz/label-score-disagree"
                && f["message"].as_str().unwrap().contains("= NaN")
        })
        .expect("a NaN reproducer");
    assert!(nan["message"].as_str().unwrap().contains("seed 0"));
    let (_, v) = fuzz_json("iris_logreg.onnx", &[]);
    assert!(rules(&v).contains(&"fuzz/label-score-disagree".to_string()));
    assert!(
        !rules(&v).contains(&"fuzz/empty-batch-fails".to_string()),
        "LogReg handles N=0"
    );
    // 3. The forest accepts NaN silently.
    let (_, v) = fuzz_json("digits_rf.onnx", &["--attack", "none"]);
    assert_eq!(rules(&v), vec!["fuzz/accepts-nonfinite-input".to_string()]);
    // 4. An 8-byte int64 drives a Range allocation.
    let (c, v) = fuzz_json("range_len.onnx", &[]);
    assert_eq!(c, 1);
    let f = &v["findings"][0];
    assert_eq!(f["rule_id"], "fuzz/input-driven-allocation");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("10000000 elements"), "{msg}");
    // Under the (default) memory cap a value far past it is tried too, and fails cleanly.
    assert!(
        msg.contains("failed inside the 4096 MiB cap: Failed to allocate memory"),
        "{msg}"
    );
    assert_eq!(f["reproducer"]["input"]["n"], 10_000_000);
    assert_eq!(v["facts"]["memory_limit_mib"], 4096);
}

#[test]
fn integer_bool_and_uint8_inputs_are_probed() {
    // int32 ids into an embedding Gather, a bool mask, uint8 pixels: every probe runs (the
    // ids at -1, i32::MIN and i32::MAX must be rejected cleanly or answered, never crash). The
    // graph says the ids index a 10-row table: 9 runs, 10 is refused, and -1 is answered
    // (Gather wraps negative ids), which is the one finding.
    let (c, v) = fuzz_json("int_inputs.onnx", &[]);
    let dtypes: Vec<&str> = v["facts"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dtype"].as_str().unwrap())
        .collect();
    assert_eq!(dtypes, ["i32", "bool", "u8"]);
    assert!(!rules(&v).contains(&"fuzz/input-not-probed".to_string()));
    assert!(
        v["facts"]["probes"].as_u64().unwrap() >= 15,
        "{}",
        v["facts"]
    );
    assert_eq!(
        rules(&v),
        ["fuzz/out-of-vocabulary-accepted", "fuzz/not-attacked"]
    );
    let f = &v["findings"][0];
    assert!(f["message"].as_str().unwrap().contains("ids 0..9"), "{f}");
    assert_eq!(f["reproducer"]["input"]["ids"], -1);
    assert_eq!(c, 1);
}

#[test]
fn contract_reproducers_are_minimised() {
    // The NaN finding in the LogReg is shrunk to the NaN alone: every other feature goes to 0
    // and the defect still shows; the reproducer carries the input, the output and the seed.
    let (_, v) = fuzz_json("iris_logreg.onnx", &["--attack", "none", "--seed", "3"]);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule_id"] == "fuzz/label-score-disagree"
                && f["message"].as_str().unwrap().contains("= NaN")
        })
        .expect("the NaN finding");
    let rep = &f["reproducer"];
    let input = rep["input"]["X"].as_array().unwrap();
    assert_eq!(input.len(), 4);
    assert_eq!(input.iter().filter(|x| *x == "NaN").count(), 1, "{rep}");
    assert!(
        input.iter().filter(|x| *x != "NaN").all(|x| x == 0.0),
        "{rep}"
    );
    assert_eq!(
        rep["output"]["probabilities"],
        serde_json::json!(["NaN", "NaN", "NaN"])
    );
    assert!(rep["output"]["label"].is_i64());
    assert_eq!(rep["seed"], 3);
    // SARIF carries it too.
    let m = models().join("iris_logreg.onnx");
    let o = run(
        &models(),
        &[
            "fuzz",
            m.to_str().unwrap(),
            "--attack",
            "none",
            "--format",
            "sarif",
        ],
    );
    let sarif: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["properties"]["reproducer"]["input"]["X"].is_array())
    );
}

#[test]
fn hopskipjump_attacks_a_label_only_model() {
    let seeds = models().join("iris_rows.npy");
    let s = seeds.to_str().unwrap();
    // Score-based attacks cannot run on a model that returns only labels, and say what can.
    let (_, v) = fuzz_json("iris_label_only.onnx", &["--seeds", s, "--epsilon", "0.5"]);
    let na = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "fuzz/not-attacked")
        .expect("not attacked");
    assert!(
        na["message"]
            .as_str()
            .unwrap()
            .contains("--attack hopskipjump")
    );
    let args = [
        "--seeds",
        s,
        "--epsilon",
        "0.5",
        "--attack",
        "hopskipjump",
        "--budget",
        "2000",
    ];
    let (_, v) = fuzz_json("iris_label_only.onnx", &args);
    let r = &v["facts"]["robustness"];
    assert_eq!(r["attack"], "hopskipjump");
    assert_eq!(r["rows"], 15);
    assert!(r["successes"].as_u64().unwrap() >= 2, "{r}");
    let adv = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "fuzz/adversarial-example")
        .expect("an adversarial example");
    let rep = &adv["reproducer"];
    let (a, o) = (
        rep["input"]["X"].as_array().unwrap(),
        rep["original"]["X"].as_array().unwrap(),
    );
    let linf = a
        .iter()
        .zip(o)
        .map(|(a, o)| (a.as_f64().unwrap() - o.as_f64().unwrap()).abs())
        .fold(0.0, f64::max);
    assert!(linf <= 0.5 + 1e-6, "{rep}");
    assert_ne!(rep["output"]["label"], rep["original"]["label"], "{rep}");
    assert!(rep["output"].get("probabilities").is_none());
    // Same seed, same report.
    let (_, again) = fuzz_json("iris_label_only.onnx", &args);
    assert_eq!(v["findings"], again["findings"]);
}

#[test]
fn ranges_drive_sampling_and_are_validated() {
    let m = models().join("iris_logreg.onnx");
    let m = m.to_str().unwrap();
    let (_, v) = fuzz_json(
        "iris_logreg.onnx",
        &[
            "--range",
            "X=0..8",
            "--range",
            "X[1]=2..4.5",
            "--epsilon",
            "1",
            "--rows",
            "5",
        ],
    );
    assert_eq!(
        v["facts"]["ranges"],
        serde_json::json!(["X=0..8", "X[1]=2..4.5"])
    );
    let adv = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "fuzz/adversarial-example")
        .collect::<Vec<_>>();
    assert!(!adv.is_empty(), "ε = 1 flips some of these rows");
    for f in adv {
        let row = f["reproducer"]["original"]["X"].as_array().unwrap();
        let x: Vec<f64> = row.iter().map(|x| x.as_f64().unwrap()).collect();
        assert!((2.0..4.5).contains(&x[1]), "{x:?}");
        assert!(
            [0, 2, 3].iter().all(|&i| (0.0..8.0).contains(&x[i])),
            "{x:?}"
        );
    }
    for (bad, says) in [
        ("Y=0..1", "the model's inputs are: `X` [?, 4]"),
        ("X[7]=0..1", "which has 4"),
        ("2..1", "low bound must not be above"),
        ("X[1=0..1", "unbalanced"),
        ("0..inf", "not a finite number"),
    ] {
        let o = run(&models(), &["fuzz", m, "--range", bad]);
        assert_eq!(code(&o), 2, "{bad}");
        assert!(stderr(&o).contains(says), "{bad}: {}", stderr(&o));
    }
}

#[test]
fn contract_is_read_and_runs_are_reproducible() {
    let (_, a) = fuzz_json("dynamic_scale.onnx", &["--seed", "7"]);
    assert_eq!(a["facts"]["inputs"][0]["dims"], serde_json::json!([-1, -1]));
    assert_eq!(a["facts"]["inputs"][0]["dtype"], "f32");
    let (_, b) = fuzz_json("dynamic_scale.onnx", &["--seed", "7"]);
    assert_eq!(a["findings"], b["findings"], "same seed, same report");
    assert_eq!(a["facts"]["probes"], b["facts"]["probes"]);
    // Seeds from a .npy are used.
    let seeds = models().join("digits_rows.npy");
    let (_, v) = fuzz_json("digits_rf.onnx", &["--seeds", seeds.to_str().unwrap()]);
    assert_eq!(v["facts"]["seed_rows"], 40);
}

#[test]
fn untrusted_files_and_missing_runtime() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("bad.onnx"), b"not a model at all").unwrap();
    let o = run(t.path(), &["fuzz", "bad.onnx"]);
    assert_eq!(
        code(&o),
        1,
        "a model the scan rejects is a finding, and is not run"
    );
    assert!(stdout(&o).contains("fuzz/model-file-unsafe"));
    // A library that is not ONNX Runtime: exit 2 and how to install it.
    std::fs::write(t.path().join("libfake.so"), b"nope").unwrap();
    let model = models().join("iris_logreg.onnx");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_modelsec"))
        .args(["fuzz", model.to_str().unwrap()])
        .env("ORT_DYLIB_PATH", t.path().join("libfake.so"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("python3 -m pip install onnxruntime==1.31.1"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("--memory-limit"), "{}", stderr(&o));
    let o = run(t.path(), &["fuzz", "missing.onnx"]);
    assert_eq!(code(&o), 2);
}

/// A model repository can hold `.local/onnxruntime/…/libonnxruntime.so.*`: running `fuzz` inside
/// it (or below it) must never load that library.
#[test]
fn runtime_is_never_loaded_from_the_working_directory() {
    let t = tempfile::tempdir().unwrap();
    let capi = t.path().join(".local/onnxruntime/onnxruntime/capi");
    std::fs::create_dir_all(&capi).unwrap();
    std::fs::write(
        capi.join("libonnxruntime.so.1.31.1"),
        b"planted, not a library",
    )
    .unwrap();
    let below = t.path().join("models/sub");
    std::fs::create_dir_all(&below).unwrap();
    std::fs::copy(models().join("iris_logreg.onnx"), below.join("m.onnx")).unwrap();
    for cwd in [t.path().to_path_buf(), below.clone()] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_modelsec"))
            .args([
                "fuzz",
                "--attack",
                "none",
                below.join("m.onnx").to_str().unwrap(),
            ])
            .current_dir(&cwd)
            .env_remove("ORT_DYLIB_PATH")
            .output()
            .unwrap();
        // The planted file is not a library: loading it would be exit 2 naming it.
        assert!(
            matches!(code(&o), 0 | 1),
            "the planted library was used: {}",
            stderr(&o)
        );
    }
}

#[test]
fn square_and_simba_attacks_with_reproducers_and_threshold() {
    let seeds = models().join("digits_rows.npy");
    let s = seeds.to_str().unwrap();
    for attack in ["square", "simba"] {
        let (c, v) = fuzz_json(
            "digits_mlp.onnx",
            &[
                "--seeds",
                s,
                "--rows",
                "10",
                "--epsilon",
                "0.2",
                "--attack",
                attack,
            ],
        );
        let r = &v["facts"]["robustness"];
        assert_eq!(r["attack"], attack);
        assert_eq!(r["rows"], 10);
        assert!(r["successes"].as_u64().unwrap() >= 8, "{attack}: {r}");
        assert!(r["median_queries"].as_f64().unwrap() <= 1000.0);
        let adv = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule_id"] == "fuzz/adversarial-example")
            .expect("a minimised reproducer");
        assert_eq!(
            adv["severity"], "info",
            "examples alone do not fail the run"
        );
        assert!(adv["message"].as_str().unwrap().contains("→"));
        assert_eq!(c, 1, "the MLP's contract defects still fail the run");
    }
    // A threshold turns low robust accuracy into a failing finding.
    let (_, v) = fuzz_json(
        "digits_rf.onnx",
        &[
            "--seeds",
            s,
            "--rows",
            "5",
            "--epsilon",
            "0.3",
            "--min-robust-accuracy",
            "0.9",
        ],
    );
    assert!(
        rules(&v).contains(&"fuzz/robust-accuracy-below-threshold".to_string()),
        "{:?}",
        rules(&v)
    );
    // ε = 0 cannot flip anything: robust accuracy 1.
    let (_, v) = fuzz_json(
        "digits_rf.onnx",
        &["--seeds", s, "--rows", "3", "--epsilon", "0"],
    );
    assert_eq!(v["facts"]["robustness"]["robust_accuracy"], 1.0);
    // A model without probabilities is not attacked, and says so.
    let (_, v) = fuzz_json("dynamic_scale.onnx", &[]);
    assert!(rules(&v).contains(&"fuzz/not-attacked".to_string()));
}

#[test]
fn csv_and_jsonl_seeds_and_junit() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(
        d.join("iris.csv"),
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n7.0,3.2,4.7,1.4\n6.3,3.3,6.0,2.5\n",
    )
    .unwrap();
    std::fs::write(
        d.join("iris.jsonl"),
        "[5.1, 3.5, 1.4, 0.2]\n{\"X\": [7.0, 3.2, 4.7, 1.4]}\n",
    )
    .unwrap();
    let model = models().join("iris_logreg.onnx");
    let m = model.to_str().unwrap();
    for (file, n) in [("iris.csv", 3), ("iris.jsonl", 2)] {
        let o = run(
            d,
            &[
                "fuzz", m, "--seeds", file, "--attack", "none", "--format", "json",
            ],
        );
        assert_ne!(code(&o), 2, "{}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["facts"]["seed_rows"], n, "{file}");
    }
    std::fs::write(d.join("ragged.csv"), "1,2,3,4\n1,2\n").unwrap();
    let o = run(d, &["fuzz", m, "--seeds", "ragged.csv"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("line 2 has 2 values"), "{}", stderr(&o));

    let mlp = models().join("digits_mlp.onnx");
    let o = run(
        d,
        &[
            "fuzz",
            mlp.to_str().unwrap(),
            "--attack",
            "none",
            "--junit",
            "out.xml",
        ],
    );
    assert_eq!(code(&o), 1);
    let xml = std::fs::read_to_string(d.join("out.xml")).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\""));
    let tests = xml_count(&xml, "tests");
    assert_eq!(xml.matches("<testcase ").count(), tests);
    assert!(
        xml.contains("<failure type=\"medium\""),
        "the empty-batch defect is a failure"
    );
    assert_eq!(
        xml.matches("<testcase").count(),
        xml.matches("</testcase>").count()
    );
}

#[test]
fn a_crash_of_the_runtime_is_a_finding_naming_the_probe() {
    // The model runs in a worker process; kill it mid-inference (slow_loop.onnx
    // never finishes) with SIGABRT, as ONNX Runtime dies on an uncaught C++ exception, and the
    // supervisor must report it.
    let m = models().join("slow_loop.onnx");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_modelsec"))
        .args([
            "fuzz",
            m.to_str().unwrap(),
            "--timeout",
            "60",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let parent = child.id().to_string();
    let started = std::time::Instant::now();
    let worker = loop {
        assert!(
            started.elapsed().as_secs() < 30,
            "no worker process appeared"
        );
        let found = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let pid = e.file_name().to_string_lossy().to_string();
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .to_string();
            let environ = std::fs::read(e.path().join("environ")).ok()?;
            (ppid == parent
                && environ
                    .split(|&b| b == 0)
                    .any(|kv| kv.starts_with(b"MODELSEC_FUZZ_WORKER=")))
            .then_some(pid)
        });
        if let Some(pid) = found {
            break pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // Let it reach the model run, then crash it. Setting up takes the worker a few tens of
    // milliseconds of CPU; the model run then spins: wait until the worker has used a second
    // of CPU (a measure of its progress, unlike wall-clock time on a loaded machine).
    let cpu_ticks = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{worker}/stat")).unwrap_or_default();
        let f: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        // utime and stime, fields 14 and 15 of stat (11 and 12 after the command's name), in
        // USER_HZ (100 a second on Linux).
        f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
    };
    let running = std::time::Instant::now();
    while cpu_ticks() < 100 {
        assert!(
            running.elapsed().as_secs() < 60,
            "the worker did not use a second of CPU in 60 s ({} ticks)",
            cpu_ticks()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = std::process::Command::new("kill")
        .args(["-ABRT", &worker])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule_id"], "fuzz/runtime-crash");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("signal 6"), "{msg}");
    assert!(msg.contains("a well-formed input (X [1, 4])"), "{msg}");
    // The crashing input is the reproducer.
    assert_eq!(
        f["reproducer"]["input"]["X"]["shape"],
        serde_json::json!([1, 4])
    );
}

#[test]
fn a_hang_is_a_finding_naming_the_probe() {
    // slow_loop.onnx: a Loop with a constant trip count of 10^12.
    let m = models().join("slow_loop.onnx");
    let started = std::time::Instant::now();
    let o = run(
        &models(),
        &[
            "fuzz",
            m.to_str().unwrap(),
            "--timeout",
            "2",
            "--format",
            "json",
        ],
    );
    assert!(
        started.elapsed().as_secs() < 30,
        "the timeout bounds the run"
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule_id"], "fuzz/runtime-hang");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("a well-formed input"),
        "{f}"
    );
}

fn finding<'a>(v: &'a Value, rule: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:?}", rules(v)))
}

#[test]
fn a_shared_batch_stays_consistent_and_a_real_crash_is_kept_with_its_reproducer() {
    // stateful_lstm.onnx is shaped like silero-vad: `batch` is axis 0 of `input` and axis 1 of
    // `state`. An empty batch must be [0, N] with [2, 0, 4]; on that consistent input its LSTM
    // aborts ONNX Runtime 1.31.1 — a real crash, reported with the input that causes it. The
    // worker is restarted after it and the probes that follow still run.
    let (c, v) = fuzz_json("stateful_lstm.onnx", &["--dim", "sequence=32"]);
    assert_eq!(c, 1);
    let crash = finding(&v, "fuzz/runtime-crash");
    let msg = crash["message"].as_str().unwrap();
    assert!(msg.contains("signal 6"), "{msg}");
    assert!(
        msg.contains("an empty batch (input [0, 32], state [2, 0, 4], sr [])"),
        "{msg}"
    );
    let input = &crash["reproducer"]["input"];
    assert_eq!(input["state"]["shape"], serde_json::json!([2, 0, 4]));
    assert_eq!(input["sr"]["values"], serde_json::json!([16000]));
    // Probes after the crash ran in a new worker: the special values and the attack.
    assert!(v["facts"]["attack_plan"].is_object(), "{}", v["facts"]);
    assert!(rules(&v).iter().all(|r| r != "fuzz/baseline-fails"));
    // What the graph said: sr is compared with 16000; the sequence came from --dim.
    assert_eq!(
        v["facts"]["inferred"],
        serde_json::json!(["input `sr` is compared against 16000"])
    );
    assert_eq!(
        v["facts"]["dimensions"]["sequence"],
        "32 (--dim sequence=32)"
    );
    // With the names dropped (as silero_vad.onnx ships) the batch is found by running the
    // model: grown together the two dimensions run, grown alone they are refused.
    let (_, v) = fuzz_json(
        "stateful_unnamed.onnx",
        &[
            "--shape",
            "input=1x32",
            "--shape",
            "state=2x1x4",
            "--attack",
            "none",
        ],
    );
    assert!(
        finding(&v, "fuzz/runtime-crash")["message"]
            .as_str()
            .unwrap()
            .contains("an empty batch (input [0, 32], state [2, 0, 4], sr [])")
    );
    assert!(
        v["facts"]["inferred"][1]
            .as_str()
            .unwrap()
            .starts_with("input[0] and state[1] are one batch")
    );
    // Without --dim a working sequence length is searched for, and said.
    let (_, v) = fuzz_json("stateful_lstm.onnx", &["--attack", "none"]);
    let searched = v["facts"]["sizes_searched"].as_str().unwrap();
    assert!(searched.starts_with("sequence=256"), "{searched}");
}

#[test]
fn seeds_npz_and_contract_flags() {
    // .npz seeds give every input, sizes included; the batch still varies (empty batch).
    let seeds = models().join("stateful_seeds.npz");
    let (_, v) = fuzz_json(
        "stateful_lstm.onnx",
        &["--seeds", seeds.to_str().unwrap(), "--attack", "none"],
    );
    assert_eq!(
        v["facts"]["baseline"]["input"],
        "input [8, 64], state [2, 8, 4], sr []"
    );
    assert!(
        finding(&v, "fuzz/runtime-crash")["message"]
            .as_str()
            .unwrap()
            .contains("input [0, 64], state [2, 0, 4]")
    );
    // --shape fixes an input; a fixed batch then is not varied (state has it on axis 1).
    let (_, v) = fuzz_json(
        "stateful_lstm.onnx",
        &[
            "--shape",
            "input=1x40",
            "--shape",
            "state=2x1x4",
            "--range",
            "input=-1..1",
            "--range",
            "sr=16000",
            "--attack",
            "none",
        ],
    );
    assert!(!rules(&v).contains(&"fuzz/runtime-crash".to_string()));
    assert_eq!(
        v["facts"]["baseline"]["input"],
        "input [1, 40], state [2, 1, 4], sr []"
    );
    assert_eq!(
        v["facts"]["ranges"],
        serde_json::json!(["input=-1..1", "sr=16000"])
    );
    // Errors name what is wrong and what exists.
    let m = models().join("stateful_lstm.onnx");
    let m = m.to_str().unwrap();
    for (args, says) in [
        (
            vec!["--dim", "height=3"],
            "no dimension `height`; its symbolic dimensions: `batch`, `sequence`",
        ),
        (
            vec!["--shape", "input=1x2x3"],
            "has 3 dimensions; input `input` has 2",
        ),
        (
            vec!["--shape", "state=3x1x4"],
            "axis 0 of `state` is fixed at 2",
        ),
        (
            vec!["--dim", "sequence=32", "--shape", "input=1x40"],
            "dimension `sequence` is 40 (--shape input=1x40) but 32 (--dim sequence=32)",
        ),
        (
            vec![
                "--seeds",
                models().join("image_seeds.npz").to_str().unwrap(),
            ],
            "array `image` names no input of the model",
        ),
    ] {
        let mut a = vec!["fuzz", m];
        a.extend(args.iter().copied());
        let o = run(&models(), &a);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    // A range with a negative bound works as a separate argument.
    let o = run(
        &models(),
        &[
            "fuzz", m, "--range", "-1..1", "--attack", "none", "--format", "json",
        ],
    );
    assert_ne!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn no_input_that_runs_is_exit_2_naming_the_flags_not_a_finding() {
    // exact_frames.onnx needs exactly 49 samples: no size modelsec guesses fits.
    let m = models().join("exact_frames.onnx");
    let o = run(
        &models(),
        &["fuzz", m.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(code(&o), 2);
    let e = stderr(&o);
    assert!(e.contains("rejected every input modelsec built"), "{e}");
    assert!(e.contains("--dim samples=N"), "{e}");
    assert!(e.contains("--seeds FILE.npz"), "{e}");
    assert!(stdout(&o).is_empty());
    // With the size it runs.
    let (c, v) = fuzz_json("exact_frames.onnx", &["--dim", "samples=49"]);
    assert_eq!(c, 0, "{:?}", rules(&v));
}

#[test]
fn zipmap_outputs_are_read_by_the_oracles_and_the_attack() {
    // The default skl2onnx export (ZipMap probabilities) shows the same defect as the
    // zipmap-off export: NaN gives NaN probabilities beside a confident label.
    let seeds = models().join("iris_rows.npy");
    let (c, v) = fuzz_json(
        "iris_zipmap.onnx",
        &[
            "--seeds",
            seeds.to_str().unwrap(),
            "--epsilon",
            "0.5",
            "--rows",
            "15",
        ],
    );
    assert_eq!(c, 1);
    let f = finding(&v, "fuzz/label-score-disagree");
    assert_eq!(
        f["reproducer"]["output"]["output_probability"],
        serde_json::json!({ "0": "NaN", "1": "NaN", "2": "NaN" })
    );
    assert_eq!(
        v["facts"]["outputs"]["output_probability"],
        "probabilities (a ZipMap)"
    );
    assert_eq!(v["facts"]["robustness"]["rows"], 15);
    assert!(v["facts"]["robustness"]["successes"].as_u64().unwrap() >= 1);
}

#[test]
fn strings_are_probed_and_one_input_of_many_is_attacked() {
    let seeds = models().join("strings_seeds.npz");
    let s = seeds.to_str().unwrap();
    let (c, v) = fuzz_json("strings_pipeline.onnx", &["--seeds", s, "--epsilon", "2"]);
    assert_eq!(c, 1);
    // NaN in the float column: NaN probabilities and label 0 (the default export's ZipMap).
    let f = finding(&v, "fuzz/label-score-disagree");
    assert!(
        f["message"].as_str().unwrap().contains("input `amount`"),
        "{f}"
    );
    assert_eq!(f["reproducer"]["other_inputs"]["city"]["dtype"], "string");
    // The string column was probed (empty, long, Unicode, control characters) without findings.
    assert!(v["facts"]["probes"].as_u64().unwrap() > 20);
    assert!(
        rules(&v)
            .iter()
            .all(|r| !r.contains("crash") && !r.contains("hang"))
    );
    // The attack perturbs `amount` with `city` held at its seed values.
    assert_eq!(v["facts"]["attack_plan"]["input"], "amount");
    assert_eq!(v["facts"]["robustness"]["rows"], 8);
    // A string input cannot be attacked.
    let (_, v) = fuzz_json(
        "strings_pipeline.onnx",
        &["--seeds", s, "--attack-input", "city"],
    );
    assert!(
        finding(&v, "fuzz/not-attacked")["message"]
            .as_str()
            .unwrap()
            .contains("not a float input")
    );
}

#[test]
fn images_get_square_in_image_form_and_nothing_attacked_is_not_robust() {
    let seeds = models().join("image_seeds.npz");
    let (_, v) = fuzz_json(
        "image_cnn.onnx",
        &["--seeds", seeds.to_str().unwrap(), "--epsilon", "0.3"],
    );
    assert_eq!(v["facts"]["attack_plan"]["form"], "image");
    let r = &v["facts"]["robustness"];
    assert_eq!(r["rows"], 2, "{r}");
    assert!(r["robust_accuracy"].is_f64());
    // Without seeds an image model is not attacked, robust accuracy is unknown (never 1), and a
    // required minimum fails.
    let (c, v) = fuzz_json("image_cnn.onnx", &["--min-robust-accuracy", "0.5"]);
    assert_eq!(v["facts"]["robustness"]["robust_accuracy"], Value::Null);
    assert!(
        finding(&v, "fuzz/not-attacked")["message"]
            .as_str()
            .unwrap()
            .contains("give --seeds with real images")
    );
    assert!(
        finding(&v, "fuzz/robust-accuracy-below-threshold")["message"]
            .as_str()
            .unwrap()
            .contains("unknown")
    );
    assert_eq!(c, 1);
    // The sizes it ran at were searched (224 × 224 first) and said.
    assert!(
        v["facts"]["sizes_searched"]
            .as_str()
            .unwrap()
            .starts_with("height=224, width=224")
    );
}

#[test]
fn fixed_leading_dims_and_regressors() {
    // A fixed [2, 3] input used to index past the tensor (a panic reported as a runtime crash).
    let (c, v) = fuzz_json("fixed_batch_relu.onnx", &[]);
    assert_eq!(c, 0, "{:?}", rules(&v));
    assert_eq!(rules(&v), ["fuzz/not-attacked"]);
    // A tree regressor answers NaN with an ordinary number.
    let (c, v) = fuzz_json("tree_regressor.onnx", &["--attack", "none"]);
    assert_eq!(c, 1);
    assert_eq!(rules(&v), ["fuzz/accepts-nonfinite-input"]);
    assert_eq!(
        v["facts"]["outputs"]["variable"],
        "regression (a regressor operator)"
    );
}

#[test]
fn nan_where_the_model_does_not_read_is_not_accepted_nan() {
    // window_probs.onnx reads features 0..6 of 8 (as a melspectrogram ignores the samples past
    // its last frame): NaN in feature 6 or 7 changes nothing, which used to be reported as
    // `accepts-nonfinite-input`. NaN in a read feature gives NaN probabilities (no label hides it).
    let (c, v) = fuzz_json("window_probs.onnx", &["--attack", "none"]);
    assert_eq!(c, 0, "{:?}", v["findings"]);
    assert!(rules(&v).is_empty(), "{:?}", v["findings"]);
    // A model that does read the element and swallows the NaN is still reported (the tree
    // answers NaN in a feature it splits on with an ordinary number).
    let (c, v) = fuzz_json("tree_regressor.onnx", &["--attack", "none"]);
    assert_eq!(c, 1);
    assert_eq!(rules(&v), ["fuzz/accepts-nonfinite-input"]);
}

#[test]
fn zipmap_fast_read_matches_ort_typed_path() {
    // src/onnx/zipmap.rs reads ZipMap outputs through the C API directly (ort's typed path made
    // small classifiers several times slower than bare ONNX Runtime); both must agree, NaN too.
    use modelsec::onnx::{self, ClassKeys, Data};
    let (mut m, _) = onnx::open(&models().join("iris_zipmap.onnx")).unwrap();
    let rows: Vec<f32> = vec![
        5.1,
        3.5,
        1.4,
        0.2,
        6.7,
        3.0,
        5.2,
        2.3,
        5.9,
        3.0,
        4.2,
        1.5,
        f32::NAN,
        3.0,
        4.0,
        1.0,
    ];
    let name = m.inputs[0].name.clone();
    let fast = m
        .run(&[(name.clone(), Data::F32(vec![4, 4], rows.clone()))])
        .unwrap();
    let x = ort::value::Tensor::from_array((vec![4i64, 4], rows)).unwrap();
    let out = m.session.run(ort::inputs![name.as_str() => x]).unwrap();
    let seq = out["output_probability"]
        .try_extract_sequence::<ort::value::DynMapValueType>()
        .unwrap();
    let (mut keys, mut expect) = (vec![], vec![]);
    for map in &seq {
        let kv = map.try_extract_key_values::<i64, f32>().unwrap();
        keys = kv.iter().map(|p| p.0).collect();
        expect.extend(kv.iter().map(|p| p.1.to_bits()));
    }
    let (_, shape, got) = fast
        .floats
        .iter()
        .find(|f| f.0 == "output_probability")
        .unwrap();
    assert_eq!(shape, &[4, 3]);
    assert_eq!(got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), expect);
    assert!(got[9..].iter().all(|x| x.is_nan()));
    assert_eq!(keys, [0, 1, 2]);
    assert_eq!(fast.keys("output_probability"), Some(&ClassKeys::Int(keys)));

    // String class labels are read by the same one pass.
    let (mut m, _) = onnx::open(&models().join("iris_zipmap_names.onnx")).unwrap();
    let rows = vec![
        5.1f32,
        3.5,
        1.4,
        0.2,
        6.7,
        3.0,
        5.2,
        2.3,
        f32::NAN,
        3.0,
        4.0,
        1.0,
    ];
    let fast = m
        .run(&[("X".to_string(), Data::F32(vec![3, 4], rows.clone()))])
        .unwrap();
    let x = ort::value::Tensor::from_array((vec![3i64, 4], rows)).unwrap();
    let out = m.session.run(ort::inputs!["X" => x]).unwrap();
    let seq = out["output_probability"]
        .try_extract_sequence::<ort::value::DynMapValueType>()
        .unwrap();
    let (mut keys, mut expect) = (vec![], vec![]);
    for map in &seq {
        let kv = map.try_extract_key_values::<String, f32>().unwrap();
        keys = kv.iter().map(|p| p.0.clone()).collect();
        expect.extend(kv.iter().map(|p| p.1.to_bits()));
    }
    let (_, shape, got) = fast
        .floats
        .iter()
        .find(|f| f.0 == "output_probability")
        .unwrap();
    assert_eq!(shape, &[3, 3]);
    assert_eq!(got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), expect);
    assert_eq!(keys, ["setosa", "versicolor", "virginica"]);
    assert_eq!(fast.keys("output_probability"), Some(&ClassKeys::Str(keys)));
}

#[test]
fn raw_run_path_matches_ort_typed_path() {
    // src/onnx/raw.rs runs sessions and reads outputs through the C API directly (ort's typed
    // `run` cost a fifth of a small classifier's run); what it decodes must be what ort's typed
    // path gives, for every kind of output, by name or by position, all outputs or some.
    use modelsec::onnx::session::Prepared;
    use modelsec::onnx::{self, ClassKeys, Data, Elem};

    // Every float, int64 and string output of `out` through ort's typed path, by name.
    fn typed(out: &ort::session::SessionOutputs<'_>) -> Vec<(String, Vec<i64>, String)> {
        out.iter()
            .filter_map(|(name, v)| {
                let (shape, text) = if let Ok((s, d)) = v.try_extract_tensor::<f32>() {
                    (
                        s.to_vec(),
                        format!("{:?}", d.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
                    )
                } else if let Ok((s, d)) = v.try_extract_tensor::<i64>() {
                    (s.to_vec(), format!("{d:?}"))
                } else if let Ok((s, d)) = v.try_extract_strings() {
                    (s.to_vec(), format!("{d:?}"))
                } else {
                    return None;
                };
                Some((name.to_string(), shape, text))
            })
            .collect()
    }
    fn decoded(o: &onnx::Outputs) -> Vec<(String, Vec<i64>, String)> {
        let mut all: Vec<_> = o
            .floats
            .iter()
            .map(|(n, s, d)| {
                let bits: Vec<u32> = d.iter().map(|x| x.to_bits()).collect();
                (n.clone(), s.clone(), format!("{bits:?}"))
            })
            .chain(
                o.ints
                    .iter()
                    .map(|(n, s, d)| (n.clone(), s.clone(), format!("{d:?}"))),
            )
            .chain(
                o.strings
                    .iter()
                    .map(|(n, s, d)| (n.clone(), s.clone(), format!("{d:?}"))),
            )
            .collect();
        all.sort();
        all
    }
    let check = |model: &str, data: Vec<(String, Data)>| {
        let (mut m, _) = onnx::open(&models().join(model)).unwrap();
        let fast = m.run(&data).unwrap();
        assert_eq!(m.run(&data).unwrap(), fast, "{model}: a second run differs");
        let values: Vec<_> = data
            .iter()
            .map(|(n, d)| (n.clone(), d.value().unwrap()))
            .collect();
        let mut expect = typed(&m.session.run(values).unwrap());
        expect.sort();
        assert_eq!(decoded(&fast), expect, "{model}");
        assert!(fast.undecoded.is_empty(), "{model}: {:?}", fast.undecoded);
        // The attacks' path: inputs by position, only the last output fetched and decoded.
        let last = m.session.outputs().len() - 1;
        let mut in_order = data.clone();
        in_order.sort_by_key(|(n, _)| m.inputs.iter().position(|s| s.name == *n));
        let only = Prepared::new(&m, &in_order)
            .unwrap()
            .run(&mut m, &[last])
            .unwrap();
        let name = m.session.outputs()[last].name().to_string();
        let want: Vec<_> = decoded(&fast).into_iter().filter(|o| o.0 == name).collect();
        assert_eq!(decoded(&only), want, "{model}: Prepared::run");
        fast
    };
    // int64 and string outputs from a string input.
    let text = vec!["a".to_string(), "hello".into(), "zzz".into(), String::new()];
    check(
        "text_ids.onnx",
        vec![("text".into(), Data::Str(vec![4], text))],
    );
    // int32, bool and uint8 inputs (made by ort), given out of the model's order.
    check(
        "int_inputs.onnx",
        vec![
            (
                "pixels".into(),
                Data::Int(Elem::U8, vec![2, 4], vec![0, 255, 7, 9, 1, 2, 3, 4]),
            ),
            (
                "ids".into(),
                Data::Int(Elem::I32, vec![2, 3], vec![0, 1, 2, 3, 4, 5]),
            ),
            (
                "mask".into(),
                Data::Int(Elem::Bool, vec![2, 3], vec![1, 0, 1, 0, 0, 1]),
            ),
        ],
    );
    // A scalar output from an int64 input.
    let o = check(
        "expand_sum.onnx",
        vec![("shape".into(), Data::Int(Elem::I64, vec![2], vec![2, 3]))],
    );
    assert_eq!(o.floats[0].1, Vec::<i64>::new());
    // ZipMap: the class keys are read on the first run and kept; an empty batch still says
    // [0, 0] with no keys, before and after a run that read them.
    let (mut m, _) = onnx::open(&models().join("iris_zipmap.onnx")).unwrap();
    let empty = vec![("X".to_string(), Data::F32(vec![0, 4], vec![]))];
    let probs = |o: &onnx::Outputs| {
        o.floats
            .iter()
            .find(|f| f.0 == "output_probability")
            .map(|f| (f.1.clone(), f.2.len()))
    };
    let before = m.run(&empty).unwrap();
    assert_eq!(probs(&before), Some((vec![0, 0], 0)));
    assert_eq!(
        before.keys("output_probability"),
        Some(&ClassKeys::Int(vec![]))
    );
    let rows = vec![(
        "X".to_string(),
        Data::F32(vec![2, 4], vec![5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]),
    )];
    let first = m.run(&rows).unwrap();
    assert_eq!(probs(&first), Some((vec![2, 3], 6)));
    assert_eq!(
        first.keys("output_probability"),
        Some(&ClassKeys::Int(vec![0, 1, 2]))
    );
    assert_eq!(m.run(&rows).unwrap(), first);
    assert_eq!(m.run(&empty).unwrap(), before);
    // A name the model does not have is ONNX Runtime's error, naming it.
    let wrong = vec![("__nope__".to_string(), Data::F32(vec![1, 4], vec![0.0; 4]))];
    let e = m.run(&wrong).unwrap_err();
    assert!(e.contains("__nope__"), "{e}");
    // Data whose shape does not describe it takes ort's path and is refused, not read past.
    let short = vec![("X".to_string(), Data::F32(vec![2, 4], vec![0.0; 4]))];
    assert!(m.run(&short).is_err());
}
