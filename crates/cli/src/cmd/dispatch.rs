//! `hashpivot dispatch`: hour-by-hour curtailment of the scenario's fleet against hourly power
//! prices (shipped ERCOT day-ahead hub prices by name, or a CSV file), with demand-response credits,
//! minimum run/off times and ERCOT 4CP avoidance. The economics live in `hashpivot_model::power`;
//! this module turns flags and the scenario into its inputs and prints the result.

use std::path::PathBuf;

use hashpivot_data::ercot::{self, HourlySeries};
use hashpivot_model::power::{
    self, DispatchConfig, DispatchReport, DispatchSite, DispatchTotals, DurationCurve, FleetBatch,
    HourMarket, Market,
};
use hashpivot_model::Scenario;
use serde::Serialize;
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

/// Where the hashprice came from.
#[derive(Debug, Clone, Serialize)]
struct HashpriceInfo {
    /// `scenario`, `flag` or `history`.
    source: &'static str,
    /// Mean USD per PH/s per day over the hours.
    usd_per_ph_day: f64,
    /// Mean BTC per PH/s per day over the hours.
    btc_per_ph_day: f64,
    /// Mean BTC price over the hours.
    btc_usd: f64,
}

/// A validated run.
struct Plan {
    series: HourlySeries,
    fleet: Vec<FleetBatch>,
    conversion: Option<Conversion>,
    site: DispatchSite,
    market: Market,
    hashprice: HashpriceInfo,
    cfg: DispatchConfig,
    flat_usd_mwh: f64,
}

/// A conversion applied before dispatch.
#[derive(Debug, Clone, Serialize)]
struct Conversion {
    share: f64,
    converted_mw: f64,
    /// Units removed per batch (fleet order).
    removed_units: Vec<f64>,
    #[serde(skip)]
    full_fleet: Vec<FleetBatch>,
}

/// Removes `share × site MW` from mining: idle MW first, then the least efficient batch (highest
/// W per TH/s, file order among equals), fractional units (MODEL.md §4).
fn convert_fleet(
    fleet: &[FleetBatch],
    site_mw: f64,
    overhead: f64,
    share: f64,
) -> (Vec<FleetBatch>, Vec<f64>) {
    let fleet_mw: f64 = fleet
        .iter()
        .map(|b| b.units * b.power_w * overhead / 1e6)
        .sum();
    let mut left = (share * site_mw - (site_mw - fleet_mw).max(0.0)).max(0.0);
    let mut order: Vec<usize> = (0..fleet.len()).collect();
    order.sort_by(|&a, &b| {
        let ea = fleet[a].power_w / fleet[a].hashrate_ths;
        let eb = fleet[b].power_w / fleet[b].hashrate_ths;
        eb.total_cmp(&ea)
    });
    let mut out = fleet.to_vec();
    let mut removed = vec![0.0; fleet.len()];
    for i in order {
        if left <= 0.0 {
            break;
        }
        let per_unit = out[i].power_w * overhead / 1e6;
        let take = out[i].units.min(left / per_unit);
        out[i].units -= take;
        removed[i] = take;
        left -= take * per_unit;
        // Rounding residue of a batch removed whole must not leave a ghost machine behind.
        if out[i].units <= 1e-9 * fleet[i].units {
            removed[i] = fleet[i].units;
            out[i].units = 0.0;
        }
    }
    (out, removed)
}

