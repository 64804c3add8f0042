//! Replay benign and attack sessions against a running `modelsec serve` of the digits MLP, then
//! read its event log and report, per kind of session, how many were flagged and after how
//! many of their queries. Used by `bench/monitor.sh` (detection table) and `scripts/demo.sh`.
//!
//! Usage: monitor_replay URL LOG BENIGN SQUARE SYBIL HSJ EXTRACTION [--json]
//!   URL   e.g. http://127.0.0.1:18080 (the server must accept keys `key-0` … `key-499`)
//!   LOG   the server's event log
//!   the rest: sessions of each kind. Benign: 200 held-out digits rows with noise.
//!   Square / HopSkipJump: an attack on one digits row at eps 0.2, up to 1,000 queries.
//!   Sybil: a Square attack with its queries spread over 5 keys. Extraction: 1,000 synthetic
//!   queries grown from 10 seeds by signed steps (JbDA-style).

use modelsec::fuzz::attack::{self, Attack, Oracle};
use modelsec::util::Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    fn infer(&self, key: &str, row: &[f32]) -> Option<Vec<f32>> {
        let body = json!({ "inputs": [{ "name": "X", "shape": [1, row.len()], "datatype": "FP32", "data": row }] });
        let mut resp = self
            .agent
            .post(&self.url)
            .header("Authorization", format!("Bearer {key}"))
            .send_json(&body)
            .ok()?;
        if resp.status().as_u16() != 200 {
            return None;
        }
        let v: Value = resp.body_mut().read_json().ok()?;
        let out = v["outputs"]
            .as_array()?
            .iter()
            .find(|o| o["name"] == "probabilities")?;
        out["data"]
            .as_array()?
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect()
    }
}

struct Keys<'a> {
    client: &'a Client,
    keys: Vec<String>,
    n: usize,
}

impl Oracle for Keys<'_> {
    fn probs(&mut self, row: &[f32]) -> Option<Vec<f32>> {
        let k = self.keys[self.n % self.keys.len()].clone();
        self.n += 1;
        self.client.infer(&k, row)
    }
}

