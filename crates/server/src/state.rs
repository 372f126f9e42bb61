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
use std::time::{SystemTime, UNIX_EPOCH};

use hashpivot_store::runs::{self, RunStatus};
use hashpivot_store::Store;
use rusqlite::Connection;
use serde_json::Value;
use tokio::sync::{watch, Semaphore};

use crate::engine::{Engine, EngineError, RunPlan};
use crate::error::ApiError;

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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_paths: crate::engine::DEFAULT_MAX_PATHS,
            max_body: 1 << 20,
            workers: 1,
            max_queue: 16,
            sensitivity_delta: 0.2,
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
    seq: std::sync::atomic::AtomicU64,
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
        Ok(AppState {
            db: Mutex::new(store),
            engine,
            limits,
            live: Mutex::new(HashMap::new()),
            workers,
            seq: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Runs a closure with the database connection.
    pub fn with_db<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let guard = self.db.lock().unwrap_or_else(|p| p.into_inner());
        f(guard.conn())
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
    pub fn submit(self: &Arc<Self>, plan: RunPlan) -> Result<String, ApiError> {
        {
            let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            if live.len() >= self.limits.max_queue {
                return Err(ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the run queue is full ({} runs waiting or running); try again when one finishes",
                        live.len()
                    ),
                ));
            }
        }
        let scenario = serde_json::to_value(&plan.scenario)
            .map_err(|e| ApiError::internal(format!("scenario to JSON: {e}")))?;
        let mut id = self.new_id();
        let mut tries = 0;
        loop {
            let r = self.with_db(|c| runs::insert(c, &id, &plan.request, &scenario, now_ms()));
            match r {
                Ok(()) => break,
                Err(_) if tries < 3 => {
                    tries += 1;
                    id = self.new_id();
                }
                Err(e) => return Err(e.into()),
            }
        }
        let (tx, _) = watch::channel(Snapshot {
            status: RunStatus::Queued,
            progress: 0.0,
        });
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), tx);
        let state = Arc::clone(self);
        let run_id = id.clone();
        tokio::spawn(async move { state.execute(run_id, plan).await });
        Ok(id)
    }

    fn publish(&self, id: &str, snap: Snapshot) {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = live.get(id) {
            tx.send_replace(snap);
        }
    }

    async fn execute(self: Arc<Self>, id: String, plan: RunPlan) {
        let permit = Arc::clone(&self.workers).acquire_owned().await;
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
        let outcome = tokio::task::spawn_blocking(move || state.compute(&rid, &plan)).await;
        drop(permit);
        let now = now_ms();
        let final_status = match outcome {
            Ok(Ok(result)) => match self.with_db(|c| runs::finish(c, &id, &result, now)) {
                Ok(()) => RunStatus::Done,
                Err(e) => {
                    let _ = self.with_db(|c| runs::fail(c, &id, &e.to_string(), now));
                    RunStatus::Failed
                }
            },
            Ok(Err(e)) => {
                let _ = self.with_db(|c| runs::fail(c, &id, &e.to_string(), now));
                RunStatus::Failed
            }
            Err(join) => {
                let msg = format!("the run stopped unexpectedly: {join}");
                let _ = self.with_db(|c| runs::fail(c, &id, &msg, now));
                RunStatus::Failed
            }
        };
        let progress = if final_status == RunStatus::Done {
            1.0
        } else {
            0.0
        };
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

    /// The blocking part of a run: the simulation, then the sensitivity analysis if asked.
    fn compute(&self, id: &str, plan: &RunPlan) -> Result<Value, EngineError> {
        let main_share = if plan.sensitivity { 0.75 } else { 1.0 };
        let last = Mutex::new((0.0f64, 0.0f64)); // (published, persisted)
        let report = |p: f64| {
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
