//! Statistics of the equity view (MODEL.md §10) from per-path values, computed one way for every
//! strategy: the equity NPV like the NPV ([`crate::stats`]: mean with its standard error, type-7
//! percentiles), the minimum DSCR over the paths that have a whole loan year, and the IRRs over the
//! paths that have a root.

use crate::result::{DscrStats, EquityResult, IrrStats, NpvStats};
use crate::stats::{histograms, mean_stderr, quantile_sorted};

/// Per-path equity figures of one strategy, in path order (`NaN` = none on that path).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EquityPaths {
    /// Mining NPV + AI equity NPV.
    pub equity_npv: Vec<f64>,
    /// AI equity NPV.
    pub ai_equity_npv: Vec<f64>,
    /// Smallest DSCR over whole loan years (`NaN`: none).
    pub dscr_min: Vec<f64>,
    /// Unlevered IRR of the AI stream (`NaN`: no root).
    pub project_irr: Vec<f64>,
    /// Levered IRR (`NaN`: no root).
    pub equity_irr: Vec<f64>,
}

impl EquityPaths {
    /// Room for `paths` paths.
    pub fn with_capacity(paths: usize) -> EquityPaths {
        EquityPaths {
            equity_npv: Vec::with_capacity(paths),
            ai_equity_npv: Vec::with_capacity(paths),
            dscr_min: Vec::with_capacity(paths),
            project_irr: Vec::with_capacity(paths),
            equity_irr: Vec::with_capacity(paths),
        }
    }

    /// A path of a strategy without conversions (`mine`): equity NPV = NPV, nothing else.
    pub fn push_unlevered(&mut self, npv: f64) {
        self.equity_npv.push(npv);
        self.ai_equity_npv.push(0.0);
        self.dscr_min.push(f64::NAN);
        self.project_irr.push(f64::NAN);
        self.equity_irr.push(f64::NAN);
    }
}

fn sorted_finite(v: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    s.sort_by(f64::total_cmp);
    s
}

/// The histogram of `v`'s values with a figure (its own bins), `None` when there are none.
fn own_histogram(v: &[f64]) -> Option<crate::result::Histogram> {
    let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    histograms(&[&finite]).into_iter().next()
}

/// IRR percentiles over the paths with a root.
pub fn irr_stats(v: &[f64]) -> IrrStats {
    let s = sorted_finite(v);
    let some = |p: f64| (!s.is_empty()).then(|| quantile_sorted(&s, p));
    IrrStats {
        p5: some(0.05),
        p50: some(0.5),
        p95: some(0.95),
        no_root_share: (v.len() - s.len()) as f64 / v.len().max(1) as f64,
        histogram: own_histogram(&s),
    }
}

/// DSCR statistics over the paths that have a whole loan year; `min_dscr` is the covenant.
pub fn dscr_stats(v: &[f64], min_dscr: f64) -> DscrStats {
    let s = sorted_finite(v);
    let counted = s.len();
    let (mean, p5, below) = if counted == 0 {
        (None, None, None)
    } else {
        let below = s.iter().filter(|&&d| d < min_dscr).count() as f64 / counted as f64;
        (
            Some(s.iter().sum::<f64>() / counted as f64),
            Some(quantile_sorted(&s, 0.05)),
            Some(below),
        )
    };
    DscrStats {
        mean,
        p5,
        prob_below_min: below,
        min_dscr,
        paths_counted: counted as u64,
        paths_without_loan_year: (v.len() - counted) as u64,
        histogram: own_histogram(&s),
    }
}

/// The [`EquityResult`] of one strategy (its equity NPV histogram is set by the caller, on bins
/// shared by every strategy of the run).
pub fn equity_result(p: &EquityPaths, min_dscr: f64, antithetic: bool) -> EquityResult {
    let v = &p.equity_npv;
    let n = v.len().max(1);
    let me = mean_stderr(v, antithetic);
    let mut sorted = v.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |x: f64| quantile_sorted(&sorted, x);
    EquityResult {
        equity_npv: NpvStats {
            mean: me.mean,
            stderr: me.stderr,
            p5: q(0.05),
            p50: q(0.5),
            p95: q(0.95),
        },
        equity_npv_mean_ai: p.ai_equity_npv.iter().sum::<f64>() / n as f64,
        prob_negative: v.iter().filter(|&&x| x < 0.0).count() as f64 / n as f64,
        dscr_min: dscr_stats(&p.dscr_min, min_dscr),
        project_irr: irr_stats(&p.project_irr),
        equity_irr: irr_stats(&p.equity_irr),
        equity_npv_histogram: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irr_and_dscr_statistics_skip_the_paths_without() {
        let i = irr_stats(&[0.1, f64::NAN, 0.2, 0.3, f64::NAN]);
        assert_eq!(i.no_root_share, 0.4);
        assert_eq!(i.p50, Some(0.2));
        assert!((i.p5.unwrap() - 0.11).abs() < 1e-15);
        let none = irr_stats(&[f64::NAN; 3]);
        assert_eq!(
            (none.p50, none.no_root_share, none.histogram),
            (None, 1.0, None)
        );
        let d = dscr_stats(&[1.0, 2.0, f64::NAN, 1.5], 1.25);
        assert_eq!((d.paths_counted, d.paths_without_loan_year), (3, 1));
        assert_eq!(d.mean, Some(1.5));
        assert_eq!(d.prob_below_min, Some(1.0 / 3.0));
        assert_eq!(d.min_dscr, 1.25);
    }

    #[test]
    fn equity_npv_statistics_are_those_of_the_npv() {
        let mut p = EquityPaths::default();
        for x in [-1.0, 3.0, 5.0, 7.0] {
            p.push_unlevered(x);
        }
        let e = equity_result(&p, 1.25, false);
        let s = crate::stats::summarize("x", None, &p.equity_npv, 0.0, 0.0, None, false);
        assert_eq!(e.equity_npv, s.npv);
        assert_eq!(e.prob_negative, 0.25);
        assert_eq!(e.equity_irr.no_root_share, 1.0);
        assert_eq!(e.dscr_min.paths_counted, 0);
    }
}
