//! `hashpivot dispatch`: hour-by-hour curtailment of the scenario's fleet against hourly power
//! prices (shipped ERCOT day-ahead hub prices by name, or a CSV file), with demand-response credits,
//! minimum run/off times and ERCOT 4CP avoidance. The economics live in `hashpivot_model::power`;
//! this module turns flags and the scenario into its inputs and prints the result.

use std::path::PathBuf;

use hashpivot_data::ercot::{self, HourlySeries};
use hashpivot_dispatch::{
    DispatchConfig, DispatchError, DispatchTotals, HashpriceSource, Options, Outcome, Study,
    MAX_MIN_HOURS,
};
use hashpivot_model::Scenario;
use serde_json::json;

use crate::error::bad_input;
use crate::output::{print_json, thousands, usd, Table};
use crate::Global;

/// Arguments of `hashpivot dispatch`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  hashpivot dispatch --prices ercot:HB_WEST:2024
  hashpivot dispatch --prices ercot:HB_WEST:2021-2025 --by-year --credit-usd-mwh 10
  hashpivot dispatch my.toml --prices prices.csv --hashprice 45 --min-run-hours 3
  hashpivot dispatch --prices ercot:HB_WEST:2024 --fourcp-hours 16,17,18 --fourcp-usd-kw-year 60
  hashpivot dispatch --prices ercot:HB_WEST:2021 --from 2021-02-10 --to 2021-02-22 --hashprice history

Price files (--prices FILE.csv): a header naming `timestamp` and `price_usd_mwh`, one row per hour;
timestamp = start of the hour in local time, YYYY-MM-DDTHH:00 (or `YYYY-MM-DD HH:00`), increasing
(one immediate repeat allowed for the fall DST hour); price in $/MWh, negative allowed.")]
pub struct DispatchArgs {
    /// Scenario file (TOML); default: the embedded default scenario. Its fleet, `mining.overhead`,
    /// `mining.uptime` (availability), `mining.pool_fee`, market state and optional `[dispatch]`
    /// table are used.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Hourly prices: `ercot:HUB:YEAR`, `ercot:HUB:FIRST-LAST` (shipped ERCOT day-ahead prices,
    /// 2021 to 2025-05-17, hubs HB_* and load zones LZ_*) or a CSV file.
    #[arg(long, value_name = "SOURCE")]
    pub prices: String,
    /// Hashprice in USD per PH/s per day held for every hour, or `history` for each day's historical
    /// hashprice (shipped BTC price, difficulty, subsidy and fees). Default: the scenario's market
    /// state (MODEL.md §2).
    #[arg(long, value_name = "USD|history", allow_negative_numbers = true)]
    pub hashprice: Option<String>,
    /// BTC price in USD for BTC figures (default: the scenario's `price.spot`). With `--hashprice
    /// X`, hashvalue = X / this.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub btc_usd: Option<f64>,
    /// First delivery date to use (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last delivery date to use (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Demand-response credit, $ per MWh curtailed (overrides `dispatch.credit_usd_mwh`).
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub credit_usd_mwh: Option<f64>,
    /// Minimum consecutive hours a batch runs once started (overrides `dispatch.min_run_hours`).
    #[arg(long, value_name = "HOURS")]
    pub min_run_hours: Option<u32>,
    /// Minimum consecutive hours a batch stays off once stopped (overrides
    /// `dispatch.min_off_hours`).
    #[arg(long, value_name = "HOURS")]
    pub min_off_hours: Option<u32>,
    /// 4CP avoidance: hour endings (1–24) of June–September weekdays to switch the fleet off, e.g.
    /// `16,17,18` (overrides `dispatch.fourcp_hours`; `none` clears it).
    #[arg(long, value_name = "HE,HE,..")]
    pub fourcp_hours: Option<String>,
    /// Apply 4CP avoidance on weekends too.
    #[arg(long)]
    pub fourcp_all_days: bool,
    /// Transmission charge avoided by 4CP avoidance, $ per kW-year (overrides
    /// `dispatch.fourcp_usd_kw_year`).
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub fourcp_usd_kw_year: Option<f64>,
    /// Flat contract price for the comparison column, $/MWh (default: `site.power_usd_mwh`).
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub flat_usd_mwh: Option<f64>,
    /// Convert this share of the site (0–1) to a firm AI/HPC load first: its MW leave mining in
    /// MODEL.md §4 order (idle MW, then the least efficient batch), are never curtailed, and earn
    /// no credits; the report shows the flexibility value lost.
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    pub convert: Option<f64>,
    /// Also report each calendar year of the series separately.
    #[arg(long)]
    pub by_year: bool,
    /// Points of the chart-ready price-duration curve in the JSON output.
    #[arg(long, value_name = "N", default_value_t = 101)]
    pub curve_points: usize,
}

