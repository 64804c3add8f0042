//! `modelsec check`, `rules` and `threats` through the built binary.

use crate::common::{code, make_model, run, stderr, stdout, xml_count};
use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A date `days` from today (suppression expiries must lie within a year).
fn in_days(days: i64) -> String {
    let d = modelsec::check::suppress::Date::today().to_days() + days;
    modelsec::check::suppress::Date::from_days(d).to_string()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/deploy")
}

fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("not one JSON document: {e}\n{}", stdout(o)))
}

fn findings<'a>(v: &'a Value, rule: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

#[test]
fn insecure_examples_fail_with_exact_locations() {
    let o = run(&examples(), &["check", "insecure", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["command"], "check");
    assert_eq!(v["facts"]["files_checked"], 9);
    // The known keys, at their line and column in the files.
    let at = |rule: &str, file: &str| -> (u64, u64) {
        let f = findings(&v, rule)
            .into_iter()
            .find(|f| f["location"]["path"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("no {rule} finding in {file}"));
        (
            f["location"]["line"].as_u64().unwrap(),
            f["location"]["column"].as_u64().unwrap(),
        )
    };
    assert_eq!(
        at("torchserve/management-api-exposed", "config.properties"),
        (3, 1)
    );
    assert_eq!(at("secrets/plaintext", "llm.yaml"), (27, 21));
    assert_eq!(at("vllm/no-api-key", "llm.yaml"), (22, 15));
    assert_eq!(at("k8s/model-port-exposed", "llm.yaml"), (42, 3));
    assert_eq!(
        at("ollama/host-all-interfaces", "docker-compose.yml"),
        (7, 9)
    );
    assert_eq!(at("exposure/public-tunnel", "Dockerfile"), (4, 5));
    assert_eq!(
        at("mlflow/default-admin-password", "basic_auth.ini"),
        (5, 1)
    );
    assert_eq!(at("jupyter/no-auth", "jupyter_server_config.py"), (3, 1));
    assert_eq!(
        at("pytorch/vulnerable-torch-version", "requirements.txt"),
        (1, 1)
    );
    assert_eq!(at("ray/head-service-exposed", "raycluster.yaml"), (8, 5));
    // The line really holds the key named.
    let text = std::fs::read_to_string(examples().join("insecure/llm.yaml")).unwrap();
    let line27 = text.lines().nth(26).unwrap();
    assert!(line27.contains("name: HF_TOKEN"), "{line27}");
    // Conditional and threat-model severities.
    let ollama = findings(&v, "ollama/host-all-interfaces");
    assert_eq!(ollama[0]["severity"], "critical", "port published → raised");
    // Every failing finding names its fix.
    for f in v["findings"].as_array().unwrap() {
        assert!(f["help"].as_str().is_some_and(|h| !h.is_empty()), "{f}");
    }
}

#[test]
fn junit_report_for_ci() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("check.xml");
    let o = run(
        &examples(),
        &["check", "insecure", "--junit", out.to_str().unwrap()],
    );
    assert_eq!(code(&o), 1);
    let xml = std::fs::read_to_string(&out).unwrap();
    let failures = xml_count(&xml, "failures");
    assert_eq!(failures, 45, "one <failure> per failing finding");
    assert!(xml.contains("name=\"torchserve/management-api-exposed\""));
    assert_eq!(xml.matches("<failure ").count(), failures);
}

#[test]
fn hardened_examples_pass() {
    let o = run(&examples(), &["check", "hardened"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("check PASS"));
}

#[test]
fn snapshots_of_the_three_formats() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check/snap");
    let o = run(&d, &["check", "."]);
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("check_human", stdout(&o));
    let o = run(&d, &["check", ".", "--format", "json"]);
    let mut v = json(&o);
    v["tool"]["version"] = Value::from("[version]");
    insta::assert_snapshot!("check_json", serde_json::to_string_pretty(&v).unwrap());
    let o = run(&d, &["check", ".", "--format", "sarif"]);
    let mut v = json(&o);
    let driver = &mut v["runs"][0]["tool"]["driver"];
    let rules = driver["rules"].as_array().unwrap().len();
    assert!(rules > 47, "every rule is described: {rules}");
    // Keep the snapshot to the rules the results use.
    let used: Vec<String> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap().to_string())
        .collect();
    let driver = &mut v["runs"][0]["tool"]["driver"];
    let kept: Vec<Value> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| used.iter().any(|u| r["id"] == u.as_str()))
        .cloned()
        .collect();
    driver["rules"] = Value::from(kept);
    driver["version"] = Value::from("[version]");
    driver["semanticVersion"] = Value::from("[version]");
    for r in v["runs"][0]["results"].as_array_mut().unwrap() {
        assert!(r["properties"]["security-severity"].is_string());
        r["ruleIndex"] = Value::from("[index]");
    }
    insta::assert_snapshot!("check_sarif", serde_json::to_string_pretty(&v).unwrap());
}

