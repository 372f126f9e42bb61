//! The market panel of the home page and the leases page: today's hashprice, difficulty, the next
//! retarget and halving, how fresh the shipped data is, and the announced AI/HPC leases with a
//! rate placed among them. Everything comes from the data compiled into the binary (no network).

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hashpivot_charts::{BarChart, BarSeries, Units};
use hashpivot_data::date::Date;
use hashpivot_data::leases::{lease_rank_among, leases, Lease};
use hashpivot_data::market::{market_state, MarketState};
use hashpivot_model::Scenario;
use serde_json::{json, Value};

use crate::error::ApiError;

/// Blocks between difficulty retargets.
const RETARGET_BLOCKS: u32 = 2016;
/// Blocks between subsidy halvings.
const HALVING_BLOCKS: u32 = 210_000;

/// The market figures of `m` as seen on `today` (for the data's age).
pub fn market_json(m: &MarketState, today: Date, hashprice: f64) -> Value {
    let per_day = if m.blocks_per_day > 0.0 {
        m.blocks_per_day
    } else {
        144.0
    };
    let next_retarget = m.epoch_start_height + RETARGET_BLOCKS;
    let next_halving = (m.height / HALVING_BLOCKS + 1) * HALVING_BLOCKS;
    let eta = |height: u32| {
        let blocks = height.saturating_sub(m.height);
        let days = f64::from(blocks) / per_day;
        // Whole days from the state's date; rounding keeps "about" dates honest.
        json!({"height": height, "blocks": blocks, "days": days,
               "date": m.date.add_days(days.round() as i32).to_string()})
    };
    json!({
        "date": m.date.to_string(),
        "price_date": m.price_date.to_string(),
        "spot_usd": m.spot_usd,
        "height": m.height,
        "difficulty": m.difficulty,
        "difficulty_epoch": m.difficulty_epoch,
        "difficulty_current": m.difficulty_current,
        "hashrate_ehs": m.hashrate_ehs,
        "blocks_per_day": m.blocks_per_day,
        "fees_btc_per_block": m.fees_btc_per_block,
        "hashprice_usd_per_ph_day": hashprice,
        "next_retarget": eta(next_retarget),
        "next_halving": eta(next_halving),
        "data_age_days": today.days_since(m.date),
    })
}

fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_unix(i64::try_from(secs).unwrap_or(0))
}

/// `GET /api/market`: [`market_json`] of the shipped data, today.
pub async fn market() -> Json<Value> {
    let hp = hashpivot_model::decision::hashprice_today(&Scenario::default());
    Json(market_json(&market_state(), today(), hp))
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

/// The deals sorted by rate with `rate` placed among them.
pub fn leases_json(deals: &[Lease], rate: f64) -> Value {
    let mut sorted: Vec<&Lease> = deals.iter().collect();
    sorted.sort_by(|a, b| b.usd_per_kw_month.total_cmp(&a.usd_per_kw_month));
    let rank = lease_rank_among(rate, deals);
    let mut rates: Vec<f64> = deals.iter().map(|d| d.usd_per_kw_month).collect();
    rates.sort_by(f64::total_cmp);
    let median = (!rates.is_empty()).then(|| {
        let n = rates.len();
        if n % 2 == 1 {
            rates[n / 2]
        } else {
            (rates[n / 2 - 1] + rates[n / 2]) / 2.0
        }
    });
    json!({
        "rate": rate,
        "deals_above": rank.deals_above,
        "deals_below": rank.deals_below,
        "total": rank.total,
        "phrase": rank.phrase(),
        "median": median,
        "deals": sorted,
    })
}

/// `GET /api/leases?rate=R`: [`leases_json`] of the shipped deals.
pub async fn leases_api(Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(leases_json(&leases(), rate_of(&q)?)))
}

/// The deals' rates as bars, highest first, with `rate` drawn across them.
pub fn leases_chart(deals: &[Lease], rate: f64) -> String {
    let mut sorted: Vec<&Lease> = deals.iter().collect();
    sorted.sort_by(|a, b| b.usd_per_kw_month.total_cmp(&a.usd_per_kw_month));
    BarChart {
        title: "Announced AI/HPC leases: average rate over the term".into(),
        x_label: "deal (miner)".into(),
        y_label: "$/kW-month".into(),
        units: Units {
            prefix: "$".into(),
            ..Units::default()
        },
        groups: sorted.iter().map(|l| l.company.clone()).collect(),
        series: vec![BarSeries {
            name: "announced deal".into(),
            values: sorted.iter().map(|l| l.usd_per_kw_month).collect(),
        }],
        reference: Some((rate, format!("your rate ${rate:.0}/kW-month"))),
    }
    .to_svg()
}

/// `GET /api/leases/chart.svg?rate=R`: [`leases_chart`] of the shipped deals.
pub async fn leases_svg(Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let svg = leases_chart(&leases(), rate_of(&q)?);
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
pub(crate) fn routes(r: crate::api::Routes) -> crate::api::Routes {
    r.add("get", "/api/market", market)
        .add("get", "/api/leases", leases_api)
        .add("get", "/api/leases/chart.svg", leases_svg)
        .add("get", "/api/payback", payback_api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_retarget_and_halving_follow_the_height() {
        let mut m = market_state();
        m.height = 1_049_000;
        m.epoch_start_height = 1_048_320;
        m.blocks_per_day = 144.0;
        let v = market_json(&m, m.date.add_days(3), 50.0);
        assert_eq!(v["next_retarget"]["height"], 1_050_336);
        assert_eq!(v["next_retarget"]["blocks"], 1_336);
        assert_eq!(v["next_halving"]["height"], 1_050_000);
        assert_eq!(v["next_halving"]["blocks"], 1_000);
        assert_eq!(
            v["next_halving"]["date"],
            m.date.add_days(7).to_string(),
            "1000 blocks at 144 a day is 6.9 days"
        );
        assert_eq!(v["data_age_days"], 3);
        assert_eq!(v["hashprice_usd_per_ph_day"], 50.0);
    }

    #[test]
    fn a_rate_is_placed_among_the_deals() {
        let deals = leases();
        assert!(deals.len() >= 5);
        let mut rates: Vec<f64> = deals.iter().map(|d| d.usd_per_kw_month).collect();
        rates.sort_by(f64::total_cmp);
        let top = rates[rates.len() - 1];
        let v = leases_json(&deals, top + 1.0);
        assert_eq!(v["deals_below"], deals.len());
        assert_eq!(v["deals_above"], 0);
        let v = leases_json(&deals, 0.0);
        assert_eq!(v["deals_above"], deals.len());
        // Sorted highest first.
        assert_eq!(v["deals"][0]["usd_per_kw_month"], top);
        let svg = leases_chart(&deals, 120.0);
        assert_eq!(svg.matches("class=\"hp-bar\"").count(), deals.len());
        assert!(svg.contains("your rate $120/kW-month"));
    }
}
