//! `hashpivot shard plan | run | fit | merge`: one run (or a sweep's grid) split into shards that
//! run as batch array tasks (Slurm, Kubernetes Indexed Jobs, AWS Batch), merged into exactly what
//! `simulate --json` (or `sweep --json`) prints on one machine (MODEL.md section 12; the work is
//! `hashpivot_model::shard`). `optimal` runs in two phases: `run --phase fit`, `fit` (the
//! policy), `run --phase price --policy`, then `merge`.

use std::path::{Path, PathBuf};

use hashpivot_model::shard::merge::{merge, Merged};
use hashpivot_model::shard::optimal::{self as opt, PolicyFile};
use hashpivot_model::shard::{part, Plan, ShardError};
use hashpivot_model::strategy::optimal::PILOT_PATHS;

use crate::cmd::simulate::{apply_currency, load_scenario, run_config, RunFlags};
use crate::cmd::sweep::load_grid;
use crate::error::bad_input;
use crate::output::{print_json, thousands, write_file_atomic};
use crate::Global;

/// Arguments of `hashpivot shard`.
#[derive(Debug, clap::Args)]
pub struct ShardArgs {
    #[command(subcommand)]
    command: ShardCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ShardCommand {
    /// Plan a run (or, with --grid, a sweep) as N shards: writes the plan file every shard reads.
    Plan(PlanArgs),
    /// Run one shard of a plan and write its part into a directory (optimal: --phase fit, then
    /// --phase price --policy).
    Run(RunArgs),
    /// Optimal's policy: merge the fit parts of a plan (`run --phase fit`) and fit the policy.
    Fit(FitArgs),
    /// Merge a directory of parts into the run's result (`simulate --json`, or `sweep --json`).
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// Scenario file (TOML). Default: the embedded default scenario (or the grid's `base`).
    #[arg(value_name = "SCENARIO")]
    scenario: Option<PathBuf>,
    /// Number of shards (1 to the number of blocks of 256 paths, times the grid's points).
    #[arg(long)]
    shards: usize,
    /// A sweep's grid (as for `hashpivot sweep`): the shards' units are (grid point, blocks).
    #[arg(long, value_name = "GRID")]
    grid: Option<PathBuf>,
    #[command(flatten)]
    run: RunFlags,
    /// The plan file to write.
    #[arg(short = 'o', long = "output", value_name = "PLAN")]
    output: PathBuf,
}

/// The environment variables an array task's index is read from when `--index` is not given, in
/// this order: Kubernetes Indexed Job, Slurm array, AWS Batch array.
pub const INDEX_VARS: [&str; 3] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The plan file (`hashpivot shard plan`).
    #[arg(value_name = "PLAN")]
    plan: PathBuf,
    /// The shard to run, 0 to N-1. Default: $JOB_COMPLETION_INDEX, $SLURM_ARRAY_TASK_ID or
    /// $AWS_BATCH_JOB_ARRAY_INDEX.
    #[arg(long)]
    index: Option<usize>,
    /// Directory of the parts (created if missing; shared by all shards).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
    /// Worker threads (default: all cores). The numbers do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Optimal's phase (a plan of --strategy optimal only): `fit` writes the regression sums of
    /// the shard's blocks, `price` (with --policy) its paths under the fitted policy.
    #[arg(long, value_enum)]
    phase: Option<Phase>,
    /// The policy file of `shard fit` (with --phase price).
    #[arg(long, value_name = "POLICY")]
    policy: Option<PathBuf>,
}

/// The phases of an optimal plan's shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Phase {
    /// Phase 1: the regression sums of the shard's in-sample blocks.
    Fit,
    /// Phase 2: the shard's in-sample and fresh paths under the fitted policy.
    Price,
}

