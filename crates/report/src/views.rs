//! From a run's result document (`simulate --json`, plus the server's `sensitivity`) to charts and
//! tables. Shared by the dashboard (`GET /api/runs/{id}/charts/{name}`) and `hashpivot report`, so
//! both show the same figures.
//!
//! The reader is tolerant about the layout of `bands` (per-quantity `{p5,p50,p95}` arrays with a
//! `years` or `days` axis, optionally keyed by strategy) so that additions to the engine's output
//! don't break the dashboard; a quantity that is absent is simply not drawn.

use hashpivot_charts::{
    BarChart, BarSeries, DistSeries, DistributionChart, FanChart, FanSeries, LineChart, LineSeries,
    StepChart, Tornado, TornadoRow, Units, XKind,
};
use hashpivot_model::result::{Boundary, OptimalDetail};
use serde_json::Value;

use crate::rows::{bins, fmt_pct};
pub use crate::rows::{strategy_label, strategy_results, strategy_rows, StrategyRow};

/// One chart of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Short name used in URLs (`npv`, `price`, ...).
    pub name: String,
    /// Title.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// The chart names a run can have, in display order.
pub const CHART_NAMES: [&str; 13] = [
    "npv",
    "irr",
    "dscr",
    "price",
    "hashprice",
    "difficulty",
    "hashrate",
    "site_cash",
    "cash_bars",
    "schedule",
    "boundary",
    "boundary_lease",
    "tornado",
];

/// The NPV distribution chart of all strategies.
pub fn npv_chart(result: &Value) -> Option<String> {
    let rows = strategy_rows(result);
    if rows.is_empty() {
        return None;
    }
    let series = rows
        .iter()
        .map(|r| {
            let mut notes = vec![format!("std. error of mean {}", Units::usd().fmt(r.stderr))];
            if r.prob_negative.is_finite() {
                notes.push(format!("P(NPV < 0) {:.1}%", r.prob_negative * 100.0));
            }
            if r.prob_below_mine.is_finite() && r.label != "mine" {
                notes.push(format!("P(NPV < mine) {:.1}%", r.prob_below_mine * 100.0));
            }
            if r.cvar5.is_finite() {
                notes.push(format!("CVaR 5% {}", Units::usd().fmt(r.cvar5)));
            }
            DistSeries {
                name: r.label.clone(),
                mean: r.mean,
                p5: r.p5,
                p50: r.p50,
                p95: r.p95,
                bins: bins(r.result.npv_histogram.as_ref()),
                notes,
            }
        })
        .collect();
    Some(
        DistributionChart {
            title: "NPV distribution by strategy".into(),
            value_label: format!("NPV ({})", crate::equity::money_name(result)),
            units: crate::equity::money_units(result),
            series,
            reference: None,
        }
        .to_svg(),
    )
}

/// A number of a band entry; a missing one is a gap in the fan.
fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// The time axis of the bands, in years.
fn band_years(bands: &Value, n: usize) -> Vec<f64> {
    for (key, scale) in [
        ("years", 1.0),
        ("year", 1.0),
        ("t_years", 1.0),
        ("days", 1.0 / 365.0),
        ("day", 1.0 / 365.0),
    ] {
        if let Some(a) = bands.get(key).and_then(Value::as_array) {
            let v: Vec<f64> = a
                .iter()
                .filter_map(Value::as_f64)
                .map(|x| x * scale)
                .collect();
            if v.len() == n {
                return v;
            }
        }
    }
    (0..n).map(|i| i as f64).collect()
}

fn arr(v: &Value, key: &str) -> Option<Vec<f64>> {
    v.get(key)?
        .as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
}

