//! Crash isolation: `fuzz` runs the model in a child process (the same executable, marked by
//! [`WORKER_ENV`]) under an address-space cap. The worker streams its progress on stdout, one
//! JSON event per line — each probe as it starts (with its time limit and input shapes), each
//! finding and fact as it is made — so the supervisor always knows what was running and keeps
//! everything found before a crash or a hang. A probe that kills or hangs ONNX Runtime becomes
//! a finding naming it (with its input as the reproducer), and a new worker resumes after it
//! (up to [`MAX_RESTARTS`] times). A worker that fails for a reason of modelsec's own (a
//! panic, an allocation of modelsec's) or of fuzz's memory cap is not blamed on the model.

use super::ctx::{Control, Events};
use super::{FuzzError, FuzzOptions, rules as fr};
use crate::report::{Finding, Location, Report, RuleInfo};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Set in the child process that actually runs the model; its value is the JSON [`Control`].
pub const WORKER_ENV: &str = "MODELSEC_FUZZ_WORKER";
/// Workers started after the first, at most.
pub const MAX_RESTARTS: usize = 4;

/// Whether this process is a fuzzing worker, and if so how it is to run.
pub fn worker_control() -> Option<Control> {
    let v = std::env::var(WORKER_ENV).ok()?;
    Some(serde_json::from_str(&v).unwrap_or_default())
}

/// Why the supervisor could not get a report (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The worker could not be started or watched.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The worker could not run (exit 2) and said why.
    #[error("{0}")]
    WorkerFailed(String),
}

/// One event of the worker's stream.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Event {
    Stage {
        id: String,
        text: String,
        limit_ms: Option<u64>,
        input: Option<serde_json::Value>,
    },
    Finding(Box<Finding>),
    Fact(String, serde_json::Value),
    Error(String),
    Done,
}

/// The worker's side of the stream: JSON lines on `out`.
pub struct Stream<W: Write> {
    out: W,
}

impl<W: Write> Stream<W> {
    pub fn new(out: W) -> Self {
        Stream { out }
    }

    fn send(&mut self, e: &Event) {
        if let Ok(mut line) = serde_json::to_vec(e) {
            line.push(b'\n');
            // One write per event; a broken pipe means the supervisor is gone.
            let _ = self.out.write_all(&line);
            let _ = self.out.flush();
        }
    }
}

impl<W: Write> Events for Stream<W> {
    fn stage(
        &mut self,
        id: &str,
        text: &str,
        limit: Option<Duration>,
        input: Option<&serde_json::Value>,
    ) {
        self.send(&Event::Stage {
            id: id.into(),
            text: text.into(),
            limit_ms: limit.map(|d| d.as_millis() as u64),
            input: input.cloned(),
        });
    }
    fn finding(&mut self, f: &Finding) {
        self.send(&Event::Finding(Box::new(f.clone())));
    }
    fn fact(&mut self, key: &str, value: &serde_json::Value) {
        self.send(&Event::Fact(key.into(), value.clone()));
    }
}

/// In the worker: cap the address space, fuzz, and stream everything to stdout. Returns
/// whether the run completed (false: it could not run, and said why on the stream).
pub fn worker(opts: &FuzzOptions, control: &Control) -> bool {
    let mut stream = Stream::new(std::io::stdout().lock());
    if let Some(mib) = opts.memory_limit_mib {
        let bytes = mib.saturating_mul(1 << 20);
        if let Err(e) = rlimit::setrlimit(rlimit::Resource::AS, bytes, bytes) {
            stream.send(&Event::Error(format!(
                "cannot set the fuzzing worker's memory limit (--memory-limit): {e}"
            )));
            return false;
        }
    }
    match super::fuzz_with(opts, &mut stream, control) {
        Ok(_) => {
            stream.send(&Event::Done);
            true
        }
        Err(e) => {
            let msg = match (&e, opts.memory_limit_mib) {
                (FuzzError::Onnx(crate::onnx::OnnxError::Model { message, .. }), Some(mib))
                    if message.contains("alloc") || message.contains("memory") =>
                {
                    format!(
                        "{e}\n(the model runs under --memory-limit {mib} MiB; if it needs more, raise it, or 0 for none)"
                    )
                }
                _ => e.to_string(),
            };
            stream.send(&Event::Error(msg));
            false
        }
    }
}

/// How to start the worker: this executable and the arguments it was given.
pub struct Command {
    /// The executable (normally `std::env::current_exe()`).
    pub exe: PathBuf,
    /// Its arguments (normally the process's own, without argv\[0\]).
    pub args: Vec<OsString>,
}

