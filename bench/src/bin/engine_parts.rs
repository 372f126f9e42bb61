//! Where the engine's time goes: the engine's parts on the default scenario, single thread, in
//! ns per path-day: the ChaCha8 words (four shocks a day), the normals made from them, and the
//! whole process with a payoff that reads one number a day. The main benchmark minus the last is
//! the cost of pricing `mine` and `convert`. Each result is checked inside its timed section.
//!
//! ```text
//! cargo run --release -p hashpivot-bench --bin engine_parts -- [--paths 20000]
//! ```
//!
//! Parts 4 and 5 are not the product: they measure how fast a *relaxed* engine could be on this
//! machine (issue 19 asks whether `f32` and cheaper random words would make the engine 3× faster).
//! Part 4 is a per-lane xoshiro128++ generator (about a tenth of ChaCha8's work per word, not a
//! keyed cryptographic stream); part 5 is the whole process of part 3 with those words, the same
//! `f32` Box–Muller normals, and the price, fees, hashrate and lease market stepped in `f32`
//! (only the height, the epoch and the difficulty stay `f64`: 24 bits cannot count blocks over
//! fifteen years). Its numbers would differ from the engine's in every path; it exists to bound
//! from below what an opt-in "fast" precision could gain.

use std::time::Instant;

use hashpivot_model::engine::{
    fill_normals, ln_unit_f32, sincos_turn_f32, BlockStream, LaneDay, NormalScratch, Prepared,
    BLOCK,
};
use hashpivot_model::Scenario;

// The parts are compiled for the instruction set the engine picks (`HASHPIVOT_ISA` too), so their
// lane loops are the engine's.
hashpivot_bench::main_for_engine_isa!(body);

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
    // 4. Relaxed floor: a per-lane xoshiro128++ word per shock instead of ChaCha8. (Part 1's loop
    // again, not a shared helper: a generator's `fill` passed as a closure or function is
    // compiled without the CPU's features, and ChaCha8's words then took 4.6–5.0 ns, not 1.4.)
    let t0 = Instant::now();
    let mut acc = 0u64;
    for b in 0..blocks {
        let mut g = Xoshiro::new(7, b);
        for _ in 0..days * 4 {
            g.fill(&mut words);
            acc = acc.wrapping_add(words[3] as u64);
        }
    }
    assert!(acc != 0);
    report(
        "xoshiro128++ words (4/day)",
        t0.elapsed().as_secs_f64(),
        acc as f64,
    );
    // 5. Relaxed floor: the process in f32 on those words.
    let t0 = Instant::now();
    let mut sum = 0.0f64;
    for b in 0..blocks {
        sum += relaxed_block(&prep, b);
    }
    assert!(sum.is_finite() && sum > 0.0);
    report("relaxed f32 process", t0.elapsed().as_secs_f64(), sum);
}

/// xoshiro128++ (Blackman and Vigna), one generator per lane, the lanes' states in arrays so
/// that a call is one vector loop: 256 words, one per lane. Seeded by SplitMix64 of (seed,
/// block, lane).
struct Xoshiro {
    s: [[u32; BLOCK]; 4],
}

impl Xoshiro {
    fn new(seed: u64, block: u64) -> Self {
        let mut s = [[0u32; BLOCK]; 4];
        for lane in 0..BLOCK {
            let mut z = seed ^ block.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ((lane as u64) << 32);
            for w in s.iter_mut() {
                z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut x = z;
                x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                w[lane] = ((x ^ (x >> 31)) >> 32) as u32 | 1;
            }
        }
        Xoshiro { s }
    }

    #[inline(always)]
    fn fill(&mut self, out: &mut [u32]) {
        let [s0, s1, s2, s3] = &mut self.s;
        let out = &mut out[..BLOCK];
        for i in 0..BLOCK {
            out[i] = s0[i].wrapping_add(s3[i]).rotate_left(7).wrapping_add(s0[i]);
            let t = s1[i] << 9;
            s2[i] ^= s0[i];
            s3[i] ^= s1[i];
            s1[i] ^= s2[i];
            s0[i] ^= s3[i];
            s2[i] ^= t;
            s3[i] = s3[i].rotate_left(11);
        }
    }
}

/// Box–Muller on 256 words into 256 normals, as `fill_normals` does (`f32` throughout).
#[inline(always)]
fn normals_of(words: &[u32], out: &mut [f32]) {
    const INV31: f32 = 1.0 / 2_147_483_648.0;
    let (w1, w2) = words[..BLOCK].split_at(BLOCK / 2);
    let (zc, zs) = out[..BLOCK].split_at_mut(BLOCK / 2);
    for p in 0..BLOCK / 2 {
        let u1 = (((w1[p] >> 1) as i32) as f32 + 0.5) * INV31;
        let u2 = (((w2[p] >> 1) as i32) as f32) * INV31;
        let rad = (-2.0 * ln_unit_f32(u1)).sqrt();
        let (sn, cs) = sincos_turn_f32(u2);
        zc[p] = rad * cs;
        zs[p] = rad * sn;
    }
}

/// `e^x` in `f32`: `2^k e^r`, `|r| ≤ ln 2 / 2`, Taylor to `r^6` (≈ 1 ulp): the `f32`
/// twin of `engine::fast_exp_mc`, for the prototype only.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let kf = x.mul_add(std::f32::consts::LOG2_E, MAGIC) - MAGIC;
    let r = (-kf).mul_add(-2.121_944_4e-4, (-kf).mul_add(0.693_359_4, x));
    let mut p: f32 = 1.0 / 720.0;
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    p = p.mul_add(r, 1.0);
    p = p.mul_add(r, 1.0);
    // The integer k from the rounding's bits (no saturating float-to-int conversion).
    let k = (kf + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32;
    p * f32::from_bits(((k + 127) as u32) << 23)
}

