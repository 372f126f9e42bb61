//! `simulate` with a `[finance]` table (MODEL.md §10): the equity view in `--json` and the equity
//! block of the human table; the range checks of the table's keys are rows of
//! `hardening_validation`.

use crate::common::{hashpivot, json, stderr, stdout, tempdir};

const LEVERED: &str = "[run]\nhorizon_years = 12\n[site]\nterminal_multiple = 6\n[strategy]\nkind = \"schedule\"\nschedule = [[0, 0.25], [200, 0.25]]\n[finance]\nltc = 0.75\n";

#[test]
fn json_carries_the_equity_view_of_every_strategy() {
    let dir = tempdir();
    let file = dir.path().join("levered.toml");
    std::fs::write(&file, LEVERED).unwrap();
    let o = hashpivot(dir.path())
        .args(["--json", "simulate", "--paths", "300"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    // `mine` has no loans: its equity NPV is its NPV, no IRR, no DSCR.
    let mine = &results[0]["equity"];
    assert_eq!(mine["equity_npv"], results[0]["npv"]);
    assert_eq!(mine["project_irr"]["no_root_share"], 1.0);
    assert_eq!(mine["dscr_min"]["paths_counted"], 0);
    assert_eq!(mine["dscr_min"]["paths_without_loan_year"], 300);
    let e = &results[1]["equity"];
    for k in ["mean", "stderr", "p5", "p50", "p95"] {
        assert!(e["equity_npv"][k].is_f64(), "{k}: {e}");
    }
    assert_eq!(e["dscr_min"]["min_dscr"], 1.25);
    assert_eq!(e["dscr_min"]["paths_counted"], 300);
    assert!(e["dscr_min"]["p5"].as_f64().unwrap() > 0.0);
    assert!(e["equity_irr"]["p50"].as_f64().is_some(), "{e}");
    assert!(e["equity_npv_histogram"]["counts"].is_array());
    // The equity figures are exactly the Rust field names of the shared contract.
    let mut keys: Vec<&String> = e.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "dscr_min",
            "equity_irr",
            "equity_npv",
            "equity_npv_histogram",
            "equity_npv_mean_ai",
            "prob_negative",
            "project_irr",
        ]
    );
    // USD results leave the currency out.
    assert!(v.get("currency").is_none());
}

#[test]
fn the_human_table_has_an_equity_block() {
    let dir = tempdir();
    let file = dir.path().join("levered.toml");
    std::fs::write(&file, LEVERED).unwrap();
    let o = hashpivot(dir.path())
        .args(["simulate", "--paths", "300"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Equity view: 75.0% loan-to-cost at 7.75% for 10 years"),
        "{out}"
    );
    for h in ["equity NPV $M", "equity IRR p50", "DSCR p5", "P(DSCR<1.25)"] {
        assert!(out.contains(h), "{h}: {out}");
    }
    // A file without [finance] is unlevered: no block (the embedded default is levered).
    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, "[run]\nhorizon_years = 3\n").unwrap();
    let o = hashpivot(dir.path())
        .args(["simulate", "--paths", "64", "--strategy", "mine"])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("Equity view"));
    let o = hashpivot(dir.path())
        .args(["simulate", "--paths", "64", "--strategy", "mine"])
        .output()
        .unwrap();
    assert!(stdout(&o).contains("Equity view"));
}
