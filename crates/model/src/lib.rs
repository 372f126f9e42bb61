//! The hashpivot model (docs/MODEL.md): scenario, Monte Carlo process, the site's daily payoff,
//! the strategies, and one machine's economics.
//!
//! # Layout (each module depends only on the ones above it)
//!
//! - [`scenario`]: the scenario file: types, defaults, validation, the annotated default.
//! - [`power`]: hourly power prices as a duration curve (`[power] hourly`).
//! - [`process`]: the market process of MODEL.md section 3 (state, keyed random streams, fast
//!   math, the SIMD lane loops): [`process::Prepared::run_block`] hands each day's market state
//!   of a block of paths to a [`process::DayConsumer`].
//! - [`payoff`]: the site's daily payoff, the one kernel every consumer of the paths prices its
//!   cash with (margins with flat or hourly power and curtailment, refresh purchases, the AI
//!   project), the capacity layout ([`payoff::site`]) and `optimal`'s slices
//!   ([`payoff::slices`]).
//! - [`result`] and [`stats`]: the typed results and the statistics computed from per-path NPVs.
//! - [`strategy`]: the fixed strategies ([`strategy::fixed`]) and the real option
//!   ([`strategy::optimal`]).
//! - [`run`]: the one orchestrator, [`simulate`].
//! - [`payback`] (one machine on the scenario's paths), [`machine`] (one machine's arithmetic at
//!   today's hashprice) and [`catalog`] (the ASIC catalog).
//! - [`analysis`]: sensitivity, calibration and sweeps, library calls over the scenario's numeric
//!   keys.
//! - [`shard`]: one run (or a sweep) split across machines, merged bit for bit (MODEL.md
//!   section 12).

pub mod analysis;
pub mod budget;
pub mod cancel;
pub mod catalog;
pub mod decision;
pub mod equity;
pub mod forward;
pub mod irr;
pub mod machine;
pub mod num;
pub mod payback;
pub mod payoff;
pub mod power;
pub mod process;
pub mod result;
pub mod run;
pub mod scenario;
/// Every wrong-type value of a scenario by key path (the front ends' name for
/// [`scenario::input`]).
pub use scenario::input as scenario_input;
pub mod shard;
pub mod stats;
pub mod strategy;

pub use payoff::{site, slices};
/// The market process under its former name (kept so existing paths compile).
pub use process as engine;
pub use strategy::optimal;

pub use result::{
    Bands, Currency, DscrStats, EquityResult, Histogram, IrrStats, NpvStats, SimOutput,
    StrategyDetail, StrategyResult,
};
pub use run::{
    resolve, run_blocks, simulate, simulate_with_bound, simulate_with_paths, summarize, Part,
    Resolved, RunConfig, SimWithPaths,
};
pub use scenario::{Scenario, ScenarioError, StrategyKind};

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
