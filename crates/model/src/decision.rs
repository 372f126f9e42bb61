//! The decision a run supports: which strategy to follow, by how much it beats keeping the fleet
//! mining (path by path, on common random numbers), and at which lease rate, conversion capex and
//! hashprice that decision flips.
//!
//! The break-even points are solved, not guessed: the engine is re-run with one input changed and
//! everything else (seed, paths, the other inputs) held, so the gap between the best conversion and
//! mining is a deterministic function of that input. A bracket is found by stepping the input
//! geometrically away from the scenario's value in the direction that closes the gap, then it is
//! narrowed by bisection (each step tries the false-position point first and falls back to the
//! midpoint when that does not halve the bracket) to [`BREAKEVEN_REL_TOL`] of the value. The value
//! reported is the middle of the final bracket, so re-running at ±1 % of it lands on either side of
//! the flip.

use serde::Serialize;

use crate::result::Est;
use crate::run::{plans_for, RunConfig};
use crate::scenario::{Scenario, StrategyKind};
use crate::strategy::fixed::{simulate_raw, PlanSpec};
use crate::strategy::optimal::OptimalConfig;
use crate::ModelError;

/// Most paths the break-even search uses (fewer when the run has fewer): each point of the search
/// is a full run of the static strategies, so this bounds its cost.
pub const BREAKEVEN_MAX_PATHS: u64 = 2_000;

/// Relative width of the final break-even bracket.
pub const BREAKEVEN_REL_TOL: f64 = 1e-3;

/// Geometric steps tried when bracketing (each ×1.5 or ÷1.5: up to ~38× the scenario's value).
const BRACKET_STEPS: u32 = 9;
const BRACKET_FACTOR: f64 = 1.5;
const MAX_REFINE: u32 = 40;

/// How to compute a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionOptions {
    /// Paths of the break-even search (default: the run's paths, at most [`BREAKEVEN_MAX_PATHS`]).
    pub breakeven_paths: Option<u64>,
    /// Solve the break-even points (they cost a few dozen runs at `breakeven_paths`).
    pub solve_breakeven: bool,
}

impl Default for DecisionOptions {
    fn default() -> Self {
        DecisionOptions {
            breakeven_paths: None,
            solve_breakeven: true,
        }
    }
}

/// One strategy compared with mining on the same paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Display name: `mine`, `convert 40%`, `sweep 100%`, `schedule`, `optimal`.
    pub label: String,
    /// Strategy kind.
    pub strategy: String,
    /// Share converted (convert, sweep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Mean NPV, USD.
    pub npv_mean: f64,
    /// NPV minus the `mine` NPV of the same path: mean and standard error of the mean, USD.
    pub delta_vs_mine: Est,
    /// Fraction of paths on which it does strictly better than mining.
    pub prob_beats_mine: f64,
    /// Histogram of the per-path difference to mining, on bins shared by every candidate
    /// (absent for `mine` itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_histogram: Option<crate::result::Histogram>,
    /// 5th, 50th and 95th percentiles of the per-path difference to mining, USD.
    pub delta_quantiles: [f64; 3],
}

fn quantiles3(d: &[f64]) -> [f64; 3] {
    let mut v = d.to_vec();
    v.sort_by(f64::total_cmp);
    let q = |p| crate::stats::quantile_sorted(&v, p);
    [q(0.05), q(0.5), q(0.95)]
}

/// Where the decision flips for one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakEven {
    /// The scenario key changed (`ai.lease_usd_per_kw_month`, `ai.capex_usd_per_mw_it`,
    /// `price.spot`).
    pub input: &'static str,
    /// What it is, in words.
    pub label: &'static str,
    /// Unit of `base` and `value`.
    pub unit: &'static str,
    /// The scenario's value.
    pub base: f64,
    /// The value at which the best conversion and mining have the same mean NPV (None when the
    /// decision does not flip within the searched range).
    pub value: Option<f64>,
    /// `value / base - 1`.
    pub relative_change: Option<f64>,
    /// `below` or `above`: the decision changes when the input goes below / above `value`.
    pub flips_when: &'static str,
    /// What the decision becomes past `value` (`mine`, or the best conversion there).
    pub flips_to: Option<String>,
    /// For `price.spot`: today's hashprice at the base and at the break-even price, $/PH/day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashprice_base: Option<f64>,
    /// See `hashprice_base`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashprice_value: Option<f64>,
    /// The range searched (low, high), in `unit`.
    pub searched: (f64, f64),
    /// Engine runs the search took.
    pub evaluations: u32,
}

/// The scenario's lease rate among the announced deals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeasePlacement {
    /// The scenario's lease rate, $/kW-month.
    pub rate: f64,
    /// Deals with a higher average rate.
    pub deals_above: usize,
    /// Deals with a lower average rate.
    pub deals_below: usize,
    /// Deals shipped.
    pub total: usize,
    /// Median deal rate, $/kW-month.
    pub median: Option<f64>,
    /// "below 9 of 14 announced deals".
    pub phrase: String,
}

