//! The hook for the `optimal` strategy (MODEL.md section 6): per-path, per-decision-day quantities
//! of the site cut into `k = strategy.tranches` equal slices, on exactly the paths `simulate` uses.
//!
//! The site of `P` MW is cut into `k` slices of `P / k` MW laid out in removal order: slice 0 holds
//! the first `P / k` MW that a conversion would remove (idle MW first, then the least efficient
//! machines, fractional units), slice 1 the next, and so on. Slices do not interact: each keeps its
//! own machines, is refreshed on the refresh days (its machines sold at salvage, `P / k` MW of
//! frontier machines bought), and may be converted once on a decision day
//! `round(m * 365 / 12)`, `m = 0 ..= decide_months`.
//!
//! For each path `p`, decision day `d` and slice `j`, [`SliceBlock`] holds (all present values at
//! day 0, terminal values included, the mining stream at the mining rate, AI at the AI rate):
//!
//! - `mining_from[(p·D + d)·k + j]`: the slice's mining cash from day `d` on if it is never
//!   converted (day `d` included; a refresh due on day `d` is **excluded**, because MODEL.md runs
//!   the refresh before the day's conversions, so it happens whether or not the slice converts);
//! - `convert_at[...]`: the value of converting the slice on day `d`: the AI cash of `P/k` MW
//!   (capex, rent signed at `L_d`, renewals at the market rate of each term's first day, defaults,
//!   NOI, terminal value) plus the salvage of the slice's machines sold on day `d`;
//! - `mining_total[p·k + j]`: the slice's mining value if never converted (= `mining_from` at day 0).
//!
//! So the exercise value on day `d` is `convert_at - mining_from`, a policy that converts slice `j`
//! on day `τ_j` (or never) is worth `Σ_j mining_total_j - mining_from_j(τ_j) + convert_at_j(τ_j)`,
//! and `Σ_j mining_total_j` is the `mine` NPV of the path (up to summation order).
//! The regression state at each decision day is in `hashprice` ($/PH/day), `lease` ($/kW-month)
//! and `price` (BTC/USD).
//!
//! Paths: block `b` of [`Slices::block`] with seed `s` is block `b` of `simulate` with seed `s`
//! (same keyed stream), so in-sample values are on the paths of the other strategies. For an
//! out-of-sample pass use fresh blocks, e.g. `OUT_OF_SAMPLE_BLOCK + b`.

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

use crate::payoff::ai::{path_dependent, AiBook, AiDay, AiProject, AiTerms};
use crate::payoff::site::{
    ai_project, fleet_eras, initial_units, max_types, AiLinear, FleetEra, Layout,
};
use crate::payoff::{refresh_cash, MiningDay};
use crate::process::{LaneDay, Prepared, BLOCK};
use crate::scenario::Scenario;
use crate::ModelError;

/// First block index for out-of-sample paths (streams never used by an in-sample run).
pub const OUT_OF_SAMPLE_BLOCK: u64 = 1 << 40;

/// Precomputed slice layout and AI coefficients of a scenario.
#[derive(Debug, Clone)]
pub struct Slices {
    prep: Prepared,
    eras: Vec<FleetEra>,
    k: usize,
    days: Vec<usize>,
    /// Era-0 units of each slice (removal order).
    units0: Vec<Vec<f64>>,
    /// AI value of converting one slice on each decision day (version 1; empty when the AI side
    /// is path-dependent).
    ai: Vec<AiLinear>,
    /// The path-dependent AI side's constants ([`crate::payoff::ai`]), `None` for version 1.
    terms: Option<AiTerms>,
    opex_rate: f64,
    slice_mw: f64,
}

