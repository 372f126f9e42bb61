//! Routes and handlers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::{Json, Router};
use hashpivot_data::history::{self, History};
use hashpivot_model::Scenario;
use hashpivot_store::runs::{self, RunRecord, RunStatus};
use serde_json::{json, Value};
use tokio_stream::wrappers::ReceiverStream;

use crate::error::ApiError;
use crate::routes::{check_id, iso, limit_param, load, query_date, Routes};
use crate::runner::{self, RunRequest};
use crate::state::AppState;
use crate::views;

type St = Arc<AppState>;

/// The router and the `(method, path)` list of its routes.
pub fn router(state: St) -> (Router, Vec<(&'static str, &'static str)>) {
    let max_body = state.limits.max_body;
    let r = Routes::new()
        // Pages (one HTML shell; the script renders the page for the path).
        .add("get", "/", page)
        .add("get", "/runs", page)
        .add("get", "/runs/{id}", page_run)
        .add("get", "/history", page)
        .add("get", "/leases", page)
        .add("get", "/payback", page)
        .add("get", "/dispatch", page)
        .add("get", "/assets/app.js", asset_js)
        .add("get", "/assets/style.css", asset_css)
        // API
        .add("get", "/api/openapi.json", openapi)
        .add("post", "/api/session", session)
        .add("get", "/api/scenario/default", scenario_default)
        .add("get", "/api/scenario/optional", scenario_optional)
        .add("post", "/api/scenario/validate", scenario_validate)
        .add("post", "/api/runs", create_run)
        .add("get", "/api/runs", list_runs)
        .add("get", "/api/runs/{id}", get_run)
        .add("get", "/api/runs/{id}/events", run_events)
        .add("get", "/api/runs/{id}/charts", run_chart_list)
        .add("get", "/api/runs/{id}/charts/{name}", run_chart)
        // Static paths win over `{series}`: the forward curve beside the model's fan.
        .add(
            "get",
            "/api/history/forwards",
            crate::forwards::forwards_json,
        )
        .add(
            "get",
            "/api/history/forwards/chart.svg",
            crate::forwards::forwards_svg,
        )
        .add("get", "/api/history/{series}", history_json)
        .add("get", "/api/history/{series}/chart.svg", history_svg)
        .add("get", "/api/machines", machines);
    let r = crate::dashboard_api::routes(r);
    let r = crate::market_api::routes(r);
    let r = crate::dispatch_api::routes(r);
    let (router, list) = r.finish();
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            crate::guard::guard,
        ))
        .with_state(state);
    (router, list)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {}: see /api/openapi.json for the API",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
    )
}

// ---------------------------------------------------------------------------------------------
// Pages and assets

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

async fn page() -> Html<&'static str> {
    Html(INDEX_HTML)
}

async fn page_run(Path(id): Path<String>) -> Result<Html<&'static str>, ApiError> {
    check_id(&id)?;
    Ok(Html(INDEX_HTML))
}

async fn asset_js() -> Response {
    let body = format!("{}\n{}", hashpivot_charts::HOVER_JS, APP_JS);
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn asset_css() -> Response {
    let body = format!("{}\n{}", STYLE_CSS, hashpivot_charts::CHART_CSS);
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], body).into_response()
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::OPENAPI_JSON,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Scenario

/// `GET /api/scenario/optional`: what the editor adds when asked: the default of each table a
/// scenario may leave out, and of each key the file form leaves out at its default.
async fn scenario_optional() -> Json<Value> {
    Json(json!({
        "tables": {
            "finance": hashpivot_model::scenario::Finance::default(),
            "cloud": hashpivot_model::scenario::Cloud::default(),
        },
        // Keys the file form leaves out at their default, shown in the editor with it.
        "keys": { "run.currency": hashpivot_model::Currency::Usd },
    }))
}

async fn scenario_default(Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    match q.get("format").map(String::as_str) {
        None | Some("json") => Ok(Json(Scenario::default()).into_response()),
        Some("toml") => Ok((
            [(header::CONTENT_TYPE, "application/toml; charset=utf-8")],
            Scenario::default_toml_annotated(),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(format!(
            "format = {other:?}: allowed \"json\" or \"toml\""
        ))
        .field("format")),
    }
}

fn body_bytes(st: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        let status = e.status();
        let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "request body too large: at most {} bytes",
                st.limits.max_body
            )
        } else {
            format!("cannot read the request body: {e}")
        };
        ApiError::new(status, msg).field("body")
    })
}

fn is_toml(headers: &HeaderMap) -> Result<bool, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/toml" | "text/toml" | "text/x-toml" => Ok(true),
        // The guard already refused every other type on POST (text/plain could be sent cross-site).
        "application/json" => Ok(false),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {other:?}: allowed application/json or application/toml"),
        )
        .field("Content-Type")),
    }
}

