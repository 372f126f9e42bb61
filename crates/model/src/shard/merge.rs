//! The merge of a plan's parts: checks the directory (every shard's part present once, of this
//! plan, whole), then reads the parts one at a time in shard order, appends each grid point's
//! blocks in block order and computes the point's statistics as soon as its last block is in.
//!
//! An optimal plan's price-phase parts also hold their priced in-sample and fresh paths; they are
//! appended in block order like the rest and, with the policy, give `optimal`'s report
//! (`crate::strategy::optimal::finish`) after the last part.
//!
//! Memory: one part file (its bytes and its values) plus the per-path values of the one grid
//! point being merged (the quantiles need them all: `paths × (8 · strategies + 4 · years ·
//! (4 + banded strategies))` bytes, the same as the run on one machine); a finished point keeps
//! only its statistics, so a sweep's merge does not grow with the number of points.

use std::path::{Path, PathBuf};

use super::optimal::PolicyFile;
use super::part::Priced;
use super::{bad, part, Plan, ShardError};
use crate::analysis::grid::SweepOutput;
use crate::result::SimOutput;
use crate::run::{summarize, summarize_optimal, Part};
use crate::strategy::optimal::{self, OptimalSetup};

/// What a merge gives: a plain run's output (as `simulate --json`) or a sweep's (as
/// `sweep --json`).
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    /// A plan without a grid.
    Run(Box<SimOutput>),
    /// A plan of a sweep's grid.
    Sweep(SweepOutput),
}

/// Reads a shard file's header: its plan hash and shard index.
pub type HeaderReader<'a> = &'a dyn Fn(&Path) -> Result<(String, usize), ShardError>;

/// Which files of a directory a scan looks at.
pub struct Kind<'a> {
    /// Their file name's ending (`.part`, `.fit`).
    pub ext: &'a str,
    /// What they are, for messages.
    pub what: &'a str,
    /// The file name of a shard's file.
    pub file_name: fn(usize) -> String,
    /// The command that writes them, for messages.
    pub command: &'a str,
    /// Reads a file's header: its plan hash and shard index.
    pub header: HeaderReader<'a>,
}

/// The part file of each shard of `plan` in `dir`, in shard order. Every problem at once, each
/// naming its file: not a part, truncated, of another plan, a shard index not in the plan, two
/// parts of one shard, and the shards with no part. Other files in `dir` (the plan, temporary
/// files of running tasks) are ignored.
pub fn scan(dir: &Path, plan: &Plan) -> Result<Vec<PathBuf>, ShardError> {
    scan_files(
        dir,
        plan,
        &Kind {
            ext: ".part",
            what: "parts",
            file_name: part::file_name,
            command: if plan.is_optimal() {
                "hashpivot shard run --phase price"
            } else {
                "hashpivot shard run"
            },
            header: &|f| part::read_header(f).map(|h| (h.plan, h.index)),
        },
    )
}

