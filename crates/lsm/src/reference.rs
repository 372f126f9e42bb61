//! Deterministic option references the Monte Carlo is checked against: Black–Scholes for the
//! European put and the Cox–Ross–Rubinstein binomial tree for European, American and Bermudan puts.
//!
//! The binomial value oscillates with the number of steps (the strike falls between nodes
//! differently for odd and even trees); [`american_put`] and [`bermudan_put`] average two adjacent
//! tree sizes, which cancels most of that oscillation. Checked against Longstaff–Schwartz (2001)
//! Table 1's finite-difference values in the tests ([`crate::table1`]).

use crate::LsmError;

/// Standard normal cumulative distribution (via `erfc`, accurate to ~1e-15 relative).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function (W. J. Cody's rational approximations, as in most libms).
pub fn erfc(x: f64) -> f64 {
    // Cody (1969): erf by a rational function below 0.5, erfc = exp(-x²) R(x) above, ~1e-16
    // relative; tested against tabulated normal probabilities below.
    let ax = x.abs();
    if ax < 0.5 {
        1.0 - erf_small(x)
    } else if ax < 4.0 {
        let p = [
            3.004_592_610_201_616e2,
            4.519_189_537_118_729e2,
            3.393_208_167_343_437e2,
            1.529_892_850_469_404e2,
            4.316_222_722_205_674e1,
            7.211_758_250_883_094,
            5.641_955_174_789_74e-1,
            -1.368_648_573_827_167e-7,
        ];
        let q = [
            3.004_592_609_569_833e2,
            7.909_509_253_278_98e2,
            9.313_540_948_506_096e2,
            6.389_802_644_656_312e2,
            2.775_854_447_439_876e2,
            7.700_015_293_522_947e1,
            1.278_272_731_962_942e1,
            1.0,
        ];
        let num = poly(&p, ax);
        let den = poly(&q, ax);
        let v = (-ax * ax).exp() * num / den;
        if x < 0.0 {
            2.0 - v
        } else {
            v
        }
    } else {
        let p = [
            -2.996_107_077_035_422e-3,
            -4.947_309_106_232_507e-2,
            -2.269_565_935_396_869e-1,
            -2.786_613_086_096_478e-1,
            -2.231_924_597_341_847e-2,
        ];
        let q = [
            1.062_092_305_284_679e-2,
            1.913_089_261_078_298e-1,
            1.051_675_107_067_932,
            1.987_332_018_171_353,
            1.0,
        ];
        let z = 1.0 / (ax * ax);
        let v = (-ax * ax).exp() / ax
            * (1.0 / std::f64::consts::PI.sqrt() + z * poly(&p, z) / poly(&q, z));
        if x < 0.0 {
            2.0 - v
        } else {
            v
        }
    }
}

fn erf_small(x: f64) -> f64 {
    let p = [
        3.209_377_589_138_469e3,
        3.774_852_376_853_02e2,
        1.138_641_541_510_502e2,
        3.161_123_743_870_566,
        1.857_777_061_846_032e-1,
    ];
    let q = [
        2.844_236_833_439_171e3,
        1.282_616_526_077_372e3,
        2.440_246_379_344_442e2,
        2.360_129_095_234_412e1,
        1.0,
    ];
    let z = x * x;
    x * poly(&p, z) / poly(&q, z)
}

fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// Black–Scholes value of a European put (no dividends).
pub fn bs_put(spot: f64, strike: f64, rate: f64, vol: f64, years: f64) -> f64 {
    if years <= 0.0 || vol <= 0.0 {
        return (strike * (-rate * years.max(0.0)).exp() - spot).max(0.0);
    }
    let sq = vol * years.sqrt();
    let d1 = ((spot / strike).ln() + (rate + 0.5 * vol * vol) * years) / sq;
    let d2 = d1 - sq;
    strike * (-rate * years).exp() * norm_cdf(-d2) - spot * norm_cdf(-d1)
}

/// When a binomial put may be exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exercise {
    /// At maturity only.
    European,
    /// At every node.
    American,
    /// Every `every` steps (steps `0, every, 2·every, …`, maturity included).
    Every(usize),
}

/// Cox–Ross–Rubinstein binomial value of a put with `steps` steps.
///
/// The backward induction is arranged for speed with the same arithmetic per node as the textbook
/// loop (kept as the test reference, `crr_put_plain`), so the value is bit-identical to it: the
/// spot at node `i` of step `n` is the running product `S·dⁿ·u²·u²·…`, a serial chain of
/// multiplications that would keep the node loop scalar. It is computed apart, for up to
/// [`CHAINS`] exercise steps at once (independent chains interleave), and only up to the first
/// node above the strike: above it the put's exercise value is negative while the continuation is
/// not, so the node's value is the continuation and the node loop is a plain vector loop.
/// The node loops run as AVX2 vector loops where the CPU has it ([`crate::isa`]; the same bits).
pub fn crr_put(
    spot: f64,
    strike: f64,
    rate: f64,
    vol: f64,
    years: f64,
    steps: usize,
    exercise: Exercise,
) -> f64 {
    let t = Tree::new(spot, strike, rate, vol, years, steps);
    crate::isa::dispatch(
        #[inline(always)]
        || t.induction(exercise),
    )
}

