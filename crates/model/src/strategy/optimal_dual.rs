//! A dual (martingale) upper bound on the value of the `optimal` conversion, without nested
//! simulation (`simulate --strategy optimal --upper-bound`; the method in `docs/UPPER_BOUND.md`,
//! section 4).
//!
//! # Why it is an upper bound
//!
//! Slice `j` may convert on decision date `m = 0 ..= L` (exercise value `h_m`, a realized sum of
//! *future* cash flows: see [`crate::strategy::optimal`]) or never (value 0, decided on the last
//! date at the latest: waiting costs nothing, so that loses no value). For any family `K^(m)` with
//! `E[K^(τ)] = 0` for every stopping time `τ`, `E[h_τ] = E[h_τ − K^(τ)] ≤ E[max_m (h_m − K^(m))]`,
//! so the right-hand side bounds the optimal value from above (Rogers 2002; Haugh–Kogan 2004). We
//! use `K^(m) = M_m + N^(m)`:
//!
//! - `M` is a martingale on the decision dates (`M_0 = 0`): it removes the value of seeing, on
//!   date `m`, how the market moves until later decision dates;
//! - `N^(m)` has `E[N^(m) | F_m] = 0`: it removes the part of `h_m` that depends on the market
//!   after date `m` (perfect foresight of the cash flows themselves).
//!
//! Both are sums of *coefficient × shock* where the coefficient is known at the start of the
//! shock's window and the shock has mean zero whatever happened before: the log price's and the
//! lease market's innovations over the window, `u = ln X_b − ln X_a − (μ − σ²/2)(b − a)/365`
//! (MODEL.md section 3, steps 3 and 5: sums of the engine's independent zero-mean normals). Any
//! such sum is a valid `K`, whatever its coefficients; the coefficients only decide how tight the
//! bound is. They are fitted by least squares on in-sample paths (the run's first paths), then held
//! fixed on fresh paths, where both bounds are averaged — so the estimate is unbiased for a true
//! upper bound (the fit cannot leak foresight into it).
//!
//! - `N^(m)`: the window from date `m` to the first whole year, then whole years to the last day.
//!   Regressors per window: `u_S`, `u_L` and, from the second window on, each times the level
//!   ratio `X_a / X_m` (the cash at stake grows with the price). Target: `h_m`, with the
//!   degree-2 basis of the policy's state on date `m` as further regressors (they absorb the
//!   conditional mean and are not part of `N`).
//! - `M_{m+1} − M_m`: the window between dates `m` and `m + 1`, regressors `u_S`, `u_L`, each
//!   times `(1, z_m)` (the degree-1 basis of the standardized state). Target: the fitted policy's
//!   value from date `m + 1` on, `h_τ − N^(τ)` at its next conversion `τ ≥ m + 1` (0 if none):
//!   the Andersen–Broadie martingale of the policy, projected on the window's shocks
//!   (Belomestny, Bender and Schoenmakers 2009 build a martingale from regressions on the driving
//!   shocks in the same way).
//!
//! Shocks the bound does not use (the hashrate's own noise, fees, the conversion risks of MODEL.md
//! section 8) stay in `h` and only loosen it. With every volatility 0 nothing is random, `K = 0`,
//! and the upper bound equals perfect foresight and the exact value.
//!
//! Determinism: fit blocks are the run's in-sample blocks, outer blocks its fresh blocks; the
//! sums are added in block order, so the bound has the same bits on any number of threads.

// Path loops index several per-path arrays in lockstep; explicit indices read clearest there.
#![allow(clippy::needless_range_loop)]

use std::sync::atomic::{AtomicUsize, Ordering};

use hashpivot_lsm::regress::{Basis, Gram, GRAM_TOL};
use rand::Rng;
use rand_distr::{Exp1, StandardNormal};
use rayon::prelude::*;

use crate::payoff::ai::{path_dependent, risk_rng};

use crate::payoff::slices::{SliceBlock, Slices, OUT_OF_SAMPLE_BLOCK};
use crate::result::OptimalBound;
use crate::scenario::Scenario;
use crate::strategy::optimal::{features, OptimalConfig, OptimalPolicy, FEATURES, NEVER};
use crate::strategy::optimal_report::est;
use crate::ModelError;

/// Default number of fit paths and of outer paths (each capped by the run's paths).
pub const DEFAULT_PATHS: u64 = 10_000;

/// Most fit paths (their blocks are kept between the two fits).
pub const MAX_FIT_PATHS: u64 = 100_000;

/// Blocks whose regression sums are computed side by side before they are added in order.
const CHUNK: usize = 16;

