//! The dispatch page's API: the hour-by-hour curtailment study of `hashpivot dispatch` (the
//! scenario's fleet against shipped ERCOT day-ahead prices), with the price-duration curve,
//! curtailment and savings by month, and the same site figures as `hashpivot dispatch --json`.
//! The economics are `hashpivot_dispatch`'s (the same study as the CLI); this module only turns query parameters and a
//! scenario into its inputs, and its outputs into JSON and SVG charts.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::Query;
use axum::Json;
use hashpivot_charts::{BarChart, BarSeries, LineChart, LineSeries, Marker, Units, XKind};
use hashpivot_data::ercot::{self, HourlySeries};
use hashpivot_dispatch::{
    DispatchConfig, DispatchReport, DispatchSite, FleetBatch, HourMarket, Market, MAX_MIN_HOURS,
};
use hashpivot_model::power::{self, DurationCurve};
use hashpivot_model::Scenario;
use serde_json::{json, Value};

use crate::error::ApiError;

/// The shipped series the page opens with (the last full year of ERCOT West hub prices).
pub const DEFAULT_PRICES: &str = "ercot:HB_WEST:2024";

/// Points of the price-duration curve (as the CLI's `--curve-points` default).
const CURVE_POINTS: usize = 101;

/// The inputs of one study, validated.
struct Plan {
    series: HourlySeries,
    fleet: Vec<FleetBatch>,
    site: DispatchSite,
    market: Market,
    hashprice_source: &'static str,
    cfg: DispatchConfig,
    flat_usd_mwh: f64,
}

fn bad(field: &str, msg: String) -> ApiError {
    ApiError::invalid(format!("{field} = {msg}")).field(field)
}

/// A finite number parameter within `lo..=hi`, or `None` when absent.
fn num(
    q: &HashMap<String, String>,
    key: &str,
    lo: f64,
    hi: f64,
    unit: &str,
) -> Result<Option<f64>, ApiError> {
    let Some(s) = q.get(key).filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(Some(x)),
        _ => Err(bad(
            key,
            format!("{s:?}: allowed a number {lo} <= x <= {hi} {unit}"),
        )),
    }
}

/// A whole number of hours within `1..=MAX_MIN_HOURS`, or `None` when absent.
fn hours_param(q: &HashMap<String, String>, key: &str) -> Result<Option<u32>, ApiError> {
    let Some(s) = q.get(key).filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    match s.trim().parse::<u32>() {
        Ok(h) if (1..=MAX_MIN_HOURS).contains(&h) => Ok(Some(h)),
        _ => Err(bad(
            key,
            format!(
                "{s:?}: allowed a whole number 1 <= hours <= {} (1 = no constraint)",
                MAX_MIN_HOURS
            ),
        )),
    }
}

fn date_param(
    q: &HashMap<String, String>,
    key: &str,
) -> Result<Option<hashpivot_data::Date>, ApiError> {
    let Some(s) = q.get(key).filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let d: hashpivot_data::Date = s
        .trim()
        .parse()
        .map_err(|e: hashpivot_data::DateError| bad(key, format!("{s:?}: {e}")))?;
    Ok(Some(d))
}

