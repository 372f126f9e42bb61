//! The engine against an independent implementation of docs/MODEL.md.
//!
//! `tests/reference/model_reference.py` is a plain day-by-day Python implementation of MODEL.md
//! sections 1-5 and the strategies mine / convert / schedule / sweep of section 6, written from
//! MODEL.md alone (not from the engine). MODEL.md promises that two implementations agree to 1e-9
//! relative on a scenario with every volatility zero. For each scenario in
//! `tests/reference/scenarios/` this test runs the reference once and
//! `hashpivot simulate <file> --json --paths 4 --strategy <convert|schedule|sweep>`, and checks the
//! mean NPV of every strategy, and its mining and AI parts, to 1e-9 relative. With every volatility
//! zero all 4 paths are the same path, so the engine's distribution must also be degenerate.
//!
//! python3 is on every machine of this project: if it is missing the test FAILS (it never skips),
//! because a reference check that silently does not run is worse than none.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{hashpivot, json, repo_root, stderr, stdout, tempdir};
use serde_json::Value;

/// MODEL.md: "agree to 1e-9 relative".
const REL_TOL: f64 = 1e-9;

/// The strategies of section 6 the reference implements (`mine` comes with each of them).
const STRATEGIES: [&str; 3] = ["convert", "schedule", "sweep"];

fn reference_dir() -> PathBuf {
    repo_root().join("tests/reference")
}

fn scenario_path(name: &str) -> PathBuf {
    reference_dir().join("scenarios").join(name)
}

/// Runs `python3 model_reference.py args...`; panics loudly if python3 cannot be started.
fn run_python(args: &[&Path]) -> std::process::Output {
    let script = reference_dir().join("model_reference.py");
    Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `python3 {}` ({e}). python3 (>= 3.11, for tomllib) is required by this \
                 test on every machine of the project; install it rather than skipping the check",
                script.display()
            )
        })
}

fn reference(file: &Path) -> Value {
    let o = run_python(&[file]);
    assert!(
        o.status.success(),
        "model_reference.py {} failed ({}):\n{}",
        file.display(),
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "model_reference.py printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn engine(dir: &Path, file: &Path, strategy: &str) -> Value {
    let o = hashpivot(dir)
        .arg("simulate")
        .arg(file)
        .args(["--json", "--paths", "4", "--strategy", strategy])
        .output()
        .expect("run hashpivot");
    assert!(
        o.status.success(),
        "hashpivot simulate {} --strategy {strategy} failed ({}):\n{}{}",
        file.display(),
        o.status,
        stdout(&o),
        stderr(&o)
    );
    json(&o)
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

/// `a` and `b` agree to `REL_TOL` relative (two exact zeros agree).
fn agree(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= REL_TOL * a.abs().max(b.abs())
}

/// The reference's entry matching one of the engine's results.
fn matching<'a>(refs: &'a [Value], eng: &Value) -> &'a Value {
    let kind = eng["strategy"].as_str().expect("strategy is a string");
    let found = refs.iter().find(|r| {
        r["strategy"] == kind
            && match kind {
                // Shares come from the same TOML text, so they are the same f64.
                "convert" | "sweep" => r["share"].as_f64() == eng["share"].as_f64(),
                _ => true,
            }
    });
    found.unwrap_or_else(|| panic!("the reference has no result for the engine's {eng}"))
}

