//! Runs side by side (the dashboard's runs list and `GET /api/compare`): a finished run's key
//! figures and the scenario keys in which runs differ, read from the stored documents.

use serde_json::{json, Value};

use crate::views::strategy_rows;

/// Key figures of a finished run's result: mining, the best strategy and its gap to mining;
/// `null` when the result has no strategy.
pub fn key_figures(result: &Value) -> Value {
    let rows = strategy_rows(result);
    let Some(mine) = rows.first() else {
        return Value::Null;
    };
    let best = rows
        .iter()
        .filter(|r| r.mean.is_finite() && !r.label.ends_with(" 0%"))
        .fold(mine, |b, r| if r.mean > b.mean { r } else { b });
    json!({
        "paths": result.get("paths"),
        "seed": result.get("seed"),
        "mine_npv_mean": mine.mean,
        "best": best.label,
        "best_npv_mean": best.mean,
        "best_delta_vs_mine": best.mean - mine.mean,
        "best_prob_beats_mine": if best.label == "mine" { 0.0 } else { 1.0 - best.prob_below_mine },
        "strategies": rows.len(),
    })
}

/// Each strategy's NPV summary (label, mean, s.e., p5, p50, p95, P(below mining)) of a result.
pub fn strategy_summaries(result: &Value) -> Vec<Value> {
    strategy_rows(result)
        .iter()
        .map(|x| {
            json!({"label": x.label, "mean": x.mean, "stderr": x.stderr, "p5": x.p5,
                   "p50": x.p50, "p95": x.p95, "prob_below_mine": x.prob_below_mine})
        })
        .collect()
}

/// Scenario values flattened to `key -> value` (`price.spot`, `mining.fleet[0].units`).
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(a) if a.iter().any(|x| x.is_object()) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// The scenario keys whose values differ between `scenarios`, in first-seen order, each as
/// `{"key": "price.vol", "values": [one per scenario, null where absent]}`.
pub fn differences(scenarios: &[&Value]) -> Vec<Value> {
    let mut keys: Vec<String> = Vec::new();
    let mut flat: Vec<std::collections::HashMap<String, Value>> = Vec::new();
    for s in scenarios {
        let mut f = Vec::new();
        flatten("", s, &mut f);
        for (k, _) in &f {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        flat.push(f.into_iter().collect());
    }
    keys.iter()
        .filter_map(|k| {
            let vals: Vec<Value> = flat
                .iter()
                .map(|m| m.get(k).cloned().unwrap_or(Value::Null))
                .collect();
            vals.iter()
                .any(|v| *v != vals[0])
                .then(|| json!({"key": k, "values": vals}))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_list_changed_and_missing_keys_in_order() {
        let a = json!({"price": {"spot": 1.0, "vol": 0.5}, "mining": {"fleet": [{"units": 3}]}});
        let b = json!({"price": {"spot": 1.0, "vol": 0.6}, "mining": {"fleet": [{"units": 3}, {"units": 1}]}});
        let d = differences(&[&a, &b]);
        assert_eq!(
            d,
            vec![
                json!({"key": "price.vol", "values": [0.5, 0.6]}),
                json!({"key": "mining.fleet[1].units", "values": [null, 1]}),
            ]
        );
        assert!(differences(&[&a, &a]).is_empty());
    }
}
