//! The fixed strategies (`mine`, `convert`, `schedule`, `sweep`; MODEL.md sections 4–6) priced
//! on common paths: per-path NPVs, streamed sums and per-year bands.
//!
//! Design: a strategy's fleet timeline is deterministic (conversion days and shares are fixed, so
//! are the refresh days and the frontier efficiency), so it is computed once (`Plan`); each path
//! then only prices it with the payoff kernel ([`crate::payoff`]): one margin per machine type per
//! day (shared by all strategies), a dot product per strategy, and the AI value as a linear
//! function of the lease rate on its signing days. Paths run in blocks of [`BLOCK`] with keyed
//! streams and write into their own slice of the output, so results are bit-identical for any
//! thread count; memory is O(paths).

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::equity::{equity_result, EquityPaths};
use crate::payoff::ai::{path_dependent, AiBook, AiDay, AiProject, AiTerms};
use crate::payoff::finance::{DebtTerms, EquityBook, ProjectDay};
use crate::payoff::site::{
    ai_project, fleet_eras, initial_units, max_types, AiLinear, BatchDef, FleetEra, Layout,
};
use crate::payoff::slices::{SliceBlock, Slices};
use crate::payoff::{refresh_cash, MiningDay};
use crate::process::{DayConsumer, Discount, LaneDay, Prepared, BLOCK};
use crate::result::{Band, Bands, Currency, SimOutput, SiteCashBand};
use crate::scenario::{Scenario, StrategyKind};
use crate::stats::{histograms, quantiles_f32, summarize};

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
    /// Version 1: the AI side, linear in the lease rate on its signing days (empty when the AI
    /// side is path-dependent).
    ai: AiLinear,
    /// Path-dependent AI side ([`crate::payoff::ai`]): the plan's conversions as AI projects.
    projects: Vec<AiProject>,
    /// `ai.mine_during_build`: per conversion, the machines that keep mining until the lane's
    /// ready day.
    builds: Vec<BuildCorr>,
}

/// `ai.mine_during_build` for one conversion (MODEL.md §8), as a per-lane correction of the
/// plan, whose layout removes the machines on the decision day `τ`: from `τ` until the lane's
/// ready day the removed machines keep earning their margin and paying opex, they are sold on
/// the ready day instead of on `τ`, and a refresh in between replaces them too (the converted MW
/// are still mining capacity then). Exact for one conversion, and for several whenever their
/// ready days come in the order of their decision days (removal order is then the plan's).
#[derive(Debug, Clone, PartialEq)]
struct BuildCorr {
    /// Decision day.
    tau: usize,
    /// Index of the conversion among the plan's projects.
    project: usize,
    /// The machines in force from each day on: `τ` (the removed units), then each refresh.
    eras: Vec<CorrEra>,
}

/// The machines of a [`BuildCorr`] from `day` on (types of the fleet era in force).
#[derive(Debug, Clone, PartialEq)]
struct CorrEra {
    day: usize,
    units: Vec<f64>,
    /// Opex per day of these machines.
    opex_day: f64,
    /// TH/s held (sold at salvage on the ready day).
    th: f64,
    /// A refresh on `day`: TH/s of the previous machines sold, TH/s of frontier machines bought.
    sold_th: f64,
    buy_th: f64,
}

/// The [`BuildCorr`] of a conversion of `mw` on day `tau` whose layout removal took `removed`
/// units of `eras[era]`.
fn build_corr(
    prep: &Prepared,
    eras: &[FleetEra],
    era: usize,
    tau: usize,
    mw: f64,
    removed: &[f64],
    project: usize,
) -> BuildCorr {
    let m = &prep.scenario.mining;
    let opex_rate = m.opex_usd_per_mw_month * 12.0 / 365.0;
    let defs: &[BatchDef] = &eras[era].defs;
    let removed_mw: f64 = removed
        .iter()
        .zip(defs)
        .map(|(u, d)| u * d.power_w * m.overhead / 1e6)
        .sum();
    let th: f64 = removed.iter().zip(defs).map(|(u, d)| u * d.ths).sum();
    let mut out = vec![CorrEra {
        day: tau,
        units: removed.to_vec(),
        opex_day: opex_rate * removed_mw,
        th,
        sold_th: 0.0,
        buy_th: 0.0,
    }];
    for e in &eras[era + 1..] {
        let bought = mw * 1e6 / (m.overhead * prep.eta[e.start_day]);
        let sold_th = out.last().map_or(0.0, |c| c.th);
        out.push(CorrEra {
            day: e.start_day,
            units: vec![bought],
            opex_day: opex_rate * mw,
            th: bought,
            sold_th,
            buy_th: bought,
        });
    }
    BuildCorr {
        tau,
        project,
        eras: out,
    }
}

fn build_plan(
    sc: &Scenario,
    prep: &Prepared,
    eras: &[FleetEra],
    spec: &PlanSpec,
    years: usize,
    terms: Option<&AiTerms>,
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
    let mut projects = Vec::new();
    let mut builds = Vec::new();
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
        // The conversion's index in the strategy keys its risk draws (MODEL.md §8).
        for (key, &(_, share)) in spec
            .conversions
            .iter()
            .enumerate()
            .filter(|c| c.1 .0 == day)
        {
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
            if let Some(terms) = terms {
                if terms.mine_during_build {
                    let c = build_corr(prep, eras, era, day, mw, &removed, projects.len());
                    builds.push(c);
                }
                projects.push(AiProject {
                    tau: day,
                    it_mw: mw * sc.ai.it_mw_per_gross_mw,
                    key: key as u64,
                });
                continue;
            }
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
        projects,
        builds,
    }
}

