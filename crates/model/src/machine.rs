//! Economics of one mining machine: hashprice, daily revenue and power cost, break-evens,
//! simple payback at today's hashprice, and the payback along the projected path.
//!
//! Hashprice follows MODEL.md section 2: `hashvalue = 86400 * 1e15 * R / (D * 2^32)` BTC per
//! PH/s per day with `R = subsidy_btc(height) + fees` BTC per block; `hashprice = hashvalue * S`.
//!
//! The projected payback is not a rule of its own: it is `payback` ([`crate::payback`]) on the
//! engine's zero-volatility path of the same scenario ([`projection_scenario`]), so `machine` and
//! `payback` answer the same question the same way (issue 18, item 7).

use hashpivot_chain::subsidy_btc;
pub use hashpivot_chain::{BtcPerBlock, Difficulty};

use crate::payback::{payback, PaybackConfig, PaybackOutput};
use crate::scenario::Scenario;
use crate::ModelError;

/// Errors: a value outside its domain, named with what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MachineError {
    /// An input is out of range.
    #[error("{field} = {value} is not allowed; {allowed}")]
    Invalid {
        /// The input's name.
        field: &'static str,
        /// The value given.
        value: f64,
        /// What is allowed.
        allowed: &'static str,
    },
}

fn check(
    field: &'static str,
    value: f64,
    ok: bool,
    allowed: &'static str,
) -> Result<(), MachineError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(MachineError::Invalid {
            field,
            value,
            allowed,
        })
    }
}

/// Reward per block in BTC at `height`: subsidy plus `fees_btc` (MODEL.md section 2, `R`).
pub fn reward_btc(height: u64, fees_btc: f64) -> f64 {
    subsidy_btc(height) + fees_btc
}

/// Expected BTC per PH/s per day: `86400 * 1e15 * R / (D * 2^32)` (MODEL.md section 2), the
/// formula of [`hashpivot_chain::hashvalue_btc_per_ph_day`] with the inputs checked (a positive
/// difficulty, a non-negative reward). The arguments are typed so they cannot be swapped.
pub fn hashvalue_btc_per_ph_day(
    reward: BtcPerBlock,
    difficulty: Difficulty,
) -> Result<f64, MachineError> {
    check(
        "difficulty",
        difficulty.0,
        difficulty.0 > 0.0,
        "use a positive difficulty",
    )?;
    check(
        "reward",
        reward.0,
        reward.0 >= 0.0,
        "use a non-negative BTC amount",
    )?;
    Ok(hashpivot_chain::hashvalue_btc_per_ph_day(
        reward, difficulty,
    ))
}

/// Hashprice in USD per PH/s per day: hashvalue times the BTC price.
pub fn hashprice_usd_per_ph_day(
    reward: BtcPerBlock,
    difficulty: Difficulty,
    price_usd: f64,
) -> Result<f64, MachineError> {
    check(
        "price",
        price_usd,
        price_usd > 0.0,
        "use a positive USD price",
    )?;
    Ok(hashvalue_btc_per_ph_day(reward, difficulty)? * price_usd)
}

/// Hashprice and its parts at one BTC price, difficulty, height and fee level (what
/// `hashpivot hashprice` shows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HashpriceQuote {
    /// Block subsidy at the height, BTC.
    pub subsidy_btc: f64,
    /// Subsidy plus fees per block, BTC (`R`).
    pub reward_btc: f64,
    /// Hashvalue, BTC per PH/s per day.
    pub btc_per_ph_day: f64,
    /// Hashvalue in satoshis per TH/s per day.
    pub sat_per_th_day: f64,
    /// Hashprice, USD per PH/s per day.
    pub usd_per_ph_day: f64,
    /// The network hashrate the difficulty implies, EH/s.
    pub implied_hashrate_ehs: f64,
}

/// The [`HashpriceQuote`] at `price_usd`, `difficulty`, `height` and `fees_btc` per block. Errors
/// name the input that is out of range (difficulty or the reward).
pub fn hashprice_quote(
    price_usd: f64,
    difficulty: Difficulty,
    height: u64,
    fees_btc: f64,
) -> Result<HashpriceQuote, MachineError> {
    let subsidy_btc = subsidy_btc(height);
    let reward_btc = subsidy_btc + fees_btc;
    let btc_per_ph_day = hashvalue_btc_per_ph_day(BtcPerBlock(reward_btc), difficulty)?;
    Ok(HashpriceQuote {
        subsidy_btc,
        reward_btc,
        btc_per_ph_day,
        sat_per_th_day: btc_per_ph_day * 1e8 / 1000.0,
        usd_per_ph_day: btc_per_ph_day * price_usd,
        implied_hashrate_ehs: hashpivot_chain::implied_hashrate_ehs(difficulty),
    })
}

