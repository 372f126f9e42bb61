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

use crate::payoff::site::{
    ai_project, fleet_eras, initial_units, max_types, AiLinear, FleetEra, Layout,
};
use crate::payoff::{refresh_cash, MiningDay};
use crate::process::{DayConsumer, LaneDay, Prepared, BLOCK};
use crate::result::{Band, Bands, SimOutput, SiteCashBand};
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
    ai: AiLinear,
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
    /// An empty range starting at `first_block`, shaped for `np` strategies over `years`.
    pub fn empty(years: usize, np: usize, banded: usize, first_block: usize) -> Raw {
        Raw {
            years,
            np,
            banded,
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
        ]
    }

    /// Blocks of the range.
    pub fn blocks(&self) -> usize {
        self.block_mining.len() / self.np.max(1)
    }

    /// Appends the next range of blocks (`other` must start where `self` ends and have the same
    /// shape), column by column.
    pub fn append(&mut self, mut other: Raw) -> Result<(), String> {
        let shape = |r: &Raw| (r.years, r.np, r.banded);
        if shape(self) != shape(&other) {
            return Err(format!(
                "shape (years, strategies, banded) {:?} does not continue {:?}",
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
    };
    (out, cols)
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
    simulate_blocks(sc, specs, paths, 0..nblocks, seed, antithetic, progress)
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
    let banded = banded(paths, np);
    let first_path = (blocks.start * BLOCK).min(paths as usize);
    let paths_us = (blocks.end * BLOCK).min(paths as usize) - first_path;
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
            let s = ctx.block((blocks.start + b) as u64, npv, bm, bc);
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(d as f64 / nblocks as f64);
            s
        })
        .collect();
    let mut raw = Raw::empty(years, np, banded, blocks.start);
    raw.paths = paths_us;
    raw.npv = npv;
    raw.band_market = band_market;
    raw.band_cash = band_cash;
    for s in &sums {
        raw.block_mining.extend_from_slice(&s.mining);
        raw.block_ai.extend_from_slice(&s.ai);
    }
    raw
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
        let hw_days = m.hw_days_of_hashprice;
        let max_types = max_types(self.eras);
        let mut day = SimDay {
            ctx: self,
            lanes,
            years,
            banded,
            n,
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
                let ln_l = |j: usize, _| l_vals[term_idx[k][j] * lanes + i];
                let v = ai.npv(ln_l);
                let mn = mining_npv[k * lanes + i];
                npv_out[i * np + k] = mn + v;
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
