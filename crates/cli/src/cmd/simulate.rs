//! `hashpivot simulate` (the Monte Carlo engine, MODEL.md sections 3–7) and `hashpivot payback`
//! (one machine bought today, priced on the scenario's paths).

use std::path::{Path, PathBuf};

use hashpivot_model::payback::{payback, PaybackConfig, PaybackOutput};
use hashpivot_model::result::{OptimalDetail, Regime};
use hashpivot_model::scenario::Scenario;
use hashpivot_model::{simulate, ModelError, RunConfig, SimOutput, StrategyKind};

use crate::error::bad_input;
use crate::output::{print_json, thousands, Table};
use crate::Global;

/// Arguments of `hashpivot simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Scenario file (TOML). Default: the embedded default scenario (`hashpivot scenario show`).
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// How to run it.
    #[command(flatten)]
    pub run: RunFlags,
    /// With --strategy optimal: also a dual (martingale) upper bound on the conversion option's
    /// value, beside the out-of-sample lower bound on the same fresh paths, with the gap
    /// (docs/UPPER_BOUND.md).
    #[arg(long)]
    pub upper_bound: bool,
    /// Paths the upper bound's martingale is fitted on (the run's first paths; default: up to
    /// 10,000).
    #[arg(long, value_name = "N", requires = "upper_bound")]
    pub fit_paths: Option<u64>,
    /// Fresh paths both bounds are averaged over (default: up to 10,000 of the run's fresh
    /// paths, which are as many as --paths).
    #[arg(long, value_name = "N", requires = "upper_bound")]
    pub outer_paths: Option<u64>,
}

/// The sampling flags of every Monte Carlo command (`simulate`, `sweep`, `shard plan`,
/// `compare`): paths, seed, threads, antithetic variates, currency.
#[derive(Debug, Clone, clap::Args)]
pub struct SampleFlags {
    /// Monte Carlo paths (default: the scenario's run.paths).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Seed of the random streams (default: the scenario's run.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). The numbers do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Antithetic variates (pairs of paths with opposite shocks).
    #[arg(long)]
    pub antithetic: bool,
    /// Currency of the results: usd or btc (every day's cash at that day's BTC price; MODEL.md
    /// §11). Overrides the scenario's run.currency.
    #[arg(long, value_name = "usd|btc")]
    pub currency: Option<String>,
}

impl SampleFlags {
    /// The flags → a run configuration without a strategy (validated: each message names the
    /// flag, value and range).
    pub fn config(&self) -> anyhow::Result<RunConfig> {
        check_paths_threads(self.paths, self.threads)?;
        Ok(RunConfig {
            paths: self.paths,
            seed: self.seed,
            threads: self.threads,
            antithetic: self.antithetic,
            ..RunConfig::default()
        })
    }
}

/// The run flags of `simulate`, `sweep` and `shard plan`: the sampling flags and the strategy.
#[derive(Debug, Clone, clap::Args)]
pub struct RunFlags {
    /// Paths, seed, threads, antithetic, currency.
    #[command(flatten)]
    pub sample: SampleFlags,
    /// Strategy to compare with `mine`: mine, convert, schedule, sweep, optimal (default:
    /// strategy.kind).
    #[arg(long, value_name = "KIND")]
    pub strategy: Option<String>,
    /// Share of the site converted on day 0 (implies --strategy convert).
    #[arg(long, value_name = "X")]
    pub share: Option<f64>,
}

/// Applies a `--currency` flag to the scenario (the flag overrides `run.currency`).
pub fn apply_currency(sc: &mut Scenario, flag: Option<&str>) -> anyhow::Result<()> {
    use hashpivot_model::result::Currency;
    if let Some(c) = flag {
        sc.run.currency = match c.to_ascii_lowercase().as_str() {
            "usd" => Currency::Usd,
            "btc" => Currency::Btc,
            _ => {
                return Err(bad_input(format!(
                    "--currency: {c:?} is not a currency; use usd or btc"
                )))
            }
        };
    }
    Ok(())
}

