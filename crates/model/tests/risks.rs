//! MODEL.md section 8 (conversion risks) through the public engine: the events against the
//! expected-value form, monotonicity on common random numbers, market paths untouched by the risk
//! stream, thread independence, mining during the build, and `optimal` responding to risk.

use hashpivot_model::scenario::{Scenario, StrategyKind};
use hashpivot_model::{simulate, simulate_with_paths, RunConfig, SimOutput};

/// A short, cheap scenario whose AI side has enough events to matter: 5-year terms, a 10%
/// default hazard, a 60% renewal probability.
fn base() -> Scenario {
    let mut sc = Scenario::default();
    // Section 8 off (the expected-value form of version 1); each test turns its risks on.
    sc.ai.set_risks_off();
    // Unlevered, as a file without [finance] (the embedded default is levered).
    sc.finance = None;
    sc.run.horizon_years = 10.0;
    sc.ai.lease_term_years = 5.0;
    sc.ai.tenant_default_rate = 0.1;
    sc.ai.renewal_probability = 0.6;
    sc
}

fn convert(paths: u64, seed: u64) -> RunConfig {
    RunConfig {
        paths: Some(paths),
        seed: Some(seed),
        strategy: Some(StrategyKind::Convert),
        share: Some(1.0),
        ..Default::default()
    }
}

fn run(sc: &Scenario, cfg: &RunConfig) -> SimOutput {
    simulate(sc, cfg, &|_| {}).unwrap()
}

/// The §8 property: with default events, no re-letting and no backstop, the mean NPV of a
/// conversion equals the expected-value form (version 1's factors) within Monte Carlo error.
/// Both runs share the market paths, so the per-path difference holds only the event noise;
/// its mean must be within 3 standard errors of 0, at two seeds.
#[test]
fn default_events_match_expected_value_form() {
    for seed in [11, 12] {
        let ev = base();
        let mut events = base();
        events.ai.default_events = true;
        events.ai.relet_months = -1.0;
        events.ai.backstop_months = 0.0;
        let cfg = convert(2000, seed);
        let a = simulate_with_paths(&ev, &cfg, &|_| {}).unwrap();
        let b = simulate_with_paths(&events, &cfg, &|_| {}).unwrap();
        let d: Vec<f64> = a.npv[1].iter().zip(&b.npv[1]).map(|(x, y)| y - x).collect();
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let se = (var / n).sqrt();
        assert!(se > 0.0, "the events must move the NPV");
        assert!(
            mean.abs() < 3.0 * se,
            "seed {seed}: events - expected form = {mean} (s.e. {se}); means {} vs {}",
            b.output.results[1].npv.mean,
            a.output.results[1].npv.mean
        );
        // The event noise is real: the spread of the converting strategy grows.
        assert!(b.output.results[1].npv.stderr > a.output.results[1].npv.stderr);
    }
}

/// A scenario with every §8 risk on.
fn risky() -> Scenario {
    let mut sc = base();
    sc.ai.build_delay_months = 4.0;
    sc.ai.capex_overrun = 0.1;
    sc.ai.capex_overrun_vol = 0.2;
    sc.ai.default_events = true;
    sc.ai.backstop_months = 12.0;
    sc.ai.relet_months = 9.0;
    sc
}

/// More delay, more overrun, a higher default rate, a lower backstop never raise the mean NPV of
/// `convert` (common random numbers: the same market paths and the same risk draws).
#[test]
fn risks_are_monotone_on_common_random_numbers() {
    let cfg = convert(768, 5);
    let mean = |sc: &Scenario| run(sc, &cfg).results[1].npv.mean;
    let m0 = mean(&risky());
    let mut sc = risky();
    sc.ai.build_delay_months = 8.0;
    let m = mean(&sc);
    assert!(m < m0, "delay 8 > 4 months: {m} vs {m0}");
    let mut sc = risky();
    sc.ai.capex_overrun = 0.3;
    let m = mean(&sc);
    assert!(m < m0, "overrun 30% > 10%: {m} vs {m0}");
    let mut sc = risky();
    sc.ai.capex_overrun_vol = 0.0;
    let m = mean(&sc);
    // The spread has mean 1 (exp(σZ − σ²/2)): without it the mean is nearly unchanged.
    assert!((m - m0).abs() < 0.05 * m0.abs().max(1e8), "{m} vs {m0}");
    let mut sc = risky();
    sc.ai.tenant_default_rate = 0.3;
    let m = mean(&sc);
    assert!(m < m0, "default rate 0.3 > 0.1: {m} vs {m0}");
    let mut sc = risky();
    sc.ai.backstop_months = 0.0;
    let m = mean(&sc);
    assert!(m < m0, "backstop 0 < 12 months: {m} vs {m0}");
    let mut sc = risky();
    sc.ai.relet_months = -1.0;
    let m = mean(&sc);
    assert!(m < m0, "never re-let vs 9 months: {m} vs {m0}");
}

