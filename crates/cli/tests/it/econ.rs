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
    ]);
    snap!("hashprice_human", o);
}

#[test]
fn hashprice_default_height_is_today_estimate() {
    let (o, v) = run_json(&["hashprice", "--price", "90000", "--difficulty", "148.26T"]);
    assert!(o.status.success());
    assert_eq!(v["height_source"], "estimated for today");
    assert!(v["height"].as_u64().unwrap() >= 963_549);
    assert_eq!(v["fees_btc"], 0.025);
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
        "--difficulty-growth",
        "0",
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
    // With no growth and the halving 1,389 days away, projected = simple, rounded up.
    assert_eq!(
        v["projected"]["payback_days"],
        (6939.0f64 / 7.776).ceil() as u64
    );
    assert_eq!(v["projected"]["halving_day"], 1388);

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

#[test]
fn machine_payback_never_and_growth() {
    // An S9 at $60/MWh loses money: simple payback is null ("never").
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
    assert!(o.status.success());
    assert!(v["margin_usd_day"].as_f64().unwrap() < 0.0);
    assert_eq!(v["simple_payback_days"], serde_json::Value::Null);
    assert_eq!(v["projected"]["payback_days"], serde_json::Value::Null);
    assert_eq!(v["projected"]["curtailed_days"], 3650);
    // Difficulty growth delays the projected payback; "22%" and "0.22" mean the same.
    let base = [
        "machine",
        "S21 XP Hyd",
        "--power-usd-mwh",
        "40",
        "--hashprice",
        "50",
        "--machine-price-usd-per-th",
        "20",
        "--height",
        "850000",
    ];
    let with = |g: &str| {
        let mut a = base.to_vec();
        a.extend(["--difficulty-growth", g]);
        let (o, v) = run_json(&a);
        assert!(o.status.success(), "{}", stderr(&o));
        v["projected"]["payback_days"].as_u64()
    };
    let flat = with("0").expect("pays back without growth");
    let g22 = with("0.22").expect("pays back at 22%");
    assert_eq!(with("22%"), Some(g22));
    assert!(g22 > flat, "{g22} vs {flat}");
    // Faster growth: later, or never.
    assert!(with("0.6").is_none_or(|d| d > g22));
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
        (vec!["--power-usd-mwh", "50"], "--hashprice"),
        (
            vec!["--power-usd-mwh", "50", "--hashprice", "45", "--price", "1"],
            "--hashprice",
        ),
        (
            vec!["--power-usd-mwh", "50", "--price", "1"],
            "--difficulty",
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
                "--difficulty-growth",
                "-150%",
            ],
            "--difficulty-growth",
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
                "--horizon-years",
                "0",
            ],
            "--horizon-years",
        ),
    ] {
        let mut a = vec!["machine", "S21"];
        a.extend(args.iter());
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{a:?}");
        assert!(stderr(&o).contains(flag), "{a:?}: {}", stderr(&o));
    }
}
