//! Plain-text rendering of a [`Report`] for people. Makes sense without colour.

use super::{Finding, Report};
use std::io::{self, Write};

fn location_text(f: &Finding) -> Option<String> {
    let l = f.location.as_ref()?;
    let mut s = format!("`{}`", l.path);
    if let Some(m) = &l.member {
        s.push_str(&format!(" member `{m}`"));
    }
    match (l.line, l.column) {
        (Some(line), Some(col)) => s.push_str(&format!(":{line}:{col}")),
        (Some(line), None) => s.push_str(&format!(":{line}")),
        _ => {}
    }
    if let Some(o) = l.offset {
        s.push_str(&format!(" at byte {o}"));
    }
    Some(s)
}

fn fact_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        write!(out, "{}[{}]", f.severity, f.rule_id)?;
        if let Some(loc) = location_text(f) {
            write!(out, " {loc}")?;
        }
        writeln!(out, ": {}", f.message)?;
        if let Some(help) = &f.help {
            writeln!(out, "  help: {help}")?;
        }
        if let Some(rep) = &f.reproducer {
            let text = rep.to_string();
            if text.len() <= 240 {
                writeln!(out, "  reproducer: {text}")?;
            } else {
                writeln!(
                    out,
                    "  reproducer: {} bytes of JSON; see --format json",
                    text.len()
                )?;
            }
        }
    }
    if !report.findings.is_empty() {
        writeln!(out)?;
    }
    let width = report.facts.keys().map(|k| k.len()).max().unwrap_or(0);
    for (k, v) in &report.facts {
        writeln!(out, "{k:width$}  {}", fact_text(v))?;
    }
    let failing = report
        .findings
        .iter()
        .filter(|f| f.severity.fails())
        .count();
    let verdict = if report.failed() { "FAIL" } else { "PASS" };
    let targets = report.targets.join(", ");
    if report.findings.is_empty() {
        writeln!(out, "{} {verdict}: {targets}: no findings", report.command)
    } else {
        writeln!(
            out,
            "{} {verdict}: {targets}: {failing} failing finding(s), {} in all",
            report.command,
            report.findings.len()
        )
    }
}
