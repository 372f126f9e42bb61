//! Scenario files (MODEL.md section 7): the types, TOML parsing, validation, and the embedded default.
//!
//! Every table is `deny_unknown_fields`; keys a file leaves out take the product's documented defaults
//! (the values of [`Scenario::default`]), except that a `[[mining.fleet]]` entry needs all four of its
//! fields. [`Scenario::validate`] checks every range *before* any work starts and reports all
//! problems at once, each naming the key path (`mining.fleet[2].units`), the value and what is allowed.
//!
//! The JSON form (serde) has exactly the same tables and keys as the TOML form, so the HTTP API and
//! the files are interchangeable.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A complete scenario: market state, stochastic processes, the site, the AI lease, and the strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// `[run]`: horizon, paths, seed.
    pub run: Run,
    /// `[chain]`: the chain state at day 0.
    pub chain: Chain,
    /// `[price]`: BTC/USD geometric Brownian motion.
    pub price: Price,
    /// `[fees]`: mean-reverting log fees per block.
    pub fees: Fees,
    /// `[hashrate]`: network hashrate that mean-reverts to the break-even hashrate.
    pub hashrate: Hashrate,
    /// `[site]`: the powered site.
    pub site: Site,
    /// `[mining]`: the mining operation and its fleet.
    pub mining: Mining,
    /// `[ai]`: the AI/HPC powered-shell lease.
    pub ai: Ai,
    /// `[strategy]`: what to evaluate.
    pub strategy: Strategy,
    /// `[power]`: optional hourly power model (an extension; absent = the flat price of `[site]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<Power>,
    /// `[dispatch]`: optional hour-by-hour dispatch rules (credits, minimum run/off hours, 4CP) used by
    /// `hashpivot dispatch`; absent = the documented defaults of `crate::power::DispatchConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<crate::power::DispatchConfig>,
}

/// `[run]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Run {
    /// Horizon in years; the simulation runs `round(horizon_years * 365)` days.
    pub horizon_years: f64,
    /// Number of Monte Carlo paths.
    pub paths: u64,
    /// Seed of the keyed random streams.
    pub seed: u64,
}

/// `[chain]`: the chain state at the start of day 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Chain {
    /// Block height at day 0.
    pub height: u64,
    /// Difficulty of the current epoch.
    pub difficulty: f64,
    /// Network hashrate, EH/s. Absent: `difficulty * 2^32 / 600 / 1e18` (the hashrate at which blocks
    /// come every 600 s). A `[chain]` table that leaves it out gets that formula (MODEL.md §3), not
    /// the embedded default's value, hence the field-level `default` (= `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashrate_ehs: Option<f64>,
    /// Days elapsed in the current epoch. Absent: `(height - epoch_start) / 144` (same rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_elapsed_days: Option<f64>,
}

/// `[price]`: `ln S` is a Brownian motion with drift `drift - vol²/2` per year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Price {
    /// BTC/USD at day 0.
    pub spot: f64,
    /// Expected growth rate per year (arithmetic).
    pub drift: f64,
    /// Volatility per √year.
    pub vol: f64,
}

/// `[fees]`: the log fee level `x` is an Ornstein–Uhlenbeck process around `ln btc_per_block`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fees {
    /// Fees per block, BTC: the starting level and the long-run level.
    pub btc_per_block: f64,
    /// Mean-reversion speed per year.
    pub speed: f64,
    /// Volatility of `x` per √year.
    pub vol: f64,
}

/// `[hashrate]`: network hashrate response (MODEL.md section 3, step 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hashrate {
    /// Speed per year at which hashrate rises toward a higher break-even hashrate.
    pub speed_up: f64,
    /// Speed per year at which hashrate falls toward a lower break-even hashrate.
    pub speed_down: f64,
    /// Volatility of `ln H` per √year.
    pub vol: f64,
    /// Efficiency of the marginal fleet at day 0, J/TH.
    pub marginal_efficiency_jth: f64,
    /// Yearly fractional improvement of the marginal efficiency.
    pub efficiency_decline: f64,
    /// Floor of the marginal efficiency, J/TH.
    pub efficiency_floor_jth: f64,
    /// Power price of the marginal miner, $/MWh.
    pub marginal_power_usd_mwh: f64,
    /// Share of revenue the marginal miner spends on power at break-even.
    pub power_share: f64,
}

/// `[site]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Site {
    /// Gross site power, MW.
    pub power_mw: f64,
    /// Power price at day 0, $/MWh.
    pub power_usd_mwh: f64,
    /// Yearly escalation of the power price.
    pub power_escalator: f64,
    /// Terminal value as a multiple of each stream's undiscounted net cash of the last 365 days.
    pub terminal_multiple: f64,
}

/// `[mining]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mining {
    /// Facility overhead factor (PUE): facility power = machine power × overhead.
    pub overhead: f64,
    /// Fraction of the time the machines hash.
    pub uptime: f64,
    /// Pool fee, fraction of the BTC earned.
    pub pool_fee: f64,
    /// Switch a batch off on days when its revenue is below its power cost.
    pub curtail: bool,
    /// Fixed operating cost, $ per MW of deployed fleet (facility MW) per month.
    pub opex_usd_per_mw_month: f64,
    /// Resale value of removed machines, $ per TH/s.
    pub salvage_usd_per_th: f64,
    /// Replace the whole fleet with frontier machines every this many years (0 = never).
    pub refresh_every_years: f64,
    /// Price of new machines in days of hashprice ($/TH = days × hashprice in $/TH/day).
    pub hw_days_of_hashprice: f64,
    /// Discount rate of mining cash flows, per year.
    pub discount_rate: f64,
    /// The fleet at day 0.
    pub fleet: Vec<Batch>,
}

/// One `[[mining.fleet]]` entry: a batch of identical machines. All fields are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Machine model (a label; economics come from the two numbers below).
    pub model: String,
    /// Number of machines.
    pub units: f64,
    /// Hashrate of one machine, TH/s.
    pub hashrate_ths: f64,
    /// Power draw of one machine at the wall, W.
    pub power_w: f64,
}

