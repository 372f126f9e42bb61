//! Stable-toolchain fuzzing of hashpivot's untrusted-input parsers.
//!
//! cargo-fuzz needs nightly; this crate gets most of its value on stable with proptest: every
//! target is fed (a) arbitrary bytes and (b) *structure-aware mutations* of real, valid inputs
//! (the first mainnet headers, the annotated default scenario, rows of the shipped CSVs, a
//! catalog file), so that the inputs get past the first syntax check and reach the deep code:
//! validation, range checks, consensus arithmetic.
//!
//! The pieces:
//! - [`corpus`]: the valid seeds;
//! - [`mutate`]: the mutation operators and the proptest strategies that combine them;
//! - [`targets`]: one function per parser that runs it on an input and checks the properties
//!   every parser must have. A panic is a crash (proptest catches it, shrinks the input and prints
//!   it); an `Err(String)` from a target is a violated property (an empty error message, a parse
//!   that does not round-trip, a non-finite number in an accepted value).
//!
//! The tests in `tests/` run each target for [`cases`] cases: `PROPTEST_CASES` when set, else a
//! short default so the whole suite stays well under a minute in a debug build. Long runs:
//! `PROPTEST_CASES=1000000 cargo test -p hashpivot-fuzz --release` (see docs/VALIDATION.md).

pub mod corpus;
pub mod mutate;
pub mod targets;

/// Number of cases per fuzz target: `PROPTEST_CASES` when set (and a positive integer), else
/// `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The proptest configuration of a fuzz target: [`cases`] cases, failures persisted next to the
/// test file (`proptest-regressions/`, committed: every crash found is replayed first on every
/// later run), and no per-case timeout (debug builds are slow; a hang is caught by the test
/// harness's own timeout in CI).
pub fn config(default_cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: cases(default_cases),
        max_shrink_iters: 2048,
        ..proptest::test_runner::Config::default()
    }
}
