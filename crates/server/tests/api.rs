//! HTTP tests of the API on a real socket (127.0.0.1, port 0), with a deterministic stand-in engine
//! so that they test the HTTP layer: status codes, JSON errors, the run lifecycle, the event stream,
//! persistence across a restart, and the OpenAPI document against the router.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashpivot_model::Scenario;
use hashpivot_server::testing::{FixtureEngine, InProcessServer};
use hashpivot_server::{AppState, Limits};
use serde_json::{json, Value};

struct Server {
    base: String,
    srv: InProcessServer,
}

impl Server {
    fn start(db: &Path, delay_ms: u64) -> Server {
        let engine = Arc::new(FixtureEngine {
            step_delay: Duration::from_millis(delay_ms),
        });
        let limits = Limits {
            max_paths: 50_000,
            max_body: 64 * 1024,
            ..Limits::default()
        };
        Server::on(Arc::new(AppState::open(db, engine, limits).expect("state")))
    }
    fn on(state: Arc<AppState>) -> Server {
        let srv = InProcessServer::start(state);
        Server {
            base: srv.base(),
            srv,
        }
    }
    fn url(&self, p: &str) -> String {
        format!("{}{}", self.base, p)
    }
    fn stop(self) {
        self.srv.stop();
    }
}

/// (status, body) of a request; never an error for 4xx/5xx.
fn call(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(resp) => (resp.status(), resp.into_string().unwrap()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap()),
        Err(e) => panic!("transport error: {e}"),
    }
}

fn get(s: &Server, p: &str) -> (u16, String) {
    call(ureq::get(&s.url(p)).call())
}

fn post(s: &Server, p: &str, ct: &str, body: &str) -> (u16, String) {
    call(
        ureq::post(&s.url(p))
            .set("Content-Type", ct)
            .send_string(body),
    )
}

/// (status, body) of a POST that announces `len` bytes of body but sends none and waits for the
/// answer (the server refuses an over-limit length without reading the body).
fn post_announcing(s: &Server, p: &str, ct: &str, len: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://").trim_end_matches('/');
    let mut c = std::net::TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        c,
        "POST {p} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ct}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the head");
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Asserts a JSON error answer with `status` and `field`, and that the server still answers.
fn assert_error(
    s: &Server,
    (status, body): (u16, String),
    want: u16,
    field: Option<&str>,
    words: &[&str],
) {
    assert_eq!(status, want, "{body}");
    let v = json_of(&body);
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {body}"));
    for w in words {
        assert!(msg.contains(w), "error {msg:?} lacks {w:?}");
    }
    assert_eq!(v["field"].as_str(), field, "{body}");
    assert_eq!(
        get(s, "/api/scenario/default").0,
        200,
        "server stopped serving"
    );
}

