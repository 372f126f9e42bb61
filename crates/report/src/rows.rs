//! A run's strategies as rows: the engine's typed results read from the result document, with
//! their display labels. The bottom of the report's modules (views, the equity view and the CSV
//! tables read it; it reads none of them).

use hashpivot_model::{Histogram, StrategyResult};
use serde::Deserialize;
use serde_json::Value;

/// One strategy's row of the results table.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyRow {
    /// Display label (`mine`, `convert 50%`).
    pub label: String,
    /// NPV mean, standard error and percentiles.
    pub mean: f64,
    /// Standard error of the mean.
    pub stderr: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Mean NPV of the mining part.
    pub mining: f64,
    /// Mean NPV of the AI part.
    pub ai: f64,
    /// P(NPV < 0).
    pub prob_negative: f64,
    /// P(NPV < NPV of mine on the same path).
    pub prob_below_mine: f64,
    /// CVaR 5%.
    pub cvar5: f64,
    /// The engine's result the row shows.
    pub result: StrategyResult,
}

/// The engine's results of a run document, typed (`results[]` of `simulate --json`). An entry that
/// is not a strategy result (a document from another tool, or damaged) is left out, never shown as
/// NaN.
pub fn strategy_results(result: &Value) -> Vec<StrategyResult> {
    let Some(list) = result.get("results").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|r| StrategyResult::deserialize(r).ok())
        .collect()
}

/// The strategy label of a result entry: `convert 50%` when it carries a share.
pub fn strategy_label(r: &Value) -> String {
    let name = r
        .get("label")
        .or_else(|| r.get("strategy"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    if r.get("label").is_some() {
        return name;
    }
    match r.get("share").and_then(Value::as_f64) {
        Some(s) if name != "mine" && name != "optimal" => format!("{name} {}%", fmt_pct(s)),
        _ => name,
    }
}

pub(crate) fn fmt_pct(s: f64) -> String {
    let p = s * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}", p.round() as i64)
    } else {
        format!("{p:.1}")
    }
}

/// The rows of the results table.
pub fn strategy_rows(result: &Value) -> Vec<StrategyRow> {
    strategy_results(result)
        .into_iter()
        .map(|r| {
            let label = match r.share {
                Some(s) if r.strategy != "mine" && r.strategy != "optimal" => {
                    format!("{} {}%", r.strategy, fmt_pct(s))
                }
                _ => r.strategy.clone(),
            };
            StrategyRow {
                label,
                mean: r.npv.mean,
                stderr: r.npv.stderr,
                p5: r.npv.p5,
                p50: r.npv.p50,
                p95: r.npv.p95,
                mining: r.mining_npv_mean,
                ai: r.ai_npv_mean,
                prob_negative: r.prob_negative,
                prob_below_mine: r.prob_below_mine,
                cvar5: r.cvar5,
                result: r,
            }
        })
        .collect()
}

/// Histogram bins of a result, if the engine reported them; none when they are inconsistent.
pub(crate) fn bins(h: Option<&Histogram>) -> Vec<(f64, f64, f64)> {
    let Some(h) = h else { return Vec::new() };
    if h.edges.len() != h.counts.len() + 1 {
        return Vec::new();
    }
    h.counts
        .iter()
        .enumerate()
        .map(|(i, &c)| (h.edges[i], h.edges[i + 1], c as f64))
        .collect()
}
