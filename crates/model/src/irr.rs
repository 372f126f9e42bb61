//! Internal rates of return of daily cash series (MODEL.md §10): the annual rate `r > -1` with
//!
//! ```text
//! Σ_{t=0}^{N-1} cash_t (1+r)^(-(t+1)/365) + cash_N (1+r)^(-(N+1)/365) = 0
//! ```
//!
//! and, where there are several, the smallest. Written in `x = (1+r)^(-1/365)` the left side is
//! `x · Q(x)` with the polynomial `Q(x) = Σ_t cash_t x^t`, so the roots are the positive roots of
//! `Q`, and the smallest rate is the largest such `x`.
//!
//! How a root is found, robustly and cheaply (a path's series has thousands of days, a run has
//! tens of thousands of paths and two IRRs a path):
//!
//! 1. All cash of one sign (no sign change, Descartes' rule of signs): no root.
//! 2. A coarse copy of the series (sums over buckets of [`BUCKET`] days, each at its bucket's
//!    middle) is scanned on a grid of rates from [`R_MIN`] to [`R_MAX`], uniform in `ln(1+r)`, from
//!    the lowest rate up; the first sign change brackets the smallest root of the coarse copy.
//!    The grid points are evaluated [`SCAN`] at a time (independent Horner chains, one per point,
//!    with the grid's powers of `x` tabulated once per series length), stopping at the first
//!    batch with a sign change. Safeguarded Newton (below) on the coarse copy then narrows that
//!    bracket to ~1e-9 in `u = ln(1+r)` (cheap: the copy is 1/[`BUCKET`] of the series).
//!    When the coarse copy has no sign change on the grid, the exact series' grid scan is done
//!    with the coarse signs wherever a bound proves the exact `Q` has them, and exact passes
//!    only at the other points (usually none, or a few at the highest rates).
//! 3. The exact series: a bracket around the coarse root, verified on the exact series, and
//!    safeguarded Newton steps in `u` on the exact `Q`; a step that leaves the bracket or does
//!    not shrink it fast enough is replaced by bisection. The bracket's two ends and the first
//!    Newton point (value and derivative) are evaluated in one pass over the series; the later
//!    steps keep that derivative (the chord variant), so their passes need `Q` only.
//!    It stops when the bracket or the step is below 1e-13 in `u`, so the rate is exact to
//!    ~1e-12. If the coarse bracket does not hold on the exact series (a root pair closer than the
//!    grid), the exact series is scanned on the grid itself. Never a fixed-iteration Newton.
//!
//! Every sum is a fixed sequence of plain IEEE multiplies and adds (interleaved Horner chains, so
//! the work vectorizes and the chains' latency is hidden), so the same series gives the same bits
//! on every instruction set; on x86-64 with AVX2 the same code is compiled for it and picked at
//! run time ([`crate::process::isa`], `HASHPIVOT_ISA` included).
//!
//! Roots outside `[R_MIN, R_MAX]` (below −99% or above +10,000% a year) are reported as no root,
//! as are pairs of roots closer together than one grid step (the series then barely changes sign).

// Lane and chain loops index several arrays in lockstep; explicit indices are what the compiler
// vectorizes (as in `crate::payoff`).
#![allow(clippy::needless_range_loop)]

use std::cell::Cell;

/// Lowest rate searched, per year.
pub const R_MIN: f64 = -0.99;
/// Highest rate searched, per year.
pub const R_MAX: f64 = 100.0;
/// Days per bucket of the coarse series.
pub const BUCKET: usize = 32;
/// Grid points of the scan, uniform in `ln(1 + r)` over `[R_MIN, R_MAX]`.
pub const GRID: usize = 96;
/// Grid points of the coarse scan evaluated together.
pub const SCAN: usize = 32;
const _: () = assert!(GRID.is_multiple_of(SCAN));

/// Interleaved Horner chains of one point's sums ([`horner`]): 16 (four AVX2 vectors, enough
/// independent work to hide the latency of a multiply and an add) when one point is evaluated,
/// 4 when three are and a derivative (so that every chain stays in a register).
const W1: usize = 16;
const W3: usize = 4;

/// `Σ_t c_t x_k^t` for each of the `K` points `xs`, and `Σ_t t c_t x_d^t` for the point `d`
/// (none when `d >= K`), in one pass over `c`: per point `W` interleaved Horner chains in
/// `y = x^W`, the tail past the last full chunk evaluated directly. Plain multiplies and adds
/// in a fixed order: the same bits on every instruction set, and the same bits for a point
/// whatever the other points are.
#[inline(always)]
fn horner<const K: usize, const W: usize>(c: &[f64], xs: [f64; K], d: usize) -> ([f64; K], f64) {
    let mut h = Horner::<K, W>::new(c, xs, d);
    let (full, y) = (h.full, h.y);
    let mut acc = [[0.0f64; W]; K];
    let mut acc_t = [0.0f64; W];
    let with_t = d < K;
    for i in (0..full).rev() {
        let chunk: &[f64; W] = c[i * W..i * W + W].try_into().expect("a chunk of W");
        for k in 0..K {
            for j in 0..W {
                acc[k][j] = acc[k][j] * y[k] + chunk[j];
            }
        }
        if with_t {
            let base = (i * W) as f64;
            for j in 0..W {
                acc_t[j] = acc_t[j] * y[d] + chunk[j] * (base + j as f64);
            }
        }
    }
    h.finish(&acc, &acc_t)
}

/// The parts of [`horner`] around its chains, shared with the hand-vectorized pass
/// (`first_pass_pair_avx2`): the powers of each point, and the tail past the last full chunk.
struct Horner<const K: usize, const W: usize> {
    /// Full chunks of `W` days.
    full: usize,
    /// `x_k^j` for `j < W`, and `y_k = x_k^W`.
    xp: [[f64; W]; K],
    y: [f64; K],
    /// The point with the `t`-weighted sum (none when `d >= K`).
    d: usize,
    /// The tail's sums so far.
    q: [f64; K],
    tq: f64,
}

