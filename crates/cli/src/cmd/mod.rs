//! One module per command group. Each parses raw flags (clap) and validates them into library objects.

pub mod chain;
pub mod compare;
pub mod data;
pub mod dispatch;
pub mod econ;
pub mod market;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod shard;
pub mod simulate;
pub mod sweep;
pub mod validate;