/// How many paths the bound uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DualConfig {
    /// In-sample paths the martingale's coefficients are fitted on (the run's first paths).
    pub fit_paths: u64,
    /// Fresh paths both bounds are averaged over (the out-of-sample estimate's first paths).
    pub outer_paths: u64,
}

impl DualConfig {
    /// The default for a run: up to [`DEFAULT_PATHS`] of each.
    pub fn for_run(cfg: &OptimalConfig) -> Self {
        DualConfig {
            fit_paths: cfg.paths.min(DEFAULT_PATHS),
            outer_paths: cfg.fresh_paths.min(DEFAULT_PATHS),
        }
    }
}

/// What a user asked for (`--fit-paths`, `--outer-paths`); `None` takes the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoundRequest {
    /// Fit paths (default: up to [`DEFAULT_PATHS`] of the run's paths).
    pub fit_paths: Option<u64>,
    /// Outer paths (default: up to [`DEFAULT_PATHS`] of the run's fresh paths).
    pub outer_paths: Option<u64>,
}

impl BoundRequest {
    /// The configuration for a run `cfg` (checked by [`upper_bound`]).
    pub fn resolve(&self, cfg: &OptimalConfig) -> DualConfig {
        let d = DualConfig::for_run(cfg);
        DualConfig {
            fit_paths: self.fit_paths.unwrap_or(d.fit_paths),
            outer_paths: self.outer_paths.unwrap_or(d.outer_paths),
        }
    }
}

fn bad(option: &str, value: u64, allowed: String) -> ModelError {
    ModelError::BadOption {
        option: option.into(),
        value: value.to_string(),
        allowed,
    }
}

/// The windows of the martingale on the recording grid.
#[derive(Debug)]
struct Layout {
    /// Recorded days: the decision days, every whole year, the last day.
    grid: Vec<usize>,
    /// Grid index of each decision date.
    dec: Vec<usize>,
    /// For each decision date, the windows of `N^(m)` (grid index pairs).
    tail: Vec<Vec<(usize, usize)>>,
    /// Mean log increment per day of the price and of the lease rate.
    mu: [f64; 2],
    /// Which of the two is random (a constant one has no shocks to use).
    random: [bool; 2],
    /// The conversion risks' draws (MODEL.md §8), when they are on.
    risk: Option<RiskDraws>,
    /// Slices.
    k: usize,
}

/// Which of a slice's risk draws (its own keyed stream, [`risk_rng`] with key = slice: the same
/// draws whatever the decision date) the bound uses, as zero-mean functions. The stream is
/// independent of the market, so these have mean zero given anything known on a decision date.
#[derive(Debug, Clone, Copy)]
struct RiskDraws {
    seed: u64,
    delay: bool,
    sigma: f64,
    events: bool,
}

impl RiskDraws {
    fn len(&self) -> usize {
        self.delay as usize + if self.sigma > 0.0 { 2 } else { 0 } + if self.events { 5 } else { 0 }
    }

    /// The zero-mean functions of path `path`'s draws for slice `j`, in the order `crate::payoff::ai`
    /// draws them: the build delay's `E ~ Exp(1)`, the overrun's `Z ~ N(0, 1)`, the first
    /// tenant's default `E' ~ Exp(1)` and the next word as a uniform (the first renewal's draw
    /// when no default comes first).
    fn push(&self, path: u64, j: usize, out: &mut Vec<f64>) {
        let mut r = risk_rng(self.seed, path, j as u64);
        let e: f64 = r.sample(Exp1);
        let z: f64 = r.sample(StandardNormal);
        if self.delay {
            out.push(e - 1.0);
        }
        if self.sigma > 0.0 {
            let s = self.sigma;
            out.push(z);
            out.push((s * z - 0.5 * s * s).exp() - 1.0);
        }
        if self.events {
            let e2: f64 = r.sample(Exp1);
            let u: f64 = r.random();
            // E[exp(−cE)] = 1/(1 + c) for E ~ Exp(1): early defaults cost most.
            out.push(e2 - 1.0);
            out.push((-e2).exp() - 0.5);
            out.push((-0.25 * e2).exp() - 0.8);
            out.push((-4.0 * e2).exp() - 0.2);
            out.push(u - 0.5);
        }
    }
}

