//! Detector state shared by replicas (`[state] backend = "redis"`, `share_detectors`): each
//! replica publishes what its detectors observed — the client, the rows of a request and the
//! model's answers — to one Redis stream (`<prefix>obs`), and replays every other replica's
//! observations into its own detectors. Each replica's near-duplicate memory, cross-client
//! (Sybil) index, PRADA sets and coverage sketches then hold the whole deployment's traffic, so
//! an attack spread over replicas and keys meets the same evidence as on one replica.
//!
//! Off the request path on both sides: a request hands its observation to a bounded queue
//! (full: dropped and counted, never waited for) that one task writes to Redis in pipelined
//! batches (`XADD … MAXLEN ~`); a thread of its own reads the stream (`XREAD BLOCK`) and
//! replays. Replay updates state only: the signals an observation raises are the publishing
//! replica's to report. Memory in Redis is bounded by the stream's length cap and its expiry;
//! a replica that starts (or restarts) first replays the retained observations of the
//! detector window, so it resumes with the deployment's state.
//!
//! Cost: every replica runs the detectors over every replica's rows (CPU grows with the number
//! of replicas); the detectors' own state stays bounded as on one replica.

use super::redis::StateCfg;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What one request showed the detectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub client: String,
    /// Values per row.
    pub features: usize,
    /// The rows, one after the other.
    pub rows: Vec<f32>,
    /// The model's answers (label, top-1 margin) per row, when it is a classifier.
    pub answers: Option<(Vec<u32>, Vec<f32>)>,
    /// Score vectors sent back.
    pub scores: u64,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ReplicationStats {
    /// Observations written to the stream.
    pub published: AtomicU64,
    /// Observations not written (queue full, Redis down or slow).
    pub dropped: AtomicU64,
    /// Other replicas' observations replayed here.
    pub replayed: AtomicU64,
    /// Stream entries skipped as malformed or for another model shape.
    pub rejected: AtomicU64,
}

/// Observations a request may queue before the writer catches up.
const QUEUE: usize = 8192;
/// Entries per write and per read.
const BATCH: usize = 256;
/// Largest entry replayed (a request's rows; larger ones are skipped as malformed).
const MAX_ENTRY_BYTES: usize = 64 << 20;

/// The publishing side (the reading side runs on its own thread until this is dropped).
pub struct Replicator {
    tx: tokio::sync::mpsc::Sender<Observation>,
    pub stats: Arc<ReplicationStats>,
    stop: Arc<AtomicBool>,
}