/// Which market state a command's defaults come from, as every command's `--json` says it:
/// its date and source (`shipped data`, or `synced from <url>`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MarketStateRef {
    /// Day of the market state.
    pub date: String,
    /// Where it comes from.
    pub source: String,
}

impl MarketStateRef {
    /// The default scenario's market state ([`crate::scenario::market::state`]).
    pub fn current() -> MarketStateRef {
        use crate::scenario::market;
        MarketStateRef {
            date: market::state().date.to_string(),
            source: market::origin().unwrap_or(market::SOURCE).to_string(),
        }
    }
}

/// What `hashpivot hashprice` is asked: a price and a difficulty, with the fees and the height
/// defaulting to the market state every command starts from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HashpriceInputs {
    /// BTC price, USD.
    pub price_usd: f64,
    /// Network difficulty.
    pub difficulty: Difficulty,
    /// Fees per block, BTC; `None`: the market state's (its recent average).
    pub fees_btc: Option<f64>,
    /// Block height for the subsidy; `None`: the market state's.
    pub height: Option<u64>,
}

/// The answer of `hashpivot hashprice --json` and of the Python `hashprice()`: the
/// [`HashpriceQuote`] with its inputs and where the defaulted ones come from. (Fields in
/// alphabetical order: the bytes the JSON had when it was built from a sorted map.)
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HashpriceReport {
    /// Hashvalue, BTC per PH/s per day.
    pub btc_per_ph_day: f64,
    /// Network difficulty.
    pub difficulty: f64,
    /// Fees per block, BTC.
    pub fees_btc: f64,
    /// Where the fees come from when they were not given (the market state's label); absent
    /// when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fees_source: Option<String>,
    /// Block height for the subsidy.
    pub height: u64,
    /// `given`, or the market state's label.
    pub height_source: String,
    /// The network hashrate the difficulty implies, EH/s.
    pub implied_hashrate_ehs: f64,
    /// The market state the defaults come from.
    pub market_state: MarketStateRef,
    /// BTC price, USD.
    pub price_usd: f64,
    /// Subsidy plus fees per block, BTC.
    pub reward_btc: f64,
    /// Hashvalue in satoshis per TH/s per day.
    pub sat_per_th_day: f64,
    /// Block subsidy at the height, BTC.
    pub subsidy_btc: f64,
    /// Hashprice, USD per PH/s per day.
    pub usd_per_ph_day: f64,
}

impl HashpriceReport {
    /// The outputs that must be finite (a huge price or a tiny difficulty overflows them), by
    /// name, for the caller's message.
    pub fn outputs(&self) -> [(&'static str, f64); 4] {
        [
            ("btc_per_ph_day", self.btc_per_ph_day),
            ("usd_per_ph_day", self.usd_per_ph_day),
            ("sat_per_th_day", self.sat_per_th_day),
            ("implied_hashrate_ehs", self.implied_hashrate_ehs),
        ]
    }
}

/// The [`HashpriceReport`] of `inputs`: fees and height default to the market state's
/// ([`crate::scenario::market`]), one owner of "today" for every command.
pub fn hashprice_report(inputs: &HashpriceInputs) -> Result<HashpriceReport, MachineError> {
    use crate::scenario::market;
    let given = |o: bool| (!o).then(market::label);
    let fees_btc = inputs
        .fees_btc
        .unwrap_or(market::state().fees_btc_per_block);
    let height = inputs
        .height
        .unwrap_or_else(|| u64::from(market::state().height));
    let q = hashprice_quote(inputs.price_usd, inputs.difficulty, height, fees_btc)?;
    Ok(HashpriceReport {
        btc_per_ph_day: q.btc_per_ph_day,
        difficulty: inputs.difficulty.0,
        fees_btc,
        fees_source: given(inputs.fees_btc.is_some()),
        height,
        height_source: given(inputs.height.is_some()).unwrap_or_else(|| "given".into()),
        implied_hashrate_ehs: q.implied_hashrate_ehs,
        market_state: MarketStateRef::current(),
        price_usd: inputs.price_usd,
        reward_btc: q.reward_btc,
        sat_per_th_day: q.sat_per_th_day,
        subsidy_btc: q.subsidy_btc,
        usd_per_ph_day: q.usd_per_ph_day,
    })
}

/// A machine's nameplate figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineSpec {
    /// TH/s.
    pub hashrate_ths: f64,
    /// Watts at the wall.
    pub power_w: f64,
}

