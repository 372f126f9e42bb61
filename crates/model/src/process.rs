//! The daily market process of MODEL.md section 3 and its random stream.
//!
//! Kept apart (as QuantLib does): the *process* (the per-lane state of [`Prepared::run_block`]
//! and its daily step), the *random stream* ([`fill_normals`]: ChaCha8 keyed by `(seed, block)`
//! ([`BlockStream`], 16 ChaCha blocks per pass), Box–Muller in `f32`, optional antithetic pairs),
//! and the *payoffs* (the site cash flows of `crate::strategy::fixed`, the slices of `crate::payoff::slices`, one
//! machine in `crate::payback`). Every consumer drives paths through [`Prepared::run_block`], so
//! all of them see bit-identical paths for the same `(seed, block, lane)`.
//!
//! Speed: a block's paths are stepped together, day by day, with the state in structure-of-arrays
//! form; the per-lane loops use only plain IEEE arithmetic and fused multiply-adds ([`fast_exp`],
//! [`fast_ln`] instead of libm calls) so the compiler vectorizes them, and the results do not
//! depend on the vector width.

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::Scenario;

/// Paths per block. Each block has its own keyed random stream ([`BlockStream`]: the ChaCha8
/// keystream of `ChaCha8Rng::seed_from_u64(seed)` then `set_stream(block)`), so a result never depends on how blocks are spread over threads or
/// machines. Changing this constant changes the numbers for a seed. 256 lanes keep a block's
/// per-lane state (about 30 arrays of `f64`) in L1/L2 while stepping it day by day: 7% faster
/// than 1024 on the benchmark. Re-measured after the fused payoff and the faster ChaCha
/// (2026-11-24): 512 is 12% slower, 128 2% faster, not enough to change every published number.
pub const BLOCK: usize = 256;

/// `2^32`, the expected hashes per unit of difficulty.
pub const TWO32: f64 = hashpivot_chain::HASHES_PER_DIFFICULTY;

// Consensus facts have one owner, `hashpivot-chain`: the halving interval, the subsidy and the
// exact mean subsidy over a day that crosses a halving (the rare scalar split of the lane loop).
use hashpivot_chain::{mean_subsidy_btc, subsidy_btc, HALVING_INTERVAL};

/// Blocks per difficulty epoch.
pub const EPOCH_BLOCKS: f64 = 2016.0;

/// The market on day `t` for every lane (path) of a block, as the payoffs see it: values at the
/// start of the day. Every slice has one entry per lane.
#[derive(Debug, Clone, Copy)]
pub struct LaneDay<'a> {
    /// Day index, `0 .. N-1`.
    pub t: usize,
    /// BTC/USD.
    pub s: &'a [f64],
    /// Fees per block, BTC.
    pub fees: &'a [f64],
    /// Network hashrate, TH/s.
    pub hashrate_ths: &'a [f64],
    /// Difficulty.
    pub difficulty: &'a [f64],
    /// Height (real-valued).
    pub height: &'a [f64],
    /// Blocks mined during the day.
    pub blocks: &'a [f64],
    /// Mean subsidy of the day's blocks, BTC.
    pub subsidy: &'a [f64],
    /// Reward per block, BTC (`subsidy + fees`).
    pub reward: &'a [f64],
    /// BTC per TH/s per day.
    pub hv: &'a [f64],
    /// `ln L`: the AI lease market rate ($/kW-month) is `exp(ln_l)`.
    pub ln_l: &'a [f64],
}

/// Receives each day of a block (see [`Prepared::run_block`]). Implement it on a struct with an
/// `#[inline(always)]` `day` to have the per-day code compiled for the same instruction set as the
/// engine's loops. Closures work too, through the blanket impl, but a closure is its own function
/// with the features of the function that defines it: a big one stays baseline x86-64 unless it is
/// passed as `#[inline(always)] |d| …` to [`Prepared::run_block_with`] from a caller that
/// dispatches on [`Prepared::isa`] itself (as `crate::payoff::slices` does).
pub trait DayConsumer {
    /// Called once per day with the state of every lane at the start of the day.
    fn day(&mut self, d: &LaneDay);
}

impl<F: FnMut(&LaneDay)> DayConsumer for F {
    #[inline(always)]
    fn day(&mut self, d: &LaneDay) {
        self(d)
    }
}

/// Exact-enough `exp` (≤ 2 ulp on the range used here) written with plain IEEE arithmetic so
/// that loops over lanes vectorize, and so that scalar and vector code give the same bits.
#[inline(always)]
pub fn fast_exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // Cody–Waite split of ln 2 (fdlibm): LN2_HI has trailing zero bits so k·LN2_HI is exact.
    #[allow(clippy::excessive_precision)]
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
    #[allow(clippy::excessive_precision)]
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    // Round to nearest with the 1.5·2^52 trick (no SSE4.1 `round` needed).
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-708.0, 709.0);
    let kf = (x * LOG2E + MAGIC) - MAGIC;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    // Taylor series of exp(r) for |r| <= 0.347, to r^13 (truncation < 1e-17).
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^k from the bits of kf + MAGIC (its low bits hold k as an integer).
    let k = ((kf + MAGIC).to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    p * f64::from_bits(((k + 1023) as u64) << 52)
}

/// `exp` to ~2e-7 relative (Taylor to `r^6` after the same reduction as [`fast_exp`]), for
/// the random series (see `run_block_inline`): a rounding of 2e-7 is four orders of magnitude below
/// what a Monte Carlo mean resolves, and it costs seven fewer multiply-adds per lane than
/// [`fast_exp`]. Never used on a deterministic series (the zero-volatility references compare
/// to 1e-9 over 15 years). Written with fused multiply-adds (`mul_add`, one rounding each, the
/// same on every instruction set): 8% of the engine's time against the separate multiply and add.
#[inline(always)]
pub fn fast_exp_mc(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    #[allow(clippy::excessive_precision)]
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
    #[allow(clippy::excessive_precision)]
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-708.0, 709.0);
    let kf = x.mul_add(LOG2E, MAGIC) - MAGIC;
    let r = (-kf).mul_add(LN2_LO, (-kf).mul_add(LN2_HI, x));
    let mut p: f64 = 1.0 / 720.0;
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    p = p.mul_add(r, 1.0);
    p = p.mul_add(r, 1.0);
    let k = ((kf + MAGIC).to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    p * f64::from_bits(((k + 1023) as u64) << 52)
}

/// The range reduction of [`fast_ln`] and [`fast_ln_mc`]: `x = 2^e · m` with `m` in `[√½, √2)`,
/// returned as `(e, s)` with `s = (m - 1) / (m + 1)`, so `ln x = e ln 2 + 2 atanh(s)`, `|s| ≤ 0.1716`.
#[inline(always)]
fn ln_reduce(x: f64) -> (f64, f64) {
    let bits = x.to_bits();
    // Biased exponent as a float without an int→float conversion (vectorizes on SSE2).
    let e_biased =
        f64::from_bits(0x4330_0000_0000_0000 | ((bits >> 52) & 0x7ff)) - 4_503_599_627_370_496.0;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    let e = e_biased - 1023.0 + if big { 1.0 } else { 0.0 };
    (e, (m - 1.0) / (m + 1.0))
}

