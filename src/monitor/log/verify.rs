//! `modelsec log verify`: every line's hash, `seq`/`prev` continuity within and across files,
//! the genesis record at the start, checkpoints (signatures with `--key`) and the tail after the
//! last one. Files are grouped into chains by name (`<log>.<seq>` rotated files, then `<log>`),
//! so the logs of several replicas verify in one call.

use super::checkpoint::{self, Seen};
use super::{GENESIS, GROUP_EVENTS, Head, parse_line};
use crate::report::{Finding, Location, Report};
use crate::signing::VerifyingKey;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Findings listed at most; the rest are counted (junk input must not cost gigabytes).
pub const MAX_FINDINGS: usize = 1000;
/// A longer line is not an event (and is not held in memory).
const MAX_LINE: usize = 1 << 20;
/// Seconds a writer may be late with a checkpoint (a slow disk, a busy machine).
const SLACK_SECONDS: i64 = 5;

/// What to verify against.
#[derive(Default)]
pub struct VerifyOptions {
    /// The checkpoint public key: without it, signatures are not checked (and a fully
    /// re-hashed forgery cannot be told from the real log).
    pub key: Option<VerifyingKey>,
    /// The time to judge the tail against (default: now).
    pub now: Option<jiff::Timestamp>,
}

/// [`verify_with`] without a key.
pub fn verify(paths: &[PathBuf]) -> Report {
    verify_with(paths, &VerifyOptions::default())
}

/// Files that form one chain: a name's rotated files in seq order, then the active file.
fn chains(paths: &[PathBuf]) -> Vec<(String, Vec<PathBuf>)> {
    /// A file and where it goes in its chain: (first seq, collision number) of a rotated file.
    type Placed = (u64, u64, PathBuf);
    let mut out: Vec<(String, Vec<Placed>)> = Vec::new();
    for p in paths {
        let name = p.display().to_string();
        // `<base>.<12 digits>` or `<base>.<12 digits>-<n>`: a rotated file of `<base>`.
        let (base, order) = match name.rsplit_once('.') {
            Some((base, tail)) => {
                let (digits, n) = tail.split_once('-').unwrap_or((tail, "0"));
                match (digits.len() == 12, digits.parse::<u64>(), n.parse::<u64>()) {
                    (true, Ok(s), Ok(n)) => (base.to_string(), (s, n)),
                    _ => (name.clone(), (u64::MAX, u64::MAX)),
                }
            }
            None => (name.clone(), (u64::MAX, u64::MAX)),
        };
        match out.iter_mut().find(|(b, _)| *b == base) {
            Some((_, files)) => files.push((order.0, order.1, p.clone())),
            None => out.push((base, vec![(order.0, order.1, p.clone())])),
        }
    }
    out.into_iter()
        .map(|(b, mut f)| {
            f.sort_by_key(|(s, n, _)| (*s, *n));
            (b, f.into_iter().map(|(_, _, p)| p).collect())
        })
        .collect()
}

/// Collects findings up to [`MAX_FINDINGS`], remembering the first failing one.
struct Sink {
    report: Report,
    omitted: u64,
    first_bad: Option<String>,
}

impl Sink {
    fn push(&mut self, f: Finding) {
        if f.severity.fails()
            && self.first_bad.is_none()
            && let Some(loc) = &f.location
        {
            self.first_bad = Some(match loc.line {
                Some(line) => format!("{}:{line}", loc.path),
                None => loc.path.clone(),
            });
        }
        if self.report.findings.len() < MAX_FINDINGS {
            self.report.push(f);
        } else {
            self.omitted += 1;
        }
    }
}

fn at(path: &Path, line: u64) -> Location {
    Location {
        path: path.display().to_string(),
        line: Some(line),
        ..Location::default()
    }
}

/// One chain's state while its lines are read.
#[derive(Default)]
struct Chain {
    head: Option<Head>,
    events: u64,
    first_seq: Option<u64>,
    replica: String,
    checkpoints: u64,
    /// The last checkpoint and where it is.
    last_cp: Option<(Seen, PathBuf, u64)>,
    /// The last checkpoint whose signature verified: the seq it covers.
    signed_through: Option<u64>,
    /// Events after the last checkpoint, and the first one's time.
    since_cp: u64,
    first_after_cp: Option<jiff::Timestamp>,
    last_time: Option<jiff::Timestamp>,
    /// Whether the last line read is a closing checkpoint.
    closed: bool,
    /// Where the last event is.
    last_at: Option<(PathBuf, u64)>,
}

