//! `serve` and `proxy` under hostile load, on loopback only: a runaway `Loop`, output and memory
//! bombs, endless, silent and dripping upstreams, slowloris and slow-POST connection floods
//! against a server whose file-descriptor limit is 1024, and SIGTERM with runs in flight.
//! Each attack runs while a prober checks that health checks and a benign client keep being
//! answered within their latency budget (generous: a debug build on CI cores shared with the
//! other tests and with the attackers themselves); peak memory (VmHWM, from /proc) stays under a
//! stated ceiling; the refusals are findings in the event log and counted in /metrics; and the
//! log verifies afterwards. The hostile models are generated fixtures
//! (scripts/gen_onnx_models.py): `loop_n`, `range_len`, `expand_sum`.

use super::harness::*;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Wait (30 s at most) until the server's `modelsec_inference_busy` meets `ok`.
fn wait_for_busy(s: &Server, what: &str, ok: impl Fn(f64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let busy = sample(&s.metrics(), "modelsec_inference_busy");
        if ok(busy) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 30 s for {what}: modelsec_inference_busy is {busy}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_runaway_loop_is_stopped_at_its_deadline_and_the_server_keeps_answering() {
    let cfg = format!(
        "{}[server]\ninference_timeout = 1\nmax_memory = 268435456\n",
        two_keys()
    );
    let model = models().join("loop_n.onnx");
    let mut s = Server::spawn(&["serve", model.to_str().unwrap()], &cfg, None);
    let addr = s.addr;
    let loop_n = |n: i64| {
        infer_body(json!([
            {"name": "n", "shape": [], "datatype": "INT64", "data": [n]},
            {"name": "X", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]},
        ]))
    };
    let benign = loop_n(5);
    let (code, body, _) = request(
        addr,
        "POST",
        "/v2/models/loop_n/infer",
        Some("benign-key"),
        &benign,
        Duration::from_secs(5),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("[6.0,7.0,8.0,9.0]"), "{body}");
    let prober = Prober::start(
        addr,
        HEALTH_BUDGET,
        move || {
            request(
                addr,
                "POST",
                "/v2/models/loop_n/infer",
                Some("benign-key"),
                &benign,
                Duration::from_secs(10),
            )
        },
        // The attacker holds both threads; a run of its that has gone on for a tenth of the
        // deadline gives its thread to the benign client.
        BENIGN_BUDGET,
    );
    // Three attackers, each sending 10^12-iteration loops back to back, for 4 s: more runaway
    // runs than there are inference threads.
    let bomb = loop_n(1_000_000_000_000);
    let codes = attack(3, 4.0, &prober, 10, move |_| {
        request(
            addr,
            "POST",
            "/v2/models/loop_n/infer",
            Some("attacker-key"),
            &bomb,
            Duration::from_secs(10),
        )
        .0
    });
    prober.finish(10);
    assert!(!codes.is_empty());
    assert!(codes.iter().all(|&c| c == 504 || c == 503), "{codes:?}");
    assert!(codes.contains(&504), "{codes:?}");
    let m = s.metrics();
    assert!(
        sample(
            &m,
            "modelsec_signals_total{signal=\"monitor/inference-timeout\"}"
        ) >= 1.0,
        "{m}"
    );
    assert!(sample(&m, "modelsec_inference_stopped_total") >= 1.0, "{m}");
    // Stopped runs free their threads: nothing is left running (once the last ones, stopped
    // at their deadline, have been reaped; on a loaded machine that may take a while).
    wait_for_busy(&s, "no inference running", |busy| busy == 0.0);
    let peak = s.status_kib("VmHWM");
    assert!(peak < 512 * MIB, "peak memory {peak} KiB over 512 MiB");
    let (_, ev) = s.stop(Duration::from_secs(15));
    let timeouts = findings(&ev, "monitor/inference-timeout");
    assert!(!timeouts.is_empty());
    assert_eq!(timeouts[0]["client"]["id"], "attacker");
    assert_eq!(timeouts[0]["attack"][0]["technique"]["id"], "AML.T0029");
    s.verify_log();
}

#[test]
fn sigterm_stops_the_server_within_its_shutdown_timeout_with_runs_in_flight() {
    let cfg = "[limits]\nrate = 0\n[server]\ninference_timeout = 120\nshutdown_timeout = 1\n";
    let model = models().join("loop_n.onnx");
    let mut s = Server::spawn(&["serve", model.to_str().unwrap()], cfg, None);
    let addr = s.addr;
    let bomb = infer_body(json!([
        {"name": "n", "shape": [], "datatype": "INT64", "data": [1_000_000_000_000i64]},
        {"name": "X", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]},
    ]));
    // Two runaway runs (every thread busy) and one queued behind them.
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let b = bomb.clone();
            std::thread::spawn(move || {
                request(
                    addr,
                    "POST",
                    "/v2/models/loop_n/infer",
                    None,
                    &b,
                    Duration::from_secs(30),
                )
            })
        })
        .collect();
    wait_for_busy(&s, "a run in flight", |busy| busy >= 1.0);
    // The runs would go on for 120 s: the server stops at its 1 s shutdown timeout (10 s of
    // slack for a loaded machine).
    let (took, ev) = s.stop(Duration::from_secs(30));
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
    for c in clients {
        let (code, body, _) = c.join().unwrap();
        // Answered 503 (shutting down) or cut when the server stopped: never left hanging.
        assert!(code == 503 || code == 0, "{code} {body}");
    }
    assert_eq!(ev.last().unwrap()["event"], "stopped");
    s.verify_log();
}

