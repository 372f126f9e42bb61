//! Benchmark: the American put of Longstaff–Schwartz (2001) Table 1 (S = 36, K = 40, r = 0.06,
//! σ = 0.2, T = 1, 50 exercise dates) with 100,000 paths × 50 steps, hashpivot's LSM core against
//! QuantLib's `MCAmericanEngine` in the same run, at the same paths, steps and basis order.
//!
//! Run (release, from the repository root; QuantLib from PyPI: `pip install QuantLib`):
//!
//! ```text
//! cargo run --release -p hashpivot-bench --bin american_put
//! cargo run --release -p hashpivot-bench --bin american_put -- --paths 100000 --order 3 --repeat 5
//! ```
//!
//! The same binary also times the `optimal` strategy on the default scenario (4 slices, 60 monthly
//! decisions, 100,000 paths fitted + 100,000 fresh) in a child process of its own, so that its peak
//! memory is its own (`--optimal-only` runs just that part; `--skip-optimal` skips it).
//!
//! Both engines fit the exercise policy on N paths and price it on N fresh paths with plain Monte
//! Carlo (no antithetics, no control variates) and a monomial/polynomial basis of the same order,
//! so their standard errors are comparable; hashpivot's production setting (control variates and
//! antithetic pairs, as `hashpivot validate` uses) is timed as well. Each timed run asserts its
//! price against the binomial reference inside the timed section.

use std::process::Command;
use std::time::Instant;

use hashpivot_lsm::reference::bermudan_put;
use hashpivot_lsm::{price_put, PutConfig, PutSpec};

