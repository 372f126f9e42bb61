//! The engine against an independent, straightforward implementation of MODEL.md sections 3–5
//! written here, day by day, sharing nothing with the engine but `subsidy_btc`. With every volatility
//! zero all paths are equal, and MODEL.md says two implementations agree to 1e-9 relative.

use hashpivot_chain::subsidy_btc;
use hashpivot_model::scenario::{Batch, Scenario, StrategyKind};
use hashpivot_model::{simulate, RunConfig};

#[derive(Clone)]
struct Machines {
    units: f64,
    ths: f64,
    power_w: f64,
}

/// Returns (mining NPV, AI NPV) of converting `conversions` = [(day, share)].
fn reference(sc: &Scenario, conversions: &[(usize, f64)]) -> (f64, f64) {
    let n = (sc.run.horizon_years * 365.0).round() as usize;
    let dt = 1.0 / 365.0;
    let two32 = 2f64.powi(32);
    let mut s = sc.price.spot;
    let mut x = sc.fees.btc_per_block.ln();
    let mut d = sc.chain.difficulty;
    let mut hash = match sc.chain.hashrate_ehs {
        Some(e) => e * 1e6,
        None => d * two32 / 600.0 / 1e12,
    };
    let mut h = sc.chain.height as f64;
    let mut e_start = (sc.chain.height - sc.chain.height % 2016) as f64;
    let mut e_days = sc.chain.epoch_elapsed_days.unwrap_or((h - e_start) / 144.0);
    let mut lease = sc.ai.lease_usd_per_kw_month;
    let o = sc.mining.overhead;
    let p_site = sc.site.power_mw;

    let mut fleet: Vec<Machines> = sc
        .mining
        .fleet
        .iter()
        .map(|b| Machines {
            units: b.units,
            ths: b.hashrate_ths,
            power_w: b.power_w,
        })
        .collect();
    // Removal order: least efficient first (stable for ties).
    fleet.sort_by(|a, b| {
        (b.power_w / b.ths)
            .partial_cmp(&(a.power_w / a.ths))
            .unwrap()
    });
    let mut converted = 0.0;
    let mut projects: Vec<(usize, f64)> = Vec::new();
    let mut lease_hist = Vec::new();
    let mut mining_cash = Vec::new();
    let mut ai_cash = Vec::new();
    let every = (365.0 * sc.mining.refresh_every_years).round() as usize;

    for t in 0..n {
        lease_hist.push(lease);
        let fees = x.exp();
        let hd = d * two32 / 600.0 / 1e12;
        let b = 144.0 * hash / hd;
        // Mean subsidy over [h, h+b), split at halvings.
        let (a, z) = (h, h + b);
        let mut sum = 0.0;
        let mut start = a;
        while start < z {
            let next = ((start / 210000.0).floor() + 1.0) * 210000.0;
            let end = if next < z { next } else { z };
            sum += (end - start) * subsidy_btc(start.floor() as u64);
            start = end;
        }
        let sub = sum / b;
        let r = sub + fees;
        let hv = 86400.0 * 1e12 * r / (d * two32);
        let hr = &sc.hashrate;
        let eta = f64::max(
            hr.efficiency_floor_jth,
            hr.marginal_efficiency_jth * (1.0 - hr.efficiency_decline).powf(t as f64 / 365.0),
        );
        let hstar = hr.power_share * 144.0 * r * s / (eta * 24.0 * hr.marginal_power_usd_mwh / 1e6);
        let p_t = sc.site.power_usd_mwh * (1.0 + sc.site.power_escalator).powf(t as f64 / 365.0);

        let mut mcash = 0.0;
        // Fleet refresh.
        if every > 0 && t > 0 && t % every == 0 {
            let sold: f64 = fleet.iter().map(|m| m.units * m.ths).sum();
            mcash += sc.mining.salvage_usd_per_th * sold;
            let mining_mw = p_site - converted;
            let th = mining_mw * 1e6 / (o * eta);
            mcash -= sc.mining.hw_days_of_hashprice * hv * s * th;
            fleet = vec![Machines {
                units: th,
                ths: 1.0,
                power_w: eta,
            }];
        }
        // Conversions: the AI project starts on the decision day; the machines leave then, or
        // with `ai.mine_during_build` on the hall's ready day (MODEL.md section 8; no delay here,
        // so the ready day is `τ + B`).
        let bdays = (sc.ai.build_months * 365.0 / 12.0).round() as usize;
        for &(day, share) in conversions {
            if day == t && share > 0.0 {
                projects.push((t, share * p_site * sc.ai.it_mw_per_gross_mw));
            }
        }
        for &(day, share) in conversions {
            let leave = if sc.ai.mine_during_build {
                day + bdays
            } else {
                day
            };
            if leave != t || share <= 0.0 {
                continue;
            }
            let mw = share * p_site;
            let fleet_mw: f64 = fleet.iter().map(|m| m.units * m.power_w * o / 1e6).sum();
            let idle = (p_site - converted) - fleet_mw;
            let mut left = mw - idle.min(mw).max(0.0);
            for m in fleet.iter_mut() {
                if left <= 1e-12 {
                    break;
                }
                let mw_unit = m.power_w * o / 1e6;
                let take = (left / mw_unit).min(m.units);
                m.units -= take;
                left -= take * mw_unit;
                mcash += sc.mining.salvage_usd_per_th * take * m.ths;
            }
            converted += mw;
        }
        // Mining.
        for m in &fleet {
            let btc = sc.mining.uptime * m.units * m.ths * hv * (1.0 - sc.mining.pool_fee);
            let mut usd = btc * s;
            let mut cost = sc.mining.uptime * m.units * m.power_w * o * 24.0 / 1e6 * p_t;
            if sc.mining.curtail && usd < cost {
                usd = 0.0;
                cost = 0.0;
            }
            mcash += usd - cost;
        }
        let fleet_mw: f64 = fleet.iter().map(|m| m.units * m.power_w * o / 1e6).sum();
        mcash -= sc.mining.opex_usd_per_mw_month * fleet_mw * 12.0 / 365.0;
        // AI.
        let ai = &sc.ai;
        let mut acash = 0.0;
        for &(tau, it) in &projects {
            // MODEL.md section 8 with zero volatility: capex × (1 + overrun).
            let capex = it * ai.capex_usd_per_mw_it * (1.0 + ai.capex_overrun);
            if bdays == 0 {
                if t == tau {
                    acash -= capex;
                }
            } else if t >= tau && t < tau + bdays {
                acash -= capex / bdays as f64;
            }
            if t >= tau + bdays {
                let m = (ai.lease_term_years * 365.0).round() as usize;
                let c = (t - tau - bdays) / m;
                let u = tau + bdays + c * m;
                let l_c = if c == 0 {
                    lease_hist[tau]
                } else {
                    lease_hist[u]
                };
                let rent = it * 1000.0 * l_c * 12.0 / 365.0
                    * (1.0 + ai.lease_escalator).powf((t - u) as f64 / 365.0)
                    * ai.renewal_probability.powi(c as i32)
                    * (-ai.tenant_default_rate * (t - tau - bdays) as f64 / 365.0).exp();
                acash += rent * ai.noi_margin;
            }
        }
        mining_cash.push(mcash);
        ai_cash.push(acash);

        // Step (all shocks zero).
        if h + b >= e_start + 2016.0 {
            let phi = (e_start + 2016.0 - h) / b;
            let span = e_days + phi;
            d = d * 14.0 / span.clamp(3.5, 56.0);
            e_start += 2016.0;
            e_days = 1.0 - phi;
        } else {
            e_days += 1.0;
        }
        h += b;
        let kappa = if hstar > hash {
            hr.speed_up
        } else {
            hr.speed_down
        };
        hash = (hash.ln() + kappa * (hstar.ln() - hash.ln()) * dt).exp();
        s = (s.ln() + (sc.price.drift - 0.5 * sc.price.vol.powi(2)) * dt).exp();
        x += sc.fees.speed * (sc.fees.btc_per_block.ln() - x) * dt;
        lease = (lease.ln() + (ai.lease_drift - 0.5 * ai.lease_vol.powi(2)) * dt).exp();
    }
    let npv = |cash: &[f64], r: f64| {
        let mut v = 0.0;
        for (t, c) in cash.iter().enumerate() {
            v += c * (1.0 + r).powf(-((t + 1) as f64) / 365.0);
        }
        let last: f64 = cash[n.saturating_sub(365)..].iter().sum();
        v + sc.site.terminal_multiple * last * (1.0 + r).powf(-((n + 1) as f64) / 365.0)
    };
    (
        npv(&mining_cash, sc.mining.discount_rate),
        npv(&ai_cash, sc.ai.discount_rate),
    )
}

