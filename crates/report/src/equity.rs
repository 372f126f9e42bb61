//! The equity view of a run whose scenario has `[finance]` (MODEL.md §10: equity NPV, the IRRs of
//! the AI stream, the debt service coverage) and the unit of its money figures (§11: USD, or BTC
//! with `run.currency = "btc"`). Every figure is a typed field of the engine's result
//! ([`EquityResult`], [`Currency`]); nothing here recomputes one.

use hashpivot_charts::{DistSeries, DistributionChart, Units};
use hashpivot_model::result::{Currency, EquityResult, IrrStats};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use crate::pct;
use crate::rows::{bins, strategy_rows};

/// The unit of a result's money figures (`currency` of `simulate --json`; absent = USD).
pub fn currency(result: &Value) -> Currency {
    result
        .get("currency")
        .and_then(|c| Currency::deserialize(c).ok())
        .unwrap_or_default()
}

/// How a result's money figures print: `$12.3M`, or `12.3 BTC` for a BTC run.
pub fn money_units(result: &Value) -> Units {
    match currency(result) {
        Currency::Usd => Units::usd(),
        Currency::Btc => Units::suffix("BTC"),
    }
}

/// The unit's name for axis titles and notes: `USD` or `BTC`.
pub fn money_name(result: &Value) -> &'static str {
    match currency(result) {
        Currency::Usd => "USD",
        Currency::Btc => "BTC",
    }
}

/// One strategy's equity view.
#[derive(Debug, Clone, PartialEq)]
pub struct EquityRow {
    /// The strategy's label (`mine`, `convert 50%`).
    pub label: String,
    /// Its equity result.
    pub equity: EquityResult,
}

/// The strategies that carry an equity view (all of them when the scenario has `[finance]`;
/// none otherwise), in result order.
pub fn equity_rows(result: &Value) -> Vec<EquityRow> {
    strategy_rows(result)
        .into_iter()
        .filter_map(|r| {
            r.result.equity.map(|equity| EquityRow {
                label: r.label,
                equity,
            })
        })
        .collect()
}