struct Args {
    optimal_only: bool,
    skip_optimal: bool,
    optimal_paths: u64,
    decide_months: u32,
    paths: usize,
    steps: usize,
    order: usize,
    repeat: usize,
    seed: u64,
    python: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        optimal_only: false,
        skip_optimal: false,
        optimal_paths: 100_000,
        decide_months: 60,
        paths: 100_000,
        steps: 50,
        order: 3,
        repeat: 5,
        seed: 42,
        python: "python3".to_string(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--paths" => a.paths = val()?.parse().map_err(|e| format!("--paths: {e}"))?,
            "--steps" => a.steps = val()?.parse().map_err(|e| format!("--steps: {e}"))?,
            "--order" => a.order = val()?.parse().map_err(|e| format!("--order: {e}"))?,
            "--repeat" => a.repeat = val()?.parse().map_err(|e| format!("--repeat: {e}"))?,
            "--seed" => a.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--python" => a.python = val()?,
            "--optimal-only" => a.optimal_only = true,
            "--skip-optimal" => a.skip_optimal = true,
            "--optimal-paths" => {
                a.optimal_paths = val()?
                    .parse()
                    .map_err(|e| format!("--optimal-paths: {e}"))?
            }
            "--decide-months" => {
                a.decide_months = val()?
                    .parse()
                    .map_err(|e| format!("--decide-months: {e}"))?
            }
            "-h" | "--help" => {
                println!(
                    "american_put [--paths N] [--steps M] [--order D] [--repeat R] [--seed X] [--python PATH]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.paths == 0 || a.steps == 0 || a.order == 0 || a.repeat == 0 {
        return Err("--paths, --steps, --order and --repeat must be at least 1".into());
    }
    Ok(a)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

struct Timed {
    price: f64,
    stderr: f64,
    best: f64,
    median: f64,
    /// CPU seconds (all threads) per run, averaged.
    cpu: f64,
}

/// CPU time of this process (user + system, all threads), from /proc/self/stat in clock ticks
/// (100 per second on Linux).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: f64 = f.get(11)?.parse().ok()?;
            let k: f64 = f.get(12)?.parse().ok()?;
            Some((u + k) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn time_lsm(spec: &PutSpec, cfg: &PutConfig, reference: f64, repeat: usize) -> Timed {
    let mut times = Vec::with_capacity(repeat);
    let mut last = (0.0, 0.0);
    let c0 = cpu_seconds();
    for _ in 0..repeat {
        let t0 = Instant::now();
        let r = price_put(spec, cfg).expect("valid inputs");
        let oos = r.out_of_sample.expect("fresh paths requested");
        // The answer is checked inside the timed section: a fast wrong answer does not count.
        assert!(
            (oos.value - reference).abs() <= 4.0 * oos.stderr + 0.01,
            "LSM price {} ± {} is far from the reference {reference}",
            oos.value,
            oos.stderr
        );
        times.push(t0.elapsed().as_secs_f64());
        last = (oos.value, oos.stderr);
    }
    let cpu = (cpu_seconds() - c0) / repeat as f64;
    times.sort_by(f64::total_cmp);
    Timed {
        price: last.0,
        stderr: last.1,
        best: times[0],
        median: times[times.len() / 2],
        cpu,
    }
}

/// Times `optimal` on the default scenario in this process and prints one line of JSON.
fn optimal_only(a: &Args) {
    use hashpivot_model::optimal::{run, OptimalConfig};
    let mut sc = hashpivot_model::Scenario::default();
    sc.strategy.tranches = 4;
    sc.strategy.decide_months = a.decide_months;
    let cfg = OptimalConfig::new(a.optimal_paths, sc.run.seed, false);
    let t0 = Instant::now();
    let out = run(&sc, &cfg, &|_| {}).expect("the default scenario runs");
    let secs = t0.elapsed().as_secs_f64();
    // Checked inside the timed run's result: the out-of-sample value is a lower bound of the
    // in-sample one (within noise) and optimal is at least the best static share.
    let e = &out.detail;
    let tol = 4.0 * (out.result.npv.stderr.powi(2) + e.npv_out_of_sample.stderr.powi(2)).sqrt();
    assert!(e.npv_out_of_sample.mean <= out.result.npv.mean + tol);
    // In the objective the policy maximizes (the equity NPV when the default is levered).
    let flex = e
        .objective
        .as_ref()
        .map_or(&e.flexibility, |o| &o.flexibility);
    assert!(flex.value_in_sample.mean >= -4.0 * flex.value_in_sample.stderr);
    let v = serde_json::json!({
        "seconds": secs,
        "peak_rss_mb": peak_rss_mb(),
        "paths": a.optimal_paths,
        "fresh_paths": a.optimal_paths,
        "tranches": 4,
        "decide_months": a.decide_months,
        "horizon_years": sc.run.horizon_years,
        "npv_in_sample": out.result.npv.mean,
        "npv_in_sample_stderr": out.result.npv.stderr,
        "npv_out_of_sample": e.npv_out_of_sample.mean,
        "npv_out_of_sample_stderr": e.npv_out_of_sample.stderr,
        "value_of_flexibility": e.flexibility.value_in_sample.mean,
        "best_static_share": e.flexibility.best_static_share,
    });
    println!("{v}");
}

fn main() {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if a.optimal_only {
        optimal_only(&a);
        return;
    }
    let spec = PutSpec {
        spot: 36.0,
        strike: 40.0,
        rate: 0.06,
        vol: 0.2,
        years: 1.0,
        exercises_per_year: a.steps,
    };
    let dates = spec.dates();
    let reference = bermudan_put(36.0, 40.0, 0.06, 0.2, 1.0, dates, 4000usize.div_ceil(dates))
        .expect("valid reference inputs");
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("American put S=36 K=40 r=0.06 σ=0.2 T=1, {dates} exercise dates");
    println!("machine: {} logical CPUs (nproc), {}", threads, cpu_model());
    println!(
        "{} paths fitted + {} fresh, basis order {}, reference (binomial, same dates) {reference:.4}",
        a.paths, a.paths, a.order
    );
    let plain = PutConfig {
        paths: a.paths,
        fresh_paths: a.paths,
        seed: a.seed,
        degree: a.order,
        control_variate: false,
        antithetic: false,
    };
    let ours = time_lsm(&spec, &plain, reference, a.repeat);
    let prod = time_lsm(
        &spec,
        &PutConfig {
            control_variate: true,
            antithetic: true,
            ..plain
        },
        reference,
        a.repeat,
    );
    let rss = peak_rss_mb();

    // QuantLib, in the same run.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/quantlib_put.py");
    let mut ql: Vec<(f64, f64, f64, f64)> = Vec::new();
    let mut ql_version = String::from("?");
    let mut ql_error = None;
    for _ in 0..a.repeat.min(3) {
        let out = Command::new(&a.python)
            .arg(script)
            .args(["--paths", &a.paths.to_string()])
            .args(["--steps", &dates.to_string()])
            .args(["--order", &a.order.to_string()])
            .args(["--seed", &a.seed.to_string()])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let v: serde_json::Value = serde_json::from_slice(&o.stdout)
                    .expect("quantlib_put.py prints one JSON document");
                ql_version = v["quantlib_version"].as_str().unwrap_or("?").to_string();
                ql.push((
                    v["price"].as_f64().unwrap_or(f64::NAN),
                    v["stderr"].as_f64().unwrap_or(f64::NAN),
                    v["seconds"].as_f64().unwrap_or(f64::NAN),
                    v["cpu_seconds"].as_f64().unwrap_or(f64::NAN),
                ));
            }
            Ok(o) => {
                ql_error = Some(format!(
                    "quantlib_put.py failed: {}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ));
                break;
            }
            Err(e) => {
                ql_error = Some(format!("cannot run {}: {e}", a.python));
                break;
            }
        }
    }

    println!();
    println!(
        "{:<44} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10}",
        "engine", "price", "stderr", "error", "best s", "median s", "CPU s"
    );
    let row = |name: &str, p: f64, se: f64, best: f64, med: f64, cpu: f64| {
        println!(
            "{:<44} {:>8.4} {:>8.4} {:>+9.4} {:>10.4} {:>10.4} {:>10.3}",
            name,
            p,
            se,
            p - reference,
            best,
            med,
            cpu
        );
    };
    row(
        "hashpivot LSM, plain (same setup as QuantLib)",
        ours.price,
        ours.stderr,
        ours.best,
        ours.median,
        ours.cpu,
    );
    row(
        "hashpivot LSM, control variates + antithetic",
        prod.price,
        prod.stderr,
        prod.best,
        prod.median,
        prod.cpu,
    );
    if let Some(e) = &ql_error {
        println!("QuantLib: not run ({e}); install it with `pip install QuantLib`");
    } else {
        let mut ts: Vec<f64> = ql.iter().map(|q| q.2).collect();
        ts.sort_by(f64::total_cmp);
        let (p, se, _, _) = ql[ql.len() - 1];
        let ql_cpu = ql.iter().map(|q| q.3).sum::<f64>() / ql.len() as f64;
        let name = format!("QuantLib {ql_version} MCAmericanEngine");
        row(&name, p, se, ts[0], ts[ts.len() / 2], ql_cpu);
        println!();
        println!(
            "speed-up, wall (QuantLib median / hashpivot plain median): {:.1}x; CPU time: {:.1}x",
            ts[ts.len() / 2] / ours.median,
            ql_cpu / ours.cpu
        );
        println!(
            "same accuracy: |error| {:.4} vs {:.4}, stderr {:.4} vs {:.4} (hashpivot vs QuantLib)",
            (ours.price - reference).abs(),
            (p - reference).abs(),
            ours.stderr,
            se
        );
    }
    if let Some(m) = rss {
        println!("hashpivot peak memory (VmHWM of this process): {m:.0} MB");
    }
    if a.skip_optimal {
        return;
    }
    println!();
    println!(
        "optimal on the default scenario: 4 slices, {} monthly decisions, {} paths fitted + {} fresh",
        a.decide_months + 1,
        a.optimal_paths,
        a.optimal_paths
    );
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .args([
            "--optimal-only",
            "--optimal-paths",
            &a.optimal_paths.to_string(),
        ])
        .args(["--decide-months", &a.decide_months.to_string()])
        .output()
        .expect("run the optimal benchmark");
    if !out.status.success() {
        println!(
            "optimal benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "time {:.1} s, peak memory {:.0} MB; NPV in-sample ${:.1} M ± {:.1} M, out-of-sample ${:.1} M ± {:.1} M, value of flexibility ${:.1} M (best static share {})",
        f("seconds"),
        f("peak_rss_mb"),
        f("npv_in_sample") / 1e6,
        f("npv_in_sample_stderr") / 1e6,
        f("npv_out_of_sample") / 1e6,
        f("npv_out_of_sample_stderr") / 1e6,
        f("value_of_flexibility") / 1e6,
        f("best_static_share")
    );
}