/// [`scan`] for the files of `kind` (the parts, or `optimal`'s fit parts).
pub fn scan_files(dir: &Path, plan: &Plan, kind: &Kind<'_>) -> Result<Vec<PathBuf>, ShardError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| bad(format!("{}: cannot read the directory: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(kind.ext) && !name.starts_with('.')
        })
        .collect();
    files.sort();
    let n = plan.shards.len();
    let mut problems = Vec::new();
    let mut by_index: Vec<Vec<PathBuf>> = vec![Vec::new(); n];
    for f in files {
        match (kind.header)(&f) {
            Err(e) => problems.push(e.to_string()),
            Ok((h, _)) if h != plan.hash => problems.push(format!(
                "{}: foreign: belongs to another plan (hash {}; this plan's is {})",
                f.display(),
                h,
                plan.hash
            )),
            Ok((_, i)) if i >= n => problems.push(format!(
                "{}: shard index {} is not in this plan (0 to {})",
                f.display(),
                i,
                n - 1
            )),
            Ok((_, i)) => by_index[i].push(f),
        }
    }
    let mut missing = Vec::new();
    for (i, fs) in by_index.iter().enumerate() {
        match fs.len() {
            0 => missing.push(i),
            1 => {}
            _ => problems.push(format!(
                "shard {i} duplicated: {}",
                fs.iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(|i| i.to_string()).collect();
        problems.push(format!(
            "missing the {} of {} of {n} shards: {}{} (files {} …; run `{}` for them)",
            kind.what,
            missing.len(),
            shown.join(", "),
            if missing.len() > 20 { ", …" } else { "" },
            (kind.file_name)(missing[0]),
            kind.command
        ));
    }
    if !problems.is_empty() {
        return Err(bad(format!(
            "{}: {} problem{} with the {}, nothing merged:\n  {}",
            dir.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            kind.what,
            problems.join("\n  ")
        )));
    }
    Ok(by_index.into_iter().flatten().collect())
}

/// Merges the parts of `plan` in `dir` (see the module documentation). An optimal plan needs
/// the `policy` its parts were priced with. `progress` gets the fraction of parts read.
pub fn merge(
    dir: &Path,
    plan: &Plan,
    policy: Option<&PolicyFile>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Merged, ShardError> {
    let policy = match (plan.is_optimal(), policy) {
        (true, None) => {
            return Err(bad(
                "--policy: the merge of an optimal plan needs the policy its parts were priced                  with (`hashpivot shard fit`'s file)",
            ))
        }
        (true, Some(p)) => Some(p),
        (false, _) => None,
    };
    let files = scan(dir, plan)?;
    let cfg = plan.config();
    let mut done: Vec<SimOutput> = Vec::with_capacity(plan.points.len());
    let mut acc: Option<Part> = None;
    let mut whole: Option<Part> = None;
    let mut priced: Option<Priced> = None;
    for (i, f) in files.iter().enumerate() {
        let data = part::read(f, plan)?;
        if let (Some(pol), Some(p)) = (policy, data.priced) {
            if p.policy != pol.hash {
                return Err(bad(format!(
                    "{}: priced with another policy (hash {}; this policy's is {})",
                    f.display(),
                    p.policy,
                    pol.hash
                )));
            }
            let at = |e: crate::ModelError| bad(format!("{}: {e}", f.display()));
            match priced.as_mut() {
                None => priced = Some(p),
                Some(a) => {
                    a.in_sample.merge(p.in_sample).map_err(at)?;
                    a.fresh.merge(p.fresh).map_err(at)?;
                }
            }
        }
        for (u, p) in data.units {
            match acc.as_mut() {
                None => acc = Some(p),
                Some(a) => a
                    .merge(p)
                    .map_err(|e| bad(format!("{}: {e}", f.display())))?,
            }
            if u.blocks[1] == plan.blocks {
                let all = acc.take().ok_or_else(|| bad("no blocks"))?;
                if policy.is_some() {
                    // `optimal`'s report needs every fresh block too: after the last part.
                    whole = Some(all);
                    continue;
                }
                let sc = &plan.points[u.point].scenario;
                done.push(summarize(sc, &cfg, &all)?.output);
            }
        }
        progress((i + 1) as f64 / files.len() as f64);
    }
    if let (Some(pol), Some(all), Some(p)) = (policy, whole, priced) {
        let sc = &plan.points[0].scenario;
        let setup = OptimalSetup::new(sc, &plan.optimal_config())?;
        let o = optimal::finish(&setup, &pol.policy, p.in_sample, &p.fresh)?;
        done.push(summarize_optimal(sc, &cfg, &all, o)?.output);
    }
    if done.len() != plan.points.len() {
        return Err(bad(format!(
            "{}: the parts hold {} of the plan's {} grid points",
            dir.display(),
            done.len(),
            plan.points.len()
        )));
    }
    Ok(match &plan.grid {
        None => Merged::Run(Box::new(done.remove(0))),
        Some(keys) => Merged::Sweep(SweepOutput::new(
            keys,
            plan.points
                .iter()
                .map(|p| p.values.clone())
                .zip(done)
                .collect(),
        )),
    })
}
