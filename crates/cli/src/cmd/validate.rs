//! `hashpivot validate`: check the least-squares Monte Carlo core against textbook option values.
//!
//! - `hashpivot validate` runs the Longstaff–Schwartz (2001) Table 1 grid (American puts, K = 40,
//!   r = 0.06, S = 36..44, σ = 0.2/0.4, T = 1/2, 50 exercise dates a year) and prints every case
//!   beside a binomial reference computed here (Cox–Ross–Rubinstein restricted to the same exercise
//!   dates) and the paper's published finite-difference value, with the error and a verdict.
//! - `hashpivot validate american-put --spot S --strike K ...` prices one put.
//!
//! The LSM estimate is the frozen policy's value on fresh paths (out-of-sample: unbiased for the
//! policy it evaluates, a lower bound on the option), with control variates and antithetic pairs;
//! the in-sample estimate (Longstaff–Schwartz's own) is shown beside it.

use std::time::Instant;

use anyhow::Context;
use hashpivot_lsm::dual::{put_upper_bound, DualConfig};
use hashpivot_lsm::reference::{american_put, bermudan_put};
use hashpivot_lsm::table1::{self, Case};
use hashpivot_lsm::{price_put, price_put_with_policy, LsmError, PutConfig, PutResult, PutSpec};
use serde::Serialize;

use crate::error::bad_input;
use crate::output::{print_json, Table};
use crate::Global;

/// `hashpivot validate [american-put ...]`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ValidateArgs {
    #[command(subcommand)]
    command: Option<ValidateCommand>,
    #[command(flatten)]
    grid: GridArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ValidateCommand {
    /// Price one Bermudan/American put with the LSM core, beside a binomial reference.
    AmericanPut(PutArgs),
}

/// Monte Carlo flags shared by the grid and the single put.
#[derive(Debug, Clone, clap::Args)]
struct McArgs {
    /// Paths the exercise policy is fitted on; as many fresh paths price it out of sample.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    paths: u64,
    /// Seed of the keyed random streams.
    #[arg(long, default_value_t = 42, value_name = "X")]
    seed: u64,
    /// Degree of the regression polynomial in the spot (Longstaff–Schwartz used 4 basis functions,
    /// i.e. degree 3).
    #[arg(long, default_value_t = 3, value_name = "D")]
    degree: u64,
    /// Plain Monte Carlo: no control variates, no antithetic pairs.
    #[arg(long)]
    plain: bool,
}

/// The grid (no subcommand).
#[derive(Debug, Clone, clap::Args)]
struct GridArgs {
    #[command(flatten)]
    mc: McArgs,
    /// Largest allowed |LSM − reference| for the verdict.
    #[arg(
        long,
        default_value_t = 0.02,
        value_name = "X",
        allow_negative_numbers = true
    )]
    tolerance: f64,
}

/// `validate american-put`.
#[derive(Debug, Clone, clap::Args)]
struct PutArgs {
    /// Spot price.
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    spot: f64,
    /// Strike.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    strike: f64,
    /// Risk-free rate, continuously compounded, per year (0.06 = 6%).
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    rate: f64,
    /// Volatility per √year (0.2 = 20%).
    #[arg(long, value_name = "V", allow_negative_numbers = true)]
    vol: f64,
    /// Maturity in years.
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    years: f64,
    /// Exercise dates a year (50 as in Longstaff–Schwartz; many more approximate an American put).
    #[arg(
        long,
        default_value_t = 50,
        value_name = "M",
        allow_negative_numbers = true
    )]
    exercises_per_year: i64,
    #[command(flatten)]
    mc: McArgs,
    /// Also bound the value from above: the Andersen–Broadie dual bound by nested simulation
    /// under the fitted policy (docs/UPPER_BOUND.md), beside the out-of-sample lower bound.
    #[arg(long)]
    upper_bound: bool,
    /// Outer paths of the upper bound.
    #[arg(
        long,
        default_value_t = 1000,
        value_name = "N",
        requires = "upper_bound"
    )]
    outer_paths: u64,
    /// Nested paths per continuation estimate of the upper bound (antithetic pairs).
    #[arg(
        long,
        default_value_t = 250,
        value_name = "N",
        requires = "upper_bound"
    )]
    inner_paths: u64,
}

/// Runs the command.
pub fn run(args: &ValidateArgs, g: &Global) -> anyhow::Result<()> {
    match &args.command {
        Some(ValidateCommand::AmericanPut(p)) => run_put(p, g),
        None => run_grid(&args.grid, g),
    }
}

