//! The generic least-squares Monte Carlo core (Longstaff–Schwartz 2001).
//!
//! Inputs: per-path state features at each exercise date, the exercise value of each path at each
//! date, and the discount factors between consecutive dates ([`PathSet`] + `discount`). Output: a
//! fitted [`Policy`] (standardization and regression coefficients per date) with its in-sample
//! value, and [`Policy::evaluate`] to apply the frozen policy to fresh paths (out-of-sample, a
//! lower bound on the true value because the policy can only be suboptimal there).
//!
//! # Two kinds of exercise value ([`Information`])
//!
//! - [`Information::Known`] (an option's intrinsic value): the exercise value at a date is a function
//!   of the state at that date. Longstaff and Schwartz regress the realized continuation value on the
//!   basis over the *in-the-money* paths only (exercise value > 0): those are the only paths where
//!   the decision is in doubt, and fitting there puts the basis where the boundary is. Exercise iff
//!   the exercise value is positive and exceeds the fitted continuation.
//! - [`Information::Realized`] (the site conversion problem): the "exercise value" on day `d` is the
//!   discounted AI cash of converting on `d` minus the mining cash given up from `d` on — a sum of
//!   *future* cash flows along the path, not known on day `d`. Filtering paths by "exercise value
//!   above 0" would select paths by their future (foresight) and bias the fitted rule; comparing
//!   the pathwise value with a fitted continuation would too. Instead the core regresses the
//!   realized *gain of exercising now over continuing* (`exercise − realized continuation`) on the
//!   basis over *all* paths and exercises iff that conditional expectation is positive. The rule
//!   then uses only the state at the date, so the out-of-sample estimate stays a true lower bound.
//!
//! Exercise values and the running cash flows are in the money of their date; `discount[j]` takes
//! date `j + 1` money to date `j`. Values are reported in date-0 money (a caller who already
//! discounts everything to time 0 passes factors of 1).
//!
//! # Layout and determinism
//!
//! Paths live in fixed blocks of [`crate::rng::BLOCK`] paths (the last may be shorter), stored
//! *block-major*: `[block][date][path in block][feature]`. A simulator fills each block from its
//! own keyed random stream straight into its slice (no transposition), and the core walks one
//! block's date row contiguously. Every reduction (feature moments, normal equations, statistics)
//! is computed per block and merged in block order, so results are bit-identical for any thread
//! count.
//!
//! # Regression
//!
//! Features are standardized over the regression sample of each date (a constant feature gets
//! scale 0, see [`crate::regress`]); the basis is a polynomial of total degree `degree` with cross
//! terms. The least-squares solve is a Cholesky factorization of the normal equations with diagonal
//! pivoting that stops at numerical rank ([`Solver::Cholesky`], the default, 4× cheaper per row)
//! or a tall-skinny Householder QR with a column-pivoted rank-revealing solve ([`Solver::Qr`]);
//! both drop constant and collinear columns instead of dividing by zero.

use rayon::prelude::*;
use serde::Serialize;

use crate::regress::{
    Basis, Gram, GramN, Moments, PowerSums, Standardizer, Triangle, GRAM_TOL, LANES, RCOND,
};
use crate::rng::BLOCK;
use crate::{Estimate, LsmError, Stats};

/// Stop index of a path that is never exercised.
pub const NEVER: u32 = u32::MAX;

/// Largest basis the core accepts.
pub const MAX_TERMS: usize = 64;
/// Largest number of state features.
pub const MAX_DIMS: usize = 16;

/// Number of paths in block `b` of a set of `paths` paths.
#[inline]
pub fn block_len(paths: usize, b: usize) -> usize {
    BLOCK.min(paths - b * BLOCK)
}

/// A set of simulated paths as the core sees them (block-major, see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct PathSet<'a> {
    paths: usize,
    dates: usize,
    /// The first date held, and how many (a window of dates, [`PathSet::window`]; all by default).
    first: usize,
    held: usize,
    dims: usize,
    features: &'a [f64],
    exercise: &'a [f64],
}

impl<'a> PathSet<'a> {
    /// Wraps `features` (`[block][date][path in block][dim]`, length `dates × paths × dims`) and
    /// `exercise` (`[block][date][path in block]`, length `dates × paths`).
    pub fn new(
        paths: usize,
        dates: usize,
        dims: usize,
        features: &'a [f64],
        exercise: &'a [f64],
    ) -> Result<Self, LsmError> {
        PathSet::window(paths, dates, 0..dates, dims, features, exercise)
    }

    /// The dates `held` (of `dates` in all) of a set of paths, laid out as [`PathSet::new`]'s
    /// with `held.len()` dates: what [`StagedFit::step`] takes, so that a fit can hold a few dates
    /// of every path at a time instead of all of them.
    pub fn window(
        paths: usize,
        dates: usize,
        held: std::ops::Range<usize>,
        dims: usize,
        features: &'a [f64],
        exercise: &'a [f64],
    ) -> Result<Self, LsmError> {
        if paths == 0 {
            return Err(LsmError::invalid("paths", 0, "use at least 1"));
        }
        if dates == 0 {
            return Err(LsmError::invalid("dates", 0, "use at least 1"));
        }
        if dims > MAX_DIMS {
            return Err(LsmError::invalid("dims", dims, "use at most 16 features"));
        }
        if held.is_empty() || held.end > dates {
            return Err(LsmError::Shape(format!(
                "dates {}..{} held of {dates}: a non-empty range inside 0..{dates}",
                held.start, held.end
            )));
        }
        let nh = held.len();
        if features.len() != paths * nh * dims || exercise.len() != paths * nh {
            return Err(LsmError::Shape(format!(
                "{paths} paths × {nh} dates × {dims} features need {} feature values and {} \
                 exercise values, got {} and {}",
                paths * nh * dims,
                paths * nh,
                features.len(),
                exercise.len()
            )));
        }
        Ok(PathSet {
            paths,
            dates,
            first: held.start,
            held: nh,
            dims,
            features,
            exercise,
        })
    }
    /// Number of paths.
    pub fn paths(&self) -> usize {
        self.paths
    }
    /// Number of exercise dates.
    pub fn dates(&self) -> usize {
        self.dates
    }
    /// Number of state features.
    pub fn dims(&self) -> usize {
        self.dims
    }
    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        crate::rng::blocks(self.paths)
    }
    /// The dates held (`0..dates` unless a [`PathSet::window`]).
    pub fn held(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.held
    }
    /// Features of block `b` at date `j` (a held date): `len × dims` values, path by path.
    #[inline]
    pub fn block_x(&self, b: usize, j: usize) -> &'a [f64] {
        debug_assert!(self.held().contains(&j), "date {j} not held");
        let len = block_len(self.paths, b);
        let o = (b * BLOCK * self.held + (j - self.first) * len) * self.dims;
        &self.features[o..o + len * self.dims]
    }
    /// Exercise values of block `b` at date `j` (a held date).
    #[inline]
    pub fn block_e(&self, b: usize, j: usize) -> &'a [f64] {
        debug_assert!(self.held().contains(&j), "date {j} not held");
        let len = block_len(self.paths, b);
        let o = b * BLOCK * self.held + (j - self.first) * len;
        &self.exercise[o..o + len]
    }
    /// The features of path `i` at date `j`.
    #[inline]
    pub fn x(&self, j: usize, i: usize) -> &'a [f64] {
        let (b, k) = (i / BLOCK, i % BLOCK);
        &self.block_x(b, j)[k * self.dims..(k + 1) * self.dims]
    }
    /// The exercise value of path `i` at date `j`.
    #[inline]
    pub fn e(&self, j: usize, i: usize) -> f64 {
        self.block_e(i / BLOCK, j)[i % BLOCK]
    }
}

