//! `hashpivot leases`: the announced deals with implied rates, and where a rate ranks.

use crate::common::{hashpivot, json, stderr, tempdir};

#[test]
fn table_and_rank() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["leases", "--rate", "130"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    snap!("leases_rate_130", o);
}

#[test]
fn json_rates_are_recomputed_from_tcv() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["leases", "--json", "--rate", "130"])
        .output()
        .unwrap();
    let v = json(&o);
    let leases = v["leases"].as_array().unwrap();
    assert_eq!(leases.len(), 14);
    for l in leases {
        let r = l["tcv_usd"].as_f64().unwrap()
            / l["term_years"].as_f64().unwrap()
            / l["mw_it"].as_f64().unwrap()
            / 12_000.0;
        assert!((l["usd_per_kw_month"].as_f64().unwrap() - r).abs() < 1e-9);
        assert!((l["usd_per_mw_year"].as_f64().unwrap() - r * 12_000.0).abs() < 1e-6);
    }
    assert_eq!(
        v["rank"]["deals_above"].as_u64().unwrap() + v["rank"]["deals_below"].as_u64().unwrap(),
        14
    );
    assert_eq!(
        v["rank"]["phrase"],
        "your $130/kW-month is below 9 of 14 announced deals"
    );
    let m = v["median_usd_per_kw_month"].as_f64().unwrap();
    assert!((140.0..160.0).contains(&m), "{m}");
}

#[test]
fn bad_rate_exits_2() {
    let dir = tempdir();
    for r in ["-5", "0", "nan"] {
        let o = hashpivot(dir.path())
            .args(["leases", "--rate", r])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{r}");
        assert!(stderr(&o).contains("--rate"), "{}", stderr(&o));
    }
}
