//! `hashpivot hashprice`, `hashpivot machines`, `hashpivot machine`: hashprice and the economics
//! of one mining machine, over `hashpivot_model::{machine, catalog}`.
//!
//! Numbers arrive as raw strings and are validated here, so every bad value is reported (exit 2)
//! naming the flag, the value and what is allowed.

use std::path::PathBuf;

use hashpivot_model::catalog::{Catalog, CatalogError, Machine, Origin};
use hashpivot_model::machine::{self as econ, MachineSpec, MarketInputs};
use hashpivot_model::scenario::{market, Scenario};
use serde_json::json;

use crate::error::bad_input;
use crate::output::{print_json, thousands, thousands_int, Align, Table};
use crate::Global;

/// Arguments of `hashpivot hashprice`.
#[derive(Debug, clap::Args)]
pub struct HashpriceArgs {
    /// BTC price in USD.
    #[arg(long, value_name = "USD", allow_hyphen_values = true)]
    pub price: String,
    /// Network difficulty: a number (`148260000000000`, `1.4826e14`) or with a suffix (`148.26T`).
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub difficulty: String,
    /// Transaction fees per block, BTC [default: the fees of the market state every command
    /// starts from, their recent average].
    #[arg(long, value_name = "BTC_PER_BLOCK", allow_hyphen_values = true)]
    pub fees: Option<String>,
    /// Block height for the subsidy [default: the height of the market state every command starts
    /// from (the shipped data's newest day)]. The subsidy halves at 1,050,000.
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
    /// Today's hashprice, USD per PH/s per day (instead of --price) [default: computed from the
    /// market state's price, difficulty, height and fees].
    #[arg(long, value_name = "USD_PER_PH_DAY", allow_hyphen_values = true)]
    pub hashprice: Option<String>,
    /// BTC price in USD [default: the market state's].
    #[arg(long, value_name = "USD", allow_hyphen_values = true)]
    pub price: Option<String>,
    /// Network difficulty, e.g. `148.26T` [default: the market state's].
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub difficulty: Option<String>,
    /// Fees per block, BTC [default: the market state's]. Fees do not halve; the subsidy does.
    #[arg(long, value_name = "BTC_PER_BLOCK", allow_hyphen_values = true)]
    pub fees: Option<String>,
    /// Chain height today [default: the market state's].
    #[arg(long, value_name = "H", allow_hyphen_values = true)]
    pub height: Option<String>,
    /// Machine price, USD per TH/s (e.g. 25.70 for an S21 XP in Nov 2025); enables payback,
    /// projected on the engine's zero-volatility path of the default scenario (as `payback`).
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub machine_price_usd_per_th: Option<String>,
    /// Life of the machine for the projected payback, years [default: the scenario's
    /// mining.refresh_every_years] (as `payback --life-years`).
    #[arg(long, value_name = "YEARS", allow_hyphen_values = true)]
    pub life_years: Option<String>,
    /// No longer used: the projection is the engine's (hashrate follows profitability).
    #[arg(long, value_name = "RATE", allow_hyphen_values = true, hide = true)]
    pub difficulty_growth: Option<String>,
    /// No longer used: see --life-years.
    #[arg(long, value_name = "YEARS", allow_hyphen_values = true, hide = true)]
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

fn parse_fees(raw: &str) -> anyhow::Result<f64> {
    parse_num(
        "--fees",
        raw,
        |v| (0.0..=21e6).contains(&v),
        "use BTC per block, 0 or more (e.g. 0.025)",
    )
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

/// Runs `hashpivot hashprice`: flags → `model::machine::hashprice_report` → render.
pub fn run_hashprice(args: &HashpriceArgs, g: &Global) -> anyhow::Result<()> {
    let inputs = econ::HashpriceInputs {
        price_usd: parse_price(&args.price)?,
        difficulty: econ::Difficulty(parse_difficulty("--difficulty", &args.difficulty)?),
        fees_btc: args.fees.as_deref().map(parse_fees).transpose()?,
        height: args
            .height
            .as_deref()
            .map(|r| super::chain::parse_height("--height", r))
            .transpose()?,
    };
    let q = econ::hashprice_report(&inputs).map_err(|e| input_err("--difficulty/--fees", e))?;
    ensure_finite(&q.outputs(), "--price/--difficulty/--fees")?;
    if g.json {
        return print_json(&q);
    }
    let (price, difficulty, height, fees) = (q.price_usd, q.difficulty, q.height, q.fees_btc);
    let (subsidy, btc, usd, hashrate_ehs) = (
        q.subsidy_btc,
        q.btc_per_ph_day,
        q.usd_per_ph_day,
        q.implied_hashrate_ehs,
    );
    let height_source = &q.height_source;
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
        thousands_int(height),
        format!("({height_source}; the subsidy depends on it)"),
    ]);
    t.row([
        "subsidy".to_string(),
        format!("{subsidy:.8}"),
        "BTC/block".into(),
    ]);
    t.row([
        "fees".to_string(),
        format!("{fees:.8}"),
        match &q.fees_source {
            Some(src) => format!("BTC/block ({src}, its recent average)"),
            None => "BTC/block".into(),
        },
    ]);
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

/// Rejects the flags of the old projection rule (difficulty growing at a fixed rate), which no
/// longer mean anything: the projection is the engine's zero-volatility path.
fn reject_retired(args: &MachineArgs) -> anyhow::Result<()> {
    if args.difficulty_growth.is_some() {
        return Err(bad_input(
            "--difficulty-growth: no longer used; the projected payback is the engine's zero-volatility path of the default scenario, where the hashrate follows profitability (change the hashrate process in a scenario file and run `hashpivot payback`)",
        ));
    }
    if args.horizon_years.is_some() {
        return Err(bad_input(
            "--horizon-years: no longer used; the projected payback runs over the machine's life (use --life-years, default the scenario's mining.refresh_every_years)",
        ));
    }
    Ok(())
}

/// The market flags of `machine`, parsed (each `None` keeps the market state's value).
fn market_inputs(args: &MachineArgs, power: f64) -> anyhow::Result<MarketInputs> {
    if args.hashprice.is_some() && args.price.is_some() {
        return Err(bad_input(
            "--hashprice: give either --hashprice or --price, not both",
        ));
    }
    let hashprice = args
        .hashprice
        .as_deref()
        .map(|h| {
            parse_num(
                "--hashprice",
                h,
                |v| (0.0..=1e12).contains(&v),
                "use USD per PH/s per day from 0 to 1e12 (e.g. 43.33)",
            )
        })
        .transpose()?;
    Ok(MarketInputs {
        price_usd: args.price.as_deref().map(parse_price).transpose()?,
        difficulty: args
            .difficulty
            .as_deref()
            .map(|d| parse_difficulty("--difficulty", d))
            .transpose()?,
        hashprice,
        height: args
            .height
            .as_deref()
            .map(|r| super::chain::parse_height("--height", r))
            .transpose()?,
        fees_btc: args.fees.as_deref().map(parse_fees).transpose()?,
        power_usd_mwh: power,
    })
}

/// Runs `hashpivot machine`.
pub fn run_machine(args: &MachineArgs, g: &Global) -> anyhow::Result<()> {
    reject_retired(args)?;
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
    let inputs = market_inputs(args, power)?;
    let (price_per_th, life_years) = machine_price_and_life(args)?;
    let market_flags = "--price/--hashprice/--difficulty/--height/--fees/--power-usd-mwh";
    // The same market state and "today" as `payback` and `simulate`: the default scenario.
    let sc = econ::projection_scenario(&Scenario::default(), &inputs)
        .map_err(|e| input_err(market_flags, e))?;
    let (height, fees) = (sc.chain.height, sc.fees.btc_per_block);
    let reward = econ::reward_btc(height, fees);
    let (price, difficulty) = (sc.price.spot, sc.chain.difficulty);
    let hashprice = match inputs.hashprice {
        Some(h) => h,
        None => econ::hashprice_usd_per_ph_day(
            econ::BtcPerBlock(reward),
            econ::Difficulty(difficulty),
            price,
        )
        .map_err(|e| input_err(market_flags, e))?,
    };
    let height_source = if inputs.height.is_some() {
        "given".to_string()
    } else {
        market::label()
    };

    let flags = "--hashprice (or --price/--difficulty)/--power-usd-mwh/--machine-price-usd-per-th";
    let d = econ::daily(&spec, hashprice, power).map_err(|e| input_err(flags, e))?;
    let capex = price_per_th.map(|p| p * m.hashrate_ths);
    let simple = capex.map(|c| econ::simple_payback_days(c, d.margin_usd_day));
    let projected = price_per_th
        .map(|p| econ::projected_payback(&sc, &spec, p, life_years))
        .transpose()
        .map_err(|e| {
            input_err(
                &format!("{market_flags}/--machine-price-usd-per-th/--life-years"),
                e,
            )
        })?;
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
        outs.push(("projected.npv_usd", p.npv_usd.mean));
    }
    ensure_finite(&outs, flags)?;

