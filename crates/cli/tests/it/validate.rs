//! `hashpivot validate`: the LSM core against the Longstaff–Schwartz (2001) Table 1 grid and the
//! binomial reference, end to end through the binary.

use crate::common::{hashpivot, json, stderr, tempdir};

/// The bar, through the CLI: the whole Table 1 grid at 100,000 paths within 0.02 of the
/// reference, and of the paper's published finite-difference values.
#[test]
fn grid_at_100k_paths_within_two_cents() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args(["--json", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["pass"], true);
    assert_eq!(v["monte_carlo"]["paths"], 100_000);
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 20);
    for c in cases {
        let price = c["price"].as_f64().unwrap();
        let reference = c["reference"].as_f64().unwrap();
        let published = c["published_fd_american"].as_f64().unwrap();
        let se = c["stderr"].as_f64().unwrap();
        assert!((price - reference).abs() <= 0.02, "{c}");
        assert!((price - published).abs() <= 0.02, "{c}");
        // The program's own reference agrees with the paper's (independent) FD column.
        assert!((reference - published).abs() <= 0.01, "{c}");
        assert!(se > 0.0 && se < 0.012, "{c}");
    }
    // Spot checks of the published column as printed (LS 2001 Table 1).
    let find = |s: f64, vol: f64, t: f64| {
        cases
            .iter()
            .find(|c| c["spot"] == s && c["vol"] == vol && c["years"] == t)
            .unwrap()["published_fd_american"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(find(36.0, 0.2, 1.0), 4.478);
    assert_eq!(find(36.0, 0.2, 2.0), 4.840);
    assert_eq!(find(36.0, 0.4, 1.0), 7.101);
    assert_eq!(find(44.0, 0.2, 1.0), 1.110);
}

#[test]
fn american_put_json_has_price_and_stderr_near_the_reference() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args([
            "--json",
            "validate",
            "american-put",
            "--spot",
            "40",
            "--strike",
            "40",
            "--rate",
            "0.06",
            "--vol",
            "0.4",
            "--years",
            "1",
            "--exercises-per-year",
            "50",
            "--paths",
            "50000",
            "--seed",
            "7",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let price = v["price"].as_f64().unwrap();
    let se = v["stderr"].as_f64().unwrap();
    // LS 2001 Table 1: 5.312 (FD American); the Bermudan reference is computed by the program.
    let reference = v["reference"].as_f64().unwrap();
    assert!((reference - 5.312).abs() < 0.01, "{reference}");
    assert!(
        (price - reference).abs() < 4.0 * se + 0.005,
        "{price} ± {se} vs {reference}"
    );
    assert!(se > 0.0 && se < 0.02);
    assert!(v["american_binomial"].as_f64().unwrap() >= reference);
    assert!(
        (v["gap"].as_f64().unwrap() - (v["in_sample"].as_f64().unwrap() - price)).abs() < 1e-12
    );
    assert_eq!(v["inputs"]["exercise_dates"], 50);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = tempdir();
    let run = |threads: &str| {
        let out = hashpivot(dir.path())
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "--json",
                "validate",
                "american-put",
                "--spot",
                "38",
                "--strike",
                "40",
                "--rate",
                "0.06",
                "--vol",
                "0.2",
                "--years",
                "2",
                "--paths",
                "9000",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json(&out)
    };
    assert_eq!(run("1"), run("3"));
}

/// The put's lane loops are compiled for AVX2 and for baseline x86-64 and picked at run time:
/// both builds must give the same bits, with antithetic pairs and control variates and without.
#[test]
fn results_do_not_depend_on_the_instruction_set() {
    let dir = tempdir();
    let run = |isa: &str, plain: bool| {
        let mut args = put_args(&["--degree", "4"]);
        if plain {
            args.push("--plain");
        }
        let out = hashpivot(dir.path())
            .env("HASHPIVOT_ISA", isa)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json(&out)
    };
    for plain in [false, true] {
        assert_eq!(run("baseline", plain), run("avx2", plain), "plain: {plain}");
    }
}

#[test]
fn bad_flags_exit_2_naming_flag_value_and_range() {
    let dir = tempdir();
    let base = [
        "validate",
        "american-put",
        "--spot",
        "36",
        "--strike",
        "40",
        "--rate",
        "0.06",
        "--years",
        "1",
    ];
    let cases: [(&[&str], &str, &str); 6] = [
        (&["--vol", "-0.2"], "--vol", "-0.2"),
        (&["--vol", "0.2", "--paths", "0"], "--paths", "0"),
        (
            &["--vol", "0.2", "--exercises-per-year", "0"],
            "--exercises-per-year",
            "0",
        ),
        (&["--vol", "0.2", "--degree", "0"], "--degree", "0"),
        (&["--vol", "NaN"], "--vol", "NaN"),
        (&["--vol", "0.2", "--spot", "-1"], "--spot", "-1"),
    ];
    for (extra, flag, value) in cases {
        // A later --spot overrides nothing in clap; pass the bad spot through a fresh arg list.
        let mut args: Vec<&str> = base.to_vec();
        if extra.contains(&"--spot") {
            args.retain(|a| *a != "36");
            let pos = args.iter().position(|a| *a == "--spot").unwrap();
            args.remove(pos);
        }
        args.extend_from_slice(extra);
        let out = hashpivot(dir.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(flag) && err.contains(value), "{args:?}: {err}");
        assert!(err.contains("use "), "names the allowed range: {err}");
    }
    // The grid's own flags, and the JSON error document.
    let out = hashpivot(dir.path())
        .args(["--json", "validate", "--tolerance", "-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["kind"], "bad_input");
    assert!(v["error"].as_str().unwrap().contains("--tolerance"));
}

#[test]
fn a_failed_verdict_exits_1_with_one_json_document() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args([
            "--json",
            "validate",
            "--paths",
            "300",
            "--tolerance",
            "0.000001",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["pass"], false);
    assert!(v["failures"].as_u64().unwrap() > 0);
}

#[test]
fn human_output_snapshots() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args([
            "validate",
            "american-put",
            "--spot",
            "36",
            "--strike",
            "40",
            "--rate",
            "0.06",
            "--vol",
            "0.2",
            "--years",
            "1",
            "--paths",
            "4000",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    snap!("validate_american_put", out);
    let out = hashpivot(dir.path())
        .args(["validate", "--paths", "2000", "--tolerance", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    snap!("validate_grid_small", out);
}

/// `--json validate american-put` on Longstaff–Schwartz's first Table 1 case, then `extra`.
fn put_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let base = "--json validate american-put --spot 36 --strike 40 --rate 0.06 --vol 0.2 \
                --years 1 --paths 20000 --seed 3";
    let mut v: Vec<&str> = base.split_whitespace().collect();
    v.extend_from_slice(extra);
    v
}

#[test]
fn upper_bound_brackets_the_reference_and_is_absent_unless_asked() {
    let dir = tempdir();
    let out = hashpivot(dir.path()).args(put_args(&[])).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plain = json(&out);
    assert!(plain.get("upper_bound").is_none(), "{plain}");
    let out = hashpivot(dir.path())
        .args(put_args(&[
            "--upper-bound",
            "--outer-paths",
            "300",
            "--inner-paths",
            "400",
        ]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    // The rest of the report is the run without the flag.
    for key in [
        "price",
        "stderr",
        "in_sample",
        "reference",
        "american_binomial",
    ] {
        assert_eq!(v[key], plain[key], "{key}");
    }
    let u = &v["upper_bound"];
    let f = |a: &str, b: &str| u[a][b].as_f64().unwrap();
    let reference = v["reference"].as_f64().unwrap();
    assert_eq!(f("lower", "value"), v["price"].as_f64().unwrap());
    assert!(f("lower", "value") <= reference + 3.0 * f("lower", "stderr"));
    assert!(f("upper", "value") >= reference - 3.0 * f("upper", "stderr"));
    assert!((f("gap", "value") - (f("upper", "value") - f("lower", "value"))).abs() < 1e-12);
    assert!(f("gap", "value") < 0.01 * reference, "{u}");
    assert_eq!(u["outer_paths"], 300);
    assert_eq!(u["inner_paths"], 400);
    assert!(u["nested_estimates"].as_u64().unwrap() >= 300);
    assert!(u.get("seconds").is_none(), "no timing in JSON: {u}");
}

#[test]
fn bad_upper_bound_settings_exit_2_naming_flag_value_and_range() {
    let dir = tempdir();
    for (flag, value, range) in [
        ("--outer-paths", "1", "2 to 10000000"),
        ("--inner-paths", "1", "2 to 1000000"),
    ] {
        let out = hashpivot(dir.path())
            .args(put_args(&["--upper-bound", flag, value]))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
        let e = stderr(&out);
        assert!(
            e.contains(flag) && e.contains(value) && e.contains(range),
            "{e}"
        );
    }
}