/// Whether an exercise value is known at its date or realized later (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Information {
    /// A function of the state at the date (an option payoff): regress the continuation value on
    /// in-the-money paths; exercise iff exercise value > 0 and > fitted continuation.
    Known,
    /// A realized sum of future cash flows: regress (exercise − continuation) on all paths;
    /// exercise iff the fitted gain is > 0.
    Realized,
}

/// The least-squares solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// Normal equations, Cholesky with diagonal pivoting stopped at numerical rank.
    Cholesky,
    /// Tall-skinny Householder QR, then a column-pivoted rank-revealing solve.
    Qr,
}

/// Settings of a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Total degree of the polynomial basis (cross terms included).
    pub degree: usize,
    /// Known or realized exercise values.
    pub information: Information,
    /// The least-squares solver.
    pub solver: Solver,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            degree: 2,
            information: Information::Known,
            solver: Solver::Cholesky,
        }
    }
}

/// What the policy does at one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Never exercise (no path was in the money to fit a continuation on).
    Never,
    /// Exercise whenever the exercise value is positive (last date, known values).
    Positive,
    /// Exercise iff exercise value > 0 and > fitted continuation (known values).
    Continuation,
    /// Exercise iff the fitted gain of exercising now is > 0 (realized values).
    Gain,
}

/// The fitted rule of one date.
#[derive(Debug, Clone, PartialEq)]
pub struct DateRule {
    /// What the rule compares.
    pub kind: RuleKind,
    /// Standardization of the features (over the regression sample).
    pub standardizer: Standardizer,
    /// Coefficients on the basis (0 for dropped columns).
    pub coef: Vec<f64>,
    /// Numerical rank of the regression.
    pub rank: usize,
    /// Paths in the regression.
    pub regression_paths: usize,
}

/// A frozen exercise policy: one rule per date.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    basis: Basis,
    information: Information,
    rules: Vec<DateRule>,
    /// Discount factor from date `j` to date 0.
    to_origin: Vec<f64>,
}

/// The value of a policy on a set of paths.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyValue {
    /// Mean discounted (to date 0) exercise value, with standard error.
    pub estimate: Estimate,
    /// Each path's discounted value (0 if never exercised), in path order.
    pub values: Vec<f64>,
    /// Each path's exercise date index, or [`NEVER`], in path order.
    pub stops: Vec<u32>,
}

/// A fitted policy and its in-sample value.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The policy, frozen.
    pub policy: Policy,
    /// The value on the paths it was fitted on (Longstaff–Schwartz's estimator; slightly biased
    /// high by the fit seeing the same paths, low by the policy being approximate).
    pub in_sample: PolicyValue,
}

impl Policy {
    /// The regression basis.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }
    /// Known or realized exercise values.
    pub fn information(&self) -> Information {
        self.information
    }
    /// Rules, one per date.
    pub fn rules(&self) -> &[DateRule] {
        &self.rules
    }
    /// Number of dates.
    pub fn dates(&self) -> usize {
        self.rules.len()
    }
    /// Discount factor from date `j` to date 0.
    pub fn to_origin(&self, j: usize) -> f64 {
        self.to_origin[j]
    }

    /// The fitted regression at date `j` and state `x`: the continuation value
    /// ([`RuleKind::Continuation`]) or the expected gain of exercising now ([`RuleKind::Gain`]).
    #[inline]
    pub fn fitted(&self, j: usize, x: &[f64]) -> f64 {
        eval_rule(&self.basis, &self.rules[j], x)
    }

    /// True if the policy exercises at date `j` in state `x` with exercise value `e`
    /// (`e` is only used for known values).
    #[inline]
    pub fn exercise(&self, j: usize, x: &[f64], e: f64) -> bool {
        decide(&self.basis, &self.rules[j], x, e)
    }

    /// [`Policy::exercise`] for a one-feature policy over a row of states at date `j`: `go[k]`
    /// for state `xs[k]` and exercise value `es[k]` (as many as `go` holds). The same decisions,
    /// as one vector loop (AVX2 where the CPU has it).
    pub fn exercise_row(&self, j: usize, xs: &[f64], es: &[f64], go: &mut [bool]) {
        assert_eq!(
            self.basis.dims(),
            1,
            "exercise_row needs a one-feature policy"
        );
        let rule = &self.rules[j];
        macro_rules! terms {
            ($($p:literal)*) => {
                match rule.coef.len() {
                    $($p => crate::isa::dispatch(
                        #[inline(always)]
                        || Rule1::<$p>::new(rule).row(xs, es, go),
                    ),)*
                    _ => {
                        for (k, g) in go.iter_mut().enumerate() {
                            *g = decide(&self.basis, rule, &xs[k..k + 1], es[k]);
                        }
                    }
                }
            };
        }
        terms!(1 2 3 4 5 6 7 8 9)
    }

    /// Applies the frozen policy to `set` (fresh paths for an out-of-sample estimate): each path
    /// stops at the first date the policy exercises and earns that date's exercise value,
    /// discounted to date 0.
    pub fn evaluate(&self, set: &PathSet<'_>) -> Result<PolicyValue, LsmError> {
        if set.dates() != self.dates()
            || set.dims() != self.basis.dims()
            || set.held() != (0..set.dates())
        {
            return Err(LsmError::Shape(format!(
                "policy has {} dates × {} features, paths have {} × {} (dates {}..{} held)",
                self.dates(),
                self.basis.dims(),
                set.dates(),
                set.dims(),
                set.held().start,
                set.held().end
            )));
        }
        let n = set.paths();
        let dims = set.dims();
        let mut values = vec![0.0; n];
        let mut stops = vec![NEVER; n];
        let stats: Vec<Stats> = values
            .par_chunks_mut(BLOCK)
            .zip(stops.par_chunks_mut(BLOCK))
            .enumerate()
            .map(|(b, (v, s))| {
                let mut open = v.len();
                for j in 0..set.dates() {
                    if open == 0 {
                        break;
                    }
                    let xs = set.block_x(b, j);
                    let es = set.block_e(b, j);
                    for k in 0..v.len() {
                        if s[k] == NEVER && self.exercise(j, &xs[k * dims..(k + 1) * dims], es[k]) {
                            v[k] = es[k] * self.to_origin[j];
                            s[k] = j as u32;
                            open -= 1;
                        }
                    }
                }
                let mut st = Stats::default();
                v.iter().for_each(|&x| st.push(x));
                st
            })
            .collect();
        Ok(PolicyValue {
            estimate: merge(&stats).estimate(),
            values,
            stops,
        })
    }
}

/// The fitted value of `rule` at state `x`: Horner in one dimension, term by term otherwise.
#[inline(always)]
fn eval_rule(basis: &Basis, rule: &DateRule, x: &[f64]) -> f64 {
    let st = &rule.standardizer;
    if x.len() == 1 {
        let z = (x[0] - st.mean[0]) * st.inv_std[0];
        return rule.coef.iter().rev().fold(0.0, |acc, c| acc * z + c);
    }
    let mut z = [0.0; MAX_DIMS];
    st.apply(x, &mut z[..x.len()]);
    basis.dot(&z[..x.len()], &rule.coef)
}

