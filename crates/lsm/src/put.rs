//! A Bermudan/American put priced with the generic LSM core: the validation problem.
//!
//! Process: geometric Brownian motion under the risk-neutral measure. Discretization: the exact
//! log-normal step between consecutive exercise dates (no time-stepping error). Random stream:
//! keyed ChaCha8 blocks ([`crate::rng`]), fitting paths and fresh paths from disjoint stream sets.
//! Payoff: `max(K − S, 0)` at each exercise date, exercise allowed at `t = 0` and at
//! `years / dates, 2·years / dates, …, years`. The state feature is the exercise value
//! `max(K − S, 0)`: on the in-the-money paths, where every regression and every decision lives, it
//! is `K − S`, an affine function of the spot, so the basis — a polynomial of degree `degree` in
//! the standardized feature — spans the same space as `1, S, S², …` (QuantLib's monomial basis of
//! the same order); out of the money the policy never exercises, whatever the feature. So the
//! fitting paths are one array of exercise values (8 bytes a path and date), the feature and the
//! payoff at once.

use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::Serialize;

use crate::reference::bs_put;
use crate::rng::{block_rng, blocks, BLOCK, SET_FIT, SET_FRESH};
use crate::stats::Controls;
use crate::stopping::{fit, Config, Information, PathSet};
use crate::{Estimate, LsmError};

/// Largest path store [`price_put`] allocates, bytes.
pub const MAX_BYTES: f64 = 4e9;

/// The contract and the market.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PutSpec {
    /// Spot price.
    pub spot: f64,
    /// Strike.
    pub strike: f64,
    /// Continuously compounded risk-free rate, per year.
    pub rate: f64,
    /// Volatility, per √year.
    pub vol: f64,
    /// Maturity in years.
    pub years: f64,
    /// Exercise dates a year (after time 0).
    pub exercises_per_year: usize,
}

impl PutSpec {
    /// Checks every field, naming the flag-style field, the value and what is allowed.
    pub fn validate(&self) -> Result<(), LsmError> {
        let f = |name, v: f64, ok: bool, allowed| {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err(LsmError::invalid(name, v, allowed))
            }
        };
        f(
            "--spot",
            self.spot,
            self.spot > 0.0 && self.spot <= 1e9,
            "use a price in (0, 1e9]",
        )?;
        f(
            "--strike",
            self.strike,
            self.strike > 0.0 && self.strike <= 1e9,
            "use a price in (0, 1e9]",
        )?;
        f(
            "--rate",
            self.rate,
            (-0.5..=1.0).contains(&self.rate),
            "use -0.5 to 1 (per year)",
        )?;
        f(
            "--vol",
            self.vol,
            self.vol >= 0.0 && self.vol <= 5.0,
            "use 0 to 5 (per √year)",
        )?;
        f(
            "--years",
            self.years,
            self.years > 0.0 && self.years <= 100.0,
            "use a value in (0, 100]",
        )?;
        if self.exercises_per_year == 0 || self.exercises_per_year > 100_000 {
            return Err(LsmError::invalid(
                "--exercises-per-year",
                self.exercises_per_year,
                "use 1 to 100000",
            ));
        }
        let d = self.years * self.exercises_per_year as f64;
        if d > 100_000.0 {
            return Err(LsmError::invalid(
                "--exercises-per-year",
                self.exercises_per_year,
                "years × exercises per year must be at most 100000",
            ));
        }
        Ok(())
    }

    /// Number of exercise dates after time 0: `max(1, round(years × exercises_per_year))`.
    pub fn dates(&self) -> usize {
        ((self.years * self.exercises_per_year as f64).round() as usize).max(1)
    }
}

/// Monte Carlo settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PutConfig {
    /// Paths the policy is fitted on (the in-sample estimate).
    pub paths: usize,
    /// Fresh paths the frozen policy is evaluated on (the out-of-sample estimate); 0 skips it.
    pub fresh_paths: usize,
    /// Seed of the keyed streams.
    pub seed: u64,
    /// Polynomial degree of the regression basis in the spot.
    pub degree: usize,
    /// Use control variates with known means on each path's value — the discounted spot at the
    /// exercise date (mean `S0`, optional stopping of a martingale) and the discounted European
    /// payoff (Black–Scholes) — for a much smaller standard error. The policy is unaffected.
    pub control_variate: bool,
    /// Simulate antithetic pairs (`Z`, `−Z`); standard errors are then computed over pairs.
    pub antithetic: bool,
}

