//! The one orchestrator of a run ([`simulate`]): validates the scenario and the options, prices
//! the fixed strategies ([`crate::strategy::fixed`]) and, with `optimal`, the real-option strategy
//! ([`crate::strategy::optimal`]) on the same paths, and refuses non-finite results.

use crate::process::BLOCK;
use crate::result::{Band, SimOutput, StrategyDetail, StrategyResult};
use crate::scenario::{Scenario, StrategyKind};
use crate::strategy::fixed::{banded, simulate_blocks, summarize_raw, PlanSpec, Raw, SharedSlices};
use crate::strategy::optimal::{OptimalSetup, CACHE_BYTES};
use crate::ModelError;

/// How to run a scenario: overrides of the scenario's `[run]` and `[strategy]`, and engine options
/// that do not change the model's meaning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunConfig {
    /// Paths (default: `run.paths`).
    pub paths: Option<u64>,
    /// Seed (default: `run.seed`).
    pub seed: Option<u64>,
    /// Strategy (default: `strategy.kind`).
    pub strategy: Option<StrategyKind>,
    /// Share for `convert` (default: `strategy.share`).
    pub share: Option<f64>,
    /// Worker threads (default: rayon's global pool). Results do not depend on it.
    pub threads: Option<usize>,
    /// Antithetic variates: path `2k+1` of each block uses the negated shocks of path `2k`.
    pub antithetic: bool,
}

/// The strategies a run evaluates (`mine` first).
pub fn plans_for(sc: &Scenario, cfg: &RunConfig) -> Result<Vec<PlanSpec>, ModelError> {
    let kind = cfg.strategy.unwrap_or(sc.strategy.kind);
    let mine = PlanSpec {
        strategy: StrategyKind::Mine,
        share: None,
        conversions: Vec::new(),
    };
    if let Some(s) = cfg.share {
        if !(0.0..=1.0).contains(&s) {
            return Err(bad("share", s, "0 <= share <= 1"));
        }
        if kind != StrategyKind::Convert {
            return Err(ModelError::BadOption {
                option: "share".into(),
                value: format!("{s}"),
                allowed: format!("only with strategy convert (the strategy is {kind})"),
            });
        }
    }
    let mut out = vec![mine];
    match kind {
        StrategyKind::Mine => {}
        StrategyKind::Convert => {
            let s = cfg.share.unwrap_or(sc.strategy.share);
            out.push(PlanSpec {
                strategy: kind,
                share: Some(s),
                conversions: vec![(0, s)],
            });
        }
        StrategyKind::Schedule => out.push(PlanSpec {
            strategy: kind,
            share: None,
            conversions: sc
                .strategy
                .schedule
                .iter()
                .map(|&(d, s)| (d as usize, s))
                .collect(),
        }),
        StrategyKind::Sweep => {
            if sc.strategy.shares.is_empty() {
                return Err(bad("strategy.shares", "[]", "at least one share"));
            }
            for &s in &sc.strategy.shares {
                out.push(PlanSpec {
                    strategy: kind,
                    share: Some(s),
                    conversions: vec![(0, s)],
                });
            }
        }
        // `optimal` runs in `crate::strategy::optimal` on the same paths; here only its `mine` baseline.
        StrategyKind::Optimal => {}
    }
    Ok(out)
}