impl<const K: usize, const W: usize> Horner<K, W> {
    /// The powers, and the tail past the last full chunk (highest powers), evaluated directly.
    #[inline(always)]
    fn new(c: &[f64], xs: [f64; K], d: usize) -> Self {
        let full = c.len() / W;
        let mut xp = [[1.0f64; W]; K];
        let mut y = [0.0f64; K];
        for k in 0..K {
            for j in 1..W {
                xp[k][j] = xp[k][j - 1] * xs[k];
            }
            y[k] = xp[k][W - 1] * xs[k];
        }
        let mut q = [0.0f64; K];
        let mut tq = 0.0;
        for k in 0..K {
            let mut p = crate::num::powi(y[k], full as i32);
            for (t, &v) in c.iter().enumerate().skip(full * W) {
                q[k] += v * p;
                if k == d {
                    tq += v * t as f64 * p;
                }
                p *= xs[k];
            }
        }
        Horner {
            full,
            xp,
            y,
            d,
            q,
            tq,
        }
    }

    /// The sums: the tail's plus each chain's value times its power (`acc_t`: the `t`-weighted
    /// chains, read only when `d < K`).
    #[inline(always)]
    fn finish(&mut self, acc: &[[f64; W]; K], acc_t: &[f64; W]) -> ([f64; K], f64) {
        for k in 0..K {
            for j in 0..W {
                self.q[k] += acc[k][j] * self.xp[k][j];
            }
        }
        if self.d < K {
            for j in 0..W {
                self.tq += acc_t[j] * self.xp[self.d][j];
            }
        }
        (self.q, self.tq)
    }
}

/// `x = (1 + r)^(-1/365)` for `u = ln(1 + r)`.
#[inline(always)]
fn x_of(u: f64) -> f64 {
    (-u / 365.0).exp()
}

/// `Σ_t c_t x^t` and `Σ_t t c_t x^t`: `horner::<1, W1>(c, [x], 0)`, bit for bit; on AVX2 as the
/// hand-vectorized [`qd_pass_avx2`] (the compiler kept the `t`-weighted chains in half-width
/// registers spilled to the stack every chunk: these passes, a Newton step's on the exact series
/// when the first bracket had to be widened, were a third of the GPU cloud's IRR time).
#[inline(always)]
fn horner_qd(c: &[f64], x: f64) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: `wide()` is true only when the CPU has AVX2.
        let (q, tq) = unsafe { qd_pass_avx2(c, x) };
        return (q[0], tq);
    }
    let (q, tq) = horner::<1, W1>(c, [x], 0);
    (q[0], tq)
}

/// `horner::<1, W1>(c, [x], 0)` on AVX2: the same multiplies and adds per chain in the same
/// order (`acc · y + c` and `acc_t · y + c · t`, sixteen chains as four vectors each; the days
/// `t` exact integers in `f64`), the tail and the final sums as [`horner`]'s.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn qd_pass_avx2(c: &[f64], x: f64) -> ([f64; 1], f64) {
    use std::arch::x86_64::*;
    const W: usize = W1;
    const _: () = assert!(W1 == 16);
    let mut h = Horner::<1, W>::new(c, [x], 0);
    let full = h.full;
    let mut acc = [[0.0f64; W]; 1];
    let mut acc_t = [0.0f64; W];
    // SAFETY: AVX2 is enabled for this function; every load reads the sixteen days
    // `i · W .. i · W + W <= full · W <= len` of `c`, every store a local array.
    unsafe {
        let y = _mm256_set1_pd(h.y[0]);
        let z = _mm256_setzero_pd();
        let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
        let (mut t0, mut t1, mut t2, mut t3) = (z, z, z, z);
        let f = (full * W) as f64;
        let mut d0 = _mm256_set_pd(f + 3.0, f + 2.0, f + 1.0, f);
        let step = _mm256_set1_pd(W as f64);
        let (o4, o8, o12) = (
            _mm256_set1_pd(4.0),
            _mm256_set1_pd(8.0),
            _mm256_set1_pd(12.0),
        );
        let p = c.as_ptr();
        for i in (0..full).rev() {
            d0 = _mm256_sub_pd(d0, step);
            let (d1, d2, d3) = (
                _mm256_add_pd(d0, o4),
                _mm256_add_pd(d0, o8),
                _mm256_add_pd(d0, o12),
            );
            let q = p.add(i * W);
            let (c0, c1, c2, c3) = (
                _mm256_loadu_pd(q),
                _mm256_loadu_pd(q.add(4)),
                _mm256_loadu_pd(q.add(8)),
                _mm256_loadu_pd(q.add(12)),
            );
            a0 = _mm256_add_pd(_mm256_mul_pd(a0, y), c0);
            a1 = _mm256_add_pd(_mm256_mul_pd(a1, y), c1);
            a2 = _mm256_add_pd(_mm256_mul_pd(a2, y), c2);
            a3 = _mm256_add_pd(_mm256_mul_pd(a3, y), c3);
            t0 = _mm256_add_pd(_mm256_mul_pd(t0, y), _mm256_mul_pd(c0, d0));
            t1 = _mm256_add_pd(_mm256_mul_pd(t1, y), _mm256_mul_pd(c1, d1));
            t2 = _mm256_add_pd(_mm256_mul_pd(t2, y), _mm256_mul_pd(c2, d2));
            t3 = _mm256_add_pd(_mm256_mul_pd(t3, y), _mm256_mul_pd(c3, d3));
        }
        for (k, v) in [a0, a1, a2, a3].into_iter().enumerate() {
            _mm256_storeu_pd(acc[0][4 * k..].as_mut_ptr(), v);
        }
        for (k, v) in [t0, t1, t2, t3].into_iter().enumerate() {
            _mm256_storeu_pd(acc_t[4 * k..].as_mut_ptr(), v);
        }
    }
    h.finish(&acc, &acc_t)
}

/// `Q` at `u` on the exact series (0 counts as a root).
#[inline(always)]
fn q_exact(c: &[f64], u: f64) -> f64 {
    horner::<1, W1>(c, [x_of(u)], 1).0[0]
}

/// A function of `u` whose root [`newton`] looks for: its value and derivative at `u`. A trait
/// with always-inlined methods rather than a closure, so that the passes are compiled for the
/// instruction set of [`irr`]'s caller.
trait Curve {
    fn qd(&self, u: f64) -> (f64, f64);
}

/// The exact series.
struct Exact<'a>(&'a [f64]);

impl Curve for Exact<'_> {
    /// `Q` and `dQ/du = −Σ t c_t x^t / 365` at `u`.
    #[inline(always)]
    fn qd(&self, u: f64) -> (f64, f64) {
        let (q, tq) = horner_qd(self.0, x_of(u));
        (q, -tq / 365.0)
    }
}

