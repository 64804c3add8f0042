//! The policy language: `[[rule]]` tables in TOML, validated with every error pointing at
//! file:line:column, compiled to [`Rule`]s the engine evaluates.
//!
//! ```toml
//! [[rule]]
//! id          = "ollama/host-all-interfaces"        # stable, <product>/<kebab-case>
//! title       = "Ollama listens on every interface"
//! severity    = "high"                              # info | low | medium | high | critical
//! target      = "container"                         # or a list; see model.rs for targets
//! message     = "OLLAMA_HOST is {value}: …"        # {value} {path} {resource}
//! remediation = "Leave OLLAMA_HOST unset …"
//! when  = { path = "program", op = "equals", value = "ollama" }    # precondition (optional)
//! fail_when = { path = "env.OLLAMA_HOST", op = "bind_all", default = "127.0.0.1:11434" }
//! escalate = { internet = "critical" }             # severity by threat-model exposure
//! refs = { ncsc = ["…"], atlas = ["AML.T0040"], owasp = ["LLM10:2025"], cwe = [], cve = [], docs = "https://…" }
//!
//! anchor = "cmdline"                             # where to point when the key is absent (optional)
//! report = "each"                                  # one finding per offending value (optional)
//!
//! [[rule.raise]]                                   # conditional severity
//! severity = "critical"
//! when = { path = "ports[*]", op = "regex", value = "^11434:" }
//!
//! [[rule.test]]                                    # inline cases, run by `modelsec rules --test`
//! expect = "fail"
//! file   = "Dockerfile"
//! input  = "FROM ollama/ollama\nENV OLLAMA_HOST=0.0.0.0\n"
//! ```
//!
//! A condition is `{ all = [...] }`, `{ any = [...] }`, `{ not = {...} }` or a leaf
//! `{ path, op, value?, default?, quantifier? }`; `path` may be a list of alternatives (the first
//! one present is used). A rule states either `check`, the compliant condition, or `fail_when`,
//! the violation: a subject fails when its target matches, `when` holds, and `check` does not
//! (or `fail_when` does).

mod eval;
mod load;
mod values;

pub use eval::Evidence;
pub(crate) use load::{PolicyError, string_or_list};
pub use load::{RefsRaw, load, single_error};
pub use values::{
    allows_below, binds_all, embedded_secret, falsy, is_placeholder, quantity, secret_literal,
    truthy, unresolved, url_password, version,
};

use super::select::Selector;
use crate::report::Severity;
use regex::Regex;

// ---------------------------------------------------------------------------------------------
// The compiled form.

/// Every target a rule may name, besides `k8s:<Kind>`.
pub const TARGETS: &[&str] = &[
    "container",
    "pod",
    "compose",
    "yaml",
    "json",
    "toml",
    "properties",
    "ini",
    "systemd",
    "torchserve",
    "jupyter",
    "requirements",
    "helm-values",
];

/// Where a deployment can be reached from: a threat model's exposure, by which rules escalate
/// their severity.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    /// Reachable from the internet.
    Internet,
    /// Reachable inside the organisation's network.
    Internal,
    /// Reachable from the host only.
    Local,
}

impl Exposure {
    /// Every exposure.
    pub const ALL: [Exposure; 3] = [Exposure::Internet, Exposure::Internal, Exposure::Local];

    /// The lowercase name, as policies and threat models write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Exposure::Internet => "internet",
            Exposure::Internal => "internal",
            Exposure::Local => "local",
        }
    }

    /// The exposure with this lowercase name.
    pub fn parse(name: &str) -> Option<Exposure> {
        Exposure::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl std::fmt::Display for Exposure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug)]
pub enum Op {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Regex(Regex),
    NotRegex(Regex),
    Exists,
    Absent,
    Truthy,
    Falsy,
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Contains(String),
    NotContains(String),
    VersionLt(Vec<u64>),
    VersionGte(Vec<u64>),
    AllowsBelow(Vec<u64>),
    BindAll,
    IsCommit,
    Empty,
    Secret,
    EmbeddedSecret,
}

/// The operators, with whether they take a `value` and a one-line meaning (for docs/errors).
pub const OPS: &[(&str, bool, &str)] = &[
    ("equals", true, "the text equals the value"),
    ("not_equals", true, "the text differs from the value"),
    ("in", true, "the text is one of a list"),
    ("not_in", true, "the text is none of a list"),
    ("regex", true, "the text matches a regular expression"),
    (
        "not_regex",
        true,
        "the text does not match a regular expression",
    ),
    ("exists", false, "the key is present"),
    ("absent", false, "the key is not present"),
    ("truthy", false, "1, true, yes, on, y (any case)"),
    ("falsy", false, "0, false, no, off, n (any case)"),
    (
        "gt",
        true,
        "a number or Kubernetes quantity (500m, 4Gi) greater than the value",
    ),
    ("gte", true, "… greater than or equal"),
    ("lt", true, "… less than"),
    ("lte", true, "… less than or equal"),
    (
        "contains",
        true,
        "a list holds the value, or a text contains it",
    ),
    ("not_contains", true, "neither"),
    (
        "version_lt",
        true,
        "a version (1.2.3, v1.2) older than the value",
    ),
    ("version_gte", true, "a version at least the value"),
    (
        "allows_below",
        true,
        "a requirement specifier (>=2.0,<3) admits a version older than the value",
    ),
    (
        "bind_all",
        false,
        "an address binds every interface (0.0.0.0, ::, *, empty host) or a public IP",
    ),
    ("is_commit", false, "a 40-hex-digit commit hash"),
    ("empty", false, "an empty text, null or empty collection"),
    (
        "secret",
        false,
        "a literal secret: not a reference ($VAR, {{ }}), a placeholder (changeme, <token>, xxxx), a flag (yes/true) or a path",
    ),
    (
        "embedded_secret",
        false,
        "the text holds a well-known token (hf_, sk-, AKIA, ghp_, nvapi-) or a URL with a literal password",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    Any,
    All,
}

#[derive(Clone, Debug)]
pub struct Leaf {
    pub paths: Vec<Selector>,
    pub op: Op,
    pub default: Option<String>,
    pub quantifier: Quantifier,
}

#[derive(Clone, Debug)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Leaf(Box<Leaf>),
}

/// An inline test case.
#[derive(Clone, Debug)]
pub struct TestCase {
    pub expect_fail: bool,
    pub file: String,
    pub input: String,
    /// Where it was written (`file:line`).
    pub origin: String,
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    /// `report = "each"`: one finding per offending value (every secret), not one per subject.
    pub each: bool,
    /// Where a finding points when the deciding key is absent (first path present), before the
    /// subject's own anchor: the line that enables the risk (`--trust-remote-code`, the command).
    pub anchor: Vec<Selector>,
    pub title: String,
    pub severity: Severity,
    pub targets: Vec<String>,
    pub message: String,
    pub remediation: String,
    pub when: Option<Cond>,
    pub check: Cond,
    pub raise: Vec<(Severity, Cond)>,
    pub escalate: Vec<(Exposure, Severity)>,
    pub refs: RefsRaw,
    pub tests: Vec<TestCase>,
    /// The policy file it came from (`builtin:…` for embedded ones).
    pub source: String,
}

impl Rule {
    pub fn applies_to(&self, target: &str) -> bool {
        self.targets.iter().any(|t| t == target)
    }
}