/// How money prints in the tables of the run's currency: the column unit and the figure
/// (`$M` with one decimal, or BTC with one decimal).
pub fn money_unit(c: hashpivot_model::result::Currency) -> (&'static str, fn(f64) -> String) {
    match c {
        hashpivot_model::result::Currency::Usd => ("$M", m),
        hashpivot_model::result::Currency::Btc => ("BTC", |x| thousands(x, 1)),
    }
}

/// Reads and validates a scenario file, or returns the embedded default. Every problem is bad
/// input (exit 2) naming the file, the key or line, the value and what is allowed.
pub fn load_scenario(path: Option<&Path>) -> anyhow::Result<(Scenario, String)> {
    match path {
        None => Ok((Scenario::default(), super::market::default_label())),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| bad_input(format!("SCENARIO: cannot read {}: {e}", p.display())))?;
            let sc = Scenario::parse_and_validate(&text)
                .map_err(|e| bad_input(format!("{}: {e}", p.display())))?;
            Ok((sc, p.display().to_string()))
        }
    }
}

/// Maps engine errors: bad scenario/options are the user's (exit 2), the rest internal.
pub fn model_err(e: ModelError) -> anyhow::Error {
    match e {
        ModelError::Scenario(_)
        | ModelError::BadOption { .. }
        | ModelError::NonFinite { .. }
        | ModelError::NotImplemented(_) => bad_input(format!("{e}")),
        other => anyhow::Error::new(other),
    }
}

/// `--paths` and `--threads` in range (each message names the flag, the value and the range).
pub fn check_paths_threads(paths: Option<u64>, threads: Option<usize>) -> anyhow::Result<()> {
    let max = hashpivot_model::scenario::MAX_PATHS;
    if let Some(p) = paths {
        if p == 0 || p > max {
            return Err(bad_input(format!(
                "--paths: {p} is not allowed; use 1 to {max}"
            )));
        }
    }
    if let Some(t) = threads {
        if t == 0 || t > 1024 {
            return Err(bad_input(format!(
                "--threads: {t} is not allowed; use 1 to 1024"
            )));
        }
    }
    Ok(())
}

/// Flags → a run configuration (validated: each message names the flag, value and range).
pub(crate) fn run_config(args: &RunFlags) -> anyhow::Result<RunConfig> {
    let base = args.sample.config()?;
    if let Some(s) = args.share {
        if !(0.0..=1.0).contains(&s) {
            return Err(bad_input(format!(
                "--share: {s} is outside the allowed range 0 to 1"
            )));
        }
    }
    let strategy = match &args.strategy {
        None => args.share.map(|_| StrategyKind::Convert),
        Some(s) => {
            let k = StrategyKind::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
                bad_input(format!(
                    "--strategy: {s:?} is not a strategy; use mine, convert, schedule, sweep or optimal"
                ))
            })?;
            if args.share.is_some() && k != StrategyKind::Convert {
                return Err(bad_input(format!(
                    "--share: only with --strategy convert (got --strategy {k})"
                )));
            }
            Some(k)
        }
    };
    Ok(RunConfig {
        strategy,
        share: args.share,
        ..base
    })
}

/// Runs `hashpivot simulate`.
pub fn run(args: &SimulateArgs, g: &Global) -> anyhow::Result<()> {
    let (mut sc, label) = load_scenario(args.scenario.as_deref())?;
    apply_currency(&mut sc, args.run.sample.currency.as_deref())?;
    let cfg = run_config(&args.run)?;
    let pb = crate::progress::bar(1000, "simulate");
    let started = std::time::Instant::now();
    let bound = args
        .upper_bound
        .then_some(hashpivot_model::strategy::optimal_dual::BoundRequest {
            fit_paths: args.fit_paths,
            outer_paths: args.outer_paths,
        });
    let tick = |f: f64| pb.set_position((f * 1000.0) as u64);
    let out = match bound {
        None => simulate(&sc, &cfg, &tick),
        Some(b) => {
            hashpivot_model::simulate_with_bound(&sc, &cfg, Some(b), &tick).map(|r| r.output)
        }
    }
    .map_err(model_err)?;
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if g.json {
        return print_json(&out);
    }
    print!("{}", render(&sc, &label, &cfg, &out, secs));
    Ok(())
}