#[test]
fn output_and_memory_bombs_are_refused_before_their_answer_is_built() {
    // No cooldown: every refusal is a finding (the test reads each limit back).
    let cfg = format!(
        "{}[server]\ninference_timeout = 10\nmax_memory = 268435456\nmax_response_bytes = 1048576\n[detect]\ncooldown_seconds = 0\n",
        two_keys()
    );
    let model = models().join("range_len.onnx");
    let mut s = Server::spawn(&["serve", model.to_str().unwrap()], &cfg, None);
    let addr = s.addr;
    let range =
        |n: i64| infer_body(json!([{"name": "n", "shape": [], "datatype": "INT64", "data": [n]}]));
    let post = move |key: &str, body: &[u8]| {
        request(
            addr,
            "POST",
            "/v2/models/range_len/infer",
            Some(key),
            body,
            Duration::from_secs(20),
        )
    };
    let (code, body, _) = post("benign-key", &range(10));
    assert_eq!(code, 200, "{body}");
    // 10^9 int64s (8 GB): the capped arena refuses the allocation.
    let (code, body, _) = post("attacker-key", &range(1_000_000_000));
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("server.max_memory"), "{body}");
    // 10^6 values: over the 512 Ki values a 1 MiB answer can hold; refused before copying.
    let (code, body, _) = post("attacker-key", &range(1_000_000));
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("1000000 values"), "{body}");
    // 300,000 values fit the count but not the bytes: writing stops at the cap.
    let (code, body, _) = post("attacker-key", &range(300_000));
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("server.max_response_bytes"), "{body}");
    let benign = range(10);
    let prober = Prober::start(
        addr,
        HEALTH_BUDGET,
        move || {
            request(
                addr,
                "POST",
                "/v2/models/range_len/infer",
                Some("benign-key"),
                &benign,
                Duration::from_secs(10),
            )
        },
        BENIGN_BUDGET,
    );
    let bombs = [
        range(1_000_000_000),
        range(1_000_000),
        range(300_000),
        range(i64::MAX),
    ];
    let codes = attack(3, 3.0, &prober, 10, move |i| {
        request(
            addr,
            "POST",
            "/v2/models/range_len/infer",
            Some("attacker-key"),
            &bombs[i % 4],
            Duration::from_secs(20),
        )
        .0
    });
    prober.finish(10);
    // 422 and 503 as above; i64::MAX is an error of the model itself (500).
    assert!(
        codes.iter().all(|&c| c == 422 || c == 503 || c == 500),
        "{codes:?}"
    );
    let peak = s.status_kib("VmHWM");
    assert!(peak < 512 * MIB, "peak memory {peak} KiB over 512 MiB");
    let m = s.metrics();
    assert!(
        sample(
            &m,
            "modelsec_signals_total{signal=\"monitor/resource-limit\"}"
        ) >= 3.0,
        "{m}"
    );
    let (_, ev) = s.stop(Duration::from_secs(15));
    let limits = findings(&ev, "monitor/resource-limit");
    assert!(
        limits
            .iter()
            .any(|f| f["evidence"]["limit"] == "max_memory")
    );
    assert!(
        limits
            .iter()
            .any(|f| f["evidence"]["limit"] == "max_response_bytes")
    );
    s.verify_log();

    // A tiny answer over an intermediate as large as the client asks: only the memory cap
    // stops it.
    let model = models().join("expand_sum.onnx");
    let mut s = Server::spawn(&["serve", model.to_str().unwrap()], &cfg, None);
    let shape = |a: i64, b: i64| {
        infer_body(json!([{"name": "shape", "shape": [2], "datatype": "INT64", "data": [a, b]}]))
    };
    let post = |key: &str, body: &[u8]| {
        request(
            s.addr,
            "POST",
            "/v2/models/expand_sum/infer",
            Some(key),
            body,
            Duration::from_secs(20),
        )
    };
    let (code, body, _) = post("benign-key", &shape(10, 10));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("100.0"), "{body}");
    for _ in 0..3 {
        let (code, body, _) = post("attacker-key", &shape(100_000, 100_000));
        assert_eq!(code, 503, "{body}");
    }
    let (code, _, _) = post("benign-key", &shape(10, 10));
    assert_eq!(code, 200);
    let peak = s.status_kib("VmHWM");
    assert!(peak < 512 * MIB, "peak memory {peak} KiB over 512 MiB");
    s.stop(Duration::from_secs(15));
    s.verify_log();
}

