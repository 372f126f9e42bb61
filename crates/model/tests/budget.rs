//! The memory estimate of a run ([`hashpivot_model::budget::estimate`]) against the measured peak
//! RSS of the same run in this process (Linux: `VmHWM` of `/proc/self/status`). One test in its
//! own binary, so no other test's allocations are in the figure.

use hashpivot_model::budget::estimate;
use hashpivot_model::{simulate, RunConfig, Scenario, StrategyKind};

/// `VmHWM` (peak resident set) in bytes.
fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The estimate is within a factor of 2 of the measured peak, either way, for an `optimal` run
/// large enough that its arrays dominate (≈ 130 MB).
#[test]
fn estimate_is_within_a_factor_of_two_of_the_measured_peak() {
    let Some(before) = peak_rss() else {
        eprintln!("no /proc/self/status: skipped");
        return;
    };
    let mut sc = Scenario::default();
    // Version 1's AI side: with section 8 on, 8 × 121 AI projects per lane would make this
    // run take minutes (their memory is in the estimate: a block's book per worker).
    sc.ai.set_risks_off();
    sc.finance = None;
    sc.strategy.kind = StrategyKind::Optimal;
    sc.strategy.tranches = 8;
    sc.strategy.decide_months = 120;
    sc.run.paths = 4_000;
    let e = estimate(&sc, &RunConfig::default()).unwrap();
    simulate(&sc, &RunConfig::default(), &|_| {}).unwrap();
    let after = peak_rss().unwrap();
    let measured = after.max(before);
    let ratio = e.peak_bytes as f64 / measured as f64;
    eprintln!(
        "estimate {:.0} MB, measured peak RSS {:.0} MB (before the run {:.0} MB), ratio {ratio:.2}",
        e.peak_bytes as f64 / 1e6,
        measured as f64 / 1e6,
        before as f64 / 1e6
    );
    assert!(
        (0.5..=2.0).contains(&ratio),
        "estimate {} vs measured {measured}",
        e.peak_bytes
    );
}
