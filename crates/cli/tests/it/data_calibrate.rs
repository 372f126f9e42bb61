//! `hashpivot calibrate`: estimates with standard errors from the store, and the scenario it writes.

use crate::common::{hashpivot, json, stderr, stdout, tempdir};
use hashpivot_model::scenario::Scenario;

#[test]
fn calibrates_and_writes_a_valid_scenario_with_the_newest_market_state() {
    let dir = tempdir();
    let out = dir.path().join("cal.toml");
    let o = hashpivot(dir.path())
        .args([
            "calibrate",
            "--from",
            "2022-01-01",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let est = v["estimates"].as_array().unwrap();
    let get = |k: &str| {
        est.iter()
            .find(|e| e["key"] == k)
            .unwrap_or_else(|| panic!("{k}"))
    };
    for k in [
        "price.drift",
        "price.vol",
        "fees.speed",
        "fees.vol",
        "fees.level_btc_per_block",
        "hashrate.speed_up",
        "hashrate.speed_down",
        "hashrate.vol",
        "hashrate.power_share",
    ] {
        let e = get(k);
        assert!(
            e["se"].as_f64().unwrap() >= 0.0 && e["n"].as_u64().unwrap() > 10,
            "{e}"
        );
    }
    // Daily BTC volatility over 2022–2026 is ≈ 45–60% a year; its SE is small with ~1700 returns.
    let vol = get("price.vol");
    assert!(
        (0.35..0.75).contains(&vol["value"].as_f64().unwrap()),
        "{vol}"
    );
    assert_eq!(vol["n"], 1693);
    assert_eq!(vol["from"], "2022-01-01");

    let sc = Scenario::parse_and_validate(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let ms = &v["market_state"];
    assert_eq!(ms["date"], "2026-08-22");
    assert_eq!(sc.chain.height, 963_549);
    assert_eq!(sc.price.spot, 78_329.693303);
    assert_eq!(sc.chain.difficulty, ms["difficulty"].as_f64().unwrap());
    assert_eq!(sc.price.vol, vol["value"].as_f64().unwrap());
    let written: Vec<&str> = v["written_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    if written.contains(&"hashrate.speed_up") {
        assert_eq!(
            sc.hashrate.speed_up,
            get("hashrate.speed_up")["value"].as_f64().unwrap()
        );
    }
    // The default scenario's market state is the same code path (hashpivot_data::market_state).
    let m = hashpivot_data::market_state();
    assert_eq!(ms["height"], m.height);
    assert_eq!(ms["spot_usd"].as_f64().unwrap(), m.spot_usd);
}

#[test]
fn human_output_names_samples_and_errors() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["calibrate", "--from", "2023-01-01", "--to", "2025-01-01"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(
        s.contains("Calibration sample: 2023-01-01 to 2025-01-01"),
        "{s}"
    );
    assert!(
        s.contains("std. error") && s.contains("hashrate.power_share"),
        "{s}"
    );
    assert!(s.contains("Market state 2025-01-02"), "{s}");
    for (args, want) in [
        (
            vec!["--from", "2025-02-30"],
            "--from: \"2025-02-30\" is not a date",
        ),
        (vec!["--from", "2026-08-20"], "need at least"),
        (
            vec!["--from", "2025-01-02", "--to", "2025-01-01"],
            "--from 2025-01-02 is after --to 2025-01-01",
        ),
    ] {
        let mut a = vec!["calibrate"];
        a.extend(args);
        let o = hashpivot(dir.path()).args(&a).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{a:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{a:?}: {}", stderr(&o));
    }
}
