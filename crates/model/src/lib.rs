//! The hashpivot model (docs/MODEL.md): scenario, Monte Carlo engine, strategies, machine economics.
//!
//! Module ownership while the first issues are built: `machine`/`catalog` (machine economics and the
//! ASIC catalog), `optimal` (the real-option strategy), `power` (hourly power prices and duration
//! curves); everything else is the engine.

pub mod catalog;
pub mod machine;
pub mod optimal;
pub mod power;
