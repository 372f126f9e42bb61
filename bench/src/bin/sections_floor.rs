//! Issue 12's speed bound measured against a floor: "with all of sections 8–11 on, at most 1.5×
//! the time of the same run with them off". Single thread, the engine's path count and horizon;
//! every part's result is checked inside its timed section.
//!
//! ```text
//! cargo run --release -p hashpivot-bench --bin sections_floor -- [--paths 16384] [--repeat 2]
//! ```
//!
//! It times the engine (`mine` + `convert(1.0)`) on the version-1 default (sections 8–11 off,
//! `crates/cli/tests/golden/default_v1.toml`) and on the same site with all of them on (the
//! embedded default, i.e. §8 risks and `[finance]`, plus `ai.mode = "cloud"`,
//! `ai.mine_during_build = true` and `run.currency = "btc"`), and the process of section 3 alone
//! (a payoff that reads one number a day). The bound leaves half of the run off for everything
//! sections 8–11 add. Then it times, with the engine's own code where there is one, the parts of
//! that addition no exact implementation of MODEL.md can skip:
//!
//! - the GPU price index of §9: one more normal per lane and day from its own keyed stream and
//!   the `exp` of its log ([`GpuIndex::step`], the engine's code);
//! - the BTC view of §11: each day's cash divided by that day's price, three divisions per
//!   path-day (the mining stream of `mine`, the AI and the equity stream of `convert`); a division
//!   is what MODEL.md says and a multiplication by the reciprocal gives other bits;
//! - the per-path IRRs of §10 ("the smallest root" of a daily series): each path's AI and equity
//!   cash of every day, 16 bytes per path-day, written to memory once and read back once (with
//!   streaming stores; 256 paths' series are 22 MB, more than this machine's caches), counting
//!   the root finding itself as free.
//!
//! What is left of the budget after these is what every other part would have to fit in: the
//! loans' days, the cloud's cash, the equity and DSCR sums, the §8 events, the root finding.

use std::time::Instant;

use hashpivot_bench::arg;

use hashpivot_model::engine::{
    fast_exp, fill_normals, BlockStream, LaneDay, NormalScratch, Prepared, BLOCK,
};
use hashpivot_model::payoff::cloud::{GpuIndex, GPU_STREAM};
use hashpivot_model::scenario::{AiMode, Currency};
use hashpivot_model::{simulate, RunConfig, Scenario, StrategyKind};

/// The version-1 default, every key written (the goldens' fixture).
const OFF: &str = include_str!("../../../crates/cli/tests/golden/default_v1.toml");

// The parts are compiled for the instruction set the engine picks (`HASHPIVOT_ISA` too), so their
// lane loops are the engine's.
hashpivot_bench::main_for_engine_isa!(body);

/// Best of `repeat` timings of a block that checks its own result. A macro, not a function taking
/// a closure: a closure is compiled without the CPU features `body` is compiled with, and its lane
/// loops would not be the engine's.
macro_rules! best {
    ($repeat:expr, $body:block) => {{
        let mut best = f64::INFINITY;
        for _ in 0..$repeat.max(1) {
            let t0 = Instant::now();
            $body
            best = best.min(t0.elapsed().as_secs_f64());
        }
        best
    }};
}

/// `mine` + `convert(1.0)` on one thread, as `hashpivot-bench --threads 1`.
fn engine(sc: &Scenario, paths: u64, repeat: usize) -> f64 {
    let cfg = RunConfig {
        paths: Some(paths),
        strategy: Some(StrategyKind::Convert),
        share: Some(1.0),
        threads: Some(1),
        ..Default::default()
    };
    best!(repeat, {
        let out = simulate(sc, &cfg, &|_| {}).expect("the scenario runs");
        assert!(out.results.len() == 2 && out.results.iter().all(|r| r.npv.mean.is_finite()));
    })
}