/// `[ai]`: converting part of the site to an AI/HPC powered shell leased to a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ai {
    /// IT MW per gross MW (1 / AI PUE).
    pub it_mw_per_gross_mw: f64,
    /// Conversion capex, $ per MW of IT load.
    pub capex_usd_per_mw_it: f64,
    /// Months from the decision to first rent.
    pub build_months: f64,
    /// Lease market rate at day 0, $ per kW(IT) per month.
    pub lease_usd_per_kw_month: f64,
    /// Yearly rent escalator within a term.
    pub lease_escalator: f64,
    /// Lease term, years.
    pub lease_term_years: f64,
    /// Probability that each term is renewed.
    pub renewal_probability: f64,
    /// Tenant default hazard per year.
    pub tenant_default_rate: f64,
    /// Landlord net operating income as a fraction of rent.
    pub noi_margin: f64,
    /// Discount rate of AI cash flows, per year.
    pub discount_rate: f64,
    /// Expected growth of the lease market rate per year.
    pub lease_drift: f64,
    /// Volatility of the lease market rate per √year.
    pub lease_vol: f64,
    /// Correlation between the price and lease-rate shocks.
    pub lease_price_corr: f64,
}

/// Which strategy a run evaluates (the `mine` baseline is always evaluated too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// Keep mining; no conversion.
    Mine,
    /// Convert `strategy.share` of the site on day 0.
    Convert,
    /// Convert on the days and shares of `strategy.schedule`.
    Schedule,
    /// Convert each share of `strategy.shares` on day 0, one result per share.
    Sweep,
    /// Real-option strategy: convert slices when least-squares Monte Carlo says so.
    Optimal,
}

impl StrategyKind {
    /// The lowercase name used in files, flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyKind::Mine => "mine",
            StrategyKind::Convert => "convert",
            StrategyKind::Schedule => "schedule",
            StrategyKind::Sweep => "sweep",
            StrategyKind::Optimal => "optimal",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "mine" => StrategyKind::Mine,
            "convert" => StrategyKind::Convert,
            "schedule" => StrategyKind::Schedule,
            "sweep" => StrategyKind::Sweep,
            "optimal" => StrategyKind::Optimal,
            _ => return None,
        })
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[strategy]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Strategy {
    /// Which strategy to evaluate beside `mine`.
    pub kind: StrategyKind,
    /// Share of the site converted on day 0 by `convert`.
    pub share: f64,
    /// `schedule`: `(day, share)` pairs; shares must sum to at most 1.
    pub schedule: Vec<(u32, f64)>,
    /// `sweep`: the grid of shares.
    pub shares: Vec<f64>,
    /// `optimal`: number of equal slices of the site.
    pub tranches: u32,
    /// `optimal`: last decision month (decisions on months `0..=decide_months`).
    pub decide_months: u32,
}

/// `[power]`: the hourly power extension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Power {
    /// Hourly price source `market:node:year`, e.g. `"ercot:HB_WEST:2024"`. Parsed and validated
    /// here; applied by `crate::power` (until that lands, the engine uses the flat `[site]` price).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hourly: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Defaults: the embedded default scenario. Every value cites its row of docs/PARAMETERS.md, the data
// file it comes from, or says it is a judgement; the same notes are printed by `scenario show`.
// ---------------------------------------------------------------------------------------------

/// Market state of the default scenario: `hashpivot_data::market_state()`, the newest state of
/// the data that ships with the product (computed once).
pub mod market {
    use std::sync::OnceLock;

    pub use hashpivot_data::MarketState;

    /// The shipped market state (the same code path as `hashpivot calibrate`).
    pub fn state() -> &'static MarketState {
        static STATE: OnceLock<MarketState> = OnceLock::new();
        STATE.get_or_init(hashpivot_data::market_state)
    }
}

impl Default for Run {
    fn default() -> Self {
        Run {
            horizon_years: 15.0,
            paths: 10_000,
            seed: 42,
        }
    }
}

impl Default for Chain {
    fn default() -> Self {
        let m = market::state();
        Chain {
            height: u64::from(m.height),
            difficulty: m.difficulty,
            hashrate_ehs: Some(m.hashrate_ehs),
            epoch_elapsed_days: Some(m.epoch_elapsed_days),
        }
    }
}

impl Default for Price {
    fn default() -> Self {
        Price {
            spot: market::state().spot_usd,
            drift: 0.11,
            vol: 0.47,
        }
    }
}

impl Default for Fees {
    fn default() -> Self {
        Fees {
            btc_per_block: market::state().fees_btc_per_block,
            speed: 2.0,
            vol: 0.8,
        }
    }
}

impl Default for Hashrate {
    fn default() -> Self {
        Hashrate {
            speed_up: 1.0,
            speed_down: 4.0,
            vol: 0.15,
            marginal_efficiency_jth: 18.0,
            efficiency_decline: 0.08,
            efficiency_floor_jth: 5.0,
            marginal_power_usd_mwh: 45.0,
            power_share: 0.5,
        }
    }
}

impl Default for Site {
    fn default() -> Self {
        Site {
            power_mw: 1000.0,
            power_usd_mwh: 38.0,
            power_escalator: 0.02,
            terminal_multiple: 0.0,
        }
    }
}

impl Default for Mining {
    fn default() -> Self {
        let b = |model: &str, units: f64, hashrate_ths: f64, power_w: f64| Batch {
            model: model.to_string(),
            units,
            hashrate_ths,
            power_w,
        };
        Mining {
            overhead: 1.05,
            uptime: 0.97,
            pool_fee: 0.02,
            curtail: true,
            opex_usd_per_mw_month: 4000.0,
            salvage_usd_per_th: 3.0,
            refresh_every_years: 4.0,
            hw_days_of_hashprice: 590.0,
            discount_rate: 0.15,
            fleet: vec![
                b("Antminer S19 XP", 40_000.0, 140.0, 3010.0),
                b("Whatsminer M60S", 60_000.0, 186.0, 3441.0),
                b("Antminer S21", 60_000.0, 200.0, 3500.0),
                b("Antminer S21 Pro", 60_000.0, 234.0, 3510.0),
                b("Antminer S21 XP Hyd", 30_000.0, 473.0, 5676.0),
            ],
        }
    }
}

