//! The pilot of the `optimal` strategy: a Longstaff–Schwartz fit on the first in-sample paths
//! (`strategy.pilot_paths` of them; absent, every in-sample path) that fixes what phase 1 of the
//! fit needs before it sees any path.
//!
//! How big: with the pilot on every in-sample path (the default), the policy *is* the pilot's,
//! i.e. version 1's Longstaff–Schwartz fit, bit for bit, and phase 1 on each machine of a sharded
//! run simulates every in-sample path once (phase 2 still splits). A pilot of a few thousand
//! paths ([`PILOT_PATHS`], what `shard plan` suggests for large runs) makes phase 1 scale with
//! the shards, at the price of a different estimator: one policy-improvement step on the pilot.
//!
//! Why a pilot: least-squares Monte Carlo regresses, at each decision date, the realized gain of
//! converting now over *following the policy of the later dates* — so the regression sums of a date
//! depend on the rules fitted for the later dates, and a one-pass, mergeable phase 1 (MODEL.md
//! section 12) cannot compute them for a policy it does not know yet. The pilot supplies that
//! policy: its later-date rules define each path's continuation, its feature moments standardize
//! the regression, and its feature quantiles place the reported boundaries. Every machine of a
//! sharded run computes the same pilot from the same paths (the first blocks of the run's seed), so
//! the pilot is part of the deterministic set-up, not of the data that is merged. The policy that
//! is reported is then fitted on *all* in-sample paths: at each date, convert iff the regression of
//! "convert now" over "continue under the pilot's later rules" is positive — one policy-improvement
//! step on the pilot (Howard), which on as many paths as the pilot reproduces the pilot's rule at
//! the last date and, in a zero-volatility scenario, picks each slice's best day exactly.

// Path loops index several per-path arrays in lockstep; explicit indices read clearest there.
#![allow(clippy::needless_range_loop)]

use hashpivot_lsm::rng::BLOCK as LSM_BLOCK;
use hashpivot_lsm::stopping::{block_len, Config, Information, PathSet, Policy, Solver, StagedFit};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::payoff::slices::{features_of, SliceBlock, Slices};
use crate::process::BLOCK as ENGINE_BLOCK;
use crate::stats::quantile_sorted;
use crate::ModelError;

/// State features of the regression: `ln hashprice`, `ln lease`, `ln price`.
pub const FEATURES: usize = 3;

/// A pilot size for runs split across machines (`strategy.pilot_paths = 4096`): enough paths for
/// a stable degree-2 fit in three features, few enough that each machine fits it in seconds.
pub const PILOT_PATHS: u64 = 4096;

/// Most bytes of pilot rows (features and gains of every pilot path on some dates) held at once.
/// A pilot that needs more is fitted a window of dates at a time, from the last dates down
/// ([`StagedFit`], the same bits as one fit on every date), simulating its paths once per
/// window: at 200k paths that bounds `optimal`'s peak memory at the price of simulating the
/// pilot paths again for each further window (blocks kept in the run's cache are not simulated
/// again).
pub const WINDOW_BYTES: u64 = 128 << 20;

/// The windows of decision dates the pilot of `n` paths over `nd` dates and `k` slices is fitted
/// on, from the last dates down: each decides its dates and also holds the date below (whose
/// regression the backward step accumulates). One window `0..nd` when every date fits in
/// `budget` bytes ([`WINDOW_BYTES`] in a run).
pub fn windows(n: u64, nd: usize, k: usize, budget: u64) -> Vec<Range<usize>> {
    let per_date = n * (FEATURES + k) as u64 * 8;
    // Dates decided per window: one more is held below them (every date if all fit).
    let own = if per_date * nd as u64 <= budget {
        nd
    } else {
        ((budget / per_date.max(1)) as usize)
            .saturating_sub(1)
            .max(1)
    };
    let mut out = Vec::new();
    let mut top = nd;
    while top > 0 {
        let lo = top.saturating_sub(own);
        out.push(lo..top);
        top = lo;
    }
    out
}

/// Bytes the pilot of `n` paths over `nd` dates and `k` slices holds at its peak (the rows of its
/// largest window; see [`windows`]).
pub fn held_bytes(n: u64, nd: usize, k: usize) -> u64 {
    let held = windows(n, nd, k, WINDOW_BYTES)
        .iter()
        .map(|w| w.end - w.start.saturating_sub(1))
        .max()
        .unwrap_or(0);
    n * held as u64 * (FEATURES + k) as u64 * 8
}