/// Library errors on inputs are the user's (exit 2); anything else is internal.
fn lsm_err(e: LsmError) -> anyhow::Error {
    match e {
        LsmError::Invalid { .. } => bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

fn mc_config(mc: &McArgs) -> anyhow::Result<PutConfig> {
    if mc.paths == 0 || mc.paths > 10_000_000 {
        return Err(bad_input(format!(
            "--paths: {} is not allowed; use 1 to 10000000",
            mc.paths
        )));
    }
    if mc.degree == 0 || mc.degree > 8 {
        return Err(bad_input(format!(
            "--degree: {} is not allowed; use 1 to 8",
            mc.degree
        )));
    }
    let cfg = PutConfig {
        paths: mc.paths as usize,
        fresh_paths: mc.paths as usize,
        seed: mc.seed,
        degree: mc.degree as usize,
        control_variate: !mc.plain,
        antithetic: !mc.plain,
    };
    cfg.validate().map_err(lsm_err)?;
    Ok(cfg)
}

/// Steps of the binomial between two exercise dates: enough for ~4,000 steps in all (the
/// reference converges to ~1e-3 there), at least 2.
fn steps_per_date(dates: usize) -> usize {
    (4000usize.div_ceil(dates)).max(2)
}

/// The largest tree the single-put reference builds (the tree costs steps² / 2).
const MAX_TREE_STEPS: usize = 40_000;

#[derive(Debug, Serialize)]
struct Inputs {
    spot: f64,
    strike: f64,
    rate: f64,
    vol: f64,
    years: f64,
    exercises_per_year: usize,
    exercise_dates: usize,
}

#[derive(Debug, Serialize)]
struct McInfo {
    paths: usize,
    fresh_paths: usize,
    seed: u64,
    degree: usize,
    control_variates: bool,
    antithetic: bool,
}

#[derive(Debug, Serialize)]
struct PutReport {
    /// Out-of-sample LSM value (frozen policy on fresh paths).
    price: f64,
    stderr: f64,
    in_sample: f64,
    in_sample_stderr: f64,
    /// in-sample − out-of-sample.
    gap: f64,
    /// Binomial value of the same Bermudan contract (null when the tree would be too large).
    reference: Option<f64>,
    /// price − reference.
    error: Option<f64>,
    american_binomial: Option<f64>,
    european_black_scholes: f64,
    inputs: Inputs,
    monte_carlo: McInfo,
    /// With `--upper-bound` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    upper_bound: Option<UpperBound>,
}

/// A value with its standard error.
#[derive(Debug, Clone, Copy, Serialize)]
struct ValueSe {
    value: f64,
    stderr: f64,
}

/// `--upper-bound`: both bounds, the gap and the work.
#[derive(Debug, Clone, Serialize)]
struct UpperBound {
    /// Out-of-sample value of the fitted policy (a lower bound).
    lower: ValueSe,
    /// Andersen–Broadie dual bound (an upper bound).
    upper: ValueSe,
    /// upper − lower (independent paths: the standard errors add in quadrature).
    gap: ValueSe,
    method: &'static str,
    /// Paths the lower bound is estimated on.
    lower_paths: usize,
    outer_paths: usize,
    inner_paths: usize,
    /// Nested continuation estimates made (in-the-money dates of the outer paths).
    nested_estimates: u64,
    /// Nested path-steps simulated.
    nested_steps: u64,
}

/// The dual bound of `policy` beside the out-of-sample lower bound `oos`, and its seconds.
fn upper_bound(
    a: &PutArgs,
    spec: &PutSpec,
    policy: &hashpivot_lsm::Policy,
    oos: hashpivot_lsm::Estimate,
) -> anyhow::Result<(UpperBound, f64)> {
    let dual = DualConfig {
        outer: usize::try_from(a.outer_paths).unwrap_or(usize::MAX),
        inner: usize::try_from(a.inner_paths).unwrap_or(usize::MAX),
        seed: a.mc.seed,
    };
    dual.validate().map_err(lsm_err)?;
    let t0 = Instant::now();
    let b = put_upper_bound(spec, policy, &dual).map_err(lsm_err)?;
    let secs = t0.elapsed().as_secs_f64();
    let gap_se = (b.upper.stderr * b.upper.stderr + oos.stderr * oos.stderr).sqrt();
    Ok((
        UpperBound {
            lower: ValueSe {
                value: oos.value,
                stderr: oos.stderr,
            },
            upper: ValueSe {
                value: b.upper.value,
                stderr: b.upper.stderr,
            },
            gap: ValueSe {
                value: b.upper.value - oos.value,
                stderr: gap_se,
            },
            method: "Andersen-Broadie (2004) dual bound, nested simulation under the fitted policy",
            lower_paths: oos.paths as usize,
            outer_paths: b.outer_paths,
            inner_paths: b.inner_paths,
            nested_estimates: b.nested_estimates,
            nested_steps: b.nested_steps,
        },
        secs,
    ))
}

fn print_upper_bound(u: &UpperBound, secs: f64) {
    let mut t = Table::new(["bound", "value", "stderr"]);
    t.row([
        "lower (frozen policy, fresh paths)".to_string(),
        format!("{:.4}", u.lower.value),
        format!("{:.4}", u.lower.stderr),
    ]);
    t.row([
        "upper (Andersen–Broadie dual)".to_string(),
        format!("{:.4}", u.upper.value),
        format!("{:.4}", u.upper.stderr),
    ]);
    t.row([
        "gap (upper − lower)".to_string(),
        format!("{:+.4}", u.gap.value),
        format!("{:.4}", u.gap.stderr),
    ]);
    println!();
    print!("{}", t.render());
    println!(
        "upper bound: {} outer paths × {} nested paths per in-the-money date ({} nested \
         estimates, {} path-steps), {secs:.2} s",
        crate::output::thousands(u.outer_paths as f64, 0),
        crate::output::thousands(u.inner_paths as f64, 0),
        crate::output::thousands(u.nested_estimates as f64, 0),
        crate::output::thousands(u.nested_steps as f64, 0),
    );
}

/// The binomial values of the same Bermudan contract and of the American put, when the trees are
/// small enough (see [`MAX_TREE_STEPS`]) and the volatility is positive.
fn references(spec: &PutSpec) -> Result<(Option<f64>, Option<f64>), LsmError> {
    let dates = spec.dates();
    let per = steps_per_date(dates);
    if !(spec.vol > 0.0 && dates * per <= MAX_TREE_STEPS) {
        return Ok((None, None));
    }
    let b = bermudan_put(
        spec.spot,
        spec.strike,
        spec.rate,
        spec.vol,
        spec.years,
        dates,
        per,
    )?;
    let am = american_put(
        spec.spot,
        spec.strike,
        spec.rate,
        spec.vol,
        spec.years,
        4000,
    )?;
    Ok((Some(b), Some(am)))
}

fn mc_info(cfg: &PutConfig) -> McInfo {
    McInfo {
        paths: cfg.paths,
        fresh_paths: cfg.fresh_paths,
        seed: cfg.seed,
        degree: cfg.degree,
        control_variates: cfg.control_variate,
        antithetic: cfg.antithetic,
    }
}

/// The estimates of `validate put` for humans: the LSM price, its in-sample twin and their gap,
/// the binomial references when there are any, and Black–Scholes' European value.
fn put_table(rep: &PutReport) -> Table {
    let mut t = Table::new(["estimate", "value", "stderr"]);
    t.row([
        "price (frozen policy, fresh paths)".to_string(),
        format!("{:.4}", rep.price),
        format!("{:.4}", rep.stderr),
    ]);
    t.row([
        "in-sample (fitting paths)".to_string(),
        format!("{:.4}", rep.in_sample),
        format!("{:.4}", rep.in_sample_stderr),
    ]);
    t.row([
        "gap (in-sample − price)".to_string(),
        format!("{:+.4}", rep.gap),
        String::new(),
    ]);
    if let (Some(b), Some(am)) = (rep.reference, rep.american_binomial) {
        t.row([
            "binomial, same exercise dates".to_string(),
            format!("{b:.4}"),
            String::new(),
        ]);
        t.row([
            "error (price − binomial)".to_string(),
            format!("{:+.4}", rep.price - b),
            String::new(),
        ]);
        t.row([
            "binomial, American".to_string(),
            format!("{am:.4}"),
            String::new(),
        ]);
    }
    t.row([
        "European (Black–Scholes)".to_string(),
        format!("{:.4}", rep.european_black_scholes),
        String::new(),
    ]);
    t
}

fn run_put(a: &PutArgs, g: &Global) -> anyhow::Result<()> {
    if a.exercises_per_year <= 0 {
        return Err(bad_input(format!(
            "--exercises-per-year: {} is not allowed; use 1 to 100000",
            a.exercises_per_year
        )));
    }
    let spec = PutSpec {
        spot: a.spot,
        strike: a.strike,
        rate: a.rate,
        vol: a.vol,
        years: a.years,
        exercises_per_year: a.exercises_per_year as usize,
    };
    spec.validate().map_err(lsm_err)?;
    let cfg = mc_config(&a.mc)?;
    let dates = spec.dates();
    let pb = crate::progress::bar(1, "LSM");
    let t0 = Instant::now();
    // The binomial references are serial; they run on their own thread while the LSM uses the
    // worker pool, so the whole command takes little more than the LSM.
    let (r, refs) = std::thread::scope(|sc| {
        let refs = sc.spawn(|| references(&spec));
        let r = price_put_with_policy(&spec, &cfg);
        (r, refs.join())
    });
    let (r, policy) = r.map_err(lsm_err)?;
    let secs = t0.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let (reference, american) = refs
        .map_err(|_| anyhow::anyhow!("the binomial reference failed"))?
        .map_err(lsm_err)?;
    let oos = r.out_of_sample.context("out-of-sample estimate missing")?;
    let ub = if a.upper_bound {
        Some(upper_bound(a, &spec, &policy, oos)?)
    } else {
        None
    };
    let rep = PutReport {
        price: oos.value,
        stderr: oos.stderr,
        in_sample: r.in_sample.value,
        in_sample_stderr: r.in_sample.stderr,
        gap: r.in_sample.value - oos.value,
        reference,
        error: reference.map(|b| oos.value - b),
        american_binomial: american,
        european_black_scholes: r.european,
        inputs: Inputs {
            spot: spec.spot,
            strike: spec.strike,
            rate: spec.rate,
            vol: spec.vol,
            years: spec.years,
            exercises_per_year: spec.exercises_per_year,
            exercise_dates: dates,
        },
        monte_carlo: mc_info(&cfg),
        upper_bound: ub.as_ref().map(|u| u.0.clone()),
    };
    if g.json {
        return print_json(&rep);
    }
    println!(
        "Put S = {}, K = {}, r = {}, σ = {}, T = {} y, exercisable at t = 0 and on {} dates \
         ({} a year)",
        spec.spot, spec.strike, spec.rate, spec.vol, spec.years, dates, spec.exercises_per_year
    );
    println!(
        "LSM: {} paths fitted + {} fresh, degree-{} polynomial, seed {}{}",
        crate::output::thousands(cfg.paths as f64, 0),
        crate::output::thousands(cfg.fresh_paths as f64, 0),
        cfg.degree,
        cfg.seed,
        if cfg.control_variate {
            ", control variates, antithetic pairs"
        } else {
            ", plain Monte Carlo"
        }
    );
    println!();
    print!("{}", put_table(&rep).render());
    if reference.is_none() {
        println!(
            "(no binomial reference: zero volatility or more than {MAX_TREE_STEPS} tree steps)"
        );
    }
    if let Some((u, s)) = &ub {
        print_upper_bound(u, *s);
    }
    println!("\nLSM took {secs:.2} s");
    Ok(())
}

#[derive(Debug, Serialize)]
struct GridCase {
    spot: f64,
    vol: f64,
    years: f64,
    /// Longstaff–Schwartz (2001) Table 1 finite-difference American value.
    published_fd_american: f64,
    /// CRR binomial restricted to the exercise dates.
    reference: f64,
    price: f64,
    stderr: f64,
    in_sample: f64,
    in_sample_stderr: f64,
    /// price − reference.
    error: f64,
    pass: bool,
}

#[derive(Debug, Serialize)]
struct GridReport {
    source: &'static str,
    strike: f64,
    rate: f64,
    exercises_per_year: usize,
    tolerance: f64,
    pass: bool,
    failures: usize,
    max_abs_error: f64,
    monte_carlo: McInfo,
    cases: Vec<GridCase>,
}

fn run_case(k: &Case, cfg: &PutConfig, tol: f64) -> anyhow::Result<GridCase> {
    let spec = PutSpec {
        spot: k.spot,
        strike: table1::STRIKE,
        rate: table1::RATE,
        vol: k.vol,
        years: k.years,
        exercises_per_year: table1::EXERCISES_PER_YEAR,
    };
    let dates = spec.dates();
    let reference = bermudan_put(
        k.spot,
        table1::STRIKE,
        table1::RATE,
        k.vol,
        k.years,
        dates,
        steps_per_date(dates),
    )
    .map_err(lsm_err)?;
    let r: PutResult = price_put(&spec, cfg).map_err(lsm_err)?;
    let oos = r.out_of_sample.context("out-of-sample estimate missing")?;
    let error = oos.value - reference;
    Ok(GridCase {
        spot: k.spot,
        vol: k.vol,
        years: k.years,
        published_fd_american: k.fd_american,
        reference,
        price: oos.value,
        stderr: oos.stderr,
        in_sample: r.in_sample.value,
        in_sample_stderr: r.in_sample.stderr,
        error,
        pass: error.abs() <= tol,
    })
}

fn run_grid(a: &GridArgs, g: &Global) -> anyhow::Result<()> {
    if !(a.tolerance.is_finite() && a.tolerance > 0.0 && a.tolerance <= 10.0) {
        return Err(bad_input(format!(
            "--tolerance: {} is not allowed; use a value in (0, 10]",
            a.tolerance
        )));
    }
    let cfg = mc_config(&a.mc)?;
    let pb = crate::progress::bar(table1::CASES.len() as u64, "Table 1");
    let t0 = Instant::now();
    let mut cases = Vec::with_capacity(table1::CASES.len());
    for k in &table1::CASES {
        cases.push(run_case(k, &cfg, a.tolerance)?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    let failures = cases.iter().filter(|c| !c.pass).count();
    let worst = cases
        .iter()
        .max_by(|x, y| x.error.abs().total_cmp(&y.error.abs()))
        .context("no cases")?;
    let rep = GridReport {
        source: "Longstaff and Schwartz (2001), Review of Financial Studies 14(1), Table 1",
        strike: table1::STRIKE,
        rate: table1::RATE,
        exercises_per_year: table1::EXERCISES_PER_YEAR,
        tolerance: a.tolerance,
        pass: failures == 0,
        failures,
        max_abs_error: worst.error.abs(),
        monte_carlo: mc_info(&cfg),
        cases,
    };
    if g.json {
        print_json(&rep)?;
    } else {
        print_grid(&rep, secs);
    }
    if rep.pass {
        Ok(())
    } else if g.json {
        // The document above is the answer; a failed validation still exits 1.
        std::process::exit(1);
    } else {
        anyhow::bail!(
            "validation failed: {} of {} cases outside ±{}",
            rep.failures,
            rep.cases.len(),
            rep.tolerance
        )
    }
}

fn print_grid(rep: &GridReport, secs: f64) {
    println!(
        "Longstaff–Schwartz (2001) Table 1: American put, K = {}, r = {}, {} exercise dates a year",
        rep.strike, rep.rate, rep.exercises_per_year
    );
    let mc = &rep.monte_carlo;
    println!(
        "LSM: {} paths fitted + {} fresh, degree-{} polynomial, seed {}{}",
        crate::output::thousands(mc.paths as f64, 0),
        crate::output::thousands(mc.fresh_paths as f64, 0),
        mc.degree,
        mc.seed,
        if mc.control_variates {
            ", control variates, antithetic pairs"
        } else {
            ", plain Monte Carlo"
        }
    );
    println!();
    let mut t = Table::new([
        "S",
        "σ",
        "T (y)",
        "LS 2001 FD",
        "reference",
        "LSM",
        "stderr",
        "error",
        "in-sample",
        "check",
    ]);
    t = t.align(0, crate::output::Align::Right);
    for c in &rep.cases {
        t.row([
            format!("{}", c.spot),
            format!("{:.1}", c.vol),
            format!("{}", c.years),
            format!("{:.3}", c.published_fd_american),
            format!("{:.4}", c.reference),
            format!("{:.4}", c.price),
            format!("{:.4}", c.stderr),
            format!("{:+.4}", c.error),
            format!("{:.4}", c.in_sample),
            if c.pass { "ok" } else { "FAIL" }.to_string(),
        ]);
    }
    print!("{}", t.render());
    println!();
    println!(
        "reference: CRR binomial tree exercisable only on the same dates (the Bermudan contract LSM \
         prices), computed here; LS 2001 FD: the paper's finite-difference American value."
    );
    println!(
        "LSM: the fitted policy frozen and applied to fresh paths (out-of-sample); in-sample: on \
         the fitting paths."
    );
    if rep.pass {
        println!(
            "verdict: PASS — all {} cases within ±{} of the reference (largest |error| {:.4}); {:.1} s",
            rep.cases.len(),
            rep.tolerance,
            rep.max_abs_error,
            secs
        );
    } else {
        println!(
            "verdict: FAIL — {} of {} cases outside ±{} (largest |error| {:.4}); {:.1} s",
            rep.failures,
            rep.cases.len(),
            rep.tolerance,
            rep.max_abs_error,
            secs
        );
    }
}