/// `ln` to ~1e-9 absolute (the `2 atanh` series of [`fast_ln`] to `s^9`, truncation below
/// `2·0.1716^11/11 < 7e-10`), for random inputs only, like [`fast_exp_mc`].
#[inline(always)]
pub fn fast_ln_mc(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let (e, s) = ln_reduce(x);
    let s2 = s * s;
    let mut p: f64 = 1.0 / 9.0;
    p = p.mul_add(s2, 1.0 / 7.0);
    p = p.mul_add(s2, 1.0 / 5.0);
    p = p.mul_add(s2, 1.0 / 3.0);
    e.mul_add(LN2, (2.0 * s * s2).mul_add(p, 2.0 * s))
}

/// `out[i] = exp(inp[i])`, with [`fast_exp_mc`] when `mc` (a random series) and [`fast_exp`]
/// otherwise; the choice is made once per pass so each loop vectorizes on its own.
#[inline(always)]
fn exp_lanes(out: &mut [f64], inp: &[f64], mc: bool) {
    let n = out.len().min(inp.len());
    let (out, inp) = (&mut out[..n], &inp[..n]);
    if mc {
        for i in 0..n {
            out[i] = fast_exp_mc(inp[i]);
        }
    } else {
        for i in 0..n {
            out[i] = fast_exp(inp[i]);
        }
    }
}

/// Exact-enough natural log of a positive normal `x` (≤ 2 ulp), vectorizable like [`fast_exp`].
#[inline(always)]
pub fn fast_ln(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let (e, s) = ln_reduce(x);
    let s2 = s * s;
    // 2 atanh(s) = 2 (s + s^3/3 + ...), |s| <= 0.1716, to s^21.
    let mut p = 1.0 / 21.0;
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    let lnm = 2.0 * s + 2.0 * s * s2 * p;
    e * LN2 + lnm
}

/// `(sin, cos)` of `2π u` for `u` in `[0, 1]`, in `f32` (16 lanes per AVX-512 vector):
/// quarter-turn reduction, Taylor to degree 9 (sin) and 10 (cos) on `[-π/4, π/4]` (truncation
/// below 2e-9, under half an `f32` ulp). IEEE arithmetic and fused multiply-adds only, so every
/// instruction set gives the same bits.
#[inline(always)]
pub fn sincos_turn_f32(u: f32) -> (f32, f32) {
    // Round to nearest with the 1.5·2^23 trick (no SSE4.1 `round` needed).
    const MAGIC: f32 = 12_582_912.0;
    let v = 4.0 * u;
    let qf = (v + MAGIC) - MAGIC;
    let r = (v - qf) * std::f32::consts::FRAC_PI_2;
    let r2 = r * r;
    let mut sp: f32 = 1.0 / 362_880.0;
    sp = sp.mul_add(r2, -1.0 / 5_040.0);
    sp = sp.mul_add(r2, 1.0 / 120.0);
    sp = sp.mul_add(r2, -1.0 / 6.0);
    let sin_r = (r * r2).mul_add(sp, r);
    let mut cp: f32 = -1.0 / 3_628_800.0;
    cp = cp.mul_add(r2, 1.0 / 40_320.0);
    cp = cp.mul_add(r2, -1.0 / 720.0);
    cp = cp.mul_add(r2, 1.0 / 24.0);
    cp = cp.mul_add(r2, -0.5);
    let cos_r = r2.mul_add(cp, 1.0);
    // Rotate by q quarter turns (q in 0..=4, 4 ≡ 0), with float selects only.
    let swap = qf == 1.0 || qf == 3.0;
    let a = if swap { cos_r } else { sin_r };
    let b = if swap { sin_r } else { cos_r };
    let s = if qf == 2.0 || qf == 3.0 { -a } else { a };
    let c = if qf == 1.0 || qf == 2.0 { -b } else { b };
    (s, c)
}

/// `ln x` for `x` in `(0, 1]` in `f32` (≤ 2 ulp of `f32`): exponent plus `2 atanh(s)` of the
/// mantissa folded into `[√½, √2)`, `|s| ≤ 0.1716`, series to `s^9`.
#[inline(always)]
pub fn ln_unit_f32(x: f32) -> f32 {
    let bits = x.to_bits();
    // Biased exponent as a float without an int→float conversion (vectorizes on SSE2).
    let e_biased = f32::from_bits(0x4b00_0000 | ((bits >> 23) & 0xff)) - 8_388_608.0;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    let e = e_biased - 127.0 + if big { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p: f32 = 1.0 / 9.0;
    p = p.mul_add(s2, 1.0 / 7.0);
    p = p.mul_add(s2, 1.0 / 5.0);
    p = p.mul_add(s2, 1.0 / 3.0);
    e.mul_add(std::f32::consts::LN_2, (2.0 * s * s2).mul_add(p, 2.0 * s))
}

/// Fills `out` with standard normals from the keyed stream: Box–Muller on 31-bit uniforms, two
/// `u32` words per pair (the block's `P` pairs take `2P` words: word `p` gives the radius of pair
/// `p`, word `P + p` its angle). `u1 = (k + ½)/2^31` from the top 31 bits is never 0, so
/// |z| ≤ 6.66 (the radius mass beyond is 2^-32). The transform runs in `f32` throughout (16
/// lanes per AVX-512 vector, cheap `ln`, `sqrt`, `sin/cos`; it was most of the engine's time in
/// `f64`): its ~1e-7 relative rounding is far below anything a Monte Carlo estimate resolves. Pair `p` gives
/// `out[p] = r cos θ` and `out[P + p] = r sin θ`. With `antithetic`, the normals of odd lanes are
/// the negated normals of the even lanes before.
#[inline(always)]
pub fn fill_normals(
    rng: &mut BlockStream,
    scratch: &mut NormalScratch,
    out: &mut [f32],
    antithetic: bool,
) {
    let lanes = out.len();
    let m = if antithetic { lanes.div_ceil(2) } else { lanes };
    let pairs = m.div_ceil(2);
    scratch.words.resize(2 * pairs, 0);
    rng.fill(&mut scratch.words[..]);
    // Straight into `out` when it takes exactly the pairs (the usual case).
    let direct = !antithetic && lanes == 2 * pairs;
    if !direct {
        scratch.z.resize(2 * pairs, 0.0);
    }
    const INV31: f32 = 1.0 / 2_147_483_648.0;
    {
        let (w1, w2) = scratch.words[..2 * pairs].split_at(pairs);
        let (w1, w2) = (&w1[..pairs], &w2[..pairs]);
        let z: &mut [f32] = if direct {
            out
        } else {
            &mut scratch.z[..2 * pairs]
        };
        let (zc, zs) = z.split_at_mut(pairs);
        let (zc, zs) = (&mut zc[..pairs], &mut zs[..pairs]);
        for p in 0..pairs {
            // i32 → f32 is one instruction on every x86-64 (u32 → f32 is not); exact below 2^24,
            // so the small u1 of the tails keep all their bits. u1 in (0, 1] (1 gives r = 0).
            let u1 = (((w1[p] >> 1) as i32) as f32 + 0.5) * INV31;
            let u2 = (((w2[p] >> 1) as i32) as f32) * INV31;
            let rad = (-2.0 * ln_unit_f32(u1)).sqrt();
            let (sn, cs) = sincos_turn_f32(u2);
            zc[p] = rad * cs;
            zs[p] = rad * sn;
        }
    }
    if direct {
        return;
    }
    let z = &scratch.z[..2 * pairs];
    if antithetic {
        for (o, &g) in out.chunks_mut(2).zip(z.iter()) {
            o[0] = g;
            if o.len() > 1 {
                o[1] = -g;
            }
        }
    } else {
        out.copy_from_slice(&z[..lanes]);
    }
}

/// Reusable buffers of [`fill_normals`].
#[derive(Debug, Clone, Default)]
pub struct NormalScratch {
    words: Vec<u32>,
    z: Vec<f32>,
}

/// What the machines pay for power on one day: the single place where an hourly power model plugs
/// into the engine (see [`Prepared::day_power`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayPower {
    /// Fraction of the day the machines hash.
    pub uptime: f64,
    /// Average price paid for the energy used, $/MWh.
    pub usd_mwh: f64,
}