fn rows(name: &str) -> Vec<Vec<f32>> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name);
    modelsec::rows::read_rows(&p).expect("fixture rows")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 8 {
        eprintln!("usage: monitor_replay URL LOG BENIGN SQUARE SYBIL HSJ EXTRACTION [--json]");
        std::process::exit(2);
    }
    let base = args[1].trim_end_matches('/').to_string();
    let log = Path::new(&args[2]);
    let n: Vec<usize> = args[3..8]
        .iter()
        .map(|a| a.parse().expect("a session count"))
        .collect();
    let json_out = args.iter().any(|a| a == "--json");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let client = Client {
        agent,
        url: format!("{base}/v2/models/digits_mlp/infer"),
    };
    let benign = rows("digits_benign.npy");
    let attack_rows = rows("digits_rows.npy");
    let mut next_key = 0usize;
    let mut key = || {
        next_key += 1;
        format!("key-{}", next_key - 1)
    };
    // kind → the keys of its sessions (a sybil session has 5).
    let mut sessions: Vec<(&str, Vec<String>)> = vec![];
    let mut rng = Rng::new(2026);
    for _ in 0..n[0] {
        let k = key();
        let start = (rng.next_u64() % benign.len() as u64) as usize;
        for q in 0..200 {
            let mut x = benign[(start + q * 7) % benign.len()].clone();
            for v in &mut x {
                *v = (*v + (rng.unit() - 0.5) * 0.02).clamp(0.0, 1.0);
            }
            client.infer(&k, &x);
        }
        sessions.push(("benign", vec![k]));
    }
    let run_attack = |kind: &'static str, how: Attack, keys: Vec<String>, i: usize| {
        let mut o = Keys {
            client: &client,
            keys: keys.clone(),
            n: 0,
        };
        let x = &attack_rows[i % attack_rows.len()];
        let _ = attack::attack_row(
            &mut o,
            how,
            x,
            i,
            0.2,
            1000,
            &[(0.0, 1.0); 64],
            &mut Rng::new(i as u64),
        );
        (kind, keys)
    };
    let mut attack_sessions = vec![];
    for i in 0..n[1] {
        attack_sessions.push(("square", Attack::Square, vec![key()], i));
    }
    for i in 0..n[2] {
        attack_sessions.push((
            "sybil",
            Attack::Square,
            (0..5).map(|_| key()).collect(),
            100 + i,
        ));
    }
    for i in 0..n[3] {
        attack_sessions.push(("hopskipjump", Attack::HopSkipJump, vec![key()], 200 + i));
    }
    for (kind, how, keys, i) in attack_sessions {
        sessions.push(run_attack(kind, how, keys, i));
    }
    for s in 0..n[4] {
        let k = key();
        let mut rng = Rng::new(77 + s as u64);
        let mut pool: Vec<Vec<f32>> = (0..10)
            .map(|_| benign[(rng.next_u64() % benign.len() as u64) as usize].clone())
            .collect();
        for _ in 0..1000 {
            let from = pool[(rng.next_u64() % pool.len() as u64) as usize].clone();
            let x: Vec<f32> = from
                .iter()
                .map(|v| (v + if rng.next_u64() & 1 == 0 { 0.05 } else { -0.05 }).clamp(0.0, 1.0))
                .collect();
            client.infer(&k, &x);
            pool.push(x);
        }
        sessions.push(("extraction", vec![k]));
    }
    // Let the log writer catch up, then read what it recorded.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let text = std::fs::read_to_string(log).expect("the server's event log");
    // Per client: its request events in order, with the signals each fired.
    let mut per_client: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if e["kind"] != "request" {
            continue;
        }
        let client = e["client"]["id"].as_str().unwrap_or("").to_string();
        let signals = e["signals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        per_client.entry(client).or_default().push(signals);
    }
    // Client names are `clientN` for `key-N` (see bench/monitor.sh's config).
    let name = |k: &str| format!("client{}", k.trim_start_matches("key-"));
    let mut table: Vec<Value> = vec![];
    for kind in ["benign", "square", "sybil", "hopskipjump", "extraction"] {
        let want: &[&str] = match kind {
            "square" | "sybil" | "hopskipjump" => &["monitor/probing", "monitor/boundary-walk"],
            "extraction" => &["monitor/extraction"],
            _ => &[],
        };
        let mut flagged = 0;
        let mut at: Vec<usize> = vec![];
        let mut total = 0;
        let mut queries = vec![];
        for (_, keys) in sessions.iter().filter(|(k, _)| *k == kind) {
            total += 1;
            // The session's requests in order (interleaved over its keys by position).
            let streams: Vec<&Vec<Vec<String>>> = keys
                .iter()
                .filter_map(|k| per_client.get(&name(k)))
                .collect();
            let len: usize = streams.iter().map(|s| s.len()).sum();
            queries.push(len);
            let mut merged = vec![];
            for q in 0..streams.iter().map(|s| s.len()).max().unwrap_or(0) {
                for s in &streams {
                    if let Some(x) = s.get(q) {
                        merged.push(x);
                    }
                }
            }
            let hit = merged.iter().position(|sigs| {
                if kind == "benign" {
                    !sigs.is_empty()
                } else {
                    sigs.iter().any(|s| want.contains(&s.as_str()))
                }
            });
            if let Some(i) = hit {
                flagged += 1;
                at.push(i + 1);
            }
        }
        at.sort_unstable();
        queries.sort_unstable();
        table.push(json!({
            "kind": kind,
            "sessions": total,
            "flagged": flagged,
            "median_queries_to_flag": at.get(at.len() / 2),
            "max_queries_to_flag": at.last(),
            "median_session_queries": queries.get(queries.len() / 2),
        }));
    }
    if json_out {
        println!("{}", Value::Array(table));
        return;
    }
    println!(
        "| sessions | flagged | median queries to the first alert | max | median session length |"
    );
    println!("|---|---:|---:|---:|---:|");
    for r in &table {
        let opt = |v: &Value| v.as_u64().map_or("–".to_string(), |x| x.to_string());
        println!(
            "| {} | {}/{} | {} | {} | {} |",
            r["kind"].as_str().unwrap_or(""),
            r["flagged"],
            r["sessions"],
            opt(&r["median_queries_to_flag"]),
            opt(&r["max_queries_to_flag"]),
            opt(&r["median_session_queries"]),
        );
    }
}