fn m(x: f64) -> String {
    thousands(x / 1e6, 1)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub(crate) fn name(r: &hashpivot_model::StrategyResult) -> String {
    match r.share {
        Some(s) => format!("{} {:.0}%", r.strategy, 100.0 * s),
        None => r.strategy.clone(),
    }
}

/// Human output: the run, one row per strategy, and what the numbers mean.
pub(crate) fn render(
    sc: &Scenario,
    label: &str,
    cfg: &RunConfig,
    out: &SimOutput,
    secs: f64,
) -> String {
    let mut s = String::new();
    let days = sc.days();
    s.push_str(&format!(
        "Scenario: {label}\n{} MW site, {} days ({} years), {} paths, seed {}{}; {:.2} s\n\n",
        thousands(sc.site.power_mw, 0),
        thousands(days as f64, 0),
        sc.run.horizon_years,
        thousands(out.paths as f64, 0),
        out.seed,
        if cfg.antithetic { ", antithetic" } else { "" },
        secs
    ));
    let (u, m) = money_unit(out.currency);
    let mut t = Table::new([
        "strategy".to_string(),
        format!("NPV mean {u}"),
        "± stderr".into(),
        format!("p5 {u}"),
        format!("p50 {u}"),
        format!("p95 {u}"),
        format!("mining {u}"),
        format!("AI {u}"),
        "P(NPV<0)".into(),
        "P(< mine)".into(),
        format!("CVaR5 {u}"),
    ]);
    for r in &out.results {
        t.row([
            name(r),
            m(r.npv.mean),
            m(r.npv.stderr),
            m(r.npv.p5),
            m(r.npv.p50),
            m(r.npv.p95),
            m(r.mining_npv_mean),
            m(r.ai_npv_mean),
            pct(r.prob_negative),
            pct(r.prob_below_mine),
            m(r.cvar5),
        ]);
    }
    s.push_str(&t.render());
    s.push('\n');
    if let Some(f) = &sc.finance {
        s.push_str(&equity_human(f, out));
        s.push('\n');
    }
    for r in &out.results {
        if let Some(d) = r.optimal() {
            s.push_str(&optimal_human(d, out.currency));
            s.push('\n');
        }
    }
    // Plain-English summary.
    let mine = &out.results[0];
    let best = out
        .results
        .iter()
        .max_by(|a, b| a.npv.mean.total_cmp(&b.npv.mean))
        .unwrap_or(mine);
    // "$12.3 M" in USD, "12,345.6 BTC" in the BTC view.
    let (pre, post) = match out.currency {
        hashpivot_model::result::Currency::Usd => ("$", " M"),
        hashpivot_model::result::Currency::Btc => ("", " BTC"),
    };
    s.push_str(&format!(
        "Keep mining: mean NPV {pre}{}{post} (5% of paths below {pre}{}{post}).\n",
        m(mine.npv.mean),
        m(mine.npv.p5)
    ));
    if best.strategy == "mine" || std::ptr::eq(best, mine) {
        s.push_str("No conversion beats mining on the mean NPV in this scenario.\n");
    } else {
        let diff = best.npv.mean - mine.npv.mean;
        s.push_str(&format!(
            "Best on the mean: {} at {pre}{}{post}, {pre}{}{post} more than mining; it beats mining on {} of paths.\n",
            name(best),
            m(best.npv.mean),
            m(diff),
            pct(1.0 - best.prob_below_mine)
        ));
    }
    // Place the scenario's lease rate among the deals miners have announced (their rates are
    // averages over the base term, so with escalators they sit above first-year rent).
    let rate = sc.ai.lease_usd_per_kw_month;
    s.push_str(&format!(
        "Lease: your ${}/kW-month is {} (average over term; `hashpivot leases` lists them).\n",
        thousands(rate, 0),
        hashpivot_data::leases::lease_rank(rate).phrase()
    ));
    if let Some(h) = sc.power.as_ref().and_then(|p| p.hourly.as_ref()) {
        s.push_str(&format!(
            "\nNote: [power] hourly = {h:?} is checked but not yet applied; the flat site.power_usd_mwh is used.\n"
        ));
    }
    s.push_str(
        "\nNPV: present value at day 0 of the site's net cash (mining at the mining discount rate, AI at the\n\
         AI rate), incl. salvage, capex and any terminal value. All strategies run on the same paths, so\n\
         P(< mine) is the share of paths on which the strategy does worse than keeping the fleet mining.\n\
         CVaR5 is the mean of the worst 5% of paths. ± is the Monte Carlo standard error of the mean.\n",
    );
    if !out.currency.is_usd() {
        s.push_str(
            "BTC view (run.currency = \"btc\"): every day's cash is converted at that day's BTC price before\n\
             discounting (the terminal value at the last day's), so the figures are what the decision adds\n\
             to a bitcoin treasury.\n",
        );
    }
    s
}

/// A rate or `–` when there is none.
fn opt_pct(x: Option<f64>) -> String {
    x.map(pct).unwrap_or_else(|| "–".into())
}

/// The equity block (MODEL.md §10): per strategy, the equity NPV (mining + levered AI), the AI
/// equity part, the median IRRs, the DSCR's 5th percentile and the covenant breach probability.
fn equity_human(f: &hashpivot_model::scenario::Finance, out: &SimOutput) -> String {
    let rate = format!("{:.3}", 100.0 * f.debt_rate);
    let rate = rate.trim_end_matches('0').trim_end_matches('.');
    let mut s = format!(
        "Equity view: {} loan-to-cost at {rate}% for {} years from the ready day, equity at {}:\n",
        pct(f.ltc),
        f.tenor_years,
        pct(f.cost_of_equity)
    );
    let breach = format!("P(DSCR<{})", f.min_dscr);
    // In the run's currency, like the NPV table (the BTC view: figures in BTC, not $M).
    let (u, m) = money_unit(out.currency);
    let mut t = Table::new([
        "strategy".to_string(),
        format!("equity NPV {u}"),
        "± stderr".into(),
        format!("p5 {u}"),
        format!("p95 {u}"),
        format!("AI equity {u}"),
        "equity IRR p50".into(),
        "project IRR p50".into(),
        "DSCR p5".into(),
        breach,
    ]);
    for r in &out.results {
        let Some(e) = &r.equity else { continue };
        t.row([
            name(r),
            m(e.equity_npv.mean),
            m(e.equity_npv.stderr),
            m(e.equity_npv.p5),
            m(e.equity_npv.p95),
            m(e.equity_npv_mean_ai),
            opt_pct(e.equity_irr.p50),
            opt_pct(e.project_irr.p50),
            e.dscr_min
                .p5
                .map(|d| format!("{d:.2}"))
                .unwrap_or_else(|| "–".into()),
            opt_pct(e.dscr_min.prob_below_min),
        ]);
    }
    s.push_str(&t.render());
    s.push_str(
        "Equity NPV: mining NPV plus the AI stream after debt service (draws − payments, the debt still owed\n\
         repaid on the last day) at the cost of equity. IRRs are medians over the paths with a root; DSCR is\n\
         the smallest yearly rent × NOI / debt service of a path, over its whole loan years.\n",
    );
    s
}

/// Arguments of `hashpivot payback`.
#[derive(Debug, clap::Args)]
pub struct PaybackArgs {
    /// Machine model from the catalog (`hashpivot machines`), e.g. "S21 XP".
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// Scenario file (TOML). Default: the embedded default scenario.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Price of the machine, $ per TH/s.
    #[arg(long, value_name = "X")]
    pub machine_price_usd_per_th: f64,
    /// Life of the machine, years (default: mining.refresh_every_years, else 5).
    #[arg(long, value_name = "YEARS")]
    pub life_years: Option<f64>,
    /// Monte Carlo paths (default: the scenario's run.paths).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Seed (default: the scenario's run.seed).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs `hashpivot payback`.
pub fn run_payback(args: &PaybackArgs, g: &Global) -> anyhow::Result<()> {
    let (sc, label) = load_scenario(args.scenario.as_deref())?;
    let x = args.machine_price_usd_per_th;
    if !(x.is_finite() && x > 0.0 && x <= 1e4) {
        return Err(bad_input(format!(
            "--machine-price-usd-per-th: {x} is outside the allowed range (0, 10000] $/TH"
        )));
    }
    if let Some(p) = args.paths {
        let max = hashpivot_model::scenario::MAX_PATHS;
        if p == 0 || p > max {
            return Err(bad_input(format!(
                "--paths: {p} is not allowed; use 1 to {max}"
            )));
        }
    }
    if let Some(l) = args.life_years {
        if !(l.is_finite() && l * 365.0 >= 1.0 && l <= 50.0) {
            return Err(bad_input(format!(
                "--life-years: {l} is outside the allowed range 1/365 to 50"
            )));
        }
    }
    let catalog =
        hashpivot_model::catalog::Catalog::builtin().map_err(|e| anyhow::anyhow!("{e}"))?;
    let machine = catalog
        .find(&args.model)
        .map_err(|e| bad_input(format!("MODEL: {e}")))?;
    let cfg = PaybackConfig {
        hashrate_ths: machine.hashrate_ths,
        power_w: machine.power_w,
        price_usd_per_th: x,
        life_years: args.life_years,
        paths: args.paths,
        seed: args.seed,
    };
    let pb = crate::progress::bar(1000, "payback");
    let out = payback(&sc, &cfg, &|f| pb.set_position((f * 1000.0) as u64)).map_err(model_err)?;
    pb.finish_and_clear();
    if g.json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            model: &'a str,
            hashrate_ths: f64,
            power_w: f64,
            #[serde(flatten)]
            out: &'a PaybackOutput,
        }
        return print_json(&Doc {
            model: &machine.model,
            hashrate_ths: machine.hashrate_ths,
            power_w: machine.power_w,
            out: &out,
        });
    }
    print!(
        "{}",
        render_payback(
            &machine.model,
            machine.hashrate_ths,
            machine.power_w,
            &label,
            &out
        )
    );
    Ok(())
}

