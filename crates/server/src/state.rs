//! Shared server state: the store, the engine, the live progress of runs and the worker pool.
//!
//! Runs are executed one (or `workers`) at a time on tokio's blocking pool behind a semaphore (the
//! engine itself uses every core); waiting runs form the queue, bounded by `max_queue`. Progress is
//! kept in memory (a watch channel per live run, for the event stream) and written to the store at
//! most every 2% so a restart shows where a run was; at start-up runs left `queued` or `running`
//! by a previous process are marked failed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hashpivot_store::runs::{self, RunStatus};
use hashpivot_store::Store;
use rusqlite::Connection;
use serde_json::Value;
use tokio::sync::{watch, Semaphore};

use crate::auth::{Sessions, Token};
use crate::error::ApiError;
use crate::runner::{Engine, EngineError, RunPlan};

/// Limits of the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most Monte Carlo paths per run.
    pub max_paths: u64,
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Runs executed at the same time.
    pub workers: usize,
    /// Runs waiting or running at most (more are refused with 503).
    pub max_queue: usize,
    /// Relative change of each input for the tornado.
    pub sensitivity_delta: f64,
    /// Longest a request may take to get its answer (reading the body included); past it the
    /// answer is 503 with `Retry-After`. Event streams are not cut by it.
    pub request_timeout: Duration,
    /// Requests handled at the same time; more get an immediate 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Open event streams (`/api/runs/{id}/events`) at most; more get 503 with `Retry-After`.
    pub max_streams: usize,
    /// Open connections at most; more wait in the kernel's backlog ([`crate::conn`]).
    pub max_connections: usize,
    /// A connection without traffic for this long is closed (keep it above `request_timeout`).
    pub idle_timeout: Duration,
    /// Without a token, serve only `Host` headers that are IP literals or `localhost` (DNS
    /// rebinding protection; [`crate::guard`]). `serve --insecure` turns it off.
    pub check_host: bool,
    /// When set, every `/api` route requires this bearer token ([`crate::guard`]).
    pub token: Option<Token>,
    /// Largest estimated peak memory of one run, bytes ([`hashpivot_model::budget`]); a run over
    /// it is refused with 422 before it is queued. `serve --max-run-mb`.
    pub max_run_bytes: u64,
    /// A request's head and body must arrive within this time of its first byte (or of the
    /// connection's opening), whatever the trickle rate: slow clients cannot hold a connection
    /// slot longer ([`crate::conn`]).
    pub read_timeout: Duration,
    /// Open connections from one client address at most; more are closed at once
    /// ([`crate::conn`]). Keep it below `max_connections` and `max_in_flight`, so one client can
    /// never take every slot.
    pub max_per_client: usize,
}

/// The default run memory budget: half the physical memory, at most 4 GiB (4 GiB when the
/// memory size cannot be read).
pub fn default_max_run_bytes() -> u64 {
    const CAP: u64 = 4 << 30;
    physical_memory().map_or(CAP, |m| (m / 2).min(CAP))
}

/// Physical memory in bytes (`MemTotal` of `/proc/meminfo`; None elsewhere).
fn physical_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_paths: crate::runner::DEFAULT_MAX_PATHS,
            max_body: 1 << 20,
            workers: 1,
            max_queue: 16,
            sensitivity_delta: 0.2,
            request_timeout: Duration::from_secs(30),
            max_in_flight: 64,
            max_streams: 64,
            max_connections: 512,
            idle_timeout: Duration::from_secs(30),
            check_host: true,
            token: None,
            max_run_bytes: default_max_run_bytes(),
            read_timeout: Duration::from_secs(10),
            max_per_client: 32,
        }
    }
}

/// Status and progress of a live run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Status.
    pub status: RunStatus,
    /// Fraction done.
    pub progress: f64,
}

/// Everything the handlers share.
pub struct AppState {
    /// The store (the runs table lives in it).
    pub db: Mutex<Store>,
    /// The engine.
    pub engine: Arc<dyn Engine>,
    /// Limits.
    pub limits: Limits,
    /// Live runs (queued or running in this process).
    pub live: Mutex<HashMap<String, watch::Sender<Snapshot>>>,
    workers: Arc<Semaphore>,
    /// Permits of requests being handled ([`Limits::max_in_flight`]).
    pub(crate) in_flight: Arc<Semaphore>,
    /// Permits of open event streams ([`Limits::max_streams`]).
    pub(crate) streams: Arc<Semaphore>,
    /// Cancel requests of live runs (`DELETE /api/runs/{id}`).
    cancels: Mutex<HashMap<String, Arc<CancelSignal>>>,
    /// Dashboard sessions ([`crate::guard`]).
    pub(crate) sessions: Sessions,
    seq: std::sync::atomic::AtomicU64,
}

