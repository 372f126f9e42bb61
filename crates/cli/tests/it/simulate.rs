//! End-to-end tests of `hashpivot simulate`, `hashpivot scenario` and `hashpivot payback`.

use crate::common::{hashpivot, json, stderr, stdout, tempdir};

#[test]
fn simulate_json_is_one_document_with_mine_first() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["simulate", "--paths", "300", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["paths"], 300);
    assert_eq!(j["seed"], 42);
    let results = j["results"].as_array().unwrap();
    assert_eq!(results[0]["strategy"], "mine");
    assert_eq!(results[0]["prob_below_mine"], 0.0);
    // The default strategy is a sweep over 5 shares.
    assert_eq!(results.len(), 6);
    for r in results {
        for k in ["mean", "stderr", "p5", "p50", "p95"] {
            assert!(r["npv"][k].is_f64(), "{k}");
        }
        for k in [
            "mining_npv_mean",
            "ai_npv_mean",
            "prob_negative",
            "prob_below_mine",
            "cvar5",
        ] {
            assert!(r[k].is_number(), "{k}");
        }
    }
    let b = &j["bands"];
    for k in [
        "price_usd",
        "hashprice_usd_per_ph_day",
        "difficulty",
        "hashrate_ehs",
    ] {
        assert_eq!(b[k]["p50"].as_array().unwrap().len(), 15, "{k}");
    }
    assert_eq!(b["site_cash_usd"][0]["strategy"], "mine");
}

