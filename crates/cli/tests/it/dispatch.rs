//! End-to-end tests of `hashpivot dispatch`.

use crate::common::{hashpivot, json, run_in, stderr, tempdir};

/// One batch of 1000 machines (100 TH/s, 2000 W = 2 MW), no overhead, fee or downtime. With
/// `--hashprice 19.2 --btc-usd 100000` it earns exactly $40 per MWh: 0.1 PH/s × $19.2/day / 24 h
/// per machine-hour = $0.08 against 0.002 MWh.
const ONE_BATCH: &str = r#"
[mining]
overhead = 1.0
uptime = 1.0
pool_fee = 0.0

[[mining.fleet]]
model = "M"
units = 1000
hashrate_ths = 100
power_w = 2000
"#;

const HAND_PRICES: &str = "timestamp,price_usd_mwh
2024-07-01T00:00,10
2024-07-01T01:00,50
2024-07-01T02:00,30
2024-07-01T03:00,100
2024-07-01T04:00,-5
2024-07-01T05:00,20
";

/// The dispatch of `scenario` over the hand-made prices at the $40/MWh hashprice, with `extra`
/// flags, in a fresh directory (kept alive with the output).
fn hand_made(scenario: &str, extra: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempdir();
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    std::fs::write(dir.path().join("p.csv"), HAND_PRICES).unwrap();
    let mut args = vec![
        "dispatch",
        "s.toml",
        "--prices",
        "p.csv",
        "--hashprice",
        "19.2",
        "--btc-usd",
        "100000",
    ];
    args.extend_from_slice(extra);
    let out = run_in(dir.path(), &args);
    (dir, out)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn f(v: &serde_json::Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

#[test]
fn hand_made_series_gives_exact_uptime_and_cost() {
    let (_dir, out) = hand_made(ONE_BATCH, &["--credit-usd-mwh", "5", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["hours"], 6);
    let site = &v["site"];
    // Runs at 10, 30, -5, 20 (≤ $40): 4 of 6 hours, 2 MW each → 8 MWh for $110.
    assert!(close(f(site, "uptime"), 4.0 / 6.0));
    assert!(close(f(site, "energy_mwh"), 8.0));
    assert!(close(f(site, "power_cost_usd"), 110.0));
    assert!(close(f(site, "avg_price_usd_mwh"), 13.75));
    assert!(close(f(site, "revenue_usd"), 4.0 * 80.0));
    assert!(close(f(site, "btc_mined"), 320.0 / 100_000.0));
    assert!(close(f(site, "btc_forgone"), 160.0 / 100_000.0));
    // Off at 50 and 100: avoided 2 × 150 = $300 of power, forwent $160 of revenue.
    assert!(close(f(site, "curtailment_savings_usd"), 140.0));
    // Credits: $5 × 4 MWh curtailed.
    assert!(close(f(site, "credits_usd"), 20.0));
    let b = &v["batches"][0];
    assert_eq!(b["model"], "M");
    assert!(close(f(b, "breakeven_usd_mwh"), 40.0));
    assert!(close(f(b, "uptime"), 4.0 / 6.0));
    // Flat contract at the default $38/MWh: the batch (break-even $40) runs every hour.
    assert!(close(f(&v["flat_contract"]["site"], "uptime"), 1.0));
    assert!(close(
        f(&v["flat_contract"]["site"], "power_cost_usd"),
        12.0 * 38.0
    ));
    // Chart-ready curve: most expensive hour first, and each batch's break-even line.
    let pts = v["curve"]["points"].as_array().unwrap();
    assert_eq!(pts.len(), 101);
    assert_eq!(f(&pts[0], "usd_mwh"), 100.0);
    assert_eq!(f(&pts[100], "usd_mwh"), -5.0);
    assert!(close(
        f(&v["curve"]["breakeven_usd_mwh"][0], "usd_mwh"),
        40.0
    ));
}

#[test]
fn json_has_the_documented_shape_for_ercot() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args([
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--hashprice",
            "45",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["hours"], 8784);
    for k in [
        "uptime",
        "energy_mwh",
        "avg_price_usd_mwh",
        "revenue_usd",
        "power_cost_usd",
        "btc_mined",
        "btc_forgone",
        "curtailment_savings_usd",
        "credits_usd",
    ] {
        assert!(v["site"][k].is_number(), "site.{k}");
        for b in v["batches"].as_array().unwrap() {
            assert!(b[k].is_number(), "batch.{k}");
        }
    }
    // The default fleet has 5 batches.
    assert_eq!(v["batches"].as_array().unwrap().len(), 5);
    let site = &v["site"];
    let up = f(site, "uptime");
    assert!(up > 0.8 && up < 0.97, "{up}");
    // Curtailment only helps: margin ≥ never curtailing, and the identity holds.
    let m = f(site, "margin_usd");
    let fo = f(site, "flat_out_margin_usd");
    assert!(m >= fo);
    assert!(close(
        m - fo,
        f(site, "curtailment_savings_usd") + f(site, "credits_usd")
    ));
    // Average price paid is below the hub's mean ($28.94 in 2024).
    assert!(f(site, "avg_price_usd_mwh") < 28.94);
    assert_eq!(v["prices"]["source"], "ercot:HB_WEST:2024");
}

#[test]
fn winter_storm_uri_is_curtailed() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args([
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2021",
            "--from",
            "2021-02-13",
            "--to",
            "2021-02-19",
        ])
        .args([
            "--hashprice",
            "history",
            "--min-run-hours",
            "3",
            "--credit-usd-mwh",
            "10",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["hours"], 168);
    assert_eq!(v["hashprice"]["source"], "history");
    let site = &v["site"];
    // Every hour of the storm week cleared above $100/MWh; even at early-2021 hashprice no batch
    // of the default fleet runs in more than a few of them.
    assert!(f(site, "uptime") < 0.05, "{}", site);
    assert!(f(site, "curtailment_savings_usd") > 1e8);
    assert!(f(site, "credits_usd") > 0.0);
    assert!(f(site, "flat_out_margin_usd").is_finite());
}

#[test]
fn by_year_reports_each_calendar_year() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args([
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2023-2024",
            "--by-year",
            "--hashprice",
            "45",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let years = v["years"].as_array().unwrap();
    assert_eq!(years.len(), 2);
    assert_eq!(years[0]["year"], 2023);
    assert_eq!(years[1]["hours"], 8784);
    let sum: f64 = years.iter().map(|y| f(&y["site"], "margin_usd")).sum();
    assert!(close(sum, f(&v["site"], "margin_usd")));
}

#[test]
fn scenario_dispatch_table_is_read_and_flags_override_it() {
    let sc = format!("{ONE_BATCH}\n[dispatch]\ncredit_usd_mwh = 7\nmin_run_hours = 2\n");
    let run = |extra: &[&str]| {
        let (_dir, out) = hand_made(&sc, &[&["--json"], extra].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)
    };
    let v = run(&[]);
    assert_eq!(v["dispatch"]["credit_usd_mwh"], 7.0);
    assert_eq!(v["dispatch"]["min_run_hours"], 2);
    let v = run(&["--credit-usd-mwh", "0", "--min-run-hours", "1"]);
    assert_eq!(v["dispatch"]["credit_usd_mwh"], 0.0);
    assert!(close(f(&v["site"], "uptime"), 4.0 / 6.0));
    // An unknown key in [dispatch] is rejected, naming it.
    let (_dir, out) = hand_made(&format!("{ONE_BATCH}\n[dispatch]\ncredit = 7\n"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("credit"), "{}", stderr(&out));
}

#[test]
fn fourcp_avoidance_reports_the_transmission_saving() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args([
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--hashprice",
            "45",
        ])
        .args([
            "--fourcp-hours",
            "16,17,18",
            "--fourcp-usd-kw-year",
            "60",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["fourcp_summers"], 1.0);
    // 2024 June–September weekdays: 86 days × 3 hours.
    assert_eq!(v["batches"][0]["fourcp_hours_off"], 258);
    // Default fleet facility load: Σ units × W × 1.05 = 963.6 MW; × availability 0.97 × $60/kW-yr.
    let kw: f64 = [
        (40_000.0, 3010.0),
        (60_000.0, 3441.0),
        (60_000.0, 3500.0),
        (60_000.0, 3510.0),
        (30_000.0, 5676.0),
    ]
    .iter()
    .map(|(n, w)| n * w * 1.05 / 1000.0)
    .sum();
    assert!(close(f(&v["site"], "fourcp_savings_usd"), kw * 0.97 * 60.0));
}

#[test]
fn conversion_removes_the_least_efficient_machines_and_their_flexibility() {
    let dir = tempdir();
    let run = |extra: &[&str]| {
        let out = hashpivot(dir.path())
            .args([
                "dispatch",
                "--prices",
                "ercot:HB_WEST:2023",
                "--hashprice",
                "45",
                "--credit-usd-mwh",
                "10",
                "--json",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)
    };
    let full = run(&[]);
    let v = run(&["--convert", "0.25"]);
    let c = &v["conversion"];
    assert_eq!(f(c, "converted_mw"), 250.0);
    // 1000 MW site, fleet 963.627 MW: 36.373 MW idle go first, then all 40,000 S19 XP
    // (21.5 J/TH, 126.42 MW), then M60S (18.5 J/TH) for the remaining 87.207 MW.
    let removed = c["removed_units"].as_array().unwrap();
    assert!(close(f(&removed[0], "units"), 40_000.0));
    let m60 = (250.0 - 36.373 - 126.42) / (3441.0 * 1.05 / 1e6);
    assert!(
        (f(&removed[1], "units") - m60).abs() < 1e-6,
        "{}",
        removed[1]
    );
    assert_eq!(f(&removed[2], "units"), 0.0);
    assert!(close(f(&v["batches"][0], "units"), 0.0));
    // The converted part no longer curtails: the flexibility it earned is lost.
    let flex = |s: &serde_json::Value| f(s, "curtailment_savings_usd") + f(s, "credits_usd");
    let lost = f(c, "flexibility_value_lost_usd");
    assert!(lost > 0.0);
    assert!(close(lost, flex(&full["site"]) - flex(&v["site"])));
    assert!(close(
        f(c, "margin_before_conversion_usd"),
        f(&full["site"], "margin_usd")
    ));
}

#[test]
fn bad_inputs_exit_2_and_say_what_is_allowed() {
    let dir = tempdir();
    let case = |args: &[&str], want: &[&str]| {
        let out = hashpivot(dir.path())
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let e = stderr(&out);
        for w in want {
            assert!(e.contains(w), "{args:?}: {e:?} lacks {w:?}");
        }
    };
    case(
        &["dispatch", "--prices", "ercot:HB_EAST:2024"],
        &["HB_EAST", "HB_WEST", "LZ_WEST"],
    );
    case(
        &["dispatch", "--prices", "ercot:HB_WEST:2019"],
        &["2019", "2021 to 2025"],
    );
    case(
        &["dispatch", "--prices", "nope.csv"],
        &["nope.csv", "ercot:HB_WEST:2024"],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--hashprice",
            "-3",
        ],
        &["--hashprice", "history"],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--min-run-hours",
            "0",
        ],
        &["--min-run-hours 0", "1 <= hours"],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--fourcp-hours",
            "16,25",
        ],
        &["--fourcp-hours", "\"25\""],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--from",
            "2024-13-01",
        ],
        &["--from", "2024-13-01"],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2025",
            "--from",
            "2025-06-01",
        ],
        &["no hours"],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--fourcp-usd-kw-year",
            "60",
        ],
        &["--fourcp-hours"],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--convert",
            "1.5",
        ],
        &["--convert 1.5", "0 <= x <= 1"],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--curve-points",
            "1",
        ],
        &["--curve-points 1", "2 <= N"],
    );
    case(
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2024",
            "--convert",
            "1",
        ],
        &["--convert 1", "no machines"],
    );
    std::fs::write(
        dir.path().join("bad.csv"),
        "timestamp,price_usd_mwh\n2024-01-01T00:00,1\n2024-01-01T01:00,x\n",
    )
    .unwrap();
    case(
        &["dispatch", "--prices", "bad.csv"],
        &["bad.csv", "line 3", "price_usd_mwh", "\"x\""],
    );
    // --json errors are one JSON document too.
    let out = hashpivot(dir.path())
        .args(["dispatch", "--prices", "ercot:HB_EAST:2024", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["kind"], "bad_input");
}

#[test]
fn human_output_snapshot() {
    let (dir, out) = hand_made(ONE_BATCH, &["--credit-usd-mwh", "5", "--by-year"]);
    assert!(out.status.success(), "{}", stderr(&out));
    snap!("dispatch_hand_made", out, dir.path());
}