impl Drop for Replicator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Replicator {
    /// Start writing this replica's observations and replaying the others' (from `window`
    /// seconds back) through `replay`. Needs a Tokio runtime.
    pub fn start(
        cfg: &StateCfg,
        window: Duration,
        replay: impl Fn(Observation) + Send + 'static,
    ) -> Result<Replicator, String> {
        // A batch of writes may take longer than one request's round trip.
        let timeout = Duration::from_millis(cfg.timeout_ms).max(Duration::from_millis(500));
        let (client, conn) = super::redis::manager(cfg, timeout)?;
        let key = format!("{}obs", cfg.key_prefix);
        // This process's entries are skipped when read back; a restarted replica (a new
        // instance) replays its predecessor's.
        let instance = format!(
            "{:016x}",
            rand_core::RngCore::next_u64(&mut rand_core::OsRng)
        );
        let stats = Arc::new(ReplicationStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
        tokio::spawn(write_loop(Writer {
            conn,
            key: key.clone(),
            instance: instance.clone(),
            max_len: cfg.stream_max_len,
            ttl: cfg.stream_ttl_seconds,
            timeout,
            stats: stats.clone(),
            rx,
        }));
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(window)
            .as_millis();
        let reader = Reader {
            client,
            key,
            instance,
            from: format!("{start}-0"),
            stats: stats.clone(),
            stop: stop.clone(),
        };
        std::thread::Builder::new()
            .name("modelsec-replay".into())
            .spawn(move || reader.run(replay))
            .map_err(|e| format!("cannot start the replay thread: {e}"))?;
        Ok(Replicator { tx, stats, stop })
    }

    /// Queue an observation for the other replicas; never waits (a full queue drops it).
    pub fn publish(&self, obs: Observation) {
        if self.tx.try_send(obs).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Writer {
    conn: ConnectionManager,
    key: String,
    instance: String,
    max_len: u64,
    ttl: u64,
    timeout: Duration,
    stats: Arc<ReplicationStats>,
    rx: tokio::sync::mpsc::Receiver<Observation>,
}

async fn write_loop(mut w: Writer) {
    let mut batch = Vec::with_capacity(BATCH);
    while w.rx.recv_many(&mut batch, BATCH).await > 0 {
        let n = batch.len() as u64;
        let mut pipe = redis::pipe();
        for o in batch.drain(..) {
            let cmd = pipe
                .cmd("XADD")
                .arg(&w.key)
                .arg("MAXLEN")
                .arg("~")
                .arg(w.max_len)
                .arg("*");
            for (field, value) in encode(&w.instance, &o) {
                cmd.arg(field).arg(value);
            }
            cmd.ignore();
        }
        pipe.cmd("EXPIRE").arg(&w.key).arg(w.ttl).ignore();
        let done = tokio::time::timeout(w.timeout, pipe.query_async::<()>(&mut w.conn)).await;
        let counter = match done {
            Ok(Ok(())) => &w.stats.published,
            _ => &w.stats.dropped,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

struct Reader {
    client: redis::Client,
    key: String,
    instance: String,
    from: String,
    stats: Arc<ReplicationStats>,
    stop: Arc<AtomicBool>,
}

/// How long one read waits for new entries (and so how late a stop is seen).
const BLOCK_MS: u64 = 500;

impl Reader {
    fn run(self, replay: impl Fn(Observation)) {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(self.read_loop(replay));
    }

    async fn read_loop(self, replay: impl Fn(Observation)) {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_millis(BLOCK_MS + 2000)));
        let mut conn = None;
        let mut last = self.from.clone();
        let mut backoff = Duration::from_millis(50);
        while !self.stop.load(Ordering::Relaxed) {
            let c = match &mut conn {
                Some(c) => c,
                None => match self
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                {
                    Ok(c) => {
                        backoff = Duration::from_millis(50);
                        conn.insert(c)
                    }
                    Err(_) => {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                },
            };
            let reply = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(BATCH)
                .arg("BLOCK")
                .arg(BLOCK_MS)
                .arg("STREAMS")
                .arg(&self.key)
                .arg(&last)
                .query_async::<redis::Value>(c)
                .await;
            match reply {
                Ok(v) => {
                    for (id, fields) in entries(v) {
                        last = id;
                        match decode(&fields) {
                            Some((instance, _)) if instance == self.instance.as_bytes() => {}
                            Some((_, obs)) => {
                                self.stats.replayed.fetch_add(1, Ordering::Relaxed);
                                replay(obs);
                            }
                            None => {
                                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
                Err(_) => {
                    conn = None;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

/// A stream entry's fields, as (name, value) pairs.
type Fields = Vec<(Vec<u8>, Vec<u8>)>;

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A stream entry's fields: `i` the writing instance, `c` the client, `f` values per row, `x`
/// the rows (f32 little-endian), `l`/`m` labels (u32) and margins (f32) when answered, `s`
/// score vectors sent.
fn encode(instance: &str, o: &Observation) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = vec![
        ("i", instance.as_bytes().to_vec()),
        ("c", o.client.as_bytes().to_vec()),
        ("f", o.features.to_string().into_bytes()),
        ("x", f32s(&o.rows)),
        ("s", o.scores.to_string().into_bytes()),
    ];
    if let Some((labels, margins)) = &o.answers {
        out.push(("l", labels.iter().flat_map(|x| x.to_le_bytes()).collect()));
        out.push(("m", f32s(margins)));
    }
    out
}

/// The entry's writing instance and observation; `None` when anything is malformed (a stream
/// anyone with access to Redis can write to is read as untrusted).
fn decode(fields: &[(Vec<u8>, Vec<u8>)]) -> Option<(Vec<u8>, Observation)> {
    let get = |k: &[u8]| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.as_slice())
    };
    let num = |k: &[u8]| -> Option<u64> { std::str::from_utf8(get(k)?).ok()?.parse().ok() };
    if fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > MAX_ENTRY_BYTES {
        return None;
    }
    let features = num(b"f")? as usize;
    let x = get(b"x")?;
    if features == 0 || x.len() % (4 * features) != 0 {
        return None;
    }
    let n = x.len() / (4 * features);
    let rows: Vec<f32> = x
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let answers = match (get(b"l"), get(b"m")) {
        (Some(l), Some(m)) if l.len() == 4 * n && m.len() == 4 * n => Some((
            l.chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            m.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )),
        (None, None) => None,
        _ => return None,
    };
    let client = String::from_utf8(get(b"c")?.to_vec()).ok()?;
    Some((
        get(b"i")?.to_vec(),
        Observation {
            client,
            features,
            rows,
            answers,
            scores: num(b"s")?,
        },
    ))
}

/// The (id, fields) of an `XREAD` reply (RESP2 arrays or RESP3 maps); nothing for a timeout.
fn entries(v: redis::Value) -> Vec<(String, Fields)> {
    use redis::Value as V;
    fn bytes(v: V) -> Option<Vec<u8>> {
        match v {
            V::BulkString(b) => Some(b),
            V::SimpleString(s) => Some(s.into_bytes()),
            _ => None,
        }
    }
    let streams: Vec<V> = match v {
        V::Array(a) => a
            .into_iter()
            .filter_map(|s| match s {
                V::Array(mut kv) if kv.len() == 2 => kv.pop(),
                _ => None,
            })
            .collect(),
        V::Map(m) => m.into_iter().map(|(_, v)| v).collect(),
        _ => vec![],
    };
    let mut out = Vec::new();
    for s in streams {
        let V::Array(list) = s else { continue };
        for e in list {
            let V::Array(mut pair) = e else { continue };
            if pair.len() != 2 {
                continue;
            }
            let (Some(flat), Some(id)) = (pair.pop(), pair.pop().and_then(bytes)) else {
                continue;
            };
            let Ok(id) = String::from_utf8(id) else {
                continue;
            };
            let mut fields = Vec::new();
            if let V::Array(flat) = flat {
                let mut it = flat.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    if let (Some(k), Some(v)) = (bytes(k), bytes(v)) {
                        fields.push((k, v));
                    }
                }
            }
            out.push((id, fields));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(answers: bool) -> Observation {
        Observation {
            client: "client-ü".into(),
            features: 3,
            rows: vec![0.0, 1.5, -2.0, f32::MAX, 0.25, 1e-7],
            answers: answers.then(|| (vec![1, 7], vec![0.5, 0.01])),
            scores: 2,
        }
    }

    fn fields(o: &Observation) -> Vec<(Vec<u8>, Vec<u8>)> {
        encode("abc", o)
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v))
            .collect()
    }

    #[test]
    fn observations_round_trip_through_stream_fields() {
        for answers in [true, false] {
            let o = obs(answers);
            let (instance, back) = decode(&fields(&o)).unwrap();
            assert_eq!(instance, b"abc");
            assert_eq!(back, o);
        }
    }

    #[test]
    fn malformed_entries_are_rejected_not_replayed() {
        let o = obs(true);
        let good = fields(&o);
        let edit = |k: &[u8], v: Option<&[u8]>| -> Vec<(Vec<u8>, Vec<u8>)> {
            let mut f: Vec<_> = good.iter().filter(|(f, _)| f != k).cloned().collect();
            if let Some(v) = v {
                f.push((k.to_vec(), v.to_vec()));
            }
            f
        };
        // Rows not a whole number of rows, no features, labels for the wrong row count, a
        // label without margins, a client that is not UTF-8, a missing instance.
        assert!(decode(&edit(b"x", Some(&[0u8; 20]))).is_none());
        assert!(decode(&edit(b"f", Some(b"0"))).is_none());
        assert!(decode(&edit(b"f", Some(b"x"))).is_none());
        assert!(decode(&edit(b"l", Some(&[0u8; 4]))).is_none());
        assert!(decode(&edit(b"m", None)).is_none());
        assert!(decode(&edit(b"c", Some(&[0xff, 0xfe]))).is_none());
        assert!(decode(&edit(b"i", None)).is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 256, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(1919250540), ..proptest::test_runner::Config::default() })]
        /// Whatever another writer put in the stream, reading it never panics, and what it
        /// accepts is rows of the stated width with one answer per row.
        #[test]
        fn any_entry_decodes_or_is_rejected(
            fields in proptest::collection::vec(
                (proptest::sample::select(vec!["i", "c", "f", "x", "l", "m", "s", "z"]),
                 proptest::collection::vec(proptest::num::u8::ANY, 0..64)),
                0..10,
            )
        ) {
            let fields: Vec<(Vec<u8>, Vec<u8>)> =
                fields.into_iter().map(|(k, v)| (k.as_bytes().to_vec(), v)).collect();
            if let Some((_, o)) = decode(&fields) {
                proptest::prop_assert!(o.features > 0);
                proptest::prop_assert_eq!(o.rows.len() % o.features, 0);
                if let Some((l, m)) = &o.answers {
                    proptest::prop_assert_eq!(l.len(), o.rows.len() / o.features);
                    proptest::prop_assert_eq!(m.len(), l.len());
                }
            }
        }
    }

    #[test]
    fn xread_replies_in_resp2_and_resp3_shapes() {
        use redis::Value as V;
        let b = |s: &str| V::BulkString(s.as_bytes().to_vec());
        let entry = V::Array(vec![b("1-0"), V::Array(vec![b("c"), b("k1")])]);
        let resp2 = V::Array(vec![V::Array(vec![
            b("obs"),
            V::Array(vec![entry.clone()]),
        ])]);
        let resp3 = V::Map(vec![(b("obs"), V::Array(vec![entry]))]);
        for v in [resp2, resp3] {
            let e = entries(v);
            assert_eq!(e.len(), 1);
            assert_eq!(e[0].0, "1-0");
            assert_eq!(e[0].1, vec![(b"c".to_vec(), b"k1".to_vec())]);
        }
        assert!(entries(V::Nil).is_empty());
    }
}
