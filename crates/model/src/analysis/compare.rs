//! `hashpivot compare`: the seed's question for one site, side by side. Keep mining, convert the
//! whole site to a powered shell leased to a tenant (MODEL.md §5, §8), or convert it to a GPU cloud
//! that the owner runs (§9): each as its NPV distribution and, when the scenario has `[finance]`,
//! its equity view (§10).
//!
//! The scenario runs twice on the same seed: once with `ai.mode = "lease"` and once with
//! `"cloud"`, each as `convert` with share 1 on day 0. Every run sees the same market paths (the
//! streams are keyed by seed and block; the GPU index has its own stream), so `mine` is the same in
//! both, `P(< mine)` compares each option with mining on the same path, and the differences between
//! the rows are not Monte Carlo noise (common random numbers). Each row is exactly the result
//! `simulate` gives for that scenario, number for number.

use serde::{Deserialize, Serialize};

use crate::result::{Currency, Histogram, StrategyResult};
use crate::run::{simulate_with_paths, RunConfig};
use crate::scenario::{AiMode, Scenario, StrategyKind};
use crate::stats::histograms;
use crate::ModelError;

/// The options compared, in row order.
pub const OPTIONS: [&str; 3] = ["mine", "lease", "cloud"];

/// One option's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    /// `mine`, `lease` or `cloud`.
    pub option: String,
    /// The option's result, exactly as `simulate` reports it for the scenario run this way
    /// (`mine`: the baseline of the lease run; `lease`/`cloud`: `convert` with share 1).
    pub result: StrategyResult,
    /// The per-path NPVs on bins shared by the three rows (for one chart; the result's own
    /// histogram is on the bins of its run).
    pub histogram: Histogram,
}

/// What [`compare`] returns; serializes to the `compare --json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Paths of each run.
    pub paths: u64,
    /// Seed of both runs.
    pub seed: u64,
    /// The currency of every money figure (MODEL.md §11); absent in JSON when USD.
    #[serde(default, skip_serializing_if = "Currency::is_usd")]
    pub currency: Currency,
    /// Mine, lease, cloud.
    pub rows: Vec<CompareRow>,
}

/// The scenario as one option runs it: `convert` with share 1 on day 0 in `mode`.
pub fn scenario_for(sc: &Scenario, mode: AiMode) -> Scenario {
    let mut s = sc.clone();
    s.ai.mode = mode;
    s.strategy.kind = StrategyKind::Convert;
    s.strategy.share = 1.0;
    // Each row unlevered (its NPV) and levered (its equity view): at the scenario's `[finance]`,
    // or, when it has none, at the published project-debt terms of `Finance::default`.
    s.finance
        .get_or_insert_with(crate::scenario::Finance::default);
    s
}

/// Runs the comparison. `cfg`'s paths, seed, threads and antithetic apply to both runs; its
/// strategy and share must be unset (the options fix them). `progress` gets the fraction done.
pub fn compare(
    sc: &Scenario,
    cfg: &RunConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Comparison, ModelError> {
    if cfg.strategy.is_some() || cfg.share.is_some() {
        return Err(ModelError::BadOption {
            option: "strategy".into(),
            value: format!("{:?}", cfg.strategy.map(|k| k.as_str())),
            allowed: "none: compare runs mine, a full lease and a full cloud conversion".into(),
        });
    }
    let mut outs = Vec::with_capacity(2);
    for (i, mode) in [AiMode::Lease, AiMode::Cloud].into_iter().enumerate() {
        let part = |f: f64| progress((i as f64 + f) / 2.0);
        outs.push(simulate_with_paths(&scenario_for(sc, mode), cfg, &part)?);
    }
    let (lease, cloud) = (&outs[0], &outs[1]);
    let cols: [&[f64]; 3] = [&lease.npv[0], &lease.npv[1], &cloud.npv[1]];
    let results = [
        &lease.output.results[0],
        &lease.output.results[1],
        &cloud.output.results[1],
    ];
    let rows = OPTIONS
        .iter()
        .zip(results)
        .zip(histograms(&cols))
        .map(|((option, r), histogram)| CompareRow {
            option: (*option).to_string(),
            result: r.clone(),
            histogram,
        })
        .collect();
    Ok(Comparison {
        paths: lease.output.paths,
        seed: lease.output.seed,
        currency: lease.output.currency,
        rows,
    })
}