/// Reads one quantity's fan series: `{p5,p50,p95}`, `{strategy: {p5,p50,p95}}`, or
/// `[{year|day, p5, p50, p95}, ...]`.
fn fan_series(bands: &Value, v: &Value, name: &str, scale: f64) -> Vec<FanSeries> {
    let sc = |a: Vec<f64>| a.into_iter().map(|x| x * scale).collect::<Vec<f64>>();
    if let (Some(p5), Some(p50), Some(p95)) = (arr(v, "p5"), arr(v, "p50"), arr(v, "p95")) {
        let x = match arr(v, "years") {
            Some(y) if y.len() == p50.len() => y,
            _ => match arr(v, "days") {
                Some(d) if d.len() == p50.len() => d.iter().map(|d| d / 365.0).collect(),
                _ => band_years(bands, p50.len()),
            },
        };
        return vec![FanSeries {
            name: name.to_string(),
            x,
            p5: sc(p5),
            p50: sc(p50),
            p95: sc(p95),
        }];
    }
    if let Some(list) = v.as_array() {
        // One series per entry: `[{"strategy", "share"?, "p5": [..], "p50": [..], "p95": [..]}]`.
        if list
            .iter()
            .all(|e| e.get("p50").is_some_and(Value::is_array))
            && !list.is_empty()
        {
            return list
                .iter()
                .flat_map(|e| fan_series(bands, e, &strategy_label(e), scale))
                .collect();
        }
        let mut s = FanSeries {
            name: name.to_string(),
            ..FanSeries::default()
        };
        for (i, e) in list.iter().enumerate() {
            let x = e
                .get("year")
                .and_then(Value::as_f64)
                .or_else(|| e.get("day").and_then(Value::as_f64).map(|d| d / 365.0))
                .unwrap_or(i as f64);
            s.x.push(x);
            s.p5.push(num(e, "p5") * scale);
            s.p50.push(num(e, "p50") * scale);
            s.p95.push(num(e, "p95") * scale);
        }
        return if s.x.is_empty() { vec![] } else { vec![s] };
    }
    if let Some(obj) = v.as_object() {
        return obj
            .iter()
            .flat_map(|(k, sub)| {
                if sub.is_object() || sub.is_array() {
                    fan_series(bands, sub, k, scale)
                } else {
                    Vec::new()
                }
            })
            .collect();
    }
    Vec::new()
}

struct BandSpec {
    name: &'static str,
    keys: &'static [&'static str],
    title: &'static str,
    y_label: &'static str,
    log: bool,
}

const BANDS: [BandSpec; 5] = [
    BandSpec {
        name: "price",
        keys: &["price", "price_usd", "btc_price"],
        title: "BTC price (p5–p95 fan)",
        y_label: "USD per BTC",
        log: true,
    },
    BandSpec {
        name: "hashprice",
        keys: &["hashprice", "hashprice_usd_per_ph_day"],
        title: "Hashprice (p5–p95 fan)",
        y_label: "USD per PH/s per day",
        log: true,
    },
    BandSpec {
        name: "difficulty",
        keys: &["difficulty"],
        title: "Difficulty (p5–p95 fan)",
        y_label: "difficulty",
        log: true,
    },
    BandSpec {
        name: "hashrate",
        keys: &[
            "hashrate_ehs",
            "network_hashrate_ehs",
            "hashrate",
            "network_hashrate",
        ],
        title: "Network hashrate (p5–p95 fan)",
        y_label: "EH/s",
        log: true,
    },
    BandSpec {
        name: "site_cash",
        keys: &["site_cash", "site_cash_usd", "cash"],
        title: "Site net cash per year (p5–p95 fan)",
        y_label: "USD per year",
        log: false,
    },
];

fn band_chart(result: &Value, spec: &BandSpec) -> Option<String> {
    let bands = result.get("bands")?;
    let (key, v) = spec
        .keys
        .iter()
        .find_map(|k| bands.get(*k).map(|v| (*k, v)))?;
    // The engine's state is TH/s; the chart reads better in EH/s.
    let mut scale = 1.0;
    if spec.name == "hashrate" && !key.ends_with("ehs") {
        let probe = fan_series(bands, v, key, 1.0);
        let big = probe
            .iter()
            .flat_map(|s| s.p50.iter())
            .any(|x| x.is_finite() && *x > 1e5);
        if big {
            scale = 1e-6;
        }
    }
    let mut series = fan_series(bands, v, spec.name, scale);
    if series.is_empty() {
        return None;
    }
    // Overlaid fans stop being readable past three: keep `mine` and the strategy with the best
    // mean NPV (a sweep has one entry per share).
    if series.len() > 3 {
        let best = strategy_rows(result)
            .into_iter()
            .filter(|r| r.label != "mine" && r.mean.is_finite())
            .max_by(|a, b| a.mean.total_cmp(&b.mean))
            .map(|r| r.label);
        series.retain(|s| s.name == "mine" || Some(&s.name) == best.as_ref());
    }
    // The optimal policy's yearly cash is not banded by the engine: say so rather than let the
    // chart look complete.
    let mut title = spec.title.to_string();
    if spec.name == "site_cash"
        && optimal(result).is_some()
        && !series.iter().any(|s| s.name == "optimal")
    {
        title.push_str(" — the optimal policy's yearly cash is not tracked");
    }
    let units = match spec.name {
        "price" | "site_cash" => Units::usd(),
        "hashprice" => Units {
            prefix: "$".into(),
            ..Units::default()
        },
        "hashrate" => Units::suffix("EH/s"),
        _ => Units::plain(),
    };
    let positive = series
        .iter()
        .flat_map(|s| s.p5.iter())
        .all(|x| !x.is_finite() || *x > 0.0);
    Some(
        FanChart {
            title,
            x_label: "years from today".into(),
            y_label: spec.y_label.into(),
            units,
            log_y: spec.log && positive,
            series,
        }
        .to_svg(),
    )
}

