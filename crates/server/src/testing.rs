//! A deterministic stand-in engine for tests of the HTTP layer (status codes, queueing,
//! persistence): it returns the shipped sample result, scaled by the scenario's inputs so that
//! different scenarios give different numbers, and reports progress in steps.

use std::time::Duration;

use hashpivot_model::Scenario;
use serde_json::Value;

use crate::engine::{Engine, EngineError};

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
