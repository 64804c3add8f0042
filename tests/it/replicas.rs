//! The monitor across replicas: three `modelsec serve` processes sharing client state through
//! one real Redis (Debian's `redis-server`, started here on a free 127.0.0.1 port; installed by
//! scripts/services.sh — these tests fail, not skip, without it), driven round-robin: a global
//! rate limit, a block made on one replica, and Redis killed mid-run under each failure policy.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx/digits_mlp.onnx")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` of our own; killed on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// One reply of Redis's protocol (RESP2), as far as these tests read it.
#[derive(Debug, PartialEq)]
pub enum Resp {
    Text(String),
    Int(i64),
    Nil,
    Array(Vec<Resp>),
}

fn read_resp(r: &mut impl std::io::BufRead) -> std::io::Result<Resp> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let line = line.trim_end_matches("\r\n");
    let bad = || std::io::Error::other(format!("not a RESP reply: {line:?}"));
    let (kind, rest) = (line.get(..1).ok_or_else(bad)?, &line[1..]);
    Ok(match kind {
        "+" | "-" => Resp::Text(rest.to_string()),
        ":" => Resp::Int(rest.parse().map_err(|_| bad())?),
        "$" => match rest.parse::<i64>().map_err(|_| bad())? {
            n if n < 0 => Resp::Nil,
            n => {
                let mut buf = vec![0u8; n as usize + 2];
                r.read_exact(&mut buf)?;
                buf.truncate(n as usize);
                Resp::Text(String::from_utf8_lossy(&buf).into_owned())
            }
        },
        "*" => match rest.parse::<i64>().map_err(|_| bad())? {
            n if n < 0 => Resp::Nil,
            n => Resp::Array((0..n).map(|_| read_resp(r)).collect::<Result<_, _>>()?),
        },
        _ => return Err(bad()),
    })
}

impl Redis {
    /// On a free port. The port is chosen (bound to port 0 and released) before redis-server
    /// binds it, so another process may take it in between: then start again on another.
    pub fn start() -> Redis {
        let mut tried = vec![];
        for _ in 0..5 {
            let port = free_port();
            match Redis::try_start(port, tempfile::tempdir().unwrap()) {
                Ok(r) => return r,
                Err(e) => tried.push(e),
            }
        }
        panic!("redis-server did not start: {tried:?}")
    }

