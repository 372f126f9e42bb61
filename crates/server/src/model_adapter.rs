//! The one place that calls the engine of `hashpivot-model` and turns its output into the JSON
//! document of `simulate --json`.

use hashpivot_model::{ModelError, RunConfig, Scenario};
use serde_json::Value;

use crate::runner::{Engine, EngineError};

/// The real engine: `hashpivot_model::simulate`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelEngine;

impl Engine for ModelEngine {
    fn simulate(
        &self,
        scenario: &Scenario,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Value, EngineError> {
        simulate(scenario, progress)
    }
}

/// Simulates `scenario` with the model's engine: paths, seed and strategy come from the scenario
/// (the request's overrides were applied to it), with the engine's defaults otherwise, as
/// `hashpivot simulate` without flags.
pub fn simulate(
    scenario: &Scenario,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Value, EngineError> {
    let out = hashpivot_model::simulate(scenario, &RunConfig::default(), progress).map_err(
        |e| match e {
            ModelError::Scenario(_) | ModelError::BadOption { .. } => {
                EngineError::BadInput(e.to_string())
            }
            other => EngineError::Failed(other.to_string()),
        },
    )?;
    serde_json::to_value(&out).map_err(|e| EngineError::Failed(format!("result to JSON: {e}")))
}
