//! Sensitivity of mean NPV to the main inputs (the tornado chart): each input is moved down and up
//! by `delta` (relative) and the scenario re-simulated with a small number of paths and the same
//! seed, so that the differences are not Monte Carlo noise (common random numbers). The cost is
//! bounded: `1 + 2 × inputs` runs of at most [`MAX_SENSITIVITY_PATHS`] paths.
//!
//! The analysis is independent of how a run is executed: the caller passes the function that
//! simulates a scenario and returns each strategy's mean NPV by label (the CLI calls the engine
//! directly, the server its job runner with cancellation and progress).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::numeric_key;
use crate::Scenario;

/// Paths per sensitivity run at most.
pub const MAX_SENSITIVITY_PATHS: u64 = 1000;

/// The inputs of the tornado, in display order (keys of [`super::keys::KEYS`]).
pub const INPUTS: [&str; 8] = [
    "price.spot",
    "price.vol",
    "site.power_usd_mwh",
    "ai.lease_usd_per_kw_month",
    "ai.capex_usd_per_mw_it",
    "hashrate.speed_up",
    "fees.btc_per_block",
    "mining.discount_rate",
];

/// Mean NPV per strategy label (`mine`, `convert 25%`, ...).
pub type Means = BTreeMap<String, f64>;

/// How the analysis runs one scenario: the scenario and the function that gets its progress in
/// [0, 1]; the mean NPV per strategy, or the caller's error.
pub type Simulate<'a, E> = dyn Fn(&Scenario, &(dyn Fn(f64) + Sync)) -> Result<Means, E> + 'a;

/// One input's effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputEffect {
    /// The scenario key.
    pub key: String,
    /// The input moved down, `v × (1 − delta)`.
    pub low_value: f64,
    /// The input moved up, `v × (1 + delta)`.
    pub high_value: f64,
    /// Mean NPV per strategy with the input down.
    pub low: Means,
    /// Mean NPV per strategy with the input up.
    pub high: Means,
}

/// An input left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The scenario key.
    pub key: String,
    /// Why (a zero base value, or the moved value is outside its allowed range).
    pub reason: String,
}

/// The result of [`sensitivity`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// The strategy whose NPV the tornado shows: the best strategy other than `mine` at the base
    /// inputs (a sweep has several), else `mine`.
    pub strategy: String,
    /// Relative move of each input.
    pub delta: f64,
    /// Paths of each run.
    pub paths: u64,
    /// Mean NPV per strategy at the base inputs.
    pub base: Means,
    /// The inputs moved, in [`INPUTS`] order.
    pub inputs: Vec<InputEffect>,
    /// The inputs left out.
    pub skipped: Vec<Skipped>,
}

/// Runs the sensitivity analysis of `scenario`. `simulate` runs one scenario (reporting its own
/// progress in [0, 1] to the function it is given) and returns the mean NPV per strategy;
/// `progress` gets the fraction of the whole analysis done.
pub fn sensitivity<E>(
    scenario: &Scenario,
    delta: f64,
    simulate: &Simulate<'_, E>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Sensitivity, E> {
    let mut base_sc = scenario.clone();
    base_sc.run.paths = scenario.run.paths.clamp(1, MAX_SENSITIVITY_PATHS);
    let total = 1 + 2 * INPUTS.len();
    let step = |k: usize| move |p: f64| progress((k as f64 + p.clamp(0.0, 1.0)) / total as f64);
    let base = simulate(&base_sc, &step(0))?;
    let strategy = base
        .iter()
        .filter(|(label, mean)| *label != "mine" && mean.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(label, _)| label.clone())
        .unwrap_or_else(|| "mine".into());
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for (i, name) in INPUTS.iter().enumerate() {
        let Some(key) = numeric_key(name) else {
            continue;
        };
        let v0 = (key.get)(&base_sc);
        if v0 == 0.0 || !v0.is_finite() {
            skipped.push(Skipped {
                key: key.key.to_string(),
                reason: "the base value is 0, so a relative change is 0".into(),
            });
            progress((1 + 2 * (i + 1)) as f64 / total as f64);
            continue;
        }
        let mut out = [Means::new(), Means::new()];
        let mut ok = true;
        for (j, sign) in [-1.0, 1.0].iter().enumerate() {
            let mut sc = base_sc.clone();
            (key.set)(&mut sc, v0 * (1.0 + sign * delta));
            if let Err(e) = sc.validate() {
                skipped.push(Skipped {
                    key: key.key.to_string(),
                    reason: e.to_string(),
                });
                ok = false;
                break;
            }
            out[j] = simulate(&sc, &step(1 + 2 * i + j))?;
        }
        if !ok {
            continue;
        }
        let [low, high] = out;
        inputs.push(InputEffect {
            key: key.key.to_string(),
            low_value: v0 * (1.0 - delta),
            high_value: v0 * (1.0 + delta),
            low,
            high,
        });
    }
    progress(1.0);
    Ok(Sensitivity {
        strategy,
        delta,
        paths: base_sc.run.paths,
        base,
        inputs,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in engine whose "mean NPV" is a known function of the inputs, so the analysis'
    /// bookkeeping (which run gets which scenario) can be checked exactly.
    fn fake(sc: &Scenario, p: &(dyn Fn(f64) + Sync)) -> Result<Means, String> {
        p(1.0);
        let mut m = Means::new();
        m.insert("mine".into(), sc.price.spot * 10.0 - sc.site.power_usd_mwh);
        m.insert("convert 50%".into(), sc.ai.lease_usd_per_kw_month * 1e6);
        Ok(m)
    }

    #[test]
    fn each_input_moves_alone_and_zero_inputs_are_skipped() {
        let mut sc = Scenario::default();
        sc.hashrate.speed_up = 0.0;
        sc.run.paths = 50_000;
        let last = std::sync::Mutex::new(0.0);
        let s = sensitivity(&sc, 0.2, &fake, &|p| *last.lock().unwrap() = p).unwrap();
        assert_eq!(*last.lock().unwrap(), 1.0);
        assert_eq!(s.paths, MAX_SENSITIVITY_PATHS);
        assert_eq!(s.strategy, "convert 50%");
        assert_eq!(s.skipped.len(), 1, "{:?}", s.skipped);
        assert_eq!(s.skipped[0].key, "hashrate.speed_up");
        let spot = s.inputs.iter().find(|i| i.key == "price.spot").unwrap();
        assert_eq!(spot.low_value, sc.price.spot * 0.8);
        assert_eq!(
            spot.low["mine"],
            sc.price.spot * 0.8 * 10.0 - sc.site.power_usd_mwh
        );
        assert_eq!(spot.high["convert 50%"], s.base["convert 50%"]);
        let lease = s
            .inputs
            .iter()
            .find(|i| i.key == "ai.lease_usd_per_kw_month")
            .unwrap();
        assert_eq!(lease.low["mine"], s.base["mine"]);
    }
}
