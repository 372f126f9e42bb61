//! Golden outputs: the `--json` of every numeric command, pinned bit for bit.
//!
//! These files were recorded before the model crate was restructured (issue 18). A refactor that
//! changes one of them changes a number, which is a bug until docs/MODEL.md says otherwise. To
//! re-record after an intended change: `HASHPIVOT_BLESS=1 cargo test -p hashpivot-cli --test it golden::`,
//! and say why in the commit.

use crate::common::*;
use std::path::PathBuf;

/// The version-1 default scenario, fully resolved (`golden/default_v1.toml`). Every numeric golden
/// runs on a file holding every key (this one, or a case built on it), never on the embedded
/// default: the default's values change with the model (issue 12 turned risks and financing
/// on), the version-1 numbers must not. `dispatch` stays on the embedded default: it reads only
/// the fleet and the mining terms, and a scenario file would add its name to the output.
const V1: &str = "default_v1.toml";

fn golden_dir() -> PathBuf {
    repo_root().join("crates/cli/tests/golden")
}

/// Runs `args` (with `--json`) and compares stdout byte for byte to `golden/<name>.json`.
fn golden(name: &str, args: &[&str]) {
    let dir = tempdir();
    let gd = golden_dir();
    let out = hashpivot(dir.path())
        .current_dir(&gd)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {args:?} failed: {}",
        stderr(&out)
    );
    let path = gd.join(format!("{name}.json"));
    if std::env::var_os("HASHPIVOT_BLESS").is_some() {
        std::fs::write(&path, &out.stdout).unwrap();
        return;
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (record with HASHPIVOT_BLESS=1)", path.display()));
    if want != out.stdout {
        let got = String::from_utf8_lossy(&out.stdout);
        let want = String::from_utf8_lossy(&want);
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{name}: output differs from {} (first differing line {}):\n got: {}\nwant: {}",
            path.display(),
            first + 1,
            got.lines().nth(first).unwrap_or(""),
            want.lines().nth(first).unwrap_or("")
        );
    }
}

#[test]
fn simulate_sweep_two_seeds_and_threads() {
    golden(
        "simulate_sweep_seed1",
        &["simulate", V1, "--paths", "600", "--seed", "1"],
    );
    golden(
        "simulate_sweep_seed1",
        &[
            "simulate",
            V1,
            "--paths",
            "600",
            "--seed",
            "1",
            "--threads",
            "1",
        ],
    );
    golden(
        "simulate_sweep_seed2",
        &[
            "simulate",
            V1,
            "--paths",
            "700",
            "--seed",
            "2",
            "--threads",
            "2",
        ],
    );
}

#[test]
fn simulate_mine_convert_antithetic() {
    golden(
        "simulate_mine",
        &[
            "simulate",
            V1,
            "--strategy",
            "mine",
            "--paths",
            "300",
            "--seed",
            "3",
        ],
    );
    golden(
        "simulate_convert_half",
        &[
            "simulate", V1, "--share", "0.5", "--paths", "300", "--seed", "4",
        ],
    );
    golden(
        "simulate_antithetic",
        &[
            "simulate",
            V1,
            "--antithetic",
            "--paths",
            "512",
            "--seed",
            "5",
        ],
    );
}

#[test]
fn simulate_schedule() {
    golden(
        "simulate_schedule",
        &["simulate", "schedule.toml", "--paths", "300", "--seed", "6"],
    );
}

#[test]
fn simulate_hourly_power() {
    golden(
        "simulate_hourly_sweep",
        &["simulate", "hourly.toml", "--paths", "300", "--seed", "8"],
    );
    golden(
        "simulate_hourly_optimal",
        &[
            "simulate",
            "hourly.toml",
            "--strategy",
            "optimal",
            "--paths",
            "300",
            "--seed",
            "9",
        ],
    );
}

#[test]
fn simulate_optimal_two_seeds() {
    golden(
        "simulate_optimal_seed1",
        &["simulate", "optimal.toml", "--paths", "400", "--seed", "1"],
    );
    golden(
        "simulate_optimal_seed2",
        &[
            "simulate",
            "optimal.toml",
            "--paths",
            "300",
            "--seed",
            "2",
            "--threads",
            "1",
        ],
    );
    golden(
        "simulate_optimal_default",
        &[
            "simulate",
            V1,
            "--strategy",
            "optimal",
            "--paths",
            "300",
            "--seed",
            "3",
        ],
    );
}

/// `optimal` on more in-sample paths than one 4096-path block of the fit (18 blocks of 256):
/// pins version 1's Longstaff–Schwartz over every in-sample path where a small run cannot.
#[test]
fn simulate_optimal_beyond_4096_paths() {
    golden(
        "simulate_optimal_4608",
        &["simulate", "optimal.toml", "--paths", "4608", "--seed", "4"],
    );
}

#[test]
fn payback() {
    golden(
        "payback_s21xp",
        &[
            "payback",
            "Antminer S21 XP",
            V1,
            "--machine-price-usd-per-th",
            "25.7",
            "--paths",
            "300",
            "--seed",
            "1",
        ],
    );
}

#[test]
fn dispatch() {
    golden(
        "dispatch_hb_west_2024",
        &["dispatch", "--prices", "ercot:HB_WEST:2024"],
    );
    golden(
        "dispatch_by_year_minrun_convert",
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2022-2023",
            "--by-year",
            "--min-run-hours",
            "3",
            "--convert",
            "0.25",
        ],
    );
    golden(
        "dispatch_history_fourcp",
        &[
            "dispatch",
            "--prices",
            "ercot:HB_WEST:2023",
            "--hashprice",
            "history",
            "--fourcp-hours",
            "16,17,18",
            "--fourcp-usd-kw-year",
            "60",
        ],
    );
}

#[test]
fn calibrate_history_hashprice() {
    golden("calibrate", &["calibrate"]);
    golden(
        "history_hashprice",
        &[
            "history",
            "hashprice",
            "--from",
            "2024-12-23",
            "--to",
            "2025-03-03",
        ],
    );
    // The height is given: by default `hashprice` estimates today's height from the clock, which
    // would make this file's `height` change every day.
    golden(
        "hashprice",
        &[
            "hashprice",
            "--price",
            "107000",
            "--difficulty",
            "155.97T",
            "--height",
            "978381",
            // Given: the default is the market state's recent average since fees got one owner
            // (the numbers pinned here are those of 0.025 BTC/block, as always).
            "--fees",
            "0.025",
        ],
    );
}
