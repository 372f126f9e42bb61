//! `hashpivot simulate` with the conversion risks of MODEL.md section 8 (end to end): the market
//! side does not move when the risks are turned on, the numbers do not depend on the thread
//! count, and the risks show in the converting strategy's spread.

use crate::common::{hashpivot, json, stderr, tempdir};

/// The section-8 keys at their version-1 values (off) or all on.
fn scenario(on: bool) -> String {
    let v = if on {
        [
            "4.0", "0.1", "0.2", "true", "true", "12.0", "6.0", // risks on
        ]
    } else {
        ["0.0", "0.0", "0.0", "false", "false", "0.0", "-1.0"]
    };
    format!(
        "[run]\nhorizon_years = 12\n[ai]\nbuild_delay_months = {}\ncapex_overrun = {}\n\
         capex_overrun_vol = {}\nmine_during_build = {}\ndefault_events = {}\n\
         backstop_months = {}\nrelet_months = {}\n",
        v[0], v[1], v[2], v[3], v[4], v[5], v[6]
    )
}

fn run(dir: &std::path::Path, file: &str, threads: &str) -> serde_json::Value {
    let o = hashpivot(dir)
        .args([
            "simulate", file, "--share", "1", "--paths", "300", "--seed", "5",
        ])
        .args(["--threads", threads, "--json"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    json(&o)
}

#[test]
fn risks_keep_the_market_and_the_bits() {
    let dir = tempdir();
    std::fs::write(dir.path().join("off.toml"), scenario(false)).unwrap();
    std::fs::write(dir.path().join("on.toml"), scenario(true)).unwrap();
    let off = run(dir.path(), "off.toml", "2");
    let on1 = run(dir.path(), "on.toml", "1");
    let on2 = run(dir.path(), "on.toml", "2");
    assert_eq!(on1, on2, "same seed, same bits on 1 and 2 threads");
    // `mine` and the market bands are the same paths.
    for k in ["npv", "mining_npv_mean", "prob_negative", "cvar5"] {
        assert_eq!(off["results"][0][k], on1["results"][0][k], "mine {k}");
    }
    for k in [
        "price_usd",
        "hashprice_usd_per_ph_day",
        "difficulty",
        "hashrate_ehs",
    ] {
        assert_eq!(off["bands"][k], on1["bands"][k], "band {k}");
    }
    // The conversion carries the risks: a different mean and a wider spread.
    let (a, b) = (&off["results"][1]["npv"], &on1["results"][1]["npv"]);
    assert_ne!(a["mean"], b["mean"]);
    assert!(b["stderr"].as_f64().unwrap() > a["stderr"].as_f64().unwrap());
    // The human table runs too.
    let o = hashpivot(dir.path())
        .args(["simulate", "on.toml", "--share", "1", "--paths", "100"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}
