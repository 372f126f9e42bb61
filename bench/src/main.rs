//! Engine benchmark: `mine` + `convert` on the default scenario (MODEL.md sections 3–6).
//!
//! ```text
//! cargo run --release -p hashpivot-bench -- [--paths 100000] [--threads N] [--repeat 3]
//!     [--scenario FILE] [--share 1.0]
//! ```
//!
//! Reports path-days per second (a path-day = one path stepped one day, with both strategies
//! priced on it). The result is checked inside the timed section so the work cannot be skipped.
//! Compare with `bench/python/engine_numpy.py` on the same machine (see bench/README.md).

use std::time::Instant;

use hashpivot_bench::arg;

use hashpivot_model::{simulate, RunConfig, Scenario, StrategyKind};

fn main() {
    if std::env::args().any(|a| a == "--dump-scenario") {
        // The full scenario TOML, for the numpy baseline: `... --dump-scenario > default.toml`.
        print!("{}", Scenario::default_toml_annotated());
        return;
    }
    let paths: u64 = arg("--paths")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let threads: Option<usize> = arg("--threads").and_then(|s| s.parse().ok());
    let repeat: usize = arg("--repeat").and_then(|s| s.parse().ok()).unwrap_or(3);
    let sc = match arg("--scenario") {
        Some(f) => {
            Scenario::parse_and_validate(&std::fs::read_to_string(&f).expect("read scenario"))
                .expect("valid scenario")
        }
        None => Scenario::default(),
    };
    let share: f64 = arg("--share").and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let days = sc.days() as f64;
    let cfg = RunConfig {
        paths: Some(paths),
        strategy: Some(StrategyKind::Convert),
        share: Some(share),
        threads,
        ..Default::default()
    };
    let cores = threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    println!("engine: mine + convert(1.0), default scenario, {paths} paths x {days} days, {cores} threads");
    let mut best = f64::INFINITY;
    let mut means = (0.0, 0.0);
    for r in 0..repeat {
        let t0 = Instant::now();
        let out = simulate(&sc, &cfg, &|_| {}).expect("default scenario runs");
        // Sanity inside the timed section: finite, ordered percentiles, a real spread for mining.
        let mine = &out.results[0];
        assert!(mine.npv.mean.is_finite() && mine.npv.stderr >= 0.0);
        assert!(mine.npv.p5 <= mine.npv.p50 && mine.npv.p50 <= mine.npv.p95);
        assert!(out.results[1].npv.mean.is_finite());
        let secs = t0.elapsed().as_secs_f64();
        means = (mine.npv.mean, out.results[1].npv.mean);
        best = best.min(secs);
        println!(
            "run {}: {:.3} s, {:.3e} path-days/s, {:.2} ns/path-day/thread  (mine mean ${:.1} M, convert ${:.1} M)",
            r + 1,
            secs,
            paths as f64 * days / secs,
            secs * 1e9 * cores as f64 / (paths as f64 * days),
            mine.npv.mean / 1e6,
            out.results[1].npv.mean / 1e6
        );
    }
    let json = serde_json::json!({
        "bench": "engine_mine_convert",
        "paths": paths,
        "days": days,
        "threads": cores,
        "best_seconds": best,
        "path_days_per_second": paths as f64 * days / best,
        "mine_mean": means.0,
        "convert_mean": means.1,
        "isa": format!("{:?}", hashpivot_model::engine::isa()),
    });
    println!("{json}");
}
