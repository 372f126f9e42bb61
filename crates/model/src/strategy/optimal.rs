//! The `optimal` strategy (MODEL.md section 6): the site in `k = strategy.tranches` slices, each
//! convertible once, irreversibly, on a monthly decision day, valued by least-squares Monte Carlo
//! (Longstaff–Schwartz 2001) with the generic core of `hashpivot-lsm`.
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
//!   of future cash flows (not known on day `d`). The core therefore regresses the realized gain of
//!   converting now over continuing on the basis over *all* paths ([`Information::Realized`]; why the
//!   put's "in the money" filter would leak foresight here is explained in
//!   `hashpivot_lsm::stopping`), and converts iff the fitted gain is positive.
//! - **Basis**: a degree-2 polynomial with cross terms in standardized `ln hashprice_d`, `ln L_d`,
//!   `ln S_d`. On day 0 every path is in the same state, so the features are constant, get scale 0,
//!   and the regression reduces to its intercept (the mean gain); the same happens on every day of a
//!   zero-volatility scenario, where the policy then picks each slice's best day exactly.
//! - **Estimates**: in-sample (the fitted policy on its own paths, Longstaff–Schwartz's estimator)
//!   and out-of-sample (the frozen policy on fresh paths: a lower bound on the true value). Both
//!   with standard errors (over antithetic pairs when antithetic), and their gap.
//!
//! Slices do not interact (MODEL.md section 6), so the site's policy is the product of `k` optimal
//! stopping problems, fitted one after the other on the same paths.

// Path loops index several per-path arrays in lockstep; explicit indices read clearest there.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use hashpivot_lsm::rng::BLOCK as LSM_BLOCK;
use hashpivot_lsm::stopping::{
    block_len, fit, Config, Fit, Information, PathSet, Policy, Solver, NEVER,
};
use rayon::prelude::*;

use crate::payoff::slices::{SliceBlock, Slices, OUT_OF_SAMPLE_BLOCK};
use crate::process::BLOCK as ENGINE_BLOCK;
use crate::result::StrategyDetail;
use crate::result::StrategyResult;
pub use crate::result::{
    Boundary, Est, Flexibility, OptimalDetail, PolicyTable, Regime, RegressionInfo, SliceSummary,
};
use crate::scenario::Scenario;
use crate::stats::{quantile_sorted, summarize};
use crate::ModelError;

/// Largest in-sample path store `optimal` allocates, bytes.
pub const MAX_BYTES: f64 = 8e9;

/// State features of the regression: `ln hashprice`, `ln lease`, `ln price`.
pub const FEATURES: usize = 3;

// An LSM block is a whole number of engine blocks, so both see the same paths in the same order.
const SUB: usize = LSM_BLOCK / ENGINE_BLOCK;
const _: () = assert!(LSM_BLOCK.is_multiple_of(ENGINE_BLOCK));

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
    /// The fitted policy of each slice.
    pub policies: Vec<Policy>,
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

/// Per-block data of the in-sample paths in the LSM core's block-major layout.
struct InSample {
    /// `[block][date][path][feature]`.
    feats: Vec<f64>,
    /// Per slice, `[block][date][path]`: `convert_at − mining_from`.
    gain: Vec<Vec<f64>>,
    /// Per slice, `[block][date][path]`: `mining_from` (f32: only used for the mining/AI split of
    /// the reported means).
    mining_from: Vec<Vec<f32>>,
    /// `[path][slice]`.
    mining_total: Vec<f64>,
}

