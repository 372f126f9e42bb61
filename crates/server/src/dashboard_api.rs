//! The dashboard's decision-oriented routes: the decision card of a run (computed once per run,
//! [`crate::decisions`]), run names, the runs list with key figures, removal of a finished run, a
//! side-by-side comparison of runs ([`hashpivot_report::runs`]), and CSV and XLSX downloads of
//! a run's tables ([`hashpivot_report::csv`], [`hashpivot_report::xlsx`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hashpivot_model::Scenario;
use hashpivot_store::runs::{self, RunStatus};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::decisions;
use crate::error::ApiError;
use crate::routes::{check_id, iso, limit_param, load};
use crate::state::AppState;
use hashpivot_report::decision::{delta_chart, grid_chart};
use hashpivot_report::runs::{differences, key_figures, strategy_summaries};
use hashpivot_report::{cashflow_csv, decision_csv};

type St = Arc<AppState>;

/// Longest run name, in characters.
pub const MAX_NAME: usize = 120;

/// Most runs a comparison takes.
pub const MAX_COMPARE: usize = 6;

/// How long `GET /api/runs/{id}/decision` waits for a decision being computed before answering
/// 202 (below the server's request deadline).
const DECISION_WAIT: std::time::Duration = std::time::Duration::from_secs(8);

fn db_err(e: rusqlite::Error) -> ApiError {
    ApiError::internal(format!("run store: {e}"))
}

/// The run's name, if it has one.
fn name_of(c: &Connection, id: &str) -> Result<Option<String>, rusqlite::Error> {
    c.query_row(
        "SELECT name FROM run_names WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()
}

fn stored_scenario(v: &Value) -> Result<Scenario, ApiError> {
    serde_json::from_value(v.clone())
        .map_err(|e| ApiError::internal(format!("the stored scenario does not parse: {e}")))
}

/// `GET /api/runs/{id}/decision`: the decision card's figures; 202 `{"status": "computing"}` with
/// `Retry-After` while the break-even search runs (the first request starts it), 409 until the run
/// is done.
pub async fn run_decision(
    State(st): State<St>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = load(&st, &id)?;
    if r.status != RunStatus::Done {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "run {id} is {}: the decision exists once it is done",
                r.status.as_str()
            ),
        )
        .field("id"));
    }
    let cell = decisions::start(&id, stored_scenario(&r.scenario)?);
    // Wait a while within the request deadline; past it the client polls (202).
    let deadline = std::time::Instant::now() + DECISION_WAIT;
    while cell.get().is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    match cell.get().cloned() {
        None => Ok((
            StatusCode::ACCEPTED,
            [(header::RETRY_AFTER, "1")],
            Json(json!({"id": id, "status": "computing", "retry_after_s": 1})),
        )
            .into_response()),
        Some(Ok(mut v)) => {
            v["id"] = json!(id);
            v["status"] = json!("done");
            Ok(Json(v).into_response())
        }
        Some(Err(e)) => {
            decisions::forget(&id);
            Err(ApiError::internal(format!("decision of run {id}: {e}")))
        }
    }
}

/// `GET /api/runs/{id}/decision/delta.svg`: [`delta_chart`] of a computed decision (409 until
/// `GET /api/runs/{id}/decision` has answered 200).
pub async fn run_delta_chart(
    State(st): State<St>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    decision_svg(
        &st,
        &id,
        delta_chart,
        "no strategy other than mining to compare",
    )
}

/// `GET /api/runs/{id}/decision/grid.svg`: [`grid_chart`] of a computed decision (409 until
/// `GET /api/runs/{id}/decision` has answered 200; 404 without break-even search).
pub async fn run_grid_chart(
    State(st): State<St>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    decision_svg(&st, &id, grid_chart, "no lease × capex grid")
}

fn decision_svg(
    st: &St,
    id: &str,
    chart: fn(&Value) -> Option<String>,
    missing: &str,
) -> Result<Response, ApiError> {
    let _ = load(st, id)?;
    let Some(d) = decisions::computed(id) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the decision of run {id} is not computed yet: GET /api/runs/{id}/decision first"
            ),
        )
        .field("id"));
    };
    match chart(&d) {
        Some(svg) => Ok((
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            svg,
        )
            .into_response()),
        None => Err(ApiError::not_found(format!("run {id} has {missing}")).field("id")),
    }
}

