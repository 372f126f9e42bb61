//! The tornado of a run: `hashpivot_model::analysis::sensitivity` executed through the server's
//! [`Engine`] (so a run's progress covers it), returned as the JSON document stored with the run
//! (`hashpivot_report::sensitivity::document`).

use hashpivot_model::analysis::sensitivity::{self as analysis, Means};
use hashpivot_model::Scenario;
use serde_json::Value;

use crate::runner::{Engine, EngineError};

pub use analysis::MAX_SENSITIVITY_PATHS;

/// Runs the sensitivity analysis of `scenario` on `engine`. `progress` gets the fraction of the
/// analysis done. The document's layout is [`hashpivot_report::sensitivity::document`]'s.
pub fn sensitivity(
    engine: &dyn Engine,
    scenario: &Scenario,
    delta: f64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Value, EngineError> {
    let simulate = |sc: &Scenario, p: &(dyn Fn(f64) + Sync)| -> Result<Means, EngineError> {
        Ok(hashpivot_report::sensitivity::means(
            &engine.simulate(sc, p)?,
        ))
    };
    let s = analysis::sensitivity(scenario, delta, &simulate, progress)?;
    Ok(hashpivot_report::sensitivity::document(&s))
}
