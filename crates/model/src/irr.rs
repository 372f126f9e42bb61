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
//! How a root is found, robustly and cheaply (a path's series has thousands of days and a run has
//! tens of thousands of paths):
//!
//! 1. No sign change in the series (Descartes' rule of signs): no root.
//! 2. A coarse copy of the series (sums over buckets of [`BUCKET`] days, each at its bucket's
//!    middle) is scanned on a grid of rates from [`R_MIN`] to [`R_MAX`], uniform in `ln(1+r)`, from
//!    the lowest rate up; the first sign change brackets the smallest root of the coarse copy,
//!    which bisection then narrows (cheap: the copy is 1/[`BUCKET`] of the series).
//! 3. The exact series: from the coarse root, Newton steps in `u = ln(1+r)` on the exact `Q`
//!    (value and derivative in one pass), kept inside a bracket verified on the exact series;
//!    a step that leaves the bracket or does not shrink it fast enough is replaced by bisection.
//!    It stops when the bracket or the step is below 1e-13 in `u`, so the rate is exact to ~1e-12.
//!    If the coarse bracket does not hold on the exact series (a root pair closer than the grid),
//!    the exact series is scanned on the grid itself. Never a fixed-iteration Newton.
//!
//! Roots outside `[R_MIN, R_MAX]` (below −99% or above +10,000% a year) are reported as no root,
//! as are pairs of roots closer together than one grid step (the series then barely changes sign).

/// Lowest rate searched, per year.
pub const R_MIN: f64 = -0.99;
/// Highest rate searched, per year.
pub const R_MAX: f64 = 100.0;
/// Days per bucket of the coarse series.
pub const BUCKET: usize = 32;
/// Grid points of the scan, uniform in `ln(1 + r)` over `[R_MIN, R_MAX]`.
pub const GRID: usize = 96;

/// `Q(x) = Σ c_t x^t` and `Σ t c_t x^t` (for the derivative), in eight interleaved Horner chains
/// (so the work vectorizes and the chain latency is hidden); plain multiplies and adds, the same
/// IEEE operations on every instruction set.
fn q_and_tq(c: &[f64], x: f64, with_derivative: bool) -> (f64, f64) {
    const W: usize = 8;
    let full = c.len() / W;
    let mut xp = [1.0f64; W];
    for j in 1..W {
        xp[j] = xp[j - 1] * x;
    }
    let y = xp[W - 1] * x;
    // The tail past the last full chunk, highest powers: evaluated directly.
    let mut tail = 0.0;
    let mut tail_t = 0.0;
    let mut p = y.powi(full as i32);
    for (t, &v) in c.iter().enumerate().skip(full * W) {
        tail += v * p;
        tail_t += v * t as f64 * p;
        p *= x;
    }
    let mut acc = [0.0f64; W];
    let mut acc_t = [0.0f64; W];
    for k in (0..full).rev() {
        let chunk = &c[k * W..k * W + W];
        for j in 0..W {
            acc[j] = acc[j] * y + chunk[j];
        }
        if with_derivative {
            let base = (k * W) as f64;
            for j in 0..W {
                acc_t[j] = acc_t[j] * y + chunk[j] * (base + j as f64);
            }
        }
    }
    let mut q = tail;
    let mut tq = tail_t;
    for j in 0..W {
        q += acc[j] * xp[j];
        tq += acc_t[j] * xp[j];
    }
    (q, tq)
}

/// `x = (1 + r)^(-1/365)` for `u = ln(1 + r)`.
#[inline]
fn x_of(u: f64) -> f64 {
    (-u / 365.0).exp()
}

/// The sign of `Q` at `u` on the exact series (0 counts as a root).
fn q_exact(c: &[f64], u: f64) -> f64 {
    q_and_tq(c, x_of(u), false).0
}

/// The coarse series: sums over buckets of [`BUCKET`] days, each placed at its bucket's middle
/// day (the last bucket may be shorter).
struct Coarse {
    /// Sums of the full buckets.
    full: Vec<f64>,
    /// Sum of the last, partial bucket and its middle day (0 and 0 when there is none).
    last: (f64, f64),
}