fn or_nan(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

/// One IRR distribution as a row of the chart; `None` when no path has a root.
fn irr_series(name: String, s: &IrrStats) -> Option<DistSeries> {
    s.p50.map(|_| DistSeries {
        name,
        // The engine reports percentiles of IRRs, not a mean (a mean of rates is not a rate).
        mean: f64::NAN,
        p5: or_nan(s.p5),
        p50: or_nan(s.p50),
        p95: or_nan(s.p95),
        bins: bins(s.histogram.as_ref()),
        notes: vec![format!("no root on {} of paths", pct(s.no_root_share))],
    })
}

/// The IRR distribution chart: for each strategy with an AI stream, the project IRR (unlevered)
/// and the equity IRR (levered) on one value axis; `None` without a financed AI stream.
pub fn irr_chart(result: &Value) -> Option<String> {
    let series: Vec<DistSeries> = equity_rows(result)
        .iter()
        .flat_map(|r| {
            [
                irr_series(format!("{} project", r.label), &r.equity.project_irr),
                irr_series(format!("{} equity", r.label), &r.equity.equity_irr),
            ]
        })
        .flatten()
        .collect();
    if series.is_empty() {
        return None;
    }
    Some(
        DistributionChart {
            title: "IRR of the AI stream: project (unlevered) and equity (levered)".into(),
            value_label: "IRR per year, over the paths with a root".into(),
            units: Units::percent(),
            series,
            reference: None,
        }
        .to_svg(),
    )
}

/// The DSCR distribution chart: each strategy's smallest yearly debt service coverage per path,
/// with the covenant (`finance.min_dscr`) drawn across; `None` when no path has a loan year.
pub fn dscr_chart(result: &Value) -> Option<String> {
    let rows = equity_rows(result);
    let mut covenant = None;
    let series: Vec<DistSeries> = rows
        .iter()
        .filter(|r| r.equity.dscr_min.paths_counted > 0)
        .map(|r| {
            let d = &r.equity.dscr_min;
            covenant = Some(d.min_dscr);
            DistSeries {
                name: r.label.clone(),
                mean: or_nan(d.mean),
                // The engine reports the 5th percentile only: the range shows p5 to the mean.
                p5: or_nan(d.p5),
                p50: or_nan(d.mean),
                p95: or_nan(d.mean),
                bins: bins(d.histogram.as_ref()),
                notes: vec![
                    format!(
                        "P(DSCR < {}) {}",
                        d.min_dscr,
                        pct(d.prob_below_min.unwrap_or(f64::NAN))
                    ),
                    format!(
                        "{} paths counted, {} without a whole loan year",
                        d.paths_counted, d.paths_without_loan_year
                    ),
                ],
            }
        })
        .collect();
    let covenant = covenant?;
    Some(
        DistributionChart {
            title: "Smallest yearly debt service coverage (DSCR) per path".into(),
            value_label: "minimum DSCR over the loan years (× debt service)".into(),
            units: Units {
                suffix: "×".into(),
                ..Units::default()
            },
            series,
            reference: Some((covenant, format!("covenant {covenant}×"))),
        }
        .to_svg(),
    )
}

/// The equity block of the report: per strategy, equity NPV, the equity IRR's median, the DSCR's
/// 5th percentile and the probability of breaching the covenant. Empty without `[finance]`.
pub fn block(result: &Value) -> Markup {
    let rows = equity_rows(result);
    let Some(first) = rows.first() else {
        return html! {};
    };
    let u = money_units(result);
    let m = |x: f64| u.fmt(x);
    let p = |x: Option<f64>| x.map_or_else(|| "–".to_string(), pct);
    let x = |x: Option<f64>| x.map_or_else(|| "–".to_string(), |v| format!("{v:.2}×"));
    let covenant = first.equity.dscr_min.min_dscr;
    html! {
        section #equity {
            h2 { "Equity view (project debt)" }
            p.hint {
                "Each conversion's capex is part-funded by a construction loan that becomes an "
                "amortizing term loan; the equity NPV is mining plus the levered AI stream. IRRs "
                "are percentiles over the paths with a root; the DSCR is each path's smallest "
                "yearly coverage, against the covenant of " (covenant) "×."
            }
            table.num {
                thead { tr {
                    th { "strategy" } th { "equity NPV mean" } th { "± s.e." } th { "p5" }
                    th { "p95" } th { "P(equity NPV<0)" } th { "AI equity part" }
                    th { "project IRR p50" } th { "equity IRR p50" } th { "DSCR p5" }
                    th { "P(covenant breach)" }
                } }
                tbody {
                    @for r in &rows {
                        @let e = &r.equity;
                        tr data-strategy=(r.label) {
                            td { (r.label) }
                            td data-field="equity_npv" { (m(e.equity_npv.mean)) }
                            td { (m(e.equity_npv.stderr)) }
                            td { (m(e.equity_npv.p5)) }
                            td { (m(e.equity_npv.p95)) }
                            td { (pct(e.prob_negative)) }
                            td { (m(e.equity_npv_mean_ai)) }
                            td { (p(e.project_irr.p50)) }
                            td data-field="equity_irr_p50" { (p(e.equity_irr.p50)) }
                            td data-field="dscr_p5" { (x(e.dscr_min.p5)) }
                            td data-field="prob_breach" { (p(e.dscr_min.prob_below_min)) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashpivot_model::result::{DscrStats, IrrStats};
    use hashpivot_model::scenario::Finance;
    use hashpivot_model::{Histogram, NpvStats, Scenario, SimOutput};

    fn hist(edges: &[f64], counts: &[u64]) -> Option<Histogram> {
        Some(Histogram {
            edges: edges.to_vec(),
            counts: counts.to_vec(),
            below: 0,
            above: 0,
        })
    }

    /// An equity view with figures that are easy to recognise (no engine: the report must show
    /// whatever the typed fields hold).
    fn equity(k: f64) -> EquityResult {
        EquityResult {
            equity_npv: NpvStats {
                mean: 12.5e6 * k,
                stderr: 0.25e6,
                p5: -3.0e6,
                p50: 11.0e6 * k,
                p95: 30.0e6,
            },
            equity_npv_mean_ai: 4.5e6 * k,
            prob_negative: 0.125,
            dscr_min: DscrStats {
                mean: Some(1.6),
                p5: Some(1.1875),
                prob_below_min: Some(0.0625),
                min_dscr: 1.25,
                paths_counted: 480,
                paths_without_loan_year: 32,
                histogram: hist(&[1.0, 1.5, 2.0, 2.5], &[40, 300, 140]),
            },
            project_irr: IrrStats {
                p5: Some(0.04),
                p50: Some(0.0875),
                p95: Some(0.15),
                no_root_share: 0.0,
                histogram: hist(&[0.0, 0.1, 0.2], &[300, 212]),
            },
            equity_irr: IrrStats {
                p5: Some(-0.02),
                p50: Some(0.1375),
                p95: Some(0.31),
                no_root_share: 0.03125,
                histogram: hist(&[-0.1, 0.1, 0.3, 0.5], &[100, 300, 96]),
            },
            equity_npv_histogram: None,
        }
    }

    /// The sample run of the server's tests with `[finance]`: each strategy's equity view set
    /// (the mining-only strategy has no AI stream: no IRR root, no loan year), as the server
    /// stores it (JSON text parsed back).
    fn financed() -> (Scenario, SimOutput, Value) {
        let sc = Scenario {
            finance: Some(Finance::default()),
            ..Scenario::default()
        };
        let mut out: SimOutput =
            serde_json::from_str(include_str!("../../server/tests/fixtures/sim_output.json"))
                .unwrap();
        let mut mine = equity(1.0);
        mine.equity_npv_mean_ai = 0.0;
        mine.dscr_min = DscrStats {
            mean: None,
            p5: None,
            prob_below_min: None,
            paths_counted: 0,
            paths_without_loan_year: 512,
            histogram: None,
            ..mine.dscr_min
        };
        let none = IrrStats {
            p5: None,
            p50: None,
            p95: None,
            no_root_share: 1.0,
            histogram: None,
        };
        mine.project_irr = none.clone();
        mine.equity_irr = none;
        out.results[0].equity = Some(mine);
        out.results[1].equity = Some(equity(2.0));
        let text = serde_json::to_string(&out).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        (sc, out, doc)
    }

    #[test]
    fn the_report_shows_the_engines_equity_figures_and_both_charts() {
        let (sc, out, doc) = financed();
        // JSON → report round trip: the typed equity of every strategy, unchanged.
        let rows = equity_rows(&doc);
        assert_eq!(rows.len(), out.results.len());
        for (r, want) in rows.iter().zip(&out.results) {
            assert_eq!(Some(&r.equity), want.equity.as_ref());
        }
        let conv = &rows[1].equity;
        assert_eq!(rows[1].label, "convert 50%");
        let scenario = serde_json::to_value(&sc).unwrap();
        let html = crate::render(&crate::ReportInput {
            source: "financed",
            scenario: &scenario,
            result: &doc,
            generated: "2026-01-01T00:00:00Z",
            version: "0",
        });
        assert!(html.contains("<section id=\"equity\">"), "no equity block");
        let u = Units::usd();
        for want in [
            format!(
                "<td data-field=\"equity_npv\">{}</td>",
                u.fmt(conv.equity_npv.mean)
            ),
            format!(
                "<td data-field=\"equity_irr_p50\">{}</td>",
                pct(conv.equity_irr.p50.unwrap())
            ),
            format!(
                "<td data-field=\"dscr_p5\">{:.2}×</td>",
                conv.dscr_min.p5.unwrap()
            ),
            format!(
                "<td data-field=\"prob_breach\">{}</td>",
                pct(conv.dscr_min.prob_below_min.unwrap())
            ),
        ] {
            assert!(html.contains(&want), "missing {want}");
        }
        assert!(html.contains("id=\"chart-irr\"") && html.contains("id=\"chart-dscr\""));
        let dscr = dscr_chart(&doc).unwrap();
        let cov = Finance::default().min_dscr;
        assert!(dscr.contains(&format!("class=\"hp-reference\" data-value=\"{cov}\"")));
        assert!(dscr.contains(&format!("covenant {cov}×")));
        let irr = irr_chart(&doc).unwrap();
        // mine has no AI stream: no IRR row (and no DSCR row) for it.
        assert!(!irr.contains("data-series=\"mine") && !dscr.contains("data-series=\"mine"));
        assert!(irr.contains("data-series=\"convert 50% project\""), "{irr}");
        assert!(irr.contains("data-series=\"convert 50% equity\""), "{irr}");
        let p50 = conv.equity_irr.p50.unwrap();
        assert!(irr.contains(&format!("data-p50=\"{p50}\"")), "{irr}");
    }

    #[test]
    fn the_workbook_carries_the_equity_table_and_a_plain_run_has_none() {
        let (sc, out, doc) = financed();
        let scenario = serde_json::to_value(&sc).unwrap();
        let tables = crate::xlsx::run_tables(&scenario, &doc, None);
        let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "results.csv",
                "cashflow.csv",
                "equity.csv",
                "bands.csv",
                "inputs.csv"
            ]
        );
        // equity.csv carries the engine's figures as they are (no rounding, no recomputation).
        let equity = &tables[2].1;
        let conv = out.results[1].equity.as_ref().unwrap();
        let row = equity.lines().nth(2).unwrap();
        assert!(
            row.starts_with(&format!(
                "convert 50%,{},{},",
                conv.equity_npv.mean, conv.equity_npv.stderr
            )),
            "{row}"
        );
        assert!(crate::xlsx::run_workbook(&scenario, &doc, None).is_ok());
        // Without [finance]: the version-1 tables and charts, no equity anywhere.
        let mut plain = doc.clone();
        for r in plain["results"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("equity");
        }
        let tables = crate::xlsx::run_tables(&scenario, &plain, None);
        assert!(tables.iter().all(|t| t.0 != "equity.csv"));
        assert!(irr_chart(&plain).is_none() && dscr_chart(&plain).is_none());
        assert_eq!(block(&plain).into_string(), "");
    }

    #[test]
    fn a_btc_run_shows_bitcoin() {
        let (_, _, mut doc) = financed();
        doc["currency"] = Value::from("btc");
        assert_eq!(money_name(&doc), "BTC");
        let mean = doc["results"][0]["npv"]["mean"].as_f64().unwrap();
        let npv = crate::views::npv_chart(&doc).unwrap();
        assert!(npv.contains(&format!("mean {}", Units::suffix("BTC").fmt(mean))));
        let results = &crate::csv_tables(&Value::Null, &doc)[0].1;
        assert!(results.lines().next().unwrap().ends_with(",cvar5,currency"));
        assert!(results.lines().nth(1).unwrap().ends_with(",btc"));
        assert!(block(&doc).into_string().contains(" BTC<"));
    }
}
