//! `modelsec log verify`: every line's hash, and `seq`/`prev` continuity within and across
//! files.

use super::{GENESIS, Head, parse_line};
use crate::report::{Finding, Location, Report};
use std::io::Read;
use std::path::PathBuf;

/// Verify log files given in chain order (rotated files first, the active one last): every
/// line's hash, and `seq`/`prev` continuity within and across files. Findings name the file
/// and the first bad line of each break.
pub fn verify(paths: &[PathBuf]) -> Report {
    use crate::monitor::rules::log as r;
    let mut report = Report::new("log verify", r::ALL);
    report.targets = paths.iter().map(|p| p.display().to_string()).collect();
    let mut head: Option<Head> = None;
    let mut events = 0u64;
    let mut first_seq = None;
    for (fi, path) in paths.iter().enumerate() {
        let shown = path.display().to_string();
        let at = |line: usize| Location {
            path: shown.clone(),
            line: Some(line as u64),
            ..Location::default()
        };
        // A FIFO or device is refused, not read forever.
        let bytes = match crate::util::fs::open_regular(path).and_then(|mut f| {
            let mut b = Vec::new();
            f.read_to_end(&mut b)
                .map(|_| b)
                .map_err(|source| crate::util::fs::ReadError::Io {
                    path: path.clone(),
                    source,
                })
        }) {
            Ok(b) => b,
            Err(e) => {
                report.push(
                    Finding::new(&r::LOG_UNREADABLE, format!("cannot read: {e}"))
                        .at(Location::path(shown.clone())),
                );
                head = None;
                continue;
            }
        };
        let complete_to = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut lines: Vec<&[u8]> = bytes[..complete_to].split(|&b| b == b'\n').collect();
        lines.pop(); // the empty piece after the last newline
        for (i, raw) in lines.into_iter().enumerate() {
            let n = i + 1;
            let text = match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(_) => {
                    report.push(Finding::new(&r::LOG_MALFORMED, "the line is not UTF-8").at(at(n)));
                    head = None;
                    continue;
                }
            };
            let line = match parse_line(text) {
                Ok(l) => l,
                Err(m) => {
                    report.push(Finding::new(&r::LOG_MALFORMED, m).at(at(n)));
                    head = None;
                    continue;
                }
            };
            events += 1;
            first_seq.get_or_insert(line.seq);
            if !line.hash_ok {
                report.push(
                    Finding::new(
                        &r::LOG_EDITED,
                        format!(
                            "event seq {}: the hash does not match the line's content (the line was edited)",
                            line.seq
                        ),
                    )
                    .at(at(n)),
                );
            }
            match &head {
                None if fi == 0 && n == 1 && (line.seq != 0 || line.prev != GENESIS) => {
                    report.push(
                            Finding::new(
                                &r::LOG_STARTS_MID_CHAIN,
                                format!(
                                    "the first file starts at seq {}; give the files before it to check the chain from the start",
                                    line.seq
                                ),
                            )
                            .at(at(n)),
                        );
                }
                Some(h) if line.prev != h.hash || line.seq != h.seq.wrapping_add(1) => {
                    let what = if line.seq <= h.seq {
                        format!(
                            "event seq {} follows seq {}: lines were reordered, duplicated or inserted",
                            line.seq, h.seq
                        )
                    } else if line.seq > h.seq.wrapping_add(1) {
                        format!(
                            "event seq {} follows seq {}: {} event(s) are missing (deleted or truncated)",
                            line.seq,
                            h.seq,
                            line.seq - h.seq - 1
                        )
                    } else {
                        format!(
                            "event seq {}: `prev` is not the hash of the line before it (a line was replaced)",
                            line.seq
                        )
                    };
                    let what = if n == 1 && fi > 0 {
                        format!(
                            "{what}; at the start of this file, after `{}`",
                            paths[fi - 1].display()
                        )
                    } else {
                        what
                    };
                    report.push(Finding::new(&r::LOG_CHAIN_BROKEN, what).at(at(n)));
                }
                // In order; or after a malformed line or an unreadable file, where the chain
                // resynchronises silently (that break is already reported).
                _ => {}
            }
            head = Some(Head {
                seq: line.seq,
                hash: line.hash,
            });
        }
        if complete_to < bytes.len() {
            let n = bytes[..complete_to].iter().filter(|&&b| b == b'\n').count() + 1;
            report.push(
                Finding::new(
                    &r::LOG_PARTIAL_TAIL,
                    format!(
                        "{} byte(s) after the last complete line: a write cut short (a crash); the events before it are intact",
                        bytes.len() - complete_to
                    ),
                )
                .at(at(n)),
            );
        }
    }
    if let Some(first) = report.findings.iter().find(|f| f.severity.fails())
        && let Some(loc) = &first.location
    {
        let at = match loc.line {
            Some(line) => format!("{}:{line}", loc.path),
            None => loc.path.clone(),
        };
        report.fact("first_bad_line", at);
    }
    report.fact("events", events);
    report.fact("files", paths.len());
    if let Some(s) = first_seq {
        report.fact("first_seq", s);
    }
    if let Some(h) = &head {
        report.fact("last_seq", h.seq);
        report.fact("head", h.hash.clone());
    }
    report.finish();
    report
}
