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
use hashpivot_lsm::stopping::{block_len, fit, Config, Information, PathSet, Policy, Solver};
use rayon::prelude::*;
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

/// Pilot paths in the LSM core's block-major layout.
struct PilotPaths {
    /// `[block][date][path][feature]`.
    feats: Vec<f64>,
    /// Per slice, `[block][date][path]`: the exercise value ([`SliceBlock::exercise`]).
    gain: Vec<Vec<f64>>,
}

/// The in-sample block of an engine block index (simulated or kept).
pub type BlockSource<'a> = dyn Fn(u64) -> Arc<SliceBlock> + Sync + 'a;

fn simulate(
    block: &BlockSource<'_>,
    n: usize,
    (nd, k): (usize, usize),
    report: &(dyn Fn() + Sync),
) -> PilotPaths {
    let nb = n.div_ceil(LSM_BLOCK);
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
                report(); // a cancel point before the block (crate::cancel)
                let eb = (b * SUB + s) as u64;
                let lanes = Slices::paths_in_block(n as u64, eb);
                // The pilot's paths are whole in-sample blocks (PILOT_PATHS is a multiple of
                // the engine block), so the run's block is the pilot's.
                let blk = block(eb);
                debug_assert_eq!(blk.paths, lanes);
                for p in 0..lanes {
                    let i = off + p;
                    for d in 0..nd {
                        let o = d * len + i;
                        fb[o * FEATURES..(o + 1) * FEATURES].copy_from_slice(&features(&blk, p, d));
                        for j in 0..k {
                            let q = (p * nd + d) * k + j;
                            gb[j][o] = blk.exercise(q);
                        }
                    }
                }
            }
        });
    PilotPaths { feats, gain }
}

/// Index of path `i`, date `d` in the block-major layout.
#[inline]
fn at(n: usize, nd: usize, i: usize, d: usize) -> usize {
    let b = i / LSM_BLOCK;
    let len = block_len(n, b);
    b * LSM_BLOCK * nd + d * len + i % LSM_BLOCK
}

impl Pilot {
    /// Fits the pilot on the first `paths` in-sample paths (whole engine blocks, or every
    /// in-sample path of the run) with `dims = (decision dates, slices)`; `block` gives
    /// in-sample blocks.
    pub fn new(
        block: &BlockSource<'_>,
        paths: u64,
        dims: (usize, usize),
        degree: usize,
        report: &(dyn Fn() + Sync),
    ) -> Result<Pilot, ModelError> {
        let n = paths as usize;
        let nd = dims.0;
        let data = simulate(block, n, dims, report);
        let cfg = Config {
            degree,
            information: Information::Realized,
            solver: Solver::Cholesky,
        };
        let ones = vec![1.0; nd - 1];
        let internal = |e: hashpivot_lsm::LsmError| ModelError::Internal(format!("optimal: {e}"));
        let mut policies = Vec::with_capacity(data.gain.len());
        for g in &data.gain {
            let set = PathSet::new(n, nd, FEATURES, &data.feats, g).map_err(internal)?;
            policies.push(fit(&set, &ones, &cfg).map_err(internal)?.policy);
            report();
        }
        let mut pilot = Pilot {
            paths: n as u64,
            policies,
            mean: Vec::with_capacity(nd),
            inv_std: Vec::with_capacity(nd),
            median: Vec::with_capacity(nd),
            lo: Vec::with_capacity(nd),
            hi: Vec::with_capacity(nd),
        };
        let mut col = vec![0.0; n];
        for d in 0..nd {
            // The standardizer of the pilot's own regression on date d (the LSM core's: every
            // path is in the sample of a realized-value fit, so it is the same for every slice;
            // scale 0 for a feature without spread, e.g. every feature on day 0). Phase 1 and the
            // policy use it as it is, so with the pilot on every path they evaluate the pilot's
            // rules bit for bit (see `OptimalPolicy::fit`).
            let st = &pilot.policies[0].rules()[d].standardizer;
            let (mut med, mut lo, mut hi) = ([0.0; FEATURES], [0.0; FEATURES], [0.0; FEATURES]);
            for c in 0..FEATURES {
                for (i, v) in col.iter_mut().enumerate() {
                    *v = data.feats[at(n, nd, i, d) * FEATURES + c];
                }
                col.sort_by(f64::total_cmp);
                med[c] = quantile_sorted(&col, 0.5);
                lo[c] = quantile_sorted(&col, 0.005);
                hi[c] = quantile_sorted(&col, 0.995);
            }
            pilot.mean.push([st.mean[0], st.mean[1], st.mean[2]]);
            pilot
                .inv_std
                .push([st.inv_std[0], st.inv_std[1], st.inv_std[2]]);
            pilot.median.push(med);
            pilot.lo.push(lo);
            pilot.hi.push(hi);
        }
        Ok(pilot)
    }
}
