//! `hashpivot serve` end to end: the real binary on 127.0.0.1 (port 0), its JSON errors for bad
//! requests, a run with the real engine whose results equal `hashpivot simulate --json`, and the
//! run surviving a restart of the server.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::Serve;

fn assert_json_error(
    s: &Serve,
    (code, v): (u16, Value),
    want: u16,
    field: Option<&str>,
    word: &str,
) {
    assert_eq!(code, want, "{v}");
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {v}"));
    assert!(msg.contains(word), "{msg:?} lacks {word:?}");
    assert_eq!(v["field"].as_str(), field, "{v}");
    assert_eq!(
        s.get("/api/scenario/default").0,
        200,
        "the server stopped serving"
    );
}

#[test]
fn bad_requests_are_4xx_json_and_the_server_keeps_serving() {
    let dir = crate::common::tempdir();
    let s = Serve::start(&dir.path().join("db.sqlite"), &[]);
    assert_json_error(
        &s,
        s.post("/api/runs", "{\"paths\": "),
        400,
        None,
        "malformed JSON",
    );
    assert_json_error(
        &s,
        s.post("/api/runs", r#"{"pathz": 10}"#),
        400,
        Some("pathz"),
        "pathz",
    );
    assert_json_error(
        &s,
        s.post("/api/runs", r#"{"scenario": {"site": {"power_gw": 1}}}"#),
        400,
        Some("scenario.site.power_gw"),
        "site.power_gw",
    );
    assert_json_error(
        &s,
        s.post("/api/runs", r#"{"paths": 5000000}"#),
        422,
        Some("paths"),
        "200000",
    );
    assert_json_error(&s, s.get("/api/runs/0000"), 404, Some("id"), "0000");
}

fn wait_done(s: &Serve, id: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let (_, v) = s.get(&format!("/api/runs/{id}"));
        if v["status"] == "done" || v["status"] == "failed" {
            return v;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "{v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_run_equals_simulate_json_and_survives_a_restart() {
    let dir = crate::common::tempdir();
    let db = dir.path().join("db.sqlite");
    let s = Serve::start(&db, &[]);
    let mut sc: Value = s.get("/api/scenario/default").1;
    sc["run"]["horizon_years"] = json!(3);
    sc["run"]["seed"] = json!(11);
    sc["run"]["paths"] = json!(300);
    // The whole default scenario, as the dashboard sends it: a file that left out the embedded
    // default's MODEL.md §8 keys would mean "off" (version 1), not the default's risks.
    let file = dir.path().join("small.toml");
    std::fs::write(&file, toml::to_string(&sc).unwrap()).unwrap();
    let body = json!({"scenario": sc, "strategy": "convert", "share": 0.5, "paths": 300});
    let (code, v) = s.post("/api/runs", &body.to_string());
    assert_eq!(code, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let run = wait_done(&s, &id);
    assert_eq!(run["status"], "done", "{run}");

    let out = crate::common::hashpivot(dir.path())
        .arg("simulate")
        .arg(&file)
        .args(["--strategy", "convert", "--share", "0.5", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let sim = crate::common::json(&out);
    assert_eq!(run["results"], sim["results"]);
    assert_eq!(run["bands"], sim["bands"]);
    assert_eq!(run["paths"], 300);

    // Stop the server (as a crash would) and start it again on the same database.
    drop(s);
    let s = Serve::start(&db, &[]);
    let (code, again) = s.get(&format!("/api/runs/{id}"));
    assert_eq!(code, 200);
    assert_eq!(again, run);
    let (_, list) = s.get("/api/runs");
    assert_eq!(list[0]["id"], id.as_str());
}

#[test]
fn bad_flags_exit_2() {
    let dir = crate::common::tempdir();
    let out = crate::common::hashpivot(dir.path())
        .args(["serve", "--addr", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::common::stderr(&out).contains("--addr \"localhost\""));
    let out = crate::common::hashpivot(dir.path())
        .args(["serve", "--max-paths", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::common::stderr(&out).contains("--max-paths 0"));
}
