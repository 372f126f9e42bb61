//! The `optimal` strategy's report from the priced paths of phase 2: the common result fields,
//! the out-of-sample estimate, the policy table, the boundaries, the value of flexibility and
//! perfect foresight. Pure functions of the merged per-path values (in path order) and the policy,
//! so a sharded run reports exactly what a single machine does.

// Path loops index several per-path arrays in lockstep; explicit indices read clearest there.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use hashpivot_lsm::regress::Basis;

use crate::equity::equity_result;
use crate::result::{
    Boundary, Est, Flexibility, OptimalDetail, OptimalObjective, PolicyTable, Regime,
    RegressionInfo, SliceSummary, StrategyResult,
};
use crate::stats::{histograms, summarize};
use crate::strategy::optimal_pilot::FEATURES;
use crate::strategy::optimal_policy::{OptimalPolicy, PricedObjective, PricedPaths, NEVER};

/// Mean and standard error ([`crate::stats::mean_stderr`], the estimator of every strategy) with
/// the number of paths.
pub fn est(v: &[f64], antithetic: bool) -> Est {
    let e = crate::stats::mean_stderr(v, antithetic);
    Est {
        mean: e.mean,
        stderr: e.stderr,
        paths: v.len() as u64,
    }
}

/// Where the fitted gain of a rule changes sign along one state variable.
pub(crate) fn threshold(g: impl Fn(f64) -> f64, lo: f64, hi: f64) -> (Option<f64>, Regime) {
    const N: usize = 200;
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        let v = g(lo);
        return (
            None,
            if v > 0.0 {
                Regime::Always
            } else {
                Regime::Never
            },
        );
    }
    let xs: Vec<f64> = (0..=N)
        .map(|i| lo + (hi - lo) * i as f64 / N as f64)
        .collect();
    let vs: Vec<f64> = xs.iter().map(|&x| g(x)).collect();
    if vs.iter().all(|&v| v > 0.0) {
        return (None, Regime::Always);
    }
    if vs.iter().all(|&v| v <= 0.0) {
        return (None, Regime::Never);
    }
    // The crossing nearest the middle of the distribution decides; a quadratic can cross twice
    // inside the range, and the central one is the one most paths meet.
    let mid = N / 2;
    let mut best: Option<(usize, usize)> = None;
    for i in 0..N {
        if (vs[i] > 0.0) != (vs[i + 1] > 0.0) {
            let dist = if i < mid { mid - i - 1 } else { i - mid };
            if best.is_none_or(|(_, bd)| dist < bd) {
                best = Some((i, dist));
            }
        }
    }
    let (i, _) = best.expect("a sign change exists");
    let regime = if vs[i] > 0.0 {
        Regime::Below
    } else {
        Regime::Above
    };
    let (mut a, mut b) = (xs[i], xs[i + 1]);
    let pos_a = vs[i] > 0.0;
    for _ in 0..60 {
        let m = 0.5 * (a + b);
        if (g(m) > 0.0) == pos_a {
            a = m;
        } else {
            b = m;
        }
    }
    (Some((0.5 * (a + b)).exp()), regime)
}

/// The in-sample values: the common result, static shares, the best of them, flexibility and
/// perfect foresight.
pub(crate) struct InSampleValues {
    /// The common result fields of `optimal`.
    pub result: StrategyResult,
    /// Mean NPV of converting `j/k` of the site on day 0, `j = 0..=k`.
    pub static_npv: Vec<f64>,
    /// The best of those `j`.
    pub best: usize,
    /// Per path: the policies' NPV less the best static share's.
    pub flex: Vec<f64>,
    /// Per path: perfect foresight, each slice on its best day of the path (or never).
    pub foresight: Vec<f64>,
    /// With `[finance]`, the same in the policy's objective (the owner's value).
    pub objective: Option<ObjectiveValues>,
}

/// [`InSampleValues`]' static shares, flexibility and perfect foresight in the levered policy's
/// objective (mining NPV + AI equity NPV).
pub(crate) struct ObjectiveValues {
    /// Mean value of converting `j/k` of the site on day 0, `j = 0..=k`.
    pub static_npv: Vec<f64>,
    /// The best of those `j`.
    pub best: usize,
    /// Per path: the policy's value less the best static share's.
    pub flex: Vec<f64>,
    /// Per path: perfect foresight.
    pub foresight: Vec<f64>,
}

