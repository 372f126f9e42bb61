//! Hashprice forward curves and the price drift that makes the model match them.
//!
//! A forward mark (a broker's monthly hashprice forward, or a hashrate-forward contract's price)
//! says what the market pays today for one PH/s of hashing delivered through a future month, in
//! USD per PH/s per day. The model's counterpart is its *expected* hashprice averaged over the
//! days of that month. Both are compared on the newest quote date's curve.
//!
//! Calibration (documented choice): the model's BTC price drift `μ` (MODEL.md §3, `[price]
//! drift`) is the one free parameter; every other parameter stays as the scenario has it. `μ` is
//! chosen to minimize the sum of squared USD differences `Σ_m (E_μ[hp_m] − F_m)²` over the
//! delivery months `m` of the curve. The expectation is a Monte Carlo estimate on common random
//! numbers (the same seed for every `μ`), so the objective is smooth in `μ`; it is minimized by
//! golden-section search on a bracket. A forward is a risk-neutral price, so the fitted drift is
//! the market-implied drift (risk premium included); comparing it with the scenario's drift says
//! how far the scenario's judgement is from what the market pays for hashrate.

use serde::Serialize;

use crate::csv::{Csv, CsvError};
use crate::date::Date;

/// A calendar month (serialized as `YYYY-MM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM` (a full date `YYYY-MM-DD` is accepted and names its month).
    pub fn parse(s: &str) -> Option<Month> {
        let s = s.trim();
        let (y, rest) = s.split_once('-')?;
        let m = rest.split('-').next()?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
        let first = Date::from_ymd(year, month, 1)?;
        if rest.len() > 2 {
            // A full date must itself be valid.
            let _: Date = s.parse().ok()?;
        }
        Some(Month {
            year: first.ymd().0,
            month,
        })
    }

    /// Its first day.
    pub fn first_day(self) -> Date {
        Date::from_ymd(self.year, self.month, 1).expect("a parsed month is valid")
    }

    /// The first day of the next month.
    pub fn next_first_day(self) -> Date {
        let (y, m) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        Date::from_ymd(y, m, 1).expect("a month after a valid month is valid")
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One forward mark.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForwardQuote {
    /// Day the mark was taken.
    pub quote_date: Date,
    /// Delivery month.
    pub delivery: Month,
    /// Price, USD per PH/s per day of delivery.
    pub usd_per_ph_day: f64,
}

/// Parses `quote_date,delivery_month,usd_per_ph_day` (extra columns ignored): delivery months as
/// `YYYY-MM`, not before the quote's month, prices > 0, no (quote date, month) twice. Sorted by
/// quote date, then month.
pub fn parse_forwards(text: &str, file: &str) -> Result<Vec<ForwardQuote>, CsvError> {
    let csv = Csv::parse(text, file)?;
    csv.require(&["quote_date", "delivery_month", "usd_per_ph_day"])?;
    let mut out: Vec<ForwardQuote> = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let quote_date = row.date("quote_date")?;
        let raw = row.str("delivery_month")?;
        let delivery = Month::parse(raw).ok_or_else(|| {
            row.bad(
                "delivery_month",
                raw,
                "is not a month; expected YYYY-MM (e.g. 2027-01)",
            )
        })?;
        if delivery.next_first_day() <= quote_date {
            return Err(row.bad(
                "delivery_month",
                raw,
                format!(
                    "ends before the quote date {quote_date}; a forward delivers in the future"
                ),
            ));
        }
        let usd_per_ph_day = row.positive("usd_per_ph_day")?;
        if out
            .iter()
            .any(|q| q.quote_date == quote_date && q.delivery == delivery)
        {
            return Err(row.bad_row(format!(
                "quote date {quote_date} has delivery month {delivery} twice"
            )));
        }
        out.push(ForwardQuote {
            quote_date,
            delivery,
            usd_per_ph_day,
        });
    }
    if out.is_empty() {
        return Err(CsvError::Empty {
            file: csv.file().to_string(),
            message: "no data rows after the header".to_string(),
        });
    }
    out.sort_by_key(|q| (q.quote_date, q.delivery));
    Ok(out)
}