/// The exact series with a fixed slope: Newton's chord variant. Near the root the slope at the
/// first point (the coarse root, ~1e-6 away) differs from the root's by ~1e-5 of it, so each step
/// gains about five digits, and a pass needs `Q` only: two operations a day instead of five.
/// Counted on the embedded default's series: 4.0–4.5 passes per IRR after the first (the last
/// ones only confirm that the step is below the tolerance).
struct Chord<'a>(&'a [f64], f64);

impl Curve for Chord<'_> {
    #[inline(always)]
    fn qd(&self, u: f64) -> (f64, f64) {
        (q_exact(self.0, u), self.1)
    }
}

/// The coarse series: sums over buckets of [`BUCKET`] days, each placed at its bucket's middle
/// day (the last bucket may be shorter).
struct Coarse {
    /// Sums of the full buckets.
    full: Vec<f64>,
    /// Sum of the last, partial bucket and its middle day (0 and 0 when there is none).
    last: (f64, f64),
}

/// Sums of `|cash|` over [`Coarse`]'s buckets, full ones and the last (for the bound of
/// [`uncertain_points`], computed only when it is needed: most series have a root the coarse scan
/// finds, and these sums were a sixth of an IRR's time).
fn abs_sums(c: &[f64]) -> (Vec<f64>, f64) {
    let nfull = c.len() / BUCKET;
    let full = c[..nfull * BUCKET]
        .chunks_exact(BUCKET)
        .map(|b| b.iter().map(|v| v.abs()).sum())
        .collect();
    (full, c[nfull * BUCKET..].iter().map(|v| v.abs()).sum())
}

/// Middle day of a full bucket, counted from its first day.
const MID0: f64 = (BUCKET as f64 - 1.0) / 2.0;

#[inline(always)]
fn coarse(c: &[f64]) -> Coarse {
    let nfull = c.len() / BUCKET;
    // Four partial sums a bucket: independent chains instead of one of BUCKET adds.
    let full = c[..nfull * BUCKET]
        .chunks_exact(BUCKET)
        .map(|b| {
            let mut acc = [0.0f64; 4];
            for q in b.chunks_exact(4) {
                for (a, v) in acc.iter_mut().zip(q) {
                    *a += v;
                }
            }
            (acc[0] + acc[1]) + (acc[2] + acc[3])
        })
        .collect();
    let rest = &c[nfull * BUCKET..];
    let last = if rest.is_empty() {
        (0.0, 0.0)
    } else {
        let mid = (nfull * BUCKET) as f64 + (rest.len() as f64 - 1.0) / 2.0;
        (rest.iter().sum(), mid)
    };
    Coarse { full, last }
}

impl Curve for Coarse {
    /// The coarse `Q` at `u` and its derivative `dQ/du`: `x^MID0 · H(y) + last · x^mid_last`
    /// with `H(y) = Σ_b full_b y^b`, `y = x^BUCKET`.
    #[inline(always)]
    fn qd(&self, u: f64) -> (f64, f64) {
        let y = (-u * BUCKET as f64 / 365.0).exp();
        let (h, th) = horner_qd(&self.full, y);
        let p0 = (-u * MID0 / 365.0).exp();
        let l = self.last.0 * (-u * self.last.1 / 365.0).exp();
        let q = p0 * h + l;
        let dq = -(p0 * (MID0 * h + BUCKET as f64 * th) + self.last.1 * l) / 365.0;
        (q, dq)
    }
}

/// The grid of `u = ln(1 + r)`, lowest rate first.
fn grid() -> [f64; GRID] {
    let (lo, hi) = ((1.0 + R_MIN).ln(), (1.0 + R_MAX).ln());
    let mut g = [0.0; GRID];
    for (j, v) in g.iter_mut().enumerate() {
        *v = lo + (hi - lo) * j as f64 / (GRID - 1) as f64;
    }
    g
}

/// The grid's powers that do not depend on the series: `u`, `y = x^BUCKET` and `x^MID0` per grid
/// point (computed once).
#[derive(Debug)]
struct GridPowers {
    u: [f64; GRID],
    y: [f64; GRID],
    p0: [f64; GRID],
}

/// `x^m` on every grid point.
fn grid_pow(m: f64) -> [f64; GRID] {
    grid().map(|u| (-u * m / 365.0).exp())
}

fn grid_powers() -> &'static GridPowers {
    static POWERS: std::sync::OnceLock<GridPowers> = std::sync::OnceLock::new();
    POWERS.get_or_init(|| GridPowers {
        u: grid(),
        y: grid_pow(BUCKET as f64),
        p0: grid_pow(MID0),
    })
}

thread_local! {
    /// `x^mid_last` on every grid point for the series length of the last call (a run prices
    /// series of one length).
    static PLAST: Cell<(usize, [f64; GRID])> = const { Cell::new((0, [0.0; GRID])) };
}

/// `x^mid_last` on every grid point for a series of `len` days (the last bucket's middle day).
fn last_powers(len: usize) -> [f64; GRID] {
    PLAST.with(|c| {
        let (l, v) = c.get();
        if l == len {
            return v;
        }
        let mid = (len / BUCKET * BUCKET) as f64 + ((len % BUCKET) as f64 - 1.0) / 2.0;
        let v = grid_pow(mid);
        c.set((len, v));
        v
    })
}

/// `Σ_b full_b y^b · x^MID0 + last · x^mid_last` on the grid points `b .. b + SCAN`: one Horner
/// chain a point, [`SCAN`] chains side by side.
#[inline(always)]
fn scan_batch(
    full: &[f64],
    last: f64,
    gp: &GridPowers,
    plast: &[f64; GRID],
    b: usize,
) -> [f64; SCAN] {
    let mut y = [0.0f64; SCAN];
    y.copy_from_slice(&gp.y[b..b + SCAN]);
    let mut h = [0.0f64; SCAN];
    for &v in full.iter().rev() {
        for k in 0..SCAN {
            h[k] = h[k] * y[k] + v;
        }
    }
    let mut out = [0.0f64; SCAN];
    for k in 0..SCAN {
        out[k] = h[k] * gp.p0[b + k] + last * plast[b + k];
    }
    out
}

