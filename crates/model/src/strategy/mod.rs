//! The strategies (MODEL.md section 6), each priced on the same paths with the payoff kernel
//! ([`crate::payoff`]): the fixed ones, whose fleet timeline is known in advance ([`fixed`]:
//! `mine`, `convert`, `schedule`, `sweep`), and the real option ([`optimal`]), which decides per
//! slice and path by least-squares Monte Carlo on [`crate::payoff::slices`].

pub mod fixed;
pub mod optimal;
pub mod optimal_dual;
#[cfg(test)]
mod optimal_levered_tests;
pub mod optimal_pilot;
pub mod optimal_policy;
mod optimal_report;

/// The slices of `optimal` and the fixed strategies price the same cash: checked path by path.
#[cfg(test)]
mod tests {
    use crate::payoff::slices::Slices;
    use crate::result::Currency;
    use crate::scenario::StrategyKind;
    use crate::scenario::{Finance, Scenario};
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
        sc.finance = None;
        slices_reproduce(sc.clone());
        sc.ai.capex_overrun = 0.2;
        sc.ai.mine_during_build = true;
        slices_reproduce(sc.clone());
        // MODEL.md §10 and §11 (issue 12): the levered value of converting and the BTC view, each
        // alone and together, with a terminal value (its BTC conversion at S_{N-1} and the
        // day-N repayment) and a tenor that ends inside the horizon for early conversions only.
        sc.site.terminal_multiple = 3.0;
        slices_reproduce(sc.clone());
        let mut fin = sc.clone();
        fin.finance = Some(Finance {
            tenor_years: 5.0,
            ..Finance::default()
        });
        slices_reproduce(fin.clone());
        let mut btc = sc.clone();
        btc.run.currency = Currency::Btc;
        slices_reproduce(btc);
        fin.run.currency = Currency::Btc;
        slices_reproduce(fin);
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
        // The policies of the specs as stops per path and slice (decision index, or never).
        let stops_of = |di: usize, upto: usize| -> Vec<u32> {
            (0..paths * k)
                .map(|x| if x % k < upto { di as u32 } else { u32::MAX })
                .collect()
        };
        let lane_eq = [
            sl.policy_equity(5, 0, paths, false, &stops_of(0, 0)),
            sl.policy_equity(5, 0, paths, false, &stops_of(0, 4)),
            sl.policy_equity(5, 0, paths, false, &stops_of(di_mid, 2)),
            sl.policy_equity(5, 0, paths, false, &stops_of(di_ref, 3)),
        ];
        let levered = sc.finance.is_some();
        // Relative 1e-9, below a million dollars (or ten bitcoin) absolute.
        let floor = if sc.run.currency == Currency::Btc {
            10.0
        } else {
            1e6
        };
        assert_eq!(
            b.convert_eq.len(),
            if levered { b.convert_at.len() } else { 0 }
        );
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
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(floor);
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
            if !levered {
                assert!(lane_eq.iter().all(|e| e.is_empty()));
                continue;
            }
            let policies = [(0, 0), (0, 4), (di_mid, 2), (di_ref, 3)];
            check_levered(&b, &raw, &lane_eq, p, &policies, floor);
        }
    }

    /// MODEL.md §10 on path `p`: the owner's values (exercise values on the levered AI stream)
    /// and the equity figures of the policies' conversions (`(decision index, slices)` per fixed
    /// strategy of `raw`, `lane_eq` from `Slices::policy_equity`) equal the fixed strategies'.
    fn check_levered(
        b: &crate::payoff::slices::SliceBlock,
        raw: &crate::strategy::fixed::Raw,
        lane_eq: &[Vec<crate::payoff::finance::LaneEquity>],
        p: usize,
        policies: &[(usize, usize)],
        floor: f64,
    ) {
        let (k, nd) = (b.tranches, b.days.len());
        let total: f64 = (0..k).map(|j| b.mining_total[p * k + j]).sum();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(floor);
        let equity = |di: usize, upto: usize| -> f64 {
            let mut v = total;
            for j in 0..upto {
                v += b.exercise((p * nd + di) * k + j);
            }
            v
        };
        let fixed = |s: usize, f: usize| raw.equity[(p * 4 + s) * 5 + f];
        let close_opt = |a: Option<f64>, b: f64| match a {
            Some(a) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            None => b.is_nan(),
        };
        for (s, &(di, upto)) in policies.iter().enumerate() {
            let e = equity(di, upto);
            assert!(close(e, fixed(s, 0)), "equity {s}: {e} vs {}", fixed(s, 0));
            let l = &lane_eq[s][p];
            if s == 0 {
                // Nothing converted: no loan, the equity is the mining NPV.
                assert_eq!(
                    (l.ai_equity_npv, l.dscr_min, l.equity_irr),
                    (0.0, None, None)
                );
                continue;
            }
            assert!(close(l.ai_equity_npv, fixed(s, 1)), "ai equity {s}");
            assert!(close_opt(l.dscr_min, fixed(s, 2)), "dscr {s}");
            assert!(close_opt(l.project_irr, fixed(s, 3)), "project irr {s}");
            assert!(close_opt(l.equity_irr, fixed(s, 4)), "equity irr {s}");
        }
    }
}