/// Statistics of one block, merged in block order.
#[derive(Debug, Clone, Default)]
struct BlockSums {
    mining: Vec<f64>,
    ai: Vec<f64>,
    /// With `[finance]`: per lane and plan the [`EQ_FIELDS`] equity figures
    /// (`(lane · plans + k) · EQ_FIELDS`); empty otherwise.
    equity: Vec<f64>,
}

/// Per path and strategy with `[finance]`: equity NPV, AI equity NPV, minimum DSCR, project IRR,
/// equity IRR (NaN where a path has none).
const EQ_FIELDS: usize = 5;

const MARKET_SERIES: usize = 4;

/// Per-path results of a run of deterministic strategies over a contiguous range of blocks,
/// before statistics: what a shard computes and what the merge concatenates in block order
/// (MODEL.md section 12). Every field but the shape is a [`Column`]: a new per-path or per-block
/// value is one field here and one line in [`Raw::columns`], and it flows through the shard
/// files and the merge.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Raw {
    /// Years of the bands.
    pub years: usize,
    /// Strategies (`specs.len()`).
    pub np: usize,
    /// Strategies with a site-cash band (the first `banded`).
    pub banded: usize,
    /// First block of the range.
    pub first_block: usize,
    /// Paths of the range.
    pub paths: usize,
    /// NPV per path and strategy, `npv[path * np + k]`.
    pub npv: Vec<f64>,
    /// Market bands per path: `[(path * years + year) * MARKET_SERIES + series]`.
    pub band_market: Vec<f32>,
    /// Site-cash bands per path: `[(path * years + year) * banded + k]`.
    pub band_cash: Vec<f32>,
    /// Per block and strategy: the sum over the block's paths of the mining NPV.
    pub block_mining: Vec<f64>,
    /// Per block and strategy: the sum over the block's paths of the AI NPV.
    pub block_ai: Vec<f64>,
    /// With `[finance]`, [`EQ_FIELDS`] per strategy: the values per path of the `equity` column
    /// (`np · EQ_FIELDS`), else 0.
    pub equity_width: usize,
    /// With `[finance]`: per path and strategy the [`EQ_FIELDS`] equity figures
    /// (`(path · np + k) · EQ_FIELDS`); empty otherwise.
    pub equity: Vec<f64>,
}

/// One named column of a [`Raw`]: its values and how many per path (or per block).
pub(crate) struct Column<'a> {
    /// Stable name (written into shard files).
    pub name: &'static str,
    /// Values per path, or per block when `per_block`.
    pub width: usize,
    /// Whether the column has `width` values per block rather than per path.
    pub per_block: bool,
    /// The values.
    pub data: ColumnData<'a>,
}

/// The values of a [`Column`], by type.
pub(crate) enum ColumnData<'a> {
    /// 64-bit floats.
    F64(&'a mut Vec<f64>),
    /// 32-bit floats (band values: quantiles of a chart).
    F32(&'a mut Vec<f32>),
}

impl Raw {
    /// An empty range starting at `first_block`, shaped for `np` strategies over `years` (with
    /// the equity figures of `[finance]` when `equity`).
    pub fn empty(years: usize, np: usize, banded: usize, equity: bool, first_block: usize) -> Raw {
        Raw {
            years,
            np,
            banded,
            equity_width: if equity { np * EQ_FIELDS } else { 0 },
            equity: Vec::new(),
            first_block,
            paths: 0,
            npv: Vec::new(),
            band_market: Vec::new(),
            band_cash: Vec::new(),
            block_mining: Vec::new(),
            block_ai: Vec::new(),
        }
    }

    /// The columns, in a fixed order: the one list the shard files and the merge go through.
    pub fn columns(&mut self) -> Vec<Column<'_>> {
        let (np, years, banded) = (self.np, self.years, self.banded);
        let col = |name, width, per_block, data| Column {
            name,
            width,
            per_block,
            data,
        };
        vec![
            col("npv", np, false, ColumnData::F64(&mut self.npv)),
            col(
                "band_market",
                years * MARKET_SERIES,
                false,
                ColumnData::F32(&mut self.band_market),
            ),
            col(
                "band_cash",
                years * banded,
                false,
                ColumnData::F32(&mut self.band_cash),
            ),
            col(
                "block_mining",
                np,
                true,
                ColumnData::F64(&mut self.block_mining),
            ),
            col("block_ai", np, true, ColumnData::F64(&mut self.block_ai)),
            col(
                "equity",
                self.equity_width,
                false,
                ColumnData::F64(&mut self.equity),
            ),
        ]
    }

    /// Blocks of the range.
    pub fn blocks(&self) -> usize {
        self.block_mining.len() / self.np.max(1)
    }

    /// Appends the next range of blocks (`other` must start where `self` ends and have the same
    /// shape), column by column.
    pub fn append(&mut self, mut other: Raw) -> Result<(), String> {
        let shape = |r: &Raw| (r.years, r.np, r.banded, r.equity_width);
        if shape(self) != shape(&other) {
            return Err(format!(
                "shape (years, strategies, banded, equity) {:?} does not continue {:?}",
                shape(&other),
                shape(self)
            ));
        }
        let next = self.first_block + self.blocks();
        if other.first_block != next {
            return Err(format!(
                "starts at block {} where block {next} was expected",
                other.first_block
            ));
        }
        self.paths += other.paths;
        for (a, b) in self.columns().into_iter().zip(other.columns()) {
            match (a.data, b.data) {
                (ColumnData::F64(a), ColumnData::F64(b)) => a.append(b),
                (ColumnData::F32(a), ColumnData::F32(b)) => a.append(b),
                _ => return Err(format!("column {} changed type", a.name)),
            }
        }
        Ok(())
    }

    /// The sums over all paths of each strategy's mining NPV, added block by block in block
    /// order (the same additions whatever the thread or shard count).
    pub fn mining_sum(&self) -> Vec<f64> {
        self.block_sum(&self.block_mining)
    }

    /// The same for the AI NPV.
    pub fn ai_sum(&self) -> Vec<f64> {
        self.block_sum(&self.block_ai)
    }

    fn block_sum(&self, per_block: &[f64]) -> Vec<f64> {
        let mut s = vec![0.0; self.np];
        for b in per_block.chunks(self.np.max(1)) {
            for (a, x) in s.iter_mut().zip(b) {
                *a += x;
            }
        }
        s
    }
}

