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
//! With `[finance]` (MODEL.md §10) each `(d, j)` conversion also has its own loan
//! ([`crate::payoff::finance::Loan`]: draws, capitalized interest, the annuity, recourse, what is
//! owed on day `N`), and `convert_eq[...]` is `convert_at` with the slice's unlevered AI value
//! replaced by its AI equity NPV (equity cash at `finance.cost_of_equity`, the day-`N` terminal
//! value minus what is owed). The exercise value `optimal` maximizes is then
//! `convert_eq − mining_from` ([`SliceBlock::exercise`]): the owner's value of converting, so the
//! policy responds to the debt's terms; mining stays unlevered. [`Slices::policy_equity`] runs a
//! block again with a policy's conversion days and returns the equity figures of each path from
//! [`crate::payoff::finance::EquityBook`] (the same book as the fixed strategies: DSCR, IRRs).
//!
//! With `run.currency = "btc"` (MODEL.md §11) every value above is in BTC: each day's cash is
//! divided by that day's `S_t` before its discount factor, and the terminal values (and the
//! day-`N` repayment) by `S_{N−1}`, exactly as `crate::strategy::fixed` does. The terminal part is
//! kept apart as undiscounted USD sums during the day loop and converted when the block ends.
//!
//! A lease whose lanes draw their events (`ai.default_events`), in USD, is valued by its events:
//! on its first day its leases are signed and its build's capex added in closed form, then only
//! the lanes with an event are looked at, and each lane's rent between two events is added in
//! closed form from prefix sums ([`CoastSums`], [`crate::payoff::segsum`]). Those are the
//! day-by-day sums' values, not their bits (within 1e-12, a test holds them to it); the BTC view
//! and the GPU cloud are stepped day by day.
//!
//! Paths: block `b` of [`Slices::block`] with seed `s` is block `b` of `simulate` with seed `s`
//! (same keyed stream), so in-sample values are on the paths of the other strategies. For an
//! out-of-sample pass use fresh blocks, e.g. `OUT_OF_SAMPLE_BLOCK + b`.

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

use crate::payoff::ai::{path_dependent, AiBook, AiDay, AiProject, AiTerms};
use crate::payoff::finance::{DayCash, DebtTerms, EquityBook, LaneEquity, Loan};
use crate::payoff::segsum::Prefix;
use crate::payoff::site::{
    ai_project, fleet_eras, initial_units, max_types, AiLinear, FleetEra, Layout,
};
use crate::payoff::{refresh_cash, MiningDay};
use crate::process::{DayConsumer, Discount, Isa, LaneDay, Prepared, BLOCK};
use crate::result::Currency;
use crate::scenario::{AiMode, Scenario};
use crate::ModelError;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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
    /// `[finance]`: the loans' terms (MODEL.md §10), `None` when unlevered.
    debt: Option<DebtTerms>,
    /// `run.currency = "btc"`: the mining and the AI stream's discounting in parts (MODEL.md §11).
    btc: Option<BtcDiscount>,
    /// Days (ascending) on which [`Slices::block`] records `ln S` and `ln L` for the dual upper
    /// bound ([`Slices::with_grid`]); empty by default, and then nothing is recorded.
    grid: Vec<usize>,
    /// `[finance]`, a lease in USD: [`unit_debt`] of each `(τ, ready day)` pair met so far. It
    /// depends on the pair and the debt's terms only, and every block meets mostly the same
    /// pairs, so it is computed once per run instead of once per block (the same function: the
    /// same bits). Shared by clones, which have the same terms.
    unit_debt: UnitDebt,
    /// A lease whose lanes draw their events, in USD: the prefix sums that value each project's
    /// rent between its events in closed form ([`CoastSums`]); `None` otherwise (the projects
    /// are then stepped day by day).
    coast: Option<CoastSums>,
}

/// A lease project's cash between two of its events, summed in closed form (MODEL.md §5, §8
/// and §10; [`crate::payoff::segsum`]): on days `a .. b` of a term started on `s` at daily
/// rent × NOI `rate`, the AI value gains `rate / esc[s] · Σ w_ai[t] esc[t]`, the equity NPV the
/// same at the cost of equity, and the terminal value's cash (the last 365 days)
/// `rate / esc[s] · Σ esc[t]` over those of its days; the build's capex, `c` a day on days
/// `τ .. capex_end`, is `−c · Σ w_t` likewise. A project costs its events instead of its days:
/// `optimal` prices `tranches × (decide_months + 1)` projects on every lane, most of whose
/// ~5,000 days each are rent with nothing happening.
#[derive(Debug, Clone)]
struct CoastSums {
    esc: Vec<f64>,
    ai: Prefix,
    /// `[finance]`: at the cost of equity.
    eq: Option<Prefix>,
    /// Undiscounted (the terminal value's days).
    all: Prefix,
    /// The discount factors alone (the capex), at `ai.discount_rate` and at the cost of equity.
    ai1: Prefix,
    eq1: Option<Prefix>,
    /// First day of the terminal value's cash: `N − 365` (at least 0).
    tv_from: usize,
}

impl CoastSums {
    fn new(terms: &AiTerms, w_ai: &[f64], debt: Option<&DebtTerms>, n: usize) -> CoastSums {
        let esc = terms.escalator().to_vec();
        let ones = vec![1.0; n];
        CoastSums {
            ai: Prefix::new(&w_ai[..n], &esc),
            eq: debt.map(|d| Prefix::new(&d.w_eq[..n], &esc)),
            all: Prefix::new(&ones, &esc),
            ai1: Prefix::new(&w_ai[..n], &ones),
            eq1: debt.map(|d| Prefix::new(&d.w_eq[..n], &ones)),
            esc,
            tv_from: n.saturating_sub(365),
        }
    }

    /// Adds the rent of days `a .. b` (a term started on `start`, `rate` before escalation) to
    /// a lane's AI value `ai` and, with `[finance]`, its equity NPV and terminal-value cash.
    #[inline(always)]
    fn add(
        &self,
        (rate, start): (f64, u32),
        (a, b): (usize, usize),
        ai: &mut f64,
        eq: Option<(&mut f64, &mut f64)>,
    ) {
        if rate == 0.0 || b <= a {
            return;
        }
        let k = rate / self.esc[start as usize];
        *ai += k * self.ai.range(a, b);
        if let (Some(pe), Some((npv, tail))) = (self.eq.as_ref(), eq) {
            *npv += k * pe.range(a, b);
            *tail += k * self.all.range(a.max(self.tv_from), b.max(self.tv_from));
        }
    }

    /// Adds the build's capex, `capex` a day on days `a .. b`, as [`CoastSums::add`] adds rent.
    #[inline(always)]
    fn add_capex(
        &self,
        capex: f64,
        (a, b): (usize, usize),
        ai: &mut f64,
        eq: Option<(&mut f64, &mut f64)>,
    ) {
        let b = b.min(self.ai1.days());
        if capex == 0.0 || b <= a {
            return;
        }
        *ai -= capex * self.ai1.range(a, b);
        if let (Some(pe), Some((npv, tail))) = (self.eq1.as_ref(), eq) {
            *npv -= capex * pe.range(a, b);
            let in_tv = b.max(self.tv_from) - a.max(self.tv_from);
            *tail -= capex * in_tv as f64;
        }
    }
}

/// A block's seed, index, paths and antithetic flag.
pub type BlockArgs = (u64, u64, usize, bool);

/// A policy for [`Slices::block_deciding`]: whether slice `j` converts on decision day index `d`
/// in state `x` ([`features_of`]).
pub type Decide<'a> = dyn Fn(usize, usize, &[f64; 3]) -> bool + Sync + 'a;

/// The regression state of a decision day: `ln hashprice` ($/PH/day), `ln lease` ($/kW-month),
/// `ln price` (BTC/USD), from the values [`SliceBlock`] records. The three are positive in the
/// model; the logarithm is guarded anyway so that a degenerate input cannot put NaN into a
/// regression.
#[inline(always)]
pub fn features_of(hashprice: f64, lease: f64, price: f64) -> [f64; 3] {
    [
        hashprice.max(1e-300).ln(),
        lease.max(1e-300).ln(),
        price.max(1e-300).ln(),
    ]
}

/// [`unit_debt`] per `(τ, ready day)`, filled as blocks meet new pairs (see [`Slices`]).
#[derive(Debug, Clone, Default)]
struct UnitDebt(Arc<RwLock<HashMap<(usize, usize), f64>>>);

impl UnitDebt {
    /// The values of `keys`, computing the ones no block has met yet (outside the lock).
    fn get_all(&self, debt: &DebtTerms, keys: &[(usize, usize)]) -> Vec<f64> {
        let read = |m: &HashMap<(usize, usize), f64>| -> Vec<Option<f64>> {
            keys.iter().map(|k| m.get(k).copied()).collect()
        };
        let mut got = read(&self.0.read().unwrap_or_else(|e| e.into_inner()));
        let missing: Vec<usize> = (0..keys.len()).filter(|&x| got[x].is_none()).collect();
        if !missing.is_empty() {
            let fresh: Vec<f64> = missing.iter().map(|&x| unit_debt(debt, keys[x])).collect();
            let mut m = self.0.write().unwrap_or_else(|e| e.into_inner());
            for (&x, v) in missing.iter().zip(fresh) {
                m.insert(keys[x], v);
                got[x] = Some(v);
            }
        }
        got.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect()
    }
}

/// The BTC view's discounting (MODEL.md §11) of the two streams: daily factors and the terminal
/// value apart, as in `crate::strategy::fixed`.
#[derive(Debug, Clone)]
struct BtcDiscount {
    mining: Discount,
    ai: Discount,
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
    /// `[finance]`: the owner's value of converting on day `d`, `convert_at` with the slice's AI
    /// value replaced by its AI equity NPV (MODEL.md §10), `[(p·D + d)·k + j]`; empty when
    /// unlevered.
    pub convert_eq: Vec<f64>,
    /// `ln S` at the start of each grid day of [`Slices::with_grid`], `[p·G + g]`; empty without
    /// a grid.
    pub grid_ln_s: Vec<f64>,
    /// `ln L` (lease market rate, $/kW-month) on each grid day, `[p·G + g]`; empty without a grid.
    pub grid_ln_l: Vec<f64>,
}

