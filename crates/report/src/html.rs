//! The standalone HTML report of `hashpivot report`: one file with the inputs, the results, every
//! chart inline (the same SVG as the dashboard) and the method; no request leaves the file.
//!
//! Written with `maud`: the template is checked at compile time and every interpolated string is
//! HTML-escaped; only the chart SVG (built by `hashpivot-charts`, which escapes its own text), the
//! fixed method text, the style sheet and the hover script are inserted as markup
//! ([`PreEscaped`]).

use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;

use crate::equity::{money_name, money_units};
use crate::views::{self, strategy_rows, StrategyRow};
use crate::{pct, scenario_rows};

/// What goes into a report.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// Where the scenario came from (a file name, or "the built-in default scenario").
    pub source: &'a str,
    /// The scenario as JSON (same keys as the TOML file).
    pub scenario: &'a Value,
    /// The result document (`simulate --json`, with `sensitivity` when computed).
    pub result: &'a Value,
    /// When the report was made (RFC 3339).
    pub generated: &'a str,
    /// hashpivot version.
    pub version: &'a str,
}

const METHOD_HTML: &str = r#"
<p>hashpivot simulates the site day by day on many independent paths (Monte Carlo) and values each
strategy by the discounted cash it produces (docs/MODEL.md, version 1).</p>
<ul>
<li><b>Markets.</b> The BTC price follows a geometric Brownian motion (<code>price.drift</code>,
<code>price.vol</code>); fees per block mean-revert in logs; the AI lease market rate is a geometric
Brownian motion, optionally correlated with the price.</li>
<li><b>Network.</b> Difficulty retargets every 2016 blocks exactly as Bitcoin does (clamped to a factor of
4), with the block subsidy halving every 210,000 blocks. The network hashrate moves toward the
break-even hashrate of the marginal fleet (faster down than up), so hashprice falls when the price
does not keep up with hashrate.</li>
<li><b>Mining.</b> Each batch of machines earns its share of the block rewards at the day's hashprice,
minus the pool fee, power (with the site's price and escalator) and fixed opex; batches that lose
money are switched off for the day when curtailment is on. Optionally the fleet is refreshed with
frontier machines.</li>
<li><b>AI/HPC conversion.</b> Converting a share of the site removes mining capacity (idle power first,
then the least efficient machines), spends the conversion capex over the build period, then earns
rent on the IT load at the lease rate signed at conversion, with escalators, renewals at the market
rate, renewal probability and tenant default. Cash is discounted at the AI discount rate; mining
cash at the mining rate.</li>
<li><b>Strategies.</b> <code>mine</code> never converts; <code>convert</code> converts a share on day 0;
<code>schedule</code> follows a list of conversions; <code>optimal</code> decides, slice by slice, when to
convert, by least-squares Monte Carlo (Longstaff–Schwartz), with the value re-estimated on fresh
paths. All strategies see the same paths.</li>
<li><b>Results.</b> For each strategy: the NPV mean with its standard error, the 5th/50th/95th
percentiles, the probability of a negative NPV and of doing worse than mining on the same path, and
the conditional value at risk at 5% (mean of the worst 5% of paths). Fan charts show the 5th–95th
percentile band and the median of each quantity per year.</li>
<li><b>Sensitivity.</b> The tornado re-runs the scenario with each main input moved down and up by the
stated percentage (same seed, fewer paths) and shows the mean NPV of the decision strategy.</li>
</ul>
"#;

/// The report as one HTML document.
pub fn render(input: &ReportInput<'_>) -> String {
    let r = input.result;
    let num = |k: &str| r.get(k).map(|v| v.to_string()).unwrap_or_default();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "hashpivot report — " (input.source) }
                style { (PreEscaped(REPORT_CSS)) (PreEscaped(hashpivot_charts::CHART_CSS)) }
            }
            body {
                main {
                    header {
                        h1 { "hashpivot report" }
                        p.meta {
                            "Scenario: " b { (input.source) } " · " (num("paths")) " paths · seed "
                            (num("seed")) " · money in " (money_name(r)) " · generated "
                            (input.generated) " · hashpivot " (input.version)
                        }
                    }
                    // The decision first (when computed), then the results it rests on, then how
                    // they were obtained.
                    (crate::decision::card(r))
                    (results(&strategy_rows(r), &money_units(r)))
                    (crate::equity::block(r))
                    (charts(r))
                    (inputs(input.scenario))
                    section #method { h2 { "Method" } (PreEscaped(METHOD_HTML)) }
                }
                script { (PreEscaped(hashpivot_charts::HOVER_JS)) }
            }
        }
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

