//! One run split across machines (MODEL.md section 12): a [`Plan`] cuts a run (or a sweep's grid
//! of runs) into shards, each a contiguous range of (grid point, block) units; each shard writes
//! its per-path values to a part file ([`part`]); the merge ([`merge`]) reads the parts in block
//! order and computes the statistics exactly as one machine does, bit for bit.
//!
//! The plan holds the fully resolved scenario of every point (every default filled in), the run
//! configuration, a fingerprint of the shipped data the scenarios read (the hourly power
//! series), the hashpivot version, and a hash of all that: a shard never depends on the
//! embedded defaults of the binary that runs it, and a part of another plan is refused.
//!
//! `optimal` runs in two phases ([`optimal`]): its plan adds each shard's range of fresh blocks
//! (the out-of-sample paths), and its shards run twice, once for the regression sums and once,
//! with the fitted policy, for the priced paths.

pub mod merge;
pub mod optimal;
pub mod part;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::process::BLOCK;
use crate::run::{resolve, run_blocks, Part, RunConfig};
use crate::scenario::{Scenario, StrategyKind};
use crate::strategy::optimal::{OptimalConfig, OptimalSetup};
use crate::ModelError;

/// What a plan file says it is.
pub const PLAN_FORMAT: &str = "hashpivot shard plan";
/// Version of the plan and part formats.
pub const PLAN_VERSION: u32 = 1;
/// The hashpivot version whose engine wrote (and must run) a plan.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a shard step failed.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The user's input is wrong (exit 2): a bad option or plan, or missing, duplicated, foreign,
    /// truncated or corrupt parts. The message names them and what is allowed.
    #[error("{0}")]
    Bad(String),
    /// The engine refused the run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Writing a file failed (not the user's input).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The run configuration every shard of a plan uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRun {
    /// Paths of each point's run.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Strategy compared with `mine`.
    pub strategy: StrategyKind,
    /// Share for `convert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Antithetic variates.
    pub antithetic: bool,
}

/// One scenario of a plan (one grid point of a sweep; the only point of a plain run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanPoint {
    /// The grid point's value of each key of [`Plan::grid`] (empty for a plain run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// The fully resolved scenario.
    pub scenario: Scenario,
}

/// A unit of work of a shard: blocks `blocks[0]..blocks[1]` of grid point `point`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// Index into [`Plan::points`].
    pub point: usize,
    /// Block range, end exclusive.
    pub blocks: [usize; 2],
}

/// A sharded run: what `hashpivot shard plan` writes and every shard and the merge read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`PLAN_FORMAT`].
    pub format: String,
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The hashpivot version that wrote the plan (shards and merge must run the same).
    pub hashpivot: String,
    /// SHA-256 of the shipped data the scenarios read beyond themselves (the hourly power series
    /// of `[power] hourly`), hex; empty when they read none.
    pub data: String,
    /// The run configuration.
    pub run: PlanRun,
    /// A sweep's keys (absent for a plain run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<Vec<String>>,
    /// The scenarios.
    pub points: Vec<PlanPoint>,
    /// Blocks of [`BLOCK`] paths per point (the last may be shorter).
    pub blocks: usize,
    /// Each shard's units, in order: shard `i` is `shards[i]`; concatenated, the units cover
    /// every (point, block) once in order.
    pub shards: Vec<Vec<Unit>>,
    /// `optimal` only: each shard's range of fresh blocks (the out-of-sample paths), end
    /// exclusive; concatenated, they cover every fresh block once in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fresh: Vec<[usize; 2]>,
    /// SHA-256 (hex) of the plan's JSON with this field empty.
    pub hash: String,
}

fn bad(msg: impl Into<String>) -> ShardError {
    ShardError::Bad(msg.into())
}

