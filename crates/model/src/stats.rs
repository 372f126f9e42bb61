//! Statistics of per-path results, computed one way for every strategy: the mean and its
//! standard error (antithetic pairs as the independent units), type-7 quantiles, CVaR and the
//! probabilities of [`summarize`], and histograms on shared bins.

use crate::result::{Histogram, NpvStats, StrategyResult};

/// A Monte Carlo mean and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanStderr {
    /// Mean over the paths.
    pub mean: f64,
    /// Standard error of the mean.
    pub stderr: f64,
}

/// The mean of `v` (over paths, in path order) and its standard error over independent units:
/// single paths, or with `antithetic` the pairs `(2k, 2k + 1)` averaged (a pair's paths are
/// negatively correlated by construction, so they are one unit). Sample variance with `m − 1`;
/// fewer than two units give a standard error of 0. The one estimator of every strategy
/// ([`summarize`]) and of `optimal`'s in- and out-of-sample values.
///
/// ```
/// use hashpivot_model::stats::mean_stderr;
/// let e = mean_stderr(&[1.0, 3.0, 5.0, 7.0], false);
/// assert_eq!(e.mean, 4.0);
/// // Sample variance 20/3 over 4 paths.
/// assert_eq!(e.stderr, (20.0f64 / 3.0 / 4.0).sqrt());
/// // Antithetic: units 2 and 6, variance 8 over 2 units.
/// let a = mean_stderr(&[1.0, 3.0, 5.0, 7.0], true);
/// assert_eq!((a.mean, a.stderr), (4.0, 2.0));
/// ```
pub fn mean_stderr(v: &[f64], antithetic: bool) -> MeanStderr {
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let units: Vec<f64> = if antithetic {
        v.chunks(2)
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect()
    } else {
        v.to_vec()
    };
    let m = units.len();
    let stderr = if m < 2 {
        0.0
    } else {
        let mu = units.iter().sum::<f64>() / m as f64;
        let var = units.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / (m - 1) as f64;
        (var / m as f64).sqrt()
    };
    MeanStderr { mean, stderr }
}

/// Number of bins of [`Histogram`]s.
pub const HISTOGRAM_BINS: usize = 40;

