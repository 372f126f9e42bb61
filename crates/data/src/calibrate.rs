//! Calibration estimators (pure functions with OLS standard errors) for the model's processes
//! (MODEL.md §3), from daily history. A year is 365 days and `Δ = 1/365`, as in the model.
//!
//! - **Price** (GBM): daily log returns `r`. `vol = sd(r)·√365`, `drift = mean(r)·365 + vol²/2`
//!   (the model steps `ln S` by `(drift − vol²/2)Δ`). SE(drift) = `sd(r)·365/√n`, SE(vol) =
//!   `vol/√(2(n−1))` (normal theory).
//! - **Fees** (mean-reverting log fees `x = ln(fees per block)`): pairs of fee days `δ` = 1..=4 days
//!   apart (the shipped fees are daily in some spans and sampled every 4 days in others). The Euler
//!   step `Δx = κ(θ − x)δΔ + σ√(δΔ)·z` divided by `√δ` is homoskedastic:
//!   `Δx/√δ = a·√δ + b·x√δ + ε`, so OLS without intercept gives `κ = −b/Δ`, `θ = −a/b`,
//!   `σ = sd(ε)/√Δ`; standard errors from the OLS covariance (delta method for `θ` and `e^θ`).
//! - **Hashrate response**: per difficulty epoch, the mean hashrate `H_e = D_e·2^32·2016/duration`,
//!   with epoch start times read off the height table (interpolated within the crossing day: hours
//!   of precision, also where the header timestamps are missing). The break-even hashrate of
//!   MODEL.md §3 is `H* = power_share·X` with `X = 144·R·S/(η·24·p/1e6)`, where `R`, `S` are the
//!   epoch's mean reward and price and `η` the model's marginal efficiency path run backwards
//!   from the calibration date. The model's step is `Δln H = κ·(ln H* − ln H)Δt + vol·√Δt·z`.
//!   With the gap `g = ln(power_share) + ln X − ln H` split by sign,
//!   `Δln H/√Δt = κ_up·g⁺√Δt + κ_down·g⁻√Δt + ε` is linear in the speeds for a given power share,
//!   so `power_share` is estimated by profile least squares (grid over 0.01–10, then golden
//!   section): it is the level of `H*` that best explains when the network grows and when it
//!   shrinks — through the kink at `g = 0`, and, where the speeds are similar, through the implied
//!   intercept `κ·ln(power_share)` (the steady state `H = power_share·X`). Its SE comes from the
//!   likelihood-ratio 95% interval of the concentrated log-likelihood (width / 3.92); the
//!   speeds' SEs are conditional on it.
//!   `vol = sd(ε)` (per √year).

use serde::Serialize;

use crate::date::Date;
use crate::hashprice::{hashvalue_btc_per_ph_day, mean_subsidy_btc, BtcPerBlock, Difficulty};
use crate::series::{Epoch, FeeDay, HeightPoint, PricePoint};

const YEAR: f64 = 365.0;

/// One estimate with its standard error and the sample it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Scenario key it calibrates (`price.drift`), or a descriptive name.
    pub key: &'static str,
    /// Point estimate.
    pub value: f64,
    /// Standard error.
    pub se: f64,
    /// Observations used.
    pub n: usize,
    /// First and last day of the sample.
    pub from: Date,
    /// Last day of the sample.
    pub to: Date,
    /// Unit / meaning.
    pub unit: &'static str,
}

/// Why an estimate cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// Too few usable observations.
    #[error("{what}: only {n} usable observations between {from} and {to} (need at least {need}); widen --from")]
    TooFew {
        /// The estimate.
        what: &'static str,
        /// Observations found.
        n: usize,
        /// Needed.
        need: usize,
        /// Window start.
        from: String,
        /// Window end.
        to: String,
    },
    /// The regressors are collinear (e.g. no variation in the gap).
    #[error("{0}: the regression is singular (no variation in the regressors)")]
    Singular(&'static str),
}