fn coarse(c: &[f64]) -> Coarse {
    let nfull = c.len() / BUCKET;
    let full = c[..nfull * BUCKET]
        .chunks(BUCKET)
        .map(|b| b.iter().sum())
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

/// The coarse `Q` at `u`: Horner in `x^BUCKET` over the full buckets.
fn q_coarse(cs: &Coarse, u: f64) -> f64 {
    let x = x_of(u);
    let y = x.powi(BUCKET as i32);
    let mut h = 0.0;
    for &v in cs.full.iter().rev() {
        h = h * y + v;
    }
    let mid0 = (BUCKET as f64 - 1.0) / 2.0;
    h * x.powf(mid0) + cs.last.0 * x.powf(cs.last.1)
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

/// The first sign change of `f` on the grid, lowest rate first: `(u_lo, u_hi)`, or an exact zero
/// `(u, u)`.
fn first_bracket(f: impl Fn(f64) -> f64) -> Option<(f64, f64)> {
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
    if !cash.iter().all(|v| v.is_finite()) {
        return None;
    }
    let mut sign = 0.0f64;
    let mut changes = 0usize;
    for &v in cash {
        if v != 0.0 {
            let s = v.signum();
            if sign != 0.0 && s != sign {
                changes += 1;
            }
            sign = s;
        }
    }
    if changes == 0 {
        return None;
    }
    // The coarse copy locates the smallest root; the exact series confirms and polishes it.
    let cs = coarse(cash);
    let located = first_bracket(|u| q_coarse(&cs, u)).map(|(a, b)| {
        if a == b {
            return a;
        }
        let (mut lo, mut hi) = (a, b);
        let f_lo = q_coarse(&cs, lo);
        // 24 halvings of a grid step (~0.1 in u): ~6e-9, well inside the exact bracket below.
        for _ in 0..24 {
            let mid = 0.5 * (lo + hi);
            let fm = q_coarse(&cs, mid);
            if (fm < 0.0) == (f_lo < 0.0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    });
    let step = grid()[1] - grid()[0];
    if let Some(u0) = located {
        // An exact bracket around the coarse root, widened a little at a time.
        let mut w = 1e-4f64.max(1e-3 * u0.abs());
        while w <= step {
            let (a, b) = (u0 - w, u0 + w);
            let (fa, fb) = (q_exact(cash, a), q_exact(cash, b));
            if fa == 0.0 {
                return Some(a.exp_m1());
            }
            if fb == 0.0 {
                return Some(b.exp_m1());
            }
            if (fa < 0.0) != (fb < 0.0) {
                return Some(polish(cash, a, b, fa, u0).exp_m1());
            }
            w *= 8.0;
        }
    }
    // The coarse copy misled (or found nothing): scan the exact series on the grid.
    let (a, b) = first_bracket(|u| q_exact(cash, u))?;
    if a == b {
        return Some(a.exp_m1());
    }
    let fa = q_exact(cash, a);
    Some(polish(cash, a, b, fa, 0.5 * (a + b)).exp_m1())
}

/// Safeguarded Newton on the exact `Q` in `u`, inside the verified bracket `[a, b]` (`fa = Q(a)`,
/// the sign of `Q(b)` is the other one), starting at `u0`: a Newton step that leaves the bracket,
/// or that is not at most half the one before, is replaced by a bisection, so the bracket always
/// shrinks and the loop ends.
fn polish(c: &[f64], mut a: f64, mut b: f64, fa: f64, u0: f64) -> f64 {
    let neg_a = fa < 0.0;
    let mut u = u0.clamp(a, b);
    let mut last_step = b - a;
    for _ in 0..300 {
        let (q, tq) = q_and_tq(c, x_of(u), true);
        if q == 0.0 {
            return u;
        }
        if (q < 0.0) == neg_a {
            a = u;
        } else {
            b = u;
        }
        if b - a <= 1e-13 * (1.0 + u.abs()) {
            return 0.5 * (a + b);
        }
        // dQ/du = Σ t c_t x^t · (−1/365).
        let dq = -tq / 365.0;
        let newton = u - q / dq;
        let step = (newton - u).abs();
        if dq != 0.0 && newton > a && newton < b && step <= 0.5 * last_step {
            if step <= 1e-14 * (1.0 + u.abs()) {
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
        let (q, tq) = q_and_tq(&c, x, true);
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