#[derive(Debug, clap::Args)]
struct FitArgs {
    /// Directory of the fit parts (`shard run --phase fit`).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The plan file (default: DIR/plan.json, which `shard run` writes).
    #[arg(long, value_name = "PLAN")]
    plan: Option<PathBuf>,
    /// The policy file to write (default: DIR/policy.json).
    #[arg(short = 'o', long = "output", value_name = "POLICY")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// Directory of the parts.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The plan file (default: DIR/plan.json, which `shard run` writes).
    #[arg(long, value_name = "PLAN")]
    plan: Option<PathBuf>,
    /// Write the result's JSON document (byte for byte what `simulate --json` or `sweep --json`
    /// prints) to FILE.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write a sweep's table as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// An optimal plan's policy file (default: DIR/policy.json, which `shard run --phase price`
    /// writes).
    #[arg(long, value_name = "POLICY")]
    policy: Option<PathBuf>,
}

/// Runs `hashpivot shard`.
pub fn run(args: &ShardArgs, g: &Global) -> anyhow::Result<()> {
    match &args.command {
        ShardCommand::Plan(a) => plan(a, g),
        ShardCommand::Run(a) => run_shard(a, g),
        ShardCommand::Fit(a) => fit_policy(a, g),
        ShardCommand::Merge(a) => merge_parts(a, g),
    }
}

/// Shard errors: the user's (exit 2) or internal (exit 1).
fn shard_err(e: ShardError) -> anyhow::Error {
    match e {
        ShardError::Bad(m) => bad_input(m),
        ShardError::Model(m) => crate::cmd::simulate::model_err(m),
        io @ ShardError::Io { .. } => anyhow::Error::new(io),
    }
}

fn plan(a: &PlanArgs, g: &Global) -> anyhow::Result<()> {
    let cfg = run_config(&a.run)?;
    if a.run.sample.threads.is_some() {
        return Err(bad_input(
            "--threads: not part of a plan; give it to `shard run` (the numbers do not depend on it)",
        ));
    }
    let (keys, mut points) = match &a.grid {
        None => {
            let (sc, _) = load_scenario(a.scenario.as_deref())?;
            (None, vec![(Vec::new(), sc)])
        }
        Some(grid) => {
            let lg = load_grid(grid, a.scenario.as_deref())?;
            let pts = lg.grid.points.into_iter().zip(lg.scenarios).collect();
            (Some(lg.grid.keys), pts)
        }
    };
    for (_, sc) in &mut points {
        apply_currency(sc, a.run.sample.currency.as_deref())?;
    }
    let p = Plan::new(keys, points, &cfg, a.shards).map_err(shard_err)?;
    write_file_atomic("--output", &a.output, p.to_json().as_bytes(), None)?;
    let pilot = p.points[0].scenario.strategy.pilot_paths;
    if p.is_optimal() && pilot.is_none() && p.run.paths > PILOT_PATHS {
        // Version 1's fit needs every in-sample path on every machine: correct, but phase 1
        // then does not get faster with more shards. Said on stderr so --json stays one document.
        eprintln!(
            "note: strategy.pilot_paths is absent, so each shard's phase 1 fits the pilot on all \
             {} in-sample paths (version 1's Longstaff-Schwartz fit, bit for bit); with \
             `[strategy] pilot_paths = {PILOT_PATHS}` phase 1 scales with the shards (one \
             policy-improvement step on the pilot, MODEL.md section 12)",
            thousands(p.run.paths as f64, 0)
        );
    }
    if g.json {
        let mut doc = serde_json::json!({
            "plan": a.output.display().to_string(),
            "hash": p.hash,
            "shards": p.shards.len(),
            "points": p.points.len(),
            "blocks": p.blocks,
            "paths": p.run.paths,
        });
        if p.is_optimal() {
            doc["phases"] = serde_json::json!(["fit", "price"]);
            doc["fresh_blocks"] = serde_json::json!(p.fresh.last().map_or(0, |r| r[1]));
        }
        return print_json(&doc);
    }
    println!(
        "{}: {} shards of {} grid point{} × {} blocks of 256 paths ({} paths each), seed {}, \
         strategy {}; plan hash {}",
        a.output.display(),
        p.shards.len(),
        p.points.len(),
        if p.points.len() == 1 { "" } else { "s" },
        p.blocks,
        thousands(p.run.paths as f64, 0),
        p.run.seed,
        p.run.strategy,
        &p.hash[..12]
    );
    if p.is_optimal() {
        println!(
            "optimal runs in two phases: `shard run PLAN --phase fit -o FITS` on every shard, \
             `shard fit FITS -o POLICY`, then `shard run PLAN --phase price --policy POLICY -o \
             PARTS` on every shard and `shard merge PARTS`"
        );
    }
    Ok(())
}