/// The `optimal` strategy's bounds and timing, in the objective its policy maximizes: the NPV,
/// or with `[finance]` the equity NPV (then `objective` says so).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimalSummary {
    /// `"equity_npv"` when the policy maximizes mining NPV + AI equity NPV (`[finance]`, MODEL.md
    /// §10) and the four estimates are in it; absent when they are NPVs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    /// In-sample mean value (biased high).
    pub in_sample: Est,
    /// The frozen policy on fresh paths: a lower bound.
    pub lower_bound: Est,
    /// Perfect foresight: an upper bound.
    pub upper_bound: Est,
    /// Optimal minus the best static share on fresh paths.
    pub value_of_flexibility: Est,
    /// The best static share.
    pub best_static_share: f64,
    /// When each slice is expected to convert.
    pub slices: Vec<SliceTiming>,
}

/// When one slice of the `optimal` strategy converts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceTiming {
    /// Slice number (1 = removed first).
    pub slice: usize,
    /// Gross MW.
    pub mw: f64,
    /// Probability it converts within the decision window.
    pub prob_converted: f64,
    /// Mean conversion month over the paths that convert it.
    pub mean_conversion_month: Option<f64>,
}

/// Multiples of the scenario's lease rate and capex on the axes of [`DecisionGrid`].
pub const GRID_FACTORS: [f64; 5] = [0.6, 0.8, 1.0, 1.2, 1.4];

/// Most paths of each grid cell (25 cells: a map of the decision, not its precise edge, which the
/// break-even search solves).
pub const GRID_MAX_PATHS: u64 = 500;

/// The best strategy on a two-way grid of lease rate (columns) × conversion capex (rows), each
/// cell a run at the break-even search's paths and seed (common random numbers, so neighbouring
/// cells differ by the inputs, not by noise). The middle cell is the scenario itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionGrid {
    /// Lease rates of the columns, $/kW-month ([`GRID_FACTORS`] × the scenario's).
    pub lease: Vec<f64>,
    /// Capex of the rows, $/MW(IT) ([`GRID_FACTORS`] × the scenario's).
    pub capex: Vec<f64>,
    /// `best[row][col]`: the strategy with the highest mean NPV there (`mine` when no conversion
    /// beats it; `None` where the inputs are out of range).
    pub best: Vec<Vec<Option<String>>>,
    /// `gap[row][col]`: the best conversion's mean NPV minus mining's, USD.
    pub gap: Vec<Vec<Option<f64>>>,
    /// Paths of each cell.
    pub paths: u64,
}

/// The decision card of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The recommended strategy (highest mean NPV; `mine` on a tie).
    pub recommended: String,
    /// Its kind.
    pub recommended_strategy: String,
    /// Its share, where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommended_share: Option<f64>,
    /// Whether the recommendation converts part of the site.
    pub converts: bool,
    /// Mean NPV of mining, USD.
    pub mine_npv_mean: f64,
    /// The recommendation's NPV minus mining's, path by path (zero for `mine`).
    pub delta_vs_mine: Est,
    /// P(the recommendation beats mining) on the run's paths.
    pub prob_beats_mine: f64,
    /// Every strategy of the run against mining.
    pub candidates: Vec<Candidate>,
    /// The break-even lease rate, capex and hashprice (empty when not solved).
    pub breakeven: Vec<BreakEven>,
    /// Paths and seed of the break-even search.
    pub breakeven_paths: u64,
    /// Seed of every run here (the run's seed).
    pub seed: u64,
    /// The scenario's lease among the announced deals.
    pub lease: LeasePlacement,
    /// Today's hashprice of the scenario, $/PH/day.
    pub hashprice_today: f64,
    /// `optimal` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimal: Option<OptimalSummary>,
    /// The best strategy over lease rate × conversion capex (solved with the break-even points).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<DecisionGrid>,
    /// One plain sentence of why.
    pub why: String,
    /// Caveats the numbers need.
    pub notes: Vec<String>,
}

/// Today's hashprice of a scenario, $ per PH/s per day: `price.spot × (subsidy + fees) ×` blocks a
/// PH/s finds a day at `chain.difficulty`.
pub fn hashprice_today(sc: &Scenario) -> f64 {
    let reward = hashpivot_chain::subsidy_btc(sc.chain.height) + sc.fees.btc_per_block;
    sc.price.spot * 86_400.0 * 1e15 * reward / (sc.chain.difficulty * 4_294_967_296.0)
}

fn label(strategy: StrategyKind, share: Option<f64>) -> String {
    match share {
        Some(s) => format!("{} {}%", strategy.as_str(), fmt_share(s)),
        None => strategy.as_str().to_string(),
    }
}

fn fmt_share(s: f64) -> String {
    let p = s * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}", p.round() as i64)
    } else {
        format!("{p:.1}")
    }
}

