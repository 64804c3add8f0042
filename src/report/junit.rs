//! [`Report`] → JUnit XML, for CI systems that show test results: one test case per rule of the
//! report's catalogue; a rule with failing findings is a failed test case (one `<failure>` per
//! finding), suppressed and info findings go to `<system-out>`.

use super::Report;
use std::fmt::Write;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The report as one JUnit XML document.
pub fn to_junit(report: &Report) -> String {
    let mut cases = String::new();
    let mut failures = 0;
    for rule in &report.rules {
        let found: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.rule_id == rule.id)
            .collect();
        let failing: Vec<_> = found
            .iter()
            .filter(|f| f.severity.fails() && f.suppressed.is_none())
            .collect();
        let _ = write!(
            cases,
            "    <testcase classname=\"modelsec.{}\" name=\"{}\">",
            esc(&report.command),
            esc(&rule.id)
        );
        for f in &failing {
            failures += 1;
            let at = f
                .location
                .as_ref()
                .map(|l| match l.line {
                    Some(line) => format!("{}:{line}", l.path),
                    None => l.path.clone(),
                })
                .unwrap_or_default();
            let _ = write!(
                cases,
                "\n      <failure type=\"{}\" message=\"{}\">{}\n{}</failure>",
                f.severity,
                esc(&f.message),
                esc(&at),
                esc(f.help.as_deref().unwrap_or(""))
            );
        }
        let quiet: Vec<String> = found
            .iter()
            .filter(|f| !f.severity.fails() || f.suppressed.is_some())
            .map(|f| format!("{}: {}", f.severity, f.message))
            .collect();
        if !quiet.is_empty() {
            let _ = write!(
                cases,
                "\n      <system-out>{}</system-out>",
                esc(&quiet.join("\n"))
            );
        }
        cases.push_str(if failing.is_empty() && quiet.is_empty() {
            "</testcase>\n"
        } else {
            "\n    </testcase>\n"
        });
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"modelsec {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n</testsuites>\n",
        esc(&report.command),
        report.rules.len()
    )
}