impl Layout {
    fn new(sc: &Scenario, days: &[usize], n: usize) -> Layout {
        let years: Vec<usize> = (1..).map(|y| 365 * y).take_while(|&d| d < n - 1).collect();
        let mut grid: Vec<usize> = days.iter().chain(&years).copied().collect();
        grid.push(n - 1);
        grid.sort_unstable();
        grid.dedup();
        let at = |d: usize| grid.binary_search(&d).expect("grid day");
        let dec: Vec<usize> = days.iter().map(|&d| at(d)).collect();
        let tail = days
            .iter()
            .map(|&d| {
                let mut cuts = vec![at(d)];
                cuts.extend(years.iter().filter(|&&y| y > d).map(|&y| at(y)));
                cuts.push(grid.len() - 1);
                cuts.dedup();
                cuts.windows(2).map(|w| (w[0], w[1])).collect()
            })
            .collect();
        let (p, lv) = (&sc.price, sc.ai.lease_vol);
        Layout {
            grid,
            dec,
            tail,
            mu: [
                (p.drift - 0.5 * p.vol * p.vol) / 365.0,
                (sc.ai.lease_drift - 0.5 * lv * lv) / 365.0,
            ],
            random: [p.vol > 0.0, lv > 0.0],
            risk: path_dependent(sc).then_some(RiskDraws {
                seed: sc.run.seed,
                delay: sc.ai.build_delay_months > 0.0,
                sigma: sc.ai.capex_overrun_vol,
                events: sc.ai.default_events,
            }),
            k: sc.strategy.tranches.max(1) as usize,
        }
    }

    /// The risk functions of every slice of path `i` of block `b` (seed `seed`).
    fn risk_row(&self, b: &SliceBlock, i: usize, seed: u64) -> Vec<f64> {
        let mut out = Vec::new();
        if let Some(r) = self.risk {
            let path = b.block * crate::process::BLOCK as u64 + i as u64;
            let r = RiskDraws { seed, ..r };
            for j in 0..self.k {
                r.push(path, j, &mut out);
            }
        }
        out
    }

    /// The zero-mean innovations `(u_S, u_L)` of path `i` between grid points `a < b`.
    fn shocks(&self, b: &SliceBlock, i: usize, a: usize, z: usize) -> [f64; 2] {
        let g = self.grid.len();
        let n = (self.grid[z] - self.grid[a]) as f64;
        let (s, l) = (&b.grid_ln_s[i * g..], &b.grid_ln_l[i * g..]);
        [s[z] - s[a] - self.mu[0] * n, l[z] - l[a] - self.mu[1] * n]
    }

    /// `N^(m)`'s regressors of path `i` into `out` (cleared first): the market shocks after
    /// date `m`, then `risk` (every slice's risk functions, [`Layout::risk_row`]).
    fn tail_row(&self, b: &SliceBlock, i: usize, m: usize, risk: &[f64], out: &mut Vec<f64>) {
        out.clear();
        let g = self.grid.len();
        let (s, l) = (&b.grid_ln_s[i * g..], &b.grid_ln_l[i * g..]);
        let o = self.dec[m];
        for (w, &(a, z)) in self.tail[m].iter().enumerate() {
            let u = self.shocks(b, i, a, z);
            let level = [(s[a] - s[o]).exp(), (l[a] - l[o]).exp()];
            for x in 0..2 {
                if self.random[x] {
                    out.push(u[x]);
                    if w > 0 {
                        out.push(u[x] * level[x]);
                    }
                }
            }
        }
        out.extend_from_slice(risk);
    }

    /// Number of `N^(m)` regressors.
    fn tail_len(&self, m: usize) -> usize {
        let r = self.random.iter().filter(|&&x| x).count();
        let risk = self.risk.map_or(0, |r| r.len() * self.k);
        r * (2 * self.tail[m].len()).saturating_sub(1) + risk
    }

    /// `M`'s regressors on the window after date `m` (path `i`, standardized state `z`).
    fn step_row(
        &self,
        b: &SliceBlock,
        i: usize,
        m: usize,
        z: &[f64; FEATURES],
        out: &mut Vec<f64>,
    ) {
        out.clear();
        let u = self.shocks(b, i, self.dec[m], self.dec[m + 1]);
        for x in 0..2 {
            if self.random[x] {
                out.push(u[x]);
                for f in z {
                    out.push(u[x] * f);
                }
            }
        }
    }

    fn step_len(&self) -> usize {
        self.random.iter().filter(|&&x| x).count() * (1 + FEATURES)
    }
}

/// Normal equations with one right-hand side per slice (the regressors are shared).
#[derive(Debug, Clone)]
struct Sums {
    p: usize,
    g: Vec<f64>,
    b: Vec<f64>,
    rows: usize,
}