#[inline(always)]
fn decide(basis: &Basis, rule: &DateRule, x: &[f64], e: f64) -> bool {
    match rule.kind {
        RuleKind::Never => false,
        RuleKind::Positive => e > 0.0,
        RuleKind::Continuation => e > 0.0 && e > eval_rule(basis, rule, x),
        RuleKind::Gain => eval_rule(basis, rule, x) > 0.0,
    }
}

/// The rule of one date of a one-feature policy with `P` basis terms, held in registers: the
/// same decision as [`decide`] (the same operations), as plain arithmetic that vectorizes.
#[derive(Debug, Clone, Copy)]
struct Rule1<const P: usize> {
    coef: [f64; P],
    mean: f64,
    inv_std: f64,
    never: bool,
    gain: bool,
    vs_fit: bool,
}

impl<const P: usize> Rule1<P> {
    #[inline(always)]
    fn new(rule: &DateRule) -> Self {
        let mut coef = [0.0; P];
        coef.copy_from_slice(&rule.coef[..P]);
        Rule1 {
            coef,
            mean: rule.standardizer.mean[0],
            inv_std: rule.standardizer.inv_std[0],
            never: rule.kind == RuleKind::Never,
            gain: rule.kind == RuleKind::Gain,
            vs_fit: rule.kind == RuleKind::Continuation,
        }
    }

    /// Whether to exercise in state `x` with exercise value `e`.
    #[inline(always)]
    fn go(&self, x: f64, e: f64) -> bool {
        let z = (x - self.mean) * self.inv_std;
        let mut c = 0.0;
        for t in (0..P).rev() {
            c = c * z + self.coef[t];
        }
        let gain = self.gain;
        !self.never & ((gain & (c > 0.0)) | (!gain & (e > 0.0) & (!self.vs_fit | (e > c))))
    }

    /// [`Rule1::go`] for each state and exercise value, into `go`.
    #[inline(always)]
    fn row(&self, xs: &[f64], es: &[f64], go: &mut [bool]) {
        let n = go.len();
        let (xs, es) = (&xs[..n], &es[..n]);
        for k in 0..n {
            go[k] = self.go(xs[k], es[k]);
        }
    }
}

/// One block's fused pass at date `j` with the Cholesky solver: decide and update the cash flows,
/// and accumulate date `j − 1`'s normal equations.
struct Fused<'a> {
    basis: &'a Basis,
    rule: &'a DateRule,
    xs: &'a [f64],
    es: &'a [f64],
    j: usize,
    d: f64,
    prev: Option<(&'a [f64], &'a [f64], &'a Standardizer, f64)>,
    dims: usize,
    info: Information,
}

impl Fused<'_> {
    #[inline(always)]
    fn step(&self, k: usize, yb: &mut [f64], sb: &mut [u32], z: &mut [f64]) -> Option<(f64, bool)> {
        let dims = self.dims;
        let e = self.es[k];
        // Branch-free where the outcome is a coin flip (in/out of the money, exercise or not).
        let go = decide_flat(self.basis, self.rule, &self.xs[k * dims..(k + 1) * dims], e);
        yb[k] = if go { e } else { yb[k] * self.d };
        sb[k] = if go { self.j as u32 } else { sb[k] };
        let (xp, ep, st, dp) = self.prev?;
        let w = match self.info {
            Information::Known => ep[k] > 0.0,
            Information::Realized => true,
        };
        // Rows outside the regression sample enter with weight 0, their features replaced by the
        // mean so that nothing can overflow.
        let x = &xp[k * dims..(k + 1) * dims];
        for c in 0..dims {
            z[c] = if w {
                (x[c] - st.mean[c]) * st.inv_std[c]
            } else {
                0.0
            };
        }
        let t = match self.info {
            Information::Known => dp * yb[k],
            Information::Realized => ep[k] - dp * yb[k],
        };
        Some((t, w))
    }

    fn run<const P: usize>(&self, yb: &mut [f64], sb: &mut [u32]) -> Gram {
        if self.dims == 1 && self.basis.len() == P {
            return self.run_1d::<P>(yb, sb);
        }
        let mut g = GramN::<P>::default();
        let mut z = [0.0; MAX_DIMS];
        let mut bv = [0.0; P];
        for k in 0..yb.len() {
            if let Some((t, w)) = self.step(k, yb, sb, &mut z[..self.dims]) {
                self.basis.eval(&z[..self.dims], &mut bv);
                g.push_weighted(&bv, t, w);
            }
        }
        g.into_gram()
    }

    /// One state variable (an option on one asset): the basis is `1, z, …, z^(P−1)`, evaluated by
    /// Horner with the coefficients in registers. Two passes over the block, each a vector loop
    /// (AVX2 where the CPU has it, [`crate::isa`]; the same bits either way): decide and update the
    /// cash flows, then accumulate date j − 1's normal equations as power sums ([`PowerSums`],
    /// [`LANES`] rows at a time).
    fn run_1d<const P: usize>(&self, yb: &mut [f64], sb: &mut [u32]) -> Gram {
        crate::isa::dispatch(|| self.run_1d_inline::<P>(yb, sb))
    }

    #[inline(always)]
    fn run_1d_inline<const P: usize>(&self, yb: &mut [f64], sb: &mut [u32]) -> Gram {
        let rule = Rule1::<P>::new(self.rule);
        let j = self.j as u32;
        // Slices of one length and the factor in a register: no bounds checks, no reloads.
        let n = yb.len();
        let (es, xs, sb, d) = (&self.es[..n], &self.xs[..n], &mut sb[..n], self.d);
        for k in 0..n {
            let e = es[k];
            // Selected by masks: a branch on a coin flip (in or out of the money, exercise or
            // not) mispredicts, and it would keep the loop scalar.
            let mask = (rule.go(xs[k], e) as u64).wrapping_neg();
            yb[k] = f64::from_bits((e.to_bits() & mask) | ((yb[k] * d).to_bits() & !mask));
            sb[k] = (j & mask as u32) | (sb[k] & !mask as u32);
        }
        let Some((xp, ep, st, dp)) = self.prev else {
            return Gram::new(P);
        };
        let known = self.info == Information::Known;
        let (m1, s1) = (st.mean[0], st.inv_std[0]);
        let (xp, ep) = (&xp[..n], &ep[..n]);
        // Row k of the regression: standardized feature (0 outside the sample, so nothing can
        // overflow), target, membership.
        let row = |k: usize| {
            let e1 = ep[k];
            let w = !known || e1 > 0.0;
            let z = if w { (xp[k] - m1) * s1 } else { 0.0 };
            let t = if known { dp * yb[k] } else { e1 - dp * yb[k] };
            (z, t, w)
        };
        let mut ps = PowerSums::<P>::default();
        let full = n - n % LANES;
        for k in (0..full).step_by(LANES) {
            let r: [(f64, f64, bool); LANES] = std::array::from_fn(|l| row(k + l));
            ps.push(r.map(|x| x.0), r.map(|x| x.1), r.map(|x| x.2));
        }
        if full < n {
            let mut z = [0.0; LANES];
            let mut t = [0.0; LANES];
            let mut w = [false; LANES];
            for l in 0..n - full {
                (z[l], t[l], w[l]) = row(full + l);
            }
            ps.push(z, t, w);
        }
        ps.into_gram()
    }

    fn run_dyn(&self, yb: &mut [f64], sb: &mut [u32], p: usize) -> Gram {
        let mut g = Gram::new(p);
        let mut z = [0.0; MAX_DIMS];
        let mut bv = vec![0.0; p];
        for k in 0..yb.len() {
            if let Some((t, w)) = self.step(k, yb, sb, &mut z[..self.dims]) {
                self.basis.eval(&z[..self.dims], &mut bv);
                g.push_weighted(&bv, t, w);
            }
        }
        g
    }
}