/// Runs the command: flags → [`Options`] → [`Study::run`] → render.
pub fn run(args: &DispatchArgs, g: &Global) -> anyhow::Result<()> {
    if !(2..=100_000).contains(&args.curve_points) {
        return Err(bad_input(format!(
            "--curve-points {}: allowed 2 <= N <= 100000",
            args.curve_points
        )));
    }
    let study = study(args)?;
    let out = study
        .run(args.by_year)
        .map_err(|e| bad_input(e.to_string()))?;
    // The JSON document is built for the table too: it is where a non-finite number is looked for.
    let doc = json_doc(&study, &out, args)?;
    ensure_finite(&doc, args)?;
    if g.json {
        return print_json(&doc);
    }
    print!("{}", render(&study, &out));
    if let Some(c) = &out.conversion {
        println!(
            "\nconversion: {:.1}% of the site ({} MW) is firm AI/HPC load, never curtailed; flexibility value lost {} (curtailment savings + credits + 4CP on the removed machines); mining margin before conversion {}",
            100.0 * c.share,
            thousands(c.converted_mw, 1),
            usd(c.flexibility_value_lost_usd),
            usd(c.margin_before_conversion_usd),
        );
    }
    Ok(())
}

/// Refuses a result holding a number beyond the range of a 64-bit float. Every number of the
/// document is an `f64` the model computed, except the optional `prices.first`/`prices.last`
/// labels, so a `null` (how serde_json writes inf and NaN) anywhere else is one. Inputs in their
/// allowed ranges can still multiply past 1.8e308 (a BTC price of 1e-300 with `--hashprice`), and
/// printing `$inf` or `null` would be a silently wrong answer: exit 2 naming the inputs instead.
fn ensure_finite(doc: &serde_json::Value, args: &DispatchArgs) -> anyhow::Result<()> {
    fn find(v: &serde_json::Value, path: &str) -> Option<String> {
        match v {
            serde_json::Value::Null => Some(path.to_string()),
            serde_json::Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, x)| find(x, &format!("{path}[{i}]"))),
            serde_json::Value::Object(o) => o.iter().find_map(|(k, x)| {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match p.as_str() {
                    "prices.first" | "prices.last" => None,
                    _ => find(x, &p),
                }
            }),
            _ => None,
        }
    }
    let Some(at) = find(doc, "") else {
        return Ok(());
    };
    let mut inputs = vec![format!("--prices {}", args.prices)];
    if let Some(h) = &args.hashprice {
        inputs.push(format!("--hashprice {h}"));
    }
    if let Some(b) = args.btc_usd {
        inputs.push(format!("--btc-usd {b}"));
    }
    if let Some(p) = &args.scenario {
        inputs.push(format!("scenario {}", p.display()));
    }
    Err(bad_input(format!(
        "{}: these inputs make {at} infinite or undefined (beyond the range of a 64-bit float); use values closer to real markets",
        inputs.join(", ")
    )))
}

