//! The hashprice forward curve on the history page
//! ([`hashpivot_model::analysis::forwards::forward_fan`]) as a chart.

use hashpivot_charts::{fractional_year, LineChart, LineSeries, Units, XKind};
use hashpivot_data::forwards::Month;
use hashpivot_model::analysis::forwards::{ForwardCurve, ForwardMonth};

/// The chart: the forward beside the model's mean and p5–p95, at the middle of each month.
pub fn chart(c: &ForwardCurve) -> String {
    let mid = |m: Month| fractional_year(&m.first_day().add_days(14).to_string());
    let line = |name: String, f: &dyn Fn(&ForwardMonth) -> Option<f64>| LineSeries {
        name,
        points: c
            .months
            .iter()
            .filter_map(|m| Some((mid(m.delivery)?, f(m)?)))
            .collect(),
        step: false,
    };
    let title = match c.quote_date {
        Some(d) => format!(
            "Hashprice forward curve of {d} beside the model (from the market state of {})",
            c.market_state_date
        ),
        None => "Hashprice forward curve: none stored (hashpivot data import forwards FILE)".into(),
    };
    LineChart {
        title,
        x_label: "delivery month".into(),
        y_label: c.unit.into(),
        x_kind: XKind::Calendar,
        units: Units::usd(),
        log_y: false,
        y_range: None,
        series: vec![
            line("forward".into(), &|m| Some(m.forward)),
            line("model mean".into(), &|m| m.model_mean),
            line("model p5".into(), &|m| m.model_p5),
            line("model p95".into(), &|m| m.model_p95),
        ],
        markers: Vec::new(),
        hover_columns: 200,
    }
    .to_svg()
}
