//! The dual (upper) bound of Andersen and Broadie (2004) for the Bermudan put of [`crate::put`].
//!
//! # Method
//!
//! For any martingale `M` with `M_0 = 0`, the value of a Bermudan option with discounted exercise
//! values `h_j` satisfies `V_0 = sup_τ E[h_τ] = sup_τ E[h_τ − M_τ] ≤ E[max_j (h_j − M_j)]`
//! (optional stopping: `E[M_τ] = 0` for every stopping time `τ`), with equality for the martingale
//! part of the Snell envelope. Andersen and Broadie build `M` from the value process `L_j` of the
//! fitted (lower-bound) policy: `L_j = h_j` on a date where the policy exercises, and
//! `L_j = C_j = E_j[L_{j+1}]` (the value of continuing under the policy) otherwise, and
//! `M_j − M_{j−1} = L_j − C_{j−1}` — a martingale increment, since `C_{j−1}` is the conditional
//! mean of `L_j` whether the policy exercised on `j − 1` or not. `C_j` has no closed form; it is
//! estimated on each outer path by `inner` nested paths started from the outer path's spot on
//! date `j`, each following the policy from `j + 1` until it exercises. The nested estimates are
//! unbiased, so their noise enters `M` with mean zero and only raises `E[max …]` (Jensen): the
//! bound stays an upper bound, slightly loosened by the noise.
//!
//! The policy never exercises out of the money (its exercise value is 0 there), and neither does
//! an optimal one, so the supremum may run over stopping times that stop only on in-the-money
//! dates or at maturity; the maximum then only needs `M` on those dates. Between two of them the
//! increments telescope (`L_i = C_i` on dates the policy continues), so `M` on the next visited
//! date `j'` after `j` is `M_j + L_{j'} − C_j`. This is Andersen and Broadie's saving: one nested
//! estimate per in-the-money date, none out of the money.
//!
//! Paths: outer path `p` and all of its nested paths draw from the keyed stream `p` of
//! [`SET_DUAL`], so the bound is the same for any number of threads.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::Serialize;

use crate::put::PutSpec;
use crate::rng::block_rng;
use crate::stats::Stats;
use crate::stopping::Policy;
use crate::{Estimate, LsmError};

/// Stream set of the dual bound's outer paths (each with its nested paths).
pub const SET_DUAL: u64 = 2;

/// Settings of the dual bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DualConfig {
    /// Outer paths.
    pub outer: usize,
    /// Nested paths per continuation estimate (antithetic pairs).
    pub inner: usize,
    /// Seed of the keyed streams.
    pub seed: u64,
}

impl DualConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), LsmError> {
        if self.outer < 2 || self.outer > 10_000_000 {
            return Err(LsmError::invalid(
                "--outer-paths",
                self.outer,
                "use 2 to 10000000",
            ));
        }
        if self.inner < 2 || self.inner > 1_000_000 {
            return Err(LsmError::invalid(
                "--inner-paths",
                self.inner,
                "use 2 to 1000000",
            ));
        }
        Ok(())
    }
}

/// The upper bound and the work it took.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DualBound {
    /// `E[max_j (h_j − M_j)]`: an upper bound on the option's value, with its standard error.
    pub upper: Estimate,
    /// Outer paths.
    pub outer_paths: usize,
    /// Nested paths per continuation estimate.
    pub inner_paths: usize,
    /// Continuation estimates made (in-the-money dates visited over all outer paths).
    pub nested_estimates: u64,
    /// Nested path-steps simulated in all.
    pub nested_steps: u64,
}

/// The put's exercise date grid and one GBM step.
struct Grid<'a> {
    policy: &'a Policy,
    strike: f64,
    dates: usize,
    drift: f64,
    sd: f64,
}

