//! `hashpivot hashprice`, `hashpivot machines`, `hashpivot machine`: hashprice and the economics
//! of one mining machine, over `hashpivot_model::{machine, catalog}`.
//!
//! Numbers arrive as raw strings and are validated here, so every bad value is reported (exit 2)
//! naming the flag, the value and what is allowed.

use std::path::PathBuf;

use hashpivot_model::catalog::{Catalog, CatalogError, Machine, Origin};
use hashpivot_model::machine::{
    self as econ, MachineSpec, Projection, DEFAULT_DIFFICULTY_GROWTH, DEFAULT_HORIZON_YEARS,
};
use serde_json::json;

use crate::error::bad_input;
use crate::output::{print_json, thousands, Align, Table};
use crate::Global;

/// Default fees per block, BTC: 0.025 (Hashrate Index, Aug 2025; docs/PARAMETERS.md "Fee share
/// of reward").
pub const DEFAULT_FEES_BTC: f64 = 0.025;

/// Arguments of `hashpivot hashprice`.
#[derive(Debug, clap::Args)]
pub struct HashpriceArgs {
    /// BTC price in USD.
    #[arg(long, value_name = "USD", allow_hyphen_values = true)]
    pub price: String,
    /// Network difficulty: a number (`148260000000000`, `1.4826e14`) or with a suffix (`148.26T`).
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub difficulty: String,
    /// Transaction fees per block, BTC [default: 0.025, Hashrate Index Aug 2025].
    #[arg(long, value_name = "BTC_PER_BLOCK", allow_hyphen_values = true)]
    pub fees: Option<String>,
    /// Block height for the subsidy [default: today's height estimated from the shipped
    /// height-by-date series at 144 blocks/day]. The subsidy halves at 1,050,000.
    #[arg(long, value_name = "H", allow_hyphen_values = true)]
    pub height: Option<String>,
}

/// Arguments of `hashpivot machines`.
#[derive(Debug, clap::Args)]
pub struct MachinesArgs {
    /// Your own machines: a TOML file of `[[machine]]` tables with `model`, `hashrate_ths`,
    /// `power_w` and optional `manufacturer`, `cooling`, `source`. Same model name replaces.
    #[arg(long, value_name = "FILE.toml")]
    pub catalog: Option<PathBuf>,
}

/// Arguments of `hashpivot machine`.
#[derive(Debug, clap::Args)]
pub struct MachineArgs {
    /// Machine model, case-insensitive; the product line may be left out (`"S21 XP Hyd"`).
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// Power price, USD/MWh (all-in, at the wall).
    #[arg(long, value_name = "P", allow_hyphen_values = true)]
    pub power_usd_mwh: String,
    /// Today's hashprice, USD per PH/s per day (instead of --price and --difficulty).
    #[arg(long, value_name = "USD_PER_PH_DAY", allow_hyphen_values = true)]
    pub hashprice: Option<String>,
    /// BTC price in USD (with --difficulty, instead of --hashprice).
    #[arg(long, value_name = "USD", allow_hyphen_values = true)]
    pub price: Option<String>,
    /// Network difficulty (with --price), e.g. `148.26T`.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub difficulty: Option<String>,
    /// Fees per block, BTC [default: 0.025]. Fees do not halve; the subsidy does.
    #[arg(long, value_name = "BTC_PER_BLOCK", allow_hyphen_values = true)]
    pub fees: Option<String>,
    /// Chain height today [default: estimated for today's date].
    #[arg(long, value_name = "H", allow_hyphen_values = true)]
    pub height: Option<String>,
    /// Machine price, USD per TH/s (e.g. 25.70 for an S21 XP in Nov 2025); enables payback.
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub machine_price_usd_per_th: Option<String>,
    /// Annual difficulty growth for the projected payback: `0.22` or `22%` [default: 22%,
    /// the trailing two years of the shipped difficulty history].
    #[arg(long, value_name = "RATE", allow_hyphen_values = true)]
    pub difficulty_growth: Option<String>,
    /// Horizon of the projected payback, years [default: 10].
    #[arg(long, value_name = "YEARS", allow_hyphen_values = true)]
    pub horizon_years: Option<String>,
    /// Extra machines from a TOML file (see `hashpivot machines --help`).
    #[arg(long, value_name = "FILE.toml")]
    pub catalog: Option<PathBuf>,
}