/// The curve of the newest quote date (or of `on`), sorted by month.
pub fn curve_on(quotes: &[ForwardQuote], on: Option<Date>) -> Vec<ForwardQuote> {
    let Some(day) = on.or_else(|| quotes.iter().map(|q| q.quote_date).max()) else {
        return Vec::new();
    };
    let mut c: Vec<ForwardQuote> = quotes
        .iter()
        .filter(|q| q.quote_date == day)
        .copied()
        .collect();
    c.sort_by_key(|q| q.delivery);
    c
}

/// Mean of a daily series over the days of `month`, where `daily[t]` is day `start + t`; `None`
/// when the series does not cover the whole month (or it starts before `start`).
pub fn month_mean(daily: &[f64], start: Date, month: Month) -> Option<f64> {
    let a = month.first_day().days_since(start);
    let z = month.next_first_day().days_since(start);
    if a < 0 || z as usize > daily.len() {
        return None;
    }
    let s = &daily[a as usize..z as usize];
    Some(s.iter().sum::<f64>() / s.len() as f64)
}

/// The last day a daily model path must reach to price every month of `curve`, as days after
/// `start` (0 when the curve is empty).
pub fn days_needed(curve: &[ForwardQuote], start: Date) -> usize {
    curve
        .iter()
        .map(|q| q.delivery.next_first_day().days_since(start).max(0) as usize)
        .max()
        .unwrap_or(0)
}

/// One delivery month: the forward beside the model's expectation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MonthFit {
    /// Delivery month.
    pub delivery: Month,
    /// The forward, USD per PH/s per day.
    pub forward: f64,
    /// The model's expected hashprice over the month at the scenario's drift.
    pub model: f64,
    /// The same at the fitted drift.
    pub model_fitted: f64,
}

/// The drift that makes the model match the curve in least squares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftFit {
    /// Quote date of the curve.
    pub quote_date: Date,
    /// The scenario's drift (`[price] drift`).
    pub drift_scenario: f64,
    /// The fitted drift.
    pub drift_fitted: f64,
    /// True when the fit stopped at an end of the search bracket (the curve is outside what any
    /// drift in it can produce).
    pub at_bound: bool,
    /// Root mean squared error at the scenario's drift, USD per PH/s per day.
    pub rmse_scenario: f64,
    /// The same at the fitted drift.
    pub rmse_fitted: f64,
    /// Per month.
    pub months: Vec<MonthFit>,
}

/// Errors of [`fit_drift`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForwardError {
    /// No month of the curve lies inside the modelled days.
    #[error("no delivery month of the {quote_date} curve lies between the market state {start} and the end of the model's horizon; give a curve that delivers after {start}")]
    NoMonths {
        /// Quote date.
        quote_date: Date,
        /// Start of the model.
        start: Date,
    },
    /// The model gave a non-finite expectation.
    #[error("the model's expected hashprice is not finite at drift {drift}")]
    NotFinite {
        /// The drift tried.
        drift: f64,
    },
}