/// `16,17,18` → hour endings; `none` or empty → none.
fn fourcp_hours(s: &str) -> Result<Vec<u8>, ApiError> {
    if s.trim().is_empty() || s.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.trim().parse::<u8>() {
            Ok(h) if (1..=24).contains(&h) => {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
            _ => {
                return Err(bad(
                    "fourcp_hours",
                    format!("{s:?}: {:?} is not an hour ending; allowed a comma-separated list of 1 to 24 (HE17 = 16:00-17:00), or none", part.trim()),
                ))
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Validates the query against the scenario (the same rules and ranges as the CLI's flags).
fn plan(sc: &Scenario, q: &HashMap<String, String>) -> Result<Plan, ApiError> {
    let known = [
        "prices",
        "hashprice",
        "btc_usd",
        "from",
        "to",
        "credit_usd_mwh",
        "min_run_hours",
        "min_off_hours",
        "fourcp_hours",
        "fourcp_all_days",
        "fourcp_usd_kw_year",
        "flat_usd_mwh",
    ];
    if let Some(k) = q.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "{k}: unknown parameter; allowed {}",
            known.join(", ")
        ))
        .field(k.clone()));
    }
    let src = q.get("prices").map_or(DEFAULT_PRICES, |s| s.trim());
    if !ercot::is_ercot_name(src) {
        return Err(bad(
            "prices",
            format!("{src:?}: allowed a shipped series ercot:HUB:YEAR or ercot:HUB:FIRST-LAST (e.g. {DEFAULT_PRICES})"),
        ));
    }
    let series = ercot::series(src).map_err(|e| bad("prices", format!("{src:?}: {e}")))?;
    let (from, to) = (date_param(q, "from")?, date_param(q, "to")?);
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(bad("from", format!("{f:?} is after to = {t:?}")));
        }
    }
    let series = if from.is_some() || to.is_some() {
        let s = series.between(from, to);
        if s.is_empty() {
            return Err(bad(
                "from",
                format!("no hours of {} between from and to", series.label),
            ));
        }
        s
    } else {
        series
    };
    let mut cfg = DispatchConfig::default();
    if let Some(x) = num(q, "credit_usd_mwh", 0.0, 10_000.0, "$/MWh curtailed")? {
        cfg.credit_usd_mwh = x;
    }
    if let Some(h) = hours_param(q, "min_run_hours")? {
        cfg.min_run_hours = h;
    }
    if let Some(h) = hours_param(q, "min_off_hours")? {
        cfg.min_off_hours = h;
    }
    if let Some(s) = q.get("fourcp_hours") {
        cfg.fourcp_hours = fourcp_hours(s)?;
    }
    match q.get("fourcp_all_days").map(|s| s.trim()) {
        None | Some("" | "false" | "0") => {}
        Some("true" | "1") => cfg.fourcp_weekdays_only = false,
        Some(s) => {
            return Err(bad(
                "fourcp_all_days",
                format!("{s:?}: allowed true or false"),
            ))
        }
    }
    if let Some(x) = num(q, "fourcp_usd_kw_year", 0.0, 10_000.0, "$/kW-year")? {
        cfg.fourcp_usd_kw_year = x;
    }
    if cfg.fourcp_usd_kw_year > 0.0 && cfg.fourcp_hours.is_empty() {
        return Err(bad(
            "fourcp_usd_kw_year",
            format!("{}: a 4CP transmission saving needs peak-risk hours; set fourcp_hours (e.g. 16,17,18)", cfg.fourcp_usd_kw_year),
        ));
    }
    cfg.validate()
        .map_err(|e| ApiError::invalid(e.to_string()).field("dispatch"))?;
    let btc_usd = num(q, "btc_usd", f64::MIN_POSITIVE, 1e12, "USD")?.unwrap_or(sc.price.spot);
    // The scenario's hashvalue at its market state (MODEL.md §2), as the CLI computes it.
    let (hv, hashprice_source) = match num(
        q,
        "hashprice",
        f64::MIN_POSITIVE,
        1e6,
        "USD per PH/s per day",
    )? {
        Some(x) => (x / btc_usd, "flag"),
        None => (hashpivot_dispatch::scenario_hashvalue(sc), "scenario"),
    };
    let flat_usd_mwh = num(q, "flat_usd_mwh", -1e5, 1e5, "$/MWh")?.unwrap_or(sc.site.power_usd_mwh);
    let fleet: Vec<FleetBatch> = FleetBatch::of_scenario(sc);
    if fleet.is_empty() {
        return Err(ApiError::invalid(
            "mining.fleet: the scenario has no machines to dispatch; add fleet entries",
        )
        .field("mining.fleet"));
    }
    Ok(Plan {
        series,
        fleet,
        site: DispatchSite {
            overhead: sc.mining.overhead,
            pool_fee: sc.mining.pool_fee,
            availability: sc.mining.uptime,
        },
        market: Market::Constant(HourMarket {
            hv_btc_per_ph_day: hv,
            btc_usd,
        }),
        hashprice_source,
        cfg,
        flat_usd_mwh,
    })
}

fn run(p: &Plan, series: &HourlySeries, cfg: &DispatchConfig) -> Result<DispatchReport, ApiError> {
    hashpivot_dispatch::dispatch(series, &p.fleet, &p.site, &p.market, cfg)
        .map_err(|e| ApiError::invalid(e.to_string()).field("scenario"))
}

