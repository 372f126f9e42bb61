//! The history page's chart: one shipped series ([`hashpivot_data::history`]) on a calendar axis,
//! log scale for price, difficulty and hashprice, the halvings marked.

use hashpivot_charts::{fractional_year, LineChart, LineSeries, Marker, Units, XKind};
use hashpivot_data::history::History;

/// The chart of a series: log scale for price, difficulty and hashprice; halvings marked.
pub fn chart(h: &History) -> String {
    let title = match h.series {
        "price" => "BTC price (daily close)",
        "difficulty" => "Difficulty (per 2016-block epoch)",
        "hashprice" => "Hashprice (USD per PH/s per day)",
        _ => "Fees paid to miners (BTC per day)",
    };
    let units = match h.series {
        "price" | "hashprice" => Units::usd(),
        "fees" => Units::suffix("BTC"),
        _ => Units::plain(),
    };
    let points: Vec<(f64, f64)> = h
        .points
        .iter()
        .filter_map(|(d, v)| fractional_year(&d.to_string()).map(|x| (x, *v)))
        .collect();
    LineChart {
        title: title.into(),
        x_label: "date".into(),
        y_label: h.unit.into(),
        x_kind: XKind::Calendar,
        units,
        log_y: h.series != "fees",
        y_range: None,
        series: vec![LineSeries {
            name: h.series.into(),
            points,
            step: h.series == "difficulty",
        }],
        markers: h
            .halvings
            .iter()
            .filter_map(|hv| {
                fractional_year(&hv.date.to_string()).map(|x| Marker {
                    x,
                    label: format!("halving {}", hv.height),
                })
            })
            .collect(),
        hover_columns: 200,
    }
    .to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_marks_halvings() {
        let h = hashpivot_data::history::series("price", None, None).unwrap();
        let svg = chart(&h);
        assert_eq!(svg.matches("class=\"hp-marker\"").count(), 4);
    }
}