/// [`decide`] without short-circuits: the fitted value is always computed.
#[inline(always)]
fn decide_flat(basis: &Basis, rule: &DateRule, x: &[f64], e: f64) -> bool {
    match rule.kind {
        RuleKind::Never => false,
        RuleKind::Positive => e > 0.0,
        RuleKind::Continuation => {
            let c = eval_rule(basis, rule, x);
            (e > 0.0) & (e > c)
        }
        RuleKind::Gain => eval_rule(basis, rule, x) > 0.0,
    }
}

fn merge(stats: &[Stats]) -> Stats {
    let mut all = Stats::default();
    for s in stats {
        all.merge(s);
    }
    all
}

/// One block's regression accumulator for one date.
enum Acc {
    Gram(Gram),
    /// Row-major rows `[basis | target]`, reduced to a triangle when the block is done.
    Rows(Vec<f64>),
}

impl Acc {
    fn new(solver: Solver, p: usize) -> Self {
        match solver {
            Solver::Cholesky => Acc::Gram(Gram::new(p)),
            Solver::Qr => Acc::Rows(Vec::new()),
        }
    }
    #[inline]
    fn push(&mut self, a: &[f64], y: f64) {
        match self {
            Acc::Gram(g) => g.push(a, y),
            Acc::Rows(r) => {
                r.extend_from_slice(a);
                r.push(y);
            }
        }
    }
}

/// The merged regression of one date: coefficients, rank, rows.
fn solve_blocks(accs: Vec<Acc>, p: usize) -> (Vec<f64>, usize, usize) {
    let q = p + 1;
    let mut gram = Gram::new(p);
    let mut tri = Triangle::empty(q);
    let mut qr = false;
    for acc in accs {
        match acc {
            Acc::Gram(g) => gram.merge(&g),
            Acc::Rows(r) => {
                qr = true;
                let m = r.len() / q;
                let mut a = vec![0.0; m * q];
                for i in 0..m {
                    for c in 0..q {
                        a[c * m + i] = r[i * q + c];
                    }
                }
                tri.merge(&Triangle::from_block(&mut a, m, q));
            }
        }
    }
    if qr {
        let (c, r) = tri.solve(RCOND);
        (c, r, tri.rows)
    } else {
        let (c, r) = gram.solve(GRAM_TOL);
        (c, r, gram.rows)
    }
}

/// The checks of `fit`'s discount factors: one per date but the last, each finite and > 0.
fn check_discount(dates: usize, discount: &[f64]) -> Result<(), LsmError> {
    if discount.len() + 1 != dates {
        return Err(LsmError::Shape(format!(
            "{dates} dates need {} discount factors, got {}",
            dates - 1,
            discount.len()
        )));
    }
    if let Some(d) = discount.iter().find(|d| !(d.is_finite() && **d > 0.0)) {
        return Err(LsmError::invalid(
            "discount factor",
            d,
            "factors must be finite and > 0",
        ));
    }
    Ok(())
}

/// Whether a path with exercise value `e` enters a date's regression sample: only in the money
/// when exercise values are known, every path when they are realized later.
fn in_regression(info: Information, e: f64) -> bool {
    match info {
        Information::Known => e > 0.0,
        Information::Realized => true,
    }
}

/// Every date's standardizer, from its feature moments over its regression sample (they do not
/// depend on the policy): computed per block in parallel, merged in block order.
fn standardizers(
    set: &PathSet<'_>,
    in_reg: impl Fn(f64) -> bool + Copy + Send + Sync,
    stdz: &mut [Option<Standardizer>],
) {
    let (nb, dims) = (set.blocks(), set.dims());
    // The held dates whose standardizer is not known yet (a date held by two windows of a staged
    // fit gets the same bits from either: its moments read that date's rows alone).
    let todo: Vec<usize> = set.held().filter(|&j| stdz[j].is_none()).collect();
    // Pass 0: every date's feature moments over its regression sample, per block, in order.
    let per_block: Vec<Vec<Moments>> = (0..nb)
        .into_par_iter()
        .map(|b| {
            todo.iter()
                .map(|&j| block_moments(set.block_x(b, j), set.block_e(b, j), dims, in_reg))
                .collect()
        })
        .collect();
    for (i, &j) in todo.iter().enumerate() {
        let mut m = Moments::new(dims);
        per_block.iter().for_each(|pb| m.merge(&pb[i]));
        stdz[j] = Some(m.standardizer());
    }
}

/// Accumulates one path into date j's regression, given its running cash flow `y` in
/// date-(j+1) money (`d` discounts it to date j).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn accumulate(
    acc: &mut Acc,
    basis: &Basis,
    st: &Standardizer,
    xs: &[f64],
    e: f64,
    d: f64,
    y: f64,
    info: Information,
    z: &mut [f64],
    bv: &mut [f64],
) {
    st.apply(xs, z);
    basis.eval(z, bv);
    // The regression target: the continuation value (known exercise values) or the gain of
    // exercising now over continuing (realized ones), with `y` discounted from j+1 to j.
    let t = match info {
        Information::Known => d * y,
        Information::Realized => e - d * y,
    };
    acc.push(bv, t);
}

/// Date j's exercise rule from its merged regression; `None` (the last date with known exercise
/// values: nothing to continue into) exercises whenever the payoff is positive.
fn date_rule(
    pending: Option<Vec<Acc>>,
    standardizer: &Standardizer,
    p: usize,
    info: Information,
) -> DateRule {
    match pending {
        None => DateRule {
            kind: RuleKind::Positive,
            standardizer: standardizer.clone(),
            coef: vec![0.0; p],
            rank: 0,
            regression_paths: 0,
        },
        Some(accs) => {
            let (coef, rank, rows) = solve_blocks(accs, p);
            DateRule {
                kind: match (rows, info) {
                    (0, _) => RuleKind::Never,
                    (_, Information::Known) => RuleKind::Continuation,
                    (_, Information::Realized) => RuleKind::Gain,
                },
                standardizer: standardizer.clone(),
                coef,
                rank,
                regression_paths: rows,
            }
        }
    }
}

/// One backward step of [`fit`] at date `j`, over one block of paths at a time: apply date j's
/// rule, update the cash flows to date-j money, and accumulate date j − 1's regression.
struct DateStep<'a> {
    set: &'a PathSet<'a>,
    basis: &'a Basis,
    rule: &'a DateRule,
    stdz: &'a [Option<Standardizer>],
    discount: &'a [f64],
    dates: usize,
    j: usize,
    /// Discount from date j + 1 to date j.
    d: f64,
    /// Date j − 1, if there is one.
    next: Option<usize>,
    dims: usize,
    /// Basis terms.
    p: usize,
    info: Information,
    cfg: &'a Config,
}

