//! The tornado's JSON document: the model's typed [`Sensitivity`] with the display labels the
//! dashboard and the report draw (`price.spot −20% = 67.9k`).

use hashpivot_model::analysis::sensitivity::{Means, Sensitivity};
use serde_json::{json, Value};

/// Mean NPV per strategy label of a result document: what the tornado compares.
pub fn means(result: &Value) -> Means {
    crate::views::strategy_rows(result)
        .into_iter()
        .map(|r| (r.label, r.mean))
        .collect()
}

/// `{"strategy", "delta", "paths", "base": {label: mean}, "inputs": [{"key", "label",
/// "low_value", "high_value", "low_label", "high_label", "low": {label: mean}, "high": {...}}],
/// "skipped": [{"key", "reason"}]}`.
pub fn document(s: &Sensitivity) -> Value {
    let pct = (s.delta * 100.0).round();
    let short = hashpivot_charts::fmt_num;
    let inputs: Vec<Value> = s
        .inputs
        .iter()
        .map(|i| {
            json!({
                "key": i.key,
                "label": i.key,
                "low_value": i.low_value,
                "high_value": i.high_value,
                "low_label": format!("{} −{}% = {}", i.key, pct, short(i.low_value)),
                "high_label": format!("{} +{}% = {}", i.key, pct, short(i.high_value)),
                "low": i.low,
                "high": i.high,
            })
        })
        .collect();
    json!({
        "strategy": s.strategy,
        "delta": s.delta,
        "paths": s.paths,
        "base": s.base,
        "inputs": inputs,
        "skipped": s.skipped,
    })
}
