//! The chart types. Each has public fields (build it as a struct literal) and a `to_svg` method.

use std::fmt::Write as _;

use crate::axis::{fmt_num, Scale};
use crate::color;
use crate::svg::{c, esc, path_d, Doc};

/// How values of an axis are printed in tick labels and tooltips: `prefix`, the compact number,
/// `suffix` (for example `$` + `1.2M`, or `0.35` + ` $/PH/day`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Units {
    /// Text before the number (`"$"`).
    pub prefix: String,
    /// Text after the number (`" $/PH/day"`, `"%"`).
    pub suffix: String,
    /// Multiply values by this before printing (1 when 0; 100 for shares shown in %).
    pub factor: f64,
}

impl Units {
    /// No prefix, no suffix.
    pub fn plain() -> Units {
        Units::default()
    }
    /// US dollars: `$1.2M`.
    pub fn usd() -> Units {
        Units {
            prefix: "$".into(),
            ..Units::default()
        }
    }
    /// A suffix unit: `12.3 EH/s`.
    pub fn suffix(s: &str) -> Units {
        Units {
            suffix: format!(" {s}"),
            ..Units::default()
        }
    }
    /// Shares in [0, 1] printed as percent.
    pub fn percent() -> Units {
        Units {
            suffix: "%".into(),
            factor: 100.0,
            ..Units::default()
        }
    }
    /// Formats a tick of a log axis, a power of ten, so that every decade reads the same way:
    /// `$0.0001`, `$0.01`, `$1`, `$100`, `$10k`, `$1M`, `100B`, `1T` (never `$0` for a small
    /// decade, never `1000` beside `10k`).
    pub fn fmt_decade(&self, v: f64) -> String {
        let f = if self.factor == 0.0 { 1.0 } else { self.factor };
        let v = v * f;
        if !(v.is_finite() && v > 0.0) {
            return self.fmt(v / f);
        }
        let e = v.log10().round() as i32;
        let body = match e {
            i32::MIN..=-1 => format!("{:.*}", (-e) as usize, 10f64.powi(e)),
            0..=2 => format!("{}", 10i64.pow(e as u32)),
            3..=5 => format!("{}k", 10i64.pow((e - 3) as u32)),
            6..=8 => format!("{}M", 10i64.pow((e - 6) as u32)),
            9..=11 => format!("{}B", 10i64.pow((e - 9) as u32)),
            12..=14 => format!("{}T", 10i64.pow((e - 12) as u32)),
            _ => format!("1e{e}"),
        };
        format!("{}{body}{}", self.prefix, self.suffix)
    }
    /// Formats one value.
    pub fn fmt(&self, v: f64) -> String {
        let f = if self.factor == 0.0 { 1.0 } else { self.factor };
        let mut v = v * f;
        // Money below half a cent is zero (Monte Carlo noise such as a 3e-7 standard error).
        if self.prefix == "$" && v.abs() < 0.005 {
            v = 0.0;
        }
        if v < 0.0 && !self.prefix.is_empty() {
            format!("-{}{}{}", self.prefix, fmt_num(-v), self.suffix)
        } else {
            format!("{}{}{}", self.prefix, fmt_num(v), self.suffix)
        }
    }
}

/// How the x axis is labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XKind {
    /// Years from the start of the simulation ("year 3").
    #[default]
    Years,
    /// Calendar dates given as fractional years (2017.5 is mid-2017); ticks show the year.
    Calendar,
    /// Plain numbers (a share of hours in %, a price): ticks and hover show the number.
    Plain,
}

impl XKind {
    fn tick(&self, x: f64) -> String {
        match self {
            XKind::Years => fmt_num(x),
            XKind::Calendar => format!("{}", x.floor() as i64),
            XKind::Plain => fmt_num(x),
        }
    }
    fn tip(&self, x: f64) -> String {
        match self {
            XKind::Years => {
                if (x - x.round()).abs() < 1e-9 {
                    format!("year {}", x.round() as i64)
                } else {
                    format!("year {x:.2}")
                }
            }
            XKind::Calendar => calendar_date(x),
            XKind::Plain => fmt_num(x),
        }
    }
}

/// A fractional year as `YYYY-MM-DD` (the day `floor(fraction × days in that year)` of it).
pub fn calendar_date(x: f64) -> String {
    let year = (x.floor() as i64).clamp(-9999, 9999) as i16;
    let first = jiff::civil::Date::new(year, 1, 1).unwrap_or(jiff::civil::Date::MIN);
    let len = i64::from(first.days_in_year());
    let doy = (((x - x.floor()) * len as f64 + 1e-6).floor() as i64).clamp(0, len - 1);
    let day = first
        .checked_add(jiff::Span::new().days(doy))
        .unwrap_or(first);
    format!("{year:04}-{:02}-{:02}", day.month(), day.day())
}

/// Converts a `YYYY-MM-DD` date (anything after the tenth character is ignored) to a fractional
/// year (for [`XKind::Calendar`]); `None` if it is not a date.
pub fn fractional_year(date: &str) -> Option<f64> {
    let d: jiff::civil::Date = date.get(..10)?.parse().ok()?;
    Some(f64::from(d.year()) + f64::from(d.day_of_year() - 1) / f64::from(d.days_in_year()))
}

/// The plot area inside the margins, with its scales.
struct Frame {
    left: f64,
    top: f64,
    w: f64,
    h: f64,
    x: Scale,
    y: Scale,
}

impl Frame {
    fn px(&self, v: f64) -> f64 {
        self.left + self.x.frac(v) * self.w
    }
    fn py(&self, v: f64) -> f64 {
        self.top + self.h - self.y.frac(v) * self.h
    }