/// Fits the drift: `expected(μ)` returns the model's expected daily hashprice (USD per PH/s per
/// day) from day `start` on, for drift `μ`, on common random numbers. Months the daily series does
/// not cover, or that started before `start`, are left out. Golden-section search on `[lo, hi]`
/// to a bracket of 1e-5.
pub fn fit_drift(
    curve: &[ForwardQuote],
    start: Date,
    drift_scenario: f64,
    (lo, hi): (f64, f64),
    mut expected: impl FnMut(f64) -> Vec<f64>,
) -> Result<DriftFit, ForwardError> {
    let quote_date = curve.first().map_or(start, |q| q.quote_date);
    let mut eval = |mu: f64| -> Result<(f64, Vec<(ForwardQuote, f64)>), ForwardError> {
        let daily = expected(mu);
        let mut sse = 0.0;
        let mut used = Vec::new();
        for q in curve {
            if q.delivery.first_day() < start {
                continue;
            }
            if let Some(m) = month_mean(&daily, start, q.delivery) {
                if !m.is_finite() {
                    return Err(ForwardError::NotFinite { drift: mu });
                }
                sse += (m - q.usd_per_ph_day).powi(2);
                used.push((*q, m));
            }
        }
        if used.is_empty() {
            return Err(ForwardError::NoMonths { quote_date, start });
        }
        Ok((sse, used))
    };
    let (sse0, base) = eval(drift_scenario)?;
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (lo, hi);
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let mut fc = eval(c)?.0;
    let mut fd = eval(d)?.0;
    while b - a > 1e-5 {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = eval(c)?.0;
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = eval(d)?.0;
        }
    }
    let mu = (a + b) / 2.0;
    let (sse1, fitted) = eval(mu)?;
    let n = base.len() as f64;
    let months = base
        .iter()
        .zip(&fitted)
        .map(|((q, m0), (_, m1))| MonthFit {
            delivery: q.delivery,
            forward: q.usd_per_ph_day,
            model: *m0,
            model_fitted: *m1,
        })
        .collect();
    Ok(DriftFit {
        quote_date,
        drift_scenario,
        drift_fitted: mu,
        at_bound: (mu - lo).abs() < 1e-4 || (hi - mu).abs() < 1e-4,
        rmse_scenario: (sse0 / n).sqrt(),
        rmse_fitted: (sse1 / n).sqrt(),
        months,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_rejects_with_the_column_named() {
        let q = parse_forwards(
            "quote_date,delivery_month,usd_per_ph_day\n2026-11-22,2027-01,41.5\n2026-11-22,2026-12,40\n",
            "f.csv",
        )
        .unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].delivery.to_string(), "2026-12");
        for (bad, want) in [
            ("2026-11-22,2027-13,40", "delivery_month"),
            ("2026-11-22,2026-10,40", "ends before the quote date"),
            ("2026-11-22,2027-01,-1", "usd_per_ph_day"),
            ("2026-11-22,2027-01,40\n2026-11-22,2027-01,41", "twice"),
        ] {
            let e = parse_forwards(
                &format!("quote_date,delivery_month,usd_per_ph_day\n{bad}\n"),
                "f.csv",
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn month_means_and_days() {
        let start = d("2026-11-22");
        let daily: Vec<f64> = (0..100).map(f64::from).collect();
        let dec = Month::parse("2026-12").unwrap();
        // December is days 9..=39 after 2026-11-22: mean 24.
        assert_eq!(month_mean(&daily, start, dec), Some(24.0));
        assert_eq!(
            month_mean(&daily, start, Month::parse("2026-11").unwrap()),
            None
        );
        assert_eq!(
            month_mean(&daily, start, Month::parse("2027-03").unwrap()),
            None
        );
        let c = [ForwardQuote {
            quote_date: start,
            delivery: dec,
            usd_per_ph_day: 1.0,
        }];
        assert_eq!(days_needed(&c, start), 40);
    }

    /// A model whose expectation is `40 · exp(μ t / 365)`: the fit recovers the drift that
    /// generated a curve, and reports the scenario's misfit.
    #[test]
    fn recovers_a_known_drift_of_an_exponential_model() {
        let start = d("2026-11-22");
        let model = |mu: f64| -> Vec<f64> {
            (0..800)
                .map(|t| 40.0 * (mu * f64::from(t) / 365.0).exp())
                .collect()
        };
        let truth = model(-0.3);
        let curve: Vec<ForwardQuote> = (1..=24)
            .map(|k| {
                let m = Month::parse(&start.add_days(31 * k).to_string()).unwrap();
                ForwardQuote {
                    quote_date: start,
                    delivery: m,
                    usd_per_ph_day: month_mean(&truth, start, m).unwrap(),
                }
            })
            .collect();
        let fit = fit_drift(&curve, start, 0.11, (-2.0, 2.0), model).unwrap();
        assert!(
            (fit.drift_fitted + 0.3).abs() < 1e-4,
            "{}",
            fit.drift_fitted
        );
        assert!(fit.rmse_fitted < 1e-3 && fit.rmse_scenario > 1.0, "{fit:?}");
        assert!(!fit.at_bound);
    }
}