impl Tree {
    /// The backward induction of [`crr_put`].
    #[inline(always)]
    fn induction(&self, exercise: Exercise) -> f64 {
        let (t, steps, strike) = (self, self.steps, self.strike);
        // The shortcut needs non-negative continuations and an increasing spot chain; otherwise (a
        // degenerate tree) every node takes the textbook path.
        let fast = t.a >= 0.0 && t.b >= 0.0 && t.u2 >= 1.0;
        let mut v = t.terminal();
        let can = |n: usize| match exercise {
            Exercise::European => false,
            Exercise::American => true,
            Exercise::Every(k) => n.is_multiple_of(k),
        };
        let mut chains = Chains::new(steps);
        for n in (0..steps).rev() {
            if !can(n) {
                t.roll(&mut v[..=n + 1], 0);
                continue;
            }
            if !fast {
                t.exercise_row(&mut v[..=n + 1], n);
                continue;
            }
            if !chains.holds(n) {
                // This step and the next exercise steps below it, as many as fit.
                let rows: Vec<usize> = (n.saturating_sub(CHAINS - 1)..=n)
                    .rev()
                    .filter(|&m| can(m))
                    .collect();
                chains.fill(t, &rows);
            }
            let s = chains.row(n);
            // Nodes 0..m are at or below the strike (the chain increases).
            let m = s.partition_point(|&x| x <= strike);
            let (a, b) = (t.a, t.b);
            for i in 0..m {
                let cont = b * v[i] + a * v[i + 1];
                v[i] = cont.max(strike - s[i]);
            }
            t.roll(&mut v[..=n + 1], m);
        }
        v[0]
    }
}

/// Exercise steps whose spot chains are computed together.
const CHAINS: usize = 4;

/// The parameters of one CRR tree.
struct Tree {
    spot: f64,
    strike: f64,
    steps: usize,
    d: f64,
    u2: f64,
    /// Discounted up and down probabilities.
    a: f64,
    b: f64,
}

impl Tree {
    fn new(spot: f64, strike: f64, rate: f64, vol: f64, years: f64, steps: usize) -> Tree {
        let dt = years / steps as f64;
        let u = (vol * dt.sqrt()).exp();
        let d = 1.0 / u;
        let disc = (-rate * dt).exp();
        let pu = ((rate * dt).exp() - d) / (u - d);
        Tree {
            spot,
            strike,
            steps,
            d,
            u2: u * u,
            a: disc * pu,
            b: disc * (1.0 - pu),
        }
    }

    /// The payoffs at maturity, `v[i]` at the node with `i` up-moves.
    fn terminal(&self) -> Vec<f64> {
        let mut v: Vec<f64> = Vec::with_capacity(self.steps + 1);
        let mut s = self.spot * self.d.powi(self.steps as i32);
        for _ in 0..=self.steps {
            v.push((self.strike - s).max(0.0));
            s *= self.u2;
        }
        v
    }

    /// Discounted expectation without exercise for nodes `from..` of the step whose next step's
    /// values are `v` (one longer than the step).
    #[inline(always)]
    fn roll(&self, v: &mut [f64], from: usize) {
        let (a, b) = (self.a, self.b);
        for i in from..v.len() - 1 {
            v[i] = b * v[i] + a * v[i + 1];
        }
    }

    /// The textbook exercise step `n` (every node's spot by the running product).
    #[inline(always)]
    fn exercise_row(&self, v: &mut [f64], n: usize) {
        let (a, b) = (self.a, self.b);
        let mut s = self.spot * self.d.powi(n as i32);
        for i in 0..=n {
            let cont = b * v[i] + a * v[i + 1];
            v[i] = cont.max(self.strike - s);
            s *= self.u2;
        }
    }
}

/// The spots of up to [`CHAINS`] exercise steps, each up to its first node above the strike.
struct Chains {
    /// `buf[r * stride ..][..len[r]]`: the chain of step `rows[r]`.
    buf: Vec<f64>,
    stride: usize,
    rows: [usize; CHAINS],
    len: [usize; CHAINS],
    count: usize,
}

impl Chains {
    fn new(steps: usize) -> Chains {
        Chains {
            buf: vec![0.0; CHAINS * (steps + 1)],
            stride: steps + 1,
            rows: [usize::MAX; CHAINS],
            len: [0; CHAINS],
            count: 0,
        }
    }