/// The cancel request of one live run: a flag the progress callback checks between blocks, and
/// a wake-up for a run still waiting for a worker.
#[derive(Default)]
struct CancelSignal {
    flag: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

/// How a run ended without a result.
#[derive(Debug)]
enum RunError {
    /// The engine failed.
    Engine(EngineError),
    /// Cancelled on request.
    Cancelled,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Engine(e) => e.fmt(f),
            RunError::Cancelled => f.write_str("cancelled on request"),
        }
    }
}

impl CancelSignal {
    fn is_set(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Longest a server statement waits for SQLite's write lock held by another process.
pub const DB_WAIT: Duration = Duration::from_millis(250);

/// How long the final state of a run is retried while the database is locked by another process.
pub const STORE_RETRY: Duration = Duration::from_secs(30 * 60);

/// True when SQLite said the database is locked by another connection.
pub fn is_busy(e: &runs::RunStoreError) -> bool {
    matches!(
        e,
        runs::RunStoreError::Sql(rusqlite::Error::SqliteFailure(f, _))
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl AppState {
    /// Opens (creating if needed) the store at `path`, marks runs of a previous process that never
    /// finished as failed, and returns the state.
    pub fn open(path: &Path, engine: Arc<dyn Engine>, limits: Limits) -> Result<AppState, String> {
        let store = Store::open(path).map_err(|e| e.to_string())?;
        Self::with_store(store, engine, limits)
    }

    /// Like [`AppState::open`] on an open store (tests use an in-memory one).
    pub fn with_store(
        mut store: Store,
        engine: Arc<dyn Engine>,
        limits: Limits,
    ) -> Result<AppState, String> {
        runs::migrate_store(&mut store).map_err(|e| e.to_string())?;
        runs::fail_unfinished(
            store.conn(),
            "interrupted: the server stopped before the run finished",
            now_ms(),
        )
        .map_err(|e| e.to_string())?;
        let workers = Arc::new(Semaphore::new(limits.workers.max(1)));
        let in_flight = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
        let streams = Arc::new(Semaphore::new(limits.max_streams.max(1)));
        Ok(AppState {
            in_flight,
            streams,
            db: Mutex::new(store),
            engine,
            limits,
            live: Mutex::new(HashMap::new()),
            workers,
            cancels: Mutex::new(HashMap::new()),
            sessions: Sessions::default(),
            seq: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Runs a closure with the database connection.
    ///
    /// Another process (`hashpivot data import`, a second server) may hold SQLite's write lock for
    /// many seconds. Waiting for it here would hold the mutex and stall every handler (and tokio's
    /// worker threads), so the server's statements wait at most [`DB_WAIT`] and report
    /// `SQLITE_BUSY`; callers answer 503 or retry ([`AppState::store_outcome`]). Reads never wait
    /// in WAL mode.
    pub fn with_db<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let guard = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let conn = guard.conn();
        let _ = conn.busy_timeout(DB_WAIT);
        f(conn)
    }

    fn new_id(&self) -> String {
        let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Time-ordered and unique within a process; the sub-millisecond nanos make collisions
        // between processes unlikely, and an insert collision is retried with the next number.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("{:011x}{:05x}{:03x}", now_ms(), nanos & 0xfffff, n & 0xfff)
    }

    /// The live snapshot of a run in this process, if it is queued or running.
    pub fn live_receiver(&self, id: &str) -> Option<watch::Receiver<Snapshot>> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(id).map(|tx| tx.subscribe())
    }

    /// Stores a new run and queues it; returns its id.
    ///
    /// The queue slot is taken (the id put in `live`) under the same lock as the check, so
    /// concurrent submissions can never hold more than `max_queue` slots; it is given back if the
    /// run cannot be stored.
    pub fn submit(self: &Arc<Self>, plan: RunPlan) -> Result<String, ApiError> {
        self.check_budget(&plan)?;
        let scenario = serde_json::to_value(&plan.scenario)
            .map_err(|e| ApiError::internal(format!("scenario to JSON: {e}")))?;
        let mut tries = 0;
        let id = loop {
            let id = self.new_id();
            {
                let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
                if live.len() >= self.limits.max_queue {
                    // 503 + Retry-After: the client is not at fault (429 would say it sends too
                    // much); the server is busy with other runs.
                    return Err(ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "the run queue is full ({} runs waiting or running, at most {}); try again when one finishes",
                            live.len(),
                            self.limits.max_queue
                        ),
                    )
                    .retry_after(10));
                }
                let (tx, _) = watch::channel(Snapshot {
                    status: RunStatus::Queued,
                    progress: 0.0,
                });
                live.insert(id.clone(), tx);
            }
            let r = self.with_db(|c| runs::insert(c, &id, &plan.request, &scenario, now_ms()));
            if let Err(e) = r {
                self.live
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                if is_busy(&e) {
                    return Err(ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "the database is busy (another hashpivot process is writing to it, e.g. `data import`); try again shortly",
                    )
                    .retry_after(5));
                }
                // An id collision with another process is retried with a new id.
                if tries < 3 {
                    tries += 1;
                    continue;
                }
                return Err(e.into());
            }
            break id;
        };
        self.cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), Arc::default());
        let state = Arc::clone(self);
        let run_id = id.clone();
        tokio::spawn(async move { state.execute(run_id, plan).await });
        Ok(id)
    }

