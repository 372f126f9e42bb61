//! hashpivot-charts: SVG charts shared by the web dashboard and the standalone HTML report.
//!
//! Every chart is a plain, self-contained `<svg>` string (no external fonts, images or scripts), so
//! the same bytes can be served by the API and pasted inline into a report. Interactivity is carried
//! by data attributes: each hoverable element has `data-tip="..."` (the values under the pointer);
//! [`HOVER_JS`] (a few lines of vanilla JS) and [`CHART_CSS`] turn them into a tooltip. Without the
//! script the charts still read as static figures, and every element also carries a `<title>` where
//! that doesn't duplicate the tooltip, so screen readers see the numbers too.
//!
//! The charts: [`FanChart`] (p5–p95 bands with the median over time), [`LineChart`] (history series
//! with event markers such as halvings, optionally a log scale), [`DistributionChart`] (NPV
//! distributions as histograms when the engine gives bins, else as quantile boxes), [`Tornado`]
//! (sensitivity of NPV to inputs) and [`StepChart`] (a conversion schedule over time).

mod axis;
mod svg;

pub use axis::{fmt_num, nice_ticks, Scale};

mod charts;
pub use charts::*;

/// CSS for the tooltip and the chart text; include it once in the page that shows charts.
pub const CHART_CSS: &str = include_str!("chart.css");

/// The hover script: shows the `data-tip` text of the element under the pointer in a floating box
/// and highlights it. Include it once in the page (it handles charts added later too).
pub const HOVER_JS: &str = include_str!("hover.js");

/// The colours of the series, in order (colour-blind safe "Okabe–Ito" palette).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// The colour of series `i` (cycles through [`PALETTE`]).
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}
