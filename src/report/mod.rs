//! One report type for every command that judges something (`verify`, `scan`, `check`, `fuzz`),
//! and the three ways to show it: human text, JSON and SARIF 2.1.0.
//!
//! Findings are data, not errors: a command that ran to the end returns a [`Report`], and the
//! exit code comes from [`Report::exit_status`], never from the output format. A command that
//! could not run returns an error instead (exit 2).

pub mod diag;
pub mod escape;
mod human;
mod junit;
mod sarif;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Declare a catalogue of built-in rules: one `const` per rule plus `ALL`.
#[macro_export]
macro_rules! rule_catalogue {
    ($( $konst:ident = ($id:literal, $sev:ident, $desc:literal, $help:literal); )*) => {
        $( #[doc = $desc] pub const $konst: Rule = Rule::builtin($id, Severity::$sev, $desc, $help); )*
        /// Every rule of this catalogue.
        pub const ALL: &[Rule] = &[ $( $konst ),* ];
    };
}

/// Version of the JSON report layout; bumped on any breaking change to it.
pub const SCHEMA_VERSION: u32 = 1;

/// How bad a finding is. Ordered from least to most severe.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; does not fail the run.
    Info,
    /// A weakness; fails the run.
    Low,
    /// Fails the run.
    Medium,
    /// Fails the run.
    High,
    /// Fails the run; an exploitable or integrity-breaking problem.
    Critical,
}

impl Severity {
    /// Whether a finding of this severity makes the command exit 1.
    pub fn fails(self) -> bool {
        self >= Severity::Low
    }

    /// Lowercase name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The severity named by its lowercase name (`info` … `critical`), as policy files write it.
    pub fn parse(name: &str) -> Option<Severity> {
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// The CVSS-like score GitHub code scanning reads from `security-severity`.
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Info => "0.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule from one of the catalogues (`signing::rules`, …): a stable id and what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable, namespaced, kebab-case id such as `verify/file-modified`. Never renamed.
    pub id: &'static str,
    /// One line saying what the rule detects.
    pub description: &'static str,
    /// Severity used unless a finding says otherwise.
    pub severity: Severity,
    /// What to do about a finding, in general terms.
    pub help: &'static str,
}

impl Rule {
    /// A rule of a built-in catalogue.
    pub const fn builtin(
        id: &'static str,
        severity: Severity,
        description: &'static str,
        help: &'static str,
    ) -> Rule {
        Rule {
            id,
            description,
            severity,
            help,
        }
    }
}

/// A rule as a report carries it: a built-in catalogue entry, or a rule loaded from a policy
/// file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: String,
    pub description: String,
    pub severity: Severity,
    pub help: String,
    /// Where the rule is documented, if anywhere.
    pub help_uri: Option<String>,
}

impl From<&Rule> for RuleInfo {
    fn from(r: &Rule) -> Self {
        RuleInfo {
            id: r.id.to_string(),
            description: r.description.to_string(),
            severity: r.severity,
            help: r.help.to_string(),
            help_uri: None,
        }
    }
}

/// Where a suppression was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressionKind {
    /// A `.modelsec.toml` entry (outside the file it waives).
    Config,
    /// A `# modelsec:ignore` comment in the file.
    Inline,
    /// A Kubernetes `modelsec.dev/ignore` annotation on the object.
    Annotation,
}

impl SuppressionKind {
    /// The kind named `config`, `inline` or `annotation`.
    pub fn from_name(name: &str) -> Option<SuppressionKind> {
        match name {
            "config" => Some(SuppressionKind::Config),
            "inline" => Some(SuppressionKind::Inline),
            "annotation" => Some(SuppressionKind::Annotation),
            _ => None,
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Config => "config",
            SuppressionKind::Inline => "inline",
            SuppressionKind::Annotation => "annotation",
        }
    }
}

/// Why a finding does not count: who waived it, why, and until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// Where it was written.
    pub kind: SuppressionKind,
    /// The reason given.
    pub reason: String,
    /// Last day it applies (YYYY-MM-DD).
    pub expires: String,
    /// Where it was written (`file:line`).
    pub origin: String,
}

/// Where a finding is. Every part is optional because findings come from files, archive
/// members, byte offsets inside binaries, or config keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Path of the file, as given or relative to the model root.
    pub path: String,
    /// Member inside a container (zip entry, tar member), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Byte offset from the start of the file or member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Location {
    /// A location that is just a path.
    pub fn path(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            ..Location::default()
        }
    }
}

