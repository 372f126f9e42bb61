//! Least-squares Monte Carlo (Longstaff–Schwartz 2001) and option-pricing references.
//!
//! The crate keeps QuantLib's four Monte Carlo concerns apart:
//!
//! - **process and discretization** live with the caller (the GBM of [`put`], the scenario engine of
//!   `hashpivot-model`): the core only sees per-path *state features* at each exercise date;
//! - **random streams** are keyed ([`rng`]): ChaCha8 seeded once, one stream per fixed-size block of
//!   paths, so a result is bit-identical for any number of threads;
//! - **payoff / path pricer** is the exercise value per path and date, handed to the core;
//! - **the early-exercise policy** ([`stopping`]) is fitted by backward induction with a
//!   numerically stable regression ([`regress`]: standardized polynomial basis; normal equations
//!   solved by a Cholesky factorization with diagonal pivoting stopped at numerical rank, or a
//!   tall-skinny Householder QR with a column-pivoted rank-revealing solve — both drop constant and
//!   collinear regressors instead of dividing by zero), then *frozen* and applied to fresh paths
//!   for an out-of-sample (low-biased) estimate.
//!
//! [`reference`] holds the deterministic references that check the Monte Carlo (Black–Scholes,
//! Cox–Ross–Rubinstein binomial for European, American and Bermudan puts) and [`table1`] the
//! published Longstaff–Schwartz (2001) Table 1 values, an independent reference for both.
//!
//! Pure computation: no I/O.

/// The Andersen–Broadie dual (upper) bound of the put.
pub mod dual;
pub mod error;
pub mod exact;
/// Run-time choice of the lane loops' instruction set.
pub mod isa;
/// Bermudan/American put priced with the LSM core.
pub mod put;
/// Deterministic references.
pub mod reference;
pub mod regress;
pub mod rng;
pub mod stats;
pub mod stopping;
/// Longstaff–Schwartz (2001) Table 1.
pub mod table1;

pub use error::LsmError;
pub use put::{price_put, price_put_with_policy, PutConfig, PutResult, PutSpec};
pub use stats::{Estimate, Stats};
pub use stopping::{fit, Config, Fit, Information, PathSet, Policy, PolicyValue};
