//! hashpivot-data: the historical data shipped with hashpivot, embedded in the binary, and parsers.
//!
//! No I/O: every shipped CSV is compiled in with `include_str!` ([`shipped`]); the parsers
//! ([`series`]) also read a user's own files for `hashpivot data import`, with errors that name the
//! line, column and value ([`csv::CsvError`]). On top: the daily historical hashprice
//! ([`hashprice`]), the newest market state for the default scenario ([`market`]), the announced
//! AI/HPC leases ([`leases`]) and the calibration estimators ([`calibrate`]).

pub mod calibrate;
pub mod csv;
pub mod date;
pub mod ercot;
pub mod hashprice;
pub mod history;
pub mod leases;
pub mod market;
pub mod series;
pub mod shipped;

pub use csv::CsvError;
pub use date::{now_rfc3339, rfc3339, Date, DateError};
pub use hashprice::{hashprice_history, FeeSource, HashpriceDay, HistoryError};
pub use leases::{lease_rank, leases, Lease, LeaseRank};
pub use market::{market_state, market_state_from, MarketState};
pub use series::{CheckpointHeader, Epoch, FeeDay, HeightPoint, PricePoint};