fn utf8(body: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")).field("body"))
}

async fn scenario_validate(
    State(st): State<St>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body_bytes(&st, body)?;
    let sc = if is_toml(&headers)? {
        Scenario::from_toml_str(utf8(&body)?).map_err(|e| runner::scenario_error(&e))?
    } else {
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")).field("body"))?;
        runner::scenario_from_json(&v)?
    };
    // The parsed scenario comes back in both forms, so the editor can load a TOML file and save
    // what it shows as one.
    let as_json = serde_json::to_value(&sc)
        .map_err(|e| ApiError::internal(format!("scenario to JSON: {e}")))?;
    let as_toml = sc.to_toml_string();
    let errors: Vec<Value> = match sc.validate() {
        Ok(()) => Vec::new(),
        Err(hashpivot_model::ScenarioError::Invalid(list)) => list
            .iter()
            .map(|f| json!({"key": f.key, "value": f.value, "allowed": f.allowed}))
            .collect(),
        Err(e) => return Err(runner::scenario_error(&e)),
    };
    Ok(Json(json!({
        "valid": errors.is_empty(),
        "errors": errors,
        "scenario": as_json,
        "toml": as_toml,
    })))
}

// ---------------------------------------------------------------------------------------------
// Session

/// `POST /api/session`: the dashboard trades the token it asked the user for (sent once as
/// `Authorization: Bearer`, checked by the guard like on every `/api` route) for a session: a
/// random session id in an `HttpOnly`, `SameSite=Strict` cookie, which `EventSource` and chart
/// requests then carry and which no script can read, and the session's CSRF token in the body
/// (`{"csrf": ...}`), which the page sends in `X-CSRF-Token` on requests that change state
/// ([`crate::auth`]). 204 with no cookie when the server has no token or the request came without
/// the bearer token.
async fn session(State(st): State<St>, headers: HeaderMap) -> Response {
    let bearer = crate::auth::bearer_token(&headers).filter(|_| st.limits.token.is_some());
    let mut r = match bearer {
        Some(_) => {
            let (id, csrf) = st.sessions.create();
            let mut r = Json(json!({ "csrf": csrf })).into_response();
            let cookie = format!(
                "{}={id}; Path=/; HttpOnly; SameSite=Strict",
                crate::auth::SESSION_COOKIE
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        None => StatusCode::NO_CONTENT.into_response(),
    };
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

// ---------------------------------------------------------------------------------------------
// Runs

async fn create_run(
    State(st): State<St>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(&st, body)?;
    let plan = if is_toml(&headers)? {
        let mut sc =
            Scenario::from_toml_str(utf8(&body)?).map_err(|e| runner::scenario_error(&e))?;
        runner::plan_scenario(&mut sc, &RunRequest::default(), st.limits.max_paths)?;
        runner::RunPlan {
            request: json!({
                "strategy": sc.strategy.kind.as_str(),
                "share": sc.strategy.share,
                "paths": sc.run.paths,
                "seed": sc.run.seed,
                "sensitivity": false,
            }),
            scenario: sc,
            sensitivity: false,
        }
    } else {
        let req = runner::parse_json_request(&body)?;
        runner::plan(req, st.limits.max_paths)?
    };
    let id = st.submit(plan)?;
    let location = format!("/api/runs/{id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!({"id": id, "status": "queued"})),
    )
        .into_response())
}

fn run_json(st: &AppState, r: RunRecord, full: bool) -> Value {
    // A live run's progress is fresher in memory than in the store.
    let (status, progress) = match st.live_receiver(&r.id) {
        Some(rx) => {
            let s = *rx.borrow();
            (s.status, s.progress)
        }
        None => (r.status, r.progress),
    };
    let mut v = json!({
        "id": r.id,
        "status": status.as_str(),
        "progress": progress,
        "created": iso(r.created_ms),
        "started": r.started_ms.map(iso),
        "finished": r.finished_ms.map(iso),
        "request": r.request,
        "error": r.error,
    });
    if full {
        v["scenario"] = r.scenario;
        let result = r.result.unwrap_or(Value::Null);
        for k in [
            "paths",
            "seed",
            "results",
            "bands",
            "sensitivity",
            "currency",
        ] {
            v[k] = result.get(k).cloned().unwrap_or(Value::Null);
        }
    }
    v
}

async fn get_run(State(st): State<St>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let r = load(&st, &id)?;
    Ok(Json(run_json(&st, r, true)))
}

async fn list_runs(
    State(st): State<St>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = limit_param(&q, 1000)?;
    let list = st.with_db(|c| runs::list(c, limit))?;
    Ok(Json(Value::Array(
        list.into_iter().map(|r| run_json(&st, r, false)).collect(),
    )))
}

fn event(status: RunStatus, progress: f64) -> Event {
    let kind = if status.is_final() { "end" } else { "progress" };
    Event::default()
        .event(kind)
        .data(json!({"status": status.as_str(), "progress": progress}).to_string())
}

async fn run_events(State(st): State<St>, Path(id): Path<String>) -> Result<Response, ApiError> {
    check_id(&id)?;
    // Each open stream holds a permit until it ends, so idle browsers can't pile up tasks.
    let Ok(permit) = Arc::clone(&st.streams).try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many open event streams (at most {}); poll GET /api/runs/{id} instead or retry",
                st.limits.max_streams
            ),
        )
        .retry_after(5));
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(16);
    match st.live_receiver(&id) {
        Some(mut watch) => {
            tokio::spawn(async move {
                let _permit = permit;
                loop {
                    let snap = *watch.borrow_and_update();
                    if tx
                        .send(Ok(event(snap.status, snap.progress)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    if snap.status.is_final() {
                        return;
                    }
                    // Throttle to ~10 events a second; a closed channel means the run ended and
                    // its final state is already in the watch value. A client that goes away
                    // (the response stream is dropped) frees its slot at once, not at the next
                    // change of a run that may sit queued for an hour.
                    let changed = tokio::select! {
                        () = tx.closed() => return,
                        r = async {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            watch.changed().await
                        } => r,
                    };
                    if changed.is_err() {
                        let snap = *watch.borrow();
                        let _ = tx.send(Ok(event(snap.status, snap.progress))).await;
                        return;
                    }
                }
            });
        }
        None => {
            let r = load(&st, &id)?;
            let _ = tx.try_send(Ok(event(r.status, r.progress)));
        }
    }
    Ok(Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn done_result(st: &AppState, id: &str) -> Result<Value, ApiError> {
    let r = load(st, id)?;
    match (r.status, r.result) {
        (RunStatus::Done, Some(v)) => Ok(v),
        (status, _) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "run {id} is {}: charts exist once it is done",
                status.as_str()
            ),
        )
        .field("id")),
    }
}