/// Mean, standard error and P(> 0) of per-path differences `a - mine`, and the differences.
fn diff_stats_with(a: &[f64], mine: &[f64]) -> (Est, f64, Vec<f64>) {
    let n = a.len().min(mine.len());
    if n == 0 {
        return (
            Est {
                mean: 0.0,
                stderr: 0.0,
                paths: 0,
            },
            0.0,
            Vec::new(),
        );
    }
    let d: Vec<f64> = a.iter().zip(mine).map(|(x, m)| x - m).collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let stderr = if n < 2 {
        0.0
    } else {
        let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        (var / n as f64).sqrt()
    };
    let beats = d.iter().filter(|&&x| x > 0.0).count() as f64 / n as f64;
    (
        Est {
            mean,
            stderr,
            paths: n as u64,
        },
        beats,
        d,
    )
}

/// The static conversion strategies that stand for "convert" in the break-even search: the run's
/// own (minus a 0 % share, which is mining), or the scenario's sweep grid for `mine` and `optimal`
/// runs (the latter's policy is refitted by regression, too costly to repeat per point).
fn conversion_specs(sc: &Scenario, run_specs: &[PlanSpec]) -> Vec<PlanSpec> {
    let own: Vec<PlanSpec> = run_specs
        .iter()
        .filter(|s| s.strategy != StrategyKind::Mine && s.share != Some(0.0))
        .cloned()
        .collect();
    if !own.is_empty() {
        return own;
    }
    let mut shares: Vec<f64> = sc
        .strategy
        .shares
        .iter()
        .copied()
        .filter(|&s| s > 0.0)
        .collect();
    if shares.is_empty() {
        shares = vec![0.25, 0.5, 0.75, 1.0];
    }
    shares
        .into_iter()
        .map(|s| PlanSpec {
            strategy: StrategyKind::Convert,
            share: Some(s),
            conversions: vec![(0, s)],
        })
        .collect()
}

/// Mean gap (best conversion minus mining) and the best conversion's label, on `paths` paths.
fn gap(
    sc: &Scenario,
    specs: &[PlanSpec],
    paths: u64,
    seed: u64,
) -> Result<(f64, String), ModelError> {
    sc.validate()?;
    let mut all = vec![PlanSpec {
        strategy: StrategyKind::Mine,
        share: None,
        conversions: Vec::new(),
    }];
    all.extend(specs.iter().cloned());
    let raw = simulate_raw(sc, &all, paths, seed, false, &|_| {});
    let np = all.len();
    let n = paths as usize;
    let mut best = (f64::NEG_INFINITY, String::new());
    for (k, spec) in all.iter().enumerate().skip(1) {
        let d = (0..n)
            .map(|i| raw.npv[i * np + k] - raw.npv[i * np])
            .sum::<f64>()
            / n as f64;
        if d > best.0 {
            best = (d, label(spec.strategy, spec.share));
        }
    }
    if !best.0.is_finite() {
        return Err(ModelError::NonFinite {
            what: "the gap between converting and mining".into(),
        });
    }
    Ok(best)
}

/// Finds where a function changes sign: `f(x)` is evaluated at `x0`, then at `x0 × step^k`
/// (`step` > 1 or < 1) until the sign differs from `f(x0)`'s or `steps` points are tried or `f`
/// fails (out of the input's allowed range); then the bracket is narrowed to `rel_tol` of `x`.
/// Returns the middle of the final bracket, the bracket ends tried, and the evaluations made.
/// `f` returns the gap and a label of what wins there.
pub fn solve_sign_change<F>(
    mut f: F,
    x0: f64,
    step: f64,
    steps: u32,
    rel_tol: f64,
) -> Result<SignChange, ModelError>
where
    F: FnMut(f64) -> Result<(f64, String), ModelError>,
{
    let mut evals = 0u32;
    let (g0, _) = f(x0)?;
    evals += 1;
    let positive = g0 > 0.0;
    let (mut a, mut ga) = (x0, g0);
    let mut far = x0;
    let mut bracket = None;
    for _ in 0..steps {
        let x = a * step;
        let r = f(x);
        evals += 1;
        let Ok((g, what)) = r else { break };
        far = x;
        if (g > 0.0) != positive {
            bracket = Some((a, ga, x, g, what));
            break;
        }
        a = x;
        ga = g;
    }
    let Some((mut a, mut ga, mut b, mut gb, mut past)) = bracket else {
        return Ok(SignChange {
            value: None,
            flips_to: None,
            searched: (x0.min(far), x0.max(far)),
            evaluations: evals,
        });
    };
    // `a` keeps the sign of `x0`, `b` the other one. Each step tries the false-position point
    // (exact when the gap is linear in the input, as it is in the lease rate), then a probe
    // `rel_tol / 2` past it towards `b`, which closes the bracket at once when the false-position
    // point was close; when a step does not halve the bracket the next one bisects.
    let tol = |a: f64, b: f64| rel_tol * a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
    let mut bisect = false;
    for _ in 0..MAX_REFINE {
        let width = (b - a).abs();
        if width <= tol(a, b) {
            break;
        }
        let lo = a.min(b) + 0.01 * width;
        let hi = a.max(b) - 0.01 * width;
        let fp = if ga != gb {
            b - gb * (b - a) / (gb - ga)
        } else {
            f64::NAN
        };
        let x = if !bisect && fp > lo && fp < hi {
            fp
        } else {
            0.5 * (a + b)
        };
        let try_fp = x == fp;
        let (g, what) = f(x)?;
        evals += 1;
        let moved_a = (g > 0.0) == positive;
        if moved_a {
            (a, ga) = (x, g);
        } else {
            (b, gb, past) = (x, g, what);
        }
        if try_fp && (b - a).abs() > tol(a, b) {
            // Step `rel_tol / 2` from the point just evaluated into the remaining bracket.
            let into = if moved_a { b - a } else { a - b };
            let p = x + into.signum() * 0.5 * tol(a, b);
            if p > a.min(b) && p < a.max(b) {
                let (g, what) = f(p)?;
                evals += 1;
                if (g > 0.0) == positive {
                    (a, ga) = (p, g);
                } else {
                    (b, gb, past) = (p, g, what);
                }
            }
        }
        bisect = (b - a).abs() > 0.5 * width;
    }
    Ok(SignChange {
        value: Some(0.5 * (a + b)),
        flips_to: Some(past),
        searched: (x0.min(far), x0.max(far)),
        evaluations: evals,
    })
}

