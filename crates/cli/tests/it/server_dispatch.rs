//! The dashboard's dispatch study (`/api/dispatch`) against `hashpivot dispatch --json`: the real
//! binary on 127.0.0.1 gives the same figures, bit for bit, for the default scenario and for a
//! scenario sent in the body, and names the field of a bad input.

use serde_json::{json, Value};

use crate::common::{self, Serve};

/// The parts of the document both produce.
const SHARED: [&str; 7] = [
    "hours",
    "fourcp_summers",
    "site",
    "batches",
    "flat_contract",
    "curve",
    "dispatch",
];

fn cli(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = common::hashpivot(dir)
        .arg("dispatch")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    common::json(&out)
}

fn assert_same(api: &Value, cli: &Value) {
    for k in SHARED {
        assert_eq!(api[k], cli[k], "{k} differs");
    }
    assert_eq!(api["prices"], cli["prices"]);
    assert_eq!(
        api["hashprice"]["usd_per_ph_day"],
        cli["hashprice"]["usd_per_ph_day"]
    );
}

#[test]
fn the_dispatch_api_equals_the_cli_and_names_bad_fields() {
    let dir = common::tempdir();
    let s = Serve::start(&dir.path().join("db.sqlite"), &[]);

    let (code, api) = s.get(
        "/api/dispatch?prices=ercot:HB_WEST:2024&credit_usd_mwh=10&min_run_hours=3&from=2024-06-01&to=2024-09-30",
    );
    assert_eq!(code, 200, "{api}");
    let want = cli(
        dir.path(),
        &[
            "--prices",
            "ercot:HB_WEST:2024",
            "--credit-usd-mwh",
            "10",
            "--min-run-hours",
            "3",
            "--from",
            "2024-06-01",
            "--to",
            "2024-09-30",
        ],
    );
    assert_same(&api, &want);
    assert_eq!(api["months"].as_array().unwrap().len(), 4);
    assert!(api["site"]["curtailed_mwh"].as_f64().unwrap() > 0.0);

    // A scenario in the body: its overhead, availability and power price drive the study.
    let mut sc: Value = s.get("/api/scenario/default").1;
    sc["mining"]["overhead"] = json!(1.05);
    sc["mining"]["uptime"] = json!(0.9);
    sc["site"]["power_usd_mwh"] = json!(38.0);
    let (code, api) = s.post("/api/dispatch?prices=ercot:LZ_WEST:2023", &sc.to_string());
    assert_eq!(code, 200, "{api}");
    let file = dir.path().join("sc.toml");
    std::fs::write(
        &file,
        "[mining]\noverhead = 1.05\nuptime = 0.9\n[site]\npower_usd_mwh = 38.0\n",
    )
    .unwrap();
    let want = cli(
        dir.path(),
        &[file.to_str().unwrap(), "--prices", "ercot:LZ_WEST:2023"],
    );
    assert_same(&api, &want);
    assert_eq!(api["flat_contract"]["price_usd_mwh"], 38.0);

    for (q, field) in [
        ("prices=ercot:HB_NOWHERE:2024", "prices"),
        ("min_run_hours=0", "min_run_hours"),
        ("credit_usd_mwh=-5", "credit_usd_mwh"),
        ("fourcp_usd_kw_year=60", "fourcp_usd_kw_year"),
        ("from=2024-12-01&to=2024-01-01", "from"),
    ] {
        let (code, v) = s.get(&format!("/api/dispatch?{q}"));
        assert!((400..500).contains(&code), "{q}: {code} {v}");
        assert_eq!(v["field"], field, "{q}: {v}");
        assert!(v["error"].as_str().unwrap().contains(field), "{q}: {v}");
    }
}
