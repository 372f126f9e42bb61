//! Numerical guards: non-finite values never reach the output. Extreme but allowed scenarios and
//! flags must give either exit 0 with JSON whose numbers are all finite (serde_json prints a
//! non-finite float as `null`, so a `null` where a number belongs is a NaN or an infinity that
//! escaped), or exit 2 with a message naming the key or flag, the value and what is allowed.
//! Nothing may panic (exit 101) or run away.

use std::time::Duration;

use crate::common::{hashpivot, json, stderr, tempdir};
use serde_json::Value;

/// Paths of `null`s in `v` (`.results[1].npv.mean`).
fn nulls(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Null => out.push(path.to_string()),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                nulls(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                nulls(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// Asserts every number in `v` is finite. `optional` lists the paths (prefix match, indices
/// stripped) where the command documents `null` as "not applicable"; an `optimal` result's
/// exercise boundary is `null` exactly where its regime says `never` or `always`.
fn assert_all_finite(v: &Value, optional: &[&str], what: &str) {
    let mut found = Vec::new();
    nulls(v, "", &mut found);
    let strip = |p: &str| {
        let mut s = String::new();
        let mut depth = 0;
        for c in p.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ if depth == 0 => s.push(c),
                _ => {}
            }
        }
        s
    };
    let bad: Vec<&String> = found
        .iter()
        .filter(|p| {
            let s = strip(p);
            if optional.iter().any(|o| s.starts_with(o)) {
                return false;
            }
            // `.results[i].boundary.slice_k[m]`: allowed when the regime is never/always.
            if let Some(rest) = p.strip_prefix(".results[") {
                let (i, tail) = rest.split_once(']').unwrap_or(("", ""));
                for b in ["boundary", "boundary_lease"] {
                    if let Some(t) = tail.strip_prefix(&format!(".{b}.")) {
                        if let Some((slice, m)) = t.split_once('[') {
                            let m = m.trim_end_matches(']');
                            let regime = v["results"][i.parse::<usize>().unwrap_or(0)][b]["regime"]
                                [slice][m.parse::<usize>().unwrap_or(0)]
                            .as_str()
                            .unwrap_or("");
                            return !matches!(regime, "never" | "always");
                        }
                    }
                }
            }
            true
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {} non-finite numbers (null in JSON), first {:?}",
        bad.len(),
        &bad[..bad.len().min(8)]
    );
}

/// `simulate --json --paths 20` on a scenario file; returns (exit code, stdout JSON, stderr).
fn simulate(toml: &str) -> (Option<i32>, Value, String) {
    let dir = tempdir();
    let f = dir.path().join("extreme.toml");
    std::fs::write(&f, toml).unwrap();
    let o = hashpivot(dir.path())
        .args(["--json", "simulate", "--paths", "20"])
        .arg(&f)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (o.status.code(), json(&o), stderr(&o))
}

/// Either finite JSON (exit 0) or a named bad-input error (exit 2); never a panic or a hang.
fn finite_or_named(toml: &str, key: &str) {
    let (code, v, err) = simulate(toml);
    match code {
        Some(0) => assert_all_finite(&v, &[], toml),
        Some(2) => {
            assert_eq!(v["kind"], "bad_input", "{toml}: {v}");
            assert!(err.contains(key), "{toml}: {err}");
        }
        other => panic!("{toml}: exit {other:?}\n{err}"),
    }
}

fn finite(toml: &str) {
    let (code, v, err) = simulate(toml);
    assert_eq!(code, Some(0), "{toml}: {err}");
    assert_all_finite(&v, &[], toml);
    let mean = v["results"][0]["npv"]["mean"].as_f64();
    assert!(mean.is_some_and(f64::is_finite), "{toml}: {v}");
}

#[test]
fn price_vol_10000_percent_is_rejected_naming_key_value_and_range() {
    let (code, v, err) = simulate("[price]\nvol = 100\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("price.vol = 100: allowed 0 <= x <= 5 per sqrt(year)"),
        "{err}"
    );
    assert_eq!(v["kind"], "bad_input");
}

#[test]
fn price_vol_at_its_maximum_is_finite() {
    finite("[price]\nvol = 5\n");
    finite("[price]\nvol = 5\ndrift = 2\n");
    finite("[price]\nvol = 5\ndrift = -2\n");
}

#[test]
fn tiny_and_huge_spot_prices_are_finite() {
    finite("[price]\nspot = 1e-300\n");
    finite("[price]\nspot = 5e-324\n");
    finite("[price]\nspot = 1e12\n");
}

#[test]
fn zero_price_and_zero_difficulty_are_rejected() {
    let (code, _, err) = simulate("[price]\nspot = 0\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("price.spot = 0: allowed 0 < x <= 1e12 USD"),
        "{err}"
    );
    let (code, _, err) = simulate("[chain]\ndifficulty = 0\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("chain.difficulty = 0: allowed"), "{err}");
}

#[test]
fn huge_difficulty_is_finite() {
    finite("[chain]\ndifficulty = 1e30\n");
    // 1e9 EH/s is 1e-10 of this difficulty's 600-s hashrate: refused, naming the key.
    finite_or_named(
        "[chain]\ndifficulty = 1e30\nhashrate_ehs = 1e9\n",
        "chain.hashrate_ehs",
    );
}

#[test]
fn minimum_difficulty_with_a_matching_hashrate_is_finite() {
    // Difficulty 1 and the hashrate that finds a block every 600 s at it.
    finite("[chain]\ndifficulty = 1\nhashrate_ehs = 7.158278826666667e-12\n");
}

/// Regression: with a tiny `chain.difficulty` and a hashrate far above it, blocks come ~1e12 times
/// too fast and `engine::mean_subsidy` used to walk the day's blocks one 210,000-block halving at a
/// time past the 64th halving (minutes to hours); it now stops where the subsidy ends.
#[test]
fn tiny_difficulty_with_default_hashrate_finishes() {
    finite_or_named("[chain]\ndifficulty = 1\n", "chain.difficulty");
    // A hashrate that does not match the difficulty (given explicitly; absent, it defaults to
    // the difficulty's own 600-s hashrate, MODEL.md §3).
    finite_or_named(
        "[chain]\ndifficulty = 100\nhashrate_ehs = 900\n",
        "chain.hashrate_ehs",
    );
    finite_or_named(
        "[chain]\ndifficulty = 1\nhashrate_ehs = 900\n",
        "chain.hashrate_ehs",
    );
}

#[test]
fn extreme_drifts_are_finite() {
    finite("[price]\ndrift = 2\n");
    finite("[price]\ndrift = -2\n");
    finite("[ai]\nlease_drift = 2\nlease_vol = 5\n");
    finite("[ai]\nlease_drift = -2\n");
}

#[test]
fn huge_fees_are_finite() {
    finite("[fees]\nbtc_per_block = 1000\n");
    finite("[fees]\nvol = 10\n");
}

/// Fee vol 10 with no mean reversion (`fees.speed = 0`) lets the fee level, and with it the
/// break-even hashrate and the difficulty, grow past f64: a clear error naming the keys, never
/// `null` (inf) in the bands.
#[test]
fn huge_fees_with_max_vol_and_no_reversion_are_finite() {
    finite_or_named(
        "[fees]\nbtc_per_block = 1000\nvol = 10\nspeed = 0\n",
        "fees",
    );
    // With the current engine the default fee level is enough.
    finite_or_named("[fees]\nvol = 10\nspeed = 0\n", "fees");
}

/// Found by the engine fuzz target (`crates/fuzz/tests/fuzz_engine.rs`): a spot price of 1e12
/// (allowed) with a fast hashrate response drives the difficulty past f64; the run stops with an
/// error naming the keys instead of printing `null` or NaN.
#[test]
fn huge_spot_with_fast_hashrate_response_is_finite() {
    finite_or_named(
        "[price]\nspot = 1e12\n[hashrate]\nspeed_up = 100\n",
        "price.spot",
    );
    finite_or_named(
        "[price]\nspot = 1e12\n[hashrate]\nspeed_up = 365\n",
        "price.spot",
    );
}

#[test]
fn long_horizon_and_wild_hashrate_are_finite() {
    finite("[run]\nhorizon_years = 100\n");
    finite("[hashrate]\nvol = 5\nspeed_up = 365\nspeed_down = 365\n");
    finite("[hashrate]\nvol = 5\nspeed_up = 0\nspeed_down = 0\n");
    finite("[run]\nhorizon_years = 100\n[hashrate]\nvol = 5\n[price]\nvol = 5\ndrift = 2\n");
}

#[test]
fn every_strategy_at_the_edges_is_finite() {
    for s in [
        "[strategy]\nkind = \"convert\"\nshare = 1\n[price]\nvol = 5\n",
        "[strategy]\nkind = \"schedule\"\nschedule = [[0, 0.5], [5474, 0.5]]\n",
        "[strategy]\nkind = \"sweep\"\nshares = [0, 1]\n[ai]\nlease_vol = 5\nlease_price_corr = -1\n",
        "[strategy]\nkind = \"optimal\"\ntranches = 1\ndecide_months = 0\n",
        "[strategy]\nkind = \"optimal\"\n[price]\nvol = 5\n",
        "[site]\nterminal_multiple = 100\npower_escalator = 1\n[mining]\ndiscount_rate = -0.5\n",
        "[ai]\ndiscount_rate = -0.5\nlease_escalator = 1\nlease_term_years = 100\n",
    ] {
        let (code, v, err) = simulate(s);
        assert_eq!(code, Some(0), "{s}: {err}");
        assert_all_finite(&v, &[], s);
    }
}

// ---------------------------------------------------------------------------------------------
// hashprice, machine, chain: flags
// ---------------------------------------------------------------------------------------------

fn run(args: &[&str]) -> (Option<i32>, Value, String) {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .arg("--json")
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (o.status.code(), json(&o), stderr(&o))
}

fn bad(args: &[&str], flag: &str) {
    let (code, v, err) = run(args);
    assert_eq!(code, Some(2), "{args:?}: {err}");
    assert_eq!(v["kind"], "bad_input", "{args:?}: {v}");
    assert!(err.contains(flag), "{args:?}: {err}");
}

/// `machine` prints `null` for "not applicable" (no --price when --hashprice is given, never
/// pays back, never curtailed); every other number must be finite.
const MACHINE_OPTIONAL: &[&str] = &[
    ".price_usd",
    ".difficulty",
    ".simple_payback_days",
    ".projected.payback_days",
    ".projected.halving_day",
    ".projected.irr",
    ".projected",
    ".capex_usd",
    ".machine_price_usd_per_th",
    ".machine.release_year",
];

#[test]
fn hashprice_zero_tiny_and_huge_difficulty() {
    bad(
        &["hashprice", "--price", "100000", "--difficulty", "0"],
        "--difficulty",
    );
    // Was exit 0 with `null` hashprices (1e-300 and 5e-324 overflow the division).
    bad(
        &["hashprice", "--price", "100000", "--difficulty", "1e-300"],
        "--difficulty",
    );
    bad(
        &["hashprice", "--price", "100000", "--difficulty", "5e-324"],
        "--difficulty",
    );
    // Was exit 1 ("internal") for an overflowing suffix.
    bad(
        &["hashprice", "--price", "100000", "--difficulty", "1e308E"],
        "--difficulty",
    );
    // Was exit 0 with `usd_per_ph_day: null`.
    bad(
        &["hashprice", "--price", "1e308", "--difficulty", "1"],
        "--price",
    );
    let (code, v, err) = run(&[
        "hashprice",
        "--price",
        "1e12",
        "--difficulty",
        "1",
        "--fees",
        "21e6",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_all_finite(&v, &[], "hashprice at the edges");
    let (code, v, err) = run(&[
        "hashprice",
        "--price",
        "0.000001",
        "--difficulty",
        "1e30",
        "--fees",
        "0",
        "--height",
        "18446744073709551615",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_all_finite(&v, &[], "hashprice at the other edges");
    assert_eq!(v["usd_per_ph_day"], 0.0);
}

#[test]
fn machine_with_zero_and_extreme_prices() {
    let base = ["machine", "S21", "--power-usd-mwh", "40"];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        a
    }
    let with = |extra: &[&'static str]| with(&base, extra);
    // Zero hashprice: defined daily answers; no projection (a zero BTC price is not a scenario,
    // and a machine price must be positive, as in `payback`).
    let (code, v, err) = run(&with(&["--hashprice", "0"]));
    assert_eq!(code, Some(0), "{err}");
    assert_all_finite(&v, MACHINE_OPTIONAL, "machine at zero prices");
    assert!(v["margin_usd_day"].as_f64().unwrap() < 0.0);
    bad(
        &with(&["--hashprice", "0", "--machine-price-usd-per-th", "20"]),
        "price.spot",
    );
    bad(
        &with(&["--hashprice", "45", "--machine-price-usd-per-th", "0"]),
        "--machine-price-usd-per-th",
    );
    // Was exit 1 (internal) / exit 0 with nulls.
    bad(&with(&["--price", "1e308", "--difficulty", "1"]), "--price");
    bad(&with(&["--hashprice", "1e308"]), "--hashprice");
    bad(
        &with(&["--hashprice", "50", "--machine-price-usd-per-th", "1e308"]),
        "--machine-price-usd-per-th",
    );
    bad(
        &[
            "machine",
            "S21",
            "--power-usd-mwh",
            "1e308",
            "--hashprice",
            "50",
        ],
        "--power-usd-mwh",
    );
    bad(
        &with(&[
            "--hashprice",
            "50",
            "--machine-price-usd-per-th",
            "20",
            "--difficulty-growth",
            "1e300",
        ]),
        "--difficulty-growth: no longer used",
    );
    // The largest inputs allowed give finite answers (today's economics).
    let largest = [
        "machine",
        "S21",
        "--power-usd-mwh",
        "-10000",
        "--price",
        "1e12",
        "--difficulty",
        "1",
        "--fees",
        "21e6",
    ];
    let (code, v, err) = run(&largest);
    assert_eq!(code, Some(0), "{err}");
    assert_all_finite(&v, MACHINE_OPTIONAL, "machine at the largest inputs");
    // The projection runs the engine on the scenario, so it takes the scenario's ranges, and
    // names the keys those flags set.
    let mut projected = largest.to_vec();
    projected.extend(["--machine-price-usd-per-th", "1e4"]);
    bad(&projected, "fees.btc_per_block = 21000000");
    bad(&projected, "site.power_usd_mwh = -10000");
    bad(
        &with(&["--hashprice", "1e12", "--machine-price-usd-per-th", "20"]),
        "price.spot",
    );
    let (code, v, err) = run(&with(&["--hashprice", "1e12"]));
    assert_eq!(code, Some(0), "{err}");
    assert_all_finite(&v, MACHINE_OPTIONAL, "machine at the largest hashprice");
}

#[test]
fn machine_at_the_largest_height_does_not_panic() {
    // `machine S21` at $50/PH/day and `height`, projected when a machine price is given.
    let at = |height: &'static str, projected: bool| {
        let mut a = vec![
            "machine",
            "S21",
            "--power-usd-mwh",
            "40",
            "--hashprice",
            "50",
            "--height",
            height,
        ];
        if projected {
            a.extend(["--machine-price-usd-per-th", "20"]);
        }
        run(&a)
    };
    // Was a panic (exit 101): next_halving_height(u64::MAX) overflowed. The projection runs the
    // engine, whose scenario allows heights up to 64 halvings: a clear exit 2 naming the key.
    let (code, _, err) = at("18446744073709551615", true);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("chain.height = 18446744073709551615"), "{err}");
    // Today's economics alone take any height.
    let (code, v, err) = at("18446744073709551615", false);
    assert_eq!(code, Some(0), "{err}");
    assert_all_finite(&v, MACHINE_OPTIONAL, "machine at height u64::MAX");
    // And the largest height the scenario allows (no subsidy left) projects.
    let (code, v, err) = at("13440000", true);
    assert_eq!(code, Some(0), "{err}");
    assert_all_finite(&v, MACHINE_OPTIONAL, "machine at height 13,440,000");
}

#[test]
fn verify_headers_start_height_near_u64_max_is_bad_input() {
    // Was a panic (exit 101): the last header's height overflowed u64.
    let dir = tempdir();
    let f = dir.path().join("h.txt");
    let text = std::fs::read_to_string(
        crate::common::repo_root().join("crates/chain/tests/data/mainnet_headers_0_15.txt"),
    )
    .unwrap();
    std::fs::write(&f, text.lines().take(3).collect::<Vec<_>>().join("\n")).unwrap();
    let o = hashpivot(dir.path())
        .args([
            "--json",
            "chain",
            "verify-headers",
            "--start-height",
            "18446744073709551614",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["kind"], "bad_input");
    assert!(
        stderr(&o).contains("--start-height: 18446744073709551614 with 3 headers"),
        "{}",
        stderr(&o)
    );
}