    fn start_on(port: u16, dir: tempfile::TempDir) -> Redis {
        Redis::try_start(port, dir).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start it and wait (30 s at most) until it answers on `port` (itself, not another
    /// process that took the port); an error when it exits first (the port was taken).
    fn try_start(port: u16, dir: tempfile::TempDir) -> Result<Redis, String> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): run scripts/services.sh to install it")
            });
        let mut r = Redis { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if r.answers() {
                return Ok(r);
            }
            if let Ok(Some(status)) = r.child.try_wait() {
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "redis-server on port {port} did not answer in 30 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether this redis-server (by its process id) answers on its port.
    fn answers(&self) -> bool {
        let pid = format!("process_id:{}\r\n", self.child.id());
        matches!(self.cmd(&["INFO", "server"]), Some(Resp::Text(t)) if t.contains(&pid))
    }

    /// One command; its reply (None when Redis does not answer).
    pub fn cmd(&self, args: &[&str]) -> Option<Resp> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).ok()?;
        read_resp(&mut std::io::BufReader::new(s)).ok()
    }

    /// Wait (10 s at most) until `what` holds of Redis's reply to `args`.
    pub fn wait_for(&self, args: &[&str], what: &str, holds: impl Fn(&Resp) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let reply = self.cmd(args);
            if reply.as_ref().is_some_and(&holds) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited 10 s for {what} in Redis; {args:?} answers {reply:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL it (state is lost, as in a crash).
    pub fn kill(mut self) -> (u16, tempfile::TempDir) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = self.port;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (port, dir)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `modelsec serve` replica; killed on drop.
struct Replica {
    child: Child,
    addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Replica {
    fn start(config: &str, name: &str) -> Replica {
        let model = model().display().to_string();
        Replica::spawn(&["serve", &model], config, name, &[])
    }

    fn spawn(command: &[&str], config: &str, name: &str, env: &[(&str, &str)]) -> Replica {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("monitor.toml");
        std::fs::write(&cfg, format!("[server]\nreplica = \"{name}\"\n{config}")).unwrap();
        let log = dir.path().join("events.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_modelsec"))
            .args(command)
            .envs(env.iter().copied())
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&cfg)
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let addr = crate::common::listening_addr(&mut child);
        Replica {
            child,
            addr,
            log,
            _dir: dir,
        }
    }

    /// One request (with `key` as its bearer API key); the status and the body.
    fn http(&self, method: &str, path: &str, key: Option<&str>, body: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        let _ = s.write_all(body);
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        let text = String::from_utf8_lossy(&resp).to_string();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (
            status,
            text.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
        )
    }

    /// One row of digits.
    fn infer(&self, i: usize) -> u16 {
        let data: Vec<f32> = (0..64).map(|j| ((i * 7 + j) % 17) as f32).collect();
        let body = json!({ "inputs": [{ "name": "X", "shape": [1, 64], "datatype": "FP32", "data": data }] });
        self.http(
            "POST",
            "/v2/models/digits_mlp/infer",
            None,
            body.to_string().as_bytes(),
        )
        .0
    }

    fn metric(&self, name: &str) -> f64 {
        let (_, text) = self.http("GET", "/metrics", None, b"");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(-1.0)
    }

    fn stop(&mut self) -> Vec<Value> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn three(config: &str) -> Vec<Replica> {
    ["r1", "r2", "r3"]
        .iter()
        .map(|n| Replica::start(config, n))
        .collect()
}

/// Shared state in `redis` under `policy`. The state timeout is 2 s, not the 50 ms default: on
/// a loaded CI machine a Redis round trip can take longer than 100 ms, and a request then falls
/// back to the policy (fail-open: local limits; fail-closed: 503), which is not what these tests
/// look at. Redis killed is refused at once, whatever the timeout.
fn state(redis: &Redis, policy: &str) -> String {
    format!(
        "[state]\nbackend = \"redis\"\nurl = \"{}\"\non_state_error = \"{policy}\"\ntimeout_ms = 2000\n",
        redis.url()
    )
}

#[test]
fn a_global_rate_limit_holds_across_three_replicas() {
    let redis = Redis::start();
    // A burst of one second's tokens: a client stalled by a busy machine for less than that
    // loses none, so the count is the limiter's, not the scheduler's.
    let (rate, burst) = (20.0, 20.0);
    let limits = format!(
        "[limits]\nrate = {rate}\nburst = {burst}\nrow_rate = 0\nvolume = 0\n[log]\nrequests = false\n"
    );
    let rs = three(&(state(&redis, "fail-open") + &limits));
    // Each replica's first request connects to Redis and loads the script; then the bucket
    // refills (burst / rate = 1 s) before the clock starts.
    for (i, r) in rs.iter().enumerate() {
        assert_eq!(r.infer(i), 200);
    }
    std::thread::sleep(Duration::from_millis(1200));
    // Six clients at once, each round-robin over the replicas: demand stays far above the
    // limit even on a busy machine.
    let started = Instant::now();
    let counts: Vec<(u32, u32, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let rs = &rs;
                s.spawn(move || {
                    let (mut ok, mut limited, mut n) = (0u32, 0u32, t);
                    let mut last_start = Duration::ZERO;
                    loop {
                        let at = started.elapsed();
                        if at >= Duration::from_secs(3) {
                            break;
                        }
                        last_start = at;
                        match rs[n % 3].infer(n) {
                            200 => ok += 1,
                            429 => limited += 1,
                            c => panic!("status {c}"),
                        }
                        n += 1;
                    }
                    (ok, limited, last_start)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ended = started.elapsed().as_secs_f64();
    let ok: u32 = counts.iter().map(|c| c.0).sum();
    let limited: u32 = counts.iter().map(|c| c.1).sum();
    // The bucket was full when the clock started. Every request was admitted after the last
    // one started and before the last one ended: all tokens up to the first (demand stays
    // above the limit, and a pause shorter than the burst's second loses none) and none after
    // the second can have been spent. On a quiet machine both are about 3 s; on a loaded one
    // the requests in flight at 3 s may end much later.
    let last_start = counts.iter().map(|c| c.2).max().unwrap().as_secs_f64();
    let (low, high) = (burst + rate * last_start, burst + rate * ended);
    let expected = burst + rate * 3.0;
    let err = (ok as f64 - expected).abs() / expected;
    eprintln!(
        "global rate: {ok} answered, {limited} limited in {ended:.2} s (last request started at {last_start:.2} s); expected {expected:.0} ({:.1} % off), at least {low:.0} and at most {high:.0}",
        err * 100.0
    );
    for r in &rs {
        eprintln!(
            "replica {}: {} Redis round trips, {} failed",
            r.addr,
            r.metric("modelsec_state_calls_total"),
            r.metric("modelsec_state_errors_total")
        );
    }
    // A failed round trip falls back to the replica's local limit: the count would not be
    // the shared limiter's.
    for r in &rs {
        assert_eq!(
            r.metric("modelsec_state_errors_total"),
            0.0,
            "replica {}: a Redis round trip failed or took over state.timeout_ms",
            r.addr
        );
    }
    assert!(limited > ok, "the client must push well past the limit");
    // 5 % of slack either side (three local limiters would admit about 3×).
    assert!(
        ok as f64 >= low * 0.95 && ok as f64 <= high * 1.05,
        "{ok} answered, expected from {low:.0} to {high:.0}"
    );
}

#[test]
fn a_block_on_one_replica_refuses_on_all() {
    let redis = Redis::start();
    let config = state(&redis, "fail-open")
        + "[detect]\nharvest_scores = 3\nblock_seconds = 60\n[signals.\"monitor/output-harvesting\"]\naction = \"block\"\n";
    let rs = three(&config);
    // Only replica 1 sees the harvesting; it blocks the client.
    let mut i = 0;
    while rs[0].infer(i) == 200 {
        i += 1;
        assert!(i < 50, "replica 1 never blocked the client");
    }
    assert_eq!(rs[0].infer(i), 403);
    // The block is written to Redis off the request path (a task spawned when it is decided),
    // so on a loaded machine it may land after the answer: wait until it is there.
    redis.wait_for(
        &["KEYS", "*block:*"],
        "the block",
        |r| matches!(r, Resp::Array(keys) if !keys.is_empty()),
    );
    // Then the very next request to each other replica is refused.
    assert_eq!(rs[1].infer(i), 403);
    assert_eq!(rs[2].infer(i), 403);
}

/// Redis dies mid-run: `fail-open` replicas keep answering (under their local limits),
/// `fail-closed` ones refuse with 503; both say so (a finding, a metric), every answered
/// request is in the local log, and shared state resumes when Redis returns.
#[test]
fn redis_killed_mid_run_each_policy_holds_and_state_resumes() {
    let redis = Redis::start();
    let limits = "[limits]\nrate = 1000\nburst = 1000\nrow_rate = 0\nvolume = 0\n";
    let mut open = Replica::start(&(state(&redis, "fail-open") + limits), "open");
    let mut closed = Replica::start(&(state(&redis, "fail-closed") + limits), "closed");
    let mut answered = [0usize; 2];
    for i in 0..10 {
        assert_eq!(open.infer(i), 200);
        assert_eq!(closed.infer(i), 200);
        answered[0] += 1;
        answered[1] += 1;
    }
    // Replication is asynchronous and best effort (a write slower than the state timeout on a
    // busy machine is dropped and counted): wait until `open` has settled all ten and `closed`
    // has replayed every one published, so nothing is in flight when Redis dies.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let published = open.metric("modelsec_replication_published_total");
        let dropped = open.metric("modelsec_replication_dropped_total");
        let replayed = closed.metric("modelsec_replication_replayed_total");
        if published + dropped >= 10.0 && replayed >= published {
            assert!(published >= 1.0, "nothing was shared before the crash");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replication never settled: {published} published, {dropped} dropped, {replayed} replayed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (port, dir) = redis.kill();
    for i in 0..10 {
        assert_eq!(open.infer(i), 200, "fail-open answers");
        answered[0] += 1;
        assert_eq!(closed.infer(i), 503, "fail-closed refuses");
    }
    assert!(open.metric("modelsec_state_errors_total") >= 10.0);
    assert_eq!(closed.metric("modelsec_state_up"), 0.0);
    // Redis returns (empty, as after a crash): the replicas reconnect by themselves.
    let redis = Redis::start_on(port, dir);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = closed.infer(0);
        if c == 200 {
            answered[1] += 1;
            break;
        }
        assert_eq!(c, 503);
        assert!(Instant::now() < deadline, "state did not resume");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(open.infer(0), 200);
    answered[0] += 1;
    assert_eq!(closed.metric("modelsec_state_up"), 1.0);
    // Detector observations flow again: what `open` sees is replayed on `closed`.
    let before = closed.metric("modelsec_replication_replayed_total");
    let deadline = Instant::now() + Duration::from_secs(10);
    while closed.metric("modelsec_replication_replayed_total") < before + 3.0 {
        assert_eq!(open.infer(1), 200);
        answered[0] += 1;
        assert!(Instant::now() < deadline, "replication did not resume");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(redis);
    for (replica, n, policy) in [
        (&mut open, answered[0], "fail-open"),
        (&mut closed, answered[1], "fail-closed"),
    ] {
        let ev = replica.stop();
        let ok = ev
            .iter()
            .filter(|e| e["kind"] == "request" && e["request"]["status"] == 200)
            .count();
        assert_eq!(
            ok, n,
            "{policy}: every answered request is in the local log"
        );
        let signal = ev
            .iter()
            .find(|e| e["kind"] == "finding" && e["signal"]["id"] == "monitor/state-unavailable");
        let signal = signal.unwrap_or_else(|| panic!("{policy}: no state-unavailable finding"));
        assert_eq!(signal["evidence"]["policy"], policy, "{signal}");
    }
}

/// The model as an attack oracle: query `n` goes to replica `n % replicas` with key
/// `n % keys` (a Sybil attack behind a round-robin load balancer).
struct SpreadOracle<'a> {
    replicas: &'a [Replica],
    keys: usize,
    n: usize,
    /// Whether the replicas share detector state: then each answer waits until every
    /// observation so far has been replayed on the other replicas.
    shared: bool,
}

/// Wait (30 s at most) until the `sent` requests' observations have each been written to
/// Redis (or dropped) and every one written has been replayed on every other replica.
/// Replication is asynchronous: on a loaded machine it can lag behind the next query by more
/// than a round trip, and the attack would then meet less shared evidence than the test is
/// about (a query's observation reaching the other replicas before the next query).
fn settle(replicas: &[Replica], sent: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let others = (replicas.len() - 1) as f64;
    loop {
        let sum = |name: &str| replicas.iter().map(|r| r.metric(name)).sum::<f64>();
        let published = sum("modelsec_replication_published_total");
        let dropped = sum("modelsec_replication_dropped_total");
        let replayed = sum("modelsec_replication_replayed_total");
        if published + dropped >= sent as f64 && replayed >= published * others {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "replication never settled after {sent} queries: {published} published, {dropped} dropped, {replayed} replayed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl modelsec::fuzz::attack::Oracle for SpreadOracle<'_> {
    fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>> {
        let r = &self.replicas[self.n % self.replicas.len()];
        let key = format!("key-{}", self.n % self.keys);
        self.n += 1;
        let body = json!({ "inputs": [{ "name": "X", "shape": [1, 64], "datatype": "FP32", "data": row }] });
        let (_, text) = r.http(
            "POST",
            "/v2/models/digits_mlp/infer",
            Some(&key),
            body.to_string().as_bytes(),
        );
        if self.shared {
            settle(self.replicas, self.n);
        }
        let v: Value = serde_json::from_str(&text).ok()?;
        let out = v["outputs"]
            .as_array()?
            .iter()
            .find(|o| o["name"] == "probabilities")?;
        Some(
            out["data"]
                .as_array()?
                .iter()
                .map(|x| x.as_f64().unwrap_or(0.0) as f32)
                .collect(),
        )
    }
}

/// The first evasion finding of a run: the query (1-based, in the order sent) whose request
/// raised it on any replica, for any evasion signal and for `monitor/probing` alone.
#[derive(Debug, Default)]
struct FirstAlert {
    any: Option<usize>,
    probing: Option<usize>,
    sent: usize,
}

/// Run a Square attack spread over `replicas` and five keys; stop the replicas and read when
/// each was first flagged.
fn square_spread(replicas: &mut [Replica], row: &[f32], shared: bool) -> FirstAlert {
    let mut oracle = SpreadOracle {
        replicas,
        keys: 5,
        n: 0,
        shared,
    };
    let _ = modelsec::fuzz::attack::attack_row(
        &mut oracle,
        modelsec::fuzz::attack::Attack::Square,
        row,
        0,
        0.2,
        240,
        &[(0.0, 1.0); 64],
        &mut modelsec::util::Rng::new(11),
    );
    let mut first = FirstAlert {
        sent: oracle.n,
        ..FirstAlert::default()
    };
    let n = replicas.len();
    let min = |slot: &mut Option<usize>, q: usize| *slot = Some(slot.map_or(q, |x| x.min(q)));
    for (k, r) in replicas.iter_mut().enumerate() {
        let ev = r.stop();
        // The j-th request this replica answered was query j * n + k.
        let order: Vec<&Value> = ev
            .iter()
            .filter(|e| e["kind"] == "request")
            .map(|e| &e["request"]["id"])
            .collect();
        for f in ev.iter().filter(|e| e["kind"] == "finding") {
            let id = &f["signal"]["id"];
            let Some(j) = order.iter().position(|r| **r == f["request"]["id"]) else {
                continue;
            };
            let q = j * n + k + 1;
            if id == "monitor/probing" || id == "monitor/boundary-walk" {
                min(&mut first.any, q);
            }
            if id == "monitor/probing" {
                min(&mut first.probing, q);
            }
        }
    }
    first
}

/// The test: a Square attack spread over three replicas and five keys is flagged at
/// the same query (± 10 %) as the same attack against one replica, because each replica
/// replays the others' observations into its detectors (`state.share_detectors`). Control:
/// without sharing, each replica holds a third of each key's queries and the variant count
/// `monitor/probing` needs comes much later.
#[test]
fn a_square_attack_over_three_replicas_and_five_keys_is_flagged_as_on_one() {
    let mut keys = String::from("[auth]\nrequired = true\n");
    for i in 0..5 {
        use sha2::Digest;
        keys.push_str(&format!(
            "[[auth.keys]]\nclient = \"client{i}\"\nsha256 = \"{}\"\n",
            hex::encode(sha2::Sha256::digest(format!("key-{i}").as_bytes()))
        ));
    }
    let baseline =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx/digits_rows.npy");
    let base = format!(
        "{keys}[limits]\nrate = 0\nrow_rate = 0\nvolume = 0\n[log]\ndurability = \"always\"\n[detect]\nbaseline = \"{}\"\nkey = \"{}\"\n",
        baseline.display(),
        "ab".repeat(32)
    );
    let rows = modelsec::rows::read_rows(&baseline).unwrap();
    let row = &rows[1];
    let one = square_spread(&mut [Replica::start(&base, "solo")], row, false);
    let redis = Redis::start();
    let mut rs = three(&(base.clone() + &state(&redis, "fail-open")));
    let replayed: Vec<f64> = rs
        .iter()
        .map(|r| r.metric("modelsec_replication_replayed_total"))
        .collect();
    assert_eq!(replayed, [0.0; 3], "nothing to replay before the attack");
    let shared = square_spread(&mut rs, row, true);
    let mut unshared = three(&(base + &state(&redis, "fail-open") + "share_detectors = false\n"));
    let split = square_spread(&mut unshared, row, false);
    eprintln!(
        "Square over 5 keys, first evasion finding (first probing): one replica {:?} ({:?}) of {} queries; three replicas sharing detector state {:?} ({:?}) of {}; not sharing {:?} ({:?})",
        one.any,
        one.probing,
        one.sent,
        shared.any,
        shared.probing,
        shared.sent,
        split.any,
        split.probing
    );
    let one = one
        .any
        .unwrap_or_else(|| panic!("one replica: not flagged in {} queries", one.sent));
    let spread = shared
        .any
        .unwrap_or_else(|| panic!("three replicas: not flagged in {} queries", shared.sent));
    let tolerance = (one as f64 * 0.1).ceil() as usize;
    assert!(
        spread.abs_diff(one) <= tolerance,
        "three replicas flagged at query {spread}, one replica at {one} (± {tolerance})"
    );
    let probing = shared.probing.expect("probing with shared state");
    assert!(
        split.probing.is_none_or(|q| q > probing + tolerance),
        "probing must need the shared state: without it at {:?}, with it at {probing}",
        split.probing
    );
}

/// An LLM proxy's token budget is the deployment's, not each replica's: three `proxy`
/// replicas in front of one OpenAI-style upstream (18 tokens an answer), a budget of 50
/// tokens a window, one client round-robin: after three answers every replica refuses (per
/// replica, each would answer two more).
#[test]
fn an_llm_token_budget_holds_across_three_proxy_replicas() {
    use sha2::Digest;
    let redis = Redis::start();
    let upstream = crate::serve::fake_upstream();
    let config = format!(
        "[auth]\nrequired = true\n[[auth.keys]]\nclient = \"c\"\nsha256 = \"{}\"\n[limits]\nrate = 0\n[llm]\ntoken_budget = 50\n[upstream]\napi_key_env = \"TEST_UPSTREAM_KEY\"\n{}",
        hex::encode(sha2::Sha256::digest(b"key-0")),
        state(&redis, "fail-open")
    );
    let rs: Vec<Replica> = ["p1", "p2", "p3"]
        .iter()
        .map(|n| {
            Replica::spawn(
                &["proxy", "--upstream", &upstream, "--protocol", "openai"],
                &config,
                n,
                &[("TEST_UPSTREAM_KEY", "upstream-secret")],
            )
        })
        .collect();
    let chat = |r: &Replica| -> (u16, String) {
        let body = json!({"model": "tiny-llm", "messages": [{"role": "user", "content": "hi"}]});
        r.http(
            "POST",
            "/v1/chat/completions",
            Some("key-0"),
            body.to_string().as_bytes(),
        )
    };
    // An answer's usage reaches Redis just after the answer (asynchronously, off the request
    // path; on a loaded machine possibly much later): wait until the window's count has it.
    for (i, r) in rs.iter().enumerate() {
        let (code, resp) = chat(r);
        assert_eq!(code, 200, "answer {} on replica {}: {resp}", i + 1, i + 1);
        let used = (18 * (i + 1)).to_string();
        redis.wait_for(
            &["GET", "modelsec:tokvol:c"],
            &format!("{used} tokens used"),
            |r| *r == Resp::Text(used.clone()),
        );
    }
    assert_eq!(
        rs.iter()
            .map(|r| r.metric("modelsec_state_errors_total"))
            .sum::<f64>(),
        0.0
    );
    // 3 × 18 = 54 tokens used over the replicas: over the budget of 50 everywhere.
    for (i, r) in rs.iter().enumerate() {
        let (code, resp) = chat(r);
        assert_eq!(
            code,
            429,
            "replica {} answered past the shared budget: {resp}",
            i + 1
        );
        assert!(resp.contains("budget of 50"), "{resp}");
    }
}
