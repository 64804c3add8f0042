//! What the serve/proxy integration tests share: a `modelsec serve`/`proxy` child on loopback
//! (with a file-descriptor limit when asked), raw HTTP/1.1 requests with timeouts, a prober
//! that checks health and a benign client against their latency budgets while an attack runs,
//! attackers on threads, /proc readings (peak memory, open descriptors), /metrics samples and
//! the event log.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub(crate) fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx")
}

/// A running `modelsec serve` or `proxy`; killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `modelsec <command> … --listen 127.0.0.1:0 --config <config> --log <log>`, with the
    /// file-descriptor limit set to `nofile` (soft and hard) when given.
    pub(crate) fn spawn(command: &[&str], config: &str, nofile: Option<u32>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("monitor.toml");
        std::fs::write(&cfg, config).unwrap();
        let log = dir.path().join("events.jsonl");
        let bin = env!("CARGO_BIN_EXE_modelsec");
        let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
        args.extend(["--listen", "127.0.0.1:0", "--config"].map(String::from));
        args.push(cfg.display().to_string());
        args.push("--log".into());
        args.push(log.display().to_string());
        let mut cmd = match nofile {
            // `ulimit -n` sets the soft and the hard limit: the server cannot raise it.
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin)
                    .args(&args);
                c
            }
            None => {
                let mut c = Command::new(bin);
                c.args(&args);
                c
            }
        };
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let addr = crate::common::listening_addr(&mut child).parse().unwrap();
        Server {
            child,
            addr,
            log,
            _dir: dir,
        }
    }

    /// A `/proc/<pid>/status` field in KiB (VmHWM: peak resident memory).
    pub(crate) fn status_kib(&self, field: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find_map(|l| {
                l.strip_prefix(field)?
                    .trim_start_matches(':')
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    pub(crate) fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    pub(crate) fn metrics(&self) -> String {
        request(
            self.addr,
            "GET",
            "/metrics",
            None,
            b"",
            Duration::from_secs(5),
        )
        .1
    }

    /// SIGTERM; how long the server took to exit (it must, within `limit`), and its events.
    pub(crate) fn stop(&mut self, limit: Duration) -> (Duration, Vec<Value>) {
        let t = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            assert!(
                t.elapsed() < limit,
                "the server did not stop within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        (t.elapsed(), events(&self.log))
    }

    /// `modelsec log verify` over the log: exit 0.
    pub(crate) fn verify_log(&self) {
        let out = Command::new(env!("CARGO_BIN_EXE_modelsec"))
            .args(["log", "verify"])
            .arg(&self.log)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "log verify: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn events(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub(crate) fn findings<'a>(events: &'a [Value], signal: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "finding" && e["signal"]["id"] == signal)
        .collect()
}

/// The value of a Prometheus sample line (`name{labels} value`).
pub(crate) fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no sample `{name}` in /metrics"))
}

/// One HTTP/1.1 request (connection closed after); (status, body, time). Status 0: no answer
/// (refused, reset, or nothing within `timeout`).
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> (u16, String, Duration) {
    let t = Instant::now();
    let Ok(mut s) = TcpStream::connect_timeout(&addr, timeout) else {
        return (0, String::new(), t.elapsed());
    };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes()).is_err() || s.write_all(body).is_err() {
        return (0, String::new(), t.elapsed());
    }
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body, t.elapsed())
}

pub(crate) fn infer_body(inputs: Value) -> Vec<u8> {
    json!({ "inputs": inputs }).to_string().into_bytes()
}

/// Health checks and a benign request, every 100 ms until stopped, each against its latency
/// budget; what went wrong, if anything.
pub(crate) struct Prober {
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicUsize>,
    handle: std::thread::JoinHandle<(usize, Vec<String>)>,
}

impl Prober {
    pub(crate) fn start(
        addr: SocketAddr,
        health_budget: Duration,
        benign: impl Fn() -> (u16, String, Duration) + Send + 'static,
        benign_budget: Duration,
    ) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let (s, d) = (stop.clone(), done.clone());
        let handle = std::thread::spawn(move || {
            let mut bad = vec![];
            let mut rounds = 0;
            while !s.load(Ordering::Relaxed) {
                rounds += 1;
                let (code, _, took) = request(
                    addr,
                    "GET",
                    "/v2/health/ready",
                    None,
                    b"",
                    health_budget * 4,
                );
                if code != 200 || took > health_budget {
                    bad.push(format!("health: {code} in {took:?}"));
                }
                let (code, body, took) = benign();
                if code != 200 || took > benign_budget {
                    bad.push(format!("benign: {code} in {took:?}: {body}"));
                }
                d.store(rounds, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
            (rounds, bad)
        });
        Prober {
            stop,
            rounds: done,
            handle,
        }
    }

    /// Rounds completed so far.
    pub(crate) fn rounds(&self) -> usize {
        self.rounds.load(Ordering::Relaxed)
    }

    /// Whether an attack should go on so that the prober sees it: for `secs` seconds from
    /// `since`, then until `min` rounds are done (on a loaded machine a round can take much
    /// longer than its 100 ms pause), but not past 120 s (then `finish` says too few rounds).
    pub(crate) fn wants(&self, since: Instant, secs: f64, min: usize) -> bool {
        let t = since.elapsed();
        t < Duration::from_secs_f64(secs) || (self.rounds() < min && t < Duration::from_secs(120))
    }

    /// Stop; the rounds probed (at least `min`) and no failure.
    pub(crate) fn finish(self, min: usize) {
        self.stop.store(true, Ordering::Relaxed);
        let (rounds, bad) = self.handle.join().unwrap();
        assert!(
            bad.is_empty(),
            "{} of {rounds} rounds failed: {bad:?}",
            bad.len()
        );
        assert!(rounds >= min, "only {rounds} probe rounds");
    }
}

/// Run `attack` on `threads` threads for `secs` seconds and until `prober` has probed `min`
/// rounds during it ([`Prober::wants`]); the statuses it got.
pub(crate) fn attack(
    threads: usize,
    secs: f64,
    prober: &Prober,
    min: usize,
    attack: impl Fn(usize) -> u16 + Send + Sync,
) -> Vec<u16> {
    let since = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let a = &attack;
                s.spawn(move || {
                    let mut codes = vec![];
                    let mut i = 0;
                    while prober.wants(since, secs, min) {
                        codes.push(a(t * 1000 + i));
                        i += 1;
                    }
                    codes
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

pub(crate) fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Two API keys: `attacker` and `benign`; no rate limit (the attacks are what is tested).
pub(crate) fn two_keys() -> String {
    format!(
        "[auth]\nrequired = true\n[[auth.keys]]\nclient = \"attacker\"\nsha256 = \"{}\"\n[[auth.keys]]\nclient = \"benign\"\nsha256 = \"{}\"\n[limits]\nrate = 0\n",
        sha256_hex("attacker-key"),
        sha256_hex("benign-key")
    )
}

pub(crate) const MIB: u64 = 1024;
/// Health checks never wait on inference, upstreams or other clients' connections.
pub(crate) const HEALTH_BUDGET: Duration = Duration::from_secs(1);
/// A benign request while an attack goes on.
pub(crate) const BENIGN_BUDGET: Duration = Duration::from_secs(2);