/// Ordinary least squares of `y` on the columns `x` (no intercept unless a column of ones is given).
#[derive(Debug, Clone, PartialEq)]
pub struct Ols {
    /// Coefficients.
    pub beta: Vec<f64>,
    /// Covariance matrix of the coefficients, `s²(X'X)⁻¹`.
    pub cov: Vec<Vec<f64>>,
    /// Residual standard deviation `s` (n − k degrees of freedom).
    pub s: f64,
    /// Observations.
    pub n: usize,
}

impl Ols {
    /// Standard error of coefficient `i`.
    pub fn se(&self, i: usize) -> f64 {
        self.cov[i][i].max(0.0).sqrt()
    }
}

/// OLS by the normal equations (k is tiny here) with Gauss–Jordan inversion. `None` if `n <= k` or
/// `X'X` is singular.
pub fn ols(y: &[f64], x: &[Vec<f64>]) -> Option<Ols> {
    let n = y.len();
    let k = x.first().map_or(0, Vec::len);
    if n <= k || k == 0 || x.len() != n {
        return None;
    }
    let mut xtx = vec![vec![0.0; k]; k];
    let mut xty = vec![0.0; k];
    for (row, yi) in x.iter().zip(y) {
        for a in 0..k {
            xty[a] += row[a] * yi;
            for b in 0..k {
                xtx[a][b] += row[a] * row[b];
            }
        }
    }
    let inv = invert(xtx)?;
    let beta: Vec<f64> = (0..k)
        .map(|a| (0..k).map(|b| inv[a][b] * xty[b]).sum())
        .collect();
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(row, yi)| {
            let fit: f64 = row.iter().zip(&beta).map(|(a, b)| a * b).sum();
            (yi - fit).powi(2)
        })
        .sum();
    let s2 = rss / (n - k) as f64;
    let cov = inv
        .iter()
        .map(|r| r.iter().map(|v| v * s2).collect())
        .collect();
    Some(Ols {
        beta,
        cov,
        s: s2.sqrt(),
        n,
    })
}

fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let k = m.len();
    let scale = m.iter().flatten().fold(0.0f64, |a, v| a.max(v.abs()));
    let mut inv: Vec<Vec<f64>> = (0..k)
        .map(|i| (0..k).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for c in 0..k {
        let p = (c..k).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))?;
        if m[p][c].abs() <= scale * 1e-12 {
            return None;
        }
        m.swap(c, p);
        inv.swap(c, p);
        let d = m[c][c];
        for j in 0..k {
            m[c][j] /= d;
            inv[c][j] /= d;
        }
        for r in 0..k {
            if r != c {
                let f = m[r][c];
                for j in 0..k {
                    m[r][j] -= f * m[c][j];
                    inv[r][j] -= f * inv[c][j];
                }
            }
        }
    }
    Some(inv)
}

fn too_few(
    what: &'static str,
    n: usize,
    need: usize,
    from: Option<Date>,
    to: Option<Date>,
) -> CalibrationError {
    let s = |d: Option<Date>| d.map_or("the start".to_string(), |d| d.to_string());
    CalibrationError::TooFew {
        what,
        n,
        need,
        from: s(from),
        to: to.map_or("the end".to_string(), |d| d.to_string()),
    }
}

/// Price drift and volatility from consecutive daily closes in `prices` (sorted).
pub fn price_estimates(prices: &[PricePoint]) -> Result<[Estimate; 2], CalibrationError> {
    let r: Vec<f64> = prices
        .windows(2)
        .filter(|w| w[1].date.days_since(w[0].date) == 1)
        .map(|w| (w[1].close_usd / w[0].close_usd).ln())
        .collect();
    let (from, to) = (
        prices.first().map(|p| p.date),
        prices.last().map(|p| p.date),
    );
    if r.len() < 30 {
        return Err(too_few("price", r.len(), 30, from, to));
    }
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let sd = var.sqrt();
    let vol = sd * YEAR.sqrt();
    let drift = mean * YEAR + vol * vol / 2.0;
    let (from, to) = (
        from.unwrap_or(Date::from_days(0)),
        to.unwrap_or(Date::from_days(0)),
    );
    Ok([
        Estimate {
            key: "price.drift",
            value: drift,
            se: sd * YEAR / n.sqrt(),
            n: r.len(),
            from,
            to,
            unit: "per year",
        },
        Estimate {
            key: "price.vol",
            value: vol,
            se: vol / (2.0 * (n - 1.0)).sqrt(),
            n: r.len(),
            from,
            to,
            unit: "per √year",
        },
    ])
}