/// The `--json` document (keys sorted, as `serde_json::Value` prints them).
fn json_doc(
    study: &Study,
    out: &Outcome,
    args: &DispatchArgs,
) -> anyhow::Result<serde_json::Value> {
    let (s, r) = (&study.series, &out.report);
    let mut doc = json!({
        "prices": {
            "source": s.label,
            "hours": s.len(),
            "first": s.hours.first().map(|h| h.to_string()),
            "last": s.hours.last().map(|h| h.to_string()),
            "mean_usd_mwh": s.mean(),
            "min_usd_mwh": out.curve.min(),
            "max_usd_mwh": out.curve.max(),
        },
        "hashprice": study.hashprice,
        "inputs": {
            "overhead": study.site.overhead,
            "pool_fee": study.site.pool_fee,
            "availability": study.site.availability,
        },
        "dispatch": study.cfg,
        "hours": r.hours,
        "fourcp_summers": r.fourcp_summers,
        "site": r.site,
        "batches": r.batches,
        "flat_contract": {
            "price_usd_mwh": study.flat_usd_mwh,
            "site": out.flat.site,
        },
        "curve": {
            "points": out.curve.points(args.curve_points),
            "breakeven_usd_mwh": r.batches.iter().map(|b| json!({
                "model": b.model,
                "usd_mwh": b.breakeven_usd_mwh,
                "uptime": b.totals.uptime,
            })).collect::<Vec<_>>(),
        },
    });
    if args.by_year {
        doc["years"] = serde_json::to_value(&out.years)?;
    }
    if let Some(c) = &out.conversion {
        doc["conversion"] = serde_json::to_value(c)?;
    }
    Ok(doc)
}

// ---------------------------------------------------------------------------------------------
// Flags → values
// ---------------------------------------------------------------------------------------------

fn study(args: &DispatchArgs) -> anyhow::Result<Study> {
    let sc = load_scenario(args.scenario.as_ref())?;
    let cfg = merge_config(sc.dispatch.clone().unwrap_or_default(), args)?;
    let series = select_dates(load_prices(&args.prices)?, args)?;
    let btc_usd = match args.btc_usd {
        Some(x) if !(x.is_finite() && x > 0.0 && x <= 1e12) => {
            return Err(bad_input(format!(
                "--btc-usd {x}: allowed 0 < x <= 1e12 USD"
            )))
        }
        x => x,
    };
    let flat_usd_mwh = match args.flat_usd_mwh {
        Some(x) if !(x.is_finite() && x.abs() <= 1e5) => {
            return Err(bad_input(format!(
                "--flat-usd-mwh {x}: allowed -100000 <= x <= 100000 $/MWh"
            )))
        }
        x => x,
    };
    let convert = match args.convert {
        Some(x) if !(x.is_finite() && (0.0..=1.0).contains(&x)) => {
            return Err(bad_input(format!(
                "--convert {x}: allowed a share 0 <= x <= 1 of the site"
            )))
        }
        x => x,
    };
    let opts = Options {
        cfg,
        hashprice: hashprice_source(args.hashprice.as_deref())?,
        btc_usd,
        flat_usd_mwh,
        convert,
    };
    Study::new(&sc, series, opts).map_err(|e| match e {
        DispatchError::NoFleetLeft { share } => bad_input(format!("--convert {share}: {e}")),
        DispatchError::NoHistory { .. } => bad_input(format!("--hashprice history: {e}")),
        DispatchError::History(_) => anyhow::anyhow!("{e}"),
        e => bad_input(e.to_string()),
    })
}

