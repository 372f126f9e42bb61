//! The Monte Carlo run: strategies `mine`, `convert`, `schedule`, `sweep` priced on common paths
//! (MODEL.md sections 4–6), streamed statistics, per-year bands.
//!
//! Design: a strategy's fleet timeline is deterministic (conversion days and shares are fixed, so
//! are the refresh days and the frontier efficiency), so it is computed once (`Plan`); each path
//! then only prices it: one margin per machine type per day (shared by all strategies), a dot product
//! per strategy, and the AI value as a linear function of the lease rate on its signing days.
//! Paths run in blocks of [`BLOCK`] with keyed streams and write into their own slice of the output,
//! so results are bit-identical for any thread count; memory is O(paths).

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{DayConsumer, LaneDay, Prepared, BLOCK};
use crate::scenario::{Scenario, StrategyKind};
use crate::site::{ai_project, fleet_eras, initial_units, AiLinear, FleetEra, Layout};
use crate::ModelError;

/// How to run a scenario: overrides of the scenario's `[run]` and `[strategy]`, and engine options
/// that do not change the model's meaning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunConfig {
    /// Paths (default: `run.paths`).
    pub paths: Option<u64>,
    /// Seed (default: `run.seed`).
    pub seed: Option<u64>,
    /// Strategy (default: `strategy.kind`).
    pub strategy: Option<StrategyKind>,
    /// Share for `convert` (default: `strategy.share`).
    pub share: Option<f64>,
    /// Worker threads (default: rayon's global pool). Results do not depend on it.
    pub threads: Option<usize>,
    /// Antithetic variates: path `2k+1` of each block uses the negated shocks of path `2k`.
    pub antithetic: bool,
}

/// Mean, standard error and percentiles of a strategy's NPV over paths, USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NpvStats {
    /// Mean over paths.
    pub mean: f64,
    /// Standard error of the mean (over antithetic pair averages when antithetic).
    pub stderr: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// One strategy's result (MODEL.md section 6). All money in USD, present value at day 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyResult {
    /// `mine`, `convert`, `schedule`, `sweep` or `optimal`.
    pub strategy: String,
    /// Share converted (for `convert` and each `sweep` entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// NPV distribution (mining + AI).
    pub npv: NpvStats,
    /// Mean NPV of the mining stream (incl. salvage, refresh and its terminal value).
    pub mining_npv_mean: f64,
    /// Mean NPV of the AI stream (rent × NOI − capex, and its terminal value).
    pub ai_npv_mean: f64,
    /// Fraction of paths with NPV < 0.
    pub prob_negative: f64,
    /// Fraction of paths with NPV below the `mine` NPV of the same path (0 for `mine`).
    pub prob_below_mine: f64,
    /// Mean of the worst 5% of NPVs (`ceil(0.05 * paths)` paths).
    pub cvar5: f64,
    /// Histogram of the per-path NPVs, on bins shared by every strategy of the run (so the
    /// distributions can be drawn side by side). Absent where the per-path NPVs are not at hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npv_histogram: Option<Histogram>,
    /// Fields only some strategies have (the `optimal` strategy's out-of-sample value, policy and
    /// boundary), serialized inline with the others; `None` for the rest.
    #[serde(flatten)]
    pub extra: Option<serde_json::Value>,
}

/// Counts of per-path NPVs in equal-width bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// `bins + 1` increasing bin edges, USD. The bins span the 0.5th to 99.5th percentile of all
    /// strategies' NPVs pooled; a bin holds values `>= edges[i]` and `< edges[i+1]` (the last bin
    /// also holds its upper edge).
    pub edges: Vec<f64>,
    /// Paths per bin.
    pub counts: Vec<u64>,
    /// Paths below the first edge.
    pub below: u64,
    /// Paths above the last edge.
    pub above: u64,
}

/// Number of bins of [`Histogram`]s.
pub const HISTOGRAM_BINS: usize = 40;

/// Histograms of several NPV samples on common bins: from the lowest 0.5th percentile to the highest
/// 99.5th percentile among the samples, [`HISTOGRAM_BINS`] equal bins. When every value is the same
/// (a zero-volatility run) there is one bin around it.
pub fn histograms(samples: &[&[f64]]) -> Vec<Histogram> {
    let pct = |xs: &[f64], p: f64| -> f64 {
        let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return f64::NAN;
        }
        let k = ((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1);
        let (_, x, _) = v.select_nth_unstable_by(k, f64::total_cmp);
        *x
    };
    let lo = samples
        .iter()
        .map(|s| pct(s, 0.005))
        .filter(|x| x.is_finite())
        .fold(f64::INFINITY, f64::min);
    let hi = samples
        .iter()
        .map(|s| pct(s, 0.995))
        .filter(|x| x.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let (edges, bins) = if hi > lo {
        let w = (hi - lo) / HISTOGRAM_BINS as f64;
        let mut e: Vec<f64> = (0..HISTOGRAM_BINS).map(|i| lo + w * i as f64).collect();
        e.push(hi);
        (e, HISTOGRAM_BINS)
    } else {
        let pad = (lo.abs() * 1e-9).max(1.0);
        (vec![lo - pad, hi + pad], 1)
    };
    let (first, last) = (edges[0], edges[bins]);
    let width = (last - first) / bins as f64;
    samples
        .iter()
        .map(|s| {
            let mut h = Histogram {
                counts: vec![0; bins],
                edges: edges.clone(),
                below: 0,
                above: 0,
            };
            for &x in s.iter() {
                if x < first {
                    h.below += 1;
                } else if x > last {
                    h.above += 1;
                } else {
                    let i = (((x - first) / width) as usize).min(bins - 1);
                    h.counts[i] += 1;
                }
            }
            h
        })
        .collect()
}

/// Per-year percentiles of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// 5th percentile per year.
    pub p5: Vec<f64>,
    /// Median per year.
    pub p50: Vec<f64>,
    /// 95th percentile per year.
    pub p95: Vec<f64>,
}

/// Site cash band of one strategy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteCashBand {
    /// Strategy name.
    pub strategy: String,
    /// Share (convert/sweep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Undiscounted site cash (mining + AI) per year, USD.
    #[serde(flatten)]
    pub band: Band,
}