/// Statistics of a whole run's [`Raw`] (all blocks, in path order): the results of `specs` and
/// the bands, and the per-path NPV of each result.
pub(crate) fn summarize_raw(
    sc: &Scenario,
    specs: &[PlanSpec],
    paths: u64,
    seed: u64,
    antithetic: bool,
    raw: &Raw,
) -> (SimOutput, Vec<Vec<f64>>) {
    let paths_us = paths as usize;
    let np = specs.len();
    let (mining_sum, ai_sum) = (raw.mining_sum(), raw.ai_sum());
    let mut results = Vec::with_capacity(np);
    let col = |k: usize| -> Vec<f64> { (0..paths_us).map(|i| raw.npv[i * np + k]).collect() };
    let mine = col(0);
    for (k, spec) in specs.iter().enumerate() {
        let v = if k == 0 { mine.clone() } else { col(k) };
        results.push(summarize(
            spec.strategy.as_str(),
            spec.share,
            &v,
            mining_sum[k] / paths as f64,
            ai_sum[k] / paths as f64,
            if k == 0 { None } else { Some(&mine) },
            antithetic,
        ));
    }
    // Histograms on bins shared by all strategies of the run.
    let mut cols: Vec<Vec<f64>> = (1..np).map(col).collect();
    {
        let mut refs: Vec<&[f64]> = vec![&mine];
        refs.extend(cols.iter().map(Vec::as_slice));
        for (r, h) in results.iter_mut().zip(histograms(&refs)) {
            r.npv_histogram = Some(h);
        }
    }
    cols.insert(0, mine);
    if let Some(f) = sc.finance.as_ref().filter(|_| !raw.equity.is_empty()) {
        equity_results(&raw.equity, np, f.min_dscr, antithetic, &mut results);
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
    let out = SimOutput {
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
        currency: sc.run.currency,
    };
    (out, cols)
}

/// Sets each result's equity view (MODEL.md §10) from the per-path figures of [`Raw::equity`], with
/// the equity NPV histograms on bins shared by every strategy.
fn equity_results(
    raw: &[f64],
    np: usize,
    min_dscr: f64,
    antithetic: bool,
    results: &mut [crate::result::StrategyResult],
) {
    let paths = raw.len() / (np * EQ_FIELDS).max(1);
    let per: Vec<EquityPaths> = (0..np)
        .map(|k| {
            let mut p = EquityPaths::with_capacity(paths);
            for i in 0..paths {
                let v = &raw[(i * np + k) * EQ_FIELDS..(i * np + k + 1) * EQ_FIELDS];
                p.equity_npv.push(v[0]);
                p.ai_equity_npv.push(v[1]);
                p.dscr_min.push(v[2]);
                p.project_irr.push(v[3]);
                p.equity_irr.push(v[4]);
            }
            p
        })
        .collect();
    let refs: Vec<&[f64]> = per.iter().map(|p| p.equity_npv.as_slice()).collect();
    let hists = histograms(&refs);
    for (k, r) in results.iter_mut().enumerate() {
        let mut e = equity_result(&per[k], min_dscr, antithetic);
        e.equity_npv_histogram = hists.get(k).cloned();
        r.equity = Some(e);
    }
}

/// Simulates all paths of the deterministic strategies `specs` and returns per-path NPVs
/// (`npv[path * specs + k]`), band data and per-block sums.
pub(crate) fn simulate_raw(
    sc: &Scenario,
    specs: &[PlanSpec],
    paths: u64,
    seed: u64,
    antithetic: bool,
    progress: &(dyn Fn(f64) + Sync),
) -> Raw {
    let nblocks = (paths as usize).div_ceil(BLOCK);
    simulate_blocks(
        sc,
        specs,
        paths,
        0..nblocks,
        (seed, antithetic),
        None,
        progress,
    )
}

/// `optimal`'s in-sample slices simulated in the same engine pass as the fixed strategies
/// ([`simulate_blocks`]): the two read the same paths (same seed, same blocks), so blocks
/// `0..blocks` are simulated once for both and each slice block goes to `keep` (the run's cache
/// of in-sample blocks). Every number is the one of the two passes apart: each consumer's
/// arithmetic on a day is unchanged, only the engine that feeds it runs once.
pub(crate) struct SharedSlices<'s> {
    /// The `optimal` run's slices and its cache of in-sample blocks.
    pub sink: &'s dyn SliceSink,
    /// The leading in-sample blocks to simulate together (those the cache keeps).
    pub blocks: u64,
}

