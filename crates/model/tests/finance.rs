//! MODEL.md §10 (financing and the equity view) against an independent calculation written here
//! from MODEL.md, day by day, sharing nothing with the engine: with every volatility zero all paths
//! are equal, so the engine's equity NPV, DSCR and IRRs must agree with it to 1e-9 relative.

use hashpivot_model::scenario::{Finance, Scenario, StrategyKind};
use hashpivot_model::{simulate, RunConfig};

/// Daily AI cash (rent × NOI − capex) of the conversions `[(day, share)]`, MODEL.md §5, its
/// operating part (rent × NOI) and capex, and each conversion's ready day and capex per day.
struct AiStream {
    cash: Vec<f64>,
    /// Per conversion: (ready day, operating cash per day, capex per day).
    projects: Vec<(usize, Vec<f64>, Vec<f64>)>,
}

fn ai_stream(sc: &Scenario, conversions: &[(usize, f64)]) -> AiStream {
    let n = (sc.run.horizon_years * 365.0).round() as usize;
    let dt = 1.0 / 365.0;
    let ai = &sc.ai;
    // The lease market with zero shocks.
    let mut lease = vec![0.0; n];
    let mut l = ai.lease_usd_per_kw_month;
    for v in lease.iter_mut() {
        *v = l;
        l = (l.ln() + (ai.lease_drift - 0.5 * ai.lease_vol.powi(2)) * dt).exp();
    }
    let mut cash = vec![0.0; n];
    let mut projects = Vec::new();
    for &(tau, share) in conversions {
        let it = share * sc.site.power_mw * ai.it_mw_per_gross_mw;
        let capex = it * ai.capex_usd_per_mw_it;
        let b = (ai.build_months * 365.0 / 12.0).round() as usize;
        let m = (ai.lease_term_years * 365.0).round() as usize;
        let mut op = vec![0.0; n];
        let mut cx = vec![0.0; n];
        for t in tau..n {
            if b == 0 {
                if t == tau {
                    cx[t] = capex;
                }
            } else if t < tau + b {
                cx[t] = capex / b as f64;
            }
            if t >= tau + b {
                let c = (t - tau - b) / m;
                let u = tau + b + c * m;
                let l_c = if c == 0 { lease[tau] } else { lease[u] };
                let rent = it * 1000.0 * l_c * 12.0 / 365.0
                    * (1.0 + ai.lease_escalator).powf((t - u) as f64 / 365.0)
                    * ai.renewal_probability.powi(c as i32)
                    * (-ai.tenant_default_rate * (t - tau - b) as f64 / 365.0).exp();
                op[t] = rent * ai.noi_margin;
            }
            cash[t] += op[t] - cx[t];
        }
        projects.push((tau + b, op, cx));
    }
    AiStream { cash, projects }
}

/// What the engine must report for one strategy: (AI equity NPV, dscr_min, project IRR,
/// equity IRR).
struct Expected {
    ai_equity_npv: f64,
    dscr_min: Option<f64>,
    project_irr: Option<f64>,
    equity_irr: Option<f64>,
}

