//! The model's expected hashprice per day, the model side of a hashprice forward curve
//! (`hashpivot calibrate --forwards`; the fit itself is `hashpivot_data::forwards`).

use crate::process::{LaneDay, Prepared, BLOCK};
use crate::scenario::Scenario;

/// Mean over `paths` Monte Carlo paths (seed `seed`, the engine's keyed blocks) of the hashprice
/// at the start of each of the first `days` days, USD per PH/s per day (`hv · S · 1000`). The
/// scenario's horizon is set to the whole years that cover `days`; nothing else changes.
pub fn expected_hashprice(sc: &Scenario, days: usize, paths: u64, seed: u64) -> Vec<f64> {
    let mut sc = sc.clone();
    // Only the days asked for are simulated (a path's first days do not depend on the horizon;
    // a test checks), which keeps a many-evaluation fit cheap.
    sc.run.horizon_years = days.div_ceil(365).max(1) as f64;
    let prep = Prepared::new(&sc);
    let days = days.min(prep.n);
    let mut sums = vec![0.0; days];
    let blocks = paths.div_ceil(BLOCK as u64);
    for b in 0..blocks {
        let lanes = (paths - b * BLOCK as u64).min(BLOCK as u64) as usize;
        prep.run_block(seed, b, lanes, false, &mut |d: &LaneDay| {
            if d.t < days {
                sums[d.t] +=
                    d.hv.iter()
                        .zip(d.s)
                        .map(|(hv, s)| hv * s * 1000.0)
                        .sum::<f64>();
            }
        });
    }
    sums.iter().map(|x| x / paths.max(1) as f64).collect()
}

/// For each day range `[a, z)` (days after the market state), the mean hashprice over those
/// days on each of `paths` Monte Carlo paths (seed `seed`), USD per PH/s per day: the model's
/// distribution of a delivery month's average hashprice, which a monthly forward prices. The
/// horizon is set to cover the latest `z`; empty ranges give empty vectors.
pub fn hashprice_over_ranges(
    sc: &Scenario,
    ranges: &[(usize, usize)],
    paths: u64,
    seed: u64,
) -> Vec<Vec<f64>> {
    let mut sc = sc.clone();
    let days = ranges.iter().map(|r| r.1).max().unwrap_or(0);
    // Only the days asked for are simulated (a path's first days do not depend on the horizon;
    // a test checks), which keeps a many-evaluation fit cheap.
    sc.run.horizon_years = days.div_ceil(365).max(1) as f64;
    let prep = Prepared::new(&sc);
    let ok: Vec<bool> = ranges.iter().map(|&(a, z)| a < z && z <= prep.n).collect();
    let mut sums: Vec<Vec<f64>> = ranges
        .iter()
        .zip(&ok)
        .map(|(_, &k)| {
            if k {
                vec![0.0; paths as usize]
            } else {
                Vec::new()
            }
        })
        .collect();
    let blocks = paths.div_ceil(BLOCK as u64);
    for b in 0..blocks {
        let lanes = (paths - b * BLOCK as u64).min(BLOCK as u64) as usize;
        let base = b as usize * BLOCK;
        prep.run_block(seed, b, lanes, false, &mut |d: &LaneDay| {
            for (k, &(a, z)) in ranges.iter().enumerate() {
                if ok[k] && d.t >= a && d.t < z {
                    let out = &mut sums[k][base..base + lanes];
                    for ((o, hv), s) in out.iter_mut().zip(d.hv).zip(d.s) {
                        *o += hv * s * 1000.0;
                    }
                }
            }
        });
    }
    for (k, &(a, z)) in ranges.iter().enumerate() {
        let n = (z - a.min(z)) as f64;
        sums[k].iter_mut().for_each(|x| *x /= n);
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_zero_is_the_scenarios_hashprice_and_more_drift_raises_the_curve() {
        let sc = Scenario::default();
        let a = expected_hashprice(&sc, 400, 512, 7);
        assert_eq!(a.len(), 400);
        assert!(a.iter().all(|x| x.is_finite() && *x > 0.0));
        let mut hi = sc.clone();
        hi.price.drift += 0.3;
        let b = expected_hashprice(&hi, 400, 512, 7);
        // The horizon does not change the paths' first days.
        let mut long = sc.clone();
        long.run.horizon_years = 15.0;
        let prep = Prepared::new(&long);
        let mut full = vec![0.0; 400];
        for b in 0..2u64 {
            prep.run_block(7, b, 256, false, &mut |d: &LaneDay| {
                if d.t < 400 {
                    full[d.t] +=
                        d.hv.iter()
                            .zip(d.s)
                            .map(|(hv, s)| hv * s * 1000.0)
                            .sum::<f64>();
                }
            });
        }
        for t in [0, 1, 200, 399] {
            assert_eq!(full[t] / 512.0, a[t], "day {t}");
        }
        // Same paths: day 0 is unchanged, a year out the higher drift gives a higher hashprice.
        assert_eq!(a[0], b[0]);
        assert!(b[399] > a[399] * 1.1, "{} vs {}", b[399], a[399]);
    }

    #[test]
    fn range_means_per_path_average_to_the_expected_curve() {
        let sc = Scenario::default();
        let daily = expected_hashprice(&sc, 120, 300, 3);
        let r = hashprice_over_ranges(&sc, &[(10, 40), (40, 40), (100, 120)], 300, 3);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].len(), 300);
        assert!(r[1].is_empty());
        // The mean over paths of each path's range mean is the range mean of the expected
        // curve (the same paths, summed in another order).
        for (k, (a, z)) in [(0, (10, 40)), (2, (100, 120))] {
            let by_path = r[k].iter().sum::<f64>() / 300.0;
            let by_day = daily[a..z].iter().sum::<f64>() / (z - a) as f64;
            assert!(
                (by_path / by_day - 1.0).abs() < 1e-9,
                "{by_path} vs {by_day}"
            );
        }
        // Paths differ (a distribution, not a constant).
        assert!(r[2].iter().any(|x| (x - r[2][0]).abs() > 1e-6));
    }
}
