//! The writer and the verifier, against each other.

use super::*;
use crate::report::Report;

/// A small event numbered `n` (`"previous_file":"n<i>"`), for tampering with.
fn event(i: usize) -> Event {
    Event::Health(Health::Rotated {
        previous_file: format!("n{i}"),
    })
}

#[test]
fn a_device_or_directory_is_not_a_log() {
    for path in ["/dev/null", "/"] {
        let e = EventLog::open(LogOptions::new(path, Durability::Group))
            .err()
            .expect("refused");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}

/// Regression: a line whose cut point (75 bytes from the end) falls inside a multi-byte
/// character panicked `split_at`; it is a malformed line.
#[test]
fn a_multibyte_character_at_the_cut_is_a_malformed_line() {
    let line = format!("{{\"k\":\"é{}\"}}", "A".repeat(72));
    assert!(!line.is_char_boundary(line.len() - 75));
    assert!(parse_line(&line).is_err());
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("e.jsonl");
    std::fs::write(&p, format!("{line}\n")).unwrap();
    let r = verify(&[p]);
    // A file of junk has no events: malformed, and so empty.
    assert_eq!(rules_of(&r), ["log/empty", "log/malformed-line"]);
    // Devices are refused, not read forever.
    let r = verify(&[PathBuf::from("/dev/zero")]);
    let f = r.findings.iter().find(|f| f.rule_id == "log/unreadable");
    let f = f.expect("unreadable");
    assert!(f.message.contains("not a regular file"), "{}", f.message);
}

/// Open a log, waiting (10 s at most) while a previous writer's lock is still held. The
/// previous writer in these tests has closed, but a process that another test thread forks
/// meanwhile holds a copy of the lock's descriptor until it execs (the lock goes with the last
/// copy): on a loaded machine a reopen right after a close can find it still locked.
fn open(opts: impl Fn() -> LogOptions) -> EventLog {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match EventLog::open(opts()) {
            Err(LogError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
}

fn write(path: &Path, n: usize, durability: Durability, rotate: Option<u64>) {
    let log = open(|| LogOptions {
        rotate_bytes: rotate,
        ..LogOptions::new(path, durability)
    });
    for i in 0..n {
        if durability == Durability::Always {
            log.log_durable(&event(i)).unwrap();
        } else {
            assert!(log.log(&event(i)));
        }
    }
    log.close();
}

fn rules_of(r: &Report) -> Vec<String> {
    r.findings.iter().map(|f| f.rule_id.clone()).collect()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_written_log_verifies_and_a_reopened_one_continues_the_chain() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("events.jsonl");
    write(&p, 100, Durability::Group, None);
    write(&p, 5, Durability::Always, None);
    let r = verify(std::slice::from_ref(&p));
    assert!(r.findings.is_empty(), "{:?}", rules_of(&r));
    assert_eq!(r.facts["events"], 106);
    assert_eq!(r.facts["last_seq"], 105);
    let first: Value = serde_json::from_str(&lines(&p)[0]).unwrap();
    assert_eq!(first["schema"], SCHEMA);
    assert_eq!(first["prev"], GENESIS);
    assert_eq!(first["kind"], "genesis");
}

#[test]
fn every_kind_of_tampering_is_found_at_its_line() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("events.jsonl");
    write(&p, 20, Durability::Group, None);
    let orig = lines(&p);
    let check = |name: &str, ls: Vec<String>, rule: &str, line: u64| {
        let q = t.path().join(name);
        std::fs::write(&q, ls.join("\n") + "\n").unwrap();
        let r = verify(&[q]);
        let first = r
            .findings
            .iter()
            .filter(|f| f.rule_id == rule)
            .filter_map(|f| f.location.as_ref()?.line)
            .min()
            .unwrap_or_else(|| panic!("{name}: {:?}", rules_of(&r)));
        assert_eq!(first, line, "{name}");
        assert_eq!(
            r.facts["first_bad_line"],
            format!("{}:{line}", t.path().join(name).display()),
            "{name}"
        );
        assert!(r.failed(), "{name}");
    };
    // Line 1 is the genesis record; event `n<i>` is on line i + 2.
    let mut edited = orig.clone();
    edited[8] = edited[8].replace("\"n7\"", "\"n8\"");
    check("edited", edited, "log/line-edited", 9);
    let mut deleted = orig.clone();
    deleted.remove(8);
    check("deleted", deleted, "log/chain-broken", 9);
    let mut reordered = orig.clone();
    reordered.swap(8, 9);
    check("reordered", reordered, "log/chain-broken", 9);
    let mut truncated = orig.clone();
    truncated.drain(6..16);
    check("truncated", truncated, "log/chain-broken", 7);
    // Re-hashing an edited line does not help: the next line's `prev` no longer matches.
    let mut rehashed = orig.clone();
    let v: Value = serde_json::from_str(&rehashed[4]).unwrap();
    let mut m = v.as_object().unwrap().clone();
    m.insert("previous_file".into(), "n99".into());
    let prev = Head {
        seq: 3,
        hash: m["prev"].as_str().unwrap().to_string(),
    };
    rehashed[4] = chain_line(Members::of_object(m), &prev).0;
    check("rehashed", rehashed, "log/chain-broken", 6);
    // A partial last line (a crash mid-write) is reported but does not fail.
    let q = t.path().join("partial");
    std::fs::write(&q, orig.join("\n") + "\n{\"kind\":\"req").unwrap();
    let r = verify(&[q]);
    assert_eq!(rules_of(&r), ["log/partial-tail"]);
    assert!(!r.failed());
}

#[test]
fn rotation_keeps_the_chain_across_files() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("events.jsonl");
    write(&p, 300, Durability::Group, Some(4096));
    let mut files: Vec<PathBuf> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f != &p && f != &lock_path(&p))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    files.push(p.clone());
    let r = verify(&files);
    assert!(r.findings.is_empty(), "{:?}", rules_of(&r));
    // Leaving a rotated file out breaks the chain where it is missing.
    let mut gap = files.clone();
    gap.remove(1);
    let r = verify(&gap);
    assert_eq!(rules_of(&r), ["log/chain-broken"]);
    // The active file alone: verifies, noting it starts mid-chain.
    let r = verify(&[p]);
    assert_eq!(rules_of(&r), ["log/starts-mid-chain"]);
    assert!(r.failed(), "deleted oldest files are a finding");
}

#[test]
fn a_partial_line_left_by_a_crash_is_kept_and_the_chain_continues_in_a_new_file() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("events.jsonl");
    write(&p, 10, Durability::Group, None);
    let mut f = OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(b"{\"kind\":\"requ").unwrap();
    drop(f);
    write(&p, 3, Durability::Group, None);
    let old = t.path().join("events.jsonl.000000000000");
    let r = verify(&[old, p]);
    assert_eq!(rules_of(&r), ["log/partial-tail"]);
    assert_eq!(r.facts["last_seq"], 13);
}

#[test]
fn timestamps_are_rfc3339_utc() {
    let t = now_rfc3339();
    assert_eq!(t.len(), "2026-11-23T06:57:36.123456Z".len(), "{t}");
    assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
}
