//! The `optimal` strategy (MODEL.md section 6): the site in `k = strategy.tranches` slices, each
//! convertible once, irreversibly, on a monthly decision day, valued by least-squares Monte Carlo
//! (Longstaff–Schwartz 2001) in two phases that may run on separate machines (MODEL.md
//! section 12).
//!
//! # Pieces
//!
//! - **Process, discretization, random stream**: the engine's daily simulation through the
//!   [`crate::payoff::slices`] hook, which gives per path and decision day the state (hashprice, lease
//!   rate, BTC price) and, per slice, the present value at day 0 of converting on that day
//!   (`convert_at`) and of the slice's mining cash from that day on (`mining_from`). In-sample
//!   paths are blocks `0, 1, …` of the run's seed — the very paths of the other strategies — and
//!   out-of-sample paths are fresh blocks from [`OUT_OF_SAMPLE_BLOCK`] on.
//! - **Exercise value** of slice `j` on decision day `d`: `convert_at − mining_from`, a realized sum
//!   of future cash flows (not known on day `d`); with `[finance]` the owner's value,
//!   `convert_eq − mining_from` ([`SliceBlock::exercise`]: the AI stream levered, MODEL.md §10),
//!   so the policy responds to the debt's terms. In the BTC view (MODEL.md §11) every value is in
//!   BTC, so the policy maximizes what the conversion adds to a bitcoin treasury. The regression target is therefore the realized
//!   gain of converting now over continuing, on *all* paths (why the put's "in the money" filter
//!   would leak foresight here is explained in `hashpivot_lsm::stopping`), and the slice converts
//!   iff the fitted gain is positive.
//! - **Basis**: a degree-2 polynomial with cross terms in standardized `ln hashprice_d`, `ln L_d`,
//!   `ln S_d`. On day 0 every path is in the same state, so the features are constant, get scale 0,
//!   and the regression reduces to its intercept (the mean gain); the same happens on every day of a
//!   zero-volatility scenario, where the policy then picks each slice's best day exactly.
//!
//! # Phases
//!
//! 0. **Pilot** ([`Pilot`], the same on every machine): Longstaff–Schwartz on the first
//!    [`PILOT_PATHS`] in-sample paths. Its later-date rules define the continuation in the
//!    regression targets, its moments standardize the features (see `optimal_pilot`).
//! 1. **Fit sums** ([`fit_sums`] on a range of blocks → [`FitSums`], merged with
//!    [`FitSums::merge`]): per slice and date the normal equations of "convert now" over "continue
//!    under the pilot's later rules", streamed block by block (no path is stored) and summed
//!    exactly, so any split into shards gives the same bits. [`fit`] solves them once per date
//!    into the [`OptimalPolicy`].
//! 2. **Price** ([`price`] on a range of blocks → [`PricedPaths`], merged in block order): the
//!    frozen policy on the in-sample paths (Longstaff–Schwartz's in-sample estimator) and on fresh
//!    ones (out-of-sample: a lower bound on the true value, the policy only uses the state), then
//!    [`finish`] reports both with standard errors (over antithetic pairs when antithetic), their
//!    gap, perfect foresight, the value of flexibility, the policy table and its boundaries.
//!
//! [`run`], the single-machine strategy, is exactly these phases over all blocks. The in-sample
//! blocks are simulated once and kept between the passes (up to [`CACHE_BYTES`]); in a whole run
//! (`crate::run::simulate`) they are simulated in the fixed strategies' pass, whose `mine` reads
//! the same paths: one engine run feeds both, with the same values as two
//! ([`OptimalSetup::shared`]).
//!
//! Slices do not interact (MODEL.md section 6), so the site's policy is the product of `k` optimal
//! stopping problems, fitted side by side on the same paths.

// Path loops index several per-path arrays in lockstep; explicit indices read clearest there.
#![allow(clippy::needless_range_loop)]

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hashpivot_lsm::regress::{Basis, Gram};
use rayon::prelude::*;

use crate::payoff::slices::{SliceBlock, Slices, OUT_OF_SAMPLE_BLOCK};
use crate::result::StrategyDetail;
use crate::result::StrategyResult;
pub use crate::result::{
    Boundary, Est, Flexibility, OptimalDetail, OptimalObjective, PolicyTable, Regime,
    RegressionInfo, SliceSummary,
};
use crate::scenario::Scenario;
use crate::strategy::fixed::{SharedSlices, SliceSink};
pub use crate::strategy::optimal_pilot::{features, Pilot, FEATURES, PILOT_PATHS};
pub use crate::strategy::optimal_policy::{
    FitHeader, FitSums, OptimalPolicy, PricedColumn, PricedEquity, PricedObjective, PricedPaths,
    Sample, NEVER,
};
use crate::strategy::optimal_report::{detail, in_sample_values};
use crate::ModelError;

/// Largest memory `optimal` allocates for its pilot and per-path values, bytes.
pub const MAX_BYTES: f64 = 8e9;

/// How to run the `optimal` strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimalConfig {
    /// In-sample paths (the run's paths).
    pub paths: u64,
    /// Fresh paths for the out-of-sample estimate.
    pub fresh_paths: u64,
    /// Seed (the run's seed).
    pub seed: u64,
    /// Antithetic pairs (as the run).
    pub antithetic: bool,
    /// Degree of the regression polynomial (MODEL.md: 2).
    pub degree: usize,
}

impl OptimalConfig {
    /// The configuration of a run: `paths` in-sample paths and as many fresh ones, degree 2.
    pub fn new(paths: u64, seed: u64, antithetic: bool) -> Self {
        OptimalConfig {
            paths,
            fresh_paths: paths,
            seed,
            antithetic,
            degree: 2,
        }
    }
}

/// The `optimal` strategy's output.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimalOutput {
    /// The common result fields (in-sample NPV distribution on the run's paths, `strategy =
    /// "optimal"`), computed by [`crate::stats::summarize`] like every other strategy.
    pub result: StrategyResult,
    /// The fields only `optimal` has.
    pub detail: OptimalDetail,
    /// In-sample NPV of each path (path order), e.g. for charts.
    pub npv: Vec<f64>,
    /// `mine` NPV of each path (the sum of the slices' mining values).
    pub mine_npv: Vec<f64>,
    /// The fitted policy.
    pub policy: OptimalPolicy,
}

impl OptimalOutput {
    /// The `results[]` entry of `simulate --json`: the common fields with
    /// [`StrategyDetail::Optimal`] (`npv_out_of_sample`, `policy`, `boundary`, ...).
    pub fn strategy_result(&self) -> StrategyResult {
        StrategyResult {
            detail: Some(StrategyDetail::Optimal(Box::new(self.detail.clone()))),
            ..self.result.clone()
        }
    }
}

fn bad(option: &str, value: String, allowed: &str) -> ModelError {
    ModelError::BadOption {
        option: option.into(),
        value,
        allowed: allowed.into(),
    }
}

