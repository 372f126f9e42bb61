//! The global CLI contract, checked on every command found by walking `hashpivot --help`:
//! - every command accepts `--json`;
//! - with `--json`, stdout holds exactly one JSON document, also on errors
//!   (`{"error": "...", "kind": "bad_input" | "internal"}`);
//! - exit codes: 0 ok, 2 bad input, 1 internal failure; never a panic (101).
//!
//! A new subcommand without a row in [`cases`] fails `every_command_has_a_case`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{hashpivot, repo_root, stderr, stdout, tempdir};

/// The leaf subcommands (`["chain", "subsidy"]`, `["simulate"]`, ...), from the help texts.
fn leaf_commands() -> Vec<Vec<String>> {
    fn subcommands(path: &[String]) -> Vec<String> {
        let dir = tempdir();
        let o = hashpivot(dir.path())
            .args(path)
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{path:?} --help");
        let text = stdout(&o);
        let mut out = Vec::new();
        let mut in_commands = false;
        for line in text.lines() {
            if line.starts_with("Commands:") {
                in_commands = true;
                continue;
            }
            if in_commands {
                if line.trim().is_empty() || !line.starts_with("  ") {
                    break;
                }
                // "  name   description"; continuation lines are indented further.
                if line.starts_with("   ") {
                    continue;
                }
                if let Some(name) = line.split_whitespace().next() {
                    if name != "help" {
                        out.push(name.to_string());
                    }
                }
            }
        }
        out
    }
    let mut leaves = Vec::new();
    let mut stack: Vec<Vec<String>> = subcommands(&[]).into_iter().map(|c| vec![c]).collect();
    while let Some(path) = stack.pop() {
        let subs = subcommands(&path);
        // A command with subcommands that also runs on its own (`validate`) is a leaf too.
        let dir = tempdir();
        let help = stdout(
            &hashpivot(dir.path())
                .args(&path)
                .arg("--help")
                .output()
                .unwrap(),
        );
        let runs_alone = help
            .lines()
            .any(|l| l.trim_start().starts_with("hashpivot ") && !l.contains("<COMMAND>"));
        if subs.is_empty() || runs_alone {
            leaves.push(path.clone());
        }
        for s in subs {
            let mut p = path.clone();
            p.push(s);
            stack.push(p);
        }
    }
    leaves.sort();
    leaves
}

