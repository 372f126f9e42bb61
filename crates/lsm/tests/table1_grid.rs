//! The full Longstaff–Schwartz (2001) Table 1 grid at 100,000 paths: the LSM core against the
//! program's binomial reference for the same Bermudan contract, and against the paper's published
//! finite-difference values (an independent reference no one here wrote).

use hashpivot_lsm::reference::bermudan_put;
use hashpivot_lsm::table1::{CASES, EXERCISES_PER_YEAR, RATE, STRIKE};
use hashpivot_lsm::{price_put, PutConfig, PutSpec};

#[test]
fn table1_grid_within_two_cents_at_100k_paths() {
    let cfg = PutConfig {
        paths: 100_000,
        fresh_paths: 100_000,
        seed: 2001,
        degree: 3,
        control_variate: true,
        antithetic: true,
    };
    let mut report = String::new();
    let mut bad = 0;
    for k in CASES {
        let spec = PutSpec {
            spot: k.spot,
            strike: STRIKE,
            rate: RATE,
            vol: k.vol,
            years: k.years,
            exercises_per_year: EXERCISES_PER_YEAR,
        };
        let r = price_put(&spec, &cfg).unwrap();
        let reference =
            bermudan_put(k.spot, STRIKE, RATE, k.vol, k.years, spec.dates(), 40).unwrap();
        let oos = r.out_of_sample.unwrap();
        let err = oos.value - reference;
        let err_fd = oos.value - k.fd_american;
        let ins_err = r.in_sample.value - reference;
        report.push_str(&format!(
            "S={} σ={} T={}: LSM {:.4} ± {:.4} (in-sample {:.4} ± {:.4}), binomial {:.4}, published {:.3}\n",
            k.spot, k.vol, k.years, oos.value, oos.stderr, r.in_sample.value, r.in_sample.stderr,
            reference, k.fd_american
        ));
        // The bar: within 0.02 of the reference with 100,000 paths.
        let ok = err.abs() <= 0.02
            // ... and of the paper's published FD American value.
            && err_fd.abs() <= 0.02
            // The error is statistical, not a bias: within 4 standard errors plus the
            // binomial's own ~1e-3 accuracy.
            && err.abs() <= 4.0 * oos.stderr + 0.002
            // The in-sample estimate (plain mean) agrees too, within its own noise.
            && ins_err.abs() <= 0.02 + 2.0 * r.in_sample.stderr
            // The standard errors are those of a 100k-path estimator, not degenerate.
            && oos.stderr > 0.0
            && oos.stderr < 0.012;
        if !ok {
            bad += 1;
            report.push_str("  ^ FAILED\n");
        }
    }
    assert_eq!(bad, 0, "\n{report}");
}

#[test]
fn plain_estimator_is_consistent_and_control_variates_reduce_the_error() {
    // One case, both estimators on the same paths: the plain and controlled out-of-sample
    // estimates agree within their noise, and the controlled standard error is far smaller.
    let spec = PutSpec {
        spot: 40.0,
        strike: STRIKE,
        rate: RATE,
        vol: 0.4,
        years: 1.0,
        exercises_per_year: EXERCISES_PER_YEAR,
    };
    let base = PutConfig {
        paths: 50_000,
        fresh_paths: 50_000,
        seed: 5,
        degree: 3,
        control_variate: false,
        antithetic: false,
    };
    let plain = price_put(&spec, &base).unwrap().out_of_sample.unwrap();
    let cv = price_put(
        &spec,
        &PutConfig {
            control_variate: true,
            ..base
        },
    )
    .unwrap()
    .out_of_sample
    .unwrap();
    assert!(cv.stderr < 0.6 * plain.stderr, "{cv:?} vs {plain:?}");
    assert!(
        (cv.value - plain.value).abs() < 3.0 * plain.stderr,
        "{cv:?} vs {plain:?}"
    );
}
