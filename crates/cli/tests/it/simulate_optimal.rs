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
    ] {
        assert!(s.contains(needle), "missing {needle:?} in:\n{s}");
    }
}