/// Per-year percentile bands over paths, for charts. Market series are the values on the last day
/// of each year (day `min(365 (y+1), N) - 1`); site cash is the undiscounted net cash of the year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bands {
    /// Year numbers `1 ..= years` (the last may be partial).
    pub years: Vec<u32>,
    /// BTC/USD.
    pub price_usd: Band,
    /// Hashprice, $ per PH/s per day.
    pub hashprice_usd_per_ph_day: Band,
    /// Difficulty.
    pub difficulty: Band,
    /// Network hashrate, EH/s.
    pub hashrate_ehs: Band,
    /// Site cash per strategy: every result when `paths × results ≤ 4,000,000`, else `mine` and
    /// the first other result (keeps memory O(paths)).
    pub site_cash_usd: Vec<SiteCashBand>,
}

/// What [`simulate`] returns; serializes to the `simulate --json` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimOutput {
    /// Paths simulated.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// `results[0]` is always `mine`.
    pub results: Vec<StrategyResult>,
    /// Per-year bands.
    pub bands: Bands,
}

/// A deterministic strategy: conversions `(day, share)` in the order they happen.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSpec {
    /// Strategy name.
    pub strategy: StrategyKind,
    /// Share reported with the result.
    pub share: Option<f64>,
    /// Conversions.
    pub conversions: Vec<(usize, f64)>,
}

/// A segment of a strategy's fleet timeline: from `day` on, these units (of the era in force).
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    day: usize,
    era: usize,
    units: Vec<f64>,
    /// Opex per day, $ (fixed: on all deployed machines, curtailed or not).
    opex_day: f64,
    /// Cash on the segment's first day not depending on the path (salvage of machines sold).
    cash_const: f64,
    /// TH/s bought on the first day (a refresh), priced at `hw_days_of_hashprice * hv * S`.
    buy_th: f64,
}

/// A strategy's precomputed timeline.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    spec: PlanSpec,
    segments: Vec<Segment>,
    ai: AiLinear,
}

/// The strategies a run evaluates (`mine` first).
pub fn plans_for(sc: &Scenario, cfg: &RunConfig) -> Result<Vec<PlanSpec>, ModelError> {
    let kind = cfg.strategy.unwrap_or(sc.strategy.kind);
    let mine = PlanSpec {
        strategy: StrategyKind::Mine,
        share: None,
        conversions: Vec::new(),
    };
    if let Some(s) = cfg.share {
        if !(0.0..=1.0).contains(&s) {
            return Err(bad("share", s, "0 <= share <= 1"));
        }
        if kind != StrategyKind::Convert {
            return Err(ModelError::BadOption {
                option: "share".into(),
                value: format!("{s}"),
                allowed: format!("only with strategy convert (the strategy is {kind})"),
            });
        }
    }
    let mut out = vec![mine];
    match kind {
        StrategyKind::Mine => {}
        StrategyKind::Convert => {
            let s = cfg.share.unwrap_or(sc.strategy.share);
            out.push(PlanSpec {
                strategy: kind,
                share: Some(s),
                conversions: vec![(0, s)],
            });
        }
        StrategyKind::Schedule => out.push(PlanSpec {
            strategy: kind,
            share: None,
            conversions: sc
                .strategy
                .schedule
                .iter()
                .map(|&(d, s)| (d as usize, s))
                .collect(),
        }),
        StrategyKind::Sweep => {
            if sc.strategy.shares.is_empty() {
                return Err(bad("strategy.shares", "[]", "at least one share"));
            }
            for &s in &sc.strategy.shares {
                out.push(PlanSpec {
                    strategy: kind,
                    share: Some(s),
                    conversions: vec![(0, s)],
                });
            }
        }
        // `optimal` runs in `crate::optimal` on the same paths; here only its `mine` baseline.
        StrategyKind::Optimal => {}
    }
    Ok(out)
}