/// Compares every result of every strategy run of one scenario; returns the disagreements.
fn compare(name: &str) -> Vec<String> {
    let file = scenario_path(name);
    let reference = reference(&file);
    let refs = reference["results"]
        .as_array()
        .expect("reference results")
        .clone();
    let dir = tempdir();
    let mut bad = Vec::new();
    let mut compared = 0;
    for strategy in STRATEGIES {
        let out = engine(dir.path(), &file, strategy);
        assert_eq!(out["paths"], 4, "{name}: engine ran {} paths", out["paths"]);
        let results = out["results"].as_array().expect("engine results");
        assert_eq!(results[0]["strategy"], "mine", "{name}: mine comes first");
        assert!(
            results.len() >= 2,
            "{name} --strategy {strategy}: only {} result(s)",
            results.len()
        );
        for eng in results {
            let kind = eng["strategy"].as_str().unwrap_or("?");
            assert!(
                kind == "mine" || kind == strategy,
                "{name} --strategy {strategy}: unexpected result {eng}"
            );
            let r = matching(&refs, eng);
            let label = match eng.get("share") {
                Some(s) => format!("{name} --strategy {strategy}: {kind} share {s}"),
                None => format!("{name} --strategy {strategy}: {kind}"),
            };
            let mean = num(&eng["npv"]["mean"], "npv.mean");
            // Zero volatility: every path is the same path, so the distribution is one point.
            for k in ["p5", "p50", "p95"] {
                let q = num(&eng["npv"][k], k);
                assert!(
                    agree(q, mean),
                    "{label}: npv.{k} = {q} differs from the mean {mean} with every volatility 0"
                );
            }
            let se = num(&eng["npv"]["stderr"], "stderr");
            assert!(
                se <= REL_TOL * mean.abs().max(1.0),
                "{label}: stderr {se} with every volatility 0"
            );
            for (part, ek, rk) in [
                ("total NPV", &eng["npv"]["mean"], &r["npv"]),
                ("mining NPV", &eng["mining_npv_mean"], &r["mining_npv"]),
                ("AI NPV", &eng["ai_npv_mean"], &r["ai_npv"]),
            ] {
                let e = num(ek, part);
                let x = num(rk, part);
                compared += 1;
                if !agree(e, x) {
                    bad.push(format!(
                        "{label}: {part} engine {e:.6} reference {x:.6} (relative difference {:.3e})",
                        (e - x).abs() / e.abs().max(x.abs())
                    ));
                }
            }
        }
    }
    // The reference evaluates every strategy the scenario's [strategy] table defines; each one must
    // have been compared at least once (an engine that dropped a sweep share would otherwise pass).
    assert!(
        compared >= 3 * refs.len(),
        "{name}: compared {compared} numbers for {} reference results",
        refs.len()
    );
    bad
}

fn assert_agrees(name: &str) {
    let bad = compare(name);
    assert!(
        bad.is_empty(),
        "engine and tests/reference/model_reference.py disagree on {name} \
         (MODEL.md promises 1e-9 relative at zero volatility):\n  {}",
        bad.join("\n  ")
    );
}

#[test]
fn halving_inside_a_day_and_retarget_clamped_at_x4() {
    assert_agrees("halving_fast_chain.toml");
}

#[test]
fn retarget_clamped_at_quarter_refresh_and_curtailment() {
    assert_agrees("slow_chain_clamp56.toml");
}

#[test]
fn more_than_an_epoch_in_one_day_retargets_once() {
    assert_agrees("more_than_an_epoch_per_day.toml");
}

#[test]
fn lease_build_terms_renewals_escalators_default_and_terminal_value() {
    assert_agrees("lease_terms.toml");
}

#[test]
fn idle_mw_then_least_efficient_batch_first_without_curtailment() {
    assert_agrees("idle_then_least_efficient.toml");
}

#[test]
fn refresh_then_conversions_on_refresh_days() {
    assert_agrees("refresh_with_conversions.toml");
}

#[test]
fn build_running_past_the_horizon() {
    assert_agrees("build_past_horizon.toml");
}

#[test]
fn short_horizon_efficiency_floor_full_conversion() {
    assert_agrees("short_horizon_floor.toml");
}

#[test]
fn site_without_machines_then_refresh() {
    assert_agrees("empty_fleet_refresh.toml");
}

#[test]
fn default_scenario_with_every_volatility_zero() {
    assert_agrees("default_zero_vol.toml");
}

/// MODEL.md section 9: GPUs on the ready day, contract then merchant price, refresh, power, opex
/// share, the cloud's discount rate and the terminal value.
#[test]
fn cloud_contract_then_merchant_with_refresh() {
    assert_agrees("cloud_contract_merchant_refresh.toml");
}

/// MODEL.md section 9 without refresh: the hall stands empty after the first GPU life.
#[test]
fn cloud_without_refresh_empties_the_hall() {
    assert_agrees("cloud_no_refresh.toml");
}

