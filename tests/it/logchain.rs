//! `log verify` tells the whole truth: signed checkpoints (keys from `modelsec keygen`), the
//! genesis record, tail truncation, edited and foreign checkpoints, deleted oldest lines and
//! files, empty logs, re-hashed forgeries, several replicas' logs in one call, one writer per
//! log, and capped findings.

use crate::common::{code, keygen, run, stdout};
use modelsec::monitor::event::{Event, Health};
use modelsec::monitor::log::{
    CheckpointOptions, Durability, EventLog, LogError, LogOptions, VerifyOptions, checkpoint,
    verify_with,
};
use modelsec::report::Report;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn event(i: usize) -> Event {
    Event::Health(Health::Rotated {
        previous_file: format!("n{i}"),
    })
}

/// A key pair from `modelsec keygen` in `dir`: (private, public).
fn keys(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    keygen(dir, name, "ed25519");
    (dir.join(name), dir.join(format!("{name}.pub")))
}

fn options(path: &Path, key: &Path, every_events: u64, rotate: Option<u64>) -> LogOptions {
    LogOptions {
        rotate_bytes: rotate,
        replica: "r1".into(),
        checkpoint: Some(CheckpointOptions {
            key: Arc::new(checkpoint::load_key(key).unwrap()),
            every_events,
            every: Duration::from_secs(60),
        }),
        ..LogOptions::new(path, Durability::Group)
    }
}

/// Write `n` events into a signed log and close it. Waiting for each event makes one batch
/// per event, so checkpoints fall exactly every `every_events` (at about one fdatasync per
/// event: kept for small logs).
fn write_signed(path: &Path, key: &Path, n: usize, every_events: u64, rotate: Option<u64>) {
    let log = EventLog::open(options(path, key, every_events, rotate)).unwrap();
    for i in 0..n {
        if n <= 50 {
            log.log_durable(&event(i)).unwrap();
        } else {
            assert!(log.log(&event(i)));
        }
    }
    log.close();
}

