//! `hashpivot sweep GRID.toml`: a grid of scenarios over a few numeric keys, each run like
//! `simulate`, one row per grid point (MODEL.md section 12; the grid format is in
//! `hashpivot_model::analysis::grid`). `hashpivot shard plan --grid` runs the same grid as shards.

use std::path::{Path, PathBuf};

use hashpivot_data::csv::CsvWriter;
use hashpivot_model::analysis::grid::{sweep, Grid, SweepOutput};
use hashpivot_model::Scenario;

use crate::cmd::simulate::{apply_currency, load_scenario, model_err, name, run_config, RunFlags};
use crate::error::bad_input;
use crate::output::{print_json, thousands, write_file_atomic, Table};
use crate::Global;

/// Arguments of `hashpivot sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The grid (TOML): `[[axis]]` tables (key, values; their Cartesian product) or `keys` and
    /// `points` (an explicit list); `base` names the scenario file (default: the embedded one).
    #[arg(value_name = "GRID")]
    pub grid: PathBuf,
    /// How to run each point.
    #[command(flatten)]
    pub run: RunFlags,
    /// Also write the table as CSV to FILE (one row per grid point).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

/// A grid file read and checked, with each point's scenario and the base's label.
pub struct LoadedGrid {
    /// The grid.
    pub grid: Grid,
    /// Each point's scenario (validated).
    pub scenarios: Vec<Scenario>,
}

/// Reads a grid file; its `base` is relative to the grid file, and `scenario` (a command's
/// SCENARIO argument) may stand in for it (not both). Every problem is bad input naming the file,
/// the key and the value.
pub fn load_grid(path: &Path, scenario: Option<&Path>) -> anyhow::Result<LoadedGrid> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("GRID: cannot read {}: {e}", path.display())))?;
    let grid = Grid::parse(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    let base_path = match (&grid.base, scenario) {
        (Some(b), None) => Some(path.parent().unwrap_or(Path::new(".")).join(b)),
        (None, s) => s.map(Path::to_path_buf),
        (Some(b), Some(s)) => {
            return Err(bad_input(format!(
                "{}: base = {b:?} and SCENARIO {}: allowed one of them",
                path.display(),
                s.display()
            )))
        }
    };
    let (base, _) = load_scenario(base_path.as_deref())?;
    let scenarios = grid
        .scenarios(&base)
        .map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    Ok(LoadedGrid { grid, scenarios })
}

/// Runs `hashpivot sweep`.
pub fn run(args: &SweepArgs, g: &Global) -> anyhow::Result<()> {
    let cfg = run_config(&args.run)?;
    let mut lg = load_grid(&args.grid, None)?;
    for sc in &mut lg.scenarios {
        apply_currency(sc, args.run.sample.currency.as_deref())?;
    }
    let pb = crate::progress::bar(1000, "sweep");
    let out = sweep(&lg.grid, &lg.scenarios, &cfg, &|f| {
        pb.set_position((f * 1000.0) as u64)
    })
    .map_err(model_err)?;
    pb.finish_and_clear();
    if let Some(f) = &args.csv {
        write_file_atomic("--csv", f, csv(&out).as_bytes(), None)?;
    }
    if g.json {
        return print_json(&out);
    }
    print!("{}", render(&out));
    Ok(())
}

/// Human output: one row per grid point, the key values and each strategy's mean NPV.
pub fn render(out: &SweepOutput) -> String {
    let names: Vec<String> = out
        .points
        .first()
        .map(|p| p.results.iter().map(name).collect())
        .unwrap_or_default();
    let mut head: Vec<String> = out.keys.clone();
    head.extend(names.iter().map(|n| format!("{n} $M")));
    head.push("best".into());
    let mut t = Table::new(head);
    for p in &out.points {
        let mut row: Vec<String> = p.values.iter().map(|v| format!("{v}")).collect();
        row.extend(p.results.iter().map(|r| thousands(r.npv.mean / 1e6, 1)));
        let best = p
            .results
            .iter()
            .max_by(|a, b| a.npv.mean.total_cmp(&b.npv.mean))
            .map(name)
            .unwrap_or_default();
        row.push(best);
        t.row(row);
    }
    format!(
        "Sweep: {} grid points over {}; {} paths each, seed {}. Mean NPV per strategy (same paths \
         at every point).\n\n{}",
        out.points.len(),
        out.keys.join(", "),
        thousands(out.paths as f64, 0),
        out.seed,
        t.render()
    )
}

/// The sweep as CSV: the point, its key values, and per result the NPV statistics.
pub fn csv(out: &SweepOutput) -> String {
    let names: Vec<String> = out
        .points
        .first()
        .map(|p| {
            p.results
                .iter()
                .map(|r| match r.share {
                    Some(s) => format!("{}_{s}", r.strategy),
                    None => r.strategy.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let stats = [
        "npv_mean",
        "npv_stderr",
        "npv_p5",
        "npv_p50",
        "npv_p95",
        "prob_negative",
        "prob_below_mine",
        "cvar5",
    ];
    let mut head: Vec<String> = vec!["point".into()];
    head.extend(out.keys.iter().cloned());
    for n in &names {
        head.extend(stats.iter().map(|s| format!("{n}.{s}")));
    }
    let refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut w = CsvWriter::with_header(&refs);
    for (i, p) in out.points.iter().enumerate() {
        let mut row: Vec<String> = vec![i.to_string()];
        row.extend(p.values.iter().map(|v| v.to_string()));
        for r in &p.results {
            let n = &r.npv;
            row.extend(
                [
                    n.mean,
                    n.stderr,
                    n.p5,
                    n.p50,
                    n.p95,
                    r.prob_negative,
                    r.prob_below_mine,
                    r.cvar5,
                ]
                .iter()
                .map(|x| x.to_string()),
            );
        }
        w.record(row);
    }
    w.finish()
}
