//! hashpivot-data: the historical data shipped with hashpivot, embedded in the binary, and parsers.

pub mod ercot;
