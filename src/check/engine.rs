//! The engine: every rule on every subject, then suppressions.

use super::lang::{Cond, Evidence, Exposure, Rule, unresolved};
use super::model::{File, Subject};
use super::suppress::{self, Date, Suppression};
use super::{RuleOutcome, rules};
use crate::report::Severity;
use crate::report::{Finding, Location};
use std::collections::BTreeMap;

fn render_message(template: &str, value: &str, path: &str, resource: &str) -> String {
    template
        .replace("{value}", value)
        .replace("{path}", path)
        .replace("{resource}", resource)
}

/// One severity step down: what a finding gets when the value it rests on is not known here.
fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        other => other,
    }
}

fn finding(
    rule: &Rule,
    file: &File,
    s: &Subject,
    ev: Option<&Evidence>,
    exposure: Option<Exposure>,
) -> Located {
    let (value, path, at, unknown) = match ev {
        Some(e) => {
            let unknown = e.value.as_deref().is_some_and(unresolved) && !e.defaulted;
            let v = match (&e.value, e.defaulted) {
                (Some(v), false) if v.is_empty() => "empty".to_string(),
                (Some(v), false) => format!("`{v}`"),
                (Some(v), true) => format!("not set (the default is `{v}`)"),
                (None, _) => "not set".to_string(),
            };
            (v, e.path.clone(), e.at, unknown)
        }
        None => ("not set".into(), String::new(), Default::default(), false),
    };
    let at = if at.known() {
        at
    } else {
        rule.anchor
            .iter()
            .find_map(|sel| {
                sel.resolve(&s.root)
                    .into_iter()
                    .map(|h| h.at)
                    .find(|p| p.known())
            })
            .unwrap_or(s.anchor)
    };
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
    let mut message = format!(
        "{}: {}",
        s.resource,
        render_message(&rule.message, &value, &path, &s.resource)
    );
    if unknown {
        // Fail closed, but say so: the variable may hold the safe value.
        severity = lower(severity);
        message.push_str(&format!(
            " (the value {value} is a variable not resolved here; judged as its unsafe case, at lower confidence)"
        ));
    }
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
        subject: None,
    };
    (finding, s.file, s.doc, s.resource.clone())
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
                let evidence: Vec<Option<Evidence>> = if rule.each {
                    let fail = match &rule.check {
                        Cond::Not(inner) => inner.witnesses(&s.root),
                        other => Cond::Not(Box::new(other.clone())).witnesses(&s.root),
                    };
                    if fail.is_empty() {
                        vec![ev]
                    } else {
                        fail.into_iter().map(Some).collect()
                    }
                } else {
                    vec![ev]
                };
                for ev in evidence {
                    found.push(finding(rule, &files[s.file], s, ev.as_ref(), exposure));
                }
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
pub(crate) fn apply_suppressions(
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
