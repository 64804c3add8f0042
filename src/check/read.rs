//! Reading config files: walking paths, recognising formats, parsing into documents; every
//! problem becomes a finding (fail closed), never an error.

use super::model::File;
use super::rules;
use super::{CheckError, MAX_FILE, doc, formats};
use crate::report::{Finding, Location};
use crate::util::fs;
use std::path::{Path, PathBuf};

fn skip_dir(name: &str) -> bool {
    matches!(
        name,
        ".git" | "target" | "node_modules" | ".venv" | "venv" | "__pycache__" | ".terraform"
    )
}

/// Expand the given paths into files (directories are walked; hidden tool dirs skipped).
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CheckError> {
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(CheckError::NoSuchPath {
                path: p.display().to_string(),
            });
        }
        if p.is_dir() {
            let walker = walkdir::WalkDir::new(p)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0
                        || !(e.file_type().is_dir() && skip_dir(&e.file_name().to_string_lossy()))
                });
            for e in walker {
                let e = e.map_err(|e| CheckError::Walk {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
                if e.file_type().is_file() {
                    out.push(e.into_path());
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub(crate) fn display_path(p: &Path) -> String {
    p.to_string_lossy().trim_start_matches("./").to_string()
}

/// Outcome of reading one file.
pub enum Read {
    File(File),
    Problem(Finding),
    Unrecognised(Finding),
}

/// Read and parse one file; problems become findings (fail closed), never errors.
pub fn read_file(path: &Path) -> Read {
    let shown = display_path(path);
    let loc = Location::path(shown.clone());
    // Capped, regular files only: a device or FIFO given as a path is refused, not read forever.
    let bytes = match fs::read_bytes(path, MAX_FILE) {
        Ok(b) => b,
        Err(fs::ReadError::TooLarge { .. }) => {
            return Read::Problem(
                Finding::new(
                    &rules::UNREADABLE,
                    format!(
                        "{shown} is over the 16 MiB limit for a config file; it was not checked"
                    ),
                )
                .at(loc),
            );
        }
        Err(e) => {
            return Read::Problem(
                Finding::new(&rules::UNREADABLE, format!("cannot read {shown}: {e}")).at(loc),
            );
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let format = formats::detect(&shown, "");
            if format.is_none() {
                return Read::Unrecognised(
                    Finding::new(
                        &rules::UNRECOGNISED,
                        format!("{shown} is not a text config file; not checked"),
                    )
                    .at(loc),
                );
            }
            return Read::Problem(
                Finding::new(
                    &rules::UNREADABLE,
                    format!(
                        "{shown} is not UTF-8 (invalid byte at offset {}); it was not checked",
                        e.utf8_error().valid_up_to()
                    ),
                )
                .at(Location {
                    offset: Some(e.utf8_error().valid_up_to() as u64),
                    ..loc
                }),
            );
        }
    };
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    parse_text(&shown, text, None)
}

/// Parse text as the file `shown` (format by name and content, or forced).
pub fn parse_text(shown: &str, text: String, forced: Option<formats::Format>) -> Read {
    let loc = Location::path(shown.to_string());
    let Some(format) = forced.or_else(|| formats::detect(shown, &text)) else {
        return Read::Unrecognised(
            Finding::new(
                &rules::UNRECOGNISED,
                format!("{shown} is not a config format modelsec reads; not checked"),
            )
            .at(loc),
        );
    };
    let yaml = matches!(format, formats::Format::Yaml);
    let parsed = formats::parse(format, &text);
    // A Helm template: `{{ … }}` outside comments in a file that is not YAML, or in a manifest
    // (a values file may hold `{{ }}` strings for `tpl`; a comment may show one).
    if yaml && let Some(line) = template_line(&text) {
        let manifest = match &parsed {
            Err(_) => true,
            // Parsed: a `{{ }}` that made a collection key, or Helm's own words in a manifest
            // (KServe runtimes carry `{{.Name}}` strings that the controller fills in).
            Ok(docs) => {
                docs.iter().any(collection_key)
                    || (helm_words(&text)
                        && docs
                            .iter()
                            .any(|d| d.get("apiVersion").is_some() && d.get("kind").is_some()))
            }
        };
        if manifest {
            return Read::Problem(
                Finding::new(
                    &rules::PARSE_ERROR,
                    format!("{shown} is a Helm template (`{{{{ … }}}}` on line {line}), not a manifest: render it and check the output (helm template RELEASE CHART | modelsec check - --stdin-name {shown})"),
                )
                .at(Location {
                    line: Some(line as u64),
                    column: Some(1),
                    ..loc
                }),
            );
        }
    }
    match parsed {
        Ok(docs) => {
            // `kind: List` (kubectl get -o yaml/json) holds the objects in `items`.
            let had_list = docs.iter().any(|d| {
                d.get("kind").and_then(doc::Node::as_str) == Some("List")
                    && d.get("items").is_some()
            });
            let docs: Vec<doc::Node> = docs
                .into_iter()
                .flat_map(|d| {
                    let is_list = d.get("kind").and_then(doc::Node::as_str) == Some("List")
                        && d.get("items").is_some();
                    if is_list {
                        d.get("items")
                            .map(|i| i.items().to_vec())
                            .unwrap_or_default()
                    } else {
                        vec![d]
                    }
                })
                .collect();
            let yaml = matches!(format, formats::Format::Yaml);
            let directives = formats::comment_directives(&text)
                .into_iter()
                .map(|(line, d)| {
                    // In a List the documents are its items: a comment covers the whole file.
                    let doc = (yaml && !had_list).then(|| doc_of_line(&text, line));
                    (line, doc, d)
                })
                .collect();
            Read::File(File {
                path: shown.to_string(),
                format,
                directives,
                docs,
            })
        }
        Err(e) => {
            let msg = format!(
                "{shown} is not valid {}: {}; it was not checked",
                format.as_str(),
                e.message
            );
            Read::Problem(Finding::new(&rules::PARSE_ERROR, msg).at(Location {
                line: e.pos.known().then_some(e.pos.line as u64),
                column: e.pos.known().then_some(e.pos.col as u64),
                ..loc
            }))
        }
    }
}

/// Which document of a YAML stream a line belongs to (documents split at `---` lines).
pub(crate) fn doc_of_line(text: &str, line: usize) -> usize {
    let mut doc = 0usize;
    let mut seen_content = false;
    for (i, l) in text.lines().enumerate() {
        if i + 1 >= line {
            break;
        }
        if l.starts_with("---") {
            if seen_content {
                doc += 1;
                seen_content = false;
            }
        } else if !l.trim().is_empty() && !l.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    doc
}

/// The first line with `{{` outside a `#` comment, if any (1-based).
pub(crate) fn template_line(text: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let code = match l.find('#') {
                Some(i) if i == 0 || l[..i].ends_with([' ', '\t']) => &l[..i],
                _ => l,
            };
            code.contains("{{")
        })
        .map(|i| i + 1)
}

/// Whether a mapping anywhere in the tree has a collection as a key (`{{ .Values.x }}` read as
/// YAML makes one; no configuration format uses them).
fn collection_key(n: &doc::Node) -> bool {
    match &n.kind {
        doc::Kind::Map(entries) => entries
            .iter()
            .any(|(k, v)| k.name.starts_with('{') || k.name.starts_with('[') || collection_key(v)),
        doc::Kind::Seq(items) => items.iter().any(collection_key),
        _ => false,
    }
}

/// Whether `{{ }}` outside comments uses Helm's objects or actions.
fn helm_words(text: &str) -> bool {
    const WORDS: &[&str] = &[
        ".Values", ".Release", ".Chart", "include ", "toYaml", "{{-", "-}}", "{{ if", "{{ range",
        "{{ with", "{{ tpl",
    ];
    text.lines().any(|l| {
        let code = match l.find('#') {
            Some(i) if i == 0 || l[..i].ends_with([' ', '\t']) => &l[..i],
            _ => l,
        };
        code.contains("{{") && WORDS.iter().any(|w| code.contains(w))
    })
}
