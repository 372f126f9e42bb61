//! The tables of a report as CSV files (written with `hashpivot_data::CsvWriter`).

use hashpivot_data::CsvWriter;
use serde_json::Value;

use crate::scenario_rows;
use crate::views::{self, strategy_rows};

/// A number for a CSV cell: empty when undefined.
fn f(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// The tables of a report as CSV files: `results.csv`, `bands.csv` (long format: quantity,
/// series, year, p5, p50, p95), `inputs.csv`, and `sensitivity.csv` when present.
pub fn csv_tables(scenario: &Value, result: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut s = CsvWriter::with_header(&[
        "strategy",
        "npv_mean",
        "npv_stderr",
        "npv_p5",
        "npv_p50",
        "npv_p95",
        "mining_npv_mean",
        "ai_npv_mean",
        "prob_negative",
        "prob_below_mine",
        "cvar5",
    ]);
    for x in strategy_rows(result) {
        s.record([
            x.label.clone(),
            f(x.mean),
            f(x.stderr),
            f(x.p5),
            f(x.p50),
            f(x.p95),
            f(x.mining),
            f(x.ai),
            f(x.prob_negative),
            f(x.prob_below_mine),
            f(x.cvar5),
        ]);
    }
    out.push(("results.csv", s.finish()));
    let mut b = CsvWriter::with_header(&["quantity", "series", "year", "p5", "p50", "p95"]);
    for (quantity, series) in views::band_table(result) {
        for s in series {
            let at = |v: &[f64], k: usize| f(v.get(k).copied().unwrap_or(f64::NAN));
            for k in 0..s.x.len() {
                b.record([
                    quantity.to_string(),
                    s.name.clone(),
                    f(s.x[k]),
                    at(&s.p5, k),
                    at(&s.p50, k),
                    at(&s.p95, k),
                ]);
            }
        }
    }
    out.push(("bands.csv", b.finish()));
    let mut i = CsvWriter::with_header(&["table", "key", "value"]);
    for (t, k, v) in scenario_rows(scenario) {
        i.record([t, k, v]);
    }
    out.push(("inputs.csv", i.finish()));
    if let Some(sens) = result.get("sensitivity") {
        let target = sens.get("strategy").and_then(Value::as_str).unwrap_or("");
        let mut t = CsvWriter::with_header(&[
            "input",
            "low_value",
            "high_value",
            "strategy",
            "npv_mean_low",
            "npv_mean_high",
        ]);
        for inp in sens
            .get("inputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let g = |k: &str| f(inp.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN));
            let m = |k: &str| {
                f(inp
                    .get(k)
                    .and_then(|o| o.get(target))
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN))
            };
            t.record([
                inp.get("key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                g("low_value"),
                g("high_value"),
                target.to_string(),
                m("low"),
                m("high"),
            ]);
        }
        out.push(("sensitivity.csv", t.finish()));
    }
    out
}