fn check(sc: &Scenario, cfg: &OptimalConfig) -> Result<(), ModelError> {
    if cfg.paths < 2 || cfg.paths > crate::scenario::MAX_PATHS {
        return Err(bad(
            "paths",
            cfg.paths.to_string(),
            "2 <= paths <= 20000000 for optimal (a regression needs paths)",
        ));
    }
    if cfg.fresh_paths == 0 || cfg.fresh_paths > crate::scenario::MAX_PATHS {
        return Err(bad(
            "fresh_paths",
            cfg.fresh_paths.to_string(),
            "1 <= fresh_paths <= 20000000",
        ));
    }
    if cfg.degree > 4 {
        return Err(bad("degree", cfg.degree.to_string(), "0 <= degree <= 4"));
    }
    if sc.strategy.tranches == 0 {
        return Err(bad(
            "strategy.tranches",
            "0".into(),
            "1 <= tranches <= 1000",
        ));
    }
    Ok(())
}

/// Bytes `optimal` holds at its peak: the pilot's paths (features and gains per date of its
/// largest window of dates; the pilot has `min(pilot_paths, paths)` paths), the per-path values of both samples, and the regression
/// sums of the blocks in flight.
pub fn memory_bytes(
    paths: u64,
    fresh_paths: u64,
    pilot_paths: u64,
    dates: usize,
    tranches: usize,
) -> f64 {
    let (nd, k) = (dates as f64, tranches as f64);
    let pilot =
        crate::strategy::optimal_pilot::held_bytes(pilot_paths.min(paths), dates, tranches) as f64;
    // npv, mine_npv, mining, ai; per slice stop (4), gain, gain0, foresight; then the report's
    // copies (static shares, flexibility, one slice column at a time).
    let per_path = 4.0 * 8.0 + k * 28.0 + (k + 4.0) * 8.0;
    let sums = 8.0 * nd * k * 66.0 * 8.0 * 3.0;
    pilot + (paths + fresh_paths) as f64 * per_path + sums
}

/// Refuses a run that would not fit in [`MAX_BYTES`].
fn check_memory(cfg: &OptimalConfig, pilot: u64, nd: usize, k: usize) -> Result<(), ModelError> {
    let bytes = memory_bytes(cfg.paths, cfg.fresh_paths, pilot, nd, k);
    if bytes > MAX_BYTES {
        return Err(bad(
            "paths × decision months × tranches",
            format!(
                "{} × {nd} × {k} (needs {:.1} GB for optimal)",
                cfg.paths,
                bytes / 1e9
            ),
            &format!(
                "at most {:.0} GB: use fewer paths, tranches or decision months",
                MAX_BYTES / 1e9
            ),
        ));
    }
    Ok(())
}

/// Bytes of in-sample blocks [`run`] keeps between its passes (the pilot, phase 1 and phase 2
/// read the same in-sample blocks; kept blocks are not simulated again). Larger runs simulate the
/// rest again, so their memory stays flat in the number of paths.
pub const CACHE_BYTES: usize = 64 << 20;

/// In-sample blocks kept between passes, up to a byte budget. A kept block is the very value a
/// new simulation would give (same keyed stream), so caching never changes a result.
#[derive(Debug, Default)]
struct BlockCache {
    budget: usize,
    inner: Mutex<(usize, HashMap<u64, Arc<SliceBlock>>)>,
}

impl BlockCache {
    fn bytes(b: &SliceBlock) -> usize {
        8 * (b.hashprice.len() * 3
            + b.mining_from.len() * 2
            + b.convert_eq.len()
            + b.mining_total.len()
            + b.grid_ln_s.len()
            + b.grid_ln_l.len())
    }
    /// Whether the budget holds blocks of `sizes` bytes together.
    fn holds(&self, sizes: impl Iterator<Item = usize>) -> bool {
        sizes.sum::<usize>() <= self.budget
    }
    fn get(&self, eb: u64) -> Option<Arc<SliceBlock>> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.1.get(&eb).cloned()
    }
    fn put(&self, eb: u64, b: &Arc<SliceBlock>) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let size = Self::bytes(b);
        if g.0 + size <= self.budget && !g.1.contains_key(&eb) {
            g.0 += size;
            g.1.insert(eb, Arc::clone(b));
        }
    }
    fn remove(&self, eb: u64) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = g.1.remove(&eb) {
            g.0 -= Self::bytes(&b);
        }
    }
}

/// In-sample blocks simulated in the fixed strategies' pass ([`OptimalSetup::shared`]).
impl SliceSink for OptimalSetup {
    fn slices(&self) -> &Slices {
        &self.slices
    }
    fn keep(&self, eb: u64, b: SliceBlock) {
        self.cache.put(eb, &Arc::new(b));
    }
}

/// The deterministic set-up of a run: the scenario's slices, checked against the options.
#[derive(Debug)]
pub struct OptimalSetup {
    slices: Slices,
    cfg: OptimalConfig,
    slice_mw: f64,
    cache: BlockCache,
    /// Most paths the pilot fits on (`strategy.pilot_paths`; absent: every in-sample path, so
    /// that the policy is version 1's Longstaff–Schwartz fit; smaller in tests, to reach the
    /// case of a pilot on part of the paths with few paths).
    pilot_cap: u64,
    /// Most bytes of pilot rows held at once (`optimal_pilot::WINDOW_BYTES`; smaller in tests,
    /// to cut few paths' dates into windows).
    pilot_window: u64,
    /// `[finance]`: the DSCR covenant (the equity view is reported); `None` when unlevered.
    min_dscr: Option<f64>,
}

impl OptimalSetup {
    /// Checks the options and prepares the slices of `sc`.
    pub fn new(sc: &Scenario, cfg: &OptimalConfig) -> Result<OptimalSetup, ModelError> {
        check(sc, cfg)?;
        let slices = Slices::new(sc)?;
        let nd = slices.decision_days().len();
        if nd == 0 {
            return Err(bad(
                "run.horizon_years",
                sc.run.horizon_years.to_string(),
                "a horizon of at least one day (no decision day falls inside it)",
            ));
        }
        let pilot_cap = sc.strategy.pilot_paths.unwrap_or(u64::MAX);
        check_memory(cfg, pilot_cap, nd, slices.tranches())?;
        Ok(OptimalSetup {
            slice_mw: sc.site.power_mw / slices.tranches() as f64,
            slices,
            cfg: *cfg,
            cache: BlockCache::default(),
            pilot_cap,
            pilot_window: crate::strategy::optimal_pilot::WINDOW_BYTES,
            min_dscr: sc.finance.as_ref().map(|f| f.min_dscr),
        })
    }

    /// The pilot on at most `paths` paths (a whole number of engine blocks).
    #[cfg(test)]
    fn pilot_cap(mut self, paths: u64) -> Self {
        assert!(paths.is_multiple_of(crate::process::BLOCK as u64));
        self.pilot_cap = paths;
        self
    }