/// SHA-256 of the data `scenarios` read beyond their own values, hex ("" when none).
pub fn data_fingerprint(scenarios: &[&Scenario]) -> Result<String, ShardError> {
    let mut specs: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s.power.as_ref().and_then(|p| p.hourly.as_deref()))
        .filter(|s| hashpivot_data::ercot::is_ercot_name(s))
        .collect();
    specs.sort_unstable();
    specs.dedup();
    if specs.is_empty() {
        return Ok(String::new());
    }
    let mut h = Sha256::new();
    for s in specs {
        let series = hashpivot_data::ercot::series(s)
            .map_err(|e| bad(format!("power.hourly = {s:?}: {e}")))?;
        h.update(s.as_bytes());
        h.update((series.usd_mwh.len() as u64).to_le_bytes());
        for x in &series.usd_mwh {
            h.update(x.to_le_bytes());
        }
    }
    Ok(hex(&h.finalize()))
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Plan {
    /// Plans `shards` shards of the run of each scenario of `points` (their grid values and
    /// scenarios; one point without values for a plain run) with `cfg` (its `threads` is not part
    /// of the plan). Errors: bad options, and a shard count outside 1 to the number of units.
    pub fn new(
        grid: Option<Vec<String>>,
        points: Vec<(Vec<f64>, Scenario)>,
        cfg: &RunConfig,
        shards: usize,
    ) -> Result<Plan, ShardError> {
        let first = &points
            .first()
            .ok_or_else(|| bad("a plan needs a scenario"))?
            .1;
        let r = resolve(first, cfg)?;
        let kind = cfg.strategy.unwrap_or(first.strategy.kind);
        let mut fresh_blocks = 0;
        if kind == StrategyKind::Optimal {
            if grid.is_some() {
                return Err(bad(
                    "--grid: a sweep's grid with --strategy optimal is not available; allowed: \
                     mine, convert, schedule or sweep over a grid, or optimal for one scenario",
                ));
            }
            // The strategy's own checks (paths, decision days, memory) before any shard runs.
            let ocfg = OptimalConfig::new(r.paths, r.seed, r.antithetic);
            let setup = OptimalSetup::new(first, &ocfg)?;
            fresh_blocks = setup.fresh_blocks() as usize;
        }
        for (_, sc) in &points[1..] {
            resolve(sc, cfg)?;
        }
        let blocks = r.blocks();
        let total = blocks * points.len();
        if shards == 0 || shards > total {
            return Err(bad(format!(
                "--shards: {shards} is not allowed; use 1 to {total} (the run's {} blocks of {BLOCK} \
                 paths{})",
                blocks,
                if points.len() > 1 {
                    format!(" × {} grid points", points.len())
                } else {
                    String::new()
                }
            )));
        }
        let scs: Vec<&Scenario> = points.iter().map(|p| &p.1).collect();
        let mut plan = Plan {
            format: PLAN_FORMAT.into(),
            version: PLAN_VERSION,
            hashpivot: ENGINE_VERSION.into(),
            data: data_fingerprint(&scs)?,
            run: PlanRun {
                paths: r.paths,
                seed: r.seed,
                strategy: kind,
                share: cfg.share,
                antithetic: cfg.antithetic,
            },
            grid,
            points: points
                .into_iter()
                .map(|(values, scenario)| PlanPoint { values, scenario })
                .collect(),
            blocks,
            shards: (0..shards)
                .map(|i| units(i, shards, blocks, total))
                .collect(),
            fresh: fresh_ranges(shards, fresh_blocks),
            hash: String::new(),
        };
        plan.hash = plan.compute_hash();
        Ok(plan)
    }

    /// The run configuration of every point (`threads`: the engine's default).
    pub fn config(&self) -> RunConfig {
        RunConfig {
            paths: Some(self.run.paths),
            seed: Some(self.run.seed),
            strategy: Some(self.run.strategy),
            share: self.run.share,
            threads: None,
            antithetic: self.run.antithetic,
        }
    }

    /// True for a plan of `optimal` (two phases; see [`optimal`]).
    pub fn is_optimal(&self) -> bool {
        self.run.strategy == StrategyKind::Optimal
    }

    /// The options of `optimal` on this plan's run: exactly those of `simulate`'s (`crate::run`).
    pub fn optimal_config(&self) -> OptimalConfig {
        OptimalConfig::new(self.run.paths, self.run.seed, self.run.antithetic)
    }

    fn compute_hash(&self) -> String {
        let mut p = self.clone();
        p.hash = String::new();
        let text = serde_json::to_string(&p).unwrap_or_default();
        hex(&Sha256::digest(text.as_bytes()))
    }

    /// The plan file's text (pretty JSON, ending in a newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a plan file's text (`file` names it in errors) and checks everything a shard relies
    /// on: the format and version, the hash, the hashpivot version and shipped data of this
    /// binary, the scenarios and the shards' units.
    pub fn from_json(text: &str, file: &str) -> Result<Plan, ShardError> {
        let p: Plan = serde_json::from_str(text)
            .map_err(|e| bad(format!("{file}: not a shard plan: {e}")))?;
        if p.format != PLAN_FORMAT || p.version != PLAN_VERSION {
            return Err(bad(format!(
                "{file}: format {:?} version {}: allowed {PLAN_FORMAT:?} version {PLAN_VERSION}",
                p.format, p.version
            )));
        }
        let h = p.compute_hash();
        if h != p.hash {
            return Err(bad(format!(
                "{file}: hash {} does not match its contents ({h}): the plan was edited; write a \
                 new one with `hashpivot shard plan`",
                p.hash
            )));
        }
        if p.hashpivot != ENGINE_VERSION {
            return Err(bad(format!(
                "{file}: written by hashpivot {}; this is hashpivot {ENGINE_VERSION}: allowed the \
                 same version on every machine",
                p.hashpivot
            )));
        }
        let scs: Vec<&Scenario> = p.points.iter().map(|x| &x.scenario).collect();
        let data = data_fingerprint(&scs)?;
        if data != p.data {
            return Err(bad(format!(
                "{file}: the shipped data of this binary (sha256 {data}) differs from the plan's \
                 ({}): allowed the same build on every machine",
                p.data
            )));
        }
        p.check(file)?;
        Ok(p)
    }

    fn check(&self, file: &str) -> Result<(), ShardError> {
        let cfg = self.config();
        for (i, pt) in self.points.iter().enumerate() {
            let r = resolve(&pt.scenario, &cfg)
                .map_err(|e| bad(format!("{file}: points[{i}]: {e}")))?;
            if r.blocks() != self.blocks {
                return Err(bad(format!(
                    "{file}: blocks = {}: the run has {} blocks",
                    self.blocks,
                    r.blocks()
                )));
            }
        }
        let total = self.blocks * self.points.len();
        let n = self.shards.len();
        let expected: Vec<Vec<Unit>> = (0..n).map(|i| units(i, n, self.blocks, total)).collect();
        if n == 0 || expected != self.shards {
            return Err(bad(format!(
                "{file}: the shards' units do not cover the run's {total} (point, block) units in order"
            )));
        }
        let fresh_blocks = if self.is_optimal() {
            if self.grid.is_some() || self.points.len() != 1 {
                return Err(bad(format!(
                    "{file}: an optimal plan has one scenario and no grid"
                )));
            }
            OptimalSetup::new(&self.points[0].scenario, &self.optimal_config())
                .map_err(|e| bad(format!("{file}: points[0]: {e}")))?
                .fresh_blocks() as usize
        } else {
            0
        };
        if self.fresh != fresh_ranges(n, fresh_blocks) {
            return Err(bad(format!(
                "{file}: the shards' fresh blocks do not cover the run's {fresh_blocks} fresh \
                 blocks in order"
            )));
        }
        Ok(())
    }

    /// Runs shard `index`: each of its units, in order. `progress` gets the fraction done.
    pub fn run_shard(
        &self,
        index: usize,
        threads: Option<usize>,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Vec<(Unit, Part)>, ShardError> {
        let units = self.shards.get(index).ok_or_else(|| {
            bad(format!(
                "--index: {index} is not a shard of this plan; use 0 to {}",
                self.shards.len() - 1
            ))
        })?;
        let cfg = RunConfig {
            threads,
            ..self.config()
        };
        let n = units.len() as f64;
        units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let sc = &self.points[u.point].scenario;
                let part = run_blocks(sc, &cfg, u.blocks[0]..u.blocks[1], &|f| {
                    progress((i as f64 + f) / n)
                })?;
                Ok((*u, part))
            })
            .collect()
    }
}

