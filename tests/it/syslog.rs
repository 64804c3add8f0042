//! `[export] syslog`: every line of the event log reaches a real Debian `rsyslogd` (started here
//! on a free 127.0.0.1 port; installed by scripts/services.sh — this test fails, not skips,
//! without it) as RFC 5424 over TCP with octet-counted framing, and the copy rsyslog keeps is
//! itself a chain `log verify` accepts.

use modelsec::monitor::event::{Event, Health};
use modelsec::monitor::log::{Durability, EventLog, LogOptions, verify};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Rsyslog(Child);

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn events_reach_rsyslog_as_rfc5424_and_its_copy_verifies() {
    let t = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = t.path().join("siem.log");
    let conf = t.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{dir}\")\nmodule(load=\"imtcp\")\ninput(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\")\n*.* action(type=\"omfile\" file=\"{out}\" template=\"RSYSLOG_SyslogProtocol23Format\")\n",
            dir = t.path().display(),
            out = out.display()
        ),
    )
    .unwrap();
    let bin = ["/usr/sbin/rsyslogd", "rsyslogd"]
        .into_iter()
        .find(|b| std::path::Path::new(b).exists() || *b == "rsyslogd")
        .unwrap();
    let _rsyslog = Rsyslog(
        Command::new(bin)
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(t.path().join("rsyslog.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start rsyslogd ({e}): run scripts/services.sh to install it")
            }),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "rsyslogd did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let p = t.path().join("events.jsonl");
    let log = EventLog::open(LogOptions {
        replica: "r1".into(),
        syslog: Some(format!("tcp://127.0.0.1:{port}")),
        ..LogOptions::new(&p, Durability::Group)
    })
    .unwrap();
    for i in 0..20 {
        assert!(log.log(&Event::Health(Health::Rotated {
            previous_file: format!("n{i} with \"quotes\" and ] brackets"),
        })));
    }
    log.close();
    let written: Vec<String> = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(written.len(), 21);
    // rsyslog writes what it received; wait for all of it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let received = loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.lines().count() >= written.len() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let lines: Vec<&str> = received.lines().collect();
    assert_eq!(lines.len(), written.len(), "{received}");
    assert!(
        lines[0].starts_with("<134>1 ")
            && lines[0].contains(" r1 modelsec ")
            && lines[0].contains("[modelsec@32473 seq=\"0\" replica=\"r1\" kind=\"genesis\"]"),
        "{}",
        lines[0]
    );
    // The message of each is the log's line, byte for byte: the SIEM's copy is a chain.
    let copy: Vec<String> = lines
        .iter()
        .map(|l| l[l.find("] {").unwrap() + 2..].to_string())
        .collect();
    assert_eq!(copy, written);
    let q = t.path().join("copy.jsonl");
    std::fs::write(&q, copy.join("\n") + "\n").unwrap();
    let r = verify(&[q]);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}
