//! The standalone HTML report of `hashpivot report`: one file with the inputs, the results, every
//! chart inline (the same SVG as the dashboard) and the method; no request leaves the file. Also the
//! CSV tables of `--csv DIR`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::views::{self, strategy_rows};

/// What goes into a report.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// Where the scenario came from (a file name, or "the built-in default scenario").
    pub source: &'a str,
    /// The scenario as JSON (same keys as the TOML file).
    pub scenario: &'a Value,
    /// The result document (`simulate --json`, with `sensitivity` when computed).
    pub result: &'a Value,
    /// When the report was made (ISO-8601).
    pub generated: &'a str,
    /// hashpivot version.
    pub version: &'a str,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Dollars for tables: `$12.3M`, `-$4.1M`.
pub fn usd(x: f64) -> String {
    hashpivot_charts::Units::usd().fmt(x)
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        "–".into()
    }
}

/// Scenario values flattened to `(table, key, value)` rows in file order.
pub fn scenario_rows(scenario: &Value) -> Vec<(String, String, String)> {
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

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(default)".into(),
        other => other.to_string(),
    }
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
    let mut h = String::new();
    h.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(h, "<title>hashpivot report — {}</title>", esc(input.source));
    h.push_str("<style>");
    h.push_str(REPORT_CSS);
    h.push_str(hashpivot_charts::CHART_CSS);
    h.push_str("</style></head><body><main>");
    let _ = write!(
        h,
        "<header><h1>hashpivot report</h1><p class=\"meta\">Scenario: <b>{}</b> · {} paths · seed {} · generated {} · hashpivot {}</p></header>",
        esc(input.source),
        r.get("paths").map(|v| v.to_string()).unwrap_or_default(),
        r.get("seed").map(|v| v.to_string()).unwrap_or_default(),
        esc(input.generated),
        esc(input.version)
    );

    // The decision first (when computed), then the results it rests on.
    h.push_str(&crate::dashboard_api::decision_card_html(r));
    // Results first: the answer, then how it was obtained.
    h.push_str("<section id=\"results\"><h2>Results</h2>");
    let rows = strategy_rows(r);
    if let Some(best) = rows
        .iter()
        .filter(|x| x.mean.is_finite())
        .max_by(|a, b| a.mean.total_cmp(&b.mean))
    {
        let _ = write!(
            h,
            "<p class=\"lead\">Highest mean NPV: <b>{}</b> at <b>{}</b> (± {} standard error).</p>",
            esc(&best.label),
            usd(best.mean),
            usd(best.stderr)
        );
    }
    h.push_str("<table class=\"num\"><thead><tr><th>strategy</th><th>NPV mean</th><th>± s.e.</th><th>p5</th><th>p50</th><th>p95</th><th>mining part</th><th>AI part</th><th>P(NPV&lt;0)</th><th>P(&lt; mine)</th><th>CVaR 5%</th></tr></thead><tbody>");
    for x in &rows {
        let _ = write!(
            h,
            "<tr data-strategy=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&x.label),
            esc(&x.label),
            usd(x.mean),
            usd(x.stderr),
            usd(x.p5),
            usd(x.p50),
            usd(x.p95),
            usd(x.mining),
            usd(x.ai),
            pct(x.prob_negative),
            pct(x.prob_below_mine),
            usd(x.cvar5)
        );
    }
    h.push_str("</tbody></table></section>");

    h.push_str("<section id=\"charts\"><h2>Charts</h2><p class=\"hint\">Hover over a chart to read its values.</p>");
    for c in views::run_charts(r) {
        let _ = write!(
            h,
            "<figure id=\"chart-{}\" data-chart-name=\"{}\">{}</figure>",
            c.name, c.name, c.svg
        );
    }
    if let Some(sk) = r
        .get("sensitivity")
        .and_then(|s| s.get("skipped"))
        .and_then(Value::as_array)
    {
        for s in sk {
            let _ = write!(
                h,
                "<p class=\"hint\">Sensitivity: {} left out ({}).</p>",
                esc(s.get("key").and_then(Value::as_str).unwrap_or("")),
                esc(s.get("reason").and_then(Value::as_str).unwrap_or(""))
            );
        }
    }
    h.push_str("</section>");

    h.push_str("<section id=\"inputs\"><h2>Inputs</h2><table><thead><tr><th>table</th><th>key</th><th>value</th></tr></thead><tbody>");
    for (t, k, v) in scenario_rows(input.scenario) {
        let _ = write!(
            h,
            "<tr><td>[{}]</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&t),
            esc(&k),
            esc(&v)
        );
    }
    h.push_str("</tbody></table></section>");

    h.push_str("<section id=\"method\"><h2>Method</h2>");
    h.push_str(METHOD_HTML);
    h.push_str("</section></main><script>");
    h.push_str(hashpivot_charts::HOVER_JS);
    h.push_str("</script></body></html>\n");
    h
}

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
        let result: Value = serde_json::from_str(crate::testing::SAMPLE_RESULT).unwrap();
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
        // The only URL is the SVG namespace, which is an identifier, not a request.
        let stripped = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!stripped.contains("http://") && !stripped.contains("https://"));
        let csv = csv_tables(&scenario, &result);
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