fn render_payback(model: &str, ths: f64, w: f64, label: &str, o: &PaybackOutput) -> String {
    let mut s = format!(
        "{model}: {ths} TH/s, {w} W ({:.1} J/TH), bought today for ${} (${}/TH)\nScenario: {label}; {} paths, seed {}; life {} days\n\n",
        w / ths,
        thousands(o.price_usd, 0),
        o.price_usd_per_th,
        thousands(o.paths as f64, 0),
        o.seed,
        o.life_days
    );
    let fmt_days = |d: Option<f64>| {
        d.map(|x| format!("{} d", thousands(x, 0)))
            .unwrap_or_else(|| "never".into())
    };
    let fmt_irr = |d: Option<f64>| {
        d.map(|x| format!("{:.1}%", 100.0 * x))
            .unwrap_or_else(|| "n/a".into())
    };
    let mut t = Table::new(["", "p5", "p50", "p95", "mean"]);
    t.row([
        "payback".to_string(),
        fmt_days(o.payback_days.p5),
        fmt_days(o.payback_days.p50),
        fmt_days(o.payback_days.p95),
        String::new(),
    ]);
    t.row([
        "IRR / year".to_string(),
        fmt_irr(o.irr.p5),
        fmt_irr(o.irr.p50),
        fmt_irr(o.irr.p95),
        String::new(),
    ]);
    t.row([
        "NPV $".to_string(),
        thousands(o.npv_usd.p5, 0),
        thousands(o.npv_usd.p50, 0),
        thousands(o.npv_usd.p95, 0),
        thousands(o.npv_usd.mean, 0),
    ]);
    s.push_str(&t.render());
    s.push_str(&format!(
        "\nP(pays back before the next halving) = {:.1}%   (halving on day {} at the median)\nP(pays back before end of life)      = {:.1}%\nP(NPV < 0)                            = {:.1}%\n",
        100.0 * o.prob_payback_before_halving,
        o.halving_day_p50.map(|d| thousands(d, 0)).unwrap_or_else(|| "-".into()),
        100.0 * o.prob_payback_before_end_of_life,
        100.0 * o.prob_npv_negative
    ));
    s.push_str("\nPayback: first day the machine's undiscounted cumulative cash (after power, pool fee and opex)\nrepays its price; 'never' percentiles mean that share of paths never pays back. IRR per year from\nthe daily cash flows incl. salvage at end of life; NPV at the mining discount rate.\n");
    s
}