/// Per command: an invocation that must succeed (`None`: needs a network or runs forever) and
/// one with a bad value that must exit 2. `{DIR}` is the test's temporary directory, `{REPO}` the
/// repository root.
fn cases() -> BTreeMap<&'static str, (Option<Vec<&'static str>>, Vec<&'static str>)> {
    let mut m = BTreeMap::new();
    let mut add = |k: &'static str, ok: Option<Vec<&'static str>>, bad: Vec<&'static str>| {
        m.insert(k, (ok, bad));
    };
    add("chain subsidy", Some(vec!["840000"]), vec!["-1"]);
    add("chain target", Some(vec!["1d00ffff"]), vec!["zz"]);
    add(
        "chain retarget",
        Some(vec![
            "--bits",
            "1d00ffff",
            "--first-time",
            "0",
            "--last-time",
            "1209600",
        ]),
        vec![
            "--bits",
            "1d00ffff",
            "--first-time",
            "-5",
            "--last-time",
            "0",
        ],
    );
    add(
        "chain verify-headers",
        Some(vec![
            "{REPO}/crates/chain/tests/data/mainnet_headers_0_15.txt",
        ]),
        vec!["{DIR}/missing.txt"],
    );
    add(
        "hashprice",
        Some(vec!["--price", "90000", "--difficulty", "148.26T"]),
        vec!["--price", "90000", "--difficulty", "0"],
    );
    add(
        "machines",
        Some(vec![]),
        vec!["--catalog", "{DIR}/missing.toml"],
    );
    add(
        "machine",
        Some(vec!["S21", "--power-usd-mwh", "40", "--hashprice", "50"]),
        vec!["S21", "--power-usd-mwh", "40", "--hashprice", "-1"],
    );
    add(
        "simulate",
        Some(vec!["--paths", "20"]),
        vec!["--paths", "0"],
    );
    add("compare", Some(vec!["--paths", "20"]), vec!["--paths", "0"]);
    add(
        "shard plan",
        Some(vec![
            "--shards",
            "2",
            "--paths",
            "600",
            "-o",
            "{DIR}/plan.json",
        ]),
        vec!["--shards", "0", "-o", "{DIR}/plan0.json"],
    );
    add(
        "shard run",
        None,
        vec![
            "{DIR}/missing-plan.json",
            "--index",
            "0",
            "-o",
            "{DIR}/parts",
        ],
    );
    add("shard merge", None, vec!["{DIR}/no-parts"]);
    add("shard fit", None, vec!["{DIR}/no-fit-parts"]);
    add("sweep", None, vec!["{DIR}/missing-grid.toml"]);
    add("scenario show", Some(vec![]), vec!["{DIR}/unused"]);
    add(
        "scenario check",
        Some(vec!["{DIR}/good.toml"]),
        vec!["{DIR}/bad.toml"],
    );
    add(
        "payback",
        Some(vec![
            "S21",
            "--machine-price-usd-per-th",
            "20",
            "--paths",
            "20",
        ]),
        vec!["S21", "--machine-price-usd-per-th", "0", "--paths", "20"],
    );
    add(
        "validate",
        Some(vec!["--paths", "2000", "--tolerance", "1"]),
        vec!["--paths", "0"],
    );
    add(
        "validate american-put",
        Some(vec![
            "--spot", "36", "--strike", "40", "--rate", "0.06", "--vol", "0.2", "--years", "1",
            "--paths", "2000",
        ]),
        vec![
            "--spot", "-36", "--strike", "40", "--rate", "0.06", "--vol", "0.2", "--years", "1",
        ],
    );
    add(
        "data status",
        Some(vec![]),
        vec!["--nonexistent-flag-value"],
    );
    add(
        "data import",
        Some(vec!["--kind", "price", "{DIR}/prices.csv"]),
        vec!["--kind", "price", "{DIR}/bad.csv"],
    );
    add(
        "data export",
        Some(vec![
            "price",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-05",
            "--out",
            "{DIR}/out.csv",
        ]),
        vec!["price", "--from", "2024-13-01"],
    );
    add("data sync", None, vec!["--rpc", "not a url"]);
    add(
        "history hashprice",
        Some(vec!["--from", "2024-01-01", "--to", "2024-01-10"]),
        vec!["--from", "yesterday"],
    );
    add("calibrate", Some(vec![]), vec!["--from", "2024-02-30"]);
    add("leases", Some(vec!["--rate", "120"]), vec!["--rate", "0"]);
    add(
        "dispatch",
        Some(vec![
            "--prices",
            "ercot:HB_WEST:2024",
            "--from",
            "2024-07-01",
            "--to",
            "2024-07-03",
        ]),
        vec!["--prices", "ercot:NOPE:2024"],
    );
    add("serve", None, vec!["--addr", "nope"]);
    add(
        "report",
        Some(vec![
            "--paths",
            "20",
            "--no-sensitivity",
            "-o",
            "{DIR}/r.html",
        ]),
        vec!["--paths", "0", "-o", "{DIR}/r.html"],
    );
    m
}

fn expand(args: &[&str], dir: &std::path::Path) -> Vec<String> {
    let root = repo_root();
    args.iter()
        .map(|a| {
            a.replace("{DIR}", &dir.display().to_string())
                .replace("{REPO}", &root.display().to_string())
        })
        .collect()
}

fn prepare(dir: &std::path::Path) {
    std::fs::write(dir.join("good.toml"), "[run]\npaths = 50\n").unwrap();
    std::fs::write(dir.join("bad.toml"), "[run]\npaths = 0\n").unwrap();
    std::fs::write(
        dir.join("prices.csv"),
        "date,close_usd\n2030-01-01,100000\n2030-01-02,101000\n",
    )
    .unwrap();
    std::fs::write(dir.join("bad.csv"), "date,close_usd\n2030-01-01,-5\n").unwrap();
}