/// Turning a risk on never changes a market path: `mine` and the market bands are identical;
/// and a run with risks on gives the same bits on 1 and 2 threads.
#[test]
fn risks_leave_market_paths_alone_and_threads_do_not_matter() {
    let mut cfg = convert(600, 8);
    let off = run(&base(), &cfg);
    let mut sc = risky();
    sc.ai.mine_during_build = true;
    let on = run(&sc, &cfg);
    // Histogram bins are shared by the strategies of a run, so they move with `convert`'s
    // range; everything else about `mine` must be identical.
    let bare = |r: &hashpivot_model::StrategyResult| {
        let mut r = r.clone();
        r.npv_histogram = None;
        r
    };
    assert_eq!(
        bare(&off.results[0]),
        bare(&on.results[0]),
        "mine must not move"
    );
    assert_eq!(off.bands.price_usd, on.bands.price_usd);
    assert_eq!(
        off.bands.hashprice_usd_per_ph_day,
        on.bands.hashprice_usd_per_ph_day
    );
    assert_eq!(off.bands.difficulty, on.bands.difficulty);
    assert_eq!(off.bands.hashrate_ehs, on.bands.hashrate_ehs);
    assert_ne!(off.results[1].npv.mean, on.results[1].npv.mean);
    cfg.threads = Some(1);
    let one = run(&sc, &cfg);
    cfg.threads = Some(2);
    let two = run(&sc, &cfg);
    assert_eq!(one, two);
    assert_eq!(one, on);
    // Sweep and optimal too.
    let mut sw = sc.clone();
    sw.strategy.kind = StrategyKind::Sweep;
    sw.strategy.shares = vec![0.0, 0.5, 1.0];
    let c1 = RunConfig {
        paths: Some(300),
        seed: Some(3),
        threads: Some(1),
        ..Default::default()
    };
    let c2 = RunConfig {
        threads: Some(2),
        ..c1.clone()
    };
    assert_eq!(run(&sw, &c1), run(&sw, &c2));
    let mut op = sc.clone();
    op.strategy.kind = StrategyKind::Optimal;
    op.strategy.tranches = 2;
    op.strategy.decide_months = 6;
    assert_eq!(run(&op, &c1), run(&op, &c2));
}

/// `ai.mine_during_build`: the converted machines earn until the hall is ready, so a conversion
/// with a 12-month build keeps more mining value; the AI side is the same (same draws).
#[test]
fn mining_during_the_build_adds_mining_value() {
    let cfg = convert(512, 9);
    let mut off = risky();
    off.ai.build_months = 12.0;
    let mut on = off.clone();
    on.ai.mine_during_build = true;
    let a = run(&off, &cfg);
    let b = run(&on, &cfg);
    assert!(
        b.results[1].mining_npv_mean > a.results[1].mining_npv_mean + 1e7,
        "{} vs {}",
        b.results[1].mining_npv_mean,
        a.results[1].mining_npv_mean
    );
    assert_eq!(a.results[1].ai_npv_mean, b.results[1].ai_npv_mean);
}

/// `optimal`'s exercise values use the same risky AI cash: a large overrun makes converting
/// worth less, so the policy's value drops toward `mine`.
#[test]
fn optimal_responds_to_risk() {
    // 15 years: converting pays there (on 10 years it would not).
    let mut sc = base();
    sc.run.horizon_years = 15.0;
    sc.ai.lease_term_years = 15.0;
    sc.ai.tenant_default_rate = 0.02;
    sc.ai.renewal_probability = 0.8;
    sc.strategy.kind = StrategyKind::Optimal;
    sc.strategy.tranches = 2;
    sc.strategy.decide_months = 6;
    let cfg = RunConfig {
        paths: Some(256),
        seed: Some(4),
        ..Default::default()
    };
    let calm = run(&sc, &cfg);
    assert!(calm.results[1].npv.mean > calm.results[0].npv.mean + 1e8);
    let mut bad = sc.clone();
    bad.ai.capex_overrun = 1.5;
    bad.ai.build_delay_months = 12.0;
    let risky = run(&bad, &cfg);
    assert_eq!(calm.results[0], risky.results[0]);
    assert!(
        risky.results[1].npv.mean < calm.results[1].npv.mean,
        "{} vs {}",
        risky.results[1].npv.mean,
        calm.results[1].npv.mean
    );
}