fn bad(option: &str, value: impl std::fmt::Display, allowed: &str) -> ModelError {
    ModelError::BadOption {
        option: option.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

fn build_plan(
    sc: &Scenario,
    prep: &Prepared,
    eras: &[FleetEra],
    spec: &PlanSpec,
    years: usize,
) -> Plan {
    let n = prep.n;
    let m = &sc.mining;
    let opex_rate = m.opex_usd_per_mw_month * 12.0 / 365.0;
    let mut layout = Layout {
        capacity_mw: sc.site.power_mw,
        converted_mw: 0.0,
        units: initial_units(sc),
        overhead: m.overhead,
    };
    let mut era = 0usize;
    let mut segments = vec![Segment {
        day: 0,
        era: 0,
        opex_day: opex_rate * layout.fleet_mw(&eras[0].defs),
        units: layout.units.clone(),
        cash_const: 0.0,
        buy_th: 0.0,
    }];
    let mut ai = AiLinear {
        year_const: vec![0.0; years],
        ..Default::default()
    };
    let mut days: Vec<usize> = eras[1..].iter().map(|e| e.start_day).collect();
    days.extend(spec.conversions.iter().map(|c| c.0).filter(|&d| d < n));
    days.sort_unstable();
    days.dedup();
    for day in days {
        let mut cash = 0.0;
        let mut buy = 0.0;
        // A refresh due that day comes first (MODEL.md section 3), then the day's conversions.
        if era + 1 < eras.len() && eras[era + 1].start_day == day {
            let (sold, bought) = layout.refresh(&eras[era].defs, prep.eta[day]);
            era += 1;
            cash += m.salvage_usd_per_th * sold;
            buy = bought;
        }
        for &(_, share) in spec.conversions.iter().filter(|c| c.0 == day) {
            if share <= 0.0 {
                continue;
            }
            let mw = share * sc.site.power_mw;
            let removed = layout.remove_mw(&eras[era].defs, mw);
            let th: f64 = removed
                .iter()
                .zip(&eras[era].defs)
                .map(|(u, d)| u * d.ths)
                .sum();
            cash += m.salvage_usd_per_th * th;
            let p = ai_project(sc, day, mw * sc.ai.it_mw_per_gross_mw, &prep.w_ai, years);
            ai.npv_const += p.npv_const;
            for (a, b) in ai.year_const.iter_mut().zip(&p.year_const) {
                *a += b;
            }
            ai.npv_terms.extend(p.npv_terms);
            ai.year_terms.extend(p.year_terms);
        }
        segments.push(Segment {
            day,
            era,
            opex_day: opex_rate * layout.fleet_mw(&eras[era].defs),
            units: layout.units.clone(),
            cash_const: cash,
            buy_th: buy,
        });
    }
    Plan {
        spec: spec.clone(),
        segments,
        ai,
    }
}

/// Statistics of one block, merged in block order.
#[derive(Debug, Clone, Default)]
struct BlockSums {
    mining: Vec<f64>,
    ai: Vec<f64>,
}

/// Refuses to hand out a result that holds NaN or infinity (it would print as `null` in JSON and
/// silently mislead). Within the allowed ranges, extreme combinations (e.g. 1,000% fee volatility
/// with no mean reversion, or a very fast hashrate response to a huge price) can push the
/// difficulty or a discounted sum past the range of f64; the error names the first such figure.
pub fn check_finite(out: &SimOutput) -> Result<(), ModelError> {
    let bad = |what: String| Err(ModelError::NonFinite { what });
    for r in &out.results {
        let n = &r.npv;
        for (k, v) in [
            ("npv.mean", n.mean),
            ("npv.stderr", n.stderr),
            ("npv.p5", n.p5),
            ("npv.p50", n.p50),
            ("npv.p95", n.p95),
            ("mining_npv_mean", r.mining_npv_mean),
            ("ai_npv_mean", r.ai_npv_mean),
            ("prob_negative", r.prob_negative),
            ("prob_below_mine", r.prob_below_mine),
            ("cvar5", r.cvar5),
        ] {
            if !v.is_finite() {
                return bad(format!("results[{}].{k} = {v}", r.strategy));
            }
        }
    }
    let b = &out.bands;
    let mut bands: Vec<(String, &Band)> = vec![
        ("price_usd".into(), &b.price_usd),
        (
            "hashprice_usd_per_ph_day".into(),
            &b.hashprice_usd_per_ph_day,
        ),
        ("difficulty".into(), &b.difficulty),
        ("hashrate_ehs".into(), &b.hashrate_ehs),
    ];
    for c in &b.site_cash_usd {
        bands.push((format!("site_cash_usd[{}]", c.strategy), &c.band));
    }
    for (name, band) in bands {
        for (q, xs) in [("p5", &band.p5), ("p50", &band.p50), ("p95", &band.p95)] {
            if let Some((i, v)) = xs.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                let year = b.years.get(i).copied().unwrap_or(i as u32 + 1);
                return bad(format!("bands.{name}.{q} in year {year} = {v}"));
            }
        }
    }
    Ok(())
}

/// Runs the scenario: every strategy on the same paths (common random numbers). `progress` is
/// called with the fraction of paths done (0..=1) from worker threads.
///
/// Errors: an invalid scenario or option ([`ModelError::Scenario`], [`ModelError::BadOption`]),
/// or a failure of the `optimal` strategy's regression. With `optimal`, `results` is `[mine,
/// optimal]`, the latter from `crate::optimal::run` on the same paths (in-sample, plus its
/// out-of-sample estimate and policy in the extra fields).
pub fn simulate(
    sc: &Scenario,
    cfg: &RunConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<SimOutput, ModelError> {
    sc.validate()?;
    let paths = cfg.paths.unwrap_or(sc.run.paths);
    if paths == 0 || paths > crate::scenario::MAX_PATHS {
        return Err(bad(
            "paths",
            paths,
            &format!("1 <= paths <= {}", crate::scenario::MAX_PATHS),
        ));
    }
    if let Some(t) = cfg.threads {
        if t == 0 || t > 1024 {
            return Err(bad("threads", t, "1 <= threads <= 1024"));
        }
    }
    let seed = cfg.seed.unwrap_or(sc.run.seed);
    let specs = plans_for(sc, cfg)?;
    let optimal = cfg.strategy.unwrap_or(sc.strategy.kind) == StrategyKind::Optimal;
    let antithetic = cfg.antithetic;
    let run = || -> Result<SimOutput, ModelError> {
        // With `optimal`, the deterministic part is a fifth of the work.
        let head = if optimal { 0.2 } else { 1.0 };
        let mut out = run_plans(sc, &specs, paths, seed, antithetic, &|f| progress(head * f));
        if optimal {
            let ocfg = crate::optimal::OptimalConfig::new(paths, seed, antithetic);
            let o = crate::optimal::run(sc, &ocfg, &|f| progress(head + (1.0 - head) * f))?;
            let mut r = o.result;
            r.extra = serde_json::to_value(&o.extra).ok();
            out.results.push(r);
        }
        check_finite(&out)?;
        Ok(out)
    };
    match cfg.threads {
        Some(t) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| ModelError::Internal(format!("thread pool: {e}")))?;
            pool.install(run)
        }
        None => run(),
    }
}

const MARKET_SERIES: usize = 4;

/// Per-path results of a run of deterministic strategies, before statistics.
pub(crate) struct Raw {
    pub years: usize,
    pub npv: Vec<f64>,
    pub band_market: Vec<f32>,
    pub band_cash: Vec<f32>,
    pub banded: usize,
    pub mining_sum: Vec<f64>,
    pub ai_sum: Vec<f64>,
}