fn bad(option: &str, value: impl std::fmt::Display, allowed: &str) -> ModelError {
    ModelError::BadOption {
        option: option.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

/// Most memory the per-path IRRs of `[finance]` may hold at once (one block's daily cash per
/// strategy and worker thread, `crate::payoff::finance::EquityBook`): 4 GiB.
pub const MAX_EQUITY_BOOK_BYTES: u64 = 4 << 30;

/// With `[finance]`, refuses a run whose IRR buffers would not fit in
/// [`MAX_EQUITY_BOOK_BYTES`] (many strategies over a long horizon), naming what to lower, instead
/// of running out of memory.
fn check_equity_memory(
    sc: &Scenario,
    strategies: usize,
    threads: Option<usize>,
) -> Result<(), ModelError> {
    if sc.finance.is_none() {
        return Ok(());
    }
    let threads = threads.unwrap_or_else(rayon::current_num_threads).max(1) as u64;
    let per = crate::payoff::finance::EquityBook::bytes(crate::process::BLOCK, sc.days());
    let need = per
        .saturating_mul(strategies as u64)
        .saturating_mul(threads);
    if need > MAX_EQUITY_BOOK_BYTES {
        return Err(ModelError::BadOption {
            option: "finance".into(),
            value: format!(
                "{strategies} strategies over {} days on {threads} threads ({:.1} GiB of daily cash for the IRRs)",
                sc.days(),
                need as f64 / (1u64 << 30) as f64
            ),
            allowed: format!(
                "at most {} GiB: fewer strategy.shares, a shorter run.horizon_years or fewer threads",
                MAX_EQUITY_BOOK_BYTES >> 30
            ),
        });
    }
    Ok(())
}

/// Refuses to hand out a result that holds NaN or infinity (it would print as `null` in JSON and
/// silently mislead). Within the allowed ranges, extreme combinations (e.g. 1,000% fee volatility
/// with no mean reversion, or a very fast hashrate response to a huge price) can push the
/// difficulty or a discounted sum past the range of f64; the error names the first such figure.
pub fn check_finite(out: &SimOutput) -> Result<(), ModelError> {
    let bad = |what: String| Err(ModelError::NonFinite { what });
    for r in &out.results {
        let n = &r.npv;
        for (k, v) in [
            ("npv.mean", n.mean),
            ("npv.stderr", n.stderr),
            ("npv.p5", n.p5),
            ("npv.p50", n.p50),
            ("npv.p95", n.p95),
            ("mining_npv_mean", r.mining_npv_mean),
            ("ai_npv_mean", r.ai_npv_mean),
            ("prob_negative", r.prob_negative),
            ("prob_below_mine", r.prob_below_mine),
            ("cvar5", r.cvar5),
        ] {
            if !v.is_finite() {
                return bad(format!("results[{}].{k} = {v}", r.strategy));
            }
        }
        if let Some(e) = &r.equity {
            let q = &e.equity_npv;
            for (k, v) in [
                ("equity.equity_npv.mean", q.mean),
                ("equity.equity_npv.stderr", q.stderr),
                ("equity.equity_npv.p5", q.p5),
                ("equity.equity_npv.p50", q.p50),
                ("equity.equity_npv.p95", q.p95),
                ("equity.equity_npv_mean_ai", e.equity_npv_mean_ai),
            ] {
                if !v.is_finite() {
                    return bad(format!("results[{}].{k} = {v}", r.strategy));
                }
            }
        }
    }
    let b = &out.bands;
    let mut bands: Vec<(String, &Band)> = vec![
        ("price_usd".into(), &b.price_usd),
        (
            "hashprice_usd_per_ph_day".into(),
            &b.hashprice_usd_per_ph_day,
        ),
        ("difficulty".into(), &b.difficulty),
        ("hashrate_ehs".into(), &b.hashrate_ehs),
    ];
    for c in &b.site_cash_usd {
        bands.push((format!("site_cash_usd[{}]", c.strategy), &c.band));
    }
    for (name, band) in bands {
        for (q, xs) in [("p5", &band.p5), ("p50", &band.p50), ("p95", &band.p95)] {
            if let Some((i, v)) = xs.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                let year = b.years.get(i).copied().unwrap_or(i as u32 + 1);
                return bad(format!("bands.{name}.{q} in year {year} = {v}"));
            }
        }
    }
    Ok(())
}

/// Runs the scenario: every strategy on the same paths (common random numbers). `progress` is
/// called with the fraction of paths done (0..=1) from worker threads.
///
/// Errors: an invalid scenario or option ([`ModelError::Scenario`], [`ModelError::BadOption`]),
/// or a failure of the `optimal` strategy's regression. With `optimal`, `results` is `[mine,
/// optimal]`, the latter from `crate::strategy::optimal::run` on the same paths (in-sample, plus its
/// out-of-sample estimate and policy in the extra fields).
///
/// ```
/// use hashpivot_model::{simulate, RunConfig, Scenario, StrategyKind};
///
/// // The embedded default scenario, `convert` of half the site against `mine`, 256 paths.
/// let sc = Scenario::default();
/// let cfg = RunConfig {
///     paths: Some(256),
///     strategy: Some(StrategyKind::Convert),
///     share: Some(0.5),
///     ..RunConfig::default()
/// };
/// let out = simulate(&sc, &cfg, &|_| {}).unwrap();
/// assert_eq!(out.results[0].strategy, "mine");
/// assert_eq!(out.results[1].share, Some(0.5));
/// // Same seed, same numbers.
/// let again = simulate(&sc, &cfg, &|_| {}).unwrap();
/// assert_eq!(out.results[1].npv.mean.to_bits(), again.results[1].npv.mean.to_bits());
/// ```
pub fn simulate(
    sc: &Scenario,
    cfg: &RunConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<SimOutput, ModelError> {
    simulate_with_paths(sc, cfg, progress).map(|r| r.output)
}

/// [`simulate`]'s output together with the per-path NPVs it summarizes (for callers that chart or
/// analyse the distribution themselves, e.g. the Python package's `Result.npv`).
#[derive(Debug, Clone, PartialEq)]
pub struct SimWithPaths {
    /// Exactly what [`simulate`] returns.
    pub output: SimOutput,
    /// Per-path NPVs, USD, in path order: `npv[k]` belongs to `output.results[k]`.
    pub npv: Vec<Vec<f64>>,
}

/// A run's options resolved against its scenario and checked: what every block of the run and
/// the statistics over them need to agree on.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Paths of the whole run.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The fixed strategies (`mine` first; only `mine` with `optimal`).
    pub specs: Vec<PlanSpec>,
    /// Whether the run adds `optimal` after the fixed strategies.
    pub optimal: bool,
    /// Antithetic variates.
    pub antithetic: bool,
}

impl Resolved {
    /// Blocks of [`BLOCK`] paths in the run (the last may be shorter).
    pub fn blocks(&self) -> usize {
        (self.paths as usize).div_ceil(BLOCK)
    }
}

/// Checks the scenario and the options and resolves them (errors name the option, the value and
/// what is allowed).
pub fn resolve(sc: &Scenario, cfg: &RunConfig) -> Result<Resolved, ModelError> {
    sc.validate()?;
    let paths = cfg.paths.unwrap_or(sc.run.paths);
    if paths == 0 || paths > crate::scenario::MAX_PATHS {
        return Err(bad(
            "paths",
            paths,
            &format!("1 <= paths <= {}", crate::scenario::MAX_PATHS),
        ));
    }
    if let Some(t) = cfg.threads {
        if t == 0 || t > 1024 {
            return Err(bad("threads", t, "1 <= threads <= 1024"));
        }
    }
    let specs = plans_for(sc, cfg)?;
    check_equity_memory(sc, specs.len(), cfg.threads)?;
    let optimal = cfg.strategy.unwrap_or(sc.strategy.kind) == StrategyKind::Optimal;
    Ok(Resolved {
        paths,
        seed: cfg.seed.unwrap_or(sc.run.seed),
        specs,
        optimal,
        antithetic: cfg.antithetic,
    })
}

/// The per-path values of a contiguous range of a run's blocks (MODEL.md section 12): what one
/// shard computes. Parts of consecutive ranges [`Part::merge`] in block order into the whole
/// run's part, which [`summarize`] turns into exactly what [`simulate`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub(crate) raw: Raw,
}