/// MODEL.md section 11: both streams in BTC at each day's price, the terminal value at `S_{N-1}`.
#[test]
fn btc_view_of_mining_and_a_lease() {
    assert_agrees("btc_view_lease.toml");
}

/// MODEL.md sections 9 and 11 together.
#[test]
fn btc_view_of_a_gpu_cloud() {
    assert_agrees("btc_view_cloud.toml");
}

/// MODEL.md section 3: "H0 = chain.hashrate_ehs * 1e6 (default: D0 * 2^32 / 600 / 1e12)" and
/// "e0 = chain.epoch_elapsed_days (default (h0 - E0) / 144)"; the Chain doc comment and
/// `hashpivot scenario show` say the same.
#[test]
fn chain_hashrate_and_epoch_elapsed_default_to_model_md_formulas() {
    let bad = compare("chain_defaults.toml");
    assert!(
        bad.is_empty(),
        "ENGINE BUG (MODEL.md section 3 defaults of chain.hashrate_ehs and \
         chain.epoch_elapsed_days): a [chain] table that leaves these optional keys out gets the \
         embedded market state's values (894.08 EH/s, 13.40 days, from `Chain::default()` through \
         `#[serde(default)]` on `Chain` in crates/model/src/scenario.rs) instead of \
         D0 * 2^32 / 600 / 1e12 TH/s (787.41 EH/s here) and (h0 - E0) / 144 (11.61 days here). \
         Differences:\n  {}",
        bad.join("\n  ")
    );
}

/// Every scenario file is covered by a test above (a new file must get its own test).
#[test]
fn every_reference_scenario_has_a_test() {
    let covered = [
        "halving_fast_chain.toml",
        "slow_chain_clamp56.toml",
        "more_than_an_epoch_per_day.toml",
        "lease_terms.toml",
        "idle_then_least_efficient.toml",
        "refresh_with_conversions.toml",
        "build_past_horizon.toml",
        "short_horizon_floor.toml",
        "empty_fleet_refresh.toml",
        "default_zero_vol.toml",
        "chain_defaults.toml",
        "cloud_contract_merchant_refresh.toml",
        "cloud_no_refresh.toml",
        "btc_view_lease.toml",
        "btc_view_cloud.toml",
    ];
    let mut found: Vec<String> = std::fs::read_dir(reference_dir().join("scenarios"))
        .expect("tests/reference/scenarios")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".toml"))
        .collect();
    found.sort();
    let mut want: Vec<String> = covered.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(found, want);
}

/// The engine accepts every reference scenario (they are valid scenarios, not just valid TOML).
#[test]
fn reference_scenarios_pass_scenario_check() {
    let dir = tempdir();
    for e in std::fs::read_dir(reference_dir().join("scenarios")).expect("scenarios dir") {
        let p = e.expect("dir entry").path();
        let o = hashpivot(dir.path())
            .args(["scenario", "check"])
            .arg(&p)
            .output()
            .expect("run hashpivot");
        assert!(
            o.status.success(),
            "{}: {}{}",
            p.display(),
            stdout(&o),
            stderr(&o)
        );
    }
}

/// The reference's own building blocks against values no one here chose: Bitcoin Core's subsidy
/// schedule, MODEL.md's rounding rule, a hand-split subsidy mean across a halving.
#[test]
fn reference_self_test() {
    let o = run_python(&[Path::new("--self-test")]);
    assert!(
        o.status.success(),
        "model_reference.py --self-test failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The reference refuses what it cannot evaluate exactly (a non-zero volatility), exit code 2,
/// naming the key.
#[test]
fn reference_rejects_volatility() {
    let dir = tempdir();
    let text = std::fs::read_to_string(scenario_path("build_past_horizon.toml")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = lines
        .iter()
        .position(|l| l.trim() == "[price]")
        .expect("[price]");
    let v = lines[i..]
        .iter()
        .position(|l| l.starts_with("vol = "))
        .expect("price.vol")
        + i;
    lines[v] = "vol = 0.3".to_string();
    let path = dir.path().join("vol.toml");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let o = run_python(&[&path]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("price.vol = 0.3"), "{err}");
}