/// What [`solve_sign_change`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct SignChange {
    /// The middle of the final bracket, or None when no sign change was found.
    pub value: Option<f64>,
    /// The label `f` returned on the far side of the change.
    pub flips_to: Option<String>,
    /// The range searched.
    pub searched: (f64, f64),
    /// Evaluations of `f`.
    pub evaluations: u32,
}

struct Input {
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    /// +1 when raising the input favours converting.
    favours_convert: f64,
    get: fn(&Scenario) -> f64,
    set: fn(&mut Scenario, f64),
}

const INPUTS: [Input; 3] = [
    Input {
        key: "ai.lease_usd_per_kw_month",
        label: "lease rate",
        unit: "$/kW-month",
        favours_convert: 1.0,
        get: |s| s.ai.lease_usd_per_kw_month,
        set: |s, x| s.ai.lease_usd_per_kw_month = x,
    },
    Input {
        key: "ai.capex_usd_per_mw_it",
        label: "conversion capex",
        unit: "$/MW(IT)",
        favours_convert: -1.0,
        get: |s| s.ai.capex_usd_per_mw_it,
        set: |s, x| s.ai.capex_usd_per_mw_it = x,
    },
    Input {
        key: "price.spot",
        label: "hashprice (through the BTC price)",
        unit: "$/BTC",
        favours_convert: -1.0,
        get: |s| s.price.spot,
        set: |s, x| s.price.spot = x,
    },
];

/// The decision for `sc` run as stored (paths, seed and strategy from the scenario).
///
/// Errors: an invalid scenario, or an engine failure.
pub fn decide(sc: &Scenario, opts: &DecisionOptions) -> Result<Decision, ModelError> {
    sc.validate()?;
    let paths = sc.run.paths;
    let seed = sc.run.seed;
    let specs = plans_for(sc, &RunConfig::default())?;
    let raw = simulate_raw(sc, &specs, paths, seed, false, &|_| {});
    let np = specs.len();
    let n = paths as usize;
    let col = |k: usize| -> Vec<f64> { (0..n).map(|i| raw.npv[i * np + k]).collect() };
    let mine = col(0);
    let mine_mean = mine.iter().sum::<f64>() / n.max(1) as f64;
    let mut candidates = Vec::with_capacity(np + 1);
    let mut deltas: Vec<Vec<f64>> = Vec::with_capacity(np + 1);
    for (k, spec) in specs.iter().enumerate() {
        let v = col(k);
        let (d, beats, per_path) = diff_stats_with(&v, &mine);
        let delta_quantiles = quantiles3(&per_path);
        if k > 0 {
            deltas.push(per_path);
        }
        candidates.push(Candidate {
            label: label(spec.strategy, spec.share),
            strategy: spec.strategy.as_str().to_string(),
            share: spec.share,
            npv_mean: v.iter().sum::<f64>() / n.max(1) as f64,
            delta_vs_mine: d,
            prob_beats_mine: beats,
            delta_histogram: None,
            delta_quantiles,
        });
    }
    let mut optimal = None;
    if sc.strategy.kind == StrategyKind::Optimal {
        let (c, per_path, summary) = optimal_candidate(sc, paths, seed)?;
        deltas.push(per_path);
        candidates.push(c);
        optimal = Some(summary);
    }
    if !deltas.is_empty() {
        let refs: Vec<&[f64]> = deltas.iter().map(Vec::as_slice).collect();
        for (c, h) in candidates
            .iter_mut()
            .skip(1)
            .zip(crate::stats::histograms(&refs))
        {
            c.delta_histogram = Some(h);
        }
    }
    // The best mean NPV; `mine` (first) wins ties, and a 0 % share is mining by another name.
    let best = candidates.iter().enumerate().fold(0usize, |b, (i, c)| {
        if c.npv_mean > candidates[b].npv_mean && c.share != Some(0.0) {
            i
        } else {
            b
        }
    });
    let rec = candidates[best].clone();
    let converts = rec.strategy != "mine";

    let bpaths = opts
        .breakeven_paths
        .unwrap_or(BREAKEVEN_MAX_PATHS)
        .min(paths)
        .max(1);
    let breakeven = if opts.solve_breakeven {
        breakevens(sc, &specs, bpaths, seed)?
    } else {
        Vec::new()
    };

    let grid = if opts.solve_breakeven {
        let gpaths = bpaths.min(GRID_MAX_PATHS);
        Some(decision_grid(
            sc,
            &conversion_specs(sc, &specs),
            gpaths,
            seed,
        )?)
    } else {
        None
    };

    let lease = lease_placement(sc);
    let hp = hashprice_today(sc);
    let notes = notes(&rec, optimal.is_some(), opts.solve_breakeven, bpaths, paths);
    let why = why_sentence(&rec, &candidates, &lease, hp, &breakeven);
    Ok(Decision {
        recommended: rec.label.clone(),
        recommended_strategy: rec.strategy.clone(),
        recommended_share: rec.share,
        converts,
        mine_npv_mean: mine_mean,
        delta_vs_mine: rec.delta_vs_mine,
        prob_beats_mine: rec.prob_beats_mine,
        candidates,
        breakeven,
        breakeven_paths: bpaths,
        seed,
        lease,
        hashprice_today: hp,
        optimal,
        grid,
        why,
        notes,
    })
}