impl Part {
    /// The blocks this part holds.
    pub fn blocks(&self) -> std::ops::Range<usize> {
        self.raw.first_block..self.raw.first_block + self.raw.blocks()
    }

    /// Paths this part holds.
    pub fn paths(&self) -> usize {
        self.raw.paths
    }

    /// An empty part of the run `r` of scenario `sc`, starting at block `first_block` (what
    /// [`Part::merge`] extends, and what the shard files are read into).
    pub fn empty(sc: &Scenario, r: &Resolved, first_block: usize) -> Part {
        let years = sc.days().div_ceil(365).max(1);
        let np = r.specs.len();
        Part {
            raw: Raw::empty(
                years,
                np,
                banded(r.paths, np),
                sc.finance.is_some(),
                first_block,
            ),
        }
    }

    /// Appends `next`, which must hold the blocks right after this part's (else an error naming
    /// the blocks).
    pub fn merge(&mut self, next: Part) -> Result<(), ModelError> {
        let (mine, theirs) = (self.blocks(), next.blocks());
        self.raw
            .append(next.raw)
            .map_err(|e| ModelError::BadOption {
                option: "part".into(),
                value: format!("blocks {}..{}", theirs.start, theirs.end),
                allowed: format!("the blocks after {}..{} ({e})", mine.start, mine.end),
            })
    }
}