impl PutConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), LsmError> {
        if self.paths == 0 || self.paths > 100_000_000 {
            return Err(LsmError::invalid(
                "--paths",
                self.paths,
                "use 1 to 100000000",
            ));
        }
        if self.fresh_paths > 100_000_000 {
            return Err(LsmError::invalid(
                "--fresh-paths",
                self.fresh_paths,
                "use 0 to 100000000",
            ));
        }
        if self.degree == 0 || self.degree > 8 {
            return Err(LsmError::invalid("--degree", self.degree, "use 1 to 8"));
        }
        Ok(())
    }
}

/// The value of a put by LSM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PutResult {
    /// Value on the paths the policy was fitted on (Longstaff–Schwartz's estimator; plain mean,
    /// no control variates).
    pub in_sample: Estimate,
    /// Value of the frozen policy on fresh paths (a low-biased estimate), if asked for.
    pub out_of_sample: Option<Estimate>,
    /// Exercise dates after time 0.
    pub dates: usize,
    /// Black–Scholes value of the European put (the control variate's known mean).
    pub european: f64,
}

/// One block of `len` GBM paths on the exercise grid, stored as the put's exercise values
/// `max(K − S, 0)`, date-major within the block (`ex[j * len + p]`, the core's block layout).
/// With `antithetic`, paths `2m` and `2m + 1` are an antithetic pair (`Z`, `−Z`). The block steps
/// all its paths one date at a time (the spots of the current date in one row), so every write is
/// contiguous; the normals are drawn in that order (date by date, path by path).
#[inline(always)]
fn gbm_block(
    spec: &PutSpec,
    (antithetic, seed, set): (bool, u64, u64),
    block: usize,
    ex: &mut [f64],
) {
    let d = spec.dates();
    let len = ex.len() / (d + 1);
    let dt = spec.years / d as f64;
    let drift = (spec.rate - 0.5 * spec.vol * spec.vol) * dt;
    let sd = spec.vol * dt.sqrt();
    let mut rng = block_rng(seed, set, block as u64);
    let mut z = vec![0.0; len];
    let k = spec.strike;
    let mut spot = vec![spec.spot; len];
    ex[..len].fill((k - spec.spot).max(0.0));
    for j in 1..=d {
        if antithetic {
            for pair in z.chunks_mut(2) {
                let v: f64 = rng.sample(StandardNormal);
                pair[0] = v;
                if pair.len() == 2 {
                    pair[1] = -v;
                }
            }
        } else {
            z.iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
        }
        for (s, z) in spot.iter_mut().zip(&z) {
            *s *= exp_vec(drift + sd * z);
        }
        for (e, s) in ex[j * len..][..len].iter_mut().zip(&spot) {
            *e = (k - s).max(0.0);
        }
    }
}

/// `e^x` for `|x| < 700` in plain IEEE arithmetic (no libm call), so that the path loop
/// vectorizes; within 2 ulp of `f64::exp` (tested). Range reduction `x = n ln 2 + r`,
/// `|r| ≤ ln 2 / 2`, a degree-13 Taylor polynomial for `e^r`, and `2^n` built in the exponent bits.
/// The same operations in the same order on every machine, so results do not depend on the
/// vector width.
#[inline(always)]
fn exp_vec(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that n · LN2_HI is exact for |n| < 2^11.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // 1.5 · 2^52: adding it rounds to an integer, kept in the low mantissa bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor coefficients 1/k!, k = 13 down to 0, by Horner.
    const C: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut p = C[0];
    for c in &C[1..] {
        p = p * r + c;
    }
    // 2^n: n sits in the low bits of t's mantissa; move n + 1023 into the exponent field.
    let two_n = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
    p * two_n
}

/// Collapses antithetic pairs into their averages (the independent units of the estimator).
fn units(ys: &[f64], cs: &[f64], k: usize, antithetic: bool) -> (Vec<f64>, Vec<f64>) {
    if !antithetic {
        return (ys.to_vec(), cs.to_vec());
    }
    let mut uy = Vec::with_capacity(ys.len().div_ceil(2));
    let mut uc = Vec::with_capacity(cs.len().div_ceil(2));
    for (i, pair) in ys.chunks(2).enumerate() {
        let w = 1.0 / pair.len() as f64;
        uy.push(pair.iter().sum::<f64>() * w);
        for c in 0..k {
            let v: f64 = (0..pair.len()).map(|m| cs[(2 * i + m) * k + c]).sum();
            uc.push(v * w);
        }
    }
    (uy, uc)
}