/// Instruction sets the lane loops are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Baseline x86-64 (SSE2) or any other architecture.
    Baseline,
    /// AVX2 + FMA (x86-64).
    Avx2,
    /// AVX-512 F + DQ (x86-64).
    Avx512,
}

/// The best instruction set of this CPU, or the one named by the environment variable
/// `HASHPIVOT_ISA` (`baseline`, `avx2`, `avx512`; capped at what the CPU has). [`Prepared::new`]
/// records it and [`Prepared::run_block`] runs the lane loops built for it; the tests and the
/// benchmark set the variable to check that every variant gives the same bits.
pub fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        let has512 =
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq");
        let has2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        let best = if has512 {
            Isa::Avx512
        } else if has2 {
            Isa::Avx2
        } else {
            Isa::Baseline
        };
        match std::env::var("HASHPIVOT_ISA").as_deref() {
            Ok("baseline") => Isa::Baseline,
            Ok("avx2") if has2 => Isa::Avx2,
            _ => best,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Isa::Baseline
    }
}

/// The keyed random stream of one block: `ChaCha8Rng::seed_from_u64(seed)` then
/// `set_stream(block)`.
pub fn block_rng(seed: u64, block: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(block);
    rng
}

/// The ChaCha8 keystream of one block, generated 16 ChaCha blocks (1 KiB) at a time with the
/// 16 blocks in lanes, so the rounds run as plain `u32` lane loops that the compiler vectorizes
/// (one AVX-512 vector holds a word of all 16 blocks; `rand_chacha` computes 4 blocks per AVX2
/// pass and was a fifth of the engine's time).
///
/// The key, nonce and counter are those of [`block_rng`]`(seed, block)` (key from
/// `seed_from_u64`, stream `block`, block counter from 0), so ChaCha block `c` is exactly
/// `rand_chacha`'s block `c`; only the order in which words are handed out differs: each group of
/// 16 blocks `16g .. 16g+15` yields word 0 of all 16 blocks, then word 1 of all 16, and so on
/// (a fixed permutation of the keystream: the words are just as uniform and independent).
#[derive(Debug, Clone)]
pub struct BlockStream {
    /// The ChaCha input block of the next 16 blocks, word-major (`input[w][l]` is word `w` of
    /// block `counter + l`): constants, key, counter, nonce.
    input: [[u32; 16]; 16],
    /// Next ChaCha block counter.
    counter: u64,
    buf: [u32; 256],
    /// Next unread word of `buf` (256 = empty).
    pos: usize,
}

impl BlockStream {
    /// The stream of block `block` for `seed`.
    pub fn new(seed: u64, block: u64) -> Self {
        const C: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];
        let s = block_rng(seed, block).get_seed();
        let mut input = [[0u32; 16]; 16];
        for w in 0..4 {
            input[w] = [C[w]; 16];
        }
        for (w, c) in s.chunks_exact(4).enumerate() {
            input[4 + w] = [u32::from_le_bytes([c[0], c[1], c[2], c[3]]); 16];
        }
        input[14] = [block as u32; 16];
        input[15] = [(block >> 32) as u32; 16];
        let mut bs = BlockStream {
            input,
            counter: 0,
            buf: [0; 256],
            pos: 256,
        };
        bs.set_counter(0);
        bs
    }

    /// Sets the counter words of the input block to blocks `counter .. counter + 16`.
    #[inline(always)]
    fn set_counter(&mut self, counter: u64) {
        self.counter = counter;
        for l in 0..16 {
            let c = counter.wrapping_add(l as u64);
            self.input[12][l] = c as u32;
            self.input[13][l] = (c >> 32) as u32;
        }
    }

    /// The next 16 ChaCha blocks into `out`.
    #[inline(always)]
    fn next16(&mut self, out: &mut [u32; 256]) {
        chacha8_x16(&self.input, out);
        self.set_counter(self.counter.wrapping_add(16));
    }

    /// Skips the next `n` words of the stream: the state [`BlockStream::fill`] of `n` words
    /// leaves, without computing the ChaCha blocks wholly skipped (the counter jumps over them).
    #[inline(always)]
    pub fn skip(&mut self, mut n: usize) {
        let left = 256 - self.pos;
        if n <= left {
            self.pos += n;
            return;
        }
        n -= left;
        self.pos = 256;
        self.set_counter(self.counter.wrapping_add(16 * (n / 256) as u64));
        let rest = n % 256;
        if rest > 0 {
            let mut buf = [0u32; 256];
            self.next16(&mut buf);
            self.buf = buf;
            self.pos = rest;
        }
    }

    /// Fills `out` with the next words of the stream.
    #[inline(always)]
    pub fn fill(&mut self, out: &mut [u32]) {
        let mut out = out;
        // Leftover words of the last group first.
        if self.pos < 256 {
            let k = (256 - self.pos).min(out.len());
            out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            out = &mut out[k..];
        }
        let mut chunks = out.chunks_exact_mut(256);
        for c in &mut chunks {
            let c: &mut [u32; 256] = c.try_into().expect("chunk of 256");
            self.next16(c);
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let mut buf = [0u32; 256];
            self.next16(&mut buf);
            self.buf = buf;
            let k = rest.len();
            rest.copy_from_slice(&self.buf[..k]);
            self.pos = k;
        }
    }
}

/// ChaCha with 8 rounds (RFC 8439's block function with 4 double rounds, 64-bit counter in words
/// 12–13, 64-bit nonce in words 14–15, as `rand_chacha`) of blocks `counter .. counter + 16`,
/// written word-major: `out[16 w + l]` is word `w` of block `counter + l`.
///
/// `input` is the input block of the 16 ChaCha blocks, word-major (`input[w][l]`), with the
/// counter words already set: the rounds start from a copy of it and add it back at the end, both
/// as plain vector loads. (Building the input inside, with a `match` on the word index, made LLVM
/// emit gathers and scatters that cost as much as the rounds.)
#[inline(always)]
fn chacha8_x16(input: &[[u32; 16]; 16], out: &mut [u32; 256]) {
    let mut x = *input;
    #[inline(always)]
    fn qr(x: &mut [[u32; 16]; 16], a: usize, b: usize, c: usize, d: usize) {
        for l in 0..16 {
            x[a][l] = x[a][l].wrapping_add(x[b][l]);
            x[d][l] = (x[d][l] ^ x[a][l]).rotate_left(16);
            x[c][l] = x[c][l].wrapping_add(x[d][l]);
            x[b][l] = (x[b][l] ^ x[c][l]).rotate_left(12);
            x[a][l] = x[a][l].wrapping_add(x[b][l]);
            x[d][l] = (x[d][l] ^ x[a][l]).rotate_left(8);
            x[c][l] = x[c][l].wrapping_add(x[d][l]);
            x[b][l] = (x[b][l] ^ x[c][l]).rotate_left(7);
        }
    }
    for _ in 0..4 {
        qr(&mut x, 0, 4, 8, 12);
        qr(&mut x, 1, 5, 9, 13);
        qr(&mut x, 2, 6, 10, 14);
        qr(&mut x, 3, 7, 11, 15);
        qr(&mut x, 0, 5, 10, 15);
        qr(&mut x, 1, 6, 11, 12);
        qr(&mut x, 2, 7, 8, 13);
        qr(&mut x, 3, 4, 9, 14);
    }
    // One flat loop: as a 16 × 16 nest LLVM vectorized the outer loop with gathers and scatters.
    let (xf, inf) = (x.as_flattened(), input.as_flattened());
    for i in 0..256 {
        out[i] = xf[i].wrapping_add(inf[i]);
    }
}

