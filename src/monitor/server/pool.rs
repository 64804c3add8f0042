//! Inference off the async workers: a fixed set of threads, each owning one ONNX Runtime
//! session, fed from one queue. Every job has a deadline: a job still queued at its deadline is
//! withdrawn (the caller answers 503), a running one is stopped through ONNX Runtime's
//! terminate flag (504). A caller that goes away (the client hung up) withdraws or stops its
//! job the same way. Nothing else in the server ever waits on a model: health, metrics and
//! the monitor's own work run on the async workers, which only await a reply.

use crate::onnx::{Data, Model, Outputs, RunError, Stopper};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
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
    /// The run failed (or its outputs were over the cap).
    Run(RunError),
}

/// One job's shared state: the caller and the worker race on `state`.
struct Ticket {
    state: AtomicU8,
    stopper: Stopper,
}

type Finish<T> = Box<dyn FnOnce(Result<Outputs, RunError>) -> T + Send>;

struct Job {
    data: Vec<(String, Data)>,
    max_elements: usize,
    ticket: Arc<Ticket>,
    /// Turns the outputs into what the caller wants (the response body, built here, off the
    /// async workers) and sends it back.
    finish: Box<dyn FnOnce(Result<Outputs, RunError>) + Send>,
}

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
    closed: std::sync::atomic::AtomicBool,
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
}

pub(super) struct Pool {
    queue: Arc<Queue>,
    pub(super) workers: usize,
    pub(super) stats: Arc<PoolStats>,
    shrink: bool,
}

impl Pool {
    /// One thread per session.
    pub(super) fn start(models: Vec<Model>, shrink: bool) -> Result<Pool, String> {
        let workers = models.len();
        let queue = Arc::new(Queue {
            jobs: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            closed: false.into(),
            running: (0..workers).map(|_| Mutex::new(None)).collect(),
        });
        let stats = Arc::new(PoolStats::default());
        for (i, model) in models.into_iter().enumerate() {
            let (queue, stats) = (queue.clone(), stats.clone());
            std::thread::Builder::new()
                .name(format!("modelsec-infer-{i}"))
                .spawn(move || work(i, model, &queue, &stats))
                .map_err(|e| format!("cannot start an inference thread: {e}"))?;
        }
        Ok(Pool {
            queue,
            workers,
            stats,
            shrink,
        })
    }

    /// Run `data` before `deadline`; `finish` turns the outputs into the answer on the worker
    /// thread. At most `max_elements` output values are copied out.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        data: Vec<(String, Data)>,
        max_elements: usize,
        deadline: Instant,
        finish: impl FnOnce(Result<Outputs, RunError>) -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let stopper = Stopper::new(self.shrink).map_err(|e| PoolError::Run(RunError::Failed(e)))?;
        let ticket = Arc::new(Ticket {
            state: AtomicU8::new(QUEUED),
            stopper,
        });
        let (tx, rx) = oneshot::channel::<T>();
        let finish: Finish<T> = Box::new(finish);
        let job = Job {
            data,
            max_elements,
            ticket: ticket.clone(),
            finish: Box::new(move |r| {
                let _ = tx.send(finish(r));
            }),
        };
        {
            let mut jobs = self.queue.jobs.lock().unwrap_or_else(|p| p.into_inner());
            if self.queue.closed.load(Ordering::Relaxed) {
                return Err(PoolError::Busy);
            }
            jobs.push_back(job);
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
        }
        self.queue.ready.notify_one();
        let guard = Withdraw {
            ticket: &ticket,
            pool: self,
        };
        let answer = tokio::time::timeout_at(deadline, rx).await;
        match answer {
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

    /// Withdraw a queued job (true) or stop a running one (false).
    fn withdraw(&self, ticket: &Arc<Ticket>) -> bool {
        if ticket
            .state
            .compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let mut jobs = self.queue.jobs.lock().unwrap_or_else(|p| p.into_inner());
            let before = jobs.len();
            jobs.retain(|j| !Arc::ptr_eq(&j.ticket, ticket));
            self.stats
                .queued
                .fetch_sub(before - jobs.len(), Ordering::Relaxed);
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
            .drain(..)
            .collect();
        for j in queued {
            j.ticket.state.store(WITHDRAWN, Ordering::Release);
            (j.finish)(Err(RunError::Stopped));
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

fn work(i: usize, mut model: Model, queue: &Queue, stats: &PoolStats) {
    loop {
        let job = {
            let mut jobs = queue.jobs.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(j) = jobs.pop_front() {
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
            continue;
        }
        stats.busy.fetch_add(1, Ordering::Relaxed);
        let Job {
            data,
            max_elements,
            ticket,
            finish,
        } = job;
        // A panic in a run (or in `finish`) costs its job, never the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let r = model.run_bounded(&data, &ticket.stopper, max_elements);
            drop(data);
            finish(r);
        }));
        ticket.state.store(DONE, Ordering::Release);
        stats.busy.fetch_sub(1, Ordering::Relaxed);
        *queue.running[i].lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