/// Fees per block of each fee day: own block count when present, else the height table's, else 144.
pub fn fee_per_block_series(fees: &[FeeDay], heights: &[HeightPoint]) -> Vec<(Date, f64)> {
    fees.iter()
        .filter_map(|f| {
            let b = f
                .blocks
                .map(f64::from)
                .or_else(|| crate::hashprice::utc_blocks_on(heights, f.date))
                .unwrap_or(144.0);
            (b > 0.0 && f.fees_btc > 0.0).then(|| (f.date, f.fees_btc / b))
        })
        .collect()
}

/// Fee process: `fees.speed`, the long-run level `exp(θ)` BTC/block, and `fees.vol`.
pub fn fee_estimates(
    fees: &[FeeDay],
    heights: &[HeightPoint],
) -> Result<[Estimate; 3], CalibrationError> {
    let pts = fee_per_block_series(fees, heights);
    let mut y = Vec::new();
    let mut x = Vec::new();
    for w in pts.windows(2) {
        let delta = w[1].0.days_since(w[0].0);
        if !(1..=4).contains(&delta) {
            continue;
        }
        let sd = f64::from(delta).sqrt();
        let x0 = w[0].1.ln();
        y.push((w[1].1.ln() - x0) / sd);
        x.push(vec![sd, x0 * sd]);
    }
    let (from, to) = (pts.first().map(|p| p.0), pts.last().map(|p| p.0));
    if y.len() < 30 {
        return Err(too_few("fees", y.len(), 30, from, to));
    }
    let fit = ols(&y, &x).ok_or(CalibrationError::Singular("fees"))?;
    let (a, b) = (fit.beta[0], fit.beta[1]);
    let dt = 1.0 / YEAR;
    let kappa = -b / dt;
    let theta = -a / b;
    // Delta method for θ = −a/b: ∂θ/∂a = −1/b, ∂θ/∂b = a/b².
    let (ga, gb) = (-1.0 / b, a / (b * b));
    let var_theta =
        ga * ga * fit.cov[0][0] + gb * gb * fit.cov[1][1] + 2.0 * ga * gb * fit.cov[0][1];
    let level = theta.exp();
    let vol = fit.s / dt.sqrt();
    let (from, to) = (
        from.unwrap_or(Date::from_days(0)),
        to.unwrap_or(Date::from_days(0)),
    );
    Ok([
        Estimate {
            key: "fees.speed",
            value: kappa,
            se: fit.se(1) / dt,
            n: fit.n,
            from,
            to,
            unit: "per year",
        },
        Estimate {
            key: "fees.level_btc_per_block",
            value: level,
            se: level * var_theta.max(0.0).sqrt(),
            n: fit.n,
            from,
            to,
            unit: "BTC/block (long-run)",
        },
        Estimate {
            key: "fees.vol",
            value: vol,
            se: vol / (2.0 * (fit.n as f64 - 2.0)).sqrt(),
            n: fit.n,
            from,
            to,
            unit: "per √year",
        },
    ])
}

/// The model's marginal-miner assumptions used to compute the break-even hashrate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MarginalMiner {
    /// `hashrate.marginal_efficiency_jth` at the calibration date, J/TH.
    pub efficiency_jth: f64,
    /// `hashrate.efficiency_decline` per year.
    pub efficiency_decline: f64,
    /// `hashrate.efficiency_floor_jth`.
    pub efficiency_floor_jth: f64,
    /// `hashrate.marginal_power_usd_mwh`.
    pub power_usd_mwh: f64,
}

impl MarginalMiner {
    /// Efficiency `days` after the calibration date (negative = in the past), as MODEL.md §3's η.
    pub fn efficiency_at(&self, days: f64) -> f64 {
        self.efficiency_floor_jth
            .max(self.efficiency_jth * (1.0 - self.efficiency_decline).powf(days / YEAR))
    }
}

