//! `optimal` levered and in BTC (issue 12, MODEL.md §10–11): the policy decides on the owner's
//! exercise values, and reports the equity view of its conversions like every strategy.

use crate::payoff::slices::{by_hand, Slices};
use crate::result::Currency;
use crate::run::{simulate, RunConfig};
use crate::scenario::{Finance, Scenario, StrategyKind};
use crate::strategy::optimal::{run, OptimalConfig, OptimalOutput};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// The best decision index of `values` (the last of equal maxima, as backward induction's strict
/// comparison picks) and its value, or never (0) when none is positive.
fn best(values: &[f64]) -> (Option<usize>, f64) {
    values
        .iter()
        .enumerate()
        .fold((None, 0.0), |(bd, bv), (d, &v)| {
            if v > bv || (bd.is_some() && v == bv) {
                (Some(d), v)
            } else {
                (bd, bv)
            }
        })
}

/// Zero volatility with `[finance]`: each slice converts on its best day by the owner's value,
/// written from MODEL.md §10 ([`by_hand::slice_values`]: the AI equity NPV against the unlevered
/// AI value, on top of the slice's unlevered gain), and the equity view is that value to 1e-9.
#[test]
fn zero_vol_levered_policy_is_the_best_day_by_equity_value() {
    let mut sc = by_hand::zero_vol_levered();
    // A lease market rising faster than the discount rates, so converting later pays more, and
    // debt at 3% against equity at 12%: unlevered no slice pays within the 8 years, levered both
    // do, one of them before the last decision month.
    sc.ai.lease_drift = 0.10;
    sc.ai.lease_usd_per_kw_month = 150.0;
    sc.finance.as_mut().unwrap().debt_rate = 0.03;
    let cfg = OptimalConfig::new(300, 11, false);
    let out = run(&sc, &cfg, &|_| {}).unwrap();
    let sl = Slices::new(&sc).unwrap();
    let b = sl.block(cfg.seed, 0, 1, false);
    let (k, nd) = (sl.tranches(), sl.decision_days().len());
    let mine: f64 = b.mining_total.iter().sum();
    let (mut equity, mut npv, mut moved) = (mine, mine, 0);
    // The static shares in the owner's value: slices 1..=j converted on day 0.
    let mut statics = vec![mine];
    let mut foresight = mine;
    for j in 0..k {
        let owner: Vec<f64> = (0..nd)
            .map(|d| {
                let q = d * k + j;
                let (unlevered, levered) =
                    by_hand::slice_values(&sc, sl.decision_days()[d], b.lease[d]);
                b.gain(q) + (levered - unlevered)
            })
            .collect();
        let (day, value) = best(&owner);
        statics.push(statics[j] + owner[0]);
        foresight += value.max(0.0);
        let unlevered_day = best(&(0..nd).map(|d| b.gain(d * k + j)).collect::<Vec<_>>()).0;
        moved += usize::from(day != unlevered_day);
        let s = &out.detail.slices[j];
        match day {
            Some(d) => {
                assert_eq!(s.prob_converted, 1.0, "slice {j}");
                assert_eq!(
                    s.mean_conversion_month,
                    Some(d as f64),
                    "slice {j}: {owner:?}"
                );
                equity += value;
                npv += b.gain(d * k + j);
            }
            None => assert_eq!(s.prob_converted, 0.0, "slice {j}"),
        }
    }
    assert!(moved > 0, "the debt should move some slice's best day");
    let e = out.result.equity.as_ref().expect("the equity view");
    assert!(
        rel(e.equity_npv.mean, equity) <= 1e-9,
        "{} vs {equity}",
        e.equity_npv.mean
    );
    assert!(
        rel(out.result.npv.mean, npv) <= 1e-9,
        "{} vs {npv}",
        out.result.npv.mean
    );
    // Every path is the same path: the loans' figures too.
    let (p5, mean) = (e.dscr_min.p5.unwrap(), e.dscr_min.mean.unwrap());
    assert!(rel(p5, mean) <= 1e-12, "{p5} {mean}");
    assert!(e.equity_irr.p50.is_some() && e.project_irr.p50.is_some());
    // The bounds and the value of flexibility in the policy's objective, the owner's value: on
    // one deterministic path the policy is perfect foresight, and flexibility is its value less
    // the best static share's, all by hand.
    let o = out
        .detail
        .objective
        .as_ref()
        .expect("levered: the objective's figures");
    assert_eq!(o.objective, "equity_npv");
    for (name, got) in [
        ("in sample", o.value_in_sample.mean),
        ("out of sample", o.value_out_of_sample.mean),
        ("perfect foresight", o.value_perfect_foresight.mean),
    ] {
        assert!(rel(got, equity) <= 1e-9, "{name}: {got} vs {equity}");
    }
    assert!(rel(foresight, equity) <= 1e-9, "{foresight} vs {equity}");
    // The slices' option values in the objective add up to the policy's value over mining.
    let slices: f64 = o
        .slice_option_value_out_of_sample
        .iter()
        .map(|e| e.mean)
        .sum();
    assert_eq!(o.slice_option_value_out_of_sample.len(), k);
    assert!(
        rel(mine + slices, equity) <= 1e-9,
        "{slices} + {mine} vs {equity}"
    );
    let (j_best, v_best) =
        statics.iter().enumerate().fold(
            (0, f64::NEG_INFINITY),
            |a, (j, &v)| if v > a.1 { (j, v) } else { a },
        );
    let f = &o.flexibility;
    assert_eq!(f.best_static_share, j_best as f64 / k as f64);
    for (got, want) in f.static_npv.iter().zip(&statics) {
        assert!(rel(*got, *want) <= 1e-9, "{got} vs {want}");
    }
    for v in [f.value_in_sample.mean, f.value_out_of_sample.mean] {
        assert!((v - (equity - v_best)).abs() <= 1e-9 * equity.abs(), "{v}");
    }
    assert!(
        f.value_in_sample.mean > 0.0,
        "the debt moves a slice off day 0"
    );
    // Unlevered runs have no separate objective.
    let mut v1 = sc.clone();
    v1.finance = None;
    let u = run(&v1, &cfg, &|_| {}).unwrap();
    assert!(u.detail.objective.is_none());
}