    /// Grid lines, tick labels and axis titles.
    fn axes(
        &self,
        doc: &mut Doc,
        x_tick: &dyn Fn(f64) -> String,
        y_tick: &dyn Fn(f64) -> String,
        x_label: &str,
        y_label: &str,
    ) {
        doc.push(r##"<g class="hp-axes" fill="#555" stroke-width="1">"##);
        for t in self.y.ticks() {
            let y = self.py(t);
            doc.line(self.left, y, self.left + self.w, y, r##"stroke="#e3e3e3""##);
            doc.text(self.left - 6.0, y + 4.0, "end", "", &y_tick(t));
        }
        let xt = self.x.ticks();
        for t in &xt {
            let x = self.px(*t);
            doc.line(x, self.top, x, self.top + self.h, r##"stroke="#f0f0f0""##);
            doc.text(x, self.top + self.h + 16.0, "middle", "", &x_tick(*t));
        }
        doc.line(
            self.left,
            self.top + self.h,
            self.left + self.w,
            self.top + self.h,
            r##"stroke="#888""##,
        );
        doc.line(
            self.left,
            self.top,
            self.left,
            self.top + self.h,
            r##"stroke="#888""##,
        );
        if !x_label.is_empty() {
            doc.text(
                self.left + self.w / 2.0,
                self.top + self.h + 34.0,
                "middle",
                r##"fill="#333""##,
                x_label,
            );
        }
        if !y_label.is_empty() {
            let _ = write!(
                doc.out,
                r##"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle" fill="#333">{}</text>"##,
                c(self.top + self.h / 2.0),
                esc(y_label)
            );
        }
        doc.push("</g>");
    }

    /// Invisible full-height columns centred on `xs` (sorted), each carrying its tooltip.
    fn hover_columns(&self, doc: &mut Doc, xs: &[f64], tips: &[String]) {
        doc.push(r#"<g class="hp-hover">"#);
        for (i, (x, tip)) in xs.iter().zip(tips).enumerate() {
            let px = self.px(*x);
            let x0 = if i == 0 {
                self.left
            } else {
                (self.px(xs[i - 1]) + px) / 2.0
            };
            let x1 = if i + 1 == xs.len() {
                self.left + self.w
            } else {
                (self.px(xs[i + 1]) + px) / 2.0
            };
            let _ = write!(
                doc.out,
                r#"<rect class="hp-hit" x="{}" y="{}" width="{}" height="{}" data-x="{}" data-tip="{}"/>"#,
                c(x0),
                c(self.top),
                c((x1 - x0).max(0.5)),
                c(self.h),
                x,
                esc(tip)
            );
        }
        doc.push("</g>");
    }
}

/// A legend in one row above the plot area.
fn legend(doc: &mut Doc, x0: f64, y: f64, items: &[(String, &str)]) {
    let mut x = x0;
    doc.push(r#"<g class="hp-legend">"#);
    for (name, col) in items {
        let _ = write!(
            doc.out,
            r#"<rect x="{}" y="{}" width="14" height="10" rx="2" fill="{col}"/>"#,
            c(x),
            c(y - 9.0)
        );
        doc.text(x + 18.0, y, "start", r##"fill="#333""##, name);
        x += 30.0 + 7.0 * name.chars().count() as f64;
    }
    doc.push("</g>");
}

const W: f64 = 760.0;
const H: f64 = 340.0;
/// Top of the plot area: the title on the first line, the legend on the second.
const TOP: f64 = 54.0;
/// Left of the plot area: room for tick labels such as `$0.0001` and the axis title.
const LEFT: f64 = 86.0;
/// Width of one character of axis text (13 px sans-serif digits, on average), for fitting labels.
const CHAR_W: f64 = 7.6;
/// Most characters of a slanted bar-group label (longer names end in … with a tooltip).
const GROUP_CHARS: usize = 16;
/// Angle of slanted bar-group labels, degrees, and its sine.
const SLANT_DEG: u32 = 40;
const SLANT_SIN: f64 = 0.643;

// ---------------------------------------------------------------------------------------------
// Fan chart

/// One quantity's p5 / p50 / p95 over time (for a fan chart).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FanSeries {
    /// Legend name ("mine", "convert 50%", or the quantity).
    pub name: String,
    /// The x values (years), ascending.
    pub x: Vec<f64>,
    /// 5th percentile at each x.
    pub p5: Vec<f64>,
    /// Median at each x.
    pub p50: Vec<f64>,
    /// 95th percentile at each x.
    pub p95: Vec<f64>,
}

/// A fan chart: for each series a shaded p5–p95 band and the median line; hover shows the three
/// values of every series at the nearest x.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FanChart {
    /// Title above the chart.
    pub title: String,
    /// X axis title.
    pub x_label: String,
    /// Y axis title.
    pub y_label: String,
    /// How y values print.
    pub units: Units,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// The series (each with its own band).
    pub series: Vec<FanSeries>,
}

impl FanChart {
    /// Renders the chart.
    pub fn to_svg(&self) -> String {
        let mut doc = Doc::new(W, H, "fan", &self.title);
        let all_y = self
            .series
            .iter()
            .flat_map(|s| s.p5.iter().chain(&s.p50).chain(&s.p95).copied());
        let y = if self.log_y {
            Scale::log_for(all_y)
        } else {
            Scale::linear_for(all_y, false)
        };
        let xs_all = self.series.iter().flat_map(|s| s.x.iter().copied());
        let (xmin, xmax) = minmax(xs_all);
        let x = Scale::Linear {
            min: xmin,
            max: if xmax > xmin { xmax } else { xmin + 1.0 },
        };
        let f = Frame {
            left: LEFT,
            top: TOP,
            w: W - LEFT - 20.0,
            h: H - TOP - 48.0,
            x,
            y,
        };
        let units = &self.units;
        let log = matches!(f.y, Scale::Log { .. });
        f.axes(
            &mut doc,
            &|v| XKind::Years.tick(v),
            &|v| {
                if log {
                    units.fmt_decade(v)
                } else {
                    units.fmt(v)
                }
            },
            &self.x_label,
            &self.y_label,
        );
        for (i, s) in self.series.iter().enumerate() {
            let col = color(i);
            let n = s.x.len().min(s.p5.len()).min(s.p50.len()).min(s.p95.len());
            let upper: Vec<(f64, f64)> = (0..n).map(|k| (f.px(s.x[k]), f.py(s.p95[k]))).collect();
            let lower: Vec<(f64, f64)> = (0..n)
                .rev()
                .map(|k| (f.px(s.x[k]), f.py(s.p5[k])))
                .collect();
            let mut d = path_d(upper.iter().copied().chain(lower.iter().copied()));
            if !d.is_empty() {
                d.push('Z');
            }
            let _ = write!(
                doc.out,
                r#"<path class="hp-band" data-series="{}" d="{d}" fill="{col}" fill-opacity="0.16" stroke="{col}" stroke-opacity="0.35" stroke-width="0.8"/>"#,
                esc(&s.name)
            );
            let mid = path_d((0..n).map(|k| (f.px(s.x[k]), f.py(s.p50[k]))));
            let _ = write!(
                doc.out,
                r#"<path class="hp-median" d="{mid}" fill="none" stroke="{col}" stroke-width="2"/>"#
            );
        }
        // Hover columns on the union of x values.
        let mut xs: Vec<f64> = self.series.iter().flat_map(|s| s.x.clone()).collect();
        xs.sort_by(|a, b| a.total_cmp(b));
        xs.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        let tips: Vec<String> = xs
            .iter()
            .map(|xv| {
                let mut t = XKind::Years.tip(*xv);
                for s in &self.series {
                    if let Some(k) = s.x.iter().position(|v| (v - xv).abs() < 1e-9) {
                        let _ = write!(
                            t,
                            "\n{}: median {}  (p5 {} – p95 {})",
                            s.name,
                            units.fmt(s.p50.get(k).copied().unwrap_or(f64::NAN)),
                            units.fmt(s.p5.get(k).copied().unwrap_or(f64::NAN)),
                            units.fmt(s.p95.get(k).copied().unwrap_or(f64::NAN)),
                        );
                    }
                }
                t
            })
            .collect();
        f.hover_columns(&mut doc, &xs, &tips);
        let mut items: Vec<(String, &str)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("{} (median, p5–p95)", s.name), color(i)))
            .collect();
        if self.series.len() == 1 {
            // One series still says what it is (`mine` on an optimal run's site cash).
            items[0].0 = format!("{}: median, shaded p5–p95", self.series[0].name);
        }
        legend(&mut doc, LEFT, 40.0, &items);
        doc.finish()
    }
}

fn minmax(v: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for x in v {
        if x.is_finite() {
            lo = lo.min(x);
            hi = hi.max(x);
        }
    }
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Line chart

/// One line of a [`LineChart`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineSeries {
    /// Legend name.
    pub name: String,
    /// The points (x ascending).
    pub points: Vec<(f64, f64)>,
    /// Draw as steps (the value holds until the next point), for schedules.
    pub step: bool,
}

/// A vertical event marker (a halving, the start of a lease).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marker {
    /// Where on the x axis.
    pub x: f64,
    /// Short label written at the top.
    pub label: String,
}

/// A line chart with optional log scale and event markers; hover shows the values of every line
/// at the nearest x (at most `hover_columns` columns, so long histories stay light).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineChart {
    /// Title above the chart.
    pub title: String,
    /// X axis title.
    pub x_label: String,
    /// Y axis title.
    pub y_label: String,
    /// X axis: simulation years or calendar years.
    pub x_kind: XKind,
    /// How y values print.
    pub units: Units,
    /// Logarithmic y axis (positive values only; others are gaps).
    pub log_y: bool,
    /// Fixed y range (for shares: `Some((0.0, 1.0))`).
    pub y_range: Option<(f64, f64)>,
    /// The lines.
    pub series: Vec<LineSeries>,
    /// Vertical markers.
    pub markers: Vec<Marker>,
    /// Maximum number of hover columns (0 means 160).
    pub hover_columns: usize,
}

