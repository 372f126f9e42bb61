//! `hashpivot history hashprice`: the backtest against published Hashrate Index values, the JSON
//! shape, and bad input.

use crate::common::{hashpivot, json, stderr, tempdir};

/// Published Hashrate Index hashprice (USD per PH/s per day), from the issue: ours must be within 3%.
const PUBLISHED: [(&str, f64); 2] = [("2024-12-23", 55.21), ("2025-03-03", 49.40)];

#[test]
fn backtest_within_three_percent_of_hashrate_index() {
    let dir = tempdir();
    for (date, published) in PUBLISHED {
        let o = hashpivot(dir.path())
            .args([
                "history",
                "hashprice",
                "--from",
                date,
                "--to",
                date,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let v = json(&o);
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r["date"], date);
        let ours = r["usd_per_ph_day"].as_f64().unwrap();
        assert!(
            (ours / published - 1.0).abs() < 0.03,
            "{date}: {ours} vs {published}"
        );
        // The documented keys, and their consistency.
        let btc = r["btc_per_ph_day"].as_f64().unwrap();
        let price = r["price_usd"].as_f64().unwrap();
        assert!((btc * price - ours).abs() < 1e-9);
        let d = r["difficulty"].as_f64().unwrap();
        let fees = r["fees_btc_per_block"].as_f64().unwrap();
        let hv = 86_400.0 * 1e15 * (3.125 + fees) / (d * 2f64.powi(32));
        assert!((hv / btc - 1.0).abs() < 1e-12);
    }
}

#[test]
fn human_table_snapshot() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args([
            "history",
            "hashprice",
            "--from",
            "2024-12-21",
            "--to",
            "2024-12-25",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    snap!("history_hashprice_2024_12", o);
    // A day past the epoch table is flagged.
    let o = hashpivot(dir.path())
        .args([
            "history",
            "hashprice",
            "--from",
            "2026-08-20",
            "--to",
            "2026-08-21",
        ])
        .output()
        .unwrap();
    snap!("history_hashprice_stale", o);
}

#[test]
fn halving_day_uses_the_exact_subsidy_split() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args([
            "history",
            "hashprice",
            "--from",
            "2024-04-19",
            "--to",
            "2024-04-21",
            "--json",
        ])
        .output()
        .unwrap();
    let v = json(&o);
    // bitcoinvisuals (UTC days): 931.25 BTC minted on 2024-04-19 (149 × 6.25), 406.25 BTC on the
    // 20th (130 × 3.125; block 840000 came at 00:09 UTC).
    let rows = v.as_array().unwrap();
    let minted: Vec<f64> = rows
        .iter()
        .map(|r| r["subsidy_btc"].as_f64().unwrap() * r["blocks"].as_f64().unwrap())
        .collect();
    assert!((minted[0] / 931.25 - 1.0).abs() < 0.05, "{minted:?}");
    assert!((minted[1] / 406.25 - 1.0).abs() < 0.05, "{minted:?}");
    assert_eq!(rows[2]["subsidy_btc"], 3.125);
}

#[test]
fn bad_dates_exit_2_naming_the_flag() {
    let dir = tempdir();
    for (args, want) in [
        (
            vec!["--from", "2025-3-3"],
            "--from: \"2025-3-3\" is not a date; expected YYYY-MM-DD",
        ),
        (
            vec!["--to", "yesterday"],
            "--to: \"yesterday\" is not a date",
        ),
        (
            vec!["--from", "2025-03-04", "--to", "2025-03-03"],
            "--from 2025-03-04 is after --to 2025-03-03",
        ),
        (vec!["--from", "2040-01-01"], "no stored day"),
    ] {
        let mut a = vec!["history", "hashprice"];
        a.extend(args);
        let o = hashpivot(dir.path()).args(&a).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{a:?}");
        assert!(stderr(&o).contains(want), "{a:?}: {}", stderr(&o));
    }
    let o = hashpivot(dir.path())
        .args(["history", "hashprice", "--from", "x", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&o)["kind"], "bad_input");
}