/// Verify log files: every line's hash; `seq`/`prev` continuity within and across files; that
/// each chain starts at its genesis record; checkpoints (signatures with a key); and the tail
/// after the last checkpoint. Findings name the file and line of each break.
pub fn verify_with(paths: &[PathBuf], opts: &VerifyOptions) -> Report {
    use crate::monitor::rules::log as r;
    let mut sink = Sink {
        report: Report::new("log verify", r::ALL),
        omitted: 0,
        first_bad: None,
    };
    sink.report.targets = paths.iter().map(|p| p.display().to_string()).collect();
    let key_hint = opts.key.as_ref().and_then(|k| k.hint().ok());
    let now = opts.now.unwrap_or_else(jiff::Timestamp::now);
    let mut total = 0u64;
    let mut summaries = Vec::new();
    let groups = chains(paths);
    for (name, files) in &groups {
        let mut c = Chain::default();
        for (fi, path) in files.iter().enumerate() {
            read_file(
                &mut sink,
                &mut c,
                path,
                fi,
                files,
                opts,
                key_hint.as_deref(),
            );
        }
        finish_chain(&mut sink, &c, name, files, opts, now);
        total += c.events;
        let mut s = serde_json::Map::new();
        s.insert("log".into(), name.clone().into());
        s.insert("replica".into(), c.replica.clone().into());
        s.insert("events".into(), c.events.into());
        s.insert("checkpoints".into(), c.checkpoints.into());
        if let Some(f) = c.first_seq {
            s.insert("first_seq".into(), f.into());
        }
        if let Some(h) = &c.head {
            s.insert("last_seq".into(), h.seq.into());
            s.insert("head".into(), h.hash.clone().into());
        }
        if let Some(t) = c.signed_through {
            s.insert("signed_through".into(), t.into());
        }
        summaries.push(serde_json::Value::Object(s));
    }
    if sink.omitted > 0 {
        let n = sink.omitted;
        sink.omitted = 0;
        sink.report.findings.push(Finding::new(
            &r::LOG_FINDINGS_CAPPED,
            format!("{n} more finding(s) are not listed (at most {MAX_FINDINGS} are)"),
        ));
    }
    let Sink {
        mut report,
        first_bad,
        ..
    } = sink;
    if let Some(b) = first_bad {
        report.fact("first_bad_line", b);
    }
    report.fact("events", total);
    report.fact("files", paths.len());
    report.fact(
        "signatures",
        if opts.key.is_some() {
            "checked"
        } else {
            "not checked (no --key)"
        },
    );
    if let [one] = summaries.as_slice() {
        for k in ["first_seq", "last_seq", "head", "signed_through"] {
            if let Some(v) = one.get(k) {
                report.fact(k, v.clone());
            }
        }
    }
    report.fact("chains", summaries);
    report.finish();
    report
}

/// Read one file of a chain, line by line (memory stays at one line).
fn read_file(
    sink: &mut Sink,
    c: &mut Chain,
    path: &Path,
    fi: usize,
    files: &[PathBuf],
    opts: &VerifyOptions,
    key_hint: Option<&str>,
) {
    use crate::monitor::rules::log as r;
    // A FIFO or device is refused, not read forever.
    let file = match crate::util::fs::open_regular(path) {
        Ok(f) => f,
        Err(e) => {
            sink.push(
                Finding::new(&r::LOG_UNREADABLE, format!("cannot read: {e}"))
                    .at(Location::path(path.display().to_string())),
            );
            c.head = None;
            return;
        }
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        let got = match (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(g) => g,
            Err(e) => {
                sink.push(
                    Finding::new(&r::LOG_UNREADABLE, format!("cannot read: {e}")).at(at(path, n)),
                );
                c.head = None;
                return;
            }
        };
        if got == 0 {
            return;
        }
        n += 1;
        if buf.last() != Some(&b'\n') {
            if buf.len() > MAX_LINE {
                sink.push(
                    Finding::new(&r::LOG_MALFORMED, "the line is longer than 1 MiB")
                        .at(at(path, n)),
                );
                c.head = None;
                // Skip to the end of the line.
                loop {
                    buf.clear();
                    match (&mut reader).take(1 << 16).read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(_) if buf.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                    }
                }
                continue;
            }
            sink.push(
                Finding::new(
                    &r::LOG_PARTIAL_TAIL,
                    format!(
                        "{} byte(s) after the last complete line: a write cut short (a crash); the events before it are intact",
                        buf.len()
                    ),
                )
                .at(at(path, n)),
            );
            return;
        }
        buf.pop();
        line(sink, c, &buf, path, n, fi, files, opts, key_hint);
    }
}