impl MachineSpec {
    /// Validates the figures (both positive and finite).
    pub fn new(hashrate_ths: f64, power_w: f64) -> Result<MachineSpec, MachineError> {
        check(
            "hashrate_ths",
            hashrate_ths,
            hashrate_ths > 0.0,
            "use a positive number of TH/s",
        )?;
        check(
            "power_w",
            power_w,
            power_w > 0.0,
            "use a positive number of watts",
        )?;
        Ok(MachineSpec {
            hashrate_ths,
            power_w,
        })
    }

    /// J/TH.
    pub fn efficiency_jth(&self) -> f64 {
        self.power_w / self.hashrate_ths
    }

    /// MWh used per day running flat out: `W * 24 / 1e6`.
    pub fn mwh_per_day(&self) -> f64 {
        self.power_w * 24.0 / 1e6
    }

    /// Revenue in USD per day at a hashprice (USD per PH/s per day): `TH * hashprice / 1000`.
    pub fn revenue_usd_day(&self, hashprice: f64) -> f64 {
        self.hashrate_ths * hashprice / 1000.0
    }

    /// Power cost in USD per day: `W * 24 / 1e6 * $/MWh`.
    pub fn power_cost_usd_day(&self, power_usd_mwh: f64) -> f64 {
        self.mwh_per_day() * power_usd_mwh
    }
}

/// Today's economics of one machine.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DailyEconomics {
    /// USD per PH/s per day used.
    pub hashprice_usd_per_ph_day: f64,
    /// Power price used, USD/MWh.
    pub power_usd_mwh: f64,
    /// USD per day.
    pub revenue_usd_day: f64,
    /// USD per day.
    pub power_cost_usd_day: f64,
    /// Revenue minus power cost, USD per day (negative: the machine loses money running).
    pub margin_usd_day: f64,
    /// Power price at which the margin is zero, USD/MWh.
    pub breakeven_power_usd_mwh: f64,
    /// Hashprice at which the margin is zero, USD per PH/s per day.
    pub breakeven_hashprice_usd_per_ph_day: f64,
}

/// Computes [`DailyEconomics`]. Negative power prices are allowed (some markets pay for load).
pub fn daily(
    m: &MachineSpec,
    hashprice: f64,
    power_usd_mwh: f64,
) -> Result<DailyEconomics, MachineError> {
    check(
        "hashprice",
        hashprice,
        hashprice >= 0.0,
        "use a non-negative USD per PH/s per day",
    )?;
    check("power price", power_usd_mwh, true, "use a finite USD/MWh")?;
    let revenue = m.revenue_usd_day(hashprice);
    let cost = m.power_cost_usd_day(power_usd_mwh);
    Ok(DailyEconomics {
        hashprice_usd_per_ph_day: hashprice,
        power_usd_mwh,
        revenue_usd_day: revenue,
        power_cost_usd_day: cost,
        margin_usd_day: revenue - cost,
        breakeven_power_usd_mwh: revenue / m.mwh_per_day(),
        breakeven_hashprice_usd_per_ph_day: cost * 1000.0 / m.hashrate_ths,
    })
}

/// Simple payback in days: `capex / margin` at today's margin; `None` (never) when the margin is
/// zero or negative.
pub fn simple_payback_days(capex_usd: f64, margin_usd_day: f64) -> Option<f64> {
    if margin_usd_day > 0.0 {
        Some(capex_usd / margin_usd_day)
    } else {
        None
    }
}

/// The market a machine is priced in: each `Some` replaces the scenario's value (its market
/// state), the power price always does.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MarketInputs {
    /// BTC price, USD (`price.spot`).
    pub price_usd: Option<f64>,
    /// Difficulty (`chain.difficulty`; the hashrate is then the one it implies).
    pub difficulty: Option<f64>,
    /// Hashprice today, USD per PH/s per day, reached through the BTC price at the difficulty,
    /// height and fees in force (instead of `price_usd`).
    pub hashprice: Option<f64>,
    /// Chain height (`chain.height`; the epoch's elapsed days then follow from it).
    pub height: Option<u64>,
    /// Fees per block, BTC (`fees.btc_per_block`).
    pub fees_btc: Option<f64>,
    /// Site power price, USD/MWh (`site.power_usd_mwh`).
    pub power_usd_mwh: f64,
}

