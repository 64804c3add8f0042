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

use super::select::{Hit, Selector};
use crate::report::Severity;
use regex::Regex;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

// ---------------------------------------------------------------------------------------------
// The file format (serde), every table closed to unknown keys.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRaw {
    #[serde(default)]
    rule: Vec<Spanned<RuleRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleRaw {
    id: Spanned<String>,
    title: Spanned<String>,
    severity: Spanned<String>,
    target: Spanned<toml::Value>,
    message: Spanned<String>,
    remediation: String,
    #[serde(default)]
    when: Option<Spanned<CondRaw>>,
    #[serde(default)]
    check: Option<Spanned<CondRaw>>,
    #[serde(default)]
    fail_when: Option<Spanned<CondRaw>>,
    #[serde(default)]
    raise: Vec<Spanned<RaiseRaw>>,
    #[serde(default)]
    escalate: Option<Spanned<toml::Table>>,
    refs: Spanned<RefsRaw>,
    #[serde(default)]
    test: Vec<Spanned<TestRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RaiseRaw {
    severity: Spanned<String>,
    when: Spanned<CondRaw>,
}

#[derive(Deserialize, Default, Clone, Debug, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RefsRaw {
    #[serde(default)]
    pub ncsc: Vec<String>,
    #[serde(default)]
    pub atlas: Vec<String>,
    #[serde(default)]
    pub owasp: Vec<String>,
    #[serde(default)]
    pub cwe: Vec<String>,
    #[serde(default)]
    pub cve: Vec<String>,
    #[serde(default)]
    pub docs: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestRaw {
    expect: Spanned<String>,
    file: Spanned<String>,
    input: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CondRaw {
    all: Option<Vec<Spanned<CondRaw>>>,
    any: Option<Vec<Spanned<CondRaw>>>,
    not: Option<Box<Spanned<CondRaw>>>,
    path: Option<Spanned<toml::Value>>,
    op: Option<Spanned<String>>,
    value: Option<Spanned<toml::Value>>,
    default: Option<Spanned<toml::Value>>,
    quantifier: Option<Spanned<String>>,
}

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

// ---------------------------------------------------------------------------------------------
// Evaluation.

/// What decided a leaf: the path and value a finding should name and point at.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub path: String,
    pub value: Option<String>,
    pub at: super::doc::Pos,
    pub defaulted: bool,
}

pub fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "y"
    )
}

fn falsy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "0" | "false" | "no" | "off" | "n"
    )
}