/// One block of the relaxed process (256 lanes, every day), the day's hashvalue summed as the
/// check. The default scenario's order of magnitude for every parameter (the figures do not
/// change the work, only the check).
#[inline(always)]
fn relaxed_block(prep: &Prepared, block: u64) -> f64 {
    const EPOCH: f64 = 2016.0;
    const K_BLOCKS: f64 = 144.0 * 600.0 * 1e12 / 4_294_967_296.0;
    let n = BLOCK;
    let mut g = Xoshiro::new(11, block);
    let mut words = vec![0u32; n];
    let (mut zs, mut zh, mut zf, mut z2) =
        (vec![0f32; n], vec![0f32; n], vec![0f32; n], vec![0f32; n]);
    let mut ln_s = vec![(87_000f32).ln(); n];
    let mut x = vec![(0.03f32).ln(); n];
    let mut ln_h = vec![(1.0e9f32).ln(); n];
    let mut ln_l = vec![0f32; n];
    let mut h = vec![925_000f64; n];
    let mut e_start = vec![923_000f64; n];
    let mut e_days = vec![3f64; n];
    let mut d = vec![1.5e14f64; n];
    let mut kb = vec![(K_BLOCKS / 1.5e14) as f32; n];
    let mut b = vec![0f32; n];
    let mut hv = vec![0f32; n];
    let mut hits = vec![0u8; n];
    let (sig_s, drift_s, sig_h, sig_f, fee_k, x_bar) = (
        0.027f32,
        0.0001f32,
        0.01f32,
        0.05f32,
        0.02f32,
        (0.03f32).ln(),
    );
    let (up_k, down_k, sig_l2, sig_ls, drift_l) = (0.01f32, 0.005f32, 0.01f32, 0.003f32, 0.0f32);
    let era_end = 1_050_000f64;
    let sub = 3.125f32;
    let mut check = 0.0f64;
    for t in 0..prep.n {
        let c_t = -9.0f32 + t as f32 * 1e-5;
        let mut split = false;
        // f32 loops and f64 loops apart: mixed, the vectorizer takes the f64 width (8 lanes).
        {
            let (ln_s, x, ln_h, kb) = (&ln_s[..n], &x[..n], &ln_h[..n], &kb[..n]);
            let (b, hv) = (&mut b[..n], &mut hv[..n]);
            for i in 0..n {
                let s = exp_f32(ln_s[i]);
                let fees = exp_f32(x[i]);
                b[i] = exp_f32(ln_h[i]) * kb[i];
                let r = sub + fees;
                hv[i] = r * kb[i] * s;
            }
        }
        {
            let (h, b) = (&h[..n], &b[..n]);
            for i in 0..n {
                split |= h[i] + b[i] as f64 > era_end;
            }
        }
        check += hv[1] as f64;
        for z in [&mut zs, &mut zh, &mut zf, &mut z2] {
            g.fill(&mut words);
            normals_of(&words, z);
        }
        let mut retarget = false;
        {
            let (h, b, e_start) = (&h[..n], &b[..n], &e_start[..n]);
            let (e_days, hit_of) = (&mut e_days[..n], &mut hits[..n]);
            for i in 0..n {
                let hit = h[i] + b[i] as f64 >= e_start[i] + EPOCH;
                retarget |= hit;
                hit_of[i] = hit as u8;
                e_days[i] = if hit { e_days[i] } else { e_days[i] + 1.0 };
            }
        }
        {
            let (zs, zh, zf, z2) = (&zs[..n], &zh[..n], &zf[..n], &z2[..n]);
            let (ln_h, ln_s, x, ln_l) =
                (&mut ln_h[..n], &mut ln_s[..n], &mut x[..n], &mut ln_l[..n]);
            for i in 0..n {
                let r = sub + exp_f32(x[i]);
                let ln_hstar = ln_unit_f32(r) + ln_s[i] + c_t;
                let k = if ln_hstar > ln_h[i] { up_k } else { down_k };
                ln_h[i] = k.mul_add(ln_hstar - ln_h[i], sig_h.mul_add(zh[i], ln_h[i]));
                ln_s[i] = sig_s.mul_add(zs[i], ln_s[i] + drift_s);
                x[i] = fee_k.mul_add(x_bar - x[i], sig_f.mul_add(zf[i], x[i]));
                ln_l[i] = sig_l2.mul_add(z2[i], sig_ls.mul_add(zs[i], ln_l[i] + drift_l));
            }
        }
        if retarget {
            for i in 0..n {
                if hits[i] != 0 {
                    let phi = (e_start[i] + EPOCH - h[i]) / b[i] as f64;
                    let span = e_days[i] + phi;
                    d[i] = d[i] * 14.0 / span.clamp(3.5, 56.0);
                    e_start[i] += EPOCH;
                    e_days[i] = 1.0 - phi;
                    kb[i] = (K_BLOCKS / d[i]) as f32;
                }
            }
        }
        for i in 0..n {
            h[i] += b[i] as f64;
        }
        if split {
            check += 1e-9;
        }
    }
    check + ln_l[0] as f64 * 1e-12
}
