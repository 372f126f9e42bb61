//! The hashprice forward curve on the history page: the stored curve (`hashpivot data import
//! forwards FILE`) beside the model's distribution of each delivery month's average hashprice,
//! simulated from the default scenario (the synced market state after a `data sync`).
//!
//! A monthly forward prices the month's *average* hashprice, so the model side is, on each Monte
//! Carlo path, the mean hashprice over the days of the delivery month; the answer gives the mean
//! over paths (what `hashpivot calibrate --forwards` fits the drift to, on the same paths and
//! seed) and the p5 / p50 / p95 of that distribution (the fan).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hashpivot_charts::{fractional_year, LineChart, LineSeries, Units, XKind};
use hashpivot_data::forwards::{curve_on, Month};
use hashpivot_data::Date;
use hashpivot_model::scenario::market;
use hashpivot_model::stats::quantile_sorted;
use hashpivot_model::Scenario;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// Monte Carlo paths when the request does not say (the default of `calibrate --forwards`).
pub const DEFAULT_PATHS: u64 = 2000;
/// Seed when the request does not say (the default of `calibrate --forwards`).
pub const DEFAULT_SEED: u64 = 42;
/// Most paths a request may ask for (the work grows with paths × delivery days).
pub const MAX_PATHS: u64 = 20_000;

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

/// The answer of `GET /api/history/forwards`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardCurve {
    /// Quote date of the curve shown (`null` when the store holds no forward marks).
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

fn parse_u64(
    q: &HashMap<String, String>,
    name: &str,
    default: u64,
    range: (u64, u64),
) -> Result<u64, ApiError> {
    let Some(v) = q.get(name) else {
        return Ok(default);
    };
    match v.parse::<u64>() {
        Ok(n) if (range.0..=range.1).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "{name} = {v:?}: allowed an integer from {} to {}",
            range.0, range.1
        ))
        .field(name)),
    }
}

/// Computes the curve for the query (`quote_date`, `paths`, `seed`); `max_paths` is the
/// server's run limit, which also bounds `paths`.
pub fn forward_curve(
    st: &AppState,
    q: &HashMap<String, String>,
    max_paths: u64,
) -> Result<ForwardCurve, ApiError> {
    if let Some(k) = q
        .keys()
        .find(|k| !["quote_date", "paths", "seed"].contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {k:?}: allowed quote_date, paths, seed"
        ))
        .field(k.clone()));
    }
    let on = crate::api::query_date("quote_date", q.get("quote_date").map(String::as_str))?;
    let paths = parse_u64(
        q,
        "paths",
        DEFAULT_PATHS.min(max_paths),
        (100, MAX_PATHS.min(max_paths).max(100)),
    )?;
    let seed = parse_u64(q, "seed", DEFAULT_SEED, (0, u64::MAX))?;
    let quotes = {
        let db = st.db.lock().unwrap_or_else(|p| p.into_inner());
        db.forwards()
            .map_err(|e| ApiError::internal(format!("reading the forward marks: {e}")))?
    };
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
    let curve = curve_on(&quotes, on);
    if curve.is_empty() {
        let list: Vec<String> = out.quote_dates.iter().map(Date::to_string).collect();
        return Err(ApiError::not_found(format!(
            "quote_date = {:?}: no forward marks quoted that day; stored quote dates: {}",
            q.get("quote_date").map_or("", String::as_str),
            list.join(", ")
        ))
        .field("quote_date"));
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
        hashpivot_model::forward::hashprice_over_ranges(&Scenario::default(), &ranges, paths, seed);
    out.months = curve
        .iter()
        .zip(per_path)
        .map(|(c, mut v)| {
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
        })
        .collect();
    Ok(out)
}

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

async fn compute(st: Arc<AppState>, q: HashMap<String, String>) -> Result<ForwardCurve, ApiError> {
    let max = st.limits.max_paths;
    tokio::task::spawn_blocking(move || forward_curve(&st, &q, max))
        .await
        .map_err(|e| ApiError::internal(format!("the forward-curve computation failed: {e}")))?
}

/// `GET /api/history/forwards`.
pub async fn forwards_json(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<ForwardCurve>, ApiError> {
    Ok(Json(compute(st, q).await?))
}

/// `GET /api/history/forwards/chart.svg`.
pub async fn forwards_svg(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let c = compute(st, q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        chart(&c),
    )
        .into_response())
}