/// One epoch as used by the hashrate regression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochObs {
    /// Epoch number.
    pub epoch: u32,
    /// Start (fractional Unix days, from the height table).
    pub start_day: f64,
    /// Duration in days.
    pub days: f64,
    /// Mean hashrate over the epoch, TH/s.
    pub hashrate_ths: f64,
    /// `X = 144·R·S/(η·24·p/1e6)`, TH/s (break-even hashrate with power_share = 1).
    pub breakeven_unit_ths: f64,
}

/// Fractional Unix day at which the height table reaches `h` (linear within a day).
fn day_of_height(heights: &[HeightPoint], h: u32) -> Option<f64> {
    let j = heights.partition_point(|p| p.height < h);
    if j == 0 || j >= heights.len() {
        return None;
    }
    let (a, b) = (&heights[j - 1], &heights[j]);
    let frac = f64::from(h - a.height) / f64::from((b.height - a.height).max(1));
    // Heights are at 00:00 America/Los_Angeles ≈ 08:00 UTC; a third of a day matters little over 14.
    Some(f64::from(a.date.days()) + frac * f64::from(b.date.days_since(a.date)) + 8.0 / 24.0)
}

/// Builds the per-epoch observations (hashrate and unit break-even hashrate) over `[from, to]`.
// The four series, the miner model, the as-of date and the window are all independent inputs.
#[allow(clippy::too_many_arguments)]
pub fn epoch_observations(
    prices: &[PricePoint],
    heights: &[HeightPoint],
    epochs: &[Epoch],
    fees: &[FeeDay],
    miner: &MarginalMiner,
    asof: Date,
    from: Option<Date>,
    to: Option<Date>,
) -> Vec<EpochObs> {
    let fee_pts = fee_per_block_series(fees, heights);
    let fee_at = |day: f64| -> f64 {
        // Mean fee per block of fee days within the epoch window, else nearest neighbours' mean.
        let i = fee_pts.partition_point(|p| f64::from(p.0.days()) < day);
        let lo = fee_pts.get(i.saturating_sub(1)).map(|p| p.1);
        let hi = fee_pts.get(i).map(|p| p.1);
        match (lo, hi) {
            (Some(a), Some(b)) => (a + b) / 2.0,
            (Some(a), None) | (None, Some(a)) => a,
            _ => 0.0,
        }
    };
    let mut out = Vec::new();
    for w in epochs.windows(2) {
        let (e, next) = (&w[0], &w[1]);
        if next.start_height != e.start_height + 2016 {
            continue;
        }
        let (Some(t0), Some(t1)) = (
            day_of_height(heights, e.start_height),
            day_of_height(heights, next.start_height),
        ) else {
            continue;
        };
        let d0 = Date::from_days(t0.floor() as i32);
        let d1 = Date::from_days(t1.floor() as i32);
        if from.is_some_and(|f| d0 < f) || to.is_some_and(|t| d1 > t) || t1 <= t0 {
            continue;
        }
        let days = t1 - t0;
        let hashrate_ths = e.difficulty * 4_294_967_296.0 * 2016.0 / (days * 86_400.0) / 1e12;
        let ps: Vec<f64> = prices
            .iter()
            .filter(|p| p.date >= d0 && p.date <= d1)
            .map(|p| p.close_usd)
            .collect();
        if ps.is_empty() {
            continue;
        }
        let s = ps.iter().sum::<f64>() / ps.len() as f64;
        let mid = (t0 + t1) / 2.0;
        let r = mean_subsidy_btc(f64::from(e.start_height), 2016.0) + fee_at(mid);
        let eta = miner.efficiency_at(mid - f64::from(asof.days()));
        let x = 144.0 * r * s / (eta * 24.0 * miner.power_usd_mwh / 1e6);
        out.push(EpochObs {
            epoch: e.epoch,
            start_day: t0,
            days,
            hashrate_ths,
            breakeven_unit_ths: x,
        });
    }
    out
}