impl SliceBlock {
    /// The unlevered gain of converting at `q = (p·D + d)·k + j`: `convert_at − mining_from`.
    #[inline]
    pub fn gain(&self, q: usize) -> f64 {
        self.convert_at[q] - self.mining_from[q]
    }

    /// The exercise value `optimal` maximizes at `q`: the owner's gain of converting then,
    /// `convert_eq − mining_from` with `[finance]` (the levered AI stream), else [`Self::gain`].
    #[inline]
    pub fn exercise(&self, q: usize) -> f64 {
        match self.convert_eq.get(q) {
            Some(&e) => e - self.mining_from[q],
            None => self.gain(q),
        }
    }

    /// What leverage adds to the value of converting at `q` (`convert_eq − convert_at`: the AI
    /// equity NPV less the unlevered AI value); 0 when unlevered.
    #[inline]
    pub fn leverage(&self, q: usize) -> f64 {
        self.convert_eq
            .get(q)
            .map_or(0.0, |&e| e - self.convert_at[q])
    }
}

/// What a slice block's pass does besides the slices: the policy it prices, if any
/// ([`Slices::block_deciding`]), and another consumer of the same days ([`Slices::block_with`]).
type With<'d, 'c, C> = (Option<&'d Decide<'d>>, &'c mut C);

/// A [`DayConsumer`] that reads nothing: a slice block's pass without another consumer.
struct NoDays;

impl DayConsumer for NoDays {
    #[inline(always)]
    fn day(&mut self, _: &LaneDay) {}
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
        let tm = sc.site.terminal_multiple;
        let debt = sc.finance.as_ref().map(|f| DebtTerms::new(f, n, tm));
        let btc = (sc.run.currency == Currency::Btc).then(|| BtcDiscount {
            mining: Discount::new(sc.mining.discount_rate, tm, n),
            ai: Discount::new(sc.ai_discount_rate(), tm, n),
        });
        let coast = terms
            .as_ref()
            .filter(|t| t.lease_with_events() && btc.is_none())
            .map(|t| CoastSums::new(t, &prep.w_ai, debt.as_ref(), n));
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
            debt,
            btc,
            grid: Vec::new(),
            unit_debt: UnitDebt::default(),
            coast,
        })
    }

    /// Every project stepped day by day, none valued by its events ([`CoastSums`]): the
    /// reference the tests hold the closed form to.
    #[cfg(test)]
    fn day_by_day(mut self) -> Self {
        self.coast = None;
        self
    }

    /// Records `ln S` and `ln L` on `grid` (days, ascending; days past the horizon are ignored)
    /// in every block, for the dual upper bound (`crate::strategy::optimal_dual`). Recording
    /// reads the engine's state and changes no other value.
    pub fn with_grid(mut self, mut grid: Vec<usize>) -> Self {
        grid.retain(|&d| d < self.prep.n);
        grid.sort_unstable();
        grid.dedup();
        self.grid = grid;
        self
    }

    /// The days [`Slices::with_grid`] records (empty by default).
    pub fn grid(&self) -> &[usize] {
        &self.grid
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

    /// Bytes of the values of a block of `lanes` paths ([`SliceBlock`]'s series, 8 bytes each).
    pub fn block_bytes(&self, lanes: usize) -> usize {
        let (nd, k, ng) = (self.days.len(), self.k, self.grid.len());
        let levered = if self.debt.is_some() { 1 } else { 0 };
        8 * lanes * (3 * nd + (2 + levered) * nd * k + k + 2 * ng)
    }

    /// Paths in block `b` of a run of `paths` paths.
    pub fn paths_in_block(paths: u64, b: u64) -> usize {
        (paths - b * BLOCK as u64).min(BLOCK as u64) as usize
    }

    /// Simulates `paths` (≤ [`BLOCK`]) paths of block `block` with `seed`.
    pub fn block(&self, seed: u64, block: u64, paths: usize, antithetic: bool) -> SliceBlock {
        self.block_isa((seed, block, paths, antithetic), (None, &mut NoDays))
    }

    /// [`Slices::block`] whose engine also feeds `also` every day of the same paths (the fixed
    /// strategies' `mine` of an `optimal` run: one engine pass for both). The slice values are
    /// [`Slices::block`]'s, bit for bit; `also` sees exactly the days its own
    /// [`Prepared::run_block`] would give it (the same `Prepared`, seed and block).
    pub fn block_with<C: DayConsumer>(&self, args: BlockArgs, also: &mut C) -> SliceBlock {
        self.block_isa(args, (None, also))
    }

    /// [`Slices::block`] for pricing a policy that decides on the state of the decision day
    /// alone (`optimal`'s fresh paths): `decide(d, j, x)` says whether slice `j`, not yet
    /// converted, converts on decision day index `d` of a path in state `x` ([`features_of`] of
    /// that day). With the path-dependent AI side only the values a policy's pricing reads are
    /// computed: every slice's on day 0 and on the day the policy converts it; the others
    /// (`convert_at`, `convert_eq` of other days) are left meaningless. The AI book then steps
    /// each lane's few converting projects instead of all `D · k` (the same bits on the values
    /// computed). Version 1 computes every value as [`Slices::block`] does.
    pub fn block_deciding(&self, args: BlockArgs, decide: &Decide<'_>) -> SliceBlock {
        self.block_isa(args, (Some(decide), &mut NoDays))
    }

    /// [`Slices::block_inline`] built for the CPU's instruction set ([`Prepared::isa`]).
    fn block_isa<C: DayConsumer>(&self, args: BlockArgs, with: With<'_, '_, C>) -> SliceBlock {
        #[cfg(target_arch = "x86_64")]
        match self.prep.isa {
            // SAFETY: `Prepared::isa` is `Avx512` or `Avx2` only when the CPU has the features
            // enabled on the callee.
            Isa::Avx512 => return unsafe { self.block_avx512(args, with) },
            Isa::Avx2 => return unsafe { self.block_avx2(args, with) },
            Isa::Baseline => {}
        }
        self.block_inline(args, with)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
    unsafe fn block_avx512<C: DayConsumer>(&self, a: BlockArgs, w: With<C>) -> SliceBlock {
        self.block_inline(a, w)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block_avx2<C: DayConsumer>(&self, a: BlockArgs, w: With<C>) -> SliceBlock {
        self.block_inline(a, w)
    }

    /// [`Slices::block`] for the instruction set of the function it is inlined into: the day
    /// loop's closure is too big to be inlined into the engine's own AVX2 loop, and a closure is
    /// compiled with the features of the function that defines it, so without this the AI book's
    /// lane loops ran as baseline x86-64 (scalar, software `fma`). The same IEEE operations on
    /// every instruction set (see [`Prepared::run_block`]): the same bits.
    #[inline(always)]
    fn block_inline<C: DayConsumer>(
        &self,
        (seed, block, paths, antithetic): BlockArgs,
        (decide, also): With<'_, '_, C>,
    ) -> SliceBlock {
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
            convert_eq: vec![
                0.0;
                if self.debt.is_some() {
                    lanes * nd * k
                } else {
                    0
                }
            ],
            grid_ln_s: vec![0.0; lanes * self.grid.len()],
            grid_ln_l: vec![0.0; lanes * self.grid.len()],
        };
        let ng = self.grid.len();
        let mut gi = 0usize;
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
        // BTC view: the USD mining cash of the terminal value's days, per sum above.
        let mut tails = self.btc.as_ref().map(|_| MiningTails::new(k, nd, lanes));
        let mut era = 0usize;
        let mut di = 0usize;
        let mut li = 0usize;
        let mut v2 = self
            .terms
            .as_ref()
            .map(|terms| SliceBook::new(self, terms, seed, block, lanes));
        // With a policy: the AI book steps day 0's projects on every lane (a static share's
        // value) and a later project on the lanes the policy converts then (added on its day).
        let decide = decide.filter(|_| v2.is_some());
        if let (Some(v2), Some(_)) = (v2.as_mut(), decide) {
            let np = v2.book.projects().len();
            let all: Vec<u32> = (0..lanes as u32).collect();
            v2.book.restrict_lanes(
                (0..np)
                    .map(|p| if p < k { all.clone() } else { Vec::new() })
                    .collect(),
            );
        }
        let mut converted = vec![false; if decide.is_some() { k * lanes } else { 0 }];
        // The day's closure is inlined into the engine's loop, hence compiled for its
        // instruction set (see `Slices::block_inline`).
        prep.run_block_with(
            seed,
            block,
            lanes,
            antithetic,
            #[inline(always)]
            |d: &LaneDay| {
                also.day(d);
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
                // BTC view: the day's factor without the terminal value, and whether the day's cash
                // counts in the terminal value.
                let btc = self
                    .btc
                    .as_ref()
                    .map(|b| (b.mining.df[t], t >= b.mining.first_tv));
                let decision = di < nd && self.days[di] == t;
                if let (true, Some(dec), Some(v2)) = (decision, decide, v2.as_mut()) {
                    // The state recorded below, as the policy sees it (the same expressions).
                    for i in 0..lanes {
                        let x = features_of(d.hv[i] * d.s[i] * 1000.0, d.ln_l[i].exp(), d.s[i]);
                        for j in 0..k {
                            let c = &mut converted[j * lanes + i];
                            if !*c && dec(di, j, &x) {
                                *c = true;
                                if di > 0 {
                                    v2.book.add_member(di * k + j, i);
                                }
                            }
                        }
                    }
                }
                if let Some(v2) = v2.as_mut() {
                    let held = |j: usize| -> f64 {
                        units[j].iter().zip(defs).map(|(n, b)| n * b.ths).sum()
                    };
                    let mined = Mined {
                        cum: &cum,
                        tail: tails.as_ref().map_or(&[][..], |x| &x.cum[..]),
                        refresh: refreshed.then_some(&refresh[..]),
                    };
                    v2.day(d, lanes, &mined, held);
                }
                for (j, u) in units.iter().enumerate() {
                    let fleet_mw: f64 = u
                        .iter()
                        .zip(defs)
                        .map(|(n, b)| n * b.power_w * m.overhead / 1e6)
                        .sum();
                    let cj = &mut cum[j * lanes..(j + 1) * lanes];
                    if decision {
                        let o = (di * k + j) * lanes;
                        prefix[o..o + lanes].copy_from_slice(cj);
                        if refreshed {
                            let r = &refresh[j * lanes..(j + 1) * lanes];
                            match btc {
                                None => {
                                    for i in 0..lanes {
                                        refresh_pv[o + i] = r[i] * w;
                                    }
                                }
                                Some((df, _)) => {
                                    for i in 0..lanes {
                                        refresh_pv[o + i] = r[i] / d.s[i] * df;
                                    }
                                }
                            }
                        }
                        if let Some(tl) = tails.as_mut() {
                            tl.decision(
                                o,
                                j,
                                lanes,
                                btc.is_some_and(|b| b.1 && refreshed),
                                &refresh,
                            );
                        }
                        held_th[di * k + j] = u.iter().zip(defs).map(|(n, b)| n * b.ths).sum();
                    }
                    // The day's mining cash of the slice, `−opex + Σ units · margin (+ refresh)` per
                    // lane, into its sum. In USD, one pass for the usual fleets of up to four
                    // types (the same operations per lane as the passes below).
                    let base = -self.opex_rate * fleet_mw;
                    let usd = !matches!((btc, tails.as_ref()), (Some(_), Some(_)));
                    let r = refreshed.then(|| &refresh[j * lanes..(j + 1) * lanes]);
                    let mg = &margins[..u.len() * lanes];
                    let fused = usd
                        && match u.len() {
                            1 => mining_sum::<1>((base, u, mg, r), w, cj),
                            2 => mining_sum::<2>((base, u, mg, r), w, cj),
                            3 => mining_sum::<3>((base, u, mg, r), w, cj),
                            4 => mining_sum::<4>((base, u, mg, r), w, cj),
                            _ => false,
                        };
                    if fused {
                        continue;
                    }
                    let c = &mut cash[..lanes];
                    c.fill(base);
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
                    match (btc, tails.as_mut()) {
                        (Some((df, in_tv)), Some(tl)) => {
                            // MODEL.md §11: the day's cash in BTC at its own price; the terminal
                            // value's part is converted when the block ends.
                            for i in 0..lanes {
                                cj[i] += c[i] / d.s[i] * df;
                            }
                            if in_tv {
                                let tj = &mut tl.cum[j * lanes..(j + 1) * lanes];
                                for i in 0..lanes {
                                    tj[i] += c[i];
                                }
                            }
                        }
                        _ => {
                            for i in 0..lanes {
                                cj[i] += c[i] * w;
                            }
                        }
                    }
                }
                if t == l_days[li] {
                    l_vals[li * lanes..(li + 1) * lanes].copy_from_slice(&d.ln_l[..lanes]);
                    li += 1;
                }
                if let Some(tl) = tails.as_mut() {
                    if t + 1 == prep.n {
                        tl.s_last.copy_from_slice(&d.s[..lanes]);
                    }
                }
                if gi < ng && self.grid[gi] == t {
                    for i in 0..lanes {
                        out.grid_ln_s[i * ng + gi] = d.s[i].max(1e-300).ln();
                        out.grid_ln_l[i * ng + gi] = d.ln_l[i];
                    }
                    gi += 1;
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
            },
        );
        if let (Some(b), Some(tl)) = (self.btc.as_ref(), tails.as_ref()) {
            tl.convert(b.mining.tv, lanes, &mut cum, &mut prefix, &mut refresh_pv);
        }
        if let Some(v2) = v2.as_mut() {
            let s_last = tails.as_ref().map_or(&[][..], |x| &x.s_last[..]);
            v2.finish(&cum, lanes, s_last);
        }
        let sums = Sums {
            v2: v2.as_ref(),
            cum: &cum,
            prefix: &prefix,
            refresh_pv: &refresh_pv,
            held_th: &held_th,
            l_days: &l_days,
            l_vals: &l_vals,
            s_last: tails.as_ref().map_or(&[][..], |x| &x.s_last[..]),
        };
        self.finish(&sums, &mut out);
        out
    }

    /// Per path, the slices' values from the day loop's sums: `mining_total`, `mining_from`
    /// (the mining cash from each decision day on), `convert_at` (the AI value of converting
    /// then, plus the salvage of the slice's machines) and with `[finance]` `convert_eq`.
    fn finish(&self, s: &Sums<'_>, out: &mut SliceBlock) {
        let (k, nd, lanes) = (self.k, self.days.len(), out.paths);
        let salvage = self.prep.scenario.mining.salvage_usd_per_th;
        for i in 0..lanes {
            for j in 0..k {
                out.mining_total[i * k + j] = s.cum[j * lanes + i];
            }
            for (di, &day) in self.days.iter().enumerate() {
                if let Some(v2) = s.v2 {
                    let w_sale = self.sale_weight(day, out.price[i * nd + di], s.s_last, i);
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
                                w_sale(salvage * s.held_th[di * k + j])
                            };
                        if let Some(eq) = &v2.equity {
                            // The owner's value: the AI stream levered (MODEL.md §10).
                            out.convert_eq[q] = out.convert_at[q] - v2.ai[o] + eq.npv[o];
                        }
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

    /// The present value at day 0 of `x` dollars of mining cash on `day` (the machines' sale) on
    /// lane `i`: the mining weight in USD; in BTC (MODEL.md §11) divided by the day's price
    /// `s_day`, and its terminal-value part by the lane's `S_{N−1}` (`s_last[i]`).
    fn sale_weight<'s>(
        &'s self,
        day: usize,
        s_day: f64,
        s_last: &'s [f64],
        i: usize,
    ) -> impl Fn(f64) -> f64 + 's {
        move |x| match &self.btc {
            None => x * self.prep.w_mining[day],
            Some(b) => {
                let d = &b.mining;
                let tv = if day >= d.first_tv {
                    d.tv * x / s_last[i]
                } else {
                    0.0
                };
                x / s_day * d.df[day] + tv
            }
        }
    }

    /// The equity figures of each path of block `block` (as [`Slices::block`]) when slice `j` of
    /// path `i` is converted on decision day index `stops[i · k + j]` (or never: `u32::MAX`):
    /// every conversion's loan, its equity cash, DSCR and the path's IRRs, from the same
    /// [`EquityBook`] as the fixed strategies' (MODEL.md §10; in BTC with `run.currency = "btc"`).
    /// The AI projects are the slices' (`key` = slice), so their draws are those of
    /// [`Slices::block`]. Empty when the scenario has no `[finance]`.
    pub fn policy_equity(
        &self,
        seed: u64,
        block: u64,
        paths: usize,
        antithetic: bool,
        stops: &[u32],
    ) -> Vec<LaneEquity> {
        let args = (seed, block, paths, antithetic);
        #[cfg(target_arch = "x86_64")]
        match self.prep.isa {
            // SAFETY: as in `Slices::block`.
            Isa::Avx512 => return unsafe { self.policy_equity_avx512(args, stops) },
            Isa::Avx2 => return unsafe { self.policy_equity_avx2(args, stops) },
            Isa::Baseline => {}
        }
        self.policy_equity_inline(args, stops)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
    unsafe fn policy_equity_avx512(&self, a: BlockArgs, stops: &[u32]) -> Vec<LaneEquity> {
        self.policy_equity_inline(a, stops)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn policy_equity_avx2(&self, a: BlockArgs, stops: &[u32]) -> Vec<LaneEquity> {
        self.policy_equity_inline(a, stops)
    }

    /// [`Slices::policy_equity`] for the instruction set of its caller (as [`Slices::block`]).
    #[inline(always)]
    fn policy_equity_inline(
        &self,
        (seed, block, paths, antithetic): BlockArgs,
        stops: &[u32],
    ) -> Vec<LaneEquity> {
        let (Some(debt), Some(terms)) = (self.debt.as_ref(), self.terms.as_ref()) else {
            return Vec::new();
        };
        let prep = &self.prep;
        let (k, lanes) = (self.k, paths.min(BLOCK));
        // Only the (decision day, slice) projects some path of the block converts.
        let mut used: Vec<(u32, usize)> = (0..lanes * k)
            .filter(|&x| (stops[x] as usize) < self.days.len())
            .map(|x| (stops[x], x % k))
            .collect();
        used.sort_unstable();
        used.dedup();
        let it_mw = self.slice_mw * prep.scenario.ai.it_mw_per_gross_mw;
        let projects = used
            .iter()
            .map(|&(di, j)| AiProject {
                tau: self.days[di as usize],
                it_mw,
                key: j as u64,
            })
            .collect();
        let mut book = AiBook::new(terms, projects, seed, block, lanes);
        let mut eq = EquityBook::with_currency(k, lanes, prep.n, self.btc.is_some());
        let converts = |i: usize, (di, j): (u32, usize)| stops[i * k + j] == di;
        // Each project's converting lanes, ascending (a day then looks at those only).
        let members: Vec<Vec<usize>> = used
            .iter()
            .map(|&u| (0..lanes).filter(|&i| converts(i, u)).collect())
            .collect();
        for (p, &u) in used.iter().enumerate() {
            for &i in &members[p] {
                eq.set_ready(u.1, i, book.ready(p)[i]);
            }
        }
        // The book steps each project on its converting lanes only (the same bits there).
        book.restrict_lanes(
            members
                .iter()
                .map(|m| m.iter().map(|&i| i as u32).collect())
                .collect(),
        );
        let btc = self.btc.is_some();
        // A lease whose lanes draw their events, in USD: the day loop steps the leases' events
        // only, and the equity book's days run after it, lane by lane (`lane_days`).
        let deferred = self.coast.is_some();
        if deferred {
            book.keep_log();
            // The events need the lease index only (a lease's events, its signing and re-lets
            // read `ln L`, nothing else of the day): the index alone, the same bits.
            prep.run_lease_inline((seed, block, lanes, antithetic), |t, ln_l| {
                book.begin_day(t);
                for p in 0..used.len() {
                    if !book.started(p, t) {
                        continue;
                    }
                    if t == book.projects()[p].tau {
                        book.sign(p, ln_l);
                    }
                    book.lease_events(p, t, ln_l, |_, _, _| {});
                }
            });
            lane_days(&book, &mut eq, debt, &used, &members, prep.n);
            return (0..lanes).map(|i| eq.finish(debt, i)).collect();
        }
        prep.run_block_with(
            seed,
            block,
            lanes,
            antithetic,
            #[inline(always)]
            |d: &LaneDay| {
                let t = d.t;
                let day = AiDay {
                    t,
                    ln_l: &d.ln_l[..lanes],
                    s: &d.s[..lanes],
                    usd_mwh: prep.power_price[t],
                };
                book.begin_day(t);
                for (p, &u) in used.iter().enumerate() {
                    if !book.started(p, t) {
                        continue;
                    }
                    if book.coast_from(p).is_some_and(|from| t >= from) {
                        // A lease whose build is over: the events of its lanes due today, then
                        // each lane's rent (`project_day`'s values: no capex, the same rent).
                        book.lease_events(p, t, day.ln_l, |_, _, _| {});
                        for &i in &members[p] {
                            let c = DayCash {
                                capex: 0.0,
                                fundable: 0.0,
                                opcash: book.lease_rent(p, i, t),
                            };
                            eq.conversion_day(debt, u.1, i, t, c, btc.then(|| d.s[i]));
                        }
                        continue;
                    }
                    book.project_day(p, &day);
                    let (capex, op, gpu) = (book.capex(p), book.opcash(p), book.gpu_buy(p));
                    for &i in &members[p] {
                        let c = DayCash {
                            capex: capex[i],
                            fundable: fundable(debt, capex[i], gpu.get(i).copied()),
                            opcash: op[i],
                        };
                        eq.conversion_day(debt, u.1, i, t, c, btc.then(|| d.s[i]));
                    }
                }
            },
        );
        (0..lanes).map(|i| eq.finish(debt, i)).collect()
    }
}

/// [`Slices::policy_equity`]'s equity days of a lease whose events the day loop stepped (with
/// the book's log): per lane, day by day from its first conversion's decision day, each of its
/// conversions' day (the projects in `used` order) with the cash the book's day would have
/// written: the build's capex (all of it fundable: a lease has no GPUs) and the rent replayed
/// from the log ([`AiBook::lease_opcash`]). Per lane the calls of the day loop in their order,
/// so the same bits; the lane's state stays in cache, and no lane is looked at on a day it has
/// nothing.
fn lane_days(
    book: &AiBook<'_>,
    eq: &mut EquityBook,
    debt: &DebtTerms,
    used: &[(u32, usize)],
    members: &[Vec<usize>],
    n: usize,
) {
    let lanes = members.iter().flatten().max().map_or(0, |&m| m + 1);
    let mut rent: Vec<Vec<f64>> = Vec::new();
    for lane in 0..lanes {
        // The lane's conversions: (project, its decision day).
        let convs: Vec<(usize, usize)> = (0..used.len())
            .filter(|&p| members[p].binary_search(&lane).is_ok())
            .map(|p| (p, book.projects()[p].tau))
            .collect();
        let Some(first) = convs.iter().map(|c| c.1).min() else {
            continue;
        };
        rent.resize_with(convs.len(), Vec::new);
        for (x, &(p, tau)) in convs.iter().enumerate() {
            // `lease_opcash` writes every day: the buffer's stale values need no zeroing.
            rent[x].resize(n.saturating_sub(tau), 0.0);
            book.lease_opcash(p, lane, tau, &mut rent[x]);
        }
        // From the day after the last ready day and build of the lane's conversions on, every
        // day is a quiet one: no capex, each term loan repaying.
        let quiet = convs
            .iter()
            .map(|&(p, _)| {
                book.ready(p)[lane]
                    .saturating_add(1)
                    .max(book.build(p).1[lane])
            })
            .max()
            .unwrap_or(first)
            .min(n);
        // The lane's loans held out of the book's arrays through these days (the same state
        // and operations; see `EquityBook::conversion_day_held`).
        let mut loans: Vec<Loan> = convs
            .iter()
            .map(|&(p, _)| eq.take_loan(used[p].1, lane))
            .collect();
        for t in first..quiet {
            for (x, &(p, tau)) in convs.iter().enumerate() {
                if t < tau {
                    continue;
                }
                let (capex_day, capex_end) = book.build(p);
                let capex = if t < capex_end[lane] {
                    capex_day[lane]
                } else {
                    0.0
                };
                let c = DayCash {
                    capex,
                    fundable: fundable(debt, capex, None),
                    opcash: rent[x][t - tau],
                };
                eq.conversion_day_held(&mut loans[x], debt, (lane, t), c);
            }
        }
        for (&(p, _), loan) in convs.iter().zip(loans) {
            eq.put_loan(used[p].1, lane, loan);
        }
        let tail: Vec<(usize, &[f64])> = convs
            .iter()
            .enumerate()
            .map(|(x, &(p, tau))| (used[p].1, &rent[x][quiet.max(tau) - tau..]))
            .collect();
        eq.quiet_lane_days(debt, lane, (quiet, n), &tail);
    }
}

/// One slice's day of USD mining cash into its sum, `cj[i] += c_i · w` with
/// `c_i = base + Σ_ty units[ty] · margin[ty][i] (+ refresh[i])`, for a fleet of `N` types, in one
/// pass over the lanes: the operations of [`Slices::block`]'s separate passes (fill, each type,
/// the refresh, the sum) in their order per lane, so the same bits. Returns `true` (done).
#[inline(always)]
fn mining_sum<const N: usize>(
    (base, units, margins, refresh): (f64, &[f64], &[f64], Option<&[f64]>),
    w: f64,
    cj: &mut [f64],
) -> bool {
    let lanes = cj.len();
    let n: [f64; N] = std::array::from_fn(|ty| units[ty]);
    let mg: [&[f64]; N] = std::array::from_fn(|ty| &margins[ty * lanes..(ty + 1) * lanes]);
    match refresh {
        None => {
            for i in 0..lanes {
                let mut c = base;
                for ty in 0..N {
                    c += n[ty] * mg[ty][i];
                }
                cj[i] += c * w;
            }
        }
        Some(r) => {
            let r = &r[..lanes];
            for i in 0..lanes {
                let mut c = base;
                for ty in 0..N {
                    c += n[ty] * mg[ty][i];
                }
                c += r[i];
                cj[i] += c * w;
            }
        }
    }
    true
}

/// The part of a day's capex the lender funds `ltc` of: the hall, and the GPUs `gpu` (cloud)
/// only with `finance.fund_gpus` (as `EquityBook::project_day`).
#[inline]
fn fundable(debt: &DebtTerms, capex: f64, gpu: Option<f64>) -> f64 {
    match gpu {
        Some(g) if !debt.fund_gpus => capex - g,
        _ => capex,
    }
}

/// The BTC view's terminal-value parts of [`Slices::block`]'s mining sums (MODEL.md §11): the
/// undiscounted USD cash of the last 365 days in each sum, converted at `S_{N−1}` when the block
/// ends ([`MiningTails::convert`]). Same layouts as the sums.
struct MiningTails {
    /// Per slice, `[j · lanes + i]`.
    cum: Vec<f64>,
    /// Per decision day and slice, `[(d · k + j) · lanes + i]`: `cum` before the decision day.
    prefix: Vec<f64>,
    /// The refresh cash of a decision day that is also a refresh day (inside the last 365 days).
    refresh: Vec<f64>,
    /// `S_{N−1}` per lane.
    s_last: Vec<f64>,
}

impl MiningTails {
    fn new(k: usize, nd: usize, lanes: usize) -> Self {
        MiningTails {
            cum: vec![0.0; k * lanes],
            prefix: vec![0.0; nd * k * lanes],
            refresh: vec![0.0; nd * k * lanes],
            s_last: vec![f64::NAN; lanes],
        }
    }

    /// A decision day at offset `o` for slice `j`: the prefix, and the day's refresh when it
    /// counts in the terminal value.
    fn decision(&mut self, o: usize, j: usize, lanes: usize, refresh_in_tv: bool, r: &[f64]) {
        let src = &self.cum[j * lanes..(j + 1) * lanes];
        self.prefix[o..o + lanes].copy_from_slice(src);
        if refresh_in_tv {
            self.refresh[o..o + lanes].copy_from_slice(&r[j * lanes..(j + 1) * lanes]);
        }
    }

    /// Adds the terminal value `tv · tail / S_{N−1}` to each sum.
    fn convert(&self, tv: f64, lanes: usize, cum: &mut [f64], prefix: &mut [f64], rf: &mut [f64]) {
        for (sum, tail) in [
            (cum, &self.cum),
            (prefix, &self.prefix),
            (rf, &self.refresh),
        ] {
            for (o, (x, t)) in sum.iter_mut().zip(tail.iter()).enumerate() {
                *x += tv * t / self.s_last[o % lanes];
            }
        }
    }
}

/// What [`SliceBook::day`] reads of the day's mining sums.
struct Mined<'m> {
    /// Each slice's discounted mining cash before today, `[j · lanes + i]`.
    cum: &'m [f64],
    /// BTC view: its terminal-value part ([`MiningTails::cum`]); empty in USD.
    tail: &'m [f64],
    /// The undiscounted refresh cash of today, if today is a refresh day.
    refresh: Option<&'m [f64]>,
}

/// `[finance]`: every `(decision day, slice)` project's loan on each lane and its AI equity NPV
/// (MODEL.md §10), for the exercise values. The figures a policy's conversions report (DSCR,
/// IRRs) come from [`Slices::policy_equity`].
///
/// The equity NPV is the AI cash at the cost of equity with its terminal value, plus the debt's
/// part, `Σ (draw − payment) · w_eq − owed · w_eq(N)`. For a lease in USD the debt's part is known
/// once the project's hall capex per day and its ready day are: the draws are `ltc` of the hall
/// capex, spent evenly from `τ` (MODEL.md §8), and the payments do not depend on rent. A loan is
/// linear in its draws, so that part is the hall capex per day times the part of a loan of unit
/// daily draws with the same `(τ, ready day)`, run once per such pair and block (`unit`) through
/// the same [`Loan`]: the thousands of `(day, slice, lane)` loans then cost a table look-up each
/// instead of a loan step per day. Draws that depend on the path (a GPU cloud's purchases) and the
/// BTC view (each day's debt cash at its own price) step every loan day by day (`loans`).
struct ProjectEquity<'a> {
    debt: &'a DebtTerms,
    /// With `linear`: the run's [`unit_debt`] values.
    unit: &'a UnitDebt,
    /// Day-by-day loans, `[p · lanes + i]`, each from its lane's ready day; empty when `linear`.
    loans: Vec<Loan>,
    /// A lease in USD: the debt's part from unit loans.
    linear: bool,
    /// With `linear`: each project's hall capex per build day, `[p · lanes + i]`.
    hall: Vec<f64>,
    /// Equity cash discounted at the cost of equity (the day-`N` terms added by `finish`).
    npv: Vec<f64>,
    /// The AI cash in USD of the last 365 days (the terminal value is a multiple of it).
    tail: Vec<f64>,
}

impl ProjectEquity<'_> {
    /// Day `t` of a linear project `p` (a lease in USD; the debt's part comes in `finish`): the
    /// day's cash into the AI value's sum `ai` at `w_ai` and into the equity's at the cost of
    /// equity in one pass over it ([`AiBook::add_cash2`]: the operations of two `add_cash`
    /// calls), the hall capex recorded on its decision day, the terminal value's cash.
    #[inline(always)]
    fn linear_day(&mut self, book: &AiBook<'_>, p: usize, t: usize, w_ai: f64, ai: &mut [f64]) {
        let lanes = book.capex(p).len();
        let r = p * lanes..(p + 1) * lanes;
        let w_eq = self.debt.w_eq[t];
        book.add_cash2(p, (w_ai, ai), (w_eq, &mut self.npv[r.clone()]));
        if t == book.projects()[p].tau {
            self.hall[r.clone()].copy_from_slice(book.capex(p));
        }
        if t + 365 >= self.debt.days {
            book.add_cash(p, 1.0, &mut self.tail[r]);
        }
    }

    /// Day `t` of project `p` on every lane of a project stepped day by day (not `linear`: see
    /// [`ProjectEquity::linear_day`]): the lender's draw, the loan's payment, and the equity
    /// cash `AI cash + draw − payment` (in BTC at the lane's price `s`).
    #[inline(always)]
    fn day(&mut self, book: &AiBook<'_>, p: usize, t: usize, s: Option<&[f64]>) {
        debug_assert!(!self.linear, "a linear project's day is `linear_day`");
        let (capex, op, gpu) = (book.capex(p), book.opcash(p), book.gpu_buy(p));
        let lanes = capex.len();
        let debt = self.debt;
        let w = debt.w_eq[t];
        let in_tv = t + 365 >= debt.days;
        for i in 0..lanes {
            let o = p * lanes + i;
            let draw = debt.ltc * fundable(debt, capex[i], gpu.get(i).copied());
            // (The slices need the loan's debt service only, not its DSCR.)
            let q = self.loans[o].service(debt, t, draw);
            let ai = op[i] - capex[i];
            if in_tv {
                self.tail[o] += ai;
            }
            let e = ai + draw - q;
            self.npv[o] += s.map_or(e, |s| e / s[i]) * w;
        }
    }

    /// After day `N − 1`: the day-`N` terms, the terminal value less what is owed (in BTC at
    /// `S_{N−1}`, `s_last`, when not empty), and with `linear` the debt's part.
    fn finish(&mut self, book: &AiBook<'_>, lanes: usize, s_last: &[f64]) {
        let debt = self.debt;
        if self.linear {
            // Each entry's `(τ, ready day)`: the projects of one decision day (consecutive, the
            // same `τ`) sort their lanes' ready days together, each entry noting its key's
            // index (one sort of a few hundred per day, not one of every entry, and no search).
            let projects = book.projects();
            let mut keys: Vec<(usize, usize)> = Vec::new();
            let mut key_of = vec![0u32; self.npv.len()];
            let mut by_ready: Vec<(usize, u32)> = Vec::new();
            let mut p = 0;
            while p < projects.len() {
                let tau = projects[p].tau;
                let end = p + projects[p..].iter().take_while(|q| q.tau == tau).count();
                by_ready.clear();
                for q in p..end {
                    let ready = book.ready(q);
                    by_ready.extend((0..lanes).map(|i| (ready[i], (q * lanes + i) as u32)));
                }
                by_ready.sort_unstable();
                for &(ready, o) in &by_ready {
                    if keys.last() != Some(&(tau, ready)) {
                        keys.push((tau, ready));
                    }
                    key_of[o as usize] = (keys.len() - 1) as u32;
                }
                p = end;
            }
            let values = self.unit.get_all(debt, &keys);
            for (o, npv) in self.npv.iter_mut().enumerate() {
                let per_draw = values[key_of[o] as usize];
                let tv = debt.terminal_multiple * self.tail[o];
                *npv += tv * debt.w_eq_n + self.hall[o] * per_draw;
            }
            return;
        }
        for (o, loan) in self.loans.iter().enumerate() {
            let per_usd = s_last.get(o % lanes).map_or(1.0, |s| 1.0 / s);
            let day_n = debt.terminal_multiple * self.tail[o] - loan.owed_at_horizon(debt);
            self.npv[o] += day_n * per_usd * debt.w_eq_n;
        }
    }
}

/// The debt's part of the equity NPV (MODEL.md §10) of a project decided on `tau` and ready on
/// `ready`, per dollar of hall capex per build day: the lender draws `ltc` on each build day
/// `tau .. max(ready, tau + 1)`, the [`Loan`] runs to day `N − 1`, and what is still owed is
/// repaid on day `N`: `Σ (draw − payment) · w_eq − owed · w_eq(N)`.
fn unit_debt(debt: &DebtTerms, (tau, ready): (usize, usize)) -> f64 {
    let end = ready.max(tau + 1);
    let mut loan = Loan::new(ready);
    let mut pv = 0.0;
    // (The debt service only: after the ready day nothing is drawn, `end ≤ ready + 1`.)
    let build_end = (ready + 1).max(end).min(debt.days).max(tau);
    for t in tau..build_end {
        let draw = if t < end { debt.ltc } else { 0.0 };
        let q = loan.service(debt, t, draw);
        pv += (draw - q) * debt.w_eq[t];
    }
    // The payments after the ready day, the term loan in registers (the same bits).
    let pv = loan.repay_pv(debt.i, build_end, &debt.w_eq[..debt.days], pv);
    pv - loan.owed_at_horizon(debt) * debt.w_eq_n
}

/// The path-dependent AI side of [`Slices::block`] (MODEL.md §8): one AI project per decision
/// day and slice, its draws keyed by the slice index (so a slice has the same build delay,
/// overrun and tenant history whatever day it is converted), with `ai.mine_during_build`
/// the slice's mining value up to and including its sale on each lane's ready day, and with
/// `[finance]` each project's loan and equity value.
struct SliceBook<'a> {
    book: AiBook<'a>,
    k: usize,
    /// Discounted AI cash of converting slice `j` on decision day `d`, `[(d · k + j) · lanes + i]`.
    ai: Vec<f64>,
    /// BTC view: the AI stream's discounting (MODEL.md §11), `None` in USD.
    btc: Option<&'a Discount>,
    /// BTC view: the USD AI cash of the terminal value's days, as `ai`.
    ai_tail: Vec<f64>,
    mine_during_build: bool,
    /// With `mine_during_build`: the slice's discounted mining cash before its ready day, plus
    /// that day's refresh and the sale of its machines then, `[(d · k + j) · lanes + i]` (the
    /// whole horizon's when the hall is not ready inside it).
    at_ready: Vec<f64>,
    /// BTC view: the terminal-value part of `at_ready` (USD, undiscounted).
    at_ready_tail: Vec<f64>,
    /// Whether `at_ready` was recorded for the entry.
    recorded: Vec<bool>,
    /// With `mine_during_build`: each project's lanes sorted by ready day, `[p · lanes + x]`,
    /// and per project the first of them not yet ready (so a day looks at today's lanes only).
    ready_order: Vec<u32>,
    ready_next: Vec<usize>,
    /// Per project, the first day it has anything to do: its first day (`tau`) until it starts,
    /// then, valued by its events, its next event of a lane or a lane's hall ready (never before
    /// `tau`). The days before are skipped without a look.
    wake: Vec<usize>,
    /// Scratch of [`SliceBook::day`]: the projects due today, in their order.
    due: Vec<u32>,
    /// The earliest day any project has anything to do (its wake day, or its first day): the
    /// days before are skipped without a look at the projects.
    wake_min: usize,
    /// `[finance]`: each project's loan and AI equity NPV.
    equity: Option<ProjectEquity<'a>>,
    salvage: f64,
    w_ai: &'a [f64],
    w_mining: &'a [f64],
    /// BTC view: the mining stream's discounting.
    btc_mining: Option<&'a Discount>,
    /// Site power price `p_t`, $/MWh.
    power: &'a [f64],
    /// A lease whose lanes draw their events, in USD: the projects valued by their events from
    /// their first day ([`CoastSums`]); `None` otherwise.
    coast: Option<Coasting<'a>>,
}

/// [`SliceBook`]'s projects valued by their events ([`CoastSums`], [`AiBook::lease_events`]).
struct Coasting<'a> {
    sums: &'a CoastSums,
    /// Per project, whether it is valued by its events (from its first day on).
    on: Vec<bool>,
    /// Per lane slot `[p · lanes + i]`, the first day whose rent is not summed yet.
    from: Vec<u32>,
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
        let book = AiBook::new(terms, projects, seed, block, lanes);
        let np = book.projects().len();
        let wake = book.projects().iter().map(|pr| pr.tau).collect();
        let ready_order: Vec<u32> = (0..np)
            .filter(|_| mdb)
            .flat_map(|p| {
                let ready = book.ready(p);
                let mut order: Vec<u32> = (0..lanes as u32).collect();
                order.sort_by_key(|&i| ready[i as usize]);
                order
            })
            .collect();
        let btc = s.btc.is_some();
        // A lease in USD: the debt's part from unit loans (see ProjectEquity).
        let linear = !btc && sc.ai.mode == AiMode::Lease;
        let equity = s.debt.as_ref().map(|debt| ProjectEquity {
            debt,
            unit: &s.unit_debt,
            loans: (0..book.projects().len())
                .filter(|_| !linear)
                .flat_map(|p| book.ready(p).iter().map(|&r| Loan::new(r)))
                .collect(),
            linear,
            hall: vec![0.0; if linear { size } else { 0 }],
            npv: vec![0.0; size],
            tail: vec![0.0; size],
        });
        SliceBook {
            book,
            k: s.k,
            ai: vec![0.0; size],
            btc: s.btc.as_ref().map(|b| &b.ai),
            ai_tail: vec![0.0; if btc { size } else { 0 }],
            mine_during_build: mdb,
            at_ready: vec![0.0; if mdb { size } else { 0 }],
            at_ready_tail: vec![0.0; if mdb && btc { size } else { 0 }],
            recorded: vec![false; if mdb { size } else { 0 }],
            ready_order,
            ready_next: vec![0; np],
            wake,
            due: vec![0; np],
            wake_min: 0,
            equity,
            salvage: sc.mining.salvage_usd_per_th,
            w_ai: &s.prep.w_ai,
            w_mining: &s.prep.w_mining,
            btc_mining: s.btc.as_ref().map(|b| &b.mining),
            power: &s.prep.power_price,
            coast: s.coast.as_ref().map(|sums| Coasting {
                sums,
                on: vec![false; np],
                from: vec![0; size],
            }),
        }
    }

    /// Day `t` of project `p` (a started project) when it is valued by its events
    /// ([`Coasting`]; `false`, nothing done, when it is not). On its first day the leases are
    /// signed and the build's capex is added in closed form (with `[finance]` the hall's capex is
    /// recorded for the debt, as [`ProjectEquity::linear_day`] does); on every day the lanes
    /// with an event today have the rent since their last event added in closed form, then
    /// their event is stepped; the other lanes are not looked at.
    #[inline(always)]
    fn coast_day(&mut self, p: usize, t: usize, lanes: usize, ln_l: &[f64]) -> bool {
        let Some(c) = self.coast.as_mut() else {
            return false;
        };
        let r = p * lanes..(p + 1) * lanes;
        if !c.on[p] {
            debug_assert_eq!(
                t,
                self.book.projects()[p].tau,
                "from the project's first day"
            );
            c.on[p] = true;
            c.from[r.clone()].fill(t as u32);
            self.book.sign(p, ln_l);
            let (capex, end) = self.book.build(p);
            let all: Vec<u32>;
            let lanes_of = match self.book.members(p) {
                Some(m) => m,
                None => {
                    all = (0..lanes as u32).collect();
                    &all
                }
            };
            for &i in lanes_of {
                let (i, o) = (i as usize, p * lanes + i as usize);
                let e = self
                    .equity
                    .as_mut()
                    .map(|e| (&mut e.npv[o], &mut e.tail[o]));
                c.sums.add_capex(capex[i], (t, end[i]), &mut self.ai[o], e);
                if let Some(eq) = self.equity.as_mut() {
                    eq.hall[o] = capex[i];
                }
            }
        }
        let (sums, from) = (c.sums, &mut c.from[r.clone()]);
        let ai = &mut self.ai[r.clone()];
        let mut eq = self
            .equity
            .as_mut()
            .map(|e| (&mut e.npv[r.clone()], &mut e.tail[r]));
        self.book.lease_events(p, t, ln_l, |i, rate, start| {
            let e = eq.as_mut().map(|(n, tl)| (&mut n[i], &mut tl[i]));
            sums.add((rate, start), (from[i] as usize, t), &mut ai[i], e);
            from[i] = t as u32;
        });
        true
    }

    /// The rent not summed yet of every project valued by its events: its days up to the
    /// horizon `n` (after the last day).
    fn coast_finish(&mut self, lanes: usize, n: usize) {
        let Some(c) = self.coast.as_ref() else {
            return;
        };
        for p in (0..c.on.len()).filter(|&p| c.on[p]) {
            let (rate, start) = self.book.lease_state(p);
            for i in 0..lanes {
                let o = p * lanes + i;
                let e = self
                    .equity
                    .as_mut()
                    .map(|e| (&mut e.npv[o], &mut e.tail[o]));
                let a = c.from[o] as usize;
                c.sums.add((rate[i], start[i]), (a, n), &mut self.ai[o], e);
            }
        }
    }

    /// Day `d.t`: every started project's AI cash (and with `[finance]` its loan's day), and the
    /// slices' values on the lanes whose hall is ready today (`held(j)`: the TH/s slice `j` holds
    /// after today's refresh).
    #[inline(always)]
    fn day(&mut self, d: &LaneDay, lanes: usize, mined: &Mined<'_>, held: impl Fn(usize) -> f64) {
        let t = d.t;
        let s = &d.s[..lanes];
        let day = AiDay {
            t,
            ln_l: &d.ln_l[..lanes],
            s,
            // The site price p_t: a GPU cloud's power bill (MODEL.md §9).
            usd_mwh: self.power[t],
        };
        self.book.begin_day(t);
        // No project has anything to do before the earliest of their next days.
        if t < self.wake_min {
            return;
        }
        let w = self.w_ai[t];
        // The projects due today, listed first in a tight branch-free scan: skipped inside the
        // loop below, whose body is large, each asleep project cost that loop's induction
        // variables (kept on the stack) a round of stores and reloads.
        let mut wake_min = usize::MAX;
        let mut due = std::mem::take(&mut self.due);
        let mut n_due = 0;
        for (p, &wake) in self.wake.iter().enumerate() {
            due[n_due] = p as u32;
            let asleep = t < wake;
            wake_min = wake_min.min(if asleep { wake } else { usize::MAX });
            n_due += usize::from(!asleep);
        }
        // Project by project: its day, then its cash into the sums while its lanes are in cache.
        for &p in &due[..n_due] {
            let p = p as usize;
            if self.coast_day(p, t, lanes, day.ln_l) {
                let mut wake = self.book.next_event(p);
                if self.mine_during_build {
                    self.ready_today(p, t, lanes, s, mined, &held);
                    let c = self.ready_next[p];
                    if c < lanes {
                        let i = self.ready_order[p * lanes + c] as usize;
                        wake = wake.min(self.book.ready(p)[i]);
                    }
                }
                // Not before its first day (as `started`).
                let wake = wake.max(self.book.projects()[p].tau);
                self.wake[p] = wake;
                wake_min = wake_min.min(wake);
                continue;
            }
            // Stepped day by day.
            wake_min = wake_min.min(t + 1);
            self.book.project_day(p, &day);
            let r = p * lanes..(p + 1) * lanes;
            match (self.btc, self.equity.as_mut()) {
                // A lease in USD, levered: both sums of the day's cash in one pass.
                (None, Some(eq)) if eq.linear => {
                    eq.linear_day(&self.book, p, t, w, &mut self.ai[r]);
                }
                (btc, equity) => {
                    match btc {
                        None => self.book.add_cash(p, w, &mut self.ai[r]),
                        Some(disc) => {
                            // MODEL.md §11: the day's AI cash in BTC at the lane's price.
                            self.book
                                .add_cash_per(p, disc.df[t], s, &mut self.ai[r.clone()]);
                            if t >= disc.first_tv {
                                self.book.add_cash(p, 1.0, &mut self.ai_tail[r]);
                            }
                        }
                    }
                    if let Some(eq) = equity {
                        eq.day(&self.book, p, t, btc.map(|_| s));
                    }
                }
            }
            if self.mine_during_build {
                self.ready_today(p, t, lanes, s, mined, &held);
            }
        }
        self.due = due;
        self.wake_min = wake_min;
    }

    /// `ai.mine_during_build`: project `p`'s lanes whose hall is ready on day `t` record the
    /// slice's mining value up to and including the sale of its machines today.
    #[inline(always)]
    fn ready_today(
        &mut self,
        p: usize,
        t: usize,
        lanes: usize,
        s: &[f64],
        mined: &Mined<'_>,
        held: &impl Fn(usize) -> f64,
    ) {
        let j = p % self.k;
        let ready = self.book.ready(p);
        let order = &self.ready_order[p * lanes..(p + 1) * lanes];
        // The lanes in the order of their ready days: today's are at the cursor (a day is
        // visited once, and never before the project starts, which is never after a ready day).
        let mut c = self.ready_next[p];
        while c < lanes && ready[order[c] as usize] < t {
            c += 1;
        }
        while c < lanes && ready[order[c] as usize] == t {
            let i = order[c] as usize;
            c += 1;
            let o = p * lanes + i;
            let rf = mined.refresh.map_or(0.0, |x| x[j * lanes + i]);
            let cash = rf + self.salvage * held(j);
            let before = mined.cum[j * lanes + i];
            self.at_ready[o] = match self.btc_mining {
                None => before + cash * self.w_mining[t],
                Some(disc) => {
                    let in_tv = if t >= disc.first_tv { cash } else { 0.0 };
                    self.at_ready_tail[o] = mined.tail[j * lanes + i] + in_tv;
                    before + cash / s[i] * disc.df[t]
                }
            };
            self.recorded[o] = true;
        }
        self.ready_next[p] = c;
    }

    /// After the last day, with the mining sums `cum` complete (terminal values included): the
    /// BTC view's terminal values at `S_{N−1}` (`s_last`, empty in USD), the loans' day-`N`
    /// terms, and a hall not ready inside the horizon keeps its slice mining to the end.
    fn finish(&mut self, cum: &[f64], lanes: usize, s_last: &[f64]) {
        self.coast_finish(lanes, self.w_ai.len());
        if let (Some(disc), false) = (self.btc, s_last.is_empty()) {
            for (o, (a, t)) in self.ai.iter_mut().zip(&self.ai_tail).enumerate() {
                *a += disc.tv * t / s_last[o % lanes];
            }
        }
        if let Some(eq) = self.equity.as_mut() {
            eq.finish(&self.book, lanes, s_last);
        }
        if !self.mine_during_build {
            return;
        }
        let tv = self.btc_mining.map_or(0.0, |d| d.tv);
        for o in 0..self.at_ready.len() {
            let (p, i) = (o / lanes, o % lanes);
            if !self.recorded[o] {
                self.at_ready[o] = cum[(p % self.k) * lanes + i];
            } else if let Some(&tail) = self.at_ready_tail.get(o) {
                self.at_ready[o] += tv * tail / s_last[i];
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
    /// BTC view: `S_{N−1}` per lane; empty in USD.
    s_last: &'a [f64],
}

/// MODEL.md §5 and §10 by hand, for the tests of the levered exercise values (here and in
/// `crate::strategy::optimal`).
#[cfg(test)]
pub(crate) mod by_hand {
    use crate::scenario::Scenario;

    /// One slice of `sc` converted on day `tau` with the lease signed at `l_tau` ($/kW-month), in
    /// a scenario with section 8 off but a fixed capex overrun, one lease term covering the
    /// horizon, in USD and with `[finance]`: the unlevered AI value (at `ai.discount_rate`) and
    /// the AI equity NPV (equity cash `AI cash + draw − payment` at `finance.cost_of_equity`,
    /// the day-`N` terminal value less what is owed), both at day 0.
    pub(crate) fn slice_values(sc: &Scenario, tau: usize, l_tau: f64) -> (f64, f64) {
        let a = &sc.ai;
        let f = sc.finance.as_ref().expect("a levered scenario");
        let n = (sc.run.horizon_years * 365.0).round() as usize;
        assert!(a.lease_term_years * 365.0 >= n as f64, "one lease term");
        let it = sc.site.power_mw / sc.strategy.tranches as f64 * a.it_mw_per_gross_mw;
        let b = (a.build_months * 365.0 / 12.0).round() as usize;
        let spend = b.max(1);
        let capex = it * a.capex_usd_per_mw_it * (1.0 + a.capex_overrun) / spend as f64;
        let ready = tau + b;
        assert!(ready < n, "rent starts inside the horizon");
        let building = |t: usize| t >= tau && t < tau + spend;
        let ai: Vec<f64> = (0..n)
            .map(|t| {
                let mut c = if building(t) { -capex } else { 0.0 };
                if t >= ready {
                    let y = (t - ready) as f64 / 365.0;
                    c += it * 1000.0 * l_tau * 12.0 / 365.0
                        * a.noi_margin
                        * (1.0 + a.lease_escalator).powf(y)
                        * (-a.tenant_default_rate * y).exp();
                }
                c
            })
            .collect();
        let tv = sc.site.terminal_multiple * ai[n.saturating_sub(365)..].iter().sum::<f64>();
        let pv = |r: f64, cash: &[f64], day_n: f64| {
            let w = |t: usize| (1.0 + r).powf(-((t + 1) as f64) / 365.0);
            cash.iter().enumerate().map(|(t, c)| c * w(t)).sum::<f64>() + day_n * w(n)
        };
        let unlevered = pv(a.discount_rate, &ai, tv);
        // The loan: draws with interest capitalized to the ready day, then the annuity.
        let i = (1.0 + f.debt_rate).powf(1.0 / 365.0) - 1.0;
        let draw = |t: usize| if building(t) { f.ltc * capex } else { 0.0 };
        let bal: f64 = (tau..=ready)
            .map(|t| draw(t) * (1.0 + i).powi((ready - t) as i32))
            .sum();
        let m = (f.tenor_years * 365.0).round() as usize;
        let q = bal * i / (1.0 - (1.0 + i).powi(-(m as i32)));
        let paid = (n - ready).min(m);
        let g = (1.0 + i).powi(paid as i32);
        let owed = if paid == m {
            0.0
        } else {
            bal * g - q * (g - 1.0) / i
        };
        let eq: Vec<f64> = (0..n)
            .map(|t| {
                let pay = if t >= ready && t < ready + m { q } else { 0.0 };
                ai[t] + draw(t) - pay
            })
            .collect();
        (unlevered, pv(f.cost_of_equity, &eq, tv - owed))
    }

    /// A zero-volatility version of the default scenario with the risks off but a 10% overrun,
    /// a terminal value, and a loan whose tenor ends inside the horizon for the early
    /// conversions only: the levered values of MODEL.md §10 are then exact numbers.
    pub(crate) fn zero_vol_levered() -> Scenario {
        let mut sc = Scenario::default();
        sc.ai.set_risks_off();
        sc.ai.capex_overrun = 0.1;
        sc.ai.lease_drift = 0.04;
        (sc.price.vol, sc.fees.vol, sc.hashrate.vol, sc.ai.lease_vol) = (0.0, 0.0, 0.0, 0.0);
        sc.run.horizon_years = 8.0;
        sc.site.terminal_multiple = 2.0;
        sc.strategy.tranches = 2;
        sc.strategy.decide_months = 36;
        sc.finance = Some(crate::scenario::Finance {
            tenor_years: 5.5,
            ..Default::default()
        });
        sc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unit debt with the payments in registers is the day loop's, bit for bit: loans that
    /// end inside the horizon and after it, ready days before, on and after the decision day and
    /// past the horizon, a zero rate.
    #[test]
    fn unit_debt_is_the_day_loops() {
        let day_loop = |debt: &DebtTerms, (tau, ready): (usize, usize)| {
            let end = ready.max(tau + 1);
            let mut loan = Loan::new(ready);
            let mut pv = 0.0;
            for t in tau..debt.days {
                let draw = if t < end { debt.ltc } else { 0.0 };
                let q = loan.service(debt, t, draw);
                pv += (draw - q) * debt.w_eq[t];
            }
            pv - loan.owed_at_horizon(debt) * debt.w_eq_n
        };
        let days = 3000;
        for (rate, tenor) in [(0.09, 5.0), (0.07, 12.0), (0.0, 3.0)] {
            let f = crate::scenario::Finance {
                ltc: 0.7,
                debt_rate: rate,
                tenor_years: tenor,
                cost_of_equity: 0.13,
                min_dscr: 1.25,
                fund_gpus: false,
            };
            let debt = DebtTerms::new(&f, days, 8.0);
            for key in [
                (0, 0),
                (0, 400),
                (30, 29),
                (30, 30),
                (30, 31),
                (91, 700),
                (1000, 1500),
                (2500, 2990),
                (2900, 2999),
                (2900, 3000),
                (2900, 4000),
            ] {
                let (a, b) = (unit_debt(&debt, key), day_loop(&debt, key));
                assert_eq!(a.to_bits(), b.to_bits(), "{rate} {tenor} {key:?}: {a} {b}");
            }
        }
    }

    /// The levered value of converting each slice on each decision day is MODEL.md §10 by hand:
    /// `convert_eq − convert_at` is the AI equity NPV less the unlevered AI value, to 1e-9.
    #[test]
    fn levered_exercise_values_by_hand() {
        let sc = by_hand::zero_vol_levered();
        let sl = Slices::new(&sc).unwrap();
        let b = sl.block(3, 0, 2, false);
        let (k, nd) = (sl.tranches(), sl.decision_days().len());
        let mut signs = (0, 0);
        for p in 0..2 {
            for (di, &day) in sl.decision_days().iter().enumerate() {
                let (unlevered, levered) = by_hand::slice_values(&sc, day, b.lease[p * nd + di]);
                for j in 0..k {
                    let q = (p * nd + di) * k + j;
                    let want = levered - unlevered;
                    let tol = 1e-9 * unlevered.abs().max(levered.abs());
                    assert!(
                        (b.leverage(q) - want).abs() <= tol,
                        "day {day}: {} vs {want}",
                        b.leverage(q)
                    );
                    assert_eq!(b.exercise(q), b.convert_eq[q] - b.mining_from[q]);
                    if want > 0.0 {
                        signs.0 += 1
                    } else {
                        signs.1 += 1
                    }
                }
            }
        }
        // Cheap debt against a 12% cost of equity: leverage adds value here.
        assert!(signs.0 > 0, "{signs:?}");
    }

    /// Without `[finance]` the exercise value is the unlevered gain and nothing is levered.
    #[test]
    fn unlevered_exercise_is_the_gain() {
        let mut sc = by_hand::zero_vol_levered();
        sc.finance = None;
        let b = Slices::new(&sc).unwrap().block(3, 0, 3, false);
        assert!(b.convert_eq.is_empty());
        for q in 0..b.convert_at.len() {
            assert_eq!(b.exercise(q), b.gain(q));
            assert_eq!(b.leverage(q), 0.0);
        }
    }

    /// MODEL.md §11 with a constant price (price drift and every vol 0): every value in BTC is
    /// the USD value divided by the price, levered or not, with mining during the build.
    #[test]
    fn btc_values_at_a_constant_price_are_usd_over_s() {
        let mut sc = by_hand::zero_vol_levered();
        sc.price.drift = 0.0;
        sc.ai.mine_during_build = true;
        let usd = Slices::new(&sc).unwrap().block(3, 0, 2, false);
        sc.run.currency = Currency::Btc;
        let btc = Slices::new(&sc).unwrap().block(3, 0, 2, false);
        let s = sc.price.spot;
        assert!(usd.price.iter().all(|&x| (x - s).abs() <= 1e-9 * s));
        let same = |a: &[f64], b: &[f64], what: &str| {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x / s - y).abs() <= 1e-9 * (x / s).abs().max(1.0),
                    "{what}: {x} / {s} vs {y}"
                );
            }
        };
        same(&usd.mining_total, &btc.mining_total, "mining_total");
        same(&usd.mining_from, &btc.mining_from, "mining_from");
        same(&usd.convert_at, &btc.convert_at, "convert_at");
        same(&usd.convert_eq, &btc.convert_eq, "convert_eq");
        assert_eq!(usd.hashprice, btc.hashprice);
    }

    /// The default (§8 risks, `[finance]`), its GPU cloud and its BTC view, over 4 years with 13
    /// decision days (small enough for a unit test, every part of the slices' AI side on).
    fn variants() -> Vec<(&'static str, Scenario)> {
        let mut cloud = Scenario::default();
        cloud.ai.mode = AiMode::Cloud;
        let mut btc = Scenario::default();
        btc.run.currency = Currency::Btc;
        let mut out = vec![
            ("default", Scenario::default()),
            ("cloud", cloud),
            ("btc", btc),
        ];
        for (_, sc) in out.iter_mut() {
            sc.run.horizon_years = 4.0;
            sc.strategy.decide_months = 12;
        }
        out
    }

    /// Every instruction set gives the same slice values and policy equity, bit for bit: the day
    /// loops are compiled into each one (`Slices::block_inline`), with the §8 risks, `[finance]`,
    /// a GPU cloud and the BTC view.
    #[test]
    fn every_isa_gives_the_same_slice_bits() {
        use crate::process::{isa, Isa};
        let best = isa();
        let mut isas = vec![Isa::Baseline, best];
        if best == Isa::Avx512 {
            isas.push(Isa::Avx2);
        }
        for (name, sc) in variants() {
            let run = |isa: Isa| {
                let mut sl = Slices::new(&sc).unwrap();
                sl.prep.isa = isa;
                let b = sl.block(42, 1, 24, false);
                let nd = sl.decision_days().len() as u32;
                // Every slice converts on some lanes, on a day that depends on the lane.
                let stops: Vec<u32> = (0..24 * sl.tranches())
                    .map(|x| (x as u32 * 5) % (nd + 2))
                    .collect();
                let eq = sl.policy_equity(42, 1, 24, false, &stops);
                let mut h: Vec<u64> = Vec::new();
                for v in [
                    &b.hashprice,
                    &b.mining_from,
                    &b.convert_at,
                    &b.mining_total,
                    &b.convert_eq,
                ] {
                    h.extend(v.iter().map(|x| x.to_bits()));
                }
                (h, format!("{eq:?}"))
            };
            let want = run(Isa::Baseline);
            assert!(!want.1.is_empty() && want.0.len() > 1000, "{name}");
            for &i in &isas[1..] {
                assert!(run(i) == want, "{name}: {i:?} differs from baseline");
            }
        }
    }

    /// `block_deciding` computes what a policy's pricing reads exactly as `block` does: every
    /// slice's values on day 0 and on the day the policy converts it, the mining sums and the
    /// recorded states; the policy here converts on a state-dependent rule, on varied days.
    #[test]
    fn a_deciding_block_has_the_blocks_values_where_the_policy_converts() {
        for (name, sc) in variants() {
            let sl = Slices::new(&sc).unwrap();
            let (k, nd, lanes) = (sl.tranches(), sl.decision_days().len(), 40);
            // Slice j converts once the lease state's fraction passes a slice-dependent level.
            let decide = |d: usize, j: usize, x: &[f64; 3]| {
                d > 0 && ((x[1] * 1e3).fract().abs() + 0.05 * d as f64) > 0.6 + 0.1 * j as f64
            };
            let full = sl.block(5, 2, lanes, false);
            let part = sl.block_deciding((5, 2, lanes, false), &decide);
            assert_eq!(full.mining_from, part.mining_from, "{name}");
            assert_eq!(full.mining_total, part.mining_total, "{name}");
            assert_eq!(
                (&full.hashprice, &full.lease),
                (&part.hashprice, &part.lease),
                "{name}"
            );
            let mut later = 0;
            for i in 0..lanes {
                for j in 0..k {
                    let stop = (0..nd).find(|&d| {
                        let o = i * nd + d;
                        decide(
                            d,
                            j,
                            &features_of(full.hashprice[o], full.lease[o], full.price[o]),
                        )
                    });
                    for d in std::iter::once(0).chain(stop) {
                        let q = (i * nd + d) * k + j;
                        assert_eq!(
                            full.convert_at[q].to_bits(),
                            part.convert_at[q].to_bits(),
                            "{name} {i} {j} {d}"
                        );
                        assert_eq!(
                            full.exercise(q).to_bits(),
                            part.exercise(q).to_bits(),
                            "{name} {i} {j} {d}"
                        );
                    }
                    later += stop.is_some_and(|d| d > 0) as usize;
                }
            }
            assert!(later > lanes, "{name}: {later} later conversions");
        }
    }

    /// The default with a lease full of events inside a few years: frequent defaults with short
    /// backstops and re-lets, short terms renewed or not, and a terminal value (a multiple of
    /// the last year's AI cash) for the equity.
    fn busy_lease() -> Scenario {
        let mut busy = Scenario::default();
        busy.ai.tenant_default_rate = 0.3;
        busy.ai.lease_term_years = 1.5;
        busy.ai.renewal_probability = 0.6;
        busy.ai.backstop_months = 2.0;
        busy.ai.relet_months = 3.0;
        busy.site.terminal_multiple = 6.0;
        busy
    }

    /// MODEL.md's sums valued by events ([`CoastSums`]) are the day-by-day sums' values: every
    /// slice value of a block (in sample and deciding, levered and not) within 1e-12 of the
    /// day-by-day block's, relative to the value (or, for values near 0, which are sums of large
    /// terms of both signs, to 1 % of the largest of its kind), on leases with many events
    /// (defaults, backstops, re-lets, renewals and non-renewals inside the horizon). And not the
    /// same bits: the closed form does run.
    #[test]
    fn valuing_leases_by_their_events_matches_their_days() {
        let busy = busy_lease();
        let mut never = busy.clone();
        never.ai.relet_months = -1.0;
        never.ai.backstop_months = 0.0;
        let mut unlevered = busy.clone();
        unlevered.finance = None;
        let mut scenarios = vec![
            ("default", Scenario::default()),
            ("busy", busy),
            ("never re-let", never),
            ("unlevered", unlevered),
        ];
        for (_, sc) in scenarios.iter_mut() {
            sc.run.horizon_years = 4.0;
            sc.strategy.decide_months = 12;
        }
        let close = |name: &str, what: &str, a: &[f64], b: &[f64]| {
            assert_eq!(a.len(), b.len());
            let big = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            for (x, y) in a.iter().zip(b) {
                let tol = 1e-12 * x.abs().max(1e-2 * big);
                assert!((x - y).abs() <= tol, "{name} {what}: {x} vs {y}");
            }
            a.iter().zip(b).any(|(x, y)| x.to_bits() != y.to_bits())
        };
        for (name, sc) in &scenarios {
            let events = Slices::new(sc).unwrap();
            assert!(events.coast.is_some(), "{name}");
            let days = events.clone().day_by_day();
            let lanes = 40;
            let decide = |d: usize, j: usize, x: &[f64; 3]| {
                d > 0 && ((x[1] * 1e3).fract().abs() + 0.05 * d as f64) > 0.6 + 0.1 * j as f64
            };
            for deciding in [false, true] {
                let run = |sl: &Slices| {
                    if deciding {
                        sl.block_deciding((9, 3, lanes, false), &decide)
                    } else {
                        sl.block(9, 3, lanes, false)
                    }
                };
                let (a, b) = (run(&events), run(&days));
                assert_eq!(a.mining_from, b.mining_from, "{name}");
                let mut moved = close(name, "convert_at", &b.convert_at, &a.convert_at);
                if sc.finance.is_some() {
                    assert!(!a.convert_eq.is_empty());
                    moved |= close(name, "convert_eq", &b.convert_eq, &a.convert_eq);
                }
                assert!(
                    moved,
                    "{name} (deciding {deciding}): no value was summed by events"
                );
            }
        }
    }

    /// `policy_equity` on a lease with events runs the equity book's days lane by lane after the
    /// day loop (`lane_days`): the same bits as the day loop's (`Slices::day_by_day`), on leases
    /// with many events and on conversions on varied days, several per lane (one to four, whose
    /// quiet days run with their states in registers, and with six slices up to six, which run
    /// through the general loop).
    #[test]
    fn policy_equity_by_lanes_is_the_day_loops_bit_for_bit() {
        let mut six = Scenario::default();
        six.strategy.tranches = 6;
        // Loans repaid inside the horizon: their balance after the quiet days is 0 without
        // the days' chain (`quiet_balance`); the others' run to the horizon.
        let mut short = Scenario::default();
        if let Some(f) = short.finance.as_mut() {
            f.tenor_years = 1.5;
        }
        for (name, mut sc) in [
            ("default", Scenario::default()),
            ("busy", busy_lease()),
            ("six slices", six),
            ("short tenor", short),
        ] {
            sc.run.horizon_years = 4.0;
            sc.strategy.decide_months = 12;
            let lanes = 24;
            let by_lanes = Slices::new(&sc).unwrap();
            let by_days = by_lanes.clone().day_by_day();
            let nd = by_lanes.decision_days().len() as u32;
            for shift in [0u32, 3] {
                let stops: Vec<u32> = (0..lanes * by_lanes.tranches())
                    .map(|x| (x as u32 * 5 + shift) % (nd + 2))
                    .collect();
                let a = by_lanes.policy_equity(42, 1, lanes, false, &stops);
                let b = by_days.policy_equity(42, 1, lanes, false, &stops);
                assert!(
                    a.iter().filter(|e| e.ai_equity_npv != 0.0).count() > 5,
                    "{name}"
                );
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name} {shift}");
            }
        }
    }
}