    fn holds(&self, n: usize) -> bool {
        self.rows[..self.count].contains(&n)
    }

    fn row(&self, n: usize) -> &[f64] {
        let r = self.rows[..self.count]
            .iter()
            .position(|&m| m == n)
            .expect("chain computed");
        &self.buf[r * self.stride..][..self.len[r]]
    }

    /// Computes the chains of `rows` (at most [`CHAINS`]) side by side: each is `S·dⁿ`, then
    /// multiplied by `u²` node after node, exactly as the textbook loop does; a chain stops after
    /// its first value above the strike or at its step's last node.
    #[inline(always)]
    fn fill(&mut self, t: &Tree, rows: &[usize]) {
        let g = rows.len();
        let mut s = [0.0; CHAINS];
        let mut cap = [0; CHAINS];
        for (r, &n) in rows.iter().enumerate() {
            s[r] = t.spot * t.d.powi(n as i32);
            cap[r] = n + 1;
            self.rows[r] = n;
        }
        self.count = g;
        let longest = cap[..g].iter().copied().max().unwrap_or(0);
        let stride = self.stride;
        let mut i = 0;
        while i < longest {
            for (r, sr) in s[..g].iter_mut().enumerate() {
                // Past its own last node a chain's values are never read (the rows are
                // `steps + 1` long, so the write stays in its row).
                self.buf[r * stride + i] = *sr;
                *sr *= t.u2;
            }
            i += 1;
            // Check now and then whether every chain has passed the strike.
            if i % 16 == 0 && (0..g).all(|r| i >= cap[r] || self.buf[r * stride + i - 1] > t.strike)
            {
                break;
            }
        }
        for (len, cap) in self.len.iter_mut().zip(&cap[..g]) {
            *len = i.min(*cap);
        }
    }
}

fn check(spot: f64, strike: f64, rate: f64, vol: f64, years: f64) -> Result<(), LsmError> {
    if !(spot.is_finite() && spot > 0.0) {
        return Err(LsmError::invalid("spot", spot, "use a price > 0"));
    }
    if !(strike.is_finite() && strike > 0.0) {
        return Err(LsmError::invalid("strike", strike, "use a price > 0"));
    }
    if !(rate.is_finite() && (-0.5..=1.0).contains(&rate)) {
        return Err(LsmError::invalid("rate", rate, "use -0.5 to 1 (a year)"));
    }
    if !(vol.is_finite() && vol > 0.0 && vol <= 5.0) {
        return Err(LsmError::invalid("vol", vol, "use a value in (0, 5]"));
    }
    if !(years.is_finite() && years > 0.0 && years <= 100.0) {
        return Err(LsmError::invalid("years", years, "use a value in (0, 100]"));
    }
    Ok(())
}

/// American put by CRR, averaging `steps` and `steps + 1` trees.
pub fn american_put(
    spot: f64,
    strike: f64,
    rate: f64,
    vol: f64,
    years: f64,
    steps: usize,
) -> Result<f64, LsmError> {
    check(spot, strike, rate, vol, years)?;
    let a = crr_put(spot, strike, rate, vol, years, steps, Exercise::American);
    let b = crr_put(
        spot,
        strike,
        rate,
        vol,
        years,
        steps + 1,
        Exercise::American,
    );
    Ok(0.5 * (a + b))
}