impl Grid<'_> {
    #[inline]
    fn step(&self, s: f64, z: f64) -> f64 {
        s * (self.drift + self.sd * z).exp()
    }

    /// Discounted value of following the policy from date `from + 1` on, starting at spot `s`
    /// on date `from`, averaged over `n` nested paths (antithetic pairs), with the discounted spot
    /// at the stopping date as a control variate (its mean is the discounted spot on `from`: the
    /// discounted spot is a martingale and the stopping date is bounded). Returns the estimate
    /// and the steps simulated.
    fn continuation(&self, rng: &mut ChaCha8Rng, from: usize, s: f64, n: usize) -> (f64, u64) {
        let (mut sy, mut sc, mut scc, mut syc) = (0.0, 0.0, 0.0, 0.0);
        let mut steps = 0u64;
        let mut zs: Vec<f64> = Vec::with_capacity(self.dates);
        for p in 0..n {
            let mirror = p % 2 == 1;
            if !mirror {
                zs.clear();
            }
            let sign = if mirror { -1.0 } else { 1.0 };
            let mut x = s;
            let (mut y, mut c) = (0.0, 0.0);
            for j in from + 1..=self.dates {
                let i = j - from - 1;
                if zs.len() <= i {
                    let z: f64 = rng.sample(StandardNormal);
                    zs.push(sign * z);
                }
                x = self.step(x, sign * zs[i]);
                steps += 1;
                let e = (self.strike - x).max(0.0);
                // The put's policy reads the exercise value as its state ([`crate::put`]).
                if self.policy.exercise(j, &[e], e) || j == self.dates {
                    y = e * self.policy.to_origin(j);
                    c = x * self.policy.to_origin(j);
                    break;
                }
            }
            sy += y;
            sc += c;
            scc += c * c;
            syc += y * c;
        }
        let nf = n as f64;
        let (my, mc) = (sy / nf, sc / nf);
        let var_c = scc / nf - mc * mc;
        let beta = if var_c > 1e-300 {
            (syc / nf - my * mc) / var_c
        } else {
            0.0
        };
        (my - beta * (mc - s * self.policy.to_origin(from)), steps)
    }

    /// One outer path: `max_j (h_j − M_j)` over the in-the-money dates and maturity.
    fn outer(&self, rng: &mut ChaCha8Rng, spot: f64, inner: usize) -> (f64, u64, u64) {
        let d = self.dates;
        let mut s = spot;
        // M on the last visited date, and C there (the conditional mean of the next L).
        let (mut m, mut c_prev) = (0.0, 0.0);
        let mut best = f64::NEG_INFINITY;
        let (mut estimates, mut steps) = (0u64, 0u64);
        for j in 0..=d {
            if j > 0 {
                let z: f64 = rng.sample(StandardNormal);
                s = self.step(s, z);
            }
            let e = (self.strike - s).max(0.0);
            let visited = j == 0 || j == d || e > 0.0;
            if !visited {
                continue;
            }
            let h = e * self.policy.to_origin(j);
            let exercise = self.policy.exercise(j, &[e], e);
            // C_j (not needed at maturity: nothing follows).
            let c = if j < d {
                let (c, n) = self.continuation(rng, j, s, inner);
                estimates += 1;
                steps += n;
                c
            } else {
                0.0
            };
            let l = if exercise { h } else { c };
            if j > 0 {
                m += l - c_prev;
            }
            best = best.max(h - m);
            c_prev = c;
        }
        (best, estimates, steps)
    }
}