/// `--upper-bound`: both bounds, the gap and perfect foresight's gap on the same fresh paths.
fn bound_human(
    b: &hashpivot_model::result::OptimalBound,
    m: fn(f64) -> String,
    pre: &str,
    post: &str,
) -> String {
    let what = if b.objective == "equity_npv" {
        "equity NPV (mining NPV + AI equity NPV: what the levered policy maximizes)"
    } else {
        "NPV"
    };
    let mut t = Table::new(["bound", "mean", "± stderr"]);
    let mut row = |name: &str, e: &hashpivot_model::result::Est| {
        t.row([
            name.to_string(),
            format!("{pre}{}{post}", m(e.mean)),
            m(e.stderr),
        ]);
    };
    row("lower (policy on fresh paths)", &b.lower);
    row("upper (dual martingale)", &b.upper);
    row("gap (upper − lower)", &b.gap);
    row("perfect foresight", &b.perfect_foresight);
    row("perfect foresight − lower", &b.perfect_foresight_gap);
    let mut s = format!("  Bounds on the optimal {what}:\n");
    for line in t.render().lines() {
        s.push_str("    ");
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!(
        "    {} fit paths, {} outer paths, {} regressions, {} path-days; no nested simulation \
         (docs/UPPER_BOUND.md)\n",
        thousands(b.fit_paths as f64, 0),
        thousands(b.outer_paths as f64, 0),
        thousands(b.regressions as f64, 0),
        thousands(b.path_days as f64, 0)
    ));
    s
}

