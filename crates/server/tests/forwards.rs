//! `GET /api/history/forwards` (issue 14): the stored hashprice forward curve beside the model's
//! distribution of each delivery month's average hashprice. The model side is checked against an
//! independent computation: the month mean of the model's expected daily hashprice
//! (`hashpivot_model::forward::expected_hashprice`, the curve `calibrate --forwards` fits).

use std::sync::Arc;
use std::time::Duration;

use hashpivot_data::forwards::{month_mean, parse_forwards, Month};
use hashpivot_model::Scenario;
use hashpivot_server::testing::{FixtureEngine, InProcessServer};
use hashpivot_server::{AppState, Limits};
use hashpivot_store::Store;
use serde_json::Value;

fn get(base: &str, p: &str) -> (u16, String, String) {
    match ureq::get(&format!("{base}{p}")).call() {
        Ok(r) => (
            r.status(),
            r.header("Content-Type").unwrap_or("").to_string(),
            r.into_string().unwrap(),
        ),
        Err(ureq::Error::Status(code, r)) => (code, String::new(), r.into_string().unwrap()),
        Err(e) => panic!("transport error: {e}"),
    }
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn start(db: &std::path::Path) -> InProcessServer {
    let engine = Arc::new(FixtureEngine {
        step_delay: Duration::from_millis(0),
    });
    let state = AppState::open(db, engine, Limits::default()).expect("state");
    InProcessServer::start(Arc::new(state))
}

#[test]
fn forward_curve_beside_the_models_distribution() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hp.sqlite");

    // No curve stored: 200, no months, and how to import one.
    let srv = start(&db);
    let (code, _, body) = get(&srv.base(), "/api/history/forwards");
    assert_eq!(code, 200, "{body}");
    let v = json_of(&body);
    assert_eq!(v["months"].as_array().unwrap().len(), 0);
    assert!(v["quote_date"].is_null());
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("hashpivot data import forwards FILE"),
        "{v}"
    );
    srv.stop();

    // Two quote dates; the newest one's curve has a month that started before the market state
    // (shown without a model value) and three whole months after it.
    let start_day = hashpivot_data::market_state().date;
    let m0 = Month::parse(&start_day.to_string()).unwrap();
    let m1 = Month::parse(&m0.next_first_day().to_string()).unwrap();
    let m2 = Month::parse(&m1.next_first_day().to_string()).unwrap();
    let m3 = Month::parse(&m2.next_first_day().to_string()).unwrap();
    let q = start_day;
    let older = start_day.add_days(-7);
    let csv = format!(
        "quote_date,delivery_month,usd_per_ph_day\n{older},{m1},30\n{q},{m0},41.5\n{q},{m1},42\n{q},{m2},43.25\n{q},{m3},44\n"
    );
    {
        let mut store = Store::open(&db).unwrap();
        let rows = parse_forwards(&csv, "marks.csv").unwrap();
        assert_eq!(store.import_forwards(&rows, "marks.csv").unwrap(), 5);
    }
    let srv = start(&db);
    let base = srv.base();
    let (code, _, body) = get(&base, "/api/history/forwards");
    assert_eq!(code, 200, "{body}");
    let v = json_of(&body);
    assert_eq!(v["quote_date"], q.to_string());
    assert_eq!(
        v["quote_dates"],
        serde_json::json!([older.to_string(), q.to_string()])
    );
    assert_eq!(v["market_state_date"], start_day.to_string());
    assert_eq!(v["paths"], 2000);
    assert_eq!(v["seed"], 42);
    let months = v["months"].as_array().unwrap();
    assert_eq!(months.len(), 4);
    assert_eq!(months[0]["delivery"], m0.to_string());
    assert_eq!(months[0]["forward"], 41.5);
    assert!(months[0]["model_mean"].is_null() && months[0]["model_p5"].is_null());

    // The model's mean per month is the month mean of the expected daily hashprice on the same
    // paths (summed per path here, per day there).
    let days = m3.next_first_day().days_since(start_day) as usize;
    let daily = hashpivot_model::forward::expected_hashprice(&Scenario::default(), days, 2000, 42);
    for (m, want_fwd, row) in [
        (m1, 42.0, &months[1]),
        (m2, 43.25, &months[2]),
        (m3, 44.0, &months[3]),
    ] {
        assert_eq!(row["delivery"], m.to_string());
        assert_eq!(row["forward"], want_fwd);
        let want = month_mean(&daily, start_day, m).unwrap();
        let mean = row["model_mean"].as_f64().unwrap();
        assert!((mean / want - 1.0).abs() < 1e-9, "{m}: {mean} vs {want}");
        let (p5, p50, p95) = (
            row["model_p5"].as_f64().unwrap(),
            row["model_p50"].as_f64().unwrap(),
            row["model_p95"].as_f64().unwrap(),
        );
        assert!(p5 < p50 && p50 < p95 && p5 < mean && mean < p95, "{row}");
    }
    // The fan widens with the delivery date.
    let width = |r: &Value| r["model_p95"].as_f64().unwrap() - r["model_p5"].as_f64().unwrap();
    assert!(width(&months[3]) > width(&months[1]), "{months:?}");

    // An older curve by its quote date.
    let v = json_of(
        &get(
            &base,
            &format!("/api/history/forwards?quote_date={older}&paths=500&seed=7"),
        )
        .2,
    );
    assert_eq!(v["quote_date"], older.to_string());
    assert_eq!(v["paths"], 500);
    assert_eq!(v["months"].as_array().unwrap().len(), 1);
    assert_eq!(v["months"][0]["forward"], 30.0);

    // Bad input: the field named.
    for (p, code, field, words) in [
        (
            "/api/history/forwards?quote_date=2020-01-01",
            404,
            "quote_date",
            "stored quote dates",
        ),
        (
            "/api/history/forwards?quote_date=yesterday",
            400,
            "quote_date",
            "YYYY-MM-DD",
        ),
        ("/api/history/forwards?paths=5", 400, "paths", "from 100"),
        ("/api/history/forwards?seed=-1", 400, "seed", "integer"),
        (
            "/api/history/forwards?from=2020-01-01",
            400,
            "from",
            "allowed quote_date",
        ),
        (
            "/api/history/forwards/chart.svg?paths=x",
            400,
            "paths",
            "from 100",
        ),
    ] {
        let (got, _, body) = get(&base, p);
        assert_eq!(got, code, "{p}: {body}");
        let e = json_of(&body);
        assert_eq!(e["field"], field, "{p}: {body}");
        assert!(e["error"].as_str().unwrap().contains(words), "{p}: {body}");
    }

    // The chart: forward and model lines, in SVG.
    let (code, ct, svg) = get(&base, "/api/history/forwards/chart.svg");
    assert_eq!(code, 200);
    assert_eq!(ct, "image/svg+xml");
    assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{svg}");
    for w in [
        "forward",
        "model mean",
        "model p5",
        "model p95",
        &q.to_string(),
    ] {
        assert!(svg.contains(w), "{w} missing");
    }
    // The history page asks for it.
    let js = get(&base, "/assets/app.js").2;
    assert!(js.contains("/api/history/forwards"));
    srv.stop();
}