/// Per-path quantities of one block (layouts documented in the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct SliceBlock {
    /// Block index.
    pub block: u64,
    /// Paths in the block.
    pub paths: usize,
    /// Number of slices `k`.
    pub tranches: usize,
    /// Decision days (`D` of them).
    pub days: Vec<usize>,
    /// Hashprice on each decision day, $/PH/day, `[p·D + d]`.
    pub hashprice: Vec<f64>,
    /// Lease market rate on each decision day, $/kW-month, `[p·D + d]`.
    pub lease: Vec<f64>,
    /// BTC/USD on each decision day, `[p·D + d]`.
    pub price: Vec<f64>,
    /// Discounted mining cash from day `d` on, `[(p·D + d)·k + j]`.
    pub mining_from: Vec<f64>,
    /// Discounted value of converting on day `d`, `[(p·D + d)·k + j]`.
    pub convert_at: Vec<f64>,
    /// Discounted mining cash if never converted, `[p·k + j]`.
    pub mining_total: Vec<f64>,
}

impl Slices {
    /// Prepares the slices of a (valid) scenario.
    pub fn new(sc: &Scenario) -> Result<Slices, ModelError> {
        sc.validate()?;
        let prep = Prepared::new(sc);
        let n = prep.n;
        let k = sc.strategy.tranches.max(1) as usize;
        let days: Vec<usize> = (0..=sc.strategy.decide_months)
            .map(|m| (m as f64 * 365.0 / 12.0).round() as usize)
            .filter(|&d| d < n)
            .collect();
        let eras = fleet_eras(sc, &prep.eta);
        let slice_mw = sc.site.power_mw / k as f64;
        let mut layout = Layout {
            capacity_mw: sc.site.power_mw,
            converted_mw: 0.0,
            units: initial_units(sc),
            overhead: sc.mining.overhead,
        };
        let units0 = (0..k)
            .map(|_| layout.remove_mw(&eras[0].defs, slice_mw))
            .collect();
        let years = n.div_ceil(365).max(1);
        let terms = path_dependent(sc).then(|| AiTerms::new(sc, n));
        let ai = days
            .iter()
            .filter(|_| terms.is_none())
            .map(|&d| {
                ai_project(
                    sc,
                    d,
                    slice_mw * sc.ai.it_mw_per_gross_mw,
                    &prep.w_ai,
                    years,
                )
            })
            .collect();
        Ok(Slices {
            opex_rate: sc.mining.opex_usd_per_mw_month * 12.0 / 365.0,
            prep,
            eras,
            k,
            days,
            units0,
            ai,
            terms,
            slice_mw,
        })
    }

    /// The decision days.
    pub fn decision_days(&self) -> &[usize] {
        &self.days
    }

    /// Number of slices.
    pub fn tranches(&self) -> usize {
        self.k
    }

    /// Number of blocks for `paths` paths (the last may be partial).
    pub fn blocks(paths: u64) -> u64 {
        paths.div_ceil(BLOCK as u64)
    }

    /// Paths in block `b` of a run of `paths` paths.
    pub fn paths_in_block(paths: u64, b: u64) -> usize {
        (paths - b * BLOCK as u64).min(BLOCK as u64) as usize
    }