/// The study as JSON: the CLI's `--json` document (site, batches, flat contract, curve) plus
/// `months` and `charts` (SVG).
fn study(sc: &Scenario, q: &HashMap<String, String>) -> Result<Value, ApiError> {
    let p = plan(sc, q)?;
    let report = run(&p, &p.series, &p.cfg)?;
    // The flat contract: the same fleet at one price every hour, without credits, minimum times
    // or 4CP (MODEL.md §4), as `hashpivot dispatch` computes it.
    let flat_series = HourlySeries {
        label: format!("flat ${}/MWh", p.flat_usd_mwh),
        hours: p.series.hours.clone(),
        usd_mwh: vec![p.flat_usd_mwh; p.series.len()],
    };
    let flat = run(&p, &flat_series, &DispatchConfig::default())?;
    let curve = DurationCurve::from_series(&p.series)
        .map_err(|e| ApiError::invalid(e.to_string()).field("prices"))?;
    let points = curve.points(CURVE_POINTS);
    // Each month dispatched on its own (as `--by-year` does for years): minimum run/off times
    // restart at month boundaries, so with them the months sum to slightly less than the year.
    let mut months = Vec::new();
    let mut start = 0;
    let s = &p.series;
    while start < s.len() {
        let (y, m) = (s.hours[start].year(), s.hours[start].month());
        let end = start
            + s.hours[start..]
                .iter()
                .take_while(|h| h.year() == y && h.month() == m)
                .count();
        let sub = HourlySeries {
            label: format!("{} {y}-{m:02}", s.label),
            hours: s.hours[start..end].to_vec(),
            usd_mwh: s.usd_mwh[start..end].to_vec(),
        };
        let r = run(&p, &sub, &p.cfg)?;
        months.push(json!({
            "month": format!("{y}-{m:02}"),
            "hours": sub.len(),
            "mean_price_usd_mwh": sub.mean(),
            "site": r.site,
        }));
        start = end;
    }
    let hashprice_usd = match &p.market {
        Market::Constant(m) => m.hv_btc_per_ph_day * m.btc_usd,
        Market::Hourly(_) => f64::NAN,
    };
    let charts = json!({
        "duration": duration_svg(&points, &report),
        "curtailment": months_svg(&months, "Curtailed energy by month", "MWh curtailed", |t| t["curtailed_mwh"].as_f64().unwrap_or(0.0), Units::default()),
        "savings": months_svg(&months, "Savings by month: curtailment + credits + 4CP", "USD", |t| {
            ["curtailment_savings_usd", "credits_usd", "fourcp_savings_usd"].iter().map(|k| t[*k].as_f64().unwrap_or(0.0)).sum()
        }, Units { prefix: "$".into(), ..Units::default() }),
    });
    let min = s.usd_mwh.iter().copied().fold(f64::INFINITY, f64::min);
    let max = s.usd_mwh.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(json!({
        "prices": {
            "source": s.label,
            "hours": s.len(),
            "first": s.hours.first().map(|h| h.to_string()),
            "last": s.hours.last().map(|h| h.to_string()),
            "mean_usd_mwh": s.mean(),
            "min_usd_mwh": min,
            "max_usd_mwh": max,
        },
        "hashprice": {
            "source": p.hashprice_source,
            "usd_per_ph_day": hashprice_usd,
        },
        "dispatch": p.cfg,
        "hours": report.hours,
        "fourcp_summers": report.fourcp_summers,
        "site": report.site,
        "batches": report.batches,
        "flat_contract": {"price_usd_mwh": p.flat_usd_mwh, "site": flat.site},
        "curve": {
            "points": points,
            "breakeven_usd_mwh": report.batches.iter().map(|b| json!({
                "model": b.model, "usd_mwh": b.breakeven_usd_mwh, "uptime": b.totals.uptime,
            })).collect::<Vec<_>>(),
        },
        "months": months,
        "charts": charts,
    }))
}