impl DateStep<'_> {
    /// Block `b` of the step; `yb` and `sb` are its cash flows and stopping dates, updated in
    /// place. Returns the block's accumulator of date j − 1's regression.
    fn block(&self, b: usize, yb: &mut [f64], sb: &mut [u32]) -> Acc {
        let DateStep {
            set,
            basis,
            rule,
            stdz,
            discount,
            dates,
            j,
            d,
            next,
            dims,
            p,
            info,
            cfg,
        } = *self;
        let in_reg = move |e: f64| in_regression(info, e);
        let disc_at = |j: usize| if j + 1 < dates { discount[j] } else { 1.0 };
        let xs = set.block_x(b, j);
        let es = set.block_e(b, j);
        if cfg.solver == Solver::Cholesky {
            let prev = next.map(|jn| {
                (
                    set.block_x(b, jn),
                    set.block_e(b, jn),
                    stdz[jn].as_ref().expect("the held dates' standardizers"),
                    disc_at(jn),
                )
            });
            let f = Fused {
                basis,
                rule,
                xs,
                es,
                j,
                d,
                prev,
                dims,
                info,
            };
            // Monomorphized for the common basis sizes (1-3 factors, degree ≤ 3).
            return Acc::Gram(match p {
                1 => f.run::<1>(yb, sb),
                2 => f.run::<2>(yb, sb),
                3 => f.run::<3>(yb, sb),
                4 => f.run::<4>(yb, sb),
                5 => f.run::<5>(yb, sb),
                6 => f.run::<6>(yb, sb),
                10 => f.run::<10>(yb, sb),
                20 => f.run::<20>(yb, sb),
                _ => f.run_dyn(yb, sb, p),
            });
        }
        let mut acc = Acc::new(cfg.solver, p);
        let mut z = [0.0; MAX_DIMS];
        let mut bv = [0.0; MAX_TERMS];
        // Date j − 1's rows of this block, hoisted.
        let prev = next.map(|jn| {
            (
                set.block_x(b, jn),
                set.block_e(b, jn),
                stdz[jn].as_ref().expect("the held dates' standardizers"),
                disc_at(jn),
            )
        });
        for k in 0..yb.len() {
            // Branch-free where the outcome is a coin flip (in/out of the money,
            // exercise or not): mispredictions would cost more than the arithmetic.
            let e = es[k];
            let go = decide_flat(basis, rule, &xs[k * dims..(k + 1) * dims], e);
            yb[k] = if go { e } else { yb[k] * d };
            sb[k] = if go { j as u32 } else { sb[k] };
            if let Some((xp, ep, st, dp)) = prev {
                let w = in_reg(ep[k]);
                match &mut acc {
                    Acc::Gram(g) => {
                        // Rows outside the regression sample enter with weight 0 (their
                        // features replaced by the mean so nothing overflows).
                        let x = &xp[k * dims..(k + 1) * dims];
                        for c in 0..dims {
                            z[c] = if w {
                                (x[c] - st.mean[c]) * st.inv_std[c]
                            } else {
                                0.0
                            };
                        }
                        basis.eval(&z[..dims], &mut bv[..p]);
                        let t = match info {
                            Information::Known => dp * yb[k],
                            Information::Realized => ep[k] - dp * yb[k],
                        };
                        g.push_weighted(&bv[..p], t, w);
                    }
                    Acc::Rows(_) => {
                        if w {
                            accumulate(
                                &mut acc,
                                basis,
                                st,
                                &xp[k * dims..(k + 1) * dims],
                                ep[k],
                                dp,
                                yb[k],
                                info,
                                &mut z[..dims],
                                &mut bv[..p],
                            );
                        }
                    }
                }
            }
        }
        acc
    }
}

/// The mean of the paths' realized cash flows, summed per block and merged in block order (the
/// same bits on any number of threads).
fn in_sample_estimate(y: &[f64]) -> Estimate {
    let stats: Vec<Stats> = y
        .par_chunks(BLOCK)
        .map(|c| {
            let mut s = Stats::default();
            c.iter().for_each(|&v| s.push(v));
            s
        })
        .collect();
    merge(&stats).estimate()
}

/// Fits an exercise policy by Longstaff–Schwartz backward induction on `set`.
/// `discount[j]` takes date `j + 1` money to date `j` (length `dates − 1`).
///
/// One pass computes every date's feature moments (they do not depend on the policy); then each
/// date takes a single pass over the paths that applies date `j`'s fitted rule, updates the
/// realized cash flows, and accumulates date `j − 1`'s regression on the updated values.
/// This is [`StagedFit`] given every date at once.
pub fn fit(set: &PathSet<'_>, discount: &[f64], cfg: &Config) -> Result<Fit, LsmError> {
    let mut staged = StagedFit::new(set.paths(), set.dates(), set.dims(), discount, cfg)?;
    staged.step(set, 0)?;
    staged.finish()
}

/// [`fit`] in stages, for sets too large to hold: the backward induction is given the dates a
/// window at a time, from the last dates to the first ([`StagedFit::step`]), and keeps only what
/// crosses a window's edge (each path's realized cash flow and stop, the pending regression of
/// the next date down, the standardizers). Every sum is the one [`fit`] computes, in the same
/// order, so the policy and values are the same bits however the dates are cut.
pub struct StagedFit {
    dates: usize,
    dims: usize,
    basis: Basis,
    cfg: Config,
    discount: Vec<f64>,
    to_origin: Vec<f64>,
    stdz: Vec<Option<Standardizer>>,
    /// Each path's realized cash flow from following the policy after the date being fitted.
    y: Vec<f64>,
    stops: Vec<u32>,
    /// Rules from the last date down.
    rules: Vec<DateRule>,
    /// The next date's regression, per block (`None` before the first step, or when it needs none).
    pending: Option<Vec<Acc>>,
    /// Dates `top..dates` are decided.
    top: usize,
}

impl std::fmt::Debug for StagedFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedFit")
            .field("paths", &self.y.len())
            .field("dates", &self.dates)
            .field("dims", &self.dims)
            .field("undecided", &self.undecided())
            .finish_non_exhaustive()
    }
}

impl StagedFit {
    /// A fit of `paths` paths over `dates` dates with `dims` features (see [`fit`]).
    pub fn new(
        paths: usize,
        dates: usize,
        dims: usize,
        discount: &[f64],
        cfg: &Config,
    ) -> Result<StagedFit, LsmError> {
        if paths == 0 {
            return Err(LsmError::invalid("paths", 0, "use at least 1"));
        }
        if dates == 0 {
            return Err(LsmError::invalid("dates", 0, "use at least 1"));
        }
        check_discount(dates, discount)?;
        if cfg.degree > 8 {
            return Err(LsmError::invalid("degree", cfg.degree, "use 0 to 8"));
        }
        let basis = Basis::new(dims, cfg.degree);
        if basis.len() > MAX_TERMS {
            return Err(LsmError::invalid(
                "degree",
                cfg.degree,
                "the basis may have at most 64 terms (lower the degree or the number of features)",
            ));
        }
        let mut to_origin = vec![1.0; dates];
        for j in 1..dates {
            to_origin[j] = to_origin[j - 1] * discount[j - 1];
        }
        Ok(StagedFit {
            dates,
            dims,
            basis,
            cfg: *cfg,
            discount: discount.to_vec(),
            to_origin,
            stdz: vec![None; dates],
            y: vec![0.0; paths],
            stops: vec![NEVER; paths],
            rules: Vec::with_capacity(dates),
            pending: None,
            top: dates,
        })
    }

    /// The dates still to decide: `0..top` (the next step decides `down_to..top`).
    pub fn undecided(&self) -> std::ops::Range<usize> {
        0..self.top
    }

