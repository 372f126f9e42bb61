//! hashpivot-report: what a run's results look like to a person, shared by the command line
//! (`hashpivot report`) and the server (`/runs/{id}` and its charts).
//!
//! * [`rows`]: a run's strategies as typed rows with their labels;
//! * [`views`]: the results table rows, the chart set (fans, histogram, tornado) and the band
//!   tables, read from the result document of `simulate --json`;
//! * [`html`]: the standalone HTML report, written with `maud` (a compile-time template language
//!   that escapes every interpolated string unless it is marked as trusted markup);
//! * [`csv`]: the report's tables as CSV files;
//! * [`decision`]: the decision card and its two charts;
//! * [`compare`]: the chart of `hashpivot compare` (mine vs lease vs GPU cloud);
//! * [`equity`]: the equity view of a financed run (its block, the IRR and DSCR charts, its CSV
//!   columns) and the unit of a run's money figures (USD or BTC);
//! * [`history`]: the chart of a shipped historical series (the dashboard's history page);
//! * [`sensitivity`]: the tornado's JSON document (the model's typed analysis plus display labels);
//! * [`runs`]: a finished run's key figures and the scenario keys in which runs differ (the
//!   dashboard's runs list and comparison);
//! * [`market`]: the market panel (today's hashprice, the next retarget and halving) and the
//!   announced AI/HPC leases with a rate placed among them;
//! * [`forwards`]: the chart of a hashprice forward curve beside the model's fan;
//! * [`xlsx`]: a run's tables as one Excel workbook.
//!
//! No I/O and no HTTP: the callers write the files or serve the bytes.

pub mod compare;
pub mod csv;
pub mod decision;
pub mod equity;
pub mod forwards;
pub mod history;
pub mod html;
pub mod market;
pub mod rows;
pub mod runs;
pub mod sensitivity;
pub mod views;
pub mod xlsx;

pub use csv::{cashflow_csv, csv_tables, decision_csv};
pub use html::{render, ReportInput};

/// Dollars for tables: `$12.3M`, `-$4.1M`.
pub fn usd(x: f64) -> String {
    hashpivot_charts::Units::usd().fmt(x)
}

/// A share as a percentage with one decimal, `–` when undefined.
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        "–".into()
    }
}

/// Scenario values flattened to `(table, key, value)` rows in file order (the report's inputs
/// table and `inputs.csv`).
pub fn scenario_rows(scenario: &serde_json::Value) -> Vec<(String, String, String)> {
    use serde_json::Value;
    let mut out = Vec::new();
    let Some(obj) = scenario.as_object() else {
        return out;
    };
    for (table, v) in obj {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match x {
                        Value::Array(items)
                            if items.iter().all(Value::is_object) && !items.is_empty() =>
                        {
                            for (i, it) in items.iter().enumerate() {
                                let text = it
                                    .as_object()
                                    .map(|o| {
                                        o.iter()
                                            .map(|(a, b)| format!("{a} = {}", scalar(b)))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    })
                                    .unwrap_or_default();
                                out.push((table.clone(), format!("{k}[{i}]"), text));
                            }
                        }
                        _ => out.push((table.clone(), k.clone(), scalar(x))),
                    }
                }
            }
            Value::Null => {}
            other => out.push((String::new(), table.clone(), scalar(other))),
        }
    }
    out
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(default)".into(),
        other => other.to_string(),
    }
}