fn wait_done(s: &Server, id: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let v = json_of(&get(s, &format!("/api/runs/{id}")).1);
        if v["status"] == "done" || v["status"] == "failed" {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "run did not finish: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_requests_get_json_errors_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("db.sqlite"), 0);
    let j = "application/json";
    assert_error(
        &s,
        post(&s, "/api/runs", j, r#"{"paths": 10,"#),
        400,
        None,
        &["malformed JSON"],
    );
    assert_error(&s, post(&s, "/api/runs", j, ""), 400, None, &["empty body"]);
    assert_error(
        &s,
        post(&s, "/api/runs", j, r#"{"paths": 10, "colour": "red"}"#),
        400,
        Some("colour"),
        &["colour"],
    );
    assert_error(
        &s,
        post(&s, "/api/runs", j, r#"{"paths": "many"}"#),
        400,
        Some("paths"),
        &["paths = \"many\": allowed a whole number >= 0 (got text)"],
    );
    assert_error(
        &s,
        post(
            &s,
            "/api/runs",
            j,
            r#"{"scenario": {"price": {"volatility": 0.5}}}"#,
        ),
        400,
        Some("scenario.price.volatility"),
        &["price.volatility"],
    );
    assert_error(
        &s,
        post(&s, "/api/runs", j, r#"{"paths": 10000000}"#),
        422,
        Some("paths"),
        &["10000000", "50000"],
    );
    assert_error(
        &s,
        post(&s, "/api/runs", j, r#"{"paths": 0}"#),
        422,
        Some("paths"),
        &["paths = 0"],
    );
    assert_error(
        &s,
        post(&s, "/api/runs", j, r#"{"share": 1.5}"#),
        422,
        Some("share"),
        &["1.5"],
    );
    assert_error(
        &s,
        post(&s, "/api/runs", j, r#"{"strategy": "hodl"}"#),
        422,
        Some("strategy"),
        &["hodl", "optimal"],
    );
    assert_error(
        &s,
        post(
            &s,
            "/api/runs",
            j,
            r#"{"scenario": {"price": {"vol": -1}}, "paths": 10}"#,
        ),
        422,
        Some("scenario.price.vol"),
        &["price.vol = -1"],
    );
    assert_error(
        &s,
        post(&s, "/api/runs", "text/csv", "a,b"),
        415,
        Some("Content-Type"),
        &["text/csv"],
    );
    assert_error(
        &s,
        post(
            &s,
            "/api/runs",
            "application/toml",
            "[price]\nvolatility = 0.5\n",
        ),
        400,
        Some("price.volatility"),
        &["volatility"],
    );
    // A body over the limit is refused on its announced length, before it is read: the server
    // answers and closes, so a client still writing the body may get a broken pipe (or a reset
    // that loses the answer) — the request announces the body and waits for the answer.
    assert_error(
        &s,
        post_announcing(&s, "/api/runs", j, 100 * 1024),
        413,
        Some("body"),
        &["too large"],
    );
    assert_error(&s, get(&s, "/api/runs/nope"), 404, Some("id"), &["nope"]);
    assert_error(
        &s,
        get(&s, "/api/runs/nope/events"),
        404,
        Some("id"),
        &["nope"],
    );
    assert_error(
        &s,
        get(&s, "/api/runs/nope/charts/npv.svg"),
        404,
        Some("id"),
        &["nope"],
    );
    assert_error(
        &s,
        get(&s, "/api/history/gold"),
        404,
        Some("series"),
        &["gold", "hashprice"],
    );
    assert_error(
        &s,
        get(&s, "/api/history/price?from=2020-13-01"),
        400,
        Some("from"),
        &["2020-13-01"],
    );
    assert_error(&s, get(&s, "/api/nothing"), 404, None, &["/api/nothing"]);
    assert_error(
        &s,
        call(ureq::delete(&s.url("/api/runs")).call()),
        405,
        None,
        &["DELETE"],
    );
    assert_error(
        &s,
        get(&s, "/api/runs?limit=0"),
        400,
        Some("limit"),
        &["limit"],
    );
    s.stop();
}

#[test]
fn default_scenario_has_the_keys_and_tables_of_the_toml_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("db.sqlite"), 0);
    let (st, body) = get(&s, "/api/scenario/default");
    assert_eq!(st, 200);
    let api = json_of(&body);
    assert_eq!(api, serde_json::to_value(Scenario::default()).unwrap());
    // The TOML form parses to the same scenario, and every table of the file is in the JSON.
    let (st, toml_text) = get(&s, "/api/scenario/default?format=toml");
    assert_eq!(st, 200);
    let from_toml = Scenario::from_toml_str(&toml_text).unwrap();
    assert_eq!(serde_json::to_value(&from_toml).unwrap(), api);
    let t: toml::Table = toml::from_str(&toml_text).unwrap();
    for (table, v) in &t {
        let keys: Vec<&String> = v.as_table().map(|t| t.keys().collect()).unwrap_or_default();
        for k in keys {
            assert!(api[table].get(k).is_some(), "{table}.{k} missing in JSON");
        }
    }
    // The JSON goes back through validation unchanged.
    let (st, body) = post(
        &s,
        "/api/scenario/validate",
        "application/json",
        &api.to_string(),
    );
    assert_eq!(
        (st, json_of(&body)["valid"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let mut bad = api.clone();
    bad["site"]["power_mw"] = json!(-5);
    bad["ai"]["noi_margin"] = json!(2);
    let v = json_of(
        &post(
            &s,
            "/api/scenario/validate",
            "application/json",
            &bad.to_string(),
        )
        .1,
    );
    assert_eq!(v["valid"], false);
    let keys: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"site.power_mw") && keys.contains(&"ai.noi_margin"),
        "{v}"
    );
    s.stop();
}

#[test]
fn run_lifecycle_events_charts_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let s = Server::start(&db, 30);
    let (st, body) = post(
        &s,
        "/api/runs",
        "application/json",
        r#"{"strategy": "convert", "share": 0.5, "paths": 2000, "sensitivity": true}"#,
    );
    assert_eq!(st, 201, "{body}");
    let id = json_of(&body)["id"].as_str().unwrap().to_string();

    // The event stream reports increasing progress and ends with `done`.
    let resp = ureq::get(&s.url(&format!("/api/runs/{id}/events")))
        .call()
        .unwrap();
    assert_eq!(resp.header("Content-Type"), Some("text/event-stream"));
    let mut last = -1.0;
    let mut seen = 0;
    let mut end = None;
    let mut event = String::new();
    for line in BufReader::new(resp.into_reader()).lines() {
        let line = line.unwrap();
        if let Some(e) = line.strip_prefix("event: ") {
            event = e.to_string();
        } else if let Some(d) = line.strip_prefix("data: ") {
            let v = json_of(d);
            let p = v["progress"].as_f64().unwrap();
            if event == "end" {
                end = Some(v);
                break;
            }
            assert!(p >= last, "progress went back: {last} -> {p}");
            assert!((0.0..=1.0).contains(&p));
            last = p;
            seen += 1;
        }
    }
    assert!(seen >= 2, "only {seen} progress events");
    assert_eq!(end.unwrap(), json!({"status": "done", "progress": 1.0}));

    let run = wait_done(&s, &id);
    assert_eq!(run["status"], "done");
    assert_eq!(run["progress"], 1.0);
    assert_eq!(run["request"]["strategy"], "convert");
    assert_eq!(run["scenario"]["strategy"]["share"], 0.5);
    // `results` and `bands` are exactly the engine's document.
    let mut sc = Scenario::default();
    sc.strategy.kind = hashpivot_model::StrategyKind::Convert;
    sc.strategy.share = 0.5;
    sc.run.paths = 2000;
    let expect =
        hashpivot_server::Engine::simulate(&FixtureEngine::default(), &sc, &|_| {}).unwrap();
    assert_eq!(run["results"], expect["results"]);
    assert_eq!(run["bands"], expect["bands"]);
    assert_eq!(run["paths"], 2000);
    // Sensitivity: the stand-in engine scales the convert NPV with the lease rate, so the lease
    // rate's bars move by ±20% of the base and the price's don't move it at all.
    let sens = &run["sensitivity"];
    let target = sens["strategy"].as_str().unwrap();
    assert_eq!(target, "convert 50%");
    let base = sens["base"][target].as_f64().unwrap();
    let lease = sens["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "ai.lease_usd_per_kw_month")
        .unwrap();
    assert!((lease["high"][target].as_f64().unwrap() / base - 1.2).abs() < 1e-9);
    assert!((lease["low"][target].as_f64().unwrap() / base - 0.8).abs() < 1e-9);

    let charts = json_of(&get(&s, &format!("/api/runs/{id}/charts")).1);
    let names: Vec<&str> = charts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in [
        "npv",
        "price",
        "hashprice",
        "difficulty",
        "hashrate",
        "site_cash",
        "tornado",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let resp = ureq::get(&s.url(&format!("/api/runs/{id}/charts/npv.svg")))
        .call()
        .unwrap();
    assert_eq!(resp.header("Content-Type"), Some("image/svg+xml"));
    let svg = resp.into_string().unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("data-series=\"convert 50%\""));
    assert_error(
        &s,
        get(&s, &format!("/api/runs/{id}/charts/schedule.svg")),
        404,
        Some("name"),
        &["schedule"],
    );
    assert_error(
        &s,
        get(&s, &format!("/api/runs/{id}/charts/pie.svg")),
        404,
        Some("name"),
        &["pie"],
    );

    // A TOML body is a scenario file.
    let (st, body) = post(
        &s,
        "/api/runs",
        "application/toml",
        "[run]\npaths = 300\n[strategy]\nkind = \"mine\"\n",
    );
    assert_eq!(st, 201, "{body}");
    let id2 = json_of(&body)["id"].as_str().unwrap().to_string();
    let run2 = wait_done(&s, &id2);
    assert_eq!(run2["paths"], 300);
    assert_eq!(run2["request"]["strategy"], "mine");
    let list = json_of(&get(&s, "/api/runs").1);
    assert_eq!(list[0]["id"], id2.as_str(), "newest first");
    assert!(list[0].get("results").is_none(), "lists leave results out");
    s.stop();

    // A run that was in flight when the server died is marked failed on the next start; finished
    // runs come back unchanged.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        hashpivot_store::runs::insert(&c, "zombie", &json!({}), &json!({}), 1).unwrap();
        hashpivot_store::runs::set_running(&c, "zombie", 2).unwrap();
    }
    let s = Server::start(&db, 0);
    let again = json_of(&get(&s, &format!("/api/runs/{id}")).1);
    assert_eq!(again, run);
    let z = json_of(&get(&s, "/api/runs/zombie").1);
    assert_eq!(z["status"], "failed");
    assert!(z["error"].as_str().unwrap().contains("interrupted"));
    // The event stream of a finished run is one `end` event.
    let text = ureq::get(&s.url(&format!("/api/runs/{id}/events")))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        text.contains("event: end") && text.contains("\"status\":\"done\""),
        "{text}"
    );
    s.stop();
}

#[test]
fn history_and_machines() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("db.sqlite"), 0);
    for series in ["price", "difficulty", "hashprice", "fees"] {
        let v = json_of(&get(&s, &format!("/api/history/{series}")).1);
        assert_eq!(v["series"], series);
        let pts = v["points"].as_array().unwrap();
        assert!(pts.len() > 100, "{series}");
        assert!(pts[0][0].as_str().unwrap() >= "2010-01-01");
        assert_eq!(v["halvings"].as_array().unwrap().len(), 4, "{series}");
        let svg = get(&s, &format!("/api/history/{series}/chart.svg")).1;
        assert!(svg.contains("halving 840000"));
    }
    // data/PROVENANCE.md anchor: the difficulty of the epoch containing block 840000.
    let v = json_of(&get(&s, "/api/history/difficulty?from=2024-04-01&to=2024-04-30").1);
    let ds: Vec<f64> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert!(
        ds.iter().any(|d| (d - 86_388_558_925_171.02).abs() < 1.0),
        "{ds:?}"
    );
    let m = json_of(&get(&s, "/api/machines").1);
    let list = m.as_array().unwrap();
    assert!(list.len() >= 10);
    let s19 = list
        .iter()
        .find(|x| x["model"] == "Antminer S19 Pro")
        .expect("S19 Pro in catalog");
    assert_eq!(s19["hashrate_ths"], 110.0);
    assert_eq!(s19["power_w"], 3250.0);
    s.stop();
}

/// Every route of the router is in openapi.json, and every documented path and method is routed.
#[test]
fn openapi_matches_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(
        AppState::open(
            &dir.path().join("db.sqlite"),
            Arc::new(FixtureEngine::default()),
            Limits::default(),
        )
        .unwrap(),
    );
    let (_, routes) = hashpivot_server::build_router(state);
    let doc: Value = serde_json::from_str(hashpivot_server::OPENAPI_JSON).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (p, ops) in paths {
        for m in ops.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&m.as_str()) {
                documented.push((m.clone(), p.clone()));
            }
        }
    }
    let mut routed: Vec<(String, String)> = routes
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    documented.sort();
    routed.sort();
    assert_eq!(routed, documented);
    // Path parameters are declared for each `{param}` of the path.
    for (p, ops) in paths {
        for (_, op) in ops.as_object().unwrap() {
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|x| x["in"] == "path")
                        .map(|x| x["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            let in_path: Vec<&str> = p
                .split('{')
                .skip(1)
                .map(|x| x.split('}').next().unwrap())
                .collect();
            assert_eq!(declared, in_path, "{p}");
        }
    }
    // The server also serves the document.
    let s = Server::start(&dir.path().join("db2.sqlite"), 0);
    assert_eq!(json_of(&get(&s, "/api/openapi.json").1), doc);
    s.stop();
}

#[test]
fn pages_and_assets_are_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("db.sqlite"), 0);
    for p in ["/", "/runs", "/runs/abc", "/history"] {
        let r = ureq::get(&s.url(p)).call().unwrap();
        assert!(r.header("Content-Type").unwrap().starts_with("text/html"));
        assert!(r.into_string().unwrap().contains("/assets/app.js"));
    }
    let js = get(&s, "/assets/app.js").1;
    assert!(js.contains("data-tip") && js.contains("EventSource"));
    let css = get(&s, "/assets/style.css").1;
    assert!(css.contains(".hp-tip"));
    s.stop();
}

