//! The hashpivot model (docs/MODEL.md): scenario, Monte Carlo engine, strategies, machine economics.
//!
//! Module ownership while the first issues are built: `machine`/`catalog` (machine economics and the
//! ASIC catalog), `optimal` (the real-option strategy), `power` (hourly power prices and duration
//! curves); everything else is the engine.

pub mod budget;
pub mod cancel;
pub mod catalog;
pub mod machine;
pub mod optimal;
pub mod power;

pub mod decision;
pub mod engine;
pub mod forward;
pub mod payback;
pub mod scenario;
pub mod scenario_input;
pub mod sim;
pub mod site;
pub mod slices;

pub use scenario::{Scenario, ScenarioError, StrategyKind};
pub use sim::{
    simulate, simulate_with_paths, Bands, Histogram, NpvStats, RunConfig, SimOutput, SimWithPaths,
    StrategyResult,
};

/// Errors of the engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The scenario or run configuration is invalid (bad input).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A run option is out of range (bad input): names the option, the value and what is allowed.
    #[error("{option} = {value}: allowed {allowed}")]
    BadOption {
        /// The option (`paths`, `share`, ...).
        option: String,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// The scenario's values, though each is in range, drive a result past the range of f64
    /// (bad input: the combination is too extreme to compute).
    #[error(
        "the scenario is too extreme to compute: {what} (the values are each in range, but together \
         they overflow; lower the volatilities (price.vol, fees.vol, hashrate.vol, ai.lease_vol), the \
         hashrate response (hashrate.speed_up, hashrate.speed_down) or the levels (price.spot, \
         fees.btc_per_block); fees.speed > 0 keeps fees from drifting without bound)"
    )]
    NonFinite {
        /// The first non-finite figure, e.g. `bands.difficulty.p95 in year 12 = inf`.
        what: String,
    },
    /// An internal failure (not the user's input).
    #[error("internal error: {0}")]
    Internal(String),
    /// A feature that is not built yet.
    #[error("not implemented yet: {0}")]
    NotImplemented(String),
    /// The run was stopped by its caller ([`cancel::stop`]).
    #[error("the run was cancelled")]
    Cancelled,
}