/// What the supervisor has collected so far.
#[derive(Default)]
struct Collected {
    facts: BTreeMap<String, serde_json::Value>,
    findings: Vec<Finding>,
}

impl Collected {
    fn add(&mut self, f: Finding) {
        if !self
            .findings
            .iter()
            .any(|g| g.rule_id == f.rule_id && g.message == f.message)
        {
            self.findings.push(f);
        }
    }
}

/// The probe running when a worker ended.
#[derive(Clone, Debug, Default)]
struct Stage {
    id: String,
    text: String,
    limit: Option<Duration>,
    input: Option<serde_json::Value>,
}

/// How one worker ended.
enum End {
    Done,
    Failed(String),
    Died {
        stage: Stage,
        status: std::process::ExitStatus,
        stderr: String,
    },
    Hung {
        stage: Stage,
        waited: Duration,
        whole_run: bool,
    },
}

/// Run one worker until it ends, collecting its events.
fn run_worker(
    cmd: &Command,
    control: &Control,
    deadline: Instant,
    got: &mut Collected,
) -> Result<End, SupervisorError> {
    let io = |what| move |source| SupervisorError::Io { what, source };
    let control_json = serde_json::to_string(control).unwrap_or_else(|_| "{}".into());
    let mut child = std::process::Command::new(&cmd.exe)
        .args(&cmd.args)
        .env(WORKER_ENV, control_json)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(io("cannot start the fuzzing worker process"))?;
    let out = child.stdout.take().ok_or_else(|| SupervisorError::Io {
        what: "worker stdout",
        source: std::io::Error::other("not piped"),
    })?;
    let mut err = child.stderr.take().ok_or_else(|| SupervisorError::Io {
        what: "worker stderr",
        source: std::io::Error::other("not piped"),
    })?;
    let (tx, rx) = mpsc::channel::<Event>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Ok(e) = serde_json::from_str::<Event>(&line)
                && tx.send(e).is_err()
            {
                break;
            }
        }
    });
    let (err_tx, err_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        // The last 64 KiB is all a message needs.
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > 1 << 16 {
                tail.drain(..tail.len() - (1 << 16));
            }
        }
        let _ = err_tx.send(String::from_utf8_lossy(&tail).into_owned());
    });
    let mut stage = Stage {
        id: "setup:start".into(),
        text: "starting".into(),
        ..Stage::default()
    };
    let mut stage_started = Instant::now();
    let mut done = false;
    let mut failed: Option<String> = None;
    let mut handle = |e: Event, stage: &mut Stage, started: &mut Instant| match e {
        Event::Stage {
            id,
            text,
            limit_ms,
            input,
        } => {
            *stage = Stage {
                id,
                text,
                limit: limit_ms.map(Duration::from_millis),
                input,
            };
            *started = Instant::now();
        }
        Event::Finding(f) => got.add(*f),
        Event::Fact(k, v) => {
            got.facts.insert(k, v);
        }
        Event::Error(m) => failed = Some(m),
        Event::Done => done = true,
    };
    let end = loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(e) => {
                handle(e, &mut stage, &mut stage_started);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().map_err(io("waiting for the fuzzing worker"))?;
                break Ok(status);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let now = Instant::now();
        let stage_over = stage
            .limit
            .is_some_and(|l| now.duration_since(stage_started) > l);
        if now >= deadline || stage_over {
            let _ = child.kill();
            let _ = child.wait();
            break Err((now.duration_since(stage_started), now >= deadline));
        }
    };
    // Drain what the worker said before it ended. A process it left behind may hold the pipes
    // open: wait a little, never forever.
    let grace = Instant::now() + Duration::from_secs(1);
    while let Ok(e) = rx.recv_timeout(grace.saturating_duration_since(Instant::now())) {
        handle(e, &mut stage, &mut stage_started);
    }
    if reader.is_finished() {
        let _ = reader.join();
    }
    let stderr = err_rx
        .recv_timeout(grace.saturating_duration_since(Instant::now()))
        .unwrap_or_default();
    Ok(match end {
        _ if done => End::Done,
        _ if failed.is_some() => End::Failed(failed.unwrap_or_default()),
        Ok(status) if status.code() == Some(2) && !stderr.trim().is_empty() => {
            End::Failed(stderr.trim().trim_start_matches("error: ").to_string())
        }
        Ok(status) => End::Died {
            stage,
            status,
            stderr,
        },
        Err((waited, whole_run)) => End::Hung {
            stage,
            waited,
            whole_run,
        },
    })
}

/// The last line of stderr worth quoting.
fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