impl Sums {
    fn new(p: usize, k: usize) -> Sums {
        Sums {
            p,
            g: vec![0.0; p * (p + 1) / 2],
            b: vec![0.0; p * k],
            rows: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, a: &[f64], y: &[f64]) {
        let p = self.p;
        let a = &a[..p];
        // Row by row of the triangle, as slices zipped (no bounds check, and the compiler knows
        // the sums and the row do not overlap): the loops vectorize, each element's product and
        // sum the same operations as one at a time.
        let mut rest = &mut self.g[..];
        for (i, &ai) in a.iter().enumerate() {
            let (row, tail) = rest.split_at_mut(i + 1);
            for (g, &aj) in row.iter_mut().zip(&a[..=i]) {
                *g += ai * aj;
            }
            rest = tail;
        }
        for (bj, &yj) in self.b.chunks_exact_mut(p).zip(y) {
            for (b, &ai) in bj.iter_mut().zip(a) {
                *b += ai * yj;
            }
        }
        self.rows += 1;
    }

    fn add(&mut self, o: &Sums) {
        for (a, b) in self.g.iter_mut().zip(&o.g) {
            *a += b;
        }
        for (a, b) in self.b.iter_mut().zip(&o.b) {
            *a += b;
        }
        self.rows += o.rows;
    }

    /// Coefficients of each slice (pivoted Cholesky: constant or collinear columns get 0).
    fn solve(&self, k: usize) -> Vec<Vec<f64>> {
        (0..k)
            .map(|j| {
                let b = self.b[j * self.p..(j + 1) * self.p].to_vec();
                Gram::from_sums(self.p, self.g.clone(), b, 0.0, self.rows)
                    .solve(GRAM_TOL)
                    .0
            })
            .collect()
    }
}

/// The fitted martingale: per decision date and slice, `N^(m)`'s and `M`'s coefficients (the
/// shock part only; the conditional-mean columns come first in each regression and are dropped).
#[derive(Debug)]
struct Martingale {
    /// `[m][j]`: coefficients of [`Layout::tail_row`].
    tail: Vec<Vec<Vec<f64>>>,
    /// `[m][j]` for `m < L`: coefficients of [`Layout::step_row`].
    step: Vec<Vec<Vec<f64>>>,
}

/// What the policy and the bound need of one path: the standardized states, the exercise values
/// and the policy's conversion date of each slice.
struct PathView {
    z: Vec<[f64; FEATURES]>,
    h: Vec<f64>,
    /// Whether the rule says "convert" on each date, `[m·k + j]`.
    ex: Vec<bool>,
    stop: Vec<u32>,
    /// Every slice's risk functions ([`Layout::risk_row`]).
    risk: Vec<f64>,
}

fn view(lay: &Layout, b: &SliceBlock, i: usize, policy: &OptimalPolicy, basis: &Basis) -> PathView {
    let (nd, k) = (b.days.len(), b.tranches);
    let hd = &policy.header;
    let z: Vec<[f64; FEATURES]> = (0..nd)
        .map(|d| hd.standardize(d, &features(b, i, d)))
        .collect();
    let h: Vec<f64> = (0..nd * k).map(|q| b.exercise(i * nd * k + q)).collect();
    let mut ex = vec![false; nd * k];
    for d in 0..nd {
        for j in 0..k {
            ex[d * k + j] = policy.gain(basis, j, d, &z[d]) > 0.0;
        }
    }
    let stop = (0..k)
        .map(|j| (0..nd).find(|&d| ex[d * k + j]).map_or(NEVER, |d| d as u32))
        .collect();
    let risk = lay.risk_row(b, i, policy.header.seed);
    PathView {
        z,
        h,
        ex,
        stop,
        risk,
    }
}

/// Runs `f` on `blocks` (in parallel, [`CHUNK`] at a time) and hands the results to `merge` in
/// block order.
fn chunked<T: Send>(blocks: &[u64], f: &(dyn Fn(u64) -> T + Sync), merge: &mut dyn FnMut(T)) {
    for c in blocks.chunks(CHUNK) {
        let parts: Vec<T> = c.par_iter().map(|&eb| f(eb)).collect();
        for p in parts {
            merge(p);
        }
    }
}

/// Checks the path counts of `dual` against the run `cfg`.
fn check(cfg: &OptimalConfig, dual: &DualConfig) -> Result<(), ModelError> {
    let fit_max = cfg.paths.min(MAX_FIT_PATHS);
    if dual.fit_paths < 2 || dual.fit_paths > fit_max {
        return Err(bad(
            "fit paths",
            dual.fit_paths,
            format!(
                "2 <= fit paths <= {fit_max} (the run's in-sample paths, at most {MAX_FIT_PATHS})"
            ),
        ));
    }
    if dual.outer_paths < 2 || dual.outer_paths > cfg.fresh_paths {
        return Err(bad(
            "outer paths",
            dual.outer_paths,
            format!(
                "2 <= outer paths <= {} (the run's fresh paths)",
                cfg.fresh_paths
            ),
        ));
    }
    Ok(())
}

/// What the passes share.
struct Ctx<'a> {
    lay: Layout,
    slices: Slices,
    policy: &'a OptimalPolicy,
    basis: Basis,
    cfg: &'a OptimalConfig,
    dual: &'a DualConfig,
    tick: &'a (dyn Fn() + Sync),
}

