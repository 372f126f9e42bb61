//! Exact floating-point sums whose rounded value does not depend on the order of the terms.
//!
//! Why: regression sums computed on separate machines (MODEL.md section 12, `optimal` in shards)
//! must merge into the very bits of the single-machine sums. Ordinary `f64` addition is not
//! associative, so the grouping of blocks into shards would leak into the last bits. [`ExactSum`]
//! keeps the sum *exactly* as a short list of non-overlapping `f64` partials (Shewchuk 1997, the
//! algorithm of Python's `math.fsum`) and rounds it once, correctly, in [`ExactSum::value`]: the
//! exact sum of a set of numbers is unique, so its correct rounding is too, whatever the order or
//! grouping of the additions.

use serde::{Deserialize, Serialize};

/// An exact running sum of finite `f64` values (non-finite terms make the value non-finite).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactSum {
    /// Non-overlapping partials, increasing in magnitude; their exact sum is the running sum.
    partials: Vec<f64>,
    /// The plain sum of non-finite terms (0 while every term is finite).
    special: f64,
}

impl ExactSum {
    /// An empty sum (value 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `x` exactly.
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            self.special += x;
            return;
        }
        let mut x = x;
        let mut i = 0;
        for k in 0..self.partials.len() {
            let mut y = self.partials[k];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            // Two-sum: hi + lo == x + y exactly (|x| >= |y|).
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        self.partials.truncate(i);
        self.partials.push(x);
    }

    /// Adds every term of another exact sum.
    pub fn merge(&mut self, o: &ExactSum) {
        for &p in &o.partials {
            self.add(p);
        }
        self.special += o.special;
    }

    /// The exact sum rounded to the nearest `f64` (ties to even), as Python's `math.fsum`.
    pub fn value(&self) -> f64 {
        if self.special != 0.0 || self.special.is_nan() {
            return self.special;
        }
        let p = &self.partials;
        let mut n = p.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        // Half-way case: the rest of the partials decide the direction of the rounding.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Vec<f64> {
        let mut s = 7u64;
        (0..5000)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                // Wide magnitudes and cancellation: plain summation order matters here.
                u * 10f64.powi((i % 23) - 8)
            })
            .collect()
    }

    #[test]
    fn known_exact_cases() {
        let mut s = ExactSum::new();
        for x in [1e100, 1.0, -1e100, 1e-100] {
            s.add(x);
        }
        assert_eq!(s.value(), 1.0 + 1e-100);
        let mut s = ExactSum::new();
        for _ in 0..10 {
            s.add(0.1);
        }
        assert_eq!(s.value(), 1.0);
        assert_eq!(ExactSum::new().value(), 0.0);
        // Half-way: 1 + 2^-53 + 2^-106 rounds up, 1 + 2^-53 alone rounds to even (1).
        let mut s = ExactSum::new();
        s.add(1.0);
        s.add(2f64.powi(-53));
        assert_eq!(s.value(), 1.0);
        s.add(2f64.powi(-106));
        assert_eq!(s.value(), 1.0 + 2f64.powi(-52));
        let mut s = ExactSum::new();
        s.add(f64::INFINITY);
        s.add(1.0);
        assert_eq!(s.value(), f64::INFINITY);
    }

    #[test]
    fn any_order_and_grouping_gives_the_same_bits() {
        let t = terms();
        let mut all = ExactSum::new();
        t.iter().for_each(|&x| all.add(x));
        let mut rev = ExactSum::new();
        t.iter().rev().for_each(|&x| rev.add(x));
        assert_eq!(all.value().to_bits(), rev.value().to_bits());
        for parts in [2, 3, 7, 16] {
            let mut merged = ExactSum::new();
            for c in t.chunks(t.len().div_ceil(parts)).rev() {
                let mut s = ExactSum::new();
                c.iter().for_each(|&x| s.add(x));
                merged.merge(&s);
            }
            assert_eq!(merged.value().to_bits(), all.value().to_bits(), "{parts}");
        }
        // Against an independent exact reference: integer arithmetic on a common scale (every
        // term is a multiple of 2^-200 far above the smallest, so the i128 sum below is exact
        // for the terms kept).
        let ints: Vec<f64> = (0..2000)
            .map(|i| ((i * 7919) % 1013) as f64 - 506.0)
            .collect();
        let mut s = ExactSum::new();
        ints.iter().for_each(|&x| s.add(x * 0.125));
        let exact: i128 = ints.iter().map(|&x| x as i128).sum();
        assert_eq!(s.value(), exact as f64 * 0.125);
    }
}
