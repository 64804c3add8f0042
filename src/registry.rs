//! One registry of every rule id any command can report: the built-in catalogues of `verify`,
//! `scan`, `check`, `threats`, `fuzz`, the monitor's signals and `log verify`, and the `check`
//! policy rules (built-in TOML and the user's). `modelsec rules` lists it, `docs/rules.md` is
//! generated from it ([`markdown`]), and a test proves ids are unique across all of it.

use crate::check::PolicySet;
use crate::check::lang::{OPS, TARGETS};
use crate::report::{Rule, Severity};
use crate::threat::{Control, ThreatModel};
use serde::Serialize;
use std::fmt::Write;

/// A built-in catalogue and the command that reports its rules.
pub struct Catalogue {
    /// The command (`verify`, `scan`, …; `serve` also covers `proxy`).
    pub command: &'static str,
    /// Its rules.
    pub rules: &'static [Rule],
}

/// Every built-in catalogue.
pub const CATALOGUES: &[Catalogue] = &[
    Catalogue {
        command: "verify",
        rules: crate::signing::rules::ALL,
    },
    Catalogue {
        command: "scan",
        rules: crate::scan::rules::ALL,
    },
    Catalogue {
        command: "check",
        rules: crate::check::rules::ALL,
    },
    Catalogue {
        command: "threats",
        rules: crate::threat::ALL,
    },
    Catalogue {
        command: "fuzz",
        rules: crate::fuzz::rules::ALL,
    },
    Catalogue {
        command: "serve",
        rules: crate::monitor::rules::signals::ALL,
    },
    Catalogue {
        command: "log",
        rules: crate::monitor::rules::log::ALL,
    },
];

/// One rule as `modelsec rules --format json` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct RuleEntry {
    /// Stable id.
    pub id: String,
    /// The command that reports it.
    pub command: String,
    /// Default severity.
    pub severity: Severity,
    /// What it detects.
    pub description: String,
    /// What to do about a finding.
    pub help: String,
    /// Standards and techniques it maps to (NCSC/CISA, MITRE ATLAS, OWASP, CWE, CVE, docs).
    pub references: Vec<String>,
    /// `builtin`, or the policy file a `check` rule came from.
    pub source: String,
    /// `check` rules: the config kinds the rule reads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// `check` rules: severity by threat-model exposure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalate: Vec<(String, String)>,
    /// `check` rules: inline test cases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<usize>,
}

fn builtin_entry(command: &str, r: &Rule) -> RuleEntry {
    let mut references = Vec::new();
    if let Some((technique, name)) = crate::monitor::rules::signals::atlas(r.id) {
        references.push(format!("MITRE ATLAS: {technique} ({name})"));
    }
    RuleEntry {
        id: r.id.to_string(),
        command: command.to_string(),
        severity: r.severity,
        description: r.description.to_string(),
        help: r.help.to_string(),
        references,
        source: "builtin".into(),
        targets: Vec::new(),
        escalate: Vec::new(),
        tests: None,
    }
}

fn policy_entry(r: &crate::check::lang::Rule) -> RuleEntry {
    let mut references = Vec::new();
    for n in &r.refs.ncsc {
        references.push(format!("NCSC/CISA: {n}"));
    }
    if !r.refs.atlas.is_empty() {
        references.push(format!("MITRE ATLAS: {}", r.refs.atlas.join(", ")));
    }
    if !r.refs.owasp.is_empty() {
        references.push(format!("OWASP: {}", r.refs.owasp.join(", ")));
    }
    if !r.refs.cwe.is_empty() {
        references.push(format!("CWE: {}", r.refs.cwe.join(", ")));
    }
    if !r.refs.cve.is_empty() {
        references.push(format!("CVE: {}", r.refs.cve.join(", ")));
    }
    if let Some(d) = &r.refs.docs {
        references.push(format!("Docs: <{d}>"));
    }
    RuleEntry {
        id: r.id.clone(),
        command: "check".into(),
        severity: r.severity,
        description: r.title.clone(),
        help: r.remediation.trim().to_string(),
        references,
        source: r.source.clone(),
        targets: r.targets.clone(),
        escalate: r
            .escalate
            .iter()
            .map(|(e, s)| (e.as_str().to_string(), s.as_str().to_string()))
            .collect(),
        tests: Some(r.tests.len()),
    }
}