/// Parses a finite number, rejecting values `ok` refuses with `allowed` in the message.
fn parse_num(
    flag: &str,
    raw: &str,
    ok: impl Fn(f64) -> bool,
    allowed: &str,
) -> anyhow::Result<f64> {
    let t = raw.trim().replace(['_', ','], "");
    let v: f64 = t
        .parse()
        .map_err(|_| bad_input(format!("{flag}: {raw:?} is not a number; {allowed}")))?;
    if !v.is_finite() || !ok(v) {
        return Err(bad_input(format!(
            "{flag}: {raw} is not allowed; {allowed}"
        )));
    }
    Ok(v)
}

/// Parses a difficulty: a plain number, or one with a K/M/G/T/P/E suffix (powers of 1000).
fn parse_difficulty(flag: &str, raw: &str) -> anyhow::Result<f64> {
    let t = raw.trim();
    let (num, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() && !t.ends_with("inf") && !t.ends_with("NaN") => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1e3,
                'M' => 1e6,
                'G' => 1e9,
                'T' => 1e12,
                'P' => 1e15,
                'E' => 1e18,
                _ => {
                    return Err(bad_input(format!(
                        "{flag}: {raw:?} has an unknown suffix; use a number, optionally with K, M, G, T, P or E (148.26T)"
                    )))
                }
            };
            (&t[..t.len() - 1], m)
        }
        _ => (t, 1.0),
    };
    let allowed = "use a difficulty from 1 (the mainnet minimum, nBits 0x1d00ffff) to 1e30, such as 148.26T or 1.4826e14";
    let v = parse_num(flag, num, |v| v > 0.0, allowed)
        .map_err(|_| bad_input(format!("{flag}: {raw:?} is not allowed; {allowed}")))?;
    let d = v * mult;
    // Below 1 no mainnet block can exist (the pow limit is difficulty 1); above 1e30 the
    // hashprice underflows towards 0 and the implied hashrate overflows usefulness. The same
    // range as the scenario key `chain.difficulty`.
    if !(d.is_finite() && (MIN_DIFFICULTY..=MAX_DIFFICULTY).contains(&d)) {
        return Err(bad_input(format!(
            "{flag}: {raw} is not allowed; {allowed}"
        )));
    }
    Ok(d)
}

/// Smallest difficulty a flag accepts: mainnet's pow limit (`0x1d00ffff`) is difficulty 1.
const MIN_DIFFICULTY: f64 = 1.0;
/// Largest difficulty a flag accepts (as `chain.difficulty` in a scenario).
const MAX_DIFFICULTY: f64 = 1e30;
/// Largest BTC price a flag accepts, USD (as `price.spot` in a scenario).
const MAX_PRICE_USD: f64 = 1e12;
/// Largest |power price| a flag accepts, USD/MWh (ERCOT's offer cap is 5,000).
const MAX_POWER_USD_MWH: f64 = 10_000.0;

/// A library error about a value the user gave: exit 2 with the flags named.
fn input_err(flags: &str, e: impl std::fmt::Display) -> anyhow::Error {
    bad_input(format!("{flags}: {e}"))
}

/// Refuses to print a non-finite number: names the output and the inputs that produced it.
/// (serde_json would print `null`, a table `inf`; either is a silently wrong answer.)
fn ensure_finite(outputs: &[(&str, f64)], inputs: &str) -> anyhow::Result<()> {
    match outputs.iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some((name, v)) => Err(bad_input(format!(
            "{inputs}: these inputs make {name} {v} (outside the range of a 64-bit float); use smaller values"
        ))),
    }
}

fn parse_price(raw: &str) -> anyhow::Result<f64> {
    parse_num(
        "--price",
        raw,
        |v| v > 0.0 && v <= MAX_PRICE_USD,
        "use a positive USD price per BTC, at most 1e12",
    )
}