/// Histograms of several NPV samples on common bins: from the lowest 0.5th percentile to the highest
/// 99.5th percentile among the samples, [`HISTOGRAM_BINS`] equal bins. When every value is the same
/// (a zero-volatility run) there is one bin around it.
pub fn histograms(samples: &[&[f64]]) -> Vec<Histogram> {
    let pct = |xs: &[f64], p: f64| -> f64 {
        let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return f64::NAN;
        }
        let k = ((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1);
        let (_, x, _) = v.select_nth_unstable_by(k, f64::total_cmp);
        *x
    };
    let lo = samples
        .iter()
        .map(|s| pct(s, 0.005))
        .filter(|x| x.is_finite())
        .fold(f64::INFINITY, f64::min);
    let hi = samples
        .iter()
        .map(|s| pct(s, 0.995))
        .filter(|x| x.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let (edges, bins) = if hi > lo {
        let w = (hi - lo) / HISTOGRAM_BINS as f64;
        let mut e: Vec<f64> = (0..HISTOGRAM_BINS).map(|i| lo + w * i as f64).collect();
        e.push(hi);
        (e, HISTOGRAM_BINS)
    } else {
        let pad = (lo.abs() * 1e-9).max(1.0);
        (vec![lo - pad, hi + pad], 1)
    };
    let (first, last) = (edges[0], edges[bins]);
    let width = (last - first) / bins as f64;
    samples
        .iter()
        .map(|s| {
            let mut h = Histogram {
                counts: vec![0; bins],
                edges: edges.clone(),
                below: 0,
                above: 0,
            };
            for &x in s.iter() {
                if x < first {
                    h.below += 1;
                } else if x > last {
                    h.above += 1;
                } else {
                    let i = (((x - first) / width) as usize).min(bins - 1);
                    h.counts[i] += 1;
                }
            }
            h
        })
        .collect()
}

/// Statistics of a strategy from its per-path NPVs (in path order). Use this for any strategy
/// (e.g. `optimal`) so that every result is computed the same way. `mine` is the `mine` NPV on the
/// same paths (`None` for `mine` itself: `prob_below_mine = 0`).
pub fn summarize(
    strategy: &str,
    share: Option<f64>,
    npv: &[f64],
    mining_npv_mean: f64,
    ai_npv_mean: f64,
    mine: Option<&[f64]>,
    antithetic: bool,
) -> StrategyResult {
    let n = npv.len().max(1);
    let MeanStderr { mean, stderr } = mean_stderr(npv, antithetic);
    let mut sorted = npv.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| quantile_sorted(&sorted, p);
    let k = ((0.05 * n as f64).ceil() as usize).clamp(1, n);
    let cvar5 = sorted.iter().take(k).sum::<f64>() / k as f64;
    let prob_negative = npv.iter().filter(|&&x| x < 0.0).count() as f64 / n as f64;
    let prob_below_mine = match mine {
        Some(m) => npv.iter().zip(m).filter(|(a, b)| a < b).count() as f64 / n as f64,
        None => 0.0,
    };
    StrategyResult {
        strategy: strategy.to_string(),
        share,
        npv: NpvStats {
            mean,
            stderr,
            p5: q(0.05),
            p50: q(0.5),
            p95: q(0.95),
        },
        mining_npv_mean,
        ai_npv_mean,
        prob_negative,
        prob_below_mine,
        cvar5,
        npv_histogram: None,
        equity: None,
        detail: None,
    }
}

/// Quantile with linear interpolation between order statistics (Hyndman–Fan type 7, numpy's
/// default) of sorted data.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Type-7 quantiles of `v` (reordered in place), by selection rather than a full sort: the
/// order statistics, hence the results, are exactly those of the sorted data, in O(n) per
/// quantile.
pub fn quantiles_f32(v: &mut [f32], ps: &[f64]) -> Vec<f64> {
    ps.iter()
        .map(|&p| {
            let h = (v.len() - 1) as f64 * p;
            let lo = h.floor() as usize;
            let (_, &mut a, rest) = v.select_nth_unstable_by(lo, f32::total_cmp);
            // The next order statistic is the least of the elements after it.
            let b = rest.iter().copied().min_by(f32::total_cmp).unwrap_or(a);
            a as f64 + (h - lo as f64) * (b as f64 - a as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_share_bins_and_count_every_path() {
        let a: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..1000).map(|i| 500.0 + i as f64).collect();
        let hs = histograms(&[&a, &b]);
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[0].edges, hs[1].edges);
        assert_eq!(hs[0].edges.len(), HISTOGRAM_BINS + 1);
        // p0.5 of a is 5, p99.5 of b is 1494: the pooled range.
        assert_eq!(hs[0].edges[0], 5.0);
        assert_eq!(*hs[0].edges.last().unwrap(), 1494.0);
        for (h, s) in hs.iter().zip([&a, &b]) {
            let total: u64 = h.counts.iter().sum::<u64>() + h.below + h.above;
            assert_eq!(total, s.len() as u64);
        }
        assert_eq!(hs[0].below, 5);
        assert_eq!(hs[1].above, 5);
        assert!(hs[0].edges.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_constant_sample_gets_one_bin() {
        let a = vec![1.5e9; 10];
        let hs = histograms(&[&a, &a]);
        assert_eq!(hs[0].counts, vec![10]);
        assert!(hs[0].edges[0] < 1.5e9 && hs[0].edges[1] > 1.5e9);
    }

    #[test]
    fn selected_quantiles_equal_sorted_ones() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for n in [1usize, 2, 3, 20, 101, 1000] {
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 1000) as f32 / 7.0 - 50.0
                })
                .collect();
            let mut sorted: Vec<f64> = v.iter().map(|&a| a as f64).collect();
            sorted.sort_by(f64::total_cmp);
            let got = quantiles_f32(&mut v.clone(), &[0.05, 0.5, 0.95]);
            for (g, p) in got.iter().zip([0.05, 0.5, 0.95]) {
                assert_eq!(*g, quantile_sorted(&sorted, p), "n {n} p {p}");
            }
        }
    }

    #[test]
    fn quantiles_are_type_7() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert!((quantile_sorted(&v, 0.05) - 1.15).abs() < 1e-12);
    }
}
