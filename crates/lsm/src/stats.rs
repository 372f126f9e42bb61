//! Running mean and variance that merge exactly in a fixed order (Chan et al. pairwise update).

use serde::Serialize;

/// Count, mean and sum of squared deviations of a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Number of observations.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Stats {
    /// Adds one observation (Welford).
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Merges another sample into this one (Chan et al.). Merging blocks in a fixed order gives
    /// the same bits whatever thread computed each block.
    pub fn merge(&mut self, o: &Stats) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        let mean = self.mean + d * (o.n as f64 / n as f64);
        let m2 = self.m2 + o.m2 + d * d * (self.n as f64 * o.n as f64 / n as f64);
        *self = Stats { n, mean, m2 };
    }

    /// Sample variance (n − 1 denominator); 0 for fewer than two observations.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).max(0.0)
        }
    }

    /// Standard deviation of the sample.
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Standard error of the mean.
    pub fn stderr(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.variance() / self.n as f64).sqrt()
        }
    }

    /// The mean with its standard error.
    pub fn estimate(&self) -> Estimate {
        Estimate {
            value: self.mean,
            stderr: self.stderr(),
            paths: self.n,
        }
    }
}

/// A Monte Carlo estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Sample mean.
    pub value: f64,
    /// Standard error of the mean.
    pub stderr: f64,
    /// Number of paths.
    pub paths: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_equals_single_pass() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 * 0.37 - 50.0)
            .collect();
        let mut all = Stats::default();
        xs.iter().for_each(|&x| all.push(x));
        let mut merged = Stats::default();
        for c in xs.chunks(97) {
            let mut s = Stats::default();
            c.iter().for_each(|&x| s.push(x));
            merged.merge(&s);
        }
        assert_eq!(merged.n, 1000);
        assert!((merged.mean - all.mean).abs() < 1e-12);
        assert!((merged.variance() - all.variance()).abs() < 1e-9 * all.variance());
        let mean = xs.iter().sum::<f64>() / 1000.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 999.0;
        assert!((all.variance() - var).abs() < 1e-9 * var);
    }
}

/// Control-variate regression `y ≈ a + βᵀc` accumulated block by block (tall-skinny QR, merged in
/// block order). With controls of known means `μ`, `a + βᵀμ` estimates `E[y]` with the variance of
/// the residual only.
#[derive(Debug, Clone, PartialEq)]
pub struct Controls {
    k: usize,
    tri: crate::regress::Triangle,
    n: u64,
    sum_y: f64,
    sum_yy: f64,
}

impl Controls {
    /// Accumulates one block: `ys[i]` with its `k` controls `cs[i*k..(i+1)*k]`.
    pub fn block(ys: &[f64], cs: &[f64], k: usize) -> Self {
        let m = ys.len();
        let q = k + 2;
        let mut a = vec![0.0; m * q];
        for i in 0..m {
            a[i] = 1.0;
            for c in 0..k {
                a[(c + 1) * m + i] = cs[i * k + c];
            }
            a[(k + 1) * m + i] = ys[i];
        }
        Controls {
            k,
            tri: crate::regress::Triangle::from_block(&mut a, m, q),
            n: m as u64,
            sum_y: ys.iter().sum(),
            sum_yy: ys.iter().map(|y| y * y).sum(),
        }
    }

    /// Merges blocks in order.
    pub fn merge_all(blocks: &[Controls]) -> Option<Controls> {
        let mut it = blocks.iter();
        let mut all = it.next()?.clone();
        for b in it {
            all.tri.merge(&b.tri);
            all.n += b.n;
            all.sum_y += b.sum_y;
            all.sum_yy += b.sum_yy;
        }
        Some(all)
    }

    /// The control-variate estimate given the controls' known means (dropping controls that are
    /// constant or collinear, e.g. with zero volatility).
    pub fn estimate(&self, means: &[f64]) -> Estimate {
        let (coef, rank) = self.tri.solve(crate::regress::RCOND);
        let value = coef[0] + (0..self.k).map(|c| coef[c + 1] * means[c]).sum::<f64>();
        let q = self.k + 2;
        let resid = self.tri.r[q * q - 1];
        let dof = self.n.saturating_sub(rank as u64).max(1) as f64;
        Estimate {
            value,
            stderr: (resid * resid / dof / self.n as f64).sqrt(),
            paths: self.n,
        }
    }

    /// The plain mean of `y`, ignoring the controls.
    pub fn plain(&self) -> Estimate {
        let n = self.n as f64;
        let mean = self.sum_y / n;
        Stats {
            n: self.n,
            mean,
            m2: (self.sum_yy - n * mean * mean).max(0.0),
        }
        .estimate()
    }
}
