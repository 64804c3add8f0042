//! `check`: deployment configs against secure-default rules written in TOML.
//!
//! Files are recognised ([`formats`]), parsed into position-carrying trees ([`doc`]), turned
//! into subjects with `env`/`argv` views and cross-document links ([`model`]), and every rule of
//! the policy set ([`lang`]) is evaluated on every subject of its targets. Suppressions
//! ([`suppress`]) need a reason and an expiry date.

pub mod doc;
pub mod dockerfile;
pub mod engine;
pub mod formats;
pub mod lang;
pub mod model;
pub mod read;
pub mod rules;
pub mod select;
pub mod suppress;
pub mod yaml;

use crate::report::{Report, RuleInfo, Severity};
use crate::util::fs;
use engine::apply_suppressions;
pub use engine::{Located, evaluate, inline_suppressions};
pub use lang::Exposure;
use lang::{PolicyError, Rule};
use model::File;
use read::display_path;
pub use read::{Read, collect_files, parse_text, read_file};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use suppress::{Date, Suppression};

/// Whether a rule id matches a pattern: the exact id, or a prefix ending in `*` (`k8s/*`), as
/// suppressions and threat-model controls name rules.
pub fn id_matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

/// The built-in policy packs, embedded so the binary is self-contained.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "torchserve.toml",
        include_str!("../../policies/check/torchserve.toml"),
    ),
    (
        "triton.toml",
        include_str!("../../policies/check/triton.toml"),
    ),
    ("ray.toml", include_str!("../../policies/check/ray.toml")),
    (
        "ollama.toml",
        include_str!("../../policies/check/ollama.toml"),
    ),
    ("vllm.toml", include_str!("../../policies/check/vllm.toml")),
    (
        "huggingface.toml",
        include_str!("../../policies/check/huggingface.toml"),
    ),
    (
        "mlflow.toml",
        include_str!("../../policies/check/mlflow.toml"),
    ),
    (
        "jupyter.toml",
        include_str!("../../policies/check/jupyter.toml"),
    ),
    (
        "pytorch.toml",
        include_str!("../../policies/check/pytorch.toml"),
    ),
    (
        "kubernetes.toml",
        include_str!("../../policies/check/kubernetes.toml"),
    ),
    (
        "supply-chain.toml",
        include_str!("../../policies/check/supply-chain.toml"),
    ),
    (
        "docker.toml",
        include_str!("../../policies/check/docker.toml"),
    ),
    (
        "servers.toml",
        include_str!("../../policies/check/servers.toml"),
    ),
];

/// Largest config file read (a larger one is reported, not checked).
pub const MAX_FILE: u64 = 16 << 20;

/// Errors that stop `check` from running (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("rule `{id}` is defined twice: in {first} and in {second}; rule ids must be unique")]
    DuplicateRule {
        id: String,
        first: String,
        second: String,
    },
    #[error("cannot read policy `{path}`: {source}")]
    PolicyIo {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Read(#[from] fs::ReadError),
    #[error("`{path}` does not exist; check the path")]
    NoSuchPath { path: String },
    #[error("cannot walk `{path}`: {message}")]
    Walk { path: String, message: String },
    #[error(
        "no config files found in {paths}; modelsec check reads Kubernetes/compose YAML, JSON, TOML, \
         .properties, INI, .env, Dockerfiles, systemd units, Jupyter configs and requirements files"
    )]
    NothingToCheck { paths: String },
}

/// The policy set: built-in rules plus any the user adds.
#[derive(Clone, Debug)]
pub struct PolicySet {
    pub rules: Vec<Rule>,
}

impl PolicySet {
    /// The embedded rules only.
    pub fn builtin() -> Result<PolicySet, CheckError> {
        Self::load(&[])
    }

    /// Built-in rules plus every `*.toml` in `extra` (files, or directories read one level).
    pub fn load(extra: &[PathBuf]) -> Result<PolicySet, CheckError> {
        let mut rules: Vec<Rule> = Vec::new();
        let mut add = |new: Vec<Rule>| -> Result<(), CheckError> {
            for r in new {
                if let Some(prev) = rules.iter().find(|p| p.id == r.id) {
                    return Err(CheckError::DuplicateRule {
                        id: r.id.clone(),
                        first: prev.source.clone(),
                        second: r.source.clone(),
                    });
                }
                rules.push(r);
            }
            Ok(())
        };
        for (name, text) in BUILTIN {
            add(lang::load(&format!("builtin:policies/check/{name}"), text)?)?;
        }
        for p in extra {
            let files: Vec<PathBuf> = if p.is_dir() {
                let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|source| CheckError::PolicyIo {
                        path: p.display().to_string(),
                        source,
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|e| e == "toml"))
                    .collect();
                v.sort();
                v
            } else {
                vec![p.clone()]
            };
            for f in files {
                let text = fs::read_text(&f, fs::MAX_CONFIG_BYTES)?;
                add(lang::load(&f.display().to_string(), &text)?)?;
            }
        }
        Ok(PolicySet { rules })
    }

    /// The rules as report catalogue entries (for SARIF rule metadata).
    pub fn catalogue(&self) -> Vec<RuleInfo> {
        let mut out: Vec<RuleInfo> = rules::ALL.iter().map(RuleInfo::from).collect();
        out.extend(self.rules.iter().map(|r| RuleInfo {
            id: r.id.clone(),
            description: r.title.clone(),
            severity: r.severity,
            help: r.remediation.trim().to_string(),
            help_uri: r.refs.docs.clone(),
        }));
        out
    }
}