/// Where [`SharedSlices`] come from and go to (`optimal`'s set-up).
pub(crate) trait SliceSink: Sync {
    /// The slices (their `Prepared` is the fixed strategies', both made from the same scenario).
    fn slices(&self) -> &Slices;
    /// Keeps in-sample block `eb`'s slice values.
    fn keep(&self, eb: u64, block: SliceBlock);
}

/// Strategies with a site-cash band in a run of `paths` paths and `np` strategies: all when
/// `paths × np ≤ 4,000,000`, else `mine` and the first other (keeps memory O(paths)).
pub(crate) fn banded(paths: u64, np: usize) -> usize {
    if (paths as u128) * (np as u128) <= 4_000_000 {
        np
    } else {
        np.min(2)
    }
}

/// [`simulate_raw`] for the blocks `blocks` of a run of `paths` paths: block `b` holds paths
/// `256 b ..` (the last block may be shorter) and draws from its own keyed streams, so a range's
/// values are exactly those of the same blocks in the whole run.
pub(crate) fn simulate_blocks(
    sc: &Scenario,
    specs: &[PlanSpec],
    paths: u64,
    blocks: std::ops::Range<usize>,
    (seed, antithetic): (u64, bool),
    shared: Option<SharedSlices<'_>>,
    progress: &(dyn Fn(f64) + Sync),
) -> Raw {
    let prep = Prepared::new(sc);
    let n = prep.n;
    let years = n.div_ceil(365).max(1);
    let eras = fleet_eras(sc, &prep.eta);
    // Version 2's path-dependent AI side (MODEL.md §8-11), else version 1's linear form.
    let terms = path_dependent(sc).then(|| AiTerms::new(sc, n));
    let debt = sc
        .finance
        .as_ref()
        .map(|f| DebtTerms::new(f, n, sc.site.terminal_multiple));
    let plans: Vec<Plan> = specs
        .iter()
        .map(|s| build_plan(sc, &prep, &eras, s, years, terms.as_ref()))
        .collect();
    let np = plans.len();
    let banded = banded(paths, np);
    let first_path = (blocks.start * BLOCK).min(paths as usize);
    let paths_us = (blocks.end * BLOCK).min(paths as usize) - first_path;
    let mut npv = vec![0f64; paths_us * np];
    let mut band_market = vec![0f32; paths_us * years * MARKET_SERIES];
    let mut band_cash = vec![0f32; paths_us * years * banded];
    let nblocks = paths_us.div_ceil(BLOCK);
    let done = AtomicUsize::new(0);
    // MODEL.md §11: in BTC the mining stream needs its daily factors and its terminal value apart.
    let btc = (sc.run.currency == Currency::Btc).then(|| {
        let tm = sc.site.terminal_multiple;
        (
            Discount::new(sc.mining.discount_rate, tm, n),
            Discount::new(sc.ai_discount_rate(), tm, n),
        )
    });
    let ctx = Ctx {
        prep: &prep,
        eras: &eras,
        plans: &plans,
        terms: terms.as_ref(),
        debt: debt.as_ref(),
        years,
        banded,
        seed,
        antithetic,
        btc: btc.as_ref().map(|b| &b.0),
        btc_ai: btc.as_ref().map(|b| &b.1),
    };
    let sums: Vec<BlockSums> = npv
        .par_chunks_mut(BLOCK * np)
        .zip(band_market.par_chunks_mut(BLOCK * years * MARKET_SERIES))
        .zip(band_cash.par_chunks_mut((BLOCK * years * banded).max(1)))
        .enumerate()
        .map(|(b, ((npv, bm), bc))| {
            // Also reported before the block: the caller may stop the run here (crate::cancel).
            progress(done.load(Ordering::Relaxed) as f64 / nblocks as f64);
            let b = (blocks.start + b) as u64;
            let s = match &shared {
                Some(sh) if b < sh.blocks => ctx.block_by(b, npv, bm, bc, |lanes, day| {
                    let blk = sh
                        .sink
                        .slices()
                        .block_with((seed, b, lanes, antithetic), day);
                    sh.sink.keep(b, blk);
                }),
                _ => ctx.block(b, npv, bm, bc),
            };
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(d as f64 / nblocks as f64);
            s
        })
        .collect();
    if debt.is_some() {
        crate::payoff::finance::release_spares();
    }
    let mut raw = Raw::empty(years, np, banded, debt.is_some(), blocks.start);
    raw.paths = paths_us;
    raw.npv = npv;
    raw.band_market = band_market;
    raw.band_cash = band_cash;
    for s in &sums {
        raw.block_mining.extend_from_slice(&s.mining);
        raw.block_ai.extend_from_slice(&s.ai);
        raw.equity.extend_from_slice(&s.equity);
    }
    raw
}

/// What [`Ctx::event_days`] returns.
struct EventDays {
    ev_days: Vec<usize>,
    l_days: Vec<usize>,
    term_idx: Vec<Vec<usize>>,
    /// Signing days before the `usize::MAX` end mark.
    n_l: usize,
}

struct Ctx<'a> {
    prep: &'a Prepared,
    eras: &'a [FleetEra],
    plans: &'a [Plan],
    /// The path-dependent AI side's constants, `None` for version 1's linear form.
    terms: Option<&'a AiTerms>,
    /// `[finance]`: the loans' terms (MODEL.md §10), `None` when unlevered.
    debt: Option<&'a DebtTerms>,
    years: usize,
    banded: usize,
    seed: u64,
    antithetic: bool,
    /// `run.currency = "btc"`: the mining stream's discounting in parts (MODEL.md §11).
    btc: Option<&'a Discount>,
    /// The same for the AI stream (its own rate); the AI side is then priced day by day
    /// (`payoff::ai::path_dependent`).
    btc_ai: Option<&'a Discount>,
}