/// The out-of-sample pass of [`price_put`]: fresh paths priced with the frozen policy, one block
/// of [`BLOCK`] paths at a time from its own keyed stream (so the result does not depend on the
/// thread count).
struct FreshPaths<'a> {
    spec: &'a PutSpec,
    cfg: &'a PutConfig,
    policy: &'a crate::Policy,
    /// Fresh paths in all.
    m: usize,
    /// Exercise dates after t = 0.
    d: usize,
    /// Years between exercise dates.
    dt: f64,
    /// Log-spot drift per date, (r − σ²/2)·dt.
    drift: f64,
    /// Log-spot standard deviation per date, σ·√dt.
    sd: f64,
}

impl FreshPaths<'_> {
    /// Block `b`'s values and controls, reduced to its estimation units.
    fn block(&self, b: usize) -> Controls {
        crate::isa::dispatch(
            #[inline(always)]
            || self.block_inline(b),
        )
    }

    /// Block `b`, date by date over its units still running (a path, or an antithetic pair that
    /// shares its normals), kept packed so that the steps and the decisions are vector loops.
    /// Paths are simulated only up to the policy's exercise date (the policy is frozen, nothing
    /// after it matters); for the European control a stopped path then jumps to maturity in one
    /// exact log-normal step, its normal drawn after the date loop, unit by unit (an antithetic
    /// pair shares it, negated).
    #[inline(always)]
    fn block_inline(&self, b: usize) -> Controls {
        let (d, strike, spot) = (self.d, self.spec.strike, self.spec.spot);
        let len = BLOCK.min(self.m - b * BLOCK);
        let anti = self.cfg.antithetic;
        let per = if anti { 2 } else { 1 };
        let n_units = len.div_ceil(per);
        let mut rng = block_rng(self.cfg.seed, SET_FRESH, b as u64);
        // Per path: discounted value, stopping date (d if never), spot there.
        let mut val = vec![0.0; len];
        let mut stop = vec![d; len];
        let mut s_stop = vec![spot; len];
        // The running units, packed: unit, the spot of each member, whether it still runs.
        let mut ids: Vec<usize> = (0..n_units).collect();
        let mut s = [vec![spot; n_units], vec![spot; n_units]];
        let mut live = [
            vec![true; n_units],
            (0..n_units).map(|u| anti && 2 * u + 1 < len).collect(),
        ];
        let mut z = vec![0.0; n_units];
        let mut e = vec![0.0; n_units];
        let mut go = [vec![false; n_units], vec![false; n_units]];
        let mut run = n_units;
        let (drift, sd) = (self.drift, self.sd);
        for j in 0..=d {
            if run == 0 {
                break;
            }
            if j > 0 {
                for v in &mut z[..run] {
                    *v = rng.sample(StandardNormal);
                }
                let (zs, sa) = (&z[..run], &mut s[0][..run]);
                for i in 0..run {
                    sa[i] *= exp_vec(drift + sd * zs[i]);
                }
                if anti {
                    let sb = &mut s[1][..run];
                    for i in 0..run {
                        sb[i] *= exp_vec(drift - sd * zs[i]);
                    }
                }
            }
            for m in 0..per {
                let (sm, em) = (&s[m][..run], &mut e[..run]);
                for i in 0..run {
                    em[i] = (strike - sm[i]).max(0.0);
                }
                // The exercise value is the policy's state (see the module's notes).
                self.policy.exercise_row(j, em, em, &mut go[m][..run]);
            }
            // Book the exercises; keep (packed) the units with a member still running.
            let disc = self.policy.to_origin(j);
            let mut kept = 0;
            for i in 0..run {
                let mut any = false;
                for m in 0..per {
                    if !live[m][i] {
                        continue;
                    }
                    if go[m][i] {
                        let p = ids[i] * per + m;
                        val[p] = (strike - s[m][i]).max(0.0) * disc;
                        stop[p] = j;
                        s_stop[p] = s[m][i];
                        live[m][i] = false;
                    } else {
                        any = true;
                    }
                }
                if any {
                    ids[kept] = ids[i];
                    for m in 0..2 {
                        s[m][kept] = s[m][i];
                        live[m][kept] = live[m][i];
                    }
                    kept += 1;
                }
            }
            run = kept;
        }
        // Paths never exercised end at maturity with nothing.
        for i in 0..run {
            for m in 0..per {
                if live[m][i] {
                    s_stop[ids[i] * per + m] = s[m][i];
                }
            }
        }
        let mut cs = Vec::with_capacity(2 * len);
        for u in 0..n_units {
            let paths = u * per..((u + 1) * per).min(len);
            // The normal of the jump to maturity, shared (negated) by an antithetic pair.
            let jump = (self.cfg.control_variate && paths.clone().any(|p| stop[p] < d))
                .then(|| rng.sample::<f64, _>(StandardNormal));
            for p in paths {
                let sign = if p % per == 0 { 1.0 } else { -1.0 };
                let s_t = match jump {
                    Some(zj) if stop[p] < d => {
                        let tau = (d - stop[p]) as f64 * self.dt;
                        let (r, v) = (self.spec.rate, self.spec.vol);
                        s_stop[p] * ((r - 0.5 * v * v) * tau + v * tau.sqrt() * sign * zj).exp()
                    }
                    _ => s_stop[p],
                };
                cs.extend(controls(
                    self.policy,
                    stop[p],
                    s_stop[p],
                    (strike - s_t).max(0.0),
                ));
            }
        }
        let (uy, uc) = units(&val, &cs, 2, anti);
        Controls::block(&uy, &uc, 2)
    }
}