    let q = MachineQuote {
        m,
        spec,
        power,
        hashprice_given: inputs.hashprice.is_some(),
        hashprice,
        price,
        difficulty,
        height,
        height_source,
        fees,
        reward,
        d,
        price_per_th,
        capex,
        simple,
        projected,
    };
    if g.json {
        return print_json(&machine_document(&q));
    }
    print_machine(&q);
    Ok(())
}

/// `--machine-price-usd-per-th` and `--life-years` of `hashpivot machine` (each optional),
/// checked as `payback` checks them.
fn machine_price_and_life(args: &MachineArgs) -> anyhow::Result<(Option<f64>, Option<f64>)> {
    let price_per_th = args
        .machine_price_usd_per_th
        .as_deref()
        .map(|r| {
            parse_num(
                "--machine-price-usd-per-th",
                r,
                |v| v > 0.0 && v <= 1e4,
                "use USD per TH/s above 0 and at most 10000 (e.g. 25.70), as `payback`",
            )
        })
        .transpose()?;
    let life_years = args
        .life_years
        .as_deref()
        .map(|r| {
            parse_num(
                "--life-years",
                r,
                |v| v * 365.0 >= 1.0 && v <= 50.0,
                "use 1/365 to 50 years, as `payback`",
            )
        })
        .transpose()?;
    Ok((price_per_th, life_years))
}

