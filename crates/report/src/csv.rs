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

/// The tables of a report as CSV files: `results.csv` (with a `currency` column `btc` for a BTC
/// run), `equity.csv` with `[finance]`, `bands.csv` (long format: quantity,
/// series, year, p5, p50, p95), `inputs.csv`, and `sensitivity.csv` when present.
pub fn csv_tables(scenario: &Value, result: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    // A BTC run (`run.currency = "btc"`) says so on every row: its money columns are in BTC.
    let btc = crate::equity::currency(result) == hashpivot_model::result::Currency::Btc;
    let mut header = vec![
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
    ];
    if btc {
        header.push("currency");
    }
    let mut s = CsvWriter::with_header(&header);
    for x in strategy_rows(result) {
        let mut cells = vec![
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
        ];
        if btc {
            cells.push("btc".into());
        }
        s.record(cells);
    }
    out.push(("results.csv", s.finish()));
    if let Some(e) = equity_csv(result) {
        out.push(("equity.csv", e));
    }
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

/// The equity view of each strategy (MODEL.md §10) when the run had a `[finance]` table: equity
/// NPV statistics, the AI equity part, the minimum DSCR and the IRR percentiles (empty cells where
/// no path has one).
fn equity_csv(result: &Value) -> Option<String> {
    let rows = strategy_rows(result);
    if rows.iter().all(|x| x.result.equity.is_none()) {
        return None;
    }
    let o = |x: Option<f64>| f(x.unwrap_or(f64::NAN));
    let mut w = CsvWriter::with_header(&[
        "strategy",
        "equity_npv_mean",
        "equity_npv_stderr",
        "equity_npv_p5",
        "equity_npv_p50",
        "equity_npv_p95",
        "equity_npv_mean_ai",
        "prob_negative",
        "dscr_min_mean",
        "dscr_min_p5",
        "prob_dscr_below_min",
        "min_dscr",
        "dscr_paths_counted",
        "project_irr_p5",
        "project_irr_p50",
        "project_irr_p95",
        "project_irr_no_root_share",
        "equity_irr_p5",
        "equity_irr_p50",
        "equity_irr_p95",
        "equity_irr_no_root_share",
    ]);
    for x in &rows {
        let Some(e) = &x.result.equity else { continue };
        let (d, p, q) = (&e.dscr_min, &e.project_irr, &e.equity_irr);
        w.record([
            x.label.clone(),
            f(e.equity_npv.mean),
            f(e.equity_npv.stderr),
            f(e.equity_npv.p5),
            f(e.equity_npv.p50),
            f(e.equity_npv.p95),
            f(e.equity_npv_mean_ai),
            f(e.prob_negative),
            o(d.mean),
            o(d.p5),
            o(d.prob_below_min),
            f(d.min_dscr),
            d.paths_counted.to_string(),
            o(p.p5),
            o(p.p50),
            o(p.p95),
            f(p.no_root_share),
            o(q.p5),
            o(q.p50),
            o(q.p95),
            f(q.no_root_share),
        ]);
    }
    Some(w.finish())
}

/// The year-by-year cash table of a result, like an analyst's model: one row per year, for each
/// strategy the median undiscounted site cash with its 5th and 95th percentiles, and the market
/// medians (BTC price, hashprice, network hashrate) beside them.
pub fn cashflow_csv(result: &Value) -> String {
    let bands = result.get("bands").cloned().unwrap_or(Value::Null);
    let years: Vec<f64> = bands
        .get("years")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let series = |v: &Value, k: &str| -> Vec<f64> {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
            .unwrap_or_default()
    };
    // (strategy, p5, p50, p95) per year.
    type Cash = (String, Vec<f64>, Vec<f64>, Vec<f64>);
    let cash: Vec<Cash> = bands
        .get("site_cash_usd")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            (
                views::strategy_label(c),
                series(c, "p5"),
                series(c, "p50"),
                series(c, "p95"),
            )
        })
        .collect();
    let market = [
        ("btc_price_usd_p50", "price_usd"),
        ("hashprice_usd_per_ph_day_p50", "hashprice_usd_per_ph_day"),
        ("hashrate_ehs_p50", "hashrate_ehs"),
    ];
    let mut header = vec!["year".to_string()];
    for (label, ..) in &cash {
        let l = label.replace(' ', "_").replace('%', "pct");
        for q in ["p50", "p5", "p95"] {
            header.push(format!("{l}_cash_usd_{q}"));
        }
    }
    header.extend(market.iter().map(|(h, _)| h.to_string()));
    let mut w = CsvWriter::default();
    w.record(&header);
    let at = |v: &[f64], i: usize| f(v.get(i).copied().unwrap_or(f64::NAN));
    let market_vals: Vec<Vec<f64>> = market
        .iter()
        .map(|(_, k)| series(bands.get(*k).unwrap_or(&Value::Null), "p50"))
        .collect();
    for (i, y) in years.iter().enumerate() {
        let mut row = vec![y.to_string()];
        for (_, p5, p50, p95) in &cash {
            row.extend([at(p50, i), at(p5, i), at(p95, i)]);
        }
        row.extend(market_vals.iter().map(|m| at(m, i)));
        w.record(&row);
    }
    w.finish()
}