/// A stream's discounting in its two parts (MODEL.md §5): the daily factor
/// `df[t] = (1 + r)^(-(t+1)/365)` and the terminal value, `tv` times the undiscounted cash of days
/// `first_tv .. N` (`tv = site.terminal_multiple · (1 + r)^(-(N+1)/365)`). Version 1 folds the two
/// into one weight per day ([`Discount::folded`], the same numbers as `Prepared::w_mining`); the
/// BTC view (§11) needs them apart, because the terminal value is converted at `S_{N-1}`, not at
/// each day's price.
#[derive(Debug, Clone, PartialEq)]
pub struct Discount {
    /// `(1 + r)^(-(t+1)/365)` for `t = 0 .. N-1`.
    pub df: Vec<f64>,
    /// Terminal factor on each of the last 365 days' cash.
    pub tv: f64,
    /// First day whose cash counts in the terminal value, `max(N − 365, 0)`.
    pub first_tv: usize,
}

impl Discount {
    /// The discounting of `n` days at `rate` with the terminal multiple `multiple`.
    pub fn new(rate: f64, multiple: f64, n: usize) -> Discount {
        Discount {
            df: (0..n)
                .map(|t| (1.0 + rate).powf(-((t + 1) as f64) / 365.0))
                .collect(),
            tv: multiple * (1.0 + rate).powf(-((n + 1) as f64) / 365.0),
            first_tv: n.saturating_sub(365),
        }
    }

    /// One weight per day, `df[t]` plus `tv` on the last 365 days.
    pub fn folded(&self) -> Vec<f64> {
        self.df
            .iter()
            .enumerate()
            .map(|(t, &df)| if t >= self.first_tv { df + self.tv } else { df })
            .collect()
    }
}

/// Per-run constants of the process: computed once, shared by every path and thread.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Days simulated, `round(horizon_years * 365)`.
    pub n: usize,
    /// Frontier / marginal efficiency `η_t`, J/TH.
    pub eta: Vec<f64>,
    /// Site power price `p_t`, $/MWh.
    pub power_price: Vec<f64>,
    /// `[power] hourly`: the duration curve of the hourly price series, built once per run, or
    /// `None` for MODEL.md's flat price (see [`crate::power`]).
    pub power_curve: Option<std::sync::Arc<crate::power::DurationCurve>>,
    /// Escalation factor of day `t`, `(1 + site.power_escalator)^(t/365)`: `p_t = price × this`,
    /// and the hourly curve is scaled by it too.
    pub power_scale: Vec<f64>,
    /// Mining weights: discount factor `(1+r_m)^(-(t+1)/365)`, plus the terminal multiple times the
    /// day-`N` factor on the last 365 days (terminal value folded into the daily weights).
    pub w_mining: Vec<f64>,
    /// AI weights, as `w_mining` with the AI discount rate (`Scenario::ai_discount_rate`: the
    /// lease's or the GPU cloud's).
    pub w_ai: Vec<f64>,
    /// `ln(power_share * 144 * 1e6 / (η_t * 24 * marginal_power))`: `ln H*_t = ln R + ln S + this`.
    ln_hstar_c: Vec<f64>,
    s0: f64,
    x0: f64,
    x_bar: f64,
    h0: f64,
    d0: f64,
    height0: f64,
    e_start0: f64,
    e_days0: f64,
    l0: f64,
    price_drift_dt: f64,
    price_sig: f64,
    fee_k: f64,
    fee_sig: f64,
    up_k: f64,
    down_k: f64,
    hash_sig: f64,
    lease_drift_dt: f64,
    lease_sig_s: f64,
    lease_sig_2: f64,
    draw_s: bool,
    draw_h: bool,
    draw_f: bool,
    draw_2: bool,
    /// Instruction set the lane loops run with ([`isa`] when the constants were derived).
    pub isa: Isa,
    /// The scenario the constants were derived from.
    pub scenario: Scenario,
}

const DT: f64 = 1.0 / 365.0;

impl Prepared {
    /// Derives the constants. The scenario must be valid (see `Scenario::validate`).
    pub fn new(sc: &Scenario) -> Self {
        let n = sc.days();
        let sq = DT.sqrt();
        let hr = &sc.hashrate;
        let eta: Vec<f64> = (0..n)
            .map(|t| {
                hr.efficiency_floor_jth.max(
                    hr.marginal_efficiency_jth
                        * (1.0 - hr.efficiency_decline).powf(t as f64 / 365.0),
                )
            })
            .collect();
        let ln_hstar_c = eta
            .iter()
            .map(|&e| (hr.power_share * 144.0 * 1e6 / (e * 24.0 * hr.marginal_power_usd_mwh)).ln())
            .collect();
        let power_scale: Vec<f64> = (0..n)
            .map(|t| (1.0 + sc.site.power_escalator).powf(t as f64 / 365.0))
            .collect();
        let power_price = power_scale
            .iter()
            .map(|f| sc.site.power_usd_mwh * f)
            .collect();
        // `Scenario::validate` has checked the source (`power::check_source`), so this cannot fail
        // for a validated scenario.
        let power_curve = sc
            .power
            .as_ref()
            .and_then(|p| p.hourly.as_deref())
            .and_then(|h| crate::power::curve_from_source(h).ok())
            .map(std::sync::Arc::new);
        let weights =
            |r: f64| -> Vec<f64> { Discount::new(r, sc.site.terminal_multiple, n).folded() };
        let d0 = sc.chain.difficulty;
        let h0 = match sc.chain.hashrate_ehs {
            Some(e) => e * 1e6,
            None => d0 * TWO32 / 600.0 / 1e12,
        };
        let height0 = sc.chain.height as f64;
        let e_start0 = (sc.chain.height - sc.chain.height % 2016) as f64;
        let e_days0 = sc
            .chain
            .epoch_elapsed_days
            .unwrap_or((height0 - e_start0) / 144.0);
        let rho = sc.ai.lease_price_corr;
        let lv = sc.ai.lease_vol;
        Prepared {
            n,
            eta,
            power_price,
            power_curve,
            power_scale,
            w_mining: weights(sc.mining.discount_rate),
            w_ai: weights(sc.ai_discount_rate()),
            ln_hstar_c,
            s0: sc.price.spot,
            x0: sc.fees.btc_per_block.ln(),
            x_bar: sc.fees.btc_per_block.ln(),
            h0,
            d0,
            height0,
            e_start0,
            e_days0,
            l0: sc.ai.lease_usd_per_kw_month,
            price_drift_dt: (sc.price.drift - 0.5 * sc.price.vol * sc.price.vol) * DT,
            price_sig: sc.price.vol * sq,
            fee_k: sc.fees.speed * DT,
            fee_sig: sc.fees.vol * sq,
            up_k: hr.speed_up * DT,
            down_k: hr.speed_down * DT,
            hash_sig: hr.vol * sq,
            lease_drift_dt: (sc.ai.lease_drift - 0.5 * lv * lv) * DT,
            lease_sig_s: lv * sq * rho,
            lease_sig_2: lv * sq * (1.0 - rho * rho).max(0.0).sqrt(),
            // Draw only the shocks that move something: with a volatility of zero the shock is
            // multiplied by zero anyway, and skipping it keeps zero-volatility runs cheap. (This is
            // why turning one volatility on changes the other series' draws for a seed.)
            draw_s: sc.price.vol > 0.0 || (lv > 0.0 && rho != 0.0),
            draw_h: hr.vol > 0.0,
            draw_f: sc.fees.vol > 0.0,
            draw_2: lv > 0.0 && rho.abs() < 1.0,
            isa: isa(),
            scenario: sc.clone(),
        }
    }