    /// The pilot holding at most `bytes` of rows at once.
    #[cfg(test)]
    fn pilot_window(mut self, bytes: u64) -> Self {
        self.pilot_window = bytes;
        self
    }

    /// Keeps up to `bytes` of in-sample blocks between passes (0, the default: none).
    pub fn keep_blocks(mut self, bytes: usize) -> Self {
        self.cache.budget = bytes;
        self
    }

    /// In-sample block `eb`, kept or simulated (and kept if the budget allows).
    fn in_sample_block(&self, eb: u64) -> Arc<SliceBlock> {
        if let Some(b) = self.cache.get(eb) {
            return b;
        }
        let c = &self.cfg;
        let lanes = Slices::paths_in_block(c.paths, eb);
        let b = Arc::new(self.slices.block(c.seed, eb, lanes, c.antithetic));
        self.cache.put(eb, &b);
        b
    }

    /// The in-sample blocks to simulate in the fixed strategies' pass (`mine` reads the same
    /// paths), each kept in the cache: every block when the cache keeps them all, else none.
    /// Phase 0 then finds them in the cache, as if its own pass had simulated them: the same
    /// values, bit for bit. A run larger than the cache gains little (its first blocks only)
    /// and would hold the cache's blocks during the fixed strategies' pass, whose own per-path
    /// values then are large too: at 200,000 paths the peak went from 235 MB to up to 254 MB.
    pub(crate) fn shared(&self) -> SharedSlices<'_> {
        let c = &self.cfg;
        let all = self.in_sample_blocks();
        let sizes = (0..all).map(|eb| {
            let lanes = Slices::paths_in_block(c.paths, eb);
            self.slices.block_bytes(lanes)
        });
        let blocks = if self.cache.holds(sizes) { all } else { 0 };
        SharedSlices { sink: self, blocks }
    }

    /// The slices.
    pub fn slices(&self) -> &Slices {
        &self.slices
    }

    /// The options.
    pub fn config(&self) -> &OptimalConfig {
        &self.cfg
    }

    /// Engine blocks of the in-sample paths (`0..blocks`).
    pub fn in_sample_blocks(&self) -> u64 {
        Slices::blocks(self.cfg.paths)
    }

    /// Engine blocks of the fresh paths (`0..blocks`, offset by [`OUT_OF_SAMPLE_BLOCK`]).
    pub fn fresh_blocks(&self) -> u64 {
        Slices::blocks(self.cfg.fresh_paths)
    }

    /// Phase 0: the pilot (the same on every machine; see `optimal_pilot`). `progress` receives
    /// the fraction of its work done.
    pub fn pilot(&self, progress: &(dyn Fn(f64) + Sync)) -> Result<Pilot, ModelError> {
        let c = &self.cfg;
        let sl = &self.slices;
        let dims = (sl.decision_days().len(), sl.tranches());
        Pilot::new(
            &|eb| self.in_sample_block(eb),
            c.paths.min(self.pilot_cap),
            (dims, self.pilot_window),
            c.degree,
            progress,
        )
    }

    /// How many times the pilot simulates its paths (once per window of dates).
    pub fn pilot_passes(&self) -> usize {
        let sl = &self.slices;
        crate::strategy::optimal_pilot::windows(
            self.cfg.paths.min(self.pilot_cap),
            sl.decision_days().len(),
            sl.tranches(),
            self.pilot_window,
        )
        .len()
    }

    /// The header of the fit with `pilot`.
    pub fn header(&self, pilot: &Pilot) -> FitHeader {
        let c = &self.cfg;
        FitHeader::new(
            c.paths,
            c.fresh_paths,
            c.seed,
            c.antithetic,
            c.degree,
            self.slices.tranches(),
            self.slices.decision_days().to_vec(),
            pilot,
        )
    }
}

fn check_range(what: &str, blocks: &Range<u64>, total: u64) -> Result<(), ModelError> {
    if blocks.start > blocks.end || blocks.end > total {
        return Err(bad(
            what,
            format!("{}..{}", blocks.start, blocks.end),
            &format!("a range of blocks within 0..{total}"),
        ));
    }
    Ok(())
}

/// One in-sample block's normal equations, `[slice · dates + date]`.
fn block_grams(
    setup: &OptimalSetup,
    pilot: &Pilot,
    h: &FitHeader,
    basis: &Basis,
    eb: u64,
) -> Vec<Gram> {
    let c = &setup.cfg;
    let (k, nd, p) = (h.tranches, h.days.len(), basis.len());
    let lanes = Slices::paths_in_block(c.paths, eb);
    let blk = setup.in_sample_block(eb);
    let mut grams: Vec<Gram> = (0..k * nd).map(|_| Gram::new(p)).collect();
    let mut x = vec![[0.0; FEATURES]; nd];
    let mut bv = vec![0.0; nd * p];
    for i in 0..lanes {
        for d in 0..nd {
            x[d] = features(&blk, i, d);
            basis.eval(&h.standardize(d, &x[d]), &mut bv[d * p..(d + 1) * p]);
        }
        for j in 0..k {
            // Backward along the path: `y` is the realized gain of following the pilot's rules
            // after date d (0 if it never converts), the continuation of date d's target.
            let mut y = 0.0;
            for d in (0..nd).rev() {
                let q = (i * nd + d) * k + j;
                let g = blk.exercise(q);
                grams[j * nd + d].push(&bv[d * p..(d + 1) * p], g - y);
                if pilot.policies[j].exercise(d, &x[d], g) {
                    y = g;
                }
            }
        }
    }
    grams
}