impl Ctx<'_> {
    fn dims(&self) -> (usize, usize) {
        (self.policy.header.days.len(), self.policy.header.tranches)
    }

    /// Regression sums of one kept fit block: `N^(m)`'s (`clean = None`: target `h_m`) or `M`'s
    /// (target: the policy's cleaned value from date `m + 1`).
    fn block_sums(&self, b: &SliceBlock, mart: Option<&Martingale>) -> Vec<Sums> {
        #[cfg(target_arch = "x86_64")]
        match crate::process::isa() {
            // SAFETY: `isa()` reports a level only when the CPU has its features.
            crate::process::Isa::Avx512 => return unsafe { self.block_sums_avx512(b, mart) },
            crate::process::Isa::Avx2 => return unsafe { self.block_sums_avx2(b, mart) },
            crate::process::Isa::Baseline => {}
        }
        self.block_sums_inline(b, mart)
    }

    /// [`Ctx::block_sums`] with AVX-512: the Gram updates of `Sums::push` run 8 products a
    /// step. Each product and sum is the same IEEE operation (no contraction into fused
    /// multiply-adds), so the same bits as the baseline build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
    unsafe fn block_sums_avx512(&self, b: &SliceBlock, mart: Option<&Martingale>) -> Vec<Sums> {
        self.block_sums_inline(b, mart)
    }

    /// [`Ctx::block_sums`] with AVX2 (as `block_sums_avx512`, 4 products a step).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block_sums_avx2(&self, b: &SliceBlock, mart: Option<&Martingale>) -> Vec<Sums> {
        self.block_sums_inline(b, mart)
    }

    #[inline(always)]
    fn block_sums_inline(&self, b: &SliceBlock, mart: Option<&Martingale>) -> Vec<Sums> {
        (self.tick)();
        let (nd, k) = self.dims();
        let (lay, basis) = (&self.lay, &self.basis);
        let cond = basis.len();
        let dates = if mart.is_some() {
            nd.saturating_sub(1)
        } else {
            nd
        };
        let width = |m: usize| {
            cond + if mart.is_some() {
                lay.step_len()
            } else {
                lay.tail_len(m)
            }
        };
        let mut sums: Vec<Sums> = (0..dates).map(|m| Sums::new(width(m), k)).collect();
        let (mut row, mut t) = (vec![0.0; cond], Vec::new());
        let mut y = vec![0.0; nd * k];
        for i in 0..b.paths {
            let v = view(lay, b, i, self.policy, basis);
            if let Some(mart) = mart {
                let clean = cleaned(lay, mart, b, i, &v);
                policy_values(&v, &clean, nd, k, &mut y);
            }
            for m in 0..dates {
                basis.eval(&v.z[m], &mut row[..cond]);
                row.truncate(cond);
                match mart {
                    None => lay.tail_row(b, i, m, &v.risk, &mut t),
                    Some(_) => lay.step_row(b, i, m, &v.z[m], &mut t),
                }
                row.extend_from_slice(&t);
                let target = match mart {
                    None => &v.h[m * k..(m + 1) * k],
                    Some(_) => &y[(m + 1) * k..(m + 2) * k],
                };
                sums[m].push(&row, target);
            }
        }
        sums
    }

    /// Sums over the kept blocks in block order, solved; the shock part of each fit.
    fn fit_part(&self, kept: &[SliceBlock], mart: Option<&Martingale>) -> Vec<Vec<Vec<f64>>> {
        let blocks: Vec<u64> = (0..kept.len() as u64).collect();
        let mut total: Option<Vec<Sums>> = None;
        chunked(
            &blocks,
            &|eb| self.block_sums(&kept[eb as usize], mart),
            &mut |s| match total.as_mut() {
                None => total = Some(s),
                Some(t) => {
                    for (a, b) in t.iter_mut().zip(&s) {
                        a.add(b);
                    }
                }
            },
        );
        let (cond, k) = (self.basis.len(), self.dims().1);
        total
            .unwrap_or_default()
            .iter()
            .map(|s| s.solve(k).into_iter().map(|c| c[cond..].to_vec()).collect())
            .collect()
    }

    /// The martingale, fitted on the first fit paths: `N` first, then `M` on the cleaned values.
    fn fit(&self) -> Martingale {
        let (cfg, dual) = (self.cfg, self.dual);
        let blocks: Vec<u64> = (0..Slices::blocks(dual.fit_paths)).collect();
        let mut kept: Vec<SliceBlock> = Vec::with_capacity(blocks.len());
        chunked(
            &blocks,
            &|eb| {
                (self.tick)();
                let lanes = Slices::paths_in_block(dual.fit_paths, eb);
                self.slices.block(cfg.seed, eb, lanes, cfg.antithetic)
            },
            &mut |b| kept.push(b),
        );
        let mut mart = Martingale {
            tail: self.fit_part(&kept, None),
            step: Vec::new(),
        };
        mart.step = self.fit_part(&kept, Some(&mart));
        mart
    }

    /// Per outer path: the policy's value, the dual bound and perfect foresight.
    fn outer(&self, mart: &Martingale) -> [Vec<f64>; 3] {
        let (cfg, dual) = (self.cfg, self.dual);
        let blocks: Vec<u64> = (0..Slices::blocks(dual.outer_paths)).collect();
        let mut out: [Vec<f64>; 3] = Default::default();
        chunked(
            &blocks,
            &|eb| {
                (self.tick)();
                let lanes = Slices::paths_in_block(dual.outer_paths, eb);
                let b =
                    self.slices
                        .block(cfg.seed, OUT_OF_SAMPLE_BLOCK + eb, lanes, cfg.antithetic);
                (0..lanes)
                    .map(|i| {
                        let v = view(&self.lay, &b, i, self.policy, &self.basis);
                        path_bounds(&self.lay, mart, &b, i, &v)
                    })
                    .collect::<Vec<_>>()
            },
            &mut |part| {
                for (lo, up, fo) in part {
                    out[0].push(lo);
                    out[1].push(up);
                    out[2].push(fo);
                }
            },
        );
        out
    }
}

