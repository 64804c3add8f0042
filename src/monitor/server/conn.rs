//! Connections: accepted under a global and a per-address cap that sit below the process's
//! file-descriptor limit; each has a header deadline (from its first byte, or from the accept)
//! and an idle keep-alive deadline. At a cap the oldest idle connection (no request being
//! answered: waiting, or still trickling its headers) is closed to make room; when every
//! connection is busy, the new one is refused with 503. Every refusal, eviction and header
//! timeout is counted in /metrics and logged as a finding (one per address and reason per
//! cooldown, so a flood cannot flood the log). SIGTERM stops accepting, lets requests being
//! answered finish within `server.shutdown_timeout`, then stops what is left.

use super::*;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Seconds as a duration (the config validates the range; anything else is a day).
pub(super) fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::from_secs(86_400))
}

/// File descriptors kept back from the connection cap: the log, the model, the runtime's own,
/// and evicted connections not closed yet ([`CLOSING`]; two descriptors each in a proxy).
const FD_RESERVE: u64 = 64;
/// Evicted connections whose sockets may still be open beyond the cap, at most (then the
/// server accepts nothing until they are closed).
const CLOSING: usize = 16;

/// Why a connection was refused or closed by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Cut {
    /// At `max_connections`, nothing idle to close: refused.
    Global,
    /// At `max_connections_per_ip`, nothing idle from that address to close: refused.
    PerIp,
    /// Closed to make room for a new connection (it was the oldest idle one).
    Evicted,
    /// Headers not complete by their deadline.
    HeaderTimeout,
    /// Idle past the keep-alive timeout (normal; counted, not a finding).
    IdleTimeout,
}

impl Cut {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Cut::Global => "max_connections",
            Cut::PerIp => "max_connections_per_ip",
            Cut::Evicted => "evicted_idle",
            Cut::HeaderTimeout => "header_timeout",
            Cut::IdleTimeout => "idle_timeout",
        }
    }

    pub(super) const ALL: [Cut; 5] = [
        Cut::Global,
        Cut::PerIp,
        Cut::Evicted,
        Cut::HeaderTimeout,
        Cut::IdleTimeout,
    ];
}

/// Connection counters for /metrics.
#[derive(Default)]
pub(super) struct ConnStats {
    pub(super) open: AtomicUsize,
    pub(super) accepted: AtomicU64,
    pub(super) accept_errors: AtomicU64,
    /// Per [`Cut`], in [`Cut::ALL`] order.
    pub(super) cut: [AtomicU64; 5],
}