/// Per path, the value of converting slices `1..=j` on day 0, `j = 0..=k`, from each slice's
/// day-0 gain `gain0[path · k + slice]` over `mine`.
fn static_values(mine: &[f64], gain0: &[f64], k: usize) -> Vec<Vec<f64>> {
    let n = mine.len();
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(k + 1);
    let mut acc = mine.to_vec();
    out.push(acc.clone());
    for j in 0..k {
        for i in 0..n {
            acc[i] += gain0[i * k + j];
        }
        out.push(acc.clone());
    }
    out
}

/// The best static share's index and the mean of each.
fn best_static(paths: &[Vec<f64>], n: usize) -> (Vec<f64>, usize) {
    let means: Vec<f64> = paths
        .iter()
        .map(|v| v.iter().sum::<f64>() / n as f64)
        .collect();
    let best = (0..means.len())
        .max_by(|&a, &b| means[a].total_cmp(&means[b]))
        .unwrap_or(0);
    (means, best)
}

/// The levered policy's in-sample values in its objective.
fn objective_values(ins: &PricedPaths, o: &PricedObjective) -> ObjectiveValues {
    let (n, k) = (ins.len(), ins.tranches);
    let paths = static_values(&ins.mine_npv, &o.gain0, k);
    let (static_npv, best) = best_static(&paths, n);
    let flex = (0..n).map(|i| o.npv[i] - paths[best][i]).collect();
    let mut foresight = ins.mine_npv.clone();
    for (i, f) in foresight.iter_mut().enumerate() {
        for j in 0..k {
            *f += o.foresight[i * k + j];
        }
    }
    ObjectiveValues {
        static_npv,
        best,
        flex,
        foresight,
    }
}

/// Step 3: the in-sample result with its mining/AI split (and with `[finance]`, whose covenant is
/// `min_dscr`, the equity view of the policy's conversions, MODEL.md §10), the static shares, the
/// flexibility and perfect foresight.
pub(crate) fn in_sample_values(
    ins: &PricedPaths,
    antithetic: bool,
    min_dscr: Option<f64>,
) -> InSampleValues {
    let (n, k) = (ins.len(), ins.tranches);
    let mining_sum: f64 = ins.mining.iter().sum();
    let ai_sum: f64 = ins.ai.iter().sum();
    let mut result = summarize(
        "optimal",
        None,
        &ins.npv,
        mining_sum / n as f64,
        ai_sum / n as f64,
        Some(&ins.mine_npv),
        antithetic,
    );
    if let (Some(min_dscr), Some(e)) = (min_dscr, &ins.equity) {
        let paths = e.paths();
        let mut view = equity_result(&paths, min_dscr, antithetic);
        view.equity_npv_histogram = histograms(&[&paths.equity_npv]).into_iter().next();
        result.equity = Some(view);
    }
    // Static shares j/k: slices 1..=j converted on day 0.
    let static_paths = static_values(&ins.mine_npv, &ins.gain0, k);
    let (static_npv, best) = best_static(&static_paths, n);
    let flex: Vec<f64> = (0..n).map(|i| ins.npv[i] - static_paths[best][i]).collect();
    let mut foresight = ins.mine_npv.clone();
    for i in 0..n {
        for j in 0..k {
            foresight[i] += ins.foresight[i * k + j];
        }
    }
    let objective = ins.levered.as_ref().map(|o| objective_values(ins, o));
    InSampleValues {
        result,
        static_npv,
        best,
        flex,
        foresight,
        objective,
    }
}

/// Per fresh path, the policy's value `npv` less the best static share's (`mine` plus the
/// day-0 gains `gain0` of slices `1..=best`).
pub(crate) fn fresh_flex(
    npv: &[f64],
    mine: &[f64],
    gain0: &[f64],
    k: usize,
    best: usize,
) -> Vec<f64> {
    (0..npv.len())
        .map(|i| {
            let mut st = mine[i];
            for j in 0..best {
                st += gain0[i * k + j];
            }
            npv[i] - st
        })
        .collect()
}

/// The gap of two independent estimates: the difference of the means, the standard errors in
/// quadrature.
fn gap_of(ins: Est, oos: Est) -> Est {
    Est {
        mean: ins.mean - oos.mean,
        stderr: (ins.stderr * ins.stderr + oos.stderr * oos.stderr).sqrt(),
        paths: ins.paths + oos.paths,
    }
}

