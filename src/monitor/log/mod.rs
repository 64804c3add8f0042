//! The monitor's event log: JSON Lines, one event a line, hash-chained, with a stated
//! durability policy, rotation that keeps the chain, and a verifier.
//!
//! Line format. An event is one JSON object: the event's own members (`kind` and its fields,
//! serialized with sorted keys), then `prev` (the previous line's `hash`; 64 zeros for the first
//! event ever), `schema` (`modelsec.event/1`), `seq` (0, 1, 2, … across files) and `time`. That
//! text is the line's canonical form; `hash` is the BLAKE3 of it, appended as the last member:
//! `{"kind":…,"prev":"…","schema":"modelsec.event/1","seq":7,"time":"…","hash":"<64 hex>"}`. Editing any byte of a line breaks its hash;
//! deleting, inserting or reordering lines breaks `prev`/`seq` at the next line.
//!
//! Writing. Events go through a bounded channel to one writer thread. `always`: the writer
//! writes whatever is queued (up to 64 lines), `fdatasync`s, then acknowledges; the server only
//! answers a request after its event is durable. `group`: the writer `fdatasync`s every 64
//! events or 50 ms after the first unsynced one, whichever comes first (so an idle log is
//! flushed within 50 ms too); a crash loses at most that window. A full channel drops the event
//! and counts it (never blocks a request); a failed write is loud (stderr, a counter, and in
//! `always` mode the request fails with 503).
//!
//! Rotation. When the active file passes `rotate_bytes`, it is renamed to
//! `<path>.<first seq, 12 digits>` and a new file begins; its first event (`kind: health`,
//! `event: rotated`) names the previous file and continues the chain, so
//! `modelsec log verify <path>.* <path>` checks every file in order.

use super::event::{Event, Health};
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

pub mod checkpoint;
mod verify;
pub use checkpoint::CheckpointOptions;
use checkpoint::Checkpointer;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError, sync_channel,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
pub use verify::{VerifyOptions, verify, verify_with};

/// The `schema` member of every event.
pub const SCHEMA: &str = "modelsec.event/1";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Lines written per `fdatasync` at most, in both modes.
pub const GROUP_EVENTS: usize = 64;
/// How long an event may wait for its `fdatasync` in `group` mode.
pub const GROUP_DELAY: Duration = Duration::from_millis(50);

/// How often a group-mode writer looks at its queue while it fills a batch.
const POLL: Duration = Duration::from_millis(1);
/// Events that may wait in the channel before new ones are dropped (and counted).
const QUEUE: usize = 65_536;

/// When an event counts as written.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fdatasync before the response: no acknowledged event is lost.
    Always,
    /// fdatasync every 64 events or 50 ms: a crash loses at most that window.
    Group,
}

/// Errors opening the log (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("event log `{path}`: {message}")]
    Io { path: String, message: String },
    #[error(
        "event log `{path}` is in use by another process (it holds `{lock}`); give each replica its own log file"
    )]
    Locked { path: String, lock: String },
    #[error(
        "event log `{path}`: its last line is not a modelsec event ({message}); move the file away or verify it with `modelsec log verify`"
    )]
    Foreign { path: String, message: String },
}

struct Ack(std::sync::mpsc::SyncSender<Result<u64, String>>);

/// An event's own members, already serialized (`"kind":"request",…`, no braces): the caller's
/// thread pays for serialization, so the writer's bursts stay short.
struct Members(String);

impl Members {
    fn of(event: &Event) -> Members {
        Members::of_object(event.to_object())
    }

    /// Sorted keys (serde_json's map); the chain's own members cannot be set by an event.
    fn of_object(mut event: Map<String, Value>) -> Members {
        for reserved in ["schema", "seq", "prev", "time", "hash"] {
            event.remove(reserved);
        }
        let text = Value::Object(event).to_string();
        Members(text[1..text.len() - 1].to_string())
    }
}

enum Msg {
    Event(Members, Option<Ack>),
    Shutdown,
}

/// Counters the server exports.
#[derive(Debug, Default)]
pub struct LogStats {
    pub written: AtomicU64,
    pub dropped: AtomicU64,
    pub write_errors: AtomicU64,
    pub syncs: AtomicU64,
    pub failed: AtomicBool,
}