/// Runs the blocks `blocks` of the run of `sc` and `cfg` (the fixed strategies; with `optimal`
/// its `mine` baseline). Errors: bad options, or a block range outside the run.
pub fn run_blocks(
    sc: &Scenario,
    cfg: &RunConfig,
    blocks: std::ops::Range<usize>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Part, ModelError> {
    let r = resolve(sc, cfg)?;
    if blocks.start > blocks.end || blocks.end > r.blocks() {
        return Err(bad(
            "blocks",
            format!("{}..{}", blocks.start, blocks.end),
            &format!("a range within 0..{} (the run's blocks)", r.blocks()),
        ));
    }
    in_pool(cfg.threads, || {
        Ok(run_resolved(sc, &r, blocks, None, progress))
    })
}

fn run_resolved(
    sc: &Scenario,
    r: &Resolved,
    blocks: std::ops::Range<usize>,
    shared: Option<SharedSlices<'_>>,
    progress: &(dyn Fn(f64) + Sync),
) -> Part {
    Part {
        raw: simulate_blocks(
            sc,
            &r.specs,
            r.paths,
            blocks,
            (r.seed, r.antithetic),
            shared,
            progress,
        ),
    }
}

/// The statistics of a whole run's merged [`Part`]: exactly [`simulate_with_paths`]'s result for
/// the fixed strategies. Errors: a part that is not the whole run, or a run with `optimal` (its
/// two phases merge through `crate::strategy::optimal`).
pub fn summarize(sc: &Scenario, cfg: &RunConfig, part: &Part) -> Result<SimWithPaths, ModelError> {
    let r = resolve(sc, cfg)?;
    check_whole(&r, part)?;
    if r.optimal {
        return Err(bad(
            "strategy",
            "optimal",
            "mine, convert, schedule or sweep (optimal merges in two phases)",
        ));
    }
    let out = summarize_resolved(sc, &r, part);
    check_finite(&out.output)?;
    Ok(out)
}

/// Refuses a part that is not the whole run `r`.
fn check_whole(r: &Resolved, part: &Part) -> Result<(), ModelError> {
    if part.blocks() != (0..r.blocks()) || part.paths() as u64 != r.paths {
        let b = part.blocks();
        return Err(bad(
            "part",
            format!("blocks {}..{} ({} paths)", b.start, b.end, part.paths()),
            &format!(
                "the whole run: blocks 0..{} ({} paths)",
                r.blocks(),
                r.paths
            ),
        ));
    }
    Ok(())
}

fn summarize_resolved(sc: &Scenario, r: &Resolved, part: &Part) -> SimWithPaths {
    let (output, npv) = summarize_raw(sc, &r.specs, r.paths, r.seed, r.antithetic, &part.raw);
    SimWithPaths { output, npv }
}

/// Runs `run` on a pool of `threads` workers (rayon's global pool when `None`).
pub(crate) fn in_pool<T: Send>(
    threads: Option<usize>,
    run: impl FnOnce() -> Result<T, ModelError> + Send,
) -> Result<T, ModelError> {
    match threads {
        Some(t) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| ModelError::Internal(format!("thread pool: {e}")))?;
            pool.install(run)
        }
        None => run(),
    }
}