fn run_plans(
    sc: &Scenario,
    specs: &[PlanSpec],
    paths: u64,
    seed: u64,
    antithetic: bool,
    progress: &(dyn Fn(f64) + Sync),
) -> SimOutput {
    let raw = simulate_raw(sc, specs, paths, seed, antithetic, progress);
    let paths_us = paths as usize;
    let np = specs.len();
    let mut results = Vec::with_capacity(np);
    let col = |k: usize| -> Vec<f64> { (0..paths_us).map(|i| raw.npv[i * np + k]).collect() };
    let mine = col(0);
    for (k, spec) in specs.iter().enumerate() {
        let v = if k == 0 { mine.clone() } else { col(k) };
        results.push(summarize(
            spec.strategy.as_str(),
            spec.share,
            &v,
            raw.mining_sum[k] / paths as f64,
            raw.ai_sum[k] / paths as f64,
            if k == 0 { None } else { Some(&mine) },
            antithetic,
        ));
    }
    // Histograms on bins shared by all strategies of the run.
    {
        let cols: Vec<Vec<f64>> = (1..np).map(col).collect();
        let mut refs: Vec<&[f64]> = vec![&mine];
        refs.extend(cols.iter().map(Vec::as_slice));
        for (r, h) in results.iter_mut().zip(histograms(&refs)) {
            r.npv_histogram = Some(h);
        }
    }
    let years = raw.years;
    // The years of a series in parallel: this part runs after the paths, so on its own it would
    // be serial time in every run.
    let band_of = |data: &[f32], stride: usize, offset: usize| -> Band {
        let qs: Vec<Vec<f64>> = (0..years)
            .into_par_iter()
            .map(|y| {
                let mut col: Vec<f32> = (0..paths_us)
                    .map(|i| data[i * stride + y * (stride / years) + offset])
                    .collect();
                quantiles_f32(&mut col, &[0.05, 0.5, 0.95])
            })
            .collect();
        Band {
            p5: qs.iter().map(|q| q[0]).collect(),
            p50: qs.iter().map(|q| q[1]).collect(),
            p95: qs.iter().map(|q| q[2]).collect(),
        }
    };
    let ms = years * MARKET_SERIES;
    let price_usd = band_of(&raw.band_market, ms, 0);
    let hashprice = band_of(&raw.band_market, ms, 1);
    let difficulty = band_of(&raw.band_market, ms, 2);
    let hashrate = band_of(&raw.band_market, ms, 3);
    let mut site_cash = Vec::new();
    for k in 0..raw.banded {
        let band = band_of(&raw.band_cash, years * raw.banded, k);
        site_cash.push(SiteCashBand {
            strategy: specs[k].strategy.as_str().to_string(),
            share: specs[k].share,
            band,
        });
    }
    SimOutput {
        paths,
        seed,
        results,
        bands: Bands {
            years: (1..=years as u32).collect(),
            price_usd,
            hashprice_usd_per_ph_day: hashprice,
            difficulty,
            hashrate_ehs: hashrate,
            site_cash_usd: site_cash,
        },
    }
}

/// Statistics of a strategy from its per-path NPVs (in path order). Use this for any strategy
/// (e.g. `optimal`) so that every result is computed the same way. `mine` is the `mine` NPV on the
/// same paths (`None` for `mine` itself: `prob_below_mine = 0`).
pub fn summarize(
    strategy: &str,
    share: Option<f64>,
    npv: &[f64],
    mining_npv_mean: f64,
    ai_npv_mean: f64,
    mine: Option<&[f64]>,
    antithetic: bool,
) -> StrategyResult {
    let n = npv.len().max(1);
    let mean = npv.iter().sum::<f64>() / n as f64;
    // Standard error over independent units: antithetic pairs (averaged) or single paths.
    let stderr = {
        let units: Vec<f64> = if antithetic {
            npv.chunks(2)
                .map(|c| c.iter().sum::<f64>() / c.len() as f64)
                .collect()
        } else {
            npv.to_vec()
        };
        let m = units.len();
        if m < 2 {
            0.0
        } else {
            let mu = units.iter().sum::<f64>() / m as f64;
            let var = units.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / (m - 1) as f64;
            (var / m as f64).sqrt()
        }
    };
    let mut sorted = npv.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| quantile_sorted(&sorted, p);
    let k = ((0.05 * n as f64).ceil() as usize).clamp(1, n);
    let cvar5 = sorted.iter().take(k).sum::<f64>() / k as f64;
    let prob_negative = npv.iter().filter(|&&x| x < 0.0).count() as f64 / n as f64;
    let prob_below_mine = match mine {
        Some(m) => npv.iter().zip(m).filter(|(a, b)| a < b).count() as f64 / n as f64,
        None => 0.0,
    };
    StrategyResult {
        strategy: strategy.to_string(),
        share,
        npv: NpvStats {
            mean,
            stderr,
            p5: q(0.05),
            p50: q(0.5),
            p95: q(0.95),
        },
        mining_npv_mean,
        ai_npv_mean,
        prob_negative,
        prob_below_mine,
        cvar5,
        npv_histogram: None,
        extra: None,
    }
}

/// Quantile with linear interpolation between order statistics (Hyndman–Fan type 7, numpy's
/// default) of sorted data.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Type-7 quantiles of `v` (reordered in place), by selection rather than a full sort: the
/// order statistics, hence the results, are exactly those of the sorted data, in O(n) per
/// quantile.
fn quantiles_f32(v: &mut [f32], ps: &[f64]) -> Vec<f64> {
    ps.iter()
        .map(|&p| {
            let h = (v.len() - 1) as f64 * p;
            let lo = h.floor() as usize;
            let (_, &mut a, rest) = v.select_nth_unstable_by(lo, f32::total_cmp);
            // The next order statistic is the least of the elements after it.
            let b = rest.iter().copied().min_by(f32::total_cmp).unwrap_or(a);
            a as f64 + (h - lo as f64) * (b as f64 - a as f64)
        })
        .collect()
}

/// Simulates all paths of the deterministic strategies `specs` and returns per-path NPVs
/// (`npv[path * specs + k]`), band data and per-strategy sums.
pub(crate) fn simulate_raw(
    sc: &Scenario,
    specs: &[PlanSpec],
    paths: u64,
    seed: u64,
    antithetic: bool,
    progress: &(dyn Fn(f64) + Sync),
) -> Raw {
    let prep = Prepared::new(sc);
    let n = prep.n;
    let years = n.div_ceil(365).max(1);
    let eras = fleet_eras(sc, &prep.eta);
    let plans: Vec<Plan> = specs
        .iter()
        .map(|s| build_plan(sc, &prep, &eras, s, years))
        .collect();
    let np = plans.len();
    let banded = if (paths as u128) * (np as u128) <= 4_000_000 {
        np
    } else {
        np.min(2)
    };
    let paths_us = paths as usize;
    let mut npv = vec![0f64; paths_us * np];
    let mut band_market = vec![0f32; paths_us * years * MARKET_SERIES];
    let mut band_cash = vec![0f32; paths_us * years * banded];
    let nblocks = paths_us.div_ceil(BLOCK);
    let done = AtomicUsize::new(0);
    let ctx = Ctx {
        prep: &prep,
        eras: &eras,
        plans: &plans,
        years,
        banded,
        seed,
        antithetic,
    };
    let sums: Vec<BlockSums> = npv
        .par_chunks_mut(BLOCK * np)
        .zip(band_market.par_chunks_mut(BLOCK * years * MARKET_SERIES))
        .zip(band_cash.par_chunks_mut((BLOCK * years * banded).max(1)))
        .enumerate()
        .map(|(b, ((npv, bm), bc))| {
            // Also reported before the block: the caller may stop the run here (crate::cancel).
            progress(done.load(Ordering::Relaxed) as f64 / nblocks as f64);
            let s = ctx.block(b as u64, npv, bm, bc);
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(d as f64 / nblocks as f64);
            s
        })
        .collect();
    // Merge in block order (deterministic whatever the thread count).
    let mut mining_sum = vec![0.0; np];
    let mut ai_sum = vec![0.0; np];
    for s in &sums {
        for k in 0..np {
            mining_sum[k] += s.mining[k];
            ai_sum[k] += s.ai[k];
        }
    }
    Raw {
        years,
        npv,
        band_market,
        band_cash,
        banded,
        mining_sum,
        ai_sum,
    }
}