/// `base` on its zero-volatility path with `m` applied: every volatility (price, fees, hashrate,
/// AI lease) is zero, so every path is the engine's one deterministic path, on which the
/// hashrate still follows profitability and the subsidy halves on schedule. Not validated here
/// ([`projected_payback`] does, naming the scenario key); an error only when a hashprice is given
/// at a zero reward per block (no BTC price reaches it).
pub fn projection_scenario(base: &Scenario, m: &MarketInputs) -> Result<Scenario, ModelError> {
    let mut sc = base.clone();
    sc.price.vol = 0.0;
    sc.fees.vol = 0.0;
    sc.hashrate.vol = 0.0;
    sc.ai.lease_vol = 0.0;
    sc.site.power_usd_mwh = m.power_usd_mwh;
    if let Some(h) = m.height {
        sc.chain.height = h;
        sc.chain.epoch_elapsed_days = None;
    }
    if let Some(d) = m.difficulty {
        sc.chain.difficulty = d;
        sc.chain.hashrate_ehs = None;
    }
    if let Some(f) = m.fees_btc {
        sc.fees.btc_per_block = f;
    }
    if let Some(p) = m.price_usd {
        sc.price.spot = p;
    }
    if let Some(hp) = m.hashprice {
        let reward = BtcPerBlock(reward_btc(sc.chain.height, sc.fees.btc_per_block));
        let hv =
            hashvalue_btc_per_ph_day(reward, Difficulty(sc.chain.difficulty)).map_err(|e| {
                ModelError::BadOption {
                    option: "hashprice".into(),
                    value: format!("{hp}"),
                    allowed: format!("a hashprice needs a positive hashvalue ({e})"),
                }
            })?;
        if hv <= 0.0 {
            return Err(ModelError::BadOption {
                option: "hashprice".into(),
                value: format!("{hp}"),
                allowed: "a hashprice needs a positive reward per block (subsidy + fees)".into(),
            });
        }
        sc.price.spot = hp / hv;
    }
    Ok(sc)
}