async fn run_chart_list(
    State(st): State<St>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let result = done_result(&st, &id)?;
    let list: Vec<Value> = views::CHART_NAMES
        .iter()
        .filter(|n| views::run_chart(&result, n).is_some())
        .map(|n| {
            json!({"name": n, "title": views::chart_title(n), "url": format!("/api/runs/{id}/charts/{n}.svg")})
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

fn svg(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn run_chart(
    State(st): State<St>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let name = name.strip_suffix(".svg").unwrap_or(&name).to_string();
    if !views::CHART_NAMES.contains(&name.as_str()) {
        return Err(ApiError::not_found(format!(
            "chart {name:?}: allowed {}",
            views::CHART_NAMES.join(", ")
        ))
        .field("name"));
    }
    let result = done_result(&st, &id)?;
    match views::run_chart(&result, &name) {
        Some(s) => Ok(svg(s)),
        None => Err(
            ApiError::not_found(format!("run {id} has no data for the chart {name:?}"))
                .field("name"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// History and machines

/// Parses an optional `YYYY-MM-DD` query value.
fn history_query(series: &str, q: &HashMap<String, String>) -> Result<History, ApiError> {
    if let Some(k) = q.keys().find(|k| *k != "from" && *k != "to") {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {k:?}: allowed from, to"
        ))
        .field(k.clone()));
    }
    let from = query_date("from", q.get("from").map(String::as_str))?;
    let to = query_date("to", q.get("to").map(String::as_str))?;
    history::series(series, from, to).map_err(|e| match e {
        history::SeriesError::Unknown { .. } => ApiError::not_found(e.to_string()).field("series"),
        history::SeriesError::Reversed { .. } => ApiError::bad_request(e.to_string()).field("from"),
    })
}

async fn history_json(
    Path(series): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<History>, ApiError> {
    Ok(Json(history_query(&series, &q)?))
}

async fn history_svg(
    Path(series): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let h = history_query(&series, &q)?;
    Ok(svg(hashpivot_report::history::chart(&h)))
}

async fn machines() -> Result<Json<Value>, ApiError> {
    let cat = hashpivot_model::catalog::Catalog::builtin()
        .map_err(|e| ApiError::internal(format!("the built-in ASIC catalog: {e}")))?;
    let list: Vec<Value> = cat
        .machines()
        .iter()
        .map(|m| {
            let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
            v["efficiency_jth"] = json!(m.efficiency_jth());
            v
        })
        .collect();
    Ok(Json(Value::Array(list)))
}