    /// Simulates `paths` (≤ [`BLOCK`]) paths of block `block` with `seed`.
    pub fn block(&self, seed: u64, block: u64, paths: usize, antithetic: bool) -> SliceBlock {
        let prep = &self.prep;
        let sc = &prep.scenario;
        let m = &sc.mining;
        let k = self.k;
        let nd = self.days.len();
        let lanes = paths.min(BLOCK);
        let mut out = SliceBlock {
            block,
            paths: lanes,
            tranches: k,
            days: self.days.clone(),
            hashprice: vec![0.0; lanes * nd],
            lease: vec![0.0; lanes * nd],
            price: vec![0.0; lanes * nd],
            mining_from: vec![0.0; lanes * nd * k],
            convert_at: vec![0.0; lanes * nd * k],
            mining_total: vec![0.0; lanes * k],
        };
        // Lease signing days needed by any decision day's AI value.
        let mut l_days: Vec<usize> = self
            .ai
            .iter()
            .flat_map(|a| a.npv_terms.iter().map(|t| t.0))
            .collect();
        l_days.sort_unstable();
        l_days.dedup();
        let n_l = l_days.len();
        let mut l_vals = vec![0.0f64; n_l.max(1) * lanes];
        l_days.push(usize::MAX);
        // The slices' units are the same on every path (refreshes are deterministic).
        let mut units: Vec<Vec<f64>> = self.units0.clone();
        let max_types = max_types(&self.eras);
        let mut margins = vec![0.0f64; max_types * lanes];
        let mut rev_th = vec![0.0f64; lanes];
        let mut cash = vec![0.0f64; lanes];
        let mut refresh = vec![0.0f64; k * lanes];
        let mut cum = vec![0.0f64; k * lanes];
        let mut prefix = vec![0.0f64; nd * k * lanes];
        let mut refresh_pv = vec![0.0f64; nd * k * lanes];
        let mut held_th = vec![0.0f64; nd * k];
        let mut era = 0usize;
        let mut di = 0usize;
        let mut li = 0usize;
        let mut v2 = self
            .terms
            .as_ref()
            .map(|terms| SliceBook::new(self, terms, seed, block, lanes));
        prep.run_block(seed, block, lanes, antithetic, &mut |d: &LaneDay| {
            let t = d.t;
            let mut refreshed = false;
            if era + 1 < self.eras.len() && self.eras[era + 1].start_day == t {
                let old = &self.eras[era].defs;
                let bought = self.slice_mw * 1e6 / (m.overhead * prep.eta[t]);
                for (j, u) in units.iter_mut().enumerate() {
                    let sold: f64 = u.iter().zip(old).map(|(n, b)| n * b.ths).sum();
                    let r = &mut refresh[j * lanes..(j + 1) * lanes];
                    let sold_usd = m.salvage_usd_per_th * sold;
                    refresh_cash(sold_usd, m.hw_days_of_hashprice, bought, d.hv, d.s, r);
                    *u = vec![bought];
                }
                era += 1;
                refreshed = true;
            }
            let defs = &self.eras[era].defs;
            // The day's margin of one unit of each type (the payoff kernel).
            let day = MiningDay::new(prep, t);
            day.revenue_per_th(&d.hv[..lanes], &d.s[..lanes], &mut rev_th);
            day.type_margins(defs, &rev_th, lanes, &mut margins);
            let w = prep.w_mining[t];
            let decision = di < nd && self.days[di] == t;
            if let Some(v2) = v2.as_mut() {
                let held =
                    |j: usize| -> f64 { units[j].iter().zip(defs).map(|(n, b)| n * b.ths).sum() };
                v2.day(d, lanes, &cum, refreshed.then_some(&refresh[..]), held);
            }
            for (j, u) in units.iter().enumerate() {
                let fleet_mw: f64 = u
                    .iter()
                    .zip(defs)
                    .map(|(n, b)| n * b.power_w * m.overhead / 1e6)
                    .sum();
                let c = &mut cash[..lanes];
                c.fill(-self.opex_rate * fleet_mw);
                for (ty, &n_units) in u.iter().enumerate() {
                    let mg = &margins[ty * lanes..(ty + 1) * lanes];
                    for i in 0..lanes {
                        c[i] += n_units * mg[i];
                    }
                }
                if refreshed {
                    let r = &refresh[j * lanes..(j + 1) * lanes];
                    for i in 0..lanes {
                        c[i] += r[i];
                    }
                }
                let cj = &mut cum[j * lanes..(j + 1) * lanes];
                if decision {
                    let o = (di * k + j) * lanes;
                    prefix[o..o + lanes].copy_from_slice(cj);
                    if refreshed {
                        let r = &refresh[j * lanes..(j + 1) * lanes];
                        for i in 0..lanes {
                            refresh_pv[o + i] = r[i] * w;
                        }
                    }
                    held_th[di * k + j] = u.iter().zip(defs).map(|(n, b)| n * b.ths).sum();
                }
                for i in 0..lanes {
                    cj[i] += c[i] * w;
                }
            }
            if t == l_days[li] {
                l_vals[li * lanes..(li + 1) * lanes].copy_from_slice(&d.ln_l[..lanes]);
                li += 1;
            }
            if decision {
                for i in 0..lanes {
                    let o = i * nd + di;
                    out.hashprice[o] = d.hv[i] * d.s[i] * 1000.0;
                    out.lease[o] = d.ln_l[i].exp();
                    out.price[o] = d.s[i];
                }
                di += 1;
            }
        });
        if let Some(v2) = v2.as_mut() {
            v2.finish(&cum, lanes);
        }
        let sums = Sums {
            v2: v2.as_ref(),
            cum: &cum,
            prefix: &prefix,
            refresh_pv: &refresh_pv,
            held_th: &held_th,
            l_days: &l_days,
            l_vals: &l_vals,
        };
        self.finish(&sums, &mut out);
        out
    }

