//! Buying one machine today, priced on the scenario's paths: distribution of payback time, IRR and
//! NPV, and the probability that it pays back before the next halving and before its end of life.
//!
//! The machine is run like a batch of the site's fleet (MODEL.md section 4): the scenario's uptime,
//! pool fee, overhead, site power price, curtailment and fixed opex per MW; it is sold at
//! `mining.salvage_usd_per_th` on its last day. Paths are the same as `simulate`'s for the same seed
//! (same blocks and streams).

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::payoff::MiningDay;
use crate::process::{LaneDay, Prepared, BLOCK};
use crate::scenario::{Scenario, MAX_PATHS};
use crate::stats::quantile_sorted;
use crate::ModelError;

/// What to price.
#[derive(Debug, Clone, PartialEq)]
pub struct PaybackConfig {
    /// Machine hashrate, TH/s.
    pub hashrate_ths: f64,
    /// Machine power at the wall, W.
    pub power_w: f64,
    /// Price, $ per TH/s.
    pub price_usd_per_th: f64,
    /// Life in years (default: `mining.refresh_every_years`, else 5), capped at the horizon.
    pub life_years: Option<f64>,
    /// Paths (default `run.paths`).
    pub paths: Option<u64>,
    /// Seed (default `run.seed`).
    pub seed: Option<u64>,
}

/// Percentiles that may be undefined (`None`: the percentile falls on paths that never pay back,
/// or whose IRR does not exist).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OptQuantiles {
    /// 5th percentile.
    pub p5: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
}

/// Mean and percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantiles {
    /// Mean.
    pub mean: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// Result of [`payback`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaybackOutput {
    /// Paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Price paid, $.
    pub price_usd: f64,
    /// Price paid, $ per TH/s.
    pub price_usd_per_th: f64,
    /// Days of life simulated (capped at the horizon).
    pub life_days: usize,
    /// Days to pay back (undiscounted cumulative cash ≥ price).
    pub payback_days: OptQuantiles,
    /// IRR per year over the life, salvage included.
    pub irr: OptQuantiles,
    /// NPV at `mining.discount_rate`, $ (salvage included).
    pub npv_usd: Quantiles,
    /// P(payback before the next halving; if no halving falls in the horizon, before its end).
    pub prob_payback_before_halving: f64,
    /// P(payback within the life).
    pub prob_payback_before_end_of_life: f64,
    /// P(NPV < 0).
    pub prob_npv_negative: f64,
    /// Median day of the next halving over paths (None if it falls beyond the horizon on most).
    pub halving_day_p50: Option<f64>,
}

#[derive(Clone, Copy, Default)]
struct PathResult {
    payback: f64,
    irr: f64,
    npv: f64,
    halving: f64,
}

/// One machine's terms on the scenario: its life, price and per-day cash terms (checked).
struct Machine {
    paths: u64,
    seed: u64,
    /// Days of life simulated.
    life: usize,
    /// Price paid, $.
    price: f64,
    /// `(1 − pool_fee) · TH`: revenue per unit of `uptime · hv · S`.
    fee_keep: f64,
    /// Facility MWh of running all day before uptime, `W · overhead · 24 / 1e6`.
    mwh: f64,
    /// Fixed opex per day, $.
    opex: f64,
    /// Sale at salvage on the last day, $.
    salvage: f64,
    /// Height of the next halving.
    next_halving: u64,
}

/// Checks `cfg` against the scenario and derives the machine's terms (`n`: days simulated).
fn machine_terms(sc: &Scenario, cfg: &PaybackConfig, n: usize) -> Result<Machine, ModelError> {
    let bad = |o: &str, v: f64, a: &str| ModelError::BadOption {
        option: o.into(),
        value: format!("{v}"),
        allowed: a.into(),
    };
    if !(cfg.hashrate_ths > 0.0 && cfg.hashrate_ths.is_finite()) {
        return Err(bad("hashrate_ths", cfg.hashrate_ths, "> 0"));
    }
    if !(cfg.power_w > 0.0 && cfg.power_w.is_finite()) {
        return Err(bad("power_w", cfg.power_w, "> 0"));
    }
    if !(cfg.price_usd_per_th > 0.0 && cfg.price_usd_per_th <= 1e4) {
        return Err(bad(
            "machine_price_usd_per_th",
            cfg.price_usd_per_th,
            "0 < x <= 10000",
        ));
    }
    let paths = cfg.paths.unwrap_or(sc.run.paths);
    if paths == 0 || paths > MAX_PATHS {
        return Err(bad("paths", paths as f64, "1 <= paths <= 20000000"));
    }
    let seed = cfg.seed.unwrap_or(sc.run.seed);
    let life_years = cfg
        .life_years
        .unwrap_or(if sc.mining.refresh_every_years > 0.0 {
            sc.mining.refresh_every_years
        } else {
            5.0
        });
    if !(life_years.is_finite() && life_years > 0.0) {
        return Err(bad("life_years", life_years, "> 0"));
    }
    let life = ((life_years * 365.0).round() as usize).clamp(1, n.max(1));
    let price = cfg.price_usd_per_th * cfg.hashrate_ths;
    let sm = &sc.mining;
    let fee_keep = (1.0 - sm.pool_fee) * cfg.hashrate_ths;
    let mwh = cfg.power_w * sm.overhead * 24.0 / 1e6;
    let opex = sm.opex_usd_per_mw_month * cfg.power_w * sm.overhead / 1e6 * 12.0 / 365.0;
    let salvage = sm.salvage_usd_per_th * cfg.hashrate_ths;
    let next_halving = hashpivot_chain::next_halving_height(sc.chain.height);
    Ok(Machine {
        paths,
        seed,
        life,
        price,
        fee_keep,
        mwh,
        opex,
        salvage,
        next_halving,
    })
}