/// One thing a command found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id from a catalogue.
    pub rule_id: String,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, specifically (names the file, the value, the expectation).
    pub message: String,
    /// Where, if it has a place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Set when a suppression waives this finding: it is reported but does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// What reproduces it, as data (fuzz: the input, the output, the seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproducer: Option<serde_json::Value>,
}

impl Finding {
    /// A finding for `rule` with the rule's severity and help text.
    pub fn new(rule: &Rule, message: impl Into<String>) -> Self {
        Finding {
            rule_id: rule.id.to_string(),
            severity: rule.severity,
            message: message.into(),
            location: None,
            help: Some(rule.help.to_string()),
            suppressed: None,
            reproducer: None,
        }
    }

    /// Attach a reproducer.
    pub fn with_reproducer(mut self, reproducer: serde_json::Value) -> Self {
        self.reproducer = Some(reproducer);
        self
    }

    /// Attach a location.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Override the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Override the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Name and version of the tool that made a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Always `modelsec`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Counts per severity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// `pass` when no finding fails the run, otherwise `fail`.
    pub verdict: String,
    /// Number of findings per severity name (suppressed ones not included).
    pub counts: BTreeMap<String, usize>,
    /// Number of suppressed findings.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suppressed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What a command found, plus the facts it established on the way (signer key, file counts, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Who made the report.
    pub tool: ToolInfo,
    /// The subcommand (`verify`, `scan`, …).
    pub command: String,
    /// What was examined (model path, config files).
    pub targets: Vec<String>,
    /// Facts established while running, as key → value, shown in every format.
    pub facts: BTreeMap<String, serde_json::Value>,
    /// Everything found, in a stable order.
    pub findings: Vec<Finding>,
    /// Verdict and counts, derived from `findings` by [`Report::finish`].
    pub summary: Summary,
    /// The catalogue the findings' rule ids come from (used by SARIF).
    #[serde(skip)]
    pub rules: Vec<RuleInfo>,
}

/// Outcome of a command, mapped to the process exit code by the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: ran, nothing failing found.
    Clean,
    /// 1: findings, or failed verification.
    Findings,
    /// 2: could not run.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
        }
    }
}

impl Report {
    /// An empty report for `command` whose findings come from `rules`.
    pub fn new(command: &str, rules: &[Rule]) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo::default(),
            command: command.to_string(),
            targets: Vec::new(),
            facts: BTreeMap::new(),
            findings: Vec::new(),
            summary: Summary::default(),
            rules: rules.iter().map(RuleInfo::from).collect(),
        }
    }

    /// An empty report whose catalogue holds owned rules (policy files).
    pub fn with_rules(command: &str, rules: Vec<RuleInfo>) -> Self {
        let mut r = Report::new(command, &[]);
        r.rules = rules;
        r
    }

    /// Record a fact.
    pub fn fact(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.facts.insert(key.to_string(), value.into());
    }

    /// Add a finding.
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Sort findings (most severe first, then by location and rule) and compute the summary.
    pub fn finish(&mut self) {
        // Every id a command reports is in its catalogue (and so in the registry): checked in
        // every debug build, which is what the test suite runs.
        debug_assert!(
            self.rules.is_empty()
                || self
                    .findings
                    .iter()
                    .all(|f| self.rules.iter().any(|r| r.id == f.rule_id)),
            "a `{}` finding's rule id is not in its catalogue: {:?}",
            self.command,
            self.findings
                .iter()
                .filter(|f| !self.rules.iter().any(|r| r.id == f.rule_id))
                .map(|f| &f.rule_id)
                .collect::<Vec<_>>()
        );
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| {
                    let pa = a.location.as_ref().map(|l| l.path.as_str());
                    let pb = b.location.as_ref().map(|l| l.path.as_str());
                    pa.cmp(&pb)
                })
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.message.cmp(&b.message))
        });
        let mut counts = BTreeMap::new();
        for f in self.findings.iter().filter(|f| f.suppressed.is_none()) {
            *counts.entry(f.severity.as_str().to_string()).or_insert(0) += 1;
        }
        self.summary = Summary {
            verdict: if self.failed() { "fail" } else { "pass" }.to_string(),
            counts,
            suppressed: self
                .findings
                .iter()
                .filter(|f| f.suppressed.is_some())
                .count(),
        };
    }

    /// Whether any finding fails the run.
    pub fn failed(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity.fails() && f.suppressed.is_none())
    }

    /// 0 when clean, 1 when a finding fails the run.
    pub fn exit_status(&self) -> ExitStatus {
        if self.failed() {
            ExitStatus::Findings
        } else {
            ExitStatus::Clean
        }
    }

    /// Look up a rule of this report's catalogue by id.
    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The report as a JUnit XML document (one test case per catalogue rule).
    pub fn to_junit(&self) -> String {
        junit::to_junit(self)
    }

    /// Render in `format` to `out`. JSON and SARIF write exactly one document.
    pub fn render(&self, format: Format, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Human => human::write(self, out),
            Format::Json => {
                let mut w = io::BufWriter::new(out);
                serde_json::to_writer_pretty(&mut w, self)?;
                writeln!(w)?;
                w.flush()
            }
            Format::Sarif => {
                let log = sarif::to_sarif(self);
                let mut w = io::BufWriter::new(out);
                serde_json::to_writer_pretty(&mut w, &log)?;
                writeln!(w)?;
                w.flush()
            }
        }
    }
}

