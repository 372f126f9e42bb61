//! Sensitivity of mean NPV to the main inputs (the tornado chart): each input is moved down and up
//! by `delta` (relative) and the scenario re-simulated with a small number of paths and the same
//! seed, so that the differences are not Monte Carlo noise (common random numbers). The cost is
//! bounded: `1 + 2 × inputs` runs of at most [`MAX_SENSITIVITY_PATHS`] paths.

use hashpivot_model::Scenario;
use serde_json::{json, Map, Value};

use crate::engine::{Engine, EngineError};
use crate::views::strategy_rows;

/// Paths per sensitivity run at most.
pub const MAX_SENSITIVITY_PATHS: u64 = 1000;

/// One input of the tornado.
struct Input {
    key: &'static str,
    get: fn(&Scenario) -> f64,
    set: fn(&mut Scenario, f64),
}

const INPUTS: [Input; 8] = [
    Input {
        key: "price.spot",
        get: |s| s.price.spot,
        set: |s, v| s.price.spot = v,
    },
    Input {
        key: "price.vol",
        get: |s| s.price.vol,
        set: |s, v| s.price.vol = v,
    },
    Input {
        key: "site.power_usd_mwh",
        get: |s| s.site.power_usd_mwh,
        set: |s, v| s.site.power_usd_mwh = v,
    },
    Input {
        key: "ai.lease_usd_per_kw_month",
        get: |s| s.ai.lease_usd_per_kw_month,
        set: |s, v| s.ai.lease_usd_per_kw_month = v,
    },
    Input {
        key: "ai.capex_usd_per_mw_it",
        get: |s| s.ai.capex_usd_per_mw_it,
        set: |s, v| s.ai.capex_usd_per_mw_it = v,
    },
    Input {
        key: "hashrate.speed_up",
        get: |s| s.hashrate.speed_up,
        set: |s, v| s.hashrate.speed_up = v,
    },
    Input {
        key: "fees.btc_per_block",
        get: |s| s.fees.btc_per_block,
        set: |s, v| s.fees.btc_per_block = v,
    },
    Input {
        key: "mining.discount_rate",
        get: |s| s.mining.discount_rate,
        set: |s, v| s.mining.discount_rate = v,
    },
];

fn means(result: &Value) -> Map<String, Value> {
    strategy_rows(result)
        .into_iter()
        .map(|r| (r.label, json!(r.mean)))
        .collect()
}

fn short(v: f64) -> String {
    hashpivot_charts::fmt_num(v)
}

/// Runs the sensitivity analysis. `progress` gets the fraction of the analysis done.
///
/// Returns `{"strategy", "delta", "paths", "base": {label: mean}, "inputs": [{"key", "label",
/// "low_value", "high_value", "low_label", "high_label", "low": {label: mean}, "high": {...}}],
/// "skipped": [{"key", "reason"}]}`.
pub fn sensitivity(
    engine: &dyn Engine,
    scenario: &Scenario,
    delta: f64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Value, EngineError> {
    let mut base_sc = scenario.clone();
    base_sc.run.paths = scenario.run.paths.clamp(1, MAX_SENSITIVITY_PATHS);
    let total = 1 + 2 * INPUTS.len();
    let step = |k: usize| move |p: f64| progress((k as f64 + p.clamp(0.0, 1.0)) / total as f64);
    let base = engine.simulate(&base_sc, &step(0))?;
    let base_means = means(&base);
    // The strategy whose NPV the tornado shows: the decision, i.e. the best strategy other than
    // `mine` at the base inputs (a sweep has several), else `mine`.
    let target = strategy_rows(&base)
        .into_iter()
        .filter(|r| r.label != "mine" && r.mean.is_finite())
        .max_by(|a, b| a.mean.total_cmp(&b.mean))
        .map(|r| r.label)
        .unwrap_or_else(|| "mine".into());
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for (i, inp) in INPUTS.iter().enumerate() {
        let v0 = (inp.get)(&base_sc);
        if v0 == 0.0 || !v0.is_finite() {
            skipped.push(
                json!({"key": inp.key, "reason": "the base value is 0, so a relative change is 0"}),
            );
            progress((1 + 2 * (i + 1)) as f64 / total as f64);
            continue;
        }
        let mut out = [Value::Null, Value::Null];
        let mut ok = true;
        for (j, sign) in [-1.0, 1.0].iter().enumerate() {
            let mut sc = base_sc.clone();
            (inp.set)(&mut sc, v0 * (1.0 + sign * delta));
            if let Err(e) = sc.validate() {
                skipped.push(json!({"key": inp.key, "reason": e.to_string()}));
                ok = false;
                break;
            }
            let r = engine.simulate(&sc, &step(1 + 2 * i + j))?;
            out[j] = Value::Object(means(&r));
        }
        if !ok {
            continue;
        }
        let [low, high] = out;
        let lo_v = v0 * (1.0 - delta);
        let hi_v = v0 * (1.0 + delta);
        inputs.push(json!({
            "key": inp.key,
            "label": inp.key,
            "low_value": lo_v,
            "high_value": hi_v,
            "low_label": format!("{} −{}% = {}", inp.key, (delta * 100.0).round(), short(lo_v)),
            "high_label": format!("{} +{}% = {}", inp.key, (delta * 100.0).round(), short(hi_v)),
            "low": low,
            "high": high,
        }));
    }
    progress(1.0);
    Ok(json!({
        "strategy": target,
        "delta": delta,
        "paths": base_sc.run.paths,
        "base": base_means,
        "inputs": inputs,
        "skipped": skipped,
    }))
}