#[test]
fn same_seed_same_json_on_one_and_two_threads() {
    let dir = tempdir();
    let run = |threads: &str| {
        let o = hashpivot(dir.path())
            .args([
                "simulate",
                "--paths",
                "2100",
                "--strategy",
                "convert",
                "--share",
                "0.4",
                "--threads",
                threads,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(run("1"), run("2"));
    // The lane loops are compiled for AVX-512, AVX2 and baseline x86-64 and picked at run time;
    // every variant must give the same bits.
    let isa = |name: &str| {
        let o = hashpivot(dir.path())
            .env("HASHPIVOT_ISA", name)
            .args(["simulate", "--paths", "1100", "--json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let base = isa("baseline");
    assert_eq!(base, isa("avx2"));
    assert_eq!(base, isa("best"));
}

#[test]
fn bad_flags_exit_2_naming_flag_value_and_range() {
    let dir = tempdir();
    for (args, want) in [
        (
            vec!["simulate", "--paths", "0"],
            vec!["--paths", "0", "1 to"],
        ),
        (
            vec!["simulate", "--share", "1.5"],
            vec!["--share", "1.5", "0 to 1"],
        ),
        (
            vec!["simulate", "--strategy", "hodl"],
            vec!["--strategy", "hodl", "mine, convert"],
        ),
        (
            vec!["simulate", "--strategy", "sweep", "--share", "0.5"],
            vec!["--share", "convert"],
        ),
        (
            vec!["simulate", "/nonexistent/scenario.toml"],
            vec!["cannot read", "scenario.toml"],
        ),
    ] {
        let o = hashpivot(dir.path()).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        for w in want {
            assert!(e.contains(w), "{args:?}: {e:?} lacks {w:?}");
        }
    }
}

#[test]
fn bad_scenarios_exit_2_naming_key_line_value_and_range() {
    let dir = tempdir();
    let cases = [
        (
            "[site]\npower_mw = 1000\npowr_usd_mwh = 30\n",
            vec!["powr_usd_mwh", "line 3"],
        ),
        ("[run]\npaths = = 1\n", vec!["line 2"]),
        (
            "[site]\npower_mw = 100\n",
            vec!["mining.fleet", "site.power_mw = 100"],
        ),
        (
            "[price]\nvol = -0.2\n[strategy]\nshare = 1.5\n",
            vec!["price.vol = -0.2", "strategy.share = 1.5", "0 <= x <= 1"],
        ),
        (
            "[[mining.fleet]]\nmodel = \"S21\"\nunits = 10\nhashrate_ths = 200\n",
            vec!["power_w", "mining.fleet[0]"],
        ),
        (
            "[[mining.fleet]]\nmodel = \"S21\"\nunits = -10\nhashrate_ths = 200\npower_w = 3500\n",
            vec!["mining.fleet[0].units = -10"],
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&f, text).unwrap();
        for cmd in ["simulate", "check"] {
            let mut c = hashpivot(dir.path());
            if cmd == "check" {
                c.args(["scenario", "check"]);
            } else {
                c.args(["simulate", "--paths", "10"]);
            }
            let o = c.arg(&f).output().unwrap();
            assert_eq!(o.status.code(), Some(2), "case {i} {cmd}: {}", stderr(&o));
            let e = stderr(&o);
            for w in want {
                assert!(e.contains(w), "case {i} {cmd}: {e:?} lacks {w:?}");
            }
        }
    }
    // --json errors are one JSON document too.
    let f = dir.path().join("bad0.toml");
    let o = hashpivot(dir.path())
        .args(["simulate", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["kind"], "bad_input");
}

#[test]
fn scenario_show_round_trips_through_simulate() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["scenario", "show"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("PARAMETERS") && text.contains("[[mining.fleet]]"));
    let f = dir.path().join("default.toml");
    std::fs::write(&f, &text).unwrap();
    let o = hashpivot(dir.path())
        .args(["scenario", "check"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // The shown file gives exactly the numbers of the embedded default.
    let a = hashpivot(dir.path())
        .args(["simulate", "--paths", "200", "--json"])
        .output()
        .unwrap();
    let b = hashpivot(dir.path())
        .args(["simulate", "--paths", "200", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(json(&a), json(&b));
    // JSON form of the default has the TOML tables.
    let o = hashpivot(dir.path())
        .args(["scenario", "show", "--json"])
        .output()
        .unwrap();
    let j = json(&o);
    for k in [
        "run", "chain", "price", "fees", "hashrate", "site", "mining", "ai", "strategy",
    ] {
        assert!(j[k].is_object(), "{k}");
    }
}

#[test]
fn simulate_human_output() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args([
            "simulate",
            "--paths",
            "400",
            "--strategy",
            "convert",
            "--share",
            "0.5",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    snap!("simulate_convert_half", o);
}

#[test]
fn payback_distribution() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args([
            "payback",
            "S21 XP",
            "--machine-price-usd-per-th",
            "15",
            "--paths",
            "300",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["paths"], 300);
    assert_eq!(j["hashrate_ths"], 270.0);
    assert!((j["price_usd"].as_f64().unwrap() - 15.0 * 270.0).abs() < 1e-9);
    let p = j["prob_payback_before_end_of_life"].as_f64().unwrap();
    let h = j["prob_payback_before_halving"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p) && h <= p + 1e-12, "{p} {h}");
    assert!(j["npv_usd"]["p5"].as_f64().unwrap() <= j["npv_usd"]["p95"].as_f64().unwrap());
    // Cheaper machines pay back no later.
    let cheap = hashpivot(dir.path())
        .args([
            "payback",
            "S21 XP",
            "--machine-price-usd-per-th",
            "5",
            "--paths",
            "300",
            "--json",
        ])
        .output()
        .unwrap();
    let c = json(&cheap);
    assert!(c["prob_payback_before_end_of_life"].as_f64().unwrap() >= p);
    let o = hashpivot(dir.path())
        .args([
            "payback",
            "S21 XP",
            "--machine-price-usd-per-th",
            "15",
            "--paths",
            "300",
        ])
        .output()
        .unwrap();
    snap!("payback_s21xp", o);
    // Bad input.
    let o = hashpivot(dir.path())
        .args([
            "payback",
            "Nonexistent 9000",
            "--machine-price-usd-per-th",
            "15",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = hashpivot(dir.path())
        .args(["payback", "S21 XP", "--machine-price-usd-per-th", "-1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--machine-price-usd-per-th"));
}