/// Hashrate response: `hashrate.power_share`, `speed_up`, `speed_down`, `vol` from epoch observations.
pub fn hashrate_estimates(obs: &[EpochObs]) -> Result<[Estimate; 4], CalibrationError> {
    let from = obs
        .first()
        .map(|o| Date::from_days(o.start_day.floor() as i32));
    let to = obs
        .last()
        .map(|o| Date::from_days((o.start_day + o.days).floor() as i32));
    if obs.len() < 12 {
        return Err(too_few(
            "hashrate",
            obs.len().saturating_sub(1),
            11,
            from,
            to,
        ));
    }
    // Step from epoch i to i+1, over the time between their midpoints.
    let steps: Vec<(f64, f64, f64)> = obs
        .windows(2)
        .map(|w| {
            let dt =
                ((w[1].start_day + w[1].days / 2.0) - (w[0].start_day + w[0].days / 2.0)) / YEAR;
            let dlh = w[1].hashrate_ths.ln() - w[0].hashrate_ths.ln();
            let gap_unit = w[0].breakeven_unit_ths.ln() - w[0].hashrate_ths.ln();
            (dt, dlh, gap_unit)
        })
        .collect();
    let y: Vec<f64> = steps.iter().map(|(dt, dlh, _)| dlh / dt.sqrt()).collect();
    let split_at = |ln_ps: f64| -> Option<Ols> {
        let x: Vec<Vec<f64>> = steps
            .iter()
            .map(|(dt, _, g)| {
                let gap = g + ln_ps;
                vec![gap.max(0.0) * dt.sqrt(), gap.min(0.0) * dt.sqrt()]
            })
            .collect();
        ols(&y, &x)
    };
    // Profile least squares over ln(power_share): the kink of the split regression (and, when the
    // speeds are equal, its implied intercept κ·ln ps) locates the break-even level.
    let rss = |f: &Ols| f.s * f.s * (f.n as f64 - 2.0);
    let (lo, hi) = (0.01f64.ln(), 10f64.ln());
    let grid = 400;
    let mut best: Option<(f64, f64)> = None;
    for i in 0..=grid {
        let lp = lo + (hi - lo) * f64::from(i) / f64::from(grid);
        if let Some(f) = split_at(lp) {
            let r = rss(&f);
            if best.is_none_or(|(_, b)| r < b) {
                best = Some((lp, r));
            }
        }
    }
    let (mut lp, _) = best.ok_or(CalibrationError::Singular(
        "hashrate (one sign of the gap never occurs)",
    ))?;
    // Refine by golden-section search on the bracketing grid cells.
    let step = (hi - lo) / f64::from(grid);
    let (mut a, mut b) = ((lp - step).max(lo), (lp + step).min(hi));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let f = |x: f64| split_at(x).map_or(f64::INFINITY, |o| rss(&o));
    for _ in 0..60 {
        let (c, d) = (b - g * (b - a), a + g * (b - a));
        if f(c) < f(d) {
            b = d;
        } else {
            a = c;
        }
    }
    lp = (a + b) / 2.0;
    let split = split_at(lp).ok_or(CalibrationError::Singular("hashrate"))?;
    // SE of ln ps from the likelihood-ratio interval of the concentrated log-likelihood
    // ℓ = −n/2·ln(RSS/n): the set where ℓ ≥ ℓmax − 1.92 is a 95% interval, so SE ≈ width / 3.92.
    // (The RSS has a kink wherever an observation's gap changes sign, so a local second
    // derivative would be unreliable.)
    let n_f = split.n as f64;
    let ll = |x: f64| -n_f / 2.0 * (f(x) / n_f).ln();
    let ll_max = ll(lp);
    let edge = |dir: f64| -> f64 {
        let mut x = lp;
        let fine = (hi - lo) / 4000.0;
        while (lo..=hi).contains(&(x + dir * fine)) && ll(x + dir * fine) >= ll_max - 1.92 {
            x += dir * fine;
        }
        x
    };
    let (l95, h95) = (edge(-1.0), edge(1.0));
    let se_lp = if l95 <= lo + 1e-9 || h95 >= hi - 1e-9 {
        f64::INFINITY // the interval reaches the search bounds: not identified in this sample
    } else {
        ((h95 - l95) / 3.92).max(1e-12)
    };
    let ps = lp.exp();
    let var_ln_ps = se_lp * se_lp;
    let n = steps.len();
    let (from, to) = (
        from.unwrap_or(Date::from_days(0)),
        to.unwrap_or(Date::from_days(0)),
    );
    let est = |key, value, se, unit| Estimate {
        key,
        value,
        se,
        n,
        from,
        to,
        unit,
    };
    Ok([
        est("hashrate.speed_up", split.beta[0], split.se(0), "per year"),
        est(
            "hashrate.speed_down",
            split.beta[1],
            split.se(1),
            "per year",
        ),
        est(
            "hashrate.vol",
            split.s,
            split.s / (2.0 * (n as f64 - 2.0)).sqrt(),
            "per √year",
        ),
        est(
            "hashrate.power_share",
            ps,
            ps * var_ln_ps.max(0.0).sqrt(),
            "of revenue spent on power",
        ),
    ])
}