/// The decision's figures as CSV: one row per strategy against mining, then (after an empty line)
/// the break-even points.
pub fn decision_csv(d: &Value) -> String {
    let g = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let list = |k: &str| {
        d.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut w = CsvWriter::with_header(&[
        "strategy",
        "npv_mean",
        "delta_vs_mine_mean",
        "delta_vs_mine_stderr",
        "prob_beats_mine",
    ]);
    for c in &list("candidates") {
        let dv = c.get("delta_vs_mine").cloned().unwrap_or(Value::Null);
        w.record([
            c.get("label")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            f(g(c, "npv_mean")),
            f(g(&dv, "mean")),
            f(g(&dv, "stderr")),
            f(g(c, "prob_beats_mine")),
        ]);
    }
    w.record(std::iter::empty::<&str>());
    w.record([
        "input",
        "unit",
        "base",
        "break_even",
        "flips_when",
        "flips_to",
    ]);
    for b in &list("breakeven") {
        let t = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        w.record([
            t("input"),
            t("unit"),
            f(g(b, "base")),
            f(g(b, "value")),
            t("flips_when"),
            t("flips_to"),
        ]);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `equity.csv` is written only for a run with `[finance]`, one row per strategy.
    #[test]
    fn equity_csv_only_with_finance() {
        let npv =
            serde_json::json!({"mean": 1.0, "stderr": 0.1, "p5": 0.5, "p50": 1.0, "p95": 1.5});
        let irr = serde_json::json!({"p5": 0.05, "p50": 0.1, "p95": null, "no_root_share": 0.25});
        let result = |equity: Option<Value>| {
            let mut r = serde_json::json!({
                "strategy": "convert", "share": 1.0, "npv": npv, "mining_npv_mean": 0.0,
                "ai_npv_mean": 1.0, "prob_negative": 0.0, "prob_below_mine": 0.0, "cvar5": 0.5
            });
            if let Some(e) = equity {
                r["equity"] = e;
            }
            serde_json::json!({ "results": [r] })
        };
        assert!(equity_csv(&result(None)).is_none());
        let e = serde_json::json!({
            "equity_npv": npv, "equity_npv_mean_ai": 2.0, "prob_negative": 0.0,
            "dscr_min": {"mean": 1.4, "p5": 1.1, "prob_below_min": 0.3, "min_dscr": 1.25,
                         "paths_counted": 10, "paths_without_loan_year": 0},
            "project_irr": irr, "equity_irr": irr
        });
        let text = equity_csv(&result(Some(e))).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("strategy,equity_npv_mean,"));
        assert!(
            lines[1].contains(",1.4,1.1,0.3,1.25,10,0.05,0.1,,0.25,"),
            "{text}"
        );
    }
}
