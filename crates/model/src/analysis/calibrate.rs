//! `hashpivot calibrate` as a library call: estimates of the process parameters from stored
//! history (`hashpivot_data::calibrate`'s estimators), the newest market state, and the default
//! scenario with every estimate it accepts written in.

use hashpivot_data::calibrate::{
    epoch_observations, fee_estimates, hashrate_estimates, price_estimates, CalibrationError,
    Estimate, MarginalMiner,
};
use hashpivot_data::series::{Epoch, FeeDay, HeightPoint, PricePoint};
use hashpivot_data::{market_state_from, Date, MarketState};
use serde::Serialize;

use super::keys::set_key;
use crate::Scenario;

/// The stored history a calibration reads: every series whole (the estimators need neighbours
/// outside the sample), the sample being `[from, to]`.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    /// Daily BTC closes up to `to` at least.
    pub prices: &'a [PricePoint],
    /// Daily heights.
    pub heights: &'a [HeightPoint],
    /// Difficulty epochs.
    pub epochs: &'a [Epoch],
    /// Daily fees up to `to`.
    pub fees: &'a [FeeDay],
}

/// Why a calibration failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    /// The sample is empty or reversed (bad input).
    #[error("--from {from} must be before the sample's last day {to}")]
    EmptySample {
        /// First day asked.
        from: Date,
        /// Last day of the sample.
        to: Date,
    },
    /// The store has no prices up to the last day asked.
    #[error("the store has no prices")]
    NoPrices,
    /// Too few observations for an estimate (bad input: widen the sample).
    #[error(transparent)]
    TooFew(#[from] CalibrationError),
    /// The series do not overlap, so there is no market state.
    #[error("the store's series do not overlap: no market state")]
    NoMarketState,
    /// The calibrated scenario failed validation (an internal failure: every key was checked).
    #[error("calibrated scenario is invalid: {0}")]
    Invalid(String),
}

/// The result of [`calibrate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// First day of the sample.
    pub from: Date,
    /// Last day of the sample.
    pub to: Date,
    /// Every estimate, in report order.
    pub estimates: Vec<Estimate>,
    /// The market state of the newest stored day up to `to`.
    pub market_state: MarketState,
    /// Keys written into the scenario.
    pub written_keys: Vec<String>,
    /// Keys whose estimate is outside the allowed range: the default was kept.
    pub kept_default: Vec<String>,
    /// The default scenario with the market state and the written keys.
    #[serde(skip)]
    pub scenario: Scenario,
}

impl Calibration {
    /// The calibrated scenario as a TOML file with a header saying where it came from.
    pub fn scenario_file(&self) -> String {
        let s = &self.market_state;
        format!(
            "# Calibrated by `hashpivot calibrate` from the store, sample {} to {}.\n# Market state: {} (spot = close of {}, difficulty of epoch {}{}).\n{}",
            self.from,
            self.to,
            s.date,
            s.price_date,
            s.difficulty_epoch,
            if s.difficulty_current { "" } else { ", the newest stored; not the epoch in force" },
            self.scenario.to_toml_string()
        )
    }
}

