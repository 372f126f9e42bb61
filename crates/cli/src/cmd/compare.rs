//! `hashpivot compare`: for one site, keep mining vs convert it to a powered shell leased to a
//! tenant vs convert it to a GPU cloud the owner runs (MODEL.md §5, §8–§10), side by side on common
//! random numbers. The work is `hashpivot_model::analysis::compare`; this file parses the flags and
//! renders the table, the JSON document or the chart.

use std::path::PathBuf;

use hashpivot_model::analysis::compare::{compare, Comparison};

use super::simulate::{apply_currency, load_scenario, model_err, money_unit, SampleFlags};
use crate::output::{print_json, thousands, Table};
use crate::Global;

/// Arguments of `hashpivot compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Scenario file (TOML). Default: the embedded default scenario (`hashpivot scenario show`).
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Paths, seed, threads, antithetic and currency of both runs.
    #[command(flatten)]
    pub sample: SampleFlags,
    /// Also write the chart of the three NPV distributions to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
}

/// Runs `hashpivot compare`.
pub fn run(args: &CompareArgs, g: &Global) -> anyhow::Result<()> {
    let (mut sc, label) = load_scenario(args.scenario.as_deref())?;
    apply_currency(&mut sc, args.sample.currency.as_deref())?;
    let cfg = args.sample.config()?;
    let pb = crate::progress::bar(1000, "compare");
    let out = compare(&sc, &cfg, &|f| pb.set_position((f * 1000.0) as u64)).map_err(model_err)?;
    pb.finish_and_clear();
    if let Some(path) = &args.chart {
        std::fs::write(path, hashpivot_report::compare::chart(&out))
            .map_err(|e| anyhow::anyhow!("--chart: cannot write {}: {e}", path.display()))?;
    }
    if g.json {
        return print_json(&out);
    }
    print!("{}", render(&label, &out));
    if let Some(path) = &args.chart {
        println!("Chart: {}", path.display());
    }
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// The table: one row per option, the unlevered NPV columns then the levered (equity) ones.
fn render(label: &str, c: &Comparison) -> String {
    let (u, m) = money_unit(c.currency);
    let mut s = format!(
        "Scenario: {label}\n{} paths, seed {}: mine vs powered-shell lease vs GPU cloud (whole site converted on day 0)\n\n",
        thousands(c.paths as f64, 0),
        c.seed
    );
    let mut t = Table::new([
        "option".to_string(),
        format!("NPV mean {u}"),
        "± stderr".into(),
        format!("p5 {u}"),
        "P(< mine)".into(),
        format!("equity NPV {u}"),
        "equity IRR p50".into(),
        "DSCR p5".into(),
    ]);
    for row in &c.rows {
        let r = &row.result;
        let [eq, irr, dscr] = equity_cells(r, m);
        t.row([
            row.option.clone(),
            m(r.npv.mean),
            m(r.npv.stderr),
            m(r.npv.p5),
            if row.option == "mine" {
                "–".into()
            } else {
                pct(r.prob_below_mine)
            },
            eq,
            irr,
            dscr,
        ]);
    }
    s.push_str(&t.render());
    s.push_str(
        "\nlease: the whole site as a powered shell let to a tenant ([ai], ai.mode = \"lease\").\n\
         cloud: the same hall with GPUs the owner buys and rents out ([cloud], ai.mode = \"cloud\").\n\
         All three run on the same market paths; P(< mine) is the share of paths on which the option\n\
         does worse than keeping the fleet mining. The equity columns need [finance] (levered view).\n",
    );
    s
}

/// Equity NPV, equity IRR p50 and DSCR p5 of a result (`–` without `[finance]`, or where the
/// figure is undefined: no path with an IRR root, no whole loan year).
fn equity_cells(r: &hashpivot_model::StrategyResult, m: fn(f64) -> String) -> [String; 3] {
    let Some(e) = &r.equity else {
        return ["–".into(), "–".into(), "–".into()];
    };
    let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("–".to_string(), f);
    [
        m(e.equity_npv.mean),
        opt(e.equity_irr.p50, &pct),
        opt(e.dscr_min.p5, &|x| format!("{x:.2}")),
    ]
}