/// The median site net cash of every strategy, year by year, as grouped bars (an analyst's
/// annual cash line; the fan chart above it shows the spread).
fn cash_bars_chart(result: &Value) -> Option<String> {
    let bands = result.get("bands")?;
    let v = ["site_cash", "site_cash_usd", "cash"]
        .iter()
        .find_map(|k| bands.get(*k))?;
    let series = fan_series(bands, v, "site cash", 1.0);
    let first = series.first()?;
    if first.x.is_empty() {
        return None;
    }
    // Group by the first series' years; every strategy is reported on the same axis.
    let groups: Vec<String> = first.x.iter().map(|y| fmt_year(*y)).collect();
    Some(
        BarChart {
            title: "Median site net cash per year, by strategy (undiscounted)".into(),
            x_label: "year".into(),
            y_label: "USD per year".into(),
            units: Units::usd(),
            groups,
            series: series
                .iter()
                .map(|s| BarSeries {
                    name: s.name.clone(),
                    values: s.p50.clone(),
                })
                .collect(),
            reference: None,
        }
        .to_svg(),
    )
}

fn fmt_year(y: f64) -> String {
    if (y - y.round()).abs() < 1e-9 {
        format!("{}", y.round() as i64)
    } else {
        format!("{y:.1}")
    }
}

/// Every band quantity of the result with its fan series (for tables): `(quantity, series)`.
pub fn band_table(result: &Value) -> Vec<(&'static str, Vec<FanSeries>)> {
    let Some(bands) = result.get("bands") else {
        return Vec::new();
    };
    BANDS
        .iter()
        .filter_map(|spec| {
            let v = spec.keys.iter().find_map(|k| bands.get(*k))?;
            let s = fan_series(bands, v, spec.name, 1.0);
            (!s.is_empty()).then_some((spec.name, s))
        })
        .collect()
}

/// The optimal strategy's detail, if the run has one.
fn optimal(result: &Value) -> Option<OptimalDetail> {
    strategy_results(result)
        .into_iter()
        .find_map(|r| r.optimal().cloned())
}

/// Lines over decision months (x in years): one per named series; nulls are gaps (a boundary that
/// does not exist that month).
fn month_lines<'a>(
    months: &[u32],
    series: impl IntoIterator<Item = (&'a str, Vec<Option<f64>>)>,
) -> Vec<LineSeries> {
    let x: Vec<f64> = months.iter().map(|&m| f64::from(m) / 12.0).collect();
    series
        .into_iter()
        .filter(|(_, y)| y.len() == x.len() && y.iter().any(Option::is_some))
        .map(|(name, y)| LineSeries {
            name: name.replace('_', " "),
            points: x
                .iter()
                .copied()
                .zip(y.into_iter().map(|v| v.unwrap_or(f64::NAN)))
                .collect(),
            step: false,
        })
        .collect()
}

/// Share of the site converted over time under the optimal policy.
fn schedule_chart(result: &Value) -> Option<String> {
    let policy = optimal(result)?.policy;
    let all = |v: &[f64]| v.iter().copied().map(Some).collect::<Vec<_>>();
    let series = month_lines(
        &policy.months,
        std::iter::once((
            "expected_share_converted",
            all(&policy.expected_share_converted),
        ))
        .chain(policy.slices.iter().map(|(k, v)| (k.as_str(), all(v)))),
    );
    if series.is_empty() {
        return None;
    }
    Some(
        StepChart {
            title: "Optimal conversion schedule: share of the site converted".into(),
            x_label: "years from today".into(),
            y_label: "share converted".into(),
            series,
        }
        .to_svg(),
    )
}

