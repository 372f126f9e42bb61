//! Numerical guards, fuzzed: scenarios whose every key is drawn from its allowed range
//! (docs/VALIDATION.md), often at an edge, run through the Monte Carlo engine on a short horizon
//! with few paths. The property: the run either returns results whose every number is finite
//! (no NaN or infinity reaches the JSON, where serde_json would print `null`), or a bad-input
//! error with a message; it never panics.
//!
//! Cases: `PROPTEST_CASES` (default 200; each case is a full run of 16 paths over at most 3 years,
//! about a millisecond).

use hashpivot_fuzz::config;
use hashpivot_model::{scenario::StrategyKind, simulate, ModelError, RunConfig, Scenario};
use proptest::prelude::*;

/// A value in `[lo, hi]`: an edge, the default, or uniform in between (log-uniform when the
/// range spans decades).
fn pick(lo: f64, hi: f64, default: f64) -> impl Strategy<Value = f64> {
    let log = lo > 0.0 && hi / lo > 1e3;
    prop_oneof![
        2 => Just(lo),
        2 => Just(hi),
        2 => Just(default),
        3 => (0.0f64..=1.0).prop_map(move |u| if log {
            (lo.ln() + u * (hi.ln() - lo.ln())).exp().clamp(lo, hi)
        } else {
            lo + u * (hi - lo)
        }),
    ]
}