/// The staged real option as a candidate: its row, its per-path ΔNPV vs mining and its summary.
fn optimal_candidate(
    sc: &Scenario,
    paths: u64,
    seed: u64,
) -> Result<(Candidate, Vec<f64>, OptimalSummary), ModelError> {
    let o = crate::strategy::optimal::run(sc, &OptimalConfig::new(paths, seed, false), &|_| {})?;
    let (d, beats, per_path) = diff_stats_with(&o.npv, &o.mine_npv);
    let delta_quantiles = quantiles3(&per_path);
    let c = Candidate {
        label: "optimal".into(),
        strategy: "optimal".into(),
        share: None,
        npv_mean: o.result.npv.mean,
        delta_vs_mine: d,
        prob_beats_mine: beats,
        delta_histogram: None,
        delta_quantiles,
    };
    let x = &o.detail;
    // Levered, the policy's bounds and flexibility are only meaningful in its own objective.
    let (objective, in_sample, lower_bound, upper_bound, flex) = match &x.objective {
        Some(ob) => (
            Some(ob.objective.clone()),
            ob.value_in_sample,
            ob.value_out_of_sample,
            ob.value_perfect_foresight,
            &ob.flexibility,
        ),
        None => (
            None,
            Est {
                mean: o.result.npv.mean,
                stderr: o.result.npv.stderr,
                paths,
            },
            x.npv_out_of_sample,
            x.npv_perfect_foresight,
            &x.flexibility,
        ),
    };
    let summary = OptimalSummary {
        objective,
        in_sample,
        lower_bound,
        upper_bound,
        value_of_flexibility: flex.value_out_of_sample,
        best_static_share: flex.best_static_share,
        slices: x
            .slices
            .iter()
            .map(|s| SliceTiming {
                slice: s.slice,
                mw: s.mw,
                prob_converted: s.prob_converted,
                mean_conversion_month: s.mean_conversion_month,
            })
            .collect(),
    };
    Ok((c, per_path, summary))
}

/// The break-even of each input of [`INPUTS`]: where the best conversion and mining swap, on
/// `paths` paths of seed `seed`.
fn breakevens(
    sc: &Scenario,
    specs: &[PlanSpec],
    paths: u64,
    seed: u64,
) -> Result<Vec<BreakEven>, ModelError> {
    let mut breakeven = Vec::new();
    let conv = conversion_specs(sc, specs);
    let g_base_positive = gap(sc, &conv, paths, seed)?.0 > 0.0;
    for inp in &INPUTS {
        let base = (inp.get)(sc);
        let mut probe = sc.clone();
        let f = |x: f64| -> Result<(f64, String), ModelError> {
            (inp.set)(&mut probe, x);
            let (g, what) = gap(&probe, &conv, paths, seed)?;
            Ok((g, if g > 0.0 { what } else { "mine".into() }))
        };
        // Move the input the way that closes the gap: against converting when converting
        // wins at the base, towards it otherwise.
        let toward_convert = !g_base_positive;
        let up = (inp.favours_convert > 0.0) == toward_convert;
        let step = if up {
            BRACKET_FACTOR
        } else {
            1.0 / BRACKET_FACTOR
        };
        if base == 0.0 {
            // A zero input (e.g. free capex) cannot be stepped geometrically.
            continue;
        }
        let s = solve_sign_change(f, base, step, BRACKET_STEPS, BREAKEVEN_REL_TOL)?;
        let flips_when = if up { "above" } else { "below" };
        let hp = hashprice_today(sc);
        let is_price = inp.key == "price.spot";
        breakeven.push(BreakEven {
            input: inp.key,
            label: inp.label,
            unit: inp.unit,
            base,
            value: s.value,
            relative_change: s.value.map(|v| v / base - 1.0),
            flips_when,
            flips_to: s.flips_to,
            hashprice_base: is_price.then_some(hp),
            hashprice_value: if is_price {
                s.value.map(|v| hp * v / base)
            } else {
                None
            },
            searched: s.searched,
            evaluations: s.evaluations + 1,
        });
    }
    Ok(breakeven)
}