/// A number or Kubernetes quantity (`500m`, `4Gi`, `1e3`, `2k`).
pub fn quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("m", 0.001),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (suf, mul) in SUFFIXES {
        if let Some(num) = s.strip_suffix(suf)
            && let Ok(v) = num.parse::<f64>()
        {
            return Some(v * mul);
        }
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `v1.2.3`, `2.6.0rc1`, `0.8.1-gpu` → `[1, 2, 3]` / `[2, 6, 0]` / `[0, 8, 1]`.
pub fn version(s: &str) -> Option<Vec<u64>> {
    let s = s.trim().trim_start_matches(['v', 'V']);
    let mut out = Vec::new();
    for part in s.split('.') {
        let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            break;
        }
        out.push(digits.parse().ok()?);
        if digits.len() != part.len() {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

fn vcmp(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Does a PEP 440 specifier admit some version older than `floor`? Only lower bounds matter:
/// `>=`, `>`, `==`, `~=`, `===`. No lower bound admits everything.
pub fn allows_below(spec: &str, floor: &[u64]) -> bool {
    let mut lower: Option<Vec<u64>> = None;
    for clause in spec.split(',') {
        let c = clause.trim();
        let (op, v) = ["===", "==", ">=", "~=", "<=", "!=", ">", "<"]
            .iter()
            .find_map(|op| c.strip_prefix(op).map(|v| (*op, v.trim())))
            .unwrap_or(("", c));
        if matches!(op, "==" | "===" | ">=" | ">" | "~=") {
            let Some(ver) = version(v.trim_end_matches(".*")) else {
                continue;
            };
            if lower.as_ref().is_none_or(|l| vcmp(&ver, l).is_gt()) {
                lower = Some(ver);
            }
        }
    }
    match lower {
        None => true,
        Some(l) => vcmp(&l, floor).is_lt(),
    }
}

/// Does an address (`0.0.0.0`, `http://0.0.0.0:8081`, `[::]:80`, `:8000`, `*`) bind every
/// interface or a public IP?
pub fn binds_all(s: &str) -> bool {
    let s = s.trim();
    let s = s.split_once("://").map(|x| x.1).unwrap_or(s);
    let s = s.split('/').next().unwrap_or(s);
    let host = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if s.matches(':').count() > 1 {
        s // bare IPv6
    } else {
        s.split(':').next().unwrap_or("")
    };
    match host {
        "" | "0.0.0.0" | "::" | "*" | "0" => true,
        h => match h.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => {
                ip.is_unspecified() || !(ip.is_loopback() || ip.is_private() || ip.is_link_local())
            }
            Ok(std::net::IpAddr::V6(ip)) => {
                let seg = ip.segments()[0];
                !(ip.is_loopback() || (seg & 0xfe00) == 0xfc00 || (seg & 0xffc0) == 0xfe80)
            }
            Err(_) => false,
        },
    }
}

fn scalar_test(op: &Op, s: &str) -> bool {
    match op {
        Op::Equals(v) => s == v,
        Op::NotEquals(v) => s != v,
        Op::In(vs) => vs.iter().any(|v| v == s),
        Op::NotIn(vs) => !vs.iter().any(|v| v == s),
        Op::Regex(re) => re.is_match(s),
        Op::NotRegex(re) => !re.is_match(s),
        Op::Exists => true,
        Op::Absent => false,
        Op::Truthy => truthy(s),
        Op::Falsy => falsy(s),
        Op::Gt(v) => quantity(s).is_some_and(|x| x > *v),
        Op::Gte(v) => quantity(s).is_some_and(|x| x >= *v),
        Op::Lt(v) => quantity(s).is_some_and(|x| x < *v),
        Op::Lte(v) => quantity(s).is_some_and(|x| x <= *v),
        Op::Contains(v) => s.contains(v.as_str()),
        Op::NotContains(v) => !s.contains(v.as_str()),
        Op::VersionLt(v) => version(s).is_some_and(|x| vcmp(&x, v).is_lt()),
        Op::VersionGte(v) => version(s).is_some_and(|x| vcmp(&x, v).is_ge()),
        Op::AllowsBelow(v) => allows_below(s, v),
        Op::BindAll => binds_all(s),
        Op::IsCommit => s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        Op::Empty => s.is_empty(),
    }
}

fn node_test(op: &Op, n: &super::doc::Node) -> bool {
    use super::doc::Kind;
    match (&n.kind, op) {
        (Kind::Scalar(s), _) => scalar_test(op, s),
        (_, Op::Exists) => true,
        (_, Op::Absent) => false,
        (Kind::Null, Op::Empty) => true,
        (Kind::Seq(items), Op::Empty) => items.is_empty(),
        (Kind::Map(entries), Op::Empty) => entries.is_empty(),
        (Kind::Seq(items), Op::Contains(v)) => items.iter().any(|i| i.as_str() == Some(v)),
        (Kind::Seq(items), Op::NotContains(v)) => !items.iter().any(|i| i.as_str() == Some(v)),
        (Kind::Null, Op::NotEquals(_) | Op::NotIn(_) | Op::NotRegex(_)) => true,
        _ => false,
    }
}

fn evidence(hit: &Hit<'_>) -> Evidence {
    Evidence {
        path: hit.path.clone(),
        value: Some(hit.node.display()),
        at: hit.at,
        defaulted: false,
    }
}

impl Leaf {
    fn eval(&self, root: &super::doc::Node) -> (bool, Option<Evidence>) {
        let mut hits = Vec::new();
        for p in &self.paths {
            hits = p.resolve(root);
            if !hits.is_empty() {
                break;
            }
        }
        let first_path = self
            .paths
            .first()
            .map(|p| p.text.clone())
            .unwrap_or_default();
        if hits.is_empty() {
            return match &self.default {
                Some(d) => (
                    scalar_test(&self.op, d),
                    Some(Evidence {
                        path: first_path,
                        value: Some(d.clone()),
                        at: Default::default(),
                        defaulted: true,
                    }),
                ),
                None => (
                    matches!(self.op, Op::Absent),
                    Some(Evidence {
                        path: first_path,
                        value: None,
                        at: Default::default(),
                        defaulted: false,
                    }),
                ),
            };
        }
        let results: Vec<bool> = hits.iter().map(|h| node_test(&self.op, h.node)).collect();
        let holds = match self.quantifier {
            Quantifier::Any => results.iter().any(|&r| r),
            Quantifier::All => results.iter().all(|&r| r),
        };
        // Point at a hit that agrees with the outcome: the one that satisfied it, or the one
        // that broke it.
        let pick = results.iter().position(|&r| r == holds).unwrap_or(0);
        (holds, Some(evidence(&hits[pick])))
    }
}

impl Cond {
    /// Whether the condition holds on `root`, and the evidence that decided it.
    pub fn eval(&self, root: &super::doc::Node) -> (bool, Option<Evidence>) {
        match self {
            Cond::Leaf(l) => l.eval(root),
            Cond::Not(c) => {
                let (b, e) = c.eval(root);
                (!b, e)
            }
            Cond::All(cs) => {
                // When all hold, the first condition is the primary one (what a message names).
                let mut first = None;
                for c in cs {
                    let (b, e) = c.eval(root);
                    if !b {
                        return (false, e);
                    }
                    first = first.or(e);
                }
                (true, first)
            }
            Cond::Any(cs) => {
                let mut first: Option<Evidence> = None;
                for c in cs {
                    let (b, e) = c.eval(root);
                    if b {
                        return (true, e);
                    }
                    // Prefer evidence with a real position (a key that is present).
                    let better = match (&first, &e) {
                        (None, _) => true,
                        (Some(f), Some(n)) => !f.at.known() && n.at.known(),
                        _ => false,
                    };
                    if better {
                        first = e;
                    }
                }
                (false, first)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading and validation.

pub(crate) use crate::report::diag::ConfigError as PolicyError;
pub(crate) use crate::report::diag::Diagnostics as Errors;

/// Render a policy file's problems.
pub(crate) fn render(name: &str, text: &str, errors: &Errors) -> PolicyError {
    crate::report::diag::render("policy file", name, text, errors)
}

/// One error in a TOML file, rendered like policy errors.
pub fn single_error(name: &str, text: &str, span: Range<usize>, msg: &str) -> PolicyError {
    crate::report::diag::single("policy file", name, text, span, msg)
}

fn severity(s: &Spanned<String>, errors: &mut Errors) -> Severity {
    Severity::parse(s.get_ref()).unwrap_or_else(|| {
        errors.push_note(
            s.span(),
            format!("unknown severity `{}`", s.get_ref()),
            "use one of: info, low, medium, high, critical",
        );
        Severity::Info
    })
}

/// A TOML string, or the strings of an array (`target = "x"` or `target = ["x", "y"]`).
pub(crate) fn string_or_list(v: &toml::Value) -> Vec<String> {
    match v {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

fn scalar_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compile_cond(raw: &Spanned<CondRaw>, errors: &mut Errors, depth: usize) -> Cond {
    let span = raw.span();
    let c = raw.get_ref();
    if depth > 32 {
        errors.push(span, "conditions nest deeper than 32 levels");
        return Cond::All(vec![]);
    }
    let forms = [
        c.all.is_some(),
        c.any.is_some(),
        c.not.is_some(),
        c.path.is_some() || c.op.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if forms != 1 {
        errors.push_note(
            span,
            if forms == 0 { "empty condition".to_string() } else { "a condition mixes forms".to_string() },
            "write exactly one of: { all = [...] }, { any = [...] }, { not = {...} }, { path = \"…\", op = \"…\" }",
        );
        return Cond::All(vec![]);
    }
    if let Some(list) = &c.all {
        if list.is_empty() {
            errors.push(
                span,
                "`all = []` is always true; remove it or add conditions",
            );
        }
        return Cond::All(
            list.iter()
                .map(|x| compile_cond(x, errors, depth + 1))
                .collect(),
        );
    }
    if let Some(list) = &c.any {
        if list.is_empty() {
            errors.push(
                span,
                "`any = []` is always false; remove it or add conditions",
            );
        }
        return Cond::Any(
            list.iter()
                .map(|x| compile_cond(x, errors, depth + 1))
                .collect(),
        );
    }
    if let Some(inner) = &c.not {
        return Cond::Not(Box::new(compile_cond(inner, errors, depth + 1)));
    }
    // Leaf.
    let Some(path) = &c.path else {
        errors.push(span, "a leaf condition needs `path`");
        return Cond::All(vec![]);
    };
    let Some(op) = &c.op else {
        errors.push_note(span, "a leaf condition needs `op`", op_list());
        return Cond::All(vec![]);
    };
    let texts: Vec<String> = match path.get_ref() {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).unwrap_or_default())
            .collect(),
        _ => {
            errors.push(
                path.span(),
                "`path` must be a string or a non-empty list of strings",
            );
            vec![]
        }
    };
    let mut paths = Vec::new();
    for t in texts {
        match Selector::parse(&t) {
            Ok(s) => paths.push(s),
            Err(e) => errors.push(path.span(), format!("bad path `{t}`: {e}")),
        }
    }
    let value_text = c.value.as_ref().and_then(|v| scalar_text(v.get_ref()));
    let value_span = c.value.as_ref().map(|v| v.span()).unwrap_or(op.span());
    let needs_value = OPS.iter().find(|(n, _, _)| *n == op.get_ref()).map(|x| x.1);
    match needs_value {
        None => {
            errors.push_note(
                op.span(),
                format!("unknown operator `{}`", op.get_ref()),
                op_list(),
            );
            return Cond::All(vec![]);
        }
        Some(false) if c.value.is_some() => {
            errors.push(
                value_span.clone(),
                format!("`{}` takes no `value`", op.get_ref()),
            );
        }
        Some(true) if c.value.is_none() => {
            errors.push(op.span(), format!("`{}` needs a `value`", op.get_ref()));
            return Cond::All(vec![]);
        }
        _ => {}
    }
    let need_text = |errors: &mut Errors| -> String {
        match &value_text {
            Some(t) => t.clone(),
            None => {
                errors.push(
                    value_span.clone(),
                    format!(
                        "`{}` needs a single value (string, number or boolean)",
                        op.get_ref()
                    ),
                );
                String::new()
            }
        }
    };
    let need_list = |errors: &mut Errors| -> Vec<String> {
        match c.value.as_ref().map(|v| v.get_ref()) {
            Some(toml::Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
            _ => {
                errors.push(
                    value_span.clone(),
                    format!("`{}` needs a list value, e.g. [\"a\", \"b\"]", op.get_ref()),
                );
                vec![]
            }
        }
    };
    let need_regex = |errors: &mut Errors| -> Regex {
        let t = need_text(errors);
        Regex::new(&t).unwrap_or_else(|e| {
            errors.push(
                value_span.clone(),
                format!("invalid regular expression: {e}"),
            );
            Regex::new("$^").expect("static regex")
        })
    };
    let need_number = |errors: &mut Errors| -> f64 {
        let t = need_text(errors);
        quantity(&t).unwrap_or_else(|| {
            errors.push(
                value_span.clone(),
                format!("`{t}` is not a number or Kubernetes quantity"),
            );
            0.0
        })
    };
    let need_version = |errors: &mut Errors| -> Vec<u64> {
        let t = need_text(errors);
        version(&t).unwrap_or_else(|| {
            errors.push(
                value_span.clone(),
                format!("`{t}` is not a version such as 2.6.0"),
            );
            vec![0]
        })
    };
    let op_v = match op.get_ref().as_str() {
        "equals" => Op::Equals(need_text(errors)),
        "not_equals" => Op::NotEquals(need_text(errors)),
        "in" => Op::In(need_list(errors)),
        "not_in" => Op::NotIn(need_list(errors)),
        "regex" => Op::Regex(need_regex(errors)),
        "not_regex" => Op::NotRegex(need_regex(errors)),
        "exists" => Op::Exists,
        "absent" => Op::Absent,
        "truthy" => Op::Truthy,
        "falsy" => Op::Falsy,
        "gt" => Op::Gt(need_number(errors)),
        "gte" => Op::Gte(need_number(errors)),
        "lt" => Op::Lt(need_number(errors)),
        "lte" => Op::Lte(need_number(errors)),
        "contains" => Op::Contains(need_text(errors)),
        "not_contains" => Op::NotContains(need_text(errors)),
        "version_lt" => Op::VersionLt(need_version(errors)),
        "version_gte" => Op::VersionGte(need_version(errors)),
        "allows_below" => Op::AllowsBelow(need_version(errors)),
        "bind_all" => Op::BindAll,
        "is_commit" => Op::IsCommit,
        _ => Op::Empty,
    };
    let default = c.default.as_ref().and_then(|d| {
        let t = scalar_text(d.get_ref());
        if t.is_none() {
            errors.push(
                d.span(),
                "`default` must be a string, number or boolean (the product's documented default)",
            );
        }
        t
    });
    if default.is_some() && matches!(op_v, Op::Exists | Op::Absent) {
        errors.push(
            c.default.as_ref().map(|d| d.span()).unwrap_or(span.clone()),
            "`default` with `exists`/`absent` makes the condition constant; drop one",
        );
    }
    let quantifier = match c.quantifier.as_ref().map(|q| q.get_ref().as_str()) {
        None | Some("any") => Quantifier::Any,
        Some("all") => Quantifier::All,
        Some(other) => {
            errors.push(
                c.quantifier.as_ref().map(|q| q.span()).unwrap_or(span),
                format!("unknown quantifier `{other}`: use \"any\" (default) or \"all\""),
            );
            Quantifier::Any
        }
    };
    Cond::Leaf(Box::new(Leaf {
        paths,
        op: op_v,
        default,
        quantifier,
    }))
}

fn op_list() -> String {
    format!(
        "operators: {}",
        OPS.iter().map(|o| o.0).collect::<Vec<_>>().join(", ")
    )
}

fn valid_id(id: &str) -> bool {
    let mut parts = id.split('/');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !s.starts_with('-')
    };
    ok(a) && ok(b)
}

const PLACEHOLDERS: &[&str] = &["value", "path", "resource"];

/// Parse and validate one policy file. `name` is what errors show as the file name.
pub fn load(name: &str, text: &str) -> Result<Vec<Rule>, PolicyError> {
    let mut errors = Errors { list: vec![] };
    let raw: FileRaw = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            errors.push(span, e.message().trim().to_string());
            return Err(render(name, text, &errors));
        }
    };
    if raw.rule.is_empty() {
        errors.push_note(
            0..0,
            "no rules in this policy file",
            "a policy file holds [[rule]] tables",
        );
    }
    let index = super::doc::LineIndex::new(text);
    let mut rules = Vec::new();
    let mut seen: Vec<(String, Range<usize>)> = Vec::new();
    for r in &raw.rule {
        let rr = r.get_ref();
        let id = rr.id.get_ref().clone();
        if !valid_id(&id) {
            errors.push_note(
                rr.id.span(),
                format!("rule id `{id}` is not <product>/<name>"),
                "ids are lowercase kebab-case with one slash, e.g. \"ollama/host-all-interfaces\"; they are stable, so pick carefully",
            );
        }
        if id.starts_with("check/") {
            errors.push(
                rr.id.span(),
                "the `check/` namespace is reserved for modelsec's own findings",
            );
        }
        if let Some((_, prev)) = seen.iter().find(|(s, _)| *s == id) {
            let p = index.pos(prev.start);
            errors.push(
                rr.id.span(),
                format!(
                    "duplicate rule id `{id}` (first defined at line {})",
                    p.line
                ),
            );
        }
        seen.push((id.clone(), rr.id.span()));
        if rr.title.get_ref().trim().is_empty() {
            errors.push(rr.title.span(), "empty title");
        }
        let sev = severity(&rr.severity, &mut errors);
        let targets = string_or_list(rr.target.get_ref());
        if targets.is_empty() {
            errors.push(
                rr.target.span(),
                "`target` must be a string or a list of strings",
            );
        }
        for t in &targets {
            let k8s_kind = t.strip_prefix("k8s:").is_some_and(|k| {
                k.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && k.chars().all(|c| c.is_ascii_alphanumeric())
            });
            if !k8s_kind && !TARGETS.contains(&t.as_str()) {
                errors.push_note(
                    rr.target.span(),
                    format!("unknown target `{t}`"),
                    format!(
                        "targets: {}, or k8s:<Kind> such as k8s:Service",
                        TARGETS.join(", ")
                    ),
                );
            }
        }
        // Message placeholders.
        let msg = rr.message.get_ref();
        let mut rest = msg.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    if !PLACEHOLDERS.contains(&name) {
                        errors.push_note(
                            rr.message.span(),
                            format!("unknown placeholder `{{{name}}}` in message"),
                            "placeholders: {value}, {path}, {resource}",
                        );
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    errors.push(rr.message.span(), "unclosed `{` in message");
                    break;
                }
            }
        }
        if rr.remediation.trim().is_empty() {
            errors.push(r.span(), format!("rule `{id}` has an empty remediation"));
        }
        let when = rr.when.as_ref().map(|w| compile_cond(w, &mut errors, 0));
        let check = match (&rr.check, &rr.fail_when) {
            (Some(c), None) => compile_cond(c, &mut errors, 0),
            (None, Some(f)) => Cond::Not(Box::new(compile_cond(f, &mut errors, 0))),
            (Some(c), Some(_)) => {
                errors.push(c.span(), "a rule has `check` (the compliant state) or `fail_when` (the violation), not both");
                Cond::All(vec![])
            }
            (None, None) => {
                errors.push_note(r.span(), format!("rule `{id}` has neither `check` nor `fail_when`"), "add check = { … } (what compliant looks like) or fail_when = { … } (what the violation looks like)");
                Cond::All(vec![])
            }
        };
        let raise = rr
            .raise
            .iter()
            .map(|x| {
                let x = x.get_ref();
                (
                    severity(&x.severity, &mut errors),
                    compile_cond(&x.when, &mut errors, 0),
                )
            })
            .collect();
        let mut escalate = Vec::new();
        if let Some(esc) = &rr.escalate {
            for (k, v) in esc.get_ref() {
                let Some(exposure) = Exposure::parse(k) else {
                    errors.push_note(
                        esc.span(),
                        format!("unknown exposure `{k}`"),
                        "exposures: internet, internal, local",
                    );
                    continue;
                };
                match v.as_str() {
                    Some(s) => {
                        let sp = Spanned::new(esc.span(), s.to_string());
                        escalate.push((exposure, severity(&sp, &mut errors)));
                    }
                    None => errors.push(
                        esc.span(),
                        format!("escalate.{k} must be a severity string"),
                    ),
                }
            }
        }
        let refs = rr.refs.get_ref().clone();
        if refs.ncsc.is_empty() {
            errors.push_note(
                rr.refs.span(),
                format!("rule `{id}` cites no NCSC guideline"),
                "every rule maps to the guideline it enforces: refs.ncsc = [\"…\"]",
            );
        }
        if refs.atlas.is_empty() && refs.owasp.is_empty() {
            errors.push_note(
                rr.refs.span(),
                format!("rule `{id}` cites neither MITRE ATLAS nor OWASP"),
                "add refs.atlas = [\"AML.T…\"] or refs.owasp = [\"LLM…\"]",
            );
        }
        let mut tests = Vec::new();
        for t in &rr.test {
            let tr = t.get_ref();
            let expect_fail = match tr.expect.get_ref().as_str() {
                "fail" => true,
                "pass" => false,
                other => {
                    errors.push(
                        tr.expect.span(),
                        format!("expect must be \"fail\" or \"pass\", not `{other}`"),
                    );
                    false
                }
            };
            if tr.file.get_ref().trim().is_empty() {
                errors.push(tr.file.span(), "test `file` names the file the input stands for (it decides the format), e.g. \"deploy.yaml\"");
            }
            tests.push(TestCase {
                expect_fail,
                file: tr.file.get_ref().clone(),
                input: tr.input.clone(),
                origin: format!("{name}:{}", index.pos(t.span().start).line),
            });
        }
        rules.push(Rule {
            id,
            title: rr.title.get_ref().clone(),
            severity: sev,
            targets,
            message: msg.clone(),
            remediation: rr.remediation.clone(),
            when,
            check,
            raise,
            escalate,
            refs,
            tests,
            source: name.to_string(),
        });
    }
    if errors.list.is_empty() {
        Ok(rules)
    } else {
        Err(render(name, text, &errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rule]]
id = "demo/host"
title = "t"
severity = "high"
target = "container"
message = "host is {value}"
remediation = "fix"
check = { path = ["argv.\"--host\"", "env.HOST"], op = "bind_all", default = "127.0.0.1" }
refs = { ncsc = ["x"], atlas = ["AML.T0049"] }
"#;

    #[test]
    fn loads_a_rule() {
        let rules = load("p.toml", GOOD).unwrap();
        assert_eq!(rules[0].id, "demo/host");
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let bad = GOOD.replace("op = \"bind_all\"", "op = \"bind_al\"");
        let e = load("p.toml", &bad).unwrap_err();
        assert_eq!(e.count, 1);
        assert_eq!(e.errors[0].0, 9);
        assert!(
            e.rendered.contains("unknown operator `bind_al`"),
            "{}",
            e.rendered
        );
        assert!(e.rendered.contains("p.toml:9:"), "{}", e.rendered);
        let bad = GOOD.replace("remediation =", "remedy =");
        let e = load("p.toml", &bad).unwrap_err();
        assert!(
            e.rendered.contains("unknown field `remedy`"),
            "{}",
            e.rendered
        );
        assert_eq!(e.errors[0].0, 8);
    }

    #[test]
    fn several_errors_reported_at_once() {
        let bad = GOOD
            .replace("severity = \"high\"", "severity = \"hgih\"")
            .replace("target = \"container\"", "target = \"containr\"")
            .replace("{value}", "{valeu}");
        let e = load("p.toml", &bad).unwrap_err();
        assert_eq!(e.count, 3, "{}", e.rendered);
    }

    #[test]
    fn helpers() {
        assert!(binds_all("0.0.0.0"));
        assert!(binds_all("http://0.0.0.0:8081"));
        assert!(binds_all("[::]:8080"));
        assert!(binds_all(":8000"));
        assert!(binds_all("8.8.8.8"));
        assert!(!binds_all("127.0.0.1:11434"));
        assert!(!binds_all("http://localhost:8081"));
        assert!(!binds_all("10.0.0.5"));
        assert!(!binds_all("::1"));
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("4Gi"), Some(4.0 * 1073741824.0));
        assert!(allows_below(">=2.0,<2.6", &[2, 6, 0]));
        assert!(allows_below("", &[2, 6, 0]));
        assert!(!allows_below(">=2.6.0", &[2, 6, 0]));
        assert!(!allows_below("==2.7.1", &[2, 6, 0]));
        assert!(allows_below("==2.5.1", &[2, 6, 0]));
        assert!(
            allows_below("^2.1", &[2, 6, 0]),
            "unknown operators give no lower bound"
        );
        assert_eq!(version("v0.8.1-gpu"), Some(vec![0, 8, 1]));
    }
}