fn expected(sc: &Scenario, conversions: &[(usize, f64)]) -> Expected {
    let f = sc.finance.clone().unwrap();
    let n = (sc.run.horizon_years * 365.0).round() as usize;
    let s = ai_stream(sc, conversions);
    let i = (1.0 + f.debt_rate).powf(1.0 / 365.0) - 1.0;
    let tenor = (f.tenor_years * 365.0).round() as usize;
    let mut equity = s.cash.clone();
    let mut owed = 0.0;
    let mut dscr_min = f64::INFINITY;
    for (ready, op, cx) in &s.projects {
        let ready = *ready;
        let draws: Vec<f64> = cx.iter().map(|c| f.ltc * c).collect();
        for t in 0..n {
            equity[t] += draws[t];
        }
        if ready >= n {
            owed += (0..n)
                .map(|t| draws[t] * (1.0 + i).powf((n - t) as f64))
                .sum::<f64>();
            continue;
        }
        // Capitalized interest: Σ d_t (1+i)^(s−t) over t <= s.
        let bal0: f64 = (0..=ready)
            .map(|t| draws[t] * (1.0 + i).powf((ready - t) as f64))
            .sum();
        let q = if i == 0.0 {
            bal0 / tenor as f64
        } else {
            bal0 * i / (1.0 - (1.0 + i).powf(-(tenor as f64)))
        };
        let mut pay = vec![0.0; n];
        let mut bal = bal0;
        for (t, p) in pay.iter_mut().enumerate().skip(ready) {
            if t < ready + tenor {
                *p = q;
                bal = bal * (1.0 + i) - q;
            }
        }
        if ready + tenor <= n {
            bal = 0.0;
        }
        owed += bal;
        for t in 0..n {
            equity[t] -= pay[t];
        }
        // Whole loan years inside the horizon (and inside the tenor).
        let mut y = 0;
        while ready + 365 * y + 364 < n && 365 * y < tenor {
            let days = ready + 365 * y..ready + 365 * y + 365;
            let num: f64 = op[days.clone()].iter().sum();
            let den: f64 = pay[days].iter().sum();
            dscr_min = dscr_min.min(num / den);
            y += 1;
        }
    }
    let last_year: f64 = s.cash[n.saturating_sub(365)..].iter().sum();
    let tv = sc.site.terminal_multiple * last_year;
    let w = |t: usize| (1.0 + f.cost_of_equity).powf(-((t + 1) as f64) / 365.0);
    let mut npv = (tv - owed) * w(n);
    for (t, c) in equity.iter().enumerate() {
        npv += c * w(t);
    }
    let mut project = s.cash.clone();
    project.push(tv);
    equity.push(tv - owed);
    Expected {
        ai_equity_npv: npv,
        dscr_min: dscr_min.is_finite().then_some(dscr_min),
        project_irr: irr_by_bisection(&project),
        equity_irr: irr_by_bisection(&equity),
    }
}

/// The smallest root of `Σ c_t (1+r)^(−(t+1)/365)` on `r > −1` by a scan on a fine grid and
/// bisection with `powf` (slow and plain on purpose).
fn irr_by_bisection(c: &[f64]) -> Option<f64> {
    let f = |r: f64| -> f64 {
        c.iter()
            .enumerate()
            .map(|(t, v)| v * (1.0 + r).powf(-((t + 1) as f64) / 365.0))
            .sum()
    };
    let mut lo = -0.98;
    let mut f_lo = f(lo);
    while lo < 50.0 {
        let hi = lo + 0.01;
        let f_hi = f(hi);
        if (f_lo < 0.0) != (f_hi < 0.0) {
            let (mut a, mut b) = (lo, hi);
            for _ in 0..200 {
                let m = 0.5 * (a + b);
                if (f(m) < 0.0) == (f_lo < 0.0) {
                    a = m;
                } else {
                    b = m;
                }
            }
            return Some(0.5 * (a + b));
        }
        lo = hi;
        f_lo = f_hi;
    }
    None
}