/// Prices the machine on the paths of block `b` (`chunk`: one result per lane).
fn price_block(prep: &Prepared, m: &Machine, b: usize, chunk: &mut [PathResult]) {
    let lanes = chunk.len();
    // Daily cash of each lane over the life: [t * lanes + i].
    let mut cf = vec![0.0f64; m.life * lanes];
    let mut halving = vec![f64::INFINITY; lanes];
    prep.run_block(m.seed, b as u64, lanes, false, &mut |d: &LaneDay| {
        let t = d.t;
        for i in 0..lanes {
            if halving[i].is_infinite() && d.height[i] + d.blocks[i] >= m.next_halving as f64 {
                halving[i] = t as f64;
            }
        }
        if t < m.life {
            // The machine's day (the payoff kernel: flat or hourly power, curtailment).
            let day = MiningDay::new(prep, t);
            let machine = day.machine(m.mwh);
            // Revenue as `uptime · ((1 − fee) · TH) · hv · S`, the order pinned by the
            // version-1 numbers.
            let gain = day.uptime * m.fee_keep;
            let row = &mut cf[t * lanes..(t + 1) * lanes];
            for i in 0..lanes {
                let rev = gain * d.hv[i] * d.s[i];
                let mut c = machine.margin(rev);
                c -= m.opex;
                if t + 1 == m.life {
                    c += m.salvage;
                }
                row[i] = c;
            }
        }
    });
    let mut flows = vec![0.0f64; m.life];
    for (i, r) in chunk.iter_mut().enumerate() {
        let mut cum = 0.0;
        let mut pay = f64::INFINITY;
        let mut npv = -m.price;
        for t in 0..m.life {
            let c = cf[t * lanes + i];
            flows[t] = c;
            cum += c;
            if pay.is_infinite() && cum >= m.price {
                pay = (t + 1) as f64;
            }
            npv += c * prep.w_mining[t];
        }
        *r = PathResult {
            payback: pay,
            irr: irr(m.price, &flows),
            npv,
            halving: halving[i],
        };
    }
}

/// Prices one machine on the scenario's paths.
pub fn payback(
    sc: &Scenario,
    cfg: &PaybackConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<PaybackOutput, ModelError> {
    sc.validate()?;
    let prep = Prepared::new(sc);
    let n = prep.n;
    let m = machine_terms(sc, cfg, n)?;
    let nblocks = (m.paths as usize).div_ceil(BLOCK);
    let done = AtomicUsize::new(0);
    let mut res = vec![PathResult::default(); m.paths as usize];
    res.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, chunk)| {
            price_block(&prep, &m, b, chunk);
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(d as f64 / nblocks as f64);
        });
    Ok(summary(&res, &m, cfg, n))
}

