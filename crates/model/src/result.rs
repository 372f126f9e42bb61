//! The typed results of a run: what [`crate::simulate`] returns and `simulate --json` prints.
//!
//! Every strategy's result is a [`StrategyResult`]; fields only some strategies have sit in
//! [`StrategyDetail`], serialized inline with the common fields (so the JSON is flat) and read back
//! by the same types (`Deserialize`): the CLI, the server and the report read fields, never string
//! keys, so renaming a field is a compile error, not a NaN. This module depends on nothing else of
//! the crate (the strategies fill these types; they never import each other through it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Mean, standard error and percentiles of a strategy's NPV over paths, USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The equity view (MODEL.md §10): present on every strategy, `mine` included, when the
    /// scenario has a `[finance]` table; absent otherwise (the version-1 document is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equity: Option<EquityResult>,
    /// Fields only some strategies have (the `optimal` strategy's out-of-sample value, policy and
    /// boundary), serialized inline with the others; `None` for the rest.
    #[serde(flatten)]
    pub detail: Option<StrategyDetail>,
}

/// `run.currency` (MODEL.md §11): the unit every money figure of a result is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Currency {
    /// US dollars (version 1).
    #[default]
    Usd,
    /// Bitcoin: each day's cash divided by that day's price before discounting.
    Btc,
}

impl Currency {
    /// True for the default (USD), whose results leave the field out of the JSON.
    pub fn is_usd(&self) -> bool {
        *self == Currency::Usd
    }
}

/// MODEL.md §10: the equity view of one strategy, with the conversions' project debt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquityResult {
    /// Mining NPV plus the AI stream's equity NPV (discounted at `finance.cost_of_equity`), with
    /// the same statistics as `npv`.
    pub equity_npv: NpvStats,
    /// Mean equity NPV of the AI stream alone (the levered AI part).
    pub equity_npv_mean_ai: f64,
    /// Fraction of paths with `equity_npv < 0`.
    pub prob_negative: f64,
    /// The smallest yearly debt service coverage ratio of each path.
    pub dscr_min: DscrStats,
    /// IRR of the unlevered AI stream (AI cash and its day-`N` terminal value).
    pub project_irr: IrrStats,
    /// IRR of the levered AI stream (equity cash: AI cash plus draws minus debt service).
    pub equity_irr: IrrStats,
    /// Histogram of the per-path equity NPVs, on bins shared by every strategy of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equity_npv_histogram: Option<Histogram>,
}

/// Statistics of the per-path minimum DSCR (MODEL.md §10) over the paths that have one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DscrStats {
    /// Mean of `dscr_min` over the counted paths (null when none is counted).
    pub mean: Option<f64>,
    /// 5th percentile of `dscr_min` over the counted paths.
    pub p5: Option<f64>,
    /// `P(dscr_min < finance.min_dscr)` over the counted paths: the covenant breach probability.
    pub prob_below_min: Option<f64>,
    /// The covenant used, `finance.min_dscr`.
    pub min_dscr: f64,
    /// Paths with at least one whole loan year inside the horizon.
    pub paths_counted: u64,
    /// Paths left out: no loan, or no whole loan year inside the horizon.
    pub paths_without_loan_year: u64,
    /// Histogram of `dscr_min` over the counted paths (its own bins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

/// Percentiles of per-path IRRs (annual rates, MODEL.md §10) over the paths that have a root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IrrStats {
    /// 5th percentile (null when no path has a root).
    pub p5: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// Share of paths with no root (or no AI stream at all).
    pub no_root_share: f64,
    /// Histogram of the IRRs of the paths with a root (its own bins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

/// Counts of per-path NPVs in equal-width bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Per-year percentiles of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// 5th percentile per year.
    pub p5: Vec<f64>,
    /// Median per year.
    pub p50: Vec<f64>,
    /// 95th percentile per year.
    pub p95: Vec<f64>,
}

/// Site cash band of one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimOutput {
    /// Paths simulated.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The unit of every money figure (MODEL.md §11); absent in the JSON for USD.
    #[serde(default, skip_serializing_if = "Currency::is_usd")]
    pub currency: Currency,
    /// `results[0]` is always `mine`.
    pub results: Vec<StrategyResult>,
    /// Per-year bands.
    pub bands: Bands,
}

/// A mean with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Est {
    /// Mean, USD.
    pub mean: f64,
    /// Paths.
    pub paths: u64,
    /// Standard error of the mean, USD.
    pub stderr: f64,
}

