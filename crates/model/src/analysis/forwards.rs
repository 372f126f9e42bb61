//! A stored hashprice forward curve against the model, from the default scenario and its market
//! state:
//!
//! * [`fit_forwards`] (`hashpivot calibrate --forwards`): the price drift that makes the model's
//!   expected hashprice match the curve in least squares (`hashpivot_data::forwards::fit_drift`
//!   on [`crate::forward::expected_hashprice`]);
//! * [`forward_fan`] (the dashboard's history page): beside each delivery month, the model's
//!   distribution of the month's *average* hashprice (what a monthly forward prices): the mean
//!   over paths (what the fit matches, on the same paths and seed) and its p5 / p50 / p95.

use std::collections::BTreeSet;

use hashpivot_data::forwards::{curve_on, days_needed, fit_drift, DriftFit, ForwardQuote, Month};
use hashpivot_data::Date;
use serde::Serialize;

use crate::scenario::{market, Scenario};
use crate::stats::quantile_sorted;

/// Monte Carlo paths per model evaluation when the caller does not say.
pub const DEFAULT_PATHS: u64 = 2000;
/// Their seed when the caller does not say.
pub const DEFAULT_SEED: u64 = 42;

/// Monte Carlo paths per model evaluation that a fit accepts: fewer make the expectation too
/// noisy to fit, more make the many evaluations of the search too slow.
pub const PATHS: std::ops::RangeInclusive<u64> = 100..=1_000_000;

/// The drift search bracket: wider than any annual drift a scenario may hold.
pub const BRACKET: (f64, f64) = (-2.0, 2.0);

/// What a forward fit reads besides the stored marks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForwardsRequest {
    /// The curve of this quote date; `None`: the newest.
    pub quote_date: Option<Date>,
    /// Monte Carlo paths per model evaluation (common random numbers), in [`PATHS`].
    pub paths: u64,
    /// Seed of those paths.
    pub seed: u64,
}

/// Why a forward fit failed; every case is bad input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForwardsError {
    /// Paths outside [`PATHS`].
    #[error("--paths: {0} is not allowed; use 100 to 1,000,000")]
    Paths(u64),
    /// The store holds no forward marks.
    #[error("--forwards: the store has no forward marks; import a curve first: hashpivot data import forwards FILE (quote_date,delivery_month,usd_per_ph_day)")]
    NoMarks,
    /// No marks were quoted on the date asked.
    #[error("--quote-date: {0}")]
    NoCurve(NoCurve),
    /// The fit itself failed (no month inside the horizon, a non-finite model value).
    #[error(transparent)]
    Fit(#[from] hashpivot_data::forwards::ForwardError),
}

/// The result of [`fit_forwards`], printed as is by `calibrate --forwards --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardsCalibration {
    /// The fit, per month and overall. (Fields in alphabetical order: the JSON the CLI printed
    /// before this type existed, from a sorted map.)
    pub fit: DriftFit,
    /// The market state the model starts from.
    pub market_state_date: Date,
    /// Where that market state comes from (`None`: the shipped data).
    pub market_state_origin: Option<&'static str>,
    /// Paths per model evaluation.
    pub paths: u64,
    /// Their seed.
    pub seed: u64,
}

/// Fits `[price] drift` of the default scenario to the curve of `req.quote_date` among `quotes`.
pub fn fit_forwards(
    quotes: &[ForwardQuote],
    req: &ForwardsRequest,
) -> Result<ForwardsCalibration, ForwardsError> {
    if !PATHS.contains(&req.paths) {
        return Err(ForwardsError::Paths(req.paths));
    }
    if quotes.is_empty() {
        return Err(ForwardsError::NoMarks);
    }
    let curve = curve_on(quotes, req.quote_date);
    if curve.is_empty() {
        // Only a date asked can have no curve: without one, the newest quote date has one.
        return Err(ForwardsError::NoCurve(NoCurve {
            on: req.quote_date.unwrap_or(market::state().date),
            stored: quotes
                .iter()
                .map(|q| q.quote_date)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        }));
    }
    let sc = Scenario::default();
    let start = market::state().date;
    let days = days_needed(&curve, start);
    let fit = fit_drift(&curve, start, sc.price.drift, BRACKET, |mu| {
        let mut s = sc.clone();
        s.price.drift = mu;
        crate::forward::expected_hashprice(&s, days, req.paths, req.seed)
    })?;
    Ok(ForwardsCalibration {
        market_state_date: start,
        market_state_origin: market::origin(),
        paths: req.paths,
        seed: req.seed,
        fit,
    })
}

/// One delivery month: the forward and the model's distribution of the month's average
/// hashprice. The model fields are `null` for a month that started before the market state (the
/// model does not see its first days).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForwardMonth {
    /// Delivery month, `YYYY-MM`.
    pub delivery: Month,
    /// The forward mark, USD per PH/s per day.
    pub forward: f64,
    /// Mean over paths of the month's average hashprice.
    pub model_mean: Option<f64>,
    /// Its 5th percentile.
    pub model_p5: Option<f64>,
    /// Its median.
    pub model_p50: Option<f64>,
    /// Its 95th percentile.
    pub model_p95: Option<f64>,
}