/// The hours of `--from`/`--to` (inclusive dates).
fn select_dates(series: HourlySeries, args: &DispatchArgs) -> anyhow::Result<HourlySeries> {
    let from = parse_date("--from", args.from.as_deref())?;
    let to = parse_date("--to", args.to.as_deref())?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(bad_input(format!(
                "--from {} is after --to {}",
                args.from.as_deref().unwrap_or(""),
                args.to.as_deref().unwrap_or("")
            )));
        }
    }
    if from.is_none() && to.is_none() {
        return Ok(series);
    }
    let s = series.between(from, to);
    if s.is_empty() {
        return Err(bad_input(format!(
            "--from/--to: no hours of {} between {} and {}",
            series.label,
            args.from.as_deref().unwrap_or("the start"),
            args.to.as_deref().unwrap_or("the end")
        )));
    }
    Ok(s)
}

/// Reads the scenario; its `[dispatch]` table is part of it (`Scenario::dispatch`).
fn load_scenario(path: Option<&PathBuf>) -> anyhow::Result<Scenario> {
    let Some(path) = path else {
        return Ok(Scenario::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("SCENARIO {}: cannot read: {e}", path.display())))?;
    Scenario::parse_and_validate(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))
}

fn merge_config(mut cfg: DispatchConfig, a: &DispatchArgs) -> anyhow::Result<DispatchConfig> {
    if let Some(x) = a.credit_usd_mwh {
        if !(x.is_finite() && (0.0..=10_000.0).contains(&x)) {
            return Err(bad_input(format!(
                "--credit-usd-mwh {x}: allowed 0 <= x <= 10000 $/MWh curtailed"
            )));
        }
        cfg.credit_usd_mwh = x;
    }
    for (flag, v, slot) in [
        ("--min-run-hours", a.min_run_hours, &mut cfg.min_run_hours),
        ("--min-off-hours", a.min_off_hours, &mut cfg.min_off_hours),
    ] {
        if let Some(h) = v {
            if !(1..=MAX_MIN_HOURS).contains(&h) {
                return Err(bad_input(format!(
                    "{flag} {h}: allowed 1 <= hours <= {} (1 = no constraint)",
                    MAX_MIN_HOURS
                )));
            }
            *slot = h;
        }
    }
    if let Some(s) = &a.fourcp_hours {
        cfg.fourcp_hours = parse_hours(s)?;
    }
    if a.fourcp_all_days {
        cfg.fourcp_weekdays_only = false;
    }
    if let Some(x) = a.fourcp_usd_kw_year {
        if !(x.is_finite() && (0.0..=10_000.0).contains(&x)) {
            return Err(bad_input(format!(
                "--fourcp-usd-kw-year {x}: allowed 0 <= x <= 10000 $/kW-year"
            )));
        }
        cfg.fourcp_usd_kw_year = x;
    }
    if cfg.fourcp_usd_kw_year > 0.0 && cfg.fourcp_hours.is_empty() {
        return Err(bad_input(format!(
            "--fourcp-usd-kw-year {}: a 4CP transmission saving needs peak-risk hours; add --fourcp-hours (e.g. 16,17,18)",
            cfg.fourcp_usd_kw_year
        )));
    }
    cfg.validate().map_err(|e| bad_input(e.to_string()))?;
    Ok(cfg)
}