/// Runs the command.
pub fn run(args: &DispatchArgs, g: &Global) -> anyhow::Result<()> {
    if !(2..=100_000).contains(&args.curve_points) {
        return Err(bad_input(format!(
            "--curve-points {}: allowed 2 <= N <= 100000",
            args.curve_points
        )));
    }
    let plan = plan(args)?;
    let report = power::dispatch(
        &plan.series,
        &plan.fleet,
        &plan.site,
        &plan.market,
        &plan.cfg,
    )
    .map_err(|e| bad_input(e.to_string()))?;
    let flat = flat_contract(&plan, &plan.series, &plan.market)?;
    let curve = DurationCurve::from_series(&plan.series).map_err(|e| bad_input(e.to_string()))?;
    let conversion = match &plan.conversion {
        None => None,
        Some(c) => {
            let full = power::dispatch(
                &plan.series,
                &c.full_fleet,
                &plan.site,
                &plan.market,
                &plan.cfg,
            )
            .map_err(|e| bad_input(e.to_string()))?;
            let flex = |t: &DispatchTotals| {
                t.curtailment_savings_usd + t.credits_usd + t.fourcp_savings_usd
            };
            Some(json!({
                "share": c.share,
                "converted_mw": c.converted_mw,
                "removed_units": c.full_fleet.iter().zip(&c.removed_units).map(|(b, u)| json!({"model": b.model, "units": u})).collect::<Vec<_>>(),
                "flexibility_value_lost_usd": flex(&full.site) - flex(&report.site),
                "margin_before_conversion_usd": full.site.margin_usd,
            }))
        }
    };
    let years = if args.by_year {
        by_year(&plan)?
    } else {
        Vec::new()
    };
    // The JSON document is built for the table too: it is where a non-finite number is looked for.
    let doc = {
        let points = curve.points(args.curve_points);
        let mut doc = json!({
            "prices": prices_info(&plan.series),
            "hashprice": plan.hashprice,
            "inputs": {
                "overhead": plan.site.overhead,
                "pool_fee": plan.site.pool_fee,
                "availability": plan.site.availability,
            },
            "dispatch": plan.cfg,
            "hours": report.hours,
            "fourcp_summers": report.fourcp_summers,
            "site": report.site,
            "batches": report.batches,
            "flat_contract": {
                "price_usd_mwh": plan.flat_usd_mwh,
                "site": flat.site,
            },
            "curve": {
                "points": points,
                "breakeven_usd_mwh": report.batches.iter().map(|b| json!({
                    "model": b.model,
                    "usd_mwh": b.breakeven_usd_mwh,
                    "uptime": b.totals.uptime,
                })).collect::<Vec<_>>(),
            },
        });
        if args.by_year {
            doc["years"] = serde_json::to_value(&years)?;
        }
        if let Some(c) = &conversion {
            doc["conversion"] = c.clone();
        }
        doc
    };
    ensure_finite(&doc, args)?;
    if g.json {
        return print_json(&doc);
    }
    print!("{}", render(&plan, &report, &flat, &curve, &years));
    if let Some(c) = &conversion {
        println!(
            "\nconversion: {:.1}% of the site ({} MW) is firm AI/HPC load, never curtailed; flexibility value lost {} (curtailment savings + credits + 4CP on the removed machines); mining margin before conversion {}",
            100.0 * c["share"].as_f64().unwrap_or(0.0),
            thousands(c["converted_mw"].as_f64().unwrap_or(0.0), 1),
            usd(c["flexibility_value_lost_usd"].as_f64().unwrap_or(0.0)),
            usd(c["margin_before_conversion_usd"].as_f64().unwrap_or(0.0)),
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

fn prices_info(s: &HourlySeries) -> serde_json::Value {
    let min = s.usd_mwh.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = s.usd_mwh.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    json!({
        "source": s.label,
        "hours": s.len(),
        "first": s.hours.first().map(|h| h.to_string()),
        "last": s.hours.last().map(|h| h.to_string()),
        "mean_usd_mwh": s.mean(),
        "min_usd_mwh": min,
        "max_usd_mwh": max,
    })
}

/// The same fleet at a flat contract price: MODEL.md §4 (a batch runs every hour if its revenue
/// covers the price, else never), computed by the dispatcher on a constant series over the same
/// hours, without credits, minimum times or 4CP.
fn flat_contract(
    plan: &Plan,
    series: &HourlySeries,
    market: &Market,
) -> anyhow::Result<DispatchReport> {
    let flat = HourlySeries {
        label: format!("flat ${}/MWh", plan.flat_usd_mwh),
        hours: series.hours.clone(),
        usd_mwh: vec![plan.flat_usd_mwh; series.len()],
    };
    power::dispatch(
        &flat,
        &plan.fleet,
        &plan.site,
        market,
        &DispatchConfig::default(),
    )
    .map_err(|e| bad_input(e.to_string()))
}

/// One calendar year of a `--by-year` report.
#[derive(Debug, Serialize)]
struct YearRow {
    year: u16,
    hours: usize,
    mean_price_usd_mwh: f64,
    hashprice_usd_per_ph_day: f64,
    site: DispatchTotals,
    flat_contract: DispatchTotals,
}

fn by_year(plan: &Plan) -> anyhow::Result<Vec<YearRow>> {
    let s = &plan.series;
    let mut out = Vec::new();
    let mut start = 0;
    while start < s.len() {
        let y = s.hours[start].year;
        let end = start + s.hours[start..].iter().take_while(|h| h.year == y).count();
        let sub = HourlySeries {
            label: format!("{} {y}", s.label),
            hours: s.hours[start..end].to_vec(),
            usd_mwh: s.usd_mwh[start..end].to_vec(),
        };
        let market = match &plan.market {
            Market::Constant(m) => Market::Constant(*m),
            Market::Hourly(v) => Market::Hourly(v[start..end].to_vec()),
        };
        let r = power::dispatch(&sub, &plan.fleet, &plan.site, &market, &plan.cfg)
            .map_err(|e| bad_input(e.to_string()))?;
        let flat = flat_contract(plan, &sub, &market)?;
        let hp = match &market {
            Market::Constant(m) => m.hv_btc_per_ph_day * m.btc_usd,
            Market::Hourly(v) => {
                v.iter()
                    .map(|m| m.hv_btc_per_ph_day * m.btc_usd)
                    .sum::<f64>()
                    / v.len() as f64
            }
        };
        out.push(YearRow {
            year: y,
            hours: sub.len(),
            mean_price_usd_mwh: sub.mean(),
            hashprice_usd_per_ph_day: hp,
            site: r.site,
            flat_contract: flat.site,
        });
        start = end;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Flags → values
// ---------------------------------------------------------------------------------------------

fn plan(args: &DispatchArgs) -> anyhow::Result<Plan> {
    let (sc, file_cfg) = load_scenario(args.scenario.as_ref())?;
    let cfg = merge_config(file_cfg, args)?;
    let series = load_prices(&args.prices)?;
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
    let series = if from.is_some() || to.is_some() {
        let s = series.between(from, to);
        if s.is_empty() {
            return Err(bad_input(format!(
                "--from/--to: no hours of {} between {} and {}",
                series.label,
                args.from.as_deref().unwrap_or("the start"),
                args.to.as_deref().unwrap_or("the end")
            )));
        }
        s
    } else {
        series
    };
    let btc_usd = match args.btc_usd {
        Some(x) if x.is_finite() && x > 0.0 && x <= 1e12 => x,
        Some(x) => {
            return Err(bad_input(format!(
                "--btc-usd {x}: allowed 0 < x <= 1e12 USD"
            )))
        }
        None => sc.price.spot,
    };
    let (market, hashprice) = market(args.hashprice.as_deref(), &sc, btc_usd, &series)?;
    let flat_usd_mwh = match args.flat_usd_mwh {
        Some(x) if x.is_finite() && x.abs() <= 1e5 => x,
        Some(x) => {
            return Err(bad_input(format!(
                "--flat-usd-mwh {x}: allowed -100000 <= x <= 100000 $/MWh"
            )))
        }
        None => sc.site.power_usd_mwh,
    };
    let fleet: Vec<FleetBatch> = sc
        .mining
        .fleet
        .iter()
        .map(|b| FleetBatch {
            model: b.model.clone(),
            units: b.units,
            hashrate_ths: b.hashrate_ths,
            power_w: b.power_w,
        })
        .collect();
    if fleet.is_empty() {
        return Err(bad_input(
            "mining.fleet: the scenario has no machines to dispatch; add [[mining.fleet]] entries",
        ));
    }
    let (fleet, conversion) = match args.convert {
        None => (fleet, None),
        Some(x) if x.is_finite() && (0.0..=1.0).contains(&x) => {
            let (rest, removed) = convert_fleet(&fleet, sc.site.power_mw, sc.mining.overhead, x);
            if rest.iter().all(|b| b.units <= 0.0) {
                return Err(bad_input(format!(
                    "--convert {x}: converting {x} of the site leaves no machines to dispatch; allowed 0 <= share < the share that removes the whole fleet"
                )));
            }
            let conv = Conversion {
                share: x,
                converted_mw: x * sc.site.power_mw,
                removed_units: removed,
                full_fleet: fleet,
            };
            (rest, Some(conv))
        }
        Some(x) => {
            return Err(bad_input(format!(
                "--convert {x}: allowed a share 0 <= x <= 1 of the site"
            )))
        }
    };
    Ok(Plan {
        series,
        fleet,
        conversion,
        site: DispatchSite {
            overhead: sc.mining.overhead,
            pool_fee: sc.mining.pool_fee,
            availability: sc.mining.uptime,
        },
        market,
        hashprice,
        cfg,
        flat_usd_mwh,
    })
}

/// Reads the scenario and its `[dispatch]` table. The table is parsed here (and blanked out of the
/// text, line numbers kept) so that scenarios with `[dispatch]` load whether or not the scenario
/// type declares it.
fn load_scenario(path: Option<&PathBuf>) -> anyhow::Result<(Scenario, DispatchConfig)> {
    let Some(path) = path else {
        return Ok((Scenario::default(), DispatchConfig::default()));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("SCENARIO {}: cannot read: {e}", path.display())))?;
    let (rest, cfg) =
        split_dispatch_table(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    let sc = Scenario::parse_and_validate(&rest)
        .map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    Ok((sc, cfg))
}

/// Splits the `[dispatch]` table off a scenario's TOML: returns the text with that table's lines
/// blanked (so the scenario parser's line numbers still match the file) and the parsed table.
fn split_dispatch_table(text: &str) -> Result<(String, DispatchConfig), String> {
    let value: toml::Table = match toml::from_str(text) {
        Ok(v) => v,
        // A syntax error: let the scenario parser report it with its line and column.
        Err(_) => return Ok((text.to_string(), DispatchConfig::default())),
    };
    let Some(d) = value.get("dispatch") else {
        return Ok((text.to_string(), DispatchConfig::default()));
    };
    let cfg: DispatchConfig = d
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| format!("[dispatch]: {}", e.message().trim()))?;
    cfg.validate().map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            let name = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            inside = name == "dispatch" || name.starts_with("dispatch.");
        }
        if inside {
            out.push_str(if line.ends_with('\n') { "\n" } else { "" });
        } else {
            out.push_str(line);
        }
    }
    Ok((out, cfg))
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
            if !(1..=power::MAX_MIN_HOURS).contains(&h) {
                return Err(bad_input(format!(
                    "{flag} {h}: allowed 1 <= hours <= {} (1 = no constraint)",
                    power::MAX_MIN_HOURS
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

fn parse_date(flag: &str, s: Option<&str>) -> anyhow::Result<Option<(u16, u8, u8)>> {
    let Some(s) = s else { return Ok(None) };
    let d: hashpivot_data::Date = s
        .parse()
        .map_err(|e: hashpivot_data::DateError| bad_input(format!("{flag} {e}")))?;
    let (y, m, day) = d.ymd();
    Ok(Some((y as u16, m as u8, day as u8)))
}

fn load_prices(src: &str) -> anyhow::Result<HourlySeries> {
    if ercot::is_ercot_name(src) {
        return power::ercot_series(src).map_err(|e| bad_input(format!("--prices: {e}")));
    }
    let text = std::fs::read_to_string(src).map_err(|e| {
        bad_input(format!(
            "--prices {src:?}: cannot read the file ({e}); give a CSV file or a shipped series such as ercot:HB_WEST:2024"
        ))
    })?;
    power::parse_price_csv(&text, src).map_err(|e| bad_input(format!("--prices: {e}")))
}

/// The scenario's hashvalue at its market state (MODEL.md §2): `86400·1e15·R / (D·2^32)` with
/// `R = subsidy(height) + fees.btc_per_block`.
fn scenario_hashvalue(sc: &Scenario) -> f64 {
    let r = hashpivot_data::hashprice::subsidy_sat(sc.chain.height) as f64 / 1e8
        + sc.fees.btc_per_block;
    hashpivot_data::hashprice::hashvalue_btc_per_ph_day(r, sc.chain.difficulty)
}

fn market(
    flag: Option<&str>,
    sc: &Scenario,
    btc_usd: f64,
    series: &HourlySeries,
) -> anyhow::Result<(Market, HashpriceInfo)> {
    match flag {
        None => {
            let hv = scenario_hashvalue(sc);
            Ok((
                Market::Constant(HourMarket {
                    hv_btc_per_ph_day: hv,
                    btc_usd,
                }),
                HashpriceInfo {
                    source: "scenario",
                    usd_per_ph_day: hv * btc_usd,
                    btc_per_ph_day: hv,
                    btc_usd,
                },
            ))
        }
        Some(s) if s.trim().eq_ignore_ascii_case("history") => history_market(series),
        Some(s) => {
            let x: f64 = s.trim().parse().map_err(|_| {
                bad_input(format!("--hashprice {s:?}: allowed a number of USD per PH/s per day (0 < x <= 1e6) or `history`"))
            })?;
            if !(x.is_finite() && x > 0.0 && x <= 1e6) {
                return Err(bad_input(format!(
                    "--hashprice {s}: allowed 0 < x <= 1e6 USD per PH/s per day, or `history`"
                )));
            }
            let hv = x / btc_usd;
            Ok((
                Market::Constant(HourMarket {
                    hv_btc_per_ph_day: hv,
                    btc_usd,
                }),
                HashpriceInfo {
                    source: "flag",
                    usd_per_ph_day: x,
                    btc_per_ph_day: hv,
                    btc_usd,
                },
            ))
        }
    }
}

/// Each hour gets the historical hashprice of its delivery date (shipped BTC close, difficulty,
/// subsidy and fees; `hashpivot history` shows the same series).
fn history_market(series: &HourlySeries) -> anyhow::Result<(Market, HashpriceInfo)> {
    use hashpivot_data::{hashprice_history, shipped, Date};
    let to_date = |h: &power::HourStamp| {
        Date::from_ymd(i32::from(h.year), u32::from(h.month), u32::from(h.day))
    };
    let first = series.hours.first().and_then(to_date);
    let last = series.hours.last().and_then(to_date);
    let days = hashprice_history(
        shipped::prices(),
        shipped::heights(),
        shipped::epochs(),
        shipped::fees(),
        first,
        last,
    )
    .map_err(|e| anyhow::anyhow!("historical hashprice: {e}"))?;
    let mut v = Vec::with_capacity(series.len());
    for h in &series.hours {
        let d = to_date(h);
        let day = d.and_then(|d| {
            days.binary_search_by(|x| x.date.cmp(&d))
                .ok()
                .map(|i| &days[i])
        });
        let Some(day) = day else {
            return Err(bad_input(format!(
                "--hashprice history: no shipped hashprice for {} (the shipped BTC price and height data cover {} to {}); give --hashprice USD instead",
                h.date_string(),
                days.first().map(|d| d.date.to_string()).unwrap_or_default(),
                days.last().map(|d| d.date.to_string()).unwrap_or_default(),
            )));
        };
        v.push(HourMarket {
            hv_btc_per_ph_day: day.btc_per_ph_day,
            btc_usd: day.price_usd,
        });
    }
    let n = v.len().max(1) as f64;
    let info = HashpriceInfo {
        source: "history",
        usd_per_ph_day: v
            .iter()
            .map(|m| m.hv_btc_per_ph_day * m.btc_usd)
            .sum::<f64>()
            / n,
        btc_per_ph_day: v.iter().map(|m| m.hv_btc_per_ph_day).sum::<f64>() / n,
        btc_usd: v.iter().map(|m| m.btc_usd).sum::<f64>() / n,
    };
    Ok((Market::Hourly(v), info))
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

fn render(
    plan: &Plan,
    r: &DispatchReport,
    flat: &DispatchReport,
    curve: &DurationCurve,
    years: &[YearRow],
) -> String {
    let s = &plan.series;
    let mut o = String::new();
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
    let full_mwh = r.site.energy_mwh + r.site.curtailed_mwh;
    let fo = DispatchTotals {
        uptime: plan.site.availability,
        avg_price_usd_mwh: if full_mwh > 0.0 {
            r.site.flat_out_power_cost_usd / full_mwh
        } else {
            0.0
        },
        revenue_usd: r.site.flat_out_revenue_usd,
        power_cost_usd: r.site.flat_out_power_cost_usd,
        ..DispatchTotals::default()
    };
    cmp(
        "hourly prices, never curtailed",
        &fo,
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
    o
}