impl Default for Ai {
    fn default() -> Self {
        Ai {
            it_mw_per_gross_mw: 0.77,
            capex_usd_per_mw_it: 9.5e6,
            build_months: 12.0,
            lease_usd_per_kw_month: 130.0,
            lease_escalator: 0.03,
            lease_term_years: 15.0,
            renewal_probability: 0.8,
            tenant_default_rate: 0.02,
            noi_margin: 0.85,
            discount_rate: 0.08,
            lease_drift: 0.0,
            lease_vol: 0.15,
            lease_price_corr: 0.0,
        }
    }
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy {
            kind: StrategyKind::Sweep,
            share: 1.0,
            schedule: vec![(0, 0.5), (580, 0.5)],
            shares: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            tranches: 4,
            decide_months: 36,
        }
    }
}

impl Default for Scenario {
    /// The embedded default scenario: a 1 GW Texas site with a mixed fleet, market state as of the
    /// newest shipped data. `hashpivot scenario show` prints it with the source of every value.
    fn default() -> Self {
        Scenario {
            run: Run::default(),
            chain: Chain::default(),
            price: Price::default(),
            fees: Fees::default(),
            hashrate: Hashrate::default(),
            site: Site::default(),
            mining: Mining::default(),
            ai: Ai::default(),
            strategy: Strategy::default(),
            power: None,
            dispatch: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One invalid value: the key path, the value given, and what is allowed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// Key path, e.g. `mining.fleet[2].units`.
    pub key: String,
    /// The value given, as text.
    pub value: String,
    /// What is allowed, e.g. `0 <= x <= 1`.
    pub allowed: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}: allowed {}", self.key, self.value, self.allowed)
    }
}

/// Why a scenario was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// TOML syntax error, an unknown key, a missing fleet field or a value of the wrong type.
    #[error("scenario: line {line}, column {column}{}: {message}", table.as_ref().map(|t| format!(" (in [{t}])")).unwrap_or_default())]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The table the error is in, with an index for `[[mining.fleet]]` entries
        /// (`mining.fleet[2]`), when known.
        table: Option<String>,
        /// The parser's message (names the key).
        message: String,
    },
    /// One or more values out of range.
    #[error("invalid scenario ({} problem{}):\n  {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<FieldError>),
}

impl Scenario {
    /// Parses a scenario from TOML. Keys left out take the defaults; syntax errors, unknown keys,
    /// wrong types and incomplete fleet entries are reported with line and column. Does not check
    /// ranges: call [`Scenario::validate`] (or use [`Scenario::parse_and_validate`]).
    pub fn from_toml_str(text: &str) -> Result<Scenario, ScenarioError> {
        toml::from_str::<Scenario>(text).map_err(|e| {
            // Wrong types: all of them, by full key path (crate::scenario_input).
            if let Some(p) = crate::scenario_input::toml_type_problems(text) {
                return ScenarioError::Invalid(p);
            }
            let (line, column) = match e.span() {
                Some(span) => line_col(text, span.start),
                None => (1, 1),
            };
            let table = e.span().and_then(|s| table_at(text, s.start));
            ScenarioError::Parse {
                line,
                column,
                table,
                // serde quotes the whole offending value (`invalid value: string "…"`).
                message: hashpivot_data::text::clip_quoted(e.message().trim()),
            }
        })
    }

    /// [`Scenario::from_toml_str`] followed by [`Scenario::validate`].
    pub fn parse_and_validate(text: &str) -> Result<Scenario, ScenarioError> {
        let s = Scenario::from_toml_str(text)?;
        s.validate()?;
        Ok(s)
    }

    /// The scenario as plain TOML (no comments).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Number of simulated days, `round(horizon_years * 365)`.
    pub fn days(&self) -> usize {
        (self.run.horizon_years * 365.0).round().max(0.0) as usize
    }

