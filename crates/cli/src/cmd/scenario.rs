//! `hashpivot scenario`: print the embedded default scenario as annotated TOML, or check a file.

use std::path::PathBuf;

use hashpivot_model::scenario::Scenario;

use crate::cmd::simulate::load_scenario;
use crate::output::print_json;
use crate::Global;

/// Arguments of `hashpivot scenario`.
#[derive(Debug, clap::Args)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    command: ScenarioCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ScenarioCommand {
    /// Print the default scenario as annotated TOML (copy it, edit it, pass it to `simulate`).
    Show,
    /// Check a scenario file: syntax, unknown keys, ranges, fleet vs site (exit 2 on problems).
    Check {
        /// The scenario file (TOML).
        #[arg(value_name = "SCENARIO")]
        file: PathBuf,
    },
}

/// Runs `hashpivot scenario`.
pub fn run(args: &ScenarioArgs, g: &Global) -> anyhow::Result<()> {
    match &args.command {
        ScenarioCommand::Show => {
            if g.json {
                print_json(&Scenario::default())
            } else {
                print!("{}", Scenario::default_toml_annotated());
                Ok(())
            }
        }
        ScenarioCommand::Check { file } => {
            let (sc, label) = load_scenario(Some(file))?;
            let fleet_mw: f64 = sc
                .mining
                .fleet
                .iter()
                .map(|b| b.units * b.power_w * sc.mining.overhead / 1e6)
                .sum();
            if g.json {
                return print_json(&serde_json::json!({
                    "ok": true,
                    "file": label,
                    "days": sc.days(),
                    "fleet_mw": fleet_mw,
                    "scenario": sc,
                }));
            }
            println!(
                "{label}: ok ({} days, {} fleet entries, fleet {:.1} MW of {} MW, strategy {})",
                sc.days(),
                sc.mining.fleet.len(),
                fleet_mw,
                sc.site.power_mw,
                sc.strategy.kind
            );
            Ok(())
        }
    }
}
