//! `modelsec fuzz` on the committed test models (scripts/gen_onnx_models.py), through the built
//! binary and a real ONNX Runtime 1.31.1 (scripts/ort.sh installs it into .local/onnxruntime;
//! scripts/test.sh runs that first).

mod common;

use common::{code, run, stderr, stdout, xml_count};
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
    assert!(f["message"].as_str().unwrap().contains("10000000 elements"));
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
        stderr(&o)
            .contains("pip install --no-deps --target .local/onnxruntime onnxruntime==1.31.1"),
        "{}",
        stderr(&o)
    );
    let o = run(t.path(), &["fuzz", "missing.onnx"]);
    assert_eq!(code(&o), 2);
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
            .contains("a well-formed batch"),
        "{f}"
    );
}