/// One slice's policy summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceSummary {
    /// Mean conversion month over the paths that convert it (null if none does).
    pub mean_conversion_month: Option<f64>,
    /// Gross MW of the slice.
    pub mw: f64,
    /// The slice's value of the option to convert (mean gain over never converting), in-sample.
    pub option_value_in_sample: Est,
    /// The same with the frozen policy on fresh paths.
    pub option_value_out_of_sample: Est,
    /// Perfect-foresight value of the slice's option (an upper bound).
    pub option_value_perfect_foresight: Est,
    /// Probability of conversion on each decision month (index = month).
    pub prob_by_month: Vec<f64>,
    /// Probability that the slice is converted on some decision day (in-sample paths).
    pub prob_converted: f64,
    /// Slice number (1 = removed first: idle MW, then the least efficient machines).
    pub slice: usize,
}

/// The value of flexibility: optimal minus the best static `convert` share on the same paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flexibility {
    /// Its mean NPV on the in-sample paths.
    pub best_static_npv: f64,
    /// The best static share.
    pub best_static_share: f64,
    /// Mean NPV of each static share on the in-sample paths.
    pub static_npv: Vec<f64>,
    /// Static shares evaluated (the slice grid `0, 1/k, …, 1`: converting slices `1..=j` on day 0,
    /// which is exactly `convert` with that share).
    pub static_shares: Vec<f64>,
    /// Optimal (in-sample) minus the best static share, path by path: mean and standard error.
    pub value_in_sample: Est,
    /// Optimal (out-of-sample, frozen policy) minus the same static share on the fresh paths.
    pub value_out_of_sample: Est,
}

/// The exercise boundary of one state variable by decision month, per slice.
///
/// Serialized with its keys in sorted order (`held_at`, `months`, `regime`, `slice_1`, …,
/// `variable`), as every object of the `optimal` detail: the published JSON has always been sorted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Boundary {
    /// How the other two state variables are held: at their median over paths on that month.
    pub held_at: String,
    /// Decision months (the x axis).
    pub months: Vec<u32>,
    /// Per slice and month: `below` (convert when the variable is below the threshold), `above`
    /// (convert when above), `always` (convert over the whole simulated range of the variable) or
    /// `never`. On month 0 every path is in the same state, so the rule is `always` or `never`.
    pub regime: BTreeMap<String, Vec<Regime>>,
    /// What the thresholds are in.
    pub variable: String,
    /// Per slice (`slice_1`, …): the threshold on each month, or null where the fitted rule does not
    /// change sign over the simulated range (see `regime`).
    #[serde(flatten)]
    pub slices: BTreeMap<String, Vec<Option<f64>>>,
}

impl Serialize for Boundary {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(Some(4 + self.slices.len()))?;
        m.serialize_entry("held_at", &self.held_at)?;
        m.serialize_entry("months", &self.months)?;
        m.serialize_entry("regime", &self.regime)?;
        for (k, v) in &self.slices {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("variable", &self.variable)?;
        m.end()
    }
}

/// The conversion policy over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyTable {
    /// Decision days `round(month × 365 / 12)`.
    pub days: Vec<usize>,
    /// Expected converted share of the site by each month.
    pub expected_share_converted: Vec<f64>,
    /// Decision months (the x axis).
    pub months: Vec<u32>,
    /// Per slice (`slice_1`, …): probability that it has been converted by each month.
    #[serde(flatten)]
    pub slices: BTreeMap<String, Vec<f64>>,
}

/// The fields `optimal` adds to a strategy result ([`StrategyDetail::Optimal`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalDetail {
    /// Hashprice ($/PH/day) below which converting pays, by month and slice.
    pub boundary: Boundary,
    /// Lease rate ($/kW-month) above which converting pays, by month and slice.
    pub boundary_lease: Boundary,
    /// The value of flexibility.
    pub flexibility: Flexibility,
    /// In-sample minus out-of-sample mean NPV (independent path sets: the standard errors add in
    /// quadrature).
    pub in_sample_gap: Est,
    /// Mean NPV of the frozen policy on fresh paths (a lower bound), with its standard error.
    pub npv_out_of_sample: Est,
    /// Perfect-foresight NPV: each slice converted on its best day of each path (an upper bound).
    pub npv_perfect_foresight: Est,
    /// With `[finance]`: `optimal`'s estimates in the objective the levered policy maximizes
    /// (mining NPV + AI equity NPV, MODEL.md §10); absent when unlevered, where the objective is
    /// the NPV and the other fields are its estimates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<OptimalObjective>,
    /// Per-slice conversion probability by month, cumulative, and the expected converted share.
    pub policy: PolicyTable,
    /// Regression settings.
    pub regression: RegressionInfo,
    /// Per-slice summaries.
    pub slices: Vec<SliceSummary>,
    /// The dual upper bound (`simulate --strategy optimal --upper-bound`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_bound: Option<OptimalBound>,
}

