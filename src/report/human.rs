//! Plain-text rendering of a [`Report`] for people. Makes sense without colour. Every string
//! that may come from what was examined (paths, members, messages, facts) is escaped for the
//! terminal ([`super::escape`]).

use super::escape::line;
use super::{Finding, Report};
use std::io::{self, Write};

fn location_text(f: &Finding) -> Option<String> {
    let l = f.location.as_ref()?;
    let mut s = format!("`{}`", line(&l.path));
    if let Some(m) = &l.member {
        s.push_str(&format!(" member `{}`", line(m)));
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
        serde_json::Value::String(s) => line(s).into_owned(),
        other => line(&other.to_string()).into_owned(),
    }
}

pub(super) fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        write!(out, "{}[{}]", f.severity, line(&f.rule_id))?;
        if let Some(loc) = location_text(f) {
            write!(out, " {loc}")?;
        }
        writeln!(out, ": {}", line(&f.message))?;
        if let Some(s) = &f.suppressed {
            writeln!(
                out,
                "  suppressed ({}, {}, until {}): {}",
                s.kind.as_str(),
                line(&s.origin),
                line(&s.expires),
                line(&s.reason)
            )?;
        }
        if let Some(help) = &f.help {
            writeln!(out, "  help: {}", line(help))?;
        }
        if let Some(rep) = &f.reproducer {
            let text = rep.to_string();
            if text.len() <= 240 {
                writeln!(out, "  reproducer: {}", line(&text))?;
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
        writeln!(out, "{:width$}  {}", line(k), fact_text(v))?;
    }
    let failing = report
        .findings
        .iter()
        .filter(|f| f.severity.fails() && f.suppressed.is_none())
        .count();
    let suppressed = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_some())
        .count();
    let verdict = if report.failed() { "FAIL" } else { "PASS" };
    let targets = line(&report.targets.join(", ")).into_owned();
    if report.findings.is_empty() {
        writeln!(out, "{} {verdict}: {targets}: no findings", report.command)
    } else {
        let suppressed = if suppressed > 0 {
            format!(", {suppressed} suppressed")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{} {verdict}: {targets}: {failing} failing finding(s){suppressed}, {} in all",
            report.command,
            report.findings.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::report::{Finding, Format, Location, Report, Rule, Severity};

    #[test]
    fn untrusted_text_cannot_fake_a_pass() {
        const R: Rule = Rule::builtin("scan/x", Severity::Critical, "d", "h");
        let mut r = Report::new("scan", &[R]);
        r.targets = vec!["evil\x1b[1A.pkl".into()];
        r.push(
            Finding::new(
                &R,
                "global `posix.system\x1b[2K\x1b[1A\rscan PASS: m.pkl: no findings\n`",
            )
            .at(Location::path("m\x1b]0;x\x07.pkl")),
        );
        r.finish();
        let mut out = Vec::new();
        r.render(Format::Human, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains('\x1b') && !text.contains('\r') && !text.contains('\x07'),
            "{text:?}"
        );
        assert!(text.contains("\\x1b[2K"), "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with("scan ")).count(),
            1,
            "{text}"
        );
    }
}
