//! One way to report problems in a config file, for every file modelsec reads as
//! configuration (check policies, suppressions, threat models, scan allow-lists,
//! `monitor.toml`): every problem is collected first (nothing stops at the first), each is
//! pointed at its line and column, and all are rendered together as codespan diagnostics
//! (`error: … ┌─ file:line:col`), as cargo-deny does.
//!
//! Semantic checks that run after serde has built the typed value find the place of the key
//! they complain about with [`locate`], from the TOML document's own spans.

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;
use std::ops::Range;

/// Problems found in one file, each with the byte span it is about.
#[derive(Debug, Default)]
pub struct Diagnostics {
    /// (span, message, note).
    pub list: Vec<(Range<usize>, String, Option<String>)>,
}

impl Diagnostics {
    /// No problems yet.
    pub fn new() -> Self {
        Diagnostics { list: vec![] }
    }

    /// A problem at `span`.
    pub fn push(&mut self, span: Range<usize>, msg: impl Into<String>) {
        self.list.push((span, msg.into(), None));
    }

    /// A problem at `span`, with a note saying what to do.
    pub fn push_note(
        &mut self,
        span: Range<usize>,
        msg: impl Into<String>,
        note: impl Into<String>,
    ) {
        self.list.push((span, msg.into(), Some(note.into())));
    }

    /// A problem at the TOML key `path` of `text` (see [`locate`]).
    pub fn push_at(
        &mut self,
        text: &str,
        path: &[Key<'_>],
        msg: impl Into<String>,
        note: Option<String>,
    ) {
        self.list.push((locate(text, path), msg.into(), note));
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A config file that failed validation: every problem, rendered with its place.
#[derive(Debug, thiserror::Error)]
#[error("{count} error(s) in {kind} {name}:\n{rendered}")]
pub struct ConfigError {
    /// What the file is (`policy file`, `threat model`, `allow-list`, `monitor config`, …).
    pub kind: &'static str,
    /// The file's name.
    pub name: String,
    /// Number of problems.
    pub count: usize,
    /// codespan-style diagnostics for every problem.
    pub rendered: String,
    /// (line, column, message) of each problem, 1-based, for tests and JSON callers.
    pub errors: Vec<(usize, usize, String)>,
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// Render `diags` found in `text` (the file `name`, a `kind` of config).
pub fn render(kind: &'static str, name: &str, text: &str, diags: &Diagnostics) -> ConfigError {
    let mut files = SimpleFiles::new();
    let id = files.add(name.to_string(), text.to_string());
    let mut buf = term::termcolor::NoColor::new(Vec::new());
    let config = term::Config::default();
    let mut located = Vec::new();
    for (span, msg, note) in &diags.list {
        // Clamp to the text, and to character boundaries (codespan slices by them).
        let clamp = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let start = clamp(span.start);
        let span = start..clamp(span.end).max(start);
        // The message may quote the file: keep it printable.
        let msg = super::escape::line(msg).into_owned();
        let mut d = Diagnostic::error()
            .with_message(msg.clone())
            .with_labels(vec![Label::primary(id, span.clone())]);
        if let Some(n) = note {
            d = d.with_notes(vec![n.clone()]);
        }
        let _ = term::emit_to_write_style(&mut buf, &config, &files, &d);
        let (line, col) = line_col(text, span.start);
        located.push((line, col, msg));
    }
    ConfigError {
        kind,
        name: name.to_string(),
        count: diags.list.len(),
        rendered: super::escape::text(&String::from_utf8_lossy(&buf.into_inner())).into_owned(),
        errors: located,
    }
}

/// A single problem, rendered.
pub fn single(
    kind: &'static str,
    name: &str,
    text: &str,
    span: Range<usize>,
    msg: &str,
) -> ConfigError {
    let mut d = Diagnostics::new();
    d.push(span, msg.to_string());
    render(kind, name, text, &d)
}

/// A TOML syntax or shape error (unknown key, wrong type), rendered with its place.
pub fn toml_error(kind: &'static str, name: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    single(
        kind,
        name,
        text,
        e.span().unwrap_or(0..0),
        e.message().trim(),
    )
}

/// One step of a path into a TOML document.
#[derive(Clone, Copy, Debug)]
pub enum Key<'a> {
    /// A table key.
    Name(&'a str),
    /// An array element (`[[allow]]` entry 0, 1, …).
    Index(usize),
}

/// The byte span of the value at `path` in the TOML `text`, or of the deepest part of the path
/// that exists (the whole file when none does): where a semantic error about that key points.
pub fn locate(text: &str, path: &[Key<'_>]) -> Range<usize> {
    use toml::de::{DeTable, DeValue};
    let Ok(doc) = DeTable::parse(text) else {
        return 0..0;
    };
    let mut span = doc.span();
    let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
    let mut array: Option<&toml::de::DeArray<'_>> = None;
    for step in path {
        let next = match (step, table, array) {
            (Key::Name(n), Some(t), _) => t.iter().find(|(k, _)| k.get_ref() == n).map(|(k, v)| {
                // Point at the key for tables (their span is the whole table), else the value.
                if matches!(v.get_ref(), DeValue::Table(_)) {
                    (k.span(), v)
                } else {
                    (v.span(), v)
                }
            }),
            (Key::Index(i), _, Some(a)) => a.get(*i).map(|v| (v.span(), v)),
            _ => None,
        };
        let Some((s, v)) = next else { break };
        span = s;
        table = None;
        array = None;
        match v.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_point_at_their_keys() {
        let text =
            "[server]\nmax_in_flight = 0\n\n[[auth.keys]]\nclient = \"a\"\nsha256 = \"xyz\"\n";
        let mut d = Diagnostics::new();
        d.push_at(
            text,
            &[Key::Name("server"), Key::Name("max_in_flight")],
            "must be > 0",
            None,
        );
        d.push_at(
            text,
            &[
                Key::Name("auth"),
                Key::Name("keys"),
                Key::Index(0),
                Key::Name("sha256"),
            ],
            "sha256 must be 64 hex digits",
            Some("printf %s KEY | sha256sum".into()),
        );
        let e = render("monitor config", "monitor.toml", text, &d);
        assert_eq!(e.count, 2);
        assert_eq!(e.errors[0].0, 2, "{e}");
        assert_eq!(e.errors[0].1, 17, "{e}");
        assert_eq!(e.errors[1].0, 6, "{e}");
        assert!(e.rendered.contains("monitor.toml:6:10"), "{}", e.rendered);
        assert!(
            e.to_string()
                .starts_with("2 error(s) in monitor config monitor.toml:")
        );
    }

    #[test]
    fn spans_off_char_boundaries_do_not_panic() {
        let text = "a = \"é\"\n";
        let e = single("allow-list", "x.toml", text, 6..7, "bad");
        assert_eq!(e.count, 1);
        assert_eq!(line_col(text, 100), (2, 1));
    }
}
