//! The command-line tests of `hashpivot`, in one test binary (as ripgrep and uv do): one link of
//! the CLI and its dependencies instead of one per file, and one place to share helpers
//! ([`common`]). Each module tests one command or concern; `golden` pins the `--json` of every
//! numeric command bit for bit against the files in `crates/cli/tests/golden/`.
//!
//! Run one module with `cargo test -p hashpivot-cli --test it golden::` (a name filter).

#[macro_use]
mod common;

mod chain;
mod cloud;
mod data;
mod data_calibrate;
mod data_forwards;
mod data_history;
mod data_leases;
mod data_sync;
mod data_sync_current;
mod dispatch;
mod econ;
mod finance;
mod golden;
mod hardening_contract;
mod hardening_inputs;
mod hardening_numeric;
mod hardening_output;
mod hardening_serve_lock;
mod hardening_server;
mod hardening_server_secrets;
mod hardening_validation;
mod reference_model;
mod report;
mod server;
mod server_dispatch;
mod shard;
mod simulate;
mod simulate_optimal;
mod simulate_risks;
mod validate;
