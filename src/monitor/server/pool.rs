//! Inference off the async workers: a fixed set of threads, each owning one ONNX Runtime
//! session, fed from one queue. Every job has a deadline: a job still queued at its deadline is
//! withdrawn (the caller answers 503), a running one is stopped through ONNX Runtime's
//! terminate flag (504). A caller that goes away (the client hung up) withdraws or stops its
//! job the same way. Nothing else in the server ever waits on a model: health, metrics and
//! the monitor's own work run on the async workers, which only await a reply.
//!
//! The queue is fair between clients: a free thread takes the oldest job of the client with
//! the fewest runs going, so a client flooding the queue (with runaway inputs, say) holds at
//! most the threads nobody else asks for. When every thread is busy and a client with no run
//! going waits, a client holding two threads or more loses its longest run once that run has
//! gone on for a tenth of the deadline (503 to it: retry): a flood of runaway requests delays
//! everyone else by that much, not by a whole deadline.

use crate::onnx::{Data, Model, Outputs, RunError, Stopper};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use tokio::sync::oneshot;
use tokio::time::Instant;

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const WITHDRAWN: u8 = 3;

/// Why the pool gave no answer.
#[derive(Debug)]
pub(super) enum PoolError {
    /// No worker took the job before its deadline (or the pool is shutting down).
    Busy,
    /// The run was still going at the deadline and was stopped.
    Timeout,
    /// The run was stopped to give its thread to a client with none.
    Preempted,
    /// The run failed (or its outputs were over the cap).
    Run(RunError),
}

/// One job's shared state: the caller and the worker race on `state`.
struct Ticket {
    state: AtomicU8,
    stopper: Stopper,
    client: Arc<str>,
    /// When the run started (ms since the pool started, plus one; 0: not started).
    started_ms: AtomicU64,
    /// Stopped to make room for another client.
    preempted: AtomicBool,
    /// The caller stopped waiting: building its answer is wasted work.
    abandoned: AtomicBool,
}

/// Whether the caller of a job stopped waiting for it (read while its answer is built).
pub(super) struct Abandoned<'a>(&'a AtomicBool);

impl Abandoned<'_> {
    pub(super) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

