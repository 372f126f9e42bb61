//! The decision of a run (`hashpivot_model::decision`, stored under the result's `decision`): its
//! two charts (ΔNPV vs mining of each candidate; the best strategy over the lease × capex grid) and
//! the report's decision card (maud: every interpolated string escaped).

use hashpivot_model::decision::{decide, DecisionOptions};
use hashpivot_model::Scenario;
use maud::{html, Markup, PreEscaped};
use serde_json::{json, Value};

/// The decision of a scenario with the default options ([`hashpivot_model::decision::decide`]),
/// as the document stored under a result's `decision` (the report's card, the dashboard's
/// `GET /api/runs/{id}/decision`, `decision.csv`). Errors: the model's, as text.
pub fn document(scenario: &Scenario) -> Result<Value, String> {
    let d = decide(scenario, &DecisionOptions::default()).map_err(|e| e.to_string())?;
    serde_json::to_value(&d).map_err(|e| e.to_string())
}

/// The distribution of ΔNPV vs mining of each strategy of a decision, as a ridgeline chart (the
/// same chart as the NPV distributions, so both read the same way).
pub fn delta_chart(d: &Value) -> Option<String> {
    use hashpivot_charts::{DistSeries, DistributionChart, Units};
    let g = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let series: Vec<DistSeries> = d
        .get("candidates")?
        .as_array()?
        .iter()
        .filter(|c| c.get("delta_histogram").is_some() && c.get("share") != Some(&json!(0.0)))
        .map(|c| {
            let h = &c["delta_histogram"];
            let edges: Vec<f64> = h["edges"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let counts: Vec<f64> = h["counts"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let bins = if edges.len() == counts.len() + 1 {
                counts
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (edges[i], edges[i + 1], *n))
                    .collect()
            } else {
                Vec::new()
            };
            let q = |i: usize| c["delta_quantiles"][i].as_f64().unwrap_or(f64::NAN);
            DistSeries {
                name: c["label"].as_str().unwrap_or("?").to_string(),
                mean: g(&c["delta_vs_mine"], "mean"),
                p5: q(0),
                p50: q(1),
                p95: q(2),
                bins,
                notes: vec![
                    format!(
                        "std. error of mean {}",
                        money(g(&c["delta_vs_mine"], "stderr"))
                    ),
                    format!(
                        "beats mining on {:.1}% of paths",
                        g(c, "prob_beats_mine") * 100.0
                    ),
                ],
            }
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    Some(
        DistributionChart {
            title: "ΔNPV vs keeping the fleet mining, path by path".into(),
            value_label: "ΔNPV vs mining on the same path (USD)".into(),
            units: Units::usd(),
            series,
            reference: None,
        }
        .to_svg(),
    )
}

/// The best strategy over lease rate × capex of a decision, as a grid coloured by the winner with
/// the gap to mining in each cell and the scenario's own cell outlined.
pub fn grid_chart(d: &Value) -> Option<String> {
    use hashpivot_charts::{CategoryGrid, Units};
    let g = d.get("grid")?;
    let nums = |k: &str| -> Vec<f64> {
        g[k].as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let (lease, capex) = (nums("lease"), nums("capex"));
    let cells: Vec<Vec<Option<(String, f64)>>> = g["best"]
        .as_array()?
        .iter()
        .zip(g["gap"].as_array()?)
        .map(|(b, v)| {
            b.as_array()
                .into_iter()
                .flatten()
                .zip(v.as_array().into_iter().flatten())
                .map(|(b, v)| Some((b.as_str()?.to_string(), v.as_f64()?)))
                .collect()
        })
        .collect();
    // Colours follow the decision's strategy order (mining first), then any other winner.
    let mut categories: Vec<String> = vec!["mine".into()];
    let names = d["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["label"].as_str().map(str::to_string))
        .chain(cells.iter().flatten().flatten().map(|c| c.0.clone()));
    for n in names {
        if !categories.contains(&n) {
            categories.push(n);
        }
    }
    let mid = |n: usize| n / 2;
    Some(
        CategoryGrid {
            title: "Best strategy by lease rate and capex (cell: best conversion's ΔNPV vs mining)"
                .into(),
            x_label: format!(
                "lease rate, $/kW-month ({} paths a cell, same seed; outlined: your scenario)",
                g["paths"].as_u64().unwrap_or(0)
            ),
            y_label: "capex, $/MW(IT)".into(),
            x_units: Units {
                prefix: "$".into(),
                ..Units::default()
            },
            y_units: Units::usd(),
            units: Units::usd(),
            base: Some((mid(capex.len()), mid(lease.len()))),
            x: lease,
            y: capex,
            categories,
            cells,
        }
        .to_svg(),
    )
}

/// Dollars as the cards show them (`$12.3M`).
fn money(x: f64) -> String {
    hashpivot_charts::Units::usd().fmt(x)
}

/// The decision card (the report's first section; the dashboard draws the same figures from
/// `GET /api/runs/{id}/decision`). Empty when `result` has no `decision`.
pub fn card(result: &Value) -> Markup {
    let Some(d) = result.get("decision") else {
        return html! {};
    };
    let g = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let t = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let dv = d.get("delta_vs_mine").cloned().unwrap_or(Value::Null);
    let list = |k: &str| -> Vec<Value> {
        d.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let fig = |b: &Value, x: f64| {
        let input = t(b, "input");
        if !x.is_finite() {
            "no flip in range".to_string()
        } else if input == "ai.capex_usd_per_mw_it" || input == "price.spot" {
            money(x)
        } else {
            format!("${x:.1}")
        }
    };
    let change = |b: &Value| {
        let r = g(b, "relative_change");
        if r.is_finite() {
            format!("{:+.1}%", r * 100.0)
        } else {
            "–".into()
        }
    };
    let optimal = d.get("optimal").map(|o| {
        let e = |k: &str| money(o.get(k).map(|x| g(x, "mean")).unwrap_or(f64::NAN));
        // Levered, the estimates are in the policy's objective, the equity NPV.
        let what = if o.get("objective").and_then(Value::as_str) == Some("equity_npv") {
            "Optimal staging (equity NPV, what the levered policy maximizes)"
        } else {
            "Optimal staging"
        };
        (
            what,
            e("in_sample"),
            e("lower_bound"),
            e("upper_bound"),
            e("value_of_flexibility"),
        )
    });
    let notes: Vec<String> = list("notes")
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    // The same two charts as the dashboard's card (inline SVG: the report stays one file).
    let charts: Vec<String> = [delta_chart(d), grid_chart(d)]
        .into_iter()
        .flatten()
        .collect();
    html! {
        section #decision .decision {
            h2 { "Decision" }
            p.lead {
                "Recommended: " b data-fig="recommended" { (t(d, "recommended")) }
                " · ΔNPV vs mining " b data-fig="delta" { (money(g(&dv, "mean"))) }
                " ± " (money(g(&dv, "stderr")))
                " · P(beats mining) " b data-fig="prob" { (format!("{:.0}%", g(d, "prob_beats_mine") * 100.0)) }
            }
            p { (t(d, "why")) }
            table.num {
                thead { tr {
                    th { "the decision flips when" } th { "today" } th { "break-even" } th { "change" }
                } }
                tbody {
                    @for b in &list("breakeven") {
                        tr {
                            td { (t(b, "label")) " goes " (t(b, "flips_when")) " (" (t(b, "unit")) ")" }
                            td { (fig(b, g(b, "base"))) }
                            td { (fig(b, g(b, "value"))) }
                            td { (change(b)) }
                        }
                    }
                }
            }
            @if let Some((what, ins, lo, hi, flex)) = &optimal {
                p {
                    (what) ": in-sample " (ins) ", lower bound (fresh paths) " (lo)
                    ", upper bound (perfect foresight) " (hi) ", value of flexibility " (flex) "."
                }
            }
            @for n in &notes { p.hint { (n) } }
            @for svg in &charts { figure.decision-chart { (PreEscaped(svg)) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision_card_html(result: &Value) -> String {
        card(result).into_string()
    }

    #[test]
    fn the_report_card_shows_the_decision() {
        let d = json!({"recommended": "sweep 100%", "delta_vs_mine": {"mean": 1.0e9, "stderr": 3.0e6},
            "prob_beats_mine": 0.99, "why": "Because <leases> pay.",
            "breakeven": [{"input": "ai.lease_usd_per_kw_month", "label": "lease rate", "unit": "$/kW-month",
                "base": 130.0, "value": 104.2, "relative_change": -0.198, "flips_when": "below"}],
            "notes": []});
        let html = decision_card_html(&json!({"decision": d}));
        assert!(html.contains("sweep 100%") && html.contains("99%"));
        assert!(html.contains("Because &lt;leases&gt; pay."));
        assert!(html.contains("$104.2") && html.contains("-19.8%"));
        assert_eq!(decision_card_html(&json!({})), "");
    }

    #[test]
    fn the_grid_chart_shows_each_cells_winner_and_gap() {
        let d = json!({"candidates": [{"label": "mine"}, {"label": "sweep 100%"}],
            "grid": {"lease": [80.0, 100.0, 120.0], "capex": [8e6, 1e7, 1.2e7], "paths": 50,
                "best": [["mine", "sweep 100%", "sweep 100%"], ["mine", "mine", "sweep 100%"],
                         ["mine", "mine", null]],
                "gap": [[-1e6, 2e6, 5e6], [-3e6, -1e5, 1e6], [-6e6, -2e6, null]]}});
        let svg = grid_chart(&d).unwrap();
        assert!(svg
            .contains(r#"data-row="0" data-col="1" data-best="sweep 100%" data-value="2000000""#));
        assert!(svg.contains(r#"data-row="1" data-col="1" data-best="mine" data-value="-100000""#));
        assert!(svg.contains(r#"data-row="2" data-col="2" data-best="""#));
        assert!(svg.contains(">best: mine<") && svg.contains(">best: sweep 100%<"));
        assert_eq!(svg.matches("class=\"hp-base\"").count(), 1);
        assert!(grid_chart(&json!({})).is_none());
        // The report's card carries it too.
        assert!(decision_card_html(&json!({"decision": d})).contains("data-chart=\"grid\""));
    }
}