/// The `optimal` strategy's extras for people: estimates with their bounds, the value of
/// flexibility, each slice's conversion odds, and the schedule with its exercise boundary; money
/// in the run's currency (`$… M`, or `… BTC` in the BTC view).
fn optimal_human(x: &OptimalDetail, currency: hashpivot_model::result::Currency) -> String {
    let (u, m) = money_unit(currency);
    let (pre, post) = match currency {
        hashpivot_model::result::Currency::Usd => ("$", " M"),
        hashpivot_model::result::Currency::Btc => ("", " BTC"),
    };
    let mut s = String::new();
    s.push_str("Optimal staged conversion (least-squares Monte Carlo):\n");
    // Levered, the policy maximizes the owner's value, so its bounds, its value of flexibility
    // and the slices' option values are stated in that value; the NPV figures follow.
    let (what, ests, flex, values, title) = match &x.objective {
        Some(o) => {
            s.push_str(
                "  the policy maximizes equity NPV (mining NPV + AI equity NPV, at the cost of equity):\n",
            );
            (
                "equity NPV ",
                [
                    &o.value_out_of_sample,
                    &o.in_sample_gap,
                    &o.value_perfect_foresight,
                ],
                &o.flexibility,
                o.slice_option_value_out_of_sample
                    .iter()
                    .map(|e| e.mean)
                    .collect::<Vec<_>>(),
                format!("equity option value {u}"),
            )
        }
        None => (
            "",
            [
                &x.npv_out_of_sample,
                &x.in_sample_gap,
                &x.npv_perfect_foresight,
            ],
            &x.flexibility,
            x.slices
                .iter()
                .map(|sl| sl.option_value_out_of_sample.mean)
                .collect(),
            format!("option value {u}"),
        ),
    };
    s.push_str(&estimates_human(what, ests, m, pre, post));
    if let Some(b) = &x.upper_bound {
        s.push_str(&bound_human(b, m, pre, post));
    }
    let spread = match x.objective {
        Some(_) => format!(" ± {} of equity NPV", m(flex.value_out_of_sample.stderr)),
        None => String::new(),
    };
    s.push_str(&format!(
        "  value of flexibility: {pre}{}{post}{spread} over the best static share ({}, {pre}{}{post})\n",
        m(flex.value_out_of_sample.mean),
        pct(flex.best_static_share),
        m(flex.best_static_npv)
    ));
    if x.objective.is_some() {
        let f = &x.flexibility;
        s.push_str(&format!(
            "  the same policy's NPV (unlevered): out-of-sample {pre}{}{post} ± {}; the best static share on NPV ({}) has {pre}{}{post}\n",
            m(x.npv_out_of_sample.mean),
            m(x.npv_out_of_sample.stderr),
            pct(f.best_static_share),
            m(f.best_static_npv)
        ));
    }
    s.push('\n');
    s.push_str(&optimal_slices_human(x, (&title, &values), m));
    s
}