struct Ctx<'a> {
    prep: &'a Prepared,
    eras: &'a [FleetEra],
    plans: &'a [Plan],
    years: usize,
    banded: usize,
    seed: u64,
    antithetic: bool,
}

impl Ctx<'_> {
    /// Simulates block `b` (its paths are `npv_out.len() / plans` lanes) and writes each path's
    /// NPVs and band values into the block's own slices of the outputs.
    fn block(&self, b: u64, npv_out: &mut [f64], bm: &mut [f32], bc: &mut [f32]) -> BlockSums {
        self.block_impl(b, npv_out, bm, bc)
    }

    #[inline(always)]
    fn block_impl(&self, b: u64, npv_out: &mut [f64], bm: &mut [f32], bc: &mut [f32]) -> BlockSums {
        let prep = self.prep;
        let sc = &prep.scenario;
        let np = self.plans.len();
        let years = self.years;
        let banded = self.banded;
        let n = prep.n;
        let lanes = npv_out.len() / np;
        let mut sums = BlockSums {
            mining: vec![0.0; np],
            ai: vec![0.0; np],
        };
        // Days on which anything changes for some strategy, and the signing days of all leases.
        let mut ev_days: Vec<usize> = self
            .plans
            .iter()
            .flat_map(|p| p.segments.iter().skip(1).map(|s| s.day))
            .collect();
        ev_days.sort_unstable();
        ev_days.dedup();
        ev_days.push(usize::MAX);
        let mut l_days: Vec<usize> = self
            .plans
            .iter()
            .flat_map(|p| p.ai.npv_terms.iter().map(|t| t.0))
            .collect();
        l_days.sort_unstable();
        l_days.dedup();
        let term_idx: Vec<Vec<usize>> = self
            .plans
            .iter()
            .map(|p| {
                p.ai.npv_terms
                    .iter()
                    .map(|t| l_days.binary_search(&t.0).unwrap_or(0))
                    .collect()
            })
            .collect();
        let n_l = l_days.len();
        l_days.push(usize::MAX);
        let m = &sc.mining;
        let gain = 1.0 - m.pool_fee;
        let curtail = m.curtail;
        let hw_days = m.hw_days_of_hashprice;
        let max_types = self
            .eras
            .iter()
            .map(|e| e.defs.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let mut day = SimDay {
            ctx: self,
            lanes,
            years,
            banded,
            n,
            gain,
            curtail,
            hw_days,
            ev_days: &ev_days,
            l_days: &l_days,
            seg_idx: vec![0usize; np],
            mining_npv: vec![0.0f64; np * lanes],
            ycash: vec![0.0f64; banded * years * lanes],
            margins: if prep.power_curve.is_some() {
                vec![0.0f64; max_types * lanes]
            } else {
                Vec::new()
            },
            chunk_margins: vec![0.0f64; max_types * CHUNK],
            extra: vec![0.0f64; np * lanes],
            has_extra: vec![false; np],
            rev_th: vec![0.0f64; lanes],
            l_vals: vec![0.0f64; n_l.max(1) * lanes],
            bm,
            era: 0,
            ev: 0,
            li: 0,
        };
        prep.run_block(self.seed, b, lanes, self.antithetic, &mut day);
        let SimDay {
            mining_npv,
            ycash,
            l_vals,
            ..
        } = day;
        // AI: linear in the lease rate on the signing days.
        for i in 0..lanes {
            for k in 0..np {
                let ai = &self.plans[k].ai;
                let mut v = ai.npv_const;
                for (j, &(_, coef)) in ai.npv_terms.iter().enumerate() {
                    v += coef * l_vals[term_idx[k][j] * lanes + i].exp();
                }
                let mn = mining_npv[k * lanes + i];
                npv_out[i * np + k] = mn + v;
                sums.mining[k] += mn;
                sums.ai[k] += v;
                if k < banded {
                    for y in 0..years {
                        let mut c = ycash[(k * years + y) * lanes + i] + ai.year_const[y];
                        for (j, yt) in ai.year_terms.iter().enumerate() {
                            c += yt[y] * l_vals[term_idx[k][j] * lanes + i].exp();
                        }
                        bc[(i * years + y) * banded + k] = c as f32;
                    }
                }
            }
        }
        sums
    }
}

/// Lanes whose mining cash is summed together in [`CashChunks::chunk`]: two AVX-512 vectors of
/// `f64`, so a strategy's cash of the chunk stays in registers while the types are added.
const CHUNK: usize = 16;

/// MODEL.md section 4's flat power price: revenue factor and power cost per W of the day.
#[derive(Clone, Copy)]
struct FlatPower {
    /// `uptime * (1 - pool_fee)`: revenue per TH/s per day is `hv * S * gain`.
    gain: f64,
    /// Power cost per W of machine per day, $.
    cost_w: f64,
}

/// One day's mining cash of every strategy, added a chunk of lanes at a time: the margins of the
/// chunk's machine types, then per strategy `-opex + Σ units · margin (+ the event's cash)`,
/// discounted into the NPV and added to the year's cash. Each lane sees the same operations in
/// the same order as a lane-at-a-time loop, so the chunk width never changes a number (the tail
/// of a partial block runs with width 1); fusing the passes keeps the cash in registers instead
/// of writing and re-reading per-lane arrays (3% of the benchmark's time; bench/README.md).
struct CashChunks<'a> {
    plans: &'a [Plan],
    seg_idx: &'a [usize],
    defs: &'a [crate::site::BatchDef],
    lanes: usize,
    years: usize,
    banded: usize,
    curtail: bool,
    /// `Some` for the flat price (margins computed per chunk), `None` when `margins` holds the
    /// hourly margins of all lanes.
    flat: Option<FlatPower>,
    hv: &'a [f64],
    s: &'a [f64],
    margins: &'a [f64],
    chunk_margins: &'a mut [f64],
    /// On an event day: the per-lane extra cash of each strategy and which strategies have it.
    extra: Option<(&'a [f64], &'a [bool])>,
    mining_npv: &'a mut [f64],
    ycash: &'a mut [f64],
    /// Mining weight of the day.
    w: f64,
    /// Year of the day.
    y: usize,
}