    /// Per path, the slices' values from the day loop's sums: `mining_total`, `mining_from`
    /// (the mining cash from each decision day on) and `convert_at` (the AI value of converting
    /// then, plus the salvage of the slice's machines).
    fn finish(&self, s: &Sums<'_>, out: &mut SliceBlock) {
        let (k, nd, lanes) = (self.k, self.days.len(), out.paths);
        let salvage = self.prep.scenario.mining.salvage_usd_per_th;
        for i in 0..lanes {
            for j in 0..k {
                out.mining_total[i * k + j] = s.cum[j * lanes + i];
            }
            for (di, &day) in self.days.iter().enumerate() {
                if let Some(v2) = s.v2 {
                    for j in 0..k {
                        let o = (di * k + j) * lanes + i;
                        let q = (i * nd + di) * k + j;
                        let from = s.cum[j * lanes + i] - s.prefix[o] - s.refresh_pv[o];
                        out.mining_from[q] = from;
                        out.convert_at[q] = v2.ai[o]
                            + if v2.mine_during_build {
                                // The slice mines until its ready day, then is sold (§8).
                                v2.at_ready[o] - (s.prefix[o] + s.refresh_pv[o])
                            } else {
                                salvage * s.held_th[di * k + j] * self.prep.w_mining[day]
                            };
                    }
                    continue;
                }
                let v = self.ai[di].npv(|_, sign| {
                    s.l_vals[s.l_days.binary_search(&sign).unwrap_or(0) * lanes + i]
                });
                for j in 0..k {
                    let o = (di * k + j) * lanes + i;
                    let q = (i * nd + di) * k + j;
                    out.mining_from[q] = s.cum[j * lanes + i] - s.prefix[o] - s.refresh_pv[o];
                    out.convert_at[q] =
                        v + salvage * s.held_th[di * k + j] * self.prep.w_mining[day];
                }
            }
        }
    }
}

/// The path-dependent AI side of [`Slices::block`] (MODEL.md §8): one AI project per decision
/// day and slice, its draws keyed by the slice index (so a slice has the same build delay,
/// overrun and tenant history whatever day it is converted), and with `ai.mine_during_build`
/// the slice's mining value up to and including its sale on each lane's ready day.
struct SliceBook<'a> {
    book: AiBook<'a>,
    k: usize,
    /// Discounted AI cash of converting slice `j` on decision day `d`, `[(d · k + j) · lanes + i]`.
    ai: Vec<f64>,
    mine_during_build: bool,
    /// With `mine_during_build`: the slice's discounted mining cash before its ready day, plus
    /// that day's refresh and the sale of its machines then, `[(d · k + j) · lanes + i]` (the
    /// whole horizon's when the hall is not ready inside it).
    at_ready: Vec<f64>,
    /// Whether `at_ready` was recorded for the entry.
    recorded: Vec<bool>,
    salvage: f64,
    w_ai: &'a [f64],
    w_mining: &'a [f64],
}