impl LineChart {
    /// Renders the chart.
    pub fn to_svg(&self) -> String {
        let mut doc = Doc::new(W, H, "line", &self.title);
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1));
        let y = match self.y_range {
            Some((lo, hi)) if hi > lo => Scale::Linear { min: lo, max: hi },
            _ if self.log_y => Scale::log_for(ys),
            _ => Scale::linear_for(ys, false),
        };
        let (xmin, xmax) = minmax(
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .chain(self.markers.iter().map(|m| m.x)),
        );
        let x = Scale::Linear {
            min: xmin,
            max: if xmax > xmin { xmax } else { xmin + 1.0 },
        };
        let f = Frame {
            left: LEFT,
            top: TOP,
            w: W - LEFT - 20.0,
            h: H - TOP - 48.0,
            x,
            y,
        };
        let units = &self.units;
        let kind = self.x_kind;
        let log = matches!(f.y, Scale::Log { .. });
        f.axes(
            &mut doc,
            &|v| kind.tick(v),
            &|v| {
                if log {
                    units.fmt_decade(v)
                } else {
                    units.fmt(v)
                }
            },
            &self.x_label,
            &self.y_label,
        );
        self.draw_markers(&mut doc, &f);
        for (i, s) in self.series.iter().enumerate() {
            let col = color(i);
            let pts: Vec<(f64, f64)> = if s.step {
                let mut v = Vec::with_capacity(s.points.len() * 2);
                for (k, p) in s.points.iter().enumerate() {
                    if k > 0 {
                        v.push((p.0, s.points[k - 1].1));
                    }
                    v.push(*p);
                }
                v
            } else {
                s.points.clone()
            };
            let d = path_d(pts.iter().map(|(a, b)| {
                let yy = if self.log_y && *b <= 0.0 {
                    f64::NAN
                } else {
                    f.py(*b)
                };
                (f.px(*a), yy)
            }));
            let _ = write!(
                doc.out,
                r#"<path class="hp-line" data-series="{}" d="{d}" fill="none" stroke="{col}" stroke-width="1.8"/>"#,
                esc(&s.name)
            );
        }
        let (xs, tips) = self.hover_tips();
        f.hover_columns(&mut doc, &xs, &tips);
        let items: Vec<(String, &str)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), color(i)))
            .collect();
        if items.len() > 1 {
            legend(&mut doc, LEFT, 40.0, &items);
        }
        doc.finish()
    }

    /// The event markers: a dashed vertical line each, labelled at the top.
    fn draw_markers(&self, doc: &mut Doc, f: &Frame) {
        for m in &self.markers {
            let px = f.px(m.x);
            // A label that would run past the plot's right edge is written to the left of its line.
            let fits = px + 3.0 + m.label.chars().count() as f64 * 6.0 <= f.left + f.w + 14.0;
            let _ = write!(
                doc.out,
                r##"<g class="hp-marker" data-tip="{}"><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#b22" stroke-dasharray="4 3" stroke-width="1.2"/><text x="{}" y="{}" text-anchor="{anchor}" fill="#b22" font-size="11">{}</text></g>"##,
                esc(&format!("{} ({})", m.label, self.x_kind.tip(m.x))),
                c(f.top),
                c(f.top + f.h),
                c(if fits { px + 3.0 } else { px - 3.0 }),
                c(f.top + 11.0),
                esc(&m.label),
                x = c(px),
                anchor = if fits { "start" } else { "end" },
            );
        }
    }

    /// The hover columns' x values and their tooltips.
    fn hover_tips(&self) -> (Vec<f64>, Vec<String>) {
        // Hover: columns at evenly spaced x, each showing the latest point at or before it.
        let max_cols = if self.hover_columns == 0 {
            160
        } else {
            self.hover_columns
        };
        let mut xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        xs.sort_by(|a, b| a.total_cmp(b));
        xs.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
        if xs.len() > max_cols {
            let step = xs.len() as f64 / max_cols as f64;
            xs = (0..max_cols)
                .map(|k| xs[((k as f64 + 0.5) * step) as usize])
                .collect();
        }
        let tips: Vec<String> = xs
            .iter()
            .map(|xv| {
                let mut t = self.x_kind.tip(*xv);
                for s in &self.series {
                    let at = s.points.partition_point(|p| p.0 <= *xv + 1e-12);
                    if at > 0 {
                        let _ = write!(t, "\n{}: {}", s.name, self.units.fmt(s.points[at - 1].1));
                    }
                }
                t
            })
            .collect();
        (xs, tips)
    }
}

/// A schedule chart: a [`LineChart`] of steps with y in [0, 1] shown in percent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepChart {
    /// Title above the chart.
    pub title: String,
    /// X axis title.
    pub x_label: String,
    /// Y axis title.
    pub y_label: String,
    /// Each line is a step function of share (0..1) over years.
    pub series: Vec<LineSeries>,
}

impl StepChart {
    /// Renders the chart.
    pub fn to_svg(&self) -> String {
        LineChart {
            title: self.title.clone(),
            x_label: self.x_label.clone(),
            y_label: self.y_label.clone(),
            x_kind: XKind::Years,
            units: Units::percent(),
            log_y: false,
            y_range: Some((0.0, 1.0)),
            series: self
                .series
                .iter()
                .map(|s| LineSeries {
                    step: true,
                    ..s.clone()
                })
                .collect(),
            markers: vec![],
            hover_columns: 0,
        }
        .to_svg()
        .replacen(r#"data-chart="line""#, r#"data-chart="step""#, 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Distribution chart

/// The NPV distribution of one strategy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DistSeries {
    /// Strategy name.
    pub name: String,
    /// Mean.
    pub mean: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Histogram bins `(low edge, high edge, count)` when the engine reports them.
    pub bins: Vec<(f64, f64, f64)>,
    /// Extra lines for the tooltip ("P(NPV<0) 12%").
    pub notes: Vec<String>,
}

/// NPV distributions of several strategies. With bins for every series it draws overlaid
/// histograms (as densities, so different path counts compare); otherwise one row per strategy
/// with the p5–p95 range, the median and the mean.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DistributionChart {
    /// Title above the chart.
    pub title: String,
    /// Axis title of the values ("NPV").
    pub value_label: String,
    /// How values print.
    pub units: Units,
    /// One per strategy.
    pub series: Vec<DistSeries>,
    /// A value drawn across every row with its label (a covenant, a hurdle), if any.
    pub reference: Option<(f64, String)>,
}

impl DistributionChart {
    fn tip(&self, s: &DistSeries) -> String {
        let u = &self.units;
        // A series without a mean (percentiles of rates) says so rather than printing NaN.
        let mean = if s.mean.is_finite() {
            format!("\nmean {}", u.fmt(s.mean))
        } else {
            String::new()
        };
        let mut t = format!(
            "{}{mean}\np5 {}   median {}   p95 {}",
            s.name,
            u.fmt(s.p5),
            u.fmt(s.p50),
            u.fmt(s.p95)
        );
        for n in &s.notes {
            t.push('\n');
            t.push_str(n);
        }
        t
    }