    /// Checks every value before any work: all problems are collected, each naming its key path,
    /// the value and the allowed range.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let mut v = Check::default();
        let s = self;
        v.range(
            "run.horizon_years",
            s.run.horizon_years,
            1.0 / 365.0,
            100.0,
            "1/365 <= x <= 100 years",
        );
        if s.run.paths == 0 || s.run.paths > MAX_PATHS {
            v.push(
                "run.paths",
                s.run.paths.to_string(),
                format!("1 <= paths <= {MAX_PATHS}"),
            );
        }
        // TOML integers are i64: a larger seed could not be written back to a scenario file.
        if s.run.seed > i64::MAX as u64 {
            v.push(
                "run.seed",
                s.run.seed.to_string(),
                format!("0 <= seed <= {}", i64::MAX),
            );
        }
        if s.chain.height > 13_440_000 {
            v.push(
                "chain.height",
                s.chain.height.to_string(),
                "0 <= height <= 13440000 (64 halvings)",
            );
        }
        v.range(
            "chain.difficulty",
            s.chain.difficulty,
            1.0,
            1e30,
            "1 <= x <= 1e30 (difficulty > 0)",
        );
        if let Some(h) = s.chain.hashrate_ehs {
            v.range_open_low("chain.hashrate_ehs", h, 0.0, 1e9, "0 < x <= 1e9 EH/s");
            // A hashrate a million times off the difficulty's own is not a market state: blocks
            // would come ~1e9 times a day and the (one-retarget-a-day) epoch rule could never catch
            // up, so the run would end in an overflow instead of an answer.
            let d = s.chain.difficulty;
            let implied = d * 4_294_967_296.0 / 600.0 / 1e18;
            if h > 0.0 && h.is_finite() && d.is_finite() && d >= 1.0 {
                let ratio = h / implied;
                if !(1e-3..=1e3).contains(&ratio) {
                    v.push(
                        "chain.hashrate_ehs",
                        h.to_string(),
                        format!(
                            "1/1000 to 1000 times the hashrate at which chain.difficulty = {d} gives \
                             600-s blocks ({implied:.6e} EH/s)"
                        ),
                    );
                }
            }
        }
        if let Some(e) = s.chain.epoch_elapsed_days {
            v.range(
                "chain.epoch_elapsed_days",
                e,
                0.0,
                56.0,
                "0 <= x <= 56 days",
            );
        }
        v.range_open_low("price.spot", s.price.spot, 0.0, 1e12, "0 < x <= 1e12 USD");
        v.range(
            "price.drift",
            s.price.drift,
            -2.0,
            2.0,
            "-2 <= x <= 2 per year",
        );
        v.range(
            "price.vol",
            s.price.vol,
            0.0,
            5.0,
            "0 <= x <= 5 per sqrt(year)",
        );
        v.range_open_low(
            "fees.btc_per_block",
            s.fees.btc_per_block,
            0.0,
            1000.0,
            "0 < x <= 1000 BTC",
        );
        v.range(
            "fees.speed",
            s.fees.speed,
            0.0,
            365.0,
            "0 <= x <= 365 per year",
        );
        v.range(
            "fees.vol",
            s.fees.vol,
            0.0,
            10.0,
            "0 <= x <= 10 per sqrt(year)",
        );
        v.range(
            "hashrate.speed_up",
            s.hashrate.speed_up,
            0.0,
            365.0,
            "0 <= x <= 365 per year",
        );
        v.range(
            "hashrate.speed_down",
            s.hashrate.speed_down,
            0.0,
            365.0,
            "0 <= x <= 365 per year",
        );
        v.range(
            "hashrate.vol",
            s.hashrate.vol,
            0.0,
            5.0,
            "0 <= x <= 5 per sqrt(year)",
        );
        v.range_open_low(
            "hashrate.marginal_efficiency_jth",
            s.hashrate.marginal_efficiency_jth,
            0.0,
            10_000.0,
            "0 < x <= 10000 J/TH",
        );
        v.range_open_high(
            "hashrate.efficiency_decline",
            s.hashrate.efficiency_decline,
            0.0,
            1.0,
            "0 <= x < 1 per year",
        );
        v.range_open_low(
            "hashrate.efficiency_floor_jth",
            s.hashrate.efficiency_floor_jth,
            0.0,
            10_000.0,
            "0 < x <= 10000 J/TH",
        );
        v.range_open_low(
            "hashrate.marginal_power_usd_mwh",
            s.hashrate.marginal_power_usd_mwh,
            0.0,
            10_000.0,
            "0 < x <= 10000 $/MWh",
        );
        v.range_open_low(
            "hashrate.power_share",
            s.hashrate.power_share,
            0.0,
            1.0,
            "0 < x <= 1",
        );
        v.range_open_low(
            "site.power_mw",
            s.site.power_mw,
            0.0,
            100_000.0,
            "0 < x <= 100000 MW",
        );
        v.range(
            "site.power_usd_mwh",
            s.site.power_usd_mwh,
            0.0,
            10_000.0,
            "0 <= x <= 10000 $/MWh",
        );
        v.range(
            "site.power_escalator",
            s.site.power_escalator,
            -0.5,
            1.0,
            "-0.5 <= x <= 1 per year",
        );
        v.range(
            "site.terminal_multiple",
            s.site.terminal_multiple,
            0.0,
            100.0,
            "0 <= x <= 100",
        );
        let m = &s.mining;
        v.range(
            "mining.overhead",
            m.overhead,
            1.0,
            3.0,
            "1 <= x <= 3 (a PUE)",
        );
        v.range("mining.uptime", m.uptime, 0.0, 1.0, "0 <= x <= 1");
        v.range_open_high("mining.pool_fee", m.pool_fee, 0.0, 1.0, "0 <= x < 1");
        v.range(
            "mining.opex_usd_per_mw_month",
            m.opex_usd_per_mw_month,
            0.0,
            1e7,
            "0 <= x <= 1e7 $/MW-month",
        );
        v.range(
            "mining.salvage_usd_per_th",
            m.salvage_usd_per_th,
            0.0,
            1e4,
            "0 <= x <= 10000 $/TH",
        );
        v.range(
            "mining.refresh_every_years",
            m.refresh_every_years,
            0.0,
            100.0,
            "0 (never) or 1/365 <= x <= 100 years",
        );
        if m.refresh_every_years > 0.0 && (365.0 * m.refresh_every_years).round() < 1.0 {
            v.push(
                "mining.refresh_every_years",
                fmt_f(m.refresh_every_years),
                "0 (never) or 1/365 <= x <= 100 years",
            );
        }
        v.range(
            "mining.hw_days_of_hashprice",
            m.hw_days_of_hashprice,
            0.0,
            1e5,
            "0 <= x <= 100000 days",
        );
        v.range(
            "mining.discount_rate",
            m.discount_rate,
            -0.5,
            10.0,
            "-0.5 <= x <= 10 per year",
        );
        if m.fleet.len() > MAX_FLEET_ENTRIES {
            v.push(
                "mining.fleet",
                format!("{} entries", m.fleet.len()),
                format!("at most {MAX_FLEET_ENTRIES} entries (merge identical machines)"),
            );
        }
        let mut fleet_mw = 0.0;
        for (i, b) in m.fleet.iter().enumerate() {
            if b.model.trim().is_empty() {
                v.push(
                    format!("mining.fleet[{i}].model"),
                    "\"\"",
                    "a non-empty name",
                );
            }
            v.range(
                &format!("mining.fleet[{i}].units"),
                b.units,
                0.0,
                1e9,
                "0 <= x <= 1e9 machines",
            );
            v.range_open_low(
                &format!("mining.fleet[{i}].hashrate_ths"),
                b.hashrate_ths,
                0.0,
                1e6,
                "0 < x <= 1e6 TH/s",
            );
            v.range_open_low(
                &format!("mining.fleet[{i}].power_w"),
                b.power_w,
                0.0,
                1e6,
                "0 < x <= 1e6 W",
            );
            if b.units.is_finite() && b.power_w.is_finite() {
                fleet_mw += b.units * b.power_w * m.overhead / 1e6;
            }
        }
        if s.site.power_mw.is_finite() && fleet_mw > s.site.power_mw * (1.0 + 1e-12) {
            v.push(
                "mining.fleet",
                format!(
                    "{} MW of facility power (units × power_w × overhead)",
                    fmt_f(fleet_mw)
                ),
                format!("at most site.power_mw = {} MW", fmt_f(s.site.power_mw)),
            );
        }
        let a = &s.ai;
        v.range_open_low(
            "ai.it_mw_per_gross_mw",
            a.it_mw_per_gross_mw,
            0.0,
            1.0,
            "0 < x <= 1",
        );
        v.range(
            "ai.capex_usd_per_mw_it",
            a.capex_usd_per_mw_it,
            0.0,
            1e9,
            "0 <= x <= 1e9 $/MW",
        );
        v.range(
            "ai.build_months",
            a.build_months,
            0.0,
            240.0,
            "0 <= x <= 240 months",
        );
        v.range_open_low(
            "ai.lease_usd_per_kw_month",
            a.lease_usd_per_kw_month,
            0.0,
            1e5,
            "0 < x <= 100000 $/kW-month",
        );
        v.range(
            "ai.lease_escalator",
            a.lease_escalator,
            -0.5,
            1.0,
            "-0.5 <= x <= 1 per year",
        );
        v.range(
            "ai.lease_term_years",
            a.lease_term_years,
            1.0 / 365.0,
            100.0,
            "1/365 <= x <= 100 years",
        );
        v.range(
            "ai.renewal_probability",
            a.renewal_probability,
            0.0,
            1.0,
            "0 <= x <= 1",
        );
        v.range(
            "ai.tenant_default_rate",
            a.tenant_default_rate,
            0.0,
            10.0,
            "0 <= x <= 10 per year",
        );
        v.range("ai.noi_margin", a.noi_margin, 0.0, 1.0, "0 <= x <= 1");
        v.range(
            "ai.discount_rate",
            a.discount_rate,
            -0.5,
            10.0,
            "-0.5 <= x <= 10 per year",
        );
        v.range(
            "ai.lease_drift",
            a.lease_drift,
            -2.0,
            2.0,
            "-2 <= x <= 2 per year",
        );
        v.range(
            "ai.lease_vol",
            a.lease_vol,
            0.0,
            5.0,
            "0 <= x <= 5 per sqrt(year)",
        );
        v.range(
            "ai.lease_price_corr",
            a.lease_price_corr,
            -1.0,
            1.0,
            "-1 <= x <= 1",
        );
        let st = &s.strategy;
        v.range("strategy.share", st.share, 0.0, 1.0, "0 <= x <= 1");
        let n = s.days();
        let mut total = 0.0;
        for (i, &(day, share)) in st.schedule.iter().enumerate() {
            if n > 0 && day as usize >= n {
                v.push(
                    format!("strategy.schedule[{i}] day"),
                    day.to_string(),
                    format!("0 <= day <= {} (the last simulated day)", n - 1),
                );
            }
            v.range(
                &format!("strategy.schedule[{i}] share"),
                share,
                0.0,
                1.0,
                "0 <= x <= 1",
            );
            if share.is_finite() {
                total += share;
            }
        }
        if total > 1.0 + 1e-12 {
            v.push(
                "strategy.schedule",
                format!("shares summing to {}", fmt_f(total)),
                "shares summing to at most 1",
            );
        }
        if st.kind == StrategyKind::Sweep && st.shares.is_empty() {
            v.push(
                "strategy.shares",
                "[]",
                "at least one share when kind = \"sweep\"",
            );
        }
        if st.shares.len() > 1000 {
            v.push(
                "strategy.shares",
                format!("{} shares", st.shares.len()),
                "at most 1000 shares",
            );
        }
        for (i, &x) in st.shares.iter().enumerate() {
            v.range(&format!("strategy.shares[{i}]"), x, 0.0, 1.0, "0 <= x <= 1");
        }
        if st.tranches == 0 || st.tranches > 1000 {
            v.push(
                "strategy.tranches",
                st.tranches.to_string(),
                "1 <= tranches <= 1000",
            );
        }
        let max_months = (n as f64 * 12.0 / 365.0).floor() as u32;
        if st.decide_months > max_months {
            v.push(
                "strategy.decide_months",
                st.decide_months.to_string(),
                format!("0 <= months <= {max_months} (decision days must fall inside the horizon)"),
            );
        }
        if let Some(p) = &s.power {
            if let Some(h) = &p.hourly {
                if let Err(why) = crate::power::check_source(h) {
                    v.push(
                        "power.hourly",
                        format!("{h:?}"),
                        format!(
                            "an hourly price source \"ercot:HUB:YEAR\", \"ercot:HUB:FIRST-LAST\" \
                             or \"flat:USD_MWH\" ({why})"
                        ),
                    );
                }
            }
        }
        if let Some(d) = &s.dispatch {
            match d.validate() {
                Err(crate::power::PowerError::Invalid {
                    field,
                    value,
                    allowed,
                }) => v.push(&field, value, allowed),
                Err(e) => v.push("dispatch", "(table)", e.to_string()),
                Ok(()) => {}
            }
        }
        if v.errors.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::Invalid(v.errors))
        }
    }
}