/// Where the chain stands.
#[derive(Clone, Debug)]
struct Head {
    seq: u64,
    hash: String,
}

/// The writer's handle; cheap to share behind an `Arc`.
pub struct EventLog {
    tx: SyncSender<Msg>,
    pub stats: Arc<LogStats>,
    pub durability: Durability,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Settings.
#[derive(Clone, Debug)]
pub struct LogOptions {
    pub path: PathBuf,
    pub durability: Durability,
    /// Rotate when the active file passes this many bytes.
    pub rotate_bytes: Option<u64>,
    /// Who writes this log (genesis and checkpoints carry it).
    pub replica: String,
    /// Signed checkpoints.
    pub checkpoint: Option<CheckpointOptions>,
    /// Also send every written line to this syslog receiver (`tcp://HOST:PORT`).
    pub syslog: Option<String>,
}

impl LogOptions {
    /// A log at `path` without rotation or checkpoints.
    pub fn new(path: impl Into<PathBuf>, durability: Durability) -> Self {
        LogOptions {
            path: path.into(),
            durability,
            rotate_bytes: None,
            replica: String::new(),
            checkpoint: None,
            syslog: None,
        }
    }
}

/// The lock file beside a log (`.<name>.lock`: not matched by `<name>.*`).
pub fn lock_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.lock"))
}

/// Hold the log's lock for the writer's life: a second writer is refused, not discovered
/// later as a broken chain.
fn lock(path: &Path) -> Result<File, LogError> {
    let lock = lock_path(path);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|e| LogError::Io {
            path: lock.display().to_string(),
            message: e.to_string(),
        })?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(LogError::Locked {
            path: path.display().to_string(),
            lock: lock.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(LogError::Io {
            path: lock.display().to_string(),
            message: format!("cannot lock: {e}"),
        }),
    }
}

