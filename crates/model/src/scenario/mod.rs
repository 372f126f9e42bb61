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

mod annotated;
mod defaults;
pub mod input;
mod validate;

pub use defaults::market;
pub use validate::{MAX_FLEET_ENTRIES, MAX_PATHS};

/// A complete scenario: market state, stochastic processes, the site, the AI lease, and the strategy.
///
/// Keys a file leaves out take the defaults of [`Scenario::default`] (the embedded default, whose
/// sources `hashpivot scenario show` prints); ranges are checked by [`Scenario::validate`], which
/// names every bad key with its value and what is allowed.
///
/// ```
/// use hashpivot_model::{Scenario, ScenarioError};
///
/// let sc = Scenario::parse_and_validate("[site]\npower_mw = 2000\n[strategy]\nkind = \"mine\"\n")
///     .unwrap();
/// assert_eq!(sc.site.power_mw, 2000.0);
/// // Everything else is the default, e.g. the mining overhead (a PUE).
/// assert_eq!(sc.mining.overhead, Scenario::default().mining.overhead);
///
/// // Out-of-range values are all reported at once, by key.
/// let e = Scenario::parse_and_validate("[mining]\npool_fee = 1.5\nuptime = -1\n").unwrap_err();
/// let ScenarioError::Invalid(problems) = e else { panic!("{e}") };
/// let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
/// assert_eq!(keys, ["mining.uptime", "mining.pool_fee"]);
/// ```
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
    /// A file without `[ai]` gets the default lease terms with MODEL.md §8 off
    /// ([`Ai::when_absent`]): version-1 files keep their numbers; the embedded default sets §8 on.
    #[serde(default = "Ai::when_absent")]
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
    /// `[finance]`: optional project debt of each conversion and the equity view (MODEL.md §10);
    /// absent = unlevered (version 1: no equity figures in the results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finance: Option<Finance>,
    /// `[cloud]`: the GPU-cloud project of `ai.mode = "cloud"` (MODEL.md §9). Optional: absent, a
    /// cloud conversion uses [`Cloud::default`] (the IREN–Microsoft terms of PARAMETERS.md); a
    /// lease conversion never reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
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
    /// `run.currency` (MODEL.md §11): `usd` (default) or `btc`, every day's cash divided by that
    /// day's BTC/USD before discounting. Left out of the file form when `usd` (version 1).
    #[serde(default, skip_serializing_if = "Currency::is_usd")]
    pub currency: Currency,
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
    /// What the converted hall earns: a powered-shell lease (MODEL.md §5) or a GPU cloud the
    /// owner runs (§9).
    pub mode: AiMode,
    /// Mean build delay, months (MODEL.md §8): each conversion's build takes
    /// `round(E · this · 365/12)` more days, `E ~ Exp(1)`. 0 = no delay.
    #[serde(default = "defaults::absent::zero")]
    pub build_delay_months: f64,
    /// Expected capex overrun as a fraction of the budget (§8): capex × `(1 + this)`.
    #[serde(default = "defaults::absent::zero")]
    pub capex_overrun: f64,
    /// Log-normal volatility of the capex overrun (§8): capex × `exp(σZ − σ²/2)`.
    #[serde(default = "defaults::absent::zero")]
    pub capex_overrun_vol: f64,
    /// §8: the converted machines keep mining until the hall is ready (a new hall beside the
    /// running fleet); false = they leave on the decision day (§5).
    #[serde(default = "defaults::absent::off")]
    pub mine_during_build: bool,
    /// §8: tenant default and non-renewal as drawn events (re-letting, backstop) instead of the
    /// expected-value factors of §5.
    #[serde(default = "defaults::absent::off")]
    pub default_events: bool,
    /// §8: months a guarantor keeps paying the rent after a tenant's default.
    #[serde(default = "defaults::absent::zero")]
    pub backstop_months: f64,
    /// §8: months the hall stands empty after a default or departure before it is re-let at the
    /// market rate; -1 = never re-let.
    #[serde(default = "defaults::absent::never")]
    pub relet_months: f64,
}

/// `ai.mode`: how the converted hall earns money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AiMode {
    /// A powered shell leased to a tenant (MODEL.md §5).
    #[default]
    Lease,
    /// The owner buys GPUs and sells compute (MODEL.md §9).
    Cloud,
}

impl AiMode {
    /// The lowercase name used in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AiMode::Lease => "lease",
            AiMode::Cloud => "cloud",
        }
    }
}