/// A forward curve beside the model's fan (`GET /api/history/forwards`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardCurve {
    /// Quote date of the curve shown (`null` when there are no forward marks).
    pub quote_date: Option<Date>,
    /// Every stored quote date.
    pub quote_dates: Vec<Date>,
    /// The day the model starts from (the default scenario's market state).
    pub market_state_date: Date,
    /// Where that state comes from (`synced from URL`), `null` for the shipped data.
    pub market_state_origin: Option<String>,
    /// Unit of every value.
    pub unit: &'static str,
    /// Monte Carlo paths.
    pub paths: u64,
    /// Their seed.
    pub seed: u64,
    /// The curve, by delivery month.
    pub months: Vec<ForwardMonth>,
    /// What to do when there is nothing to show (`null` otherwise).
    pub message: Option<String>,
}

/// No marks were quoted on the day asked (the stored quote dates are in the error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no forward marks quoted on {on}; stored quote dates: {}", list(.stored))]
pub struct NoCurve {
    /// The day asked.
    pub on: Date,
    /// The stored quote dates.
    pub stored: Vec<Date>,
}

fn list(d: &[Date]) -> String {
    d.iter().map(Date::to_string).collect::<Vec<_>>().join(", ")
}

/// The curve of `on` (default: the newest) among `quotes` beside the model's distribution of each
/// delivery month's average hashprice on `paths` paths of seed `seed`. No marks at all is not an
/// error: the answer says how to import a curve (`message`).
pub fn forward_fan(
    quotes: &[ForwardQuote],
    on: Option<Date>,
    paths: u64,
    seed: u64,
) -> Result<ForwardCurve, NoCurve> {
    let state = market::state();
    let quote_dates: Vec<Date> = quotes
        .iter()
        .map(|x| x.quote_date)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = ForwardCurve {
        quote_date: None,
        quote_dates,
        market_state_date: state.date,
        market_state_origin: market::origin().map(str::to_string),
        unit: "USD per PH/s per day",
        paths,
        seed,
        months: Vec::new(),
        message: None,
    };
    if quotes.is_empty() {
        out.message = Some(
            "no forward marks stored: import a curve with `hashpivot data import forwards FILE` (quote_date,delivery_month,usd_per_ph_day)".into(),
        );
        return Ok(out);
    }
    let curve = curve_on(quotes, on);
    if curve.is_empty() {
        return Err(NoCurve {
            on: on.unwrap_or(state.date),
            stored: out.quote_dates,
        });
    }
    out.quote_date = curve.first().map(|c| c.quote_date);
    let start = state.date;
    // Months that started before the market state are shown without a model value.
    let ranges: Vec<(usize, usize)> = curve
        .iter()
        .map(|c| {
            let a = c.delivery.first_day().days_since(start);
            let z = c.delivery.next_first_day().days_since(start);
            if a < 0 {
                (0, 0)
            } else {
                (a as usize, z as usize)
            }
        })
        .collect();
    let per_path =
        crate::forward::hashprice_over_ranges(&Scenario::default(), &ranges, paths, seed);
    out.months = curve
        .iter()
        .zip(per_path)
        .map(|(c, v)| month_fan(c, v))
        .collect();
    Ok(out)
}

/// The forward of `c` beside the mean and quantiles of `v` (one month's average per path).
fn month_fan(c: &ForwardQuote, mut v: Vec<f64>) -> ForwardMonth {
    let stats = (!v.is_empty()).then(|| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.sort_by(f64::total_cmp);
        (
            mean,
            quantile_sorted(&v, 0.05),
            quantile_sorted(&v, 0.5),
            quantile_sorted(&v, 0.95),
        )
    });
    ForwardMonth {
        delivery: c.delivery,
        forward: c.usd_per_ph_day,
        model_mean: stats.map(|s| s.0),
        model_p5: stats.map(|s| s.1),
        model_p50: stats.map(|s| s.2),
        model_p95: stats.map(|s| s.3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashpivot_data::forwards::Month;

    fn quote(day: &str, month: &str, v: f64) -> ForwardQuote {
        ForwardQuote {
            quote_date: day.parse().unwrap(),
            delivery: Month::parse(month).unwrap(),
            usd_per_ph_day: v,
        }
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let req = |paths, on: Option<&str>| ForwardsRequest {
            quote_date: on.map(|d| d.parse().unwrap()),
            paths,
            seed: 1,
        };
        assert_eq!(
            fit_forwards(&[], &req(99, None)),
            Err(ForwardsError::Paths(99))
        );
        assert_eq!(
            fit_forwards(&[], &req(100, None)),
            Err(ForwardsError::NoMarks)
        );
        let q = [
            quote("2026-01-02", "2027-01", 50.0),
            quote("2025-12-01", "2027-01", 51.0),
        ];
        let e = fit_forwards(&q, &req(100, Some("2026-03-01"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--quote-date: no forward marks quoted on 2026-03-01; stored quote dates: 2025-12-01, 2026-01-02"
        );
    }
}