/// With `[finance]`: the estimates in the levered policy's objective (`None` when unlevered).
fn objective_detail(
    ins: &PricedPaths,
    ins_v: &InSampleValues,
    fresh: &PricedPaths,
    anti: bool,
) -> Option<OptimalObjective> {
    let (o_ins, v, o_fresh) = (
        ins.levered.as_ref()?,
        ins_v.objective.as_ref()?,
        fresh.levered.as_ref()?,
    );
    let k = ins.tranches;
    let value_in_sample = est(&o_ins.npv, anti);
    let value_out_of_sample = est(&o_fresh.npv, anti);
    Some(OptimalObjective {
        objective: "equity_npv".into(),
        slice_option_value_out_of_sample: (0..k)
            .map(|j| est(&column(&o_fresh.gain, k, j), anti))
            .collect(),
        value_in_sample,
        value_out_of_sample,
        in_sample_gap: gap_of(value_in_sample, value_out_of_sample),
        value_perfect_foresight: est(&v.foresight, anti),
        flexibility: Flexibility {
            static_shares: (0..=k).map(|j| j as f64 / k as f64).collect(),
            static_npv: v.static_npv.clone(),
            best_static_share: v.best as f64 / k as f64,
            best_static_npv: v.static_npv[v.best],
            value_in_sample: est(&v.flex, anti),
            value_out_of_sample: est(
                &fresh_flex(&o_fresh.npv, &fresh.mine_npv, &o_fresh.gain0, k, v.best),
                anti,
            ),
        },
    })
}

/// Column `j` of a `[path · k + slice]` array.
fn column(v: &[f64], k: usize, j: usize) -> Vec<f64> {
    v.iter().skip(j).step_by(k).copied().collect()
}

/// Step 5a: per slice, when it converts in sample and what its option is worth; and the
/// cumulative share converted by month (the policy table).
pub(crate) fn slice_summaries(
    slice_mw: f64,
    antithetic: bool,
    ins: &PricedPaths,
    fresh: &PricedPaths,
    days: &[usize],
) -> (Vec<SliceSummary>, PolicyTable) {
    let (k, nd, n) = (ins.tranches, days.len(), ins.len());
    let mut policy_slices = BTreeMap::new();
    let mut expected_share = vec![0.0; nd];
    let mut summaries = Vec::with_capacity(k);
    for j in 0..k {
        let mut by_month = vec![0.0; nd];
        let mut sum_month = 0.0;
        let mut converted = 0usize;
        for i in 0..n {
            let s = ins.stop[i * k + j];
            if s != NEVER {
                by_month[s as usize] += 1.0;
                sum_month += s as f64;
                converted += 1;
            }
        }
        by_month.iter_mut().for_each(|v| *v /= n as f64);
        let mut cum = 0.0;
        let cumulative: Vec<f64> = by_month
            .iter()
            .map(|v| {
                cum += v;
                cum
            })
            .collect();
        for (e, c) in expected_share.iter_mut().zip(&cumulative) {
            *e += c / k as f64;
        }
        policy_slices.insert(format!("slice_{}", j + 1), cumulative);
        summaries.push(SliceSummary {
            slice: j + 1,
            mw: slice_mw,
            prob_converted: converted as f64 / n as f64,
            prob_by_month: by_month,
            mean_conversion_month: (converted > 0).then(|| sum_month / converted as f64),
            option_value_in_sample: est(&column(&ins.gain, k, j), antithetic),
            option_value_out_of_sample: est(&column(&fresh.gain, k, j), antithetic),
            option_value_perfect_foresight: est(&column(&ins.foresight, k, j), antithetic),
        });
    }
    let table = PolicyTable {
        months: (0..nd as u32).collect(),
        days: days.to_vec(),
        slices: policy_slices,
        expected_share_converted: expected_share,
    };
    (summaries, table)
}

