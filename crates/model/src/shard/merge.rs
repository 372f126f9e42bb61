//! The merge of a plan's parts: checks the directory (every shard's part present once, of this
//! plan, whole), then reads the parts one at a time in shard order, appends each grid point's
//! blocks in block order and computes the point's statistics as soon as its last block is in.
//!
//! Memory: one part file (its bytes and its values) plus the per-path values of the one grid
//! point being merged (the quantiles need them all: `paths × (8 · strategies + 4 · years ·
//! (4 + banded strategies))` bytes, the same as the run on one machine); a finished point keeps
//! only its statistics, so a sweep's merge does not grow with the number of points.

use std::path::{Path, PathBuf};

use super::{bad, part, Plan, ShardError};
use crate::analysis::grid::SweepOutput;
use crate::result::SimOutput;
use crate::run::{summarize, Part};

/// What a merge gives: a plain run's output (as `simulate --json`) or a sweep's (as
/// `sweep --json`).
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    /// A plan without a grid.
    Run(Box<SimOutput>),
    /// A plan of a sweep's grid.
    Sweep(SweepOutput),
}

/// The part file of each shard of `plan` in `dir`, in shard order. Every problem at once, each
/// naming its file: not a part, truncated, of another plan, a shard index not in the plan, two
/// parts of one shard, and the shards with no part. Other files in `dir` (the plan, temporary
/// files of running tasks) are ignored.
pub fn scan(dir: &Path, plan: &Plan) -> Result<Vec<PathBuf>, ShardError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| bad(format!("{}: cannot read the directory: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".part") && !name.starts_with('.')
        })
        .collect();
    files.sort();
    let n = plan.shards.len();
    let mut problems = Vec::new();
    let mut by_index: Vec<Vec<PathBuf>> = vec![Vec::new(); n];
    for f in files {
        match part::read_header(&f) {
            Err(e) => problems.push(e.to_string()),
            Ok(h) if h.plan != plan.hash => problems.push(format!(
                "{}: foreign: belongs to another plan (hash {}; this plan's is {})",
                f.display(),
                h.plan,
                plan.hash
            )),
            Ok(h) if h.index >= n => problems.push(format!(
                "{}: shard index {} is not in this plan (0 to {})",
                f.display(),
                h.index,
                n - 1
            )),
            Ok(h) => by_index[h.index].push(f),
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
            "missing the parts of {} of {n} shards: {}{} (files {} …; run `hashpivot shard run` \
             for them)",
            missing.len(),
            shown.join(", "),
            if missing.len() > 20 { ", …" } else { "" },
            part::file_name(missing[0])
        ));
    }
    if !problems.is_empty() {
        return Err(bad(format!(
            "{}: {} problem{} with the parts, nothing merged:\n  {}",
            dir.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("\n  ")
        )));
    }
    Ok(by_index.into_iter().flatten().collect())
}

/// Merges the parts of `plan` in `dir` (see the module documentation). `progress` gets the
/// fraction of parts read.
pub fn merge(
    dir: &Path,
    plan: &Plan,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Merged, ShardError> {
    let files = scan(dir, plan)?;
    let cfg = plan.config();
    let mut done: Vec<SimOutput> = Vec::with_capacity(plan.points.len());
    let mut acc: Option<Part> = None;
    for (i, f) in files.iter().enumerate() {
        let (_, units) = part::read(f, plan)?;
        for (u, p) in units {
            match acc.as_mut() {
                None => acc = Some(p),
                Some(a) => a
                    .merge(p)
                    .map_err(|e| bad(format!("{}: {e}", f.display())))?,
            }
            if u.blocks[1] == plan.blocks {
                let whole = acc.take().ok_or_else(|| bad("no blocks"))?;
                let sc = &plan.points[u.point].scenario;
                done.push(summarize(sc, &cfg, &whole)?.output);
            }
        }
        progress((i + 1) as f64 / files.len() as f64);
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
