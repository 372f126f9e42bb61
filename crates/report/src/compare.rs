//! The chart of `hashpivot compare` (mine vs powered-shell lease vs GPU cloud): the three NPV
//! distributions as rows on one value axis, on bins the model shares between them
//! ([`hashpivot_model::analysis::compare`]), each with its mean, p5–p95 range and how often it
//! falls below mining on the same path.

use hashpivot_charts::{DistSeries, DistributionChart, Units};
use hashpivot_model::analysis::compare::Comparison;
use hashpivot_model::result::Currency;

/// What each option means, for the chart's row labels.
fn label(option: &str) -> String {
    match option {
        "mine" => "mine (keep the fleet)".into(),
        "lease" => "lease (powered shell)".into(),
        "cloud" => "cloud (own the GPUs)".into(),
        other => other.into(),
    }
}

/// The comparison as an SVG ridgeline chart of NPV (USD or BTC, the run's currency).
pub fn chart(c: &Comparison) -> String {
    let (units, unit_name) = match c.currency {
        Currency::Usd => (Units::usd(), "USD"),
        Currency::Btc => (Units::suffix("BTC"), "BTC"),
    };
    let series = c
        .rows
        .iter()
        .map(|row| {
            let r = &row.result;
            let h = &row.histogram;
            let bins = h
                .counts
                .iter()
                .enumerate()
                .map(|(i, &n)| (h.edges[i], h.edges[i + 1], n as f64))
                .collect();
            let mut notes = vec![
                format!("std. error of mean {}", units.fmt(r.npv.stderr)),
                format!("P(NPV < 0) {}", crate::pct(r.prob_negative)),
            ];
            if row.option != "mine" {
                notes.push(format!(
                    "below mining on {} of paths",
                    crate::pct(r.prob_below_mine)
                ));
            }
            DistSeries {
                name: label(&row.option),
                mean: r.npv.mean,
                p5: r.npv.p5,
                p50: r.npv.p50,
                p95: r.npv.p95,
                bins,
                notes,
            }
        })
        .collect();
    DistributionChart {
        title: format!(
            "Mine, lease or GPU cloud: NPV of the whole site ({} paths, seed {})",
            c.paths, c.seed
        ),
        value_label: format!("NPV ({unit_name}, present value at day 0)"),
        units,
        series,
        reference: None,
    }
    .to_svg()
}