/// Everything `hashpivot machine` reports, computed once by [`run_machine`] and then printed as
/// one JSON document or as a table.
struct MachineQuote<'a> {
    m: &'a Machine,
    spec: MachineSpec,
    /// Power price, USD/MWh.
    power: f64,
    /// `--hashprice` was given (otherwise it is computed from price, reward and difficulty).
    hashprice_given: bool,
    hashprice: f64,
    price: f64,
    difficulty: f64,
    height: u64,
    height_source: String,
    fees: f64,
    /// Subsidy plus fees, BTC per block.
    reward: f64,
    d: econ::DailyEconomics,
    price_per_th: Option<f64>,
    capex: Option<f64>,
    /// `None` without a machine price; `Some(None)` when it never pays back.
    simple: Option<Option<f64>>,
    projected: Option<hashpivot_model::payback::PaybackOutput>,
}

/// The `--json` document of `hashpivot machine`.
fn machine_document(q: &MachineQuote) -> serde_json::Value {
    json!({
        "machine": machine_json(q.m),
        "market_state": econ::MarketStateRef::current(),
        "hashprice_usd_per_ph_day": q.hashprice,
        "hashprice_source": if q.hashprice_given { "given" } else { "computed" },
        "price_usd": q.price,
        "difficulty": q.difficulty,
        "height": q.height,
        "height_source": q.height_source,
        "fees_btc": q.fees,
        "power_usd_mwh": q.power,
        "revenue_usd_day": q.d.revenue_usd_day,
        "power_cost_usd_day": q.d.power_cost_usd_day,
        "margin_usd_day": q.d.margin_usd_day,
        "breakeven_power_usd_mwh": q.d.breakeven_power_usd_mwh,
        "breakeven_hashprice_usd_per_ph_day": q.d.breakeven_hashprice_usd_per_ph_day,
        "machine_price_usd_per_th": q.price_per_th,
        "capex_usd": q.capex,
        "simple_payback_days": q.simple.flatten(),
        "projected": q.projected.as_ref().map(|p| json!({
            "path": "default scenario, every volatility zero (the engine's deterministic path)",
            "payback_days": p.payback_days.p50,
            "life_days": p.life_days,
            "pays_back_before_halving": p.prob_payback_before_halving == 1.0,
            "halving_day": p.halving_day_p50,
            "irr": p.irr.p50,
            "npv_usd": p.npv_usd.mean,
        })),
    })
}