/// `optimal`'s out-of-sample value (`what`: of what, e.g. "equity NPV "), its in-sample gap and
/// perfect foresight.
fn estimates_human(
    what: &str,
    [oos, gap, pf]: [&hashpivot_model::result::Est; 3],
    m: fn(f64) -> String,
    pre: &str,
    post: &str,
) -> String {
    format!(
        "  {what}out-of-sample (fresh paths, frozen policy; a lower bound): {pre}{}{post} ± {}\n  \
         in-sample minus out-of-sample: {pre}{}{post} ± {}; perfect foresight (an upper bound): {pre}{}{post} ± {}\n",
        m(oos.mean),
        m(oos.stderr),
        m(gap.mean),
        m(gap.stderr),
        m(pf.mean),
        m(pf.stderr)
    )
}

/// The slices' conversion odds and option values (`value`: the column's title and a value per
/// slice), and the schedule with its exercise boundary.
fn optimal_slices_human(
    x: &OptimalDetail,
    (title, values): (&str, &[f64]),
    m: fn(f64) -> String,
) -> String {
    let mut s = String::new();
    let mut t = Table::new([
        "slice".to_string(),
        "MW".into(),
        "P(converted)".into(),
        "mean month".into(),
        title.to_string(),
    ]);
    for (sl, &v) in x.slices.iter().zip(values) {
        t.row([
            format!("{}", sl.slice),
            thousands(sl.mw, 0),
            pct(sl.prob_converted),
            sl.mean_conversion_month
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| "never".into()),
            m(v),
        ]);
    }
    s.push_str(&t.render());
    s.push('\n');
    // The schedule: expected converted share and each slice's hashprice boundary, every 6 months;
    // `regime` says whether converting pays below or above that hashprice, always, or never.
    let b = &x.boundary;
    let mut headers = vec!["month".to_string(), "E[share converted]".to_string()];
    headers.extend(
        b.slices
            .keys()
            .map(|n| format!("{} converts if", n.replace('_', " "))),
    );
    let mut t = Table::new(headers);
    for (i, mo) in x.policy.months.iter().enumerate() {
        if mo % 6 != 0 {
            continue;
        }
        let mut row = vec![
            mo.to_string(),
            x.policy
                .expected_share_converted
                .get(i)
                .copied()
                .map(pct)
                .unwrap_or_default(),
        ];
        for (n, levels) in &b.slices {
            let level = levels.get(i).copied().flatten();
            let regime = b.regime.get(n).and_then(|r| r.get(i)).copied();
            row.push(match (regime, level) {
                (Some(Regime::Below), Some(v)) => format!("hp < ${v:.2}"),
                (Some(Regime::Above), Some(v)) => format!("hp > ${v:.2}"),
                (Some(Regime::Always), _) => "always".into(),
                (Some(Regime::Never), _) => "never".into(),
                _ => "—".into(),
            });
        }
        t.row(row);
    }
    s.push_str(&t.render());
    s.push_str(
        "(hp: hashprice in $/PH/s/day at which converting that slice pays at that month, with the lease\n\
         rate and BTC price at their medians on that month; `--json` has every month and the lease boundary)\n",
    );
    s
}