/// `[cloud]` (MODEL.md §9): with `ai.mode = "cloud"` the owner buys GPUs on the hall's ready day
/// and sells compute, first at a fixed contract price, then at the merchant price of a GPU price
/// index `g` (its own random stream; `g_0 = 1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cloud {
    /// GPUs bought per MW of IT load at `g = 1`, $ (times `g` on the day of purchase).
    pub gpu_capex_usd_per_mw_it: f64,
    /// Compute revenue per MW of IT load per year at full utilization and `g = 1`, $.
    pub revenue_usd_per_mw_it_year: f64,
    /// Share of the capacity billed.
    pub utilization: f64,
    /// Operating costs other than power (staff, network, maintenance) as a share of revenue.
    pub opex_share: f64,
    /// Years a set of GPUs lasts.
    pub gpu_life_years: f64,
    /// Years of the fixed-price contract from the ready day (at most one GPU life: it covers the
    /// first set only).
    pub contract_years: f64,
    /// Buy a new set at the end of each GPU life (merchant prices); false: the hall stands empty.
    pub refresh: bool,
    /// Expected growth of the GPU price index per year (arithmetic).
    pub price_drift: f64,
    /// Volatility of the GPU price index per √year.
    pub price_vol: f64,
    /// Discount rate of the cloud project's cash flows (the AI stream), per year.
    pub discount_rate: f64,
}

/// `run.currency` (MODEL.md §11), re-exported from [`crate::result`], where the results carry it.
pub use crate::result::Currency;

impl Scenario {
    /// The `[cloud]` terms in force: the table's, or [`Cloud::default`] when it is absent.
    pub fn cloud_terms(&self) -> Cloud {
        self.cloud.clone().unwrap_or_default()
    }

    /// The discount rate of the AI stream: `ai.discount_rate` for a lease, `cloud.discount_rate`
    /// for a GPU cloud (MODEL.md §9).
    pub fn ai_discount_rate(&self) -> f64 {
        match self.ai.mode {
            AiMode::Lease => self.ai.discount_rate,
            AiMode::Cloud => self.cloud_terms().discount_rate,
        }
    }
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
    /// `optimal`: in-sample paths of the pilot fit (MODEL.md section 12; a multiple of 256).
    /// Absent: every in-sample path, which is version 1's Longstaff–Schwartz bit for bit; a
    /// smaller pilot lets phase 1 of a sharded run scale (each machine fits only the pilot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot_paths: Option<u64>,
}

/// `[finance]`: each conversion's construction loan that turns into an amortizing term loan, and
/// the cost of equity of the levered AI stream (MODEL.md §10). Keys left out take the defaults
/// (published backstopped project debt; tenor and cost of equity are judgements).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Finance {
    /// Loan-to-cost: the share of each day's AI capex the lender funds.
    pub ltc: f64,
    /// Fixed debt rate per year (compounded daily: `(1 + rate)^(1/365) - 1` per day).
    pub debt_rate: f64,
    /// Amortization period of the term loan from the ready day, years.
    pub tenor_years: f64,
    /// Discount rate of the levered AI stream (equity cash), per year.
    pub cost_of_equity: f64,
    /// Debt service coverage covenant: `P(dscr_min < min_dscr)` is the breach probability.
    pub min_dscr: f64,
    /// Cloud (`ai.mode = "cloud"`): the lender also funds `ltc` of the GPU purchases.
    pub fund_gpus: bool,
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
            // Wrong types: all of them, by full key path (`input`).
            if let Some(p) = input::toml_type_problems(text) {
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

    /// Issue 12's rule: with the version-2 keys absent, a file means what it meant in version 1,
    /// while the embedded default has the conversion's risks on.
    #[test]
    fn absent_version_2_keys_are_off_in_a_file() {
        let v1 = Ai::when_absent();
        for text in [
            "",
            "[ai]\nlease_usd_per_kw_month = 120\n",
            "[site]\npower_mw = 500\n",
        ] {
            let s = Scenario::from_toml_str(text).unwrap();
            assert_eq!(s.ai.build_delay_months, 0.0, "{text}");
            assert_eq!(s.ai.capex_overrun, 0.0);
            assert_eq!(s.ai.capex_overrun_vol, 0.0);
            assert!(!s.ai.mine_during_build && !s.ai.default_events);
            assert_eq!((s.ai.backstop_months, s.ai.relet_months), (0.0, -1.0));
            assert_eq!(s.finance, None);
            assert_eq!(s.cloud, None);
            assert_eq!(s.run.currency, Currency::Usd);
            assert!(!crate::payoff::ai::path_dependent(&s), "{text}");
        }
        let s = Scenario::from_toml_str("[ai]\nlease_usd_per_kw_month = 120\n").unwrap();
        assert_eq!(
            s.ai,
            Ai {
                lease_usd_per_kw_month: 120.0,
                ..v1
            }
        );
        // The embedded default prices the risks and is levered at published terms.
        let d = Scenario::default();
        assert!(d.ai.default_events && d.ai.mine_during_build && d.ai.build_delay_months > 0.0);
        assert_eq!(d.finance, Some(Finance::default()));
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
