//! Routes of the market panel of the home page and the leases page ([`hashpivot_report::market`])
//! and of one machine's payback (`GET /api/payback`). Everything comes from the data compiled
//! into the binary (no network).

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hashpivot_data::date::Date;
use hashpivot_data::leases::leases;
use hashpivot_data::market::market_state;
use hashpivot_model::Scenario;
use hashpivot_report::market::{leases_chart, panel, LeasesPanel, MarketPanel};
use serde_json::Value;

use crate::error::ApiError;

fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_unix(i64::try_from(secs).unwrap_or(0))
}

/// `GET /api/market`: [`hashpivot_report::market::panel`] of the shipped data, today.
pub async fn market() -> Json<MarketPanel> {
    let hp = hashpivot_model::decision::hashprice_today(&Scenario::default());
    Json(panel(&market_state(), today(), hp))
}

/// The `rate` query parameter (a lease rate, $/kW-month), default: the default scenario's.
fn rate_of(q: &HashMap<String, String>) -> Result<f64, ApiError> {
    match q.get("rate") {
        None => Ok(Scenario::default().ai.lease_usd_per_kw_month),
        Some(s) => match s.parse::<f64>() {
            Ok(x) if (0.0..=10_000.0).contains(&x) => Ok(x),
            _ => Err(ApiError::bad_request(format!(
                "rate = {s:?}: allowed a number of $/kW-month, 0 <= rate <= 10000"
            ))
            .field("rate")),
        },
    }
}

/// `GET /api/leases?rate=R`: [`hashpivot_report::market::leases`] of the shipped deals.
pub async fn leases_api(
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<LeasesPanel<'static>>, ApiError> {
    let rate = rate_of(&q)?;
    Ok(Json(hashpivot_report::market::leases(shipped(), rate)))
}

/// The shipped deals, parsed once (a `'static` slice the answer borrows).
fn shipped() -> &'static [hashpivot_data::leases::Lease] {
    static L: std::sync::OnceLock<Vec<hashpivot_data::leases::Lease>> = std::sync::OnceLock::new();
    L.get_or_init(leases)
}

/// `GET /api/leases/chart.svg?rate=R`: [`leases_chart`] of the shipped deals.
pub async fn leases_svg(Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let svg = leases_chart(shipped(), rate_of(&q)?);
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        svg,
    )
        .into_response())
}

/// Most paths of a payback request (it answers while the client waits).
pub const MAX_PAYBACK_PATHS: u64 = 5_000;

/// A finite number query parameter.
fn num_param(
    q: &HashMap<String, String>,
    key: &str,
    default: Option<f64>,
) -> Result<f64, ApiError> {
    match (q.get(key), default) {
        (None, Some(d)) => Ok(d),
        (None, None) => Err(ApiError::bad_request(format!("{key} is required")).field(key)),
        (Some(s), _) => s
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                ApiError::bad_request(format!("{key} = {s:?}: allowed a number")).field(key)
            }),
    }
}

/// `GET /api/payback?hashrate_ths=H&power_w=W&price_usd_per_th=P[&paths=N][&life_years=Y]`: one
/// machine bought today, priced on the default scenario's paths (the market of the shipped data):
/// payback days, IRR and NPV percentiles, P(payback before the halving / end of life), P(NPV < 0).
pub async fn payback_api(
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let paths = num_param(&q, "paths", Some(1000.0))?;
    if !((1.0..=MAX_PAYBACK_PATHS as f64).contains(&paths) && paths.fract() == 0.0) {
        return Err(ApiError::invalid(format!(
            "paths = {paths}: allowed a whole number, 1 <= paths <= {MAX_PAYBACK_PATHS}"
        ))
        .field("paths"));
    }
    let cfg = hashpivot_model::payback::PaybackConfig {
        hashrate_ths: num_param(&q, "hashrate_ths", None)?,
        power_w: num_param(&q, "power_w", None)?,
        price_usd_per_th: num_param(&q, "price_usd_per_th", None)?,
        life_years: q
            .contains_key("life_years")
            .then(|| num_param(&q, "life_years", None))
            .transpose()?,
        paths: Some(paths as u64),
        seed: None,
    };
    let sc = Scenario::default();
    let out =
        tokio::task::spawn_blocking(move || hashpivot_model::payback::payback(&sc, &cfg, &|_| {}))
            .await
            .map_err(|e| ApiError::internal(format!("payback task: {e}")))?;
    match out {
        Ok(o) => serde_json::to_value(&o)
            .map(Json)
            .map_err(|e| ApiError::internal(format!("payback to JSON: {e}"))),
        Err(hashpivot_model::ModelError::BadOption {
            option,
            value,
            allowed,
        }) => {
            let key = if option == "machine_price_usd_per_th" {
                "price_usd_per_th".to_string()
            } else {
                option
            };
            Err(ApiError::invalid(format!("{key} = {value}: allowed {allowed}")).field(key))
        }
        Err(e) => Err(ApiError::invalid(e.to_string())),
    }
}

/// Registers this module's routes.
pub(crate) fn routes(r: crate::routes::Routes) -> crate::routes::Routes {
    r.add("get", "/api/market", market)
        .add("get", "/api/leases", leases_api)
        .add("get", "/api/leases/chart.svg", leases_svg)
        .add("get", "/api/payback", payback_api)
}