impl Ctx<'_> {
    /// Simulates block `b` (its paths are `npv_out.len() / plans` lanes) and writes each path's
    /// NPVs and band values into the block's own slices of the outputs.
    fn block(&self, b: u64, npv_out: &mut [f64], bm: &mut [f32], bc: &mut [f32]) -> BlockSums {
        let (prep, seed, antithetic) = (self.prep, self.seed, self.antithetic);
        self.block_by(b, npv_out, bm, bc, |lanes, day| {
            prep.run_block(seed, b, lanes, antithetic, day)
        })
    }

    /// Days on which anything changes for some strategy, and the signing days of all leases
    /// (each list ends with `usize::MAX`), with each plan's lease terms as indices into them.
    fn event_days(&self) -> EventDays {
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
        EventDays {
            ev_days,
            l_days,
            term_idx,
            n_l,
        }
    }

    /// [`Ctx::block`] with the engine run by `run(lanes, day)`, which must feed `day` every day
    /// of block `b`'s paths (the engine alone, or the slices' pass on the same paths).
    #[inline(always)]
    fn block_by<R>(
        &self,
        b: u64,
        npv_out: &mut [f64],
        bm: &mut [f32],
        bc: &mut [f32],
        run: R,
    ) -> BlockSums
    where
        R: for<'x, 'y, 'z> FnOnce(usize, &'z mut SimDay<'x, 'y>),
    {
        let np = self.plans.len();
        let (years, banded) = (self.years, self.banded);
        let lanes = npv_out.len() / np;
        let mut sums = BlockSums {
            mining: vec![0.0; np],
            ai: vec![0.0; np],
            equity: Vec::new(),
        };
        let events = self.event_days();
        let mut day = self.sim_day(b, lanes, &events, bm);
        run(lanes, &mut day);
        let term_idx = &events.term_idx;
        let SimDay {
            mut mining_npv,
            ycash,
            l_vals,
            btc_tail,
            s_last,
            v2,
            ..
        } = day;
        if let Some(disc) = self.btc {
            // The terminal value of the mining stream, in BTC at the last day's price.
            for k in 0..np {
                for i in 0..lanes {
                    mining_npv[k * lanes + i] += disc.tv * btc_tail[k * lanes + i] / s_last[i];
                }
            }
        }
        let (ai_npv, mut books, ai_book) = match v2 {
            Some(mut v) => {
                if let Some(disc) = self.btc_ai {
                    // The AI stream's terminal value, in BTC at the last day's price.
                    for (o, tail) in v.ai_tail.iter().enumerate() {
                        v.ai_npv[o] += disc.tv * tail / s_last[o % lanes];
                    }
                }
                let first = v.proj_off;
                (Some(v.ai_npv), v.equity, Some((v.book, first)))
            }
            None => (None, Vec::new(), None),
        };
        // Per lane, the plans whose IRRs are solved (`lane_equity`): a sweep's proportional
        // conversions share them.
        let mut solved: Vec<SolvedIrrs> = Vec::new();
        // AI: linear in the lease rate on the signing days.
        for i in 0..lanes {
            solved.clear();
            for k in 0..np {
                let ai = &self.plans[k].ai;
                let ln_l = |j: usize, _| l_vals[term_idx[k][j] * lanes + i];
                let mut v = ai.npv(ln_l);
                if let Some(a) = &ai_npv {
                    v += a[k * lanes + i];
                }
                let mn = mining_npv[k * lanes + i];
                npv_out[i * np + k] = mn + v;
                if let Some(debt) = self.debt {
                    // The plan's first conversion in the AI book (a replayed lease is its only one).
                    let rent = ai_book.as_ref().map(|(b, first)| (b, first[k]));
                    let e = lane_equity(debt, (&mut books, k, &mut solved), rent, i, mn, mn + v);
                    sums.equity.extend(e);
                }
                sums.mining[k] += mn;
                sums.ai[k] += v;
                if k < banded {
                    for y in 0..years {
                        let c = ai.year_cash(y, ycash[(k * years + y) * lanes + i], ln_l);
                        bc[(i * years + y) * banded + k] = c as f32;
                    }
                }
            }
        }
        sums
    }

    /// A block's day consumer of `lanes` paths, before its first day.
    #[inline(always)]
    fn sim_day<'a, 'b>(
        &'a self,
        b: u64,
        lanes: usize,
        events: &'a EventDays,
        bm: &'b mut [f32],
    ) -> SimDay<'a, 'b> {
        let prep = self.prep;
        let np = self.plans.len();
        let (years, banded) = (self.years, self.banded);
        let max_types = max_types(self.eras);
        let n_l = events.n_l;
        SimDay {
            ctx: self,
            lanes,
            years,
            banded,
            n: prep.n,
            hw_days: prep.scenario.mining.hw_days_of_hashprice,
            ev_days: &events.ev_days,
            l_days: &events.l_days,
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
            btc_tail: if self.btc.is_some() {
                vec![0.0f64; np * lanes]
            } else {
                Vec::new()
            },
            s_last: vec![0.0f64; lanes],
            bm,
            era: 0,
            ev: 0,
            li: 0,
            v2: self.terms.map(|terms| V2Day::new(self, terms, b, lanes)),
        }
    }
}