// An LSM block is a whole number of engine blocks, so both see the same paths in the same order.
const SUB: usize = LSM_BLOCK / ENGINE_BLOCK;
const _: () = assert!(LSM_BLOCK.is_multiple_of(ENGINE_BLOCK));
const _: () = assert!((PILOT_PATHS as usize).is_multiple_of(ENGINE_BLOCK));

/// The state features of path `p` on decision day index `d` of a block.
#[inline]
pub fn features(b: &SliceBlock, p: usize, d: usize) -> [f64; FEATURES] {
    let o = p * b.days.len() + d;
    features_of(b.hashprice[o], b.lease[o], b.price[o])
}

/// What the pilot fixes for the fit (see the module docs).
#[derive(Debug, Clone)]
pub struct Pilot {
    /// Paths the pilot was fitted on.
    pub paths: u64,
    /// The pilot policy of each slice (Longstaff–Schwartz on the pilot paths).
    pub policies: Vec<Policy>,
    /// Per decision date, the feature means over the pilot paths.
    pub mean: Vec<[f64; FEATURES]>,
    /// Per decision date, the reciprocal feature standard deviations (0: constant feature).
    pub inv_std: Vec<[f64; FEATURES]>,
    /// Per decision date, the feature medians over the pilot paths.
    pub median: Vec<[f64; FEATURES]>,
    /// Per decision date, the 0.5 % quantile of each feature.
    pub lo: Vec<[f64; FEATURES]>,
    /// Per decision date, the 99.5 % quantile of each feature.
    pub hi: Vec<[f64; FEATURES]>,
}

/// Pilot paths on a window of dates, in the LSM core's block-major layout.
struct PilotPaths {
    /// `[block][date][path][feature]`.
    feats: Vec<f64>,
    /// Per slice, `[block][date][path]`: the exercise value ([`SliceBlock::exercise`]).
    gain: Vec<Vec<f64>>,
}

/// The in-sample block of an engine block index (simulated or kept).
pub type BlockSource<'a> = dyn Fn(u64) -> Arc<SliceBlock> + Sync + 'a;

/// The pilot's `n` paths on the decision dates `held` (indices into the block's decision days),
/// with `k` slices; `report` is called before (`false`) and after (`true`) each engine block.
fn simulate(
    block: &BlockSource<'_>,
    n: usize,
    (held, k): (Range<usize>, usize),
    report: &(dyn Fn(bool) + Sync),
) -> PilotPaths {
    let nb = n.div_ceil(LSM_BLOCK);
    let nd = held.len();
    let mut feats = vec![0.0; n * nd * FEATURES];
    let mut gain: Vec<Vec<f64>> = (0..k).map(|_| vec![0.0; n * nd]).collect();
    // Split every slice's array into the LSM blocks' chunks, so each block writes its own.
    let mut gain_chunks: Vec<Vec<&mut [f64]>> = (0..nb).map(|_| Vec::with_capacity(k)).collect();
    for g in gain.iter_mut() {
        for (b, c) in g.chunks_mut(LSM_BLOCK * nd).enumerate() {
            gain_chunks[b].push(c);
        }
    }
    feats
        .par_chunks_mut(LSM_BLOCK * nd * FEATURES)
        .zip(gain_chunks.into_par_iter())
        .enumerate()
        .for_each(|(b, (fb, mut gb))| {
            let len = block_len(n, b);
            for s in 0..SUB {
                let off = s * ENGINE_BLOCK;
                if off >= len {
                    break;
                }
                report(false); // a cancel point before the block (crate::cancel)
                let eb = (b * SUB + s) as u64;
                let lanes = Slices::paths_in_block(n as u64, eb);
                // The pilot's paths are whole in-sample blocks (PILOT_PATHS is a multiple of
                // the engine block), so the run's block is the pilot's.
                let blk = block(eb);
                debug_assert_eq!(blk.paths, lanes);
                let all = blk.days.len();
                for p in 0..lanes {
                    let i = off + p;
                    for (w, d) in held.clone().enumerate() {
                        let o = w * len + i;
                        fb[o * FEATURES..(o + 1) * FEATURES].copy_from_slice(&features(&blk, p, d));
                        for j in 0..k {
                            let q = (p * all + d) * k + j;
                            gb[j][o] = blk.exercise(q);
                        }
                    }
                }
                report(true);
            }
        });
    PilotPaths { feats, gain }
}