/// The machine's payback on `sc`'s zero-volatility path (`sc` from [`projection_scenario`]): one
/// path of [`payback`], bought at `price_usd_per_th`, over its life (`life_years`, default
/// `mining.refresh_every_years`).
pub fn projected_payback(
    sc: &Scenario,
    m: &MachineSpec,
    price_usd_per_th: f64,
    life_years: Option<f64>,
) -> Result<PaybackOutput, ModelError> {
    payback(
        sc,
        &PaybackConfig {
            hashrate_ths: m.hashrate_ths,
            power_w: m.power_w,
            price_usd_per_th,
            life_years,
            paths: Some(1),
            seed: None,
        },
        &|_| {},
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s21xp() -> MachineSpec {
        MachineSpec::new(270.0, 3645.0).unwrap()
    }

    #[test]
    fn hashprice_matches_model_formula_and_a_published_figure() {
        // MODEL.md section 2 by hand: D = 1 (genesis), R = 50 BTC:
        // 86400e15 * 50 / 2^32 = 1.00582838058471680e9 BTC/PH/day.
        let hv = hashvalue_btc_per_ph_day(BtcPerBlock(50.0), Difficulty(1.0)).unwrap();
        assert!((hv - 86400e15 * 50.0 / 4294967296.0).abs() < 1e-3);
        // Hashrate Index 2025-11-03: $43.33/PH/day (PARAMETERS.md). Difficulty then ~156 T,
        // price ~$107k, fees ~0.62 % of reward: the formula lands within a few percent.
        let hp = hashprice_usd_per_ph_day(
            BtcPerBlock(3.125 * 1.0062),
            Difficulty(155.97e12),
            107_000.0,
        )
        .unwrap();
        assert!((hp - 43.33).abs() / 43.33 < 0.05, "{hp}");
        // Exact value for those inputs.
        let want = 86400.0 * 1e15 * (3.125 * 1.0062) / (155.97e12 * 4294967296.0) * 107_000.0;
        assert_eq!(hp, want);
        assert!(hashvalue_btc_per_ph_day(BtcPerBlock(3.125), Difficulty(0.0)).is_err());
        assert!(hashprice_usd_per_ph_day(BtcPerBlock(3.125), Difficulty(1e12), -1.0).is_err());
        assert_eq!(reward_btc(840_000, 0.025), 3.15);
    }

    #[test]
    fn daily_economics_by_hand() {
        let m = s21xp();
        // 270 TH at $45/PH/day = $12.15/day; 3645 W * 24 h = 87.48 kWh = 0.08748 MWh at $50.
        let d = daily(&m, 45.0, 50.0).unwrap();
        assert!((d.revenue_usd_day - 12.15).abs() < 1e-12);
        assert!((d.power_cost_usd_day - 4.374).abs() < 1e-12);
        assert!((d.margin_usd_day - 7.776).abs() < 1e-12);
        // Break-even power: 12.15 / 0.08748 = 138.888... $/MWh.
        assert!((d.breakeven_power_usd_mwh - 12.15 / 0.08748).abs() < 1e-9);
        // Break-even hashprice: 4.374 * 1000 / 270 = 16.2 $/PH/day.
        assert!((d.breakeven_hashprice_usd_per_ph_day - 16.2).abs() < 1e-12);
        // At the break-evens the margin is zero.
        let at_be = daily(&m, d.breakeven_hashprice_usd_per_ph_day, 50.0).unwrap();
        assert!(at_be.margin_usd_day.abs() < 1e-12);
        let at_bp = daily(&m, 45.0, d.breakeven_power_usd_mwh).unwrap();
        assert!(at_bp.margin_usd_day.abs() < 1e-12);
        assert!((m.efficiency_jth() - 13.5).abs() < 1e-12);
    }

    #[test]
    fn simple_payback() {
        assert_eq!(simple_payback_days(1000.0, 10.0), Some(100.0));
        assert_eq!(simple_payback_days(1000.0, 0.0), None);
        assert_eq!(simple_payback_days(1000.0, -3.0), None);
    }

    #[test]
    fn invalid_inputs_are_errors() {
        assert!(MachineSpec::new(0.0, 1.0).is_err());
        assert!(MachineSpec::new(1.0, f64::NAN).is_err());
        let m = s21xp();
        assert!(daily(&m, -1.0, 1.0).is_err());
        let e = daily(&m, f64::INFINITY, 1.0).unwrap_err().to_string();
        assert!(e.starts_with("hashprice = inf is not allowed"), "{e}");
    }

    #[test]
    fn projection_is_the_engines_zero_volatility_path() {
        let base = Scenario::default();
        let m = s21xp();
        // A given hashprice is reached through the BTC price at the scenario's market state.
        let sc = projection_scenario(
            &base,
            &MarketInputs {
                hashprice: Some(45.0),
                power_usd_mwh: 50.0,
                ..MarketInputs::default()
            },
        )
        .unwrap();
        let q = hashprice_quote(
            sc.price.spot,
            Difficulty(sc.chain.difficulty),
            sc.chain.height,
            sc.fees.btc_per_block,
        )
        .unwrap();
        assert!(
            (q.usd_per_ph_day - 45.0).abs() < 1e-9,
            "{}",
            q.usd_per_ph_day
        );
        assert_eq!(
            (sc.price.vol, sc.fees.vol, sc.hashrate.vol),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(sc.site.power_usd_mwh, 50.0);
        // One projected path = every path of the zero-volatility payback (all identical).
        let one = projected_payback(&sc, &m, 15.0, None).unwrap();
        let many = payback(
            &sc,
            &PaybackConfig {
                hashrate_ths: 270.0,
                power_w: 3645.0,
                price_usd_per_th: 15.0,
                life_years: None,
                paths: Some(64),
                seed: Some(7),
            },
            &|_| {},
        )
        .unwrap();
        assert!(one.payback_days.p50.is_some());
        assert_eq!(one.payback_days.p50, many.payback_days.p5);
        assert_eq!(one.payback_days.p50, many.payback_days.p95);
        assert_eq!(one.npv_usd.mean, many.npv_usd.p50);
        // Out-of-range inputs are named (by the scenario key they set).
        let bad = projection_scenario(
            &base,
            &MarketInputs {
                difficulty: Some(-1.0),
                power_usd_mwh: 50.0,
                ..MarketInputs::default()
            },
        )
        .unwrap();
        let e = projected_payback(&bad, &m, 15.0, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("chain.difficulty"), "{e}");
    }
}