#[inline(always)]
fn body() {
    let paths: u64 = arg("--paths")
        .and_then(|s| s.parse().ok())
        .unwrap_or(16_384);
    let repeat: usize = arg("--repeat").and_then(|s| s.parse().ok()).unwrap_or(2);
    let off = Scenario::parse_and_validate(OFF).expect("the version-1 fixture is valid");
    let mut on = Scenario::default();
    on.ai.mode = AiMode::Cloud;
    on.ai.mine_during_build = true;
    on.run.currency = Currency::Btc;
    assert!(on.finance.is_some() && on.ai.default_events && on.ai.build_delay_months > 0.0);
    let prep = Prepared::new(&off);
    let days = prep.n;
    let blocks = (paths as usize).div_ceil(BLOCK);
    let pd = (blocks * BLOCK * days) as f64;
    println!(
        "{paths} paths x {days} days, one thread, isa {:?}, best of {repeat}",
        hashpivot_model::engine::isa()
    );
    let row = |name: &str, secs: f64| {
        println!(
            "{name:<58} {secs:>7.3} s  {:>6.2} ns/path-day",
            secs * 1e9 / pd
        )
    };

    let t_off = engine(&off, paths, repeat);
    row("engine, sections 8-11 off (version 1)", t_off);
    let t_on = engine(&on, paths, repeat);
    row("engine, all of sections 8-11 on", t_on);
    let t_proc = best!(repeat, {
        let mut sum = 0.0f64;
        for b in 0..blocks as u64 {
            prep.run_block(off.run.seed, b, BLOCK, false, &mut |d: &LaneDay| {
                sum += d.hv[0] * d.s[1]
            });
        }
        assert!(sum.is_finite() && sum > 0.0);
    });
    row("  of which the process of section 3 (no payoff)", t_proc);
    row(
        "  of which mine + convert priced (version 1)",
        t_off - t_proc,
    );

    let (t_gpu, t_gpu_min) = gpu_index(&on, blocks, days, repeat);
    let t_div = divisions(blocks, days, repeat);
    let t_mem = series_memory(blocks, days, repeat);
    let budget = 0.5 * t_off;
    let floor = t_gpu_min + t_div + t_mem;
    println!();
    row(
        "the bound's budget for sections 8-11 (0.5 x the run off)",
        budget,
    );
    row("what they add today (all on - off)", t_on - t_off);
    row(
        "§9 the GPU index as the engine steps it (a normal, an exp)",
        t_gpu,
    );
    row(
        "floor: §9 the GPU index (exp only on merchant days)",
        t_gpu_min,
    );
    row("floor: §11 three divisions by the day's price", t_div);
    row("floor: §10 two daily series to memory and back", t_mem);
    row("floor, sum", floor);
    row("left for everything else sections 8-11 do", budget - floor);
    let json = serde_json::json!({
        "bench": "sections_floor",
        "paths": paths,
        "days": days,
        "isa": format!("{:?}", hashpivot_model::engine::isa()),
        "engine_off_seconds": t_off,
        "engine_on_seconds": t_on,
        "on_over_off": t_on / t_off,
        "process_seconds": t_proc,
        "budget_seconds": budget,
        "gpu_index_engine_seconds": t_gpu,
        "floor_gpu_index_seconds": t_gpu_min,
        "floor_btc_divisions_seconds": t_div,
        "floor_series_memory_seconds": t_mem,
        "left_seconds": budget - floor,
    });
    println!("{json}");
}

/// §9: the GPU index as the engine steps it ([`GpuIndex::step`]: a normal and an `exp` per lane and
/// day), and its floor (the same normals, the `exp` only on the days the model reads `g`).
#[inline(always)]
fn gpu_index(on: &Scenario, blocks: usize, days: usize, repeat: usize) -> (f64, f64) {
    // The `[cloud]` defaults (MODEL.md §9, PARAMETERS.md), as an absent table means.
    let cloud = on.cloud.clone().unwrap_or_default();
    assert!(cloud.price_vol > 0.0);
    let t_gpu = best!(repeat, {
        let mut sum = 0.0f64;
        for b in 0..blocks as u64 {
            let mut g = GpuIndex::new(&cloud, on.run.seed, b, BLOCK, false);
            for _ in 0..days {
                g.step();
                sum += g.g()[7];
            }
        }
        assert!(sum.is_finite() && sum > 0.0);
    });
    // The same normals, but the `exp` only on days the model reads `g`: no lane buys GPUs before
    // the hall's shortest build and none sells at the merchant price before the contract ends,
    // so before that the engine's daily `exp` (for every lane's possible ready day) could be
    // skipped (counting the ready days' own `exp` as free).
    let merchant = (on.ai.build_months * 365.0 / 12.0).round() as usize
        + (cloud.contract_years * 365.0).round() as usize;
    let (sig, drift) = (
        cloud.price_vol / 365f64.sqrt(),
        (cloud.price_drift - 0.5 * cloud.price_vol * cloud.price_vol) / 365.0,
    );
    let t_gpu_min = best!(repeat, {
        let mut sum = 0.0f64;
        let (mut ln_g, mut g, mut z) =
            (vec![0.0f64; BLOCK], vec![1.0f64; BLOCK], vec![0f32; BLOCK]);
        let mut scratch = NormalScratch::default();
        for b in 0..blocks as u64 {
            let mut rng = BlockStream::new(on.run.seed, GPU_STREAM.wrapping_add(b));
            ln_g.fill(0.0);
            for t in 0..days {
                fill_normals(&mut rng, &mut scratch, &mut z, false);
                for i in 0..BLOCK {
                    ln_g[i] += (z[i] as f64).mul_add(sig, drift);
                }
                if t >= merchant {
                    for i in 0..BLOCK {
                        g[i] = fast_exp(ln_g[i]);
                    }
                }
            }
            sum += g[7];
        }
        assert!(sum.is_finite() && sum > 0.0);
    });
    (t_gpu, t_gpu_min)
}