/// A plan finished on the current lane and its (project, equity) IRRs ([`lane_equity`]).
type SolvedIrrs = (usize, Option<f64>, Option<f64>);

/// The [`EQ_FIELDS`] equity figures of lane `i` of plan `k` (`books[k]`): from its book when it
/// has conversions (mining NPV `mining` plus the AI equity NPV), else the unlevered NPV `npv`
/// (`mine`). `solved` lists the plans finished on this lane before with their IRRs
/// (`EquityBook::finish_sharing` takes an IRR from them when the series are exact power-of-two
/// multiples, as a sweep's proportional shares are); `k` is added to it.
fn lane_equity(
    debt: &DebtTerms,
    (books, k, solved): (&mut [EquityBook], usize, &mut Vec<SolvedIrrs>),
    rent: Option<(&AiBook, usize)>,
    i: usize,
    mining: f64,
    npv: f64,
) -> [f64; EQ_FIELDS] {
    let (before, rest) = books.split_at_mut(k.min(books.len()));
    match rest.first_mut().filter(|b| b.has_conversions()) {
        Some(b) => {
            let known: Vec<_> = solved.iter().map(|&(j, p, e)| (&before[j], p, e)).collect();
            let rent = |lane, from, out: &mut [f64]| match rent {
                Some((ai, p)) => ai.lease_opcash(p, lane, from, out),
                None => out.fill(f64::NAN),
            };
            let e = b.finish_sharing(debt, i, rent, &known);
            solved.push((k, e.project_irr, e.equity_irr));
            let nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
            [
                mining + e.ai_equity_npv,
                e.ai_equity_npv,
                nan(e.dscr_min),
                nan(e.project_irr),
                nan(e.equity_irr),
            ]
        }
        None => [npv, 0.0, f64::NAN, f64::NAN, f64::NAN],
    }
}

/// Lanes whose mining cash is summed together in [`CashChunks::chunk`]: two AVX-512 vectors of
/// `f64`, so a strategy's cash of the chunk stays in registers while the types are added.
const CHUNK: usize = 16;

/// One day's mining cash of every strategy, added a chunk of lanes at a time: the margins of the
/// chunk's machine types, then per strategy `-opex + Σ units · margin (+ the event's cash)`,
/// discounted into the NPV and added to the year's cash. Each lane sees the same operations in
/// the same order as a lane-at-a-time loop, so the chunk width never changes a number (the tail
/// of a partial block runs with width 1); fusing the passes keeps the cash in registers instead
/// of writing and re-reading per-lane arrays (3% of the benchmark's time; bench/README.md).
struct CashChunks<'a> {
    plans: &'a [Plan],
    seg_idx: &'a [usize],
    defs: &'a [crate::payoff::site::BatchDef],
    lanes: usize,
    years: usize,
    banded: usize,
    /// The day's mining terms (the payoff kernel).
    day: MiningDay<'a>,
    /// Flat price: margins computed per chunk; else `margins` holds the hourly margins of all
    /// lanes.
    flat: bool,
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
    /// `run.currency = "btc"`: the day's discount factor without the terminal value, and the
    /// per-strategy, per-lane USD cash of the days counted in the terminal value (`None` before
    /// them).
    btc: Option<(f64, Option<&'a mut [f64]>)>,
}

