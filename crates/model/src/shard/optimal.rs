//! `optimal` on shards (MODEL.md section 12, issue 13): the strategy's two phases as array tasks.
//!
//! 1. **Fit** (`shard run --phase fit`): each shard computes the pilot (the same on every
//!    machine: the first in-sample blocks of the run's seed) and the exact regression sums of its
//!    in-sample blocks ([`fit_shard`]), written to a fit part ([`write_fit`]).
//! 2. **Policy** (`shard fit`): the fit parts are checked like any parts (missing, duplicated,
//!    foreign, truncated, corrupt: refused by name), merged in block order and fitted
//!    ([`fit_dir`]) into a [`PolicyFile`].
//! 3. **Price** (`shard run --phase price --policy`): each shard prices its in-sample blocks
//!    under the policy, with the `mine` baseline of the same blocks, and its share of the fresh
//!    blocks ([`price_shard`]); the part is an ordinary part with an `optimal` section
//!    ([`super::part`]).
//! 4. **Merge** (`shard merge`): [`super::merge::merge`] appends everything in block order and
//!    reports exactly what `simulate --strategy optimal` does on one machine, bit for bit.
//!
//! The regression sums are exact ([`hashpivot_lsm::exact::ExactSum`]), so the grouping of the
//! blocks into shards leaves no trace in the fitted policy.
//!
//! Fit part layout (all little-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 8 | magic `HPFITS01` |
//! | 8 | `u64` length `h` of the header |
//! | h | header, JSON ([`FitPartHeader`]): plan hash, shard index, block range, paths, the fit's header (run options and pilot), the numbers of sums and of their partials |
//! | 8 · sums | `u64` partials of each sum |
//! | 8 · partials | `f64` partials of the sums, in order |
//! | 8 · sums | `f64` non-finite part of each sum (0 normally) |
//! | 32 | SHA-256 of everything before |

use std::path::{Path, PathBuf};

use hashpivot_lsm::exact::ExactSum;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::part::{io_err, put_le, read_checked, read_head, settle, FileKind, Hashing};
use super::{bad, hex, merge, Plan, ShardError, Unit};
use crate::run::{in_pool, Part};
use crate::strategy::optimal::{
    self, FitHeader, FitSums, OptimalPolicy, OptimalSetup, PricedPaths, Sample,
};

const FIT_MAGIC: &[u8; 8] = b"HPFITS01";

/// What a policy file says it is.
pub const POLICY_FORMAT: &str = "hashpivot optimal policy";
/// Version of the policy file format.
pub const POLICY_VERSION: u32 = 1;

/// The file name of shard `index`'s fit part (`.fit`: a price-phase merge of the same
/// directory ignores it).
pub fn fit_file_name(index: usize) -> String {
    format!("fit-{index:05}.fit")
}

/// The header of a fit part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitPartHeader {
    /// The plan's hash.
    pub plan: String,
    /// The shard's index in the plan.
    pub index: usize,
    /// In-sample block range, end exclusive.
    pub blocks: [usize; 2],
    /// Paths summed.
    pub rows: u64,
    /// The run options and the pilot the sums belong to.
    pub fit: FitHeader,
    /// Number of exact sums.
    pub sums: u64,
    /// Number of partials of all the sums together.
    pub partials: u64,
}

impl FitPartHeader {
    fn file_len(&self, header_len: u64) -> u64 {
        let words = self
            .sums
            .saturating_mul(2)
            .saturating_add(self.partials)
            .saturating_mul(8);
        (16 + header_len).saturating_add(words).saturating_add(32)
    }
}

/// The run of a shard of an optimal plan: its scenario and its in-sample blocks. Errors: a plan
/// of another strategy, or an index outside the plan.
fn shard_of(plan: &Plan, index: usize) -> Result<std::ops::Range<usize>, ShardError> {
    if !plan.is_optimal() {
        return Err(bad(format!(
            "--phase: only for a plan of --strategy optimal (this plan's strategy is {})",
            plan.run.strategy
        )));
    }
    let units = plan.shards.get(index).ok_or_else(|| {
        bad(format!(
            "--index: {index} is not a shard of this plan; use 0 to {}",
            plan.shards.len() - 1
        ))
    })?;
    match units.as_slice() {
        [u] => Ok(u.blocks[0]..u.blocks[1]),
        _ => Err(bad("an optimal plan has one block range per shard")),
    }
}