/// An OIP v2 upstream on loopback (model `m`: X FP32 [-1, 4] → Y) whose answer depends on
/// the first input value: 0 a normal answer, 1 a body that never ends, 2 no answer at all,
/// 3 headers then one byte every 100 ms. Its `/v1/chat/completions` streams server-sent
/// events without end.
fn hostile_upstream() -> String {
    use axum::body::{Body, Bytes};
    use axum::response::IntoResponse;
    async fn meta() -> axum::Json<Value> {
        axum::Json(json!({
            "name": "m", "versions": ["1"], "platform": "test",
            "inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}],
            "outputs": [{"name": "Y", "datatype": "FP32", "shape": [-1, 4]}],
        }))
    }
    /// `chunk` 1,024 times: the endless bodies come in frames of tens of KiB, so the 1 MiB
    /// cap is reached in a few dozen frames. In frames of ~50 bytes, a debug build on a loaded
    /// machine can take longer than `upstream.total_timeout` (2 s) to pass 1 MiB, and the
    /// endless answer is then cut by the timeout (504) instead of by the size cap (502).
    fn many(chunk: &[u8]) -> &'static [u8] {
        Box::leak(chunk.repeat(1024).into_boxed_slice())
    }
    fn endless(chunk: &'static [u8], every: Duration) -> Body {
        Body::new(Endless {
            chunk,
            every,
            sleep: None,
        })
    }
    async fn infer(body: Bytes) -> axum::response::Response {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match v["inputs"][0]["data"][0].as_f64().unwrap_or(0.0) as i64 {
            1 => ([("content-type", "application/json")], endless(many(b"[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"), Duration::ZERO)).into_response(),
            2 => std::future::pending().await,
            3 => ([("content-type", "application/json")], endless(b" ", Duration::from_millis(100))).into_response(),
            _ => axum::Json(json!({"model_name": "m", "outputs": [{"name": "Y", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]})).into_response(),
        }
    }
    async fn chat() -> axum::response::Response {
        (
            [("content-type", "text/event-stream")],
            endless(
                many(b"data: {\"choices\":[{\"delta\":{\"content\":\"more \"}}]}\n\n"),
                Duration::ZERO,
            ),
        )
            .into_response()
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route("/v2/models/m", axum::routing::get(meta))
                .route("/v2/models/m/infer", axum::routing::post(infer))
                .route("/v1/chat/completions", axum::routing::post(chat));
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// A body of `chunk`, forever, one every `every` (back to back when zero).
struct Endless {
    chunk: &'static [u8],
    every: Duration,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Endless {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if !self.every.is_zero() {
            let every = self.every;
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
            if sleep.as_mut().poll(cx).is_pending() {
                return std::task::Poll::Pending;
            }
            self.sleep = None;
        }
        let chunk = axum::body::Bytes::from_static(self.chunk);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}

#[test]
fn endless_silent_and_dripping_upstreams_are_cut_and_the_proxy_keeps_answering() {
    let upstream = hostile_upstream();
    // No cooldown: every failure is a finding (the test reads each reason back).
    let cfg = format!(
        "{}[server]\nmax_response_bytes = 1048576\n[upstream]\nheader_timeout = 1\ntotal_timeout = 2\n[detect]\ncooldown_seconds = 0\n",
        two_keys()
    );
    let mut p = Server::spawn(
        &["proxy", "--upstream", &upstream, "--model", "m"],
        &cfg,
        None,
    );
    let addr = p.addr;
    let x = |first: f32| {
        infer_body(
            json!([{"name": "X", "shape": [1, 4], "datatype": "FP32", "data": [first, 0.5, 0.5, 0.5]}]),
        )
    };
    let post = move |key: &str, body: &[u8]| {
        request(
            addr,
            "POST",
            "/v2/models/m/infer",
            Some(key),
            body,
            Duration::from_secs(10),
        )
    };
    let (code, body, _) = post("benign-key", &x(0.0));
    assert_eq!(code, 200, "{body}");
    // Endless: cut at 1 MiB, at once. Silent: 504 after the header timeout. Dripping: 504 at
    // the total timeout.
    // Which limit cut each one is in its answer (not in how long it took: on a loaded machine
    // that can be anything above the limit); none is cut before its time.
    let (code, body, _) = post("attacker-key", &x(1.0));
    assert_eq!(code, 502, "{body}");
    assert!(body.contains("server.max_response_bytes"), "{body}");
    let (code, body, took) = post("attacker-key", &x(2.0));
    assert_eq!(code, 504, "{body}");
    assert!(body.contains("upstream.header_timeout"), "{body}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    let (code, body, took) = post("attacker-key", &x(3.0));
    assert_eq!(code, 504, "{body}");
    assert!(body.contains("upstream.total_timeout"), "{body}");
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    let benign = x(0.0);
    let prober = Prober::start(
        addr,
        HEALTH_BUDGET,
        move || {
            request(
                addr,
                "POST",
                "/v2/models/m/infer",
                Some("benign-key"),
                &benign,
                Duration::from_secs(10),
            )
        },
        BENIGN_BUDGET,
    );
    let bombs = [x(1.0), x(2.0), x(3.0)];
    let codes = attack(6, 3.0, &prober, 10, move |i| {
        post("attacker-key", &bombs[i % 3]).0
    });
    prober.finish(10);
    assert!(codes.iter().all(|&c| c == 502 || c == 504), "{codes:?}");
    let peak = p.status_kib("VmHWM");
    assert!(peak < 256 * MIB, "peak memory {peak} KiB over 256 MiB");
    let m = p.metrics();
    assert!(
        sample(
            &m,
            "modelsec_signals_total{signal=\"monitor/upstream-failure\"}"
        ) >= 3.0,
        "{m}"
    );
    let (_, ev) = p.stop(Duration::from_secs(15));
    let reasons: Vec<&str> = findings(&ev, "monitor/upstream-failure")
        .iter()
        .filter_map(|f| f["evidence"]["reason"].as_str())
        .collect();
    for r in ["too_large", "header_timeout", "total_timeout"] {
        assert!(reasons.contains(&r), "{r}: {reasons:?}");
    }
    p.verify_log();

    // A streamed LLM answer that never ends is cut at the cap: an error event, then the stream
    // breaks off (never passed off as complete).
    let cfg = format!("{}[server]\nmax_response_bytes = 1048576\n", two_keys());
    let mut p = Server::spawn(
        &["proxy", "--upstream", &upstream, "--protocol", "openai"],
        &cfg,
        None,
    );
    let chat =
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    // Not cut, the stream would go on until the client's 10 s timeout, with far more bytes.
    let (code, body, _) = request(
        p.addr,
        "POST",
        "/v1/chat/completions",
        Some("attacker-key"),
        chat.to_string().as_bytes(),
        Duration::from_secs(10),
    );
    assert_eq!(code, 200);
    assert!(body.len() < 1_200_000, "{} bytes passed", body.len());
    assert!(body.contains("stream cut by modelsec: monitor/upstream-failure"));
    let (_, ev) = p.stop(Duration::from_secs(15));
    assert!(
        findings(&ev, "monitor/upstream-failure")
            .iter()
            .any(|f| f["evidence"]["streamed"] == true)
    );
    p.verify_log();
}

/// Open `n` connections from `source` that send half a request's headers and stop.
fn half_open(server: SocketAddr, source: IpAddr, n: usize) -> Vec<TcpStream> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut socks = Vec::with_capacity(n);
    for _ in 0..n {
        let connected = rt.block_on(async {
            let s = tokio::net::TcpSocket::new_v4().ok()?;
            s.bind(SocketAddr::new(source, 0)).ok()?;
            tokio::time::timeout(Duration::from_secs(2), s.connect(server))
                .await
                .ok()?
                .ok()?
                .into_std()
                .ok()
        });
        let Some(mut t) = connected else {
            continue;
        };
        let _ = t.set_nonblocking(false);
        let _ = t.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = t.write_all(b"POST /v2/models/digits_mlp/infer HTTP/1.1\r\nHost: x\r\n");
        socks.push(t);
    }
    socks
}

#[test]
fn slowloris_and_slow_bodies_neither_exhaust_descriptors_nor_starve_real_requests() {
    let cfg = "[limits]\nrate = 0\n[server]\nheader_timeout = 2\nbody_timeout = 1\n";
    let model = models().join("digits_mlp.onnx");
    let mut s = Server::spawn(&["serve", model.to_str().unwrap()], cfg, Some(1024));
    let addr = s.addr;
    let m = s.metrics();
    let cap = sample(&m, "modelsec_connections_limit{scope=\"global\"}");
    assert!(
        cap <= 1024.0 - 64.0,
        "the cap {cap} is not below the fd limit"
    );
    let row: Vec<f32> =
        modelsec::rows::read_rows(&models().join("digits_rows.npy")).unwrap()[0].clone();
    let benign =
        infer_body(json!([{"name": "X", "shape": [1, 64], "datatype": "FP32", "data": row}]));
    let prober = Prober::start(
        addr,
        HEALTH_BUDGET,
        move || {
            request(
                addr,
                "POST",
                "/v2/models/digits_mlp/infer",
                None,
                &benign,
                Duration::from_secs(10),
            )
        },
        BENIGN_BUDGET,
    );
    // One address opens twice the cap; fifty others open 30 each (past the global cap): they
    // trickle a header line every 500 ms.
    let held = Arc::new(Mutex::new(Vec::new()));
    let flood = {
        let held = held.clone();
        std::thread::spawn(move || {
            let mut socks = half_open(addr, "127.0.0.2".parse().unwrap(), 2000);
            for i in 0..50u8 {
                socks.extend(half_open(addr, IpAddr::from([127, 0, 1, 10 + i]), 30));
            }
            held.lock().unwrap().extend(socks);
        })
    };
    // Slow bodies: complete headers, then a byte every 300 ms.
    let slow: Vec<_> = (0..5)
        .map(|_| {
            std::thread::spawn(move || {
                let mut t = TcpStream::connect(addr).unwrap();
                t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let _ = t.write_all(b"POST /v2/models/digits_mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
                let start = Instant::now();
                let mut resp = vec![0u8; 512];
                t.set_nonblocking(true).unwrap();
                loop {
                    let _ = t.write_all(b" ");
                    match t.read(&mut resp) {
                        Ok(n) if n > 0 => break String::from_utf8_lossy(&resp[..n]).to_string(),
                        _ if start.elapsed() > Duration::from_secs(30) => break String::new(),
                        _ => std::thread::sleep(Duration::from_millis(300)),
                    }
                }
            })
        })
        .collect();
    let mut peak_fds = 0;
    let t = Instant::now();
    while prober.wants(t, 5.0, 20) {
        peak_fds = peak_fds.max(s.open_fds());
        for sock in held.lock().unwrap().iter_mut() {
            let _ = sock.write_all(b"X-Slow: 1\r\n");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    flood.join().unwrap();
    prober.finish(20);
    for h in slow {
        let resp = h.join().unwrap();
        assert!(resp.starts_with("HTTP/1.1 408"), "slow body: {resp:?}");
    }
    assert!(peak_fds < 1024, "{peak_fds} descriptors open");
    let m = s.metrics();
    let cut = |r: &str| {
        sample(
            &m,
            &format!("modelsec_connections_cut_total{{reason=\"{r}\"}}"),
        )
    };
    assert!(
        cut("evicted_idle") + cut("max_connections_per_ip") + cut("max_connections") >= 1000.0,
        "{m}"
    );
    assert!(cut("header_timeout") >= 1.0, "{m}");
    assert!(
        sample(
            &m,
            "modelsec_signals_total{signal=\"monitor/connection-limit\"}"
        ) >= 1000.0
    );
    assert!(sample(&m, "modelsec_signals_total{signal=\"monitor/slow-client\"}") >= 5.0);
    let peak = s.status_kib("VmHWM");
    assert!(peak < 256 * MIB, "peak memory {peak} KiB over 256 MiB");
    drop(held);
    let (_, ev) = s.stop(Duration::from_secs(15));
    let limits = findings(&ev, "monitor/connection-limit");
    assert!(limits.iter().any(|f| f["client"]["ip"] == "127.0.0.2"));
    // One finding per address and reason per cooldown: the flood does not flood the log.
    assert!(limits.len() < 200, "{} connection findings", limits.len());
    let slow = findings(&ev, "monitor/slow-client");
    assert!(
        slow.iter()
            .any(|f| f["evidence"]["reason"] == "body_timeout")
    );
    assert!(
        slow.iter()
            .any(|f| f["evidence"]["reason"] == "header_timeout")
    );
    s.verify_log();
}