/// Step 5b: the exercise boundary of every slice along hashprice and along the lease rate, the
/// other state variables held at their median over the pilot paths of each month.
pub(crate) fn boundaries(policy: &OptimalPolicy) -> (Boundary, Boundary) {
    let h = &policy.header;
    let nd = h.days.len();
    let basis: Basis = policy.basis();
    // With the pilot on every path (the policy is then its Longstaff–Schwartz fit), its paths
    // are the run's, and the texts are version 1's.
    let held_at = if h.pilot_paths == h.paths {
        "the other two state variables at their median over paths on that month"
    } else {
        "the other two state variables at their median over the pilot paths on that month"
    };
    let boundary_of = |var: usize, variable: &'static str| {
        let mut b = Boundary {
            variable: variable.into(),
            held_at: held_at.into(),
            slices: BTreeMap::new(),
            months: (0..nd as u32).collect(),
            regime: BTreeMap::new(),
        };
        for j in 0..h.tranches {
            let mut th = Vec::with_capacity(nd);
            let mut rg = Vec::with_capacity(nd);
            for d in 0..nd {
                let g = |v: f64| {
                    let mut x: [f64; FEATURES] = h.median[d];
                    x[var] = v;
                    policy.gain_at(&basis, j, d, &x)
                };
                let (t, r) = threshold(g, h.lo[d][var], h.hi[d][var]);
                th.push(t);
                rg.push(r);
            }
            b.slices.insert(format!("slice_{}", j + 1), th);
            b.regime.insert(format!("slice_{}", j + 1), rg);
        }
        b
    };
    (
        boundary_of(0, "hashprice, USD per PH/s per day"),
        boundary_of(1, "AI lease rate, USD per kW(IT)-month"),
    )
}

/// The whole `optimal` detail from the policy and the merged priced paths.
pub(crate) fn detail(
    policy: &OptimalPolicy,
    slice_mw: f64,
    ins: &PricedPaths,
    ins_v: &InSampleValues,
    fresh: &PricedPaths,
) -> OptimalDetail {
    let h = &policy.header;
    let (k, anti) = (h.tranches, h.antithetic);
    let oos_est = est(&fresh.npv, anti);
    let ins_est = est(&ins.npv, anti);
    let (summaries, table) = slice_summaries(slice_mw, anti, ins, fresh, &h.days);
    let (boundary, boundary_lease) = boundaries(policy);
    let best = ins_v.best;
    OptimalDetail {
        npv_out_of_sample: oos_est,
        in_sample_gap: gap_of(ins_est, oos_est),
        npv_perfect_foresight: est(&ins_v.foresight, anti),
        policy: table,
        boundary,
        boundary_lease,
        slices: summaries,
        flexibility: Flexibility {
            static_shares: (0..=k).map(|j| j as f64 / k as f64).collect(),
            static_npv: ins_v.static_npv.clone(),
            best_static_share: best as f64 / k as f64,
            best_static_npv: ins_v.static_npv[best],
            value_in_sample: est(&ins_v.flex, anti),
            value_out_of_sample: est(
                &fresh_flex(&fresh.npv, &fresh.mine_npv, &fresh.gain0, k, best),
                anti,
            ),
        },
        regression: regression_info(policy),
        upper_bound: None,
        objective: objective_detail(ins, ins_v, fresh, anti),
    }
}

/// How the policy was fitted. With the pilot on every path the policy is the pilot's own
/// Longstaff–Schwartz fit (see `OptimalPolicy::fit`) and the texts are version 1's; otherwise
/// the regressions are the exactly summed ones of phase 1 over all paths, with the continuation
/// under the pilot's later rules.
fn regression_info(policy: &OptimalPolicy) -> RegressionInfo {
    let h = &policy.header;
    let whole = h.pilot_paths == h.paths;
    RegressionInfo {
        features: ["ln hashprice", "ln lease rate", "ln BTC price"].map(String::from),
        degree: h.degree,
        terms: policy.basis().len(),
        solver: if whole {
            "normal equations, Cholesky with diagonal pivoting stopped at numerical rank".into()
        } else {
            "normal equations summed exactly over all in-sample paths, Cholesky with diagonal \
             pivoting stopped at numerical rank"
                .into()
        },
        sample: if whole {
            "all paths (the exercise value is a realized future quantity; see \
             hashpivot_lsm::stopping)"
                .into()
        } else {
            format!(
                "all paths (the exercise value is a realized future quantity; see \
                 hashpivot_lsm::stopping); continuation under a pilot fitted on the first {} paths",
                h.pilot_paths
            )
        },
    }
}