/// `DELETE /api/runs/{id}`: cancels a queued or running run (202; it stops at its next progress
/// report, between blocks of paths, and is then `cancelled`) and removes a finished (done, failed
/// or cancelled) run with its name (204). 409 in the moment a run is finishing (neither
/// cancellable nor final yet), 404 when there is no such run.
pub async fn delete_run(
    State(st): State<St>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = load(&st, &id)?;
    if st.cancel(&id) {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "status": "cancelling"})),
        )
            .into_response());
    }
    if !r.status.is_final() || st.live_receiver(&id).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "run {id} is {} and finishing: try again in a moment",
                r.status.as_str()
            ),
        )
        .field("id"));
    }
    st.with_db(|c| -> Result<(), rusqlite::Error> {
        c.execute("DELETE FROM run_names WHERE id = ?1", params![id])?;
        c.execute("DELETE FROM runs WHERE id = ?1", params![id])?;
        Ok(())
    })
    .map_err(db_err)?;
    decisions::forget(&id);
    summaries()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/runs/{id}/name` with `{"name": "..."}`: names (or, with an empty name, unnames) a run.
pub async fn set_name(
    State(st): State<St>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let _ = load(&st, &id)?;
    let body = body.map_err(|e| {
        ApiError::new(e.status(), format!("cannot read the request body: {e}")).field("body")
    })?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")).field("body"))?;
    let obj = v.as_object().ok_or_else(|| {
        ApiError::bad_request("the body must be an object {\"name\": \"...\"}").field("body")
    })?;
    if let Some(k) = obj.keys().find(|k| *k != "name") {
        return Err(
            ApiError::invalid(format!("unknown key {k:?}: allowed \"name\"")).field(k.clone()),
        );
    }
    let name = match obj.get("name") {
        Some(Value::String(s)) => s.trim().to_string(),
        other => {
            return Err(ApiError::invalid(format!(
                "name = {}: allowed a string of at most {MAX_NAME} characters",
                other
                    .map(Value::to_string)
                    .unwrap_or_else(|| "missing".into())
            ))
            .field("name"))
        }
    };
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "name = {:?}: allowed at most {MAX_NAME} characters, no control characters",
            name.chars().take(40).collect::<String>()
        ))
        .field("name"));
    }
    st.with_db(|c| {
        if name.is_empty() {
            c.execute("DELETE FROM run_names WHERE id = ?1", params![id])
        } else {
            c.execute(
                "INSERT INTO run_names (id, name) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                params![id, name],
            )
        }
    })
    .map_err(db_err)?;
    Ok(Json(
        json!({"id": id, "name": if name.is_empty() { Value::Null } else { json!(name) }}),
    ))
}

fn summaries() -> &'static Mutex<HashMap<String, Value>> {
    static S: OnceLock<Mutex<HashMap<String, Value>>> = OnceLock::new();
    S.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `GET /api/runs/overview?limit=N`: the runs, newest first, with names and, for finished runs, key
/// figures; for the live list of the runs page.
pub async fn overview(
    State(st): State<St>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = limit_param(&q, 500)?;
    let list = st.with_db(|c| runs::list(c, limit))?;
    let mut out = Vec::with_capacity(list.len());
    for r in list {
        let (status, progress) = match st.live_receiver(&r.id) {
            Some(rx) => {
                let s = *rx.borrow();
                (s.status, s.progress)
            }
            None => (r.status, r.progress),
        };
        let name = st.with_db(|c| name_of(c, &r.id)).map_err(db_err)?;
        let mut figures = Value::Null;
        if status == RunStatus::Done {
            let cached = summaries()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&r.id)
                .cloned();
            figures = match cached {
                Some(v) => v,
                None => {
                    let full = st.with_db(|c| runs::get(c, &r.id))?;
                    let v = full
                        .and_then(|f| f.result)
                        .map(|res| key_figures(&res))
                        .unwrap_or(Value::Null);
                    summaries()
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(r.id.clone(), v.clone());
                    v
                }
            };
        }
        out.push(json!({
            "id": r.id,
            "name": name,
            "status": status.as_str(),
            "progress": progress,
            "created": iso(r.created_ms),
            "finished": r.finished_ms.map(iso),
            "request": r.request,
            "error": r.error,
            "figures": figures,
        }));
    }
    Ok(Json(Value::Array(out)))
}

/// `GET /api/compare?ids=a,b[,c…]`: two to six finished runs side by side: names, key figures,
/// each strategy's NPV (mean, s.e., p5, p95) and the scenario keys that differ.
pub async fn compare(
    State(st): State<St>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let ids: Vec<String> = q
        .get("ids")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if ids.len() < 2 || ids.len() > MAX_COMPARE {
        return Err(ApiError::bad_request(format!(
            "ids = {:?}: allowed 2 to {MAX_COMPARE} run ids separated by commas",
            q.get("ids").map(String::as_str).unwrap_or("")
        ))
        .field("ids"));
    }
    let mut runs_out = Vec::new();
    let mut scenarios = Vec::new();
    for id in &ids {
        check_id(id)?;
        let r = load(&st, id)?;
        let Some(result) = r.result.as_ref().filter(|_| r.status == RunStatus::Done) else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "run {id} is {}: only finished runs can be compared",
                    r.status.as_str()
                ),
            )
            .field("ids"));
        };
        let name = st.with_db(|c| name_of(c, id)).map_err(db_err)?;
        runs_out.push(json!({
            "id": id,
            "name": name,
            "created": iso(r.created_ms),
            "figures": key_figures(result),
            "strategies": strategy_summaries(result),
        }));
        scenarios.push(r.scenario);
    }
    let differences = differences(&scenarios.iter().collect::<Vec<_>>());
    Ok(Json(json!({"runs": runs_out, "differences": differences})))
}

/// `GET /api/runs/{id}/export/{table}.csv`: `results`, `bands`, `inputs`, `cashflow`
/// (year-by-year), `sensitivity` (when computed) or `decision` (once computed); or
/// `workbook.xlsx`: all of them, one sheet each.
pub async fn export_csv(
    State(st): State<St>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let table = file.strip_suffix(".csv").unwrap_or(&file).to_string();
    let r = load(&st, &id)?;
    let Some(result) = r.result.as_ref().filter(|_| r.status == RunStatus::Done) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "run {id} is {}: downloads exist once it is done",
                r.status.as_str()
            ),
        )
        .field("id"));
    };
    let computed = || decisions::computed(&id);
    if file == "workbook.xlsx" {
        // Every table of the CSV downloads, one sheet each (the decision once computed).
        let d = computed();
        let bytes =
            hashpivot_report::xlsx::run_workbook(&r.scenario, result, d.as_ref()).map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot write the workbook: {e}"),
                )
            })?;
        let disposition = format!("attachment; filename=\"hashpivot-{id}.xlsx\"");
        return Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            bytes,
        )
            .into_response());
    }
    let text = if table == "cashflow" {
        Some(cashflow_csv(result))
    } else if table == "decision" {
        match computed() {
            Some(d) => Some(decision_csv(&d)),
            None => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("the decision of run {id} is not computed yet: GET /api/runs/{id}/decision first"),
                )
                .field("table"))
            }
        }
    } else {
        hashpivot_report::csv_tables(&r.scenario, result)
            .into_iter()
            .find(|(n, _)| n.strip_suffix(".csv") == Some(table.as_str()))
            .map(|(_, t)| t)
    };
    let Some(text) = text else {
        return Err(ApiError::not_found(format!(
            "table {table:?}: allowed results, bands, inputs, cashflow, decision, sensitivity (when the run computed it) as .csv, or workbook.xlsx"
        ))
        .field("table"));
    };
    let disposition = format!("attachment; filename=\"hashpivot-{id}-{table}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}

/// Registers this module's routes (one call in `api::router`).
pub(crate) fn routes(r: crate::routes::Routes) -> crate::routes::Routes {
    r.add("get", "/api/runs/overview", overview)
        .add("get", "/api/compare", compare)
        .add("delete", "/api/runs/{id}", delete_run)
        .add("post", "/api/runs/{id}/name", set_name)
        .add("get", "/api/runs/{id}/decision", run_decision)
        .add("get", "/api/runs/{id}/decision/delta.svg", run_delta_chart)
        .add("get", "/api/runs/{id}/decision/grid.svg", run_grid_chart)
        .add("get", "/api/runs/{id}/export/{table}", export_csv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::strategy_rows;

    #[test]
    fn cashflow_has_one_row_per_year_and_a_column_triple_per_strategy() {
        let result: Value = serde_json::from_str(crate::testing::SAMPLE_RESULT).unwrap();
        let csv = cashflow_csv(&result);
        let lines: Vec<&str> = csv.lines().collect();
        let years = result["bands"]["years"].as_array().unwrap().len();
        assert_eq!(lines.len(), years + 1);
        let head: Vec<&str> = lines[0].split(',').collect();
        let strategies = result["bands"]["site_cash_usd"].as_array().unwrap().len();
        assert_eq!(head.len(), 1 + 3 * strategies + 3);
        assert_eq!(head[1], "mine_cash_usd_p50");
        // Year 1's mine median is the band's.
        let want = result["bands"]["site_cash_usd"][0]["p50"][0]
            .as_f64()
            .unwrap();
        let got: f64 = lines[1].split(',').nth(1).unwrap().parse().unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn key_figures_pick_the_best_strategy() {
        let result: Value = serde_json::from_str(crate::testing::SAMPLE_RESULT).unwrap();
        let k = key_figures(&result);
        let rows = strategy_rows(&result);
        let best = rows
            .iter()
            .max_by(|a, b| a.mean.total_cmp(&b.mean))
            .unwrap();
        assert_eq!(k["best"], json!(best.label));
        assert_eq!(
            k["best_delta_vs_mine"].as_f64().unwrap(),
            best.mean - rows[0].mean
        );
    }
}