fn parse_fees(raw: Option<&str>) -> anyhow::Result<f64> {
    match raw {
        None => Ok(DEFAULT_FEES_BTC),
        Some(r) => parse_num(
            "--fees",
            r,
            |v| (0.0..=21e6).contains(&v),
            "use BTC per block, 0 or more (e.g. 0.025)",
        ),
    }
}

fn parse_height_opt(raw: Option<&str>) -> anyhow::Result<(u64, &'static str)> {
    match raw {
        Some(r) => Ok((super::chain::parse_height("--height", r)?, "given")),
        None => Ok((
            hashpivot_data::shipped::estimated_height(hashpivot_data::Date::today()),
            "estimated for today",
        )),
    }
}

fn kv_table() -> Table {
    Table::new(["quantity", "value", "unit"]).align(2, Align::Left)
}

fn fmt_difficulty(d: f64) -> String {
    if d >= 1e12 {
        format!("{:.2} T", d / 1e12)
    } else {
        thousands(d, 2)
    }
}

/// Runs `hashpivot hashprice`.
pub fn run_hashprice(args: &HashpriceArgs, g: &Global) -> anyhow::Result<()> {
    let price = parse_price(&args.price)?;
    let difficulty = parse_difficulty("--difficulty", &args.difficulty)?;
    let fees = parse_fees(args.fees.as_deref())?;
    let (height, height_source) = parse_height_opt(args.height.as_deref())?;
    let q = econ::hashprice_quote(price, econ::Difficulty(difficulty), height, fees)
        .map_err(|e| input_err("--difficulty/--fees", e))?;
    let (subsidy, reward, btc, usd, hashrate_ehs) = (
        q.subsidy_btc,
        q.reward_btc,
        q.btc_per_ph_day,
        q.usd_per_ph_day,
        q.implied_hashrate_ehs,
    );
    ensure_finite(
        &[
            ("btc_per_ph_day", btc),
            ("usd_per_ph_day", usd),
            ("sat_per_th_day", q.sat_per_th_day),
            ("implied_hashrate_ehs", hashrate_ehs),
        ],
        "--price/--difficulty/--fees",
    )?;
    if g.json {
        return print_json(&json!({
            "btc_per_ph_day": btc,
            "usd_per_ph_day": usd,
            "sat_per_th_day": q.sat_per_th_day,
            "price_usd": price,
            "difficulty": difficulty,
            "height": height,
            "height_source": height_source,
            "subsidy_btc": subsidy,
            "fees_btc": fees,
            "reward_btc": reward,
            "implied_hashrate_ehs": hashrate_ehs,
        }));
    }
    let mut t = kv_table();
    t.row(["price".to_string(), thousands(price, 2), "USD/BTC".into()]);
    t.row([
        "difficulty".to_string(),
        fmt_difficulty(difficulty),
        format!(
            "(implied network hashrate {} EH/s)",
            thousands(hashrate_ehs, 1)
        ),
    ]);
    t.row([
        "height".to_string(),
        thousands(height as f64, 0),
        format!("({height_source}; the subsidy depends on it)"),
    ]);
    t.row([
        "subsidy".to_string(),
        format!("{subsidy:.8}"),
        "BTC/block".into(),
    ]);
    t.row(["fees".to_string(), format!("{fees:.8}"), "BTC/block".into()]);
    t.row([
        "hashvalue".to_string(),
        format!("{btc:.8}"),
        "BTC per PH/s per day".into(),
    ]);
    t.row([
        "hashvalue".to_string(),
        format!("{:.2}", q.sat_per_th_day),
        "sat per TH/s per day".into(),
    ]);
    t.row([
        "hashprice".to_string(),
        thousands(usd, 2),
        "USD per PH/s per day".into(),
    ]);
    print!("{}", t.render());
    Ok(())
}

fn load_catalog(path: Option<&PathBuf>) -> anyhow::Result<Catalog> {
    let c = Catalog::builtin()?;
    match path {
        None => Ok(c),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| bad_input(format!("--catalog: cannot read {}: {e}", p.display())))?;
            c.with_user_toml(&text, &p.display().to_string())
                .map_err(|e| bad_input(format!("--catalog {}: {e}", p.display())))
        }
    }
}