/// With the real engine, a run's `results` and `bands` are exactly `hashpivot_model::simulate`'s.
#[test]
fn real_engine_results_are_those_of_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(
        AppState::open(
            &dir.path().join("db.sqlite"),
            Arc::new(hashpivot_server::ModelEngine),
            Limits::default(),
        )
        .unwrap(),
    );
    let s = Server::on(state);
    let mut sc = serde_json::to_value(Scenario::default()).unwrap();
    sc["run"]["horizon_years"] = json!(3);
    let body =
        json!({"scenario": sc, "strategy": "convert", "share": 0.5, "paths": 200, "seed": 7});
    let (st, b) = post(&s, "/api/runs", "application/json", &body.to_string());
    assert_eq!(st, 201, "{b}");
    let id = json_of(&b)["id"].as_str().unwrap().to_string();
    let run = wait_done(&s, &id);
    assert_eq!(run["status"], "done", "{run}");
    let mut scenario: Scenario = serde_json::from_value(sc).unwrap();
    scenario.strategy.kind = hashpivot_model::StrategyKind::Convert;
    scenario.strategy.share = 0.5;
    scenario.run.paths = 200;
    scenario.run.seed = 7;
    let out = hashpivot_model::simulate(&scenario, &hashpivot_model::RunConfig::default(), &|_| {})
        .unwrap();
    let want = serde_json::to_value(&out).unwrap();
    assert_eq!(run["results"], want["results"]);
    assert_eq!(run["bands"], want["bands"]);
    assert_eq!(run["results"][1]["strategy"], "convert");
    // Every chart of the bands renders from the real layout.
    let charts = json_of(&get(&s, &format!("/api/runs/{id}/charts")).1);
    let names: Vec<&str> = charts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The default is levered (issue 12): the equity view's IRR and DSCR charts come after the NPV.
    assert_eq!(
        names,
        [
            "npv",
            "irr",
            "dscr",
            "price",
            "hashprice",
            "difficulty",
            "hashrate",
            "site_cash",
            "cash_bars"
        ]
    );
    s.stop();
}