    /// Refuses (422) a run whose estimated peak memory is over [`Limits::max_run_bytes`]: the
    /// estimate takes microseconds, the allocation it prevents could take the machine down.
    fn check_budget(&self, plan: &RunPlan) -> Result<(), ApiError> {
        let cfg = hashpivot_model::RunConfig::default();
        let Ok(e) = hashpivot_model::budget::estimate(&plan.scenario, &cfg) else {
            // An invalid scenario is reported by the run itself, with its own message.
            return Ok(());
        };
        // The sensitivity analysis runs the scenario again, one input at a time: not at once.
        let limit = self.limits.max_run_bytes;
        if e.peak_bytes <= limit {
            return Ok(());
        }
        let mb = |b: u64| b.div_ceil(1 << 20);
        let optimal = if e.decision_dates > 0 {
            format!(
                ", {} decision dates × {} tranches",
                e.decision_dates, e.tranches
            )
        } else {
            String::new()
        };
        Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "this run needs about {} MB at its peak ({} paths × {} strategies{optimal}); the server's limit is {} MB per run (serve --max-run-mb): use fewer paths{}",
                mb(e.peak_bytes),
                e.paths,
                e.strategies,
                mb(limit),
                if e.decision_dates > 0 { ", tranches or decision months" } else { "" }
            ),
        )
        .field("scenario.run.paths"))
    }

    /// Cancels a queued or running run (`DELETE /api/runs/{id}`): a queued run ends at once, a
    /// running one at its next progress report (between blocks of paths). Returns false when the
    /// run is not live in this process (finished, or unknown).
    pub fn cancel(&self, id: &str) -> bool {
        let sig = self
            .cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        match sig {
            Some(sig) => {
                sig.flag.store(true, std::sync::atomic::Ordering::Relaxed);
                sig.notify.notify_one();
                true
            }
            None => false,
        }
    }

    fn cancel_signal(&self, id: &str) -> Arc<CancelSignal> {
        self.cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    fn publish(&self, id: &str, snap: Snapshot) {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = live.get(id) {
            tx.send_replace(snap);
        }
    }

    async fn execute(self: Arc<Self>, id: String, plan: RunPlan) {
        let sig = self.cancel_signal(&id);
        // A queued run waits for a worker or for its cancellation, whichever comes first.
        let permit = tokio::select! {
            p = Arc::clone(&self.workers).acquire_owned() => Some(p),
            () = sig.notify.notified() => None,
        };
        let outcome = match permit {
            Some(permit) if !sig.is_set() => {
                let _ = self.with_db(|c| runs::set_running(c, &id, now_ms()));
                self.publish(
                    &id,
                    Snapshot {
                        status: RunStatus::Running,
                        progress: 0.0,
                    },
                );
                let state = Arc::clone(&self);
                let rid = id.clone();
                let sig = Arc::clone(&sig);
                let out =
                    tokio::task::spawn_blocking(move || state.compute(&rid, &plan, &sig)).await;
                drop(permit);
                out
            }
            _ => Ok(Err(RunError::Cancelled)),
        };
        let final_status = match outcome {
            Ok(Err(RunError::Cancelled)) => {
                let _ = self.store_outcome(|c| runs::cancel(c, &id, now_ms())).await;
                RunStatus::Cancelled
            }
            Ok(Ok(result)) => {
                let stored = self
                    .store_outcome(|c| runs::finish(c, &id, &result, now_ms()))
                    .await;
                match stored {
                    Ok(()) => RunStatus::Done,
                    Err(e) => {
                        let msg = format!("the result could not be stored: {e}");
                        let _ = self
                            .store_outcome(|c| runs::fail(c, &id, &msg, now_ms()))
                            .await;
                        RunStatus::Failed
                    }
                }
            }
            Ok(Err(e)) => {
                let msg = e.to_string();
                let _ = self
                    .store_outcome(|c| runs::fail(c, &id, &msg, now_ms()))
                    .await;
                RunStatus::Failed
            }
            Err(join) => {
                let msg = format!("the run stopped unexpectedly: {join}");
                let _ = self
                    .store_outcome(|c| runs::fail(c, &id, &msg, now_ms()))
                    .await;
                RunStatus::Failed
            }
        };
        let progress = if final_status == RunStatus::Done {
            1.0
        } else {
            0.0
        };
        self.cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        let tx = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some(tx) = tx {
            // Subscribers see the final state, then the channel closes.
            tx.send_replace(Snapshot {
                status: final_status,
                progress,
            });
        }
    }

    /// Writes a run's final state, retrying while another process holds the write lock (an import
    /// of a large file can take minutes; a finished result must not be lost to it). Gives up after
    /// [`STORE_RETRY`] or on any other error.
    async fn store_outcome(
        &self,
        write: impl Fn(&Connection) -> Result<(), runs::RunStoreError>,
    ) -> Result<(), runs::RunStoreError> {
        let t0 = std::time::Instant::now();
        loop {
            match self.with_db(&write) {
                Err(e) if is_busy(&e) && t0.elapsed() < STORE_RETRY => {
                    // The live snapshot keeps `running` meanwhile: the run is not done until its
                    // result is durable.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                r => return r,
            }
        }
    }

    /// The blocking part of a run, stopped by [`hashpivot_model::cancel`] at the first progress
    /// report after a cancel request.
    fn compute(&self, id: &str, plan: &RunPlan, sig: &CancelSignal) -> Result<Value, RunError> {
        let run = std::panic::AssertUnwindSafe(|| self.compute_inner(id, plan, sig));
        match std::panic::catch_unwind(run) {
            Ok(r) => r.map_err(RunError::Engine),
            Err(p) if p.is::<hashpivot_model::cancel::Cancelled>() => Err(RunError::Cancelled),
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    fn compute_inner(
        &self,
        id: &str,
        plan: &RunPlan,
        sig: &CancelSignal,
    ) -> Result<Value, EngineError> {
        let main_share = if plan.sensitivity { 0.75 } else { 1.0 };
        let last = Mutex::new((0.0f64, 0.0f64)); // (published, persisted)
        let report = |p: f64| {
            if sig.is_set() {
                hashpivot_model::cancel::stop();
            }
            if !p.is_finite() {
                return;
            }
            let mut l = last.lock().unwrap_or_else(|p| p.into_inner());
            if p < l.0 + 0.002 && p < 1.0 {
                return;
            }
            l.0 = p;
            self.publish(
                id,
                Snapshot {
                    status: RunStatus::Running,
                    progress: p.min(1.0),
                },
            );
            if p >= l.1 + 0.02 {
                l.1 = p;
                let _ = self.with_db(|c| runs::set_progress(c, id, p));
            }
        };
        let main = |p: f64| report(p.clamp(0.0, 1.0) * main_share);
        let mut result = self.engine.simulate(&plan.scenario, &main)?;
        if plan.sensitivity {
            let sens = |p: f64| report(main_share + p.clamp(0.0, 1.0) * (1.0 - main_share));
            let s = crate::sensitivity::sensitivity(
                self.engine.as_ref(),
                &plan.scenario,
                self.limits.sensitivity_delta,
                &sens,
            )?;
            if let Some(obj) = result.as_object_mut() {
                obj.insert("sensitivity".into(), s);
            }
        }
        Ok(result)
    }
}
