//! `hashpivot shard plan | run | merge` and `hashpivot sweep` (MODEL.md section 12): a run cut
//! into any number of shards merges into exactly the bytes `simulate --json` (or `sweep --json`)
//! prints on one machine; the array-job index comes from the environment; every bad part is
//! refused (exit 2) and nothing is written.

use crate::common::*;
use std::path::{Path, PathBuf};

/// 16 full blocks of 256 paths and a last partial block of 77: 17 blocks, uneven for every shard
/// count below.
const PATHS: &str = "4173";

/// A short horizon keeps the test quick; the shards still cut through the paths at every count.
/// `extra` continues the `[strategy]` table (and may open others).
fn scenario(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("sc.toml");
    std::fs::write(&p, format!("{SHORT}{extra}")).unwrap();
    p
}

/// Two years, decisions within them.
const SHORT: &str = "[run]\nhorizon_years = 2\n[strategy]\ndecide_months = 6\n";

/// The array-task index variables, in the order `shard run` reads them.
const INDEX_VARS: [&str; 3] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// Runs `args` with `--json` and returns stdout.
fn run_json(dir: &Path, args: &[&str]) -> Vec<u8> {
    let o = hashpivot(dir).args(args).arg("--json").output().unwrap();
    ok(&o, &format!("{args:?}"));
    o.stdout
}

/// `shard plan PLAN_ARGS --shards n -o plan`, then `shard run plan --index i -o parts` for each i.
fn plan_and_run(dir: &Path, plan: &Path, parts: &Path, n: usize, plan_args: &[&str]) {
    let o = hashpivot(dir)
        .args(["shard", "plan"])
        .args(plan_args)
        .args(["--shards", &n.to_string(), "-o"])
        .arg(plan)
        .output()
        .unwrap();
    ok(&o, "shard plan");
    for i in 0..n {
        let o = hashpivot(dir)
            .args(["shard", "run"])
            .arg(plan)
            .args(["--index", &i.to_string(), "-o"])
            .arg(parts)
            .output()
            .unwrap();
        ok(&o, &format!("shard run {i}"));
    }
}

/// Plans `n` shards with `plan_args`, runs each shard (by `--index`), merges, and returns the
/// merged document written by `-o` (also checking it equals the merge's `--json`).
fn sharded(dir: &Path, tag: &str, n: usize, plan_args: &[&str]) -> Vec<u8> {
    let plan = dir.join(format!("{tag}-{n}.json"));
    let parts = dir.join(format!("{tag}-{n}-parts"));
    plan_and_run(dir, &plan, &parts, n, plan_args);
    let result = dir.join(format!("{tag}-{n}-result.json"));
    let o = hashpivot(dir)
        .args(["shard", "merge"])
        .arg(&parts)
        .arg("-o")
        .arg(&result)
        .arg("--json")
        .output()
        .unwrap();
    ok(&o, "shard merge");
    let written = std::fs::read(&result).unwrap();
    assert_eq!(written, o.stdout, "merge -o and --json differ");
    written
}

fn same(a: &[u8], b: &[u8], what: &str) {
    if a != b {
        let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
        let line = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "{what}: not byte-identical; first difference at line {}: {:?} vs {:?}",
            line + 1,
            a.lines().nth(line),
            b.lines().nth(line)
        );
    }
}

#[test]
fn every_shard_count_merges_to_the_single_machine_bytes() {
    let dir = tempdir();
    let d = dir.path();
    let sc = scenario(d, "");
    let sc = sc.to_str().unwrap();
    for strategy in ["mine", "convert", "sweep"] {
        let args = [sc, "--paths", PATHS, "--seed", "7", "--strategy", strategy];
        let mut sim = vec!["simulate"];
        sim.extend(args);
        let want = run_json(d, &sim);
        let counts: &[usize] = if strategy == "sweep" {
            &[1, 2, 3, 7, 16]
        } else {
            &[3, 16]
        };
        for &n in counts {
            let got = sharded(d, strategy, n, &args);
            same(&got, &want, &format!("{strategy} with {n} shards"));
        }
    }
}

#[test]
fn schedule_antithetic_and_hourly_power_merge_exactly() {
    let dir = tempdir();
    let d = dir.path();
    // The staged schedule of the golden case, a refresh inside the horizon.
    let sched = scenario(
        d,
        "kind = \"schedule\"\nschedule = [[0, 0.25], [200, 0.25], [400, 0.3]]\n\
         [mining]\nrefresh_every_years = 1.0\n",
    );
    let sched = sched.to_str().unwrap();
    for (tag, args) in [
        ("schedule", vec![sched, "--paths", PATHS]),
        ("anti", vec![sched, "--paths", "1100", "--antithetic"]),
    ] {
        let mut sim = vec!["simulate"];
        sim.extend(args.iter().copied());
        let want = run_json(d, &sim);
        // 17 and 5 blocks: 7 and 3 shards cut them unevenly.
        let n = if tag == "anti" { 3 } else { 7 };
        same(&sharded(d, tag, n, &args), &want, &format!("{tag} {n}"));
    }
    // The hourly-power golden scenario (ERCOT HB_WEST 2024 curve), as shipped.
    let hourly = repo_root().join("crates/cli/tests/golden/hourly.toml");
    let hourly = hourly.to_str().unwrap();
    let args = [hourly, "--paths", "700", "--strategy", "sweep"];
    let mut sim = vec!["simulate"];
    sim.extend(args);
    let want = run_json(d, &sim);
    same(&sharded(d, "hourly", 3, &args), &want, "hourly 3");
}