/// The editor learns the defaults of the optional tables from the server (issue 12): `[finance]`
/// exactly `Finance::default()`, and a run whose scenario has the table is accepted.
#[test]
fn optional_tables_come_with_their_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("db.sqlite"), 0);
    let (st, body) = get(&s, "/api/scenario/optional");
    assert_eq!(st, 200, "{body}");
    let opt = json_of(&body);
    let finance = hashpivot_model::scenario::Finance::default();
    assert_eq!(
        opt["tables"]["finance"],
        serde_json::to_value(&finance).unwrap()
    );
    assert_eq!(
        opt["tables"]["cloud"],
        serde_json::to_value(hashpivot_model::scenario::Cloud::default()).unwrap()
    );
    assert_eq!(opt["keys"]["run.currency"], "usd");
    let mut sc = serde_json::to_value(Scenario::default()).unwrap();
    sc["finance"] = opt["tables"]["finance"].clone();
    sc["cloud"] = opt["tables"]["cloud"].clone();
    sc["ai"]["mode"] = json!("cloud");
    sc["run"]["currency"] = opt["keys"]["run.currency"].clone();
    let body = json!({"scenario": sc, "strategy": "convert", "share": 0.5, "paths": 10});
    let (st, b) = post(&s, "/api/runs", "application/json", &body.to_string());
    assert_eq!(st, 201, "{b}");
    s.stop();
}

#[test]
fn validate_parses_toml_and_returns_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("db.sqlite"), 0);
    let (st, body) = post(
        &s,
        "/api/scenario/validate",
        "application/toml",
        "[site]\npower_mw = 50\n[price]\nvol = 9\n",
    );
    assert_eq!(st, 200, "{body}");
    let v = json_of(&body);
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["key"], "price.vol");
    assert_eq!(v["scenario"]["site"]["power_mw"], 50.0);
    // The TOML form reads back to the same scenario.
    let back = Scenario::from_toml_str(v["toml"].as_str().unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), v["scenario"]);
    let (st, body) = post(&s, "/api/scenario/validate", "application/toml", "[site\n");
    assert_eq!(st, 400, "{body}");
    assert!(json_of(&body)["error"].as_str().unwrap().contains("line 1"));
    s.stop();
}