/// The first sign change of the coarse `Q` on the grid, lowest rate first: `(j − 1, j)`, or an
/// exact zero `(j, j)`. Points are evaluated [`SCAN`] at a time.
#[inline(always)]
fn coarse_scan(cs: &Coarse, gp: &GridPowers, plast: &[f64; GRID]) -> Option<(usize, usize)> {
    let mut prev_neg = false;
    for b in (0..GRID).step_by(SCAN) {
        let vals = scan_batch(&cs.full, cs.last.0, gp, plast, b);
        for (k, &v) in vals.iter().enumerate() {
            let j = b + k;
            if v == 0.0 {
                return Some((j, j));
            }
            if j > 0 && (v < 0.0) != prev_neg {
                return Some((j - 1, j));
            }
            prev_neg = v < 0.0;
        }
    }
    None
}

/// The grid points where the exact `Q` might not have the coarse `Q`'s sign (bit `k` for point
/// `k`), by a bound: within a bucket `|x^t − x^mid| ≤ ε · x^mid` with
/// `ε = e^{|u| · 15.5/365} − 1`, so the two differ by at most `ε · A` with
/// `A = Σ_b (Σ_{t∈b} |c_t|) x^mid_b`; with twice that, plus the rounding of the sums (1e-11 of
/// `A`), below `|Q_coarse|` the signs agree. `ε` grows with the rate (0.22 at the grid's top,
/// +10,000 % a year), so on a series without a root it is the high rates that stay uncertain.
/// Also the coarse `Q` on every grid point.
#[inline(always)]
fn uncertain_points(
    cs: &Coarse,
    cash: &[f64],
    gp: &GridPowers,
    plast: &[f64; GRID],
) -> (u128, [f64; GRID]) {
    const _: () = assert!(GRID <= 128);
    let (abs_full, abs_last) = abs_sums(cash);
    let mut m = 0u128;
    let mut coarse = [0.0; GRID];
    for b in (0..GRID).step_by(SCAN) {
        let q = scan_batch(&cs.full, cs.last.0, gp, plast, b);
        let a = scan_batch(&abs_full, abs_last, gp, plast, b);
        for k in 0..SCAN {
            let eps = (gp.u[b + k].abs() * (BUCKET as f64 / 2.0) / 365.0).exp_m1();
            if q[k].abs() <= (2.0 * eps + 1e-11) * a[k] || !a[k].is_finite() {
                m |= 1 << (b + k);
            }
        }
        coarse[b..b + SCAN].copy_from_slice(&q);
    }
    (m, coarse)
}

/// [`scan_exact`]'s grid scan when the coarse `Q` has no sign change on the grid, with the exact
/// `Q` evaluated only where its sign is uncertain ([`uncertain_points`]): elsewhere the bound
/// settles that the exact `Q` is not 0 and has the coarse sign, and [`first_bracket`] reads only
/// signs and exact zeros, so the bracket is the one the 96 exact passes give, bit for bit (or
/// `None`, the series' usual case: no sign change at all). The exact passes are ~1 in 10 of the
/// points on the embedded default's GPU-cloud series, at the highest rates.
#[inline(always)]
fn settled_bracket(
    cs: &Coarse,
    cash: &[f64],
    gp: &GridPowers,
    plast: &[f64; GRID],
) -> Option<(f64, f64)> {
    let (m, coarse) = uncertain_points(cs, cash, gp, plast);
    let mut k = 0;
    first_bracket(|u| {
        debug_assert_eq!(u, gp.u[k], "first_bracket visits the grid in order");
        let v = if m >> k & 1 == 0 {
            coarse[k]
        } else {
            q_exact(cash, u)
        };
        k += 1;
        v
    })
}

/// The first sign change of `f` on the grid, lowest rate first: `(u_lo, u_hi)`, or an exact zero
/// `(u, u)`.
fn first_bracket(mut f: impl FnMut(f64) -> f64) -> Option<(f64, f64)> {
    let g = grid();
    let mut prev = f(g[0]);
    if prev == 0.0 {
        return Some((g[0], g[0]));
    }
    for &u in &g[1..] {
        let v = f(u);
        if v == 0.0 {
            return Some((u, u));
        }
        if (v < 0.0) != (prev < 0.0) {
            // The grid runs from low to high `u`, i.e. low to high rate.
            return Some((u - (g[1] - g[0]), u));
        }
        prev = v;
    }
    None
}

/// The IRR of `cash` (days `0 ..= N`, the last entry being the day-`N` terms), per year, or
/// `None` when the series has no root in `[R_MIN, R_MAX]` (no sign change, all zero, ...).
///
/// ```
/// use hashpivot_model::irr::irr;
/// // −100 today (discounted one day, as every cash of day t is by (t+1)/365), +110 a year later.
/// let mut c = vec![0.0; 366];
/// c[0] = -100.0;
/// c[365] = 110.0;
/// assert!((irr(&c).unwrap() - 0.10).abs() < 1e-12);
/// assert_eq!(irr(&[1.0, 2.0, 3.0]), None);
/// ```
pub fn irr(cash: &[f64]) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: `wide()` is true only when the CPU has AVX2.
        return unsafe { irr_avx2(cash) };
    }
    irr_inline(cash)
}