/// The dual upper bound of a run's fitted `policy` (see the module docs). `sc` and `cfg` must be
/// the run's (the policy's header is checked against them); `progress` receives the fraction
/// done.
pub fn upper_bound(
    sc: &Scenario,
    cfg: &OptimalConfig,
    policy: &OptimalPolicy,
    dual: &DualConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<OptimalBound, ModelError> {
    check(cfg, dual)?;
    let base = Slices::new(sc)?;
    let hd = &policy.header;
    if hd.days != base.decision_days() || hd.tranches != base.tranches() || hd.seed != cfg.seed {
        return Err(ModelError::BadOption {
            option: "policy".into(),
            value: format!("{} decision days, {} tranches", hd.days.len(), hd.tranches),
            allowed: "the policy of this scenario and run".into(),
        });
    }
    let n = (sc.run.horizon_years * 365.0).round() as usize;
    let lay = Layout::new(sc, base.decision_days(), n);
    let slices = base.with_grid(lay.grid.clone());
    let (k, nd) = (hd.tranches, hd.days.len());
    let total = (3 * Slices::blocks(dual.fit_paths) + Slices::blocks(dual.outer_paths)) as f64;
    let done = AtomicUsize::new(0);
    let tick = || progress(done.fetch_add(1, Ordering::Relaxed) as f64 / total);
    let ctx = Ctx {
        lay,
        slices,
        policy,
        basis: policy.basis(),
        cfg,
        dual,
        tick: &tick,
    };
    let mart = ctx.fit();
    let [lower, upper, pf] = ctx.outer(&mart);
    let anti = cfg.antithetic;
    let diff = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
    Ok(OptimalBound {
        objective: if sc.finance.is_some() {
            "equity_npv"
        } else {
            "npv"
        }
        .into(),
        lower: est(&lower, anti),
        upper: est(&upper, anti),
        gap: est(&diff(&upper, &lower), anti),
        perfect_foresight: est(&pf, anti),
        perfect_foresight_gap: est(&diff(&pf, &lower), anti),
        method: "dual martingale from least-squares projections on the price and lease shocks \
                 and the slices' risk draws (no nested simulation)"
            .into(),
        fit_paths: dual.fit_paths,
        outer_paths: dual.outer_paths,
        regressions: (k * (2 * nd).saturating_sub(1)) as u64,
        path_days: (dual.fit_paths + dual.outer_paths) * n as u64,
    })
}

/// `N^(m)` of path `i` for every date and slice, `[m·k + j]`.
fn tail_values(
    lay: &Layout,
    mart: &Martingale,
    b: &SliceBlock,
    i: usize,
    v: &PathView,
) -> Vec<f64> {
    let (nd, k) = (b.days.len(), b.tranches);
    let mut t = Vec::new();
    let mut out = vec![0.0; nd * k];
    for m in 0..nd {
        lay.tail_row(b, i, m, &v.risk, &mut t);
        for j in 0..k {
            out[m * k + j] = dot(&t, &mart.tail[m][j]);
        }
    }
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `h_m − N^(m)`: the exercise values with the tail martingale taken out, `[m·k + j]`.
fn cleaned(lay: &Layout, mart: &Martingale, b: &SliceBlock, i: usize, v: &PathView) -> Vec<f64> {
    let t = tail_values(lay, mart, b, i, v);
    v.h.iter().zip(&t).map(|(h, n)| h - n).collect()
}

/// The policy's value from each date on, `[m·k + j]`: the cleaned value on the first date at or
/// after `m` on which the frozen rule converts, 0 if none (the value of following the policy from
/// `m`, whatever it did before).
fn policy_values(v: &PathView, clean: &[f64], nd: usize, k: usize, y: &mut [f64]) {
    for j in 0..k {
        let mut next = 0.0;
        for m in (0..nd).rev() {
            if v.ex[m * k + j] {
                next = clean[m * k + j];
            }
            y[m * k + j] = next;
        }
    }
}

/// Per path: the policy's value (lower), the dual bound (upper) and perfect foresight, each the
/// `mine` value plus every slice's part.
fn path_bounds(
    lay: &Layout,
    mart: &Martingale,
    b: &SliceBlock,
    i: usize,
    v: &PathView,
) -> (f64, f64, f64) {
    let (nd, k) = (b.days.len(), b.tranches);
    let mine: f64 = b.mining_total[i * k..(i + 1) * k].iter().sum();
    let clean = cleaned(lay, mart, b, i, v);
    let mut t = Vec::new();
    let mut steps = vec![0.0; nd.saturating_sub(1) * k];
    for m in 0..nd.saturating_sub(1) {
        lay.step_row(b, i, m, &v.z[m], &mut t);
        for j in 0..k {
            steps[m * k + j] = dot(&t, &mart.step[m][j]);
        }
    }
    let (mut lo, mut up, mut fo) = (mine, mine, mine);
    for j in 0..k {
        if v.stop[j] != NEVER {
            lo += v.h[v.stop[j] as usize * k + j];
        }
        let (mut best, mut mm, mut f) = (f64::NEG_INFINITY, 0.0, 0.0f64);
        for m in 0..nd {
            if m > 0 {
                mm += steps[(m - 1) * k + j];
            }
            best = best.max(clean[m * k + j] - mm);
            f = f.max(v.h[m * k + j]);
        }
        // Never: decided on the last date.
        best = best.max(-mm);
        up += best;
        fo += f;
    }
    (lo, up, fo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::optimal::{fit, fit_sums, OptimalSetup};

    fn policy_of(sc: &Scenario, cfg: &OptimalConfig) -> OptimalPolicy {
        let setup = OptimalSetup::new(sc, cfg).unwrap();
        let pilot = setup.pilot(&|_| {}).unwrap();
        let sums = fit_sums(&setup, &pilot, 0..setup.in_sample_blocks(), &|_| {}).unwrap();
        fit(&sums).unwrap()
    }

    fn bound(sc: &Scenario, paths: u64, threads: usize) -> OptimalBound {
        let cfg = OptimalConfig::new(paths, 11, false);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let pol = policy_of(sc, &cfg);
            upper_bound(sc, &cfg, &pol, &DualConfig::for_run(&cfg), &|_| {}).unwrap()
        })
    }

    /// The embedded default (risks, financing): lower ≤ upper within 3 standard errors, and the
    /// martingale closes most of perfect foresight's gap. Same bits on 1 and 2 threads.
    #[test]
    fn the_default_is_bracketed_and_tighter_than_perfect_foresight() {
        let mut sc = Scenario::default();
        sc.run.horizon_years = 8.0;
        sc.strategy.decide_months = 24;
        let b = bound(&sc, 1024, 2);
        assert_eq!(b.objective, "equity_npv");
        assert_eq!((b.fit_paths, b.outer_paths), (1024, 1024));
        assert!(
            b.gap.mean > -3.0 * b.gap.stderr,
            "upper {} below lower {} (gap {} ± {})",
            b.upper.mean,
            b.lower.mean,
            b.gap.mean,
            b.gap.stderr
        );
        assert!(
            b.gap.mean < 0.5 * b.perfect_foresight_gap.mean,
            "gap {} vs perfect foresight's {}",
            b.gap.mean,
            b.perfect_foresight_gap.mean
        );
        // Perfect foresight and the policy on the same paths as the bound.
        assert!(b.perfect_foresight.mean >= b.lower.mean);
        let one = bound(&sc, 1024, 1);
        assert_eq!(one.upper.mean.to_bits(), b.upper.mean.to_bits());
        assert_eq!(one.gap.stderr.to_bits(), b.gap.stderr.to_bits());
    }

    /// Nothing random: no shocks to build a martingale from, so the upper bound is perfect
    /// foresight, which is the exact value the policy reaches (it picks each slice's best day).
    #[test]
    fn zero_volatility_closes_the_gap() {
        // The levered zero-volatility scenario of the slices' by-hand tests (risks off, a
        // deterministic overrun, a loan): the bound is on the equity NPV.
        let sc = crate::payoff::slices::by_hand::zero_vol_levered();
        let b = bound(&sc, 512, 2);
        assert_eq!(b.objective, "equity_npv");
        let rel = |a: f64, c: f64| (a - c).abs() / c.abs().max(1.0);
        assert!(rel(b.upper.mean, b.perfect_foresight.mean) < 1e-12, "{b:?}");
        assert!(rel(b.lower.mean, b.upper.mean) < 1e-9, "{b:?}");
        assert!(b.gap.stderr < 1e-6 * b.lower.mean.abs());
    }

    /// `sc` on 5 years, 2 slices and 12 decision months: its run at 600 paths and the bound.
    fn small_run_and_bound(
        mut sc: Scenario,
    ) -> (
        Scenario,
        crate::strategy::optimal::OptimalOutput,
        OptimalBound,
    ) {
        sc.run.horizon_years = 5.0;
        sc.strategy.tranches = 2;
        sc.strategy.decide_months = 12;
        let cfg = OptimalConfig::new(600, 3, false);
        let out = crate::strategy::optimal::run(&sc, &cfg, &|_| {}).unwrap();
        let b = upper_bound(&sc, &cfg, &out.policy, &DualConfig::for_run(&cfg), &|_| {}).unwrap();
        (sc, out, b)
    }

    /// Levered: the bound's lower estimate on all fresh paths is the run's out-of-sample value
    /// in the same objective (`OptimalDetail::objective`), not its unlevered NPV.
    #[test]
    fn levered_lower_bound_is_the_objectives_out_of_sample_value() {
        let (_, out, b) = small_run_and_bound(Scenario::default());
        assert_eq!(b.objective, "equity_npv");
        let o = out.detail.objective.as_ref().expect("levered");
        let rel = (b.lower.mean - o.value_out_of_sample.mean).abs() / o.value_out_of_sample.mean;
        assert!(
            rel < 1e-12,
            "{} vs {}",
            b.lower.mean,
            o.value_out_of_sample.mean
        );
        assert!(b.upper.mean + 3.0 * b.upper.stderr >= o.value_out_of_sample.mean);
    }

    /// Unlevered (version 1 keys): the objective is the NPV, and the lower bound on all fresh
    /// paths is exactly the run's out-of-sample estimate.
    #[test]
    fn unlevered_lower_bound_is_the_out_of_sample_estimate() {
        let (sc, out, b) = small_run_and_bound(Scenario {
            finance: None,
            ..Scenario::default()
        });
        let cfg = OptimalConfig::new(600, 3, false);
        assert_eq!(b.objective, "npv");
        assert_eq!(b.lower.mean, out.detail.npv_out_of_sample.mean);
        assert!(b.upper.mean + 3.0 * b.upper.stderr >= b.lower.mean);
        let bad = |fit, outer| {
            let d = DualConfig {
                fit_paths: fit,
                outer_paths: outer,
            };
            match upper_bound(&sc, &cfg, &out.policy, &d, &|_| {}) {
                Err(ModelError::BadOption { option, value, .. }) => (option, value),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(bad(601, 600), ("fit paths".into(), "601".into()));
        assert_eq!(bad(600, 1), ("outer paths".into(), "1".into()));
    }
}