fn machine_json(m: &Machine) -> serde_json::Value {
    json!({
        "manufacturer": m.manufacturer,
        "model": m.model,
        "hashrate_ths": m.hashrate_ths,
        "power_w": m.power_w,
        "efficiency_jth": m.efficiency_jth(),
        "cooling": m.cooling,
        "release_year": m.release_year,
        "confidence": m.confidence,
        "source": m.source,
        "origin": m.origin,
    })
}

/// Runs `hashpivot machines`.
pub fn run_machines(args: &MachinesArgs, g: &Global) -> anyhow::Result<()> {
    let c = load_catalog(args.catalog.as_ref())?;
    let mut ms: Vec<&Machine> = c.machines().iter().collect();
    // Built-in by manufacturer, then release year, then hashrate; the user's rows last.
    ms.sort_by(|a, b| {
        (a.origin == Origin::User)
            .cmp(&(b.origin == Origin::User))
            .then(a.manufacturer.cmp(&b.manufacturer))
            .then(a.release_year.cmp(&b.release_year))
            .then(a.hashrate_ths.total_cmp(&b.hashrate_ths))
    });
    if g.json {
        return print_json(&json!({
            "count": ms.len(),
            "machines": ms.iter().map(|m| machine_json(m)).collect::<Vec<_>>(),
        }));
    }
    let mut t = Table::new([
        "model",
        "TH/s",
        "W",
        "J/TH",
        "cooling",
        "year",
        "confidence",
        "source",
    ])
    .align(4, Align::Left)
    .align(6, Align::Left)
    .align(7, Align::Left);
    for m in &ms {
        t.row([
            m.model.clone(),
            thousands(m.hashrate_ths, 0),
            thousands(m.power_w, 0),
            format!("{:.1}", m.efficiency_jth()),
            m.cooling.clone(),
            m.release_year.map(|y| y.to_string()).unwrap_or_default(),
            m.confidence.clone(),
            m.source.clone(),
        ]);
    }
    print!("{}", t.render());
    println!(
        "{} machines. Nameplate figures; `low` confidence rows are not cross-checked with a spec sheet.",
        ms.len()
    );
    Ok(())
}

fn fmt_days(d: Option<f64>, never: &str) -> String {
    match d {
        Some(d) => thousands(d.ceil(), 0),
        None => never.to_string(),
    }
}