fn nulls(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Null => out.push(path.to_string()),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                nulls(x, &format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                nulls(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

prop_compose! {
    fn market()(
        spot in pick(1e-6, 1e12, 90_000.0),
        drift in pick(-2.0, 2.0, 0.11),
        vol in pick(0.0, 5.0, 0.47),
        fees in pick(1e-8, 1000.0, 0.02),
        fee_speed in pick(0.0, 365.0, 2.0),
        fee_vol in pick(0.0, 10.0, 0.8),
        height in prop_oneof![Just(0u64), Just(13_440_000u64), 0u64..13_440_000],
        difficulty in pick(1.0, 1e30, 1.25e14),
    ) -> (f64, f64, f64, f64, f64, f64, u64, f64) {
        (spot, drift, vol, fees, fee_speed, fee_vol, height, difficulty)
    }
}

prop_compose! {
    fn hashrate()(
        up in pick(0.0, 365.0, 1.0),
        down in pick(0.0, 365.0, 4.0),
        vol in pick(0.0, 5.0, 0.15),
        eff in pick(1e-3, 1e4, 18.0),
        decline in pick(0.0, 0.999, 0.08),
        floor in pick(1e-3, 1e4, 5.0),
        power in pick(1e-3, 1e4, 45.0),
        share in pick(1e-3, 1.0, 0.5),
    ) -> [f64; 8] {
        [up, down, vol, eff, decline, floor, power, share]
    }
}

prop_compose! {
    fn site_and_ai()(
        power_usd in pick(0.0, 1e4, 38.0),
        escalator in pick(-0.5, 1.0, 0.02),
        terminal in pick(0.0, 100.0, 0.0),
        uptime in pick(0.0, 1.0, 0.97),
        pool_fee in pick(0.0, 0.999, 0.02),
        refresh in prop_oneof![Just(0.0), pick(1.0 / 365.0, 100.0, 4.0)],
        hw_days in pick(0.0, 1e5, 590.0),
        mining_rate in pick(-0.5, 10.0, 0.15),
        lease in pick(1e-3, 1e5, 130.0),
        lease_vol in pick(0.0, 5.0, 0.15),
        lease_drift in pick(-2.0, 2.0, 0.0),
        corr in pick(-1.0, 1.0, 0.0),
        ai_rate in pick(-0.5, 10.0, 0.08),
        term in pick(1.0 / 365.0, 100.0, 15.0),
        build in pick(0.0, 240.0, 12.0),
    ) -> [f64; 15] {
        [power_usd, escalator, terminal, uptime, pool_fee, refresh, hw_days, mining_rate, lease,
         lease_vol, lease_drift, corr, ai_rate, term, build]
    }
}

/// Scenarios over the full allowed ranges (`full`), or over the ranges a site owner would plausibly
/// enter (spot $1k to $10M, difficulty 1e12 to 1e16, marginal miner 1 to 100 J/TH at $1 to
/// $1000/MWh, reversion speeds up to 12 a year, vols up to 2, fees up to 10 BTC).
fn scenario(full: bool) -> impl Strategy<Value = Scenario> {
    (
        market(),
        hashrate(),
        site_and_ai(),
        prop_oneof![Just(1.0f64), Just(1.0 / 365.0), 0.1f64..3.0],
        0usize..4,
    )
        .prop_map(move |(m, h, a, years, kind)| {
            let mut s = Scenario::default();
            s.run.horizon_years = years;
            s.run.paths = 16;
            (s.price.spot, s.price.drift, s.price.vol) = (m.0, m.1, m.2);
            (s.fees.btc_per_block, s.fees.speed, s.fees.vol) = (m.3, m.4, m.5);
            s.chain.height = m.6;
            s.chain.difficulty = m.7;
            // The hashrate that matches the difficulty (the MODEL.md default); a hashrate far off
            // the difficulty is the known hang reported in crates/cli/tests/it/hardening_numeric.rs.
            s.chain.hashrate_ehs = None;
            s.chain.epoch_elapsed_days = None;
            let hr = &mut s.hashrate;
            [
                hr.speed_up,
                hr.speed_down,
                hr.vol,
                hr.marginal_efficiency_jth,
            ] = [h[0], h[1], h[2], h[3]];
            [
                hr.efficiency_decline,
                hr.efficiency_floor_jth,
                hr.marginal_power_usd_mwh,
                hr.power_share,
            ] = [h[4], h[5], h[6], h[7]];
            s.site.power_usd_mwh = a[0];
            s.site.power_escalator = a[1];
            s.site.terminal_multiple = a[2];
            s.mining.uptime = a[3];
            s.mining.pool_fee = a[4];
            s.mining.refresh_every_years = a[5];
            s.mining.hw_days_of_hashprice = a[6];
            s.mining.discount_rate = a[7];
            s.ai.lease_usd_per_kw_month = a[8];
            s.ai.lease_vol = a[9];
            s.ai.lease_drift = a[10];
            s.ai.lease_price_corr = a[11];
            s.ai.discount_rate = a[12];
            s.ai.lease_term_years = a[13];
            s.ai.build_months = a[14];
            let days = s.days().max(1);
            s.strategy.kind = [
                StrategyKind::Mine,
                StrategyKind::Convert,
                StrategyKind::Schedule,
                StrategyKind::Sweep,
            ][kind];
            s.strategy.schedule = vec![(0, 0.5), ((days - 1) as u32, 0.5)];
            s.strategy.decide_months = 0;
            if !full {
                s.price.spot = s.price.spot.clamp(1e3, 1e7);
                s.chain.difficulty = s.chain.difficulty.clamp(1e12, 1e16);
                s.hashrate.marginal_efficiency_jth =
                    s.hashrate.marginal_efficiency_jth.clamp(1.0, 100.0);
                s.hashrate.efficiency_floor_jth = s.hashrate.efficiency_floor_jth.clamp(1.0, 100.0);
                s.hashrate.marginal_power_usd_mwh =
                    s.hashrate.marginal_power_usd_mwh.clamp(1.0, 1000.0);
                s.hashrate.power_share = s.hashrate.power_share.max(0.05);
                s.price.vol = s.price.vol.min(2.0);
                s.fees.btc_per_block = s.fees.btc_per_block.min(10.0);
                s.fees.vol = s.fees.vol.min(2.0);
                s.fees.speed = s.fees.speed.min(12.0);
                s.hashrate.speed_up = s.hashrate.speed_up.min(12.0);
                s.hashrate.speed_down = s.hashrate.speed_down.min(12.0);
                s.hashrate.vol = s.hashrate.vol.min(2.0);
                s.ai.lease_vol = s.ai.lease_vol.min(2.0);
            }
            s
        })
}

/// The equity view's figures that are absent by definition (MODEL.md §10), printed as `null`:
/// the DSCR statistics when no path has a whole loan year (`paths_counted = 0`), and an IRR
/// quantile when paths have no root (`no_root_share > 0`). Any other `null` is a non-finite
/// number that leaked.
fn documented_none(v: &serde_json::Value, path: &str) -> bool {
    let Some((parent, key)) = path.rsplit_once('.') else {
        return false;
    };
    let pointer = |p: &str| {
        let mut out = String::new();
        for part in p.split('.').filter(|x| !x.is_empty()) {
            match part.split_once('[') {
                Some((name, idx)) => {
                    out.push('/');
                    out.push_str(name);
                    out.push('/');
                    out.push_str(idx.trim_end_matches(']'));
                }
                None => {
                    out.push('/');
                    out.push_str(part);
                }
            }
        }
        out
    };
    let Some(obj) = v.pointer(&pointer(parent)) else {
        return false;
    };
    if parent.ends_with(".equity.dscr_min") && ["mean", "p5", "prob_below_min"].contains(&key) {
        return obj["paths_counted"].as_u64() == Some(0);
    }
    if (parent.ends_with(".equity.project_irr") || parent.ends_with(".equity.equity_irr"))
        && ["p5", "p50", "p95"].contains(&key)
    {
        return obj["no_root_share"].as_f64().is_some_and(|x| x > 0.0);
    }
    false
}

fn check(s: &Scenario) -> Result<(), TestCaseError> {
    match simulate(s, &RunConfig::default(), &|_| {}) {
        Ok(out) => {
            let v = serde_json::to_value(&out).unwrap();
            let mut found = Vec::new();
            nulls(&v, "", &mut found);
            found.retain(|p| !documented_none(&v, p));
            prop_assert!(
                found.is_empty(),
                "non-finite numbers at {:?}\nscenario:\n{}",
                &found[..found.len().min(6)],
                s.to_toml_string()
            );
        }
        Err(
            e @ (ModelError::Scenario(_)
            | ModelError::BadOption { .. }
            | ModelError::NonFinite { .. }),
        ) => {
            prop_assert!(!e.to_string().trim().is_empty());
        }
        Err(e) => prop_assert!(false, "{e}\nscenario:\n{}", s.to_toml_string()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn plausible_scenarios_give_finite_results(s in scenario(false)) {
        check(&s)?;
    }

    /// Over the full allowed ranges: a finite result or a clear error (`ModelError::NonFinite` for
    /// combinations that overflow f64), never NaN or infinity in the output.
    #[test]
    fn allowed_scenarios_give_finite_results(s in scenario(true)) {
        check(&s)?;
    }
}