/// MODEL.md sections 8-11 on at once: the conversion risks, the GPU cloud, a loan (with the
/// GPUs financed) and, in a second run, the BTC view. The equity figures (equity NPV, DSCR, IRRs)
/// are per-path values of the part files, so 3 and 7 shards give the single machine's bytes.
#[test]
fn risks_cloud_finance_and_btc_merge_exactly() {
    let dir = tempdir();
    let d = dir.path();
    let sc = d.join("v2.toml");
    std::fs::write(
        &sc,
        "[run]\nhorizon_years = 3\n[strategy]\nkind = \"schedule\"\n\
         schedule = [[0, 0.25], [200, 0.25]]\n[ai]\nmode = \"cloud\"\n\
         build_delay_months = 4.0\ncapex_overrun = 0.1\ncapex_overrun_vol = 0.2\n\
         mine_during_build = true\ndefault_events = true\nbackstop_months = 12.0\n\
         relet_months = 6.0\n[finance]\nltc = 0.6\nfund_gpus = true\n",
    )
    .unwrap();
    let sc = sc.to_str().unwrap();
    // 7 blocks (the last of 64 paths): the fewest that 7 shards can cut; a 3-year horizon keeps
    // the run as small as a 1,500-path one over 5 years would be.
    let usd = [sc, "--paths", "1600", "--seed", "3"];
    let want = run_json(d, &[&["simulate"][..], &usd].concat());
    let doc: serde_json::Value = serde_json::from_slice(&want).unwrap();
    // The equity view is in the result, so the test compares it.
    let eq = &doc["results"][1]["equity"];
    assert!(eq["equity_npv"]["mean"].is_f64(), "{doc}");
    for n in [3, 7] {
        same(
            &sharded(d, "v2", n, &usd),
            &want,
            &format!("sections 8-11, {n} shards"),
        );
    }
    // The BTC view through the run flag of `shard plan` (the plan's scenario carries it).
    let btc = [sc, "--paths", "1600", "--seed", "3", "--currency", "btc"];
    let want = run_json(d, &[&["simulate"][..], &btc].concat());
    let doc: serde_json::Value = serde_json::from_slice(&want).unwrap();
    assert_eq!(doc["currency"], "btc", "{doc}");
    for n in [3, 7] {
        same(
            &sharded(d, "btc", n, &btc),
            &want,
            &format!("BTC view, {n} shards"),
        );
    }
}

#[test]
fn array_index_comes_from_the_environment() {
    let dir = tempdir();
    let d = dir.path();
    let sc = scenario(d, "");
    let plan = d.join("plan.json");
    let o = hashpivot(d)
        .args(["shard", "plan"])
        .arg(&sc)
        .args(["--paths", "900", "--shards", "3", "-o"])
        .arg(&plan)
        .output()
        .unwrap();
    ok(&o, "plan");
    let parts = d.join("parts");
    // `shard run PLAN -o parts` with only the array variables `env` set (and `extra` flags).
    let shard_run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut c = hashpivot(d);
        for v in INDEX_VARS {
            c.env_remove(v);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(["shard", "run"])
            .arg(&plan)
            .args(extra)
            .arg("-o")
            .arg(&parts)
            .output()
            .unwrap()
    };
    for (i, var) in INDEX_VARS.iter().enumerate() {
        ok(&shard_run(&[(var, &i.to_string())], &[]), var);
        assert!(parts.join(format!("part-{i:05}.part")).is_file(), "{var}");
    }
    let merged = d.join("r.json");
    let o = hashpivot(d)
        .args(["shard", "merge"])
        .arg(&parts)
        .arg("-o")
        .arg(&merged)
        .output()
        .unwrap();
    ok(&o, "merge");
    assert!(
        stdout(&o).contains("merged from 3 shards"),
        "{}",
        stdout(&o)
    );
    let want = run_json(d, &["simulate", sc.to_str().unwrap(), "--paths", "900"]);
    same(
        &std::fs::read(&merged).unwrap(),
        &want,
        "env-indexed shards",
    );
    // No index at all, a bad one, one outside the plan: exit 2 naming them.
    for (env, extra, needle) in [
        (vec![], vec![], "JOB_COMPLETION_INDEX"),
        (
            vec![("SLURM_ARRAY_TASK_ID", "x1")],
            vec![],
            "SLURM_ARRAY_TASK_ID: \"x1\"",
        ),
        (vec![], vec!["--index", "3"], "--index: 3"),
    ] {
        let o = shard_run(&env, &extra);
        assert_eq!(o.status.code(), Some(2), "{needle}");
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
    }
}