    /// Decides dates `down_to..top` (the backward induction from the last undecided date down to
    /// `down_to`) on `set`, which must hold those dates and the one below (`down_to − 1`, whose
    /// regression the step accumulates), and be the same paths as every other step's.
    pub fn step(&mut self, set: &PathSet<'_>, down_to: usize) -> Result<(), LsmError> {
        let need = down_to.saturating_sub(1)..self.top;
        let held = set.held();
        if set.paths() != self.y.len()
            || set.dates() != self.dates
            || set.dims() != self.dims
            || down_to >= self.top
            || held.start > need.start
            || held.end < need.end
        {
            return Err(LsmError::Shape(format!(
                "a step to date {down_to} of a fit of {} paths × {} dates × {} features at date \
                 {} needs dates {}..{} of the same paths; got {} paths × {} dates × {} features, \
                 dates {}..{} held",
                self.y.len(),
                self.dates,
                self.dims,
                self.top,
                need.start,
                need.end,
                set.paths(),
                set.dates(),
                set.dims(),
                held.start,
                held.end
            )));
        }
        let (dates, dims, p) = (self.dates, self.dims, self.basis.len());
        let (cfg, info) = (&self.cfg, self.cfg.information);
        let in_reg = move |e: f64| in_regression(info, e);
        standardizers(set, in_reg, &mut self.stdz);
        let stdz = &self.stdz;
        let basis = &self.basis;
        let needs_fit = |j: usize| !(info == Information::Known && j + 1 == dates);
        let discount = &self.discount;
        let disc_at = |j: usize| if j + 1 < dates { discount[j] } else { 1.0 };
        if self.top == dates && needs_fit(dates - 1) {
            // The last date's regression (realized values) sees no continuation: y = 0.
            let jl = dates - 1;
            let st = stdz[jl].as_ref().expect("the held dates' standardizers");
            self.pending = Some(
                (0..set.blocks())
                    .into_par_iter()
                    .map(|b| {
                        let (xs, es) = (set.block_x(b, jl), set.block_e(b, jl));
                        let mut acc = Acc::new(cfg.solver, p);
                        let mut z = [0.0; MAX_DIMS];
                        let mut bv = [0.0; MAX_TERMS];
                        for k in 0..es.len() {
                            if in_reg(es[k]) {
                                accumulate(
                                    &mut acc,
                                    basis,
                                    st,
                                    &xs[k * dims..(k + 1) * dims],
                                    es[k],
                                    1.0,
                                    0.0,
                                    info,
                                    &mut z[..dims],
                                    &mut bv[..p],
                                );
                            }
                        }
                        acc
                    })
                    .collect(),
            );
        }
        for j in (down_to..self.top).rev() {
            let rule = date_rule(
                self.pending.take(),
                stdz[j].as_ref().expect("the held dates' standardizers"),
                p,
                info,
            );
            let d = disc_at(j);
            // One pass: decide at j, update the cash flows to date-j money, and accumulate the
            // regression of date j − 1 on them.
            let next = j.checked_sub(1);
            let step = DateStep {
                set,
                basis,
                rule: &rule,
                stdz,
                discount,
                dates,
                j,
                d,
                next,
                dims,
                p,
                info,
                cfg,
            };
            let accs: Vec<Acc> = self
                .y
                .par_chunks_mut(BLOCK)
                .zip(self.stops.par_chunks_mut(BLOCK))
                .enumerate()
                .map(|(b, (yb, sb))| step.block(b, yb, sb))
                .collect();
            if next.is_some() {
                self.pending = Some(accs);
            }
            self.rules.push(rule);
        }
        self.top = down_to;
        Ok(())
    }

    /// The fit, once every date is decided.
    pub fn finish(self) -> Result<Fit, LsmError> {
        if self.top != 0 {
            return Err(LsmError::Shape(format!(
                "a staged fit finished with dates 0..{} undecided",
                self.top
            )));
        }
        let mut rules = self.rules;
        rules.reverse();
        let estimate = in_sample_estimate(&self.y);
        Ok(Fit {
            policy: Policy {
                basis: self.basis,
                information: self.cfg.information,
                rules,
                to_origin: self.to_origin,
            },
            in_sample: PolicyValue {
                estimate,
                values: self.y,
                stops: self.stops,
            },
        })
    }
}

/// Moments of the regression sample of one block: two passes (mean, then squared deviations),
/// no division per element, and no branch on membership (it is a coin flip for an option near the
/// money): rows outside the sample are added with weight 0.
fn block_moments(xs: &[f64], es: &[f64], dims: usize, in_reg: impl Fn(f64) -> bool) -> Moments {
    let mut m = Moments::new(dims);
    if dims == 1 {
        return crate::isa::dispatch(
            #[inline(always)]
            || moments_1d(xs, es, in_reg),
        );
    }
    let mut count = 0.0;
    let mut sum = [0.0; MAX_DIMS];
    for (k, &e) in es.iter().enumerate() {
        let w = if in_reg(e) { 1.0 } else { 0.0 };
        count += w;
        for c in 0..dims {
            let x = xs[k * dims + c];
            // A row outside the sample may hold anything; never let it reach the sums.
            sum[c] += if in_reg(e) { x } else { 0.0 };
        }
    }
    if count == 0.0 {
        return m;
    }
    let mut m2 = [0.0; MAX_DIMS];
    for v in sum.iter_mut().take(dims) {
        *v /= count;
    }
    for (k, &e) in es.iter().enumerate() {
        let w = in_reg(e);
        for c in 0..dims {
            let dv = if w { xs[k * dims + c] - sum[c] } else { 0.0 };
            m2[c] += dv * dv;
        }
    }
    for c in 0..dims {
        m.s[c] = Stats {
            n: count as u64,
            mean: sum[c],
            m2: m2[c],
        };
    }
    m
}

