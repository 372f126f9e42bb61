//! The per-path IRRs of `[finance]` (MODEL.md §10) alone: `irr_pair` on the AI and equity cash of
//! a levered lease, the default's shape (5,476 days: a year and a bit of capex, a 10-year loan,
//! rent escalating 3% a year, tenants defaulting on some series), on as many series pairs as a
//! 16,384-path run has. Each run's results are checked inside its timed section (every pair has
//! both roots, within the range a lease like this earns).
//!
//! ```text
//! cargo run --release -p hashpivot-bench --bin irr -- [--pairs 16384] [--repeat 5]
//! HASHPIVOT_ISA=avx2 cargo run --release -p hashpivot-bench --bin irr     # the AVX2 build
//! ```

use std::time::Instant;

use hashpivot_model::irr::irr_pair;

/// Days `0 ..= N` of the default (15 years), the last entry being the day-`N` terms.
const DAYS: usize = 5475;

/// A levered lease's AI and equity cash for series `k` (deterministic, varied by `k`).
fn series(k: usize) -> (Vec<f64>, Vec<f64>) {
    // A cheap deterministic spread of the risks: delay, overrun, default day.
    let h = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let frac = |s: u32| ((h >> s) & 0xFFFF) as f64 / 65536.0;
    let build = 365 + (frac(0) * 120.0) as usize;
    let capex = 7.3e9 * (1.0 + 0.3 * frac(16)) / build as f64;
    let rent = 1.0e9 / 365.0 * (0.9 + 0.2 * frac(32));
    let stop = if frac(48) < 0.3 {
        build + 1500 + (frac(40) * 3000.0) as usize
    } else {
        usize::MAX
    };
    let i = 1.0775f64.powf(1.0 / 365.0) - 1.0;
    let n = 3650.0;
    let loan = 0.8 * capex * build as f64;
    let q = loan * i / (1.0 - (1.0 + i).powf(-n));
    let mut ai = vec![0.0; DAYS + 1];
    let mut eq = vec![0.0; DAYS + 1];
    for t in 0..DAYS {
        let (c, o) = if t < build {
            (capex, 0.0)
        } else if t < stop || t >= stop + 365 {
            (0.0, rent * 1.03f64.powf((t - build) as f64 / 365.0))
        } else {
            (0.0, 0.0)
        };
        let pay = if t >= build && t < build + 3650 {
            q
        } else {
            0.0
        };
        ai[t] = o - c;
        eq[t] = o - c + 0.8 * c - pay;
    }
    let last_year: f64 = ai[DAYS - 365..DAYS].iter().sum();
    ai[DAYS] = 8.0 * last_year;
    eq[DAYS] = 8.0 * last_year;
    (ai, eq)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (pairs, repeat) = (arg("--pairs", 16384), arg("--repeat", 5));
    // Eight distinct series (a group of lanes, as `EquityBook` hands them over: in cache),
    // reused; the IRR's time hardly depends on which.
    let set: Vec<(Vec<f64>, Vec<f64>)> = (0..8).map(series).collect();
    let mut best = f64::INFINITY;
    for r in 0..repeat {
        let t0 = Instant::now();
        let mut sum = 0.0;
        for k in 0..pairs {
            let (a, e) = &set[k % set.len()];
            let (pa, pe) = irr_pair(a, e);
            let (pa, pe) = (pa.expect("a project IRR"), pe.expect("an equity IRR"));
            assert!(
                (-0.5..1.0).contains(&pa) && (-0.9..5.0).contains(&pe),
                "{pa} {pe}"
            );
            sum += pa + pe;
        }
        let secs = t0.elapsed().as_secs_f64();
        assert!(sum.is_finite());
        eprintln!(
            "run {}: {secs:.3} s, {:.2} us per pair (mean IRRs {:.4})",
            r + 1,
            secs * 1e6 / pairs as f64,
            sum / pairs as f64
        );
        best = best.min(secs);
    }
    println!(
        "{{\"bench\":\"irr_pair\",\"pairs\":{pairs},\"days\":{},\"best_seconds\":{best},\"us_per_pair\":{}}}",
        DAYS + 1,
        best * 1e6 / pairs as f64
    );
}