impl ConnStats {
    pub(super) fn count(&self, c: Cut) {
        let i = Cut::ALL.iter().position(|&x| x == c).unwrap_or(0);
        self.cut[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// The connection caps and deadlines in force.
#[derive(Clone, Copy, Debug)]
pub(super) struct ConnLimits {
    pub(super) max: usize,
    pub(super) per_ip: usize,
    pub(super) header: Duration,
    pub(super) idle: Duration,
}

impl ConnLimits {
    /// The config's caps, lowered to fit the file-descriptor limit (raised to its hard limit
    /// first, as servers do). A proxy needs a second descriptor per connection, upstream.
    pub(super) fn from_config(s: &crate::monitor::config::Server, proxy: bool) -> ConnLimits {
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        let nofile = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024);
        let fit = nofile.saturating_sub(FD_RESERVE).max(16) / if proxy { 2 } else { 1 };
        let max = s.max_connections.min(fit as usize).max(1);
        ConnLimits {
            max,
            per_ip: s.max_connections_per_ip.min(max).max(1),
            header: secs(s.header_timeout),
            idle: secs(s.keep_alive_timeout),
        }
    }
}

struct Entry {
    ip: IpAddr,
    /// Its key in `Table::idle` while no request is being answered on it.
    idle: Option<u64>,
    close: Arc<Notify>,
}

#[derive(Default)]
struct Table {
    conns: HashMap<u64, Entry>,
    per_ip: HashMap<IpAddr, usize>,
    /// Idle connections, oldest first (key: when they became idle, as a sequence number).
    idle: BTreeMap<u64, u64>,
    idle_by_ip: BTreeMap<(IpAddr, u64), u64>,
    next_seq: u64,
}

impl Table {
    fn set_idle(&mut self, id: u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(e) = self.conns.get_mut(&id)
            && e.idle.is_none()
        {
            e.idle = Some(seq);
            self.idle.insert(seq, id);
            self.idle_by_ip.insert((e.ip, seq), id);
        }
    }

    fn set_busy(&mut self, id: u64) {
        if let Some(e) = self.conns.get_mut(&id)
            && let Some(seq) = e.idle.take()
        {
            self.idle.remove(&seq);
            self.idle_by_ip.remove(&(e.ip, seq));
        }
    }

    fn remove(&mut self, id: u64) -> Option<Entry> {
        self.set_busy(id);
        let e = self.conns.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&e.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&e.ip);
            }
        }
        Some(e)
    }

    /// Close the oldest idle connection (of `ip`, when given); whether there was one.
    fn evict(&mut self, ip: Option<IpAddr>) -> bool {
        let victim = match ip {
            None => self.idle.first_key_value().map(|(_, &id)| id),
            Some(ip) => self
                .idle_by_ip
                .range((ip, 0)..=(ip, u64::MAX))
                .next()
                .map(|(_, &id)| id),
        };
        match victim.and_then(|id| self.remove(id)) {
            Some(e) => {
                e.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Every open connection, for the caps and eviction.
pub(super) struct Conns {
    pub(super) limits: ConnLimits,
    table: Mutex<Table>,
    next_id: AtomicU64,
    pub(super) stats: ConnStats,
    /// Last finding per (address, reason), and how many went unlogged since.
    logged: Mutex<lru::LruCache<(IpAddr, Cut), (f64, u64)>>,
    /// Signalled when a connection's socket has been closed.
    closed: Notify,
}

impl Conns {
    pub(super) fn new(limits: ConnLimits) -> Conns {
        Conns {
            limits,
            table: Mutex::new(Table::default()),
            next_id: AtomicU64::new(0),
            stats: ConnStats::default(),
            logged: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(4096).unwrap_or(std::num::NonZeroUsize::MIN),
            )),
            closed: Notify::new(),
        }
    }

    /// Whether too many evicted connections are still open to accept another. An evicted
    /// connection leaves the table at once but its socket is closed by its own task, later: on
    /// a busy machine a flood can evict faster than those tasks run, and the sockets still
    /// open then pass the cap and exhaust the file descriptors. So the sockets themselves
    /// (`stats.open`) are counted too: no more than the cap and [`CLOSING`] on their way out.
    fn closing_backlog(&self) -> bool {
        self.stats.open.load(Ordering::Relaxed) >= self.limits.max + CLOSING
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Let a new connection from `ip` in (making room if needed), or say why not. Evictions
    /// it caused are returned for counting.
    fn admit(&self, ip: IpAddr) -> (Result<(u64, Arc<Notify>), Cut>, usize) {
        let mut t = self.table();
        let mut evicted = 0;
        if t.per_ip.get(&ip).copied().unwrap_or(0) >= self.limits.per_ip {
            if !t.evict(Some(ip)) {
                return (Err(Cut::PerIp), evicted);
            }
            evicted += 1;
        }
        if t.conns.len() >= self.limits.max {
            if !t.evict(None) {
                return (Err(Cut::Global), evicted);
            }
            evicted += 1;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(Notify::new());
        t.conns.insert(
            id,
            Entry {
                ip,
                idle: None,
                close: close.clone(),
            },
        );
        *t.per_ip.entry(ip).or_default() += 1;
        t.set_idle(id);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        (Ok((id, close)), evicted)
    }
}

/// Count a cut, and log it as a finding unless one for the same address and reason was
/// logged within the cooldown (idle timeouts are normal: counted only).
pub(super) fn report_cut(app: &App, ip: IpAddr, cut: Cut, evidence: Value) {
    let conns = &app.conns;
    conns.stats.count(cut);
    let rule = match cut {
        Cut::IdleTimeout => return,
        Cut::HeaderTimeout => &sig::SLOW_CLIENT,
        Cut::Global | Cut::PerIp | Cut::Evicted => &sig::CONNECTION_LIMIT,
    };
    app.metrics.count_signal(rule.id);
    if !app.monitor_on {
        return;
    }
    let now = now_secs(app);
    let cooldown = app.cfg.detect.cooldown_seconds as f64;
    let unlogged = {
        let mut l = conns.logged.lock().unwrap_or_else(|p| p.into_inner());
        match l.get_mut(&(ip, cut)) {
            Some((last, n)) if now - *last < cooldown => {
                *n += 1;
                return;
            }
            Some((last, n)) => {
                let before = *n;
                *last = now;
                *n = 0;
                before
            }
            None => {
                l.put((ip, cut), (now, 0));
                0
            }
        }
    };
    let limits = conns.limits;
    let message = match cut {
        Cut::Global => format!(
            "a connection from {ip} refused: {} connections open (server.max_connections, lowered to fit the file-descriptor limit), none idle",
            limits.max
        ),
        Cut::PerIp => format!(
            "a connection from {ip} refused: {} connections open from it (server.max_connections_per_ip), none idle",
            limits.per_ip
        ),
        Cut::Evicted => format!(
            "a connection from {ip} took the place of the oldest idle connection: the connection cap was reached"
        ),
        Cut::HeaderTimeout => format!(
            "a connection from {ip} closed: its request headers were not complete within {} s (server.header_timeout)",
            limits.header.as_secs_f64()
        ),
        Cut::IdleTimeout => String::new(),
    };
    let mut evidence = evidence;
    evidence["reason"] = json!(cut.as_str());
    evidence["unlogged_since_last"] = json!(unlogged);
    let fired = Fired {
        rule,
        action: if cut == Cut::Evicted {
            Action::Log
        } else {
            Action::Block
        },
        message,
        evidence,
    };
    let ip = ip.to_string();
    app.log.log(&Event::Finding(ev::Finding {
        client: Some(ev::ClientRef { id: ip.clone(), ip }),
        ..finding_event(&fired)
    }));
}

/// The phase of one connection, shared by its reader (the deadlines) and its service (which
/// marks requests being answered).
struct Phase {
    busy: std::sync::atomic::AtomicBool,
    /// Bumped each time the connection becomes idle.
    epoch: AtomicU64,
    /// When it last became idle (ms since `base`).
    idle_since_ms: AtomicU64,
    base: Instant,
    /// Why the reader failed the connection (a [`Cut`] index + 1; 0: it did not).
    cut: std::sync::atomic::AtomicU8,
}

/// Marks the connection idle again when the answer is done (its body dropped) or abandoned.
struct Answering {
    phase: Arc<Phase>,
    conns: Arc<App>,
    id: u64,
}

impl Answering {
    fn start(phase: Arc<Phase>, app: Arc<App>, id: u64) -> Answering {
        phase.busy.store(true, Ordering::Release);
        app.conns.table().set_busy(id);
        Answering {
            phase,
            conns: app,
            id,
        }
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let p = &self.phase;
        p.idle_since_ms
            .store(p.base.elapsed().as_millis() as u64, Ordering::Relaxed);
        p.epoch.fetch_add(1, Ordering::Relaxed);
        p.busy.store(false, Ordering::Release);
        self.conns.conns.table().set_idle(self.id);
    }
}

/// A response body that keeps its connection marked busy until it is sent.
struct Tracked {
    inner: Body,
    _answering: Answering,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A client socket whose reads enforce the header and idle deadlines.
struct Watched {
    io: TcpStream,
    phase: Arc<Phase>,
    limits: ConnLimits,
    accepted: Instant,
    /// The idle period (epoch) `first_byte` belongs to.
    epoch: u64,
    /// When the first byte of the next request's headers arrived.
    first_byte: Option<Instant>,
    timer: Pin<Box<tokio::time::Sleep>>,
    armed: Option<Instant>,
}

impl Watched {
    /// The deadline in force and what passing it means (none while a request is answered).
    fn deadline(&mut self, got_bytes: bool) -> Option<(Instant, Cut)> {
        let p = &self.phase;
        if p.busy.load(Ordering::Acquire) {
            self.first_byte = None;
            return None;
        }
        let epoch = p.epoch.load(Ordering::Relaxed);
        if epoch != self.epoch {
            self.epoch = epoch;
            self.first_byte = None;
        }
        if got_bytes && self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        Some(match self.first_byte {
            Some(t) => (t + self.limits.header, Cut::HeaderTimeout),
            // A new connection has the header deadline from its accept (nginx's
            // client_header_timeout); between requests, the keep-alive one.
            None if epoch == 0 => (self.accepted + self.limits.header, Cut::HeaderTimeout),
            None => (
                p.base
                    + Duration::from_millis(p.idle_since_ms.load(Ordering::Relaxed))
                    + self.limits.idle,
                Cut::IdleTimeout,
            ),
        })
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        let got = buf.filled().len() > before;
        let Some((deadline, cut)) = this.deadline(got) else {
            return r;
        };
        let expired = || {
            let i = Cut::ALL.iter().position(|&c| c == cut).unwrap_or(0) as u8;
            std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{}", i + 1))
        };
        if Instant::now() >= deadline {
            this.phase.cut.store(
                Cut::ALL.iter().position(|&c| c == cut).unwrap_or(0) as u8 + 1,
                Ordering::Relaxed,
            );
            return Poll::Ready(Err(expired()));
        }
        if r.is_pending() {
            if this.armed != Some(deadline) {
                this.timer.as_mut().reset(deadline.into());
                this.armed = Some(deadline);
            }
            if this.timer.as_mut().poll(cx).is_ready() {
                this.phase.cut.store(
                    Cut::ALL.iter().position(|&c| c == cut).unwrap_or(0) as u8 + 1,
                    Ordering::Relaxed,
                );
                return Poll::Ready(Err(expired()));
            }
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A refused connection gets a short 503 before it is closed (when the socket takes it).
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 61\r\nconnection: close\r\n\r\n{\"error\":\"too many connections; retry later (modelsec serve)\"}";

/// Accept and serve connections until `shutdown` resolves; then stop accepting, let requests
/// being answered finish within the shutdown timeout, and stop the rest.
pub(super) async fn serve_connections(
    listener: TcpListener,
    router: Router,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // While evicted connections are still closing, new ones wait in the listen backlog.
        let backlog = app.conns.closing_backlog();
        tokio::select! {
            _ = &mut shutdown => break,
            _ = app.conns.closed.notified(), if backlog => {}
            accepted = listener.accept(), if !backlog => match accepted {
                Ok((stream, peer)) => {
                    let (admitted, evicted) = app.conns.admit(peer.ip());
                    for _ in 0..evicted {
                        report_cut(&app, peer.ip(), Cut::Evicted, json!({}));
                    }
                    match admitted {
                        Ok((id, close)) => {
                            app.conns.stats.accepted.fetch_add(1, Ordering::Relaxed);
                            tasks.spawn(connection(
                                stream,
                                peer,
                                id,
                                close,
                                router.clone(),
                                app.clone(),
                                stop_rx.clone(),
                            ));
                        }
                        Err(cut) => {
                            let _ = stream.try_write(REFUSED);
                            drop(stream);
                            report_cut(&app, peer.ip(), cut, json!({}));
                        }
                    }
                }
                // Out of descriptors (or another transient failure): never spin on it.
                Err(_) => {
                    app.conns.stats.accept_errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let deadline = Instant::now() + secs(app.cfg.server.shutdown_timeout);
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline.into(), tasks.join_next()).await {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    // Past the grace period: stop the runs still going and drop the connections left.
    if let Backend::Local(pool) = &app.backend {
        pool.shut_down();
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    close: Arc<Notify>,
    router: Router,
    app: Arc<App>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Counted open from its admission until the socket is closed, however the task ends
    // (the admission cap counts on it).
    struct Open(Arc<App>);
    impl Drop for Open {
        fn drop(&mut self) {
            self.0.conns.stats.open.fetch_sub(1, Ordering::Relaxed);
            self.0.conns.closed.notify_one();
        }
    }
    let _open = Open(app.clone());
    let _ = stream.set_nodelay(true);
    let now = Instant::now();
    let phase = Arc::new(Phase {
        busy: false.into(),
        epoch: AtomicU64::new(0),
        idle_since_ms: AtomicU64::new(0),
        base: now,
        cut: 0.into(),
    });
    let limits = app.conns.limits;
    let io = Watched {
        io: stream,
        phase: phase.clone(),
        limits,
        accepted: now,
        epoch: 0,
        first_byte: None,
        timer: Box::pin(tokio::time::sleep_until((now + limits.header).into())),
        armed: None,
    };
    let inner = hyper_util::service::TowerToHyperService::new(router);
    let svc = {
        let (phase, app) = (phase.clone(), app.clone());
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let answering = Answering::start(phase.clone(), app.clone(), id);
            let fut = hyper::service::Service::call(&inner, req);
            async move {
                let resp = fut.await?;
                Ok::<_, std::convert::Infallible>(resp.map(|b| {
                    Body::new(Tracked {
                        inner: b,
                        _answering: answering,
                    })
                }))
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(64 << 10)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = close.notified() => break,
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
    let cut = phase.cut.load(Ordering::Relaxed);
    app.conns.table().remove(id);
    if cut > 0 {
        let cut = Cut::ALL[(cut - 1) as usize];
        report_cut(&app, peer.ip(), cut, json!({}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: under a slowloris flood on a loaded machine the server reached its
    /// file-descriptor limit (1024 open, `hostile::slowloris…`): each new connection evicted
    /// an idle one, which left the table at once, but the evicted sockets were closed by tasks
    /// that had not run yet, so the open sockets passed the cap (995 of 960 seen). Now they
    /// count: past the cap and `CLOSING`, nothing more is accepted until they are closed.
    #[test]
    fn evicted_connections_not_closed_yet_count_against_the_cap() {
        let c = Conns::new(ConnLimits {
            max: 4,
            per_ip: 4,
            header: Duration::from_secs(1),
            idle: Duration::from_secs(1),
        });
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..4 {
            assert!(c.admit(ip).0.is_ok());
        }
        assert!(!c.closing_backlog());
        // At the cap, each new connection evicts an idle one, whose task has not closed it yet.
        for i in 0..CLOSING {
            assert!(!c.closing_backlog(), "admission {i}");
            let (admitted, evicted) = c.admit(ip);
            assert!(admitted.is_ok() && evicted == 1, "admission {i}");
        }
        assert_eq!(c.stats.open.load(Ordering::Relaxed), 4 + CLOSING);
        assert_eq!(c.table().conns.len(), 4);
        // Then no more is accepted until one of them is closed (its task ended).
        assert!(c.closing_backlog());
        c.stats.open.fetch_sub(1, Ordering::Relaxed);
        assert!(!c.closing_backlog());
    }
}