/// Prices the put: fits the policy on `cfg.paths` paths and, if `cfg.fresh_paths > 0`, evaluates
/// the frozen policy on that many fresh paths.
pub fn price_put(spec: &PutSpec, cfg: &PutConfig) -> Result<PutResult, LsmError> {
    price_put_with_policy(spec, cfg).map(|(r, _)| r)
}

/// [`price_put`], also returning the fitted policy (e.g. for the dual bound of [`crate::dual`]);
/// its state is the exercise value `max(K − S, 0)`, not the spot (see the module's notes).
pub fn price_put_with_policy(
    spec: &PutSpec,
    cfg: &PutConfig,
) -> Result<(PutResult, crate::Policy), LsmError> {
    spec.validate()?;
    cfg.validate()?;
    // The fitting paths are held in memory (their exercise values, 8 bytes a path and date).
    let bytes = cfg.paths as f64 * (spec.dates() + 1) as f64 * 8.0;
    if bytes > MAX_BYTES {
        return Err(LsmError::invalid(
            "--paths",
            format!(
                "{} with {} exercise dates ({:.1} GB of paths)",
                cfg.paths,
                spec.dates(),
                bytes / 1e9
            ),
            "paths × (exercise dates + 1) × 8 bytes must stay within 4 GB: lower --paths or \
             --exercises-per-year",
        ));
    }
    let d = spec.dates();
    let nd = d + 1;
    let n = cfg.paths;
    // Each block simulates straight into its slice of the core's block-major layout; the
    // exercise values are the feature and the payoff at once (see the module's notes).
    let mut ex = vec![0.0; nd * n];
    ex.par_chunks_mut(BLOCK * nd)
        .enumerate()
        .for_each(|(b, eb)| {
            crate::isa::dispatch(
                #[inline(always)]
                || gbm_block(spec, (cfg.antithetic, cfg.seed, SET_FIT), b, eb),
            )
        });
    let set = PathSet::new(n, nd, 1, &ex, &ex)?;
    let disc = vec![(-spec.rate * spec.years / d as f64).exp(); d];
    let fitted = fit(
        &set,
        &disc,
        &Config {
            degree: cfg.degree,
            information: Information::Known,
            ..Config::default()
        },
    )?;
    drop(ex);
    let european = bs_put(spec.spot, spec.strike, spec.rate, spec.vol, spec.years);
    // In-sample stopping dates are not quite stopping times (the fit saw these paths' futures),
    // so the controls' means do not hold there: the in-sample estimate is the plain mean over the
    // estimation units, as in Longstaff–Schwartz.
    let plain: Vec<Controls> = fitted
        .in_sample
        .values
        .par_chunks(BLOCK)
        .map(|ys| {
            let (uy, _) = units(ys, &[], 0, cfg.antithetic);
            Controls::block(&uy, &[], 0)
        })
        .collect();
    let in_sample = estimate(&plain, false, &[]);
    let means = [spec.spot, european];
    let policy = &fitted.policy;
    let out_of_sample = if cfg.fresh_paths > 0 {
        let m = cfg.fresh_paths;
        let dt = spec.years / d as f64;
        let drift = (spec.rate - 0.5 * spec.vol * spec.vol) * dt;
        let sd = spec.vol * dt.sqrt();
        let fresh = FreshPaths {
            spec,
            cfg,
            policy,
            m,
            d,
            dt,
            drift,
            sd,
        };
        let stats: Vec<Controls> = (0..blocks(m))
            .into_par_iter()
            .map(|b| fresh.block(b))
            .collect();
        Some(estimate(&stats, cfg.control_variate, &means))
    } else {
        None
    };
    let result = PutResult {
        in_sample,
        out_of_sample,
        dates: d,
        european,
    };
    Ok((result, fitted.policy))
}

