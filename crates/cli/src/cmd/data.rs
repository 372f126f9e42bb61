//! `hashpivot` command module (to be filled in by its owner).

use crate::Global;

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct DataArgs {}

/// Runs the command.
pub fn run(_args: &DataArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {}

/// Runs the command.
pub fn run_history(_args: &HistoryArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {}

/// Runs the command.
pub fn run_calibrate(_args: &CalibrateArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct LeasesArgs {}

/// Runs the command.
pub fn run_leases(_args: &LeasesArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