impl EventLog {
    /// Open (or continue) the log at `opts.path` and start the writer thread.
    pub fn open(opts: LogOptions) -> Result<Self, LogError> {
        let io = |e: std::io::Error| LogError::Io {
            path: opts.path.display().to_string(),
            message: e.to_string(),
        };
        // Rotation renames the file and reads its first line: a device, FIFO or directory
        // cannot be a log.
        if let Ok(m) = std::fs::metadata(&opts.path)
            && !m.is_file()
        {
            return Err(LogError::Io {
                path: opts.path.display().to_string(),
                message: "not a regular file; give the path of a file (it is created if missing)"
                    .into(),
            });
        }
        let lock = lock(&opts.path)?;
        let (head, partial) = read_head(&opts.path)?;
        if partial {
            // A crash left half a line: keep that file as it is (it verifies, with a note)
            // and continue the chain in a new one.
            rotate_file(&opts.path, &opts.path).map_err(io)?;
        }
        let file = open_append(&opts.path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let stats = Arc::new(LogStats::default());
        let (tx, rx) = sync_channel(QUEUE);
        let checkpoint = match &opts.checkpoint {
            Some(c) => {
                Some(
                    Checkpointer::new(c.clone(), &opts.replica).map_err(|e| LogError::Io {
                        path: opts.path.display().to_string(),
                        message: format!("checkpoint key: {e}"),
                    })?,
                )
            }
            None => None,
        };
        let export = match &opts.syslog {
            Some(t) => Some(
                super::export::Exporter::start(t, &opts.replica, stats.clone()).map_err(
                    |message| LogError::Io {
                        path: opts.path.display().to_string(),
                        message,
                    },
                )?,
            ),
            None => None,
        };
        let fresh = head.seq == u64::MAX;
        let mut writer = Writer {
            opts: opts.clone(),
            file,
            size,
            head,
            stats: stats.clone(),
            checkpoint,
            export,
            _lock: lock,
        };
        if fresh {
            // Every chain begins with its genesis record, durable before the first event.
            writer.write_lines(vec![(checkpoint::genesis(&opts.replica), None)], false);
            if writer.stats.failed.load(Ordering::Relaxed) {
                return Err(LogError::Io {
                    path: opts.path.display().to_string(),
                    message: "cannot write the genesis record".into(),
                });
            }
            writer.stats.written.store(0, Ordering::Relaxed);
        }
        let durability = opts.durability;
        let thread = std::thread::Builder::new()
            .name("modelsec-log".into())
            .spawn(move || writer.run(rx))
            .map_err(io)?;
        Ok(EventLog {
            tx,
            stats,
            durability,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queue an event without waiting. `false` when it was dropped (queue full or writer
    /// gone); the drop is counted.
    pub fn log(&self, event: &Event) -> bool {
        match self.tx.try_send(Msg::Event(Members::of(event), None)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Queue an event and wait until it is durable (written and `fdatasync`ed); its `seq`.
    /// Blocking: call it from a blocking context.
    pub fn log_durable(&self, event: &Event) -> Result<u64, String> {
        let (tx, rx) = sync_channel(1);
        match self
            .tx
            .try_send(Msg::Event(Members::of(event), Some(Ack(tx))))
        {
            Ok(()) => {}
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                return Err("the event log's queue is full".into());
            }
        }
        rx.recv()
            .map_err(|_| "the event log writer stopped".to_string())?
    }

    /// Write everything queued, sync, and stop the writer.
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Shutdown);
        if let Some(t) = self.thread.lock().ok().and_then(|mut g| g.take()) {
            let _ = t.join();
        }
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.close();
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let existed = path.exists();
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    if !existed {
        sync_parent(path)?;
    }
    Ok(f)
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Rename the active file `path` to `<base>.<first seq>` (the first seq read from its first
/// line; 0 when unreadable) and sync the directory.
fn rotate_file(path: &Path, base: &Path) -> std::io::Result<PathBuf> {
    let first = File::open(path)
        .ok()
        .and_then(|f| {
            let mut line = String::new();
            BufReader::new(f.take(1 << 20)).read_line(&mut line).ok()?;
            let v: Value = serde_json::from_str(line.trim_end()).ok()?;
            v.get("seq")?.as_u64()
        })
        .unwrap_or(0);
    let mut target = PathBuf::from(format!("{}.{first:012}", base.display()));
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{}.{first:012}-{n}", base.display()));
        n += 1;
    }
    std::fs::rename(path, &target)?;
    sync_parent(path)?;
    Ok(target)
}

/// The chain head of an existing log file (its last complete line), and whether a partial
/// line follows it.
fn read_head(path: &Path) -> Result<(Head, bool), LogError> {
    let genesis = Head {
        seq: u64::MAX, // next is 0
        hash: GENESIS.into(),
    };
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((genesis, false)),
        Err(e) => {
            return Err(LogError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    let io = |e: std::io::Error| LogError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let len = f.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok((genesis, false));
    }
    // Read the tail (the last line fits in 1 MiB; events are small).
    let start = len.saturating_sub(1 << 20);
    f.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).map_err(io)?;
    let partial = buf.last() != Some(&b'\n');
    let complete = match buf.iter().rposition(|&b| b == b'\n') {
        Some(end) => &buf[..end],
        None => return Ok((genesis, partial)),
    };
    let last = complete.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(last);
    match parse_line(&text) {
        Ok(line) => Ok((
            Head {
                seq: line.seq,
                hash: line.hash,
            },
            partial,
        )),
        Err(message) => Err(LogError::Foreign {
            path: path.display().to_string(),
            message,
        }),
    }
}

struct Writer {
    opts: LogOptions,
    file: File,
    size: u64,
    head: Head,
    stats: Arc<LogStats>,
    checkpoint: Option<Checkpointer>,
    /// The syslog exporter: every written line, after it is written.
    export: Option<super::export::Exporter>,
    /// Held (locked) while the writer lives.
    _lock: File,
}

impl Writer {
    fn run(&mut self, rx: Receiver<Msg>) {
        let (max_events, window) = match self.opts.durability {
            Durability::Always => (GROUP_EVENTS, Duration::ZERO),
            Durability::Group => (GROUP_EVENTS, GROUP_DELAY),
        };
        let mut stop = false;
        while !stop {
            // With checkpoints, wake when the next one is due, also when idle.
            let next = match &self.checkpoint {
                Some(c) => rx.recv_timeout(c.wait()),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let first = match next {
                Ok(Msg::Event(e, ack)) => (e, ack),
                Err(RecvTimeoutError::Timeout) => {
                    self.write_lines(Vec::new(), false);
                    continue;
                }
                Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut batch = vec![first];
            let deadline = Instant::now() + window;
            // Group mode polls the queue every millisecond rather than waking on each event:
            // under load a send then costs no futex wake or context switch for the writer.
            'fill: while batch.len() < max_events {
                loop {
                    match rx.try_recv() {
                        Ok(Msg::Event(e, ack)) => {
                            batch.push((e, ack));
                            if batch.len() >= max_events {
                                break 'fill;
                            }
                        }
                        Ok(Msg::Shutdown) | Err(TryRecvError::Disconnected) => {
                            stop = true;
                            break 'fill;
                        }
                        Err(TryRecvError::Empty) => break,
                    }
                }
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                std::thread::sleep(POLL.min(deadline - now));
            }
            self.write_batch(batch);
        }
        // Drain what is left, then sync.
        let rest: Vec<_> = rx
            .try_iter()
            .filter_map(|m| match m {
                Msg::Event(e, ack) => Some((e, ack)),
                Msg::Shutdown => None,
            })
            .collect();
        if !rest.is_empty() {
            self.write_batch(rest);
        }
        // The closing checkpoint: a log that ends without one was cut or its writer killed.
        if self.checkpoint.is_some() && !self.stats.failed.load(Ordering::Relaxed) {
            self.write_lines(Vec::new(), true);
        }
    }

    fn write_batch(&mut self, batch: Vec<(Members, Option<Ack>)>) {
        self.write_lines(batch, false);
    }

    /// Chain and write events, then a checkpoint when one is due (always when `last`, or with
    /// no events: a timer's), then sync.
    fn write_lines(&mut self, batch: Vec<(Members, Option<Ack>)>, last: bool) {
        let mut text = String::new();
        let mut seqs = Vec::with_capacity(batch.len());
        let mut acks = Vec::with_capacity(batch.len());
        let mut head = self.head.clone();
        let n = batch.len() as u64;
        let timer = batch.is_empty();
        for (event, ack) in batch {
            let (line, next) = chain_line(event, &head);
            text.push_str(&line);
            text.push('\n');
            seqs.push(next.seq);
            acks.push(ack);
            head = next;
        }
        let mut checkpointed = false;
        if let Some(c) = &self.checkpoint
            && (last || timer || c.due(n))
            && head.seq != u64::MAX
        {
            let members = c.sign(head.seq, &head.hash, &now_rfc3339(), last);
            let (line, next) = chain_line(members, &head);
            text.push_str(&line);
            text.push('\n');
            head = next;
            checkpointed = true;
        }
        if text.is_empty() {
            return;
        }
        let result = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.head = head;
                self.size += text.len() as u64;
                if let Some(x) = &self.export {
                    for line in text.lines() {
                        x.send(line);
                    }
                }
                if let Some(c) = &mut self.checkpoint {
                    if checkpointed {
                        c.reset();
                    } else {
                        c.since += n;
                    }
                }
                self.stats
                    .written
                    .fetch_add(acks.len() as u64, Ordering::Relaxed);
                self.stats.syncs.fetch_add(1, Ordering::Relaxed);
                for (ack, seq) in acks.into_iter().zip(seqs) {
                    if let Some(Ack(tx)) = ack {
                        let _ = tx.send(Ok(seq));
                    }
                }
                if !last && self.opts.rotate_bytes.is_some_and(|max| self.size >= max) {
                    self.rotate();
                }
            }
            Err(e) => {
                // Loud: stderr once per failure, counters, and every waiter told. A failed
                // write may have left part of a line: later writes start a new file.
                eprintln!(
                    "modelsec: cannot write the event log `{}`: {e}; {} event(s) lost",
                    self.opts.path.display(),
                    acks.len()
                );
                self.stats.failed.store(true, Ordering::Relaxed);
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .dropped
                    .fetch_add(acks.len() as u64, Ordering::Relaxed);
                for Ack(tx) in acks.into_iter().flatten() {
                    let _ = tx.send(Err(format!("cannot write the event log: {e}")));
                }
                self.rotate();
            }
        }
    }

    fn rotate(&mut self) {
        let path = self.opts.path.clone();
        // Seal the file with a checkpoint (unless writing failed: then it cannot be trusted
        // to take one).
        if let Some(c) = &self.checkpoint
            && c.since > 0
            && !self.stats.failed.load(Ordering::Relaxed)
        {
            let members = c.sign(self.head.seq, &self.head.hash, &now_rfc3339(), false);
            let (line, next) = chain_line(members, &self.head);
            if self
                .file
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|()| self.file.sync_data())
                .is_ok()
            {
                self.head = next;
                if let Some(c) = &mut self.checkpoint {
                    c.reset();
                }
            }
        }
        let _ = self.file.sync_all();
        let previous = match rotate_file(&path, &path) {
            Ok(p) => p,
            Err(e) => {
                eprintln!(
                    "modelsec: cannot rotate the event log `{}`: {e}",
                    path.display()
                );
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        match open_append(&path) {
            Ok(f) => {
                self.file = f;
                self.size = 0;
                let ev = Event::Health(Health::Rotated {
                    previous_file: previous
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default(),
                });
                self.write_batch(vec![(Members::of(&ev), None)]);
            }
            Err(e) => {
                eprintln!(
                    "modelsec: cannot open a new event log `{}`: {e}",
                    path.display()
                );
                self.stats.failed.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// RFC 3339 UTC with microseconds, from the system clock.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// The line for an event's members after `head`, and the new head. The canonical text is the
/// event's members, then `prev`, `schema`, `seq` and `time`, as one JSON object; `hash` is the
/// BLAKE3 of that text and is appended as the last member.
fn chain_line(members: Members, head: &Head) -> (String, Head) {
    let seq = head.seq.wrapping_add(1);
    let sep = if members.0.is_empty() { "" } else { "," };
    let canonical = format!(
        "{{{}{sep}\"prev\":\"{}\",\"schema\":\"{SCHEMA}\",\"seq\":{seq},\"time\":\"{}\"}}",
        members.0,
        head.hash,
        now_rfc3339()
    );
    let hash = blake3::hash(canonical.as_bytes()).to_hex().to_string();
    let line = format!(
        "{},\"hash\":\"{hash}\"}}",
        &canonical[..canonical.len() - 1]
    );
    (line, Head { seq, hash })
}

/// One line, taken apart.
struct Line {
    seq: u64,
    prev: String,
    hash: String,
    /// Whether the hash matches the canonical text.
    hash_ok: bool,
    /// The line's members.
    value: Value,
}

fn parse_line(text: &str) -> Result<Line, String> {
    const TAIL: usize = ",\"hash\":\"\"}".len() + 64;
    if text.len() < TAIL + 2 || !text.ends_with("\"}") {
        return Err("no trailing \"hash\" member".into());
    }
    let cut = text.len() - TAIL;
    // A multi-byte character across the cut cannot be the ASCII hash member (and must not
    // panic split_at).
    if !text.is_char_boundary(cut) {
        return Err("no trailing \"hash\" member".into());
    }
    let (body, tail) = text.split_at(cut);
    let hash = tail
        .strip_prefix(",\"hash\":\"")
        .and_then(|t| t.strip_suffix("\"}"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("no trailing \"hash\" member")?;
    let canonical = format!("{body}}}");
    let v: Value = serde_json::from_str(&canonical).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("schema").and_then(Value::as_str) != Some(SCHEMA) {
        return Err(format!("no \"schema\": \"{SCHEMA}\""));
    }
    let seq = v
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("no \"seq\" number")?;
    let prev = v
        .get("prev")
        .and_then(Value::as_str)
        .ok_or("no \"prev\" hash")?
        .to_string();
    let hash_ok = blake3::hash(canonical.as_bytes()).to_hex().as_str() == hash;
    Ok(Line {
        seq,
        prev,
        hash: hash.to_string(),
        hash_ok,
        value: v,
    })
}

#[cfg(test)]
mod tests;