fn public(path: &Path) -> modelsec::signing::VerifyingKey {
    modelsec::signing::VerifyingKey::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn check(files: &[PathBuf], key: Option<&Path>, now: Option<&str>) -> Report {
    verify_with(
        files,
        &VerifyOptions {
            key: key.map(public),
            now: now.map(|t| t.parse().unwrap()),
        },
    )
}

fn rules(r: &Report) -> Vec<String> {
    r.findings.iter().map(|f| f.rule_id.clone()).collect()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn put(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut text = lines.join("\n");
    if !lines.is_empty() {
        text.push('\n');
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn kind(line: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap();
    v["kind"].as_str().unwrap_or("").to_string()
}

/// What a forger who knows the format does: rewrite the chain from `from` on with fresh
/// hashes (each line's `prev` the previous line's new hash, each checkpoint's `head` too).
fn rehash(lines: &mut [String], from: usize) {
    let mut prev = if from == 0 {
        "0".repeat(64)
    } else {
        let v: Value = serde_json::from_str(&lines[from - 1]).unwrap();
        v["hash"].as_str().unwrap().to_string()
    };
    for l in lines.iter_mut().skip(from) {
        let v: Value = serde_json::from_str(l).unwrap();
        let mut m: Map<String, Value> = v.as_object().unwrap().clone();
        if m["kind"] == "checkpoint" {
            m.insert("head".into(), prev.clone().into());
            m.insert("covers".into(), (m["seq"].as_u64().unwrap() - 1).into());
        }
        let chain: Vec<(String, Value)> = ["seq", "time"]
            .iter()
            .map(|k| (k.to_string(), m[*k].clone()))
            .collect();
        for k in ["prev", "schema", "seq", "time", "hash"] {
            m.remove(k);
        }
        let members = Value::Object(m).to_string();
        let members = &members[1..members.len() - 1];
        let sep = if members.is_empty() { "" } else { "," };
        let canonical = format!(
            "{{{members}{sep}\"prev\":\"{prev}\",\"schema\":\"modelsec.event/1\",\"seq\":{},\"time\":{}}}",
            chain[0].1, chain[1].1
        );
        let hash = blake3::hash(canonical.as_bytes()).to_hex().to_string();
        *l = format!(
            "{},\"hash\":\"{hash}\"}}",
            &canonical[..canonical.len() - 1]
        );
        prev = hash;
    }
}

const LATER: &str = "2099-01-01T00:00:00Z";

#[test]
fn a_signed_log_verifies_with_its_key_and_is_vouched_for_to_the_end() {
    let t = tempfile::tempdir().unwrap();
    let (sk, pk) = keys(t.path(), "cp");
    let p = t.path().join("events.jsonl");
    write_signed(&p, &sk, 45, 10, None);
    let ls = lines(&p);
    assert_eq!(kind(&ls[0]), "genesis");
    assert_eq!(kind(ls.last().unwrap()), "checkpoint");
    let last: Value = serde_json::from_str(ls.last().unwrap()).unwrap();
    assert_eq!(last["final"], true);
    assert_eq!(last["replica"], "r1");
    let cps = ls.iter().filter(|l| kind(l) == "checkpoint").count();
    assert_eq!(cps, 5, "a checkpoint every 10 events and a closing one");
    let r = check(std::slice::from_ref(&p), Some(&pk), Some(LATER));
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
    assert_eq!(r.facts["signed_through"], last["covers"]);
    // And through the command line.
    let o = run(
        t.path(),
        &[
            "log",
            "verify",
            "events.jsonl",
            "--key",
            "cp.pub",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["facts"]["signatures"], "checked");
}

#[test]
fn tail_truncation_after_the_last_checkpoint_is_found() {
    let t = tempfile::tempdir().unwrap();
    let (sk, pk) = keys(t.path(), "cp");
    let p = t.path().join("events.jsonl");
    write_signed(&p, &sk, 45, 10, None);
    let ls = lines(&p);
    // Cut the closing checkpoint and the events after the last periodic one.
    let last_periodic = ls[..ls.len() - 1]
        .iter()
        .rposition(|l| kind(l) == "checkpoint")
        .unwrap();
    for cut in [last_periodic + 3, last_periodic + 1] {
        let q = put(t.path(), &format!("cut{cut}.jsonl"), &ls[..cut]);
        let r = check(std::slice::from_ref(&q), Some(&pk), Some(LATER));
        assert_eq!(rules(&r), ["log/tail-cut"], "cut at {cut}");
        assert!(r.failed());
        // While the last checkpoint is recent, the log may be open: said, not failed.
        let r = check(&[q], Some(&pk), None);
        assert_eq!(rules(&r), ["log/tail-open"], "cut at {cut}");
        assert!(!r.failed());
    }
}

#[test]
fn an_edited_or_foreign_checkpoint_is_found_even_when_rehashed() {
    let t = tempfile::tempdir().unwrap();
    let (sk, pk) = keys(t.path(), "cp");
    let (other_sk, _) = keys(t.path(), "other");
    let p = t.path().join("events.jsonl");
    write_signed(&p, &sk, 30, 10, None);
    let ls = lines(&p);
    let cp = ls.iter().position(|l| kind(l) == "checkpoint").unwrap();
    // Edited in place: its hash and its signature fail.
    let mut edited = ls.clone();
    edited[cp] = edited[cp].replace("\"final\":false", "\"final\":true");
    let q = put(t.path(), "edited.jsonl", &edited);
    let r = check(&[q], Some(&pk), Some(LATER));
    assert!(rules(&r).contains(&"log/checkpoint-invalid".to_string()));
    assert!(rules(&r).contains(&"log/line-edited".to_string()));
    // Edited and re-hashed from there on: the hashes agree, the signature does not.
    rehash(&mut edited, cp);
    let q = put(t.path(), "rehashed.jsonl", &edited);
    let r = check(std::slice::from_ref(&q), Some(&pk), Some(LATER));
    // None of the rewritten checkpoints verifies.
    let later = ls[cp..].iter().filter(|l| kind(l) == "checkpoint").count();
    assert_eq!(rules(&r), vec!["log/checkpoint-invalid"; later]);
    assert!(
        r.findings
            .iter()
            .all(|f| f.message.contains("does not verify"))
    );
    // Without the key, that forgery cannot be told (the README says so).
    let r = check(&[q], None, Some(LATER));
    assert!(!r.failed(), "{:?}", rules(&r));
    // A log signed with another key.
    let q = t.path().join("foreign.jsonl");
    write_signed(&q, &other_sk, 15, 10, None);
    let r = check(&[q], Some(&pk), Some(LATER));
    assert!(!r.findings.is_empty());
    assert!(
        r.findings
            .iter()
            .all(|f| f.rule_id == "log/checkpoint-invalid")
    );
    assert!(r.findings[0].message.contains("another key"));
}

#[test]
fn a_rehashed_forgery_is_found_with_the_key() {
    let t = tempfile::tempdir().unwrap();
    let (sk, pk) = keys(t.path(), "cp");
    let p = t.path().join("events.jsonl");
    write_signed(&p, &sk, 200, 10, None);
    let ls = lines(&p);
    // Edit an event after the first checkpoint and re-hash everything after it, checkpoints'
    // heads included: their signatures no longer verify.
    let c0 = ls.iter().position(|l| kind(l) == "checkpoint").unwrap();
    let edit = c0 + 5;
    let mut forged = ls.clone();
    forged[edit] = forged[edit].replace("\"n", "\"x");
    rehash(&mut forged, edit);
    let r = check(
        &[put(t.path(), "kept.jsonl", &forged)],
        Some(&pk),
        Some(LATER),
    );
    assert!(r.failed());
    assert!(
        rules(&r).iter().all(|id| id == "log/checkpoint-invalid"),
        "{:?}",
        rules(&r)
    );
    // Dropping the checkpoints after the edit: more events go unsigned than the writer leaves.
    let mut dropped: Vec<String> = ls[..edit]
        .iter()
        .cloned()
        .chain(
            ls[edit..]
                .iter()
                .filter(|l| kind(l) != "checkpoint")
                .cloned(),
        )
        .collect();
    // Renumber as the forger must.
    for (i, l) in dropped.iter_mut().enumerate() {
        let v: Value = serde_json::from_str(l).unwrap();
        let mut m = v.as_object().unwrap().clone();
        m.insert("seq".into(), (i as u64).into());
        *l = Value::Object(m).to_string();
    }
    let mut dropped_fixed = dropped.clone();
    rehash(&mut dropped_fixed, 0);
    let r = check(
        &[put(t.path(), "dropped.jsonl", &dropped_fixed)],
        Some(&pk),
        Some(LATER),
    );
    assert_eq!(rules(&r), ["log/tail-unsigned"]);
    // Dropping every checkpoint: nothing vouches for the log.
    let mut none: Vec<String> = ls
        .iter()
        .filter(|l| kind(l) != "checkpoint")
        .cloned()
        .collect();
    rehash(&mut none, 0);
    for (i, l) in none.iter_mut().enumerate() {
        let v: Value = serde_json::from_str(l).unwrap();
        let mut m = v.as_object().unwrap().clone();
        m.insert("seq".into(), (i as u64).into());
        *l = Value::Object(m).to_string();
    }
    rehash(&mut none, 0);
    let q = put(t.path(), "none.jsonl", &none);
    let r = check(std::slice::from_ref(&q), Some(&pk), Some(LATER));
    assert_eq!(rules(&r), ["log/unsigned"]);
    assert!(check(&[q], None, Some(LATER)).findings.is_empty());
}

#[test]
fn deleted_oldest_lines_or_files_and_empty_logs_are_findings() {
    let t = tempfile::tempdir().unwrap();
    let (sk, pk) = keys(t.path(), "cp");
    let p = t.path().join("events.jsonl");
    write_signed(&p, &sk, 300, 50, Some(4096));
    let mut files: Vec<PathBuf> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("events.jsonl")
        })
        .collect();
    // Rotated files in seq order, the active file last.
    files.sort_by_key(|f| (f == &p, f.clone()));
    assert!(files.len() >= 3, "{files:?}");
    // In any order: grouped and ordered by name.
    let mut shuffled = files.clone();
    shuffled.reverse();
    let r = check(&shuffled, Some(&pk), Some(LATER));
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
    // Rotated files end sealed by a checkpoint.
    let first = lines(&files[0]);
    assert_eq!(kind(first.last().unwrap()), "checkpoint");
    // The oldest file deleted.
    let r = check(&files[1..], Some(&pk), Some(LATER));
    assert_eq!(rules(&r), ["log/starts-mid-chain"]);
    assert!(r.failed());
    // The active file deleted: the rotated ones end at a checkpoint that is not the last.
    let r = check(&files[..files.len() - 1], Some(&pk), Some(LATER));
    assert_eq!(rules(&r), ["log/tail-cut"]);
    // The oldest lines deleted.
    let q = put(t.path(), "head-cut.jsonl", &first[5..]);
    let r = check(&[q], None, Some(LATER));
    assert!(rules(&r).contains(&"log/starts-mid-chain".to_string()));
    assert!(r.failed());
    // An empty log, through the command line.
    put(t.path(), "empty.jsonl", &[]);
    let o = run(
        t.path(),
        &["log", "verify", "empty.jsonl", "--format", "json"],
    );
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["findings"][0]["rule_id"], "log/empty");
}

#[test]
fn several_replicas_logs_verify_in_one_call() {
    let t = tempfile::tempdir().unwrap();
    let (sk, pk) = keys(t.path(), "cp");
    let mut files = Vec::new();
    for r in ["a", "b", "c"] {
        let d = t.path().join(r);
        std::fs::create_dir(&d).unwrap();
        write_signed(&d.join("events.jsonl"), &sk, 120, 20, Some(4096));
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if !p.file_name().unwrap().to_string_lossy().starts_with('.') {
                files.push(p);
            }
        }
    }
    let r = check(&files, Some(&pk), Some(LATER));
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
    assert_eq!(r.facts["chains"].as_array().unwrap().len(), 3);
    // A line deleted in replica b's first file is found there, and only there.
    let b = t.path().join("b").join("events.jsonl.000000000000");
    let mut ls = lines(&b);
    ls.remove(3);
    put(&t.path().join("b"), "events.jsonl.000000000000", &ls);
    let r = check(&files, Some(&pk), Some(LATER));
    assert!(r.failed());
    for f in &r.findings {
        assert!(
            f.location.as_ref().unwrap().path.contains("/b/"),
            "{:?}",
            f.location
        );
    }
}

#[test]
fn a_second_writer_is_refused_and_findings_are_capped() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("events.jsonl");
    let one = EventLog::open(LogOptions::new(&p, Durability::Group)).unwrap();
    match EventLog::open(LogOptions::new(&p, Durability::Group)) {
        Err(e @ LogError::Locked { .. }) => {
            assert!(e.to_string().contains("in use by another process"), "{e}")
        }
        other => panic!("a second writer was not refused: {:?}", other.err()),
    }
    assert!(one.log(&event(1)));
    one.close();
    drop(one);
    // Once the first writer is gone, the log reopens and continues. A process that another test
    // thread forks in the meantime holds a copy of the lock's descriptor until it execs (the
    // lock is released with the last copy), so on a loaded machine the reopen may wait a moment.
    let mut tries = 0;
    let two = loop {
        match EventLog::open(LogOptions::new(&p, Durability::Group)) {
            Err(LogError::Locked { .. }) if tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => break other.unwrap(),
        }
    };
    two.close();
    let r = check(&[p], None, None);
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
    // Megabytes of junk: a bounded report.
    let junk = "{\"not\":\"an event\"}\n".repeat(200_000);
    std::fs::write(t.path().join("junk.jsonl"), junk).unwrap();
    let o = run(
        t.path(),
        &["log", "verify", "junk.jsonl", "--format", "sarif"],
    );
    assert_eq!(code(&o), 1);
    assert!(
        o.stdout.len() < 4 << 20,
        "{} bytes of SARIF",
        o.stdout.len()
    );
    let o = run(
        t.path(),
        &["log", "verify", "junk.jsonl", "--format", "json"],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(ids.len() <= 1002, "{}", ids.len());
    assert!(ids.contains(&"log/findings-capped"));
}

#[test]
fn an_idle_writer_checkpoints_on_time() {
    let t = tempfile::tempdir().unwrap();
    let (sk, pk) = keys(t.path(), "cp");
    let p = t.path().join("events.jsonl");
    let mut o = options(&p, &sk, 1000, None);
    o.checkpoint.as_mut().unwrap().every = Duration::from_secs(1);
    let log = EventLog::open(o).unwrap();
    log.log_durable(&event(0)).unwrap();
    // A checkpoint comes after a second without further events (read before close writes the
    // closing one). The writer thread may be late on a loaded machine: wait for it, boundedly.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ls = lines(&p);
        let last: Value = serde_json::from_str(ls.last().unwrap()).unwrap_or(Value::Null);
        if last["kind"] == "checkpoint" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint within 30 s of an idle writer's last event (checkpoint every 1 s): {ls:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    log.close();
    let r = check(&[p], Some(&pk), Some(LATER));
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
}