/// The two controls of a path, both with known means: the discounted spot at the stopping date
/// (`S0`: the discounted spot is a martingale and the stopping date is bounded) and the discounted
/// European payoff (Black–Scholes).
#[inline]
fn controls(pol: &crate::Policy, stop: usize, s_stop: f64, payoff_t: f64) -> [f64; 2] {
    let d = pol.dates() - 1;
    [s_stop * pol.to_origin(stop), payoff_t * pol.to_origin(d)]
}

fn estimate(blocks: &[Controls], cv: bool, means: &[f64]) -> Estimate {
    let all = Controls::merge_all(blocks).expect("at least one block");
    if cv {
        all.estimate(means)
    } else {
        all.plain()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::bermudan_put;

    fn spec(spot: f64, vol: f64, years: f64) -> PutSpec {
        PutSpec {
            spot,
            strike: 40.0,
            rate: 0.06,
            vol,
            years,
            exercises_per_year: 50,
        }
    }

    #[test]
    fn quick_price_near_reference() {
        let s = spec(36.0, 0.2, 1.0);
        let r = price_put(
            &s,
            &PutConfig {
                paths: 20_000,
                fresh_paths: 20_000,
                seed: 1,
                degree: 3,
                control_variate: true,
                antithetic: true,
            },
        )
        .unwrap();
        let reference = bermudan_put(36.0, 40.0, 0.06, 0.2, 1.0, 50, 40).unwrap();
        let ins = r.in_sample.value;
        let oos = r.out_of_sample.unwrap().value;
        assert!((ins - reference).abs() < 0.04, "{ins} vs {reference}");
        assert!((oos - reference).abs() < 0.04, "{oos} vs {reference}");
    }

    #[test]
    fn identical_for_any_thread_count() {
        let s = spec(40.0, 0.4, 1.0);
        let cfg = PutConfig {
            paths: 5000,
            fresh_paths: 3000,
            seed: 9,
            degree: 2,
            control_variate: false,
            antithetic: false,
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| price_put(&s, &cfg).unwrap());
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| price_put(&s, &cfg).unwrap());
        assert_eq!(one, three);
    }

    #[test]
    fn zero_vol_is_exact() {
        // Deterministic spot: every path is the same, the regression sees only constants and the
        // policy must pick the best date exactly: S=30 grows at 6%, so exercising now (10) beats
        // any later date.
        let s = PutSpec {
            spot: 30.0,
            vol: 0.0,
            ..spec(30.0, 0.0, 1.0)
        };
        let r = price_put(
            &s,
            &PutConfig {
                paths: 1000,
                fresh_paths: 1000,
                seed: 3,
                degree: 2,
                control_variate: false,
                antithetic: false,
            },
        )
        .unwrap();
        assert!((r.in_sample.value - 10.0).abs() < 1e-12, "{:?}", r);
        assert_eq!(r.in_sample.stderr, 0.0);
        assert!((r.out_of_sample.unwrap().value - 10.0).abs() < 1e-12);
    }

    #[test]
    fn exp_vec_matches_libm() {
        let mut worst: f64 = 0.0;
        for i in -20_000..=20_000 {
            let x = i as f64 * 0.0349; // -698 .. 698
            for dx in [0.0, 1e-9, -3.7e-5, 0.01234] {
                let v = x + dx;
                let rel = (exp_vec(v) - v.exp()).abs() / v.exp();
                worst = worst.max(rel);
            }
        }
        assert!(worst < 5e-16, "worst relative error {worst:e}");
        assert_eq!(exp_vec(0.0), 1.0);
    }

    #[test]
    fn rejects_bad_inputs_naming_the_flag() {
        let bad = PutSpec {
            vol: -0.2,
            ..spec(36.0, 0.2, 1.0)
        };
        let e = price_put(
            &bad,
            &PutConfig {
                paths: 10,
                fresh_paths: 0,
                seed: 1,
                degree: 2,
                control_variate: false,
                antithetic: false,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--vol") && e.contains("-0.2"), "{e}");
        let e = price_put(
            &spec(36.0, 0.2, 1.0),
            &PutConfig {
                paths: 0,
                fresh_paths: 0,
                seed: 1,
                degree: 2,
                control_variate: false,
                antithetic: false,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--paths") && e.contains('0'), "{e}");
        let american = PutSpec {
            exercises_per_year: 20_000,
            ..spec(36.0, 0.2, 1.0)
        };
        let cfg = PutConfig {
            paths: 1_000_000,
            fresh_paths: 0,
            seed: 1,
            degree: 2,
            control_variate: false,
            antithetic: false,
        };
        let e = price_put(&american, &cfg).unwrap_err().to_string();
        assert!(e.contains("--paths") && e.contains("GB"), "{e}");
    }
}
