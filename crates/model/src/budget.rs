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
use crate::strategy::optimal;
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
        // The pilot's paths, the per-path values of both samples and the sums in flight: the
        // strategy's own estimate (phase 1 streams the in-sample paths, nothing per path is kept).
        let pilot = sc.strategy.pilot_paths.unwrap_or(paths);
        bytes += optimal::memory_bytes(paths, paths, pilot, nd, k);
        bytes += ai_book_bytes(sc, n, nd, k);
    }
    Ok(Estimate {
        peak_bytes: (bytes as u64).saturating_add(BASE_BYTES),
        paths,
        strategies: specs.len(),
        decision_dates: nd,
        tranches: k,
    })
}

/// Bytes of `optimal`'s AI books in flight when the AI side is path-dependent (MODEL.md §8–11,
/// `payoff::slices`): one project per decision date and slice, ~176 bytes of state and sums per
/// lane, and per slice and lane its risk stream (shared by the slice's projects,
/// [`crate::payoff::ai::STREAM_BYTES`]), one block of `n` paths per worker thread. 0 for version
/// 1's linear AI side.
///
/// With `[finance]` (MODEL.md §10) each project also holds its equity sums per lane (24 bytes; a
/// loan of its own, ~144 bytes, in the BTC view or for a GPU cloud), each worker one block's
/// [`crate::payoff::finance::EquityBook`] for the policy's equity figures
/// (`Slices::policy_equity`), and each in-sample path its five equity figures.
fn ai_book_bytes(sc: &Scenario, n: f64, nd: usize, k: usize) -> f64 {
    if !crate::payoff::ai::path_dependent(sc) {
        return 0.0;
    }
    let workers = std::thread::available_parallelism().map_or(1, |w| w.get()) as f64;
    let blocks = (n / crate::process::BLOCK as f64).ceil().min(workers);
    let lanes = blocks * crate::process::BLOCK as f64;
    let linear = sc.run.currency.is_usd() && sc.ai.mode == crate::scenario::AiMode::Lease;
    let (per_lane, levered) = match &sc.finance {
        None => (176.0, 0.0),
        Some(_) => {
            let book = crate::payoff::finance::EquityBook::bytes(crate::process::BLOCK, sc.days());
            let loans = if linear { 24.0 } else { 144.0 };
            (176.0 + loans, blocks * book as f64 + n * 5.0 * 8.0)
        }
    };
    let streams = lanes * k as f64 * crate::payoff::ai::STREAM_BYTES as f64;
    lanes * nd as f64 * k as f64 * per_lane + streams + levered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_request_is_estimated_without_storing_paths() {
        // Issue 17: optimal, 16 tranches, 180 decision months, 200k paths. Issue 19: phase 1
        // streams the paths, so only the pilot (4096 paths × dates × (3 features + 16 gains))
        // and the per-path values of the two samples remain.
        let mut sc = Scenario::default();
        sc.strategy.kind = StrategyKind::Optimal;
        sc.run.paths = 200_000;
        sc.run.horizon_years = 15.0;
        sc.strategy.tranches = 16;
        sc.strategy.decide_months = 179;
        // Without a pilot size the pilot is every in-sample path (version 1's fit): its paths
        // are held a window of dates at a time (optimal_pilot::windows), 200k x (dates of the
        // largest window) x (3 features + 16 gains) f64.
        let full = estimate(&sc, &RunConfig::default()).unwrap();
        let per_date = 200_000.0 * 19.0 * 8.0;
        let window = crate::strategy::optimal_pilot::held_bytes(200_000, full.decision_dates, 16);
        assert!(window as f64 <= crate::strategy::optimal_pilot::WINDOW_BYTES as f64);
        assert!(window as f64 > crate::strategy::optimal_pilot::WINDOW_BYTES as f64 - per_date);
        // The lean set-up (a pilot of 4096 paths, phase 1 streamed) is what is estimated below.
        sc.strategy.pilot_paths = Some(4096);
        let e = estimate(&sc, &RunConfig::default()).unwrap();
        let held = window as f64 - 4096.0 * e.decision_dates as f64 * 19.0 * 8.0;
        assert!(
            (full.peak_bytes as f64 - e.peak_bytes as f64 - held).abs() <= 2.0,
            "{full:?} vs {e:?}"
        );
        assert_eq!(e.tranches, 16);
        let nd = e.decision_dates as f64;
        assert!(nd >= 150.0, "{e:?}");
        let pilot = 4096.0 * nd * 19.0 * 8.0;
        let per_path = 400_000.0 * (32.0 + 16.0 * 28.0 + 20.0 * 8.0);
        let sums = 8.0 * nd * 16.0 * 66.0 * 8.0 * 3.0;
        // The default scenario's path-dependent AI side: one block's book per worker thread
        // (not per path, so it is not part of the bound below).
        let book = ai_book_bytes(&sc, 200_000.0, e.decision_dates, 16);
        assert!(book > 0.0);
        let mine_only = {
            let mut m = sc.clone();
            m.strategy.kind = StrategyKind::Mine;
            estimate(&m, &RunConfig::default()).unwrap().peak_bytes
        };
        let want = mine_only as f64 + pilot + per_path + sums + book;
        assert!((e.peak_bytes as f64 - want).abs() <= 2.0, "{e:?} vs {want}");
        assert!(e.peak_bytes as f64 - book < 1e9, "{e:?}");
        // Grows in proportion to the paths beyond the fixed part (the base, the pilot and the
        // book): 200k - 100k paths add twice what 100k - 50k do.
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
