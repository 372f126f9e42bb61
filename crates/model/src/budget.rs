//! How much memory a run needs at its peak, estimated before it starts.
//!
//! The server refuses a run whose estimate is over its budget (`serve --max-run-mb`) in
//! milliseconds, instead of finding out after allocating gigabytes. The estimate counts the large
//! per-path arrays of the engine, from the same quantities the engine sizes them with: paths,
//! strategies (deterministic plans), horizon years, and for `optimal` the decision dates and
//! tranches. Small per-block buffers and the process itself are covered by a fixed allowance.
//! `tests/budget.rs` checks the estimate against the measured peak RSS of real runs.

use crate::payoff::slices::Slices;
use crate::run::{plans_for, RunConfig};
use crate::scenario::StrategyKind;
use crate::strategy::optimal::FEATURES;
use crate::{ModelError, Scenario};

/// Fixed allowance for everything that does not grow with the paths (code, the scenario, the
/// per-block scratch of each worker thread, the result document): 64 MiB.
pub const BASE_BYTES: u64 = 64 << 20;

/// The peak memory estimate of one run, and its main terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The whole estimate, bytes.
    pub peak_bytes: u64,
    /// Paths simulated.
    pub paths: u64,
    /// Deterministic strategies evaluated (`mine` included).
    pub strategies: usize,
    /// Decision dates of `optimal` (0 for the other strategies).
    pub decision_dates: usize,
    /// Tranches of `optimal` (0 for the other strategies).
    pub tranches: usize,
}

/// Estimates the peak memory of `simulate(sc, cfg, ..)`. Errors are the engine's own for an
/// invalid scenario or option (the caller validates first anyway).
pub fn estimate(sc: &Scenario, cfg: &RunConfig) -> Result<Estimate, ModelError> {
    let paths = cfg.paths.unwrap_or(sc.run.paths);
    let n = paths as f64;
    let specs = plans_for(sc, cfg)?;
    let np = specs.len() as f64;
    let years = sc.days().div_ceil(365).max(1) as f64;
    // The deterministic strategies (sim::simulate_raw): NPV per path and strategy (f64), market
    // bands (4 series, f32) and cash bands (f32) per path and year.
    let banded = if paths as f64 * np <= 4e6 {
        np
    } else {
        np.min(2.0)
    };
    let mut bytes = n * np * 8.0 + n * years * 4.0 * 4.0 + n * years * banded * 4.0;
    if sc.finance.is_some() {
        // MODEL.md §10: per path and strategy five equity figures (f64), and per worker thread
        // one block's daily AI and equity cash per strategy for the IRRs
        // (crate::payoff::finance::EquityBook).
        let block = crate::payoff::finance::EquityBook::bytes(crate::process::BLOCK, sc.days());
        let threads = rayon::current_num_threads().max(1) as f64;
        bytes += n * np * 5.0 * 8.0 + threads * np * block as f64;
    }
    let (mut nd, mut k) = (0usize, 0usize);
    if cfg.strategy.unwrap_or(sc.strategy.kind) == StrategyKind::Optimal {
        let slices = Slices::new(sc)?;
        nd = slices.decision_days().len();
        k = slices.tranches();
        let (ndf, kf) = (nd as f64, k as f64);
        // In-sample paths held for the backward induction (optimal::simulate_in_sample): features
        // (f64 × FEATURES), gain (f64) and mining value (f32) per slice, per path and decision
        // date, plus each slice's mining total.
        let in_sample = n * ndf * (FEATURES as f64 * 8.0 + kf * 12.0) + n * kf * 8.0;
        // The regression of one slice at a time copies one slice's gains and features.
        let fit = n * ndf * (FEATURES as f64 + 1.0) * 8.0;
        // Per-path NPVs after the fit: static shares (k + 1), perfect foresight (k + 1), the
        // mining/AI split; then the out-of-sample paths (as many as in-sample), per slice.
        let after = n * (2.0 * kf + 6.0) * 8.0 + n * (2.0 * kf + 2.0) * 8.0;
        bytes += in_sample + fit + after;
        if crate::payoff::ai::path_dependent(sc) {
            // The AI book of a block in flight (payoff::slices): one project per decision date
            // and slice, ~176 bytes of state and sums per lane, one block per worker thread.
            let workers = std::thread::available_parallelism().map_or(1, |w| w.get()) as f64;
            let blocks = (n / crate::process::BLOCK as f64).ceil().min(workers);
            bytes += blocks * crate::process::BLOCK as f64 * ndf * kf * 176.0;
        }
    }
    Ok(Estimate {
        peak_bytes: (bytes as u64).saturating_add(BASE_BYTES),
        paths,
        strategies: specs.len(),
        decision_dates: nd,
        tranches: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_request_is_estimated_in_gigabytes() {
        // Issue 17: optimal, 16 tranches, 180 decision months, 200k paths.
        let mut sc = Scenario::default();
        sc.strategy.kind = StrategyKind::Optimal;
        sc.run.paths = 200_000;
        sc.run.horizon_years = 15.0;
        sc.strategy.tranches = 16;
        sc.strategy.decide_months = 179;
        let e = estimate(&sc, &RunConfig::default()).unwrap();
        assert_eq!(e.tranches, 16);
        assert!(e.decision_dates >= 150, "{e:?}");
        assert!(e.peak_bytes > 6_000_000_000, "{e:?}");
        // Grows in proportion to the paths beyond the fixed part (the base, and with the default
        // scenario's path-dependent AI side one block's book per worker): 200k - 100k paths
        // add twice what 100k - 50k do.
        let at = |paths: u64| {
            let mut s = sc.clone();
            s.run.paths = paths;
            estimate(&s, &RunConfig::default()).unwrap().peak_bytes as f64
        };
        let ratio = (e.peak_bytes as f64 - at(100_000)) / (at(100_000) - at(50_000));
        assert!((1.8..=2.2).contains(&ratio), "{ratio}");
        sc.strategy.kind = StrategyKind::Mine;
        let mine = estimate(&sc, &RunConfig::default()).unwrap();
        assert_eq!((mine.strategies, mine.decision_dates), (1, 0));
    }
}