/// An exercise boundary of the optimal policy: `boundary` (hashprice) or `boundary_lease`.
fn boundary_chart(result: &Value, key: &str) -> Option<String> {
    let d = optimal(result)?;
    let b: &Boundary = if key == "boundary" {
        &d.boundary
    } else {
        &d.boundary_lease
    };
    let series = month_lines(
        &b.months,
        b.slices.iter().map(|(k, v)| (k.as_str(), v.clone())),
    );
    if series.is_empty() {
        return None;
    }
    let variable = b.variable.as_str();
    let (title, units) = if key == "boundary" {
        (
            "Exercise boundary: convert when hashprice falls below",
            Units::usd(),
        )
    } else {
        (
            "Exercise boundary: convert when the lease rate rises above",
            Units::usd(),
        )
    };
    Some(
        LineChart {
            title: title.into(),
            x_label: "years from today (decision month / 12)".into(),
            y_label: variable.to_string(),
            x_kind: XKind::Years,
            units,
            series,
            ..LineChart::default()
        }
        .to_svg(),
    )
}

/// The tornado chart of `result.sensitivity` (see [`crate::sensitivity`]): the gap between the
/// decision's strategy and mining (ΔNPV, both on the same paths), with the line where the decision
/// flips (ΔNPV = 0) and the inputs whose ±change crosses it marked. A run of `mine` alone has no
/// gap to show: its tornado is mining's NPV.
pub fn tornado_chart(result: &Value) -> Option<String> {
    let s = result.get("sensitivity")?;
    let target = s.get("strategy").and_then(Value::as_str)?.to_string();
    let gap = target != "mine" && s.get("base")?.get("mine").is_some();
    let value = |m: &Value| -> Option<f64> {
        let v = m.get(&target)?.as_f64()?;
        Some(if gap { v - m.get("mine")?.as_f64()? } else { v })
    };
    let base = value(s.get("base")?)?;
    let rows: Vec<TornadoRow> = s
        .get("inputs")?
        .as_array()?
        .iter()
        .filter_map(|i| {
            Some(TornadoRow {
                label: i.get("label").and_then(Value::as_str)?.to_string(),
                low_label: i.get("low_label").and_then(Value::as_str)?.to_string(),
                high_label: i.get("high_label").and_then(Value::as_str)?.to_string(),
                low: value(i.get("low")?)?,
                high: value(i.get("high")?)?,
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let delta = s.get("delta").and_then(Value::as_f64).unwrap_or(0.2);
    let paths = s.get("paths").and_then(Value::as_u64).unwrap_or(0);
    let (title, value_label, flip_at) = if gap {
        (
            format!(
                "ΔNPV of {target} vs mining: inputs moved ±{}%",
                fmt_pct(delta)
            ),
            format!("mean NPV of {target} minus mining's, USD, {paths} paths a run"),
            Some((0.0, "= mining".to_string())),
        )
    } else {
        (
            format!(
                "Sensitivity of mean NPV ({target}) to inputs ±{}% ({paths} paths each)",
                fmt_pct(delta)
            ),
            format!("mean NPV of {target}, USD"),
            None,
        )
    };
    Some(
        Tornado {
            title,
            value_label,
            units: Units::usd(),
            base,
            rows,
            flip_at,
        }
        .to_svg(),
    )
}

/// Titles of the charts.
pub fn chart_title(name: &str) -> &'static str {
    match name {
        "npv" => "NPV distribution by strategy",
        "irr" => "IRR distribution (project and equity)",
        "dscr" => "DSCR distribution (with the covenant)",
        "price" => "BTC price",
        "hashprice" => "Hashprice",
        "difficulty" => "Difficulty",
        "hashrate" => "Network hashrate",
        "site_cash" => "Site net cash",
        "cash_bars" => "Annual cash by strategy",
        "schedule" => "Optimal conversion schedule",
        "boundary" => "Exercise boundary (hashprice)",
        "boundary_lease" => "Exercise boundary (lease rate)",
        "tornado" => "Sensitivity (tornado)",
        _ => "",
    }
}

/// One chart of a run by name, `None` when the run has no data for it.
pub fn run_chart(result: &Value, name: &str) -> Option<String> {
    match name {
        "npv" => npv_chart(result),
        "irr" => crate::equity::irr_chart(result),
        "dscr" => crate::equity::dscr_chart(result),
        "schedule" => schedule_chart(result),
        "boundary" => boundary_chart(result, "boundary"),
        "boundary_lease" => boundary_chart(result, "boundary_lease"),
        "tornado" => tornado_chart(result),
        "cash_bars" => cash_bars_chart(result),
        _ => BANDS
            .iter()
            .find(|b| b.name == name)
            .and_then(|b| band_chart(result, b)),
    }
}

/// Every chart the run has data for, in display order.
pub fn run_charts(result: &Value) -> Vec<Chart> {
    CHART_NAMES
        .iter()
        .filter_map(|n| {
            run_chart(result, n).map(|svg| Chart {
                name: n.to_string(),
                title: chart_title(n).to_string(),
                svg,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        serde_json::from_str(include_str!("../../server/tests/fixtures/sim_output.json")).unwrap()
    }

    #[test]
    fn rows_and_labels() {
        let rows = strategy_rows(&sample());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label, "mine");
        assert_eq!(rows[1].label, "convert 50%");
        assert!(rows[1].mean.is_finite());
    }

    #[test]
    fn charts_exist_for_the_sample_and_carry_its_numbers() {
        let s = sample();
        let names: Vec<String> = run_charts(&s).into_iter().map(|c| c.name).collect();
        for n in [
            "npv",
            "price",
            "hashprice",
            "difficulty",
            "hashrate",
            "site_cash",
        ] {
            assert!(names.iter().any(|x| x == n), "missing {n} in {names:?}");
        }
        // No optimal entry in the sample: those panels are hidden.
        assert!(!names.iter().any(|x| x == "schedule" || x == "boundary"));
        let npv = run_chart(&s, "npv").unwrap();
        let mean = s["results"][0]["npv"]["mean"].as_f64().unwrap();
        assert!(npv.contains(&format!("data-mean=\"{mean}\"")));
        // The price fan's first hover column shows the year-0 median.
        let price = run_chart(&s, "price").unwrap();
        let p0 = s["bands"]["price_usd"]["p50"][0].as_f64().unwrap();
        assert!(
            price.contains(&format!(
                "year 1&#10;price: median {}",
                Units::usd().fmt(p0)
            )),
            "{price}"
        );
    }

    #[test]
    fn site_cash_keeps_mine_and_the_best_of_many() {
        let mut s = sample();
        let cash = s["bands"]["site_cash_usd"][1].clone();
        let mut results = vec![s["results"][0].clone()];
        let mut bands = vec![s["bands"]["site_cash_usd"][0].clone()];
        for (i, share) in [0.25, 0.5, 0.75, 1.0].iter().enumerate() {
            let mut r = s["results"][1].clone();
            r["strategy"] = "sweep".into();
            r["share"] = (*share).into();
            r["npv"]["mean"] = (1e6 * [3.0, 9.0, 4.0, 1.0][i]).into();
            results.push(r);
            let mut b = cash.clone();
            b["strategy"] = "sweep".into();
            b["share"] = (*share).into();
            bands.push(b);
        }
        s["results"] = Value::Array(results);
        s["bands"]["site_cash_usd"] = Value::Array(bands);
        let svg = run_chart(&s, "site_cash").unwrap();
        assert_eq!(svg.matches("class=\"hp-band\"").count(), 2);
        assert!(svg.contains("data-series=\"mine\"") && svg.contains("data-series=\"sweep 50%\""));
    }

    #[test]
    fn npv_histogram_is_drawn_when_the_engine_gives_bins() {
        let mut s = sample();
        for r in s["results"].as_array_mut().unwrap() {
            r["npv_histogram"] = serde_json::json!({"edges": [-1e7, 0.0, 1e7, 2e7], "counts": [1, 6, 3], "below": 0, "above": 0});
        }
        let svg = run_chart(&s, "npv").unwrap();
        assert!(svg.contains(r#"data-mode="histogram""#));
        assert!(svg.contains("60.0% of paths"));
        // Malformed bins fall back to the quantile view.
        s["results"][0]["npv_histogram"] =
            serde_json::json!({"edges": [0.0], "counts": [1, 2], "below": 0, "above": 0});
        assert!(run_chart(&s, "npv")
            .unwrap()
            .contains(r#"data-mode="quantiles""#));
    }

    #[test]
    fn optimal_panels_render_when_present() {
        // A real (small) `optimal` run, read back through the typed results.
        let mut sc = hashpivot_model::Scenario::default();
        sc.run.horizon_years = 3.0;
        sc.strategy.kind = hashpivot_model::StrategyKind::Optimal;
        sc.strategy.tranches = 2;
        sc.strategy.decide_months = 24;
        let cfg = hashpivot_model::RunConfig {
            paths: Some(256),
            ..Default::default()
        };
        let out = hashpivot_model::simulate(&sc, &cfg, &|_| {}).unwrap();
        let s = serde_json::to_value(&out).unwrap();
        let d = optimal(&s).expect("the optimal detail reads back typed");
        assert_eq!(d, *out.results[1].optimal().unwrap());
        let sched = run_chart(&s, "schedule").unwrap();
        assert!(
            sched.contains("expected share converted") && sched.contains("slice 1"),
            "{sched}"
        );
        // Month 12 is year 1; the days axis is not drawn as a line.
        assert!(sched.contains("year 1&#10;"), "{sched}");
        assert!(!sched.contains("data-series=\"days\""));
        let b = run_chart(&s, "boundary").or_else(|| run_chart(&s, "boundary_lease"));
        if d.boundary.slices.values().flatten().any(Option::is_some) {
            assert!(b.unwrap().contains("data-series=\"slice 1\""));
        }
        // A document without an optimal result has no such panels.
        assert!(run_chart(&sample(), "boundary_lease").is_none());
    }

    #[test]
    fn the_tornado_shows_the_gap_to_mining_and_marks_where_the_decision_flips() {
        let mut s = sample();
        s["sensitivity"] = serde_json::json!({
            "strategy": "convert 50%", "delta": 0.2, "paths": 100,
            "base": {"mine": 10.0, "convert 50%": 14.0},
            "inputs": [
                {"key": "a", "label": "lease", "low_label": "lease −20%", "high_label": "lease +20%",
                 "low": {"mine": 10.0, "convert 50%": 7.0}, "high": {"mine": 10.0, "convert 50%": 21.0}},
                {"key": "b", "label": "vol", "low_label": "vol −20%", "high_label": "vol +20%",
                 "low": {"mine": 11.0, "convert 50%": 14.5}, "high": {"mine": 9.0, "convert 50%": 13.5}}
            ]
        });
        let svg = run_chart(&s, "tornado").unwrap();
        // Gaps: base 4; lease −3 (flips) and +11; vol 3.5 and 4.5 (no flip).
        assert!(
            svg.contains(r#"data-input="lease" data-low="-3" data-high="11" data-flips="low""#),
            "{svg}"
        );
        assert!(svg.contains(r#"data-input="vol" data-low="3.5" data-high="4.5" data-flips="""#));
        assert_eq!(svg.matches("class=\"hp-flip\"").count(), 1);
        assert!(svg.contains("the decision flips at lease −20%"));
        assert!(svg.contains("(base $4)") && svg.contains("minus mining"));
        // A run of mining alone shows mining's NPV, with nothing to flip.
        s["sensitivity"]["strategy"] = "mine".into();
        let m = run_chart(&s, "tornado").unwrap();
        assert!(m.contains("(base $10)") && !m.contains("hp-flip"), "{m}");
    }

    #[test]
    fn annual_cash_bars_are_each_strategys_median_per_year() {
        let s = sample();
        let svg = run_chart(&s, "cash_bars").unwrap();
        let bands = s["bands"]["site_cash_usd"].as_array().unwrap();
        assert!(bands.len() >= 2);
        let mut bars = 0;
        for b in bands {
            let name = strategy_label(b);
            assert!(svg.contains(&format!(">{name}<")), "legend names {name}");
            let group = svg
                .split(&format!(r#"data-series="{name}""#))
                .nth(1)
                .unwrap()
                .split("</g>")
                .next()
                .unwrap();
            for v in b["p50"].as_array().unwrap() {
                let v = v.as_f64().unwrap();
                assert!(
                    group.contains(&format!(r#"data-value="{v}""#)),
                    "{name} {v}"
                );
                bars += 1;
            }
        }
        assert_eq!(svg.matches("class=\"hp-bar\"").count(), bars);
    }
}
