//! Analyses built on the engine: what a user asks *about* a scenario rather than of it.
//!
//! * [`keys`]: the one table of numeric scenario keys that analyses may read and set by name
//!   (`price.vol`, `hashrate.speed_up`, ...);
//! * [`sensitivity`]: the tornado, mean NPV with each main input moved down and up;
//! * [`compare`]: mine vs powered-shell lease vs GPU cloud on common random numbers;
//! * [`calibrate`]: estimates of the process parameters from stored history, written into a
//!   scenario together with the newest market state;
//! * [`forwards`]: the price drift that makes the model's expected hashprice match a stored
//!   forward curve (`calibrate --forwards`);
//! * [`grid`]: sweeps, a grid of scenarios over a few keys, one row of results per point.

pub mod calibrate;
pub mod compare;
pub mod forwards;
pub mod grid;
pub mod keys;
pub mod sensitivity;
