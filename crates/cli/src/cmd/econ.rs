//! `hashpivot` command module (to be filled in by its owner).

use crate::Global;

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct HashpriceArgs {}

/// Runs the command.
pub fn run_hashprice(_args: &HashpriceArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct MachinesArgs {}

/// Runs the command.
pub fn run_machines(_args: &MachinesArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct MachineArgs {}

/// Runs the command.
pub fn run_machine(_args: &MachineArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
