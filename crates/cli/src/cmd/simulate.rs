//! `hashpivot` command module (to be filled in by its owner).

use crate::Global;

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {}

/// Runs the command.
pub fn run(_args: &SimulateArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct PaybackArgs {}

/// Runs the command.
pub fn run_payback(_args: &PaybackArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