    /// Renders the chart: one row per strategy on a shared value axis (a ridgeline), so every
    /// strategy reads the same way whatever the run: its histogram when the engine gave bins
    /// (scaled to the row, with the row's peak share of paths as its y tick, so a spike in one
    /// strategy never squashes the others), under it the p5–p95 range with the median, and the
    /// mean marked and labelled. `data-mode` is `histogram` when every row has bins, else
    /// `quantiles`.
    pub fn to_svg(&self) -> String {
        let all_bins = !self.series.is_empty() && self.series.iter().all(|s| !s.bins.is_empty());
        let n = self.series.len().max(1) as f64;
        let row_h = if all_bins { 74.0 } else { 50.0 };
        let top = TOP - 14.0;
        // Room under the axis for its title and, on a second line, the key of the marks.
        let height = top + n * row_h + 72.0;
        let mut doc = Doc::new(W, height, "distribution", &self.title);
        let mode = if all_bins { "histogram" } else { "quantiles" };
        doc.out = doc.out.replacen(
            r#"data-chart="distribution""#,
            &format!(r#"data-chart="distribution" data-mode="{mode}" data-layout="ridgeline""#),
            1,
        );
        let vals = self
            .series
            .iter()
            .flat_map(|s| {
                [s.p5, s.p95, s.mean]
                    .into_iter()
                    .chain(s.bins.iter().flat_map(|b| [b.0, b.1]))
            })
            .chain(self.reference.iter().map(|r| r.0));
        let x = Scale::linear_for(vals.filter(|v| v.is_finite()), false);
        // Row names are right-aligned against the plot in 13 px bold (~7.6 px a character): a
        // long name ("convert 50% project") widens the margin instead of running off the left edge.
        let longest = self
            .series
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0) as f64;
        let left = (18.0 + 7.6 * longest).clamp(128.0, 0.4 * W);
        let f = Frame {
            left,
            top,
            w: W - left - 22.0,
            h: n * row_h,
            x,
            y: Scale::Linear { min: 0.0, max: 1.0 },
        };
        let u = &self.units;
        doc.push(r##"<g class="hp-axes" fill="#555">"##);
        for t in x.ticks() {
            let px = f.px(t);
            doc.line(px, f.top, px, f.top + f.h, r##"stroke="#ececec""##);
            doc.text(px, f.top + f.h + 16.0, "middle", "", &u.fmt(t));
        }
        doc.line(
            f.left,
            f.top + f.h,
            f.left + f.w,
            f.top + f.h,
            r##"stroke="#888""##,
        );
        let key = if all_bins {
            "bars: share of paths per bin (peak labelled); line: p5–p95, | median, ◆ mean"
        } else {
            "line: p5–p95, | median, ◆ mean"
        };
        // Title and key on two lines: on one they ran past the edge of the chart.
        doc.text(
            f.left + f.w / 2.0,
            f.top + f.h + 34.0,
            "middle",
            r##"fill="#333""##,
            &self.value_label,
        );
        doc.text(
            f.left + f.w / 2.0,
            f.top + f.h + 50.0,
            "middle",
            r##"fill="#555" font-size="11.5""##,
            key,
        );
        doc.push("</g>");
        if let Scale::Linear { min, max } = x {
            if min < 0.0 && max > 0.0 {
                let z = f.px(0.0);
                doc.line(
                    z,
                    f.top,
                    z,
                    f.top + f.h,
                    r##"stroke="#444" stroke-width="1.2""##,
                );
            }
        }
        for (i, s) in self.series.iter().enumerate() {
            self.row(&mut doc, &f, row_h, i, s);
        }
        if let Some((v, label)) = &self.reference {
            reference_line(&mut doc, &f, *v, label);
        }
        doc.finish()
    }

    /// A row's histogram bars on `base` (scaled so the fullest bin fills the row) with its peak
    /// share as the y tick; the peak share, 0 without bins.
    fn bars(
        &self,
        doc: &mut Doc,
        f: &Frame,
        row_h: f64,
        base: f64,
        s: &DistSeries,
        col: &str,
    ) -> f64 {
        let u = &self.units;
        let total: f64 = s.bins.iter().map(|b| b.2).sum::<f64>().max(1e-300);
        let peak = s.bins.iter().map(|b| b.2 / total).fold(0.0, f64::max);
        if peak > 0.0 {
            let hmax = row_h - 30.0;
            for &(lo, hi, cnt) in &s.bins {
                let share = cnt / total;
                let (x0, x1) = (f.px(lo), f.px(hi));
                let bh = hmax * share / peak;
                let _ = write!(
                    doc.out,
                    r#"<rect class="hp-bar" x="{}" y="{}" width="{}" height="{}" fill="{col}" fill-opacity="0.55" data-tip="{}"/>"#,
                    c(x0),
                    c(base - bh),
                    c((x1 - x0 - 0.6).max(0.5)),
                    c(bh),
                    esc(&format!(
                        "{}\n{} to {}: {:.1}% of paths",
                        s.name,
                        u.fmt(lo),
                        u.fmt(hi),
                        share * 100.0
                    ))
                );
            }
            // y ticks of the row: 0 at the baseline, the peak share at the top.
            doc.line(f.left, base, f.left + f.w, base, r##"stroke="#bbb""##);
            doc.text(
                f.left + f.w + 2.0,
                base - hmax + 9.0,
                "end",
                r##"fill="#666" font-size="10.5""##,
                &format!("peak {:.1}%", peak * 100.0),
            );
        }
        peak
    }

    /// One strategy's row: its histogram (when it has bins), the p5–p95 range, the median and,
    /// when finite, the mean.
    fn row(&self, doc: &mut Doc, f: &Frame, row_h: f64, i: usize, s: &DistSeries) {
        let (left, u) = (f.left, &self.units);
        let col = color(i);
        let y0 = f.top + row_h * i as f64;
        let base = y0 + row_h - 20.0; // histogram baseline; the range line sits below it
        let _ = write!(
            doc.out,
            r#"<g class="hp-row" data-series="{}"{} data-p5="{}" data-p50="{}" data-p95="{}">"#,
            esc(&s.name),
            if s.mean.is_finite() {
                format!(r#" data-mean="{}""#, s.mean)
            } else {
                String::new()
            },
            s.p5,
            s.p50,
            s.p95
        );
        // The row's hover target (under the bars, which carry their own values).
        let _ = write!(
            doc.out,
            r#"<rect x="0" y="{}" width="{}" height="{}" fill="transparent" data-tip="{}"/>"#,
            c(y0),
            c(W),
            c(row_h),
            esc(&self.tip(s))
        );
        if i > 0 {
            doc.line(0.0, y0, W, y0, r##"stroke="#e2e5e9""##);
        }
        doc.text(
            left - 10.0,
            y0 + row_h / 2.0,
            "end",
            r##"fill="#222" font-weight="600""##,
            &s.name,
        );
        let peak = self.bars(doc, f, row_h, base, s, col);
        // p5–p95 range, median and mean.
        let ry = if peak > 0.0 {
            base + 8.0
        } else {
            y0 + row_h / 2.0
        };
        let (a, b) = (f.px(s.p5), f.px(s.p95));
        doc.line(a, ry, b, ry, &format!(r#"stroke="{col}" stroke-width="3""#));
        doc.line(
            a,
            ry - 5.0,
            a,
            ry + 5.0,
            &format!(r#"stroke="{col}" stroke-width="2""#),
        );
        doc.line(
            b,
            ry - 5.0,
            b,
            ry + 5.0,
            &format!(r#"stroke="{col}" stroke-width="2""#),
        );
        let m = f.px(s.p50);
        doc.line(
            m,
            ry - 6.0,
            m,
            ry + 6.0,
            r##"stroke="#111" stroke-width="2""##,
        );
        if !s.mean.is_finite() {
            doc.push("</g>");
            return;
        }
        let mu = f.px(s.mean);
        let _ = write!(
            doc.out,
            r##"<path class="hp-mean" d="M{} {}L{} {}L{} {}L{} {}Z" fill="#111"/>"##,
            c(mu),
            c(ry - 6.0),
            c(mu + 5.0),
            c(ry),
            c(mu),
            c(ry + 6.0),
            c(mu - 5.0),
            c(ry)
        );
        // Label the mean on the side with more room.
        let right_room = f.left + f.w - mu;
        let (lx, anchor) = if right_room > 120.0 {
            (mu + 8.0, "start")
        } else {
            (mu - 8.0, "end")
        };
        doc.text(
            lx,
            ry - 6.0,
            anchor,
            r##"fill="#111" font-size="11.5" font-weight="600""##,
            &format!("mean {}", u.fmt(s.mean)),
        );
        doc.push("</g>");
    }
}

/// A vertical line at `v` across the frame with its label at the top.
fn reference_line(doc: &mut Doc, f: &Frame, v: f64, label: &str) {
    let x = f.px(v);
    let _ = write!(doc.out, r#"<g class="hp-reference" data-value="{v}">"#);
    doc.line(
        x,
        f.top,
        x,
        f.top + f.h,
        r##"stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5 3""##,
    );
    doc.text(
        x + 4.0,
        f.top + 10.0,
        "start",
        r##"fill="#c0392b" font-size="11.5" font-weight="600""##,
        label,
    );
    doc.push("</g>");
}

// ---------------------------------------------------------------------------------------------
// Tornado

/// One input of a tornado chart: the output when the input is moved down and up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TornadoRow {
    /// The input ("price.vol").
    pub label: String,
    /// How the input was moved down ("−20%: 0.40").
    pub low_label: String,
    /// How the input was moved up.
    pub high_label: String,
    /// Output with the input moved down.
    pub low: f64,
    /// Output with the input moved up.
    pub high: f64,
}

/// A tornado chart: bars from the base value to the output at the low and high input, sorted by
/// swing (largest on top).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tornado {
    /// Title above the chart.
    pub title: String,
    /// Axis title of the output ("NPV of convert 50%").
    pub value_label: String,
    /// How values print.
    pub units: Units,
    /// The output at the base inputs.
    pub base: f64,
    /// The inputs (any order; drawn sorted by swing).
    pub rows: Vec<TornadoRow>,
    /// The output value at which the decision flips (0 for a gap to mining), with its label
    /// ("= mining"): drawn as a labelled line, and a bar that crosses it is marked "flips".
    pub flip_at: Option<(f64, String)>,
}

impl Tornado {
    /// Which ends of `r` land on the other side of [`Tornado::flip_at`] from the base:
    /// `(low flips, high flips)`.
    pub fn flips(&self, r: &TornadoRow) -> (bool, bool) {
        match &self.flip_at {
            Some((t, _)) => {
                let side = |v: f64| v > *t;
                let b = side(self.base);
                (side(r.low) != b, side(r.high) != b)
            }
            None => (false, false),
        }
    }
}

impl Tornado {
    /// Renders the chart.
    pub fn to_svg(&self) -> String {
        let mut rows = self.rows.clone();
        rows.sort_by(|a, b| (b.high - b.low).abs().total_cmp(&(a.high - a.low).abs()));
        let row_h = 32.0;
        let height = (TOP + rows.len().max(1) as f64 * row_h + 56.0).max(150.0);
        let mut doc = Doc::new(W, height, "tornado", &self.title);
        // Room for the longest input name (about 7.5 px a character at 13 px).
        let longest = rows
            .iter()
            .map(|r| r.label.chars().count())
            .max()
            .unwrap_or(0);
        let left = (longest as f64 * 7.5 + 24.0).clamp(120.0, 320.0);
        let x = Scale::linear_for(
            rows.iter()
                .flat_map(|r| [r.low, r.high])
                .chain([self.base])
                .chain(self.flip_at.as_ref().map(|f| f.0)),
            false,
        );
        let f = Frame {
            left,
            top: TOP,
            w: W - left - 24.0,
            h: rows.len().max(1) as f64 * row_h,
            x,
            y: Scale::Linear { min: 0.0, max: 1.0 },
        };
        let u = &self.units;
        doc.push(r##"<g class="hp-axes" fill="#555">"##);
        for t in x.ticks() {
            let px = f.px(t);
            doc.line(px, f.top, px, f.top + f.h, r##"stroke="#eee""##);
            doc.text(px, f.top + f.h + 16.0, "middle", "", &u.fmt(t));
        }
        doc.text(
            f.left + f.w / 2.0,
            f.top + f.h + 36.0,
            "middle",
            r##"fill="#333""##,
            &format!("{} (base {})", self.value_label, u.fmt(self.base)),
        );
        doc.push("</g>");
        let mut items: Vec<(String, &str)> = vec![
            ("input lowered".into(), color(0)),
            ("input raised".into(), color(1)),
        ];
        if let Some((_, label)) = &self.flip_at {
            items.push((format!("dashed: decision flips ({label}); ▼ flips"), "#b22"));
        }
        legend(&mut doc, left, 40.0, &items);
        for (i, r) in rows.iter().enumerate() {
            let yc = f.top + row_h * (i as f64 + 0.5);
            self.draw_row(&mut doc, &f, r, yc, row_h);
        }
        let b = f.px(self.base);
        doc.line(
            b,
            f.top - 4.0,
            b,
            f.top + f.h,
            r##"stroke="#222" stroke-width="1.5""##,
        );
        if let Some((t, _)) = &self.flip_at {
            let tx = f.px(*t);
            doc.line(
                tx,
                f.top - 4.0,
                tx,
                f.top + f.h,
                r##"stroke="#b22" stroke-width="1.5" stroke-dasharray="5 3""##,
            );
        }
        doc.finish()
    }

    /// One input's row centred at `yc`: its label, the lowered and raised bars from the base, the
    /// hover tip, and where the decision flips.
    fn draw_row(&self, doc: &mut Doc, f: &Frame, r: &TornadoRow, yc: f64, row_h: f64) {
        let u = &self.units;
        let (fl, fh) = self.flips(r);
        let mut tip = format!(
            "{}\n{} → {}\n{} → {}\nswing {}",
            r.label,
            r.low_label,
            u.fmt(r.low),
            r.high_label,
            u.fmt(r.high),
            u.fmt((r.high - r.low).abs())
        );
        for (flips, how) in [(fl, &r.low_label), (fh, &r.high_label)] {
            if flips {
                let _ = write!(tip, "\nthe decision flips at {how}");
            }
        }
        let _ = write!(
            doc.out,
            r#"<g class="hp-row" data-input="{}" data-low="{}" data-high="{}" data-flips="{}" data-tip="{}">"#,
            esc(&r.label),
            r.low,
            r.high,
            match (fl, fh) {
                (true, true) => "both",
                (true, false) => "low",
                (false, true) => "high",
                _ => "",
            },
            esc(&tip)
        );
        let _ = write!(
            doc.out,
            r#"<rect x="0" y="{}" width="{}" height="{}" fill="transparent"/>"#,
            c(yc - row_h / 2.0),
            c(W),
            c(row_h)
        );
        doc.text(f.left - 10.0, yc + 4.0, "end", r##"fill="#222""##, &r.label);
        let b = f.px(self.base);
        for (v, col) in [(r.low, color(0)), (r.high, color(1))] {
            let p = f.px(v);
            let _ = write!(
                doc.out,
                r#"<rect class="hp-bar" x="{}" y="{}" width="{}" height="{}" fill="{col}" fill-opacity="0.75"/>"#,
                c(p.min(b)),
                c(yc - 10.0),
                c((p - b).abs().max(1.0)),
                c(20.0)
            );
        }
        // Where a bar crosses the flip line: a marker and the word, beside the longer end.
        if let Some((t, _)) = &self.flip_at {
            if fl || fh {
                let tx = f.px(*t);
                let _ = write!(
                    doc.out,
                    r##"<path class="hp-flip" d="M{} {}L{} {}L{} {}Z" fill="#b22"/>"##,
                    c(tx - 6.0),
                    c(yc - 13.0),
                    c(tx + 6.0),
                    c(yc - 13.0),
                    c(tx),
                    c(yc - 4.0)
                );
                let far = [(fl, r.low), (fh, r.high)]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, v)| f.px(*v))
                    .fold(tx, |a, v| {
                        if (v - tx).abs() > (a - tx).abs() {
                            v
                        } else {
                            a
                        }
                    });
                let (lx, anchor) = if far >= tx {
                    ((far + 4.0).min(f.left + f.w - 40.0), "start")
                } else {
                    ((far - 4.0).max(f.left + 40.0), "end")
                };
                doc.text(
                    lx,
                    yc + 4.0,
                    anchor,
                    r##"fill="#b22" font-size="11.5" font-weight="600""##,
                    "flips",
                );
            }
        }
        doc.push("</g>");
    }
}

// ---------------------------------------------------------------------------------------------
// Category grid

/// A two-way grid coloured by a category in each cell (the best strategy over lease rate ×
/// capex), with a value written in the cell (the gap to mining).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CategoryGrid {
    /// Title above the chart.
    pub title: String,
    /// X axis title (columns).
    pub x_label: String,
    /// Y axis title (rows).
    pub y_label: String,
    /// Column values (left to right).
    pub x: Vec<f64>,
    /// Row values (drawn bottom to top, so larger values are higher).
    pub y: Vec<f64>,
    /// How column values print.
    pub x_units: Units,
    /// How row values print.
    pub y_units: Units,
    /// How cell values print.
    pub units: Units,
    /// Every category in legend order (its colour is its index's); cells name one of them.
    pub categories: Vec<String>,
    /// `cells[row][col]`: the category and the value; `None` for an empty cell.
    pub cells: Vec<Vec<Option<(String, f64)>>>,
    /// The cell of the scenario itself `(row, col)`, outlined.
    pub base: Option<(usize, usize)>,
}

impl CategoryGrid {
    /// Renders the chart.
    pub fn to_svg(&self) -> String {
        let (nx, ny) = (self.x.len().max(1), self.y.len().max(1));
        let left = 118.0;
        let top = TOP + 4.0;
        let cell_h = 44.0;
        let height = top + ny as f64 * cell_h + 56.0;
        let mut doc = Doc::new(W, height, "grid", &self.title);
        let w = W - left - 20.0;
        let cell_w = w / nx as f64;
        let col_of = |name: &str| self.category_color(name);
        legend(&mut doc, left, 40.0, &self.legend_items());
        doc.push(r##"<g class="hp-axes" fill="#555">"##);
        for (j, xv) in self.x.iter().enumerate() {
            doc.text(
                left + cell_w * (j as f64 + 0.5),
                top + ny as f64 * cell_h + 16.0,
                "middle",
                "",
                &self.x_units.fmt(*xv),
            );
        }
        for (i, yv) in self.y.iter().enumerate() {
            let yc = top + (ny - 1 - i) as f64 * cell_h + cell_h / 2.0;
            doc.text(left - 8.0, yc + 4.0, "end", "", &self.y_units.fmt(*yv));
        }
        doc.text(
            left + w / 2.0,
            top + ny as f64 * cell_h + 36.0,
            "middle",
            r##"fill="#333""##,
            &self.x_label,
        );
        let _ = write!(
            doc.out,
            r##"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle" fill="#333">{}</text>"##,
            c(top + ny as f64 * cell_h / 2.0),
            esc(&self.y_label)
        );
        doc.push("</g>");
        for (i, row) in self.cells.iter().enumerate().take(ny) {
            for (j, cell) in row.iter().enumerate().take(nx) {
                let x0 = left + cell_w * j as f64;
                let y0 = top + (ny - 1 - i) as f64 * cell_h;
                let (name, value) = match cell {
                    Some((n, v)) => (n.as_str(), *v),
                    None => ("", f64::NAN),
                };
                let fill = if name.is_empty() {
                    "#f2f2f2"
                } else {
                    col_of(name)
                };
                let tip = format!(
                    "{}: {}\n{}: {}\n{}",
                    self.x_label,
                    self.x_units.fmt(self.x.get(j).copied().unwrap_or(f64::NAN)),
                    self.y_label,
                    self.y_units.fmt(self.y.get(i).copied().unwrap_or(f64::NAN)),
                    if name.is_empty() {
                        "out of range".to_string()
                    } else {
                        format!("best: {name}, {}", self.units.fmt(value))
                    }
                );
                let _ = write!(
                    doc.out,
                    r##"<g class="hp-cell" data-row="{i}" data-col="{j}" data-best="{}" data-value="{}" data-tip="{}"><rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" fill-opacity="0.8" stroke="#fff" stroke-width="2"/>"##,
                    esc(name),
                    value,
                    esc(&tip),
                    c(x0),
                    c(y0),
                    c(cell_w),
                    c(cell_h)
                );
                if !name.is_empty() {
                    // Dark text on the light palette entries, white on the dark ones.
                    let light = matches!(fill, "#E69F00" | "#56B4E9" | "#F0E442" | "#CC79A7");
                    let ink = if light { "#111" } else { "#fff" };
                    doc.text(
                        x0 + cell_w / 2.0,
                        y0 + cell_h / 2.0 - 2.0,
                        "middle",
                        &format!(r##"fill="{ink}" font-size="12" font-weight="600""##),
                        name,
                    );
                    doc.text(
                        x0 + cell_w / 2.0,
                        y0 + cell_h / 2.0 + 13.0,
                        "middle",
                        &format!(r##"fill="{ink}" font-size="11""##),
                        &self.units.fmt(value),
                    );
                }
                doc.push("</g>");
            }
        }
        if let Some((bi, bj)) = self.base {
            if bi < ny && bj < nx {
                let _ = write!(
                    doc.out,
                    r##"<rect class="hp-base" x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#111" stroke-width="3"><title>your scenario</title></rect>"##,
                    c(left + cell_w * bj as f64 + 1.5),
                    c(top + (ny - 1 - bi) as f64 * cell_h + 1.5),
                    c(cell_w - 3.0),
                    c(cell_h - 3.0)
                );
            }
        }
        doc.finish()
    }

    /// A category's colour (its place in `categories`; grey for an unknown one).
    fn category_color(&self, name: &str) -> &'static str {
        self.categories
            .iter()
            .position(|c| c == name)
            .map_or("#999999", color)
    }

    /// The legend: only the categories that are best somewhere on the grid.
    fn legend_items(&self) -> Vec<(String, &'static str)> {
        self.categories
            .iter()
            .filter(|c| self.cells.iter().flatten().flatten().any(|(n, _)| n == *c))
            .map(|c| (format!("best: {c}"), self.category_color(c)))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Bar chart

/// One series of a [`BarChart`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BarSeries {
    /// Legend name.
    pub name: String,
    /// One value per group (NaN: no bar).
    pub values: Vec<f64>,
}

/// Grouped bars (one group per period, one bar per series), signed around zero; the legend
/// names every series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BarChart {
    /// Title above the chart.
    pub title: String,
    /// X axis title.
    pub x_label: String,
    /// Y axis title.
    pub y_label: String,
    /// How values print.
    pub units: Units,
    /// Group names, left to right ("1", "2", ... for years).
    pub groups: Vec<String>,
    /// The series.
    pub series: Vec<BarSeries>,
    /// A level drawn across the bars with its label ("your rate $120/kW-month").
    pub reference: Option<(f64, String)>,
}

impl BarChart {
    /// Renders the chart.
    pub fn to_svg(&self) -> String {
        let mut doc = Doc::new(W, H, "bar", &self.title);
        let y = Scale::linear_for(
            self.series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .chain(self.reference.as_ref().map(|r| r.0))
                .filter(|v| v.is_finite()),
            true,
        );
        let ng = self.groups.len().max(1);
        // Group names wider than their slot (company names under 14 bars) would overlap: they
        // are then written at an angle, cut to GROUP_CHARS characters (the full name in a
        // tooltip), and the plot gives up the height they need.
        let slot_w = (W - LEFT - 20.0) / ng as f64;
        let longest = self
            .groups
            .iter()
            .map(|g| g.chars().count())
            .max()
            .unwrap_or(0);
        let slanted = longest as f64 * CHAR_W > slot_w * 0.95;
        let extra = if slanted {
            (longest.min(GROUP_CHARS) as f64 * CHAR_W * SLANT_SIN - 8.0).max(0.0)
        } else {
            0.0
        };
        let f = Frame {
            left: LEFT,
            top: TOP,
            w: W - LEFT - 20.0,
            h: H - TOP - 48.0 - extra,
            x: Scale::Linear {
                min: 0.0,
                max: ng as f64,
            },
            y,
        };
        let u = &self.units;
        // Group labels instead of numeric x ticks.
        doc.push(r##"<g class="hp-axes" fill="#555" stroke-width="1">"##);
        for t in y.ticks() {
            let py = f.py(t);
            doc.line(f.left, py, f.left + f.w, py, r##"stroke="#e3e3e3""##);
            doc.text(f.left - 6.0, py + 4.0, "end", "", &u.fmt(t));
        }
        self.draw_group_labels(&mut doc, &f, slanted);
        doc.line(f.left, f.top, f.left, f.top + f.h, r##"stroke="#888""##);
        doc.text(
            f.left + f.w / 2.0,
            f.top + f.h + extra + 34.0,
            "middle",
            r##"fill="#333""##,
            &self.x_label,
        );
        let _ = write!(
            doc.out,
            r##"<text transform="translate(14 {}) rotate(-90)" text-anchor="middle" fill="#333">{}</text>"##,
            c(f.top + f.h / 2.0),
            esc(&self.y_label)
        );
        doc.push("</g>");
        let zero = f.py(0.0);
        self.draw_bars(&mut doc, &f, zero);
        doc.line(f.left, zero, f.left + f.w, zero, r##"stroke="#444""##);
        if let Some((v, label)) = &self.reference {
            let py = f.py(*v);
            let _ = write!(
                doc.out,
                r##"<g class="hp-reference" data-value="{v}"><line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#b22" stroke-width="2" stroke-dasharray="6 3"/>"##,
                c(f.left),
                c(f.left + f.w),
                y = c(py)
            );
            doc.text(
                f.left + f.w - 4.0,
                py - 5.0,
                "end",
                r##"fill="#b22" font-size="12" font-weight="600""##,
                label,
            );
            doc.push("</g>");
        }
        let items: Vec<(String, &str)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), color(i)))
            .collect();
        legend(&mut doc, LEFT, 40.0, &items);
        doc.finish()
    }

    /// The group names under the x axis (every name up to 20 groups, then every n-th), slanted
    /// and cut to GROUP_CHARS characters when they would not fit their slot.
    fn draw_group_labels(&self, doc: &mut Doc, f: &Frame, slanted: bool) {
        let ng = self.groups.len().max(1);
        let every = ng.div_ceil(20).max(1);
        for (k, g) in self.groups.iter().enumerate() {
            if k % every != 0 {
                continue;
            }
            let x = f.px(k as f64 + 0.5);
            if slanted {
                let shown = if g.chars().count() > GROUP_CHARS {
                    format!("{}…", g.chars().take(GROUP_CHARS - 1).collect::<String>())
                } else {
                    g.clone()
                };
                let y = f.top + f.h + 12.0;
                let _ = write!(
                    doc.out,
                    r#"<text class="hp-group" x="{x}" y="{y}" text-anchor="end" transform="rotate(-{SLANT_DEG} {x} {y})"><title>{}</title>{}</text>"#,
                    esc(g),
                    esc(&shown),
                    x = c(x + 4.0),
                    y = c(y),
                );
            } else {
                doc.text(x, f.top + f.h + 16.0, "middle", r#"class="hp-group""#, g);
            }
        }
    }

    /// The bars, one group of series side by side per slot, from the zero line at `zero`.
    fn draw_bars(&self, doc: &mut Doc, f: &Frame, zero: f64) {
        let ng = self.groups.len().max(1);
        let u = &self.units;
        let ns = self.series.len().max(1) as f64;
        let slot = f.w / ng as f64;
        let bw = (slot * 0.8 / ns).max(0.5);
        for (si, s) in self.series.iter().enumerate() {
            let col = color(si);
            let _ = write!(
                doc.out,
                r#"<g class="hp-bars" data-series="{}">"#,
                esc(&s.name)
            );
            for (k, v) in s.values.iter().enumerate().take(ng) {
                if !v.is_finite() {
                    continue;
                }
                let x0 = f.left + slot * k as f64 + slot * 0.1 + bw * si as f64;
                let py = f.py(*v);
                let _ = write!(
                    doc.out,
                    r#"<rect class="hp-bar" x="{}" y="{}" width="{}" height="{}" fill="{col}" data-value="{}" data-tip="{}"/>"#,
                    c(x0),
                    c(py.min(zero)),
                    c((bw - 0.5).max(0.5)),
                    c((py - zero).abs().max(0.5)),
                    v,
                    esc(&format!(
                        "{} {}\n{}: {}",
                        self.x_label,
                        self.groups.get(k).map_or("", String::as_str),
                        s.name,
                        u.fmt(*v)
                    ))
                );
            }
            doc.push("</g>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_tick_every_decade_with_readable_labels() {
        // The BTC price since 2010 ($0.05 to $120k): a tick per decade from $0.01 to $1M,
        // placed at equal steps.
        let s = Scale::log_for([0.05, 120_000.0]);
        let ticks = s.ticks();
        assert_eq!(ticks, vec![0.01, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
        for (k, t) in ticks.iter().enumerate() {
            assert!((s.frac(*t) - k as f64 / 8.0).abs() < 1e-12, "{t}");
        }
        let u = Units::usd();
        let labels: Vec<String> = ticks.iter().map(|t| u.fmt_decade(*t)).collect();
        assert_eq!(
            labels,
            ["$0.01", "$0.1", "$1", "$10", "$100", "$1k", "$10k", "$100k", "$1M"]
        );
        assert_eq!(u.fmt_decade(1e-4), "$0.0001");
        assert_eq!(Units::plain().fmt_decade(1e14), "100T");
        // Difficulty (1 to 1.5e14): 15 decades, labelled every second one.
        let d = Scale::log_for([1.0, 1.5e14]);
        assert_eq!(
            d.ticks(),
            (0..=7).map(|k| 10f64.powi(2 * k)).collect::<Vec<_>>()
        );
        // In the chart: a log line chart writes the decade labels on its y axis at those heights.
        let svg = LineChart {
            title: "price".into(),
            units: Units::usd(),
            log_y: true,
            series: vec![LineSeries {
                name: "close".into(),
                points: vec![(0.0, 0.05), (1.0, 120_000.0)],
                step: false,
            }],
            ..LineChart::default()
        }
        .to_svg();
        assert!(
            svg.contains(">$0.01</text>") && svg.contains(">$1k</text>"),
            "{svg}"
        );
        assert!(!svg.contains(">$0</text>"));
    }

    fn fan() -> FanChart {
        FanChart {
            title: "BTC price".into(),
            x_label: "years".into(),
            y_label: "USD".into(),
            units: Units::usd(),
            log_y: true,
            series: vec![FanSeries {
                name: "price".into(),
                x: vec![0.0, 1.0, 2.0],
                p5: vec![90e3, 60e3, 50e3],
                p50: vec![90e3, 95e3, 100e3],
                p95: vec![90e3, 150e3, 200e3],
            }],
        }
    }

    #[test]
    fn fan_chart_has_band_median_and_hover_values() {
        let svg = fan().to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("class=\"hp-band\"").count(), 1);
        assert_eq!(svg.matches("class=\"hp-hit\"").count(), 3);
        // The tooltip of year 2 carries the three values.
        assert!(
            svg.contains("year 2&#10;price: median $100k  (p5 $50k – p95 $200k)"),
            "{svg}"
        );
        // Log axis: ticks at powers of ten.
        assert!(svg.contains(">$10k<") && svg.contains(">$1M<"));
    }

    #[test]
    fn fan_band_geometry_follows_the_scale() {
        // On a linear axis from 0 to 100 the median at 50 sits in the middle of the plot area.
        let svg = FanChart {
            series: vec![FanSeries {
                name: "x".into(),
                x: vec![0.0, 1.0],
                p5: vec![0.0, 0.0],
                p50: vec![50.0, 50.0],
                p95: vec![100.0, 100.0],
            }],
            ..FanChart::default()
        }
        .to_svg();
        // Plot area: top 54, height 340-54-48 = 238; the axis snaps to ticks 0..100, so 50 sits
        // at 54 + 238 / 2 = 173.
        assert!(svg.contains(r#"d="M86 173L740 173""#), "{svg}");
    }

    #[test]
    fn text_is_escaped() {
        let svg = LineChart {
            title: "a < b & \"c\"".into(),
            series: vec![LineSeries {
                name: "<x>".into(),
                points: vec![(0.0, 1.0), (1.0, 2.0)],
                step: false,
            }],
            ..LineChart::default()
        }
        .to_svg();
        assert!(svg.contains("a &lt; b &amp; &quot;c&quot;"));
        assert!(!svg.contains("<x>"));
    }

    #[test]
    fn line_chart_markers_and_log_gaps() {
        let svg = LineChart {
            title: "Difficulty".into(),
            x_kind: XKind::Calendar,
            log_y: true,
            series: vec![LineSeries {
                name: "difficulty".into(),
                points: vec![(2010.0, 1.0), (2012.0, 0.0), (2016.0, 1e12), (2024.3, 8e13)],
                step: false,
            }],
            markers: vec![Marker {
                x: 2012.9,
                label: "halving 1".into(),
            }],
            ..LineChart::default()
        }
        .to_svg();
        assert!(svg.contains("class=\"hp-marker\""));
        assert!(svg.contains("halving 1 (2012-11-"));
        // The zero point on a log axis breaks the line into two pieces.
        let d = svg.split("class=\"hp-line\"").nth(1).unwrap();
        let d = d.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(d.matches('M').count(), 2, "{d}");
    }

    #[test]
    fn long_series_hover_is_bounded() {
        let pts: Vec<(f64, f64)> = (0..5000)
            .map(|i| (2010.0 + i as f64 / 365.0, i as f64))
            .collect();
        let svg = LineChart {
            series: vec![LineSeries {
                name: "s".into(),
                points: pts,
                step: false,
            }],
            ..LineChart::default()
        }
        .to_svg();
        assert_eq!(svg.matches("class=\"hp-hit\"").count(), 160);
    }

    #[test]
    fn distribution_quantile_mode_and_histogram_mode() {
        let s = DistSeries {
            name: "mine".into(),
            mean: 10e6,
            p5: -5e6,
            p50: 9e6,
            p95: 30e6,
            bins: vec![],
            notes: vec!["P(NPV<0) 12.0%".into()],
        };
        let q = DistributionChart {
            title: "NPV".into(),
            value_label: "NPV".into(),
            units: Units::usd(),
            series: vec![s.clone()],
            reference: None,
        }
        .to_svg();
        assert!(q.contains(r#"data-mode="quantiles""#));
        assert!(
            q.contains("mean $10M&#10;p5 -$5M   median $9M   p95 $30M&#10;P(NPV&lt;0) 12.0%"),
            "{q}"
        );
        let h = DistributionChart {
            series: vec![DistSeries {
                bins: vec![(0.0, 1.0, 1.0), (1.0, 2.0, 3.0)],
                ..s
            }],
            ..DistributionChart::default()
        }
        .to_svg();
        assert!(h.contains(r#"data-mode="histogram""#));
        assert!(h.contains("75.0% of paths"));
        assert_eq!(h.matches("class=\"hp-bar\"").count(), 2);
        // The ridgeline labels each row's peak share (its y tick) and its mean.
        assert!(h.contains("peak 75.0%") && q.contains(">mean $10M<"), "{h}");
        assert!(
            h.contains(r#"data-layout="ridgeline""#) && q.contains(r#"data-layout="ridgeline""#)
        );
        assert_eq!(Units::usd().fmt(3.4e-7), "$0");
        // A reference line (a covenant) is drawn across the rows with its label, inside the
        // axis even when every value is above it; a row without a mean (NaN) draws no mean mark.
        let r = DistributionChart {
            series: vec![DistSeries {
                name: "convert".into(),
                mean: f64::NAN,
                p5: 1.4,
                p50: 1.8,
                p95: 2.6,
                bins: vec![(1.3, 2.0, 4.0), (2.0, 2.7, 1.0)],
                notes: Vec::new(),
            }],
            reference: Some((1.25, "covenant 1.25×".into())),
            ..DistributionChart::default()
        }
        .to_svg();
        assert!(
            r.contains(r#"class="hp-reference" data-value="1.25""#),
            "{r}"
        );
        assert!(r.contains(">covenant 1.25×<"), "{r}");
        assert!(!r.contains("hp-mean") && !r.contains("NaN"), "{r}");
        assert_eq!(Units::usd().fmt(-0.5), "-$0.5");
    }

    /// A row name is right-aligned at `left - 10`: the margin grows with the longest name so that
    /// "convert 50% project" (the IRR chart) starts inside the picture; short names keep 128 px.
    #[test]
    fn distribution_margin_fits_the_longest_row_name() {
        let row = |name: &str| DistSeries {
            name: name.into(),
            mean: 0.1,
            p5: -0.1,
            p50: 0.1,
            p95: 0.2,
            bins: vec![],
            notes: vec![],
        };
        let anchor = |svg: &str, name: &str| -> f64 {
            let at = svg.find(&format!(">{name}<")).unwrap();
            let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
            let x = tag.split("x=\"").nth(1).unwrap().split('"').next().unwrap();
            x.parse().unwrap()
        };
        let short = DistributionChart {
            series: vec![row("mine")],
            ..DistributionChart::default()
        }
        .to_svg();
        assert_eq!(anchor(&short, "mine"), 118.0);
        let name = "convert 50% project";
        let long = DistributionChart {
            series: vec![row("mine"), row(name)],
            ..DistributionChart::default()
        }
        .to_svg();
        let x = anchor(&long, name);
        // Its right end minus its width (7.6 px a character, bold 13 px) is still on the picture.
        assert!(x - 7.6 * name.chars().count() as f64 >= 8.0, "{x}");
        assert_eq!(anchor(&long, "mine"), x);
    }

    #[test]
    fn tornado_sorts_by_swing() {
        let svg = Tornado {
            title: "t".into(),
            value_label: "NPV".into(),
            units: Units::usd(),
            base: 0.0,
            rows: vec![
                TornadoRow {
                    label: "small".into(),
                    low: -1.0,
                    high: 1.0,
                    ..TornadoRow::default()
                },
                TornadoRow {
                    label: "big".into(),
                    low: -10.0,
                    high: 8.0,
                    ..TornadoRow::default()
                },
            ],
            flip_at: None,
        }
        .to_svg();
        let big = svg.find("data-input=\"big\"").unwrap();
        assert!(!svg.contains("hp-flip"));
        let small = svg.find("data-input=\"small\"").unwrap();
        assert!(big < small);
        assert!(svg.contains("swing $18"));
    }

    #[test]
    fn dates_round_trip() {
        let x = fractional_year("2024-04-20").unwrap();
        assert_eq!(calendar_date(x), "2024-04-20");
        assert_eq!(
            calendar_date(fractional_year("2012-11-28").unwrap()),
            "2012-11-28"
        );
        assert!(fractional_year("2024-13-01").is_none());
        assert!(fractional_year("nope").is_none());
    }

    #[test]
    fn step_chart_draws_steps_in_percent() {
        let svg = StepChart {
            title: "schedule".into(),
            series: vec![LineSeries {
                name: "converted".into(),
                points: vec![(0.0, 0.0), (1.0, 0.5), (2.0, 1.0)],
                step: false,
            }],
            ..StepChart::default()
        }
        .to_svg();
        assert!(svg.contains(r#"data-chart="step""#));
        assert!(svg.contains(">100%<"));
        let d = svg.split("class=\"hp-line\"").nth(1).unwrap();
        let d = d.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        // Five vertices: (0,0) (1,0) (1,.5) (2,.5) (2,1).
        assert_eq!(d.matches('L').count(), 4, "{d}");
    }

    #[test]
    fn category_grid_colours_cells_by_their_best_and_names_them() {
        let svg = CategoryGrid {
            title: "best".into(),
            x: vec![10.0, 20.0],
            y: vec![1.0, 2.0],
            units: Units::usd(),
            categories: vec!["mine".into(), "convert 50%".into(), "unused".into()],
            cells: vec![
                vec![
                    Some(("mine".into(), -5.0)),
                    Some(("convert 50%".into(), 7.0)),
                ],
                vec![Some(("mine".into(), -9.0)), None],
            ],
            base: Some((0, 1)),
            ..CategoryGrid::default()
        }
        .to_svg();
        // Cells carry their best and value; the colours follow the category order.
        assert!(svg.contains(r#"data-row="0" data-col="1" data-best="convert 50%" data-value="7""#));
        assert_eq!(
            svg.matches(&format!(r#"fill="{}" fill-opacity="0.8""#, color(0)))
                .count(),
            2
        );
        assert_eq!(
            svg.matches(&format!(r#"fill="{}" fill-opacity="0.8""#, color(1)))
                .count(),
            1
        );
        // The legend names the categories present, not the unused one; the base cell is outlined.
        assert!(svg.contains(">best: mine<") && svg.contains(">best: convert 50%<"));
        assert!(!svg.contains("best: unused"));
        assert_eq!(svg.matches("class=\"hp-base\"").count(), 1);
        assert!(svg.contains("out of range"));
    }

    #[test]
    fn bar_chart_draws_signed_bars_and_names_every_series() {
        let svg = BarChart {
            title: "cash".into(),
            x_label: "year".into(),
            units: Units::usd(),
            groups: vec!["1".into(), "2".into()],
            series: vec![
                BarSeries {
                    name: "mine".into(),
                    values: vec![5.0, -5.0],
                },
                BarSeries {
                    name: "convert 50%".into(),
                    values: vec![10.0, f64::NAN],
                },
            ],
            ..BarChart::default()
        }
        .to_svg();
        assert_eq!(svg.matches("class=\"hp-bar\"").count(), 3);
        assert!(svg.contains("year 2&#10;mine: -$5"), "{svg}");
        // One legend entry per series, even the single-bar one.
        assert!(svg.contains(">mine<") && svg.contains(">convert 50%<"));
        // The positive and negative bars of `mine` have equal heights on either side of zero.
        let heights: Vec<&str> = svg
            .split(r#"data-series="mine""#)
            .nth(1)
            .unwrap()
            .split("height=\"")
            .skip(1)
            .take(2)
            .map(|h| h.split('"').next().unwrap())
            .collect();
        assert_eq!(heights[0], heights[1]);
    }
}