/// §11: three divisions by the day's price per path-day (the mining stream of `mine`, the AI and
/// the equity stream of `convert`).
#[inline(always)]
fn divisions(blocks: usize, days: usize, repeat: usize) -> f64 {
    best!(repeat, {
        let (mut a, mut e, mut m) = (vec![1.0f64; BLOCK], vec![2.0f64; BLOCK], vec![3.0; BLOCK]);
        let mut sum = 0.0f64;
        for b in 0..blocks {
            // A price per lane (the same every day: a division by it is still a division).
            let s: Vec<f64> = (0..BLOCK).map(|i| 78_000.0 + (b + i) as f64).collect();
            for _ in 0..days {
                for i in 0..BLOCK {
                    // Each quotient feeds the next day's dividend, so nothing is hoisted.
                    a[i] = a[i] / s[i] + 1.0;
                    e[i] = e[i] / s[i] + 2.0;
                    m[i] = m[i] / s[i] + 3.0;
                }
            }
            sum += a[3] + e[5] + m[9];
        }
        assert!(sum.is_finite() && sum > 0.0);
    })
}

/// §10: each path's two daily series (16 bytes a path-day) written to memory once and read back
/// once: the least any exact IRR of a daily series needs.
#[inline(always)]
fn series_memory(blocks: usize, days: usize, repeat: usize) -> f64 {
    let mut buf = vec![0.0f64; BLOCK * 2 * days + 8];
    best!(repeat, {
        let mut sum = 0.0f64;
        for b in 0..blocks {
            stream_series(&mut buf, days, b as f64);
            sum += read_back(&buf);
        }
        assert!(sum.is_finite() && sum > 0.0);
    })
}

/// The sum of every entry, in eight independent chains (one chain would be bound by the add's
/// latency, not by memory).
#[inline(always)]
fn read_back(buf: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    for c in buf.chunks_exact(8) {
        for j in 0..8 {
            acc[j] += c[j];
        }
    }
    acc.iter().sum()
}

/// Writes a block's two daily series (256 paths, `days` days, 16 bytes a path-day), a day's 256
/// paths after another (the engine groups eight paths to a cache line), with streaming stores where the CPU has them (the engine's
/// `put_line`), so the lines are not first read from memory.
#[inline(always)]
fn stream_series(buf: &mut [f64], days: usize, v: f64) {
    // Start on a cache line, as the engine's `SeriesBuf`.
    let off = buf.as_ptr().align_offset(64).min(8);
    let out = &mut buf[off..off + BLOCK * 2 * days];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_set1_pd, _mm_sfence, _mm_stream_pd};
        for (t, day) in out.chunks_exact_mut(BLOCK * 2).enumerate() {
            for pair in day.chunks_exact_mut(2) {
                // SAFETY: `pair` is two f64 at a 16-byte boundary (the buffer starts on a
                // cache line and every chunk is 16 bytes); SSE2 is part of x86_64.
                unsafe { _mm_stream_pd(pair.as_mut_ptr(), _mm_set1_pd(v + t as f64)) };
            }
        }
        // SAFETY: SSE2; orders the streaming stores before the reads that follow.
        unsafe { _mm_sfence() };
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (t, x) in out.chunks_exact_mut(BLOCK * 2).enumerate() {
        x.fill(v + t as f64);
    }
}
