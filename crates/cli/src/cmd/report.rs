//! `hashpivot report`: one self-contained HTML file (inputs, results, charts inline, method), and
//! optionally the tables as CSV files.

use std::path::PathBuf;

use anyhow::Context as _;
use hashpivot_model::analysis::sensitivity::{sensitivity, Means};
use hashpivot_model::{ModelError, RunConfig, Scenario};
use hashpivot_report::views;

use crate::error::bad_input;
use crate::Global;

/// Write a self-contained HTML report (charts inline, no network) of a scenario.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Scenario file (TOML); the built-in default scenario when left out.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Output HTML file.
    #[arg(
        short = 'o',
        long = "output",
        default_value = "report.html",
        value_name = "FILE"
    )]
    pub output: PathBuf,
    /// Monte Carlo paths (else the scenario's `run.paths`).
    #[arg(long, value_name = "N")]
    pub paths: Option<u64>,
    /// Random seed (else the scenario's `run.seed`).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Strategy: mine, convert, schedule, sweep or optimal (else the scenario's `strategy.kind`).
    #[arg(long, value_name = "KIND")]
    pub strategy: Option<String>,
    /// Share converted by `convert`, 0 to 1 (else the scenario's `strategy.share`).
    #[arg(long, value_name = "X")]
    pub share: Option<f64>,
    /// Also write the tables as CSV files into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
    /// Leave out the sensitivity (tornado) analysis.
    #[arg(long)]
    pub no_sensitivity: bool,
    /// Relative change of each input in the tornado, in percent.
    #[arg(long, default_value_t = 20.0, value_name = "PCT")]
    pub sensitivity_pct: f64,
}

/// The engine's errors: the scenario's and the options' are the user's (exit 2).
fn engine_err(e: ModelError) -> anyhow::Error {
    match e {
        ModelError::Scenario(_) | ModelError::BadOption { .. } => bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// Simulates `scenario` as `hashpivot simulate` without flags does; the `simulate --json` document.
fn simulate(
    scenario: &Scenario,
    progress: &(dyn Fn(f64) + Sync),
) -> anyhow::Result<serde_json::Value> {
    let out =
        hashpivot_model::simulate(scenario, &RunConfig::default(), progress).map_err(engine_err)?;
    Ok(serde_json::to_value(&out)?)
}

/// The scenario the report runs (and a label of where it came from): the file or the built-in
/// default, with `--paths`, `--seed`, `--strategy` and `--share` applied, then validated; the
/// options are checked in that order so that the first bad one is named.
fn scenario_of(args: &ReportArgs) -> anyhow::Result<(Scenario, String)> {
    if !(args.sensitivity_pct > 0.0 && args.sensitivity_pct < 100.0) {
        return Err(bad_input(format!(
            "--sensitivity-pct {}: allowed 0 < pct < 100",
            args.sensitivity_pct
        )));
    }
    let (mut scenario, source) = match &args.scenario {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| bad_input(format!("SCENARIO {}: cannot read: {e}", p.display())))?;
            let sc = Scenario::from_toml_str(&text)
                .map_err(|e| bad_input(format!("{}: {e}", p.display())))?;
            (sc, p.display().to_string())
        }
        None => (
            Scenario::default(),
            "the built-in default scenario".to_string(),
        ),
    };
    if let Some(n) = args.paths {
        scenario.run.paths = n;
    }
    if let Some(s) = args.seed {
        scenario.run.seed = s;
    }
    if let Some(k) = &args.strategy {
        scenario.strategy.kind = hashpivot_model::StrategyKind::parse(k).ok_or_else(|| {
            bad_input(format!(
                "--strategy {k:?}: allowed mine, convert, schedule, sweep, optimal"
            ))
        })?;
    }
    if let Some(x) = args.share {
        if !(0.0..=1.0).contains(&x) {
            return Err(bad_input(format!("--share {x}: allowed 0 to 1")));
        }
        scenario.strategy.share = x;
    }
    scenario.validate().map_err(|e| {
        let msg = e.to_string();
        if args.paths.is_some() && msg.contains("run.paths") {
            bad_input(format!("--paths: {msg}"))
        } else {
            bad_input(msg)
        }
    })?;
    Ok((scenario, source))
}

/// Runs the command.
pub fn run(args: &ReportArgs, g: &Global) -> anyhow::Result<()> {
    let (scenario, source) = scenario_of(args)?;

    let bar = crate::progress::bar(1000, "simulate");
    let tick = |p: f64| bar.set_position((p.clamp(0.0, 1.0) * 1000.0) as u64);
    let mut result = simulate(&scenario, &tick)?;
    bar.finish_and_clear();
    if !args.no_sensitivity {
        let bar = crate::progress::bar(1000, "sensitivity");
        let tick = |p: f64| bar.set_position((p.clamp(0.0, 1.0) * 1000.0) as u64);
        let means = |sc: &Scenario, p: &(dyn Fn(f64) + Sync)| -> anyhow::Result<Means> {
            Ok(hashpivot_report::sensitivity::means(&simulate(sc, p)?))
        };
        let s = sensitivity(&scenario, args.sensitivity_pct / 100.0, &means, &tick)?;
        bar.finish_and_clear();
        if let Some(o) = result.as_object_mut() {
            o.insert(
                "sensitivity".into(),
                hashpivot_report::sensitivity::document(&s),
            );
        }
    }
    if let (Some(o), Ok(d)) = (
        result.as_object_mut(),
        hashpivot_report::decision::document(&scenario),
    ) {
        o.insert("decision".into(), d);
    }
    let scenario_json = serde_json::to_value(&scenario)?;
    let generated = hashpivot_store::now_rfc3339();
    let html = hashpivot_report::render(&hashpivot_report::ReportInput {
        source: &source,
        scenario: &scenario_json,
        result: &result,
        generated: &generated,
        version: env!("CARGO_PKG_VERSION"),
    });
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "-o {}: cannot create {}",
                args.output.display(),
                dir.display()
            )
        })?;
    }
    crate::output::write_file_atomic("-o", &args.output, html.as_bytes(), g.db.as_deref())?;
    let mut csv_files = Vec::new();
    if let Some(dir) = &args.csv {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--csv {}: cannot create the directory", dir.display()))?;
        for (name, text) in hashpivot_report::csv_tables(&scenario_json, &result) {
            let p = dir.join(name);
            crate::output::write_file_atomic("--csv", &p, text.as_bytes(), g.db.as_deref())?;
            csv_files.push(p.display().to_string());
        }
    }
    let charts: Vec<String> = views::run_charts(&result)
        .into_iter()
        .map(|c| c.name)
        .collect();
    if g.json {
        crate::output::print_json(&serde_json::json!({
            "output": args.output.display().to_string(),
            "bytes": html.len(),
            "charts": charts,
            "csv": csv_files,
            "paths": scenario.run.paths,
            "seed": scenario.run.seed,
        }))?;
    } else {
        let mut t = crate::output::Table::new(["strategy", "NPV mean", "± s.e.", "p5", "p95"]);
        for r in views::strategy_rows(&result) {
            t.row([
                r.label.clone(),
                crate::output::usd(r.mean),
                crate::output::usd(r.stderr),
                crate::output::usd(r.p5),
                crate::output::usd(r.p95),
            ]);
        }
        print!("{}", t.render());
        println!(
            "wrote {} ({} KB, {} charts: {})",
            args.output.display(),
            html.len() / 1024,
            charts.len(),
            charts.join(", ")
        );
        for f in &csv_files {
            println!("wrote {f}");
        }
    }
    Ok(())
}