/// Copies the parts directory `from` into a fresh `to` (for breaking one thing per case).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The merge of `parts` must fail with exit 2, say `needle`, and write no result.
fn refused(d: &Path, parts: &Path, needle: &str) {
    let out = d.join("never.json");
    let o = hashpivot(d)
        .args(["shard", "merge"])
        .arg(parts)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{needle}: {}", stderr(&o));
    assert!(
        stderr(&o).contains(needle),
        "want {needle:?}: {}",
        stderr(&o)
    );
    assert!(!out.exists(), "{needle}: a result was written");
    let tmp: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("never"))
        .collect();
    assert!(tmp.is_empty(), "{needle}: left {tmp:?}");
}

#[test]
fn bad_parts_are_refused_by_name_and_nothing_is_written() {
    let dir = tempdir();
    let d = dir.path();
    let sc = scenario(d, "");
    let sc = sc.to_str().unwrap();
    let mk = |tag: &str, seed: &str| -> PathBuf {
        let parts = d.join(format!("{tag}-parts"));
        let args = [sc, "--paths", "1000", "--seed", seed];
        plan_and_run(d, &d.join(format!("{tag}.json")), &parts, 4, &args);
        parts
    };
    let good = mk("a", "1");
    let other = mk("b", "2");
    let p = |i: usize| format!("part-{i:05}.part");

    // Missing.
    let c = d.join("missing");
    copy_dir(&good, &c);
    std::fs::remove_file(c.join(p(2))).unwrap();
    refused(d, &c, "missing the parts of 1 of 4 shards: 2");
    // Duplicated (a copy under another name).
    let c = d.join("dup");
    copy_dir(&good, &c);
    std::fs::copy(c.join(p(1)), c.join("copy-of-1.part")).unwrap();
    refused(d, &c, "shard 1 duplicated");
    // Foreign: another plan's part in its place.
    let c = d.join("foreign");
    copy_dir(&good, &c);
    std::fs::copy(other.join(p(3)), c.join(p(3))).unwrap();
    refused(d, &c, "part-00003.part: foreign");
    // Truncated.
    let c = d.join("trunc");
    copy_dir(&good, &c);
    let bytes = std::fs::read(c.join(p(0))).unwrap();
    std::fs::write(c.join(p(0)), &bytes[..bytes.len() - 100]).unwrap();
    refused(d, &c, "part-00000.part");
    refused(d, &c, "truncated");
    // Corrupt: one flipped bit in the values.
    let c = d.join("corrupt");
    copy_dir(&good, &c);
    let mut bytes = std::fs::read(c.join(p(1))).unwrap();
    let at = bytes.len() - 200;
    bytes[at] ^= 1;
    std::fs::write(c.join(p(1)), &bytes).unwrap();
    refused(d, &c, "part-00001.part: corrupt");
    // Not a part at all.
    let c = d.join("junk");
    copy_dir(&good, &c);
    std::fs::write(c.join(p(2)), b"hello").unwrap();
    refused(d, &c, "part-00002.part");
    // An edited plan.
    let c = d.join("edited");
    copy_dir(&good, &c);
    let plan = std::fs::read_to_string(c.join("plan.json")).unwrap();
    std::fs::write(
        c.join("plan.json"),
        plan.replacen("\"seed\": 1", "\"seed\": 5", 1),
    )
    .unwrap();
    refused(d, &c, "does not match its contents");
    // A directory of another plan refuses a shard of this one.
    let o = hashpivot(d)
        .args(["shard", "run"])
        .arg(d.join("a.json"))
        .args(["--index", "0", "-o"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds another plan"), "{}", stderr(&o));
    // The good directory still merges.
    let o = hashpivot(d)
        .args(["shard", "merge"])
        .arg(&good)
        .arg("--json")
        .output()
        .unwrap();
    ok(&o, "good merge");
}

/// `optimal`'s two phases with `n` shards: `shard plan`, `shard run --phase fit` for each shard
/// (last first), `shard fit`, `shard run --phase price --policy` for each shard, `shard merge`;
/// returns the merged document written by `-o` (also checking it equals the merge's `--json`).
fn sharded_optimal(dir: &Path, tag: &str, n: usize, plan_args: &[&str]) -> Vec<u8> {
    let plan = dir.join(format!("{tag}-{n}.json"));
    let fits = dir.join(format!("{tag}-{n}-fits"));
    let parts = dir.join(format!("{tag}-{n}-parts"));
    let policy = dir.join(format!("{tag}-{n}-policy.json"));
    let o = hashpivot(dir)
        .args(["shard", "plan"])
        .args(plan_args)
        .args(["--strategy", "optimal", "--shards", &n.to_string(), "-o"])
        .arg(&plan)
        .output()
        .unwrap();
    ok(&o, "shard plan");
    for i in (0..n).rev() {
        let o = hashpivot(dir)
            .args(["shard", "run"])
            .arg(&plan)
            .args(["--phase", "fit", "--index", &i.to_string(), "-o"])
            .arg(&fits)
            .output()
            .unwrap();
        ok(&o, &format!("shard run --phase fit {i}"));
    }
    let o = hashpivot(dir)
        .args(["shard", "fit"])
        .arg(&fits)
        .arg("-o")
        .arg(&policy)
        .output()
        .unwrap();
    ok(&o, "shard fit");
    for i in 0..n {
        let o = hashpivot(dir)
            .args(["shard", "run"])
            .arg(&plan)
            .args(["--phase", "price", "--policy"])
            .arg(&policy)
            .args(["--index", &i.to_string(), "-o"])
            .arg(&parts)
            .output()
            .unwrap();
        ok(&o, &format!("shard run --phase price {i}"));
    }
    let result = dir.join(format!("{tag}-{n}-result.json"));
    let o = hashpivot(dir)
        .args(["shard", "merge"])
        .arg(&parts)
        .arg("-o")
        .arg(&result)
        .arg("--json")
        .output()
        .unwrap();
    ok(&o, "shard merge");
    let written = std::fs::read(&result).unwrap();
    assert_eq!(written, o.stdout, "merge -o and --json differ");
    written
}

/// `optimal` (MODEL.md section 12): phase 1's exact regression sums merged in block order, the
/// fit, phase 2's in-sample and fresh paths merged like any run; 1, 2, 3, 7 and 16 shards give
/// the single machine's bytes. 4173 paths: 17 blocks (uneven for every count, the last partial),
/// and more than the pilot's 4096 (`strategy.pilot_paths`), so the policy comes from the merged
/// sums. Without the key the pilot is every path (version 1's fit): 3 shards give its bytes too.
#[test]
fn optimal_in_two_phases_merges_to_the_single_machine_bytes() {
    let dir = tempdir();
    let d = dir.path();
    let base = "[run]\nhorizon_years = 2\n[strategy]\ndecide_months = 4\ntranches = 2\n";
    let full = d.join("full.toml");
    std::fs::write(&full, base).unwrap();
    let full = full.to_str().unwrap();
    let full_args = [full, "--paths", PATHS, "--seed", "7"];
    let want_full = run_json(
        d,
        &[&["simulate", "--strategy", "optimal"][..], &full_args].concat(),
    );
    let doc: serde_json::Value = serde_json::from_slice(&want_full).unwrap();
    let sample = doc["results"][1]["regression"]["sample"].as_str().unwrap();
    assert!(!sample.contains("first 4096 paths"), "{sample}");
    same(
        &sharded_optimal(d, "full", 3, &full_args),
        &want_full,
        "optimal with the pilot on every path, 3 shards",
    );
    // Levered (MODEL.md §10): the policy regresses equity values and the merge carries the
    // equity block (per-path equity NPV, DSCR and IRRs in the parts).
    let fin = d.join("fin.toml");
    std::fs::write(&fin, format!("{base}[finance]\n")).unwrap();
    let fin = fin.to_str().unwrap();
    let fin_args = [fin, "--paths", "1100", "--seed", "5"];
    let want_fin = run_json(
        d,
        &[&["simulate", "--strategy", "optimal"][..], &fin_args].concat(),
    );
    let doc: serde_json::Value = serde_json::from_slice(&want_fin).unwrap();
    assert!(doc["results"][1]["equity"]["dscr_min"].is_object(), "{doc}");
    same(
        &sharded_optimal(d, "fin", 3, &fin_args),
        &want_fin,
        "levered optimal, 3 shards",
    );
    let sc = d.join("opt.toml");
    std::fs::write(&sc, format!("{base}pilot_paths = 4096\n")).unwrap();
    let sc = sc.to_str().unwrap();
    let args = [sc, "--paths", PATHS, "--seed", "7"];
    let want = run_json(
        d,
        &[&["simulate", "--strategy", "optimal"][..], &args].concat(),
    );
    let doc: serde_json::Value = serde_json::from_slice(&want).unwrap();
    assert_eq!(doc["results"][1]["strategy"], "optimal", "{doc}");
    let sample = doc["results"][1]["regression"]["sample"].as_str().unwrap();
    assert!(sample.contains("first 4096 paths"), "{sample}");
    for n in [1, 2, 3, 7, 16] {
        same(
            &sharded_optimal(d, "opt", n, &args),
            &want,
            &format!("optimal with {n} shards"),
        );
    }
    // The human output of the merge is simulate's table of the same result.
    let o = hashpivot(d)
        .args(["shard", "merge"])
        .arg(d.join("opt-3-parts"))
        .output()
        .unwrap();
    ok(&o, "human merge");
    let text = stdout(&o);
    assert!(text.contains("merged from 3 shards"), "{text}");
    let o = hashpivot(d)
        .args(["simulate", "--strategy", "optimal"])
        .args(args)
        .output()
        .unwrap();
    ok(&o, "human simulate");
    let local = stdout(&o);
    // Everything below the title and above the timing line is the same text.
    let body = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.contains("merged from") && !l.contains(sc))
            .map(|l| match l.rsplit_once("; ") {
                // The run's line ends with its wall time.
                Some((head, secs)) if secs.ends_with(" s") => head.to_string(),
                _ => l.to_string(),
            })
            .collect()
    };
    assert_eq!(body(&text), body(&local));
}