/// Output format of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Text for people.
    #[default]
    Human,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Rule = Rule::builtin("test/rule", Severity::High, "a test rule", "fix it");

    #[test]
    fn exit_status_follows_severity() {
        let mut r = Report::new("verify", &[RULE]);
        r.finish();
        assert_eq!(r.exit_status(), ExitStatus::Clean);
        r.push(Finding::new(&RULE, "note only").with_severity(Severity::Info));
        r.finish();
        assert_eq!(r.exit_status(), ExitStatus::Clean);
        assert_eq!(r.summary.verdict, "pass");
        r.push(Finding::new(&RULE, "bad").at(Location::path("a.bin")));
        r.finish();
        assert_eq!(r.exit_status(), ExitStatus::Findings);
        assert_eq!(r.summary.verdict, "fail");
        assert_eq!(r.findings[0].severity, Severity::High, "most severe first");
        assert_eq!(r.summary.counts["high"], 1);
    }

    #[test]
    fn json_is_one_document() {
        let mut r = Report::new("verify", &[RULE]);
        r.push(Finding::new(&RULE, "bad"));
        r.finish();
        let mut out = Vec::new();
        r.render(Format::Json, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["findings"][0]["rule_id"], "test/rule");
        assert_eq!(v["summary"]["verdict"], "fail");
    }

    /// Every renderer on one report with every kind of field: a located finding with a
    /// member, line and byte offset, a suppressed one, one with a reproducer, and facts.
    #[test]
    fn renderer_snapshots() {
        const HIGH: Rule = Rule::builtin(
            "scan/example-high",
            Severity::High,
            "An example finding",
            "fix the example",
        );
        const INFO: Rule = Rule::builtin(
            "scan/example-info",
            Severity::Info,
            "An example note",
            "none",
        );
        let mut r = Report::new("scan", &[HIGH, INFO]);
        r.targets = vec!["models/".into()];
        r.fact("scanned", 3);
        r.fact("formats", serde_json::json!({ "pickle": 2, "zip": 1 }));
        r.push(
            Finding::new(&HIGH, "global `os.system` is called").at(Location {
                path: "models/m.pt".into(),
                member: Some("archive/data.pkl".into()),
                line: Some(3),
                column: Some(7),
                offset: Some(42),
            }),
        );
        let mut waived = Finding::new(&HIGH, "a waived finding").at(Location::path("models/b.pkl"));
        waived.suppressed = Some(Suppression {
            kind: SuppressionKind::Config,
            reason: "reviewed".into(),
            expires: "2099-01-01".into(),
            origin: ".modelsec.toml:3".into(),
        });
        r.push(waived);
        r.push(
            Finding::new(&INFO, "an input")
                .with_reproducer(serde_json::json!({ "input": [0.5, "NaN"], "seed": 1 })),
        );
        r.finish();
        for (name, format) in [
            ("human", Format::Human),
            ("json", Format::Json),
            ("sarif", Format::Sarif),
        ] {
            let mut out = Vec::new();
            r.render(format, &mut out).unwrap();
            let text = String::from_utf8(out)
                .unwrap()
                .replace(env!("CARGO_PKG_VERSION"), "[version]");
            insta::assert_snapshot!(format!("render-{name}"), text);
        }
        insta::assert_snapshot!(
            "render-junit",
            r.to_junit().replace(env!("CARGO_PKG_VERSION"), "[version]")
        );
    }
}