impl<'a> SliceBook<'a> {
    fn new(s: &'a Slices, terms: &'a AiTerms, seed: u64, block: u64, lanes: usize) -> Self {
        let sc = &s.prep.scenario;
        let mut projects = Vec::with_capacity(s.days.len() * s.k);
        for &d in &s.days {
            for j in 0..s.k {
                projects.push(AiProject {
                    tau: d,
                    it_mw: s.slice_mw * sc.ai.it_mw_per_gross_mw,
                    key: j as u64,
                });
            }
        }
        let size = projects.len() * lanes;
        let mdb = terms.mine_during_build;
        SliceBook {
            book: AiBook::new(terms, projects, seed, block, lanes),
            k: s.k,
            ai: vec![0.0; size],
            mine_during_build: mdb,
            at_ready: vec![0.0; if mdb { size } else { 0 }],
            recorded: vec![false; if mdb { size } else { 0 }],
            salvage: sc.mining.salvage_usd_per_th,
            w_ai: &s.prep.w_ai,
            w_mining: &s.prep.w_mining,
        }
    }

    /// Day `d.t`: every started project's AI cash, and the slices' values on the lanes whose hall
    /// is ready today. `cum` is each slice's discounted mining cash before today, `refresh` the
    /// undiscounted refresh cash of today (if any), `held(j)` the TH/s slice `j` holds after it.
    #[inline]
    fn day(
        &mut self,
        d: &LaneDay,
        lanes: usize,
        cum: &[f64],
        refresh: Option<&[f64]>,
        held: impl Fn(usize) -> f64,
    ) {
        let t = d.t;
        self.book.day(&AiDay {
            t,
            ln_l: &d.ln_l[..lanes],
            s: &d.s[..lanes],
            usd_mwh: 0.0,
        });
        let w = self.w_ai[t];
        for p in 0..self.book.projects().len() {
            if !self.book.started(p, t) {
                continue;
            }
            let r = p * lanes..(p + 1) * lanes;
            self.book.add_cash(p, w, &mut self.ai[r.clone()]);
            if !self.mine_during_build {
                continue;
            }
            let j = p % self.k;
            let ready = self.book.ready(p);
            for i in 0..lanes {
                if ready[i] == t {
                    let o = p * lanes + i;
                    let rf = refresh.map_or(0.0, |x| x[j * lanes + i]);
                    self.at_ready[o] =
                        cum[j * lanes + i] + (rf + self.salvage * held(j)) * self.w_mining[t];
                    self.recorded[o] = true;
                }
            }
        }
    }

    /// After the last day: a hall not ready inside the horizon keeps its slice mining to the end.
    fn finish(&mut self, cum: &[f64], lanes: usize) {
        if !self.mine_during_build {
            return;
        }
        for o in 0..self.at_ready.len() {
            if !self.recorded[o] {
                let (p, i) = (o / lanes, o % lanes);
                self.at_ready[o] = cum[(p % self.k) * lanes + i];
            }
        }
    }
}

/// The sums of [`Slices::block`]'s day loop, lane-major within each slice (`[j · lanes + i]`,
/// `[(d · k + j) · lanes + i]`).
struct Sums<'a> {
    /// The path-dependent AI side, `None` for version 1.
    v2: Option<&'a SliceBook<'a>>,
    /// Discounted mining cash of each slice over the whole horizon.
    cum: &'a [f64],
    /// The same up to (not including) each decision day.
    prefix: &'a [f64],
    /// The discounted refresh cash of a decision day that is also a refresh day.
    refresh_pv: &'a [f64],
    /// TH/s a slice holds on each decision day.
    held_th: &'a [f64],
    /// The lease signing days (ascending, then a sentinel).
    l_days: &'a [usize],
    /// `ln L` on each signing day, `[signing day · lanes + i]`.
    l_vals: &'a [f64],
}