type Finish<T> = Box<dyn FnOnce(Result<Outputs, RunError>, &Abandoned<'_>) -> T + Send>;

/// A job's end: its outputs to the caller, turned into its answer on the way.
type Reply = Finish<()>;

struct Job {
    /// Who asked (the monitor's client id), for fairness.
    client: Arc<str>,
    data: Vec<(String, Data)>,
    max_elements: usize,
    ticket: Arc<Ticket>,
    /// Turns the outputs into what the caller wants (the response body, built here, off the
    /// async workers) and sends it back.
    finish: Reply,
}

#[derive(Default)]
struct Jobs {
    waiting: VecDeque<Job>,
    /// Runs going, per client.
    running: std::collections::HashMap<Arc<str>, usize>,
}

impl Jobs {
    /// The oldest job of the client with the fewest runs going.
    fn next(&mut self) -> Option<Job> {
        let mut best: Option<(usize, usize)> = None;
        for (i, j) in self.waiting.iter().enumerate() {
            let n = self.running.get(&j.client).copied().unwrap_or(0);
            if best.is_none_or(|(_, m)| n < m) {
                best = Some((i, n));
                if n == 0 {
                    break;
                }
            }
        }
        let job = self.waiting.remove(best?.0)?;
        *self.running.entry(job.client.clone()).or_default() += 1;
        Some(job)
    }

    fn done(&mut self, client: &Arc<str>) {
        if let Some(n) = self.running.get_mut(client) {
            *n -= 1;
            if *n == 0 {
                self.running.remove(client);
            }
        }
    }
}

struct Queue {
    jobs: Mutex<Jobs>,
    ready: Condvar,
    closed: AtomicBool,
    /// The ticket each worker is running, to stop them all at shutdown.
    running: Vec<Mutex<Option<Arc<Ticket>>>>,
}

/// Counters for /metrics.
#[derive(Default)]
pub(super) struct PoolStats {
    pub(super) busy: AtomicUsize,
    pub(super) queued: AtomicUsize,
    pub(super) stopped: AtomicU64,
    pub(super) withdrawn: AtomicU64,
    pub(super) preempted: AtomicU64,
}

pub(super) struct Pool {
    queue: Arc<Queue>,
    pub(super) workers: usize,
    pub(super) stats: Arc<PoolStats>,
    shrink: bool,
    base: std::time::Instant,
    preempt_after: std::time::Duration,
}

impl Pool {
    /// One thread per session; runs of a client holding more than its share may be stopped
    /// after `preempt_after` for a waiting client with none.
    pub(super) fn start(
        models: Vec<Model>,
        shrink: bool,
        preempt_after: std::time::Duration,
    ) -> Result<Pool, String> {
        let base = std::time::Instant::now();
        let workers = models.len();
        let queue = Arc::new(Queue {
            jobs: Mutex::new(Jobs::default()),
            ready: Condvar::new(),
            closed: false.into(),
            running: (0..workers).map(|_| Mutex::new(None)).collect(),
        });
        let stats = Arc::new(PoolStats::default());
        for (i, model) in models.into_iter().enumerate() {
            let (queue, stats) = (queue.clone(), stats.clone());
            std::thread::Builder::new()
                .name(format!("modelsec-infer-{i}"))
                .spawn(move || work(i, model, &queue, &stats, base))
                .map_err(|e| format!("cannot start an inference thread: {e}"))?;
        }
        Ok(Pool {
            queue,
            workers,
            stats,
            shrink,
            base,
            preempt_after,
        })
    }

    /// Run `data` before `deadline`; `finish` turns the outputs into the answer on the worker
    /// thread. At most `max_elements` output values are copied out.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        client: &str,
        data: Vec<(String, Data)>,
        max_elements: usize,
        deadline: Instant,
        finish: impl FnOnce(Result<Outputs, RunError>, &Abandoned<'_>) -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let stopper = Stopper::new(self.shrink).map_err(|e| PoolError::Run(RunError::Failed(e)))?;
        let client: Arc<str> = client.into();
        let ticket = Arc::new(Ticket {
            state: AtomicU8::new(QUEUED),
            stopper,
            client: client.clone(),
            started_ms: AtomicU64::new(0),
            preempted: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
        });
        let (tx, rx) = oneshot::channel::<T>();
        let finish: Finish<T> = Box::new(finish);
        let job = Job {
            client: client.clone(),
            data,
            max_elements,
            ticket: ticket.clone(),
            finish: Box::new(move |r, gone| {
                let _ = tx.send(finish(r, gone));
            }),
        };
        {
            let mut jobs = self.queue.jobs.lock().unwrap_or_else(|p| p.into_inner());
            if self.queue.closed.load(Ordering::Relaxed) {
                return Err(PoolError::Busy);
            }
            jobs.waiting.push_back(job);
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
        }
        self.queue.ready.notify_one();
        let guard = Withdraw {
            ticket: &ticket,
            pool: self,
        };
        let mut rx = rx;
        let answer = loop {
            let check = (Instant::now() + self.preempt_after / 2).min(deadline);
            tokio::select! {
                r = &mut rx => break Ok(r),
                _ = tokio::time::sleep_until(check) => {
                    if Instant::now() >= deadline {
                        break Err(());
                    }
                    if ticket.state.load(Ordering::Acquire) == QUEUED {
                        self.preempt_for(&client);
                    }
                }
            }
        };
        match answer {
            Ok(Ok(_)) if ticket.preempted.load(Ordering::Acquire) => {
                std::mem::forget(guard);
                Err(PoolError::Preempted)
            }
            Ok(Ok(t)) => {
                std::mem::forget(guard);
                Ok(t)
            }
            // The worker dropped the job without an answer: it panicked.
            Ok(Err(_)) => {
                std::mem::forget(guard);
                Err(PoolError::Run(RunError::Failed(
                    "the inference thread failed".into(),
                )))
            }
            Err(_) => {
                std::mem::forget(guard);
                Err(if self.withdraw(&ticket) {
                    PoolError::Busy
                } else {
                    PoolError::Timeout
                })
            }
        }
    }

    /// `client` waits with no run going: when a client holds two threads or more, stop its
    /// longest run if it has gone on for `preempt_after`.
    fn preempt_for(&self, client: &Arc<str>) {
        let hog = {
            let jobs = self.queue.jobs.lock().unwrap_or_else(|p| p.into_inner());
            if jobs.running.get(client).is_some_and(|&n| n > 0) {
                return;
            }
            match jobs.running.iter().max_by_key(|(_, n)| **n) {
                Some((c, &n)) if n >= 2 => c.clone(),
                _ => return,
            }
        };
        let now = self.base.elapsed().as_millis() as u64 + 1;
        let after = self.preempt_after.as_millis() as u64;
        let mut victim: Option<(u64, Arc<Ticket>)> = None;
        for slot in &self.queue.running {
            let Some(t) = slot.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
                continue;
            };
            let started = t.started_ms.load(Ordering::Acquire);
            if t.client == hog
                && t.state.load(Ordering::Acquire) == RUNNING
                && started > 0
                && now.saturating_sub(started) >= after
                && victim.as_ref().is_none_or(|(s, _)| started < *s)
            {
                victim = Some((started, t));
            }
        }
        if let Some((_, t)) = victim
            && !t.preempted.swap(true, Ordering::AcqRel)
        {
            t.stopper.stop();
            self.stats.preempted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Withdraw a queued job (true) or stop a running one (false).
    fn withdraw(&self, ticket: &Arc<Ticket>) -> bool {
        ticket.abandoned.store(true, Ordering::Relaxed);
        if ticket
            .state
            .compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let mut jobs = self.queue.jobs.lock().unwrap_or_else(|p| p.into_inner());
            let before = jobs.waiting.len();
            jobs.waiting.retain(|j| !Arc::ptr_eq(&j.ticket, ticket));
            self.stats
                .queued
                .fetch_sub(before - jobs.waiting.len(), Ordering::Relaxed);
            self.stats.withdrawn.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if ticket.state.load(Ordering::Acquire) == RUNNING {
            ticket.stopper.stop();
            self.stats.stopped.fetch_add(1, Ordering::Relaxed);
        }
        false
    }

    /// Stop taking jobs, withdraw the queued ones and stop the running ones.
    pub(super) fn shut_down(&self) {
        self.queue.closed.store(true, Ordering::Relaxed);
        let queued: Vec<Job> = self
            .queue
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiting
            .drain(..)
            .collect();
        for j in queued {
            j.ticket.state.store(WITHDRAWN, Ordering::Release);
            (j.finish)(Err(RunError::Stopped), &Abandoned(&j.ticket.abandoned));
        }
        self.stats.queued.store(0, Ordering::Relaxed);
        for slot in &self.queue.running {
            if let Some(t) = slot.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                t.stopper.stop();
            }
        }
        self.queue.ready.notify_all();
    }
}

/// Withdraws or stops the job when the caller goes away before its answer.
struct Withdraw<'a> {
    ticket: &'a Arc<Ticket>,
    pool: &'a Pool,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.pool.withdraw(self.ticket);
    }
}