/// Reads and checks a plan file (bad input naming the file).
fn read_plan(path: &Path) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("PLAN: cannot read {}: {e}", path.display())))?;
    Plan::from_json(&text, &path.display().to_string()).map_err(shard_err)
}

/// The shard index: `--index`, else the first of [`INDEX_VARS`] that is set.
fn shard_index(flag: Option<usize>) -> anyhow::Result<usize> {
    if let Some(i) = flag {
        return Ok(i);
    }
    for var in INDEX_VARS {
        if let Ok(v) = std::env::var(var) {
            return v.trim().parse().map_err(|_| {
                bad_input(format!(
                    "{var}: {v:?} is not a shard index; allowed a whole number 0 to N-1"
                ))
            });
        }
    }
    Err(bad_input(format!(
        "--index: not given, and none of {} is set; give the shard to run (0 to N-1)",
        INDEX_VARS.join(", ")
    )))
}

/// `--phase` and `--policy` against the plan: both only for an optimal plan, which needs a phase;
/// the policy exactly with `--phase price`.
fn check_phase(p: &Plan, a: &RunArgs) -> anyhow::Result<()> {
    match (p.is_optimal(), a.phase, a.policy.is_some()) {
        (false, Some(_), _) | (false, None, true) => Err(bad_input(format!(
            "--phase/--policy: only for a plan of --strategy optimal ({} is a plan of {})",
            a.plan.display(),
            p.run.strategy
        ))),
        (true, None, _) => Err(bad_input(format!(
            "--phase: missing; {} is a plan of optimal, which runs in two phases: allowed \
             --phase fit (then `hashpivot shard fit`), or --phase price --policy POLICY",
            a.plan.display()
        ))),
        (true, Some(Phase::Price), false) => Err(bad_input(
            "--policy: missing; --phase price needs the policy file of `hashpivot shard fit`",
        )),
        (true, Some(Phase::Fit), true) => Err(bad_input(
            "--policy: not allowed with --phase fit (the fit phase computes what the policy is \
             fitted from); give it with --phase price",
        )),
        _ => Ok(()),
    }
}

/// Reads and checks a policy file against the plan (bad input naming the file).
fn read_policy(path: &Path, p: &Plan) -> anyhow::Result<PolicyFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("--policy: cannot read {}: {e}", path.display())))?;
    PolicyFile::from_json(&text, &path.display().to_string(), p).map_err(shard_err)
}

/// Writes `text` to `dir/name` unless it already holds exactly that text (the plan and the
/// policy travel with the parts, so the next step needs only the directory); another text there
/// is refused.
fn keep_copy(dir: &Path, name: &str, text: &str, what: &str) -> anyhow::Result<()> {
    let copy = dir.join(name);
    match std::fs::read_to_string(&copy) {
        Ok(t) if t == text => Ok(()),
        Ok(_) => Err(bad_input(format!(
            "--output: {} holds another {what}; use an empty directory per {what}",
            copy.display()
        ))),
        Err(_) => write_file_atomic("--output", &copy, text.as_bytes(), None),
    }
}

