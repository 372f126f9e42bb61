//! Routes of the hashprice forward curve on the history page: the stored curve (`hashpivot data
//! import forwards FILE`) beside the model's distribution of each delivery month's average
//! hashprice ([`hashpivot_model::analysis::forwards::forward_fan`], simulated from the default
//! scenario: the synced market state after a `data sync`), and its chart
//! ([`hashpivot_report::forwards::chart`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hashpivot_model::analysis::forwards::{forward_fan, ForwardCurve, DEFAULT_PATHS, DEFAULT_SEED};

use crate::error::ApiError;
use crate::state::AppState;

/// Most paths a request may ask for (the work grows with paths × delivery days).
pub const MAX_PATHS: u64 = 20_000;

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
    let on = crate::routes::query_date("quote_date", q.get("quote_date").map(String::as_str))?;
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
    forward_fan(&quotes, on, paths, seed).map_err(|e| {
        ApiError::not_found(format!(
            "quote_date = {:?}: no forward marks quoted that day; stored quote dates: {}",
            q.get("quote_date").map_or("", String::as_str),
            e.stored
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .field("quote_date")
    })
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
        hashpivot_report::forwards::chart(&c),
    )
        .into_response())
}