/// Index of path `i`, date `d` in the block-major layout of `nd` dates.
#[inline]
fn at(n: usize, nd: usize, i: usize, d: usize) -> usize {
    let b = i / LSM_BLOCK;
    let len = block_len(n, b);
    b * LSM_BLOCK * nd + d * len + i % LSM_BLOCK
}

impl Pilot {
    /// Fits the pilot on the first `paths` in-sample paths (whole engine blocks, or every
    /// in-sample path of the run) with `dims = (decision dates, slices)`, holding at most
    /// `window_bytes` of rows at once ([`windows`]); `block` gives in-sample blocks. `report`
    /// receives the fraction of the pilot's work done (its blocks, once per window).
    pub fn new(
        block: &BlockSource<'_>,
        paths: u64,
        (dims, window_bytes): ((usize, usize), u64),
        degree: usize,
        report: &(dyn Fn(f64) + Sync),
    ) -> Result<Pilot, ModelError> {
        let n = paths as usize;
        let (nd, k) = dims;
        let cfg = Config {
            degree,
            information: Information::Realized,
            solver: Solver::Cholesky,
        };
        let ones = vec![1.0; nd - 1];
        let internal = |e: hashpivot_lsm::LsmError| ModelError::Internal(format!("optimal: {e}"));
        // One Longstaff–Schwartz fit per slice, all fed the same windows of dates (one window,
        // every date, unless the pilot's rows would not fit in WINDOW_BYTES).
        let mut fits = (0..k)
            .map(|_| StagedFit::new(n, nd, FEATURES, &ones, &cfg))
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        let (mut med, mut lo, mut hi) = (
            vec![[0.0; FEATURES]; nd],
            vec![[0.0; FEATURES]; nd],
            vec![[0.0; FEATURES]; nd],
        );
        let mut col = vec![0.0; n];
        let windows = windows(paths, nd, k, window_bytes);
        let done = AtomicUsize::new(0);
        let total = (windows.len() * n.div_ceil(ENGINE_BLOCK)).max(1) as f64;
        let tick = |end: bool| {
            let d = if end {
                done.fetch_add(1, Ordering::Relaxed) + 1
            } else {
                done.load(Ordering::Relaxed)
            };
            report(d as f64 / total);
        };
        for own in windows {
            let held = own.start.saturating_sub(1)..own.end;
            let data = simulate(block, n, (held.clone(), k), &tick);
            for (f, g) in fits.iter_mut().zip(&data.gain) {
                let set = PathSet::window(n, nd, held.clone(), FEATURES, &data.feats, g)
                    .map_err(internal)?;
                f.step(&set, own.start).map_err(internal)?;
                tick(false);
            }
            // The reported boundaries' feature quantiles of each date the window decides.
            for d in own {
                for c in 0..FEATURES {
                    for (i, v) in col.iter_mut().enumerate() {
                        *v = data.feats[at(n, held.len(), i, d - held.start) * FEATURES + c];
                    }
                    col.sort_by(f64::total_cmp);
                    med[d][c] = quantile_sorted(&col, 0.5);
                    lo[d][c] = quantile_sorted(&col, 0.005);
                    hi[d][c] = quantile_sorted(&col, 0.995);
                }
            }
        }
        let policies = fits
            .into_iter()
            .map(|f| f.finish().map(|f| f.policy))
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        let mut pilot = Pilot {
            paths: n as u64,
            policies,
            mean: Vec::with_capacity(nd),
            inv_std: Vec::with_capacity(nd),
            median: med,
            lo,
            hi,
        };
        for d in 0..nd {
            // The standardizer of the pilot's own regression on date d (the LSM core's: every
            // path is in the sample of a realized-value fit, so it is the same for every slice;
            // scale 0 for a feature without spread, e.g. every feature on day 0). Phase 1 and the
            // policy use it as it is, so with the pilot on every path they evaluate the pilot's
            // rules bit for bit (see `OptimalPolicy::fit`).
            let st = &pilot.policies[0].rules()[d].standardizer;
            pilot.mean.push([st.mean[0], st.mean[1], st.mean[2]]);
            pilot
                .inv_std
                .push([st.inv_std[0], st.inv_std[1], st.inv_std[2]]);
        }
        Ok(pilot)
    }
}