fn run_shard(a: &RunArgs, g: &Global) -> anyhow::Result<()> {
    let p = read_plan(&a.plan)?;
    let index = shard_index(a.index)?;
    if index >= p.shards.len() {
        return Err(bad_input(format!(
            "--index: {index} is not a shard of {}; use 0 to {}",
            a.plan.display(),
            p.shards.len() - 1
        )));
    }
    if let Some(t) = a.threads {
        if t == 0 || t > 1024 {
            return Err(bad_input(format!(
                "--threads: {t} is not allowed; use 1 to 1024"
            )));
        }
    }
    check_phase(&p, a)?;
    let policy = match &a.policy {
        Some(f) => Some(read_policy(f, &p)?),
        None => None,
    };
    std::fs::create_dir_all(&a.output).map_err(|e| {
        bad_input(format!(
            "--output: cannot create the directory {}: {e}",
            a.output.display()
        ))
    })?;
    keep_copy(&a.output, "plan.json", &p.to_json(), "plan")?;
    if let Some(pol) = &policy {
        keep_copy(&a.output, "policy.json", &pol.to_json(), "policy")?;
    }
    let pb = crate::progress::bar(1000, "shard");
    let started = std::time::Instant::now();
    let progress = |f: f64| pb.set_position((f * 1000.0) as u64);
    let done = match (a.phase, &policy) {
        (Some(Phase::Fit), _) => {
            let sums = opt::fit_shard(&p, index, a.threads, &progress).map_err(shard_err)?;
            let file = opt::write_fit(&a.output, &p, index, &sums).map_err(shard_err)?;
            let b = [sums.first_block as usize, sums.end_block as usize];
            let unit = hashpivot_model::shard::Unit {
                point: 0,
                blocks: b,
            };
            Done {
                phase: Some("fit"),
                file,
                units: vec![unit],
                paths: sums.rows as usize,
                fresh: None,
            }
        }
        (Some(Phase::Price), Some(pol)) => {
            let s = opt::price_shard(&p, index, pol, a.threads, &progress).map_err(shard_err)?;
            let mut units = s.units;
            let fresh = (
                [s.fresh.first_block as usize, s.fresh.end_block as usize],
                s.fresh.len(),
            );
            let mut priced = part::Priced {
                policy: pol.hash.clone(),
                in_sample: s.in_sample,
                fresh: s.fresh,
            };
            let file = part::write(&a.output, &p, index, &mut units, Some(&mut priced))
                .map_err(shard_err)?;
            Done::of_units(Some("price"), file, &units, Some(fresh))
        }
        _ => {
            let mut units = p
                .run_shard(index, a.threads, &progress)
                .map_err(shard_err)?;
            let file = part::write(&a.output, &p, index, &mut units, None).map_err(shard_err)?;
            Done::of_units(None, file, &units, None)
        }
    };
    pb.finish_and_clear();
    done.report(&p, index, started.elapsed().as_secs_f64(), g)
}

/// What one `shard run` wrote.
struct Done {
    /// `optimal`'s phase.
    phase: Option<&'static str>,
    /// The part file.
    file: PathBuf,
    /// The (point, block range) units.
    units: Vec<hashpivot_model::shard::Unit>,
    /// Paths of the units.
    paths: usize,
    /// `optimal`'s price phase: the fresh block range and its paths.
    fresh: Option<([usize; 2], usize)>,
}

impl Done {
    fn of_units(
        phase: Option<&'static str>,
        file: PathBuf,
        units: &[(hashpivot_model::shard::Unit, hashpivot_model::run::Part)],
        fresh: Option<([usize; 2], usize)>,
    ) -> Done {
        Done {
            phase,
            file,
            units: units.iter().map(|u| u.0).collect(),
            paths: units.iter().map(|u| u.1.paths()).sum(),
            fresh,
        }
    }

    /// Prints the JSON document or the line of a shard's run.
    fn report(&self, p: &Plan, index: usize, secs: f64, g: &Global) -> anyhow::Result<()> {
        if g.json {
            let mut doc = serde_json::json!({
                "index": index,
                "part": self.file.display().to_string(),
                "units": self.units,
                "paths": self.paths,
                "seconds": secs,
            });
            if let Some(phase) = self.phase {
                doc["phase"] = serde_json::json!(phase);
            }
            if let Some((blocks, paths)) = self.fresh {
                doc["fresh_blocks"] = serde_json::json!(blocks);
                doc["fresh_paths"] = serde_json::json!(paths);
            }
            return print_json(&doc);
        }
        let what: Vec<String> = self
            .units
            .iter()
            .map(|u| {
                let b = u.blocks;
                if p.points.len() > 1 {
                    format!("point {} blocks {}..{}", u.point, b[0], b[1])
                } else {
                    format!("blocks {}..{}", b[0], b[1])
                }
            })
            .collect();
        let fresh = self.fresh.map_or(String::new(), |(b, n)| {
            format!(
                ", fresh blocks {}..{} ({} paths)",
                b[0],
                b[1],
                thousands(n as f64, 0)
            )
        });
        println!(
            "shard {index} of {}{}: {} ({} paths){fresh} → {} in {secs:.2} s",
            p.shards.len(),
            self.phase
                .map_or(String::new(), |ph| format!(", phase {ph}")),
            what.join(", "),
            thousands(self.paths as f64, 0),
            self.file.display()
        );
        Ok(())
    }
}