fn results(rows: &[StrategyRow], u: &hashpivot_charts::Units) -> Markup {
    let usd = |x: f64| u.fmt(x);
    let best = rows
        .iter()
        .filter(|x| x.mean.is_finite())
        .max_by(|a, b| a.mean.total_cmp(&b.mean));
    html! {
        section #results {
            h2 { "Results" }
            @if let Some(b) = best {
                p.lead {
                    "Highest mean NPV: " b { (b.label) } " at " b { (usd(b.mean)) } " (± "
                    (usd(b.stderr)) " standard error)."
                }
            }
            table.num {
                thead { tr {
                    th { "strategy" } th { "NPV mean" } th { "± s.e." } th { "p5" } th { "p50" }
                    th { "p95" } th { "mining part" } th { "AI part" } th { "P(NPV<0)" }
                    th { "P(< mine)" } th { "CVaR 5%" }
                } }
                tbody {
                    @for x in rows {
                        tr data-strategy=(x.label) {
                            td { (x.label) } td { (usd(x.mean)) } td { (usd(x.stderr)) }
                            td { (usd(x.p5)) } td { (usd(x.p50)) } td { (usd(x.p95)) }
                            td { (usd(x.mining)) } td { (usd(x.ai)) } td { (pct(x.prob_negative)) }
                            td { (pct(x.prob_below_mine)) } td { (usd(x.cvar5)) }
                        }
                    }
                }
            }
        }
    }
}

fn charts(r: &Value) -> Markup {
    let skipped: Vec<(&str, &str)> = r
        .get("sensitivity")
        .and_then(|s| s.get("skipped"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            let g = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("");
            (g("key"), g("reason"))
        })
        .collect();
    html! {
        section #charts {
            h2 { "Charts" }
            p.hint { "Hover over a chart to read its values." }
            @for c in views::run_charts(r) {
                figure id={ "chart-" (c.name) } data-chart-name=(c.name) { (PreEscaped(c.svg)) }
            }
            @for (key, reason) in skipped {
                p.hint { "Sensitivity: " (key) " left out (" (reason) ")." }
            }
        }
    }
}

fn inputs(scenario: &Value) -> Markup {
    html! {
        section #inputs {
            h2 { "Inputs" }
            table {
                thead { tr { th { "table" } th { "key" } th { "value" } } }
                tbody {
                    @for (t, k, v) in scenario_rows(scenario) {
                        tr { td { "[" (t) "]" } td { code { (k) } } td { (v) } }
                    }
                }
            }
        }
    }
}

const REPORT_CSS: &str = r#"
body { margin: 0; background: #f5f6f8; color: #1a1a1a; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { margin: 0 0 4px; font-size: 28px; }
h2 { margin-top: 36px; border-bottom: 2px solid #e4e6ea; padding-bottom: 4px; }
.meta, .hint { color: #555; font-size: 13px; }
.lead { font-size: 17px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th, td { padding: 5px 8px; border-bottom: 1px solid #e8e8e8; text-align: left; }
table.num td:not(:first-child), table.num th:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #f0f2f5; }
figure { margin: 18px 0; border: 1px solid #e4e6ea; border-radius: 6px; padding: 6px; }
code { font-size: 12.5px; }
@media print { body { background: #fff; } main { padding: 0; } figure { break-inside: avoid; } }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_self_contained_and_has_the_charts() {
        let result: Value =
            serde_json::from_str(include_str!("../../server/tests/fixtures/sim_output.json"))
                .unwrap();
        let scenario = serde_json::to_value(hashpivot_model::Scenario::default()).unwrap();
        let html = render(&ReportInput {
            source: "default",
            scenario: &scenario,
            result: &result,
            generated: "2026-01-01T00:00:00Z",
            version: "0.1.0",
        });
        assert!(html.contains("<svg") && html.contains("data-chart=\"fan\""));
        assert!(html.contains("id=\"chart-npv\""));
        assert!(html.contains("data-strategy=\"convert 50%\""));
        assert!(html.contains("price.spot") || html.contains("<code>spot</code>"));
        // Every interpolated string is escaped by the template: a hostile scenario name stays text.
        let hostile = render(&ReportInput {
            source: "<script>alert(1)</script>",
            scenario: &scenario,
            result: &result,
            generated: "\"><b>",
            version: "0.1.0",
        });
        assert!(!hostile.contains("<script>alert"), "not escaped");
        assert!(hostile.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(hostile.contains("&quot;&gt;&lt;b&gt;"));
        // The only URL is the SVG namespace, which is an identifier, not a request.
        let stripped = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!stripped.contains("http://") && !stripped.contains("https://"));
        let csv = crate::csv_tables(&scenario, &result);
        let results = &csv.iter().find(|(n, _)| *n == "results.csv").unwrap().1;
        assert_eq!(results.lines().count(), 3);
        assert!(results.contains("convert 50%,48700000,"));
        let bands = &csv.iter().find(|(n, _)| *n == "bands.csv").unwrap().1;
        assert!(
            bands.contains("price,price,1,34896.37,79424.72,180771.98\n"),
            "{bands}"
        );
        assert!(bands.contains("site_cash,convert 50%,1,"), "{bands}");
    }
}