/// The scenario's lease rate placed among the announced deals.
fn lease_placement(sc: &Scenario) -> LeasePlacement {
    place_lease(
        sc.ai.lease_usd_per_kw_month,
        &hashpivot_data::leases::leases(),
    )
}

/// `rate` ($/kW-month) placed among `deals`: how many are above and below, and their median.
pub fn place_lease(rate: f64, deals: &[hashpivot_data::leases::Lease]) -> LeasePlacement {
    let rank = hashpivot_data::leases::lease_rank_among(rate, deals);
    let mut rates: Vec<f64> = deals.iter().map(|d| d.usd_per_kw_month).collect();
    rates.sort_by(f64::total_cmp);
    let median = (!rates.is_empty()).then(|| crate::stats::quantile_sorted(&rates, 0.5));
    LeasePlacement {
        rate,
        deals_above: rank.deals_above,
        deals_below: rank.deals_below,
        total: rank.total,
        median,
        phrase: rank.phrase(),
    }
}

/// The notes under a decision: what its figures mean and on which paths they were solved.
fn notes(rec: &Candidate, optimal: bool, solved: bool, bpaths: u64, paths: u64) -> Vec<String> {
    let mut notes = Vec::new();
    if rec.share == Some(1.0) {
        notes.push(
            "Converting the whole site sells the fleet on day 0: its mining part is the salvage \
             value, and its spread is narrow because only the lease (its level, renewals and \
             tenant default) is uncertain afterwards; bitcoin's price no longer matters to it."
                .to_string(),
        );
    }
    if optimal {
        notes.push(
            "The break-even points of an optimal run are those of the static conversion shares \
             (the staged policy is refitted by regression, too costly to repeat per point); the \
             staged policy converts at somewhat lower lease rates."
                .to_string(),
        );
    }
    if bpaths < paths && solved {
        notes.push(format!(
            "Break-even points are solved on the first {bpaths} of the run's {paths} paths (same seed)."
        ));
    }
    notes
}

/// [`DecisionGrid`] of `sc` for the conversions `conv`.
fn decision_grid(
    sc: &Scenario,
    conv: &[PlanSpec],
    paths: u64,
    seed: u64,
) -> Result<DecisionGrid, ModelError> {
    let lease: Vec<f64> = GRID_FACTORS
        .iter()
        .map(|f| f * sc.ai.lease_usd_per_kw_month)
        .collect();
    let capex: Vec<f64> = GRID_FACTORS
        .iter()
        .map(|f| f * sc.ai.capex_usd_per_mw_it)
        .collect();
    let mut best = Vec::with_capacity(capex.len());
    let mut gaps = Vec::with_capacity(capex.len());
    for &k in &capex {
        let mut brow = Vec::with_capacity(lease.len());
        let mut grow = Vec::with_capacity(lease.len());
        for &l in &lease {
            let mut probe = sc.clone();
            probe.ai.capex_usd_per_mw_it = k;
            probe.ai.lease_usd_per_kw_month = l;
            match gap(&probe, conv, paths, seed) {
                Ok((g, what)) => {
                    brow.push(Some(if g > 0.0 { what } else { "mine".into() }));
                    grow.push(Some(g));
                }
                // Outside the inputs' allowed range, or too extreme: the cell stays empty.
                Err(ModelError::Scenario(_) | ModelError::NonFinite { .. }) => {
                    brow.push(None);
                    grow.push(None);
                }
                Err(e) => return Err(e),
            }
        }
        best.push(brow);
        gaps.push(grow);
    }
    Ok(DecisionGrid {
        lease,
        capex,
        best,
        gap: gaps,
        paths,
    })
}

fn musd(x: f64) -> String {
    let m = x / 1e6;
    let s = format!("{:.0}", m.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}${out} M", if m < 0.0 { "-" } else { "" })
}

