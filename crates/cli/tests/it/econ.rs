//! End-to-end tests of `hashpivot hashprice`, `machines` and `machine`.

use crate::common::{hashpivot, json, stderr, tempdir};

fn run(args: &[&str]) -> std::process::Output {
    let dir = tempdir();
    hashpivot(dir.path()).args(args).output().expect("runs")
}

fn run_json(args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let o = run(&a);
    let v = json(&o);
    (o, v)
}

const TWO_32: f64 = 4_294_967_296.0;

#[test]
fn hashprice_follows_model_section_2() {
    let (o, v) = run_json(&[
        "hashprice",
        "--price",
        "107000",
        "--difficulty",
        "155.97T",
        "--fees",
        "0.025",
        "--height",
        "920000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let btc = 86400.0 * 1e15 * (3.125 + 0.025) / (155.97e12 * TWO_32);
    let got = v["btc_per_ph_day"].as_f64().unwrap();
    assert!((got - btc).abs() / btc < 1e-14, "{got} vs {btc}");
    let usd = v["usd_per_ph_day"].as_f64().unwrap();
    assert!((usd - btc * 107000.0).abs() / usd < 1e-14);
    // Hashrate Index published $43.33/PH/day on 2025-11-03 (docs/PARAMETERS.md) at about these
    // inputs: the formula lands within a few percent of the published figure.
    assert!((usd - 43.33).abs() / 43.33 < 0.05, "{usd}");
    assert_eq!(v["subsidy_btc"], 3.125);
    assert_eq!(v["height_source"], "given");

    // The subsidy depends on the height: after the 2028 halving the same inputs give less.
    let (_, w) = run_json(&[
        "hashprice",
        "--price",
        "107000",
        "--difficulty",
        "1.5597e14",
        "--fees",
        "0.025",
        "--height",
        "1050000",
    ]);
    let ratio = w["usd_per_ph_day"].as_f64().unwrap() / usd;
    assert!((ratio - (1.5625 + 0.025) / 3.15).abs() < 1e-12);

    let o = run(&[
        "hashprice",
        "--price",
        "107000",
        "--difficulty",
        "155.97T",
        "--height",
        "920000",
        "--fees",
        "0.025",
    ]);
    snap!("hashprice_human", o);
}

#[test]
fn hashprice_default_height_is_the_market_states() {
    // The same "today" as every command: the shipped data's newest day (2026-08-22, height
    // 963,549 in data/btc_price/btc_block_height_by_date.csv), not the clock.
    let (o, v) = run_json(&["hashprice", "--price", "90000", "--difficulty", "148.26T"]);
    assert!(o.status.success());
    assert_eq!(v["height_source"], "market state 2026-08-22, shipped data");
    assert_eq!(v["height"], 963_549);
    assert_eq!(v["market_state"]["date"], "2026-08-22");
    assert_eq!(v["market_state"]["source"], "shipped data");
    // The fees too: one owner of "today" (the market state's recent average), and the output
    // says so; given fees carry no source.
    let fees = hashpivot_data::market_state().fees_btc_per_block;
    assert!(fees > 0.0 && fees != 0.025, "{fees}");
    assert_eq!(v["fees_btc"], fees);
    assert_eq!(v["fees_source"], "market state 2026-08-22, shipped data");
    let want = 86400.0 * 1e15 * (3.125 + fees) / (148.26e12 * TWO_32) * 90_000.0;
    let got = v["usd_per_ph_day"].as_f64().unwrap();
    assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
    let (_, v) = run_json(&[
        "hashprice",
        "--price",
        "90000",
        "--difficulty",
        "148.26T",
        "--fees",
        "0.025",
    ]);
    assert_eq!(v["fees_btc"], 0.025);
    assert!(v.get("fees_source").is_none(), "{v}");
}

#[test]
fn hashprice_bad_input_names_the_flag() {
    for (args, flag) in [
        (vec!["--price", "-5", "--difficulty", "1e14"], "--price"),
        (vec!["--price", "abc", "--difficulty", "1e14"], "--price"),
        (vec!["--price", "1", "--difficulty", "0"], "--difficulty"),
        (vec!["--price", "1", "--difficulty", "12X"], "--difficulty"),
        (
            vec!["--price", "1", "--difficulty", "1e14", "--fees", "-1"],
            "--fees",
        ),
        (
            vec!["--price", "1", "--difficulty", "1e14", "--height", "-1"],
            "--height",
        ),
    ] {
        let mut a = vec!["hashprice"];
        a.extend(args.iter());
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{a:?}");
        assert!(stderr(&o).contains(flag), "{a:?}: {}", stderr(&o));
    }
}

#[test]
fn machines_lists_the_catalog_with_sources() {
    let (o, v) = run_json(&["machines"]);
    assert!(o.status.success());
    let ms = v["machines"].as_array().unwrap();
    assert!(ms.len() >= 29);
    assert_eq!(v["count"], ms.len());
    for m in ms {
        assert!(!m["source"].as_str().unwrap().is_empty());
        let e = m["power_w"].as_f64().unwrap() / m["hashrate_ths"].as_f64().unwrap();
        assert!((m["efficiency_jth"].as_f64().unwrap() - e).abs() < 1e-12);
    }
    for model in [
        "Antminer S19 XP",
        "Antminer S21 XP Hyd",
        "Whatsminer M60S",
        "Whatsminer M66S+",
    ] {
        assert!(ms.iter().any(|m| m["model"] == model), "{model}");
    }
    let o = run(&["machines"]);
    snap!("machines_human", o);
}

#[test]
fn machines_with_user_catalog() {
    let dir = tempdir();
    let p = dir.path().join("mine.toml");
    std::fs::write(
        &p,
        "[[machine]]\nmodel = \"Garage Rig\"\nhashrate_ths = 150\npower_w = 3000\nsource = \"my meter\"\n",
    )
    .unwrap();
    let (o, v) = run_json(&["machines", "--catalog", p.to_str().unwrap()]);
    assert!(o.status.success());
    let rig = v["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "Garage Rig")
        .unwrap()
        .clone();
    assert_eq!(rig["origin"], "user");
    assert_eq!(rig["efficiency_jth"], 20.0);
    // And the machine command finds it.
    let (o, v) = run_json(&[
        "machine",
        "garage rig",
        "--catalog",
        p.to_str().unwrap(),
        "--power-usd-mwh",
        "40",
        "--hashprice",
        "40",
    ]);
    assert!(o.status.success());
    assert_eq!(v["revenue_usd_day"], 6.0);

    std::fs::write(
        &p,
        "[[machine]]\nmodel = \"x\"\nhashrate_ths = 1\npower_w = 1\nwatts = 2\n",
    )
    .unwrap();
    let o = run(&["machines", "--catalog", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--catalog") && stderr(&o).contains("watts"),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        &p,
        "[[machine]]\nmodel = \"x\"\nhashrate_ths = 0\npower_w = 1\n",
    )
    .unwrap();
    let o = run(&["machines", "--catalog", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("hashrate_ths = 0 is not allowed"),
        "{}",
        stderr(&o)
    );
    let o = run(&["machines", "--catalog", "/nonexistent/x.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--catalog: cannot read"));
}

#[test]
fn machine_economics_by_hand() {
    let (o, v) = run_json(&[
        "machine",
        "Antminer S21 XP",
        "--power-usd-mwh",
        "50",
        "--hashprice",
        "45",
        "--machine-price-usd-per-th",
        "25.70",
        "--height",
        "850000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let close = |a: &serde_json::Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-9;
    // 270 TH * $45/PH/day / 1000 = $12.15; 3645 W * 24 / 1e6 * $50 = $4.374.
    assert!(close(&v["revenue_usd_day"], 12.15));
    assert!(close(&v["power_cost_usd_day"], 4.374));
    assert!(close(&v["margin_usd_day"], 7.776));
    assert!(close(&v["breakeven_power_usd_mwh"], 12.15 / 0.08748));
    assert!(close(&v["breakeven_hashprice_usd_per_ph_day"], 16.2));
    assert!(close(&v["capex_usd"], 6939.0));
    assert!(close(&v["simple_payback_days"], 6939.0 / 7.776));
    // The projection's halving: 1,050,000 - 850,000 = 200,000 blocks, on the engine's path (its
    // hashrate, so its blocks per day, follows profitability) not at a fixed 144 a day.
    assert_eq!(v["height"], 850000);
    assert_eq!(v["height_source"], "given");
    assert!(v["projected"]["halving_day"].as_f64().is_some());
    assert_eq!(v["market_state"]["source"], "shipped data");

    let o = run(&[
        "machine",
        "s21 xp",
        "--power-usd-mwh",
        "50",
        "--price",
        "100000",
        "--difficulty",
        "148.26T",
        "--height",
        "925000",
        "--machine-price-usd-per-th",
        "25.70",
    ]);
    assert!(o.status.success());
    snap!("machine_s21xp_human", o);
}

/// The default scenario's text with every volatility set to zero (the path `machine` projects on).
fn zero_vol_scenario(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let o = run(&["scenario", "show"]);
    assert!(o.status.success());
    let mut power = String::new();
    let text: String = crate::common::stdout(&o)
        .lines()
        .map(|l| {
            let key = l.split('=').next().unwrap_or("").trim();
            if key == "power_usd_mwh" {
                power = l
                    .split('=')
                    .nth(1)
                    .unwrap()
                    .split('#')
                    .next()
                    .unwrap()
                    .trim()
                    .into();
            }
            if key == "vol" || key == "lease_vol" {
                format!("{key} = 0.0\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let p = dir.join("zero_vol.toml");
    std::fs::write(&p, text).unwrap();
    (p, power)
}

/// One projection (issue 18, item 7): `machine` and `payback` of the same machine at the same
/// price, on the zero-volatility default scenario, agree on the payback day, the halving day and
/// the NPV, and both start from the market state they name.
#[test]
fn machine_and_payback_agree_on_the_zero_volatility_path() {
    let dir = tempdir();
    let (scenario, power) = zero_vol_scenario(dir.path());
    assert_eq!(power, "38.0");
    for (model, price) in [
        ("Antminer S21 XP", "25.7"),
        ("Antminer S21 XP", "12"),
        ("S21 XP Hyd", "18"),
    ] {
        let (o, m) = run_json(&[
            "machine",
            model,
            "--power-usd-mwh",
            &power,
            "--machine-price-usd-per-th",
            price,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (o, p) = run_json(&[
            "payback",
            model,
            scenario.to_str().unwrap(),
            "--machine-price-usd-per-th",
            price,
            "--paths",
            "3",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let pj = &m["projected"];
        assert_eq!(
            p["payback_days"]["p5"], p["payback_days"]["p95"],
            "zero vol: one path"
        );
        assert_eq!(
            pj["payback_days"], p["payback_days"]["p50"],
            "{model} at {price}"
        );
        assert_eq!(pj["halving_day"], p["halving_day_p50"]);
        // The median of identical paths is that path's NPV (the mean of three may differ in the
        // last bit).
        assert_eq!(pj["npv_usd"], p["npv_usd"]["p50"]);
        assert_eq!(pj["life_days"], p["life_days"]);
        // Same "today": the machine starts from the market state's height, as the scenario.
        assert_eq!(m["market_state"]["date"], "2026-08-22");
        assert_eq!(m["height_source"], "market state 2026-08-22, shipped data");
    }
    // The S21 XP at $25.7/TH pays back within its life on the deterministic path (the old fixed
    // +22 %/yr difficulty rule said "never within 10 years").
    let (_, m) = run_json(&[
        "machine",
        "Antminer S21 XP",
        "--power-usd-mwh",
        &power,
        "--machine-price-usd-per-th",
        "25.7",
    ]);
    assert!(m["projected"]["payback_days"].as_f64().is_some(), "{m}");
}

#[test]
fn machine_projection_follows_the_market_inputs() {
    // An S9 at $60/MWh loses money: simple payback is null ("never"), and so is the projection.
    let (o, v) = run_json(&[
        "machine",
        "Antminer S9",
        "--power-usd-mwh",
        "60",
        "--hashprice",
        "45",
        "--machine-price-usd-per-th",
        "1",
        "--height",
        "900000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(v["margin_usd_day"].as_f64().unwrap() < 0.0);
    assert_eq!(v["simple_payback_days"], serde_json::Value::Null);
    assert_eq!(v["projected"]["payback_days"], serde_json::Value::Null);
    // A higher hashprice pays back sooner; a longer life does not change an earlier payback.
    let at = |hp: &str, extra: &[&str]| {
        let mut a = vec![
            "machine",
            "S21 XP Hyd",
            "--power-usd-mwh",
            "40",
            "--hashprice",
            hp,
            "--machine-price-usd-per-th",
            "20",
        ];
        a.extend(extra);
        let (o, v) = run_json(&a);
        assert!(o.status.success(), "{}", stderr(&o));
        v["projected"]["payback_days"].as_f64()
    };
    let p50 = at("50", &[]).expect("pays back at $50/PH/day");
    let p80 = at("80", &[]).expect("pays back at $80/PH/day");
    assert!(p80 < p50, "{p80} vs {p50}");
    assert_eq!(at("80", &["--life-years", "8"]), Some(p80));
    // The old rule's flags are refused with a reason (exit 2).
    for flag in ["--difficulty-growth", "--horizon-years"] {
        let o = run(&[
            "machine",
            "S21",
            "--power-usd-mwh",
            "50",
            "--machine-price-usd-per-th",
            "20",
            flag,
            "0.22",
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains(&format!("{flag}: no longer used")),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn machine_bad_input() {
    let o = run(&[
        "machine",
        "Antminer S99",
        "--power-usd-mwh",
        "50",
        "--hashprice",
        "45",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("MODEL: unknown machine model \"Antminer S99\""),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "machine",
        "S21 XP Hydro",
        "--power-usd-mwh",
        "50",
        "--hashprice",
        "45",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean") && stderr(&o).contains("Antminer S21 XP Hyd"),
        "{}",
        stderr(&o)
    );
    for (args, flag) in [
        (
            vec!["--power-usd-mwh", "50", "--hashprice", "45", "--price", "1"],
            "--hashprice",
        ),
        (
            vec!["--power-usd-mwh", "x", "--hashprice", "45"],
            "--power-usd-mwh",
        ),
        (
            vec!["--power-usd-mwh", "50", "--hashprice", "-1"],
            "--hashprice",
        ),
        (
            vec![
                "--power-usd-mwh",
                "50",
                "--hashprice",
                "4",
                "--machine-price-usd-per-th",
                "-2",
            ],
            "--machine-price-usd-per-th",
        ),
        (
            vec![
                "--power-usd-mwh",
                "50",
                "--hashprice",
                "4",
                "--life-years",
                "0",
            ],
            "--life-years",
        ),
    ] {
        let mut a = vec!["machine", "S21"];
        a.extend(args.iter());
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{a:?}");
        assert!(stderr(&o).contains(flag), "{a:?}: {}", stderr(&o));
    }
}