/// Phase 1 of shard `index` of an optimal `plan`: the pilot, then the exact regression sums of
/// the shard's in-sample blocks. `progress` gets the fraction done.
pub fn fit_shard(
    plan: &Plan,
    index: usize,
    threads: Option<usize>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<FitSums, ShardError> {
    let blocks = shard_of(plan, index)?;
    let sc = &plan.points[0].scenario;
    let cfg = plan.optimal_config();
    // The pilot's blocks are read again by the sums of the first shard: keep them.
    let setup = OptimalSetup::new(sc, &cfg)?.keep_blocks(optimal::CACHE_BYTES);
    // Every machine fits the same pilot: all in-sample paths unless `strategy.pilot_paths`.
    let pilot_n = setup.pilot_passes() as f64
        * cfg.paths.min(sc.strategy.pilot_paths.unwrap_or(u64::MAX)) as f64;
    let own = blocks.len() as f64 * crate::process::BLOCK as f64;
    let share = pilot_n / (pilot_n + own);
    let sums = in_pool(threads, || {
        let pilot = setup.pilot(&|f| progress(share * f))?;
        optimal::fit_sums(
            &setup,
            &pilot,
            blocks.start as u64..blocks.end as u64,
            &|f| progress(share + (1.0 - share) * f),
        )
    })?;
    Ok(sums)
}

/// Writes shard `index`'s fit part into `dir` atomically (a temporary file, synced, renamed to
/// [`fit_file_name`]). Returns its path.
pub fn write_fit(
    dir: &Path,
    plan: &Plan,
    index: usize,
    sums: &FitSums,
) -> Result<PathBuf, ShardError> {
    let exact = sums.exact_sums();
    let header = FitPartHeader {
        plan: plan.hash.clone(),
        index,
        blocks: [sums.first_block as usize, sums.end_block as usize],
        rows: sums.rows,
        fit: sums.header.clone(),
        sums: exact.len() as u64,
        partials: exact.iter().map(|s| s.partials().len() as u64).sum(),
    };
    let head = serde_json::to_vec(&header).map_err(|e| bad(format!("fit part header: {e}")))?;
    let path = dir.join(fit_file_name(index));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        fit_file_name(index),
        std::process::id()
    ));
    let file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    let mut w = Hashing::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let result = (|| -> std::io::Result<()> {
        w.put(FIT_MAGIC)?;
        w.put(&(head.len() as u64).to_le_bytes())?;
        w.put(&head)?;
        let mut buf = Vec::with_capacity(1 << 16);
        let counts: Vec<u64> = exact.iter().map(|s| s.partials().len() as u64).collect();
        put_le(&mut w, &mut buf, &counts, |x| x.to_le_bytes())?;
        for s in exact {
            put_le(&mut w, &mut buf, s.partials(), |x| x.to_le_bytes())?;
        }
        let special: Vec<f64> = exact.iter().map(ExactSum::special).collect();
        put_le(&mut w, &mut buf, &special, |x| x.to_le_bytes())?;
        w.finish()
    })();
    settle(&tmp, path, result)
}

const FIT_FILE: FileKind<FitPartHeader> = FileKind {
    magic: FIT_MAGIC,
    what: "fit part",
    file_len: FitPartHeader::file_len,
    plan: |h| &h.plan,
};

/// Reads a fit part's header only (for checking a directory before merging).
pub fn read_fit_header(path: &Path) -> Result<FitPartHeader, ShardError> {
    read_head(path, &FIT_FILE).map(|x| x.0)
}