/// Most `[[mining.fleet]]` entries (the engine keeps one margin per machine type on the stack).
pub const MAX_FLEET_ENTRIES: usize = 64;

/// Most paths a run accepts (memory stays O(paths); 1e8 paths would need ~10 GB of NPVs).
pub const MAX_PATHS: u64 = 20_000_000;

/// Parses the `[power] hourly` source `market:node:year` (e.g. `ercot:HB_WEST:2024`).
pub fn parse_hourly(s: &str) -> Result<(String, String, u16), String> {
    let allowed =
        "\"market:node:year\", e.g. \"ercot:HB_WEST:2024\" (market ercot, year 2000..=2100)";
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 3 {
        return Err(allowed.to_string());
    }
    let market = parts[0].to_ascii_lowercase();
    if market != "ercot" {
        return Err(allowed.to_string());
    }
    let node = parts[1];
    if node.is_empty() || !node.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(allowed.to_string());
    }
    match parts[2].parse::<u16>() {
        Ok(y) if (2000..=2100).contains(&y) => Ok((market, node.to_string(), y)),
        _ => Err(allowed.to_string()),
    }
}

#[derive(Default)]
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn push(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        allowed: impl Into<String>,
    ) {
        self.errors.push(FieldError {
            key: key.into(),
            value: value.into(),
            allowed: allowed.into(),
        });
    }
    fn range(&mut self, key: &str, x: f64, lo: f64, hi: f64, allowed: &str) {
        if !(x.is_finite() && x >= lo && x <= hi) {
            self.push(key, fmt_f(x), allowed);
        }
    }
    fn range_open_low(&mut self, key: &str, x: f64, lo: f64, hi: f64, allowed: &str) {
        if !(x.is_finite() && x > lo && x <= hi) {
            self.push(key, fmt_f(x), allowed);
        }
    }
    fn range_open_high(&mut self, key: &str, x: f64, lo: f64, hi: f64, allowed: &str) {
        if !(x.is_finite() && x >= lo && x < hi) {
            self.push(key, fmt_f(x), allowed);
        }
    }
}