/// Runs `hashpivot --json <path> <args>`; checks one JSON document on stdout and the exit code.
fn run_json(path: &[String], args: &[&str], want: i32) -> serde_json::Value {
    let dir = tempdir();
    prepare(dir.path());
    let o = hashpivot(dir.path())
        .arg("--json")
        .args(path)
        .args(expand(args, dir.path()))
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let code = o.status.code();
    assert_ne!(
        code,
        Some(101),
        "{path:?} {args:?} panicked: {}",
        stderr(&o)
    );
    assert_eq!(
        code,
        Some(want),
        "{path:?} {args:?}: exit {code:?}\nstdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    // Exactly one document: serde_json's stream reader finds one value and then only whitespace.
    let mut it = serde_json::Deserializer::from_slice(&o.stdout).into_iter::<serde_json::Value>();
    let first = it
        .next()
        .unwrap_or_else(|| {
            panic!(
                "{path:?} {args:?}: no JSON on stdout; stderr: {}",
                stderr(&o)
            )
        })
        .unwrap_or_else(|e| {
            panic!(
                "{path:?} {args:?}: stdout is not JSON ({e}): {}",
                stdout(&o)
            )
        });
    assert!(
        it.next().is_none(),
        "{path:?} {args:?}: more than one JSON document on stdout"
    );
    first
}

#[test]
fn every_command_accepts_json_in_its_help() {
    for path in leaf_commands() {
        let dir = tempdir();
        let o = hashpivot(dir.path())
            .args(&path)
            .arg("--help")
            .output()
            .unwrap();
        assert!(o.status.success(), "{path:?}");
        assert!(
            stdout(&o).contains("--json"),
            "{path:?} --help lacks --json"
        );
    }
}

#[test]
fn every_command_has_a_case() {
    let cases = cases();
    let missing: Vec<String> = leaf_commands()
        .iter()
        .map(|p| p.join(" "))
        .filter(|k| !cases.contains_key(k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "commands without a contract case: {missing:?}"
    );
}

#[test]
fn every_command_prints_one_json_document_on_success() {
    for (cmd, (ok, _)) in cases() {
        let Some(args) = ok else { continue };
        let path: Vec<String> = cmd.split(' ').map(str::to_string).collect();
        let v = run_json(&path, &args, 0);
        // (A result may have a numeric `error` field, as `validate` does: the error document is
        // a string `error` with a `kind`.)
        assert!(
            !(v["error"].is_string() && v.get("kind").is_some()),
            "{cmd}: success printed an error document: {v}"
        );
    }
}

#[test]
fn every_command_reports_bad_input_as_one_json_error_with_exit_2() {
    for (cmd, (_, bad)) in cases() {
        // `scenario show` takes no value that could be bad, and `data status` no flag beyond the
        // global ones: those two exercise clap's own errors (see the test below).
        if matches!(cmd, "scenario show" | "data status") {
            continue;
        }
        let path: Vec<String> = cmd.split(' ').map(str::to_string).collect();
        let v = run_json(&path, &bad, 2);
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(!msg.trim().is_empty(), "{cmd}: {v}");
        assert_eq!(v["kind"], "bad_input", "{cmd}: {v}");
    }
}

/// Usage errors found by clap itself (an unknown flag, a value of the wrong type, a missing
/// subcommand) exit 2; with `--json` the contract wants one JSON error document on stdout as well
/// (`crates/cli/src/main.rs` prints it).
#[test]
fn usage_errors_under_json_print_one_json_error() {
    for args in [
        vec!["simulate".to_string(), "--paths".into(), "abc".into()],
        vec!["nonsense".to_string()],
        vec!["chain".to_string()],
        vec!["data".to_string(), "status".into(), "--bogus".into()],
    ] {
        let v = run_json(&args, &[], 2);
        assert_eq!(v["kind"], "bad_input", "{args:?}: {v}");
    }
}

#[test]
fn usage_errors_exit_2_with_the_flag_named() {
    for (args, flag) in [
        (vec!["simulate", "--paths", "abc"], "--paths"),
        (vec!["nonsense"], "nonsense"),
        (vec!["data", "status", "--bogus"], "--bogus"),
    ] {
        let dir = tempdir();
        let o = hashpivot(dir.path()).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(flag), "{args:?}: {}", stderr(&o));
    }
}