/// Runs `hashpivot machine`.
pub fn run_machine(args: &MachineArgs, g: &Global) -> anyhow::Result<()> {
    let c = load_catalog(args.catalog.as_ref())?;
    let m = match c.find(&args.model) {
        Ok(m) => m,
        Err(e @ (CatalogError::Unknown { .. } | CatalogError::Ambiguous { .. })) => {
            return Err(bad_input(format!("MODEL: {e}")))
        }
        Err(e) => return Err(e.into()),
    };
    let spec = MachineSpec::new(m.hashrate_ths, m.power_w).map_err(|e| input_err("MODEL", e))?;
    let power = parse_num(
        "--power-usd-mwh",
        &args.power_usd_mwh,
        |v| v.abs() <= MAX_POWER_USD_MWH,
        "use USD per MWh from -10000 to 10000, e.g. 45 (negative: the market pays for load)",
    )?;
    let fees = parse_fees(args.fees.as_deref())?;
    let (height, height_source) = parse_height_opt(args.height.as_deref())?;
    let reward = econ::reward_btc(height, fees);
    let (hashprice, hp_source, price, difficulty) = match (
        &args.hashprice,
        &args.price,
        &args.difficulty,
    ) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(bad_input(
                "--hashprice: give either --hashprice or --price with --difficulty, not both",
            ))
        }
        (Some(h), None, None) => (
            parse_num(
                "--hashprice",
                h,
                |v| (0.0..=1e12).contains(&v),
                "use USD per PH/s per day from 0 to 1e12 (e.g. 43.33)",
            )?,
            "given",
            None,
            None,
        ),
        (None, Some(p), Some(d)) => {
            let price = parse_price(p)?;
            let difficulty = parse_difficulty("--difficulty", d)?;
            (
                econ::hashprice_usd_per_ph_day(
                    econ::BtcPerBlock(reward),
                    econ::Difficulty(difficulty),
                    price,
                )
                .map_err(|e| input_err("--price/--difficulty/--fees", e))?,
                "computed",
                Some(price),
                Some(difficulty),
            )
        }
        (None, Some(_), None) => {
            return Err(bad_input(
                "--difficulty: needed with --price (or give --hashprice)",
            ))
        }
        (None, None, Some(_)) => {
            return Err(bad_input(
                "--price: needed with --difficulty (or give --hashprice)",
            ))
        }
        (None, None, None) => return Err(bad_input(
            "--hashprice: missing; give --hashprice USD_PER_PH_DAY, or --price and --difficulty",
        )),
    };
    let price_per_th = args
        .machine_price_usd_per_th
        .as_deref()
        .map(|r| {
            parse_num(
                "--machine-price-usd-per-th",
                r,
                |v| (0.0..=1e6).contains(&v),
                "use USD per TH/s from 0 to 1e6 (e.g. 25.70)",
            )
        })
        .transpose()?;
    let growth = match args.difficulty_growth.as_deref() {
        None => DEFAULT_DIFFICULTY_GROWTH,
        Some(r) => {
            let (s, scale) = match r.trim().strip_suffix('%') {
                Some(s) => (s, 0.01),
                None => (r, 1.0),
            };
            parse_num("--difficulty-growth", s, |v| v * scale > -1.0 && v * scale <= 10.0, "use an annual rate above -100% and at most 1000%, like 0.22 or 22%")
                .map(|v| v * scale)
                .map_err(|_| bad_input(format!("--difficulty-growth: {r:?} is not allowed; use an annual rate above -100% and at most 1000%, like 0.22 or 22%")))?
        }
    };
    let horizon_years = match args.horizon_years.as_deref() {
        None => DEFAULT_HORIZON_YEARS,
        Some(r) => parse_num(
            "--horizon-years",
            r,
            |v| v > 0.0 && v <= 50.0,
            "use 0 < years <= 50",
        )?,
    };
    let horizon_days = (horizon_years * 365.0).round().max(1.0) as u32;

    let inputs = "--hashprice (or --price/--difficulty)/--power-usd-mwh/--machine-price-usd-per-th";
    let d = econ::daily(&spec, hashprice, power).map_err(|e| input_err(inputs, e))?;
    let capex = price_per_th.map(|p| p * m.hashrate_ths);
    let simple = capex.map(|c| econ::simple_payback_days(c, d.margin_usd_day));
    let projected = match capex {
        Some(capex_usd) => Some(
            econ::projected_payback(
                &spec,
                &Projection {
                    hashprice0: hashprice,
                    height0: height,
                    fees_btc: fees,
                    difficulty_growth: growth,
                    power_usd_mwh: power,
                    capex_usd,
                    horizon_days,
                },
            )
            .map_err(|e| input_err(inputs, e))?,
        ),
        None => None,
    };
    let mut outs = vec![
        ("hashprice_usd_per_ph_day", hashprice),
        ("revenue_usd_day", d.revenue_usd_day),
        ("power_cost_usd_day", d.power_cost_usd_day),
        ("margin_usd_day", d.margin_usd_day),
        ("breakeven_power_usd_mwh", d.breakeven_power_usd_mwh),
        (
            "breakeven_hashprice_usd_per_ph_day",
            d.breakeven_hashprice_usd_per_ph_day,
        ),
    ];
    if let Some(c) = capex {
        outs.push(("capex_usd", c));
    }
    if let Some(Some(s)) = simple {
        outs.push(("simple_payback_days", s));
    }
    if let Some(p) = &projected {
        outs.push(("projected.cumulative_margin_usd", p.cumulative_margin_usd));
    }
    ensure_finite(&outs, inputs)?;

    if g.json {
        return print_json(&json!({
            "machine": machine_json(m),
            "hashprice_usd_per_ph_day": hashprice,
            "hashprice_source": hp_source,
            "price_usd": price,
            "difficulty": difficulty,
            "height": height,
            "height_source": height_source,
            "fees_btc": fees,
            "power_usd_mwh": power,
            "revenue_usd_day": d.revenue_usd_day,
            "power_cost_usd_day": d.power_cost_usd_day,
            "margin_usd_day": d.margin_usd_day,
            "breakeven_power_usd_mwh": d.breakeven_power_usd_mwh,
            "breakeven_hashprice_usd_per_ph_day": d.breakeven_hashprice_usd_per_ph_day,
            "machine_price_usd_per_th": price_per_th,
            "capex_usd": capex,
            "simple_payback_days": simple.flatten(),
            "projected": projected.map(|p| json!({
                "payback_days": p.payback_days,
                "horizon_days": p.horizon_days,
                "difficulty_growth": growth,
                "curtailed_days": p.curtailed_days,
                "first_curtailed_day": p.first_curtailed_day,
                "halving_day": p.halving_day,
                "cumulative_margin_usd": p.cumulative_margin_usd,
            })),
        }));
    }

    println!(
        "{} — {} TH/s, {} W, {:.1} J/TH; source: {}",
        m.model,
        thousands(m.hashrate_ths, 0),
        thousands(m.power_w, 0),
        m.efficiency_jth(),
        m.source
    );
    println!();
    let mut t = kv_table();
    let hp_note = match (price, difficulty) {
        (Some(p), Some(dd)) => format!(
            "(computed: ${} × {} BTC/block at {} difficulty, height {})",
            thousands(p, 0),
            format_reward(reward),
            fmt_difficulty(dd),
            thousands(height as f64, 0)
        ),
        _ => "(given)".to_string(),
    };
    t.row([
        "hashprice".to_string(),
        thousands(hashprice, 2),
        format!("USD per PH/s per day {hp_note}"),
    ]);
    t.row([
        "power price".to_string(),
        thousands(power, 2),
        "USD/MWh".into(),
    ]);
    t.row([
        "revenue".to_string(),
        thousands(d.revenue_usd_day, 2),
        "USD/day".into(),
    ]);
    t.row([
        "power cost".to_string(),
        thousands(d.power_cost_usd_day, 2),
        format!("USD/day ({:.4} MWh/day)", spec.mwh_per_day()),
    ]);
    t.row([
        "margin".to_string(),
        thousands(d.margin_usd_day, 2),
        "USD/day".into(),
    ]);
    t.row([
        "break-even power price".to_string(),
        thousands(d.breakeven_power_usd_mwh, 2),
        "USD/MWh".into(),
    ]);
    t.row([
        "break-even hashprice".to_string(),
        thousands(d.breakeven_hashprice_usd_per_ph_day, 2),
        "USD per PH/s per day".into(),
    ]);
    match (capex, simple, projected) {
        (Some(c), Some(s), Some(p)) => {
            t.row([
                "machine cost".to_string(),
                thousands(c, 2),
                format!(
                    "USD ({} USD per TH/s)",
                    thousands(price_per_th.unwrap_or(0.0), 2)
                ),
            ]);
            t.row([
                "simple payback".to_string(),
                fmt_days(s, "never"),
                "days at today's hashprice".into(),
            ]);
            let never = format!("never within {} years", format_years(horizon_years));
            let mut note = format!(
                "{}difficulty {:+.1}%/yr, price and fees flat, halving at 1,050,000",
                if p.payback_days.is_some() {
                    "days: "
                } else {
                    ""
                },
                growth * 100.0
            );
            if let Some(hd) = p.halving_day {
                note.push_str(&format!(" (day {})", thousands(hd as f64, 0)));
            }
            t.row([
                "projected payback".to_string(),
                fmt_days(p.payback_days.map(f64::from), &never),
                note,
            ]);
            t.row([
                "curtailed days".to_string(),
                thousands(p.curtailed_days as f64, 0),
                "days switched off (negative margin) in the projection".into(),
            ]);
        }
        _ => {
            t.row([
                "payback".to_string(),
                "—".to_string(),
                "pass --machine-price-usd-per-th".into(),
            ]);
        }
    }
    print!("{}", t.render());
    Ok(())
}

fn format_reward(r: f64) -> String {
    let s = format!("{r:.8}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn format_years(y: f64) -> String {
    if y.fract() == 0.0 {
        format!("{y:.0}")
    } else {
        format!("{y}")
    }
}
