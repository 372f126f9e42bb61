//! The strategies (MODEL.md section 6), each priced on the same paths with the payoff kernel
//! ([`crate::payoff`]): the fixed ones, whose fleet timeline is known in advance ([`fixed`]:
//! `mine`, `convert`, `schedule`, `sweep`), and the real option ([`optimal`]), which decides per
//! slice and path by least-squares Monte Carlo on [`crate::payoff::slices`].

pub mod fixed;
pub mod optimal;
pub mod optimal_pilot;
pub mod optimal_policy;
mod optimal_report;

/// The slices of `optimal` and the fixed strategies price the same cash: checked path by path.
#[cfg(test)]
mod tests {
    use crate::payoff::slices::Slices;
    use crate::scenario::Scenario;
    use crate::scenario::StrategyKind;
    use crate::strategy::fixed::{simulate_raw, PlanSpec};

    /// Converting all slices on day 0 equals `convert 1.0`, never converting equals `mine`, and
    /// converting slices 0..j on a decision day equals `schedule [(d, j/k)]`, path by path.
    #[test]
    fn slices_reproduce_the_deterministic_strategies() {
        // Version 1's linear AI side, and the path-dependent book with section 8's
        // deterministic parts (an overrun without spread, mining during the build): a slice and
        // a fixed conversion then see the same cash whatever their draws.
        let mut sc = Scenario::default();
        sc.ai.set_risks_off();
        slices_reproduce(sc.clone());
        sc.ai.capex_overrun = 0.2;
        sc.ai.mine_during_build = true;
        slices_reproduce(sc);
    }

    fn slices_reproduce(mut sc: Scenario) {
        sc.run.horizon_years = 9.0;
        sc.strategy.tranches = 4;
        sc.strategy.decide_months = 50; // day 1521 > refresh day 1460 (refresh every 4 years)
        let sl = Slices::new(&sc).unwrap();
        let paths = 40;
        let b = sl.block(5, 0, paths, false);
        let days = sl.decision_days().to_vec();
        let d_mid = days[20];
        let d_ref = *days.iter().find(|&&d| d >= 1460).unwrap();
        let specs = vec![
            PlanSpec {
                strategy: StrategyKind::Mine,
                share: None,
                conversions: vec![],
            },
            PlanSpec {
                strategy: StrategyKind::Convert,
                share: Some(1.0),
                conversions: vec![(0, 1.0)],
            },
            PlanSpec {
                strategy: StrategyKind::Schedule,
                share: None,
                conversions: vec![(d_mid, 0.5)],
            },
            PlanSpec {
                strategy: StrategyKind::Schedule,
                share: None,
                conversions: vec![(d_ref, 0.75)],
            },
        ];
        let raw = simulate_raw(&sc, &specs, paths as u64, 5, false, &|_| {});
        let k = 4;
        let nd = days.len();
        let di_mid = days.iter().position(|&d| d == d_mid).unwrap();
        let di_ref = days.iter().position(|&d| d == d_ref).unwrap();
        for p in 0..paths {
            let total: f64 = (0..k).map(|j| b.mining_total[p * k + j]).sum();
            let policy = |di: usize, upto: usize| -> f64 {
                let mut v = total;
                for j in 0..upto {
                    let q = (p * nd + di) * k + j;
                    v += b.convert_at[q] - b.mining_from[q];
                }
                v
            };
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e6);
            assert!(
                close(total, raw.npv[p * 4]),
                "mine {total} vs {}",
                raw.npv[p * 4]
            );
            assert!(
                close(policy(0, 4), raw.npv[p * 4 + 1]),
                "convert {} vs {}",
                policy(0, 4),
                raw.npv[p * 4 + 1]
            );
            assert!(close(policy(di_mid, 2), raw.npv[p * 4 + 2]), "schedule mid");
            assert!(
                close(policy(di_ref, 3), raw.npv[p * 4 + 3]),
                "schedule after refresh {} vs {}",
                policy(di_ref, 3),
                raw.npv[p * 4 + 3]
            );
            // The state is recorded.
            assert!(b.hashprice[p * nd] > 0.0 && b.lease[p * nd] > 0.0 && b.price[p * nd] > 0.0);
        }
    }
}