/// Every rule: the built-in catalogues, then the policy rules of `set`.
pub fn entries(set: &PolicySet) -> Vec<RuleEntry> {
    let mut out: Vec<RuleEntry> = CATALOGUES
        .iter()
        .flat_map(|c| c.rules.iter().map(|r| builtin_entry(c.command, r)))
        .collect();
    out.extend(set.rules.iter().map(policy_entry));
    out
}

/// Ids that appear more than once (should be none).
pub fn duplicates(entries: &[RuleEntry]) -> Vec<String> {
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for e in entries {
        *seen.entry(e.id.as_str()).or_default() += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id.to_string())
        .collect()
}

/// Whether `id` is a registered rule.
pub fn is_registered(set: &PolicySet, id: &str) -> bool {
    CATALOGUES
        .iter()
        .any(|c| c.rules.iter().any(|r| r.id == id))
        || set.rules.iter().any(|r| r.id == id)
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown reference: every rule with its severity, targets, references and fix; every
/// threat model with its controls; the policy language's targets and operators.
pub fn markdown(policy: &PolicySet, models: &[ThreatModel]) -> String {
    let mut out = String::new();
    let builtin: usize = CATALOGUES.iter().map(|c| c.rules.len()).sum();
    let _ = writeln!(
        out,
        "# modelsec: rule reference\n\n\
         Generated by `modelsec rules --format markdown` from the built-in catalogues, \
         `policies/check/*.toml` and `threat-models/*.toml`; do not edit by hand (CI fails when \
         this file is stale).\n\n\
         {} rules: {builtin} reported by the commands themselves, {} `check` policy rules. \
         Severity is the default.\n",
        builtin + policy.rules.len(),
        policy.rules.len()
    );
    for c in CATALOGUES {
        let _ = writeln!(
            out,
            "## `{}`\n\n| Rule | Severity | Meaning | What to do |\n|---|---|---|---|",
            if c.command == "serve" {
                "serve` and `proxy"
            } else {
                c.command
            }
        );
        for r in c.rules {
            let e = builtin_entry(c.command, r);
            let mut meaning = cell(&e.description);
            if !e.references.is_empty() {
                meaning.push_str(&format!(" ({})", cell(&e.references.join("; "))));
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                e.id,
                e.severity,
                meaning,
                cell(&e.help)
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "# `check` policy rules\n\n{} rules. `raise` conditions and a threat model's exposure can \
         change the severity.\n",
        policy.rules.len()
    );
    let _ = writeln!(
        out,
        "| Rule | Severity | Targets | Title |\n|---|---|---|---|"
    );
    for r in &policy.rules {
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} | {} |",
            r.id,
            r.id.replace('/', "").to_lowercase(),
            r.severity,
            r.targets.join(", "),
            cell(&r.title)
        );
    }
    let _ = writeln!(out);
    for r in &policy.rules {
        let _ = writeln!(
            out,
            "## {}\n\n**{}** — severity `{}`",
            r.id, r.title, r.severity
        );
        if !r.escalate.is_empty() {
            let esc: Vec<String> = r
                .escalate
                .iter()
                .map(|(e, s)| format!("`{s}` when exposure is {e}"))
                .collect();
            let _ = writeln!(out, " ({})", esc.join(", "));
        }
        if !r.raise.is_empty() {
            let raised: Vec<&str> = r.raise.iter().map(|(s, _)| s.as_str()).collect();
            let _ = writeln!(
                out,
                "; raised to `{}` under conditions in the policy",
                raised.join("`/`")
            );
        }
        let _ = writeln!(
            out,
            "\nTargets: {}. Source: `{}`.\n",
            r.targets.join(", "),
            r.source.trim_start_matches("builtin:")
        );
        let _ = writeln!(out, "Fix: {}\n", r.remediation.trim());
        let mut refs = Vec::new();
        for n in &r.refs.ncsc {
            refs.push(format!("NCSC/CISA: {n}"));
        }
        if !r.refs.atlas.is_empty() {
            refs.push(format!("MITRE ATLAS: {}", r.refs.atlas.join(", ")));
        }
        if !r.refs.owasp.is_empty() {
            refs.push(format!("OWASP: {}", r.refs.owasp.join(", ")));
        }
        if !r.refs.cwe.is_empty() {
            refs.push(format!("CWE: {}", r.refs.cwe.join(", ")));
        }
        if !r.refs.cve.is_empty() {
            refs.push(format!("CVE: {}", r.refs.cve.join(", ")));
        }
        if let Some(d) = &r.refs.docs {
            refs.push(format!("Docs: <{d}>"));
        }
        for x in refs {
            let _ = writeln!(out, "- {x}");
        }
        let fails = r.tests.iter().filter(|t| t.expect_fail).count();
        let _ = writeln!(
            out,
            "\nInline cases: {fails} failing, {} passing.\n",
            r.tests.len() - fails
        );
    }
    let _ = writeln!(out, "# Threat models\n");
    for m in models {
        let _ = writeln!(
            out,
            "## {} — {}\n\nExposure: `{}`. {}\n\n| Threat | Area | ATLAS / OWASP | Controls |\n|---|---|---|---|",
            m.id,
            m.title,
            m.exposure,
            m.description.replace('\n', " ")
        );
        for t in &m.threats {
            let controls: Vec<String> = t
                .controls
                .iter()
                .map(|(c, _)| match c {
                    Control::Rule(r) => format!("`{r}`"),
                    Control::Capability(c) => format!("capability: {c}"),
                })
                .collect();
            let mut ids = t.atlas.clone();
            ids.extend(t.owasp.iter().cloned());
            let _ = writeln!(
                out,
                "| `{}` {} | {} | {} | {} |",
                t.id,
                cell(&t.title),
                t.area,
                ids.join(", "),
                controls.join(", ")
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "# Policy language\n\nTargets: {}, and `k8s:<Kind>` for any Kubernetes object.\n\n| Operator | Takes a value | Meaning |\n|---|---|---|",
        TARGETS
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (op, value, meaning) in OPS {
        let _ = writeln!(
            out,
            "| `{op}` | {} | {} |",
            if *value { "yes" } else { "no" },
            cell(meaning)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one uniqueness test: across every catalogue and every built-in policy rule.
    #[test]
    fn ids_are_unique_and_namespaced_by_command() {
        let set = PolicySet::builtin().unwrap();
        let all = entries(&set);
        assert!(duplicates(&all).is_empty(), "{:?}", duplicates(&all));
        for c in CATALOGUES {
            let prefix = match c.command {
                "serve" => "monitor/",
                "threats" => "threat/",
                other => other,
            };
            for r in c.rules {
                assert!(r.id.starts_with(prefix), "{} in {}", r.id, c.command);
                assert!(
                    r.id.chars().all(|ch| ch.is_ascii_lowercase()
                        || ch.is_ascii_digit()
                        || "-/".contains(ch)),
                    "{}",
                    r.id
                );
                assert!(!r.description.is_empty() && !r.help.is_empty(), "{}", r.id);
            }
        }
        assert!(is_registered(&set, "scan/pickle-dangerous-global"));
        assert!(is_registered(&set, "torchserve/management-api-exposed"));
        assert!(!is_registered(&set, "scan/no-such-rule"));
    }
}