fn check(sc: &Scenario, cfg: &OptimalConfig) -> Result<(), ModelError> {
    let bad = |option: &str, value: String, allowed: &str| ModelError::BadOption {
        option: option.into(),
        value,
        allowed: allowed.into(),
    };
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

#[inline]
fn features(b: &SliceBlock, p: usize, d: usize, out: &mut [f64]) {
    let nd = b.days.len();
    let o = p * nd + d;
    // Hashprice, lease and price are positive in the model; guard the logarithm anyway so that
    // a degenerate input cannot put NaN into a regression.
    out[0] = b.hashprice[o].max(1e-300).ln();
    out[1] = b.lease[o].max(1e-300).ln();
    out[2] = b.price[o].max(1e-300).ln();
}

fn simulate_in_sample(
    slices: &Slices,
    cfg: &OptimalConfig,
    done: &AtomicUsize,
    report: &(dyn Fn() + Sync),
) -> InSample {
    let n = cfg.paths as usize;
    let nd = slices.decision_days().len();
    let k = slices.tranches();
    let nb = n.div_ceil(LSM_BLOCK);
    let mut feats = vec![0.0; n * nd * FEATURES];
    let mut gain: Vec<Vec<f64>> = (0..k).map(|_| vec![0.0; n * nd]).collect();
    let mut mfrom: Vec<Vec<f32>> = (0..k).map(|_| vec![0.0; n * nd]).collect();
    let mut mining_total = vec![0.0; n * k];
    // Split every slice's arrays into the LSM blocks' chunks, so each block writes its own.
    let mut gain_chunks: Vec<Vec<&mut [f64]>> = (0..nb).map(|_| Vec::with_capacity(k)).collect();
    for g in gain.iter_mut() {
        for (b, c) in g.chunks_mut(LSM_BLOCK * nd).enumerate() {
            gain_chunks[b].push(c);
        }
    }
    let mut mf_chunks: Vec<Vec<&mut [f32]>> = (0..nb).map(|_| Vec::with_capacity(k)).collect();
    for g in mfrom.iter_mut() {
        for (b, c) in g.chunks_mut(LSM_BLOCK * nd).enumerate() {
            mf_chunks[b].push(c);
        }
    }
    feats
        .par_chunks_mut(LSM_BLOCK * nd * FEATURES)
        .zip(gain_chunks.into_par_iter())
        .zip(mf_chunks.into_par_iter())
        .zip(mining_total.par_chunks_mut(LSM_BLOCK * k))
        .enumerate()
        .for_each(|(b, (((fb, mut gb), mut mb), tb))| {
            let len = block_len(n, b);
            for s in 0..SUB {
                let off = s * ENGINE_BLOCK;
                if off >= len {
                    break;
                }
                // Also reported before the block: the caller may stop the run (crate::cancel).
                report();
                let eb = (b * SUB + s) as u64;
                let lanes = Slices::paths_in_block(n as u64, eb);
                let blk = slices.block(cfg.seed, eb, lanes, cfg.antithetic);
                let mut x = [0.0; FEATURES];
                for p in 0..lanes {
                    let i = off + p;
                    for d in 0..nd {
                        features(&blk, p, d, &mut x);
                        let o = d * len + i;
                        fb[o * FEATURES..(o + 1) * FEATURES].copy_from_slice(&x);
                        for j in 0..k {
                            let q = (p * nd + d) * k + j;
                            gb[j][o] = blk.convert_at[q] - blk.mining_from[q];
                            mb[j][o] = blk.mining_from[q] as f32;
                        }
                    }
                    for j in 0..k {
                        tb[i * k + j] = blk.mining_total[p * k + j];
                    }
                }
                done.fetch_add(lanes, Ordering::Relaxed);
                report();
            }
        });
    InSample {
        feats,
        gain,
        mining_from: mfrom,
        mining_total,
    }
}

/// Index of path `i`, date `d` in the block-major layout.
#[inline]
fn at(n: usize, nd: usize, i: usize, d: usize) -> usize {
    let b = i / LSM_BLOCK;
    let len = block_len(n, b);
    b * LSM_BLOCK * nd + d * len + i % LSM_BLOCK
}

/// Mean and standard error ([`crate::stats::mean_stderr`], the estimator of every strategy) with
/// the number of paths.
fn est(v: &[f64], antithetic: bool) -> Est {
    let e = crate::stats::mean_stderr(v, antithetic);
    Est {
        mean: e.mean,
        stderr: e.stderr,
        paths: v.len() as u64,
    }
}

/// Where the fitted gain of a rule changes sign along one state variable.
fn threshold(g: impl Fn(f64) -> f64, lo: f64, hi: f64) -> (Option<f64>, Regime) {
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

fn quantile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile_sorted(v, p)
}

/// The in-sample values of step 3 of [`run`].
struct InSampleValues {
    /// The common result fields of `optimal`.
    result: StrategyResult,
    /// Per path: the fitted policies' NPV.
    npv: Vec<f64>,
    /// Per path: the `mine` NPV (the slices' mining values summed).
    mine_npv: Vec<f64>,
    /// Mean NPV of converting `j/k` of the site on day 0, `j = 0..=k`.
    static_npv: Vec<f64>,
    /// The best of those `j`.
    best: usize,
    /// Per path: the policies' NPV less the best static share's.
    flex: Vec<f64>,
    /// Per path: perfect foresight, each slice on its best day of the path (or never).
    foresight: Vec<f64>,
    /// Per slice and path: the perfect-foresight gain of the slice.
    foresight_slice: Vec<Vec<f64>>,
}

/// The out-of-sample values of step 4 of [`run`], per fresh path.
struct OutOfSample {
    /// The frozen policies' NPV.
    npv: Vec<f64>,
    /// The same less the best static share's NPV.
    flex: Vec<f64>,
    /// Per slice: the gain of its conversion (0 when it never converts).
    per_slice: Vec<Vec<f64>>,
}

/// Refuses a run whose in-sample store would not fit in [`MAX_BYTES`].
fn check_memory(n: usize, nd: usize, k: usize) -> Result<(), ModelError> {
    // The in-sample paths are held in memory for the backward induction: features (8 bytes × 3)
    // and, per slice, the gain (8) and the mining value (4) on every path and decision day.
    let bytes = n as f64 * nd as f64 * (FEATURES as f64 * 8.0 + k as f64 * 12.0);
    if bytes > MAX_BYTES {
        return Err(ModelError::BadOption {
            option: "paths × decision months × tranches".into(),
            value: format!("{n} × {nd} × {k} (needs {:.1} GB for optimal)", bytes / 1e9),
            allowed: format!(
                "at most {:.0} GB of in-sample paths: use fewer paths, tranches or decision months",
                MAX_BYTES / 1e9
            ),
        });
    }
    Ok(())
}

/// Step 2: one policy per slice (values are present values at day 0: discount factors of 1).
fn fit_policies(
    data: &InSample,
    n: usize,
    nd: usize,
    cfg: &OptimalConfig,
    done: &AtomicUsize,
    report: &(dyn Fn() + Sync),
) -> Result<Vec<Fit>, ModelError> {
    let k = data.gain.len();
    let lsm_cfg = Config {
        degree: cfg.degree,
        information: Information::Realized,
        solver: Solver::Cholesky,
    };
    let ones = vec![1.0; nd - 1];
    let mut fits = Vec::with_capacity(k);
    for j in 0..k {
        let set = PathSet::new(n, nd, FEATURES, &data.feats, &data.gain[j])
            .map_err(|e| ModelError::Internal(format!("optimal: {e}")))?;
        let f = fit(&set, &ones, &lsm_cfg)
            .map_err(|e| ModelError::Internal(format!("optimal: {e}")))?;
        done.fetch_add((n as f64 * 0.1 / k as f64) as usize, Ordering::Relaxed);
        report();
        fits.push(f);
    }
    Ok(fits)
}

/// Step 3: the in-sample per-path NPV with its mining/AI split, the static shares and perfect
/// foresight.
fn in_sample_values(
    data: &InSample,
    fits: &[Fit],
    n: usize,
    nd: usize,
    antithetic: bool,
) -> InSampleValues {
    let k = fits.len();
    let mine_npv: Vec<f64> = (0..n)
        .map(|i| data.mining_total[i * k..(i + 1) * k].iter().sum())
        .collect();
    let mut npv = mine_npv.clone();
    let mut ai_sum = 0.0;
    let mut mining_sum = 0.0;
    for i in 0..n {
        let mut mining = mine_npv[i];
        let mut ai = 0.0;
        for (j, f) in fits.iter().enumerate() {
            let s = f.in_sample.stops[i];
            if s != NEVER {
                let o = at(n, nd, i, s as usize);
                let g = data.gain[j][o];
                let mf = data.mining_from[j][o] as f64;
                npv[i] += g;
                // convert_at = gain + mining_from: the AI value plus the salvage of the slice's
                // machines (the hook does not separate the salvage; it is counted with AI here).
                mining -= mf;
                ai += g + mf;
            }
        }
        mining_sum += mining;
        ai_sum += ai;
    }
    let result = summarize(
        "optimal",
        None,
        &npv,
        mining_sum / n as f64,
        ai_sum / n as f64,
        Some(&mine_npv),
        antithetic,
    );
    // Static shares j/k: slices 1..=j converted on day 0.
    let mut static_paths: Vec<Vec<f64>> = Vec::with_capacity(k + 1);
    let mut acc = mine_npv.clone();
    static_paths.push(acc.clone());
    for j in 0..k {
        for i in 0..n {
            acc[i] += data.gain[j][at(n, nd, i, 0)];
        }
        static_paths.push(acc.clone());
    }
    let static_npv: Vec<f64> = static_paths
        .iter()
        .map(|v| v.iter().sum::<f64>() / n as f64)
        .collect();
    let best = (0..=k)
        .max_by(|&a, &b| static_npv[a].total_cmp(&static_npv[b]))
        .unwrap_or(0);
    let flex: Vec<f64> = (0..n).map(|i| npv[i] - static_paths[best][i]).collect();
    // Perfect foresight: each slice on its best day of the path (or never).
    let mut foresight = mine_npv.clone();
    let mut foresight_slice: Vec<Vec<f64>> = vec![vec![0.0; n]; k];
    for j in 0..k {
        for i in 0..n {
            let best_gain = (0..nd)
                .map(|d| data.gain[j][at(n, nd, i, d)])
                .fold(0.0f64, f64::max);
            foresight_slice[j][i] = best_gain;
            foresight[i] += best_gain;
        }
    }
    InSampleValues {
        result,
        npv,
        mine_npv,
        static_npv,
        best,
        flex,
        foresight,
        foresight_slice,
    }
}

/// Step 4: the frozen policies on fresh paths, streamed block by block; `best` is the best
/// static share's slice count (the flexibility's baseline).
fn out_of_sample(
    slices: &Slices,
    policies: &[Policy],
    best: usize,
    cfg: &OptimalConfig,
    done: &AtomicUsize,
    report: &(dyn Fn() + Sync),
) -> OutOfSample {
    let k = slices.tranches();
    let nd = slices.decision_days().len();
    let m_fresh = cfg.fresh_paths as usize;
    let n_eb = Slices::blocks(cfg.fresh_paths);
    let fresh: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = (0..n_eb)
        .into_par_iter()
        .map(|eb| {
            report(); // a cancel point before the block (crate::cancel)
            let lanes = Slices::paths_in_block(cfg.fresh_paths, eb);
            let blk = slices.block(cfg.seed, OUT_OF_SAMPLE_BLOCK + eb, lanes, cfg.antithetic);
            let mut total = vec![0.0; lanes];
            let mut static_v = vec![0.0; lanes];
            let mut per_slice = vec![0.0; lanes * k];
            let mut x = [0.0; FEATURES];
            for p in 0..lanes {
                let mine: f64 = blk.mining_total[p * k..(p + 1) * k].iter().sum();
                let mut v = mine;
                let mut st = mine;
                for (j, pol) in policies.iter().enumerate() {
                    for d in 0..nd {
                        features(&blk, p, d, &mut x);
                        let q = (p * nd + d) * k + j;
                        let g = blk.convert_at[q] - blk.mining_from[q];
                        if pol.exercise(d, &x, g) {
                            v += g;
                            per_slice[p * k + j] = g;
                            break;
                        }
                    }
                    if j < best {
                        let q = p * nd * k + j;
                        st += blk.convert_at[q] - blk.mining_from[q];
                    }
                }
                total[p] = v;
                static_v[p] = st;
            }
            done.fetch_add(lanes, Ordering::Relaxed);
            report();
            (total, static_v, per_slice)
        })
        .collect();
    let mut out = OutOfSample {
        npv: Vec::with_capacity(m_fresh),
        flex: Vec::with_capacity(m_fresh),
        per_slice: vec![Vec::with_capacity(m_fresh); k],
    };
    for (t, s, ps) in &fresh {
        for p in 0..t.len() {
            out.npv.push(t[p]);
            out.flex.push(t[p] - s[p]);
            for j in 0..k {
                out.per_slice[j].push(ps[p * k + j]);
            }
        }
    }
    out
}

/// Step 5a: per slice, when it converts in sample and what its option is worth; and the
/// cumulative share converted by month (the policy table).
fn slice_summaries(
    sc: &Scenario,
    cfg: &OptimalConfig,
    fits: &[Fit],
    ins: &InSampleValues,
    oos: &OutOfSample,
    days: &[usize],
) -> (Vec<SliceSummary>, PolicyTable) {
    let (k, nd) = (fits.len(), days.len());
    let n = ins.npv.len();
    let mut policy_slices = BTreeMap::new();
    let mut expected_share = vec![0.0; nd];
    let mut summaries = Vec::with_capacity(k);
    for (j, f) in fits.iter().enumerate() {
        let mut by_month = vec![0.0; nd];
        let mut sum_month = 0.0;
        let mut converted = 0usize;
        for &s in &f.in_sample.stops {
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
            mw: sc.site.power_mw / k as f64,
            prob_converted: converted as f64 / n as f64,
            prob_by_month: by_month,
            mean_conversion_month: (converted > 0).then(|| sum_month / converted as f64),
            option_value_in_sample: est(&f.in_sample.values, cfg.antithetic),
            option_value_out_of_sample: est(&oos.per_slice[j], cfg.antithetic),
            option_value_perfect_foresight: est(&ins.foresight_slice[j], cfg.antithetic),
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
/// other state variables held at their median over the in-sample paths of each month.
fn boundaries(data: &InSample, policies: &[Policy], n: usize, nd: usize) -> (Boundary, Boundary) {
    // Medians and ranges of the state on each month (all in-sample paths).
    let mut med = vec![[0.0; FEATURES]; nd];
    let mut range = vec![[(0.0, 0.0); FEATURES]; nd];
    let mut col = vec![0.0; n];
    for d in 0..nd {
        for c in 0..FEATURES {
            for (i, v) in col.iter_mut().enumerate() {
                *v = data.feats[at(n, nd, i, d) * FEATURES + c];
            }
            med[d][c] = quantile(&mut col, 0.5);
            range[d][c] = (quantile_sorted(&col, 0.005), quantile_sorted(&col, 0.995));
        }
    }
    let boundary_of = |var: usize, variable: &'static str| {
        let mut b = Boundary {
            variable: variable.into(),
            held_at: "the other two state variables at their median over paths on that month"
                .into(),
            slices: BTreeMap::new(),
            months: (0..nd as u32).collect(),
            regime: BTreeMap::new(),
        };
        for (j, pol) in policies.iter().enumerate() {
            let mut th = Vec::with_capacity(nd);
            let mut rg = Vec::with_capacity(nd);
            for d in 0..nd {
                let g = |v: f64| {
                    let mut x = med[d];
                    x[var] = v;
                    pol.fitted(d, &x)
                };
                let (lo, hi) = range[d][var];
                let (t, r) = threshold(g, lo, hi);
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

/// Runs the `optimal` strategy: simulates the in-sample paths (the run's paths), fits one policy
/// per slice, evaluates the frozen policies on fresh paths, and reports the values, the policy and
/// its boundary. `progress` receives the fraction done (0..=1) from worker threads.
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
    check(sc, cfg)?;
    let slices = Slices::new(sc)?;
    let days = slices.decision_days().to_vec();
    let nd = days.len();
    if nd == 0 {
        return Err(ModelError::BadOption {
            option: "run.horizon_years".into(),
            value: sc.run.horizon_years.to_string(),
            allowed: "a horizon of at least one day (no decision day falls inside it)".into(),
        });
    }
    let k = slices.tranches();
    let n = cfg.paths as usize;
    check_memory(n, nd, k)?;
    let total_work = (n + cfg.fresh_paths as usize) as f64 * 1.1;
    let done = AtomicUsize::new(0);
    let report = || progress((done.load(Ordering::Relaxed) as f64 / total_work).min(1.0));

    // 1. In-sample paths.
    let data = simulate_in_sample(&slices, cfg, &done, &report);
    // 2. One policy per slice.
    let fits = fit_policies(&data, n, nd, cfg, &done, &report)?;
    // 3. In-sample values.
    let ins = in_sample_values(&data, &fits, n, nd, cfg.antithetic);
    // 4. Out-of-sample values.
    let policies: Vec<Policy> = fits.iter().map(|f| f.policy.clone()).collect();
    let oos = out_of_sample(&slices, &policies, ins.best, cfg, &done, &report);
    let oos_est = est(&oos.npv, cfg.antithetic);
    let ins_est = est(&ins.npv, cfg.antithetic);
    // 5. Policy tables and boundaries.
    let (summaries, policy) = slice_summaries(sc, cfg, &fits, &ins, &oos, &days);
    let (boundary, boundary_lease) = boundaries(&data, &policies, n, nd);
    let basis_terms = policies.first().map(|p| p.basis().len()).unwrap_or(0);
    let best = ins.best;
    let detail = OptimalDetail {
        npv_out_of_sample: oos_est,
        in_sample_gap: Est {
            mean: ins_est.mean - oos_est.mean,
            stderr: (ins_est.stderr * ins_est.stderr + oos_est.stderr * oos_est.stderr).sqrt(),
            paths: ins_est.paths + oos_est.paths,
        },
        npv_perfect_foresight: est(&ins.foresight, cfg.antithetic),
        policy,
        boundary,
        boundary_lease,
        slices: summaries,
        flexibility: Flexibility {
            static_shares: (0..=k).map(|j| j as f64 / k as f64).collect(),
            static_npv: ins.static_npv.clone(),
            best_static_share: best as f64 / k as f64,
            best_static_npv: ins.static_npv[best],
            value_in_sample: est(&ins.flex, cfg.antithetic),
            value_out_of_sample: est(&oos.flex, cfg.antithetic),
        },
        regression: RegressionInfo {
            features: ["ln hashprice", "ln lease rate", "ln BTC price"].map(String::from),
            degree: cfg.degree,
            terms: basis_terms,
            solver: "normal equations, Cholesky with diagonal pivoting stopped at numerical rank".into(),
            sample: "all paths (the exercise value is a realized future quantity; see hashpivot_lsm::stopping)".into(),
        },
    };
    progress(1.0);
    Ok(OptimalOutput {
        result: ins.result,
        detail,
        npv: ins.npv,
        mine_npv: ins.mine_npv,
        policies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(paths: u64) -> (Scenario, OptimalConfig) {
        let mut sc = Scenario::default();
        sc.run.horizon_years = 6.0;
        sc.strategy.tranches = 4;
        sc.strategy.decide_months = 24;
        (sc, OptimalConfig::new(paths, 11, false))
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
}
