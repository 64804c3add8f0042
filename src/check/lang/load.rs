//! Loading and validating policy files (every problem collected, pointed at its key).

use super::values::{quantity, version};
use super::{Cond, Exposure, Leaf, OPS, Op, Quantifier, Rule, TARGETS, TestCase};
use crate::check::select::Selector;
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
    #[serde(default)]
    report: Option<Spanned<String>>,
    #[serde(default)]
    anchor: Option<Spanned<toml::Value>>,
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
        "secret" => Op::Secret,
        "embedded_secret" => Op::EmbeddedSecret,
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
    let index = crate::check::doc::LineIndex::new(text);
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
        let each = match rr.report.as_ref().map(|r| r.get_ref().as_str()) {
            None | Some("once") => false,
            Some("each") => true,
            Some(other) => {
                let span = rr.report.as_ref().map(|r| r.span()).unwrap_or(r.span());
                errors.push_note(
                    span,
                    format!("unknown report mode `{other}`"),
                    "report = \"once\" (one finding per subject, the default) or \"each\" (one per offending value)",
                );
                false
            }
        };
        let mut anchor = Vec::new();
        if let Some(a) = &rr.anchor {
            let texts = string_or_list(a.get_ref());
            if texts.is_empty() {
                errors.push(a.span(), "`anchor` must be a path or a list of paths");
            }
            for t in texts {
                match Selector::parse(&t) {
                    Ok(sel) => anchor.push(sel),
                    Err(e) => errors.push(a.span(), format!("bad anchor path `{t}`: {e}")),
                }
            }
        }
        rules.push(Rule {
            id,
            each,
            anchor,
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
    use crate::check::lang::{allows_below, binds_all, quantity, version};

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