impl CashChunks<'_> {
    #[inline(always)]
    fn chunk<const W: usize>(&mut self, o: usize) {
        let lanes = self.lanes;
        let (mg, stride, off): (&[f64], usize, usize) = match self.flat {
            Some(fp) => {
                let mut rev_th = [0.0f64; W];
                let (hv, s) = (&self.hv[o..o + W], &self.s[o..o + W]);
                for i in 0..W {
                    rev_th[i] = hv[i] * s[i] * fp.gain;
                }
                for (j, def) in self.defs.iter().enumerate() {
                    let mg = &mut self.chunk_margins[j * W..(j + 1) * W];
                    let cost = fp.cost_w * def.power_w;
                    let ths = def.ths;
                    if self.curtail {
                        for i in 0..W {
                            let rev = rev_th[i] * ths;
                            mg[i] = if rev < cost { 0.0 } else { rev - cost };
                        }
                    } else {
                        for i in 0..W {
                            mg[i] = rev_th[i] * ths - cost;
                        }
                    }
                }
                (&*self.chunk_margins, W, 0)
            }
            None => (self.margins, lanes, o),
        };
        for (k, plan) in self.plans.iter().enumerate() {
            let seg = &plan.segments[self.seg_idx[k]];
            let mut c = [-seg.opex_day; W];
            for (j, &u) in seg.units.iter().enumerate() {
                if u == 0.0 {
                    continue;
                }
                let m = &mg[j * stride + off..j * stride + off + W];
                for i in 0..W {
                    c[i] = u.mul_add(m[i], c[i]);
                }
            }
            if let Some((extra, has)) = self.extra {
                if has[k] {
                    let ex = &extra[k * lanes + o..k * lanes + o + W];
                    for i in 0..W {
                        c[i] += ex[i];
                    }
                }
            }
            let npv = &mut self.mining_npv[k * lanes + o..k * lanes + o + W];
            for i in 0..W {
                npv[i] = c[i].mul_add(self.w, npv[i]);
            }
            if k < self.banded {
                let at = (k * self.years + self.y) * lanes + o;
                let yc = &mut self.ycash[at..at + W];
                for i in 0..W {
                    yc[i] += c[i];
                }
            }
        }
    }
}

/// The per-day work of one block of [`Ctx::block`]: one margin per machine type per lane (shared
/// by all strategies), then each strategy's mining cash, discounted and per year. A struct with an
/// `#[inline(always)]` method (not a closure) so it is compiled for the engine's instruction set.
struct SimDay<'a, 'b> {
    ctx: &'a Ctx<'a>,
    lanes: usize,
    years: usize,
    banded: usize,
    n: usize,
    /// `1 - pool_fee`.
    gain: f64,
    curtail: bool,
    hw_days: f64,
    ev_days: &'a [usize],
    l_days: &'a [usize],
    seg_idx: Vec<usize>,
    mining_npv: Vec<f64>,
    ycash: Vec<f64>,
    /// `[power] hourly` margins of all lanes, type-major (`j * lanes + i`).
    margins: Vec<f64>,
    /// Flat-power margins of one chunk of lanes, type-major (`j * CHUNK + i`).
    chunk_margins: Vec<f64>,
    extra: Vec<f64>,
    has_extra: Vec<bool>,
    rev_th: Vec<f64>,
    l_vals: Vec<f64>,
    bm: &'b mut [f32],
    era: usize,
    ev: usize,
    li: usize,
}