/// Whether [`irr`] runs its AVX2 build: the CPU has it and `HASHPIVOT_ISA` does not ask for
/// baseline (checked once).
#[cfg(target_arch = "x86_64")]
fn wide() -> bool {
    static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WIDE.get_or_init(|| crate::process::isa() != crate::process::Isa::Baseline)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn irr_avx2(cash: &[f64]) -> Option<f64> {
    irr_inline(cash)
}

/// [`irr`] for the instruction set of its caller.
#[inline(always)]
fn irr_inline(cash: &[f64]) -> Option<f64> {
    resume(cash, start(cash))
}

/// [`irr`] of two series of one length (a path's AI and equity cash): the same results, bit for
/// bit. On AVX2 the first exact pass of both (three points each, most of an IRR's time, bound
/// by the latency of its four chains) runs as one pass of eight chains.
pub fn irr_pair(a: &[f64], b: &[f64]) -> (Option<f64>, Option<f64>) {
    #[cfg(target_arch = "x86_64")]
    if wide() && a.len() == b.len() {
        // SAFETY: `wide()` is true only when the CPU has AVX2.
        return unsafe { irr_pair_avx2(a, b) };
    }
    (irr(a), irr(b))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn irr_pair_avx2(a: &[f64], b: &[f64]) -> (Option<f64>, Option<f64>) {
    match (start(a), start(b)) {
        (Start::Near(ua), Start::Near(ub)) => {
            // SAFETY: this function runs only where the CPU has AVX2.
            let [fa, fb] =
                unsafe { first_pass_pair_avx2([a, b], [first_points(ua), first_points(ub)]) };
            (polish(a, ua, Some(fa)), polish(b, ub, Some(fb)))
        }
        (sa, sb) => (resume(a, sa), resume(b, sb)),
    }
}

/// `horner::<3, W3>(c, xs, 2)` of two series of one length, bit for bit, as one pass: per
/// series the same multiplies and adds in the same order (the chains `acc · y + c` and
/// `acc_t · y + c · t` four days wide, the tail and the final sums as [`horner`]'s), the two
/// series' eight chains interleaved.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn first_pass_pair_avx2(cs: [&[f64]; 2], xs: [[f64; 3]; 2]) -> [([f64; 3], f64); 2] {
    use std::arch::x86_64::*;
    const W: usize = W3;
    const _: () = assert!(W3 == 4);
    // (No closures here: they would be compiled without AVX2.)
    let [mut h0, mut h1] = [
        Horner::<3, W>::new(cs[0], xs[0], 2),
        Horner::<3, W>::new(cs[1], xs[1], 2),
    ];
    debug_assert_eq!(h0.full, h1.full, "series of one length");
    let full = h0.full;
    let y = [h0.y, h1.y];
    let mut acc = [[[0.0f64; W]; 3]; 2];
    let mut acc_t = [[0.0f64; W]; 2];
    // SAFETY: AVX2 is enabled for this function; every load reads the four days
    // `i · W .. i · W + W < len` of a series of length `len`, every store a local array.
    unsafe {
        let ys: [[__m256d; 3]; 2] = [
            [
                _mm256_set1_pd(y[0][0]),
                _mm256_set1_pd(y[0][1]),
                _mm256_set1_pd(y[0][2]),
            ],
            [
                _mm256_set1_pd(y[1][0]),
                _mm256_set1_pd(y[1][1]),
                _mm256_set1_pd(y[1][2]),
            ],
        ];
        let z = _mm256_setzero_pd();
        let (mut a0, mut a1, mut a2, mut at) = (z, z, z, z);
        let (mut b0, mut b1, mut b2, mut bt) = (z, z, z, z);
        // The days of the chunk as `f64` (exact integers: `i · W + j`), stepped down by `W`.
        let f = (full * W) as f64;
        let mut days = _mm256_set_pd(f + 3.0, f + 2.0, f + 1.0, f);
        let step = _mm256_set1_pd(W as f64);
        let (pa, pb) = (cs[0].as_ptr(), cs[1].as_ptr());
        for i in (0..full).rev() {
            days = _mm256_sub_pd(days, step);
            let ca = _mm256_loadu_pd(pa.add(i * W));
            let cb = _mm256_loadu_pd(pb.add(i * W));
            a0 = _mm256_add_pd(_mm256_mul_pd(a0, ys[0][0]), ca);
            a1 = _mm256_add_pd(_mm256_mul_pd(a1, ys[0][1]), ca);
            a2 = _mm256_add_pd(_mm256_mul_pd(a2, ys[0][2]), ca);
            at = _mm256_add_pd(_mm256_mul_pd(at, ys[0][2]), _mm256_mul_pd(ca, days));
            b0 = _mm256_add_pd(_mm256_mul_pd(b0, ys[1][0]), cb);
            b1 = _mm256_add_pd(_mm256_mul_pd(b1, ys[1][1]), cb);
            b2 = _mm256_add_pd(_mm256_mul_pd(b2, ys[1][2]), cb);
            bt = _mm256_add_pd(_mm256_mul_pd(bt, ys[1][2]), _mm256_mul_pd(cb, days));
        }
        let vs = [[a0, a1, a2, at], [b0, b1, b2, bt]];
        for s in 0..2 {
            for k in 0..3 {
                _mm256_storeu_pd(acc[s][k].as_mut_ptr(), vs[s][k]);
            }
            _mm256_storeu_pd(acc_t[s].as_mut_ptr(), vs[s][3]);
        }
    }
    [h0.finish(&acc[0], &acc_t[0]), h1.finish(&acc[1], &acc_t[1])]
}

/// [`irr_inline`] after [`start`].
#[inline(always)]
fn resume(cash: &[f64], st: Start) -> Option<f64> {
    match st {
        Start::Answer(r) => r,
        Start::Near(u0) => polish(cash, u0, None),
        Start::Bracket(ab) => Some(from_bracket(cash, ab)),
    }
}

/// What the cheap passes tell about a series.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// The IRR is known (no root: one sign, not finite, or certainly none on the grid).
    Answer(Option<f64>),
    /// The coarse copy's smallest root `u0`, to be confirmed and polished on the exact series.
    Near(f64),
    /// The first sign change of the exact series on the grid (as [`first_bracket`] gives it), the
    /// coarse copy having none: safeguarded Newton from it.
    Bracket((f64, f64)),
}

/// The first pass (signs and finiteness) and the coarse copy's search (steps 1 and 2 of the
/// module's method).
#[inline(always)]
fn start(cash: &[f64]) -> Start {
    // One sign throughout (Descartes: no sign change, no positive root), or not finite: no
    // root. Minimum and maximum in one branch-free pass.
    // (A NaN or infinity makes the sum non-finite.) [`W1`] lanes of independent chains: with
    // one vector of each, the pass was bound by the latency of the additions and comparisons
    // (half of the IRR's time in a profile).
    let (mut lo4, mut hi4, mut sum4) = ([f64::INFINITY; W1], [f64::NEG_INFINITY; W1], [0.0f64; W1]);
    let quads = cash.chunks_exact(W1);
    let rest = quads.remainder();
    for q in quads {
        for j in 0..W1 {
            // Plain comparisons (one vector min/max each); a NaN is caught by the sum.
            lo4[j] = if q[j] < lo4[j] { q[j] } else { lo4[j] };
            hi4[j] = if q[j] > hi4[j] { q[j] } else { hi4[j] };
            sum4[j] += q[j];
        }
    }
    for (j, &v) in rest.iter().enumerate() {
        lo4[j] = lo4[j].min(v);
        hi4[j] = hi4[j].max(v);
        sum4[j] += v;
    }
    let lo = lo4.iter().fold(f64::INFINITY, |a, &b| a.min(b));
    let hi = hi4.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let sum: f64 = sum4.iter().sum();
    if !sum.is_finite() || lo >= 0.0 || hi <= 0.0 {
        return Start::Answer(None);
    }
    // The coarse copy locates the smallest root; the exact series confirms and polishes it.
    let cs = coarse(cash);
    let gp = grid_powers();
    let plast = last_powers(cash.len());
    let located = match coarse_scan(&cs, gp, &plast) {
        Some((i, j)) if i == j => Some(gp.u[i]),
        Some((i, j)) => {
            let (a, b) = (gp.u[i], gp.u[j]);
            let (fa, _) = cs.qd(a);
            // To ~1e-9 in u: far inside the exact bracket below (the coarse and the exact
            // roots differ by the buckets' rounding of the discounting, ~1e-6).
            Some(newton(&cs, a, b, fa < 0.0, 0.5 * (a + b), None, 1e-9))
        }
        None => None,
    };
    match located {
        Some(u0) => Start::Near(u0),
        // The coarse copy found nothing: the exact series' scan on the grid, its signs settled
        // by the coarse copy where the bound allows.
        None => match settled_bracket(&cs, cash, gp, &plast) {
            None => Start::Answer(None),
            Some(ab) => Start::Bracket(ab),
        },
    }
}