/// The price-duration curve (price against the share of hours at or above it), with each batch's
/// break-even price as a level: the hours above it are the ones curtailed.
fn duration_svg(points: &[power::CurvePoint], report: &DispatchReport) -> String {
    // A few scarcity hours ($2,000+/MWh) would squash the break-evens (~$60) into the floor:
    // the axis stops at twice the highest break-even or the price of the top 2 % of hours,
    // whichever is higher, and prices above it are drawn at the top (the title says so).
    let top_be = report
        .batches
        .iter()
        .map(|b| b.breakeven_usd_mwh)
        .fold(0.0, f64::max);
    let p2 = points
        .iter()
        .find(|p| p.exceedance >= 0.02)
        .map_or(0.0, |p| p.usd_mwh);
    let cap = (2.0 * top_be).max(p2).max(1.0);
    let clipped = points.iter().any(|p| p.usd_mwh > cap);
    let mut series = vec![LineSeries {
        name: "hourly price".into(),
        points: points
            .iter()
            .map(|p| (100.0 * p.exceedance, p.usd_mwh.min(cap)))
            .collect(),
        step: false,
    }];
    for b in &report.batches {
        series.push(LineSeries {
            name: b.model.clone(),
            points: vec![(0.0, b.breakeven_usd_mwh), (100.0, b.breakeven_usd_mwh)],
            step: false,
        });
    }
    LineChart {
        title: if clipped {
            format!("Price-duration curve, each batch's break-even (cut at ${cap:.0})")
        } else {
            "Price-duration curve and each batch's break-even".into()
        },
        x_label: "% of hours at or above the price".into(),
        y_label: "$/MWh".into(),
        x_kind: XKind::Plain,
        units: Units {
            prefix: "$".into(),
            ..Units::default()
        },
        series,
        markers: Vec::<Marker>::new(),
        ..LineChart::default()
    }
    .to_svg()
}

fn months_svg(
    months: &[Value],
    title: &str,
    y_label: &str,
    value: impl Fn(&Value) -> f64,
    units: Units,
) -> String {
    BarChart {
        title: title.into(),
        x_label: "month".into(),
        y_label: y_label.into(),
        units,
        groups: months
            .iter()
            .map(|m| m["month"].as_str().unwrap_or("").to_string())
            .collect(),
        series: vec![BarSeries {
            name: y_label.into(),
            values: months.iter().map(|m| value(&m["site"])).collect(),
        }],
        reference: None,
    }
    .to_svg()
}

/// `GET /api/dispatch?prices=ercot:HB_WEST:2024&…`: the study on the default scenario.
pub async fn dispatch_get(
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let sc = Scenario::default();
    blocking(sc, q).await
}

/// `POST /api/dispatch?…` with a scenario (JSON) as the body: the study on that scenario's fleet,
/// overhead, availability, pool fee, market state and site power price.
pub async fn dispatch_post(
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")).field("body"))?;
    let sc = crate::runner::scenario_from_json(&v)?;
    sc.validate()
        .map_err(|e| crate::runner::scenario_error(&e))?;
    blocking(sc, q).await
}

async fn blocking(sc: Scenario, q: HashMap<String, String>) -> Result<Json<Value>, ApiError> {
    tokio::task::spawn_blocking(move || study(&sc, &q))
        .await
        .map_err(|e| ApiError::internal(format!("dispatch task: {e}")))?
        .map(Json)
}

/// Registers this module's routes.
pub(crate) fn routes(r: crate::routes::Routes) -> crate::routes::Routes {
    r.add("get", "/api/dispatch", dispatch_get)
        .add("post", "/api/dispatch", dispatch_post)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bad_input_names_the_field() {
        let sc = Scenario::default();
        for (k, v) in [
            ("prices", "nyiso:ZONE_J:2024"),
            ("min_run_hours", "0"),
            ("credit_usd_mwh", "-1"),
            ("fourcp_hours", "25"),
            ("hashprice", "abc"),
            ("from", "2024-13-01"),
            ("bogus", "1"),
        ] {
            let e = study(&sc, &q(&[(k, v)])).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(k), "{k}={v}: {}", e.error);
        }
    }

    #[test]
    fn months_cover_every_hour_and_sum_to_the_year_without_minimum_times() {
        let v = study(&Scenario::default(), &q(&[])).unwrap();
        let months = v["months"].as_array().unwrap();
        assert_eq!(months.len(), 12);
        let hours: u64 = months.iter().map(|m| m["hours"].as_u64().unwrap()).sum();
        assert_eq!(hours, v["hours"].as_u64().unwrap());
        let mwh: f64 = months
            .iter()
            .map(|m| m["site"]["curtailed_mwh"].as_f64().unwrap())
            .sum();
        let year = v["site"]["curtailed_mwh"].as_f64().unwrap();
        assert!(
            (mwh - year).abs() <= 1e-9 * year.abs().max(1.0),
            "{mwh} vs {year}"
        );
        assert!(v["charts"]["duration"]
            .as_str()
            .unwrap()
            .starts_with("<svg"));
    }
}