/// Suppressions from `config`, or from `./.modelsec.toml` when no file is given and that one
/// exists.
pub fn load_suppressions(config: Option<&Path>) -> Result<Vec<Suppression>, CheckError> {
    let default = Path::new(".modelsec.toml");
    let path = match config {
        Some(p) => p,
        None if default.is_file() => default,
        None => return Ok(Vec::new()),
    };
    let text = fs::read_text(path, fs::MAX_CONFIG_BYTES)?;
    Ok(suppress::load_config(&path.display().to_string(), &text)?)
}

/// What `check` is asked to do.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    /// Drop findings below this severity.
    pub min_severity: Severity,
    /// Honour `# modelsec:ignore` comments and `modelsec.dev/ignore` annotations.
    pub inline_suppressions: bool,
    /// Suppressions from a `.modelsec.toml` (already loaded).
    pub suppressions: Vec<Suppression>,
    /// Threat-model exposure that escalates rule severities (`internet`, `internal`, `local`).
    pub exposure: Option<Exposure>,
    /// The date expiry is judged against.
    pub today: Date,
    /// Rendered input read from standard input (`check -`): the name to report it under, and
    /// its text.
    pub stdin: Option<(String, String)>,
    /// KServe version whose built-in runtimes and defaults are assumed.
    pub kserve_version: [u64; 2],
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            paths: vec![],
            min_severity: Severity::Info,
            inline_suppressions: true,
            suppressions: vec![],
            exposure: None,
            today: Date::today(),
            stdin: None,
            kserve_version: model::KSERVE_DEFAULT_VERSION,
        }
    }
}

/// How a rule fared: on how many subjects it applied, and how many failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RuleOutcome {
    pub applied: usize,
    pub failed: usize,
    /// Failures waived by a valid suppression.
    pub suppressed: usize,
}

/// The report plus per-rule outcomes (what `threats` needs).
pub struct CheckResult {
    pub report: Report,
    pub outcomes: BTreeMap<String, RuleOutcome>,
}

/// Run `check` over `opts.paths` with `policy`.
pub fn check(policy: &PolicySet, opts: &CheckOptions) -> Result<CheckResult, CheckError> {
    let paths = collect_files(&opts.paths)?;
    let mut report = Report::with_rules("check", policy.catalogue());
    report.targets = opts.paths.iter().map(|p| display_path(p)).collect();
    report
        .targets
        .extend(opts.stdin.as_ref().map(|(name, _)| name.clone()));
    let reads: Vec<Read> = {
        use rayon::prelude::*;
        paths.par_iter().map(|p| read_file(p)).collect()
    };
    let mut files = Vec::new();
    let mut unrecognised = 0usize;
    let mut problems = 0usize;
    let stdin = opts.stdin.as_ref().map(|(name, text)| {
        // Rendered manifests (helm template, kustomize build) are YAML whatever the name.
        let forced = formats::detect(name, text)
            .is_none()
            .then_some(formats::Format::Yaml);
        parse_text(name, text.clone(), forced)
    });
    for r in reads.into_iter().chain(stdin) {
        match r {
            Read::File(f) => files.push(f),
            Read::Problem(f) => {
                problems += 1;
                report.push(f)
            }
            Read::Unrecognised(f) => {
                unrecognised += 1;
                report.push(f)
            }
        }
    }
    if files.is_empty() && problems == 0 {
        return Err(CheckError::NothingToCheck {
            paths: report.targets.join(", "),
        });
    }
    let result = run(policy, opts, files, &mut report);
    report.fact("files_unrecognised", unrecognised);
    report.fact("files_unreadable", problems);
    Ok(CheckResult {
        outcomes: result,
        report,
    })
}