/// The Andersen–Broadie upper bound of the put under `policy` (fitted by
/// [`crate::put::price_put_with_policy`] for the same `spec`).
pub fn put_upper_bound(
    spec: &PutSpec,
    policy: &Policy,
    cfg: &DualConfig,
) -> Result<DualBound, LsmError> {
    spec.validate()?;
    cfg.validate()?;
    let d = spec.dates();
    if policy.dates() != d + 1 || policy.basis().dims() != 1 {
        return Err(LsmError::Shape(format!(
            "policy of {} dates × {} features for a put of {} dates × 1",
            policy.dates(),
            policy.basis().dims(),
            d + 1
        )));
    }
    let dt = spec.years / d as f64;
    let grid = Grid {
        policy,
        strike: spec.strike,
        dates: d,
        drift: (spec.rate - 0.5 * spec.vol * spec.vol) * dt,
        sd: spec.vol * dt.sqrt(),
    };
    let per_path: Vec<(f64, u64, u64)> = (0..cfg.outer)
        .into_par_iter()
        .map(|p| {
            let mut rng = block_rng(cfg.seed, SET_DUAL, p as u64);
            grid.outer(&mut rng, spec.spot, cfg.inner)
        })
        .collect();
    let mut st = Stats::default();
    let (mut estimates, mut steps) = (0u64, 0u64);
    for &(v, e, s) in &per_path {
        st.push(v);
        estimates += e;
        steps += s;
    }
    Ok(DualBound {
        upper: st.estimate(),
        outer_paths: cfg.outer,
        inner_paths: cfg.inner,
        nested_estimates: estimates,
        nested_steps: steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::put::{price_put_with_policy, PutConfig};
    use crate::reference::bermudan_put;
    use crate::table1::{CASES, EXERCISES_PER_YEAR, RATE, STRIKE};

    fn bound(case: usize, outer: usize, inner: usize) -> (f64, f64, DualBound, f64) {
        let c = CASES[case];
        let spec = PutSpec {
            spot: c.spot,
            strike: STRIKE,
            rate: RATE,
            vol: c.vol,
            years: c.years,
            exercises_per_year: EXERCISES_PER_YEAR,
        };
        let cfg = PutConfig {
            paths: 20_000,
            fresh_paths: 20_000,
            seed: 5,
            degree: 3,
            control_variate: true,
            antithetic: true,
        };
        let (r, pol) = price_put_with_policy(&spec, &cfg).unwrap();
        let lo = r.out_of_sample.unwrap();
        let dual = DualConfig {
            outer,
            inner,
            seed: 9,
        };
        let up = put_upper_bound(&spec, &pol, &dual).unwrap();
        let d = spec.dates();
        let bin = bermudan_put(c.spot, STRIKE, RATE, c.vol, c.years, d, 40).unwrap();
        (lo.value, lo.stderr, up, bin)
    }

    /// Longstaff–Schwartz Table 1 cases (in, at and out of the money): the out-of-sample lower
    /// bound ≤ the binomial Bermudan value ≤ the dual upper bound, within 3 standard errors, and
    /// a gap below 1 % of the value.
    #[test]
    fn table1_cases_are_bracketed_tightly() {
        for case in [0, 8, 19] {
            let (lo, lo_se, up, bin) = bound(case, 300, 600);
            let u = up.upper;
            assert!(
                lo <= bin + 3.0 * lo_se,
                "case {case}: lower {lo} ± {lo_se} > {bin}"
            );
            assert!(
                u.value >= bin - 3.0 * u.stderr,
                "case {case}: upper {} ± {} < {bin}",
                u.value,
                u.stderr
            );
            let gap = u.value - lo;
            eprintln!(
                "case {case}: lower {lo} ± {lo_se}, binomial {bin}, upper {} ± {}",
                u.value, u.stderr
            );
            assert!(gap < 0.01 * bin, "case {case}: gap {gap} vs value {bin}");
            assert_eq!(up.outer_paths, 300);
            assert!(up.nested_estimates >= 300 && up.nested_steps > up.nested_estimates);
        }
    }

    #[test]
    fn same_bits_on_one_and_two_threads() {
        let run = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| bound(2, 40, 20).2)
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.upper.value.to_bits(), b.upper.value.to_bits());
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_bad_settings_and_foreign_policies() {
        let bad = DualConfig {
            outer: 1,
            inner: 10,
            seed: 0,
        };
        assert!(bad.validate().is_err());
        let bad = DualConfig {
            outer: 10,
            inner: 0,
            seed: 0,
        };
        assert!(bad.validate().is_err());
        // A policy of another number of dates is refused.
        let c = CASES[0];
        let spec = |per| PutSpec {
            spot: c.spot,
            strike: STRIKE,
            rate: RATE,
            vol: c.vol,
            years: c.years,
            exercises_per_year: per,
        };
        let cfg = PutConfig {
            paths: 500,
            fresh_paths: 0,
            seed: 1,
            degree: 2,
            control_variate: false,
            antithetic: false,
        };
        let (_, pol) = price_put_with_policy(&spec(10), &cfg).unwrap();
        let ok = DualConfig {
            outer: 10,
            inner: 10,
            seed: 0,
        };
        assert!(matches!(
            put_upper_bound(&spec(20), &pol, &ok),
            Err(LsmError::Shape(_))
        ));
    }
}