const DEV_COMPOSE: &str = "\
services:
  ollama:
    image: ollama/ollama:0.6.2@sha256:5f5a5b6f6c0d2e8a9b1c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8
    environment:
      OLLAMA_HOST: 0.0.0.0
";

#[test]
fn suppressions_need_reason_and_expiry_and_expire() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("docker-compose.yml"), DEV_COMPOSE).unwrap();
    let rule = "ollama/host-all-interfaces";
    // No suppression: fails.
    assert_eq!(code(&run(d, &["check", "docker-compose.yml"])), 1);
    // A valid .modelsec.toml suppression (picked up from the working directory).
    std::fs::write(
        d.join(".modelsec.toml"),
        format!(
            "[[suppress]]\nrule = \"{rule}\"\npaths = [\"docker-compose.yml\"]\nreason = \"dev box behind WireGuard\"\nexpires = {}\n",
            in_days(90)
        ),
    )
    .unwrap();
    let o = run(d, &["check", "docker-compose.yml", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v = json(&o);
    let f = &findings(&v, rule)[0];
    assert_eq!(f["suppressed"]["reason"], "dev box behind WireGuard");
    assert_eq!(f["suppressed"]["kind"], "config");
    assert_eq!(v["summary"]["suppressed"], 1);
    let o = run(d, &["check", "docker-compose.yml", "--format", "sarif"]);
    let v = json(&o);
    assert_eq!(
        v["runs"][0]["results"][0]["suppressions"][0]["kind"],
        "external"
    );
    // Expired: the finding is back and the expiry is reported.
    std::fs::write(
        d.join(".modelsec.toml"),
        format!("[[suppress]]\nrule = \"{rule}\"\nreason = \"dev\"\nexpires = 2020-01-31\n"),
    )
    .unwrap();
    let o = run(d, &["check", "docker-compose.yml", "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert!(findings(&v, rule)[0]["suppressed"].is_null());
    let e = &findings(&v, "check/suppression-expired")[0];
    assert!(e["message"].as_str().unwrap().contains("2020-01-31"));
    assert_eq!(e["location"]["path"], ".modelsec.toml");
    // No reason: invalid, hides nothing.
    std::fs::write(
        d.join(".modelsec.toml"),
        format!(
            "[[suppress]]\nrule = \"{rule}\"\nexpires = {}\n",
            in_days(30)
        ),
    )
    .unwrap();
    let o = run(d, &["check", "docker-compose.yml", "--format", "json"]);
    assert_eq!(code(&o), 1);
    assert_eq!(findings(&json(&o), "check/suppression-invalid").len(), 1);
    // Too far ahead: a waiver must come back for review within a year.
    std::fs::write(
        d.join(".modelsec.toml"),
        format!(
            "[[suppress]]\nrule = \"{rule}\"\nreason = \"r\"\nexpires = {}\n",
            in_days(400)
        ),
    )
    .unwrap();
    let o = run(d, &["check", "docker-compose.yml", "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert!(
        findings(&v, "check/suppression-invalid")[0]["message"]
            .as_str()
            .unwrap()
            .contains("days ahead")
    );
    // A typo in the file is an error with its position.
    std::fs::write(
        d.join(".modelsec.toml"),
        "[[suppress]]\nrule = \"x/y\"\nreasn = \"a\"\n",
    )
    .unwrap();
    let o = run(d, &["check", "docker-compose.yml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains(".modelsec.toml:3:1"), "{}", stderr(&o));
}

#[test]
fn inline_and_annotation_suppressions_and_the_ci_switch() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let inline = DEV_COMPOSE.replace(
        "services:\n",
        &format!("# modelsec:ignore ollama/host-all-interfaces expires={} reason=\"laptop only\"\nservices:\n", in_days(60)),
    );
    std::fs::write(d.join("docker-compose.yml"), inline).unwrap();
    let o = run(d, &["check", "docker-compose.yml", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(json(&o)["findings"][0]["suppressed"]["kind"], "inline");
    let o = run(
        d,
        &["check", "docker-compose.yml", "--no-inline-suppressions"],
    );
    assert_eq!(code(&o), 1, "CI ignores in-file suppressions");

    let pod = format!(
        "\
apiVersion: v1
kind: Pod
metadata:
  name: dev
  annotations:
    modelsec.dev/ignore: |
      k8s/* expires={} reason=\"kind cluster for local tests\"
spec:
  containers:
    - name: c
      image: busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000
---
apiVersion: v1
kind: Pod
metadata:
  name: other
spec:
  containers:
    - name: c
      image: busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000
",
        in_days(10)
    );
    std::fs::write(d.join("pods.yaml"), pod).unwrap();
    let o = run(d, &["check", "pods.yaml", "--format", "json"]);
    let v = json(&o);
    let runs_as_root = findings(&v, "k8s/run-as-root");
    assert_eq!(runs_as_root.len(), 2);
    let dev = runs_as_root
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("Pod/default/dev"))
        .unwrap();
    let other = runs_as_root
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("Pod/default/other"))
        .unwrap();
    assert_eq!(dev["suppressed"]["kind"], "annotation");
    assert!(
        other["suppressed"].is_null(),
        "the annotation covers its own object only"
    );
    assert_eq!(code(&o), 1);
    let o = run(
        d,
        &[
            "check",
            "pods.yaml",
            "--format",
            "json",
            "--no-inline-suppressions",
        ],
    );
    assert_eq!(json(&o)["summary"]["suppressed"].as_u64().unwrap_or(0), 0);
}

#[test]
fn min_severity_and_exposure() {
    let o = run(
        &examples(),
        &[
            "check",
            "insecure",
            "--format",
            "json",
            "--min-severity",
            "critical",
        ],
    );
    let v = json(&o);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "critical")
    );
    assert!(!v["findings"].as_array().unwrap().is_empty());
    let base = json(&run(
        &examples(),
        &["check", "insecure/llm.yaml", "--format", "json"],
    ));
    let exposed = json(&run(
        &examples(),
        &[
            "check",
            "insecure/llm.yaml",
            "--format",
            "json",
            "--exposure",
            "internet",
        ],
    ));
    assert_eq!(
        findings(&base, "huggingface/remote-code-unpinned")[0]["severity"],
        "high"
    );
    assert_eq!(
        findings(&exposed, "huggingface/remote-code-unpinned")[0]["severity"],
        "critical",
        "the rule escalates for internet exposure"
    );
}

#[test]
fn unreadable_unparsable_and_unrecognised_files() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("broken.yaml"), "a: [1, 2\nb: c\n").unwrap();
    std::fs::write(d.join("notes.md"), "# notes\n").unwrap();
    std::fs::write(d.join("chart.yaml"), "image: {{ .Values.image }}\n").unwrap();
    let o = run(d, &["check", ".", "--format", "json"]);
    assert_eq!(code(&o), 1, "an unparsable config fails closed");
    let v = json(&o);
    let p = findings(&v, "check/parse-error");
    assert_eq!(p.len(), 2);
    let broken = p
        .iter()
        .find(|f| f["location"]["path"] == "broken.yaml")
        .unwrap();
    assert!(broken["location"]["line"].as_u64().is_some());
    let chart = p
        .iter()
        .find(|f| f["location"]["path"] == "chart.yaml")
        .unwrap();
    assert!(chart["message"].as_str().unwrap().contains("helm template"));
    assert_eq!(findings(&v, "check/unrecognised-file").len(), 1);
    assert_eq!(
        findings(&v, "check/unrecognised-file")[0]["severity"],
        "info"
    );
    // Nothing to check at all is an error, as is a missing path.
    std::fs::remove_file(d.join("broken.yaml")).unwrap();
    std::fs::remove_file(d.join("chart.yaml")).unwrap();
    let o = run(d, &["check", "."]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no config files found"));
    let o = run(d, &["check", "missing.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("does not exist"));
}

#[test]
fn user_policies_are_validated_with_positions() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(
        d.join("mine.toml"),
        "[[rule]]\nid = \"acme/no-debug\"\ntitle = \"Debug mode on\"\nseverity = \"hihg\"\ntarget = \"container\"\nmessage = \"DEBUG is {value}\"\nremediation = \"unset DEBUG\"\nfail_when = { path = \"env.DEBUG\", op = \"truthy\" }\nrefs = { ncsc = [\"x\"], owasp = [\"LLM10:2025\"] }\n",
    )
    .unwrap();
    std::fs::write(d.join(".env"), "DEBUG=1\n").unwrap();
    let o = run(d, &["check", ".env", "--policy", "mine.toml"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("unknown severity `hihg`"), "{err}");
    assert!(err.contains("mine.toml:4:12"), "{err}");
    // Fixed, the user's rule runs beside the built-in ones.
    let text = std::fs::read_to_string(d.join("mine.toml"))
        .unwrap()
        .replace("hihg", "high");
    std::fs::write(d.join("mine.toml"), text).unwrap();
    let o = run(
        d,
        &["check", ".env", "--policy", "mine.toml", "--format", "json"],
    );
    assert_eq!(code(&o), 1);
    let v = json(&o);
    assert_eq!(
        findings(&v, "acme/no-debug")[0]["message"],
        ".env: DEBUG is `1`"
    );
    // A user rule may not reuse a built-in id.
    let dup = std::fs::read_to_string(d.join("mine.toml"))
        .unwrap()
        .replace("acme/no-debug", "vllm/dev-mode");
    std::fs::write(d.join("mine.toml"), dup).unwrap();
    let o = run(d, &["check", ".env", "--policy", "mine.toml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("defined twice"));
}

#[test]
fn rules_lists_tests_and_documents() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = run(d, &["rules"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("torchserve/management-api-exposed"));
    let o = run(d, &["rules", "--test"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("0 failed"));
    // A case that does not hold fails the run.
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("bad.toml"),
        "[[rule]]\nid = \"acme/x\"\ntitle = \"x\"\nseverity = \"low\"\ntarget = \"container\"\nmessage = \"m\"\nremediation = \"r\"\nfail_when = { path = \"env.X\", op = \"exists\" }\nrefs = { ncsc = [\"x\"], atlas = [\"AML.T0040\"] }\n[[rule.test]]\nexpect = \"fail\"\nfile = \".env\"\ninput = \"Y=1\\n\"\n",
    )
    .unwrap();
    let o = run(t.path(), &["rules", "--test", "--policy", "bad.toml"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("FAIL acme/x"), "{}", stdout(&o));
    // The checked-in reference is what the rules generate.
    let o = run(d, &["rules", "--format", "markdown"]);
    let doc = std::fs::read_to_string(d.join("docs/rules.md")).unwrap();
    assert!(
        stdout(&o) == doc,
        "docs/rules.md is stale: run `cargo run -q -- rules --format markdown > docs/rules.md`"
    );
    let o = run(d, &["rules", "--format", "json"]);
    let v = json(&o);
    assert!(v.as_array().unwrap().len() >= 35);
}

#[test]
fn threats_coverage_with_evidence() {
    let ex = examples();
    let o = run(&ex, &["threats"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("classifier-http-k8s"));
    assert!(stdout(&o).contains("llm-inference-api"));
    // Insecure: unmitigated threats, exit 1.
    let o = run(
        &ex,
        &[
            "threats",
            "insecure",
            "--model",
            "llm-inference-api",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 1);
    let v = json(&o);
    let threats = v["facts"]["threats"][0]["threats"].as_array().unwrap();
    let unauth = threats
        .iter()
        .find(|t| t["id"] == "unauthenticated-use")
        .unwrap();
    assert_eq!(unauth["status"], "unmitigated");
    // Hardened: every LLM threat has a passing control and none fails.
    let o = run(
        &ex,
        &["threats", "hardened", "--model", "llm-inference-api"],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // Capability controls come from real modelsec reports.
    let t = tempfile::tempdir().unwrap();
    let model = t.path().join("model");
    make_model(&model);
    let scan = run(t.path(), &["scan", "model", "--format", "json"]);
    assert_eq!(code(&scan), 0, "{}", stdout(&scan));
    std::fs::write(t.path().join("scan.json"), stdout(&scan)).unwrap();
    let hardened = ex.join("hardened");
    let o = run(
        t.path(),
        &[
            "threats",
            hardened.to_str().unwrap(),
            "--model",
            "classifier-http-k8s",
            "--evidence",
            "scan.json",
            "--format",
            "json",
        ],
    );
    let v = json(&o);
    let threats = v["facts"]["threats"][0]["threats"].as_array().unwrap();
    let mal = threats
        .iter()
        .find(|t| t["id"] == "malicious-model-file")
        .unwrap();
    let scan_ctl = mal["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["control"]["name"] == "scan")
        .unwrap();
    assert_eq!(scan_ctl["status"], "pass");
    // The monitor is evidenced by `log verify` on its event log (serve/proxy write a log, not a
    // report): the monitor control of the extraction threat passes with it.
    {
        use modelsec::monitor::log::{Durability, EventLog, LogOptions};
        let log = EventLog::open(LogOptions::new(
            t.path().join("events.jsonl"),
            Durability::Always,
        ))
        .unwrap();
        for i in 0..3 {
            let e = modelsec::monitor::event::Event::Health(
                modelsec::monitor::event::Health::Rotated {
                    previous_file: format!("n{i}"),
                },
            );
            log.log(&e);
        }
        log.close();
    }
    let lv = run(
        t.path(),
        &["log", "verify", "events.jsonl", "--format", "json"],
    );
    assert_eq!(code(&lv), 0, "{}", stdout(&lv));
    std::fs::write(t.path().join("log.json"), stdout(&lv)).unwrap();
    let o2 = run(
        t.path(),
        &[
            "threats",
            hardened.to_str().unwrap(),
            "--model",
            "classifier-http-k8s",
            "--evidence",
            "scan.json",
            "--evidence",
            "log.json",
            "--format",
            "json",
        ],
    );
    let v2 = json(&o2);
    let monitored: Vec<&Value> = v2["facts"]["threats"][0]["threats"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["controls"].as_array().unwrap())
        .filter(|c| c["control"]["name"] == "monitor")
        .collect();
    assert!(!monitored.is_empty());
    assert!(
        monitored.iter().all(|c| c["status"] == "pass"),
        "{monitored:?}"
    );
    // No fuzz or monitor evidence: adversarial inputs stay unmitigated, and the run fails.
    let adv = threats
        .iter()
        .find(|t| t["id"] == "adversarial-inputs")
        .unwrap();
    assert_eq!(adv["status"], "unmitigated");
    assert_eq!(code(&o), 1);
    // Evidence that is not a modelsec report is an error.
    std::fs::write(t.path().join("junk.json"), "{}").unwrap();
    let o = run(
        t.path(),
        &[
            "threats",
            hardened.to_str().unwrap(),
            "--evidence",
            "junk.json",
        ],
    );
    assert_eq!(code(&o), 2);
}

#[test]
fn sarif_fingerprints_survive_moved_lines() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let fp = |text: &str| -> (Value, Value) {
        std::fs::write(d.join("docker-compose.yml"), text).unwrap();
        let v = json(&run(
            d,
            &["check", "docker-compose.yml", "--format", "sarif"],
        ));
        let r = v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == "ollama/host-all-interfaces")
            .unwrap()
            .clone();
        (
            r["partialFingerprints"]["modelsec/v1"].clone(),
            r["locations"][0]["physicalLocation"]["region"]["startLine"].clone(),
        )
    };
    let (a, line_a) = fp(DEV_COMPOSE);
    let (b, line_b) = fp(&format!("# local development stack\n\n{DEV_COMPOSE}"));
    assert_eq!(a, b);
    assert_eq!(line_b.as_u64().unwrap(), line_a.as_u64().unwrap() + 2);
}

/// Issue 19: one synthetic fixture per real-world pattern (tests/fixtures/check/field/), each
/// finding at the line that enables the risk, and what must not be reported.
#[test]
fn field_patterns_are_modelled_as_they_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check/field");
    let o = run(&dir, &["check", ".", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    let has = |path: &str, line: u64, rule: &str| {
        v["findings"].as_array().unwrap().iter().any(|f| {
            f["rule_id"] == rule && f["location"]["path"] == path && f["location"]["line"] == line
        })
    };
    let any = |path: &str, rule: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == rule && f["location"]["path"] == path)
    };
    let present = [
        // A flow sequence spread over lines is valid YAML: the file is read, risks at the flag.
        (
            "flow-over-lines.yaml",
            15,
            "huggingface/remote-code-unpinned",
        ),
        ("flow-over-lines.yaml", 15, "vllm/no-api-key"),
        ("flow-over-lines.yaml", 9, "k8s/host-namespaces"),
        // Helm values: literal secrets still reported (a `{{ }}` in a comment is no template).
        ("values.yaml", 6, "secrets/plaintext"),
        ("values.yaml", 10, "secrets/plaintext"),
        ("values.yaml", 1, "helm/values-not-evaluated"),
        // KServe: published unless cluster-local; predictor args reach TorchServe's rules; a
        // runtime from another document without securityContext still runs as root.
        ("kserve.yaml", 3, "kserve/exposed-without-auth"),
        ("kserve.yaml", 19, "torchserve/token-auth-disabled"),
        ("kserve.yaml", 19, "torchserve/model-api-enabled"),
        ("kserve.yaml", 39, "k8s/run-as-root"),
        ("kserve.yaml", 27, "k8s/run-as-root"),
        // Compose: exposure by image, variables with defaults resolved, unknown ones judged.
        (
            "docker-compose.yml",
            8,
            "exposure/port-published-all-interfaces",
        ),
        (
            "docker-compose.yml",
            15,
            "exposure/port-published-all-interfaces",
        ),
        ("docker-compose.yml", 18, "mlflow/server-without-auth"),
        // Every secret, none of the placeholders or flags.
        ("docker-compose.yml", 26, "secrets/plaintext"),
        ("docker-compose.yml", 27, "secrets/plaintext"),
        ("docker-compose.yml", 28, "secrets/plaintext"),
        // Dockerfile: the unpinned image at its own FROM, USER $UID resolving to root.
        ("Dockerfile", 4, "supply-chain/image-not-pinned"),
        ("Dockerfile", 9, "docker/run-as-root"),
        // LeaderWorkerSet containers, llama.cpp RPC, Secret manifests.
        ("lws.yaml", 12, "vllm/no-api-key"),
        ("lws.yaml", 10, "k8s/run-as-root"),
        ("lws.yaml", 19, "llamacpp/rpc-server-exposed"),
        ("lws.yaml", 26, "secrets/plaintext"),
        ("lws.yaml", 30, "secrets/plaintext"),
        // KubeRay: a custom head Service, the injected dashboard host.
        ("ray.yaml", 8, "ray/head-service-exposed"),
        ("ray.yaml", 12, "ray/dashboard-all-interfaces"),
    ];
    for (path, line, rule) in present {
        assert!(
            has(path, line, rule),
            "missing {rule} at {path}:{line}:\n{v:#}"
        );
    }
    let secrets = |path: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "secrets/plaintext" && f["location"]["path"] == path)
            .count()
    };
    assert_eq!(
        secrets("docker-compose.yml"),
        3,
        "placeholders and flags are not secrets"
    );
    assert_eq!(
        secrets("values.yaml"),
        2,
        "existingSecretKey names a key, changeme is a placeholder"
    );
    assert_eq!(
        secrets("lws.yaml"),
        2,
        "AWS_ACCESS_KEY_ID is not the secret half"
    );
    // Not there: built-in runtime security, webhook limits, ports of non-model servers, an
    // image whose entrypoint was replaced, a parse error.
    for (path, rule) in [
        ("kserve.yaml", "k8s/no-resource-limits"),
        ("flow-over-lines.yaml", "check/parse-error"),
        ("values.yaml", "check/parse-error"),
        ("Dockerfile", "vllm/no-api-key"),
    ] {
        assert!(!any(path, rule), "unexpected {rule} in {path}");
    }
    assert!(
        !has("kserve.yaml", 6, "k8s/run-as-root"),
        "sklearn runtime runs as non-root"
    );
    assert!(!has("kserve.yaml", 6, "k8s/privilege-escalation"));
    assert!(
        !has(
            "docker-compose.yml",
            4,
            "exposure/port-published-all-interfaces"
        ),
        "grafana"
    );
    assert!(
        !has(
            "docker-compose.yml",
            12,
            "exposure/port-published-all-interfaces"
        ),
        "LOCALAI_AUTH"
    );
    // Skipped kinds are listed, never silent.
    let skipped = v["facts"]["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["what"].as_str().unwrap().contains("ModelServer")),
        "{skipped:?}"
    );
}

#[test]
fn rendered_manifests_on_stdin() {
    let rendered = "---\n# Source: triton/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: triton}\nspec:\n  template:\n    spec:\n      containers:\n        - name: triton\n          image: nvcr.io/nvidia/tritonserver:25.01-py3\n          args: [\"tritonserver\", \"--model-repository=s3://b/m\", \"--model-control-mode=poll\"]\n";
    let o = cargo_bin_cmd!("modelsec")
        .args([
            "check",
            "-",
            "--stdin-name",
            "chart/rendered.yaml",
            "--format",
            "json",
        ])
        .write_stdin(rendered)
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    let f = findings(&v, "triton/dynamic-model-control");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["location"]["path"], "chart/rendered.yaml");
    assert_eq!(f[0]["location"]["line"], 12);
}

#[test]
fn empty_stdin_is_not_a_clean_deployment() {
    // `helm template … | modelsec check -` where helm failed: nothing rendered, nothing checked.
    for input in ["", "\n  \n", "\u{feff}"] {
        let o = cargo_bin_cmd!("modelsec")
            .args(["check", "-", "--format", "json"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert_eq!(code(&o), 2, "{input:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("standard input is empty"),
            "{}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty(), "{input:?}");
    }
}

#[test]
fn alias_bombs_are_parse_errors_not_aborts() {
    let t = tempfile::tempdir().unwrap();
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = "a".to_string();
    for n in ["b", "c", "d", "e", "f", "g", "h", "i"] {
        bomb.push_str(&format!(
            "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = n.to_string();
    }
    std::fs::write(t.path().join("bomb.yaml"), &bomb).unwrap();
    let o = run(t.path(), &["check", "bomb.yaml", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    let f = findings(&v, "check/parse-error");
    assert_eq!(f.len(), 1);
    assert!(f[0]["message"].as_str().unwrap().contains("alias"), "{f:?}");
}
