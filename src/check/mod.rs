//! `check`: deployment configs against secure-default rules written in TOML.
//!
//! Files are recognised ([`formats`]), parsed into position-carrying trees ([`doc`]), turned
//! into subjects with `env`/`argv` views and cross-document links ([`model`]), and every rule of
//! the policy set ([`lang`]) is evaluated on every subject of its targets. Suppressions
//! ([`suppress`]) need a reason and an expiry date.

pub mod doc;
pub mod formats;
pub mod lang;
pub mod model;
pub mod rules;
pub mod select;
pub mod suppress;

use crate::report::{Finding, Location, Report, RuleInfo, Severity};
use crate::util::fs;
pub use lang::Exposure;
use lang::{PolicyError, Rule};
use model::{File, Subject};
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

fn skip_dir(name: &str) -> bool {
    matches!(
        name,
        ".git" | "target" | "node_modules" | ".venv" | "venv" | "__pycache__" | ".terraform"
    )
}

/// Expand the given paths into files (directories are walked; hidden tool dirs skipped).
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CheckError> {
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(CheckError::NoSuchPath {
                path: p.display().to_string(),
            });
        }
        if p.is_dir() {
            let walker = walkdir::WalkDir::new(p)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0
                        || !(e.file_type().is_dir() && skip_dir(&e.file_name().to_string_lossy()))
                });
            for e in walker {
                let e = e.map_err(|e| CheckError::Walk {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
                if e.file_type().is_file() {
                    out.push(e.into_path());
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn display_path(p: &Path) -> String {
    p.to_string_lossy().trim_start_matches("./").to_string()
}

/// Outcome of reading one file.
pub enum Read {
    File(File),
    Problem(Finding),
    Unrecognised(Finding),
}

/// Read and parse one file; problems become findings (fail closed), never errors.
pub fn read_file(path: &Path) -> Read {
    let shown = display_path(path);
    let loc = Location::path(shown.clone());
    // Capped, regular files only: a device or FIFO given as a path is refused, not read forever.
    let bytes = match fs::read_bytes(path, MAX_FILE) {
        Ok(b) => b,
        Err(fs::ReadError::TooLarge { .. }) => {
            return Read::Problem(
                Finding::new(
                    &rules::UNREADABLE,
                    format!(
                        "{shown} is over the 16 MiB limit for a config file; it was not checked"
                    ),
                )
                .at(loc),
            );
        }
        Err(e) => {
            return Read::Problem(
                Finding::new(&rules::UNREADABLE, format!("cannot read {shown}: {e}")).at(loc),
            );
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let format = formats::detect(&shown, "");
            if format.is_none() {
                return Read::Unrecognised(
                    Finding::new(
                        &rules::UNRECOGNISED,
                        format!("{shown} is not a text config file; not checked"),
                    )
                    .at(loc),
                );
            }
            return Read::Problem(
                Finding::new(
                    &rules::UNREADABLE,
                    format!(
                        "{shown} is not UTF-8 (invalid byte at offset {}); it was not checked",
                        e.utf8_error().valid_up_to()
                    ),
                )
                .at(Location {
                    offset: Some(e.utf8_error().valid_up_to() as u64),
                    ..loc
                }),
            );
        }
    };
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    parse_text(&shown, text, None)
}

/// Parse text as the file `shown` (format by name and content, or forced).
pub fn parse_text(shown: &str, text: String, forced: Option<formats::Format>) -> Read {
    let loc = Location::path(shown.to_string());
    let Some(format) = forced.or_else(|| formats::detect(shown, &text)) else {
        return Read::Unrecognised(
            Finding::new(
                &rules::UNRECOGNISED,
                format!("{shown} is not a config format modelsec reads; not checked"),
            )
            .at(loc),
        );
    };
    let template = matches!(format, formats::Format::Yaml)
        && text.contains("{{")
        && [".Values", ".Release", ".Chart", "include \"", "toYaml"]
            .iter()
            .any(|m| text.contains(m));
    if template {
        let line = text.lines().position(|l| l.contains("{{")).unwrap_or(0) + 1;
        return Read::Problem(
            Finding::new(
                &rules::PARSE_ERROR,
                format!("{shown} is a Helm template, not a manifest: render it first (helm template … > rendered.yaml) and check the output"),
            )
            .at(Location {
                line: Some(line as u64),
                column: Some(1),
                ..loc
            }),
        );
    }
    match formats::parse(format, &text) {
        Ok(docs) => {
            // `kind: List` (kubectl get -o yaml/json) holds the objects in `items`.
            let had_list = docs.iter().any(|d| {
                d.get("kind").and_then(doc::Node::as_str) == Some("List")
                    && d.get("items").is_some()
            });
            let docs: Vec<doc::Node> = docs
                .into_iter()
                .flat_map(|d| {
                    let is_list = d.get("kind").and_then(doc::Node::as_str) == Some("List")
                        && d.get("items").is_some();
                    if is_list {
                        d.get("items")
                            .map(|i| i.items().to_vec())
                            .unwrap_or_default()
                    } else {
                        vec![d]
                    }
                })
                .collect();
            let yaml = matches!(format, formats::Format::Yaml);
            let directives = formats::comment_directives(&text)
                .into_iter()
                .map(|(line, d)| {
                    // In a List the documents are its items: a comment covers the whole file.
                    let doc = (yaml && !had_list).then(|| doc_of_line(&text, line));
                    (line, doc, d)
                })
                .collect();
            Read::File(File {
                path: shown.to_string(),
                format,
                directives,
                docs,
            })
        }
        Err(e) => {
            let helm = text.contains("{{") && matches!(format, formats::Format::Yaml);
            let msg = if helm {
                format!(
                    "{shown} is a template ({{{{ … }}}}), not YAML: {}; render it first (helm template) and check the output",
                    e.message
                )
            } else {
                format!(
                    "{shown} is not valid {}: {}; it was not checked",
                    format.as_str(),
                    e.message
                )
            };
            Read::Problem(Finding::new(&rules::PARSE_ERROR, msg).at(Location {
                line: e.pos.known().then_some(e.pos.line as u64),
                column: e.pos.known().then_some(e.pos.col as u64),
                ..loc
            }))
        }
    }
}

fn render_message(template: &str, value: &str, path: &str, resource: &str) -> String {
    template
        .replace("{value}", value)
        .replace("{path}", path)
        .replace("{resource}", resource)
}

/// A finding with the file index, document index and resource it came from.
pub type Located = (Finding, usize, usize, String);

/// Evaluate every rule on every subject; one finding per failing (rule, subject).
pub fn evaluate(
    rules: &[Rule],
    files: &[File],
    subjects: &[Subject],
    exposure: Option<Exposure>,
) -> (Vec<Located>, BTreeMap<String, RuleOutcome>) {
    let per_rule: Vec<(Vec<Located>, RuleOutcome)> = rules
        .iter()
        .map(|rule| {
            let mut found = Vec::new();
            let mut outcome = RuleOutcome::default();
            for s in subjects.iter().filter(|s| rule.applies_to(&s.target)) {
                if let Some(w) = &rule.when
                    && !w.eval(&s.root).0
                {
                    continue;
                }
                outcome.applied += 1;
                let (ok, ev) = rule.check.eval(&s.root);
                if ok {
                    continue;
                }
                outcome.failed += 1;
                let file = &files[s.file];
                let (value, path, at) = match &ev {
                    Some(e) => {
                        let v = match (&e.value, e.defaulted) {
                            (Some(v), false) if v.is_empty() => "empty".to_string(),
                            (Some(v), false) => format!("`{v}`"),
                            (Some(v), true) => format!("not set (the default is `{v}`)"),
                            (None, _) => "not set".to_string(),
                        };
                        (v, e.path.clone(), e.at)
                    }
                    None => ("not set".into(), String::new(), Default::default()),
                };
                let at = if at.known() { at } else { s.anchor };
                let mut severity = rule.severity;
                if let Some(exp) = exposure
                    && let Some((_, sev)) = rule.escalate.iter().find(|(e, _)| *e == exp)
                {
                    severity = *sev;
                }
                for (sev, cond) in &rule.raise {
                    if cond.eval(&s.root).0 {
                        severity = severity.max(*sev);
                    }
                }
                let message = format!(
                    "{}: {}",
                    s.resource,
                    render_message(&rule.message, &value, &path, &s.resource)
                );
                let finding = Finding {
                    rule_id: rule.id.clone(),
                    severity,
                    message,
                    location: Some(Location {
                        path: file.path.clone(),
                        line: at.known().then_some(at.line as u64),
                        column: at.known().then_some(at.col as u64),
                        ..Location::default()
                    }),
                    help: Some(rule.remediation.trim().to_string()),
                    suppressed: None,
                    reproducer: None,
                };
                found.push((finding, s.file, s.doc, s.resource.clone()));
            }
            (found, outcome)
        })
        .collect();
    let mut findings = Vec::new();
    let mut outcomes = BTreeMap::new();
    for (rule, (f, o)) in rules.iter().zip(per_rule) {
        findings.extend(f);
        outcomes.insert(rule.id.clone(), o);
    }
    (findings, outcomes)
}

/// Which document of a YAML stream a line belongs to (documents split at `---` lines).
fn doc_of_line(text: &str, line: usize) -> usize {
    let mut doc = 0usize;
    let mut seen_content = false;
    for (i, l) in text.lines().enumerate() {
        if i + 1 >= line {
            break;
        }
        if l.starts_with("---") {
            if seen_content {
                doc += 1;
                seen_content = false;
            }
        } else if !l.trim().is_empty() && !l.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    doc
}

/// Collect suppressions written in the files (comments) and on objects (annotations).
pub fn inline_suppressions(files: &[File], subjects: &[Subject]) -> Vec<Suppression> {
    let mut fis: Vec<usize> = subjects.iter().map(|s| s.file).collect();
    fis.dedup();
    let mut out = Vec::new();
    for fi in (0..files.len()).filter(|fi| fis.contains(fi)) {
        let f = &files[fi];
        for (line, doc, text) in &f.directives {
            let mut s = suppress::parse_directive(text, "inline", &f.path, *line as u32, 1);
            s.file = Some(fi);
            s.doc = *doc;
            out.push(s);
        }
    }
    let mut seen = std::collections::HashSet::new();
    for s in subjects {
        for (pos, text) in &s.annotations {
            let mut sup = suppress::parse_directive(
                text,
                "annotation",
                &files[s.file].path,
                pos.line,
                pos.col,
            );
            if !seen.insert((s.file, pos.line, pos.col, s.resource.clone())) {
                continue;
            }
            sup.file = Some(s.file);
            sup.doc = Some(s.doc);
            out.push(sup);
        }
    }
    out
}

/// Apply suppressions: valid ones waive matching findings; expired and invalid ones become
/// findings themselves.
fn apply_suppressions(
    findings: &mut [Located],
    sups: &[Suppression],
    today: Date,
    outcomes: &mut BTreeMap<String, RuleOutcome>,
) -> Vec<Finding> {
    let mut meta = Vec::new();
    for s in sups {
        let loc = Location {
            path: s.origin_path.clone(),
            line: (s.line > 0).then_some(s.line as u64),
            column: (s.col > 0).then_some(s.col as u64),
            ..Location::default()
        };
        let what = format!("{} suppression of {}", s.kind, s.rules.join(", "));
        if let Some(p) = &s.problem {
            meta.push(
                Finding::new(
                    &rules::SUPPRESSION_INVALID,
                    format!("{what} {p}; it hides nothing"),
                )
                .at(loc),
            );
            continue;
        }
        let expires = s.expires.expect("valid suppressions have a date");
        if expires.to_days() > today.to_days() + suppress::MAX_DAYS {
            meta.push(
                Finding::new(
                    &rules::SUPPRESSION_INVALID,
                    format!(
                        "{what} expires on {expires}, more than {} days ahead; suppressions are re-reviewed at least yearly, so it hides nothing",
                        suppress::MAX_DAYS
                    ),
                )
                .at(loc),
            );
            continue;
        }
        if expires < today {
            meta.push(
                Finding::new(
                    &rules::SUPPRESSION_EXPIRED,
                    format!("{what} expired on {expires} (reason was: {}); its findings are reported again", s.reason),
                )
                .at(loc),
            );
            continue;
        }
        for (f, file, doc, resource) in findings.iter_mut() {
            if f.suppressed.is_some() || !s.matches_rule(&f.rule_id) {
                continue;
            }
            let path = f.location.as_ref().map(|l| l.path.as_str()).unwrap_or("");
            let applies = match s.kind {
                "config" => {
                    (s.paths.is_empty() || s.paths.iter().any(|g| g.is_match(path)))
                        && s.resource
                            .as_ref()
                            .is_none_or(|r| resource == r || resource.starts_with(&format!("{r} ")))
                }
                _ => s.file == Some(*file) && s.doc.is_none_or(|d| d == *doc),
            };
            if applies {
                f.suppressed = Some(crate::report::Suppression {
                    kind: crate::report::SuppressionKind::from_name(s.kind)
                        .unwrap_or(crate::report::SuppressionKind::Config),
                    reason: s.reason.clone(),
                    expires: expires.to_string(),
                    origin: format!("{}:{}", s.origin_path, s.line),
                });
                if let Some(o) = outcomes.get_mut(&f.rule_id) {
                    o.suppressed += 1;
                }
            }
        }
    }
    meta
}

/// Run `check` over `opts.paths` with `policy`.
pub fn check(policy: &PolicySet, opts: &CheckOptions) -> Result<CheckResult, CheckError> {
    let paths = collect_files(&opts.paths)?;
    let mut report = Report::with_rules("check", policy.catalogue());
    report.targets = opts.paths.iter().map(|p| display_path(p)).collect();
    let reads: Vec<Read> = {
        use rayon::prelude::*;
        paths.par_iter().map(|p| read_file(p)).collect()
    };
    let mut files = Vec::new();
    let mut unrecognised = 0usize;
    let mut problems = 0usize;
    for r in reads {
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
    );
    let links = model::links(&files);
    let parts: Vec<Part> = (0..files.len())
        .into_par_iter()
        .map(|fi| {
            let subjects = model::file_subjects(&files, fi, &links);
            let (found, outcomes) = evaluate(&policy.rules, &files, &subjects, opts.exposure);
            let sups = if opts.inline_suppressions {
                inline_suppressions(&files, &subjects)
            } else {
                vec![]
            };
            (found, outcomes, sups, subjects.len())
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
    for (f, o, s, n) in parts {
        findings.extend(f);
        for (id, x) in o {
            let e = outcomes.entry(id).or_default();
            e.applied += x.applied;
            e.failed += x.failed;
        }
        sups.extend(s);
        subject_count += n;
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
        let t = "a: 1\n---\n# modelsec:ignore x\nb: 2\n---\nc: 3\n";
        assert_eq!(doc_of_line(t, 1), 0);
        assert_eq!(doc_of_line(t, 3), 1);
        assert_eq!(doc_of_line(t, 6), 2);
        assert_eq!(doc_of_line("---\na: 1\n", 2), 0);
    }
}