impl DayConsumer for SimDay<'_, '_> {
    #[inline(always)]
    fn day(&mut self, d: &LaneDay) {
        let ctx = self.ctx;
        let prep = ctx.prep;
        let m = &prep.scenario.mining;
        let lanes = self.lanes;
        let (years, banded) = (self.years, self.banded);
        let (gain, curtail, hw_days) = (self.gain, self.curtail, self.hw_days);
        let t = d.t;
        let (hv, s) = (&d.hv[..lanes], &d.s[..lanes]);
        let event = t == self.ev_days[self.ev];
        if event {
            self.ev += 1;
            if self.era + 1 < ctx.eras.len() && ctx.eras[self.era + 1].start_day == t {
                self.era += 1;
            }
            for (k, p) in ctx.plans.iter().enumerate() {
                self.has_extra[k] = false;
                if let Some(seg) = p.segments.get(self.seg_idx[k] + 1) {
                    if seg.day == t {
                        self.seg_idx[k] += 1;
                        self.has_extra[k] = true;
                        let ex = &mut self.extra[k * lanes..(k + 1) * lanes];
                        let (cc, bt) = (seg.cash_const, seg.buy_th);
                        for i in 0..lanes {
                            ex[i] = cc - hw_days * hv[i] * s[i] * bt;
                        }
                    }
                }
            }
        }
        let defs = &ctx.eras[self.era].defs;
        // Power terms of the day (the hook for hourly power, see `Prepared::day_power`).
        let pw = prep.day_power(t);
        let gain = pw.uptime * gain;
        let cost_w = pw.uptime * m.overhead * 24.0 / 1e6 * pw.usd_mwh;
        let flat = if let Some(curve) = prep.power_curve.as_deref() {
            // `[power] hourly`: each type runs in the hours below its break-even (crate::power);
            // the curve prices whole slices, so these margins are computed for all lanes first.
            let rev_th = &mut self.rev_th[..lanes];
            for i in 0..lanes {
                rev_th[i] = hv[i] * s[i] * gain;
            }
            let mwh_w = pw.uptime * m.overhead * 24.0 / 1e6;
            let scale = prep.power_scale[t];
            for (j, def) in defs.iter().enumerate() {
                let mg = &mut self.margins[j * lanes..(j + 1) * lanes];
                curve
                    .unit_day(mwh_w * def.power_w, scale, curtail)
                    .margins(rev_th, def.ths, mg);
            }
            None
        } else {
            Some(FlatPower { gain, cost_w })
        };
        let mut cc = CashChunks {
            plans: ctx.plans,
            seg_idx: &self.seg_idx,
            defs,
            lanes,
            years,
            banded,
            curtail,
            flat,
            hv,
            s,
            margins: &self.margins,
            chunk_margins: &mut self.chunk_margins,
            extra: if event {
                Some((&self.extra, &self.has_extra))
            } else {
                None
            },
            mining_npv: &mut self.mining_npv,
            ycash: &mut self.ycash,
            w: prep.w_mining[t],
            y: t / 365,
        };
        let full = lanes - lanes % CHUNK;
        for o in (0..full).step_by(CHUNK) {
            cc.chunk::<CHUNK>(o);
        }
        for o in full..lanes {
            cc.chunk::<1>(o);
        }
        let y = t / 365;
        if t == self.l_days[self.li] {
            let li = self.li;
            self.l_vals[li * lanes..(li + 1) * lanes].copy_from_slice(&d.ln_l[..lanes]);
            self.li += 1;
        }
        if t + 1 == self.n || (t + 1).is_multiple_of(365) {
            for i in 0..lanes {
                let o = (i * years + y) * MARKET_SERIES;
                self.bm[o] = d.s[i] as f32;
                self.bm[o + 1] = (d.hv[i] * d.s[i] * 1000.0) as f32;
                self.bm[o + 2] = d.difficulty[i] as f32;
                self.bm[o + 3] = (d.hashrate_ths[i] / 1e6) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        let mut s = Scenario::default();
        s.run.horizon_years = 6.0;
        s
    }

    fn raw(sc: &Scenario, specs: &[PlanSpec], paths: u64) -> Raw {
        simulate_raw(sc, specs, paths, 9, false, &|_| {})
    }

    fn spec(kind: StrategyKind, conversions: Vec<(usize, f64)>) -> PlanSpec {
        PlanSpec {
            strategy: kind,
            share: None,
            conversions,
        }
    }

    #[test]
    fn share_zero_equals_mine_path_by_path() {
        let sc = small();
        let specs = [
            spec(StrategyKind::Mine, vec![]),
            spec(StrategyKind::Convert, vec![(0, 0.0)]),
        ];
        let r = raw(&sc, &specs, 1500);
        for i in 0..1500 {
            assert_eq!(r.npv[2 * i], r.npv[2 * i + 1]);
        }
        let out = simulate(
            &sc,
            &RunConfig {
                paths: Some(1500),
                strategy: Some(StrategyKind::Convert),
                share: Some(0.0),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        assert_eq!(out.results[0].npv, out.results[1].npv);
        assert_eq!(out.results[1].prob_below_mine, 0.0);
    }

    #[test]
    fn hourly_flat_curve_equals_flat_price() {
        // `[power] hourly` with every hour at the site's price must reproduce MODEL.md's flat
        // model (up to the association of one product: 1e-12 relative), for every strategy and
        // with curtailment on and off.
        for curtail in [true, false] {
            let mut a = small();
            a.site.power_usd_mwh = 70.0;
            a.mining.curtail = curtail;
            let mut b = a.clone();
            b.power = Some(crate::scenario::Power {
                hourly: Some("flat:70".into()),
            });
            b.validate().unwrap();
            let cfg = RunConfig {
                paths: Some(600),
                ..Default::default()
            };
            let (x, y) = (
                simulate(&a, &cfg, &|_| {}).unwrap(),
                simulate(&b, &cfg, &|_| {}).unwrap(),
            );
            assert_eq!(x.results.len(), y.results.len());
            for (p, q) in x.results.iter().zip(&y.results) {
                let (u, v) = (p.npv.mean, q.npv.mean);
                assert!((u - v).abs() <= 1e-12 * u.abs().max(1.0), "{u} vs {v}");
                let (u, v) = (p.npv.p50, q.npv.p50);
                assert!((u - v).abs() <= 1e-12 * u.abs().max(1.0), "{u} vs {v}");
            }
        }
    }

    #[test]
    fn hourly_prices_change_the_value_and_curtailment_helps() {
        // HB_WEST 2022 (mean $59.8/MWh) against a flat $59.8: dispatching on the hourly curve is
        // worth more than the flat price of the same mean, since the fleet skips the spikes.
        let mut flat = small();
        flat.site.power_usd_mwh = 59.79;
        let mut hourly = flat.clone();
        hourly.power = Some(crate::scenario::Power {
            hourly: Some("ercot:HB_WEST:2022".into()),
        });
        hourly.validate().unwrap();
        let cfg = RunConfig {
            paths: Some(600),
            strategy: Some(StrategyKind::Mine),
            ..Default::default()
        };
        let f = simulate(&flat, &cfg, &|_| {}).unwrap();
        let h = simulate(&hourly, &cfg, &|_| {}).unwrap();
        assert!(h.results[0].npv.mean > f.results[0].npv.mean);
        let mut never = hourly.clone();
        never.mining.curtail = false;
        let n = simulate(&never, &cfg, &|_| {}).unwrap();
        assert!(h.results[0].npv.mean > n.results[0].npv.mean);
    }

    #[test]
    fn curtailment_never_lowers_value() {
        let mut on = small();
        // Expensive power so that curtailment actually happens on many days.
        on.site.power_usd_mwh = 70.0;
        on.mining.fleet.push(crate::scenario::Batch {
            model: "S9".into(),
            units: 20_000.0,
            hashrate_ths: 13.5,
            power_w: 1323.0,
        });
        let mut off = on.clone();
        off.mining.curtail = false;
        let specs = [
            spec(StrategyKind::Mine, vec![]),
            spec(StrategyKind::Schedule, vec![(0, 0.3), (400, 0.3)]),
        ];
        let a = raw(&on, &specs, 1100);
        let b = raw(&off, &specs, 1100);
        let mut strictly = 0;
        for (x, y) in a.npv.iter().zip(&b.npv) {
            assert!(x >= y, "{x} < {y}");
            if x > y {
                strictly += 1;
            }
        }
        assert!(
            strictly > 1000,
            "curtailment should matter in this scenario ({strictly})"
        );
    }

    #[test]
    fn same_seed_same_numbers_on_one_and_two_threads() {
        let sc = small();
        let run = |threads, antithetic| {
            simulate(
                &sc,
                &RunConfig {
                    paths: Some(2500),
                    threads: Some(threads),
                    antithetic,
                    ..Default::default()
                },
                &|_| {},
            )
            .unwrap()
        };
        let one = run(1, false);
        let two = run(2, false);
        assert_eq!(one, two);
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            serde_json::to_string(&two).unwrap()
        );
        assert_eq!(run(1, true), run(2, true));
        // A different seed gives different numbers.
        let other = simulate(
            &sc,
            &RunConfig {
                paths: Some(2500),
                seed: Some(1),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        assert_ne!(one.results[0].npv.mean, other.results[0].npv.mean);
    }

    #[test]
    fn json_shape_and_mine_first() {
        let sc = small();
        let out = simulate(
            &sc,
            &RunConfig {
                paths: Some(300),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        let j = serde_json::to_value(&out).unwrap();
        let keys: Vec<&str> = j.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert_eq!(j["paths"], 300);
        assert_eq!(j["seed"], 42);
        assert_eq!(j["results"][0]["strategy"], "mine");
        assert_eq!(j["results"][0]["prob_below_mine"], 0.0);
        assert_eq!(
            j["results"].as_array().unwrap().len(),
            1 + sc.strategy.shares.len()
        );
        for k in ["mean", "stderr", "p5", "p50", "p95"] {
            assert!(j["results"][1]["npv"][k].is_number());
        }
        assert_eq!(j["bands"]["years"].as_array().unwrap().len(), 6);
        assert_eq!(j["bands"]["price_usd"]["p50"].as_array().unwrap().len(), 6);
        let b = &out.bands.price_usd;
        for y in 0..6 {
            assert!(b.p5[y] <= b.p50[y] && b.p50[y] <= b.p95[y]);
        }
    }

    #[test]
    fn antithetic_mean_agrees_within_error() {
        let sc = small();
        let plain = simulate(
            &sc,
            &RunConfig {
                paths: Some(4000),
                strategy: Some(StrategyKind::Mine),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        let anti = simulate(
            &sc,
            &RunConfig {
                paths: Some(4000),
                strategy: Some(StrategyKind::Mine),
                antithetic: true,
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        let (a, b) = (&plain.results[0].npv, &anti.results[0].npv);
        assert!((a.mean - b.mean).abs() < 4.0 * (a.stderr * a.stderr + b.stderr * b.stderr).sqrt());
    }

    #[test]
    fn bad_options_are_named() {
        let sc = small();
        let e = simulate(
            &sc,
            &RunConfig {
                paths: Some(0),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("paths = 0"), "{e}");
        let e = simulate(
            &sc,
            &RunConfig {
                share: Some(1.5),
                strategy: Some(StrategyKind::Convert),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("share = 1.5") && e.to_string().contains("0 <= share <= 1"),
            "{e}"
        );
    }

    /// `optimal` runs through `crate::optimal` after the `mine` baseline, on the same paths.
    #[test]
    fn optimal_is_dispatched_after_mine() {
        let mut sc = small();
        sc.run.horizon_years = 3.0;
        sc.strategy.tranches = 2;
        sc.strategy.decide_months = 6;
        let cfg = RunConfig {
            paths: Some(600),
            strategy: Some(StrategyKind::Optimal),
            ..Default::default()
        };
        let out = simulate(&sc, &cfg, &|_| {}).unwrap();
        assert_eq!(out.results.len(), 2);
        assert_eq!(out.results[0].strategy, "mine");
        assert_eq!(out.results[1].strategy, "optimal");
        assert!(out.results[1].extra.is_some());
        // Converting is optional, so the in-sample optimal value is at least the mine value up to
        // Monte Carlo noise, and equal to it on the paths where nothing converts.
        let (o, m) = (&out.results[1].npv, &out.results[0].npv);
        assert!(
            o.mean >= m.mean - 3.0 * m.stderr,
            "{} vs {}",
            o.mean,
            m.mean
        );
        let j = serde_json::to_value(&out).unwrap();
        assert_eq!(j["results"][1]["strategy"], "optimal");
    }

    #[test]
    fn selected_quantiles_equal_sorted_ones() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for n in [1usize, 2, 3, 20, 101, 1000] {
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 1000) as f32 / 7.0 - 50.0
                })
                .collect();
            let mut sorted: Vec<f64> = v.iter().map(|&a| a as f64).collect();
            sorted.sort_by(f64::total_cmp);
            let got = quantiles_f32(&mut v.clone(), &[0.05, 0.5, 0.95]);
            for (g, p) in got.iter().zip([0.05, 0.5, 0.95]) {
                assert_eq!(*g, quantile_sorted(&sorted, p), "n {n} p {p}");
            }
        }
    }

    #[test]
    fn quantiles_are_type_7() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert!((quantile_sorted(&v, 0.05) - 1.15).abs() < 1e-12);
    }
}

#[cfg(test)]
mod histogram_tests {
    use super::*;

    #[test]
    fn histograms_share_bins_and_count_every_path() {
        let a: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..1000).map(|i| 500.0 + i as f64).collect();
        let hs = histograms(&[&a, &b]);
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[0].edges, hs[1].edges);
        assert_eq!(hs[0].edges.len(), HISTOGRAM_BINS + 1);
        // p0.5 of a is 5, p99.5 of b is 1494: the pooled range.
        assert_eq!(hs[0].edges[0], 5.0);
        assert_eq!(*hs[0].edges.last().unwrap(), 1494.0);
        for (h, s) in hs.iter().zip([&a, &b]) {
            let total: u64 = h.counts.iter().sum::<u64>() + h.below + h.above;
            assert_eq!(total, s.len() as u64);
        }
        assert_eq!(hs[0].below, 5);
        assert_eq!(hs[1].above, 5);
        assert!(hs[0].edges.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_constant_sample_gets_one_bin() {
        let a = vec![1.5e9; 10];
        let hs = histograms(&[&a, &a]);
        assert_eq!(hs[0].counts, vec![10]);
        assert!(hs[0].edges[0] < 1.5e9 && hs[0].edges[1] > 1.5e9);
    }

    #[test]
    fn simulate_reports_histograms_for_every_strategy() {
        let sc = Scenario::default();
        let cfg = RunConfig {
            paths: Some(300),
            ..RunConfig::default()
        };
        let out = simulate(&sc, &cfg, &|_| {}).unwrap();
        let first = out.results[0].npv_histogram.as_ref().unwrap();
        for r in &out.results {
            let h = r.npv_histogram.as_ref().unwrap();
            assert_eq!(h.edges, first.edges);
            assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 300);
        }
    }
}