/// The distribution over paths of the per-path results.
fn summary(res: &[PathResult], m: &Machine, cfg: &PaybackConfig, n: usize) -> PaybackOutput {
    let (paths, seed, price, life) = (m.paths, m.seed, m.price, m.life);
    let np = res.len() as f64;
    let opt = |mut v: Vec<f64>| -> OptQuantiles {
        v.sort_by(f64::total_cmp);
        let q = |p| {
            let x = quantile_sorted(&v, p);
            if x.is_finite() {
                Some(x)
            } else {
                None
            }
        };
        OptQuantiles {
            p5: q(0.05),
            p50: q(0.5),
            p95: q(0.95),
        }
    };
    let payback_days = opt(res.iter().map(|r| r.payback).collect());
    // Undefined IRRs (NaN) sort as "worst" (−∞) so the percentiles stay meaningful.
    let irr_q = opt(res
        .iter()
        .map(|r| {
            if r.irr.is_nan() {
                f64::NEG_INFINITY
            } else {
                r.irr
            }
        })
        .collect());
    let mut npvs: Vec<f64> = res.iter().map(|r| r.npv).collect();
    let mean = npvs.iter().sum::<f64>() / np;
    npvs.sort_by(f64::total_cmp);
    let halving_days = opt(res.iter().map(|r| r.halving).collect());
    PaybackOutput {
        paths,
        seed,
        price_usd: price,
        price_usd_per_th: cfg.price_usd_per_th,
        life_days: life,
        payback_days,
        irr: irr_q,
        npv_usd: Quantiles {
            mean,
            p5: quantile_sorted(&npvs, 0.05),
            p50: quantile_sorted(&npvs, 0.5),
            p95: quantile_sorted(&npvs, 0.95),
        },
        prob_payback_before_halving: res
            .iter()
            .filter(|r| r.payback.is_finite() && r.payback <= r.halving.min(n as f64))
            .count() as f64
            / np,
        prob_payback_before_end_of_life: res.iter().filter(|r| r.payback <= life as f64).count()
            as f64
            / np,
        prob_npv_negative: res.iter().filter(|r| r.npv < 0.0).count() as f64 / np,
        halving_day_p50: halving_days.p50,
    }
}

/// Yearly IRR of paying `price` at time 0 and receiving `cf[t]` at `(t+1)/365` years: the root of
/// `-price + Σ cf_t x^(t+1)` in `x = (1+r)^(-1/365)`, by bisection on `r ∈ [-0.99, 1000]`. NaN when
/// there is no sign change (e.g. the machine never earns its price back even at -99%/year).
pub fn irr(price: f64, cf: &[f64]) -> f64 {
    let npv = |r: f64| {
        let x = (1.0 + r).powf(-1.0 / 365.0);
        let mut f = 1.0;
        let mut v = -price;
        for &c in cf {
            f *= x;
            v += c * f;
        }
        v
    };
    let (mut lo, mut hi) = (-0.99, 1000.0);
    let (flo, fhi) = (npv(lo), npv(hi));
    if !(flo > 0.0 && fhi < 0.0) {
        return f64::NAN;
    }
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if npv(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-10 {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irr_of_a_known_annuity() {
        // Pay 100, receive 110 after exactly one year (day 364 → (364+1)/365 = 1 year): IRR 10%.
        let mut cf = vec![0.0; 365];
        cf[364] = 110.0;
        assert!((irr(100.0, &cf) - 0.10).abs() < 1e-8);
        // Never repaid: undefined.
        assert!(irr(100.0, &[1.0, 1.0]).is_nan());
    }

    #[test]
    fn zero_vol_payback_matches_hand_calculation() {
        let mut sc = Scenario::default();
        sc.price.vol = 0.0;
        sc.fees.vol = 0.0;
        sc.hashrate.vol = 0.0;
        sc.ai.lease_vol = 0.0;
        let cfg = PaybackConfig {
            hashrate_ths: 270.0,
            power_w: 3645.0,
            price_usd_per_th: 15.0,
            life_years: Some(4.0),
            paths: Some(2),
            seed: None,
        };
        let o = payback(&sc, &cfg, &|_| {}).unwrap();
        assert_eq!(o.payback_days.p5, o.payback_days.p95);
        assert_eq!(o.npv_usd.p5, o.npv_usd.p95);
        // Independent hand loop over the engine's market days.
        let prep = Prepared::new(&sc);
        let m = &sc.mining;
        let mut cum = 0.0;
        let mut pay = None;
        prep.run_block(1, 0, 1, false, &mut |d: &LaneDay| {
            if d.t < 1460 {
                let usd = m.uptime * 270.0 * d.hv[0] * (1.0 - m.pool_fee) * d.s[0];
                let cost = m.uptime * 3645.0 * m.overhead * 24.0 / 1e6 * prep.power_price[d.t];
                let c = if usd < cost { 0.0 } else { usd - cost }
                    - m.opex_usd_per_mw_month * 3645.0 * m.overhead / 1e6 * 12.0 / 365.0
                    + if d.t == 1459 {
                        m.salvage_usd_per_th * 270.0
                    } else {
                        0.0
                    };
                cum += c;
                if pay.is_none() && cum >= 15.0 * 270.0 {
                    pay = Some((d.t + 1) as f64);
                }
            }
        });
        assert_eq!(o.payback_days.p50, pay);
    }
}