/// `optimal` with the hourly power curve, and with MODEL.md section 8's conversion risks (one AI
/// project per decision day and slice, drawn from its own stream) in a scenario where the policy
/// converts on some paths, in 3 and 7 shards.
#[test]
fn optimal_hourly_power_and_risks_merge_exactly() {
    let dir = tempdir();
    let d = dir.path();
    let hourly = repo_root().join("crates/cli/tests/golden/hourly.toml");
    let hourly = hourly.to_str().unwrap();
    let args = [hourly, "--paths", "700"];
    let want = run_json(
        d,
        &[&["simulate", "--strategy", "optimal"][..], &args].concat(),
    );
    same(&sharded_optimal(d, "hourly", 3, &args), &want, "hourly 3");
    let sc = d.join("risks.toml");
    std::fs::write(
        &sc,
        "[run]\nhorizon_years = 6\n[strategy]\ndecide_months = 12\ntranches = 2\n[ai]\n\
         lease_usd_per_kw_month = 170\nlease_drift = 0.10\nlease_vol = 0.3\n\
         build_delay_months = 4.0\ncapex_overrun = 0.1\ncapex_overrun_vol = 0.2\n\
         mine_during_build = true\ndefault_events = true\nbackstop_months = 12.0\n\
         relet_months = 6.0\n",
    )
    .unwrap();
    let sc = sc.to_str().unwrap();
    // 7 blocks, the last of 64 paths.
    let args = [sc, "--paths", "1600", "--seed", "3", "--antithetic"];
    let want = run_json(
        d,
        &[&["simulate", "--strategy", "optimal"][..], &args].concat(),
    );
    // A rising lease market over six years: some paths convert some slices, some do not, so the
    // policy's decisions differ between paths.
    let doc: serde_json::Value = serde_json::from_slice(&want).unwrap();
    for sl in doc["results"][1]["slices"].as_array().unwrap() {
        let p = sl["prob_converted"].as_f64().unwrap();
        assert!(p > 0.01 && p < 0.5, "{doc}");
    }
    for n in [3, 7] {
        same(
            &sharded_optimal(d, "risks", n, &args),
            &want,
            &format!("section 8 risks, {n} shards"),
        );
    }
}

