//! Where the engine's time goes: the engine's parts on the default scenario, single thread, in
//! ns per path-day: the ChaCha8 words (four shocks a day), the normals made from them, and the
//! whole process with a payoff that reads one number a day. The main benchmark minus the last is
//! the cost of pricing `mine` and `convert`. Each result is checked inside its timed section.
//!
//! ```text
//! cargo run --release -p hashpivot-bench --bin engine_parts -- [--paths 20000]
//! ```

use std::time::Instant;

use hashpivot_model::engine::{
    fill_normals, BlockStream, Isa, LaneDay, NormalScratch, Prepared, BLOCK,
};
use hashpivot_model::Scenario;

fn main() {
    // The parts are compiled for the instruction set the engine picks (`HASHPIVOT_ISA` too), so
    // they measure the same code as the engine's lane loops.
    #[cfg(target_arch = "x86_64")]
    match hashpivot_model::engine::isa() {
        // SAFETY: `isa()` names only features the CPU has.
        Isa::Avx512 => unsafe { body_avx512() },
        // SAFETY: as above.
        Isa::Avx2 => unsafe { body_avx2() },
        Isa::Baseline => body(),
    }
    #[cfg(not(target_arch = "x86_64"))]
    body();
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
unsafe fn body_avx512() {
    body();
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn body_avx2() {
    body();
}

#[inline(always)]
fn body() {
    let args: Vec<String> = std::env::args().collect();
    let paths: usize = args
        .iter()
        .position(|a| a == "--paths")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let sc = Scenario::default();
    let prep = Prepared::new(&sc);
    let days = prep.n;
    let blocks = paths.div_ceil(BLOCK) as u64;
    let pd = (blocks as usize * BLOCK * days) as f64;
    let report = |name: &str, secs: f64, check: f64| {
        println!(
            "{name:<28} {:>7.2} ns/path-day  (check {check:.3e})",
            secs * 1e9 / pd
        );
    };
    // 1. Random words: four shocks a day, 256 lanes each.
    let t0 = Instant::now();
    let mut acc = 0u64;
    let mut words = vec![0u32; BLOCK];
    for b in 0..blocks {
        let mut rng = BlockStream::new(7, b);
        for _ in 0..days * 4 {
            rng.fill(&mut words);
            acc = acc.wrapping_add(words[3] as u64);
        }
    }
    assert!(acc != 0);
    report(
        "chacha8 words (4/day)",
        t0.elapsed().as_secs_f64(),
        acc as f64,
    );
    // 2. Normals: the words plus Box–Muller.
    let t0 = Instant::now();
    let mut z = vec![0f32; BLOCK];
    let mut scratch = NormalScratch::default();
    let mut sum = 0.0f64;
    for b in 0..blocks {
        let mut rng = BlockStream::new(7, b);
        for _ in 0..days * 4 {
            fill_normals(&mut rng, &mut scratch, &mut z, false);
            sum += z[5] as f64;
        }
    }
    assert!(sum.is_finite());
    report("normals (4/day)", t0.elapsed().as_secs_f64(), sum);
    // 3. The process with a consumer that reads one value a day.
    let t0 = Instant::now();
    let mut sum = 0.0f64;
    for b in 0..blocks {
        prep.run_block(7, b, BLOCK, false, &mut |d: &LaneDay| {
            sum += d.hv[0] * d.s[1]
        });
    }
    assert!(sum.is_finite() && sum > 0.0);
    report("process (no payoff)", t0.elapsed().as_secs_f64(), sum);
}