/// Phase 1 on in-sample blocks `blocks`: the regression sums of every slice and decision date
/// (see the module docs). `progress` receives the fraction of these blocks done.
pub fn fit_sums(
    setup: &OptimalSetup,
    pilot: &Pilot,
    blocks: Range<u64>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<FitSums, ModelError> {
    check_range("fit blocks", &blocks, setup.in_sample_blocks())?;
    let h = setup.header(pilot);
    let basis = Basis::new(FEATURES, h.degree);
    let done = AtomicUsize::new(0);
    let total = (blocks.end - blocks.start).max(1) as f64;
    let report = || progress(done.load(Ordering::Relaxed) as f64 / total);
    let start = blocks.start;
    let sums = blocks
        .into_par_iter()
        .fold(
            || FitSums::empty(h.clone(), start),
            |mut acc, eb| {
                report(); // a cancel point before the block (crate::cancel)
                let g = block_grams(setup, pilot, &h, &basis, eb);
                let rows = Slices::paths_in_block(setup.cfg.paths, eb) as u64;
                acc.add_block(&g, rows);
                acc.first_block = acc.first_block.min(eb);
                acc.end_block = acc.end_block.max(eb + 1);
                done.fetch_add(1, Ordering::Relaxed);
                report();
                acc
            },
        )
        .reduce_with(|mut a, b| {
            a.absorb(&b);
            a
        })
        .unwrap_or_else(|| FitSums::empty(h.clone(), start));
    Ok(sums)
}

/// Fits the policy from the merged sums of every in-sample block ([`OptimalPolicy::fit`]).
pub fn fit(sums: &FitSums) -> Result<OptimalPolicy, ModelError> {
    OptimalPolicy::fit(sums)
}

/// Prices one block under `policy` into `out` (appended in path order).
fn price_block(
    setup: &OptimalSetup,
    policy: &OptimalPolicy,
    basis: &Basis,
    sample: Sample,
    eb: u64,
) -> PricedPaths {
    let c = &setup.cfg;
    let h = &policy.header;
    let (k, nd) = (h.tranches, h.days.len());
    let (paths, stream) = match sample {
        Sample::InSample => (c.paths, eb),
        Sample::Fresh => (c.fresh_paths, OUT_OF_SAMPLE_BLOCK + eb),
    };
    let lanes = Slices::paths_in_block(paths, eb);
    let blk = match sample {
        // The last pass over an in-sample block: it is not kept any longer.
        Sample::InSample => {
            let b = setup.in_sample_block(eb);
            setup.cache.remove(eb);
            b
        }
        // Fresh paths: the policy is fixed, so the block computes only what is read below (each
        // slice's value on day 0 and on its conversion day; `Slices::block_deciding`), deciding
        // on the same state with the same rule as the loop below.
        Sample::Fresh => {
            let decide = |d: usize, j: usize, x: &[f64; FEATURES]| {
                policy.gain(basis, j, d, &h.standardize(d, x)) > 0.0
            };
            let args = (c.seed, stream, lanes, c.antithetic);
            Arc::new(setup.slices.block_deciding(args, &decide))
        }
    };
    let mut out = PricedPaths::empty(sample, k, eb);
    out.end_block = eb + 1;
    // `[finance]`: the equity figures of the policy's conversions (in-sample, as every result).
    let levered = setup.min_dscr.is_some() && sample == Sample::InSample;
    let mut equity_npv = Vec::with_capacity(if levered { lanes } else { 0 });
    // `[finance]`, every sample: the values in the policy's own objective (the owner's value).
    let mut obj = setup.min_dscr.is_some().then(|| PricedObjective {
        npv: Vec::with_capacity(lanes),
        gain: Vec::with_capacity(lanes * k),
        gain0: Vec::with_capacity(lanes * k),
        foresight: Vec::with_capacity(lanes * k),
    });
    let mut z = vec![[0.0; FEATURES]; nd];
    for i in 0..lanes {
        for d in 0..nd {
            z[d] = h.standardize(d, &features(&blk, i, d));
        }
        let mine: f64 = blk.mining_total[i * k..(i + 1) * k].iter().sum();
        let (mut npv, mut mining, mut ai, mut lev) = (mine, mine, 0.0, 0.0);
        for j in 0..k {
            let (mut stop, mut gain, mut best) = (NEVER, 0.0, 0.0f64);
            let (mut gain_x, mut best_x) = (0.0, 0.0f64);
            for d in 0..nd {
                let q = (i * nd + d) * k + j;
                // The policy decides on the exercise value (levered with `[finance]`); the NPV
                // and its bounds are reported unlevered, like every strategy's, and with
                // `[finance]` in the objective too (`obj`).
                let g = blk.gain(q);
                best = best.max(g);
                if obj.is_some() && sample == Sample::InSample {
                    best_x = best_x.max(blk.exercise(q));
                }
                if stop == NEVER && policy.gain(basis, j, d, &z[d]) > 0.0 {
                    stop = d as u32;
                    gain = g;
                    if obj.is_some() {
                        gain_x = blk.exercise(q);
                    }
                    npv += g;
                    lev += blk.leverage(q);
                    // convert_at = gain + mining_from: the AI value plus the salvage of the
                    // slice's machines (the hook does not separate the salvage; it is counted
                    // with AI here). The mining value at the stop only splits the reported mean
                    // into its mining and AI parts; it goes through f32 as version 1 stored it,
                    // which keeps those two means bit for bit (the NPV itself is f64).
                    let mf = blk.mining_from[q] as f32 as f64;
                    mining -= mf;
                    ai += g + mf;
                }
            }
            out.stop.push(stop);
            out.gain.push(gain);
            out.gain0.push(blk.gain(i * nd * k + j));
            // Perfect foresight is reported in sample; fresh blocks do not compute every day.
            out.foresight
                .push(if sample == Sample::Fresh { 0.0 } else { best });
            if let Some(o) = obj.as_mut() {
                o.gain.push(gain_x);
                o.gain0.push(blk.exercise(i * nd * k + j));
                o.foresight
                    .push(if sample == Sample::Fresh { 0.0 } else { best_x });
            }
        }
        out.npv.push(npv);
        out.mine_npv.push(mine);
        out.mining.push(mining);
        out.ai.push(ai);
        if levered {
            // Mining NPV + AI equity NPV: the NPV with each conversion's AI value levered.
            equity_npv.push(npv + lev);
        }
        if let Some(o) = obj.as_mut() {
            o.npv.push(npv + lev);
        }
    }
    out.levered = obj;
    if levered {
        let lanes_eq = setup
            .slices
            .policy_equity(c.seed, stream, lanes, c.antithetic, &out.stop);
        out.equity = Some(PricedEquity::new(equity_npv, &lanes_eq));
    }
    out
}

/// Phase 2 on blocks `blocks` of `sample`: the per-path values under the frozen `policy`, in path
/// order. `progress` receives the fraction of these blocks done.
pub fn price(
    setup: &OptimalSetup,
    policy: &OptimalPolicy,
    sample: Sample,
    blocks: Range<u64>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<PricedPaths, ModelError> {
    let total_blocks = match sample {
        Sample::InSample => setup.in_sample_blocks(),
        Sample::Fresh => setup.fresh_blocks(),
    };
    check_range("price blocks", &blocks, total_blocks)?;
    let h = &policy.header;
    let c = &setup.cfg;
    if (h.paths, h.fresh_paths, h.seed, h.antithetic, h.tranches)
        != (
            c.paths,
            c.fresh_paths,
            c.seed,
            c.antithetic,
            setup.slices.tranches(),
        )
        || h.days != setup.slices.decision_days()
    {
        return Err(bad(
            "policy",
            format!(
                "fitted for {} paths, {} fresh, seed {}, antithetic {}, {} tranches, {} decision days",
                h.paths,
                h.fresh_paths,
                h.seed,
                h.antithetic,
                h.tranches,
                h.days.len()
            ),
            "a policy fitted for this scenario and these run options",
        ));
    }
    let basis = policy.basis();
    let done = AtomicUsize::new(0);
    let n = (blocks.end - blocks.start).max(1) as f64;
    let report = || progress(done.load(Ordering::Relaxed) as f64 / n);
    // The blocks are taken in order by every worker and merged as soon as the next one in block
    // order is done, so at most a few priced blocks wait beside the merged columns (collecting
    // every block's part before merging held each path twice: 60 MB more at 200,000 paths).
    let paths = match sample {
        Sample::InSample => c.paths,
        Sample::Fresh => c.fresh_paths,
    };
    let total: usize = blocks
        .clone()
        .map(|eb| Slices::paths_in_block(paths, eb))
        .sum();
    let next = AtomicU64::new(blocks.start);
    let merged = Mutex::new(Merging {
        out: PricedPaths::empty(sample, h.tranches, blocks.start),
        waiting: BTreeMap::new(),
        total,
        error: None,
    });
    let workers = rayon::current_num_threads()
        .min((blocks.end - blocks.start) as usize)
        .max(1);
    (0..workers).into_par_iter().for_each(|_| loop {
        let eb = next.fetch_add(1, Ordering::Relaxed);
        if eb >= blocks.end {
            break;
        }
        report(); // a cancel point before the block (crate::cancel)
        let part = price_block(setup, policy, &basis, sample, eb);
        done.fetch_add(1, Ordering::Relaxed);
        report();
        // Only this thread's own panic (a cancel) could poison the lock, and it is not held then.
        let mut m = merged.lock().unwrap_or_else(|e| e.into_inner());
        if m.error.is_some() {
            // The range cannot be completed: no more blocks.
            break;
        }
        m.waiting.insert(eb, part);
        m.merge_ready();
    });
    // The policy's equity figures (`Slices::policy_equity`) used the thread's spare buffers.
    crate::payoff::finance::release_spares();
    let m = merged.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = m.error {
        return Err(e);
    }
    debug_assert!(m.waiting.is_empty() && m.out.end_block == blocks.end);
    Ok(m.out)
}

/// Priced blocks merged in block order as they arrive ([`price`]).
struct Merging {
    /// The blocks merged so far, from the range's first.
    out: PricedPaths,
    /// Blocks done before an earlier one, by block.
    waiting: BTreeMap<u64, PricedPaths>,
    /// Paths of the whole range (the merged columns' capacity).
    total: usize,
    /// The first merge error (none are expected: the blocks are the range's, in order).
    error: Option<ModelError>,
}

impl Merging {
    /// Merges every waiting block that is next in block order.
    fn merge_ready(&mut self) {
        while let Some(part) = self.waiting.remove(&self.out.end_block) {
            let first = self.out.is_empty();
            if let Err(e) = self.out.merge(part) {
                self.error.get_or_insert(e);
                // The range cannot be completed; drop what waits.
                self.waiting.clear();
                return;
            }
            if first {
                // Every column at its final size once (the first block set which are present).
                let more = self.total.saturating_sub(self.out.len());
                self.out.reserve(more);
            }
        }
    }
}

/// The report of a run from its policy and the merged priced paths of every in-sample and fresh
/// block.
pub fn finish(
    setup: &OptimalSetup,
    policy: &OptimalPolicy,
    ins: PricedPaths,
    fresh: &PricedPaths,
) -> Result<OptimalOutput, ModelError> {
    let complete = |p: &PricedPaths, s: Sample, blocks: u64| {
        if p.sample != s || p.first_block != 0 || p.end_block != blocks {
            return Err(bad(
                "priced paths",
                format!("{:?} blocks {}..{}", p.sample, p.first_block, p.end_block),
                &format!("{s:?} blocks 0..{blocks}, merged"),
            ));
        }
        Ok(())
    };
    complete(&ins, Sample::InSample, setup.in_sample_blocks())?;
    complete(fresh, Sample::Fresh, setup.fresh_blocks())?;
    let ins_v = in_sample_values(&ins, setup.cfg.antithetic, setup.min_dscr);
    let detail = detail(policy, setup.slice_mw, &ins, &ins_v, fresh);
    Ok(OptimalOutput {
        result: ins_v.result,
        detail,
        npv: ins.npv,
        mine_npv: ins.mine_npv,
        policy: policy.clone(),
    })
}

/// Runs the `optimal` strategy on one machine: the pilot, phase 1 over every in-sample block, the
/// fit, phase 2 over every in-sample and fresh block, and the report. `progress` receives the
/// fraction done (0..=1) from worker threads.
///
/// ```
/// use hashpivot_model::optimal::{run, OptimalConfig};
/// use hashpivot_model::Scenario;
///
/// let mut sc = Scenario::default();
/// sc.run.horizon_years = 3.0;
/// sc.strategy.tranches = 2;
/// sc.strategy.decide_months = 6;
/// let out = run(&sc, &OptimalConfig::new(256, 7, false), &|_| {}).unwrap();
/// assert_eq!(out.result.strategy, "optimal");
/// assert_eq!((out.npv.len(), out.detail.slices.len()), (256, 2));
/// // Decisions on months 0..=6.
/// assert_eq!(out.detail.policy.months, (0..=6).collect::<Vec<u32>>());
/// // Knowing each path's future (converting every slice on its best day, or never) is worth at
/// // least what the fitted policy earns on the same paths.
/// assert!(out.detail.npv_perfect_foresight.mean >= out.result.npv.mean);
/// ```
pub fn run(
    sc: &Scenario,
    cfg: &OptimalConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<OptimalOutput, ModelError> {
    let setup = OptimalSetup::new(sc, cfg)?.keep_blocks(CACHE_BYTES);
    run_setup(&setup, progress)
}

/// [`run`] on a prepared set-up (whose cache may already hold in-sample blocks: the fixed
/// strategies' pass of `crate::run` simulates them with `mine`, see [`OptimalSetup::shared`]).
pub(crate) fn run_setup(
    setup: &OptimalSetup,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<OptimalOutput, ModelError> {
    let cfg = &setup.cfg;
    // Work in paths simulated: the pilot (once per window of dates), the fit pass, the
    // in-sample and the fresh pricing.
    let pilot_n = setup.pilot_passes() as f64 * cfg.paths.min(setup.pilot_cap) as f64;
    let (n, m) = (cfg.paths as f64, cfg.fresh_paths as f64);
    let total = pilot_n + 2.0 * n + m;
    let stage = |base: f64, size: f64| move |f: f64| progress(((base + f * size) / total).min(1.0));
    let pilot = setup.pilot(&stage(0.0, pilot_n))?;
    let sums = fit_sums(
        setup,
        &pilot,
        0..setup.in_sample_blocks(),
        &stage(pilot_n, n),
    )?;
    let policy = fit(&sums)?;
    let ins = price(
        setup,
        &policy,
        Sample::InSample,
        0..setup.in_sample_blocks(),
        &stage(pilot_n + n, n),
    )?;
    let fresh = price(
        setup,
        &policy,
        Sample::Fresh,
        0..setup.fresh_blocks(),
        &stage(pilot_n + 2.0 * n, m),
    )?;
    let out = finish(setup, &policy, ins, &fresh)?;
    progress(1.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::optimal_report::threshold;

    fn small(paths: u64) -> (Scenario, OptimalConfig) {
        let mut sc = Scenario::default();
        sc.run.horizon_years = 6.0;
        sc.strategy.tranches = 4;
        sc.strategy.decide_months = 24;
        (sc, OptimalConfig::new(paths, 11, false))
    }

    /// The fixed strategies' pass that simulates `optimal`'s in-sample slices with `mine`
    /// ([`OptimalSetup::shared`], what `crate::run` does) gives each its own values, bit for
    /// bit: the fixed strategies' raw values of their pass alone and the slice blocks of the
    /// slices' pass alone. With a cache that does not hold every block, none is simulated with
    /// `mine` (each pass simulates the blocks it needs, as in [`run`]).
    /// Fails when the slices' engine is not the fixed strategies' (another seed, block or lane
    /// count) or when a consumer misses a day.
    #[test]
    fn slices_simulated_with_mine_are_each_pass_alone() {
        use crate::run::{resolve, RunConfig};
        use crate::scenario::{AiMode, StrategyKind};
        use crate::strategy::fixed::simulate_blocks;
        let (default, _) = small(600);
        let mut v1 = default.clone();
        v1.ai.set_risks_off();
        v1.finance = None;
        let mut cloud_btc = default.clone();
        cloud_btc.ai.mode = AiMode::Cloud;
        cloud_btc.run.currency = crate::result::Currency::Btc;
        let paths = 600u64;
        for (name, sc) in [
            ("default", default),
            ("version 1", v1),
            ("cloud, BTC", cloud_btc),
        ] {
            for antithetic in [false, true] {
                let rc = RunConfig {
                    paths: Some(paths),
                    seed: Some(11),
                    strategy: Some(StrategyKind::Optimal),
                    antithetic,
                    ..RunConfig::default()
                };
                let r = resolve(&sc, &rc).unwrap();
                let blocks = Slices::blocks(paths);
                assert_eq!(blocks, 3);
                let alone =
                    simulate_blocks(&sc, &r.specs, paths, 0..3, (11, antithetic), None, &|_| {});
                let cfg = OptimalConfig::new(paths, 11, antithetic);
                let probe = OptimalSetup::new(&sc, &cfg).unwrap();
                let first = probe.slices.block_bytes(crate::process::BLOCK);
                for (budget, kept) in [(CACHE_BYTES, 3), (first + first / 2, 0)] {
                    let setup = OptimalSetup::new(&sc, &cfg).unwrap().keep_blocks(budget);
                    let shared = setup.shared();
                    assert_eq!(shared.blocks, kept, "{name}");
                    let raw = simulate_blocks(
                        &sc,
                        &r.specs,
                        paths,
                        0..3,
                        (11, antithetic),
                        Some(shared),
                        &|_| {},
                    );
                    // Bit for bit (the equity figures hold NaN where an IRR is undefined).
                    let bits = |r: &crate::strategy::fixed::Raw| {
                        let f64s = [&r.npv, &r.block_mining, &r.block_ai, &r.equity];
                        let f32s = [&r.band_market, &r.band_cash];
                        (
                            f64s.map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
                            f32s.map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
                            (
                                r.years,
                                r.np,
                                r.banded,
                                r.first_block,
                                r.paths,
                                r.equity_width,
                            ),
                        )
                    };
                    assert!(
                        bits(&raw) == bits(&alone),
                        "{name}, antithetic {antithetic}: the fixed strategies"
                    );
                    for eb in 0..blocks {
                        let lanes = Slices::paths_in_block(paths, eb);
                        let own = setup.slices.block(11, eb, lanes, antithetic);
                        assert_eq!(setup.slices.block_bytes(lanes), BlockCache::bytes(&own));
                        match setup.cache.get(eb) {
                            Some(b) => {
                                assert!(eb < kept);
                                assert!(*b == own, "{name}, antithetic {antithetic}: block {eb}");
                            }
                            None => assert!(eb >= kept, "{name}: block {eb} not kept"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn zero_vol_picks_each_slices_best_day_exactly() {
        let (mut sc, cfg) = small(300);
        sc.price.vol = 0.0;
        sc.fees.vol = 0.0;
        sc.hashrate.vol = 0.0;
        sc.ai.lease_vol = 0.0;
        // Nothing uncertain: no drawn risks (the deterministic overrun keeps the AI side on
        // the path-dependent book, and the machines mine until the hall is ready).
        sc.ai.set_risks_off();
        // Unlevered: the levered case is `optimal_levered_tests`.
        sc.finance = None;
        sc.ai.capex_overrun = 0.05;
        sc.ai.mine_during_build = true;
        // Make the timing matter: a long horizon, a rich lease market that rises faster than the
        // AI discount rate, so some slices are best converted later rather than at once or never.
        sc.run.horizon_years = 15.0;
        sc.ai.lease_usd_per_kw_month = 170.0;
        sc.ai.lease_drift = 0.10;
        let out = run(&sc, &cfg, &|_| {}).unwrap();
        let slices = Slices::new(&sc).unwrap();
        let b = slices.block(cfg.seed, 0, 1, false);
        let k = slices.tranches();
        let nd = slices.decision_days().len();
        let mut brute_total = b.mining_total.iter().sum::<f64>();
        let mut later = 0;
        for j in 0..k {
            // Brute force over the decision days: the best day (the last of equal maxima, as the
            // strict comparison of backward induction does), or never if no gain is positive.
            let gains: Vec<f64> = (0..nd)
                .map(|d| {
                    let q = d * k + j;
                    b.convert_at[q] - b.mining_from[q]
                })
                .collect();
            let (best_d, best_g) =
                gains
                    .iter()
                    .enumerate()
                    .fold((None, 0.0), |(bd, bg), (d, &g)| {
                        if g > bg || (bd.is_some() && g == bg) {
                            (Some(d), g)
                        } else {
                            (bd, bg)
                        }
                    });
            brute_total += best_g;
            let s = &out.detail.slices[j];
            match best_d {
                Some(d) => {
                    later += usize::from(d > 0);
                    assert_eq!(s.prob_converted, 1.0, "slice {j}");
                    assert_eq!(
                        s.mean_conversion_month,
                        Some(d as f64),
                        "slice {j}: {gains:?}"
                    );
                    assert_eq!(s.prob_by_month[d], 1.0);
                }
                None => assert_eq!(s.prob_converted, 0.0, "slice {j}"),
            }
        }
        assert!(later > 0, "the test scenario should make some slice wait");
        // The value is the brute-force optimum on every path, in and out of sample, and equals
        // perfect foresight (nothing is uncertain).
        let rel = |a: f64| (a - brute_total).abs() <= 1e-9 * brute_total.abs();
        assert!(
            rel(out.result.npv.mean),
            "{} vs {brute_total}",
            out.result.npv.mean
        );
        assert!(rel(out.detail.npv_out_of_sample.mean));
        assert!(rel(out.detail.npv_perfect_foresight.mean));
        // Every path is the same path: no spread beyond the rounding of the mean.
        assert!(out.result.npv.stderr <= 1e-12 * brute_total.abs());
    }

    #[test]
    fn optimal_beats_static_shares_and_stays_below_perfect_foresight() {
        let (sc, cfg) = small(3000);
        let out = run(&sc, &cfg, &|_| {}).unwrap();
        let opt = out.result.npv.mean;
        let se = out.result.npv.stderr;
        let flex = &out.detail.flexibility;
        // Same paths: optimal ≥ every static share within Monte Carlo error (the paired difference
        // has a far smaller error than either mean; use it).
        for (s, v) in flex.static_shares.iter().zip(&flex.static_npv) {
            assert!(
                opt >= v - 3.0 * flex.value_in_sample.stderr.max(1e-9 * v.abs()),
                "share {s}: static {v} > optimal {opt}"
            );
        }
        assert!(flex.value_in_sample.mean >= -3.0 * flex.value_in_sample.stderr);
        // Perfect foresight is an upper bound path by path.
        let pf = out.detail.npv_perfect_foresight.mean;
        assert!(
            opt <= pf + 1e-6 * pf.abs(),
            "optimal {opt} > perfect foresight {pf}"
        );
        // The out-of-sample estimate is a lower bound: not above in-sample beyond noise, and
        // not above perfect foresight.
        let oos = out.detail.npv_out_of_sample;
        assert!(oos.mean <= opt + 4.0 * (se * se + oos.stderr * oos.stderr).sqrt());
        assert!(oos.mean <= pf + 4.0 * (oos.stderr + out.detail.npv_perfect_foresight.stderr));
        // Policy tables are consistent.
        let share = &out.detail.policy.expected_share_converted;
        assert!(share.windows(2).all(|w| w[1] >= w[0] - 1e-12));
        assert!(share.iter().all(|&s| (0.0..=1.0 + 1e-12).contains(&s)));
        for s in &out.detail.slices {
            let total: f64 = s.prob_by_month.iter().sum();
            assert!((total - s.prob_converted).abs() < 1e-9);
            let pv = &s.option_value_perfect_foresight;
            assert!(s.option_value_in_sample.mean <= pv.mean + 1e-6 * pv.mean.abs().max(1.0));
            assert!(s.option_value_in_sample.mean >= -1e-6);
        }
    }

    #[test]
    fn json_entry_plugs_into_results_and_is_thread_independent() {
        let (sc, cfg) = small(700);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| run(&sc, &cfg, &|_| {}).unwrap());
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| run(&sc, &cfg, &|_| {}).unwrap());
        assert_eq!(one.npv, two.npv);
        let r = one.strategy_result();
        assert_eq!(r, two.strategy_result());
        let v = serde_json::to_value(&r).unwrap();
        // Typed both ways: the JSON reads back into the same result.
        let back: StrategyResult = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, r);
        assert_eq!(v["strategy"], "optimal");
        for key in [
            "npv",
            "mining_npv_mean",
            "ai_npv_mean",
            "prob_negative",
            "prob_below_mine",
            "cvar5",
            "npv_out_of_sample",
            "policy",
            "boundary",
            "boundary_lease",
            "flexibility",
            "slices",
        ] {
            assert!(v.get(key).is_some(), "missing {key}: {v}");
        }
        let months = v["policy"]["months"].as_array().unwrap().len();
        assert_eq!(months, 25);
        assert_eq!(v["policy"]["slice_1"].as_array().unwrap().len(), months);
        assert_eq!(v["boundary"]["slice_4"].as_array().unwrap().len(), months);
        // The mining/AI split adds up to the NPV.
        let r = &one.result;
        assert!(
            (r.mining_npv_mean + r.ai_npv_mean - r.npv.mean).abs() < 1e-6 * r.npv.mean.abs(),
            "{r:?}"
        );
    }

    #[test]
    fn threshold_finds_the_crossing() {
        let (t, r) = threshold(|x| 2.0 - x, 0.0, 5.0);
        assert_eq!(r, Regime::Below);
        assert!((t.unwrap() - 2.0f64.exp()).abs() < 1e-9);
        let (t, r) = threshold(|x| x - 1.0, 0.0, 5.0);
        assert_eq!(r, Regime::Above);
        assert!((t.unwrap() - 1.0f64.exp()).abs() < 1e-9);
        assert_eq!(threshold(|_| 1.0, 0.0, 1.0), (None, Regime::Always));
        assert_eq!(threshold(|_| -1.0, 0.0, 1.0), (None, Regime::Never));
        assert_eq!(threshold(|_| 1.0, 1.0, 1.0), (None, Regime::Always));
    }

    #[test]
    fn rejects_bad_options() {
        let (sc, mut cfg) = small(1);
        assert!(matches!(
            run(&sc, &cfg, &|_| {}),
            Err(ModelError::BadOption { .. })
        ));
        cfg.paths = 10;
        cfg.degree = 9;
        assert!(matches!(
            run(&sc, &cfg, &|_| {}),
            Err(ModelError::BadOption { .. })
        ));
        // Too much memory is refused before any work, naming what to lower.
        let mut big = sc.clone();
        big.strategy.tranches = 1000;
        cfg.degree = 2;
        cfg.paths = 1_000_000;
        match run(&big, &cfg, &|_| {}) {
            Err(ModelError::BadOption { option, .. }) => assert!(option.contains("tranches")),
            other => panic!("{other:?}"),
        }
    }

    /// The phases on shards cut at `cuts` (in-sample blocks; fresh ones cut at `fresh_cuts`),
    /// every piece through JSON as across machines, merged in block order.
    fn sharded(
        setup: &OptimalSetup,
        pilot: &Pilot,
        cuts: &[u64],
        fresh_cuts: &[u64],
    ) -> OptimalOutput {
        let parts: Vec<FitSums> = cuts
            .windows(2)
            .map(|w| {
                let s = fit_sums(setup, pilot, w[0]..w[1], &|_| {}).unwrap();
                serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap()
            })
            .collect();
        let mut merged = parts[0].clone();
        for p in &parts[1..] {
            merged.merge(p).unwrap();
        }
        let policy = fit(&merged).unwrap();
        let policy: OptimalPolicy =
            serde_json::from_str(&serde_json::to_string(&policy).unwrap()).unwrap();
        let k = setup.slices().tranches();
        let mut ins = PricedPaths::empty(Sample::InSample, k, 0);
        for w in cuts.windows(2) {
            let p = price(setup, &policy, Sample::InSample, w[0]..w[1], &|_| {}).unwrap();
            ins.merge(serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap())
                .unwrap();
        }
        let mut fresh = PricedPaths::empty(Sample::Fresh, k, 0);
        for w in fresh_cuts.windows(2) {
            let p = price(setup, &policy, Sample::Fresh, w[0]..w[1], &|_| {}).unwrap();
            fresh
                .merge(serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap())
                .unwrap();
        }
        finish(setup, &policy, ins, &fresh).unwrap()
    }

    #[test]
    fn shards_merge_into_the_single_machine_bits() {
        // 9 blocks with a partial last one, 4 fresh blocks with a partial last one; three years
        // keep the ten sharded runs quick.
        let (mut sc, mut cfg) = small(8 * 256 + 77);
        sc.run.horizon_years = 3.0;
        cfg.fresh_paths = 3 * 256 + 5;
        let whole = run(&sc, &cfg, &|_| {}).unwrap();
        let cuts = [
            vec![0, 9],
            vec![0, 4, 9],
            vec![0, 1, 2, 7, 9],
            vec![0, 3, 3, 9],
        ];
        let fresh_cuts = [vec![0, 4], vec![0, 1, 4], vec![0, 2, 3, 4], vec![0, 0, 4]];
        // The pilot on every path (the default), and on the first 2 blocks only (the policy
        // then comes from the exactly summed regressions).
        for cap in [u64::MAX - 255, 512] {
            let setup = OptimalSetup::new(&sc, &cfg).unwrap().pilot_cap(cap);
            let pilot = setup.pilot(&|_| {}).unwrap();
            assert_eq!(setup.in_sample_blocks(), 9);
            let reference = sharded(&setup, &pilot, &cuts[0], &fresh_cuts[0]);
            assert_eq!(reference.policy.header.pilot_coef.is_empty(), cap == 512);
            if cap != 512 {
                assert_eq!(reference, whole);
            } else {
                assert_ne!(reference.policy.coef, whole.policy.coef);
            }
            for (c, f) in cuts.iter().zip(&fresh_cuts) {
                let out = sharded(&setup, &pilot, c, f);
                assert_eq!(out, reference, "pilot {cap}, cuts {c:?} / {f:?}");
            }
        }
    }

    #[test]
    fn phases_refuse_what_does_not_belong_together() {
        let (sc, cfg) = small(3 * 256);
        let setup = OptimalSetup::new(&sc, &cfg).unwrap();
        let pilot = setup.pilot(&|_| {}).unwrap();
        let a = fit_sums(&setup, &pilot, 0..1, &|_| {}).unwrap();
        let c = fit_sums(&setup, &pilot, 2..3, &|_| {}).unwrap();
        // A gap between ranges, a fit on part of the blocks, a range past the end.
        let mut m = a.clone();
        assert!(matches!(m.merge(&c), Err(ModelError::BadOption { .. })));
        assert!(matches!(fit(&a), Err(ModelError::BadOption { .. })));
        assert!(matches!(
            fit_sums(&setup, &pilot, 2..4, &|_| {}),
            Err(ModelError::BadOption { .. })
        ));
        // Sums of another run (another seed: another pilot and header).
        let other = OptimalSetup::new(&sc, &OptimalConfig::new(3 * 256, 12, false)).unwrap();
        let op = other.pilot(&|_| {}).unwrap();
        let b_other = fit_sums(&other, &op, 1..2, &|_| {}).unwrap();
        let mut m = a.clone();
        assert!(matches!(
            m.merge(&b_other),
            Err(ModelError::BadOption { .. })
        ));
        // A policy of another run cannot price this one.
        let full = fit_sums(&other, &op, 0..3, &|_| {}).unwrap();
        let pol = fit(&full).unwrap();
        assert!(matches!(
            price(&setup, &pol, Sample::InSample, 0..1, &|_| {}),
            Err(ModelError::BadOption { .. })
        ));
    }

    #[test]
    fn a_pilot_fitted_in_windows_of_dates_is_the_whole_pilot_bit_for_bit() {
        // Large runs fit the pilot a window of dates at a time (simulating its paths again per
        // window); the policy, standardizers and quantiles must be the one-window pilot's bits.
        let (sc, cfg) = small(700);
        let whole = OptimalSetup::new(&sc, &cfg)
            .unwrap()
            .pilot(&|_| {})
            .unwrap();
        let nd = whole.mean.len();
        assert!(nd >= 4, "{nd} dates");
        let per_date = 700 * (FEATURES as u64 + 4) * 8;
        for own in [1, 2, 3, nd - 2] {
            let budget = per_date * (own as u64 + 1);
            let w = crate::strategy::optimal_pilot::windows(700, nd, 4, budget);
            assert!(
                w.len() > 1 && w[0].end == nd && w.last().unwrap().start == 0,
                "{w:?}"
            );
            let setup = OptimalSetup::new(&sc, &cfg).unwrap().pilot_window(budget);
            let cut = setup.pilot(&|_| {}).unwrap();
            assert_eq!(
                format!("{cut:?}"),
                format!("{whole:?}"),
                "{own} dates a window"
            );
        }
    }

    #[test]
    fn with_the_pilot_on_every_path_the_policy_is_the_pilots_and_the_sums_agree() {
        // With the pilot on every path, the exactly summed regressions are the pilot's own (the
        // same paths, targets and standardization; only the order of the additions differs):
        // the policy is the pilot's, bit for bit, and the sums' own solution agrees with it.
        let (sc, cfg) = small(1500);
        let setup = OptimalSetup::new(&sc, &cfg).unwrap();
        let pilot = setup.pilot(&|_| {}).unwrap();
        assert_eq!(pilot.paths, 1500);
        let sums = fit_sums(&setup, &pilot, 0..setup.in_sample_blocks(), &|_| {}).unwrap();
        let policy = fit(&sums).unwrap();
        let nd = policy.header.days.len();
        let basis = policy.basis();
        let b = setup.slices().block(cfg.seed, 0, 50, false);
        for j in 0..4 {
            for d in 0..nd {
                let (coef, _) = sums.gram(j, d).solve(hashpivot_lsm::regress::GRAM_TOL);
                for p in 0..50 {
                    let x = features(&b, p, d);
                    let lsm = pilot.policies[j].fitted(d, &x);
                    let mine = policy.gain_at(&basis, j, d, &x);
                    assert_eq!(mine.to_bits(), lsm.to_bits(), "slice {j} date {d} path {p}");
                    let z = policy.header.standardize(d, &x);
                    let summed = basis.dot(&z, &coef);
                    assert!(
                        (summed - lsm).abs() <= 1e-7 * lsm.abs().max(1e3),
                        "slice {j} date {d} path {p}: {summed} vs {lsm}"
                    );
                }
            }
        }
    }
}