impl CashChunks<'_> {
    #[inline(always)]
    fn chunk<const W: usize>(&mut self, o: usize) {
        let lanes = self.lanes;
        let (mg, stride, off): (&[f64], usize, usize) = if self.flat {
            let mut rev_th = [0.0f64; W];
            let day = &self.day;
            day.revenue_per_th(&self.hv[o..o + W], &self.s[o..o + W], &mut rev_th);
            day.type_margins(self.defs, &rev_th, W, self.chunk_margins);
            (&*self.chunk_margins, W, 0)
        } else {
            (self.margins, lanes, o)
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
            let mut w = self.w;
            if let Some((w_df, tail)) = &mut self.btc {
                // MODEL.md §11: the day's cash in BTC at its own price; the terminal value is
                // converted at the end (`Ctx::block_impl`).
                if let Some(tail) = tail.as_deref_mut() {
                    let tl = &mut tail[k * lanes + o..k * lanes + o + W];
                    for i in 0..W {
                        tl[i] += c[i];
                    }
                }
                let s = &self.s[o..o + W];
                for i in 0..W {
                    c[i] /= s[i];
                }
                w = *w_df;
            }
            let npv = &mut self.mining_npv[k * lanes + o..k * lanes + o + W];
            for i in 0..W {
                npv[i] = c[i].mul_add(w, npv[i]);
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
    /// `mining.hw_days_of_hashprice`: the price of a frontier TH/s in days of hashprice.
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
    /// BTC view: per strategy and lane, the USD mining cash of the terminal value's days.
    btc_tail: Vec<f64>,
    /// BTC/USD on the last day, per lane (the BTC view's terminal value).
    s_last: Vec<f64>,
    bm: &'b mut [f32],
    era: usize,
    ev: usize,
    li: usize,
    /// The path-dependent AI side (version 2), `None` for version 1.
    v2: Option<V2Day<'a>>,
}

/// The per-block state of the path-dependent AI side of [`SimDay`]: the AI book of every plan's
/// conversions, the AI NPV per plan and lane, and `ai.mine_during_build`'s corrections.
struct V2Day<'a> {
    book: AiBook<'a>,
    /// First project of each plan in the book (and one past the last).
    proj_off: Vec<usize>,
    /// Discounted AI cash per plan and lane, `[k · lanes + i]`.
    ai_npv: Vec<f64>,
    /// BTC view: the undiscounted USD AI cash of the terminal value's days, `[k · lanes + i]`.
    ai_tail: Vec<f64>,
    /// Per plan and conversion of `builds`: the index of its era in force.
    build_era: Vec<Vec<usize>>,
    /// Margins of all lanes for the corrections, type-major (`j · lanes + i`).
    margins: Vec<f64>,
    rev_th: Vec<f64>,
    corr: Vec<f64>,
    /// `[finance]`: each plan's loans and equity cash (MODEL.md §10); empty when unlevered.
    equity: Vec<EquityBook>,
}

impl<'a> V2Day<'a> {
    fn new(ctx: &'a Ctx<'a>, terms: &'a AiTerms, b: u64, lanes: usize) -> V2Day<'a> {
        let mut proj_off = vec![0];
        let mut projects = Vec::new();
        for p in ctx.plans {
            projects.extend(p.projects.iter().copied());
            proj_off.push(projects.len());
        }
        let any_builds = ctx.plans.iter().any(|p| !p.builds.is_empty());
        let types = if any_builds { max_types(ctx.eras) } else { 0 };
        let mut book = AiBook::new(terms, projects, ctx.seed, b, lanes);
        if ctx.debt.is_some() {
            // For the equity books' replayed lease cash (`EquityBook::finish_with`).
            book.keep_log();
        }
        let equity = match ctx.debt {
            Some(debt) => (0..ctx.plans.len())
                .map(|k| {
                    let (p0, p1) = (proj_off[k], proj_off[k + 1]);
                    let mut e =
                        EquityBook::with_currency(p1 - p0, lanes, debt.days, ctx.btc_ai.is_some());
                    for p in p0..p1 {
                        for (i, &r) in book.ready(p).iter().enumerate() {
                            e.set_ready(p - p0, i, r);
                        }
                    }
                    e
                })
                .collect(),
            None => Vec::new(),
        };
        V2Day {
            equity,
            book,
            proj_off,
            ai_npv: vec![0.0; ctx.plans.len() * lanes],
            ai_tail: vec![
                0.0;
                if ctx.btc_ai.is_some() {
                    ctx.plans.len() * lanes
                } else {
                    0
                }
            ],
            build_era: ctx.plans.iter().map(|p| vec![0; p.builds.len()]).collect(),
            margins: vec![0.0; types * lanes],
            rev_th: vec![0.0; if any_builds { lanes } else { 0 }],
            corr: vec![0.0; if any_builds { lanes } else { 0 }],
        }
    }

    /// The day's AI cash of every plan (discounted into `ai_npv`, and into the plan's year cash
    /// when it is banded), then `ai.mine_during_build`'s mining corrections.
    #[inline(always)]
    fn day(&mut self, sd: &mut SimDayView<'_>, d: &LaneDay, day: &MiningDay, defs: &[BatchDef]) {
        let ctx = sd.ctx;
        let prep = ctx.prep;
        let (lanes, years, banded) = (sd.lanes, sd.years, sd.banded);
        let t = d.t;
        self.book.day(&AiDay {
            t,
            ln_l: &d.ln_l[..lanes],
            s: &d.s[..lanes],
            usd_mwh: day.usd_mwh,
        });
        let w = prep.w_ai[t];
        let y = t / 365;
        for k in 0..ctx.plans.len() {
            for p in self.proj_off[k]..self.proj_off[k + 1] {
                if !self.book.started(p, t) {
                    continue;
                }
                let lane_range = k * lanes..(k + 1) * lanes;
                let at = (k * years + y) * lanes;
                if let Some(debt) = ctx.debt {
                    let c = p - self.proj_off[k];
                    let (capex, op) = (self.book.capex(p), self.book.opcash(p));
                    let gpu = Some(self.book.gpu_buy(p)).filter(|g| !g.is_empty());
                    let s = ctx.btc_ai.map(|_| &d.s[..lanes]);
                    // A plan's only conversion, a lease whose capex is over: its later cash is
                    // replayed from the book's log, not stored (in BTC: with the day's prices).
                    let single = self.proj_off[k + 1] - self.proj_off[k] == 1;
                    let settled = single && self.book.settled_lease(p);
                    let pd = ProjectDay {
                        capex,
                        gpu,
                        opcash: op,
                        s,
                        settled,
                    };
                    self.equity[k].project_day(debt, c, t, pd);
                }
                if let Some(disc) = ctx.btc_ai {
                    // MODEL.md §11: the day's AI cash in BTC at the lane's price.
                    let s = &d.s[..lanes];
                    let npv = &mut self.ai_npv[lane_range.clone()];
                    self.book.add_cash_per(p, disc.df[t], s, npv);
                    if t >= disc.first_tv {
                        self.book.add_cash(p, 1.0, &mut self.ai_tail[lane_range]);
                    }
                    if k < banded {
                        self.book
                            .add_cash_per(p, 1.0, s, &mut sd.ycash[at..at + lanes]);
                    }
                    continue;
                }
                self.book.add_cash(p, w, &mut self.ai_npv[lane_range]);
                if k < banded {
                    self.book.add_cash(p, 1.0, &mut sd.ycash[at..at + lanes]);
                }
            }
        }
        self.builds(sd, d, day, defs);
    }

    /// `ai.mine_during_build` (see [`BuildCorr`]): per plan and conversion in its build, the
    /// machines' cash of the day on the lanes whose hall is not ready, the refresh of those
    /// machines, and the sale moved from the decision day to the ready day.
    #[inline(always)]
    fn builds(&mut self, sd: &mut SimDayView<'_>, d: &LaneDay, day: &MiningDay, defs: &[BatchDef]) {
        let ctx = sd.ctx;
        let m = &ctx.prep.scenario.mining;
        let (lanes, years, banded) = (sd.lanes, sd.years, sd.banded);
        let t = d.t;
        let (hv, s) = (&d.hv[..lanes], &d.s[..lanes]);
        let mut have_margins = false;
        for (k, plan) in ctx.plans.iter().enumerate() {
            for (c, b) in plan.builds.iter().enumerate() {
                if t < b.tau {
                    continue;
                }
                let mut e = self.build_era[k][c];
                while e + 1 < b.eras.len() && b.eras[e + 1].day <= t {
                    e += 1;
                }
                self.build_era[k][c] = e;
                let ready = self.book.ready(self.proj_off[k] + b.project);
                let era = &b.eras[e];
                let last = ready.iter().copied().max().unwrap_or(0);
                if t > last {
                    continue;
                }
                if !have_margins {
                    day.revenue_per_th(hv, s, &mut self.rev_th);
                    day.type_margins(defs, &self.rev_th, lanes, &mut self.margins);
                    have_margins = true;
                }
                let corr = &mut self.corr[..lanes];
                corr.fill(0.0);
                for i in 0..lanes {
                    if t < ready[i] {
                        let mut x = -era.opex_day;
                        for (j, &u) in era.units.iter().enumerate() {
                            x += u * self.margins[j * lanes + i];
                        }
                        corr[i] = x;
                    }
                }
                if e > 0 && era.day == t {
                    for i in 0..lanes {
                        if t <= ready[i] {
                            corr[i] += m.salvage_usd_per_th * era.sold_th
                                - m.hw_days_of_hashprice * hv[i] * s[i] * era.buy_th;
                        }
                    }
                }
                if t == b.tau {
                    for x in corr.iter_mut() {
                        *x -= m.salvage_usd_per_th * b.eras[0].th;
                    }
                }
                for i in 0..lanes {
                    if t == ready[i] {
                        corr[i] += m.salvage_usd_per_th * era.th;
                    }
                }
                let mut w = ctx.prep.w_mining[t];
                if let Some(disc) = ctx.btc {
                    // MODEL.md §11, as in `CashChunks::chunk`.
                    if t >= disc.first_tv {
                        let tail = &mut sd.btc_tail[k * lanes..(k + 1) * lanes];
                        for i in 0..lanes {
                            tail[i] += corr[i];
                        }
                    }
                    for i in 0..lanes {
                        corr[i] /= s[i];
                    }
                    w = disc.df[t];
                }
                let npv = &mut sd.mining_npv[k * lanes..(k + 1) * lanes];
                for i in 0..lanes {
                    npv[i] += corr[i] * w;
                }
                if k < banded {
                    let at = (k * years + t / 365) * lanes;
                    let yc = &mut sd.ycash[at..at + lanes];
                    for i in 0..lanes {
                        yc[i] += corr[i];
                    }
                }
            }
        }
    }
}

/// The parts of [`SimDay`] that [`V2Day`] adds to.
struct SimDayView<'a> {
    ctx: &'a Ctx<'a>,
    lanes: usize,
    years: usize,
    banded: usize,
    mining_npv: &'a mut [f64],
    ycash: &'a mut [f64],
    /// BTC view: the mining stream's terminal-value cash (see [`SimDay`]).
    btc_tail: &'a mut [f64],
}

impl DayConsumer for SimDay<'_, '_> {
    #[inline(always)]
    fn day(&mut self, d: &LaneDay) {
        let ctx = self.ctx;
        let prep = ctx.prep;
        let lanes = self.lanes;
        let (years, banded) = (self.years, self.banded);
        let hw_days = self.hw_days;
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
                        refresh_cash(seg.cash_const, hw_days, seg.buy_th, hv, s, ex);
                    }
                }
            }
        }
        let defs = &ctx.eras[self.era].defs;
        let day = MiningDay::new(prep, t);
        let flat = day.hourly.is_none();
        if !flat {
            // `[power] hourly`: each type runs in the hours below its break-even (crate::power);
            // the curve prices whole slices, so these margins are computed for all lanes first.
            let rev_th = &mut self.rev_th[..lanes];
            day.revenue_per_th(hv, s, rev_th);
            day.type_margins(defs, rev_th, lanes, &mut self.margins);
        }
        let mut cc = CashChunks {
            plans: ctx.plans,
            seg_idx: &self.seg_idx,
            defs,
            lanes,
            years,
            banded,
            day,
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
            btc: ctx.btc.map(|disc| {
                let tail = (t >= disc.first_tv).then_some(&mut self.btc_tail[..]);
                (disc.df[t], tail)
            }),
        };
        let full = lanes - lanes % CHUNK;
        for o in (0..full).step_by(CHUNK) {
            cc.chunk::<CHUNK>(o);
        }
        for o in full..lanes {
            cc.chunk::<1>(o);
        }
        if let Some(v2) = self.v2.as_mut() {
            let mut view = SimDayView {
                ctx,
                lanes,
                years,
                banded,
                mining_npv: &mut self.mining_npv,
                ycash: &mut self.ycash,
                btc_tail: &mut self.btc_tail,
            };
            v2.day(&mut view, d, &day, defs);
        }
        let y = t / 365;
        if t + 1 == self.n {
            self.s_last.copy_from_slice(&d.s[..lanes]);
        }
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