fn work(i: usize, mut model: Model, queue: &Queue, stats: &PoolStats, base: std::time::Instant) {
    loop {
        let job = {
            let mut jobs = queue.jobs.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(j) = jobs.next() {
                    stats.queued.fetch_sub(1, Ordering::Relaxed);
                    break j;
                }
                if queue.closed.load(Ordering::Relaxed) {
                    return;
                }
                jobs = queue.ready.wait(jobs).unwrap_or_else(|p| p.into_inner());
            }
        };
        // In the slot before it runs, so a shutdown that misses the slot finds it withdrawn.
        *queue.running[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(job.ticket.clone());
        if job
            .ticket
            .state
            .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            *queue.running[i].lock().unwrap_or_else(|p| p.into_inner()) = None;
            queue
                .jobs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .done(&job.client);
            continue;
        }
        job.ticket
            .started_ms
            .store(base.elapsed().as_millis() as u64 + 1, Ordering::Release);
        stats.busy.fetch_add(1, Ordering::Relaxed);
        let Job {
            client,
            data,
            max_elements,
            ticket,
            finish,
        } = job;
        // A panic in a run (or in `finish`) costs its job, never the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let r = model.run_bounded(&data, &ticket.stopper, max_elements);
            drop(data);
            finish(r, &Abandoned(&ticket.abandoned));
        }));
        ticket.state.store(DONE, Ordering::Release);
        queue
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .done(&client);
        stats.busy.fetch_sub(1, Ordering::Relaxed);
        *queue.running[i].lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