/// Realised daily hashprice over the sample, for context in the calibration report.
pub fn mean_hashvalue(r_btc: f64, difficulty: f64) -> f64 {
    hashvalue_btc_per_ph_day(BtcPerBlock(r_btc), Difficulty(difficulty))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic normal stream (Box–Muller on a 64-bit LCG) so the tests need no RNG crate.
    struct Normals(u64);
    impl Normals {
        fn uniform(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        fn next(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    #[test]
    fn ols_matches_a_hand_solution() {
        // y = 1 + 2x exactly, plus one perturbed point: textbook closed form for simple regression.
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0];
        let ys = [1.0, 3.0, 5.0, 7.5, 9.0];
        let x: Vec<Vec<f64>> = xs.iter().map(|v| vec![1.0, *v]).collect();
        let f = ols(&ys, &x).unwrap();
        let xm = 2.0;
        let ym = ys.iter().sum::<f64>() / 5.0;
        let sxx: f64 = xs.iter().map(|v| (v - xm) * (v - xm)).sum();
        let sxy: f64 = xs.iter().zip(&ys).map(|(a, b)| (a - xm) * (b - ym)).sum();
        let slope = sxy / sxx;
        assert!((f.beta[1] - slope).abs() < 1e-12);
        assert!((f.beta[0] - (ym - slope * xm)).abs() < 1e-12);
        let rss: f64 = xs
            .iter()
            .zip(&ys)
            .map(|(a, b)| (b - f.beta[0] - f.beta[1] * a).powi(2))
            .sum();
        let s2 = rss / 3.0;
        assert!((f.se(1) - (s2 / sxx).sqrt()).abs() < 1e-12);
        assert!(ols(&[1.0, 2.0], &[vec![1.0, 1.0], vec![1.0, 1.0]]).is_none());
    }

    #[test]
    fn recovers_gbm_parameters() {
        let (mu, sigma) = (0.3, 0.6);
        let mut z = Normals(7);
        let mut s = 30_000.0;
        let mut prices = Vec::new();
        for i in 0..20_000 {
            prices.push(PricePoint {
                date: Date::from_days(i),
                close_usd: s,
            });
            let dt: f64 = 1.0 / 365.0;
            s *= ((mu - sigma * sigma / 2.0) * dt + sigma * dt.sqrt() * z.next()).exp();
        }
        let [drift, vol] = price_estimates(&prices).unwrap();
        assert!((vol.value - sigma).abs() < 3.0 * vol.se, "{vol:?}");
        assert!((drift.value - mu).abs() < 3.0 * drift.se, "{drift:?}");
        assert!(drift.se > 0.05 && drift.se < 0.15);
    }

    #[test]
    fn recovers_ou_fee_parameters_with_gaps() {
        let (kappa, theta, sigma) = (6.0, (0.05f64).ln(), 1.2);
        let mut z = Normals(11);
        let dt = 1.0 / 365.0;
        let mut x = theta;
        let mut fees = Vec::new();
        for i in 0..6000 {
            // Daily for the first half, then only every 4th day (as the shipped data).
            if i < 3000 || i % 4 == 0 {
                fees.push(FeeDay {
                    date: Date::from_days(i),
                    fees_btc: 144.0 * x.exp(),
                    blocks: Some(144),
                    source: String::new(),
                });
            }
            x += kappa * (theta - x) * dt + sigma * dt.sqrt() * z.next();
        }
        let [speed, level, vol] = fee_estimates(&fees, &[]).unwrap();
        assert!((speed.value - kappa).abs() < 3.5 * speed.se, "{speed:?}");
        assert!((level.value - 0.05).abs() < 3.5 * level.se, "{level:?}");
        assert!((vol.value - sigma).abs() < 0.1 * sigma, "{vol:?}");
    }

    #[test]
    fn recovers_split_hashrate_speeds_and_power_share() {
        // Simulate epochs: ln H steps towards ln(ps·X) at speed up/down, X trending with noise.
        let (up, down, ps, vol): (f64, f64, f64, f64) = (1.5, 5.0, 0.6, 0.2);
        let mut z = Normals(3);
        let mut lh = (0.3f64 * 1e8).ln();
        let mut lx = 1e8f64.ln();
        let mut obs = Vec::new();
        let mut t = 0.0;
        for e in 0..2000 {
            let days = 14.0;
            obs.push(EpochObs {
                epoch: e,
                start_day: t,
                days,
                hashrate_ths: lh.exp(),
                breakeven_unit_ths: lx.exp(),
            });
            let dt = days / 365.0;
            let gap = ps.ln() + lx - lh;
            let k = if gap > 0.0 { up } else { down };
            lh += k * gap * dt + vol * dt.sqrt() * z.next();
            lx += 0.4 * dt + 0.5 * dt.sqrt() * z.next();
            t += days;
        }
        let [su, sd, v, p] = hashrate_estimates(&obs).unwrap();
        assert!((su.value - up).abs() < 4.0 * su.se, "{su:?}");
        assert!((sd.value - down).abs() < 4.0 * sd.se, "{sd:?}");
        assert!((p.value - ps).abs() < 0.15, "{p:?}");
        assert!((v.value - vol).abs() < 0.05, "{v:?}");
    }

    #[test]
    fn too_few_names_the_window() {
        let p = [PricePoint {
            date: Date::from_days(0),
            close_usd: 1.0,
        }];
        let e = price_estimates(&p).unwrap_err().to_string();
        assert!(e.contains("price") && e.contains("need at least 30"), "{e}");
    }

    #[test]
    fn shipped_history_gives_sane_estimates() {
        use crate::shipped;
        let from: Date = "2021-01-01".parse().unwrap();
        let asof: Date = "2026-08-22".parse().unwrap();
        let prices: Vec<_> = shipped::prices()
            .iter()
            .filter(|p| p.date >= from)
            .copied()
            .collect();
        let [_, vol] = price_estimates(&prices).unwrap();
        assert!(vol.value > 0.3 && vol.value < 0.8, "{vol:?}");
        let fees: Vec<_> = shipped::fees()
            .iter()
            .filter(|f| f.date >= from)
            .cloned()
            .collect();
        let [speed, level, fvol] = fee_estimates(&fees, shipped::heights()).unwrap();
        assert!(
            speed.value > 0.0 && level.value > 0.005 && level.value < 1.0 && fvol.value > 0.1,
            "{speed:?} {level:?} {fvol:?}"
        );
        let miner = MarginalMiner {
            efficiency_jth: 18.0,
            efficiency_decline: 0.08,
            efficiency_floor_jth: 5.0,
            power_usd_mwh: 45.0,
        };
        let obs = epoch_observations(
            &prices,
            shipped::heights(),
            shipped::epochs(),
            &fees,
            &miner,
            asof,
            Some(from),
            None,
        );
        assert!(obs.len() > 100);
        // Implied hashrate of epoch 416 (around the 2024 halving) was ≈ 600 EH/s.
        let e416 = obs.iter().find(|o| o.epoch == 416).unwrap();
        assert!(
            (e416.hashrate_ths / 1e6 - 620.0).abs() < 80.0,
            "{}",
            e416.hashrate_ths / 1e6
        );
        let [su, sd, _, ps] = hashrate_estimates(&obs).unwrap();
        assert!(su.value.is_finite() && sd.value.is_finite());
        assert!(ps.value > 0.05 && ps.value < 3.0, "{ps:?}");
    }
}