/// On the embedded default (risks, `[finance]`), the policy maximizes the owner's value: in it,
/// the policy beats the best static share in sample, perfect foresight bounds it path by path,
/// and the in-sample value is the equity NPV the result reports.
#[test]
fn the_levered_default_is_judged_in_its_objective() {
    let sc = crate::Scenario::default();
    assert!(sc.finance.is_some());
    let out = run(&sc, &OptimalConfig::new(512, 3, false), &|_| {}).unwrap();
    let o = out.detail.objective.as_ref().expect("levered");
    let e = out.result.equity.as_ref().unwrap();
    assert!(rel(o.value_in_sample.mean, e.equity_npv.mean) <= 1e-12);
    assert!(o.value_perfect_foresight.mean >= o.value_in_sample.mean);
    let f = &o.flexibility;
    assert!(
        f.value_in_sample.mean >= -3.0 * f.value_in_sample.stderr,
        "{f:?}"
    );
    let best = f
        .static_npv
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(f.best_static_npv, best);
    // Static share 0 is mining: its value is the mining NPV in both measures.
    assert_eq!(f.static_npv[0], out.detail.flexibility.static_npv[0]);
}

/// The policy responds to financing on common random numbers: with cheap debt (3%) converting
/// pays the owner more than unlevered and the site is converted; at 30% the debt costs more than
/// the conversion earns and the policy keeps mining. The market paths (and `mine`) are the same.
#[test]
fn debt_terms_move_the_policy() {
    let mut sc = Scenario::default();
    sc.strategy.tranches = 2;
    sc.strategy.decide_months = 12;
    let with_rate = |rate: f64| {
        let mut s = sc.clone();
        s.finance = Some(Finance {
            debt_rate: rate,
            ltc: 0.85,
            // Equity at the AI rate: what remains is the debt's own price.
            cost_of_equity: s.ai.discount_rate,
            ..Finance::default()
        });
        run(&s, &OptimalConfig::new(256, 5, false), &|_| {}).unwrap()
    };
    let (cheap, dear) = (with_rate(0.03), with_rate(0.30));
    let share = |o: &OptimalOutput| *o.detail.policy.expected_share_converted.last().unwrap();
    assert!(share(&cheap) >= 0.9, "{}", share(&cheap));
    assert!(share(&dear) <= 0.1, "{}", share(&dear));
    assert_eq!(cheap.mine_npv, dear.mine_npv);
    let eq = |o: &OptimalOutput| o.result.equity.as_ref().unwrap().equity_npv.mean;
    assert!(eq(&cheap) > eq(&dear));
}