/// Evaluate already-read files into `report`; returns per-rule outcomes.
pub fn run(
    policy: &PolicySet,
    opts: &CheckOptions,
    files: Vec<File>,
    report: &mut Report,
) -> BTreeMap<String, RuleOutcome> {
    // Links need every file; subjects are built, judged and dropped one file at a time, so
    // memory holds the parsed documents plus one file's subjects per thread.
    use rayon::prelude::*;
    type Part = (
        Vec<Located>,
        BTreeMap<String, RuleOutcome>,
        Vec<Suppression>,
        usize,
        Vec<serde_json::Value>,
    );
    let mut links = model::links(&files);
    links.kserve_version = opts.kserve_version;
    let parts: Vec<Part> = (0..files.len())
        .into_par_iter()
        .map(|fi| {
            let mut subjects = model::file_subjects(&files, fi, &links);
            let skipped: Vec<serde_json::Value> = subjects
                .iter()
                .filter(|s| s.target == model::SKIPPED)
                .map(|s| serde_json::json!({ "path": files[s.file].path, "line": s.anchor.line, "what": s.resource }))
                .collect();
            subjects.retain(|s| s.target != model::SKIPPED);
            let (found, outcomes) = evaluate(&policy.rules, &files, &subjects, opts.exposure);
            let sups = if opts.inline_suppressions {
                inline_suppressions(&files, &subjects)
            } else {
                vec![]
            };
            (found, outcomes, sups, subjects.len(), skipped)
        })
        .collect();
    let mut findings = Vec::new();
    let mut outcomes: BTreeMap<String, RuleOutcome> = policy
        .rules
        .iter()
        .map(|r| (r.id.clone(), RuleOutcome::default()))
        .collect();
    let mut sups = opts.suppressions.clone();
    let mut subject_count = 0;
    let mut skipped = Vec::new();
    for (f, o, s, n, k) in parts {
        findings.extend(f);
        for (id, x) in o {
            let e = outcomes.entry(id).or_default();
            e.applied += x.applied;
            e.failed += x.failed;
        }
        sups.extend(s);
        subject_count += n;
        skipped.extend(k);
    }
    let meta = apply_suppressions(&mut findings, &sups, opts.today, &mut outcomes);
    let mut by_format: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &files {
        *by_format.entry(f.format.as_str()).or_default() += 1;
    }
    report.fact("files_checked", files.len());
    report.fact(
        "formats",
        serde_json::to_value(&by_format).unwrap_or_default(),
    );
    report.fact("subjects", subject_count);
    // Never silent: what was seen but not judged, and why.
    report.fact("skipped", serde_json::Value::Array(skipped));
    report.fact(
        "kserve_runtimes",
        format!(
            "built-in ServingRuntimes and webhook defaults of KServe {}.{} (--kserve-version)",
            opts.kserve_version[0], opts.kserve_version[1]
        ),
    );
    report.fact("rules", policy.rules.len());
    if let Some(e) = &opts.exposure {
        report.fact("exposure", e.as_str());
    }
    report.fact(
        "inline_suppressions",
        if opts.inline_suppressions {
            "honoured"
        } else {
            "ignored (--no-inline-suppressions)"
        },
    );
    for (f, ..) in findings {
        report.push(f);
    }
    for f in meta {
        report.push(f);
    }
    let min = opts.min_severity;
    report.findings.retain(|f| f.severity >= min);
    report.finish();
    outcomes
}

/// Result of running one rule's inline test cases.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TestFailure {
    pub rule: String,
    pub origin: String,
    pub expected: &'static str,
    pub got: String,
}

/// Run every rule's inline cases: a `fail` case must produce a finding of that rule, a `pass`
/// case none.
pub fn run_tests(policy: &PolicySet) -> (usize, Vec<TestFailure>) {
    let mut count = 0;
    let mut failures = Vec::new();
    for rule in &policy.rules {
        for t in &rule.tests {
            count += 1;
            let expected = if t.expect_fail { "fail" } else { "pass" };
            let file = match parse_text(&t.file, t.input.clone(), None) {
                Read::File(f) => f,
                Read::Problem(f) | Read::Unrecognised(f) => {
                    failures.push(TestFailure {
                        rule: rule.id.clone(),
                        origin: t.origin.clone(),
                        expected,
                        got: format!("input not checkable: {}", f.message),
                    });
                    continue;
                }
            };
            let files = vec![file];
            let subjects = model::subjects(&files);
            let (found, outcomes) = evaluate(std::slice::from_ref(rule), &files, &subjects, None);
            let failed = !found.is_empty();
            if failed != t.expect_fail {
                let o = outcomes.get(&rule.id).cloned().unwrap_or_default();
                failures.push(TestFailure {
                    rule: rule.id.clone(),
                    origin: t.origin.clone(),
                    expected,
                    got: if failed {
                        format!("fail: {}", found[0].0.message)
                    } else if o.applied == 0 {
                        "pass (the rule did not apply: no subject matched its target and `when`)"
                            .into()
                    } else {
                        "pass".into()
                    },
                });
            }
        }
    }
    (count, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policies_load() {
        let p = PolicySet::builtin().unwrap();
        assert!(p.rules.len() >= 35, "{} rules", p.rules.len());
    }

    #[test]
    fn every_builtin_rule_has_passing_and_failing_cases_that_hold() {
        let p = PolicySet::builtin().unwrap();
        for r in &p.rules {
            assert!(
                r.tests.iter().any(|t| t.expect_fail),
                "{} has no failing case",
                r.id
            );
            assert!(
                r.tests.iter().any(|t| !t.expect_fail),
                "{} has no passing case",
                r.id
            );
        }
        let (n, failures) = run_tests(&p);
        assert!(n >= 70);
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn doc_of_line_counts_separators() {
        use read::doc_of_line;
        let t = "a: 1\n---\n# modelsec:ignore x\nb: 2\n---\nc: 3\n";
        assert_eq!(doc_of_line(t, 1), 0);
        assert_eq!(doc_of_line(t, 3), 1);
        assert_eq!(doc_of_line(t, 6), 2);
        assert_eq!(doc_of_line("---\na: 1\n", 2), 0);
    }
}