fn zero_vol() -> Scenario {
    // The reference is version 1's AI side with a loan: MODEL.md section 8 off (the embedded
    // default turns it on).
    let mut sc = Scenario::default();
    sc.ai.set_risks_off();
    sc.price.vol = 0.0;
    sc.fees.vol = 0.0;
    sc.hashrate.vol = 0.0;
    sc.ai.lease_vol = 0.0;
    sc.ai.lease_drift = 0.02;
    sc.ai.lease_term_years = 5.0;
    sc.site.terminal_multiple = 3.0;
    sc.run.horizon_years = 12.0;
    sc.finance = Some(Finance::default());
    sc
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn check(sc: &Scenario, cfg: RunConfig, conv: &[(usize, f64)]) {
    let out = simulate(sc, &cfg, &|_| {}).unwrap();
    let want = expected(sc, conv);
    let r = &out.results[1];
    let e = r.equity.as_ref().expect("equity with [finance]");
    assert!(
        rel(e.equity_npv_mean_ai, want.ai_equity_npv) < 1e-9,
        "AI equity NPV {} vs {}",
        e.equity_npv_mean_ai,
        want.ai_equity_npv
    );
    let total = r.mining_npv_mean + want.ai_equity_npv;
    assert!(rel(e.equity_npv.mean, total) < 1e-9);
    assert!(rel(e.equity_npv.p5, total) < 1e-9 && rel(e.equity_npv.p95, total) < 1e-9);
    assert_eq!(e.prob_negative, if total < 0.0 { 1.0 } else { 0.0 });
    match want.dscr_min {
        Some(d) => {
            assert!(
                rel(e.dscr_min.mean.unwrap(), d) < 1e-9,
                "{:?} vs {d}",
                e.dscr_min
            );
            assert!(rel(e.dscr_min.p5.unwrap(), d) < 1e-9);
            let breach = if d < sc.finance.as_ref().unwrap().min_dscr {
                1.0
            } else {
                0.0
            };
            assert_eq!(e.dscr_min.prob_below_min, Some(breach));
            assert_eq!(e.dscr_min.paths_without_loan_year, 0);
        }
        None => {
            assert_eq!(e.dscr_min.mean, None);
            assert_eq!(e.dscr_min.paths_counted, 0);
        }
    }
    for (got, want, what) in [
        (&e.project_irr, want.project_irr, "project"),
        (&e.equity_irr, want.equity_irr, "equity"),
    ] {
        match want {
            Some(w) => {
                assert!(
                    rel(got.p50.unwrap(), w) < 1e-9,
                    "{what} IRR {:?} vs {w}",
                    got.p50
                );
                assert_eq!(got.no_root_share, 0.0);
            }
            None => assert_eq!((got.p50, got.no_root_share), (None, 1.0), "{what}"),
        }
    }
    // `mine` has no loans: its equity NPV is its NPV, no IRR.
    let m = out.results[0].equity.as_ref().unwrap();
    assert_eq!(m.equity_npv.mean, out.results[0].npv.mean);
    assert_eq!(m.project_irr.no_root_share, 1.0);
    assert_eq!(m.dscr_min.paths_counted, 0);
}

#[test]
fn zero_vol_convert_matches_the_reference() {
    let sc = zero_vol();
    let cfg = RunConfig {
        paths: Some(3),
        strategy: Some(StrategyKind::Convert),
        share: Some(0.5),
        ..Default::default()
    };
    check(&sc, cfg, &[(0, 0.5)]);
}

#[test]
fn zero_vol_long_tenor_and_late_conversions_match_the_reference() {
    // A tenor past the horizon (repaid on day N), a conversion ready after the horizon (its
    // capitalized balance repaid on day N), no build time, no debt interest.
    let mut sc = zero_vol();
    sc.finance = Some(Finance {
        tenor_years: 20.0,
        ltc: 0.9,
        ..Finance::default()
    });
    let conv = [(0, 0.3), (700, 0.2), (4200, 0.1)];
    sc.strategy.schedule = conv.iter().map(|&(d, s)| (d as u32, s)).collect();
    let cfg = RunConfig {
        paths: Some(2),
        strategy: Some(StrategyKind::Schedule),
        ..Default::default()
    };
    check(&sc, cfg.clone(), &conv);
    sc.ai.build_months = 0.0;
    sc.finance.as_mut().unwrap().debt_rate = 0.0;
    check(&sc, cfg, &conv);
}

/// Two runs of the same paths (common random numbers) of a conversion signed at a random lease
/// rate (day 365), unlevered (`ltc = 0`) and levered.
fn levered_pair() -> (hashpivot_model::EquityResult, hashpivot_model::EquityResult) {
    // Ten years of rent after the build, a loan repaid inside the horizon, and the hall's value
    // after the horizon as a terminal multiple (without it the equity's last cash flow is what it
    // still owes, and most paths have no IRR at all).
    // Section 8 off: with tenant defaults some paths' equity has no IRR at all.
    let mut sc = Scenario::default();
    sc.ai.set_risks_off();
    sc.run.horizon_years = 12.0;
    sc.site.terminal_multiple = 6.0;
    sc.ai.lease_vol = 0.3;
    sc.strategy.schedule = vec![(365, 0.5)];
    let cfg = RunConfig {
        paths: Some(512),
        strategy: Some(StrategyKind::Schedule),
        ..Default::default()
    };
    let run = |ltc: f64| {
        let mut s = sc.clone();
        s.finance = Some(Finance {
            ltc,
            ..Finance::default()
        });
        let out = simulate(&s, &cfg, &|_| {}).unwrap();
        out.results[1].equity.clone().unwrap()
    };
    (run(0.0), run(0.8))
}

/// Leverage raises the spread of the equity's returns: with the same paths, the equity IRR's
/// p95 − p5 is wider levered than unlevered (where it is the project IRR at the same cash). In
/// dollars, debt service is fixed, so leverage moves the equity NPV by the same amount on every
/// path (the financing's NPV at the cost of equity) and leaves its spread as it is.
#[test]
fn leverage_raises_the_spread_of_equity_returns() {
    let (u, l) = levered_pair();
    let spread = |i: &hashpivot_model::IrrStats| i.p95.unwrap() - i.p5.unwrap();
    assert_eq!(u.equity_irr.no_root_share, 0.0);
    assert_eq!(l.equity_irr.no_root_share, 0.0);
    // Unlevered, equity cash is AI cash: the same IRRs.
    assert_eq!(u.equity_irr.p50, u.project_irr.p50);
    assert!(spread(&u.equity_irr) > 0.0);
    assert!(
        spread(&l.equity_irr) > 1.5 * spread(&u.equity_irr),
        "levered {:?} unlevered {:?}",
        l.equity_irr,
        u.equity_irr
    );
    // The project is the same.
    assert_eq!(l.project_irr, u.project_irr);
    // In dollars: the same spread, shifted.
    let w = |e: &hashpivot_model::EquityResult| e.equity_npv.p95 - e.equity_npv.p5;
    assert!((w(&l) - w(&u)).abs() < 1e-6 * w(&u), "{} {}", w(&l), w(&u));
    assert!(l.equity_npv.mean != u.equity_npv.mean);
    // Only the levered run has debt service and a DSCR.
    assert_eq!(u.dscr_min.paths_counted, 0);
    assert_eq!(l.dscr_min.paths_counted, 512);
}

/// Without `[finance]` the results carry no equity view (version 1's JSON).
#[test]
fn no_finance_no_equity() {
    // A file without [finance] (the embedded default is levered).
    let mut sc = Scenario::from_toml_str("").unwrap();
    assert_eq!(Scenario::default().finance, Some(Default::default()));
    sc.run.horizon_years = 3.0;
    let cfg = RunConfig {
        paths: Some(64),
        strategy: Some(StrategyKind::Convert),
        ..Default::default()
    };
    let out = simulate(&sc, &cfg, &|_| {}).unwrap();
    assert!(out.results.iter().all(|r| r.equity.is_none()));
    let json = serde_json::to_string(&out).unwrap();
    assert!(!json.contains("equity") && !json.contains("currency"));
}

/// Same seed, same bits on 1 and 2 threads with `[finance]`.
#[test]
fn equity_is_the_same_on_one_and_two_threads() {
    let mut sc = Scenario::default();
    sc.run.horizon_years = 4.0;
    sc.strategy.schedule = vec![(100, 0.3), (400, 0.3)];
    sc.finance = Some(Finance::default());
    let run = |threads: usize| {
        let cfg = RunConfig {
            paths: Some(600),
            strategy: Some(StrategyKind::Schedule),
            threads: Some(threads),
            ..Default::default()
        };
        serde_json::to_string(&simulate(&sc, &cfg, &|_| {}).unwrap()).unwrap()
    };
    assert_eq!(run(1), run(2));
}

/// A sweep solves one IRR pair per path for its shares that are power-of-two multiples of each
/// other (0.25, 0.5 and 1 here; `EquityBook::finish_sharing`): every equity figure of each share
/// is the one of that share converted alone, bit for bit (0.75 is solved on its own).
#[test]
fn a_sweeps_shared_irrs_are_each_shares_own() {
    // The embedded default: risks and financing on.
    let mut sc = Scenario::default();
    let shares = [0.25, 0.5, 0.75, 1.0];
    sc.strategy.shares = shares.to_vec();
    let cfg = |kind: StrategyKind, share: Option<f64>| RunConfig {
        paths: Some(96),
        strategy: Some(kind),
        share,
        ..Default::default()
    };
    let sweep = simulate(&sc, &cfg(StrategyKind::Sweep, None), &|_| {}).unwrap();
    assert_eq!(sweep.results.len(), shares.len() + 1);
    for (r, share) in sweep.results[1..].iter().zip(shares) {
        let alone = simulate(&sc, &cfg(StrategyKind::Convert, Some(share)), &|_| {}).unwrap();
        let (a, b) = (
            r.equity.as_ref().unwrap(),
            alone.results[1].equity.as_ref().unwrap(),
        );
        assert!(a.equity_irr.p50.is_some() && a.project_irr.p50.is_some());
        // Everything but the NPV histogram, whose bins a sweep shares across its strategies.
        for (x, y) in [
            (json_of(&a.project_irr), json_of(&b.project_irr)),
            (json_of(&a.equity_irr), json_of(&b.equity_irr)),
            (json_of(&a.dscr_min), json_of(&b.dscr_min)),
            (json_of(&a.equity_npv), json_of(&b.equity_npv)),
        ] {
            assert_eq!(x, y, "share {share}");
        }
        assert_eq!(
            a.equity_npv_mean_ai.to_bits(),
            b.equity_npv_mean_ai.to_bits()
        );
    }
}

fn json_of(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap()
}
