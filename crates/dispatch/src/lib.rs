//! hashpivot-dispatch: hour-by-hour dispatch of a scenario's mining fleet against hourly power
//! prices (shipped ERCOT day-ahead hub prices or a user's file), with demand-response credits,
//! minimum run/off times and ERCOT 4CP avoidance.
//!
//! Two layers:
//! * [`optimiser`]: the economics, [`dispatch`] of a fleet against a series (one batch at a time, an
//!   exact dynamic programme under minimum run/off times);
//! * [`study`]: what the `hashpivot dispatch` command asks of it: the scenario's fleet (optionally
//!   after converting a share of the site to AI/HPC, in MODEL.md §4 order through
//!   `hashpivot_model::site::Layout::remove_mw`), the hashprice (the scenario's market state, a given
//!   number, or each day's history), the flat-contract comparison, the flexibility value a
//!   conversion loses and the per-year splits.
//!
//! The settings table `[dispatch]` ([`DispatchConfig`]) is part of the scenario, so it lives in
//! `hashpivot_model::power`. No I/O: callers read files and pass their text.

pub mod optimiser;
pub mod study;

pub use hashpivot_model::power::{DispatchConfig, MAX_MIN_HOURS};
pub use optimiser::{
    breakeven_usd_mwh, dispatch, BatchDispatch, DispatchReport, DispatchSite, DispatchTotals,
    FleetBatch, HourMarket, Market,
};
pub use study::{
    scenario_hashvalue, Conversion, ConversionOutcome, HashpriceInfo, HashpriceSource, Options,
    Outcome, RemovedUnits, Study, YearRow,
};

/// Errors of a dispatch run: each names the key or input, the value and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DispatchError {
    /// A series with no hours (after filtering).
    #[error("price series {label}: no hours{hint}")]
    Empty {
        /// The series.
        label: String,
        /// Extra advice (e.g. about a date filter), may be empty.
        hint: String,
    },
    /// A value outside its allowed range.
    #[error("{field} = {value}: allowed {allowed}")]
    Invalid {
        /// The key or input (`mining.fleet[1].power_w`, `convert`).
        field: String,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// The `[dispatch]` table is invalid, or the series has no duration curve.
    #[error(transparent)]
    Power(#[from] hashpivot_model::power::PowerError),
    /// Converting the share given removes every machine: nothing is left to dispatch.
    #[error("converting {share} of the site leaves no machines to dispatch; allowed 0 <= share < the share that removes the whole fleet")]
    NoFleetLeft {
        /// The share of the site converted.
        share: f64,
    },
    /// A day of the series has no shipped historical hashprice.
    #[error("no shipped hashprice for {date} (the shipped BTC price and height data cover {first} to {last}); give a hashprice in USD instead")]
    NoHistory {
        /// The day without data.
        date: String,
        /// First day of the shipped history.
        first: String,
        /// Last day of the shipped history.
        last: String,
    },
    /// The shipped history could not be computed (not the user's input).
    #[error("historical hashprice: {0}")]
    History(String),
}

fn invalid(
    field: impl Into<String>,
    value: impl ToString,
    allowed: impl Into<String>,
) -> DispatchError {
    DispatchError::Invalid {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}