/// Check one complete line.
#[allow(clippy::too_many_arguments)]
fn line(
    sink: &mut Sink,
    c: &mut Chain,
    raw: &[u8],
    path: &Path,
    n: u64,
    fi: usize,
    files: &[PathBuf],
    opts: &VerifyOptions,
    key_hint: Option<&str>,
) {
    use crate::monitor::rules::log as r;
    let Ok(text) = std::str::from_utf8(raw) else {
        sink.push(Finding::new(&r::LOG_MALFORMED, "the line is not UTF-8").at(at(path, n)));
        c.head = None;
        return;
    };
    let line = match parse_line(text) {
        Ok(l) => l,
        Err(m) => {
            sink.push(Finding::new(&r::LOG_MALFORMED, m).at(at(path, n)));
            c.head = None;
            return;
        }
    };
    c.events += 1;
    c.first_seq.get_or_insert(line.seq);
    if !line.hash_ok {
        sink.push(
            Finding::new(
                &r::LOG_EDITED,
                format!(
                    "event seq {}: the hash does not match the line's content (the line was edited)",
                    line.seq
                ),
            )
            .at(at(path, n)),
        );
    }
    let kind = line
        .value
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("");
    match &c.head {
        None if fi == 0 && n == 1 && c.events == 1 => {
            if line.seq != 0 || line.prev != GENESIS {
                sink.push(
                    Finding::new(
                        &r::LOG_STARTS_MID_CHAIN,
                        format!(
                            "the chain starts at seq {}, not at its genesis record: {} older event(s) are missing (deleted, or their rotated files not given)",
                            line.seq, line.seq
                        ),
                    )
                    .at(at(path, n)),
                );
            } else if kind != "genesis" {
                sink.push(
                    Finding::new(
                        &r::LOG_NO_GENESIS,
                        "the chain's first event is not a genesis record: written by a modelsec before 0.x recorded one, or rewritten from its start",
                    )
                    .at(at(path, n)),
                );
            }
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
                    files[fi - 1].display()
                )
            } else {
                what
            };
            sink.push(Finding::new(&r::LOG_CHAIN_BROKEN, what).at(at(path, n)));
        }
        // In order; or after a malformed line or an unreadable file, where the chain
        // resynchronises silently (that break is already reported).
        _ => {}
    }
    let obj = line.value.as_object();
    if kind == "genesis"
        && let Some(rep) = obj.and_then(|o| o.get("replica")).and_then(|v| v.as_str())
    {
        c.replica = rep.to_string();
    }
    let time = line
        .value
        .get("time")
        .and_then(|t| t.as_str())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    c.closed = false;
    if kind == "checkpoint"
        && let Some(o) = obj
    {
        c.checkpoints += 1;
        match checkpoint::read(o, opts.key.as_ref()) {
            Err(m) => sink.push(Finding::new(&r::LOG_MALFORMED, m).at(at(path, n))),
            Ok(seen) => {
                let mut good = true;
                if let Some(h) = &c.head
                    && (seen.covers != h.seq || seen.head != h.hash)
                {
                    good = false;
                    sink.push(
                        Finding::new(
                            &r::LOG_CHECKPOINT_INVALID,
                            format!(
                                "the checkpoint signs seq {} with head {}…, but the line before it is seq {} with hash {}…: the chain under it was rewritten",
                                seen.covers,
                                short(&seen.head),
                                h.seq,
                                short(&h.hash)
                            ),
                        )
                        .at(at(path, n)),
                    );
                }
                if seen.valid == Some(false) {
                    good = false;
                    let msg = match key_hint {
                        Some(k) if !seen.key.is_empty() && seen.key != k => format!(
                            "the checkpoint over seq {} is signed with another key (hint {}…), not the given one (hint {}…)",
                            seen.covers,
                            short(&seen.key),
                            short(k)
                        ),
                        _ => format!(
                            "the checkpoint over seq {}: its signature does not verify with the given key (the checkpoint was edited or forged)",
                            seen.covers
                        ),
                    };
                    sink.push(Finding::new(&r::LOG_CHECKPOINT_INVALID, msg).at(at(path, n)));
                }
                if good && seen.valid == Some(true) && line.hash_ok {
                    c.signed_through = Some(seen.covers);
                }
                if !seen.replica.is_empty() {
                    c.replica = seen.replica.clone();
                }
                c.closed = seen.last;
                c.last_cp = Some((seen, path.to_path_buf(), n));
                c.since_cp = 0;
                c.first_after_cp = None;
            }
        }
    } else {
        c.since_cp += 1;
        if c.first_after_cp.is_none() {
            c.first_after_cp = time;
        }
    }
    c.last_time = time.or(c.last_time);
    c.last_at = Some((path.to_path_buf(), n));
    c.head = Some(Head {
        seq: line.seq,
        hash: line.hash,
    });
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

