//! `simulate --strategy optimal`: the JSON carries the real-option extras, and people get the
//! estimates with their bounds, the per-slice odds and the schedule.

use crate::common::*;

#[test]
fn optimal_json_has_bounds_policy_and_boundary() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args([
            "simulate",
            "--strategy",
            "optimal",
            "--paths",
            "400",
            "--seed",
            "7",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let r = &v["results"];
    assert_eq!(r[0]["strategy"], "mine");
    assert_eq!(r[1]["strategy"], "optimal");
    let o = &r[1];
    let ins = o["npv"]["mean"].as_f64().unwrap();
    let oos = o["npv_out_of_sample"]["mean"].as_f64().unwrap();
    let pf = o["npv_perfect_foresight"]["mean"].as_f64().unwrap();
    let mine = r[0]["npv"]["mean"].as_f64().unwrap();
    // Perfect foresight bounds every policy from above; converting is optional, so the fitted policy
    // is worth at least mining up to Monte Carlo error (a few standard errors at 400 paths).
    assert!(pf >= ins && pf >= oos, "pf {pf} in {ins} oos {oos}");
    let se = o["npv"]["stderr"].as_f64().unwrap();
    assert!(ins >= mine - 4.0 * se, "optimal {ins} below mine {mine}");
    // Cumulative conversion probabilities never decrease, and the expected share stays in [0, 1].
    let share = o["policy"]["expected_share_converted"].as_array().unwrap();
    let mut last = 0.0;
    for s in share {
        let s = s.as_f64().unwrap();
        assert!((0.0..=1.0).contains(&s) && s + 1e-12 >= last, "{share:?}");
        last = s;
    }
    assert!(o["boundary"]["months"].as_array().unwrap().len() == share.len());
    // The embedded default is levered: the policy maximizes the owner's value, and its bounds
    // and value of flexibility are given in it too.
    let ob = &o["objective"];
    assert_eq!(ob["objective"], "equity_npv", "{o}");
    let g = |v: &serde_json::Value| v["mean"].as_f64().unwrap();
    let eq = g(&o["equity"]["equity_npv"]);
    assert!(
        (g(&ob["value_in_sample"]) - eq).abs() <= 1e-9 * eq.abs(),
        "{ob}"
    );
    assert!(
        g(&ob["value_perfect_foresight"]) >= g(&ob["value_in_sample"]),
        "{ob}"
    );
    let flex = &ob["flexibility"]["value_in_sample"];
    assert!(g(flex) >= -4.0 * flex["stderr"].as_f64().unwrap(), "{ob}");
}

#[test]
fn optimal_human_output_explains_the_schedule() {
    let dir = tempdir();
    let out = hashpivot(dir.path())
        .args(["simulate", "--strategy", "optimal", "--paths", "300"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    for needle in [
        "Optimal staged conversion",
        "a lower bound",
        "perfect foresight (an upper bound)",
        "value of flexibility",
        "P(converted)",
        "E[share converted]",
        "slice 1 converts if",
        // Levered default: the policy's own objective first, the NPV for reference.
        "the policy maximizes equity NPV",
        "equity NPV out-of-sample",
        "of equity NPV over the best static share",
        "the same policy's NPV (unlevered)",
        "equity option value $M",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in:\n{s}");
    }
}

/// `--upper-bound`: the JSON's `upper_bound` (absent without the flag) brackets the policy's
/// value and is tighter than perfect foresight; people get the bounds table.
#[test]
fn upper_bound_brackets_the_policy_and_beats_perfect_foresight() {
    let dir = tempdir();
    let run_isa = |isa: &str, extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--strategy",
            "optimal",
            "--paths",
            "512",
            "--seed",
            "5",
        ];
        args.extend_from_slice(extra);
        let out = hashpivot(dir.path())
            .env("HASHPIVOT_ISA", isa)
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    let run = |extra: &[&str]| run_isa("best", extra);
    let plain = json(&run(&["--json"]));
    assert!(plain["results"][1].get("upper_bound").is_none());
    let v = json(&run(&["--json", "--upper-bound", "--outer-paths", "256"]));
    let o = &v["results"][1];
    let b = &o["upper_bound"];
    let f = |k: &str| b[k]["mean"].as_f64().unwrap();
    let se = |k: &str| b[k]["stderr"].as_f64().unwrap();
    // The embedded default is levered: the bound is on the owner's value.
    assert_eq!(b["objective"], "equity_npv");
    assert_eq!(
        (b["fit_paths"].as_u64(), b["outer_paths"].as_u64()),
        (Some(512), Some(256))
    );
    assert!(f("gap") > -3.0 * se("gap"), "{b}");
    assert!(f("gap") < f("perfect_foresight_gap"), "{b}");
    assert!((f("upper") - f("lower") - f("gap")).abs() < 1e-6 * f("upper").abs());
    // Everything else is the run without the bound, bit for bit.
    assert_eq!(
        o["npv_out_of_sample"],
        plain["results"][1]["npv_out_of_sample"]
    );
    assert_eq!(o["npv"], plain["results"][1]["npv"]);
    // The lane loops, the lease index of the policy's equity and the bound's regression sums
    // are built for AVX-512, AVX2 and baseline x86-64 and picked at run time: the same bits.
    let base = run_isa(
        "baseline",
        &["--json", "--upper-bound", "--outer-paths", "256"],
    );
    assert_eq!(json(&base), v);
    let s = stdout(&run(&[
        "--upper-bound",
        "--fit-paths",
        "256",
        "--outer-paths",
        "256",
    ]));
    for needle in [
        "Bounds on the optimal equity NPV",
        "upper (dual martingale)",
        "gap (upper − lower)",
        "256 fit paths, 256 outer paths",
    ] {
        assert!(s.contains(needle), "{needle:?} missing:\n{s}");
    }
}

/// Bad bound settings exit 2 naming the flag or option, the value and what is allowed.
#[test]
fn bad_upper_bound_settings_exit_2() {
    let dir = tempdir();
    for (args, needles) in [
        (
            vec![
                "--strategy",
                "optimal",
                "--paths",
                "300",
                "--upper-bound",
                "--fit-paths",
                "301",
            ],
            vec!["fit paths", "301", "2 <= fit paths <= 300"],
        ),
        (
            vec![
                "--strategy",
                "optimal",
                "--paths",
                "300",
                "--upper-bound",
                "--outer-paths",
                "1",
            ],
            vec!["outer paths", "1", "2 <= outer paths <= 300"],
        ),
        (
            vec!["--strategy", "sweep", "--paths", "300", "--upper-bound"],
            vec!["upper-bound", "only with strategy optimal"],
        ),
        (vec!["--fit-paths", "300"], vec!["--upper-bound"]),
    ] {
        let o = hashpivot(dir.path())
            .arg("simulate")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        for n in needles {
            assert!(stderr(&o).contains(n), "{args:?}: {n:?} in {}", stderr(&o));
        }
    }
}