/// In the supervisor: run workers until the run completes, turning each death or silence into
/// a finding naming the probe that caused it.
pub fn supervise(
    cmd: &Command,
    opts: &FuzzOptions,
    timeout: Duration,
) -> Result<Report, SupervisorError> {
    let started = Instant::now();
    let deadline = started + timeout.max(Duration::from_secs(1));
    let mut got = Collected::default();
    let mut control = Control::default();
    let shown = opts.model.display().to_string();
    let loc = || Location::path(shown.clone());
    for restart in 0..=MAX_RESTARTS {
        let end = run_worker(cmd, &control, deadline, &mut got)?;
        let (stage, finding) = match end {
            End::Done => break,
            End::Failed(msg) => return Err(SupervisorError::WorkerFailed(msg)),
            End::Died {
                stage,
                status,
                stderr,
            } => {
                use std::os::unix::process::ExitStatusExt;
                let how = match (status.signal(), status.code()) {
                    (Some(sig), _) => format!("signal {sig}"),
                    (None, Some(code)) => format!("exit code {code}"),
                    _ => "unknown status".to_string(),
                };
                let tail = last_line(&stderr);
                let quoted = if tail.is_empty() {
                    String::new()
                } else {
                    format!("; last message: {tail}")
                };
                let f = if stderr.contains("panicked at") || stderr.contains("memory allocation of")
                {
                    let why = if stderr.contains("memory allocation of") {
                        "modelsec could not allocate the probe's input under --memory-limit"
                    } else {
                        "modelsec itself failed (a bug in modelsec, please report it)"
                    };
                    Finding::new(
                        &fr::PROBE_SKIPPED,
                        format!("{}: not counted: {why} ({how}{quoted})", stage.text),
                    )
                } else if stderr.contains("bad_alloc") || stderr.contains("Failed to allocate") {
                    Finding::new(
                        &fr::PROBE_SKIPPED,
                        format!(
                            "{}: not counted: ONNX Runtime ran out of memory under fuzz's --memory-limit and died ({how}{quoted}); raise --memory-limit to test it",
                            stage.text
                        ),
                    )
                } else {
                    let mut f = Finding::new(
                        &fr::RUNTIME_CRASH,
                        format!("ONNX Runtime died ({how}) during: {}{quoted}", stage.text),
                    );
                    if let Some(input) = &stage.input {
                        f = f.with_reproducer(input.clone());
                    }
                    f
                };
                (stage, f)
            }
            End::Hung {
                stage,
                waited,
                whole_run,
            } => {
                let limit = if whole_run {
                    format!("the run's --timeout of {} s", timeout.as_secs())
                } else {
                    format!(
                        "{:.1} s (30× the measured time of a valid run, at least 10 s)",
                        waited.as_secs_f64()
                    )
                };
                let mut f = Finding::new(
                    &fr::RUNTIME_HANG,
                    format!(
                        "inference did not finish within {limit}; the probe running was: {}",
                        stage.text
                    ),
                );
                if let Some(input) = &stage.input {
                    f = f.with_reproducer(input.clone());
                }
                (stage, f)
            }
        };
        got.add(finding.at(loc()));
        let out_of_time = Instant::now() + Duration::from_secs(2) >= deadline;
        if stage.id.starts_with("setup:") || out_of_time {
            break;
        }
        if restart == MAX_RESTARTS {
            got.add(
                Finding::new(
                    &fr::PROBE_SKIPPED,
                    format!(
                        "the remaining probes: not run after {} worker restarts",
                        MAX_RESTARTS + 1
                    ),
                )
                .at(loc()),
            );
            break;
        }
        // Resume after the probe that ended the worker, with what is left of the budget.
        control.resume_after = Some(stage.id.clone());
        control.skip.push(stage.id);
        let used = started.elapsed().as_secs_f64();
        control.budget_seconds = Some((opts.budget_seconds - used).max(1.0));
    }
    let mut report = Report::new("fuzz", fr::ALL);
    report.targets = vec![shown];
    report.rules = fr::ALL.iter().map(RuleInfo::from).collect();
    report.facts = got.facts;
    report.facts.insert(
        "seconds_total".into(),
        ((started.elapsed().as_secs_f64() * 100.0).round() / 100.0).into(),
    );
    report.findings = got.findings;
    report.finish();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker played by a shell script: what it prints is the event stream.
    fn script(body: &str) -> Command {
        Command {
            exe: "/bin/sh".into(),
            args: vec!["-c".into(), body.into()],
        }
    }

    fn event(e: &Event) -> String {
        let line = serde_json::to_string(e).unwrap();
        format!("echo '{}'", line.replace('\'', "'\\''"))
    }

    fn stage(id: &str, text: &str, limit_ms: Option<u64>) -> String {
        event(&Event::Stage {
            id: id.into(),
            text: text.into(),
            limit_ms,
            input: Some(
                serde_json::json!({ "input": { "x": { "dtype": "f32", "shape": [0, 4] } } }),
            ),
        })
    }

    fn found(message: &str) -> String {
        event(&Event::Finding(Box::new(Finding::new(
            &fr::ACCEPTS_NONFINITE,
            message,
        ))))
    }

    /// First run: a finding, then the probe that kills it; resumed: another finding, done.
    fn crashing(kill: &str) -> Command {
        script(&format!(
            "case \"$MODELSEC_FUZZ_WORKER\" in *batch-empty*) {}; {}; exit 0;; esac\n{}\n{}\n{}\n{kill}",
            found("after the crash"),
            event(&Event::Done),
            stage("setup:load", "loading", None),
            found("before the crash"),
            stage("batch-empty", "an empty batch (x [0, 4])", None),
        ))
    }

    fn opts() -> FuzzOptions {
        FuzzOptions::new("m.onnx".into())
    }

    fn ids(r: &Report) -> Vec<(&str, &str)> {
        r.findings
            .iter()
            .map(|f| (f.rule_id.as_str(), f.message.as_str()))
            .collect()
    }

    #[test]
    fn a_crash_keeps_what_came_before_and_the_run_resumes_after_it() {
        let r = supervise(&crashing("kill -ABRT $$"), &opts(), Duration::from_secs(30)).unwrap();
        let found = ids(&r);
        assert!(
            found.contains(&("fuzz/accepts-nonfinite-input", "before the crash")),
            "{found:?}"
        );
        assert!(
            found.contains(&("fuzz/accepts-nonfinite-input", "after the crash")),
            "{found:?}"
        );
        let crash = r
            .findings
            .iter()
            .find(|f| f.rule_id == "fuzz/runtime-crash")
            .unwrap();
        assert!(
            crash.message.contains("signal 6")
                && crash.message.contains("an empty batch (x [0, 4])")
        );
        assert_eq!(
            crash.reproducer.as_ref().unwrap()["input"]["x"]["shape"],
            serde_json::json!([0, 4])
        );
    }

    #[test]
    fn a_probe_over_its_time_limit_is_a_hang_and_the_run_resumes() {
        let cmd = script(&format!(
            "case \"$MODELSEC_FUZZ_WORKER\" in *batch-large*) {}; exit 0;; esac\n{}\n{}\nsleep 20",
            event(&Event::Done),
            found("before the hang"),
            stage("batch-large", "a batch of 4096 rows", Some(200)),
        ));
        let started = Instant::now();
        let r = supervise(&cmd, &opts(), Duration::from_secs(30)).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the probe's own limit applies"
        );
        let hang = r
            .findings
            .iter()
            .find(|f| f.rule_id == "fuzz/runtime-hang")
            .unwrap();
        assert!(
            hang.message.contains("a batch of 4096 rows"),
            "{}",
            hang.message
        );
        assert!(ids(&r).contains(&("fuzz/accepts-nonfinite-input", "before the hang")));
    }

    #[test]
    fn modelsec_own_failures_are_not_the_models() {
        // A panic of modelsec's own (exit 101 with Rust's message) skips the probe.
        let r = supervise(
            &crashing("echo \"thread 'main' panicked at src/x.rs:1:1: index out of bounds\" >&2; exit 101"),
            &opts(),
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(
            r.findings.iter().all(|f| f.rule_id != "fuzz/runtime-crash"),
            "{:?}",
            ids(&r)
        );
        let skipped = r
            .findings
            .iter()
            .find(|f| f.rule_id == "fuzz/probe-skipped")
            .unwrap();
        assert!(
            skipped.message.contains("modelsec itself failed"),
            "{}",
            skipped.message
        );
        // An allocation failure under fuzz's own cap is fuzz's limit, not a crash of the model.
        let r = supervise(
            &crashing("echo \"terminate called after throwing an instance of 'std::bad_alloc'\" >&2; kill -ABRT $$"),
            &opts(),
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(r.findings.iter().all(|f| f.rule_id != "fuzz/runtime-crash"));
        // A worker that cannot run says why: exit 2, not a report.
        let e = supervise(
            &script(&event(&Event::Error("no such input".into()))),
            &opts(),
            Duration::from_secs(30),
        );
        assert!(matches!(e, Err(SupervisorError::WorkerFailed(m)) if m == "no such input"));
    }
}