/// `optimal`'s estimates in the objective its policy maximizes when it is not the NPV: with
/// `[finance]`, the owner's value (mining NPV + AI equity NPV, MODEL.md §10). The policy converts
/// when converting raises that value, so its value of flexibility, lower bound and perfect
/// foresight are only comparable in it: the unlevered NPV of a levered policy may well be below
/// the best static share's unlevered NPV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalObjective {
    /// The value of flexibility: the policy minus the best static share, both in this objective.
    pub flexibility: Flexibility,
    /// In-sample minus out-of-sample (standard errors in quadrature).
    pub in_sample_gap: Est,
    /// What the policy maximizes: `"equity_npv"`.
    pub objective: String,
    /// Each slice's option value in this objective (its mean gain over never converting) with
    /// the frozen policy on the fresh paths, slice 1 first.
    pub slice_option_value_out_of_sample: Vec<Est>,
    /// The policy's mean value in sample (the run's paths).
    pub value_in_sample: Est,
    /// The frozen policy on the fresh paths (a lower bound on the optimal value).
    pub value_out_of_sample: Est,
    /// Each slice converted on its best day of each path, or never (an upper bound).
    pub value_perfect_foresight: Est,
}

/// Lower and upper bounds on the value of the conversion option, from the same fresh paths
/// (`crate::strategy::optimal_dual`; method in `docs/UPPER_BOUND.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalBound {
    /// What is bounded: `"npv"` (the site's NPV), or with `[finance]` `"equity_npv"` (mining
    /// NPV plus the AI equity NPV: the owner's value, which the levered policy maximizes).
    pub objective: String,
    /// The frozen policy on the outer (fresh) paths: a lower bound on the optimal value.
    pub lower: Est,
    /// The dual (martingale) upper bound on the same paths.
    pub upper: Est,
    /// `upper − lower`, path by path (the standard error of the paired differences).
    pub gap: Est,
    /// Perfect foresight on the same paths (each slice on its best day of the path, or never):
    /// the upper bound with no martingale, for comparison.
    pub perfect_foresight: Est,
    /// `perfect_foresight − lower`, path by path.
    pub perfect_foresight_gap: Est,
    /// The construction of the martingale.
    pub method: String,
    /// In-sample paths its coefficients were fitted on (the run's first paths).
    pub fit_paths: u64,
    /// Fresh paths the bounds are averaged over (the out-of-sample estimate's first paths).
    pub outer_paths: u64,
    /// Least-squares regressions solved (per slice and decision date, both martingale parts).
    pub regressions: u64,
    /// Path-days simulated for the bound (fit and outer paths; no nested simulation).
    pub path_days: u64,
}

/// How the policy was fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionInfo {
    /// Polynomial degree (cross terms included).
    pub degree: usize,
    /// Basis features.
    pub features: [String; 3],
    /// Which paths enter each regression.
    pub sample: String,
    /// Least-squares solver.
    pub solver: String,
    /// Basis functions.
    pub terms: usize,
}

/// Fields only some strategies have, serialized inline with [`StrategyResult`]'s common fields.
///
/// Untagged: the variant is recognized by its fields when read back (a result without any of
/// them has no detail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StrategyDetail {
    /// The `optimal` strategy's out-of-sample value, policy, boundaries and flexibility.
    Optimal(Box<OptimalDetail>),
}

impl StrategyResult {
    /// The `optimal` strategy's detail, if this is its result.
    pub fn optimal(&self) -> Option<&OptimalDetail> {
        match &self.detail {
            Some(StrategyDetail::Optimal(d)) => Some(d),
            None => None,
        }
    }
}

/// Where converting a slice pays, relative to a state variable's threshold on one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// Convert when the variable is below the threshold.
    Below,
    /// Convert when the variable is above the threshold.
    Above,
    /// Convert over the whole simulated range of the variable (no threshold).
    Always,
    /// Never convert over the simulated range (no threshold).
    Never,
}