/// Shortest round-tripping decimal form of a float (`1`, `0.25`, `1e-9`, `NaN`).
fn fmt_f(x: f64) -> String {
    format!("{x}")
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// The table header in force at `offset` (`mining`, `mining.fleet[1]`), for error messages.
fn table_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let mut current: Option<String> = None;
    let mut fleet_index: i64 = -1;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if pos > offset {
            break;
        }
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("[[") {
            if let Some(name) = rest.split("]]").next() {
                let name = name.trim();
                if name == "mining.fleet" {
                    fleet_index += 1;
                    current = Some(format!("mining.fleet[{fleet_index}]"));
                } else {
                    current = Some(name.to_string());
                }
            }
        } else if let Some(rest) = t.strip_prefix('[') {
            if let Some(name) = rest.split(']').next() {
                current = Some(name.trim().to_string());
            }
        }
        pos += line.len();
    }
    current
}

// ---------------------------------------------------------------------------------------------
// The annotated default (what `hashpivot scenario show` prints)
// ---------------------------------------------------------------------------------------------

/// Float as TOML: always with a decimal point or exponent, shortest round-trip form.
fn tf(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

impl Scenario {
    /// The default scenario as annotated TOML: every key with its value and where the value comes
    /// from (a row of `docs/PARAMETERS.md`, a shipped data file, or "judgement"). Parsing it with
    /// [`Scenario::from_toml_str`] gives back exactly [`Scenario::default`].
    pub fn default_toml_annotated() -> String {
        let s = Scenario::default();
        let ms = market::state();
        let mut o = String::new();
        let mut line = |l: String| {
            o.push_str(&l);
            o.push('\n');
        };
        line("# hashpivot scenario (docs/MODEL.md section 7): the embedded default.".into());
        line(
            "# A 1 GW Texas site with a mixed fleet; market state as of the newest shipped data"
                .into(),
        );
        line(format!(
            "# ({}). Copy this file, edit it, run `hashpivot simulate my.toml`.",
            ms.date
        ));
        line("# Keys you leave out take these defaults (a [[mining.fleet]] entry needs all four fields).".into());
        line(
            "# Sources: 'PARAMETERS' = a row of docs/PARAMETERS.md; 'data/...' = a shipped file."
                .into(),
        );
        line(String::new());
        line("[run]".into());
        line(format!(
            "horizon_years = {}   # years simulated (daily steps)",
            tf(s.run.horizon_years)
        ));
        line(format!(
            "paths = {}           # Monte Carlo paths; more = smaller standard error",
            s.run.paths
        ));
        line(format!(
            "seed = {}               # same seed, same numbers, on any thread count",
            s.run.seed
        ));
        line(String::new());
        line("[chain]".into());
        line("# Market state from the shipped data (hashpivot_data::market_state, data/PROVENANCE.md).".into());
        line(format!(
            "height = {}         # data/btc_price/btc_block_height_by_date.csv at the start of {}",
            s.chain.height, ms.date
        ));
        line(format!(
            "difficulty = {}  # epoch {} of data/btc_chain/difficulty_epochs.csv{}",
            tf(s.chain.difficulty),
            ms.difficulty_epoch,
            if ms.difficulty_current {
                ""
            } else {
                " (newest shipped epoch; later epochs are not in the data)"
            }
        ));
        if let Some(h) = s.chain.hashrate_ehs {
            line(format!(
                "hashrate_ehs = {}  # blocks/day over the last {} days ({:.1}) at that difficulty; optional, default difficulty * 2^32 / 600 / 1e18",
                tf(h),
                hashpivot_data::market::HASHRATE_WINDOW_DAYS,
                ms.blocks_per_day
            ));
        }
        if let Some(e) = s.chain.epoch_elapsed_days {
            line(format!(
                "epoch_elapsed_days = {}  # since the height table crossed the epoch start {}; optional, default (height - epoch start) / 144",
                tf(e),
                ms.epoch_start_height
            ));
        }
        line(String::new());
        line("[price]".into());
        line(format!(
            "spot = {}   # newest BTC/USD close in data/btc_price/btc_usd_daily_close.csv (market_state)",
            tf(s.price.spot)
        ));
        line(format!("drift = {}             # judgement: vol^2/2, so the median price stays flat (no view on direction)", tf(s.price.drift)));
        line(format!("vol = {}              # realized 3-year volatility of the shipped daily closes (0.44-0.53 over 1-5 years)", tf(s.price.vol)));
        line(String::new());
        line("[fees]".into());
        line(format!(
            "btc_per_block = {}  # mean fee per block {} to {} (data/btc_fees); PARAMETERS 'Fee share of reward'",
            tf(s.fees.btc_per_block),
            ms.fees_window.0,
            ms.fees_window.1
        ));
        line(format!(
            "speed = {}             # judgement: fee spikes revert with a half-life of ~4 months",
            tf(s.fees.speed)
        ));
        line(format!(
            "vol = {}               # judgement: fees are the noisiest input",
            tf(s.fees.vol)
        ));
        line(String::new());
        line("[hashrate]".into());
        line(format!("speed_up = {}          # judgement (PARAMETERS 'Judgements'): new machines take months to deploy", tf(s.hashrate.speed_up)));
        line(format!("speed_down = {}        # judgement: machines switch off within weeks, faster down than up", tf(s.hashrate.speed_down)));
        line(format!(
            "vol = {}              # judgement; `hashpivot calibrate` estimates these from history",
            tf(s.hashrate.vol)
        ));
        line(format!("marginal_efficiency_jth = {}  # PARAMETERS 'Fleet efficiency' 15-22 J/TH; CBECI network estimate 19.5 (2025-03)", tf(s.hashrate.marginal_efficiency_jth)));
        line(format!("efficiency_decline = {}      # judgement: CBECI estimate fell ~13%/year 2020-2025, slowing", tf(s.hashrate.efficiency_decline)));
        line(format!(
            "efficiency_floor_jth = {}     # judgement: process-node limit",
            tf(s.hashrate.efficiency_floor_jth)
        ));
        line(format!("marginal_power_usd_mwh = {}  # judgement: marginal miner pays more than large Texas miners (PARAMETERS 'Large miners' power cost')", tf(s.hashrate.marginal_power_usd_mwh)));
        line(format!("power_share = {}             # judgement: puts the break-even hashrate near today's hashrate", tf(s.hashrate.power_share)));
        line(String::new());
        line("[site]".into());
        line(format!(
            "power_mw = {}        # 1 GW gross",
            tf(s.site.power_mw)
        ));
        line(format!("power_usd_mwh = {}     # PARAMETERS 'Large miners' power cost' 2.4-4.2 c/kWh; judgement within", tf(s.site.power_usd_mwh)));
        line(format!(
            "power_escalator = {}   # judgement",
            tf(s.site.power_escalator)
        ));
        line(format!(
            "terminal_multiple = {} # MODEL.md default: no value after the horizon",
            tf(s.site.terminal_multiple)
        ));
        line(String::new());
        line("[mining]".into());
        line(format!(
            "overhead = {}          # PARAMETERS 'Mining PUE' 1.03-1.10",
            tf(s.mining.overhead)
        ));
        line(format!(
            "uptime = {}            # judgement (ERCOT demand response, maintenance)",
            tf(s.mining.uptime)
        ));
        line(format!(
            "pool_fee = {}          # PARAMETERS 'Pool fee' FPPS 1-2.5%",
            tf(s.mining.pool_fee)
        ));
        line(format!(
            "curtail = {}          # switch a batch off on days it loses money on power",
            s.mining.curtail
        ));
        line(format!(
            "opex_usd_per_mw_month = {}  # judgement: staff, maintenance, insurance (~$5.5/MWh)",
            tf(s.mining.opex_usd_per_mw_month)
        ));
        line(format!("salvage_usd_per_th = {}       # judgement: used machines vs PARAMETERS 'ASIC street price' $10-30/TH new", tf(s.mining.salvage_usd_per_th)));
        line(format!("refresh_every_years = {}      # judgement: one replacement per halving cycle (0 = never)", tf(s.mining.refresh_every_years)));
        line(format!("hw_days_of_hashprice = {}   # PARAMETERS 'ASIC street price': S21 XP $25.70/TH at hashprice $43.33/PH/day (2025-11-03)", tf(s.mining.hw_days_of_hashprice)));
        line(format!(
            "discount_rate = {}           # PARAMETERS 'Judgements': merchant mining ~15% (12-25%)",
            tf(s.mining.discount_rate)
        ));
        line(String::new());
        line("# The fleet: units x (TH/s, W) per machine from data/asic/asic_nameplate_specs_compiled.csv.".into());
        line("# Facility power = sum(units x power_w) x overhead must fit in site.power_mw; the rest is idle.".into());
        for b in &s.mining.fleet {
            line("[[mining.fleet]]".into());
            line(format!("model = {:?}", b.model));
            line(format!("units = {}", tf(b.units)));
            line(format!("hashrate_ths = {}", tf(b.hashrate_ths)));
            line(format!("power_w = {}", tf(b.power_w)));
        }
        line(String::new());
        line("[ai]".into());
        line(format!(
            "it_mw_per_gross_mw = {}     # PARAMETERS 'MW(IT) per gross MW' 0.67-0.83 (AI PUE 1.3)",
            tf(s.ai.it_mw_per_gross_mw)
        ));
        line(format!("capex_usd_per_mw_it = {}  # PARAMETERS 'Conversion capex' $8-11 M per MW(IT), new hall", tf(s.ai.capex_usd_per_mw_it)));
        line(format!(
            "build_months = {}          # PARAMETERS 'Signing to first rent' 10-16 months",
            tf(s.ai.build_months)
        ));
        line(format!("lease_usd_per_kw_month = {} # PARAMETERS 'Lease rate' first year $110-135; data/ai_hpc/announced_leases.csv", tf(s.ai.lease_usd_per_kw_month)));
        line(format!(
            "lease_escalator = {}       # PARAMETERS 'Escalator' ~3%",
            tf(s.ai.lease_escalator)
        ));
        line(format!(
            "lease_term_years = {}      # PARAMETERS 'Term' 10-15 years",
            tf(s.ai.lease_term_years)
        ));
        line(format!(
            "renewal_probability = {}    # judgement (deals carry 2-3 five-year extensions)",
            tf(s.ai.renewal_probability)
        ));
        line(format!(
            "tenant_default_rate = {}   # judgement: yearly default hazard of a backstopped tenant",
            tf(s.ai.tenant_default_rate)
        ));
        line(format!("noi_margin = {}            # PARAMETERS 'Landlord NOI margin' 70-97% (Fluidstack ~85%)", tf(s.ai.noi_margin)));
        line(format!("discount_rate = {}         # PARAMETERS 'Judgements' / 'Backstopped project debt' 7.1-8.0%", tf(s.ai.discount_rate)));
        line(format!(
            "lease_drift = {}           # judgement",
            tf(s.ai.lease_drift)
        ));
        line(format!(
            "lease_vol = {}            # judgement",
            tf(s.ai.lease_vol)
        ));
        line(format!(
            "lease_price_corr = {}      # MODEL.md default",
            tf(s.ai.lease_price_corr)
        ));
        line(String::new());
        line("[strategy]".into());
        line(format!(
            "kind = {:?}            # mine | convert | schedule | sweep | optimal",
            s.strategy.kind.as_str()
        ));
        line(format!(
            "share = {}                # convert: share of the site converted on day 0",
            tf(s.strategy.share)
        ));
        let sched: Vec<String> = s
            .strategy
            .schedule
            .iter()
            .map(|(d, x)| format!("[{d}, {}]", tf(*x)))
            .collect();
        line(format!(
            "schedule = [{}]  # schedule: [day, share] pairs (day 580 ~ the 2028 halving)",
            sched.join(", ")
        ));
        let shares: Vec<String> = s.strategy.shares.iter().map(|x| tf(*x)).collect();
        line(format!(
            "shares = [{}]  # sweep: the grid of shares",
            shares.join(", ")
        ));
        line(format!(
            "tranches = {}                # optimal: equal slices of the site",
            s.strategy.tranches
        ));
        line(format!(
            "decide_months = {}          # optimal: decisions on months 0..=decide_months",
            s.strategy.decide_months
        ));
        line(String::new());
        line("# [power]".into());
        line(
            "# hourly = \"ercot:HB_WEST:2024\"   # optional hourly power prices (extension)".into(),
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_fits_the_site() {
        let s = Scenario::default();
        s.validate().unwrap();
        let mw: f64 = s
            .mining
            .fleet
            .iter()
            .map(|b| b.units * b.power_w * s.mining.overhead / 1e6)
            .sum();
        assert!(mw <= s.site.power_mw && mw > 0.9 * s.site.power_mw, "{mw}");
    }

    #[test]
    fn annotated_default_round_trips() {
        let text = Scenario::default_toml_annotated();
        let s = Scenario::from_toml_str(&text).unwrap();
        assert_eq!(s, Scenario::default());
        // And the plain serialization too.
        let plain = Scenario::default().to_toml_string();
        assert_eq!(
            Scenario::from_toml_str(&plain).unwrap(),
            Scenario::default()
        );
    }

    #[test]
    fn json_has_the_toml_tables_and_keys() {
        let j = serde_json::to_value(Scenario::default()).unwrap();
        let t: toml::Value = toml::from_str(&Scenario::default().to_toml_string()).unwrap();
        let jt: Vec<&String> = j.as_object().unwrap().keys().collect();
        let mut tt: Vec<&String> = t.as_table().unwrap().keys().collect();
        let mut jt2 = jt.clone();
        jt2.sort();
        tt.sort();
        assert_eq!(jt2, tt);
        for k in [
            "run", "chain", "price", "fees", "hashrate", "site", "mining", "ai", "strategy",
        ] {
            let jk: Vec<&String> = j[k].as_object().unwrap().keys().collect();
            let tk: Vec<&String> = t[k].as_table().unwrap().keys().collect();
            let (mut a, mut b) = (jk, tk);
            a.sort();
            b.sort();
            assert_eq!(a, b, "table {k}");
        }
        let back: Scenario = serde_json::from_value(j).unwrap();
        assert_eq!(back, Scenario::default());
    }

    #[test]
    fn missing_keys_take_defaults() {
        let s = Scenario::from_toml_str("[price]\nspot = 50000\n").unwrap();
        assert_eq!(s.price.spot, 50000.0);
        assert_eq!(s.price.vol, Price::default().vol);
        assert_eq!(s.mining, Mining::default());
    }

    #[test]
    fn unknown_key_is_named_with_line() {
        let e = Scenario::from_toml_str(
            "[run]\npaths = 10\n\n[site]\npower_mw = 5\npowr_usd_mwh = 3\n",
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("powr_usd_mwh"), "{msg}");
        assert!(msg.contains("line 6"), "{msg}");
        assert!(msg.contains("[site]"), "{msg}");
        let e = Scenario::from_toml_str("[nonsense]\nx = 1\n").unwrap_err();
        assert!(e.to_string().contains("nonsense"), "{e}");
    }

    #[test]
    fn incomplete_fleet_entry_is_named() {
        let text = "[[mining.fleet]]\nmodel = \"a\"\nunits = 1\nhashrate_ths = 100\npower_w = 3000\n\n[[mining.fleet]]\nmodel = \"b\"\nunits = 2\nhashrate_ths = 100\n";
        let e = Scenario::from_toml_str(text).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("power_w"), "{msg}");
        assert!(msg.contains("mining.fleet[1]"), "{msg}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = Scenario::from_toml_str("[run]\npaths = = 3\n").unwrap_err();
        match e {
            ScenarioError::Parse { line, .. } => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn validation_collects_all_errors_with_paths() {
        let mut s = Scenario::default();
        s.run.paths = 0;
        s.price.vol = -0.1;
        s.mining.fleet[2].units = -5.0;
        s.strategy.share = 1.5;
        s.strategy.schedule = vec![(0, 0.7), (10, 0.6)];
        let e = s.validate().unwrap_err();
        let ScenarioError::Invalid(list) = &e else {
            panic!("{e:?}")
        };
        let keys: Vec<&str> = list.iter().map(|f| f.key.as_str()).collect();
        for k in [
            "run.paths",
            "price.vol",
            "mining.fleet[2].units",
            "strategy.share",
            "strategy.schedule",
        ] {
            assert!(keys.contains(&k), "{k} missing in {keys:?}");
        }
        let msg = e.to_string();
        assert!(msg.contains("mining.fleet[2].units = -5"), "{msg}");
        assert!(msg.contains("0 <= x <= 1"), "{msg}");
    }

    #[test]
    fn fleet_larger_than_site_is_rejected() {
        let mut s = Scenario::default();
        s.site.power_mw = 500.0;
        let e = s.validate().unwrap_err().to_string();
        assert!(
            e.contains("mining.fleet") && e.contains("site.power_mw = 500"),
            "{e}"
        );
    }

    #[test]
    fn hourly_shape() {
        assert!(parse_hourly("ercot:HB_WEST:2024").is_ok());
        assert!(parse_hourly("ercot:HB_WEST").is_err());
        assert!(parse_hourly("pjm:X:2024").is_err());
        let s = Scenario {
            power: Some(Power {
                hourly: Some("nope".into()),
            }),
            ..Default::default()
        };
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("power.hourly"));
    }
}