/// Bermudan put exercisable at `dates` equally spaced dates `years/dates, 2·years/dates, …, years`
/// and at time 0, by CRR with `per_date` and `per_date + 1` steps between dates, averaged.
pub fn bermudan_put(
    spot: f64,
    strike: f64,
    rate: f64,
    vol: f64,
    years: f64,
    dates: usize,
    per_date: usize,
) -> Result<f64, LsmError> {
    check(spot, strike, rate, vol, years)?;
    if dates == 0 {
        return Err(LsmError::invalid("exercise dates", 0, "use at least 1"));
    }
    let k = per_date.max(1);
    let a = crr_put(
        spot,
        strike,
        rate,
        vol,
        years,
        k * dates,
        Exercise::Every(k),
    );
    let b = crr_put(
        spot,
        strike,
        rate,
        vol,
        years,
        (k + 1) * dates,
        Exercise::Every(k + 1),
    );
    Ok(0.5 * (a + b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook CRR induction, node by node, on the same tree parameters (the arithmetic
    /// [`crr_put`] must reproduce bit for bit).
    fn crr_put_plain(
        (spot, strike, rate, vol, years): (f64, f64, f64, f64, f64),
        steps: usize,
        exercise: Exercise,
    ) -> f64 {
        let t = Tree::new(spot, strike, rate, vol, years, steps);
        let mut v = t.terminal();
        for n in (0..steps).rev() {
            let can = match exercise {
                Exercise::European => false,
                Exercise::American => true,
                Exercise::Every(k) => n.is_multiple_of(k),
            };
            let mut s = spot * t.d.powi(n as i32);
            for i in 0..=n {
                let cont = t.b * v[i] + t.a * v[i + 1];
                v[i] = if can { cont.max(strike - s) } else { cont };
                s *= t.u2;
            }
        }
        v[0]
    }

    #[test]
    fn crr_is_bit_identical_to_the_textbook_loop() {
        let cases = [
            (36.0, 40.0, 0.06, 0.2, 1.0),
            (44.0, 40.0, 0.06, 0.4, 2.0),
            (40.0, 40.0, -0.02, 0.3, 0.5),
            (10.0, 40.0, 0.9, 0.05, 3.0),
            (90.0, 40.0, 0.0, 1.5, 10.0),
            (39.99, 40.0, 0.06, 0.001, 1.0),
        ];
        let kinds = [
            Exercise::European,
            Exercise::American,
            Exercise::Every(1),
            Exercise::Every(2),
            Exercise::Every(3),
            Exercise::Every(5),
            Exercise::Every(80),
        ];
        for &(s, k, r, v, t) in &cases {
            for steps in [1, 2, 3, 4, 5, 7, 16, 17, 33, 250, 401] {
                for e in kinds {
                    let fast = crr_put(s, k, r, v, t, steps, e);
                    let plain = crr_put_plain((s, k, r, v, t), steps, e);
                    assert_eq!(
                        fast.to_bits(),
                        plain.to_bits(),
                        "S={s} K={k} r={r} σ={v} T={t} steps={steps} {e:?}: {fast} vs {plain}"
                    );
                }
            }
        }
        // The production sizes of `validate`, on Longstaff–Schwartz's first case.
        const LS1: (f64, f64, f64, f64, f64) = (36.0, 40.0, 0.06, 0.2, 1.0);
        let a = american_put(36.0, 40.0, 0.06, 0.2, 1.0, 4000).unwrap();
        let p = 0.5
            * (crr_put_plain(LS1, 4000, Exercise::American)
                + crr_put_plain(LS1, 4001, Exercise::American));
        assert_eq!(a.to_bits(), p.to_bits());
    }

    #[test]
    fn norm_cdf_known_values() {
        // Abramowitz & Stegun table 26.1.
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((norm_cdf(1.0) - 0.841_344_746_068_543).abs() < 1e-14);
        assert!((norm_cdf(-1.96) - 0.024_997_895_148_220_4).abs() < 1e-14);
        assert!((norm_cdf(3.0) - 0.998_650_101_968_37).abs() < 1e-14);
        assert!((norm_cdf(-5.0) - 2.866_515_718_791_939e-7).abs() < 1e-19);
        assert!((norm_cdf(0.3) - 0.617_911_422_188_953).abs() < 1e-14);
    }

    #[test]
    fn black_scholes_textbook_value() {
        // Hull, Options Futures and Other Derivatives, example 15.6: S=42, K=40, r=0.1, σ=0.2,
        // T=0.5: put = 0.81.
        let p = bs_put(42.0, 40.0, 0.1, 0.2, 0.5);
        assert!((p - 0.8086).abs() < 1e-4, "{p}");
    }

    #[test]
    fn crr_european_converges_to_black_scholes() {
        let bs = bs_put(36.0, 40.0, 0.06, 0.2, 1.0);
        let t = 0.5
            * (crr_put(36.0, 40.0, 0.06, 0.2, 1.0, 4000, Exercise::European)
                + crr_put(36.0, 40.0, 0.06, 0.2, 1.0, 4001, Exercise::European));
        assert!((t - bs).abs() < 2e-4, "{t} vs {bs}");
        // LS 2001 Table 1 closed-form European column: 3.844.
        assert!((bs - 3.844).abs() < 5e-4, "{bs}");
    }

    #[test]
    fn bermudan_between_european_and_american() {
        let (s, k, r, v, t) = (40.0, 40.0, 0.06, 0.4, 2.0);
        let eu = bs_put(s, k, r, v, t);
        let be = bermudan_put(s, k, r, v, t, 100, 40).unwrap();
        let am = american_put(s, k, r, v, t, 4000).unwrap();
        assert!(eu < be && be < am, "{eu} {be} {am}");
        // With 50 dates a year the Bermudan is within a few cents of the American.
        assert!(am - be < 0.03, "{am} {be}");
    }

    #[test]
    fn rejects_bad_inputs() {
        assert!(american_put(-1.0, 40.0, 0.06, 0.2, 1.0, 10).is_err());
        assert!(american_put(36.0, 40.0, 0.06, 0.0, 1.0, 10).is_err());
        assert!(bermudan_put(36.0, 40.0, 0.06, 0.2, 1.0, 0, 10).is_err());
    }
}