/// What the end of a chain says: unsigned, cut, or open.
fn finish_chain(
    sink: &mut Sink,
    c: &Chain,
    name: &str,
    files: &[PathBuf],
    opts: &VerifyOptions,
    now: jiff::Timestamp,
) {
    use crate::monitor::rules::log as r;
    if c.events == 0 {
        if let Some(p) = files.first() {
            sink.push(
                Finding::new(
                    &r::LOG_EMPTY,
                    format!(
                        "`{name}`: no events (a writer begins every log with its genesis record)"
                    ),
                )
                .at(Location::path(p.display().to_string())),
            );
        }
        return;
    }
    let (last_path, last_line) = c
        .last_at
        .clone()
        .unwrap_or_else(|| (files.last().cloned().unwrap_or_default(), 0));
    let Some((cp, cp_path, cp_line)) = &c.last_cp else {
        if opts.key.is_some() {
            sink.push(
                Finding::new(
                    &r::LOG_UNSIGNED,
                    format!(
                        "`{name}`: no checkpoint in {} event(s): nothing vouches for this log (a re-hashed forgery verifies as well); set `[log] checkpoint_key`",
                        c.events
                    ),
                )
                .at(at(&last_path, last_line)),
            );
        }
        return;
    };
    if c.closed {
        return;
    }
    let every = cp.every_seconds as i64;
    let span = match (c.first_after_cp, c.last_time) {
        (Some(a), Some(b)) => (b - a).get_seconds(),
        _ => 0,
    };
    if c.since_cp > cp.every_events + GROUP_EVENTS as u64 || span > every + SLACK_SECONDS {
        sink.push(
            Finding::new(
                &r::LOG_TAIL_UNSIGNED,
                format!(
                    "{} event(s) over {span} s follow the last checkpoint (over seq {}, `{}`:{cp_line}), more than the writer leaves unsigned (a checkpoint every {} events or {every} s): checkpoints after it were removed and the tail rewritten, or the writer was restarted and killed before its next checkpoint; these events are not vouched for",
                    c.since_cp,
                    cp.covers,
                    cp_path.display(),
                    cp.every_events
                ),
            )
            .at(at(&last_path, last_line)),
        );
        return;
    }
    let age = cp.at.map(|t| (now - t).get_seconds());
    let when = cp.at.map(|t| t.to_string()).unwrap_or_default();
    match age {
        Some(age) if age <= 2 * every + SLACK_SECONDS => sink.push(
            Finding::new(
                &r::LOG_TAIL_OPEN,
                format!(
                    "the log is open: its last checkpoint (over seq {}) is {age} s old and {} event(s) after it are not signed yet (the next one is due within {every} s)",
                    cp.covers, c.since_cp
                ),
            )
            .at(at(&last_path, last_line)),
        ),
        _ => sink.push(
            Finding::new(
                &r::LOG_TAIL_CUT,
                format!(
                    "the log ends {} event(s) after its last checkpoint (over seq {}, at {when}) without the writer's closing checkpoint, and no checkpoint came since although one is written every {every} s: the tail was cut, or the writer was killed or crashed there",
                    c.since_cp, cp.covers
                ),
            )
            .at(at(&last_path, last_line)),
        ),
    }
}
