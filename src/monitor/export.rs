//! Events to a SIEM: `[export] syslog = "tcp://HOST:PORT"` sends every line the log writes
//! (events, genesis, checkpoints) as RFC 5424 syslog over TCP with octet-counted framing
//! (RFC 6587): `<PRI>1 TIME REPLICA modelsec PID KIND [modelsec@32473 seq=".." replica=".."
//! kind=".."] JSON`. A bounded queue and its own thread: export never blocks the request path or
//! the log; a full queue or a lost connection drops lines, counted with the log's drops (and so
//! reported as `monitor/log-dropped`). The connection is retried at most once a second.

use super::log::LogStats;
use serde_json::Value;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// Lines that may wait for the exporter.
const QUEUE: usize = 65_536;
/// The structured-data id (32473: the private enterprise number RFC 5612 reserves for
/// documentation and examples).
const SD_ID: &str = "modelsec@32473";

/// Counters.
#[derive(Debug, Default)]
pub struct ExportStats {
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
}

/// The exporter's handle.
pub struct Exporter {
    tx: SyncSender<String>,
    pub stats: Arc<ExportStats>,
    /// The log's counters: drops are counted there too.
    log: Arc<LogStats>,
}

/// `[export]`.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportCfg {
    /// `tcp://HOST:PORT` of a syslog receiver (rsyslog, syslog-ng, a SIEM's collector).
    pub syslog: Option<String>,
}

/// `tcp://HOST:PORT`, checked.
pub fn parse_target(target: &str) -> Result<String, String> {
    let rest = target.strip_prefix("tcp://").ok_or_else(|| {
        format!("export.syslog `{target}`: only tcp://HOST:PORT is supported (RFC 5424 over TCP, octet-counted)")
    })?;
    match rest.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0) => Ok(rest.into()),
        _ => Err(format!("export.syslog `{target}`: give tcp://HOST:PORT")),
    }
}

impl Exporter {
    /// Start the exporter thread for `tcp://HOST:PORT`.
    pub fn start(target: &str, replica: &str, log: Arc<LogStats>) -> Result<Self, String> {
        let addr = parse_target(target)?;
        let (tx, rx) = sync_channel(QUEUE);
        let stats = Arc::new(ExportStats::default());
        let (s, d, r) = (stats.clone(), log.clone(), replica.to_string());
        std::thread::Builder::new()
            .name("modelsec-export".into())
            .spawn(move || run(rx, &addr, &r, &s, &d.dropped))
            .map_err(|e| e.to_string())?;
        Ok(Exporter { tx, stats, log })
    }

    /// Queue a written line; never waits.
    pub fn send(&self, line: &str) {
        match self.tx.try_send(line.to_string()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.log.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Escape a structured-data parameter value (RFC 5424 §6.3.3).
fn sd_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// A header field: printable US-ASCII, 1 to `max` characters, else `-`.
fn field(v: &str, max: usize) -> String {
    let v: String = v
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if v.is_empty() { "-".into() } else { v }
}

/// One octet-counted RFC 5424 frame for a log line.
pub fn frame(line: &str, replica: &str) -> Vec<u8> {
    let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("event");
    // local0; findings at warning, everything else informational.
    let pri = 16 * 8 + if kind == "finding" { 4 } else { 6 };
    let time = v.get("time").and_then(Value::as_str).unwrap_or("-");
    let seq = v.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let msg = format!(
        "<{pri}>1 {} {} modelsec {} {} [{SD_ID} seq=\"{seq}\" replica=\"{}\" kind=\"{}\"] {line}",
        field(time, 64),
        field(replica, 255),
        std::process::id(),
        field(kind, 32),
        sd_value(replica),
        sd_value(kind),
    );
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg.as_bytes());
    out
}

fn run(
    rx: Receiver<String>,
    addr: &str,
    replica: &str,
    stats: &ExportStats,
    log_dropped: &AtomicU64,
) {
    let mut conn: Option<TcpStream> = None;
    let mut next_try = Instant::now();
    let drop_one = || {
        stats.dropped.fetch_add(1, Ordering::Relaxed);
        log_dropped.fetch_add(1, Ordering::Relaxed);
    };
    while let Ok(line) = rx.recv() {
        if conn.is_none() && Instant::now() >= next_try {
            conn = addr
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).ok());
            if let Some(c) = &conn {
                let _ = c.set_write_timeout(Some(Duration::from_secs(2)));
                let _ = c.set_nodelay(true);
            } else {
                next_try = Instant::now() + Duration::from_secs(1);
            }
        }
        let Some(c) = conn.as_mut() else {
            drop_one();
            continue;
        };
        if c.write_all(&frame(&line, replica)).is_ok() {
            stats.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            drop_one();
            conn = None;
            next_try = Instant::now() + Duration::from_secs(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_octet_counted_rfc5424_with_structured_data() {
        let line = r#"{"kind":"finding","seq":7,"time":"2026-11-30T10:00:00.000001Z","hash":"ab"}"#;
        let f = String::from_utf8(frame(line, "r\"1]")).unwrap();
        let (len, msg) = f.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        assert!(
            msg.starts_with("<132>1 2026-11-30T10:00:00.000001Z r\"1] modelsec "),
            "{msg}"
        );
        assert!(
            msg.contains(r#"[modelsec@32473 seq="7" replica="r\"1\]" kind="finding"] {"#),
            "{msg}"
        );
        assert!(msg.ends_with(line));
        assert!(parse_target("udp://x:1").is_err());
        assert!(parse_target("tcp://127.0.0.1:0").is_err());
        assert!(parse_target("tcp://127.0.0.1:514").is_ok());
    }
}