fn fit_policy(a: &FitArgs, g: &Global) -> anyhow::Result<()> {
    let plan_path = a.plan.clone().unwrap_or_else(|| a.dir.join("plan.json"));
    let p = read_plan(&plan_path)?;
    let out = a
        .output
        .clone()
        .unwrap_or_else(|| a.dir.join("policy.json"));
    let started = std::time::Instant::now();
    let pb = crate::progress::bar(1000, "fit");
    let fitted =
        opt::fit_dir(&a.dir, &p, &|f| pb.set_position((f * 1000.0) as u64)).map_err(shard_err)?;
    pb.finish_and_clear();
    write_file_atomic("--output", &out, fitted.policy.to_json().as_bytes(), None)?;
    let secs = started.elapsed().as_secs_f64();
    let h = &fitted.policy.policy.header;
    if g.json {
        return print_json(&serde_json::json!({
            "policy": out.display().to_string(),
            "plan": p.hash,
            "hash": fitted.policy.hash,
            "parts": fitted.parts,
            "paths": fitted.paths,
            "pilot_paths": h.pilot_paths,
            "tranches": h.tranches,
            "decision_dates": h.days.len(),
            "seconds": secs,
        }));
    }
    println!(
        "{}: optimal's policy ({} slices × {} decision dates) fitted from {} fit parts ({} paths; \
         pilot {} paths) in {secs:.2} s; policy hash {}",
        out.display(),
        h.tranches,
        h.days.len(),
        fitted.parts,
        thousands(fitted.paths as f64, 0),
        thousands(h.pilot_paths as f64, 0),
        &fitted.policy.hash[..12]
    );
    Ok(())
}

fn merge_parts(a: &MergeArgs, g: &Global) -> anyhow::Result<()> {
    let plan_path = a.plan.clone().unwrap_or_else(|| a.dir.join("plan.json"));
    let p = read_plan(&plan_path)?;
    if a.csv.is_some() && p.grid.is_none() {
        return Err(bad_input(
            "--csv: only for the plan of a sweep (--grid); this plan is a single run",
        ));
    }
    let policy = if p.is_optimal() {
        let f = a
            .policy
            .clone()
            .unwrap_or_else(|| a.dir.join("policy.json"));
        Some(read_policy(&f, &p)?)
    } else if a.policy.is_some() {
        return Err(bad_input(format!(
            "--policy: only for a plan of --strategy optimal (this plan's strategy is {})",
            p.run.strategy
        )));
    } else {
        None
    };
    let started = std::time::Instant::now();
    let pb = crate::progress::bar(1000, "merge");
    let merged = merge(&a.dir, &p, policy.as_ref(), &|f| {
        pb.set_position((f * 1000.0) as u64)
    })
    .map_err(shard_err)?;
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let doc = match &merged {
        Merged::Run(out) => pretty(out)?,
        Merged::Sweep(out) => pretty(out)?,
    };
    if let Some(f) = &a.output {
        write_file_atomic("--output", f, doc.as_bytes(), None)?;
    }
    if let (Some(f), Merged::Sweep(out)) = (&a.csv, &merged) {
        write_file_atomic("--csv", f, crate::cmd::sweep::csv(out).as_bytes(), None)?;
    }
    if g.json {
        print!("{doc}");
        return Ok(());
    }
    match &merged {
        Merged::Run(out) => {
            let sc = &p.points[0].scenario;
            let label = format!(
                "{} (merged from {} shards)",
                plan_path.display(),
                p.shards.len()
            );
            print!(
                "{}",
                crate::cmd::simulate::render(sc, &label, &p.config(), out, secs)
            );
        }
        Merged::Sweep(out) => print!("{}", crate::cmd::sweep::render(out)),
    }
    Ok(())
}

/// The JSON document of a result, exactly as `print_json` prints it.
fn pretty<T: serde::Serialize>(v: &T) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}