/// Exit 2 naming what is wrong, and nothing written: bad phases and policies, and missing,
/// duplicated, foreign, truncated or corrupt fit parts.
#[test]
fn optimal_phases_refuse_bad_input_by_name() {
    let dir = tempdir();
    let d = dir.path();
    let sc = scenario(d, "tranches = 2\n");
    let sc = sc.to_str().unwrap();
    let two = |tag: &str, seed: &str| {
        sharded_optimal(d, tag, 3, &[sc, "--paths", "800", "--seed", seed]);
    };
    two("a", "1");
    two("b", "2");
    let plan = d.join("a-3.json");
    let fail = |args: &[&str], needle: &str| {
        let o = hashpivot(d).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "{args:?}: want {needle:?}: {}",
            stderr(&o)
        );
    };
    let p = plan.to_str().unwrap();
    let out = d.join("x");
    let x = out.to_str().unwrap();
    let pol_a = d.join("a-3-policy.json");
    let pol_b = d.join("b-3-policy.json");
    let (pa, pb) = (pol_a.to_str().unwrap(), pol_b.to_str().unwrap());
    // Phases: missing, a policy with the fit phase, none with the price phase, another plan's.
    fail(
        &["shard", "run", p, "--index", "0", "-o", x],
        "--phase: missing",
    );
    let fit_pol = [
        "shard", "run", p, "--phase", "fit", "--policy", pa, "--index", "0", "-o", x,
    ];
    fail(&fit_pol, "--policy: not allowed with --phase fit");
    fail(
        &[
            "shard", "run", p, "--phase", "price", "--index", "0", "-o", x,
        ],
        "--policy: missing",
    );
    let other = [
        "shard", "run", p, "--phase", "price", "--policy", pb, "--index", "0", "-o", x,
    ];
    fail(&other, "fitted for another plan");
    // An edited policy.
    let edited = d.join("edited-policy.json");
    let text = std::fs::read_to_string(&pol_a).unwrap();
    let i = text.find("\"coef\"").unwrap();
    let j = i + text[i..].find(|c: char| c.is_ascii_digit()).unwrap();
    let mut t = text.clone();
    t.replace_range(j..j + 1, if &text[j..j + 1] == "9" { "8" } else { "9" });
    std::fs::write(&edited, t).unwrap();
    let e = edited.to_str().unwrap();
    fail(
        &[
            "shard", "run", p, "--phase", "price", "--policy", e, "--index", "0", "-o", x,
        ],
        "does not match its policy",
    );
    // --phase on a plan of another strategy.
    let mine = d.join("mine.json");
    let o = hashpivot(d)
        .args(["shard", "plan", sc, "--paths", "800", "--shards", "2", "-o"])
        .arg(&mine)
        .output()
        .unwrap();
    ok(&o, "mine plan");
    let m = mine.to_str().unwrap();
    fail(
        &["shard", "run", m, "--phase", "fit", "--index", "0", "-o", x],
        "only for a plan of --strategy optimal",
    );
    // The merge of an optimal plan needs its policy, and refuses another's.
    let parts = d.join("a-3-parts");
    std::fs::remove_file(parts.join("policy.json")).unwrap();
    fail(&["shard", "merge", parts.to_str().unwrap()], "policy.json");
    fail(
        &["shard", "merge", parts.to_str().unwrap(), "--policy", pb],
        "fitted for another plan",
    );
    assert!(!out.exists(), "a failed phase wrote {x}");
    // Fit parts: each broken copy is refused by name and no policy is written.
    let good = d.join("a-3-fits");
    let f = |i: usize| format!("fit-{i:05}.fit");
    let refused_fit = |dir: &Path, needle: &str| {
        let pol = d.join("never-policy.json");
        let o = hashpivot(d)
            .args(["shard", "fit"])
            .arg(dir)
            .arg("-o")
            .arg(&pol)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{needle}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "want {needle:?}: {}",
            stderr(&o)
        );
        assert!(!pol.exists(), "{needle}: a policy was written");
    };
    let c = d.join("fit-missing");
    copy_dir(&good, &c);
    std::fs::remove_file(c.join(f(1))).unwrap();
    refused_fit(&c, "missing the fit parts of 1 of 3 shards: 1");
    let c = d.join("fit-dup");
    copy_dir(&good, &c);
    std::fs::copy(c.join(f(2)), c.join("again.fit")).unwrap();
    refused_fit(&c, "shard 2 duplicated");
    let c = d.join("fit-foreign");
    copy_dir(&good, &c);
    std::fs::copy(d.join("b-3-fits").join(f(0)), c.join(f(0))).unwrap();
    refused_fit(&c, "fit-00000.fit: foreign");
    let c = d.join("fit-trunc");
    copy_dir(&good, &c);
    let bytes = std::fs::read(c.join(f(1))).unwrap();
    std::fs::write(c.join(f(1)), &bytes[..bytes.len() - 40]).unwrap();
    refused_fit(&c, "fit-00001.fit: ");
    refused_fit(&c, "truncated");
    let c = d.join("fit-corrupt");
    copy_dir(&good, &c);
    let mut bytes = std::fs::read(c.join(f(2))).unwrap();
    let at = bytes.len() - 50;
    bytes[at] ^= 4;
    std::fs::write(c.join(f(2)), &bytes).unwrap();
    refused_fit(&c, "fit-00002.fit: corrupt");
    let c = d.join("fit-junk");
    copy_dir(&good, &c);
    std::fs::write(c.join(f(0)), b"not a fit part").unwrap();
    refused_fit(&c, "fit-00000.fit: ");
    // The fit of a plan of another strategy.
    fail(
        &["shard", "fit", good.to_str().unwrap(), "--plan", m, "-o", x],
        "only for a plan of --strategy optimal",
    );
    // The price parts: one priced with another plan's policy is foreign to this plan.
    let c = d.join("price-foreign");
    copy_dir(&parts, &c);
    std::fs::copy(
        d.join("b-3-parts").join("part-00001.part"),
        c.join("part-00001.part"),
    )
    .unwrap();
    let o = hashpivot(d)
        .args(["shard", "merge"])
        .arg(&c)
        .arg("--policy")
        .arg(&pol_a)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("part-00001.part: foreign"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn bad_plans_exit_2_naming_the_flag() {
    let dir = tempdir();
    let d = dir.path();
    let sc = scenario(d, "");
    for (args, needle) in [
        (vec!["--paths", "600", "--shards", "4"], "--shards: 4"),
        (vec!["--paths", "600", "--shards", "0"], "--shards: 0"),
        (vec!["--paths", "0", "--shards", "1"], "--paths: 0"),
        (
            vec!["--paths", "600", "--shards", "4", "--strategy", "optimal"],
            "--shards: 4",
        ),
        (
            vec!["--paths", "1", "--shards", "1", "--strategy", "optimal"],
            "paths",
        ),
    ] {
        let out = d.join("p.json");
        let o = hashpivot(d)
            .args(["shard", "plan"])
            .arg(&sc)
            .args(&args)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

const GRID: &str = "[[axis]]\nkey = \"price.vol\"\nvalues = [0.4, 0.7]\n\
                    [[axis]]\nkey = \"ai.lease_usd_per_kw_month\"\nvalues = [100, 130, 160]\n";

#[test]
fn a_sweep_grid_runs_locally_and_as_shards_identically() {
    let dir = tempdir();
    let d = dir.path();
    scenario(d, "");
    let grid = d.join("grid.toml");
    std::fs::write(&grid, format!("base = \"sc.toml\"\n{GRID}")).unwrap();
    let grid = grid.to_str().unwrap();
    let csv = d.join("local.csv");
    let args = [
        grid,
        "--paths",
        "700",
        "--strategy",
        "convert",
        "--share",
        "0.5",
    ];
    let mut sw = vec!["sweep"];
    sw.extend(args);
    sw.extend(["--csv", csv.to_str().unwrap()]);
    let want = run_json(d, &sw);
    let v: serde_json::Value = serde_json::from_slice(&want).unwrap();
    assert_eq!(v["keys"][1], "ai.lease_usd_per_kw_month");
    assert_eq!(v["points"].as_array().unwrap().len(), 6);
    assert_eq!(v["points"][4]["values"][0], 0.7);
    assert_eq!(v["points"][4]["values"][1], 130.0);
    // Each point is exactly `simulate` of its scenario.
    let pt = d.join("pt.toml");
    std::fs::write(
        &pt,
        format!("{SHORT}[price]\nvol = 0.7\n[ai]\nlease_usd_per_kw_month = 130\n"),
    )
    .unwrap();
    let sim = run_json(
        d,
        &[
            "simulate",
            pt.to_str().unwrap(),
            "--paths",
            "700",
            "--share",
            "0.5",
        ],
    );
    let s: serde_json::Value = serde_json::from_slice(&sim).unwrap();
    assert_eq!(v["points"][4]["results"], s["results"]);
    // Higher lease, higher convert NPV, at either volatility.
    let conv = |i: usize| {
        v["points"][i]["results"][1]["npv"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(conv(0) < conv(1) && conv(1) < conv(2));
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7);
    assert!(lines[0].starts_with("point,price.vol,ai.lease_usd_per_kw_month,mine.npv_mean,"));
    assert!(lines[5].starts_with("4,0.7,130,"), "{}", lines[5]);
    // Sharded: 3 blocks × 6 points = 18 units over 1, 4 and 7 shards.
    for n in [1, 4, 7] {
        let plan_args = [
            "--grid",
            grid,
            "--paths",
            "700",
            "--strategy",
            "convert",
            "--share",
            "0.5",
        ];
        same(
            &sharded(d, "grid", n, &plan_args),
            &want,
            &format!("grid {n}"),
        );
    }
    // The merge's CSV equals the local one.
    let merged_csv = d.join("merged.csv");
    let o = hashpivot(d)
        .args(["shard", "merge"])
        .arg(d.join("grid-4-parts"))
        .arg("--csv")
        .arg(&merged_csv)
        .output()
        .unwrap();
    ok(&o, "merge --csv");
    assert_eq!(
        std::fs::read(&merged_csv).unwrap(),
        std::fs::read(&csv).unwrap()
    );
    assert!(stdout(&o).contains("6 grid points"), "{}", stdout(&o));
}

#[test]
fn bad_grids_exit_2_naming_key_and_value() {
    let dir = tempdir();
    let d = dir.path();
    for (text, needle) in [
        (
            "[[axis]]\nkey = \"price.nope\"\nvalues = [1]\n",
            "\"price.nope\"",
        ),
        (
            "[[axis]]\nkey = \"price.vol\"\nvalues = [-2]\n",
            "price.vol = -2",
        ),
        (
            "keys = [\"price.vol\"]\npoints = [[0.5, 1]]\n",
            "points[0] has 2 values",
        ),
        ("[[axis]]\nkey = \"price.vol\"\nvalue = [1]\n", "value"),
        (
            "base = \"nowhere.toml\"\n[[axis]]\nkey = \"price.vol\"\nvalues = [0.5]\n",
            "nowhere.toml",
        ),
    ] {
        let grid = d.join("g.toml");
        std::fs::write(&grid, text).unwrap();
        let o = hashpivot(d)
            .args(["sweep"])
            .arg(&grid)
            .args(["--paths", "10"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{text}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "want {needle:?}: {}",
            stderr(&o)
        );
    }
}

/// The value of the first `key:` line of a YAML file (the Jobs keep their command lines on one
/// line as flow sequences, which are JSON arrays).
fn yaml_value(text: &str, key: &str) -> String {
    text.lines()
        .map(str::trim_start)
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key}: in {text}"))
        .trim()
        .to_string()
}

/// The command line of a Job's YAML `text` (`file` names it), without the binary, with /work and
/// /config mapped to `work` and `config`.
fn job_command(text: &str, file: &str, work: &Path, config: &Path) -> Vec<String> {
    let c: Vec<String> = serde_json::from_str(&yaml_value(text, "command")).unwrap();
    assert_eq!(c[0], "hashpivot", "{file}");
    c[1..]
        .iter()
        .map(|a| {
            a.replace("/work", &work.display().to_string())
                .replace("/config", &config.display().to_string())
        })
        .collect()
}

/// deploy/k8s: the Jobs' exact command lines, run as their pods would (the shard pods with
/// JOB_COMPLETION_INDEX set), with /work and /config mapped to temporary directories; the merged
/// result equals `simulate --json`.
#[test]
fn kubernetes_jobs_run_as_their_pods_would() {
    let dir = tempdir();
    let d = dir.path();
    let k8s = repo_root().join("deploy/k8s");
    let read = |f: &str| std::fs::read_to_string(k8s.join(f)).unwrap();
    let work = d.join("work");
    let config = d.join("config");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    // The ConfigMap's scenario is a valid scenario file.
    let cm = read("scenario-configmap.yaml");
    let body: String = cm
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("scenario.toml: |"))
        .skip(1)
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    std::fs::write(config.join("scenario.toml"), &body).unwrap();
    let o = hashpivot(d)
        .args(["scenario", "check"])
        .arg(config.join("scenario.toml"))
        .output()
        .unwrap();
    ok(&o, "the ConfigMap's scenario");
    // A small run of the same kind for the test.
    std::fs::write(
        config.join("scenario.toml"),
        "[run]\npaths = 2100\nhorizon_years = 2\n[strategy]\ndecide_months = 6\nkind = \"sweep\"\n",
    )
    .unwrap();
    let command = |file: &str| job_command(&read(file), file, &work, &config);
    let shards = read("shards-job.yaml");
    assert_eq!(yaml_value(&shards, "completionMode"), "Indexed");
    let n: usize = yaml_value(&shards, "completions").parse().unwrap();
    let plan = command("plan-job.yaml");
    let at = plan.iter().position(|a| a == "--shards").unwrap();
    assert_eq!(plan[at + 1], n.to_string(), "--shards = completions");
    ok(&hashpivot(d).args(&plan).output().unwrap(), "plan job");
    let run = command("shards-job.yaml");
    // Pods in any order, one retried.
    for i in (0..n).rev().chain([3]) {
        let o = hashpivot(d)
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .env_remove("SLURM_ARRAY_TASK_ID")
            .args(&run)
            .output()
            .unwrap();
        ok(&o, &format!("pod {i}"));
    }
    ok(
        &hashpivot(d)
            .args(command("merge-job.yaml"))
            .output()
            .unwrap(),
        "merge job",
    );
    let want = run_json(
        d,
        &["simulate", config.join("scenario.toml").to_str().unwrap()],
    );
    same(
        &std::fs::read(work.join("result.json")).unwrap(),
        &want,
        "k8s",
    );
}

/// deploy/k8s, optimal: the five Jobs' exact command lines (plan, the Indexed fit Job, the
/// policy, the Indexed price Job, the merge), the Indexed pods with JOB_COMPLETION_INDEX set and
/// in any order (one retried); the merged result equals `simulate --json`.
#[test]
fn kubernetes_optimal_jobs_run_as_their_pods_would() {
    let dir = tempdir();
    let d = dir.path();
    let k8s = repo_root().join("deploy/k8s");
    let read = |f: &str| std::fs::read_to_string(k8s.join(f)).unwrap();
    let work = d.join("work");
    let config = d.join("config");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    // 9 blocks (the last partial) for the 8 pods of the Indexed Jobs.
    std::fs::write(
        config.join("scenario.toml"),
        "[run]\npaths = 2100\nhorizon_years = 2\n[strategy]\ndecide_months = 4\ntranches = 2\n",
    )
    .unwrap();
    let command = |file: &str| job_command(&read(file), file, &work, &config);
    let plan = command("optimal-plan-job.yaml");
    assert!(plan.windows(2).any(|w| w == ["--strategy", "optimal"]));
    let at = plan.iter().position(|a| a == "--shards").unwrap();
    ok(&hashpivot(d).args(&plan).output().unwrap(), "plan job");
    for job in ["optimal-fit-job.yaml", "optimal-price-job.yaml"] {
        let text = read(job);
        assert_eq!(yaml_value(&text, "completionMode"), "Indexed", "{job}");
        let n: usize = yaml_value(&text, "completions").parse().unwrap();
        assert_eq!(
            plan[at + 1],
            n.to_string(),
            "--shards = completions of {job}"
        );
        let run = command(job);
        for i in (0..n).rev().chain([2]) {
            let o = hashpivot(d)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env_remove("SLURM_ARRAY_TASK_ID")
                .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
                .args(&run)
                .output()
                .unwrap();
            ok(&o, &format!("{job} pod {i}"));
        }
        if job == "optimal-fit-job.yaml" {
            ok(
                &hashpivot(d)
                    .args(command("optimal-policy-job.yaml"))
                    .output()
                    .unwrap(),
                "policy job",
            );
        }
    }
    ok(
        &hashpivot(d)
            .args(command("merge-job.yaml"))
            .output()
            .unwrap(),
        "merge job",
    );
    let want = run_json(
        d,
        &[
            "simulate",
            config.join("scenario.toml").to_str().unwrap(),
            "--strategy",
            "optimal",
        ],
    );
    same(
        &std::fs::read(work.join("result.json")).unwrap(),
        &want,
        "k8s optimal",
    );
}
