//! The tables of a report as CSV files.

use std::fmt::Write as _;

use serde_json::Value;

use crate::scenario_rows;
use crate::views::{self, strategy_rows};

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

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
    let mut s = String::from("strategy,npv_mean,npv_stderr,npv_p5,npv_p50,npv_p95,mining_npv_mean,ai_npv_mean,prob_negative,prob_below_mine,cvar5\n");
    for x in strategy_rows(result) {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&x.label),
            f(x.mean),
            f(x.stderr),
            f(x.p5),
            f(x.p50),
            f(x.p95),
            f(x.mining),
            f(x.ai),
            f(x.prob_negative),
            f(x.prob_below_mine),
            f(x.cvar5)
        );
    }
    out.push(("results.csv", s));
    let mut b = String::from("quantity,series,year,p5,p50,p95\n");
    for (quantity, series) in views::band_table(result) {
        for s in series {
            for k in 0..s.x.len() {
                let _ = writeln!(
                    b,
                    "{},{},{},{},{},{}",
                    quantity,
                    csv_field(&s.name),
                    f(s.x[k]),
                    f(s.p5.get(k).copied().unwrap_or(f64::NAN)),
                    f(s.p50.get(k).copied().unwrap_or(f64::NAN)),
                    f(s.p95.get(k).copied().unwrap_or(f64::NAN))
                );
            }
        }
    }
    out.push(("bands.csv", b));
    let mut i = String::from("table,key,value\n");
    for (t, k, v) in scenario_rows(scenario) {
        let _ = writeln!(i, "{},{},{}", csv_field(&t), csv_field(&k), csv_field(&v));
    }
    out.push(("inputs.csv", i));
    if let Some(sens) = result.get("sensitivity") {
        let target = sens.get("strategy").and_then(Value::as_str).unwrap_or("");
        let mut t =
            String::from("input,low_value,high_value,strategy,npv_mean_low,npv_mean_high\n");
        for inp in sens
            .get("inputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let g = |k: &str| inp.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            let m = |k: &str| {
                inp.get(k)
                    .and_then(|o| o.get(target))
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN)
            };
            let _ = writeln!(
                t,
                "{},{},{},{},{},{}",
                csv_field(inp.get("key").and_then(Value::as_str).unwrap_or("")),
                f(g("low_value")),
                f(g("high_value")),
                csv_field(target),
                f(m("low")),
                f(m("high"))
            );
        }
        out.push(("sensitivity.csv", t));
    }
    out
}