/// Reads and checks a whole fit part of `plan`: the checksum, the plan hash, the shard's block
/// range and run options; returns its sums.
pub fn read_fit(path: &Path, plan: &Plan) -> Result<FitSums, ShardError> {
    let name = path.display().to_string();
    let (header, h, bytes) = read_checked(path, &FIT_FILE, plan)?;
    let want = shard_of(plan, header.index).map_err(|e| bad(format!("{name}: {e}")))?;
    if header.blocks != [want.start, want.end] {
        return Err(bad(format!(
            "{name}: blocks {}..{} are not shard {}'s {}..{}",
            header.blocks[0], header.blocks[1], header.index, want.start, want.end
        )));
    }
    let f = &header.fit;
    let cfg = plan.optimal_config();
    if (f.paths, f.fresh_paths, f.seed, f.antithetic, f.degree)
        != (
            cfg.paths,
            cfg.fresh_paths,
            cfg.seed,
            cfg.antithetic,
            cfg.degree,
        )
    {
        return Err(bad(format!(
            "{name}: sums of {} paths, seed {}, antithetic {}: not this plan's run",
            f.paths, f.seed, f.antithetic
        )));
    }
    let s = header.sums as usize;
    let mut at = 16 + h as usize;
    let word = |at: &mut usize| {
        let v = <[u8; 8]>::try_from(&bytes[*at..*at + 8]).unwrap_or_default();
        *at += 8;
        v
    };
    let counts: Vec<u64> = (0..s).map(|_| u64::from_le_bytes(word(&mut at))).collect();
    if counts.iter().sum::<u64>() != header.partials {
        return Err(bad(format!(
            "{name}: corrupt (its sums' partials do not add up to its header's {})",
            header.partials
        )));
    }
    let mut partials: Vec<Vec<f64>> = Vec::with_capacity(s);
    for &c in &counts {
        partials.push((0..c).map(|_| f64::from_le_bytes(word(&mut at))).collect());
    }
    let exact: Vec<ExactSum> = partials
        .iter()
        .map(|p| ExactSum::from_parts(p, f64::from_le_bytes(word(&mut at))))
        .collect();
    FitSums::from_exact(
        header.fit,
        header.blocks[0] as u64,
        header.blocks[1] as u64,
        header.rows,
        exact,
    )
    .map_err(|e| bad(format!("{name}: {e}")))
}

/// What [`fit_dir`] fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The policy file.
    pub policy: PolicyFile,
    /// Fit parts merged.
    pub parts: usize,
    /// In-sample paths summed.
    pub paths: u64,
}

/// Phase 1's merge and the fit: checks the fit parts of `plan` in `dir` (every shard's once, of
/// this plan, whole, uncorrupted; every problem named at once), merges their sums in block order
/// and fits the policy. Nothing is half-done: any problem is an error.
pub fn fit_dir(
    dir: &Path,
    plan: &Plan,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Fitted, ShardError> {
    if !plan.is_optimal() {
        return Err(bad(format!(
            "shard fit: only for a plan of --strategy optimal (this plan's strategy is {})",
            plan.run.strategy
        )));
    }
    let files = merge::scan_files(
        dir,
        plan,
        &merge::Kind {
            ext: ".fit",
            what: "fit parts",
            file_name: fit_file_name,
            command: "hashpivot shard run --phase fit",
            header: &|f| read_fit_header(f).map(|h| (h.plan, h.index)),
        },
    )?;
    let mut all: Option<FitSums> = None;
    for (i, f) in files.iter().enumerate() {
        let s = read_fit(f, plan)?;
        match all.as_mut() {
            None => all = Some(s),
            Some(a) => a
                .merge(&s)
                .map_err(|e| bad(format!("{}: {e}", f.display())))?,
        }
        progress((i + 1) as f64 / files.len() as f64);
    }
    let sums = all.ok_or_else(|| bad(format!("{}: no fit parts", dir.display())))?;
    let policy = optimal::fit(&sums)?;
    Ok(Fitted {
        policy: PolicyFile::new(plan, policy),
        parts: files.len(),
        paths: sums.rows,
    })
}

/// The fitted policy of an optimal plan, as `shard fit` writes it and `shard run --phase price`
/// and `shard merge` read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Always [`POLICY_FORMAT`].
    pub format: String,
    /// [`POLICY_VERSION`].
    pub version: u32,
    /// The hash of the plan it was fitted for.
    pub plan: String,
    /// SHA-256 (hex) of the policy's compact JSON (price parts name the policy by it).
    pub hash: String,
    /// The policy.
    pub policy: OptimalPolicy,
}