/// MODEL.md §11 with a constant price (no drift, every vol 0): `optimal` in BTC is `optimal` in
/// USD divided by the price, levered or not, with the same policy.
#[test]
fn btc_optimal_at_a_constant_price_is_usd_over_s() {
    let mut sc = by_hand::zero_vol_levered();
    sc.price.drift = 0.0;
    sc.ai.lease_drift = 0.10;
    sc.ai.lease_usd_per_kw_month = 150.0;
    let mut cheap = by_hand::zero_vol_levered().finance;
    if let Some(f) = cheap.as_mut() {
        // Debt that makes converting pay, so the loans' figures are there to compare.
        f.debt_rate = 0.03;
    }
    let s = sc.price.spot;
    let cfg = OptimalConfig::new(64, 3, false);
    for levered in [false, true] {
        if !levered {
            sc.finance = None;
        } else {
            sc.finance = cheap.clone();
        }
        let usd = run(&sc, &cfg, &|_| {}).unwrap();
        let mut b = sc.clone();
        b.run.currency = Currency::Btc;
        let btc = run(&b, &cfg, &|_| {}).unwrap();
        assert!(rel(btc.result.npv.mean, usd.result.npv.mean / s) <= 1e-9);
        // The mining/AI split goes through f32 (as version 1 stored it): 1e-6.
        assert!(rel(btc.result.mining_npv_mean, usd.result.mining_npv_mean / s) <= 1e-6);
        assert!(
            rel(
                btc.detail.npv_out_of_sample.mean,
                usd.detail.npv_out_of_sample.mean / s
            ) <= 1e-9
        );
        for (x, y) in usd.detail.slices.iter().zip(&btc.detail.slices) {
            assert_eq!(x.prob_by_month, y.prob_by_month);
        }
        assert_eq!(btc.result.equity.is_some(), levered);
        if let (Some(u), Some(v)) = (&usd.result.equity, &btc.result.equity) {
            assert!(rel(v.equity_npv.mean, u.equity_npv.mean / s) <= 1e-9);
            assert!(rel(v.equity_npv_mean_ai, u.equity_npv_mean_ai / s) <= 1e-9);
            // Ratios and rates do not depend on the unit.
            let (a, b) = (u.dscr_min.mean.unwrap(), v.dscr_min.mean.unwrap());
            assert!(rel(b, a) <= 1e-9, "{a} {b}");
            assert_eq!(u.equity_irr.p50.is_some(), v.equity_irr.p50.is_some());
        }
    }
}

/// `simulate --strategy optimal` levered and in BTC: the same bits on 1 and 2 threads, the equity
/// view on the `optimal` row, and `mine` unchanged by the strategy chosen.
#[test]
fn levered_btc_optimal_is_thread_independent() {
    let mut sc = Scenario::default();
    sc.run.horizon_years = 5.0;
    sc.strategy.tranches = 2;
    sc.strategy.decide_months = 6;
    sc.finance = Some(Finance::default());
    sc.run.currency = Currency::Btc;
    let cfg = |threads| RunConfig {
        paths: Some(600),
        threads: Some(threads),
        strategy: Some(StrategyKind::Optimal),
        ..RunConfig::default()
    };
    let one = simulate(&sc, &cfg(1), &|_| {}).unwrap();
    let two = simulate(&sc, &cfg(2), &|_| {}).unwrap();
    assert_eq!(one, two);
    assert_eq!(one.currency, Currency::Btc);
    let opt = &one.results[1];
    assert_eq!(opt.strategy, "optimal");
    let e = opt.equity.as_ref().expect("the equity view of optimal");
    assert!(e.equity_npv.mean.is_finite() && e.equity_npv_histogram.is_some());
    let mine = simulate(
        &sc,
        &RunConfig {
            strategy: Some(StrategyKind::Mine),
            ..cfg(2)
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(one.results[0], mine.results[0]);
}