fn why_sentence(
    rec: &Candidate,
    all: &[Candidate],
    lease: &LeasePlacement,
    hashprice: f64,
    be: &[BreakEven],
) -> String {
    let lease_be = be
        .iter()
        .find(|b| b.input == "ai.lease_usd_per_kw_month")
        .and_then(|b| b.value.map(|v| (v, b.flips_when)));
    let market = format!(
        "at ${:.0}/kW-month ({}) and today's hashprice of ${:.1}/PH/day",
        lease.rate, lease.phrase, hashprice
    );
    if rec.strategy != "mine" {
        let flip = match lease_be {
            Some((v, _)) => {
                format!("; it stays ahead until the lease falls below ${v:.0}/kW-month")
            }
            None => String::new(),
        };
        format!(
            "{} beats keeping the fleet mining by {} of NPV on average and on {:.0}% of paths: {market}, \
             leasing the power to an AI tenant earns more than mining it{flip}.",
            capitalize(&rec.label),
            musd(rec.delta_vs_mine.mean),
            rec.prob_beats_mine * 100.0
        )
    } else {
        let runner = all
            .iter()
            .filter(|c| c.strategy != "mine" && c.share != Some(0.0))
            .max_by(|a, b| a.npv_mean.total_cmp(&b.npv_mean));
        let gap = match runner {
            Some(c) => format!(
                " (the best conversion, {}, is {} behind)",
                c.label,
                musd(-c.delta_vs_mine.mean)
            ),
            None => String::new(),
        };
        let flip = match lease_be {
            Some((v, _)) => format!("; converting would pay above a lease of ${v:.0}/kW-month"),
            None => String::new(),
        };
        format!(
            "Keep mining: no conversion beats it on the mean NPV{gap}; {market}, the mining margin \
             is worth more than the lease{flip}."
        )
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::simulate;

    fn small(kind: StrategyKind, paths: u64) -> Scenario {
        let mut sc = Scenario::default();
        sc.run.paths = paths;
        sc.run.seed = 7;
        sc.strategy.kind = kind;
        sc
    }

    fn best_label(sc: &Scenario) -> String {
        let out = simulate(sc, &RunConfig::default(), &|_| {}).unwrap();
        let b = out.results.iter().fold(&out.results[0], |b, r| {
            if r.npv.mean > b.npv.mean && r.share != Some(0.0) {
                r
            } else {
                b
            }
        });
        b.strategy.clone()
    }

    #[test]
    fn solver_finds_a_known_root_from_either_side() {
        // f(x) = x - 3.7, increasing: from 10 step down, from 1 step up.
        let f = |x: f64| Ok((x - 3.7, "x".to_string()));
        let s = solve_sign_change(f, 10.0, 1.0 / 1.5, 9, 1e-6).unwrap();
        assert!((s.value.unwrap() - 3.7).abs() < 1e-5, "{s:?}");
        let s = solve_sign_change(f, 1.0, 1.5, 9, 1e-6).unwrap();
        assert!((s.value.unwrap() - 3.7).abs() < 1e-5, "{s:?}");
        // A step function (what a Monte Carlo gap can look like): bisection still converges.
        let step = |x: f64| Ok((if x > 2.0 { 1.0 } else { -1.0 }, "x".to_string()));
        let s = solve_sign_change(step, 5.0, 1.0 / 1.5, 9, 1e-4).unwrap();
        assert!((s.value.unwrap() - 2.0).abs() < 1e-3, "{s:?}");
        // No root in range.
        let none = |x: f64| Ok((x + 1.0, "x".to_string()));
        let s = solve_sign_change(none, 5.0, 1.0 / 1.5, 4, 1e-4).unwrap();
        assert_eq!(s.value, None);
        assert_eq!(s.evaluations, 5);
    }

    #[test]
    fn deltas_match_the_engine_and_the_lease_break_even_flips_the_decision() {
        let sc = small(StrategyKind::Sweep, 300);
        let d = decide(&sc, &DecisionOptions::default()).unwrap();
        let out = simulate(&sc, &RunConfig::default(), &|_| {}).unwrap();
        // The paired differences agree with the engine's own means and P(below mine).
        for (c, r) in d.candidates.iter().zip(&out.results) {
            let want = r.npv.mean - out.results[0].npv.mean;
            assert!((c.delta_vs_mine.mean - want).abs() <= 1e-6 * want.abs().max(1.0));
            if c.strategy != "mine" && c.share != Some(0.0) {
                assert!((c.prob_beats_mine - (1.0 - r.prob_below_mine)).abs() < 1e-12);
                assert!(c.delta_vs_mine.stderr > 0.0);
            }
        }
        // `sweep 0%` is mining: identical on every path.
        assert_eq!(d.candidates[1].delta_vs_mine.stderr, 0.0);
        assert!(d.converts, "the default scenario converts: {}", d.why);
        assert!(d.why.contains("beats keeping the fleet mining"));
        assert_eq!(d.lease.total, hashpivot_data::leases::leases().len());
        // The break-even lease rate: 1 % above it the run still converts, 1 % below it mines.
        let be = &d.breakeven[0];
        assert_eq!(be.input, "ai.lease_usd_per_kw_month");
        assert_eq!(be.flips_when, "below");
        let v = be
            .value
            .expect("the default scenario flips at some lease rate");
        assert!(v < sc.ai.lease_usd_per_kw_month && v > 10.0, "{v}");
        let mut up = sc.clone();
        up.ai.lease_usd_per_kw_month = v * 1.01;
        assert_eq!(best_label(&up), "sweep");
        let mut down = sc.clone();
        down.ai.lease_usd_per_kw_month = v * 0.99;
        assert_eq!(best_label(&down), "mine");
        // Capex and hashprice flip the other way.
        assert_eq!(d.breakeven[1].flips_when, "above");
        assert_eq!(d.breakeven[2].flips_when, "above");
        if let Some(v) = d.breakeven[1].value {
            let mut up = sc.clone();
            up.ai.capex_usd_per_mw_it = v * 1.01;
            assert_eq!(best_label(&up), "mine");
        }
        let hp = d.breakeven[2].hashprice_value;
        if let (Some(v), Some(h)) = (d.breakeven[2].value, hp) {
            assert!(h > d.hashprice_today && v > sc.price.spot);
        }
        // The grid: its middle cell is the scenario (the same gap as the search's base), the gap
        // rises with the lease rate and falls with capex (common random numbers: no noise), and
        // each cell's best strategy is mining exactly where the gap is not positive.
        let g = d.grid.as_ref().expect("grid");
        assert_eq!(g.lease[2], sc.ai.lease_usd_per_kw_month);
        assert_eq!(g.capex[2], sc.ai.capex_usd_per_mw_it);
        let conv = conversion_specs(&sc, &plans_for(&sc, &RunConfig::default()).unwrap());
        let (g0, _) = gap(&sc, &conv, g.paths, sc.run.seed).unwrap();
        assert_eq!(g.gap[2][2], Some(g0));
        let cell = |r: usize, c: usize| g.gap[r][c].unwrap();
        for r in 0..5 {
            for c in 0..5 {
                if c > 0 {
                    assert!(cell(r, c) >= cell(r, c - 1), "lease {r} {c}");
                }
                if r > 0 {
                    assert!(cell(r, c) <= cell(r - 1, c), "capex {r} {c}");
                }
                let best = g.best[r][c].as_deref().unwrap();
                assert_eq!(best == "mine", cell(r, c) <= 0.0, "{r} {c} {best}");
            }
        }
        // A 40 % lower lease rate makes mining the better choice, a 40 % higher one converting.
        assert_eq!(g.best[2][0].as_deref(), Some("mine"));
        assert_ne!(g.best[2][4].as_deref(), Some("mine"));
    }

    #[test]
    fn a_mining_run_names_the_lease_at_which_converting_starts_to_pay() {
        let mut sc = small(StrategyKind::Mine, 200);
        sc.ai.lease_usd_per_kw_month = 30.0;
        let d = decide(&sc, &DecisionOptions::default()).unwrap();
        assert!(!d.converts);
        assert_eq!(d.recommended, "mine");
        assert_eq!(d.delta_vs_mine.mean, 0.0);
        assert!(d.why.starts_with("Keep mining"), "{}", d.why);
        let be = &d.breakeven[0];
        assert_eq!(be.flips_when, "above");
        let v = be.value.expect("converting pays at some higher lease");
        assert!(v > 30.0);
        // The decision for the sweep grid at 1 % above the break-even is a conversion.
        let mut up = sc.clone();
        up.strategy.kind = StrategyKind::Sweep;
        up.ai.lease_usd_per_kw_month = v * 1.01;
        assert_eq!(best_label(&up), "sweep");
    }

    #[test]
    fn an_optimal_run_reports_its_bounds_and_slice_timing() {
        let mut sc = small(StrategyKind::Optimal, 200);
        sc.strategy.tranches = 2;
        sc.strategy.decide_months = 6;
        let opts = DecisionOptions {
            solve_breakeven: false,
            ..DecisionOptions::default()
        };
        let d = decide(&sc, &opts).unwrap();
        let o = d.optimal.as_ref().expect("optimal summary");
        assert_eq!(o.slices.len(), 2);
        // The lower bound sits below the upper bound, and the in-sample value between them
        // give or take Monte Carlo error.
        assert!(o.lower_bound.mean <= o.upper_bound.mean);
        assert!(o.in_sample.mean <= o.upper_bound.mean + 1e-6);
        let opt = d.candidates.last().unwrap();
        assert_eq!(opt.label, "optimal");
        let h = opt.delta_histogram.as_ref().unwrap();
        assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 200);
        assert!(d.breakeven.is_empty());
    }

    #[test]
    fn hashprice_today_matches_the_data_crate() {
        let sc = Scenario::default();
        let r = hashpivot_chain::subsidy_btc(sc.chain.height) + sc.fees.btc_per_block;
        let want = sc.price.spot
            * hashpivot_chain::hashvalue_btc_per_ph_day(
                hashpivot_chain::BtcPerBlock(r),
                hashpivot_chain::Difficulty(sc.chain.difficulty),
            );
        assert!((hashprice_today(&sc) - want).abs() < 1e-9 * want);
        // Today's figures of the default market: $30-60 per PH/s per day.
        assert!(want > 20.0 && want < 80.0, "{want}");
    }
}