/// Calibrates over `[from, to]`: `to` defaults to the newest price up to it, `from` to four years
/// before `to`.
pub fn calibrate(
    h: &History<'_>,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Calibration, CalibrateError> {
    let all_prices: Vec<PricePoint> = h
        .prices
        .iter()
        .filter(|p| to.is_none_or(|t| p.date <= t))
        .copied()
        .collect();
    let newest = all_prices
        .last()
        .map(|p| p.date)
        .ok_or(CalibrateError::NoPrices)?;
    let to = to.unwrap_or(newest);
    let from = from.unwrap_or(to.add_days(-4 * 365 - 1));
    if from >= to {
        return Err(CalibrateError::EmptySample { from, to });
    }
    let prices: Vec<_> = all_prices
        .iter()
        .filter(|p| p.date >= from)
        .copied()
        .collect();
    let fees_all: Vec<FeeDay> = h.fees.iter().filter(|f| f.date <= to).cloned().collect();
    let fees: Vec<_> = fees_all
        .iter()
        .filter(|f| f.date >= from)
        .cloned()
        .collect();
    let defaults = Scenario::default();
    let miner = MarginalMiner {
        efficiency_jth: defaults.hashrate.marginal_efficiency_jth,
        efficiency_decline: defaults.hashrate.efficiency_decline,
        efficiency_floor_jth: defaults.hashrate.efficiency_floor_jth,
        power_usd_mwh: defaults.hashrate.marginal_power_usd_mwh,
    };
    let mut estimates = Vec::new();
    estimates.extend(price_estimates(&prices)?);
    estimates.extend(fee_estimates(&fees, h.heights)?);
    let obs = epoch_observations(
        &prices,
        h.heights,
        h.epochs,
        &fees_all,
        &miner,
        to,
        Some(from),
        Some(to),
    );
    estimates.extend(hashrate_estimates(&obs)?);
    // Market state: the newest stored day up to `to` (same code path as the default scenario).
    let heights_to: Vec<_> = h
        .heights
        .iter()
        .filter(|x| x.date <= to.add_days(1))
        .copied()
        .collect();
    let state = market_state_from(&all_prices, &heights_to, h.epochs, &fees_all)
        .ok_or(CalibrateError::NoMarketState)?;
    let (scenario, written, kept) = build_scenario(defaults, &state, &estimates)?;
    Ok(Calibration {
        from,
        to,
        estimates,
        market_state: state,
        written_keys: written,
        kept_default: kept,
        scenario,
    })
}

/// The market state's keys of a scenario.
pub fn apply_market_state(sc: &mut Scenario, s: &MarketState) {
    sc.price.spot = s.spot_usd;
    sc.chain.height = u64::from(s.height);
    sc.chain.difficulty = s.difficulty;
    sc.chain.hashrate_ehs = Some(s.hashrate_ehs);
    sc.chain.epoch_elapsed_days = Some(s.epoch_elapsed_days.clamp(0.0, 56.0));
    sc.fees.btc_per_block = s.fees_btc_per_block;
}

/// Defaults, then the market state, then each estimate the scenario accepts (in range); returns
/// the scenario, the keys written and the keys kept at their default.
fn build_scenario(
    defaults: Scenario,
    state: &MarketState,
    estimates: &[Estimate],
) -> Result<(Scenario, Vec<String>, Vec<String>), CalibrateError> {
    let mut sc = defaults;
    apply_market_state(&mut sc, state);
    let mut written = Vec::new();
    let mut kept = Vec::new();
    for e in estimates {
        let mut trial = sc.clone();
        if !set_key(&mut trial, e.key, e.value) {
            continue; // e.g. the long-run fee level: reported, not a scenario key
        }
        if e.value.is_finite() && trial.validate().is_ok() {
            sc = trial;
            written.push(e.key.to_string());
        } else {
            kept.push(e.key.to_string());
        }
    }
    sc.validate()
        .map_err(|e| CalibrateError::Invalid(e.to_string()))?;
    Ok((sc, written, kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashpivot_data::shipped;

    #[test]
    fn shipped_history_calibrates_and_writes_only_valid_keys() {
        let h = History {
            prices: shipped::prices(),
            heights: shipped::heights(),
            epochs: shipped::epochs(),
            fees: shipped::fees(),
        };
        let c = calibrate(&h, None, None).unwrap();
        assert_eq!(c.to, shipped::prices().last().unwrap().date);
        assert_eq!(c.from, c.to.add_days(-4 * 365 - 1));
        assert!(c.scenario.validate().is_ok());
        assert_eq!(c.scenario.price.spot, c.market_state.spot_usd);
        for k in &c.written_keys {
            let e = c.estimates.iter().find(|e| e.key == k).unwrap();
            let key = super::super::keys::numeric_key(k).unwrap();
            assert_eq!((key.get)(&c.scenario), e.value, "{k}");
        }
        assert!(c
            .scenario_file()
            .starts_with("# Calibrated by `hashpivot calibrate`"));
        let day = |s: &str| s.parse::<Date>().unwrap();
        assert!(matches!(
            calibrate(&h, Some(day("2024-01-01")), Some(day("2023-01-01"))),
            Err(CalibrateError::EmptySample { .. })
        ));
    }
}