/// The first exact bracket's ends and the coarse root `u0` (the points of the first exact pass).
#[inline(always)]
fn first_points(u0: f64) -> [f64; 3] {
    let w = first_width(u0);
    [x_of(u0 - w), x_of(u0 + w), x_of(u0)]
}

/// Half-width of the first exact bracket around the coarse root `u0`.
#[inline(always)]
fn first_width(u0: f64) -> f64 {
    1e-4f64.max(1e-3 * u0.abs())
}

/// Step 3 of the module's method from the coarse root `u0`: an exact bracket around it, widened
/// a little at a time, then safeguarded Newton; the exact grid scan when no bracket holds.
/// `first`: the first pass's values at [`first_points`] when already computed.
#[inline(always)]
fn polish(cash: &[f64], u0: f64, mut first: Option<([f64; 3], f64)>) -> Option<f64> {
    let step = grid_powers().u[1] - grid_powers().u[0];
    // Its first try also evaluates the first Newton point (the coarse root) in the same pass.
    let mut w = first_width(u0);
    let mut first_try = true;
    while w <= step {
        let (a, b) = (u0 - w, u0 + w);
        let (fa, fb, at_u0) = if first_try {
            let (q, tq) = match first.take() {
                Some(v) => v,
                None => horner::<3, W3>(cash, first_points(u0), 2),
            };
            (q[0], q[1], Some((q[2], -tq / 365.0)))
        } else {
            let (q, _) = horner::<2, W3>(cash, [x_of(a), x_of(b)], 2);
            (q[0], q[1], None)
        };
        first_try = false;
        if fa == 0.0 {
            return Some(a.exp_m1());
        }
        if fb == 0.0 {
            return Some(b.exp_m1());
        }
        if (fa < 0.0) != (fb < 0.0) {
            let u = match at_u0 {
                // A usable slope at u0: chord steps (the safeguards are the same).
                Some((_, d)) if d != 0.0 && d.is_finite() => {
                    newton(&Chord(cash, d), a, b, fa < 0.0, u0, at_u0, 1e-13)
                }
                _ => newton(&Exact(cash), a, b, fa < 0.0, u0, at_u0, 1e-13),
            };
            return Some(u.exp_m1());
        }
        w *= 8.0;
    }
    scan_exact(cash)
}

/// The exact series scanned on the grid, then safeguarded Newton in the first bracket.
#[inline(always)]
fn scan_exact(cash: &[f64]) -> Option<f64> {
    let ab = first_bracket(|u| q_exact(cash, u))?;
    Some(from_bracket(cash, ab))
}

/// The rate in the exact series' grid bracket `(a, b)` ([`first_bracket`]): safeguarded Newton
/// from its middle, or `a` itself for an exact zero (`a == b`).
#[inline(always)]
fn from_bracket(cash: &[f64], (a, b): (f64, f64)) -> f64 {
    if a == b {
        return a.exp_m1();
    }
    let fa = q_exact(cash, a);
    newton(&Exact(cash), a, b, fa < 0.0, 0.5 * (a + b), None, 1e-13).exp_m1()
}

