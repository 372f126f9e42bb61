//! `hashpivot shard plan | run | merge`: one run (or a sweep's grid) split into shards that run
//! as batch array tasks (Slurm, Kubernetes Indexed Jobs, AWS Batch), merged into exactly what
//! `simulate --json` (or `sweep --json`) prints on one machine (MODEL.md section 12; the work is
//! `hashpivot_model::shard`).

use std::path::{Path, PathBuf};

use hashpivot_model::shard::merge::{merge, Merged};
use hashpivot_model::shard::{part, Plan, ShardError};

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
    /// Run one shard of a plan and write its part into a directory.
    Run(RunArgs),
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
}

/// Runs `hashpivot shard`.
pub fn run(args: &ShardArgs, g: &Global) -> anyhow::Result<()> {
    match &args.command {
        ShardCommand::Plan(a) => plan(a, g),
        ShardCommand::Run(a) => run_shard(a, g),
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
    if g.json {
        return print_json(&serde_json::json!({
            "plan": a.output.display().to_string(),
            "hash": p.hash,
            "shards": p.shards.len(),
            "points": p.points.len(),
            "blocks": p.blocks,
            "paths": p.run.paths,
        }));
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
    std::fs::create_dir_all(&a.output).map_err(|e| {
        bad_input(format!(
            "--output: cannot create the directory {}: {e}",
            a.output.display()
        ))
    })?;
    // The plan travels with its parts, so the merge needs only the directory.
    let copy = a.output.join("plan.json");
    match std::fs::read_to_string(&copy) {
        Ok(t) if t == p.to_json() => {}
        Ok(_) => {
            return Err(bad_input(format!(
                "--output: {} holds another plan; use an empty directory per plan",
                copy.display()
            )))
        }
        Err(_) => write_file_atomic("--output", &copy, p.to_json().as_bytes(), None)?,
    }
    let pb = crate::progress::bar(1000, "shard");
    let started = std::time::Instant::now();
    let mut units = p
        .run_shard(index, a.threads, &|f| pb.set_position((f * 1000.0) as u64))
        .map_err(shard_err)?;
    pb.finish_and_clear();
    let paths: usize = units.iter().map(|u| u.1.paths()).sum();
    let file = part::write(&a.output, &p, index, &mut units).map_err(shard_err)?;
    let secs = started.elapsed().as_secs_f64();
    if g.json {
        return print_json(&serde_json::json!({
            "index": index,
            "part": file.display().to_string(),
            "units": units.iter().map(|u| u.0).collect::<Vec<_>>(),
            "paths": paths,
            "seconds": secs,
        }));
    }
    let what: Vec<String> = units
        .iter()
        .map(|(u, _)| {
            let b = u.blocks;
            if p.points.len() > 1 {
                format!("point {} blocks {}..{}", u.point, b[0], b[1])
            } else {
                format!("blocks {}..{}", b[0], b[1])
            }
        })
        .collect();
    println!(
        "shard {index} of {}: {} ({} paths) → {} in {secs:.2} s",
        p.shards.len(),
        what.join(", "),
        thousands(paths as f64, 0),
        file.display()
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
    let started = std::time::Instant::now();
    let pb = crate::progress::bar(1000, "merge");
    let merged = merge(&a.dir, &p, &|f| pb.set_position((f * 1000.0) as u64)).map_err(shard_err)?;
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
