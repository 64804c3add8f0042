//! Event-log throughput for `bench/monitor.sh`: events/s through the chained JSON Lines writer
//! in `group` durability (fdatasync every 64 events or 50 ms) and in `always` durability
//! (every event waited for), with request-sized events.
//!
//! Usage: log_throughput DIR [GROUP_EVENTS] [ALWAYS_EVENTS]

use modelsec::monitor::event::Event;
use modelsec::monitor::log::{Durability, EventLog, LogOptions};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Instant;

fn event(i: usize) -> Event {
    let v = json!({
        "kind": "request",
        "client": { "id": format!("client{}", i % 50), "ip": "127.0.0.1" },
        "request": { "id": format!("{i:016x}"), "protocol": "oip_v2", "path": "/v2/models/digits_mlp/infer", "status": 200, "bytes": 396, "latency_us": 180 },
        "model": { "name": "digits_mlp" },
        "input": { "X": { "digest": "9f1c0b6a3d2e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c", "shape": [1, 64], "dtype": "f32", "stats": { "min": 0.0, "max": 1.0, "mean": 0.3 } } },
        "output": { "labels": [i % 10], "margins": [0.93] },
        "signals": [],
    });
    serde_json::from_value(v).expect("a request event")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map_or("/tmp", String::as_str));
    let group_n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let always_n: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(500);

    let path = dir.join("throughput-group.jsonl");
    let _ = std::fs::remove_file(&path);
    let log =
        EventLog::open(LogOptions::new(path.clone(), Durability::Group)).expect("open the log");
    let events: Vec<Event> = (0..group_n).map(event).collect();
    let started = Instant::now();
    let mut sent = 0u64;
    for e in events {
        // Back-pressure for the benchmark only (a server drops and counts instead): keep the
        // queue under its bound so no event is dropped.
        sent += 1;
        while sent > log.stats.written.load(Ordering::Relaxed) + 60_000 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        log.log(&e);
    }
    log.close();
    let secs = started.elapsed().as_secs_f64();
    let written = log.stats.written.load(Ordering::Relaxed);
    let syncs = log.stats.syncs.load(Ordering::Relaxed);
    println!(
        "group_events_per_s {:.0} ({written} events, {syncs} fdatasync, {:.1} events/sync)",
        written as f64 / secs,
        written as f64 / syncs.max(1) as f64
    );

    let path = dir.join("throughput-always.jsonl");
    let _ = std::fs::remove_file(&path);
    let log = EventLog::open(LogOptions::new(path, Durability::Always)).expect("open the log");
    let started = Instant::now();
    let mut lat = vec![];
    for i in 0..always_n {
        let t = Instant::now();
        log.log_durable(&event(i)).expect("durable write");
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    log.close();
    lat.sort_by(f64::total_cmp);
    println!(
        "always_events_per_s {:.0} (one writer waiting on each; p50 {:.2} ms, p99 {:.2} ms per event)",
        always_n as f64 / started.elapsed().as_secs_f64(),
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100]
    );
}