/// Safeguarded Newton on `f` (`Q` and `dQ/du`) inside the bracket `[a, b]` (`Q(a) < 0` when
/// `neg_a`, the other sign at `b`), starting at `u0` (`at_u0`: `f(u0)` when already known): a
/// Newton step that leaves the bracket, or that is not at most half the one before, is replaced
/// by a bisection, so the bracket always shrinks and the loop ends. Stops when the bracket is
/// below `tol · (1 + |u|)` or a step below a tenth of that.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn newton(
    f: &impl Curve,
    mut a: f64,
    mut b: f64,
    neg_a: bool,
    u0: f64,
    at_u0: Option<(f64, f64)>,
    tol: f64,
) -> f64 {
    let mut u = u0.clamp(a, b);
    let mut known = at_u0.filter(|_| u == u0);
    let mut last_step = b - a;
    for _ in 0..300 {
        let (q, dq) = match known.take() {
            Some(v) => v,
            None => f.qd(u),
        };
        if q == 0.0 {
            return u;
        }
        if (q < 0.0) == neg_a {
            a = u;
        } else {
            b = u;
        }
        if b - a <= tol * (1.0 + u.abs()) {
            return 0.5 * (a + b);
        }
        let newton = u - q / dq;
        let step = (newton - u).abs();
        if dq != 0.0 && newton > a && newton < b && step <= 0.5 * last_step {
            if step <= 0.1 * tol * (1.0 + u.abs()) {
                return newton;
            }
            last_step = step;
            u = newton;
        } else {
            last_step = 0.5 * (b - a);
            u = 0.5 * (a + b);
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rate of an annuity: pay `p` today, receive `a` on each of `m` days (days 1..=m); solved
    /// independently by bisection on the closed form of the geometric sum.
    fn annuity_rate(p: f64, a: f64, m: usize) -> f64 {
        let f = |r: f64| {
            let x = (1.0f64 + r).powf(-1.0 / 365.0);
            // −p x + a Σ_{t=1}^{m} x^{t+1} = −p x + a x² (1 − x^m) / (1 − x)
            -p * x + a * x * x * (1.0 - x.powi(m as i32)) / (1.0 - x)
        };
        let (mut lo, mut hi) = (-0.5, 5.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if (f(mid) > 0.0) == (f(lo) > 0.0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    #[test]
    fn one_year_exactly() {
        let mut c = vec![0.0; 366];
        c[0] = -100.0;
        c[365] = 112.5;
        assert!((irr(&c).unwrap() - 0.125).abs() < 1e-12);
        // Two years: (1+r)^2 = 1.21.
        let mut c = vec![0.0; 731];
        c[0] = -100.0;
        c[730] = 121.0;
        assert!((irr(&c).unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn annuities_match_the_closed_form() {
        for (p, a, m) in [
            (1000.0, 0.35, 5475usize),
            (1000.0, 1.0, 3650),
            (5e8, 2e5, 5475),
            (1000.0, 0.2, 5475),
        ] {
            let mut c = vec![0.0; m + 1];
            c[0] = -p;
            for v in c.iter_mut().skip(1) {
                *v = a;
            }
            let want = annuity_rate(p, a, m);
            let got = irr(&c).unwrap();
            assert!(
                (got - want).abs() <= 1e-10 * (1.0 + want.abs()),
                "{p} {a} {m}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn two_sign_changes_give_the_smallest_root() {
        // −1, +2.3, −1.32 a year apart: Q = −1 + 2.3 y − 1.32 y², y = (1+r)^-1 → roots
        // 1+r = 1.1 and 1.2: r = 10% and 20%. The smallest is 10%.
        let mut c = vec![0.0; 731];
        c[0] = -1.0;
        c[365] = 2.3;
        c[730] = -1.32;
        let r = irr(&c).unwrap();
        assert!((r - 0.1).abs() < 1e-12, "{r}");
        // Flipping every sign keeps the roots.
        let neg: Vec<f64> = c.iter().map(|v| -v).collect();
        assert!((irr(&neg).unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn no_root_cases() {
        assert_eq!(irr(&[0.0; 100]), None);
        assert_eq!(irr(&[-1.0, -2.0, 0.0]), None);
        assert_eq!(irr(&[5.0; 50]), None);
        // −1 then +1.0e-9 a year later: the rate would be below −99%.
        let mut c = vec![0.0; 366];
        c[0] = -1.0;
        c[365] = 1e-9;
        assert_eq!(irr(&c), None);
        // −1, +2, −1.5 a year apart: Q = −1 + 2y − 1.5y² < 0 for every y (discriminant < 0).
        let mut c = vec![0.0; 731];
        c[0] = -1.0;
        c[365] = 2.0;
        c[730] = -1.5;
        assert_eq!(irr(&c), None);
        assert_eq!(irr(&[f64::NAN, 1.0]), None);
    }

    #[test]
    fn a_root_near_minus_ninety_percent() {
        let mut c = vec![0.0; 366];
        c[0] = -100.0;
        c[365] = 5.0;
        assert!((irr(&c).unwrap() + 0.95).abs() < 1e-12);
    }

    #[test]
    fn the_derivative_pass_agrees_with_the_plain_sum() {
        let c: Vec<f64> = (0..1003).map(|t| ((t * 37 % 101) as f64) - 50.0).collect();
        let x = 0.9995;
        let (q, tq) = horner::<1, W1>(&c, [x], 0);
        let (q, tq) = (q[0], tq);
        let q0: f64 = c
            .iter()
            .enumerate()
            .map(|(t, v)| v * x.powi(t as i32))
            .sum();
        let tq0: f64 = c
            .iter()
            .enumerate()
            .map(|(t, v)| v * t as f64 * x.powi(t as i32))
            .sum();
        assert!((q - q0).abs() < 1e-9 * q0.abs().max(1.0), "{q} {q0}");
        assert!((tq - tq0).abs() < 1e-9 * tq0.abs().max(1.0), "{tq} {tq0}");
    }
}

#[cfg(test)]
mod wide {
    use super::*;

    /// Series of a project: capex for `build` days, then noisy rent, a terminal value; a small
    /// deterministic generator (no dependency on the engine's streams).
    fn project(seed: u64, len: usize) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let build = 30 + (next() * 700.0) as usize;
        let mut c = vec![0.0; len];
        for (t, v) in c.iter_mut().enumerate() {
            *v = if t < build {
                -1e6 * (0.5 + next())
            } else {
                1e5 * (0.2 + next()) - if next() < 0.01 { 3e6 } else { 0.0 }
            };
        }
        c[len - 1] = 3e7 * (next() - 0.3);
        c
    }

    /// A series times a power of two has the same IRR, bit for bit: every operation of the
    /// method is of degree one in the series (Horner sums, the sign test's bounds) or zero
    /// (signs, ratios), so each intermediate value is scaled exactly. The equity books rely on
    /// it to solve a sweep's proportional shares once (`payoff::finance::dyadic_multiple`).
    #[test]
    fn a_power_of_two_times_a_series_has_the_same_irr_bits() {
        let mut roots = 0;
        for seed in 0..40u64 {
            let c = project(seed, 5476);
            let base = irr(&c);
            roots += base.is_some() as usize;
            for f in [0.25, 0.5, 2.0, 1024.0, 2f64.powi(-40)] {
                let fc: Vec<f64> = c.iter().map(|v| v * f).collect();
                assert_eq!(
                    irr(&fc).map(f64::to_bits),
                    base.map(f64::to_bits),
                    "seed {seed}, factor {f}"
                );
                let pair = irr_pair(&fc, &c);
                assert_eq!(pair.0.map(f64::to_bits), base.map(f64::to_bits));
            }
        }
        assert!(roots > 20, "{roots} of 40 series have a root");
    }

    /// Series without a sign change on the coarse grid, some of whose points the coarse bound
    /// cannot settle: [`settled_bracket`] (exact values only where the bound is uncertain) finds
    /// the bracket the exact grid scan of 96 passes finds, or none when it finds none, and the
    /// IRR is [`scan_exact`]'s, bit for bit.
    #[test]
    fn settled_brackets_are_the_exact_scans() {
        let gp = grid_powers();
        let (mut uncertain, mut rooted, mut none) = (0, 0, 0);
        let mut check = |c: &[f64], label: String| {
            let cs = coarse(c);
            let plast = last_powers(c.len());
            if coarse_scan(&cs, gp, &plast).is_some() {
                return;
            }
            let (m, _) = uncertain_points(&cs, c, gp, &plast);
            let settled = settled_bracket(&cs, c, gp, &plast);
            let exact = first_bracket(|u| q_exact(c, u));
            assert_eq!(settled, exact, "{label}");
            assert_eq!(
                irr(c).map(f64::to_bits),
                scan_exact(c).map(f64::to_bits),
                "{label}"
            );
            uncertain += (m != 0 && m != u128::MAX >> (128 - GRID)) as usize;
            rooted += exact.is_some() as usize;
            none += exact.is_none() as usize;
        };
        for seed in 0..3000u64 {
            // A project with its rent shrunk toward break-even, and a little of it: roots that
            // come and go, tangencies, and rootless series with small `Q` at some rates.
            let mut c = project(seed, 1500);
            let k = 0.2 + 0.005 * (seed % 200) as f64;
            for v in c.iter_mut().skip(200) {
                *v *= k;
            }
            check(&c, format!("seed {seed}"));
        }
        // Two roots close together, `1 − b x^385 + 4 x^830` near a double root: for some `b`
        // the exact scan finds the pair on a grid point that the coarse copy (its days moved to
        // their buckets' middles) misses.
        for j in 0..2000 {
            let b = 3.78 + 0.04 * j as f64 / 2000.0;
            let mut c = vec![0.0; 1000];
            (c[0], c[385], c[830]) = (1.0, -b, 4.0);
            check(&c, format!("b {b}"));
        }
        assert!(
            uncertain > 0,
            "series with points settled and points evaluated"
        );
        assert!(rooted > 0, "series with a root only the exact scan sees");
        assert!(none > 0, "series with no root");
    }

    /// The AVX2 build and the baseline build give the same bits.
    #[test]
    fn a_pair_is_two_irrs_bit_for_bit() {
        // Pairs of project series (both with a root, as a path's AI and equity cash), with
        // series without a root, and of different lengths (and of lengths not a multiple of
        // the chains): each result is `irr`'s.
        let mut none = 0;
        for seed in 0..48u64 {
            let len = 5476 - (seed as usize % 3) * 7;
            let a = project(seed, len);
            let mut b = project(seed + 100, len);
            if seed % 5 == 0 {
                // No sign change.
                b.iter_mut().for_each(|v| *v = v.abs());
            }
            let c = project(seed + 200, len - (seed % 2) as usize);
            for (x, y) in [(&a, &b), (&b, &a), (&a, &c), (&a, &a)] {
                let (p, q) = irr_pair(x, y);
                assert_eq!(p.map(f64::to_bits), irr(x).map(f64::to_bits), "seed {seed}");
                assert_eq!(q.map(f64::to_bits), irr(y).map(f64::to_bits), "seed {seed}");
                none += q.is_none() as usize;
            }
        }
        assert!(none > 0);
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        for seed in 0..64 {
            let c = project(seed, 5476 - (seed as usize % 40));
            let a = irr(&c).map(f64::to_bits);
            let b = irr_inline(&c).map(f64::to_bits);
            assert_eq!(a, b, "seed {seed}");
        }
    }

    /// The hand-vectorized pass with the `t`-weighted sum is [`horner`]'s, bit for bit: series
    /// of every length around the chains' width (tails included), points over the whole grid.
    #[test]
    fn the_derivative_pass_by_hand_is_horners() {
        if !wide() {
            return;
        }
        for seed in 0..40u64 {
            let c = project(seed, 5476 - (seed as usize % 37) * 3);
            for len in [c.len(), 1, 15, 16, 17, 171, 300] {
                for &u in grid().iter().step_by(7) {
                    let x = x_of(u);
                    let (q, tq) = horner::<1, W1>(&c[..len], [x], 0);
                    // SAFETY: `wide()`: the CPU has AVX2.
                    let (qh, tqh) = unsafe { qd_pass_avx2(&c[..len], x) };
                    assert_eq!(
                        (q[0].to_bits(), tq.to_bits()),
                        (qh[0].to_bits(), tqh.to_bits()),
                        "seed {seed} len {len} u {u}"
                    );
                }
            }
        }
    }

    /// Against bisection on the plain discounted sum (MODEL.md §10's definition), for series
    /// with one sign change (one root): to 1e-10.
    #[test]
    fn project_series_match_bisection() {
        let npv = |c: &[f64], r: f64| -> f64 {
            c.iter()
                .enumerate()
                .map(|(t, v)| v * (1.0f64 + r).powf(-((t + 1) as f64) / 365.0))
                .sum()
        };
        let mut checked = 0;
        for seed in 0..64 {
            let mut c = project(seed, 4000);
            // Rent without the losses after the build: one sign change.
            let first = c.iter().position(|&v| v > 0.0).expect("rent");
            for v in c[first..].iter_mut() {
                *v = v.abs();
            }
            let changes = c
                .windows(2)
                .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
                .count();
            if changes != 1 {
                continue;
            }
            let (mut lo, mut hi) = (-0.99f64, 100.0f64);
            if (npv(&c, lo) < 0.0) == (npv(&c, hi) < 0.0) {
                assert_eq!(irr(&c), None, "seed {seed}");
                continue;
            }
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if (npv(&c, mid) < 0.0) == (npv(&c, lo) < 0.0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let want = 0.5 * (lo + hi);
            let got = irr(&c).expect("a root");
            assert!(
                (got - want).abs() < 1e-10 * (1.0 + want.abs()),
                "{seed}: {got} {want}"
            );
            checked += 1;
        }
        assert!(checked > 20, "{checked}");
    }
}

#[cfg(test)]
mod late_start {
    use super::*;

    /// Leading zeros (a conversion decided after day 0) and a loss: a negative rate.
    #[test]
    fn a_project_that_starts_late_and_loses_money() {
        let mut c = vec![0.0; 2921];
        for v in c.iter_mut().take(730).skip(365) {
            *v = -1e7;
        }
        for v in c.iter_mut().take(2920).skip(730) {
            *v = 1.4e6;
        }
        let f = |r: f64| -> f64 {
            c.iter()
                .enumerate()
                .map(|(t, v)| v * (1.0f64 + r).powf(-((t + 1) as f64) / 365.0))
                .sum()
        };
        let r = irr(&c).expect("a root");
        assert!(f(r).abs() < 1e-6 * 3.65e9, "{r} {}", f(r));
        assert!(r < 0.0 && r > -0.2, "{r}");
    }
}