    /// The uptime and the average power price of the mining fleet on day `t`. MODEL.md section 4
    /// (flat power): `mining.uptime` of the day at the site price `p_t`; a batch is then switched
    /// off for the whole day when `mining.curtail` is on and its revenue is below that cost.
    ///
    /// Every payoff (strategies, slices, payback) gets its power terms from here. With
    /// `[power] hourly` ([`Prepared::power_curve`]) the payoffs price each machine type on the
    /// curve instead (`crate::power::UnitDay`): it runs in the hours whose price (× the day's
    /// escalation) is at most its break-even and pays their mean; `uptime` stays the availability.
    #[inline(always)]
    pub fn day_power(&self, t: usize) -> DayPower {
        DayPower {
            uptime: self.scenario.mining.uptime,
            usd_mwh: self.power_price[t],
        }
    }

    /// Simulates `lanes` (≤ [`BLOCK`]) paths of block `block` day by day, calling `f` with the
    /// state of every lane at the start of each day `t = 0 .. N-1` (MODEL.md section 3), then
    /// stepping the state. The shocks of a day are drawn from the block's keyed stream in the fixed
    /// order `Z_S, Z_H, Z_F, Z_2` (each for all lanes, and only when it moves something);
    /// `Z_L = ρ Z_S + √(1-ρ²) Z_2`. Lane `i` of block `b` is path `b * BLOCK + i` of a run.
    ///
    /// The same code is compiled for AVX-512, AVX2 and baseline x86-64 and picked at run time
    /// ([`Prepared::isa`]); all three perform the same IEEE operations, so the numbers are
    /// bit-identical on every machine: Rust never fuses `a * b + c` on its own, and the explicit
    /// `mul_add`s of the random series are single-rounding fused multiply-adds everywhere (FMA
    /// instructions with AVX2 and AVX-512 and on aarch64; on x86-64 CPUs without FMA, made before
    /// 2013 or Atom-class, the C library's correctly rounded software `fma`, which makes the
    /// engine about 14× slower there, with the same results).
    pub fn run_block<C: DayConsumer + ?Sized>(
        &self,
        seed: u64,
        block: u64,
        lanes: usize,
        antithetic: bool,
        f: &mut C,
    ) {
        #[cfg(target_arch = "x86_64")]
        match self.isa {
            Isa::Avx512 => {
                // SAFETY: `isa()` returns `Avx512` only when the CPU has the features enabled on
                // the callee.
                unsafe { self.run_block_avx512(seed, block, lanes, antithetic, f) };
                return;
            }
            Isa::Avx2 => {
                // SAFETY: as above, for `Avx2`.
                unsafe { self.run_block_avx2(seed, block, lanes, antithetic, f) };
                return;
            }
            Isa::Baseline => {}
        }
        self.run_block_inline(seed, block, lanes, antithetic, f)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
    unsafe fn run_block_avx512<C: DayConsumer + ?Sized>(
        &self,
        seed: u64,
        block: u64,
        lanes: usize,
        antithetic: bool,
        f: &mut C,
    ) {
        self.run_block_inline(seed, block, lanes, antithetic, f)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_block_avx2<C: DayConsumer + ?Sized>(
        &self,
        seed: u64,
        block: u64,
        lanes: usize,
        antithetic: bool,
        f: &mut C,
    ) {
        self.run_block_inline(seed, block, lanes, antithetic, f)
    }

    /// [`Prepared::run_block_inline`] with the consumer by value, so that a closure can be
    /// passed with `#[inline(always)]` (allowed on a call's argument): the closure is then
    /// inlined into the day loop and compiled for the instruction set of the caller's
    /// `#[target_feature]` function, instead of as its own baseline x86-64 function.
    #[inline(always)]
    pub fn run_block_with<C: DayConsumer>(
        &self,
        seed: u64,
        block: u64,
        lanes: usize,
        antithetic: bool,
        mut f: C,
    ) {
        self.run_block_inline(seed, block, lanes, antithetic, &mut f)
    }

    /// One day of the lease market (MODEL.md §3, step 5): `ln L` after the day's price shock `zs`
    /// and the lease's own shock `z2`. The one place both runs step it.
    #[inline(always)]
    fn lease_step(&self, ln_l: f64, zs: f32, z2: f32) -> f64 {
        self.lease_sig_2.mul_add(
            z2 as f64,
            self.lease_sig_s
                .mul_add(zs as f64, ln_l + self.lease_drift_dt),
        )
    }

    /// The lease market index alone, `ln L` of each day of block `block` (what
    /// [`LaneDay::ln_l`] holds on day `t`), for `f(t, ln_l)`: the same bits as the whole run
    /// ([`Prepared::run_block_inline`]), at a fraction of its cost. `ln L` moves only with the
    /// price shock and its own (MODEL.md §8), so the hashrate's and the fees' normals are skipped
    /// in the stream ([`BlockStream::skip`]: the words they would take, not computed) and the
    /// price, hashrate, fees and difficulty are not stepped. Always inlined, as
    /// `run_block_inline`.
    #[inline(always)]
    pub fn run_lease_inline(
        &self,
        (seed, block, lanes, antithetic): (u64, u64, usize, bool),
        mut f: impl FnMut(usize, &[f64]),
    ) {
        let n = lanes.min(BLOCK);
        let mut rng = BlockStream::new(seed, block);
        let mut scratch = NormalScratch::default();
        let mut ln_l = vec![self.l0.ln(); n];
        let (mut zs, mut z2) = (vec![0f32; n], vec![0f32; n]);
        // The words one series of normals takes a day (`fill_normals`: two per pair).
        let m = if antithetic { n.div_ceil(2) } else { n };
        let words = 2 * m.div_ceil(2);
        for t in 0..self.n {
            f(t, &ln_l);
            // The draws in the whole run's order.
            if self.draw_s {
                fill_normals(&mut rng, &mut scratch, &mut zs, antithetic);
            }
            if self.draw_h {
                rng.skip(words);
            }
            if self.draw_f {
                rng.skip(words);
            }
            if self.draw_2 {
                fill_normals(&mut rng, &mut scratch, &mut z2, antithetic);
            }
            let (zs, z2, ln_l) = (&zs[..n], &z2[..n], &mut ln_l[..n]);
            for i in 0..n {
                ln_l[i] = self.lease_step(ln_l[i], zs[i], z2[i]);
            }
        }
    }

    /// [`Prepared::run_block`] without the CPU dispatch, always inlined: for callers that dispatch
    /// themselves so that their own per-day code (a closure defined inside a
    /// `#[target_feature]` function inherits its features) is compiled for the same CPU.
    #[inline(always)]
    pub fn run_block_inline<C: DayConsumer + ?Sized>(
        &self,
        seed: u64,
        block: u64,
        lanes: usize,
        antithetic: bool,
        f: &mut C,
    ) {
        let n = lanes.min(BLOCK);
        let mut rng = BlockStream::new(seed, block);
        let mut scratch = NormalScratch::default();
        let v = |x: f64| vec![x; n];
        let mut ln_s = v(self.s0.ln());
        let mut x = v(self.x0);
        let mut ln_h = v(self.h0.ln());
        let mut d = v(self.d0);
        let mut h = v(self.height0);
        let mut e_start = v(self.e_start0);
        let mut e_days = v(self.e_days0);
        let mut ln_l = v(self.l0.ln());
        let era0 =
            ((self.height0 / HALVING_INTERVAL as f64).floor() + 1.0) * HALVING_INTERVAL as f64;
        let mut era_end = v(era0);
        let mut era_sub = v(subsidy_btc(self.height0.floor() as u64));
        let (mut s, mut fees, mut hr, mut b, mut sub, mut r, mut hv) =
            (v(0.0), v(0.0), v(0.0), v(0.0), v(0.0), v(0.0), v(0.0));
        // Shocks stay `f32` (as drawn) until used: half the memory traffic.
        let (mut zs, mut zh, mut zf, mut z2) =
            (vec![0f32; n], vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        const K_BLOCKS: f64 = 144.0 * 600.0 * 1e12 / TWO32;
        // Blocks per TH/s per day at the lane's difficulty, `144 · 600 · 1e12 / (D · 2^32)`, which is
        // also BTC per TH/s per day per BTC of reward (`86400 · 1e12 / (D · 2^32)`, the same
        // number): it changes only at a retarget, so the division leaves the daily loop.
        let mut kb = v(K_BLOCKS / self.d0);
        let mut hits = vec![0u8; n];
        // Without fee volatility `x` stays at its long-run level exactly (x0 = ln btc_per_block).
        let fee_const = self.fee_sig == 0.0;
        let fee_fixed = fast_exp(self.x0);
        // Series with drawn shocks take the cheaper `exp`/`ln` (see [`fast_exp_mc`]); a series
        // without randomness keeps the ≤ 2 ulp ones. The hashrate is random as soon as any
        // series that drives it is; `ln r` as soon as the fees are.
        let price_mc = self.price_sig > 0.0;
        let hash_mc = self.hash_sig > 0.0 || self.price_sig > 0.0 || !fee_const;
        let ln_r_mc = !fee_const;
        for t in 0..self.n {
            // Derived quantities of the day (vectorized over lanes). Re-slicing to `n` lets the
            // compiler drop the bounds checks, which would otherwise block vectorization.
            let mut split = false;
            {
                let (ln_s, x, ln_h, kb, era_sub) =
                    (&ln_s[..n], &x[..n], &ln_h[..n], &kb[..n], &era_sub[..n]);
                let (h, era_end) = (&h[..n], &era_end[..n]);
                let (s, fees, hr, b, sub) = (
                    &mut s[..n],
                    &mut fees[..n],
                    &mut hr[..n],
                    &mut b[..n],
                    &mut sub[..n],
                );
                let (r, hv) = (&mut r[..n], &mut hv[..n]);
                exp_lanes(s, ln_s, price_mc);
                if fee_const {
                    fees.fill(fee_fixed);
                } else {
                    exp_lanes(fees, x, true);
                }
                // The hashrate's `exp` in the same pass as what it feeds, and each value kept in
                // a local as well as stored: read back from its slice (stored by a pass just
                // before, or reloaded after the next store because the compiler cannot tell the
                // slices apart), every lane waited on a store-to-load round trip. Expanded once
                // per `exp`, as the step loop below is per `ln`.
                macro_rules! reward {
                    ($exp:path) => {
                        for i in 0..n {
                            let hri = $exp(ln_h[i]);
                            hr[i] = hri;
                            let bi = hri * kb[i];
                            b[i] = bi;
                            let si = era_sub[i];
                            sub[i] = si;
                            split |= h[i] + bi > era_end[i];
                            let ri = si + fees[i];
                            r[i] = ri;
                            // `kb` is also BTC per TH/s per day per BTC of reward (see above).
                            hv[i] = ri * kb[i];
                        }
                    };
                }
                if hash_mc {
                    reward!(fast_exp_mc);
                } else {
                    reward!(fast_exp);
                }
            }
            // Halving inside the day: exact split (rare, scalar), and the reward from it.
            for i in 0..if split { n } else { 0 } {
                if h[i] + b[i] > era_end[i] {
                    sub[i] = mean_subsidy_btc(h[i], b[i]);
                    r[i] = sub[i] + fees[i];
                    hv[i] = r[i] * kb[i];
                }
            }
            f.day(&LaneDay {
                t,
                s: &s,
                fees: &fees,
                hashrate_ths: &hr,
                difficulty: &d,
                height: &h,
                blocks: &b,
                subsidy: &sub,
                reward: &r,
                hv: &hv,
                ln_l: &ln_l,
            });
            if self.draw_s {
                fill_normals(&mut rng, &mut scratch, &mut zs, antithetic);
            }
            if self.draw_h {
                fill_normals(&mut rng, &mut scratch, &mut zh, antithetic);
            }
            if self.draw_f {
                fill_normals(&mut rng, &mut scratch, &mut zf, antithetic);
            }
            if self.draw_2 {
                fill_normals(&mut rng, &mut scratch, &mut z2, antithetic);
            }
            let c_t = self.ln_hstar_c[t];
            // The two speeds as locals: selected between fields of `self`, the choice was
            // compiled as a gather of one of two addresses per lane (slow), not a blend.
            let (up_k, down_k) = (self.up_k, self.down_k);
            let mut retarget = false;
            {
                let (h, b, r, e_start) = (&h[..n], &b[..n], &r[..n], &e_start[..n]);
                let (zs, zh, zf, z2) = (&zs[..n], &zh[..n], &zf[..n], &z2[..n]);
                let (e_days, hit_of) = (&mut e_days[..n], &mut hits[..n]);
                let (ln_h, ln_s, x, ln_l) =
                    (&mut ln_h[..n], &mut ln_s[..n], &mut x[..n], &mut ln_l[..n]);
                // The step loop, written once and expanded for each `ln`: a choice inside the loop
                // was if-converted by the vectorizer, which then computed both.
                macro_rules! step {
                    ($ln:path) => {
                        for i in 0..n {
                            // 1. Epoch: a lane that completes its epoch today is retargeted
                            // below (rare, scalar); the others count one more day.
                            let hit = h[i] + b[i] >= e_start[i] + EPOCH_BLOCKS;
                            retarget |= hit;
                            hit_of[i] = hit as u8;
                            e_days[i] = if hit { e_days[i] } else { e_days[i] + 1.0 };
                            // 2. Hashrate toward the break-even hashrate, asymmetric speeds.
                            let ln_r = $ln(r[i]);
                            let ln_hstar = ln_r + ln_s[i] + c_t;
                            let k = if ln_hstar > ln_h[i] { up_k } else { down_k };
                            ln_h[i] = k.mul_add(
                                ln_hstar - ln_h[i],
                                self.hash_sig.mul_add(zh[i] as f64, ln_h[i]),
                            );
                            // 3. Price.
                            ln_s[i] = self
                                .price_sig
                                .mul_add(zs[i] as f64, ln_s[i] + self.price_drift_dt);
                            // 4. Fees.
                            x[i] = self.fee_k.mul_add(
                                self.x_bar - x[i],
                                self.fee_sig.mul_add(zf[i] as f64, x[i]),
                            );
                            // 5. Lease market.
                            ln_l[i] = self.lease_step(ln_l[i], zs[i], z2[i]);
                        }
                    };
                }
                if ln_r_mc {
                    step!(fast_ln_mc);
                } else {
                    step!(fast_ln);
                }
            }
            // 1. Epoch, for the lanes that complete it today (at most one retarget per day):
            // φ = (E + 2016 - h) / b, T = e + φ, D' = D · 14 / clamp(T, 3.5, 56), e' = 1 - φ.
            // About one lane in 14 retargets on a given day: the step loop marked them (one byte
            // per lane), and the set bytes are visited eight lanes at a time, so the divisions run
            // only for those lanes and the scan has no per-lane branch.
            if retarget {
                let mut lanes_hit = [0usize; 8];
                for (c, ch) in hits[..n].chunks(8).enumerate() {
                    let mut bytes = [0u8; 8];
                    bytes[..ch.len()].copy_from_slice(ch);
                    let mut w = u64::from_le_bytes(bytes);
                    let mut cnt = 0;
                    while w != 0 {
                        lanes_hit[cnt] = c * 8 + (w.trailing_zeros() / 8) as usize;
                        cnt += 1;
                        w &= w - 1;
                    }
                    for &i in &lanes_hit[..cnt] {
                        let phi = (e_start[i] + EPOCH_BLOCKS - h[i]) / b[i];
                        let span = e_days[i] + phi;
                        d[i] = d[i] * 14.0 / span.clamp(3.5, 56.0);
                        e_start[i] += EPOCH_BLOCKS;
                        e_days[i] = 1.0 - phi;
                        kb[i] = K_BLOCKS / d[i];
                    }
                }
            }
            let mut cross = false;
            {
                let (h, b, era_end) = (&mut h[..n], &b[..n], &era_end[..n]);
                for i in 0..n {
                    h[i] += b[i];
                    cross |= h[i] >= era_end[i];
                }
            }
            // New subsidy era (rare, scalar).
            for i in 0..if cross { n } else { 0 } {
                if h[i] >= era_end[i] {
                    era_end[i] =
                        ((h[i] / HALVING_INTERVAL as f64).floor() + 1.0) * HALVING_INTERVAL as f64;
                    era_sub[i] = subsidy_btc(h[i].floor() as u64);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zero_vol() -> Scenario {
        let mut s = Scenario::default();
        s.price.vol = 0.0;
        s.fees.vol = 0.0;
        s.hashrate.vol = 0.0;
        s.ai.lease_vol = 0.0;
        s
    }

    /// Runs one lane and collects a per-day value.
    fn one_lane<T>(s: &Scenario, mut g: impl FnMut(&LaneDay) -> T) -> Vec<T> {
        let p = Prepared::new(s);
        let mut out = Vec::new();
        p.run_block(1, 0, 1, false, &mut |d: &LaneDay| out.push(g(d)));
        out
    }

    #[test]
    fn engine_uses_the_split_subsidy_on_the_halving_day() {
        let mut s = zero_vol();
        s.chain.height = 1_049_950;
        s.run.horizon_years = 0.1;
        let days = one_lane(&s, |d| (d.height[0], d.blocks[0], d.subsidy[0]));
        let (h0, b0, sub0) = days[0];
        assert!(h0 + b0 > 1_050_000.0);
        let want = (50.0 * 3.125 + (b0 - 50.0) * 1.5625) / b0;
        assert!((sub0 - want).abs() < 1e-12);
        assert_eq!(days[1].2, 1.5625);
    }

    /// Retarget clamps: a hashrate far above the difficulty's finishes the epoch in well under
    /// 3.5 days, so difficulty rises by exactly 4×; far below, it falls by exactly 4×.
    #[test]
    fn retarget_clamps_hit_at_both_ends() {
        for (mult, factor) in [(100.0, 4.0), (0.1, 0.25)] {
            let mut s = zero_vol();
            s.chain.height = 2016 * 400; // epoch start
            s.chain.epoch_elapsed_days = Some(0.0);
            let d0 = s.chain.difficulty;
            s.chain.hashrate_ehs = Some(d0 * TWO32 / 600.0 / 1e18 * mult);
            s.hashrate.speed_up = 0.0;
            s.hashrate.speed_down = 0.0;
            s.run.horizon_years = 2.0;
            let ds = one_lane(&s, |d| d.difficulty[0]);
            let first_change = ds.iter().copied().find(|&d| d != d0).unwrap();
            assert!(
                (first_change / d0 - factor).abs() < 1e-12,
                "{mult}: {}",
                first_change / d0
            );
        }
        // In between: exactly 14 / T. With hashrate 2× the difficulty's, 2016 blocks take 7 days.
        let mut s = zero_vol();
        s.chain.height = 2016 * 400;
        s.chain.epoch_elapsed_days = Some(0.0);
        let d0 = s.chain.difficulty;
        s.chain.hashrate_ehs = Some(d0 * TWO32 / 600.0 / 1e18 * 2.0);
        s.hashrate.speed_up = 0.0;
        s.hashrate.speed_down = 0.0;
        s.run.horizon_years = 0.1;
        let ds = one_lane(&s, |d| d.difficulty[0]);
        // 288 blocks a day: the 2016th block completes at the end of day 6 (φ ≈ 1, T ≈ 7).
        assert_eq!(ds[6], d0);
        assert!((ds[7] / d0 - 2.0).abs() < 1e-9, "{}", ds[7] / d0);
    }

    #[test]
    fn fast_math_is_accurate() {
        let mut worst: f64 = 0.0;
        for i in 0..20000 {
            let x = -40.0 + 80.0 * i as f64 / 20000.0 + 1e-7 * i as f64;
            worst = worst.max(((fast_exp(x) - x.exp()) / x.exp()).abs());
            let y = 1e-12 * (1.0 + i as f64).powf(3.3);
            worst = worst.max(((fast_ln(y) - y.ln()) / y.ln().abs().max(1e-300)).abs());
        }
        assert!(worst < 1e-15, "{worst}");
        // The Monte Carlo variants: relative error of `exp` and absolute error of `ln` within
        // their stated truncation bounds (1.7e-7 and 7e-10) plus rounding.
        let (mut we, mut wl): (f64, f64) = (0.0, 0.0);
        for i in 0..20000 {
            let x = -40.0 + 80.0 * i as f64 / 20000.0 + 1e-7 * i as f64;
            we = we.max(((fast_exp_mc(x) - x.exp()) / x.exp()).abs());
            let y = 1e-12 * (1.0 + i as f64).powf(3.3);
            wl = wl.max((fast_ln_mc(y) - y.ln()).abs());
        }
        assert!(we < 1.8e-7 && we > 1e-9, "exp {we}");
        assert!(wl < 8e-10 && wl > 1e-12, "ln {wl}");
        assert!(
            (fast_ln(1.0)).abs() < 1e-300 && (fast_ln(std::f64::consts::E) - 1.0).abs() < 1e-15
        );
        // The f32 Box–Muller pieces: within a few f32 ulps of the f64 functions.
        for i in 0..=10000 {
            let u = i as f32 / 10000.0;
            let (s, c) = sincos_turn_f32(u);
            let a = 2.0 * std::f64::consts::PI * u as f64;
            assert!(
                (s as f64 - a.sin()).abs() < 3e-7 && (c as f64 - a.cos()).abs() < 3e-7,
                "{u}"
            );
        }
        for i in 0..=20000 {
            let u = (2.0f64.powf(-33.0 * i as f64 / 20000.0)) as f32;
            let want = (u as f64).ln();
            let got = ln_unit_f32(u) as f64;
            assert!(
                (got - want).abs() <= 3e-7 * want.abs().max(1e-30) + 1e-12,
                "{u}: {got} vs {want}"
            );
        }
        assert_eq!(ln_unit_f32(1.0), 0.0);
    }

    /// Every instruction set the lane loops are built for gives the same paths, bit for bit
    /// (FMA or software `fma`, vector widths 1, 4 and 8), whichever the CPU has.
    #[test]
    fn every_isa_gives_the_same_bits() {
        let sc = Scenario::default();
        let run = |isa: Isa| {
            let mut prep = Prepared::new(&sc);
            prep.isa = isa;
            let mut h: u64 = 0;
            let mut f = |d: &LaneDay| {
                for v in d.s.iter().chain(d.hv).chain(d.difficulty).chain(d.ln_l) {
                    h = h.rotate_left(5) ^ v.to_bits();
                }
            };
            prep.run_block(42, 3, 37, false, &mut f);
            prep.run_block(42, 4, 40, true, &mut f);
            h
        };
        let base = run(Isa::Baseline);
        let best = isa();
        assert_eq!(base, run(best), "{best:?}");
        if best == Isa::Avx512 {
            assert_eq!(base, run(Isa::Avx2));
        }
    }

    /// Skipping words leaves the stream where filling them would: across group boundaries, for
    /// skips shorter and longer than a group, from every position.
    #[test]
    fn skipping_words_is_filling_them() {
        for steps in [
            vec![3usize, 256, 1, 0, 700, 255, 9],
            vec![256, 256, 512, 1, 1023],
            vec![100, 156, 100, 5000, 13],
        ] {
            let (mut a, mut b) = (BlockStream::new(9, 2), BlockStream::new(9, 2));
            for (x, &n) in steps.iter().enumerate() {
                let mut junk = vec![0u32; n];
                a.fill(&mut junk);
                b.skip(n);
                // Then both read the same words.
                let (mut wa, mut wb) = (vec![0u32; 37 + x], vec![0u32; 37 + x]);
                a.fill(&mut wa);
                b.fill(&mut wb);
                assert_eq!(wa, wb, "{steps:?} at {x}");
            }
        }
    }

    /// The lease index alone is the whole run's `ln L`, bit for bit: with and without each
    /// series' draws, antithetic or not, full and partial blocks.
    #[test]
    fn the_lease_index_alone_is_the_whole_runs() {
        let mut cases = Vec::new();
        let base = Scenario::default();
        assert!(base.ai.lease_vol > 0.0);
        cases.push(base.clone());
        let mut no_price = base.clone();
        no_price.price.vol = 0.0;
        cases.push(no_price);
        let mut no_hash_fees = base.clone();
        no_hash_fees.hashrate.vol = 0.0;
        no_hash_fees.fees.vol = 0.0;
        cases.push(no_hash_fees);
        let mut one_shock = base.clone();
        one_shock.ai.lease_price_corr = 1.0;
        cases.push(one_shock);
        let mut own_only = base.clone();
        own_only.ai.lease_price_corr = 0.0;
        cases.push(own_only);
        for (c, sc) in cases.iter_mut().enumerate() {
            sc.run.horizon_years = 3.0;
            let p = Prepared::new(sc);
            for (lanes, anti) in [(256, false), (37, false), (40, true), (255, true)] {
                let mut whole = Vec::new();
                p.run_block(5, 7, lanes, anti, &mut |d: &LaneDay| {
                    whole.extend(d.ln_l[..lanes].iter().map(|v| v.to_bits()))
                });
                let mut alone = Vec::new();
                p.run_lease_inline((5, 7, lanes, anti), |_, l| {
                    alone.extend(l[..lanes].iter().map(|v| v.to_bits()))
                });
                assert_eq!(whole.len(), p.n * lanes);
                assert!(whole == alone, "case {c}, {lanes} lanes, antithetic {anti}");
            }
        }
    }

    /// The wide generator is ChaCha8 itself: its blocks are `rand_chacha`'s blocks for the same
    /// key and stream, word for word (only handed out word-major within groups of 16 blocks),
    /// across group boundaries and for fills of any length.
    #[test]
    fn block_stream_is_rand_chachas_keystream() {
        use rand::RngCore;
        for (seed, block) in [(7u64, 3u64), (42, 0), (1, (1u64 << 32) + 5)] {
            let mut reference = block_rng(seed, block);
            let blocks: Vec<[u32; 16]> = (0..48)
                .map(|_| std::array::from_fn(|_| reference.next_u32()))
                .collect();
            let mut st = BlockStream::new(seed, block);
            let mut got = Vec::new();
            for len in [5usize, 256, 300, 1, 206] {
                let mut w = vec![0u32; len];
                st.fill(&mut w);
                got.extend(w);
            }
            assert_eq!(got.len(), 768);
            for (i, &g) in got.iter().enumerate() {
                let (group, r) = (i / 256, i % 256);
                let (word, lane) = (r / 16, r % 16);
                assert_eq!(
                    g,
                    blocks[16 * group + lane][word],
                    "{seed} {block} word {i}"
                );
            }
        }
    }

    #[test]
    fn normals_have_unit_moments_and_antithetic_pairs() {
        let mut rng = BlockStream::new(7, 3);
        let mut sc = NormalScratch::default();
        let mut z32 = vec![0f32; 200_000];
        fill_normals(&mut rng, &mut sc, &mut z32, false);
        let z: Vec<f64> = z32.iter().map(|&a| a as f64).collect();
        let n = z.len() as f64;
        let mean = z.iter().sum::<f64>() / n;
        let var = z.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let kurt = z.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n / (var * var);
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.01 && (kurt - 3.0).abs() < 0.05,
            "{mean} {var} {kurt}"
        );
        let tail = z.iter().filter(|&&x| x < -1.959964).count() as f64 / n;
        assert!((tail - 0.025).abs() < 0.002, "{tail}");
        let mut a = vec![0f32; 9];
        fill_normals(&mut BlockStream::new(7, 3), &mut sc, &mut a, true);
        for k in 0..4 {
            assert_eq!(a[2 * k], -a[2 * k + 1]);
        }
        // Streams are keyed by block.
        let mut b0 = vec![0f32; 4];
        let mut b1 = vec![0f32; 4];
        fill_normals(&mut BlockStream::new(7, 0), &mut sc, &mut b0, false);
        fill_normals(&mut BlockStream::new(7, 1), &mut sc, &mut b1, false);
        assert_ne!(b0, b1);
    }
}
