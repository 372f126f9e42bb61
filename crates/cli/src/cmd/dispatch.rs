//! `hashpivot` command module (to be filled in by its owner).

use crate::Global;

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct DispatchArgs {}

/// Runs the command.
pub fn run(_args: &DispatchArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