impl PolicyFile {
    /// The file of `policy`, fitted for `plan`.
    pub fn new(plan: &Plan, policy: OptimalPolicy) -> Self {
        PolicyFile {
            format: POLICY_FORMAT.into(),
            version: POLICY_VERSION,
            plan: plan.hash.clone(),
            hash: policy_hash(&policy),
            policy,
        }
    }

    /// The file's text (pretty JSON, ending in a newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a policy file's text (`file` names it in errors) and checks its format, its hash
    /// and that it was fitted for `plan`.
    pub fn from_json(text: &str, file: &str, plan: &Plan) -> Result<PolicyFile, ShardError> {
        let p: PolicyFile = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "{file}: not a policy file of `hashpivot shard fit`: {e}"
            ))
        })?;
        if p.format != POLICY_FORMAT || p.version != POLICY_VERSION {
            return Err(bad(format!(
                "{file}: format {:?} version {}: allowed {POLICY_FORMAT:?} version {POLICY_VERSION}",
                p.format, p.version
            )));
        }
        let h = policy_hash(&p.policy);
        if h != p.hash {
            return Err(bad(format!(
                "{file}: hash {} does not match its policy ({h}): the file was edited; fit it \
                 again with `hashpivot shard fit`",
                p.hash
            )));
        }
        if p.plan != plan.hash {
            return Err(bad(format!(
                "{file}: fitted for another plan (hash {}, this plan's is {}): allowed the policy \
                 `hashpivot shard fit` wrote from this plan's fit parts",
                p.plan, plan.hash
            )));
        }
        Ok(p)
    }
}

fn policy_hash(p: &OptimalPolicy) -> String {
    let text = serde_json::to_string(p).unwrap_or_default();
    hex(&Sha256::digest(text.as_bytes()))
}

/// What phase 2 of one shard computes.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedShard {
    /// The `mine` baseline of the shard's in-sample blocks (an ordinary part's unit).
    pub units: Vec<(Unit, Part)>,
    /// The shard's in-sample paths under the policy.
    pub in_sample: PricedPaths,
    /// The shard's fresh paths under the policy.
    pub fresh: PricedPaths,
}

/// Phase 2 of shard `index` of an optimal `plan` under `policy`: the `mine` baseline and the
/// policy's values on the shard's in-sample blocks, and on its fresh blocks.
pub fn price_shard(
    plan: &Plan,
    index: usize,
    policy: &PolicyFile,
    threads: Option<usize>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<PricedShard, ShardError> {
    let blocks = shard_of(plan, index)?;
    if policy.plan != plan.hash {
        return Err(bad("--policy: fitted for another plan"));
    }
    let fresh = plan.fresh[index];
    // Work in paths simulated: mine, the in-sample pricing and the fresh pricing.
    let (ins, fr) = (blocks.len() as f64, (fresh[1] - fresh[0]) as f64);
    let total = (2.0 * ins + fr).max(1.0);
    let units = plan.run_shard(index, threads, &|f| progress(f * ins / total))?;
    let sc = &plan.points[0].scenario;
    let setup = OptimalSetup::new(sc, &plan.optimal_config())?;
    let (in_sample, fresh) = in_pool(threads, || {
        let a = optimal::price(
            &setup,
            &policy.policy,
            Sample::InSample,
            blocks.start as u64..blocks.end as u64,
            &|f| progress((ins + f * ins) / total),
        )?;
        let b = optimal::price(
            &setup,
            &policy.policy,
            Sample::Fresh,
            fresh[0] as u64..fresh[1] as u64,
            &|f| progress((2.0 * ins + f * fr) / total),
        )?;
        Ok((a, b))
    })?;
    Ok(PricedShard {
        units,
        in_sample,
        fresh,
    })
}
