//! A deterministic stand-in engine for tests of the HTTP layer (status codes, queueing,
//! persistence): it returns the shipped sample result, scaled by the scenario's inputs so that
//! different scenarios give different numbers, and reports progress in steps.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hashpivot_model::Scenario;
use serde_json::Value;

use crate::runner::{Engine, EngineError};
use crate::state::AppState;

/// The sample result document (the layout of `simulate --json`).
pub const SAMPLE_RESULT: &str = include_str!("../tests/fixtures/sim_output.json");

/// Returns [`SAMPLE_RESULT`] with `paths`/`seed` from the scenario and NPVs scaled by
/// `price.spot / 90000` (mine) and `ai.lease_usd_per_kw_month / 130` (the other strategies).
#[derive(Debug, Clone, Default)]
pub struct FixtureEngine {
    /// Sleep this long between the progress steps (to observe `running`).
    pub step_delay: Duration,
}

fn scale_npv(r: &mut Value, f: f64) {
    if let Some(npv) = r.get_mut("npv").and_then(Value::as_object_mut) {
        for v in npv.values_mut() {
            if let Some(x) = v.as_f64() {
                *v = Value::from(x * f);
            }
        }
    }
}

impl Engine for FixtureEngine {
    fn simulate(
        &self,
        sc: &Scenario,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Value, EngineError> {
        for k in 0..=10 {
            progress(k as f64 / 10.0);
            if !self.step_delay.is_zero() {
                std::thread::sleep(self.step_delay);
            }
        }
        let mut v: Value =
            serde_json::from_str(SAMPLE_RESULT).map_err(|e| EngineError::Failed(e.to_string()))?;
        v["paths"] = sc.run.paths.into();
        v["seed"] = sc.run.seed.into();
        if let Some(list) = v["results"].as_array_mut() {
            for r in list.iter_mut() {
                let f = if r["strategy"] == "mine" {
                    sc.price.spot / 90_000.0
                } else {
                    sc.ai.lease_usd_per_kw_month / 130.0
                };
                scale_npv(r, f);
                if r["strategy"] != "mine" {
                    r["share"] = sc.strategy.share.into();
                }
            }
        }
        Ok(v)
    }
}

/// The server on 127.0.0.1 (a free port), on its own Tokio runtime thread: what the HTTP tests
/// talk to. `stop` shuts it down gracefully and waits for it.
#[derive(Debug)]
pub struct InProcessServer {
    /// The bound address.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcessServer {
    /// Binds 127.0.0.1:0 and serves `state` until [`InProcessServer::stop`] (or drop).
    pub fn start(state: Arc<AppState>) -> InProcessServer {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                let _ = addr_tx.send(l.local_addr().expect("local addr"));
                let _ = crate::serve_on(l, state, async {
                    let _ = rx.await;
                })
                .await;
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("test server started");
        InProcessServer {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts the server down and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