fn scenario() -> Scenario {
    let mut sc = Scenario::default();
    // Version 1's AI side (MODEL.md section 5); the tests below turn single risks back on.
    sc.ai.set_risks_off();
    // Unlevered, as a file without [finance] (the embedded default is levered).
    sc.finance = None;
    sc.price.vol = 0.0;
    sc.fees.vol = 0.0;
    sc.hashrate.vol = 0.0;
    sc.ai.lease_vol = 0.0;
    // Exercise every piece: drift, a hashrate away from break-even, refresh, renewals, defaults,
    // a terminal value, a halving (day ~600 from height 963,549), curtailment of the old machines.
    sc.price.drift = 0.12;
    sc.ai.lease_drift = 0.03;
    sc.chain.hashrate_ehs = Some(700.0);
    sc.mining.refresh_every_years = 4.0;
    sc.ai.lease_term_years = 5.0;
    sc.site.terminal_multiple = 3.0;
    sc.site.power_usd_mwh = 55.0;
    sc.mining.fleet.push(Batch {
        model: "S9".into(),
        units: 1000.0,
        hashrate_ths: 13.5,
        power_w: 1323.0,
    });
    sc.run.horizon_years = 12.0;
    sc
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

fn check(sc: &Scenario, cfg: RunConfig, conv: &[(usize, f64)]) {
    let out = simulate(sc, &cfg, &|_| {}).unwrap();
    let (m0, a0) = reference(sc, &[]);
    let mine = &out.results[0];
    assert_eq!(mine.strategy, "mine");
    assert!(
        rel(mine.npv.mean, m0 + a0) < 1e-9,
        "mine {} vs {}",
        mine.npv.mean,
        m0 + a0
    );
    assert!(rel(mine.mining_npv_mean, m0) < 1e-9);
    assert_eq!(mine.ai_npv_mean, 0.0);
    // All paths are equal.
    assert!(mine.npv.stderr <= 1e-9 * mine.npv.mean.abs());
    let (m1, a1) = reference(sc, conv);
    let r = &out.results[1];
    assert!(
        rel(r.mining_npv_mean, m1) < 1e-9,
        "{}: mining {} vs {}",
        r.strategy,
        r.mining_npv_mean,
        m1
    );
    assert!(
        rel(r.ai_npv_mean, a1) < 1e-9,
        "{}: ai {} vs {}",
        r.strategy,
        r.ai_npv_mean,
        a1
    );
    assert!(rel(r.npv.mean, m1 + a1) < 1e-9);
    assert!(rel(r.npv.p5, m1 + a1) < 1e-9 && rel(r.npv.p95, m1 + a1) < 1e-9);
    assert!(a1.abs() > 1e6, "the AI leg must matter in this test");
}

#[test]
fn zero_vol_convert_matches_reference() {
    let sc = scenario();
    let cfg = RunConfig {
        paths: Some(3),
        strategy: Some(StrategyKind::Convert),
        share: Some(0.6),
        ..Default::default()
    };
    check(&sc, cfg, &[(0, 0.6)]);
}

#[test]
fn zero_vol_schedule_matches_reference() {
    let mut sc = scenario();
    // A conversion on a refresh day (1460) and one removing only idle MW first.
    sc.strategy.schedule = vec![(0, 0.02), (200, 0.3), (1460, 0.25), (3000, 0.1)];
    let cfg = RunConfig {
        paths: Some(2),
        strategy: Some(StrategyKind::Schedule),
        ..Default::default()
    };
    check(
        &sc,
        cfg,
        &[(0, 0.02), (200, 0.3), (1460, 0.25), (3000, 0.1)],
    );
}

#[test]
fn zero_vol_no_refresh_no_build_time_matches_reference() {
    let mut sc = scenario();
    sc.mining.refresh_every_years = 0.0;
    sc.ai.build_months = 0.0;
    sc.mining.curtail = false;
    sc.site.terminal_multiple = 0.0;
    sc.chain.epoch_elapsed_days = Some(2.5);
    let cfg = RunConfig {
        paths: Some(1),
        strategy: Some(StrategyKind::Convert),
        share: Some(1.0),
        ..Default::default()
    };
    check(&sc, cfg, &[(0, 1.0)]);
}

#[test]
fn zero_vol_sweep_matches_reference_per_share() {
    let mut sc = scenario();
    sc.strategy.kind = StrategyKind::Sweep;
    sc.strategy.shares = vec![0.0, 0.35, 1.0];
    let out = simulate(
        &sc,
        &RunConfig {
            paths: Some(2),
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(out.results.len(), 4);
    for (r, share) in out.results[1..].iter().zip([0.0, 0.35, 1.0]) {
        assert_eq!(r.share, Some(share));
        let (m, a) = reference(&sc, &[(0, share)]);
        assert!(
            rel(r.npv.mean, m + a) < 1e-9,
            "share {share}: {} vs {}",
            r.npv.mean,
            m + a
        );
    }
}

/// MODEL.md section 8 with its deterministic parts: a 20% capex overrun without spread (the AI
/// side then runs through the path-dependent book of `payoff::ai`, not the linear form).
#[test]
fn zero_vol_capex_overrun_matches_reference() {
    let mut sc = scenario();
    sc.ai.capex_overrun = 0.2;
    sc.strategy.schedule = vec![(0, 0.3), (200, 0.3), (1460, 0.25)];
    let cfg = RunConfig {
        paths: Some(2),
        strategy: Some(StrategyKind::Schedule),
        ..Default::default()
    };
    check(&sc, cfg, &[(0, 0.3), (200, 0.3), (1460, 0.25)]);
}

/// `ai.mine_during_build`: the converted machines mine until the hall is ready, across a
/// refresh (day 1460) and the halving, for one conversion and for a schedule.
#[test]
fn zero_vol_mine_during_build_matches_reference() {
    let mut sc = scenario();
    sc.ai.mine_during_build = true;
    sc.ai.build_months = 14.0;
    let cfg = RunConfig {
        paths: Some(2),
        strategy: Some(StrategyKind::Convert),
        share: Some(0.6),
        ..Default::default()
    };
    check(&sc, cfg, &[(0, 0.6)]);
    // A conversion whose build spans the refresh on day 1460, and one removing idle MW first.
    sc.strategy.schedule = vec![(0, 0.02), (1200, 0.3), (3000, 0.1)];
    let cfg = RunConfig {
        paths: Some(2),
        strategy: Some(StrategyKind::Schedule),
        ..Default::default()
    };
    check(&sc, cfg, &[(0, 0.02), (1200, 0.3), (3000, 0.1)]);
    // With an overrun too, and no build time (the machines leave on the decision day).
    sc.ai.capex_overrun = -0.1;
    sc.ai.build_months = 0.0;
    let cfg = RunConfig {
        paths: Some(1),
        strategy: Some(StrategyKind::Schedule),
        ..Default::default()
    };
    check(&sc, cfg, &[(0, 0.02), (1200, 0.3), (3000, 0.1)]);
}