fn parse_hours(s: &str) -> anyhow::Result<Vec<u8>> {
    if s.trim().eq_ignore_ascii_case("none") || s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let p = part.trim();
        match p.parse::<u8>() {
            Ok(h) if (1..=24).contains(&h) => {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
            _ => {
                return Err(bad_input(format!(
                    "--fourcp-hours {s:?}: {p:?} is not an hour ending; allowed a comma-separated list of 1 to 24 (HE17 = 16:00-17:00), or none"
                )))
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn parse_date(flag: &str, s: Option<&str>) -> anyhow::Result<Option<hashpivot_data::Date>> {
    s.map(|s| {
        s.parse()
            .map_err(|e: hashpivot_data::DateError| bad_input(format!("{flag} {e}")))
    })
    .transpose()
}

fn load_prices(src: &str) -> anyhow::Result<HourlySeries> {
    if ercot::is_ercot_name(src) {
        return ercot::series(src).map_err(|e| bad_input(format!("--prices: {e}")));
    }
    let text = std::fs::read_to_string(src).map_err(|e| {
        bad_input(format!(
            "--prices {src:?}: cannot read the file ({e}); give a CSV file or a shipped series such as ercot:HB_WEST:2024"
        ))
    })?;
    ercot::parse_price_csv(&text, src).map_err(|e| bad_input(format!("--prices: {e}")))
}

/// `--hashprice`: absent = the scenario's market state, `history`, or a number of USD.
fn hashprice_source(flag: Option<&str>) -> anyhow::Result<HashpriceSource> {
    let Some(s) = flag else {
        return Ok(HashpriceSource::Scenario);
    };
    if s.trim().eq_ignore_ascii_case("history") {
        return Ok(HashpriceSource::History);
    }
    let x: f64 = s.trim().parse().map_err(|_| {
        bad_input(format!("--hashprice {s:?}: allowed a number of USD per PH/s per day (0 < x <= 1e6) or `history`"))
    })?;
    if !(x.is_finite() && x > 0.0 && x <= 1e6) {
        return Err(bad_input(format!(
            "--hashprice {s}: allowed 0 < x <= 1e6 USD per PH/s per day, or `history`"
        )));
    }
    Ok(HashpriceSource::Usd(x))
}

// ---------------------------------------------------------------------------------------------
// Human output
// ---------------------------------------------------------------------------------------------

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn btc(x: f64) -> String {
    let a = x.abs();
    thousands(
        x,
        if a >= 1000.0 {
            0
        } else if a >= 1.0 || a == 0.0 {
            2
        } else {
            6
        },
    )
}

/// `$1,234.56` / `-$13.30`.
fn dollars(x: f64) -> String {
    if x < 0.0 {
        format!("-${}", thousands(-x, 2))
    } else {
        format!("${}", thousands(x, 2))
    }
}

/// The lines above the tables: the price series and its range, the hashprice and site, and the
/// dispatch rules in force.
fn render_header(plan: &Study, curve: &hashpivot_model::power::DurationCurve) -> String {
    let mut o = String::new();
    let s = &plan.series;
    o.push_str(&format!(
        "Hourly dispatch against {} ({} hours, {} to {})\n",
        s.label,
        thousands(s.len() as f64, 0),
        s.hours.first().map(|h| h.to_string()).unwrap_or_default(),
        s.hours.last().map(|h| h.to_string()).unwrap_or_default(),
    ));
    o.push_str(&format!(
        "prices: mean {}/MWh, min {}, max {}\n",
        dollars(s.mean()),
        dollars(curve.min()),
        dollars(curve.max())
    ));
    let hp = &plan.hashprice;
    o.push_str(&format!(
        "hashprice: ${:.2}/PH/day ({}{}), BTC ${}; availability {}, overhead {}, pool fee {}\n",
        hp.usd_per_ph_day,
        hp.source,
        if hp.source == "history" { ", mean" } else { "" },
        thousands(hp.btc_usd, 0),
        pct(plan.site.availability),
        plan.site.overhead,
        pct(plan.site.pool_fee),
    ));
    let c = &plan.cfg;
    o.push_str(&format!(
        "rules: run when revenue >= power price; credit ${}/MWh curtailed; min run {} h, min off {} h; 4CP {}\n\n",
        c.credit_usd_mwh,
        c.min_run_hours,
        c.min_off_hours,
        if c.fourcp_hours.is_empty() {
            "off".to_string()
        } else {
            format!(
                "HE {} Jun-Sep{} (${}/kW-year)",
                c.fourcp_hours.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(","),
                if c.fourcp_weekdays_only { " weekdays" } else { "" },
                c.fourcp_usd_kw_year
            )
        }
    ));
    o
}

/// The table of results per calendar year (nothing when the series spans no whole year).
fn render_years(years: &[hashpivot_dispatch::YearRow], o: &mut String) {
    if !years.is_empty() {
        o.push('\n');
        let mut t = Table::new([
            "year",
            "hours",
            "mean $/MWh",
            "hashprice",
            "uptime",
            "avg $/MWh paid",
            "margin dispatched",
            "margin never curtailed",
            "flat uptime",
            "margin flat contract",
        ]);
        for y in years {
            t.row([
                y.year.to_string(),
                thousands(y.hours as f64, 0),
                thousands(y.mean_price_usd_mwh, 2),
                format!("${:.2}", y.hashprice_usd_per_ph_day),
                pct(y.site.uptime),
                thousands(y.site.avg_price_usd_mwh, 2),
                usd(y.site.margin_usd),
                usd(y.site.flat_out_margin_usd),
                pct(y.flat_contract.uptime),
                usd(y.flat_contract.margin_usd),
            ]);
        }
        o.push_str(&t.render());
    }
}

fn render(plan: &Study, out: &Outcome) -> String {
    let (r, flat, curve) = (&out.report, &out.flat, &out.curve);
    let mut o = render_header(plan, curve);
    let mut t = Table::new([
        "batch",
        "break-even $/MWh",
        "uptime",
        "energy MWh",
        "avg $/MWh",
        "revenue",
        "power cost",
        "BTC mined",
        "BTC forgone",
        "curtail saving",
        "credits",
        "margin",
    ]);
    let row = |t: &mut Table, name: String, be: String, x: &DispatchTotals| {
        t.row([
            name,
            be,
            pct(x.uptime),
            thousands(x.energy_mwh, 0),
            thousands(x.avg_price_usd_mwh, 2),
            usd(x.revenue_usd),
            usd(x.power_cost_usd),
            btc(x.btc_mined),
            btc(x.btc_forgone),
            usd(x.curtailment_savings_usd),
            usd(x.credits_usd),
            usd(x.margin_usd),
        ]);
    };
    for b in &r.batches {
        row(
            &mut t,
            b.model.clone(),
            thousands(b.breakeven_usd_mwh, 2),
            &b.totals,
        );
    }
    row(&mut t, "site".into(), String::new(), &r.site);
    o.push_str(&t.render());
    if r.site.fourcp_savings_usd > 0.0 {
        o.push_str(&format!(
            "4CP: {} summers of exposure, transmission charge avoided {} (included in margin)\n",
            r.fourcp_summers,
            usd(r.site.fourcp_savings_usd)
        ));
    }
    o.push('\n');
    let mut t = Table::new([
        "site result",
        "uptime",
        "avg $/MWh",
        "revenue",
        "power cost",
        "margin",
    ]);
    let mut cmp = |name: &str, x: &DispatchTotals, margin: f64| {
        t.row([
            name.to_string(),
            pct(x.uptime),
            thousands(x.avg_price_usd_mwh, 2),
            usd(x.revenue_usd),
            usd(x.power_cost_usd),
            usd(margin),
        ]);
    };
    cmp("hourly prices, dispatched", &r.site, r.site.margin_usd);
    cmp(
        "hourly prices, never curtailed",
        &r.site.never_curtailed(plan.site.availability),
        r.site.flat_out_margin_usd,
    );
    cmp(
        &format!("flat contract ${}/MWh (MODEL.md)", plan.flat_usd_mwh),
        &flat.site,
        flat.site.margin_usd,
    );
    o.push_str(&t.render());
    o.push_str("margin = revenue - power cost + credits + 4CP savings (before opex and capex)\n\n");
    let qs = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0];
    let mut t = Table::new(
        std::iter::once("share of hours priced above".to_string())
            .chain(qs.iter().map(|q| format!("{}%", 100.0 * q))),
    );
    t.row(
        std::iter::once("$/MWh".to_string())
            .chain(qs.iter().map(|&q| thousands(curve.exceeded(q), 2))),
    );
    o.push_str(&t.render());
    render_years(&out.years, &mut o);
    o
}
