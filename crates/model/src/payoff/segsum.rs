//! Sums of daily terms over ranges of days in O(1): prefix sums kept in double-double
//! (a sum and its rounding error, Knuth's two-sum and an exact product by `mul_add`), so a
//! range's sum is its exact value rounded a couple of times, however long the prefix before it.
//!
//! What it is for: between two of its events a lease pays `rate · esc[t − s]` on day `t` of a
//! term started on `s` (MODEL.md §5 and §8), and `esc[d] = (1+g)^(d/365)`, so the discounted rent
//! of days `a .. b` is `rate / esc[s] · Σ_{t=a}^{b−1} w_t · esc[t]`: one range of one prefix sum
//! shared by every lane and project ([`crate::payoff::slices`] values `optimal`'s
//! `(decision day, slice)` projects this way, by their events instead of their days). The
//! result is the day-by-day sum's value, not its bits: the terms are added in another order and
//! `esc[t − s]` is replaced by `esc[t] / esc[s]`; the two agree to a few units in the last
//! place of the sum (a test holds them within 1e-12 relative), far inside MODEL.md's 1e-9.

/// `a + b` as a rounded sum and its exact rounding error (Knuth's two-sum).
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Prefix sums `P[t] = Σ_{s<t} w_s · e_s` for `t = 0 ..= n`, each as `hi + lo`.
#[derive(Debug, Clone)]
pub struct Prefix {
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl Prefix {
    /// The prefix sums of `w_s · e_s` over `s = 0 .. min(w.len(), e.len())`.
    pub fn new(w: &[f64], e: &[f64]) -> Prefix {
        let n = w.len().min(e.len());
        let (mut hi, mut lo) = (Vec::with_capacity(n + 1), Vec::with_capacity(n + 1));
        let (mut h, mut l) = (0.0f64, 0.0f64);
        hi.push(h);
        lo.push(l);
        for s in 0..n {
            // The product exactly: p + pe = w · e.
            let p = w[s] * e[s];
            let pe = w[s].mul_add(e[s], -p);
            let (sum, err) = two_sum(h, p);
            let err = err + (l + pe);
            // Renormalized (|err| is far below |sum| unless both are ~0).
            h = sum + err;
            l = err - (h - sum);
            hi.push(h);
            lo.push(l);
        }
        Prefix { hi, lo }
    }

    /// Days covered (`P` has one more entry).
    pub fn days(&self) -> usize {
        self.hi.len() - 1
    }

    /// `Σ_{s=a}^{b−1} w_s · e_s` (0 when `b ≤ a`); `a, b ≤` [`Prefix::days`].
    #[inline(always)]
    pub fn range(&self, a: usize, b: usize) -> f64 {
        if b <= a {
            return 0.0;
        }
        let (s, e) = two_sum(self.hi[b], -self.hi[a]);
        s + (e + (self.lo[b] - self.lo[a]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact sum of a range by exact rational arithmetic on the f64 products' binary
    /// expansions is out of reach here; a compensated sum of the same terms computed in
    /// another order (Neumaier's, term by term) is accurate to ~1e-16 and written independently.
    fn neumaier(terms: impl Iterator<Item = f64>) -> f64 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for x in terms {
            let t = s + x;
            if s.abs() >= x.abs() {
                c += (s - t) + x;
            } else {
                c += (x - t) + s;
            }
            s = t;
        }
        s + c
    }

    #[test]
    fn ranges_are_the_sums_of_their_terms_to_the_last_bits() {
        let n = 5475;
        let w: Vec<f64> = (0..n)
            .map(|t| (-0.08f64 * (t as f64 + 1.0) / 365.0).exp())
            .collect();
        let e: Vec<f64> = (0..=n).map(|d| 1.03f64.powf(d as f64 / 365.0)).collect();
        let p = Prefix::new(&w, &e);
        assert_eq!(p.days(), n);
        for (a, b) in [
            (0, n),
            (0, 1),
            (5474, 5475),
            (4000, 4001),
            (17, 3650),
            (3650, 5475),
            (100, 100),
            (200, 100),
        ] {
            let want = if b > a {
                neumaier((a..b).map(|t| w[t] * e[t]))
            } else {
                0.0
            };
            let got = p.range(a, b);
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs(),
                "{a}..{b}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn a_short_range_late_in_a_long_prefix_keeps_its_digits() {
        // Terms that make the prefix 1e6 times the last term: a plain prefix sum would lose six
        // digits of a one-day range at the end.
        let n = 100_000;
        let w = vec![1.0; n];
        let e: Vec<f64> = (0..n).map(|t| 1.0 + 1e-7 * t as f64).collect();
        let p = Prefix::new(&w, &e);
        let got = p.range(n - 1, n);
        assert!(
            (got - e[n - 1]).abs() <= 2.0 * f64::EPSILON * e[n - 1],
            "{got}"
        );
    }
}