/// `hashpivot machine` for humans: the machine, where the market state comes from, and the daily
/// economics and payback as a key-value table.
fn print_machine(q: &MachineQuote) {
    println!(
        "{} — {} TH/s, {} W, {:.1} J/TH; source: {}",
        q.m.model,
        thousands(q.m.hashrate_ths, 0),
        thousands(q.m.power_w, 0),
        q.m.efficiency_jth(),
        q.m.source
    );
    println!(
        "Starts from the {} (the same as `payback` and `simulate`)",
        market::label()
    );
    println!();
    let mut t = kv_table();
    let hp_note = if q.hashprice_given {
        "(given)".to_string()
    } else {
        format!(
            "(computed: ${} × {} BTC/block at {} difficulty, height {})",
            thousands(q.price, 0),
            format_reward(q.reward),
            fmt_difficulty(q.difficulty),
            thousands_int(q.height)
        )
    };
    t.row([
        "hashprice".to_string(),
        thousands(q.hashprice, 2),
        format!("USD per PH/s per day {hp_note}"),
    ]);
    t.row([
        "power price".to_string(),
        thousands(q.power, 2),
        "USD/MWh".into(),
    ]);
    t.row([
        "revenue".to_string(),
        thousands(q.d.revenue_usd_day, 2),
        "USD/day".into(),
    ]);
    t.row([
        "power cost".to_string(),
        thousands(q.d.power_cost_usd_day, 2),
        format!("USD/day ({:.4} MWh/day)", q.spec.mwh_per_day()),
    ]);
    t.row([
        "margin".to_string(),
        thousands(q.d.margin_usd_day, 2),
        "USD/day".into(),
    ]);
    t.row([
        "break-even power price".to_string(),
        thousands(q.d.breakeven_power_usd_mwh, 2),
        "USD/MWh".into(),
    ]);
    t.row([
        "break-even hashprice".to_string(),
        thousands(q.d.breakeven_hashprice_usd_per_ph_day, 2),
        "USD per PH/s per day".into(),
    ]);
    machine_payback_rows(&mut t, q);
    print!("{}", t.render());
}

/// The payback rows of `hashpivot machine`: machine cost, simple and projected payback and the
/// NPV when a machine price is given, else a hint to give one.
fn machine_payback_rows(t: &mut Table, q: &MachineQuote) {
    match (q.capex, q.simple, &q.projected) {
        (Some(c), Some(s), Some(p)) => {
            t.row([
                "machine cost".to_string(),
                thousands(c, 2),
                format!(
                    "USD ({} USD per TH/s)",
                    thousands(q.price_per_th.unwrap_or(0.0), 2)
                ),
            ]);
            t.row([
                "simple payback".to_string(),
                fmt_days(s, "never"),
                "days at today's hashprice, power only".into(),
            ]);
            let never = format!(
                "never within its life ({} days)",
                thousands(p.life_days as f64, 0)
            );
            let mut note = format!(
                "{}engine's zero-volatility path (as `payback`): uptime, pool fee, overhead, opex",
                if p.payback_days.p50.is_some() {
                    "days: "
                } else {
                    ""
                },
            );
            if let Some(hd) = p.halving_day_p50 {
                note.push_str(&format!("; halving on day {}", thousands(hd, 0)));
            }
            t.row([
                "projected payback".to_string(),
                fmt_days(p.payback_days.p50, &never),
                note,
            ]);
            t.row([
                "projected NPV".to_string(),
                thousands(p.npv_usd.mean, 2),
                format!(
                    "USD over {} days, salvage included, at mining.discount_rate",
                    thousands(p.life_days as f64, 0)
                ),
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
}

fn format_reward(r: f64) -> String {
    let s = format!("{r:.8}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