/// [`block_moments`] of one feature: [`LANES`] interleaved partial sums in registers (one serial
/// chain of additions would bound the loop by the adder's latency), added left to right; rows
/// outside the sample are masked to exact zeros (never a branch: membership is a coin flip).
#[inline(always)]
fn moments_1d(xs: &[f64], es: &[f64], in_reg: impl Fn(f64) -> bool) -> Moments {
    let fold = |v: [f64; LANES]| v.iter().fold(0.0, |a, x| a + x);
    // `x` if the row is in the sample, else +0.
    let keep = |x: f64, e: f64| f64::from_bits(x.to_bits() & (in_reg(e) as u64).wrapping_neg());
    let n = xs.len().min(es.len());
    let (xs, es) = (&xs[..n], &es[..n]);
    let tail = n - n % LANES;
    let lane = |k: usize| k % LANES;
    let (mut count, mut sum) = ([0.0; LANES], [0.0; LANES]);
    for k0 in (0..tail).step_by(LANES) {
        for l in 0..LANES {
            count[l] += keep(1.0, es[k0 + l]);
            sum[l] += keep(xs[k0 + l], es[k0 + l]);
        }
    }
    for k in tail..n {
        count[lane(k)] += keep(1.0, es[k]);
        sum[lane(k)] += keep(xs[k], es[k]);
    }
    let count = fold(count);
    if count == 0.0 {
        return Moments::new(1);
    }
    let mean = fold(sum) / count;
    let mut m2 = [0.0; LANES];
    for k0 in (0..tail).step_by(LANES) {
        for l in 0..LANES {
            let dv = keep(xs[k0 + l] - mean, es[k0 + l]);
            m2[l] += dv * dv;
        }
    }
    for k in tail..n {
        let dv = keep(xs[k] - mean, es[k]);
        m2[lane(k)] += dv * dv;
    }
    let mut m = Moments::new(1);
    m.s[0] = Stats {
        n: count as u64,
        mean,
        m2: fold(m2),
    };
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Longstaff & Schwartz (2001), section 1: eight paths, three exercise dates, K = 1.10,
    /// r = 0.06 per period; the paper's value is 0.1144 and its exercise decisions are printed in
    /// its "stopping rule" table.
    const LS_PATHS: [[f64; 4]; 8] = [
        [1.00, 1.09, 1.08, 1.34],
        [1.00, 1.16, 1.26, 1.54],
        [1.00, 1.22, 1.07, 1.03],
        [1.00, 0.93, 0.97, 0.92],
        [1.00, 1.11, 1.56, 1.52],
        [1.00, 0.76, 0.77, 0.90],
        [1.00, 0.92, 0.84, 1.01],
        [1.00, 0.88, 1.22, 1.34],
    ];

    /// The example's paths (date-major) and each path's value `f(path, spot)` at each date.
    fn ls_rows(f: impl Fn(usize, f64) -> f64) -> (Vec<f64>, Vec<f64>) {
        let n = LS_PATHS.len();
        let mut feat = vec![0.0; 4 * n];
        let mut val = vec![0.0; 4 * n];
        for j in 0..4 {
            for i in 0..n {
                feat[j * n + i] = LS_PATHS[i][j];
                val[j * n + i] = f(i, LS_PATHS[i][j]);
            }
        }
        (feat, val)
    }

    fn ls_example(solver: Solver) -> Fit {
        let n = 8;
        let (feat, ex) = ls_rows(|_, s| (1.10f64 - s).max(0.0));
        let set = PathSet::new(n, 4, 1, &feat, &ex).unwrap();
        let disc = [(-0.06f64).exp(); 3];
        fit(
            &set,
            &disc,
            &Config {
                degree: 2,
                information: Information::Known,
                solver,
            },
        )
        .unwrap()
    }

    /// The vector decision of a one-feature policy is the scalar one, state by state, for every
    /// kind of rule (the last date's `Positive`, fitted `Continuation`s, and realized `Gain`s).
    #[test]
    fn exercise_row_decides_as_exercise() {
        let known = ls_example(Solver::Cholesky).policy;
        let (feat, gain) = ls_rows(|i, s| 1.0 - s + 0.01 * i as f64);
        let set = PathSet::new(8, 4, 1, &feat, &gain).unwrap();
        let cfg = Config {
            degree: 2,
            information: Information::Realized,
            solver: Solver::Cholesky,
        };
        let realized = fit(&set, &[(-0.06f64).exp(); 3], &cfg).unwrap().policy;
        let xs: Vec<f64> = (0..203).map(|i| 0.5 + i as f64 * 0.0057).collect();
        let es: Vec<f64> = xs.iter().map(|x| (1.10 - x).max(0.0)).collect();
        let mut kinds = Vec::new();
        for pol in [&known, &realized] {
            for j in 0..4 {
                let mut go = vec![false; xs.len()];
                pol.exercise_row(j, &xs, &es, &mut go);
                for k in 0..xs.len() {
                    assert_eq!(go[k], pol.exercise(j, &xs[k..k + 1], es[k]), "{j} {k}");
                }
                kinds.push(pol.rules()[j].kind);
            }
        }
        for kind in [RuleKind::Positive, RuleKind::Continuation, RuleKind::Gain] {
            assert!(kinds.contains(&kind), "{kind:?} not exercised: {kinds:?}");
        }
    }

    #[test]
    fn longstaff_schwartz_worked_example() {
        for solver in [Solver::Cholesky, Solver::Qr] {
            let f = ls_example(solver);
            // Paper: value 0.1144; stopping rule: path 4 at t=1, 6 at t=1, 7 at t=1, 8 at t=1,
            // path 3 at t=3, others never (paths 1-based).
            assert!(
                (f.in_sample.estimate.value - 0.1144).abs() < 5e-5,
                "{solver:?}: {}",
                f.in_sample.estimate.value
            );
            let expect = [NEVER, NEVER, 3, 1, NEVER, 1, 1, 1];
            assert_eq!(f.in_sample.stops, expect, "{solver:?}");
            // Paper's regression at t=2: Y = -1.070 + 2.983 X - 1.813 X² on ITM paths.
            let c2 = |x: f64| f.policy.fitted(2, &[x]);
            for x in [0.77, 0.84, 0.97, 1.07, 1.08] {
                let paper = -1.070 + 2.983 * x - 1.813 * x * x;
                assert!(
                    (c2(x) - paper).abs() < 2e-3,
                    "{solver:?} x={x}: {} vs {paper}",
                    c2(x)
                );
            }
        }
    }

    #[test]
    fn frozen_policy_reproduces_in_sample_on_the_same_paths() {
        let f = ls_example(Solver::Cholesky);
        let n = 8;
        let mut feat = vec![0.0; 4 * n];
        let mut ex = vec![0.0; 4 * n];
        for j in 0..4 {
            for i in 0..n {
                feat[j * n + i] = LS_PATHS[i][j];
                ex[j * n + i] = (1.10f64 - LS_PATHS[i][j]).max(0.0);
            }
        }
        let set = PathSet::new(n, 4, 1, &feat, &ex).unwrap();
        let v = f.policy.evaluate(&set).unwrap();
        assert_eq!(v.stops, f.in_sample.stops);
        assert!((v.estimate.value - f.in_sample.estimate.value).abs() < 1e-12);
    }

    /// Block-major layout builder for tests: `f(i, j) -> (features, exercise)`.
    fn build(
        n: usize,
        dates: usize,
        dims: usize,
        f: impl Fn(usize, usize) -> (Vec<f64>, f64),
    ) -> (Vec<f64>, Vec<f64>) {
        let mut feat = vec![0.0; n * dates * dims];
        let mut ex = vec![0.0; n * dates];
        for i in 0..n {
            let (b, k) = (i / BLOCK, i % BLOCK);
            let len = block_len(n, b);
            for j in 0..dates {
                let (x, e) = f(i, j);
                let o = b * BLOCK * dates + j * len + k;
                ex[o] = e;
                feat[o * dims..(o + 1) * dims].copy_from_slice(&x);
            }
        }
        (feat, ex)
    }

    #[test]
    fn realized_values_zero_vol_pick_the_best_date_exactly() {
        // Every path identical (constant features at every date): the gain regressions reduce to
        // their intercepts and the policy must stop at the best date (or never if all ≤ 0).
        for (values, best) in [
            (vec![1.0, 3.0, 2.5, -1.0, 2.9], Some(1usize)),
            (vec![-1.0, -0.5, -2.0], None),
            (vec![0.5, 0.6, 0.7, 0.8], Some(3)),
            (vec![5.0, 1.0, 4.9], Some(0)),
        ] {
            let dates = values.len();
            let n = 3000; // more than one block
            let (feat, ex) = build(n, dates, 3, |_, j| {
                (vec![1.0, 2.0 + j as f64, -3.0], values[j])
            });
            let set = PathSet::new(n, dates, 3, &feat, &ex).unwrap();
            let cfg = Config {
                degree: 2,
                information: Information::Realized,
                solver: Solver::Cholesky,
            };
            let f = fit(&set, &vec![1.0; dates - 1], &cfg).unwrap();
            let want = best.map(|b| values[b]).unwrap_or(0.0);
            assert!(
                (f.in_sample.estimate.value - want).abs() < 1e-12,
                "{values:?}"
            );
            let stop = best.map(|b| b as u32).unwrap_or(NEVER);
            assert!(f.in_sample.stops.iter().all(|&s| s == stop), "{values:?}");
            let oos = f.policy.evaluate(&set).unwrap();
            assert!(oos.stops.iter().all(|&s| s == stop));
            assert_eq!(f.in_sample.estimate.stderr, 0.0);
        }
    }

    #[test]
    fn realized_values_do_not_use_foresight() {
        // Exercise values are pure noise around a known mean that depends on the feature; the
        // fitted rule must depend on the feature only. Paths with the same feature get the same
        // decision whatever their own (future) noise.
        let n = 20_000;
        let dates = 2;
        let noise =
            |i: usize, j: usize| (((i * 7919 + j * 104729) % 1000) as f64 / 1000.0 - 0.5) * 4.0;
        let (feat, ex) = build(n, dates, 1, |i, j| {
            let x = (i % 10) as f64;
            // Mean gain at date 0: x - 4.5 (convert when x ≥ 5); date 1: always -1.
            let mean = if j == 0 { x - 4.5 } else { -1.0 };
            (vec![x], mean + noise(i, j))
        });
        let set = PathSet::new(n, dates, 1, &feat, &ex).unwrap();
        let f = fit(
            &set,
            &[1.0],
            &Config {
                degree: 3,
                information: Information::Realized,
                solver: Solver::Qr,
            },
        )
        .unwrap();
        for i in 0..n {
            let x = (i % 10) as f64;
            let converted_now = f.in_sample.stops[i] == 0;
            assert_eq!(converted_now, x >= 5.0, "path {i} x={x}");
        }
    }

    #[test]
    fn solvers_agree_on_a_noisy_problem() {
        let n = 5000;
        let dates = 6;
        let (feat, ex) = build(n, dates, 2, |i, j| {
            let a = ((i * 31 + j * 17) % 97) as f64 / 97.0;
            let b = ((i * 13 + j * 29) % 89) as f64 / 89.0;
            (vec![a, b], (0.6 - a * b + 0.1 * j as f64).max(0.0))
        });
        let set = PathSet::new(n, dates, 2, &feat, &ex).unwrap();
        let run = |solver| {
            fit(
                &set,
                &[0.99; 5],
                &Config {
                    degree: 2,
                    information: Information::Known,
                    solver,
                },
            )
            .unwrap()
        };
        let (c, q) = (run(Solver::Cholesky), run(Solver::Qr));
        assert!((c.in_sample.estimate.value - q.in_sample.estimate.value).abs() < 1e-9);
        for j in 0..dates - 1 {
            for (a, b) in c.policy.rules()[j]
                .coef
                .iter()
                .zip(&q.policy.rules()[j].coef)
            {
                assert!(
                    (a - b).abs() < 1e-7 * (1.0 + a.abs()),
                    "date {j}: {a} vs {b}"
                );
            }
        }
    }

    /// The rows of dates `held` out of a [`build`] layout, in the window's own layout.
    fn window_of(
        (feat, ex): (&[f64], &[f64]),
        (n, dates, dims): (usize, usize, usize),
        held: std::ops::Range<usize>,
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut wf, mut we) = (Vec::new(), Vec::new());
        for b in 0..crate::rng::blocks(n) {
            let len = block_len(n, b);
            for j in held.clone() {
                let o = b * BLOCK * dates + j * len;
                we.extend_from_slice(&ex[o..o + len]);
                wf.extend_from_slice(&feat[o * dims..(o + len) * dims]);
            }
        }
        (wf, we)
    }

    #[test]
    fn a_staged_fit_is_the_whole_fit_bit_for_bit() {
        // Several blocks (the last one short), noisy features, both kinds of exercise value and
        // both solvers; the dates cut into windows of every size the staged fit allows.
        let (n, dates, dims) = (2 * BLOCK + 77, 7, 2);
        let (feat, ex) = build(n, dates, dims, |i, j| {
            let a = ((i * 31 + j * 17) % 97) as f64 / 97.0;
            let b = ((i * 13 + j * 29) % 89) as f64 / 89.0;
            (
                vec![a, b],
                0.6 - a * b + 0.05 * j as f64 - 0.3 * ((i % 7) as f64 / 7.0),
            )
        });
        let disc = [0.99, 0.98, 0.995, 0.97, 0.99, 0.985];
        let bits = |f: &Fit| format!("{:?} {:?}", f.policy, f.in_sample);
        for information in [Information::Known, Information::Realized] {
            for solver in [Solver::Cholesky, Solver::Qr] {
                let cfg = Config {
                    degree: 2,
                    information,
                    solver,
                };
                let whole = fit(
                    &PathSet::new(n, dates, dims, &feat, &ex).unwrap(),
                    &disc,
                    &cfg,
                )
                .unwrap();
                for cuts in [
                    vec![5usize, 2, 0],
                    vec![6, 5, 4, 3, 2, 1, 0],
                    vec![1, 0],
                    vec![0],
                ] {
                    let mut staged = StagedFit::new(n, dates, dims, &disc, &cfg).unwrap();
                    for down_to in cuts {
                        let held = down_to.saturating_sub(1)..staged.undecided().end;
                        let (wf, we) = window_of((&feat, &ex), (n, dates, dims), held.clone());
                        let set = PathSet::window(n, dates, held, dims, &wf, &we).unwrap();
                        staged.step(&set, down_to).unwrap();
                    }
                    assert_eq!(bits(&staged.finish().unwrap()), bits(&whole));
                }
            }
        }
    }

    #[test]
    fn a_staged_fit_refuses_missing_dates() {
        let (n, dates, dims) = (300, 4, 1);
        let (feat, ex) = build(n, dates, dims, |i, j| (vec![i as f64], j as f64));
        let cfg = Config::default();
        let mut staged = StagedFit::new(n, dates, dims, &[1.0; 3], &cfg).unwrap();
        // Dates 2..4 held: deciding down to 2 needs date 1 too.
        let (wf, we) = window_of((&feat, &ex), (n, dates, dims), 2..4);
        let set = PathSet::window(n, dates, 2..4, dims, &wf, &we).unwrap();
        assert!(staged.step(&set, 2).is_err());
        assert!(staged.step(&set, 3).is_ok());
        // Not finished: dates 0..3 undecided.
        assert!(staged.finish().is_err());
        // A window is not a whole set for a frozen policy.
        let whole = fit(
            &PathSet::new(n, dates, dims, &feat, &ex).unwrap(),
            &[1.0; 3],
            &cfg,
        );
        assert!(whole.unwrap().policy.evaluate(&set).is_err());
        assert!(PathSet::window(n, dates, 3..5, dims, &wf, &we).is_err());
    }

    #[test]
    fn rejects_inconsistent_shapes() {
        let f = vec![0.0; 10];
        let e = vec![0.0; 10];
        assert!(PathSet::new(5, 2, 1, &f, &e).is_ok());
        assert!(PathSet::new(5, 3, 1, &f, &e).is_err());
        assert!(PathSet::new(0, 2, 1, &f, &e).is_err());
        let set = PathSet::new(5, 2, 1, &f, &e).unwrap();
        assert!(fit(&set, &[], &Config::default()).is_err());
        assert!(fit(&set, &[0.0], &Config::default()).is_err());
    }
}