/// [`simulate`], keeping the per-path NPVs of every result (the same run, the same numbers): the
/// blocks of the whole run ([`run_blocks`]), their statistics ([`summarize`]), then `optimal`.
pub fn simulate_with_paths(
    sc: &Scenario,
    cfg: &RunConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<SimWithPaths, ModelError> {
    simulate_with_bound(sc, cfg, None, progress)
}

/// [`simulate_with_paths`], and with `bound` the dual upper bound of the `optimal` strategy
/// ([`crate::strategy::optimal_dual`]) in its result's `upper_bound` (the other numbers are
/// those of the run without it). Errors: `bound` with another strategy, or bad bound paths.
pub fn simulate_with_bound(
    sc: &Scenario,
    cfg: &RunConfig,
    bound: Option<crate::strategy::optimal_dual::BoundRequest>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<SimWithPaths, ModelError> {
    let r = resolve(sc, cfg)?;
    if bound.is_some() && !r.optimal {
        return Err(bad(
            "upper-bound",
            "requested",
            "only with strategy optimal (the fixed strategies have no policy to bound)",
        ));
    }
    in_pool(cfg.threads, || {
        let tail = if bound.is_some() { 0.6 } else { 1.0 };
        let ocfg = crate::strategy::optimal::OptimalConfig::new(r.paths, r.seed, r.antithetic);
        // With `optimal`, its in-sample slices are simulated in the fixed strategies' pass (the
        // same paths as `mine`) when its cache keeps them all.
        let setup = match r.optimal {
            true => Some(OptimalSetup::new(sc, &ocfg)?.keep_blocks(CACHE_BYTES)),
            false => None,
        };
        let shared = setup.as_ref().map(|s| s.shared());
        // With `optimal`, the fixed strategies' pass is a fifth of the work, a third when it
        // also simulates the in-sample slices (the bound takes about as long as `optimal`).
        let head = match &shared {
            None => 1.0,
            Some(s) if s.blocks > 0 => 0.35,
            Some(_) => 0.2,
        };
        let part = run_resolved(sc, &r, 0..r.blocks(), shared, &|f| progress(head * f));
        let mut out = summarize_resolved(sc, &r, &part);
        drop(part);
        if let Some(setup) = setup {
            let span = tail - head;
            let mut o =
                crate::strategy::optimal::run_setup(&setup, &|f| progress(head + span * f))?;
            if let Some(req) = bound {
                let d = req.resolve(&ocfg);
                let b =
                    crate::strategy::optimal_dual::upper_bound(sc, &ocfg, &o.policy, &d, &|f| {
                        progress(tail + (1.0 - tail) * f)
                    })?;
                o.detail.upper_bound = Some(b);
            }
            push_optimal(&mut out, o);
        }
        check_finite(&out.output)?;
        Ok(out)
    })
}

/// Appends `optimal`'s result after the fixed strategies' (the one place both a single machine
/// and a shard merge do it).
fn push_optimal(out: &mut SimWithPaths, o: crate::strategy::optimal::OptimalOutput) {
    out.output.results.push(StrategyResult {
        detail: Some(StrategyDetail::Optimal(Box::new(o.detail))),
        ..o.result
    });
    out.npv.push(o.npv);
}

/// The statistics of a whole `optimal` run from its merged [`Part`] (the `mine` baseline) and the
/// strategy's output (its two phases merged through `crate::strategy::optimal`): exactly
/// [`simulate_with_paths`]'s result. Errors: a part that is not the whole run, a run of another
/// strategy, or a non-finite result.
pub fn summarize_optimal(
    sc: &Scenario,
    cfg: &RunConfig,
    part: &Part,
    o: crate::strategy::optimal::OptimalOutput,
) -> Result<SimWithPaths, ModelError> {
    let r = resolve(sc, cfg)?;
    check_whole(&r, part)?;
    if !r.optimal {
        return Err(bad("strategy", "not optimal", "optimal"));
    }
    let mut out = summarize_resolved(sc, &r, part);
    push_optimal(&mut out, o);
    check_finite(&out.output)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::fixed::{simulate_raw, Raw};

    fn small() -> Scenario {
        let mut s = Scenario::default();
        s.run.horizon_years = 6.0;
        s
    }

    #[test]
    fn simulate_with_paths_keeps_the_summarized_npvs() {
        let sc = small();
        for kind in [StrategyKind::Sweep, StrategyKind::Optimal] {
            let cfg = RunConfig {
                paths: Some(300),
                strategy: Some(kind),
                ..Default::default()
            };
            let r = simulate_with_paths(&sc, &cfg, &|_| {}).unwrap();
            assert_eq!(r.output, simulate(&sc, &cfg, &|_| {}).unwrap());
            assert_eq!(r.npv.len(), r.output.results.len());
            for (res, v) in r.output.results.iter().zip(&r.npv) {
                assert_eq!(v.len(), 300);
                let s = crate::stats::summarize("x", None, v, 0.0, 0.0, None, false);
                assert_eq!(s.npv, res.npv, "{}", res.strategy);
            }
        }
    }

    fn raw(sc: &Scenario, specs: &[PlanSpec], paths: u64) -> Raw {
        simulate_raw(sc, specs, paths, 9, false, &|_| {})
    }

    fn spec(kind: StrategyKind, conversions: Vec<(usize, f64)>) -> PlanSpec {
        PlanSpec {
            strategy: kind,
            share: None,
            conversions,
        }
    }

    #[test]
    fn share_zero_equals_mine_path_by_path() {
        let sc = small();
        let specs = [
            spec(StrategyKind::Mine, vec![]),
            spec(StrategyKind::Convert, vec![(0, 0.0)]),
        ];
        let r = raw(&sc, &specs, 1500);
        for i in 0..1500 {
            assert_eq!(r.npv[2 * i], r.npv[2 * i + 1]);
        }
        let out = simulate(
            &sc,
            &RunConfig {
                paths: Some(1500),
                strategy: Some(StrategyKind::Convert),
                share: Some(0.0),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        assert_eq!(out.results[0].npv, out.results[1].npv);
        assert_eq!(out.results[1].prob_below_mine, 0.0);
    }

    #[test]
    fn hourly_flat_curve_equals_flat_price() {
        // `[power] hourly` with every hour at the site's price must reproduce MODEL.md's flat
        // model (up to the association of one product: 1e-12 relative), for every strategy and
        // with curtailment on and off.
        for curtail in [true, false] {
            let mut a = small();
            a.site.power_usd_mwh = 70.0;
            a.mining.curtail = curtail;
            let mut b = a.clone();
            b.power = Some(crate::scenario::Power {
                hourly: Some("flat:70".into()),
            });
            b.validate().unwrap();
            let cfg = RunConfig {
                paths: Some(600),
                ..Default::default()
            };
            let (x, y) = (
                simulate(&a, &cfg, &|_| {}).unwrap(),
                simulate(&b, &cfg, &|_| {}).unwrap(),
            );
            assert_eq!(x.results.len(), y.results.len());
            for (p, q) in x.results.iter().zip(&y.results) {
                let (u, v) = (p.npv.mean, q.npv.mean);
                assert!((u - v).abs() <= 1e-12 * u.abs().max(1.0), "{u} vs {v}");
                let (u, v) = (p.npv.p50, q.npv.p50);
                assert!((u - v).abs() <= 1e-12 * u.abs().max(1.0), "{u} vs {v}");
            }
        }
    }

    #[test]
    fn hourly_prices_change_the_value_and_curtailment_helps() {
        // HB_WEST 2022 (mean $59.8/MWh) against a flat $59.8: dispatching on the hourly curve is
        // worth more than the flat price of the same mean, since the fleet skips the spikes.
        let mut flat = small();
        flat.site.power_usd_mwh = 59.79;
        let mut hourly = flat.clone();
        hourly.power = Some(crate::scenario::Power {
            hourly: Some("ercot:HB_WEST:2022".into()),
        });
        hourly.validate().unwrap();
        let cfg = RunConfig {
            paths: Some(600),
            strategy: Some(StrategyKind::Mine),
            ..Default::default()
        };
        let f = simulate(&flat, &cfg, &|_| {}).unwrap();
        let h = simulate(&hourly, &cfg, &|_| {}).unwrap();
        assert!(h.results[0].npv.mean > f.results[0].npv.mean);
        let mut never = hourly.clone();
        never.mining.curtail = false;
        let n = simulate(&never, &cfg, &|_| {}).unwrap();
        assert!(h.results[0].npv.mean > n.results[0].npv.mean);
    }

    #[test]
    fn curtailment_never_lowers_value() {
        let mut on = small();
        // Expensive power so that curtailment actually happens on many days.
        on.site.power_usd_mwh = 70.0;
        on.mining.fleet.push(crate::scenario::Batch {
            model: "S9".into(),
            units: 20_000.0,
            hashrate_ths: 13.5,
            power_w: 1323.0,
        });
        let mut off = on.clone();
        off.mining.curtail = false;
        let specs = [
            spec(StrategyKind::Mine, vec![]),
            spec(StrategyKind::Schedule, vec![(0, 0.3), (400, 0.3)]),
        ];
        let a = raw(&on, &specs, 1100);
        let b = raw(&off, &specs, 1100);
        let mut strictly = 0;
        for (x, y) in a.npv.iter().zip(&b.npv) {
            assert!(x >= y, "{x} < {y}");
            if x > y {
                strictly += 1;
            }
        }
        assert!(
            strictly > 1000,
            "curtailment should matter in this scenario ({strictly})"
        );
    }

    #[test]
    fn same_seed_same_numbers_on_one_and_two_threads() {
        let sc = small();
        let run = |threads, antithetic| {
            simulate(
                &sc,
                &RunConfig {
                    paths: Some(2500),
                    threads: Some(threads),
                    antithetic,
                    ..Default::default()
                },
                &|_| {},
            )
            .unwrap()
        };
        let one = run(1, false);
        let two = run(2, false);
        assert_eq!(one, two);
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            serde_json::to_string(&two).unwrap()
        );
        assert_eq!(run(1, true), run(2, true));
        // A different seed gives different numbers.
        let other = simulate(
            &sc,
            &RunConfig {
                paths: Some(2500),
                seed: Some(1),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        assert_ne!(one.results[0].npv.mean, other.results[0].npv.mean);
    }

    #[test]
    fn json_shape_and_mine_first() {
        let sc = small();
        let out = simulate(
            &sc,
            &RunConfig {
                paths: Some(300),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        let j = serde_json::to_value(&out).unwrap();
        let keys: Vec<&str> = j.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert_eq!(j["paths"], 300);
        assert_eq!(j["seed"], 42);
        assert_eq!(j["results"][0]["strategy"], "mine");
        assert_eq!(j["results"][0]["prob_below_mine"], 0.0);
        assert_eq!(
            j["results"].as_array().unwrap().len(),
            1 + sc.strategy.shares.len()
        );
        for k in ["mean", "stderr", "p5", "p50", "p95"] {
            assert!(j["results"][1]["npv"][k].is_number());
        }
        assert_eq!(j["bands"]["years"].as_array().unwrap().len(), 6);
        assert_eq!(j["bands"]["price_usd"]["p50"].as_array().unwrap().len(), 6);
        let b = &out.bands.price_usd;
        for y in 0..6 {
            assert!(b.p5[y] <= b.p50[y] && b.p50[y] <= b.p95[y]);
        }
    }

    #[test]
    fn antithetic_mean_agrees_within_error() {
        let sc = small();
        let plain = simulate(
            &sc,
            &RunConfig {
                paths: Some(4000),
                strategy: Some(StrategyKind::Mine),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        let anti = simulate(
            &sc,
            &RunConfig {
                paths: Some(4000),
                strategy: Some(StrategyKind::Mine),
                antithetic: true,
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
        let (a, b) = (&plain.results[0].npv, &anti.results[0].npv);
        assert!((a.mean - b.mean).abs() < 4.0 * (a.stderr * a.stderr + b.stderr * b.stderr).sqrt());
    }

    #[test]
    fn bad_options_are_named() {
        let sc = small();
        let e = simulate(
            &sc,
            &RunConfig {
                paths: Some(0),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("paths = 0"), "{e}");
        let e = simulate(
            &sc,
            &RunConfig {
                share: Some(1.5),
                strategy: Some(StrategyKind::Convert),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("share = 1.5") && e.to_string().contains("0 <= share <= 1"),
            "{e}"
        );
    }

    /// `optimal` runs through `crate::strategy::optimal` after the `mine` baseline, on the same paths.
    #[test]
    fn optimal_is_dispatched_after_mine() {
        let mut sc = small();
        sc.run.horizon_years = 3.0;
        sc.strategy.tranches = 2;
        sc.strategy.decide_months = 6;
        let cfg = RunConfig {
            paths: Some(600),
            strategy: Some(StrategyKind::Optimal),
            ..Default::default()
        };
        let out = simulate(&sc, &cfg, &|_| {}).unwrap();
        assert_eq!(out.results.len(), 2);
        assert_eq!(out.results[0].strategy, "mine");
        assert_eq!(out.results[1].strategy, "optimal");
        assert!(out.results[1].optimal().is_some());
        // Converting is optional, so the in-sample optimal value is at least the mine value up to
        // Monte Carlo noise, and equal to it on the paths where nothing converts.
        let (o, m) = (&out.results[1].npv, &out.results[0].npv);
        assert!(
            o.mean >= m.mean - 3.0 * m.stderr,
            "{} vs {}",
            o.mean,
            m.mean
        );
        let j = serde_json::to_value(&out).unwrap();
        assert_eq!(j["results"][1]["strategy"], "optimal");
    }

    #[test]
    fn simulate_reports_histograms_for_every_strategy() {
        let sc = Scenario::default();
        let cfg = RunConfig {
            paths: Some(300),
            ..RunConfig::default()
        };
        let out = simulate(&sc, &cfg, &|_| {}).unwrap();
        let first = out.results[0].npv_histogram.as_ref().unwrap();
        for r in &out.results {
            let h = r.npv_histogram.as_ref().unwrap();
            assert_eq!(h.edges, first.edges);
            assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 300);
        }
    }
}