/// Each of `n` shards' range of `optimal`'s `fresh` blocks (none for other strategies): shard
/// `i` gets `i·fresh/n .. (i+1)·fresh/n`.
fn fresh_ranges(n: usize, fresh: usize) -> Vec<[usize; 2]> {
    if fresh == 0 {
        return Vec::new();
    }
    (0..n)
        .map(|i| [i * fresh / n, (i + 1) * fresh / n])
        .collect()
}

/// The units of shard `i` of `n`: the (point, block) units `i·total/n .. (i+1)·total/n`, grouped
/// by point.
fn units(i: usize, n: usize, blocks: usize, total: usize) -> Vec<Unit> {
    let (a, b) = (i * total / n, (i + 1) * total / n);
    let mut out: Vec<Unit> = Vec::new();
    let mut u = a;
    while u < b {
        let point = u / blocks;
        let start = u % blocks;
        let end = blocks.min(start + (b - u));
        out.push(Unit {
            point,
            blocks: [start, end],
        });
        u += end - start;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_cover_every_block_once_in_order() {
        for (blocks, points) in [(17, 1), (3, 5), (1, 1), (40, 2)] {
            let total = blocks * points;
            for n in 1..=total {
                let all: Vec<(usize, usize)> = (0..n)
                    .flat_map(|i| units(i, n, blocks, total))
                    .flat_map(|u| (u.blocks[0]..u.blocks[1]).map(move |b| (u.point, b)))
                    .collect();
                let want: Vec<(usize, usize)> = (0..points)
                    .flat_map(|p| (0..blocks).map(move |b| (p, b)))
                    .collect();
                assert_eq!(all, want, "blocks {blocks} points {points} shards {n}");
                // Shard sizes differ by at most one unit.
                let sizes: Vec<usize> = (0..n)
                    .map(|i| {
                        units(i, n, blocks, total)
                            .iter()
                            .map(|u| u.blocks[1] - u.blocks[0])
                            .sum()
                    })
                    .collect();
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "{sizes:?}");
            }
        }
    }

    #[test]
    fn plan_round_trips_and_refuses_edits() {
        let mut sc = Scenario::default();
        sc.run.horizon_years = 2.0;
        sc.strategy.decide_months = 6;
        let cfg = RunConfig {
            paths: Some(600),
            ..Default::default()
        };
        let p = Plan::new(None, vec![(vec![], sc)], &cfg, 2).unwrap();
        assert_eq!(p.blocks, 3);
        let text = p.to_json();
        assert_eq!(Plan::from_json(&text, "plan.json").unwrap(), p);
        let edited = text.replacen("\"seed\": 42", "\"seed\": 43", 1);
        assert_ne!(edited, text);
        let e = Plan::from_json(&edited, "plan.json").unwrap_err();
        assert!(e.to_string().contains("does not match its contents"), "{e}");
        let e = Plan::new(None, vec![(vec![], Scenario::default())], &cfg, 4).unwrap_err();
        assert!(e.to_string().contains("--shards: 4"), "{e}");
    }

    /// Shards written to part files and merged give `simulate`'s output bit for bit, for shard
    /// counts that cut blocks unevenly and a last partial block.
    #[test]
    fn part_files_merge_to_simulate_bit_for_bit() {
        let mut sc = Scenario::default();
        sc.run.horizon_years = 2.0;
        sc.strategy.decide_months = 6;
        let cfg = RunConfig {
            paths: Some(5 * BLOCK as u64 + 33),
            strategy: Some(StrategyKind::Sweep),
            seed: Some(3),
            ..Default::default()
        };
        let want = serde_json::to_string(&crate::simulate(&sc, &cfg, &|_| {}).unwrap()).unwrap();
        for n in [1, 4, 6] {
            let plan = Plan::new(None, vec![(vec![], sc.clone())], &cfg, n).unwrap();
            let dir = std::env::temp_dir().join(format!("hp-shard-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for i in (0..n).rev() {
                let mut units = plan.run_shard(i, Some(1), &|_| {}).unwrap();
                part::write(&dir, &plan, i, &mut units, None).unwrap();
            }
            let got = merge::merge(&dir, &plan, None, &|_| {}).unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
            let merge::Merged::Run(out) = got else {
                panic!("a plain run merges to a run")
            };
            assert_eq!(serde_json::to_string(&out).unwrap(), want, "{n} shards");
        }
    }

    /// `optimal` in its two phases through the files: fit parts, the policy file, price parts,
    /// the merge; `simulate`'s output bit for bit, the shards written in any order.
    #[test]
    fn optimal_fit_and_price_parts_merge_to_simulate_bit_for_bit() {
        let mut sc = Scenario::default();
        sc.run.horizon_years = 2.0;
        sc.strategy.decide_months = 6;
        sc.strategy.tranches = 3;
        let cfg = RunConfig {
            paths: Some(4 * BLOCK as u64 + 33),
            strategy: Some(StrategyKind::Optimal),
            seed: Some(5),
            ..Default::default()
        };
        let want = serde_json::to_string(&crate::simulate(&sc, &cfg, &|_| {}).unwrap()).unwrap();
        for n in [1, 2, 5] {
            let plan = Plan::new(None, vec![(vec![], sc.clone())], &cfg, n).unwrap();
            assert_eq!(plan.fresh.len(), n);
            let back = Plan::from_json(&plan.to_json(), "plan.json").unwrap();
            assert_eq!(back, plan);
            let dir = std::env::temp_dir().join(format!("hp-opt-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for i in (0..n).rev() {
                let sums = optimal::fit_shard(&plan, i, Some(1), &|_| {}).unwrap();
                optimal::write_fit(&dir, &plan, i, &sums).unwrap();
            }
            let fitted = optimal::fit_dir(&dir, &plan, &|_| {}).unwrap();
            assert_eq!((fitted.parts, fitted.paths), (n, cfg.paths.unwrap()));
            let text = fitted.policy.to_json();
            let policy = optimal::PolicyFile::from_json(&text, "policy.json", &plan).unwrap();
            assert_eq!(policy, fitted.policy);
            // Without the policy, the merge of an optimal plan is refused.
            for i in (0..n).rev() {
                let s = optimal::price_shard(&plan, i, &policy, Some(2), &|_| {}).unwrap();
                let mut units = s.units;
                let mut priced = part::Priced {
                    policy: policy.hash.clone(),
                    in_sample: s.in_sample,
                    fresh: s.fresh,
                };
                part::write(&dir, &plan, i, &mut units, Some(&mut priced)).unwrap();
            }
            assert!(merge::merge(&dir, &plan, None, &|_| {}).is_err());
            let got = merge::merge(&dir, &plan, Some(&policy), &|_| {}).unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
            let merge::Merged::Run(out) = got else {
                panic!("a plain run merges to a run")
            };
            assert_eq!(serde_json::to_string(&out).unwrap(), want, "{n} shards");
        }
    }
}
